package vrrp

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Sync groups, events, HoldInit, reconfiguration and removal, over the
// fake wires of runtime_test.go, in virtual time.

// eventLog records events as strings.
type eventLog struct {
	mu  sync.Mutex
	evs []string
}

func (l *eventLog) add(ev Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, ev.String())
}

func (l *eventLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.evs
	l.evs = nil
	return out
}

// host is one runtime with several instances, each on its own wire.
type host struct {
	rt    *Runtime
	reg   *prometheus.Registry
	addrs map[string]*fakeAddrs
	conns map[string]*fakeConn
	ev    *eventLog
}

type hostInst struct {
	name string
	wire *fakeWire
	vrid uint8
	prio uint8
	vip  string
	spec func(*InstanceSpec)
}

func newHost(t *testing.T, addr netip.Addr, groups []SyncGroupSpec, insts ...hostInst) *host {
	t.Helper()
	h := &host{reg: prometheus.NewRegistry(), addrs: map[string]*fakeAddrs{}, conns: map[string]*fakeConn{}, ev: &eventLog{}}
	m, err := NewMetrics(h.reg)
	if err != nil {
		t.Fatal(err)
	}
	h.rt = NewRuntime(RuntimeOptions{Metrics: m, OnEvent: h.ev.add})
	if err := h.rt.SetSyncGroups(groups); err != nil {
		t.Fatal(err)
	}
	for _, hi := range insts {
		c := hi.wire.conn(addr)
		h.conns[hi.name] = c
		h.addrs[hi.name] = newFakeAddrs()
		cfg := testConfig(func(c *Config) {
			c.Name, c.VRID, c.Priority = hi.name, hi.vrid, hi.prio
			c.Interface = "if_" + hi.name
			c.VIPs = []VIP{vip(hi.vip)}
		})
		spec := InstanceSpec{Config: cfg, Options: Options{LocalAddr: addr}, Conn: c, Addresses: h.addrs[hi.name]}
		if hi.spec != nil {
			hi.spec(&spec)
		}
		if err := h.rt.AddInstance(spec); err != nil {
			t.Fatal(err)
		}
		if err := h.rt.Listen(c, ListenSpec{Interface: cfg.Interface, Family: FamilyIPv4, Unicast: true}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func (h *host) state(t *testing.T, name string) State {
	t.Helper()
	for _, s := range h.rt.Status() {
		if s.Name == name {
			return s.State
		}
	}
	t.Fatalf("no instance %s", name)
	return 0
}

func (h *host) group(t *testing.T, name string) SyncGroupStatus {
	t.Helper()
	for _, g := range h.rt.SyncGroups() {
		if g.Name == name {
			return g
		}
	}
	t.Fatalf("no group %s", name)
	return SyncGroupStatus{}
}

func (h *host) stop(t *testing.T) {
	t.Helper()
	if err := h.rt.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

var groupG = []SyncGroupSpec{{Name: "G", Members: []string{"X1", "X2"}}}

func pair(w1, w2 *fakeWire, prio uint8) []hostInst {
	return []hostInst{
		{name: "X1", wire: w1, vrid: 1, prio: prio, vip: "192.0.2.101/24"},
		{name: "X2", wire: w2, vrid: 2, prio: prio, vip: "198.51.100.101/24"},
	}
}

func TestSyncGroupFaultMovesTheGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w1, w2 := &fakeWire{}, &fakeWire{}
		a := newHost(t, addrA, groupG, pair(w1, w2, 200)...)
		b := newHost(t, addrB, groupG, pair(w1, w2, 100)...)
		a.rt.Start()
		b.rt.Start()
		defer a.stop(t)
		defer b.stop(t)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		for _, n := range []string{"X1", "X2"} {
			if a.state(t, n) != StateMaster || b.state(t, n) != StateBackup {
				t.Fatalf("%s: a %v b %v, want MASTER/BACKUP", n, a.state(t, n), b.state(t, n))
			}
		}
		if g := a.group(t, "G"); g.State != StateMaster || !slices.Equal(g.Members, []string{"X1", "X2"}) {
			t.Errorf("a's group %+v", g)
		}
		if g := b.group(t, "G"); g.State != StateBackup {
			t.Errorf("b's group %+v", g)
		}
		if v := metric(t, a.reg, "lbd_vrrp_sync_group_state", "group", "G"); v != 2 {
			t.Errorf("lbd_vrrp_sync_group_state %v", v)
		}
		evs := a.ev.take()
		// Startup: both BACKUP (a first state is always reported) and
		// the group BACKUP, then one goes MASTER and takes the other.
		for _, w := range []string{
			"state_change X1 INIT->BACKUP startup prio=200",
			"state_change X2 INIT->BACKUP startup prio=200",
			"group_state_change group G INIT->BACKUP startup",
		} {
			if i := slices.Index(evs, w); i < 0 || i > 2 {
				t.Errorf("a's events %q: want %q among the first three", evs, w)
			}
		}
		masters := 0
		for _, e := range evs {
			if strings.Contains(e, "->MASTER") && strings.HasPrefix(e, "state_change") {
				masters++
			}
		}
		if masters != 2 || !slices.Contains(evs, "group_state_change group G BACKUP->MASTER sync_group") {
			t.Errorf("a's events %q: want both members and the group MASTER", evs)
		}

		// X2's own fault on a: the group goes FAULT, X1 follows, b
		// takes both over.
		a.rt.SetFault("X2", "interface", true, "if_X2 is down")
		time.Sleep(5 * time.Second)
		synctest.Wait()
		for _, n := range []string{"X1", "X2"} {
			if a.state(t, n) != StateFault || b.state(t, n) != StateMaster {
				t.Fatalf("%s after X2's fault: a %v b %v, want FAULT/MASTER", n, a.state(t, n), b.state(t, n))
			}
		}
		want := []string{
			"state_change X2 MASTER->FAULT fault prio=200",
			"group_state_change group G MASTER->FAULT fault",
			"state_change X1 MASTER->FAULT sync_group prio=200 synced",
		}
		if evs := a.ev.take(); !slices.Equal(evs, want) {
			t.Errorf("a's events %q\nwant %q", evs, want)
		}
		if g := a.group(t, "G"); g.FaultyMembers != 1 {
			t.Errorf("faulty members %d", g.FaultyMembers)
		}
		if len(a.addrs["X1"].installed()) != 0 {
			t.Error("X1 kept its VIP in FAULT")
		}

		// Fault cleared: the group leaves FAULT together, as BACKUP, and
		// a preempts back.
		a.rt.SetFault("X2", "interface", false, "")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		for _, n := range []string{"X1", "X2"} {
			if a.state(t, n) != StateMaster || b.state(t, n) != StateBackup {
				t.Fatalf("%s after the fault cleared: a %v b %v", n, a.state(t, n), b.state(t, n))
			}
		}
		evs = a.ev.take()
		if len(evs) < 1 || evs[0] != "group_state_change group G FAULT->BACKUP fault_cleared" {
			t.Errorf("a's events %q: the group leaves FAULT first", evs)
		}
	})
}

// A member whose own fault clears stays in FAULT while another member
// still has one (keepalived's num_member_fault).
func TestSyncGroupFaultHeldByOtherMember(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w1, w2 := &fakeWire{}, &fakeWire{}
		a := newHost(t, addrA, groupG, pair(w1, w2, 200)...)
		a.rt.Start()
		defer a.stop(t)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		a.rt.SetFault("X1", "track_script chk", true, "failed")
		synctest.Wait()
		a.rt.SetFault("X2", "track_script chk", true, "failed")
		synctest.Wait()
		a.rt.SetFault("X1", "track_script chk", false, "")
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if a.state(t, "X1") != StateFault || a.state(t, "X2") != StateFault {
			t.Fatalf("X1 %v X2 %v: both must stay FAULT while X2 has a fault", a.state(t, "X1"), a.state(t, "X2"))
		}
		a.rt.SetFault("X2", "track_script chk", false, "")
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if a.state(t, "X1") != StateMaster || a.state(t, "X2") != StateMaster {
			t.Fatalf("X1 %v X2 %v after every fault cleared, want MASTER (no peer)", a.state(t, "X1"), a.state(t, "X2"))
		}
	})
}

