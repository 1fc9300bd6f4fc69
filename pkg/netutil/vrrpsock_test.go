package netutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"
)

// Adverts as bytes: the socket layer does not look inside, so any payload
// goes. advert4 is a VRRPv2 advert for VRID 51 (priority 150, one address,
// no authentication); advert6 is VRRPv3-shaped with a checksum that is
// wrong on purpose: it must arrive untouched (no IPV6_CHECKSUM on either
// side).
var (
	advert4 = []byte{0x21, 51, 150, 1, 0, 1, 0x3e, 0x19, 192, 0, 2, 100, 0, 0, 0, 0, 0, 0, 0, 0}
	advert6 = append([]byte{0x31, 52, 150, 1, 0x00, 0x64, 0xde, 0xad}, netip.MustParseAddr("2001:db8::100").AsSlice()...)
)

// openVRRP opens a socket inside n, closed at cleanup.
func openVRRP(tb testing.TB, n *testNS, opts VRRPOptions) *VRRPConn {
	tb.Helper()
	var c *VRRPConn
	n.do(tb, func() (err error) {
		c, err = OpenVRRP(context.Background(), opts)
		return err
	})
	tb.Cleanup(func() { c.Close() })
	return c
}

// readOne reads one packet with a failsafe deadline.
func readOne(tb testing.TB, c *VRRPConn) Packet {
	tb.Helper()
	if err := c.SetReadDeadline(time.Now().Add(failsafe)); err != nil {
		tb.Fatal(err)
	}
	buf := make([]byte, 2048)
	p, err := c.ReadPacket(buf)
	if err != nil {
		tb.Fatalf("read: %v", err)
	}
	return p
}

// received is what a test compares: Packet without the raw header.
type received struct {
	Src, Dst netip.Addr
	TTL      uint8
	IfIndex  int
	Payload  []byte
}

func summary(p Packet) received {
	return received{p.Src, p.Dst, p.TTL, p.IfIndex, p.Payload}
}

func TestVRRPMulticastIPv4(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	a := openVRRP(t, p.a, VRRPOptions{IfIndex: p.aIf.Index, Family: FamilyIPv4})
	b := openVRRP(t, p.b, VRRPOptions{IfIndex: p.bIf.Index, Family: FamilyIPv4})
	if a.Source() != addrA4 {
		t.Fatalf("default source %v, want the primary address %v", a.Source(), addrA4)
	}
	if a.Group() != GroupIPv4 || a.Family() != FamilyIPv4 || a.IfIndex() != p.aIf.Index {
		t.Fatalf("group %v family %v ifindex %d", a.Group(), a.Family(), a.IfIndex())
	}
	if err := a.WriteTo(advert4, GroupIPv4); err != nil {
		t.Fatal(err)
	}
	got := readOne(t, b)
	want := received{addrA4, GroupIPv4, 255, p.bIf.Index, advert4}
	if diff := cmp.Diff(want, summary(got), cmpNet); diff != "" {
		t.Fatalf("received (-want +got):\n%s", diff)
	}
	// The header as keepalived 2.2.7 writes it: TOS 0xc0, no DF, VRRP.
	h := got.Header
	if len(h) != 20 || h[1] != 0xc0 || h[6]&0x40 != 0 || h[9] != ProtoVRRP {
		t.Fatalf("ip header % x: want length 20, tos 0xc0, no DF, protocol 112", h)
	}
}

func TestVRRPUnicastIPv4(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	b := openVRRP(t, p.b, VRRPOptions{IfIndex: p.bIf.Index, Family: FamilyIPv4, NoJoin: true})
	for _, tc := range []struct{ ttl, want int }{{0, 255}, {64, 64}, {1, 1}} {
		a := openVRRP(t, p.a, VRRPOptions{IfIndex: p.aIf.Index, Family: FamilyIPv4, UnicastTTL: tc.ttl, NoJoin: true})
		if err := a.WriteTo(advert4, addrB4); err != nil {
			t.Fatal(err)
		}
		got := readOne(t, b)
		want := received{addrA4, addrB4, uint8(tc.want), p.bIf.Index, advert4}
		if diff := cmp.Diff(want, summary(got), cmpNet); diff != "" {
			t.Fatalf("unicast_ttl %d (-want +got):\n%s", tc.ttl, diff)
		}
		a.Close()
	}
}

// TestVRRPSourceOverride: mcast_src_ip / unicast_src_ip, and SetSource.
func TestVRRPSourceOverride(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	other := netip.MustParseAddr("192.0.2.9")
	p.a.ip(t, "addr", "add", other.String()+"/24", "dev", p.aName)
	a := openVRRP(t, p.a, VRRPOptions{IfIndex: p.aIf.Index, Family: FamilyIPv4, Source: other})
	b := openVRRP(t, p.b, VRRPOptions{IfIndex: p.bIf.Index, Family: FamilyIPv4})
	if err := a.WriteTo(advert4, GroupIPv4); err != nil {
		t.Fatal(err)
	}
	if got := readOne(t, b); got.Src != other {
		t.Fatalf("source %v, want configured %v", got.Src, other)
	}
	if err := a.SetSource(addrA4); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteTo(advert4, GroupIPv4); err != nil {
		t.Fatal(err)
	}
	if got := readOne(t, b); got.Src != addrA4 {
		t.Fatalf("source after SetSource %v, want %v", got.Src, addrA4)
	}
	if err := a.SetSource(addrA6); err == nil {
		t.Fatal("SetSource accepted an ipv6 address on an ipv4 socket")
	}
	// The kernel refuses a source that is not local.
	if err := a.SetSource(netip.MustParseAddr("198.51.100.1")); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteTo(advert4, GroupIPv4); err == nil {
		t.Fatal("sent from an address that is not local")
	}
}

