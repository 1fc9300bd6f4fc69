package config

import (
	"fmt"
	"net/netip"
	"time"
)

// Config is a keepalived configuration, typed, with keepalived's defaults
// applied. Every element keeps the position it was written at.
type Config struct {
	Global              GlobalDefs           `json:"global_defs"`
	LinkbeatInterfaces  []LinkbeatInterface  `json:"linkbeat_interfaces,omitempty"`
	InterfaceDelays     []InterfaceDelay     `json:"interface_up_down_delays,omitempty"`
	TrackGroups         []TrackGroup         `json:"track_groups,omitempty"`
	StaticAddresses     []IPAddress          `json:"static_ipaddress,omitempty"`
	StaticRoutes        []Route              `json:"static_routes,omitempty"`
	StaticRules         []Rule               `json:"static_rules,omitempty"`
	BFDInstances        []BFDInstance        `json:"bfd_instances,omitempty"`
	Scripts             []VRRPScript         `json:"vrrp_scripts,omitempty"`
	TrackProcesses      []TrackProcess       `json:"vrrp_track_processes,omitempty"`
	TrackFiles          []TrackFile          `json:"track_files,omitempty"`
	GARPGroups          []GARPGroup          `json:"garp_groups,omitempty"`
	SyncGroups          []SyncGroup          `json:"vrrp_sync_groups,omitempty"`
	Instances           []VRRPInstance       `json:"vrrp_instances,omitempty"`
	SSL                 *SSLConfig           `json:"ssl,omitempty"`
	VirtualServerGroups []VirtualServerGroup `json:"virtual_server_groups,omitempty"`
	VirtualServers      []VirtualServer      `json:"virtual_servers,omitempty"`

	// Files are the files read, in the order they were opened.
	Files []string `json:"files"`
	// Keywords records every keyword used, as "block.keyword" paths (e.g.
	// "vrrp_instance.use_vmac"), in reading order. Unimplemented keys
	// against it.
	Keywords []KeywordUse `json:"-"`
}

// KeywordUse is one use of a keyword, by block path.
type KeywordUse struct {
	Pos Pos
	Key string
}

// setFields records which keywords an element was given, so that defaults
// and inheritance fill only what was not written.
type setFields struct{ set map[string]bool }

func (s *setFields) markSet(kw string) {
	if s.set == nil {
		s.set = map[string]bool{}
	}
	s.set[kw] = true
}

// IsSet reports whether the keyword was written for this element.
func (s *setFields) IsSet(keyword string) bool { return s.set[keyword] }

// Script is a program keepalived runs: notify scripts, vrrp_script,
// MISC_CHECK, quorum_up/down, startup/shutdown scripts.
type Script struct {
	// Cmd is the command as written (outer double quotes removed).
	Cmd string `json:"cmd"`
	// Args is Cmd split into argv the way keepalived does (quotes, escapes).
	Args  []string `json:"args,omitempty"`
	User  string   `json:"user,omitempty"`
	Group string   `json:"group,omitempty"`
}

// FIFO is a notify FIFO (notify_fifo, vrrp_notify_fifo, lvs_notify_fifo).
type FIFO struct {
	Name  string `json:"name"`
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"`
}

