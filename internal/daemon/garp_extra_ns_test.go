package daemon_test

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

// TestDaemonGARPExtraIf: garp_extra_if sends, while MASTER, periodic
// gratuitous ARPs for a VIP on an interface other than the instance's
// (here from global_defs vrrp_garp_extra_if all 1); without "all" only
// VMAC interfaces get them, so VI_V's eth1 VIP has its transition burst
// only. Once the instance is BACKUP they stop.
func TestDaemonGARPExtraIf(t *testing.T) {
	testutil.RequireRoot(t)
	lab := netns.New(t, netns.Options{})
	k1, k2, client := lab.Host("k1"), lab.Host("k2"), lab.Host("client")
	lan, lan2 := lab.Bridge("lan"), lab.Bridge("lan2")
	lab.Connect(k1, "eth0", lan, "192.0.2.1/24")
	lab.Connect(k2, "eth0", lan, "192.0.2.2/24")
	lab.Connect(client, "eth0", lan, "192.0.2.3/24")
	lab.Connect(k1, "eth1", lan2, "198.51.100.1/24")
	lab.Connect(k2, "eth1", lan2, "198.51.100.2/24")
	lab.Connect(client, "eth1", lan2, "198.51.100.3/24")

	conf := `global_defs {
  vrrp_garp_extra_if all 1
}
vrrp_instance VI_X {
  interface eth0
  virtual_router_id 91
  priority %[1]d
  advert_int 1
  garp_master_repeat 1
  garp_master_delay 0
  virtual_ipaddress {
    192.0.2.191/24
    198.51.100.191/24 dev eth1
  }
}
vrrp_instance VI_V {
  interface eth0
  virtual_router_id 92
  priority %[1]d
  advert_int 1
  garp_master_repeat 1
  garp_master_delay 0
  garp_extra_if 1
  virtual_ipaddress {
    192.0.2.192/24
    198.51.100.192/24 dev eth1
  }
}
`
	garp := func(mac net.HardwareAddr, vip string) netns.Filter {
		a := netip.MustParseAddr(vip)
		return netns.And(netns.FromMAC(mac), func(f *netns.Frame) bool {
			return f.ARP != nil && f.ARP.Gratuitous() && f.ARP.SenderIP == a
		})
	}
	mac1, mac2 := k1.MAC("eth1"), k2.MAC("eth1")
	wire := client.Capture("eth1", func(f *netns.Frame) bool { return f.ARP != nil && f.ARP.Gratuitous() })

	n1 := daemontest.Start(t, k1, fmt.Sprintf(conf, 150))
	waitState(t, n1, "VI_X", "MASTER", 20*time.Second)
	waitState(t, n1, "VI_V", "MASTER", 20*time.Second)
	// The transition burst, then at least two periodic ones.
	if _, err := wire.WaitN(30*time.Second, 3, garp(mac1, "198.51.100.191")); err != nil {
		t.Fatalf("periodic gratuitous ARPs of 198.51.100.191 on eth1: %v\n%s", err, n1.Log())
	}

	// A higher priority peer takes over: k1 is BACKUP and goes quiet on
	// eth1, while k2 announces there.
	n2 := daemontest.Start(t, k2, fmt.Sprintf(conf, 200))
	waitState(t, n2, "VI_X", "MASTER", 20*time.Second)
	waitState(t, n1, "VI_X", "BACKUP", 20*time.Second)
	waitState(t, n1, "VI_V", "BACKUP", 20*time.Second)
	backup := time.Now()
	after := func(f netns.Filter) netns.Filter {
		return netns.And(f, func(fr *netns.Frame) bool { return fr.Time.After(backup) })
	}
	if _, err := wire.WaitN(30*time.Second, 3, after(garp(mac2, "198.51.100.191"))); err != nil {
		t.Fatalf("k2's periodic gratuitous ARPs on eth1: %v\n%s", err, n2.Log())
	}
	if got := wire.Matching(after(garp(mac1, "198.51.100.191"))); len(got) != 0 {
		t.Errorf("k1 sent %d gratuitous ARPs of 198.51.100.191 on eth1 as BACKUP", len(got))
	}
	// VI_V (garp_extra_if without all, eth1 no VMAC): the burst only.
	if got := wire.Matching(garp(mac1, "198.51.100.192")); len(got) != 1 {
		t.Errorf("k1 sent %d gratuitous ARPs of 198.51.100.192 on eth1, want 1 (the transition burst)", len(got))
	}
}
