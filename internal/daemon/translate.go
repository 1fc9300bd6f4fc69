package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lbdproject/lbd/pkg/config"
	"github.com/lbdproject/lbd/pkg/netutil"
	"github.com/lbdproject/lbd/pkg/track"
	"github.com/lbdproject/lbd/pkg/vrrp"
)

// Plan is one vrrp_instance ready to run: the runtime's config, normalized
// and validated, plus what the daemon needs to wire it.
type Plan struct {
	Name string
	Pos  config.Pos
	// Config is the normalized vrrp.Config.
	Config vrrp.Config
	// Group is the multicast destination; zero for unicast instances.
	Group netip.Addr
	// VIPs are virtual_ipaddress then virtual_ipaddress_excluded, with
	// the attributes the kernel needs (ifindex filled in when added).
	VIPs []PlannedVIP
	// TrackPrimary is keepalived's default: FAULT while the instance's
	// own interface is down (dont_track_primary turns it off).
	TrackPrimary bool
	// Tracking is what the instance tracks (Tracking.Primary included).
	Tracking Tracking
	// Notify is its notify scripts and alert settings.
	Notify NotifyPlan
	// Routes and Rules are virtual_routes and virtual_rules: added with
	// the VIPs on becoming MASTER, removed on leaving MASTER.
	Routes []RoutePlan
	Rules  []RulePlan
	// VMAC is use_vmac's interface: created at start on the instance's
	// interface, carrying the VIPs that have no dev; nil without.
	VMAC *VMACPlan
	// AddrVMACs are the VIP-only VMACs (use_vmac_addr, use_vmac on a
	// VIP), made and deleted with the instance's.
	AddrVMACs []AddrVMACPlan
	// IPVLAN is use_ipvlan's interface; nil without.
	IPVLAN *IPVLANPlan
	// PromoteSecondaries is promote_secondaries: the instance holds
	// net.ipv4.conf.IFACE.promote_secondaries=1 on its interface (the
	// one its VIPs go on) while it runs.
	PromoteSecondaries bool
	// KernelRxBufSize is kernel_rx_buf_size: its share of its socket's
	// receive buffer, overriding global_defs vrrp_rx_bufs_policy.
	KernelRxBufSize int
	// Fault, when set, runs the instance in FAULT with this detail and
	// no socket: unicast_fault_no_peer without any unicast_peer.
	Fault string
	// NotApplied lists configured features that lbd run does not apply
	// yet, for one warning at startup.
	NotApplied []string
}

// PlannedVIP is one VIP: the core's view and the netlink attributes.
type PlannedVIP struct {
	VIP      vrrp.VIP
	Dev      string          // interface it goes on
	Addr     netutil.Address // IfIndex unset: looked up when added
	Excluded bool
	Pos      config.Pos
	// ExtraIf: announced every garp_extra_if while MASTER (see
	// markExtraIf).
	ExtraIf bool
}

// Refusal is a vrrp_instance that does not run, with its errors as
// "file:line: message".
type Refusal struct {
	Name   string
	Pos    config.Pos
	Errors []string
}

// Translation is the outcome of Translate.
type Translation struct {
	Plans   []Plan
	Refused []Refusal
	// Fatal holds the errors that belong to no vrrp_instance (global_defs,
	// syntax, sync groups, virtual servers): with any, nothing runs.
	Fatal []string
	// Warnings are "file:line: warning: message" lines to log.
	Warnings []string
	// GARP is the per-interface pacing policy (garp_group, vrrp_garp_*).
	GARP GARPPolicy
	// Scripts, Files and Processes are the tracked objects by name:
	// vrrp_script (those whose command passed script.Check), track_file,
	// vrrp_track_process.
	Scripts   map[string]ScriptDef
	Files     map[string]FileDef
	Processes map[string]track.ProcessSpec
	// Groups are the vrrp_sync_groups.
	Groups []GroupPlan
	// Notify is the global notification setup (FIFOs, mail).
	Notify GlobalNotify
	// Static is static_ipaddress, static_routes and static_rules.
	Static StaticPlan
	// StartupDelay is global_defs vrrp_startup_delay: how long the
	// instances stay in INIT after lbd starts (not after a reload).
	StartupDelay time.Duration
	// LogUnknownVRIDs is global_defs log_unknown_vrids
	// (vrrp.RuntimeOptions.LogUnknownVRIDs).
	LogUnknownVRIDs bool
	// RxBufs is global_defs vrrp_rx_bufs_policy and
	// vrrp_rx_bufs_multiplier.
	RxBufs RxBufsPolicy
	// Umask is global_defs umask (default 022, keepalived's).
	Umask int
	// ProcessName is the name lbd gives itself (processName); empty:
	// unchanged.
	ProcessName string
	// StartOnly holds the global_defs settings lbd applies once, at
	// start (pkg/realtime), by keyword, as text: a reload that changes
	// one says it applies when lbd next starts.
	StartOnly map[string]string
}

