package config

import (
	"net/netip"
	"time"
)

// keepalived's defaults (keepalived.conf(5) and its source), applied in
// this one place after decoding. A value the configuration wrote is never
// overridden: IsSet tells them apart.
const (
	DefaultChildWaitTime        = 5 * time.Second
	DefaultScriptTimeout        = 10 * time.Second // startup/shutdown scripts
	DefaultSMTPPort             = 25
	DefaultSMTPConnectTimeout   = 30 * time.Second
	DefaultInterface            = "eth0"
	DefaultVRRPVersion          = 2
	DefaultGARPMasterDelay      = 5 * time.Second
	DefaultGARPMasterRepeat     = 5
	DefaultGARPRefreshRepeat    = 1
	DefaultDownTimerAdverts     = 3
	DefaultVMACPrefix           = "vrrp"
	DefaultRxBufsMultiplier     = 3
	DefaultNFTablesPriority     = -1
	DefaultNFTablesIPVSFWMark   = 1000
	DefaultMinAutoPriorityDelay = time.Second
	DefaultRlimitRTTime         = 10000 * time.Microsecond
	DefaultUmask                = 0o022
	DefaultPriority             = 100
	PriorityOwner               = 255 // the address owner's priority
	DefaultAdvertInt            = time.Second
	DefaultUnicastTTL           = 255
	DefaultScriptInterval       = time.Second
	DefaultBFDMinRx             = 10 * time.Millisecond
	DefaultBFDMinTx             = 10 * time.Millisecond
	DefaultBFDIdleTx            = time.Second
	DefaultBFDMultiplier        = 5
	DefaultBFDTTL               = 255
	DefaultBFDHopLimit          = 64
	DefaultScheduler            = "wlc" // IPVS's own default, as ipvsadm's
	DefaultDelayLoop            = 60 * time.Second
	DefaultConnectTimeout       = 5 * time.Second
	DefaultQuorum               = 1
	DefaultWeight               = 1
	DefaultHTTPProtocol         = "1.0"
	DefaultHTTPDelayBeforeRetry = 3 * time.Second
	DefaultDelayBeforeRetry     = time.Second
	DefaultRetry                = 1
	DefaultDNSRetry             = 3
	DefaultMiscRetry            = 0
	DefaultDNSType              = "SOA"
	DefaultDNSName              = "."
	DefaultUDPMaxReplyLength    = 255
	PersistentTimeoutNoValue    = 360 * time.Second // persistence_timeout without a value
	AuthPassMaxLen              = 8
)

var (
	DefaultMcastGroup4 = netip.MustParseAddr("224.0.0.18")
	DefaultMcastGroup6 = netip.MustParseAddr("ff02::12")
)

