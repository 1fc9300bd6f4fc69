package daemon_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/daemon"
	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

// TestDaemonDynamicInterfaces: an instance whose interface does not exist
// when lbd starts runs in FAULT with the reason, and is set up when the
// interface appears (created down, then up, then addressed, as an
// operator would): it becomes MASTER, holds its VIP and sends adverts.
// Deleted, the interface takes the instance to FAULT; re-created (a new
// ifindex), it is picked up again: MASTER, adverts on the new interface,
// and with a datapath program, the program on the new interface.
func TestDaemonDynamicInterfaces(t *testing.T) {
	testutil.RequireRoot(t)
	for _, dp := range []string{"off", "auto"} {
		t.Run(dp, func(t *testing.T) {
			t.Parallel()
			lab := netns.New(t, netns.Options{})
			k1, peer := lab.Host("k1"), lab.Host("peer")
			cfg := "global_defs {\n  dynamic_interfaces\n}\n" +
				strings.Replace(reloadInst("VI_1", 51, 100, "0.5", "192.0.2.100/24"), "interface eth0", "interface dyn0", 1)
			n := daemontest.Start(t, k1, cfg, "--datapath", dp)

			waitInstance(t, n, "VI_1", "in FAULT for want of dyn0", func(in *daemon.InstanceStatus) error {
				if in.State != "FAULT" || !strings.Contains(strings.Join(in.Faults, "; ")+in.FaultDetail, "link not found") {
					return fmt.Errorf("%s, faults %q %q", in.State, in.Faults, in.FaultDetail)
				}
				return nil
			})

			appear := func(round string) {
				t.Helper()
				lab.Link(k1, "dyn0", peer, "eth0")
				k1.AddAddr("dyn0", "192.0.2.1/24")
				wire := peer.Capture("eth0", func(f *netns.Frame) bool { return f.VRRP != nil && f.VRRP.VRID == 51 })
				t.Cleanup(wire.Stop)
				waitInstance(t, n, "VI_1", round+": MASTER on dyn0", wantPrio("MASTER", 100))
				netns.Eventually(t, 30*time.Second, round+": VIP on dyn0", func() error {
					if !k1.HasAddr("dyn0", "192.0.2.100") {
						return fmt.Errorf("192.0.2.100 not on dyn0: %v", k1.Addrs("dyn0"))
					}
					return nil
				})
				if _, err := wire.WaitN(30*time.Second, 3, func(f *netns.Frame) bool { return f.VRRP.Priority == 100 }); err != nil {
					t.Fatalf("%s: adverts on the new dyn0: %v\n%s", round, err, n.Log())
				}
				if dp != "auto" {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				st, err := daemon.FetchStatus(ctx, n.RunDir)
				if err != nil {
					t.Fatal(err)
				}
				var tier string
				for _, it := range st.Datapath.Interfaces {
					if it.Interface == "dyn0" {
						tier = it.Tier
					}
				}
				if tier == "" || tier == "none" {
					t.Fatalf("%s: datapath on dyn0: %q (%+v)", round, tier, st.Datapath)
				}
				if strings.HasPrefix(tier, "xdp") {
					l, err := k1.Netlink().LinkByName("dyn0")
					if err != nil {
						t.Fatal(err)
					}
					if x := l.Attrs().Xdp; x == nil || !x.Attached {
						t.Fatalf("%s: datapath says %s on dyn0 (ifindex %d), the link has no XDP program", round, tier, l.Attrs().Index)
					}
				}
			}
			appear("created")
			if line, _ := logLine(n.Log(), "interface dyn0 appeared", "setting up VI_1"); line == "" {
				t.Errorf("no log line for the setup:\n%s", n.Log())
			}

			l, err := k1.Netlink().LinkByName("dyn0")
			if err != nil {
				t.Fatal(err)
			}
			if err := k1.Netlink().LinkDel(l); err != nil {
				t.Fatal(err)
			}
			waitInstance(t, n, "VI_1", "deleted: FAULT", wantPrio("FAULT", 0))
			appear("re-created")
		})
	}
}
