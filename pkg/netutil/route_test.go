package netutil

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func addrPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// kernelRoute is a route as the netlink library reads it back, in the
// fields it parses. What it does not parse (an IPv6 route's source
// prefix, pref, expires, locks other than mtu and rto_min, realms of a
// nexthop) is checked in `ip -d route` output.
type kernelRoute struct {
	Type, Table, Priority, Tos, Realm, Protocol int
	Scope                                       uint8
	Dst, Gw, Src, Via                           string
	LinkIndex                                   int
	Onlink                                      bool
	MTU, AdvMSS, Hoplimit, Window, Rtt, RttVar  int
	Ssthresh, Cwnd, Reordering, InitCwnd        int
	InitRwnd, Features, RtoMin, QuickACK        int
	FastOpenNoCookie                            int
	MTULock, RtoMinLock                         bool
	Congctl                                     string
	Nexthops                                    []kernelNexthop
}

type kernelNexthop struct {
	Gw, Via   string
	LinkIndex int
	Weight    int
	Onlink    bool
}

func toKernelRoute(r netlink.Route) kernelRoute {
	k := kernelRoute{
		Type: r.Type, Table: r.Table, Priority: r.Priority, Tos: r.Tos, Realm: r.Realm,
		Protocol: int(r.Protocol), Scope: uint8(r.Scope), LinkIndex: r.LinkIndex,
		Onlink: r.Flags&unix.RTNH_F_ONLINK != 0,
		MTU:    r.MTU, AdvMSS: r.AdvMSS, Hoplimit: r.Hoplimit, Window: r.Window, Rtt: r.Rtt, RttVar: r.RttVar,
		Ssthresh: r.Ssthresh, Cwnd: r.Cwnd, Reordering: r.Reordering, InitCwnd: r.InitCwnd,
		InitRwnd: r.InitRwnd, Features: r.Features, RtoMin: r.RtoMin, QuickACK: r.QuickACK,
		FastOpenNoCookie: r.FastOpenNoCookie, MTULock: r.MTULock, RtoMinLock: r.RtoMinLock, Congctl: r.Congctl,
	}
	if r.Dst != nil {
		k.Dst = r.Dst.String()
	}
	if r.Gw != nil {
		k.Gw = r.Gw.String()
	}
	if r.Src != nil {
		k.Src = r.Src.String()
	}
	if v, ok := r.Via.(*netlink.Via); ok {
		k.Via = v.Addr.String()
	}
	for _, nh := range r.MultiPath {
		kn := kernelNexthop{LinkIndex: nh.LinkIndex, Weight: nh.Hops + 1, Onlink: nh.Flags&unix.RTNH_F_ONLINK != 0}
		if nh.Gw != nil {
			kn.Gw = nh.Gw.String()
		}
		if v, ok := nh.Via.(*netlink.Via); ok {
			kn.Via = v.Addr.String()
		}
		k.Nexthops = append(k.Nexthops, kn)
	}
	return k
}

// kernelRoutes lists the routes of n to dst in every table.
func kernelRoutes(t *testing.T, n *testNS, dst netip.Prefix) []kernelRoute {
	t.Helper()
	fam := netlink.FAMILY_V4
	if dst.Addr().Is6() {
		fam = netlink.FAMILY_V6
	}
	list, err := n.nl.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	var out []kernelRoute
	for _, r := range list {
		if r.Dst != nil && r.Dst.String() == dst.String() {
			out = append(out, toKernelRoute(r))
		}
	}
	return out
}

// ipRoute is `ip -d route show table all exact DST` in n.
func ipRoute(t *testing.T, n *testNS, dst netip.Prefix) string {
	t.Helper()
	fam := "-4"
	if dst.Addr().Is6() {
		fam = "-6"
	}
	return n.ip(t, fam, "-d", "route", "show", "table", "all", "exact", dst.String())
}

