// Package realtime runs lbd under real-time scheduling, as keepalived's
// vrrp_rt_priority and vrrp_rlimit_rttime run its VRRP process: on a
// CPU-starved host a VRRP timer that fires late makes a backup declare a
// live master dead (at advert_int 0.01, 137ms of lateness at p99.9 under
// load without it, 0.9ms with SCHED_RR, measured by bench/timer-lateness.sh).
//
// # What Apply does, and why it differs from keepalived
//
// keepalived is one thread per process: it calls sched_setscheduler with
// SCHED_RR|SCHED_RESET_ON_FORK and sets RLIMIT_RTTIME to soft = limit/2,
// hard = limit (keepalived 2.2.7 process.c; default limit 10000µs), so a
// busy loop is killed after 10ms of CPU without a blocking system call.
// lbd is one Go process with a pool of threads, which changes three things:
//
//   - The policy is per thread. Apply sets SCHED_RR on every thread of
//     /proc/self/task, repeating until a pass finds none left to change.
//     Threads created later are cloned from one of these (the Go runtime
//     clones from the current thread, or from its template thread, which
//     exists by then) and inherit the policy, so Apply must not set
//     SCHED_RESET_ON_FORK: the reset applies to every clone, threads
//     included, and the runtime's new threads would fall back to
//     SCHED_OTHER. Child processes (notify and tracking scripts) must
//     still not run real-time: fork them with StartCommand, or inside
//     NormalChildren, which set the reset flag on the forking thread only.
//   - RLIMIT_RTTIME counts, per thread, CPU time since the thread last
//     blocked. A Go thread that keeps finding runnable goroutines never
//     blocks, so the count grows with the daemon's total work (a reload
//     parsing a large configuration, a burst of adverts, a GC cycle), not
//     with one runaway loop; and the kernel's hard limit is SIGKILL, which
//     would leave the VIPs configured on a dead master. Apply sets the soft
//     limit to vrrp_rlimit_rttime and the hard limit to unlimited: a thread
//     that runs longer gets SIGXCPU, which lbd logs and counts
//     (lbd_realtime_rttime_exceeded_total), then re-arms the soft limit
//     (the kernel raises it by 1s on each signal). A runaway lbd is still
//     bounded by the kernel's real-time throttling
//     (kernel.sched_rt_runtime_us: 95% of each second by default).
//   - One priority for the whole process: vrrp_rt_priority. The checker
//     and BFD priorities of keepalived's other processes do not apply.
//
// # Nice value, CPU affinity, memory lock
//
// Apply also does what keepalived's vrrp_priority, vrrp_cpu_affinity and
// vrrp_no_swap do to its VRRP process, again for one process of many
// threads:
//
//   - vrrp_priority: the nice value, per thread on Linux (setpriority's
//     PRIO_PROCESS names a thread), so set on every thread like the
//     policy, and inherited the same way. Under vrrp_rt_priority it is
//     set too but does not matter (keepalived skips it then); it does if
//     SCHED_RR could not be set.
//   - vrrp_cpu_affinity: sched_setaffinity on every thread (inherited by
//     clones too). CPUs not online on this host are logged and ignored,
//     as keepalived does; none left is an error, and nothing changes.
//   - vrrp_no_swap: mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT), where
//     keepalived calls mlockall(MCL_FUTURE). A Go process maps far more
//     than it touches (an 8 MiB pthread stack per thread, runtime data and
//     heap): without MCL_ONFAULT all of it would become resident, 140 MB
//     instead of 15 MB for a small lbd. With it, every page lbd has
//     touched and touches later stays in memory, the rest costs nothing
//     (and the runtime still returns freed heap to the system: a test
//     program's 200 MB went back). /proc/PID/status VmLck counts whole
//     locked mappings (1.7 GB of mostly reserved address space);
//     smaps_rollup's Locked: is what is resident.
//
// Processes lbd forks (notify and tracking scripts) get back what lbd
// was started with, through StartCommand or NormalChildren: SCHED_OTHER,
// the original nice value (keepalived's scripts too; under SCHED_RR the
// kernel's reset makes it 0), and the original CPU mask: the affinity is
// for VRRP's own work, and a script pinned with lbd would compete with
// it for those CPUs only.
//
// Each setting is applied on its own; one that fails is reported as a
// SettingError naming the keyword, and the others still apply.
package realtime

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"
)

// Priority bounds of SCHED_RR (sched_get_priority_min/max on Linux).
const (
	MinPriority = 1
	MaxPriority = 99
)

// maxPasses bounds Apply's passes over /proc/self/task: each pass catches
// the threads created while the previous one ran.
const maxPasses = 20

