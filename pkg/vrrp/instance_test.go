package vrrp

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Virtual time: every test starts at t0 and moves "now" by hand.
var t0 = time.Unix(1_000_000, 0)

func at(d time.Duration) time.Time { return t0.Add(d) }

const (
	sec = time.Second
	ms  = time.Millisecond
	us  = time.Microsecond
)

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
	addrC = netip.MustParseAddr("192.0.2.3")
)

// testConfig is a VRRPv3 IPv4 instance, priority 100, 1s adverts.
func testConfig(mod func(c *Config)) Config {
	c := DefaultConfig()
	c.Name = "VI_1"
	c.Interface = "eth0"
	c.VRID = 7
	c.Version = 3
	c.Priority = 100
	c.VIPs = []VIP{vip("192.0.2.100/24")}
	if mod != nil {
		mod(&c)
	}
	return c
}

func newInst(t *testing.T, mod func(c *Config), opts Options) *Instance {
	t.Helper()
	if !opts.LocalAddr.IsValid() {
		opts.LocalAddr = addrA
	}
	in, err := NewInstance(testConfig(mod), opts)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// started returns an instance already in BACKUP (started at t0).
func started(t *testing.T, mod func(c *Config), opts Options) *Instance {
	t.Helper()
	in := newInst(t, mod, opts)
	in.Start(t0)
	if in.State() != StateBackup {
		t.Fatalf("started in %v", in.State())
	}
	return in
}

// mastered returns an instance that became MASTER by its down timer.
func mastered(t *testing.T, mod func(c *Config), opts Options) (*Instance, time.Time) {
	t.Helper()
	in := started(t, mod, opts)
	d, _ := in.Deadline()
	in.Tick(d)
	if in.State() != StateMaster {
		t.Fatalf("not MASTER after the down timer: %v", in.State())
	}
	return in, d
}

func adv(in *Instance, prio uint8, interval time.Duration) *Advert {
	c := in.Config()
	if interval == 0 {
		interval = c.AdvertInterval
	}
	return &Advert{Version: c.Version, Type: 1, VRID: c.VRID, Priority: prio, Interval: interval,
		Addrs: []netip.Addr{c.VIPs[0].Prefix.Addr()}}
}

// wantActs compares actions by their String form.
func wantActs(t *testing.T, got []Action, want ...string) {
	t.Helper()
	g := make([]string, len(got))
	for i, a := range got {
		g[i] = a.String()
	}
	if len(want) == 0 {
		want = []string{}
	}
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
}

func wantDeadline(t *testing.T, in *Instance, want time.Time) {
	t.Helper()
	d, ok := in.Deadline()
	if want.IsZero() {
		if ok {
			t.Errorf("deadline %v, want none", d.Sub(t0))
		}
		return
	}
	if !ok || !d.Equal(want) {
		t.Errorf("deadline %v (set %v), want %v", d.Sub(t0), ok, want.Sub(t0))
	}
}

func wantState(t *testing.T, in *Instance, s State) {
	t.Helper()
	if in.State() != s {
		t.Errorf("state %v, want %v", in.State(), s)
	}
}

func TestSkewAndMasterDown(t *testing.T) {
	tests := []struct {
		version uint8
		prio    uint8
		mai     time.Duration
		skew    time.Duration
	}{
		{2, 100, sec, 609375 * us},           // 156/256 s
		{2, 255, sec, 3906 * us},             // 1/256 s, truncated to µs
		{2, 1, 5 * sec, 996093 * us},         // v2 skew ignores the interval
		{3, 100, sec, 609375 * us},           // 156 * 1s / 256
		{3, 100, 250 * ms, 152343 * us},      // 156 * 25cs * 625 / 16 µs
		{3, 254, 10 * ms, 78 * us},           // 2 * 1cs
		{3, 1, MaxIntervalV3, 40790039 * us}, // 255 * 4095cs
	}
	for _, tt := range tests {
		if got := SkewTime(tt.version, tt.prio, tt.mai); got != tt.skew {
			t.Errorf("SkewTime(v%d, %d, %v) = %v, want %v", tt.version, tt.prio, tt.mai, got, tt.skew)
		}
		if got, want := MasterDownInterval(tt.version, tt.prio, tt.mai, 3), 3*tt.mai+tt.skew; got != want {
			t.Errorf("MasterDownInterval = %v, want %v", got, want)
		}
	}
}

// RFC 3768 / 5798 6.4.1 Initialize.
func TestStart(t *testing.T) {
	tests := []struct {
		name     string
		mod      func(c *Config)
		state    State
		acts     []string
		deadline time.Duration
	}{
		{"backup, v3", nil, StateBackup,
			[]string{"remove_vips", "state_change(INIT->BACKUP startup)"}, 3*sec + 609375*us},
		{"backup, v2", func(c *Config) { c.Version = 2 }, StateBackup,
			[]string{"remove_vips", "state_change(INIT->BACKUP startup)"}, 3*sec + 609375*us},
		{"owner with state MASTER goes MASTER at once", func(c *Config) { c.Priority = 255; c.StartState = StartMaster }, StateMaster,
			[]string{"remove_vips", "send_advert(prio=255)", "add_vips", "gratuitous(repeat=5)", "state_change(INIT->MASTER start_as_owner)"}, sec},
		{"state MASTER without priority is the owner", func(c *Config) { c.Priority = 0; c.StartState = StartMaster }, StateMaster,
			[]string{"remove_vips", "send_advert(prio=255)", "add_vips", "gratuitous(repeat=5)", "state_change(INIT->MASTER start_as_owner)"}, sec},
		{"owner with state BACKUP waits", func(c *Config) { c.Priority = 255; c.StartState = StartBackup }, StateBackup,
			[]string{"remove_vips", "state_change(INIT->BACKUP startup)"}, 3*sec + 3906*us},
		// keepalived 2.2.7, measured: state MASTER on a non-owner is BACKUP
		// with the full Master_Down_Interval.
		{"state MASTER on a non-owner is only a hint", func(c *Config) { c.StartState = StartMaster }, StateBackup,
			[]string{"remove_vips", "state_change(INIT->BACKUP startup)"}, 3*sec + 609375*us},
		{"down_timer_adverts", func(c *Config) { c.DownTimerAdverts = 5 }, StateBackup,
			[]string{"remove_vips", "state_change(INIT->BACKUP startup)"}, 5*sec + 609375*us},
		{"no GARP repeat", func(c *Config) { c.Priority = 255; c.GARP.MasterRepeat = 0 }, StateMaster,
			[]string{"remove_vips", "send_advert(prio=255)", "add_vips", "state_change(INIT->MASTER start_as_owner)"}, sec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newInst(t, tt.mod, Options{})
			wantState(t, in, StateInit)
			wantDeadline(t, in, time.Time{})
			wantActs(t, in.Start(t0), tt.acts...)
			wantState(t, in, tt.state)
			wantDeadline(t, in, at(tt.deadline))
			wantActs(t, in.Start(at(sec))) // a second Start does nothing
			if st := in.Status(); st.LastTransition != t0 {
				t.Errorf("LastTransition %v", st.LastTransition)
			}
		})
	}
}

