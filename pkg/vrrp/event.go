package vrrp

import (
	"fmt"
	"net/netip"
)

// EventKind says what an Event reports.
type EventKind uint8

// The events the runtime reports to RuntimeOptions.OnEvent.
const (
	// EventStateChange: an instance went From -> To because of Cause.
	EventStateChange EventKind = iota + 1
	// EventMasterRxLowerPriority: a MASTER received an advert of lower
	// priority from Peer (keepalived's notify_master_rx_lower_pri).
	EventMasterRxLowerPriority
	// EventPriorityChange: an instance's effective priority changed
	// (tracking, reload); To is its current state.
	EventPriorityChange
	// EventGroupStateChange: a sync group went From -> To.
	EventGroupStateChange
)

var eventNames = [...]string{
	EventStateChange:           "state_change",
	EventMasterRxLowerPriority: "master_rx_lower_priority",
	EventPriorityChange:        "priority_change",
	EventGroupStateChange:      "group_state_change",
}

// String returns the kind's name.
func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is something an instance or a sync group did that the outside
// world hears about: notify scripts, notify FIFOs, mails, virtual routes.
//
// Instance events are delivered on the instance's goroutine, in the order
// they happened, after the step's side effects (the VIPs are in place
// when a transition to MASTER is reported, and gone when a transition
// from MASTER is). Group events are delivered on the group's goroutine,
// after the event of the member that moved the group and before the
// group's other members are forced to follow.
type Event struct {
	Kind EventKind
	// Instance is the vrrp_instance; empty for a group event.
	Instance string
	// Group is the sync group: the instance's (empty if none), or the
	// group the event is about.
	Group    string
	From, To State
	Cause    Cause
	// Priority is the instance's effective priority after the step (0
	// for a group).
	Priority uint8
	// Peer is the advert's sender (EventMasterRxLowerPriority), or the
	// new master when an advert sent a MASTER to BACKUP.
	Peer netip.Addr
	// Synced: the instance entered the state its sync group had already
	// entered, after having reported a state before. keepalived sends no
	// instance notifies then (vrrp_notify.c send_instance_notifies): the
	// group's notifies stand for it.
	Synced bool
}

// String renders the event for logs and test failures.
func (e Event) String() string {
	name := e.Instance
	if e.Kind == EventGroupStateChange {
		name = "group " + e.Group
	}
	s := fmt.Sprintf("%s %s %v->%v", e.Kind, name, e.From, e.To)
	if e.Cause != CauseNone {
		s += " " + e.Cause.String()
	}
	if e.Kind != EventGroupStateChange {
		s += fmt.Sprintf(" prio=%d", e.Priority)
	}
	if e.Synced {
		s += " synced"
	}
	return s
}

func (rt *Runtime) emit(ev Event) {
	if rt.opts.OnEvent != nil {
		rt.opts.OnEvent(ev)
	}
}
