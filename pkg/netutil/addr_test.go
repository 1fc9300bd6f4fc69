package netutil

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// kernelAddr is an address as read back with the netlink library, in
// the fields the tests compare.
type kernelAddr struct {
	Prefix       string
	Peer         string
	Broadcast    string
	Label        string
	Scope        int
	NoDAD        bool
	NoPrefixRt   bool
	Home         bool
	PreferredLft uint32
	ValidLft     uint32
}

// readBack finds ip on the interface through netlink, independently of
// this package's own listing.
func readBack(t *testing.T, n *testNS, ifindex int, ip netip.Addr) (kernelAddr, bool) {
	t.Helper()
	fam := netlink.FAMILY_V4
	if ip.Is6() {
		fam = netlink.FAMILY_V6
	}
	list, err := n.nl.AddrList(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: ifindex}}, fam)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if !a.IP.Equal(ip.AsSlice()) {
			continue
		}
		k := kernelAddr{
			Prefix:       a.IPNet.String(),
			Label:        a.Label,
			Scope:        a.Scope,
			NoDAD:        a.Flags&unix.IFA_F_NODAD != 0,
			NoPrefixRt:   a.Flags&unix.IFA_F_NOPREFIXROUTE != 0,
			Home:         a.Flags&unix.IFA_F_HOMEADDRESS != 0,
			PreferredLft: uint32(a.PreferedLft),
			ValidLft:     uint32(a.ValidLft),
		}
		if a.Peer != nil {
			k.Peer = a.Peer.String()
		}
		if a.Broadcast != nil {
			k.Broadcast = a.Broadcast.String()
		}
		return k, true
	}
	return kernelAddr{}, false
}

