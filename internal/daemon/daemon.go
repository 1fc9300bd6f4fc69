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
// multicast group (unicast instances: per unicast TTL), start the
// instances, watch their interfaces (down: FAULT, unless
// dont_track_primary), serve RUN_DIR/lbd.sock and --metrics-addr, and on
// cancellation (SIGTERM/SIGINT) stop every instance as keepalived does
// (priority-0 advert, VIPs removed) and remove the run files.
//
// global_defs vrrp_rt_priority and vrrp_rlimit_rttime put every thread
// under SCHED_RR before the instances start (pkg/realtime).
//
// Datapath: --datapath is validated, but until the XDP integration lands
// VRRP runs on raw sockets everywhere and every interface reports tier
// "none". Not applied yet (logged at startup): tracking, notify scripts,
// sync groups, virtual routes and rules, VMAC; SIGHUP reload.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lbdproject/lbd/pkg/config"
	"github.com/lbdproject/lbd/pkg/netutil"
	"github.com/lbdproject/lbd/pkg/realtime"
	"github.com/lbdproject/lbd/pkg/vrrp"
)

// Defaults of lbd run's flags.
const (
	DefaultRunDir = "/run/lbd"
	DefaultBPFFS  = "/sys/fs/bpf/lbd"
)

// Datapaths are the --datapath values (DESIGN.md, "Datapath tiers").
var Datapaths = []string{"auto", "xdp", "xdp-generic", "tc", "ipvs", "off"}

// ValidDatapath reports whether s is a --datapath value.
func ValidDatapath(s string) bool { return slices.Contains(Datapaths, s) }

// Options configures Run.
type Options struct {
	ConfigPath  string
	ConfigID    string // @id conditional lines (config.Options.ConfigID)
	RunDir      string // default DefaultRunDir
	BPFFS       string // default DefaultBPFFS; unused until the XDP integration
	MetricsAddr string // HOST:PORT serving /metrics; empty: none
	Datapath    string // one of Datapaths; default auto
	Version     string // shown by status
	Logger      *slog.Logger
	// Hangup receives SIGHUP: logged, configuration unchanged (reload
	// lands with the next issue).
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

	host  *netutil.Host
	vips  *netutil.VIPManager
	state *vipState
	rt    *vrrp.Runtime

	// Set before the control socket serves, read-only after.
	refused []RefusedInstance
	tiers   []InterfaceTier
}

// Run runs lbd until ctx is cancelled, then stops gracefully. It returns
// nil after a clean stop, and an error when lbd could not start (or did
// not stop cleanly).
func Run(ctx context.Context, opts Options) error {
	if opts.RunDir == "" {
		opts.RunDir = DefaultRunDir
	}
	if opts.BPFFS == "" {
		opts.BPFFS = DefaultBPFFS
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
	d := &Daemon{opts: opts, log: opts.Logger, started: time.Now()}
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
	d.state = newVIPState(d.opts.RunDir, log)
	d.state.cleanupLeftovers(d.host, d.vips)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := vrrp.NewMetrics(reg)
	if err != nil {
		return err
	}
	// vrrp_rt_priority: every thread SCHED_RR before the timers start. A
	// failure is logged and lbd runs on, as keepalived does.
	sched, rterr := realtime.Apply(realtime.Options{
		Priority:   cfg.Global.VRRPRTPriority,
		RTTime:     cfg.Global.VRRPRlimitRTTime,
		Logger:     log,
		Registerer: reg,
	})
	if rterr != nil {
		log.Error("vrrp_rt_priority: real-time scheduling not applied; VRRP timers may run late on a busy host", "error", rterr)
	}
	defer sched.Close()
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

	d.rt = vrrp.NewRuntime(vrrp.RuntimeOptions{Logger: log, Metrics: m})
	socks := &sockets{ctx: context.Background(), host: d.host, open: map[sockKey]*socket{}}
	anns := &announcers{host: d.host, log: log, open: map[string]*netutil.Announcer{}}
	defer anns.closeAll()
	watched := map[string][]string{} // interface -> instances whose own interface it is
	for i := range tr.Plans {
		p := &tr.Plans[i]
		if len(p.NotApplied) > 0 {
			log.Warn("vrrp_instance configures what lbd run does not apply yet", "instance", p.Name,
				"pos", p.Pos.String(), "not_applied", strings.Join(p.NotApplied, ", "))
		}
		ifname, err := d.addInstance(p, socks, anns, tr.GARP)
		if err != nil {
			log.Error("vrrp_instance refused", "instance", p.Name, "error", err)
			d.refused = append(d.refused, RefusedInstance{Name: p.Name, Pos: p.Pos.String(), Errors: []string{err.Error()}})
			continue
		}
		if p.TrackPrimary && ifname != "" {
			watched[ifname] = append(watched[ifname], p.Name)
		}
	}
	if err := socks.listen(d.rt); err != nil {
		socks.closeAll()
		return err
	}
	d.logDatapath(socks)

	ctl, err := listenControl(d.opts.RunDir, log, d.handle)
	if err != nil {
		d.rt.Stop(context.Background())
		return err
	}
	defer ctl.close()

	d.rt.Start()
	wctx, stopWatch := context.WithCancel(context.Background())
	watchDone := d.watchLinks(wctx, watched)

	log.Info("lbd running", "pid", os.Getpid(), "config", d.opts.ConfigPath, "run_dir", d.opts.RunDir,
		"instances", len(tr.Plans), "refused", len(d.refused))
	if d.opts.Ready != nil {
		d.opts.Ready()
	}

	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-d.opts.Hangup:
			log.Warn("SIGHUP: configuration reload lands with the next issue; still running the configuration loaded at startup")
		}
	}

	log.Info("stopping: priority-0 adverts, removing VIPs")
	stopWatch()
	<-watchDone
	sctx, cancel := context.WithTimeout(context.Background(), d.opts.StopTimeout)
	defer cancel()
	if serr := d.rt.Stop(sctx); serr != nil {
		err = serr
	}
	// The instances removed their VIPs; whatever is left of ours (an
	// instance that did not stop in time) goes now.
	if rerr := d.vips.RemoveAll(); rerr != nil {
		log.Error("remove vips", "error", rerr)
		err = errors.Join(err, rerr)
	}
	if d.state.empty() {
		os.Remove(d.state.path)
	}
	log.Info("lbd stopped")
	return err
}

