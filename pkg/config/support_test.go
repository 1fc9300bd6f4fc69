package config

import (
	"bufio"
	"os"
	"sort"
	"strings"
	"testing"
)

// knownKeywords returns every keyword path lbd knows, as recorded in
// Config.Keywords ("block.keyword", top-level keywords alone), plus the
// block paths themselves.
func knownKeywords() map[string]bool {
	out := map[string]bool{}
	add := func(path string, kws []string) {
		out[path] = true
		for _, k := range kws {
			if path == "" {
				out[k] = true
			} else {
				out[path+"."+k] = true
			}
		}
	}
	add("", rootSpec.keywords())
	add("global_defs", globalSpec.keywords())
	add("track_group", trackGroupSpec.keywords())
	add("bfd_instance", bfdSpec.keywords())
	add("vrrp_script", vrrpScriptSpec.keywords())
	add("vrrp_track_process", trackProcessSpec.keywords())
	add("track_file", trackFileSpec.keywords())
	add("garp_group", garpGroupSpec.keywords())
	add("vrrp_sync_group", syncGroupSpec.keywords())
	add("vrrp_instance", vrrpInstanceSpec.keywords())
	add("vrrp_instance.authentication", authSpec.keywords())
	add("SSL", sslSpec.keywords())
	add("virtual_server", virtualServerSpec.keywords())
	add("virtual_server.real_server", realServerSpec.keywords())
	for t, spec := range checkerSpecs {
		add("virtual_server.real_server."+t.String(), spec.keywords())
		if t == CheckHTTP || t == CheckSSL {
			add("virtual_server.real_server."+t.String()+".url", urlSpec.keywords())
		}
		if t == CheckSMTP {
			add("virtual_server.real_server.SMTP_CHECK.host", smtpHostSpec.keywords())
		}
	}
	return out
}

// TestManPageKeywords checks that every keyword keepalived.conf(5)
// documents for the modelled blocks is known.
func TestManPageKeywords(t *testing.T) {
	known := knownKeywords()
	f, err := os.Open("testdata/manpage_keywords.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		block, kw, _ := strings.Cut(line, " ")
		var paths []string
		switch block {
		case ".":
			paths = []string{kw}
		case "CHECKER": // the generic checker keywords, on every connecting checker
			for _, c := range []string{"TCP_CHECK", "HTTP_GET", "SSL_GET", "SMTP_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK"} {
				paths = append(paths, "virtual_server.real_server."+c+"."+kw)
			}
		default:
			paths = []string{block + "." + kw}
		}
		for _, p := range paths {
			n++
			if !known[p] {
				t.Errorf("keyword %s (keepalived.conf(5)) is not known", p)
			}
		}
	}
	if n < 300 {
		t.Errorf("only %d keywords checked; the list is truncated", n)
	}
}

// TestUnimplementedTable checks that every key of Unimplemented names a
// keyword, block or value lbd knows, so the table cannot rot.
func TestUnimplementedTable(t *testing.T) {
	known := knownKeywords()
	var keys []string
	for k := range Unimplemented {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		base, _, _ := strings.Cut(k, "=")
		base = strings.TrimSuffix(base, ".*")
		if !known[base] {
			t.Errorf("Unimplemented[%q]: %q is not a keyword path lbd knows", k, base)
		}
		if Unimplemented[k] == "" {
			t.Errorf("Unimplemented[%q]: no reason", k)
		}
	}
}

