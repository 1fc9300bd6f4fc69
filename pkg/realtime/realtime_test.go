package realtime

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	lbdtest "github.com/lbdproject/lbd/internal/testutil"
)

// The privileged tests run in a child process (this test binary again,
// selected by childEnv), so that the real-time policy and RLIMIT_RTTIME
// they set never reach the other tests of the binary.
const childEnv = "LBD_REALTIME_TEST_CHILD"

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		os.Exit(runChild(name))
	}
	os.Exit(m.Run())
}

func runChild(name string) int {
	fn, ok := children[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "no child test %q\n", name)
		return 2
	}
	if err := fn(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	return 0
}

// inChild runs children[name] in a child process and fails t with its
// output when it fails.
func inChild(t *testing.T, name string) {
	t.Helper()
	lbdtest.RequireRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	t.Logf("%s:\n%s", name, out)
}

var children = map[string]func() error{
	"threads":     childThreads,
	"children":    childChildren,
	"sigxcpu":     childSIGXCPU,
	"tune":        childTune,
	"tune-rt":     childTuneRT,
	"no-cpus":     childNoCPUs,
	"noswap-fail": childNoSwapFail,
}

// TestApplyAllThreads: every thread is SCHED_RR after Apply, and so is
// every thread the runtime creates afterwards (inherited from its
// creator); RLIMIT_RTTIME is soft = the limit, hard = unlimited.
func TestApplyAllThreads(t *testing.T) { inChild(t, "threads") }

func checkAll(want Policy) (int, error) {
	tids, err := Threads(0)
	if err != nil {
		return 0, err
	}
	for _, tid := range tids {
		p, err := ThreadPolicy(tid)
		if err != nil {
			continue // exited
		}
		if p != want {
			return len(tids), fmt.Errorf("thread %d is %v, want %v", tid, p, want)
		}
	}
	return len(tids), nil
}

func gauge(reg *prometheus.Registry, name string) (float64, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return 0, err
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue(), nil
		}
	}
	return 0, fmt.Errorf("no %s", name)
}

// moreThreads makes the runtime create threads until there are at least
// 8 more than before, and returns how many there were then.
// Goroutines locked to their threads and asleep in the kernel hold those
// threads, so the runtime creates more to run the others. Some lock the
// thread first (new threads then come from the template thread), some do
// not.
func moreThreads(before int) (int, error) {
	var wg sync.WaitGroup
	release := make(chan struct{})
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(lock bool) {
			defer wg.Done()
			if lock {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			var fds [2]int
			if err := unix.Pipe(fds[:]); err != nil {
				return
			}
			defer unix.Close(fds[0])
			defer unix.Close(fds[1])
			go func() { <-release; unix.Write(fds[1], []byte{1}) }()
			var b [1]byte
			unix.Read(fds[0], b[:]) // blocks this thread in the kernel
		}(i%2 == 0)
	}
	var after int
	deadline := time.Now().Add(10 * time.Second)
	for {
		tids, err := Threads(0)
		if err != nil {
			close(release)
			wg.Wait()
			return 0, err
		}
		if after = len(tids); after >= before+8 {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond) // no event tells that a thread was created
	}
	close(release)
	wg.Wait()
	if after < before+8 {
		return after, fmt.Errorf("only %d threads after forcing new ones (%d before)", after, before)
	}
	return after, nil
}

func childThreads() error {
	reg := prometheus.NewRegistry()
	s, err := Apply(Options{Priority: 10, RTTime: 10 * time.Millisecond, Registerer: reg})
	if err != nil {
		return err
	}
	defer s.Close()
	want := Policy{Class: unix.SCHED_RR, Priority: 10}
	before, err := checkAll(want)
	if err != nil {
		return fmt.Errorf("after Apply: %w", err)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_RTTIME, &lim); err != nil {
		return err
	}
	if lim.Cur != 10000 || lim.Max != unix.RLIM_INFINITY {
		return fmt.Errorf("RLIMIT_RTTIME %d/%d, want 10000/unlimited", lim.Cur, lim.Max)
	}
	if v, err := gauge(reg, "lbd_realtime_priority"); err != nil || v != 10 {
		return fmt.Errorf("lbd_realtime_priority %v (%v)", v, err)
	}

	if _, err := moreThreads(before); err != nil {
		return err
	}
	n, err := checkAll(want)
	if err != nil {
		return fmt.Errorf("new threads: %w", err)
	}
	fmt.Printf("%d threads after Apply, %d after forcing new ones, all %v\n", before, n, want)
	return nil
}