func TestStartFaulty(t *testing.T) {
	in := newInst(t, nil, Options{})
	wantActs(t, in.SetFault(t0, true, "eth0 down"))
	wantActs(t, in.Start(t0), "remove_vips", `state_change(INIT->FAULT fault "eth0 down")`)
	wantDeadline(t, in, time.Time{})
	wantActs(t, in.SetFault(at(sec), false, ""), "state_change(FAULT->BACKUP fault_cleared)")
	wantDeadline(t, in, at(sec+3*sec+609375*us))
}

// RFC 6.4.2: Master_Down_Timer fires.
func TestBackupTimerFires(t *testing.T) {
	in := started(t, nil, Options{})
	down := at(3*sec + 609375*us)
	wantActs(t, in.Tick(down.Add(-us)))
	wantState(t, in, StateBackup)
	wantActs(t, in.Tick(down),
		"send_advert(prio=100)", "add_vips", "gratuitous(repeat=5)", "state_change(BACKUP->MASTER master_down_timer)")
	wantState(t, in, StateMaster)
	// Adver_Timer and the delayed GARP burst (garp_master_delay 5s).
	wantDeadline(t, in, down.Add(sec))
	if st := in.Status(); st.LastCause != CauseMasterDownTimer || st.WantState != StateMaster {
		t.Errorf("status %+v", st)
	}
}

// RFC 6.4.2: ADVERTISEMENT received, the cases of the backup.
func TestBackupReceives(t *testing.T) {
	down := 3*sec + 609375*us
	t.Run("higher priority resets the timer", func(t *testing.T) {
		in := started(t, nil, Options{})
		wantActs(t, in.HandleAdvert(at(2*sec), addrB, adv(in, 200, 0)))
		wantDeadline(t, in, at(2*sec+down))
		st := in.Status()
		if st.MasterAddr != addrB || st.MasterPriority != 200 {
			t.Errorf("master %v/%d", st.MasterAddr, st.MasterPriority)
		}
	})
	t.Run("equal priority resets the timer", func(t *testing.T) {
		in := started(t, nil, Options{})
		in.HandleAdvert(at(2*sec), addrB, adv(in, 100, 0))
		wantDeadline(t, in, at(2*sec+down))
	})
	t.Run("priority 0 cuts the timer to Skew_Time", func(t *testing.T) {
		in := started(t, nil, Options{})
		in.HandleAdvert(at(sec), addrB, adv(in, 200, 0))
		wantActs(t, in.HandleAdvert(at(2*sec), addrB, adv(in, 0, 0)))
		wantDeadline(t, in, at(2*sec+609375*us))
		wantActs(t, in.Tick(at(2*sec+609375*us)),
			"send_advert(prio=100)", "add_vips", "gratuitous(repeat=5)", "state_change(BACKUP->MASTER priority_zero_received)")
	})
	t.Run("lower priority is ignored when preempting", func(t *testing.T) {
		in := started(t, nil, Options{})
		for s := time.Duration(1); s <= 3; s++ {
			wantActs(t, in.HandleAdvert(at(s*sec), addrB, adv(in, 50, 0)))
			wantDeadline(t, in, at(down)) // not reset
		}
		wantActs(t, in.Tick(at(down)),
			"send_advert(prio=100)", "add_vips", "gratuitous(repeat=5)", "state_change(BACKUP->MASTER preempted)")
	})
	t.Run("lower priority is followed with nopreempt", func(t *testing.T) {
		in := started(t, func(c *Config) { c.NoPreempt = true }, Options{})
		for s := time.Duration(1); s <= 10; s++ {
			in.HandleAdvert(at(s*sec), addrB, adv(in, 50, 0))
			wantActs(t, in.Tick(at(s*sec)))
			wantDeadline(t, in, at(s*sec+down))
		}
		wantState(t, in, StateBackup)
		// The master goes silent: we take over, nopreempt or not.
		wantActs(t, in.Tick(at(10*sec+down)),
			"send_advert(prio=100)", "add_vips", "gratuitous(repeat=5)", "state_change(BACKUP->MASTER master_down_timer)")
	})
	t.Run("v3 learns Master_Adver_Interval", func(t *testing.T) {
		in := started(t, nil, Options{})
		in.HandleAdvert(at(sec), addrB, adv(in, 200, 3*sec))
		wantDown := 9*sec + SkewTime(3, 100, 3*sec)
		wantDeadline(t, in, at(sec+wantDown))
		if st := in.Status(); st.MasterAdverInterval != 3*sec || st.MasterDownInterval != wantDown {
			t.Errorf("status %+v", st)
		}
		// As MASTER we advertise our own interval again.
		in.Tick(at(sec + wantDown))
		wantState(t, in, StateMaster)
		if st := in.Status(); st.MasterAdverInterval != sec {
			t.Errorf("Master_Adver_Interval %v after becoming MASTER", st.MasterAdverInterval)
		}
		wantDeadline(t, in, at(2*sec+wantDown))
	})
	t.Run("v2 does not learn intervals", func(t *testing.T) {
		in := started(t, func(c *Config) { c.Version = 2 }, Options{})
		in.HandleAdvert(at(sec), addrB, adv(in, 200, 0))
		if st := in.Status(); st.MasterAdverInterval != sec {
			t.Errorf("Master_Adver_Interval %v", st.MasterAdverInterval)
		}
	})
	t.Run("adverts of another VRID or version are ignored", func(t *testing.T) {
		in := started(t, nil, Options{})
		a := adv(in, 200, 0)
		a.VRID = 8
		in.HandleAdvert(at(sec), addrB, a)
		a = adv(in, 200, 0)
		a.Version = 2
		in.HandleAdvert(at(sec), addrB, a)
		wantDeadline(t, in, at(down))
	})
}

