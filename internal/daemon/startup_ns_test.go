package daemon_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

// global_defs vrrp_startup_delay and log_unknown_vrids, on real lbd
// processes.

// oneHostLAN is an lbd host k1 and a client on one bridge.
func oneHostLAN(t *testing.T) (k1, client *netns.Host) {
	t.Helper()
	testutil.RequireRoot(t)
	lab := netns.New(t, netns.Options{})
	k1, client = lab.Host("k1"), lab.Host("client")
	br := lab.Bridge("lan")
	lab.Connect(k1, "eth0", br, "192.0.2.1/24")
	lab.Connect(client, "eth0", br, "192.0.2.3/24")
	return k1, client
}

// logLine returns the first line of lbd's log that contains every part,
// and its index among the lines; -1 if none.
func logLine(log string, parts ...string) (string, int) {
	for i, l := range strings.Split(log, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return l, i
		}
	}
	return "", -1
}

// logTime parses the time= of a line of lbd's text log.
func logTime(t *testing.T, line string) time.Time {
	t.Helper()
	f := strings.Fields(line)
	if len(f) == 0 || !strings.HasPrefix(f[0], "time=") {
		t.Fatalf("no time in log line %q", line)
	}
	at, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(f[0], "time="))
	if err != nil {
		t.Fatalf("log line %q: %v", line, err)
	}
	return at
}

