package daemon

import (
	"slices"
	"testing"
	"time"
)

// garp_extra_if picks, as keepalived's vrrp_send_vmac_update, the first VIP
// of each interface other than the instance's; without "all" only VMACs.
func TestTranslateGARPExtraIf(t *testing.T) {
	tr := translate(t, `
global_defs {
  vrrp_garp_extra_if all 30
}
vrrp_instance ALL {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress {
    192.0.2.1/24
    198.51.100.1/24 dev eth1
    198.51.100.2/24 dev eth1
    203.0.113.1/24 dev eth2
  }
  virtual_ipaddress_excluded {
    2001:db8::1/64 dev eth3
    2001:db8::2/64 dev eth1
  }
}
vrrp_instance VMAC_ONLY {
  interface eth0
  virtual_router_id 52
  garp_extra_if 5
  virtual_ipaddress {
    192.0.2.2/24 dev eth1
    192.0.2.3/24 dev vrrp.54
  }
}
vrrp_instance OWN_VMAC {
  interface eth0
  virtual_router_id 53
  use_vmac
  garp_extra_if 5
  virtual_ipaddress {
    192.0.2.4/24
  }
}
vrrp_instance XMIT_BASE {
  interface eth0
  virtual_router_id 54
  use_vmac
  vmac_xmit_base
  garp_extra_if 5
  virtual_ipaddress {
    192.0.2.5/24
  }
}
vrrp_instance OFF {
  interface eth0
  virtual_router_id 55
  garp_extra_if 0
  virtual_ipaddress {
    198.51.100.9/24 dev eth1
  }
}
vrrp_instance ADDR_VMAC {
  interface eth0
  virtual_router_id 56
  use_vmac
  use_vmac_addr
  garp_extra_if 5
  virtual_ipaddress {
    192.0.2.6/24
    198.51.100.6/24 dev eth1
  }
}
`)
	if len(tr.Plans) != 6 {
		t.Fatalf("refused %+v fatal %q", tr.Refused, tr.Fatal)
	}
	want := map[string]struct {
		every time.Duration
		extra []string
	}{
		"ALL":       {30 * time.Second, []string{"198.51.100.1", "203.0.113.1", "2001:db8::1"}},
		"VMAC_ONLY": {5 * time.Second, []string{"192.0.2.3"}},
		"OWN_VMAC":  {5 * time.Second, nil},
		"XMIT_BASE": {5 * time.Second, []string{"192.0.2.5"}},
		"OFF":       {0, nil},
		// use_vmac_addr's VMAC on eth1 is a VMAC: announced without all.
		"ADDR_VMAC": {5 * time.Second, []string{"198.51.100.6"}},
	}
	for _, p := range tr.Plans {
		var got []string
		for _, pv := range p.VIPs {
			if pv.ExtraIf {
				got = append(got, pv.VIP.Prefix.Addr().String())
			}
		}
		w := want[p.Name]
		if p.Config.GARP.ExtraIf != w.every || !slices.Equal(got, w.extra) {
			t.Errorf("%s: every %v on %q, want every %v on %q", p.Name, p.Config.GARP.ExtraIf, got, w.every, w.extra)
		}
	}
}
