package netutil

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ProtoKeepalived is the route and rule protocol (RTPROT_KEEPALIVED) that
// keepalived marks its own with unless told otherwise, and lbd too: `ip
// route show proto keepalived` lists them as it does for keepalived.
const ProtoKeepalived = unix.RTPROT_KEEPALIVED

// RouteType is a route's type (RTN_*, iproute2's names). The zero value
// is unicast.
type RouteType uint8

// The route types keepalived's virtual_routes and static_routes accept.
const (
	RouteUnicast     RouteType = unix.RTN_UNICAST
	RouteLocal       RouteType = unix.RTN_LOCAL
	RouteBroadcast   RouteType = unix.RTN_BROADCAST
	RouteAnycast     RouteType = unix.RTN_ANYCAST
	RouteMulticast   RouteType = unix.RTN_MULTICAST
	RouteBlackhole   RouteType = unix.RTN_BLACKHOLE
	RouteUnreachable RouteType = unix.RTN_UNREACHABLE
	RouteProhibit    RouteType = unix.RTN_PROHIBIT
	RouteThrow       RouteType = unix.RTN_THROW
	RouteNAT         RouteType = unix.RTN_NAT
)

var routeTypeNames = [...]string{
	RouteUnicast: "unicast", RouteLocal: "local", RouteBroadcast: "broadcast",
	RouteAnycast: "anycast", RouteMulticast: "multicast", RouteBlackhole: "blackhole",
	RouteUnreachable: "unreachable", RouteProhibit: "prohibit", RouteThrow: "throw", RouteNAT: "nat",
}

func (t RouteType) orUnicast() RouteType {
	if t == 0 {
		return RouteUnicast
	}
	return t
}

// String returns iproute2's name for the type.
func (t RouteType) String() string {
	t = t.orUnicast()
	if int(t) < len(routeTypeNames) && routeTypeNames[t] != "" {
		return routeTypeNames[t]
	}
	return fmt.Sprintf("route_type(%d)", uint8(t))
}

// ParseRouteType reads a route type name; "" is unicast.
func ParseRouteType(s string) (RouteType, error) {
	if s == "" {
		return RouteUnicast, nil
	}
	for t, name := range routeTypeNames {
		if name != "" && name == s {
			return RouteType(t), nil
		}
	}
	return 0, fmt.Errorf("bad route type %q", s)
}

// hasNexthop reports whether routes of the type forward to a next hop.
func (t RouteType) hasNexthop() bool {
	switch t.orUnicast() {
	case RouteBlackhole, RouteUnreachable, RouteProhibit, RouteThrow:
		return false
	}
	return true
}

// defaultScope is the scope a route of the type gets when none is given:
// iproute2's choice for local, nat, broadcast, anycast and multicast
// routes; global otherwise, as keepalived does (iproute2 also makes a
// unicast route without a gateway "scope link"; keepalived 2.2.7 leaves it
// global, seen with `ip route show`).
func (t RouteType) defaultScope() Scope {
	switch t.orUnicast() {
	case RouteLocal, RouteNAT:
		return ScopeHost
	case RouteBroadcast, RouteAnycast, RouteMulticast:
		return ScopeLink
	}
	return ScopeGlobal
}

// RoutePref is an IPv6 route's router preference (RTA_PREF, RFC 4191).
type RoutePref uint8

// The preferences. The zero value sends none (the kernel's medium).
const (
	RoutePrefDefault RoutePref = iota
	RoutePrefLow
	RoutePrefMedium
	RoutePrefHigh
)

// String returns iproute2's name.
func (p RoutePref) String() string {
	switch p {
	case RoutePrefDefault:
		return "default"
	case RoutePrefLow:
		return "low"
	case RoutePrefMedium:
		return "medium"
	case RoutePrefHigh:
		return "high"
	}
	return fmt.Sprintf("route_pref(%d)", uint8(p))
}

// ParseRoutePref reads "low", "medium" or "high"; "" is the default.
func ParseRoutePref(s string) (RoutePref, error) {
	switch s {
	case "":
		return RoutePrefDefault, nil
	case "low":
		return RoutePrefLow, nil
	case "medium":
		return RoutePrefMedium, nil
	case "high":
		return RoutePrefHigh, nil
	}
	return 0, fmt.Errorf("bad route pref %q", s)
}

