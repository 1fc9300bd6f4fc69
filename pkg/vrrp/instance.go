package vrrp

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// ActionKind says what the runtime must do for an Action.
type ActionKind uint8

const (
	// ActionSendAdvert: send an advert with Priority (0: the master
	// resigns), built with Instance.AppendAdvert, to the multicast group or
	// to each unicast peer.
	ActionSendAdvert ActionKind = iota + 1
	// ActionAddVIPs: install the VIPs and excluded VIPs (and, with accept
	// off, the rules that drop traffic to them); only Action.VIPs when
	// that is set (a reconfiguration adding addresses).
	ActionAddVIPs
	// ActionRemoveVIPs: remove them (only Action.VIPs when set). Absent
	// addresses are not an error (the instance asks at startup too, to
	// clear leftovers of a crash).
	ActionRemoveVIPs
	// ActionGratuitous: for every VIP and excluded VIP, Repeat gratuitous ARPs
	// (IPv4) or unsolicited neighbour advertisements (IPv6), paced by
	// GARP.Interval / GARP.NAInterval. With ExtraIf, one message for each
	// AnnounceTarget marked ExtraIf only (garp_extra_if).
	ActionGratuitous
	// ActionStateChange: the state changed From -> To because of Cause
	// (Detail: the fault's text for CauseFault). Log it, run notify
	// scripts, update the state metric.
	ActionStateChange
	// ActionMasterRxLowerPriority: as MASTER, an advert of lower priority
	// came from Peer (keepalived's notify_master_rx_lower_pri).
	ActionMasterRxLowerPriority
	// ActionOwnerConflict: as MASTER with priority 255, an advert of
	// priority 255 came from Peer: both claim to own the addresses. As
	// keepalived does, the local priority was lowered to 254; log the
	// configuration error.
	ActionOwnerConflict
)

var actionNames = [...]string{
	ActionSendAdvert:            "send_advert",
	ActionAddVIPs:               "add_vips",
	ActionRemoveVIPs:            "remove_vips",
	ActionGratuitous:            "gratuitous",
	ActionStateChange:           "state_change",
	ActionMasterRxLowerPriority: "master_rx_lower_priority",
	ActionOwnerConflict:         "owner_conflict",
}

// String returns the kind's name.
func (k ActionKind) String() string {
	if int(k) < len(actionNames) && actionNames[k] != "" {
		return actionNames[k]
	}
	return fmt.Sprintf("ActionKind(%d)", uint8(k))
}

// Action is one effect the runtime must carry out, in the order returned.
type Action struct {
	Kind     ActionKind
	Priority uint8 // ActionSendAdvert
	Repeat   int   // ActionGratuitous
	ExtraIf  bool  // ActionGratuitous: the garp_extra_if targets only
	From, To State // ActionStateChange
	Cause    Cause // ActionStateChange
	Detail   string
	// Peer is the advert's sender for ActionMasterRxLowerPriority and
	// ActionOwnerConflict, and the new master for a StateChange to BACKUP
	// caused by an advert.
	Peer netip.Addr
	// VIPs limits ActionAddVIPs / ActionRemoveVIPs to these addresses;
	// nil means every VIP and excluded VIP.
	VIPs []VIP
}

// String renders the action compactly, for logs and test failures.
func (a Action) String() string {
	var b strings.Builder
	b.WriteString(a.Kind.String())
	switch a.Kind {
	case ActionSendAdvert:
		fmt.Fprintf(&b, "(prio=%d)", a.Priority)
	case ActionGratuitous:
		fmt.Fprintf(&b, "(repeat=%d", a.Repeat)
		if a.ExtraIf {
			b.WriteString(" extra_if")
		}
		b.WriteString(")")
	case ActionStateChange:
		fmt.Fprintf(&b, "(%v->%v %v", a.From, a.To, a.Cause)
		if a.Detail != "" {
			fmt.Fprintf(&b, " %q", a.Detail)
		}
		if a.Peer.IsValid() {
			fmt.Fprintf(&b, " peer=%v", a.Peer)
		}
		b.WriteString(")")
	case ActionMasterRxLowerPriority, ActionOwnerConflict:
		fmt.Fprintf(&b, "(peer=%v)", a.Peer)
	case ActionAddVIPs, ActionRemoveVIPs:
		if a.VIPs != nil {
			b.WriteString("(")
			for i, v := range a.VIPs {
				if i > 0 {
					b.WriteString(" ")
				}
				b.WriteString(v.Prefix.String())
			}
			b.WriteString(")")
		}
	}
	return b.String()
}

