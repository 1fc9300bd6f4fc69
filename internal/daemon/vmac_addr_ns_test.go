package daemon_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/internal/netns"
)

// TestDaemonUseVMACAddr: an instance on eth0 with use_vmac and
// use_vmac_addr has a VIP with dev eth1. Besides its own VMAC on eth0,
// lbd makes a VMAC on eth1 (named by vmac_addr_prefix) with the virtual
// router MAC, and the VIP goes there while MASTER: a client on eth1's
// segment gets the VIP's ARP answered with the virtual MAC, before and
// after a failover. The VIP leaves the VMAC on BACKUP; the VMACs go when
// lbd stops.
func TestDaemonUseVMACAddr(t *testing.T) {
	l := newLAN(t)
	lan2 := l.lab.Bridge("lan2")
	l.lab.Connect(l.k1, "eth1", lan2, "198.51.100.1/24")
	l.lab.Connect(l.k2, "eth1", lan2, "198.51.100.2/24")
	l.lab.Connect(l.client, "eth1", lan2, "198.51.100.3/24")
	conf := func(prio int) string {
		return "global_defs {\n  vmac_addr_prefix va\n}\n" + instanceConf("VI_A", prio, `  virtual_router_id 141
  version 3
  advert_int 0.3
  use_vmac
  use_vmac_addr
  virtual_ipaddress {
    192.0.2.141/24
    198.51.100.141/24 dev eth1
  }`)
	}
	vmac := net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, 141}
	const vip2 = "198.51.100.141"
	n1 := daemontest.Start(t, l.k1, conf(150))
	n2 := daemontest.Start(t, l.k2, conf(100))
	if err := n1.WaitState("VI_A", "MASTER", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := n2.WaitState("VI_A", "BACKUP", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, h := range []*netns.Host{l.k1, l.k2} {
		checkMacvlan(t, h, "va.141", "eth1", vmac)
		checkMacvlan(t, h, "vrrp.141", "eth0", vmac)
	}
	netns.Eventually(t, 10*time.Second, "the VIP on k1's va.141 alone", func() error {
		if !l.k1.HasAddr("va.141", vip2) || l.k1.HasAddr("eth1", vip2) || l.k2.HasAddr("va.141", vip2) {
			return fmt.Errorf("k1 va.141 %v, k1 eth1 %v, k2 va.141 %v", l.k1.Addrs("va.141"), l.k1.Addrs("eth1"), l.k2.Addrs("va.141"))
		}
		return nil
	})
	ownerMACOn(t, l.client, "eth1", vip2, vmac)

	// Failover: k2 carries the VIP on its eth1 VMAC, with the same MAC.
	if err := n1.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := n2.WaitState("VI_A", "MASTER", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"va.141", "vrrp.141"} {
		if _, err := l.k1.Run("ip", "link", "show", name); err == nil {
			t.Errorf("k1's %s left after lbd stopped", name)
		}
	}
	netns.Eventually(t, 10*time.Second, "the VIP on k2's va.141", func() error {
		if !l.k2.HasAddr("va.141", vip2) {
			return fmt.Errorf("k2 va.141 %v", l.k2.Addrs("va.141"))
		}
		return nil
	})
	ownerMACOn(t, l.client, "eth1", vip2, vmac)
	if err := l.client.Ping(vip2); err != nil {
		t.Errorf("ping the VIP through k2's eth1 VMAC: %v", err)
	}

	// k1 comes back and preempts: k2, BACKUP, drops the VIP from its
	// VMAC and keeps the VMAC.
	n1 = daemontest.Start(t, l.k1, conf(150))
	if err := n1.WaitState("VI_A", "MASTER", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := n2.WaitState("VI_A", "BACKUP", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	netns.Eventually(t, 10*time.Second, "the VIP back on k1's va.141 alone", func() error {
		if l.k2.HasAddr("va.141", vip2) || !l.k1.HasAddr("va.141", vip2) {
			return fmt.Errorf("k1 va.141 %v, k2 va.141 %v", l.k1.Addrs("va.141"), l.k2.Addrs("va.141"))
		}
		return nil
	})
	checkMacvlan(t, l.k2, "va.141", "eth1", vmac)
	if err := n2.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.k2.Run("ip", "link", "show", "va.141"); err == nil {
		t.Error("k2's va.141 left after lbd stopped")
	}
}

// TestDaemonVIPUseVMAC: use_vmac on one VIP (dev eth1), without use_vmac
// on the instance: that VIP alone goes on a VMAC made on eth1, named
// vmac_prefix.VRID; the instance's other VIP stays on eth0.
func TestDaemonVIPUseVMAC(t *testing.T) {
	l := newLAN(t)
	lan2 := l.lab.Bridge("lan2")
	l.lab.Connect(l.k1, "eth1", lan2, "198.51.100.1/24")
	l.lab.Connect(l.client, "eth1", lan2, "198.51.100.3/24")
	n1 := daemontest.Start(t, l.k1, instanceConf("VI_P", 150, `  virtual_router_id 142
  advert_int 1
  virtual_ipaddress {
    192.0.2.142/24
    198.51.100.142/24 dev eth1 use_vmac
  }`))
	if err := n1.WaitState("VI_P", "MASTER", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	vmac := net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, 142}
	checkMacvlan(t, l.k1, "vrrp.142", "eth1", vmac)
	netns.Eventually(t, 10*time.Second, "the VIPs in place", func() error {
		if !l.k1.HasAddr("vrrp.142", "198.51.100.142") || !l.k1.HasAddr("eth0", "192.0.2.142") {
			return fmt.Errorf("vrrp.142 %v, eth0 %v", l.k1.Addrs("vrrp.142"), l.k1.Addrs("eth0"))
		}
		return nil
	})
	ownerMACOn(t, l.client, "eth1", "198.51.100.142", vmac)
	ownerMACOn(t, l.client, "eth0", "192.0.2.142", l.k1.MAC("eth0"))
	if err := n1.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.k1.Run("ip", "link", "show", "vrrp.142"); err == nil {
		t.Error("k1's vrrp.142 left after lbd stopped")
	}
}

// checkMacvlan fails unless name on h is a macvlan on base with mac.
func checkMacvlan(t *testing.T, h *netns.Host, name, base string, mac net.HardwareAddr) {
	t.Helper()
	link, err := h.Netlink().LinkByName(name)
	if err != nil {
		t.Errorf("%s: %s: %v", h.Name(), name, err)
		return
	}
	a := link.Attrs()
	if _, ok := link.(*netlink.Macvlan); !ok || a.ParentIndex != h.Index(base) || a.HardwareAddr.String() != mac.String() {
		t.Errorf("%s: %s is a %s on ifindex %d with MAC %v; want a macvlan on %s (%d) with %v",
			h.Name(), name, link.Type(), a.ParentIndex, a.HardwareAddr, base, h.Index(base), mac)
	}
}

// ownerMACOn waits until exactly mac answers for vip on the client's
// ifname.
func ownerMACOn(t *testing.T, client *netns.Host, ifname, vip string, mac net.HardwareAddr) {
	t.Helper()
	netns.Eventually(t, 10*time.Second, vip+" answered by "+mac.String()+" on "+ifname, func() error {
		got, err := client.Owner(ifname, vip, 2*time.Second)
		if err != nil {
			return err
		}
		if got.String() != mac.String() {
			return fmt.Errorf("owner %v", got)
		}
		return nil
	})
}
