package script

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Command is a script as configured: argv, the user it runs as and how.
type Command struct {
	// Args is argv; Args[0] names the program: a path, or a bare name
	// looked up on PATH.
	Args []string
	// User runs the script as this user and group, with the group as its
	// only supplementary group. Nil runs it as lbd itself.
	User *User
	// Shell runs the line through /bin/sh -c, each word single-quoted as
	// keepalived does. Parse and Check set it for keepalived's "</path"
	// file-test form; nothing else uses a shell unless the line itself
	// runs one ("/bin/sh -c '...'").
	Shell bool

	path string // resolved program, set by Check
}

// Parse splits a keepalived script line (see Split) into a Command.
func Parse(line string) (Command, error) {
	args, err := Split(line)
	if err != nil {
		return Command{}, err
	}
	return Command{Args: args, Shell: isRedirectTest(args[0])}, nil
}

// String renders the command for logs, quoting words that need it.
func (c Command) String() string {
	var b strings.Builder
	for i, a := range c.Args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\") {
			b.WriteString(strconv.Quote(a))
		} else {
			b.WriteString(a)
		}
	}
	return b.String()
}

// Path returns the program Check resolved, or "" before Check.
func (c Command) Path() string { return c.path }

func (c *Command) user() User {
	if c.User != nil {
		return *c.User
	}
	return Self()
}

// Outcome is how a run ended.
type Outcome uint8

// The outcomes. Their names are metric label values.
const (
	// OutcomeSuccess: exited with status 0.
	OutcomeSuccess Outcome = iota + 1
	// OutcomeFailure: exited with a non-zero status.
	OutcomeFailure
	// OutcomeSignaled: killed by a signal lbd did not send.
	OutcomeSignaled
	// OutcomeTimeout: still running at its timeout; lbd killed its process
	// group.
	OutcomeTimeout
	// OutcomeCanceled: the caller's context ended the run (shutdown); lbd
	// killed its process group.
	OutcomeCanceled
	// OutcomeExecError: it could not be started (not found, not
	// executable, no shebang, user switch refused, fork failed).
	OutcomeExecError
)

var outcomeNames = [...]string{
	OutcomeSuccess:   "success",
	OutcomeFailure:   "failure",
	OutcomeSignaled:  "signaled",
	OutcomeTimeout:   "timeout",
	OutcomeCanceled:  "canceled",
	OutcomeExecError: "exec_error",
}

// String returns the outcome's log and metric name.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) && outcomeNames[o] != "" {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Outcomes lists every outcome, for pre-creating metric series.
func Outcomes() []Outcome {
	return []Outcome{OutcomeSuccess, OutcomeFailure, OutcomeSignaled, OutcomeTimeout, OutcomeCanceled, OutcomeExecError}
}

// Result is what one run of a script did.
type Result struct {
	Outcome Outcome
	// ExitCode is the exit status for OutcomeSuccess and OutcomeFailure,
	// else -1.
	ExitCode int
	// Signal is the signal that ended the process, if one did.
	Signal syscall.Signal
	// Err explains OutcomeExecError and OutcomeCanceled.
	Err error
	// PID of the process (also its process group), 0 if not started.
	PID      int
	Duration time.Duration
	// Stdout and Stderr hold the start of what the script wrote, at most
	// Options.OutputLimit bytes each; Truncated says more was discarded.
	Stdout, Stderr []byte
	Truncated      bool
}

// OK reports a zero exit status.
func (r Result) OK() bool { return r.Outcome == OutcomeSuccess }

// String describes the result for a log line.
func (r Result) String() string {
	switch r.Outcome {
	case OutcomeSuccess, OutcomeFailure:
		return fmt.Sprintf("exit status %d", r.ExitCode)
	case OutcomeSignaled:
		return fmt.Sprintf("killed by signal %d (%v)", int(r.Signal), r.Signal)
	case OutcomeTimeout:
		return fmt.Sprintf("timed out after %v, process group killed", r.Duration.Round(time.Millisecond))
	case OutcomeCanceled:
		return fmt.Sprintf("canceled (%v), process group killed", r.Err)
	case OutcomeExecError:
		return fmt.Sprintf("exec failed: %v", r.Err)
	}
	return r.Outcome.String()
}

// Options configures a Runner. The zero value works.
type Options struct {
	// Logger gets a Debug line per finished run (with the output) and a
	// Warn line when a process group cannot be killed; nil discards.
	Logger *slog.Logger
	// KillGrace is the time between SIGTERM and SIGKILL to the process
	// group of a script that timed out or was canceled (default 2s, as
	// keepalived).
	KillGrace time.Duration
	// OutputLimit bounds the bytes kept of each of stdout and stderr per
	// run (default 4096; negative keeps nothing). The rest is read and
	// dropped, so a chatty script never blocks on a full pipe.
	OutputLimit int
	// DrainWait bounds how long output is still read after the script
	// exited, when a background child keeps the pipes open (default
	// 100ms).
	DrainWait time.Duration
	// Env is the scripts' environment; nil means lbd's own at NewRunner.
	Env []string
	// Dir is the working directory (default "/": relative script paths
	// should be resolved by whoever parsed the configuration).
	Dir string
	// MaxConcurrent bounds how many scripts run at once; 0 is unbounded.
	// Run waits for a slot (or its context); Go never blocks its caller.
	MaxConcurrent int
	// Shell is the shell for Command.Shell (default /bin/sh).
	Shell string
	// ForkHook, if set, runs on the forking thread (locked to it) just
	// before a script is started, and the function it returns right
	// after: lbd run passes realtime.NormalChildren, so that scripts do
	// not inherit SCHED_RR (keepalived's SCHED_RESET_ON_FORK). An error
	// from either fails the run (OutcomeExecError); a restore error also
	// keeps the thread locked, so that the runtime discards it.
	ForkHook func() (restore func() error, err error)
}

