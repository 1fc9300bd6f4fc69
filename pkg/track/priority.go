package track

import (
	"fmt"
	"math"
)

// Kind is what a tracker watches.
type Kind uint8

// The kinds.
const (
	KindInterface Kind = iota + 1 // track_interface
	KindScript                    // vrrp_script / track_script
	KindFile                      // track_file
	KindProcess                   // vrrp_track_process / track_process
)

var kindNames = [...]string{
	KindInterface: "interface",
	KindScript:    "script",
	KindFile:      "file",
	KindProcess:   "process",
}

// String returns the kind's log and metric name.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// State is a tracked object's condition.
type State uint8

// The states.
const (
	// StateInit: no result yet (a vrrp_script before its first run ends).
	StateInit State = iota
	// StateUp: interface up and running, script succeeding, process quorum
	// present.
	StateUp
	// StateDown: the opposite.
	StateDown
)

var stateNames = [...]string{StateInit: "init", StateUp: "up", StateDown: "down"}

// String returns the state's log name.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Update is a tracker's report that an object changed.
type Update struct {
	Kind Kind
	Name string
	// State is the new state (interfaces, scripts, processes).
	State State
	// Value is the number now in the file (track_file).
	Value int64
}

// Status is one tracked object as one VRRP instance sees it: the object's
// current state (or value) and the weight the instance's track_* entry
// gives it.
type Status struct {
	Kind    Kind
	Name    string
	State   State // interfaces, scripts, processes
	Value   int64 // files
	Weight  int
	Reverse bool
}

// Effect is what one tracked object does to an instance.
type Effect struct {
	// Delta is added to the base priority.
	Delta int
	// Fault puts the instance in FAULT.
	Fault bool
	// Init holds the instance in INIT: an unweighted script has not
	// reported yet.
	Init bool
}

// Effect computes s's effect with keepalived's rules (vrrp_track.c,
// track_file.c, track_process.c; "reverse" is weight_multiplier -1):
//
//   - weight 0: the instance is in FAULT while the object is down (with
//     reverse: while it is up); an unweighted script that has not run yet
//     holds the instance in INIT;
//   - positive weight: weight (reverse: -weight) is added while up;
//   - negative weight: weight (reverse: -weight, so a raise) is added
//     while down;
//   - a weighted script that has not run yet adds nothing;
//   - files: with weight 0, a non-zero value (reverse: zero) is a FAULT;
//     otherwise value × weight (× -1 with reverse), limited to
//     [-254, 253], is added, and -254 means FAULT.
func (s Status) Effect() Effect {
	mult := 1
	if s.Reverse {
		mult = -1
	}
	if s.Kind == KindFile {
		if s.Weight == 0 {
			return Effect{Fault: (s.Value != 0) != s.Reverse}
		}
		v := clampProduct(s.Value, int64(s.Weight*mult), -254, 253)
		if v == -254 {
			return Effect{Fault: true}
		}
		return Effect{Delta: int(v)}
	}
	if s.State == StateInit {
		return Effect{Init: s.Weight == 0}
	}
	up := s.State == StateUp
	switch {
	case s.Weight == 0:
		return Effect{Fault: up != (mult == 1)}
	case s.Weight > 0 && up, s.Weight < 0 && !up:
		return Effect{Delta: s.Weight * mult}
	}
	return Effect{}
}

// clampProduct returns a×b limited to [lo, hi], without overflow.
func clampProduct(a, b, lo, hi int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt64/absInt64(b) || a < -(math.MaxInt64/absInt64(b)) {
		if (a > 0) == (b > 0) {
			return hi
		}
		return lo
	}
	return min(max(a*b, lo), hi)
}

func absInt64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// OwnerPriority is the priority of the address owner (RFC 5798): trackers
// never change it.
const OwnerPriority = 255

// Effective is an instance's priority after its trackers.
type Effective struct {
	// Priority is what the instance advertises: the base for an address
	// owner (255), else base plus every delta, limited to [1, 254].
	Priority uint8
	// Total is base plus every delta, before limiting.
	Total int
	// Fault: some tracker puts the instance in FAULT; FaultBy names the
	// first one ("script chk_nginx").
	Fault   bool
	FaultBy string
	// Init: some unweighted script has not reported yet, and the instance
	// must wait in INIT (keepalived's num_script_init).
	Init bool
}

