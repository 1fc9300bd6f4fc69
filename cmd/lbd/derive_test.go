package main

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/lbdproject/lbd/internal/daemon"
	"github.com/lbdproject/lbd/pkg/config"
)

// TestCheckAgreesWithRun checks that "lbd check --json" shows the priority
// and state "lbd run" derives (keepalived's: state MASTER without priority
// is 255; priority 255 without state starts MASTER).
func TestCheckAgreesWithRun(t *testing.T) {
	for _, lines := range []string{
		"",
		"state MASTER",
		"state BACKUP",
		"priority 255",
		"state MASTER\n  priority 120",
		"priority 255\n  state BACKUP",
	} {
		text := fmt.Sprintf("vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  %s\n  virtual_ipaddress {\n    192.0.2.16/24\n  }\n}\n", lines)
		p := writeConf(t, text)
		code, out, errs := runLBD("check", "--config", p, "--json")
		if code != 0 {
			t.Fatalf("%q: exit %d; stderr:\n%s", lines, code, errs)
		}
		var m struct {
			Instances []struct {
				Priority int    `json:"priority"`
				State    string `json:"state"`
			} `json:"vrrp_instances"`
		}
		if err := json.Unmarshal([]byte(out), &m); err != nil || len(m.Instances) != 1 {
			t.Fatalf("%q: %v\n%s", lines, err, out)
		}

		cfg, diags := config.Load(p, config.Options{})
		tr := daemon.Translate(cfg, diags)
		if len(tr.Plans) != 1 {
			t.Fatalf("%q: %d plans, refused %v", lines, len(tr.Plans), tr.Refused)
		}
		run := tr.Plans[0].Config
		if m.Instances[0].Priority != int(run.Priority) || m.Instances[0].State != run.StartState.String() {
			t.Errorf("%q: lbd check shows priority %d, state %s; lbd run uses %d, %s", lines,
				m.Instances[0].Priority, m.Instances[0].State, run.Priority, run.StartState)
		}
	}
}
