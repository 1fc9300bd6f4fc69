package realtime

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Nice bounds (setpriority, keepalived's vrrp_priority).
const (
	MinNice = -20
	MaxNice = 19
)

// maxCPUs is the size of unix.CPUSet: CPUs from it on cannot be named.
const maxCPUs = len(unix.CPUSet{}) * 64

// lockFlags are mlockall's flags for vrrp_no_swap (see lockMemory).
const lockFlags = unix.MCL_CURRENT | unix.MCL_FUTURE | unix.MCL_ONFAULT

// originalAttrs are the nice value and CPU mask lbd was started with,
// recorded by Apply before it changes them: NormalChildren gives them back
// to the processes lbd forks.
type originalAttrs struct {
	nice   int
	niceOK bool
	cpus   unix.CPUSet
	cpusOK bool
}

var original atomic.Pointer[originalAttrs]

// recordOriginal records the calling thread's nice value and CPU mask,
// once per process (every thread has them alike before Apply).
func recordOriginal() {
	if original.Load() != nil {
		return
	}
	o := &originalAttrs{}
	if n, err := ThreadNice(0); err == nil {
		o.nice, o.niceOK = n, true
	}
	if m, err := threadCPUs(0); err == nil {
		o.cpus, o.cpusOK = m, true
	}
	original.CompareAndSwap(nil, o)
}

// ThreadNice returns the nice value of thread tid (0: the calling
// thread); tid may belong to another process. Unlike sched_getattr, it
// reads the value also under SCHED_RR, where it is kept but unused.
func ThreadNice(tid int) (int, error) {
	// The system call returns 20 - nice, so that no value is negative.
	p, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil {
		return 0, fmt.Errorf("getpriority %d: %w", tid, err)
	}
	return 20 - p, nil
}

// setNice sets the nice value of thread tid (on Linux, setpriority's
// PRIO_PROCESS names a thread).
func setNice(tid, n int) error {
	if err := unix.Setpriority(unix.PRIO_PROCESS, tid, n); err != nil {
		return fmt.Errorf("setpriority %d to %d: %w", tid, n, err)
	}
	return nil
}

// ThreadCPUs returns the CPUs thread tid (0: the calling thread) may run
// on; tid may belong to another process.
func ThreadCPUs(tid int) ([]int, error) {
	m, err := threadCPUs(tid)
	if err != nil {
		return nil, err
	}
	return cpuList(m), nil
}

func threadCPUs(tid int) (unix.CPUSet, error) {
	var m unix.CPUSet
	if err := unix.SchedGetaffinity(tid, &m); err != nil {
		return m, fmt.Errorf("sched_getaffinity %d: %w", tid, err)
	}
	return m, nil
}

func setCPUs(tid int, m *unix.CPUSet) error {
	if err := unix.SchedSetaffinity(tid, m); err != nil {
		return fmt.Errorf("sched_setaffinity %d to %s: %w", tid, FormatCPUs(cpuList(*m)), err)
	}
	return nil
}

func cpuList(m unix.CPUSet) []int {
	var out []int
	for c := 0; c < maxCPUs; c++ {
		if m.IsSet(c) {
			out = append(out, c)
		}
	}
	return out
}

// FormatCPUs writes sorted CPU numbers as the kernel's CPU lists do
// (/proc/PID/status Cpus_allowed_list): "0-3,6".
func FormatCPUs(cpus []int) string {
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(cpus[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(cpus[j]))
		}
		i = j + 1
	}
	return b.String()
}

// ParseCPUs reads a kernel CPU list ("0-3,6", as in
// /sys/devices/system/cpu/online); the empty list is valid.
func ParseCPUs(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("cpu list %q: bad cpu %q", s, lo)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("cpu list %q: bad range %q", s, part)
			}
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out, nil
}

// onlineCPUs is the set of CPUs this host has online.
func onlineCPUs() (map[int]bool, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return nil, fmt.Errorf("online cpus: %w", err)
	}
	cpus, err := ParseCPUs(string(b))
	if err != nil {
		return nil, fmt.Errorf("online cpus: %w", err)
	}
	out := map[int]bool{}
	for _, c := range cpus {
		out[c] = true
	}
	return out, nil
}

// applyNice sets nice value n on every thread (vrrp_priority). Threads
// cloned later inherit it from their creator.
func (s *Scheduler) applyNice(n int) error {
	if n < MinNice || n > MaxNice {
		return fmt.Errorf("nice %d: want %d..%d", n, MinNice, MaxNice)
	}
	threads, err := eachThread(func(tid int) (bool, error) {
		cur, err := ThreadNice(tid)
		return cur == n, err
	}, func(tid int) error { return setNice(tid, n) })
	if err != nil {
		return err
	}
	s.nice = n
	s.niceG.Set(float64(n))
	msg := "nice value set"
	if s.priority != 0 {
		msg += " (it does not matter while the threads run SCHED_RR)"
	}
	s.log.Info(msg, "nice", n, "threads", threads)
	return nil
}

