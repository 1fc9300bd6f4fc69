package netutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

var (
	// ErrLinkNotFound reports an interface that does not exist.
	ErrLinkNotFound = errors.New("link not found")
	// ErrNoAddress reports an interface without a usable address of the
	// kind asked for (a primary IPv4 address, a non-tentative link-local).
	ErrNoAddress = errors.New("no usable address")
)

// netlinkTimeout bounds one netlink request of an opened Host, so that a
// wedged kernel answer cannot hang a VRRP transition forever.
const netlinkTimeout = 10 * time.Second

// Host is lbd's netlink access to one network namespace: the one current
// in the thread that opened it. A nil *Host works too, and opens a
// netlink socket per call in the calling thread's namespace.
type Host struct {
	nl *netlink.Handle
	// rt carries the route and rule requests this package encodes itself;
	// ns is the namespace, entered to read and write its sysctls. Both are
	// opened by OpenHost; a Host without them refuses those operations
	// rather than act on another namespace.
	rt *nlConn
	ns *os.File
}

// perCall is a netlink handle without sockets of its own: every request
// opens one in the calling thread's namespace.
var perCall = &netlink.Handle{}

// OpenHost opens a netlink route socket in the calling thread's network
// namespace; every later call goes there, from whichever thread.
func OpenHost() (*Host, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	if err := h.SetSocketTimeout(netlinkTimeout); err != nil {
		h.Close()
		return nil, fmt.Errorf("open netlink: socket timeout: %w", err)
	}
	rt, err := openNLConn()
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	ns, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		h.Close()
		rt.close()
		return nil, fmt.Errorf("open netlink: network namespace: %w", err)
	}
	return &Host{nl: h, rt: rt, ns: ns}, nil
}

// Close closes the netlink sockets.
func (h *Host) Close() {
	if h == nil {
		return
	}
	if h.nl != nil {
		h.nl.Close()
	}
	if h.rt != nil {
		h.rt.close()
	}
	if h.ns != nil {
		h.ns.Close()
	}
}

func (h *Host) handle() *netlink.Handle {
	if h == nil || h.nl == nil {
		return perCall
	}
	return h.nl
}

// Link is what VRRP needs to know of an interface.
type Link struct {
	Index int
	Name  string
	MAC   net.HardwareAddr
	MTU   int
	// Flags are the IFF_* flags (net/if.h), IFF_LOWER_UP included.
	Flags uint32
}

// AdminUp reports IFF_UP: the interface was set up.
func (l Link) AdminUp() bool { return l.Flags&unix.IFF_UP != 0 }

// Running reports IFF_RUNNING: the operational state is up (carrier).
func (l Link) Running() bool { return l.Flags&unix.IFF_RUNNING != 0 }

// Up reports whether the interface can carry VRRP: IFF_UP and
// IFF_RUNNING, keepalived's test for an interface being up.
func (l Link) Up() bool { return l.AdminUp() && l.Running() }

func (l Link) equal(o Link) bool {
	return l.Index == o.Index && l.Name == o.Name && l.MTU == o.MTU &&
		l.Flags == o.Flags && bytes.Equal(l.MAC, o.MAC)
}

func linkFromNetlink(nl netlink.Link) Link {
	a := nl.Attrs()
	return Link{
		Index: a.Index,
		Name:  a.Name,
		MAC:   bytes.Clone(a.HardwareAddr),
		MTU:   a.MTU,
		Flags: a.RawFlags,
	}
}

func linkErr(err error) error {
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
		return ErrLinkNotFound
	}
	return err
}

// LinkByName looks an interface up by name.
func (h *Host) LinkByName(name string) (Link, error) {
	nl, err := h.handle().LinkByName(name)
	if err != nil {
		return Link{}, fmt.Errorf("link %q: %w", name, linkErr(err))
	}
	return linkFromNetlink(nl), nil
}