// wire is the value of RTA_PREF (ICMPV6_ROUTER_PREF_*).
func (p RoutePref) wire() uint8 {
	switch p {
	case RoutePrefLow:
		return 3
	case RoutePrefHigh:
		return 1
	}
	return 0
}

// RouteMetric is one of a route's metrics (RTAX_*, iproute2's names).
type RouteMetric uint8

// The route metrics keepalived accepts.
const (
	MetricMTU              RouteMetric = unix.RTAX_MTU
	MetricWindow           RouteMetric = unix.RTAX_WINDOW
	MetricRTT              RouteMetric = unix.RTAX_RTT
	MetricRTTVar           RouteMetric = unix.RTAX_RTTVAR
	MetricSSThresh         RouteMetric = unix.RTAX_SSTHRESH
	MetricCwnd             RouteMetric = unix.RTAX_CWND
	MetricAdvMSS           RouteMetric = unix.RTAX_ADVMSS
	MetricReordering       RouteMetric = unix.RTAX_REORDERING
	MetricHopLimit         RouteMetric = unix.RTAX_HOPLIMIT
	MetricInitCwnd         RouteMetric = unix.RTAX_INITCWND
	MetricFeatures         RouteMetric = unix.RTAX_FEATURES
	MetricRTOMin           RouteMetric = unix.RTAX_RTO_MIN
	MetricInitRwnd         RouteMetric = unix.RTAX_INITRWND
	MetricQuickAck         RouteMetric = unix.RTAX_QUICKACK
	MetricCongCtl          RouteMetric = unix.RTAX_CC_ALGO
	MetricFastOpenNoCookie RouteMetric = unix.RTAX_FASTOPEN_NO_COOKIE
)

var routeMetricNames = [...]string{
	MetricMTU: "mtu", MetricWindow: "window", MetricRTT: "rtt", MetricRTTVar: "rttvar",
	MetricSSThresh: "ssthresh", MetricCwnd: "cwnd", MetricAdvMSS: "advmss",
	MetricReordering: "reordering", MetricHopLimit: "hoplimit", MetricInitCwnd: "initcwnd",
	MetricFeatures: "features", MetricRTOMin: "rto_min", MetricInitRwnd: "initrwnd",
	MetricQuickAck: "quickack", MetricCongCtl: "congctl", MetricFastOpenNoCookie: "fastopen_no_cookie",
}

// String returns iproute2's name for the metric.
func (m RouteMetric) String() string {
	if int(m) < len(routeMetricNames) && routeMetricNames[m] != "" {
		return routeMetricNames[m]
	}
	return fmt.Sprintf("metric(%d)", uint8(m))
}

func (m RouteMetric) valid() bool {
	return int(m) < len(routeMetricNames) && routeMetricNames[m] != ""
}

// MetricValue is a route metric's value: a number in the kernel's units,
// or for congctl the algorithm's name. Lock keeps TCP from changing it
// (RTAX_LOCK).
type MetricValue struct {
	Value     uint32
	Algorithm string
	Lock      bool
}

// RTAX_FEATURE_ECN, the one feature iproute2 names.
const rtaxFeatureECN = 1

// Nexthop is one next hop of a multipath route ("nexthop via ADDR dev IF
// weight N onlink realms R").
type Nexthop struct {
	// Via is the gateway; for an IPv4 route it may be IPv6 (RTA_VIA).
	Via     netip.Addr
	IfIndex int
	// Weight is 1 to 256; 0 means 1.
	Weight int
	Onlink bool
	// Realms is IPv4 only, FROM<<16 | TO (RTNames.Realms).
	Realms uint32
}

// RouteMode says how a route joins routes of the same destination, TOS
// and metric (keepalived's default, "add" and "append"; the man page of
// keepalived.conf, "static_routes").
type RouteMode uint8

// The modes.
const (
	// RoutePrepend puts the route before the matching ones
	// (NLM_F_CREATE alone), keepalived's default.
	RoutePrepend RouteMode = iota
	// RouteAppend puts it after them (NLM_F_APPEND).
	RouteAppend
	// RouteExclusive adds it only if there is no matching route
	// (NLM_F_EXCL), as `ip route add`.
	RouteExclusive
)

