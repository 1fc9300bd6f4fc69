package realtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"github.com/lbdproject/lbd/pkg/script"
)

// The oracle of these tests is /proc, not the system calls Apply uses.

// procStat is what the tests read of /proc/PID[/task/TID]/stat.
type procStat struct {
	nice, rtPriority, policy int
}

// readStat reads a stat file: the fields after the command's closing
// parenthesis start at field 3 (state); nice is field 19, rt_priority 40,
// policy 41 (proc(5)).
func readStat(path string) (procStat, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return procStat{}, err
	}
	return parseStat(string(b))
}

func parseStat(s string) (procStat, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("stat %q: no command", s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 41-2 {
		return procStat{}, fmt.Errorf("stat %q: %d fields", s, len(f))
	}
	field := func(n int) int { v, _ := strconv.Atoi(f[n-3]); return v }
	return procStat{nice: field(19), rtPriority: field(40), policy: field(41)}, nil
}

// readStatus returns field name of a status file ("Cpus_allowed_list").
func readStatus(path, name string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return statusValue(string(b), name)
}

func statusValue(s, name string) (string, error) {
	for _, line := range strings.Split(s, "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(rest), nil
		}
	}
	return "", fmt.Errorf("no %s", name)
}

// kB reads "1234 kB".
func kB(v string) int {
	n, _ := strconv.Atoi(strings.TrimSuffix(v, " kB"))
	return n
}

// checkTasks checks every thread of this process against want (nice,
// rt_priority, policy) and Cpus_allowed_list cpus, and returns how many
// there were.
func checkTasks(want procStat, cpus string) (int, error) {
	tids, err := Threads(0)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, tid := range tids {
		dir := fmt.Sprintf("/proc/self/task/%d/", tid)
		st, err := readStat(dir + "stat")
		if err != nil {
			continue // exited
		}
		list, err := readStatus(dir+"status", "Cpus_allowed_list")
		if err != nil {
			continue
		}
		if st != want || list != cpus {
			return len(tids), fmt.Errorf("thread %d is %+v on CPUs %s, want %+v on %s", tid, st, list, want, cpus)
		}
		n++
	}
	return n, nil
}

