package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/daemon"
	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

// Benchmarks of the operations around VRRP, on a real lbd in a lab (root).
// They report what an operator waits for rather than ns/op: the time lbd
// takes to apply a reload, and the time from a transition to its notify
// script running.

// BenchmarkDaemonReload: one lbd running 200 instances; each iteration
// reloads a configuration that changes 20 of them in place (priority and
// a VIP), removes 20 and adds 20 (alternating with the original). It
// reports lbd's own apply time (ReloadResult.Duration) and the round
// trip of "lbd reload".
func BenchmarkDaemonReload(b *testing.B) {
	testutil.RequireRoot(b)
	lab := netns.New(b, netns.Options{})
	k1 := lab.Host("k1")
	lab.Connect(k1, "eth0", lab.Bridge("lan"), "10.0.0.1/16")
	conf := func(alt bool) string {
		var sb strings.Builder
		for i := 1; i <= 220; i++ {
			if (!alt && i > 200) || (alt && i <= 20) {
				continue // 1-20 only in the original, 201-220 only in alt
			}
			prio, extra := 100, ""
			if alt && i > 20 && i <= 40 {
				prio, extra = 110, fmt.Sprintf("\n    10.2.%d.%d/16", i/250, i%250+1)
			}
			fmt.Fprintf(&sb, "vrrp_instance VI_%d {\n  interface eth0\n  virtual_router_id %d\n  priority %d\n  version 3\n  advert_int 1\n  virtual_ipaddress {\n    10.1.%d.%d/16%s\n  }\n}\n",
				i, i, prio, i/250, i%250+1, extra)
		}
		return sb.String()
	}
	n := daemontest.Start(b, k1, conf(false))
	var apply []time.Duration
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := os.WriteFile(n.ConfigPath, []byte(conf(i%2 == 0)), 0o644); err != nil {
			b.Fatal(err)
		}
		resp, err := daemon.Query(b.Context(), n.RunDir, daemon.Request{Command: daemon.CommandReload})
		if err != nil || resp.Reload == nil || !resp.Reload.OK {
			b.Fatalf("reload: %v %+v", err, resp)
		}
		if len(resp.Reload.Changes) != 60 {
			b.Fatalf("%d changes, want 60: %q", len(resp.Reload.Changes), resp.Reload.Changes)
		}
		apply = append(apply, time.Duration(resp.Reload.Duration*float64(time.Second)))
	}
	b.StopTimer()
	slices.Sort(apply)
	b.ReportMetric(float64(apply[len(apply)/2].Microseconds())/1000, "apply-ms-median")
	b.ReportMetric(float64(apply[len(apply)-1].Microseconds())/1000, "apply-ms-max")
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "roundtrip-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkDaemonNotifyLatency: an instance alone (MASTER) with a
// track_file; each iteration writes the file to send it to FAULT or back,
// and measures from the transition lbd reports (lbd status
// last_transition) to the moment its notify script starts (the script
// records its clock).
func BenchmarkDaemonNotifyLatency(b *testing.B) {
	testutil.RequireRoot(b)
	lab := netns.New(b, netns.Options{})
	k1 := lab.Host("k1")
	lab.Connect(k1, "eth0", lab.Bridge("lan"), "192.0.2.1/24")
	dir, err := os.MkdirTemp("", "lbd-bench-")
	if err != nil {
		b.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	b.Cleanup(func() { os.RemoveAll(dir) })
	rec := filepath.Join(dir, "rec")
	logf := filepath.Join(dir, "log")
	if err := os.WriteFile(rec, []byte("#!/bin/sh\necho \"$(date +%s.%N) $*\" >> "+logf+"\n"), 0o755); err != nil {
		b.Fatal(err)
	}
	tf := filepath.Join(dir, "tf")
	n := daemontest.Start(b, k1, fmt.Sprintf(`track_file tf {
  file %s
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  version 3
  advert_int 0.1
  track_file {
    tf weight 0
  }
  notify "%s"
  virtual_ipaddress {
    192.0.2.100/24
  }
}
`, tf, rec))
	if err := n.WaitState("VI_1", "MASTER", 20*time.Second); err != nil {
		b.Fatal(err)
	}
	lines := func() []string {
		data, _ := os.ReadFile(logf)
		return strings.Split(strings.TrimSpace(string(data)), "\n")
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		want, val := "FAULT", "1\n"
		if i%2 == 1 {
			want, val = "BACKUP", "0\n"
		}
		before := len(lines())
		if err := os.WriteFile(tf+".new", []byte(val), 0o644); err != nil {
			b.Fatal(err)
		}
		os.Rename(tf+".new", tf)
		var line string
		err := netns.Poll(10*time.Second, func() error {
			ls := lines()
			for _, l := range ls[min(before, len(ls)):] {
				if strings.Contains(l, " "+want+" ") {
					line = l
					return nil
				}
			}
			return fmt.Errorf("no %s notify yet", want)
		})
		if err != nil {
			b.Fatal(err)
		}
		s, err := n.Instance("VI_1")
		if err != nil || s.LastTransition == nil {
			b.Fatal(err)
		}
		f, _ := strconv.ParseFloat(strings.Fields(line)[0], 64)
		ran := time.Unix(0, int64(f*1e9))
		lat = append(lat, ran.Sub(*s.LastTransition))
		if want == "BACKUP" {
			// Back to MASTER before the next round.
			if err := n.WaitState("VI_1", "MASTER", 10*time.Second); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "notify-ms-median")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "notify-ms-max")
	b.ReportMetric(0, "ns/op")
}
