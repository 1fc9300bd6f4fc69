// Package daemon is "lbd run" and "lbd status": it turns a keepalived
// configuration into running VRRP instances (pkg/vrrp's runtime over
// pkg/netutil's sockets, addresses and announcers), and serves the
// control socket, the pid file and the metrics.
//
// Run's life: load and translate the configuration (an instance with an
// error is refused alone, with its file:line, as keepalived does; an error
// outside instances refuses the whole configuration), lock
// RUN_DIR/lbd.pid, remove the VIPs a killed predecessor recorded in
// RUN_DIR/vips.json, open one VRRP socket per interface, family and
// multicast group (unicast instances: per unicast TTL), form the sync
// groups, start the instances held in INIT, start the trackers (their
// first states set each instance's priority and faults, then release it;
// its own interface down is a FAULT unless dont_track_primary), set up
// static addresses, routes and rules, serve RUN_DIR/lbd.sock and
// --metrics-addr, reload on SIGHUP or "lbd reload" (reload.go), and on
// cancellation (SIGTERM/SIGINT) stop every instance as keepalived does
// (priority-0 advert, VIPs and virtual routes removed, notify_stop run)
// and remove what it set up and the run files.
//
// Transitions reach the outside through the runtime's events
// (events.go): virtual routes and rules, notify scripts, notify FIFOs,
// smtp_alert mails. Tracking is tracking.go.
//
// global_defs vrrp_rt_priority and vrrp_rlimit_rttime put every thread
// under SCHED_RR before the instances start (pkg/realtime).
//
// global_defs vrrp_startup_delay keeps every instance in INIT (no adverts
// sent, adverts ignored, no VIPs) from when the instances are set up
// until the delay has passed; then they start as without it (BACKUP, the
// full Master_Down_Interval; the address owner MASTER at once). Instances
// that a reload adds during the delay wait for the same deadline; a
// reload after it delays nothing, and a changed vrrp_startup_delay
// applies at the next start, as keepalived applies it only at process
// start (vrrp_daemon.c start_vrrp: "if (!reload)"). SIGTERM during the
// delay stops at once: the held instances go from INIT to STOP.
// keepalived differs in one respect: it puts the instances in BACKUP at
// once and listens during the delay, pushing the first master-down
// timeout to the end of the delay plus Master_Down_Interval
// (vrrp_scheduler.c vrrp_init_instance_sands); lbd shows INIT (status:
// init_reason) and runs notify_backup at the end of the delay. The
// earliest time an instance can become MASTER is the same.
//
// global_defs log_unknown_vrids logs the adverts a socket receives for a
// VRID none of its interface's instances has, rate-limited
// (vrrp.RuntimeOptions.LogUnknownVRIDs); a reload turns it on or off. The
// XDP/TC program passes such adverts to the kernel, so the raw sockets,
// open on every tier, see them too.
//
// keywords.go: promote_secondaries, unicast_fault_no_peer (the plan's
// Fault), vrrp_rx_bufs_policy / kernel_rx_buf_size, umask and the
// process names.
//
// Datapath (datapath.go): per interface carrying VRRP, the VRRP program
// at the --datapath tier (auto: XDP native, XDP generic, TC, else raw
// sockets alone), pinned under --bpffs so that a restart adopts it.
// use_vmac: the instance's VMAC (pkg/netutil VMACManager) is made at start
// and deleted at stop; its VIPs and GARPs are there, its adverts too
// unless vmac_xmit_base. use_vmac_addr and use_vmac on a VIP: VIP-only
// VMACs on the VIPs' interfaces, made and deleted with it (vmac_addr.go).
// use_ipvlan: an L2 ipvlan carrying the adverts (ipvlan.go).
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lbdproject/lbd/pkg/config"
	"github.com/lbdproject/lbd/pkg/loader"
	"github.com/lbdproject/lbd/pkg/netutil"
	"github.com/lbdproject/lbd/pkg/notify"
	"github.com/lbdproject/lbd/pkg/realtime"
	"github.com/lbdproject/lbd/pkg/script"
	"github.com/lbdproject/lbd/pkg/track"
	"github.com/lbdproject/lbd/pkg/vrrp"
)

// Defaults of lbd run's flags.
const (
	DefaultRunDir = "/run/lbd"
	// DefaultBPFFS is shared by every lbd on the host: each pins in
	// BPFFS/lbd/netns-<inode of its network namespace>/.
	DefaultBPFFS = "/sys/fs/bpf"
)