// startedLike starts `sleep` with start and reads its stat and CPUs.
func startedLike(start func(*exec.Cmd) error) (procStat, string, error) {
	cmd := exec.Command("sleep", "30")
	if err := start(cmd); err != nil {
		return procStat{}, "", err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	dir := fmt.Sprintf("/proc/%d/", cmd.Process.Pid)
	st, err := readStat(dir + "stat")
	if err != nil {
		return procStat{}, "", err
	}
	list, err := readStatus(dir+"status", "Cpus_allowed_list")
	return st, list, err
}

// scriptReport runs a shell through pkg/script's Runner with
// NormalChildren as its fork hook (lbd run's path for notify and
// tracking scripts): the shell prints its own stat and status.
func scriptReport() (procStat, string, error) {
	r := script.NewRunner(script.Options{ForkHook: NormalChildren})
	res := r.Run(context.Background(), script.Job{
		Name:    "report",
		Command: script.Command{Args: []string{"/bin/sh", "-c", `cat /proc/$$/stat; cat /proc/$$/status`}},
		Timeout: 20 * time.Second,
	})
	if res.Outcome != script.OutcomeSuccess {
		return procStat{}, "", fmt.Errorf("script: %v %v %s", res.Outcome, res.Err, res.Stderr)
	}
	out := string(res.Stdout)
	first, rest, _ := strings.Cut(out, "\n")
	st, err := parseStat(first)
	if err != nil {
		return procStat{}, "", err
	}
	list, err := statusValue(rest, "Cpus_allowed_list")
	return st, list, err
}

func selfCPUs() (string, error) { return readStatus("/proc/self/status", "Cpus_allowed_list") }

// TestTuneAllThreads: vrrp_priority, vrrp_cpu_affinity (with a CPU the
// host does not have, logged and ignored) and vrrp_no_swap reach every
// thread, also those created later; children get the original nice
// value and mask back.
func TestTuneAllThreads(t *testing.T) { inChild(t, "tune") }

func childTune() error {
	orig, err := selfCPUs()
	if err != nil {
		return err
	}
	if orig != "0-1" {
		// The test wants two CPUs to restrict lbd to one of them.
		fmt.Printf("CPUs %s, not 0-1: CPU 1 may be missing\n", orig)
	}
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	s, err := Apply(Options{Nice: -5, CPUs: []int{63, 1}, NoSwap: true,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Registerer: reg})
	if err != nil {
		return fmt.Errorf("apply: %w\n%s", err, logs.String())
	}
	defer s.Close()
	fmt.Print(logs.String())
	if !strings.Contains(logs.String(), `msg="vrrp_cpu_affinity: ignoring CPUs this host does not have" ignored=63 online=0-1`) {
		return fmt.Errorf("no log line for CPU 63:\n%s", logs.String())
	}
	want := procStat{nice: -5, policy: unix.SCHED_NORMAL}
	before, err := checkTasks(want, "1")
	if err != nil {
		return fmt.Errorf("after Apply: %w", err)
	}
	if s.Nice() != -5 || FormatCPUs(s.CPUs()) != "1" || !s.MemoryLocked() {
		return fmt.Errorf("scheduler nice %d cpus %v locked %v", s.Nice(), s.CPUs(), s.MemoryLocked())
	}
	for name, v := range map[string]float64{"lbd_realtime_nice": -5, "lbd_realtime_cpus": 1, "lbd_realtime_memory_locked": 1, "lbd_realtime_priority": 0} {
		if got, err := gauge(reg, name); err != nil || got != v {
			return fmt.Errorf("%s %v (%v), want %v", name, got, err, v)
		}
	}
	vmlck, err := readStatus("/proc/self/status", "VmLck")
	if err != nil {
		return err
	}
	locked, err := readStatus("/proc/self/smaps_rollup", "Locked")
	if err != nil {
		return err
	}
	if kB(vmlck) == 0 || kB(locked) == 0 {
		return fmt.Errorf("VmLck %s, smaps Locked %s after vrrp_no_swap", vmlck, locked)
	}
	rss, _ := readStatus("/proc/self/status", "VmRSS")

	if _, err := moreThreads(before); err != nil {
		return err
	}
	n, err := checkTasks(want, "1")
	if err != nil {
		return fmt.Errorf("new threads: %w", err)
	}

	// Children: a plain fork inherits everything, StartCommand and the
	// script runner's path get the original nice value and mask.
	plain, plainCPUs, err := startedLike((*exec.Cmd).Start)
	if err != nil {
		return err
	}
	if plain.nice != -5 || plainCPUs != "1" {
		return fmt.Errorf("exec.Cmd.Start's child nice %d on %s: expected it to inherit -5 on 1", plain.nice, plainCPUs)
	}
	started, startedCPUs, err := startedLike(StartCommand)
	if err != nil {
		return err
	}
	scripted, scriptedCPUs, err := scriptReport()
	if err != nil {
		return err
	}
	for _, c := range []struct {
		how  string
		st   procStat
		cpus string
	}{{"StartCommand", started, startedCPUs}, {"script.Runner", scripted, scriptedCPUs}} {
		if c.st != (procStat{policy: unix.SCHED_NORMAL}) || c.cpus != orig {
			return fmt.Errorf("%s's child %+v on CPUs %s, want nice 0 SCHED_OTHER on %s", c.how, c.st, c.cpus, orig)
		}
	}
	// The forking threads got their own settings back.
	if _, err := checkTasks(want, "1"); err != nil {
		return fmt.Errorf("after the children: %w", err)
	}
	fmt.Printf("%d threads after Apply, %d after forcing new ones, all nice -5 on CPU 1; VmLck %s, Locked %s, VmRSS %s; children nice 0 on %s\n",
		before, n, vmlck, locked, rss, orig)
	return nil
}

// TestTuneWithRealTime: vrrp_rt_priority with vrrp_priority and
// vrrp_cpu_affinity: all apply, no error; children run SCHED_OTHER at
// nice 0 on every CPU.
func TestTuneWithRealTime(t *testing.T) { inChild(t, "tune-rt") }

func childTuneRT() error {
	orig, err := selfCPUs()
	if err != nil {
		return err
	}
	s, err := Apply(Options{Priority: 10, Nice: -10, CPUs: []int{0}})
	if err != nil {
		return err
	}
	defer s.Close()
	want := procStat{nice: -10, rtPriority: 10, policy: unix.SCHED_RR}
	n, err := checkTasks(want, "0")
	if err != nil {
		return err
	}
	started, startedCPUs, err := startedLike(StartCommand)
	if err != nil {
		return err
	}
	scripted, scriptedCPUs, err := scriptReport()
	if err != nil {
		return err
	}
	for _, c := range []struct {
		how  string
		st   procStat
		cpus string
	}{{"StartCommand", started, startedCPUs}, {"script.Runner", scripted, scriptedCPUs}} {
		if c.st != (procStat{policy: unix.SCHED_NORMAL}) || c.cpus != orig {
			return fmt.Errorf("%s's child %+v on CPUs %s, want nice 0 SCHED_OTHER on %s", c.how, c.st, c.cpus, orig)
		}
	}
	if _, err := checkTasks(want, "0"); err != nil {
		return fmt.Errorf("after the children: %w", err)
	}
	fmt.Printf("%d threads SCHED_RR 10, nice -10, on CPU 0; children SCHED_OTHER nice 0 on %s\n", n, orig)
	return nil
}

// TestTuneNoCPUs: a vrrp_cpu_affinity naming no CPU of this host is a
// vrrp_cpu_affinity error, and the affinity is left alone.
func TestTuneNoCPUs(t *testing.T) { inChild(t, "no-cpus") }

func childNoCPUs() error {
	orig, err := selfCPUs()
	if err != nil {
		return err
	}
	s, err := Apply(Options{CPUs: []int{63, 62}})
	if s != nil { // returned with the errors of the settings that failed
		defer s.Close()
	}
	fails := SettingErrors(err)
	if len(fails) != 1 || fails[0].Keyword != "vrrp_cpu_affinity" ||
		!strings.Contains(err.Error(), "vrrp_cpu_affinity: none of CPUs 62-63 is online") {
		return fmt.Errorf("error %v, want one vrrp_cpu_affinity error", err)
	}
	if _, err := checkTasks(procStat{policy: unix.SCHED_NORMAL}, orig); err != nil {
		return err
	}
	if s.CPUs() != nil {
		return fmt.Errorf("scheduler CPUs %v", s.CPUs())
	}
	fmt.Println(err)
	return nil
}

// TestNoSwapFailureNotFatal: without CAP_IPC_LOCK and with a small
// RLIMIT_MEMLOCK, vrrp_no_swap fails with a vrrp_no_swap error, and the
// other settings still apply.
func TestNoSwapFailureNotFatal(t *testing.T) { inChild(t, "noswap-fail") }

func childNoSwapFail() error {
	// Capabilities are per thread: drop CAP_IPC_LOCK on the thread that
	// calls Apply (and so mlockall).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	data[0].Effective &^= 1 << unix.CAP_IPC_LOCK
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return err
	}
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: 64 << 10, Max: 64 << 10}); err != nil {
		return err
	}
	s, err := Apply(Options{Nice: 3, NoSwap: true})
	if s != nil { // returned with the errors of the settings that failed
		defer s.Close()
	}
	fails := SettingErrors(err)
	if len(fails) != 1 || fails[0].Keyword != "vrrp_no_swap" || !errors.Is(err, unix.ENOMEM) ||
		!strings.Contains(err.Error(), "RLIMIT_MEMLOCK 65536 bytes") {
		return fmt.Errorf("error %v, want one vrrp_no_swap ENOMEM error", err)
	}
	if s.MemoryLocked() {
		return errors.New("memory locked")
	}
	if _, err := checkTasks(procStat{nice: 3, policy: unix.SCHED_NORMAL}, mustCPUs()); err != nil {
		return err
	}
	fmt.Println(err)
	return nil
}