// Translate turns a loaded configuration and its diagnostics into plans.
// As keepalived does, an instance with an error is refused alone and the
// others run; errors outside any instance are fatal. Each instance starts
// from vrrp.DefaultConfig with pkg/config's values (which already carry
// the global vrrp_* defaults), then vrrp's Normalize (its notes become
// warnings at the instance's position) and Validate (its errors refuse
// the instance, at the position of the keyword at fault).
func Translate(cfg *config.Config, diags config.Diagnostics) Translation {
	var tr Translation
	tr.GARP = newGARPPolicy(cfg)
	tr.StartupDelay = cfg.Global.VRRPStartupDelay
	tr.LogUnknownVRIDs = cfg.Global.LogUnknownVRIDs
	tr.RxBufs = newRxBufsPolicy(cfg)
	tr.Umask = int(cfg.Global.Umask)
	tr.ProcessName = processName(cfg)
	tr.StartOnly = startOnly(cfg)
	for _, d := range diags.Warnings() {
		tr.Warnings = append(tr.Warnings, d.String())
	}
	byInstance := map[string][]string{}
	names := map[string]bool{}
	for _, v := range cfg.Instances {
		names[v.Name] = true
	}
	for _, d := range diags.Errors() {
		if name, ok := instanceOf(d.Msg, names); ok {
			byInstance[name] = append(byInstance[name], d.String())
			continue
		}
		tr.Fatal = append(tr.Fatal, d.String())
	}
	vmacs := newVMACNames()
	for i := range cfg.Instances {
		v := &cfg.Instances[i]
		if errs := byInstance[v.Name]; len(errs) > 0 {
			tr.Refused = append(tr.Refused, Refusal{Name: v.Name, Pos: v.Pos, Errors: errs})
			continue
		}
		p, warns, errs := translateInstance(cfg, v, tr.GARP, vmacs)
		tr.Warnings = append(tr.Warnings, warns...)
		if len(errs) > 0 {
			tr.Refused = append(tr.Refused, Refusal{Name: v.Name, Pos: v.Pos, Errors: errs})
			continue
		}
		tr.Plans = append(tr.Plans, p)
	}
	markExtraIf(cfg, tr.Plans)
	translateScripts(cfg, &tr)
	translateTracking(cfg, &tr)
	translateNotify(cfg, &tr)
	translateRoutes(cfg, &tr)
	return tr
}

// markExtraIf picks the VIPs that garp_extra_if announces, as keepalived's
// vrrp_send_vmac_update (vrrp.c) does: VIPs then excluded VIPs, the first
// address of each interface, skipping the instance's own interface (its
// VMAC with use_vmac, unless vmac_xmit_base sends the adverts on the base
// interface) and, without "all", every interface that is not a VMAC of
// one of the instances.
func markExtraIf(cfg *config.Config, plans []Plan) {
	// The interfaces lbd makes: keepalived's "VMAC interfaces" here are
	// the macvlans and ipvlans it creates.
	vmacs := map[string]bool{}
	for _, p := range plans {
		if p.VMAC != nil {
			vmacs[p.VMAC.Name] = true
		}
		for _, av := range p.AddrVMACs {
			vmacs[av.Name] = true
		}
		if p.IPVLAN != nil {
			vmacs[p.IPVLAN.Name] = true
		}
	}
	all := map[string]bool{}
	for _, v := range cfg.Instances {
		all[v.Name] = v.GARPExtraIf.All
	}
	for i := range plans {
		p := &plans[i]
		if p.Config.GARP.ExtraIf <= 0 {
			continue
		}
		// keepalived's vrrp->ifp: the VMAC with use_vmac, which sends no
		// adverts with vmac_xmit_base (the base interface then counts as
		// another interface).
		own := p.Config.Interface
		if p.IPVLAN != nil {
			own = p.IPVLAN.Name
		}
		if p.VMAC != nil {
			own = p.VMAC.Name
			if p.VMAC.XmitBase {
				own = ""
			}
		}
		done := map[string]bool{}
		for j := range p.VIPs {
			pv := &p.VIPs[j]
			if pv.Dev == own || done[pv.Dev] || (!all[p.Name] && !vmacs[pv.Dev]) {
				continue
			}
			done[pv.Dev] = true
			pv.ExtraIf = true
		}
	}
}