func TestRouteAttributes(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	h := openHost(t, p.a)
	eth := p.aIf.Index
	addr := netip.MustParseAddr
	var rtt, ecn Route
	for _, m := range [][2]string{
		{"mtu", "1000"}, {"hoplimit", "100"}, {"advmss", "101"}, {"rtt", "300ms"}, {"rttvar", "10"},
		{"reordering", "104"}, {"window", "105"}, {"cwnd", "106"}, {"ssthresh", "lock 107"},
		{"rto_min", "1s"}, {"initcwnd", "109"}, {"initrwnd", "110"}, {"features", "ecn"},
	} {
		if err := rtt.SetMetric(m[0], m[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range [][2]string{{"quickack", "1"}, {"congctl", "lock cubic"}, {"fastopen_no_cookie", "1"}} {
		if err := ecn.SetMetric(m[0], m[1]); err != nil {
			t.Fatal(err)
		}
	}
	const keepalived, bird = int(ProtoKeepalived), 12
	for _, tc := range []struct {
		name  string
		route Route
		want  []kernelRoute
		text  []string // in `ip -d route` output
	}{
		{"via dev",
			Route{Dst: addrPrefix("198.51.100.0/24"), Via: addr("192.0.2.254"), IfIndex: eth},
			[]kernelRoute{{Type: 1, Table: 254, Protocol: keepalived, Dst: "198.51.100.0/24", Gw: "192.0.2.254", LinkIndex: eth}},
			[]string{"proto keepalived", "scope global"}},
		{"multipath with weights, onlink and nexthop realms",
			Route{Dst: addrPrefix("198.51.101.0/24"), Table: 6909, Nexthops: []Nexthop{
				{Via: addr("192.0.2.253"), IfIndex: eth, Weight: 1, Onlink: true, Realms: 4},
				{Via: addr("192.0.2.252"), IfIndex: eth, Weight: 2, Onlink: true},
			}},
			[]kernelRoute{{Type: 1, Table: 6909, Protocol: keepalived, Dst: "198.51.101.0/24", Nexthops: []kernelNexthop{
				{Gw: "192.0.2.253", LinkIndex: eth, Weight: 1, Onlink: true},
				{Gw: "192.0.2.252", LinkIndex: eth, Weight: 2, Onlink: true},
			}}},
			[]string{"nexthop via 192.0.2.253 realm 4 dev " + p.aName + " weight 1 onlink"}},
		{"every metric, tos, protocol, scope, realms, priority",
			func() Route {
				r := rtt
				r.Dst, r.IfIndex, r.Table, r.TOS, r.Protocol = addrPrefix("198.51.102.0/24"), eth, 6909, 4, bird
				r.Scope, r.Metric, r.Realms = ScopeLink, 12, 3<<16|20
				return r
			}(),
			[]kernelRoute{{Type: 1, Table: 6909, Tos: 4, Protocol: bird, Scope: unix.RT_SCOPE_LINK, Priority: 12,
				Realm: 3<<16 | 20, Dst: "198.51.102.0/24", LinkIndex: eth, MTU: 1000, Hoplimit: 100, AdvMSS: 101,
				Rtt: 2400, RttVar: 10, Reordering: 104, Window: 105, Cwnd: 106, Ssthresh: 107, RtoMin: 1000,
				InitCwnd: 109, InitRwnd: 110, Features: 1}},
			[]string{"ssthresh lock 107", "rtt 300ms", "rto_min 1s", "features ecn", "realms 3/20", "proto bird"}},
		{"ipv6 metrics and pref",
			Route{Dst: addrPrefix("2001:db8:5::/64"), IfIndex: eth, Table: 6909, Protocol: bird, Metric: 12, Pref: RoutePrefHigh,
				Metrics: map[RouteMetric]MetricValue{MetricMTU: {Value: 1300}, MetricHopLimit: {Value: 100}, MetricAdvMSS: {Value: 101}}},
			[]kernelRoute{{Type: 1, Table: 6909, Protocol: bird, Priority: 12, Dst: "2001:db8:5::/64", LinkIndex: eth,
				MTU: 1300, Hoplimit: 100, AdvMSS: 101}},
			[]string{"pref high"}},
		{"blackhole",
			Route{Type: RouteBlackhole, Dst: addrPrefix("203.0.113.0/24")},
			[]kernelRoute{{Type: unix.RTN_BLACKHOLE, Table: 254, Protocol: keepalived, Dst: "203.0.113.0/24"}},
			[]string{"blackhole 203.0.113.0/24"}},
		{"unreachable with metric",
			Route{Type: RouteUnreachable, Dst: addrPrefix("203.0.113.64/26"), Metric: 5},
			[]kernelRoute{{Type: unix.RTN_UNREACHABLE, Table: 254, Protocol: keepalived, Priority: 5, Dst: "203.0.113.64/26"}},
			nil},
		{"ipv6 prohibit",
			Route{Type: RouteProhibit, Dst: addrPrefix("2001:db8:6::/64")},
			// The kernel hangs IPv6 reject routes on lo and gives them
			// its default metric.
			[]kernelRoute{{Type: unix.RTN_PROHIBIT, Table: 254, Protocol: keepalived, Priority: 1024, Dst: "2001:db8:6::/64", LinkIndex: 1}},
			[]string{"prohibit 2001:db8:6::/64"}},
		{"throw in a table",
			Route{Type: RouteThrow, Dst: addrPrefix("203.0.113.128/26"), Table: 100},
			[]kernelRoute{{Type: unix.RTN_THROW, Table: 100, Protocol: keepalived, Dst: "203.0.113.128/26"}},
			nil},
		{"preferred source",
			Route{Dst: addrPrefix("198.51.103.0/24"), Via: addr("192.0.2.254"), Src: addr("192.0.2.1")},
			[]kernelRoute{{Type: 1, Table: 254, Protocol: keepalived, Dst: "198.51.103.0/24", Gw: "192.0.2.254", Src: "192.0.2.1", LinkIndex: eth}},
			[]string{"src 192.0.2.1"}},
		{"ipv6 source prefix",
			Route{Dst: addrPrefix("2001:db8:7::/64"), From: addrPrefix("2001:db8:8::/64"), Via: addr("2001:db8::fe"), IfIndex: eth},
			[]kernelRoute{{Type: 1, Table: 254, Protocol: keepalived, Priority: 1024, Dst: "2001:db8:7::/64", Gw: "2001:db8::fe", LinkIndex: eth}},
			[]string{"from 2001:db8:8::/64"}},
		{"local: host scope by default",
			Route{Type: RouteLocal, Dst: addrPrefix("203.0.113.200/32"), IfIndex: eth, Table: unix.RT_TABLE_LOCAL},
			[]kernelRoute{{Type: unix.RTN_LOCAL, Table: 255, Protocol: keepalived, Scope: unix.RT_SCOPE_HOST, Dst: "203.0.113.200/32", LinkIndex: eth}},
			[]string{"scope host"}},
		{"quickack, locked congctl, fastopen_no_cookie",
			func() Route {
				r := ecn
				r.Dst, r.Via = addrPrefix("198.51.104.0/24"), addr("192.0.2.254")
				return r
			}(),
			[]kernelRoute{{Type: 1, Table: 254, Protocol: keepalived, Dst: "198.51.104.0/24", Gw: "192.0.2.254", LinkIndex: eth,
				QuickACK: 1, Congctl: "cubic", FastOpenNoCookie: 1}},
			[]string{"congctl lock cubic"}},
		{"ipv6 expires",
			Route{Dst: addrPrefix("2001:db8:a::/64"), Via: addr("fe80::1"), IfIndex: eth, Expires: 100},
			[]kernelRoute{{Type: 1, Table: 254, Protocol: keepalived, Priority: 1024, Dst: "2001:db8:a::/64", Gw: "fe80::1", LinkIndex: eth}},
			[]string{"expires"}},
		{"ipv4 via an ipv6 gateway",
			Route{Dst: addrPrefix("198.51.107.0/24"), Via: addr("fe80::1"), IfIndex: eth},
			[]kernelRoute{{Type: 1, Table: 254, Protocol: keepalived, Dst: "198.51.107.0/24", Via: "fe80::1", LinkIndex: eth}},
			[]string{"via inet6 fe80::1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewRouteManager(h, nil)
			res, err := m.Add(tc.route)
			if err != nil {
				t.Fatal(err)
			}
			if res != AddResultAdded {
				t.Fatalf("Add = %v, want added", res)
			}
			if diff := cmp.Diff(tc.want, kernelRoutes(t, p.a, tc.route.Dst)); diff != "" {
				t.Fatalf("read back (-want +got):\n%s", diff)
			}
			text := ipRoute(t, p.a, tc.route.Dst)
			for _, s := range tc.text {
				if !strings.Contains(text, s) {
					t.Errorf("ip route shows %q, want %q in it", text, s)
				}
			}
			if !m.Owns(tc.route) {
				t.Fatal("added route not owned")
			}
			removed, err := m.Remove(tc.route)
			if err != nil || !removed {
				t.Fatalf("Remove = %v, %v", removed, err)
			}
			if got := kernelRoutes(t, p.a, tc.route.Dst); len(got) != 0 {
				t.Fatalf("still there after Remove: %+v", got)
			}
		})
	}
}

// TestRouteOwnership: only lbd's own routes are removed; an identical
// route someone else put there first is left alone, and so is a route to
// the same destination through another gateway.
func TestRouteOwnership(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	h := openHost(t, p.a)
	m := NewRouteManager(h, nil)
	eth := p.aIf.Index
	gw := netip.MustParseAddr("192.0.2.254")
	mustAdd := func(r Route, want AddResult) {
		t.Helper()
		got, err := m.Add(r)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("Add(%v) = %v, want %v", r, got, want)
		}
	}
	mustRemove := func(r Route, want bool) {
		t.Helper()
		got, err := m.Remove(r)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("Remove(%v) = %v, want %v", r, got, want)
		}
	}
	count := func(dst netip.Prefix) int { t.Helper(); return len(kernelRoutes(t, p.a, dst)) }

	// An identical route added by hand before lbd: foreign, never removed.
	pre := Route{Dst: addrPrefix("198.51.110.0/24"), Via: gw, IfIndex: eth}
	p.a.ip(t, "route", "add", "198.51.110.0/24", "via", "192.0.2.254", "dev", p.aName, "proto", "keepalived")
	mustAdd(pre, AddResultForeign)
	mustAdd(pre, AddResultForeign)
	if m.Owns(pre) {
		t.Fatal("owns a foreign route")
	}
	mustRemove(pre, false)
	if err := m.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	if count(pre.Dst) != 1 {
		t.Fatal("foreign route removed")
	}
	p6 := Route{Dst: addrPrefix("2001:db8:10::/64"), Via: netip.MustParseAddr("2001:db8::fe"), IfIndex: eth}
	p.a.ip(t, "-6", "route", "add", "2001:db8:10::/64", "via", "2001:db8::fe", "dev", p.aName, "proto", "keepalived")
	mustAdd(p6, AddResultForeign)
	mustRemove(p6, false)
	if count(p6.Dst) != 1 {
		t.Fatal("foreign ipv6 route removed")
	}

	// Same destination, another gateway (theirs): ours is prepended, and
	// removing ours leaves theirs.
	p.a.ip(t, "route", "add", "198.51.111.0/24", "via", "192.0.2.253", "dev", p.aName)
	ours := Route{Dst: addrPrefix("198.51.111.0/24"), Via: gw, IfIndex: eth}
	mustAdd(ours, AddResultAdded)
	if got := kernelRoutes(t, p.a, ours.Dst); len(got) != 2 || got[0].Gw != "192.0.2.254" {
		t.Fatalf("after prepend: %+v", got)
	}
	mustRemove(ours, true)
	if got := kernelRoutes(t, p.a, ours.Dst); len(got) != 1 || got[0].Gw != "192.0.2.253" {
		t.Fatalf("after remove: %+v, want theirs alone", got)
	}
	// Append puts ours after theirs; exclusive refuses to join.
	app := ours
	app.Mode = RouteAppend
	mustAdd(app, AddResultAdded)
	if got := kernelRoutes(t, p.a, ours.Dst); len(got) != 2 || got[1].Gw != "192.0.2.254" {
		t.Fatalf("after append: %+v", got)
	}
	mustRemove(app, true)
	excl := ours
	excl.Mode = RouteExclusive
	mustAdd(excl, AddResultForeign)
	if count(ours.Dst) != 1 {
		t.Fatal("exclusive add joined an existing route")
	}

	// Ours: idempotent; removed behind our back: put back; gone: fine.
	r := Route{Dst: addrPrefix("198.51.112.0/24"), Via: gw, IfIndex: eth, Metric: 7}
	mustAdd(r, AddResultAdded)
	mustAdd(r, AddResultPresent)
	p.a.ip(t, "route", "del", "198.51.112.0/24", "via", "192.0.2.254", "metric", "7")
	mustAdd(r, AddResultAdded)
	p.a.ip(t, "route", "del", "198.51.112.0/24", "via", "192.0.2.254", "metric", "7")
	mustRemove(r, false)
	mustRemove(r, false)

	// Adopt: a leftover the daemon knows is its own.
	p.a.ip(t, "route", "add", "198.51.113.0/24", "via", "192.0.2.254", "proto", "keepalived")
	left := Route{Dst: addrPrefix("198.51.113.0/24"), Via: gw, IfIndex: eth}
	if err := m.Adopt(left); err != nil {
		t.Fatal(err)
	}
	mustAdd(left, AddResultPresent)

	// RemoveAll: ours go, theirs stay.
	mustAdd(r, AddResultAdded)
	if err := m.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	for dst, want := range map[string]int{"198.51.110.0/24": 1, "198.51.111.0/24": 1, "198.51.112.0/24": 0, "198.51.113.0/24": 0} {
		if got := count(addrPrefix(dst)); got != want {
			t.Errorf("after RemoveAll, %d routes to %s, want %d", got, dst, want)
		}
	}
}

// TestRouteKernelErrors: a route the kernel refuses comes back with the
// kernel's reason, and bad input never reaches it.
func TestRouteKernelErrors(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	h := openHost(t, p.a)
	// A gateway on no connected network.
	err := h.AddRoute(Route{Dst: addrPrefix("198.51.120.0/24"), Via: netip.MustParseAddr("203.0.113.1"), IfIndex: p.aIf.Index})
	var ke *KernelError
	if !errors.As(err, &ke) || ke.Errno != unix.ENETUNREACH {
		t.Fatalf("unreachable gateway: %v", err)
	}
	t.Logf("kernel says: %v", err)
	if !strings.Contains(err.Error(), "198.51.120.0/24") {
		t.Fatalf("error %q does not name the route", err)
	}
	err = h.AddRoute(Route{Dst: addrPrefix("198.51.120.0/24"), IfIndex: 99999})
	if !errors.Is(err, unix.ENODEV) {
		t.Fatalf("no such device: %v", err)
	}
	if err := h.AddRoute(Route{Dst: addrPrefix("198.51.120.0/24"), Pref: RoutePrefHigh}); err == nil || !strings.Contains(err.Error(), "pref") {
		t.Fatalf("pref on ipv4: %v", err)
	}
	if deleted, err := h.DelRoute(Route{Dst: addrPrefix("198.51.121.0/24"), IfIndex: p.aIf.Index}); err != nil || deleted {
		t.Fatalf("delete of a missing route: %v %v", deleted, err)
	}
	if _, err := NewRouteManager(h, nil).Add(Route{}); err == nil {
		t.Fatal("empty route added")
	}
}

// TestVRFTable: a route's "vrf NAME" must name a VRF device. (This
// kernel has no VRF devices, so the lookup of a real one is not tested.)
func TestVRFTable(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	h := openHost(t, p.a)
	if _, err := h.VRFTable(p.aName); err == nil || !strings.Contains(err.Error(), "not a vrf") {
		t.Fatalf("a veth taken for a vrf: %v", err)
	}
	if _, err := h.VRFTable("nosuch"); !errors.Is(err, ErrLinkNotFound) {
		t.Fatalf("missing vrf: %v", err)
	}
}

// TestRoutesRulesLikeKeepalived: the same static_routes and static_rules
// lines, given to Debian's keepalived 2.2.7 in one namespace and
// translated by hand into Route and Rule values for the managers in
// another, leave the same kernel state (`ip -d route` and `ip -d rule`,
// both families). The lines avoid what keepalived 2.2.7 gets wrong or
// lacks: it refuses local routes (no host scope), lifts rtt/rttvar/rto_min
// below 200ms, forces protocol keepalived on what it tracks, and does not know
// ip_proto or tun_id.
func TestRoutesRulesLikeKeepalived(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	testutil.RequireCommand(t, "keepalived")
	names, err := LoadRTNames()
	if err != nil {
		t.Fatal(err)
	}
	// One configuration line and its translation.
	type confLine struct {
		conf  string
		route *Route
		rule  *Rule
	}
	var lines []confLine
	eth := p.aIf.Index
	addr := netip.MustParseAddr
	route := func(conf string, r Route) { lines = append(lines, confLine{conf, &r, nil}) }
	rule := func(conf string, r Rule) { lines = append(lines, confLine{conf, nil, &r}) }
	table := func(s string) uint32 {
		v, err := names.Table(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	withMetrics := func(r Route, kv ...string) Route {
		for i := 0; i < len(kv); i += 2 {
			if err := r.SetMetric(kv[i], kv[i+1]); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	route("198.51.100.0/24 via 192.0.2.254 dev eth0",
		Route{Dst: addrPrefix("198.51.100.0/24"), Via: addr("192.0.2.254"), IfIndex: eth})
	route("198.51.101.0/24 table 6909 nexthop via 192.0.2.253 dev eth0 onlink weight 1 nexthop via 192.0.2.252 dev eth0 onlink weight 2",
		Route{Dst: addrPrefix("198.51.101.0/24"), Table: 6909, Nexthops: []Nexthop{
			{Via: addr("192.0.2.253"), IfIndex: eth, Weight: 1, Onlink: true},
			{Via: addr("192.0.2.252"), IfIndex: eth, Weight: 2, Onlink: true}}})
	route("198.51.102.0/24 dev eth0 table 6909 tos 0x04 scope link priority 12 mtu lock 1000 hoplimit 100 advmss 101 reordering 104 window 105 cwnd 106 ssthresh lock 107 realms 3/20 initcwnd 109 initrwnd 110 features ecn",
		withMetrics(Route{Dst: addrPrefix("198.51.102.0/24"), IfIndex: eth, Table: 6909, TOS: 4, Scope: ScopeLink, Metric: 12, Realms: 3<<16 | 20},
			"mtu", "lock 1000", "hoplimit", "100", "advmss", "101", "reordering", "104", "window", "105", "cwnd", "106",
			"ssthresh", "lock 107", "initcwnd", "109", "initrwnd", "110", "features", "ecn"))
	route("2001:db8:5::/64 dev eth0 table 6909 priority 12 mtu 1300 hoplimit 100 advmss 101 pref high",
		withMetrics(Route{Dst: addrPrefix("2001:db8:5::/64"), IfIndex: eth, Table: 6909, Metric: 12, Pref: RoutePrefHigh},
			"mtu", "1300", "hoplimit", "100", "advmss", "101"))
	route("blackhole 203.0.113.0/24", Route{Type: RouteBlackhole, Dst: addrPrefix("203.0.113.0/24")})
	route("unreachable 203.0.113.64/26 metric 5", Route{Type: RouteUnreachable, Dst: addrPrefix("203.0.113.64/26"), Metric: 5})
	route("prohibit 2001:db8:6::/64", Route{Type: RouteProhibit, Dst: addrPrefix("2001:db8:6::/64")})
	route("throw 203.0.113.128/26 table 100", Route{Type: RouteThrow, Dst: addrPrefix("203.0.113.128/26"), Table: 100})
	route("2001:db8:7::/64 from 2001:db8:8::/64 via 2001:db8::fe dev eth0",
		Route{Dst: addrPrefix("2001:db8:7::/64"), From: addrPrefix("2001:db8:8::/64"), Via: addr("2001:db8::fe"), IfIndex: eth})
	route("198.51.104.0/24 via 192.0.2.254 quickack 1 congctl lock cubic fastopen_no_cookie 1 rtt 300ms rto_min 1s",
		withMetrics(Route{Dst: addrPrefix("198.51.104.0/24"), Via: addr("192.0.2.254")},
			"quickack", "1", "congctl", "lock cubic", "fastopen_no_cookie", "1", "rtt", "300ms", "rto_min", "1s"))
	route("198.51.105.0/24 dev eth0", Route{Dst: addrPrefix("198.51.105.0/24"), IfIndex: eth})
	route("198.51.106.0/24 via 192.0.2.254 metric 7",
		Route{Dst: addrPrefix("198.51.106.0/24"), Via: addr("192.0.2.254"), Metric: 7})
	route("198.51.106.0/24 via 192.0.2.253 metric 7",
		Route{Dst: addrPrefix("198.51.106.0/24"), Via: addr("192.0.2.253"), Metric: 7})
	route("198.51.106.0/24 via 192.0.2.252 metric 7 append",
		Route{Dst: addrPrefix("198.51.106.0/24"), Via: addr("192.0.2.252"), Metric: 7, Mode: RouteAppend})
	route("198.51.107.0/24 nexthop via 192.0.2.250 realms 4 nexthop via 192.0.2.251",
		Route{Dst: addrPrefix("198.51.107.0/24"), Nexthops: []Nexthop{{Via: addr("192.0.2.250"), Realms: 4}, {Via: addr("192.0.2.251")}}})
	rule("from 192.0.2.0/24 table 1 preference 100",
		Rule{Family: FamilyIPv4, From: addrPrefix("192.0.2.0/24"), Table: 1, Priority: ptr[uint32](100)})
	rule("from 198.51.100.0/24 to 198.51.101.0/26 table 100 iif eth0 oif lo tos 0x04 fwmark 24/12 preference 101 realms 30/20",
		Rule{Family: FamilyIPv4, From: addrPrefix("198.51.100.0/24"), To: addrPrefix("198.51.101.0/26"), Table: 100,
			IIf: "eth0", OIf: "lo", TOS: 4, FWMark: ptr[uint32](24), FWMask: ptr[uint32](12), Priority: ptr[uint32](101), Realms: 30<<16 | 20})
	rule("not from 198.51.102.0/24 goto 200 preference 102",
		Rule{Family: FamilyIPv4, Not: true, From: addrPrefix("198.51.102.0/24"), Action: RuleGoto, Goto: 200, Priority: ptr[uint32](102)})
	rule("to 2001:db8:1:2::/64 from 2001:db8:2::/64 table 6908 uidrange 10000-19999 preference 103",
		Rule{Family: FamilyIPv6, To: addrPrefix("2001:db8:1:2::/64"), From: addrPrefix("2001:db8:2::/64"), Table: 6908,
			UIDRange: &UIDRange{10000, 19999}, Priority: ptr[uint32](103)})
	rule("to 2001:db8:3::/64 l3mdev sport 10-20 dport 20-30 preference 104",
		Rule{Family: FamilyIPv6, To: addrPrefix("2001:db8:3::/64"), L3MDev: true,
			SPort: &PortRange{10, 20}, DPort: &PortRange{20, 30}, Priority: ptr[uint32](104)})
	rule("from all blackhole preference 105", Rule{Family: FamilyIPv4, Action: RuleBlackhole, Priority: ptr[uint32](105)})
	rule("from all unreachable preference 106", Rule{Family: FamilyIPv4, Action: RuleUnreachable, Priority: ptr[uint32](106)})
	// keepalived 2.2.7 reads "inet6 prohibit" as a rule without action.
	rule("from ::/0 prohibit preference 107", Rule{Family: FamilyIPv6, From: addrPrefix("::/0"), Action: RuleProhibit, Priority: ptr[uint32](107)})
	rule("from all nop preference 108", Rule{Family: FamilyIPv4, Action: RuleNop, Priority: ptr[uint32](108)})
	rule("from 192.0.2.0/24 table main suppress_prefixlength 0 preference 109",
		Rule{Family: FamilyIPv4, From: addrPrefix("192.0.2.0/24"), Table: table("main"), SuppressPrefixLen: ptr(0), Priority: ptr[uint32](109)})
	rule("from 192.0.2.0/24 table main suppress_ifgroup 5 preference 110",
		Rule{Family: FamilyIPv4, From: addrPrefix("192.0.2.0/24"), Table: table("main"), SuppressIfGroup: ptr[uint32](5), Priority: ptr[uint32](110)})

	var routes, rules []string
	for _, l := range lines {
		if l.route != nil {
			routes = append(routes, "\t\t"+l.conf)
		} else {
			rules = append(rules, "\t\t"+l.conf)
		}
	}
	netns.Keepalived(t, p.b.h, fmt.Sprintf(`global_defs {
	router_id b
}
static_routes {
%s
}
static_rules {
%s
}
vrrp_instance V {
	state BACKUP
	interface %s
	virtual_router_id 9
	priority 100
	virtual_ipaddress {
		192.0.2.200/24
	}
}
`, strings.Join(routes, "\n"), strings.Join(rules, "\n"), p.bName), netns.KeepalivedOptions{VRRPOnly: true})

	h := openHost(t, p.a)
	rm, um := NewRouteManager(h, nil), NewRuleManager(h, nil)
	for _, l := range lines {
		var err error
		if l.route != nil {
			_, err = rm.Add(*l.route)
		} else {
			_, err = um.Add(*l.rule)
		}
		if err != nil {
			t.Fatalf("%s: %v", l.conf, err)
		}
	}
	show := func(n *testNS) string {
		var out []string
		for _, fam := range []string{"-4", "-6"} {
			for _, args := range [][]string{{"route", "show", "table", "all"}, {"rule", "show"}} {
				for _, line := range strings.Split(n.ip(t, append([]string{fam, "-d"}, args...)...), "\n") {
					if line = strings.TrimSpace(line); line == "" || strings.Contains(line, "proto kernel") ||
						strings.Contains(line, "192.0.2.200") || strings.HasPrefix(line, "local ") ||
						strings.Contains(line, "fe80::/64") || strings.Contains(line, "multicast ff00::/8") {
						continue
					}
					out = append(out, fam+" "+line)
				}
			}
		}
		// Unsorted: the order of routes to one destination (prepend,
		// append) and of nexthops is part of the state.
		return strings.Join(out, "\n")
	}
	// keepalived installs its lines at startup, asynchronously: wait for
	// its state to match ours (ours is in place once Add returns), and
	// show the difference if it never does.
	ours := show(p.a)
	if err := netns.Poll(failsafe, func() error {
		if show(p.b) != ours {
			return errors.New("differs")
		}
		return nil
	}); err != nil {
		if diff := cmp.Diff(strings.Split(show(p.b), "\n"), strings.Split(ours, "\n")); diff != "" {
			t.Fatalf("kernel state (-keepalived +lbd):\n%s", diff)
		}
	}
	t.Logf("identical:\n%s", ours)
	if err := rm.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	if err := um.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	if left := show(p.a); left != "" {
		t.Fatalf("left after RemoveAll:\n%s", left)
	}
}
