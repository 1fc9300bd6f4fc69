package config

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// This file parses the entries shared by static and VRRP blocks: addresses
// (static_ipaddress, virtual_ipaddress, virtual_ipaddress_excluded),
// routes (static_routes, virtual_routes) and rules (static_rules,
// virtual_rules), following `ip address|route|rule add` syntax as
// keepalived does (keepalived vrrp_ipaddress.c, vrrp_iproute.c,
// vrrp_iprule.c), without shortened option names.

// addrOptions says which options an address list accepts.
type addrOptions struct {
	vmac       bool // use_vmac (VIPs only)
	noTrack    bool // no_track (VIPs/eVIPs)
	trackGroup bool // track_group (static only)
}

var scopes = map[string]bool{"global": true, "site": true, "link": true, "host": true, "nowhere": true}

func validScope(s string) bool {
	if scopes[s] {
		return true
	}
	v, err := strconv.Atoi(s)
	return err == nil && v >= 0 && v <= 255
}

// parseIPAddress parses one address entry. what names the list for
// messages ("virtual_ipaddress").
func (d *decoder) parseIPAddress(n *node, what string, opt addrOptions) (IPAddress, bool) {
	w := n.words
	a := IPAddress{Pos: n.pos}
	p, ok := d.parsePrefix(n.pos, what, w[0])
	if !ok {
		return a, false
	}
	a.Prefix = p
	need := func(i int) (string, bool) {
		if i+1 >= len(w) {
			d.errorf(n.pos, "%s %s: %s needs a value", what, w[0], w[i])
			return "", false
		}
		return w[i+1], true
	}
	for i := 1; i < len(w); i++ {
		switch o := w[i]; o {
		case "brd", "broadcast":
			v, ok := need(i)
			if !ok {
				return a, false
			}
			i++
			if v == "+" || v == "-" {
				a.BroadcastMode = v
				continue
			}
			b, ok := d.parseAddr(n.pos, what+" "+w[0]+" brd", v)
			if !ok {
				return a, false
			}
			if familyOf(b) != a.Family() {
				d.errorf(n.pos, "%s %s: brd %s is not of the address's family", what, w[0], v)
				return a, false
			}
			a.Broadcast = b
		case "dev":
			v, ok := need(i)
			if !ok {
				return a, false
			}
			i++
			if !validIfName(v) {
				d.errorf(n.pos, "%s %s: dev %q is not a valid interface name", what, w[0], v)
				return a, false
			}
			a.Dev = v
		case "scope":
			v, ok := need(i)
			if !ok {
				return a, false
			}
			i++
			if !validScope(v) {
				d.errorf(n.pos, "%s %s: scope %q is not global, site, link, host, nowhere or 0-255", what, w[0], v)
				return a, false
			}
			a.Scope = v
		case "label":
			v, ok := need(i)
			if !ok {
				return a, false
			}
			i++
			if len(v) > 15 {
				d.errorf(n.pos, "%s %s: label %q longer than 15 characters", what, w[0], v)
				return a, false
			}
			a.Label = v
		case "peer":
			v, ok := need(i)
			if !ok {
				return a, false
			}
			i++
			pp, ok := d.parsePrefix(n.pos, what+" "+w[0]+" peer", v)
			if !ok {
				return a, false
			}
			a.Peer = pp
		case "home":
			a.Home = true
		case "-nodad", "nodad":
			a.NoDAD = true
		case "mngtmpaddr":
			a.MngTmpAddr = true
		case "noprefixroute":
			a.NoPrefixRoute = true
		case "autojoin":
			a.AutoJoin = true
		case "use_vmac":
			if !opt.vmac {
				d.errorf(n.pos, "%s %s: use_vmac is only valid in virtual_ipaddress", what, w[0])
				return a, false
			}
			a.UseVMAC = true
		case "no_track":
			if !opt.noTrack {
				d.errorf(n.pos, "%s %s: no_track is only valid for VRRP addresses", what, w[0])
				return a, false
			}
			a.NoTrack = true
		case "track_group":
			v, ok := need(i)
			if !ok {
				return a, false
			}
			i++
			if !opt.trackGroup {
				d.errorf(n.pos, "%s %s: track_group is only valid for static addresses", what, w[0])
				return a, false
			}
			a.TrackGroup = v
		case "preferred_lft":
			v, ok := need(i)
			if !ok {
				return a, false
			}
			i++
			var lft uint32 = 0xffffffff
			if v != "forever" {
				x, ok := d.parseInt(n.pos, what+" "+w[0]+" preferred_lft", v, 0, 0xfffffffe)
				if !ok {
					return a, false
				}
				lft = uint32(x)
			}
			a.PreferredLft = &lft
		default:
			d.errorf(n.pos, "%s %s: unknown option %q", what, w[0], o)
			return a, false
		}
	}
	if (a.Home || a.NoDAD || a.MngTmpAddr) && a.Family() != FamilyIPv6 {
		d.warnf(n.pos, "%s %s: home, -nodad and mngtmpaddr apply to IPv6 only", what, w[0])
	}
	return a, true
}

