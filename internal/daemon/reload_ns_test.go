package daemon_test

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/daemon"
	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/internal/netns"
)

// reloadInst is one vrrp_instance of the reload tests' configurations.
func reloadInst(name string, vrid, prio int, advert string, vips ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "vrrp_instance %s {\n  interface eth0\n  virtual_router_id %d\n  priority %d\n  version 3\n  advert_int %s\n  virtual_ipaddress {\n", name, vrid, prio, advert)
	for _, v := range vips {
		fmt.Fprintf(&b, "    %s\n", v)
	}
	b.WriteString("  }\n}\n")
	return b.String()
}

var pingStats = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)

// pinger runs "ping -i 0.01 -c count" from h: a request every 10 ms.
type pinger struct {
	p     *netns.Proc
	addr  string
	count int
}

func startPinger(h *netns.Host, addr string, count int) *pinger {
	return &pinger{p: h.Start("ping", "-n", "-i", "0.01", "-W", "1", "-c", strconv.Itoa(count), addr), addr: addr, count: count}
}

// result waits for ping to finish and returns how many requests got no
// answer.
func (pg *pinger) lost(t *testing.T) int {
	t.Helper()
	if err := pg.p.Wait(60 * time.Second); err != nil && !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("ping %s: %v\n%s", pg.addr, err, pg.p.Output())
	}
	m := pingStats.FindStringSubmatch(pg.p.Output())
	if m == nil {
		t.Fatalf("ping %s: no statistics:\n%s", pg.addr, pg.p.Output())
	}
	sent, _ := strconv.Atoi(m[1])
	recv, _ := strconv.Atoi(m[2])
	if sent != pg.count {
		t.Fatalf("ping %s sent %d of %d", pg.addr, sent, pg.count)
	}
	return sent - recv
}

func reload(t *testing.T, n *daemontest.Node) string {
	t.Helper()
	out, err := n.Host.Run(n.Binary, "reload", "--run-dir", n.RunDir)
	if err != nil {
		t.Fatalf("%s: lbd reload: %v\n%s", n.Host.Name(), err, out)
	}
	return out
}

func transitions(t *testing.T, n *daemontest.Node, instance string) float64 {
	t.Helper()
	m, err := n.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	return m.Sum("lbd_vrrp_transitions_total", "instance", instance)
}

