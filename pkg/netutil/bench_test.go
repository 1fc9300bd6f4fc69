package netutil

import (
	"net/netip"
	"testing"
	"time"
)

// Socket benchmarks: two namespaces on a veth pair, as in the tests. They
// measure the syscall path of one advert or announcement, the kernel's
// cost included; compare with the frame-building benchmarks for the Go
// part.

func benchPair(b *testing.B) *pair {
	b.Helper()
	return newPair(b)
}

func BenchmarkVRRPWriteTo(b *testing.B) {
	for _, fam := range []Family{FamilyIPv4, FamilyIPv6} {
		b.Run(fam.String(), func(b *testing.B) {
			p := benchPair(b)
			a := openVRRP(b, p.a, VRRPOptions{IfIndex: p.aIf.Index, Family: fam})
			pkt, grp := advert4, GroupIPv4
			if fam == FamilyIPv6 {
				pkt, grp = advert6, GroupIPv6
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := a.WriteTo(pkt, grp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVRRPRoundTrip sends one advert and reads it on the other side:
// the cost of one advert through both stacks.
func BenchmarkVRRPRoundTrip(b *testing.B) {
	for _, fam := range []Family{FamilyIPv4, FamilyIPv6} {
		b.Run(fam.String(), func(b *testing.B) {
			p := benchPair(b)
			a := openVRRP(b, p.a, VRRPOptions{IfIndex: p.aIf.Index, Family: fam})
			r := openVRRP(b, p.b, VRRPOptions{IfIndex: p.bIf.Index, Family: fam})
			pkt, grp := advert4, GroupIPv4
			if fam == FamilyIPv6 {
				pkt, grp = advert6, GroupIPv6
			}
			r.SetReadDeadline(time.Now().Add(10 * time.Minute))
			buf := make([]byte, 1500)
			b.ReportAllocs()
			for b.Loop() {
				if err := a.WriteTo(pkt, grp); err != nil {
					b.Fatal(err)
				}
				if _, err := r.ReadPacket(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAnnounce(b *testing.B) {
	for _, ip := range []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("2001:db8::100")} {
		name := "garp"
		if ip.Is6() {
			name = "na"
		}
		b.Run(name, func(b *testing.B) {
			p := benchPair(b)
			a := openAnnouncer(b, p.a, AnnouncerOptions{IfIndex: p.aIf.Index, Router: RouterOff})
			b.ReportAllocs()
			for b.Loop() {
				if err := a.Announce(ip); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
