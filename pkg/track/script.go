package track

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lbdproject/lbd/pkg/script"
)

// ScriptOptions configures a ScriptTracker: one vrrp_script.
type ScriptOptions struct {
	// Name is the vrrp_script's name.
	Name    string
	Command script.Command
	// Interval between the starts of two runs (default 1s).
	Interval time.Duration
	// Timeout of one run; 0 means Interval, as in keepalived.
	Timeout time.Duration
	// Rise and Fall (default 1), InitFail: see RiseFall.
	Rise, Fall int
	InitFail   bool
	// Runner runs the script (required unless Exec is set).
	Runner *script.Runner
	// Exec replaces Runner.Run; for tests.
	Exec func(context.Context, script.Job) script.Result
	// OnUpdate is called, from the tracker's goroutine, each time the
	// script's state changes. It should not block for long: the next run
	// waits for it.
	OnUpdate func(Update)
	Logger   *slog.Logger
	Metrics  *Metrics
}

// ScriptTracker runs one vrrp_script every Interval, one run at a time (a
// run still going at the next tick makes that tick skip, as keepalived:
// "Track script %s is already running, expect idle - skipping run"), and
// reports its state with rise/fall applied. One tracker serves every
// instance and sync group that tracks the script.
type ScriptTracker struct {
	opts ScriptOptions
	log  *slog.Logger
	job  script.Job

	mu    sync.Mutex
	rf    *RiseFall
	state State

	lastDetail string // the previous run's result, for "now returning" logs
	done       chan struct{}
}

// NewScriptTracker validates opts and applies defaults.
func NewScriptTracker(opts ScriptOptions) (*ScriptTracker, error) {
	if opts.Name == "" {
		return nil, errors.New("vrrp_script: no name")
	}
	if len(opts.Command.Args) == 0 {
		return nil, fmt.Errorf("vrrp_script %s: no script", opts.Name)
	}
	if opts.Runner == nil && opts.Exec == nil {
		return nil, fmt.Errorf("vrrp_script %s: no runner", opts.Name)
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = opts.Interval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Exec == nil {
		opts.Exec = opts.Runner.Run
	}
	t := &ScriptTracker{
		opts: opts,
		log:  opts.Logger.With("script", opts.Name),
		job:  script.Job{Name: "vrrp_script " + opts.Name, Command: opts.Command, Timeout: opts.Timeout},
		rf:   NewRiseFall(opts.Rise, opts.Fall, opts.InitFail),
		done: make(chan struct{}),
	}
	t.state = t.rf.State()
	opts.Metrics.state(KindScript, opts.Name, t.state)
	return t, nil
}

// State returns the script's current state: StateInit until the first
// run ends (StateDown from the start with init_fail).
func (t *ScriptTracker) State() State {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state
}

// Start runs the script now and then every Interval until ctx is done.
// Call it once.
func (t *ScriptTracker) Start(ctx context.Context) {
	go t.loop(ctx)
}

// Wait returns after the tracker stopped (ctx done) and its last run
// ended.
func (t *ScriptTracker) Wait() { <-t.done }

func (t *ScriptTracker) loop(ctx context.Context) {
	defer close(t.done)
	results := make(chan script.Result, 1)
	running := false
	run := func() {
		running = true
		go func() { results <- t.opts.Exec(ctx, t.job) }()
	}
	tick := time.NewTicker(t.opts.Interval)
	defer tick.Stop()
	run()
	for {
		select {
		case <-ctx.Done():
			if running {
				<-results
			}
			return
		case <-tick.C:
			if running {
				t.log.Info("vrrp_script is already running, skipping run")
				t.opts.Metrics.scriptSkip(t.opts.Name)
				continue
			}
			run()
		case res := <-results:
			running = false
			if ctx.Err() != nil {
				return // a run cut short by shutdown says nothing
			}
			t.observe(res)
		}
	}
}

func (t *ScriptTracker) observe(res script.Result) {
	t.opts.Metrics.scriptRun(t.opts.Name, res.Outcome.String())
	detail := res.String()
	if detail != t.lastDetail {
		// keepalived: "Script `%s` now returning %d".
		t.log.Info("vrrp_script result changed", "result", res.Outcome.String(), "detail", detail,
			"stderr", string(res.Stderr), "stdout", string(res.Stdout))
		t.lastDetail = detail
	}
	t.mu.Lock()
	state, changed := t.rf.Observe(res.OK())
	t.state = state
	t.mu.Unlock()
	if !changed {
		return
	}
	t.opts.Metrics.state(KindScript, t.opts.Name, state)
	if state == StateUp {
		t.log.Info("vrrp_script succeeded", "state", state.String())
	} else {
		t.log.Info("vrrp_script failed", "state", state.String(), "detail", detail)
	}
	if t.opts.OnUpdate != nil {
		t.opts.OnUpdate(Update{Kind: KindScript, Name: t.opts.Name, State: state})
	}
}