// Datapaths are the --datapath values (DESIGN.md, "Datapath tiers").
var Datapaths = []string{"auto", "xdp", "xdp-generic", "tc", "ipvs", "off"}

// ValidDatapath reports whether s is a --datapath value.
func ValidDatapath(s string) bool { return slices.Contains(Datapaths, s) }

// Options configures Run.
type Options struct {
	ConfigPath string
	ConfigID   string // @id conditional lines (config.Options.ConfigID)
	RunDir     string // default DefaultRunDir
	// BPFFS is where the datapath pins (default DefaultBPFFS, mounted if
	// it is not a bpffs yet).
	BPFFS       string
	MetricsAddr string // HOST:PORT serving /metrics; empty: none
	Datapath    string // one of Datapaths; default auto
	Version     string // shown by status
	Logger      *slog.Logger
	// Hangup receives SIGHUP: reload the configuration (as "lbd reload").
	Hangup <-chan os.Signal
	// StopTimeout bounds the graceful stop of the instances (default 10s).
	StopTimeout time.Duration
	// Ready, if set, is called once everything runs (tests).
	Ready func()
}

// ErrConfig reports a configuration that cannot run at all.
var ErrConfig = errors.New("invalid configuration")

// Daemon is one running lbd.
type Daemon struct {
	opts    Options
	log     *slog.Logger
	started time.Time

	host   *netutil.Host
	vips   *netutil.VIPManager
	routes *netutil.RouteManager
	rules  *netutil.RuleManager
	vmacs  *netutil.VMACManager
	promo  *netutil.PromoteSecondaries
	state  *vipState
	rt     *vrrp.Runtime
	track  *tracking
	events *dispatcher
	static *statics
	socks  *sockets
	anns   *announcers
	dp     *datapath
	// trackCtx bounds the trackers' lives.
	trackCtx context.Context

	// ipvlans makes and deletes use_ipvlan's interfaces.
	ipvlans *netutil.IPVLANManager

	// reloadMu serializes reloads (SIGHUP, lbd reload).
	reloadMu sync.Mutex
	// mu guards what a reload changes and status reads.
	mu         sync.Mutex
	cur        Translation
	insts      map[string]*running
	refused    []RefusedInstance
	lastReload *ReloadResult
}

// running is one instance the daemon runs, with what it set up for it.
type running struct {
	plan  Plan
	sock  *socket // nil when it runs in FAULT for want of one
	addrs *addresses
	vmac  string // its VMAC's name, if it made one
	// addrVMACs are the VIP-only VMACs it made (use_vmac_addr).
	addrVMACs []string
	ipvlan    string // its ipvlan's name (use_ipvlan)
	// vipIf is the interface its VIPs go on (its VMAC or its
	// interface); promoted says it holds promote_secondaries there.
	vipIf    string
	promoted bool
	mtu      int // its interface's, at start (vrrp_rx_bufs_policy MTU)
	// links are the interfaces its setup depended on, with their
	// ifindex then (0: missing); ifFP fingerprints their state; and
	// setupFailed says the setup failed (it runs in FAULT). See dynif.go.
	links       map[string]int
	ifFP        map[string]string
	setupFailed bool
}

