package netutil

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// ProtoVRRP is VRRP's IP protocol number (RFC 3768 5.2.4, RFC 5798 5.1.1.4).
const ProtoVRRP = 112

// Family is an IP address family.
type Family uint8

// The address families.
const (
	FamilyIPv4 Family = 4
	FamilyIPv6 Family = 6
)

// String returns "ipv4" or "ipv6".
func (f Family) String() string {
	switch f {
	case FamilyIPv4:
		return "ipv4"
	case FamilyIPv6:
		return "ipv6"
	}
	return fmt.Sprintf("family(%d)", uint8(f))
}

func (f Family) valid() bool { return f == FamilyIPv4 || f == FamilyIPv6 }

// matches reports whether a is an address of family f (IPv4-mapped IPv6
// addresses are neither).
func (f Family) matches(a netip.Addr) bool {
	switch f {
	case FamilyIPv4:
		return a.Is4()
	case FamilyIPv6:
		return a.Is6() && !a.Is4In6()
	}
	return false
}

// The VRRP multicast groups (RFC 3768 5.2.2, RFC 5798 5.1.1.2 and 5.1.2.2),
// keepalived's defaults for vrrp_mcast_group4 and vrrp_mcast_group6.
var (
	GroupIPv4 = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	GroupIPv6 = netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 0x12})
)

const (
	// vrrpTTL is the TTL / hop limit of multicast adverts (RFC 3768 5.2.3,
	// RFC 5798 5.1.1.3 and 5.1.2.3) and the default unicast_ttl.
	vrrpTTL = 255
	// vrrpTOS is the IPv4 TOS / IPv6 traffic class keepalived puts on
	// adverts (IPTOS_PREC_INTERNETCONTROL).
	vrrpTOS = 0xc0
	// oobLen holds the control messages of one received packet: IPv4
	// IP_PKTINFO, or IPv6 IPV6_PKTINFO plus IPV6_HOPLIMIT (40 + 24 bytes on
	// 64-bit), with room to spare.
	oobLen = 128
)

var (
	// ErrTruncated reports a received packet longer than the read buffer.
	// The packet is lost; count it as a length error.
	ErrTruncated = errors.New("vrrp packet longer than the read buffer")
	// ErrMalformed reports a received IPv4 packet whose header the kernel
	// should never have delivered (bad version or lengths).
	ErrMalformed = errors.New("malformed ip header on a received vrrp packet")
)

// VRRPOptions configures a VRRP socket. IfIndex and Family are required.
type VRRPOptions struct {
	// IfIndex is the interface the socket is bound to (SO_BINDTOIFINDEX):
	// it receives only what arrives there and sends only there.
	IfIndex int
	// Family is FamilyIPv4 or FamilyIPv6.
	Family Family
	// Group is the multicast group to join and send adverts to
	// (vrrp_mcast_group4/6); zero means GroupIPv4 or GroupIPv6. An IPv6
	// group must be link-local scope (ffX2::).
	Group netip.Addr
	// Source is the source address of every packet sent (mcast_src_ip or
	// unicast_src_ip). It must be local. Zero means the interface's
	// primary IPv4 address, or its IPv6 link-local address (RFC 5798
	// 5.1.2.1), looked up at open.
	Source netip.Addr
	// UnicastTTL is the TTL / hop limit of unicast packets (unicast_ttl),
	// 1 to 255; 0 means 255. keepalived accepts 0, which the kernel
	// refuses and which could not leave the host anyway.
	UnicastTTL int
	// NoJoin leaves the group unjoined (unicast mode: unicast_peer set).
	// The socket then receives no multicast at all.
	NoJoin bool
	// Host looks up the default source address; nil looks it up in the
	// calling thread's network namespace.
	Host *Host
}

// Packet is one received VRRP packet. Its slices alias the caller's buffer.
type Packet struct {
	Src, Dst netip.Addr // Src of a link-local sender carries no zone: see IfIndex
	TTL      uint8      // IPv4 TTL or IPv6 hop limit
	IfIndex  int        // interface it arrived on
	// Header is the IPv4 header, options included; nil for IPv6, whose
	// header a raw socket does not deliver.
	Header []byte
	// Payload is the VRRP message.
	Payload []byte
}

