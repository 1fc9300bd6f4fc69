package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The runtime over in-memory fakes, in virtual time (testing/synctest):
// time.Sleep below advances the bubble's clock once every goroutine is
// blocked, so nothing here waits for real.

// fakeWire is a LAN: what one conn writes, the others read (a unicast
// destination: only the conn with that address).
type fakeWire struct {
	mu    sync.Mutex
	conns []*fakeConn
	sent  []wirePkt
}

type wirePkt struct {
	at       time.Time
	src, dst netip.Addr
	adv      Advert
}

func (w *fakeWire) conn(addr netip.Addr) *fakeConn {
	c := &fakeConn{w: w, addr: addr, ch: make(chan Packet, 256), closed: make(chan struct{})}
	w.mu.Lock()
	w.conns = append(w.conns, c)
	w.mu.Unlock()
	return c
}

// adverts returns the adverts sent from src so far.
func (w *fakeWire) adverts(src netip.Addr) []wirePkt {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []wirePkt
	for _, p := range w.sent {
		if p.src == src {
			out = append(out, p)
		}
	}
	return out
}

type fakeConn struct {
	w      *fakeWire
	addr   netip.Addr
	ch     chan Packet
	once   sync.Once
	closed chan struct{}
	down   bool // guarded by w.mu: sends nothing, receives nothing
}

func (c *fakeConn) ReadPacket(b []byte) (Packet, error) {
	select {
	case p := <-c.ch:
		n := copy(b, p.Payload)
		p.Payload = b[:n]
		return p, nil
	case <-c.closed:
		return Packet{}, net.ErrClosed
	}
}

func (c *fakeConn) WriteTo(msg []byte, src, dst netip.Addr) error {
	select {
	case <-c.closed:
		return net.ErrClosed
	default:
	}
	var adv Advert
	if r := Parse(msg, src, dst, &adv); r != ReasonNone {
		return fmt.Errorf("fake wire: unparsable advert: %v", r)
	}
	w := c.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.down {
		return errors.New("fake wire: link down")
	}
	w.sent = append(w.sent, wirePkt{at: time.Now(), src: src, dst: dst, adv: adv})
	for _, o := range w.conns {
		if o == c || o.down || (!dst.IsMulticast() && o.addr != dst) {
			continue
		}
		select {
		case o.ch <- Packet{Src: src, Dst: dst, HopLimit: TTL, Payload: slices.Clone(msg)}:
		default:
		}
	}
	return nil
}

func (c *fakeConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

// fakeAddrs records VIP changes; fail makes AddVIP fail, boom panic.
type fakeAddrs struct {
	mu   sync.Mutex
	on   map[netip.Prefix]bool
	ops  []string
	fail error
	boom bool
}

func newFakeAddrs() *fakeAddrs { return &fakeAddrs{on: map[netip.Prefix]bool{}} }

func (a *fakeAddrs) AddVIP(v VIP) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.boom {
		panic("fake addresses: boom")
	}
	if a.fail != nil {
		return a.fail
	}
	a.on[v.Prefix] = true
	a.ops = append(a.ops, "add "+v.Prefix.String())
	return nil
}

func (a *fakeAddrs) RemoveVIP(v VIP) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.on[v.Prefix] {
		delete(a.on, v.Prefix)
		a.ops = append(a.ops, "remove "+v.Prefix.String())
	}
	return nil
}

func (a *fakeAddrs) installed() []netip.Prefix {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []netip.Prefix
	for p := range a.on {
		out = append(out, p)
	}
	slices.SortFunc(out, func(x, y netip.Prefix) int { return x.Addr().Compare(y.Addr()) })
	return out
}

// fakeAnnouncer records when each announcement went out.
type fakeAnnouncer struct {
	mu   sync.Mutex
	sent []announced
}

type announced struct {
	at time.Time
	ip netip.Addr
}

func (a *fakeAnnouncer) Announce(ip netip.Addr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sent = append(a.sent, announced{time.Now(), ip})
	return nil
}

