package track

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
	"github.com/lbdproject/lbd/pkg/script"
)

func startInterfaceTracker(t *testing.T, h *netns.Host, opts InterfaceOptions) *InterfaceTracker {
	t.Helper()
	tr, err := NewInterfaceTracker(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); tr.Wait() })
	if err := h.Do(func() error { return tr.Start(ctx) }); err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestInterfaceTracker(t *testing.T) {
	testutil.RequireRoot(t)
	lab := netns.New(t, netns.Options{})
	a, b := lab.Host("a"), lab.Host("b")
	lab.Link(a, "e1", b, "p1")
	lab.Link(a, "e2", b, "p2")
	rec := &recorder{}
	tr := startInterfaceTracker(t, a, InterfaceOptions{Interfaces: []string{"e1", "e2", "late"}, OnUpdate: rec.add})

	if s := tr.State("e1"); s != StateUp {
		t.Errorf("e1 initially %v, want up", s)
	}
	if s := tr.State("late"); s != StateDown {
		t.Errorf("late (missing) initially %v, want down", s)
	}
	wait := func(name string, want State) {
		t.Helper()
		netns.Eventually(t, 30*time.Second, name+" "+want.String(), func() error {
			if s := tr.State(name); s != want {
				return errorf("%s is %v", name, s)
			}
			return nil
		})
	}
	b.SetLink("p1", false) // carrier lost: e1 not running
	wait("e1", StateDown)
	b.SetLink("p1", true)
	wait("e1", StateUp)
	a.SetLink("e2", false) // administratively down
	wait("e2", StateDown)
	lab.Link(a, "late", b, "latepeer") // created after start
	wait("late", StateUp)
	// Renamed away: the tracked name is gone. Renamed back: up again.
	nl := a.Netlink()
	l, err := nl.LinkByName("late")
	if err != nil {
		t.Fatal(err)
	}
	a.SetLink("late", false)
	if err := nl.LinkSetName(l, "late2"); err != nil {
		t.Fatal(err)
	}
	a.SetLink("late2", true)
	wait("late", StateDown)
	a.SetLink("late2", false)
	if err := nl.LinkSetName(l, "late"); err != nil {
		t.Fatal(err)
	}
	a.SetLink("late", true)
	wait("late", StateUp)
	if err := nl.LinkDel(l); err != nil {
		t.Fatal(err)
	}
	wait("late", StateDown)

	for _, u := range rec.all() {
		if u.Kind != KindInterface {
			t.Errorf("update of kind %v", u.Kind)
		}
	}
}

// instance is what the VRRP runtime does with trackers: keep every tracked
// object's status and recompute the effective priority on each update.
type instance struct {
	mu   sync.Mutex
	base uint8
	refs []Ref
	st   map[Kind]map[string]Update
}

func newInstance(base uint8, refs []Ref) *instance {
	return &instance{base: base, refs: refs, st: map[Kind]map[string]Update{}}
}

func (in *instance) update(u Update) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.st[u.Kind] == nil {
		in.st[u.Kind] = map[string]Update{}
	}
	in.st[u.Kind][u.Name] = u
}

func (in *instance) effective() Effective {
	in.mu.Lock()
	defer in.mu.Unlock()
	var ss []Status
	for _, r := range in.refs {
		u := in.st[r.Kind][r.Name]
		ss = append(ss, Status{Kind: r.Kind, Name: r.Name, State: u.State, Value: u.Value, Weight: r.Weight, Reverse: r.Reverse})
	}
	return Priority(in.base, ss...)
}

