package vrrp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The runtime's seams to the host. pkg/netutil's types satisfy them
// through small adapters in the daemon; tests use in-memory fakes.

// Conn is a raw VRRP socket on one interface and address family.
type Conn interface {
	// ReadPacket blocks until a packet arrives and reads it into b; the
	// Packet's Payload aliases b. An error wrapping ErrBadPacket means a
	// packet was received but is unusable (truncated, malformed IP
	// header): it is counted as packet_len and reading goes on. An error
	// matching net.ErrClosed ends the reader.
	ReadPacket(b []byte) (Packet, error)
	// WriteTo sends the VRRP message msg from src to dst (the group or a
	// unicast peer); the socket adds the IP header.
	WriteTo(msg []byte, src, dst netip.Addr) error
	// Close closes the socket; a blocked ReadPacket returns.
	Close() error
}

// ErrBadPacket marks a received packet that could not be read whole.
var ErrBadPacket = errors.New("unusable vrrp packet")

// Addresses installs and removes one instance's VIPs. AddVIP is idempotent;
// RemoveVIP removes only what was added (never an address that was there
// before) and treats an absent address as removed.
type Addresses interface {
	AddVIP(v VIP) error
	RemoveVIP(v VIP) error
}

// Announcer sends one gratuitous ARP (IPv4) or unsolicited neighbour
// advertisement (IPv6) for ip, on one interface.
type Announcer interface {
	Announce(ip netip.Addr) error
}

// AnnounceTarget is one address to announce after becoming MASTER, with
// where and how fast.
type AnnounceTarget struct {
	Addr      netip.Addr
	Announcer Announcer
	// Domain names the pacing domain: messages of one family in one domain
	// are spaced by Interval. keepalived paces per interface, or across
	// the interfaces of a garp_group.
	Domain string
	// Interval is garp_interval (IPv4) or gna_interval (IPv6) of the
	// domain: the least time between two messages; 0 sends at once.
	Interval time.Duration
	// ExtraIf marks the target announced every GARP.ExtraIf while MASTER
	// (garp_extra_if): the first address of each interface, other than
	// the instance's, that keepalived's vrrp_send_vmac_update picks.
	ExtraIf bool
}

// Offload is a datapath ahead of an instance's socket that validates,
// counts and absorbs its adverts (the daemon's adapter of pkg/loader's XDP
// program). What it accepts without waking userspace reaches the instance
// only through Options.LastSeen, and what changes (a new sender, a new
// priority) through Runtime.HandleAdvert; what it passes reaches the
// socket as usual. The runtime hands it the instance's receive rules and
// tells it when the instance needs every advert (SetRx), and adds its
// counters to the instance's status and metrics, so that every series
// reads the same whichever path a packet took.
type Offload interface {
	// SetRx is called when the instance is added, then on the instance's
	// goroutine after each step that changed what it holds. Keep it
	// quick.
	SetRx(OffloadRx)
	// Stats reads the offload's counters and its view of the master (at
	// scrape and status time, from any goroutine).
	Stats() OffloadStats
}

// OffloadRx is what an Offload needs to check and hand over an instance's
// adverts as the instance itself would (Validate's rules and order).
type OffloadRx struct {
	// Rx is the instance's receive rules (Instance.RxConfig, without
	// SkipAddrCheckFrom: see SkipAddrCheck).
	Rx RxConfig
	// EveryAdvert: every advert accepted must reach HandleAdvert
	// (Instance.NeedsEveryAdvert: MASTER, or a BACKUP that may preempt).
	EveryAdvert bool
	// SkipAddrCheck: while not MASTER, adverts from the master followed
	// skip the address-list and sender checks (skip_check_adv_addr, or a
	// reload that changed this BACKUP's VIPs, until its next transition).
	SkipAddrCheck bool
	// State is the instance's. An instance entering BACKUP (from INIT,
	// FAULT or MASTER) knows no master to follow yet: the offload must
	// hand it the next advert even if its sender is the one it recorded
	// while the instance ignored adverts.
	State State
}