// Options configures Apply.
type Options struct {
	// Priority is the SCHED_RR priority (keepalived's vrrp_rt_priority,
	// 1..99). 0 leaves the scheduling policy alone.
	Priority int
	// RTTime is keepalived's vrrp_rlimit_rttime: the CPU time a thread
	// may use without blocking before lbd is warned (SIGXCPU, logged and
	// counted). 0 sets no limit. Only applied with Priority.
	RTTime time.Duration
	// Nice is keepalived's vrrp_priority (MinNice..MaxNice), set on every
	// thread. 0 leaves the nice value alone. Under Priority it is set as
	// well but does not matter: SCHED_RR threads run before every
	// SCHED_OTHER thread whatever their nice value.
	Nice int
	// CPUs is keepalived's vrrp_cpu_affinity: the CPUs every thread may
	// run on. CPUs this host does not have are logged and ignored; nil
	// leaves the affinity alone.
	CPUs []int
	// NoSwap is keepalived's vrrp_no_swap: lock lbd's memory against
	// swapping (mlockall; see the package documentation).
	NoSwap bool
	// Logger gets one Info line per setting applied, and a Warn line per
	// SIGXCPU or ignored CPU; nil discards.
	Logger *slog.Logger
	// Registerer, if set, gets lbd_realtime_priority,
	// lbd_realtime_rttime_exceeded_total, lbd_realtime_nice,
	// lbd_realtime_cpus and lbd_realtime_memory_locked.
	Registerer prometheus.Registerer
}

// Scheduler is the state Apply left. Close stops watching for SIGXCPU;
// the threads keep their settings.
type Scheduler struct {
	log      *slog.Logger
	priority int
	threads  int
	rttime   time.Duration
	nice     int
	cpus     []int
	locked   bool

	prio     prometheus.Gauge
	exceeded prometheus.Counter
	niceG    prometheus.Gauge
	cpusG    prometheus.Gauge
	lockedG  prometheus.Gauge
	nexceed  atomic.Uint64

	sigs chan os.Signal
	done chan struct{}
	once sync.Once
}

// SettingError is the failure of one keyword in Apply's error.
type SettingError struct {
	Keyword string // vrrp_rt_priority, vrrp_priority, vrrp_cpu_affinity, vrrp_no_swap
	Err     error
}

func (e *SettingError) Error() string { return e.Keyword + ": " + e.Err.Error() }
func (e *SettingError) Unwrap() error { return e.Err }

// SettingErrors lists the SettingErrors joined in err (Apply's error).
func SettingErrors(err error) []*SettingError {
	var out []*SettingError
	var walk func(error)
	walk = func(err error) {
		if se, ok := err.(*SettingError); ok {
			out = append(out, se)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

// Apply applies opts to every thread of the process: SCHED_RR at
// opts.Priority with RLIMIT_RTTIME, the nice value, the CPU affinity,
// and the memory lock (see the package documentation). Each is applied
// independently: the error joins one SettingError per keyword that
// failed (the setting unchanged, or changed on some threads only), and
// Apply returns a usable Scheduler with it: keepalived logs such a
// failure and runs on, and so should the caller. Apply is meant to be
// called once per process: the first call that changes the nice value or
// the affinity records the original ones for NormalChildren.
func Apply(opts Options) (*Scheduler, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{
		log: opts.Logger,
		prio: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lbd_realtime_priority",
			Help: "SCHED_RR priority of lbd's threads (vrrp_rt_priority); 0 when not real-time.",
		}),
		exceeded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lbd_realtime_rttime_exceeded_total",
			Help: "SIGXCPU received: a thread used more CPU than vrrp_rlimit_rttime without blocking.",
		}),
		niceG: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lbd_realtime_nice",
			Help: "Nice value lbd set on its threads (vrrp_priority); 0 when left alone.",
		}),
		cpusG: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lbd_realtime_cpus",
			Help: "Number of CPUs lbd's threads may run on (vrrp_cpu_affinity, or the mask lbd started with).",
		}),
		lockedG: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lbd_realtime_memory_locked",
			Help: "1 when lbd's memory is locked against swapping (vrrp_no_swap).",
		}),
		done: make(chan struct{}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{s.prio, s.exceeded, s.niceG, s.cpusG, s.lockedG} {
			if err := opts.Registerer.Register(c); err != nil {
				close(s.done)
				return s, fmt.Errorf("register realtime metrics: %w", err)
			}
		}
	}
	var errs []error
	fail := func(kw string, err error) {
		if err != nil {
			errs = append(errs, &SettingError{Keyword: kw, Err: err})
		}
	}
	// Before anything changes: what children get back.
	if opts.Nice != 0 || opts.CPUs != nil {
		recordOriginal()
	}
	if opts.Priority != 0 {
		fail("vrrp_rt_priority", s.applyRT(opts))
	}
	if s.sigs == nil {
		close(s.done) // no watcher
	}
	if opts.Nice != 0 {
		fail("vrrp_priority", s.applyNice(opts.Nice))
	}
	if opts.CPUs != nil {
		fail("vrrp_cpu_affinity", s.applyCPUs(opts.CPUs))
	}
	if mask, err := threadCPUs(0); err == nil {
		s.cpusG.Set(float64(mask.Count()))
	}
	if opts.NoSwap {
		fail("vrrp_no_swap", s.lockMemory())
	}
	return s, errors.Join(errs...)
}

