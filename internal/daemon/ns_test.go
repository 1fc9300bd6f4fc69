package daemon_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

// Namespace tests: real lbd processes (built once by TestMain) in lab
// hosts on a bridge, a client probing who owns the VIP. Each runs on both
// receive paths (eachDatapath): the XDP program and raw sockets alone.

func TestMain(m *testing.M) { daemontest.Main(m) }

// datapaths are the --datapath values every namespace test runs with:
// auto (native XDP on veth: the program absorbs the adverts) and off (raw
// sockets alone). The observable behaviour must be the same.
var datapaths = []string{"auto", "off"}

// eachDatapath runs fn as one parallel subtest per datapath, each with its
// own lab.
func eachDatapath(t *testing.T, fn func(t *testing.T, dp string)) {
	for _, dp := range datapaths {
		t.Run(dp, func(t *testing.T) {
			t.Parallel()
			fn(t, dp)
		})
	}
}

// wantTier is the tier an instance's adverts take under --datapath dp on
// a veth.
func wantTier(dp string) string {
	if dp == "auto" {
		return "xdp"
	}
	return "none"
}

// onPath checks that the instance's adverts take dp's path (so that the
// test exercised it).
func onPath(t *testing.T, n *daemontest.Node, inst, dp string) {
	t.Helper()
	s, err := n.Instance(inst)
	if err != nil {
		t.Fatal(err)
	}
	if s.Datapath != wantTier(dp) {
		t.Errorf("%s: %s datapath %q (%s), want %q", n.Host.Name(), inst, s.Datapath, s.DatapathNote, wantTier(dp))
	}
}

// lan is two lbd hosts and a client on one bridge.
type lan struct {
	lab            *netns.Lab
	k1, k2, client *netns.Host
}

func newLAN(t *testing.T) *lan {
	t.Helper()
	testutil.RequireRoot(t)
	lab := netns.New(t, netns.Options{})
	l := &lan{lab: lab, k1: lab.Host("k1"), k2: lab.Host("k2"), client: lab.Host("client")}
	br := lab.Bridge("lan")
	lab.Connect(l.k1, "eth0", br, "192.0.2.1/24", "2001:db8::1/64")
	lab.Connect(l.k2, "eth0", br, "192.0.2.2/24", "2001:db8::2/64")
	lab.Connect(l.client, "eth0", br, "192.0.2.3/24", "2001:db8::3/64")
	return l
}

func instanceConf(name string, prio int, body string) string {
	return fmt.Sprintf(`vrrp_instance %s {
  interface eth0
  priority %d
%s
}
`, name, prio, body)
}

const v4Body = `  virtual_router_id 51
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }`

func metric(t *testing.T, n *daemontest.Node, name string, labels ...string) float64 {
	t.Helper()
	m, err := n.Metrics()
	if err != nil {
		t.Fatalf("metrics of %s: %v", n.Host.Name(), err)
	}
	v, ok := m.Get(name, labels...)
	if !ok {
		t.Fatalf("%s: no single series %s%v", n.Host.Name(), name, labels)
	}
	return v
}

// owner waits until exactly one MAC answers for vip and it is want's.
func owner(t *testing.T, client *netns.Host, vip string, want *netns.Host, timeout time.Duration) {
	t.Helper()
	wantMAC := want.MAC("eth0").String()
	netns.Eventually(t, timeout, vip+" owned by "+want.Name(), func() error {
		mac, err := client.Owner("eth0", vip, 2*time.Second)
		if err != nil {
			return err
		}
		if mac.String() != wantMAC {
			return fmt.Errorf("owner %v, want %s (%s)", mac, wantMAC, want.Name())
		}
		return nil
	})
}