// keepalived's preempt_delay: the first lower-priority advert starts it;
// until it elapses such adverts are followed; afterwards they are ignored
// and the down timer runs out.
func TestPreemptDelay(t *testing.T) {
	down := 3*sec + 609375*us
	in := started(t, func(c *Config) { c.PreemptDelay = 10 * sec }, Options{})
	for s := time.Duration(1); s <= 10; s++ {
		in.HandleAdvert(at(s*sec), addrB, adv(in, 50, 0))
		wantDeadline(t, in, at(s*sec+down))
	}
	if st := in.Status(); !st.PreemptDelayUntil.Equal(at(11 * sec)) {
		t.Errorf("preempt delay until %v", st.PreemptDelayUntil.Sub(t0))
	}
	in.HandleAdvert(at(11*sec), addrB, adv(in, 50, 0)) // delay elapsed: ignored
	wantDeadline(t, in, at(10*sec+down))
	wantActs(t, in.Tick(at(10*sec+down)),
		"send_advert(prio=100)", "add_vips", "gratuitous(repeat=5)", "state_change(BACKUP->MASTER preempted)")
	if st := in.Status(); !st.PreemptDelayUntil.IsZero() {
		t.Error("preempt delay still set as MASTER")
	}

	t.Run("a higher priority advert stops the delay", func(t *testing.T) {
		in := started(t, func(c *Config) { c.PreemptDelay = 10 * sec }, Options{})
		in.HandleAdvert(at(sec), addrB, adv(in, 50, 0))
		in.HandleAdvert(at(2*sec), addrC, adv(in, 150, 0))
		if st := in.Status(); !st.PreemptDelayUntil.IsZero() {
			t.Error("delay kept")
		}
		in.HandleAdvert(at(3*sec), addrB, adv(in, 50, 0)) // starts again
		if st := in.Status(); !st.PreemptDelayUntil.Equal(at(13 * sec)) {
			t.Errorf("delay until %v", st.PreemptDelayUntil.Sub(t0))
		}
	})
	t.Run("without a master the delay does not apply", func(t *testing.T) {
		in := started(t, func(c *Config) { c.PreemptDelay = 10 * sec }, Options{})
		wantActs(t, in.Tick(at(down)),
			"send_advert(prio=100)", "add_vips", "gratuitous(repeat=5)", "state_change(BACKUP->MASTER master_down_timer)")
	})
}

// RFC 6.4.3: Adver_Timer fires, and keepalived's GARP timers.
func TestMasterTimers(t *testing.T) {
	in, m := mastered(t, func(c *Config) {
		c.GARP.MasterRefresh = 3500 * ms
		c.GARP.MasterRefreshRepeat = 2
	}, Options{})
	wantDeadline(t, in, m.Add(sec))
	wantActs(t, in.Tick(m.Add(sec)), "send_advert(prio=100)")
	wantActs(t, in.Tick(m.Add(2*sec)), "send_advert(prio=100)")
	wantActs(t, in.Tick(m.Add(3*sec)), "send_advert(prio=100)")
	// The refresh rides on the first advert after 3.5s.
	wantActs(t, in.Tick(m.Add(4*sec)), "send_advert(prio=100)", "gratuitous(repeat=2)")
	// garp_master_delay: the second burst 5s after the transition.
	wantActs(t, in.Tick(m.Add(5*sec)), "send_advert(prio=100)", "gratuitous(repeat=5)")
	wantActs(t, in.Tick(m.Add(6*sec)), "send_advert(prio=100)")
	wantActs(t, in.Tick(m.Add(7*sec)), "send_advert(prio=100)")
	wantActs(t, in.Tick(m.Add(8*sec)), "send_advert(prio=100)", "gratuitous(repeat=2)")
	wantActs(t, in.Tick(m.Add(8*sec+500*ms))) // nothing due

	t.Run("a late tick re-arms from now", func(t *testing.T) {
		in, m := mastered(t, func(c *Config) { c.GARP.MasterDelay = 0 }, Options{})
		wantActs(t, in.Tick(m.Add(1700*ms)), "send_advert(prio=100)")
		wantDeadline(t, in, m.Add(2700*ms))
	})
}