// VRRPConn is a raw socket for IP protocol 112 on one interface and one
// address family: it sends adverts to the group or to unicast peers and
// receives what arrives on the interface. One VRRPConn serves every VRRP
// instance on that interface and family; demultiplexing by VRID is the
// caller's. It is safe for concurrent use (reads are serialized, and so
// are writes, each side on its own lock); ReadPacket and WriteTo allocate
// nothing.
type VRRPConn struct {
	family  Family
	ifindex int
	group   netip.Addr

	conn      *net.IPConn
	rc        syscall.RawConn
	stop      func() bool // unregisters the context's close
	closeOnce sync.Once
	closeErr  error

	rmu    sync.Mutex // one reader at a time: the fields below are its
	rmsg   unix.Msghdr
	riov   unix.Iovec
	rname  unix.RawSockaddrInet6
	roob   []byte
	rn     int
	rflags int
	roobn  int
	rerr   error
	readFn func(uintptr) bool

	wmu     sync.Mutex // one writer at a time: the fields below are its
	src     netip.Addr
	wmsg    unix.Msghdr
	wiov    unix.Iovec
	wname4  unix.RawSockaddrInet4
	wname6  unix.RawSockaddrInet6
	woob    []byte
	werr    error
	writeFn func(uintptr) bool
}

// OpenVRRP opens a VRRP socket in the calling thread's network namespace.
// Cancelling ctx closes it, which makes a blocked ReadPacket return an
// error matching net.ErrClosed; so does Close.
func OpenVRRP(ctx context.Context, opts VRRPOptions) (*VRRPConn, error) {
	if !opts.Family.valid() {
		return nil, fmt.Errorf("open vrrp socket: bad address family %v", opts.Family)
	}
	path := fmt.Sprintf("open vrrp %v socket on ifindex %d", opts.Family, opts.IfIndex)
	if opts.IfIndex <= 0 {
		return nil, fmt.Errorf("%s: no interface index", path)
	}
	group := opts.Group
	if !group.IsValid() {
		group = GroupIPv4
		if opts.Family == FamilyIPv6 {
			group = GroupIPv6
		}
	}
	if !opts.Family.matches(group) || !group.IsMulticast() {
		return nil, fmt.Errorf("%s: group %v is not an %v multicast address", path, group, opts.Family)
	}
	if opts.Family == FamilyIPv6 && !group.IsLinkLocalMulticast() {
		return nil, fmt.Errorf("%s: group %v is not link-local scope (ffX2::)", path, group)
	}
	if opts.Source.IsValid() && !opts.Family.matches(opts.Source) {
		return nil, fmt.Errorf("%s: source %v is not an %v address", path, opts.Source, opts.Family)
	}
	ttl := opts.UnicastTTL
	if ttl == 0 {
		ttl = vrrpTTL
	}
	if ttl < 1 || ttl > 255 {
		return nil, fmt.Errorf("%s: unicast ttl %d out of 1..255", path, opts.UnicastTTL)
	}
	src := opts.Source
	if !src.IsValid() {
		var err error
		if opts.Family == FamilyIPv4 {
			src, err = opts.Host.PrimaryIPv4(opts.IfIndex)
		} else {
			src, err = opts.Host.LinkLocalIPv6(opts.IfIndex)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: source address: %w", path, err)
		}
	}
	ifi, err := net.InterfaceByIndex(opts.IfIndex)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}

	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BINDTOIFINDEX, opts.IfIndex)
		}); err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("bind to ifindex: %w", serr)
		}
		return nil
	}}
	network, laddr := "ip4:112", "0.0.0.0"
	if opts.Family == FamilyIPv6 {
		network, laddr = "ip6:112", "::"
	}
	pc, err := lc.ListenPacket(ctx, network, laddr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	conn := pc.(*net.IPConn)
	if opts.Family == FamilyIPv4 {
		err = setupVRRP4(conn, ifi, group, ttl, !opts.NoJoin)
	} else {
		err = setupVRRP6(conn, ifi, group, ttl, !opts.NoJoin)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}

	c := &VRRPConn{
		family:  opts.Family,
		ifindex: opts.IfIndex,
		group:   group,
		conn:    conn,
		rc:      rc,
		roob:    make([]byte, oobLen),
		woob:    make([]byte, oobLen),
	}
	c.readFn = c.doRead
	c.writeFn = c.doWrite
	c.rmsg.Iov = &c.riov
	c.rmsg.SetIovlen(1)
	c.rmsg.Control = &c.roob[0]
	if opts.Family == FamilyIPv6 {
		c.rmsg.Name = (*byte)(unsafe.Pointer(&c.rname))
	}
	c.wmsg.Iov = &c.wiov
	c.wmsg.SetIovlen(1)
	c.wmsg.Control = &c.woob[0]
	if opts.Family == FamilyIPv4 {
		c.wname4.Family = unix.AF_INET
		c.wmsg.Name = (*byte)(unsafe.Pointer(&c.wname4))
		c.wmsg.Namelen = unix.SizeofSockaddrInet4
	} else {
		c.wname6.Family = unix.AF_INET6
		c.wname6.Scope_id = uint32(opts.IfIndex)
		c.wmsg.Name = (*byte)(unsafe.Pointer(&c.wname6))
		c.wmsg.Namelen = unix.SizeofSockaddrInet6
	}
	c.setSource(src)
	c.stop = context.AfterFunc(ctx, func() { c.Close() })
	return c, nil
}

