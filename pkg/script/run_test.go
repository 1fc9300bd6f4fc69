package script

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/testutil"
)

func sh(script string) Command {
	return Command{Args: []string{"/bin/sh", "-c", script, "sh"}}
}

func TestRunOutcomes(t *testing.T) {
	r := NewRunner(Options{})
	ctx := context.Background()
	dir := t.TempDir()
	noShebang := filepath.Join(dir, "noshebang")
	if err := os.WriteFile(noShebang, []byte("exit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cmd  Command
		want Outcome
		code int
		sig  syscall.Signal
	}{
		{"success", Command{Args: []string{"/bin/true"}}, OutcomeSuccess, 0, 0},
		{"bare name on PATH", Command{Args: []string{"true"}}, OutcomeSuccess, 0, 0},
		{"failure", sh("exit 3"), OutcomeFailure, 3, 0},
		{"signaled", sh("kill -USR1 $$"), OutcomeSignaled, -1, syscall.SIGUSR1},
		{"missing", Command{Args: []string{filepath.Join(dir, "missing")}}, OutcomeExecError, -1, 0},
		{"not on PATH", Command{Args: []string{"lbd-no-such-program"}}, OutcomeExecError, -1, 0},
		{"no shebang", Command{Args: []string{noShebang}}, OutcomeExecError, -1, 0},
		{"redirect test, file exists", Command{Args: []string{"</etc/passwd"}, Shell: true}, OutcomeSuccess, 0, 0},
		{"redirect test, file missing", Command{Args: []string{"<" + filepath.Join(dir, "nope")}, Shell: true}, OutcomeFailure, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := r.Run(ctx, Job{Name: tc.name, Command: tc.cmd, Timeout: time.Minute})
			if res.Outcome != tc.want || res.ExitCode != tc.code || res.Signal != tc.sig {
				t.Errorf("Run = %v (outcome %v, code %d, signal %v, err %v); want %v, code %d, signal %v",
					res, res.Outcome, res.ExitCode, res.Signal, res.Err, tc.want, tc.code, tc.sig)
			}
			if res.OK() != (tc.want == OutcomeSuccess) {
				t.Errorf("OK() = %v", res.OK())
			}
		})
	}
}

func TestRunArgsAndOutput(t *testing.T) {
	r := NewRunner(Options{OutputLimit: 16})
	res := r.Run(context.Background(), Job{
		Command: Command{Args: []string{"/bin/sh", "-c", `printf '%s|' "$@"; echo err >&2; head -c 100 /dev/zero`, "sh", "a b"}},
		Args:    []string{"INSTANCE", "VI_1", "MASTER", "100"},
	})
	if !res.OK() {
		t.Fatalf("Run = %v", res)
	}
	if got, want := string(res.Stdout), "a b|INSTANCE|VI_"; got != want {
		t.Errorf("stdout = %q, want %q (first 16 bytes)", got, want)
	}
	if got := string(res.Stderr); got != "err\n" {
		t.Errorf("stderr = %q", got)
	}
	if !res.Truncated {
		t.Error("Truncated = false, want true")
	}
}

func TestRunShellQuoting(t *testing.T) {
	// keepalived's system() form single-quotes every word after the
	// redirection, so appended arguments cannot inject shell syntax.
	dir := t.TempDir()
	marker := filepath.Join(dir, "injected")
	res := NewRunner(Options{}).Run(context.Background(), Job{
		Command: Command{Args: []string{"</etc/passwd"}, Shell: true},
		Args:    []string{"; touch " + marker},
	})
	if res.Outcome != OutcomeFailure || res.ExitCode != 127 {
		t.Errorf("Run = %v, want exit 127 (no such command)", res)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the appended argument was run by the shell")
	}
}

// groupMembers lists the live (non-zombie) processes of process group pgid.
func groupMembers(pgid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // f[0] state, f[1] ppid, f[2] pgrp
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			out = append(out, pid)
		}
	}
	return out
}

func waitGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		left := groupMembers(pgid)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has live members %v", pgid, left)
		}
		time.Sleep(wait)
	}
}

func TestRunTimeoutKillsGroup(t *testing.T) {
	// The script starts a child that ignores SIGTERM, then sleeps. At the
	// timeout the group gets SIGTERM, then SIGKILL after the grace period:
	// nothing of it may survive.
	r := NewRunner(Options{KillGrace: 100 * time.Millisecond})
	ready := filepath.Join(t.TempDir(), "ready")
	res := r.Run(context.Background(), Job{
		Command: sh(`(trap '' TERM; touch ` + ready + `; exec sleep 1000) & trap '' TERM; sleep 1000; sleep 1000`),
		Timeout: 300 * time.Millisecond,
	})
	if res.Outcome != OutcomeTimeout {
		t.Fatalf("Run = %v, want timeout", res)
	}
	if res.Signal != syscall.SIGKILL {
		t.Errorf("leader ended by %v, want SIGKILL (it ignored SIGTERM)", res.Signal)
	}
	waitGroupGone(t, res.PID)
}

func TestRunTimeoutTermEnough(t *testing.T) {
	r := NewRunner(Options{KillGrace: time.Minute})
	res := r.Run(context.Background(), Job{Command: sh("sleep 1000 & sleep 1000"), Timeout: 200 * time.Millisecond})
	if res.Outcome != OutcomeTimeout || res.Signal != syscall.SIGTERM {
		t.Fatalf("Run = %v (signal %v), want timeout by SIGTERM", res, res.Signal)
	}
	waitGroupGone(t, res.PID)
}

