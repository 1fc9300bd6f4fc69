package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Family is an instance's address family, given by its virtual addresses.
type Family uint8

const (
	FamilyIPv4 Family = 4
	FamilyIPv6 Family = 6
)

// String returns "ipv4" or "ipv6".
func (f Family) String() string {
	switch f {
	case FamilyIPv4:
		return "ipv4"
	case FamilyIPv6:
		return "ipv6"
	}
	return fmt.Sprintf("Family(%d)", uint8(f))
}

// StartState is keepalived's "state MASTER|BACKUP": a hint for startup only.
type StartState uint8

const (
	// StartDefault: no "state" keyword. Normalize derives it from the
	// priority: MASTER for 255, else BACKUP.
	StartDefault StartState = iota
	StartBackup
	StartMaster
)

// String returns the keyword value.
func (s StartState) String() string {
	switch s {
	case StartDefault:
		return "default"
	case StartBackup:
		return "BACKUP"
	case StartMaster:
		return "MASTER"
	}
	return fmt.Sprintf("StartState(%d)", uint8(s))
}

// Priorities with a meaning (RFC 5798 5.2.4).
const (
	PriorityOwner   = 255 // address owner: goes MASTER at once, never changed by tracking
	PriorityDefault = 100 // keepalived's default for non-owners
	PriorityStop    = 0   // sent when the master resigns
)

// VIP is one virtual_ipaddress or virtual_ipaddress_excluded entry. Only
// Prefix travels in adverts; the rest tells the runtime how to install it
// (the options of "ip address add").
type VIP struct {
	Prefix        netip.Prefix // address and prefix length (default /32 or /128)
	Broadcast     netip.Addr   // brd
	Dev           string       // dev: interface to add it to (default: the instance's)
	Scope         string       // scope: site, link, host, nowhere, global
	Label         string       // label
	Peer          netip.Prefix // peer
	Home          bool         // home (IPv6)
	NoDAD         bool         // -nodad
	MngTmpAddr    bool         // mngtmpaddr
	NoPrefixRoute bool         // noprefixroute
	AutoJoin      bool         // autojoin
	NoTrack       bool         // no_track
}

// Auth is a VRRPv2 "authentication" block. Only PASS is implemented: AH
// (keepalived's HMAC-MD5-96 over a home-made IPsec AH header with a private
// replay counter) is rejected by Validate rather than half done.
type Auth struct {
	Type AuthType // auth_type
	Pass string   // auth_pass; only the first 8 bytes are used
}

// UnicastPeer is one unicast_peer entry.
type UnicastPeer struct {
	Addr   netip.Addr
	MinTTL uint8 // min_ttl (default 0)
	MaxTTL uint8 // max_ttl (default 255)
}

// GARP holds the gratuitous ARP / unsolicited neighbour advertisement timing
// (keepalived's garp_* keywords and their vrrp_garp_* global defaults).
type GARP struct {
	MasterDelay     time.Duration // garp_master_delay: second burst after becoming MASTER; 0 = none (default 5s)
	MasterRepeat    int           // garp_master_repeat: messages per VIP in a burst (default 5)
	LowerPrioDelay  time.Duration // garp_lower_prio_delay: second burst after a lower priority advert (default: MasterDelay)
	LowerPrioRepeat int           // garp_lower_prio_repeat (default: MasterRepeat)
	// MasterRefresh is garp_master_refresh: while MASTER, a burst of
	// MasterRefreshRepeat at the first advert at least this long after the
	// last one; 0 = off (default).
	MasterRefresh       time.Duration
	MasterRefreshRepeat int           // garp_master_refresh_repeat (default 1)
	Interval            time.Duration // garp_interval: pacing of ARP messages on an interface (default 0)
	NAInterval          time.Duration // gna_interval: pacing of NA messages on an interface (default 0)
	// ExtraIf is garp_extra_if (global vrrp_garp_extra_if): while MASTER,
	// one round over the AnnounceTargets marked ExtraIf (one address per
	// interface other than the instance's) at the first advert at least
	// this long after the last round; 0 = off (default). keepalived:
	// vrrp.c vrrp_state_master_tx and vrrp_send_vmac_update.
	ExtraIf time.Duration
}