// Options are the instance's seams to the runtime.
type Options struct {
	// LocalAddr is the primary address of the instance's interface, which
	// keepalived uses as source when Config.SourceAddr (mcast_src_ip /
	// unicast_src_ip) is unset: compared on equal priority, used to spot
	// our own adverts, part of the v3 pseudo-header. See SetLocalAddr.
	LocalAddr netip.Addr

	// LastSeen, when the XDP program absorbs steady-state adverts, reports
	// when it last accepted an advert from the master this instance last
	// accepted (same sender, same priority and interval: anything else is
	// an event the runtime hands to HandleAdvert). The times are on the
	// instance's clock (the runtime converts bpf_ktime). When the master-down
	// timer expires while the instance follows that master, it asks; if the
	// master was seen within the Master_Down_Interval the timer re-arms from
	// that time instead of taking over. It is not asked while
	// NeedsEveryAdvert holds (the datapath then absorbs nothing). nil:
	// every advert goes through HandleAdvert.
	LastSeen func(now time.Time) (time.Time, bool)

	// MasterGate, if set, is asked before any transition to MASTER that
	// the instance decides itself (not Force). false holds the instance in
	// BACKUP with WantState MASTER and re-arms its timer; the sync group
	// then calls Force(now, StateMaster, CauseSyncGroup) on its members. As
	// keepalived's vrrp_sync_can_goto_master.
	MasterGate func() bool
}

// Status is a snapshot of an instance, for "lbd status" and metrics.
type Status struct {
	State               State
	WantState           State // MASTER while MasterGate holds the instance in BACKUP
	LastCause           Cause
	LastTransition      time.Time
	Fault               bool   // SetFault(on)
	FaultDetail         string // its text
	BasePriority        uint8
	EffectivePriority   uint8
	MasterAddr          netip.Addr // the master last heard (BACKUP); invalid if none
	MasterPriority      uint8
	MasterAdverInterval time.Duration // RFC 5798 Master_Adver_Interval
	MasterDownInterval  time.Duration // the current master-down timer length
	LegacyChecksum      bool          // sending keepalived's pre-1.3.6 unicast v3 checksum
	PreemptDelayUntil   time.Time     // preempt_delay running until then; zero if not
}

// Instance is the deterministic core of one VRRP instance (RFC 3768 6.4, RFC
// 5798 6.4, with keepalived's behaviour where they leave room). It has no
// goroutines, reads no clock and does no I/O: every input carries the
// current time, every output is a list of Actions, and Deadline says when
// Tick must be called next. It is not safe for concurrent use: one goroutine
// owns it.
//
// The runtime's loop:
//
//	acts := in.Start(now)
//	for {
//		do(acts)
//		wait for the earliest of in.Deadline(), a packet, a tracker event...
//		acts = in.Tick(now) / in.HandleAdvert(now, src, &adv) / in.SetFault(...)
//	}
type Instance struct {
	cfg   Config
	opts  Options
	rx    RxConfig
	local netip.Addr

	started   bool
	state     State
	want      State
	fault     bool
	faultText string
	syncFault bool // held in FAULT by Force

	base, prio uint8         // configured and effective priority
	mai        time.Duration // Master_Adver_Interval
	down       time.Duration // master-down timer length (keepalived ms_down_timer)

	downAt      time.Time // BACKUP: master-down timer
	adverAt     time.Time // MASTER: adver timer
	garpAt      time.Time // MASTER: delayed GARP burst (garp_master_delay)
	lowerGarpAt time.Time // MASTER: delayed burst after a lower priority advert
	refreshAt   time.Time // MASTER: next GARP refresh (garp_master_refresh)
	extraAt     time.Time // MASTER: next round on other interfaces (garp_extra_if)
	preemptAt   time.Time // BACKUP: preempt_delay running until then

	downCause Cause // the cause if the master-down timer fires now
	following bool  // the down timer was armed by an accepted advert: LastSeen may extend it

	master     netip.Addr
	masterPrio uint8

	lastCause      Cause
	lastTransition time.Time
	legacy         bool
}