func setupVRRP4(conn *net.IPConn, ifi *net.Interface, group netip.Addr, ttl int, join bool) error {
	p := ipv4.NewPacketConn(conn)
	if err := p.SetMulticastInterface(ifi); err != nil {
		return fmt.Errorf("multicast interface: %w", err)
	}
	if err := p.SetMulticastTTL(vrrpTTL); err != nil {
		return fmt.Errorf("multicast ttl: %w", err)
	}
	if err := p.SetMulticastLoopback(false); err != nil {
		return fmt.Errorf("multicast loopback off: %w", err)
	}
	if err := p.SetTTL(ttl); err != nil {
		return fmt.Errorf("unicast ttl: %w", err)
	}
	if err := p.SetTOS(vrrpTOS); err != nil {
		return fmt.Errorf("tos: %w", err)
	}
	if err := p.SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true); err != nil {
		return fmt.Errorf("ip_pktinfo: %w", err)
	}
	if err := setsockopts(conn,
		sockopt{unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0, "ip_multicast_all off"},
		sockopt{unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DONT, "no df"},
	); err != nil {
		return err
	}
	if join {
		if err := p.JoinGroup(ifi, &net.IPAddr{IP: group.AsSlice()}); err != nil {
			return fmt.Errorf("join %v: %w", group, err)
		}
	}
	return nil
}

func setupVRRP6(conn *net.IPConn, ifi *net.Interface, group netip.Addr, ttl int, join bool) error {
	p := ipv6.NewPacketConn(conn)
	if err := p.SetMulticastInterface(ifi); err != nil {
		return fmt.Errorf("multicast interface: %w", err)
	}
	if err := p.SetMulticastHopLimit(vrrpTTL); err != nil {
		return fmt.Errorf("multicast hop limit: %w", err)
	}
	if err := p.SetMulticastLoopback(false); err != nil {
		return fmt.Errorf("multicast loopback off: %w", err)
	}
	if err := p.SetHopLimit(ttl); err != nil {
		return fmt.Errorf("unicast hop limit: %w", err)
	}
	if err := p.SetTrafficClass(vrrpTOS); err != nil {
		return fmt.Errorf("traffic class: %w", err)
	}
	// The checksum is the caller's to compute and to verify (see the
	// package documentation); the kernel must leave it alone.
	if err := p.SetChecksum(false, 0); err != nil {
		return fmt.Errorf("ipv6_checksum off: %w", err)
	}
	if err := p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true); err != nil {
		return fmt.Errorf("ipv6_recvhoplimit, ipv6_recvpktinfo: %w", err)
	}
	// IPV6_MULTICAST_ALL exists since Linux 4.20; without it a second
	// group on the same interface is cross-delivered, as in keepalived.
	if err := setsockopts(conn,
		sockopt{unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0, "ipv6_multicast_all off"},
	); err != nil && !errors.Is(err, unix.ENOPROTOOPT) {
		return err
	}
	if join {
		if err := p.JoinGroup(ifi, &net.IPAddr{IP: group.AsSlice()}); err != nil {
			return fmt.Errorf("join %v: %w", group, err)
		}
	}
	return nil
}

type sockopt struct {
	level, name, value int
	what               string
}

