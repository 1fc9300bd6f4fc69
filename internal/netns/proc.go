package netns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// RunTimeout bounds Run and MustRun.
const RunTimeout = 30 * time.Second

// Command returns a command that runs name inside the host through `ip
// netns exec` (so /sys shows the namespace's devices, as for a human
// debugging with the same command). The child gets SIGKILL if the test
// process dies.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.ns, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Run runs a short command in the host and returns its combined output.
// The error, if any, carries the output too.
func (h *Host) Run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel()
	out, err := h.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %s %s: %w: %s", h.name, name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// MustRun is Run that fails the test on error.
func (h *Host) MustRun(name string, args ...string) string {
	h.lab.t.Helper()
	out, err := h.Run(name, args...)
	if err != nil {
		h.lab.t.Fatalf("netns: %v", err)
	}
	return out
}

// Proc is a long-running process started in a host by Start. At cleanup
// it gets SIGTERM, then SIGKILL after the lab's StopGrace; its output is in
// files under t.TempDir(), and the tail of it is logged when the test
// failed.
type Proc struct {
	Cmd    *exec.Cmd
	name   string
	stdout string
	stderr string
	done   chan struct{}
	err    error // valid after done is closed
	grace  time.Duration
	// term asks the process to stop; nil sends SIGTERM to the group.
	term func()
}

// Start starts name in the host, in a process group of its own, with
// stdout and stderr written to files. It fails the test if the program
// cannot be started.
func (h *Host) Start(name string, args ...string) *Proc {
	t := h.lab.t
	t.Helper()
	p, err := h.start(name, args, nil)
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	return p
}

func (h *Host) start(name string, args []string, env []string) (*Proc, error) {
	t := h.lab.t
	h.mu.Lock()
	h.nproc++
	n := h.nproc
	h.mu.Unlock()
	base := filepath.Join(t.TempDir(), fmt.Sprintf("%s-%d-%s", h.name, n, filepath.Base(name)))
	p := &Proc{
		name:   fmt.Sprintf("%s:%s", h.name, filepath.Base(name)),
		stdout: base + ".stdout",
		stderr: base + ".stderr",
		done:   make(chan struct{}),
		grace:  h.lab.opts.StopGrace,
	}
	so, err := os.Create(p.stdout)
	if err != nil {
		return nil, err
	}
	se, err := os.Create(p.stderr)
	if err != nil {
		so.Close()
		return nil, err
	}
	cmd := h.Command(context.Background(), name, args...)
	cmd.SysProcAttr.Setpgid = true
	cmd.Stdout, cmd.Stderr = so, se
	if env != nil {
		cmd.Env = env
	}
	if err := cmd.Start(); err != nil {
		so.Close()
		se.Close()
		return nil, fmt.Errorf("start %s in %s: %w", name, h.name, err)
	}
	so.Close()
	se.Close()
	p.Cmd = cmd
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("netns: %s (pid %d) %s; stdout:\n%s\nstderr:\n%s", p.name, p.Pid(), p.exitString(),
				tail(p.Stdout(), 4096), tail(p.Stderr(), 4096))
		}
	})
	return p, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// Pid is the process id (of the program itself: `ip netns exec` execs it).
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited, and how.
func (p *Proc) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

func (p *Proc) exitString() string {
	if ok, err := p.Exited(); ok {
		if err != nil {
			return "exited: " + err.Error()
		}
		return "exited: status 0"
	}
	return "still running"
}

// Signal sends sig to the process's whole group.
func (p *Proc) Signal(sig syscall.Signal) error {
	if ok, _ := p.Exited(); ok {
		return os.ErrProcessDone
	}
	return syscall.Kill(-p.Pid(), sig)
}

// Wait waits for the process to exit, at most timeout, and returns its
// exit error.
func (p *Proc) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("%s (pid %d) still running after %v", p.name, p.Pid(), timeout)
	}
}

// Stop sends SIGTERM to the process group, waits up to the lab's
// StopGrace, then sends SIGKILL; it returns the exit error (nil when the
// process exited 0 on SIGTERM, or had already exited 0).
func (p *Proc) Stop() error {
	if ok, err := p.Exited(); ok {
		return err
	}
	if p.term != nil {
		p.term()
	} else {
		p.Signal(syscall.SIGTERM)
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(p.grace):
	}
	return p.Kill()
}

// Kill sends SIGKILL to the process group and waits for the exit.
func (p *Proc) Kill() error {
	if ok, err := p.Exited(); ok {
		return err
	}
	syscall.Kill(-p.Pid(), syscall.SIGKILL)
	<-p.done
	return p.err
}

// Stdout returns what the process wrote to stdout so far.
func (p *Proc) Stdout() string { b, _ := os.ReadFile(p.stdout); return string(b) }

// Stderr returns what the process wrote to stderr so far.
func (p *Proc) Stderr() string { b, _ := os.ReadFile(p.stderr); return string(b) }

// Output returns stdout followed by stderr.
func (p *Proc) Output() string { return p.Stdout() + p.Stderr() }

// OutputFiles returns the paths of the stdout and stderr files.
func (p *Proc) OutputFiles() (stdout, stderr string) { return p.stdout, p.stderr }

// WaitOutput waits until the process's output contains substr, and fails
// if the deadline passes or the process exits first.
func (p *Proc) WaitOutput(substr string, timeout time.Duration) error {
	err := Poll(timeout, func() error {
		if strings.Contains(p.Output(), substr) {
			return nil
		}
		if ok, err := p.Exited(); ok {
			return stopPolling{fmt.Errorf("%s exited (%v) before printing %q", p.name, err, substr)}
		}
		return fmt.Errorf("%s has not printed %q", p.name, substr)
	})
	return err
}

var errStop = errors.New("stop polling")

// stopPolling wraps an error that ends Poll at once.
type stopPolling struct{ err error }

func (s stopPolling) Error() string { return s.err.Error() }
func (s stopPolling) Unwrap() error { return s.err }
func (s stopPolling) Is(target error) bool {
	return target == errStop
}
