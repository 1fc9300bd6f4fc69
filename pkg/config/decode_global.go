package config

import (
	"strconv"
	"strings"
	"time"
)

type gdefs = GlobalDefs

// processKeywords are the keywords the man page lists before global_defs:
// keepalived takes them at the top level; lbd also takes them inside
// global_defs. They are stored in GlobalDefs.
var processKeywords = map[string]entry[gdefs]{
	"net_namespace":         kw(setString(func(g *gdefs) *string { return &g.NetNamespace })),
	"net_namespace_ipvs":    kw(func(d *decoder, n *node, g *gdefs) { g.NetNamespaceIPVS = strings.Join(n.args(), " ") }),
	"namespace_with_ipsets": kw(setFlag(func(g *gdefs) *bool { return &g.NamespaceWithIPSets })),
	"instance":              kw(setString(func(g *gdefs) *string { return &g.Instance })),
	"use_pid_dir":           kw(setFlag(func(g *gdefs) *bool { return &g.UsePIDDir })),
	"linkbeat_use_polling":  kw(setFlag(func(g *gdefs) *bool { return &g.LinkbeatUsePolling })),
	"child_wait_time":       kw(setTimer(func(g *gdefs) *time.Duration { return &g.ChildWaitTime }, 0, maxTimer)),
}

