package daemon_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/pkg/realtime"
)

// TestDaemonRealtime: global_defs vrrp_rt_priority puts every thread of
// lbd under SCHED_RR at that priority, also the threads created once it
// runs; without it lbd stays SCHED_OTHER.
func TestDaemonRealtime(t *testing.T) {
	t.Parallel()
	l := newLAN(t)
	rt := "global_defs {\n  vrrp_rt_priority 10\n  vrrp_rlimit_rttime 20000\n}\n"
	n1 := daemontest.Start(t, l.k1, rt+instanceConf("VI_1", 150, v3Body))
	n2 := daemontest.Start(t, l.k2, instanceConf("VI_1", 100, v3Body))
	waitState(t, n1, "VI_1", "MASTER", 20*time.Second)
	waitState(t, n2, "VI_1", "BACKUP", 5*time.Second)
	// Work that may have made the runtime start threads: adverts, status
	// and metrics requests.
	for i := 0; i < 5; i++ {
		if _, err := n1.Status(); err != nil {
			t.Fatal(err)
		}
		metric(t, n1, "lbd_realtime_priority")
	}

	policies := func(n *daemontest.Node) map[string]int {
		tids, err := realtime.Threads(n.Proc.Pid())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, tid := range tids {
			p, err := realtime.ThreadPolicy(tid)
			if err != nil {
				continue // exited
			}
			out[p.String()]++
		}
		return out
	}
	if got := policies(n1); len(got) != 1 || got["SCHED_RR 10"] < 2 {
		t.Errorf("k1 threads by policy %v, want all SCHED_RR 10", got)
	}
	if got := policies(n2); len(got) != 1 || got["SCHED_OTHER 0"] < 2 {
		t.Errorf("k2 threads by policy %v, want all SCHED_OTHER 0", got)
	}
	if v := metric(t, n1, "lbd_realtime_priority"); v != 10 {
		t.Errorf("k1 lbd_realtime_priority %v", v)
	}
	if v := metric(t, n2, "lbd_realtime_priority"); v != 0 {
		t.Errorf("k2 lbd_realtime_priority %v", v)
	}
	if !strings.Contains(n1.Log(), `msg="real-time scheduling" policy=SCHED_RR priority=10`) ||
		!strings.Contains(n1.Log(), "rlimit_rttime=20ms") {
		t.Errorf("k1 did not log its scheduling:\n%s", n1.Log())
	}
	if strings.Contains(n1.Log(), "vrrp_rt_priority is parsed but not implemented") {
		t.Errorf("k1 warns that vrrp_rt_priority is not implemented:\n%s", n1.Log())
	}
	lim, err := rttimeLimit(n1.Proc.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if lim != "20000 unlimited" {
		t.Errorf("k1 RLIMIT_RTTIME %q, want soft 20000us, hard unlimited", lim)
	}
}

// rttimeLimit reads "Max realtime timeout" of /proc/PID/limits as "SOFT
// HARD".
func rttimeLimit(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max realtime timeout"); ok {
			f := strings.Fields(rest)
			if len(f) >= 2 {
				return f[0] + " " + f[1], nil
			}
		}
	}
	return "", fmt.Errorf("no Max realtime timeout in /proc/%d/limits", pid)
}
