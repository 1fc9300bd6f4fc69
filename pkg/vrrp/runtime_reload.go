package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"time"
)

// What a configuration reload needs of the runtime: remove one instance,
// change one in place, start a held one, form or dissolve sync groups,
// close sockets no instance uses any more. None of them touches the other
// instances: their goroutines never wait for a reload.

// Release starts an instance added with HoldInit; it does nothing to one
// that started already.
func (rt *Runtime) Release(name string) error {
	r, err := rt.runner(name)
	if err != nil {
		return err
	}
	r.release()
	return nil
}

// RemoveInstance stops one instance as Stop does for all (a MASTER sends
// a priority-0 advert and removes its VIPs), reported as CauseRemoved,
// waits for its goroutine to end (or ctx), and forgets it: its VRID is
// free on its port from then on. Its sockets stay open (CloseConn).
func (rt *Runtime) RemoveInstance(ctx context.Context, name string) error {
	rt.mu.Lock()
	r := rt.runners[name]
	if r == nil {
		rt.mu.Unlock()
		return fmt.Errorf("vrrp_instance %s: %w", name, ErrNoInstance)
	}
	started := rt.started
	rt.mu.Unlock()

	var err error
	if started {
		r.shutdown(true)
		select {
		case <-r.done:
		case <-ctx.Done():
			err = fmt.Errorf("remove vrrp_instance %s: %w", name, ctx.Err())
		}
	}

	rt.mu.Lock()
	defer rt.mu.Unlock()
	delete(rt.runners, name)
	rt.order = slices.DeleteFunc(rt.order, func(o *runner) bool { return o == r })
	p := r.port
	old := p.table.Load()
	next := &demux{mcast: maps(old.mcast), ucast: maps(old.ucast)}
	for k, o := range next.mcast {
		if o == r {
			delete(next.mcast, k)
		}
	}
	for k, o := range next.ucast {
		if o == r {
			delete(next.ucast, k)
		}
	}
	p.table.Store(next)
	if g := r.group.Load(); g != nil {
		g.detach(name)
		r.group.Store(nil)
	}
	rt.m.forgetInstance(r.im)
	return err
}

// InstanceUpdate is a new configuration for a running instance.
type InstanceUpdate struct {
	Config Config
	// Announce replaces the addresses announced after becoming MASTER.
	Announce []AnnounceTarget
	// Total is the tracked total to apply with the new base priority
	// (SetPriority); 0 means Config.Priority (no trackers).
	Total int
	// Addresses, if not nil, replaces the instance's Addresses.
	Addresses Addresses
}

// Reconfigure applies u to the named instance in place
// (Instance.Reconfigure; RestartReason must be "") on its goroutine and
// waits for it, or ctx. A BACKUP whose advertised VIPs changed skips the
// address checks for its current master until its next transition: the
// master's adverts carry the old list until that node reloads too (reload
// backups first: a master advertising a list its backups do not know
// yet has its adverts dropped, RFC 5798 7.1, as keepalived does).
func (rt *Runtime) Reconfigure(ctx context.Context, name string, u InstanceUpdate) error {
	rt.mu.Lock()
	r := rt.runners[name]
	if r == nil {
		rt.mu.Unlock()
		return fmt.Errorf("vrrp_instance %s: %w", name, ErrNoInstance)
	}
	if !rt.started || rt.stopped {
		rt.mu.Unlock()
		return fmt.Errorf("reconfigure vrrp_instance %s: the runtime is not running", name)
	}
	pacers := make([]*pacer, 0, len(u.Announce))
	for _, t := range u.Announce {
		pacers = append(pacers, rt.pacerLocked(t.Domain, familyOf(t.Addr)))
	}
	rt.mu.Unlock()
	if u.Total == 0 {
		u.Total = int(u.Config.Priority)
	}
	errc := make(chan error, 1)
	apply := func(now time.Time) []Action {
		old := r.in.Config()
		acts, err := r.in.Reconfigure(now, u.Config, u.Total)
		if err != nil {
			errc <- err
			return nil
		}
		cfg := r.in.Config()
		if r.in.State() == StateBackup && !slices.Equal(vipAddrs(old.VIPs), vipAddrs(cfg.VIPs)) {
			r.vipGrace = true
		}
		r.cfg.Store(&cfg)
		r.spec.Announce = slices.Clone(u.Announce)
		r.pacers = pacers
		if u.Addresses != nil {
			r.spec.Addresses = u.Addresses
		}
		r.im.confPrio.Set(float64(cfg.Priority))
		r.viewDirty = true
		errc <- nil
		return acts
	}
	select {
	case r.ctl <- apply:
	case <-r.done:
		return fmt.Errorf("vrrp_instance %s: %w", name, ErrNoInstance)
	case <-ctx.Done():
		return fmt.Errorf("reconfigure vrrp_instance %s: %w", name, ctx.Err())
	}
	select {
	case err := <-errc:
		return err
	case <-r.done:
		return fmt.Errorf("vrrp_instance %s: %w", name, ErrNoInstance)
	case <-ctx.Done():
		return fmt.Errorf("reconfigure vrrp_instance %s: %w", name, ctx.Err())
	}
}