// Run runs lbd until ctx is cancelled, then stops gracefully. It returns
// nil after a clean stop, and an error when lbd could not start (or did
// not stop cleanly).
func Run(ctx context.Context, opts Options) error {
	if opts.RunDir == "" {
		opts.RunDir = DefaultRunDir
	}
	if opts.Datapath == "" {
		opts.Datapath = "auto"
	}
	if !ValidDatapath(opts.Datapath) {
		return fmt.Errorf("--datapath %q: want one of %s", opts.Datapath, strings.Join(Datapaths, ", "))
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{opts: opts, log: opts.Logger, started: time.Now(), insts: map[string]*running{}}
	return d.run(ctx)
}

func (d *Daemon) run(ctx context.Context) (err error) {
	log := d.log
	cfg, diags := config.Load(d.opts.ConfigPath, config.Options{ConfigID: d.opts.ConfigID})
	if cfg == nil {
		return fmt.Errorf("%w: %s", ErrConfig, diags)
	}
	tr := Translate(cfg, diags)
	for _, w := range tr.Warnings {
		log.Warn(w)
	}
	if len(tr.Fatal) > 0 {
		return fmt.Errorf("%w:\n%s", ErrConfig, strings.Join(tr.Fatal, "\n"))
	}
	for _, r := range tr.Refused {
		log.Error("vrrp_instance refused", "instance", r.Name, "errors", strings.Join(r.Errors, "; "))
		d.refused = append(d.refused, RefusedInstance{Name: r.Name, Pos: r.Pos.String(), Errors: r.Errors})
	}

	setUmask(log, tr.Umask)
	setProcessName(log, tr.ProcessName)
	if err := os.MkdirAll(d.opts.RunDir, 0o755); err != nil {
		return fmt.Errorf("run dir: %w", err)
	}
	pid, err := lockPIDFile(d.opts.RunDir)
	if err != nil {
		return err
	}
	defer pid.release()

	d.host, err = netutil.OpenHost()
	if err != nil {
		return err
	}
	defer d.host.Close()
	d.vips = netutil.NewVIPManager(d.host, log)
	d.routes = netutil.NewRouteManager(d.host, log)
	d.rules = netutil.NewRuleManager(d.host, log)
	d.vmacs = netutil.NewVMACManager(d.host, log)
	d.ipvlans = netutil.NewIPVLANManager(d.host, log)
	d.promo = netutil.NewPromoteSecondaries(d.host, log)
	defer d.promo.ReleaseAll() // when lbd cannot start (the stop path restores it in order)
	d.state = newVIPState(d.opts.RunDir, log)
	d.state.cleanupLeftovers(d.host, d.vips)

	d.dp, err = newDatapath(log, d.opts.Datapath, d.opts.BPFFS)
	if err != nil {
		return err
	}
	// Graceful: the program is detached and unpinned once the instances
	// have stopped, and when lbd cannot start.
	defer func() {
		if derr := d.dp.stop(true); derr != nil {
			log.Error("datapath stop", "error", derr)
			err = errors.Join(err, derr)
		}
	}()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(tierCollector{d.dp})
	if d.dp.l != nil {
		reg.MustRegister(loader.NewCollector(d.dp.l))
	}
	m, err := vrrp.NewMetrics(reg)
	if err != nil {
		return err
	}
	// vrrp_rt_priority, vrrp_priority, vrrp_cpu_affinity, vrrp_no_swap:
	// on every thread before the timers start. A failure is logged and
	// lbd runs on, as keepalived does.
	sched, rterr := realtime.Apply(realtime.Options{
		Priority:   cfg.Global.VRRPRTPriority,
		RTTime:     cfg.Global.VRRPRlimitRTTime,
		Nice:       cfg.Global.VRRPPriority,
		CPUs:       cfg.Global.VRRPCPUAffinity,
		NoSwap:     cfg.Global.VRRPNoSwap,
		Logger:     log,
		Registerer: reg,
	})
	if fails := realtime.SettingErrors(rterr); len(fails) > 0 {
		for _, f := range fails {
			msg := f.Keyword + ": not applied"
			if f.Keyword == "vrrp_rt_priority" {
				msg = "vrrp_rt_priority: real-time scheduling not applied; VRRP timers may run late on a busy host"
			}
			log.Error(msg, "error", f.Err)
		}
	} else if rterr != nil {
		log.Error("process tuning", "error", rterr)
	}
	defer sched.Close()
	tm, err := track.NewMetrics(reg)
	if err != nil {
		return err
	}
	nm, err := notify.NewMetrics(reg)
	if err != nil {
		return err
	}
	var metricsSrv *http.Server
	if d.opts.MetricsAddr != "" {
		ln, err := net.Listen("tcp", d.opts.MetricsAddr)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}))
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go metricsSrv.Serve(ln)
		log.Info("serving metrics", "addr", ln.Addr().String())
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			metricsSrv.Shutdown(sctx)
		}()
	}

	// Scripts never inherit vrrp_rt_priority's SCHED_RR, vrrp_priority's
	// nice value or vrrp_cpu_affinity's mask.
	runner := script.NewRunner(script.Options{Logger: log, ForkHook: realtime.NormalChildren})
	d.events = newDispatcher(log, runner, nm)
	d.rt = vrrp.NewRuntime(vrrp.RuntimeOptions{Logger: log, Metrics: m, OnEvent: d.events.onEvent, PreciseTimers: true,
		LogUnknownVRIDs: tr.LogUnknownVRIDs})
	d.track = newTracking(log, tm, d.rt, runner)
	d.static = newStatics(d)
	d.socks = &sockets{ctx: context.Background(), host: d.host, open: map[sockKey]*socket{}, taken: map[portKey]bool{}}
	d.anns = &announcers{host: d.host, log: log, open: map[string]*netutil.Announcer{}}
	defer d.anns.closeAll()

	d.events.setGlobal(tr.Notify)
	for _, g := range tr.Groups {
		d.events.setTarget(true, g.Name, g.Notify, nil)
	}
	if err := d.rt.SetSyncGroups(groupSpecs(&tr)); err != nil {
		log.Warn("vrrp_sync_group", "error", err)
	}
	for i := range tr.Plans {
		p := &tr.Plans[i]
		if len(p.NotApplied) > 0 {
			log.Warn("vrrp_instance configures what lbd run does not apply yet", "instance", p.Name,
				"pos", p.Pos.String(), "not_applied", strings.Join(p.NotApplied, ", "))
		}
		if err := d.startInstance(p, tr.GARP); err != nil {
			log.Error("vrrp_instance refused", "instance", p.Name, "error", err)
			d.refused = append(d.refused, RefusedInstance{Name: p.Name, Pos: p.Pos.String(), Errors: []string{err.Error()}})
		}
	}
	d.sizeRecvBuffers(tr.RxBufs)
	if err := d.socks.listenNew(d.rt); err != nil {
		d.socks.closeAll()
		return err
	}
	if err := d.dp.sync(d.rt); err != nil {
		d.rt.Stop(context.Background())
		return err
	}
	d.cur = tr

	ctl, err := listenControl(d.opts.RunDir, log, d.handle)
	if err != nil {
		d.rt.Stop(context.Background())
		return err
	}
	defer ctl.close()

	runOnce(log, runner, "startup_script", tr.Notify.Startup)
	d.rt.Start()
	tctx, stopTracking := context.WithCancel(context.Background())
	d.trackCtx = tctx
	d.track.mu.Lock()
	if tr.StartupDelay > 0 {
		// keepalived (vrrp_daemon.c start_vrrp, not on reload):
		// "Delaying startup for N seconds".
		d.track.holdStartupLocked(time.Now().Add(tr.StartupDelay))
		log.Info("vrrp_startup_delay: the vrrp instances stay in INIT until it is over", "delay", tr.StartupDelay)
	}
	_, waits, terr := d.track.setTrackersLocked(tctx, wanted(&tr), false)
	d.track.recomputeLocked()
	d.track.mu.Unlock()
	for _, w := range waits {
		w()
	}
	if terr != nil {
		log.Error("trackers", "error", terr)
	}
	trackDone := make(chan struct{})
	go func() {
		defer close(trackDone)
		d.track.run(tctx)
	}()
	ifDone, ierr := d.watchInterfaces(tctx)
	if ierr != nil {
		log.Error("interfaces that appear later will not be picked up", "error", ierr)
	}
	d.static.apply(tr.Static)

	log.Info("lbd running", "pid", os.Getpid(), "config", d.opts.ConfigPath, "run_dir", d.opts.RunDir,
		"instances", len(tr.Plans), "refused", len(d.refused), "sync_groups", len(tr.Groups))
	if d.opts.Ready != nil {
		d.opts.Ready()
	}

	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-d.opts.Hangup:
			log.Info("SIGHUP: reloading the configuration")
			d.reload()
		}
	}

	log.Info("stopping: priority-0 adverts, removing VIPs")
	stopTracking()
	<-trackDone
	if ifDone != nil {
		<-ifDone
	}
	sctx, cancel := context.WithTimeout(context.Background(), d.opts.StopTimeout)
	defer cancel()
	if serr := d.rt.Stop(sctx); serr != nil {
		err = serr
	}
	d.track.stop()
	// keepalived gives the scripts run at shutdown a second; lbd lets
	// the queued ones finish within the stop timeout.
	d.events.close(sctx)
	// The instances removed their VIPs and virtual routes; whatever is
	// left of ours (an instance that did not stop in time) goes now.
	for _, f := range []func() error{d.static.removeAll, d.routes.RemoveAll, d.rules.RemoveAll, d.vips.RemoveAll, d.vmacs.RemoveAll, d.ipvlans.RemoveAll, d.promo.ReleaseAll} {
		if rerr := f(); rerr != nil {
			log.Error("cleanup", "error", rerr)
			err = errors.Join(err, rerr)
		}
	}
	d.state.flush()
	if d.state.empty() {
		os.Remove(d.state.path)
	}
	d.mu.Lock()
	shutdown := d.cur.Notify.Shutdown
	d.mu.Unlock()
	runOnce(log, runner, "shutdown_script", shutdown)
	log.Info("lbd stopped")
	return err
}