// String returns the mode's keyword.
func (m RouteMode) String() string {
	switch m {
	case RoutePrepend:
		return "prepend"
	case RouteAppend:
		return "append"
	case RouteExclusive:
		return "add"
	}
	return fmt.Sprintf("route_mode(%d)", uint8(m))
}

func (m RouteMode) flags() uint16 {
	switch m {
	case RouteAppend:
		return unix.NLM_F_CREATE | unix.NLM_F_APPEND
	case RouteExclusive:
		return unix.NLM_F_CREATE | unix.NLM_F_EXCL
	}
	return unix.NLM_F_CREATE
}

// Route is a route with every attribute of keepalived's virtual_routes
// and static_routes (`ip route add` syntax) that netlink can express:
//
//	[src ADDR] [TYPE] PREFIX [from PREFIX] [via ADDR] [dev IF] [onlink]
//	    [scope S] [table T] [metric N] [protocol P] [tos T] [realms R]
//	    [pref P] [expires N] [nexthop ...]... [METRIC [lock] VALUE]...
//	    [append]
//
// Values are the kernel's: names (tables, protocols, realms, TOS) resolve
// through RTNames, metrics through SetMetric. encap (lightweight tunnels),
// ttl-propagate (MPLS) and vrf (resolve it with Host.VRFTable into Table)
// are not here.
type Route struct {
	Type RouteType
	// Dst is the destination ("default" is 0.0.0.0/0 or ::/0).
	Dst netip.Prefix
	// Src is the preferred source address (src, RTA_PREFSRC).
	Src netip.Addr
	// From is an IPv6 route's source prefix (from, RTA_SRC).
	From netip.Prefix
	// Via is the gateway; for an IPv4 route it may be IPv6 (RTA_VIA).
	Via     netip.Addr
	IfIndex int
	Onlink  bool
	// Scope: the zero value means the type's default (host for local and
	// nat, link for broadcast, anycast and multicast, global otherwise).
	Scope Scope
	// Table: 0 means main.
	Table uint32
	// Metric is the route's priority (metric, priority, preference); 0
	// sends none (IPv6 then gets the kernel's 1024).
	Metric uint32
	// Protocol: 0 means ProtoKeepalived.
	Protocol uint8
	// TOS is IPv4 only (tos, dsfield).
	TOS uint8
	// Realms is IPv4 only, FROM<<16 | TO.
	Realms uint32
	// Pref and Expires (seconds, 0 none) are IPv6 only.
	Pref    RoutePref
	Expires uint32
	// Nexthops make a multipath route; then Via must be zero.
	Nexthops []Nexthop
	// Metrics are the route metrics (mtu, rtt, ...).
	Metrics map[RouteMetric]MetricValue
	// Mode is how the route is added; it is not part of the route.
	Mode RouteMode
}