// Runner runs scripts. It is safe for concurrent use.
type Runner struct {
	log   *slog.Logger
	opts  Options
	self  User
	sem   chan struct{}
	inFly sync.WaitGroup
}

// NewRunner returns a Runner with opts' defaults applied.
func NewRunner(opts Options) *Runner {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.KillGrace <= 0 {
		opts.KillGrace = 2 * time.Second
	}
	if opts.OutputLimit == 0 {
		opts.OutputLimit = 4096
	}
	if opts.DrainWait <= 0 {
		opts.DrainWait = 100 * time.Millisecond
	}
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	if opts.Dir == "" {
		opts.Dir = "/"
	}
	if opts.Shell == "" {
		opts.Shell = "/bin/sh"
	}
	r := &Runner{log: opts.Logger, opts: opts, self: Self()}
	if opts.MaxConcurrent > 0 {
		r.sem = make(chan struct{}, opts.MaxConcurrent)
	}
	return r
}

// Job is one run of a Command.
type Job struct {
	// Name identifies the run in logs ("vrrp_script chk_nginx").
	Name    string
	Command Command
	// Args are appended to the command's own (notify's "INSTANCE VI_1
	// MASTER 100", a FIFO script's FIFO name).
	Args []string
	// Timeout kills the script's process group when it is still running
	// after this long; 0 means no timeout (until the context ends).
	Timeout time.Duration
}

// Go starts j in the background and calls done, if not nil, with the
// result from the goroutine that ran it. It never blocks: with
// MaxConcurrent set, the job waits for a slot in that goroutine.
func (r *Runner) Go(ctx context.Context, j Job, done func(Result)) {
	r.inFly.Add(1)
	go func() {
		defer r.inFly.Done()
		res := r.Run(ctx, j)
		if done != nil {
			done(res)
		}
	}()
}

// Wait waits for every job started with Go to finish (callbacks
// included). Cancel their context first to make it quick.
func (r *Runner) Wait() { r.inFly.Wait() }

// Run runs j and returns when its process has been reaped (and, after a
// timeout or cancellation, its process group killed).
func (r *Runner) Run(ctx context.Context, j Job) Result {
	if r.sem != nil {
		select {
		case r.sem <- struct{}{}:
			defer func() { <-r.sem }()
		case <-ctx.Done():
			return Result{Outcome: OutcomeCanceled, ExitCode: -1, Err: ctx.Err()}
		}
	}
	res := r.run(ctx, j)
	if r.log.Enabled(ctx, slog.LevelDebug) {
		r.log.Debug("script finished", "script", j.Name, "pid", res.PID, "result", res.Outcome.String(),
			"detail", res.String(), "duration", res.Duration, "stdout", string(res.Stdout),
			"stderr", string(res.Stderr), "truncated", res.Truncated)
	}
	return res
}