// Config is one vrrp_instance, as pkg/vrrp needs it. The daemon translates
// pkg/config's model into it. Start from DefaultConfig, which holds
// keepalived's defaults; Normalize applies keepalived's derivations (the
// ones that depend on other fields), Validate reports what cannot run.
type Config struct {
	Name      string // vrrp_instance name
	Interface string // interface

	VRID uint8 // virtual_router_id, 1..255
	// Version is 2 or 3; 0 (no "version") becomes 3 for IPv6 and 2 for
	// IPv4. keepalived applies the global vrrp_version to IPv4 instances
	// only: the translator should copy it here for those.
	Version uint8
	// Priority is 1..255; 0 (no "priority") becomes 255 with state MASTER and
	// 100 otherwise, as keepalived 2.x derives it.
	Priority       uint8
	AdvertInterval time.Duration // advert_int (default 1s), rounded by Normalize per version
	StartState     StartState    // state
	NoPreempt      bool          // nopreempt
	PreemptDelay   time.Duration // preempt_delay, 0..1000s

	// SourceAddr is mcast_src_ip / unicast_src_ip: the source of adverts,
	// the address compared on equal priority, and part of the pseudo-header.
	// Unset: the interface's primary address (Options.LocalAddr).
	SourceAddr netip.Addr

	VIPs         []VIP // virtual_ipaddress: advertised, one family, at most 255
	ExcludedVIPs []VIP // virtual_ipaddress_excluded: installed, not advertised

	Auth Auth // authentication (v2 over IPv4 only)

	UnicastPeers []UnicastPeer // unicast_peer: send to these instead of the group
	// UnicastTTL is unicast_ttl, 0..255; -1 (default): 255 for IPv4, the
	// kernel's default hop limit for IPv6 unicast.
	UnicastTTL int
	// CheckUnicastSrc (check_unicast_src, the global vrrp_check_unicast_src,
	// or any min_ttl/max_ttl) accepts unicast adverts from UnicastPeers only.
	CheckUnicastSrc bool
	// AllowedSenders (lbd's global lbd_vrrp_allowed_senders, the prefixes
	// of the instance's family) accepts adverts only from sources in one
	// of these prefixes; empty: any. Unicast instances with
	// CheckUnicastSrc check their peers instead.
	AllowedSenders []netip.Prefix

	Accept bool // accept / no_accept (keepalived's default when not strict: accept)

	GARP GARP

	LowerPrioNoAdvert    bool // lower_prio_no_advert: as MASTER, ignore lower priority adverts (RFC behaviour)
	HigherPrioSendAdvert bool // higher_prio_send_advert: as MASTER, answer a higher priority advert before yielding
	SkipCheckAdvAddr     bool // skip_check_adv_addr: as BACKUP, skip the address checks for the current master
	DownTimerAdverts     int  // down_timer_adverts, 1..100 (default 3, the RFCs' value)

	ChecksumCompat ChecksumCompat // old_unicast_checksum
}

// DefaultConfig returns a Config holding keepalived's defaults for every
// field whose default is not its zero value: advert_int 1s, unicast_ttl
// unset (-1), accept mode on, down_timer_adverts 3, garp_master_delay 5s,
// garp_master_repeat 5, garp_lower_prio_delay 5s, garp_lower_prio_repeat 5,
// garp_master_refresh_repeat 1. Everything else is off / empty, as in
// keepalived (version, priority and state are derived by Normalize).
func DefaultConfig() Config {
	return Config{
		AdvertInterval:   time.Second,
		UnicastTTL:       -1,
		Accept:           true,
		DownTimerAdverts: 3,
		GARP: GARP{
			MasterDelay:         5 * time.Second,
			MasterRepeat:        5,
			LowerPrioDelay:      5 * time.Second,
			LowerPrioRepeat:     5,
			MasterRefreshRepeat: 1,
		},
	}
}

// Family returns the instance's address family: that of the first VIP, else
// of the first unicast peer, else of SourceAddr, else IPv4 (keepalived's
// order).
func (c *Config) Family() Family {
	switch {
	case len(c.VIPs) > 0:
		return familyOf(c.VIPs[0].Prefix.Addr())
	case len(c.UnicastPeers) > 0:
		return familyOf(c.UnicastPeers[0].Addr)
	case c.SourceAddr.IsValid():
		return familyOf(c.SourceAddr)
	}
	return FamilyIPv4
}

func familyOf(a netip.Addr) Family {
	if a.Is6() && !a.Is4In6() {
		return FamilyIPv6
	}
	return FamilyIPv4
}