// NewInstance returns an instance in INIT for cfg, which it normalizes (a
// copy) and validates. Start it with Start.
func NewInstance(cfg Config, opts Options) (*Instance, error) {
	cfg.VIPs = append([]VIP(nil), cfg.VIPs...)
	cfg.ExcludedVIPs = append([]VIP(nil), cfg.ExcludedVIPs...)
	cfg.UnicastPeers = append([]UnicastPeer(nil), cfg.UnicastPeers...)
	cfg.Normalize()
	if err := cfg.validateNormalized(); err != nil {
		return nil, err
	}
	in := &Instance{
		cfg:   cfg,
		opts:  opts,
		state: StateInit,
		want:  StateBackup,
		base:  cfg.Priority,
		prio:  cfg.Priority,
		mai:   cfg.AdvertInterval,
	}
	in.local = cfg.SourceAddr
	if !in.local.IsValid() {
		in.local = opts.LocalAddr
	}
	in.legacy = cfg.ChecksumCompat == ChecksumLegacy && len(cfg.UnicastPeers) > 0
	in.rx = cfg.rxConfig(in.local)
	in.down = in.downInterval()
	return in, nil
}

// Config returns the normalized configuration (its slices are shared: do
// not modify them).
func (in *Instance) Config() Config { return in.cfg }

// SourceAddr returns the address adverts are sent from: Config.SourceAddr,
// else Options.LocalAddr / SetLocalAddr.
func (in *Instance) SourceAddr() netip.Addr { return in.local }

// SetLocalAddr changes the interface's primary address (when the runtime
// sees it change). It has no effect when Config.SourceAddr is set.
func (in *Instance) SetLocalAddr(a netip.Addr) {
	if in.cfg.SourceAddr.IsValid() {
		return
	}
	in.local = a
	in.rx.LocalAddr = a
}

// State returns the current state.
func (in *Instance) State() State { return in.state }

// Status returns a snapshot.
func (in *Instance) Status() Status {
	return Status{
		State:               in.state,
		WantState:           in.want,
		LastCause:           in.lastCause,
		LastTransition:      in.lastTransition,
		Fault:               in.fault,
		FaultDetail:         in.faultText,
		BasePriority:        in.base,
		EffectivePriority:   in.prio,
		MasterAddr:          in.master,
		MasterPriority:      in.masterPrio,
		MasterAdverInterval: in.mai,
		MasterDownInterval:  in.down,
		LegacyChecksum:      in.legacy,
		PreemptDelayUntil:   in.preemptAt,
	}
}

// Deadline returns when Tick must next be called, and false when no timer
// runs (INIT, FAULT, STOP).
func (in *Instance) Deadline() (time.Time, bool) {
	var d time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	switch in.state {
	case StateBackup:
		earliest(in.downAt)
	case StateMaster:
		earliest(in.adverAt)
		earliest(in.garpAt)
		earliest(in.lowerGarpAt)
	}
	return d, !d.IsZero()
}

// Validate checks a received packet against this instance's receive rules
// (the package function Validate), applying skip_check_adv_addr for the
// current master while BACKUP. The caller counts every Reason other than
// ReasonNone, and hands accepted adverts to HandleAdvert.
func (in *Instance) Validate(p Packet, adv *Advert) Reason {
	in.rx.SkipAddrCheckFrom = netip.Addr{}
	if in.cfg.SkipCheckAdvAddr && in.state == StateBackup {
		in.rx.SkipAddrCheckFrom = in.master
	}
	return Validate(&in.rx, p, adv)
}

// NeedsEveryAdvert reports whether a datapath that absorbs the recorded
// master's unchanged adverts (Options.LastSeen) must hand this instance
// every advert instead, because the same advert may now mean something
// else: as MASTER (any advert is compared with us), and as a BACKUP that
// hears a master of lower priority and may preempt it (preempt_delay
// running, or our priority rose above the master's). The runtime passes
// it on (Offload.SetEveryAdvert) after each step; while it holds,
// LastSeen is not consulted.
func (in *Instance) NeedsEveryAdvert() bool {
	switch in.state {
	case StateMaster:
		return true
	case StateBackup:
		return in.master.IsValid() && in.masterPrio < in.prio && !in.cfg.NoPreempt
	}
	return false
}

