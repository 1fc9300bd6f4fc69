package vrrp

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// The receive configs matching the keepalived captures, as seen by a peer
// (local address 10.250.0.2 / fe80::ff:fe00:b).
func rxV2Pass() RxConfig {
	rc := RxConfig{Version: 2, VRID: 52, Family: FamilyIPv4, AuthType: AuthPass, Interval: 2 * time.Second,
		VIPs: []netip.Addr{netip.MustParseAddr("198.51.100.20")}, LocalAddr: kaPeer4}
	copy(rc.AuthData[:], "lbdtest")
	return rc
}

func rxV3() RxConfig {
	return RxConfig{Version: 3, VRID: 53, Family: FamilyIPv4, Interval: 500 * time.Millisecond,
		VIPs:      []netip.Addr{netip.MustParseAddr("203.0.113.30"), netip.MustParseAddr("203.0.113.31"), netip.MustParseAddr("203.0.113.32")},
		LocalAddr: kaPeer4}
}

func rxV6() RxConfig {
	return RxConfig{Version: 3, VRID: 54, Family: FamilyIPv6, Interval: 250 * time.Millisecond,
		VIPs:      []netip.Addr{netip.MustParseAddr("fe80::54"), netip.MustParseAddr("2001:db8::54")},
		LocalAddr: netip.MustParseAddr("fe80::ff:fe00:b")}
}

func rxUnicast() RxConfig {
	return RxConfig{Version: 3, VRID: 55, Family: FamilyIPv4, Interval: time.Second,
		VIPs:         []netip.Addr{netip.MustParseAddr("192.0.2.55")},
		UnicastPeers: []UnicastPeer{{Addr: kaSrc4, MinTTL: 0, MaxTTL: 255}},
		LocalAddr:    kaPeer4}
}

func TestValidateKeepalivedCaptures(t *testing.T) {
	caps := captures(t)
	for _, tt := range []struct {
		capture string
		rc      RxConfig
		prio    uint8
	}{
		{"vrid52", rxV2Pass(), 200},
		{"vrid52-prio0", rxV2Pass(), 0},
		{"vrid53", rxV3(), 100},
		{"vrid54", rxV6(), 254},
		{"vrid55", rxUnicast(), 1},
		{"vrid55-prio0", rxUnicast(), 0},
	} {
		p := captured(t, caps, tt.capture)
		var adv Advert
		if r := Validate(&tt.rc, p, &adv); r != ReasonNone {
			t.Errorf("%s: %v", tt.capture, r)
			continue
		}
		if adv.Priority != tt.prio || adv.VRID != tt.rc.VRID || len(adv.Addrs) != len(tt.rc.VIPs) {
			t.Errorf("%s: decoded %+v", tt.capture, adv)
		}
	}
}

// pkt builds a packet from a (checksummed for src -> dst); mod may then
// change bytes, after which the checksum is recomputed unless keepSum.
func pkt(t *testing.T, a Advert, src, dst netip.Addr, hop int, mod func(b []byte), keepSum bool) Packet {
	t.Helper()
	b, err := a.Marshal(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(b)
		if !keepSum && len(b) >= HeaderLen {
			fixSum(b, src, dst)
		}
	}
	return Packet{Src: src, Dst: dst, HopLimit: hop, Payload: b}
}

func fixSum(b []byte, src, dst netip.Addr) {
	b[6], b[7] = 0, 0
	binary.BigEndian.PutUint16(b[6:8], checksum(b, b[0]>>4, src, dst))
}

func advFor(rc RxConfig, prio uint8) Advert {
	a := Advert{Version: rc.Version, Type: 1, VRID: rc.VRID, Priority: prio, Interval: rc.Interval,
		Addrs: append([]netip.Addr(nil), rc.VIPs...)}
	if rc.Version == 2 {
		a.AuthType = rc.AuthType
		if rc.Family == FamilyIPv4 {
			a.AuthData = rc.AuthData
		}
	}
	return a
}