// validIfName reports whether s can be a Linux interface name.
func validIfName(s string) bool {
	if s == "" || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	return !strings.ContainsAny(s, "/: \t")
}

func (d *decoder) addressList(n *node, what string, opt addrOptions) []IPAddress {
	var out []IPAddress
	for _, c := range n.children {
		if c.block {
			d.errorf(c.pos, "%s: unexpected { } block", what)
			continue
		}
		if a, ok := d.parseIPAddress(c, what, opt); ok {
			out = append(out, a)
		}
	}
	return out
}

var routeTypes = map[string]bool{
	"unicast": true, "blackhole": true, "unreachable": true, "prohibit": true, "throw": true,
	"local": true, "broadcast": true, "anycast": true, "multicast": true, "nat": true,
}

// routeMetrics take a value, optionally preceded by "lock".
var routeMetrics = map[string]bool{
	"mtu": true, "hoplimit": true, "advmss": true, "rtt": true, "rttvar": true, "reordering": true,
	"window": true, "cwnd": true, "ssthresh": true, "rto_min": true, "initcwnd": true, "initrwnd": true,
	"features": true, "congctl": true, "quickack": true, "fastopen_no_cookie": true, "ttl-propagate": true,
	"expires": true,
}

// routeOptions are the words that start a route option (used to end an
// encap list).
var routeOptions = map[string]bool{
	"via": true, "gw": true, "or": true, "dev": true, "oif": true, "src": true, "from": true,
	"table": true, "lookup": true, "metric": true, "priority": true, "preference": true,
	"protocol": true, "proto": true, "scope": true, "tos": true, "dsfield": true, "realms": true,
	"pref": true, "vrf": true, "onlink": true, "nexthop": true, "encap": true, "no_track": true,
	"track_group": true, "append": true, "inet": true, "inet6": true,
}