// TestInstanceTracking wires all four trackers to one instance, as the
// runtime will, and drives each with real objects: an interface in a
// namespace, a script, a file, a process. The instance's effective
// priority and FAULT follow keepalived's rules.
func TestInstanceTracking(t *testing.T) {
	testutil.RequireRoot(t)
	lab := netns.New(t, netns.Options{})
	a, b := lab.Host("a"), lab.Host("b")
	lab.Link(a, "e1", b, "p1")
	lab.Link(a, "e2", b, "p2")
	dir := t.TempDir()
	ctl := filepath.Join(dir, "ctl")
	os.WriteFile(ctl, []byte("0"), 0o644)
	tfile := filepath.Join(dir, "weight")
	if err := InitFile(tfile, 0, false, false); err != nil {
		t.Fatal(err)
	}
	bin, pname := sleepCopy(t)

	in := newInstance(100, []Ref{
		{Kind: KindInterface, Name: "e1", Weight: 10},            // +10 while up
		{Kind: KindInterface, Name: "e2"},                        // FAULT while down
		{Kind: KindScript, Name: "chk", Weight: -20},             // -20 while failing
		{Kind: KindFile, Name: "f", Weight: 2},                   // 2 × the number
		{Kind: KindProcess, Name: "p", Weight: 5, Reverse: true}, // -5 while running
	})

	itr := startInterfaceTracker(t, a, InterfaceOptions{Interfaces: []string{"e1", "e2"}, OnUpdate: in.update})
	for _, n := range []string{"e1", "e2"} {
		in.update(Update{Kind: KindInterface, Name: n, State: itr.State(n)})
	}
	str, err := NewScriptTracker(ScriptOptions{
		Name: "chk", Command: script.Command{Args: []string{"/bin/sh", "-c", `exit "$(cat "$1")"`, "sh", ctl}},
		Interval: 100 * time.Millisecond, Fall: 2,
		Runner: script.NewRunner(script.Options{}), OnUpdate: in.update,
	})
	if err != nil {
		t.Fatal(err)
	}
	ftr, err := NewFileTracker(FileOptions{Files: []FileSpec{{Name: "f", Path: tfile}}, OnUpdate: in.update})
	if err != nil {
		t.Fatal(err)
	}
	ptr, err := NewProcessTracker(ProcessOptions{Processes: []ProcessSpec{{Name: "p", Process: pname}}, OnUpdate: in.update})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer func() { cancel(); str.Wait(); ftr.Wait(); ptr.Wait() }()
	in.update(Update{Kind: KindScript, Name: "chk", State: str.State()})
	str.Start(ctx)
	ftr.Start(ctx)
	if err := ptr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ps, _ := ptr.State("p")
	in.update(Update{Kind: KindProcess, Name: "p", State: ps})

	want := func(what string, prio uint8, fault bool) {
		t.Helper()
		netns.Eventually(t, 30*time.Second, what, func() error {
			e := in.effective()
			if e.Priority != prio || e.Fault != fault || e.Init {
				return errorf("effective %+v, want priority %d fault %v", e, prio, fault)
			}
			return nil
		})
	}
	want("all fine: 100 + 10 (e1 up)", 110, false)
	os.WriteFile(ctl, []byte("1"), 0o644)
	want("script failing (fall 2): -20", 90, false)
	os.WriteFile(tfile, []byte("7\n"), 0o644)
	want("file 7 × 2: +14", 104, false)
	b.SetLink("p1", false)
	want("e1 carrier lost: no +10", 94, false)
	p := exec.Command(bin, "1000")
	p.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Process.Kill(); p.Wait() })
	want("process running, reverse: -5", 89, false)
	a.SetLink("e2", false)
	want("e2 down: FAULT", 89, true)
	a.SetLink("e2", true)
	want("e2 up again", 89, false)
	os.WriteFile(tfile, []byte("-127\n"), 0o644)
	want("file -127 × 2 = -254: FAULT", 89-14, true)
	os.WriteFile(tfile, []byte("-100\n"), 0o644)
	want("file -200: 75 - 200 limited to 1", 1, false)
	p.Process.Kill()
	p.Wait()
	os.WriteFile(ctl, []byte("0"), 0o644)
	os.WriteFile(tfile, []byte("0\n"), 0o644)
	b.SetLink("p1", true)
	want("everything back", 110, false)
}