// OffloadStats are an Offload's counters for one instance, since it was
// set up (they may predate this process: pinned maps survive a restart).
type OffloadStats struct {
	Received             uint64
	PriorityZeroReceived uint64
	Dropped              [NumReasons]uint64
	// MasterAddr sent the last advert the offload accepted, at LastSeen
	// (zero LastSeen: none).
	MasterAddr netip.Addr
	LastSeen   time.Time
}

// InstanceSpec is what the runtime needs to run one instance.
type InstanceSpec struct {
	Config  Config
	Options Options
	// Interface names the receive port (with the config's family): the
	// interface the instance's adverts arrive on. Default Config.Interface.
	Interface string
	// Group is the multicast destination (mcast_dst_ip, vrrp_mcast_group4
	// or 6); zero means MulticastGroupIPv4 / MulticastGroupIPv6. Unused
	// with unicast peers.
	Group netip.Addr
	// Conn sends the instance's adverts. nil: the instance cannot send,
	// and Fault must say why.
	Conn Conn
	// Addresses installs the VIPs; nil installs nothing (tests).
	Addresses Addresses
	// Announce lists the addresses to announce, VIPs then excluded VIPs,
	// in order; empty announces nothing.
	Announce []AnnounceTarget
	// Fault, when set, starts the instance in FAULT with this detail
	// (fault source "setup"): its interface is missing, its socket failed.
	Fault string
	// HoldInit keeps the instance in INIT (not started, adverts ignored)
	// until Release: keepalived's wait for the first result of an
	// unweighted vrrp_script. SetFault and SetPriority before Release
	// decide the state it starts in.
	HoldInit bool
	// Offload, if set, receives the instance's adverts ahead of Conn (see
	// Offload). Set Options.LastSeen with it.
	Offload Offload
}

// ListenSpec describes a socket the runtime reads.
type ListenSpec struct {
	Interface string // the receive port, with Family
	Family    Family
	// Unicast makes this socket the one that hands unicast packets to the
	// instances of the port. Every raw socket on an interface receives the
	// unicast VRRP packets arriving there; exactly one per port must take
	// them, or they would be counted twice. Multicast packets reach only
	// the sockets that joined their group (IP_MULTICAST_ALL off).
	Unicast bool
}

// RuntimeOptions configures a Runtime.
type RuntimeOptions struct {
	Logger *slog.Logger // nil discards
	// Metrics receives the series; nil counts into unregistered ones. A
	// Metrics serves one runtime (its receive series read this one).
	Metrics *Metrics
	// InboxSize bounds each instance's queue of accepted adverts
	// (default 64); an advert arriving at a full queue is counted in
	// lbd_vrrp_inbox_overflow_total and dropped.
	InboxSize int
	// FaultRetry is how long an instance stays in FAULT after a VIP could
	// not be added, before it tries again (default 5s).
	FaultRetry time.Duration
	// ReadBuffer is the receive buffer size per socket (default 9216,
	// jumbo frame MTU).
	ReadBuffer int
	// OnEvent, if set, receives every Event: instance events on the
	// instance's goroutine, group events on the group's, each in order.
	// It must not block (queue slow work); it must not call the
	// Runtime's methods that wait for an instance (Reconfigure,
	// RemoveInstance) or Force/SetFault/SetPriority/Release of the
	// instance it is called for.
	OnEvent func(Event)
	// PreciseTimers runs the instances' long waits (100 ms and more) on
	// timerfds (waker.go): Go's own timers are up to a millisecond late
	// there, and 0.1% of the wait more from Linux's slack.
	// Off under testing/synctest, whose virtual time they do not follow.
	PreciseTimers bool
	// LogUnknownVRIDs logs the adverts that arrive on a port (interface
	// and family) for a VRID none of its instances has: global_defs
	// log_unknown_vrids (SetLogUnknownVRIDs changes it). They are counted
	// either way (lbd_vrrp_packets_dropped_total, reason vrid_unknown).
	// Where keepalived logs each one, the first of a VRID on a port is
	// logged at once and then at most one line per
	// UnknownVRIDLogInterval (default DefaultUnknownVRIDLogInterval),
	// with the number not logged in between (unknown.go). Only the
	// adverts that reach a socket are seen: the XDP/TC program passes
	// unknown VRIDs to the kernel, so they do on every tier.
	LogUnknownVRIDs        bool
	UnknownVRIDLogInterval time.Duration
}