// parseRoute parses one route entry. virtual selects virtual_routes rules
// (no_track allowed, track_group not).
func (d *decoder) parseRoute(n *node, what string, virtual bool) (Route, bool) {
	w := n.words
	r := Route{Pos: n.pos, Type: "unicast"}
	fail := func(format string, args ...any) (Route, bool) {
		d.errorf(n.pos, what+": "+format, args...)
		return r, false
	}
	i := 0
	var forced Family
	// Leading words before the destination: "src ADDR", "to", a type,
	// "inet"/"inet6".
	for i < len(w) {
		switch {
		case w[i] == "src" && i+1 < len(w):
			a, ok := d.parseAddr(n.pos, what+" src", w[i+1])
			if !ok {
				return r, false
			}
			r.Src = a
			i += 2
			continue
		case w[i] == "to":
			i++
			continue
		case routeTypes[w[i]]:
			r.Type = w[i]
			i++
			continue
		case w[i] == "inet":
			forced = FamilyIPv4
			i++
			continue
		case w[i] == "inet6":
			forced = FamilyIPv6
			i++
			continue
		}
		break
	}
	if i >= len(w) {
		return fail("missing destination")
	}
	if w[i] == "default" {
		if forced == FamilyIPv6 {
			r.Dst = netip.MustParsePrefix("::/0")
		} else {
			r.Dst = netip.MustParsePrefix("0.0.0.0/0")
		}
	} else {
		p, ok := d.parsePrefix(n.pos, what, w[i])
		if !ok {
			return r, false
		}
		r.Dst = p
	}
	r.Family = familyOf(r.Dst.Addr())
	if forced != FamilyUnspec && forced != r.Family {
		return fail("destination is not %s", forced)
	}
	i++
	var nh *Nexthop // the nexthop being filled, after "nexthop"
	need := func() (string, bool) {
		if i+1 >= len(w) {
			d.errorf(n.pos, "%s: %s needs a value", what, w[i])
			return "", false
		}
		i++
		return w[i], true
	}
	for ; i < len(w); i++ {
		o := w[i]
		switch o {
		case "via", "gw":
			if o == "gw" {
				d.warnf(n.pos, `%s: "gw" for routes is deprecated; use "via"`, what)
			}
			v, ok := need()
			if !ok {
				return r, false
			}
			if v == "inet" || v == "inet6" {
				if v, ok = need(); !ok {
					return r, false
				}
			}
			a, ok := d.parseAddr(n.pos, what+" "+o, v)
			if !ok {
				return r, false
			}
			if familyOf(a) != r.Family && !(r.Family == FamilyIPv4 && a.Is6()) {
				return fail("gateway %s is not of the destination's family", a)
			}
			if nh != nil {
				nh.Via = a
			} else {
				r.Via = a
			}
		case "or":
			d.warnf(n.pos, `%s: "or" for routes is deprecated; use "nexthop"`, what)
			v, ok := need()
			if !ok {
				return r, false
			}
			a, ok := d.parseAddr(n.pos, what+" or", v)
			if !ok {
				return r, false
			}
			if !r.Via.IsValid() {
				return fail(`"or" without a first "via"`)
			}
			if len(r.Nexthops) == 0 {
				r.Nexthops = append(r.Nexthops, Nexthop{Via: r.Via, Dev: r.Dev})
				r.Via = netip.Addr{}
			}
			r.Nexthops = append(r.Nexthops, Nexthop{Via: a})
		case "dev", "oif":
			v, ok := need()
			if !ok {
				return r, false
			}
			if !validIfName(v) {
				return fail("dev %q is not a valid interface name", v)
			}
			if nh != nil {
				nh.Dev = v
			} else {
				r.Dev = v
			}
		case "weight":
			if nh == nil {
				return fail("weight outside nexthop")
			}
			v, ok := need()
			if !ok {
				return r, false
			}
			x, ok := d.parseInt(n.pos, what+" nexthop weight", v, 1, 256)
			if !ok {
				return r, false
			}
			nh.Weight = int(x)
		case "onlink":
			if nh != nil {
				nh.Onlink = true
			} else {
				r.Onlink = true
			}
		case "nexthop":
			r.Nexthops = append(r.Nexthops, Nexthop{})
			nh = &r.Nexthops[len(r.Nexthops)-1]
		case "src":
			v, ok := need()
			if !ok {
				return r, false
			}
			a, ok := d.parseAddr(n.pos, what+" src", v)
			if !ok {
				return r, false
			}
			r.Src = a
		case "from":
			v, ok := need()
			if !ok {
				return r, false
			}
			p, ok := d.parsePrefix(n.pos, what+" from", v)
			if !ok {
				return r, false
			}
			r.From = p
		case "table", "lookup":
			v, ok := need()
			if !ok {
				return r, false
			}
			r.Table = v
		case "metric", "priority", "preference":
			v, ok := need()
			if !ok {
				return r, false
			}
			x, ok := d.parseInt(n.pos, what+" "+o, v, 0, 1<<32-1)
			if !ok {
				return r, false
			}
			m := uint32(x)
			r.Metric = &m
		case "protocol", "proto":
			v, ok := need()
			if !ok {
				return r, false
			}
			r.Protocol = v
		case "scope":
			v, ok := need()
			if !ok {
				return r, false
			}
			if !validScope(v) {
				return fail("scope %q is not global, site, link, host, nowhere or 0-255", v)
			}
			r.Scope = v
		case "tos", "dsfield":
			v, ok := need()
			if !ok {
				return r, false
			}
			r.TOS = v
		case "realms":
			v, ok := need()
			if !ok {
				return r, false
			}
			if nh != nil {
				nh.Realms = v
			} else {
				r.Realms = v
			}
		case "pref":
			v, ok := need()
			if !ok {
				return r, false
			}
			if v != "low" && v != "medium" && v != "high" {
				return fail("pref %q is not low, medium or high", v)
			}
			r.Pref = v
		case "vrf":
			v, ok := need()
			if !ok {
				return r, false
			}
			r.VRF = v
		case "encap":
			j := i + 1
			for j < len(w) && !routeOptions[w[j]] && !routeMetrics[w[j]] {
				j++
			}
			if j == i+1 {
				return fail("encap needs a type")
			}
			r.Encap = append([]string(nil), w[i+1:j]...)
			i = j - 1
		case "no_track":
			if !virtual {
				return fail("no_track is only valid in virtual_routes")
			}
			r.NoTrack = true
		case "track_group":
			v, ok := need()
			if !ok {
				return r, false
			}
			if virtual {
				return fail("track_group is only valid in static_routes")
			}
			r.TrackGroup = v
		case "append":
			r.Append = true
		case "inet", "inet6":
			if (o == "inet6") != (r.Family == FamilyIPv6) {
				return fail("destination is not %s", o)
			}
		default:
			if !routeMetrics[o] {
				return fail("unknown option %q", o)
			}
			v, ok := need()
			if !ok {
				return r, false
			}
			if v == "lock" {
				if v, ok = need(); !ok {
					return r, false
				}
				v = "lock " + v
			}
			if r.Metrics == nil {
				r.Metrics = map[string]string{}
			}
			r.Metrics[o] = v
		}
	}
	return r, true
}

