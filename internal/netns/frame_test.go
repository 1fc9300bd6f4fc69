package netns

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

// Golden frames, one field per line.
var (
	vrrpV2Frame = concat(
		[]byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12}, // dst: 224.0.0.18's MAC
		[]byte{0x00, 0x00, 0x5e, 0x00, 0x01, 0x33}, // src: VRRP virtual MAC, VRID 51
		[]byte{0x08, 0x00},                         // IPv4
		[]byte{0x45, 0xc0, 0x00, 0x28},             // v4, IHL 5, DSCP CS6, total 40
		[]byte{0x00, 0x00, 0x00, 0x00},             // id, flags, fragment
		[]byte{0xff, 0x70, 0x00, 0x00},             // TTL 255, proto 112, checksum (unchecked)
		[]byte{192, 0, 2, 1},                       // src
		[]byte{224, 0, 0, 18},                      // dst
		[]byte{0x21},                               // VRRP v2, type 1 (advertisement)
		[]byte{51},                                 // VRID
		[]byte{150},                                // priority
		[]byte{1},                                  // address count
		[]byte{1},                                  // auth type: simple text
		[]byte{1},                                  // advert interval: 1s
		[]byte{0xbe, 0xef},                         // checksum (unchecked)
		[]byte{192, 0, 2, 100},                     // VIP
		[]byte("secret\x00\x00"),                   // authentication data
	)
	vrrpV3IPv6Frame = concat(
		[]byte{0x33, 0x33, 0x00, 0x00, 0x00, 0x12}, // dst: ff02::12's MAC
		[]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}, // src
		[]byte{0x86, 0xdd},                         // IPv6
		[]byte{0x60, 0x00, 0x00, 0x00},             // v6, class, flow
		[]byte{0x00, 0x18, 112, 255},               // payload 24, next header VRRP, hop limit 255
		netip.MustParseAddr("fe80::1").AsSlice(),   // src
		netip.MustParseAddr("ff02::12").AsSlice(),  // dst
		[]byte{0x31, 52, 100, 1},                   // v3 advert, VRID 52, priority 100, 1 address
		[]byte{0x00, 0x64, 0x12, 0x34},             // max advert interval 100cs, checksum
		netip.MustParseAddr("2001:db8::100").AsSlice(),
	)
	garpFrame = concat(
		[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // broadcast
		[]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}, // src
		[]byte{0x08, 0x06},                         // ARP
		[]byte{0x00, 0x01, 0x08, 0x00, 6, 4},       // Ethernet, IPv4, lengths
		[]byte{0x00, 0x01},                         // request
		[]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}, // sender MAC
		[]byte{192, 0, 2, 100},                     // sender IP
		[]byte{0, 0, 0, 0, 0, 0},                   // target MAC
		[]byte{192, 0, 2, 100},                     // target IP = sender: gratuitous
	)
)

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestDecodeVRRPv2(t *testing.T) {
	f := DecodeFrame(vrrpV2Frame)
	if f.IP == nil || f.VRRP == nil {
		t.Fatalf("not decoded as VRRP: %v", f)
	}
	if f.Src.String() != "00:00:5e:00:01:33" || f.IP.TTL != 255 || f.IP.Dst != netip.MustParseAddr("224.0.0.18") {
		t.Fatalf("headers: %v", f)
	}
	v := f.VRRP
	if v.Version != 2 || v.Type != 1 || v.VRID != 51 || v.Priority != 150 || v.AuthType != 1 || v.Interval != time.Second {
		t.Fatalf("vrrp = %+v", v)
	}
	if len(v.Addrs) != 1 || v.Addrs[0] != netip.MustParseAddr("192.0.2.100") || string(v.AuthData) != "secret\x00\x00" {
		t.Fatalf("vrrp addrs %v auth %q", v.Addrs, v.AuthData)
	}
	if !IsVRRP(f) || IsARP(f) {
		t.Fatal("filters disagree with the decoded layers")
	}
}

