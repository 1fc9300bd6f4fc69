package daemon

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lbdproject/lbd/pkg/netutil"
	"github.com/lbdproject/lbd/pkg/track"
)

func plan(t *testing.T, tr Translation, name string) Plan {
	t.Helper()
	for _, p := range tr.Plans {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no plan %s (refused %+v, fatal %q)", name, tr.Refused, tr.Fatal)
	return Plan{}
}

func hasWarning(tr Translation, sub string) bool {
	return slices.ContainsFunc(tr.Warnings, func(w string) bool { return strings.Contains(w, sub) })
}

func TestTranslateTracking(t *testing.T) {
	tr := translate(t, `
vrrp_script chk_ok {
  script "/bin/true"
  weight 10
  interval 2
  timeout 1
  rise 3
  fall 2
}
vrrp_script chk_unweighted {
  script "/bin/true"
}
vrrp_script chk_missing {
  script "/nonexistent/check arg"
}
track_file tf {
  file /tmp/lbd-test-track-file
  weight -5
}
vrrp_track_process tp {
  process nginx
  weight 20
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  track_interface {
    eth1 weight -30
    eth2
  }
  track_script {
    chk_ok
    chk_missing
    chk_unweighted weight 5 reverse
  }
  track_file {
    tf
  }
  track_process {
    tp
  }
  virtual_ipaddress {
    192.0.2.1
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 2
  track_script {
    chk_ok
  }
  virtual_ipaddress {
    192.0.2.2
  }
}
vrrp_instance VI_3 {
  interface eth1
  virtual_router_id 3
  track_interface {
    eth3 weight 10
  }
  virtual_ipaddress {
    192.0.2.3
  }
}
vrrp_sync_group G {
  group {
    VI_2
    VI_3
  }
  track_interface {
    eth9
  }
  track_script {
    chk_unweighted
  }
}
`)
	if len(tr.Fatal) > 0 || len(tr.Refused) > 0 {
		t.Fatalf("fatal %q refused %+v", tr.Fatal, tr.Refused)
	}
	if _, ok := tr.Scripts["chk_missing"]; ok || !hasWarning(tr, "vrrp_script chk_missing: disabled") {
		t.Errorf("missing script not disabled: %q", tr.Warnings)
	}
	def := tr.Scripts["chk_ok"]
	if def.Interval != 2*time.Second || def.Timeout != time.Second || def.Rise != 3 || def.Fall != 2 ||
		!slices.Equal(def.Cmd.Args, []string{"/bin/true"}) || def.Cmd.Path() != "/usr/bin/true" && def.Cmd.Path() != "/bin/true" {
		t.Errorf("chk_ok %+v (path %q)", def, def.Cmd.Path())
	}
	if tr.Files["tf"].Spec.Path != "/tmp/lbd-test-track-file" || tr.Processes["tp"].Process != "nginx" {
		t.Errorf("files %+v processes %+v", tr.Files, tr.Processes)
	}

	want := []track.Ref{
		{Kind: track.KindInterface, Name: "eth1", Weight: -30},
		{Kind: track.KindInterface, Name: "eth2"},
		{Kind: track.KindScript, Name: "chk_ok", Weight: 10},
		{Kind: track.KindScript, Name: "chk_unweighted", Weight: 5, Reverse: true},
		{Kind: track.KindFile, Name: "tf", Weight: -5},
		{Kind: track.KindProcess, Name: "tp", Weight: 20},
	}
	p1 := plan(t, tr, "VI_1")
	if diff := cmp.Diff(want, p1.Tracking.Refs); diff != "" || p1.Tracking.Primary != "eth0" {
		t.Errorf("VI_1 refs (-want +got):\n%s primary %q", diff, p1.Tracking.Primary)
	}
	if !hasWarning(tr, "test.conf:33: warning: vrrp_instance VI_1: track_script chk_missing: the script is disabled") {
		t.Errorf("no warning for the reference to a disabled script: %q", tr.Warnings)
	}

	// Sync group members: a weighted script is ignored, a weighted
	// interface becomes unweighted; the group's trackers apply with
	// their weights.
	p2 := plan(t, tr, "VI_2")
	want2 := []track.Ref{
		{Kind: track.KindInterface, Name: "eth9"},
		{Kind: track.KindScript, Name: "chk_unweighted"},
	}
	if diff := cmp.Diff(want2, p2.Tracking.Refs); diff != "" {
		t.Errorf("VI_2 refs (-want +got):\n%s", diff)
	}
	p3 := plan(t, tr, "VI_3")
	want3 := []track.Ref{
		{Kind: track.KindInterface, Name: "eth3"},
		{Kind: track.KindInterface, Name: "eth9"},
		{Kind: track.KindScript, Name: "chk_unweighted"},
	}
	if diff := cmp.Diff(want3, p3.Tracking.Refs); diff != "" {
		t.Errorf("VI_3 refs (-want +got):\n%s", diff)
	}
	for _, w := range []string{
		"vrrp_instance VI_2: script chk_ok with weight 10 ignored (sync group)",
		"vrrp_instance VI_3: interface eth3 with weight 10 weight set to 0 (sync group)",
	} {
		if !hasWarning(tr, w) {
			t.Errorf("no warning %q in %q", w, tr.Warnings)
		}
	}
	if len(tr.Groups) != 1 || !slices.Equal(tr.Groups[0].Members, []string{"VI_2", "VI_3"}) {
		t.Errorf("groups %+v", tr.Groups)
	}

	ts := wanted(&tr)
	if !slices.Equal(ts.ifaces, []string{"eth0", "eth1", "eth2", "eth3", "eth9"}) || len(ts.scripts) != 2 || len(ts.files) != 1 || len(ts.procs) != 1 {
		t.Errorf("trackers wanted %+v", ts)
	}
}

func TestTranslateNotify(t *testing.T) {
	tr := translate(t, `
global_defs {
  notification_email {
    ops@example.com
  }
  notification_email_from lbd@example.com
  smtp_server 192.0.2.25 2525
  smtp_connect_timeout 3
  router_id LB1
  smtp_alert
  notify_fifo /run/lbd-test.fifo
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  notify_master "/bin/echo master"
  notify "/bin/echo"
  notify_fault /nonexistent/fault
  notify_deleted
  notify_priority_changes
  virtual_ipaddress {
    192.0.2.1
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 2
  smtp_alert false
  virtual_ipaddress {
    192.0.2.2
  }
}
vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
  notify_backup "/bin/echo group backup"
}
`)
	p1, p2 := plan(t, tr, "VI_1"), plan(t, tr, "VI_2")
	s := p1.Notify.Scripts
	if s.Master == nil || !slices.Equal(s.Master.Args, []string{"/bin/echo", "master"}) || s.Any == nil || s.Fault != nil {
		t.Errorf("VI_1 scripts %+v", s)
	}
	if !hasWarning(tr, "vrrp_instance VI_1: notify_fault disabled") {
		t.Errorf("no warning for the missing notify_fault: %q", tr.Warnings)
	}
	if !p1.Notify.SendDeleted || !p1.Notify.PriorityChanges || !p1.Notify.SMTPAlert || p2.Notify.SMTPAlert {
		t.Errorf("VI_1 %+v VI_2 %+v", p1.Notify, p2.Notify)
	}
	if len(tr.Groups) != 1 || tr.Groups[0].Notify.Scripts.Backup == nil || !tr.Groups[0].Notify.SMTPAlert {
		t.Errorf("group %+v", tr.Groups)
	}
	if len(tr.Notify.FIFOs) != 1 || tr.Notify.FIFOs[0].Path != "/run/lbd-test.fifo" || tr.Notify.FIFOs[0].Kind != "notify_fifo" {
		t.Errorf("fifos %+v", tr.Notify.FIFOs)
	}
	m := tr.Notify.Mail
	if m == nil || m.Server != "192.0.2.25:2525" || m.From != "lbd@example.com" || !slices.Equal(m.To, []string{"ops@example.com"}) ||
		m.RouterID != "LB1" || m.ConnectTimeout != 3*time.Second {
		t.Errorf("mail %+v", m)
	}
}

func TestTranslateRoutes(t *testing.T) {
	tr := translate(t, `
static_ipaddress {
  198.51.100.9/24 dev eth1
}
static_routes {
  203.0.113.0/24 via 198.51.100.1 dev eth1 table 100 metric 5
}
static_rules {
  from 198.51.100.0/24 table 100 priority 1000
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {
    192.0.2.1/24
  }
  virtual_routes {
    src 192.0.2.1 10.9.0.0/16 via 192.0.2.254 dev eth0 protocol static mtu 1400
    blackhole 10.10.0.0/16
    10.11.0.0/16 encap mpls 100 via 192.0.2.254
  }
  virtual_rules {
    from 192.0.2.1 table main priority 100
  }
}
`)
	p := plan(t, tr, "VI_1")
	if len(p.Routes) != 2 || len(p.Rules) != 1 {
		t.Fatalf("routes %+v rules %+v (warnings %q)", p.Routes, p.Rules, tr.Warnings)
	}
	r := p.Routes[0]
	if r.Dev != "eth0" || r.Route.Dst != netip.MustParsePrefix("10.9.0.0/16") || r.Route.Src != netip.MustParseAddr("192.0.2.1") ||
		r.Route.Via != netip.MustParseAddr("192.0.2.254") || r.Route.Protocol != 4 || r.Route.Metrics[netutil.MetricMTU].Value != 1400 {
		t.Errorf("route %+v", r)
	}
	if p.Routes[1].Route.Type != netutil.RouteBlackhole {
		t.Errorf("blackhole %+v", p.Routes[1])
	}
	if !hasWarning(tr, "route 10.11.0.0/16 ignored: encap") {
		t.Errorf("encap not refused: %q", tr.Warnings)
	}
	if ru := p.Rules[0].Rule; ru.From != netip.MustParsePrefix("192.0.2.1/32") || ru.Table != 254 || *ru.Priority != 100 {
		t.Errorf("rule %+v", ru)
	}
	st := tr.Static
	if len(st.Addresses) != 1 || st.Addresses[0].Dev != "eth1" || len(st.Routes) != 1 || st.Routes[0].Route.Table != 100 ||
		st.Routes[0].Route.Metric != 5 || len(st.Rules) != 1 {
		t.Errorf("static %+v", st)
	}
}
