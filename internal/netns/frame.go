package netns

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Ethernet types and IP protocols the decoder knows.
const (
	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806
	EtherTypeVLAN = 0x8100
	EtherTypeIPv6 = 0x86dd

	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
	ProtoVRRP   = 112
)

// Lengths of the fixed headers (RFC 826, RFC 791, RFC 8200, RFC 3768/5798,
// RFC 4861).
const (
	ethHeaderLen  = 14
	arpEthIPv4Len = 28
	ipv4MinLen    = 20
	ipv6HeaderLen = 40
	vrrpHeaderLen = 8
	vrrpAuthLen   = 8 // VRRPv2 authentication data after the addresses
	ndMinLen      = 24
)

// Frame is one captured Ethernet frame with the layers the decoder
// understood. The layer pointers are nil when absent or malformed; Data
// always holds the whole frame.
type Frame struct {
	Time     time.Time
	Outgoing bool // sent by the capturing host (PACKET_OUTGOING)
	Data     []byte

	Dst, Src  net.HardwareAddr
	EtherType uint16 // after an 802.1Q tag, if any
	VLAN      int    // 802.1Q VLAN id, -1 when untagged

	ARP  *ARP
	IP   *IP
	VRRP *VRRP
	ND   *ND
	// SrcPort and DstPort are set for TCP and UDP.
	SrcPort, DstPort uint16
}

// ARP is an Ethernet/IPv4 ARP packet (RFC 826).
type ARP struct {
	Op                   uint16 // 1 request, 2 reply
	SenderMAC, TargetMAC net.HardwareAddr
	SenderIP, TargetIP   netip.Addr
}

// Gratuitous reports an ARP whose sender and target address are equal:
// what a new VIP owner broadcasts.
func (a *ARP) Gratuitous() bool { return a.SenderIP == a.TargetIP }

// IP is an IPv4 or IPv6 header. IPv6 extension headers are not walked.
type IP struct {
	Version  int
	Src, Dst netip.Addr
	Proto    uint8 // IPv4 protocol or IPv6 next header
	TTL      uint8 // or hop limit
	Payload  []byte
}

// VRRP is a VRRP advertisement, version 2 (RFC 3768) or 3 (RFC 5798).
type VRRP struct {
	Version  int
	Type     int // 1 = advertisement
	VRID     int
	Priority int
	// AuthType is VRRPv2's authentication type (0 none, 1 simple text).
	AuthType int
	// Interval is the advertisement interval: whole seconds in v2,
	// centiseconds in v3.
	Interval time.Duration
	Checksum uint16
	Addrs    []netip.Addr
	// AuthData is VRRPv2's 8 authentication bytes.
	AuthData []byte
}

// ND is an IPv6 neighbor solicitation (135) or advertisement (136) (RFC
// 4861).
type ND struct {
	Type   int
	Target netip.Addr
	// Router, Solicited and Override are the advertisement's flags.
	Router, Solicited, Override bool
	// LinkAddr is the source (NS) or target (NA) link-layer address
	// option, nil when absent.
	LinkAddr net.HardwareAddr
}

// Unsolicited reports a neighbor advertisement that answers nobody: what a
// new IPv6 VIP owner sends.
func (n *ND) Unsolicited() bool { return n.Type == 136 && !n.Solicited }