func TestDaemonElectionAndCrash(t *testing.T) {
	eachDatapath(t, func(t *testing.T, dp string) {
		l := newLAN(t)
		n1 := daemontest.Start(t, l.k1, instanceConf("VI_1", 150, v4Body), "--datapath", dp)
		n2 := daemontest.Start(t, l.k2, instanceConf("VI_1", 100, v4Body), "--datapath", dp)

		if err := n1.WaitState("VI_1", "MASTER", 20*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := n2.WaitState("VI_1", "BACKUP", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		onPath(t, n1, "VI_1", dp)
		onPath(t, n2, "VI_1", dp)
		owner(t, l.client, "192.0.2.100", l.k1, 10*time.Second)
		if err := l.client.Ping("192.0.2.100"); err != nil {
			t.Errorf("ping VIP: %v", err)
		}

		// lbd status --json, through the CLI, on both.
		s1, err := n1.Instance("VI_1")
		if err != nil {
			t.Fatal(err)
		}
		if s1.State != "MASTER" || s1.MasterAddress != "192.0.2.1" || s1.Priority != 150 || s1.LastReason != "master_down_timer" ||
			s1.VRID != 51 || s1.Version != 2 || s1.Family != "ipv4" || len(s1.VIPs) != 1 || s1.VIPs[0] != "192.0.2.100/24" {
			t.Errorf("k1 status %+v", s1)
		}
		netns.Eventually(t, 10*time.Second, "k2 following k1", func() error {
			s2, err := n2.Instance("VI_1")
			if err != nil {
				return err
			}
			if s2.State != "BACKUP" || s2.MasterAddress != "192.0.2.1" || s2.MasterPriority != 150 || s2.Counters.AdvertsReceived == 0 {
				return fmt.Errorf("k2 status %+v", s2)
			}
			return nil
		})
		if !l.k1.HasAddr("eth0", "192.0.2.100") || l.k2.HasAddr("eth0", "192.0.2.100") {
			t.Errorf("VIP on k1: %v, on k2: %v; want k1 only", l.k1.HasAddr("eth0", "192.0.2.100"), l.k2.HasAddr("eth0", "192.0.2.100"))
		}

		// /metrics: the state gauges, in keepalived's encoding.
		if v := metric(t, n1, "lbd_vrrp_state", "instance", "VI_1", "vrid", "51"); v != 2 {
			t.Errorf("k1 lbd_vrrp_state %v, want 2", v)
		}
		if v := metric(t, n2, "lbd_vrrp_state", "instance", "VI_1", "vrid", "51"); v != 1 {
			t.Errorf("k2 lbd_vrrp_state %v, want 1", v)
		}
		if v := metric(t, n1, "lbd_vrrp_transitions_total", "instance", "VI_1", "to", "MASTER", "reason", "master_down_timer"); v != 1 {
			t.Errorf("k1 transitions to MASTER %v", v)
		}
		if m, err := n1.Metrics(); err != nil || m.Sum("lbd_vrrp_timer_lateness_seconds_count") == 0 {
			t.Errorf("no timer lateness observed (%v)", err)
		}

		// SIGKILL the master: no priority-0 advert, so k2 waits out the
		// master-down interval and takes over.
		n1.Kill()
		if err := n2.WaitState("VI_1", "MASTER", 15*time.Second); err != nil {
			t.Fatal(err)
		}
		s2, err := n2.Instance("VI_1")
		if err != nil {
			t.Fatal(err)
		}
		if s2.LastReason != "master_down_timer" || s2.MasterAddress != "192.0.2.2" {
			t.Errorf("k2 after takeover %+v", s2)
		}
		// The killed lbd left its VIP behind (as a crashed keepalived does);
		// its host is gone from the LAN for this test's purpose.
		l.k1.SetLink("eth0", false)
		owner(t, l.client, "192.0.2.100", l.k2, 10*time.Second)
		if v := metric(t, n2, "lbd_vrrp_state", "instance", "VI_1", "vrid", "51"); v != 2 {
			t.Errorf("k2 lbd_vrrp_state %v after takeover, want 2", v)
		}

		// A restarted lbd removes the VIP its killed predecessor recorded.
		if !l.k1.HasAddr("eth0", "192.0.2.100") {
			t.Fatal("the killed lbd's VIP is not on k1")
		}
		n1b := daemontest.Start(t, l.k1, instanceConf("VI_1", 150, v4Body), "--run-dir", n1.RunDir, "--datapath", dp)
		if err := n1b.WaitState("VI_1", "FAULT", 10*time.Second); err != nil { // its link is down
			t.Error(err)
		}
		if l.k1.HasAddr("eth0", "192.0.2.100") {
			t.Error("VIP left by the killed lbd still on k1 after restart")
		}
		if !strings.Contains(n1b.Log(), "removed vip left by a previous run") {
			t.Errorf("no leftover removal logged:\n%s", n1b.Log())
		}
	})
}

func TestDaemonGracefulStop(t *testing.T) {
	eachDatapath(t, func(t *testing.T, dp string) {
		l := newLAN(t)
		n1 := daemontest.Start(t, l.k1, instanceConf("VI_1", 150, v4Body), "--datapath", dp)
		n2 := daemontest.Start(t, l.k2, instanceConf("VI_1", 100, v4Body), "--datapath", dp)
		if err := n1.WaitState("VI_1", "MASTER", 20*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := n2.WaitState("VI_1", "BACKUP", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		owner(t, l.client, "192.0.2.100", l.k1, 10*time.Second)

		wire := l.client.Capture("eth0", netns.IsVRRP)
		k1 := netip.MustParseAddr("192.0.2.1")
		if err := n1.Stop(); err != nil {
			t.Fatal(err)
		}
		f, err := wire.WaitFor(5*time.Second, func(f *netns.Frame) bool {
			return f.IP != nil && f.IP.Src == k1 && f.VRRP.Priority == 0
		})
		if err != nil {
			t.Fatalf("no priority-0 advert from k1 on the wire: %v", err)
		}
		if f.VRRP.VRID != 51 || f.IP.TTL != 255 || f.IP.Dst != netip.MustParseAddr("224.0.0.18") {
			t.Errorf("priority-0 advert %v", f)
		}
		if l.k1.HasAddr("eth0", "192.0.2.100") {
			t.Error("VIP still on k1 after SIGTERM")
		}
		if !strings.Contains(n1.Log(), "from=MASTER to=STOP reason=shutdown") {
			t.Errorf("no shutdown transition logged:\n%s", n1.Log())
		}
		// k2 takes over on the priority-0 advert (Skew_Time, not 3 intervals).
		if err := n2.WaitState("VI_1", "MASTER", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if s, err := n2.Instance("VI_1"); err != nil || s.LastReason != "priority_zero_received" || s.Counters.PriorityZeroReceived != 1 {
			t.Errorf("k2 after k1's stop: %+v (%v)", s, err)
		}
		owner(t, l.client, "192.0.2.100", l.k2, 10*time.Second)
	})
}

func TestDaemonIPv6(t *testing.T) {
	eachDatapath(t, func(t *testing.T, dp string) {
		l := newLAN(t)
		for _, h := range []*netns.Host{l.k1, l.k2, l.client} {
			h.WaitLinkLocal("eth0", 10*time.Second)
		}
		body := `  virtual_router_id 61
	  version 3
	  advert_int 0.1
	  virtual_ipaddress {
	    2001:db8::100/64
	  }`
		n1 := daemontest.Start(t, l.k1, instanceConf("VI_6", 200, body), "--datapath", dp)
		n2 := daemontest.Start(t, l.k2, instanceConf("VI_6", 100, body), "--datapath", dp)
		if err := n1.WaitState("VI_6", "MASTER", 20*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := n2.WaitState("VI_6", "BACKUP", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		onPath(t, n2, "VI_6", dp)
		owner(t, l.client, "2001:db8::100", l.k1, 10*time.Second)
		ll1 := l.k1.WaitLinkLocal("eth0", time.Second).WithZone("")
		netns.Eventually(t, 10*time.Second, "k2 following k1's link-local", func() error {
			s, err := n2.Instance("VI_6")
			if err != nil {
				return err
			}
			if s.Family != "ipv6" || s.Version != 3 || s.MasterAddress != ll1.String() || s.AdvertInterval != 0.1 {
				return fmt.Errorf("k2 status %+v", s)
			}
			return nil
		})
		if v := metric(t, n2, "lbd_vrrp_state", "instance", "VI_6", "vrid", "61"); v != 1 {
			t.Errorf("k2 lbd_vrrp_state %v", v)
		}

		wire := l.client.Capture("eth0", netns.IsVRRP)
		if err := n1.Stop(); err != nil {
			t.Fatal(err)
		}
		if _, err := wire.WaitFor(5*time.Second, func(f *netns.Frame) bool {
			return f.IP != nil && f.IP.Src == ll1 && f.VRRP.Priority == 0 && f.VRRP.Version == 3 &&
				f.IP.Dst == netip.MustParseAddr("ff02::12") && f.IP.TTL == 255
		}); err != nil {
			t.Fatalf("no VRRPv3 priority-0 advert from k1: %v", err)
		}
		if l.k1.HasAddr("eth0", "2001:db8::100") {
			t.Error("IPv6 VIP still on k1 after SIGTERM")
		}
		if err := n2.WaitState("VI_6", "MASTER", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		owner(t, l.client, "2001:db8::100", l.k2, 10*time.Second)
	})
}

func TestDaemonUnicast(t *testing.T) {
	eachDatapath(t, func(t *testing.T, dp string) {
		l := newLAN(t)
		conf := func(prio int, src, peer string) string {
			return instanceConf("VI_U", prio, fmt.Sprintf(`  virtual_router_id 71
	  advert_int 1
	  unicast_src_ip %s
	  unicast_peer {
	    %s
	  }
	  virtual_ipaddress {
	    192.0.2.200/24
	  }`, src, peer))
		}
		// On the sender's side: k2's program drops what it handles before
		// a capture on k2 could see it.
		wire := l.k1.Capture("eth0", netns.IsVRRP)
		n1 := daemontest.Start(t, l.k1, conf(150, "192.0.2.1", "192.0.2.2"), "--datapath", dp)
		n2 := daemontest.Start(t, l.k2, conf(100, "192.0.2.2", "192.0.2.1"), "--datapath", dp)
		if err := n1.WaitState("VI_U", "MASTER", 20*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := n2.WaitState("VI_U", "BACKUP", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		onPath(t, n2, "VI_U", dp)
		owner(t, l.client, "192.0.2.200", l.k1, 10*time.Second)
		k1, k2 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
		f, err := wire.WaitFor(5*time.Second, func(f *netns.Frame) bool { return f.IP != nil && f.IP.Src == k1 })
		if err != nil {
			t.Fatal(err)
		}
		if f.IP.Dst != k2 || f.VRRP.Priority != 150 || f.VRRP.VRID != 71 {
			t.Errorf("advert from k1: %v; want unicast to %v", f, k2)
		}
		s2, err := n2.Instance("VI_U")
		if err != nil {
			t.Fatal(err)
		}
		if !s2.Unicast || len(s2.Peers) != 1 || s2.Peers[0] != "192.0.2.1" || s2.MasterAddress != "192.0.2.1" || s2.Group != "" {
			t.Errorf("k2 status %+v", s2)
		}
		if v := metric(t, n2, "lbd_vrrp_adverts_received_total", "instance", "VI_U"); v == 0 {
			t.Error("k2 received no unicast adverts")
		}
		if err := n1.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := n2.WaitState("VI_U", "MASTER", 5*time.Second); err != nil {
			t.Fatal(err)
		}
	})
}
