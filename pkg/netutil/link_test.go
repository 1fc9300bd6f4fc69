package netutil

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func TestLinkLookup(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	nl, err := p.a.nl.LinkByName(p.aName)
	if err != nil {
		t.Fatal(err)
	}
	attrs := nl.Attrs()
	byName := p.a.link(t, p.aName)
	if byName.Index != attrs.Index || byName.Name != p.aName || byName.MAC.String() != attrs.HardwareAddr.String() || byName.MTU != 1500 {
		t.Fatalf("LinkByName = %+v, netlink says index %d mac %v mtu %d", byName, attrs.Index, attrs.HardwareAddr, attrs.MTU)
	}
	if !byName.Up() || !byName.AdminUp() || !byName.Running() {
		t.Fatalf("flags %#x: want up and running", byName.Flags)
	}
	p.a.ip(t, "link", "set", p.aName, "mtu", "1400")
	byIndex, err := p.a.host.LinkByIndex(byName.Index)
	if err != nil {
		t.Fatal(err)
	}
	if byIndex.MTU != 1400 || byIndex.Name != p.aName {
		t.Fatalf("LinkByIndex = %+v, want mtu 1400", byIndex)
	}
	if _, err := p.a.host.LinkByName("nosuchlink0"); !errors.Is(err, ErrLinkNotFound) {
		t.Fatalf("LinkByName(missing): %v", err)
	}
	if _, err := p.a.host.LinkByIndex(99999); !errors.Is(err, ErrLinkNotFound) {
		t.Fatalf("LinkByIndex(missing): %v", err)
	}

	// The primary IPv4 address is the first non-secondary one, whatever
	// else is added after it.
	p.a.ip(t, "addr", "add", "192.0.2.7/24", "dev", p.aName)
	p.a.ip(t, "addr", "add", "198.51.100.1/24", "dev", p.aName)
	if got, err := p.a.host.PrimaryIPv4(byName.Index); err != nil || got != addrA4 {
		t.Fatalf("PrimaryIPv4 = %v, %v; want %v", got, err, addrA4)
	}
	if got, err := p.a.host.LinkLocalIPv6(byName.Index); err != nil || got != p.aLL || !got.IsLinkLocalUnicast() {
		t.Fatalf("LinkLocalIPv6 = %v, %v; want %v", got, err, p.aLL)
	}
	addrs, err := p.a.host.Addrs(byName.Index, FamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range addrs {
		got = append(got, fmt.Sprintf("%v secondary=%v", a.Prefix, a.Flags&unix.IFA_F_SECONDARY != 0))
	}
	want := []string{"192.0.2.1/24 secondary=false", "198.51.100.1/24 secondary=false", "192.0.2.7/24 secondary=true"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Addrs = %v, want %v", got, want)
	}
	p.a.ip(t, "addr", "flush", "dev", p.aName)
	if _, err := p.a.host.PrimaryIPv4(byName.Index); !errors.Is(err, ErrNoAddress) {
		t.Fatalf("PrimaryIPv4 without addresses: %v", err)
	}
	if _, err := p.a.host.LinkLocalIPv6(byName.Index); !errors.Is(err, ErrNoAddress) {
		t.Fatalf("LinkLocalIPv6 without addresses: %v", err)
	}

	p.a.h.Sysctl("net/ipv6/conf/"+p.aName+"/forwarding", "1")
	var fwd bool
	p.a.do(t, func() (err error) {
		fwd, err = IPv6Forwarding(p.aName)
		return err
	})
	if !fwd {
		t.Fatal("IPv6Forwarding = false, want true")
	}
	for _, bad := range []string{"", "..", "a/b"} {
		if _, err := IPv6Forwarding(bad); err == nil {
			t.Errorf("IPv6Forwarding(%q): no error", bad)
		}
	}
}

// watch starts a watcher inside n, stopped at cleanup.
func watch(t *testing.T, n *testNS) (<-chan Event, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var ch <-chan Event
	n.do(t, func() (err error) {
		ch, err = Watch(ctx, WatchOptions{})
		return err
	})
	t.Cleanup(cancel)
	return ch, cancel
}

// awaitEvent reads events until match accepts one.
func awaitEvent(t *testing.T, ch <-chan Event, what string, match func(Event) bool) Event {
	t.Helper()
	timeout := time.After(failsafe)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("waiting for %s: channel closed", what)
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("waiting for %s: no event before the failsafe", what)
		}
	}
}