// applyDefaults fills every value the configuration did not write.
func applyDefaults(c *Config, diag *diagSink) {
	g := &c.Global
	setDur := func(s *setFields, kw string, f *time.Duration, v time.Duration) {
		if !s.IsSet(kw) {
			*f = v
		}
	}
	setInt := func(s *setFields, kw string, f *int, v int) {
		if !s.IsSet(kw) {
			*f = v
		}
	}
	gs := &g.setFields
	setDur(gs, "child_wait_time", &g.ChildWaitTime, DefaultChildWaitTime)
	setDur(gs, "startup_script_timeout", &g.StartupScriptTimeout, DefaultScriptTimeout)
	setDur(gs, "shutdown_script_timeout", &g.ShutdownScriptTimeout, DefaultScriptTimeout)
	if g.SMTPServerPort == 0 {
		g.SMTPServerPort = DefaultSMTPPort
	}
	setDur(gs, "smtp_connect_timeout", &g.SMTPConnectTimeout, DefaultSMTPConnectTimeout)
	if !g.VRRPMcastGroup4.IsValid() {
		g.VRRPMcastGroup4 = DefaultMcastGroup4
	}
	if !g.VRRPMcastGroup6.IsValid() {
		g.VRRPMcastGroup6 = DefaultMcastGroup6
	}
	if g.DefaultInterface == "" {
		g.DefaultInterface = DefaultInterface
	}
	setInt(gs, "vrrp_version", &g.VRRPVersion, DefaultVRRPVersion)
	if g.VRRPMinGARP {
		// One GARP/NA, no second burst.
		setInt(gs, "vrrp_garp_master_repeat", &g.VRRPGARPMasterRepeat, 1)
		setDur(gs, "vrrp_garp_master_delay", &g.VRRPGARPMasterDelay, 0)
	} else {
		setDur(gs, "vrrp_garp_master_delay", &g.VRRPGARPMasterDelay, DefaultGARPMasterDelay)
		setInt(gs, "vrrp_garp_master_repeat", &g.VRRPGARPMasterRepeat, DefaultGARPMasterRepeat)
	}
	setDur(gs, "vrrp_garp_lower_prio_delay", &g.VRRPGARPLowerPrioDelay, g.VRRPGARPMasterDelay)
	setInt(gs, "vrrp_garp_lower_prio_repeat", &g.VRRPGARPLowerPrioRepeat, g.VRRPGARPMasterRepeat)
	setInt(gs, "vrrp_garp_master_refresh_repeat", &g.VRRPGARPMasterRefreshRepeat, DefaultGARPRefreshRepeat)
	setInt(gs, "vrrp_down_timer_adverts", &g.VRRPDownTimerAdverts, DefaultDownTimerAdverts)
	if g.VRRPStrict && !gs.IsSet("vrrp_lower_prio_no_advert") {
		g.VRRPLowerPrioNoAdvert = true
	}
	if g.VMACPrefix == "" {
		g.VMACPrefix = DefaultVMACPrefix
	}
	if g.VMACAddrPrefix == "" {
		g.VMACAddrPrefix = g.VMACPrefix
	}
	setInt(gs, "vrrp_rx_bufs_multiplier", &g.VRRPRxBufsMultiplier, DefaultRxBufsMultiplier)
	setInt(gs, "nftables_priority", &g.NFTablesPriority, DefaultNFTablesPriority)
	setInt(gs, "nftables_ipvs_priority", &g.NFTablesIPVSPriority, DefaultNFTablesPriority)
	if !gs.IsSet("nftables_ipvs_start_fwmark") {
		g.NFTablesIPVSStartFWMark = DefaultNFTablesIPVSFWMark
	}
	setDur(gs, "min_auto_priority_delay", &g.MinAutoPriorityDelay, DefaultMinAutoPriorityDelay)
	setDur(gs, "vrrp_rlimit_rttime", &g.VRRPRlimitRTTime, DefaultRlimitRTTime)
	setDur(gs, "checker_rlimit_rttime", &g.CheckerRlimitRTTime, DefaultRlimitRTTime)
	setDur(gs, "bfd_rlimit_rttime", &g.BFDRlimitRTTime, DefaultRlimitRTTime)
	if !gs.IsSet("umask") {
		g.Umask = DefaultUmask
	}

	for i := range c.Scripts {
		s := &c.Scripts[i]
		setDur(&s.setFields, "interval", &s.Interval, DefaultScriptInterval)
		setDur(&s.setFields, "timeout", &s.Timeout, s.Interval)
		setInt(&s.setFields, "rise", &s.Rise, 1)
		setInt(&s.setFields, "fall", &s.Fall, 1)
	}
	for i := range c.TrackProcesses {
		p := &c.TrackProcesses[i]
		setInt(&p.setFields, "weight", &p.Weight, 1)
		setInt(&p.setFields, "quorum", &p.Quorum, 1)
	}
	for i := range c.TrackFiles {
		f := &c.TrackFiles[i]
		setInt(&f.setFields, "weight", &f.Weight, 1)
	}
	for i := range c.BFDInstances {
		b := &c.BFDInstances[i]
		setDur(&b.setFields, "min_rx", &b.MinRx, DefaultBFDMinRx)
		setDur(&b.setFields, "min_tx", &b.MinTx, DefaultBFDMinTx)
		setDur(&b.setFields, "idle_tx", &b.IdleTx, DefaultBFDIdleTx)
		setInt(&b.setFields, "multiplier", &b.Multiplier, DefaultBFDMultiplier)
		setInt(&b.setFields, "ttl", &b.TTL, DefaultBFDTTL)
		setInt(&b.setFields, "hoplimit", &b.HopLimit, DefaultBFDHopLimit)
	}

	x := newNameIndex(c)
	for i := range c.Instances {
		applyInstanceDefaults(c, &x, &c.Instances[i], diag)
	}
	for i := range c.SyncGroups {
		sg := &c.SyncGroups[i]
		if !sg.IsSet("smtp_alert") {
			sg.SMTPAlert = vrrpSMTPAlert(g)
		}
		if !sg.IsSet("notify_priority_changes") {
			sg.NotifyPriorityChanges = g.VRRPNotifyPriorityChanges
		}
		resolveTrackRefs(c, &x, sg.TrackScripts, sg.TrackFiles, sg.TrackProcesses, sg.TrackBFDs)
	}
	if s := g.LVSSyncDaemon; s != nil && s.SyncID < 0 {
		s.SyncID = 0
		for _, v := range c.Instances {
			if v.Name == s.Instance {
				s.SyncID = v.VRID
			}
		}
	}

	for i := range c.VirtualServers {
		applyVSDefaults(c, &x, &c.VirtualServers[i])
	}
}