// LinkByIndex looks an interface up by index.
func (h *Host) LinkByIndex(index int) (Link, error) {
	nl, err := h.handle().LinkByIndex(index)
	if err != nil {
		return Link{}, fmt.Errorf("link %d: %w", index, linkErr(err))
	}
	return linkFromNetlink(nl), nil
}

// IfAddr is an address configured on an interface, as the kernel lists it.
type IfAddr struct {
	IfIndex   int
	Prefix    netip.Prefix // local address and prefix length
	Peer      netip.Prefix // point-to-point peer; zero if none
	Broadcast netip.Addr   // IPv4 broadcast; zero if none
	Label     string       // IPv4 label
	Scope     Scope
	Flags     uint32 // IFA_F_*
	// PreferredLft and ValidLft are in seconds; 0xffffffff is forever.
	PreferredLft, ValidLft uint32
}

// Addrs lists the addresses of family on an interface, in the kernel's
// order (for IPv4, every primary before the secondaries).
func (h *Host) Addrs(ifindex int, family Family) ([]IfAddr, error) {
	nf := netlink.FAMILY_V4
	if family == FamilyIPv6 {
		nf = netlink.FAMILY_V6
	}
	list, err := h.handle().AddrList(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: ifindex}}, nf)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, fmt.Errorf("list %v addresses of ifindex %d: %w", family, ifindex, linkErr(err))
	}
	out := make([]IfAddr, 0, len(list))
	for _, a := range list {
		if a.LinkIndex != ifindex {
			continue
		}
		ia := IfAddr{
			IfIndex:      a.LinkIndex,
			Label:        a.Label,
			Scope:        Scope(a.Scope),
			Flags:        uint32(a.Flags),
			PreferredLft: uint32(a.PreferedLft),
			ValidLft:     uint32(a.ValidLft),
		}
		if a.IPNet != nil {
			ia.Prefix = ipNetToPrefix(a.IPNet)
		}
		if a.Peer != nil {
			ia.Peer = ipNetToPrefix(a.Peer)
		}
		if b, ok := netip.AddrFromSlice(a.Broadcast); ok {
			ia.Broadcast = b.Unmap()
		}
		out = append(out, ia)
	}
	return out, nil
}

func ipNetToPrefix(n *net.IPNet) netip.Prefix {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones)
}

// HasAddr reports whether ip is configured on the interface, whatever its
// prefix length.
func (h *Host) HasAddr(ifindex int, ip netip.Addr) (bool, error) {
	fam := FamilyIPv4
	if ip.Is6() {
		fam = FamilyIPv6
	}
	addrs, err := h.Addrs(ifindex, fam)
	if err != nil {
		return false, err
	}
	for _, a := range addrs {
		if a.Prefix.Addr() == ip {
			return true, nil
		}
	}
	return false, nil
}