func setsockopts(conn *net.IPConn, opts ...sockopt) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		for _, o := range opts {
			if err := unix.SetsockoptInt(int(fd), o.level, o.name, o.value); err != nil {
				serr = fmt.Errorf("%s: %w", o.what, err)
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// Family returns the socket's address family.
func (c *VRRPConn) Family() Family { return c.family }

// IfIndex returns the index of the interface the socket is bound to.
func (c *VRRPConn) IfIndex() int { return c.ifindex }

// Group returns the multicast group adverts go to.
func (c *VRRPConn) Group() netip.Addr { return c.group }

// Source returns the source address of every packet sent. A VRRPv3
// checksum covers it (pseudo-header), so build packets with it.
func (c *VRRPConn) Source() netip.Addr {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.src
}

// SetSource changes the source address of the packets sent from now on
// (the interface's primary address changed, or the configuration did).
func (c *VRRPConn) SetSource(src netip.Addr) error {
	if !c.family.matches(src) {
		return fmt.Errorf("set vrrp source on ifindex %d: %v is not an %v address", c.ifindex, src, c.family)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.setSource(src)
	return nil
}

// setSource writes the one control message every send carries: the
// source address and interface (IP_PKTINFO or IPV6_PKTINFO). Callers hold
// wmu or own c exclusively.
func (c *VRRPConn) setSource(src netip.Addr) {
	c.src = src
	clear(c.woob)
	var n int
	if c.family == FamilyIPv4 {
		d := putCmsgHeader(c.woob, unix.IPPROTO_IP, unix.IP_PKTINFO, unix.SizeofInet4Pktinfo)
		// struct in_pktinfo { int ipi_ifindex; in_addr ipi_spec_dst; in_addr ipi_addr; }
		binary.NativeEndian.PutUint32(d[0:4], uint32(c.ifindex))
		a := src.As4()
		copy(d[4:8], a[:])
		n = unix.CmsgSpace(unix.SizeofInet4Pktinfo)
	} else {
		d := putCmsgHeader(c.woob, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO, unix.SizeofInet6Pktinfo)
		// struct in6_pktinfo { in6_addr ipi6_addr; unsigned ipi6_ifindex; }
		a := src.As16()
		copy(d[0:16], a[:])
		binary.NativeEndian.PutUint32(d[16:20], uint32(c.ifindex))
		n = unix.CmsgSpace(unix.SizeofInet6Pktinfo)
	}
	c.wmsg.SetControllen(n)
}

// WriteTo sends p, a whole VRRP message, to dst: the group, or a unicast
// peer. The kernel adds the IP header.
func (c *VRRPConn) WriteTo(p []byte, dst netip.Addr) error {
	if len(p) == 0 {
		return fmt.Errorf("send vrrp on ifindex %d: empty packet", c.ifindex)
	}
	if !c.family.matches(dst) {
		return fmt.Errorf("send vrrp on ifindex %d: destination %v is not an %v address", c.ifindex, dst, c.family)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.family == FamilyIPv4 {
		c.wname4.Addr = dst.As4()
	} else {
		c.wname6.Addr = dst.As16()
	}
	c.wiov.Base = &p[0]
	c.wiov.SetLen(len(p))
	err := c.rc.Write(c.writeFn)
	c.wiov.Base = nil // do not keep the caller's buffer alive
	if err != nil {
		return err
	}
	if c.werr != nil {
		return fmt.Errorf("send vrrp on ifindex %d to %v: %w", c.ifindex, dst, c.werr)
	}
	return nil
}

func (c *VRRPConn) doWrite(fd uintptr) bool {
	_, _, e := unix.Syscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&c.wmsg)), 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	c.werr = nil
	if e != 0 {
		c.werr = e
	}
	return true
}

// ReadPacket blocks until a packet arrives and reads it into b, which
// should hold the interface's MTU. It returns ErrTruncated when b was too
// small, an error matching net.ErrClosed after Close, and one matching
// os.ErrDeadlineExceeded after the read deadline.
func (c *VRRPConn) ReadPacket(b []byte) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, ErrTruncated
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.riov.Base = &b[0]
	c.riov.SetLen(len(b))
	err := c.rc.Read(c.readFn)
	c.riov.Base = nil
	if err != nil {
		return Packet{}, err
	}
	if c.rerr != nil {
		return Packet{}, fmt.Errorf("read vrrp on ifindex %d: %w", c.ifindex, c.rerr)
	}
	if c.rflags&unix.MSG_TRUNC != 0 || c.rn > len(b) {
		return Packet{}, ErrTruncated
	}
	p := b[:c.rn]
	if c.family == FamilyIPv4 {
		return c.parse4(p)
	}
	return c.parse6(p)
}

func (c *VRRPConn) doRead(fd uintptr) bool {
	if c.family == FamilyIPv6 {
		c.rmsg.Namelen = unix.SizeofSockaddrInet6
	}
	c.rmsg.SetControllen(len(c.roob))
	c.rmsg.Flags = 0
	n, _, e := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&c.rmsg)), 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	c.rerr = nil
	if e != 0 {
		c.rerr = e
		return true
	}
	c.rn = int(n)
	c.rflags = int(c.rmsg.Flags)
	c.roobn = int(c.rmsg.Controllen)
	return true
}

