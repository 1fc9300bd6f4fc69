package netutil

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"
)

// Frame lengths, without Ethernet padding or FCS (the kernel adds neither
// on a packet socket, and keepalived sends these lengths too).
const (
	// GARPFrameLen is Ethernet (14) + ARP for IPv4 over Ethernet (28,
	// RFC 826).
	GARPFrameLen = 14 + 28
	// NAFrameLen is Ethernet (14) + IPv6 (40) + Neighbor Advertisement
	// (24, RFC 4861 4.4) + target link-layer address option (8, RFC 4861
	// 4.6.1).
	NAFrameLen = 14 + 40 + 24 + 8
)

const (
	etherTypeARP  = 0x0806
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86dd

	arpHardwareEthernet = 1
	arpOpRequest        = 1

	protoICMPv6       = 58
	icmp6NeighborAdv  = 136
	ndOptTargetLLAddr = 2
	naFlagRouter      = 0x80
	naFlagOverride    = 0x20
	ndHopLimit        = 255
	naPayloadLen      = 24 + 8
	ethAddrLen        = 6
	ipv4AddrLen       = 4
	ethHeaderLen      = 14
	ipv6HeaderLen     = 40
	naChecksumOffset  = ethHeaderLen + ipv6HeaderLen + 2
	naICMPv6Offset    = ethHeaderLen + ipv6HeaderLen
)

var (
	ethBroadcast = [ethAddrLen]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	// allNodes is ff02::1 and allNodesMAC its Ethernet mapping
	// 33:33:00:00:00:01 (RFC 2464 7).
	allNodes    = [16]byte{0: 0xff, 1: 0x02, 15: 0x01}
	allNodesMAC = [ethAddrLen]byte{0x33, 0x33, 0, 0, 0, 0x01}
)

// AppendGARP appends to b a gratuitous ARP for ip from mac, in
// keepalived's form (vrrp_arp.c): an ARP request broadcast on Ethernet,
// sender and target protocol address both ip, sender hardware address
// mac, target hardware address ff:ff:ff:ff:ff:ff. It allocates nothing
// when b has GARPFrameLen bytes of room.
func AppendGARP(b []byte, mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	if len(mac) != ethAddrLen {
		return b, fmt.Errorf("build gratuitous arp: mac %v is not ethernet", mac)
	}
	if !ip.Is4() {
		return b, fmt.Errorf("build gratuitous arp: %v is not ipv4", ip)
	}
	a := ip.As4()
	// Ethernet: destination, source, type.
	b = append(b, ethBroadcast[:]...)
	b = append(b, mac...)
	b = binary.BigEndian.AppendUint16(b, etherTypeARP)
	// ARP: hardware type, protocol type, lengths, operation.
	b = binary.BigEndian.AppendUint16(b, arpHardwareEthernet)
	b = binary.BigEndian.AppendUint16(b, etherTypeIPv4)
	b = append(b, ethAddrLen, ipv4AddrLen)
	b = binary.BigEndian.AppendUint16(b, arpOpRequest)
	// Sender hardware and protocol address, target hardware and protocol
	// address.
	b = append(b, mac...)
	b = append(b, a[:]...)
	b = append(b, ethBroadcast[:]...)
	b = append(b, a[:]...)
	return b, nil
}

// AppendUnsolicitedNA appends to b an unsolicited Neighbor Advertisement
// for ip from mac (RFC 4861 7.2.6), in keepalived's form (vrrp_ndisc.c):
// IPv6 source ip itself, destination ff02::1, hop limit 255, Override set,
// Solicited clear, Router as given, target ip, a target link-layer address
// option with mac, ICMPv6 checksum over the pseudo-header. It allocates
// nothing when b has NAFrameLen bytes of room.
func AppendUnsolicitedNA(b []byte, mac net.HardwareAddr, ip netip.Addr, router bool) ([]byte, error) {
	if len(mac) != ethAddrLen {
		return b, fmt.Errorf("build neighbor advertisement: mac %v is not ethernet", mac)
	}
	if !ip.Is6() || ip.Is4In6() {
		return b, fmt.Errorf("build neighbor advertisement: %v is not ipv6", ip)
	}
	start := len(b)
	a := ip.As16()
	// Ethernet.
	b = append(b, allNodesMAC[:]...)
	b = append(b, mac...)
	b = binary.BigEndian.AppendUint16(b, etherTypeIPv6)
	// IPv6: version 6, traffic class 0, flow label 0; payload length, next
	// header, hop limit; source; destination.
	b = append(b, 0x60, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, naPayloadLen)
	b = append(b, protoICMPv6, ndHopLimit)
	b = append(b, a[:]...)
	b = append(b, allNodes[:]...)
	// ICMPv6 Neighbor Advertisement: type, code, checksum (below), flags
	// and reserved, target address.
	flags := byte(naFlagOverride)
	if router {
		flags |= naFlagRouter
	}
	b = append(b, icmp6NeighborAdv, 0, 0, 0, flags, 0, 0, 0)
	b = append(b, a[:]...)
	// Target link-layer address option: type, length in units of 8 bytes.
	b = append(b, ndOptTargetLLAddr, 1)
	b = append(b, mac...)

	f := b[start:]
	sum := pseudoHeaderSum(a, allNodes, naPayloadLen, protoICMPv6)
	sum = onesSum(sum, f[naICMPv6Offset:])
	binary.BigEndian.PutUint16(f[naChecksumOffset:], foldSum(sum))
	return b, nil
}

// pseudoHeaderSum is the one's complement sum of the IPv6 pseudo-header
// (RFC 8200 8.1).
func pseudoHeaderSum(src, dst [16]byte, length uint32, next byte) uint32 {
	sum := onesSum(0, src[:])
	sum = onesSum(sum, dst[:])
	sum += length>>16 + length&0xffff
	sum += uint32(next)
	return sum
}

