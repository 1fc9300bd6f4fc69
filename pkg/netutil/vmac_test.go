package netutil

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestVirtualMACAndNames(t *testing.T) {
	t.Parallel()
	if got := VirtualMAC(51, FamilyIPv4).String(); got != "00:00:5e:00:01:33" {
		t.Errorf("ipv4 vmac %s", got)
	}
	if got := VirtualMAC(255, FamilyIPv6).String(); got != "00:00:5e:00:02:ff" {
		t.Errorf("ipv6 vmac %s", got)
	}
	for _, tc := range []struct {
		prefix, tag string
		vrid        uint8
		want        string
	}{
		{"vrrp", "", 51, "vrrp.51"},
		{"vrrp", "6", 60, "vrrp6.60"},
		// keepalived 2.2.7 with vmac_prefix averyveryverylongprefix.
		{"averyveryverylongprefix", "", 70, "averyveryver.70"},
		{"averyveryverylongprefix", "1", 70, "averyveryve1.70"},
		{"averyveryverylongprefix", "6", 255, "averyveryv6.255"},
	} {
		if got := VMACName(tc.prefix, tc.tag, tc.vrid); got != tc.want {
			t.Errorf("VMACName(%q, %q, %d) = %q, want %q", tc.prefix, tc.tag, tc.vrid, got, tc.want)
		}
	}
	v := VMAC{Index: 5, BaseIndex: 2}
	if v.AdvertIndex() != 5 {
		t.Error("adverts not on the vmac")
	}
	v.XmitBase = true
	if v.AdvertIndex() != 2 {
		t.Error("vmac_xmit_base adverts not on the base")
	}
	if got := eui64LinkLocal(net.HardwareAddr{0x8e, 0x89, 0xe2, 0xe1, 0x1e, 0xed}); got != netip.MustParseAddr("fe80::8c89:e2ff:fee1:1eed") {
		t.Errorf("eui-64 link-local %v", got)
	}
	for _, s := range []string{VMACCreated.String(), VMACAdopted.String(), VMACReplaced.String(), VMACResult(9).String()} {
		if s == "" {
			t.Error("empty result name")
		}
	}
}

func TestVMACOptionsValidate(t *testing.T) {
	t.Parallel()
	ok := VMACOptions{BaseIndex: 2, VRID: 51, Family: FamilyIPv4}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []VMACOptions{
		{VRID: 51, Family: FamilyIPv4},
		{BaseIndex: 2, Family: FamilyIPv4},
		{BaseIndex: 2, VRID: 51},
		{BaseIndex: 2, VRID: 51, Family: FamilyIPv4, Name: "sixteen-bytes-xx"},
		{BaseIndex: 2, VRID: 51, Family: FamilyIPv4, Name: "a/b"},
		{BaseIndex: 2, VRID: 51, Family: FamilyIPv4, MAC: net.HardwareAddr{1, 0, 0x5e, 0, 1, 1}},
		{BaseIndex: 2, VRID: 51, Family: FamilyIPv4, MAC: net.HardwareAddr{1, 2, 3}},
		{BaseIndex: 2, VRID: 51, Family: FamilyIPv4, LinkLocal: netip.MustParseAddr("fe80::1")},
		{BaseIndex: 2, VRID: 51, Family: FamilyIPv6, LinkLocal: netip.MustParseAddr("2001:db8::1")},
		{BaseIndex: 2, VRID: 51, Family: FamilyIPv6, KeepIPv6: true},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) accepted", bad)
		}
	}
}

// vmacState is what a test reads back of a VMAC, independently of the
// package.
type vmacState struct {
	Kind       string
	Mode       netlink.MacvlanMode
	MAC        string
	Parent     int
	Up         bool
	Sysctls    map[string]string
	IPv6Addrs  []string // "ADDR/LEN flags" of every IPv6 address
	IPv4Addrs  []string
	BaseArp    [2]string // arp_ignore, arp_filter of the base
	BaseRPFilt string
}