// garp_extra_if: a round on the other interfaces rides on the first advert
// more than ExtraIf after the transition or the last round, after the
// refresh (keepalived vrrp_state_master_tx); it stops with MASTER.
func TestMasterExtraIf(t *testing.T) {
	in, m := mastered(t, func(c *Config) {
		c.GARP.MasterDelay = 0
		c.GARP.MasterRefresh = 2500 * ms
		c.GARP.ExtraIf = 2 * sec
	}, Options{})
	wantActs(t, in.Tick(m.Add(sec)), "send_advert(prio=100)")
	wantActs(t, in.Tick(m.Add(2*sec)), "send_advert(prio=100)") // not after 2s yet
	wantActs(t, in.Tick(m.Add(3*sec)), "send_advert(prio=100)", "gratuitous(repeat=1)", "gratuitous(repeat=1 extra_if)")
	wantActs(t, in.Tick(m.Add(4*sec)), "send_advert(prio=100)")
	wantActs(t, in.Tick(m.Add(5*sec)), "send_advert(prio=100)")
	wantActs(t, in.Tick(m.Add(6*sec)), "send_advert(prio=100)", "gratuitous(repeat=1)", "gratuitous(repeat=1 extra_if)")
	in.Tick(m.Add(6*sec + 100*ms))
	acts := in.HandleAdvert(m.Add(6*sec+200*ms), addrB, adv(in, 200, 0))
	if in.State() != StateBackup {
		t.Fatalf("%v after a higher priority advert (%v)", in.State(), acts)
	}
	// Until the master-down timer would take over again.
	for now := m.Add(6*sec + 300*ms); in.State() == StateBackup; now = now.Add(100 * ms) {
		acts := in.Tick(now)
		for _, a := range acts {
			if a.Kind == ActionGratuitous && in.State() == StateBackup {
				t.Fatalf("%v as BACKUP", a)
			}
		}
	}
}

// RFC 6.4.3: ADVERTISEMENT received, the cases of the master.
func TestMasterReceives(t *testing.T) {
	addrA6 := netip.MustParseAddr("2001:db8::a")
	addrLo6 := netip.MustParseAddr("2001:db8::1")
	addrHi6 := netip.MustParseAddr("2001:db8::b")
	v6 := func(c *Config) { c.VIPs = []VIP{vip("2001:db8::100/64")} }
	tests := []struct {
		name  string
		mod   func(c *Config)
		local netip.Addr
		from  netip.Addr
		prio  uint8
		acts  []string
		state State
	}{
		{"priority 0: answer at once", nil, addrA, addrB, 0,
			[]string{"send_advert(prio=100)"}, StateMaster},
		{"higher priority: yield", nil, addrA, addrB, 101,
			[]string{"remove_vips", "state_change(MASTER->BACKUP higher_priority_advert peer=192.0.2.2)"}, StateBackup},
		{"higher priority with higher_prio_send_advert", func(c *Config) { c.HigherPrioSendAdvert = true }, addrA, addrB, 101,
			[]string{"send_advert(prio=100)", "remove_vips", "state_change(MASTER->BACKUP higher_priority_advert peer=192.0.2.2)"}, StateBackup},
		{"equal priority, higher address: yield", nil, addrA, addrB, 100,
			[]string{"remove_vips", "state_change(MASTER->BACKUP equal_priority_higher_address peer=192.0.2.2)"}, StateBackup},
		{"equal priority, lower address: answer", nil, addrB, addrA, 100,
			[]string{"send_advert(prio=100)", "gratuitous(repeat=5)", "master_rx_lower_priority(peer=192.0.2.1)"}, StateMaster},
		{"IPv6 equal priority, higher address: yield", v6, addrA6, addrHi6, 100,
			[]string{"remove_vips", "state_change(MASTER->BACKUP equal_priority_higher_address peer=2001:db8::b)"}, StateBackup},
		{"IPv6 equal priority, lower address: answer", v6, addrA6, addrLo6, 100,
			[]string{"send_advert(prio=100)", "gratuitous(repeat=5)", "master_rx_lower_priority(peer=2001:db8::1)"}, StateMaster},
		{"lower priority: answer (keepalived default)", nil, addrA, addrB, 99,
			[]string{"send_advert(prio=100)", "gratuitous(repeat=5)", "master_rx_lower_priority(peer=192.0.2.2)"}, StateMaster},
		{"lower priority with lower_prio_no_advert (RFC)", func(c *Config) { c.LowerPrioNoAdvert = true }, addrA, addrB, 99,
			[]string{"gratuitous(repeat=5)", "master_rx_lower_priority(peer=192.0.2.2)"}, StateMaster},
		{"lower priority without GARP repeats", func(c *Config) { c.GARP.LowerPrioRepeat = 0 }, addrA, addrB, 99,
			[]string{"send_advert(prio=100)", "master_rx_lower_priority(peer=192.0.2.2)"}, StateMaster},
		{"two owners: ours drops to 254", func(c *Config) { c.Priority = 255 }, addrB, addrA, 255,
			[]string{"owner_conflict(peer=192.0.2.1)", "remove_vips", "state_change(MASTER->BACKUP higher_priority_advert peer=192.0.2.1)"}, StateBackup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newInst(t, tt.mod, Options{LocalAddr: tt.local})
			in.Start(t0)
			if in.State() != StateMaster {
				d, _ := in.Deadline()
				in.Tick(d)
			}
			wantState(t, in, StateMaster)
			now := at(10 * sec)
			wantActs(t, in.HandleAdvert(now, tt.from, adv(in, tt.prio, 0)), tt.acts...)
			wantState(t, in, tt.state)
		})
	}
}

