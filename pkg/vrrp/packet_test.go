package vrrp

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var (
	kaSrc4  = netip.MustParseAddr("10.250.0.1")
	kaPeer4 = netip.MustParseAddr("10.250.0.2")
	kaSrc6  = netip.MustParseAddr("fe80::ff:fe00:a")
)

// golden is one advert, its wire form written one field per element, and
// the keepalived capture (testdata/keepalived-2.2.7.adverts) it must equal.
type golden struct {
	name     string
	capture  string // "" when keepalived was not captured sending it
	src, dst netip.Addr
	adv      Advert
	wire     [][]byte
}

func goldens() []golden {
	a := netip.MustParseAddr
	return []golden{
		{
			name:    "v2 IPv4 owner, two VIPs",
			capture: "vrid51",
			src:     kaSrc4, dst: MulticastGroupIPv4,
			adv: Advert{Version: 2, Type: 1, VRID: 51, Priority: 255, Interval: time.Second,
				Addrs: []netip.Addr{a("192.0.2.10"), a("192.0.2.11")}},
			wire: [][]byte{
				{0x21},       // version 2, type 1
				{51},         // VRID
				{255},        // priority
				{2},          // count IPv4 addrs
				{0},          // auth type none
				{1},          // advert interval, seconds
				{0x5b, 0xb2}, // checksum over the message
				{192, 0, 2, 10},
				{192, 0, 2, 11},
				{0, 0, 0, 0, 0, 0, 0, 0}, // authentication data
			},
		},
		{
			name:    "v2 IPv4 auth PASS",
			capture: "vrid52",
			src:     kaSrc4, dst: MulticastGroupIPv4,
			adv: Advert{Version: 2, Type: 1, VRID: 52, Priority: 200, Interval: 2 * time.Second,
				AuthType: AuthPass, AuthData: [8]byte{'l', 'b', 'd', 't', 'e', 's', 't', 0},
				Addrs: []netip.Addr{a("198.51.100.20")}},
			wire: [][]byte{
				{0x21},
				{52},
				{200},
				{1},
				{1}, // auth type PASS
				{2},
				{0x41, 0x35},
				{198, 51, 100, 20},
				[]byte("lbdtest\x00"), // password, zero padded to 8
			},
		},
		{
			name:    "v3 IPv4 multicast",
			capture: "vrid53",
			src:     kaSrc4, dst: MulticastGroupIPv4,
			adv: Advert{Version: 3, Type: 1, VRID: 53, Priority: 100, Interval: 500 * time.Millisecond,
				Addrs: []netip.Addr{a("203.0.113.30"), a("203.0.113.31"), a("203.0.113.32")}},
			wire: [][]byte{
				{0x31}, // version 3, type 1
				{53},
				{100},
				{3},
				{0x00, 50},   // reserved 0, max advert interval 50 cs
				{0xca, 0xa2}, // checksum with the IPv4 pseudo-header
				{203, 0, 113, 30},
				{203, 0, 113, 31},
				{203, 0, 113, 32},
			},
		},
		{
			name:    "v3 IPv6 multicast",
			capture: "vrid54",
			src:     kaSrc6, dst: MulticastGroupIPv6,
			adv: Advert{Version: 3, Type: 1, VRID: 54, Priority: 254, Interval: 250 * time.Millisecond,
				Addrs: []netip.Addr{a("fe80::54"), a("2001:db8::54")}},
			wire: [][]byte{
				{0x31},
				{54},
				{254},
				{2},
				{0x00, 25},
				{0xa6, 0x93}, // checksum with the IPv6 pseudo-header
				a("fe80::54").AsSlice(),
				a("2001:db8::54").AsSlice(),
			},
		},
		{
			name:    "v3 IPv4 unicast",
			capture: "vrid55",
			src:     kaSrc4, dst: kaPeer4,
			adv: Advert{Version: 3, Type: 1, VRID: 55, Priority: 1, Interval: time.Second,
				Addrs: []netip.Addr{a("192.0.2.55")}},
			wire: [][]byte{
				{0x31},
				{55},
				{1},
				{1},
				{0x00, 100},
				{0xf4, 0xb8}, // pseudo-header with the unicast destination
				{192, 0, 2, 55},
			},
		},
		{
			name: "v3 IPv4 unicast, pre-1.3.6 keepalived checksum",
			src:  kaSrc4, dst: kaPeer4,
			adv: Advert{Version: 3, Type: 1, VRID: 55, Priority: 1, Interval: time.Second,
				Addrs: []netip.Addr{a("192.0.2.55")}, LegacyChecksum: true},
			wire: [][]byte{
				{0x31},
				{55},
				{1},
				{1},
				{0x00, 100},
				{0x1f, 0xa2}, // pseudo-header with 224.0.0.18 as destination
				{192, 0, 2, 55},
			},
		},
		{
			name: "v2 IPv6 (keepalived: version 2 on an IPv6 instance)",
			src:  kaSrc6, dst: MulticastGroupIPv6,
			adv: Advert{Version: 2, Type: 1, VRID: 9, Priority: 100, Interval: 3 * time.Second,
				Addrs: []netip.Addr{a("fe80::9")}},
			wire: [][]byte{
				{0x21},
				{9},
				{100},
				{1},
				{0},          // auth type
				{3},          // seconds
				{0x7f, 0x40}, // IPv6 pseudo-header, as the kernel's IPV6_CHECKSUM computes
				a("fe80::9").AsSlice(),
				// no authentication data over IPv6
			},
		},
		{
			name: "v3 IPv4 no addresses, maximum interval",
			src:  kaSrc4, dst: MulticastGroupIPv4,
			adv: Advert{Version: 3, Type: 1, VRID: 255, Priority: 0, Interval: MaxIntervalV3},
			wire: [][]byte{
				{0x31},
				{255},
				{0},
				{0},
				{0x0f, 0xff}, // 4095 cs
				{0xd2, 0x7b},
			},
		},
	}
}

