package netns_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
	"golang.org/x/sys/unix"
)

func requireLab(t *testing.T) {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireCommand(t, "ip", "ping")
}

func TestPingAndLinkDown(t *testing.T) {
	requireLab(t)
	t.Parallel()
	lab := netns.New(t, netns.Options{})
	a, b := lab.Host("a"), lab.Host("b")
	lan := lab.Bridge("lan")
	lab.Connect(a, "eth0", lan, "192.0.2.1/24", "2001:db8::1/64")
	lab.Connect(b, "eth0", lan, "192.0.2.2/24", "2001:db8::2/64")

	for _, dst := range []string{"192.0.2.2", "2001:db8::2"} {
		if err := a.Ping(dst); err != nil {
			t.Fatalf("ping %s before link down: %v", dst, err)
		}
	}
	ll := b.WaitLinkLocal("eth0", 10*time.Second)
	if err := a.Ping(ll.WithZone("eth0").String()); err != nil {
		t.Fatalf("ping link-local %s: %v", ll, err)
	}

	a.SetLink("eth0", false)
	if err := a.Ping("192.0.2.2"); err == nil {
		t.Fatal("ping 192.0.2.2 succeeded with a's eth0 down")
	}
	a.SetLink("eth0", true)
	netns.Eventually(t, 20*time.Second, "ping after link up", func() error { return a.Ping("192.0.2.2") })

	// A direct host-to-host link, and a MAC we choose.
	lab.Link(a, "p2p", b, "p2p")
	a.SetMAC("p2p", "02:00:00:00:aa:01")
	a.AddAddr("p2p", "198.51.100.1/30")
	b.AddAddr("p2p", "198.51.100.2/30")
	if err := b.Ping("198.51.100.1"); err != nil {
		t.Fatal(err)
	}
	mac, err := b.Owner("p2p", "198.51.100.1", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if mac.String() != "02:00:00:00:aa:01" {
		t.Fatalf("owner of 198.51.100.1 = %s, want 02:00:00:00:aa:01", mac)
	}
	mac6, err := a.Owner("eth0", "2001:db8::2", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if want := b.MAC("eth0"); mac6.String() != want.String() {
		t.Fatalf("owner of 2001:db8::2 = %s, want %s", mac6, want)
	}
	if _, err := a.WhoHas("eth0", "192.0.2.99", time.Second); err == nil {
		t.Fatal("who-has 192.0.2.99 found an owner on a link without one")
	}
}

func TestDo(t *testing.T) {
	requireLab(t)
	t.Parallel()
	lab := netns.New(t, netns.Options{})
	a := lab.Host("a")
	own := nsInode(t)
	var inside uint64
	if err := a.Do(func() error {
		inside = nsInode(t)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(a.Path(), &st); err != nil {
		t.Fatal(err)
	}
	if inside != st.Ino || inside == own {
		t.Fatalf("inside Do: netns inode %d, want %d (caller's %d)", inside, st.Ino, own)
	}
	if got := nsInode(t); got != own {
		t.Fatalf("after Do: caller's netns inode %d, want %d", got, own)
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recover() = %v, want the panic of fn", r)
			}
		}()
		a.Do(func() error { panic("boom") })
	}()
	if err := a.Do(func() error { runtime.Goexit(); return nil }); err == nil {
		t.Fatal("Do returned nil after fn called runtime.Goexit")
	}
	if err := a.Do(func() error { return os.ErrExist }); err != os.ErrExist {
		t.Fatalf("Do returned %v, want fn's error", err)
	}
}

func nsInode(t *testing.T) uint64 {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestHTTPServer(t *testing.T) {
	requireLab(t)
	t.Parallel()
	lab := netns.New(t, netns.Options{})
	c, s := lab.Host("client"), lab.Host("real1")
	lan := lab.Bridge("lan")
	lab.Connect(c, "eth0", lan, "192.0.2.1/24")
	lab.Connect(s, "eth0", lan, "192.0.2.10/24")
	srv := s.HTTPServer("192.0.2.10:8080")
	body, err := c.HTTPGet("http://"+srv.Addr+"/", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if body != "real1\n" {
		t.Fatalf("body = %q, want %q", body, "real1\n")
	}
	// The caller's namespace has no such address: the server is only in s.
	if _, err := net.DialTimeout("tcp", srv.Addr, 200*time.Millisecond); err == nil {
		t.Fatal("server reachable from the test's own namespace")
	}
}

// TestCleanup builds a lab with every kind of resource in a subtest, and
// checks that nothing of it is left once the subtest has ended.
func TestCleanup(t *testing.T) {
	requireLab(t)
	testutil.RequireCommand(t, "sleep")
	rootLinks := linkNames(t)
	var prefix, bpffs string
	var pid int
	t.Run("lab", func(t *testing.T) {
		lab := netns.New(t, netns.Options{StopGrace: 500 * time.Millisecond})
		prefix = lab.Prefix()
		a, b := lab.Host("a"), lab.Host("b")
		lan := lab.Bridge("lan")
		lab.Connect(a, "eth0", lan, "192.0.2.1/24")
		lab.Connect(b, "eth0", lan, "192.0.2.2/24")
		lab.Link(a, "p2p", b, "p2p")
		bpffs = a.BPFFS()
		a.Capture("eth0", nil)
		p := b.Start("sleep", "600")
		pid = p.Pid()
		// A process that ignores SIGTERM must be killed all the same.
		stubborn := b.Start("sh", "-c", "trap '' TERM; echo ready; exec sleep 600")
		if err := stubborn.WaitOutput("ready", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(netns.MarkerDir, prefix)); err != nil {
			t.Fatalf("marker: %v", err)
		}
	})
	ents, _ := os.ReadDir(netns.NetnsDir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix+"-") {
			t.Errorf("namespace %s left behind", e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(netns.MarkerDir, prefix)); !os.IsNotExist(err) {
		t.Errorf("marker of %s left behind: %v", prefix, err)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("process %d left running", pid)
	}
	if mounted(t, bpffs) {
		t.Errorf("bpffs %s left mounted", bpffs)
	}
	if _, err := os.Stat(bpffs); !os.IsNotExist(err) {
		t.Errorf("bpffs dir %s left behind", bpffs)
	}
	for l := range linkNames(t) {
		if !rootLinks[l] && strings.Contains(l, prefix) {
			t.Errorf("interface %s left in the root namespace", l)
		}
	}
}

func linkNames(t *testing.T) map[string]bool {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, i := range ifs {
		m[i.Name] = true
	}
	return m
}

func mounted(t *testing.T, dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

// TestSweepOrphans fakes a killed test run: a namespace with a process in
// it and a marker naming a process that is gone.
func TestSweepOrphans(t *testing.T) {
	requireLab(t)
	testutil.RequireCommand(t, "sleep")
	prefix := fmt.Sprintf("zz%d", os.Getpid()%1000000)
	ns := prefix + "-x"
	t.Cleanup(func() { netns.Sweep(prefix) })
	if out, err := runCmd("ip", "netns", "add", ns); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// A process left in the namespace, not our child once started by sh.
	if out, err := runCmd("sh", "-c", "ip netns exec "+ns+" sleep 600 >/dev/null 2>&1 & echo $!"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if err := os.MkdirAll(netns.MarkerDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Pid 1 with a start time that is not pid 1's: the creator is gone.
	if err := os.WriteFile(filepath.Join(netns.MarkerDir, prefix), []byte("1 987654321\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := netns.SweepOrphans(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(netns.NetnsDir, ns)); !os.IsNotExist(err) {
		t.Fatalf("orphan namespace %s still there: %v", ns, err)
	}
	if _, err := os.Stat(filepath.Join(netns.MarkerDir, prefix)); !os.IsNotExist(err) {
		t.Fatalf("orphan marker still there: %v", err)
	}
	// A live lab is never swept.
	lab := netns.New(t, netns.Options{})
	lab.Host("a")
	if err := netns.SweepOrphans(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(lab.Host("a").Path()); err != nil {
		t.Fatalf("live lab swept: %v", err)
	}
}

func runCmd(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