func (r *Runner) run(ctx context.Context, j Job) Result {
	start := time.Now()
	fail := func(err error) Result {
		return Result{Outcome: OutcomeExecError, ExitCode: -1, Err: err, Duration: time.Since(start)}
	}
	if len(j.Command.Args) == 0 {
		return fail(errors.New("empty command"))
	}
	argv := append(slices.Clone(j.Command.Args), j.Args...)
	var path string
	switch {
	case j.Command.Shell:
		path = r.opts.Shell
		argv = []string{"sh", "-c", shellLine(argv)}
	case j.Command.path != "":
		path = j.Command.path
	case strings.Contains(argv[0], "/"):
		path = argv[0]
	default:
		p, err := exec.LookPath(argv[0])
		if err != nil {
			return fail(err)
		}
		path = p
	}

	attr := &syscall.SysProcAttr{
		// Its own process group, so that a timeout kills its children too.
		Setpgid: true,
		// keepalived's scripts die with it (PR_SET_PDEATHSIG SIGTERM).
		Pdeathsig: syscall.SIGTERM,
	}
	if u := j.Command.User; u != nil && (r.self.UID == 0 || u.UID != r.self.UID || u.GID != r.self.GID) {
		attr.Credential = &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: []uint32{u.GID}}
	}

	outR, outW, err := os.Pipe()
	if err != nil {
		return fail(fmt.Errorf("stdout pipe: %w", err))
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return fail(fmt.Errorf("stderr pipe: %w", err))
	}
	stdout := &capBuf{limit: r.opts.OutputLimit}
	stderr := &capBuf{limit: r.opts.OutputLimit}
	var readers sync.WaitGroup
	readers.Add(2)
	go stdout.drain(outR, &readers)
	go stderr.drain(errR, &readers)
	finishOutput := func(res *Result) {
		deadline := time.Now().Add(r.opts.DrainWait)
		outR.SetReadDeadline(deadline)
		errR.SetReadDeadline(deadline)
		readers.Wait()
		outR.Close()
		errR.Close()
		res.Stdout, res.Stderr = stdout.bytes(), stderr.bytes()
		res.Truncated = stdout.dropped || stderr.dropped
	}

	cmd := &exec.Cmd{
		Path:        path,
		Args:        argv,
		Env:         r.opts.Env,
		Dir:         r.opts.Dir,
		Stdout:      outW,
		Stderr:      errW,
		SysProcAttr: attr,
	}
	// Pdeathsig fires when the forking thread exits: keep this goroutine on
	// its thread until the script has been reaped.
	runtime.LockOSThread()
	unlock := true
	defer func() {
		if unlock {
			runtime.UnlockOSThread()
		}
	}()
	if h := r.opts.ForkHook; h != nil {
		restore, herr := h()
		if herr != nil {
			err = fmt.Errorf("fork hook: %w", herr)
		} else {
			err = cmd.Start()
			if rerr := restore(); rerr != nil {
				unlock = false
				if err == nil {
					r.log.Warn("script: fork hook restore failed; the thread is discarded", "script", j.Name, "error", rerr)
				}
			}
		}
	} else {
		err = cmd.Start()
	}
	outW.Close()
	errW.Close()
	if err != nil {
		res := fail(err)
		finishOutput(&res)
		return res
	}
	pid := cmd.Process.Pid
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	var timeout <-chan time.Time
	if j.Timeout > 0 {
		t := time.NewTimer(j.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var (
		werr   error
		killed Outcome
	)
	select {
	case werr = <-waited:
	case <-timeout:
		killed = OutcomeTimeout
		werr = r.terminate(pid, waited)
	case <-ctx.Done():
		killed = OutcomeCanceled
		werr = r.terminate(pid, waited)
	}
	res := Result{PID: pid, ExitCode: -1, Duration: time.Since(start)}
	var ws syscall.WaitStatus
	var ee *exec.ExitError
	switch {
	case werr == nil:
		ws = 0
	case errors.As(werr, &ee):
		ws, _ = ee.Sys().(syscall.WaitStatus)
	default:
		res.Outcome, res.Err = OutcomeExecError, werr
		finishOutput(&res)
		return res
	}
	if ws.Signaled() {
		res.Signal = ws.Signal()
	}
	switch {
	case killed == OutcomeTimeout:
		res.Outcome = OutcomeTimeout
	case killed == OutcomeCanceled:
		res.Outcome, res.Err = OutcomeCanceled, context.Cause(ctx)
	case ws.Exited() && ws.ExitStatus() == 0:
		res.Outcome, res.ExitCode = OutcomeSuccess, 0
	case ws.Exited():
		res.Outcome, res.ExitCode = OutcomeFailure, ws.ExitStatus()
	default:
		res.Outcome = OutcomeSignaled
	}
	finishOutput(&res)
	return res
}

// terminate ends the process group pgid: SIGTERM, then SIGKILL after the
// grace period if the leader has not exited, and SIGKILL again once it has
// been reaped, for children that ignored SIGTERM or outlived it (as
// keepalived's vrrp_script_child_thread). It returns the leader's wait
// error.
func (r *Runner) terminate(pgid int, waited <-chan error) error {
	r.signalGroup(pgid, unix.SIGTERM)
	grace := time.NewTimer(r.opts.KillGrace)
	defer grace.Stop()
	var err error
	select {
	case err = <-waited:
	case <-grace.C:
		r.signalGroup(pgid, unix.SIGKILL)
		err = <-waited
	}
	r.signalGroup(pgid, unix.SIGKILL)
	return err
}

func (r *Runner) signalGroup(pgid int, sig unix.Signal) {
	if err := unix.Kill(-pgid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		r.log.Warn("signal script process group", "pgid", pgid, "signal", sig.String(), "err", err)
	}
}

// capBuf keeps the first limit bytes written to it and counts the rest.
type capBuf struct {
	limit   int
	buf     []byte
	dropped bool
}

func (c *capBuf) drain(f *os.File, wg *sync.WaitGroup) {
	defer wg.Done()
	p := make([]byte, 4096)
	for {
		n, err := f.Read(p)
		if n > 0 && c.limit > 0 {
			room := c.limit - len(c.buf)
			if room > n {
				room = n
			}
			if room > 0 {
				c.buf = append(c.buf, p[:room]...)
			}
			if room < n {
				c.dropped = true
			}
		}
		if err != nil {
			return
		}
	}
}

func (c *capBuf) bytes() []byte { return c.buf }
