package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"github.com/lbdproject/lbd/pkg/loader"
	"github.com/lbdproject/lbd/pkg/vrrp"
)

// The datapath: --datapath and --bpffs applied. Per interface that carries
// VRRP the loader attaches the VRRP program at the requested tier (auto:
// XDP native, XDP generic, TC, else none), each instance's receive rules go
// into its maps (an instance the program cannot check stays on its raw
// socket alone), the senders the instances allow (the unicast peers of
// check_unicast_src, or lbd_vrrp_allowed_senders) become the interface's
// allow-list, and the program's events feed the runtime. The raw sockets
// stay open on every tier: they send the adverts, and receive what the
// program passes (fragments, VRIDs it does not know).
//
// Counting: the program drops what it handles (accepted or rejected), so a
// packet is counted by the program or by the socket, never both; the
// runtime's receive series add the two per instance (vrrp.Offload).
//
// Restarts: with pinning (--bpffs), a SIGKILLed lbd leaves the program
// attached and its maps pinned; the next one adopts them at Open (no
// detach, counters continue) and forgets the recorded masters so that its
// fresh instances hear the current master at its next advert. A graceful
// stop detaches and unpins.
//
// Reloads: sync runs after every change of the instance set (startup and
// each reload): it attaches new interfaces, detaches unused ones, and
// replaces the program's VRIDs and allow-lists; an instance changed in
// place hands its new receive rules through vrrp.Offload.SetRx.

// dpIface is one interface that carries VRRP.
type dpIface struct {
	name     string
	index    int
	attached bool // Attach was called (tier may still be none)
	tier     loader.Tier
	hook     string
	adopted  bool
	skipped  []string // why each higher tier failed (auto)
	reason   string   // tier none: why
}

// datapath owns the loader for the daemon.
type datapath struct {
	log  *slog.Logger
	mode loader.Mode
	l    *loader.Loader // nil: no program (off, ipvs, or it could not load under auto)
	why  string         // why l is nil

	mu     sync.Mutex
	ifaces map[string]*dpIface
	insts  map[string]string   // instance -> its interface (instances with a socket)
	offs   map[string]*offload // instance -> its offload (l != nil)
	pruned bool                // PruneUnclaimed done (first sync)

	byKey atomic.Pointer[map[loader.VRIDKey]*offload] // the active offloads, for the events
	tierv atomic.Pointer[[]InterfaceTier]             // status snapshot

	cancel context.CancelFunc
	done   chan struct{}
	closed bool
}

// offload is one instance's share of the datapath: vrrp.Offload for the
// runtime, and LastSeen for its master-down timer.
type offload struct {
	dp      *datapath
	name    string
	iface   string
	ifindex int

	mu      sync.Mutex
	rx      vrrp.OffloadRx // as last told
	haveRx  bool
	key     loader.VRIDKey
	cfg     loader.VRIDConfig
	allow   allowKind
	senders []loader.AllowEntry
	note    string // why the instance stays on its socket alone
	logged  string // the note last logged

	active atomic.Bool // the program handles its VRID
}

// allowKind is what an instance checks senders against; the program
// holds one allow-list per interface, so the instances of a family on an
// interface must agree on it.
type allowKind uint8

const (
	allowAny      allowKind = iota
	allowPeers              // check_unicast_src: the unicast peers, with their TTL ranges
	allowPrefixes           // lbd_vrrp_allowed_senders
)