// independentChecksum is a plain RFC 1071 computation over explicit
// pseudo-header bytes, written apart from the package's.
func independentChecksum(t *testing.T, msg []byte, src, dst netip.Addr, pseudo bool) uint16 {
	t.Helper()
	var buf []byte
	if pseudo {
		buf = append(buf, src.AsSlice()...)
		buf = append(buf, dst.AsSlice()...)
		if src.Is4() {
			buf = append(buf, 0, ProtocolNumber, byte(len(msg)>>8), byte(len(msg)))
		} else {
			buf = append(buf, 0, 0, byte(len(msg)>>8), byte(len(msg)), 0, 0, 0, ProtocolNumber)
		}
	}
	m := append([]byte(nil), msg...)
	m[6], m[7] = 0, 0
	buf = append(buf, m...)
	if len(buf)%2 == 1 {
		buf = append(buf, 0)
	}
	var sum uint32
	for i := 0; i < len(buf); i += 2 {
		sum += uint32(buf[i])<<8 | uint32(buf[i+1])
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func captures(t *testing.T) map[string][]byte {
	t.Helper()
	f, err := os.Open("testdata/keepalived-2.2.7.adverts")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string][]byte{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hx, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("bad capture line %q", line)
		}
		b, err := hex.DecodeString(hx)
		if err != nil {
			t.Fatalf("capture %s: %v", name, err)
		}
		m[name] = b
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// captured returns the IP packet and its parsed facts.
func captured(t *testing.T, caps map[string][]byte, name string) Packet {
	t.Helper()
	b, ok := caps[name]
	if !ok {
		t.Fatalf("no capture %s", name)
	}
	var p Packet
	var r Reason
	if b[0]>>4 == 4 {
		p, r = ParseIPv4(b)
	} else {
		p, r = ParseIPv6(b)
	}
	if r != ReasonNone {
		t.Fatalf("capture %s: IP parse: %v", name, r)
	}
	return p
}

func TestGoldenAdverts(t *testing.T) {
	caps := captures(t)
	for _, g := range goldens() {
		t.Run(g.name, func(t *testing.T) {
			want := bytes.Join(g.wire, nil)

			got, err := g.adv.Marshal(g.src, g.dst)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Marshal (-want +got):\n%s", diff)
			}
			if n := g.adv.Len(g.src.Is6()); n != len(want) {
				t.Errorf("Len = %d, want %d", n, len(want))
			}

			// The checksum field against an independent computation.
			pdst := g.dst
			if g.adv.LegacyChecksum {
				pdst = MulticastGroupIPv4
			}
			pseudo := g.adv.Version == 3 || g.src.Is6()
			if c := independentChecksum(t, want, g.src, pdst, pseudo); c != uint16(want[6])<<8|uint16(want[7]) {
				t.Errorf("golden checksum %#04x, independent computation %#04x", uint16(want[6])<<8|uint16(want[7]), c)
			}

			var back Advert
			if r := Parse(want, g.src, g.dst, &back); r != ReasonNone {
				t.Fatalf("Parse: %v", r)
			}
			if diff := cmp.Diff(g.adv, back, cmpNet); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}

			if g.capture == "" {
				return
			}
			p := captured(t, caps, g.capture)
			if p.Src != g.src || p.Dst != g.dst {
				t.Errorf("capture %s: %v -> %v, golden %v -> %v", g.capture, p.Src, p.Dst, g.src, g.dst)
			}
			if diff := cmp.Diff(want, p.Payload); diff != "" {
				t.Errorf("keepalived sent (-golden +keepalived):\n%s", diff)
			}
			// keepalived's priority-0 advert on shutdown differs only in
			// priority and checksum.
			zero := g.adv
			zero.Priority = 0
			z, err := zero.Marshal(g.src, g.dst)
			if err != nil {
				t.Fatal(err)
			}
			p0 := captured(t, caps, g.capture+"-prio0")
			if diff := cmp.Diff(p0.Payload, z); diff != "" {
				t.Errorf("priority 0 (-keepalived +ours):\n%s", diff)
			}
		})
	}
}

