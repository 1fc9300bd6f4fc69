package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/lbdproject/lbd/pkg/netutil"
	"github.com/lbdproject/lbd/pkg/notify"
	"github.com/lbdproject/lbd/pkg/script"
	"github.com/lbdproject/lbd/pkg/vrrp"
)

// dispatcher turns the runtime's events into keepalived's side effects
// of a transition: virtual routes and rules, notify scripts, notify FIFO
// lines and mails (vrrp_notify.c). It is the runtime's OnEvent: it runs
// on the instance's (or group's) goroutine and never blocks, except on
// the netlink requests of virtual routes, which keepalived makes in the
// transition too; scripts and mails are queued to their own goroutines.
type dispatcher struct {
	log     *slog.Logger
	runner  *script.Runner
	nm      *notify.Metrics
	timeout time.Duration // notify script timeout

	mu     sync.RWMutex
	fifos  []*notify.FIFO
	fplans []FIFOPlan
	mail   *notify.Mailer
	mplan  *notify.MailOptions
	inst   map[string]*target
	groups map[string]*target
}

// target is one instance's or group's notification setup.
type target struct {
	plan    NotifyPlan
	scripts *notify.ScriptNotifier // nil without scripts
	routes  *vroutes               // instances only; nil without routes
}

func newDispatcher(log *slog.Logger, runner *script.Runner, nm *notify.Metrics) *dispatcher {
	return &dispatcher{log: log, runner: runner, nm: nm, timeout: 30 * time.Second,
		inst: map[string]*target{}, groups: map[string]*target{}}
}

// setGlobal opens the FIFOs and the mailer of g, replacing those of the
// previous configuration that differ. It returns the changes.
func (d *dispatcher) setGlobal(g GlobalNotify) []string {
	var changes []string
	d.mu.Lock()
	oldF, oldFP := d.fifos, d.fplans
	keepF := reflect.DeepEqual(oldFP, g.FIFOs)
	var fifos []*notify.FIFO
	if !keepF {
		for _, fp := range g.FIFOs {
			f, err := notify.OpenFIFO(notify.FIFOOptions{Path: fp.Path, Owner: fp.Owner, Script: fp.Script,
				Runner: d.runner, Kind: fp.Kind, Logger: d.log, Metrics: d.nm})
			if err != nil {
				d.log.Error("notify fifo", "kind", fp.Kind, "path", fp.Path, "error", err)
				continue
			}
			fifos = append(fifos, f)
			changes = append(changes, fp.Kind+" "+fp.Path+" opened")
		}
		d.fifos, d.fplans = fifos, g.FIFOs
	}
	oldM := d.mail
	keepM := reflect.DeepEqual(d.mplan, g.Mail)
	if !keepM {
		d.mail = nil
		if g.Mail != nil {
			opts := *g.Mail
			opts.Logger, opts.Metrics = d.log, d.nm
			m, err := notify.NewMailer(opts)
			if err != nil {
				d.log.Error("smtp alerts", "error", err)
			} else {
				d.mail = m
				changes = append(changes, "smtp alerts through "+g.Mail.Server)
			}
		}
		d.mplan = g.Mail
	}
	d.mu.Unlock()
	if !keepF {
		for _, f := range oldF {
			f.Close()
		}
	}
	if !keepM && oldM != nil {
		go oldM.Close(context.Background())
	}
	return changes
}

// setTarget installs an instance's (group false) or group's notify setup;
// it keeps the running script notifier when the scripts did not change.
func (d *dispatcher) setTarget(group bool, name string, plan NotifyPlan, routes *vroutes) {
	scope := notify.ScopeInstance
	m := d.inst
	if group {
		scope, m = notify.ScopeGroup, d.groups
	}
	d.mu.Lock()
	old := m[name]
	d.mu.Unlock()
	t := &target{plan: plan, routes: routes}
	var closeOld *notify.ScriptNotifier
	switch {
	case old != nil && reflect.DeepEqual(old.plan.Scripts, plan.Scripts):
		t.scripts = old.scripts
	case plan.hasScripts():
		n, err := notify.NewScriptNotifier(notify.ScriptOptions{Scope: scope, Name: name, Scripts: plan.Scripts,
			Runner: d.runner, Timeout: d.timeout, Logger: d.log, Metrics: d.nm})
		if err != nil {
			d.log.Error("notify scripts", "name", name, "error", err)
		}
		t.scripts = n
		fallthrough
	default:
		if old != nil {
			closeOld = old.scripts
		}
	}
	d.mu.Lock()
	m[name] = t
	d.mu.Unlock()
	if closeOld != nil {
		go closeOld.Close(context.Background()) // its queued scripts still run
	}
}

