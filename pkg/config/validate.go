package config

import (
	"net/netip"
	"strings"
	"time"
)

// validate checks the decoded configuration with keepalived's rules. Where
// keepalived repairs a configuration and carries on (clearing a state,
// dropping a tracking weight), lbd does the same and warns; where the
// configuration cannot mean what it says, it is an error.
func validate(c *Config, diag *diagSink) {
	v := validator{c: c, diag: diag, names: newNameIndex(c)}
	v.duplicateNames()
	v.trackObjects()
	v.syncGroups()
	for i := range c.Instances {
		v.instance(&c.Instances[i])
	}
	v.vrids()
	v.trackGroups()
	v.global()
	v.vsGroups()
	for i := range c.VirtualServers {
		v.virtualServer(&c.VirtualServers[i])
	}
	v.duplicateServices()
}

type validator struct {
	c     *Config
	diag  *diagSink
	names nameIndex
}

// nameIndex finds named elements by name (the first one defined).
type nameIndex struct {
	instances map[string]int
	scripts   map[string]int
	files     map[string]int
	processes map[string]int
	bfds      map[string]int
	vsGroups  map[string]int
}

func newNameIndex(c *Config) nameIndex {
	x := nameIndex{
		instances: map[string]int{}, scripts: map[string]int{}, files: map[string]int{},
		processes: map[string]int{}, bfds: map[string]int{}, vsGroups: map[string]int{},
	}
	add := func(m map[string]int, name string, i int) {
		if _, ok := m[name]; !ok {
			m[name] = i
		}
	}
	for i, e := range c.Instances {
		add(x.instances, e.Name, i)
	}
	for i, e := range c.Scripts {
		add(x.scripts, e.Name, i)
	}
	for i, e := range c.TrackFiles {
		add(x.files, e.Name, i)
	}
	for i, e := range c.TrackProcesses {
		add(x.processes, e.Name, i)
	}
	for i, e := range c.BFDInstances {
		add(x.bfds, e.Name, i)
	}
	for i, e := range c.VirtualServerGroups {
		add(x.vsGroups, e.Name, i)
	}
	return x
}

func (v *validator) errorf(pos Pos, format string, args ...any) {
	v.diag.errorf(pos, format, args...)
}

func (v *validator) warnf(pos Pos, format string, args ...any) {
	v.diag.warnf(pos, format, args...)
}

// duplicateNames reports elements defined twice under one name.
func (v *validator) duplicateNames() {
	type named struct {
		kind string
		name string
		pos  Pos
	}
	var all []named
	for _, x := range v.c.Instances {
		all = append(all, named{"vrrp_instance", x.Name, x.Pos})
	}
	for _, x := range v.c.SyncGroups {
		all = append(all, named{"vrrp_sync_group", x.Name, x.Pos})
	}
	for _, x := range v.c.Scripts {
		all = append(all, named{"vrrp_script", x.Name, x.Pos})
	}
	for _, x := range v.c.TrackProcesses {
		all = append(all, named{"vrrp_track_process", x.Name, x.Pos})
	}
	for _, x := range v.c.TrackFiles {
		all = append(all, named{"track_file", x.Name, x.Pos})
	}
	for _, x := range v.c.BFDInstances {
		all = append(all, named{"bfd_instance", x.Name, x.Pos})
	}
	for _, x := range v.c.VirtualServerGroups {
		all = append(all, named{"virtual_server_group", x.Name, x.Pos})
	}
	for _, x := range v.c.TrackGroups {
		all = append(all, named{"track_group", x.Name, x.Pos})
	}
	seen := map[[2]string]Pos{}
	for _, x := range all {
		k := [2]string{x.kind, x.name}
		if first, ok := seen[k]; ok {
			v.errorf(x.pos, "%s %s: already defined at %s", x.kind, x.name, first)
			continue
		}
		seen[k] = x.pos
	}
}

