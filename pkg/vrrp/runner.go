package vrrp

import (
	"fmt"
	"log/slog"
	"net/netip"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// rxEvent is an accepted advert queued to its instance. Only the fields
// HandleAdvert reads are kept (no address list), so it carries no
// reference to the reader's buffers.
type rxEvent struct {
	src netip.Addr
	adv Advert
}

func scalarAdvert(a *Advert) Advert {
	c := *a
	c.Addrs = nil
	return c
}

// rxView is what the reader needs of an instance to validate a packet for
// it: the instance's state and receive rules, published by the instance's
// goroutine whenever they change. It is never modified once published.
type rxView struct {
	state State
	rx    RxConfig // SkipAddrCheckFrom already set as Instance.Validate would
}

// runner owns one Instance: its goroutine is the only one that calls the
// Instance's methods.
type runner struct {
	rt   *Runtime
	in   *Instance
	spec InstanceSpec
	name string
	port *port
	log  *slog.Logger
	im   *instMetrics

	inbox chan rxEvent
	ctl   chan func(time.Time) []Action
	done  chan struct{} // closed when the goroutine has returned

	view   atomic.Pointer[rxView]
	epoch  atomic.Uint64 // bumped at every transition: stale GARPs are dropped
	master atomic.Bool   // state is MASTER (for the pacers)
	pacers []*pacer      // one per spec.Announce entry

	cfg      atomic.Pointer[Config]    // the instance's normalized config, for status
	group    atomic.Pointer[syncGroup] // its sync group, if any
	ownFault atomic.Bool               // a fault source of its own is set
	held     bool                      // HoldInit: Start not called yet (owned by the goroutine)

	// Owned by the goroutine.
	timer     *waker
	armed     time.Time
	buf       []byte
	dsts      []netip.Addr
	faults    map[string]string
	stopping  bool
	retry     *time.Timer // clears the "vip" fault
	last      Status
	lastView  rxView
	viewDirty bool // the receive rules changed (reconfiguration)
	// vipGrace: a reload changed the VIPs of this BACKUP; until its next
	// transition it skips the address checks for its current master,
	// whose adverts still carry the old list until that node reloads
	// too (else it would drop them, RFC 5798 7.1, and take over).
	vipGrace   bool
	prioReport uint8     // the effective priority last reported by an event
	groupWant  State     // the wanted state last told to the sync group
	groupFault bool      // the fault level last told to the sync group
	offRx      OffloadRx // what the Offload was last told (SetRx)

	// Shared with status readers.
	statusMu sync.Mutex
	snap     Status
	faultLst []string
	crashed  string
	// The last advert handled while BACKUP from the master it then
	// followed (for lbd_vrrp_master_last_seen_seconds).
	seenFrom netip.Addr
	seenAt   time.Time

	sent, received, zeroSent, zeroRecv atomic.Uint64
	dropped, overflow, garp, errs      atomic.Uint64
}

func newRunner(rt *Runtime, in *Instance, spec InstanceSpec, p *port) *runner {
	cfg := in.Config()
	r := &runner{
		rt:     rt,
		in:     in,
		spec:   spec,
		name:   cfg.Name,
		port:   p,
		log:    rt.log.With("instance", cfg.Name, "vrid", int(cfg.VRID)),
		im:     rt.m.instance(cfg.Name, cfg.VRID),
		inbox:  make(chan rxEvent, rt.opts.InboxSize),
		ctl:    make(chan func(time.Time) []Action, 16),
		done:   make(chan struct{}),
		buf:    make([]byte, 0, 64+16*len(cfg.VIPs)),
		faults: map[string]string{},
	}
	if len(cfg.UnicastPeers) > 0 {
		for _, p := range cfg.UnicastPeers {
			r.dsts = append(r.dsts, p.Addr)
		}
	} else {
		r.dsts = []netip.Addr{spec.Group}
	}
	r.snap = in.Status()
	r.cfg.Store(&cfg)
	r.prioReport = cfg.Priority
	r.groupWant = StateBackup
	r.held = spec.HoldInit
	v0 := rxView{state: StateInit, rx: in.RxConfig()}
	r.lastView = v0
	r.view.Store(&v0)
	if spec.Offload != nil {
		r.tellOffload(false, cfg.SkipCheckAdvAddr)
	}
	r.im.state.Set(float64(StateInit.Metric()))
	r.im.prio.Set(float64(cfg.Priority))
	r.im.confPrio.Set(float64(cfg.Priority))
	return r
}

// run is the instance's goroutine: Start, then one step per timer,
// advert or control call, until shutdown.
func (r *runner) run() {
	defer r.rt.rwg.Done()
	defer close(r.done)
	defer r.recoverPanic()

	r.timer = newWaker(r.rt.opts.PreciseTimers)
	defer r.timer.Close()

	defer func() {
		if r.retry != nil {
			r.retry.Stop()
		}
	}()

	now := time.Now()
	if r.spec.Fault != "" {
		r.do(now, r.setFault(now, "setup", true, r.spec.Fault))
	}
	if !r.held {
		r.do(now, r.in.Start(now))
	}
	r.publish()
	for !r.stopping {
		var acts []Action
		select {
		case <-r.timer.short:
			var due bool
			if now, acts, due = r.timerFired(); !due {
				continue
			}
		case <-r.timer.long:
			var due bool
			if now, acts, due = r.timerFired(); !due {
				continue
			}
		case ev := <-r.inbox:
			now = time.Now()
			acts = r.handleAdvert(now, &ev)
		case f := <-r.ctl:
			now = time.Now()
			acts = f(now)
		}
		r.do(now, acts)
		r.publish()
	}
}

// timerFired handles a wake of the instance's timer; due is false when it
// was early or stale.
func (r *runner) timerFired() (now time.Time, acts []Action, due bool) {
	now = time.Now()
	if r.armed.IsZero() {
		return now, nil, false // a stale wake of a stopped timer
	}
	if r.armed.After(now) {
		// Early (see earlyWake) or stale: wait out the rest.
		r.timer.Arm(r.armed)
		return now, nil, false
	}
	r.rt.m.ObserveLateness(now.Sub(r.armed))
	r.armed = time.Time{}
	// Adverts that arrived before the timer fired count first:
	// after a stall (a starved CPU) both are ready at once, and
	// a BACKUP must not take over from a master whose advert
	// is already queued.
	r.drainInbox()
	now = time.Now()
	return now, r.in.Tick(now), true
}

// drainInbox handles every advert already queued, each as its own step.
func (r *runner) drainInbox() {
	for {
		select {
		case ev := <-r.inbox:
			now := time.Now()
			r.do(now, r.handleAdvert(now, &ev))
		default:
			return
		}
	}
}

// handleAdvert hands an accepted advert to the instance and notes when
// the master a BACKUP follows was last heard.
func (r *runner) handleAdvert(now time.Time, ev *rxEvent) []Action {
	acts := r.in.HandleAdvert(now, ev.src, &ev.adv)
	if r.in.state == StateBackup && r.in.master == ev.src {
		r.statusMu.Lock()
		r.seenFrom, r.seenAt = ev.src, now
		r.statusMu.Unlock()
	}
	return acts
}

// masterSeen is when master's last advert was accepted, by the socket
// path or the offload; zero if not known.
func (r *runner) masterSeen(master netip.Addr, off OffloadStats) time.Time {
	r.statusMu.Lock()
	var t time.Time
	if r.seenFrom == master {
		t = r.seenAt
	}
	r.statusMu.Unlock()
	if off.MasterAddr == master && off.LastSeen.After(t) {
		t = off.LastSeen
	}
	return t
}

// recoverPanic is the last line of defence: a bug in this instance's
// step must not take the other instances down. The instance stops for
// good (its state could be inconsistent), reported as FAULT, with its
// VIPs removed as far as possible.
func (r *runner) recoverPanic() {
	p := recover()
	if p == nil {
		return
	}
	r.log.Error("vrrp instance crashed; it stays down until lbd restarts", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	r.im.error(OpPanic)
	r.errs.Add(1)
	r.epoch.Add(1)
	r.master.Store(false)
	r.view.Store(&rxView{state: StateFault})
	r.im.state.Set(float64(StateFault.Metric()))
	func() {
		defer func() { recover() }()
		if r.spec.Offload != nil && r.offRx.EveryAdvert {
			x := r.offRx
			x.EveryAdvert = false
			r.spec.Offload.SetRx(x)
		}
		r.removeVIPs(nil)
	}()
	r.statusMu.Lock()
	r.crashed = fmt.Sprint(p)
	r.statusMu.Unlock()
}

// control runs f on the instance's goroutine, unless it has ended.
func (r *runner) control(f func(time.Time) []Action) {
	select {
	case r.ctl <- f:
	case <-r.done:
	}
}

// shutdown asks the goroutine to stop the instance and return; before
// Start it only marks the instance stopped. removed reports the stop as
// the instance's removal by a reload (CauseRemoved).
func (r *runner) shutdown(removed bool) {
	r.control(func(now time.Time) []Action {
		r.stopping = true
		if removed {
			return r.in.Remove(now)
		}
		return r.in.Shutdown(now)
	})
}

// release starts an instance created with HoldInit.
func (r *runner) release() {
	r.control(func(now time.Time) []Action {
		if !r.held {
			return nil
		}
		r.held = false
		return r.in.Start(now)
	})
}

// deliver queues an accepted advert without ever blocking the reader.
func (r *runner) deliver(ev rxEvent) bool {
	select {
	case r.inbox <- ev:
		return true
	default:
		r.overflow.Add(1)
		r.im.over.Inc()
		return false
	}
}

func (r *runner) setFault(now time.Time, source string, on bool, detail string) []Action {
	if on {
		r.faults[source] = detail
	} else {
		delete(r.faults, source)
	}
	list := r.faultList()
	r.statusMu.Lock()
	r.faultLst = list
	r.statusMu.Unlock()
	r.ownFault.Store(len(list) > 0)
	acts := r.in.SetFault(now, len(list) > 0, strings.Join(list, "; "))
	return acts
}

func (r *runner) faultList() []string {
	list := make([]string, 0, len(r.faults))
	for s, d := range r.faults {
		list = append(list, s+": "+d)
	}
	sort.Strings(list)
	return list
}

// do carries out actions in order (package doc, "What the runtime must
// do").
func (r *runner) do(now time.Time, acts []Action) {
	var vipErr error
	garps, extras := 0, 0
	var changes []Action // told after the announcements are queued
	for _, a := range acts {
		switch a.Kind {
		case ActionSendAdvert:
			r.sendAdvert(a.Priority)
		case ActionAddVIPs:
			if err := r.addVIPs(a.VIPs); err != nil && vipErr == nil {
				vipErr = err
			}
		case ActionRemoveVIPs:
			r.removeVIPs(a.VIPs)
		case ActionGratuitous:
			// Queued once the batch is done: the transition to MASTER
			// comes last in it, and the messages belong to the
			// mastership it starts.
			if a.ExtraIf {
				extras += a.Repeat
			} else {
				garps += a.Repeat
			}
		case ActionStateChange:
			r.enterState(a)
			changes = append(changes, a)
		case ActionMasterRxLowerPriority:
			r.log.Debug("advert of lower priority received as master", "peer", a.Peer)
			r.rt.emit(Event{Kind: EventMasterRxLowerPriority, Instance: r.name, Group: r.groupName(),
				From: StateMaster, To: StateMaster, Priority: r.in.Status().EffectivePriority, Peer: a.Peer})
		case ActionOwnerConflict:
			r.log.Error("another router claims to own the addresses (priority 255): configuration error; lowering the local priority to 254", "peer", a.Peer)
		}
	}
	if vipErr == nil && r.in.State() == StateMaster {
		r.announce(garps, false)
		r.announce(extras, true)
	}
	// The log line and the event (routes, notify scripts, FIFO, mail)
	// come after the gratuitous ARPs are on their way, as in keepalived's
	// vrrp_state_become_master: the network learns first.
	for _, a := range changes {
		r.tellStateChange(a)
	}
	if vipErr != nil && r.in.State() == StateMaster {
		r.log.Error("vip could not be added: entering FAULT", "error", vipErr, "retry_in", r.rt.opts.FaultRetry)
		r.do(now, r.setFault(now, "vip", true, vipErr.Error()))
		if r.retry != nil {
			r.retry.Stop()
		}
		r.retry = time.AfterFunc(r.rt.opts.FaultRetry, func() {
			r.control(func(now time.Time) []Action { return r.setFault(now, "vip", false, "") })
		})
	}
}

func (r *runner) sendAdvert(prio uint8) {
	if r.spec.Conn == nil {
		return
	}
	src := r.in.SourceAddr()
	for _, dst := range r.dsts {
		b, err := r.in.AppendAdvert(r.buf[:0], prio, src, dst)
		if err == nil {
			r.buf = b
			err = r.spec.Conn.WriteTo(b, src, dst)
		}
		if err != nil {
			r.errs.Add(1)
			r.im.error(OpSendAdvert)
			r.log.Warn("send advert", "dst", dst, "priority", int(prio), "error", err)
			continue
		}
		r.sent.Add(1)
		r.im.sent.Inc()
		if prio == PriorityStop {
			r.zeroSent.Add(1)
			r.im.zeroSent.Inc()
		}
	}
}

// allVIPs returns only, or when nil every VIP and excluded VIP.
func (r *runner) allVIPs(only []VIP) [][]VIP {
	if only != nil {
		return [][]VIP{only}
	}
	cfg := r.in.Config()
	return [][]VIP{cfg.VIPs, cfg.ExcludedVIPs}
}

func (r *runner) addVIPs(only []VIP) error {
	if r.spec.Addresses == nil {
		return nil
	}
	var first error
	for _, list := range r.allVIPs(only) {
		for _, v := range list {
			if err := r.spec.Addresses.AddVIP(v); err != nil {
				r.errs.Add(1)
				r.im.error(OpAddVIP)
				if first == nil {
					first = err
				}
			}
		}
	}
	return first
}

func (r *runner) removeVIPs(only []VIP) {
	if r.spec.Addresses == nil {
		return
	}
	for _, list := range r.allVIPs(only) {
		for _, v := range list {
			if err := r.spec.Addresses.RemoveVIP(v); err != nil {
				r.errs.Add(1)
				r.im.error(OpRemoveVIP)
				r.log.Error("remove vip", "vip", v.Prefix, "error", err)
			}
		}
	}
}

// announce queues repeat rounds of every target (with extraIf, of the
// targets marked ExtraIf), in keepalived's order (vrrp_send_link_update:
// each round announces every VIP, then every excluded VIP), to the
// pacers; it never blocks.
func (r *runner) announce(repeat int, extraIf bool) {
	if len(r.spec.Announce) == 0 || repeat <= 0 {
		return
	}
	epoch := r.epoch.Load()
	for j := 0; j < repeat; j++ {
		for i := range r.spec.Announce {
			if extraIf && !r.spec.Announce[i].ExtraIf {
				continue
			}
			r.pacers[i].enqueue(garpMsg{r: r, t: &r.spec.Announce[i], epoch: epoch})
		}
	}
}

// enterState is the runner's own bookkeeping of a transition: the epoch
// that announcements queued from now on belong to, and the metrics.
func (r *runner) enterState(a Action) {
	r.epoch.Add(1)
	if r.vipGrace {
		r.vipGrace = false
		r.viewDirty = true
	}
	r.master.Store(a.To == StateMaster)
	r.im.state.Set(float64(a.To.Metric()))
	r.im.transition(a.To, a.Cause)
}

// tellStateChange logs a transition and hands it to the runtime's
// OnEvent.
func (r *runner) tellStateChange(a Action) {
	attrs := []any{"from", a.From.String(), "to", a.To.String(), "reason", a.Cause.String()}
	if a.Detail != "" {
		attrs = append(attrs, "detail", a.Detail)
	}
	if a.Peer.IsValid() {
		attrs = append(attrs, "master", a.Peer)
	}
	r.log.Info("vrrp transition", attrs...)
	ev := Event{Kind: EventStateChange, Instance: r.name, From: a.From, To: a.To, Cause: a.Cause,
		Priority: r.in.Status().EffectivePriority, Peer: a.Peer}
	g := r.group.Load()
	if g != nil {
		ev.Group = g.name
		ev.Synced = g.memberState(r.name, a.From, a.To)
	}
	r.rt.emit(ev)
}

func (r *runner) groupName() string {
	if g := r.group.Load(); g != nil {
		return g.name
	}
	return ""
}

// snapshot returns the instance's last published status.
func (r *runner) snapshot() Status {
	r.statusMu.Lock()
	defer r.statusMu.Unlock()
	return r.snap
}

// publish makes the instance's new state visible to the reader (receive
// rules), to status readers and to the priority gauge, when it changed.
func (r *runner) publish() {
	defer r.rearm()
	st := r.in.Status()
	if g := r.group.Load(); g != nil {
		fault := len(r.faults) > 0
		if st.WantState != r.groupWant || fault != r.groupFault {
			r.groupWant, r.groupFault = st.WantState, fault
			g.memberLevels(r.name, st.WantState, fault)
		}
	}
	if st.EffectivePriority != r.prioReport {
		r.prioReport = st.EffectivePriority
		r.rt.emit(Event{Kind: EventPriorityChange, Instance: r.name, Group: r.groupName(),
			From: st.State, To: st.State, Priority: st.EffectivePriority})
	}
	if st == r.last && !r.viewDirty {
		return
	}
	if st.EffectivePriority != r.last.EffectivePriority {
		r.im.prio.Set(float64(st.EffectivePriority))
	}
	r.last = st
	r.statusMu.Lock()
	r.snap = st
	r.statusMu.Unlock()
	if r.spec.Offload != nil {
		every := r.in.NeedsEveryAdvert()
		skip := r.in.cfg.SkipCheckAdvAddr || r.vipGrace
		if r.viewDirty || every != r.offRx.EveryAdvert || skip != r.offRx.SkipAddrCheck || st.State != r.offRx.State ||
			r.in.rx.LocalAddr != r.offRx.Rx.LocalAddr {
			r.tellOffload(every, skip)
		}
	}

	v := rxView{state: st.State, rx: r.in.RxConfig()}
	v.rx.SkipAddrCheckFrom = netip.Addr{}
	if (r.in.cfg.SkipCheckAdvAddr || r.vipGrace) && st.State == StateBackup {
		v.rx.SkipAddrCheckFrom = st.MasterAddr
	}
	if r.viewDirty || v.state != r.lastView.state || v.rx.SkipAddrCheckFrom != r.lastView.rx.SkipAddrCheckFrom ||
		v.rx.LocalAddr != r.lastView.rx.LocalAddr {
		r.viewDirty = false
		r.lastView = v
		r.view.Store(&v)
	}
}

// tellOffload hands the Offload the instance's current receive rules.
func (r *runner) tellOffload(every, skip bool) {
	rx := r.in.RxConfig()
	rx.SkipAddrCheckFrom = netip.Addr{}
	r.offRx = OffloadRx{Rx: rx, EveryAdvert: every, SkipAddrCheck: skip, State: r.in.State()}
	r.spec.Offload.SetRx(r.offRx)
}

// rearm points the timer at the instance's next deadline.
func (r *runner) rearm() {
	d, ok := r.in.Deadline()
	switch {
	case !ok:
		if !r.armed.IsZero() {
			r.timer.Stop()
			r.armed = time.Time{}
		}
	case d != r.armed:
		r.armed = d
		r.timer.Arm(d)
	}
}

func (r *runner) status() InstanceStatus {
	cfg := r.cfg.Load() // replaced, never modified, by a reconfiguration
	s := InstanceStatus{
		Name:           cfg.Name,
		VRID:           cfg.VRID,
		Interface:      r.spec.Interface,
		Family:         cfg.Family(),
		Version:        cfg.Version,
		Unicast:        len(cfg.UnicastPeers) > 0,
		AdvertInterval: cfg.AdvertInterval,
	}
	s.SyncGroup = r.groupName()
	if s.Unicast {
		s.Peers = slices.Clone(r.dsts)
	} else {
		s.Group = r.spec.Group
	}
	for _, v := range cfg.VIPs {
		s.VIPs = append(s.VIPs, v.Prefix)
	}
	for _, v := range cfg.ExcludedVIPs {
		s.ExcludedVIPs = append(s.ExcludedVIPs, v.Prefix)
	}
	r.statusMu.Lock()
	s.Status = r.snap
	s.Faults = slices.Clone(r.faultLst)
	s.Crashed = r.crashed
	r.statusMu.Unlock()
	if s.Crashed != "" {
		s.State = StateFault
		s.Fault = true
		s.FaultDetail = "crashed: " + s.Crashed
	}
	s.SourceAddr = r.view.Load().rx.LocalAddr
	s.AdvertsSent = r.sent.Load()
	s.AdvertsReceived = r.received.Load()
	s.PriorityZeroSent = r.zeroSent.Load()
	s.PriorityZeroReceived = r.zeroRecv.Load()
	s.Dropped = r.dropped.Load()
	if r.spec.Offload != nil {
		off := r.spec.Offload.Stats()
		s.AdvertsReceived += off.Received
		s.PriorityZeroReceived += off.PriorityZeroReceived
		for _, n := range off.Dropped {
			s.Dropped += n
		}
	}
	s.InboxOverflow = r.overflow.Load()
	s.GARPSent = r.garp.Load()
	s.Errors = r.errs.Load()
	return s
}
