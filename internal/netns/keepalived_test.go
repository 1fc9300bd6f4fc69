package netns_test

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

// keepalivedConf is a VRRPv2 IPv4 instance and a VRRPv3 IPv6 instance on
// eth0 (lab addresses only).
func keepalivedConf(prio int) string {
	return fmt.Sprintf(`global_defs {
	router_id lab
}
vrrp_instance V4 {
	state BACKUP
	interface eth0
	virtual_router_id 51
	priority %[1]d
	advert_int 1
	virtual_ipaddress {
		192.0.2.100/24
	}
}
vrrp_instance V6 {
	state BACKUP
	interface eth0
	version 3
	virtual_router_id 52
	priority %[1]d
	advert_int 1
	virtual_ipaddress {
		2001:db8::100/64
	}
}
`, prio)
}

// TestKeepalivedElection runs Debian's keepalived in two namespaces at once:
// the higher priority becomes master, the VIPs answer from its MAC as seen
// by a third host, its adverts are on the wire, and when it stops the
// other takes over.
func TestKeepalivedElection(t *testing.T) {
	requireLab(t)
	testutil.RequireCommand(t, "keepalived")
	t.Parallel()
	lab := netns.New(t, netns.Options{})
	k1, k2, c := lab.Host("k1"), lab.Host("k2"), lab.Host("client")
	lan := lab.Bridge("lan")
	lab.Connect(k1, "eth0", lan, "192.0.2.1/24", "2001:db8::1/64")
	lab.Connect(k2, "eth0", lan, "192.0.2.2/24", "2001:db8::2/64")
	lab.Connect(c, "eth0", lan, "192.0.2.3/24", "2001:db8::3/64")
	k1.WaitLinkLocal("eth0", 10*time.Second)
	k2.WaitLinkLocal("eth0", 10*time.Second)
	capt := c.Capture("eth0", netns.IsVRRP)

	ka1 := netns.Keepalived(t, k1, keepalivedConf(150), netns.KeepalivedOptions{VRRPOnly: true})
	ka2 := netns.Keepalived(t, k2, keepalivedConf(100), netns.KeepalivedOptions{VRRPOnly: true})
	for _, inst := range []string{"V4", "V6"} {
		if err := ka1.WaitState(inst, "MASTER", 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	mac1, mac2 := k1.MAC("eth0"), k2.MAC("eth0")
	for _, vip := range []string{"192.0.2.100", "2001:db8::100"} {
		owner, err := c.Owner("eth0", vip, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if owner.String() != mac1.String() {
			t.Fatalf("owner of %s = %s, want k1's %s", vip, owner, mac1)
		}
		if err := c.Ping(vip); err != nil {
			t.Fatal(err)
		}
	}

	// The master's adverts, as the client sees them.
	adv4, err := capt.WaitFor(10*time.Second, advertFrom(mac1, 2, 51, 150))
	if err != nil {
		t.Fatal(err)
	}
	if adv4.IP.TTL != 255 || adv4.IP.Dst != netip.MustParseAddr("224.0.0.18") ||
		len(adv4.VRRP.Addrs) != 1 || adv4.VRRP.Addrs[0] != netip.MustParseAddr("192.0.2.100") {
		t.Fatalf("unexpected VRRPv2 advert: %v", adv4)
	}
	adv6, err := capt.WaitFor(10*time.Second, advertFrom(mac1, 3, 52, 150))
	if err != nil {
		t.Fatal(err)
	}
	if adv6.IP.Dst != netip.MustParseAddr("ff02::12") || !adv6.IP.Src.IsLinkLocalUnicast() ||
		adv6.VRRP.Interval != time.Second || len(adv6.VRRP.Addrs) != 1 ||
		adv6.VRRP.Addrs[0] != netip.MustParseAddr("2001:db8::100") {
		t.Fatalf("unexpected VRRPv3 advert: %v", adv6)
	}
	if n := len(capt.Matching(netns.FromMAC(mac2))); n != 0 {
		t.Fatalf("the backup sent %d adverts", n)
	}

	// Graceful stop: priority 0, then k2 takes both VIPs over.
	if err := ka1.Stop(); err != nil {
		t.Fatalf("stop keepalived on k1: %v", err)
	}
	if _, err := capt.WaitFor(10*time.Second, advertFrom(mac1, 2, 51, 0)); err != nil {
		t.Fatalf("no priority-0 advert from k1: %v", err)
	}
	for _, inst := range []string{"V4", "V6"} {
		if err := ka2.WaitState(inst, "MASTER", 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	for _, vip := range []string{"192.0.2.100", "2001:db8::100"} {
		netns.Eventually(t, 20*time.Second, vip+" owned by k2", func() error {
			owner, err := c.Owner("eth0", vip, 2*time.Second)
			if err != nil {
				return err
			}
			if owner.String() != mac2.String() {
				return fmt.Errorf("owner %s, want %s", owner, mac2)
			}
			return nil
		})
	}
	if k1.HasAddr("eth0", "192.0.2.100") {
		t.Fatal("k1 kept the VIP after a graceful stop")
	}
	if !k2.HasAddr("eth0", "192.0.2.100") {
		t.Fatal("k2 does not have the VIP")
	}
}

func advertFrom(mac net.HardwareAddr, version, vrid, prio int) netns.Filter {
	return netns.And(netns.IsVRRP, netns.FromMAC(mac), func(f *netns.Frame) bool {
		return f.VRRP.Version == version && f.VRRP.VRID == vrid && f.VRRP.Priority == prio
	})
}
