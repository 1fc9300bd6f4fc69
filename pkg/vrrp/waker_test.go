package vrrp

import (
	"testing"
	"time"
)

// Both wakers fire once the deadline has passed (never before it: the
// runner re-arms on an early wake, so the check here is the runner's),
// re-arm to a new deadline, and stay quiet when stopped.
func TestWakers(t *testing.T) {
	for name, w := range map[string]*waker{"go": newWaker(false), "timerfd": mustFDWaker(t)} {
		t.Run(name, func(t *testing.T) {
			defer w.Close()
			for _, d := range []time.Duration{time.Millisecond, 20 * time.Millisecond, 150 * time.Millisecond} {
				deadline := time.Now().Add(d)
				w.Arm(deadline)
				for {
					w.wait()
					if !time.Now().Before(deadline) {
						break
					}
					w.Arm(deadline) // early wake (earlyWake)
				}
			}
			// A long wait cut short by a short one (the timerfd's expiry
			// handed back to Go's timer), and the other way round.
			w.Arm(time.Now().Add(time.Hour))
			w.Arm(time.Now().Add(5 * time.Millisecond))
			select {
			case <-w.short:
			case <-w.long:
			case <-time.After(time.Minute):
				t.Fatal("no wake for a short wait that replaced a long one")
			}
			w.Arm(time.Now().Add(20 * time.Millisecond))
			w.Arm(time.Now().Add(time.Hour)) // re-armed: the first deadline is gone
			w.Stop()
			select {
			case <-w.short:
				t.Fatal("woke after Stop")
			case <-w.long:
				t.Fatal("woke after Stop")
			case <-time.After(100 * time.Millisecond):
			}
		})
	}
}

func mustFDWaker(t *testing.T) *waker {
	w := newWaker(true)
	if !w.openFD() {
		t.Fatal("no timerfd")
	}
	return w
}

func (w *waker) wait() {
	select {
	case <-w.short:
	case <-w.long:
	}
}
