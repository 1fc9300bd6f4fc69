package daemon_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

// twoLANs is two lbd hosts and a client on two bridges: eth0 on "lan",
// eth1 on "lan2".
type twoLANs struct {
	lab            *netns.Lab
	k1, k2, client *netns.Host
}

func newTwoLANs(t *testing.T) *twoLANs {
	t.Helper()
	testutil.RequireRoot(t)
	lab := netns.New(t, netns.Options{})
	l := &twoLANs{lab: lab, k1: lab.Host("k1"), k2: lab.Host("k2"), client: lab.Host("client")}
	lan, lan2 := lab.Bridge("lan"), lab.Bridge("lan2")
	for i, h := range []*netns.Host{l.k1, l.k2, l.client} {
		lab.Connect(h, "eth0", lan, fmt.Sprintf("192.0.2.%d/24", i+1))
		lab.Connect(h, "eth1", lan2, fmt.Sprintf("198.51.100.%d/24", i+1))
	}
	return l
}

// ownerOn waits until want's ifname answers for vip on the client's
// ifname, and nobody else.
func ownerOn(t *testing.T, client *netns.Host, ifname, vip string, want *netns.Host, timeout time.Duration) {
	t.Helper()
	wantMAC := want.MAC(ifname).String()
	netns.Eventually(t, timeout, vip+" owned by "+want.Name(), func() error {
		mac, err := client.Owner(ifname, vip, 2*time.Second)
		if err != nil {
			return err
		}
		if mac.String() != wantMAC {
			return fmt.Errorf("owner %v, want %s (%s)", mac, wantMAC, want.Name())
		}
		return nil
	})
}

func syncGroupConf(prio int, extra string) string {
	return fmt.Sprintf(`vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
%[2]s
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 81
  priority %[1]d
  version 3
  advert_int 0.3
  virtual_ipaddress {
    192.0.2.100/24
  }
}
vrrp_instance VI_2 {
  interface eth1
  virtual_router_id 82
  priority %[1]d
  version 3
  advert_int 0.3
  virtual_ipaddress {
    198.51.100.100/24
  }
}
`, prio, extra)
}

// TestDaemonSyncGroupFailover: a sync group of two instances on two
// interfaces fails over together when one link drops: VI_1's network is
// fine, but it moves with VI_2 (the seed document's point of sync groups).
func TestDaemonSyncGroupFailover(t *testing.T) {
	l := newTwoLANs(t)
	n1 := daemontest.Start(t, l.k1, syncGroupConf(150, ""))
	n2 := daemontest.Start(t, l.k2, syncGroupConf(100, ""))
	for _, in := range []string{"VI_1", "VI_2"} {
		if err := n1.WaitState(in, "MASTER", 20*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := n2.WaitState(in, "BACKUP", 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	ownerOn(t, l.client, "eth0", "192.0.2.100", l.k1, 10*time.Second)
	ownerOn(t, l.client, "eth1", "198.51.100.100", l.k1, 10*time.Second)
	st, err := n1.Status()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.SyncGroups) != 1 || st.SyncGroups[0].State != "MASTER" || st.Instance("VI_1").SyncGroup != "G" {
		t.Errorf("k1 sync groups %+v", st.SyncGroups)
	}

	// k1 loses eth1: VI_2 goes FAULT, the group with it, and VI_1
	// follows although eth0 is up; k2 takes both.
	l.k1.SetLink("eth1", false)
	for _, in := range []string{"VI_1", "VI_2"} {
		if err := n1.WaitState(in, "FAULT", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := n2.WaitState(in, "MASTER", 15*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	ownerOn(t, l.client, "eth0", "192.0.2.100", l.k2, 10*time.Second)
	ownerOn(t, l.client, "eth1", "198.51.100.100", l.k2, 10*time.Second)
	st, err = n1.Status()
	if err != nil {
		t.Fatal(err)
	}
	if g := st.SyncGroups[0]; g.State != "FAULT" || g.FaultyMembers != 1 {
		t.Errorf("k1 group %+v", g)
	}
	if s := st.Instance("VI_1"); s.LastReason != "sync_group" || len(s.Faults) != 0 {
		t.Errorf("k1 VI_1: reason %s, faults %q; want forced by the group", s.LastReason, s.Faults)
	}
	if l.k1.HasAddr("eth0", "192.0.2.100") {
		t.Error("k1 kept VI_1's VIP")
	}
	if v := metric(t, n2, "lbd_vrrp_sync_group_state", "group", "G"); v != 2 {
		t.Errorf("k2 lbd_vrrp_sync_group_state %v", v)
	}

	// eth1 back: the group leaves FAULT together and k1 preempts both.
	l.k1.SetLink("eth1", true)
	for _, in := range []string{"VI_1", "VI_2"} {
		if err := n1.WaitState(in, "MASTER", 20*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := n2.WaitState(in, "BACKUP", 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	ownerOn(t, l.client, "eth0", "192.0.2.100", l.k1, 10*time.Second)
	ownerOn(t, l.client, "eth1", "198.51.100.100", l.k1, 10*time.Second)
}
