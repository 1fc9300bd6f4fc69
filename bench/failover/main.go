// Command failover measures VRRP failover time, lbd and Debian's
// keepalived side by side: for each advert_int and implementation, a lab
// of two nodes and a client on one bridge (internal/labrun); n1 (priority
// 200) is master, n2 (100) backup; the client sends a UDP datagram to the
// VIP every millisecond and the nodes' echo servers answer with their
// name. The fault takes n1 away at a random moment between two of its
// adverts; the failover time is from the fault to the first answer from
// n2 at the client. n1 then comes back, preempts, and the next repetition
// starts. It prints a Markdown table of min, median and max per
// advert_int and implementation.
//
// The protocol alone makes the failover time vary by one advert interval:
// n2's master-down timer started at n1's last advert, up to one interval
// before the fault. The client also records n1's adverts, so the table
// shows, too, how long after the master-down interval had run out (from
// n1's last advert) the VIP answered: what the implementation adds (timer
// lateness, VIP and gratuitous ARP, the client's neighbour update).
//
// Faults: "link" (n1's link goes down: a host or cable lost; its daemon
// sees the link go and enters FAULT) or "kill" (SIGKILL to n1's daemon,
// then its link down: a dead host; without the link down the killed
// daemon's VIP would keep answering ARP).
//
// Run as root (bench/failover.sh builds lbd first):
//
//	go run ./bench/failover -lbd bin/lbd [-n 5] [-intervals 1,0.1,0.01] [-fault link|kill] [-rt 0]
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lbdproject/lbd/internal/labrun"
	"github.com/lbdproject/lbd/internal/netns"
)

type options struct {
	n         int
	intervals []time.Duration
	impls     []labrun.Impl
	fault     string
	rt        int
	lbd       string
	probe     time.Duration
	verbose   bool
}

func main() {
	var o options
	var intervals, impls string
	flag.IntVar(&o.n, "n", 5, "repetitions per advert_int and implementation")
	flag.StringVar(&intervals, "intervals", "1,0.1,0.01", "advert_int values in seconds, comma-separated")
	flag.StringVar(&impls, "impls", "lbd,keepalived", "implementations, comma-separated")
	flag.StringVar(&o.fault, "fault", "link", "fault: link (n1's link down) or kill (SIGKILL, then link down)")
	flag.IntVar(&o.rt, "rt", 0, "global_defs vrrp_rt_priority for both implementations (0: none)")
	flag.StringVar(&o.lbd, "lbd", "", "lbd binary (default: go build ./cmd/lbd)")
	flag.DurationVar(&o.probe, "probe", time.Millisecond, "client probe interval")
	flag.BoolVar(&o.verbose, "v", false, "log lab events")
	flag.Parse()
	if err := parse(&o, intervals, impls); err != nil {
		fmt.Fprintln(os.Stderr, "failover:", err)
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "failover: run as root (network namespaces)")
		os.Exit(1)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "failover:", err)
		os.Exit(1)
	}
}

func parse(o *options, intervals, impls string) error {
	for _, s := range strings.Split(intervals, ",") {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || f < 0.01 || f > 40 {
			return fmt.Errorf("-intervals: %q: want seconds from 0.01 to 40", s)
		}
		o.intervals = append(o.intervals, time.Duration(f*float64(time.Second)).Round(10*time.Millisecond))
	}
	for _, s := range strings.Split(impls, ",") {
		switch i := labrun.Impl(strings.TrimSpace(s)); i {
		case labrun.LBD, labrun.Keepalived:
			o.impls = append(o.impls, i)
		default:
			return fmt.Errorf("-impls: %q: want lbd or keepalived", s)
		}
	}
	if o.fault != "link" && o.fault != "kill" {
		return fmt.Errorf("-fault %q: want link or kill", o.fault)
	}
	if o.n < 1 {
		return fmt.Errorf("-n %d: want at least 1", o.n)
	}
	if o.rt < 0 || o.rt > 99 {
		return fmt.Errorf("-rt %d: want 0..99", o.rt)
	}
	return nil
}

// current is the lab being run, for the signal handler.
var (
	curMu sync.Mutex
	cur   *labrun.Runner
)