// applyRT sets RLIMIT_RTTIME, starts the SIGXCPU watcher, and switches
// every thread to SCHED_RR.
func (s *Scheduler) applyRT(opts Options) error {
	if opts.Priority < MinPriority || opts.Priority > MaxPriority {
		return fmt.Errorf("real-time priority %d: want %d..%d", opts.Priority, MinPriority, MaxPriority)
	}
	if opts.RTTime < 0 {
		return fmt.Errorf("rlimit rttime %v: negative", opts.RTTime)
	}
	// The limit first: no thread runs real-time without it.
	if opts.RTTime > 0 {
		s.sigs = make(chan os.Signal, 1)
		signal.Notify(s.sigs, syscall.SIGXCPU)
		if err := setRTTime(opts.RTTime); err != nil {
			signal.Stop(s.sigs)
			s.sigs = nil
			return err
		}
		s.rttime = opts.RTTime
		go s.watch()
	}
	n, err := SetThreads(Policy{Class: unix.SCHED_RR, Priority: opts.Priority})
	s.threads = n
	if err != nil {
		return err
	}
	s.priority = opts.Priority
	s.prio.Set(float64(opts.Priority))
	s.log.Info("real-time scheduling", "policy", "SCHED_RR", "priority", opts.Priority, "threads", n,
		"rlimit_rttime", opts.RTTime.String())
	return nil
}

// Priority is the SCHED_RR priority applied; 0 when none.
func (s *Scheduler) Priority() int { return s.priority }

// Threads is the number of threads Apply found (and switched to
// SCHED_RR).
func (s *Scheduler) Threads() int { return s.threads }

// Exceeded is how many SIGXCPU were received (the value of
// lbd_realtime_rttime_exceeded_total).
func (s *Scheduler) Exceeded() uint64 { return s.nexceed.Load() }

// Close stops watching for SIGXCPU. The threads keep their policy.
func (s *Scheduler) Close() {
	s.once.Do(func() {
		if s.sigs != nil {
			signal.Stop(s.sigs)
			close(s.sigs)
			<-s.done
		}
	})
}

func (s *Scheduler) watch() {
	defer close(s.done)
	for range s.sigs {
		s.exceeded.Inc()
		s.nexceed.Add(1)
		// The kernel raised the soft limit by a second when it sent the
		// signal; lower it again so that the next overrun is seen too.
		err := setRTTime(s.rttime)
		s.log.Warn("a thread ran longer than vrrp_rlimit_rttime without blocking (SIGXCPU); VRRP timers may have run late",
			"rlimit_rttime", s.rttime.String(), "rearm_error", err)
	}
}

// setRTTime sets RLIMIT_RTTIME: soft d, hard unlimited.
func setRTTime(d time.Duration) error {
	us := uint64(d / time.Microsecond)
	if us == 0 {
		us = 1
	}
	lim := unix.Rlimit{Cur: us, Max: unix.RLIM_INFINITY}
	if err := unix.Setrlimit(unix.RLIMIT_RTTIME, &lim); err != nil {
		return fmt.Errorf("set RLIMIT_RTTIME %dus: %w", us, err)
	}
	return nil
}

// Policy is a thread's scheduling policy.
type Policy struct {
	Class    uint32 // unix.SCHED_NORMAL (SCHED_OTHER), unix.SCHED_RR, ...
	Priority int    // real-time priority; 0 for SCHED_OTHER
	// ResetOnFork is SCHED_RESET_ON_FORK: clones start SCHED_OTHER.
	ResetOnFork bool
}