// RxConfig returns the receive rules (for the XDP loader's maps).
func (in *Instance) RxConfig() RxConfig { return in.rx }

// AppendAdvert appends this instance's advert with the given priority (from
// an ActionSendAdvert), checksummed for src -> dst, to b. src is
// SourceAddr(); dst the multicast group or one unicast peer.
func (in *Instance) AppendAdvert(b []byte, priority uint8, src, dst netip.Addr) ([]byte, error) {
	adv := Advert{
		Version:        in.cfg.Version,
		Type:           TypeAdvertisement,
		VRID:           in.cfg.VRID,
		Priority:       priority,
		Interval:       in.cfg.AdvertInterval,
		Addrs:          in.rx.VIPs,
		LegacyChecksum: in.legacy && in.cfg.Version == 3 && src.Is4(),
	}
	if in.cfg.Version == 2 {
		adv.AuthType = in.cfg.Auth.Type
		if src.Is4() {
			adv.AuthData = in.rx.AuthData
		}
	}
	return adv.AppendTo(b, src, dst)
}

// downInterval is the Master_Down_Interval for the current priority and
// Master_Adver_Interval.
func (in *Instance) downInterval() time.Duration {
	return MasterDownInterval(in.cfg.Version, in.prio, in.mai, in.cfg.DownTimerAdverts)
}

func (in *Instance) owner() bool { return in.base == PriorityOwner }

// startsAsMaster reports keepalived's "wantstate MASTER": priority 255 and
// state MASTER. A non-owner's state MASTER does nothing more than BACKUP in
// keepalived 2.2.7 (measured: it waits the full Master_Down_Interval).
func (in *Instance) startsAsMaster() bool {
	return in.owner() && in.cfg.StartState == StartMaster
}

func (in *Instance) transition(now time.Time, acts []Action, to State, cause Cause, detail string, peer netip.Addr) []Action {
	from := in.state
	in.state = to
	in.lastCause = cause
	in.lastTransition = now
	return append(acts, Action{Kind: ActionStateChange, From: from, To: to, Cause: cause, Detail: detail, Peer: peer})
}

func (in *Instance) clearMasterTimers() {
	in.adverAt, in.garpAt, in.lowerGarpAt, in.refreshAt, in.extraAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
}

// armDown starts the master-down timer of length d.
func (in *Instance) armDown(now time.Time, d time.Duration, cause Cause, following bool) {
	in.down = d
	in.downAt = now.Add(d)
	in.downCause = cause
	in.following = following
}

// Start leaves INIT (RFC 5798 6.4.1, keepalived vrrp_init_state): to FAULT
// if SetFault(on) came first; to MASTER at once for the address owner with
// state MASTER; else to BACKUP with the Master_Down_Interval. VIPs that a
// previous run may have left are removed first, as keepalived does. A
// second call does nothing.
func (in *Instance) Start(now time.Time) []Action {
	if in.started {
		return nil
	}
	in.started = true
	acts := []Action{{Kind: ActionRemoveVIPs}}
	switch {
	case in.fault:
		in.want = StateFault
		return in.transition(now, acts, StateFault, CauseFault, in.faultText, netip.Addr{})
	case in.startsAsMaster() && in.gateOpen():
		return in.becomeMaster(now, acts, CauseStartAsOwner)
	}
	acts = in.transition(now, acts, StateBackup, CauseStartup, "", netip.Addr{})
	in.enterBackupTimers(now)
	if in.startsAsMaster() {
		in.want = StateMaster // held by the sync group
	}
	return acts
}

func (in *Instance) gateOpen() bool { return in.opts.MasterGate == nil || in.opts.MasterGate() }

// enterBackupTimers resets what a fresh BACKUP state starts with
// (keepalived vrrp_state_leave_master / leave_fault): Master_Adver_Interval
// back to ours, no preempt delay running, down timer armed in full.
func (in *Instance) enterBackupTimers(now time.Time) {
	in.want = StateBackup
	in.mai = in.cfg.AdvertInterval
	in.preemptAt = time.Time{}
	in.clearMasterTimers()
	in.armDown(now, in.downInterval(), CauseMasterDownTimer, false)
}

