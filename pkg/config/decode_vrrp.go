package config

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

type vinst = VRRPInstance

// trackWeights are the weight bounds of the track_* lists.
const (
	weightScript  = 253
	weightFile    = 254
	weightProcess = 254
	weightBFD     = 253
	weightIf      = 253
)

var vrrpInstanceSpec = blockSpec[vinst]{kws: map[string]entry[vinst]{
	"state": kw(func(d *decoder, n *node, v *vinst) {
		s, ok := d.arg(n)
		if !ok {
			return
		}
		switch s {
		case "MASTER":
			v.State = StateMaster
		case "BACKUP":
			v.State = StateBackup
		default:
			d.errorf(n.pos, "state %s: not MASTER or BACKUP", s)
		}
	}),
	"interface": kw(func(d *decoder, n *node, v *vinst) {
		if s, ok := d.arg(n); ok {
			if !validIfName(s) {
				d.errorf(n.pos, "interface %q: not a valid interface name", s)
				return
			}
			v.Interface = s
		}
	}),
	"vrf":                kw(setString(func(v *vinst) *string { return &v.VRF })),
	"use_vmac":           kw(instanceUseVMAC),
	"use_vmac_addr":      kw(setFlag(func(v *vinst) *bool { return &v.UseVMACAddr })),
	"vmac_xmit_base":     kw(setFlag(func(v *vinst) *bool { return &v.VMACXmitBase })),
	"use_ipvlan":         kw(instanceUseIPVLAN),
	"native_ipv6":        kw(setFlag(func(v *vinst) *bool { return &v.NativeIPv6 })),
	"dont_track_primary": kw(setFlag(func(v *vinst) *bool { return &v.DontTrackPrimary })),
	"track_interface": blk(func(d *decoder, n *node, v *vinst) {
		v.TrackInterfaces = append(v.TrackInterfaces, d.trackInterfaces(n)...)
	}),
	"track_script": blk(func(d *decoder, n *node, v *vinst) {
		v.TrackScripts = append(v.TrackScripts, d.trackRefs(n, weightScript)...)
	}),
	"track_file": blk(func(d *decoder, n *node, v *vinst) {
		v.TrackFiles = append(v.TrackFiles, d.trackRefs(n, weightFile)...)
	}),
	"track_process": blk(func(d *decoder, n *node, v *vinst) {
		v.TrackProcesses = append(v.TrackProcesses, d.trackRefs(n, weightProcess)...)
	}),
	"track_bfd":      blk(func(d *decoder, n *node, v *vinst) { v.TrackBFDs = append(v.TrackBFDs, d.trackRefs(n, weightBFD)...) }),
	"mcast_src_ip":   kw(setAddr(func(v *vinst) *netip.Addr { return &v.McastSrcIP })),
	"unicast_src_ip": kw(setAddr(func(v *vinst) *netip.Addr { return &v.UnicastSrcIP })),
	"mcast_dst_ip": kw(func(d *decoder, n *node, v *vinst) {
		a, ok := d.addrArg(n)
		if !ok {
			return
		}
		if !a.IsMulticast() {
			d.errorf(n.pos, "mcast_dst_ip %s: not a multicast address", a)
			return
		}
		if a.Is6() && !a.IsLinkLocalMulticast() {
			d.errorf(n.pos, "mcast_dst_ip %s: IPv6 multicast address must be link-local (ffX2::)", a)
			return
		}
		v.McastDstIP = a
	}),
	"track_src_ip":          kw(setFlag(func(v *vinst) *bool { return &v.TrackSrcIP })),
	"version":               kw(setInt(func(v *vinst) *int { return &v.Version }, 2, 3)),
	"check_unicast_src":     kw(setFlag(func(v *vinst) *bool { return &v.CheckUnicastSrc })),
	"unicast_peer":          blk(instanceUnicastPeers),
	"unicast_fault_no_peer": kw(setFlag(func(v *vinst) *bool { return &v.UnicastFaultNoPeer })),
	"unicast_ttl":           kw(setInt(func(v *vinst) *int { return &v.UnicastTTL }, 0, 255)),
	"old_unicast_checksum": kw(func(d *decoder, n *node, v *vinst) {
		v.OldUnicastChecksum = true
		if a := n.args(); len(a) > 0 {
			if a[0] != "never" {
				d.errorf(n.pos, "old_unicast_checksum %s: only never may follow", a[0])
				return
			}
			v.OldUnicastChecksum, v.OldUnicastChecksumNever = false, true
		}
	}),
	"garp_master_delay":          kw(setTimer(func(v *vinst) *time.Duration { return &v.GARPMasterDelay }, 0, 86400*time.Second)),
	"garp_master_repeat":         kw(setInt(func(v *vinst) *int { return &v.GARPMasterRepeat }, 0, 1<<31-1)),
	"garp_lower_prio_delay":      kw(setTimer(func(v *vinst) *time.Duration { return &v.GARPLowerPrioDelay }, 0, 86400*time.Second)),
	"garp_lower_prio_repeat":     kw(setInt(func(v *vinst) *int { return &v.GARPLowerPrioRepeat }, 0, 1<<31-1)),
	"garp_master_refresh":        kw(setTimer(func(v *vinst) *time.Duration { return &v.GARPMasterRefresh }, 0, 86400*time.Second)),
	"garp_master_refresh_repeat": kw(setInt(func(v *vinst) *int { return &v.GARPMasterRefreshRepeat }, 0, 1<<31-1)),
	"garp_extra_if":              kw(func(d *decoder, n *node, v *vinst) { d.garpExtraIf(n, &v.GARPExtraIf) }),
	"down_timer_adverts":         kw(setInt(func(v *vinst) *int { return &v.DownTimerAdverts }, 1, 100)),
	"lower_prio_no_advert":       kw(setBool(func(v *vinst) *bool { return &v.LowerPrioNoAdvert })),
	"higher_prio_send_advert":    kw(setBool(func(v *vinst) *bool { return &v.HigherPrioSendAdvert })),
	"virtual_router_id":          kw(setInt(func(v *vinst) *int { return &v.VRID }, 1, 255)),
	"priority":                   kw(setInt(func(v *vinst) *int { return &v.Priority }, 1, 255)),
	"advert_int":                 kw(setTimer(func(v *vinst) *time.Duration { return &v.AdvertInt }, 10*time.Millisecond, 255*time.Second)),
	"authentication":             blk(instanceAuth),
	"virtual_ipaddress": blk(func(d *decoder, n *node, v *vinst) {
		v.VirtualIPs = append(v.VirtualIPs, d.addressList(n, "virtual_ipaddress", addrOptions{vmac: true, noTrack: true})...)
	}),
	"virtual_ipaddress_excluded": blk(func(d *decoder, n *node, v *vinst) {
		v.ExcludedVirtualIPs = append(v.ExcludedVirtualIPs, d.addressList(n, "virtual_ipaddress_excluded", addrOptions{vmac: true, noTrack: true})...)
	}),
	"promote_secondaries": kw(setFlag(func(v *vinst) *bool { return &v.PromoteSecondaries })),
	"virtual_routes": blk(func(d *decoder, n *node, v *vinst) {
		v.VirtualRoutes = append(v.VirtualRoutes, d.routeList(n, "virtual_routes", true)...)
	}),
	"virtual_rules": blk(func(d *decoder, n *node, v *vinst) {
		v.VirtualRules = append(v.VirtualRules, d.ruleList(n, "virtual_rules", true)...)
	}),
	"accept":                     kw(func(d *decoder, n *node, v *vinst) { d.noArgs(n); v.Accept = true }),
	"no_accept":                  kw(func(d *decoder, n *node, v *vinst) { d.noArgs(n); v.Accept = false }),
	"nopreempt":                  kw(func(d *decoder, n *node, v *vinst) { d.noArgs(n); v.Preempt = false }),
	"preempt":                    kw(func(d *decoder, n *node, v *vinst) { d.noArgs(n); v.Preempt = true }),
	"preempt_delay":              kw(setTimer(func(v *vinst) *time.Duration { return &v.PreemptDelay }, 0, 1000*time.Second)),
	"skip_check_adv_addr":        kw(setBool(func(v *vinst) *bool { return &v.SkipCheckAdvAddr })),
	"strict_mode":                kw(setBool(func(v *vinst) *bool { return &v.StrictMode })),
	"debug":                      kw(setInt(func(v *vinst) *int { return &v.Debug }, 0, 4)),
	"notify_master":              kw(setNotify(func(v *vinst) **Script { return &v.Notify.Master })),
	"notify_backup":              kw(setNotify(func(v *vinst) **Script { return &v.Notify.Backup })),
	"notify_fault":               kw(setNotify(func(v *vinst) **Script { return &v.Notify.Fault })),
	"notify_stop":                kw(setNotify(func(v *vinst) **Script { return &v.Notify.Stop })),
	"notify_deleted":             kw(func(d *decoder, n *node, v *vinst) { d.notifyDeleted(n, &v.Notify) }),
	"notify_master_rx_lower_pri": kw(setNotify(func(v *vinst) **Script { return &v.Notify.MasterRxLowerPri })),
	"notify":                     kw(setNotify(func(v *vinst) **Script { return &v.Notify.Any })),
	"notify_priority_changes":    kw(setBool(func(v *vinst) *bool { return &v.NotifyPriorityChanges })),
	"smtp_alert":                 kw(setBool(func(v *vinst) *bool { return &v.SMTPAlert })),
	"kernel_rx_buf_size":         kw(setInt(func(v *vinst) *int { return &v.KernelRxBufSize }, 0, 1<<31-1)),
	"linkbeat_use_polling": kw(func(d *decoder, n *node, v *vinst) {
		d.noArgs(n)
		v.LinkbeatUsePolling = true
		d.warnf(n.pos, "linkbeat_use_polling in vrrp_instance is deprecated; use a linkbeat_interfaces block")
	}),
	"lvs_sync_daemon_interface": kw(func(d *decoder, n *node, v *vinst) {
		if s, ok := d.arg(n); ok {
			v.LVSSyncDaemonInterface = s
			d.warnf(n.pos, "lvs_sync_daemon_interface in vrrp_instance is deprecated; use global lvs_sync_daemon")
		}
	}),
}}