// dropTarget forgets an instance or group (removed by a reload) once its
// last events are delivered; its queued scripts still run.
func (d *dispatcher) dropTarget(group bool, name string) {
	m := d.inst
	if group {
		m = d.groups
	}
	d.mu.Lock()
	t := m[name]
	delete(m, name)
	d.mu.Unlock()
	if t != nil && t.scripts != nil {
		go t.scripts.Close(context.Background())
	}
}

func (d *dispatcher) target(group bool, name string) *target {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if group {
		return d.groups[name]
	}
	return d.inst[name]
}

// notifyState maps a transition to keepalived's notification: false for
// those it does not report (INIT).
func notifyState(ev vrrp.Event, sendDeleted bool) (notify.State, bool) {
	switch ev.To {
	case vrrp.StateMaster:
		return notify.StateMaster, true
	case vrrp.StateBackup:
		return notify.StateBackup, true
	case vrrp.StateFault:
		return notify.StateFault, true
	case vrrp.StateStop:
		if ev.Cause == vrrp.CauseRemoved {
			if sendDeleted {
				return notify.StateDeleted, true
			}
			return notify.StateFault, true
		}
		return notify.StateStop, true
	}
	return 0, false
}

// onEvent is the runtime's OnEvent.
func (d *dispatcher) onEvent(ev vrrp.Event) {
	group := ev.Kind == vrrp.EventGroupStateChange
	name := ev.Instance
	if group {
		name = ev.Group
	}
	t := d.target(group, name)
	if t == nil {
		return
	}
	if ev.Kind == vrrp.EventStateChange && t.routes != nil {
		switch {
		case ev.To == vrrp.StateMaster:
			t.routes.up()
		case ev.From == vrrp.StateMaster:
			t.routes.down()
		}
	}
	scope := notify.ScopeInstance
	if group {
		scope = notify.ScopeGroup
	}
	var nev notify.Event
	switch ev.Kind {
	case vrrp.EventStateChange, vrrp.EventGroupStateChange:
		if ev.Synced {
			return // the group's notifies stand for the member's
		}
		st, ok := notifyState(ev, t.plan.SendDeleted)
		if !ok {
			return
		}
		nev = notify.Event{Scope: scope, Name: name, State: st, Priority: ev.Priority}
	case vrrp.EventMasterRxLowerPriority:
		nev = notify.Event{Scope: scope, Name: name, State: notify.StateMasterRxLowerPri, Priority: ev.Priority}
	case vrrp.EventPriorityChange:
		if !t.plan.PriorityChanges {
			return
		}
		switch ev.To {
		case vrrp.StateMaster:
			nev = notify.Event{Scope: scope, Name: name, State: notify.StateMasterPriority, Priority: ev.Priority}
		case vrrp.StateBackup:
			nev = notify.Event{Scope: scope, Name: name, State: notify.StateBackupPriority, Priority: ev.Priority}
		default:
			return
		}
	default:
		return
	}
	if t.scripts != nil {
		t.scripts.Notify(nev)
	}
	d.mu.RLock()
	fifos, mail := d.fifos, d.mail
	d.mu.RUnlock()
	for _, f := range fifos {
		f.Write(nev)
	}
	if mail != nil && t.plan.SMTPAlert && nev.State.Transition() {
		mail.Alert(nev)
	}
}