func vrrpSMTPAlert(g *GlobalDefs) bool {
	if g.IsSet("smtp_alert_vrrp") {
		return g.SMTPAlertVRRP
	}
	return g.SMTPAlert
}

func checkerSMTPAlert(g *GlobalDefs) (bool, bool) {
	if g.IsSet("smtp_alert_checker") {
		return g.SMTPAlertChecker, true
	}
	if g.IsSet("smtp_alert") {
		return g.SMTPAlert, true
	}
	return false, false
}

func applyInstanceDefaults(c *Config, x *nameIndex, v *VRRPInstance, diag *diagSink) {
	g := &c.Global
	s := &v.setFields
	// keepalived's derivation (vrrp_complete_instance), which lbd run's
	// engine applies too: no priority is 255 with state MASTER, else 100;
	// no state is MASTER for priority 255, else BACKUP.
	if !s.IsSet("priority") {
		v.Priority = DefaultPriority
		if s.IsSet("state") && v.State == StateMaster {
			v.Priority = PriorityOwner
		}
	}
	if !s.IsSet("state") && v.Priority == PriorityOwner {
		v.State = StateMaster
	}
	if !s.IsSet("advert_int") {
		v.AdvertInt = DefaultAdvertInt
	}
	v.Family = instanceFamily(v)
	if !s.IsSet("version") {
		v.Version = g.VRRPVersion
	}
	if !s.IsSet("strict_mode") {
		v.StrictMode = g.VRRPStrict
	}
	if v.Family == FamilyIPv6 && v.Version != 3 {
		// IPv6 instances always run VRRPv3.
		if s.IsSet("version") {
			if v.StrictMode {
				diag.errorf(v.Pos, "vrrp_instance %s: strict mode does not allow IPv6 with VRRP version 2", v.Name)
			} else {
				diag.warnf(v.Pos, "vrrp_instance %s: IPv6 needs VRRP version 3; version 2 ignored", v.Name)
			}
		}
		v.Version = 3
	}
	if !s.IsSet("accept") && !s.IsSet("no_accept") {
		v.Accept = !v.StrictMode || v.Priority == 255
	}
	if !s.IsSet("garp_master_delay") {
		v.GARPMasterDelay = g.VRRPGARPMasterDelay
	}
	if !s.IsSet("garp_master_repeat") {
		v.GARPMasterRepeat = g.VRRPGARPMasterRepeat
	}
	if !s.IsSet("garp_lower_prio_delay") {
		v.GARPLowerPrioDelay = g.VRRPGARPLowerPrioDelay
		if s.IsSet("garp_master_delay") && !g.IsSet("vrrp_garp_lower_prio_delay") {
			v.GARPLowerPrioDelay = v.GARPMasterDelay
		}
	}
	if !s.IsSet("garp_lower_prio_repeat") {
		v.GARPLowerPrioRepeat = g.VRRPGARPLowerPrioRepeat
		if s.IsSet("garp_master_repeat") && !g.IsSet("vrrp_garp_lower_prio_repeat") {
			v.GARPLowerPrioRepeat = v.GARPMasterRepeat
		}
	}
	if !s.IsSet("garp_master_refresh") {
		v.GARPMasterRefresh = g.VRRPGARPMasterRefresh
	}
	if !s.IsSet("garp_master_refresh_repeat") {
		v.GARPMasterRefreshRepeat = g.VRRPGARPMasterRefreshRepeat
	}
	if !s.IsSet("garp_extra_if") {
		v.GARPExtraIf = g.VRRPGARPExtraIf
	}
	if !s.IsSet("down_timer_adverts") {
		v.DownTimerAdverts = g.VRRPDownTimerAdverts
	}
	if !s.IsSet("lower_prio_no_advert") {
		v.LowerPrioNoAdvert = g.VRRPLowerPrioNoAdvert || v.StrictMode
	}
	if !s.IsSet("higher_prio_send_advert") {
		v.HigherPrioSendAdvert = g.VRRPHigherPrioSendAdvert
	}
	if !s.IsSet("skip_check_adv_addr") {
		v.SkipCheckAdvAddr = g.VRRPSkipCheckAdvAddr
	}
	if !s.IsSet("check_unicast_src") {
		v.CheckUnicastSrc = g.VRRPCheckUnicastSrc
	}
	for _, p := range v.UnicastPeers {
		if p.MinTTL != 0 || p.MaxTTL != 0 {
			v.CheckUnicastSrc = true // min_ttl/max_ttl turn it on
		}
	}
	if !s.IsSet("unicast_ttl") {
		v.UnicastTTL = DefaultUnicastTTL
	}
	if !v.McastDstIP.IsValid() && !v.IsUnicast() {
		if v.Family == FamilyIPv6 {
			v.McastDstIP = g.VRRPMcastGroup6
		} else {
			v.McastDstIP = g.VRRPMcastGroup4
		}
	}
	if !s.IsSet("smtp_alert") {
		v.SMTPAlert = vrrpSMTPAlert(g)
	}
	if !s.IsSet("notify_priority_changes") {
		v.NotifyPriorityChanges = g.VRRPNotifyPriorityChanges
	}
	resolveTrackRefs(c, x, v.TrackScripts, v.TrackFiles, v.TrackProcesses, v.TrackBFDs)
}