func decodeVRRPInstance(d *decoder, n *node, c *Config) {
	name, ok := d.arg(n)
	if !ok {
		return
	}
	defer d.enter("vrrp_instance " + name)()
	v := VRRPInstance{Pos: n.pos, Name: name, Preempt: true}
	decodeBlock(d, &vrrpInstanceSpec, "vrrp_instance", n.children, &v)
	c.Instances = append(c.Instances, v)
}

// instanceUseVMAC reads "use_vmac [NAME] [MAC]"; a MAC may have 5 octets
// (the VRID is then the sixth).
func instanceUseVMAC(d *decoder, n *node, v *vinst) {
	v.UseVMAC = true
	for _, a := range n.args() {
		if strings.Count(a, ":") >= 4 {
			mac := a
			if strings.Count(a, ":") == 4 {
				mac += ":00"
			}
			if _, err := net.ParseMAC(mac); err != nil || len(mac) != 17 {
				d.errorf(n.pos, "use_vmac %s: not a MAC address", a)
				return
			}
			v.VMACAddr = a
			continue
		}
		if !validIfName(a) {
			d.errorf(n.pos, "use_vmac %q: not a valid interface name", a)
			return
		}
		v.VMACName = a
	}
}

// instanceUseIPVLAN reads "use_ipvlan [NAME] [ADDR[/LEN]] [bridge|private|vepa]".
func instanceUseIPVLAN(d *decoder, n *node, v *vinst) {
	v.UseIPVLAN = true
	for _, a := range n.args() {
		switch {
		case a == "bridge" || a == "private" || a == "vepa":
			v.IPVLANMode = a
		case strings.ContainsAny(a, ".:") && !strings.ContainsAny(a, "-_"):
			p, ok := d.parsePrefix(n.pos, "use_ipvlan", a)
			if !ok {
				return
			}
			v.IPVLANAddr = p
		default:
			if !validIfName(a) {
				d.errorf(n.pos, "use_ipvlan %q: not a valid interface name", a)
				return
			}
			v.IPVLANName = a
		}
	}
}

