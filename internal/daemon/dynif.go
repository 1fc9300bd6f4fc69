package daemon

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/lbdproject/lbd/pkg/netutil"
)

// Interfaces that come and go (keepalived's dynamic_interfaces, which lbd
// always does): an instance records, when it is set up, the interfaces
// its setup depended on (its interface, the VMAC's or ipvlan's base; the
// interfaces its VIPs go on) with their ifindex, 0 for one missing. A
// netlink subscription (pkg/netutil Watch) follows the links and
// addresses; after each burst of events the instances are checked:
//   - one of its interfaces exists under another ifindex than at setup
//     (it appeared, or was deleted and re-created): the instance is
//     restarted, as a reload restarts one (removed, then added with the
//     same plan), so that its sockets, XDP attachment, VMAC and
//     announcers are on the new interface;
//   - its setup failed (it runs in FAULT with the reason) and the state
//     of its interfaces (ifindex, up, addresses) differs from the one it
//     failed with: it is set up again.
// A deleted interface needs nothing here: the instance's own tracking of
// its interface puts it in FAULT. The checks and restarts hold reloadMu:
// they never run alongside a reload, and touch only the instances
// concerned.

// ifDeps lists the interfaces a plan's setup depends on: made by others,
// not by lbd (its VMACs and ipvlan go and come with the instance).
func ifDeps(p *Plan) []string {
	made := map[string]bool{}
	if p.VMAC != nil {
		made[p.VMAC.Name] = true
	}
	for _, av := range p.AddrVMACs {
		made[av.Name] = true
	}
	if p.IPVLAN != nil {
		made[p.IPVLAN.Name] = true
	}
	deps := map[string]bool{}
	if p.Config.Interface != "" {
		deps[p.Config.Interface] = true
	}
	for _, pv := range p.VIPs {
		if pv.Dev != "" && !made[pv.Dev] {
			deps[pv.Dev] = true
		}
	}
	return slices.Sorted(maps.Keys(deps))
}

// ifLook reads interfaces for one check, each once: after a failover of
// many instances on one interface, the check that the VIPs' address
// events cause must not cost a link lookup and two address dumps per
// instance.
type ifLook struct {
	host *netutil.Host
	idx  map[string]int    // ifindex, 0: missing
	fp   map[string]string // fingerprint, read only when asked for
}

func newIfLook(host *netutil.Host) *ifLook {
	return &ifLook{host: host, idx: map[string]int{}, fp: map[string]string{}}
}

func (l *ifLook) index(name string) int {
	if idx, ok := l.idx[name]; ok {
		return idx
	}
	idx := 0
	if link, err := l.host.LinkByName(name); err == nil {
		idx = link.Index
	}
	l.idx[name] = idx
	return idx
}

// fingerprint is an interface's ifindex, admin state and addresses: what
// a failed setup is retried on when it changes.
func (l *ifLook) fingerprint(name string) string {
	if fp, ok := l.fp[name]; ok {
		return fp
	}
	fp := "-"
	if link, err := l.host.LinkByName(name); err == nil {
		var b strings.Builder
		fmt.Fprintf(&b, "%d:%t", link.Index, link.AdminUp())
		for _, fam := range []netutil.Family{netutil.FamilyIPv4, netutil.FamilyIPv6} {
			addrs, _ := l.host.Addrs(link.Index, fam)
			for _, a := range addrs {
				b.WriteString("," + a.Prefix.String())
			}
		}
		fp = b.String()
	}
	l.fp[name] = fp
	return fp
}

// ifState reads the interfaces a plan depends on: their ifindex (0:
// missing) and, with withFP, a fingerprint of each one's state (under "",
// without an interface keyword, which interface holds the source
// address).
func (d *Daemon) ifState(p *Plan, look *ifLook, withFP bool) (map[string]int, map[string]string) {
	links := map[string]int{}
	fp := map[string]string{}
	for _, name := range ifDeps(p) {
		links[name] = look.index(name)
		if withFP {
			fp[name] = look.fingerprint(name)
		}
	}
	if withFP && p.Config.Interface == "" {
		if l, err := resolveInterface(d.host, p); err == nil {
			fp[""] = fmt.Sprintf("%s:%d", l.Name, l.Index)
		}
	}
	return links, fp
}

// watchInterfaces follows link and address changes until ctx is done and
// sets up again the instances whose interfaces appeared or changed. The
// returned channel is closed when it stopped.
func (d *Daemon) watchInterfaces(ctx context.Context) (<-chan struct{}, error) {
	events, err := netutil.Watch(ctx, netutil.WatchOptions{Logger: d.log, Buffer: 256})
	if err != nil {
		return nil, fmt.Errorf("dynamic interfaces: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range events {
			// Coalesce a burst (the first listing, a veth pair, an
			// interface and its addresses) into one check.
			for drained := false; !drained; {
				select {
				case _, ok := <-events:
					if !ok {
						return
					}
				default:
					drained = true
				}
			}
			if ctx.Err() != nil {
				continue
			}
			d.checkInterfaces()
		}
	}()
	return done, nil
}

// checkInterfaces restarts the instances whose interfaces appeared or
// changed (see above).
func (d *Daemon) checkInterfaces() {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	d.mu.Lock()
	insts := maps.Clone(d.insts)
	garp := d.cur.GARP
	rx := d.cur.RxBufs
	d.mu.Unlock()

	why := map[string]string{}
	newIdx := map[string]bool{} // interfaces under a new ifindex
	look := newIfLook(d.host)
	for _, name := range slices.Sorted(maps.Keys(insts)) {
		r := insts[name]
		links, fp := d.ifState(&r.plan, look, r.setupFailed)
		for _, ifname := range slices.Sorted(maps.Keys(links)) {
			if idx := links[ifname]; idx != 0 && idx != r.links[ifname] {
				why[name] = fmt.Sprintf("interface %s appeared (ifindex %d)", ifname, idx)
				newIdx[ifname] = true
				break
			}
		}
		if why[name] != "" || !r.setupFailed {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(fp)) {
			if fp[k] == r.ifFP[k] {
				continue
			}
			if k == "" {
				why[name] = "the source address appeared"
			} else {
				why[name] = fmt.Sprintf("interface %s changed (ifindex %d)", k, links[k])
			}
			break
		}
		if why[name] == "" && len(fp) < len(r.ifFP) {
			why[name] = "the source address moved"
		}
	}
	if len(why) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), reloadTimeout)
	defer cancel()
	names := slices.Sorted(maps.Keys(why))
	for _, name := range names {
		d.removeInstance(ctx, name, "dynamic interfaces")
	}
	// An announcer is bound to an ifindex: one of an interface now under
	// a new one is opened afresh.
	for ifname := range newIdx {
		d.anns.drop(ifname)
	}
	for _, name := range names {
		p := insts[name].plan
		d.log.Info(why[name]+": setting up "+name, "instance", name)
		if err := d.startInstance(&p, garp); err != nil {
			d.log.Error("dynamic interfaces: vrrp_instance refused", "instance", name, "error", err)
		}
	}
	for _, c := range d.settle(rx, "dynamic interfaces") {
		d.log.Info("dynamic interfaces: " + c)
	}
	d.track.mu.Lock()
	d.track.recomputeLocked()
	d.track.mu.Unlock()
}
