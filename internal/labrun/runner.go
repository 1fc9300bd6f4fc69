// Package labrun runs internal/netns labs outside "go test": for the
// failover benchmark (bench/failover) and "make demo" (examples/demo). It
// adapts a program to the testing.TB that internal/netns wants (Runner),
// and adds what both programs share: a pair of VRRP nodes and a client on
// one bridge, lbd or Debian's keepalived on the nodes, a UDP echo server
// on each node answering with its name, and a client that probes the VIP
// every millisecond and tells who answers (Prober).
package labrun

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"testing"
)

// Runner is a testing.TB for a program. Fatal and FailNow panic, and Run
// turns the panic into an error; Cleanup functions run, last first, when
// Run returns or Close is called (from a signal handler too). Only the
// methods internal/netns calls are implemented: the embedded TB is nil,
// and any other method panics.
type Runner struct {
	testing.TB

	// LogFunc, if set, receives Log and Logf lines.
	LogFunc func(format string, args ...any)

	mu       sync.Mutex
	cleanups []func()
	failed   bool
	closed   bool
	tmp      string
	ntmp     int
}

// fatal is the panic value of Fatalf.
type fatal struct{ msg string }

// NewRunner returns a Runner whose temporary files live under one
// directory, removed by Close.
func NewRunner(logf func(format string, args ...any)) (*Runner, error) {
	dir, err := os.MkdirTemp("", "lbd-lab-")
	if err != nil {
		return nil, err
	}
	r := &Runner{LogFunc: logf, tmp: dir}
	r.Cleanup(func() { os.RemoveAll(dir) })
	return r, nil
}

// Run calls fn and returns its error, or the message of a Fatal inside
// it. A panic other than Fatal's is returned with its stack. The
// cleanups run before Run returns.
func (r *Runner) Run(fn func() error) (err error) {
	defer r.Close()
	defer func() {
		if p := recover(); p != nil {
			if f, ok := p.(fatal); ok {
				err = fmt.Errorf("%s", f.msg)
				return
			}
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return fn()
}

// Close runs the cleanups, last registered first, once. Safe to call
// from another goroutine (a signal handler): the cleanups stop the
// processes and remove the namespaces whatever the main goroutine is
// doing, and the program should exit right after.
func (r *Runner) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	fns := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		func() {
			defer func() {
				if p := recover(); p != nil {
					r.Logf("cleanup: %v", p)
				}
			}()
			fns[i]()
		}()
	}
}

func (r *Runner) Helper() {}

func (r *Runner) Cleanup(fn func()) {
	r.mu.Lock()
	closed := r.closed
	if !closed {
		r.cleanups = append(r.cleanups, fn)
	}
	r.mu.Unlock()
	if closed {
		// Registered after Close began (a race with a signal): run now.
		fn()
	}
}

func (r *Runner) Log(args ...any) { r.Logf("%s", fmt.Sprint(args...)) }

func (r *Runner) Logf(format string, args ...any) {
	if r.LogFunc != nil {
		r.LogFunc(format, args...)
	}
}

func (r *Runner) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

func (r *Runner) Errorf(format string, args ...any) {
	r.Fail()
	r.Logf(format, args...)
}

func (r *Runner) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

func (r *Runner) Fatalf(format string, args ...any) {
	r.Fail()
	panic(fatal{fmt.Sprintf(format, args...)})
}

func (r *Runner) Fail() {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
}

func (r *Runner) FailNow() { r.Fatalf("failed") }

func (r *Runner) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *Runner) Name() string { return "lab" }

func (r *Runner) Skip(args ...any) { r.Fatal(args...) }

func (r *Runner) Skipf(format string, args ...any) { r.Fatalf(format, args...) }

func (r *Runner) SkipNow() { r.Fatalf("skipped") }

func (r *Runner) Skipped() bool { return false }

// TempDir returns a new directory under the Runner's own.
func (r *Runner) TempDir() string {
	r.mu.Lock()
	r.ntmp++
	n := r.ntmp
	r.mu.Unlock()
	dir := filepath.Join(r.tmp, fmt.Sprintf("%03d", n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.Fatalf("temp dir: %v", err)
	}
	return dir
}