func TestMasterReceivesTimers(t *testing.T) {
	t.Run("priority 0 resets the adver timer", func(t *testing.T) {
		in, m := mastered(t, func(c *Config) { c.GARP.MasterDelay = 0 }, Options{})
		in.HandleAdvert(m.Add(300*ms), addrB, adv(in, 0, 0))
		wantDeadline(t, in, m.Add(1300*ms))
	})
	t.Run("a lower priority advert: answer re-arms, second GARP burst later", func(t *testing.T) {
		in, m := mastered(t, func(c *Config) { c.GARP.MasterDelay = 0; c.GARP.LowerPrioDelay = 2 * sec }, Options{})
		in.HandleAdvert(m.Add(300*ms), addrB, adv(in, 50, 0))
		wantDeadline(t, in, m.Add(1300*ms))
		wantActs(t, in.Tick(m.Add(1300*ms)), "send_advert(prio=100)")
		wantActs(t, in.Tick(m.Add(2300*ms)), "send_advert(prio=100)", "gratuitous(repeat=5)")
	})
	t.Run("lower_prio_no_advert keeps the timer", func(t *testing.T) {
		in, m := mastered(t, func(c *Config) { c.GARP.MasterDelay = 0; c.LowerPrioNoAdvert = true; c.GARP.LowerPrioRepeat = 0 }, Options{})
		in.HandleAdvert(m.Add(300*ms), addrB, adv(in, 50, 0))
		wantDeadline(t, in, m.Add(sec))
	})
	t.Run("yielding learns the v3 interval and arms the down timer", func(t *testing.T) {
		in, m := mastered(t, nil, Options{})
		in.HandleAdvert(m.Add(300*ms), addrB, adv(in, 200, 2*sec))
		want := 6*sec + SkewTime(3, 100, 2*sec)
		wantDeadline(t, in, m.Add(300*ms+want))
		if st := in.Status(); st.MasterAdverInterval != 2*sec || st.MasterAddr != addrB {
			t.Errorf("status %+v", st)
		}
	})
	t.Run("owner conflict lowers the base priority", func(t *testing.T) {
		in := newInst(t, func(c *Config) { c.Priority = 255 }, Options{LocalAddr: addrB})
		in.Start(t0)
		in.HandleAdvert(at(sec), addrA, adv(in, 255, 0))
		if st := in.Status(); st.BasePriority != 254 || st.EffectivePriority != 254 {
			t.Errorf("priorities %d/%d", st.BasePriority, st.EffectivePriority)
		}
		// No longer the owner: tracking may change it now.
		in.SetPriority(at(2*sec), 200)
		if st := in.Status(); st.EffectivePriority != 200 {
			t.Errorf("effective priority %d", st.EffectivePriority)
		}
	})
}

func TestShutdown(t *testing.T) {
	t.Run("MASTER resigns with priority 0", func(t *testing.T) {
		in, m := mastered(t, nil, Options{})
		wantActs(t, in.Shutdown(m.Add(sec)), "send_advert(prio=0)", "remove_vips", "state_change(MASTER->STOP shutdown)")
		wantDeadline(t, in, time.Time{})
	})
	for _, tt := range []struct {
		name  string
		setup func(in *Instance)
		from  State
	}{
		{"from INIT", func(in *Instance) {}, StateInit},
		{"from BACKUP", func(in *Instance) { in.Start(t0) }, StateBackup},
		{"from FAULT", func(in *Instance) { in.Start(t0); in.SetFault(t0, true, "x") }, StateFault},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := newInst(t, nil, Options{})
			tt.setup(in)
			wantState(t, in, tt.from)
			wantActs(t, in.Shutdown(at(sec)), "state_change("+tt.from.String()+"->STOP shutdown)")
		})
	}
	t.Run("STOP is final", func(t *testing.T) {
		in, m := mastered(t, nil, Options{})
		in.Shutdown(m)
		wantActs(t, in.Shutdown(m))
		wantActs(t, in.Start(m))
		wantActs(t, in.Tick(m.Add(10*sec)))
		wantActs(t, in.HandleAdvert(m, addrB, adv(in, 200, 0)))
		wantActs(t, in.SetFault(m, true, "x"))
		wantActs(t, in.Force(m, StateMaster, CauseSyncGroup))
		wantState(t, in, StateStop)
		wantDeadline(t, in, time.Time{})
	})
}

