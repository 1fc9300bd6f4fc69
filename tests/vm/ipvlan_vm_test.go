package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/lbdproject/lbd/internal/daemon"
	"github.com/lbdproject/lbd/pkg/netutil"
)

// The host kernel lacks ipvlan (CONFIG_IPVLAN unset), so use_ipvlan is
// tested here, on Debian's kernel: real lbd daemons (this test binary
// re-executed as "lbd run", see TestMain) in namespaces of their own.

// childEnv makes the test binary run as lbd: daemon.Run with the config
// and run directory of these variables, until SIGTERM.
const childEnv = "LBD_VM_CHILD_LBD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runLBD())
	}
	os.Exit(m.Run())
}

func runLBD() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	err := daemon.Run(ctx, daemon.Options{ConfigPath: os.Getenv("LBD_VM_CONFIG"), RunDir: os.Getenv("LBD_VM_RUNDIR"),
		Datapath: os.Getenv("LBD_VM_DATAPATH"), Logger: log})
	if err != nil {
		log.Error("lbd", "error", err)
		return 1
	}
	return 0
}

// vmNS is a network namespace held by one locked thread, which runs
// what is handed to it (do) there.
type vmNS struct {
	name string
	fd   int
	nl   *netlink.Handle
	work chan func()
}

func newVMNS(t *testing.T, name string) *vmNS {
	t.Helper()
	n := &vmNS{name: name, work: make(chan func())}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the namespace
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		n.fd = fd
		lo, err := netlink.LinkByName("lo")
		if err == nil {
			err = netlink.LinkSetUp(lo)
		}
		errc <- err
		for f := range n.work {
			f()
		}
	}()
	if err := <-errc; err != nil {
		t.Fatalf("namespace %s: %v", name, err)
	}
	h, err := netlink.NewHandleAt(netns.NsHandle(n.fd), unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	n.nl = h
	t.Cleanup(func() {
		h.Close()
		close(n.work)
		unix.Close(n.fd)
	})
	return n
}

// do runs f on the namespace's thread.
func (n *vmNS) do(f func() error) error {
	errc := make(chan error, 1)
	n.work <- func() { errc <- f() }
	return <-errc
}

func (n *vmNS) mustDo(t *testing.T, f func() error) {
	t.Helper()
	if err := n.do(f); err != nil {
		t.Fatalf("%s: %v", n.name, err)
	}
}

// lbdProc is one lbd child running in a namespace.
type lbdProc struct {
	cmd    *exec.Cmd
	runDir string
	mu     sync.Mutex
	out    bytes.Buffer
	done   chan error
}

func (p *lbdProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *lbdProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func startLBD(t *testing.T, n *vmNS, cfg, datapath string) *lbdProc {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &lbdProc{runDir: filepath.Join(dir, "run"), done: make(chan error, 1)}
	p.cmd = exec.Command(os.Args[0])
	p.cmd.Env = append(os.Environ(), childEnv+"=1", "LBD_VM_CONFIG="+conf, "LBD_VM_RUNDIR="+p.runDir, "LBD_VM_DATAPATH="+datapath)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	// Forked from the namespace's thread: the child lives there.
	n.mustDo(t, p.cmd.Start)
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("lbd in %s:\n%s", n.name, p.output())
		}
	})
	return p
}

// stop sends SIGTERM and waits for lbd to exit (killing it after 20s).
func (p *lbdProc) stop() error {
	if p.cmd.ProcessState != nil {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		return errors.New("lbd did not stop on SIGTERM")
	}
}

func (p *lbdProc) waitState(inst, state string, timeout time.Duration) error {
	return poll(timeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := daemon.FetchStatus(ctx, p.runDir)
		if err != nil {
			return err
		}
		in := st.Instance(inst)
		if in == nil || in.State != state {
			return fmt.Errorf("%s: %+v, want %s", inst, in, state)
		}
		return nil
	})
}

func poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// addVeth joins a's ifname to the bridge br in b (peer named peer).
func addVeth(t *testing.T, a *vmNS, ifname string, b *vmNS, peer, br, addr string) {
	t.Helper()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: ifname, Namespace: netlink.NsFd(a.fd)},
		PeerName: peer, PeerNamespace: netlink.NsFd(b.fd)}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatalf("veth %s/%s: %v", a.name, ifname, err)
	}
	l, err := a.nl.LinkByName(ifname)
	if err == nil {
		err = a.nl.LinkSetUp(l)
	}
	if err == nil {
		var na *netlink.Addr
		if na, err = netlink.ParseAddr(addr); err == nil {
			err = a.nl.AddrAdd(l, na)
		}
	}
	if err != nil {
		t.Fatalf("%s/%s: %v", a.name, ifname, err)
	}
	pl, err := b.nl.LinkByName(peer)
	if err != nil {
		t.Fatal(err)
	}
	bl, err := b.nl.LinkByName(br)
	if err == nil {
		err = b.nl.LinkSetMaster(pl, bl)
	}
	if err == nil {
		err = b.nl.LinkSetUp(pl)
	}
	if err != nil {
		t.Fatalf("%s/%s: %v", b.name, peer, err)
	}
}

