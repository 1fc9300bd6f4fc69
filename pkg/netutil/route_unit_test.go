package netutil

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Golden netlink bytes, written one field per slice, independently of
// nlBuilder.

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// nla is one attribute: length, type, value, padding.
func nla(typ uint16, v ...[]byte) []byte {
	val := cat(v...)
	b := cat(le16(uint16(4+len(val))), le16(typ), val)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func ipBytes(s string) []byte { return netip.MustParseAddr(s).AsSlice() }

func TestRouteEncodeGolden(t *testing.T) {
	t.Parallel()
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("golden bytes are little-endian")
	}
	pfx := netip.MustParsePrefix
	addr := netip.MustParseAddr
	for _, tc := range []struct {
		name  string
		route Route
		want  []byte
	}{
		{
			"ipv4 via dev, big table, metric, locked mtu, src, tos, realms",
			Route{
				Dst: pfx("198.51.100.0/24"), Via: addr("192.0.2.254"), IfIndex: 2, Table: 6909, Metric: 12,
				Src: addr("192.0.2.1"), TOS: 4, Realms: 3<<16 | 20,
				Metrics: map[RouteMetric]MetricValue{MetricMTU: {Value: 1400, Lock: true}, MetricCongCtl: {Algorithm: "cubic"}},
			},
			cat(
				// rtmsg: family, dst_len, src_len, tos, table (unspec:
				// >255), protocol (keepalived), scope, type, flags.
				[]byte{2, 24, 0, 4, 0, 18, 0, 1}, le32(0),
				nla(1, ipBytes("198.51.100.0")), // RTA_DST
				nla(15, le32(6909)),             // RTA_TABLE
				nla(7, ipBytes("192.0.2.1")),    // RTA_PREFSRC
				nla(5, ipBytes("192.0.2.254")),  // RTA_GATEWAY
				nla(4, le32(2)),                 // RTA_OIF
				nla(6, le32(12)),                // RTA_PRIORITY
				nla(11, le32(3<<16|20)),         // RTA_FLOW
				nla(8, // RTA_METRICS
					nla(1, le32(1<<2)),           // RTAX_LOCK: mtu
					nla(2, le32(1400)),           // RTAX_MTU
					nla(16, []byte("cubic\x00")), // RTAX_CC_ALGO
				),
			),
		},
		{
			"ipv6 from, pref, expires, blackhole-free default scope, small table",
			Route{
				Dst: pfx("2001:db8:7::/64"), From: pfx("2001:db8:8::/64"), Via: addr("2001:db8::fe"), IfIndex: 3,
				Table: 100, Protocol: 12, Pref: RoutePrefHigh, Expires: 100,
			},
			cat(
				[]byte{10, 64, 64, 0, 100, 12, 0, 1}, le32(0),
				nla(1, ipBytes("2001:db8:7::")), // RTA_DST
				nla(2, ipBytes("2001:db8:8::")), // RTA_SRC
				nla(15, le32(100)),              // RTA_TABLE
				nla(5, ipBytes("2001:db8::fe")), // RTA_GATEWAY
				nla(4, le32(3)),                 // RTA_OIF
				nla(20, []byte{1}),              // RTA_PREF high
				nla(23, le32(100)),              // RTA_EXPIRES
			),
		},
		{
			"ipv4 multipath: weights, onlink, realms, an ipv6 gateway (RTA_VIA)",
			Route{
				Dst: pfx("198.51.101.0/24"),
				Nexthops: []Nexthop{
					{Via: addr("192.0.2.253"), IfIndex: 2, Weight: 2, Onlink: true, Realms: 4},
					{Via: addr("fe80::1"), IfIndex: 2},
				},
			},
			cat(
				[]byte{2, 24, 0, 0, 254, 18, 0, 1}, le32(0),
				nla(1, ipBytes("198.51.101.0")),
				nla(15, le32(254)),
				nla(9, // RTA_MULTIPATH
					// rtnexthop: len, flags (onlink), hops (weight-1), ifindex.
					le16(8+8+8), []byte{4, 1}, le32(2),
					nla(5, ipBytes("192.0.2.253")), nla(11, le32(4)),
					le16(8+24), []byte{0, 0}, le32(2),
					nla(18, le16(10), ipBytes("fe80::1")), // RTA_VIA: AF_INET6, address
				),
			),
		},
		{
			"local route: host scope by default, onlink flag",
			Route{Type: RouteLocal, Dst: pfx("203.0.113.200/32"), IfIndex: 2, Table: 255, Onlink: true},
			cat(
				[]byte{2, 32, 0, 0, 255, 18, 254, 2}, le32(4),
				nla(1, ipBytes("203.0.113.200")), nla(15, le32(255)), nla(4, le32(2)),
			),
		},
		{
			"blackhole, explicit scope",
			Route{Type: RouteBlackhole, Dst: pfx("203.0.113.0/24"), Scope: ScopeLink},
			cat(
				[]byte{2, 24, 0, 0, 254, 18, 253, 6}, le32(0),
				nla(1, ipBytes("203.0.113.0")), nla(15, le32(254)),
			),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.route.Validate(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, tc.route.encode()); diff != "" {
				t.Fatalf("encode (-want +got):\n%s", diff)
			}
			// The mode is how a route is added, not what it is.
			r := tc.route
			r.Mode = RouteAppend
			if string(r.encode()) != string(tc.route.encode()) {
				t.Fatal("mode changes the encoding")
			}
		})
	}
}

