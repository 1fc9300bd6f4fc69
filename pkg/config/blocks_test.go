package config

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func pos(line int) Pos { return Pos{File: "test.conf", Line: line} }

func addr(s string) netip.Addr     { return netip.MustParseAddr(s) }
func prefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func u32(v uint32) *uint32         { return &v }

func TestGlobalDefs(t *testing.T) {
	c := mustParse(t, `global_defs {
  notification_email {
    a@example.com
    b@example.com
  }
  notification_email_from keepalived@example.com
  smtp_server 192.168.200.1 2525
  smtp_connect_timeout 30
  smtp_helo_name helo.example.com
  smtp_alert
  smtp_alert_vrrp off
  router_id LVS_DEVEL
  vrrp_mcast_group4 224.0.0.19
  vrrp_mcast_group6 ff02::13
  default_interface p33p1.3
  vrrp_version 3
  vrrp_garp_master_delay 10
  vrrp_garp_master_repeat 3
  vrrp_garp_interval 0.001
  vrrp_gna_interval 0.000001
  vrrp_garp_extra_if all 100
  vrrp_strict
  vrrp_iptables keepalived_in keepalived_out
  vrrp_ipsets ka ka6
  vrrp_skip_check_adv_addr
  vrrp_check_unicast_src
  lvs_sync_daemon eth1 inst VI_1 id 7 maxlen 1400 port 8849 ttl 2 group 224.0.0.82
  lvs_timeouts tcp 900 tcpfin 120 udp 300
  lvs_flush_on_stop VS
  script_user nobody nogroup
  enable_script_security
  notify_fifo /run/ka.fifo root
  vrrp_notify_fifo_script "/bin/fifo arg" root root
  vrrp_cpu_affinity 0 1
  vrrp_rlimit_rttime 20000
  umask IWGRP|IWOTH|IXOTH
  nftables
  nftables_priority -5
  dynamic_interfaces allow_if_changes
  max_auto_priority
  include_check +match
}
net_namespace blue
instance one
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {
    10.1.1.1
  }
}
`)
	g := c.Global
	want := GlobalDefs{
		Pos:                             pos(1),
		NetNamespace:                    "blue",
		Instance:                        "one",
		ChildWaitTime:                   5 * time.Second,
		StartupScriptTimeout:            10 * time.Second,
		ShutdownScriptTimeout:           10 * time.Second,
		NotificationEmail:               []string{"a@example.com", "b@example.com"},
		NotificationEmailFrom:           "keepalived@example.com",
		SMTPServer:                      "192.168.200.1",
		SMTPServerPort:                  2525,
		SMTPHeloName:                    "helo.example.com",
		SMTPConnectTimeout:              30 * time.Second,
		SMTPAlert:                       true,
		RouterID:                        "LVS_DEVEL",
		VRRPMcastGroup4:                 addr("224.0.0.19"),
		VRRPMcastGroup6:                 addr("ff02::13"),
		DefaultInterface:                "p33p1.3",
		VRRPVersion:                     3,
		VRRPGARPMasterDelay:             10 * time.Second,
		VRRPGARPMasterRepeat:            3,
		VRRPGARPLowerPrioDelay:          10 * time.Second,
		VRRPGARPLowerPrioRepeat:         3,
		VRRPGARPMasterRefreshRepeat:     1,
		VRRPGARPInterval:                time.Millisecond,
		VRRPGNAInterval:                 time.Microsecond,
		VRRPGARPExtraIf:                 GARPExtraIf{Interval: 100 * time.Second, All: true},
		VRRPDownTimerAdverts:            3,
		VRRPLowerPrioNoAdvert:           true, // vrrp_strict
		VRRPCheckUnicastSrc:             true,
		VRRPSkipCheckAdvAddr:            true,
		VRRPStrict:                      true,
		VMACPrefix:                      "vrrp",
		VMACAddrPrefix:                  "vrrp",
		VRRPRxBufsMultiplier:            3,
		DynamicInterfaces:               true,
		DynamicInterfacesAllowIfChanges: true,
		NFTables:                        "keepalived",
		NFTablesPriority:                -5,
		NFTablesIPVSPriority:            -1,
		NFTablesIPVSStartFWMark:         1000,
		VRRPIPTables:                    true,
		VRRPIPTablesChains:              []string{"keepalived_in", "keepalived_out"},
		VRRPIPSets:                      []string{"ka", "ka6"},
		LVSSyncDaemon: &LVSSyncDaemon{Pos: pos(27), Interface: "eth1", Instance: "VI_1", SyncID: 7,
			MaxLen: 1400, Port: 8849, TTL: 2, Group: addr("224.0.0.82")},
		LVSTimeouts:          LVSTimeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second},
		LVSFlushOnStop:       true,
		LVSFlushOnStopVS:     true,
		MaxAutoPriority:      99,
		MinAutoPriorityDelay: time.Second,
		VRRPCPUAffinity:      []int{0, 1},
		VRRPRlimitRTTime:     20 * time.Millisecond,
		CheckerRlimitRTTime:  10 * time.Millisecond,
		BFDRlimitRTTime:      10 * time.Millisecond,
		ScriptUser:           "nobody",
		ScriptGroup:          "nogroup",
		EnableScriptSecurity: true,
		NotifyFIFO:           &FIFO{Name: "/run/ka.fifo", User: "root"},
		VRRPNotifyFIFOScript: &Script{Cmd: "/bin/fifo arg", Args: []string{"/bin/fifo", "arg"}, User: "root", Group: "root"},
		Umask:                0o023,
		IncludeCheck:         []string{"+match"},
	}
	if diff := cmp.Diff(want, g, cmpModel); diff != "" {
		t.Errorf("global_defs (-want +got):\n%s", diff)
	}
	if !g.IsSet("smtp_alert_vrrp") || g.IsSet("smtp_alert_checker") {
		t.Errorf("IsSet: smtp_alert_vrrp %v, smtp_alert_checker %v", g.IsSet("smtp_alert_vrrp"), g.IsSet("smtp_alert_checker"))
	}
}