// SetMetric sets a route metric from keepalived's (and iproute2's)
// words: name is "mtu", "advmss", "rtt", ..., value its value, preceded
// by "lock " to lock it. rtt, rttvar and rto_min take a time: a bare
// number is in the kernel's units (rtt 1/8 ms, rttvar 1/4 ms, rto_min
// ms), "300ms" or "1s" are converted; features takes "ecn" or a number;
// congctl an algorithm name. "expires" (seconds) sets Expires: keepalived
// lists it among the metrics. ttl-propagate (MPLS only) is refused.
func (r *Route) SetMetric(name, value string) error {
	v, lock := strings.CutPrefix(value, "lock ")
	v = strings.TrimSpace(v)
	if name == "expires" {
		if lock {
			return errors.New("expires: cannot be locked")
		}
		n, err := strconv.ParseUint(v, 0, 32)
		if err != nil {
			return fmt.Errorf("expires: bad value %q", v)
		}
		r.Expires = uint32(n)
		return nil
	}
	var m RouteMetric
	for i, n := range routeMetricNames {
		if n != "" && n == name {
			m = RouteMetric(i)
		}
	}
	if m == 0 {
		if name == "ttl-propagate" {
			return errors.New("ttl-propagate: not supported (MPLS routes only)")
		}
		return fmt.Errorf("unknown route metric %q", name)
	}
	mv := MetricValue{Lock: lock}
	var err error
	switch m {
	case MetricCongCtl:
		if v == "" || strings.ContainsAny(v, " \x00") || len(v) >= 16 {
			return fmt.Errorf("congctl: bad algorithm %q", v)
		}
		mv.Algorithm = v
	case MetricFeatures:
		if v == "ecn" {
			mv.Value = rtaxFeatureECN
		} else {
			mv.Value, err = parseU32(v)
		}
	case MetricRTT:
		mv.Value, err = parseRTTTime(v, 8)
	case MetricRTTVar:
		mv.Value, err = parseRTTTime(v, 4)
	case MetricRTOMin:
		mv.Value, err = parseRTTTime(v, 1)
	case MetricQuickAck, MetricFastOpenNoCookie:
		mv.Value, err = parseU32(v)
		if err == nil && mv.Value > 1 {
			err = errors.New("want 0 or 1")
		}
	default:
		mv.Value, err = parseU32(v)
	}
	if err != nil {
		return fmt.Errorf("%s: bad value %q: %v", name, v, err)
	}
	if r.Metrics == nil {
		r.Metrics = map[RouteMetric]MetricValue{}
	}
	r.Metrics[m] = mv
	return nil
}

func parseU32(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 0, 32)
	return uint32(v), err
}

// parseRTTTime reads an rtt-like time as iproute2 and keepalived do
// (get_time_rtt): a bare number is raw (the kernel's units), one with a
// "ms" or "s" suffix is converted to milliseconds, rounded up, then to
// the kernel's units (per ms).
func parseRTTTime(s string, perMS uint32) (uint32, error) {
	num := strings.TrimRightFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' })
	unit := strings.ToLower(s[len(num):])
	if num == "" {
		return 0, errors.New("no number")
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, errors.New("not a number")
	}
	switch unit {
	case "":
		if f != math.Trunc(f) || f > math.MaxUint32 {
			return 0, errors.New("raw value must be a whole number")
		}
		return uint32(f), nil
	case "s", "sec", "secs":
		f *= 1000
	case "ms", "msec", "msecs":
	default:
		return 0, fmt.Errorf("unknown unit %q", unit)
	}
	ms := math.Ceil(f)
	if ms*float64(perMS) > math.MaxUint32 {
		return 0, errors.New("too large")
	}
	return uint32(ms) * perMS, nil
}

// family is the route's address family.
func (r Route) family() Family {
	if r.Dst.Addr().Is4() {
		return FamilyIPv4
	}
	return FamilyIPv6
}

