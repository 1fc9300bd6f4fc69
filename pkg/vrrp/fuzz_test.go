package vrrp

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fuzzAddrs picks the packet's addresses from two flags.
func fuzzAddrs(v6, unicast bool) (src, dst netip.Addr) {
	switch {
	case v6 && unicast:
		return kaSrc6, netip.MustParseAddr("fe80::ff:fe00:b")
	case v6:
		return kaSrc6, MulticastGroupIPv6
	case unicast:
		return kaSrc4, kaPeer4
	}
	return kaSrc4, MulticastGroupIPv4
}

func addSeeds(f *testing.F) {
	for _, g := range goldens() {
		f.Add(bytes.Join(g.wire, nil), g.src.Is6(), g.dst.IsValid() && !g.dst.IsMulticast(), false)
	}
	f.Add([]byte{}, false, false, false)
	f.Add([]byte{0x31, 1, 1, 0, 0, 1, 0, 0}, false, false, true)
}

// fuzzBytes returns b, with its checksum recomputed when fix is set, so
// that the fuzzer also explores what lies behind the checksum check.
func fuzzBytes(b []byte, fix bool, src, dst netip.Addr) []byte {
	if !fix || len(b) < HeaderLen {
		return b
	}
	b = append([]byte(nil), b...)
	fixSum(b, src, dst)
	return b
}

// FuzzParse: Parse never panics, and what it accepts marshals back to the
// same advert and, but for the v3 reserved bits, the same bytes.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte, v6, unicast, fix bool) {
		src, dst := fuzzAddrs(v6, unicast)
		b = fuzzBytes(b, fix, src, dst)
		var a Advert
		if Parse(b, src, dst, &a) != ReasonNone {
			return
		}
		out, err := a.Marshal(src, dst)
		if err != nil {
			t.Fatalf("Marshal of a parsed advert %+v: %v", a, err)
		}
		var back Advert
		if r := Parse(out, src, dst, &back); r != ReasonNone {
			t.Fatalf("Parse of our own encoding: %v", r)
		}
		if diff := cmp.Diff(a, back, cmpNet); diff != "" {
			t.Fatalf("parse -> marshal -> parse (-first +second):\n%s", diff)
		}
		in := append([]byte(nil), b...)
		if a.Version == 3 {
			in[4] &= 0x0f // reserved bits are not kept
		}
		in[6], in[7], out[6], out[7] = 0, 0, 0, 0 // 0x0000 and 0xffff are both valid
		if !bytes.Equal(in, out) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, out)
		}
	})
}

// FuzzValidate: Validate never panics, and what it accepts is consistent
// with the instance's rules.
func FuzzValidate(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte, v6, unicast, fix bool) {
		src, dst := fuzzAddrs(v6, unicast)
		b = fuzzBytes(b, fix, src, dst)
		rcs := []RxConfig{rxV2Pass(), rxV3(), rxV6(), rxUnicast()}
		for i := range rcs {
			rc := &rcs[i]
			for _, hop := range []int{255, 64, -1} {
				var a Advert
				if Validate(rc, Packet{Src: src, Dst: dst, HopLimit: hop, Payload: b}, &a) != ReasonNone {
					continue
				}
				if a.VRID != rc.VRID || a.Version != rc.Version || a.Type != TypeAdvertisement || len(a.Addrs) != len(rc.VIPs) {
					t.Fatalf("accepted %+v for %+v", a, rc)
				}
				var p Advert
				if r := Parse(b, src, dst, &p); r != ReasonNone {
					t.Fatalf("Validate accepted what Parse rejects: %v", r)
				}
			}
		}
	})
}

// FuzzParseIP: the IP splitters never panic and return payloads inside b.
func FuzzParseIP(f *testing.F) {
	for _, g := range goldens() {
		msg := bytes.Join(g.wire, nil)
		if g.src.Is4() {
			b, _ := AppendIPv4(nil, IPHeader{Src: g.src, Dst: g.dst, TTL: 255}, msg)
			f.Add(b)
		} else {
			b, _ := AppendIPv6(nil, IPHeader{Src: g.src, Dst: g.dst, TTL: 255}, msg)
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, parse := range []func([]byte) (Packet, Reason){ParseIPv4, ParseIPv6} {
			p, r := parse(b)
			if r != ReasonNone {
				continue
			}
			if len(p.Payload) > len(b) || !p.Src.IsValid() || !p.Dst.IsValid() || p.HopLimit < 0 || p.HopLimit > 255 {
				t.Fatalf("bad split %+v of %x", p, b)
			}
			var a Advert
			Validate(&RxConfig{Version: 3, VRID: 53, Family: familyOf(p.Src)}, p, &a)
		}
	})
}