func TestRouteValidate(t *testing.T) {
	t.Parallel()
	pfx := netip.MustParsePrefix
	addr := netip.MustParseAddr
	v4 := pfx("198.51.100.0/24")
	v6 := pfx("2001:db8:1::/64")
	for _, tc := range []struct {
		route Route
		want  string // in the error
	}{
		{Route{}, "destination"},
		{Route{Dst: v4, Src: addr("2001:db8::1")}, "src"},
		{Route{Dst: v4, From: pfx("192.0.2.0/24")}, "from"},
		{Route{Dst: v6, Via: addr("192.0.2.1")}, "via"},
		{Route{Dst: v4, Type: RouteBlackhole, Via: addr("192.0.2.1")}, "via"},
		{Route{Dst: v4, Type: RouteType(42)}, "type"},
		{Route{Dst: v4, Via: addr("192.0.2.1"), Nexthops: []Nexthop{{Via: addr("192.0.2.2")}}}, "via"},
		{Route{Dst: v4, Nexthops: []Nexthop{{Via: addr("192.0.2.2"), Weight: 257}}}, "weight"},
		{Route{Dst: v4, Nexthops: []Nexthop{{}}}, "nexthop 1"},
		{Route{Dst: v6, Nexthops: []Nexthop{{IfIndex: 1, Realms: 3}}}, "realms"},
		{Route{Dst: v6, TOS: 4}, "tos"},
		{Route{Dst: v6, Realms: 4}, "realms"},
		{Route{Dst: v4, Pref: RoutePrefLow}, "pref"},
		{Route{Dst: v4, Expires: 5}, "expires"},
		{Route{Dst: v4, IfIndex: -1}, "dev"},
		{Route{Dst: v4, Metrics: map[RouteMetric]MetricValue{99: {Value: 1}}}, "metric"},
		{Route{Dst: v4, Metrics: map[RouteMetric]MetricValue{MetricCongCtl: {Value: 1}}}, "congctl"},
	} {
		err := tc.route.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%v) = %v, want an error about %s", tc.route, err, tc.want)
		}
	}
	ok := Route{Dst: v4, Via: addr("fe80::1"), IfIndex: 2} // ipv6 gateway for ipv4: RTA_VIA
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(%v) = %v", ok, err)
	}
}