func TestUnimplementedReason(t *testing.T) {
	tests := []struct {
		key, want string
		ok        bool
	}{
		{"vrrp_instance.use_vmac", "", false},
		{"vrrp_instance.use_vmac_addr", "", false},
		{"vrrp_instance.priority", "", false},
		{"vrrp_instance.authentication.auth_type=AH", "IPsec AH authentication", true},
		{"vrrp_instance.authentication.auth_type=PASS", "", false},
		{"vrrp_instance.track_script", "", false},
		{"vrrp_instance.track_bfd", "BFD", true},
		{"vrrp_sync_group.notify_master", "", false},
		{"vrrp_script.weight", "", false},
		{"global_defs.vrrp_rt_priority", "", false},
		{"global_defs.vrrp_priority", "", false},
		{"global_defs.vrrp_no_swap", "", false},
		{"global_defs.checker_priority", "process scheduling (lbd is one process)", true},
		{"global_defs.checker_rt_priority", "process scheduling (lbd is one process: vrrp_rt_priority applies to all of it)", true},
		{"virtual_server.real_server.BFD_CHECK.name", "BFD", true},
		{"virtual_server.real_server.SMTP_CHECK.host.connect_ip", "SMTP_CHECK host blocks", true},
		{"static_routes", "", false},
		{"track_group.group", "static tracking groups", true},
		{"vrrp_instance", "", false},
		{"no_such", "", false},
	}
	for _, tt := range tests {
		got, ok := UnimplementedReason(tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("UnimplementedReason(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

// Keywords lbd run acts on, in the blocks Unimplemented lists keyword by
// keyword. Every keyword of those blocks must be here or in Unimplemented
// (TestVRRPKeywordsClassified), so that a keyword added to the parser is
// classified, and the warnings of lbd check and lbd run stay true.
var (
	implementedInstance = []string{
		"interface", "virtual_router_id", "version", "priority", "state", "advert_int",
		"preempt", "nopreempt", "preempt_delay", "accept", "strict_mode", "native_ipv6",
		"mcast_src_ip", "mcast_dst_ip", "unicast_src_ip", "unicast_peer", "unicast_ttl", "check_unicast_src",
		"authentication", "authentication.auth_type", "authentication.auth_pass",
		"virtual_ipaddress", "virtual_ipaddress_excluded", "dont_track_primary",
		"garp_master_delay", "garp_master_repeat", "garp_lower_prio_delay", "garp_lower_prio_repeat",
		"garp_master_refresh", "garp_master_refresh_repeat", "garp_extra_if",
		"lower_prio_no_advert", "higher_prio_send_advert", "skip_check_adv_addr", "down_timer_adverts",
		"old_unicast_checksum",
		"track_interface", "track_script", "track_file", "track_process",
		"notify", "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify_deleted",
		"notify_master_rx_lower_pri", "notify_priority_changes", "smtp_alert",
		"virtual_routes", "virtual_rules", "use_vmac", "vmac_xmit_base",
		"use_vmac_addr", "use_ipvlan",
		"promote_secondaries", "unicast_fault_no_peer", "kernel_rx_buf_size",
		"track_src_ip",
	}
	implementedSyncGroup = []string{
		"group", "global_tracking", "sync_group_tracking_weight",
		"track_interface", "track_script", "track_file", "track_process",
		"notify", "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify_deleted",
		"notify_priority_changes", "smtp_alert",
	}
	implementedScript  = []string{"script", "interval", "timeout", "weight", "rise", "fall", "user", "init_fail"}
	implementedFile    = []string{"file", "weight", "init_file"}
	implementedProcess = []string{"process", "param_match", "weight", "quorum", "quorum_max", "delay", "fork_delay", "terminate_delay", "full_command"}
	implementedGlobal  = []string{
		"vrrp_version", "vrrp_mcast_group4", "vrrp_mcast_group6", "vrrp_strict",
		"vrrp_garp_master_delay", "vrrp_garp_master_repeat", "vrrp_garp_lower_prio_delay",
		"vrrp_garp_lower_prio_repeat", "vrrp_garp_master_refresh", "vrrp_garp_master_refresh_repeat",
		"vrrp_garp_interval", "vrrp_gna_interval", "vrrp_min_garp", "vrrp_garp_extra_if",
		"vrrp_lower_prio_no_advert", "vrrp_higher_prio_send_advert", "vrrp_down_timer_adverts",
		"vrrp_check_unicast_src", "vrrp_skip_check_adv_addr",
		"vrrp_rt_priority", "vrrp_rlimit_rttime", "vrrp_startup_delay", "log_unknown_vrids",
		"vrrp_priority", "vrrp_cpu_affinity", "vrrp_no_swap",
		"vrrp_rx_bufs_policy", "vrrp_rx_bufs_multiplier", "umask",
		"process_names", "process_name", "vrrp_process_name",
		"vmac_addr_prefix",
		"lbd_vrrp_allowed_senders", // lbd's own
		"include_check",            // applied while reading the files
		"notification_email", "notification_email_from", "smtp_server", "smtp_helo_name",
		"smtp_connect_timeout", "smtp_alert", "smtp_alert_vrrp", "no_email_faults", "router_id",
		"notify_fifo", "notify_fifo_script", "vrrp_notify_fifo", "vrrp_notify_fifo_script",
		"vrrp_notify_priority_changes", "fifo_write_vrrp_states_on_reload",
		"startup_script", "startup_script_timeout", "shutdown_script", "shutdown_script_timeout",
		"script_user", "enable_script_security", "default_interface", "vmac_prefix",
		"dynamic_interfaces", // what lbd always does (internal/daemon dynif.go)
	}
)

func TestVRRPKeywordsClassified(t *testing.T) {
	blocks := []struct {
		path        string
		kws         []string
		implemented []string
		aliases     map[string]string
	}{
		{"vrrp_instance", vrrpInstanceSpec.keywords(), implementedInstance, vrrpInstanceSpec.aliases},
		{"vrrp_instance.authentication", authSpec.keywords(), implementedInstance, authSpec.aliases},
		{"global_defs", globalSpec.keywords(), implementedGlobal, globalSpec.aliases},
		{"garp_group", garpGroupSpec.keywords(), nil, garpGroupSpec.aliases},
		{"vrrp_sync_group", syncGroupSpec.keywords(), implementedSyncGroup, syncGroupSpec.aliases},
		{"vrrp_script", vrrpScriptSpec.keywords(), implementedScript, vrrpScriptSpec.aliases},
		{"track_file", trackFileSpec.keywords(), implementedFile, trackFileSpec.aliases},
		{"vrrp_track_process", trackProcessSpec.keywords(), implementedProcess, trackProcessSpec.aliases},
	}
	for _, b := range blocks {
		done := map[string]bool{}
		for _, k := range b.implemented {
			done[k] = true
		}
		for _, kw := range b.kws {
			if real, ok := b.aliases[kw]; ok {
				kw = real // recorded under its real name
			}
			key := b.path + "." + kw
			rel := strings.TrimPrefix(key, "vrrp_instance.")
			_, unimpl := UnimplementedReason(key)
			impl := done[kw] || done[rel] || b.path == "garp_group"
			switch {
			case unimpl && impl:
				t.Errorf("%s is both implemented and in Unimplemented", key)
			case !unimpl && !impl:
				t.Errorf("%s is neither implemented nor in Unimplemented: classify it", key)
			}
		}
	}
}

// TestUnimplementedWarnings checks the warning: once per key, at its first
// use, with the count of the others.
func TestUnimplementedWarnings(t *testing.T) {
	_, ds := Parse("test.conf", []byte(instance("VI_1", "eth0", 1, "10.0.0.1", "debug 1")+instance("VI_2", "eth0", 2, "10.0.0.2", "debug 1")), testOpts())
	var got []string
	for _, d := range ds {
		if strings.Contains(d.Msg, "vrrp_instance.debug") || strings.Contains(d.Msg, "vrrp_instance.interface") {
			got = append(got, d.String())
		}
	}
	wantDiags(t, got,
		"test.conf:4: warning: vrrp_instance.debug is parsed but not implemented yet (debug levels (not implemented by keepalived either)); 1 more uses",
	)
}

func TestKeywordUses(t *testing.T) {
	c := mustParse(t, "global_defs {\n lvs_id x\n}\nvirtual_server 10.0.0.1 80 {\n lb_algo rr\n real_server 10.0.0.2 80 {\n  HTTP_GET {\n   url {\n    path /\n   }\n  }\n }\n}\n")
	var got []string
	for _, u := range c.Keywords {
		got = append(got, u.Pos.String()+" "+u.Key)
	}
	wantDiags(t, got,
		"test.conf:1 global_defs",
		"test.conf:2 global_defs.router_id",
		"test.conf:4 virtual_server",
		"test.conf:5 virtual_server.lvs_sched",
		"test.conf:6 virtual_server.real_server",
		"test.conf:7 virtual_server.real_server.HTTP_GET",
		"test.conf:8 virtual_server.real_server.HTTP_GET.url",
		"test.conf:9 virtual_server.real_server.HTTP_GET.url.path",
	)
}
