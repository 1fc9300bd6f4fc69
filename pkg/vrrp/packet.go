package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Wire constants (RFC 3768 5, RFC 5798 5).
const (
	ProtocolNumber    = 112 // IPv4 protocol / IPv6 next header of VRRP (RFC 5798 5.1.1.4)
	HeaderLen         = 8   // fixed part of a VRRP message, before the addresses
	AuthDataLen       = 8   // v2 over IPv4: authentication data after the addresses (RFC 3768 5.1)
	MaxAddrs          = 255 // the Count IPvX Addr field is 8 bits
	TTL               = 255 // sent and required TTL / hop limit (RFC 3768 7.1, RFC 5798 7.1)
	TypeAdvertisement = 1   // the only VRRP message type (RFC 5798 5.2.2)

	// MaxIntervalV2 is the largest VRRPv2 advertisement interval: 8 bits of
	// seconds (RFC 3768 5.3.7).
	MaxIntervalV2 = 255 * time.Second
	// MaxIntervalV3 is the largest VRRPv3 advertisement interval: 12 bits of
	// centiseconds (RFC 5798 5.2.7).
	MaxIntervalV3 = 4095 * centisecond

	centisecond = 10 * time.Millisecond
)

// MulticastGroupIPv4 and MulticastGroupIPv6 are the destinations of
// multicast adverts (RFC 5798 5.1.1.2, 5.1.2.2).
var (
	MulticastGroupIPv4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	MulticastGroupIPv6 = netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x12})
)

// AuthType is the VRRPv2 Auth Type field (RFC 2338 5.3.6; RFC 3768 keeps the
// field but removes authentication).
type AuthType uint8

const (
	AuthNone AuthType = 0 // no authentication
	AuthPass AuthType = 1 // simple text password (keepalived auth_type PASS)
	AuthAH   AuthType = 2 // IPsec AH (keepalived auth_type AH); lbd does not implement it
)

// String returns keepalived's keyword for the auth type.
func (a AuthType) String() string {
	switch a {
	case AuthNone:
		return "NONE"
	case AuthPass:
		return "PASS"
	case AuthAH:
		return "AH"
	}
	return fmt.Sprintf("AuthType(%d)", uint8(a))
}

// Advert is one VRRP ADVERTISEMENT, version 2 (RFC 3768 5.1) or 3 (RFC 5798
// 5.1). The address family is not a field: it is the family of the IP
// packet, given to Parse and AppendTo as src/dst.
//
// Wire layout (one row per 32 bits):
//
//	v2:  Version(4)=2 Type(4) | VRID(8) | Priority(8) | Count(8)
//	     Auth Type(8) | Adver Int(8, seconds)          | Checksum(16)
//	v3:  Version(4)=3 Type(4) | VRID(8) | Priority(8) | Count(8)
//	     Rsvd(4) | Max Adver Int(12, centiseconds)      | Checksum(16)
//	then Count addresses (4 or 16 bytes each),
//	then, v2 over IPv4 only, 8 bytes of authentication data.
//
// keepalived sends VRRPv2 over IPv6 (version 2 on an IPv6 instance, not
// strict) without the authentication data; so does this codec.
type Advert struct {
	Version  uint8 // 2 or 3
	Type     uint8 // 4 bits; TypeAdvertisement is the only valid one
	VRID     uint8
	Priority uint8 // 0: the master resigns; 255: address owner

	// AuthType is the v2 Auth Type byte; 0 in v3, which has no such field.
	AuthType AuthType
	// AuthData is the v2-over-IPv4 authentication data (the PASS password,
	// zero padded); zero otherwise.
	AuthData [AuthDataLen]byte

	// Interval is the advertisement interval: whole seconds in v2 (8 bits),
	// centiseconds in v3 (12 bits).
	Interval time.Duration

	// Addrs are the virtual addresses, all of the packet's family. Parse
	// reuses the slice's capacity.
	Addrs []netip.Addr

	// LegacyChecksum selects, for VRRPv3 over IPv4 only, the checksum
	// keepalived before 1.3.6 computed for unicast adverts: the pseudo-header
	// carries the multicast group 224.0.0.18 instead of the real destination.
	// Parse sets it when only that form matches; AppendTo honours it.
	LegacyChecksum bool
}

