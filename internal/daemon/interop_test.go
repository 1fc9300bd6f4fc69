package daemon_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

// Interoperation with a real peer: Debian's keepalived on k1, lbd on k2
// (on each datapath: XDP and raw sockets), one configuration text for both
// (only the priority differs). For each
// protocol variant and each priority order: the right side becomes
// master and the other follows it (both say so, and the client finds the
// VIP on the master's MAC); the master stops (SIGTERM: priority 0) and
// the other takes over; the master comes back and preempts.
//
// With tracking in play (track), the master does not stop: its weighted
// vrrp_script fails, its advertised priority drops below the other's,
// which preempts; the script recovers and the master preempts back. With
// a sync group (sync), VI_X shares a vrrp_sync_group with VI_Y, and VI_Y
// follows VI_X on both sides through every step.

type interopVariant struct {
	name    string
	vip     string
	v6      bool
	version int // 0: keepalived's default (2)
	auth    bool
	unicast bool
	track   bool // a weighted vrrp_script moves the master
	sync    bool // VI_X and VI_Y in a vrrp_sync_group
	// checkDir holds the files the track variant's scripts test (one
	// per run: runs go in parallel): a side's script succeeds while
	// up_SELF exists there.
	checkDir string
}

func interopVariants() []interopVariant {
	return []interopVariant{
		{name: "v2_ipv4_pass", vip: "192.0.2.100", auth: true},
		{name: "v2_ipv4_unicast", vip: "192.0.2.100", unicast: true},
		{name: "v3_ipv4", vip: "192.0.2.100", version: 3},
		{name: "v3_ipv4_unicast", vip: "192.0.2.100", version: 3, unicast: true},
		{name: "v3_ipv6", vip: "2001:db8::100", v6: true, version: 3},
		{name: "v3_ipv6_unicast", vip: "2001:db8::100", v6: true, version: 3, unicast: true},
		{name: "v2_ipv4_track_script", vip: "192.0.2.100", track: true},
		{name: "v3_ipv4_sync_group", vip: "192.0.2.100", version: 3, sync: true},
	}
}

func (v interopVariant) checkFile(self string) string { return v.checkDir + "/up_" + self }

// addrs of k1 (keepalived) and k2 (lbd) in newLAN.
func (v interopVariant) addrs() (ka, lbd string) {
	if v.v6 {
		return "2001:db8::1", "2001:db8::2"
	}
	return "192.0.2.1", "192.0.2.2"
}

// conf is the vrrp_instance both sides run; self and peer matter for
// unicast only.
func (v interopVariant) conf(prio int, self, peer string) string {
	var b strings.Builder
	if v.track {
		fmt.Fprintf(&b, "vrrp_script chk {\n  script \"/bin/test -e %s\"\n  interval 1\n  weight -150\n}\n", v.checkFile(self))
	}
	if v.sync {
		b.WriteString("vrrp_sync_group G {\n  group {\n    VI_X\n    VI_Y\n  }\n}\n")
		fmt.Fprintf(&b, "vrrp_instance VI_Y {\n  interface eth0\n  state BACKUP\n  virtual_router_id 61\n  priority %d\n  advert_int 1\n  version %d\n  virtual_ipaddress {\n    192.0.2.101/24\n  }\n}\n", prio, v.version)
	}
	fmt.Fprintf(&b, "vrrp_instance VI_X {\n  interface eth0\n  state BACKUP\n  virtual_router_id 60\n  priority %d\n  advert_int 1\n", prio)
	if v.track {
		b.WriteString("  track_script {\n    chk\n  }\n")
	}
	if v.version != 0 {
		fmt.Fprintf(&b, "  version %d\n", v.version)
	}
	if v.auth {
		b.WriteString("  authentication {\n    auth_type PASS\n    auth_pass s3cret\n  }\n")
	}
	if v.unicast {
		fmt.Fprintf(&b, "  unicast_src_ip %s\n  unicast_peer {\n    %s\n  }\n", self, peer)
	}
	plen := 24
	if v.v6 {
		plen = 64
	}
	fmt.Fprintf(&b, "  virtual_ipaddress {\n    %s/%d\n  }\n}\n", v.vip, plen)
	return b.String()
}

// kaNode is keepalived on k1, restartable.
type kaNode struct {
	t    *testing.T
	host *netns.Host
	conf string
	proc *netns.KeepalivedProc
}

func (k *kaNode) start() {
	k.t.Helper()
	k.proc = netns.Keepalived(k.t, k.host, k.conf, netns.KeepalivedOptions{VRRPOnly: true})
}

// wait waits until keepalived has logged entering state at least n times
// since it started.
func (k *kaNode) wait(state string, n int, timeout time.Duration) {
	k.t.Helper()
	k.waitInstance("VI_X", state, n, timeout)
}

