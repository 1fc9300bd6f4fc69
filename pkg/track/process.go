package track

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// ParamMatch says how a vrrp_track_process's parameters are compared.
type ParamMatch uint8

// The parameter matches.
const (
	// ParamMatchNone ignores the process's parameters.
	ParamMatchNone ParamMatch = iota
	// ParamMatchExact: exactly the configured parameters, no more (none
	// when none are configured). keepalived's default when parameters are
	// given without param_match.
	ParamMatchExact
	// ParamMatchPartial: the first n parameters are the n configured ones;
	// more may follow.
	ParamMatchPartial
	// ParamMatchInitial: like partial, but the last configured parameter
	// only has to be a prefix of the process's.
	ParamMatchInitial
)

var paramMatchNames = [...]string{"none", "exact", "partial", "initial"}

// String returns the match's configuration word.
func (p ParamMatch) String() string {
	if int(p) < len(paramMatchNames) {
		return paramMatchNames[p]
	}
	return fmt.Sprintf("param_match(%d)", uint8(p))
}

// commLen is the kernel's limit on a process name (TASK_COMM_LEN - 1).
const commLen = 15

// ProcessSpec is one vrrp_track_process.
type ProcessSpec struct {
	Name string
	// Process is the name to match: the process name (/proc/PID/comm, as
	// pgrep without -f), or argv[0] exactly when parameters are matched,
	// FullCommand is set, or the name is longer than the kernel's 15-byte
	// process names (which could never match).
	Process     string
	Params      []string
	ParamMatch  ParamMatch
	FullCommand bool
	// Quorum (default 1) and QuorumMax (0: no maximum) bound the number of
	// matching processes for an up state.
	Quorum, QuorumMax int
	// ForkDelay delays a change caused by a fork (a matching process
	// forked); TerminateDelay one caused by an exit. keepalived's "delay"
	// sets both. Changes caused by exec or a process renaming itself are
	// immediate.
	ForkDelay, TerminateDelay time.Duration
}

func (s *ProcessSpec) usesCmdline() bool {
	return s.FullCommand || len(s.Params) > 0 || s.ParamMatch != ParamMatchNone || len(s.Process) > commLen
}

func (s *ProcessSpec) quorumMax() int {
	if s.QuorumMax <= 0 {
		return math.MaxInt
	}
	return s.QuorumMax
}

// matches reports whether a process with this comm and cmdline (NUL
// separated, as /proc/PID/cmdline) is one of s's (keepalived's
// check_process and check_params).
func (s *ProcessSpec) matches(comm string, cmdline []byte) bool {
	if !s.usesCmdline() {
		return comm == s.Process
	}
	argv0, rest, _ := bytes.Cut(cmdline, []byte{0})
	if string(argv0) != s.Process {
		return false
	}
	var actual []string
	if len(rest) > 0 {
		actual = splitNUL(rest)
	}
	want := s.Params
	switch s.ParamMatch {
	case ParamMatchNone:
		if len(want) == 0 {
			return true
		}
		fallthrough // parameters without param_match: exact
	case ParamMatchExact:
		if len(actual) != len(want) {
			return false
		}
		for i := range want {
			if actual[i] != want[i] {
				return false
			}
		}
		return true
	case ParamMatchPartial, ParamMatchInitial:
		if len(actual) < len(want) {
			return false
		}
		for i := range want {
			last := i == len(want)-1
			if last && s.ParamMatch == ParamMatchInitial {
				if len(actual[i]) < len(want[i]) || actual[i][:len(want[i])] != want[i] {
					return false
				}
			} else if actual[i] != want[i] {
				return false
			}
		}
		return true
	}
	return false
}

func splitNUL(b []byte) []string {
	b = bytes.TrimSuffix(b, []byte{0})
	parts := bytes.Split(b, []byte{0})
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = string(p)
	}
	return out
}

// cause is why a process count changed; it picks the delay.
type cause uint8

const (
	causeExec   cause = iota // exec, rename: immediate
	causeFork                // fork_delay
	causeExit                // terminate_delay
	causeRescan              // rescan: fork_delay when gaining, terminate_delay when losing
)

// quorum is the pure state of one vrrp_track_process: how many processes
// match, what was last reported, and a pending delayed re-evaluation.
type quorum struct {
	min, max             int
	forkDelay, termDelay time.Duration
	n                    int
	up                   bool
	due                  time.Time // zero: nothing pending
}

func newQuorum(s *ProcessSpec) *quorum {
	return &quorum{min: max(s.Quorum, 1), max: s.quorumMax(), forkDelay: s.ForkDelay, termDelay: s.TerminateDelay}
}

func (q *quorum) want() bool { return q.n >= q.min && q.n <= q.max }

