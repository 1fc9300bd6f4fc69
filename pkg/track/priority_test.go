package track

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEffect(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Status
		want Effect
	}{
		// Booleans: interfaces, scripts, processes.
		{"unweighted up", Status{Kind: KindInterface, State: StateUp}, Effect{}},
		{"unweighted down", Status{Kind: KindInterface, State: StateDown}, Effect{Fault: true}},
		{"unweighted reverse up", Status{Kind: KindScript, State: StateUp, Reverse: true}, Effect{Fault: true}},
		{"unweighted reverse down", Status{Kind: KindScript, State: StateDown, Reverse: true}, Effect{}},
		{"positive up", Status{Kind: KindScript, State: StateUp, Weight: 20}, Effect{Delta: 20}},
		{"positive down", Status{Kind: KindScript, State: StateDown, Weight: 20}, Effect{}},
		{"negative up", Status{Kind: KindScript, State: StateUp, Weight: -20}, Effect{}},
		{"negative down", Status{Kind: KindScript, State: StateDown, Weight: -20}, Effect{Delta: -20}},
		{"positive reverse up", Status{Kind: KindProcess, State: StateUp, Weight: 20, Reverse: true}, Effect{Delta: -20}},
		{"positive reverse down", Status{Kind: KindProcess, State: StateDown, Weight: 20, Reverse: true}, Effect{}},
		{"negative reverse down", Status{Kind: KindInterface, State: StateDown, Weight: -20, Reverse: true}, Effect{Delta: 20}},
		{"negative reverse up", Status{Kind: KindInterface, State: StateUp, Weight: -20, Reverse: true}, Effect{}},
		// A script that has not run yet.
		{"unweighted init", Status{Kind: KindScript, State: StateInit}, Effect{Init: true}},
		{"weighted init", Status{Kind: KindScript, State: StateInit, Weight: 10}, Effect{}},
		// Files.
		{"file unweighted 0", Status{Kind: KindFile, Value: 0}, Effect{}},
		{"file unweighted 3", Status{Kind: KindFile, Value: 3}, Effect{Fault: true}},
		{"file unweighted -1", Status{Kind: KindFile, Value: -1}, Effect{Fault: true}},
		{"file unweighted reverse 0", Status{Kind: KindFile, Value: 0, Reverse: true}, Effect{Fault: true}},
		{"file unweighted reverse 5", Status{Kind: KindFile, Value: 5, Reverse: true}, Effect{}},
		{"file weight 1", Status{Kind: KindFile, Value: 15, Weight: 1}, Effect{Delta: 15}},
		{"file weight -2", Status{Kind: KindFile, Value: 15, Weight: -2}, Effect{Delta: -30}},
		{"file reverse", Status{Kind: KindFile, Value: 15, Weight: 2, Reverse: true}, Effect{Delta: -30}},
		{"file above 253", Status{Kind: KindFile, Value: 300, Weight: 1}, Effect{Delta: 253}},
		{"file -253", Status{Kind: KindFile, Value: -253, Weight: 1}, Effect{Delta: -253}},
		{"file -254 is fault", Status{Kind: KindFile, Value: -254, Weight: 1}, Effect{Fault: true}},
		{"file far below is fault", Status{Kind: KindFile, Value: -2147483648, Weight: 254}, Effect{Fault: true}},
		{"file far above", Status{Kind: KindFile, Value: 2147483648, Weight: 254}, Effect{Delta: 253}},
	} {
		if got := tc.s.Effect(); got != tc.want {
			t.Errorf("%s: Effect() = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestPriority(t *testing.T) {
	up := func(k Kind, n string, w int) Status { return Status{Kind: k, Name: n, State: StateUp, Weight: w} }
	down := func(k Kind, n string, w int) Status { return Status{Kind: k, Name: n, State: StateDown, Weight: w} }
	for _, tc := range []struct {
		name string
		base uint8
		ts   []Status
		want Effective
	}{
		{"nothing tracked", 100, nil, Effective{Priority: 100, Total: 100}},
		// keepalived.conf.vrrp.localcheck, VI_1: eth1 weight 2 "prio = +2
		// if UP", eth2 weight -2 "prio = -2 if DOWN", eth3 "fault if
		// down", chk_sshd weight -4 "-4 if KO", chk_haproxy weight 2 "+2 if
		// process is present", chk_http_port weight -2 "-2 if connect fails".
		{"localcheck all fine", 100, []Status{
			up(KindInterface, "eth1", 2), up(KindInterface, "eth2", -2), up(KindInterface, "eth3", 0),
			up(KindScript, "chk_sshd", -4), up(KindScript, "chk_haproxy", 2), up(KindScript, "chk_http_port", -2),
		}, Effective{Priority: 104, Total: 104}},
		{"localcheck eth1 down, sshd KO", 100, []Status{
			down(KindInterface, "eth1", 2), up(KindInterface, "eth2", -2), up(KindInterface, "eth3", 0),
			down(KindScript, "chk_sshd", -4), up(KindScript, "chk_haproxy", 2), up(KindScript, "chk_http_port", -2),
		}, Effective{Priority: 98, Total: 98}},
		{"localcheck eth3 down is fault", 100, []Status{
			up(KindInterface, "eth1", 2), down(KindInterface, "eth2", -2), down(KindInterface, "eth3", 0),
		}, Effective{Priority: 100, Total: 100, Fault: true, FaultBy: "interface eth3"}},
		{"clamped to 254", 250, []Status{up(KindScript, "a", 10)}, Effective{Priority: 254, Total: 260}},
		{"exactly 255 is clamped too", 245, []Status{up(KindScript, "a", 10)}, Effective{Priority: 254, Total: 255}},
		{"clamped to 1", 5, []Status{down(KindScript, "a", -50)}, Effective{Priority: 1, Total: -45}},
		{"zero is clamped to 1", 50, []Status{down(KindScript, "a", -50)}, Effective{Priority: 1, Total: 0}},
		{"owner never changes", 255, []Status{down(KindScript, "a", -50)}, Effective{Priority: 255, Total: 205}},
		{"owner can still fault", 255, []Status{down(KindInterface, "eth0", 0)},
			Effective{Priority: 255, Total: 255, Fault: true, FaultBy: "interface eth0"}},
		{"file adds its value", 100, []Status{{Kind: KindFile, Name: "f", Value: -30, Weight: 1}},
			Effective{Priority: 70, Total: 70}},
		{"file fault", 100, []Status{{Kind: KindFile, Name: "f", Value: -254, Weight: 1}},
			Effective{Priority: 100, Total: 100, Fault: true, FaultBy: "file f"}},
		{"unweighted script not run yet", 100, []Status{{Kind: KindScript, Name: "s", State: StateInit}},
			Effective{Priority: 100, Total: 100, Init: true}},
		{"first fault named", 100, []Status{down(KindScript, "s1", 0), down(KindScript, "s2", 0)},
			Effective{Priority: 100, Total: 100, Fault: true, FaultBy: "script s1"}},
	} {
		got := Priority(tc.base, tc.ts...)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: Priority (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestApplySyncRules(t *testing.T) {
	ifW := Ref{Kind: KindInterface, Name: "eth1", Weight: 2}
	if0 := Ref{Kind: KindInterface, Name: "eth3"}
	scW := Ref{Kind: KindScript, Name: "chk", Weight: -4}
	sc0 := Ref{Kind: KindScript, Name: "chk0"}
	fDef := Ref{Kind: KindFile, Name: "f1", Weight: 1}
	fW := Ref{Kind: KindFile, Name: "f2", Weight: 5}
	prW := Ref{Kind: KindProcess, Name: "p", Weight: 10}
	own := []Ref{ifW, if0, scW, sc0, fDef, fW, prW}
	zero := func(r Ref) Ref { r.Weight = 0; return r }

	for _, tc := range []struct {
		name     string
		rules    SyncRules
		own, grp []Ref
		want     []Ref
		nAdj     int
	}{
		{"standalone instance keeps everything", SyncRules{Priority: 100}, own, nil, own, 0},
		{"sync member without tracking weight", SyncRules{Priority: 100, InGroup: true}, own, nil,
			[]Ref{zero(ifW), if0, sc0, zero(fDef), prW}, 4},
		{"sync member with sync_group_tracking_weight", SyncRules{Priority: 100, InGroup: true, TrackingWeight: true},
			own, nil, own, 0},
		{"address owner", SyncRules{Priority: 255}, own, nil,
			[]Ref{if0, sc0, zero(fDef), prW}, 4},
		{"group trackers apply with weights", SyncRules{Priority: 100, InGroup: true}, nil,
			[]Ref{scW, ifW}, []Ref{scW, ifW}, 0},
		{"group trackers lose weights with an owner member", SyncRules{Priority: 100, InGroup: true, GroupHasOwner: true}, nil,
			[]Ref{scW, if0}, []Ref{zero(scW), if0}, 1},
		{"group weight wins over a weighted instance entry", SyncRules{Priority: 100, InGroup: true, TrackingWeight: true},
			[]Ref{{Kind: KindScript, Name: "chk", Weight: 7}}, []Ref{scW}, []Ref{scW}, 0},
		{"unweighted instance entry stays unweighted", SyncRules{Priority: 100, InGroup: true},
			[]Ref{{Kind: KindScript, Name: "chk"}}, []Ref{scW}, []Ref{{Kind: KindScript, Name: "chk"}}, 0},
	} {
		got, adjs := ApplySyncRules(tc.rules, tc.own, tc.grp)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: refs (-want +got):\n%s", tc.name, diff)
		}
		if len(adjs) != tc.nAdj {
			t.Errorf("%s: %d adjustments %v, want %d", tc.name, len(adjs), adjs, tc.nAdj)
		}
	}
}

func TestRiseFall(t *testing.T) {
	type step struct {
		ok      bool
		state   State
		changed bool
	}
	U, D := StateUp, StateDown
	for _, tc := range []struct {
		name       string
		rise, fall int
		initFail   bool
		start      State
		steps      []step
	}{
		{"first success decides", 3, 3, false, StateInit, []step{{true, U, true}, {true, U, false}}},
		{"first failure decides", 3, 3, false, StateInit, []step{{false, D, true}, {false, D, false}}},
		{"fall 2 from up", 1, 2, false, StateInit, []step{
			{true, U, true}, {false, U, false}, {true, U, false}, {false, U, false}, {false, D, true}}},
		{"rise 2 from down", 2, 1, false, StateInit, []step{
			{false, D, true}, {true, D, false}, {false, D, false}, {true, D, false}, {true, U, true}}},
		{"init_fail needs rise successes", 3, 1, true, StateDown, []step{
			{true, D, false}, {true, D, false}, {true, U, true}, {false, D, true}}},
		{"init_fail rise 1", 1, 1, true, StateDown, []step{{false, D, false}, {true, U, true}}},
		{"fall 3 counts consecutive failures only", 1, 3, false, StateInit, []step{
			{true, U, true}, {false, U, false}, {false, U, false}, {true, U, false},
			{false, U, false}, {false, U, false}, {false, D, true}}},
		{"zero rise and fall mean 1", 0, 0, false, StateInit, []step{{true, U, true}, {false, D, true}, {true, U, true}}},
	} {
		r := NewRiseFall(tc.rise, tc.fall, tc.initFail)
		if r.State() != tc.start {
			t.Errorf("%s: start state %v, want %v", tc.name, r.State(), tc.start)
		}
		for i, s := range tc.steps {
			st, ch := r.Observe(s.ok)
			if st != s.state || ch != s.changed {
				t.Errorf("%s: step %d (ok=%v): %v changed=%v, want %v changed=%v", tc.name, i, s.ok, st, ch, s.state, s.changed)
			}
		}
	}
}

func BenchmarkPriority(b *testing.B) {
	ts := []Status{
		{Kind: KindInterface, Name: "eth1", State: StateUp, Weight: 2},
		{Kind: KindInterface, Name: "eth3", State: StateUp},
		{Kind: KindScript, Name: "chk", State: StateDown, Weight: -4},
		{Kind: KindFile, Name: "f", Value: 7, Weight: 1},
		{Kind: KindProcess, Name: "p", State: StateUp, Weight: 10},
	}
	for b.Loop() {
		if e := Priority(100, ts...); e.Priority != 115 {
			b.Fatal(e)
		}
	}
}
