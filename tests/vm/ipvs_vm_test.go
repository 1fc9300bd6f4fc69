package vm

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"testing"

	"github.com/cloudflare/ipvs"
	"github.com/cloudflare/ipvs/netmask"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// requireVM skips unless running inside tests/vm's guest. A plain t.Skip
// on purpose: on the host this layer is expected not to run, strict mode
// or not; run.sh runs it where it belongs.
func requireVM(t *testing.T) {
	t.Helper()
	if os.Getenv("LBD_VM") != "1" {
		t.Skip("VM test: runs under tests/vm/run.sh (make vm-test), LBD_VM=1")
	}
}

// inFreshNetns runs fn on a thread moved into a new network namespace
// with loopback up (IPVS tables are per namespace, so every test gets
// empty ones; without an address on lo the namespace has no local routing
// table, and IPVS rejects every IPv4 destination with EINVAL). Sockets
// fn opens stay in that namespace. The thread is never unlocked: it exits
// with its goroutine, and no other goroutine ever runs in the namespace.
func inFreshNetns(t *testing.T, fn func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare netns: %w", err)
			return
		}
		lo, err := netlink.LinkByName("lo")
		if err == nil {
			err = netlink.LinkSetUp(lo)
		}
		if err != nil {
			errc <- fmt.Errorf("set lo up: %w", err)
			return
		}
		errc <- fn()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestIPVSServiceRoundTrip(t *testing.T) {
	requireVM(t)
	var c ipvs.Client
	inFreshNetns(t, func() error {
		var err error
		c, err = ipvs.New()
		return err
	})
	info, err := c.Info()
	if err != nil {
		t.Fatalf("ipvs info: %v", err)
	}
	t.Logf("IPVS %d.%d.%d, connection table %d", info.Version[0], info.Version[1], info.Version[2], info.ConnectionTableSize)

	for _, tc := range []struct {
		name      string
		vip       string
		bits      int
		reals     []string
		scheduler string
		fwd       ipvs.ForwardType
	}{
		{"v4-rr-nat", "192.0.2.100", 32, []string{"198.51.100.1", "198.51.100.2"}, "rr", ipvs.Masquerade},
		{"v4-wlc-dr", "192.0.2.101", 32, []string{"198.51.100.1", "198.51.100.2"}, "wlc", ipvs.DirectRoute},
		{"v4-mh-tun", "192.0.2.102", 32, []string{"198.51.100.1", "198.51.100.2"}, "mh", ipvs.Tunnel},
		{"v6-sh-dr", "2001:db8::100", 128, []string{"2001:db8:1::1", "2001:db8:1::2"}, "sh", ipvs.DirectRoute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vip := netip.MustParseAddr(tc.vip)
			fam := ipvs.INET
			if vip.Is6() {
				fam = ipvs.INET6
			}
			svc := ipvs.Service{
				Address:   vip,
				Netmask:   netmask.MaskFrom(tc.bits, tc.bits),
				Port:      80,
				Protocol:  ipvs.TCP,
				Family:    fam,
				Scheduler: tc.scheduler,
				Timeout:   0,
			}
			if err := c.CreateService(svc); err != nil {
				t.Fatalf("create service: %v", err)
			}
			for i, r := range tc.reals {
				d := ipvs.Destination{
					Address:   netip.MustParseAddr(r),
					Port:      8080,
					Family:    fam,
					Weight:    uint32(i + 1),
					FwdMethod: tc.fwd,
				}
				if err := c.CreateDestination(svc, d); err != nil {
					t.Fatalf("create destination %s: %v", r, err)
				}
			}
			got, err := c.Service(svc)
			if err != nil {
				t.Fatalf("read service back: %v", err)
			}
			if got.Scheduler != tc.scheduler || got.Address != vip || got.Port != 80 || got.Protocol != ipvs.TCP {
				t.Fatalf("service read back = %+v, want %s %s:80/tcp", got.Service, tc.scheduler, vip)
			}
			dests, err := c.Destinations(svc)
			if err != nil {
				t.Fatalf("read destinations: %v", err)
			}
			if len(dests) != len(tc.reals) {
				t.Fatalf("%d destinations, want %d", len(dests), len(tc.reals))
			}
			weights := map[netip.Addr]uint32{}
			for _, d := range dests {
				if d.FwdMethod != tc.fwd || d.Port != 8080 {
					t.Errorf("destination %s: fwd %v port %d, want %v 8080", d.Address, d.FwdMethod, d.Port, tc.fwd)
				}
				weights[d.Address] = d.Weight
			}
			for i, r := range tc.reals {
				if w := weights[netip.MustParseAddr(r)]; w != uint32(i+1) {
					t.Errorf("destination %s weight %d, want %d", r, w, i+1)
				}
			}
			if err := c.RemoveService(svc); err != nil {
				t.Fatalf("remove service: %v", err)
			}
			if _, err := c.Service(svc); err == nil {
				t.Fatal("service still there after remove")
			}
		})
	}
	// cloudflare/ipvs v0.12.0 answers an empty table with os.ErrNotExist,
	// the same error New gives when IPVS is absent: callers must not read
	// "no services" as "no IPVS".
	svcs, err := c.Services()
	if !errors.Is(err, os.ErrNotExist) || len(svcs) != 0 {
		t.Fatalf("Services() on an empty table = %d services, %v; want none, os.ErrNotExist", len(svcs), err)
	}
}