// waitInstance is wait for another instance than VI_X.
func (k *kaNode) waitInstance(inst, state string, n int, timeout time.Duration) {
	k.t.Helper()
	line := "(" + inst + ") Entering " + state + " STATE"
	err := netns.Poll(timeout, func() error {
		if c := strings.Count(k.proc.Log(), line); c < n {
			if ok, err := k.proc.Exited(); ok {
				return netns.Permanent(fmt.Errorf("keepalived exited (%v)", err))
			}
			return fmt.Errorf("%q logged %d times, want %d", line, c, n)
		}
		return nil
	})
	if err != nil {
		k.t.Fatalf("keepalived: %v\n%s", err, k.proc.Log())
	}
}

// stop sends SIGTERM to keepalived's main process and waits for it:
// keepalived takes about 3s to stop (it waits for its VRRP process), more
// on a busy machine, longer than the lab's grace before SIGKILL.
func (k *kaNode) stop() error {
	if err := syscall.Kill(k.proc.Pid(), syscall.SIGTERM); err != nil {
		return err
	}
	return k.proc.Wait(30 * time.Second)
}

func (k *kaNode) count(state string) int {
	return strings.Count(k.proc.Log(), "(VI_X) Entering "+state+" STATE")
}

func TestKeepalivedInteropMatrix(t *testing.T) {
	testutil.RequireCommand(t, "keepalived")
	for _, v := range interopVariants() {
		for _, lbdHigh := range []bool{true, false} {
			name := v.name + "/keepalived_master"
			if lbdHigh {
				name = v.name + "/lbd_master"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				eachDatapath(t, func(t *testing.T, dp string) { runInterop(t, v, lbdHigh, dp) })
			})
		}
	}
}

