package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lbdproject/lbd/pkg/script"
)

// Scripts are one instance's or sync group's notify scripts; nil means
// not configured.
type Scripts struct {
	Master, Backup, Fault, Stop *script.Command
	// Deleted is notify_deleted's script (instances only).
	Deleted *script.Command
	// MasterRxLowerPri is notify_master_rx_lower_pri (instances only).
	MasterRxLowerPri *script.Command
	// Any is "notify": run after the state's own script, with
	// INSTANCE|GROUP, name, state and priority appended.
	Any *script.Command
}

// forState returns the state's own script.
func (s *Scripts) forState(st State) *script.Command {
	switch st {
	case StateMaster:
		return s.Master
	case StateBackup:
		return s.Backup
	case StateFault:
		return s.Fault
	case StateStop:
		return s.Stop
	case StateDeleted:
		return s.Deleted
	case StateMasterRxLowerPri:
		return s.MasterRxLowerPri
	}
	return nil
}

// ScriptOptions configures a ScriptNotifier.
type ScriptOptions struct {
	Scope   Scope
	Name    string
	Scripts Scripts
	// Runner runs the scripts (required).
	Runner *script.Runner
	// Timeout kills a notify script's process group when it runs longer
	// (default 30s). keepalived has no timeout for notify scripts (only 1s
	// for those run at shutdown), but lbd waits for each script before the
	// next, so one that hangs must not hold the queue forever.
	Timeout time.Duration
	// QueueLen bounds the events waiting for their scripts (default 64);
	// events beyond it are dropped, logged and counted.
	QueueLen int
	Logger   *slog.Logger
	Metrics  *Metrics
}

// ScriptNotifier runs one instance's or sync group's notify scripts, in
// the order of the events given to Notify, which never blocks.
//
// For MASTER, BACKUP, FAULT, STOP and DELETED it runs that state's script
// (notify_master, ...) and then the "notify" script with keepalived's four
// arguments; for MASTER_RX_LOWER_PRI only notify_master_rx_lower_pri;
// priority-change events run nothing (they are FIFO lines only), as
// vrrp_notify.c send_instance_notifies, send_group_notifies and
// send_event_notify.
//
// Order: one script at a time, each started after the previous one ended
// (or was killed at its timeout). keepalived forks each script and does
// not wait, so its scripts for two quick transitions run concurrently and
// may finish in either order; its documentation points to the notify FIFO
// for guaranteed ordering. lbd gives scripts the same guarantee: the
// effects of the script for a later transition always come after those for
// an earlier one. The cost is latency: a slow script delays the next one
// (never the VRRP state machine).
type ScriptNotifier struct {
	opts ScriptOptions
	log  *slog.Logger

	mu     sync.Mutex
	queue  chan Event
	closed bool

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// NewScriptNotifier starts the notifier's goroutine.
func NewScriptNotifier(opts ScriptOptions) (*ScriptNotifier, error) {
	if opts.Runner == nil {
		return nil, errors.New("notify scripts: no runner")
	}
	if opts.Name == "" {
		return nil, errors.New("notify scripts: no instance or group name")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = 64
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	key := "instance"
	if opts.Scope == ScopeGroup {
		key = "group"
	}
	n := &ScriptNotifier{
		opts:  opts,
		log:   opts.Logger.With(key, opts.Name),
		queue: make(chan Event, opts.QueueLen),
		done:  make(chan struct{}),
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	go n.loop()
	return n, nil
}

// Notify queues ev's scripts. It never blocks: with the queue full, or
// after Close, the event is dropped and logged.
func (n *ScriptNotifier) Notify(ev Event) {
	if ev.Scope == 0 {
		ev.Scope = n.opts.Scope
	}
	if ev.Name == "" {
		ev.Name = n.opts.Name
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		n.drop(ev, "notifier closed")
		return
	}
	select {
	case n.queue <- ev:
	default:
		n.drop(ev, "queue full")
	}
}

func (n *ScriptNotifier) drop(ev Event, why string) {
	n.log.Warn("notify scripts dropped", "state", ev.State.String(), "reason", why)
	n.opts.Metrics.script("dropped")
}

// Close stops accepting events and waits until the queued scripts have
// run, or until ctx ends: then the running script's process group is
// killed and the rest are dropped.
func (n *ScriptNotifier) Close(ctx context.Context) {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		close(n.queue)
	}
	n.mu.Unlock()
	select {
	case <-n.done:
	case <-ctx.Done():
		n.cancel()
		<-n.done
	}
	n.cancel()
}

func (n *ScriptNotifier) loop() {
	defer close(n.done)
	for ev := range n.queue {
		if n.ctx.Err() != nil {
			n.drop(ev, "shutting down")
			continue
		}
		if c := n.opts.Scripts.forState(ev.State); c != nil {
			n.run(ev, c, nil)
		}
		if c := n.opts.Scripts.Any; c != nil && ev.State.Transition() {
			n.run(ev, c, ev.NotifyArgs())
		}
	}
}

func (n *ScriptNotifier) run(ev Event, c *script.Command, args []string) {
	name := "notify"
	if args == nil {
		name = "notify_" + lowerState(ev.State)
	}
	res := n.opts.Runner.Run(n.ctx, script.Job{
		Name:    fmt.Sprintf("%s %s %s", name, ev.Scope, ev.Name),
		Command: *c,
		Args:    args,
		Timeout: n.opts.Timeout,
	})
	n.opts.Metrics.script(res.Outcome.String())
	attrs := []any{"script", name, "state", ev.State.String(), "result", res.Outcome.String(), "detail", res.String()}
	if len(res.Stderr) > 0 {
		attrs = append(attrs, "stderr", string(res.Stderr))
	}
	if res.OK() {
		n.log.Debug("notify script finished", attrs...)
	} else {
		n.log.Warn("notify script failed", attrs...)
	}
}

func lowerState(s State) string {
	switch s {
	case StateMaster:
		return "master"
	case StateBackup:
		return "backup"
	case StateFault:
		return "fault"
	case StateStop:
		return "stop"
	case StateDeleted:
		return "deleted"
	case StateMasterRxLowerPri:
		return "master_rx_lower_pri"
	}
	return "unknown"
}