func (d *decoder) routeList(n *node, what string, virtual bool) []Route {
	var out []Route
	for _, c := range n.children {
		if c.block {
			d.errorf(c.pos, "%s: unexpected { } block", what)
			continue
		}
		if r, ok := d.parseRoute(c, what, virtual); ok {
			out = append(out, r)
		}
	}
	return out
}

var ruleActions = map[string]bool{"blackhole": true, "unreachable": true, "prohibit": true, "nop": true}

// parseRule parses one rule entry.
func (d *decoder) parseRule(n *node, what string, virtual bool) (Rule, bool) {
	w := n.words
	r := Rule{Pos: n.pos}
	fail := func(format string, args ...any) (Rule, bool) {
		d.errorf(n.pos, what+": "+format, args...)
		return r, false
	}
	var forced Family
	i := 0
	need := func() (string, bool) {
		if i+1 >= len(w) {
			d.errorf(n.pos, "%s: %s needs a value", what, w[i])
			return "", false
		}
		i++
		return w[i], true
	}
	selector := func(dir string, all *bool, p *netip.Prefix) bool {
		v, ok := need()
		if !ok {
			return false
		}
		if v == "all" {
			*all = true
			return true
		}
		pp, err := parsePrefixQuiet(v)
		if err != nil {
			d.errorf(n.pos, "%s: invalid rule %s address %s", what, dir, v)
			return false
		}
		*p = pp
		return true
	}
	for ; i < len(w); i++ {
		o := w[i]
		switch o {
		case "not":
			r.Not = true
		case "from":
			if !selector("from", &r.FromAll, &r.From) {
				return r, false
			}
		case "to":
			if !selector("to", &r.ToAll, &r.To) {
				return r, false
			}
		case "tos", "dsfield":
			v, ok := need()
			if !ok {
				return r, false
			}
			r.TOS = v
		case "fwmark":
			v, ok := need()
			if !ok {
				return r, false
			}
			mark, mask, hasMask := strings.Cut(v, "/")
			m, err := strconv.ParseUint(mark, 0, 32)
			if err != nil {
				return fail("fwmark %q is not a number", mark)
			}
			m32 := uint32(m)
			r.FWMark = &m32
			if hasMask {
				k, err := strconv.ParseUint(mask, 0, 32)
				if err != nil {
					return fail("fwmark mask %q is not a number", mask)
				}
				k32 := uint32(k)
				r.FWMask = &k32
			}
		case "iif", "dev":
			v, ok := need()
			if !ok {
				return r, false
			}
			r.IIf = v
		case "oif":
			v, ok := need()
			if !ok {
				return r, false
			}
			r.OIf = v
		case "priority", "preference", "order", "pref", "prio":
			v, ok := need()
			if !ok {
				return r, false
			}
			x, ok := d.parseInt(n.pos, what+" "+o, v, 0, 1<<32-1)
			if !ok {
				return r, false
			}
			p := uint32(x)
			r.Priority = &p
		case "table", "lookup":
			v, ok := need()
			if !ok {
				return r, false
			}
			r.Action, r.Table = "table", v
		case "goto":
			v, ok := need()
			if !ok {
				return r, false
			}
			x, ok := d.parseInt(n.pos, what+" goto", v, 0, 1<<32-1)
			if !ok {
				return r, false
			}
			r.Action, r.Goto = "goto", uint32(x)
		case "realms":
			v, ok := need()
			if !ok {
				return r, false
			}
			r.Realms = v
		case "suppress_prefixlength":
			v, ok := need()
			if !ok {
				return r, false
			}
			x, ok := d.parseInt(n.pos, what+" suppress_prefixlength", v, 0, 128)
			if !ok {
				return r, false
			}
			sp := int(x)
			r.SuppressPrefixLen = &sp
		case "suppress_ifgroup":
			v, ok := need()
			if !ok {
				return r, false
			}
			r.SuppressIfGroup = v
		case "uidrange":
			v, ok := need()
			if !ok {
				return r, false
			}
			lo, hi, ok := strings.Cut(v, "-")
			_, e1 := strconv.ParseUint(lo, 10, 32)
			_, e2 := strconv.ParseUint(hi, 10, 32)
			if !ok || e1 != nil || e2 != nil {
				return fail("uidrange %q is not N-M", v)
			}
			r.UIDRange = v
		case "l3mdev":
			r.L3MDev = true
		case "protocol", "proto":
			v, ok := need()
			if !ok {
				return r, false
			}
			r.Protocol = v
		case "ipproto", "ip_proto":
			v, ok := need()
			if !ok {
				return r, false
			}
			r.IPProto = v
		case "sport", "dport":
			v, ok := need()
			if !ok {
				return r, false
			}
			if !validPortRange(v) {
				return fail("%s %q is not a port or port range", o, v)
			}
			if o == "sport" {
				r.SPort = v
			} else {
				r.DPort = v
			}
		case "tun_id":
			v, ok := need()
			if !ok {
				return r, false
			}
			r.TunID = v
		case "no_track":
			if !virtual {
				return fail("no_track is only valid in virtual_rules")
			}
			r.NoTrack = true
		case "track_group":
			v, ok := need()
			if !ok {
				return r, false
			}
			if virtual {
				return fail("track_group is only valid in static_rules")
			}
			r.TrackGroup = v
		case "inet":
			forced = FamilyIPv4
		case "inet6":
			forced = FamilyIPv6
		default:
			if ruleActions[o] {
				r.Action = o
				continue
			}
			return fail("unknown option %q", o)
		}
	}
	fam := FamilyUnspec
	for _, p := range []netip.Prefix{r.From, r.To} {
		if !p.IsValid() {
			continue
		}
		f := familyOf(p.Addr())
		if fam != FamilyUnspec && f != fam {
			return fail("from and to are of different families")
		}
		fam = f
	}
	if forced != FamilyUnspec {
		if fam != FamilyUnspec && fam != forced {
			return fail("addresses are not %s", forced)
		}
		fam = forced
	}
	if fam == FamilyUnspec {
		fam = FamilyIPv4
	}
	r.Family = fam
	if r.Action == "" {
		r.Action, r.Table = "table", "main"
	}
	if r.Priority == nil {
		d.warnf(n.pos, "%s: rule has no preference; keepalived assigns one, which is probably not what you want", what)
	}
	return r, true
}