// Runtime runs VRRP instances: one goroutine owns each Instance, one reader
// goroutine per socket demultiplexes received packets by VRID, validates
// them and queues the accepted adverts to their instance, one goroutine per
// pacing domain and family sends gratuitous ARPs / NAs.
//
// Validation runs in the reader, against a snapshot of the instance's
// receive rules that the instance's goroutine publishes (atomically, at
// each change of state, master or local address): invalid packets are
// counted and dropped without waking the instance, and the reader never
// touches the Instance itself. A failing instance is isolated: its
// failures are logged and counted and send it to FAULT; a panic in its
// goroutine is recovered, logged, counted (op "panic"), its VIPs removed,
// and that instance alone stops, reported as FAULT.
type Runtime struct {
	log  *slog.Logger
	m    *Metrics
	opts RuntimeOptions
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup // readers and pacers
	rwg  sync.WaitGroup // runners

	mu       sync.Mutex
	runners  map[string]*runner
	order    []*runner
	ports    map[portKey]*port
	pacers   map[pacerKey]*pacer
	conns    []Conn
	groups   map[string]*syncGroup // by name
	memberOf map[string]*syncGroup // by member instance name
	started  bool
	stopped  bool

	logUnknown atomic.Bool // RuntimeOptions.LogUnknownVRIDs, as last set
}

type portKey struct {
	iface  string
	family Family
}

// port is one interface and family: the instances that receive there.
type port struct {
	key     portKey
	drops   *dropCounters
	table   atomic.Pointer[demux]
	unknown unknownLog // log_unknown_vrids' rate limit
}

// demux is a port's immutable lookup table, replaced when instances are
// added.
type demux struct {
	mcast map[groupVRID]*runner // multicast instances by group and VRID
	ucast map[uint8]*runner     // unicast instances by VRID
}

type groupVRID struct {
	group netip.Addr
	vrid  uint8
}

// NewRuntime returns an empty runtime. Add instances and sockets, then
// Start it.
func NewRuntime(opts RuntimeOptions) *Runtime {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics, _ = NewMetrics(nil)
	}
	if opts.InboxSize <= 0 {
		opts.InboxSize = 64
	}
	if opts.FaultRetry <= 0 {
		opts.FaultRetry = 5 * time.Second
	}
	if opts.ReadBuffer <= 0 {
		opts.ReadBuffer = 9216
	}
	if opts.UnknownVRIDLogInterval <= 0 {
		opts.UnknownVRIDLogInterval = DefaultUnknownVRIDLogInterval
	}
	ctx, cancel := context.WithCancel(context.Background())
	rt := &Runtime{
		log:      opts.Logger,
		m:        opts.Metrics,
		opts:     opts,
		ctx:      ctx,
		stop:     cancel,
		runners:  map[string]*runner{},
		ports:    map[portKey]*port{},
		pacers:   map[pacerKey]*pacer{},
		groups:   map[string]*syncGroup{},
		memberOf: map[string]*syncGroup{},
	}
	rt.logUnknown.Store(opts.LogUnknownVRIDs)
	opts.Metrics.rt.Store(rt)
	return rt
}

// SetLogUnknownVRIDs turns the logging of adverts for unknown VRIDs on or
// off (RuntimeOptions.LogUnknownVRIDs), from any goroutine: a reload that
// changed global_defs log_unknown_vrids.
func (rt *Runtime) SetLogUnknownVRIDs(on bool) { rt.logUnknown.Store(on) }

