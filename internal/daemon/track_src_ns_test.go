package daemon_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

// trackSrcConf is a unicast instance sending from src to peer; track
// adds track_src_ip.
func trackSrcConf(prio int, src, peer string, track bool) string {
	extra := ""
	if track {
		extra = "track_src_ip\n"
	}
	return kwInst("VI_S", 61, prio, extra+fmt.Sprintf("unicast_src_ip %s\nunicast_peer {\n  %s\n}", src, peer), "192.0.2.161/24")
}

func faultsOf(t *testing.T, n *daemontest.Node, name string) string {
	t.Helper()
	in, err := n.Instance(name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(in.Faults, "; ")
}

// TestDaemonTrackSrcIP: with track_src_ip, removing the configured
// unicast_src_ip puts the instance in FAULT (the peer takes over), adding
// it back takes it out (it preempts again).
func TestDaemonTrackSrcIP(t *testing.T) {
	testutil.RequireRoot(t)
	lab := netns.New(t, netns.Options{})
	k1, k2 := lab.Host("k1"), lab.Host("k2")
	br := lab.Bridge("lan")
	lab.Connect(k1, "eth0", br, "192.0.2.1/24")
	lab.Connect(k2, "eth0", br, "192.0.2.2/24")
	const src = "192.0.2.11"
	k1.AddAddr("eth0", src+"/32")

	n1 := daemontest.Start(t, k1, trackSrcConf(150, src, "192.0.2.2", true), "--datapath", "off")
	waitState(t, n1, "VI_S", "MASTER", 30*time.Second)
	n2 := daemontest.Start(t, k2, trackSrcConf(100, "192.0.2.2", src, false), "--datapath", "off")
	waitState(t, n2, "VI_S", "BACKUP", 30*time.Second)

	k1.DelAddr("eth0", src+"/32")
	waitState(t, n1, "VI_S", "FAULT", 30*time.Second)
	waitState(t, n2, "VI_S", "MASTER", 30*time.Second)
	if f := faultsOf(t, n1, "VI_S"); !strings.Contains(f, "track_src_ip: "+src+" not on eth0") {
		t.Errorf("faults %q: want the track_src_ip reason", f)
	}
	if line, _ := logLine(n1.Log(), "track_src_ip", src, "not on eth0"); line == "" {
		t.Errorf("no log line names the reason:\n%s", n1.Log())
	}
	text, err := k1.Run(n1.Binary, "status", "--run-dir", n1.RunDir)
	if err != nil || !strings.Contains(text, "track_src_ip: "+src+" not on eth0") {
		t.Errorf("lbd status (%v) does not say why VI_S is in FAULT:\n%s", err, text)
	}

	k1.AddAddr("eth0", src+"/32")
	waitState(t, n1, "VI_S", "MASTER", 30*time.Second)
	waitState(t, n2, "VI_S", "BACKUP", 30*time.Second)
	if f := faultsOf(t, n1, "VI_S"); f != "" {
		t.Errorf("faults %q after the address came back", f)
	}
}

// TestDaemonTrackSrcIPMissingAtStart: an instance whose unicast_src_ip is
// not there at start is in FAULT from the start, and leaves it when the
// address appears. Without track_src_ip, the same configuration runs.
func TestDaemonTrackSrcIPMissingAtStart(t *testing.T) {
	k1, _ := oneHostLAN(t)
	const src = "192.0.2.12"
	n := daemontest.Start(t, k1, trackSrcConf(150, src, "192.0.2.3", true), "--datapath", "off")
	waitState(t, n, "VI_S", "FAULT", 30*time.Second)
	if f := faultsOf(t, n, "VI_S"); !strings.Contains(f, "track_src_ip: "+src+" not on eth0") {
		t.Errorf("faults %q: want the track_src_ip reason", f)
	}
	in, err := n.Instance("VI_S")
	if err != nil {
		t.Fatal(err)
	}
	if in.State != "FAULT" {
		t.Fatalf("state %s", in.State)
	}
	var seen bool
	for _, tr := range in.Trackers {
		if tr.Kind == "src_ip" && tr.Name == src+" on eth0" && tr.State == "down" && tr.Effect == "fault" {
			seen = true
		}
	}
	if !seen {
		t.Errorf("trackers %+v: want src_ip %s on eth0 down, fault", in.Trackers, src)
	}
	if line, _ := logLine(n.Log(), `msg="vrrp transition"`, "to=MASTER"); line != "" {
		t.Errorf("was MASTER before the address existed: %s", line)
	}

	k1.AddAddr("eth0", src+"/32")
	waitState(t, n, "VI_S", "MASTER", 30*time.Second)
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	k1.DelAddr("eth0", src+"/32")
	n = daemontest.Start(t, k1, trackSrcConf(150, src, "192.0.2.3", false), "--datapath", "off")
	waitState(t, n, "VI_S", "MASTER", 30*time.Second)
}