// Normalize applies, in place, keepalived's derivations and corrections
// (keepalived/vrrp/vrrp.c, vrrp_complete_instance) and returns one message
// per change it made to a value the user set, worded for "lbd check":
//   - version 0: 3 for IPv6, else 2;
//   - priority 0: 255 with state MASTER, else 100; state unset: MASTER for
//     priority 255, else BACKUP;
//   - authentication with version 3, or without a password: dropped; a
//     password longer than 8 bytes: truncated;
//   - nopreempt with priority 255 or state MASTER: cleared; preempt_delay
//     with state MASTER or nopreempt: cleared;
//   - more than 255 VIPs: the excess moved to the excluded VIPs;
//   - advert_int: 0 becomes 1s; then RoundAdvertInterval for the version.
//
// Normalize is idempotent.
func (c *Config) Normalize() []string {
	var notes []string
	note := func(format string, args ...any) {
		notes = append(notes, fmt.Sprintf("vrrp_instance %s: ", c.Name)+fmt.Sprintf(format, args...))
	}
	fam := c.Family()
	if c.Version == 0 {
		c.Version = 2
		if fam == FamilyIPv6 {
			c.Version = 3
		}
	}
	if c.Priority == 0 {
		c.Priority = PriorityDefault
		if c.StartState == StartMaster {
			c.Priority = PriorityOwner
		}
	}
	if c.StartState == StartDefault {
		c.StartState = StartBackup
		if c.Priority == PriorityOwner {
			c.StartState = StartMaster
		}
	}
	if c.Auth.Type != AuthNone {
		switch {
		case c.Version == 3:
			note("VRRP version 3 does not support authentication, ignoring it")
			c.Auth = Auth{}
		case c.Auth.Pass == "":
			note("authentication specified but no password given, ignoring it")
			c.Auth = Auth{}
		case len(c.Auth.Pass) > AuthDataLen:
			note("auth_pass longer than %d characters, only the first %d are used", AuthDataLen, AuthDataLen)
			c.Auth.Pass = c.Auth.Pass[:AuthDataLen]
		}
	}
	if len(c.VIPs) > MaxAddrs {
		note("%d VIPs exceed the %d an advert can carry, the excess moved to virtual_ipaddress_excluded", len(c.VIPs), MaxAddrs)
		c.ExcludedVIPs = append(append([]VIP(nil), c.VIPs[MaxAddrs:]...), c.ExcludedVIPs...)
		c.VIPs = c.VIPs[:MaxAddrs:MaxAddrs]
	}
	if c.Priority == PriorityOwner && c.NoPreempt {
		note("nopreempt is incompatible with priority 255, clearing nopreempt")
		c.NoPreempt = false
	}
	if c.StartState == StartMaster {
		if c.NoPreempt {
			note("nopreempt will not work with initial state MASTER, clearing it")
			c.NoPreempt = false
		}
		if c.PreemptDelay != 0 {
			note("preempt_delay will not work with initial state MASTER, clearing it")
			c.PreemptDelay = 0
		}
	}
	if c.PreemptDelay != 0 && c.NoPreempt {
		note("preempt_delay is incompatible with nopreempt, clearing preempt_delay")
		c.PreemptDelay = 0
	}
	if c.AdvertInterval == 0 {
		c.AdvertInterval = time.Second
	}
	if c.Version == 2 || c.Version == 3 {
		if r := RoundAdvertInterval(c.Version, c.AdvertInterval); r != c.AdvertInterval && c.AdvertInterval > 0 {
			note("VRRPv%d advert_int %v rounded to %v", c.Version, c.AdvertInterval, r)
			c.AdvertInterval = r
		}
	}
	return notes
}

// RoundAdvertInterval rounds d as keepalived does for the version: v2 to
// whole seconds, half up (0.5s becomes 1s, 1.5s 2s), at least 1s, at most
// 255s; v3 to centiseconds, half up, at least 10ms, at most 40.95s. d <= 0 is
// returned unchanged (Validate rejects it).
func RoundAdvertInterval(version uint8, d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	unit, limit := time.Second, MaxIntervalV2
	if version == 3 {
		unit, limit = centisecond, MaxIntervalV3
	}
	if d > limit {
		return limit
	}
	if d%unit != 0 {
		d += unit / 2
		d -= d % unit
	}
	return max(d, unit)
}

// ConfigError is one problem Validate found. Keyword is keepalived's keyword
// for the offending setting, so that the translator can point at its
// file:line.
type ConfigError struct {
	Instance string
	Keyword  string
	Msg      string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("vrrp_instance %s: %s: %s", e.Instance, e.Keyword, e.Msg)
}

// Validate reports every problem that prevents c, once normalized, from
// running, as errors.Join of *ConfigError. c itself is not modified.
func (c Config) Validate() error {
	cc := c
	cc.VIPs = append([]VIP(nil), c.VIPs...)
	cc.Normalize()
	return cc.validateNormalized()
}