// becomeMaster is keepalived's vrrp_state_goto_master + master_tx: advert
// first (so that the old master drops the VIPs before our GARPs), then the
// VIPs, the GARP burst, and the timers.
func (in *Instance) becomeMaster(now time.Time, acts []Action, cause Cause) []Action {
	in.want = StateMaster
	in.downAt = time.Time{}
	in.following = false
	in.preemptAt = time.Time{}
	in.mai = in.cfg.AdvertInterval
	in.down = in.downInterval()
	acts = append(acts, Action{Kind: ActionSendAdvert, Priority: in.prio}, Action{Kind: ActionAddVIPs})
	g := in.cfg.GARP
	if g.MasterRepeat > 0 {
		acts = append(acts, Action{Kind: ActionGratuitous, Repeat: g.MasterRepeat})
		if g.MasterDelay > 0 {
			in.garpAt = now.Add(g.MasterDelay)
		}
	}
	if g.MasterRefresh > 0 {
		in.refreshAt = now.Add(g.MasterRefresh)
	}
	if g.ExtraIf > 0 {
		in.extraAt = now.Add(g.ExtraIf)
	}
	in.adverAt = now.Add(in.cfg.AdvertInterval)
	return in.transition(now, acts, StateMaster, cause, "", netip.Addr{})
}

// leaveMasterToBackup removes the VIPs and enters BACKUP (keepalived
// vrrp_state_leave_master with wantstate BACKUP).
func (in *Instance) leaveMasterToBackup(now time.Time, acts []Action, cause Cause, peer netip.Addr) []Action {
	in.clearMasterTimers()
	acts = append(acts, Action{Kind: ActionRemoveVIPs})
	acts = in.transition(now, acts, StateBackup, cause, "", peer)
	in.want = StateBackup
	in.preemptAt = time.Time{}
	in.armDown(now, in.downInterval(), CauseMasterDownTimer, peer.IsValid())
	return acts
}

// enterFault: a MASTER resigns (priority-0 advert, keepalived sends it on
// its way to FAULT) and drops its VIPs; timers stop.
func (in *Instance) enterFault(now time.Time, acts []Action, cause Cause, detail string) []Action {
	if in.state == StateMaster {
		acts = append(acts, Action{Kind: ActionSendAdvert, Priority: PriorityStop}, Action{Kind: ActionRemoveVIPs})
	}
	in.clearMasterTimers()
	in.downAt = time.Time{}
	in.following = false
	in.preemptAt = time.Time{}
	in.want = StateFault
	in.mai = in.cfg.AdvertInterval
	in.down = in.downInterval()
	return in.transition(now, acts, StateFault, cause, detail, netip.Addr{})
}

// leaveFault: keepalived try_up_instance / vrrp_state_leave_fault. The owner
// with state MASTER goes MASTER at once; everyone else BACKUP with the full
// Master_Down_Interval.
func (in *Instance) leaveFault(now time.Time, cause Cause) []Action {
	if in.startsAsMaster() && in.gateOpen() {
		return in.becomeMaster(now, nil, cause)
	}
	acts := in.transition(now, nil, StateBackup, cause, "", netip.Addr{})
	in.enterBackupTimers(now)
	if in.startsAsMaster() {
		in.want = StateMaster
	}
	return acts
}

