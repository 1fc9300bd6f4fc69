package daemon

import (
	"net/netip"
	"time"

	"github.com/lbdproject/lbd/pkg/vrrp"
)

// The control protocol: one JSON Request per connection to
// RUN_DIR/lbd.sock, answered by one JSON Response, then the daemon closes
// the connection. Field names are stable: scripts parse "lbd status
// --json", which prints Response.Status.

// Commands of the control protocol.
const (
	CommandStatus = "status"
	CommandReload = "reload" // Response.Reload says what changed, or why nothing did
)

// Request is a control request.
type Request struct {
	Command string `json:"command"`
}

// Response answers a Request. OK false comes with Error.
type Response struct {
	OK     bool          `json:"ok"`
	Error  string        `json:"error,omitempty"`
	Status *Status       `json:"status,omitempty"`
	Reload *ReloadResult `json:"reload,omitempty"`
}

// ReloadResult is what a reload did: with OK, the changes applied (one
// line each, as logged); without, the configuration's errors (file:line)
// and nothing changed.
type ReloadResult struct {
	OK       bool      `json:"ok"`
	At       time.Time `json:"at"`
	Duration float64   `json:"duration_seconds"`
	Changes  []string  `json:"changes"`
	Errors   []string  `json:"errors,omitempty"`
	Warnings []string  `json:"warnings,omitempty"`
}

// SyncGroupStatus is one vrrp_sync_group.
type SyncGroupStatus struct {
	Name      string   `json:"name"`
	State     string   `json:"state"`
	StateCode int      `json:"state_code"`
	Members   []string `json:"members"`
	// Missing are configured members that do not run.
	Missing       []string `json:"missing,omitempty"`
	FaultyMembers int      `json:"faulty_members"`
}

// Status is what "lbd status" shows.
type Status struct {
	Version    string    `json:"version"`
	PID        int       `json:"pid"`
	Started    time.Time `json:"started"`
	ConfigFile string    `json:"config_file"`
	// Datapath is the tier per interface carrying VRRP.
	Datapath  Datapath         `json:"datapath"`
	Instances []InstanceStatus `json:"instances"`
	// Refused lists the vrrp_instances that do not run, with why.
	Refused    []RefusedInstance `json:"refused,omitempty"`
	SyncGroups []SyncGroupStatus `json:"sync_groups,omitempty"`
	// LastReload is the last reload's outcome, if any.
	LastReload *ReloadResult `json:"last_reload,omitempty"`
	// StartupDelayUntil is set while global_defs vrrp_startup_delay
	// holds the instances in INIT: when it ends.
	StartupDelayUntil *time.Time `json:"startup_delay_until,omitempty"`
}

// Datapath is the requested datapath and what each interface got.
type Datapath struct {
	Requested  string          `json:"requested"`
	Interfaces []InterfaceTier `json:"interfaces"`
}

// InterfaceTier is one interface's datapath tier: xdp, xdp-generic, tc,
// or none (raw sockets alone).
type InterfaceTier struct {
	Interface string `json:"interface"`
	Tier      string `json:"tier"`
	// Reason says why the tier is none.
	Reason string `json:"reason,omitempty"`
	// Hook is how the program is attached: xdp-link, tcx or clsact.
	Hook string `json:"hook,omitempty"`
	// Adopted: the attachment was left by a previous lbd and kept (no
	// detach, counters continued).
	Adopted bool `json:"adopted,omitempty"`
	// Skipped says why each higher tier failed (auto), best first.
	Skipped []string `json:"skipped,omitempty"`
}

// RefusedInstance is a vrrp_instance the daemon refused to run.
type RefusedInstance struct {
	Name   string   `json:"name"`
	Pos    string   `json:"pos"`
	Errors []string `json:"errors"`
}