// runOnce runs startup_script or shutdown_script and waits for it, up to
// its timeout, as keepalived does.
func runOnce(log *slog.Logger, runner *script.Runner, what string, ts *TimedScript) {
	if ts == nil {
		return
	}
	res := runner.Run(context.Background(), script.Job{Name: what, Command: ts.Cmd, Timeout: ts.Timeout})
	if res.OK() {
		log.Info(what+" finished", "detail", res.String())
		return
	}
	log.Warn(what+" failed", "result", res.Outcome.String(), "detail", res.String(), "stderr", string(res.Stderr))
}

func groupSpecs(tr *Translation) []vrrp.SyncGroupSpec {
	var out []vrrp.SyncGroupSpec
	for _, g := range tr.Groups {
		out = append(out, vrrp.SyncGroupSpec{Name: g.Name, Members: g.Members})
	}
	return out
}

// startInstance wires one plan into the runtime, held in INIT until the
// trackers released it. An instance whose interface or socket is missing
// still runs, in FAULT, so that status shows why.
func (d *Daemon) startInstance(p *Plan, garp GARPPolicy) error {
	spec := vrrp.InstanceSpec{Config: p.Config, Group: p.Group, Interface: p.Config.Interface, HoldInit: true}
	r := &running{plan: *p}
	// Read before the setup: an interface changing in between shows as
	// a change, and the instance is set up once more.
	r.links, r.ifFP = d.ifState(p, newIfLook(d.host), true)
	link, err := resolveInterface(d.host, p)
	var src netip.Addr
	if err == nil && p.VMAC != nil {
		link, src, err = d.ensureVMAC(p, link)
		if err == nil {
			r.vmac = p.VMAC.Name
		}
	}
	if err == nil && len(p.AddrVMACs) > 0 {
		err = d.ensureAddrVMACs(p, r)
	}
	if err == nil && p.IPVLAN != nil && p.Fault == "" {
		link, src, err = d.ensureIPVLAN(p, link, r)
	}
	switch {
	case err != nil:
		spec.Fault = err.Error()
		r.setupFailed = true
		if spec.Interface == "" {
			spec.Interface = "?"
		}
	default:
		spec.Interface = link.Name
		r.vipIf = cmpOr(r.vmac, cmpOr(r.vipIf, link.Name))
		r.mtu = link.MTU
		d.setPromote(r, p.PromoteSecondaries)
		if p.Fault != "" {
			spec.Fault = p.Fault
			break
		}
		sk, err := d.socks.get(link.Name, link.Index, p, src)
		if err != nil {
			spec.Fault = err.Error()
			r.setupFailed = true
			break
		}
		r.sock = sk
		spec.Conn = sk.conn
		spec.Options.LocalAddr = sk.conn.c.Source()
		if o := d.dp.instance(p.Name, link.Name, link.Index); o != nil {
			spec.Offload = o
			spec.Options.LastSeen = o.lastSeen
		}
	}
	r.addrs = newAddresses(d, p)
	spec.Addresses = r.addrs
	spec.Announce = d.announceTargets(p, garp)
	d.track.mu.Lock()
	d.track.addLocked(p)
	d.track.mu.Unlock()
	d.events.setTarget(false, p.Name, p.Notify, newVRoutes(d, p))
	if err := d.rt.AddInstance(spec); err != nil {
		d.track.mu.Lock()
		d.track.removeLocked(p.Name)
		d.track.mu.Unlock()
		d.events.dropTarget(false, p.Name)
		return err
	}
	if spec.Fault != "" {
		msg := "vrrp_instance starts in FAULT"
		if r.setupFailed {
			msg += ": set up again when its interfaces appear or change"
		}
		d.log.Error(msg, "instance", p.Name, "error", spec.Fault)
	}
	d.mu.Lock()
	d.insts[p.Name] = r
	d.mu.Unlock()
	return nil
}