func hasAddr(n *vmNS, ifname, addr string) bool {
	l, err := n.nl.LinkByName(ifname)
	if err != nil {
		return false
	}
	as, err := n.nl.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return false
	}
	for _, a := range as {
		if a.IP.String() == addr {
			return true
		}
	}
	return false
}

// TestIPVLANElection: two lbd nodes with use_ipvlan on their eth0 (an
// address each, vepa): each makes an L2 ipvlan with that address and
// mode, the election runs over them (adverts sent from the ipvlan's
// address), the client reaches the VIP (on eth0, as keepalived places
// it), failover works, and the ipvlans are gone after SIGTERM.
func TestIPVLANElection(t *testing.T) {
	requireVM(t)
	// auto: the VRRP program goes on the ipvlans (XDP generic); off: raw
	// sockets alone.
	for _, dp := range []string{"auto", "off"} {
		t.Run(dp, func(t *testing.T) { testIPVLANElection(t, dp) })
	}
}

func testIPVLANElection(t *testing.T, datapath string) {
	k1, k2, client := newVMNS(t, "k1"), newVMNS(t, "k2"), newVMNS(t, "client")
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}}
	if err := client.nl.LinkAdd(br); err != nil {
		t.Fatalf("bridge: %v", err)
	}
	bl, _ := client.nl.LinkByName("br0")
	client.nl.LinkSetUp(bl)
	ca, _ := netlink.ParseAddr("192.0.2.3/24")
	if err := client.nl.AddrAdd(bl, ca); err != nil {
		t.Fatal(err)
	}
	addVeth(t, k1, "eth0", client, "vk1", "br0", "192.0.2.1/24")
	addVeth(t, k2, "eth0", client, "vk2", "br0", "192.0.2.2/24")

	conf := func(prio int, addr string) string {
		return fmt.Sprintf(`vrrp_instance VI_I {
  interface eth0
  priority %d
  virtual_router_id 61
  version 3
  advert_int 0.5
  use_ipvlan ipvl0 %s vepa
  virtual_ipaddress {
    192.0.2.100/24
  }
}
`, prio, addr)
	}
	n1 := startLBD(t, k1, conf(150, "192.0.2.11/24"), datapath)
	n2 := startLBD(t, k2, conf(100, "192.0.2.12/24"), datapath)
	if err := n1.waitState("VI_I", "MASTER", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := n2.waitState("VI_I", "BACKUP", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		n    *vmNS
		addr string
	}{{k1, "192.0.2.11"}, {k2, "192.0.2.12"}} {
		l, err := c.n.nl.LinkByName("ipvl0")
		if err != nil {
			t.Fatalf("%s: no ipvl0: %v", c.n.name, err)
		}
		iv, ok := l.(*netlink.IPVlan)
		eth0, _ := c.n.nl.LinkByName("eth0")
		if !ok || iv.Mode != netlink.IPVLAN_MODE_L2 || iv.Flag != netlink.IPVLAN_FLAG_VEPA || l.Attrs().ParentIndex != eth0.Attrs().Index {
			t.Errorf("%s: ipvl0 is %s %+v", c.n.name, l.Type(), l)
		}
		if !hasAddr(c.n, "ipvl0", c.addr) {
			t.Errorf("%s: ipvl0 lacks %s", c.n.name, c.addr)
		}
	}
	// The backup hears the master's adverts, sent from its ipvlan's
	// address, on its own ipvlan.
	err := poll(10*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := daemon.FetchStatus(ctx, n2.runDir)
		if err != nil {
			return err
		}
		in := st.Instance("VI_I")
		if in == nil || in.MasterAddress != "192.0.2.11" || in.Interface != "ipvl0" {
			return fmt.Errorf("k2: %+v", in)
		}
		t.Logf("k2 follows %s on %s, datapath %q %s", in.MasterAddress, in.Interface, in.Datapath, in.DatapathNote)
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if !hasAddr(k1, "eth0", "192.0.2.100") || hasAddr(k2, "eth0", "192.0.2.100") {
		t.Error("the VIP is not on k1's eth0 alone")
	}
	ping := func() error {
		return client.do(func() error {
			out, err := exec.Command("ping", "-c", "1", "-W", "2", "192.0.2.100").CombinedOutput()
			if err != nil {
				return fmt.Errorf("ping 192.0.2.100: %v: %s", err, strings.TrimSpace(string(out)))
			}
			return nil
		})
	}
	if err := poll(10*time.Second, ping); err != nil {
		t.Error(err)
	}

	// Failover; k1's ipvlan is gone after SIGTERM.
	if err := n1.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := k1.nl.LinkByName("ipvl0"); err == nil {
		t.Error("k1's ipvl0 left after lbd stopped")
	}
	if err := n2.waitState("VI_I", "MASTER", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// The client's ARP cache still points at k1: wait for the GARPs.
	if err := poll(15*time.Second, ping); err != nil {
		t.Error(err)
	}
	if err := n2.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := k2.nl.LinkByName("ipvl0"); err == nil {
		t.Error("k2's ipvl0 left after lbd stopped")
	}
}

// TestIPVLANManager: netutil.IPVLANManager on a kernel with ipvlan: an L2
// ipvlan with the flag asked for and its address, IPv6 off on an IPv4
// one; adopted by a new manager (a restart), replaced when its flag
// changed, another kind of interface of the name left alone; an IPv6 one
// without address sends from a link-local of its own; RemoveAll deletes
// only its own.
func TestIPVLANManager(t *testing.T) {
	requireVM(t)
	n := newVMNS(t, "m")
	var h *netutil.Host
	var base int
	n.mustDo(t, func() error {
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "peer0"}); err != nil {
			return err
		}
		for _, name := range []string{"peer0", "eth0"} {
			l, err := netlink.LinkByName(name)
			if err == nil {
				err = netlink.LinkSetUp(l)
			}
			if err != nil {
				return err
			}
			base = l.Attrs().Index // eth0's, last
		}
		var err error
		h, err = netutil.OpenHost()
		return err
	})
	t.Cleanup(h.Close)
	check := func(name string, flag netlink.IPVlanFlag) netlink.Link {
		t.Helper()
		l, err := n.nl.LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		iv, ok := l.(*netlink.IPVlan)
		if !ok || iv.Mode != netlink.IPVLAN_MODE_L2 || iv.Flag != flag || l.Attrs().ParentIndex != base || l.Attrs().Flags&1 == 0 {
			t.Fatalf("%s: %s %+v", name, l.Type(), l)
		}
		return l
	}
	opts := netutil.IPVLANOptions{BaseIndex: base, Name: "ipv.51", Flag: netutil.IPVLANPrivate, Family: netutil.FamilyIPv4,
		Addr: netip.MustParsePrefix("192.0.2.51/24")}
	m := netutil.NewIPVLANManager(h, nil)
	iv, res, err := m.Ensure(opts)
	if err != nil {
		t.Fatal(err)
	}
	if res != netutil.VMACCreated || iv.Source != netip.MustParseAddr("192.0.2.51") || iv.BaseIndex != base {
		t.Fatalf("Ensure = %+v, %v", iv, res)
	}
	check("ipv.51", netlink.IPVLAN_FLAG_PRIVATE)
	if !hasAddr(n, "ipv.51", "192.0.2.51") {
		t.Error("no address on the ipvlan")
	}
	n.mustDo(t, func() error {
		b, err := os.ReadFile("/proc/sys/net/ipv6/conf/ipv.51/disable_ipv6")
		if err == nil && strings.TrimSpace(string(b)) != "1" {
			err = fmt.Errorf("disable_ipv6 %q", b)
		}
		return err
	})

	// A restart adopts it; a new flag replaces it.
	m2 := netutil.NewIPVLANManager(h, nil)
	if got, res, err := m2.Ensure(opts); err != nil || res != netutil.VMACAdopted || got.Index != iv.Index {
		t.Fatalf("adopt: %+v, %v, %v", got, res, err)
	}
	opts.Flag = netutil.IPVLANVEPA
	if _, res, err := m2.Ensure(opts); err != nil || res != netutil.VMACReplaced {
		t.Fatalf("replace: %v, %v", res, err)
	}
	check("ipv.51", netlink.IPVLAN_FLAG_VEPA)

	// Another kind of interface with the name is left alone.
	if err := n.nl.LinkAdd(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "ipv.52"}}); err != nil {
		t.Fatal(err)
	}
	_, _, err = m2.Ensure(netutil.IPVLANOptions{BaseIndex: base, Name: "ipv.52", Family: netutil.FamilyIPv4,
		Flag: netutil.IPVLANVEPA, Addr: netip.MustParsePrefix("192.0.2.52/24")})
	if !errors.Is(err, netutil.ErrIPVLANConflict) {
		t.Fatalf("dummy of the name: %v", err)
	}

	// IPv6 without address: a link-local of its own.
	iv6, _, err := m2.Ensure(netutil.IPVLANOptions{BaseIndex: base, Name: "ipv.53", Flag: netutil.IPVLANVEPA, Family: netutil.FamilyIPv6})
	if err != nil {
		t.Fatal(err)
	}
	baseLL, _ := h.LinkLocalIPv6(base)
	if !iv6.Source.IsLinkLocalUnicast() || iv6.Source == baseLL {
		t.Errorf("ipv6 ipvlan source %v (base's %v)", iv6.Source, baseLL)
	}
	t.Logf("ipv6 ipvlan link-local %v, base's %v", iv6.Source, baseLL)

	if err := m2.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ipv.51", "ipv.53"} {
		if _, err := n.nl.LinkByName(name); err == nil {
			t.Errorf("%s left after RemoveAll", name)
		}
	}
	if _, err := n.nl.LinkByName("ipv.52"); err != nil {
		t.Error("the dummy went")
	}
	if gone, err := m.Remove("ipv.51"); err != nil || gone {
		t.Errorf("the first manager removed %v, %v: not the interface it made", gone, err)
	}
}