func (c *Config) validateNormalized() error {
	var errs []error
	bad := func(kw, format string, args ...any) {
		errs = append(errs, &ConfigError{Instance: c.Name, Keyword: kw, Msg: fmt.Sprintf(format, args...)})
	}
	fam := c.Family()
	if c.Name == "" {
		bad("vrrp_instance", "name is empty")
	}
	if c.VRID == 0 {
		bad("virtual_router_id", "must be set, 1..255")
	}
	if c.Version != 2 && c.Version != 3 {
		bad("version", "%d is not 2 or 3", c.Version)
	}
	if c.Interface == "" && (len(c.UnicastPeers) == 0 || !c.SourceAddr.IsValid()) {
		bad("interface", "missing (only unicast instances with unicast_src_ip may omit it)")
	}
	if c.Interface == "" && fam == FamilyIPv6 && c.SourceAddr.IsLinkLocalUnicast() {
		bad("unicast_src_ip", "a link-local source needs an interface")
	}
	if len(c.VIPs) == 0 && c.Version == 3 {
		bad("virtual_ipaddress", "no VIP specified; VRRPv3 requires at least one")
	}
	for _, v := range c.VIPs {
		if !v.Prefix.IsValid() {
			bad("virtual_ipaddress", "invalid address")
			continue
		}
		if familyOf(v.Prefix.Addr()) != fam {
			bad("virtual_ipaddress", "%v is not %v like the first VIP (use virtual_ipaddress_excluded to mix families)", v.Prefix, fam)
		}
	}
	for _, v := range c.ExcludedVIPs {
		if !v.Prefix.IsValid() {
			bad("virtual_ipaddress_excluded", "invalid address")
		}
	}
	if c.SourceAddr.IsValid() && familyOf(c.SourceAddr) != fam {
		bad("unicast_src_ip", "%v is not %v like the VIPs", c.SourceAddr, fam)
	}
	for _, p := range c.AllowedSenders {
		if !p.IsValid() || familyOf(p.Addr()) != fam {
			bad("lbd_vrrp_allowed_senders", "%v is not a %v prefix like the VIPs", p, fam)
		}
	}
	for _, p := range c.UnicastPeers {
		if !p.Addr.IsValid() || familyOf(p.Addr) != fam {
			bad("unicast_peer", "%v is not %v like the VIPs", p.Addr, fam)
		}
		if p.MinTTL > p.MaxTTL {
			bad("unicast_peer", "%v: min_ttl %d above max_ttl %d", p.Addr, p.MinTTL, p.MaxTTL)
		}
	}
	if c.UnicastTTL < -1 || c.UnicastTTL > 255 {
		bad("unicast_ttl", "%d not in 0..255", c.UnicastTTL)
	}
	switch c.Auth.Type {
	case AuthNone:
	case AuthPass:
		if fam == FamilyIPv6 {
			bad("auth_type", "PASS needs VRRPv2 over IPv4 (a v2 IPv6 advert has no authentication data)")
		}
	case AuthAH:
		bad("auth_type", "AH (IPsec AH HMAC-MD5-96, RFC 2338) is not supported by lbd; use PASS or no authentication")
	default:
		bad("auth_type", "unknown type %d", c.Auth.Type)
	}
	if c.AdvertInterval <= 0 {
		bad("advert_int", "%v must be positive", c.AdvertInterval)
	}
	if c.PreemptDelay < 0 || c.PreemptDelay > 1000*time.Second {
		bad("preempt_delay", "%v not in 0..1000s", c.PreemptDelay)
	}
	if c.DownTimerAdverts < 1 || c.DownTimerAdverts > 100 {
		bad("down_timer_adverts", "%d not in 1..100", c.DownTimerAdverts)
	}
	g := c.GARP
	if g.MasterDelay < 0 || g.LowerPrioDelay < 0 || g.MasterRefresh < 0 || g.ExtraIf < 0 || g.Interval < 0 || g.NAInterval < 0 {
		bad("garp_master_delay", "GARP delays and intervals must not be negative")
	}
	if g.MasterRepeat < 0 || g.LowerPrioRepeat < 0 || g.MasterRefreshRepeat < 0 {
		bad("garp_master_repeat", "GARP repeats must not be negative")
	}
	if c.ChecksumCompat > ChecksumLegacy {
		bad("old_unicast_checksum", "unknown mode %d", c.ChecksumCompat)
	}
	return errors.Join(errs...)
}

// rxConfig returns the receive-side view of a normalized config; local is
// the source address the instance sends from.
func (c *Config) rxConfig(local netip.Addr) RxConfig {
	rc := RxConfig{
		Version:         c.Version,
		VRID:            c.VRID,
		Family:          c.Family(),
		AuthType:        c.Auth.Type,
		Interval:        c.AdvertInterval,
		UnicastPeers:    c.UnicastPeers,
		CheckUnicastSrc: c.CheckUnicastSrc,
		AllowedSenders:  c.AllowedSenders,
		LocalAddr:       local,
		ChecksumCompat:  c.ChecksumCompat,
	}
	copy(rc.AuthData[:], c.Auth.Pass)
	rc.VIPs = make([]netip.Addr, len(c.VIPs))
	for i, v := range c.VIPs {
		rc.VIPs[i] = v.Prefix.Addr()
	}
	return rc
}
