package daemon

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/lbdproject/lbd/pkg/config"
	"github.com/lbdproject/lbd/pkg/vrrp"
)

// Reload (SIGHUP, "lbd reload"): read the configuration again and apply
// the difference, seesaw's expand -> key -> diff:
//
//   - expand: load and translate, exactly as at startup; a configuration
//     with any error (global or of one instance) is refused whole, with
//     its file:line errors, and the running one stays;
//   - key: instances by name; what identifies one on the wire or decides
//     its role (interface, VRID, version, family, advert_int, source,
//     unicast peers and TTL, authentication, multicast group, becoming
//     or ceasing to be the address owner: vrrp.RestartReason) forces a
//     restart, everything else changes in place;
//   - diff: an unchanged instance is not touched at all (its goroutine,
//     timers, VIPs and routes never see the reload); one changed in place
//     keeps its state (priority, VIPs as a set difference, preemption,
//     GARP timing, trackers, notify scripts, virtual routes...); a removed
//     one resigns (priority-0 advert as MASTER), removes its VIPs and
//     routes and reports DELETED (notify_deleted) or FAULT; an added one
//     starts; a restarted one is removed then added.
//
// global_defs: log_unknown_vrids is applied at once; vrrp_startup_delay
// only at lbd's start (a reload during the delay adds instances that wait
// for its end; one after it delays nothing).
//
// Trackers are keyed by their definitions: an unchanged vrrp_script runs
// on with its state and rhythm. Sync groups whose members did not change
// keep their state. Every change is one Info log line and one line of the
// result that "lbd reload" prints.

// reloadTimeout bounds waiting for instances to apply a change.
const reloadTimeout = 10 * time.Second

type reloadKind uint8

const (
	unchanged reloadKind = iota
	inPlace
	restart
)

// planKey strips what does not matter for a diff: positions.
func planKey(p Plan) Plan {
	p.Pos = config.Pos{}
	p.NotApplied = nil
	p.VIPs = slices.Clone(p.VIPs)
	for i := range p.VIPs {
		p.VIPs[i].Pos = config.Pos{}
	}
	p.Routes = slices.Clone(p.Routes)
	for i := range p.Routes {
		p.Routes[i].Pos = config.Pos{}
	}
	p.Rules = slices.Clone(p.Rules)
	for i := range p.Rules {
		p.Rules[i].Pos = config.Pos{}
	}
	return p
}

// classify says what a reload does to an instance configured as old and
// now as new, and why.
func classify(old, new *Plan) (reloadKind, string) {
	if why := vrrp.RestartReason(old.Config, new.Config); why != "" {
		return restart, why
	}
	if old.Fault != new.Fault {
		return restart, "unicast_fault_no_peer changed"
	}
	if old.Group != new.Group {
		return restart, "multicast group changed"
	}
	if !reflect.DeepEqual(old.VMAC, new.VMAC) {
		return restart, "use_vmac changed"
	}
	if !reflect.DeepEqual(old.IPVLAN, new.IPVLAN) {
		return restart, "use_ipvlan changed"
	}
	if !reflect.DeepEqual(old.AddrVMACs, new.AddrVMACs) {
		return restart, "use_vmac_addr changed"
	}
	if reflect.DeepEqual(planKey(*old), planKey(*new)) {
		return unchanged, ""
	}
	return inPlace, describeChange(old, new)
}

// describeChange lists what changed in place, for the log.
func describeChange(old, new *Plan) string {
	var parts []string
	oc, nc := old.Config, new.Config
	oc.Normalize()
	nc.Normalize()
	if oc.Priority != nc.Priority {
		parts = append(parts, fmt.Sprintf("priority %d -> %d", oc.Priority, nc.Priority))
	}
	var add, del []string
	for _, v := range new.VIPs {
		if !slices.ContainsFunc(old.VIPs, func(o PlannedVIP) bool { return o.VIP == v.VIP && o.Dev == v.Dev }) {
			add = append(add, "+"+v.VIP.Prefix.String())
		}
	}
	for _, v := range old.VIPs {
		if !slices.ContainsFunc(new.VIPs, func(n PlannedVIP) bool { return n.VIP == v.VIP && n.Dev == v.Dev }) {
			del = append(del, "-"+v.VIP.Prefix.String())
		}
	}
	if len(add)+len(del) > 0 {
		parts = append(parts, "vips "+strings.Join(append(add, del...), " "))
	}
	if !reflect.DeepEqual(old.Tracking, new.Tracking) {
		parts = append(parts, "tracking")
	}
	if !reflect.DeepEqual(old.Notify, new.Notify) {
		parts = append(parts, "notify")
	}
	if !reflect.DeepEqual(planKey(*old).Routes, planKey(*new).Routes) || !reflect.DeepEqual(planKey(*old).Rules, planKey(*new).Rules) {
		parts = append(parts, "virtual routes/rules")
	}
	oc.Priority, nc.Priority = 0, 0
	oc.VIPs, nc.VIPs, oc.ExcludedVIPs, nc.ExcludedVIPs = nil, nil, nil, nil
	if !reflect.DeepEqual(oc, nc) {
		parts = append(parts, "vrrp settings")
	}
	if len(parts) == 0 {
		parts = append(parts, "settings")
	}
	return strings.Join(parts, ", ")
}