// applyCPUs restricts every thread to the CPUs of cpus this host has
// online (vrrp_cpu_affinity); the others are logged and ignored, as
// keepalived does. Threads cloned later inherit the mask.
func (s *Scheduler) applyCPUs(cpus []int) error {
	online, err := onlineCPUs()
	if err != nil {
		// Fall back on the CPUs lbd was started on.
		o := original.Load()
		if o == nil || !o.cpusOK {
			return err
		}
		online = map[int]bool{}
		for _, c := range cpuList(o.cpus) {
			online[c] = true
		}
	}
	var have []int
	for c := range online {
		have = append(have, c)
	}
	slices.Sort(have)
	var want unix.CPUSet
	var ignored []int
	for _, c := range cpus {
		if c >= 0 && c < maxCPUs && online[c] {
			want.Set(c)
		} else {
			ignored = append(ignored, c)
		}
	}
	if len(ignored) > 0 {
		slices.Sort(ignored)
		s.log.Warn("vrrp_cpu_affinity: ignoring CPUs this host does not have",
			"ignored", FormatCPUs(ignored), "online", FormatCPUs(have))
	}
	if want.Count() == 0 {
		return fmt.Errorf("none of CPUs %s is online (online: %s): affinity unchanged",
			FormatCPUs(slices.Sorted(slices.Values(cpus))), FormatCPUs(have))
	}
	// The kernel may keep fewer CPUs than asked (a cpuset cgroup): set
	// the calling thread first and give the others what it kept.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := setCPUs(0, &want); err != nil {
		return err
	}
	eff, err := threadCPUs(0)
	if err != nil {
		return err
	}
	threads, err := eachThread(func(tid int) (bool, error) {
		cur, err := threadCPUs(tid)
		return cur == eff, err
	}, func(tid int) error { return setCPUs(tid, &eff) })
	if err != nil {
		return err
	}
	s.cpus = cpuList(eff)
	s.log.Info("CPU affinity set", "cpus", FormatCPUs(s.cpus), "threads", threads)
	return nil
}

// lockMemory locks lbd's memory against swapping (vrrp_no_swap):
// mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT). keepalived calls
// mlockall(MCL_FUTURE) after touching its stack. For a Go process that
// would make whole mappings resident: every thread's stack (8 MiB each,
// cgo's pthread stacks), the runtime's data and heap mappings; MCL_ONFAULT
// (Linux 4.4) locks pages as they are touched instead, so that what lbd
// uses stays in memory and what it only mapped costs nothing.
func (s *Scheduler) lockMemory() error {
	if err := unix.Mlockall(lockFlags); err != nil {
		var lim unix.Rlimit
		limit := "unknown"
		if unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim) == nil {
			limit = rlimitString(lim.Cur)
		}
		return fmt.Errorf("mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT): %w (RLIMIT_MEMLOCK %s; needs CAP_IPC_LOCK or a larger limit)", err, limit)
	}
	s.locked = true
	s.lockedG.Set(1)
	s.log.Info("memory locked", "flags", "MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT", "locked", statusField("VmLck"), "rss", statusField("VmRSS"))
	return nil
}

func rlimitString(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10) + " bytes"
}

// statusField returns a field of /proc/self/status ("VmLck": "1234 kB");
// "" when unreadable.
func statusField(name string) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

// Nice is the nice value Apply set; 0 when none.
func (s *Scheduler) Nice() int { return s.nice }

// CPUs are the CPUs Apply restricted the threads to; nil when none.
func (s *Scheduler) CPUs() []int { return s.cpus }

// MemoryLocked reports whether Apply locked lbd's memory.
func (s *Scheduler) MemoryLocked() bool { return s.locked }

// NormalChildren makes the processes the calling thread forks until
// restore start as lbd itself was started, not as Apply tuned its
// threads:
//   - under SCHED_RR, SCHED_OTHER at nice 0: SCHED_RESET_ON_FORK on the
//     forking thread, as keepalived's scripts;
//   - otherwise, the nice value lbd was started with, if Apply changed it
//     (vrrp_priority; keepalived's scripts get their original priority
//     back too);
//   - the CPUs lbd was started with, if Apply restricted them
//     (vrrp_cpu_affinity).
//
// It changes what differs on the calling thread only, and restore puts
// it back. The caller must hold its goroutine on the thread
// (runtime.LockOSThread) from before NormalChildren until after restore,
// and must not start goroutines in between that could create threads
// from this one (the Go runtime clones new threads through its template
// thread while the current one is locked).
//
// An error from restore means the thread could not be put back: keep the
// goroutine locked until it exits, so that the runtime discards the
// thread. If NormalChildren fails after a change it cannot undo, it locks
// the goroutine once more itself, to the same end.
func NormalChildren() (restore func() error, err error) {
	var undo []func() error
	restore = func() error {
		var errs []error
		for i := len(undo) - 1; i >= 0; i-- {
			errs = append(errs, undo[i]())
		}
		undo = nil
		return errors.Join(errs...)
	}
	abort := func(err error) (func() error, error) {
		if rerr := restore(); rerr != nil {
			runtime.LockOSThread() // never unlocked: the thread is discarded
			err = errors.Join(err, rerr)
		}
		return nil, err
	}
	cur, err := ThreadPolicy(0)
	if err != nil {
		return nil, err
	}
	if cur.RealTime() && !cur.ResetOnFork {
		reset := cur
		reset.ResetOnFork = true
		if err := setThread(0, reset); err != nil {
			return nil, err
		}
		undo = append(undo, func() error { return setThread(0, cur) })
	}
	o := original.Load()
	if o == nil {
		return restore, nil
	}
	// Under SCHED_RR the reset gives the child nice 0 whatever the
	// thread's.
	if o.niceOK && !cur.RealTime() {
		n, err := ThreadNice(0)
		if err != nil {
			return abort(err)
		}
		if n != o.nice {
			if err := setNice(0, o.nice); err != nil {
				return abort(err)
			}
			undo = append(undo, func() error { return setNice(0, n) })
		}
	}
	if o.cpusOK {
		m, err := threadCPUs(0)
		if err != nil {
			return abort(err)
		}
		if m != o.cpus {
			if err := setCPUs(0, &o.cpus); err != nil {
				return abort(err)
			}
			undo = append(undo, func() error { return setCPUs(0, &m) })
		}
	}
	return restore, nil
}
