package vrrp

import (
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeOffload stands for the XDP program: it absorbed some adverts and
// rejected some packets, and records what it is told.
type fakeOffload struct {
	mu      sync.Mutex
	stats   OffloadStats
	masters []bool
}

func (o *fakeOffload) SetEveryAdvert(m bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.masters = append(o.masters, m)
}

func (o *fakeOffload) Stats() OffloadStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stats
}

func (o *fakeOffload) calls() []bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.masters)
}

// The offload's counters are added to the instance's status and to the one
// set of receive series; it is told when the instance needs every advert
// (here: while MASTER).
func TestRuntimeOffload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWire{}
		offA, offB := &fakeOffload{}, &fakeOffload{}
		offB.stats = OffloadStats{Received: 40, PriorityZeroReceived: 1, MasterAddr: addrA}
		offB.stats.Dropped[ReasonAuthFailure] = 3
		offB.stats.Dropped[ReasonIPTTL] = 2
		a := newNode(t, w, addrA, nodeOpts{cfg: withPrio(200), spec: func(s *InstanceSpec) { s.Offload = offA }})
		b := newNode(t, w, addrB, nodeOpts{cfg: withPrio(100), spec: func(s *InstanceSpec) { s.Offload = offB }})
		a.rt.Start()
		b.rt.Start()
		time.Sleep(10 * time.Second)
		synctest.Wait()

		sb := b.status(t, "VI_1")
		if sb.State != StateBackup || sb.MasterAddr != addrA {
			t.Fatalf("b: %v following %v", sb.State, sb.MasterAddr)
		}
		// b's socket received a's adverts (the fake wire has no offload in
		// the way); the status adds what the offload counted.
		own := sb.AdvertsReceived - 40
		if own < 6 || sb.PriorityZeroReceived != 1 || sb.Dropped != 5 {
			t.Errorf("b status: received %d (own %d), prio-0 %d, dropped %d; want own >= 6, 1, 5",
				sb.AdvertsReceived, own, sb.PriorityZeroReceived, sb.Dropped)
		}
		if v := metric(t, b.reg, "lbd_vrrp_adverts_received_total", "instance", "VI_1", "vrid", "7"); v != float64(sb.AdvertsReceived) {
			t.Errorf("b adverts received metric %v, status %d", v, sb.AdvertsReceived)
		}
		if v := metric(t, b.reg, "lbd_vrrp_priority_zero_received_total", "instance", "VI_1"); v != 1 {
			t.Errorf("b priority-0 metric %v, want 1", v)
		}
		for reason, want := range map[string]float64{"auth_failure": 3, "ip_ttl": 2, "checksum": 0} {
			if v := metric(t, b.reg, "lbd_vrrp_packets_dropped_total", "interface", "eth0", "reason", reason); v != want {
				t.Errorf("b dropped{reason=%s} = %v, want %v", reason, v, want)
			}
		}
		if v := metric(t, b.reg, "lbd_vrrp_master_priority", "instance", "VI_1"); v != 200 {
			t.Errorf("b master priority %v, want 200", v)
		}
		if v := metric(t, a.reg, "lbd_vrrp_master_priority", "instance", "VI_1"); v != 200 {
			t.Errorf("a (MASTER) master priority %v, want its own 200", v)
		}
		// The age: from the socket's last advert (under a second ago),
		// then from the offload's when it is later.
		if v := metric(t, b.reg, "lbd_vrrp_master_last_seen_seconds", "instance", "VI_1"); v <= 0 || v > 1 {
			t.Errorf("b master last seen %vs ago, want within an advert interval", v)
		}
		offB.mu.Lock()
		offB.stats.LastSeen = time.Now() // the bubble's clock stands still
		offB.mu.Unlock()
		if v := metric(t, b.reg, "lbd_vrrp_master_last_seen_seconds", "instance", "VI_1"); v != 0 {
			t.Errorf("b master last seen %vs ago, want 0 (the offload's later time)", v)
		}
		b.stop(t)

		if got := offA.calls(); !slices.Equal(got, []bool{true}) {
			t.Errorf("a's offload told %v, want [true] (became MASTER)", got)
		}
		if got := offB.calls(); len(got) != 0 {
			t.Errorf("b's offload told %v, want nothing (never MASTER)", got)
		}
		a.stop(t)
		if got := offA.calls(); !slices.Equal(got, []bool{true, false}) {
			t.Errorf("a's offload told %v after stop, want [true false]", got)
		}
	})
}

// When the same advert from the recorded master may mean something new,
// the datapath must hand over every advert.
func TestNeedsEveryAdvert(t *testing.T) {
	for _, tt := range []struct {
		name string
		mod  func(c *Config)
		step func(in *Instance)
		want bool
	}{
		{"backup, no master yet", nil, func(in *Instance) {}, false},
		{"backup following a higher master", nil, func(in *Instance) { in.HandleAdvert(at(sec), addrB, adv(in, 200, 0)) }, false},
		{"backup following an equal master", nil, func(in *Instance) { in.HandleAdvert(at(sec), addrB, adv(in, 100, 0)) }, false},
		{"backup hearing a lower master (preempt)", nil, func(in *Instance) { in.HandleAdvert(at(sec), addrB, adv(in, 50, 0)) }, true},
		{"backup hearing a lower master, nopreempt", func(c *Config) { c.NoPreempt = true },
			func(in *Instance) { in.HandleAdvert(at(sec), addrB, adv(in, 50, 0)) }, false},
		{"backup following a lower master during preempt_delay", func(c *Config) { c.PreemptDelay = 30 * sec },
			func(in *Instance) { in.HandleAdvert(at(sec), addrB, adv(in, 50, 0)) }, true},
		{"backup whose priority rose above its master's", nil, func(in *Instance) {
			in.HandleAdvert(at(sec), addrB, adv(in, 150, 0))
			in.SetPriority(at(2*sec), 200)
		}, true},
		{"master", nil, func(in *Instance) { in.Tick(at(10 * sec)) }, true},
		{"fault", nil, func(in *Instance) { in.SetFault(at(sec), true, "x") }, false},
		{"stopped", nil, func(in *Instance) { in.Shutdown(at(sec)) }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := started(t, tt.mod, Options{})
			tt.step(in)
			if got := in.NeedsEveryAdvert(); got != tt.want {
				t.Errorf("NeedsEveryAdvert() = %v in %v, want %v", got, in.State(), tt.want)
			}
		})
	}
}
