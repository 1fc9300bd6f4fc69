package vrrp

import (
	"crypto/subtle"
	"encoding/binary"
	"net/netip"
	"time"
)

// Packet is what the receive path knows about one received VRRP packet,
// whichever way it came: ParseIPv4 / ParseIPv6 of a whole packet, or a raw
// IPv6 socket's payload plus its IPV6_HOPLIMIT and IPV6_PKTINFO ancillary
// data.
type Packet struct {
	Src, Dst netip.Addr // IP source and destination
	// HopLimit is the IPv4 TTL or IPv6 hop limit, or -1 when the receive path
	// could not learn it (then it is not checked, as in keepalived).
	HopLimit int
	Payload  []byte // the VRRP message
}

// RxConfig is the receive side of one instance: everything Validate compares
// a packet with. Instance keeps one; the XDP loader fills its BPF maps from
// the same values.
type RxConfig struct {
	Version  uint8
	VRID     uint8
	Family   Family
	AuthType AuthType          // v2
	AuthData [AuthDataLen]byte // v2 PASS password, zero padded
	Interval time.Duration     // v2: must equal the advert's
	VIPs     []netip.Addr      // the advertised addresses

	// UnicastPeers non-empty means unicast mode: the destination must be
	// unicast and the TTL is not required to be 255.
	UnicastPeers    []UnicastPeer
	CheckUnicastSrc bool // the source must be one of UnicastPeers, within its TTL range
	// AllowedSenders, when not empty, are the prefixes a source must be
	// in (lbd_vrrp_allowed_senders); not checked where CheckUnicastSrc
	// applies (unicast peers are stricter).
	AllowedSenders []netip.Prefix
	LocalAddr      netip.Addr // our source address: adverts from it are our own
	ChecksumCompat ChecksumCompat

	// SkipAddrCheckFrom, when valid, exempts adverts from that source from
	// the address-list and unicast-source checks (keepalived
	// skip_check_adv_addr: while BACKUP, Instance sets it to the master it
	// last accepted).
	SkipAddrCheckFrom netip.Addr
}