func TestRunCanceled(t *testing.T) {
	r := NewRunner(Options{KillGrace: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Result, 1)
	r.Go(ctx, Job{Command: sh("echo started; exec sleep 1000")}, func(res Result) { done <- res })
	cancel()
	res := <-done
	if res.Outcome != OutcomeCanceled || !errors.Is(res.Err, context.Canceled) {
		t.Fatalf("Run = %v, want canceled", res)
	}
	if res.PID != 0 {
		waitGroupGone(t, res.PID)
	}
	r.Wait()
}

func TestRunBackgroundChildKeepsPipe(t *testing.T) {
	// A script that leaves a child holding stdout must not hang Run.
	r := NewRunner(Options{})
	res := r.Run(context.Background(), Job{Command: sh("sleep 1000 & echo hi")})
	t.Cleanup(func() { syscall.Kill(-res.PID, syscall.SIGKILL) })
	if !res.OK() || string(res.Stdout) != "hi\n" {
		t.Errorf("Run = %v, stdout %q", res, res.Stdout)
	}
}

func TestGoOrderAndConcurrencyBound(t *testing.T) {
	r := NewRunner(Options{MaxConcurrent: 1})
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	results := make(chan int, 5)
	for i := range 5 {
		// With one slot the jobs cannot overlap: each appends and checks
		// that it is alone.
		r.Go(context.Background(), Job{Command: sh(fmt.Sprintf(
			`[ -e %[1]s/busy ] && exit 9; touch %[1]s/busy; echo %[2]d >> %[3]s; rm %[1]s/busy`, dir, i, log))},
			func(res Result) {
				if !res.OK() {
					t.Errorf("job %d: %v", i, res)
				}
				results <- i
			})
	}
	r.Wait()
	close(results)
	n := 0
	for range results {
		n++
	}
	if n != 5 {
		t.Fatalf("%d callbacks, want 5", n)
	}
	b, _ := os.ReadFile(log)
	if lines := strings.Fields(string(b)); len(lines) != 5 {
		t.Errorf("log %q: want 5 lines", b)
	}
}

func TestRunAsUser(t *testing.T) {
	testutil.RequireRoot(t)
	nobody, err := LookupUser("nobody", "")
	if err != nil {
		testutil.Skip(t, "needs user nobody: "+err.Error())
	}
	res := NewRunner(Options{}).Run(context.Background(), Job{
		Command: Command{Args: []string{"/bin/sh", "-c", "id -u; id -g; id -G"}, User: &nobody},
	})
	if !res.OK() {
		t.Fatalf("Run = %v, stderr %q", res, res.Stderr)
	}
	want := fmt.Sprintf("%d\n%d\n%d\n", nobody.UID, nobody.GID, nobody.GID)
	if string(res.Stdout) != want {
		t.Errorf("id says %q, want %q (uid, gid, only supplementary group)", res.Stdout, want)
	}
}

func TestRunAsRootClearsGroups(t *testing.T) {
	testutil.RequireRoot(t)
	res := NewRunner(Options{}).Run(context.Background(), Job{
		Command: Command{Args: []string{"/bin/sh", "-c", "id -G"}, User: &User{UID: 0, GID: 0}},
	})
	if !res.OK() || strings.TrimSpace(string(res.Stdout)) != "0" {
		t.Errorf("Run = %v, groups %q; want only group 0", res, res.Stdout)
	}
}

// BenchmarkRunTrue measures a whole run of a trivial program: pipes,
// fork/exec, wait, output drain.
func BenchmarkRunTrue(b *testing.B) {
	r := NewRunner(Options{})
	j := Job{Command: Command{Args: []string{"/bin/true"}}, Timeout: time.Minute}
	ctx := context.Background()
	for b.Loop() {
		if res := r.Run(ctx, j); !res.OK() {
			b.Fatal(res)
		}
	}
}

// BenchmarkRunShellScript is a shell script, the common vrrp_script.
func BenchmarkRunShellScript(b *testing.B) {
	r := NewRunner(Options{})
	j := Job{Command: sh("exit 0"), Timeout: time.Minute}
	ctx := context.Background()
	for b.Loop() {
		if res := r.Run(ctx, j); !res.OK() {
			b.Fatal(res)
		}
	}
}

// TestRunForkHook: the hook runs around every start, on the forking
// thread; its failure is an exec error and nothing runs.
func TestRunForkHook(t *testing.T) {
	var hooks, restores int
	r := NewRunner(Options{ForkHook: func() (func() error, error) {
		hooks++
		return func() error { restores++; return nil }, nil
	}})
	if res := r.Run(context.Background(), Job{Command: Command{Args: []string{"/bin/true"}}}); !res.OK() {
		t.Fatalf("%v", res)
	}
	if hooks != 1 || restores != 1 {
		t.Errorf("hook %d, restore %d; want 1, 1", hooks, restores)
	}
	bad := NewRunner(Options{ForkHook: func() (func() error, error) { return nil, errors.New("no") }})
	dir := t.TempDir()
	mark := filepath.Join(dir, "ran")
	res := bad.Run(context.Background(), Job{Command: sh("touch " + mark)})
	if res.Outcome != OutcomeExecError || !strings.Contains(res.String(), "fork hook: no") {
		t.Errorf("failing hook: %v", res)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Error("the script ran despite the failing hook")
	}
}