// TestDaemonReload: a reload that adds, removes, restarts and changes
// instances on both nodes, while a client pings two VIPs every 10 ms:
// one of an instance the reload leaves alone, one kept by an instance it
// changes in place. Neither loses a single echo, neither VIP leaves k1's
// interface (watched with ip monitor), the unchanged instance does not
// even see it. Then an invalid configuration is refused with its
// file:line and nothing changes, and SIGHUP reloads too.
func TestDaemonReload(t *testing.T) {
	eachDatapath(t, func(t *testing.T, dp string) {
		l := newLAN(t)
		v1 := func(prio int) string {
			return reloadInst("VI_A", 111, prio, "0.3", "192.0.2.111/24") +
				reloadInst("VI_B", 112, prio, "0.3", "192.0.2.112/24") +
				reloadInst("VI_C", 113, prio, "0.3", "192.0.2.113/24") +
				reloadInst("VI_E", 115, prio, "0.3", "192.0.2.115/24")
		}
		v2 := func(prio int) string {
			return reloadInst("VI_A", 111, prio, "0.3", "192.0.2.111/24") +
				reloadInst("VI_B", 112, prio+10, "0.3", "192.0.2.112/24", "192.0.2.122/24") +
				reloadInst("VI_D", 114, prio, "0.3", "192.0.2.114/24") +
				reloadInst("VI_E", 125, prio, "0.3", "192.0.2.115/24")
		}
		n1 := daemontest.Start(t, l.k1, v1(150), "--datapath", dp)
		n2 := daemontest.Start(t, l.k2, v1(100), "--datapath", dp)
		for _, in := range []string{"VI_A", "VI_B", "VI_C", "VI_E"} {
			if err := n1.WaitState(in, "MASTER", 20*time.Second); err != nil {
				t.Fatal(err)
			}
			if err := n2.WaitState(in, "BACKUP", 10*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		owner(t, l.client, "192.0.2.111", l.k1, 10*time.Second)
		owner(t, l.client, "192.0.2.112", l.k1, 10*time.Second)
		before, err := n1.Instance("VI_A")
		if err != nil {
			t.Fatal(err)
		}
		trA1, trA2 := transitions(t, n1, "VI_A"), transitions(t, n2, "VI_A")
		trB2 := transitions(t, n2, "VI_B")

		mon := l.k1.Start("ip", "-o", "monitor", "address")
		pa := startPinger(l.client, "192.0.2.111", 300)
		pb := startPinger(l.client, "192.0.2.112", 300)
		for _, pg := range []*pinger{pa, pb} {
			if err := pg.p.WaitOutput("icmp_seq=50 ", 20*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range []*daemontest.Node{n2, n1} {
			prio := 100
			if n == n1 {
				prio = 150
			}
			if err := os.WriteFile(n.ConfigPath, []byte(v2(prio)), 0o644); err != nil {
				t.Fatal(err)
			}
			out := reload(t, n)
			for _, want := range []string{
				"vrrp_instance VI_C removed",
				"vrrp_instance VI_D added",
				"vrrp_instance VI_E restarted: virtual_router_id changed",
				fmt.Sprintf("vrrp_instance VI_B changed in place: priority %d -> %d, vips +192.0.2.122/24", prio, prio+10),
			} {
				if !strings.Contains(out, want) {
					t.Errorf("%s: lbd reload output lacks %q:\n%s", n.Host.Name(), want, out)
				}
			}
			if strings.Contains(out, "VI_A") {
				t.Errorf("%s: the unchanged VI_A is in the reload's changes:\n%s", n.Host.Name(), out)
			}
		}
		if lost := pa.lost(t); lost != 0 {
			t.Errorf("%d of 300 echoes to VI_A's VIP (unchanged instance) lost during the reload", lost)
		}
		if lost := pb.lost(t); lost != 0 {
			t.Errorf("%d of 300 echoes to VI_B's VIP (instance changed in place) lost during the reload", lost)
		}
		mon.Signal(syscall.SIGTERM)
		mon.Wait(5 * time.Second)
		for _, line := range strings.Split(mon.Output(), "\n") {
			if strings.HasPrefix(line, "Deleted") && (strings.Contains(line, "192.0.2.111/") || strings.Contains(line, "192.0.2.112/")) {
				t.Errorf("a kept VIP left k1's interface: %s", line)
			}
		}

		// The unchanged instance did not notice; VI_B kept its state with
		// the new priority and VIP; VI_C is gone, VI_D and VI_E run.
		after, err := n1.Instance("VI_A")
		if err != nil {
			t.Fatal(err)
		}
		if after.State != "MASTER" || after.LastTransition == nil || !after.LastTransition.Equal(*before.LastTransition) ||
			after.Counters.AdvertsSent < before.Counters.AdvertsSent {
			t.Errorf("VI_A before %+v\nafter %+v", before, after)
		}
		if a, b := transitions(t, n1, "VI_A"), transitions(t, n2, "VI_A"); a != trA1 || b != trA2 {
			t.Errorf("VI_A transitions k1 %v -> %v, k2 %v -> %v", trA1, a, trA2, b)
		}
		if b := transitions(t, n2, "VI_B"); b != trB2 {
			t.Errorf("VI_B on k2 moved during the reload: transitions %v -> %v", trB2, b)
		}
		waitInstance(t, n1, "VI_B", "MASTER at 160 with two VIPs", func(in *daemon.InstanceStatus) error {
			if in.State != "MASTER" || in.Priority != 160 || len(in.VIPs) != 2 {
				return fmt.Errorf("%s at %d with %v", in.State, in.Priority, in.VIPs)
			}
			return nil
		})
		owner(t, l.client, "192.0.2.122", l.k1, 10*time.Second)
		st, err := n1.Status()
		if err != nil {
			t.Fatal(err)
		}
		if st.Instance("VI_C") != nil || l.k1.HasAddr("eth0", "192.0.2.113") || l.k2.HasAddr("eth0", "192.0.2.113") {
			t.Errorf("VI_C still there: %+v", st.Instance("VI_C"))
		}
		if e := st.Instance("VI_E"); e == nil || e.VRID != 125 {
			t.Errorf("VI_E %+v", e)
		}
		for _, in := range []string{"VI_D", "VI_E"} {
			if err := n1.WaitState(in, "MASTER", 20*time.Second); err != nil {
				t.Error(err)
			}
		}
		if st.LastReload == nil || !st.LastReload.OK || len(st.LastReload.Changes) == 0 {
			t.Errorf("last reload %+v", st.LastReload)
		}

		// An invalid configuration is refused, with file:line; nothing moves.
		bad := v2(150) + "vrrp_instance VI_X {\n  interface eth0\n  virtual_router_id 300\n}\n"
		if err := os.WriteFile(n1.ConfigPath, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := l.k1.Run(n1.Binary, "reload", "--run-dir", n1.RunDir)
		vridLine := fmt.Sprintf("%s:%d: vrrp_instance VI_X: virtual_router_id 300", n1.ConfigPath, strings.Count(v2(150), "\n")+3)
		if err == nil || !strings.Contains(out, "configuration refused") || !strings.Contains(out, vridLine) {
			t.Errorf("invalid configuration: lbd reload %v:\n%s", err, out)
		}
		st, err = n1.Status()
		if err != nil {
			t.Fatal(err)
		}
		if st.Instance("VI_X") != nil || len(st.Instances) != 4 || st.LastReload == nil || st.LastReload.OK {
			t.Errorf("after a refused reload: %d instances, last reload %+v", len(st.Instances), st.LastReload)
		}

		// SIGHUP: the same, from the signal; nothing to change on k2.
		if err := n2.Proc.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		if err := n2.Proc.WaitOutput(`msg="configuration reloaded" changes=0`, 10*time.Second); err != nil {
			t.Error(err)
		}
	})
}

// TestDaemonReloadFastAdverts: keepalived's known complaint, a reload at
// advert_int 0.01 causing a switchover, does not reproduce: reloading
// both nodes repeatedly (adding and removing another instance each time)
// never moves the 10 ms instance. The lbd processes run SCHED_RR
// (vrrp_rt_priority), as an operator running 10 ms adverts would, so that
// the test measures the reload and not the machine's load.
func TestDaemonReloadFastAdverts(t *testing.T) {
	eachDatapath(t, func(t *testing.T, dp string) {
		l := newLAN(t)
		conf := func(prio int, extra bool) string {
			c := "global_defs {\n  vrrp_rt_priority 10\n}\n" + reloadInst("VI_F", 121, prio, "0.01", "192.0.2.121/24")
			if extra {
				c += reloadInst("VI_X", 122, prio, "0.1", "192.0.2.122/24")
			}
			return c
		}
		n1 := daemontest.Start(t, l.k1, conf(150, false), "--datapath", dp)
		n2 := daemontest.Start(t, l.k2, conf(100, false), "--datapath", dp)
		if err := n1.WaitState("VI_F", "MASTER", 20*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := n2.WaitState("VI_F", "BACKUP", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		netns.Eventually(t, 10*time.Second, "k2 following k1", func() error {
			s, err := n2.Instance("VI_F")
			if err != nil {
				return err
			}
			if s.MasterAddress != "192.0.2.1" {
				return fmt.Errorf("k2 follows %q", s.MasterAddress)
			}
			return nil
		})
		tr1, tr2 := transitions(t, n1, "VI_F"), transitions(t, n2, "VI_F")
		for i := 0; i < 10; i++ {
			extra := i%2 == 0
			for _, n := range []*daemontest.Node{n1, n2} {
				prio := 100
				if n == n1 {
					prio = 150
				}
				if err := os.WriteFile(n.ConfigPath, []byte(conf(prio, extra)), 0o644); err != nil {
					t.Fatal(err)
				}
				out := reload(t, n)
				if strings.Contains(out, "VI_F") {
					t.Errorf("reload touched VI_F:\n%s", out)
				}
			}
		}
		if a, b := transitions(t, n1, "VI_F"), transitions(t, n2, "VI_F"); a != tr1 || b != tr2 {
			t.Errorf("VI_F transitions during the reloads: k1 %v -> %v, k2 %v -> %v", tr1, a, tr2, b)
		}
		s1, _ := n1.Instance("VI_F")
		s2, _ := n2.Instance("VI_F")
		if s1.State != "MASTER" || s2.State != "BACKUP" {
			t.Errorf("after the reloads: k1 %s, k2 %s", s1.State, s2.State)
		}
	})
}
