package vrrp

import (
	"log/slog"
	"slices"
	"sync"
	"time"
)

// SyncGroupSpec is a vrrp_sync_group: instances that move together.
type SyncGroupSpec struct {
	Name    string
	Members []string // vrrp_instance names
}

// SyncGroupStatus is a snapshot of a sync group.
type SyncGroupStatus struct {
	Name  string
	State State // INIT until a member reported, then BACKUP, MASTER or FAULT
	// Members are the instances of the group that run, in configuration
	// order; Missing the configured names that do not (refused or
	// absent), which keepalived ignores too.
	Members []string
	Missing []string
	// FaultyMembers counts members in FAULT by their own faults (not
	// forced by the group).
	FaultyMembers int
}

// syncGroup implements keepalived's vrrp_sync_group (vrrp_sync.c,
// vrrp_scheduler.c try_up_instance / down_instance, 2.2.x):
//
//   - MASTER only together: a member that would become MASTER by itself
//     (master-down timer, priority-0 advert, preemption) is held in BACKUP
//     with WantState MASTER until every other member wants MASTER too
//     (MasterGate, vrrp_sync_can_goto_master); the member that then goes
//     MASTER takes the group with it (vrrp_sync_master: the others are
//     forced MASTER).
//   - BACKUP together: a MASTER member that an advert sends to BACKUP
//     takes the group to BACKUP, and the other MASTER members follow
//     (vrrp_sync_backup).
//   - FAULT together: the first member with a fault of its own (a failed
//     tracker, its interface down) takes the group to FAULT and forces
//     every member to FAULT (vrrp_sync_fault); the group leaves FAULT for
//     BACKUP only when no member has a fault of its own any more
//     (num_member_fault back to 0).
//
// The group's state changes on the goroutine of the member that changed
// it, under the group's lock, so that the next member's transition sees
// it (for Event.Synced); what follows from it (the group's event, forcing
// the other members) runs on the group's own goroutine, never on a
// member's: a member's step never waits for another member.
type syncGroup struct {
	rt   *Runtime
	name string
	log  *slog.Logger

	mu      sync.Mutex
	members []string // configured, in order
	info    map[string]*memberInfo
	state   State
	faults  int // members with a fault of their own
	work    []func()
	wake    chan struct{}
	quit    chan struct{} // closed when dissolved
	stopped bool
}

type memberInfo struct {
	r        *runner
	state    State
	want     State
	fault    bool
	notified bool // the member has reported a state (keepalived notifies_sent)
}

func newSyncGroup(rt *Runtime, spec SyncGroupSpec) *syncGroup {
	g := &syncGroup{
		rt:      rt,
		name:    spec.Name,
		log:     rt.log.With("group", spec.Name),
		members: slices.Clone(spec.Members),
		info:    map[string]*memberInfo{},
		state:   StateInit,
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
	}
	rt.wg.Add(1) // under rt.mu, before Stop's wait
	go g.run()
	return g
}

// attach makes r a member (under rt.mu). A running member brings its
// current state; the group's state is derived from its members' when it
// has none yet (a reload formed the group).
func (g *syncGroup) attach(r *runner) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := r.snapshot()
	mi := &memberInfo{r: r, state: st.State, want: st.WantState, fault: r.ownFault.Load(), notified: st.State != StateInit}
	g.info[r.name] = mi
	if mi.fault {
		g.faults++
	}
	switch {
	case g.faults > 0:
		g.state = StateFault
	case st.State == StateMaster:
		g.state = StateMaster
	case st.State == StateBackup && g.state == StateInit:
		g.state = StateBackup
	}
}

// detach removes a member (removed by a reload, or moved to another
// group).
func (g *syncGroup) detach(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if mi := g.info[name]; mi != nil {
		if mi.fault {
			g.faults--
		}
		delete(g.info, name)
	}
	if g.faults == 0 && g.state == StateFault && len(g.info) > 0 {
		g.setStateLocked(StateBackup, CauseFaultCleared)
		g.forceLocked("", StateBackup)
	}
}

// gate is MasterGate for a member: MASTER is allowed when the group is
// MASTER already or every other member wants MASTER.
func (g *syncGroup) gate(name string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == StateMaster {
		return true
	}
	if g.state == StateFault {
		return false
	}
	for n, mi := range g.info {
		if n != name && mi.want != StateMaster {
			return false
		}
	}
	return true
}