// addrLen is the size of one address of src's family, 0 if src is invalid.
func addrLen(src netip.Addr) int {
	switch {
	case src.Is4():
		return 4
	case src.Is6():
		return 16
	}
	return 0
}

// hasAuthData reports whether a message of this version and family carries
// the 8 bytes of v2 authentication data.
func hasAuthData(version uint8, ipv4 bool) bool { return version == 2 && ipv4 }

// MessageLen is the length of a VRRP message of this version with naddr
// addresses of the family of an address of length alen (4 or 16).
func messageLen(version uint8, naddr, alen int) int {
	n := HeaderLen + naddr*alen
	if hasAuthData(version, alen == 4) {
		n += AuthDataLen
	}
	return n
}

// Len returns the length of a's encoding for the given address family
// (ipv6 false: IPv4).
func (a *Advert) Len(ipv6 bool) int {
	alen := 4
	if ipv6 {
		alen = 16
	}
	return messageLen(a.Version, len(a.Addrs), alen)
}

// Errors returned by AppendTo for adverts that cannot be encoded.
var (
	ErrVersion  = errors.New("version not 2 or 3")
	ErrFamily   = errors.New("source and destination of different or no address family")
	ErrInterval = errors.New("interval not representable")
	ErrAddrs    = errors.New("address list not encodable")
	ErrAuth     = errors.New("authentication not encodable")
)

// Marshal returns a's encoding, with the checksum computed for a packet from
// src to dst (the pseudo-header of v3, and of every IPv6 message).
func (a *Advert) Marshal(src, dst netip.Addr) ([]byte, error) {
	alen := addrLen(src)
	return a.AppendTo(make([]byte, 0, messageLen(a.Version, len(a.Addrs), max(alen, 4))), src, dst)
}

// AppendTo appends a's encoding to b and returns the extended slice. The
// checksum is computed as keepalived does (which is RFC 3768 5.3.8 and RFC
// 5798 5.2.8): v2 over IPv4 over the message alone; v3 over IPv4 with the
// IPv4 pseudo-header (src, dst, 0, 112, length); every IPv6 message, v2
// included, with the IPv6 pseudo-header (RFC 8200 8.1). It does not allocate
// when b has room.
func (a *Advert) AppendTo(b []byte, src, dst netip.Addr) ([]byte, error) {
	if a.Version != 2 && a.Version != 3 {
		return b, fmt.Errorf("encode vrrp advert: %w: %d", ErrVersion, a.Version)
	}
	if a.Type > 0x0f {
		return b, fmt.Errorf("encode vrrp advert: type %d does not fit 4 bits", a.Type)
	}
	alen := addrLen(src)
	if alen == 0 || addrLen(dst) != alen {
		return b, fmt.Errorf("encode vrrp advert: %w: %v -> %v", ErrFamily, src, dst)
	}
	ipv4 := alen == 4
	if len(a.Addrs) > MaxAddrs {
		return b, fmt.Errorf("encode vrrp advert: %w: %d addresses, at most %d", ErrAddrs, len(a.Addrs), MaxAddrs)
	}
	for _, ad := range a.Addrs {
		if addrLen(ad) != alen || ad.Zone() != "" {
			return b, fmt.Errorf("encode vrrp advert: %w: %v in an advert from %v", ErrAddrs, ad, src)
		}
	}
	var intervalField uint16
	switch a.Version {
	case 2:
		if a.Interval < 0 || a.Interval > MaxIntervalV2 || a.Interval%time.Second != 0 {
			return b, fmt.Errorf("encode vrrp advert: %w: v2 needs whole seconds 0..255, got %v", ErrInterval, a.Interval)
		}
		intervalField = uint16(a.AuthType)<<8 | uint16(a.Interval/time.Second)
		if !ipv4 && a.AuthData != ([AuthDataLen]byte{}) {
			return b, fmt.Errorf("encode vrrp advert: %w: v2 over IPv6 carries no authentication data", ErrAuth)
		}
	case 3:
		if a.Interval < 0 || a.Interval > MaxIntervalV3 || a.Interval%centisecond != 0 {
			return b, fmt.Errorf("encode vrrp advert: %w: v3 needs centiseconds 0..4095, got %v", ErrInterval, a.Interval)
		}
		intervalField = uint16(a.Interval / centisecond)
		if a.AuthType != AuthNone || a.AuthData != ([AuthDataLen]byte{}) {
			return b, fmt.Errorf("encode vrrp advert: %w: v3 has no authentication", ErrAuth)
		}
	}
	if a.LegacyChecksum && (a.Version != 3 || !ipv4) {
		return b, fmt.Errorf("encode vrrp advert: legacy checksum applies to VRRPv3 over IPv4 only")
	}

	start := len(b)
	b = append(b,
		a.Version<<4|a.Type,
		a.VRID,
		a.Priority,
		uint8(len(a.Addrs)),
		uint8(intervalField>>8), uint8(intervalField),
		0, 0, // checksum
	)
	for _, ad := range a.Addrs {
		b = appendAddr(b, ad)
	}
	if hasAuthData(a.Version, ipv4) {
		b = append(b, a.AuthData[:]...)
	}
	msg := b[start:]
	pdst := dst
	if a.LegacyChecksum {
		pdst = MulticastGroupIPv4
	}
	binary.BigEndian.PutUint16(msg[6:8], checksum(msg, a.Version, src, pdst))
	return b, nil
}

