package notify

import (
	"fmt"
	"strconv"
)

// Scope says whether an event is about a VRRP instance or a sync group.
type Scope uint8

// The scopes.
const (
	ScopeInstance Scope = iota + 1
	ScopeGroup
)

// String returns the scope as keepalived writes it: INSTANCE or GROUP.
func (s Scope) String() string {
	switch s {
	case ScopeInstance:
		return "INSTANCE"
	case ScopeGroup:
		return "GROUP"
	}
	return fmt.Sprintf("scope(%d)", uint8(s))
}

// State is what happened: a transition, or one of keepalived's events.
type State uint8

// The states and events, with keepalived's names.
const (
	StateMaster State = iota + 1
	StateBackup
	StateFault
	// StateStop: the instance or group stops (shutdown).
	StateStop
	// StateDeleted: the instance was removed by a reload and
	// notify_deleted is set (without it, keepalived reports FAULT).
	StateDeleted
	// StateMasterRxLowerPri: a master received an advert with a lower
	// priority (notify_master_rx_lower_pri; FIFO line, no "notify" call).
	StateMasterRxLowerPri
	// StateMasterPriority and StateBackupPriority: the effective priority
	// changed and notify_priority_changes is set (FIFO only).
	StateMasterPriority
	StateBackupPriority
)

var stateNames = [...]string{
	StateMaster:           "MASTER",
	StateBackup:           "BACKUP",
	StateFault:            "FAULT",
	StateStop:             "STOP",
	StateDeleted:          "DELETED",
	StateMasterRxLowerPri: "MASTER_RX_LOWER_PRI",
	StateMasterPriority:   "MASTER_PRIORITY",
	StateBackupPriority:   "BACKUP_PRIORITY",
}

// String returns keepalived's name for the state ("{UNKNOWN}" for an
// invalid one, as keepalived).
func (s State) String() string {
	if int(s) < len(stateNames) && stateNames[s] != "" {
		return stateNames[s]
	}
	return "{UNKNOWN}"
}

// Transition reports whether s is a state change that runs the "notify"
// script (MASTER, BACKUP, FAULT, STOP, DELETED), rather than an event.
func (s State) Transition() bool { return s >= StateMaster && s <= StateDeleted }

// Event is one notification.
type Event struct {
	Scope Scope
	// Name is the vrrp_instance's or vrrp_sync_group's name.
	Name  string
	State State
	// Priority is the instance's effective priority; keepalived always
	// reports 0 for a group.
	Priority uint8
}

func (e Event) priority() uint8 {
	if e.Scope == ScopeGroup {
		return 0
	}
	return e.Priority
}

// NotifyArgs are the four arguments keepalived appends to the "notify"
// script: INSTANCE|GROUP, the name, the state and the priority.
func (e Event) NotifyArgs() []string {
	return []string{e.Scope.String(), e.Name, e.State.String(), strconv.Itoa(int(e.priority()))}
}

// FIFOLine is the event as keepalived writes it to notify_fifo and
// vrrp_notify_fifo (vrrp_notify.c notify_fifo: "%s \"%s\" %s %d\n"), e.g.
// `INSTANCE "VI_1" MASTER 100` and a newline.
func (e Event) FIFOLine() string {
	return fmt.Sprintf("%s \"%s\" %s %d\n", e.Scope, e.Name, e.State, e.priority())
}