// newDatapath opens the loader for --datapath mode (not for ipvs and off).
// Under auto a loader that cannot open leaves every interface at tier
// none, logged; a forced tier fails.
func newDatapath(log *slog.Logger, mode string, bpffs string) (*datapath, error) {
	m, err := loader.ParseMode(mode)
	if err != nil {
		return nil, err
	}
	dp := &datapath{log: log, mode: m, ifaces: map[string]*dpIface{}, insts: map[string]string{}, offs: map[string]*offload{}}
	empty := map[loader.VRIDKey]*offload{}
	dp.byKey.Store(&empty)
	if m == loader.ModeIPVS || m == loader.ModeOff {
		dp.why = "--datapath " + mode
		dp.clearPrevious(bpffs)
		return dp, nil
	}
	dir, err := resolveBPFFS(bpffs, log)
	if err != nil {
		return nil, err
	}
	l, err := loader.Open(loader.Options{BPFFS: dir, Logger: log})
	if err != nil {
		if m != loader.ModeAuto {
			return nil, fmt.Errorf("datapath %s: %w", mode, err)
		}
		dp.why = "bpf program not loaded: " + err.Error()
		log.Warn("datapath: raw sockets carry VRRP alone", "tier", loader.TierNone.String(), "reason", dp.why)
		return dp, nil
	}
	dp.l = l
	if dir != "" {
		log.Info("datapath pins", "dir", l.PinDir())
	}
	return dp, nil
}

// resolveBPFFS returns the bpffs to pin in ("" for none). The default
// (/sys/fs/bpf) is mounted when it is not a bpffs yet (as systemd would);
// under `ip netns exec`, which remounts /sys, that mount lives in the
// command's own mount namespace and ends with lbd: pins then do not outlive
// the process, and a restart attaches afresh. Point --bpffs at a bpffs
// mounted outside /sys for restarts without a gap. An explicit --bpffs
// that is not a bpffs is an error.
func resolveBPFFS(dir string, log *slog.Logger) (string, error) {
	explicit := dir != "" && dir != DefaultBPFFS
	if dir == "" {
		dir = DefaultBPFFS
	}
	if isBPFFS(dir) {
		return dir, nil
	}
	if explicit {
		return "", fmt.Errorf("--bpffs %s is not a bpffs (mount -t bpf bpf %s)", dir, dir)
	}
	if err := unix.Mount("bpf", dir, "bpf", 0, "mode=0700"); err != nil {
		log.Warn("datapath: no bpffs to pin in: a restart will attach afresh", "bpffs", dir, "error", err.Error())
		return "", nil
	}
	log.Info("datapath: mounted a bpffs; under ip netns exec it ends with this process (use --bpffs for restarts without a gap)", "bpffs", dir)
	return dir, nil
}

func isBPFFS(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.BPF_FS_MAGIC
}

// clearPrevious detaches what a previous lbd with a program left in this
// network namespace (--datapath changed to off or ipvs): its program would
// otherwise go on absorbing the adverts the sockets now need.
func (dp *datapath) clearPrevious(bpffs string) {
	if bpffs == "" {
		bpffs = DefaultBPFFS
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		return
	}
	dir := filepath.Join(bpffs, "lbd", "netns-"+strconv.FormatUint(st.Ino, 10))
	if _, err := os.Stat(dir); err != nil {
		return
	}
	l, err := loader.Open(loader.Options{BPFFS: bpffs, Logger: dp.log})
	if err != nil {
		dp.log.Warn("datapath: could not remove a previous lbd's program", "dir", dir, "error", err.Error())
		return
	}
	if err := l.Close(true); err != nil {
		dp.log.Warn("datapath: remove a previous lbd's program", "dir", dir, "error", err.Error())
		return
	}
	dp.log.Info("datapath: removed a previous lbd's program", "dir", dir)
}

// instance registers an instance whose socket is open on ifname (replacing
// one of the same name: a restart) and returns its offload, nil when no
// program runs. The runtime gets it as InstanceSpec.Offload, with its
// LastSeen; sync makes it active.
func (dp *datapath) instance(name, ifname string, ifindex int) *offload {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if old := dp.offs[name]; old != nil {
		old.active.Store(false)
	}
	dp.insts[name] = ifname
	if ifc, ok := dp.ifaces[ifname]; !ok || ifc.index != ifindex {
		// New, or re-created under another ifindex (its attachment died
		// with the old one): sync attaches it.
		dp.ifaces[ifname] = &dpIface{name: ifname, index: ifindex, reason: dp.why}
	}
	if dp.l == nil {
		return nil
	}
	o := &offload{dp: dp, name: name, iface: ifname, ifindex: ifindex}
	dp.offs[name] = o
	return o
}