func TestFault(t *testing.T) {
	t.Run("MASTER to FAULT resigns", func(t *testing.T) {
		in, m := mastered(t, nil, Options{})
		wantActs(t, in.SetFault(m.Add(sec), true, "eth0 down"),
			"send_advert(prio=0)", "remove_vips", `state_change(MASTER->FAULT fault "eth0 down")`)
		wantDeadline(t, in, time.Time{})
		if st := in.Status(); !st.Fault || st.FaultDetail != "eth0 down" {
			t.Errorf("status %+v", st)
		}
		wantActs(t, in.SetFault(m.Add(sec), true, "again")) // level-triggered
		wantActs(t, in.SetFault(m.Add(2*sec), false, ""), "state_change(FAULT->BACKUP fault_cleared)")
		wantDeadline(t, in, m.Add(2*sec+3*sec+609375*us))
	})
	t.Run("BACKUP to FAULT", func(t *testing.T) {
		in := started(t, nil, Options{})
		in.HandleAdvert(at(sec), addrB, adv(in, 200, 4*sec)) // learned interval
		wantActs(t, in.SetFault(at(2*sec), true, "chk_nginx"), `state_change(BACKUP->FAULT fault "chk_nginx")`)
		wantDeadline(t, in, time.Time{})
		wantActs(t, in.SetFault(at(3*sec), false, ""), "state_change(FAULT->BACKUP fault_cleared)")
		// Back with our own interval, as keepalived's leave_fault.
		wantDeadline(t, in, at(3*sec+3*sec+609375*us))
	})
	t.Run("owner with state MASTER returns as MASTER", func(t *testing.T) {
		in := newInst(t, func(c *Config) { c.Priority = 255 }, Options{})
		in.Start(t0)
		in.SetFault(at(sec), true, "x")
		wantActs(t, in.SetFault(at(2*sec), false, ""),
			"send_advert(prio=255)", "add_vips", "gratuitous(repeat=5)", "state_change(FAULT->MASTER fault_cleared)")
	})
	t.Run("adverts are ignored in FAULT and INIT", func(t *testing.T) {
		in := newInst(t, nil, Options{})
		wantActs(t, in.HandleAdvert(t0, addrB, adv(in, 0, 0)))
		wantActs(t, in.Tick(at(100*sec)))
		in.Start(t0)
		in.SetFault(t0, true, "x")
		wantActs(t, in.HandleAdvert(t0, addrB, adv(in, 0, 0)))
		wantActs(t, in.Tick(at(100*sec)))
		wantState(t, in, StateFault)
	})
}

// The peer liveness seam: the XDP program absorbs the master's adverts and
// only records when it last saw one.
func TestLastSeen(t *testing.T) {
	down := 3*sec + 609375*us
	var seen time.Time
	var ok bool
	calls := 0
	opts := Options{LastSeen: func(now time.Time) (time.Time, bool) { calls++; return seen, ok }}

	t.Run("master seen recently: re-arm from then", func(t *testing.T) {
		in := started(t, nil, opts)
		in.HandleAdvert(at(sec), addrB, adv(in, 200, 0)) // the first advert is an event
		seen, ok = at(4*sec), true
		wantActs(t, in.Tick(at(sec+down)))
		wantState(t, in, StateBackup)
		wantDeadline(t, in, at(4*sec).Add(down))
		seen = at(6 * sec)
		wantActs(t, in.Tick(at(4*sec).Add(down)))
		wantDeadline(t, in, at(6*sec).Add(down))
		// The master falls silent: the map's time stops moving.
		wantActs(t, in.Tick(at(6*sec).Add(down)),
			"send_advert(prio=100)", "add_vips", "gratuitous(repeat=5)", "state_change(BACKUP->MASTER master_down_timer)")
	})
	t.Run("nothing recorded: take over", func(t *testing.T) {
		in := started(t, nil, opts)
		in.HandleAdvert(at(sec), addrB, adv(in, 200, 0))
		seen, ok = time.Time{}, false
		in.Tick(at(sec + down))
		wantState(t, in, StateMaster)
	})
	t.Run("not asked before any master", func(t *testing.T) {
		in := started(t, nil, opts)
		seen, ok, calls = at(3*sec), true, 0
		in.Tick(at(down))
		wantState(t, in, StateMaster)
		if calls != 0 {
			t.Errorf("LastSeen asked %d times", calls)
		}
	})
	t.Run("not asked while preempting a lower priority master", func(t *testing.T) {
		in := started(t, nil, opts)
		in.HandleAdvert(at(sec), addrB, adv(in, 200, 0))
		in.HandleAdvert(at(2*sec), addrB, adv(in, 50, 0)) // event: priority change
		seen, ok, calls = at(sec+down), true, 0
		wantActs(t, in.Tick(at(sec+down)),
			"send_advert(prio=100)", "add_vips", "gratuitous(repeat=5)", "state_change(BACKUP->MASTER preempted)")
		if calls != 0 {
			t.Errorf("LastSeen asked %d times", calls)
		}
	})
	t.Run("not asked after priority 0", func(t *testing.T) {
		in := started(t, nil, opts)
		in.HandleAdvert(at(sec), addrB, adv(in, 200, 0))
		in.HandleAdvert(at(2*sec), addrB, adv(in, 0, 0))
		seen, ok = at(2*sec), true
		in.Tick(at(2*sec + 609375*us))
		wantState(t, in, StateMaster)
	})
}