func TestVIPAttributes(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	idx, dev := p.aIf.Index, p.aName
	pfx := netip.MustParsePrefix
	for _, tc := range []struct {
		name string
		addr Address
		want kernelAddr
	}{
		{"ipv4 keepalived default: no broadcast",
			Address{Prefix: pfx("192.0.2.100/24")},
			kernelAddr{Prefix: "192.0.2.100/24", Label: dev, PreferredLft: forever, ValidLft: forever}},
		{"ipv4 brd label",
			Address{Prefix: pfx("192.0.2.101/24"), Broadcast: netip.MustParseAddr("192.0.2.255"), Label: dev + ":v"},
			kernelAddr{Prefix: "192.0.2.101/24", Broadcast: "192.0.2.255", Label: dev + ":v", PreferredLft: forever, ValidLft: forever}},
		// A secondary (same subnet as an address already there) must have
		// its primary's scope, or the kernel says "ipv4: Invalid scope
		// value": another subnet here.
		{"ipv4 link scope",
			Address{Prefix: pfx("198.51.100.3/24"), Scope: ScopeLink},
			kernelAddr{Prefix: "198.51.100.3/24", Label: dev, Scope: unix.RT_SCOPE_LINK, PreferredLft: forever, ValidLft: forever}},
		{"ipv4 host scope /32",
			Address{Prefix: pfx("198.51.100.7/32"), Scope: ScopeHost},
			kernelAddr{Prefix: "198.51.100.7/32", Label: dev, Scope: unix.RT_SCOPE_HOST, PreferredLft: forever, ValidLft: forever}},
		{"ipv4 peer",
			Address{Prefix: pfx("192.0.2.102/32"), Peer: pfx("192.0.2.202/32")},
			kernelAddr{Prefix: "192.0.2.102/32", Peer: "192.0.2.202/32", Label: dev, PreferredLft: forever, ValidLft: forever}},
		{"ipv4 noprefixroute",
			Address{Prefix: pfx("203.0.113.5/24"), NoPrefixRoute: true},
			kernelAddr{Prefix: "203.0.113.5/24", Label: dev, NoPrefixRt: true, PreferredLft: forever, ValidLft: forever}},
		{"ipv6 default: nodad, preferred forever",
			Address{Prefix: pfx("2001:db8::100/64")},
			kernelAddr{Prefix: "2001:db8::100/64", NoDAD: true, PreferredLft: forever, ValidLft: forever}},
		{"ipv6 /128 default: deprecated",
			Address{Prefix: pfx("2001:db8::101/128")},
			kernelAddr{Prefix: "2001:db8::101/128", NoDAD: true, PreferredLft: 0, ValidLft: forever}},
		{"ipv6 /128 preferred_lft forever",
			Address{Prefix: pfx("2001:db8::102/128"), PreferredLft: LifetimeForever()},
			kernelAddr{Prefix: "2001:db8::102/128", NoDAD: true, PreferredLft: forever, ValidLft: forever}},
		{"ipv6 preferred_lft 300",
			Address{Prefix: pfx("2001:db8::103/64"), PreferredLft: LifetimeSeconds(300)},
			kernelAddr{Prefix: "2001:db8::103/64", NoDAD: true, PreferredLft: 300, ValidLft: forever}},
		{"ipv6 -nodad home noprefixroute",
			Address{Prefix: pfx("2001:db8:1::104/64"), DAD: true, Home: true, NoPrefixRoute: true},
			kernelAddr{Prefix: "2001:db8:1::104/64", Home: true, NoPrefixRt: true, PreferredLft: forever, ValidLft: forever}},
		{"ipv6 peer",
			Address{Prefix: pfx("2001:db8::105/128"), Peer: pfx("2001:db8::205/128"), PreferredLft: LifetimeForever()},
			kernelAddr{Prefix: "2001:db8::105/128", Peer: "2001:db8::205/128", NoDAD: true, PreferredLft: forever, ValidLft: forever}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewVIPManager(p.a.host, nil)
			a := tc.addr
			a.IfIndex = idx
			res, err := m.Add(a)
			if err != nil {
				t.Fatal(err)
			}
			if res != AddResultAdded {
				t.Fatalf("Add = %v, want added", res)
			}
			got, ok := readBack(t, p.a, idx, a.Prefix.Addr())
			if !ok {
				t.Fatalf("%v not on the interface after Add", a)
			}
			// A permanent address reads back with lifetimes "forever"
			// whatever was asked: only compare what was set.
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("read back (-want +got):\n%s", diff)
			}
			removed, err := m.Remove(a)
			if err != nil || !removed {
				t.Fatalf("Remove = %v, %v", removed, err)
			}
			if _, ok := readBack(t, p.a, idx, a.Prefix.Addr()); ok {
				t.Fatalf("%v still on the interface after Remove", a)
			}
		})
	}
}

