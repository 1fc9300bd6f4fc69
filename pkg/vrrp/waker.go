package vrrp

import (
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// waker is an instance's timer: C fires once at or after the deadline
// given to Arm. It may also fire early or stale (a re-armed timerfd whose
// old expiry was already read): the runner checks the time on every wake
// and re-arms when the deadline is still ahead.
type waker interface {
	C() <-chan struct{}
	Arm(deadline time.Time)
	Stop()
	Close()
}

// newWaker returns the timerfd waker when precise is set and the kernel
// gives one, else Go's timer.
func newWaker(precise bool) waker {
	if precise {
		if w, err := newFDWaker(); err == nil {
			return w
		}
	}
	return newGoWaker()
}

// goWaker is Go's runtime timer. Its expiries are late by up to a
// millisecond (the runtime sleeps in epoll_pwait with a millisecond
// timeout) and, on long waits, by up to 0.1% of the wait (Linux's slack
// for an ordinary task's epoll timeout, select_estimate_accuracy: 3.3 ms
// on a 3.3 s master-down timer). Long waits are cut in two (earlyWake) to
// avoid the second. It runs under testing/synctest's virtual time, which
// the timerfd does not.
type goWaker struct {
	t  *time.Timer
	ch chan struct{}
}

func newGoWaker() *goWaker {
	w := &goWaker{ch: make(chan struct{}, 1)}
	w.t = time.AfterFunc(time.Hour, func() {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	})
	w.t.Stop()
	return w
}

func (w *goWaker) C() <-chan struct{} { return w.ch }

func (w *goWaker) Arm(deadline time.Time) {
	left := time.Until(deadline)
	w.t.Reset(left - earlyWake(left))
}

func (w *goWaker) Stop()  { w.t.Stop() }
func (w *goWaker) Close() { w.t.Stop() }

// earlyWake is how long before a far deadline a goWaker first fires; the
// runner then waits out the rest, which is short enough to be stretched
// by microseconds only. Short waits (advert_int 0.01) go in one.
func earlyWake(left time.Duration) time.Duration {
	if left < 100*time.Millisecond {
		return 0
	}
	return left/500 + 100*time.Microsecond
}

// fdWaker is a timerfd on CLOCK_MONOTONIC (the clock Go's monotonic
// readings come from), armed with an absolute expiry and read through the
// runtime's netpoller: epoll wakes on the descriptor becoming readable,
// with the kernel's high-resolution timer behind it, so neither the
// millisecond rounding of the runtime's sleeps nor the epoll timeout's
// slack applies (measured here: 0.12 ms late at the median on a 360 ms
// wait, where Go's timer was 0.53 ms late).
type fdWaker struct {
	fd   int
	f    *os.File
	ch   chan struct{}
	once sync.Once
}

func newFDWaker() (*fdWaker, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	w := &fdWaker{fd: fd, f: os.NewFile(uintptr(fd), "timerfd"), ch: make(chan struct{}, 1)}
	go w.read()
	return w, nil
}

// read turns expiries into wakes until the descriptor is closed.
func (w *fdWaker) read() {
	var buf [8]byte // the expiry count
	for {
		if _, err := w.f.Read(buf[:]); err != nil {
			return
		}
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}

func (w *fdWaker) C() <-chan struct{} { return w.ch }

func (w *fdWaker) Arm(deadline time.Time) {
	var now unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &now) != nil {
		return
	}
	at := now.Nano() + int64(time.Until(deadline))
	if at <= now.Nano() {
		at = now.Nano() + 1 // zero would disarm it
	}
	its := unix.ItimerSpec{Value: unix.NsecToTimespec(at)}
	unix.TimerfdSettime(w.fd, unix.TFD_TIMER_ABSTIME, &its, nil)
}

func (w *fdWaker) Stop() {
	var off unix.ItimerSpec
	unix.TimerfdSettime(w.fd, 0, &off, nil)
}

func (w *fdWaker) Close() { w.once.Do(func() { w.f.Close() }) }