// Parse decodes the VRRP message b of an IP packet from src to dst into adv,
// reusing adv.Addrs' capacity, and returns ReasonNone; or the reason b is not
// a well-formed advert, leaving adv unspecified. It checks only what the
// codec needs: family, length (exact, from the header's version and count),
// version 2 or 3, and checksum. The rules of one instance (VRID, type,
// priority, authentication, addresses, interval...) are Validate's.
//
// For VRRPv3 over IPv4 to a unicast destination it also accepts keepalived's
// pre-1.3.6 checksum (see Advert.LegacyChecksum). It never panics and does
// not allocate once adv.Addrs has room.
func Parse(b []byte, src, dst netip.Addr, adv *Advert) Reason {
	alen := addrLen(src)
	if alen == 0 || addrLen(dst) != alen {
		return ReasonFamily
	}
	if len(b) < HeaderLen {
		return ReasonPacketLen
	}
	version := b[0] >> 4
	if version != 2 && version != 3 {
		return ReasonVersion
	}
	if len(b) != messageLen(version, int(b[3]), alen) {
		return ReasonPacketLen
	}
	legacy, ok := verifyChecksum(b, version, src, dst, ChecksumAuto)
	if !ok {
		return ReasonChecksum
	}
	decode(b, alen, adv)
	adv.LegacyChecksum = legacy
	return ReasonNone
}

// decode fills adv from a message whose length was checked.
func decode(b []byte, alen int, adv *Advert) {
	version := b[0] >> 4
	adv.Version = version
	adv.Type = b[0] & 0x0f
	adv.VRID = b[1]
	adv.Priority = b[2]
	adv.AuthData = [AuthDataLen]byte{}
	adv.LegacyChecksum = false
	if version == 2 {
		adv.AuthType = AuthType(b[4])
		adv.Interval = time.Duration(b[5]) * time.Second
	} else {
		adv.AuthType = AuthNone
		// The 4 reserved bits are ignored on receipt (RFC 5798 5.2.6).
		adv.Interval = time.Duration(binary.BigEndian.Uint16(b[4:6])&0x0fff) * centisecond
	}
	n := int(b[3])
	adv.Addrs = adv.Addrs[:0]
	p := b[HeaderLen:]
	for i := 0; i < n; i++ {
		if alen == 4 {
			adv.Addrs = append(adv.Addrs, netip.AddrFrom4([4]byte(p[:4])))
		} else {
			adv.Addrs = append(adv.Addrs, netip.AddrFrom16([16]byte(p[:16])))
		}
		p = p[alen:]
	}
	if hasAuthData(version, alen == 4) {
		copy(adv.AuthData[:], p[:AuthDataLen])
	}
}