// Tick runs the timers due at now: as BACKUP the master-down timer (RFC
// 6.4.2: take over, unless LastSeen shows the master alive or MasterGate
// holds the instance); as MASTER the adver timer (send an advert, and the
// GARP refresh when due) and the delayed GARP bursts.
func (in *Instance) Tick(now time.Time) []Action {
	var acts []Action
	switch in.state {
	case StateBackup:
		if in.downAt.IsZero() || now.Before(in.downAt) {
			return nil
		}
		if in.following && in.opts.LastSeen != nil && !in.NeedsEveryAdvert() {
			if seen, ok := in.opts.LastSeen(now); ok {
				if next := seen.Add(in.down); next.After(now) {
					in.downAt = next
					return nil
				}
			}
		}
		if !in.gateOpen() {
			in.want = StateMaster
			in.downAt = now.Add(in.down)
			return nil
		}
		return in.becomeMaster(now, nil, in.downCause)
	case StateMaster:
		g := in.cfg.GARP
		if !in.adverAt.IsZero() && !now.Before(in.adverAt) {
			acts = append(acts, Action{Kind: ActionSendAdvert, Priority: in.prio})
			if g.MasterRefresh > 0 && now.After(in.refreshAt) {
				if g.MasterRefreshRepeat > 0 {
					acts = append(acts, Action{Kind: ActionGratuitous, Repeat: g.MasterRefreshRepeat})
				}
				in.refreshAt = now.Add(g.MasterRefresh)
			}
			// keepalived checks vmac_garp_timer right after the refresh,
			// at each advert (vrrp.c vrrp_state_master_tx).
			if g.ExtraIf > 0 && now.After(in.extraAt) {
				acts = append(acts, Action{Kind: ActionGratuitous, Repeat: 1, ExtraIf: true})
				in.extraAt = now.Add(g.ExtraIf)
			}
			in.adverAt = now.Add(in.cfg.AdvertInterval)
		}
		if !in.garpAt.IsZero() && !now.Before(in.garpAt) {
			acts = append(acts, Action{Kind: ActionGratuitous, Repeat: g.MasterRepeat})
			in.garpAt = time.Time{}
		}
		if !in.lowerGarpAt.IsZero() && !now.Before(in.lowerGarpAt) {
			acts = append(acts, Action{Kind: ActionGratuitous, Repeat: g.LowerPrioRepeat})
			in.lowerGarpAt = time.Time{}
		}
	}
	return acts
}

// HandleAdvert processes an advert from src that passed Validate (or the
// XDP program's equivalent). In INIT, FAULT and STOP it is ignored, as
// keepalived ignores adverts there.
//
// BACKUP (RFC 5798 6.4.2, keepalived vrrp_state_backup):
//   - priority 0: the master resigns; the down timer is cut to Skew_Time;
//   - nopreempt, or priority >= ours, or preempt_delay not yet elapsed
//     (it starts at the first lower-priority advert): follow the sender
//     (v3: adopt its interval as Master_Adver_Interval) and re-arm the down
//     timer;
//   - else (a lower priority, preempt): ignore the advert, so that the down
//     timer expires and we take over (CausePreempted).
//
// MASTER (RFC 5798 6.4.3, keepalived vrrp_state_master_rx):
//   - priority 0: send an advert at once;
//   - lower priority, or equal from a lower address: send an advert (the
//     RFC discards; keepalived answers, unless lower_prio_no_advert), the
//     lower-priority GARP bursts, ActionMasterRxLowerPriority;
//   - higher priority, or equal from a higher address (compared as
//     unsigned numbers, keepalived's inet_inaddrcmp): become BACKUP, after
//     an advert of our own if higher_prio_send_advert;
//   - 255 against 255: ActionOwnerConflict, and our priority drops to 254.
func (in *Instance) HandleAdvert(now time.Time, src netip.Addr, adv *Advert) []Action {
	if adv.VRID != in.cfg.VRID || adv.Version != in.cfg.Version {
		return nil
	}
	if in.legacyAuto() && adv.LegacyChecksum {
		in.legacy = true
	}
	switch in.state {
	case StateBackup:
		in.backupRx(now, src, adv)
		return nil
	case StateMaster:
		return in.masterRx(now, src, adv)
	}
	return nil
}

func (in *Instance) legacyAuto() bool {
	return in.cfg.ChecksumCompat == ChecksumAuto && len(in.cfg.UnicastPeers) > 0
}

