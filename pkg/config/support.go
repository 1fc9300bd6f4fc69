package config

import (
	"fmt"
	"strings"
)

// Unimplemented lists what lbd parses into the model but does not act on
// yet, keyed by keyword path, with what will implement it. `lbd check`
// (and Load) warn once per key, at its first use:
//
//	file:line: warning: vrrp_instance.use_vmac is parsed but not implemented yet (VMAC interfaces)
//
// Keys are the paths recorded in Config.Keywords:
//   - "block.keyword" for a keyword of a block, nested blocks joined with
//     dots ("virtual_server.real_server.HTTP_GET.url.digest");
//   - a top-level keyword alone ("static_routes", "net_namespace");
//   - "block.*" for every keyword inside block and its sub-blocks;
//   - "path=VALUE" for one value of a keyword (auth_type=AH).
//
// The most specific key wins. Delete entries as features land. The VRRP
// core runs (lbd run), with tracking, sync groups, notifications, routes
// and reload: vrrp_instance, vrrp_sync_group, vrrp_script, track_file,
// vrrp_track_process, garp_group and global_defs are listed keyword by
// keyword, so that what is missing warns and what runs does not
// (support_test.go classifies every keyword of those blocks).
var Unimplemented = map[string]string{
	// Whole areas: nothing of the daemon exists yet.
	"net_namespace":            "network namespaces",
	"net_namespace_ipvs":       "network namespaces",
	"namespace_with_ipsets":    "ipsets",
	"instance":                 "multiple instances (lbd run --run-dir)",
	"use_pid_dir":              "pid files (lbd run --run-dir)",
	"linkbeat_use_polling":     "linkbeat polling",
	"child_wait_time":          "child processes (lbd has none)",
	"linkbeat_interfaces":      "linkbeat polling",
	"interface_up_down_delays": "interface debouncing (pkg/vrrp)",
	"track_group.*":            "static tracking groups",
	"bfd_instance.*":           "BFD",
	"SSL.*":                    "SSL_GET checker (pkg/lvs)",
	"virtual_server_group":     "virtual server groups (pkg/lvs)",
	"virtual_server.*":         "virtual services (pkg/lvs)",

	// vrrp_instance: what lbd run does not apply yet.
	"vrrp_instance.no_accept": "no_accept firewall rules (traffic to the VIPs is accepted)",

	// Features beyond the core of their area.
	"vrrp_instance.vrf":                                     "VRF",
	"vrrp_instance.track_bfd":                               "BFD",
	"vrrp_sync_group.track_bfd":                             "BFD",
	"vrrp_instance.authentication.auth_type=AH":             "IPsec AH authentication",
	"vrrp_instance.linkbeat_use_polling":                    "linkbeat polling",
	"vrrp_instance.lvs_sync_daemon_interface":               "IPVS sync daemon",
	"vrrp_instance.debug":                                   "debug levels (not implemented by keepalived either)",
	"global_defs.smtp_alert_checker":                        "SMTP alerts of checkers (pkg/lvs)",
	"global_defs.no_checker_emails":                         "SMTP alerts of checkers (pkg/lvs)",
	"global_defs.snmp_socket":                               "SNMP",
	"global_defs.enable_snmp_vrrp":                          "SNMP",
	"global_defs.enable_snmp_checker":                       "SNMP",
	"global_defs.enable_snmp_rfc":                           "SNMP",
	"global_defs.enable_snmp_rfcv2":                         "SNMP",
	"global_defs.enable_snmp_rfcv3":                         "SNMP",
	"global_defs.enable_traps":                              "SNMP",
	"global_defs.enable_dbus":                               "DBus",
	"global_defs.dbus_service_name":                         "DBus",
	"global_defs.nftables":                                  "nftables (no_accept, VMAC filtering)",
	"global_defs.nftables_priority":                         "nftables (no_accept, VMAC filtering)",
	"global_defs.nftables_counters":                         "nftables (no_accept, VMAC filtering)",
	"global_defs.nftables_ifindex":                          "nftables (no_accept, VMAC filtering)",
	"global_defs.nftables_ipvs":                             "nftables fwmarks for virtual server groups",
	"global_defs.nftables_ipvs_priority":                    "nftables fwmarks for virtual server groups",
	"global_defs.nftables_ipvs_start_fwmark":                "nftables fwmarks for virtual server groups",
	"global_defs.vrrp_iptables":                             "iptables (no_accept, VMAC filtering)",
	"global_defs.vrrp_ipsets":                               "ipsets",
	"global_defs.lvs_sync_daemon":                           "IPVS sync daemon",
	"global_defs.lvs_notify_fifo":                           "notify FIFOs",
	"global_defs.lvs_notify_fifo_script":                    "notify FIFOs",
	"global_defs.checker_priority":                          "process scheduling (lbd is one process)",
	"global_defs.bfd_priority":                              "process scheduling (lbd is one process)",
	"global_defs.checker_rt_priority":                       "process scheduling (lbd is one process: vrrp_rt_priority applies to all of it)",
	"global_defs.bfd_rt_priority":                           "process scheduling (lbd is one process: vrrp_rt_priority applies to all of it)",
	"global_defs.checker_cpu_affinity":                      "process scheduling (lbd is one process)",
	"global_defs.bfd_cpu_affinity":                          "process scheduling (lbd is one process)",
	"global_defs.checker_no_swap":                           "process scheduling (lbd is one process)",
	"global_defs.bfd_no_swap":                               "process scheduling (lbd is one process)",
	"global_defs.max_auto_priority":                         "process scheduling (lbd is one process)",
	"global_defs.min_auto_priority_delay":                   "process scheduling (lbd is one process)",
	"global_defs.checker_rlimit_rttime":                     "process scheduling (lbd is one process: vrrp_rlimit_rttime applies to all of it)",
	"global_defs.bfd_rlimit_rttime":                         "process scheduling (lbd is one process: vrrp_rlimit_rttime applies to all of it)",
	"global_defs.checker_process_name":                      "process names (lbd is one process)",
	"global_defs.bfd_process_name":                          "process names (lbd is one process)",
	"global_defs.net_namespace":                             "network namespaces",
	"global_defs.net_namespace_ipvs":                        "network namespaces",
	"global_defs.namespace_with_ipsets":                     "ipsets",
	"global_defs.instance":                                  "multiple instances (lbd run --run-dir)",
	"global_defs.use_pid_dir":                               "pid files (lbd run --run-dir)",
	"global_defs.linkbeat_use_polling":                      "linkbeat polling",
	"global_defs.child_wait_time":                           "child processes (lbd has none)",
	"global_defs.tmp_config_directory":                      "keepalived reload options (lbd reloads on SIGHUP and lbd reload)",
	"global_defs.config_save_dir":                           "keepalived reload options (lbd reloads on SIGHUP and lbd reload)",
	"global_defs.reload_check_config":                       "reload checks (lbd always validates a reload before applying it)",
	"global_defs.reload_time_file":                          "keepalived reload options (lbd reloads on SIGHUP and lbd reload)",
	"global_defs.reload_repeat":                             "keepalived reload options (lbd reloads on SIGHUP and lbd reload)",
	"global_defs.reload_file":                               "keepalived reload options (lbd reloads on SIGHUP and lbd reload)",
	"global_defs.data_use_instance":                         "keepalived's data dumps (lbd status instead)",
	"global_defs.random_seed":                               "random seed",
	"global_defs.disable_local_igmp":                        "IGMP settings",
	"global_defs.vrrp_netlink_cmd_rcv_bufs":                 "netlink buffer sizing",
	"global_defs.vrrp_netlink_cmd_rcv_bufs_force":           "netlink buffer sizing",
	"global_defs.vrrp_netlink_monitor_rcv_bufs":             "netlink buffer sizing",
	"global_defs.vrrp_netlink_monitor_rcv_bufs_force":       "netlink buffer sizing",
	"global_defs.lvs_netlink_cmd_rcv_bufs":                  "netlink buffer sizing",
	"global_defs.lvs_netlink_cmd_rcv_bufs_force":            "netlink buffer sizing",
	"global_defs.lvs_netlink_monitor_rcv_bufs":              "netlink buffer sizing",
	"global_defs.lvs_netlink_monitor_rcv_bufs_force":        "netlink buffer sizing",
	"global_defs.process_monitor_rcv_bufs":                  "netlink buffer sizing",
	"global_defs.process_monitor_rcv_bufs_force":            "netlink buffer sizing",
	"global_defs.lvs_timeouts":                              "virtual services (pkg/lvs)",
	"global_defs.lvs_flush":                                 "virtual services (pkg/lvs)",
	"global_defs.lvs_flush_on_stop":                         "virtual services (pkg/lvs)",
	"global_defs.checker_log_all_failures":                  "virtual services (pkg/lvs)",
	"global_defs.rs_init_notifies":                          "virtual services (pkg/lvs)",
	"virtual_server.real_server.BFD_CHECK.*":                "BFD",
	"virtual_server.real_server.SSL_GET.*":                  "SSL_GET checker (pkg/lvs)",
	"virtual_server.real_server.SMTP_CHECK.host.*":          "SMTP_CHECK host blocks",
	"virtual_server.real_server.HTTP_GET.url.regex":         "regex matching of HTTP replies",
	"virtual_server.real_server.HTTP_GET.url.regex_options": "regex matching of HTTP replies",
	"virtual_server.real_server.SSL_GET.url.regex":          "regex matching of HTTP replies",
	"virtual_server.real_server.SSL_GET.url.regex_options":  "regex matching of HTTP replies",
	"virtual_server.smtp_alert":                             "SMTP alerts",
	"virtual_server.real_server.smtp_alert":                 "SMTP alerts",
	"virtual_server.snmp_name":                              "SNMP",
	"virtual_server.real_server.snmp_name":                  "SNMP",
	"virtual_server.persistence_engine":                     "IPVS persistence engines (sip)",
}

