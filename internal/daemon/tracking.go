package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lbdproject/lbd/pkg/script"
	"github.com/lbdproject/lbd/pkg/track"
	"github.com/lbdproject/lbd/pkg/vrrp"
)

// tracking runs the trackers (pkg/track) and turns their states into
// each instance's effective priority, fault sources and release from
// INIT, as keepalived's vrrp_track.c. Every object is watched once,
// whatever number of instances track it. Trackers only signal a change;
// one goroutine recomputes every instance (a handful of additions each)
// and tells the runtime what differs from what it told it last.
//
// Instances are added to the runtime held in INIT; the first
// recomputation applies their priority and faults and then releases
// them, unless an unweighted vrrp_script has not reported yet
// (keepalived's num_script_init) or global_defs vrrp_startup_delay runs
// (holdStartupLocked).
type tracking struct {
	log    *slog.Logger
	m      *track.Metrics
	rt     *vrrp.Runtime
	runner *script.Runner
	kick   chan struct{}

	mu      sync.Mutex
	ifaces  *ifaceTrackers
	scripts map[string]*scriptRun
	files   *fileTrackers
	procs   *procTrackers
	srcs    *srcTrackers
	insts   map[string]*instTrack
	scratch []track.Status
	// startupUntil: global_defs vrrp_startup_delay runs until then, and
	// no instance is released before (zero: no delay, or it is over).
	startupUntil time.Time
}

// runTracker is a tracker lbd started: what it was started for (key, which
// a reload compares), the tracker, and what stops it.
type runTracker[K any, T interface{ Wait() }] struct {
	key    K
	t      T
	cancel context.CancelFunc
}

type (
	ifaceTrackers = runTracker[[]string, *track.InterfaceTracker]
	scriptRun     = runTracker[ScriptDef, *track.ScriptTracker]
	fileTrackers  = runTracker[map[string]FileDef, *track.FileTracker]
	srcTrackers   = runTracker[[]srcKey, *srcAddrTracker]
	procTrackers  = runTracker[map[string]track.ProcessSpec, *track.ProcessTracker]
)

// startRunning starts t (with start, its Start) under a child context of
// ctx.
func startRunning[K any, T interface{ Wait() }](ctx context.Context, key K, t T, start func(context.Context) error) (*runTracker[K, T], error) {
	c, cancel := context.WithCancel(ctx)
	if err := start(c); err != nil {
		cancel()
		return nil, err
	}
	return &runTracker[K, T]{key: key, t: t, cancel: cancel}, nil
}

// noErr adapts a Start that cannot fail to startRunning.
func noErr(start func(context.Context)) func(context.Context) error {
	return func(c context.Context) error { start(c); return nil }
}

// stop cancels r (nil: none) and adds its Wait to waits.
func (r *runTracker[K, T]) stop(waits []func()) []func() {
	if r == nil {
		return waits
	}
	r.cancel()
	return append(waits, r.t.Wait)
}

// instTrack is one instance: what it tracks and what was applied.
type instTrack struct {
	base     uint8
	tracking Tracking
	held     bool // in INIT until released
	total    int
	faults   map[string]string // fault source -> detail, as applied
	applied  bool
}

func newTracking(log *slog.Logger, m *track.Metrics, rt *vrrp.Runtime, runner *script.Runner) *tracking {
	return &tracking{log: log, m: m, rt: rt, runner: runner, kick: make(chan struct{}, 1),
		scripts: map[string]*scriptRun{}, insts: map[string]*instTrack{}}
}

func (t *tracking) changed(track.Update) {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// holdStartupLocked keeps every instance, present and added later, in INIT
// until until (vrrp_startup_delay); run releases them then. Call it
// before the first recomputation and run.
func (t *tracking) holdStartupLocked(until time.Time) { t.startupUntil = until }

// startupHold returns when the startup delay ends, zero if it is not
// running.
func (t *tracking) startupHold() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.startupUntil
}

// run recomputes on every change until ctx is done, and once more when
// the startup delay ends, to release the instances it held.
func (t *tracking) run(ctx context.Context) {
	var delayOver <-chan time.Time
	if until := t.startupHold(); !until.IsZero() {
		tm := time.NewTimer(time.Until(until))
		defer tm.Stop()
		delayOver = tm.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-delayOver:
			delayOver = nil
			t.mu.Lock()
			t.startupUntil = time.Time{}
			t.log.Info("vrrp_startup_delay over: starting the vrrp instances")
			t.recomputeLocked()
			t.mu.Unlock()
		case <-t.kick:
			t.mu.Lock()
			t.recomputeLocked()
			t.mu.Unlock()
		}
	}
}

