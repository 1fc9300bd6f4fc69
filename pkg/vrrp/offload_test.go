package vrrp

import (
	"context"
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
	rx      []OffloadRx
}

// SetRx records the changes of EveryAdvert, and every call.
func (o *fakeOffload) SetRx(x OffloadRx) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if n := len(o.rx); (n == 0 && x.EveryAdvert) || (n > 0 && o.rx[n-1].EveryAdvert != x.EveryAdvert) {
		o.masters = append(o.masters, x.EveryAdvert)
	}
	o.rx = append(o.rx, x)
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

		offB.mu.Lock()
		if len(offB.rx) == 0 || offB.rx[0].Rx.VRID != 7 || offB.rx[0].Rx.LocalAddr != addrB || offB.rx[0].EveryAdvert || offB.rx[0].State != StateInit {
			t.Errorf("b's offload first told %+v, want the receive rules of VRID 7 from %v, in INIT", offB.rx, addrB)
		}
		if n := len(offB.rx); n < 3 || offB.rx[1].State != StateBackup || offB.rx[n-1].State != StateStop {
			t.Errorf("b's offload told %+v, want INIT, BACKUP, ..., STOP", offB.rx)
		}
		offB.mu.Unlock()
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

// A reload that changes a BACKUP's VIPs: the offload gets the new rules
// and skips the address checks for the master followed (as the socket
// path does) until the instance's next transition.
func TestRuntimeOffloadReconfigure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWire{}
		off := &fakeOffload{}
		a := newNode(t, w, addrA, nodeOpts{cfg: withPrio(200)})
		b := newNode(t, w, addrB, nodeOpts{cfg: withPrio(100), spec: func(s *InstanceSpec) { s.Offload = off }})
		a.rt.Start()
		b.rt.Start()
		defer a.stop(t)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		last := func() OffloadRx {
			off.mu.Lock()
			defer off.mu.Unlock()
			return off.rx[len(off.rx)-1]
		}
		if x := last(); x.SkipAddrCheck || x.EveryAdvert || len(x.Rx.VIPs) != 1 {
			t.Fatalf("before the reload: %+v", x)
		}
		cfg := testConfig(func(c *Config) {
			c.Priority = 100
			c.VIPs = append(c.VIPs, vip("192.0.2.102/24"))
		})
		if err := b.rt.Reconfigure(context.Background(), "VI_1", InstanceUpdate{Config: cfg}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if x := last(); !x.SkipAddrCheck || len(x.Rx.VIPs) != 2 {
			t.Errorf("after the reload: %+v; want the new VIPs and the address checks skipped for the master", x)
		}
		// The master goes: b's transition ends the grace.
		a.stop(t)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if x := last(); x.SkipAddrCheck || !x.EveryAdvert {
			t.Errorf("as MASTER: %+v; want every advert, no skipped checks", x)
		}
		b.stop(t)
	})
}