func TestGlobalDefaults(t *testing.T) {
	c := mustParse(t, "global_defs {\n vrrp_min_garp\n}\n")
	g := c.Global
	if g.VRRPGARPMasterRepeat != 1 || g.VRRPGARPMasterDelay != 0 || g.VRRPGARPLowerPrioRepeat != 1 {
		t.Errorf("vrrp_min_garp: repeat %d delay %s lower repeat %d; want 1, 0s, 1", g.VRRPGARPMasterRepeat, g.VRRPGARPMasterDelay, g.VRRPGARPLowerPrioRepeat)
	}
	c = mustParse(t, "")
	g = c.Global
	if g.VRRPGARPMasterDelay != 5*time.Second || g.VRRPGARPMasterRepeat != 5 || g.VRRPVersion != 2 ||
		g.VRRPMcastGroup4 != DefaultMcastGroup4 || g.VRRPMcastGroup6 != DefaultMcastGroup6 || g.SMTPServerPort != 25 ||
		g.SMTPConnectTimeout != 30*time.Second || g.Umask != 0o022 || g.DefaultInterface != "eth0" {
		t.Errorf("defaults: %+v", g)
	}
}

func TestStaticBlocks(t *testing.T) {
	c, ds := parse(t, `track_group GROUP1 {
  group {
    VI_1
  }
}
static_ipaddress {
  192.168.200.16 dev eth0 scope link
  192.168.1.1/24 brd + dev eth0 scope global label eth0:1 track_group GROUP1
  2001:db8::1/64 dev eth1 -nodad home mngtmpaddr noprefixroute autojoin preferred_lft forever
  10.0.0.1/32 peer 10.0.0.2/32 brd 10.0.0.255 preferred_lft 30
}
static_routes {
  src 192.168.100.1 192.168.209.0/24 via 192.168.200.254 dev eth0
  192.168.2.0/24 via 192.168.1.100 dev eth0 track_group GROUP1
  192.168.100.0/24 table 6909 nexthop via 192.168.101.1 dev wlan0 onlink weight 1 nexthop via 192.168.101.2 dev wlan0 onlink weight 2
  192.168.200.0/24 dev p33p1.2 table 6909 tos 0x04 protocol bird scope link priority 12 mtu 1000 hoplimit 100 ssthresh lock 107 realms PQA/0x14 features ecn append
  blackhole 10.9.0.0/16
  2001:470:69e9:1:2::4 dev p33p1.2 table 6909 pref high
}
static_rules {
  from 192.168.2.0/24 table 1 track_group GROUP1 preference 10
  from 192.168.28.0/24 to 192.168.29.0/26 table small iif p33p1 oif wlan0 tos 22 fwmark 24/12 preference 39 realms 30/20
  to 1:2:3:4:5:6:7:0/112 from 7:6:5:4:3:2::/96 table 6908 uidrange 10000-19999 priority 5
  not from all ipproto udp sport 10-20 dport 20-30 l3mdev protocol 12 prohibit pref 7
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {
    10.1.1.1
  }
}
`)
	wantDiags(t, ds)
	wantAddrs := []IPAddress{
		{Pos: pos(7), Prefix: prefix("192.168.200.16/32"), Dev: "eth0", Scope: "link"},
		{Pos: pos(8), Prefix: prefix("192.168.1.1/24"), BroadcastMode: "+", Dev: "eth0", Scope: "global", Label: "eth0:1", TrackGroup: "GROUP1"},
		{Pos: pos(9), Prefix: prefix("2001:db8::1/64"), Dev: "eth1", NoDAD: true, Home: true, MngTmpAddr: true, NoPrefixRoute: true, AutoJoin: true, PreferredLft: u32(0xffffffff)},
		{Pos: pos(10), Prefix: prefix("10.0.0.1/32"), Peer: prefix("10.0.0.2/32"), Broadcast: addr("10.0.0.255"), PreferredLft: u32(30)},
	}
	if diff := cmp.Diff(wantAddrs, c.StaticAddresses, cmpModel); diff != "" {
		t.Errorf("static_ipaddress (-want +got):\n%s", diff)
	}
	wantRoutes := []Route{
		{Pos: pos(13), Family: FamilyIPv4, Type: "unicast", Src: addr("192.168.100.1"), Dst: prefix("192.168.209.0/24"), Via: addr("192.168.200.254"), Dev: "eth0"},
		{Pos: pos(14), Family: FamilyIPv4, Type: "unicast", Dst: prefix("192.168.2.0/24"), Via: addr("192.168.1.100"), Dev: "eth0", TrackGroup: "GROUP1"},
		{Pos: pos(15), Family: FamilyIPv4, Type: "unicast", Dst: prefix("192.168.100.0/24"), Table: "6909", Nexthops: []Nexthop{
			{Via: addr("192.168.101.1"), Dev: "wlan0", Onlink: true, Weight: 1},
			{Via: addr("192.168.101.2"), Dev: "wlan0", Onlink: true, Weight: 2},
		}},
		{Pos: pos(16), Family: FamilyIPv4, Type: "unicast", Dst: prefix("192.168.200.0/24"), Dev: "p33p1.2", Table: "6909", TOS: "0x04",
			Protocol: "bird", Scope: "link", Metric: u32(12), Realms: "PQA/0x14", Append: true,
			Metrics: map[string]string{"mtu": "1000", "hoplimit": "100", "ssthresh": "lock 107", "features": "ecn"}},
		{Pos: pos(17), Family: FamilyIPv4, Type: "blackhole", Dst: prefix("10.9.0.0/16")},
		{Pos: pos(18), Family: FamilyIPv6, Type: "unicast", Dst: prefix("2001:470:69e9:1:2::4/128"), Dev: "p33p1.2", Table: "6909", Pref: "high"},
	}
	if diff := cmp.Diff(wantRoutes, c.StaticRoutes, cmpModel); diff != "" {
		t.Errorf("static_routes (-want +got):\n%s", diff)
	}
	sp := func(v int) *int { return &v }
	_ = sp
	wantRules := []Rule{
		{Pos: pos(21), Family: FamilyIPv4, From: prefix("192.168.2.0/24"), Action: "table", Table: "1", TrackGroup: "GROUP1", Priority: u32(10)},
		{Pos: pos(22), Family: FamilyIPv4, From: prefix("192.168.28.0/24"), To: prefix("192.168.29.0/26"), Action: "table", Table: "small",
			IIf: "p33p1", OIf: "wlan0", TOS: "22", FWMark: u32(24), FWMask: u32(12), Priority: u32(39), Realms: "30/20"},
		{Pos: pos(23), Family: FamilyIPv6, To: prefix("1:2:3:4:5:6:7:0/112"), From: prefix("7:6:5:4:3:2::/96"), Action: "table", Table: "6908", UIDRange: "10000-19999", Priority: u32(5)},
		{Pos: pos(24), Family: FamilyIPv4, Not: true, FromAll: true, IPProto: "udp", SPort: "10-20", DPort: "20-30", L3MDev: true, Protocol: "12", Action: "prohibit", Priority: u32(7)},
	}
	if diff := cmp.Diff(wantRules, c.StaticRules, cmpModel); diff != "" {
		t.Errorf("static_rules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]TrackGroup{{Pos: pos(1), Name: "GROUP1", Members: []string{"VI_1"}}}, c.TrackGroups, cmpModel); diff != "" {
		t.Errorf("track_group (-want +got):\n%s", diff)
	}
}

func TestVRRPScriptProcessFileBFD(t *testing.T) {
	c := mustParse(t, `vrrp_script chk_sshd {
  script "killall -0 sshd"   # cheaper than pidof
  interval 2
  timeout 3.5
  weight -4 reverse
  fall 2
  rise 3
  user nobody nogroup
  init_fail
}
vrrp_script chk_port {
  script </dev/tcp/127.0.0.1/80
}
vrrp_track_process nginx {
  process nginx -g "daemon off;"
  param_match partial
  weight 10
  quorum 2
  quorum_max 4
  delay 0.5
  full_command
}
track_file tf {
  file "/run/ka/state"
  weight -10 reverse
  init_file 5 overwrite
}
bfd_instance bfd1 {
  neighbour_ip 10.0.0.2
  source_ip 10.0.0.1
  min_rx 3.312
  min_tx 20
  idle_tx 500
  multiplier 3
  passive
  ttl 250
  hoplimit 60
  max_hops 2
  weight 20 reverse
  vrrp
}
garp_group {
  garp_interval 0.5
  gna_interval 0.25
  interfaces {
    eth0
    eth1
  }
}
`)
	wantScripts := []VRRPScript{
		{Pos: pos(1), Name: "chk_sshd", Script: &Script{Cmd: "killall -0 sshd", Args: []string{"killall", "-0", "sshd"}},
			Interval: 2 * time.Second, Timeout: 3500 * time.Millisecond, Weight: -4, Reverse: true, Fall: 2, Rise: 3,
			User: "nobody", Group: "nogroup", InitFail: true},
		{Pos: pos(11), Name: "chk_port", Script: &Script{Cmd: "</dev/tcp/127.0.0.1/80", Args: []string{"</dev/tcp/127.0.0.1/80"}},
			Interval: time.Second, Timeout: time.Second, Rise: 1, Fall: 1},
	}
	if diff := cmp.Diff(wantScripts, c.Scripts, cmpModel); diff != "" {
		t.Errorf("vrrp_script (-want +got):\n%s", diff)
	}
	wantProc := []TrackProcess{{Pos: pos(14), Name: "nginx", Process: "nginx", Params: []string{"-g", "daemon off;"}, ParamMatch: "partial",
		Weight: 10, Quorum: 2, QuorumMax: 4, ForkDelay: 500 * time.Millisecond, TerminateDelay: 500 * time.Millisecond, FullCommand: true}}
	if diff := cmp.Diff(wantProc, c.TrackProcesses, cmpModel); diff != "" {
		t.Errorf("vrrp_track_process (-want +got):\n%s", diff)
	}
	wantFile := []TrackFile{{Pos: pos(23), Name: "tf", File: "/run/ka/state", Weight: -10, Reverse: true, InitFile: true, InitValue: 5, Overwrite: true}}
	if diff := cmp.Diff(wantFile, c.TrackFiles, cmpModel); diff != "" {
		t.Errorf("track_file (-want +got):\n%s", diff)
	}
	wantBFD := []BFDInstance{{Pos: pos(28), Name: "bfd1", NeighborIP: addr("10.0.0.2"), SourceIP: addr("10.0.0.1"),
		MinRx: 3312 * time.Microsecond, MinTx: 20 * time.Millisecond, IdleTx: 500 * time.Millisecond, Multiplier: 3, Passive: true,
		TTL: 250, HopLimit: 60, MaxHops: 2, Weight: 20, Reverse: true, VRRPOnly: true}}
	if diff := cmp.Diff(wantBFD, c.BFDInstances, cmpModel); diff != "" {
		t.Errorf("bfd_instance (-want +got):\n%s", diff)
	}
	wantGARP := []GARPGroup{{Pos: pos(42), GARPInterval: 500 * time.Millisecond, GNAInterval: 250 * time.Millisecond, Interfaces: []string{"eth0", "eth1"}}}
	if diff := cmp.Diff(wantGARP, c.GARPGroups, cmpModel); diff != "" {
		t.Errorf("garp_group (-want +got):\n%s", diff)
	}
}

func TestVRRPInstanceFull(t *testing.T) {
	c, ds := parse(t, `vrrp_script chk {
  script /bin/true
  weight 5
}
track_file tf {
  file /run/tf
}
vrrp_track_process proc {
  process haproxy
}
bfd_instance b1 {
  neighbor_ip 10.0.0.9
}
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  use_vmac vrrp.51 02:00:5e:00:01
  vmac_xmit_base
  dont_track_primary
  track_interface {
    eth1
    eth2 weight -20 reverse
  }
  track_script {
    chk
    chk weight 10 noreverse
  }
  track_file {
    tf weight 3
  }
  track_process {
    proc
  }
  track_bfd {
    b1 weight -2
  }
  mcast_src_ip 192.168.1.2
  unicast_src_ip 192.168.1.2
  unicast_peer {
    192.168.1.3 min_ttl 250 max_ttl 255
    192.168.1.4
  }
  unicast_ttl 10
  version 2
  virtual_router_id 51
  priority 150
  advert_int 2
  authentication {
    auth_type PASS
    auth_pass secret12
  }
  virtual_ipaddress {
    192.168.200.17/24 dev eth1 use_vmac
    192.168.200.18/24 dev eth2 label eth2:1 no_track
    192.168.200.19 brd 192.168.200.255 scope global
  }
  virtual_ipaddress_excluded {
    2001:db8::10/64 dev eth0
  }
  virtual_routes {
    src 192.168.100.1 to 192.168.109.0/24 via 192.168.200.254 dev eth1
    192.168.111.0/24 dev eth2 no_track
  }
  virtual_rules {
    from 192.168.2.0/24 table 1 no_track preference 100
  }
  no_accept
  nopreempt
  preempt_delay 4.12
  garp_master_delay 3
  garp_master_repeat 2
  garp_master_refresh 60
  garp_extra_if 30
  down_timer_adverts 4
  lower_prio_no_advert
  higher_prio_send_advert true
  skip_check_adv_addr off
  debug 2
  notify_master "/bin/notify master" root
  notify_backup /bin/notify-backup
  notify_fault "/bin/notify 'fault state'"
  notify_stop /bin/stop
  notify_deleted
  notify_master_rx_lower_pri /bin/lower
  notify /bin/any
  notify_priority_changes
  smtp_alert yes
  kernel_rx_buf_size 65536
  promote_secondaries
}
`)
	wantDiags(t, ds,
		"test.conf:14: warning: vrrp_instance VI_1: nopreempt does not work with initial state MASTER",
		"test.conf:14: warning: vrrp_instance VI_1: preempt_delay does not work with initial state MASTER",
	)
	want := VRRPInstance{
		Pos: pos(14), Name: "VI_1", State: StateMaster, Interface: "eth0", Family: FamilyIPv4,
		VRID: 51, Priority: 150, AdvertInt: 2 * time.Second, Version: 2,
		Preempt: false, PreemptDelay: 4120 * time.Millisecond, Accept: false,
		McastSrcIP: addr("192.168.1.2"), UnicastSrcIP: addr("192.168.1.2"),
		UnicastPeers: []UnicastPeer{
			{Pos: pos(40), Addr: addr("192.168.1.3"), MinTTL: 250, MaxTTL: 255},
			{Pos: pos(41), Addr: addr("192.168.1.4")},
		},
		UnicastTTL: 10, CheckUnicastSrc: true,
		Auth: &Authentication{Pos: pos(48), Type: AuthPass, Pass: "secret12"},
		VirtualIPs: []IPAddress{
			{Pos: pos(53), Prefix: prefix("192.168.200.17/24"), Dev: "eth1", UseVMAC: true},
			{Pos: pos(54), Prefix: prefix("192.168.200.18/24"), Dev: "eth2", Label: "eth2:1", NoTrack: true},
			{Pos: pos(55), Prefix: prefix("192.168.200.19/32"), Broadcast: addr("192.168.200.255"), Scope: "global"},
		},
		ExcludedVirtualIPs: []IPAddress{{Pos: pos(58), Prefix: prefix("2001:db8::10/64"), Dev: "eth0"}},
		PromoteSecondaries: true,
		VirtualRoutes: []Route{
			{Pos: pos(61), Family: FamilyIPv4, Type: "unicast", Src: addr("192.168.100.1"), Dst: prefix("192.168.109.0/24"), Via: addr("192.168.200.254"), Dev: "eth1"},
			{Pos: pos(62), Family: FamilyIPv4, Type: "unicast", Dst: prefix("192.168.111.0/24"), Dev: "eth2", NoTrack: true},
		},
		VirtualRules:     []Rule{{Pos: pos(65), Family: FamilyIPv4, From: prefix("192.168.2.0/24"), Action: "table", Table: "1", NoTrack: true, Priority: u32(100)}},
		DontTrackPrimary: true,
		TrackInterfaces: []TrackInterface{
			{Pos: pos(21), Name: "eth1"},
			{Pos: pos(22), Name: "eth2", Weight: -20, Reverse: true},
		},
		TrackScripts: []TrackRef{
			{Pos: pos(25), Name: "chk", Weight: 5},
			{Pos: pos(26), Name: "chk", Weight: 10, WeightSet: true},
		},
		TrackFiles:      []TrackRef{{Pos: pos(29), Name: "tf", Weight: 3, WeightSet: true}},
		TrackProcesses:  []TrackRef{{Pos: pos(32), Name: "proc", Weight: 1}},
		TrackBFDs:       []TrackRef{{Pos: pos(35), Name: "b1", Weight: -2, WeightSet: true}},
		GARPMasterDelay: 3 * time.Second, GARPMasterRepeat: 2,
		GARPLowerPrioDelay: 3 * time.Second, GARPLowerPrioRepeat: 2,
		GARPMasterRefresh: 60 * time.Second, GARPMasterRefreshRepeat: 1,
		GARPExtraIf:      GARPExtraIf{Interval: 30 * time.Second},
		DownTimerAdverts: 4, LowerPrioNoAdvert: true, HigherPrioSendAdvert: true,
		Debug: 2,
		Notify: Notify{
			Master:           &Script{Cmd: "/bin/notify master", Args: []string{"/bin/notify", "master"}, User: "root"},
			Backup:           &Script{Cmd: "/bin/notify-backup", Args: []string{"/bin/notify-backup"}},
			Fault:            &Script{Cmd: "/bin/notify 'fault state'", Args: []string{"/bin/notify", "fault state"}},
			Stop:             &Script{Cmd: "/bin/stop", Args: []string{"/bin/stop"}},
			MasterRxLowerPri: &Script{Cmd: "/bin/lower", Args: []string{"/bin/lower"}},
			Any:              &Script{Cmd: "/bin/any", Args: []string{"/bin/any"}},
			SendDeleted:      true,
		},
		NotifyPriorityChanges: true, SMTPAlert: true,
		UseVMAC: true, VMACName: "vrrp.51", VMACAddr: "02:00:5e:00:01", VMACXmitBase: true,
		KernelRxBufSize: 65536,
	}
	if diff := cmp.Diff([]VRRPInstance{want}, c.Instances, cmpModel); diff != "" {
		t.Errorf("vrrp_instance (-want +got):\n%s", diff)
	}
}

func TestVRRPInstanceDefaults(t *testing.T) {
	c := mustParse(t, `global_defs {
  vrrp_garp_master_delay 7
  vrrp_skip_check_adv_addr
  smtp_alert
}
vrrp_instance V4 {
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {
    10.0.0.1
  }
}
vrrp_instance V6 {
  interface eth0
  virtual_router_id 1
  advert_int 0.5
  virtual_ipaddress {
    fe80::1
    2001:db8::1/64
  }
}
`)
	v4, v6 := c.Instances[0], c.Instances[1]
	check := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v; want %v", name, got, want)
		}
	}
	check("V4.State", v4.State, StateBackup)
	check("V4.Priority", v4.Priority, 100)
	check("V4.AdvertInt", v4.AdvertInt, time.Second)
	check("V4.Version", v4.Version, 2)
	check("V4.Preempt", v4.Preempt, true)
	check("V4.Accept", v4.Accept, true)
	check("V4.GARPMasterDelay", v4.GARPMasterDelay, 7*time.Second)
	check("V4.GARPLowerPrioDelay", v4.GARPLowerPrioDelay, 7*time.Second)
	check("V4.GARPMasterRepeat", v4.GARPMasterRepeat, 5)
	check("V4.SkipCheckAdvAddr", v4.SkipCheckAdvAddr, true)
	check("V4.SMTPAlert", v4.SMTPAlert, true)
	check("V4.UnicastTTL", v4.UnicastTTL, 255)
	check("V4.McastDstIP", v4.McastDstIP, addr("224.0.0.18"))
	check("V4.DownTimerAdverts", v4.DownTimerAdverts, 3)
	check("V4.AdvertIntervalOnWire", v4.AdvertIntervalOnWire(), time.Second)
	check("V6.Family", v6.Family, FamilyIPv6)
	check("V6.Version", v6.Version, 3)
	check("V6.McastDstIP", v6.McastDstIP, addr("ff02::12"))
	check("V6.AdvertIntervalOnWire", v6.AdvertIntervalOnWire(), 500*time.Millisecond)
	check("V6.AdvertIntervalField", v6.AdvertIntervalField(), 50)
}