// trackerSet is what the trackers must watch.
type trackerSet struct {
	ifaces  []string
	scripts map[string]ScriptDef
	files   map[string]FileDef
	procs   map[string]track.ProcessSpec
	srcs    []srcKey // track_src_ip
}

// wanted computes the trackers that the instances' tracking needs: only
// objects someone tracks are watched (keepalived does not run an
// untracked vrrp_script either).
func wanted(tr *Translation) trackerSet {
	ts := trackerSet{scripts: map[string]ScriptDef{}, files: map[string]FileDef{}, procs: map[string]track.ProcessSpec{}}
	ifs := map[string]bool{}
	srcs := map[srcKey]bool{}
	for _, p := range tr.Plans {
		if p.Tracking.Primary != "" {
			ifs[p.Tracking.Primary] = true
		}
		if k := p.Tracking.Src; k.Addr.IsValid() && !srcs[k] {
			srcs[k] = true
			ts.srcs = append(ts.srcs, k)
		}
		for _, r := range p.Tracking.Refs {
			switch r.Kind {
			case track.KindInterface:
				ifs[r.Name] = true
			case track.KindScript:
				ts.scripts[r.Name] = tr.Scripts[r.Name]
			case track.KindFile:
				ts.files[r.Name] = tr.Files[r.Name]
			case track.KindProcess:
				ts.procs[r.Name] = tr.Processes[r.Name]
			}
		}
	}
	for n := range ifs {
		ts.ifaces = append(ts.ifaces, n)
	}
	sort.Strings(ts.ifaces)
	slices.SortFunc(ts.srcs, func(a, b srcKey) int { return strings.Compare(a.String(), b.String()) })
	return ts
}

// setTrackers starts the trackers of ts that are not running with the
// same definition, and stops those no longer wanted; unchanged ones run
// on (a vrrp_script keeps its state and its rhythm). It returns one
// description per change and the stopped trackers to wait for, after
// the caller released t.mu.
func (t *tracking) setTrackersLocked(ctx context.Context, ts trackerSet, reload bool) ([]string, []func(), error) {
	var changes []string
	var waits []func()
	var curIfs []string
	if t.ifaces != nil {
		curIfs = t.ifaces.key
	}
	if !slices.Equal(curIfs, ts.ifaces) {
		var next *ifaceTrackers
		if len(ts.ifaces) > 0 {
			it, err := track.NewInterfaceTracker(track.InterfaceOptions{Interfaces: ts.ifaces, OnUpdate: t.changed, Logger: t.log, Metrics: t.m})
			if err != nil {
				return nil, nil, err
			}
			if next, err = startRunning(ctx, ts.ifaces, it, it.Start); err != nil {
				return nil, nil, err
			}
		}
		waits = t.ifaces.stop(waits)
		t.ifaces = next
		if reload {
			changes = append(changes, fmt.Sprintf("tracked interfaces now %s", strings.Join(ts.ifaces, ", ")))
		}
	}
	for name, def := range ts.scripts {
		if sr := t.scripts[name]; sr != nil && reflect.DeepEqual(sr.key, def) {
			continue
		}
		st, err := track.NewScriptTracker(track.ScriptOptions{Name: name, Command: def.Cmd, Interval: def.Interval,
			Timeout: def.Timeout, Rise: def.Rise, Fall: def.Fall, InitFail: def.InitFail, Runner: t.runner,
			OnUpdate: t.changed, Logger: t.log, Metrics: t.m})
		if err != nil {
			return nil, nil, err
		}
		if old := t.scripts[name]; old != nil {
			waits = old.stop(waits)
			changes = append(changes, "vrrp_script "+name+" restarted")
		} else if reload {
			changes = append(changes, "vrrp_script "+name+" started")
		}
		t.scripts[name], _ = startRunning(ctx, def, st, noErr(st.Start))
	}
	for name, sr := range t.scripts {
		if _, ok := ts.scripts[name]; !ok {
			waits = sr.stop(waits)
			delete(t.scripts, name)
			changes = append(changes, "vrrp_script "+name+" stopped")
		}
	}
	curFiles := map[string]FileDef{}
	if t.files != nil {
		curFiles = t.files.key
	}
	if !reflect.DeepEqual(curFiles, ts.files) {
		var next *fileTrackers
		if len(ts.files) > 0 {
			var specs []track.FileSpec
			for _, n := range slices.Sorted(maps.Keys(ts.files)) {
				f := ts.files[n]
				if f.InitFile {
					if err := track.InitFile(f.Spec.Path, f.InitValue, f.Overwrite, reload); err != nil {
						t.log.Warn("track_file init_file", "file", n, "error", err)
					}
				}
				specs = append(specs, f.Spec)
			}
			ft, err := track.NewFileTracker(track.FileOptions{Files: specs, OnUpdate: t.changed, Logger: t.log, Metrics: t.m})
			if err != nil {
				return nil, nil, err
			}
			next, _ = startRunning(ctx, ts.files, ft, noErr(ft.Start))
		}
		waits = t.files.stop(waits)
		t.files = next
		if reload {
			changes = append(changes, "track_files reread")
		}
	}
	curProcs := map[string]track.ProcessSpec{}
	if t.procs != nil {
		curProcs = t.procs.key
	}
	if !reflect.DeepEqual(curProcs, ts.procs) {
		var next *procTrackers
		if len(ts.procs) > 0 {
			var specs []track.ProcessSpec
			for _, n := range slices.Sorted(maps.Keys(ts.procs)) {
				specs = append(specs, ts.procs[n])
			}
			pt, err := track.NewProcessTracker(track.ProcessOptions{Processes: specs, OnUpdate: t.changed, Logger: t.log, Metrics: t.m})
			if err != nil {
				return nil, nil, err
			}
			if next, err = startRunning(ctx, ts.procs, pt, pt.Start); err != nil {
				return nil, nil, err
			}
		}
		waits = t.procs.stop(waits)
		t.procs = next
		if reload {
			changes = append(changes, "vrrp_track_processes rescanned")
		}
	}
	var curSrcs []srcKey
	if t.srcs != nil {
		curSrcs = t.srcs.key
	}
	if !slices.Equal(curSrcs, ts.srcs) {
		var next *srcTrackers
		if len(ts.srcs) > 0 {
			st := newSrcAddrTracker(ts.srcs, t.log, func() { t.changed(track.Update{}) })
			var err error
			if next, err = startRunning(ctx, ts.srcs, st, st.Start); err != nil {
				return nil, nil, err
			}
		}
		waits = t.srcs.stop(waits)
		t.srcs = next
		if reload {
			changes = append(changes, "track_src_ip addresses reread")
		}
	}
	return changes, waits, nil
}