func (in *Instance) backupRx(now time.Time, src netip.Addr, adv *Advert) {
	p := adv.Priority
	switch {
	case p == PriorityStop:
		in.armDown(now, SkewTime(in.cfg.Version, in.prio, in.mai), CausePriorityZero, false)
	case in.cfg.NoPreempt || p >= in.prio ||
		(in.cfg.PreemptDelay > 0 && (in.preemptAt.IsZero() || in.preemptAt.After(now))):
		if in.cfg.Version == 3 && adv.Interval > 0 {
			in.mai = adv.Interval
		}
		in.master, in.masterPrio = src, p
		in.armDown(now, in.downInterval(), CauseMasterDownTimer, true)
		if in.cfg.PreemptDelay > 0 {
			if p >= in.prio {
				in.preemptAt = time.Time{}
			} else if in.preemptAt.IsZero() {
				in.preemptAt = now.Add(in.cfg.PreemptDelay)
			}
		}
		in.want = StateBackup
	default:
		// A lower priority master and we preempt: let the timer run out.
		in.master, in.masterPrio = src, p
		in.downCause = CausePreempted
		in.following = false
	}
}

func (in *Instance) masterRx(now time.Time, src netip.Addr, adv *Advert) []Action {
	var acts []Action
	p := adv.Priority
	cmp := 0
	if in.local.IsValid() && src.BitLen() == in.local.BitLen() {
		cmp = src.Compare(in.local)
	}
	higher := p > in.prio || (p == in.prio && cmp > 0)
	if p == PriorityStop || (in.cfg.HigherPrioSendAdvert && higher) {
		acts = append(acts, Action{Kind: ActionSendAdvert, Priority: in.prio})
		if p == PriorityStop {
			in.adverAt = now.Add(in.cfg.AdvertInterval)
			return acts
		}
	}
	if p == in.prio && cmp != 0 && in.prio == PriorityOwner {
		acts = append(acts, Action{Kind: ActionOwnerConflict, Peer: src})
		in.base, in.prio = PriorityOwner-1, PriorityOwner-1
		higher = true
	}
	switch {
	case p < in.prio || (p == in.prio && cmp < 0):
		if !in.cfg.LowerPrioNoAdvert {
			acts = append(acts, Action{Kind: ActionSendAdvert, Priority: in.prio})
		}
		g := in.cfg.GARP
		if g.LowerPrioRepeat > 0 {
			acts = append(acts, Action{Kind: ActionGratuitous, Repeat: g.LowerPrioRepeat})
			if g.LowerPrioDelay > 0 {
				in.lowerGarpAt = now.Add(g.LowerPrioDelay)
			}
		}
		acts = append(acts, Action{Kind: ActionMasterRxLowerPriority, Peer: src})
	case higher:
		if in.cfg.Version == 3 && adv.Interval > 0 {
			in.mai = adv.Interval
		}
		in.master, in.masterPrio = src, p
		cause := CauseHigherPriority
		if p == in.prio {
			cause = CauseHigherAddress
		}
		in.clearMasterTimers()
		acts = append(acts, Action{Kind: ActionRemoveVIPs})
		acts = in.transition(now, acts, StateBackup, cause, "", src)
		in.want = StateBackup
		in.preemptAt = time.Time{}
		in.armDown(now, in.downInterval(), CauseMasterDownTimer, true)
		return acts
	}
	// keepalived re-arms the adver timer after every advert it processed
	// as MASTER, unless lower_prio_no_advert (then nothing was sent).
	if !in.cfg.LowerPrioNoAdvert {
		in.adverAt = now.Add(in.cfg.AdvertInterval)
	}
	return acts
}

// SetPriority sets the effective priority from the tracked total (the base
// priority plus the weights of tracked interfaces, scripts, files...),
// clamped to 1..254 as keepalived does. The address owner's priority never
// changes. A MASTER advertises the new value from its next advert; a BACKUP
// recomputes its Master_Down_Interval and, when the priority rose, brings
// its running timer forward by the shorter skew (keepalived
// vrrp_set_effective_priority). Preemption then follows from the next
// advert of a now lower-priority master.
func (in *Instance) SetPriority(now time.Time, total int) []Action {
	if in.owner() {
		return nil
	}
	p := uint8(min(max(total, 1), PriorityOwner-1))
	if p == in.prio {
		return nil
	}
	in.catchUp(now)
	rising := p > in.prio
	old := in.down
	in.prio = p
	in.down = in.downInterval()
	if in.state == StateBackup && rising && old > in.down && !in.downAt.IsZero() {
		in.downAt = in.downAt.Add(in.down - old)
	}
	return nil
}