func TestWatchLinkDownUp(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	idx := p.aIf.Index
	ch, cancel := watch(t, p.a)
	linkIs := func(up, admin bool) func(Event) bool {
		return func(ev Event) bool {
			return ev.Kind == EventLink && ev.IfIndex == idx && ev.Link.Up() == up && ev.Link.AdminUp() == admin
		}
	}

	// The current state comes first; links and addresses come on two
	// sockets, in no set order between them.
	var initial Link
	sawLink, sawAddr := false, false
	awaitEvent(t, ch, "initial state", func(ev Event) bool {
		if linkIs(true, true)(ev) {
			initial, sawLink = ev.Link, true
		}
		if ev.Kind == EventAddrAdded && ev.IfIndex == idx && ev.Addr == netip.MustParsePrefix("192.0.2.1/24") {
			sawAddr = true
		}
		return sawLink && sawAddr
	})
	if initial.Name != p.aName || initial.MTU != 1500 || initial.MAC.String() != p.aIf.MAC.String() {
		t.Fatalf("initial link %+v", initial)
	}
	var ev Event

	// The peer goes down: carrier lost, still admin up.
	p.b.ip(t, "link", "set", p.bName, "down")
	ev = awaitEvent(t, ch, "carrier down", linkIs(false, true))
	if ev.Link.Running() {
		t.Fatalf("link %+v: running without a peer", ev.Link)
	}
	p.b.ip(t, "link", "set", p.bName, "up")
	awaitEvent(t, ch, "carrier up", linkIs(true, true))

	// Our end set down and up.
	p.a.ip(t, "link", "set", p.aName, "down")
	awaitEvent(t, ch, "admin down", linkIs(false, false))
	p.a.ip(t, "link", "set", p.aName, "up")
	awaitEvent(t, ch, "admin up", linkIs(true, true))

	// Addresses come and go.
	p.a.ip(t, "addr", "add", "198.51.100.9/24", "dev", p.aName)
	awaitEvent(t, ch, "address added", func(ev Event) bool {
		return ev.Kind == EventAddrAdded && ev.IfIndex == idx && ev.Addr == netip.MustParsePrefix("198.51.100.9/24")
	})
	p.a.ip(t, "addr", "del", "198.51.100.9/24", "dev", p.aName)
	awaitEvent(t, ch, "address removed", func(ev Event) bool {
		return ev.Kind == EventAddrRemoved && ev.IfIndex == idx && ev.Addr == netip.MustParsePrefix("198.51.100.9/24")
	})

	// The interface goes away.
	p.a.ip(t, "link", "del", p.aName)
	awaitEvent(t, ch, "link deleted", func(ev Event) bool { return ev.Kind == EventLinkDeleted && ev.IfIndex == idx })

	cancel()
	timeout := time.After(failsafe)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("channel still open after cancel")
		}
	}
}

// TestWatchDeduplicates: a link message that changes no field of Link
// (here a new alias) produces no event; the next one seen is the real
// change.
func TestWatchDeduplicates(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	idx := p.aIf.Index
	ch, _ := watch(t, p.a)
	awaitEvent(t, ch, "initial state", func(ev Event) bool { return ev.Kind == EventLink && ev.IfIndex == idx })
	p.a.ip(t, "link", "set", p.aName, "alias", "vrrp-side") // RTM_NEWLINK, nothing of Link changes
	p.a.ip(t, "link", "set", p.aName, "mtu", "1280")
	ev := awaitEvent(t, ch, "next link event", func(ev Event) bool { return ev.Kind == EventLink && ev.IfIndex == idx })
	if ev.Link.MTU != 1280 {
		t.Fatalf("first link event after the alias change has mtu %d: the alias change was not deduplicated", ev.Link.MTU)
	}
}