// TestIPVSSchedulers creates a service with every scheduler the VM's
// kernel ships, which proves each module loaded.
func TestIPVSSchedulers(t *testing.T) {
	requireVM(t)
	var c ipvs.Client
	inFreshNetns(t, func() error {
		var err error
		c, err = ipvs.New()
		return err
	})
	for i, s := range []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"} {
		svc := ipvs.Service{
			Address:   netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}),
			Netmask:   netmask.MaskFrom(32, 32),
			Port:      443,
			Protocol:  ipvs.TCP,
			Family:    ipvs.INET,
			Scheduler: s,
		}
		if err := c.CreateService(svc); err != nil {
			t.Errorf("scheduler %s: create service: %v", s, err)
			continue
		}
		if err := c.RemoveService(svc); err != nil {
			t.Errorf("scheduler %s: remove service: %v", s, err)
		}
	}
}

// TestIPIP checks the ipip module: its fallback device tunl0 exists in a
// new namespace, and an ipip tunnel can be created over netlink.
func TestIPIP(t *testing.T) {
	requireVM(t)
	inFreshNetns(t, func() error {
		if _, err := netlink.LinkByName("tunl0"); err != nil {
			return fmt.Errorf("tunl0 (ipip loaded?): %w", err)
		}
		tun := &netlink.Iptun{
			LinkAttrs: netlink.LinkAttrs{Name: "ipip1"},
			Local:     netip.MustParseAddr("198.51.100.1").AsSlice(),
			Remote:    netip.MustParseAddr("198.51.100.2").AsSlice(),
		}
		if err := netlink.LinkAdd(tun); err != nil {
			return fmt.Errorf("add ipip tunnel: %w", err)
		}
		l, err := netlink.LinkByName("ipip1")
		if err != nil {
			return err
		}
		if l.Type() != "ipip" {
			return fmt.Errorf("ipip1 has type %q", l.Type())
		}
		return netlink.LinkDel(l)
	})
}

// TestIPVSAbsentIsAnError documents what pkg/lvs relies on for its
// fallback decision, on the host (no IPVS there): the client reports the
// missing family as os.ErrNotExist rather than succeeding silently.
func TestIPVSAbsentIsAnError(t *testing.T) {
	if os.Getenv("LBD_VM") == "1" {
		t.Skip("IPVS is present in the VM")
	}
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		t.Skip("this host has IPVS")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for generic netlink")
	}
	_, err := ipvs.New()
	if err == nil {
		t.Fatal("ipvs.New() succeeded on a kernel without IPVS")
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ipvs.New() error %v, want one matching os.ErrNotExist", err)
	}
}