// A member that would take over alone waits for the others (MasterGate):
// with X2's peer still advertising, b's X1 stays BACKUP (wanting MASTER)
// when a's X1 dies.
func TestSyncGroupMasterOnlyTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w1, w2 := &fakeWire{}, &fakeWire{}
		a := newHost(t, addrA, groupG, pair(w1, w2, 200)...)
		b := newHost(t, addrB, groupG, pair(w1, w2, 100)...)
		a.rt.Start()
		b.rt.Start()
		defer b.stop(t)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		// a's X1 link dies without a word (no priority-0 advert).
		w1.mu.Lock()
		a.conns["X1"].down = true
		w1.mu.Unlock()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		var want State
		for _, s := range b.rt.Status() {
			if s.Name == "X1" {
				want = s.WantState
			}
		}
		if b.state(t, "X1") != StateBackup || want != StateMaster || b.state(t, "X2") != StateBackup {
			t.Fatalf("b: X1 %v (want %v), X2 %v; want X1 held in BACKUP wanting MASTER", b.state(t, "X1"), want, b.state(t, "X2"))
		}
		// a stops: X2's master resigns, b's X2 wants MASTER too, and
		// the group goes MASTER.
		a.stop(t)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if b.state(t, "X1") != StateMaster || b.state(t, "X2") != StateMaster || b.group(t, "G").State != StateMaster {
			t.Fatalf("b after a stopped: X1 %v X2 %v group %v", b.state(t, "X1"), b.state(t, "X2"), b.group(t, "G").State)
		}
	})
}