// GlobalDefs is global_defs, plus the top-level process keywords
// (net_namespace, instance, ...) that keepalived also accepts there.
type GlobalDefs struct {
	setFields
	Pos Pos `json:"pos,omitzero"`

	// Process and namespaces.
	NetNamespace          string        `json:"net_namespace,omitempty"`
	NetNamespaceIPVS      string        `json:"net_namespace_ipvs,omitempty"`
	NamespaceWithIPSets   bool          `json:"namespace_with_ipsets,omitempty"`
	Instance              string        `json:"instance,omitempty"`
	UsePIDDir             bool          `json:"use_pid_dir,omitempty"`
	LinkbeatUsePolling    bool          `json:"linkbeat_use_polling,omitempty"`
	ChildWaitTime         time.Duration `json:"child_wait_time"`
	TmpConfigDirectory    string        `json:"tmp_config_directory,omitempty"`
	ConfigSaveDir         string        `json:"config_save_dir,omitempty"`
	ProcessNames          bool          `json:"process_names,omitempty"`
	ProcessName           string        `json:"process_name,omitempty"`
	VRRPProcessName       string        `json:"vrrp_process_name,omitempty"`
	CheckerProcessName    string        `json:"checker_process_name,omitempty"`
	BFDProcessName        string        `json:"bfd_process_name,omitempty"`
	StartupScript         *Script       `json:"startup_script,omitempty"`
	StartupScriptTimeout  time.Duration `json:"startup_script_timeout"`
	ShutdownScript        *Script       `json:"shutdown_script,omitempty"`
	ShutdownScriptTimeout time.Duration `json:"shutdown_script_timeout"`

	// Email.
	NotificationEmail     []string      `json:"notification_email,omitempty"`
	NotificationEmailFrom string        `json:"notification_email_from,omitempty"`
	SMTPServer            string        `json:"smtp_server,omitempty"` // address or host name
	SMTPServerPort        uint16        `json:"smtp_server_port"`
	SMTPHeloName          string        `json:"smtp_helo_name,omitempty"`
	SMTPConnectTimeout    time.Duration `json:"smtp_connect_timeout"`
	SMTPAlert             bool          `json:"smtp_alert,omitempty"`
	SMTPAlertVRRP         bool          `json:"smtp_alert_vrrp,omitempty"`
	SMTPAlertChecker      bool          `json:"smtp_alert_checker,omitempty"`
	CheckerLogAllFailures bool          `json:"checker_log_all_failures,omitempty"`
	NoEmailFaults         bool          `json:"no_email_faults,omitempty"`
	NoCheckerEmails       bool          `json:"no_checker_emails,omitempty"`
	RouterID              string        `json:"router_id,omitempty"`

	// VRRP.
	VRRPMcastGroup4                 netip.Addr    `json:"vrrp_mcast_group4"`
	VRRPMcastGroup6                 netip.Addr    `json:"vrrp_mcast_group6"`
	DefaultInterface                string        `json:"default_interface"`
	VRRPVersion                     int           `json:"vrrp_version"`
	VRRPGARPMasterDelay             time.Duration `json:"vrrp_garp_master_delay"`
	VRRPGARPMasterRepeat            int           `json:"vrrp_garp_master_repeat"`
	VRRPGARPLowerPrioDelay          time.Duration `json:"vrrp_garp_lower_prio_delay"`
	VRRPGARPLowerPrioRepeat         int           `json:"vrrp_garp_lower_prio_repeat"`
	VRRPGARPMasterRefresh           time.Duration `json:"vrrp_garp_master_refresh"`
	VRRPGARPMasterRefreshRepeat     int           `json:"vrrp_garp_master_refresh_repeat"`
	VRRPGARPInterval                time.Duration `json:"vrrp_garp_interval"`
	VRRPGNAInterval                 time.Duration `json:"vrrp_gna_interval"`
	VRRPMinGARP                     bool          `json:"vrrp_min_garp,omitempty"`
	VRRPGARPExtraIf                 GARPExtraIf   `json:"vrrp_garp_extra_if,omitzero"`
	VRRPDownTimerAdverts            int           `json:"vrrp_down_timer_adverts"`
	VRRPLowerPrioNoAdvert           bool          `json:"vrrp_lower_prio_no_advert,omitempty"`
	VRRPHigherPrioSendAdvert        bool          `json:"vrrp_higher_prio_send_advert,omitempty"`
	VRRPCheckUnicastSrc             bool          `json:"vrrp_check_unicast_src,omitempty"`
	VRRPSkipCheckAdvAddr            bool          `json:"vrrp_skip_check_adv_addr,omitempty"`
	VRRPStrict                      bool          `json:"vrrp_strict,omitempty"`
	VRRPNotifyPriorityChanges       bool          `json:"vrrp_notify_priority_changes,omitempty"`
	VRRPStartupDelay                time.Duration `json:"vrrp_startup_delay,omitempty"`
	LogUnknownVRIDs                 bool          `json:"log_unknown_vrids,omitempty"`
	VMACPrefix                      string        `json:"vmac_prefix"`
	VMACAddrPrefix                  string        `json:"vmac_addr_prefix"`
	VRRPRxBufsPolicy                string        `json:"vrrp_rx_bufs_policy,omitempty"` // MTU, ADVERT or a size
	VRRPRxBufsMultiplier            int           `json:"vrrp_rx_bufs_multiplier"`
	DynamicInterfaces               bool          `json:"dynamic_interfaces,omitempty"`
	DynamicInterfacesAllowIfChanges bool          `json:"dynamic_interfaces_allow_if_changes,omitempty"`
	FIFOWriteVRRPStatesOnReload     bool          `json:"fifo_write_vrrp_states_on_reload,omitempty"`
	// LBDVRRPAllowedSenders is lbd's lbd_vrrp_allowed_senders (no
	// keepalived equivalent): adverts from sources outside these prefixes
	// are rejected (sender_not_allowed), per family (a family without a
	// prefix is not restricted); unicast instances with check_unicast_src
	// check their peers instead.
	LBDVRRPAllowedSenders []netip.Prefix `json:"lbd_vrrp_allowed_senders,omitempty"`

	// Firewall.
	NFTables                string   `json:"nftables,omitempty"` // table name; set when nftables is used
	NFTablesPriority        int      `json:"nftables_priority"`
	NFTablesCounters        bool     `json:"nftables_counters,omitempty"`
	NFTablesIfIndex         bool     `json:"nftables_ifindex,omitempty"`
	NFTablesIPVS            string   `json:"nftables_ipvs,omitempty"`
	NFTablesIPVSPriority    int      `json:"nftables_ipvs_priority"`
	NFTablesIPVSStartFWMark uint32   `json:"nftables_ipvs_start_fwmark"`
	VRRPIPTables            bool     `json:"vrrp_iptables,omitempty"`
	VRRPIPTablesChains      []string `json:"vrrp_iptables_chains,omitempty"` // in [out]
	VRRPIPSets              []string `json:"vrrp_ipsets,omitempty"`
	DisableLocalIGMP        bool     `json:"disable_local_igmp,omitempty"`

	// LVS.
	LVSSyncDaemon    *LVSSyncDaemon `json:"lvs_sync_daemon,omitempty"`
	LVSTimeouts      LVSTimeouts    `json:"lvs_timeouts,omitzero"`
	LVSFlush         bool           `json:"lvs_flush,omitempty"`
	LVSFlushOnStop   bool           `json:"lvs_flush_on_stop,omitempty"`
	LVSFlushOnStopVS bool           `json:"lvs_flush_on_stop_vs,omitempty"`
	RSInitNotifies   bool           `json:"rs_init_notifies,omitempty"`

	// Scheduling of keepalived's processes.
	MaxAutoPriority      int           `json:"max_auto_priority,omitempty"`
	MinAutoPriorityDelay time.Duration `json:"min_auto_priority_delay"`
	VRRPPriority         int           `json:"vrrp_priority,omitempty"`
	CheckerPriority      int           `json:"checker_priority,omitempty"`
	BFDPriority          int           `json:"bfd_priority,omitempty"`
	VRRPNoSwap           bool          `json:"vrrp_no_swap,omitempty"`
	CheckerNoSwap        bool          `json:"checker_no_swap,omitempty"`
	BFDNoSwap            bool          `json:"bfd_no_swap,omitempty"`
	VRRPCPUAffinity      []int         `json:"vrrp_cpu_affinity,omitempty"`
	CheckerCPUAffinity   []int         `json:"checker_cpu_affinity,omitempty"`
	BFDCPUAffinity       []int         `json:"bfd_cpu_affinity,omitempty"`
	VRRPRTPriority       int           `json:"vrrp_rt_priority,omitempty"`
	CheckerRTPriority    int           `json:"checker_rt_priority,omitempty"`
	BFDRTPriority        int           `json:"bfd_rt_priority,omitempty"`
	VRRPRlimitRTTime     time.Duration `json:"vrrp_rlimit_rttime"`
	CheckerRlimitRTTime  time.Duration `json:"checker_rlimit_rttime"`
	BFDRlimitRTTime      time.Duration `json:"bfd_rlimit_rttime"`

	// Netlink buffers.
	VRRPNetlinkCmdRcvBufs          int  `json:"vrrp_netlink_cmd_rcv_bufs,omitempty"`
	VRRPNetlinkCmdRcvBufsForce     bool `json:"vrrp_netlink_cmd_rcv_bufs_force,omitempty"`
	VRRPNetlinkMonitorRcvBufs      int  `json:"vrrp_netlink_monitor_rcv_bufs,omitempty"`
	VRRPNetlinkMonitorRcvBufsForce bool `json:"vrrp_netlink_monitor_rcv_bufs_force,omitempty"`
	LVSNetlinkCmdRcvBufs           int  `json:"lvs_netlink_cmd_rcv_bufs,omitempty"`
	LVSNetlinkCmdRcvBufsForce      bool `json:"lvs_netlink_cmd_rcv_bufs_force,omitempty"`
	LVSNetlinkMonitorRcvBufs       int  `json:"lvs_netlink_monitor_rcv_bufs,omitempty"`
	LVSNetlinkMonitorRcvBufsForce  bool `json:"lvs_netlink_monitor_rcv_bufs_force,omitempty"`
	ProcessMonitorRcvBufs          int  `json:"process_monitor_rcv_bufs,omitempty"`
	ProcessMonitorRcvBufsForce     bool `json:"process_monitor_rcv_bufs_force,omitempty"`

	// SNMP and DBus.
	SNMPSocket        string `json:"snmp_socket,omitempty"`
	EnableSNMPVRRP    bool   `json:"enable_snmp_vrrp,omitempty"`
	EnableSNMPChecker bool   `json:"enable_snmp_checker,omitempty"`
	EnableSNMPRFC     bool   `json:"enable_snmp_rfc,omitempty"`
	EnableSNMPRFCv2   bool   `json:"enable_snmp_rfcv2,omitempty"`
	EnableSNMPRFCv3   bool   `json:"enable_snmp_rfcv3,omitempty"`
	EnableTraps       bool   `json:"enable_traps,omitempty"`
	EnableDBus        bool   `json:"enable_dbus,omitempty"`
	DBusServiceName   string `json:"dbus_service_name,omitempty"`

	// Scripts and notify FIFOs.
	ScriptUser           string  `json:"script_user,omitempty"`
	ScriptGroup          string  `json:"script_group,omitempty"`
	EnableScriptSecurity bool    `json:"enable_script_security,omitempty"`
	NotifyFIFO           *FIFO   `json:"notify_fifo,omitempty"`
	NotifyFIFOScript     *Script `json:"notify_fifo_script,omitempty"`
	VRRPNotifyFIFO       *FIFO   `json:"vrrp_notify_fifo,omitempty"`
	VRRPNotifyFIFOScript *Script `json:"vrrp_notify_fifo_script,omitempty"`
	LVSNotifyFIFO        *FIFO   `json:"lvs_notify_fifo,omitempty"`
	LVSNotifyFIFOScript  *Script `json:"lvs_notify_fifo_script,omitempty"`

	// Files, reloads, misc.
	Umask                OctalMode `json:"umask"`
	RandomSeed           uint32    `json:"random_seed,omitempty"`
	ReloadCheckConfig    bool      `json:"reload_check_config,omitempty"`
	ReloadCheckConfigLog string    `json:"reload_check_config_log,omitempty"`
	IncludeCheck         []string  `json:"include_check,omitempty"`
	ReloadTimeFile       string    `json:"reload_time_file,omitempty"`
	ReloadRepeat         bool      `json:"reload_repeat,omitempty"`
	ReloadFile           string    `json:"reload_file,omitempty"`
	DataUseInstance      bool      `json:"data_use_instance,omitempty"`
}