func TestRouteSetMetric(t *testing.T) {
	t.Parallel()
	var r Route
	for _, m := range []struct{ name, value string }{
		{"mtu", "lock 1400"}, {"advmss", "101"}, {"hoplimit", "100"}, {"window", "105"}, {"cwnd", "106"},
		{"ssthresh", "lock 107"}, {"reordering", "104"}, {"initcwnd", "109"}, {"initrwnd", "110"},
		{"rtt", "300ms"}, {"rttvar", "10"}, {"rto_min", "1s"}, {"features", "ecn"}, {"quickack", "1"},
		{"congctl", "lock cubic"}, {"fastopen_no_cookie", "1"}, {"expires", "100"},
	} {
		if err := r.SetMetric(m.name, m.value); err != nil {
			t.Fatalf("SetMetric(%s, %s): %v", m.name, m.value, err)
		}
	}
	want := map[RouteMetric]MetricValue{
		MetricMTU: {Value: 1400, Lock: true}, MetricAdvMSS: {Value: 101}, MetricHopLimit: {Value: 100},
		MetricWindow: {Value: 105}, MetricCwnd: {Value: 106}, MetricSSThresh: {Value: 107, Lock: true},
		MetricReordering: {Value: 104}, MetricInitCwnd: {Value: 109}, MetricInitRwnd: {Value: 110},
		MetricRTT: {Value: 300 * 8}, MetricRTTVar: {Value: 10}, MetricRTOMin: {Value: 1000},
		MetricFeatures: {Value: 1}, MetricQuickAck: {Value: 1}, MetricCongCtl: {Algorithm: "cubic", Lock: true},
		MetricFastOpenNoCookie: {Value: 1},
	}
	if diff := cmp.Diff(want, r.Metrics); diff != "" {
		t.Fatalf("metrics (-want +got):\n%s", diff)
	}
	if r.Expires != 100 {
		t.Fatalf("expires %d", r.Expires)
	}
	for _, bad := range []struct{ name, value string }{
		{"ttl-propagate", "enabled"}, {"nosuch", "1"}, {"mtu", "x"}, {"rtt", "5h"}, {"rtt", "1.5"},
		{"quickack", "2"}, {"expires", "lock 5"}, {"congctl", ""}, {"mtu", "4294967296"}, {"rtt", "ms"},
	} {
		if err := r.SetMetric(bad.name, bad.value); err == nil || !strings.Contains(err.Error(), bad.name) {
			t.Errorf("SetMetric(%s, %s) = %v, want an error naming it", bad.name, bad.value, err)
		}
	}
}

func TestRouteEnums(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"unicast", "local", "broadcast", "anycast", "multicast", "blackhole", "unreachable", "prohibit", "throw", "nat"} {
		rt, err := ParseRouteType(name)
		if err != nil || rt.String() != name {
			t.Errorf("ParseRouteType(%q) = %v, %v", name, rt, err)
		}
	}
	if rt, err := ParseRouteType(""); err != nil || rt != RouteUnicast {
		t.Errorf("ParseRouteType(\"\") = %v, %v", rt, err)
	}
	if _, err := ParseRouteType("xresolve"); err == nil {
		t.Error("ParseRouteType(xresolve) accepted")
	}
	for _, name := range []string{"low", "medium", "high"} {
		p, err := ParseRoutePref(name)
		if err != nil || p.String() != name {
			t.Errorf("ParseRoutePref(%q) = %v, %v", name, p, err)
		}
	}
	if _, err := ParseRoutePref("urgent"); err == nil {
		t.Error("ParseRoutePref(urgent) accepted")
	}
	for _, s := range []string{RouteType(0).String(), RouteType(42).String(), RoutePref(9).String(),
		RouteMetric(99).String(), RouteMode(9).String(), RoutePrepend.String(), RouteExclusive.String()} {
		if s == "" {
			t.Error("empty enum name")
		}
	}
	r := Route{Dst: netip.MustParsePrefix("198.51.101.0/24"), Table: 6909,
		Nexthops: []Nexthop{{Via: netip.MustParseAddr("192.0.2.253"), IfIndex: 2, Weight: 2, Onlink: true}},
		Metrics:  map[RouteMetric]MetricValue{MetricSSThresh: {Value: 107, Lock: true}}, Mode: RouteAppend}
	want := "unicast 198.51.101.0/24 table 6909 ssthresh lock 107 nexthop via 192.0.2.253 dev 2 weight 2 onlink append"
	if got := r.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