// Validate reports what makes r unusable, naming the attribute.
func (r Route) Validate() error {
	d := r.Dst.Addr()
	if !r.Dst.IsValid() || d.Is4In6() || d.Zone() != "" {
		return fmt.Errorf("bad destination %v", r.Dst)
	}
	v4 := d.Is4()
	fam := r.family()
	if !r.Type.orUnicast().valid() {
		return fmt.Errorf("bad route type %d", uint8(r.Type))
	}
	if r.Src.IsValid() && (r.Src.Is4() != v4 || r.Src.Is4In6() || r.Src.Zone() != "") {
		return fmt.Errorf("src: %v is not %v", r.Src, fam)
	}
	if r.From.IsValid() {
		if v4 {
			return errors.New("from: ipv4 routes have no source prefix")
		}
		if !r.From.Addr().Is6() || r.From.Addr().Is4In6() || r.From.Addr().Zone() != "" {
			return fmt.Errorf("from: %v is not ipv6", r.From)
		}
	}
	if err := checkGateway(r.Via, v4, "via"); err != nil {
		return err
	}
	if !r.Type.hasNexthop() && (r.Via.IsValid() || len(r.Nexthops) > 0) {
		return fmt.Errorf("via: a %v route has no next hop", r.Type)
	}
	if r.Via.IsValid() && len(r.Nexthops) > 0 {
		return errors.New("via: given together with nexthops")
	}
	if r.IfIndex < 0 {
		return fmt.Errorf("dev: bad interface index %d", r.IfIndex)
	}
	for i, nh := range r.Nexthops {
		if err := checkGateway(nh.Via, v4, fmt.Sprintf("nexthop %d via", i+1)); err != nil {
			return err
		}
		if nh.Weight < 0 || nh.Weight > 256 {
			return fmt.Errorf("nexthop %d weight: %d out of 1..256", i+1, nh.Weight)
		}
		if nh.IfIndex < 0 {
			return fmt.Errorf("nexthop %d dev: bad interface index %d", i+1, nh.IfIndex)
		}
		if !nh.Via.IsValid() && nh.IfIndex == 0 {
			return fmt.Errorf("nexthop %d: neither via nor dev", i+1)
		}
		if nh.Realms != 0 && !v4 {
			return fmt.Errorf("nexthop %d realms: ipv4 only", i+1)
		}
	}
	if !v4 {
		switch {
		case r.TOS != 0:
			return errors.New("tos: ipv4 only (the kernel refuses it on ipv6 routes)")
		case r.Realms != 0:
			return errors.New("realms: ipv4 only")
		}
	} else {
		switch {
		case r.Pref != RoutePrefDefault:
			return errors.New("pref: ipv6 only")
		case r.Expires != 0:
			return errors.New("expires: ipv6 only")
		}
	}
	if r.Pref > RoutePrefHigh {
		return fmt.Errorf("pref: bad value %d", uint8(r.Pref))
	}
	if r.Mode > RouteExclusive {
		return fmt.Errorf("bad route mode %d", uint8(r.Mode))
	}
	for m, mv := range r.Metrics {
		if !m.valid() {
			return fmt.Errorf("bad route metric %d", uint8(m))
		}
		if (m == MetricCongCtl) != (mv.Algorithm != "") {
			return fmt.Errorf("%v: bad value %+v", m, mv)
		}
	}
	return nil
}

func (t RouteType) valid() bool {
	return int(t) < len(routeTypeNames) && routeTypeNames[t] != ""
}

func checkGateway(gw netip.Addr, v4 bool, what string) error {
	switch {
	case !gw.IsValid():
		return nil
	case gw.Is4In6() || gw.Zone() != "":
		return fmt.Errorf("%s: bad gateway %v", what, gw)
	case !v4 && gw.Is4():
		return fmt.Errorf("%s: ipv4 gateway %v on an ipv6 route", what, gw)
	}
	return nil
}

// scope resolves the zero value to the type's default.
func (r Route) scope() Scope {
	if r.Scope == ScopeGlobal {
		return r.Type.defaultScope()
	}
	return r.Scope
}

