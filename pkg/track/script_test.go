package track

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/pkg/script"
)

// recorder collects updates.
type recorder struct {
	mu sync.Mutex
	us []Update
}

func (r *recorder) add(u Update) {
	r.mu.Lock()
	r.us = append(r.us, u)
	r.mu.Unlock()
}

func (r *recorder) all() []Update {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Update(nil), r.us...)
}

func (r *recorder) states() []State {
	var out []State
	for _, u := range r.all() {
		out = append(out, u.State)
	}
	return out
}

func result(ok bool) script.Result {
	if ok {
		return script.Result{Outcome: script.OutcomeSuccess}
	}
	return script.Result{Outcome: script.OutcomeFailure, ExitCode: 1}
}

func TestScriptTrackerRiseFall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Results in order: ok, fail, fail (down, fall 2), ok, ok (up, rise 2).
		seq := []bool{true, false, false, true, true}
		var mu sync.Mutex
		runs := 0
		rec := &recorder{}
		tr, err := NewScriptTracker(ScriptOptions{
			Name: "chk", Command: script.Command{Args: []string{"/bin/true"}},
			Interval: 2 * time.Second, Rise: 2, Fall: 2,
			Exec: func(ctx context.Context, j script.Job) script.Result {
				mu.Lock()
				defer mu.Unlock()
				if j.Timeout != 2*time.Second {
					t.Errorf("timeout %v, want the interval", j.Timeout)
				}
				i := runs
				runs++
				if i >= len(seq) {
					return result(true)
				}
				return result(seq[i])
			},
			OnUpdate: rec.add,
		})
		if err != nil {
			t.Fatal(err)
		}
		if tr.State() != StateInit {
			t.Fatalf("state before first run %v", tr.State())
		}
		ctx, cancel := context.WithCancel(t.Context())
		tr.Start(ctx)
		synctest.Wait()
		if tr.State() != StateUp {
			t.Fatalf("after the first run: %v, want up (first result decides)", tr.State())
		}
		time.Sleep(2 * 2 * time.Second) // two more runs: fail, fail
		synctest.Wait()
		if tr.State() != StateDown {
			t.Fatalf("after two failures: %v, want down", tr.State())
		}
		time.Sleep(2 * 2 * time.Second) // ok, ok
		synctest.Wait()
		cancel()
		tr.Wait()
		want := []State{StateUp, StateDown, StateUp}
		if got := rec.states(); !equalStates(got, want) {
			t.Errorf("updates %v, want %v", got, want)
		}
	})
}

func equalStates(a, b []State) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestScriptTrackerOneRunAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		running, maxRunning, runs := 0, 0, 0
		tr, err := NewScriptTracker(ScriptOptions{
			Name: "slow", Command: script.Command{Args: []string{"/bin/true"}},
			Interval: time.Second, Timeout: 10 * time.Second,
			Exec: func(ctx context.Context, j script.Job) script.Result {
				mu.Lock()
				running++
				runs++
				maxRunning = max(maxRunning, running)
				mu.Unlock()
				select {
				case <-release:
				case <-ctx.Done():
				}
				mu.Lock()
				running--
				mu.Unlock()
				return result(true)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		tr.Start(ctx)
		time.Sleep(5500 * time.Millisecond) // five ticks while the first run hangs
		synctest.Wait()
		mu.Lock()
		if runs != 1 || maxRunning != 1 {
			t.Errorf("runs %d, max concurrent %d; want 1 and 1 (ticks skipped)", runs, maxRunning)
		}
		mu.Unlock()
		close(release)
		time.Sleep(time.Second)
		synctest.Wait()
		mu.Lock()
		if runs != 2 {
			t.Errorf("runs %d after release, want 2", runs)
		}
		mu.Unlock()
		cancel()
		tr.Wait()
	})
}

func TestScriptTrackerInitFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr, err := NewScriptTracker(ScriptOptions{
			Name: "chk", Command: script.Command{Args: []string{"/bin/true"}}, InitFail: true, Rise: 2,
			Exec:     func(context.Context, script.Job) script.Result { return result(true) },
			OnUpdate: rec.add,
		})
		if err != nil {
			t.Fatal(err)
		}
		if tr.State() != StateDown {
			t.Fatalf("init_fail state %v, want down", tr.State())
		}
		ctx, cancel := context.WithCancel(t.Context())
		tr.Start(ctx)
		synctest.Wait()
		if tr.State() != StateDown {
			t.Errorf("after one success: %v, want still down (rise 2)", tr.State())
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if tr.State() != StateUp {
			t.Errorf("after two successes: %v, want up", tr.State())
		}
		cancel()
		tr.Wait()
	})
}

// TestScriptTrackerReal runs a real script whose exit status a file
// controls, with a timeout that a hanging run hits.
func TestScriptTrackerReal(t *testing.T) {
	dir := t.TempDir()
	ctl := filepath.Join(dir, "ctl")
	os.WriteFile(ctl, []byte("0"), 0o644)
	rec := &recorder{}
	tr, err := NewScriptTracker(ScriptOptions{
		Name: "chk_ctl",
		// exit with the number in ctl; "hang" makes it sleep past its timeout.
		Command:  script.Command{Args: []string{"/bin/sh", "-c", `v=$(cat "$1"); [ "$v" = hang ] && exec sleep 1000; exit "$v"`, "sh", ctl}},
		Interval: 100 * time.Millisecond, Timeout: 500 * time.Millisecond,
		Runner:   script.NewRunner(script.Options{KillGrace: 100 * time.Millisecond}),
		OnUpdate: rec.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer func() { cancel(); tr.Wait() }()
	tr.Start(ctx)
	waitState := func(want State) {
		t.Helper()
		netns.Eventually(t, 30*time.Second, "script "+want.String(), func() error {
			if s := tr.State(); s != want {
				return errorf("state %v", s)
			}
			return nil
		})
	}
	waitState(StateUp)
	os.WriteFile(ctl, []byte("1"), 0o644)
	waitState(StateDown)
	os.WriteFile(ctl, []byte("0"), 0o644)
	waitState(StateUp)
	os.WriteFile(ctl, []byte("hang"), 0o644) // a timeout is a failure
	waitState(StateDown)
	got := rec.states()
	want := []State{StateUp, StateDown, StateUp, StateDown}
	if !equalStates(got, want) {
		t.Errorf("updates %v, want %v", got, want)
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
