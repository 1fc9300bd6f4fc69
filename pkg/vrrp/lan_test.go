package vrrp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A virtual LAN: instances exchange real adverts (AppendAdvert -> Validate
// -> HandleAdvert) with zero latency, in virtual time. It checks that the
// pieces together elect, fail over, preempt and heal as keepalived peers do.

type simNode struct {
	name    string
	addr    netip.Addr
	in      *Instance
	link    bool // false: partitioned (sends and receives nothing, still runs)
	crashed bool // stopped dead: no ticks, no packets

	// offload emulates the XDP program: steady-state adverts from the
	// followed master only update lastSeen; changes go to HandleAdvert.
	offload  bool
	lastSeen time.Time
	recorded struct {
		src      netip.Addr
		prio     uint8
		interval time.Duration
		ok       bool
	}
	absorbed int
}

type simLAN struct {
	t      *testing.T
	now    time.Time
	nodes  []*simNode
	events []string
	group  netip.Addr
}

func newLAN(t *testing.T, group netip.Addr) *simLAN {
	return &simLAN{t: t, now: t0, group: group}
}

func (l *simLAN) add(name string, addr netip.Addr, offload bool, mod func(c *Config)) *simNode {
	l.t.Helper()
	n := &simNode{name: name, addr: addr, link: true, offload: offload}
	n.in = l.instance(n, mod)
	l.nodes = append(l.nodes, n)
	return n
}

func (l *simLAN) instance(n *simNode, mod func(c *Config)) *Instance {
	l.t.Helper()
	opts := Options{LocalAddr: n.addr}
	if n.offload {
		opts.LastSeen = func(time.Time) (time.Time, bool) { return n.lastSeen, !n.lastSeen.IsZero() }
	}
	in, err := NewInstance(testConfig(func(c *Config) {
		if n.addr.Is6() {
			c.VIPs = []VIP{vip("2001:db8::100/64")}
		}
		if mod != nil {
			mod(c)
		}
	}), opts)
	if err != nil {
		l.t.Fatal(err)
	}
	return in
}

// restart replaces a crashed node's instance by a fresh one, started now.
func (l *simLAN) restart(n *simNode, mod func(c *Config)) {
	n.crashed = false
	n.link = true
	n.lastSeen = time.Time{}
	n.recorded.ok = false
	n.in = l.instance(n, mod)
	l.do(n, n.in.Start(l.now))
}

func (l *simLAN) startAll() {
	for _, n := range l.nodes {
		l.do(n, n.in.Start(l.now))
	}
}

type simWork struct {
	n    *simNode
	acts []Action
}

// do carries out n's actions, delivering its adverts, and what they cause.
func (l *simLAN) do(n *simNode, acts []Action) {
	queue := []simWork{{n, acts}}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 1000 {
			l.t.Fatalf("advert storm at %v", l.now.Sub(t0))
		}
		w := queue[0]
		queue = queue[1:]
		for _, a := range w.acts {
			switch a.Kind {
			case ActionStateChange:
				l.events = append(l.events, fmt.Sprintf("%.6fs %s %v->%v %v", l.now.Sub(t0).Seconds(), w.n.name, a.From, a.To, a.Cause))
			case ActionSendAdvert:
				if !w.n.link || w.n.crashed {
					continue
				}
				b, err := w.n.in.AppendAdvert(nil, a.Priority, w.n.addr, l.group)
				if err != nil {
					l.t.Fatal(err)
				}
				for _, m := range l.nodes {
					if m == w.n || !m.link || m.crashed {
						continue
					}
					if out := l.receive(m, Packet{Src: w.n.addr, Dst: l.group, HopLimit: TTL, Payload: b}); out != nil {
						queue = append(queue, simWork{m, out})
					}
				}
			}
		}
	}
}

