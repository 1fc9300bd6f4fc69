package daemon

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lbdproject/lbd/pkg/netutil"
)

func TestFreeVMACName(t *testing.T) {
	taken := map[string]bool{}
	var got4, got6 []string
	for range 4 {
		n, err := freeVMACName("vrrp", 7, netutil.FamilyIPv4, taken)
		if err != nil {
			t.Fatal(err)
		}
		taken[n] = true
		got4 = append(got4, n)
	}
	taken = map[string]bool{}
	for range 8 {
		n, err := freeVMACName("vrrp", 7, netutil.FamilyIPv6, taken)
		if err != nil {
			t.Fatal(err)
		}
		taken[n] = true
		got6 = append(got6, n)
	}
	if diff := cmp.Diff([]string{"vrrp.7", "vrrp1.7", "vrrp2.7", "vrrp3.7"}, got4); diff != "" {
		t.Errorf("ipv4 names (-want +got):\n%s", diff)
	}
	want6 := []string{"vrrp.7", "vrrp6.7", "vrrp1.7", "vrrp2.7", "vrrp3.7", "vrrp4.7", "vrrp5.7", "vrrp7.7"}
	if diff := cmp.Diff(want6, got6); diff != "" {
		t.Errorf("ipv6 names (-want +got):\n%s", diff)
	}
	// Too long a prefix is cut to fit 15 bytes.
	n, _ := freeVMACName("averyverylongprefix", 200, netutil.FamilyIPv4, map[string]bool{"averyverylo.200": true})
	if n != "averyveryl1.200" {
		t.Errorf("long prefix: %q", n)
	}
}

func vipDevs(p Plan) map[string]string {
	out := map[string]string{}
	for _, pv := range p.VIPs {
		out[pv.VIP.Prefix.String()] = pv.Dev
	}
	return out
}

func TestTranslateUseVMACAddr(t *testing.T) {
	tr := translate(t, `
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  use_vmac
  use_vmac_addr
  virtual_ipaddress {
    192.0.2.10/24
    192.0.2.11/24 dev eth0
    198.51.100.10/24 dev eth1
    198.51.100.11/24 dev eth1
  }
  virtual_ipaddress_excluded {
    2001:db8::10/64
    2001:db8:1::10/64 dev eth1
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  virtual_ipaddress {
    192.0.2.20/24
    198.51.100.20/24 dev eth1 use_vmac
    198.51.100.21/24 dev eth2
  }
}
`)
	if len(tr.Plans) != 2 {
		t.Fatalf("plans %d, refused %+v", len(tr.Plans), tr.Refused)
	}
	p1, p2 := tr.Plans[0], tr.Plans[1]
	want1 := map[string]string{
		"192.0.2.10/24":     "vrrp.51",
		"192.0.2.11/24":     "vrrp.51", // dev = the instance's interface: its VMAC
		"198.51.100.10/24":  "vrrp1.51",
		"198.51.100.11/24":  "vrrp1.51",
		"2001:db8::10/64":   "vrrp6.51", // the other family: a VMAC of its own on eth0
		"2001:db8:1::10/64": "vrrp2.51",
	}
	if diff := cmp.Diff(want1, vipDevs(p1)); diff != "" {
		t.Errorf("VI_1 vips (-want +got):\n%s", diff)
	}
	wantAV := []AddrVMACPlan{
		{Name: "vrrp1.51", Base: "eth1", Family: netutil.FamilyIPv4},
		{Name: "vrrp6.51", Base: "eth0", Family: netutil.FamilyIPv6},
		{Name: "vrrp2.51", Base: "eth1", Family: netutil.FamilyIPv6},
	}
	if diff := cmp.Diff(wantAV, p1.AddrVMACs); diff != "" {
		t.Errorf("VI_1 vip vmacs (-want +got):\n%s", diff)
	}
	if p1.VMAC.KeepIPv6 {
		t.Error("VI_1's own VMAC keeps IPv6 although its IPv6 eVIP has a VMAC of its own")
	}
	want2 := map[string]string{
		"192.0.2.20/24":    "eth0",
		"198.51.100.20/24": "vrrp.52",
		"198.51.100.21/24": "eth2",
	}
	if diff := cmp.Diff(want2, vipDevs(p2)); diff != "" {
		t.Errorf("VI_2 vips (-want +got):\n%s", diff)
	}
	if len(p2.NotApplied) != 0 || p2.VMAC != nil {
		t.Errorf("VI_2: not applied %q, vmac %+v", p2.NotApplied, p2.VMAC)
	}
}

func TestTranslateVMACAddrPrefix(t *testing.T) {
	p := onePlan(t, `
global_defs {
  vmac_prefix vm
  vmac_addr_prefix va
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 9
  use_vmac
  virtual_ipaddress {
    192.0.2.10/24
    198.51.100.10/24 dev eth1 use_vmac
    192.0.2.11/24 use_vmac
  }
}
`)
	if p.VMAC.Name != "vm.9" {
		t.Errorf("own vmac %q", p.VMAC.Name)
	}
	want := map[string]string{"192.0.2.10/24": "vm.9", "198.51.100.10/24": "va.9", "192.0.2.11/24": "vm.9"}
	if diff := cmp.Diff(want, vipDevs(p)); diff != "" {
		t.Errorf("vips (-want +got):\n%s", diff)
	}
}

func TestTranslateVMACAddrWarningsAndConflicts(t *testing.T) {
	tr := translate(t, `
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  use_vmac
  use_vmac_addr
  virtual_ipaddress {
    192.0.2.10/24 use_vmac
    198.51.100.10/24 dev eth1 use_vmac
  }
}
vrrp_instance VI_2 {
  interface eth2
  virtual_router_id 51
  virtual_ipaddress {
    203.0.113.1/24
    198.51.100.20/24 dev eth1 use_vmac
  }
}
`)
	joined := strings.Join(tr.Warnings, "\n")
	for _, w := range []string{"use_vmac on 192.0.2.10/24 and on the instance", "use_vmac on 198.51.100.10/24 and use_vmac_addr"} {
		if !strings.Contains(joined, w) {
			t.Errorf("no warning %q in:\n%s", w, joined)
		}
	}
	if len(tr.Plans) != 1 || len(tr.Refused) != 1 || tr.Refused[0].Name != "VI_2" {
		t.Fatalf("plans %d, refused %+v", len(tr.Plans), tr.Refused)
	}
	if !strings.Contains(strings.Join(tr.Refused[0].Errors, "\n"), "already vrrp_instance VI_1's") {
		t.Errorf("VI_2 refused for %q", tr.Refused[0].Errors)
	}
}
