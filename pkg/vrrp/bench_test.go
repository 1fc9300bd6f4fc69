package vrrp

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func BenchmarkMarshal(b *testing.B) {
	for _, i := range []int{0, 2, 3} {
		g := goldens()[i]
		b.Run(g.name, func(b *testing.B) {
			buf := make([]byte, 0, 128)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = g.adv.AppendTo(buf[:0], g.src, g.dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	for _, i := range []int{0, 2, 3} {
		g := goldens()[i]
		msg := bytes.Join(g.wire, nil)
		b.Run(g.name, func(b *testing.B) {
			adv := Advert{Addrs: make([]netip.Addr, 0, 4)}
			b.ReportAllocs()
			for b.Loop() {
				if r := Parse(msg, g.src, g.dst, &adv); r != ReasonNone {
					b.Fatal(r)
				}
			}
		})
	}
}

// BenchmarkValidate is the Go receive path of one advert: parse and
// validate into a caller-provided Advert.
func BenchmarkValidate(b *testing.B) {
	caps := captures(&testing.T{})
	for _, tt := range []struct {
		name    string
		capture string
		rc      RxConfig
	}{
		{"v2 IPv4 PASS", "vrid52", rxV2Pass()},
		{"v3 IPv4 3 VIPs", "vrid53", rxV3()},
		{"v3 IPv6 2 VIPs", "vrid54", rxV6()},
	} {
		raw := caps[tt.capture]
		var p Packet
		if raw[0]>>4 == 4 {
			p, _ = ParseIPv4(raw)
		} else {
			p, _ = ParseIPv6(raw)
		}
		b.Run(tt.name, func(b *testing.B) {
			adv := Advert{Addrs: make([]netip.Addr, 0, 4)}
			b.ReportAllocs()
			for b.Loop() {
				if r := Validate(&tt.rc, p, &adv); r != ReasonNone {
					b.Fatal(r)
				}
			}
		})
		if raw[0]>>4 == 4 {
			b.Run(tt.name+" from raw IPv4", func(b *testing.B) {
				adv := Advert{Addrs: make([]netip.Addr, 0, 4)}
				b.ReportAllocs()
				for b.Loop() {
					p, r := ParseIPv4(raw)
					if r == ReasonNone {
						r = Validate(&tt.rc, p, &adv)
					}
					if r != ReasonNone {
						b.Fatal(r)
					}
				}
			})
		}
	}
	// The address list check is quadratic, as keepalived's: its cost for
	// large lists.
	for _, n := range []int{20, 89, 255} {
		b.Run(fmt.Sprintf("v3 IPv4 %d VIPs", n), func(b *testing.B) {
			rc := RxConfig{Version: 3, VRID: 9, Family: FamilyIPv4, LocalAddr: kaPeer4}
			for i := range n {
				rc.VIPs = append(rc.VIPs, netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
			}
			a := advFor(rc, 100)
			a.Interval = time.Second
			msg, err := a.Marshal(kaSrc4, MulticastGroupIPv4)
			if err != nil {
				b.Fatal(err)
			}
			p := Packet{Src: kaSrc4, Dst: MulticastGroupIPv4, HopLimit: 255, Payload: msg}
			adv := Advert{Addrs: make([]netip.Addr, 0, n)}
			b.ReportAllocs()
			for b.Loop() {
				if r := Validate(&rc, p, &adv); r != ReasonNone {
					b.Fatal(r)
				}
			}
		})
	}
}

// BenchmarkHandleAdvert is a backup following its master: the state
// machine's steady-state cost per advert.
func BenchmarkHandleAdvert(b *testing.B) {
	in, err := NewInstance(testConfig(nil), Options{LocalAddr: addrA})
	if err != nil {
		b.Fatal(err)
	}
	in.Start(t0)
	a := adv(in, 200, 0)
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		if acts := in.HandleAdvert(now, addrB, a); acts != nil {
			b.Fatal(acts)
		}
	}
}

// BenchmarkMasterTick is a master's adver timer.
func BenchmarkMasterTick(b *testing.B) {
	in, err := NewInstance(testConfig(func(c *Config) { c.Priority = 255; c.GARP.MasterDelay = 0 }), Options{LocalAddr: addrA})
	if err != nil {
		b.Fatal(err)
	}
	in.Start(t0)
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		if acts := in.Tick(now); len(acts) != 1 {
			b.Fatal(acts)
		}
	}
}
