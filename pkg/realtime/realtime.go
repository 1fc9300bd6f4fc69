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
package realtime

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
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
	// 1..99). 0 leaves the scheduling alone, and Apply does nothing but
	// register the metrics.
	Priority int
	// RTTime is keepalived's vrrp_rlimit_rttime: the CPU time a thread
	// may use without blocking before lbd is warned (SIGXCPU, logged and
	// counted). 0 sets no limit. Only applied with Priority.
	RTTime time.Duration
	// Logger gets one Info line when real-time scheduling is on, and a
	// Warn line per SIGXCPU; nil discards.
	Logger *slog.Logger
	// Registerer, if set, gets lbd_realtime_priority and
	// lbd_realtime_rttime_exceeded_total.
	Registerer prometheus.Registerer
}

// Scheduler is the real-time state Apply left. Close stops watching for
// SIGXCPU; the threads keep their policy.
type Scheduler struct {
	log      *slog.Logger
	priority int
	threads  int
	rttime   time.Duration

	prio     prometheus.Gauge
	exceeded prometheus.Counter
	nexceed  atomic.Uint64

	sigs chan os.Signal
	done chan struct{}
	once sync.Once
}

// Apply switches every thread of the process to SCHED_RR at
// opts.Priority and sets RLIMIT_RTTIME (see the package documentation).
// It returns a usable Scheduler also with an error (scheduling unchanged,
// or changed on some threads only): keepalived logs such a failure and
// runs on, and so should the caller.
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
		done: make(chan struct{}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{s.prio, s.exceeded} {
			if err := opts.Registerer.Register(c); err != nil {
				return s, fmt.Errorf("register realtime metrics: %w", err)
			}
		}
	}
	if opts.Priority == 0 {
		close(s.done)
		return s, nil
	}
	if opts.Priority < MinPriority || opts.Priority > MaxPriority {
		close(s.done)
		return s, fmt.Errorf("real-time priority %d: want %d..%d", opts.Priority, MinPriority, MaxPriority)
	}
	if opts.RTTime < 0 {
		close(s.done)
		return s, fmt.Errorf("rlimit rttime %v: negative", opts.RTTime)
	}
	// The limit first: no thread runs real-time without it.
	if opts.RTTime > 0 {
		s.sigs = make(chan os.Signal, 1)
		signal.Notify(s.sigs, syscall.SIGXCPU)
		if err := setRTTime(opts.RTTime); err != nil {
			signal.Stop(s.sigs)
			close(s.done)
			return s, err
		}
		s.rttime = opts.RTTime
		go s.watch()
	} else {
		close(s.done)
	}
	n, err := SetThreads(Policy{Class: unix.SCHED_RR, Priority: opts.Priority})
	s.threads = n
	if err != nil {
		return s, err
	}
	s.priority = opts.Priority
	s.prio.Set(float64(opts.Priority))
	s.log.Info("real-time scheduling", "policy", "SCHED_RR", "priority", opts.Priority, "threads", n,
		"rlimit_rttime", opts.RTTime.String())
	return s, nil
}

// Priority is the SCHED_RR priority applied; 0 when none.
func (s *Scheduler) Priority() int { return s.priority }

// Threads is the number of threads Apply found (and switched).
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
	for pass := 0; pass < maxPasses; pass++ {
		tids, err := Threads(0)
		if err != nil {
			return 0, err
		}
		changed := 0
		for _, tid := range tids {
			cur, err := ThreadPolicy(tid)
			if errors.Is(err, unix.ESRCH) {
				continue
			}
			if err != nil {
				return len(tids), err
			}
			if cur == p {
				continue
			}
			if err := setThread(tid, p); err != nil {
				if errors.Is(err, unix.ESRCH) {
					continue
				}
				return len(tids), err
			}
			changed++
		}
		if changed == 0 {
			return len(tids), nil
		}
	}
	return 0, fmt.Errorf("threads still changing after %d passes over /proc/self/task", maxPasses)
}

// NormalChildren makes the processes the calling thread forks until
// restore start under SCHED_OTHER (SCHED_RESET_ON_FORK), when the thread
// runs real-time; otherwise it does nothing. The caller must hold its
// goroutine on the thread (runtime.LockOSThread) from before NormalChildren
// until after restore, and must not start goroutines in between that
// could create threads from this one (the Go runtime clones new threads
// through its template thread while the current one is locked).
//
// An error from restore means the thread could not be put back: keep the
// goroutine locked until it exits, so that the runtime discards the
// thread.
func NormalChildren() (restore func() error, err error) {
	cur, err := ThreadPolicy(0)
	if err != nil {
		return nil, err
	}
	if !cur.RealTime() || cur.ResetOnFork {
		return func() error { return nil }, nil
	}
	reset := cur
	reset.ResetOnFork = true
	if err := setThread(0, reset); err != nil {
		return nil, err
	}
	return func() error { return setThread(0, cur) }, nil
}

// StartCommand starts cmd so that it does not inherit a real-time policy
// (see NormalChildren), as keepalived's SCHED_RESET_ON_FORK does for its
// scripts. Note: with cmd.SysProcAttr.Pdeathsig, the child gets the
// signal when the thread that forked it exits; StartCommand forks on a
// thread of its own that lives on after it returns, like any thread of
// the runtime, and is not tied to the caller's.
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