func (v *validator) trackObjects() {
	for _, s := range v.c.Scripts {
		if s.Script == nil || len(s.Script.Args) == 0 {
			v.errorf(s.Pos, "vrrp_script %s: no script", s.Name)
		}
	}
	for _, p := range v.c.TrackProcesses {
		if p.Process == "" {
			v.errorf(p.Pos, "vrrp_track_process %s: no process", p.Name)
		}
		if p.IsSet("quorum_max") && p.QuorumMax < p.Quorum {
			v.errorf(p.Pos, "vrrp_track_process %s: quorum_max %d below quorum %d", p.Name, p.QuorumMax, p.Quorum)
		}
	}
	for _, f := range v.c.TrackFiles {
		if f.File == "" {
			v.errorf(f.Pos, "track_file %s: no file", f.Name)
		}
	}
	for _, b := range v.c.BFDInstances {
		if !b.NeighborIP.IsValid() {
			v.errorf(b.Pos, "bfd_instance %s: no neighbor_ip", b.Name)
			continue
		}
		if b.SourceIP.IsValid() && familyOf(b.SourceIP) != familyOf(b.NeighborIP) {
			v.errorf(b.Pos, "bfd_instance %s: source_ip %s and neighbor_ip %s are of different families", b.Name, b.SourceIP, b.NeighborIP)
		}
	}
}

func (v *validator) instanceByName(name string) *VRRPInstance {
	if i, ok := v.names.instances[name]; ok {
		return &v.c.Instances[i]
	}
	return nil
}

func (v *validator) syncGroups() {
	member := map[string]string{} // instance -> group
	for gi := range v.c.SyncGroups {
		g := &v.c.SyncGroups[gi]
		var valid []string
		for _, m := range g.Members {
			inst := v.instanceByName(m)
			if inst == nil {
				v.errorf(g.Pos, "vrrp_sync_group %s: vrrp_instance %s does not exist", g.Name, m)
				continue
			}
			if other, ok := member[m]; ok {
				v.errorf(g.Pos, "vrrp_sync_group %s: vrrp_instance %s is already in vrrp_sync_group %s", g.Name, m, other)
				continue
			}
			member[m] = g.Name
			inst.SyncGroup = g.Name
			valid = append(valid, m)
		}
		switch {
		case len(g.Members) == 0:
			v.warnf(g.Pos, "vrrp_sync_group %s has no vrrp instances; keepalived removes it", g.Name)
		case len(valid) == 1 && len(g.Members) == 1:
			v.warnf(g.Pos, "vrrp_sync_group %s has only one vrrp instance, which is probably not what you want", g.Name)
		}
		v.trackRefs("vrrp_sync_group "+g.Name, g.TrackScripts, g.TrackFiles, g.TrackProcesses, g.TrackBFDs)
		if g.GlobalTracking {
			g.SyncGroupTrackingWeight = true
		}
		// A member's own tracking weights are kept as written: the
		// daemon applies keepalived's rules for them (pkg/track
		// ApplySyncRules: some become unweighted, others are ignored)
		// and warns at the entry.
	}
}

// trackRefs reports track entries naming objects that do not exist.
func (v *validator) trackRefs(owner string, scripts, files, procs, bfds []TrackRef) {
	exists := func(kind, name string) bool {
		var ok bool
		switch kind {
		case "vrrp_script":
			_, ok = v.names.scripts[name]
		case "track_file":
			_, ok = v.names.files[name]
		case "vrrp_track_process":
			_, ok = v.names.processes[name]
		case "bfd_instance":
			_, ok = v.names.bfds[name]
		}
		return ok
	}
	check := func(list, kind string, refs []TrackRef) {
		for _, r := range refs {
			if !exists(kind, r.Name) {
				v.errorf(r.Pos, "%s: %s %s: no %s %s", owner, list, r.Name, kind, r.Name)
			}
		}
	}
	check("track_script", "vrrp_script", scripts)
	check("track_file", "track_file", files)
	check("track_process", "vrrp_track_process", procs)
	check("track_bfd", "bfd_instance", bfds)
}