// DecodeFrame parses an Ethernet frame. It never fails: what it cannot
// parse it leaves nil.
func DecodeFrame(b []byte) *Frame {
	f := &Frame{Data: b, VLAN: -1}
	if len(b) < ethHeaderLen {
		return f
	}
	f.Dst = net.HardwareAddr(b[0:6])
	f.Src = net.HardwareAddr(b[6:12])
	f.EtherType = binary.BigEndian.Uint16(b[12:14])
	p := b[ethHeaderLen:]
	if f.EtherType == EtherTypeVLAN && len(p) >= 4 {
		f.VLAN = int(binary.BigEndian.Uint16(p[0:2]) & 0x0fff)
		f.EtherType = binary.BigEndian.Uint16(p[2:4])
		p = p[4:]
	}
	switch f.EtherType {
	case EtherTypeARP:
		f.ARP = decodeARP(p)
	case EtherTypeIPv4:
		f.IP = decodeIPv4(p)
	case EtherTypeIPv6:
		f.IP = decodeIPv6(p)
	}
	if f.IP == nil {
		return f
	}
	pl := f.IP.Payload
	switch f.IP.Proto {
	case ProtoVRRP:
		f.VRRP = decodeVRRP(pl, f.IP.Version)
	case ProtoICMPv6:
		f.ND = decodeND(pl)
	case ProtoTCP, ProtoUDP:
		if len(pl) >= 4 {
			f.SrcPort = binary.BigEndian.Uint16(pl[0:2])
			f.DstPort = binary.BigEndian.Uint16(pl[2:4])
		}
	}
	return f
}

func decodeARP(p []byte) *ARP {
	if len(p) < arpEthIPv4Len {
		return nil
	}
	// Only Ethernet (1) / IPv4 (0x0800) with 6- and 4-byte addresses.
	if binary.BigEndian.Uint16(p[0:2]) != 1 || binary.BigEndian.Uint16(p[2:4]) != EtherTypeIPv4 || p[4] != 6 || p[5] != 4 {
		return nil
	}
	return &ARP{
		Op:        binary.BigEndian.Uint16(p[6:8]),
		SenderMAC: net.HardwareAddr(p[8:14]),
		SenderIP:  netip.AddrFrom4([4]byte(p[14:18])),
		TargetMAC: net.HardwareAddr(p[18:24]),
		TargetIP:  netip.AddrFrom4([4]byte(p[24:28])),
	}
}