// InstanceStatus is one VRRP instance. Durations are in seconds.
type InstanceStatus struct {
	Name      string   `json:"name"`
	VRID      int      `json:"vrid"`
	Interface string   `json:"interface"`
	Version   int      `json:"version"`
	Family    string   `json:"family"` // ipv4, ipv6
	Unicast   bool     `json:"unicast"`
	Group     string   `json:"group,omitempty"`
	Peers     []string `json:"peers,omitempty"`
	Source    string   `json:"source_address,omitempty"`

	State     string `json:"state"` // INIT, BACKUP, MASTER, FAULT, STOP
	WantState string `json:"want_state"`
	// InitReason says why an instance in INIT has not started:
	// "vrrp_startup_delay, 1.5s left".
	InitReason string `json:"init_reason,omitempty"`
	// StateCode is the lbd_vrrp_state value (0 INIT, 1 BACKUP, 2 MASTER,
	// 3 FAULT, 98 STOP).
	StateCode          int    `json:"state_code"`
	Priority           int    `json:"priority"`            // effective
	ConfiguredPriority int    `json:"configured_priority"` // base
	MasterAddress      string `json:"master_address,omitempty"`
	MasterPriority     int    `json:"master_priority,omitempty"`

	AdvertInterval       float64 `json:"advert_interval_seconds"`
	MasterAdvertInterval float64 `json:"master_advert_interval_seconds"`
	MasterDownInterval   float64 `json:"master_down_interval_seconds"`

	VIPs         []string `json:"vips"`
	ExcludedVIPs []string `json:"excluded_vips,omitempty"`

	// Datapath is the tier that receives the instance's adverts (its
	// interface's), or none (its raw socket alone) with DatapathNote
	// saying why.
	Datapath     string `json:"datapath"`
	DatapathNote string `json:"datapath_note,omitempty"`

	LastTransition *time.Time `json:"last_transition,omitempty"`
	LastReason     string     `json:"last_reason"`
	Fault          bool       `json:"fault"`
	FaultDetail    string     `json:"fault_detail,omitempty"`
	Faults         []string   `json:"faults,omitempty"`

	// PreemptDelayUntil is set while preempt_delay runs: a BACKUP that
	// follows a lower-priority master until then.
	PreemptDelayUntil *time.Time `json:"preempt_delay_until,omitempty"`

	SyncGroup string `json:"sync_group,omitempty"`
	// Trackers are what the instance tracks, with their state and what
	// each does to it now.
	Trackers []TrackerStatus `json:"trackers,omitempty"`

	Counters Counters `json:"counters"`
}

// Counters are an instance's counters since lbd started; received,
// priority-0 received and dropped include what the datapath program
// counted, which continues across a restart that adopted it.
type Counters struct {
	AdvertsSent          uint64 `json:"adverts_sent"`
	AdvertsReceived      uint64 `json:"adverts_received"`
	PriorityZeroSent     uint64 `json:"priority_zero_sent"`
	PriorityZeroReceived uint64 `json:"priority_zero_received"`
	Dropped              uint64 `json:"dropped"`
	InboxOverflow        uint64 `json:"inbox_overflow"`
	GARPSent             uint64 `json:"garp_sent"`
	Errors               uint64 `json:"errors"`
}

// Instance returns the status of the named instance, or nil.
func (s *Status) Instance(name string) *InstanceStatus {
	for i := range s.Instances {
		if s.Instances[i].Name == name {
			return &s.Instances[i]
		}
	}
	return nil
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func instanceStatus(s vrrp.InstanceStatus) InstanceStatus {
	out := InstanceStatus{
		Name:                 s.Name,
		VRID:                 int(s.VRID),
		Interface:            s.Interface,
		Version:              int(s.Version),
		Family:               s.Family.String(),
		Unicast:              s.Unicast,
		Group:                addrString(s.Group),
		Source:               addrString(s.SourceAddr),
		State:                s.State.String(),
		WantState:            s.WantState.String(),
		StateCode:            s.State.Metric(),
		Priority:             int(s.EffectivePriority),
		ConfiguredPriority:   int(s.BasePriority),
		MasterAddress:        addrString(s.MasterAddr),
		MasterPriority:       int(s.MasterPriority),
		AdvertInterval:       s.AdvertInterval.Seconds(),
		MasterAdvertInterval: s.MasterAdverInterval.Seconds(),
		MasterDownInterval:   s.MasterDownInterval.Seconds(),
		VIPs:                 []string{},
		LastReason:           s.LastCause.String(),
		Fault:                s.State == vrrp.StateFault,
		FaultDetail:          s.FaultDetail,
		Faults:               s.Faults,
		SyncGroup:            s.SyncGroup,
		Counters: Counters{
			AdvertsSent:          s.AdvertsSent,
			AdvertsReceived:      s.AdvertsReceived,
			PriorityZeroSent:     s.PriorityZeroSent,
			PriorityZeroReceived: s.PriorityZeroReceived,
			Dropped:              s.Dropped,
			InboxOverflow:        s.InboxOverflow,
			GARPSent:             s.GARPSent,
			Errors:               s.Errors,
		},
	}
	if s.State == vrrp.StateMaster {
		// The master is us: show our own address, as keepalived's
		// status does.
		out.MasterAddress = addrString(s.SourceAddr)
		out.MasterPriority = int(s.EffectivePriority)
	}
	for _, p := range s.Peers {
		out.Peers = append(out.Peers, p.String())
	}
	for _, p := range s.VIPs {
		out.VIPs = append(out.VIPs, p.String())
	}
	for _, p := range s.ExcludedVIPs {
		out.ExcludedVIPs = append(out.ExcludedVIPs, p.String())
	}
	if !s.LastTransition.IsZero() {
		t := s.LastTransition.Round(0)
		out.LastTransition = &t
	}
	if !s.PreemptDelayUntil.IsZero() {
		t := s.PreemptDelayUntil.Round(0)
		out.PreemptDelayUntil = &t
	}
	return out
}
