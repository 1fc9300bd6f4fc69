package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/lbdproject/lbd/pkg/netutil"
)

// srcKey is one track_src_ip: the configured source address of an
// instance (unicast_src_ip / mcast_src_ip) on the interface it must be
// on.
type srcKey struct {
	Iface string
	Addr  netip.Addr
}

func (k srcKey) String() string { return k.Addr.String() + " on " + k.Iface }

// srcAddrTracker follows whether addresses are on interfaces, for
// track_src_ip, through a netlink address and link subscription
// (pkg/netutil Watch), not by polling: an event about a tracked address,
// or any link event (an interface created, deleted or renamed), makes it
// ask the kernel again about the keys concerned.
type srcAddrTracker struct {
	log      *slog.Logger
	onUpdate func()
	host     *netutil.Host

	mu      sync.Mutex
	present map[srcKey]bool

	done chan struct{}
}

func newSrcAddrTracker(keys []srcKey, log *slog.Logger, onUpdate func()) *srcAddrTracker {
	t := &srcAddrTracker{log: log, onUpdate: onUpdate, present: map[srcKey]bool{}, done: make(chan struct{})}
	for _, k := range keys {
		t.present[k] = false
	}
	return t
}

// Start subscribes, reads the current state of every key and follows the
// changes until ctx is done.
func (t *srcAddrTracker) Start(ctx context.Context) error {
	host, err := netutil.OpenHost()
	if err != nil {
		return fmt.Errorf("track_src_ip: %w", err)
	}
	events, err := netutil.Watch(ctx, netutil.WatchOptions{Logger: t.log})
	if err != nil {
		host.Close()
		return fmt.Errorf("track_src_ip: %w", err)
	}
	t.host = host
	// Subscribed first, then read: a change in between arrives as an event.
	t.refresh(func(srcKey) bool { return true }, true)
	go t.loop(events)
	return nil
}

// Wait returns after the tracker stopped.
func (t *srcAddrTracker) Wait() { <-t.done }

// Present reports whether k's address is on its interface.
func (t *srcAddrTracker) Present(k srcKey) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.present[k]
}

func (t *srcAddrTracker) loop(events <-chan netutil.Event) {
	defer close(t.done)
	defer t.host.Close()
	all := func(srcKey) bool { return true }
	for ev := range events {
		switch ev.Kind {
		case netutil.EventAddrAdded, netutil.EventAddrRemoved:
			a := ev.Addr.Addr()
			t.refresh(func(k srcKey) bool { return k.Addr == a }, false)
		case netutil.EventLink, netutil.EventLinkDeleted, netutil.EventResync:
			t.refresh(all, false)
		}
	}
}

// refresh asks the kernel about the keys that match.
func (t *srcAddrTracker) refresh(match func(srcKey) bool, initial bool) {
	t.mu.Lock()
	var keys []srcKey
	for k := range t.present {
		if match(k) {
			keys = append(keys, k)
		}
	}
	t.mu.Unlock()
	changed := false
	for _, k := range keys {
		on, err := t.lookup(k)
		if err != nil {
			t.log.Warn("track_src_ip: look up", "address", k.Addr, "interface", k.Iface, "error", err)
			continue
		}
		t.mu.Lock()
		old := t.present[k]
		t.present[k] = on
		t.mu.Unlock()
		if old != on && !initial {
			changed = true
			t.log.Info("track_src_ip: source address changed", "address", k.Addr, "interface", k.Iface, "present", on)
		}
	}
	if changed && t.onUpdate != nil {
		t.onUpdate()
	}
}

func (t *srcAddrTracker) lookup(k srcKey) (bool, error) {
	l, err := t.host.LinkByName(k.Iface)
	if errors.Is(err, netutil.ErrLinkNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return t.host.HasAddr(l.Index, k.Addr)
}