func (l *simLAN) receive(m *simNode, p Packet) []Action {
	var adv Advert
	if r := m.in.Validate(p, &adv); r != ReasonNone {
		l.t.Errorf("%v: %s rejects an advert from %v: %v", l.now.Sub(t0), m.name, p.Src, r)
		return nil
	}
	st := m.in.State()
	if st != StateBackup && st != StateMaster {
		return nil
	}
	if m.offload && !m.in.NeedsEveryAdvert() && adv.Priority != 0 && m.recorded.ok &&
		m.recorded.src == p.Src && m.recorded.prio == adv.Priority && m.recorded.interval == adv.Interval {
		m.lastSeen = l.now
		m.absorbed++
		return nil
	}
	m.recorded.src, m.recorded.prio, m.recorded.interval, m.recorded.ok = p.Src, adv.Priority, adv.Interval, true
	m.lastSeen = l.now
	return m.in.HandleAdvert(l.now, p.Src, &adv)
}

// run advances virtual time to until, firing every deadline on the way.
func (l *simLAN) run(until time.Time) {
	for {
		var who *simNode
		var next time.Time
		for _, n := range l.nodes {
			if n.crashed {
				continue
			}
			if d, ok := n.in.Deadline(); ok && (who == nil || d.Before(next)) {
				who, next = n, d
			}
		}
		if who == nil || next.After(until) {
			l.now = until
			return
		}
		if next.Before(l.now) {
			// A deadline brought forward into the past (SetPriority)
			// fires at once, as the runtime's timer does.
			next = l.now
		}
		l.now = next
		l.do(who, who.in.Tick(next))
	}
}

func (l *simLAN) masters() []string {
	var m []string
	for _, n := range l.nodes {
		if !n.crashed && n.in.State() == StateMaster {
			m = append(m, n.name)
		}
	}
	return m
}

func (l *simLAN) wantMasters(want ...string) {
	l.t.Helper()
	if diff := cmp.Diff(want, l.masters()); diff != "" {
		l.t.Errorf("at %v masters (-want +got):\n%s\nevents:\n%s", l.now.Sub(t0), diff, l.eventText())
	}
}

func (l *simLAN) eventText() string {
	s := ""
	for _, e := range l.events {
		s += "  " + e + "\n"
	}
	return s
}

func prio(p uint8) func(c *Config) { return func(c *Config) { c.Priority = p } }

func TestLANElectionFailoverPreemption(t *testing.T) {
	run := func(t *testing.T, offload bool) ([]string, *simLAN) {
		l := newLAN(t, MulticastGroupIPv4)
		a := l.add("A", addrA, offload, prio(150))
		l.add("B", addrB, offload, prio(100))
		l.add("C", addrC, offload, prio(50))
		l.startAll()
		l.run(at(30 * sec))
		l.wantMasters("A")

		// A dies: B, the next priority, takes over 3 intervals + skew after
		// A's last advert.
		a.crashed = true
		l.run(at(60 * sec))
		l.wantMasters("B")

		// A comes back: it ignores B's lower adverts and preempts it.
		l.restart(a, prio(150))
		l.run(at(90 * sec))
		l.wantMasters("A")

		// A shuts down gracefully: B takes over after Skew_Time.
		l.do(a, a.in.Shutdown(l.now))
		l.run(at(120 * sec))
		l.wantMasters("B")
		return l.events, l
	}
	events, _ := run(t, false)
	want := []string{
		"0.000000s A INIT->BACKUP startup",
		"0.000000s B INIT->BACKUP startup",
		"0.000000s C INIT->BACKUP startup",
		"3.414062s A BACKUP->MASTER master_down_timer", // 3s + 106/256s in whole µs
		// A crashes at 30s; its last advert went at 29.414062s.
		"33.023437s B BACKUP->MASTER master_down_timer", // + 3s + 156/256s
		"60.000000s A INIT->BACKUP startup",
		"63.414062s A BACKUP->MASTER preempted",
		"63.414062s B MASTER->BACKUP higher_priority_advert",
		"90.000000s A MASTER->STOP shutdown",
		"90.609375s B BACKUP->MASTER priority_zero_received",
	}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	// The same story with the XDP program absorbing steady-state adverts and
	// the backups asking LastSeen: the same transitions at the same times.
	offEvents, l := run(t, true)
	if diff := cmp.Diff(want, offEvents); diff != "" {
		t.Errorf("offloaded events (-want +got):\n%s", diff)
	}
	absorbed := 0
	for _, n := range l.nodes {
		absorbed += n.absorbed
	}
	if absorbed < 100 {
		t.Errorf("only %d adverts absorbed: the offload path was not exercised", absorbed)
	}
}

