package config

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// FuzzParse feeds arbitrary text to the whole pipeline (preprocessor,
// blocks, decoding, defaults, validation, JSON). It must never panic, and a
// configuration without errors must always encode.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "seed", "*.conf"))
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"",
		"{",
		"}",
		"{}{}}}{{",
		"global_defs {\n router_id x\n vrrp_garp_extra_if all 10\n lvs_sync_daemon eth0 VI_1 id 3\n}\n",
		instance("VI_1", "eth0", 51, "10.0.0.1/24 brd + dev eth0 scope link label eth0:1", "state MASTER", "unicast_peer {", "10.0.0.2 min_ttl 1", "}"),
		"vrrp_sync_group G {\n group {\n A\n B\n }\n}\n",
		"$X= \\\na $Y \\\nb\n$Y=1\n$X\n~SEQ(I, 1, 3) c $I\n~LST({A,B},{1,2}) d $A $B\n@x e\n@^x f\n",
		"include *.conf\nincludea {a,b}.conf\n",
		"virtual_server_group G {\n 10.0.0.1-5 80\n fwmark 3 inet6\n ae00::1/126 443\n}\nvirtual_server group G {\n real_server 10.0.0.9 80 {\n HTTP_GET {\n url {\n path /\n status_code 200-299 301\n }\n }\n }\n}\n",
		"virtual_server fwmark 1 {\n lvs_method TUN type gue port 1 csum\n sorry_server 10.0.0.3\n sorry_server_lvs_method DR\n real_server 2001:db8::1 {\n UDP_CHECK {\n payload 0a0b\n require_reply xX0\n }\n }\n}\n",
		"static_routes {\n src 1.2.3.4 to 10.0.0.0/8 via 1.1.1.1 or 2.2.2.2 nexthop via 3.3.3.3 dev e weight 2 mtu lock 1400 encap mpls 100 dev x\n}\nstatic_rules {\n not from all to 10.0.0.0/8 fwmark 0x10/0xff goto 3 pref 9\n}\n",
		"vrrp_script s {\n script \"a 'b c' \\x41\\101\"\n weight -3 reverse\n}\n",
		"notify \"unterminated\n$A=$A\nx $A ${_RANDOM 1 9} ${_PWD} ${_HASH}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{ConfigID: "x", FS: fstest.MapFS{
			"a.conf": {Data: []byte("vrrp_instance A {\n}\n")},
			"b.conf": {Data: []byte("include a.conf\n")},
		}, RandomSeed: 1, MaxLines: 2000}
		c, ds := Parse("fuzz.conf", data, opts)
		if c == nil {
			t.Fatal("Parse returned a nil Config")
		}
		for i := 1; i < len(ds); i++ {
			if ds[i-1].Pos.File == ds[i].Pos.File && ds[i-1].Pos.Line > ds[i].Pos.Line {
				t.Fatalf("diagnostics out of order: %v before %v", ds[i-1], ds[i])
			}
		}
		if _, err := c.JSON(); err != nil {
			t.Fatalf("JSON: %v", err)
		}
	})
}