func TestRuntimeHoldInit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWire{}
		a := newHost(t, addrA, nil, hostInst{name: "X1", wire: w, vrid: 1, prio: 100, vip: "192.0.2.101/24",
			spec: func(s *InstanceSpec) { s.HoldInit = true }})
		a.rt.Start()
		defer a.stop(t)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if s := a.state(t, "X1"); s != StateInit {
			t.Fatalf("held instance %v, want INIT", s)
		}
		a.rt.SetFault("X1", "track_script chk", true, "failed")
		a.rt.Release("X1")
		synctest.Wait()
		if s := a.state(t, "X1"); s != StateFault {
			t.Fatalf("released with a fault: %v, want FAULT", s)
		}
		a.rt.SetFault("X1", "track_script chk", false, "")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if s := a.state(t, "X1"); s != StateMaster {
			t.Fatalf("%v, want MASTER", s)
		}
	})
}

func TestRuntimeReconfigure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWire{}
		a := newHost(t, addrA, nil, hostInst{name: "X1", wire: w, vrid: 1, prio: 100, vip: "192.0.2.101/24"})
		a.rt.Start()
		defer a.stop(t)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if s := a.state(t, "X1"); s != StateMaster {
			t.Fatalf("%v", s)
		}
		a.ev.take()
		cfg := testConfig(func(c *Config) {
			c.Name, c.VRID, c.Priority, c.Interface = "X1", 1, 150, "if_X1"
			c.VIPs = []VIP{vip("192.0.2.102/24"), vip("192.0.2.103/24")}
		})
		if why := RestartReason(a.rt.runners["X1"].in.Config(), cfg); why != "" {
			t.Fatalf("restart needed: %s", why)
		}
		if err := a.rt.Reconfigure(context.Background(), "X1", InstanceUpdate{Config: cfg, Total: 160}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		want := []netip.Prefix{netip.MustParsePrefix("192.0.2.102/24"), netip.MustParsePrefix("192.0.2.103/24")}
		if got := a.addrs["X1"].installed(); !slices.Equal(got, want) {
			t.Errorf("VIPs %v, want %v", got, want)
		}
		var st InstanceStatus
		for _, s := range a.rt.Status() {
			st = s
		}
		if st.State != StateMaster || st.BasePriority != 150 || st.EffectivePriority != 160 || len(st.VIPs) != 2 {
			t.Errorf("after reconfigure: %v base %d effective %d VIPs %v", st.State, st.BasePriority, st.EffectivePriority, st.VIPs)
		}
		adv := w.adverts(addrA)
		if last := adv[len(adv)-1].adv; last.Priority != 160 || len(last.Addrs) != 2 {
			t.Errorf("last advert prio %d addrs %v", last.Priority, last.Addrs)
		}
		if evs := a.ev.take(); !slices.Equal(evs, []string{"priority_change X1 MASTER->MASTER prio=160"}) {
			t.Errorf("events %q", evs)
		}
		bad := cfg
		bad.VRID = 9
		if err := a.rt.Reconfigure(context.Background(), "X1", InstanceUpdate{Config: bad}); err == nil || !strings.Contains(err.Error(), "virtual_router_id changed") {
			t.Errorf("VRID change in place: %v", err)
		}
	})
}

func TestRuntimeRemoveInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWire{}
		a := newHost(t, addrA, nil, hostInst{name: "X1", wire: w, vrid: 1, prio: 200, vip: "192.0.2.101/24"})
		b := newHost(t, addrB, nil, hostInst{name: "X1", wire: w, vrid: 1, prio: 100, vip: "192.0.2.101/24"})
		a.rt.Start()
		b.rt.Start()
		defer a.stop(t)
		defer b.stop(t)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		a.ev.take()
		if err := a.rt.RemoveInstance(context.Background(), "X1"); err != nil {
			t.Fatal(err)
		}
		if evs := a.ev.take(); !slices.Equal(evs, []string{"state_change X1 MASTER->STOP removed prio=200"}) {
			t.Errorf("events %q", evs)
		}
		if len(a.rt.Status()) != 0 || len(a.addrs["X1"].installed()) != 0 {
			t.Errorf("removed instance still there: %v, VIPs %v", a.rt.Status(), a.addrs["X1"].installed())
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if s := b.state(t, "X1"); s != StateMaster {
			t.Errorf("b %v after a's removal, want MASTER", s)
		}
		if v := metric(t, a.reg, "lbd_vrrp_state", "instance", "X1"); v != 0 {
			t.Errorf("removed instance's series kept: %v", v)
		}
		// The VRID is free again on the port.
		c := w.conn(addrA)
		cfg := testConfig(func(c *Config) { c.Name, c.VRID, c.Interface = "X9", 1, "if_X1" })
		if err := a.rt.AddInstance(InstanceSpec{Config: cfg, Options: Options{LocalAddr: addrA}, Conn: c}); err != nil {
			t.Errorf("VRID not freed: %v", err)
		}
	})
}

// A reload that changes a BACKUP's VIPs before its master's: the
// master's adverts still carry the old list, which the backup would drop
// (address list mismatch) and take over; it follows its master through
// the change instead, until its next transition.
func TestRuntimeReconfigureVIPsOnBackupFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWire{}
		a := newHost(t, addrA, nil, hostInst{name: "X1", wire: w, vrid: 1, prio: 200, vip: "192.0.2.101/24"})
		b := newHost(t, addrB, nil, hostInst{name: "X1", wire: w, vrid: 1, prio: 100, vip: "192.0.2.101/24"})
		a.rt.Start()
		b.rt.Start()
		defer a.stop(t)
		defer b.stop(t)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		cfg := testConfig(func(c *Config) {
			c.Name, c.VRID, c.Priority, c.Interface = "X1", 1, 100, "if_X1"
			c.VIPs = []VIP{vip("192.0.2.101/24"), vip("192.0.2.102/24")}
		})
		if err := b.rt.Reconfigure(context.Background(), "X1", InstanceUpdate{Config: cfg}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if s := b.state(t, "X1"); s != StateBackup {
			t.Fatalf("b %v after its VIPs changed before its master's; want BACKUP following a", s)
		}
		// The master reloads too: everything matches again.
		cfg.Priority = 200
		if err := a.rt.Reconfigure(context.Background(), "X1", InstanceUpdate{Config: cfg}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if a.state(t, "X1") != StateMaster || b.state(t, "X1") != StateBackup {
			t.Fatalf("a %v b %v", a.state(t, "X1"), b.state(t, "X1"))
		}
		if v := metric(t, b.reg, "lbd_vrrp_packets_dropped_total", "reason", ReasonAddrList.String()); v != 0 {
			t.Errorf("b dropped %v adverts for their address list", v)
		}
	})
}