func instanceUnicastPeers(d *decoder, n *node, v *vinst) {
	for _, c := range n.children {
		w := c.words
		a, ok := d.parseAddr(c.pos, "unicast_peer", w[0])
		if !ok {
			continue
		}
		p := UnicastPeer{Pos: c.pos, Addr: a}
		good := true
		for i := 1; i < len(w) && good; i += 2 {
			if w[i] != "min_ttl" && w[i] != "max_ttl" {
				d.errorf(c.pos, "unicast_peer %s: unknown option %q", w[0], w[i])
				good = false
				break
			}
			if i+1 >= len(w) {
				d.errorf(c.pos, "unicast_peer %s: %s needs a value", w[0], w[i])
				good = false
				break
			}
			t, ok := d.parseInt(c.pos, "unicast_peer "+w[0]+" "+w[i], w[i+1], 0, 255)
			if !ok {
				good = false
				break
			}
			if w[i] == "min_ttl" {
				p.MinTTL = int(t)
			} else {
				p.MaxTTL = int(t)
			}
		}
		if !good {
			continue
		}
		if p.MaxTTL != 0 && p.MinTTL > p.MaxTTL {
			d.errorf(c.pos, "unicast_peer %s: min_ttl %d above max_ttl %d", w[0], p.MinTTL, p.MaxTTL)
			continue
		}
		v.UnicastPeers = append(v.UnicastPeers, p)
	}
}