func (a *fakeAnnouncer) list() []announced {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.sent)
}

// rtNode is one host: a runtime with one socket on the fake wire.
type rtNode struct {
	rt    *Runtime
	conn  *fakeConn
	addrs *fakeAddrs
	ann   *fakeAnnouncer
	reg   *prometheus.Registry
}

type nodeOpts struct {
	cfg      func(c *Config)
	spec     func(s *InstanceSpec)
	interval time.Duration // garp_interval
	rtOpts   RuntimeOptions
}

func newNode(t *testing.T, w *fakeWire, addr netip.Addr, o nodeOpts) *rtNode {
	t.Helper()
	n := &rtNode{conn: w.conn(addr), addrs: newFakeAddrs(), ann: &fakeAnnouncer{}, reg: prometheus.NewRegistry()}
	m, err := NewMetrics(n.reg)
	if err != nil {
		t.Fatal(err)
	}
	o.rtOpts.Metrics = m
	n.rt = NewRuntime(o.rtOpts)
	cfg := testConfig(o.cfg)
	spec := InstanceSpec{
		Config:    cfg,
		Options:   Options{LocalAddr: addr},
		Conn:      n.conn,
		Addresses: n.addrs,
	}
	for _, v := range append(slices.Clone(cfg.VIPs), cfg.ExcludedVIPs...) {
		spec.Announce = append(spec.Announce, AnnounceTarget{Addr: v.Prefix.Addr(), Announcer: n.ann, Domain: "eth0", Interval: o.interval})
	}
	if o.spec != nil {
		o.spec(&spec)
	}
	if err := n.rt.AddInstance(spec); err != nil {
		t.Fatal(err)
	}
	if err := n.rt.Listen(n.conn, ListenSpec{Interface: "eth0", Family: cfg.Family(), Unicast: true}); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *rtNode) status(t *testing.T, name string) InstanceStatus {
	t.Helper()
	for _, s := range n.rt.Status() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no instance %s", name)
	return InstanceStatus{}
}

func (n *rtNode) stop(t *testing.T) {
	t.Helper()
	if err := n.rt.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// metric returns the value of the series name{labels} (counter, gauge, or
// a histogram's sample count), 0 if absent.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			return metricNumber(m)
		}
	}
	return 0
}

func metricNumber(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

func withPrio(p uint8) func(c *Config) { return func(c *Config) { c.Priority = p } }

func TestRuntimeElection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWire{}
		a := newNode(t, w, addrA, nodeOpts{cfg: withPrio(200)})
		b := newNode(t, w, addrB, nodeOpts{cfg: withPrio(100)})
		a.rt.Start()
		b.rt.Start()
		defer a.stop(t)
		defer b.stop(t)

		time.Sleep(10 * time.Second)
		synctest.Wait()

		sa, sb := a.status(t, "VI_1"), b.status(t, "VI_1")
		if sa.State != StateMaster || sa.LastCause != CauseMasterDownTimer {
			t.Errorf("a: %v (%v), want MASTER (master_down_timer)", sa.State, sa.LastCause)
		}
		if sb.State != StateBackup || sb.MasterAddr != addrA || sb.MasterPriority != 200 {
			t.Errorf("b: %v, master %v prio %d; want BACKUP following %v at 200", sb.State, sb.MasterAddr, sb.MasterPriority, addrA)
		}
		want := []netip.Prefix{netip.MustParsePrefix("192.0.2.100/24")}
		if got := a.addrs.installed(); !slices.Equal(got, want) {
			t.Errorf("a's VIPs %v, want %v", got, want)
		}
		if got := b.addrs.installed(); len(got) != 0 {
			t.Errorf("b's VIPs %v, want none", got)
		}
		// a became MASTER at ~3.22s and advertises every second since.
		if sa.AdvertsSent < 6 || sb.AdvertsReceived < 6 || sb.AdvertsReceived > sa.AdvertsSent {
			t.Errorf("a sent %d, b received %d", sa.AdvertsSent, sb.AdvertsReceived)
		}
		if sb.AdvertsSent != 0 {
			t.Errorf("b sent %d adverts as BACKUP", sb.AdvertsSent)
		}
		if v := metric(t, a.reg, "lbd_vrrp_state", "instance", "VI_1", "vrid", "7"); v != 2 {
			t.Errorf("a lbd_vrrp_state = %v, want 2", v)
		}
		if v := metric(t, b.reg, "lbd_vrrp_state", "instance", "VI_1", "vrid", "7"); v != 1 {
			t.Errorf("b lbd_vrrp_state = %v, want 1", v)
		}
		if v := metric(t, a.reg, "lbd_vrrp_transitions_total", "to", "MASTER", "reason", "master_down_timer"); v != 1 {
			t.Errorf("a MASTER transitions = %v, want 1", v)
		}
		if v := metric(t, b.reg, "lbd_vrrp_adverts_received_total", "instance", "VI_1"); v != float64(sb.AdvertsReceived) {
			t.Errorf("b adverts received metric %v, status %d", v, sb.AdvertsReceived)
		}
		if v := metric(t, a.reg, "lbd_vrrp_timer_lateness_seconds"); v < 6 {
			t.Errorf("lateness observations = %v, want one per timer fired", v)
		}
		if v := metric(t, a.reg, "lbd_vrrp_priority", "instance", "VI_1"); v != 200 {
			t.Errorf("a lbd_vrrp_priority = %v", v)
		}
	})
}

