package daemon

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lbdproject/lbd/pkg/netutil"
)

func TestTranslateUseIPVLAN(t *testing.T) {
	tr := translate(t, `
vrrp_instance V4 {
  interface eth0
  virtual_router_id 51
  use_ipvlan ipv4lan 192.0.2.51/24 private
  virtual_ipaddress {
    192.0.2.100/24
  }
  virtual_ipaddress_excluded {
    2001:db8::100/64
  }
}
vrrp_instance V6 {
  interface eth0
  virtual_router_id 52
  use_ipvlan
  virtual_ipaddress {
    fe80::52/64
  }
}
vrrp_instance NOADDR {
  interface eth0
  virtual_router_id 53
  use_ipvlan vepa
  virtual_ipaddress {
    192.0.2.101/24
  }
}
vrrp_instance BOTH {
  interface eth0
  virtual_router_id 54
  use_vmac
  use_ipvlan 192.0.2.54/24
  virtual_ipaddress {
    192.0.2.102/24
  }
}
`)
	plans := map[string]Plan{}
	for _, p := range tr.Plans {
		plans[p.Name] = p
	}
	want := map[string]*IPVLANPlan{
		"V4":     {Name: "ipv4lan", Flag: netutil.IPVLANPrivate, Addr: netip.MustParsePrefix("192.0.2.51/24"), KeepIPv6: true},
		"V6":     {Name: "vrrp.52", Flag: netutil.IPVLANBridge},
		"NOADDR": {Name: "vrrp.53", Flag: netutil.IPVLANVEPA},
	}
	for name, w := range want {
		p, ok := plans[name]
		if !ok {
			t.Errorf("%s not planned (refused %+v)", name, tr.Refused)
			continue
		}
		if diff := cmp.Diff(w, p.IPVLAN, cmpAddrs); diff != "" {
			t.Errorf("%s ipvlan (-want +got):\n%s", name, diff)
		}
		if len(p.NotApplied) != 0 {
			t.Errorf("%s not applied %q", name, p.NotApplied)
		}
	}
	// keepalived puts the VIPs without dev on the instance's interface.
	if p := plans["V4"]; p.VIPs[0].Dev != "eth0" || p.Fault != "" {
		t.Errorf("V4: vip on %q, fault %q", p.VIPs[0].Dev, p.Fault)
	}
	if f := plans["NOADDR"].Fault; !strings.Contains(f, "needs an address") {
		t.Errorf("NOADDR fault %q", f)
	}
	if len(tr.Refused) != 1 || tr.Refused[0].Name != "BOTH" || !strings.Contains(strings.Join(tr.Refused[0].Errors, ""), "use_vmac and use_ipvlan") {
		t.Errorf("refused %+v", tr.Refused)
	}
}