// reload reads the configuration and applies it; it returns what it did
// (also kept for lbd status).
func (d *Daemon) reload() ReloadResult {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	start := time.Now()
	res := d.reloadLocked()
	res.At = start.Round(0)
	res.Duration = time.Since(start).Seconds()
	if res.OK {
		d.log.Info("configuration reloaded", "changes", len(res.Changes), "duration", time.Since(start).Round(time.Microsecond))
	} else {
		d.log.Error("configuration reload refused: the running configuration stays", "errors", strings.Join(res.Errors, "; "))
	}
	d.mu.Lock()
	d.lastReload = &res
	d.mu.Unlock()
	return res
}

func (d *Daemon) reloadLocked() ReloadResult {
	res := ReloadResult{Changes: []string{}}
	cfg, diags := config.Load(d.opts.ConfigPath, config.Options{ConfigID: d.opts.ConfigID})
	if cfg == nil {
		for _, e := range diags.Errors() {
			res.Errors = append(res.Errors, e.String())
		}
		if len(res.Errors) == 0 {
			res.Errors = []string{diags.String()}
		}
		return res
	}
	tr := Translate(cfg, diags)
	res.Warnings = tr.Warnings
	res.Errors = append(res.Errors, tr.Fatal...)
	for _, r := range tr.Refused {
		res.Errors = append(res.Errors, r.Errors...)
	}
	if len(res.Errors) > 0 {
		return res
	}
	for _, w := range tr.Warnings {
		d.log.Warn(w)
	}
	res.Changes = d.apply(&tr)
	res.OK = true
	return res
}