// parse4 splits an IPv4 packet as a raw socket delivers it: header and
// all, total length in network order.
func (c *VRRPConn) parse4(p []byte) (Packet, error) {
	if len(p) < 20 || p[0]>>4 != 4 {
		return Packet{}, ErrMalformed
	}
	hl := int(p[0]&0x0f) * 4
	tot := int(binary.BigEndian.Uint16(p[2:4]))
	if hl < 20 || tot < hl || tot > len(p) {
		return Packet{}, ErrMalformed
	}
	pkt := Packet{
		Src:     netip.AddrFrom4([4]byte(p[12:16])),
		Dst:     netip.AddrFrom4([4]byte(p[16:20])),
		TTL:     p[8],
		IfIndex: c.ifindex,
		Header:  p[:hl],
		Payload: p[hl:tot],
	}
	walkCmsgs(c.roob[:min(c.roobn, len(c.roob))], func(level, typ int32, data []byte) {
		if level == unix.IPPROTO_IP && typ == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo {
			pkt.IfIndex = int(int32(binary.NativeEndian.Uint32(data[0:4])))
		}
	})
	return pkt, nil
}

// parse6 reads source from the socket address, and destination, interface
// and hop limit from the control messages.
func (c *VRRPConn) parse6(p []byte) (Packet, error) {
	pkt := Packet{
		Src:     netip.AddrFrom16(c.rname.Addr),
		IfIndex: c.ifindex,
		Payload: p,
	}
	walkCmsgs(c.roob[:min(c.roobn, len(c.roob))], func(level, typ int32, data []byte) {
		if level != unix.IPPROTO_IPV6 {
			return
		}
		switch {
		case typ == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			pkt.Dst = netip.AddrFrom16([16]byte(data[0:16]))
			pkt.IfIndex = int(binary.NativeEndian.Uint32(data[16:20]))
		case typ == unix.IPV6_HOPLIMIT && len(data) >= 4:
			pkt.TTL = uint8(binary.NativeEndian.Uint32(data[0:4]))
		}
	})
	return pkt, nil
}

// SetReadDeadline makes a blocked or future ReadPacket return an error
// matching os.ErrDeadlineExceeded once t has passed; zero clears it.
func (c *VRRPConn) SetReadDeadline(t time.Time) error {
	return c.conn.SetReadDeadline(t)
}

// Close closes the socket; a blocked ReadPacket returns. Calling it again
// returns the first call's result.
func (c *VRRPConn) Close() error {
	c.closeOnce.Do(func() {
		if c.stop != nil {
			c.stop()
		}
		c.closeErr = c.conn.Close()
	})
	return c.closeErr
}

// Control messages, without unsafe casts of unaligned buffers: struct
// cmsghdr is { size_t len; int level; int type; } then data, each message
// padded to a multiple of sizeof(size_t).

const sizeofSizeT = int(unsafe.Sizeof(uintptr(0)))

func cmsgAlign(n int) int { return (n + sizeofSizeT - 1) &^ (sizeofSizeT - 1) }

// putCmsgHeader writes a control message header for dataLen bytes of data
// at the start of b and returns the data part.
func putCmsgHeader(b []byte, level, typ int32, dataLen int) []byte {
	l := unix.CmsgLen(dataLen)
	if sizeofSizeT == 8 {
		binary.NativeEndian.PutUint64(b[0:8], uint64(l))
	} else {
		binary.NativeEndian.PutUint32(b[0:4], uint32(l))
	}
	binary.NativeEndian.PutUint32(b[sizeofSizeT:], uint32(level))
	binary.NativeEndian.PutUint32(b[sizeofSizeT+4:], uint32(typ))
	h := cmsgAlign(sizeofSizeT + 8)
	return b[h : h+dataLen]
}

// walkCmsgs calls f for every well-formed control message in b and stops
// at the first malformed one.
func walkCmsgs(b []byte, f func(level, typ int32, data []byte)) {
	hdr := cmsgAlign(sizeofSizeT + 8)
	for len(b) >= hdr {
		var l int
		if sizeofSizeT == 8 {
			l = int(binary.NativeEndian.Uint64(b[0:8]))
		} else {
			l = int(binary.NativeEndian.Uint32(b[0:4]))
		}
		if l < hdr || l > len(b) {
			return
		}
		level := int32(binary.NativeEndian.Uint32(b[sizeofSizeT:]))
		typ := int32(binary.NativeEndian.Uint32(b[sizeofSizeT+4:]))
		f(level, typ, b[hdr:l])
		b = b[min(cmsgAlign(l), len(b)):]
	}
}