var authSpec = blockSpec[Authentication]{kws: map[string]entry[Authentication]{
	"auth_type": kw(func(d *decoder, n *node, a *Authentication) {
		s, ok := d.arg(n)
		if !ok {
			return
		}
		switch s {
		case "PASS":
			a.Type = AuthPass
		case "AH":
			a.Type = AuthAH
			d.use(n.pos, "vrrp_instance.authentication.auth_type=AH")
		default:
			d.errorf(n.pos, "auth_type %s: not PASS or AH", s)
		}
	}),
	"auth_pass": kw(func(d *decoder, n *node, a *Authentication) {
		s, ok := d.joinedArg(n)
		if !ok {
			return
		}
		if len(s) > 8 {
			d.warnf(n.pos, "auth_pass %q is longer than 8 characters; keepalived uses only the first 8 (%q) and so does lbd", s, s[:8])
			s = s[:8]
		}
		a.Pass = s
	}),
}}

func instanceAuth(d *decoder, n *node, v *vinst) {
	a := Authentication{Pos: n.pos}
	decodeBlock(d, &authSpec, "vrrp_instance.authentication", n.children, &a)
	if a.Type == AuthNone {
		d.errorf(n.pos, "authentication: missing auth_type")
		return
	}
	if a.Pass == "" && a.Type == AuthPass {
		d.errorf(n.pos, "authentication: auth_type PASS without auth_pass")
		return
	}
	v.Auth = &a
}

func (d *decoder) notifyDeleted(n *node, nt *Notify) {
	nt.SendDeleted = true
	if len(n.args()) > 0 {
		nt.Deleted = d.notifyScript(n)
	}
}

// trackInterfaces reads track_interface entries: "IF [weight N [reverse]]".
func (d *decoder) trackInterfaces(n *node) []TrackInterface {
	var out []TrackInterface
	for _, c := range n.children {
		w := c.words
		if !validIfName(w[0]) {
			d.errorf(c.pos, "track_interface %q: not a valid interface name", w[0])
			continue
		}
		t := TrackInterface{Pos: c.pos, Name: w[0]}
		ref, ok := d.trackOptions(c, "track_interface", weightIf)
		if !ok {
			continue
		}
		t.Weight, t.Reverse = ref.Weight, ref.Reverse
		out = append(out, t)
	}
	return out
}

// trackRefs reads track_script / track_file / track_process / track_bfd
// entries: "NAME [weight N] [reverse|noreverse|no_reverse]".
func (d *decoder) trackRefs(n *node, bound int64) []TrackRef {
	var out []TrackRef
	for _, c := range n.children {
		if ref, ok := d.trackOptions(c, n.keyword(), bound); ok {
			out = append(out, ref)
		}
	}
	return out
}

func (d *decoder) trackOptions(c *node, what string, bound int64) (TrackRef, bool) {
	w := c.words
	ref := TrackRef{Pos: c.pos, Name: w[0]}
	for i := 1; i < len(w); i++ {
		switch w[i] {
		case "weight":
			if i+1 >= len(w) {
				d.errorf(c.pos, "%s %s: weight needs a value", what, w[0])
				return ref, false
			}
			v, ok := d.parseInt(c.pos, what+" "+w[0]+" weight", w[i+1], -bound, bound)
			if !ok {
				return ref, false
			}
			ref.Weight, ref.WeightSet = int(v), true
			i++
		case "reverse":
			ref.Reverse = true
		case "noreverse", "no_reverse":
			ref.Reverse = false
		default:
			d.errorf(c.pos, "%s %s: unknown option %q", what, w[0], w[i])
			return ref, false
		}
	}
	return ref, true
}