// fakeSub is a subscription fed by the test: closing links or addrs plays
// a failed netlink socket; done closes whatever is still open, as the
// library does.
func fakeSub() (*subscription, func()) {
	s := &subscription{
		done:    make(chan struct{}),
		links:   make(chan netlink.LinkUpdate),
		addrs:   make(chan netlink.AddrUpdate),
		started: 2,
	}
	var once sync.Once
	fail := func() { once.Do(func() { close(s.links) }) }
	go func() {
		<-s.done
		fail()
		close(s.addrs)
	}()
	return s, fail
}

func linkUpdate(index int, flags uint32) netlink.LinkUpdate {
	return netlink.LinkUpdate{
		Header: unix.NlMsghdr{Type: unix.RTM_NEWLINK},
		Link: &netlink.Device{LinkAttrs: netlink.LinkAttrs{
			Index: index, Name: fmt.Sprintf("eth%d", index), MTU: 1500, RawFlags: flags,
		}},
	}
}

// TestWatcherResubscribes: when a subscription fails, the watcher sends
// EventResync, subscribes again, and forgets what it had seen, so the
// relisted state comes through even where it did not change.
func TestWatcherResubscribes(t *testing.T) {
	subs := make(chan *subscription, 2)
	s1, fail1 := fakeSub()
	s2, _ := fakeSub()
	subs <- s1
	subs <- s2
	w := &watcher{ns: vnetns.None(), log: slog.New(slog.DiscardHandler), out: make(chan Event, 8)}
	w.subscribe = func() (*subscription, error) {
		select {
		case s := <-subs:
			return s, nil
		default:
			return nil, errors.New("no more subscriptions")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, _ := w.subscribe()
	done := make(chan struct{})
	go func() { w.run(ctx, first); close(done) }()

	up := uint32(unix.IFF_UP | unix.IFF_RUNNING)
	s1.links <- linkUpdate(2, up)
	s1.links <- linkUpdate(2, up) // unchanged: dropped
	s1.links <- linkUpdate(2, unix.IFF_UP)
	s1.addrs <- netlink.AddrUpdate{LinkIndex: 2, NewAddr: true, LinkAddress: net.IPNet{IP: net.IPv4(192, 0, 2, 1).To4(), Mask: net.CIDRMask(24, 32)}}
	fail1()
	s2.links <- linkUpdate(2, unix.IFF_UP) // relisted, same as last seen before the failure
	s2.links <- linkUpdate(3, up)
	s2.links <- netlink.LinkUpdate{Header: unix.NlMsghdr{Type: unix.RTM_DELLINK}, Link: &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: 3}}}

	var got []string
	for range 7 {
		ev := <-w.out
		got = append(got, fmt.Sprintf("%v %d up=%v running=%v %v", ev.Kind, ev.IfIndex, ev.Link.AdminUp(), ev.Link.Running(), ev.Addr))
	}
	want := []string{
		"link 2 up=true running=true invalid Prefix",
		"link 2 up=true running=false invalid Prefix",
		"addr_added 2 up=false running=false 192.0.2.1/24",
		"resync 0 up=false running=false invalid Prefix",
		"link 2 up=true running=false invalid Prefix",
		"link 3 up=true running=true invalid Prefix",
		"link_deleted 3 up=false running=false invalid Prefix",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	cancel()
	<-done
	if _, ok := <-w.out; ok {
		t.Fatal("channel open after the watcher ended")
	}
}