func TestVIPOwnership(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	idx := p.aIf.Index
	m := NewVIPManager(p.a.host, nil)
	present := func(ip netip.Addr) bool {
		t.Helper()
		ok, err := m.Present(idx, ip)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	mustAdd := func(a Address, want AddResult) {
		t.Helper()
		got, err := m.Add(a)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("Add(%v) = %v, want %v", a, got, want)
		}
	}
	mustRemove := func(a Address, want bool) {
		t.Helper()
		got, err := m.Remove(a)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("Remove(%v) = %v, want %v", a, got, want)
		}
	}

	// Configured by someone else before we come: never ours.
	for _, s := range []string{"192.0.2.50/24", "2001:db8::50/64"} {
		p.a.ip(t, "addr", "add", s, "dev", p.aName)
		pre := Address{IfIndex: idx, Prefix: netip.MustParsePrefix(s)}
		other := Address{IfIndex: idx, Prefix: netip.PrefixFrom(pre.Prefix.Addr(), pre.Prefix.Addr().BitLen())}
		mustAdd(pre, AddResultForeign)
		mustAdd(other, AddResultForeign) // same IP, another prefix: still theirs
		if m.Owns(idx, pre.Prefix.Addr()) {
			t.Fatalf("owns foreign %v", pre)
		}
		mustRemove(pre, false)
		if err := m.RemoveAll(); err != nil {
			t.Fatal(err)
		}
		if !present(pre.Prefix.Addr()) {
			t.Fatalf("foreign %v removed", pre)
		}
	}

	// Ours: idempotent add and remove.
	vip := Address{IfIndex: idx, Prefix: netip.MustParsePrefix("192.0.2.60/24")}
	mustAdd(vip, AddResultAdded)
	mustAdd(vip, AddResultPresent)
	if !m.Owns(idx, vip.Prefix.Addr()) || !present(vip.Prefix.Addr()) {
		t.Fatal("added vip not owned or not present")
	}
	mustRemove(vip, true)
	mustRemove(vip, false)
	if present(vip.Prefix.Addr()) {
		t.Fatal("vip present after Remove")
	}

	// Removed behind our back: Add puts it back; Remove of a vanished
	// one is fine.
	mustAdd(vip, AddResultAdded)
	p.a.ip(t, "addr", "del", "192.0.2.60/24", "dev", p.aName)
	mustAdd(vip, AddResultAdded)
	p.a.ip(t, "addr", "del", "192.0.2.60/24", "dev", p.aName)
	mustRemove(vip, false)

	// Attributes changed (reload): replaced.
	mustAdd(vip, AddResultAdded)
	relabel := vip
	relabel.Label = p.aName + ":r"
	mustAdd(relabel, AddResultAdded)
	if got, _ := readBack(t, p.a, idx, vip.Prefix.Addr()); got.Label != relabel.Label {
		t.Fatalf("label %q after replace, want %q", got.Label, relabel.Label)
	}

	// Adopt: a leftover the daemon knows is its own.
	p.a.ip(t, "addr", "add", "192.0.2.70/24", "dev", p.aName)
	left := Address{IfIndex: idx, Prefix: netip.MustParsePrefix("192.0.2.70/24")}
	if err := m.Adopt(left); err != nil {
		t.Fatal(err)
	}
	mustAdd(left, AddResultPresent)

	// RemoveAll: ours go, theirs stay.
	if err := m.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{"192.0.2.60": false, "192.0.2.70": false, "192.0.2.50": true, "2001:db8::50": true, "192.0.2.1": true} {
		if got := present(netip.MustParseAddr(ip)); got != want {
			t.Errorf("after RemoveAll, %s present = %v, want %v", ip, got, want)
		}
	}
}

func TestHostAddrIdempotent(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	a := Address{IfIndex: p.aIf.Index, Prefix: netip.MustParsePrefix("192.0.2.80/24")}
	for range 2 {
		if err := p.a.host.AddAddr(a); err != nil {
			t.Fatalf("AddAddr: %v", err)
		}
	}
	for range 2 {
		if err := p.a.host.DelAddr(a); err != nil {
			t.Fatalf("DelAddr: %v", err)
		}
	}
	gone := Address{IfIndex: 99999, Prefix: a.Prefix}
	if err := p.a.host.DelAddr(gone); err != nil {
		t.Fatalf("DelAddr on a missing interface: %v", err)
	}
	if err := p.a.host.AddAddr(gone); err == nil {
		t.Fatal("AddAddr on a missing interface succeeded")
	}
}