// PeekVRID returns the VRID of the VRRP message b, so that a receiver serving
// several instances on one socket can pick the instance before validating.
func PeekVRID(b []byte) (uint8, bool) {
	if len(b) < 2 {
		return 0, false
	}
	return b[1], true
}

// ChecksumCompat is keepalived's old_unicast_checksum knob: which IPv4
// pseudo-header destination a VRRPv3-over-IPv4 unicast advert is checksummed
// with. keepalived 1.3.6 fixed its unicast checksum to use the real
// destination (the RFC reading); its default since is ChecksumAuto.
type ChecksumCompat uint8

const (
	// ChecksumAuto (keepalived's default): send with the real destination;
	// accept either form from unicast peers, and switch to sending the old
	// form once a peer is seen using it.
	ChecksumAuto ChecksumCompat = iota
	// ChecksumStrict (old_unicast_checksum never): real destination only.
	ChecksumStrict
	// ChecksumLegacy (old_unicast_checksum): send and accept the old form
	// (pseudo-header destination 224.0.0.18) only.
	ChecksumLegacy
)

// String returns a short name of the mode.
func (c ChecksumCompat) String() string {
	switch c {
	case ChecksumAuto:
		return "auto"
	case ChecksumStrict:
		return "never"
	case ChecksumLegacy:
		return "legacy"
	}
	return fmt.Sprintf("ChecksumCompat(%d)", uint8(c))
}

// verifyChecksum checks msg's checksum under mode. legacy reports that only
// the pre-1.3.6 keepalived form matched (v3 over IPv4, unicast destination).
func verifyChecksum(msg []byte, version uint8, src, dst netip.Addr, mode ChecksumCompat) (legacy, ok bool) {
	v4v3 := version == 3 && src.Is4()
	altOK := v4v3 && dst != MulticastGroupIPv4 && !dst.IsMulticast()
	if mode == ChecksumLegacy && altOK {
		return true, checksum(msg, version, src, MulticastGroupIPv4) == 0
	}
	if checksum(msg, version, src, dst) == 0 {
		return false, true
	}
	if mode == ChecksumAuto && altOK && checksum(msg, version, src, MulticastGroupIPv4) == 0 {
		return true, true
	}
	return false, false
}

// checksum returns the Internet checksum (RFC 1071) of msg as VRRP defines
// it for this version and family: with the pseudo-header for v3 and for
// IPv6. Over a message whose checksum field is set, a result of 0 means the
// checksum is correct; over one whose field is zero, it is the value to
// store.
func checksum(msg []byte, version uint8, src, dst netip.Addr) uint16 {
	var sum uint64
	switch {
	case src.Is4() && version == 3:
		s, d := src.As4(), dst.As4()
		sum += uint64(binary.BigEndian.Uint32(s[:]))
		sum += uint64(binary.BigEndian.Uint32(d[:]))
		sum += ProtocolNumber + uint64(len(msg))
	case src.Is6():
		s, d := src.As16(), dst.As16()
		for i := 0; i < 16; i += 4 {
			sum += uint64(binary.BigEndian.Uint32(s[i:]))
			sum += uint64(binary.BigEndian.Uint32(d[i:]))
		}
		sum += uint64(len(msg)) + ProtocolNumber
	}
	return ^fold(sumBytes(sum, msg))
}

// sumBytes adds b to sum as big-endian 16-bit words (a trailing odd byte is
// padded with zero), 32 bits at a time.
func sumBytes(sum uint64, b []byte) uint64 {
	for len(b) >= 4 {
		sum += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	return sum
}

// fold reduces a one's complement sum to 16 bits.
func fold(sum uint64) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// appendAddr appends the 4 or 16 bytes of ad.
func appendAddr(b []byte, ad netip.Addr) []byte {
	if ad.Is4() {
		a4 := ad.As4()
		return append(b, a4[:]...)
	}
	a16 := ad.As16()
	return append(b, a16[:]...)
}