// GARPExtraIf is garp_extra_if / vrrp_garp_extra_if.
type GARPExtraIf struct {
	Interval time.Duration `json:"interval"`
	All      bool          `json:"all,omitempty"`
}

// LVSSyncDaemon is global lvs_sync_daemon.
type LVSSyncDaemon struct {
	Pos       Pos        `json:"pos"`
	Interface string     `json:"interface"`
	Instance  string     `json:"instance,omitempty"`
	SyncID    int        `json:"id"` // -1: the VRID of Instance, or 0
	MaxLen    int        `json:"maxlen,omitempty"`
	Port      uint16     `json:"port,omitempty"`
	TTL       int        `json:"ttl,omitempty"`
	Group     netip.Addr `json:"group,omitzero"`
}

// LVSTimeouts is lvs_timeouts; zero leaves a timeout unchanged.
type LVSTimeouts struct {
	TCP    time.Duration `json:"tcp,omitempty"`
	TCPFin time.Duration `json:"tcpfin,omitempty"`
	UDP    time.Duration `json:"udp,omitempty"`
}

// LinkbeatInterface is an entry of linkbeat_interfaces.
type LinkbeatInterface struct {
	Pos  Pos    `json:"pos"`
	Name string `json:"name"`
	Type string `json:"type,omitempty"` // MII, ETHTOOL or IOCTL
}

// InterfaceDelay is an entry of interface_up_down_delays.
type InterfaceDelay struct {
	Pos  Pos           `json:"pos"`
	Name string        `json:"name"`
	Down time.Duration `json:"down"`
	Up   time.Duration `json:"up"`
}

// TrackGroup is a track_group: static addresses, routes and rules that
// name it make its VRRP instances track them.
type TrackGroup struct {
	Pos     Pos      `json:"pos"`
	Name    string   `json:"name"`
	Members []string `json:"group"`
}

