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
	key    sockKey
	ifname string
	conn   *conn
}

// sockets opens and shares the VRRP sockets.
type sockets struct {
	ctx   context.Context
	host  *netutil.Host
	open  map[sockKey]*socket
	order []*socket
}

func (s *sockets) get(ifname string, ifindex int, p *Plan) (*socket, error) {
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

// listen hands every socket to the runtime; the first socket of each
// interface and family takes the unicast packets (all of them receive
// every unicast VRRP packet arriving on the interface).
func (s *sockets) listen(rt *vrrp.Runtime) error {
	type port struct {
		ifindex int
		family  vrrp.Family
	}
	taken := map[port]bool{}
	for _, sk := range s.order {
		p := port{sk.key.ifindex, sk.key.family}
		if err := rt.Listen(sk.conn, vrrp.ListenSpec{Interface: sk.ifname, Family: sk.key.family, Unicast: !taken[p]}); err != nil {
			return err
		}
		taken[p] = true
	}
	return nil
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
	plan  map[vipKey]PlannedVIP

	mu    sync.Mutex
	added map[vipKey]netutil.Address
}

func newAddresses(d *Daemon, p *Plan) *addresses {
	a := &addresses{host: d.host, mgr: d.vips, state: d.state, log: d.log.With("instance", p.Name),
		plan: map[vipKey]PlannedVIP{}, added: map[vipKey]netutil.Address{}}
	for _, pv := range p.VIPs {
		a.plan[vipKey{pv.Dev, pv.VIP.Prefix.Addr()}] = pv
	}
	return a
}

func (a *addresses) find(v vrrp.VIP) (vipKey, PlannedVIP, error) {
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
	k, pv, err := a.find(v)
	if err != nil {
		return err
	}
	a.mu.Lock()
	addr, ok := a.added[k]
	delete(a.added, k)
	a.mu.Unlock()
	if !ok {
		return nil // never added by this run
	}
	if _, err := a.mgr.Remove(addr); err != nil {
		return err
	}
	a.state.remove(pv.Dev, addr)
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
