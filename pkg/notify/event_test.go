package notify

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFIFOLine(t *testing.T) {
	for _, tc := range []struct {
		ev   Event
		want string
	}{
		// The format of keepalived's man page: INSTANCE "VI_1" MASTER 100.
		{Event{ScopeInstance, "VI_1", StateMaster, 100}, "INSTANCE \"VI_1\" MASTER 100\n"},
		{Event{ScopeInstance, "VI_1", StateBackup, 90}, "INSTANCE \"VI_1\" BACKUP 90\n"},
		{Event{ScopeInstance, "VI_1", StateFault, 90}, "INSTANCE \"VI_1\" FAULT 90\n"},
		{Event{ScopeInstance, "VI_1", StateStop, 90}, "INSTANCE \"VI_1\" STOP 90\n"},
		{Event{ScopeInstance, "VI_1", StateDeleted, 90}, "INSTANCE \"VI_1\" DELETED 90\n"},
		{Event{ScopeInstance, "VI_1", StateMasterRxLowerPri, 100}, "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 100\n"},
		{Event{ScopeInstance, "VI_1", StateMasterPriority, 110}, "INSTANCE \"VI_1\" MASTER_PRIORITY 110\n"},
		{Event{ScopeInstance, "VI_1", StateBackupPriority, 80}, "INSTANCE \"VI_1\" BACKUP_PRIORITY 80\n"},
		// A group's priority is always 0.
		{Event{ScopeGroup, "VG_1", StateMaster, 100}, "GROUP \"VG_1\" MASTER 0\n"},
		// Names are written as they are, quotes and all (keepalived's %s).
		{Event{ScopeInstance, `odd "name"`, StateMaster, 1}, "INSTANCE \"odd \"name\"\" MASTER 1\n"},
		{Event{ScopeInstance, "x", State(99), 1}, "INSTANCE \"x\" {UNKNOWN} 1\n"},
	} {
		if got := tc.ev.FIFOLine(); got != tc.want {
			t.Errorf("FIFOLine(%+v) = %q, want %q", tc.ev, got, tc.want)
		}
	}
}

func TestNotifyArgs(t *testing.T) {
	if diff := cmp.Diff([]string{"INSTANCE", "VI_1", "MASTER", "100"},
		Event{ScopeInstance, "VI_1", StateMaster, 100}.NotifyArgs()); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff([]string{"GROUP", "VG_1", "FAULT", "0"},
		Event{ScopeGroup, "VG_1", StateFault, 50}.NotifyArgs()); diff != "" {
		t.Error(diff)
	}
}

func TestStateTransition(t *testing.T) {
	for s, want := range map[State]bool{
		StateMaster: true, StateBackup: true, StateFault: true, StateStop: true, StateDeleted: true,
		StateMasterRxLowerPri: false, StateMasterPriority: false, StateBackupPriority: false,
	} {
		if s.Transition() != want {
			t.Errorf("%v.Transition() = %v", s, !want)
		}
	}
}