// statusOf returns the state of one tracked object as an instance's
// reference sees it.
func (t *tracking) statusOf(r track.Ref) track.Status {
	s := track.Status{Kind: r.Kind, Name: r.Name, Weight: r.Weight, Reverse: r.Reverse, State: track.StateDown}
	switch r.Kind {
	case track.KindInterface:
		if t.ifaces != nil {
			s.State = t.ifaces.t.State(r.Name)
		}
	case track.KindScript:
		if sr := t.scripts[r.Name]; sr != nil {
			s.State = sr.t.State()
		}
	case track.KindFile:
		if t.files != nil {
			s.Value, _ = t.files.t.Value(r.Name)
		}
	case track.KindProcess:
		if t.procs != nil {
			if st, ok := t.procs.t.State(r.Name); ok {
				s.State = st
			}
		}
	}
	return s
}

// srcPresent reports whether a track_src_ip address is on its interface
// (false before its tracker runs).
func (t *tracking) srcPresent(k srcKey) bool {
	return t.srcs != nil && t.srcs.t.Present(k)
}

// faultSource names the runtime fault source of a reference.
func faultSource(r track.Ref) string {
	return "track_" + r.Kind.String() + " " + r.Name
}

func faultDetail(s track.Status) string {
	switch {
	case s.Kind == track.KindFile:
		return fmt.Sprintf("value %d", s.Value)
	case s.Reverse:
		return s.State.String() + " (reverse)"
	}
	return s.State.String()
}

// recomputeLocked applies every instance's tracked priority and faults
// that changed, and releases the instances that may leave INIT.
func (t *tracking) recomputeLocked() {
	for name, it := range t.insts {
		sts := t.scratch[:0]
		var faults map[string]string // nil: none
		for _, r := range it.tracking.Refs {
			s := t.statusOf(r)
			sts = append(sts, s)
			if s.Effect().Fault {
				if faults == nil {
					faults = map[string]string{}
				}
				faults[faultSource(r)] = faultDetail(s)
			}
		}
		t.scratch = sts
		if p := it.tracking.Primary; p != "" {
			if t.ifaces == nil || t.ifaces.t.State(p) != track.StateUp {
				if faults == nil {
					faults = map[string]string{}
				}
				faults["interface"] = p + " is down"
			}
		}
		if k := it.tracking.Src; k.Addr.IsValid() && !t.srcPresent(k) {
			if faults == nil {
				faults = map[string]string{}
			}
			faults["track_src_ip"] = k.Addr.String() + " not on " + k.Iface
		}
		eff := track.Priority(it.base, sts...)
		if !it.applied || eff.Total != it.total {
			if err := t.rt.SetPriority(name, eff.Total); err == nil {
				if it.applied && eff.Total != it.total {
					t.log.Info("tracked priority changed", "instance", name, "total", eff.Total, "priority", int(eff.Priority))
				}
			}
			it.total = eff.Total
		}
		for src, d := range faults {
			if old, ok := it.faults[src]; !ok || old != d {
				t.rt.SetFault(name, src, true, d)
			}
		}
		for src := range it.faults {
			if _, ok := faults[src]; !ok {
				t.rt.SetFault(name, src, false, "")
			}
		}
		it.faults = faults
		it.applied = true
		if it.held && !eff.Init && t.startupUntil.IsZero() {
			it.held = false
			t.rt.Release(name)
		}
	}
}

