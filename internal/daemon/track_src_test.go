package daemon

import (
	"net/netip"
	"testing"
)

// track_src_ip tracks the configured source (unicast_src_ip or
// mcast_src_ip) only, as keepalived clears it without one; IPv4 on the
// configured interface, IPv6 on the VMAC the adverts leave from.
func TestTranslateTrackSrcIP(t *testing.T) {
	tr := translate(t, `
vrrp_instance UNICAST {
  interface eth0
  virtual_router_id 51
  track_src_ip
  unicast_src_ip 192.0.2.1
  unicast_peer {
    192.0.2.2
  }
  virtual_ipaddress {
    192.0.2.100/24
  }
}
vrrp_instance MCAST {
  interface eth1
  virtual_router_id 52
  track_src_ip
  mcast_src_ip 198.51.100.1
  use_vmac
  virtual_ipaddress {
    198.51.100.100/24
  }
}
vrrp_instance DEFAULT_SRC {
  interface eth0
  virtual_router_id 53
  track_src_ip
  virtual_ipaddress {
    192.0.2.101/24
  }
}
vrrp_instance UNTRACKED {
  interface eth0
  virtual_router_id 54
  unicast_src_ip 192.0.2.1
  virtual_ipaddress {
    192.0.2.102/24
  }
}
vrrp_instance V6_VMAC {
  interface eth0
  virtual_router_id 55
  track_src_ip
  use_vmac
  mcast_src_ip fe80::1
  virtual_ipaddress {
    2001:db8::100/64
  }
}
`)
	if len(tr.Plans) != 5 {
		t.Fatalf("refused %+v fatal %q", tr.Refused, tr.Fatal)
	}
	want := map[string]srcKey{
		"UNICAST":     {"eth0", netip.MustParseAddr("192.0.2.1")},
		"MCAST":       {"eth1", netip.MustParseAddr("198.51.100.1")},
		"DEFAULT_SRC": {},
		"UNTRACKED":   {},
		"V6_VMAC":     {"vrrp.55", netip.MustParseAddr("fe80::1")},
	}
	for _, p := range tr.Plans {
		if got := p.Tracking.Src; got != want[p.Name] {
			t.Errorf("%s: track_src_ip %+v, want %+v", p.Name, got, want[p.Name])
		}
	}
	ts := wanted(&tr)
	if len(ts.srcs) != 3 {
		t.Errorf("trackers %v: want the 3 tracked sources", ts.srcs)
	}
}
