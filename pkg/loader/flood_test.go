package loader

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbdproject/lbd/internal/netns"
	lbdtest "github.com/lbdproject/lbd/internal/testutil"
	"github.com/lbdproject/lbd/pkg/vrrp"
)

// floodLab: lb (the loader), master (a legitimate peer) and attacker on one
// bridge.
type floodLab struct {
	lb, master, attacker *netns.Host
	l                    *Loader
	kMcast, kUcast       VRIDKey
	fromMaster, fromAtk  *sender
	stack                *stackCounter
}

const floodPW = "secret"

func newFloodLab(t *testing.T) *floodLab {
	lbdtest.RequireRoot(t)
	lab := netns.New(t, netns.Options{})
	x := &floodLab{lb: lab.Host("lb"), master: lab.Host("master"), attacker: lab.Host("attacker")}
	lan := lab.Bridge("lan")
	lab.Connect(x.lb, "eth0", lan, "192.0.2.10/24")
	lab.Connect(x.master, "eth0", lan, "192.0.2.1/24")
	lab.Connect(x.attacker, "eth0", lan, "192.0.2.66/24")
	x.l = openIn(t, x.lb, x.lb.BPFFS())
	t.Cleanup(func() { x.l.Close(true) })
	idx := x.lb.Index("eth0")
	x.kMcast = VRIDKey{Ifindex: idx, VRID: 1, Family: IPv4}
	x.kUcast = VRIDKey{Ifindex: idx, VRID: 2, Family: IPv4}
	var pw [8]byte
	copy(pw[:], floodPW)
	err := x.l.ReplaceVRIDs(map[VRIDKey]VRIDConfig{
		x.kMcast: {Version: 2, AuthType: AuthPass, AuthData: pw, Interval: time.Second, VIPs: addrs("192.0.2.100"),
			LocalAddr: netip.MustParseAddr("192.0.2.10")},
		x.kUcast: {Version: 3, Interval: time.Second, VIPs: addrs("192.0.2.200"), Unicast: true, EnforceAllow: true,
			LocalAddr: netip.MustParseAddr("192.0.2.10")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.l.SetAllowList(idx, []AllowEntry{{Prefix: netip.MustParsePrefix("192.0.2.1/32")}}); err != nil {
		t.Fatal(err)
	}
	if tier, err := x.l.Attach("eth0", ModeAuto); err != nil || tier != TierXDP {
		t.Fatalf("attach: %s, %v", tier, err)
	}
	x.fromMaster = newSender(t, x.master, "eth0")
	x.fromAtk = newSender(t, x.attacker, "eth0")
	x.stack = newStackCounter(t, x.lb)
	return x
}

func (x *floodLab) mcast(src string, ttl, prio uint8, pw string, authType uint8) []byte {
	return vrrpFrame(nil, src, "224.0.0.18", ttl, advert{version: 2, vrid: 1, prio: prio, count: -1,
		authType: authType, authData: pw, interval: 1, addrs: addrs("192.0.2.100")})
}

func (x *floodLab) ucast(src string, ttl, prio uint8) []byte {
	return vrrpFrame(nil, src, "192.0.2.10", ttl, advert{version: 3, vrid: 2, prio: prio, count: -1,
		interval: 100, addrs: addrs("192.0.2.200")})
}

func (x *floodLab) stats(t *testing.T, k VRIDKey) VRIDStats {
	t.Helper()
	s, err := x.l.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return s.VRIDs[k]
}

// nextEvent waits for one event.
func nextEvent(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("events closed")
		}
		return e
	case <-time.After(20 * time.Second):
		t.Fatal("no event within 20s")
	}
	return Event{}
}

// TestForgedFlood: a third host floods forged adverts (wrong password,
// wrong TTL, no authentication, a sender outside the allow-list, all with
// a priority that would win); the program drops and counts every one, the
// recorded masters do not change, no event is emitted, nothing reaches the
// kernel.
func TestForgedFlood(t *testing.T) {
	x := newFloodLab(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := x.l.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.l.Events(ctx); err == nil {
		t.Error("a second event stream was allowed")
	}

	x.fromMaster.send(t, x.mcast("192.0.2.1", 255, 100, floodPW, AuthPass))
	x.fromMaster.send(t, x.ucast("192.0.2.1", 255, 100))
	for range 2 {
		e := nextEvent(t, events)
		if e.Kind != EventNewSender || e.Addr != netip.MustParseAddr("192.0.2.1") || e.Priority != 100 {
			t.Fatalf("event %+v, want the master's new_sender", e)
		}
	}
	before := map[VRIDKey]MasterInfo{}
	rawBefore := dumpMasters(t, x.l)
	for _, k := range []VRIDKey{x.kMcast, x.kUcast} {
		mi, ok := x.l.MasterInfo(k)
		if !ok || mi.Addr != netip.MustParseAddr("192.0.2.1") || mi.Priority != 100 {
			t.Fatalf("master of %s: %+v %v", k, mi, ok)
		}
		if age := time.Since(mi.LastSeen); age < -time.Second || age > time.Minute {
			t.Errorf("master of %s last seen %v ago", k, age)
		}
		before[k] = mi
	}
	acceptedBefore := x.stats(t, x.kMcast).Accepted + x.stats(t, x.kUcast).Accepted

	forged := []struct {
		name   string
		key    VRIDKey
		frame  []byte
		reason Reason
	}{
		{"wrong password, master's source", x.kMcast, x.mcast("192.0.2.1", 255, 254, "guess", AuthPass), Reason(vrrp.ReasonAuthFailure)},
		{"ttl 64", x.kMcast, x.mcast("192.0.2.66", 64, 254, floodPW, AuthPass), Reason(vrrp.ReasonIPTTL)},
		{"no authentication", x.kMcast, x.mcast("192.0.2.66", 255, 254, "", AuthNone), Reason(vrrp.ReasonAuthTypeMismatch)},
		{"sender not allowed", x.kUcast, x.ucast("192.0.2.66", 255, 254), Reason(vrrp.ReasonSenderNotAllowed)},
	}
	const bursts, burst = 10, 200
	for b := 0; b < bursts; b++ {
		for _, f := range forged {
			for i := 0; i < burst; i++ {
				x.fromAtk.send(t, f.frame)
			}
		}
		// Wait for the burst to be counted before the next one: the
		// count stays exact on a busy machine.
		for _, f := range forged {
			waitCount(t, f.name, uint64((b+1)*burst), func() uint64 { return x.stats(t, f.key).Rejected[f.reason] })
		}
	}

	for k, mi := range before {
		got, ok := x.l.MasterInfo(k)
		if !ok || got.Addr != mi.Addr || got.Priority != mi.Priority {
			t.Errorf("master of %s changed: %+v, was %+v", k, got, mi)
		}
	}
	// Not even its last-seen time moved.
	if d := cmp.Diff(rawBefore, dumpMasters(t, x.l)); d != "" {
		t.Errorf("master records changed (-before +after):\n%s", d)
	}
	if a := x.stats(t, x.kMcast).Accepted + x.stats(t, x.kUcast).Accepted; a != acceptedBefore {
		t.Errorf("%d forged adverts accepted", a-acceptedBefore)
	}
	if n := x.stack.n.Load(); n != 0 {
		t.Errorf("%d packets reached the kernel", n)
	}
	// The next event is the master's next change, not anything forged.
	x.fromMaster.send(t, x.mcast("192.0.2.1", 255, 120, floodPW, AuthPass))
	if e := nextEvent(t, events); e.Kind != EventPrioChange || e.Key != x.kMcast || e.PrevPriority != 100 || e.Priority != 120 {
		t.Fatalf("event %+v, want the master's prio_change 100 -> 120", e)
	}

	cancel()
	for range events {
	}
}

// TestCollector: the metrics read the maps at scrape time; per-VRID
// counters are the daemon's to export (under the instance's labels).
func TestCollector(t *testing.T) {
	x := newFloodLab(t)
	x.fromMaster.send(t, x.mcast("192.0.2.1", 255, 100, floodPW, AuthPass))
	x.fromAtk.send(t, x.mcast("192.0.2.66", 64, 254, floodPW, AuthPass))
	unknown := vrrpFrame(nil, "192.0.2.66", "224.0.0.18", 255, advert{version: 2, vrid: 9, prio: 100, count: -1,
		interval: 1, addrs: addrs("192.0.2.109")})
	x.fromAtk.send(t, unknown)
	waitCount(t, "accepted", 1, func() uint64 { return x.stats(t, x.kMcast).Accepted })
	waitCount(t, "ttl rejects", 1, func() uint64 { return x.stats(t, x.kMcast).Rejected[vrrp.ReasonIPTTL] })
	if s, ok := x.l.VRIDStats(x.kMcast); !ok || s.Accepted != 1 || s.Rejected[vrrp.ReasonIPTTL] != 1 {
		t.Errorf("VRIDStats %+v (%v), want 1 accepted, 1 ip_ttl", s, ok)
	}
	if _, ok := x.l.VRIDStats(VRIDKey{Ifindex: x.kMcast.Ifindex, VRID: 9, Family: IPv4}); ok {
		t.Error("VRIDStats of an unconfigured VRID")
	}

	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(NewCollector(x.l)); err != nil {
		t.Fatal(err)
	}
	var got map[string]float64
	err := netns.Poll(10*time.Second, func() error {
		mfs, err := reg.Gather()
		if err != nil {
			return netns.Permanent(err)
		}
		got = map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				var lbl []string
				for _, lp := range m.GetLabel() {
					lbl = append(lbl, lp.GetName()+"="+lp.GetValue())
				}
				got[mf.GetName()+"{"+strings.Join(lbl, ",")+"}"] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
		if got["lbd_vrrp_packets_passed_total{interface=eth0,reason=vrid_unknown}"] != 1 {
			return errors.New("the unknown VRID's packet is not counted yet")
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	for name, want := range map[string]float64{
		"lbd_vrrp_packets_passed_total{interface=eth0,reason=vrid_unknown}": 1,
		"lbd_vrrp_packets_passed_total{interface=eth0,reason=fragment}":     0,
		"lbd_vrrp_events_lost_total{interface=eth0}":                        0,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	for name := range got {
		if !strings.HasPrefix(name, "lbd_vrrp_packets_passed_total{") && !strings.HasPrefix(name, "lbd_vrrp_events_lost_total{") {
			t.Errorf("unexpected series %s: per-VRID series and the tier are the daemon's", name)
		}
	}
	if t.Failed() {
		for k, v := range got {
			t.Logf("%s %v", k, v)
		}
	}
}

// TestForgetMaster: after ForgetMaster the master's next, unchanged advert
// is an event again (what a restarted daemon needs); counters stay.
func TestForgetMaster(t *testing.T) {
	x := newFloodLab(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := x.l.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	adv := x.mcast("192.0.2.1", 255, 100, floodPW, AuthPass)
	x.fromMaster.send(t, adv)
	if e := nextEvent(t, events); e.Kind != EventNewSender || e.Key != x.kMcast {
		t.Fatalf("event %+v, want new_sender", e)
	}
	x.fromMaster.send(t, adv)
	waitCount(t, "accepted", 2, func() uint64 { return x.stats(t, x.kMcast).Accepted })
	if err := x.l.ForgetMaster(x.kMcast); err != nil {
		t.Fatal(err)
	}
	if mi, ok := x.l.MasterInfo(x.kMcast); ok {
		t.Errorf("master still recorded after ForgetMaster: %+v", mi)
	}
	if _, ok := x.l.LastSeen(x.kMcast); ok {
		t.Error("LastSeen answers after ForgetMaster")
	}
	x.fromMaster.send(t, adv)
	if e := nextEvent(t, events); e.Kind != EventNewSender || e.Key != x.kMcast || e.Priority != 100 {
		t.Fatalf("event %+v, want new_sender again", e)
	}
	if s := x.stats(t, x.kMcast); s.Accepted != 3 {
		t.Errorf("accepted %d, want 3 (counters kept)", s.Accepted)
	}
	if err := x.l.ForgetMaster(VRIDKey{Ifindex: x.kMcast.Ifindex, VRID: 77, Family: IPv4}); err == nil {
		t.Error("ForgetMaster of an unconfigured VRID: no error")
	}
}
