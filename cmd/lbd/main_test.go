package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runLBD runs the CLI in-process and returns its exit status and output.
func runLBD(args ...string) (int, string, string) {
	var out, errw bytes.Buffer
	code := run(args, &out, &errw)
	return code, out.String(), errw.String()
}

func writeConf(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const validConf = `global_defs {
  router_id lbd_test
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
@node1  priority 150
@^node1 priority 50
  debug 1
  virtual_ipaddress {
    192.168.200.16/24
  }
}
`

func TestCheckValid(t *testing.T) {
	p := writeConf(t, validConf)
	code, out, errs := runLBD("check", "--config", p)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errs)
	}
	if !strings.Contains(out, p+": valid: 1 vrrp instance, 0 virtual servers,") {
		t.Errorf("stdout = %q", out)
	}
	if !strings.Contains(errs, p+":9: warning: vrrp_instance.debug is parsed but not implemented yet (debug levels (not implemented by keepalived either))") {
		t.Errorf("stderr lacks the debug warning:\n%s", errs)
	}
}

func TestCheckAliasesAndJSON(t *testing.T) {
	p := writeConf(t, validConf)
	for _, args := range [][]string{
		{"check", "-f", p, "--json", "--config-id", "node1"},
		{"check", "-f", p, "-json", "-i", "node1"},
	} {
		code, out, errs := runLBD(args...)
		if code != 0 {
			t.Fatalf("%q: exit %d; stderr:\n%s", args, code, errs)
		}
		var m struct {
			Instances []struct {
				Priority  int    `json:"priority"`
				AdvertInt string `json:"advert_int"`
			} `json:"vrrp_instances"`
			Global struct {
				RouterID string `json:"router_id"`
			} `json:"global_defs"`
		}
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%q: stdout is not JSON: %v\n%s", args, err, out)
		}
		if len(m.Instances) != 1 || m.Instances[0].Priority != 150 || m.Instances[0].AdvertInt != "1s" || m.Global.RouterID != "lbd_test" {
			t.Errorf("%q: model = %+v", args, m)
		}
	}
	// Another config id picks the other line.
	code, out, _ := runLBD("check", "-f", p, "--json", "--config-id", "node2")
	if code != 0 || !strings.Contains(out, `"priority": 50`) {
		t.Errorf("config id node2: exit %d, priority 50 not in output", code)
	}
}

func TestCheckInvalid(t *testing.T) {
	p := writeConf(t, "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 300\n  priority 0\n}\nreal_server 1.2.3.4 80 {\n}\n")
	code, out, errs := runLBD("check", "--config", p)
	if code != 1 {
		t.Fatalf("exit %d; want 1", code)
	}
	if out != "" {
		t.Errorf("stdout = %q; want nothing", out)
	}
	for _, want := range []string{
		p + ":3: vrrp_instance VI_1: virtual_router_id 300: out of range 1-255",
		p + ":4: vrrp_instance VI_1: priority 0: out of range 1-255",
		p + ":6: real_server outside virtual_server",
		p + ": invalid: 3 errors,",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	// --json prints nothing for an invalid configuration.
	if code, out, _ := runLBD("check", "--config", p, "--json"); code != 1 || out != "" {
		t.Errorf("--json on invalid: exit %d, stdout %q", code, out)
	}
}

func TestCheckMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.conf")
	code, _, errs := runLBD("check", "-f", p)
	if code != 1 || !strings.Contains(errs, p+": no such file or directory") {
		t.Errorf("exit %d; stderr:\n%s", code, errs)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage: lbd <command>"},
		{[]string{"frobnicate"}, 2, `lbd: unknown command "frobnicate"`},
		{[]string{"check"}, 2, "lbd check: --config FILE is required"},
		{[]string{"check", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"check", "-f", "a.conf", "extra"}, 2, `lbd check: unexpected argument "extra"`},
		{[]string{"version", "extra"}, 2, `lbd version: unexpected argument "extra"`},
		{[]string{"check", "-h"}, 0, "usage: lbd check --config FILE"},
	} {
		code, _, errs := runLBD(tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("lbd %q: exit %d (want %d); stderr:\n%s", tt.args, code, tt.code, errs)
		}
	}
	code, out, _ := runLBD("help")
	if code != 0 || !strings.Contains(out, "check") || !strings.Contains(out, "version") {
		t.Errorf("lbd help: exit %d, %q", code, out)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runLBD("version")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "lbd ") || !strings.HasPrefix(lines[1], "commit ") || !strings.HasPrefix(lines[2], "go1.") {
		t.Errorf("exit %d; output:\n%s", code, out)
	}
	old := version
	version, commit = "v1.2.3", "abc123"
	defer func() { version, commit = old, "" }()
	if _, out, _ := runLBD("version"); !strings.HasPrefix(out, "lbd v1.2.3\ncommit abc123\n") {
		t.Errorf("with -X values: %q", out)
	}
}