// remove forgets an instance a reload removed (or is restarting): the
// program stops handling its VRID at the next sync.
func (dp *datapath) remove(name string) {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if o := dp.offs[name]; o != nil {
		o.active.Store(false)
		delete(dp.offs, name)
	}
	delete(dp.insts, name)
}

// sync makes the program match the registered instances: interfaces
// attached (new ones) or detached (no longer used), VRIDs and allow-lists
// replaced, the events flowing. Call it once the instances are added and
// before they start (startup), and after a reload's changes, before the
// added instances are released. An error (a forced tier that did not
// attach) means lbd cannot run as asked.
func (dp *datapath) sync(rt *vrrp.Runtime) error {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	defer dp.snapshot()

	used := map[string]bool{}
	for _, ifname := range dp.insts {
		used[ifname] = true
	}
	for name, ifc := range dp.ifaces {
		if used[name] {
			continue
		}
		if dp.l != nil && ifc.attached && ifc.tier != loader.TierNone {
			if err := dp.l.Detach(name); err != nil {
				dp.log.Warn("datapath: detach an interface no longer used", "interface", name, "error", err.Error())
			}
		}
		delete(dp.ifaces, name)
	}
	if dp.l == nil {
		for _, name := range sortedKeys(dp.ifaces) {
			ifc := dp.ifaces[name]
			if !ifc.attached {
				ifc.attached = true
				dp.log.Info("datapath", "interface", name, "tier", loader.TierNone.String(), "reason", dp.why)
			}
		}
		return nil
	}
	l := dp.l
	for _, name := range sortedKeys(dp.ifaces) {
		ifc := dp.ifaces[name]
		if ifc.attached {
			continue
		}
		tier, err := l.Attach(name, dp.mode)
		if err != nil {
			return fmt.Errorf("datapath %s: %w", dp.mode, err)
		}
		ifc.attached, ifc.tier = true, tier
		for _, got := range l.Interfaces() {
			if got.Name == name {
				ifc.hook, ifc.adopted = got.Hook, got.Adopted
				for _, s := range got.Skipped {
					ifc.skipped = append(ifc.skipped, s.Error())
				}
			}
		}
		if tier == loader.TierNone {
			ifc.reason = "no tier attached: " + strings.Join(ifc.skipped, "; ")
		}
	}
	if !dp.pruned {
		dp.pruned = true
		if err := l.PruneUnclaimed(); err != nil {
			dp.log.Warn("datapath: detach interfaces no longer used", "error", err.Error())
		}
	}

	// Which instances the program takes, from their receive rules.
	offs := make([]*offload, 0, len(dp.offs))
	for _, name := range sortedKeys(dp.offs) {
		o := dp.offs[name]
		o.mu.Lock()
		o.note = ""
		if !o.haveRx {
			o.note = "no receive rules yet"
		}
		offs = append(offs, o)
	}
	defer func() {
		for _, o := range offs {
			o.mu.Unlock()
		}
	}()
	keys := map[loader.VRIDKey][]*offload{}
	for _, o := range offs {
		if o.note == "" {
			keys[o.key] = append(keys[o.key], o)
		}
	}
	allow := planAllow(offs)
	want := map[loader.VRIDKey]loader.VRIDConfig{}
	for _, o := range offs {
		switch {
		case o.note != "":
		case dp.ifaces[o.iface] == nil || dp.ifaces[o.iface].tier == loader.TierNone:
			o.note = "-" // the interface's reason says why
		case len(keys[o.key]) > 1:
			var others []string
			for _, x := range keys[o.key] {
				if x != o {
					others = append(others, x.name)
				}
			}
			o.note = fmt.Sprintf("virtual_router_id %d on %s also used by %s (the program keys by interface and VRID)",
				o.key.VRID, o.iface, strings.Join(others, ", "))
		default:
			if err := l.CheckVRID(o.key, o.cfg); err != nil {
				o.note = err.Error()
				break
			}
			want[o.key] = o.cfg
		}
	}

	if dp.cancel == nil {
		// Events before VRIDs: nothing the program reports is missed.
		ctx, cancel := context.WithCancel(context.Background())
		events, err := l.Events(ctx)
		if err != nil {
			cancel()
			return fmt.Errorf("datapath events: %w", err)
		}
		dp.cancel, dp.done = cancel, make(chan struct{})
		go dp.forward(rt, events)
	}
	if err := l.ReplaceVRIDs(want); err != nil {
		dp.log.Error("datapath: vrids not handed to the program; raw sockets carry VRRP alone", "error", err.Error())
		for _, o := range offs {
			if o.note == "" {
				o.note = "vrid setup failed: " + err.Error()
			}
		}
		l.ReplaceVRIDs(nil)
	}
	for _, name := range sortedKeys(dp.ifaces) {
		ifc := dp.ifaces[name]
		if ifc.tier == loader.TierNone {
			continue
		}
		if err := l.SetAllowList(ifc.index, allow[ifc.index]); err != nil {
			// The program would reject the allowed senders: fall back.
			dp.log.Error("datapath: allow-list not set", "interface", name, "error", err.Error())
			for _, o := range offs {
				if o.iface == name && o.cfg.EnforceAllow && o.note == "" {
					l.DeleteVRID(o.key)
					o.note = "allow-list not set: " + err.Error()
				}
			}
		}
	}
	byKey := map[loader.VRIDKey]*offload{}
	for _, o := range offs {
		if o.note != "" {
			o.active.Store(false)
			if o.note != "-" && o.note != o.logged {
				dp.log.Warn("datapath: vrrp_instance stays on raw sockets", "instance", o.name, "vrid", int(o.key.VRID),
					"interface", o.iface, "reason", o.note)
			}
			o.logged = o.note
			continue
		}
		o.logged = ""
		byKey[o.key] = o
		if o.active.Load() {
			continue
		}
		// A fresh instance knows no master: its next advert must be an
		// event, also when the program (or a previous lbd's) recorded
		// its sender.
		if err := l.ForgetMaster(o.key); err != nil {
			dp.log.Warn("datapath: forget recorded master", "instance", o.name, "error", err.Error())
		}
		o.active.Store(true)
	}
	dp.byKey.Store(&byKey)
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// planAllow picks, per interface and family, the sender list the program
// enforces, and notes the instances it cannot serve: with both kinds on
// one interface and family the prefixes win (a peer list and prefixes in
// one longest-prefix-match table would let each other's senders in), and
// instances of one kind must agree on their list. offs are locked.
func planAllow(offs []*offload) map[int][]loader.AllowEntry {
	type ifFam struct {
		ifindex int
		family  loader.Family
	}
	type group struct {
		kind    allowKind
		senders []loader.AllowEntry
		ok      bool
	}
	groups := map[ifFam]*group{}
	for _, kind := range []allowKind{allowPrefixes, allowPeers} {
		for _, o := range offs {
			if o.note != "" || o.allow != kind {
				continue
			}
			k := ifFam{o.key.Ifindex, o.key.Family}
			g := groups[k]
			switch {
			case g == nil:
				groups[k] = &group{kind: kind, senders: o.senders, ok: true}
			case g.kind != kind:
				o.note = "check_unicast_src next to lbd_vrrp_allowed_senders on " + o.iface +
					" (the program holds one allow-list per interface and family)"
			case !slices.Equal(g.senders, o.senders):
				g.ok = false
			}
		}
	}
	for _, o := range offs {
		if o.note != "" || o.allow == allowAny {
			continue
		}
		if g := groups[ifFam{o.key.Ifindex, o.key.Family}]; !g.ok {
			o.note = "another instance on " + o.iface + " allows other senders (the program holds one allow-list per interface and family)"
		}
	}
	lists := map[int][]loader.AllowEntry{}
	for k, g := range groups {
		if g.ok {
			lists[k.ifindex] = append(lists[k.ifindex], g.senders...)
		}
	}
	return lists
}

// forward hands each event to its instance, as a received advert.
func (dp *datapath) forward(rt *vrrp.Runtime, events <-chan loader.Event) {
	defer close(dp.done)
	for ev := range events {
		o := (*dp.byKey.Load())[ev.Key]
		if o == nil || !o.active.Load() {
			continue
		}
		o.mu.Lock()
		version, auth := o.cfg.Version, o.cfg.AuthType
		o.mu.Unlock()
		adv := vrrp.Advert{
			Version:        version,
			Type:           vrrp.TypeAdvertisement,
			VRID:           ev.Key.VRID,
			Priority:       ev.Priority,
			Interval:       ev.Interval,
			LegacyChecksum: ev.LegacyChecksum,
		}
		if version == 2 {
			adv.AuthType = vrrp.AuthType(auth)
		}
		if _, err := rt.HandleAdvert(o.name, ev.Addr, &adv); err != nil {
			dp.log.Debug("datapath event for no instance", "instance", o.name, "error", err.Error())
		}
	}
}

// stop ends the event stream and closes the loader: graceful detaches
// and unpins (lbd stops for good); not graceful leaves the program
// running for the next lbd to adopt.
func (dp *datapath) stop(graceful bool) error {
	if dp.cancel != nil {
		dp.cancel()
		<-dp.done
		dp.cancel = nil
	}
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if dp.closed {
		return nil
	}
	dp.closed = true
	for _, o := range dp.offs {
		o.active.Store(false)
	}
	if dp.l == nil {
		return nil
	}
	// dp.l stays set: a late reader (a scrape) gets "closed" answers.
	return dp.l.Close(graceful)
}

// snapshot publishes the datapath per interface for status and metrics.
// dp.mu is held.
func (dp *datapath) snapshot() {
	out := []InterfaceTier{}
	for _, name := range sortedKeys(dp.ifaces) {
		ifc := dp.ifaces[name]
		out = append(out, InterfaceTier{Interface: name, Tier: ifc.tier.String(), Reason: ifc.reason,
			Hook: ifc.hook, Adopted: ifc.adopted, Skipped: ifc.skipped})
	}
	dp.tierv.Store(&out)
}

// tiers is the datapath per interface for status.
func (dp *datapath) tiers() []InterfaceTier {
	if p := dp.tierv.Load(); p != nil {
		return slices.Clone(*p)
	}
	return []InterfaceTier{}
}

// instanceTier says which path an instance's adverts take, and why not
// the program's when its interface has one.
func (dp *datapath) instanceTier(name string) (string, string) {
	dp.mu.Lock()
	o := dp.offs[name]
	var tier loader.Tier
	if o != nil && dp.ifaces[o.iface] != nil {
		tier = dp.ifaces[o.iface].tier
	}
	dp.mu.Unlock()
	if o == nil {
		return loader.TierNone.String(), "" // no program, or no socket: the interface or the fault says why
	}
	if o.active.Load() {
		return tier.String(), ""
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.note == "-" {
		return loader.TierNone.String(), ""
	}
	return loader.TierNone.String(), o.note
}

// SetRx implements vrrp.Offload: the instance's receive rules, whether it
// needs every advert (the program's master flag) and whether the address
// checks are skipped for its master. An active offload applies them at
// once; sync applies the allow-list.
func (o *offload) SetRx(x vrrp.OffloadRx) {
	o.mu.Lock()
	defer o.mu.Unlock()
	entering := x.State == vrrp.StateBackup && (!o.haveRx || o.rx.State != vrrp.StateBackup)
	o.rx, o.haveRx = x, true
	rc := &x.Rx
	unicast := len(rc.UnicastPeers) > 0
	o.key = loader.VRIDKey{Ifindex: o.ifindex, VRID: rc.VRID, Family: loader.Family(rc.Family)}
	// The sender check Validate applies (its step 15).
	o.allow, o.senders = allowAny, nil
	switch {
	case unicast && rc.CheckUnicastSrc:
		o.allow = allowPeers
		for _, up := range rc.UnicastPeers {
			o.senders = append(o.senders, loader.AllowEntry{Prefix: netip.PrefixFrom(up.Addr, up.Addr.BitLen()),
				MinTTL: up.MinTTL, MaxTTL: up.MaxTTL})
		}
	case len(rc.AllowedSenders) > 0:
		o.allow = allowPrefixes
		for _, p := range rc.AllowedSenders {
			o.senders = append(o.senders, loader.AllowEntry{Prefix: p.Masked()})
		}
	}
	slices.SortFunc(o.senders, func(a, b loader.AllowEntry) int {
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return a.Prefix.Bits() - b.Prefix.Bits()
	})
	o.cfg = loader.VRIDConfig{
		Version:        rc.Version,
		AuthType:       uint8(rc.AuthType),
		AuthData:       rc.AuthData,
		Interval:       rc.Interval,
		VIPs:           rc.VIPs,
		Unicast:        unicast,
		EnforceAllow:   o.allow != allowAny,
		LocalAddr:      rc.LocalAddr,
		ChecksumCompat: loader.ChecksumCompat(rc.ChecksumCompat),
		SkipAddrCheck:  x.SkipAddrCheck,
		Master:         x.EveryAdvert,
	}
	if !o.active.Load() {
		return
	}
	if err := o.dp.l.SetVRID(o.key, o.cfg); err != nil {
		// No longer offloadable (a reload gave it too many VIPs): its
		// adverts go to its socket from now on.
		o.active.Store(false)
		o.dp.l.DeleteVRID(o.key)
		o.note = err.Error()
		o.dp.log.Warn("datapath: vrrp_instance now on raw sockets", "instance", o.name, "reason", o.note)
		return
	}
	if entering {
		// It ignored adverts until now (INIT, FAULT) or led (MASTER):
		// the sender the program recorded meanwhile must be an event
		// again, or the instance would not hear it and take over.
		if err := o.dp.l.ForgetMaster(o.key); err != nil {
			o.dp.log.Warn("datapath: forget recorded master", "instance", o.name, "error", err.Error())
		}
	}
}

// Stats implements vrrp.Offload from the program's maps.
func (o *offload) Stats() vrrp.OffloadStats {
	var out vrrp.OffloadStats
	if !o.active.Load() {
		return out
	}
	o.mu.Lock()
	key := o.key
	o.mu.Unlock()
	l := o.dp.l
	if s, ok := l.VRIDStats(key); ok {
		out.Received = s.Accepted
		out.PriorityZeroReceived = s.PriorityZero
		for r := 0; r < len(out.Dropped) && r < len(s.Rejected); r++ {
			out.Dropped[r] = s.Rejected[r]
		}
	}
	if mi, ok := l.MasterInfo(key); ok {
		out.MasterAddr, out.LastSeen = mi.Addr, mi.LastSeen
	}
	return out
}

// lastSeen is the instance's vrrp.Options.LastSeen.
func (o *offload) lastSeen(time.Time) (time.Time, bool) {
	if !o.active.Load() {
		return time.Time{}, false
	}
	o.mu.Lock()
	key := o.key
	o.mu.Unlock()
	return o.dp.l.LastSeen(key)
}

// tierCollector exports lbd_datapath_tier for every interface that carries
// VRRP, tier none included.
type tierCollector struct{ dp *datapath }

var descTier = prometheus.NewDesc("lbd_datapath_tier",
	"Datapath tier per interface carrying VRRP: 1 for the active tier, 0 for the others.",
	[]string{"interface", "tier"}, nil)

func (c tierCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descTier }

func (c tierCollector) Collect(ch chan<- prometheus.Metric) {
	for _, t := range c.dp.tiers() {
		for _, tier := range loader.Tiers {
			v := 0.0
			if tier.String() == t.Tier {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descTier, prometheus.GaugeValue, v, t.Interface, tier.String())
		}
	}
}