// Each case runs on the socket path and with the offload (the datapath
// absorbing the followed master's steady adverts): the same story.
func TestLANNoPreemptAndPreemptDelay(t *testing.T) {
	for _, offload := range []bool{false, true} {
		name := map[bool]string{false: "sockets", true: "offload"}[offload]
		t.Run("nopreempt/"+name, func(t *testing.T) {
			l := newLAN(t, MulticastGroupIPv4)
			a := l.add("A", addrA, offload, prio(150))
			l.add("B", addrB, offload, prio(100))
			l.startAll()
			l.run(at(10 * sec))
			a.crashed = true
			l.run(at(20 * sec))
			l.wantMasters("B")
			l.restart(a, func(c *Config) { c.Priority = 150; c.NoPreempt = true })
			l.run(at(60 * sec))
			l.wantMasters("B")
		})
		t.Run("preempt_delay/"+name, func(t *testing.T) {
			l := newLAN(t, MulticastGroupIPv4)
			a := l.add("A", addrA, offload, prio(150))
			l.add("B", addrB, offload, prio(100))
			l.startAll()
			l.run(at(10 * sec))
			a.crashed = true
			l.run(at(20 * sec))
			l.restart(a, func(c *Config) { c.Priority = 150; c.PreemptDelay = 15 * sec })
			l.run(at(30 * sec))
			l.wantMasters("B")
			l.run(at(60 * sec))
			l.wantMasters("A")
			// B's first advert after A's restart at 20s came at 20.023437s: the
			// delay ran to 35.023437s; the advert then is ignored, and A's timer,
			// armed by the one before (34.023437s), expires 3.414062s later.
			last := l.events[len(l.events)-2]
			if last != "37.437499s A BACKUP->MASTER preempted" {
				t.Errorf("takeover %q\n%s", last, l.eventText())
			}
		})
		// A backup's priority rises above its master's (a tracker): the
		// master's next advert is of lower priority, and the backup
		// preempts when its timer runs out. With the offload that advert
		// is no event (the master did not change): the timer's expiry
		// must see it all the same.
		t.Run("priority rises/"+name, func(t *testing.T) {
			l := newLAN(t, MulticastGroupIPv4)
			l.add("A", addrA, offload, prio(150))
			b := l.add("B", addrB, offload, prio(100))
			l.startAll()
			l.run(at(10 * sec))
			l.wantMasters("A")
			l.do(b, b.in.SetPriority(l.now, 200))
			l.run(at(20 * sec))
			l.wantMasters("B")
			last := l.events[len(l.events)-2]
			// A's last advert before the rise went at 9.414062s; the
			// timer it armed (3.609375s) is brought forward by the shorter
			// skew of priority 200 (0.390625s).
			if last != "12.632812s B BACKUP->MASTER preempted" {
				t.Errorf("takeover %q\n%s", last, l.eventText())
			}
		})
	}
}

func TestLANSplitBrainHeals(t *testing.T) {
	for _, tt := range []struct {
		name  string
		group netip.Addr
		a, b  netip.Addr
	}{
		{"IPv4", MulticastGroupIPv4, addrA, addrB},
		{"IPv6", MulticastGroupIPv6, netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fe80::2")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Equal priorities: after the partition heals, the higher
			// primary address stays MASTER (RFC 5798 6.4.3).
			l := newLAN(t, tt.group)
			a := l.add("A", tt.a, false, prio(100))
			b := l.add("B", tt.b, false, prio(100))
			a.link, b.link = false, false
			l.startAll()
			l.run(at(10 * sec))
			l.wantMasters("A", "B")
			a.link, b.link = true, true
			l.run(at(20 * sec))
			l.wantMasters("B")
		})
	}
	t.Run("a partitioned higher master wins back", func(t *testing.T) {
		l := newLAN(t, MulticastGroupIPv4)
		a := l.add("A", addrA, false, prio(150))
		l.add("B", addrB, false, prio(100))
		l.startAll()
		l.run(at(10 * sec))
		a.link = false
		l.run(at(20 * sec))
		l.wantMasters("A", "B")
		a.link = true
		l.run(at(30 * sec))
		l.wantMasters("A")
	})
}
