package config

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// largeConfig is a configuration with instances VRRP instances (four
// interfaces, VRIDs 1-250 on each) and servers virtual servers with reals
// real servers each, every real server with a checker.
func largeConfig(instances, servers, reals int) []byte {
	var b strings.Builder
	b.WriteString("global_defs {\n  router_id bench\n  vrrp_garp_master_delay 1\n}\n")
	b.WriteString("vrrp_script chk {\n  script \"/bin/true\"\n  interval 2\n}\n")
	for i := 0; i < instances; i++ {
		fmt.Fprintf(&b, `vrrp_instance VI_%d {
  state BACKUP
  interface eth%d
  virtual_router_id %d
  priority 100
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass pw%d
  }
  track_script {
    chk
  }
  virtual_ipaddress {
    10.%d.%d.1/24 dev eth%d label eth%d:%d
  }
}
`, i, i/250, i%250+1, i, 100+i/250, i%250, i/250, i/250, i%250)
	}
	for s := 0; s < servers; s++ {
		fmt.Fprintf(&b, `virtual_server 172.16.%d.%d 80 {
  delay_loop 6
  lb_algo wrr
  lb_kind DR
  persistence_timeout 50
  protocol TCP
`, s/250, s%250+1)
		for r := 0; r < reals; r++ {
			if r%2 == 0 {
				fmt.Fprintf(&b, `  real_server 192.168.%d.%d 8080 {
    weight %d
    TCP_CHECK {
      connect_timeout 3
      connect_port 8080
    }
  }
`, s/25, (s%25)*10+r, r+1)
			} else {
				fmt.Fprintf(&b, `  real_server 192.168.%d.%d 8080 {
    weight %d
    HTTP_GET {
      url {
        path /health
        status_code 200
      }
      connect_timeout 3
      retry 2
      delay_before_retry 1
    }
  }
`, s/25, (s%25)*10+r, r+1)
			}
		}
		b.WriteString("}\n")
	}
	return []byte(b.String())
}

func TestLargeConfigIsValid(t *testing.T) {
	data := largeConfig(1000, 1000, 10)
	c, ds := Parse("large.conf", data, Options{ConfigID: "x", FS: fstest.MapFS{}, RandomSeed: 1})
	if got := diagStrings(ds); len(got) > 0 {
		t.Fatalf("%d diagnostics, first: %s", len(got), got[0])
	}
	if len(c.Instances) != 1000 || len(c.VirtualServers) != 1000 || len(c.VirtualServers[999].RealServers) != 10 {
		t.Fatalf("parsed %d instances, %d virtual servers", len(c.Instances), len(c.VirtualServers))
	}
}

// BenchmarkParseLarge parses 1,000 VRRP instances and 1,000 virtual servers
// with 10 real servers each (about 2 MB, 150,000 lines).
func BenchmarkParseLarge(b *testing.B) {
	data := largeConfig(1000, 1000, 10)
	opts := Options{ConfigID: "x", FS: fstest.MapFS{}, RandomSeed: 1}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		c, ds := Parse("large.conf", data, opts)
		if c == nil || ds.HasErrors() {
			b.Fatal("parse failed")
		}
	}
}

// BenchmarkPreprocess is the preprocessor alone on the same input.
func BenchmarkPreprocess(b *testing.B) {
	data := largeConfig(1000, 1000, 10)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		diag := &diagSink{}
		p := newPreproc(ioFS{fsys: fstest.MapFS{}}, diag, "x", 1, 0)
		p.push(&fileSource{name: "large.conf", lines: strings.Split(string(data), "\n")}, Pos{})
		p.run()
	}
}

// BenchmarkParseDefinitions exercises $NAME and ~SEQ expansion: 1,000
// instances generated from one multi-line definition.
func BenchmarkParseDefinitions(b *testing.B) {
	data := []byte(`$INST= \
vrrp_instance VI_${IF}_${ID} { \
  interface eth${IF} \
  virtual_router_id ${ID} \
  virtual_ipaddress { \
    10.${IF}.${ID}.1/24 \
  } \
}
~SEQ(IF, 0, 3) ~SEQ(ID, 1, 250) $INST
`)
	opts := Options{ConfigID: "x", FS: fstest.MapFS{}, RandomSeed: 1}
	b.ReportAllocs()
	for b.Loop() {
		c, ds := Parse("defs.conf", data, opts)
		if ds.HasErrors() || len(c.Instances) != 1000 {
			b.Fatalf("%d instances, %v", len(c.Instances), ds.Errors())
		}
	}
}