// IPAddress is an entry of static_ipaddress, virtual_ipaddress or
// virtual_ipaddress_excluded: "<addr>[/<len>] [brd <addr>|+|-] [dev <if>]
// [use_vmac] [scope <s>] [label <l>] [peer <addr>[/<len>]] [home] [-nodad]
// [mngtmpaddr] [noprefixroute] [autojoin] [no_track] [track_group <g>]
// [preferred_lft <n>|forever]".
type IPAddress struct {
	Pos Pos `json:"pos"`
	// Prefix is the address with its prefix length (host bits kept); the
	// length defaults to 32 (IPv4) or 128 (IPv6).
	Prefix netip.Prefix `json:"addr"`
	// Broadcast is brd ADDR; BroadcastMode is "+" (set host bits) or "-"
	// (clear them) when brd was given that way.
	Broadcast     netip.Addr   `json:"brd,omitzero"`
	BroadcastMode string       `json:"brd_mode,omitempty"`
	Dev           string       `json:"dev,omitempty"`
	UseVMAC       bool         `json:"use_vmac,omitempty"`
	Scope         string       `json:"scope,omitempty"`
	Label         string       `json:"label,omitempty"`
	Peer          netip.Prefix `json:"peer,omitzero"`
	Home          bool         `json:"home,omitempty"`
	NoDAD         bool         `json:"nodad,omitempty"`
	MngTmpAddr    bool         `json:"mngtmpaddr,omitempty"`
	NoPrefixRoute bool         `json:"noprefixroute,omitempty"`
	AutoJoin      bool         `json:"autojoin,omitempty"`
	NoTrack       bool         `json:"no_track,omitempty"`
	TrackGroup    string       `json:"track_group,omitempty"`
	// PreferredLft is preferred_lft in seconds; 0xffffffff is "forever".
	PreferredLft *uint32 `json:"preferred_lft,omitempty"`
}

// Addr is the address without its prefix length.
func (a IPAddress) Addr() netip.Addr { return a.Prefix.Addr() }

// Family is the address family.
func (a IPAddress) Family() Family { return familyOf(a.Prefix.Addr()) }

// Nexthop is one "nexthop via ADDR dev IF weight N onlink" of a route.
type Nexthop struct {
	Via    netip.Addr `json:"via,omitzero"`
	Dev    string     `json:"dev,omitempty"`
	Weight int        `json:"weight,omitempty"`
	Onlink bool       `json:"onlink,omitempty"`
	Realms string     `json:"realms,omitempty"`
}

// Route is an entry of static_routes or virtual_routes, in `ip route add`
// syntax ("[src ADDR] [to] [TYPE] PREFIX [via|gw ADDR [or ADDR]] [dev IF]
// [table T] [metric N] ... [nexthop ...] [no_track] [track_group G]").
type Route struct {
	Pos    Pos    `json:"pos"`
	Family Family `json:"family"`
	// Type is the route type: unicast (default), blackhole, unreachable,
	// prohibit, throw, local, broadcast, anycast, multicast, nat.
	Type     string       `json:"type"`
	Dst      netip.Prefix `json:"to"`
	Src      netip.Addr   `json:"src,omitzero"`  // preferred source
	From     netip.Prefix `json:"from,omitzero"` // IPv6 source prefix
	Via      netip.Addr   `json:"via,omitzero"`
	Dev      string       `json:"dev,omitempty"`
	Onlink   bool         `json:"onlink,omitempty"`
	Scope    string       `json:"scope,omitempty"`
	Table    string       `json:"table,omitempty"`
	Metric   *uint32      `json:"metric,omitempty"`
	Protocol string       `json:"protocol,omitempty"`
	TOS      string       `json:"tos,omitempty"`
	Realms   string       `json:"realms,omitempty"`
	Pref     string       `json:"pref,omitempty"`
	VRF      string       `json:"vrf,omitempty"`
	Nexthops []Nexthop    `json:"nexthops,omitempty"`
	// Metrics holds the route metrics as written: mtu, hoplimit, advmss,
	// rtt, rttvar, reordering, window, cwnd, ssthresh, rto_min, initcwnd,
	// initrwnd, features, congctl, quickack, fastopen_no_cookie; a locked
	// metric's value starts with "lock ".
	Metrics    map[string]string `json:"metrics,omitempty"`
	Encap      []string          `json:"encap,omitempty"`
	NoTrack    bool              `json:"no_track,omitempty"`
	TrackGroup string            `json:"track_group,omitempty"`
	Append     bool              `json:"append,omitempty"`
}

// Rule is an entry of static_rules or virtual_rules, in `ip rule add`
// syntax.
type Rule struct {
	Pos    Pos    `json:"pos"`
	Family Family `json:"family"`
	Not    bool   `json:"not,omitempty"`
	// From and To are the selectors; FromAll / ToAll are "all".
	From    netip.Prefix `json:"from,omitzero"`
	FromAll bool         `json:"from_all,omitempty"`
	To      netip.Prefix `json:"to,omitzero"`
	ToAll   bool         `json:"to_all,omitempty"`
	// Priority is preference / priority / order.
	Priority *uint32 `json:"preference,omitempty"`
	TOS      string  `json:"tos,omitempty"`
	FWMark   *uint32 `json:"fwmark,omitempty"`
	FWMask   *uint32 `json:"fwmask,omitempty"`
	IIf      string  `json:"iif,omitempty"`
	OIf      string  `json:"oif,omitempty"`
	// Action is table (with Table), goto (with Goto), nop, blackhole,
	// unreachable or prohibit.
	Action            string `json:"action"`
	Table             string `json:"table,omitempty"`
	Goto              uint32 `json:"goto,omitempty"`
	Realms            string `json:"realms,omitempty"`
	SuppressPrefixLen *int   `json:"suppress_prefixlength,omitempty"`
	SuppressIfGroup   string `json:"suppress_ifgroup,omitempty"`
	UIDRange          string `json:"uidrange,omitempty"`
	L3MDev            bool   `json:"l3mdev,omitempty"`
	Protocol          string `json:"protocol,omitempty"`
	IPProto           string `json:"ip_proto,omitempty"`
	SPort             string `json:"sport,omitempty"`
	DPort             string `json:"dport,omitempty"`
	TunID             string `json:"tun_id,omitempty"`
	NoTrack           bool   `json:"no_track,omitempty"`
	TrackGroup        string `json:"track_group,omitempty"`
}