func (v *validator) instance(in *VRRPInstance) {
	name := "vrrp_instance " + in.Name
	if !in.IsSet("virtual_router_id") {
		v.errorf(in.Pos, "%s: virtual_router_id is required", name)
	}
	if in.Interface == "" && !in.IsUnicast() {
		v.errorf(in.Pos, "%s: interface is required unless unicast_peer is used", name)
	}
	if in.Interface == "" && in.IsUnicast() {
		for _, p := range in.UnicastPeers {
			if p.Addr.Is6() && p.Addr.IsLinkLocalUnicast() {
				v.errorf(p.Pos, "%s: unicast_peer %s is link-local: an interface is required", name, p.Addr)
			}
		}
	}
	fam := in.Family
	famName := map[Family]string{FamilyIPv4: "IPv4", FamilyIPv6: "IPv6"}
	for _, a := range in.VirtualIPs {
		if a.Family() != fam {
			v.errorf(a.Pos, "%s: virtual_ipaddress %s is %s but the instance is %s: IPv4 and IPv6 VIPs cannot be mixed (use virtual_ipaddress_excluded)", name, a.Prefix, famName[a.Family()], famName[fam])
		}
	}
	for _, p := range in.UnicastPeers {
		if familyOf(p.Addr) != fam {
			v.errorf(p.Pos, "%s: unicast_peer %s is %s but the instance is %s", name, p.Addr, famName[familyOf(p.Addr)], famName[fam])
		}
	}
	for _, src := range []struct {
		kw string
		a  netip.Addr
	}{{"unicast_src_ip", in.UnicastSrcIP}, {"mcast_src_ip", in.McastSrcIP}} {
		if src.a.IsValid() && familyOf(src.a) != fam {
			v.errorf(in.Pos, "%s: %s %s is %s but the instance is %s", name, src.kw, src.a, famName[familyOf(src.a)], famName[fam])
		}
	}
	if in.McastDstIP.IsValid() && familyOf(in.McastDstIP) != fam {
		v.errorf(in.Pos, "%s: mcast_dst_ip %s is not %s", name, in.McastDstIP, famName[fam])
	}
	if len(in.VirtualIPs) == 0 {
		if in.StrictMode {
			v.errorf(in.Pos, "%s: strict mode needs at least one virtual_ipaddress", name)
		} else {
			v.warnf(in.Pos, "%s: no virtual_ipaddress", name)
		}
	}

	// Authentication.
	if in.Auth != nil {
		switch {
		case in.Version == 3:
			v.warnf(in.Auth.Pos, "%s: authentication is not part of VRRPv3; ignored", name)
			in.Auth = nil
		case in.StrictMode:
			v.errorf(in.Auth.Pos, "%s: strict mode does not allow authentication", name)
		case in.Auth.Type == AuthAH && in.State == StateMaster:
			v.warnf(in.Pos, "%s: initial state MASTER is incompatible with AH authentication; keepalived starts it as BACKUP and so does lbd", name)
			in.State = StateBackup
		}
	}

	// Advertisement interval.
	if in.Version == 3 && in.AdvertInt > 4095*10*time.Millisecond {
		v.errorf(in.Pos, "%s: advert_int %s above the VRRPv3 maximum of 40.95s", name, in.AdvertInt)
	}
	if in.Version == 2 && in.AdvertInt%time.Second != 0 {
		v.warnf(in.Pos, "%s: VRRPv2 advertises whole seconds; advert_int %s is sent as %s", name, fmtSeconds(in.AdvertInt)+"s", in.AdvertIntervalOnWire())
	}

	// Preemption.
	if in.State == StateMaster && !in.Preempt {
		v.warnf(in.Pos, "%s: nopreempt does not work with initial state MASTER", name)
	}
	if in.State == StateMaster && in.PreemptDelay > 0 {
		v.warnf(in.Pos, "%s: preempt_delay does not work with initial state MASTER", name)
	}

	// Tracking.
	v.trackRefs(name, in.TrackScripts, in.TrackFiles, in.TrackProcesses, in.TrackBFDs)
	if in.Priority == 255 {
		owner := func(kind string, refs []TrackRef) {
			for i := range refs {
				if refs[i].Weight != 0 {
					v.warnf(refs[i].Pos, "%s: %s %s weight %d ignored: priority 255 (address owner) cannot change", name, kind, refs[i].Name, refs[i].Weight)
					refs[i].Weight = 0
				}
			}
		}
		owner("track_script", in.TrackScripts)
		owner("track_file", in.TrackFiles)
		owner("track_process", in.TrackProcesses)
		owner("track_bfd", in.TrackBFDs)
		for i := range in.TrackInterfaces {
			if in.TrackInterfaces[i].Weight != 0 {
				v.warnf(in.TrackInterfaces[i].Pos, "%s: track_interface %s weight %d ignored: priority 255 (address owner) cannot change", name, in.TrackInterfaces[i].Name, in.TrackInterfaces[i].Weight)
				in.TrackInterfaces[i].Weight = 0
			}
		}
	}

	// VMAC.
	if in.UseVMAC && in.IsUnicast() && !in.VMACXmitBase {
		v.warnf(in.Pos, "%s: use_vmac with unicast_peer needs vmac_xmit_base", name)
	}

	// Routes without an interface cannot be tracked.
	for _, r := range in.VirtualRoutes {
		if r.NoTrack || r.Dev != "" {
			continue
		}
		hasDev := false
		for _, nh := range r.Nexthops {
			hasDev = hasDev || nh.Dev != ""
		}
		if !hasDev {
			v.warnf(r.Pos, "%s: virtual_routes %s has no interface (dev) and cannot be tracked; not tracking it", name, r.Dst)
		}
	}

	if in.StrictMode {
		v.strict(in, name)
	}
	if v.c.Global.LVSSyncDaemon == nil && in.LVSSyncDaemonInterface != "" {
		// keepalived turns the deprecated keyword into a sync daemon.
		v.c.Global.LVSSyncDaemon = &LVSSyncDaemon{Pos: in.Pos, Interface: in.LVSSyncDaemonInterface, Instance: in.Name, SyncID: in.VRID}
	}
}

