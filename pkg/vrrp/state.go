package vrrp

import "fmt"

// State is a VRRP instance's state: RFC 5798 6.4 (Initialize, Backup,
// Master) plus keepalived's FAULT and STOP.
type State uint8

const (
	StateInit   State = iota // not started (RFC Initialize)
	StateBackup              // RFC 3768 6.4.2, RFC 5798 6.4.2
	StateMaster              // RFC 3768 6.4.3, RFC 5798 6.4.3
	StateFault               // keepalived: a tracked interface, script... failed
	StateStop                // shut down: priority-0 advert sent, VIPs removed
)

var stateNames = [...]string{
	StateInit:   "INIT",
	StateBackup: "BACKUP",
	StateMaster: "MASTER",
	StateFault:  "FAULT",
	StateStop:   "STOP",
}

// String returns the state's name as keepalived's logs and notify scripts
// spell it.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Metric returns the value of the state gauge: 0 INIT, 1 BACKUP, 2 MASTER,
// 3 FAULT, as keepalived's own numbering (vrrp.h VRRP_STATE_*) and the
// keepalived exporters encode them; STOP is 98, keepalived's internal
// VRRP_STATE_STOP, so that no exporter's dashboard mistakes it for a
// running state.
func (s State) Metric() int {
	switch s {
	case StateInit:
		return 0
	case StateBackup:
		return 1
	case StateMaster:
		return 2
	case StateFault:
		return 3
	case StateStop:
		return 98
	}
	return -1
}

// Cause is why a transition happened. Its String is the "reason" of logs and
// of the notify FIFO.
type Cause uint8

const (
	CauseNone Cause = iota
	// CauseStartup: INIT -> BACKUP (or FAULT when already faulty).
	CauseStartup
	// CauseStartAsOwner: INIT -> MASTER at once, priority 255 with state
	// MASTER (RFC 5798 6.4.1; keepalived only with the state hint).
	CauseStartAsOwner
	// CauseMasterDownTimer: BACKUP -> MASTER, no advert from a master for
	// the Master_Down_Interval.
	CauseMasterDownTimer
	// CausePriorityZero: BACKUP -> MASTER after the master resigned with a
	// priority-0 advert (the down timer was cut to Skew_Time).
	CausePriorityZero
	// CausePreempted: BACKUP -> MASTER after ignoring a lower-priority
	// master's adverts (preemption, after preempt_delay if set).
	CausePreempted
	// CauseHigherPriority: MASTER -> BACKUP on an advert of higher priority.
	CauseHigherPriority
	// CauseHigherAddress: MASTER -> BACKUP on an advert of equal priority
	// from a higher primary address.
	CauseHigherAddress
	// CauseFault: -> FAULT (SetFault, or a sync group).
	CauseFault
	// CauseFaultCleared: FAULT -> BACKUP, or MASTER for the address owner.
	CauseFaultCleared
	// CauseShutdown: -> STOP.
	CauseShutdown
	// CauseSyncGroup: a transition forced by the instance's sync group.
	CauseSyncGroup
	// CauseRemoved: -> STOP, the instance was removed from the
	// configuration by a reload (Runtime.RemoveInstance).
	CauseRemoved

	numCauses
)

var causeNames = [numCauses]string{
	CauseNone:            "none",
	CauseStartup:         "startup",
	CauseStartAsOwner:    "start_as_owner",
	CauseMasterDownTimer: "master_down_timer",
	CausePriorityZero:    "priority_zero_received",
	CausePreempted:       "preempted",
	CauseHigherPriority:  "higher_priority_advert",
	CauseHigherAddress:   "equal_priority_higher_address",
	CauseFault:           "fault",
	CauseFaultCleared:    "fault_cleared",
	CauseShutdown:        "shutdown",
	CauseSyncGroup:       "sync_group",
	CauseRemoved:         "removed",
}

// String returns the cause's log / label value.
func (c Cause) String() string {
	if c < numCauses {
		return causeNames[c]
	}
	return fmt.Sprintf("Cause(%d)", uint8(c))
}