// Validate decides whether p is an advert this instance accepts. On success
// it decodes the advert into adv (reusing adv.Addrs' capacity; no allocation
// once it has room) and returns ReasonNone; otherwise it returns the first
// failing check's Reason, to be counted, and adv is unspecified. It never
// panics, whatever p holds.
//
// The checks follow keepalived 2.2.7's receive path (vrrp_scheduler.c
// vrrp_dispatcher_read, then vrrp.c vrrp_check_packet) in its order. The XDP
// program must apply the same rules in the same order (bpf/vrrp.h). The
// first failing check is the reason (metric label on the right):
//
//	 1  Src and Dst valid addresses of rc.Family                 family
//	 2  the message holds the 8-byte header                      packet_len
//	 3  VRID == rc.VRID (keepalived: the instance lookup)        vrid_unknown
//	 4  length == 8 + count*(4|16), +8 auth data when the
//	    header's version is 2 and the family IPv4; exactly       packet_len
//	 5  no unicast peers: TTL / hop limit == 255 (unless
//	    unknown, HopLimit -1)                                    ip_ttl
//	 6  version == rc.Version                                    version
//	 7  v2 only:
//	    a  auth type is 0, 1 or 2                                invalid_authtype
//	    b  auth type == rc.AuthType                              authtype_mismatch
//	    c  PASS over IPv4: the last 8 bytes == rc.AuthData
//	       (constant-time compare)                               auth_failure
//	    d  interval (s) == rc.Interval (keepalived drops these
//	       silently, "to prevent concurrent VRID running")       advert_interval
//	 8  type == 1 (ADVERTISEMENT)                                invalid_type
//	 9  [addr] count == len(rc.VIPs)                             addr_list
//	10  checksum: v2/IPv4 over the message; v3/IPv4 with the
//	    IPv4 pseudo-header (src, dst, 0, 112, length), for
//	    unicast also dst 224.0.0.18 per rc.ChecksumCompat;
//	    IPv6 (v2 or v3) with the IPv6 pseudo-header
//	    (keepalived lets the kernel check it, IPV6_CHECKSUM)     checksum
//	11  destination multicast iff no unicast peers
//	    (keepalived counts it as addr_list_err)                  addr_list
//	12  Src != rc.LocalAddr (lbd: our own advert echoed, or a
//	    duplicate address; keepalived only logs it)              own_address
//	13  v3: interval != 0 (lbd: a backup learning 0 would take
//	    over at once; keepalived accepts it)                     advert_interval
//	14  [addr] every address of rc.VIPs is in the advert
//	    (with 9: the same multiset for distinct VIPs)            addr_list
//	15  [addr] unicast peers and rc.CheckUnicastSrc:
//	    Src is a peer                                            sender_not_allowed
//	    and the TTL, if known, within its [min_ttl, max_ttl]     ip_ttl
//	    otherwise, with rc.AllowedSenders (an lbd extension):
//	    Src is in one of them                                    sender_not_allowed
//
// "[addr]" checks are skipped when Src == rc.SkipAddrCheckFrom. The v3
// interval is not compared: the backup adopts the master's (RFC 5798 6.4.2).
// Priority 0 is valid. A packet for an instance in INIT or FAULT is no
// rejection: keepalived ignores it uncounted, and so does the runtime.
func Validate(rc *RxConfig, p Packet, adv *Advert) Reason {
	alen := 4
	if rc.Family == FamilyIPv6 {
		alen = 16
	}
	if addrLen(p.Src) != alen || addrLen(p.Dst) != alen || p.Src.Is4In6() || p.Dst.Is4In6() {
		return ReasonFamily
	}
	b := p.Payload
	if len(b) < HeaderLen {
		return ReasonPacketLen
	}
	if b[1] != rc.VRID {
		return ReasonVRIDUnknown
	}
	version := b[0] >> 4
	naddr := int(b[3])
	if len(b) != messageLen(version, naddr, alen) {
		return ReasonPacketLen
	}
	unicast := len(rc.UnicastPeers) > 0
	if !unicast && p.HopLimit >= 0 && p.HopLimit != TTL {
		return ReasonIPTTL
	}
	if version != rc.Version {
		return ReasonVersion
	}
	if version == 2 {
		at := AuthType(b[4])
		if at > AuthAH {
			return ReasonInvalidAuthType
		}
		if at != rc.AuthType {
			return ReasonAuthTypeMismatch
		}
		if at == AuthPass && alen == 4 {
			if subtle.ConstantTimeCompare(b[len(b)-AuthDataLen:], rc.AuthData[:]) != 1 {
				return ReasonAuthFailure
			}
		}
		if time.Duration(b[5])*time.Second != rc.Interval {
			return ReasonAdvertInterval
		}
	}
	if b[0]&0x0f != TypeAdvertisement {
		return ReasonInvalidType
	}
	checkAddrs := !rc.SkipAddrCheckFrom.IsValid() || p.Src != rc.SkipAddrCheckFrom
	if checkAddrs && naddr != len(rc.VIPs) {
		return ReasonAddrList
	}
	mode := rc.ChecksumCompat
	if !unicast {
		mode = ChecksumStrict // the fallback is for unicast peers only
	}
	legacy, ok := verifyChecksum(b, version, p.Src, p.Dst, mode)
	if !ok {
		return ReasonChecksum
	}
	if p.Dst.IsMulticast() == unicast {
		return ReasonAddrList
	}
	if p.Src == rc.LocalAddr {
		return ReasonOwnAddress
	}
	if version == 3 && binary.BigEndian.Uint16(b[4:6])&0x0fff == 0 {
		return ReasonAdvertInterval
	}
	if checkAddrs {
		if !hasAllAddrs(b[HeaderLen:HeaderLen+naddr*alen], alen, rc.VIPs) {
			return ReasonAddrList
		}
		if unicast && rc.CheckUnicastSrc {
			peer := -1
			for i := range rc.UnicastPeers {
				if rc.UnicastPeers[i].Addr == p.Src {
					peer = i
					break
				}
			}
			if peer < 0 {
				return ReasonSenderNotAllowed
			}
			up := &rc.UnicastPeers[peer]
			if p.HopLimit >= 0 && (p.HopLimit < int(up.MinTTL) || p.HopLimit > int(up.MaxTTL)) {
				return ReasonIPTTL
			}
		} else if len(rc.AllowedSenders) > 0 && !inPrefixes(p.Src, rc.AllowedSenders) {
			return ReasonSenderNotAllowed
		}
	}
	decode(b, alen, adv)
	adv.LegacyChecksum = legacy
	return ReasonNone
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// hasAllAddrs reports whether every address of want occurs in the packed
// address list list (as keepalived's vrrp_in_chk_vips, without decoding).
func hasAllAddrs(list []byte, alen int, want []netip.Addr) bool {
	for _, w := range want {
		found := false
		if alen == 4 {
			w4 := w.As4()
			for i := 0; i+4 <= len(list); i += 4 {
				if [4]byte(list[i:i+4]) == w4 {
					found = true
					break
				}
			}
		} else {
			w16 := w.As16()
			for i := 0; i+16 <= len(list); i += 16 {
				if [16]byte(list[i:i+16]) == w16 {
					found = true
					break
				}
			}
		}
		if !found {
			return false
		}
	}
	return true
}