var cmpNet = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})

// TestGoldenIPHeaders rebuilds keepalived's whole packets, IP header
// included (the kernel filled the IPv4 checksum and the IPv6 flow label).
func TestGoldenIPHeaders(t *testing.T) {
	caps := captures(t)
	v4 := goldens()[0]
	msg := bytes.Join(v4.wire, nil)
	got, err := AppendIPv4(nil, IPHeader{Src: v4.src, Dst: v4.dst, TTL: 255, ID: 1}, msg)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]byte{
		{0x45},       // version 4, IHL 5
		{0xc0},       // TOS: internetwork control
		{0x00, 0x2c}, // total length 44
		{0x00, 0x01}, // ID
		{0x00, 0x00}, // flags, fragment offset
		{0xff},       // TTL
		{0x70},       // protocol 112
		{0xcf, 0x93}, // header checksum
		{10, 250, 0, 1},
		{224, 0, 0, 18},
		msg,
	}
	if diff := cmp.Diff(bytes.Join(want, nil), got); diff != "" {
		t.Errorf("AppendIPv4 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(caps["vrid51"], got); diff != "" {
		t.Errorf("AppendIPv4 vs keepalived (-keepalived +ours):\n%s", diff)
	}

	v6 := goldens()[3]
	msg6 := bytes.Join(v6.wire, nil)
	got6, err := AppendIPv6(nil, IPHeader{Src: v6.src, Dst: v6.dst, TTL: 255, FlowLabel: 0xf2bb}, msg6)
	if err != nil {
		t.Fatal(err)
	}
	want6 := [][]byte{
		{0x6c, 0x00, 0xf2, 0xbb}, // version 6, traffic class 0xc0, flow label
		{0x00, 0x28},             // payload length 40
		{112},                    // next header
		{255},                    // hop limit
		v6.src.AsSlice(),
		v6.dst.AsSlice(),
		msg6,
	}
	if diff := cmp.Diff(bytes.Join(want6, nil), got6); diff != "" {
		t.Errorf("AppendIPv6 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(caps["vrid54"], got6); diff != "" {
		t.Errorf("AppendIPv6 vs keepalived (-keepalived +ours):\n%s", diff)
	}
}

func TestParseRejects(t *testing.T) {
	g := goldens()[2] // v3 IPv4
	good := bytes.Join(g.wire, nil)
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	v6 := goldens()[3]
	tests := []struct {
		name     string
		b        []byte
		src, dst netip.Addr
		want     Reason
	}{
		{"good", good, g.src, g.dst, ReasonNone},
		{"empty", nil, g.src, g.dst, ReasonPacketLen},
		{"short header", good[:7], g.src, g.dst, ReasonPacketLen},
		{"truncated addresses", good[:len(good)-1], g.src, g.dst, ReasonPacketLen},
		{"trailing byte", append(append([]byte(nil), good...), 0), g.src, g.dst, ReasonPacketLen},
		{"count too high", mut(func(b []byte) []byte { b[3] = 4; return b }), g.src, g.dst, ReasonPacketLen},
		{"version 1", mut(func(b []byte) []byte { b[0] = 0x11; return b }), g.src, g.dst, ReasonVersion},
		{"version 4", mut(func(b []byte) []byte { b[0] = 0x41; return b }), g.src, g.dst, ReasonVersion},
		{"checksum", mut(func(b []byte) []byte { b[7]++; return b }), g.src, g.dst, ReasonChecksum},
		{"other source", good, kaPeer4, g.dst, ReasonChecksum},
		{"no source", good, netip.Addr{}, g.dst, ReasonFamily},
		{"mixed families", good, g.src, MulticastGroupIPv6, ReasonFamily},
		{"v6 message with v4 addresses", bytes.Join(v6.wire, nil), g.src, g.dst, ReasonPacketLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var adv Advert
			if got := Parse(tt.b, tt.src, tt.dst, &adv); got != tt.want {
				t.Errorf("Parse = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseIgnoresReservedBits(t *testing.T) {
	g := goldens()[2]
	b := bytes.Join(g.wire, nil)
	b[4] |= 0xf0
	b[6], b[7] = 0, 0
	c := checksum(b, 3, g.src, g.dst)
	b[6], b[7] = byte(c>>8), byte(c)
	var adv Advert
	if r := Parse(b, g.src, g.dst, &adv); r != ReasonNone {
		t.Fatalf("Parse: %v", r)
	}
	if adv.Interval != g.adv.Interval {
		t.Errorf("Interval = %v, want %v", adv.Interval, g.adv.Interval)
	}
}

func TestMarshalErrors(t *testing.T) {
	a4 := netip.MustParseAddr("192.0.2.1")
	a6 := netip.MustParseAddr("2001:db8::1")
	base := Advert{Version: 3, Type: 1, VRID: 1, Priority: 100, Interval: time.Second, Addrs: []netip.Addr{a4}}
	tests := []struct {
		name     string
		mod      func(a *Advert)
		src, dst netip.Addr
		want     error
	}{
		{"version 1", func(a *Advert) { a.Version = 1 }, kaSrc4, MulticastGroupIPv4, ErrVersion},
		{"no source", func(a *Advert) {}, netip.Addr{}, MulticastGroupIPv4, ErrFamily},
		{"mixed families", func(a *Advert) {}, kaSrc4, MulticastGroupIPv6, ErrFamily},
		{"IPv6 VIP in IPv4 advert", func(a *Advert) { a.Addrs = []netip.Addr{a6} }, kaSrc4, MulticastGroupIPv4, ErrAddrs},
		{"too many VIPs", func(a *Advert) { a.Addrs = make([]netip.Addr, 256) }, kaSrc4, MulticastGroupIPv4, ErrAddrs},
		{"v3 interval not centiseconds", func(a *Advert) { a.Interval = 15 * time.Millisecond }, kaSrc4, MulticastGroupIPv4, ErrInterval},
		{"v3 interval too long", func(a *Advert) { a.Interval = 41 * time.Second }, kaSrc4, MulticastGroupIPv4, ErrInterval},
		{"v2 interval not seconds", func(a *Advert) { a.Version = 2; a.Interval = 1500 * time.Millisecond }, kaSrc4, MulticastGroupIPv4, ErrInterval},
		{"v2 interval too long", func(a *Advert) { a.Version = 2; a.Interval = 256 * time.Second }, kaSrc4, MulticastGroupIPv4, ErrInterval},
		{"v3 with auth", func(a *Advert) { a.AuthType = AuthPass }, kaSrc4, MulticastGroupIPv4, ErrAuth},
		{"v2 IPv6 with auth data", func(a *Advert) { a.Version = 2; a.Addrs = []netip.Addr{a6}; a.AuthData[0] = 1 }, kaSrc6, MulticastGroupIPv6, ErrAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base
			tt.mod(&a)
			if _, err := a.Marshal(tt.src, tt.dst); !errors.Is(err, tt.want) {
				t.Errorf("Marshal error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseIPv4(t *testing.T) {
	caps := captures(t)
	good := caps["vrid51"]
	mut := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	withOptions := func() []byte {
		// IHL 6: one 4-byte option (NOP x4) before the VRRP message.
		b := append([]byte(nil), good[:20]...)
		b[0] = 0x46
		b[3] += 4
		b = append(b, 1, 1, 1, 1)
		return append(b, good[20:]...)
	}
	tests := []struct {
		name    string
		b       []byte
		want    Reason
		payload []byte
	}{
		{"good", good, ReasonNone, good[20:]},
		{"ethernet padding", append(append([]byte(nil), good...), 0, 0, 0, 0, 0, 0), ReasonNone, good[20:]},
		{"options", withOptions(), ReasonNone, good[20:]},
		{"short", good[:19], ReasonPacketLen, nil},
		{"IPv6", caps["vrid54"], ReasonFamily, nil},
		{"IHL 4", mut(func(b []byte) { b[0] = 0x44 }), ReasonPacketLen, nil},
		{"IHL above total length", mut(func(b []byte) { b[0] = 0x4f }), ReasonPacketLen, nil},
		{"IHL beyond packet", mut(func(b []byte) { b[0] = 0x4f })[:40], ReasonPacketLen, nil},
		{"total length beyond packet", good[:40], ReasonPacketLen, nil},
		{"total length short", mut(func(b []byte) { b[3] = 19 }), ReasonPacketLen, nil},
		{"total length long", mut(func(b []byte) { b[3] = 0xff }), ReasonPacketLen, nil},
		{"more fragments", mut(func(b []byte) { b[6] = 0x20 }), ReasonFragment, nil},
		{"fragment offset", mut(func(b []byte) { b[7] = 1 }), ReasonFragment, nil},
		{"DF is fine", mut(func(b []byte) { b[6] = 0x40 }), ReasonNone, good[20:]},
		{"AH", mut(func(b []byte) { b[9] = 51 }), ReasonAuthTypeMismatch, nil},
		{"UDP", mut(func(b []byte) { b[9] = 17 }), ReasonProtocol, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := ParseIPv4(tt.b)
			if r != tt.want {
				t.Fatalf("reason = %v, want %v", r, tt.want)
			}
			if r != ReasonNone {
				return
			}
			if diff := cmp.Diff(tt.payload, p.Payload); diff != "" {
				t.Errorf("payload (-want +got):\n%s", diff)
			}
			if p.Src != kaSrc4 || p.Dst != MulticastGroupIPv4 || p.HopLimit != 255 {
				t.Errorf("facts %v -> %v hop %d", p.Src, p.Dst, p.HopLimit)
			}
		})
	}
}

func TestParseIPv6(t *testing.T) {
	caps := captures(t)
	good := caps["vrid54"]
	p, r := ParseIPv6(good)
	if r != ReasonNone {
		t.Fatalf("reason %v", r)
	}
	if p.Src != kaSrc6 || p.Dst != MulticastGroupIPv6 || p.HopLimit != 255 || len(p.Payload) != 40 {
		t.Errorf("facts %v -> %v hop %d len %d", p.Src, p.Dst, p.HopLimit, len(p.Payload))
	}
	hbh := append([]byte(nil), good...)
	hbh[6] = 0
	for _, tt := range []struct {
		name string
		b    []byte
		want Reason
	}{
		{"short", good[:39], ReasonPacketLen},
		{"payload beyond packet", good[:79], ReasonPacketLen},
		{"IPv4", caps["vrid51"], ReasonFamily},
		{"extension header", hbh, ReasonProtocol},
	} {
		if _, r := ParseIPv6(tt.b); r != tt.want {
			t.Errorf("%s: reason %v, want %v", tt.name, r, tt.want)
		}
	}
}

func TestPeekVRID(t *testing.T) {
	if v, ok := PeekVRID([]byte{0x31, 42}); !ok || v != 42 {
		t.Errorf("PeekVRID = %d %v", v, ok)
	}
	if _, ok := PeekVRID([]byte{0x31}); ok {
		t.Error("PeekVRID of 1 byte succeeded")
	}
}

func TestStrings(t *testing.T) {
	for r := Reason(0); r < NumReasons; r++ {
		if s := r.String(); s == "" || s == "unknown" {
			t.Errorf("Reason(%d) has no name", r)
		}
	}
	for c := Cause(0); c < numCauses; c++ {
		if s := c.String(); s == "" || strings.HasPrefix(s, "Cause(") {
			t.Errorf("Cause(%d) has no name", c)
		}
	}
	for s := StateInit; s <= StateStop; s++ {
		if strings.HasPrefix(s.String(), "State(") || s.Metric() < 0 {
			t.Errorf("State(%d) = %q metric %d", s, s, s.Metric())
		}
	}
	want := map[State]int{StateInit: 0, StateBackup: 1, StateMaster: 2, StateFault: 3, StateStop: 98}
	for s, m := range want {
		if s.Metric() != m {
			t.Errorf("%v.Metric() = %d, want %d", s, s.Metric(), m)
		}
	}
	if AuthPass.String() != "PASS" || AuthType(9).String() != "AuthType(9)" {
		t.Error("AuthType strings")
	}
}
