package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"github.com/lbdproject/lbd/pkg/netutil"
	"github.com/lbdproject/lbd/pkg/vrrp"
)

// The adapters between pkg/netutil's host side and pkg/vrrp's seams.

// conn adapts a netutil.VRRPConn to vrrp.Conn. One socket serves every
// instance of an interface, family and group, so the source address is set
// per send, under a lock, when it differs from the last one.
type conn struct {
	c  *netutil.VRRPConn
	mu sync.Mutex
}

func (a *conn) ReadPacket(b []byte) (vrrp.Packet, error) {
	p, err := a.c.ReadPacket(b)
	if err != nil {
		if errors.Is(err, netutil.ErrTruncated) || errors.Is(err, netutil.ErrMalformed) {
			return vrrp.Packet{}, fmt.Errorf("%w: %w", vrrp.ErrBadPacket, err)
		}
		return vrrp.Packet{}, err
	}
	return vrrp.Packet{Src: p.Src, Dst: p.Dst, HopLimit: int(p.TTL), Payload: p.Payload}, nil
}

func (a *conn) WriteTo(msg []byte, src, dst netip.Addr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if src.IsValid() && a.c.Source() != src {
		if err := a.c.SetSource(src); err != nil {
			return err
		}
	}
	return a.c.WriteTo(msg, dst)
}

func (a *conn) Close() error { return a.c.Close() }

// sockKey says which instances share a socket: one interface and family,
// and either one joined multicast group or, for unicast instances (no
// group joined), one unicast TTL.
type sockKey struct {
	ifindex int
	family  vrrp.Family
	group   netip.Addr
	ttl     int
}

type socket struct {
	key      sockKey
	ifname   string
	conn     *conn
	listened bool
	rcvbuf   int // SO_RCVBUF set (vrrp_rx_bufs_policy); 0: the default
}

// portKey is an interface and family: the runtime's receive port.
type portKey struct {
	ifindex int
	family  vrrp.Family
}

// sockets opens and shares the VRRP sockets.
type sockets struct {
	ctx   context.Context
	host  *netutil.Host
	open  map[sockKey]*socket
	order []*socket
	taken map[portKey]bool // a socket of the port takes unicast packets
}

// get returns the socket for plan p on an interface; src, if valid, is
// its default source (a VMAC's: it has no address of its own).
func (s *sockets) get(ifname string, ifindex int, p *Plan, src netip.Addr) (*socket, error) {
	c := &p.Config
	fam := c.Family()
	k := sockKey{ifindex: ifindex, family: fam}
	unicast := len(c.UnicastPeers) > 0
	if unicast {
		k.ttl = c.UnicastTTL
		if k.ttl < 0 {
			k.ttl = vrrp.TTL
		}
	} else {
		k.group = p.Group
	}
	if sk := s.open[k]; sk != nil {
		return sk, nil
	}
	opts := netutil.VRRPOptions{
		IfIndex:    ifindex,
		Family:     netutil.FamilyIPv4,
		Host:       s.host,
		UnicastTTL: k.ttl,
		NoJoin:     unicast,
		Source:     src,
	}
	if fam == vrrp.FamilyIPv6 {
		opts.Family = netutil.FamilyIPv6
	}
	if !unicast {
		opts.Group = p.Group
	}
	// unicast_ttl 0 (keepalived accepts it; the kernel refuses it and
	// it could not leave the host) is netutil's 0: 255. The socket's
	// source is the interface's default; an instance with mcast_src_ip /
	// unicast_src_ip sends from it per packet.
	vc, err := netutil.OpenVRRP(s.ctx, opts)
	if err != nil {
		return nil, err
	}
	sk := &socket{key: k, ifname: ifname, conn: &conn{c: vc}}
	s.open[k] = sk
	s.order = append(s.order, sk)
	return sk, nil
}

// listenNew hands the sockets opened since the last call to the runtime;
// the first socket of each interface and family takes the unicast packets
// (all of them receive every unicast VRRP packet arriving on the
// interface).
func (s *sockets) listenNew(rt *vrrp.Runtime) error {
	for _, sk := range s.order {
		if sk.listened {
			continue
		}
		p := portKey{sk.key.ifindex, sk.key.family}
		if err := rt.Listen(sk.conn, vrrp.ListenSpec{Interface: sk.ifname, Family: sk.key.family, Unicast: !s.taken[p]}); err != nil {
			return err
		}
		sk.listened = true
		s.taken[p] = true
	}
	return nil
}

// closeUnused closes the sockets of every port (interface and family) no
// instance uses any more. A port still used keeps all its sockets, idle
// ones included: the one taking unicast packets must stay.
func (s *sockets) closeUnused(rt *vrrp.Runtime, used map[*socket]bool) []string {
	busy := map[portKey]bool{}
	for sk := range used {
		if sk != nil {
			busy[portKey{sk.key.ifindex, sk.key.family}] = true
		}
	}
	var closed []string
	keep := s.order[:0]
	for _, sk := range s.order {
		p := portKey{sk.key.ifindex, sk.key.family}
		if busy[p] {
			keep = append(keep, sk)
			continue
		}
		if sk.listened {
			rt.CloseConn(sk.conn)
		} else {
			sk.conn.Close()
		}
		delete(s.open, sk.key)
		delete(s.taken, p)
		closed = append(closed, fmt.Sprintf("vrrp socket on %s (%v) closed", sk.ifname, sk.key.family))
	}
	s.order = keep
	return closed
}