// instanceFamily is the family of the first VIP, else of the unicast or
// multicast source, else of the first unicast peer; IPv4 when nothing
// tells (or IPv6 with native_ipv6).
func instanceFamily(v *VRRPInstance) Family {
	if len(v.VirtualIPs) > 0 {
		return v.VirtualIPs[0].Family()
	}
	for _, a := range []netip.Addr{v.UnicastSrcIP, v.McastSrcIP} {
		if a.IsValid() {
			return familyOf(a)
		}
	}
	if len(v.UnicastPeers) > 0 {
		return familyOf(v.UnicastPeers[0].Addr)
	}
	if v.NativeIPv6 {
		return FamilyIPv6
	}
	if len(v.ExcludedVirtualIPs) > 0 {
		return v.ExcludedVirtualIPs[0].Family()
	}
	return FamilyIPv4
}

// resolveTrackRefs gives track entries without a weight the tracked
// object's own weight (and reverse).
func resolveTrackRefs(c *Config, x *nameIndex, scripts, files, procs, bfds []TrackRef) {
	resolve := func(refs []TrackRef, index map[string]int, weight func(int) (int, bool)) {
		for i := range refs {
			r := &refs[i]
			if j, ok := index[r.Name]; ok && !r.WeightSet {
				w, rev := weight(j)
				r.Weight, r.Reverse = w, r.Reverse || rev
			}
		}
	}
	resolve(scripts, x.scripts, func(j int) (int, bool) { return c.Scripts[j].Weight, c.Scripts[j].Reverse })
	resolve(files, x.files, func(j int) (int, bool) { return c.TrackFiles[j].Weight, c.TrackFiles[j].Reverse })
	resolve(procs, x.processes, func(j int) (int, bool) { return c.TrackProcesses[j].Weight, c.TrackProcesses[j].Reverse })
	resolve(bfds, x.bfds, func(j int) (int, bool) { return c.BFDInstances[j].Weight, c.BFDInstances[j].Reverse })
}