// add registers a plan's instance (added to the runtime, held in INIT).
func (t *tracking) addLocked(p *Plan) {
	c := p.Config
	c.Normalize()
	t.insts[p.Name] = &instTrack{base: c.Priority, tracking: p.Tracking, held: true}
}

// update replaces a running instance's tracking (a reload changed it in
// place; the runtime already has the new base priority).
func (t *tracking) updateLocked(p *Plan) {
	it := t.insts[p.Name]
	if it == nil {
		t.addLocked(p)
		return
	}
	c := p.Config
	c.Normalize()
	it.base = c.Priority
	it.tracking = p.Tracking
	it.applied = false
}

func (t *tracking) removeLocked(name string) { delete(t.insts, name) }

// totalFor computes a plan's tracked total with the trackers' current
// states (for a reconfiguration applying it with the new base).
func (t *tracking) totalFor(p *Plan) int {
	c := p.Config
	c.Normalize()
	var sts []track.Status
	for _, r := range p.Tracking.Refs {
		sts = append(sts, t.statusOf(r))
	}
	return track.Priority(c.Priority, sts...).Total
}

// stop stops every tracker and waits for them.
func (t *tracking) stop() {
	t.mu.Lock()
	var waits []func()
	waits = t.ifaces.stop(waits)
	for _, sr := range t.scripts {
		waits = sr.stop(waits)
	}
	waits = t.files.stop(waits)
	waits = t.procs.stop(waits)
	waits = t.srcs.stop(waits)
	t.mu.Unlock()
	for _, w := range waits {
		w()
	}
}

// TrackerStatus is one tracked object of an instance, for lbd status.
type TrackerStatus struct {
	Kind    string `json:"kind"` // interface, script, file, process, src_ip
	Name    string `json:"name"`
	State   string `json:"state"` // up, down, init; files: their value
	Value   *int64 `json:"value,omitempty"`
	Weight  int    `json:"weight"`
	Reverse bool   `json:"reverse,omitempty"`
	// Effect is what it does now: "+10", "-20", "fault", "init" or "".
	Effect string `json:"effect"`
}

// instanceTrackers returns an instance's trackers' states.
func (t *tracking) instanceTrackers(name string) []TrackerStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	it := t.insts[name]
	if it == nil {
		return nil
	}
	var out []TrackerStatus
	if p := it.tracking.Primary; p != "" {
		st := track.StateDown
		if t.ifaces != nil {
			st = t.ifaces.t.State(p)
		}
		ts := TrackerStatus{Kind: "interface", Name: p, State: st.String()}
		if st != track.StateUp {
			ts.Effect = "fault"
		}
		out = append(out, ts)
	}
	if k := it.tracking.Src; k.Addr.IsValid() {
		ts := TrackerStatus{Kind: "src_ip", Name: k.String(), State: track.StateUp.String()}
		if !t.srcPresent(k) {
			ts.State, ts.Effect = track.StateDown.String(), "fault"
		}
		out = append(out, ts)
	}
	for _, r := range it.tracking.Refs {
		s := t.statusOf(r)
		ts := TrackerStatus{Kind: r.Kind.String(), Name: r.Name, State: s.State.String(), Weight: r.Weight, Reverse: r.Reverse}
		if r.Kind == track.KindFile {
			v := s.Value
			ts.Value = &v
			ts.State = fmt.Sprint(v)
		}
		e := s.Effect()
		switch {
		case e.Fault:
			ts.Effect = "fault"
		case e.Init:
			ts.Effect = "init"
		case e.Delta != 0:
			ts.Effect = fmt.Sprintf("%+d", e.Delta)
		}
		out = append(out, ts)
	}
	return out
}