// ---- vrrp_sync_group ---------------------------------------------------

type sgroup = SyncGroup

var syncGroupSpec = blockSpec[sgroup]{kws: map[string]entry[sgroup]{
	"group": blk(func(d *decoder, n *node, g *sgroup) { g.Members = append(g.Members, valueList(n)...) }),
	"track_interface": blk(func(d *decoder, n *node, g *sgroup) {
		g.TrackInterfaces = append(g.TrackInterfaces, d.trackInterfaces(n)...)
	}),
	"track_script": blk(func(d *decoder, n *node, g *sgroup) {
		g.TrackScripts = append(g.TrackScripts, d.trackRefs(n, weightScript)...)
	}),
	"track_file": blk(func(d *decoder, n *node, g *sgroup) {
		g.TrackFiles = append(g.TrackFiles, d.trackRefs(n, weightFile)...)
	}),
	"track_process": blk(func(d *decoder, n *node, g *sgroup) {
		g.TrackProcesses = append(g.TrackProcesses, d.trackRefs(n, weightProcess)...)
	}),
	"track_bfd":               blk(func(d *decoder, n *node, g *sgroup) { g.TrackBFDs = append(g.TrackBFDs, d.trackRefs(n, weightBFD)...) }),
	"notify_master":           kw(setNotify(func(g *sgroup) **Script { return &g.Notify.Master })),
	"notify_backup":           kw(setNotify(func(g *sgroup) **Script { return &g.Notify.Backup })),
	"notify_fault":            kw(setNotify(func(g *sgroup) **Script { return &g.Notify.Fault })),
	"notify_stop":             kw(setNotify(func(g *sgroup) **Script { return &g.Notify.Stop })),
	"notify_deleted":          kw(func(d *decoder, n *node, g *sgroup) { d.notifyDeleted(n, &g.Notify) }),
	"notify":                  kw(setNotify(func(g *sgroup) **Script { return &g.Notify.Any })),
	"notify_priority_changes": kw(setBool(func(g *sgroup) *bool { return &g.NotifyPriorityChanges })),
	"smtp_alert":              kw(setBool(func(g *sgroup) *bool { return &g.SMTPAlert })),
	"global_tracking": kw(func(d *decoder, n *node, g *sgroup) {
		d.noArgs(n)
		g.GlobalTracking = true
		d.warnf(n.pos, "global_tracking is deprecated; use track_interface, track_script and track_file on the sync group")
	}),
	"sync_group_tracking_weight": kw(setFlag(func(g *sgroup) *bool { return &g.SyncGroupTrackingWeight })),
}}

func decodeSyncGroup(d *decoder, n *node, c *Config) {
	name, ok := d.arg(n)
	if !ok {
		return
	}
	defer d.enter("vrrp_sync_group " + name)()
	g := SyncGroup{Pos: n.pos, Name: name}
	decodeBlock(d, &syncGroupSpec, "vrrp_sync_group", n.children, &g)
	c.SyncGroups = append(c.SyncGroups, g)
}

// ---- vrrp_script -------------------------------------------------------

type vscript = VRRPScript

var vrrpScriptSpec = blockSpec[vscript]{kws: map[string]entry[vscript]{
	"script":   kw(func(d *decoder, n *node, s *vscript) { s.Script = d.commandScript(n) }),
	"interval": kw(setTimer(func(s *vscript) *time.Duration { return &s.Interval }, time.Microsecond, maxTimer)),
	"timeout":  kw(setTimer(func(s *vscript) *time.Duration { return &s.Timeout }, time.Microsecond, maxTimer)),
	"weight": kw(func(d *decoder, n *node, s *vscript) {
		s.Weight, s.Reverse, _ = d.weightReverse(n, weightScript)
	}),
	"rise": kw(setInt(func(s *vscript) *int { return &s.Rise }, 1, 1<<31-1)),
	"fall": kw(setInt(func(s *vscript) *int { return &s.Fall }, 1, 1<<31-1)),
	"user": kw(func(d *decoder, n *node, s *vscript) {
		if u, g, ok := d.userGroup(n); ok {
			s.User, s.Group = u, g
		}
	}),
	"init_fail": kw(setFlag(func(s *vscript) *bool { return &s.InitFail })),
}}