// PrimaryIPv4 returns the interface's primary IPv4 address: the first one
// that is not secondary. keepalived's default advert source.
func (h *Host) PrimaryIPv4(ifindex int) (netip.Addr, error) {
	addrs, err := h.Addrs(ifindex, FamilyIPv4)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if a.Flags&unix.IFA_F_SECONDARY == 0 && a.Prefix.Addr().Is4() {
			return a.Prefix.Addr(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("primary ipv4 address of ifindex %d: %w", ifindex, ErrNoAddress)
}

// LinkLocalIPv6 returns the interface's IPv6 link-local address, skipping
// one still tentative (DAD running) or failed: the kernel would refuse it
// as a source.
func (h *Host) LinkLocalIPv6(ifindex int) (netip.Addr, error) {
	addrs, err := h.Addrs(ifindex, FamilyIPv6)
	if err != nil {
		return netip.Addr{}, err
	}
	tentative := false
	for _, a := range addrs {
		if !a.Prefix.Addr().IsLinkLocalUnicast() {
			continue
		}
		if a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) != 0 {
			tentative = true
			continue
		}
		return a.Prefix.Addr(), nil
	}
	if tentative {
		return netip.Addr{}, fmt.Errorf("ipv6 link-local address of ifindex %d: only tentative ones: %w", ifindex, ErrNoAddress)
	}
	return netip.Addr{}, fmt.Errorf("ipv6 link-local address of ifindex %d: %w", ifindex, ErrNoAddress)
}

// IPv6Forwarding reports whether IPv6 forwarding is on for the interface
// (/proc/sys/net/ipv6/conf/IFNAME/forwarding, read in the calling thread's
// namespace). keepalived sets the Router flag of its NAs from it.
func IPv6Forwarding(ifname string) (bool, error) {
	if ifname == "" || strings.ContainsAny(ifname, "/") || ifname == "." || ifname == ".." {
		return false, fmt.Errorf("ipv6 forwarding of %q: bad interface name", ifname)
	}
	b, err := os.ReadFile(filepath.Join("/proc/sys/net/ipv6/conf", ifname, "forwarding"))
	if err != nil {
		return false, fmt.Errorf("ipv6 forwarding of %s: %w", ifname, err)
	}
	return strings.TrimSpace(string(b)) != "0", nil
}

// EventKind says what an Event reports.
type EventKind uint8

// The event kinds.
const (
	// EventLink: an interface appeared or one of Link's fields changed
	// (up/down, running, MTU, MAC, name).
	EventLink EventKind = iota + 1
	// EventLinkDeleted: an interface went away.
	EventLinkDeleted
	// EventAddrAdded: an address was added (or changed).
	EventAddrAdded
	// EventAddrRemoved: an address was removed.
	EventAddrRemoved
	// EventResync: events were lost (the kernel's queue overflowed, or
	// the subscription failed and was renewed). The current state of every
	// link and address follows as fresh events; treat it as a full reload.
	EventResync
)

var eventKindNames = [...]string{
	EventLink:        "link",
	EventLinkDeleted: "link_deleted",
	EventAddrAdded:   "addr_added",
	EventAddrRemoved: "addr_removed",
	EventResync:      "resync",
}

// String returns the kind's log name.
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && eventKindNames[k] != "" {
		return eventKindNames[k]
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event is one change seen by a watcher.
type Event struct {
	Kind    EventKind
	IfIndex int
	// Link is the interface's state, for EventLink and EventLinkDeleted.
	Link Link
	// Addr and AddrFlags (IFA_F_*) are set for address events.
	Addr      netip.Prefix
	AddrFlags uint32
}

// WatchOptions configures Watch.
type WatchOptions struct {
	// Logger receives subscription errors; nil discards them.
	Logger *slog.Logger
	// Buffer is the capacity of the returned channel (default 64).
	Buffer int
}

// Watch subscribes to link and address changes in the calling thread's
// network namespace. The current state of every link and address is
// delivered first, then changes as they happen; link events are only sent
// when a field of Link changed. Links and addresses come from two
// subscriptions: their events are ordered within each kind, not between
// the two. When events may have been lost the
// subscription is renewed and an EventResync precedes a fresh listing.
// The channel is closed after ctx is cancelled.
func Watch(ctx context.Context, opts WatchOptions) (<-chan Event, error) {
	if opts.Buffer <= 0 {
		opts.Buffer = 64
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ns, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("watch links: current network namespace: %w", err)
	}
	w := &watcher{ns: ns, log: log, out: make(chan Event, opts.Buffer)}
	w.subscribe = w.netlinkSubscribe
	sub, err := w.subscribe()
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("watch links: %w", err)
	}
	go w.run(ctx, sub)
	return w.out, nil
}

type watcher struct {
	ns        netns.NsHandle
	log       *slog.Logger
	out       chan Event
	last      map[int]Link
	subscribe func() (*subscription, error) // netlinkSubscribe; tests fake it
}

// subscription is one pair of netlink subscriptions (links, addresses)
// sharing a done channel.
type subscription struct {
	done    chan struct{}
	links   chan netlink.LinkUpdate
	addrs   chan netlink.AddrUpdate
	started int // how many of links, addrs the library feeds (and will close)
}

func (w *watcher) netlinkSubscribe() (*subscription, error) {
	s := &subscription{
		done:  make(chan struct{}),
		links: make(chan netlink.LinkUpdate, 64),
		addrs: make(chan netlink.AddrUpdate, 64),
	}
	onErr := func(err error) {
		select {
		case <-s.done: // our own close
		default:
			if strings.HasPrefix(err.Error(), "Wrong sender portid") {
				// With ListExisting the library's socket also reads a
				// message not from the kernel (a dump request,
				// vishvananda/netlink#786), reports it and skips it:
				// no event is lost.
				w.log.Debug("netlink subscription", "err", err)
				return
			}
			w.log.Warn("netlink subscription", "err", err)
		}
	}
	err := netlink.LinkSubscribeWithOptions(s.links, s.done, netlink.LinkSubscribeOptions{
		Namespace: &w.ns, ListExisting: true, ErrorCallback: onErr,
	})
	if err != nil {
		s.close()
		return nil, fmt.Errorf("subscribe to links: %w", err)
	}
	s.started++
	err = netlink.AddrSubscribeWithOptions(s.addrs, s.done, netlink.AddrSubscribeOptions{
		Namespace: &w.ns, ListExisting: true, ErrorCallback: onErr,
	})
	if err != nil {
		s.close()
		return nil, fmt.Errorf("subscribe to addresses: %w", err)
	}
	s.started++
	return s, nil
}

// close ends the subscription and waits for the library's goroutines to
// close their channels, so that none is left blocked on a send.
func (s *subscription) close() {
	close(s.done)
	if s.started > 0 {
		for range s.links {
		}
	}
	if s.started > 1 {
		for range s.addrs {
		}
	}
}

func (w *watcher) run(ctx context.Context, sub *subscription) {
	defer w.ns.Close()
	defer close(w.out)
	retry := 100 * time.Millisecond
	for {
		w.last = map[int]Link{}
		if !w.forward(ctx, sub) {
			sub.close()
			return
		}
		// A subscription channel closed: its socket failed (ENOBUFS when
		// the kernel's queue overflowed). Renew both and relist.
		sub.close()
		if !w.send(ctx, Event{Kind: EventResync}) {
			return
		}
		for {
			var err error
			if sub, err = w.subscribe(); err == nil {
				retry = 100 * time.Millisecond
				break
			}
			w.log.Warn("netlink resubscribe", "err", err, "retry_in", retry)
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry):
			}
			retry = min(2*retry, 5*time.Second)
		}
	}
}