// apply makes tr the running configuration.
func (d *Daemon) apply(tr *Translation) []string {
	var changes []string
	note := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		d.log.Info("reload: " + msg)
		changes = append(changes, msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), reloadTimeout)
	defer cancel()

	d.mu.Lock()
	old := d.cur
	insts := d.insts
	d.mu.Unlock()
	oldPlans := map[string]*Plan{}
	for i := range old.Plans {
		if insts[old.Plans[i].Name] != nil {
			oldPlans[old.Plans[i].Name] = &old.Plans[i]
		}
	}
	newPlans := map[string]*Plan{}
	for i := range tr.Plans {
		newPlans[tr.Plans[i].Name] = &tr.Plans[i]
	}

	var removed, added, changed []string
	why := map[string]string{}
	for _, p := range old.Plans {
		if oldPlans[p.Name] != nil && newPlans[p.Name] == nil {
			removed = append(removed, p.Name)
		}
	}
	for _, p := range tr.Plans {
		op := oldPlans[p.Name]
		if op == nil {
			added = append(added, p.Name)
			continue
		}
		switch k, w := classify(op, newPlans[p.Name]); k {
		case restart:
			removed = append(removed, p.Name)
			added = append(added, p.Name)
			why[p.Name] = w
		case inPlace:
			changed = append(changed, p.Name)
			why[p.Name] = w
		}
	}

	for _, c := range d.events.setGlobal(tr.Notify) {
		note("%s", c)
	}
	if tr.LogUnknownVRIDs != old.LogUnknownVRIDs {
		d.rt.SetLogUnknownVRIDs(tr.LogUnknownVRIDs)
		state := "off"
		if tr.LogUnknownVRIDs {
			state = "on"
		}
		note("global_defs log_unknown_vrids %s", state)
	}
	if tr.ProcessName != old.ProcessName && tr.ProcessName != "" {
		setProcessName(d.log, tr.ProcessName)
		note("global_defs process name %q -> %q", old.ProcessName, tr.ProcessName)
	}
	if tr.Umask != old.Umask {
		setUmask(d.log, tr.Umask)
		note("global_defs umask %03o -> %03o", old.Umask, tr.Umask)
	}
	for _, k := range slices.Sorted(maps.Keys(tr.StartOnly)) {
		if was, now := old.StartOnly[k], tr.StartOnly[k]; was != now && old.StartOnly != nil {
			note("global_defs %s %s -> %s: applies when lbd next starts", k, was, now)
		}
	}
	if tr.StartupDelay != old.StartupDelay {
		// keepalived sets its delayed start only at process start.
		note("global_defs vrrp_startup_delay %v -> %v: applies when lbd next starts", old.StartupDelay, tr.StartupDelay)
	}

	// Removals first: their VRIDs and addresses may be reused.
	for _, name := range removed {
		d.removeInstance(ctx, name, "reload")
		if newPlans[name] == nil {
			note("vrrp_instance %s removed", name)
		}
	}

	// Sync groups.
	if err := d.rt.SetSyncGroups(groupSpecs(tr)); err != nil {
		d.log.Warn("reload: vrrp_sync_group", "error", err)
	}
	oldGroups := map[string]GroupPlan{}
	for _, g := range old.Groups {
		oldGroups[g.Name] = g
	}
	for _, g := range tr.Groups {
		og, ok := oldGroups[g.Name]
		switch {
		case !ok:
			note("vrrp_sync_group %s added", g.Name)
		case !reflect.DeepEqual(og.Members, g.Members) || !reflect.DeepEqual(og.Notify, g.Notify):
			note("vrrp_sync_group %s changed", g.Name)
		default:
			delete(oldGroups, g.Name)
			continue
		}
		d.events.setTarget(true, g.Name, g.Notify, nil)
		delete(oldGroups, g.Name)
	}
	for name := range oldGroups {
		d.events.groupRemoved(name)
		d.events.dropTarget(true, name)
		note("vrrp_sync_group %s removed", name)
	}

	// The trackers the new configuration needs, so that in-place and new
	// instances get their tracked priority at once.
	d.track.mu.Lock()
	tchanges, waits, terr := d.track.setTrackersLocked(d.trackCtx, wanted(tr), true)
	for _, c := range tchanges {
		note("%s", c)
	}
	if terr != nil {
		d.log.Error("reload: trackers", "error", terr)
	}

	// In place.
	for _, name := range changed {
		p := newPlans[name]
		r := insts[name]
		r.addrs.setPlan(p)
		u := vrrp.InstanceUpdate{Config: p.Config, Announce: d.announceTargets(p, tr.GARP), Total: d.track.totalFor(p)}
		if err := d.rt.Reconfigure(ctx, name, u); err != nil {
			d.log.Error("reload: reconfigure vrrp_instance", "instance", name, "error", err)
			continue
		}
		d.track.updateLocked(p)
		d.setPromote(r, p.PromoteSecondaries)
		oldT := d.events.target(false, name)
		vr := newVRoutes(d, p)
		if oldT != nil {
			vr.takeOver(oldT.routes)
		}
		d.events.setTarget(false, name, p.Notify, vr)
		d.mu.Lock()
		r.plan = *p
		d.mu.Unlock()
		note("vrrp_instance %s changed in place: %s", name, why[name])
	}
	d.track.mu.Unlock()

	// Additions (and the second half of restarts).
	for _, name := range added {
		p := newPlans[name]
		if err := d.startInstance(p, tr.GARP); err != nil {
			d.log.Error("reload: vrrp_instance refused", "instance", name, "error", err)
			note("vrrp_instance %s refused: %v", name, err)
			continue
		}
		if w, ok := why[name]; ok {
			note("vrrp_instance %s restarted: %s", name, w)
		} else {
			note("vrrp_instance %s added", name)
		}
	}
	for _, c := range d.settle(tr.RxBufs, "reload") {
		note("%s", c)
	}

	// Release the new instances, apply tracking changes.
	d.track.mu.Lock()
	d.track.recomputeLocked()
	d.track.mu.Unlock()
	for _, w := range waits {
		w()
	}

	for _, c := range d.static.apply(tr.Static) {
		note("%s", c)
	}

	d.mu.Lock()
	d.cur = *tr
	d.refused = nil
	d.mu.Unlock()
	if tr.Notify.StatesOnReload {
		d.events.writeStates(d.rt.Status(), d.rt.SyncGroups())
	}
	return changes
}

// removeInstance takes an instance out of the runtime, its trackers,
// notifications and datapath, and deletes its VMACs (a reload removing or
// restarting it, an interface that came back); what logs errors with.
func (d *Daemon) removeInstance(ctx context.Context, name, what string) {
	d.track.mu.Lock()
	d.track.removeLocked(name)
	d.track.mu.Unlock()
	if err := d.rt.RemoveInstance(ctx, name); err != nil {
		d.log.Error(what+": remove vrrp_instance", "instance", name, "error", err)
	}
	d.events.dropTarget(false, name)
	d.dp.remove(name)
	d.mu.Lock()
	r := d.insts[name]
	delete(d.insts, name)
	d.mu.Unlock()
	if r == nil {
		return
	}
	d.setPromote(r, false)
	if err := d.removeVMACs(r); err != nil {
		d.log.Error(what+": remove vmac", "instance", name, "error", err)
	}
}

// settle follows instances added or removed: receive buffers sized, new
// sockets listened on, unused ones closed (returned as changes), the
// datapath synced.
func (d *Daemon) settle(rx RxBufsPolicy, what string) []string {
	d.sizeRecvBuffers(rx)
	if err := d.socks.listenNew(d.rt); err != nil {
		d.log.Error(what+": vrrp sockets", "error", err)
	}
	used := map[*socket]bool{}
	d.mu.Lock()
	for _, r := range d.insts {
		used[r.sock] = true
	}
	d.mu.Unlock()
	changes := d.socks.closeUnused(d.rt, used)
	if err := d.dp.sync(d.rt); err != nil {
		d.log.Error(what+": datapath", "error", err)
	}
	return changes
}