// The sync group seams: MasterGate holds, Force moves.
func TestSyncGroupHooks(t *testing.T) {
	down := 3*sec + 609375*us
	open := false
	gate := Options{MasterGate: func() bool { return open }}
	in := started(t, nil, gate)
	wantActs(t, in.Tick(at(down)))
	wantState(t, in, StateBackup)
	if st := in.Status(); st.WantState != StateMaster {
		t.Errorf("WantState %v", st.WantState)
	}
	wantDeadline(t, in, at(2*down))
	wantActs(t, in.Force(at(down+sec), StateMaster, CauseSyncGroup),
		"send_advert(prio=100)", "add_vips", "gratuitous(repeat=5)", "state_change(BACKUP->MASTER sync_group)")
	wantActs(t, in.Force(at(down+sec), StateMaster, CauseSyncGroup)) // already
	wantActs(t, in.Force(at(down+2*sec), StateBackup, CauseSyncGroup),
		"remove_vips", "state_change(MASTER->BACKUP sync_group)")
	wantActs(t, in.Force(at(down+3*sec), StateFault, CauseSyncGroup), "state_change(BACKUP->FAULT sync_group)")
	// Our own fault comes and goes while the group holds us in FAULT.
	wantActs(t, in.SetFault(at(down+4*sec), true, "x"))
	wantActs(t, in.SetFault(at(down+5*sec), false, ""))
	wantState(t, in, StateFault)
	wantActs(t, in.Force(at(down+6*sec), StateBackup, CauseSyncGroup), "state_change(FAULT->BACKUP sync_group)")
	// Not out of our own fault.
	in.SetFault(at(down+7*sec), true, "y")
	wantActs(t, in.Force(at(down+8*sec), StateBackup, CauseSyncGroup))
	wantActs(t, in.Force(at(down+8*sec), StateMaster, CauseSyncGroup))
	wantState(t, in, StateFault)

	t.Run("a followed advert clears the wish", func(t *testing.T) {
		open = false
		in := started(t, nil, gate)
		in.Tick(at(down))
		in.HandleAdvert(at(down+sec), addrB, adv(in, 200, 0))
		if st := in.Status(); st.WantState != StateBackup {
			t.Errorf("WantState %v", st.WantState)
		}
	})
	t.Run("the owner waits for the gate at startup", func(t *testing.T) {
		open = false
		in := newInst(t, func(c *Config) { c.Priority = 255 }, gate)
		wantActs(t, in.Start(t0), "remove_vips", "state_change(INIT->BACKUP startup)")
		if st := in.Status(); st.WantState != StateMaster {
			t.Errorf("WantState %v", st.WantState)
		}
		open = true
		d, _ := in.Deadline()
		in.Tick(d)
		wantState(t, in, StateMaster)
	})
	t.Run("FAULT to MASTER needs the group's BACKUP first", func(t *testing.T) {
		in := started(t, nil, Options{})
		in.SetFault(at(sec), true, "x")
		wantActs(t, in.Force(at(2*sec), StateMaster, CauseSyncGroup))
	})
}

func TestSetPriority(t *testing.T) {
	t.Run("rising priority brings the down timer forward", func(t *testing.T) {
		in := started(t, nil, Options{})
		wantActs(t, in.SetPriority(at(sec), 200))
		// Skew 156/256 s becomes 56/256 s.
		wantDeadline(t, in, at(3*sec+218750*us))
		if st := in.Status(); st.EffectivePriority != 200 || st.BasePriority != 100 || st.MasterDownInterval != 3*sec+218750*us {
			t.Errorf("status %+v", st)
		}
	})
	t.Run("falling priority keeps the running timer", func(t *testing.T) {
		in := started(t, nil, Options{})
		in.SetPriority(at(sec), 50)
		wantDeadline(t, in, at(3*sec+609375*us))
		in.HandleAdvert(at(2*sec), addrB, adv(in, 60, 0))
		wantDeadline(t, in, at(2*sec+3*sec+SkewTime(3, 50, sec)))
	})
	t.Run("clamped to 1..254", func(t *testing.T) {
		in := started(t, nil, Options{})
		in.SetPriority(at(sec), -20)
		if p := in.Status().EffectivePriority; p != 1 {
			t.Errorf("priority %d", p)
		}
		in.SetPriority(at(sec), 300)
		if p := in.Status().EffectivePriority; p != 254 {
			t.Errorf("priority %d", p)
		}
	})
	t.Run("the owner never changes", func(t *testing.T) {
		in := newInst(t, func(c *Config) { c.Priority = 255 }, Options{})
		in.Start(t0)
		in.SetPriority(at(sec), 10)
		if p := in.Status().EffectivePriority; p != 255 {
			t.Errorf("priority %d", p)
		}
	})
	t.Run("MASTER advertises the new priority", func(t *testing.T) {
		in, m := mastered(t, func(c *Config) { c.GARP.MasterDelay = 0 }, Options{})
		in.SetPriority(m, 90)
		wantActs(t, in.Tick(m.Add(sec)), "send_advert(prio=90)")
	})
	t.Run("a backup whose priority rose preempts its master", func(t *testing.T) {
		in := started(t, nil, Options{})
		in.HandleAdvert(at(sec), addrB, adv(in, 150, 0))
		in.SetPriority(at(2*sec), 200)
		in.HandleAdvert(at(3*sec), addrB, adv(in, 150, 0)) // now lower: ignored
		d, _ := in.Deadline()
		wantActs(t, in.Tick(d), "send_advert(prio=200)", "add_vips", "gratuitous(repeat=5)", "state_change(BACKUP->MASTER preempted)")
	})
}