func runInterop(t *testing.T, v interopVariant, lbdHigh bool, dp string) {
	l := newLAN(t)
	if v.track {
		// Root-owned, not writable by others: both daemons' script
		// security accepts what is under it.
		dir, err := os.MkdirTemp("", "lbd-interop-")
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o755)
		t.Cleanup(func() { os.RemoveAll(dir) })
		v.checkDir = dir
	}
	if v.v6 {
		for _, h := range []*netns.Host{l.k1, l.k2, l.client} {
			h.WaitLinkLocal("eth0", 10*time.Second)
		}
	}
	kaAddr, lbdAddr := v.addrs()
	kaPrio, lbdPrio := 200, 100
	if lbdHigh {
		kaPrio, lbdPrio = 100, 200
	}
	// The address lbd shows for keepalived as master: its unicast source,
	// its link-local for IPv6 multicast, else its address.
	kaShown := kaAddr
	if v.v6 && !v.unicast {
		kaShown = l.k1.WaitLinkLocal("eth0", time.Second).WithZone("").String()
	}

	setCheck := func(self string, up bool) {
		t.Helper()
		if !up {
			os.Remove(v.checkFile(self))
		} else if err := os.WriteFile(v.checkFile(self), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if v.track {
		setCheck(kaAddr, true)
		setCheck(lbdAddr, true)
	}

	// The higher priority starts first, so that the lower one, whose
	// master-down interval is only 0.39s longer, cannot time out first
	// on a busy machine and take a turn as master.
	ka := &kaNode{t: t, host: l.k1, conf: v.conf(kaPrio, kaAddr, lbdAddr)}
	lbdConf := v.conf(lbdPrio, lbdAddr, kaAddr)
	var n *daemontest.Node
	if lbdHigh {
		n = daemontest.Start(t, l.k2, lbdConf, "--datapath", dp)
		ka.start()
	} else {
		ka.start()
		n = daemontest.Start(t, l.k2, lbdConf, "--datapath", dp)
	}
	onPath(t, n, "VI_X", dp)
	// The sync group's second instance follows VI_X on both sides.
	syncY := func(lbdState, kaState string, kaTimes int) {
		t.Helper()
		if !v.sync {
			return
		}
		waitState(t, n, "VI_Y", lbdState, 15*time.Second)
		ka.waitInstance("VI_Y", kaState, kaTimes, 15*time.Second)
		if s, err := n.Status(); err != nil || len(s.SyncGroups) != 1 || s.SyncGroups[0].State != lbdState {
			t.Errorf("lbd sync groups %+v (%v), want G %s", s.SyncGroups, err, lbdState)
		}
	}
	// A takeover or a return is the member's own, or forced by its group
	// (the other member moved first).
	reasonIs := func(got string, want ...string) bool {
		if v.sync {
			want = append(want, "sync_group")
		}
		return slices.Contains(want, got)
	}

	// Election.
	if lbdHigh {
		waitState(t, n, "VI_X", "MASTER", 20*time.Second)
		ka.wait("BACKUP", 1, 10*time.Second)
		owner(t, l.client, v.vip, l.k2, 10*time.Second)
		if c := ka.count("MASTER"); c != 0 {
			t.Errorf("keepalived (lower priority) entered MASTER %d times", c)
		}
		syncY("MASTER", "BACKUP", 1)
	} else {
		ka.wait("MASTER", 1, 20*time.Second)
		netns.Eventually(t, 15*time.Second, "lbd following keepalived", func() error {
			s, err := n.Instance("VI_X")
			if err != nil {
				return err
			}
			if s.State != "BACKUP" || s.MasterAddress != kaShown || s.MasterPriority != kaPrio || s.Counters.AdvertsReceived == 0 {
				return fmt.Errorf("lbd %s following %s priority %d, %d adverts received", s.State, s.MasterAddress, s.MasterPriority, s.Counters.AdvertsReceived)
			}
			return nil
		})
		owner(t, l.client, v.vip, l.k1, 10*time.Second)
		if v := transitionsTo(t, n, "VI_X", "MASTER"); v != 0 {
			t.Errorf("lbd (lower priority) went MASTER %v times", v)
		}
		syncY("BACKUP", "MASTER", 1)
	}

	// The master stops (priority 0), or with tracking its script fails
	// (priority 200-150 = 50, below the other's 100); the other takes
	// over.
	if lbdHigh {
		if v.track {
			setCheck(lbdAddr, false)
			waitState(t, n, "VI_X", "BACKUP", 15*time.Second)
			if s, _ := n.Instance("VI_X"); s.Priority != 50 || s.LastReason != "higher_priority_advert" {
				t.Errorf("lbd after its script failed: priority %d, gave way for %s", s.Priority, s.LastReason)
			}
		} else if err := n.Stop(); err != nil {
			t.Fatal(err)
		}
		ka.wait("MASTER", 1, 10*time.Second)
		owner(t, l.client, v.vip, l.k1, 10*time.Second)
		if v.sync {
			ka.waitInstance("VI_Y", "MASTER", 1, 10*time.Second)
		}
	} else {
		if v.track {
			setCheck(kaAddr, false)
		} else if err := ka.stop(); err != nil {
			t.Fatalf("keepalived stop: %v", err)
		}
		waitState(t, n, "VI_X", "MASTER", 15*time.Second)
		want := "priority_zero_received"
		if v.track {
			want = "preempted"
		}
		if got := lastReason(t, n, "VI_X"); !reasonIs(got, want) {
			t.Errorf("lbd took over for %s, want %s", got, want)
		}
		owner(t, l.client, v.vip, l.k2, 10*time.Second)
		if v.sync {
			waitState(t, n, "VI_Y", "MASTER", 10*time.Second)
		}
	}

	// The master comes back (or its script recovers) and preempts.
	if lbdHigh {
		if v.track {
			setCheck(lbdAddr, true)
		} else {
			n = daemontest.Start(t, l.k2, lbdConf, "--datapath", dp)
		}
		waitState(t, n, "VI_X", "MASTER", 20*time.Second)
		if got := lastReason(t, n, "VI_X"); !reasonIs(got, "preempted") {
			t.Errorf("lbd came back as master for %s, want preempted", got)
		}
		ka.wait("BACKUP", 2, 10*time.Second) // init, then giving way
		owner(t, l.client, v.vip, l.k2, 10*time.Second)
		syncY("MASTER", "BACKUP", 2)
	} else {
		if v.track {
			setCheck(kaAddr, true)
			ka.wait("MASTER", 2, 20*time.Second)
		} else {
			ka.start()
			ka.wait("MASTER", 1, 20*time.Second)
		}
		if err := n.WaitState("VI_X", "BACKUP", 20*time.Second); err != nil {
			t.Fatalf("%v\nlbd's VRRP receive counters: %s", err, receiveCounters(n))
		}
		if got := lastReason(t, n, "VI_X"); !reasonIs(got, "higher_priority_advert") {
			t.Errorf("lbd gave way for %s, want higher_priority_advert", got)
		}
		owner(t, l.client, v.vip, l.k1, 10*time.Second)
		syncY("BACKUP", "MASTER", 1)
	}
	if m, err := n.Metrics(); err == nil {
		if d := m.Sum("lbd_vrrp_packets_dropped_total"); d != 0 {
			t.Errorf("lbd dropped %v of keepalived's packets", d)
		}
	}
}

// receiveCounters are lbd's accepted and dropped VRRP packets, for a
// failure message.
func receiveCounters(n *daemontest.Node) string {
	m, err := n.Metrics()
	if err != nil {
		return err.Error()
	}
	var out []string
	for k, v := range m {
		if strings.HasPrefix(k, "lbd_vrrp_packets_dropped_total") && v > 0 || strings.HasPrefix(k, "lbd_vrrp_adverts_received_total") {
			out = append(out, fmt.Sprintf("%s %v", k, v))
		}
	}
	return strings.Join(out, "; ")
}