// addInstance wires one plan into the runtime and returns the interface
// it runs on. An instance whose interface or socket is missing still
// runs, in FAULT, so that status shows why.
func (d *Daemon) addInstance(p *Plan, socks *sockets, anns *announcers, garp GARPPolicy) (string, error) {
	spec := vrrp.InstanceSpec{Config: p.Config, Group: p.Group, Interface: p.Config.Interface}
	link, err := resolveInterface(d.host, p)
	switch {
	case err != nil:
		spec.Fault = err.Error()
		if spec.Interface == "" {
			spec.Interface = "?"
		}
	default:
		spec.Interface = link.Name
		sk, err := socks.get(link.Name, link.Index, p)
		if err != nil {
			spec.Fault = err.Error()
			break
		}
		spec.Conn = sk.conn
		spec.Options.LocalAddr = sk.conn.c.Source()
	}
	spec.Addresses = newAddresses(d, p)
	for _, pv := range p.VIPs {
		a, err := anns.get(pv.Dev)
		if err != nil {
			d.log.Warn("no gratuitous ARP / NA for this vip", "instance", p.Name, "vip", pv.VIP.Prefix, "interface", pv.Dev, "error", err)
			continue
		}
		domain, iv := garp.Domain(pv.Dev, pv.VIP.Prefix.Addr())
		spec.Announce = append(spec.Announce, vrrp.AnnounceTarget{Addr: pv.VIP.Prefix.Addr(), Announcer: a, Domain: domain, Interval: iv})
	}
	if err := d.rt.AddInstance(spec); err != nil {
		return "", err
	}
	if spec.Fault != "" {
		d.log.Error("vrrp_instance starts in FAULT", "instance", p.Name, "error", spec.Fault)
		return "", nil
	}
	return spec.Interface, nil
}

// logDatapath says, once per interface, what the datapath is: raw
// sockets, tier "none", until the XDP integration lands.
func (d *Daemon) logDatapath(socks *sockets) {
	seen := map[string]bool{}
	for _, sk := range socks.order {
		if seen[sk.ifname] {
			continue
		}
		seen[sk.ifname] = true
		reason := "raw sockets; the XDP offload is not integrated yet"
		if d.opts.Datapath != "auto" && d.opts.Datapath != "off" {
			reason += " (--datapath " + d.opts.Datapath + " accepted, not applied)"
		}
		d.log.Info("datapath", "interface", sk.ifname, "tier", "none", "reason", reason)
		d.tiers = append(d.tiers, InterfaceTier{Interface: sk.ifname, Tier: "none", Reason: reason})
	}
}

// watchLinks puts an instance in FAULT while its interface is down or
// gone (keepalived's behaviour without dont_track_primary).
func (d *Daemon) watchLinks(ctx context.Context, watched map[string][]string) <-chan struct{} {
	done := make(chan struct{})
	if len(watched) == 0 {
		close(done)
		return done
	}
	events, err := netutil.Watch(ctx, netutil.WatchOptions{Logger: d.log})
	if err != nil {
		d.log.Error("watch interfaces: link loss will not be noticed", "error", err)
		close(done)
		return done
	}
	go func() {
		defer close(done)
		byIndex := map[int]string{}
		for ev := range events {
			name := ev.Link.Name
			switch ev.Kind {
			case netutil.EventLink:
				byIndex[ev.IfIndex] = name
			case netutil.EventLinkDeleted:
				if name == "" {
					name = byIndex[ev.IfIndex]
				}
				delete(byIndex, ev.IfIndex)
			default:
				continue
			}
			insts := watched[name]
			if len(insts) == 0 {
				continue
			}
			up := ev.Kind == netutil.EventLink && ev.Link.Up()
			detail := name + " is down"
			if ev.Kind == netutil.EventLinkDeleted {
				detail = name + " was deleted"
			}
			for _, in := range insts {
				d.rt.SetFault(in, "interface", !up, detail)
			}
		}
	}()
	return done
}

// handle answers one control request.
func (d *Daemon) handle(req Request) Response {
	switch req.Command {
	case CommandStatus:
		return Response{OK: true, Status: d.status()}
	case CommandReload:
		return Response{Error: "reload is not implemented yet (it lands with the next issue)"}
	}
	return Response{Error: fmt.Sprintf("unknown command %q", req.Command)}
}

func (d *Daemon) status() *Status {
	s := &Status{
		Version:    d.opts.Version,
		PID:        os.Getpid(),
		Started:    d.started.Round(0),
		ConfigFile: d.opts.ConfigPath,
		Datapath:   Datapath{Requested: d.opts.Datapath, Interfaces: d.tiers},
		Instances:  []InstanceStatus{},
		Refused:    d.refused,
	}
	for _, in := range d.rt.Status() {
		s.Instances = append(s.Instances, instanceStatus(in))
	}
	return s
}