// VRRPScript is a vrrp_script.
type VRRPScript struct {
	setFields
	Pos      Pos           `json:"pos"`
	Name     string        `json:"name"`
	Script   *Script       `json:"script,omitempty"`
	Interval time.Duration `json:"interval"`
	Timeout  time.Duration `json:"timeout"`
	Weight   int           `json:"weight"`
	Reverse  bool          `json:"reverse,omitempty"`
	Rise     int           `json:"rise"`
	Fall     int           `json:"fall"`
	User     string        `json:"user,omitempty"`
	Group    string        `json:"group,omitempty"`
	InitFail bool          `json:"init_fail,omitempty"`
}

// TrackProcess is a vrrp_track_process.
type TrackProcess struct {
	setFields
	Pos            Pos           `json:"pos"`
	Name           string        `json:"name"`
	Process        string        `json:"process"`
	Params         []string      `json:"params,omitempty"`
	ParamMatch     string        `json:"param_match,omitempty"` // "", "initial" or "partial"
	Weight         int           `json:"weight"`
	Reverse        bool          `json:"reverse,omitempty"`
	Quorum         int           `json:"quorum"`
	QuorumMax      int           `json:"quorum_max,omitempty"` // 0: no maximum unless IsSet("quorum_max")
	ForkDelay      time.Duration `json:"fork_delay,omitempty"`
	TerminateDelay time.Duration `json:"terminate_delay,omitempty"`
	FullCommand    bool          `json:"full_command,omitempty"`
}

// TrackFile is a track_file (vrrp_track_file is a deprecated synonym).
type TrackFile struct {
	setFields
	Pos       Pos    `json:"pos"`
	Name      string `json:"name"`
	File      string `json:"file"`
	Weight    int    `json:"weight"`
	Reverse   bool   `json:"reverse,omitempty"`
	InitFile  bool   `json:"init_file,omitempty"`
	InitValue int    `json:"init_value,omitempty"`
	Overwrite bool   `json:"overwrite,omitempty"`
}

// BFDInstance is a bfd_instance.
type BFDInstance struct {
	setFields
	Pos         Pos           `json:"pos"`
	Name        string        `json:"name"`
	NeighborIP  netip.Addr    `json:"neighbor_ip"`
	SourceIP    netip.Addr    `json:"source_ip,omitzero"`
	MinRx       time.Duration `json:"min_rx"`
	MinTx       time.Duration `json:"min_tx"`
	IdleTx      time.Duration `json:"idle_tx"`
	Multiplier  int           `json:"multiplier"`
	Passive     bool          `json:"passive,omitempty"`
	TTL         int           `json:"ttl"`
	HopLimit    int           `json:"hoplimit"`
	MaxHops     int           `json:"max_hops"`
	Weight      int           `json:"weight,omitempty"`
	Reverse     bool          `json:"reverse,omitempty"`
	VRRPOnly    bool          `json:"vrrp,omitempty"`
	CheckerOnly bool          `json:"checker,omitempty"`
}

// GARPGroup is a garp_group.
type GARPGroup struct {
	Pos          Pos           `json:"pos"`
	GARPInterval time.Duration `json:"garp_interval,omitempty"`
	GNAInterval  time.Duration `json:"gna_interval,omitempty"`
	Interface    string        `json:"interface,omitempty"`
	Interfaces   []string      `json:"interfaces,omitempty"`
}

// TrackInterface is an entry of track_interface: "IF [weight N [reverse]]".
type TrackInterface struct {
	Pos     Pos    `json:"pos"`
	Name    string `json:"name"`
	Weight  int    `json:"weight,omitempty"`
	Reverse bool   `json:"reverse,omitempty"`
}

// TrackRef is an entry of track_script, track_file, track_process or
// track_bfd: "NAME [weight N] [reverse|noreverse]". When no weight is
// written the tracked object's own weight applies (WeightSet false).
type TrackRef struct {
	Pos       Pos    `json:"pos"`
	Name      string `json:"name"`
	Weight    int    `json:"weight"`
	WeightSet bool   `json:"weight_set,omitempty"`
	Reverse   bool   `json:"reverse,omitempty"`
}

// Notify holds the notify scripts of a VRRP instance or sync group.
type Notify struct {
	Master           *Script `json:"notify_master,omitempty"`
	Backup           *Script `json:"notify_backup,omitempty"`
	Fault            *Script `json:"notify_fault,omitempty"`
	Stop             *Script `json:"notify_stop,omitempty"`
	Deleted          *Script `json:"notify_deleted,omitempty"`
	MasterRxLowerPri *Script `json:"notify_master_rx_lower_pri,omitempty"`
	// Any is "notify": run after every transition with
	// INSTANCE|GROUP, name, state and priority appended.
	Any *Script `json:"notify,omitempty"`
	// SendDeleted is notify_deleted, with or without a script.
	SendDeleted bool `json:"send_deleted,omitempty"`
}

// SyncGroup is a vrrp_sync_group.
type SyncGroup struct {
	setFields
	Pos                     Pos              `json:"pos"`
	Name                    string           `json:"name"`
	Members                 []string         `json:"group"`
	TrackInterfaces         []TrackInterface `json:"track_interface,omitempty"`
	TrackScripts            []TrackRef       `json:"track_script,omitempty"`
	TrackFiles              []TrackRef       `json:"track_file,omitempty"`
	TrackProcesses          []TrackRef       `json:"track_process,omitempty"`
	TrackBFDs               []TrackRef       `json:"track_bfd,omitempty"`
	Notify                  Notify           `json:"notify,omitzero"`
	NotifyPriorityChanges   bool             `json:"notify_priority_changes,omitempty"`
	SMTPAlert               bool             `json:"smtp_alert,omitempty"`
	GlobalTracking          bool             `json:"global_tracking,omitempty"`
	SyncGroupTrackingWeight bool             `json:"sync_group_tracking_weight,omitempty"`
}

// Authentication is a VRRPv2 authentication block.
type Authentication struct {
	Pos  Pos      `json:"pos"`
	Type AuthType `json:"auth_type"`
	// Pass is auth_pass, truncated to 8 characters as keepalived does.
	Pass string `json:"auth_pass,omitempty"`
}