func TestRuntimeShutdownResigns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWire{}
		a := newNode(t, w, addrA, nodeOpts{cfg: withPrio(200)})
		b := newNode(t, w, addrB, nodeOpts{cfg: withPrio(100)})
		a.rt.Start()
		b.rt.Start()
		defer b.stop(t)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if s := a.status(t, "VI_1"); s.State != StateMaster {
			t.Fatalf("a is %v before the stop", s.State)
		}

		a.stop(t)
		stopped := time.Now()
		sent := w.adverts(addrA)
		last := sent[len(sent)-1]
		if last.adv.Priority != PriorityStop || !last.at.Equal(stopped) {
			t.Errorf("last advert from a: priority %d at %v; want a priority-0 advert at the stop (%v)", last.adv.Priority, last.at, stopped)
		}
		if got := a.addrs.installed(); len(got) != 0 {
			t.Errorf("a's VIPs after stop: %v", got)
		}
		if ops := a.addrs.ops; ops[len(ops)-1] != "remove 192.0.2.100/24" {
			t.Errorf("a's last VIP operation %q", ops[len(ops)-1])
		}
		sa := a.status(t, "VI_1")
		if sa.State != StateStop || sa.PriorityZeroSent != 1 {
			t.Errorf("a after stop: %v, %d priority-0 adverts sent", sa.State, sa.PriorityZeroSent)
		}

		// b takes over after its Skew_Time, not the whole down interval.
		time.Sleep(time.Second)
		synctest.Wait()
		sb := b.status(t, "VI_1")
		if sb.State != StateMaster || sb.LastCause != CausePriorityZero {
			t.Errorf("b: %v (%v), want MASTER (priority_zero_received)", sb.State, sb.LastCause)
		}
		if d := sb.LastTransition.Sub(stopped); d != SkewTime(3, 100, time.Second) {
			t.Errorf("b took over %v after a's stop, want Skew_Time %v", d, SkewTime(3, 100, time.Second))
		}
		if sb.PriorityZeroReceived != 1 {
			t.Errorf("b received %d priority-0 adverts", sb.PriorityZeroReceived)
		}
	})
}

func TestRuntimeGARPPacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWire{}
		a := newNode(t, w, addrA, nodeOpts{
			cfg: func(c *Config) {
				c.VIPs = []VIP{vip("192.0.2.100/24"), vip("192.0.2.101/24")}
				c.GARP.MasterRepeat = 3
				c.GARP.MasterDelay = 2 * time.Second
			},
			interval: 100 * time.Millisecond,
		})
		a.rt.Start()
		defer a.stop(t)
		time.Sleep(10 * time.Second)
		synctest.Wait()

		s := a.status(t, "VI_1")
		if s.State != StateMaster {
			t.Fatalf("not MASTER: %v", s.State)
		}
		got := a.ann.list()
		v1, v2 := netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")
		var want []announced
		for _, burst := range []time.Duration{0, 2 * time.Second} {
			for i := range 6 {
				ip := v1
				if i%2 == 1 {
					ip = v2
				}
				want = append(want, announced{s.LastTransition.Add(burst + time.Duration(i)*100*time.Millisecond), ip})
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("announcements:\n got %v\nwant %v", got, want)
		}
		if s.GARPSent != 12 || metric(t, a.reg, "lbd_vrrp_garp_sent_total", "instance", "VI_1") != 12 {
			t.Errorf("garp sent: status %d, metric %v; want 12", s.GARPSent, metric(t, a.reg, "lbd_vrrp_garp_sent_total"))
		}
	})
}

func TestRuntimeGARPDroppedWhenNoLongerMaster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWire{}
		a := newNode(t, w, addrA, nodeOpts{
			cfg: func(c *Config) {
				c.GARP.MasterRepeat = 5
				c.GARP.MasterDelay = 0
			},
			interval: time.Second,
		})
		a.rt.Start()
		for a.status(t, "VI_1").State != StateMaster {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(1500 * time.Millisecond) // two sent, three still queued
		a.stop(t)
		time.Sleep(10 * time.Second)
		if got := a.ann.list(); len(got) != 2 {
			t.Errorf("%d announcements after leaving MASTER mid-burst, want 2: %v", len(got), got)
		}
	})
}

func TestRuntimeReceiveDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWire{}
		a := newNode(t, w, addrA, nodeOpts{cfg: withPrio(100)})
		a.rt.Start()
		defer a.stop(t)
		synctest.Wait()

		peer, err := NewInstance(testConfig(withPrio(150)), Options{LocalAddr: addrB})
		if err != nil {
			t.Fatal(err)
		}
		good, _ := peer.AppendAdvert(nil, 150, addrB, MulticastGroupIPv4)
		badSum := slices.Clone(good)
		badSum[6] ^= 0xff
		otherVRID, _ := NewInstance(testConfig(func(c *Config) { c.VRID = 99 }), Options{LocalAddr: addrB})
		unknown, _ := otherVRID.AppendAdvert(nil, 150, addrB, MulticastGroupIPv4)
		for _, p := range []Packet{
			{Src: addrB, Dst: MulticastGroupIPv4, HopLimit: 255, Payload: badSum},
			{Src: addrB, Dst: MulticastGroupIPv4, HopLimit: 254, Payload: good},
			{Src: addrB, Dst: MulticastGroupIPv4, HopLimit: 255, Payload: unknown},
			{Src: addrB, Dst: MulticastGroupIPv4, HopLimit: 255, Payload: good[:1]},
			{Src: addrB, Dst: MulticastGroupIPv4, HopLimit: 255, Payload: good},
		} {
			a.conn.ch <- p
		}
		synctest.Wait()

		for reason, want := range map[string]float64{"checksum": 1, "ip_ttl": 1, "vrid_unknown": 1, "packet_len": 1, "addr_list": 0} {
			if v := metric(t, a.reg, "lbd_vrrp_packets_dropped_total", "interface", "eth0", "reason", reason); v != want {
				t.Errorf("dropped{reason=%s} = %v, want %v", reason, v, want)
			}
		}
		s := a.status(t, "VI_1")
		if s.Dropped != 2 || s.AdvertsReceived != 1 || s.MasterAddr != addrB {
			t.Errorf("status: dropped %d (want 2: checksum, ttl), received %d (want 1), master %v", s.Dropped, s.AdvertsReceived, s.MasterAddr)
		}
	})
}