// timingSet says which CheckTiming fields were written at some level.
type timingSet struct{ connect, retry, dbr, warmup, loop bool }

func timingSetOf(s *setFields) timingSet {
	return timingSet{
		connect: s.IsSet("connect_timeout"),
		retry:   s.IsSet("retry"),
		dbr:     s.IsSet("delay_before_retry"),
		warmup:  s.IsSet("warmup"),
		loop:    s.IsSet("delay_loop"),
	}
}

// inherit fills the fields of t not written (own) from parent.
func inherit(t *CheckTiming, own timingSet, parent CheckTiming, pset timingSet) timingSet {
	if !own.connect {
		t.ConnectTimeout = parent.ConnectTimeout
	}
	if !own.retry {
		t.Retry = parent.Retry
	}
	if !own.dbr {
		t.DelayBeforeRetry = parent.DelayBeforeRetry
	}
	if !own.warmup {
		t.Warmup = parent.Warmup
	}
	if !own.loop {
		t.DelayLoop = parent.DelayLoop
	}
	return timingSet{
		connect: own.connect || pset.connect,
		retry:   own.retry || pset.retry,
		dbr:     own.dbr || pset.dbr,
		warmup:  own.warmup || pset.warmup,
		loop:    own.loop || pset.loop,
	}
}

func applyVSDefaults(c *Config, x *nameIndex, v *VirtualServer) {
	g := &c.Global
	s := &v.setFields
	if !s.IsSet("lvs_sched") {
		v.Scheduler = DefaultScheduler
	}
	if !s.IsSet("quorum") {
		v.Quorum = DefaultQuorum
	}
	if !s.IsSet("smtp_alert") {
		v.SMTPAlert, _ = checkerSMTPAlert(g)
	}
	vset := timingSetOf(s)
	if !vset.connect {
		v.ConnectTimeout = DefaultConnectTimeout
	}
	if !vset.loop {
		v.DelayLoop = DefaultDelayLoop
	}
	// The VS always has a connect timeout and delay loop; the other
	// timings come from the checker type when nobody wrote them.
	vset.connect, vset.loop = true, true

	if ss := v.SorryServer; ss != nil && !s.IsSet("sorry_server_lvs_method") {
		ss.Method, ss.Tunnel = v.Method, v.Tunnel
	}
	v.Family = vsFamily(c, x, v)

	for i := range v.RealServers {
		r := &v.RealServers[i]
		rs := &r.setFields
		if !rs.IsSet("weight") {
			r.Weight = DefaultWeight
		}
		if !rs.IsSet("lvs_method") {
			r.Method, r.Tunnel = v.Method, v.Tunnel
		}
		if !rs.IsSet("alpha") {
			r.Alpha = v.Alpha
		}
		if !rs.IsSet("inhibit_on_failure") {
			r.InhibitOnFailure = v.InhibitOnFailure
		}
		if r.Virtualhost == "" {
			r.Virtualhost = v.Virtualhost
		}
		if !rs.IsSet("smtp_alert") {
			if a, ok := checkerSMTPAlert(g); ok {
				r.SMTPAlert = a
			} else {
				r.SMTPAlert = true
			}
		}
		rset := inherit(&r.CheckTiming, timingSetOf(rs), v.CheckTiming, vset)
		for j := range r.Checkers {
			applyCheckerDefaults(&r.Checkers[j], r, rset)
		}
	}
}