func parsePrefixQuiet(s string) (netip.Prefix, error) {
	addr, bits, hasBits := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, strconv.ErrSyntax
	}
	n := a.BitLen()
	if hasBits {
		v, err := strconv.Atoi(bits)
		if err != nil || v < 0 || v > a.BitLen() {
			return netip.Prefix{}, strconv.ErrSyntax
		}
		n = v
	}
	return netip.PrefixFrom(a, n), nil
}

func validPortRange(s string) bool {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return false
	}
	if !isRange {
		return true
	}
	b, err := strconv.ParseUint(hi, 10, 16)
	return err == nil && a <= b
}

func (d *decoder) ruleList(n *node, what string, virtual bool) []Rule {
	var out []Rule
	for _, c := range n.children {
		if c.block {
			d.errorf(c.pos, "%s: unexpected { } block", what)
			continue
		}
		if r, ok := d.parseRule(c, what, virtual); ok {
			out = append(out, r)
		}
	}
	return out
}

// ---- small top-level blocks ----------------------------------------------

func decodeLinkbeat(d *decoder, n *node, c *Config) {
	for _, e := range n.children {
		lb := LinkbeatInterface{Pos: e.pos, Name: e.words[0]}
		if len(e.words) > 1 {
			switch t := e.words[1]; t {
			case "MII", "ETHTOOL", "IOCTL":
				lb.Type = t
			default:
				d.errorf(e.pos, "linkbeat_interfaces %s: type %q is not MII, ETHTOOL or IOCTL", e.words[0], t)
				continue
			}
		}
		if len(e.words) > 2 {
			d.warnf(e.pos, "linkbeat_interfaces %s: extra values ignored", e.words[0])
		}
		c.LinkbeatInterfaces = append(c.LinkbeatInterfaces, lb)
	}
}