// AddInstance registers an instance; it starts with Start (or at once when
// the runtime runs already). The config is normalized and validated as
// NewInstance does.
func (rt *Runtime) AddInstance(spec InstanceSpec) error {
	var r *runner
	if spec.Options.MasterGate == nil {
		// The sync group is looked up at each ask: a reload may form
		// or dissolve it while the instance runs.
		spec.Options.MasterGate = func() bool {
			if g := r.group.Load(); g != nil {
				return g.gate(r.name)
			}
			return true
		}
	}
	in, err := NewInstance(spec.Config, spec.Options)
	if err != nil {
		return err
	}
	cfg := in.Config()
	if spec.Interface == "" {
		spec.Interface = cfg.Interface
	}
	unicast := len(cfg.UnicastPeers) > 0
	if !unicast && !spec.Group.IsValid() {
		spec.Group = MulticastGroupIPv4
		if cfg.Family() == FamilyIPv6 {
			spec.Group = MulticastGroupIPv6
		}
	}
	if !unicast && familyOf(spec.Group) != cfg.Family() {
		return fmt.Errorf("vrrp_instance %s: group %v is not %v", cfg.Name, spec.Group, cfg.Family())
	}
	if spec.Conn == nil && spec.Fault == "" {
		return fmt.Errorf("vrrp_instance %s: no socket and no fault to explain why", cfg.Name)
	}

	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.stopped {
		return errors.New("runtime stopped")
	}
	if _, dup := rt.runners[cfg.Name]; dup {
		return fmt.Errorf("vrrp_instance %s: already running", cfg.Name)
	}
	p := rt.portLocked(portKey{spec.Interface, cfg.Family()})
	old := p.table.Load()
	if unicast {
		if other := old.ucast[cfg.VRID]; other != nil {
			return fmt.Errorf("vrrp_instance %s: virtual_router_id %d is already used by unicast vrrp_instance %s on %s", cfg.Name, cfg.VRID, other.name, spec.Interface)
		}
	} else if other := old.mcast[groupVRID{spec.Group, cfg.VRID}]; other != nil {
		return fmt.Errorf("vrrp_instance %s: virtual_router_id %d is already used by vrrp_instance %s on %s (%v)", cfg.Name, cfg.VRID, other.name, spec.Interface, spec.Group)
	}
	r = newRunner(rt, in, spec, p)
	for _, t := range spec.Announce {
		r.pacers = append(r.pacers, rt.pacerLocked(t.Domain, familyOf(t.Addr)))
	}
	if g := rt.memberOf[cfg.Name]; g != nil {
		r.group.Store(g)
		g.attach(r)
	}
	next := &demux{mcast: maps(old.mcast), ucast: maps(old.ucast)}
	if unicast {
		next.ucast[cfg.VRID] = r
	} else {
		next.mcast[groupVRID{spec.Group, cfg.VRID}] = r
	}
	p.table.Store(next)
	rt.runners[cfg.Name] = r
	rt.order = append(rt.order, r)
	if rt.started {
		rt.rwg.Add(1)
		go r.run()
	}
	return nil
}

func maps[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (rt *Runtime) portLocked(k portKey) *port {
	p := rt.ports[k]
	if p == nil {
		p = &port{key: k, drops: new(dropCounters)}
		p.table.Store(&demux{mcast: map[groupVRID]*runner{}, ucast: map[uint8]*runner{}})
		rt.ports[k] = p
	}
	return p
}

// Listen reads conn, a socket on spec's interface and family, from now
// until Stop, which closes it. Read errors other than ErrBadPacket are
// logged and retried after a pause; net.ErrClosed ends the reader.
func (rt *Runtime) Listen(conn Conn, spec ListenSpec) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.stopped {
		return errors.New("runtime stopped")
	}
	p := rt.portLocked(portKey{spec.Interface, spec.Family})
	rt.conns = append(rt.conns, conn)
	rd := &reader{rt: rt, conn: conn, port: p, unicast: spec.Unicast,
		log: rt.log.With("interface", spec.Interface, "family", spec.Family.String())}
	rt.wg.Add(1)
	go rd.run()
	return nil
}