// TestVRRPGroupOverride: a socket on another group (vrrp_mcast_group4) on
// the same interface does not see the default group's adverts, nor the
// reverse (IP_MULTICAST_ALL off). Order on one path is kept, so "the first
// packet each one reads" decides without waiting for an absence.
func TestVRRPGroupOverride(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	group19 := netip.MustParseAddr("224.0.0.19")
	a := openVRRP(t, p.a, VRRPOptions{IfIndex: p.aIf.Index, Family: FamilyIPv4})
	b18 := openVRRP(t, p.b, VRRPOptions{IfIndex: p.bIf.Index, Family: FamilyIPv4})
	b19 := openVRRP(t, p.b, VRRPOptions{IfIndex: p.bIf.Index, Family: FamilyIPv4, Group: group19})
	if b19.Group() != group19 {
		t.Fatalf("group %v", b19.Group())
	}
	first := append([]byte{0xaa}, advert4[1:]...)
	second := append([]byte{0xbb}, advert4[1:]...)
	if err := a.WriteTo(first, group19); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteTo(second, GroupIPv4); err != nil {
		t.Fatal(err)
	}
	if got := readOne(t, b18); got.Dst != GroupIPv4 || got.Payload[0] != 0xbb {
		t.Fatalf("default-group socket read %v %x first, want the 224.0.0.18 advert", got.Dst, got.Payload[0])
	}
	if got := readOne(t, b19); got.Dst != group19 || got.Payload[0] != 0xaa {
		t.Fatalf("224.0.0.19 socket read %v %x first, want the 224.0.0.19 advert", got.Dst, got.Payload[0])
	}
}

func TestVRRPMulticastIPv6(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	a := openVRRP(t, p.a, VRRPOptions{IfIndex: p.aIf.Index, Family: FamilyIPv6})
	b := openVRRP(t, p.b, VRRPOptions{IfIndex: p.bIf.Index, Family: FamilyIPv6})
	if a.Source() != p.aLL {
		t.Fatalf("default source %v, want the link-local %v", a.Source(), p.aLL)
	}
	if err := a.WriteTo(advert6, GroupIPv6); err != nil {
		t.Fatal(err)
	}
	got := readOne(t, b)
	want := received{p.aLL, GroupIPv6, 255, p.bIf.Index, advert6}
	if diff := cmp.Diff(want, summary(got), cmpNet); diff != "" {
		t.Fatalf("received (-want +got):\n%s", diff)
	}
	if got.Header != nil {
		t.Fatalf("ipv6 header %x, want none", got.Header)
	}
}

func TestVRRPUnicastIPv6(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	b := openVRRP(t, p.b, VRRPOptions{IfIndex: p.bIf.Index, Family: FamilyIPv6, NoJoin: true})
	for _, tc := range []struct {
		ttl, want int
		dst       netip.Addr
	}{{0, 255, addrB6}, {9, 9, addrB6}, {0, 255, p.bLL}} {
		a := openVRRP(t, p.a, VRRPOptions{IfIndex: p.aIf.Index, Family: FamilyIPv6, UnicastTTL: tc.ttl, NoJoin: true})
		if err := a.WriteTo(advert6, tc.dst); err != nil {
			t.Fatal(err)
		}
		got := readOne(t, b)
		want := received{p.aLL, tc.dst, uint8(tc.want), p.bIf.Index, advert6}
		if diff := cmp.Diff(want, summary(got), cmpNet); diff != "" {
			t.Fatalf("unicast_ttl %d to %v (-want +got):\n%s", tc.ttl, tc.dst, diff)
		}
		a.Close()
	}
}

