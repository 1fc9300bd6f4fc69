package daemon_test

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

// TestDaemonSMTPAlert: smtp_alert mails reach a real SMTP server (Debian's
// exim, in its own host) with router_id in the subject, the configured
// sender and recipients; an lbd whose smtp_server is dead only logs and
// counts the failure and runs on.
func TestDaemonSMTPAlert(t *testing.T) {
	testutil.RequireRoot(t)
	lab := netns.New(t, netns.Options{})
	k1, k2, mx := lab.Host("k1"), lab.Host("k2"), lab.Host("mx")
	br := lab.Bridge("lan")
	lab.Connect(k1, "eth0", br, "192.0.2.1/24")
	lab.Connect(k2, "eth0", br, "192.0.2.2/24")
	lab.Connect(mx, "eth0", br, "192.0.2.25/24")
	ex := netns.StartExim(t, mx, "192.0.2.25", 2525)
	netns.Eventually(t, 30*time.Second, "exim listening", func() error {
		return k1.Do(func() error {
			c, err := net.DialTimeout("tcp", ex.Addr, time.Second)
			if err != nil {
				return err
			}
			return c.Close()
		})
	})

	conf := func(router, server string, port, vrid int) string {
		return fmt.Sprintf(`global_defs {
  notification_email {
    ops@lbd.test
    noc@lbd.test
  }
  notification_email_from lbd@%[1]s.lbd.test
  smtp_server %[2]s %[3]d
  smtp_helo_name %[1]s.lbd.test
  smtp_connect_timeout 5
  router_id %[1]s
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id %[4]d
  version 3
  advert_int 0.3
  smtp_alert
  virtual_ipaddress {
    192.0.2.%[4]d/24
  }
}
`, router, server, port, vrid)
	}
	n1 := daemontest.Start(t, k1, conf("LB1", "192.0.2.25", 2525, 101))
	n2 := daemontest.Start(t, k2, conf("LB2", "192.0.2.25", 2599, 102)) // nobody listens there
	for _, n := range []*daemontest.Node{n1, n2} {
		if err := n.WaitState("VI_1", "MASTER", 20*time.Second); err != nil {
			t.Fatal(err)
		}
	}

	// k1: BACKUP at start, then MASTER, each mailed.
	var msgs [][2]string
	netns.Eventually(t, 30*time.Second, "2 messages in exim's spool", func() error {
		all := ex.Messages()
		if len(all) < 2 {
			return fmt.Errorf("%d messages", len(all))
		}
		var ids []string
		for id := range all {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		msgs = nil
		for _, id := range ids {
			msgs = append(msgs, all[id])
		}
		return nil
	})
	for i, want := range []struct{ subject, body string }{
		{"[LB1] VRRP Instance VI_1 - Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="},
		{"[LB1] VRRP Instance VI_1 - Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="},
	} {
		hdr, body := msgs[i][0], msgs[i][1]
		for _, s := range []string{
			"<lbd@LB1.lbd.test>",
			"ops@lbd.test\nnoc@lbd.test\n",
			"Subject: " + want.subject + "\n",
			"To: ops@lbd.test, noc@lbd.test\n",
			"helo_name LB1.lbd.test",
			"host_address [192.0.2.1]:",
		} {
			if !strings.Contains(hdr, s) {
				t.Errorf("message %d lacks %q:\n%s", i, s, hdr)
			}
		}
		if !strings.Contains(body, want.body) {
			t.Errorf("message %d body %q lacks %q", i, body, want.body)
		}
	}

	// k2's server is dead: failures counted and logged, VRRP unaffected.
	netns.Eventually(t, 20*time.Second, "k2's failed mails counted", func() error {
		m, err := n2.Metrics()
		if err != nil {
			return err
		}
		if v, _ := m.Get("lbd_smtp_alerts_total", "result", "failed"); v < 2 {
			return fmt.Errorf("failed %v", v)
		}
		return nil
	})
	if !strings.Contains(n2.Log(), "smtp alert failed") {
		t.Errorf("k2 logged no failed mail:\n%s", n2.Log())
	}
	netns.Eventually(t, 20*time.Second, "k1's sent mails counted", func() error {
		if v := metric(t, n1, "lbd_smtp_alerts_total", "result", "sent"); v < 2 {
			return fmt.Errorf("sent %v", v)
		}
		return nil
	})
	if err := n2.Stop(); err != nil {
		t.Error(err)
	}
	if err := n1.Stop(); err != nil {
		t.Error(err)
	}
	netns.Eventually(t, 30*time.Second, "the stop mailed", func() error {
		for _, m := range ex.Messages() {
			if strings.Contains(m[0], "Subject: [LB1] VRRP Instance VI_1 - Stopping") {
				return nil
			}
		}
		return fmt.Errorf("no Stopping mail yet")
	})
}