// strict applies vrrp_strict / strict_mode (keepalived.conf(5)).
func (v *validator) strict(in *VRRPInstance, name string) {
	if in.IsUnicast() {
		v.errorf(in.Pos, "%s: strict mode does not allow unicast_peer", name)
	}
	if in.Family == FamilyIPv6 && len(in.VirtualIPs) > 0 && !in.VirtualIPs[0].Addr().IsLinkLocalUnicast() {
		v.errorf(in.VirtualIPs[0].Pos, "%s: strict mode needs the first IPv6 VIP to be link-local", name)
	}
	if (in.State == StateMaster) != (in.Priority == 255) {
		v.errorf(in.Pos, "%s: strict mode allows state MASTER if and only if priority is 255", name)
	}
	if in.PreemptDelay > 0 {
		v.errorf(in.Pos, "%s: strict mode does not allow preempt_delay", name)
	}
	if in.Version == 2 && in.IsSet("accept") {
		v.errorf(in.Pos, "%s: strict mode does not allow accept with VRRPv2", name)
	}
	if in.IsSet("garp_master_repeat") && in.GARPMasterRepeat > 1 || in.GARPMasterRefresh > 0 {
		v.errorf(in.Pos, "%s: strict mode does not allow gratuitous ARP repeats", name)
	}
	if in.IsSet("lower_prio_no_advert") && !in.LowerPrioNoAdvert {
		v.errorf(in.Pos, "%s: strict mode does not allow clearing lower_prio_no_advert", name)
	}
	if in.HigherPrioSendAdvert {
		v.errorf(in.Pos, "%s: strict mode does not allow higher_prio_send_advert", name)
	}
	if in.VMACXmitBase {
		v.errorf(in.Pos, "%s: strict mode does not allow vmac_xmit_base", name)
	}
}