// UnicastPeer is an entry of unicast_peer: "ADDR [min_ttl N] [max_ttl N]".
type UnicastPeer struct {
	Pos    Pos        `json:"pos"`
	Addr   netip.Addr `json:"addr"`
	MinTTL int        `json:"min_ttl,omitempty"`
	MaxTTL int        `json:"max_ttl,omitempty"` // 0: not set (255 is the ceiling)
}

// VRRPInstance is a vrrp_instance.
type VRRPInstance struct {
	setFields
	Pos  Pos    `json:"pos"`
	Name string `json:"name"`
	// State is the initial state hint (MASTER or BACKUP).
	State     State  `json:"state"`
	Interface string `json:"interface,omitempty"`
	VRF       string `json:"vrf,omitempty"`
	// Family is the instance's address family, from its first VIP (else
	// its unicast addresses); IPv4 when nothing tells.
	Family Family `json:"family"`
	// VRID is virtual_router_id.
	VRID     int `json:"virtual_router_id"`
	Priority int `json:"priority"`
	// AdvertInt is advert_int exactly as configured (VRRPv2 sends whole
	// seconds and VRRPv3 centiseconds: see AdvertIntervalOnWire).
	AdvertInt time.Duration `json:"advert_int"`
	// Version is the VRRP version: the instance's version, else global
	// vrrp_version; IPv6 instances always run version 3.
	Version      int           `json:"version"`
	Preempt      bool          `json:"preempt"`
	PreemptDelay time.Duration `json:"preempt_delay,omitempty"`
	Accept       bool          `json:"accept"`

	McastSrcIP              netip.Addr    `json:"mcast_src_ip,omitzero"`
	UnicastSrcIP            netip.Addr    `json:"unicast_src_ip,omitzero"`
	McastDstIP              netip.Addr    `json:"mcast_dst_ip,omitzero"`
	TrackSrcIP              bool          `json:"track_src_ip,omitempty"`
	UnicastPeers            []UnicastPeer `json:"unicast_peer,omitempty"`
	UnicastFaultNoPeer      bool          `json:"unicast_fault_no_peer,omitempty"`
	UnicastTTL              int           `json:"unicast_ttl"`
	CheckUnicastSrc         bool          `json:"check_unicast_src,omitempty"`
	OldUnicastChecksum      bool          `json:"old_unicast_checksum,omitempty"`
	OldUnicastChecksumNever bool          `json:"old_unicast_checksum_never,omitempty"`

	Auth *Authentication `json:"authentication,omitempty"`

	VirtualIPs         []IPAddress `json:"virtual_ipaddress,omitempty"`
	ExcludedVirtualIPs []IPAddress `json:"virtual_ipaddress_excluded,omitempty"`
	PromoteSecondaries bool        `json:"promote_secondaries,omitempty"`
	VirtualRoutes      []Route     `json:"virtual_routes,omitempty"`
	VirtualRules       []Rule      `json:"virtual_rules,omitempty"`

	DontTrackPrimary bool             `json:"dont_track_primary,omitempty"`
	TrackInterfaces  []TrackInterface `json:"track_interface,omitempty"`
	TrackScripts     []TrackRef       `json:"track_script,omitempty"`
	TrackFiles       []TrackRef       `json:"track_file,omitempty"`
	TrackProcesses   []TrackRef       `json:"track_process,omitempty"`
	TrackBFDs        []TrackRef       `json:"track_bfd,omitempty"`

	GARPMasterDelay         time.Duration `json:"garp_master_delay"`
	GARPMasterRepeat        int           `json:"garp_master_repeat"`
	GARPLowerPrioDelay      time.Duration `json:"garp_lower_prio_delay"`
	GARPLowerPrioRepeat     int           `json:"garp_lower_prio_repeat"`
	GARPMasterRefresh       time.Duration `json:"garp_master_refresh"`
	GARPMasterRefreshRepeat int           `json:"garp_master_refresh_repeat"`
	GARPExtraIf             GARPExtraIf   `json:"garp_extra_if,omitzero"`
	DownTimerAdverts        int           `json:"down_timer_adverts"`
	LowerPrioNoAdvert       bool          `json:"lower_prio_no_advert,omitempty"`
	HigherPrioSendAdvert    bool          `json:"higher_prio_send_advert,omitempty"`
	SkipCheckAdvAddr        bool          `json:"skip_check_adv_addr,omitempty"`
	StrictMode              bool          `json:"strict_mode,omitempty"`

	Notify                Notify `json:"notify,omitzero"`
	NotifyPriorityChanges bool   `json:"notify_priority_changes,omitempty"`
	SMTPAlert             bool   `json:"smtp_alert,omitempty"`

	UseVMAC      bool         `json:"use_vmac,omitempty"`
	VMACName     string       `json:"vmac_name,omitempty"`
	VMACAddr     string       `json:"vmac_addr,omitempty"`
	UseVMACAddr  bool         `json:"use_vmac_addr,omitempty"`
	VMACXmitBase bool         `json:"vmac_xmit_base,omitempty"`
	UseIPVLAN    bool         `json:"use_ipvlan,omitempty"`
	IPVLANName   string       `json:"ipvlan_name,omitempty"`
	IPVLANAddr   netip.Prefix `json:"ipvlan_addr,omitzero"`
	IPVLANMode   string       `json:"ipvlan_mode,omitempty"`

	NativeIPv6             bool   `json:"native_ipv6,omitempty"`
	Debug                  int    `json:"debug,omitempty"`
	KernelRxBufSize        int    `json:"kernel_rx_buf_size,omitempty"`
	LinkbeatUsePolling     bool   `json:"linkbeat_use_polling,omitempty"`
	LVSSyncDaemonInterface string `json:"lvs_sync_daemon_interface,omitempty"`
	// SyncGroup is the vrrp_sync_group the instance belongs to, if any.
	SyncGroup string `json:"sync_group,omitempty"`
}