// memberState records a member's transition (on its goroutine) and moves
// the group; it reports whether the member's notifies are covered by the
// group's.
func (g *syncGroup) memberState(name string, from, to State) (synced bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	mi := g.info[name]
	if mi == nil {
		return false
	}
	synced = mi.notified && to == g.state
	mi.notified = true
	mi.state = to
	switch to {
	case StateMaster:
		mi.want = StateMaster
		if g.state != StateMaster && g.state != StateFault {
			g.setStateLocked(StateMaster, CauseSyncGroup)
			g.forceLocked(name, StateMaster)
		}
	case StateBackup:
		switch {
		case from == StateMaster && g.state == StateMaster:
			g.setStateLocked(StateBackup, CauseSyncGroup)
			g.forceLocked(name, StateBackup)
		case g.state == StateInit:
			g.setStateLocked(StateBackup, CauseStartup)
		}
	case StateFault:
		if g.state == StateInit && g.faults > 0 {
			g.setStateLocked(StateFault, CauseFault)
		}
	}
	return synced
}

// memberLevels records a member's wanted state and whether it has a fault
// of its own, after each of its steps.
func (g *syncGroup) memberLevels(name string, want State, fault bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	mi := g.info[name]
	if mi == nil {
		return
	}
	mi.want = want
	if fault == mi.fault {
		return
	}
	mi.fault = fault
	if fault {
		g.faults++
		if g.faults == 1 && g.state != StateFault {
			g.setStateLocked(StateFault, CauseFault)
			g.forceLocked("", StateFault)
		}
		return
	}
	g.faults--
	if g.faults == 0 && g.state == StateFault {
		g.setStateLocked(StateBackup, CauseFaultCleared)
		g.forceLocked("", StateBackup)
	}
}

// setStateLocked changes the group's state and queues its event.
func (g *syncGroup) setStateLocked(to State, cause Cause) {
	from := g.state
	if from == to {
		return
	}
	g.state = to
	g.rt.m.groupState(g.name, to)
	g.queueLocked(func() {
		g.log.Info("vrrp sync group transition", "from", from.String(), "to", to.String(), "reason", cause.String())
		g.rt.emit(Event{Kind: EventGroupStateChange, Group: g.name, From: from, To: to, Cause: cause})
	})
}

// forceLocked queues Force(to) for every member but except ("" for all:
// FAULT and leaving it concern the member that caused it too, which a
// forced FAULT holds until the group leaves it).
func (g *syncGroup) forceLocked(except string, to State) {
	var targets []*runner
	for _, n := range g.members {
		if mi := g.info[n]; mi != nil && n != except {
			targets = append(targets, mi.r)
		}
	}
	g.queueLocked(func() {
		for _, r := range targets {
			r.control(func(now time.Time) []Action { return r.in.Force(now, to, CauseSyncGroup) })
		}
	})
}

func (g *syncGroup) queueLocked(f func()) {
	if g.stopped {
		return
	}
	g.work = append(g.work, f)
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// run carries out the group's queued work in order, until the runtime
// stops.
func (g *syncGroup) run() {
	defer g.rt.wg.Done()
	for {
		select {
		case <-g.wake:
		case <-g.quit:
			return
		case <-g.rt.ctx.Done():
			return
		}
		for {
			g.mu.Lock()
			work := g.work
			g.work = nil
			g.mu.Unlock()
			if len(work) == 0 {
				break
			}
			for _, f := range work {
				f()
			}
		}
	}
}

// stop reports the group stopped, once its members are (runtime Stop).
func (g *syncGroup) stop() {
	g.mu.Lock()
	from := g.state
	if !g.stopped {
		g.stopped = true
		close(g.quit)
	}
	g.state = StateStop
	g.mu.Unlock()
	g.rt.m.groupState(g.name, StateStop)
	if from != StateStop && from != StateInit {
		g.rt.emit(Event{Kind: EventGroupStateChange, Group: g.name, From: from, To: StateStop, Cause: CauseShutdown})
	}
}

func (g *syncGroup) status() SyncGroupStatus {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := SyncGroupStatus{Name: g.name, State: g.state, FaultyMembers: g.faults}
	for _, n := range g.members {
		if g.info[n] != nil {
			s.Members = append(s.Members, n)
		} else {
			s.Missing = append(s.Missing, n)
		}
	}
	return s
}
