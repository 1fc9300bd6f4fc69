package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
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

// TestDaemonProcessTuning: global_defs vrrp_priority, vrrp_cpu_affinity
// and vrrp_no_swap reach every thread of lbd (a CPU the host does not
// have is logged and ignored), also together with vrrp_rt_priority; the
// scripts lbd starts run at nice 0, SCHED_OTHER, on every CPU lbd was
// started with.
func TestDaemonProcessTuning(t *testing.T) {
	t.Parallel()
	l := newLAN(t)
	dir := scriptDir(t)
	// The notify script records its own stat and status.
	writeScript(t, filepath.Join(dir, "rec"), `d=$(dirname "$0")
cat /proc/$$/stat /proc/$$/status > "$d/$1.tmp" && mv "$d/$1.tmp" "$d/$1"`)
	notify := func(node string) string {
		return fmt.Sprintf("  notify \"%s %s\"\n", filepath.Join(dir, "rec"), node)
	}
	orig, err := statusOf("/proc/self/status", "Cpus_allowed_list")
	if err != nil {
		t.Fatal(err)
	}

	g1 := "global_defs {\n  vrrp_priority -5\n  vrrp_cpu_affinity 1 63\n  vrrp_no_swap\n}\n"
	g2 := "global_defs {\n  vrrp_rt_priority 10\n  vrrp_priority -5\n  vrrp_cpu_affinity 0\n}\n"
	n1 := daemontest.Start(t, l.k1, g1+instanceConf("VI_1", 150, v3Body+"\n"+notify("k1")))
	n2 := daemontest.Start(t, l.k2, g2+instanceConf("VI_1", 100, v3Body+"\n"+notify("k2")))
	waitState(t, n1, "VI_1", "MASTER", 20*time.Second)
	waitState(t, n2, "VI_1", "BACKUP", 5*time.Second)
	for i := 0; i < 5; i++ {
		if _, err := n1.Status(); err != nil {
			t.Fatal(err)
		}
		metric(t, n1, "lbd_realtime_nice")
	}

	// Every thread, from /proc.
	threads := func(n *daemontest.Node) map[string]int {
		tids, err := realtime.Threads(n.Proc.Pid())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, tid := range tids {
			task := fmt.Sprintf("/proc/%d/task/%d/", n.Proc.Pid(), tid)
			st, err := os.ReadFile(task + "stat")
			if err != nil {
				continue // exited
			}
			cpus, err := statusOf(task+"status", "Cpus_allowed_list")
			if err != nil {
				continue
			}
			out[statString(t, string(st))+" cpus "+cpus]++
		}
		return out
	}
	if got := threads(n1); len(got) != 1 || got["policy 0 rt 0 nice -5 cpus 1"] < 2 {
		t.Errorf("k1 threads %v, want all policy 0 (SCHED_OTHER), nice -5 on CPU 1", got)
	}
	if got := threads(n2); len(got) != 1 || got["policy 2 rt 10 nice -5 cpus 0"] < 2 {
		t.Errorf("k2 threads %v, want all policy 2 (SCHED_RR) 10, nice -5 on CPU 0", got)
	}

	// vrrp_no_swap: VmLck counts locked mappings, smaps_rollup's Locked
	// the resident locked pages.
	status := fmt.Sprintf("/proc/%d/status", n1.Proc.Pid())
	vmlck, err := statusOf(status, "VmLck")
	if err != nil {
		t.Fatal(err)
	}
	locked, err := statusOf(fmt.Sprintf("/proc/%d/smaps_rollup", n1.Proc.Pid()), "Locked")
	if err != nil {
		t.Fatal(err)
	}
	rss, _ := statusOf(status, "VmRSS")
	if vmlck == "0 kB" || locked == "0 kB" {
		t.Errorf("k1 VmLck %s, Locked %s with vrrp_no_swap", vmlck, locked)
	}
	if v, _ := statusOf(fmt.Sprintf("/proc/%d/status", n2.Proc.Pid()), "VmLck"); v != "0 kB" {
		t.Errorf("k2 VmLck %s without vrrp_no_swap", v)
	}
	t.Logf("k1: VmLck %s, smaps Locked %s, VmRSS %s", vmlck, locked, rss)

	for _, c := range []struct {
		n    *daemontest.Node
		name string
		vals map[string]float64
	}{
		{n1, "k1", map[string]float64{"lbd_realtime_nice": -5, "lbd_realtime_cpus": 1, "lbd_realtime_memory_locked": 1, "lbd_realtime_priority": 0}},
		{n2, "k2", map[string]float64{"lbd_realtime_nice": -5, "lbd_realtime_cpus": 1, "lbd_realtime_memory_locked": 0, "lbd_realtime_priority": 10}},
	} {
		for m, want := range c.vals {
			if v := metric(t, c.n, m); v != want {
				t.Errorf("%s %s %v, want %v", c.name, m, v, want)
			}
		}
		log := c.n.Log()
		for _, kw := range []string{"vrrp_priority", "vrrp_cpu_affinity", "vrrp_no_swap", "vrrp_rt_priority"} {
			if strings.Contains(log, kw+" is parsed but not implemented") || strings.Contains(log, kw+": not applied") ||
				strings.Contains(log, kw+": real-time scheduling not applied") {
				t.Errorf("%s warns about %s:\n%s", c.name, kw, log)
			}
		}
	}
	if !strings.Contains(n1.Log(), `msg="vrrp_cpu_affinity: ignoring CPUs this host does not have" ignored=63`) {
		t.Errorf("k1 did not log that CPU 63 is ignored:\n%s", n1.Log())
	}

	// The notify scripts (lbd's script runner): nice 0, SCHED_OTHER, on
	// the CPUs lbd was started with.
	for _, node := range []string{"k1", "k2"} {
		path := filepath.Join(dir, node)
		var b []byte
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if b, err = os.ReadFile(path); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Fatalf("%s's notify script did not report: %v", node, err)
		}
		stat, status, _ := strings.Cut(string(b), "\n")
		cpus := ""
		for _, line := range strings.Split(status, "\n") {
			if rest, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
				cpus = strings.TrimSpace(rest)
			}
		}
		if got := statString(t, stat) + " cpus " + cpus; got != "policy 0 rt 0 nice 0 cpus "+orig {
			t.Errorf("%s's notify script ran with %s, want policy 0 rt 0 nice 0 cpus %s", node, got, orig)
		}
	}
}

// statString reads a /proc stat line as "policy P rt R nice N": fields
// 41, 40 and 19 (proc(5)), counted after the command's parenthesis.
func statString(t *testing.T, stat string) string {
	t.Helper()
	i := strings.LastIndexByte(stat, ')')
	f := strings.Fields(stat[i+1:])
	if i < 0 || len(f) < 41-2 {
		t.Fatalf("stat %q", stat)
	}
	return fmt.Sprintf("policy %s rt %s nice %s", f[41-3], f[40-3], f[19-3])
}

// statusOf returns a field of a /proc status-like file ("VmLck").
func statusOf(path, name string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.Join(strings.Fields(rest), " "), nil
		}
	}
	return "", fmt.Errorf("no %s in %s", name, path)
}