// set records a new count and returns whether the reported state changed
// now. A change that must wait sets due; a change that undoes a waiting
// one cancels it (keepalived's fork_timer_thread and
// terminate_timer_thread).
func (q *quorum) set(n int, c cause, now time.Time) bool {
	old := q.n
	q.n = n
	w := q.want()
	if w == q.up {
		q.due = time.Time{}
		return false
	}
	var delay time.Duration
	switch c {
	case causeFork:
		delay = q.forkDelay
	case causeExit:
		delay = q.termDelay
	case causeRescan:
		if n > old {
			delay = q.forkDelay
		} else {
			delay = q.termDelay
		}
	}
	if delay > 0 {
		if q.due.IsZero() {
			q.due = now.Add(delay)
		}
		return false
	}
	q.up, q.due = w, time.Time{}
	return true
}

// expire applies a pending change whose time has come.
func (q *quorum) expire(now time.Time) bool {
	if q.due.IsZero() || now.Before(q.due) {
		return false
	}
	q.due = time.Time{}
	if w := q.want(); w != q.up {
		q.up = w
		return true
	}
	return false
}

// procFS reads what the tracker needs of /proc.
type procFS struct{ root string }

func (p procFS) cmdline(pid int) ([]byte, error) {
	f, err := os.Open(filepath.Join(p.root, strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	n, err := f.Read(buf)
	if n == 0 && err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// stat returns the comm and the state letter from /proc/PID/stat.
func (p procFS) stat(pid int) (comm string, state byte, err error) {
	b, err := os.ReadFile(filepath.Join(p.root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", 0, err
	}
	open := bytes.IndexByte(b, '(')
	close := bytes.LastIndexByte(b, ')')
	if open < 0 || close < open || close+2 >= len(b) {
		return "", 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return string(b[open+1 : close]), b[close+2], nil
}

func (p procFS) pids() ([]int, error) {
	ents, err := os.ReadDir(p.root)
	if err != nil {
		return nil, err
	}
	out := make([]int, 0, len(ents))
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			out = append(out, pid)
		}
	}
	return out, nil
}

// processTable maps live PIDs to the specs they match and keeps each
// spec's quorum. It is driven by process events or rescans; it is not
// safe for concurrent use.
type processTable struct {
	fs      procFS
	specs   []*ProcessSpec
	quorums []*quorum
	pids    map[int][]int // pid -> indexes of matching specs
	anyCmd  bool          // some spec needs cmdline
	anyComm bool
}

func newProcessTable(fs procFS, specs []ProcessSpec) *processTable {
	t := &processTable{fs: fs, pids: map[int][]int{}}
	for i := range specs {
		s := &specs[i]
		t.specs = append(t.specs, s)
		t.quorums = append(t.quorums, newQuorum(s))
		if s.usesCmdline() {
			t.anyCmd = true
		} else {
			t.anyComm = true
		}
	}
	return t
}

// match returns the specs pid matches now (nil if it is gone or a
// zombie), reading its name and, if some spec needs it, its command line.
func (t *processTable) match(pid int) []int {
	comm, state, err := t.fs.stat(pid)
	if err != nil || state == 'Z' || state == 'X' {
		return nil
	}
	var cmd []byte
	if t.anyCmd {
		if cmd, err = t.fs.cmdline(pid); err != nil {
			return nil
		}
	}
	var out []int
	for i, s := range t.specs {
		if s.matches(comm, cmd) {
			out = append(out, i)
		}
	}
	return out
}

// changed lists the specs whose reported state changed.
type changed []int

// setPID replaces pid's matches and applies the count changes.
func (t *processTable) setPID(pid int, now []int, c cause, at time.Time) changed {
	old := t.pids[pid]
	if len(now) == 0 {
		delete(t.pids, pid)
	} else {
		t.pids[pid] = now
	}
	var out changed
	for _, i := range old {
		if !contains(now, i) && t.quorums[i].set(t.quorums[i].n-1, c, at) {
			out = append(out, i)
		}
	}
	for _, i := range now {
		if !contains(old, i) && t.quorums[i].set(t.quorums[i].n+1, c, at) {
			out = append(out, i)
		}
	}
	return out
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// fork: the child matches what its parent matched (keepalived does not
// reread a forked child; an exec follows if it becomes something else).
func (t *processTable) fork(parent, child int, at time.Time) changed {
	m, ok := t.pids[parent]
	if !ok {
		return nil
	}
	return t.setPID(child, append([]int(nil), m...), causeFork, at)
}

func (t *processTable) exec(pid int, at time.Time) changed {
	return t.setPID(pid, t.match(pid), causeExec, at)
}

// comm handles a process renaming itself: specs matched by name are
// re-evaluated with the new name, those matched by command line keep
// their verdict.
func (t *processTable) comm(pid int, comm string, at time.Time) changed {
	old := t.pids[pid]
	var now []int
	for i, s := range t.specs {
		if s.usesCmdline() {
			if contains(old, i) {
				now = append(now, i)
			}
		} else if comm == s.Process {
			now = append(now, i)
		}
	}
	return t.setPID(pid, now, causeExec, at)
}

func (t *processTable) exit(pid int, at time.Time) changed {
	if _, ok := t.pids[pid]; !ok {
		return nil
	}
	return t.setPID(pid, nil, causeExit, at)
}

// rescan reads every process in /proc and applies the differences with
// causeRescan. initial makes the result the reported state at once (the
// first scan, before anything was reported).
func (t *processTable) rescan(at time.Time, initial bool) (changed, error) {
	pids, err := t.fs.pids()
	if err != nil {
		return nil, fmt.Errorf("scan processes: %w", err)
	}
	seen := make(map[int]bool, len(pids))
	var out changed
	for _, pid := range pids {
		m := t.match(pid)
		if len(m) == 0 && t.pids[pid] == nil {
			continue
		}
		seen[pid] = true
		out = append(out, t.setPID(pid, m, causeRescan, at)...)
	}
	for pid := range t.pids {
		if !seen[pid] {
			out = append(out, t.setPID(pid, nil, causeRescan, at)...)
		}
	}
	if initial {
		out = out[:0]
		for i, q := range t.quorums {
			q.up, q.due = q.want(), time.Time{}
			out = append(out, i)
		}
	}
	return dedup(out), nil
}

func dedup(c changed) changed {
	var out changed
	for _, i := range c {
		if !contains(out, i) {
			out = append(out, i)
		}
	}
	return out
}

// expire applies due delayed changes, and returns them and the next
// deadline (zero if none).
func (t *processTable) expire(at time.Time) (changed, time.Time) {
	var out changed
	var next time.Time
	for i, q := range t.quorums {
		if q.expire(at) {
			out = append(out, i)
		}
		if !q.due.IsZero() && (next.IsZero() || q.due.Before(next)) {
			next = q.due
		}
	}
	return out, next
}

// ProcessOptions configures a ProcessTracker.
type ProcessOptions struct {
	Processes []ProcessSpec
	// OnUpdate is called, from the tracker's goroutine, when a process
	// quorum is gained or lost.
	OnUpdate func(Update)
	Logger   *slog.Logger
	Metrics  *Metrics
	// Poll forces polling /proc instead of the process connector.
	Poll bool
	// PollInterval is the polling period (default 1s) when polling.
	PollInterval time.Duration
	// Proc is the proc filesystem's mount point (default /proc).
	Proc string
}

// ProcessTracker counts the processes of each vrrp_track_process. It
// listens to the kernel's process connector (netlink, CN_IDX_PROC: fork,
// exec, comm and exit events; needs CAP_NET_ADMIN in the initial network
// namespace) after one scan of /proc, like keepalived (track_process.c);
// where the connector is unavailable it polls /proc and logs why.
type ProcessTracker struct {
	log   *slog.Logger
	opts  ProcessOptions
	table *processTable

	mu     sync.Mutex
	states []State
	counts []int

	conn *procConnector // nil when polling
	done chan struct{}
}

// NewProcessTracker validates opts.
func NewProcessTracker(opts ProcessOptions) (*ProcessTracker, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Proc == "" {
		opts.Proc = "/proc"
	}
	names := map[string]bool{}
	for _, s := range opts.Processes {
		switch {
		case s.Name == "":
			return nil, errors.New("vrrp_track_process: no name")
		case names[s.Name]:
			return nil, fmt.Errorf("vrrp_track_process %s: defined twice", s.Name)
		case s.Process == "":
			return nil, fmt.Errorf("vrrp_track_process %s: no process", s.Name)
		case s.QuorumMax > 0 && s.QuorumMax < max(s.Quorum, 1):
			return nil, fmt.Errorf("vrrp_track_process %s: quorum_max %d below quorum %d", s.Name, s.QuorumMax, max(s.Quorum, 1))
		}
		names[s.Name] = true
	}
	t := &ProcessTracker{
		log:    opts.Logger,
		opts:   opts,
		table:  newProcessTable(procFS{root: opts.Proc}, opts.Processes),
		states: make([]State, len(opts.Processes)),
		counts: make([]int, len(opts.Processes)),
		done:   make(chan struct{}),
	}
	return t, nil
}

// Start subscribes to process events (or decides to poll), scans /proc
// once, and then follows changes until ctx is done. After it returns,
// State and Count answer for every process. Call it once.
func (t *ProcessTracker) Start(ctx context.Context) error {
	if !t.opts.Poll {
		c, err := openProcConnector()
		if err != nil {
			t.log.Warn("process connector unavailable, polling /proc instead", "err", err, "interval", t.opts.PollInterval)
		} else {
			t.conn = c
		}
	}
	if _, err := t.table.rescan(time.Now(), true); err != nil {
		if t.conn != nil {
			t.conn.Close()
		}
		return err
	}
	t.publish(nil, true)
	if t.conn != nil {
		go func() {
			<-ctx.Done()
			t.conn.Close()
		}()
		go t.listen(ctx)
	} else {
		go t.poll(ctx)
	}
	return nil
}

// Wait returns after the tracker stopped.
func (t *ProcessTracker) Wait() { <-t.done }

// Polling reports whether the tracker polls /proc (no process connector).
func (t *ProcessTracker) Polling() bool { return t.conn == nil }

// State returns the named process's quorum state.
func (t *ProcessTracker) State(name string) (State, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, s := range t.opts.Processes {
		if s.Name == name {
			return t.states[i], true
		}
	}
	return StateInit, false
}

// Count returns how many processes match the named process now.
func (t *ProcessTracker) Count(name string) (int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, s := range t.opts.Processes {
		if s.Name == name {
			return t.counts[i], true
		}
	}
	return 0, false
}

// publish copies the table's state out, and reports the changed specs
// (all of them, silently, when initial).
func (t *ProcessTracker) publish(c changed, initial bool) {
	t.mu.Lock()
	var updates []Update
	for i, q := range t.table.quorums {
		t.counts[i] = q.n
		t.opts.Metrics.processes(t.opts.Processes[i].Name, q.n)
		st := StateDown
		if q.up {
			st = StateUp
		}
		if t.states[i] == st && !initial {
			continue
		}
		t.states[i] = st
		if initial || contains(c, i) {
			name := t.opts.Processes[i].Name
			t.opts.Metrics.state(KindProcess, name, st)
			if !initial {
				updates = append(updates, Update{Kind: KindProcess, Name: name, State: st})
			}
		}
	}
	t.mu.Unlock()
	for _, u := range updates {
		verb := "gained"
		if u.State != StateUp {
			verb = "lost"
		}
		t.log.Info("tracked process quorum "+verb, "process", u.Name)
		if t.opts.OnUpdate != nil {
			t.opts.OnUpdate(u)
		}
	}
}

// listen handles connector events; a lost-events error triggers a
// rescan, as keepalived's reinitialise_track_processes.
func (t *ProcessTracker) listen(ctx context.Context) {
	defer close(t.done)
	events := make(chan procEvent, 256)
	errs := make(chan error, 1)
	go func() {
		errs <- t.conn.read(ctx, events)
		close(events)
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				if err := <-errs; err != nil && ctx.Err() == nil {
					t.log.Warn("process connector failed, polling /proc from now on", "err", err)
					t.pollLoop(ctx)
				}
				return
			}
			now := time.Now()
			var c changed
			switch ev.kind {
			case evFork:
				c = t.table.fork(ev.ppid, ev.pid, now)
			case evExec:
				c = t.table.exec(ev.pid, now)
			case evComm:
				c = t.table.comm(ev.pid, ev.comm, now)
			case evExit:
				c = t.table.exit(ev.pid, now)
			case evLost:
				t.log.Warn("process connector lost events, rescanning /proc")
				var err error
				if c, err = t.table.rescan(now, false); err != nil {
					t.log.Warn("rescan processes", "err", err)
				}
			}
			t.afterChange(c, timer, now)
		case <-timer.C:
			now := time.Now()
			c, _ := t.table.expire(now)
			t.afterChange(c, timer, now)
		}
	}
}

// afterChange publishes c and arms timer for the next delayed change.
func (t *ProcessTracker) afterChange(c changed, timer *time.Timer, now time.Time) {
	due, next := t.table.expire(now)
	c = append(c, due...)
	t.publish(dedup(c), false)
	timer.Stop()
	if !next.IsZero() {
		timer.Reset(next.Sub(now))
	}
}

func (t *ProcessTracker) poll(ctx context.Context) {
	defer close(t.done)
	t.pollLoop(ctx)
}

func (t *ProcessTracker) pollLoop(ctx context.Context) {
	tick := time.NewTicker(t.opts.PollInterval)
	defer tick.Stop()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			now := time.Now()
			c, err := t.table.rescan(now, false)
			if err != nil {
				t.log.Warn("poll processes", "err", err)
				continue
			}
			t.afterChange(c, timer, now)
		case <-timer.C:
			now := time.Now()
			c, _ := t.table.expire(now)
			t.afterChange(c, timer, now)
		}
	}
}