// TestChildrenNotRealTime: a command started with StartCommand runs
// SCHED_OTHER, while a plain exec.Cmd.Start inherits SCHED_RR (which is
// why scripts must go through StartCommand or NormalChildren).
func TestChildrenNotRealTime(t *testing.T) { inChild(t, "children") }

func childPolicy(start func(*exec.Cmd) error) (Policy, error) {
	cmd := exec.Command("sleep", "30")
	if err := start(cmd); err != nil {
		return Policy{}, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	return ThreadPolicy(cmd.Process.Pid)
}

func childChildren() error {
	s, err := Apply(Options{Priority: 10, RTTime: 10 * time.Millisecond})
	if err != nil {
		return err
	}
	defer s.Close()
	plain, err := childPolicy((*exec.Cmd).Start)
	if err != nil {
		return err
	}
	if !plain.RealTime() {
		return fmt.Errorf("exec.Cmd.Start's child is %v: expected it to inherit SCHED_RR", plain)
	}
	normal, err := childPolicy(StartCommand)
	if err != nil {
		return err
	}
	if normal.Class != unix.SCHED_NORMAL || normal.Priority != 0 || normal.ResetOnFork {
		return fmt.Errorf("StartCommand's child is %v, want SCHED_OTHER 0", normal)
	}
	// The forking thread got its own policy back.
	if _, err := checkAll(Policy{Class: unix.SCHED_RR, Priority: 10}); err != nil {
		return fmt.Errorf("after StartCommand: %w", err)
	}
	fmt.Printf("plain child %v, StartCommand child %v\n", plain, normal)
	return nil
}

// TestSIGXCPUCountedNotKilled: a thread that runs past the limit without
// blocking gets SIGXCPU, which is counted, the soft limit re-armed, and
// the process lives (the hard limit is unlimited).
func TestSIGXCPUCountedNotKilled(t *testing.T) { inChild(t, "sigxcpu") }

func childSIGXCPU() error {
	s, err := Apply(Options{Priority: 1, RTTime: 5 * time.Millisecond})
	if err != nil {
		return err
	}
	defer s.Close()
	// Spin without a system call until the signal is counted: the
	// kernel checks the limit at its tick, with tick resolution.
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		x := 0
		for {
			select {
			case <-done:
				return
			default:
			}
			for i := 0; i < 1_000_000; i++ {
				x += i
			}
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for s.Exceeded() == 0 {
		if time.Now().After(deadline) {
			close(done)
			return fmt.Errorf("no SIGXCPU counted after 20s of spinning")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(done)
	var lim unix.Rlimit
	for {
		// The watcher re-arms the soft limit right after counting.
		if err := unix.Getrlimit(unix.RLIMIT_RTTIME, &lim); err != nil {
			return err
		}
		if lim.Cur == 5000 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if lim.Cur != 5000 || lim.Max != unix.RLIM_INFINITY {
		return fmt.Errorf("RLIMIT_RTTIME %d/%d after SIGXCPU, want 5000/unlimited", lim.Cur, lim.Max)
	}
	fmt.Printf("SIGXCPU counted %v times; alive\n", s.Exceeded())
	return nil
}

func TestApplyNoPriority(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := Apply(Options{RTTime: 10 * time.Millisecond, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Priority() != 0 {
		t.Errorf("priority %d", s.Priority())
	}
	p, err := ThreadPolicy(0)
	if err != nil {
		t.Fatal(err)
	}
	if p.RealTime() {
		t.Errorf("thread is %v without a priority", p)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	if got := strings.Join(names, ","); got != "lbd_realtime_cpus,lbd_realtime_memory_locked,lbd_realtime_nice,lbd_realtime_priority,lbd_realtime_rttime_exceeded_total" {
		t.Errorf("metrics %s", got)
	}
}

func TestApplyBadPriority(t *testing.T) {
	s, err := Apply(Options{Priority: 100})
	if err == nil || !strings.Contains(err.Error(), "real-time priority 100: want 1..99") {
		t.Errorf("error %v", err)
	}
	s.Close()
}

func TestPolicyString(t *testing.T) {
	for _, tt := range []struct {
		p    Policy
		want string
	}{
		{Policy{Class: unix.SCHED_RR, Priority: 10}, "SCHED_RR 10"},
		{Policy{Class: unix.SCHED_NORMAL}, "SCHED_OTHER 0"},
		{Policy{Class: unix.SCHED_FIFO, Priority: 1, ResetOnFork: true}, "SCHED_FIFO 1 reset-on-fork"},
		{Policy{Class: 42}, "SCHED_42 0"},
	} {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.p, got, tt.want)
		}
	}
}