// groupRemoved reports a sync group a reload removed: DELETED with
// notify_deleted, else FAULT, as for an instance.
func (d *dispatcher) groupRemoved(name string) {
	t := d.target(true, name)
	if t == nil {
		return
	}
	st := notify.StateFault
	if t.plan.SendDeleted {
		st = notify.StateDeleted
	}
	ev := notify.Event{Scope: notify.ScopeGroup, Name: name, State: st}
	if t.scripts != nil {
		t.scripts.Notify(ev)
	}
	d.mu.RLock()
	fifos, mail := d.fifos, d.mail
	d.mu.RUnlock()
	for _, f := range fifos {
		f.Write(ev)
	}
	if mail != nil && t.plan.SMTPAlert {
		mail.Alert(ev)
	}
}

// writeStates writes every instance's and group's current state to the
// FIFOs (fifo_write_vrrp_states_on_reload).
func (d *dispatcher) writeStates(insts []vrrp.InstanceStatus, groups []vrrp.SyncGroupStatus) {
	d.mu.RLock()
	fifos := d.fifos
	d.mu.RUnlock()
	var lines []notify.Event
	for _, in := range insts {
		if st, ok := notifyState(vrrp.Event{To: in.State}, false); ok {
			lines = append(lines, notify.Event{Scope: notify.ScopeInstance, Name: in.Name, State: st, Priority: in.EffectivePriority})
		}
	}
	for _, g := range groups {
		if st, ok := notifyState(vrrp.Event{To: g.State}, false); ok {
			lines = append(lines, notify.Event{Scope: notify.ScopeGroup, Name: g.Name, State: st})
		}
	}
	for _, f := range fifos {
		for _, l := range lines {
			f.Write(l)
		}
	}
}

// close waits for the queued notify scripts and mails (bounded by ctx)
// and closes the FIFOs.
func (d *dispatcher) close(ctx context.Context) {
	d.mu.Lock()
	var ns []*notify.ScriptNotifier
	for _, m := range []map[string]*target{d.inst, d.groups} {
		for _, t := range m {
			if t.scripts != nil {
				ns = append(ns, t.scripts)
			}
		}
	}
	fifos, mail := d.fifos, d.mail
	d.fifos, d.mail = nil, nil
	d.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range ns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.Close(ctx)
		}()
	}
	if mail != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mail.Close(ctx)
		}()
	}
	wg.Wait()
	for _, f := range fifos {
		f.Close()
	}
}

// vroutes are one instance's virtual_routes and virtual_rules: in place
// while it is MASTER (keepalived vrrp_state_become_master /
// vrrp_state_leave_master). Interfaces are resolved when they are added.
type vroutes struct {
	host  *netutil.Host
	rm    *netutil.RouteManager
	rlm   *netutil.RuleManager
	log   *slog.Logger
	plans []RoutePlan
	rules []RulePlan

	mu         sync.Mutex
	master     bool
	added      []netutil.Route
	addedRules []netutil.Rule
}

func newVRoutes(d *Daemon, p *Plan) *vroutes {
	if len(p.Routes) == 0 && len(p.Rules) == 0 {
		return nil
	}
	return &vroutes{host: d.host, rm: d.routes, rlm: d.rules, log: d.log.With("instance", p.Name), plans: p.Routes, rules: p.Rules}
}

// resolveRoute fills a route's interface indexes (and vrf table).
func resolveRoute(host *netutil.Host, rp RoutePlan) (netutil.Route, error) {
	r := rp.Route
	r.Nexthops = append([]netutil.Nexthop(nil), r.Nexthops...)
	if rp.Dev != "" {
		l, err := host.LinkByName(rp.Dev)
		if err != nil {
			return r, fmt.Errorf("dev %s: %w", rp.Dev, err)
		}
		r.IfIndex = l.Index
	}
	for i, dev := range rp.NexthopDevs {
		if dev == "" {
			continue
		}
		l, err := host.LinkByName(dev)
		if err != nil {
			return r, fmt.Errorf("nexthop %d dev %s: %w", i+1, dev, err)
		}
		r.Nexthops[i].IfIndex = l.Index
	}
	if rp.VRF != "" {
		tbl, err := host.VRFTable(rp.VRF)
		if err != nil {
			return r, fmt.Errorf("vrf %s: %w", rp.VRF, err)
		}
		r.Table = tbl
	}
	return r, nil
}