// encode builds the rtmsg and attributes of r, for RTM_NEWROUTE and
// RTM_DELROUTE alike: a delete with every attribute removes only an
// identical route. r must be valid.
func (r Route) encode() []byte {
	d := r.Dst.Addr()
	family := uint8(unix.AF_INET6)
	if d.Is4() {
		family = unix.AF_INET
	}
	table := r.Table
	if table == 0 {
		table = unix.RT_TABLE_MAIN
	}
	proto := r.Protocol
	if proto == 0 {
		proto = ProtoKeepalived
	}
	var flags uint32
	if r.Onlink {
		flags |= unix.RTNH_F_ONLINK
	}
	w := &nlBuilder{}
	// struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope,
	// type, flags.
	rtTable := uint8(unix.RT_TABLE_UNSPEC)
	if table < 256 {
		rtTable = uint8(table)
	}
	srcLen := 0
	if r.From.IsValid() {
		srcLen = r.From.Bits()
	}
	w.raw(family, uint8(r.Dst.Bits()), uint8(srcLen), r.TOS, rtTable, proto, uint8(r.scope()), uint8(r.Type.orUnicast()))
	w.b = binary.NativeEndian.AppendUint32(w.b, flags)

	w.attr(unix.RTA_DST, d.AsSlice())
	if r.From.IsValid() {
		w.attr(unix.RTA_SRC, r.From.Addr().AsSlice())
	}
	w.u32(unix.RTA_TABLE, table)
	if r.Src.IsValid() {
		w.attr(unix.RTA_PREFSRC, r.Src.AsSlice())
	}
	if r.Via.IsValid() {
		putGateway(w, r.Via, d.Is4())
	}
	if r.IfIndex != 0 {
		w.u32(unix.RTA_OIF, uint32(r.IfIndex))
	}
	if r.Metric != 0 {
		w.u32(unix.RTA_PRIORITY, r.Metric)
	}
	if r.Realms != 0 {
		w.u32(unix.RTA_FLOW, r.Realms)
	}
	if r.Pref != RoutePrefDefault {
		w.u8(unix.RTA_PREF, r.Pref.wire())
	}
	if r.Expires != 0 {
		w.u32(unix.RTA_EXPIRES, r.Expires)
	}
	if len(r.Metrics) > 0 {
		ms := make([]RouteMetric, 0, len(r.Metrics))
		var lock uint32
		for m, mv := range r.Metrics {
			ms = append(ms, m)
			if mv.Lock {
				lock |= 1 << m
			}
		}
		slices.Sort(ms)
		start := w.nest(unix.RTA_METRICS)
		if lock != 0 {
			w.u32(unix.RTAX_LOCK, lock)
		}
		for _, m := range ms {
			if m == MetricCongCtl {
				w.str(uint16(m), r.Metrics[m].Algorithm)
			} else {
				w.u32(uint16(m), r.Metrics[m].Value)
			}
		}
		w.end(start)
	}
	if len(r.Nexthops) > 0 {
		start := w.nest(unix.RTA_MULTIPATH)
		for _, nh := range r.Nexthops {
			// struct rtnexthop: len, flags, hops (weight - 1), ifindex.
			nhStart := len(w.b)
			var nhFlags uint8
			if nh.Onlink {
				nhFlags |= unix.RTNH_F_ONLINK
			}
			hops := uint8(0)
			if nh.Weight > 1 {
				hops = uint8(nh.Weight - 1)
			}
			w.b = binary.NativeEndian.AppendUint16(w.b, 0)
			w.raw(nhFlags, hops)
			w.b = binary.NativeEndian.AppendUint32(w.b, uint32(nh.IfIndex))
			if nh.Via.IsValid() {
				putGateway(w, nh.Via, d.Is4())
			}
			if nh.Realms != 0 {
				w.u32(unix.RTA_FLOW, nh.Realms)
			}
			binary.NativeEndian.PutUint16(w.b[nhStart:], uint16(len(w.b)-nhStart))
		}
		w.end(start)
	}
	return w.b
}

// putGateway writes RTA_GATEWAY, or RTA_VIA for an IPv6 gateway of an
// IPv4 route (struct rtvia: family, address).
func putGateway(w *nlBuilder, gw netip.Addr, v4Route bool) {
	if v4Route && gw.Is6() {
		v := binary.NativeEndian.AppendUint16(nil, unix.AF_INET6)
		w.attr(unix.RTA_VIA, append(v, gw.AsSlice()...))
		return
	}
	w.attr(unix.RTA_GATEWAY, gw.AsSlice())
}

