package vrrp

import (
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// waker is an instance's timer. One of its two channels delivers a wake
// at or after the deadline given to Arm: short for Go's timer, long for
// the timerfd (nil, never ready, without one). A wake may also come early
// (earlyWake) or stale (a timerfd re-armed after its old expiry was
// read): the runner checks the time on every wake and re-arms when the
// deadline is still ahead.
type waker struct {
	t     *time.Timer
	short <-chan time.Time

	// The timerfd, for waits of preciseFrom and longer, opened at the
	// first such wait (at advert_int 0.01 there is none); fd < 0 before,
	// or without one.
	precise bool
	fd      int
	f       *os.File
	long    chan struct{}
	fdArmed bool // the timerfd has an expiry set (owned by the caller)
	once    sync.Once
}

// preciseFrom is the shortest wait a waker gives to its timerfd. Shorter
// waits go to Go's timer: Linux's slack on them is at most 100 µs, and a
// timerfd costs syscalls and a goroutine hand-off on every arm and every
// expiry, which at advert_int 0.01 (100 arms a second per instance) more
// than tripled the CPU of a backup following 200 instances.
const preciseFrom = 100 * time.Millisecond

// newWaker returns a waker; with precise set, long waits go to a timerfd
// when the kernel gives one.
//
// Go's runtime timer is late by up to a millisecond (the runtime sleeps
// in epoll_pwait with a millisecond timeout) and, on long waits, by up to
// 0.1% of the wait (Linux's slack for an ordinary task's epoll timeout,
// select_estimate_accuracy: 3.3 ms on a 3.3 s master-down timer); long
// waits on it are cut in two (earlyWake) against the second. It runs
// under testing/synctest's virtual time, which the timerfd does not.
//
// The timerfd is on CLOCK_MONOTONIC, armed relative to now and read
// through the runtime's netpoller: epoll wakes on the descriptor becoming
// readable, with the kernel's high-resolution timer behind it, so neither
// the millisecond rounding nor the slack applies (measured here: 0.12 ms
// late at the median on a 360 ms wait, where Go's timer was 0.53 ms late).
func newWaker(precise bool) *waker {
	w := &waker{t: time.NewTimer(time.Hour), fd: -1, precise: precise}
	w.t.Stop()
	w.short = w.t.C
	return w
}

// openFD opens the timerfd and its reader once; false when it cannot be
// had (Go's timer serves then).
func (w *waker) openFD() bool {
	if w.fd >= 0 {
		return true
	}
	if !w.precise {
		return false
	}
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		w.precise = false
		return false
	}
	w.fd, w.f, w.long = fd, os.NewFile(uintptr(fd), "timerfd"), make(chan struct{}, 1)
	go w.read()
	return true
}

// read turns the timerfd's expiries into wakes until it is closed.
func (w *waker) read() {
	var buf [8]byte // the expiry count
	for {
		if _, err := w.f.Read(buf[:]); err != nil {
			return
		}
		select {
		case w.long <- struct{}{}:
		default:
		}
	}
}

func (w *waker) Arm(deadline time.Time) {
	left := time.Until(deadline)
	if left >= preciseFrom && w.openFD() && w.armFD(left) {
		w.t.Stop()
		return
	}
	w.disarmFD()
	w.t.Reset(left - earlyWake(left))
}

// armFD sets the timerfd to expire left from now (relative: the kernel
// adds its own clock, no clock read here).
func (w *waker) armFD(left time.Duration) bool {
	its := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(left))}
	if unix.TimerfdSettime(w.fd, 0, &its, nil) != nil {
		return false
	}
	w.fdArmed = true
	return true
}

func (w *waker) disarmFD() {
	if w.fdArmed {
		var off unix.ItimerSpec
		unix.TimerfdSettime(w.fd, 0, &off, nil)
		w.fdArmed = false
	}
}

func (w *waker) Stop() {
	w.t.Stop()
	w.disarmFD()
}

func (w *waker) Close() {
	w.Stop()
	if w.f != nil {
		w.once.Do(func() { w.f.Close() })
	}
}

// earlyWake is how long before a far deadline Go's timer first fires;
// the runner then waits out the rest, which is short enough to be
// stretched by microseconds only. Short waits (advert_int 0.01) go in
// one.
func earlyWake(left time.Duration) time.Duration {
	if left < 100*time.Millisecond {
		return 0
	}
	return left/500 + 100*time.Microsecond
}