// onesSum adds b, as big-endian 16-bit words, to sum (RFC 1071).
func onesSum(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

// foldSum folds the carries and complements: the Internet checksum.
func foldSum(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// RouterFlag chooses the Router flag of the Neighbor Advertisements an
// Announcer sends.
type RouterFlag uint8

// The Router flag choices.
const (
	// RouterAuto sets it when IPv6 forwarding is on for the interface
	// when the Announcer opens, as keepalived does.
	RouterAuto RouterFlag = iota
	RouterOff
	RouterOn
)

// String returns "auto", "off" or "on".
func (r RouterFlag) String() string {
	switch r {
	case RouterAuto:
		return "auto"
	case RouterOff:
		return "off"
	case RouterOn:
		return "on"
	}
	return fmt.Sprintf("router_flag(%d)", uint8(r))
}

// AnnouncerOptions configures an Announcer. IfIndex is required.
type AnnouncerOptions struct {
	IfIndex int
	// MAC is the source and announced link-layer address; nil means the
	// interface's (a VMAC interface has its own).
	MAC net.HardwareAddr
	// Router sets the NA Router flag.
	Router RouterFlag
	// Host looks up the interface; nil: the calling thread's namespace.
	Host *Host
}

// Announcer sends gratuitous ARPs and unsolicited Neighbor Advertisements
// on one interface through one packet socket, opened with protocol 0 so it
// never receives. Safe for concurrent use; a send allocates nothing.
type Announcer struct {
	ifindex int
	mac     net.HardwareAddr
	router  bool

	mu     sync.Mutex
	fd     int // -1 once closed
	buf    []byte
	sllARP unix.SockaddrLinklayer
	sllNA  unix.SockaddrLinklayer
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// OpenAnnouncer opens an announcer in the calling thread's network
// namespace.
func OpenAnnouncer(opts AnnouncerOptions) (*Announcer, error) {
	path := fmt.Sprintf("open announcer on ifindex %d", opts.IfIndex)
	if opts.IfIndex <= 0 {
		return nil, fmt.Errorf("%s: no interface index", path)
	}
	link, err := opts.Host.LinkByIndex(opts.IfIndex)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	mac := opts.MAC
	if mac == nil {
		mac = link.MAC
	}
	if len(mac) != ethAddrLen {
		return nil, fmt.Errorf("%s: mac %v is not ethernet", path, mac)
	}
	router := opts.Router == RouterOn
	if opts.Router == RouterAuto {
		router, err = IPv6Forwarding(link.Name)
		if errors.Is(err, fs.ErrNotExist) {
			router, err = false, nil // IPv6 disabled: no NA will be sent anyway
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: packet socket: %w", path, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: opts.IfIndex}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: bind: %w", path, err)
	}
	a := &Announcer{
		ifindex: opts.IfIndex,
		mac:     append(net.HardwareAddr(nil), mac...),
		router:  router,
		fd:      fd,
		buf:     make([]byte, 0, max(GARPFrameLen, NAFrameLen)),
		sllARP: unix.SockaddrLinklayer{
			Protocol: htons(etherTypeARP), Ifindex: opts.IfIndex, Halen: ethAddrLen,
			Addr: [8]byte(append(ethBroadcast[:], 0, 0)),
		},
		sllNA: unix.SockaddrLinklayer{
			Protocol: htons(etherTypeIPv6), Ifindex: opts.IfIndex, Halen: ethAddrLen,
			Addr: [8]byte(append(allNodesMAC[:], 0, 0)),
		},
	}
	return a, nil
}

// MAC returns the link-layer address announced.
func (a *Announcer) MAC() net.HardwareAddr { return a.mac }

// Router reports the Router flag of the NAs sent.
func (a *Announcer) Router() bool { return a.router }

// Announce sends a gratuitous ARP for an IPv4 ip, an unsolicited NA for an
// IPv6 one.
func (a *Announcer) Announce(ip netip.Addr) error {
	if ip.Is4() {
		return a.GratuitousARP(ip)
	}
	return a.UnsolicitedNA(ip)
}

// GratuitousARP sends one gratuitous ARP for ip.
func (a *Announcer) GratuitousARP(ip netip.Addr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := AppendGARP(a.buf[:0], a.mac, ip)
	if err != nil {
		return err
	}
	return a.send(f, &a.sllARP, "gratuitous arp", ip)
}

// UnsolicitedNA sends one unsolicited Neighbor Advertisement for ip.
func (a *Announcer) UnsolicitedNA(ip netip.Addr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := AppendUnsolicitedNA(a.buf[:0], a.mac, ip, a.router)
	if err != nil {
		return err
	}
	return a.send(f, &a.sllNA, "neighbor advertisement", ip)
}

// send writes f; the caller holds mu. MSG_DONTWAIT: a full device queue is
// an error to report, not a reason to stall a VRRP transition.
func (a *Announcer) send(f []byte, to *unix.SockaddrLinklayer, what string, ip netip.Addr) error {
	if a.fd < 0 {
		return fmt.Errorf("send %s for %v on ifindex %d: %w", what, ip, a.ifindex, net.ErrClosed)
	}
	if err := unix.Sendto(a.fd, f, unix.MSG_DONTWAIT, to); err != nil {
		return fmt.Errorf("send %s for %v on ifindex %d: %w", what, ip, a.ifindex, err)
	}
	return nil
}

// Close closes the socket. Later sends fail with net.ErrClosed.
func (a *Announcer) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fd < 0 {
		return nil
	}
	err := unix.Close(a.fd)
	a.fd = -1
	return err
}
