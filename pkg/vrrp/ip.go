package vrrp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IP header lengths.
const (
	IPv4HeaderLen = 20 // without options
	IPv6HeaderLen = 40

	ipProtoAH = 51 // IPsec AH: how keepalived's auth_type AH peers send VRRPv2
)

// ParseIPv4 splits a whole IPv4 packet, as a raw IPPROTO_VRRP socket
// delivers it (header included) or as a capture holds it, into the facts
// Validate needs. Bytes after the header's Total Length are link padding and
// are ignored. It checks, in order:
//
//   - at least 20 bytes, version 4, IHL >= 5 and the header (options
//     included; options are skipped) within b            -> ReasonPacketLen
//     (version other than 4                                -> ReasonFamily)
//   - Total Length >= IHL*4 and <= len(b)                  -> ReasonPacketLen
//   - not a fragment (MF set or offset != 0)               -> ReasonFragment
//   - protocol 112; 51 (AH, keepalived auth_type AH)       -> ReasonAuthTypeMismatch,
//     anything else                                        -> ReasonProtocol
//
// The header checksum is not verified: the kernel drops bad headers before a
// raw socket sees them, and the XDP program passes them to the kernel.
// The returned Packet's Payload aliases b.
func ParseIPv4(b []byte) (Packet, Reason) {
	if len(b) < IPv4HeaderLen {
		return Packet{}, ReasonPacketLen
	}
	if b[0]>>4 != 4 {
		return Packet{}, ReasonFamily
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < IPv4HeaderLen || ihl > len(b) {
		return Packet{}, ReasonPacketLen
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if total < ihl || total > len(b) {
		return Packet{}, ReasonPacketLen
	}
	if frag := binary.BigEndian.Uint16(b[6:8]); frag&0x2000 != 0 || frag&0x1fff != 0 {
		return Packet{}, ReasonFragment
	}
	switch b[9] {
	case ProtocolNumber:
	case ipProtoAH:
		return Packet{}, ReasonAuthTypeMismatch
	default:
		return Packet{}, ReasonProtocol
	}
	return Packet{
		Src:      netip.AddrFrom4([4]byte(b[12:16])),
		Dst:      netip.AddrFrom4([4]byte(b[16:20])),
		HopLimit: int(b[8]),
		Payload:  b[ihl:total],
	}, ReasonNone
}

// ParseIPv6 splits a whole IPv6 packet (a capture, or what the XDP program
// sees; raw IPv6 sockets deliver only the payload, with the hop limit and
// destination as ancillary data) into the facts Validate needs. It checks: at
// least 40 bytes and version 6 (else ReasonPacketLen / ReasonFamily), the
// payload within b (ReasonPacketLen), and a next header of 112
// (ReasonProtocol: extension headers are not walked here). Bytes after the
// Payload Length are ignored. The returned Payload aliases b.
func ParseIPv6(b []byte) (Packet, Reason) {
	if len(b) < IPv6HeaderLen {
		return Packet{}, ReasonPacketLen
	}
	if b[0]>>4 != 6 {
		return Packet{}, ReasonFamily
	}
	plen := int(binary.BigEndian.Uint16(b[4:6]))
	if IPv6HeaderLen+plen > len(b) {
		return Packet{}, ReasonPacketLen
	}
	if b[6] != ProtocolNumber {
		return Packet{}, ReasonProtocol
	}
	return Packet{
		Src:      netip.AddrFrom16([16]byte(b[8:24])),
		Dst:      netip.AddrFrom16([16]byte(b[24:40])),
		HopLimit: int(b[7]),
		Payload:  b[IPv6HeaderLen : IPv6HeaderLen+plen],
	}, ReasonNone
}

// IPHeader holds the fields AppendIPv4 and AppendIPv6 take. Everything else
// is fixed as keepalived sends it: IPv4 DSCP/ECN (TOS) 0xc0 (internetwork
// control), no options, DF clear, protocol 112; IPv6 traffic class 0xc0, next
// header 112, no extension headers.
type IPHeader struct {
	Src, Dst  netip.Addr
	TTL       uint8  // TTL / hop limit: 255 for multicast; unicast_ttl for unicast
	ID        uint16 // IPv4 identification; 0 lets the kernel choose under IP_HDRINCL
	FlowLabel uint32 // IPv6 flow label (20 bits)
}

// tosNetworkControl is the TOS / traffic class keepalived sends adverts
// with (precedence 6, internetwork control).
const tosNetworkControl = 0xc0

// AppendIPv4 appends an IPv4 header for msg, then msg, and returns the
// extended slice: a packet ready for a raw socket with IP_HDRINCL (the
// kernel rewrites the checksum, and the ID when 0). Building the header in
// userspace, as keepalived does, lets one socket send with any configured
// source (mcast_src_ip / unicast_src_ip) and TTL (unicast_ttl).
func AppendIPv4(b []byte, h IPHeader, msg []byte) ([]byte, error) {
	if !h.Src.Is4() || !h.Dst.Is4() {
		return b, fmt.Errorf("build ipv4 header: %v -> %v is not IPv4", h.Src, h.Dst)
	}
	total := IPv4HeaderLen + len(msg)
	if total > 0xffff {
		return b, fmt.Errorf("build ipv4 header: packet of %d bytes too long", total)
	}
	start := len(b)
	b = append(b,
		0x45, tosNetworkControl,
		uint8(total>>8), uint8(total),
		uint8(h.ID>>8), uint8(h.ID),
		0, 0, // flags, fragment offset
		h.TTL, ProtocolNumber,
		0, 0, // header checksum
	)
	b = appendAddr(b, h.Src)
	b = appendAddr(b, h.Dst)
	hdr := b[start:]
	binary.BigEndian.PutUint16(hdr[10:12], ^fold(sumBytes(0, hdr)))
	return append(b, msg...), nil
}

// AppendIPv6 appends an IPv6 header for msg, then msg. lbd's runtime sends
// IPv6 adverts through a raw socket that builds the header itself; this is
// for tests and for building frames the XDP program is tested with.
func AppendIPv6(b []byte, h IPHeader, msg []byte) ([]byte, error) {
	if !h.Src.Is6() || !h.Dst.Is6() || h.Src.Is4In6() || h.Dst.Is4In6() {
		return b, fmt.Errorf("build ipv6 header: %v -> %v is not IPv6", h.Src, h.Dst)
	}
	if len(msg) > 0xffff {
		return b, fmt.Errorf("build ipv6 header: payload of %d bytes too long", len(msg))
	}
	vtf := uint32(6)<<28 | uint32(tosNetworkControl)<<20 | h.FlowLabel&0xfffff
	b = binary.BigEndian.AppendUint32(b, vtf)
	b = binary.BigEndian.AppendUint16(b, uint16(len(msg)))
	b = append(b, ProtocolNumber, h.TTL)
	b = appendAddr(b, h.Src)
	b = appendAddr(b, h.Dst)
	return append(b, msg...), nil
}