// vrids reports two instances using one VRID on one interface and family
// where their adverts would meet: both multicast to the same group, or
// both unicast with a peer in common.
func (v *validator) vrids() {
	type key struct {
		vrid  int
		iface string
		fam   Family
	}
	groups := map[key][]int{}
	insts := v.c.Instances
	for i := range insts {
		a := &insts[i]
		if !a.IsSet("virtual_router_id") || a.VRID == 0 {
			continue
		}
		k := key{a.VRID, a.Interface, a.Family}
		for _, j := range groups[k] {
			b := &insts[j]
			if a.IsUnicast() != b.IsUnicast() {
				continue
			}
			if a.IsUnicast() && !peersOverlap(a.UnicastPeers, b.UnicastPeers) {
				continue
			}
			if !a.IsUnicast() && a.McastDstIP != b.McastDstIP {
				continue
			}
			where := a.Interface
			if where == "" {
				where = "the default interface"
			}
			v.errorf(a.Pos, "vrrp_instance %s: virtual_router_id %d is already used on %s (%s) by vrrp_instance %s at %s", a.Name, a.VRID, where, a.Family, b.Name, b.Pos)
			break
		}
		groups[k] = append(groups[k], i)
	}
}

func peersOverlap(a, b []UnicastPeer) bool {
	for _, x := range a {
		for _, y := range b {
			if x.Addr == y.Addr {
				return true
			}
		}
	}
	return false
}

func (v *validator) trackGroups() {
	groups := map[string]bool{}
	for _, g := range v.c.TrackGroups {
		groups[g.Name] = true
		for _, m := range g.Members {
			if v.instanceByName(m) == nil {
				v.errorf(g.Pos, "track_group %s: vrrp_instance %s does not exist", g.Name, m)
			}
		}
	}
	check := func(pos Pos, what, group string) {
		if group != "" && !groups[group] {
			v.errorf(pos, "%s: track_group %s does not exist", what, group)
		}
	}
	for _, a := range v.c.StaticAddresses {
		check(a.Pos, "static_ipaddress "+a.Prefix.String(), a.TrackGroup)
	}
	for _, r := range v.c.StaticRoutes {
		check(r.Pos, "static_routes "+r.Dst.String(), r.TrackGroup)
	}
	for _, r := range v.c.StaticRules {
		check(r.Pos, "static_rules", r.TrackGroup)
	}
}

func (v *validator) global() {
	g := &v.c.Global
	if s := g.LVSSyncDaemon; s != nil && s.Instance != "" && v.instanceByName(s.Instance) == nil {
		v.errorf(s.Pos, "lvs_sync_daemon: vrrp_instance %s does not exist", s.Instance)
	}
}

func (v *validator) vsGroups() {
	for _, g := range v.c.VirtualServerGroups {
		for _, e := range g.Entries {
			if !e.IsFWMark && e.First.IsValid() && e.Last.IsValid() && e.First.BitLen() != e.Last.BitLen() {
				v.errorf(e.Pos, "virtual_server_group %s: range %s-%s mixes families", g.Name, e.First, e.Last)
			}
		}
	}
}

