package daemon_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

// TestDaemonRoutes: virtual_routes and virtual_rules are in place while
// the instance is MASTER and gone when it leaves MASTER (here: FAULT);
// a reload changes them in place; static_ipaddress, static_routes and
// static_rules are set up at start and removed at stop.
func TestDaemonRoutes(t *testing.T) {
	testutil.RequireRoot(t)
	lab := netns.New(t, netns.Options{})
	k1 := lab.Host("k1")
	br := lab.Bridge("lan")
	lab.Connect(k1, "eth0", br, "192.0.2.1/24")
	lab.Connect(k1, "eth1", br, "192.0.2.11/24")

	conf := func(routes string) string {
		return `static_ipaddress {
  198.51.100.9/24 dev eth1
}
static_routes {
  203.0.113.0/24 via 192.0.2.254 dev eth0 table 200
}
static_rules {
  from 198.51.100.9 table 200 priority 2000
}
vrrp_instance VI_R {
  interface eth0
  virtual_router_id 141
  version 3
  advert_int 0.3
  track_interface {
    eth1
  }
  virtual_ipaddress {
    192.0.2.141/24
  }
  virtual_routes {
` + routes + `
  }
  virtual_rules {
    from 192.0.2.141 table 100 priority 100
  }
}
`
	}
	ipOut := func(args ...string) string {
		out, err := k1.Run("ip", args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	has := func(what string, present bool, args ...string) error {
		out := ipOut(args...)
		if strings.Contains(out, what) != present {
			return fmt.Errorf("ip %s: %q present %v, want %v:\n%s", strings.Join(args, " "), what, !present, present, out)
		}
		return nil
	}
	n := daemontest.Start(t, k1, conf("    src 192.0.2.141 10.9.0.0/16 via 192.0.2.254 dev eth0 table 100\n    blackhole 10.10.0.0/16"))
	// The statics are there from the start.
	netns.Eventually(t, 10*time.Second, "static setup", func() error {
		for _, c := range []error{
			has("198.51.100.9/24", true, "-4", "addr", "show", "dev", "eth1"),
			has("203.0.113.0/24 via 192.0.2.254 dev eth0 proto keepalived", true, "route", "show", "table", "200"),
			has("2000:\tfrom 198.51.100.9 lookup 200 proto keepalived", true, "rule", "show"),
		} {
			if c != nil {
				return c
			}
		}
		return nil
	})
	if err := n.WaitState("VI_R", "MASTER", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	virtual := func(present bool) func() error {
		return func() error {
			for _, c := range []error{
				has("10.9.0.0/16 via 192.0.2.254 dev eth0 proto keepalived src 192.0.2.141", present, "route", "show", "table", "100"),
				has("blackhole 10.10.0.0/16 proto keepalived", present, "route", "show"),
				has("100:\tfrom 192.0.2.141 lookup 100 proto keepalived", present, "rule", "show"),
			} {
				if c != nil {
					return c
				}
			}
			return nil
		}
	}
	netns.Eventually(t, 10*time.Second, "virtual routes and rules as MASTER", virtual(true))

	// Leaving MASTER takes them away; coming back puts them back.
	k1.SetLink("eth1", false)
	if err := n.WaitState("VI_R", "FAULT", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	netns.Eventually(t, 10*time.Second, "no virtual routes in FAULT", virtual(false))
	k1.SetLink("eth1", true)
	if err := n.WaitState("VI_R", "MASTER", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	netns.Eventually(t, 10*time.Second, "virtual routes back", virtual(true))

	// A reload drops the blackhole and adds another route, in place.
	if err := os.WriteFile(n.ConfigPath, []byte(conf("    src 192.0.2.141 10.9.0.0/16 via 192.0.2.254 dev eth0 table 100\n    unreachable 10.11.0.0/16")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := reload(t, n); !strings.Contains(out, "VI_R changed in place: virtual routes/rules") {
		t.Errorf("reload:\n%s", out)
	}
	netns.Eventually(t, 10*time.Second, "routes after the reload", func() error {
		for _, c := range []error{
			has("blackhole 10.10.0.0/16", false, "route", "show"),
			has("unreachable 10.11.0.0/16 proto keepalived", true, "route", "show"),
			has("10.9.0.0/16 via 192.0.2.254", true, "route", "show", "table", "100"),
		} {
			if c != nil {
				return c
			}
		}
		return nil
	})
	if s, err := n.Instance("VI_R"); err != nil || s.State != "MASTER" {
		t.Errorf("after the reload: %+v %v", s, err)
	}

	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []error{
		has("198.51.100.9", false, "-4", "addr", "show", "dev", "eth1"),
		has("203.0.113.0/24", false, "route", "show", "table", "200"),
		has("from 198.51.100.9", false, "rule", "show"),
		has("10.9.0.0/16", false, "route", "show", "table", "100"),
		has("10.11.0.0/16", false, "route", "show"),
		has("from 192.0.2.141", false, "rule", "show"),
	} {
		if c != nil {
			t.Error(c)
		}
	}
}
