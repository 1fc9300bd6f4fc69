package vrrp

import (
	"testing"
	"time"
)

// Both wakers fire once the deadline has passed (never before it: the
// runner re-arms on an early wake, so the check here is the runner's),
// re-arm to a new deadline, and stay quiet when stopped.
func TestWakers(t *testing.T) {
	for name, w := range map[string]waker{"go": newGoWaker(), "timerfd": mustFDWaker(t)} {
		t.Run(name, func(t *testing.T) {
			defer w.Close()
			for _, d := range []time.Duration{time.Millisecond, 20 * time.Millisecond, 150 * time.Millisecond} {
				deadline := time.Now().Add(d)
				w.Arm(deadline)
				for {
					<-w.C()
					if !time.Now().Before(deadline) {
						break
					}
					w.Arm(deadline) // early wake (goWaker's first stage)
				}
			}
			w.Arm(time.Now().Add(20 * time.Millisecond))
			w.Arm(time.Now().Add(time.Hour)) // re-armed: the first deadline is gone
			w.Stop()
			select {
			case <-w.C():
				t.Fatal("woke after Stop")
			case <-time.After(100 * time.Millisecond):
			}
		})
	}
}

func mustFDWaker(t *testing.T) waker {
	w, err := newFDWaker()
	if err != nil {
		t.Fatalf("timerfd: %v", err)
	}
	return w
}