// vsFamily is the service's address family: the address's, else
// ip_family, else the family shared by the real (and sorry) servers, else
// IPv4.
func vsFamily(c *Config, x *nameIndex, v *VirtualServer) Family {
	if v.Kind == VSAddr {
		return familyOf(v.Addr)
	}
	if i, ok := x.vsGroups[v.Group]; ok && v.Kind == VSGroup {
		for _, e := range c.VirtualServerGroups[i].Entries {
			if !e.IsFWMark {
				return e.Family
			}
		}
	}
	if v.IPFamily != FamilyUnspec {
		return v.IPFamily
	}
	f := FamilyUnspec
	for _, r := range v.RealServers {
		rf := familyOf(r.Addr)
		if f == FamilyUnspec {
			f = rf
		} else if f != rf {
			return FamilyIPv4
		}
	}
	if f == FamilyUnspec && v.SorryServer != nil {
		f = familyOf(v.SorryServer.Addr)
	}
	if f == FamilyUnspec {
		f = FamilyIPv4
	}
	return f
}

func applyCheckerDefaults(ch *Checker, r *RealServer, rset timingSet) {
	cs := &ch.setFields
	set := inherit(&ch.CheckTiming, timingSetOf(cs), r.CheckTiming, rset)
	if !cs.IsSet("alpha") {
		ch.Alpha = r.Alpha
	}
	if !set.retry {
		switch ch.Type {
		case CheckDNS:
			ch.Retry = DefaultDNSRetry
		case CheckMisc:
			ch.Retry = DefaultMiscRetry
		default:
			ch.Retry = DefaultRetry
		}
	}
	if !set.dbr {
		switch ch.Type {
		case CheckHTTP, CheckSSL:
			ch.DelayBeforeRetry = DefaultHTTPDelayBeforeRetry
		case CheckDNS:
			ch.DelayBeforeRetry = ch.DelayLoop
		default:
			ch.DelayBeforeRetry = DefaultDelayBeforeRetry
		}
	}
	if !set.warmup {
		ch.Warmup = ch.DelayLoop
	}
	switch {
	case ch.HTTP != nil:
		if ch.HTTP.Protocol == "" {
			ch.HTTP.Protocol = DefaultHTTPProtocol
		}
		if ch.HTTP.Virtualhost == "" {
			ch.HTTP.Virtualhost = r.Virtualhost
		}
		for i := range ch.HTTP.URLs {
			u := &ch.HTTP.URLs[i]
			if u.Digest == "" && len(u.StatusCodes) == 0 {
				u.StatusCodes = []StatusRange{{Lo: 200, Hi: 299}}
			}
		}
	case ch.DNS != nil:
		if ch.DNS.Type == "" {
			ch.DNS.Type = DefaultDNSType
		}
		if ch.DNS.Name == "" {
			ch.DNS.Name = DefaultDNSName
		}
	case ch.Misc != nil:
		if !cs.IsSet("misc_timeout") {
			ch.Misc.Timeout = ch.DelayLoop
		}
	case ch.UDP != nil:
		if !cs.IsSet("max_reply_length") {
			ch.UDP.MaxReplyLength = DefaultUDPMaxReplyLength
		}
	case ch.File != nil:
		if !cs.IsSet("weight") {
			ch.File.Weight = 1
		}
	}
}
