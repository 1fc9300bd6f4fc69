package daemon_test

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/internal/netns"
)

// TestDaemonVMAC: with use_vmac the VIP lives on a macvlan with the
// virtual router MAC 00:00:5e:00:01:VRID: the client sees that MAC in the
// gratuitous ARPs, in the adverts and in the answer for the VIP, and it
// stays the same MAC across a failover. A backup hears the master on its
// own VMAC (private macvlan). lbd deletes its VMAC when it stops.
func TestDaemonVMAC(t *testing.T) {
	l := newLAN(t)
	conf := func(prio int) string {
		return instanceConf("VI_V", prio, `  virtual_router_id 131
  version 3
  advert_int 0.3
  use_vmac
  virtual_ipaddress {
    192.0.2.131/24
  }`)
	}
	vmac := net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, 131}
	vip := netip.MustParseAddr("192.0.2.131")
	wire := l.client.Capture("eth0", netns.FromMAC(vmac))
	n1 := daemontest.Start(t, l.k1, conf(150))
	n2 := daemontest.Start(t, l.k2, conf(100))
	if err := n1.WaitState("VI_V", "MASTER", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := n2.WaitState("VI_V", "BACKUP", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// The backup follows the master: it hears its adverts on its VMAC.
	netns.Eventually(t, 10*time.Second, "k2 following k1", func() error {
		s, err := n2.Instance("VI_V")
		if err != nil {
			return err
		}
		if s.MasterAddress != "192.0.2.1" || s.Interface != "vrrp.131" {
			return fmt.Errorf("k2 follows %q on %s", s.MasterAddress, s.Interface)
		}
		return nil
	})
	if got := l.k1.MAC("vrrp.131"); got.String() != vmac.String() {
		t.Errorf("k1's vrrp.131 has MAC %v, want %v", got, vmac)
	}
	if !l.k1.HasAddr("vrrp.131", "192.0.2.131") || l.k1.HasAddr("eth0", "192.0.2.131") {
		t.Error("the VIP is not on k1's VMAC alone")
	}
	if _, err := wire.WaitFor(10*time.Second, func(f *netns.Frame) bool {
		return f.ARP != nil && f.ARP.Gratuitous() && f.ARP.SenderIP == vip && f.ARP.SenderMAC.String() == vmac.String()
	}); err != nil {
		t.Errorf("no gratuitous ARP from the virtual MAC: %v", err)
	}
	if _, err := wire.WaitFor(10*time.Second, func(f *netns.Frame) bool {
		return f.VRRP != nil && f.VRRP.VRID == 131 && f.IP.Src == netip.MustParseAddr("192.0.2.1")
	}); err != nil {
		t.Errorf("no advert from the virtual MAC: %v", err)
	}
	ownerMAC(t, l.client, "192.0.2.131", vmac)

	// Failover: the MAC the client knows does not change.
	if err := n1.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := n2.WaitState("VI_V", "MASTER", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	ownerMAC(t, l.client, "192.0.2.131", vmac)
	if !l.k2.HasAddr("vrrp.131", "192.0.2.131") {
		t.Error("the VIP is not on k2's VMAC")
	}
	if err := l.client.Ping("192.0.2.131"); err != nil {
		t.Errorf("ping the VIP through k2's VMAC: %v", err)
	}
	if _, err := l.k1.Run("ip", "link", "show", "vrrp.131"); err == nil {
		t.Error("k1's VMAC left after lbd stopped")
	}
}

// ownerMAC waits until exactly mac answers for vip on the client's eth0.
func ownerMAC(t *testing.T, client *netns.Host, vip string, mac net.HardwareAddr) {
	t.Helper()
	netns.Eventually(t, 10*time.Second, vip+" answered by "+mac.String(), func() error {
		got, err := client.Owner("eth0", vip, 2*time.Second)
		if err != nil {
			return err
		}
		if got.String() != mac.String() {
			return fmt.Errorf("owner %v", got)
		}
		return nil
	})
}
