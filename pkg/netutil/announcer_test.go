package netutil

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func openAnnouncer(tb testing.TB, n *testNS, opts AnnouncerOptions) *Announcer {
	tb.Helper()
	var a *Announcer
	n.do(tb, func() (err error) {
		a, err = OpenAnnouncer(opts)
		return err
	})
	tb.Cleanup(func() { a.Close() })
	return a
}

func isARPFor(ip netip.Addr) func([]byte) bool {
	want := ip.As4()
	return func(f []byte) bool {
		return len(f) >= GARPFrameLen && binary.BigEndian.Uint16(f[12:14]) == etherTypeARP &&
			bytes.Equal(f[28:32], want[:])
	}
}

func isNAFor(ip netip.Addr) func([]byte) bool {
	want := ip.As16()
	return func(f []byte) bool {
		return len(f) >= NAFrameLen && binary.BigEndian.Uint16(f[12:14]) == etherTypeIPv6 &&
			f[20] == protoICMPv6 && f[54] == icmp6NeighborAdv && bytes.Equal(f[62:78], want[:])
	}
}

// wantGARP writes the expected frame out field by field, independently of
// AppendGARP.
func wantGARP(mac net.HardwareAddr, ip netip.Addr) []byte {
	bc := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	return cat(bc, mac, []byte{0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1}, mac, ip.AsSlice(), bc, ip.AsSlice())
}

// wantNA writes the expected frame out field by field, checksum left
// zero: the caller checks it apart.
func wantNA(mac net.HardwareAddr, ip netip.Addr, flags byte) []byte {
	return cat(
		[]byte{0x33, 0x33, 0, 0, 0, 1}, mac, []byte{0x86, 0xdd},
		[]byte{0x60, 0, 0, 0, 0, 32, 58, 255}, ip.AsSlice(), netip.MustParseAddr("ff02::1").AsSlice(),
		[]byte{136, 0, 0, 0, flags, 0, 0, 0}, ip.AsSlice(),
		[]byte{2, 1}, mac,
	)
}

func TestAnnouncerOnTheWire(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	capt := openCapture(t, p.b, p.bName)
	vip4 := netip.MustParseAddr("192.0.2.100")
	vip6 := netip.MustParseAddr("2001:db8::100")

	a := openAnnouncer(t, p.a, AnnouncerOptions{IfIndex: p.aIf.Index, Router: RouterOff})
	if !bytes.Equal(a.MAC(), p.aIf.MAC) || a.Router() {
		t.Fatalf("mac %v router %v, want the interface's %v and off", a.MAC(), a.Router(), p.aIf.MAC)
	}
	if err := a.Announce(vip4); err != nil {
		t.Fatal(err)
	}
	got := capt.next(t, "gratuitous arp", isARPFor(vip4))
	if diff := cmp.Diff(wantGARP(p.aIf.MAC, vip4), got); diff != "" {
		t.Fatalf("gratuitous arp on the wire (-want +got):\n%s", diff)
	}

	if err := a.Announce(vip6); err != nil {
		t.Fatal(err)
	}
	got = capt.next(t, "neighbor advertisement", isNAFor(vip6))
	if !icmp6ChecksumOK(got[14:]) {
		t.Fatal("checksum on the wire does not verify")
	}
	got[56], got[57] = 0, 0
	if diff := cmp.Diff(wantNA(p.aIf.MAC, vip6, 0x20), got); diff != "" {
		t.Fatalf("neighbor advertisement on the wire (-want +got):\n%s", diff)
	}
}

// TestAnnouncerRouterAndMAC: RouterAuto follows the interface's IPv6
// forwarding as keepalived does; a given MAC (a VMAC's) replaces the
// interface's everywhere in the frame.
func TestAnnouncerRouterAndMAC(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	capt := openCapture(t, p.b, p.bName)
	vip6 := netip.MustParseAddr("2001:db8::101")
	vmac := net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x02, 0x33} // RFC 5798 7.3 IPv6 VMAC, VRID 0x33

	auto := openAnnouncer(t, p.a, AnnouncerOptions{IfIndex: p.aIf.Index})
	if auto.Router() {
		t.Fatal("router flag with forwarding off")
	}
	p.a.h.Sysctl("net/ipv6/conf/"+p.aName+"/forwarding", "1")
	auto = openAnnouncer(t, p.a, AnnouncerOptions{IfIndex: p.aIf.Index, MAC: vmac})
	if !auto.Router() {
		t.Fatal("no router flag with forwarding on")
	}
	if err := auto.UnsolicitedNA(vip6); err != nil {
		t.Fatal(err)
	}
	got := capt.next(t, "neighbor advertisement", isNAFor(vip6))
	if !icmp6ChecksumOK(got[14:]) {
		t.Fatal("checksum on the wire does not verify")
	}
	got[56], got[57] = 0, 0
	if diff := cmp.Diff(wantNA(vmac, vip6, 0xa0), got); diff != "" {
		t.Fatalf("neighbor advertisement (-want +got):\n%s", diff)
	}

	on := openAnnouncer(t, p.a, AnnouncerOptions{IfIndex: p.aIf.Index, Router: RouterOn, MAC: vmac})
	vip4 := netip.MustParseAddr("192.0.2.101")
	if err := on.GratuitousARP(vip4); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantGARP(vmac, vip4), capt.next(t, "gratuitous arp", isARPFor(vip4))); diff != "" {
		t.Fatalf("gratuitous arp from a vmac (-want +got):\n%s", diff)
	}

	if err := on.GratuitousARP(vip6); err == nil {
		t.Fatal("gratuitous arp for an ipv6 address")
	}
	if err := on.UnsolicitedNA(vip4); err == nil {
		t.Fatal("neighbor advertisement for an ipv4 address")
	}
	on.Close()
	if err := on.GratuitousARP(vip4); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	if err := on.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestOpenAnnouncerBadOptions(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	for _, opts := range []AnnouncerOptions{
		{},
		{IfIndex: 99999},
		{IfIndex: p.aIf.Index, MAC: net.HardwareAddr{1, 2, 3}},
	} {
		p.a.do(t, func() error {
			if a, err := OpenAnnouncer(opts); err == nil {
				a.Close()
				return fmt.Errorf("%+v: opened", opts)
			}
			return nil
		})
	}
}