var vmacSysctls = []string{
	"ipv4/conf/%s/arp_ignore", "ipv4/conf/%s/arp_filter", "ipv4/conf/%s/accept_local",
	"ipv4/conf/%s/rp_filter", "ipv4/conf/%s/promote_secondaries",
	"ipv6/conf/%s/disable_ipv6", "ipv6/conf/%s/addr_gen_mode",
}

func readVMAC(t *testing.T, n *testNS, name, base string) vmacState {
	t.Helper()
	l, err := n.nl.LinkByName(name)
	if err != nil {
		t.Fatalf("vmac %s: %v", name, err)
	}
	st := vmacState{Kind: l.Type(), MAC: l.Attrs().HardwareAddr.String(), Parent: l.Attrs().ParentIndex,
		Up: l.Attrs().Flags&net.FlagUp != 0, Sysctls: map[string]string{}}
	if mv, ok := l.(*netlink.Macvlan); ok {
		st.Mode = mv.Mode
	}
	for _, k := range vmacSysctls {
		st.Sysctls[fmt.Sprintf(k, "X")] = sysctl(t, n, "net/"+fmt.Sprintf(k, name))
	}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		addrs, err := n.nl.AddrList(l, fam)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range addrs {
			s := a.IPNet.String()
			if fam == netlink.FAMILY_V4 {
				st.IPv4Addrs = append(st.IPv4Addrs, s)
				continue
			}
			if a.Flags&unix.IFA_F_NODAD != 0 {
				s += " nodad"
			}
			if a.PreferedLft == 0 {
				s += " deprecated"
			}
			st.IPv6Addrs = append(st.IPv6Addrs, s)
		}
	}
	st.BaseArp = [2]string{sysctl(t, n, "net/ipv4/conf/"+base+"/arp_ignore"), sysctl(t, n, "net/ipv4/conf/"+base+"/arp_filter")}
	st.BaseRPFilt = sysctl(t, n, "net/ipv4/conf/"+base+"/rp_filter")
	return st
}

func linkGone(t *testing.T, n *testNS, name string) bool {
	t.Helper()
	_, err := n.nl.LinkByName(name)
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}

// ipv4VMAC and ipv6VMAC are the settings of a fresh VMAC (keys with X for
// the interface name).
var (
	ipv4VMAC = map[string]string{
		"ipv4/conf/X/arp_ignore": "1", "ipv4/conf/X/arp_filter": "0", "ipv4/conf/X/accept_local": "1",
		"ipv4/conf/X/rp_filter": "0", "ipv4/conf/X/promote_secondaries": "1",
		"ipv6/conf/X/disable_ipv6": "1", "ipv6/conf/X/addr_gen_mode": "1",
	}
	ipv6VMAC = map[string]string{
		"ipv4/conf/X/arp_ignore": "1", "ipv4/conf/X/arp_filter": "0", "ipv4/conf/X/accept_local": "0",
		"ipv4/conf/X/rp_filter": "0", "ipv4/conf/X/promote_secondaries": "0",
		"ipv6/conf/X/disable_ipv6": "0", "ipv6/conf/X/addr_gen_mode": "1",
	}
)