// weightReverse reads "weight N [reverse]".
func (d *decoder) weightReverse(n *node, bound int64) (int, bool, bool) {
	a := n.args()
	if len(a) == 0 {
		d.errorf(n.pos, "weight: missing value")
		return 0, false, false
	}
	w, ok := d.parseInt(n.pos, "weight", a[0], -bound, bound)
	if !ok {
		return 0, false, false
	}
	rev := false
	if len(a) > 1 {
		if a[1] != "reverse" {
			d.errorf(n.pos, "weight %s %s: only reverse may follow the weight", a[0], a[1])
			return 0, false, false
		}
		rev = true
	}
	return int(w), rev, true
}

func decodeVRRPScript(d *decoder, n *node, c *Config) {
	name, ok := d.arg(n)
	if !ok {
		return
	}
	defer d.enter("vrrp_script " + name)()
	s := VRRPScript{Pos: n.pos, Name: name}
	decodeBlock(d, &vrrpScriptSpec, "vrrp_script", n.children, &s)
	c.Scripts = append(c.Scripts, s)
}

// ---- vrrp_track_process ------------------------------------------------

type tproc = TrackProcess

var trackProcessSpec = blockSpec[tproc]{kws: map[string]entry[tproc]{
	"process": kw(func(d *decoder, n *node, p *tproc) {
		a := n.args()
		if len(a) == 0 {
			d.errorf(n.pos, "process: missing process name")
			return
		}
		p.Process, p.Params = a[0], append([]string(nil), a[1:]...)
	}),
	"param_match": kw(func(d *decoder, n *node, p *tproc) {
		s, ok := d.arg(n)
		if !ok {
			return
		}
		if s != "initial" && s != "partial" {
			d.errorf(n.pos, "param_match %s: not initial or partial", s)
			return
		}
		p.ParamMatch = s
	}),
	"weight": kw(func(d *decoder, n *node, p *tproc) {
		p.Weight, p.Reverse, _ = d.weightReverse(n, weightProcess)
	}),
	"quorum":          kw(setInt(func(p *tproc) *int { return &p.Quorum }, 0, 1<<31-1)),
	"quorum_max":      kw(setInt(func(p *tproc) *int { return &p.QuorumMax }, 0, 1<<31-1)),
	"fork_delay":      kw(setTimer(func(p *tproc) *time.Duration { return &p.ForkDelay }, 0, maxTimer)),
	"terminate_delay": kw(setTimer(func(p *tproc) *time.Duration { return &p.TerminateDelay }, 0, maxTimer)),
	"delay": kw(func(d *decoder, n *node, p *tproc) {
		if t, ok := d.timerArg(n, 0, maxTimer); ok {
			p.ForkDelay, p.TerminateDelay = t, t
		}
	}),
	"full_command": kw(setFlag(func(p *tproc) *bool { return &p.FullCommand })),
}}

func decodeTrackProcess(d *decoder, n *node, c *Config) {
	name, ok := d.arg(n)
	if !ok {
		return
	}
	defer d.enter("vrrp_track_process " + name)()
	p := TrackProcess{Pos: n.pos, Name: name}
	decodeBlock(d, &trackProcessSpec, "vrrp_track_process", n.children, &p)
	c.TrackProcesses = append(c.TrackProcesses, p)
}

// ---- track_file --------------------------------------------------------

type tfile = TrackFile

var trackFileSpec = blockSpec[tfile]{kws: map[string]entry[tfile]{
	"file": kw(setString(func(f *tfile) *string { return &f.File })),
	"weight": kw(func(d *decoder, n *node, f *tfile) {
		f.Weight, f.Reverse, _ = d.weightReverse(n, 1<<31-1)
	}),
	"init_file": kw(func(d *decoder, n *node, f *tfile) {
		f.InitFile = true
		for _, a := range n.args() {
			if a == "overwrite" {
				f.Overwrite = true
				continue
			}
			v, ok := d.parseInt(n.pos, "init_file", a, -1<<31, 1<<31-1)
			if !ok {
				return
			}
			f.InitValue = int(v)
		}
	}),
}}