var globalSpec = blockSpec[gdefs]{
	kws: mergeEntries(processKeywords, map[string]entry[gdefs]{
		"tmp_config_directory":    kw(setString(func(g *gdefs) *string { return &g.TmpConfigDirectory })),
		"config_save_dir":         kw(setString(func(g *gdefs) *string { return &g.ConfigSaveDir })),
		"process_names":           kw(setFlag(func(g *gdefs) *bool { return &g.ProcessNames })),
		"process_name":            kw(setString(func(g *gdefs) *string { return &g.ProcessName })),
		"vrrp_process_name":       kw(setString(func(g *gdefs) *string { return &g.VRRPProcessName })),
		"checker_process_name":    kw(setString(func(g *gdefs) *string { return &g.CheckerProcessName })),
		"bfd_process_name":        kw(setString(func(g *gdefs) *string { return &g.BFDProcessName })),
		"startup_script":          kw(setNotify(func(g *gdefs) **Script { return &g.StartupScript })),
		"startup_script_timeout":  kw(setTimer(func(g *gdefs) *time.Duration { return &g.StartupScriptTimeout }, time.Second, 1000*time.Second)),
		"shutdown_script":         kw(setNotify(func(g *gdefs) **Script { return &g.ShutdownScript })),
		"shutdown_script_timeout": kw(setTimer(func(g *gdefs) *time.Duration { return &g.ShutdownScriptTimeout }, time.Second, 1000*time.Second)),

		"notification_email": blk(func(d *decoder, n *node, g *gdefs) {
			g.NotificationEmail = append(g.NotificationEmail, valueList(n)...)
		}),
		"notification_email_from":  kw(setString(func(g *gdefs) *string { return &g.NotificationEmailFrom })),
		"smtp_server":              kw(globalSMTPServer),
		"smtp_helo_name":           kw(setString(func(g *gdefs) *string { return &g.SMTPHeloName })),
		"smtp_connect_timeout":     kw(setTimer(func(g *gdefs) *time.Duration { return &g.SMTPConnectTimeout }, time.Microsecond, maxTimer)),
		"smtp_alert":               kw(setBool(func(g *gdefs) *bool { return &g.SMTPAlert })),
		"smtp_alert_vrrp":          kw(setBool(func(g *gdefs) *bool { return &g.SMTPAlertVRRP })),
		"smtp_alert_checker":       kw(setBool(func(g *gdefs) *bool { return &g.SMTPAlertChecker })),
		"checker_log_all_failures": kw(setBool(func(g *gdefs) *bool { return &g.CheckerLogAllFailures })),
		"no_email_faults":          kw(setFlag(func(g *gdefs) *bool { return &g.NoEmailFaults })),
		"no_checker_emails":        kw(setFlag(func(g *gdefs) *bool { return &g.NoCheckerEmails })),
		"router_id":                kw(setString(func(g *gdefs) *string { return &g.RouterID })),

		"vrrp_mcast_group4": kw(func(d *decoder, n *node, g *gdefs) {
			if a, ok := d.addrArg(n); ok {
				if !a.Is4() || !a.IsMulticast() {
					d.errorf(n.pos, "vrrp_mcast_group4 %s: not an IPv4 multicast address", a)
					return
				}
				g.VRRPMcastGroup4 = a
			}
		}),
		"vrrp_mcast_group6": kw(func(d *decoder, n *node, g *gdefs) {
			if a, ok := d.addrArg(n); ok {
				if !a.Is6() || !a.IsMulticast() {
					d.errorf(n.pos, "vrrp_mcast_group6 %s: not an IPv6 multicast address", a)
					return
				}
				g.VRRPMcastGroup6 = a
			}
		}),
		// lbd's own: the VRRP senders every instance accepts adverts from
		// (per family; enforced in XDP where the program runs).
		"lbd_vrrp_allowed_senders": kw(func(d *decoder, n *node, g *gdefs) {
			args := n.args()
			if len(args) == 0 {
				d.errorf(n.pos, "lbd_vrrp_allowed_senders: at least one prefix")
				return
			}
			for _, a := range args {
				if p, ok := d.parsePrefix(n.pos, n.keyword(), a); ok {
					g.LBDVRRPAllowedSenders = append(g.LBDVRRPAllowedSenders, p.Masked())
				}
			}
		}),
		"default_interface": kw(setString(func(g *gdefs) *string { return &g.DefaultInterface })),
		"lvs_sync_daemon":   kw(globalLVSSyncDaemon),
		"lvs_timeouts":      kw(globalLVSTimeouts),
		"lvs_flush":         kw(setFlag(func(g *gdefs) *bool { return &g.LVSFlush })),
		"lvs_flush_on_stop": kw(func(d *decoder, n *node, g *gdefs) {
			g.LVSFlushOnStop = true
			if a := n.args(); len(a) > 0 {
				if a[0] != "VS" {
					d.errorf(n.pos, "lvs_flush_on_stop %s: only VS may follow", a[0])
					return
				}
				g.LVSFlushOnStopVS = true
			}
		}),

		"vrrp_garp_master_delay":          kw(setTimer(func(g *gdefs) *time.Duration { return &g.VRRPGARPMasterDelay }, 0, 86400*time.Second)),
		"vrrp_garp_master_repeat":         kw(setInt(func(g *gdefs) *int { return &g.VRRPGARPMasterRepeat }, 0, 1<<31-1)),
		"vrrp_garp_lower_prio_delay":      kw(setTimer(func(g *gdefs) *time.Duration { return &g.VRRPGARPLowerPrioDelay }, 0, 86400*time.Second)),
		"vrrp_garp_lower_prio_repeat":     kw(setInt(func(g *gdefs) *int { return &g.VRRPGARPLowerPrioRepeat }, 0, 1<<31-1)),
		"vrrp_garp_master_refresh":        kw(setTimer(func(g *gdefs) *time.Duration { return &g.VRRPGARPMasterRefresh }, 0, 86400*time.Second)),
		"vrrp_garp_master_refresh_repeat": kw(setInt(func(g *gdefs) *int { return &g.VRRPGARPMasterRefreshRepeat }, 0, 1<<31-1)),
		"vrrp_garp_interval":              kw(setTimer(func(g *gdefs) *time.Duration { return &g.VRRPGARPInterval }, 0, 86400*time.Second)),
		"vrrp_gna_interval":               kw(setTimer(func(g *gdefs) *time.Duration { return &g.VRRPGNAInterval }, 0, 86400*time.Second)),
		"vrrp_min_garp":                   kw(setBool(func(g *gdefs) *bool { return &g.VRRPMinGARP })),
		"vrrp_garp_extra_if":              kw(func(d *decoder, n *node, g *gdefs) { d.garpExtraIf(n, &g.VRRPGARPExtraIf) }),
		"vrrp_down_timer_adverts":         kw(setInt(func(g *gdefs) *int { return &g.VRRPDownTimerAdverts }, 1, 100)),
		"vrrp_lower_prio_no_advert":       kw(setBool(func(g *gdefs) *bool { return &g.VRRPLowerPrioNoAdvert })),
		"vrrp_higher_prio_send_advert":    kw(setBool(func(g *gdefs) *bool { return &g.VRRPHigherPrioSendAdvert })),
		"vrrp_version":                    kw(setInt(func(g *gdefs) *int { return &g.VRRPVersion }, 2, 3)),
		"vrrp_check_unicast_src":          kw(setFlag(func(g *gdefs) *bool { return &g.VRRPCheckUnicastSrc })),
		"vrrp_skip_check_adv_addr":        kw(setBool(func(g *gdefs) *bool { return &g.VRRPSkipCheckAdvAddr })),
		"vrrp_strict":                     kw(setFlag(func(g *gdefs) *bool { return &g.VRRPStrict })),
		"vrrp_notify_priority_changes":    kw(setBool(func(g *gdefs) *bool { return &g.VRRPNotifyPriorityChanges })),
		"vrrp_startup_delay":              kw(setTimer(func(g *gdefs) *time.Duration { return &g.VRRPStartupDelay }, 0, maxTimer)),
		"log_unknown_vrids":               kw(setFlag(func(g *gdefs) *bool { return &g.LogUnknownVRIDs })),
		"vmac_prefix":                     kw(setString(func(g *gdefs) *string { return &g.VMACPrefix })),
		"vmac_addr_prefix":                kw(setString(func(g *gdefs) *string { return &g.VMACAddrPrefix })),
		"vrrp_rx_bufs_policy": kw(func(d *decoder, n *node, g *gdefs) {
			s, ok := d.arg(n)
			if !ok {
				return
			}
			if s != "MTU" && s != "ADVERT" {
				if _, ok := d.parseInt(n.pos, n.keyword(), s, 1, 1<<31-1); !ok {
					return
				}
			}
			g.VRRPRxBufsPolicy = s
		}),
		"vrrp_rx_bufs_multiplier": kw(setInt(func(g *gdefs) *int { return &g.VRRPRxBufsMultiplier }, 1, 1<<31-1)),
		"dynamic_interfaces": kw(func(d *decoder, n *node, g *gdefs) {
			g.DynamicInterfaces = true
			if a := n.args(); len(a) > 0 {
				if a[0] != "allow_if_changes" {
					d.errorf(n.pos, "dynamic_interfaces %s: only allow_if_changes may follow", a[0])
					return
				}
				g.DynamicInterfacesAllowIfChanges = true
			}
		}),
		"fifo_write_vrrp_states_on_reload": kw(setFlag(func(g *gdefs) *bool { return &g.FIFOWriteVRRPStatesOnReload })),

		"nftables": kw(func(d *decoder, n *node, g *gdefs) {
			g.NFTables = "keepalived"
			if a := n.args(); len(a) > 0 {
				g.NFTables = a[0]
			}
		}),
		"nftables_priority": kw(setInt(func(g *gdefs) *int { return &g.NFTablesPriority }, -1<<31, 1<<31-1)),
		"nftables_counters": kw(setFlag(func(g *gdefs) *bool { return &g.NFTablesCounters })),
		"nftables_ifindex":  kw(setFlag(func(g *gdefs) *bool { return &g.NFTablesIfIndex })),
		"nftables_ipvs": kw(func(d *decoder, n *node, g *gdefs) {
			g.NFTablesIPVS = "keepalived_ipvs"
			if a := n.args(); len(a) > 0 {
				g.NFTablesIPVS = a[0]
			}
		}),
		"nftables_ipvs_priority": kw(setInt(func(g *gdefs) *int { return &g.NFTablesIPVSPriority }, -1<<31, 1<<31-1)),
		"nftables_ipvs_start_fwmark": kw(func(d *decoder, n *node, g *gdefs) {
			if v, ok := d.intArg(n, 1, 1<<32-1); ok {
				g.NFTablesIPVSStartFWMark = uint32(v)
			}
		}),
		"vrrp_iptables": kw(func(d *decoder, n *node, g *gdefs) {
			g.VRRPIPTables = true
			if len(n.args()) > 2 {
				d.warnf(n.pos, "vrrp_iptables: extra values %q ignored", strings.Join(n.args()[2:], " "))
			}
			a := n.args()
			g.VRRPIPTablesChains = append([]string(nil), a[:min(len(a), 2)]...)
		}),
		"vrrp_ipsets": kw(func(d *decoder, n *node, g *gdefs) {
			if len(n.args()) > 5 {
				d.warnf(n.pos, "vrrp_ipsets: extra values %q ignored", strings.Join(n.args()[5:], " "))
			}
			a := n.args()
			g.VRRPIPSets = append([]string(nil), a[:min(len(a), 5)]...)
		}),
		"disable_local_igmp": kw(setFlag(func(g *gdefs) *bool { return &g.DisableLocalIGMP })),

		"max_auto_priority": kw(func(d *decoder, n *node, g *gdefs) {
			g.MaxAutoPriority = 99
			if len(n.args()) > 0 {
				if v, ok := d.intArg(n, -1, 99); ok {
					g.MaxAutoPriority = v
				}
			}
		}),
		"min_auto_priority_delay": kw(setMicros(func(g *gdefs) *time.Duration { return &g.MinAutoPriorityDelay }, 1, 10_000_000)),
		"vrrp_priority":           kw(setInt(func(g *gdefs) *int { return &g.VRRPPriority }, -20, 19)),
		"checker_priority":        kw(setInt(func(g *gdefs) *int { return &g.CheckerPriority }, -20, 19)),
		"bfd_priority":            kw(setInt(func(g *gdefs) *int { return &g.BFDPriority }, -20, 19)),
		"vrrp_no_swap":            kw(setFlag(func(g *gdefs) *bool { return &g.VRRPNoSwap })),
		"checker_no_swap":         kw(setFlag(func(g *gdefs) *bool { return &g.CheckerNoSwap })),
		"bfd_no_swap":             kw(setFlag(func(g *gdefs) *bool { return &g.BFDNoSwap })),
		"vrrp_cpu_affinity":       kw(setCPUs(func(g *gdefs) *[]int { return &g.VRRPCPUAffinity })),
		"checker_cpu_affinity":    kw(setCPUs(func(g *gdefs) *[]int { return &g.CheckerCPUAffinity })),
		"bfd_cpu_affinity":        kw(setCPUs(func(g *gdefs) *[]int { return &g.BFDCPUAffinity })),
		"vrrp_rt_priority":        kw(setInt(func(g *gdefs) *int { return &g.VRRPRTPriority }, 1, 99)),
		"checker_rt_priority":     kw(setInt(func(g *gdefs) *int { return &g.CheckerRTPriority }, 1, 99)),
		"bfd_rt_priority":         kw(setInt(func(g *gdefs) *int { return &g.BFDRTPriority }, 1, 99)),
		"vrrp_rlimit_rttime":      kw(setMicros(func(g *gdefs) *time.Duration { return &g.VRRPRlimitRTTime }, 2, 1<<31-1)),
		"checker_rlimit_rttime":   kw(setMicros(func(g *gdefs) *time.Duration { return &g.CheckerRlimitRTTime }, 2, 1<<31-1)),
		"bfd_rlimit_rttime":       kw(setMicros(func(g *gdefs) *time.Duration { return &g.BFDRlimitRTTime }, 2, 1<<31-1)),

		"vrrp_netlink_cmd_rcv_bufs":           kw(setInt(func(g *gdefs) *int { return &g.VRRPNetlinkCmdRcvBufs }, 0, 1<<31-1)),
		"vrrp_netlink_cmd_rcv_bufs_force":     kw(setBool(func(g *gdefs) *bool { return &g.VRRPNetlinkCmdRcvBufsForce })),
		"vrrp_netlink_monitor_rcv_bufs":       kw(setInt(func(g *gdefs) *int { return &g.VRRPNetlinkMonitorRcvBufs }, 0, 1<<31-1)),
		"vrrp_netlink_monitor_rcv_bufs_force": kw(setBool(func(g *gdefs) *bool { return &g.VRRPNetlinkMonitorRcvBufsForce })),
		"lvs_netlink_cmd_rcv_bufs":            kw(setInt(func(g *gdefs) *int { return &g.LVSNetlinkCmdRcvBufs }, 0, 1<<31-1)),
		"lvs_netlink_cmd_rcv_bufs_force":      kw(setBool(func(g *gdefs) *bool { return &g.LVSNetlinkCmdRcvBufsForce })),
		"lvs_netlink_monitor_rcv_bufs":        kw(setInt(func(g *gdefs) *int { return &g.LVSNetlinkMonitorRcvBufs }, 0, 1<<31-1)),
		"lvs_netlink_monitor_rcv_bufs_force":  kw(setBool(func(g *gdefs) *bool { return &g.LVSNetlinkMonitorRcvBufsForce })),
		"process_monitor_rcv_bufs":            kw(setInt(func(g *gdefs) *int { return &g.ProcessMonitorRcvBufs }, 0, 1<<31-1)),
		"process_monitor_rcv_bufs_force":      kw(setBool(func(g *gdefs) *bool { return &g.ProcessMonitorRcvBufsForce })),

		"snmp_socket":         kw(setString(func(g *gdefs) *string { return &g.SNMPSocket })),
		"enable_snmp_vrrp":    kw(setFlag(func(g *gdefs) *bool { return &g.EnableSNMPVRRP })),
		"enable_snmp_checker": kw(setFlag(func(g *gdefs) *bool { return &g.EnableSNMPChecker })),
		"enable_snmp_rfc":     kw(setFlag(func(g *gdefs) *bool { return &g.EnableSNMPRFC })),
		"enable_snmp_rfcv2":   kw(setFlag(func(g *gdefs) *bool { return &g.EnableSNMPRFCv2 })),
		"enable_snmp_rfcv3":   kw(setFlag(func(g *gdefs) *bool { return &g.EnableSNMPRFCv3 })),
		"enable_traps":        kw(setFlag(func(g *gdefs) *bool { return &g.EnableTraps })),
		"enable_dbus":         kw(setFlag(func(g *gdefs) *bool { return &g.EnableDBus })),
		"dbus_service_name":   kw(setString(func(g *gdefs) *string { return &g.DBusServiceName })),

		"script_user": kw(func(d *decoder, n *node, g *gdefs) {
			if u, gr, ok := d.userGroup(n); ok {
				g.ScriptUser, g.ScriptGroup = u, gr
			}
		}),
		"enable_script_security":  kw(setFlag(func(g *gdefs) *bool { return &g.EnableScriptSecurity })),
		"notify_fifo":             kw(setFIFO(func(g *gdefs) **FIFO { return &g.NotifyFIFO })),
		"notify_fifo_script":      kw(setNotify(func(g *gdefs) **Script { return &g.NotifyFIFOScript })),
		"vrrp_notify_fifo":        kw(setFIFO(func(g *gdefs) **FIFO { return &g.VRRPNotifyFIFO })),
		"vrrp_notify_fifo_script": kw(setNotify(func(g *gdefs) **Script { return &g.VRRPNotifyFIFOScript })),
		"lvs_notify_fifo":         kw(setFIFO(func(g *gdefs) **FIFO { return &g.LVSNotifyFIFO })),
		"lvs_notify_fifo_script":  kw(setNotify(func(g *gdefs) **Script { return &g.LVSNotifyFIFOScript })),
		"rs_init_notifies":        kw(setFlag(func(g *gdefs) *bool { return &g.RSInitNotifies })),

		"umask": kw(globalUmask),
		"random_seed": kw(func(d *decoder, n *node, g *gdefs) {
			if v, ok := d.intArg(n, 0, 1<<32-1); ok {
				g.RandomSeed = uint32(v)
			}
		}),
		"reload_check_config": kw(func(d *decoder, n *node, g *gdefs) {
			g.ReloadCheckConfig = true
			if a := n.args(); len(a) > 0 {
				g.ReloadCheckConfigLog = a[0]
			}
		}),
		"include_check": kw(func(d *decoder, n *node, g *gdefs) {
			if _, ok := parseIncludeCheck(0, n.args()); !ok {
				d.errorf(n.pos, "include_check %s: options are readable, match, wildcard_match, brace_match (with + or -)", strings.Join(n.args(), " "))
				return
			}
			g.IncludeCheck = append([]string(nil), n.args()...)
		}),
		"reload_time_file": kw(setString(func(g *gdefs) *string { return &g.ReloadTimeFile })),
		"reload_repeat":    kw(setFlag(func(g *gdefs) *bool { return &g.ReloadRepeat })),
		"reload_file": kw(func(d *decoder, n *node, g *gdefs) {
			g.ReloadFile = "keepalived.reload"
			if a := n.args(); len(a) > 0 {
				g.ReloadFile = a[0]
			}
		}),
		"data_use_instance": kw(setBool(func(g *gdefs) *bool { return &g.DataUseInstance })),
	}),
	aliases: map[string]string{
		"lvs_id": "router_id", // keepalived 1.x spelling
	},
}

