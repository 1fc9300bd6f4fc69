package daemon

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/lbdproject/lbd/pkg/track"
	"github.com/lbdproject/lbd/pkg/vrrp"
)

// BenchmarkTrackingRecompute: one tracker change recomputes every
// instance (1,000 instances, 5 trackers each, nothing changed: no call
// reaches the runtime).
func BenchmarkTrackingRecompute(b *testing.B) {
	rt := vrrp.NewRuntime(vrrp.RuntimeOptions{})
	t := newTracking(slog.New(slog.DiscardHandler), nil, rt, nil)
	for i := 0; i < 1000; i++ {
		p := &Plan{Name: fmt.Sprintf("VI_%d", i), Config: vrrp.Config{Priority: 100}, Tracking: Tracking{
			Primary: "eth0",
			Refs: []track.Ref{
				{Kind: track.KindInterface, Name: "eth1", Weight: -10},
				{Kind: track.KindScript, Name: "chk", Weight: 20},
				{Kind: track.KindScript, Name: "chk0"},
				{Kind: track.KindFile, Name: "tf", Weight: 5},
				{Kind: track.KindProcess, Name: "tp", Weight: 30},
			},
		}}
		t.addLocked(p)
	}
	t.mu.Lock()
	t.recomputeLocked()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t.recomputeLocked()
	}
	b.StopTimer()
	t.mu.Unlock()
}
