package netns

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// KeepalivedOptions tunes a keepalived peer.
type KeepalivedOptions struct {
	// VRRPOnly runs only the VRRP subsystem (-P): no checker process even
	// when the configuration has virtual servers.
	VRRPOnly bool
	// Args are added to the command line.
	Args []string
	// ReadyTimeout bounds the wait for the processes to be up (default
	// 30s).
	ReadyTimeout time.Duration
}

// KeepalivedProc is a running Debian keepalived.
type KeepalivedProc struct {
	*Proc
	host *Host
	// Dir holds the configuration and the pid files.
	Dir    string
	Config string
	// PIDFile, VRRPPIDFile, CheckersPIDFile and BFDPIDFile are the pid
	// files given with -p, -r, -c and -b.
	PIDFile, VRRPPIDFile, CheckersPIDFile, BFDPIDFile string
}

// Keepalived writes cfg to a file and runs keepalived in the foreground in
// host h (`-n -l -D -G -f CFG` with pid files of its own), waits until
// the main process and, when cfg has a vrrp_instance, the VRRP child are
// running, and returns a handle.
//
// Many keepalived instances run on one machine at once, one per
// namespace. Traced (keepalived 2.2.7): the only files an instance
// creates are its pid files, and keepalived refuses to start while the
// process named in its main pid file is alive, so each instance here gets
// its own -p/-r/-c/-b files. The configuration is copied to a memfd; no
// /run/keepalived, no lock, no unix socket of its own. The `instance` and
// `net_namespace` keywords and -s/--namespace only rename the default pid
// files (or enter a namespace by name) and are not needed under `ip netns
// exec`. Still shared: the dumps written on SIGUSR1/SIGUSR2/JSON signal
// (/tmp/keepalived.data, .stats, .json), so read one right after asking
// for it, and one keepalived at a time.
func Keepalived(t testing.TB, h *Host, cfg string, opts KeepalivedOptions) *KeepalivedProc {
	t.Helper()
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 30 * time.Second
	}
	h.mu.Lock()
	h.nproc++
	n := h.nproc
	h.mu.Unlock()
	dir := filepath.Join(t.TempDir(), fmt.Sprintf("keepalived-%s-%d", h.name, n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("netns: keepalived dir: %v", err)
	}
	k := &KeepalivedProc{
		host:            h,
		Dir:             dir,
		Config:          filepath.Join(dir, "keepalived.conf"),
		PIDFile:         filepath.Join(dir, "keepalived.pid"),
		VRRPPIDFile:     filepath.Join(dir, "vrrp.pid"),
		CheckersPIDFile: filepath.Join(dir, "checkers.pid"),
		BFDPIDFile:      filepath.Join(dir, "bfd.pid"),
	}
	if err := os.WriteFile(k.Config, []byte(cfg), 0o644); err != nil {
		t.Fatalf("netns: keepalived config: %v", err)
	}
	args := []string{
		"-n", "-l", "-D", "-G",
		"-f", k.Config,
		"-p", k.PIDFile, "-r", k.VRRPPIDFile, "-c", k.CheckersPIDFile, "-b", k.BFDPIDFile,
	}
	if opts.VRRPOnly {
		args = append(args, "-P")
	}
	args = append(args, opts.Args...)
	p, err := h.start("keepalived", args, nil)
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	p.term = func() { syscall.Kill(p.Pid(), syscall.SIGTERM) }
	k.Proc = p
	wantVRRP := strings.Contains(cfg, "vrrp_instance")
	err = Poll(opts.ReadyTimeout, func() error {
		if ok, err := p.Exited(); ok {
			return Permanent(fmt.Errorf("keepalived exited (%v)", err))
		}
		if !pidFileAlive(k.PIDFile) {
			return fmt.Errorf("no live process in %s", k.PIDFile)
		}
		if wantVRRP && !pidFileAlive(k.VRRPPIDFile) {
			return fmt.Errorf("no live process in %s", k.VRRPPIDFile)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("netns: keepalived in %s not ready: %v\n%s", h.name, err, tail(p.Output(), 4096))
	}
	return k
}

func pidFileAlive(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return false
	}
	return syscall.Kill(pid, 0) == nil && !isZombie(pid)
}

// Stop (Proc.Stop) sends SIGTERM to keepalived's main process only: it
// stops its children itself, the VRRP child sending priority-0 adverts
// and removing its VIPs. After the lab's StopGrace the group is killed.

// Kill sends SIGKILL to every keepalived process of this instance: a
// crash, no priority-0 advert, VIPs left on the interface.
func (k *KeepalivedProc) Kill() error { return k.Proc.Kill() }

// Reload sends SIGHUP to the main process.
func (k *KeepalivedProc) Reload() error { return syscall.Kill(k.Pid(), syscall.SIGHUP) }

// Log returns everything keepalived logged so far.
func (k *KeepalivedProc) Log() string { return k.Output() }

// WaitState waits until keepalived logs that vrrp_instance inst entered
// state ("MASTER", "BACKUP", "FAULT"), and fails if it does not in time.
func (k *KeepalivedProc) WaitState(inst, state string, timeout time.Duration) error {
	return k.WaitOutput(fmt.Sprintf("(%s) Entering %s STATE", inst, state), timeout)
}