// Priority computes an instance's effective priority and FAULT state from
// its base priority and the status of everything it tracks, as keepalived
// does (vrrp_track.c vrrp_set_effective_priority): 255 never changes; any
// other total is limited to 1..254; an unweighted failed tracker means
// FAULT. The list is the instance's own trackers plus those of its sync
// group, after SyncRules (keepalived never counts a weight for an address
// owner, so weights in trackers of a priority-255 instance should already
// be gone).
func Priority(base uint8, trackers ...Status) Effective {
	e := Effective{Total: int(base)}
	for _, s := range trackers {
		eff := s.Effect()
		e.Total += eff.Delta
		if eff.Fault && !e.Fault {
			e.Fault, e.FaultBy = true, s.Kind.String()+" "+s.Name
		}
		e.Init = e.Init || eff.Init
	}
	switch {
	case base == OwnerPriority:
		e.Priority = OwnerPriority
	case e.Total < 1:
		e.Priority = 1
	case e.Total >= OwnerPriority:
		e.Priority = OwnerPriority - 1
	default:
		e.Priority = uint8(e.Total)
	}
	return e
}

// Ref is a configured reference to a tracked object: one entry of an
// instance's or sync group's track_interface, track_script, track_file or
// track_process block, with the weight that applies (the entry's own, or
// the object's default) and reverse.
type Ref struct {
	Kind    Kind
	Name    string
	Weight  int
	Reverse bool
}

// Adjustment records a change SyncRules made, for the daemon to log as
// keepalived does.
type Adjustment struct {
	Ref    Ref
	Action string // "ignored" or "weight set to 0"
	Reason string // "sync group" or "address owner"
}

// String renders the adjustment as a log message.
func (a Adjustment) String() string {
	return fmt.Sprintf("%s %s with weight %d %s (%s)", a.Ref.Kind, a.Ref.Name, a.Ref.Weight, a.Action, a.Reason)
}

// SyncRules are the inputs of keepalived's rules for trackers of sync
// group members and address owners.
type SyncRules struct {
	// Priority is the instance's configured (base) priority.
	Priority uint8
	// InGroup: the instance is a member of a vrrp_sync_group.
	InGroup bool
	// TrackingWeight is the group's sync_group_tracking_weight (or the
	// deprecated global_tracking).
	TrackingWeight bool
	// GroupHasOwner: some member of the group has priority 255.
	GroupHasOwner bool
}

// ApplySyncRules returns the trackers that apply to an instance: its own
// (own) after keepalived's rules for sync groups and address owners, then
// its sync group's (group), merged. It is keepalived's
// vrrp_complete_instance and sync_group_tracking_init (vrrp.c, 2.2.7):
//
// Without sync_group_tracking_weight, all members of a sync group must
// move together, so an instance's own weighted trackers are neutralized:
// a weighted track_interface becomes unweighted (down means FAULT), a
// weighted track_script is ignored, a track_file with the default weight 1
// becomes unweighted and one with another weight is ignored. An address
// owner (priority 255) gets the same treatment except that a weighted
// track_interface is ignored rather than made unweighted. track_process
// entries are left alone (2.2.7 has no rule for them; weights never
// change an owner's priority anyway).
//
// A sync group's own trackers apply to every member with their weights,
// even without sync_group_tracking_weight, unless a member is an address
// owner: then their weights are set to 0.
//
// When the instance and its group track the same object, the group's
// weight and reverse win, unless the instance's entry is unweighted.
func ApplySyncRules(rules SyncRules, own, group []Ref) ([]Ref, []Adjustment) {
	var (
		out  []Ref
		adjs []Adjustment
	)
	owner := rules.Priority == OwnerPriority
	if (rules.InGroup && !rules.TrackingWeight) || owner {
		reason := "sync group"
		if !rules.InGroup || rules.TrackingWeight {
			reason = "address owner"
		}
		for _, r := range own {
			switch {
			case r.Weight == 0 || r.Kind == KindProcess:
				out = append(out, r)
			case r.Kind == KindInterface && reason == "sync group":
				adjs = append(adjs, Adjustment{Ref: r, Action: "weight set to 0", Reason: reason})
				r.Weight = 0
				out = append(out, r)
			case r.Kind == KindFile && r.Weight == 1:
				adjs = append(adjs, Adjustment{Ref: r, Action: "weight set to 0", Reason: reason})
				r.Weight = 0
				out = append(out, r)
			default:
				adjs = append(adjs, Adjustment{Ref: r, Action: "ignored", Reason: reason})
			}
		}
	} else {
		out = append(out, own...)
	}
	for _, g := range group {
		if rules.GroupHasOwner && g.Weight != 0 {
			adjs = append(adjs, Adjustment{Ref: g, Action: "weight set to 0", Reason: "sync group member is address owner"})
			g.Weight = 0
		}
		merged := false
		for i := range out {
			if out[i].Kind == g.Kind && out[i].Name == g.Name {
				if out[i].Weight != 0 {
					out[i].Weight, out[i].Reverse = g.Weight, g.Reverse
				}
				merged = true
				break
			}
		}
		if !merged {
			out = append(out, g)
		}
	}
	return out, adjs
}
