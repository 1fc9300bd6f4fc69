package daemon

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lbdproject/lbd/pkg/config"
	"github.com/lbdproject/lbd/pkg/netutil"
)

// RoutePlan is one virtual_routes or static_routes entry, translated;
// interfaces are resolved when it is added (they may appear later).
type RoutePlan struct {
	Route netutil.Route // IfIndex and nexthop IfIndexes unset
	Dev   string
	// NexthopDevs are the nexthops' dev, by index ("" for none).
	NexthopDevs []string
	// VRF is the vrf keyword: its table is looked up when added.
	VRF string
	Pos config.Pos
}

// RulePlan is one virtual_rules or static_rules entry.
type RulePlan struct {
	Rule netutil.Rule
	Pos  config.Pos
}

// StaticPlan is static_ipaddress, static_routes and static_rules: set
// up at start, removed at stop, as keepalived does.
type StaticPlan struct {
	Addresses []PlannedVIP
	Routes    []RoutePlan
	Rules     []RulePlan
}

// translateRoute converts one route; an attribute netlink cannot carry
// (encap) or that does not resolve is an error naming it.
func translateRoute(names *netutil.RTNames, r config.Route) (RoutePlan, error) {
	rp := RoutePlan{Dev: r.Dev, VRF: r.VRF, Pos: r.Pos}
	var err error
	nr := &rp.Route
	if nr.Type, err = netutil.ParseRouteType(r.Type); err != nil {
		return rp, err
	}
	nr.Dst, nr.Src, nr.From, nr.Via, nr.Onlink = r.Dst, r.Src, r.From, r.Via, r.Onlink
	if r.Scope != "" {
		if nr.Scope, err = names.Scope(r.Scope); err != nil {
			return rp, fmt.Errorf("scope: %w", err)
		}
	}
	if r.Table != "" {
		if nr.Table, err = names.Table(r.Table); err != nil {
			return rp, fmt.Errorf("table: %w", err)
		}
	}
	if r.Metric != nil {
		nr.Metric = *r.Metric
	}
	if r.Protocol != "" {
		if nr.Protocol, err = names.Protocol(r.Protocol); err != nil {
			return rp, fmt.Errorf("protocol: %w", err)
		}
	}
	if r.TOS != "" {
		if nr.TOS, err = names.DSField(r.TOS); err != nil {
			return rp, fmt.Errorf("tos: %w", err)
		}
	}
	if r.Realms != "" {
		if nr.Realms, err = names.Realms(r.Realms); err != nil {
			return rp, fmt.Errorf("realms: %w", err)
		}
	}
	if r.Pref != "" {
		if nr.Pref, err = netutil.ParseRoutePref(r.Pref); err != nil {
			return rp, fmt.Errorf("pref: %w", err)
		}
	}
	for i, nh := range r.Nexthops {
		n := netutil.Nexthop{Via: nh.Via, Weight: nh.Weight, Onlink: nh.Onlink}
		if nh.Realms != "" {
			if n.Realms, err = names.Realms(nh.Realms); err != nil {
				return rp, fmt.Errorf("nexthop %d realms: %w", i+1, err)
			}
		}
		nr.Nexthops = append(nr.Nexthops, n)
		rp.NexthopDevs = append(rp.NexthopDevs, nh.Dev)
	}
	for k, v := range r.Metrics {
		if err := nr.SetMetric(k, v); err != nil {
			return rp, err
		}
	}
	if len(r.Encap) > 0 {
		return rp, errors.New("encap: lightweight tunnel encapsulation is not supported by lbd")
	}
	if r.Append {
		nr.Mode = netutil.RouteAppend
	}
	check := rp.Route
	if rp.Dev != "" {
		check.IfIndex = 1
	}
	for i := range check.Nexthops {
		if rp.NexthopDevs[i] != "" {
			check.Nexthops[i].IfIndex = 1
		}
	}
	if err := check.Validate(); err != nil {
		return rp, err
	}
	return rp, nil
}

