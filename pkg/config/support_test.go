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
		{"vrrp_instance.use_vmac", "VMAC interfaces", true},
		{"vrrp_instance.priority", "VRRP engine (pkg/vrrp)", true},
		{"vrrp_instance.authentication.auth_type=AH", "IPsec AH authentication", true},
		{"vrrp_instance.authentication.auth_type=PASS", "VRRP engine (pkg/vrrp)", true},
		{"virtual_server.real_server.BFD_CHECK.name", "BFD", true},
		{"virtual_server.real_server.SMTP_CHECK.host.connect_ip", "SMTP_CHECK host blocks", true},
		{"static_routes", "static routes", true},
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

// TestUnimplementedWarnings checks the warning: once per key, at its first
// use, with the count of the others.
func TestUnimplementedWarnings(t *testing.T) {
	_, ds := Parse("test.conf", []byte(instance("VI_1", "eth0", 1, "10.0.0.1", "use_vmac")+instance("VI_2", "eth0", 2, "10.0.0.2", "use_vmac")), testOpts())
	var got []string
	for _, d := range ds {
		if strings.Contains(d.Msg, "use_vmac") || strings.Contains(d.Msg, "vrrp_instance.interface") {
			got = append(got, d.String())
		}
	}
	wantDiags(t, got,
		"test.conf:2: warning: vrrp_instance.interface is parsed but not implemented yet (VRRP engine (pkg/vrrp)); 1 more uses",
		"test.conf:4: warning: vrrp_instance.use_vmac is parsed but not implemented yet (VMAC interfaces); 1 more uses",
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