// ensureVMAC puts a plan's VMAC in place on its base interface and
// returns the interface its adverts go on (the VMAC, or the base with
// vmac_xmit_base) and that socket's source: the base's primary IPv4
// address, or the VMAC's IPv6 link-local, as keepalived sends.
func (d *Daemon) ensureVMAC(p *Plan, base netutil.Link) (netutil.Link, netip.Addr, error) {
	fam := netutil.FamilyIPv4
	if p.Config.Family() == vrrp.FamilyIPv6 {
		fam = netutil.FamilyIPv6
	}
	vm := p.VMAC
	v, res, err := d.vmacs.Ensure(netutil.VMACOptions{BaseIndex: base.Index, VRID: p.Config.VRID, Family: fam,
		Name: vm.Name, MAC: vm.MAC, XmitBase: vm.XmitBase, KeepIPv6: vm.KeepIPv6, LinkLocal: vm.LinkLocal})
	if err != nil {
		return netutil.Link{}, netip.Addr{}, err
	}
	d.log.Info("vmac "+res.String(), "instance", p.Name, "interface", v.Name, "mac", v.MAC.String(), "base", base.Name)
	if v.XmitBase {
		return base, netip.Addr{}, nil
	}
	link, err := d.host.LinkByIndex(v.Index)
	if err != nil {
		return netutil.Link{}, netip.Addr{}, err
	}
	if fam == netutil.FamilyIPv6 {
		return link, v.LinkLocal, nil
	}
	src, err := d.host.PrimaryIPv4(base.Index)
	if err != nil {
		return netutil.Link{}, netip.Addr{}, fmt.Errorf("vmac %s: source address: %w", v.Name, err)
	}
	return link, src, nil
}

