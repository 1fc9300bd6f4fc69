package netns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"
)

// ownerSettle is how long WhoHas keeps listening after the first answer, to
// catch a second owner (two masters for one VIP).
const ownerSettle = 250 * time.Millisecond

// WhoHas asks, from ifname of this host, which link-layer addresses own
// addr: an ARP request for IPv4, a neighbor solicitation for IPv6, sent
// from a raw socket (the host's neighbor cache is neither used nor
// needed). It resends every 300ms until an answer comes or timeout
// passes, listens a little longer for other answers, and returns every
// distinct MAC that answered. More than one means a split brain.
func (h *Host) WhoHas(ifname, addr string, timeout time.Duration) ([]net.HardwareAddr, error) {
	target, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, fmt.Errorf("who-has %q: %w", addr, err)
	}
	target = target.Unmap()
	l, err := h.link(ifname)
	if err != nil {
		return nil, err
	}
	mac := l.Attrs().HardwareAddr
	addrs, err := h.addrs(ifname)
	if err != nil {
		return nil, err
	}
	var req []byte
	if target.Is4() {
		src := netip.IPv4Unspecified()
		for _, p := range addrs {
			if p.Addr().Is4() {
				src = p.Addr()
				break
			}
		}
		req = arpRequest(mac, src, target)
	} else {
		src := netip.IPv6Unspecified()
		for _, p := range addrs {
			if p.Addr().Is6() && p.Addr().IsLinkLocalUnicast() {
				src = p.Addr()
				break
			}
		}
		req = neighborSolicitation(mac, src, target)
	}
	s, err := h.openPacket(ifname)
	if err != nil {
		return nil, err
	}
	defer s.Close()

	type answer struct {
		mac net.HardwareAddr
		err error
	}
	answers := make(chan answer, 16)
	stop := make(chan struct{})
	defer close(stop)
	post := func(a answer) bool {
		select {
		case answers <- a:
			return true
		case <-stop:
			return false
		}
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, out, err := s.recv(buf)
			if err != nil {
				post(answer{err: err})
				return
			}
			if n == 0 || out {
				continue
			}
			f := DecodeFrame(buf[:n])
			var m net.HardwareAddr
			switch {
			case f.ARP != nil && f.ARP.Op == 2 && f.ARP.SenderIP == target:
				m = f.ARP.SenderMAC
			case f.ND != nil && f.ND.Type == 136 && f.ND.Target == target:
				m = f.ND.LinkAddr
				if m == nil {
					m = f.Src
				}
			default:
				continue
			}
			if !post(answer{mac: append(net.HardwareAddr(nil), m...)}) {
				return
			}
		}
	}()

	var got []net.HardwareAddr
	seen := map[string]bool{}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	resend := time.NewTicker(300 * time.Millisecond)
	defer resend.Stop()
	var settle <-chan time.Time
	if err := s.send(req); err != nil {
		return nil, fmt.Errorf("who-has %s on %s:%s: send: %w", addr, h.name, ifname, err)
	}
	for {
		select {
		case a := <-answers:
			if a.err != nil {
				if errors.Is(a.err, os.ErrClosed) {
					return got, nil
				}
				return got, fmt.Errorf("who-has %s on %s:%s: %w", addr, h.name, ifname, a.err)
			}
			if !seen[a.mac.String()] {
				seen[a.mac.String()] = true
				got = append(got, a.mac)
			}
			if settle == nil {
				settle = time.After(ownerSettle)
			}
		case <-settle:
			return got, nil
		case <-resend.C:
			if settle == nil {
				s.send(req)
			}
		case <-deadline.C:
			if len(got) > 0 {
				return got, nil
			}
			return nil, fmt.Errorf("who-has %s on %s:%s: no answer in %v", addr, h.name, ifname, timeout)
		}
	}
}

// Owner returns the one MAC that answers for addr on ifname's link (see
// WhoHas), and fails when nobody or more than one host answers.
func (h *Host) Owner(ifname, addr string, timeout time.Duration) (net.HardwareAddr, error) {
	macs, err := h.WhoHas(ifname, addr, timeout)
	if err != nil {
		return nil, err
	}
	if len(macs) != 1 {
		return nil, fmt.Errorf("who-has %s: %d owners answer: %v", addr, len(macs), macs)
	}
	return macs[0], nil
}

// arpRequest builds a broadcast ARP request (RFC 826) for target.
func arpRequest(mac net.HardwareAddr, src, target netip.Addr) []byte {
	b := make([]byte, ethHeaderLen+arpEthIPv4Len)
	copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:], EtherTypeARP)
	p := b[ethHeaderLen:]
	binary.BigEndian.PutUint16(p[0:], 1) // Ethernet
	binary.BigEndian.PutUint16(p[2:], EtherTypeIPv4)
	p[4], p[5] = 6, 4
	binary.BigEndian.PutUint16(p[6:], 1) // request
	copy(p[8:14], mac)
	s4, t4 := src.As4(), target.As4()
	copy(p[14:18], s4[:])
	copy(p[24:28], t4[:])
	return b
}

// neighborSolicitation builds a neighbor solicitation (RFC 4861 4.3) for
// target, sent to its solicited-node multicast group. With an unspecified
// source it carries no source link-layer option, and the owner answers to
// all-nodes.
func neighborSolicitation(mac net.HardwareAddr, src, target netip.Addr) []byte {
	t16 := target.As16()
	dst := netip.AddrFrom16([16]byte{0xff, 0x02, 10: 0, 11: 0x01, 12: 0xff, 13: t16[13], 14: t16[14], 15: t16[15]})
	icmp := make([]byte, ndMinLen)
	icmp[0] = 135
	copy(icmp[8:24], t16[:])
	if !src.IsUnspecified() {
		icmp = append(icmp, 1, 1) // source link-layer address, 8 bytes
		icmp = append(icmp, mac...)
	}
	s16, d16 := src.As16(), dst.As16()
	binary.BigEndian.PutUint16(icmp[2:], icmpv6Checksum(s16, d16, icmp))

	b := make([]byte, ethHeaderLen+ipv6HeaderLen, ethHeaderLen+ipv6HeaderLen+len(icmp))
	copy(b[0:6], []byte{0x33, 0x33, 0xff, t16[13], t16[14], t16[15]})
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:], EtherTypeIPv6)
	ip := b[ethHeaderLen:]
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], uint16(len(icmp)))
	ip[6] = ProtoICMPv6
	ip[7] = 255 // hop limit, RFC 4861 7.1.1
	copy(ip[8:24], s16[:])
	copy(ip[24:40], d16[:])
	return append(b, icmp...)
}

// icmpv6Checksum is the ICMPv6 checksum over the IPv6 pseudo-header (RFC
// 8200 8.1) and msg, whose checksum field is zero.
func icmpv6Checksum(src, dst [16]byte, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src[:])
	add(dst[:])
	var l [8]byte
	binary.BigEndian.PutUint32(l[0:], uint32(len(msg)))
	l[7] = ProtoICMPv6
	add(l[:])
	add(msg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