// TestVRRPCloseUnblocksRead: cancelling the context (or Close) ends a
// blocked reader at once; a deadline ends it with ErrDeadlineExceeded.
func TestVRRPCloseUnblocksRead(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	var c *VRRPConn
	p.b.do(t, func() (err error) {
		c, err = OpenVRRP(ctx, VRRPOptions{IfIndex: p.bIf.Index, Family: FamilyIPv6})
		return err
	})
	if err := c.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadPacket(make([]byte, 1500)); !errors.Is(err, errDeadline) {
		t.Fatalf("read past the deadline: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := c.ReadPacket(make([]byte, 1500))
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read after cancel: %v, want net.ErrClosed", err)
		}
	case <-time.After(failsafe):
		t.Fatal("reader still blocked after the context was cancelled")
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close after the context closed it: %v", err)
	}
	if err := c.WriteTo(advert6, GroupIPv6); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

func TestVRRPTruncated(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	a := openVRRP(t, p.a, VRRPOptions{IfIndex: p.aIf.Index, Family: FamilyIPv4})
	b := openVRRP(t, p.b, VRRPOptions{IfIndex: p.bIf.Index, Family: FamilyIPv4})
	if err := a.WriteTo(advert4, GroupIPv4); err != nil {
		t.Fatal(err)
	}
	b.SetReadDeadline(time.Now().Add(failsafe))
	if _, err := b.ReadPacket(make([]byte, 30)); !errors.Is(err, ErrTruncated) {
		t.Fatalf("read into 30 bytes: %v, want ErrTruncated", err)
	}
}

func TestOpenVRRPBadOptions(t *testing.T) {
	requireNetns(t)
	t.Parallel()
	p := newPair(t)
	for _, tc := range []struct {
		name string
		opts VRRPOptions
	}{
		{"no family", VRRPOptions{IfIndex: p.aIf.Index}},
		{"no interface", VRRPOptions{Family: FamilyIPv4}},
		{"unicast group", VRRPOptions{IfIndex: p.aIf.Index, Family: FamilyIPv4, Group: addrB4}},
		{"group of the other family", VRRPOptions{IfIndex: p.aIf.Index, Family: FamilyIPv4, Group: GroupIPv6}},
		{"ipv6 group not link-local scope", VRRPOptions{IfIndex: p.aIf.Index, Family: FamilyIPv6, Group: netip.MustParseAddr("ff05::12")}},
		{"source of the other family", VRRPOptions{IfIndex: p.aIf.Index, Family: FamilyIPv6, Source: addrA4}},
		{"ttl too big", VRRPOptions{IfIndex: p.aIf.Index, Family: FamilyIPv4, UnicastTTL: 256}},
		{"missing interface", VRRPOptions{IfIndex: 99999, Family: FamilyIPv4}},
	} {
		p.a.do(t, func() error {
			if c, err := OpenVRRP(context.Background(), tc.opts); err == nil {
				c.Close()
				return fmt.Errorf("%s: opened", tc.name)
			}
			return nil
		})
	}
	// No IPv4 address at all: no default source.
	p.a.ip(t, "addr", "flush", "dev", p.aName)
	p.a.do(t, func() error {
		_, err := OpenVRRP(context.Background(), VRRPOptions{IfIndex: p.aIf.Index, Family: FamilyIPv4})
		if !errors.Is(err, ErrNoAddress) {
			return fmt.Errorf("open without an address: %v, want ErrNoAddress", err)
		}
		return nil
	})
	c := openVRRP(t, p.b, VRRPOptions{IfIndex: p.bIf.Index, Family: FamilyIPv4})
	if err := c.WriteTo(nil, GroupIPv4); err == nil {
		t.Error("sent an empty packet")
	}
	if err := c.WriteTo(advert4, GroupIPv6); err == nil {
		t.Error("sent to an address of the other family")
	}
}

// TestVRRPNoAllocs: send and receive allocate nothing. Not parallel:
// AllocsPerRun counts the whole process.
func TestVRRPNoAllocs(t *testing.T) {
	p := newPair(t)
	for _, fam := range []Family{FamilyIPv4, FamilyIPv6} {
		a := openVRRP(t, p.a, VRRPOptions{IfIndex: p.aIf.Index, Family: fam})
		b := openVRRP(t, p.b, VRRPOptions{IfIndex: p.bIf.Index, Family: fam})
		pkt, grp := advert4, GroupIPv4
		if fam == FamilyIPv6 {
			pkt, grp = advert6, GroupIPv6
		}
		buf := make([]byte, 1500)
		b.SetReadDeadline(time.Now().Add(failsafe))
		var err error
		n := testing.AllocsPerRun(200, func() {
			if err == nil {
				err = a.WriteTo(pkt, grp)
			}
			if err == nil {
				_, err = b.ReadPacket(buf)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%v: %v allocations per send and receive", fam, n)
		}
	}
}

func TestWalkCmsgs(t *testing.T) {
	b := make([]byte, 128)
	d := putCmsgHeader(b, unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT, 4)
	d[0] = 7
	off := unix.CmsgSpace(4)
	putCmsgHeader(b[off:], unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SizeofInet4Pktinfo)
	end := off + unix.CmsgSpace(unix.SizeofInet4Pktinfo)
	var got []int32
	walkCmsgs(b[:end], func(level, typ int32, data []byte) { got = append(got, level, typ, int32(len(data))) })
	want := []int32{unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT, 4, unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SizeofInet4Pktinfo}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	// Truncated and garbage buffers end the walk without a panic.
	for _, bad := range [][]byte{b[:5], b[:end-1], {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0}, make([]byte, 16)} {
		walkCmsgs(bad, func(int32, int32, []byte) {})
	}
}

var errDeadline = os.ErrDeadlineExceeded

// cmpNet compares net/netip values by ==.
var cmpNet = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})