func TestAddressValidate(t *testing.T) {
	pfx := netip.MustParsePrefix
	ok := []Address{
		{IfIndex: 1, Prefix: pfx("10.0.0.1/32")},
		{IfIndex: 1, Prefix: pfx("10.0.0.1/24"), Broadcast: netip.MustParseAddr("10.0.0.255"), Label: "eth0:1", Scope: ScopeLink},
		{IfIndex: 1, Prefix: pfx("10.0.0.1/32"), Peer: pfx("10.0.0.2/30")},
		{IfIndex: 1, Prefix: pfx("fe80::1/64")},
		{IfIndex: 1, Prefix: pfx("2001:db8::1/128"), Peer: pfx("2001:db8::2/64"), PreferredLft: LifetimeSeconds(5)},
	}
	for _, a := range ok {
		if err := a.Validate(); err != nil {
			t.Errorf("%v: %v", a, err)
		}
	}
	bad := []Address{
		{Prefix: pfx("10.0.0.1/32")},
		{IfIndex: 1},
		{IfIndex: 1, Prefix: netip.PrefixFrom(netip.AddrFrom16(netip.MustParseAddr("10.0.0.1").As16()), 128)},
		{IfIndex: 1, Prefix: pfx("10.0.0.1/24"), Peer: pfx("10.0.0.2/32")},
		{IfIndex: 1, Prefix: pfx("10.0.0.1/32"), Peer: pfx("2001:db8::2/128")},
		{IfIndex: 1, Prefix: pfx("10.0.0.1/32"), Peer: pfx("10.0.0.2/32"), Broadcast: netip.MustParseAddr("10.0.0.3")},
		{IfIndex: 1, Prefix: pfx("10.0.0.1/24"), Broadcast: netip.MustParseAddr("2001:db8::ff")},
		{IfIndex: 1, Prefix: pfx("10.0.0.1/24"), Label: "a-label-longer-than-15"},
		{IfIndex: 1, Prefix: pfx("2001:db8::1/64"), Broadcast: netip.MustParseAddr("10.0.0.255")},
		{IfIndex: 1, Prefix: pfx("2001:db8::1/64"), Label: "eth0:1"},
		{IfIndex: 1, Prefix: pfx("2001:db8::1/64"), Scope: ScopeLink},
	}
	for _, a := range bad {
		if err := a.Validate(); err == nil {
			t.Errorf("%v: valid", a)
		}
		if _, err := NewVIPManager(nil, nil).Add(a); err == nil {
			t.Errorf("%v: Add accepted it", a)
		}
	}
}

func TestAddressNetlinkForm(t *testing.T) {
	// What goes to the kernel for keepalived's defaults, without root.
	a := Address{IfIndex: 3, Prefix: netip.MustParsePrefix("192.0.2.1/24")}
	na := a.netlinkAddr()
	if !na.Broadcast.Equal(net.IPv4zero) {
		t.Errorf("ipv4 broadcast %v, want 0.0.0.0 (none)", na.Broadcast)
	}
	a = Address{IfIndex: 3, Prefix: netip.MustParsePrefix("2001:db8::1/128")}
	na = a.netlinkAddr()
	if na.Flags&unix.IFA_F_NODAD == 0 || na.PreferedLft != 0 || na.ValidLft != forever {
		t.Errorf("ipv6 /128: flags %#x preferred %d valid %d", na.Flags, na.PreferedLft, na.ValidLft)
	}
	a.DAD = true
	if na = a.netlinkAddr(); na.Flags&unix.IFA_F_NODAD != 0 {
		t.Errorf("-nodad: flags %#x", na.Flags)
	}
	if s := (Address{IfIndex: 2, Prefix: netip.MustParsePrefix("10.1.1.1/24"), Broadcast: netip.MustParseAddr("10.1.1.255"),
		Scope: ScopeLink, Label: "eth0:1", NoPrefixRoute: true}).String(); s != "10.1.1.1/24 brd 10.1.1.255 dev 2 scope link label eth0:1 noprefixroute" {
		t.Errorf("String() = %q", s)
	}
}

func TestParseScope(t *testing.T) {
	for in, want := range map[string]Scope{"": ScopeGlobal, "global": ScopeGlobal, "universe": ScopeGlobal,
		"site": ScopeSite, "link": ScopeLink, "host": ScopeHost, "nowhere": ScopeNowhere, "253": ScopeLink, "0x10": 16} {
		got, err := ParseScope(in)
		if err != nil || got != want {
			t.Errorf("ParseScope(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"Link", "256", "-1", "lan"} {
		if _, err := ParseScope(in); err == nil {
			t.Errorf("ParseScope(%q): no error", in)
		}
	}
}