// AdvertIntervalOnWire is the advertisement interval the instance really
// sends: VRRPv2 carries whole seconds (keepalived rounds to the nearest,
// at least 1), VRRPv3 centiseconds (at least 1, at most 4095).
func (v *VRRPInstance) AdvertIntervalOnWire() time.Duration {
	if v.Version == 3 {
		cs := (v.AdvertInt + 5*time.Millisecond) / (10 * time.Millisecond)
		cs = min(max(cs, 1), 4095)
		return cs * 10 * time.Millisecond
	}
	s := (v.AdvertInt + 500*time.Millisecond) / time.Second
	s = min(max(s, 1), 255)
	return s * time.Second
}

// AdvertIntervalField is the advertisement interval as the VRRP header
// carries it: seconds for version 2, centiseconds for version 3.
func (v *VRRPInstance) AdvertIntervalField() int {
	d := v.AdvertIntervalOnWire()
	if v.Version == 3 {
		return int(d / (10 * time.Millisecond))
	}
	return int(d / time.Second)
}

// IsUnicast reports whether the instance sends unicast adverts.
func (v *VRRPInstance) IsUnicast() bool { return len(v.UnicastPeers) > 0 }

// SSLConfig is the top-level SSL block used by SSL_GET.
type SSLConfig struct {
	Pos         Pos    `json:"pos"`
	Password    string `json:"password,omitempty"`
	CA          string `json:"ca,omitempty"`
	Certificate string `json:"certificate,omitempty"`
	Key         string `json:"key,omitempty"`
}

// VSGEntry is an entry of a virtual_server_group: an address, an address
// range (First..Last) or a prefix, with an optional port; or a fwmark.
type VSGEntry struct {
	Pos      Pos        `json:"pos"`
	First    netip.Addr `json:"first,omitzero"`
	Last     netip.Addr `json:"last,omitzero"`
	Port     uint16     `json:"port,omitempty"`
	FWMark   uint32     `json:"fwmark,omitempty"`
	Family   Family     `json:"family,omitempty"`
	IsFWMark bool       `json:"is_fwmark,omitempty"`
}

// VirtualServerGroup is a virtual_server_group.
type VirtualServerGroup struct {
	Pos     Pos        `json:"pos"`
	Name    string     `json:"name"`
	Entries []VSGEntry `json:"entries"`
}

// Tunnel is the tunnel of lvs_method TUN: "type ipip|gue port N|gre
// [nocsum|csum|remcsum]".
type Tunnel struct {
	Type     string `json:"type,omitempty"`
	Port     uint16 `json:"port,omitempty"`
	Checksum string `json:"checksum,omitempty"`
}

// CheckTiming holds the checker timing that a virtual server passes to its
// real servers and a real server to its checkers.
type CheckTiming struct {
	ConnectTimeout   time.Duration `json:"connect_timeout"`
	Retry            int           `json:"retry"`
	DelayBeforeRetry time.Duration `json:"delay_before_retry"`
	Warmup           time.Duration `json:"warmup"`
	DelayLoop        time.Duration `json:"delay_loop"`
}

// VirtualServer is a virtual_server.
type VirtualServer struct {
	setFields
	Pos    Pos        `json:"pos"`
	Kind   VSKind     `json:"kind"`
	Addr   netip.Addr `json:"addr,omitzero"`
	Port   uint16     `json:"port,omitempty"`
	FWMark uint32     `json:"fwmark,omitempty"`
	Group  string     `json:"group,omitempty"`
	// Family is the service's family: the address's, else ip_family, else
	// the real servers'.
	Family Family `json:"family"`

	Scheduler  string `json:"lvs_sched"`
	Flag1      bool   `json:"flag-1,omitempty"`
	Flag2      bool   `json:"flag-2,omitempty"`
	Flag3      bool   `json:"flag-3,omitempty"`
	SHPort     bool   `json:"sh-port,omitempty"`
	SHFallback bool   `json:"sh-fallback,omitempty"`
	MHPort     bool   `json:"mh-port,omitempty"`
	MHFallback bool   `json:"mh-fallback,omitempty"`
	OPS        bool   `json:"ops,omitempty"`
	Hashed     bool   `json:"hashed,omitempty"`

	Method ForwardMethod `json:"lvs_method"`
	Tunnel Tunnel        `json:"tunnel,omitzero"`

	PersistenceEngine  string        `json:"persistence_engine,omitempty"`
	PersistenceTimeout time.Duration `json:"persistence_timeout,omitempty"`
	// PersistenceGranularity is a netmask (IPv4) or prefix length (IPv6).
	PersistenceGranularity string `json:"persistence_granularity,omitempty"`

	Protocol    Protocol `json:"protocol"`
	HASuspend   bool     `json:"ha_suspend,omitempty"`
	SMTPAlert   bool     `json:"smtp_alert,omitempty"`
	Virtualhost string   `json:"virtualhost,omitempty"`
	SNMPName    string   `json:"snmp_name,omitempty"`
	Alpha       bool     `json:"alpha,omitempty"`
	Omega       bool     `json:"omega,omitempty"`
	Quorum      int      `json:"quorum"`
	Hysteresis  int      `json:"hysteresis"`
	QuorumUp    *Script  `json:"quorum_up,omitempty"`
	QuorumDown  *Script  `json:"quorum_down,omitempty"`
	IPFamily    Family   `json:"ip_family,omitempty"`

	SorryServer *SorryServer `json:"sorry_server,omitempty"`

	CheckTiming
	InhibitOnFailure bool `json:"inhibit_on_failure,omitempty"`

	RealServers []RealServer `json:"real_servers,omitempty"`
}

// SorryServer is a virtual server's sorry_server.
type SorryServer struct {
	Pos     Pos           `json:"pos"`
	Addr    netip.Addr    `json:"addr"`
	Port    uint16        `json:"port,omitempty"`
	Inhibit bool          `json:"inhibit,omitempty"`
	Method  ForwardMethod `json:"lvs_method"`
	Tunnel  Tunnel        `json:"tunnel,omitzero"`
}