func (v *validator) virtualServer(vs *VirtualServer) {
	name := "virtual_server " + vs.Name()
	switch vs.Kind {
	case VSGroup:
		if _, found := v.names.vsGroups[vs.Group]; !found {
			v.errorf(vs.Pos, "%s: virtual_server_group %s does not exist", name, vs.Group)
		}
	case VSFWMark:
		if vs.IsSet("protocol") {
			v.warnf(vs.Pos, "%s: protocol is ignored for a fwmark service (keepalived ignores it too)", name)
		}
	case VSAddr:
		if vs.Port == 0 && vs.PersistenceTimeout == 0 {
			v.errorf(vs.Pos, "%s: a virtual server without a port must be persistent (persistence_timeout)", name)
		}
	}
	if vs.IPFamily != FamilyUnspec && vs.Kind == VSAddr && vs.IPFamily != vs.Family {
		v.errorf(vs.Pos, "%s: ip_family %s conflicts with the address", name, vs.IPFamily)
	}
	if (vs.SHPort || vs.SHFallback) && vs.Scheduler != "sh" {
		v.warnf(vs.Pos, "%s: sh-port and sh-fallback apply to the sh scheduler only; ignored", name)
	}
	if (vs.MHPort || vs.MHFallback) && vs.Scheduler != "mh" {
		v.warnf(vs.Pos, "%s: mh-port and mh-fallback apply to the mh scheduler only; ignored", name)
	}
	if vs.PersistenceGranularity != "" {
		isMask := strings.Contains(vs.PersistenceGranularity, ".")
		if isMask != (vs.Family == FamilyIPv4) {
			v.errorf(vs.Pos, "%s: persistence_granularity %s does not suit an %s service", name, vs.PersistenceGranularity, vs.Family)
		}
	}
	if vs.Protocol != ProtoUDP && vs.OPS {
		v.warnf(vs.Pos, "%s: ops (one-packet scheduling) applies to UDP only", name)
	}
	if ss := vs.SorryServer; ss != nil && ss.Method != ForwardTUN && familyOf(ss.Addr) != vs.Family {
		v.errorf(ss.Pos, "%s: sorry_server %s is not of the service's family (%s)", name, ss.Addr, vs.Family)
	}
	seen := map[netip.AddrPort]Pos{}
	for _, r := range vs.RealServers {
		rname := hostPort(r.Addr, r.Port)
		if r.Method != ForwardTUN && familyOf(r.Addr) != vs.Family {
			v.errorf(r.Pos, "%s: real_server %s is not of the service's family (%s); only tunnelled real servers may differ", name, rname, vs.Family)
		}
		key := netip.AddrPortFrom(r.Addr, r.Port)
		if first, ok := seen[key]; ok {
			v.errorf(r.Pos, "%s: real_server %s already defined at %s", name, rname, first)
			continue
		}
		seen[key] = r.Pos
		for _, ch := range r.Checkers {
			switch {
			case ch.File != nil:
				if _, found := v.names.files[ch.File.TrackFile]; !found {
					v.errorf(ch.Pos, "%s: real_server %s: FILE_CHECK: track_file %s does not exist", name, rname, ch.File.TrackFile)
				}
			case ch.BFD != nil:
				if _, found := v.names.bfds[ch.BFD.Name]; !found {
					v.errorf(ch.Pos, "%s: real_server %s: BFD_CHECK: bfd_instance %s does not exist", name, rname, ch.BFD.Name)
				}
			case ch.UDP != nil:
				if ch.UDP.MinReplyLength > ch.UDP.MaxReplyLength {
					v.errorf(ch.Pos, "%s: real_server %s: UDP_CHECK: min_reply_length %d above max_reply_length %d", name, rname, ch.UDP.MinReplyLength, ch.UDP.MaxReplyLength)
				}
			}
			if ch.Type == CheckSSL && v.c.SSL == nil {
				continue // keepalived builds an SSL context itself
			}
		}
	}
}

// duplicateServices reports two virtual servers for one service.
func (v *validator) duplicateServices() {
	type key struct {
		kind   VSKind
		addr   netip.Addr
		port   uint16
		fwmark uint32
		group  string
		proto  Protocol
		fam    Family
	}
	seen := map[key]*VirtualServer{}
	for i := range v.c.VirtualServers {
		vs := &v.c.VirtualServers[i]
		k := key{vs.Kind, vs.Addr, vs.Port, vs.FWMark, vs.Group, vs.Protocol, vs.Family}
		if vs.Kind == VSFWMark {
			k.proto = 0
		}
		if first, ok := seen[k]; ok {
			v.errorf(vs.Pos, "virtual_server %s (%s): already defined at %s", vs.Name(), vs.Protocol, first.Pos)
			continue
		}
		seen[k] = vs
	}
}