// CloseConn closes a socket given to Listen, once no instance uses it:
// its reader ends.
func (rt *Runtime) CloseConn(c Conn) error {
	rt.mu.Lock()
	i := slices.Index(rt.conns, c)
	if i < 0 {
		rt.mu.Unlock()
		return errors.New("close vrrp socket: not listened to")
	}
	rt.conns = slices.Delete(rt.conns, i, i+1)
	rt.mu.Unlock()
	return c.Close()
}

// SetSyncGroups makes specs the sync groups: a group whose members are
// unchanged keeps its state; a new or changed one starts from its
// members' states; a group no longer listed is dissolved (its members go
// on alone). An instance listed in two groups stays in the first, as
// keepalived. Members may be added later with AddInstance.
func (rt *Runtime) SetSyncGroups(specs []SyncGroupSpec) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.stopped {
		return errors.New("runtime stopped")
	}
	var errs []error
	keep := map[string]bool{}
	memberOf := map[string]*syncGroup{}
	for _, spec := range specs {
		if keep[spec.Name] {
			errs = append(errs, fmt.Errorf("vrrp_sync_group %s: defined twice", spec.Name))
			continue
		}
		keep[spec.Name] = true
		var members []string
		for _, m := range spec.Members {
			if memberOf[m] != nil {
				errs = append(errs, fmt.Errorf("vrrp_sync_group %s: vrrp_instance %s is already in vrrp_sync_group %s", spec.Name, m, memberOf[m].name))
				continue
			}
			members = append(members, m)
		}
		g := rt.groups[spec.Name]
		if g != nil && !slices.Equal(g.members, members) {
			rt.dissolveLocked(g)
			g = nil
		}
		if g == nil {
			g = newSyncGroup(rt, SyncGroupSpec{Name: spec.Name, Members: members})
			rt.groups[spec.Name] = g
		}
		for _, m := range members {
			memberOf[m] = g
		}
	}
	for name, g := range rt.groups {
		if !keep[name] {
			rt.dissolveLocked(g)
			delete(rt.groups, name)
		}
	}
	rt.memberOf = memberOf
	for name, r := range rt.runners {
		g := memberOf[name]
		if r.group.Load() == g {
			continue
		}
		if old := r.group.Load(); old != nil {
			old.detach(name)
		}
		r.group.Store(g)
		if g != nil {
			g.attach(r)
		}
	}
	return errors.Join(errs...)
}

// dissolveLocked detaches every member of g (under rt.mu).
func (rt *Runtime) dissolveLocked(g *syncGroup) {
	for _, r := range rt.runners {
		if r.group.Load() == g {
			r.group.Store(nil)
			g.detach(r.name)
		}
	}
	g.mu.Lock()
	if !g.stopped {
		g.stopped = true
		close(g.quit)
	}
	g.mu.Unlock()
	rt.m.forgetGroup(g.name)
}

// SyncGroups returns a snapshot of every sync group, by name.
func (rt *Runtime) SyncGroups() []SyncGroupStatus {
	rt.mu.Lock()
	groups := make([]*syncGroup, 0, len(rt.groups))
	for _, g := range rt.groups {
		groups = append(groups, g)
	}
	rt.mu.Unlock()
	out := make([]SyncGroupStatus, 0, len(groups))
	for _, g := range groups {
		out = append(out, g.status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func vipAddrs(vs []VIP) []netip.Addr {
	out := make([]netip.Addr, len(vs))
	for i, v := range vs {
		out[i] = v.Prefix.Addr()
	}
	return out
}
