package netutil

import (
	"net/netip"
	"testing"
)

// The privileged tests of IPVLANManager run in tests/vm (the host kernel
// lacks ipvlan): TestIPVLANManager there.

func TestIPVLANOptionsValidate(t *testing.T) {
	t.Parallel()
	ok := IPVLANOptions{BaseIndex: 2, Name: "ipv.1", Family: FamilyIPv4, Addr: netip.MustParsePrefix("192.0.2.9/24")}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	v6 := IPVLANOptions{BaseIndex: 2, Name: "ipv.1", Family: FamilyIPv6}
	if err := v6.Validate(); err != nil {
		t.Fatalf("ipv6 without address: %v", err)
	}
	for name, mod := range map[string]func(*IPVLANOptions){
		"no base":          func(o *IPVLANOptions) { o.BaseIndex = 0 },
		"no name":          func(o *IPVLANOptions) { o.Name = "" },
		"long name":        func(o *IPVLANOptions) { o.Name = "sixteen-bytes-xx" },
		"bad flag":         func(o *IPVLANOptions) { o.Flag = 7 },
		"ipv4 no address":  func(o *IPVLANOptions) { o.Addr = netip.Prefix{} },
		"family mismatch":  func(o *IPVLANOptions) { o.Addr = netip.MustParsePrefix("2001:db8::9/64") },
		"ipv6 keeps ipv6":  func(o *IPVLANOptions) { o.Family, o.Addr, o.KeepIPv6 = FamilyIPv6, netip.Prefix{}, true },
		"bad family value": func(o *IPVLANOptions) { o.Family = 9 },
	} {
		o := ok
		mod(&o)
		if o.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, s := range []string{"", "bridge", "private", "vepa"} {
		f, err := ParseIPVLANFlag(s)
		if err != nil || (s != "" && f.String() != s) {
			t.Errorf("ParseIPVLANFlag(%q) = %v, %v", s, f, err)
		}
	}
	if _, err := ParseIPVLANFlag("l3"); err == nil {
		t.Error("l3 accepted")
	}
}