// String is chrt's spelling: "SCHED_RR 10".
func (p Policy) String() string {
	name := "SCHED_" + strconv.Itoa(int(p.Class))
	switch p.Class {
	case unix.SCHED_NORMAL:
		name = "SCHED_OTHER"
	case unix.SCHED_FIFO:
		name = "SCHED_FIFO"
	case unix.SCHED_RR:
		name = "SCHED_RR"
	case unix.SCHED_BATCH:
		name = "SCHED_BATCH"
	case unix.SCHED_IDLE:
		name = "SCHED_IDLE"
	case unix.SCHED_DEADLINE:
		name = "SCHED_DEADLINE"
	}
	s := name + " " + strconv.Itoa(p.Priority)
	if p.ResetOnFork {
		s += " reset-on-fork"
	}
	return s
}

// RealTime reports a SCHED_FIFO or SCHED_RR policy.
func (p Policy) RealTime() bool { return p.Class == unix.SCHED_FIFO || p.Class == unix.SCHED_RR }

// ThreadPolicy returns the policy of thread tid (0: the calling thread);
// tid may belong to another process.
func ThreadPolicy(tid int) (Policy, error) {
	a, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return Policy{}, fmt.Errorf("sched_getattr %d: %w", tid, err)
	}
	return Policy{Class: a.Policy, Priority: int(a.Priority), ResetOnFork: a.Flags&unix.SCHED_FLAG_RESET_ON_FORK != 0}, nil
}

func setThread(tid int, p Policy) error {
	a := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: p.Class, Priority: uint32(p.Priority)}
	if !p.RealTime() && p.Class != unix.SCHED_DEADLINE {
		// sched_setattr sets the nice value of the other classes too:
		// keep the thread's (vrrp_priority).
		n, err := ThreadNice(tid)
		if err != nil {
			return err
		}
		a.Nice = int32(n)
	}
	if p.ResetOnFork {
		a.Flags = unix.SCHED_FLAG_RESET_ON_FORK
	}
	if err := unix.SchedSetAttr(tid, &a, 0); err != nil {
		return fmt.Errorf("sched_setattr %d to %v: %w", tid, p, err)
	}
	return nil
}

// Threads lists the thread ids of process pid (0: this process).
func Threads(pid int) ([]int, error) {
	dir := "/proc/self/task"
	if pid != 0 {
		dir = "/proc/" + strconv.Itoa(pid) + "/task"
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list threads: %w", err)
	}
	tids := make([]int, 0, len(ents))
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

// SetThreads gives every thread of this process policy p, repeating until
// a pass finds every thread already at p, and returns how many threads
// there were. A thread that exits meanwhile is not an error.
func SetThreads(p Policy) (int, error) {
	return eachThread(func(tid int) (bool, error) {
		cur, err := ThreadPolicy(tid)
		return cur == p, err
	}, func(tid int) error { return setThread(tid, p) })
}

// eachThread makes every thread of this process satisfy done, calling set
// on those that do not, pass after pass until one finds none to change
// among the same threads as the pass before (threads created during a
// pass are cloned from threads already changed, or seen by the next pass;
// a clone that started from a thread not yet changed and completes after
// a pass listed the threads shows up in the next listing). It returns how
// many threads the last pass saw. A thread that exits meanwhile (ESRCH)
// is skipped.
func eachThread(done func(tid int) (bool, error), set func(tid int) error) (int, error) {
	var prev []int
	for pass := 0; pass < maxPasses; pass++ {
		tids, err := Threads(0)
		if err != nil {
			return 0, err
		}
		same := slices.Equal(tids, prev)
		prev = tids
		changed := 0
		for _, tid := range tids {
			ok, err := done(tid)
			if errors.Is(err, unix.ESRCH) {
				continue
			}
			if err != nil {
				return len(tids), err
			}
			if ok {
				continue
			}
			if err := set(tid); err != nil {
				if errors.Is(err, unix.ESRCH) {
					continue
				}
				return len(tids), err
			}
			changed++
		}
		if changed == 0 && same {
			return len(tids), nil
		}
	}
	return 0, fmt.Errorf("threads still changing after %d passes over /proc/self/task", maxPasses)
}

// StartCommand starts cmd so that it does not inherit the real-time
// policy, nice value or CPU affinity Apply set (see NormalChildren), as
// keepalived's scripts do not. Note: with cmd.SysProcAttr.Pdeathsig, the
// child gets the signal when the thread that forked it exits;
// StartCommand forks on a thread of its own that lives on after it
// returns, like any thread of the runtime, and is not tied to the
// caller's.
func StartCommand(cmd *exec.Cmd) error {
	type result struct{ err error }
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		restore, err := NormalChildren()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err}
			return
		}
		err = cmd.Start()
		if rerr := restore(); rerr != nil {
			// Stay locked: the thread exits with this goroutine.
			ch <- result{errors.Join(err, rerr)}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{err}
	}()
	return (<-ch).err
}