func TestRuntimeFaultIsolation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWire{}
		reg := prometheus.NewRegistry()
		m, _ := NewMetrics(reg)
		rt := NewRuntime(RuntimeOptions{Metrics: m, FaultRetry: 3 * time.Second})
		conn := w.conn(addrA)
		okAddrs, failAddrs, boomAddrs := newFakeAddrs(), newFakeAddrs(), newFakeAddrs()
		failAddrs.fail = errors.New("no such device")
		boomAddrs.boom = true
		for i, a := range []Addresses{okAddrs, failAddrs, boomAddrs, nil} {
			spec := InstanceSpec{
				Config:    testConfig(func(c *Config) { c.Name = fmt.Sprintf("VI_%d", i+1); c.VRID = uint8(10 + i) }),
				Options:   Options{LocalAddr: addrA},
				Conn:      conn,
				Addresses: a,
			}
			if a == nil {
				spec.Conn = nil
				spec.Fault = "interface eth9: link not found"
			}
			if err := rt.AddInstance(spec); err != nil {
				t.Fatal(err)
			}
		}
		rt.Listen(conn, ListenSpec{Interface: "eth0", Family: FamilyIPv4, Unicast: true})
		rt.Start()
		defer rt.Stop(context.Background())
		st := func(name string) InstanceStatus {
			for _, s := range rt.Status() {
				if s.Name == name {
					return s
				}
			}
			t.Fatalf("no %s", name)
			return InstanceStatus{}
		}

		time.Sleep(4 * time.Second) // the down timers (3.6s) ran out
		synctest.Wait()
		if s := st("VI_1"); s.State != StateMaster {
			t.Errorf("VI_1 %v, want MASTER (the healthy one)", s.State)
		}
		if s := st("VI_2"); s.State != StateFault || len(s.Faults) != 1 || s.Faults[0] != "vip: no such device" {
			t.Errorf("VI_2 %v %q, want FAULT for its VIP", s.State, s.Faults)
		}
		if s := st("VI_3"); s.State != StateFault || s.Crashed == "" {
			t.Errorf("VI_3 %v crashed=%q, want FAULT after a recovered panic", s.State, s.Crashed)
		}
		if s := st("VI_4"); s.State != StateFault || s.FaultDetail != "setup: interface eth9: link not found" {
			t.Errorf("VI_4 %v %q, want FAULT from setup", s.State, s.FaultDetail)
		}
		if v := metric(t, reg, "lbd_vrrp_errors_total", "instance", "VI_3", "op", "panic"); v != 1 {
			t.Errorf("panics counted %v", v)
		}

		// VI_2 leaves FAULT after FaultRetry, fails again as MASTER.
		time.Sleep(3*time.Second + 4*time.Second)
		synctest.Wait()
		if v := metric(t, reg, "lbd_vrrp_transitions_total", "instance", "VI_2", "to", "BACKUP", "reason", "fault_cleared"); v != 1 {
			t.Errorf("VI_2 fault_cleared transitions %v, want 1", v)
		}
		if v := metric(t, reg, "lbd_vrrp_transitions_total", "instance", "VI_2", "to", "FAULT", "reason", "fault"); v != 2 {
			t.Errorf("VI_2 FAULT transitions %v, want 2", v)
		}
		if s := st("VI_1"); s.State != StateMaster {
			t.Errorf("VI_1 %v, want MASTER still", s.State)
		}
	})
}

func TestRuntimeSetFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWire{}
		a := newNode(t, w, addrA, nodeOpts{})
		a.rt.Start()
		defer a.stop(t)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if s := a.status(t, "VI_1"); s.State != StateMaster {
			t.Fatalf("%v", s.State)
		}
		a.rt.SetFault("VI_1", "interface", true, "eth0 down")
		a.rt.SetFault("VI_1", "track_script chk", true, "failed")
		synctest.Wait()
		s := a.status(t, "VI_1")
		if s.State != StateFault || !slices.Equal(s.Faults, []string{"interface: eth0 down", "track_script chk: failed"}) {
			t.Errorf("%v %q", s.State, s.Faults)
		}
		if len(a.addrs.installed()) != 0 {
			t.Errorf("VIPs kept in FAULT")
		}
		a.rt.SetFault("VI_1", "interface", false, "")
		synctest.Wait()
		if s := a.status(t, "VI_1"); s.State != StateFault {
			t.Errorf("left FAULT with a source still set: %v", s.State)
		}
		a.rt.SetFault("VI_1", "track_script chk", false, "")
		synctest.Wait()
		if s := a.status(t, "VI_1"); s.State != StateBackup || s.LastCause != CauseFaultCleared {
			t.Errorf("%v (%v), want BACKUP (fault_cleared)", s.State, s.LastCause)
		}
		if err := a.rt.SetFault("nope", "x", true, ""); !errors.Is(err, ErrNoInstance) {
			t.Errorf("unknown instance: %v", err)
		}
	})
}

func TestRuntimeUnicast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWire{}
		peers := func(p uint8, peer netip.Addr) func(c *Config) {
			return func(c *Config) {
				c.Priority = p
				c.UnicastPeers = []UnicastPeer{{Addr: peer, MaxTTL: 255}}
			}
		}
		a := newNode(t, w, addrA, nodeOpts{cfg: peers(200, addrB)})
		b := newNode(t, w, addrB, nodeOpts{cfg: peers(100, addrA)})
		a.rt.Start()
		b.rt.Start()
		defer a.stop(t)
		defer b.stop(t)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if s := a.status(t, "VI_1"); s.State != StateMaster || !s.Unicast {
			t.Errorf("a %v unicast=%v", s.State, s.Unicast)
		}
		if s := b.status(t, "VI_1"); s.State != StateBackup || s.MasterAddr != addrA {
			t.Errorf("b %v master %v", s.State, s.MasterAddr)
		}
		for _, p := range w.adverts(addrA) {
			if p.dst != addrB {
				t.Fatalf("advert from a to %v, want unicast to %v", p.dst, addrB)
			}
		}
	})
}

func TestRuntimeInboxOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWire{}
		a := newNode(t, w, addrA, nodeOpts{cfg: withPrio(100), rtOpts: RuntimeOptions{InboxSize: 1}})
		a.rt.Start()
		defer a.stop(t)
		synctest.Wait()
		r, _ := a.rt.runner("VI_1")
		peer, _ := NewInstance(testConfig(withPrio(150)), Options{LocalAddr: addrB})
		good, _ := peer.AppendAdvert(nil, 150, addrB, MulticastGroupIPv4)
		// Hold the instance's goroutine so that its queue fills up.
		release := make(chan struct{})
		r.control(func(time.Time) []Action { <-release; return nil })
		for range 3 {
			a.conn.ch <- Packet{Src: addrB, Dst: MulticastGroupIPv4, HopLimit: 255, Payload: good}
		}
		synctest.Wait()
		close(release)
		synctest.Wait()
		s := a.status(t, "VI_1")
		if s.AdvertsReceived != 3 || s.InboxOverflow != 2 {
			t.Errorf("received %d, overflow %d; want 3 and 2", s.AdvertsReceived, s.InboxOverflow)
		}
		if v := metric(t, a.reg, "lbd_vrrp_inbox_overflow_total", "instance", "VI_1"); v != 2 {
			t.Errorf("overflow metric %v", v)
		}
	})
}