func TestInstanceValidate(t *testing.T) {
	other := netip.MustParseAddr("192.0.2.200")
	in := started(t, func(c *Config) { c.SkipCheckAdvAddr = true }, Options{LocalAddr: addrA})
	packet := func(from netip.Addr, vips ...netip.Addr) Packet {
		a := adv(in, 200, 0)
		a.Addrs = vips
		b, err := a.Marshal(from, MulticastGroupIPv4)
		if err != nil {
			t.Fatal(err)
		}
		return Packet{Src: from, Dst: MulticastGroupIPv4, HopLimit: 255, Payload: b}
	}
	var a Advert
	if r := in.Validate(packet(addrB, other), &a); r != ReasonAddrList {
		t.Fatalf("unknown master with wrong VIPs: %v", r)
	}
	if r := in.Validate(packet(addrB, netip.MustParseAddr("192.0.2.100")), &a); r != ReasonNone {
		t.Fatalf("good advert: %v", r)
	}
	in.HandleAdvert(at(sec), addrB, &a)
	if r := in.Validate(packet(addrB, other), &a); r != ReasonNone {
		t.Errorf("skip_check_adv_addr for the master: %v", r)
	}
	if r := in.Validate(packet(addrC, other), &a); r != ReasonAddrList {
		t.Errorf("another sender: %v", r)
	}
	if r := in.Validate(packet(addrA, netip.MustParseAddr("192.0.2.100")), &a); r != ReasonOwnAddress {
		t.Errorf("own advert: %v", r)
	}
}

func TestAppendAdvert(t *testing.T) {
	in := started(t, func(c *Config) {
		c.Version = 2
		c.Auth = Auth{Type: AuthPass, Pass: "lbdtest"}
	}, Options{LocalAddr: addrA})
	b, err := in.AppendAdvert(nil, 100, in.SourceAddr(), MulticastGroupIPv4)
	if err != nil {
		t.Fatal(err)
	}
	var a Advert
	if r := Parse(b, addrA, MulticastGroupIPv4, &a); r != ReasonNone {
		t.Fatal(r)
	}
	want := Advert{Version: 2, Type: 1, VRID: 7, Priority: 100, AuthType: AuthPass,
		AuthData: [8]byte{'l', 'b', 'd', 't', 'e', 's', 't'}, Interval: sec,
		Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	if diff := cmp.Diff(want, a, cmpNet); diff != "" {
		t.Errorf("advert (-want +got):\n%s", diff)
	}
	// Our own receive rules accept it from a peer.
	rc := in.RxConfig()
	rc.LocalAddr = addrB
	if r := Validate(&rc, Packet{Src: addrA, Dst: MulticastGroupIPv4, HopLimit: 255, Payload: b}, &a); r != ReasonNone {
		t.Errorf("own rules reject own advert: %v", r)
	}
}

// keepalived's unicast checksum compatibility: once a peer is seen sending
// the pre-1.3.6 form, answer in that form.
func TestLegacyChecksumLearning(t *testing.T) {
	peers := func(c *Config) {
		c.UnicastPeers = []UnicastPeer{{Addr: addrB, MaxTTL: 255}}
	}
	in := started(t, peers, Options{LocalAddr: addrA})
	a := adv(in, 200, 0)
	a.LegacyChecksum = true
	b, _ := a.Marshal(addrB, addrA)
	var got Advert
	if r := in.Validate(Packet{Src: addrB, Dst: addrA, HopLimit: 64, Payload: b}, &got); r != ReasonNone {
		t.Fatal(r)
	}
	in.HandleAdvert(at(sec), addrB, &got)
	if !in.Status().LegacyChecksum {
		t.Fatal("not learned")
	}
	out, _ := in.AppendAdvert(nil, 100, addrA, addrB)
	var back Advert
	if r := Parse(out, addrA, addrB, &back); r != ReasonNone || !back.LegacyChecksum {
		t.Errorf("sent %v legacy=%v", r, back.LegacyChecksum)
	}

	strict := started(t, func(c *Config) { peers(c); c.ChecksumCompat = ChecksumStrict }, Options{LocalAddr: addrA})
	strict.HandleAdvert(at(sec), addrB, &got)
	if strict.Status().LegacyChecksum {
		t.Error("learned in strict mode")
	}
	legacy := started(t, func(c *Config) { peers(c); c.ChecksumCompat = ChecksumLegacy }, Options{LocalAddr: addrA})
	if !legacy.Status().LegacyChecksum {
		t.Error("legacy mode does not send legacy checksums")
	}
}

func TestNewInstanceRejects(t *testing.T) {
	if _, err := NewInstance(testConfig(func(c *Config) { c.Auth = Auth{Type: AuthAH, Pass: "x"}; c.Version = 2 }), Options{}); err == nil ||
		!strings.Contains(err.Error(), "AH") {
		t.Errorf("AH accepted: %v", err)
	}
	if _, err := NewInstance(Config{}, Options{}); err == nil {
		t.Error("zero Config accepted")
	}
}

func TestSourceAddr(t *testing.T) {
	in := newInst(t, nil, Options{LocalAddr: addrA})
	in.SetLocalAddr(addrB)
	if in.SourceAddr() != addrB || in.RxConfig().LocalAddr != addrB {
		t.Error("SetLocalAddr ignored")
	}
	fixed := newInst(t, func(c *Config) { c.SourceAddr = addrC }, Options{LocalAddr: addrA})
	fixed.SetLocalAddr(addrB)
	if fixed.SourceAddr() != addrC {
		t.Error("SetLocalAddr overrode mcast_src_ip")
	}
}