// TestPriorityAndStateDerivation checks keepalived's derivation of a
// missing priority or state, the one lbd run's engine applies (pkg/vrrp
// Normalize), so that lbd check --json shows what runs.
func TestPriorityAndStateDerivation(t *testing.T) {
	tests := []struct {
		extra     []string
		wantPrio  int
		wantState State
	}{
		{nil, 100, StateBackup},
		{[]string{"state MASTER"}, 255, StateMaster},
		{[]string{"state BACKUP"}, 100, StateBackup},
		{[]string{"state MASTER", "priority 150"}, 150, StateMaster},
		{[]string{"priority 255"}, 255, StateMaster},
		{[]string{"priority 255", "state BACKUP"}, 255, StateBackup},
		{[]string{"priority 254"}, 254, StateBackup},
	}
	for _, tt := range tests {
		c := mustParse(t, instance("VI_1", "eth0", 1, "10.0.0.1", tt.extra...))
		v := c.Instances[0]
		if v.Priority != tt.wantPrio || v.State != tt.wantState {
			t.Errorf("%q: priority %d, state %v; want %d, %v", tt.extra, v.Priority, v.State, tt.wantPrio, tt.wantState)
		}
	}
}

func TestAdvertIntervalOnWire(t *testing.T) {
	tests := []struct {
		version int
		in      time.Duration
		want    time.Duration
	}{
		{2, time.Second, time.Second},
		{2, 1500 * time.Millisecond, 2 * time.Second},
		{2, 1400 * time.Millisecond, time.Second},
		{2, 100 * time.Millisecond, time.Second},
		{3, 10 * time.Millisecond, 10 * time.Millisecond},
		{3, 1234 * time.Millisecond, 1230 * time.Millisecond},
		{3, 41 * time.Second, 40950 * time.Millisecond},
	}
	for _, tt := range tests {
		v := VRRPInstance{Version: tt.version, AdvertInt: tt.in}
		if got := v.AdvertIntervalOnWire(); got != tt.want {
			t.Errorf("v%d advert_int %s: on wire %s; want %s", tt.version, tt.in, got, tt.want)
		}
	}
}