// RealServer is a real_server of a virtual server.
type RealServer struct {
	setFields
	Pos         Pos           `json:"pos"`
	Addr        netip.Addr    `json:"addr"`
	Port        uint16        `json:"port,omitempty"`
	Weight      int           `json:"weight"`
	Method      ForwardMethod `json:"lvs_method"`
	Tunnel      Tunnel        `json:"tunnel,omitzero"`
	NotifyUp    *Script       `json:"notify_up,omitempty"`
	NotifyDown  *Script       `json:"notify_down,omitempty"`
	UThreshold  uint32        `json:"uthreshold,omitempty"`
	LThreshold  uint32        `json:"lthreshold,omitempty"`
	SMTPAlert   bool          `json:"smtp_alert,omitempty"`
	Virtualhost string        `json:"virtualhost,omitempty"`
	SNMPName    string        `json:"snmp_name,omitempty"`
	Alpha       bool          `json:"alpha,omitempty"`
	CheckTiming
	InhibitOnFailure bool      `json:"inhibit_on_failure,omitempty"`
	Checkers         []Checker `json:"checkers,omitempty"`
}

// Checker is a health checker of a real server. The generic connection and
// timing fields apply to every type except FILE_CHECK and BFD_CHECK
// (MISC_CHECK uses the timing only); the type-specific part is in the
// pointer matching Type.
type Checker struct {
	setFields
	Pos  Pos         `json:"pos"`
	Type CheckerType `json:"type"`

	ConnectIP   netip.Addr `json:"connect_ip,omitzero"`
	ConnectPort uint16     `json:"connect_port,omitempty"`
	BindTo      netip.Addr `json:"bindto,omitzero"`
	BindIf      string     `json:"bind_if,omitempty"`
	BindPort    uint16     `json:"bind_port,omitempty"`
	FWMark      uint32     `json:"fwmark,omitempty"`

	Alpha bool `json:"alpha,omitempty"`
	CheckTiming
	LogAllFailures bool `json:"log_all_failures,omitempty"`

	HTTP *HTTPCheck `json:"http,omitempty"` // HTTP_GET and SSL_GET
	SMTP *SMTPCheck `json:"smtp,omitempty"`
	DNS  *DNSCheck  `json:"dns,omitempty"`
	Misc *MiscCheck `json:"misc,omitempty"`
	UDP  *UDPCheck  `json:"udp,omitempty"`
	File *FileCheck `json:"file,omitempty"`
	BFD  *BFDCheck  `json:"bfd,omitempty"`
}

// HTTPCheck is the HTTP_GET / SSL_GET specific part.
type HTTPCheck struct {
	Protocol     string `json:"http_protocol"` // 1.0, 1.0C or 1.1
	FastRecovery bool   `json:"fast_recovery,omitempty"`
	Virtualhost  string `json:"virtualhost,omitempty"`
	EnableSNI    bool   `json:"enable_sni,omitempty"`
	URLs         []URL  `json:"urls"`
}

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct {
	Lo int `json:"lo"`
	Hi int `json:"hi"`
}

// URL is a url block of HTTP_GET / SSL_GET.
type URL struct {
	Pos             Pos           `json:"pos"`
	Path            string        `json:"path"`
	Digest          string        `json:"digest,omitempty"` // lower-case hex MD5
	StatusCodes     []StatusRange `json:"status_code,omitempty"`
	Virtualhost     string        `json:"virtualhost,omitempty"`
	Regex           string        `json:"regex,omitempty"`
	RegexNoMatch    bool          `json:"regex_no_match,omitempty"`
	RegexOptions    []string      `json:"regex_options,omitempty"`
	RegexStackStart int           `json:"regex_stack_start,omitempty"`
	RegexStackMax   int           `json:"regex_stack_max,omitempty"`
	RegexMinOffset  int           `json:"regex_min_offset,omitempty"`
	RegexMaxOffset  int           `json:"regex_max_offset,omitempty"`
}

// SMTPCheck is the SMTP_CHECK specific part.
type SMTPCheck struct {
	HeloName string     `json:"helo_name,omitempty"`
	Hosts    []SMTPHost `json:"hosts,omitempty"`
}

// SMTPHost is a (legacy) host block of SMTP_CHECK.
type SMTPHost struct {
	Pos         Pos        `json:"pos"`
	ConnectIP   netip.Addr `json:"connect_ip,omitzero"`
	ConnectPort uint16     `json:"connect_port,omitempty"`
	BindTo      netip.Addr `json:"bindto,omitzero"`
	BindIf      string     `json:"bind_if,omitempty"`
	BindPort    uint16     `json:"bind_port,omitempty"`
	FWMark      uint32     `json:"fwmark,omitempty"`
}

// DNSCheck is the DNS_CHECK specific part.
type DNSCheck struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

// MiscCheck is the MISC_CHECK specific part.
type MiscCheck struct {
	Path    *Script       `json:"misc_path,omitempty"`
	Timeout time.Duration `json:"misc_timeout"`
	Dynamic bool          `json:"misc_dynamic,omitempty"`
}

// UDPCheck is the UDP_CHECK specific part.
type UDPCheck struct {
	Payload      []byte `json:"payload,omitempty"`
	RequireReply bool   `json:"require_reply,omitempty"`
	// ReplyPattern is require_reply's hex string, upper case, with X for
	// an ignored nibble.
	ReplyPattern   string `json:"reply_pattern,omitempty"`
	MinReplyLength int    `json:"min_reply_length"`
	MaxReplyLength int    `json:"max_reply_length"`
}

// FileCheck is the FILE_CHECK specific part.
type FileCheck struct {
	TrackFile string `json:"track_file"`
	Dynamic   bool   `json:"dynamic,omitempty"`
	Weight    int    `json:"weight"`
	Reverse   bool   `json:"reverse,omitempty"`
}

// BFDCheck is the BFD_CHECK specific part.
type BFDCheck struct {
	Name string `json:"name"`
}

// OctalMode is a file mode or umask; JSON prints it in octal ("022").
type OctalMode uint32

// MarshalText prints the mode in octal with a leading 0.
func (m OctalMode) MarshalText() ([]byte, error) { return []byte(fmt.Sprintf("%#o", uint32(m))), nil }

func familyOf(a netip.Addr) Family {
	switch {
	case !a.IsValid():
		return FamilyUnspec
	case a.Is4():
		return FamilyIPv4
	default:
		return FamilyIPv6
	}
}