func TestVMACCreateAndDelete(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	h := openHost(t, p.a)
	m := NewVMACManager(h, nil)
	base := p.aIf.Index

	v4, res, err := m.Ensure(VMACOptions{BaseIndex: base, VRID: 51, Family: FamilyIPv4})
	if err != nil {
		t.Fatal(err)
	}
	if res != VMACCreated || v4.Name != "vrrp.51" || v4.MAC.String() != "00:00:5e:00:01:33" || v4.BaseIndex != base || v4.AdvertIndex() != v4.Index {
		t.Fatalf("Ensure = %+v, %v", v4, res)
	}
	want := vmacState{Kind: "macvlan", Mode: netlink.MACVLAN_MODE_PRIVATE, MAC: "00:00:5e:00:01:33", Parent: base, Up: true,
		Sysctls: ipv4VMAC, BaseArp: [2]string{"1", "1"}, BaseRPFilt: "0"}
	if diff := cmp.Diff(want, readVMAC(t, p.a, "vrrp.51", p.aName)); diff != "" {
		t.Fatalf("ipv4 vmac (-want +got):\n%s", diff)
	}
	if link := p.a.link(t, "vrrp.51"); link.Index != v4.Index {
		t.Fatalf("index %d, Ensure said %d", link.Index, v4.Index)
	}
	netns.Eventually(t, failsafe, "vmac running", func() error {
		if l := p.a.link(t, "vrrp.51"); !l.Up() {
			return fmt.Errorf("flags %#x", l.Flags)
		}
		return nil
	})

	// IPv6: the base's link-local, nodad and deprecated; nothing generated.
	v6, res, err := m.Ensure(VMACOptions{BaseIndex: base, VRID: 52, Family: FamilyIPv6})
	if err != nil {
		t.Fatal(err)
	}
	if res != VMACCreated || v6.Name != "vrrp.52" || v6.LinkLocal != p.aLL {
		t.Fatalf("Ensure = %+v, %v; want link-local %v", v6, res, p.aLL)
	}
	want6 := vmacState{Kind: "macvlan", Mode: netlink.MACVLAN_MODE_PRIVATE, MAC: "00:00:5e:00:02:34", Parent: base, Up: true,
		Sysctls: ipv6VMAC, IPv6Addrs: []string{p.aLL.String() + "/64 nodad deprecated"}, BaseArp: [2]string{"1", "1"}, BaseRPFilt: "0"}
	if diff := cmp.Diff(want6, readVMAC(t, p.a, "vrrp.52", p.aName)); diff != "" {
		t.Fatalf("ipv6 vmac (-want +got):\n%s", diff)
	}
	if ll, err := h.LinkLocalIPv6(v6.Index); err != nil || ll != p.aLL {
		t.Fatalf("advert source on the ipv6 vmac: %v, %v", ll, err)
	}

	// A given link-local (mcast_src_ip); a name and MAC of one's own
	// (use_vmac NAME MAC); IPv6 kept on an IPv4 VMAC for IPv6 eVIPs.
	ll := netip.MustParseAddr("fe80::53")
	mac := net.HardwareAddr{0x02, 0x11, 0x22, 0x33, 0x44, 0x35}
	v, _, err := m.Ensure(VMACOptions{BaseIndex: base, VRID: 53, Family: FamilyIPv6, LinkLocal: ll, Name: "vm53", MAC: mac})
	if err != nil {
		t.Fatal(err)
	}
	if got := readVMAC(t, p.a, "vm53", p.aName); got.MAC != mac.String() || !cmp.Equal(got.IPv6Addrs, []string{"fe80::53/64 nodad deprecated"}) {
		t.Fatalf("vm53: %+v", got)
	}
	if _, _, err := m.Ensure(VMACOptions{BaseIndex: base, VRID: 54, Family: FamilyIPv4, KeepIPv6: true}); err != nil {
		t.Fatal(err)
	}
	if got := readVMAC(t, p.a, "vrrp.54", p.aName); got.Sysctls["ipv6/conf/X/disable_ipv6"] != "0" ||
		got.Sysctls["ipv6/conf/X/addr_gen_mode"] != "1" || len(got.IPv6Addrs) != 0 {
		t.Fatalf("ipv4 vmac keeping ipv6: %+v", got)
	}

	// Delete: the base's ARP settings come back with its last IPv4 VMAC.
	for _, name := range []string{"vrrp.51", "vm53"} {
		if ok, err := m.Remove(name); err != nil || !ok {
			t.Fatalf("Remove(%s) = %v, %v", name, ok, err)
		}
		if !linkGone(t, p.a, name) {
			t.Fatalf("%s still there", name)
		}
	}
	if got := sysctl(t, p.a, "net/ipv4/conf/"+p.aName+"/arp_ignore"); got != "1" {
		t.Fatalf("base arp_ignore %s with an ipv4 vmac left", got)
	}
	if err := m.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vrrp.52", "vrrp.54"} {
		if !linkGone(t, p.a, name) {
			t.Fatalf("%s still there after RemoveAll", name)
		}
	}
	for _, k := range []string{"arp_ignore", "arp_filter"} {
		if got := sysctl(t, p.a, "net/ipv4/conf/"+p.aName+"/"+k); got != "0" {
			t.Errorf("base %s = %s after the last vmac, want 0 back", k, got)
		}
	}
	if ok, err := m.Remove("vrrp.51"); ok || err != nil {
		t.Fatalf("second Remove = %v, %v", ok, err)
	}
	if _, ok := m.Get("vrrp.51"); ok {
		t.Fatal("removed vmac still known")
	}

	// Without a link-local on the base, one made from its MAC (EUI-64).
	p.a.ip(t, "-6", "addr", "flush", "dev", p.aName, "scope", "link")
	v, _, err = m.Ensure(VMACOptions{BaseIndex: base, VRID: 55, Family: FamilyIPv6})
	if err != nil {
		t.Fatal(err)
	}
	if want := eui64LinkLocal(p.aIf.MAC); v.LinkLocal != want {
		t.Fatalf("link-local %v, want %v from the base's mac", v.LinkLocal, want)
	}
}