func TestSyncGroup(t *testing.T) {
	c, ds := parse(t, `vrrp_script chk {
  script /bin/true
}
vrrp_sync_group G1 {
  group {
    VI_1
    VI_2
  }
  track_interface {
    eth9 weight 5
  }
  track_script {
    chk weight -10
  }
  notify_backup "/usr/local/bin/vrrp.back arg1 arg2"
  notify_master "/usr/local/bin/vrrp.mast arg1 arg2"
  notify_fault "/usr/local/bin/vrrp.fault arg1 arg2"
  notify_stop /bin/stop
  notify /bin/any
  smtp_alert
  sync_group_tracking_weight
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {
    10.0.0.1
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 2
  virtual_ipaddress {
    10.0.0.2
  }
}
`)
	wantDiags(t, ds)
	want := SyncGroup{
		Pos: pos(4), Name: "G1", Members: []string{"VI_1", "VI_2"},
		TrackInterfaces: []TrackInterface{{Pos: pos(10), Name: "eth9", Weight: 5}},
		TrackScripts:    []TrackRef{{Pos: pos(13), Name: "chk", Weight: -10, WeightSet: true}},
		Notify: Notify{
			Backup: &Script{Cmd: "/usr/local/bin/vrrp.back arg1 arg2", Args: []string{"/usr/local/bin/vrrp.back", "arg1", "arg2"}},
			Master: &Script{Cmd: "/usr/local/bin/vrrp.mast arg1 arg2", Args: []string{"/usr/local/bin/vrrp.mast", "arg1", "arg2"}},
			Fault:  &Script{Cmd: "/usr/local/bin/vrrp.fault arg1 arg2", Args: []string{"/usr/local/bin/vrrp.fault", "arg1", "arg2"}},
			Stop:   &Script{Cmd: "/bin/stop", Args: []string{"/bin/stop"}},
			Any:    &Script{Cmd: "/bin/any", Args: []string{"/bin/any"}},
		},
		SMTPAlert: true, SyncGroupTrackingWeight: true,
	}
	if diff := cmp.Diff([]SyncGroup{want}, c.SyncGroups, cmpModel); diff != "" {
		t.Errorf("vrrp_sync_group (-want +got):\n%s", diff)
	}
	if c.Instances[0].SyncGroup != "G1" || c.Instances[1].SyncGroup != "G1" {
		t.Errorf("instances' SyncGroup = %q, %q; want G1", c.Instances[0].SyncGroup, c.Instances[1].SyncGroup)
	}
}

