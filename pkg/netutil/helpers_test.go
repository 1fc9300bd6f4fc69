package netutil

import (
	"net/netip"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
	"github.com/vishvananda/netlink"
)

// The privileged tests run in labs of internal/netns: namespaces with a
// unique prefix, IPv6 DAD off, torn down at cleanup (and swept by the next
// run if a test binary dies).

// testNS is one lab host seen from this package's tests.
type testNS struct {
	h    *netns.Host
	nl   *netlink.Handle // the host's netlink socket, for reading back
	host *Host           // the package's view of the namespace, through nl
}

func requireNetns(tb testing.TB) {
	tb.Helper()
	testutil.RequireRoot(tb)
	testutil.RequireCommand(tb, "ip")
}

func newTestNS(h *netns.Host) *testNS {
	return &testNS{h: h, nl: h.Netlink(), host: &Host{nl: h.Netlink()}}
}

// do runs f on a thread switched into the namespace: what f opens
// (sockets, subscriptions) lives there. f returns its error rather than
// failing the test itself.
func (n *testNS) do(tb testing.TB, f func() error) {
	tb.Helper()
	if err := n.h.Do(f); err != nil {
		tb.Fatal(err)
	}
}

// ip runs `ip args...` in the namespace.
func (n *testNS) ip(tb testing.TB, args ...string) string {
	tb.Helper()
	return n.h.MustRun("ip", args...)
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

// pair is two hosts joined by one veth pair, both ends up, with
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
	lab := netns.New(tb, netns.Options{})
	ha, hb := lab.Host("a"), lab.Host("b")
	p := &pair{a: newTestNS(ha), b: newTestNS(hb), aName: "eth0", bName: "eth0"}
	lab.Link(ha, p.aName, hb, p.bName)
	ha.AddAddr(p.aName, addrA4.String()+"/24")
	ha.AddAddr(p.aName, addrA6.String()+"/64")
	hb.AddAddr(p.bName, addrB4.String()+"/24")
	hb.AddAddr(p.bName, addrB6.String()+"/64")
	p.aIf, p.bIf = p.a.link(tb, p.aName), p.b.link(tb, p.bName)
	// Without the zone: this package's addresses carry none.
	p.aLL = ha.WaitLinkLocal(p.aName, failsafe).WithZone("")
	p.bLL = hb.WaitLinkLocal(p.bName, failsafe).WithZone("")
	return p
}

// failsafe bounds waits for an event that must come: only a stuck test
// reaches it (not a timing assertion).
const failsafe = 30 * time.Second

// capture records the frames arriving on an interface of n.
type capture struct {
	c *netns.Capture
}

func openCapture(tb testing.TB, n *testNS, ifname string) *capture {
	tb.Helper()
	return &capture{c: n.h.Capture(ifname, func(f *netns.Frame) bool { return !f.Outgoing })}
}

// next returns the first frame captured for which match is true, whole.
func (c *capture) next(tb testing.TB, what string, match func([]byte) bool) []byte {
	tb.Helper()
	f, err := c.c.WaitFor(failsafe, func(f *netns.Frame) bool { return match(f.Data) })
	if err != nil {
		tb.Fatalf("capture %s: %v", what, err)
	}
	return f.Data
}
