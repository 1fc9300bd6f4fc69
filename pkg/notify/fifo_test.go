package notify

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/lbdproject/lbd/internal/testutil"
	"github.com/lbdproject/lbd/pkg/script"
)

var fifoEvents = []Event{
	{ScopeInstance, "VI_1", StateBackup, 100},
	{ScopeInstance, "VI_1", StateMaster, 100},
	{ScopeGroup, "VG_1", StateMaster, 100},
	{ScopeInstance, "VI_1", StateMasterPriority, 110},
	{ScopeInstance, "VI_1", StateFault, 110},
}

var fifoLines = []string{
	`INSTANCE "VI_1" BACKUP 100`,
	`INSTANCE "VI_1" MASTER 100`,
	`GROUP "VG_1" MASTER 0`,
	`INSTANCE "VI_1" MASTER_PRIORITY 110`,
	`INSTANCE "VI_1" FAULT 110`,
}

func TestFIFOReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vrrp.fifo")
	m := newMetrics(t)
	f, err := OpenFIFO(FIFOOptions{Path: path, Kind: "vrrp_notify_fifo", Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO || st.Mode&0o777 != 0o644 {
		t.Fatalf("fifo: %v, mode %o; want a FIFO with mode 0644", err, st.Mode)
	}
	// The reader opens after the writer (which never waited for it).
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, ev := range fifoEvents {
		f.Write(ev)
	}
	sc := bufio.NewScanner(r)
	var got []string
	for len(got) < len(fifoLines) && sc.Scan() {
		got = append(got, sc.Text())
	}
	if diff := cmp.Diff(fifoLines, got); diff != "" {
		t.Errorf("lines read (-want +got):\n%s", diff)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("FIFO created by lbd still there after Close: %v", err)
	}
	if v := counterValue(m.fifo.WithLabelValues("written")); v != float64(len(fifoLines)) {
		t.Errorf("written = %v", v)
	}
}

// TestFIFONoReaderNeverBlocks: with nobody reading, lines fill the pipe and
// the rest are dropped; Write returns every time.
func TestFIFONoReaderNeverBlocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	m := newMetrics(t)
	f, err := OpenFIFO(FIFOOptions{Path: path, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const n = 5000 // ~30 bytes each: well over a 64 KiB pipe
	for i := range n {
		f.Write(Event{ScopeInstance, fmt.Sprintf("VI_%04d", i), StateMaster, 100})
	}
	written, dropped := counterValue(m.fifo.WithLabelValues("written")), counterValue(m.fifo.WithLabelValues("dropped"))
	if written+dropped != n || dropped == 0 || written == 0 {
		t.Errorf("written %v, dropped %v; want both, summing to %d", written, dropped, n)
	}
	// What was written is whole lines, in order.
	r, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, 1<<20)
	k, _ := r.Read(buf)
	lines := strings.Split(strings.TrimSuffix(string(buf[:k]), "\n"), "\n")
	if len(lines) == 0 || lines[0] != `INSTANCE "VI_0000" MASTER 100` {
		t.Errorf("first line %q", lines[0])
	}
	for i, l := range lines {
		if want := fmt.Sprintf(`INSTANCE "VI_%04d" MASTER 100`, i); l != want {
			t.Fatalf("line %d = %q, want %q", i, l, want)
		}
	}
}

// TestFIFOScript: vrrp_notify_fifo_script is started with the FIFO's path
// as its last argument, reads the lines, and is stopped by Close.
func TestFIFOScript(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fifo")
	out := filepath.Join(dir, "out")
	c, err := script.Parse(fmt.Sprintf(`/bin/sh -c 'while read line; do echo "$line" >> %s; done < "$1"' sh`, out))
	if err != nil {
		t.Fatal(err)
	}
	f, err := OpenFIFO(FIFOOptions{Path: path, Script: &c, Runner: script.NewRunner(script.Options{KillGrace: 100 * time.Millisecond})})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range fifoEvents {
		f.Write(ev)
	}
	got := waitLines(t, out, len(fifoLines))
	if diff := cmp.Diff(fifoLines, got); diff != "" {
		t.Errorf("lines the script read (-want +got):\n%s", diff)
	}
	f.Close() // returns once the script is gone
}

func TestFIFOExisting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFIFO(FIFOOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("a FIFO lbd did not create was removed: %v", err)
	}
	reg := filepath.Join(dir, "regular")
	os.WriteFile(reg, nil, 0o644)
	if _, err := OpenFIFO(FIFOOptions{Path: reg}); err == nil || !strings.Contains(err.Error(), "not a FIFO") {
		t.Errorf("regular file: %v, want a not-a-FIFO error", err)
	}
	if _, err := OpenFIFO(FIFOOptions{Path: filepath.Join(dir, "nodir", "fifo")}); err == nil {
		t.Error("FIFO in a missing directory: no error")
	}
}

func TestFIFOOwner(t *testing.T) {
	testutil.RequireRoot(t)
	nobody, err := script.LookupUser("nobody", "")
	if err != nil {
		testutil.Skip(t, "needs user nobody: "+err.Error())
	}
	path := filepath.Join(t.TempDir(), "fifo")
	f, err := OpenFIFO(FIFOOptions{Path: path, Owner: &nobody})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil || st.Uid != nobody.UID || st.Gid != nobody.GID {
		t.Errorf("owner %d:%d (%v), want %v", st.Uid, st.Gid, err, nobody)
	}
}

// TestFIFOAndScriptsTogether: the FIFO sees the same transitions in the
// same order as the notify scripts.
func TestFIFOAndScriptsTogether(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	out := filepath.Join(dir, "fifo.out")
	reader, _ := script.Parse(fmt.Sprintf(`/bin/sh -c 'while read line; do echo "$line" >> %s; done < "$1"' sh`, out))
	r := script.NewRunner(script.Options{KillGrace: 100 * time.Millisecond})
	f, err := OpenFIFO(FIFOOptions{Path: filepath.Join(dir, "fifo"), Script: &reader, Runner: r})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := NewScriptNotifier(ScriptOptions{Scope: ScopeInstance, Name: "VI_1",
		Scripts: Scripts{Any: recordingScript(t, log, "notify", "0")}, Runner: r})
	if err != nil {
		t.Fatal(err)
	}
	states := []State{StateBackup, StateMaster, StateFault, StateBackup, StateMaster}
	for i, s := range states {
		ev := Event{ScopeInstance, "VI_1", s, uint8(100 + i)}
		n.Notify(ev)
		f.Write(ev)
	}
	n.Close(t.Context())
	fifo := waitLines(t, out, len(states))
	scripts := readLines(log)
	for i, s := range states {
		if want := fmt.Sprintf(`INSTANCE "VI_1" %s %d`, s, 100+i); fifo[i] != want {
			t.Errorf("fifo line %d = %q, want %q", i, fifo[i], want)
		}
		if want := fmt.Sprintf("notify INSTANCE VI_1 %s %d", s, 100+i); scripts[i] != want {
			t.Errorf("script call %d = %q, want %q", i, scripts[i], want)
		}
	}
}

// BenchmarkFIFOWrite is one line to a FIFO that a reader drains.
func BenchmarkFIFOWrite(b *testing.B) {
	path := filepath.Join(b.TempDir(), "fifo")
	f, err := OpenFIFO(FIFOOptions{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	go io.Copy(io.Discard, r)
	ev := Event{ScopeInstance, "VI_1", StateMaster, 100}
	for b.Loop() {
		f.Write(ev)
	}
}