// Start starts every instance added so far; later ones start when added.
func (rt *Runtime) Start() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.started || rt.stopped {
		return
	}
	rt.started = true
	for _, r := range rt.order {
		rt.rwg.Add(1)
		go r.run()
	}
}

// Stop shuts every instance down as RFC 5798 6.4.3 and keepalived do on
// SIGTERM: a MASTER sends a priority-0 advert and removes its VIPs; every
// instance ends in STOP. Then it closes the sockets and ends the readers
// and pacers. It returns ctx's error if the instances were not all down in
// time (what is left is abandoned).
func (rt *Runtime) Stop(ctx context.Context) error {
	rt.mu.Lock()
	if rt.stopped {
		rt.mu.Unlock()
		return nil
	}
	rt.stopped = true
	runners := slices.Clone(rt.order)
	conns := slices.Clone(rt.conns)
	var groups []*syncGroup
	for _, g := range rt.groups {
		groups = append(groups, g)
	}
	rt.mu.Unlock()

	for _, r := range runners {
		r.shutdown(false)
	}
	done := make(chan struct{})
	go func() {
		rt.rwg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("stop vrrp instances: %w", ctx.Err())
	}
	// keepalived reports the groups stopped after their instances
	// (vrrp_notify.c notify_shutdown).
	slices.SortFunc(groups, func(a, b *syncGroup) int { return strings.Compare(a.name, b.name) })
	for _, g := range groups {
		g.stop()
	}
	rt.stop()
	for _, c := range conns {
		c.Close()
	}
	rt.wg.Wait()
	return err
}

// ErrNoInstance reports an instance name the runtime does not know.
var ErrNoInstance = errors.New("no such vrrp instance")

func (rt *Runtime) runner(name string) (*runner, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	r := rt.runners[name]
	if r == nil {
		return nil, fmt.Errorf("vrrp_instance %s: %w", name, ErrNoInstance)
	}
	return r, nil
}

// SetFault sets (on) or clears one fault source of an instance: the
// instance is in FAULT while any source is set (Instance.SetFault with the
// sources' details joined). Sources are the caller's names ("interface",
// "track_script chk_http", ...); "setup" and "vip" are the runtime's.
func (rt *Runtime) SetFault(name, source string, on bool, detail string) error {
	r, err := rt.runner(name)
	if err != nil {
		return err
	}
	r.control(func(now time.Time) []Action { return r.setFault(now, source, on, detail) })
	return nil
}

// SetPriority sets an instance's tracked total (Instance.SetPriority).
func (rt *Runtime) SetPriority(name string, total int) error {
	r, err := rt.runner(name)
	if err != nil {
		return err
	}
	r.control(func(now time.Time) []Action { return r.in.SetPriority(now, total) })
	return nil
}

// Force moves an instance for its sync group (Instance.Force).
func (rt *Runtime) Force(name string, to State, cause Cause) error {
	r, err := rt.runner(name)
	if err != nil {
		return err
	}
	r.control(func(now time.Time) []Action { return r.in.Force(now, to, cause) })
	return nil
}

// HandleAdvert queues an advert from src that was validated elsewhere (the
// XDP program's ring-buffer events) to the instance, as a received one.
// It reports false when the queue was full.
func (rt *Runtime) HandleAdvert(name string, src netip.Addr, adv *Advert) (bool, error) {
	r, err := rt.runner(name)
	if err != nil {
		return false, err
	}
	return r.deliver(rxEvent{src: src, adv: scalarAdvert(adv)}), nil
}