func TestValidateV2(t *testing.T) {
	rc := rxV2Pass()
	g := MulticastGroupIPv4
	good := advFor(rc, 150)
	with := func(f func(a *Advert)) Advert {
		a := good
		a.Addrs = append([]netip.Addr(nil), good.Addrs...)
		f(&a)
		return a
	}
	other := netip.MustParseAddr("198.51.100.21")
	tests := []struct {
		name string
		p    Packet
		rc   func(rc *RxConfig)
		want Reason
	}{
		{"good", pkt(t, good, kaSrc4, g, 255, nil, false), nil, ReasonNone},
		{"unknown hop limit", pkt(t, good, kaSrc4, g, -1, nil, false), nil, ReasonNone},
		{"priority 0", pkt(t, with(func(a *Advert) { a.Priority = 0 }), kaSrc4, g, 255, nil, false), nil, ReasonNone},
		{"1 family: IPv6 source", Packet{Src: kaSrc6, Dst: g, HopLimit: 255, Payload: pkt(t, good, kaSrc4, g, 255, nil, false).Payload}, nil, ReasonFamily},
		{"1 family: no destination", Packet{Src: kaSrc4, HopLimit: 255, Payload: pkt(t, good, kaSrc4, g, 255, nil, false).Payload}, nil, ReasonFamily},
		{"2 short", Packet{Src: kaSrc4, Dst: g, HopLimit: 255, Payload: []byte{0x21, 52, 1}}, nil, ReasonPacketLen},
		{"3 VRID", pkt(t, with(func(a *Advert) { a.VRID = 53 }), kaSrc4, g, 255, nil, false), nil, ReasonVRIDUnknown},
		{"4 length: trailing byte", Packet{Src: kaSrc4, Dst: g, HopLimit: 255, Payload: append(pkt(t, good, kaSrc4, g, 255, nil, false).Payload, 0)}, nil, ReasonPacketLen},
		{"4 length: count says 2", pkt(t, good, kaSrc4, g, 255, func(b []byte) { b[3] = 2 }, false), nil, ReasonPacketLen},
		{"5 TTL 254", pkt(t, good, kaSrc4, g, 254, nil, false), nil, ReasonIPTTL},
		{"6 version 3", pkt(t, with(func(a *Advert) { a.Version = 3; a.AuthType = 0; a.AuthData = [8]byte{} }), kaSrc4, g, 255, nil, false), nil, ReasonVersion},
		{"7a auth type 3", pkt(t, good, kaSrc4, g, 255, func(b []byte) { b[4] = 3 }, false), nil, ReasonInvalidAuthType},
		{"7b auth type none", pkt(t, with(func(a *Advert) { a.AuthType = AuthNone }), kaSrc4, g, 255, nil, false), nil, ReasonAuthTypeMismatch},
		{"7b auth type AH", pkt(t, with(func(a *Advert) { a.AuthType = AuthAH }), kaSrc4, g, 255, nil, false), nil, ReasonAuthTypeMismatch},
		{"7c password", pkt(t, with(func(a *Advert) { a.AuthData[0] = 'L' }), kaSrc4, g, 255, nil, false), nil, ReasonAuthFailure},
		{"7d interval", pkt(t, with(func(a *Advert) { a.Interval = time.Second }), kaSrc4, g, 255, nil, false), nil, ReasonAdvertInterval},
		{"8 type 2", pkt(t, with(func(a *Advert) { a.Type = 2 }), kaSrc4, g, 255, nil, false), nil, ReasonInvalidType},
		{"9 count 2", pkt(t, with(func(a *Advert) { a.Addrs = append(a.Addrs, other) }), kaSrc4, g, 255, nil, false), nil, ReasonAddrList},
		{"10 checksum", pkt(t, good, kaSrc4, g, 255, func(b []byte) { b[6] ^= 1 }, true), nil, ReasonChecksum},
		{"11 unicast destination", pkt(t, good, kaSrc4, kaPeer4, 255, nil, false), nil, ReasonAddrList},
		{"12 own address", pkt(t, good, kaPeer4, g, 255, nil, false), nil, ReasonOwnAddress},
		{"14 other VIP", pkt(t, with(func(a *Advert) { a.Addrs = []netip.Addr{other} }), kaSrc4, g, 255, nil, false), nil, ReasonAddrList},
		{"14 skipped for the known master", pkt(t, with(func(a *Advert) { a.Addrs = []netip.Addr{other} }), kaSrc4, g, 255, nil, false),
			func(rc *RxConfig) { rc.SkipAddrCheckFrom = kaSrc4 }, ReasonNone},
		{"9 skipped for the known master", pkt(t, with(func(a *Advert) { a.Addrs = nil }), kaSrc4, g, 255, nil, false),
			func(rc *RxConfig) { rc.SkipAddrCheckFrom = kaSrc4 }, ReasonNone},
		{"14 not skipped for another sender", pkt(t, with(func(a *Advert) { a.Addrs = []netip.Addr{other} }), kaSrc4, g, 255, nil, false),
			func(rc *RxConfig) { rc.SkipAddrCheckFrom = netip.MustParseAddr("10.250.0.3") }, ReasonAddrList},

		// Order: the first failing check is the reason.
		{"order: VRID before length", pkt(t, with(func(a *Advert) { a.VRID = 1 }), kaSrc4, g, 255, func(b []byte) { b[3] = 9 }, false), nil, ReasonVRIDUnknown},
		{"order: length before TTL", Packet{Src: kaSrc4, Dst: g, HopLimit: 1, Payload: append(pkt(t, good, kaSrc4, g, 255, nil, false).Payload, 0)}, nil, ReasonPacketLen},
		{"order: TTL before version", pkt(t, with(func(a *Advert) { a.Version = 3; a.AuthType = 0; a.AuthData = [8]byte{} }), kaSrc4, g, 1, nil, false), nil, ReasonIPTTL},
		{"order: auth before type", pkt(t, with(func(a *Advert) { a.Type = 2; a.AuthData[0] = 0 }), kaSrc4, g, 255, nil, false), nil, ReasonAuthFailure},
		{"order: interval before type", pkt(t, with(func(a *Advert) { a.Type = 2; a.Interval = time.Second }), kaSrc4, g, 255, nil, false), nil, ReasonAdvertInterval},
		{"order: type before checksum", pkt(t, with(func(a *Advert) { a.Type = 2 }), kaSrc4, g, 255, func(b []byte) { b[6] ^= 1 }, true), nil, ReasonInvalidType},
		{"order: count before checksum", pkt(t, with(func(a *Advert) { a.Addrs = append(a.Addrs, other) }), kaSrc4, g, 255, func(b []byte) { b[6] ^= 1 }, true), nil, ReasonAddrList},
		{"order: checksum before own address", pkt(t, good, kaPeer4, g, 255, func(b []byte) { b[6] ^= 1 }, true), nil, ReasonChecksum},
		{"order: own address before VIP list", pkt(t, with(func(a *Advert) { a.Addrs = []netip.Addr{other} }), kaPeer4, g, 255, nil, false), nil, ReasonOwnAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := rxV2Pass()
			if tt.rc != nil {
				tt.rc(&rc)
			}
			var adv Advert
			if got := Validate(&rc, tt.p, &adv); got != tt.want {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidateV3(t *testing.T) {
	g := MulticastGroupIPv4
	rc := rxV3()
	good := advFor(rc, 100)
	tests := []struct {
		name string
		rc   RxConfig
		p    Packet
		want Reason
	}{
		{"good", rc, pkt(t, good, kaSrc4, g, 255, nil, false), ReasonNone},
		{"other interval is learned, not rejected", rc, pkt(t, func() Advert { a := good; a.Interval = 3 * time.Second; return a }(), kaSrc4, g, 255, nil, false), ReasonNone},
		{"interval 0", rc, pkt(t, func() Advert { a := good; a.Interval = 0; return a }(), kaSrc4, g, 255, nil, false), ReasonAdvertInterval},
		{"v2 for a v3 instance", rc, pkt(t, func() Advert { a := good; a.Version = 2; a.Interval = time.Second; return a }(), kaSrc4, g, 255, nil, false), ReasonVersion},
		{"checksum without pseudo-header", rc, pkt(t, good, kaSrc4, g, 255, func(b []byte) {
			b[6], b[7] = 0, 0
			binary.BigEndian.PutUint16(b[6:], checksum(b, 2, kaSrc4, g))
		}, true), ReasonChecksum},
		{"VIPs in another order", rc, pkt(t, func() Advert {
			a := good
			a.Addrs = []netip.Addr{good.Addrs[2], good.Addrs[0], good.Addrs[1]}
			return a
		}(), kaSrc4, g, 255, nil, false), ReasonNone},
		{"a VIP twice, one missing", rc, pkt(t, func() Advert {
			a := good
			a.Addrs = []netip.Addr{good.Addrs[0], good.Addrs[0], good.Addrs[1]}
			return a
		}(), kaSrc4, g, 255, nil, false), ReasonAddrList},
		{"IPv6 hop limit", rxV6(), pkt(t, advFor(rxV6(), 50), kaSrc6, MulticastGroupIPv6, 64, nil, false), ReasonIPTTL},
		{"IPv6 good", rxV6(), pkt(t, advFor(rxV6(), 50), kaSrc6, MulticastGroupIPv6, 255, nil, false), ReasonNone},
		{"IPv6 checksum", rxV6(), pkt(t, advFor(rxV6(), 50), kaSrc6, MulticastGroupIPv6, 255, func(b []byte) { b[7] ^= 0x80 }, true), ReasonChecksum},
		{"IPv6 packet for IPv4 instance", rc, pkt(t, advFor(rxV6(), 50), kaSrc6, MulticastGroupIPv6, 255, nil, false), ReasonFamily},
		{"source outside the allowed senders", func() RxConfig {
			rc := rxV3()
			rc.AllowedSenders = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
			return rc
		}(), pkt(t, good, kaSrc4, g, 255, nil, false), ReasonSenderNotAllowed},
		{"source inside the allowed senders", func() RxConfig {
			rc := rxV3()
			rc.AllowedSenders = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.PrefixFrom(kaSrc4, 32)}
			return rc
		}(), pkt(t, good, kaSrc4, g, 255, nil, false), ReasonNone},
		{"allowed senders skipped for the known master", func() RxConfig {
			rc := rxV3()
			rc.AllowedSenders = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
			rc.SkipAddrCheckFrom = kaSrc4
			return rc
		}(), pkt(t, good, kaSrc4, g, 255, nil, false), ReasonNone},
		{"IPv4-mapped source", rxV6(), Packet{Src: netip.MustParseAddr("::ffff:10.0.0.1"), Dst: MulticastGroupIPv6, HopLimit: 255,
			Payload: pkt(t, advFor(rxV6(), 50), kaSrc6, MulticastGroupIPv6, 255, nil, false).Payload}, ReasonFamily},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var adv Advert
			if got := Validate(&tt.rc, tt.p, &adv); got != tt.want {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidateUnicast(t *testing.T) {
	good := advFor(rxUnicast(), 1)
	legacy := good
	legacy.LegacyChecksum = true
	stranger := netip.MustParseAddr("10.250.0.7")
	tests := []struct {
		name       string
		mod        func(rc *RxConfig)
		p          Packet
		want       Reason
		wantLegacy bool
	}{
		{"good", nil, pkt(t, good, kaSrc4, kaPeer4, 255, nil, false), ReasonNone, false},
		{"TTL not checked for unicast", nil, pkt(t, good, kaSrc4, kaPeer4, 61, nil, false), ReasonNone, false},
		{"multicast on a unicast instance", nil, pkt(t, good, kaSrc4, MulticastGroupIPv4, 255, nil, false), ReasonAddrList, false},
		{"stranger accepted without check_unicast_src", nil, pkt(t, good, stranger, kaPeer4, 255, nil, false), ReasonNone, false},
		{"stranger with check_unicast_src", func(rc *RxConfig) { rc.CheckUnicastSrc = true }, pkt(t, good, stranger, kaPeer4, 255, nil, false), ReasonSenderNotAllowed, false},
		{"peer with check_unicast_src", func(rc *RxConfig) { rc.CheckUnicastSrc = true }, pkt(t, good, kaSrc4, kaPeer4, 64, nil, false), ReasonNone, false},
		{"peer below min_ttl", func(rc *RxConfig) { rc.CheckUnicastSrc = true; rc.UnicastPeers[0].MinTTL = 250 }, pkt(t, good, kaSrc4, kaPeer4, 64, nil, false), ReasonIPTTL, false},
		{"peer above max_ttl", func(rc *RxConfig) { rc.CheckUnicastSrc = true; rc.UnicastPeers[0].MaxTTL = 10 }, pkt(t, good, kaSrc4, kaPeer4, 64, nil, false), ReasonIPTTL, false},
		{"legacy checksum, auto", nil, pkt(t, legacy, kaSrc4, kaPeer4, 255, nil, false), ReasonNone, true},
		{"legacy checksum, never", func(rc *RxConfig) { rc.ChecksumCompat = ChecksumStrict }, pkt(t, legacy, kaSrc4, kaPeer4, 255, nil, false), ReasonChecksum, false},
		{"legacy checksum, legacy", func(rc *RxConfig) { rc.ChecksumCompat = ChecksumLegacy }, pkt(t, legacy, kaSrc4, kaPeer4, 255, nil, false), ReasonNone, true},
		{"RFC checksum, legacy", func(rc *RxConfig) { rc.ChecksumCompat = ChecksumLegacy }, pkt(t, good, kaSrc4, kaPeer4, 255, nil, false), ReasonChecksum, false},
		{"stranger outside the allowed senders", func(rc *RxConfig) { rc.AllowedSenders = []netip.Prefix{netip.MustParsePrefix("10.250.0.0/30")} },
			pkt(t, good, stranger, kaPeer4, 255, nil, false), ReasonSenderNotAllowed, false},
		{"stranger inside the allowed senders", func(rc *RxConfig) { rc.AllowedSenders = []netip.Prefix{netip.MustParsePrefix("10.250.0.0/29")} },
			pkt(t, good, stranger, kaPeer4, 255, nil, false), ReasonNone, false},
		{"check_unicast_src takes precedence over the allowed senders", func(rc *RxConfig) {
			rc.CheckUnicastSrc = true
			rc.AllowedSenders = []netip.Prefix{netip.MustParsePrefix("10.250.0.0/24")}
		}, pkt(t, good, stranger, kaPeer4, 255, nil, false), ReasonSenderNotAllowed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := rxUnicast()
			rc.UnicastPeers = append([]UnicastPeer(nil), rc.UnicastPeers...)
			if tt.mod != nil {
				tt.mod(&rc)
			}
			var adv Advert
			got := Validate(&rc, tt.p, &adv)
			if got != tt.want {
				t.Fatalf("Validate = %v, want %v", got, tt.want)
			}
			if got == ReasonNone && adv.LegacyChecksum != tt.wantLegacy {
				t.Errorf("LegacyChecksum = %v, want %v", adv.LegacyChecksum, tt.wantLegacy)
			}
		})
	}
}

func TestValidateDoesNotAllocate(t *testing.T) {
	caps := captures(t)
	for _, tt := range []struct {
		capture string
		rc      RxConfig
	}{
		{"vrid52", rxV2Pass()},
		{"vrid53", rxV3()},
		{"vrid54", rxV6()},
	} {
		p := captured(t, caps, tt.capture)
		adv := Advert{Addrs: make([]netip.Addr, 0, 4)}
		if n := testing.AllocsPerRun(100, func() {
			if r := Validate(&tt.rc, p, &adv); r != ReasonNone {
				t.Fatal(r)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per Validate", tt.capture, n)
		}
	}
}
