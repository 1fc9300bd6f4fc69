// Command vrrpcpu measures the CPU a BACKUP VRRP node spends following a
// busy master: 200 instances at advert_int 0.01 (VRRPv3; 20,000 adverts a
// second), for 30 s, with lbd on the XDP path, lbd on raw sockets and
// Debian's keepalived as the backup, side by side in one run.
//
// One lab (internal/netns through internal/labrun): the master host runs
// lbd on raw sockets (--datapath off) with the 200 instances at priority
// 200; the backup host runs each implementation in turn with the same
// instances at priority 100. Once every backup instance follows the master,
// the CPU time (utime + stime from /proc/PID/stat) of every process in the
// backup's network namespace is read at the start and the end of the
// window (keepalived: its parent and VRRP child). Also shown: the adverts
// per second the master sent and the backup counted (lbd: its status;
// keepalived: its SIGUSR2 statistics), the master's CPU, and the backup's
// state transitions in the window (0 when it followed throughout), and the
// host's softirq time in the window: on veth the receive work (the XDP
// program, or the IP stack and the raw sockets' delivery) runs in softirq,
// largely billed to the sending process or to whatever runs then, not to
// the backup's processes; it is the whole host's (the master's sending
// included, and whatever else the machine runs).
//
// Run as root (bench/vrrp-cpu.sh builds lbd first):
//
//	go run ./bench/vrrpcpu -lbd bin/lbd [-d 30s] [-n 200] [-rt 10] [-impls xdp,raw,keepalived]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lbdproject/lbd/internal/daemon"
	"github.com/lbdproject/lbd/internal/labrun"
	"github.com/lbdproject/lbd/internal/netns"
)

type options struct {
	lbd       string
	duration  time.Duration
	instances int
	interval  string
	rt        int
	impls     []string
	verbose   bool
}

func main() {
	var o options
	var impls string
	flag.StringVar(&o.lbd, "lbd", "", "lbd binary (default: go build ./cmd/lbd)")
	flag.DurationVar(&o.duration, "d", 30*time.Second, "measurement window per backup")
	flag.IntVar(&o.instances, "n", 200, "VRRP instances (VRIDs 1..n)")
	flag.StringVar(&o.interval, "advert-int", "0.01", "advert_int of every instance (VRRPv3)")
	flag.IntVar(&o.rt, "rt", 10, "global_defs vrrp_rt_priority for every node (0: none); at 0.01 a starved timer is a false takeover")
	flag.StringVar(&impls, "impls", "xdp,raw,keepalived", "backups to measure, in order: xdp (lbd --datapath auto), xdp-generic, tc, raw (lbd --datapath off), keepalived")
	flag.BoolVar(&o.verbose, "v", false, "log lab events")
	flag.Parse()
	o.impls = strings.Split(impls, ",")
	if o.instances < 1 || o.instances > 255 {
		fmt.Fprintln(os.Stderr, "vrrpcpu: -n must be 1..255")
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "vrrpcpu: run as root (network namespaces, XDP)")
		os.Exit(1)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "vrrpcpu:", err)
		os.Exit(1)
	}
}

// conf is the instances of one node.
func conf(n, prio int, interval string, rt int) string {
	var b strings.Builder
	if rt > 0 {
		fmt.Fprintf(&b, "global_defs {\n  vrrp_rt_priority %d\n}\n", rt)
	}
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `vrrp_instance VI_%d {
  interface eth0
  state BACKUP
  virtual_router_id %d
  version 3
  priority %d
  advert_int %s
  virtual_ipaddress {
    10.20.%d.%d/32
  }
}
`, i, i, prio, interval, i/250, i%250+1)
	}
	return b.String()
}

type row struct {
	impl, datapath     string
	cpu, masterCPU     time.Duration
	softirq            time.Duration
	sentRate, seenRate float64
	seenKnown          bool
	transitions        int
	procs              int
}