// String renders r in iproute2's words, interfaces by index.
func (r Route) String() string {
	var b strings.Builder
	b.WriteString(r.Type.String() + " " + r.Dst.String())
	if r.From.IsValid() {
		b.WriteString(" from " + r.From.String())
	}
	if r.Via.IsValid() {
		b.WriteString(" via " + r.Via.String())
	}
	if r.IfIndex != 0 {
		fmt.Fprintf(&b, " dev %d", r.IfIndex)
	}
	if r.Onlink {
		b.WriteString(" onlink")
	}
	if r.Src.IsValid() {
		b.WriteString(" src " + r.Src.String())
	}
	if r.Scope != ScopeGlobal {
		b.WriteString(" scope " + r.Scope.String())
	}
	if r.Table != 0 {
		fmt.Fprintf(&b, " table %d", r.Table)
	}
	if r.Metric != 0 {
		fmt.Fprintf(&b, " metric %d", r.Metric)
	}
	if r.Protocol != 0 {
		fmt.Fprintf(&b, " proto %d", r.Protocol)
	}
	if r.TOS != 0 {
		fmt.Fprintf(&b, " tos %#x", r.TOS)
	}
	if r.Realms != 0 {
		fmt.Fprintf(&b, " realms %d/%d", r.Realms>>16, r.Realms&0xffff)
	}
	if r.Pref != RoutePrefDefault {
		b.WriteString(" pref " + r.Pref.String())
	}
	if r.Expires != 0 {
		fmt.Fprintf(&b, " expires %d", r.Expires)
	}
	ms := make([]RouteMetric, 0, len(r.Metrics))
	for m := range r.Metrics {
		ms = append(ms, m)
	}
	slices.Sort(ms)
	for _, m := range ms {
		mv := r.Metrics[m]
		b.WriteString(" " + m.String())
		if mv.Lock {
			b.WriteString(" lock")
		}
		if m == MetricCongCtl {
			b.WriteString(" " + mv.Algorithm)
		} else {
			fmt.Fprintf(&b, " %d", mv.Value)
		}
	}
	for _, nh := range r.Nexthops {
		b.WriteString(" nexthop")
		if nh.Via.IsValid() {
			b.WriteString(" via " + nh.Via.String())
		}
		if nh.IfIndex != 0 {
			fmt.Fprintf(&b, " dev %d", nh.IfIndex)
		}
		if nh.Weight > 1 {
			fmt.Fprintf(&b, " weight %d", nh.Weight)
		}
		if nh.Onlink {
			b.WriteString(" onlink")
		}
		if nh.Realms != 0 {
			fmt.Fprintf(&b, " realms %d/%d", nh.Realms>>16, nh.Realms&0xffff)
		}
	}
	if r.Mode != RoutePrepend {
		b.WriteString(" " + r.Mode.String())
	}
	return b.String()
}

// AddRoute adds r in its Mode. A route already there (EEXIST: identical,
// or for RouteExclusive any of the same destination, TOS and metric) is
// reported as an error matching unix.EEXIST: see RouteManager.
func (h *Host) AddRoute(r Route) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("add route %v: %w", r, err)
	}
	c, release, err := h.routeConn()
	if err != nil {
		return fmt.Errorf("add route %v: %w", r, err)
	}
	defer release()
	if err := c.request(unix.RTM_NEWROUTE, r.Mode.flags(), r.encode()); err != nil {
		return fmt.Errorf("add route %v: %w", r, err)
	}
	return nil
}

// DelRoute deletes the route identical to r. One already gone (ESRCH, or
// ENODEV for a vanished interface) is not an error; deleted reports
// whether one was.
func (h *Host) DelRoute(r Route) (deleted bool, err error) {
	if err := r.Validate(); err != nil {
		return false, fmt.Errorf("delete route %v: %w", r, err)
	}
	c, release, err := h.routeConn()
	if err != nil {
		return false, fmt.Errorf("delete route %v: %w", r, err)
	}
	defer release()
	err = c.request(unix.RTM_DELROUTE, 0, r.encode())
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENODEV):
		return false, nil
	}
	return false, fmt.Errorf("delete route %v: %w", r, err)
}

// RouteManager adds and removes routes and removes only its own, as
// VIPManager does for addresses: a route the kernel already had (an
// identical one, or for RouteExclusive any route with the same
// destination, TOS and metric) is foreign and never removed. Routes are
// told apart by every attribute, so two routes to one destination with
// different gateways are two routes. Safe for concurrent use; its methods
// are ownership's.
type RouteManager struct{ ownership[Route] }

// NewRouteManager returns a manager acting through host (nil: the
// calling thread's namespace, per call). log gets one line per foreign
// route found; nil discards.
func NewRouteManager(host *Host, log *slog.Logger) *RouteManager {
	m := &RouteManager{}
	m.init("route", host.AddRoute, host.DelRoute, log)
	return m
}

// VRFTable returns the routing table of VRF device name, for a route's
// "vrf NAME".
func (h *Host) VRFTable(name string) (uint32, error) {
	l, err := h.handle().LinkByName(name)
	if err != nil {
		return 0, fmt.Errorf("vrf %q: %w", name, linkErr(err))
	}
	vrf, ok := l.(*netlink.Vrf)
	if !ok {
		return 0, fmt.Errorf("vrf %q: not a vrf device", name)
	}
	return vrf.Table, nil
}