// UnimplementedReason returns why key is not implemented yet, from the
// most specific matching entry of Unimplemented.
func UnimplementedReason(key string) (string, bool) {
	if r, ok := Unimplemented[key]; ok {
		return r, true
	}
	if base, _, ok := strings.Cut(key, "="); ok {
		if r, ok := UnimplementedReason(base); ok {
			return r, true
		}
		return "", false
	}
	for p := key; ; {
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			return "", false
		}
		p = p[:i]
		if r, ok := Unimplemented[p+".*"]; ok {
			return r, true
		}
	}
}

// unimplementedWarnings warns once per unimplemented key, at its first
// use, counting the other uses.
func unimplementedWarnings(uses []KeywordUse, diag *diagSink) {
	type agg struct {
		pos    Pos
		count  int
		reason string
	}
	var order []string
	seen := map[string]*agg{}
	for _, u := range uses {
		if a, ok := seen[u.Key]; ok {
			if a != nil {
				a.count++
			}
			continue
		}
		reason, ok := UnimplementedReason(u.Key)
		if !ok {
			seen[u.Key] = nil
			continue
		}
		seen[u.Key] = &agg{pos: u.Pos, count: 1, reason: reason}
		order = append(order, u.Key)
	}
	for _, k := range order {
		a := seen[k]
		msg := fmt.Sprintf("%s is parsed but not implemented yet (%s)", k, a.reason)
		if a.count > 1 {
			msg += fmt.Sprintf("; %d more uses", a.count-1)
		}
		diag.warnf(a.pos, "%s", msg)
	}
}