// instanceOf finds the vrrp_instance a diagnostic is about: pkg/config
// prefixes every message about an instance with "vrrp_instance NAME: ".
func instanceOf(msg string, names map[string]bool) (string, bool) {
	rest, ok := strings.CutPrefix(msg, "vrrp_instance ")
	if !ok {
		return "", false
	}
	name, _, ok := strings.Cut(rest, ":")
	if !ok || !names[name] {
		return "", false
	}
	return name, true
}

func translateInstance(cfg *config.Config, v *config.VRRPInstance, garp GARPPolicy, vmacs *vmacNames) (Plan, []string, []string) {
	var warns, errs []string
	at := func(pos config.Pos, format string, args ...any) string {
		msg := fmt.Sprintf(format, args...)
		if s := pos.String(); s != "" {
			return s + ": " + msg
		}
		return msg
	}

	c := vrrp.DefaultConfig()
	c.Name = v.Name
	c.Interface = v.Interface
	c.VRID = uint8(v.VRID)
	c.Version = uint8(v.Version)
	// No "priority": let vrrp derive it (255 with state MASTER, else 100,
	// as keepalived 2.x does) rather than take pkg/config's plain 100.
	if v.IsSet("priority") {
		c.Priority = uint8(v.Priority)
	}
	if v.IsSet("state") {
		c.StartState = vrrp.StartBackup
		if v.State == config.StateMaster {
			c.StartState = vrrp.StartMaster
		}
	}
	c.AdvertInterval = v.AdvertInt
	c.NoPreempt = !v.Preempt
	c.PreemptDelay = v.PreemptDelay
	// mcast_src_ip and unicast_src_ip are one setting in keepalived.
	c.SourceAddr = v.UnicastSrcIP
	if !c.SourceAddr.IsValid() {
		c.SourceAddr = v.McastSrcIP
	}
	if v.Auth != nil {
		c.Auth = vrrp.Auth{Type: vrrp.AuthType(v.Auth.Type), Pass: v.Auth.Pass}
	}
	for _, p := range v.UnicastPeers {
		up := vrrp.UnicastPeer{Addr: p.Addr, MinTTL: uint8(p.MinTTL), MaxTTL: 255}
		if p.MaxTTL != 0 {
			up.MaxTTL = uint8(p.MaxTTL)
		}
		c.UnicastPeers = append(c.UnicastPeers, up)
	}
	if v.IsSet("unicast_ttl") {
		c.UnicastTTL = v.UnicastTTL
	}
	c.CheckUnicastSrc = v.CheckUnicastSrc
	c.Accept = v.Accept
	arpIv, naIv := garp.intervals(v.Interface)
	c.GARP = vrrp.GARP{
		MasterDelay:         v.GARPMasterDelay,
		MasterRepeat:        v.GARPMasterRepeat,
		LowerPrioDelay:      v.GARPLowerPrioDelay,
		LowerPrioRepeat:     v.GARPLowerPrioRepeat,
		MasterRefresh:       v.GARPMasterRefresh,
		MasterRefreshRepeat: v.GARPMasterRefreshRepeat,
		ExtraIf:             v.GARPExtraIf.Interval,
		Interval:            arpIv,
		NAInterval:          naIv,
	}
	c.LowerPrioNoAdvert = v.LowerPrioNoAdvert
	c.HigherPrioSendAdvert = v.HigherPrioSendAdvert
	c.SkipCheckAdvAddr = v.SkipCheckAdvAddr
	c.DownTimerAdverts = v.DownTimerAdverts
	switch {
	case v.OldUnicastChecksum:
		c.ChecksumCompat = vrrp.ChecksumLegacy
	case v.OldUnicastChecksumNever:
		c.ChecksumCompat = vrrp.ChecksumStrict
	}

	p := Plan{Name: v.Name, Pos: v.Pos, TrackPrimary: !v.DontTrackPrimary, PromoteSecondaries: v.PromoteSecondaries,
		KernelRxBufSize: v.KernelRxBufSize}
	vipDev := v.Interface
	if v.UseVMAC {
		vm, err := planVMAC(cfg, v, vmacs.taken)
		if err != nil {
			errs = append(errs, at(v.Pos, "vrrp_instance %s: use_vmac: %v", v.Name, err))
		} else {
			p.VMAC = vm
			vipDev = vm.Name // VIPs without dev go on the VMAC
		}
	}
	if v.UseIPVLAN {
		ip, fault, err := planIPVLAN(cfg, v, vmacs.taken)
		switch {
		case v.UseVMAC:
			errs = append(errs, at(v.Pos, "vrrp_instance %s: use_vmac and use_ipvlan: use one", v.Name))
		case err != nil:
			errs = append(errs, at(v.Pos, "vrrp_instance %s: use_ipvlan: %v", v.Name, err))
		default:
			p.IPVLAN = ip
			p.Fault = fault
		}
	}
	place := newVIPPlacement(cfg, v, p.VMAC, vmacs)
	for _, list := range []struct {
		entries  []config.IPAddress
		excluded bool
	}{{v.VirtualIPs, false}, {v.ExcludedVirtualIPs, true}} {
		for _, e := range list.entries {
			dev, warn, err := place.place(e)
			if warn != "" {
				warns = append(warns, at(e.Pos, "warning: vrrp_instance %s: %s", v.Name, warn))
			}
			if err != nil {
				errs = append(errs, at(e.Pos, "vrrp_instance %s: %v", v.Name, err))
				continue
			}
			if dev != "" {
				e.Dev = dev
			}
			pv, err := planVIP(e, vipDev, list.excluded)
			if err != nil {
				errs = append(errs, at(e.Pos, "vrrp_instance %s: %v", v.Name, err))
				continue
			}
			if list.excluded {
				c.ExcludedVIPs = append(c.ExcludedVIPs, pv.VIP)
			} else {
				c.VIPs = append(c.VIPs, pv.VIP)
			}
			p.VIPs = append(p.VIPs, pv)
		}
	}

	// lbd_vrrp_allowed_senders: the prefixes of the instance's family.
	for _, p := range cfg.Global.LBDVRRPAllowedSenders {
		if p.Addr().Is4() == (c.Family() == vrrp.FamilyIPv4) {
			c.AllowedSenders = append(c.AllowedSenders, p)
		}
	}
	for _, n := range c.Normalize() {
		warns = append(warns, at(v.Pos, "warning: %s", n))
	}
	if err := c.Validate(); err != nil {
		var ce *vrrp.ConfigError
		for _, e := range unjoin(err) {
			pos := v.Pos
			if errors.As(e, &ce) {
				pos = keywordPos(v, ce.Keyword, ce.Msg)
			}
			errs = append(errs, at(pos, "%v", e))
		}
	}
	switch {
	case len(c.UnicastPeers) == 0 && v.UnicastFaultNoPeer:
		// keepalived 2.2.7+: no falling back to multicast, FAULT instead
		// (vrrp_parser.c sets VRRP_FLAG_UNICAST_FAULT_NO_PEERS).
		p.Fault = "unicast_fault_no_peer: no unicast_peer configured (not falling back to multicast)"
	case len(c.UnicastPeers) == 0:
		p.Group = v.McastDstIP
		if !p.Group.IsValid() {
			p.Group = vrrp.MulticastGroupIPv4
			if c.Family() == vrrp.FamilyIPv6 {
				p.Group = vrrp.MulticastGroupIPv6
			}
		}
	}
	p.AddrVMACs = place.planned
	if p.VMAC != nil && p.VMAC.KeepIPv6 {
		// IPv6 stays on for the IPv6 VIPs that are on the VMAC itself.
		p.VMAC.KeepIPv6 = slices.ContainsFunc(p.VIPs, func(pv PlannedVIP) bool {
			return pv.Dev == p.VMAC.Name && pv.VIP.Prefix.Addr().Is6()
		})
	}
	p.Config = c
	p.NotApplied = notApplied(v)
	return p, warns, errs
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// keywordPos finds where the keyword vrrp.Validate complains about was
// written: VIPs, peers and authentication have positions of their own;
// everything else points at the vrrp_instance block.
func keywordPos(v *config.VRRPInstance, kw, msg string) config.Pos {
	switch kw {
	case "virtual_ipaddress":
		for _, a := range v.VirtualIPs {
			if strings.Contains(msg, a.Prefix.String()) {
				return a.Pos
			}
		}
		if len(v.VirtualIPs) > 0 {
			return v.VirtualIPs[0].Pos
		}
	case "virtual_ipaddress_excluded":
		if len(v.ExcludedVirtualIPs) > 0 {
			return v.ExcludedVirtualIPs[0].Pos
		}
	case "unicast_peer":
		for _, up := range v.UnicastPeers {
			if strings.Contains(msg, up.Addr.String()) {
				return up.Pos
			}
		}
	case "auth_type":
		if v.Auth != nil {
			return v.Auth.Pos
		}
	}
	return v.Pos
}

// planVIP converts one address entry, checking what the kernel would
// refuse (bad scope, label too long, attributes of the wrong family) now,
// with the entry's position, rather than at the first transition.
func planVIP(e config.IPAddress, iface string, excluded bool) (PlannedVIP, error) {
	dev := e.Dev
	if dev == "" {
		dev = iface
	}
	pv := PlannedVIP{Dev: dev, Excluded: excluded, Pos: e.Pos}
	if dev == "" {
		return pv, fmt.Errorf("%s: no interface to add it to (dev, or the instance's interface)", e.Prefix)
	}
	ip := e.Prefix.Addr()
	a := netutil.Address{
		Prefix:         e.Prefix,
		Broadcast:      e.Broadcast,
		Peer:           e.Peer,
		DAD:            e.NoDAD, // keepalived's "-nodad" asks for DAD (netutil doc)
		Home:           e.Home,
		ManageTempAddr: e.MngTmpAddr,
		NoPrefixRoute:  e.NoPrefixRoute,
		AutoJoin:       e.AutoJoin,
	}
	if ip.Is4() {
		sc, err := netutil.ParseScope(e.Scope)
		if err != nil {
			return pv, fmt.Errorf("%s: %w", e.Prefix, err)
		}
		a.Scope = sc
		a.Label = e.Label
		switch e.BroadcastMode {
		case "+":
			a.Broadcast = lastAddr(e.Prefix)
		case "-":
			a.Broadcast = e.Prefix.Masked().Addr()
		}
	}
	if e.PreferredLft != nil {
		if *e.PreferredLft == 0xffffffff {
			a.PreferredLft = netutil.LifetimeForever()
		} else {
			a.PreferredLft = netutil.LifetimeSeconds(*e.PreferredLft)
		}
	}
	check := a
	check.IfIndex = 1
	if err := check.Validate(); err != nil {
		return pv, fmt.Errorf("%s: %w", e.Prefix, err)
	}
	pv.Addr = a
	pv.VIP = vrrp.VIP{
		Prefix:        e.Prefix,
		Broadcast:     a.Broadcast,
		Dev:           e.Dev,
		Scope:         e.Scope,
		Label:         e.Label,
		Peer:          e.Peer,
		Home:          e.Home,
		NoDAD:         e.NoDAD,
		MngTmpAddr:    e.MngTmpAddr,
		NoPrefixRoute: e.NoPrefixRoute,
		AutoJoin:      e.AutoJoin,
		NoTrack:       e.NoTrack,
	}
	return pv, nil
}

// lastAddr is the prefix's all-ones host address ("brd +").
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// notApplied names what the instance configures that lbd run does not
// do (yet).
func notApplied(v *config.VRRPInstance) []string {
	var out []string
	add := func(on bool, what string) {
		if on {
			out = append(out, what)
		}
	}
	add(len(v.TrackBFDs) > 0, "track_bfd")
	add(!v.Accept && v.Priority != vrrp.PriorityOwner, "no_accept (no firewall rules are installed)")
	return out
}

// GARPPolicy is keepalived's per-interface GARP/NA pacing: a garp_group
// sets the intervals of its interfaces (aggregated across the group's
// "interfaces" list: one pacing domain), every other interface gets the
// global vrrp_garp_interval / vrrp_gna_interval.
type GARPPolicy struct {
	groups  map[string]garpGroup // by interface
	arp, na time.Duration
}

type garpGroup struct {
	domain  string
	arp, na time.Duration
}

func newGARPPolicy(cfg *config.Config) GARPPolicy {
	p := GARPPolicy{groups: map[string]garpGroup{}, arp: cfg.Global.VRRPGARPInterval, na: cfg.Global.VRRPGNAInterval}
	for _, g := range cfg.GARPGroups {
		ifs := slices.Clone(g.Interfaces)
		if g.Interface != "" {
			ifs = append(ifs, g.Interface)
		}
		if len(ifs) == 0 {
			continue
		}
		gg := garpGroup{domain: "garp_group " + strings.Join(ifs, ","), arp: g.GARPInterval, na: g.GNAInterval}
		for _, i := range ifs {
			p.groups[i] = gg
		}
	}
	return p
}

func (p GARPPolicy) intervals(iface string) (arp, na time.Duration) {
	if g, ok := p.groups[iface]; ok {
		return g.arp, g.na
	}
	return p.arp, p.na
}

// Domain returns the pacing domain of an interface and its interval for
// the family of ip.
func (p GARPPolicy) Domain(iface string, ip netip.Addr) (string, time.Duration) {
	arp, na := p.intervals(iface)
	domain := iface
	if g, ok := p.groups[iface]; ok {
		domain = g.domain
	}
	if ip.Is4() {
		return domain, arp
	}
	return domain, na
}

// VMACPlan is one instance's use_vmac.
type VMACPlan struct {
	Name     string
	MAC      net.HardwareAddr // nil: the virtual router MAC
	XmitBase bool             // vmac_xmit_base
	KeepIPv6 bool             // IPv6 excluded VIPs on an IPv4 VMAC
	// LinkLocal is an IPv6 VMAC's source (a link-local mcast_src_ip /
	// unicast_src_ip); zero: the base interface's.
	LinkLocal netip.Addr
}

// planVMAC names an instance's VMAC as keepalived 2.2.7 does: use_vmac's
// name, else vmac_prefix.VRID, tagged "6" (IPv6) or "1" (IPv4) when an
// earlier instance has that name already.
func planVMAC(cfg *config.Config, v *config.VRRPInstance, taken map[string]bool) (*VMACPlan, error) {
	vm := &VMACPlan{Name: v.VMACName, XmitBase: v.VMACXmitBase}
	v6 := v.Family == config.FamilyIPv6
	if vm.Name == "" {
		prefix := cfg.Global.VMACPrefix
		if prefix == "" {
			prefix = netutil.DefaultVMACPrefix
		}
		vm.Name = netutil.VMACName(prefix, "", uint8(v.VRID))
		if taken[vm.Name] {
			tag := "1"
			if v6 {
				tag = "6"
			}
			vm.Name = netutil.VMACName(prefix, tag, uint8(v.VRID))
		}
	}
	if taken[vm.Name] {
		return nil, fmt.Errorf("interface %s is already the vmac of another instance", vm.Name)
	}
	if len(vm.Name) > 15 {
		return nil, fmt.Errorf("interface name %q longer than 15 bytes", vm.Name)
	}
	taken[vm.Name] = true
	if v.VMACAddr != "" {
		mac, err := netutil.ParseVMACAddr(v.VMACAddr, uint8(v.VRID))
		if err != nil {
			return nil, err
		}
		vm.MAC = mac
	}
	if !v6 {
		for _, e := range v.ExcludedVirtualIPs {
			if e.Dev == "" && e.Prefix.Addr().Is6() {
				vm.KeepIPv6 = true
			}
		}
	} else {
		for _, a := range []netip.Addr{v.McastSrcIP, v.UnicastSrcIP} {
			if a.Is6() && a.IsLinkLocalUnicast() {
				vm.LinkLocal = a
			}
		}
	}
	return vm, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// startOnly describes the process settings lbd applies at start only.
func startOnly(cfg *config.Config) map[string]string {
	g := &cfg.Global
	return map[string]string{
		"vrrp_rt_priority":   fmt.Sprint(g.VRRPRTPriority),
		"vrrp_rlimit_rttime": g.VRRPRlimitRTTime.String(),
		"vrrp_priority":      fmt.Sprint(g.VRRPPriority),
		"vrrp_cpu_affinity":  fmt.Sprint(g.VRRPCPUAffinity),
		"vrrp_no_swap":       fmt.Sprint(g.VRRPNoSwap),
	}
}
