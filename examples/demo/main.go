// Command demo is "make demo": a VRRP failover with lbd in network
// namespaces. Two nodes, n1 and n2, run lbd with examples/keepalived.conf
// (one file, @n1/@n2 lines), a client probes the VIP; the demo shows the
// election and both nodes' "lbd status", kills the master (SIGKILL and
// its link down: a dead host), prints how long the client went without
// an answer, shows the new master's status and tears everything down,
// also on Ctrl-C or failure. Run as root; scripts/demo.sh builds lbd and
// checks the dependencies first.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lbdproject/lbd/internal/labrun"
	"github.com/lbdproject/lbd/internal/netns"
)

const instance = "VI_WEB"

func main() {
	bin := flag.String("lbd", "bin/lbd", "lbd binary")
	conf := flag.String("config", "examples/keepalived.conf", "configuration for both nodes")
	verbose := flag.Bool("v", false, "log lab events")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "demo: run as root (network namespaces)")
		os.Exit(1)
	}
	if _, err := os.Stat(*conf); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	logf := func(string, ...any) {}
	if *verbose {
		logf = func(f string, a ...any) { fmt.Printf("   "+f+"\n", a...) }
	}
	r, err := labrun.NewRunner(logf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}

	// Ctrl-C: tear down whatever the demo is doing, then exit.
	var teardown sync.Once
	down := func() {
		teardown.Do(func() {
			step("tearing down the lab")
			r.Close()
		})
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Printf("\n%v\n", s)
		down()
		os.Exit(130)
	}()

	err = r.Run(func() error { return demo(r, *bin, *conf) })
	down()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
	fmt.Println("done")
}

func step(format string, args ...any) {
	fmt.Printf("==> "+format+"\n", args...)
}

func demo(r *labrun.Runner, bin, confPath string) error {
	p := labrun.NewPair(r)
	for i, h := range []*netns.Host{p.N1, p.N2, p.Client} {
		h.AddAddr("eth0", fmt.Sprintf("2001:db8::%d/64", i+1))
	}
	step("lab %s: n1 %s, n2 %s, client %s on one bridge (namespaces %s-*)",
		p.Lab.Prefix(), labrun.N1Addr, labrun.N2Addr, labrun.ClientAddr, p.Lab.Prefix())
	step("starting lbd on n1 (priority 200) and n2 (priority 100) with %s", confPath)
	n1 := labrun.NewNodeFile(r, labrun.LBD, p.N1, "n1", confPath, bin)
	n2 := labrun.NewNodeFile(r, labrun.LBD, p.N2, "n2", confPath, bin)
	start := time.Now()
	n1.Start()
	n2.Start()

	// Election: both start BACKUP; n1, with the higher priority, times
	// out first (3 advert intervals and a skew) and becomes master.
	err := netns.Poll(30*time.Second, func() error {
		s1, s2 := n1.State(instance), n2.State(instance)
		if s1 == "MASTER" && s2 == "BACKUP" {
			return nil
		}
		return fmt.Errorf("n1 %s, n2 %s", s1, s2)
	})
	if err != nil {
		return fmt.Errorf("election: %w\nn1:\n%s", err, n1.Log())
	}
	step("election: n1 is MASTER, n2 BACKUP (%.1fs after start)", time.Since(start).Seconds())
	for _, n := range []*labrun.Node{n1, n2} {
		if err := showStatus(n); err != nil {
			return err
		}
	}

	probe := p.Probe(r, labrun.VIP, time.Millisecond)
	if _, err := probe.WaitFrom("n1", time.Now(), 10*time.Second); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	step("client: probing %s every 1ms (UDP); answered by n1", labrun.VIP)

	step("killing the master: kill -9 lbd on n1, then n1's link down (a dead host: no priority-0 advert)")
	t0 := time.Now()
	n1.Kill()
	p.N1.SetLink("eth0", false)
	reply, err := probe.WaitFrom("n2", t0, 30*time.Second)
	if err != nil {
		return fmt.Errorf("failover: %w\nn2:\n%s", err, n2.Log())
	}
	d := reply.At.Sub(t0)
	step("client: %s answered by n2 %d ms after the fault", labrun.VIP, d.Milliseconds())
	fmt.Println("    (n2 waited for the master-down interval, 3 x advert_int 1s + skew 0.61s = 3.61s,")
	fmt.Println("    from n1's last advert, which came up to 1s before the fault)")
	if err := netns.Poll(5*time.Second, func() error {
		if s := n2.State(instance); s != "MASTER" {
			return fmt.Errorf("n2 %s", s)
		}
		return nil
	}); err != nil {
		return err
	}
	return showStatus(n2)
}

func showStatus(n *labrun.Node) error {
	out, err := n.Status()
	if err != nil {
		return err
	}
	fmt.Printf("--- lbd status on %s ---\n%s", n.Host.Name(), indent(out))
	return nil
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString("    " + l)
		}
	}
	return b.String()
}