// TestDaemonStartupDelay: with vrrp_startup_delay 2, the instances stay in
// INIT (status says why) and nothing of them reaches the wire (no advert,
// no gratuitous ARP) until the delay is over; then they start as usual and
// become MASTER. An instance a reload adds during the delay waits for the
// same deadline; a changed vrrp_startup_delay is reported as applying at
// the next start; an instance added after the delay starts at once.
func TestDaemonStartupDelay(t *testing.T) {
	k1, client := oneHostLAN(t)
	wire := client.Capture("eth0", func(f *netns.Frame) bool {
		return f.VRRP != nil || (f.ARP != nil && f.ARP.Gratuitous())
	})
	cfg := func(delay string, insts ...string) string {
		return "global_defs {\n  vrrp_startup_delay " + delay + "\n}\n" + strings.Join(insts, "")
	}
	vi1 := reloadInst("VI_1", 51, 100, "0.5", "192.0.2.100/24")
	vi2 := reloadInst("VI_2", 52, 100, "0.5", "192.0.2.101/24")
	vi3 := reloadInst("VI_3", 53, 100, "0.5", "192.0.2.102/24")
	n := daemontest.Start(t, k1, cfg("2", vi1), "--datapath", "off")

	// Right after the start: INIT, unless this machine was too slow to
	// ask before the delay ended (then only the wire below checks it).
	st, err := n.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.StartupDelayUntil != nil && time.Now().Before(*st.StartupDelayUntil) {
		in := st.Instance("VI_1")
		if in == nil || in.State != "INIT" || !strings.HasPrefix(in.InitReason, "vrrp_startup_delay, ") {
			t.Errorf("during the delay: VI_1 %+v, want INIT with init_reason vrrp_startup_delay", in)
		}
	} else {
		t.Logf("status answered after the delay (%v): INIT not observed", st.StartupDelayUntil)
	}

	// A reload during the delay adds VI_2 and changes the delay.
	if err := os.WriteFile(n.ConfigPath, []byte(cfg("3", vi1, vi2)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := reload(t, n)
	if !strings.Contains(out, "vrrp_startup_delay 2s -> 3s: applies when lbd next starts") {
		t.Errorf("lbd reload: the delay's change is not reported:\n%s", out)
	}
	st, err = n.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.StartupDelayUntil != nil && time.Now().Before(*st.StartupDelayUntil) {
		if in := st.Instance("VI_2"); in == nil || in.State != "INIT" || in.InitReason == "" {
			t.Errorf("VI_2 added during the delay: %+v, want INIT with init_reason", in)
		}
	}

	for _, inst := range []string{"VI_1", "VI_2"} {
		if err := n.WaitState(inst, "MASTER", 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	log := n.Log()
	hold, iHold := logLine(log, "vrrp_startup_delay: the vrrp instances stay in INIT")
	over, iOver := logLine(log, "vrrp_startup_delay over")
	_, iFirst := logLine(log, `msg="vrrp transition"`)
	if iHold < 0 || iOver < 0 || iFirst < 0 || !(iHold < iOver && iOver < iFirst) {
		t.Fatalf("log: delay start at line %d, end at %d, first transition at %d: want them in this order\n%s", iHold, iOver, iFirst, log)
	}
	// The delay lasted (log times are to the millisecond).
	if d := logTime(t, over).Sub(logTime(t, hold)); d < 2*time.Second-10*time.Millisecond {
		t.Errorf("the delay lasted %v, want 2s", d)
	}
	// Nothing reached the wire before its end.
	end := logTime(t, over).Add(-time.Millisecond)
	var vrids []int
	for _, f := range wire.Frames() {
		if f.Time.Before(end) {
			t.Errorf("frame during the delay, at %v (delay over at %v): %v", f.Time, end, f)
		}
		if f.VRRP != nil && len(vrids) < 2 && !contains(vrids, f.VRRP.VRID) {
			vrids = append(vrids, f.VRRP.VRID)
		}
	}
	if len(vrids) != 2 {
		t.Errorf("adverts seen for VRIDs %v, want 51 and 52", vrids)
	}

	// After the delay, a reload's new instance starts at once.
	if err := os.WriteFile(n.ConfigPath, []byte(cfg("3", vi1, vi2, vi3)), 0o644); err != nil {
		t.Fatal(err)
	}
	reload(t, n)
	st, err = n.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.StartupDelayUntil != nil {
		t.Errorf("startup_delay_until %v after the delay", st.StartupDelayUntil)
	}
	if in := st.Instance("VI_3"); in == nil || in.InitReason != "" {
		t.Errorf("VI_3 added after the delay: %+v, want no init_reason", in)
	}
	if err := n.WaitState("VI_3", "MASTER", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// TestDaemonStartupDelayStop: SIGTERM during a long vrrp_startup_delay
// stops lbd at once and cleanly: exit status 0, the instance never left
// INIT but for STOP, nothing on the wire, no VIP.
func TestDaemonStartupDelayStop(t *testing.T) {
	k1, client := oneHostLAN(t)
	wire := client.Capture("eth0", func(f *netns.Frame) bool {
		return f.VRRP != nil || (f.ARP != nil && f.ARP.Gratuitous())
	})
	n := daemontest.Start(t, k1, "global_defs {\n  vrrp_startup_delay 60\n}\n"+reloadInst("VI_1", 51, 255, "1", "192.0.2.100/24"),
		"--datapath", "off")
	st, err := n.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.StartupDelayUntil == nil || !time.Now().Before(*st.StartupDelayUntil) {
		t.Fatalf("startup_delay_until %v: want a minute ahead", st.StartupDelayUntil)
	}
	if in := st.Instance("VI_1"); in == nil || in.State != "INIT" || !strings.HasPrefix(in.InitReason, "vrrp_startup_delay, ") {
		t.Fatalf("VI_1 %+v, want INIT with init_reason vrrp_startup_delay", in)
	}
	text, err := k1.Run(n.Binary, "status", "--run-dir", n.RunDir)
	if err != nil || !strings.Contains(text, "VI_1 is in INIT: vrrp_startup_delay, ") {
		t.Errorf("lbd status (%v) does not say why VI_1 is in INIT:\n%s", err, text)
	}
	// Daemontest's Stop waits 30 s at most: less than the delay.
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	log := n.Log()
	if l, _ := logLine(log, `msg="vrrp transition"`, "to=STOP"); l == "" || !strings.Contains(l, "from=INIT") {
		t.Errorf("no INIT -> STOP transition in the log:\n%s", log)
	}
	if l, _ := logLine(log, `msg="vrrp transition"`, "to=MASTER"); l != "" {
		t.Errorf("became MASTER during the delay: %s", l)
	}
	if fs := wire.Frames(); len(fs) > 0 {
		t.Errorf("%d frames on the wire, first %v", len(fs), fs[0])
	}
	if k1.HasAddr("eth0", "192.0.2.100") {
		t.Error("the VIP is on k1")
	}
}

// TestDaemonLogUnknownVRIDs: with log_unknown_vrids, an advert for a VRID
// no instance on the interface has, sent by another host, is logged (one
// line for a burst: rate-limited) on both receive paths (the XDP program
// passes unknown VRIDs to the kernel, so the raw socket sees them); a
// reload that removes the keyword stops the lines, not the count.
func TestDaemonLogUnknownVRIDs(t *testing.T) {
	eachDatapath(t, func(t *testing.T, dp string) {
		k1, client := oneHostLAN(t)
		conf := func(global string) string {
			return "global_defs {\n" + global + "}\n" + reloadInst("VI_1", 51, 100, "1", "192.0.2.100/24")
		}
		n := daemontest.Start(t, k1, conf("  log_unknown_vrids\n"), "--datapath", dp)
		if err := n.WaitState("VI_1", "MASTER", 30*time.Second); err != nil {
			t.Fatal(err)
		}
		onPath(t, n, "VI_1", dp)
		dropped := func() float64 {
			m, err := n.Metrics()
			if err != nil {
				t.Fatal(err)
			}
			v, _ := m.Get("lbd_vrrp_packets_dropped_total", "interface", "eth0", "reason", "vrid_unknown")
			return v
		}
		waitDropped := func(want float64) {
			t.Helper()
			netns.Eventually(t, 20*time.Second, fmt.Sprintf("%v adverts counted as vrid_unknown", want), func() error {
				if v := dropped(); v < want {
					return fmt.Errorf("%v counted", v)
				}
				return nil
			})
		}
		lines := func(vrid int) []string {
			var out []string
			for _, l := range strings.Split(n.Log(), "\n") {
				if strings.Contains(l, "no instance has on this interface") && strings.Contains(l, fmt.Sprintf(" vrid=%d ", vrid)) {
					out = append(out, l)
				}
			}
			return out
		}

		base := dropped()
		for range 5 {
			sendAdvert(t, client, 77, 100, time.Second, "192.0.2.177")
		}
		waitDropped(base + 5)
		got := lines(77)
		if len(got) < 1 || len(got) >= 5 {
			t.Fatalf("%d log lines for 5 adverts of VRID 77, want 1 (rate-limited):\n%s", len(got), n.Log())
		}
		for _, want := range []string{"interface=eth0", "src=192.0.2.3", "dst=224.0.0.18"} {
			if !strings.Contains(got[0], want) {
				t.Errorf("log line %q lacks %s", got[0], want)
			}
		}

		if err := os.WriteFile(n.ConfigPath, []byte(conf("")), 0o644); err != nil {
			t.Fatal(err)
		}
		if out := reload(t, n); !strings.Contains(out, "global_defs log_unknown_vrids off") {
			t.Errorf("lbd reload does not report log_unknown_vrids off:\n%s", out)
		}
		base = dropped()
		sendAdvert(t, client, 78, 100, time.Second, "192.0.2.178")
		sendAdvert(t, client, 78, 100, time.Second, "192.0.2.178")
		waitDropped(base + 2)
		if got := lines(78); len(got) > 0 {
			t.Errorf("logged without log_unknown_vrids: %q", got)
		}
		if err := n.Stop(); err != nil {
			t.Fatal(err)
		}
	})
}