func run(o options) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "failover: %v: tearing the lab down\n", s)
		curMu.Lock()
		r := cur
		curMu.Unlock()
		if r != nil {
			r.Close()
		}
		os.Exit(130)
	}()

	if o.lbd == "" {
		dir, err := os.MkdirTemp("", "lbd-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.lbd = filepath.Join(dir, "lbd")
		if out, err := exec.Command("go", "build", "-o", o.lbd, "./cmd/lbd").CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/lbd: %v\n%s", err, out)
		}
	}
	if _, err := exec.LookPath("keepalived"); err != nil && slices.Contains(o.impls, labrun.Keepalived) {
		return fmt.Errorf("keepalived not found (make deps installs it)")
	}

	type row struct {
		adv  time.Duration
		impl labrun.Impl
		res  results
	}
	var rows []row
	for _, adv := range o.intervals {
		for _, impl := range o.impls {
			fmt.Fprintf(os.Stderr, "advert_int %v, %s, fault %s: %d runs\n", adv, impl, o.fault, o.n)
			res, err := measure(o, adv, impl)
			if err != nil {
				return fmt.Errorf("advert_int %v, %s: %w", adv, impl, err)
			}
			rows = append(rows, row{adv, impl, res})
		}
	}

	fault := map[string]string{"link": "link down", "kill": "kill -9 + link down"}[o.fault]
	rt := "no vrrp_rt_priority"
	if o.rt > 0 {
		rt = fmt.Sprintf("vrrp_rt_priority %d", o.rt)
	}
	fmt.Printf("Failover: from the fault (%s on the master, at a random moment between two adverts) to the first answer from the VIP at the client (UDP probe every %v); VRRPv3, backup priority 100, %s; %d runs each. "+
		"Master-down interval: 3 × advert_int + skew. After it: from the master's last advert plus that interval to the answer.\n\n",
		fault, o.probe, rt, o.n)
	fmt.Println("| advert_int | master-down interval | implementation | failover min | median | max | after the interval: median | max |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		t := slices.Clone(r.res.times)
		slices.Sort(t)
		a := slices.Clone(r.res.after)
		slices.Sort(a)
		note := ""
		if r.res.redo > 0 {
			note = fmt.Sprintf(" (%d runs redone: n2 was master before the fault)", r.res.redo)
		}
		fmt.Printf("| %v | %s | %s%s | %s | %s | %s | %s | %s |\n", r.adv, ms(masterDown(r.adv)), r.impl, note,
			ms(t[0]), ms(median(t)), ms(t[len(t)-1]), ms(median(a)), ms(a[len(a)-1]))
	}
	return nil
}

// results are one lab's measurements.
type results struct {
	times []time.Duration // fault to the first answer from n2
	after []time.Duration // n1's last advert + master-down interval to that answer
	redo  int
}

// masterDown is the VRRPv3 Master_Down_Interval of a backup of priority
// 100: 3 × Master_Adver_Interval + (256-100) × Master_Adver_Interval / 256.
func masterDown(adv time.Duration) time.Duration {
	return 3*adv + adv*156/256
}