func (v *vroutes) up() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.master = true
	v.addLocked(v.plans, v.rules)
}

func (v *vroutes) addLocked(plans []RoutePlan, rules []RulePlan) {
	for _, rp := range rules {
		if _, err := v.rlm.Add(rp.Rule); err != nil {
			v.log.Error("add virtual rule", "rule", rp.Rule.String(), "error", err)
			continue
		}
		v.addedRules = append(v.addedRules, rp.Rule)
	}
	for _, rp := range plans {
		r, err := resolveRoute(v.host, rp)
		if err == nil {
			_, err = v.rm.Add(r)
		}
		if err != nil {
			v.log.Error("add virtual route", "route", rp.Route.Dst, "error", err)
			continue
		}
		v.added = append(v.added, r)
	}
}

func (v *vroutes) down() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.master = false
	v.removeLocked(v.added, v.addedRules)
	v.added, v.addedRules = nil, nil
}

func (v *vroutes) removeLocked(routes []netutil.Route, rules []netutil.Rule) {
	for _, r := range routes {
		if _, err := v.rm.Remove(r); err != nil {
			v.log.Error("remove virtual route", "route", r.String(), "error", err)
		}
	}
	for _, r := range rules {
		if _, err := v.rlm.Remove(r); err != nil {
			v.log.Error("remove virtual rule", "rule", r.String(), "error", err)
		}
	}
}