// catchUp brings a following BACKUP's master-down timer to where the
// adverts the datapath absorbed (LastSeen) would have put it on the socket
// path, before a change that may make NeedsEveryAdvert true (after which
// LastSeen is no longer asked).
func (in *Instance) catchUp(now time.Time) {
	if in.state != StateBackup || !in.following || in.opts.LastSeen == nil || in.NeedsEveryAdvert() {
		return
	}
	if seen, ok := in.opts.LastSeen(now); ok && seen.Add(in.down).After(in.downAt) {
		in.downAt = seen.Add(in.down)
	}
}

// SetFault enters (on) or leaves (off) FAULT, for the trackers (interface
// down, failed script...); detail is logged with the transition. It is
// level-triggered: the caller aggregates its fault sources. Entering FAULT as
// MASTER sends a priority-0 advert and removes the VIPs. Leaving it goes to
// BACKUP (MASTER at once for an owner with state MASTER), unless a sync
// group holds the instance in FAULT. Before Start it only records the level.
func (in *Instance) SetFault(now time.Time, on bool, detail string) []Action {
	if on == in.fault {
		return nil
	}
	in.fault = on
	if on {
		in.faultText = detail
	} else {
		in.faultText = ""
	}
	if !in.started || in.state == StateStop {
		return nil
	}
	switch {
	case on && in.state != StateFault:
		return in.enterFault(now, nil, CauseFault, detail)
	case !on && in.state == StateFault && !in.syncFault:
		return in.leaveFault(now, CauseFaultCleared)
	}
	return nil
}

// Force moves the instance to BACKUP, MASTER or FAULT for its sync group
// (keepalived vrrp_sync_master / vrrp_sync_backup / vrrp_sync_fault), with
// the cause to report (normally CauseSyncGroup). It ignores MasterGate.
// MASTER is reached only from BACKUP; BACKUP from MASTER, or from a FAULT
// the group imposed (not while SetFault holds it); FAULT from BACKUP or
// MASTER, until a Force(BACKUP). Anything else, and INIT/STOP, does nothing.
func (in *Instance) Force(now time.Time, to State, cause Cause) []Action {
	if !in.started || in.state == StateStop {
		return nil
	}
	switch to {
	case StateMaster:
		if in.state == StateBackup {
			return in.becomeMaster(now, nil, cause)
		}
	case StateBackup:
		switch in.state {
		case StateMaster:
			return in.leaveMasterToBackup(now, nil, cause, netip.Addr{})
		case StateFault:
			if in.syncFault && !in.fault {
				in.syncFault = false
				acts := in.transition(now, nil, StateBackup, cause, "", netip.Addr{})
				in.enterBackupTimers(now)
				return acts
			}
			in.syncFault = false
		case StateBackup:
			in.want = StateBackup
		}
	case StateFault:
		if in.state == StateBackup || in.state == StateMaster {
			in.syncFault = true
			return in.enterFault(now, nil, cause, "")
		}
		if in.state == StateFault {
			in.syncFault = true
		}
	}
	return nil
}

// Shutdown stops the instance for good (RFC 5798 6.4.3 Shutdown; keepalived
// on SIGTERM): a MASTER sends a priority-0 advert so that a backup takes
// over after Skew_Time, then removes its VIPs. Every state ends in STOP.
func (in *Instance) Shutdown(now time.Time) []Action {
	return in.shutdown(now, CauseShutdown)
}

// Remove is Shutdown for an instance a reload removed from the
// configuration: the same actions, reported with CauseRemoved.
func (in *Instance) Remove(now time.Time) []Action {
	return in.shutdown(now, CauseRemoved)
}

func (in *Instance) shutdown(now time.Time, cause Cause) []Action {
	if in.state == StateStop {
		return nil
	}
	var acts []Action
	if in.state == StateMaster {
		acts = append(acts, Action{Kind: ActionSendAdvert, Priority: PriorityStop}, Action{Kind: ActionRemoveVIPs})
	}
	in.clearMasterTimers()
	in.downAt = time.Time{}
	in.preemptAt = time.Time{}
	in.following = false
	in.started = true
	in.want = StateStop
	return in.transition(now, acts, StateStop, cause, "", netip.Addr{})
}