func TestVirtualServers(t *testing.T) {
	c, ds := parse(t, `track_file tf {
  file /run/tf
}
bfd_instance b1 {
  neighbor_ip 10.0.0.9
}
virtual_server_group VSG_1 {
  10.0.0.1 8080
  192.168.200.3-10 80
  192.168.202.8/29
  192.168.200.250-192.168.201.10 443
  ae00::2-9 80
  fwmark 1
  fwmark 2 inet6
}
virtual_server 10.10.10.2 1358 {
  delay_loop 6
  lb_algo rr
  lb_kind NAT
  persistence_timeout 50
  protocol TCP
  sorry_server 192.168.200.200 1358
  sorry_server_inhibit
  real_server 192.168.200.2 1358 {
    weight 3
    inhibit_on_failure        ! set weight to 0 instead of removing service
    notify_up "/bin/up a b" nobody
    notify_down /bin/down
    uthreshold 100
    lthreshold 10
    HTTP_GET {
      url {
        path /testurl3/test.jsp
        digest 640205B7b0fc66c1ea91c463fac6334d
      }
      url {
        path /health
        status_code 200-299 400-499 503
        virtualhost www.example.com
        regex "^ok$"
        regex_no_match
        regex_options caseless multiline
        regex_stack 1000 2000
        regex_min_offset 1
        regex_max_offset 10
      }
      connect_timeout 3
      nb_get_retry 3
      delay_before_retry 2
      http_protocol 1.1
      fast_recovery
    }
  }
  real_server 192.168.200.3 1358 {
    lvs_method DR
    connect_timeout 7
    TCP_CHECK {
      connect_port 80
      bindto 192.168.200.1
      bind_port 5000
      fwmark 9
    }
    SSL_GET {
      url {
        path /
      }
      enable_sni
    }
    MISC_CHECK {
      misc_path "/usr/local/bin/script.sh arg1 arg2"
      misc_timeout 5
      misc_dynamic
      user nobody
    }
    SMTP_CHECK {
      helo_name foo.bar.com
      host {
        connect_ip 172.16.1.11
        connect_port 587
        bindto 172.16.1.2
      }
    }
    DNS_CHECK {
      type aaaa
      name example.com
    }
    UDP_CHECK {
      payload Ab12f 3 456
      require_reply 01xX
      min_reply_length 2
      max_reply_length 100
    }
    PING_CHECK {
      retry 4
    }
    FILE_CHECK {
      track_file tf
      dynamic
      weight 2 reverse
    }
    BFD_CHECK {
      name b1
    }
  }
}
virtual_server fwmark 7 {
  lvs_sched sh
  sh-port
  lvs_method TUN type gue port 6080 csum
  persistence_granularity 255.255.255.0
  persistence_timeout
  quorum 2
  hysteresis 1
  quorum_up /bin/up
  quorum_down "/bin/down now"
  alpha
  omega
  ha_suspend
  real_server 10.0.0.5 {
  }
}
virtual_server group VSG_1 {
  protocol udp
  ops
  ip_family inet
  retry 5
  delay_before_retry 4
  warmup 0
  real_server 10.0.0.6 80 {
    DNS_CHECK {
    }
  }
}
virtual_server 2001:db8::1 443 {
  protocol SCTP
  real_server 2001:db8::2 443 {
  }
  real_server 10.0.0.7 443 {
    lvs_method TUN type ipip
  }
}
`)
	wantDiags(t, ds)
	if len(c.VirtualServers) != 4 {
		t.Fatalf("%d virtual servers; want 4", len(c.VirtualServers))
	}

	wantVSG := VirtualServerGroup{Pos: pos(7), Name: "VSG_1", Entries: []VSGEntry{
		{Pos: pos(8), First: addr("10.0.0.1"), Last: addr("10.0.0.1"), Port: 8080, Family: FamilyIPv4},
		{Pos: pos(9), First: addr("192.168.200.3"), Last: addr("192.168.200.10"), Port: 80, Family: FamilyIPv4},
		{Pos: pos(10), First: addr("192.168.202.8"), Last: addr("192.168.202.15"), Family: FamilyIPv4},
		{Pos: pos(11), First: addr("192.168.200.250"), Last: addr("192.168.201.10"), Port: 443, Family: FamilyIPv4},
		{Pos: pos(12), First: addr("ae00::2"), Last: addr("ae00::9"), Port: 80, Family: FamilyIPv6},
		{Pos: pos(13), IsFWMark: true, FWMark: 1},
		{Pos: pos(14), IsFWMark: true, FWMark: 2, Family: FamilyIPv6},
	}}
	if diff := cmp.Diff([]VirtualServerGroup{wantVSG}, c.VirtualServerGroups, cmpModel); diff != "" {
		t.Errorf("virtual_server_group (-want +got):\n%s", diff)
	}

	vs := c.VirtualServers[0]
	timing := func(ct time.Duration, retry int, dbr, warmup, loop time.Duration) CheckTiming {
		return CheckTiming{ConnectTimeout: ct, Retry: retry, DelayBeforeRetry: dbr, Warmup: warmup, DelayLoop: loop}
	}
	wantVS := VirtualServer{
		Pos: pos(16), Kind: VSAddr, Addr: addr("10.10.10.2"), Port: 1358, Family: FamilyIPv4,
		Scheduler: "rr", Method: ForwardNAT, PersistenceTimeout: 50 * time.Second, Protocol: ProtoTCP, Quorum: 1,
		SorryServer: &SorryServer{Pos: pos(22), Addr: addr("192.168.200.200"), Port: 1358, Inhibit: true, Method: ForwardNAT},
		CheckTiming: timing(5*time.Second, 0, 0, 0, 6*time.Second),
	}
	rs0 := vs.RealServers[0]
	vs.RealServers = nil
	if diff := cmp.Diff(wantVS, vs, cmpModel); diff != "" {
		t.Errorf("virtual_server (-want +got):\n%s", diff)
	}
	wantRS0 := RealServer{
		Pos: pos(24), Addr: addr("192.168.200.2"), Port: 1358, Weight: 3, Method: ForwardNAT,
		NotifyUp:   &Script{Cmd: "/bin/up a b", Args: []string{"/bin/up", "a", "b"}, User: "nobody"},
		NotifyDown: &Script{Cmd: "/bin/down", Args: []string{"/bin/down"}},
		UThreshold: 100, LThreshold: 10, SMTPAlert: true, InhibitOnFailure: true,
		CheckTiming: timing(5*time.Second, 0, 0, 0, 6*time.Second),
		Checkers: []Checker{{
			Pos: pos(31), Type: CheckHTTP,
			CheckTiming: timing(3*time.Second, 3, 2*time.Second, 6*time.Second, 6*time.Second),
			HTTP: &HTTPCheck{Protocol: "1.1", FastRecovery: true, URLs: []URL{
				{Pos: pos(32), Path: "/testurl3/test.jsp", Digest: "640205b7b0fc66c1ea91c463fac6334d"},
				{Pos: pos(36), Path: "/health", StatusCodes: []StatusRange{{200, 299}, {400, 499}, {503, 503}},
					Virtualhost: "www.example.com", Regex: "^ok$", RegexNoMatch: true, RegexOptions: []string{"caseless", "multiline"},
					RegexStackStart: 1000, RegexStackMax: 2000, RegexMinOffset: 1, RegexMaxOffset: 10},
			}},
		}},
	}
	if diff := cmp.Diff(wantRS0, rs0, cmpModel); diff != "" {
		t.Errorf("real_server 0 (-want +got):\n%s", diff)
	}

	rs1 := c.VirtualServers[0].RealServers[1]
	base := timing(7*time.Second, 1, time.Second, 6*time.Second, 6*time.Second)
	wantCheckers := []Checker{
		{Pos: pos(57), Type: CheckTCP, ConnectPort: 80, BindTo: addr("192.168.200.1"), BindPort: 5000, FWMark: 9, CheckTiming: base},
		{Pos: pos(63), Type: CheckSSL, CheckTiming: timing(7*time.Second, 1, 3*time.Second, 6*time.Second, 6*time.Second),
			HTTP: &HTTPCheck{Protocol: "1.0", EnableSNI: true, URLs: []URL{{Pos: pos(64), Path: "/", StatusCodes: []StatusRange{{200, 299}}}}}},
		{Pos: pos(69), Type: CheckMisc, CheckTiming: timing(7*time.Second, 0, time.Second, 6*time.Second, 6*time.Second),
			Misc: &MiscCheck{Path: &Script{Cmd: "/usr/local/bin/script.sh arg1 arg2", Args: []string{"/usr/local/bin/script.sh", "arg1", "arg2"}, User: "nobody"},
				Timeout: 5 * time.Second, Dynamic: true}},
		{Pos: pos(75), Type: CheckSMTP, CheckTiming: base, SMTP: &SMTPCheck{HeloName: "foo.bar.com", Hosts: []SMTPHost{
			{Pos: pos(77), ConnectIP: addr("172.16.1.11"), ConnectPort: 587, BindTo: addr("172.16.1.2")},
		}}},
		{Pos: pos(83), Type: CheckDNS, CheckTiming: timing(7*time.Second, 3, 6*time.Second, 6*time.Second, 6*time.Second),
			DNS: &DNSCheck{Type: "AAAA", Name: "example.com"}},
		{Pos: pos(87), Type: CheckUDP, CheckTiming: base, UDP: &UDPCheck{Payload: []byte{0xab, 0x12, 0x0f, 0x03, 0x45, 0x06},
			RequireReply: true, ReplyPattern: "01XX", MinReplyLength: 2, MaxReplyLength: 100}},
		{Pos: pos(93), Type: CheckPing, CheckTiming: timing(7*time.Second, 4, time.Second, 6*time.Second, 6*time.Second)},
		{Pos: pos(96), Type: CheckFile, CheckTiming: base, File: &FileCheck{TrackFile: "tf", Dynamic: true, Weight: 2, Reverse: true}},
		{Pos: pos(101), Type: CheckBFD, CheckTiming: base, BFD: &BFDCheck{Name: "b1"}},
	}
	if diff := cmp.Diff(wantCheckers, rs1.Checkers, cmpModel); diff != "" {
		t.Errorf("checkers (-want +got):\n%s", diff)
	}
	if rs1.Method != ForwardDR || rs1.Weight != 1 {
		t.Errorf("real_server 1: method %s weight %d; want DR 1", rs1.Method, rs1.Weight)
	}

	fw := c.VirtualServers[1]
	if fw.Kind != VSFWMark || fw.FWMark != 7 || fw.Scheduler != "sh" || !fw.SHPort || fw.Method != ForwardTUN ||
		fw.Tunnel != (Tunnel{Type: "gue", Port: 6080, Checksum: "csum"}) || fw.PersistenceGranularity != "255.255.255.0" ||
		fw.PersistenceTimeout != 360*time.Second || fw.Quorum != 2 || fw.Hysteresis != 1 || !fw.Alpha || !fw.Omega || !fw.HASuspend ||
		fw.QuorumDown.Args[1] != "now" || fw.Family != FamilyIPv4 {
		t.Errorf("virtual_server fwmark 7: %+v", fw)
	}
	if r := fw.RealServers[0]; r.Method != ForwardTUN || r.Tunnel != fw.Tunnel || r.Port != 0 || !r.Alpha {
		t.Errorf("fwmark real server inherits: %+v", r)
	}

	grp := c.VirtualServers[2]
	if grp.Kind != VSGroup || grp.Group != "VSG_1" || grp.Protocol != ProtoUDP || !grp.OPS || grp.Family != FamilyIPv4 {
		t.Errorf("virtual_server group: %+v", grp)
	}
	if ch := grp.RealServers[0].Checkers[0]; ch.CheckTiming != timing(5*time.Second, 5, 4*time.Second, 0, 60*time.Second) ||
		ch.DNS.Type != "SOA" || ch.DNS.Name != "." {
		t.Errorf("group checker inherits: %+v %+v", ch.CheckTiming, ch.DNS)
	}

	v6 := c.VirtualServers[3]
	if v6.Family != FamilyIPv6 || v6.Protocol != ProtoSCTP || v6.Scheduler != "wlc" || v6.DelayLoop != time.Minute {
		t.Errorf("IPv6 virtual server: %+v", v6)
	}
}

