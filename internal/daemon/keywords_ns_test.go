package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lbdproject/lbd/internal/daemon"
	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/internal/netns"
)

// Small keywords of vrrp_instance and global_defs (keywords.go), on real
// lbd processes.

// kwInst is an instance on eth0 with extra lines in its block.
func kwInst(name string, vrid, prio int, extra string, vips ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "vrrp_instance %s {\n  interface eth0\n  virtual_router_id %d\n  priority %d\n  version 3\n  advert_int 0.5\n", name, vrid, prio)
	if extra != "" {
		b.WriteString("  " + strings.ReplaceAll(strings.TrimSpace(extra), "\n", "\n  ") + "\n")
	}
	b.WriteString("  virtual_ipaddress {\n")
	for _, v := range vips {
		fmt.Fprintf(&b, "    %s\n", v)
	}
	b.WriteString("  }\n}\n")
	return b.String()
}

// readSysctl reads a sysctl inside h.
func readSysctl(t *testing.T, h *netns.Host, key string) string {
	t.Helper()
	var v string
	err := h.Do(func() error {
		b, err := os.ReadFile(filepath.Join("/proc/sys", key))
		v = strings.TrimSpace(string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDaemonPromoteSecondaries: an instance with promote_secondaries sets
// net.ipv4.conf.eth0.promote_secondaries while it runs (in lbd's
// namespace), so that deleting eth0's primary address keeps the VIP of
// the same /24; a reload dropping the keyword restores 0, one adding it
// sets 1, and SIGTERM restores 0.
func TestDaemonPromoteSecondaries(t *testing.T) {
	k1, _ := oneHostLAN(t)
	key := "net/ipv4/conf/eth0/promote_secondaries"
	if got := readSysctl(t, k1, key); got != "0" {
		t.Fatalf("%s = %s before lbd, want 0", key, got)
	}
	with := kwInst("VI_1", 51, 255, "promote_secondaries", "192.0.2.100/24")
	without := kwInst("VI_1", 51, 255, "", "192.0.2.100/24")
	n := daemontest.Start(t, k1, with, "--datapath", "off")
	if err := n.WaitState("VI_1", "MASTER", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := readSysctl(t, k1, key); got != "1" {
		t.Fatalf("%s = %s while lbd runs with promote_secondaries, want 1", key, got)
	}
	if !k1.HasAddr("eth0", "192.0.2.100") {
		t.Fatal("VIP 192.0.2.100 not on eth0")
	}
	// The VIP is a secondary of 192.0.2.1/24: deleting the primary
	// promotes it instead of deleting it.
	k1.DelAddr("eth0", "192.0.2.1/24")
	if !k1.HasAddr("eth0", "192.0.2.100") {
		t.Fatalf("VIP gone with the primary address: %v", k1.Addrs("eth0"))
	}
	k1.AddAddr("eth0", "192.0.2.1/24")

	for _, step := range []struct {
		cfg, want string
	}{{without, "0"}, {with, "1"}} {
		if err := os.WriteFile(n.ConfigPath, []byte(step.cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		reload(t, n)
		if got := readSysctl(t, k1, key); got != step.want {
			t.Fatalf("%s = %s after a reload to:\n%s\nwant %s", key, got, step.cfg, step.want)
		}
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := readSysctl(t, k1, key); got != "0" {
		t.Fatalf("%s = %s after lbd stopped, want 0 restored", key, got)
	}
}

// TestDaemonUnicastFaultNoPeer: an instance with unicast_src_ip and
// unicast_fault_no_peer but no unicast_peer runs in FAULT (status says
// why, text and JSON) instead of advertising by multicast; a reload that
// adds a peer restarts it out of FAULT, and it becomes MASTER advertising
// to that peer only.
func TestDaemonUnicastFaultNoPeer(t *testing.T) {
	k1, client := oneHostLAN(t)
	wire := client.Capture("eth0", func(f *netns.Frame) bool { return f.VRRP != nil })
	noPeer := kwInst("VI_1", 51, 150, "unicast_src_ip 192.0.2.1\nunicast_fault_no_peer", "192.0.2.100/24")
	withPeer := kwInst("VI_1", 51, 150, "unicast_src_ip 192.0.2.1\nunicast_fault_no_peer\nunicast_peer {\n  192.0.2.3\n}", "192.0.2.100/24")
	n := daemontest.Start(t, k1, noPeer, "--datapath", "off")
	if err := n.WaitState("VI_1", "FAULT", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	in, err := n.Instance("VI_1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(in.Faults, "; "), "unicast_fault_no_peer: no unicast_peer") {
		t.Errorf("faults %q: want the unicast_fault_no_peer reason", in.Faults)
	}
	text, err := k1.Run(n.Binary, "status", "--run-dir", n.RunDir)
	if err != nil || !strings.Contains(text, "VI_1 is in FAULT: setup: unicast_fault_no_peer: no unicast_peer") {
		t.Errorf("lbd status (%v) does not say why VI_1 is in FAULT:\n%s", err, text)
	}
	if line, _ := logLine(n.Log(), "vrrp_instance starts in FAULT", "unicast_fault_no_peer"); line == "" {
		t.Errorf("no log line for the FAULT:\n%s", n.Log())
	}

	if err := os.WriteFile(n.ConfigPath, []byte(withPeer), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := reload(t, n); !strings.Contains(out, "vrrp_instance VI_1 restarted: unicast peers changed") {
		t.Errorf("lbd reload:\n%s", out)
	}
	if err := n.WaitState("VI_1", "MASTER", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := wire.WaitFor(30*time.Second, func(f *netns.Frame) bool { return f.VRRP != nil }); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, f := range wire.Frames() {
		if f.IP == nil || f.IP.Dst.String() != "192.0.2.3" {
			t.Errorf("advert not to the unicast peer: %v", f)
		}
	}
}

// vrrpRecvBuffers returns SO_RCVBUF of every raw IPv4 socket of protocol
// 112 that process pid holds (lbd's VRRP sockets), read on a duplicate of
// its descriptor (pidfd_getfd).
func vrrpRecvBuffers(t *testing.T, pid int) []int {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/raw", pid))
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, l := range strings.Split(string(raw), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) > 9 && strings.HasSuffix(f[1], ":0070") {
			inodes[f[9]] = true
		}
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pidfd)
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range ents {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name()))
		ino, ok := strings.CutPrefix(link, "socket:[")
		if err != nil || !ok || !inodes[strings.TrimSuffix(ino, "]")] {
			continue
		}
		target, _ := strconv.Atoi(e.Name())
		fd, err := unix.PidfdGetfd(pidfd, target, 0)
		if err != nil {
			t.Fatalf("pidfd_getfd %d: %v", target, err)
		}
		v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestDaemonRecvBuffers: the VRRP socket's receive buffer is the sum of
// its instances' shares: vrrp_rx_bufs_policy MTU x vrrp_rx_bufs_multiplier
// for one, kernel_rx_buf_size for the other, as keepalived sums them; the
// kernel reports twice the size. A reload to vrrp_rx_bufs_policy NUMBER
// resizes it.
func TestDaemonRecvBuffers(t *testing.T) {
	k1, _ := oneHostLAN(t)
	insts := kwInst("VI_1", 51, 100, "", "192.0.2.100/24") +
		kwInst("VI_2", 52, 100, "kernel_rx_buf_size 10000", "192.0.2.101/24")
	cfg := func(global string) string { return "global_defs {\n" + global + "\n}\n" + insts }
	n := daemontest.Start(t, k1, cfg("vrrp_rx_bufs_policy MTU\nvrrp_rx_bufs_multiplier 4"), "--datapath", "off")
	// veth MTU 1500: 4 x 1500 + 10000.
	want := 2 * (4*1500 + 10000)
	if rbs := vrrpRecvBuffers(t, n.Proc.Pid()); len(rbs) != 1 || rbs[0] != want {
		t.Fatalf("vrrp socket receive buffers %v, want [%d]", rbs, want)
	}
	if line, _ := logLine(n.Log(), "vrrp socket receive buffer set", "bytes=16000"); line == "" {
		t.Errorf("no log line for the receive buffer:\n%s", n.Log())
	}

	if err := os.WriteFile(n.ConfigPath, []byte(cfg("vrrp_rx_bufs_policy 20000")), 0o644); err != nil {
		t.Fatal(err)
	}
	reload(t, n)
	want = 2 * (20000 + 10000)
	if rbs := vrrpRecvBuffers(t, n.Proc.Pid()); len(rbs) != 1 || rbs[0] != want {
		t.Fatalf("after the reload: vrrp socket receive buffers %v, want [%d]", rbs, want)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
}

// fileMode waits for path to exist (vips.json is written in the
// background) and returns its permission bits.
func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	var mode os.FileMode
	err := netns.Poll(30*time.Second, func() error {
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		mode = fi.Mode().Perm()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return mode
}

// TestDaemonUmask: global_defs umask is lbd's file creation mask from
// before its first file: with 0077 the run directory, pid file and
// vips.json are private; a reload to IROTH|IWOTH applies at once (the
// next vips.json, rewritten when a VIP is added, is 0640); a start-only
// setting changed by the same reload is reported as such.
func TestDaemonUmask(t *testing.T) {
	k1, _ := oneHostLAN(t)
	cfg := func(umask string, vips ...string) string {
		return "global_defs {\n  umask " + umask + "\n}\n" + kwInst("VI_1", 51, 255, "", vips...)
	}
	n := daemontest.Start(t, k1, cfg("0077", "192.0.2.100/24"), "--datapath", "off")
	if err := n.WaitState("VI_1", "MASTER", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	vips := filepath.Join(n.RunDir, daemon.VIPsName)
	for _, f := range []struct {
		path string
		want os.FileMode
	}{
		{n.RunDir, 0o700},
		{filepath.Join(n.RunDir, daemon.PIDName), 0o600},
		{vips, 0o600},
	} {
		if got := fileMode(t, f.path); got != f.want {
			t.Errorf("%s: mode %04o with umask 0077, want %04o", f.path, got, f.want)
		}
	}

	// The reload also changes vrrp_priority, which applies at start only:
	// the reload says so.
	if err := os.WriteFile(n.ConfigPath, []byte(cfg("IROTH|IWOTH\n  vrrp_priority 5", "192.0.2.100/24", "192.0.2.101/24")), 0o644); err != nil {
		t.Fatal(err)
	}
	out := reload(t, n)
	if !strings.Contains(out, "global_defs umask 077 -> 006") {
		t.Errorf("lbd reload does not report the umask:\n%s", out)
	}
	if !strings.Contains(out, "global_defs vrrp_priority 0 -> 5: applies when lbd next starts") {
		t.Errorf("lbd reload does not report the start-only vrrp_priority:\n%s", out)
	}
	err := netns.Poll(30*time.Second, func() error {
		b, err := os.ReadFile(vips)
		if err != nil || !strings.Contains(string(b), "192.0.2.101") {
			return fmt.Errorf("vips.json without the new VIP (%v)", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := fileMode(t, vips); got != 0o640 {
		t.Errorf("vips.json rewritten after the reload: mode %04o, want 0640 (umask 006)", got)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
}

// comm reads /proc/PID/comm.
func comm(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestDaemonProcessName: global_defs process_names names lbd
// keepalived_vrrp (/proc/PID/comm, what ps and pgrep see); a reload to a
// vrrp_process_name longer than 15 bytes renames it to its first 15.
func TestDaemonProcessName(t *testing.T) {
	k1, _ := oneHostLAN(t)
	inst := kwInst("VI_1", 51, 100, "", "192.0.2.100/24")
	n := daemontest.Start(t, k1, "global_defs {\n  process_names\n}\n"+inst, "--datapath", "off")
	if got := comm(t, n.Proc.Pid()); got != "keepalived_vrrp" {
		t.Errorf("comm %q with process_names, want keepalived_vrrp", got)
	}
	if err := os.WriteFile(n.ConfigPath, []byte("global_defs {\n  process_name lbparent\n  vrrp_process_name lbd_vrrp_of_site_a\n}\n"+inst), 0o644); err != nil {
		t.Fatal(err)
	}
	reload(t, n)
	if got := comm(t, n.Proc.Pid()); got != "lbd_vrrp_of_sit" {
		t.Errorf("comm %q after the reload, want lbd_vrrp_of_sit", got)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
}