func decodeTrackFile(d *decoder, n *node, c *Config) {
	name, ok := d.arg(n)
	if !ok {
		return
	}
	if n.keyword() == "vrrp_track_file" {
		d.warnf(n.pos, "vrrp_track_file is deprecated; use track_file")
	}
	defer d.enter("track_file " + name)()
	f := TrackFile{Pos: n.pos, Name: name}
	decodeBlock(d, &trackFileSpec, "track_file", n.children, &f)
	c.TrackFiles = append(c.TrackFiles, f)
}

// ---- bfd_instance ------------------------------------------------------

type bfdi = BFDInstance

// setMillis reads a decimal number of milliseconds (microsecond resolution).
func setMillis(field func(*bfdi) *time.Duration) handler[bfdi] {
	return func(d *decoder, n *node, b *bfdi) {
		s, ok := d.arg(n)
		if !ok {
			return
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > 4294967 {
			d.errorf(n.pos, "%s %s: not a number of milliseconds in 0-4294967", n.keyword(), s)
			return
		}
		*field(b) = time.Duration(f*1000+0.5) * time.Microsecond
	}
}

var bfdSpec = blockSpec[bfdi]{
	kws: map[string]entry[bfdi]{
		"neighbor_ip": kw(setAddr(func(b *bfdi) *netip.Addr { return &b.NeighborIP })),
		"source_ip":   kw(setAddr(func(b *bfdi) *netip.Addr { return &b.SourceIP })),
		"min_rx":      kw(setMillis(func(b *bfdi) *time.Duration { return &b.MinRx })),
		"min_tx":      kw(setMillis(func(b *bfdi) *time.Duration { return &b.MinTx })),
		"idle_tx":     kw(setMillis(func(b *bfdi) *time.Duration { return &b.IdleTx })),
		"multiplier":  kw(setInt(func(b *bfdi) *int { return &b.Multiplier }, 1, 255)),
		"passive":     kw(setFlag(func(b *bfdi) *bool { return &b.Passive })),
		"ttl":         kw(setInt(func(b *bfdi) *int { return &b.TTL }, 1, 255)),
		"hoplimit":    kw(setInt(func(b *bfdi) *int { return &b.HopLimit }, 1, 255)),
		"max_hops":    kw(setInt(func(b *bfdi) *int { return &b.MaxHops }, 0, 255)),
		"weight": kw(func(d *decoder, n *node, b *bfdi) {
			b.Weight, b.Reverse, _ = d.weightReverse(n, weightBFD)
		}),
		"vrrp":    kw(setFlag(func(b *bfdi) *bool { return &b.VRRPOnly })),
		"checker": kw(setFlag(func(b *bfdi) *bool { return &b.CheckerOnly })),
	},
	aliases: map[string]string{"neighbour_ip": "neighbor_ip"},
}

func decodeBFDInstance(d *decoder, n *node, c *Config) {
	name, ok := d.arg(n)
	if !ok {
		return
	}
	defer d.enter("bfd_instance " + name)()
	b := BFDInstance{Pos: n.pos, Name: name}
	decodeBlock(d, &bfdSpec, "bfd_instance", n.children, &b)
	c.BFDInstances = append(c.BFDInstances, b)
}

// ---- garp_group --------------------------------------------------------

type ggroup = GARPGroup

var garpGroupSpec = blockSpec[ggroup]{kws: map[string]entry[ggroup]{
	"garp_interval": kw(setTimer(func(g *ggroup) *time.Duration { return &g.GARPInterval }, 0, 86400*time.Second)),
	"gna_interval":  kw(setTimer(func(g *ggroup) *time.Duration { return &g.GNAInterval }, 0, 86400*time.Second)),
	"interface":     kw(setString(func(g *ggroup) *string { return &g.Interface })),
	"interfaces":    blk(func(d *decoder, n *node, g *ggroup) { g.Interfaces = append(g.Interfaces, valueList(n)...) }),
}}

func decodeGARPGroup(d *decoder, n *node, c *Config) {
	defer d.enter("garp_group")()
	g := GARPGroup{Pos: n.pos}
	decodeBlock(d, &garpGroupSpec, "garp_group", n.children, &g)
	if g.Interface != "" && len(g.Interfaces) > 0 {
		d.errorf(n.pos, "use interface or interfaces, not both")
		return
	}
	if g.Interface == "" && len(g.Interfaces) == 0 {
		d.errorf(n.pos, "no interface or interfaces")
		return
	}
	c.GARPGroups = append(c.GARPGroups, g)
}