// takeOver moves old's state into v (a reload changed the routes of a
// running instance): while MASTER, routes and rules no longer configured
// go, new ones come, unchanged ones stay.
func (v *vroutes) takeOver(old *vroutes) {
	if old == nil {
		return
	}
	old.mu.Lock()
	master, added, addedRules := old.master, old.added, old.addedRules
	old.master, old.added, old.addedRules = false, nil, nil
	old.mu.Unlock()
	if v == nil {
		if master {
			tmp := &vroutes{rm: old.rm, rlm: old.rlm, log: old.log}
			tmp.removeLocked(added, addedRules)
		}
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.master = master
	if !master {
		return
	}
	var keep []netutil.Route
	var gone []netutil.Route
	var todo []RoutePlan
	want := map[int]netutil.Route{}
	for i, rp := range v.plans {
		if r, err := resolveRoute(v.host, rp); err == nil {
			want[i] = r
		}
	}
	for _, r := range added {
		found := false
		for _, w := range want {
			if reflect.DeepEqual(r, w) {
				found = true
			}
		}
		if found {
			keep = append(keep, r)
		} else {
			gone = append(gone, r)
		}
	}
	for i, rp := range v.plans {
		w, ok := want[i]
		present := false
		for _, k := range keep {
			if ok && reflect.DeepEqual(k, w) {
				present = true
			}
		}
		if !present {
			todo = append(todo, rp)
		}
	}
	var keepRules, goneRules []netutil.Rule
	var todoRules []RulePlan
	for _, r := range addedRules {
		found := false
		for _, w := range v.rules {
			if reflect.DeepEqual(r, w.Rule) {
				found = true
			}
		}
		if found {
			keepRules = append(keepRules, r)
		} else {
			goneRules = append(goneRules, r)
		}
	}
	for _, w := range v.rules {
		found := false
		for _, k := range keepRules {
			if reflect.DeepEqual(k, w.Rule) {
				found = true
			}
		}
		if !found {
			todoRules = append(todoRules, w)
		}
	}
	v.removeLocked(gone, goneRules)
	v.added, v.addedRules = keep, keepRules
	v.addLocked(todo, todoRules)
}

// statics are static_ipaddress, static_routes and static_rules: added at
// start (and by a reload), removed at stop.
type statics struct {
	d    *Daemon
	mgr  *netutil.VIPManager
	plan StaticPlan
	// what was added, for removal
	addrs  map[vipKey]netutil.Address
	routes []netutil.Route
	rules  []netutil.Rule
}

func newStatics(d *Daemon) *statics {
	return &statics{d: d, mgr: netutil.NewVIPManager(d.host, d.log), addrs: map[vipKey]netutil.Address{}}
}

// apply makes p the static setup: what is gone is removed, what is new
// added. It returns the changes.
func (s *statics) apply(p StaticPlan) []string {
	var changes []string
	log := s.d.log
	wantAddr := map[vipKey]PlannedVIP{}
	for _, a := range p.Addresses {
		wantAddr[vipKey{a.Dev, a.VIP.Prefix.Addr()}] = a
	}
	for k, a := range s.addrs {
		if pv, ok := wantAddr[k]; ok && reflect.DeepEqual(pv.Addr.Prefix, a.Prefix) {
			continue
		}
		if _, err := s.mgr.Remove(a); err != nil {
			log.Error("remove static_ipaddress", "address", a.Prefix, "error", err)
		}
		delete(s.addrs, k)
		changes = append(changes, "static_ipaddress "+a.Prefix.String()+" removed")
	}
	for k, pv := range wantAddr {
		if _, ok := s.addrs[k]; ok {
			continue
		}
		link, err := s.d.host.LinkByName(pv.Dev)
		if err != nil {
			log.Error("add static_ipaddress", "address", pv.VIP.Prefix, "dev", pv.Dev, "error", err)
			continue
		}
		a := pv.Addr
		a.IfIndex = link.Index
		if _, err := s.mgr.Add(a); err != nil {
			log.Error("add static_ipaddress", "address", pv.VIP.Prefix, "error", err)
			continue
		}
		s.addrs[k] = a
		changes = append(changes, "static_ipaddress "+a.Prefix.String()+" added")
	}
	var keepRules []netutil.Rule
	for _, r := range s.rules {
		found := false
		for _, w := range p.Rules {
			if reflect.DeepEqual(r, w.Rule) {
				found = true
			}
		}
		if found {
			keepRules = append(keepRules, r)
			continue
		}
		if _, err := s.d.rules.Remove(r); err != nil {
			log.Error("remove static rule", "rule", r.String(), "error", err)
		}
		changes = append(changes, "static rule "+r.String()+" removed")
	}
	for _, w := range p.Rules {
		found := false
		for _, k := range keepRules {
			if reflect.DeepEqual(k, w.Rule) {
				found = true
			}
		}
		if found {
			continue
		}
		if _, err := s.d.rules.Add(w.Rule); err != nil {
			log.Error("add static rule", "rule", w.Rule.String(), "error", err)
			continue
		}
		keepRules = append(keepRules, w.Rule)
		changes = append(changes, "static rule "+w.Rule.String()+" added")
	}
	s.rules = keepRules
	var want []netutil.Route
	for _, rp := range p.Routes {
		r, err := resolveRoute(s.d.host, rp)
		if err != nil {
			log.Error("static route", "route", rp.Route.Dst, "error", err)
			continue
		}
		want = append(want, r)
	}
	var keep []netutil.Route
	for _, r := range s.routes {
		found := false
		for _, w := range want {
			if reflect.DeepEqual(r, w) {
				found = true
			}
		}
		if found {
			keep = append(keep, r)
			continue
		}
		if _, err := s.d.routes.Remove(r); err != nil {
			log.Error("remove static route", "route", r.String(), "error", err)
		}
		changes = append(changes, "static route "+r.String()+" removed")
	}
	for _, w := range want {
		found := false
		for _, k := range keep {
			if reflect.DeepEqual(k, w) {
				found = true
			}
		}
		if found {
			continue
		}
		if _, err := s.d.routes.Add(w); err != nil {
			log.Error("add static route", "route", w.String(), "error", err)
			continue
		}
		keep = append(keep, w)
		changes = append(changes, "static route "+w.String()+" added")
	}
	s.routes = keep
	s.plan = p
	return changes
}

// removeAll removes every static address, route and rule (stop).
func (s *statics) removeAll() error {
	var errs []error
	for _, r := range s.routes {
		if _, err := s.d.routes.Remove(r); err != nil {
			errs = append(errs, err)
		}
	}
	for _, r := range s.rules {
		if _, err := s.d.rules.Remove(r); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.mgr.RemoveAll(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
