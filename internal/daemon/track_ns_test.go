package daemon_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/daemon"
	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

// Namespace tests of tracking: one lbd, alone on its LAN (so every
// instance is MASTER unless tracking says otherwise), with one instance
// per kind of tracker; each tracker is moved and the instance's effective
// priority or FAULT is read back from lbd status.

// scriptDir returns a directory for test scripts that lbd (root) may run:
// root-owned, not writable by others (keepalived's script security).
func scriptDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lbd-ops-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func writeScript(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func touch(t *testing.T, path string, on bool) {
	t.Helper()
	if on {
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

// writeAtomic replaces a file's content by renaming a new file over it,
// as an operator's script would.
func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// waitInstance polls lbd's status (on its control socket: no process
// per poll on a loaded machine) until cond accepts the instance.
func waitInstance(t *testing.T, n *daemontest.Node, name, what string, cond func(*daemon.InstanceStatus) error) {
	t.Helper()
	netns.Eventually(t, 30*time.Second, name+" "+what, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st, err := daemon.FetchStatus(ctx, n.RunDir)
		if err != nil {
			return err
		}
		in := st.Instance(name)
		if in == nil {
			return fmt.Errorf("no vrrp_instance %s", name)
		}
		return cond(in)
	})
}

func wantPrio(state string, prio int) func(*daemon.InstanceStatus) error {
	return func(in *daemon.InstanceStatus) error {
		if in.State != state || (prio > 0 && in.Priority != prio) {
			return fmt.Errorf("%s at priority %d (faults %q, trackers %+v); want %s at %d", in.State, in.Priority, in.Faults, in.Trackers, state, prio)
		}
		return nil
	}
}

// startProcess runs a copy of sleep under a unique name (the kernel's
// process name is the file name), so that no other process on the
// machine matches it.
func startProcess(t *testing.T, dir, name string) *exec.Cmd {
	t.Helper()
	bin := filepath.Join(dir, name)
	if _, err := os.Stat(bin); err != nil {
		src, err := os.Open("/bin/sleep")
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(dst, src); err != nil {
			t.Fatal(err)
		}
		dst.Close()
	}
	cmd := exec.Command(bin, "3600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

func stopProcess(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Kill()
	cmd.Wait()
}

func randName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func TestDaemonTrackers(t *testing.T) {
	testutil.RequireRoot(t)
	lab := netns.New(t, netns.Options{})
	k1 := lab.Host("k1")
	br := lab.Bridge("lan")
	lab.Connect(k1, "eth0", br, "192.0.2.1/24")
	lab.Connect(k1, "eth1", br, "192.0.2.11/24")
	lab.Connect(k1, "eth2", br, "192.0.2.21/24")

	dir := scriptDir(t)
	writeScript(t, filepath.Join(dir, "check"), `exec test -e "$(dirname "$0")/ok_$1"`)
	writeScript(t, filepath.Join(dir, "slow"), `[ -e "$(dirname "$0")/hang" ] && exec sleep 30
exit 0`)
	touch(t, filepath.Join(dir, "ok_w"), true)
	touch(t, filepath.Join(dir, "ok_f"), true)
	tp, tp0 := randName("lbdtp"), randName("lbdtq")
	p1 := startProcess(t, dir, tp)
	p0 := startProcess(t, dir, tp0)

	inst := func(name string, vrid int, body string) string {
		return fmt.Sprintf(`vrrp_instance %s {
  interface eth0
  virtual_router_id %d
  priority 100
  version 3
  advert_int 0.1
  virtual_ipaddress {
    192.0.2.%d/24
  }
%s
}
`, name, vrid, 100+vrid, body)
	}
	cfg := fmt.Sprintf(`
vrrp_script chk_w {
  script "%[1]s/check w"
  interval 0.2
  weight -40
}
vrrp_script chk_f {
  script "%[1]s/check f"
  interval 0.2
}
vrrp_script chk_slow {
  script %[1]s/slow
  interval 2
  timeout 1.5
}
track_file tf {
  file %[1]s/tf
  weight 5
}
track_file tf0 {
  file %[1]s/tf0
}
vrrp_track_process tp {
  process %[2]s
  weight 30
}
vrrp_track_process tp0 {
  process %[3]s
}
`, dir, tp, tp0) +
		inst("VI_IF", 1, `  track_interface {
    eth1 weight -30
    eth2
  }`) +
		inst("VI_SC", 2, `  track_script {
    chk_w
    chk_f
    chk_slow
  }`) +
		inst("VI_FILE", 3, `  track_file {
    tf
    tf0 weight 0
  }`) +
		inst("VI_PROC", 4, `  track_process {
    tp
    tp0 weight 0
  }`)
	n := daemontest.Start(t, k1, cfg)

	// Everything up: interfaces add nothing, scripts succeed, the files
	// are missing (0), both processes run.
	waitInstance(t, n, "VI_IF", "MASTER at 100", wantPrio("MASTER", 100))
	waitInstance(t, n, "VI_SC", "MASTER at 100", wantPrio("MASTER", 100))
	waitInstance(t, n, "VI_FILE", "MASTER at 100", wantPrio("MASTER", 100))
	waitInstance(t, n, "VI_PROC", "MASTER at 130", wantPrio("MASTER", 130))

	in, err := n.Instance("VI_IF")
	if err != nil {
		t.Fatal(err)
	}
	want := []daemon.TrackerStatus{
		{Kind: "interface", Name: "eth0", State: "up"},
		{Kind: "interface", Name: "eth1", State: "up", Weight: -30},
		{Kind: "interface", Name: "eth2", State: "up"},
	}
	if fmt.Sprint(in.Trackers) != fmt.Sprint(want) {
		t.Errorf("VI_IF trackers %+v, want %+v", in.Trackers, want)
	}

	t.Run("interface", func(t *testing.T) {
		k1.SetLink("eth1", false)
		waitInstance(t, n, "VI_IF", "at 70 with eth1 down", wantPrio("MASTER", 70))
		k1.SetLink("eth2", false)
		waitInstance(t, n, "VI_IF", "FAULT with eth2 down", wantPrio("FAULT", 0))
		in, _ := n.Instance("VI_IF")
		if !strings.Contains(strings.Join(in.Faults, ";"), "track_interface eth2: down") {
			t.Errorf("faults %q", in.Faults)
		}
		k1.SetLink("eth2", true)
		k1.SetLink("eth1", true)
		waitInstance(t, n, "VI_IF", "back at 100", wantPrio("MASTER", 100))
		// The instance's own interface: FAULT without dont_track_primary.
		k1.SetLink("eth0", false)
		waitInstance(t, n, "VI_IF", "FAULT with eth0 down", wantPrio("FAULT", 0))
		k1.SetLink("eth0", true)
		waitInstance(t, n, "VI_IF", "back with eth0", wantPrio("MASTER", 100))
	})

	t.Run("script", func(t *testing.T) {
		touch(t, filepath.Join(dir, "ok_w"), false)
		waitInstance(t, n, "VI_SC", "at 60 with chk_w failing", wantPrio("MASTER", 60))
		touch(t, filepath.Join(dir, "ok_f"), false)
		waitInstance(t, n, "VI_SC", "FAULT with chk_f failing", wantPrio("FAULT", 0))
		touch(t, filepath.Join(dir, "ok_f"), true)
		touch(t, filepath.Join(dir, "ok_w"), true)
		waitInstance(t, n, "VI_SC", "back at 100", wantPrio("MASTER", 100))
		// A script that hangs is killed at its timeout: a failure.
		touch(t, filepath.Join(dir, "hang"), true)
		waitInstance(t, n, "VI_SC", "FAULT with chk_slow timing out", wantPrio("FAULT", 0))
		touch(t, filepath.Join(dir, "hang"), false)
		waitInstance(t, n, "VI_SC", "back", wantPrio("MASTER", 100))
		m, err := n.Metrics()
		if err != nil {
			t.Fatal(err)
		}
		if v := m.Sum("lbd_track_script_runs_total", "script", "chk_slow", "result", "timeout"); v == 0 {
			t.Error("no timed-out run of chk_slow counted")
		}
		if v, ok := m.Get("lbd_track_up", "kind", "script", "name", "chk_w"); !ok || v != 1 {
			t.Errorf("lbd_track_up chk_w %v %v", v, ok)
		}
	})

	t.Run("file", func(t *testing.T) {
		writeAtomic(t, filepath.Join(dir, "tf"), "3\n")
		waitInstance(t, n, "VI_FILE", "at 115 with tf 3", wantPrio("MASTER", 115))
		writeAtomic(t, filepath.Join(dir, "tf"), "-4\n")
		waitInstance(t, n, "VI_FILE", "at 80 with tf -4", wantPrio("MASTER", 80))
		writeAtomic(t, filepath.Join(dir, "tf0"), "1\n")
		waitInstance(t, n, "VI_FILE", "FAULT with tf0 1", wantPrio("FAULT", 0))
		writeAtomic(t, filepath.Join(dir, "tf0"), "0\n")
		os.Remove(filepath.Join(dir, "tf"))
		waitInstance(t, n, "VI_FILE", "back at 100", wantPrio("MASTER", 100))
	})

	t.Run("process", func(t *testing.T) {
		stopProcess(t, p1)
		waitInstance(t, n, "VI_PROC", "at 100 without tp", wantPrio("MASTER", 100))
		stopProcess(t, p0)
		waitInstance(t, n, "VI_PROC", "FAULT without tp0", wantPrio("FAULT", 0))
		startProcess(t, dir, tp0)
		startProcess(t, dir, tp)
		waitInstance(t, n, "VI_PROC", "back at 130", wantPrio("MASTER", 130))
	})

	if err := n.Stop(); err != nil {
		t.Error(err)
	}
}