func (s *sockets) closeAll() {
	for _, sk := range s.order {
		sk.conn.Close()
	}
}

// vipKey identifies a VIP of an instance: its interface and address.
type vipKey struct {
	dev string
	ip  netip.Addr
}

// addresses adapts the shared netutil.VIPManager to one instance's
// vrrp.Addresses: it looks the interface up when adding (it may have
// appeared since startup), remembers what it added so that removal works
// even once the interface is gone, and records ownership in the run
// directory so that a restarted lbd removes what a killed one left.
type addresses struct {
	host  *netutil.Host
	mgr   *netutil.VIPManager
	state *vipState
	log   *slog.Logger

	mu    sync.Mutex
	plan  map[vipKey]PlannedVIP
	added map[vipKey]netutil.Address
}

func newAddresses(d *Daemon, p *Plan) *addresses {
	a := &addresses{host: d.host, mgr: d.vips, state: d.state, log: d.log.With("instance", p.Name),
		added: map[vipKey]netutil.Address{}}
	a.setPlan(p)
	return a
}

// setPlan replaces the planned VIPs (a reload changed the instance in
// place). Addresses added under the old plan stay removable.
func (a *addresses) setPlan(p *Plan) {
	plan := map[vipKey]PlannedVIP{}
	for _, pv := range p.VIPs {
		plan[vipKey{pv.Dev, pv.VIP.Prefix.Addr()}] = pv
	}
	a.mu.Lock()
	a.plan = plan
	a.mu.Unlock()
}

func (a *addresses) find(v vrrp.VIP) (vipKey, PlannedVIP, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, pv := range a.plan {
		if k.ip == v.Prefix.Addr() && (v.Dev == "" || v.Dev == k.dev) {
			return k, pv, nil
		}
	}
	return vipKey{}, PlannedVIP{}, fmt.Errorf("vip %v: not planned", v.Prefix)
}

func (a *addresses) AddVIP(v vrrp.VIP) error {
	k, pv, err := a.find(v)
	if err != nil {
		return err
	}
	link, err := a.host.LinkByName(pv.Dev)
	if err != nil {
		return fmt.Errorf("add vip %v: %w", v.Prefix, err)
	}
	addr := pv.Addr
	addr.IfIndex = link.Index
	res, err := a.mgr.Add(addr)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.added[k] = addr
	a.mu.Unlock()
	if res == netutil.AddResultAdded {
		a.state.add(pv.Dev, addr)
	}
	return nil
}

func (a *addresses) RemoveVIP(v vrrp.VIP) error {
	a.mu.Lock()
	var k vipKey
	var addr netutil.Address
	ok := false
	// By what was added: a VIP a reload dropped from the plan goes too.
	for ak, ad := range a.added {
		if ak.ip == v.Prefix.Addr() && (v.Dev == "" || v.Dev == ak.dev) {
			k, addr, ok = ak, ad, true
			break
		}
	}
	delete(a.added, k)
	a.mu.Unlock()
	if !ok {
		return nil // never added by this run
	}
	if _, err := a.mgr.Remove(addr); err != nil {
		return err
	}
	a.state.remove(k.dev, addr)
	return nil
}

// announcers opens one netutil.Announcer per interface, on first use.
type announcers struct {
	host *netutil.Host
	log  *slog.Logger
	open map[string]*netutil.Announcer
}

func (an *announcers) get(ifname string) (*netutil.Announcer, error) {
	if a := an.open[ifname]; a != nil {
		return a, nil
	}
	link, err := an.host.LinkByName(ifname)
	if err != nil {
		return nil, err
	}
	a, err := netutil.OpenAnnouncer(netutil.AnnouncerOptions{IfIndex: link.Index, Host: an.host})
	if err != nil {
		return nil, err
	}
	an.open[ifname] = a
	return a, nil
}

// drop closes the announcer of an interface that went away (a VMAC
// deleted by a reload: a new one of that name is another interface).
func (an *announcers) drop(ifname string) {
	if a := an.open[ifname]; a != nil {
		a.Close()
		delete(an.open, ifname)
	}
}

func (an *announcers) closeAll() {
	for _, a := range an.open {
		a.Close()
	}
}

// resolveInterface picks the interface of a plan: its interface keyword,
// else (unicast without one) the interface holding unicast_src_ip.
func resolveInterface(host *netutil.Host, p *Plan) (netutil.Link, error) {
	if name := p.Config.Interface; name != "" {
		return host.LinkByName(name)
	}
	src := p.Config.SourceAddr
	ifs, err := net.Interfaces()
	if err != nil {
		return netutil.Link{}, err
	}
	for _, ifi := range ifs {
		fam := netutil.FamilyIPv4
		if src.Is6() {
			fam = netutil.FamilyIPv6
		}
		addrs, err := host.Addrs(ifi.Index, fam)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if a.Prefix.Addr() == src {
				return host.LinkByIndex(ifi.Index)
			}
		}
	}
	return netutil.Link{}, fmt.Errorf("no interface holds unicast_src_ip %v: %w", src, netutil.ErrLinkNotFound)
}