// After a stall (the goroutine held past its master-down deadline while
// an advert arrived), the queued advert wins over the expired timer,
// whichever the select picks first.
func TestRuntimeStallNoFalseTakeover(t *testing.T) {
	for i := range 20 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := &fakeWire{}
				b := newNode(t, w, addrB, nodeOpts{cfg: withPrio(100)})
				b.rt.Start()
				defer b.stop(t)
				peer, _ := NewInstance(testConfig(withPrio(150)), Options{LocalAddr: addrA})
				msg, _ := peer.AppendAdvert(nil, 150, addrA, MulticastGroupIPv4)
				advert := Packet{Src: addrA, Dst: MulticastGroupIPv4, HopLimit: TTL, Payload: msg}
				synctest.Wait()
				b.conn.ch <- advert
				synctest.Wait()
				r, _ := b.rt.runner("VI_1")
				release := make(chan struct{})
				r.control(func(time.Time) []Action { <-release; return nil })
				time.Sleep(3 * time.Second) // the down timer (3.6s) expires during the stall
				b.conn.ch <- advert
				time.Sleep(time.Second)
				synctest.Wait()
				close(release)
				synctest.Wait()
				if v := metric(t, b.reg, "lbd_vrrp_transitions_total", "to", "MASTER"); v != 0 {
					t.Fatalf("took over after the stall (%v transitions to MASTER)", v)
				}
				if s := b.status(t, "VI_1"); s.State != StateBackup {
					t.Fatalf("%v (%v) after the stall", s.State, s.LastCause)
				}
			})
		})
	}
}

func TestRuntimeGARPRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWire{}
		a := newNode(t, w, addrA, nodeOpts{cfg: func(c *Config) {
			c.GARP.MasterRepeat = 1
			c.GARP.MasterDelay = 0
			c.GARP.MasterRefresh = 3 * time.Second
			c.GARP.MasterRefreshRepeat = 2
		}})
		a.rt.Start()
		defer a.stop(t)
		for a.status(t, "VI_1").State != StateMaster {
			time.Sleep(10 * time.Millisecond)
		}
		became := a.status(t, "VI_1").LastTransition
		time.Sleep(10*time.Second - time.Millisecond)
		synctest.Wait()
		// One at the transition; then, with the advert that first comes
		// more than 3s after the last burst, two more: at +4s and +8s.
		var got []time.Duration
		for _, x := range a.ann.list() {
			got = append(got, x.at.Sub(became))
		}
		want := []time.Duration{0, 4 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
		if !slices.Equal(got, want) {
			t.Errorf("announcements at %v, want %v", got, want)
		}
	})
}

// garp_extra_if: the targets marked ExtraIf get one message per round; the
// others only the usual bursts.
func TestRuntimeGARPExtraIf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWire{}
		extra := &fakeAnnouncer{}
		a := newNode(t, w, addrA, nodeOpts{
			cfg: func(c *Config) {
				c.VIPs = []VIP{vip("192.0.2.100/24"), vip("198.51.100.1/24"), vip("198.51.100.2/24")}
				c.GARP.MasterRepeat = 1
				c.GARP.MasterDelay = 0
				c.GARP.ExtraIf = 3 * time.Second
			},
			spec: func(s *InstanceSpec) {
				// The second and third VIPs are on eth1; the first of
				// them is its extra_if target.
				for i := 1; i < 3; i++ {
					s.Announce[i].Announcer, s.Announce[i].Domain = extra, "eth1"
				}
				s.Announce[1].ExtraIf = true
			},
		})
		a.rt.Start()
		defer a.stop(t)
		for a.status(t, "VI_1").State != StateMaster {
			time.Sleep(10 * time.Millisecond)
		}
		became := a.status(t, "VI_1").LastTransition
		time.Sleep(10*time.Second - time.Millisecond)
		synctest.Wait()
		type sent struct {
			at time.Duration
			ip string
		}
		var got []sent
		for _, x := range extra.list() {
			got = append(got, sent{x.at.Sub(became), x.ip.String()})
		}
		want := []sent{{0, "198.51.100.1"}, {0, "198.51.100.2"}, {4 * time.Second, "198.51.100.1"}, {8 * time.Second, "198.51.100.1"}}
		if !slices.Equal(got, want) {
			t.Errorf("eth1 announcements %v, want %v", got, want)
		}
		if n := len(a.ann.list()); n != 1 {
			t.Errorf("%d announcements on eth0, want 1 (the burst at the transition)", n)
		}
	})
}