func mergeEntries[T any](maps ...map[string]entry[T]) map[string]entry[T] {
	out := map[string]entry[T]{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func globalSMTPServer(d *decoder, n *node, g *gdefs) {
	a := n.args()
	if len(a) == 0 {
		d.errorf(n.pos, "smtp_server: missing value")
		return
	}
	g.SMTPServer = a[0]
	if len(a) > 1 {
		if p, ok := d.parsePort(n.pos, "smtp_server port", a[1]); ok {
			g.SMTPServerPort = p
		}
	}
	if len(a) > 2 {
		d.warnf(n.pos, "smtp_server: extra values %q ignored", strings.Join(a[2:], " "))
	}
}

// garpExtraIf reads "[all] SECONDS" (0 disables).
func (d *decoder) garpExtraIf(n *node, out *GARPExtraIf) {
	a := n.args()
	var e GARPExtraIf
	if len(a) > 0 && a[0] == "all" {
		e.All = true
		a = a[1:]
	}
	if len(a) != 1 {
		d.errorf(n.pos, "%s: want [all] SECONDS", n.keyword())
		return
	}
	t, ok := d.parseTimer(n.pos, n.keyword(), a[0], 0, 86400*time.Second)
	if !ok {
		return
	}
	e.Interval = t
	*out = e
}

// globalLVSSyncDaemon reads "lvs_sync_daemon IF [[inst] VI] [id N]
// [maxlen N] [port N] [ttl N] [group ADDR]".
func globalLVSSyncDaemon(d *decoder, n *node, g *gdefs) {
	a := n.args()
	if len(a) == 0 {
		d.errorf(n.pos, "lvs_sync_daemon: missing interface")
		return
	}
	s := &LVSSyncDaemon{Pos: n.pos, Interface: a[0], SyncID: -1}
	for i := 1; i < len(a); i++ {
		key := a[i]
		if i+1 >= len(a) {
			if i == 1 && key != "inst" && key != "id" && key != "maxlen" && key != "port" && key != "ttl" && key != "group" {
				s.Instance = key // backward compatible: the instance without "inst"
				continue
			}
			d.errorf(n.pos, "lvs_sync_daemon: %s needs a value", key)
			return
		}
		val := a[i+1]
		i++
		switch key {
		case "inst":
			s.Instance = val
		case "id":
			v, ok := d.parseInt(n.pos, "lvs_sync_daemon id", val, 0, 255)
			if !ok {
				return
			}
			s.SyncID = int(v)
		case "maxlen":
			v, ok := d.parseInt(n.pos, "lvs_sync_daemon maxlen", val, 1, 65507)
			if !ok {
				return
			}
			s.MaxLen = int(v)
		case "port":
			v, ok := d.parseInt(n.pos, "lvs_sync_daemon port", val, 1, 65535)
			if !ok {
				return
			}
			s.Port = uint16(v)
		case "ttl":
			v, ok := d.parseInt(n.pos, "lvs_sync_daemon ttl", val, 1, 255)
			if !ok {
				return
			}
			s.TTL = int(v)
		case "group":
			ad, ok := d.parseAddr(n.pos, "lvs_sync_daemon group", val)
			if !ok {
				return
			}
			s.Group = ad
		default:
			if i == 2 {
				// "lvs_sync_daemon IF VI id N": the instance without "inst".
				s.Instance = key
				i--
				continue
			}
			d.errorf(n.pos, "lvs_sync_daemon: unknown option %q", key)
			return
		}
	}
	g.LVSSyncDaemon = s
}

// globalLVSTimeouts reads "lvs_timeouts [tcp S] [tcpfin S] [udp S]".
func globalLVSTimeouts(d *decoder, n *node, g *gdefs) {
	a := n.args()
	if len(a) == 0 || len(a)%2 != 0 {
		d.errorf(n.pos, "lvs_timeouts: want [tcp SECS] [tcpfin SECS] [udp SECS]")
		return
	}
	var t LVSTimeouts
	for i := 0; i < len(a); i += 2 {
		v, ok := d.parseInt(n.pos, "lvs_timeouts "+a[i], a[i+1], 1, 86400*31)
		if !ok {
			return
		}
		dur := time.Duration(v) * time.Second
		switch a[i] {
		case "tcp":
			t.TCP = dur
		case "tcpfin":
			t.TCPFin = dur
		case "udp":
			t.UDP = dur
		default:
			d.errorf(n.pos, "lvs_timeouts: unknown timeout %q", a[i])
			return
		}
	}
	g.LVSTimeouts = t
}

// globalUmask reads a number (decimal, octal with 0, hex with 0x) or
// I{R|W|X}{USR|GRP|OTH} bits joined with '|'.
func globalUmask(d *decoder, n *node, g *gdefs) {
	s, ok := d.joinedArg(n)
	if !ok {
		return
	}
	s = strings.ReplaceAll(s, " ", "")
	if v, err := strconv.ParseUint(s, 0, 32); err == nil {
		if v > 0o777 {
			d.errorf(n.pos, "umask %s: out of range 0-0777", s)
			return
		}
		g.Umask = OctalMode(v)
		return
	}
	bits := map[string]uint32{
		"IRUSR": 0o400, "IWUSR": 0o200, "IXUSR": 0o100,
		"IRGRP": 0o040, "IWGRP": 0o020, "IXGRP": 0o010,
		"IROTH": 0o004, "IWOTH": 0o002, "IXOTH": 0o001,
	}
	var m uint32
	for _, part := range strings.Split(s, "|") {
		b, ok := bits[part]
		if !ok {
			d.errorf(n.pos, "umask %s: %q is not a number or I{R|W|X}{USR|GRP|OTH}", s, part)
			return
		}
		m |= b
	}
	g.Umask = OctalMode(m)
}
