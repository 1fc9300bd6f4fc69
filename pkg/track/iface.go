package track

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/lbdproject/lbd/pkg/netutil"
)

// InterfaceOptions configures an InterfaceTracker.
type InterfaceOptions struct {
	// Interfaces are the names tracked (track_interface entries of every
	// instance and sync group, each name once).
	Interfaces []string
	// OnUpdate is called, from the tracker's goroutine, when an interface
	// goes up or down.
	OnUpdate func(Update)
	Logger   *slog.Logger
	Metrics  *Metrics
}

// InterfaceTracker follows the up/down state of interfaces by name
// through a netlink link subscription (pkg/netutil Watch), not by polling.
// An interface is up when it is administratively up and running
// (IFF_UP and IFF_RUNNING, keepalived's IF_FLAGS_UP); one that does not
// exist, or is deleted or renamed away, is down; one created or renamed
// to the name later comes up by itself.
type InterfaceTracker struct {
	log  *slog.Logger
	opts InterfaceOptions
	host *netutil.Host

	mu     sync.Mutex
	states map[string]State
	index  map[string]int // name -> ifindex while it exists

	done chan struct{}
}

// NewInterfaceTracker validates opts.
func NewInterfaceTracker(opts InterfaceOptions) (*InterfaceTracker, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	t := &InterfaceTracker{
		log:    opts.Logger,
		opts:   opts,
		states: map[string]State{},
		index:  map[string]int{},
		done:   make(chan struct{}),
	}
	for _, n := range opts.Interfaces {
		if n == "" || len(n) > 15 {
			return nil, fmt.Errorf("track_interface %q: want 1 to 15 bytes", n)
		}
		t.states[n] = StateDown
	}
	return t, nil
}

// Start subscribes to link changes in the calling thread's network
// namespace, reads every tracked interface's current state, and follows
// changes until ctx is done. After it returns, State answers. Call it
// once.
func (t *InterfaceTracker) Start(ctx context.Context) error {
	host, err := netutil.OpenHost()
	if err != nil {
		return fmt.Errorf("track interfaces: %w", err)
	}
	events, err := netutil.Watch(ctx, netutil.WatchOptions{Logger: t.log})
	if err != nil {
		host.Close()
		return fmt.Errorf("track interfaces: %w", err)
	}
	t.host = host
	// Subscribed first, then read: a change in between arrives as an event.
	t.refresh(true)
	go t.loop(events)
	return nil
}

// Wait returns after the tracker stopped.
func (t *InterfaceTracker) Wait() { <-t.done }

// State returns the interface's state (StateDown for an unknown name).
func (t *InterfaceTracker) State(name string) State {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.states[name]; ok {
		return s
	}
	return StateDown
}

func (t *InterfaceTracker) loop(events <-chan netutil.Event) {
	defer close(t.done)
	defer t.host.Close()
	for ev := range events {
		switch ev.Kind {
		case netutil.EventLink:
			t.link(ev.Link, false)
		case netutil.EventLinkDeleted:
			t.link(ev.Link, true)
		case netutil.EventResync:
			// Events were lost; the watcher relists links, but a link
			// deleted meanwhile is never mentioned: ask for each.
			t.refresh(false)
		}
	}
}

// refresh looks every tracked name up.
func (t *InterfaceTracker) refresh(initial bool) {
	for name := range t.states {
		l, err := t.host.LinkByName(name)
		switch {
		case err == nil:
			t.set(name, l.Index, l.Up(), initial)
		case errors.Is(err, netutil.ErrLinkNotFound):
			t.set(name, 0, false, initial)
		default:
			t.log.Warn("track interface: look up", "interface", name, "err", err)
		}
	}
}

func (t *InterfaceTracker) link(l netutil.Link, deleted bool) {
	t.mu.Lock()
	var renamedFrom string
	for name, idx := range t.index {
		if idx == l.Index && name != l.Name {
			renamedFrom = name
		}
	}
	_, tracked := t.states[l.Name]
	t.mu.Unlock()
	if renamedFrom != "" {
		t.set(renamedFrom, 0, false, false)
	}
	if !tracked {
		return
	}
	if deleted {
		t.set(l.Name, 0, false, false)
		return
	}
	t.set(l.Name, l.Index, l.Up(), false)
}

func (t *InterfaceTracker) set(name string, index int, up, initial bool) {
	st := StateDown
	if up {
		st = StateUp
	}
	t.mu.Lock()
	if index == 0 {
		delete(t.index, name)
	} else {
		t.index[name] = index
	}
	old := t.states[name]
	t.states[name] = st
	t.mu.Unlock()
	if old == st && !initial {
		return
	}
	t.opts.Metrics.state(KindInterface, name, st)
	if initial {
		return
	}
	t.log.Info("tracked interface changed", "interface", name, "state", st.String())
	if t.opts.OnUpdate != nil {
		t.opts.OnUpdate(Update{Kind: KindInterface, Name: name, State: st})
	}
}