func decodeInterfaceDelays(d *decoder, n *node, c *Config) {
	for _, e := range n.children {
		if len(e.words) < 2 || len(e.words) > 3 {
			d.errorf(e.pos, "interface_up_down_delays: want IFNAME DOWN_DELAY [UP_DELAY]")
			continue
		}
		down, ok := d.parseTimer(e.pos, "interface_up_down_delays "+e.words[0], e.words[1], 0, 255*time.Second)
		if !ok {
			continue
		}
		up := down
		if len(e.words) == 3 {
			if up, ok = d.parseTimer(e.pos, "interface_up_down_delays "+e.words[0], e.words[2], 0, 255*time.Second); !ok {
				continue
			}
		}
		c.InterfaceDelays = append(c.InterfaceDelays, InterfaceDelay{Pos: e.pos, Name: e.words[0], Down: down, Up: up})
	}
}

var trackGroupSpec = blockSpec[TrackGroup]{kws: map[string]entry[TrackGroup]{
	"group": blk(func(d *decoder, n *node, g *TrackGroup) { g.Members = append(g.Members, valueList(n)...) }),
}}

func decodeTrackGroup(d *decoder, n *node, c *Config) {
	name, ok := d.arg(n)
	if !ok {
		return
	}
	defer d.enter("track_group " + name)()
	g := TrackGroup{Pos: n.pos, Name: name}
	decodeBlock(d, &trackGroupSpec, "track_group", n.children, &g)
	c.TrackGroups = append(c.TrackGroups, g)
}