func median(s []time.Duration) time.Duration {
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string {
	if d >= time.Second || d <= -time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func config(adv time.Duration, rt int) string {
	var b strings.Builder
	if rt > 0 {
		fmt.Fprintf(&b, "global_defs {\n  vrrp_rt_priority %d\n}\n", rt)
	}
	fmt.Fprintf(&b, `vrrp_instance VI_1 {
  interface eth0
  state BACKUP
  version 3
  virtual_router_id 51
@n1  priority 200
@n2  priority 100
  advert_int %s
  virtual_ipaddress {
    %s/24
  }
}
`, strconv.FormatFloat(adv.Seconds(), 'f', -1, 64), labrun.VIP)
	return b.String()
}

// measure runs one lab and returns o.n measurements.
func measure(o options, adv time.Duration, impl labrun.Impl) (res results, err error) {
	logf := func(string, ...any) {}
	if o.verbose {
		logf = func(f string, a ...any) { fmt.Fprintf(os.Stderr, "  "+f+"\n", a...) }
	}
	r, err := labrun.NewRunner(logf)
	if err != nil {
		return res, err
	}
	curMu.Lock()
	cur = r
	curMu.Unlock()
	err = r.Run(func() error {
		p := labrun.NewPair(r)
		conf := config(adv, o.rt)
		n1 := labrun.NewNode(r, impl, p.N1, "n1", conf, o.lbd)
		n2 := labrun.NewNode(r, impl, p.N2, "n2", conf, o.lbd)
		n2.Start()
		n1.Start()
		probe := p.Probe(r, labrun.VIP, o.probe)
		n1Addr := netip.MustParseAddr(labrun.N1Addr)
		adverts := p.Client.Capture("eth0", func(f *netns.Frame) bool {
			return f.VRRP != nil && f.IP != nil && f.IP.Src == n1Addr && f.VRRP.Priority == 200
		})
		wait := 20*adv + 15*time.Second

		// settled: n1 holds the VIP and answers, n2 is BACKUP without it.
		settle := func() error {
			start := time.Now()
			if _, err := probe.WaitFrom("n1", start, wait); err != nil {
				return fmt.Errorf("settle: %w\nn1:\n%s\nn2:\n%s", err, tail(n1.Log()), tail(n2.Log()))
			}
			deadline := time.Now().Add(wait)
			for {
				if p.N1.HasAddr("eth0", labrun.VIP) && !p.N2.HasAddr("eth0", labrun.VIP) && n2.State("VI_1") == "BACKUP" {
					return nil
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("settle: VIP on n1 %v, on n2 %v, n2 %s", p.N1.HasAddr("eth0", labrun.VIP),
						p.N2.HasAddr("eth0", labrun.VIP), n2.State("VI_1"))
				}
				time.Sleep(10 * time.Millisecond) // polling the kernel's addresses: no event to wait on here
			}
		}

		for len(res.times) < o.n {
			if res.redo > 2*o.n {
				return fmt.Errorf("%d runs redone: n2 keeps taking over before the fault (a starved host? try -rt)", res.redo)
			}
			adverts.Reset()
			if err := settle(); err != nil {
				return err
			}
			settled := time.Now()
			if _, err := adverts.WaitFor(wait, nil); err != nil {
				return fmt.Errorf("adverts of n1: %w", err)
			}
			// A random phase against n1's adverts.
			time.Sleep(rand.N(adv))
			t0 := time.Now()
			switch o.fault {
			case "link":
				p.N1.SetLink("eth0", false)
			case "kill":
				n1.Kill()
				p.N1.SetLink("eth0", false)
			}
			reply, err := probe.WaitFrom("n2", t0, wait)
			if err != nil {
				return fmt.Errorf("failover: %w\nn2:\n%s", err, tail(n2.Log()))
			}
			early := false
			for _, x := range probe.Since(settled) {
				if x.From == "n2" && !x.At.After(t0) {
					early = true
					break
				}
			}
			// n1's last advert before the fault.
			var last time.Time
			for _, f := range adverts.Frames() {
				if !f.Time.After(t0) {
					last = f.Time
				}
			}
			d := reply.At.Sub(t0)
			switch {
			case early:
				res.redo++
				fmt.Fprintf(os.Stderr, "  run %d: n2 answered before the fault; redone\n", len(res.times)+1)
			case last.IsZero():
				res.redo++
				fmt.Fprintf(os.Stderr, "  run %d: no advert of n1 seen before the fault; redone\n", len(res.times)+1)
			default:
				after := reply.At.Sub(last.Add(masterDown(adv)))
				res.times = append(res.times, d)
				res.after = append(res.after, after)
				fmt.Fprintf(os.Stderr, "  run %d: %s (%s after the master-down interval)\n", len(res.times), ms(d), ms(after))
			}

			// n1 comes back (a rebooted host: no VIP, daemon started).
			if o.fault == "kill" {
				if p.N1.HasAddr("eth0", labrun.VIP) {
					p.N1.DelAddr("eth0", labrun.VIP+"/24")
				}
				p.N1.SetLink("eth0", true)
				n1.Start()
			} else {
				p.N1.SetLink("eth0", true)
			}
			probe.Reset()
		}
		return nil
	})
	curMu.Lock()
	cur = nil
	curMu.Unlock()
	return res, err
}

func tail(s string) string {
	const n = 3000
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