func decodeIPv4(p []byte) *IP {
	if len(p) < ipv4MinLen || p[0]>>4 != 4 {
		return nil
	}
	ihl := int(p[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(p[2:4]))
	if ihl < ipv4MinLen || total < ihl || total > len(p) {
		return nil
	}
	return &IP{
		Version: 4,
		TTL:     p[8],
		Proto:   p[9],
		Src:     netip.AddrFrom4([4]byte(p[12:16])),
		Dst:     netip.AddrFrom4([4]byte(p[16:20])),
		Payload: p[ihl:total],
	}
}

func decodeIPv6(p []byte) *IP {
	if len(p) < ipv6HeaderLen || p[0]>>4 != 6 {
		return nil
	}
	plen := int(binary.BigEndian.Uint16(p[4:6]))
	if ipv6HeaderLen+plen > len(p) {
		return nil
	}
	return &IP{
		Version: 6,
		Proto:   p[6],
		TTL:     p[7],
		Src:     netip.AddrFrom16([16]byte(p[8:24])),
		Dst:     netip.AddrFrom16([16]byte(p[24:40])),
		Payload: p[ipv6HeaderLen : ipv6HeaderLen+plen],
	}
}

func decodeVRRP(p []byte, ipVersion int) *VRRP {
	if len(p) < vrrpHeaderLen {
		return nil
	}
	v := &VRRP{
		Version:  int(p[0] >> 4),
		Type:     int(p[0] & 0x0f),
		VRID:     int(p[1]),
		Priority: int(p[2]),
		Checksum: binary.BigEndian.Uint16(p[6:8]),
	}
	n := int(p[3])
	alen := 4
	switch v.Version {
	case 2:
		v.AuthType = int(p[4])
		v.Interval = time.Duration(p[5]) * time.Second
	case 3:
		v.Interval = time.Duration(binary.BigEndian.Uint16(p[4:6])&0x0fff) * 10 * time.Millisecond
		if ipVersion == 6 {
			alen = 16
		}
	default:
		return v
	}
	rest := p[vrrpHeaderLen:]
	for i := 0; i < n && len(rest) >= alen; i++ {
		a, _ := netip.AddrFromSlice(rest[:alen])
		v.Addrs = append(v.Addrs, a)
		rest = rest[alen:]
	}
	if v.Version == 2 && len(rest) >= vrrpAuthLen {
		v.AuthData = rest[:vrrpAuthLen]
	}
	return v
}

func decodeND(p []byte) *ND {
	if len(p) < ndMinLen || (p[0] != 135 && p[0] != 136) {
		return nil
	}
	n := &ND{Type: int(p[0]), Target: netip.AddrFrom16([16]byte(p[8:24]))}
	if n.Type == 136 {
		n.Router = p[4]&0x80 != 0
		n.Solicited = p[4]&0x40 != 0
		n.Override = p[4]&0x20 != 0
	}
	opts := p[ndMinLen:]
	for len(opts) >= 8 {
		typ, l := opts[0], int(opts[1])*8
		if l == 0 || l > len(opts) {
			break
		}
		if (typ == 1 || typ == 2) && l >= 8 {
			n.LinkAddr = net.HardwareAddr(opts[2:8])
		}
		opts = opts[l:]
	}
	return n
}

// String is a one-line summary, tcpdump style.
func (f *Frame) String() string {
	dir := "in "
	if f.Outgoing {
		dir = "out"
	}
	s := fmt.Sprintf("%s %s %s > %s", f.Time.Format("15:04:05.000000"), dir, f.Src, f.Dst)
	switch {
	case f.ARP != nil:
		op := "request"
		if f.ARP.Op == 2 {
			op = "reply"
		}
		return s + fmt.Sprintf(" arp %s who-has %s tell %s (%s)", op, f.ARP.TargetIP, f.ARP.SenderIP, f.ARP.SenderMAC)
	case f.VRRP != nil:
		return s + fmt.Sprintf(" %s > %s vrrpv%d vrid %d prio %d int %v addrs %v ttl %d",
			f.IP.Src, f.IP.Dst, f.VRRP.Version, f.VRRP.VRID, f.VRRP.Priority, f.VRRP.Interval, f.VRRP.Addrs, f.IP.TTL)
	case f.ND != nil:
		return s + fmt.Sprintf(" %s > %s nd type %d target %s lladdr %s", f.IP.Src, f.IP.Dst, f.ND.Type, f.ND.Target, f.ND.LinkAddr)
	case f.IP != nil:
		if f.SrcPort != 0 || f.DstPort != 0 {
			return s + fmt.Sprintf(" %s:%d > %s:%d proto %d", f.IP.Src, f.SrcPort, f.IP.Dst, f.DstPort, f.IP.Proto)
		}
		return s + fmt.Sprintf(" %s > %s proto %d", f.IP.Src, f.IP.Dst, f.IP.Proto)
	}
	return s + fmt.Sprintf(" ethertype %#04x len %d", f.EtherType, len(f.Data))
}

// Filter selects frames.
type Filter func(*Frame) bool

// Frame filters for Capture and WaitFor.
var (
	IsVRRP Filter = func(f *Frame) bool { return f.VRRP != nil }
	IsARP  Filter = func(f *Frame) bool { return f.ARP != nil }
	IsND   Filter = func(f *Frame) bool { return f.ND != nil }
	// IsAnnounce matches gratuitous ARPs and unsolicited neighbor
	// advertisements.
	IsAnnounce Filter = func(f *Frame) bool {
		return f.ARP != nil && f.ARP.Gratuitous() || f.ND != nil && f.ND.Unsolicited()
	}
)

// FromMAC matches frames whose Ethernet source is mac.
func FromMAC(mac net.HardwareAddr) Filter {
	s := mac.String()
	return func(f *Frame) bool { return f.Src.String() == s }
}

// And matches frames every filter matches.
func And(fs ...Filter) Filter {
	return func(f *Frame) bool {
		for _, x := range fs {
			if !x(f) {
				return false
			}
		}
		return true
	}
}