// forward turns updates into events until ctx is done (false) or a
// subscription ends (true).
func (w *watcher) forward(ctx context.Context, sub *subscription) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case u, ok := <-sub.links:
			if !ok {
				return true
			}
			ev, send := w.linkEvent(u)
			if send && !w.send(ctx, ev) {
				return false
			}
		case u, ok := <-sub.addrs:
			if !ok {
				return true
			}
			if !w.send(ctx, addrEvent(u)) {
				return false
			}
		}
	}
}

func (w *watcher) send(ctx context.Context, ev Event) bool {
	select {
	case w.out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

func (w *watcher) linkEvent(u netlink.LinkUpdate) (Event, bool) {
	l := linkFromNetlink(u.Link)
	if u.Header.Type == unix.RTM_DELLINK {
		delete(w.last, l.Index)
		return Event{Kind: EventLinkDeleted, IfIndex: l.Index, Link: l}, true
	}
	if prev, ok := w.last[l.Index]; ok && prev.equal(l) {
		return Event{}, false
	}
	w.last[l.Index] = l
	return Event{Kind: EventLink, IfIndex: l.Index, Link: l}, true
}

func addrEvent(u netlink.AddrUpdate) Event {
	ev := Event{Kind: EventAddrRemoved, IfIndex: u.LinkIndex, AddrFlags: uint32(u.Flags)}
	if u.NewAddr {
		ev.Kind = EventAddrAdded
	}
	ev.Addr = ipNetToPrefix(&u.LinkAddress)
	return ev
}