// announceTargets lists the GARP/NA targets of a plan's VIPs.
func (d *Daemon) announceTargets(p *Plan, garp GARPPolicy) []vrrp.AnnounceTarget {
	var out []vrrp.AnnounceTarget
	for _, pv := range p.VIPs {
		a, err := d.anns.get(pv.Dev)
		if err != nil {
			d.log.Warn("no gratuitous ARP / NA for this vip", "instance", p.Name, "vip", pv.VIP.Prefix, "interface", pv.Dev, "error", err)
			continue
		}
		domain, iv := garp.Domain(pv.Dev, pv.VIP.Prefix.Addr())
		out = append(out, vrrp.AnnounceTarget{Addr: pv.VIP.Prefix.Addr(), Announcer: a, Domain: domain, Interval: iv, ExtraIf: pv.ExtraIf})
	}
	return out
}

// handle answers one control request.
func (d *Daemon) handle(req Request) Response {
	switch req.Command {
	case CommandStatus:
		return Response{OK: true, Status: d.status()}
	case CommandReload:
		res := d.reload()
		return Response{OK: res.OK, Error: strings.Join(res.Errors, "\n"), Reload: &res}
	}
	return Response{Error: fmt.Sprintf("unknown command %q", req.Command)}
}

func (d *Daemon) status() *Status {
	d.mu.Lock()
	s := &Status{
		Version:    d.opts.Version,
		PID:        os.Getpid(),
		Started:    d.started.Round(0),
		ConfigFile: d.opts.ConfigPath,
		Datapath:   Datapath{Requested: d.opts.Datapath, Interfaces: d.dp.tiers()},
		Instances:  []InstanceStatus{},
		Refused:    slices.Clone(d.refused),
		LastReload: d.lastReload,
	}
	d.mu.Unlock()
	hold := d.track.startupHold()
	if !hold.IsZero() {
		s.StartupDelayUntil = &hold
	}
	for _, in := range d.rt.Status() {
		is := instanceStatus(in)
		if !hold.IsZero() && in.State == vrrp.StateInit {
			is.InitReason = fmt.Sprintf("vrrp_startup_delay, %.1fs left", max(time.Until(hold), 0).Seconds())
		}
		is.Datapath, is.DatapathNote = d.dp.instanceTier(in.Name)
		is.Trackers = d.track.instanceTrackers(in.Name)
		s.Instances = append(s.Instances, is)
	}
	for _, g := range d.rt.SyncGroups() {
		s.SyncGroups = append(s.SyncGroups, SyncGroupStatus{Name: g.Name, State: g.State.String(),
			StateCode: g.State.Metric(), Members: g.Members, Missing: g.Missing, FaultyMembers: g.FaultyMembers})
	}
	return s
}