func run(o options) error {
	if o.lbd == "" {
		dir, err := os.MkdirTemp("", "vrrpcpu-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.lbd = filepath.Join(dir, "lbd")
		if out, err := exec.Command("go", "build", "-o", o.lbd, "./cmd/lbd").CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/lbd: %v\n%s", err, out)
		}
	}
	logf := func(format string, args ...any) {
		if o.verbose {
			fmt.Fprintf(os.Stderr, format+"\n", args...)
		}
	}
	r, err := labrun.NewRunner(logf)
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		r.Close()
		os.Exit(130)
	}()
	var rows []row
	err = r.Run(func() error {
		lab := netns.New(r, netns.Options{})
		m, b := lab.Host("master"), lab.Host("backup")
		br := lab.Bridge("lan")
		lab.Connect(m, "eth0", br, "192.0.2.1/24")
		lab.Connect(b, "eth0", br, "192.0.2.2/24")

		master := startLBD(r, m, o.lbd, conf(o.instances, 200, o.interval, o.rt), "--datapath", "off")
		if err := master.waitAll("MASTER", "", 60*time.Second, o.instances); err != nil {
			return fmt.Errorf("master: %w\n%s", err, tail(master.proc.Output()))
		}
		fmt.Fprintf(os.Stderr, "master: lbd (raw sockets), %d instances at advert_int %s, MASTER\n", o.instances, o.interval)
		for _, impl := range o.impls {
			rw, err := measure(r, o, b, master, impl)
			if err != nil {
				return fmt.Errorf("%s: %w", impl, err)
			}
			fmt.Fprintf(os.Stderr, "%s: %.2f s CPU in %v (%d processes)\n", impl, rw.cpu.Seconds(), o.duration, rw.procs)
			rows = append(rows, rw)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Printf("BACKUP following %d VRRPv3 instances at advert_int %s for %v (master: lbd on raw sockets; vrrp_rt_priority %d):\n\n",
		o.instances, o.interval, o.duration, o.rt)
	fmt.Println("| backup | receive path | CPU s (utime+stime) | % of one core | adverts/s sent by master | adverts/s counted by backup | backup transitions | master CPU s | host softirq s |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, rw := range rows {
		seen := "n/a"
		if rw.seenKnown {
			seen = fmt.Sprintf("%.0f", rw.seenRate)
		}
		fmt.Printf("| %s | %s | %.2f | %.1f | %.0f | %s | %d | %.2f | %.2f |\n", rw.impl, rw.datapath, rw.cpu.Seconds(),
			100*rw.cpu.Seconds()/o.duration.Seconds(), rw.sentRate, seen, rw.transitions, rw.masterCPU.Seconds(), rw.softirq.Seconds())
	}
	return nil
}

func tail(s string) string {
	if len(s) > 4000 {
		return s[len(s)-4000:]
	}
	return s
}

// lbdNode is one lbd in a host.
type lbdNode struct {
	h      *netns.Host
	proc   *netns.Proc
	runDir string
}

func startLBD(r *labrun.Runner, h *netns.Host, bin, cfg string, flags ...string) *lbdNode {
	dir := r.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		r.Fatalf("%v", err)
	}
	n := &lbdNode{h: h, runDir: filepath.Join(dir, "run")}
	args := append([]string{"run", "--config", path, "--run-dir", n.runDir, "--log-level", "info"}, flags...)
	n.proc = h.Start(bin, args...)
	err := netns.Poll(30*time.Second, func() error {
		if ok, err := n.proc.Exited(); ok {
			return netns.Permanent(fmt.Errorf("lbd exited (%v):\n%s", err, tail(n.proc.Output())))
		}
		_, err := n.status()
		return err
	})
	if err != nil {
		r.Fatalf("lbd in %s not ready: %v", h.Name(), err)
	}
	return n
}

func (n *lbdNode) status() (*daemon.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return daemon.FetchStatus(ctx, n.runDir)
}

// waitAll waits until every instance is in state (following master, if
// set).
func (n *lbdNode) waitAll(state, master string, timeout time.Duration, want int) error {
	return netns.Poll(timeout, func() error {
		st, err := n.status()
		if err != nil {
			return err
		}
		got := 0
		for _, in := range st.Instances {
			if in.State == state && (master == "" || in.MasterAddress == master) {
				got++
			}
		}
		if got != want {
			return fmt.Errorf("%d of %d instances %s", got, want, state)
		}
		return nil
	})
}

// counters sums the instances' adverts sent and received, and says when
// (the middle of the status call: 200 instances take a while to list).
func (n *lbdNode) counters() (sent, recv uint64, at time.Time, err error) {
	t0 := time.Now()
	st, err := n.status()
	if err != nil {
		return 0, 0, at, err
	}
	at = t0.Add(time.Since(t0) / 2)
	for _, in := range st.Instances {
		sent += in.Counters.AdvertsSent
		recv += in.Counters.AdvertsReceived
	}
	return sent, recv, at, nil
}

func measure(r *labrun.Runner, o options, b *netns.Host, master *lbdNode, impl string) (row, error) {
	rw := row{impl: impl}
	var (
		lbd *lbdNode
		ka  *netns.KeepalivedProc
	)
	cfg := conf(o.instances, 100, o.interval, o.rt)
	switch impl {
	case "xdp":
		rw.impl, rw.datapath = "lbd", "XDP (--datapath auto)"
		lbd = startLBD(r, b, o.lbd, cfg, "--datapath", "auto", "--bpffs", b.BPFFS())
	case "xdp-generic", "tc":
		rw.impl, rw.datapath = "lbd", impl+" (--datapath "+impl+")"
		lbd = startLBD(r, b, o.lbd, cfg, "--datapath", impl, "--bpffs", b.BPFFS())
	case "raw":
		rw.impl, rw.datapath = "lbd", "raw sockets (--datapath off)"
		lbd = startLBD(r, b, o.lbd, cfg, "--datapath", "off")
	case "keepalived":
		rw.impl, rw.datapath = "keepalived 2.2.7", "raw sockets"
		ka = netns.Keepalived(r, b, cfg, netns.KeepalivedOptions{VRRPOnly: true})
	default:
		return rw, fmt.Errorf("unknown backup %q (xdp, xdp-generic, tc, raw, keepalived)", impl)
	}
	// Every instance follows the master.
	if lbd != nil {
		if err := lbd.waitAll("BACKUP", "192.0.2.1", 60*time.Second, o.instances); err != nil {
			return rw, err
		}
		if tier := map[string]string{"xdp": "xdp", "xdp-generic": "xdp-generic", "tc": "tc"}[impl]; tier != "" {
			st, err := lbd.status()
			if err != nil {
				return rw, err
			}
			if len(st.Datapath.Interfaces) != 1 || st.Datapath.Interfaces[0].Tier != tier {
				return rw, fmt.Errorf("backup datapath %+v, want %s", st.Datapath.Interfaces, tier)
			}
		}
	} else {
		err := netns.Poll(60*time.Second, func() error {
			if c := strings.Count(ka.Log(), ") Entering BACKUP STATE"); c < o.instances {
				return fmt.Errorf("%d of %d instances BACKUP", c, o.instances)
			}
			return nil
		})
		if err != nil {
			return rw, err
		}
	}
	time.Sleep(2 * time.Second) // settle: startup work out of the window

	bIno, err := netnsInode(b)
	if err != nil {
		return rw, err
	}
	mIno, err := netnsInode(master.h)
	if err != nil {
		return rw, err
	}
	sent0, _, sentAt0, err := master.counters()
	if err != nil {
		return rw, err
	}
	var recv0 uint64
	var recvAt0 time.Time
	var kaErr error
	switch {
	case lbd != nil:
		if _, recv0, recvAt0, err = lbd.counters(); err != nil {
			return rw, err
		}
	default:
		recvAt0 = time.Now()
		recv0, kaErr = keepalivedReceived(ka)
	}
	trans0 := transitions(lbd, ka)
	cpu0, _ := nsCPU(bIno)
	mcpu0, _ := nsCPU(mIno)
	si0 := softirq()
	t0 := time.Now()

	time.Sleep(o.duration)

	cpu1, procs := nsCPU(bIno)
	mcpu1, _ := nsCPU(mIno)
	si1 := softirq()
	el := time.Since(t0)
	sent1, _, sentAt1, err := master.counters()
	if err != nil {
		return rw, err
	}
	rw.sentRate = float64(sent1-sent0) / sentAt1.Sub(sentAt0).Seconds()
	switch {
	case lbd != nil:
		_, recv1, recvAt1, err := lbd.counters()
		if err != nil {
			return rw, err
		}
		rw.seenRate, rw.seenKnown = float64(recv1-recv0)/recvAt1.Sub(recvAt0).Seconds(), true
	case kaErr == nil:
		recvAt1 := time.Now()
		if recv1, err := keepalivedReceived(ka); err == nil {
			rw.seenRate, rw.seenKnown = float64(recv1-recv0)/recvAt1.Sub(recvAt0).Seconds(), true
		}
	}
	rw.transitions = transitions(lbd, ka) - trans0
	// Scale to the nominal window so that rows compare.
	scale := o.duration.Seconds() / el.Seconds()
	rw.cpu = time.Duration(float64(cpu1-cpu0) * scale)
	rw.masterCPU = time.Duration(float64(mcpu1-mcpu0) * scale)
	rw.softirq = time.Duration(float64(si1-si0) * scale)
	rw.procs = procs

	if lbd != nil {
		err = lbd.proc.Stop()
	} else {
		err = ka.Stop()
	}
	if err != nil {
		return rw, fmt.Errorf("stop: %w", err)
	}
	return rw, nil
}

// transitions counts state changes logged so far (lbd: its transition
// lines; keepalived: its Entering ... STATE lines), startup included.
func transitions(lbd *lbdNode, ka *netns.KeepalivedProc) int {
	if lbd != nil {
		return strings.Count(lbd.proc.Output(), `msg="vrrp transition"`)
	}
	return strings.Count(ka.Log(), ") Entering ")
}

// keepalivedReceived asks keepalived for its statistics (SIGUSR2: it
// writes /tmp/keepalived.stats, a path every keepalived on the host
// shares) and sums "Advertisements: Received".
func keepalivedReceived(ka *netns.KeepalivedProc) (uint64, error) {
	const path = "/tmp/keepalived.stats"
	os.Remove(path)
	if err := syscall.Kill(ka.Pid(), syscall.SIGUSR2); err != nil {
		return 0, err
	}
	var sum uint64
	err := netns.Poll(10*time.Second, func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum = 0
		lines := strings.Split(string(b), "\n")
		n := 0
		for i, l := range lines {
			if strings.TrimSpace(l) != "Advertisements:" {
				continue
			}
			for _, next := range lines[i+1 : min(i+4, len(lines))] {
				if v, ok := strings.CutPrefix(strings.TrimSpace(next), "Received:"); ok {
					x, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
					if err != nil {
						return err
					}
					sum += x
					n++
					break
				}
			}
		}
		if n == 0 {
			return fmt.Errorf("no advertisement counts in %s yet", path)
		}
		return nil
	})
	return sum, err
}

// netnsInode is the inode of a host's network namespace.
func netnsInode(h *netns.Host) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(h.Path(), &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// softirq is the host's softirq time so far (/proc/stat), all CPUs.
func softirq() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq ...
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	v, _ := strconv.ParseUint(f[7], 10, 64)
	return time.Duration(v) * time.Second / 100
}

// nsCPU sums utime+stime of every process in the network namespace ino.
func nsCPU(ino uint64) (time.Duration, int) {
	const hz = 100 // USER_HZ
	entries, _ := os.ReadDir("/proc")
	var ticks uint64
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st) != nil || st.Ino != ino {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command name (which may hold spaces).
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseUint(f[11], 10, 64)
		stime, _ := strconv.ParseUint(f[12], 10, 64)
		ticks += ut + stime
		n++
	}
	return time.Duration(ticks) * time.Second / hz, n
}