func TestVirtualServerNames(t *testing.T) {
	for _, tt := range []struct {
		vs   VirtualServer
		want string
	}{
		{VirtualServer{Kind: VSAddr, Addr: addr("10.0.0.1"), Port: 80}, "10.0.0.1:80"},
		{VirtualServer{Kind: VSAddr, Addr: addr("2001:db8::1"), Port: 443}, "[2001:db8::1]:443"},
		{VirtualServer{Kind: VSAddr, Addr: addr("10.0.0.1")}, "10.0.0.1"},
		{VirtualServer{Kind: VSFWMark, FWMark: 3}, "fwmark 3"},
		{VirtualServer{Kind: VSGroup, Group: "G"}, "group G"},
	} {
		if got := tt.vs.Name(); got != tt.want {
			t.Errorf("Name() = %q; want %q", got, tt.want)
		}
	}
}

func TestSSLBlock(t *testing.T) {
	c := mustParse(t, "SSL {\n password pw\n ca /ca.pem\n certificate /c.pem\n key /k.pem\n}\n")
	want := &SSLConfig{Pos: pos(1), Password: "pw", CA: "/ca.pem", Certificate: "/c.pem", Key: "/k.pem"}
	if diff := cmp.Diff(want, c.SSL, cmpModel); diff != "" {
		t.Errorf("SSL (-want +got):\n%s", diff)
	}
}

func TestLinkbeatDelaysProcessKeywords(t *testing.T) {
	c := mustParse(t, `linkbeat_interfaces {
  eth2
  enp2s0 ETHTOOL
}
interface_up_down_delays {
  eth0 0.5
  eth1 1 2.5
}
use_pid_dir
child_wait_time 9
`)
	if diff := cmp.Diff([]LinkbeatInterface{{Pos: pos(2), Name: "eth2"}, {Pos: pos(3), Name: "enp2s0", Type: "ETHTOOL"}}, c.LinkbeatInterfaces, cmpModel); diff != "" {
		t.Errorf("linkbeat_interfaces (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]InterfaceDelay{
		{Pos: pos(6), Name: "eth0", Down: 500 * time.Millisecond, Up: 500 * time.Millisecond},
		{Pos: pos(7), Name: "eth1", Down: time.Second, Up: 2500 * time.Millisecond},
	}, c.InterfaceDelays, cmpModel); diff != "" {
		t.Errorf("interface_up_down_delays (-want +got):\n%s", diff)
	}
	if !c.Global.UsePIDDir || c.Global.ChildWaitTime != 9*time.Second || !c.Global.IsSet("child_wait_time") {
		t.Errorf("process keywords: %+v", c.Global)
	}
}