func mustCPUs() string {
	s, _ := selfCPUs()
	return s
}

func TestApplyBadNice(t *testing.T) {
	s, err := Apply(Options{Nice: 20})
	if s != nil { // returned with the errors of the settings that failed
		defer s.Close()
	}
	fails := SettingErrors(err)
	if len(fails) != 1 || fails[0].Keyword != "vrrp_priority" || err.Error() != "vrrp_priority: nice 20: want -20..19" {
		t.Errorf("error %v", err)
	}
}

func TestCPUList(t *testing.T) {
	for _, tt := range []struct {
		in   string
		cpus []int
		out  string
	}{
		{"0-1\n", []int{0, 1}, "0-1"},
		{"0", []int{0}, "0"},
		{"0-3,6,8-9", []int{0, 1, 2, 3, 6, 8, 9}, "0-3,6,8-9"},
		{"", nil, ""},
	} {
		got, err := ParseCPUs(tt.in)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.cpus) {
			t.Errorf("ParseCPUs(%q) = %v, %v", tt.in, got, err)
		}
		if s := FormatCPUs(tt.cpus); s != tt.out {
			t.Errorf("FormatCPUs(%v) = %q, want %q", tt.cpus, s, tt.out)
		}
	}
	for _, bad := range []string{"a", "3-1", "1-", "-1"} {
		if _, err := ParseCPUs(bad); err == nil {
			t.Errorf("ParseCPUs(%q): no error", bad)
		}
	}
}

func TestSettingErrors(t *testing.T) {
	a := &SettingError{Keyword: "vrrp_priority", Err: unix.EPERM}
	b := &SettingError{Keyword: "vrrp_no_swap", Err: unix.ENOMEM}
	err := errors.Join(a, errors.New("other"), b)
	got := SettingErrors(err)
	if len(got) != 2 || got[0] != a || got[1] != b {
		t.Errorf("SettingErrors = %v", got)
	}
	if a.Error() != "vrrp_priority: operation not permitted" || !errors.Is(err, unix.ENOMEM) {
		t.Errorf("%q", a.Error())
	}
	if SettingErrors(nil) != nil {
		t.Error("errors from nil")
	}
}
