package netutil

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/testutil"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Small local namespace helpers. internal/netns (the shared lab harness)
// was being written at the same time; these do only what this package's
// tests need: two namespaces on one veth pair.

// testNS is a named network namespace created for one test and deleted at
// its end.
type testNS struct {
	name string
	nl   *netlink.Handle // netlink socket inside the namespace
	host *Host           // the package's view, through nl
}

// uniquePrefix is "nu" and 6 random hex digits: namespaces and interfaces
// of concurrent tests (and other packages' tests) never collide.
func uniquePrefix(tb testing.TB) string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return "nu" + hex.EncodeToString(b)
}

func requireNetns(tb testing.TB) {
	tb.Helper()
	testutil.RequireRoot(tb)
	testutil.RequireCommand(tb, "ip")
}

func run(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out)
}

// newNS creates a namespace with loopback up and IPv6 DAD off (addresses,
// link-local ones included, are usable at once).
func newNS(tb testing.TB, name string) *testNS {
	tb.Helper()
	run(tb, "ip", "netns", "add", name)
	tb.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			tb.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	n := &testNS{name: name}
	n.do(tb, func() {
		for _, k := range []string{"all", "default"} {
			writeSysctl(tb, "net/ipv6/conf/"+k+"/accept_dad", "0")
		}
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			tb.Fatalf("netlink in %s: %v", name, err)
		}
		n.nl = h
	})
	n.host = &Host{nl: n.nl}
	tb.Cleanup(n.nl.Close)
	n.ip(tb, "link", "set", "lo", "up")
	return n
}

// do runs f on a thread switched into the namespace; what f opens
// (sockets, netlink handles) lives there. f may call tb.Fatal.
func (n *testNS) do(tb testing.TB, f func()) {
	tb.Helper()
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		tb.Fatalf("open own netns: %v", err)
	}
	target, err := unix.Open(filepath.Join("/run/netns", n.name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(orig)
		runtime.UnlockOSThread()
		tb.Fatalf("open netns %s: %v", n.name, err)
	}
	defer func() {
		unix.Close(target)
		err := unix.Setns(orig, unix.CLONE_NEWNET)
		unix.Close(orig)
		if err != nil {
			// The thread stays locked and is discarded when this goroutine
			// ends, which must be now: not go on in the wrong namespace.
			tb.Errorf("restore netns: %v", err)
			runtime.Goexit()
		}
		runtime.UnlockOSThread()
	}()
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		tb.Fatalf("enter netns %s: %v", n.name, err)
	}
	f()
}

// ip runs `ip -n NS args...`.
func (n *testNS) ip(tb testing.TB, args ...string) string {
	tb.Helper()
	return run(tb, "ip", append([]string{"-n", n.name}, args...)...)
}

// link looks an interface of the namespace up.
func (n *testNS) link(tb testing.TB, name string) Link {
	tb.Helper()
	l, err := n.host.LinkByName(name)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

func writeSysctl(tb testing.TB, key, val string) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join("/proc/sys", key), []byte(val), 0o644); err != nil {
		tb.Fatalf("sysctl %s=%s: %v", key, val, err)
	}
}

// pair is two namespaces joined by one veth pair, both ends up, with
// 192.0.2.1/24 and 2001:db8::1/64 on a's end and .2 / ::2 on b's.
type pair struct {
	a, b         *testNS
	aName, bName string // interface names
	aIf, bIf     Link
	aLL, bLL     netip.Addr // IPv6 link-local addresses
}

var (
	addrA4 = netip.MustParseAddr("192.0.2.1")
	addrB4 = netip.MustParseAddr("192.0.2.2")
	addrA6 = netip.MustParseAddr("2001:db8::1")
	addrB6 = netip.MustParseAddr("2001:db8::2")
)

func newPair(tb testing.TB) *pair {
	tb.Helper()
	requireNetns(tb)
	pfx := uniquePrefix(tb)
	p := &pair{a: newNS(tb, pfx+"-a"), b: newNS(tb, pfx+"-b"), aName: pfx + "a", bName: pfx + "b"}
	run(tb, "ip", "link", "add", p.aName, "netns", p.a.name, "type", "veth", "peer", "name", p.bName, "netns", p.b.name)
	for _, s := range []struct {
		n        *testNS
		dev      string
		ip4, ip6 netip.Addr
	}{{p.a, p.aName, addrA4, addrA6}, {p.b, p.bName, addrB4, addrB6}} {
		s.n.ip(tb, "addr", "add", s.ip4.String()+"/24", "dev", s.dev)
		s.n.ip(tb, "addr", "add", s.ip6.String()+"/64", "dev", s.dev, "nodad")
		s.n.ip(tb, "link", "set", s.dev, "up")
	}
	p.aIf, p.bIf = p.a.link(tb, p.aName), p.b.link(tb, p.bName)
	eventually(tb, 20*time.Second, "ipv6 link-local addresses", func() error {
		var err error
		if p.aLL, err = p.a.host.LinkLocalIPv6(p.aIf.Index); err != nil {
			return err
		}
		p.bLL, err = p.b.host.LinkLocalIPv6(p.bIf.Index)
		return err
	})
	return p
}

// eventually polls cond until it returns nil, failing the test if it has
// not by timeout (a bound for a stuck machine, not a timing assertion).
func eventually(tb testing.TB, timeout time.Duration, what string, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(wait)
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// failsafe bounds waits for an event that must come: only a stuck test
// reaches it.
const failsafe = 30 * time.Second

// capture is an AF_PACKET socket receiving every frame arriving on one
// interface.
type capture struct {
	fd int
}

func openCapture(tb testing.TB, n *testNS, ifindex int) *capture {
	tb.Helper()
	c := &capture{}
	n.do(tb, func() {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			tb.Fatalf("capture socket: %v", err)
		}
		c.fd = fd
	})
	tb.Cleanup(func() { unix.Close(c.fd) })
	if err := unix.Bind(c.fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		tb.Fatalf("bind capture: %v", err)
	}
	tv := unix.NsecToTimeval(failsafe.Nanoseconds())
	if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		tb.Fatal(err)
	}
	return c
}

// next returns the first incoming frame for which match is true.
func (c *capture) next(tb testing.TB, what string, match func([]byte) bool) []byte {
	tb.Helper()
	buf := make([]byte, 2048)
	deadline := time.Now().Add(failsafe)
	for time.Now().Before(deadline) {
		n, from, err := unix.Recvfrom(c.fd, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			tb.Fatalf("capture %s: %v", what, err)
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		if match(buf[:n]) {
			return append([]byte(nil), buf[:n]...)
		}
	}
	tb.Fatalf("capture %s: nothing before the failsafe", what)
	return nil
}
