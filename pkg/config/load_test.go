package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiagnosticString(t *testing.T) {
	tests := []struct {
		d    Diagnostic
		want string
	}{
		{Diagnostic{Pos: Pos{File: "a.conf", Line: 3}, Msg: "bad"}, "a.conf:3: bad"},
		{Diagnostic{Pos: Pos{File: "a.conf", Line: 3}, Severity: SeverityWarning, Msg: "odd"}, "a.conf:3: warning: odd"},
		{Diagnostic{Pos: Pos{File: "a.conf"}, Msg: "unreadable"}, "a.conf: unreadable"},
		{Diagnostic{Msg: "nowhere"}, "nowhere"},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("String() = %q; want %q", got, tt.want)
		}
		if got := tt.d.Error(); got != tt.want {
			t.Errorf("Error() = %q; want %q", got, tt.want)
		}
	}
	ds := Diagnostics{tests[0].d, tests[1].d}
	if !ds.HasErrors() || len(ds.Errors()) != 1 || len(ds.Warnings()) != 1 || ds.Error() != "a.conf:3: bad\na.conf:3: warning: odd" {
		t.Errorf("Diagnostics: %v %d %d %q", ds.HasErrors(), len(ds.Errors()), len(ds.Warnings()), ds.Error())
	}
	if (Diagnostics{tests[1].d}).HasErrors() {
		t.Error("HasErrors with only a warning")
	}
	if SeverityError.String() != "error" || SeverityWarning.String() != "warning" {
		t.Error("Severity.String")
	}
}

// TestLoadFiles reads real files: includes relative to the including
// file, diagnostics sorted by file in opening order, then line.
func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("keepalived.conf", "include conf.d/*.conf\nbogus_top 1\n")
	write("conf.d/b.conf", "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n  priority 300\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n")
	write("conf.d/a.conf", "global_defs {\n  bogus_a 1\n}\n")
	main := filepath.Join(dir, "keepalived.conf")
	c, ds := Load(main, Options{ConfigID: "x", RandomSeed: 1})
	wantDiags(t, diagStrings(ds),
		main+`:2: warning: unknown keyword "bogus_top"`,
		filepath.Join(dir, "conf.d/a.conf")+`:2: warning: unknown keyword "bogus_a" in global_defs`,
		filepath.Join(dir, "conf.d/b.conf")+":4: vrrp_instance VI_1: priority 300: out of range 1-255",
	)
	want := []string{main, filepath.Join(dir, "conf.d/a.conf"), filepath.Join(dir, "conf.d/b.conf")}
	if strings.Join(c.Files, ",") != strings.Join(want, ",") {
		t.Errorf("Files = %q; want %q", c.Files, want)
	}

	// An executable file is not read as configuration, as in keepalived.
	write("conf.d/c.conf", "x 1\n")
	if err := os.Chmod(filepath.Join(dir, "conf.d/c.conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, ds = Load(main, Options{ConfigID: "x", RandomSeed: 1})
	found := false
	for _, d := range ds {
		found = found || strings.Contains(d.Msg, "c.conf: not a regular non-executable file; skipped")
	}
	if !found {
		t.Errorf("executable include not reported: %v", ds)
	}
}

func TestLoadMissing(t *testing.T) {
	c, ds := Load(filepath.Join(t.TempDir(), "nope.conf"), Options{})
	if c != nil || len(ds) != 1 || !ds.HasErrors() || !strings.HasSuffix(ds[0].String(), "nope.conf: no such file or directory") {
		t.Errorf("Load(missing) = %v, %v", c, ds)
	}
}

func TestJSON(t *testing.T) {
	c := mustParse(t, `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  version 3
  advert_int 1.5
  virtual_ipaddress {
    192.168.200.16/24 dev eth0
  }
}
virtual_server 10.0.0.1 80 {
  real_server 10.0.0.2 80 {
    UDP_CHECK {
      payload 0102ff
    }
  }
}
`)
	raw, err := c.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, raw)
	}
	vi := m["vrrp_instances"].([]any)[0].(map[string]any)
	for k, want := range map[string]any{
		"name": "VI_1", "pos": "test.conf:1", "state": "BACKUP", "family": "inet", "virtual_router_id": 51.0,
		"advert_int": "1.5s", "garp_master_delay": "5s", "mcast_dst_ip": "224.0.0.18", "preempt": true,
	} {
		if vi[k] != want {
			t.Errorf("vrrp_instances[0].%s = %#v; want %#v", k, vi[k], want)
		}
	}
	if _, ok := vi["mcast_src_ip"]; ok {
		t.Error("unset mcast_src_ip printed")
	}
	vip := vi["virtual_ipaddress"].([]any)[0].(map[string]any)
	if vip["addr"] != "192.168.200.16/24" || vip["dev"] != "eth0" {
		t.Errorf("VIP = %v", vip)
	}
	vs := m["virtual_servers"].([]any)[0].(map[string]any)
	if vs["delay_loop"] != "1m0s" || vs["lvs_method"] != "NAT" || vs["protocol"] != "TCP" || vs["lvs_sched"] != "wlc" {
		t.Errorf("virtual server = %v", vs)
	}
	ch := vs["real_servers"].([]any)[0].(map[string]any)["checkers"].([]any)[0].(map[string]any)
	if ch["type"] != "UDP_CHECK" || ch["udp"].(map[string]any)["payload"] != "0102ff" || ch["connect_timeout"] != "5s" {
		t.Errorf("checker = %v", ch)
	}
	if _, ok := m["global_defs"].(map[string]any)["vrrp_version"]; !ok {
		t.Error("global_defs.vrrp_version missing")
	}
	// encoding/json uses MarshalJSON too.
	if raw2, err := json.Marshal(c); err != nil || !json.Valid(raw2) {
		t.Errorf("json.Marshal: %v", err)
	}
}

func TestEnumStrings(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{FamilyIPv4.String(), "inet"}, {FamilyIPv6.String(), "inet6"}, {Family(9).String(), "family(9)"},
		{StateMaster.String(), "MASTER"}, {StateBackup.String(), "BACKUP"}, {State(7).String(), "state(7)"},
		{AuthPass.String(), "PASS"}, {AuthAH.String(), "AH"}, {AuthType(5).String(), "auth(5)"},
		{ForwardDR.String(), "DR"}, {ForwardTUN.String(), "TUN"}, {ForwardMethod(8).String(), "method(8)"},
		{ProtoSCTP.String(), "SCTP"}, {Protocol(4).String(), "proto(4)"},
		{VSFWMark.String(), "fwmark"}, {VSKind(4).String(), "vskind(4)"},
		{CheckFile.String(), "FILE_CHECK"}, {CheckerType(99).String(), "checker(99)"},
	} {
		if tt.got != tt.want {
			t.Errorf("String() = %q; want %q", tt.got, tt.want)
		}
	}
}
