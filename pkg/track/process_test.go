package track

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

func cmdline(args ...string) []byte { return []byte(strings.Join(args, "\x00") + "\x00") }

func TestProcessMatches(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec ProcessSpec
		comm string
		cmd  []byte
		want bool
	}{
		{"comm exact", ProcessSpec{Process: "nginx"}, "nginx", cmdline("nginx: master"), true},
		{"comm is not a prefix match", ProcessSpec{Process: "ssh"}, "sshd", cmdline("/usr/sbin/sshd"), false},
		{"comm ignores argv", ProcessSpec{Process: "nginx"}, "nginx", cmdline("/usr/sbin/other"), true},
		{"full command is argv[0]", ProcessSpec{Process: "/usr/sbin/sshd", FullCommand: true}, "sshd", cmdline("/usr/sbin/sshd", "-D"), true},
		{"full command other argv[0]", ProcessSpec{Process: "sshd", FullCommand: true}, "sshd", cmdline("/usr/sbin/sshd"), false},
		{"long name uses argv[0]", ProcessSpec{Process: "a-very-long-process-name"}, "a-very-long-pro", cmdline("a-very-long-process-name"), true},
		{"params exact", ProcessSpec{Process: "sleep", Params: []string{"100"}}, "sleep", cmdline("sleep", "100"), true},
		{"params exact, more given", ProcessSpec{Process: "sleep", Params: []string{"100"}}, "sleep", cmdline("sleep", "100", "x"), false},
		{"params exact, differ", ProcessSpec{Process: "sleep", Params: []string{"100"}}, "sleep", cmdline("sleep", "1000"), false},
		{"exact, no params wanted", ProcessSpec{Process: "sleep", ParamMatch: ParamMatchExact}, "sleep", cmdline("sleep"), true},
		{"exact, no params wanted, some given", ProcessSpec{Process: "sleep", ParamMatch: ParamMatchExact}, "sleep", cmdline("sleep", "1"), false},
		{"partial", ProcessSpec{Process: "p", Params: []string{"-a", "b"}, ParamMatch: ParamMatchPartial}, "p", cmdline("p", "-a", "b", "c"), true},
		{"partial, last differs", ProcessSpec{Process: "p", Params: []string{"-a", "b"}, ParamMatch: ParamMatchPartial}, "p", cmdline("p", "-a", "bc"), false},
		{"initial", ProcessSpec{Process: "p", Params: []string{"-a", "b"}, ParamMatch: ParamMatchInitial}, "p", cmdline("p", "-a", "bc", "d"), true},
		{"initial, earlier differs", ProcessSpec{Process: "p", Params: []string{"-a", "b"}, ParamMatch: ParamMatchInitial}, "p", cmdline("p", "-ax", "b"), false},
		{"initial, too few", ProcessSpec{Process: "p", Params: []string{"-a", "b"}, ParamMatch: ParamMatchInitial}, "p", cmdline("p", "-a"), false},
		{"partial without params", ProcessSpec{Process: "p", ParamMatch: ParamMatchPartial}, "p", cmdline("p", "x"), true},
	} {
		if got := tc.spec.matches(tc.comm, tc.cmd); got != tc.want {
			t.Errorf("%s: matches = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestQuorumDelays(t *testing.T) {
	t0 := time.Unix(1000, 0)
	q := newQuorum(&ProcessSpec{Quorum: 1, QuorumMax: 2, ForkDelay: 2 * time.Second, TerminateDelay: 3 * time.Second})
	// An exec brings the first process: immediate.
	if !q.set(1, causeExec, t0) || !q.up {
		t.Fatalf("exec to 1: up=%v", q.up)
	}
	// It forks twice: 3 is above quorum_max; a fork change waits.
	if q.set(2, causeFork, t0) || !q.up {
		t.Fatal("fork to 2 changed the state")
	}
	if q.set(3, causeFork, t0) || !q.up || q.due != t0.Add(2*time.Second) {
		t.Fatalf("fork to 3: changed immediately or no timer (due %v)", q.due)
	}
	if q.expire(t0.Add(time.Second)) {
		t.Fatal("expired early")
	}
	if !q.expire(t0.Add(2*time.Second)) || q.up {
		t.Fatalf("fork delay over: up=%v, want down", q.up)
	}
	// One exits: back within quorum, but after terminate_delay.
	if q.set(2, causeExit, t0.Add(3*time.Second)) || q.up {
		t.Fatal("exit changed the state at once")
	}
	// A change back before the delay cancels it.
	if q.set(3, causeExec, t0.Add(4*time.Second)) || !q.due.IsZero() {
		t.Fatalf("undoing change: due %v, want cancelled", q.due)
	}
	// Exits to 0: down stays down (no report), to 1: up after the delay.
	q.set(2, causeExit, t0.Add(5*time.Second))
	if q.expire(t0.Add(8 * time.Second)); !q.up {
		t.Fatal("terminate delay over: still down")
	}
	// Without delays a fork or exit is immediate.
	q2 := newQuorum(&ProcessSpec{})
	if !q2.set(1, causeFork, t0) || !q2.set(0, causeExit, t0) {
		t.Error("undelayed changes were not immediate")
	}
	if q2.max <= 1<<30 {
		t.Errorf("default quorum_max %d, want unlimited", q2.max)
	}
}

// fakeProc builds a /proc lookalike.
type fakeProc struct{ root string }

func (f fakeProc) add(t *testing.T, pid int, comm string, state byte, argv ...string) {
	t.Helper()
	d := filepath.Join(f.root, strconv.Itoa(pid))
	os.MkdirAll(d, 0o755)
	os.WriteFile(filepath.Join(d, "comm"), []byte(comm+"\n"), 0o644)
	os.WriteFile(filepath.Join(d, "stat"), fmt.Appendf(nil, "%d (%s) %c 1 %d %d 0", pid, comm, state, pid, pid), 0o644)
	os.WriteFile(filepath.Join(d, "cmdline"), cmdline(argv...), 0o644)
}

func (f fakeProc) remove(pid int) { os.RemoveAll(filepath.Join(f.root, strconv.Itoa(pid))) }

func TestProcessTable(t *testing.T) {
	fp := fakeProc{root: t.TempDir()}
	fp.add(t, 10, "nginx", 'S', "nginx: master process")
	fp.add(t, 11, "nginx", 'Z') // a zombie does not count
	fp.add(t, 12, "sshd", 'S', "/usr/sbin/sshd", "-D")
	specs := []ProcessSpec{
		{Name: "web", Process: "nginx", Quorum: 2},
		{Name: "ssh", Process: "/usr/sbin/sshd", Params: []string{"-D"}},
	}
	tab := newProcessTable(procFS(fp), specs)
	now := time.Unix(0, 0)
	if _, err := tab.rescan(now, true); err != nil {
		t.Fatal(err)
	}
	if tab.quorums[0].n != 1 || tab.quorums[0].up || tab.quorums[1].n != 1 || !tab.quorums[1].up {
		t.Fatalf("after scan: web n=%d up=%v, ssh n=%d up=%v", tab.quorums[0].n, tab.quorums[0].up, tab.quorums[1].n, tab.quorums[1].up)
	}
	// nginx forks a worker: quorum 2 reached.
	fp.add(t, 13, "nginx", 'S', "nginx: worker process")
	if c := tab.fork(10, 13, now); len(c) != 1 || c[0] != 0 || !tab.quorums[0].up {
		t.Fatalf("fork: changed %v, up %v", c, tab.quorums[0].up)
	}
	// A fork of an untracked process is ignored.
	if c := tab.fork(12345, 12346, now); c != nil {
		t.Errorf("untracked fork changed %v", c)
	}
	// The worker execs something else: it no longer counts.
	fp.add(t, 13, "bash", 'S', "/bin/bash")
	if c := tab.exec(13, now); len(c) != 1 || tab.quorums[0].up {
		t.Fatalf("exec away: changed %v, up %v", c, tab.quorums[0].up)
	}
	// A process renames itself to nginx.
	fp.add(t, 13, "nginx", 'S', "/bin/bash")
	if c := tab.comm(13, "nginx", now); len(c) != 1 || !tab.quorums[0].up {
		t.Fatalf("comm to nginx: changed %v, up %v", c, tab.quorums[0].up)
	}
	// sshd exits.
	fp.remove(12)
	if c := tab.exit(12, now); len(c) != 1 || c[0] != 1 || tab.quorums[1].up {
		t.Fatalf("exit: changed %v, ssh up %v", c, tab.quorums[1].up)
	}
	if c := tab.exit(999, now); c != nil {
		t.Errorf("untracked exit changed %v", c)
	}
	// A rescan finds what events missed.
	fp.remove(10)
	fp.add(t, 20, "sshd", 'S', "/usr/sbin/sshd", "-D")
	c, err := tab.rescan(now, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != 2 || tab.quorums[0].n != 1 || tab.quorums[0].up || !tab.quorums[1].up {
		t.Errorf("rescan: changed %v, web n=%d up=%v, ssh up=%v", c, tab.quorums[0].n, tab.quorums[0].up, tab.quorums[1].up)
	}
}

func TestDecodeProcEvents(t *testing.T) {
	// Two netlink messages as the kernel sends them: a fork, and a thread
	// exit (skipped).
	msg := func(what uint32, data ...uint32) []byte {
		b := make([]byte, nlmsgHdrLen+cnMsgHdrLen+procEventDataOff+4*len(data))
		ne := binary.NativeEndian
		ne.PutUint32(b[0:], uint32(len(b)))
		ne.PutUint16(b[4:], 3)
		ne.PutUint32(b[16:], cnIdxProc)
		ne.PutUint32(b[20:], cnValProc)
		ev := b[nlmsgHdrLen+cnMsgHdrLen:]
		ne.PutUint32(ev[0:], what)
		for i, d := range data {
			ne.PutUint32(ev[procEventDataOff+4*i:], d)
		}
		return b
	}
	b := append(msg(procEventFork, 100, 100, 200, 200), msg(procEventExit, 201, 200, 0, 0)...)
	b = append(b, msg(procEventExec, 300, 300)...)
	out := make(chan procEvent, 10)
	decodeProcEvents(b, out)
	close(out)
	var got []procEvent
	for e := range out {
		got = append(got, e)
	}
	want := []procEvent{{kind: evFork, ppid: 100, pid: 200}, {kind: evExec, pid: 300}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

// uniqueSleep starts a copy of sleep under a unique process name and
// returns its command; it is killed at cleanup.
func uniqueSleep(t *testing.T, bin string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// sleepCopy copies /bin/sleep to a file named uniquely (at most 15 bytes,
// so it is the process name).
func sleepCopy(t *testing.T) (path, name string) {
	t.Helper()
	name = fmt.Sprintf("lbdslp%d", os.Getpid()%100000000)
	path = filepath.Join(t.TempDir(), name)
	src, err := os.Open("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	return path, name
}

func testProcessTracker(t *testing.T, poll bool) {
	bin, name := sleepCopy(t)
	// A unique argv for the parameter match.
	param := fmt.Sprintf("1000.%d%d", os.Getpid(), time.Now().UnixNano()%1000000)
	rec := &recorder{}
	tr, err := NewProcessTracker(ProcessOptions{
		Processes: []ProcessSpec{
			{Name: "two", Process: name, Quorum: 2},
			{Name: "none", Process: name, QuorumMax: -1}, // default max: unlimited
			{Name: "argv", Process: "/bin/sleep", Params: []string{param}},
		},
		Poll: poll, PollInterval: 50 * time.Millisecond,
		OnUpdate: rec.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer func() { cancel(); tr.Wait() }()
	if err := tr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !poll && tr.Polling() {
		testutil.Skip(t, "process connector unavailable here")
	}
	for _, n := range []string{"two", "none", "argv"} {
		if s, _ := tr.State(n); s != StateDown {
			t.Errorf("%s initially %v, want down", n, s)
		}
	}
	wait := func(n string, want State, count int) {
		t.Helper()
		netns.Eventually(t, 30*time.Second, n+" "+want.String(), func() error {
			s, _ := tr.State(n)
			c, _ := tr.Count(n)
			if s != want || c != count {
				return errorf("%s: %v with %d processes", n, s, c)
			}
			return nil
		})
	}
	p1 := uniqueSleep(t, bin)
	wait("none", StateUp, 1)
	wait("two", StateDown, 1)
	p2 := uniqueSleep(t, bin)
	wait("two", StateUp, 2)
	p1.Process.Kill()
	p1.Wait()
	wait("two", StateDown, 1)
	p2.Process.Kill()
	p2.Wait()
	wait("none", StateDown, 0)

	a := exec.Command("/bin/sleep", param)
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	wait("argv", StateUp, 1)
	a.Process.Kill()
	a.Wait()
	wait("argv", StateDown, 0)
}

func TestProcessTrackerConnector(t *testing.T) {
	testutil.RequireRoot(t)
	testProcessTracker(t, false)
}

func TestProcessTrackerPoll(t *testing.T) { testProcessTracker(t, true) }

// TestProcessConnectorOutsideInitNetns: the connector only exists in the
// initial network namespace; elsewhere the tracker falls back to polling.
func TestProcessConnectorOutsideInitNetns(t *testing.T) {
	testutil.RequireRoot(t)
	lab := netns.New(t, netns.Options{})
	h := lab.Host("p")
	var openErr error
	var polling bool
	err := h.Do(func() error {
		c, err := openProcConnector()
		if err == nil {
			c.Close()
		}
		openErr = err
		tr, err := NewProcessTracker(ProcessOptions{Processes: []ProcessSpec{{Name: "x", Process: "x"}}})
		if err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer func() { cancel(); tr.Wait() }()
		if err := tr.Start(ctx); err != nil {
			return err
		}
		polling = tr.Polling()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if openErr == nil {
		// A kernel that offers the connector everywhere: no fallback needed.
		if polling {
			t.Error("tracker polls although the connector opened")
		}
		return
	}
	t.Logf("connector in a netns: %v", openErr)
	if !polling {
		t.Error("tracker does not poll although the connector is unavailable")
	}
}

func BenchmarkProcessExec(b *testing.B) {
	// The cost of one exec event for a tracker of 10 processes: /proc reads
	// plus matching, for a process that matches nothing.
	specs := make([]ProcessSpec, 10)
	for i := range specs {
		specs[i] = ProcessSpec{Name: fmt.Sprint(i), Process: fmt.Sprintf("daemon%d", i)}
	}
	specs[9].FullCommand = true
	tab := newProcessTable(procFS{root: "/proc"}, specs)
	pid := os.Getpid()
	now := time.Now()
	for b.Loop() {
		tab.exec(pid, now)
	}
}

func FuzzDecodeProcEvents(f *testing.F) {
	ev := make([]byte, nlmsgHdrLen+cnMsgHdrLen+procEventDataOff+16)
	binary.NativeEndian.PutUint32(ev[0:], uint32(len(ev)))
	binary.NativeEndian.PutUint32(ev[16:], cnIdxProc)
	binary.NativeEndian.PutUint32(ev[20:], cnValProc)
	binary.NativeEndian.PutUint32(ev[36:], procEventFork)
	f.Add(ev)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		out := make(chan procEvent, len(b)+1)
		decodeProcEvents(b, out) // must not panic or block
	})
}