// InstanceStatus is a snapshot of one running instance.
type InstanceStatus struct {
	Name      string
	VRID      uint8
	Interface string
	Family    Family
	Version   uint8
	Unicast   bool
	// Group is the multicast destination; Peers the unicast ones.
	Group          netip.Addr
	Peers          []netip.Addr
	SourceAddr     netip.Addr
	AdvertInterval time.Duration
	VIPs           []netip.Prefix
	ExcludedVIPs   []netip.Prefix
	Status
	// Faults are the fault sources set, "source: detail".
	Faults []string
	// Crashed is set when the instance's goroutine panicked and stopped.
	Crashed string
	// SyncGroup is the instance's vrrp_sync_group, if any.
	SyncGroup string

	AdvertsSent          uint64
	AdvertsReceived      uint64
	PriorityZeroSent     uint64
	PriorityZeroReceived uint64
	// Dropped counts the packets demultiplexed to this instance that
	// failed validation (lbd_vrrp_packets_dropped_total counts them by
	// interface). Received, priority-0 received and dropped include what
	// the instance's Offload counted.
	Dropped       uint64
	InboxOverflow uint64
	GARPSent      uint64
	Errors        uint64
}

// Status returns a snapshot of every instance, in the order added. It
// never waits for an instance's goroutine.
func (rt *Runtime) Status() []InstanceStatus {
	rt.mu.Lock()
	runners := slices.Clone(rt.order)
	rt.mu.Unlock()
	out := make([]InstanceStatus, 0, len(runners))
	for _, r := range runners {
		out = append(out, r.status())
	}
	return out
}

// rxSnapshot is what the receive series show, read at once.
type rxSnapshot struct {
	instances  []rxInstance
	drops      map[string]*[NumReasons]uint64 // by interface
	ifaceOrder []string
}

type rxInstance struct {
	name               string
	vrid               uint8
	received, zeroRecv uint64
	masterKnown        bool
	masterPrio         uint8
	lastSeen           time.Time // BACKUP following a master: its last accepted advert
}

func (rt *Runtime) rxSnapshot(now time.Time) rxSnapshot {
	rt.mu.Lock()
	runners := slices.Clone(rt.order)
	ports := make([]*port, 0, len(rt.ports))
	for _, p := range rt.ports {
		ports = append(ports, p)
	}
	rt.mu.Unlock()
	snap := rxSnapshot{drops: map[string]*[NumReasons]uint64{}}
	add := func(iface string) *[NumReasons]uint64 {
		d := snap.drops[iface]
		if d == nil {
			d = new([NumReasons]uint64)
			snap.drops[iface] = d
			snap.ifaceOrder = append(snap.ifaceOrder, iface)
		}
		return d
	}
	slices.SortFunc(ports, func(a, b *port) int { return strings.Compare(a.key.iface, b.key.iface) })
	for _, p := range ports {
		d := add(p.key.iface)
		for r := range d {
			d[r] += p.drops[r].Load()
		}
	}
	for _, r := range runners {
		in := rxInstance{name: r.name, vrid: r.in.cfg.VRID, received: r.received.Load(), zeroRecv: r.zeroRecv.Load()}
		r.statusMu.Lock()
		st := r.snap
		crashed := r.crashed != ""
		r.statusMu.Unlock()
		var off OffloadStats
		if r.spec.Offload != nil {
			off = r.spec.Offload.Stats()
			in.received += off.Received
			in.zeroRecv += off.PriorityZeroReceived
			d := add(r.port.key.iface)
			for i, n := range off.Dropped {
				d[i] += n
			}
		}
		switch {
		case crashed:
		case st.State == StateMaster:
			in.masterKnown, in.masterPrio = true, st.EffectivePriority
		case st.State == StateBackup && st.MasterAddr.IsValid():
			in.masterKnown, in.masterPrio = true, st.MasterPriority
			in.lastSeen = r.masterSeen(st.MasterAddr, off)
		}
		snap.instances = append(snap.instances, in)
	}
	return snap
}