func TestDecodeVRRPv3IPv6(t *testing.T) {
	f := DecodeFrame(vrrpV3IPv6Frame)
	if f.VRRP == nil {
		t.Fatalf("not decoded as VRRP: %v", f)
	}
	v := f.VRRP
	if v.Version != 3 || v.VRID != 52 || v.Priority != 100 || v.Interval != time.Second {
		t.Fatalf("vrrp = %+v", v)
	}
	if len(v.Addrs) != 1 || v.Addrs[0] != netip.MustParseAddr("2001:db8::100") {
		t.Fatalf("addrs = %v", v.Addrs)
	}
	if !f.IP.Src.IsLinkLocalUnicast() || f.IP.TTL != 255 {
		t.Fatalf("ip = %+v", f.IP)
	}
}

func TestDecodeGARP(t *testing.T) {
	f := DecodeFrame(garpFrame)
	if f.ARP == nil || !f.ARP.Gratuitous() || !IsAnnounce(f) {
		t.Fatalf("not a gratuitous ARP: %v", f)
	}
	if f.ARP.SenderIP != netip.MustParseAddr("192.0.2.100") || f.ARP.SenderMAC.String() != "02:00:00:00:00:01" {
		t.Fatalf("arp = %+v", f.ARP)
	}
}

func TestARPRequestRoundTrip(t *testing.T) {
	mac, _ := net.ParseMAC("02:00:00:00:00:07")
	b := arpRequest(mac, netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("192.0.2.100"))
	f := DecodeFrame(b)
	if f.ARP == nil || f.ARP.Op != 1 || f.ARP.TargetIP != netip.MustParseAddr("192.0.2.100") ||
		f.ARP.SenderIP != netip.MustParseAddr("192.0.2.7") || f.ARP.SenderMAC.String() != mac.String() {
		t.Fatalf("decoded %v", f)
	}
	if f.Dst.String() != "ff:ff:ff:ff:ff:ff" {
		t.Fatalf("dst %s, want broadcast", f.Dst)
	}
}

func TestNeighborSolicitationRoundTrip(t *testing.T) {
	mac, _ := net.ParseMAC("02:00:00:00:00:07")
	target := netip.MustParseAddr("2001:db8::1:abcd")
	for _, src := range []netip.Addr{netip.MustParseAddr("fe80::7"), netip.IPv6Unspecified()} {
		b := DecodeFrame(neighborSolicitation(mac, src, target))
		if b.ND == nil || b.ND.Type != 135 || b.ND.Target != target {
			t.Fatalf("src %s: decoded %v", src, b)
		}
		if b.IP.Dst != netip.MustParseAddr("ff02::1:ff01:abcd") || b.Dst.String() != "33:33:ff:01:ab:cd" || b.IP.TTL != 255 {
			t.Fatalf("src %s: solicited-node addressing wrong: %v", src, b)
		}
		if src.IsUnspecified() != (b.ND.LinkAddr == nil) {
			t.Fatalf("src %s: source link-layer option %v", src, b.ND.LinkAddr)
		}
		// A message with its checksum filled in sums to zero.
		if c := icmpv6Checksum(src.As16(), b.IP.Dst.As16(), b.IP.Payload); c != 0 {
			t.Fatalf("src %s: checksum does not verify (%#04x)", src, c)
		}
	}
}

func TestDecodeTruncated(t *testing.T) {
	for _, fr := range [][]byte{vrrpV2Frame, vrrpV3IPv6Frame, garpFrame} {
		for n := 0; n < len(fr); n++ {
			DecodeFrame(fr[:n]) // must not panic
		}
	}
}

func FuzzDecodeFrame(f *testing.F) {
	mac, _ := net.ParseMAC("02:00:00:00:00:07")
	for _, fr := range [][]byte{vrrpV2Frame, vrrpV3IPv6Frame, garpFrame,
		neighborSolicitation(mac, netip.MustParseAddr("fe80::7"), netip.MustParseAddr("2001:db8::1"))} {
		f.Add(fr)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr := DecodeFrame(b)
		_ = fr.String()
	})
}

func BenchmarkDecodeFrame(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		DecodeFrame(vrrpV2Frame)
	}
}