// translateRule converts one rule.
func translateRule(names *netutil.RTNames, r config.Rule) (RulePlan, error) {
	rp := RulePlan{Pos: r.Pos}
	nr := &rp.Rule
	var err error
	nr.Family = netutil.FamilyIPv4
	if r.Family == config.FamilyIPv6 {
		nr.Family = netutil.FamilyIPv6
	}
	nr.Not = r.Not
	if !r.FromAll {
		nr.From = r.From
	}
	if !r.ToAll {
		nr.To = r.To
	}
	nr.Priority, nr.FWMark, nr.FWMask = r.Priority, r.FWMark, r.FWMask
	if r.TOS != "" {
		if nr.TOS, err = names.DSField(r.TOS); err != nil {
			return rp, fmt.Errorf("tos: %w", err)
		}
	}
	nr.IIf, nr.OIf = r.IIf, r.OIf
	if nr.Action, err = netutil.ParseRuleAction(r.Action); err != nil {
		return rp, err
	}
	if r.Table != "" {
		if nr.Table, err = names.Table(r.Table); err != nil {
			return rp, fmt.Errorf("table: %w", err)
		}
	}
	nr.Goto = r.Goto
	if r.Realms != "" {
		if nr.Realms, err = names.Realms(r.Realms); err != nil {
			return rp, fmt.Errorf("realms: %w", err)
		}
	}
	nr.SuppressPrefixLen = r.SuppressPrefixLen
	if r.SuppressIfGroup != "" {
		g, err := names.Group(r.SuppressIfGroup)
		if err != nil {
			return rp, fmt.Errorf("suppress_ifgroup: %w", err)
		}
		nr.SuppressIfGroup = &g
	}
	if r.UIDRange != "" {
		u, err := netutil.ParseUIDRange(r.UIDRange)
		if err != nil {
			return rp, fmt.Errorf("uidrange: %w", err)
		}
		nr.UIDRange = &u
	}
	nr.L3MDev = r.L3MDev
	if r.Protocol != "" {
		if nr.Protocol, err = names.Protocol(r.Protocol); err != nil {
			return rp, fmt.Errorf("protocol: %w", err)
		}
	}
	if r.IPProto != "" {
		if nr.IPProto, err = netutil.ParseIPProto(r.IPProto); err != nil {
			return rp, fmt.Errorf("ipproto: %w", err)
		}
	}
	for _, pr := range []struct {
		s   string
		dst **netutil.PortRange
		kw  string
	}{{r.SPort, &nr.SPort, "sport"}, {r.DPort, &nr.DPort, "dport"}} {
		if pr.s == "" {
			continue
		}
		v, err := netutil.ParsePortRange(pr.s)
		if err != nil {
			return rp, fmt.Errorf("%s: %w", pr.kw, err)
		}
		*pr.dst = &v
	}
	if r.TunID != "" {
		v, err := strconv.ParseUint(strings.TrimSpace(r.TunID), 0, 64)
		if err != nil {
			return rp, fmt.Errorf("tun_id: bad value %q", r.TunID)
		}
		nr.TunID = &v
	}
	if err := nr.Validate(); err != nil {
		return rp, err
	}
	return rp, nil
}

// translateRoutes fills each plan's virtual routes and rules and the
// static addresses, routes and rules. An entry that cannot be set up is
// left out with a warning at its line, as keepalived skips it.
func translateRoutes(cfg *config.Config, tr *Translation) {
	names, err := netutil.LoadRTNames()
	if err != nil {
		tr.Warnings = append(tr.Warnings, fmt.Sprintf("warning: iproute2 name files: %v (only built-in names and numbers resolve)", err))
	}
	routes := func(owner string, list []config.Route) []RoutePlan {
		var out []RoutePlan
		for _, r := range list {
			rp, err := translateRoute(names, r)
			if err != nil {
				tr.Warnings = append(tr.Warnings, fmt.Sprintf("%s: warning: %s: route %v ignored: %v", r.Pos, owner, r.Dst, err))
				continue
			}
			out = append(out, rp)
		}
		return out
	}
	rules := func(owner string, list []config.Rule) []RulePlan {
		var out []RulePlan
		for _, r := range list {
			rp, err := translateRule(names, r)
			if err != nil {
				tr.Warnings = append(tr.Warnings, fmt.Sprintf("%s: warning: %s: rule ignored: %v", r.Pos, owner, err))
				continue
			}
			out = append(out, rp)
		}
		return out
	}
	byName := map[string]*config.VRRPInstance{}
	for i := range cfg.Instances {
		byName[cfg.Instances[i].Name] = &cfg.Instances[i]
	}
	for i := range tr.Plans {
		p := &tr.Plans[i]
		v := byName[p.Name]
		p.Routes = routes("vrrp_instance "+p.Name+": virtual_routes", v.VirtualRoutes)
		p.Rules = rules("vrrp_instance "+p.Name+": virtual_rules", v.VirtualRules)
	}
	tr.Static.Routes = routes("static_routes", cfg.StaticRoutes)
	tr.Static.Rules = rules("static_rules", cfg.StaticRules)
	for _, a := range cfg.StaticAddresses {
		// keepalived puts a static address without dev on default_interface.
		pv, err := planVIP(a, cfg.Global.DefaultInterface, false)
		if err != nil {
			tr.Warnings = append(tr.Warnings, fmt.Sprintf("%s: warning: static_ipaddress ignored: %v", a.Pos, err))
			continue
		}
		tr.Static.Addresses = append(tr.Static.Addresses, pv)
	}
}
