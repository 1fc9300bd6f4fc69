package notify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/pkg/script"
)

// recordingScript returns a command that appends "label arg..." to log,
// after sleeping delay (to show that a slow script does not lose order).
func recordingScript(t *testing.T, log, label string, delay string) *script.Command {
	t.Helper()
	c, err := script.Parse(fmt.Sprintf(`/bin/sh -c 'sleep %s; echo %s "$@" >> %s' %s`, delay, label, log, label))
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

func readLines(path string) []string {
	b, _ := os.ReadFile(path)
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func waitLines(t *testing.T, path string, n int) []string {
	t.Helper()
	var lines []string
	netns.Eventually(t, 30*time.Second, fmt.Sprintf("%d lines in %s", n, filepath.Base(path)), func() error {
		lines = readLines(path)
		if len(lines) < n {
			return fmt.Errorf("%d lines: %q", len(lines), lines)
		}
		return nil
	})
	return lines
}

func newMetrics(t *testing.T) *Metrics {
	t.Helper()
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestScriptNotifierOrder: the scripts of each transition run in
// transition order, the state's own script before "notify", with
// keepalived's arguments, even when every script is slow.
func TestScriptNotifierOrder(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	m := newMetrics(t)
	n, err := NewScriptNotifier(ScriptOptions{
		Scope: ScopeInstance, Name: "VI_1",
		Scripts: Scripts{
			Master:           recordingScript(t, log, "master", "0.05"),
			Backup:           recordingScript(t, log, "backup", "0"),
			Fault:            recordingScript(t, log, "fault", "0.02"),
			Stop:             recordingScript(t, log, "stop", "0"),
			MasterRxLowerPri: recordingScript(t, log, "rxlower", "0"),
			Any:              recordingScript(t, log, "notify", "0.01"),
		},
		Runner:  script.NewRunner(script.Options{}),
		Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []Event{
		{State: StateBackup, Priority: 100},
		{State: StateMaster, Priority: 100},
		{State: StateMasterRxLowerPri, Priority: 100},
		{State: StateMasterPriority, Priority: 110}, // FIFO only: no script
		{State: StateFault, Priority: 110},
		{State: StateBackup, Priority: 90},
		{State: StateStop, Priority: 90},
	} {
		n.Notify(ev) // Scope and Name default to the notifier's
	}
	n.Close(t.Context())
	want := []string{
		"backup",
		"notify INSTANCE VI_1 BACKUP 100",
		"master",
		"notify INSTANCE VI_1 MASTER 100",
		"rxlower",
		"fault",
		"notify INSTANCE VI_1 FAULT 110",
		"backup",
		"notify INSTANCE VI_1 BACKUP 90",
		"stop",
		"notify INSTANCE VI_1 STOP 90",
	}
	if diff := cmp.Diff(want, readLines(log)); diff != "" {
		t.Errorf("scripts run (-want +got):\n%s", diff)
	}
	if got := counterValue(m.scripts.WithLabelValues("success")); got != float64(len(want)) {
		t.Errorf("lbd_notify_scripts_total{result=success} = %v, want %d", got, len(want))
	}
}

func TestScriptNotifierGroupAndDeleted(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	g, err := NewScriptNotifier(ScriptOptions{
		Scope: ScopeGroup, Name: "VG_1",
		Scripts: Scripts{Master: recordingScript(t, log, "gmaster", "0"), Any: recordingScript(t, log, "gnotify", "0")},
		Runner:  script.NewRunner(script.Options{}),
	})
	if err != nil {
		t.Fatal(err)
	}
	g.Notify(Event{State: StateMaster, Priority: 200})
	g.Close(t.Context())
	i, err := NewScriptNotifier(ScriptOptions{
		Scope: ScopeInstance, Name: "VI_2",
		Scripts: Scripts{Deleted: recordingScript(t, log, "deleted", "0"), Any: recordingScript(t, log, "notify", "0")},
		Runner:  script.NewRunner(script.Options{}),
	})
	if err != nil {
		t.Fatal(err)
	}
	i.Notify(Event{State: StateDeleted, Priority: 50})
	i.Close(t.Context())
	want := []string{"gmaster", "gnotify GROUP VG_1 MASTER 0", "deleted", "notify INSTANCE VI_2 DELETED 50"}
	if diff := cmp.Diff(want, readLines(log)); diff != "" {
		t.Errorf("scripts run (-want +got):\n%s", diff)
	}
}

// TestScriptNotifierTimeoutAndFailures: a hanging script is killed at its
// timeout and the queue goes on; failures are counted, never fatal.
func TestScriptNotifierTimeoutAndFailures(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	hang, _ := script.Parse("/bin/sleep 1000")
	fail, _ := script.Parse("/bin/sh -c 'exit 4'")
	missing := script.Command{Args: []string{filepath.Join(dir, "missing")}}
	m := newMetrics(t)
	n, err := NewScriptNotifier(ScriptOptions{
		Scope: ScopeInstance, Name: "VI_1",
		Scripts: Scripts{Master: &hang, Backup: &fail, Fault: &missing, Any: recordingScript(t, log, "notify", "0")},
		Runner:  script.NewRunner(script.Options{KillGrace: 100 * time.Millisecond}),
		Timeout: 300 * time.Millisecond,
		Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(Event{State: StateMaster, Priority: 100})
	n.Notify(Event{State: StateBackup, Priority: 100})
	n.Notify(Event{State: StateFault, Priority: 100})
	n.Close(t.Context())
	want := []string{"notify INSTANCE VI_1 MASTER 100", "notify INSTANCE VI_1 BACKUP 100", "notify INSTANCE VI_1 FAULT 100"}
	if diff := cmp.Diff(want, readLines(log)); diff != "" {
		t.Errorf("notify runs (-want +got):\n%s", diff)
	}
	for result, want := range map[string]float64{"timeout": 1, "failure": 1, "exec_error": 1, "success": 3} {
		if got := counterValue(m.scripts.WithLabelValues(result)); got != want {
			t.Errorf("lbd_notify_scripts_total{result=%q} = %v, want %v", result, got, want)
		}
	}
}

func TestScriptNotifierQueueFullDrops(t *testing.T) {
	dir := t.TempDir()
	started, release := filepath.Join(dir, "started"), filepath.Join(dir, "release")
	block, err := script.Parse(fmt.Sprintf(`/bin/sh -c 'touch %s; while [ ! -e %s ]; do sleep 0.01; done'`, started, release))
	if err != nil {
		t.Fatal(err)
	}
	m := newMetrics(t)
	n, err := NewScriptNotifier(ScriptOptions{
		Scope: ScopeInstance, Name: "VI_1", Scripts: Scripts{Master: &block},
		Runner: script.NewRunner(script.Options{}), QueueLen: 1, Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(Event{State: StateMaster})
	netns.Eventually(t, 30*time.Second, "first script running", func() error {
		_, err := os.Stat(started)
		return err
	})
	n.Notify(Event{State: StateMaster}) // queued
	n.Notify(Event{State: StateMaster}) // queue full: dropped, Notify returns
	if got := counterValue(m.scripts.WithLabelValues("dropped")); got != 1 {
		t.Errorf("dropped = %v, want 1", got)
	}
	os.WriteFile(release, nil, 0o644)
	n.Close(t.Context())
	n.Notify(Event{State: StateMaster}) // after Close: dropped
	if got := counterValue(m.scripts.WithLabelValues("dropped")); got != 2 {
		t.Errorf("dropped = %v, want 2", got)
	}
	if got := counterValue(m.scripts.WithLabelValues("success")); got != 2 {
		t.Errorf("success = %v, want 2", got)
	}
}

func TestScriptNotifierCloseDeadline(t *testing.T) {
	hang, _ := script.Parse("/bin/sleep 1000")
	m := newMetrics(t)
	n, err := NewScriptNotifier(ScriptOptions{
		Scope: ScopeInstance, Name: "VI_1", Scripts: Scripts{Master: &hang, Backup: &hang},
		Runner: script.NewRunner(script.Options{KillGrace: 100 * time.Millisecond}), Timeout: time.Hour, Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(Event{State: StateMaster})
	n.Notify(Event{State: StateBackup})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	n.Close(ctx) // returns: the running script is killed, the next dropped
	if got := counterValue(m.scripts.WithLabelValues("canceled")); got != 1 {
		t.Errorf("canceled = %v, want 1", got)
	}
	if got := counterValue(m.scripts.WithLabelValues("dropped")); got != 1 {
		t.Errorf("dropped = %v, want 1", got)
	}
}

// counterValue reads a counter (the client's testutil would need another
// module in go.sum).
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
