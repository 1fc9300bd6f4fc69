package netutil

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// The golden frames are what Debian's keepalived 2.2.7 put on the wire for
// a VIP 10.77.0.100 and fd77::100 on an interface with MAC
// c2:6d:dc:34:ce:07 (captured with tcpdump in a network namespace).
var (
	kaMAC  = net.HardwareAddr{0xc2, 0x6d, 0xdc, 0x34, 0xce, 0x07}
	kaVIP4 = netip.MustParseAddr("10.77.0.100")
	kaVIP6 = netip.MustParseAddr("fd77::100")
	kaGARP = cat(
		[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // Ethernet destination: broadcast
		kaMAC,                  // Ethernet source
		[]byte{0x08, 0x06},     // EtherType ARP
		[]byte{0x00, 0x01},     // hardware type Ethernet
		[]byte{0x08, 0x00},     // protocol type IPv4
		[]byte{6, 4},           // address lengths
		[]byte{0x00, 0x01},     // operation: request
		kaMAC,                  // sender hardware address
		[]byte{10, 77, 0, 100}, // sender protocol address: the VIP
		[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // target hardware address
		[]byte{10, 77, 0, 100},                     // target protocol address: the VIP
	)
	kaNA = cat(
		[]byte{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}, // Ethernet destination: ff02::1's
		kaMAC,                                    // Ethernet source
		[]byte{0x86, 0xdd},                       // EtherType IPv6
		[]byte{0x60, 0, 0, 0},                    // version 6, traffic class 0, flow label 0
		[]byte{0x00, 0x20},                       // payload length 32
		[]byte{58, 255},                          // next header ICMPv6, hop limit 255
		kaVIP6.AsSlice(),                         // source: the VIP
		netip.MustParseAddr("ff02::1").AsSlice(), // destination: all nodes
		[]byte{136, 0},                           // type Neighbor Advertisement, code 0
		[]byte{0xed, 0x05},                       // checksum
		[]byte{0x20, 0, 0, 0},                    // flags: Override
		kaVIP6.AsSlice(),                         // target address
		[]byte{2, 1},                             // option: target link-layer address, 8 bytes
		kaMAC,
	)
)

func TestAppendGARPGolden(t *testing.T) {
	got, err := AppendGARP(nil, kaMAC, kaVIP4)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(kaGARP, got); diff != "" {
		t.Fatalf("gratuitous arp (-keepalived +ours):\n%s", diff)
	}
	if len(got) != GARPFrameLen {
		t.Fatalf("len %d, want GARPFrameLen %d", len(got), GARPFrameLen)
	}
	// Appends after what is there.
	got, _ = AppendGARP([]byte{1, 2}, kaMAC, kaVIP4)
	if diff := cmp.Diff(cat([]byte{1, 2}, kaGARP), got); diff != "" {
		t.Fatalf("append after a prefix:\n%s", diff)
	}
}

func TestAppendUnsolicitedNAGolden(t *testing.T) {
	got, err := AppendUnsolicitedNA(nil, kaMAC, kaVIP6, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(kaNA, got); diff != "" {
		t.Fatalf("neighbor advertisement (-keepalived +ours):\n%s", diff)
	}
	if len(got) != NAFrameLen {
		t.Fatalf("len %d, want NAFrameLen %d", len(got), NAFrameLen)
	}
	if !icmp6ChecksumOK(got[14:]) {
		t.Fatal("checksum does not verify")
	}

	// Router flag: the flags byte changes, the checksum follows.
	got, err = AppendUnsolicitedNA([]byte{9}, kaMAC, kaVIP6, true)
	if err != nil {
		t.Fatal(err)
	}
	got = got[1:]
	want := bytes.Clone(kaNA)
	want[14+40+4] = 0xa0 // Router | Override
	want[14+40+2], want[14+40+3] = got[14+40+2], got[14+40+3]
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("router flag (-want +got):\n%s", diff)
	}
	if !icmp6ChecksumOK(got[14:]) {
		t.Fatal("checksum with router flag does not verify")
	}
}

// icmp6ChecksumOK verifies an IPv6 packet's ICMPv6 checksum the long way:
// the one's complement sum of pseudo-header and message must be 0xffff.
func icmp6ChecksumOK(pkt []byte) bool {
	payload := pkt[40:]
	var words []uint16
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			words = append(words, uint16(b[i])<<8|uint16(b[i+1]))
		}
		if len(b)%2 == 1 {
			words = append(words, uint16(b[len(b)-1])<<8)
		}
	}
	add(pkt[8:24])  // source
	add(pkt[24:40]) // destination
	add([]byte{0, 0, byte(len(payload) >> 8), byte(len(payload)), 0, 0, 0, 58})
	add(payload)
	var sum uint32
	for _, w := range words {
		sum += uint32(w)
		sum = sum&0xffff + sum>>16
	}
	return sum == 0xffff
}

func TestAppendFramesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func() ([]byte, error)
	}{
		{"garp ipv6", func() ([]byte, error) { return AppendGARP(nil, kaMAC, kaVIP6) }},
		{"garp zero ip", func() ([]byte, error) { return AppendGARP(nil, kaMAC, netip.Addr{}) }},
		{"garp short mac", func() ([]byte, error) { return AppendGARP(nil, kaMAC[:5], kaVIP4) }},
		{"garp infiniband mac", func() ([]byte, error) { return AppendGARP(nil, make(net.HardwareAddr, 20), kaVIP4) }},
		{"na ipv4", func() ([]byte, error) { return AppendUnsolicitedNA(nil, kaMAC, kaVIP4, false) }},
		{"na mapped ipv4", func() ([]byte, error) {
			return AppendUnsolicitedNA(nil, kaMAC, netip.AddrFrom16(kaVIP4.As16()), false)
		}},
		{"na nil mac", func() ([]byte, error) { return AppendUnsolicitedNA(nil, nil, kaVIP6, false) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.f()
			if err == nil {
				t.Fatalf("no error, frame %x", got)
			}
			if len(got) != 0 {
				t.Fatalf("appended %d bytes on error", len(got))
			}
		})
	}
}

func TestAppendFramesAllocateNothing(t *testing.T) {
	buf := make([]byte, 0, NAFrameLen)
	if n := testing.AllocsPerRun(100, func() { AppendGARP(buf, kaMAC, kaVIP4) }); n != 0 {
		t.Errorf("AppendGARP: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { AppendUnsolicitedNA(buf, kaMAC, kaVIP6, true) }); n != 0 {
		t.Errorf("AppendUnsolicitedNA: %v allocations", n)
	}
}

func TestEnumStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{FamilyIPv4.String(), "ipv4"},
		{FamilyIPv6.String(), "ipv6"},
		{Family(9).String(), "family(9)"},
		{RouterAuto.String(), "auto"},
		{RouterOff.String(), "off"},
		{RouterOn.String(), "on"},
		{RouterFlag(7).String(), "router_flag(7)"},
		{AddResultAdded.String(), "added"},
		{AddResultPresent.String(), "present"},
		{AddResultForeign.String(), "foreign"},
		{AddResult(0).String(), "add_result(0)"},
		{EventLink.String(), "link"},
		{EventLinkDeleted.String(), "link_deleted"},
		{EventAddrAdded.String(), "addr_added"},
		{EventAddrRemoved.String(), "addr_removed"},
		{EventResync.String(), "resync"},
		{EventKind(0).String(), "event(0)"},
		{ScopeGlobal.String(), "global"},
		{ScopeSite.String(), "site"},
		{ScopeLink.String(), "link"},
		{ScopeHost.String(), "host"},
		{ScopeNowhere.String(), "nowhere"},
		{Scope(42).String(), "42"},
		{Lifetime{}.String(), "default"},
		{LifetimeForever().String(), "forever"},
		{LifetimeSeconds(0).String(), "0"},
		{LifetimeSeconds(30).String(), "30"},
	} {
		if tc.got != tc.want {
			t.Errorf("String() = %q, want %q", tc.got, tc.want)
		}
	}
}

func BenchmarkAppendGARP(b *testing.B) {
	buf := make([]byte, 0, GARPFrameLen)
	b.ReportAllocs()
	for b.Loop() {
		AppendGARP(buf, kaMAC, kaVIP4)
	}
}

func BenchmarkAppendUnsolicitedNA(b *testing.B) {
	buf := make([]byte, 0, NAFrameLen)
	b.ReportAllocs()
	for b.Loop() {
		AppendUnsolicitedNA(buf, kaMAC, kaVIP6, false)
	}
}