// TestVMACAdoptReplaceConflict: after a restart the VMAC left behind is
// adopted (and fixed: up, settings); a stale one of another VRID is
// replaced; an interface that is not a VMAC is never touched.
func TestVMACAdoptReplaceConflict(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	h := openHost(t, p.a)
	base := p.aIf.Index
	opts := VMACOptions{BaseIndex: base, VRID: 51, Family: FamilyIPv4}

	first := NewVMACManager(h, nil)
	v, _, err := first.Ensure(opts)
	if err != nil {
		t.Fatal(err)
	}
	// The daemon dies; someone sets the VMAC down and fiddles with it.
	p.a.ip(t, "link", "set", "vrrp.51", "down")
	setSysctl(t, p.a, "net/ipv4/conf/vrrp.51/arp_ignore", "0")
	p.a.ip(t, "link", "set", "vrrp.51", "type", "macvlan", "mode", "bridge")

	m := NewVMACManager(h, nil)
	got, res, err := m.Ensure(opts)
	if err != nil {
		t.Fatal(err)
	}
	if res != VMACAdopted || got.Index != v.Index {
		t.Fatalf("Ensure after restart = %+v, %v; want the same vmac adopted", got, res)
	}
	if st := readVMAC(t, p.a, "vrrp.51", p.aName); !st.Up || st.Mode != netlink.MACVLAN_MODE_PRIVATE || !cmp.Equal(st.Sysctls, ipv4VMAC) {
		t.Fatalf("adopted vmac not fixed: %+v", st)
	}
	if again, res, err := m.Ensure(opts); err != nil || res != VMACAdopted || again.Index != v.Index {
		t.Fatalf("Ensure twice = %+v, %v, %v", again, res, err)
	}
	if ok, err := m.Remove("vrrp.51"); err != nil || !ok {
		t.Fatalf("Remove = %v, %v", ok, err)
	}

	// A stale VMAC (another VRID's MAC) holding the name: replaced.
	p.a.ip(t, "link", "add", "link", p.aName, "name", "vrrp.60", "address", "00:00:5e:00:01:99", "type", "macvlan", "mode", "bridge")
	got, res, err = m.Ensure(VMACOptions{BaseIndex: base, VRID: 60, Family: FamilyIPv4})
	if err != nil || res != VMACReplaced {
		t.Fatalf("Ensure over a stale vmac = %v, %v", res, err)
	}
	if st := readVMAC(t, p.a, "vrrp.60", p.aName); st.MAC != "00:00:5e:00:01:3c" || st.Mode != netlink.MACVLAN_MODE_PRIVATE {
		t.Fatalf("replaced vmac: %+v", st)
	}
	// Ours, reconfigured (a reload changed the VRID under the same name).
	got, res, err = m.Ensure(VMACOptions{BaseIndex: base, VRID: 61, Family: FamilyIPv4, Name: "vrrp.60"})
	if err != nil || res != VMACCreated || got.MAC.String() != "00:00:5e:00:01:3d" {
		t.Fatalf("Ensure with a changed vrid = %+v, %v, %v", got, res, err)
	}

	// Not VMACs: a veth, a macvlan of someone else's MAC. Untouched.
	p.a.ip(t, "link", "add", "vrrp.70", "type", "veth", "peer", "name", "x70")
	p.a.ip(t, "link", "add", "link", p.aName, "name", "vrrp.71", "address", "02:00:00:00:00:71", "type", "macvlan")
	for vrid, kind := range map[uint8]string{70: "veth", 71: "macvlan"} {
		name := fmt.Sprintf("vrrp.%d", vrid)
		before := p.a.link(t, name)
		_, _, err := m.Ensure(VMACOptions{BaseIndex: base, VRID: vrid, Family: FamilyIPv4})
		if !errors.Is(err, ErrVMACConflict) {
			t.Fatalf("Ensure over a %s: %v", kind, err)
		}
		if after := p.a.link(t, name); !after.equal(before) {
			t.Fatalf("%s touched: %+v, was %+v", name, after, before)
		}
		if ok, err := m.Remove(name); ok || err != nil {
			t.Fatalf("Remove of a foreign %s = %v, %v", kind, ok, err)
		}
	}
	if err := m.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"vrrp.60": true, "vrrp.70": false, "vrrp.71": false} {
		if gone := linkGone(t, p.a, name); gone != want {
			t.Errorf("after RemoveAll, %s gone = %v, want %v", name, gone, want)
		}
	}
	if _, _, err := m.Ensure(VMACOptions{BaseIndex: 99999, VRID: 1, Family: FamilyIPv4}); !errors.Is(err, ErrLinkNotFound) {
		t.Fatalf("missing base: %v", err)
	}
}

// TestVMACRPFilter: with all.rp_filter set, the VMAC's rp_filter=0 would
// not count (the kernel takes the larger): all's value moves onto every
// interface and default, all becomes 0, and everything comes back with
// the last IPv4 VMAC (keepalived.conf(5), use_vmac; seen with keepalived
// 2.2.7). Also: the base's own ARP settings come back as found.
func TestVMACRPFilter(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	h := openHost(t, p.a)
	m := NewVMACManager(h, nil)
	base := p.aIf.Index
	for k, v := range map[string]string{
		"all/rp_filter": "2", "default/rp_filter": "0", p.aName + "/rp_filter": "1", "lo/rp_filter": "0",
		p.aName + "/arp_ignore": "2", p.aName + "/arp_filter": "0",
	} {
		setSysctl(t, p.a, "net/ipv4/conf/"+k, v)
	}
	read := func() map[string]string {
		out := map[string]string{}
		for _, k := range []string{"all/rp_filter", "default/rp_filter", p.aName + "/rp_filter", "lo/rp_filter",
			p.aName + "/arp_ignore", p.aName + "/arp_filter"} {
			out[k] = sysctl(t, p.a, "net/ipv4/conf/"+k)
		}
		return out
	}
	before := read()
	for _, vrid := range []uint8{51, 52} {
		if _, _, err := m.Ensure(VMACOptions{BaseIndex: base, VRID: vrid, Family: FamilyIPv4}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{"all/rp_filter": "0", "default/rp_filter": "2", p.aName + "/rp_filter": "2", "lo/rp_filter": "0",
		p.aName + "/arp_ignore": "1", p.aName + "/arp_filter": "1"}
	if diff := cmp.Diff(want, read()); diff != "" {
		t.Fatalf("with vmacs (-want +got):\n%s", diff)
	}
	for _, name := range []string{"vrrp.51", "vrrp.52"} {
		if got := sysctl(t, p.a, "net/ipv4/conf/"+name+"/rp_filter"); got != "0" {
			t.Fatalf("%s rp_filter %s", name, got)
		}
	}
	if _, err := m.Remove("vrrp.51"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, read()); diff != "" {
		t.Fatalf("with one vmac left (-want +got):\n%s", diff)
	}
	if _, err := m.Remove("vrrp.52"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, read()); diff != "" {
		t.Fatalf("after the last vmac (-want +got):\n%s", diff)
	}
}

// vmacLab is a LAN of hosts on one bridge, each with eth0 192.0.2.N/24
// and 2001:db8::N/64, and a Host opened in each.
type vmacLab struct {
	hosts []*testNS
	opens []*Host
	macs  []net.HardwareAddr
	lls   []netip.Addr
}

func newVMACLab(t *testing.T, names ...string) *vmacLab {
	t.Helper()
	requireNetns(t)
	lab := netns.New(t, netns.Options{})
	lan := lab.Bridge("lan")
	l := &vmacLab{}
	for i, name := range names {
		h := lab.Host(name)
		lab.Connect(h, "eth0", lan, fmt.Sprintf("192.0.2.%d/24", i+1), fmt.Sprintf("2001:db8::%d/64", i+1))
		n := newTestNS(h)
		l.hosts = append(l.hosts, n)
		l.opens = append(l.opens, openHost(t, n))
		l.macs = append(l.macs, h.MAC("eth0"))
		l.lls = append(l.lls, h.WaitLinkLocal("eth0", failsafe).WithZone(""))
	}
	return l
}

// TestVMACOnTheWire: a VIP on a VMAC is announced and answered with the
// virtual MAC, seen by a third host: the GARP's Ethernet source and ARP
// sender, the NA's source and target link-layer address, and the one
// answer to ARP and ND (the base interface keeps quiet for the VIP, and
// the IPv6 VMAC for the host's own IPv4 address).
func TestVMACOnTheWire(t *testing.T) {
	t.Parallel()
	l := newVMACLab(t, "k1", "c")
	k1, c := l.hosts[0], l.hosts[1]
	h := l.opens[0]
	base := k1.link(t, "eth0").Index
	capt := openCapture(t, c, "eth0")
	m := NewVMACManager(h, nil)
	vips := NewVIPManager(h, nil)

	v4, _, err := m.Ensure(VMACOptions{BaseIndex: base, VRID: 51, Family: FamilyIPv4})
	if err != nil {
		t.Fatal(err)
	}
	v6, _, err := m.Ensure(VMACOptions{BaseIndex: base, VRID: 52, Family: FamilyIPv6})
	if err != nil {
		t.Fatal(err)
	}
	vip4, vip6 := netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("2001:db8::100")
	for _, a := range []Address{
		{IfIndex: v4.Index, Prefix: netip.PrefixFrom(vip4, 24)},
		{IfIndex: v6.Index, Prefix: netip.PrefixFrom(vip6, 64)},
	} {
		if _, err := vips.Add(a); err != nil {
			t.Fatal(err)
		}
	}

	a4 := openAnnouncer(t, k1, AnnouncerOptions{IfIndex: v4.Index, Router: RouterOff})
	if !bytes.Equal(a4.MAC(), v4.MAC) {
		t.Fatalf("announcer on the vmac uses %v, want %v", a4.MAC(), v4.MAC)
	}
	if err := a4.Announce(vip4); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantGARP(v4.MAC, vip4), capt.next(t, "gratuitous arp", isARPFor(vip4))); diff != "" {
		t.Fatalf("gratuitous arp from the vmac (-want +got):\n%s", diff)
	}
	a6 := openAnnouncer(t, k1, AnnouncerOptions{IfIndex: v6.Index, Router: RouterOff})
	if err := a6.Announce(vip6); err != nil {
		t.Fatal(err)
	}
	got := capt.next(t, "neighbor advertisement", isNAFor(vip6))
	got[56], got[57] = 0, 0
	if diff := cmp.Diff(wantNA(v6.MAC, vip6, 0x20), got); diff != "" {
		t.Fatalf("neighbor advertisement from the vmac (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		addr string
		want net.HardwareAddr
	}{
		{vip4.String(), v4.MAC},
		{vip6.String(), v6.MAC},
		{"192.0.2.1", l.macs[0]}, // keepalived's IPv6 VMAC answers here too
	} {
		mac, err := c.h.Owner("eth0", tc.addr, failsafe)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(mac, tc.want) {
			t.Errorf("%s answered by %v, want %v", tc.addr, mac, tc.want)
		}
	}
}

// TestVMACAdverts: adverts sent on a VMAC leave with the virtual MAC and
// the base's address, and the other router, whose VMAC has the same MAC,
// receives them on its VMAC (private mode delivers a frame from its own
// MAC to it): the interface AdvertIndex names on both sides.
func TestVMACAdverts(t *testing.T) {
	t.Parallel()
	l := newVMACLab(t, "k1", "k2", "c")
	capt := openCapture(t, l.hosts[2], "eth0")
	var v4s, v6s []VMAC
	for i := range 2 {
		m := NewVMACManager(l.opens[i], nil)
		base := l.hosts[i].link(t, "eth0").Index
		v4, _, err := m.Ensure(VMACOptions{BaseIndex: base, VRID: 51, Family: FamilyIPv4})
		if err != nil {
			t.Fatal(err)
		}
		v6, _, err := m.Ensure(VMACOptions{BaseIndex: base, VRID: 52, Family: FamilyIPv6})
		if err != nil {
			t.Fatal(err)
		}
		v4s, v6s = append(v4s, v4), append(v6s, v6)
	}
	k1, k2 := l.hosts[0], l.hosts[1]
	src1, src2 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	send4 := openVRRP(t, k1, VRRPOptions{IfIndex: v4s[0].AdvertIndex(), Family: FamilyIPv4, Source: src1})
	recv4 := openVRRP(t, k2, VRRPOptions{IfIndex: v4s[1].AdvertIndex(), Family: FamilyIPv4, Source: src2})
	send6 := openVRRP(t, k1, VRRPOptions{IfIndex: v6s[0].AdvertIndex(), Family: FamilyIPv6})
	recv6 := openVRRP(t, k2, VRRPOptions{IfIndex: v6s[1].AdvertIndex(), Family: FamilyIPv6})
	if send6.Source() != l.lls[0] {
		t.Fatalf("ipv6 advert source on the vmac %v, want the base's link-local %v", send6.Source(), l.lls[0])
	}

	if err := send4.WriteTo(advert4, GroupIPv4); err != nil {
		t.Fatal(err)
	}
	want := received{Src: src1, Dst: GroupIPv4, TTL: 255, IfIndex: v4s[1].Index, Payload: advert4}
	if diff := cmp.Diff(want, summary(readOne(t, recv4)), cmpNet); diff != "" {
		t.Fatalf("ipv4 advert on the other vmac (-want +got):\n%s", diff)
	}
	if err := send6.WriteTo(advert6, GroupIPv6); err != nil {
		t.Fatal(err)
	}
	want = received{Src: l.lls[0], Dst: GroupIPv6, TTL: 255, IfIndex: v6s[1].Index, Payload: advert6}
	if diff := cmp.Diff(want, summary(readOne(t, recv6)), cmpNet); diff != "" {
		t.Fatalf("ipv6 advert on the other vmac (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		what string
		mac  net.HardwareAddr
		src  netip.Addr
	}{{"ipv4", v4s[0].MAC, src1}, {"ipv6", v6s[0].MAC, l.lls[0]}} {
		f, err := capt.c.WaitFor(failsafe, func(f *netns.Frame) bool {
			return f.VRRP != nil && f.IP != nil && f.IP.Src == tc.src
		})
		if err != nil {
			t.Fatalf("%s advert on the wire: %v", tc.what, err)
		}
		if !bytes.Equal(f.Src, tc.mac) {
			t.Errorf("%s advert from %v, want the virtual mac %v", tc.what, f.Src, tc.mac)
		}
	}
}

// TestVMACLikeKeepalived: the VMACs lbd makes are the ones Debian's
// keepalived 2.2.7 makes for the same instances, setting for setting,
// but for the one deliberate difference: arp_ignore=1 on an IPv6 VMAC.
func TestVMACLikeKeepalived(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	testutil.RequireCommand(t, "keepalived")
	h := openHost(t, p.a)
	m := NewVMACManager(h, nil)
	for _, o := range []VMACOptions{
		{BaseIndex: p.aIf.Index, VRID: 51, Family: FamilyIPv4},
		{BaseIndex: p.aIf.Index, VRID: 52, Family: FamilyIPv6},
	} {
		if _, _, err := m.Ensure(o); err != nil {
			t.Fatal(err)
		}
	}
	netns.Keepalived(t, p.b.h, fmt.Sprintf(`global_defs {
	router_id b
}
vrrp_instance V4 {
	state BACKUP
	interface %[1]s
	virtual_router_id 51
	priority 100
	use_vmac
	virtual_ipaddress {
		192.0.2.100/24
	}
}
vrrp_instance V6 {
	state BACKUP
	interface %[1]s
	virtual_router_id 52
	priority 100
	use_vmac
	virtual_ipaddress {
		2001:db8::100/64
	}
}
`, p.bName), netns.KeepalivedOptions{VRRPOnly: true})
	netns.Eventually(t, failsafe, "keepalived's vmacs", func() error {
		for _, name := range []string{"vrrp.51", "vrrp.52"} {
			l, err := p.b.nl.LinkByName(name)
			if err != nil {
				return err
			}
			if l.Attrs().Flags&net.FlagUp == 0 {
				return fmt.Errorf("%s down", name)
			}
		}
		if addrs, _ := p.b.nl.AddrList(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Name: "vrrp.52"}}, netlink.FAMILY_V6); len(addrs) == 0 {
			return errors.New("no link-local on vrrp.52 yet")
		}
		return nil
	})
	// Normalize what differs between hosts: the parent's index and the
	// base's own link-local.
	norm := func(st vmacState, ll netip.Addr) vmacState {
		st.Parent = 0
		for i, a := range st.IPv6Addrs {
			if len(a) > len(ll.String()) && a[:len(ll.String())] == ll.String() {
				st.IPv6Addrs[i] = "BASE-LL" + a[len(ll.String()):]
			}
		}
		return st
	}
	for _, name := range []string{"vrrp.51", "vrrp.52"} {
		ours := norm(readVMAC(t, p.a, name, p.aName), p.aLL)
		theirs := norm(readVMAC(t, p.b, name, p.bName), p.bLL)
		if name == "vrrp.52" {
			if ours.Sysctls["ipv4/conf/X/arp_ignore"] != "1" || theirs.Sysctls["ipv4/conf/X/arp_ignore"] != "0" {
				t.Errorf("ipv6 vmac arp_ignore: ours %s, keepalived's %s; want 1 and 0",
					ours.Sysctls["ipv4/conf/X/arp_ignore"], theirs.Sysctls["ipv4/conf/X/arp_ignore"])
			}
			ours.Sysctls["ipv4/conf/X/arp_ignore"] = theirs.Sysctls["ipv4/conf/X/arp_ignore"]
		}
		t.Logf("%s as keepalived makes it: %+v", name, theirs)
		if diff := cmp.Diff(theirs, ours); diff != "" {
			t.Errorf("%s (-keepalived +lbd):\n%s", name, diff)
		}
	}
}

func TestParseVMACAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    string
		vrid uint8
		want string
	}{
		{"02:11:22:33:44:55", 9, "02:11:22:33:44:55"},
		{"02:11:22:33:44", 61, "02:11:22:33:44:3d"},
		{"00:00:5e:00:01", 255, "00:00:5e:00:01:ff"},
	} {
		got, err := ParseVMACAddr(tc.s, tc.vrid)
		if err != nil || got.String() != tc.want {
			t.Errorf("ParseVMACAddr(%q, %d) = %v, %v; want %s", tc.s, tc.vrid, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "02:11:22:33", "02:11:22:33:44:55:66:77", "zz:11:22:33:44"} {
		if _, err := ParseVMACAddr(bad, 1); err == nil {
			t.Errorf("ParseVMACAddr(%q) accepted", bad)
		}
	}
}
