package loader

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Mode is the --datapath setting for one interface: which tiers Attach may
// use.
type Mode uint8

const (
	// ModeAuto tries XDP native, then XDP generic, then TC, and settles
	// for TierNone (raw sockets alone) when none attaches.
	ModeAuto       Mode = iota
	ModeXDP             // XDP native (driver) only
	ModeXDPGeneric      // XDP generic (skb) only
	ModeTC              // TC ingress only (tcx, else clsact + cls_bpf via go-tc)
	ModeIPVS            // no BPF for VRRP: raw sockets alone (virtual services on IPVS)
	ModeOff             // no BPF at all
)

var modeNames = [...]string{
	ModeAuto:       "auto",
	ModeXDP:        "xdp",
	ModeXDPGeneric: "xdp-generic",
	ModeTC:         "tc",
	ModeIPVS:       "ipvs",
	ModeOff:        "off",
}

// String returns the --datapath value.
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ParseMode parses a --datapath value.
func ParseMode(s string) (Mode, error) {
	for i, n := range modeNames {
		if s == n {
			return Mode(i), nil
		}
	}
	return 0, fmt.Errorf("datapath %q: want one of %s", s, strings.Join(modeNames[:], ", "))
}

// tiers returns the tiers a mode tries, best first.
func (m Mode) tiers() []Tier {
	switch m {
	case ModeAuto:
		return []Tier{TierXDP, TierXDPGeneric, TierTC}
	case ModeXDP:
		return []Tier{TierXDP}
	case ModeXDPGeneric:
		return []Tier{TierXDPGeneric}
	case ModeTC:
		return []Tier{TierTC}
	}
	return nil
}

// Tier is the datapath an interface got.
type Tier uint8

const (
	TierNone       Tier = iota // no program: raw sockets carry VRRP alone
	TierXDP                    // XDP native (driver mode)
	TierXDPGeneric             // XDP generic (skb mode)
	TierTC                     // TC ingress (tcx link, or clsact + cls_bpf)
)

// Tiers lists every tier, for metrics that show each one.
var Tiers = []Tier{TierXDP, TierXDPGeneric, TierTC, TierNone}

var tierNames = [...]string{
	TierNone:       "none",
	TierXDP:        "xdp",
	TierXDPGeneric: "xdp-generic",
	TierTC:         "tc",
}

// String returns the tier's name, as in logs, status and the metric label.
func (t Tier) String() string {
	if int(t) < len(tierNames) {
		return tierNames[t]
	}
	return fmt.Sprintf("Tier(%d)", uint8(t))
}

// Family is an address family: 4 or 6 (the values of pkg/vrrp.Family).
type Family uint8

const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// String returns "ipv4" or "ipv6".
func (f Family) String() string {
	switch f {
	case IPv4:
		return "ipv4"
	case IPv6:
		return "ipv6"
	}
	return fmt.Sprintf("Family(%d)", uint8(f))
}

// VRIDKey names one VRRP instance as the program sees it: the interface it
// runs on, the innermost VLAN id of the frame (0 untagged: the program on a
// VLAN device, or untagged traffic), the VRID and the address family.
type VRIDKey struct {
	Ifindex int
	VLAN    uint16
	VRID    uint8
	Family  Family
}

func (k VRIDKey) String() string {
	if k.VLAN != 0 {
		return fmt.Sprintf("if%d.%d/vrid%d/%s", k.Ifindex, k.VLAN, k.VRID, k.Family)
	}
	return fmt.Sprintf("if%d/vrid%d/%s", k.Ifindex, k.VRID, k.Family)
}

func (k VRIDKey) bpf() bpfVrrpKey {
	return bpfVrrpKey{Ifindex: uint32(k.Ifindex), Vrid: k.VRID, Family: uint8(k.Family), Vlan: k.VLAN}
}

func keyFromBPF(k bpfVrrpKey) VRIDKey {
	return VRIDKey{Ifindex: int(k.Ifindex), VLAN: k.Vlan, VRID: k.Vrid, Family: Family(k.Family)}
}

// ChecksumCompat mirrors pkg/vrrp.ChecksumCompat (same values): which IPv4
// pseudo-header destination a VRRPv3 unicast advert may be checksummed with.
type ChecksumCompat uint8

const (
	ChecksumAuto   ChecksumCompat = iota // the real destination, or keepalived's pre-1.3.6 224.0.0.18
	ChecksumStrict                       // the real destination only
	ChecksumLegacy                       // 224.0.0.18 only
)

// Auth types of VRRPv2 (RFC 2338 5.3.6), as pkg/vrrp.AuthType.
const (
	AuthNone uint8 = 0
	AuthPass uint8 = 1
	AuthAH   uint8 = 2 // never offloaded: such instances stay with raw sockets
)

// Largest address lists the program handles (bpf/vrrp.h VRRP_MAX_ADDRS4/6).
const (
	MaxAddrsIPv4 = 80
	MaxAddrsIPv6 = 20
)

// VRIDConfig is the receive side of one VRRP instance, as the program
// checks it. It carries the same values as pkg/vrrp.RxConfig; the rules
// and their order are bpf/vrrp.h's (which are pkg/vrrp.Validate's).
type VRIDConfig struct {
	Version  uint8   // 2 or 3
	AuthType uint8   // v2: AuthNone or AuthPass
	AuthData [8]byte // v2 PASS password, zero padded
	// Interval is the configured advert interval. v2: whole seconds, and
	// adverts must carry it; v3: not checked (the backup learns it).
	Interval time.Duration
	VIPs     []netip.Addr // the advertised addresses, at most MaxAddrsIPv4/6

	// Unicast: the instance has unicast peers (no TTL-255 rule, the
	// destination must be unicast). EnforceAllow: the source must be in
	// the interface's allow-list (SetAllowList) within its TTL range
	// (keepalived check_unicast_src, or an lbd allow prefix).
	Unicast      bool
	EnforceAllow bool
	// LocalAddr is our own source address: adverts from it are rejected.
	LocalAddr      netip.Addr
	ChecksumCompat ChecksumCompat
	// SkipAddrCheck is keepalived's skip_check_adv_addr: while not master,
	// adverts from the recorded master skip the address-list and sender
	// checks.
	SkipAddrCheck bool
	// Master: this node is master; every accepted advert becomes an event
	// (SetMaster flips it).
	Master bool
}

// MasterInfo is the current master of a VRID as the program last saw it.
type MasterInfo struct {
	Addr     netip.Addr
	Priority uint8 // 0: the master resigned (its last advert had priority 0)
	Interval time.Duration
	// LegacyChecksum: its adverts use keepalived's pre-1.3.6 v3 checksum.
	LegacyChecksum bool
	// LastSeen is when its last advert was accepted, Changed when sender,
	// priority, interval or checksum form last changed. Both carry Go's
	// monotonic reading: compare them with time.Now().
	LastSeen time.Time
	Changed  time.Time
}

// EventKind is a set of reasons an event was emitted.
type EventKind uint8

const (
	EventNewSender      = EventKind(bpfVrrpEventKindVRRP_EV_NEW_SENDER)      // no master recorded, or another source
	EventPrioChange     = EventKind(bpfVrrpEventKindVRRP_EV_PRIO_CHANGE)     // same sender, other priority
	EventPrioZero       = EventKind(bpfVrrpEventKindVRRP_EV_PRIO_ZERO)       // priority 0: the master resigns
	EventWhileMaster    = EventKind(bpfVrrpEventKindVRRP_EV_WHILE_MASTER)    // an advert while this node is master
	EventIntervalChange = EventKind(bpfVrrpEventKindVRRP_EV_INTERVAL_CHANGE) // same sender, other interval
	EventChecksumChange = EventKind(bpfVrrpEventKindVRRP_EV_CSUM_CHANGE)     // same sender, other checksum form
)

var eventKindNames = []struct {
	k EventKind
	n string
}{
	{EventNewSender, "new_sender"},
	{EventPrioChange, "prio_change"},
	{EventPrioZero, "prio_zero"},
	{EventWhileMaster, "while_master"},
	{EventIntervalChange, "interval_change"},
	{EventChecksumChange, "checksum_change"},
}

// String returns the set's names joined by "|".
func (k EventKind) String() string {
	var parts []string
	for _, e := range eventKindNames {
		if k&e.k != 0 {
			parts = append(parts, e.n)
			k &^= e.k
		}
	}
	if k != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", uint8(k)))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

// Event is one accepted advert that changed something (or that arrived
// while this node is master), from the program's ring buffer.
type Event struct {
	Key            VRIDKey
	Kind           EventKind
	Addr           netip.Addr // sender
	Priority       uint8
	PrevPriority   uint8 // the recorded master's priority before (0 if none)
	Interval       time.Duration
	LegacyChecksum bool
	Time           time.Time // when the program accepted it (monotonic reading)
}

// Reason is why the program rejected (or passed, uncounted by a VRID) a
// VRRP packet. Same numbers and names as pkg/vrrp.Reason, which this
// package does not import; reason_test.go checks they agree.
type Reason uint8

// NumReasons is the number of reasons (bpf/vrrp.h VRRP_R_MAX).
const NumReasons = int(bpfVrrpReasonVRRP_R_MAX)

var reasonNames = [NumReasons]string{
	bpfVrrpReasonVRRP_R_NONE:               "none",
	bpfVrrpReasonVRRP_R_PACKET_LEN:         "packet_len",
	bpfVrrpReasonVRRP_R_IP_TTL:             "ip_ttl",
	bpfVrrpReasonVRRP_R_VERSION:            "version",
	bpfVrrpReasonVRRP_R_INVALID_TYPE:       "invalid_type",
	bpfVrrpReasonVRRP_R_CHECKSUM:           "checksum",
	bpfVrrpReasonVRRP_R_VRID_UNKNOWN:       "vrid_unknown",
	bpfVrrpReasonVRRP_R_INVALID_AUTHTYPE:   "invalid_authtype",
	bpfVrrpReasonVRRP_R_AUTHTYPE_MISMATCH:  "authtype_mismatch",
	bpfVrrpReasonVRRP_R_AUTH_FAILURE:       "auth_failure",
	bpfVrrpReasonVRRP_R_ADDR_LIST:          "addr_list",
	bpfVrrpReasonVRRP_R_ADVERT_INTERVAL:    "advert_interval",
	bpfVrrpReasonVRRP_R_SENDER_NOT_ALLOWED: "sender_not_allowed",
	bpfVrrpReasonVRRP_R_FAMILY:             "family",
	bpfVrrpReasonVRRP_R_OWN_ADDRESS:        "own_address",
	bpfVrrpReasonVRRP_R_FRAGMENT:           "fragment",
	bpfVrrpReasonVRRP_R_PROTOCOL:           "protocol",
}

// String returns the reason's metric label.
func (r Reason) String() string {
	if int(r) < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// VRIDStats are one VRID's counters, summed over CPUs.
type VRIDStats struct {
	Accepted     uint64             // adverts accepted
	PriorityZero uint64             // of which with priority 0
	Rejected     [NumReasons]uint64 // dropped, by Reason
}

// IfaceStats are the counters of VRRP packets an interface's program left
// to the kernel (not attributable to a configured VRID), summed over CPUs.
type IfaceStats struct {
	Passed     [NumReasons]uint64 // by Reason: packet_len, checksum, vrid_unknown, fragment
	EventsLost uint64             // events dropped because the ring buffer was full
}

// Stats is a snapshot of every counter.
type Stats struct {
	VRIDs      map[VRIDKey]VRIDStats
	Interfaces map[int]IfaceStats // by ifindex
}

// Interface is one interface the loader manages, for status and metrics.
type Interface struct {
	Name    string
	Ifindex int
	Tier    Tier
	// Hook says how the tier is attached: "xdp-link", "tcx" or "clsact".
	Hook string
	// Skipped holds why each tier above Tier failed (auto mode), best first.
	Skipped []TierError
	// Adopted: the attachment was found pinned by a previous lbd and kept.
	Adopted bool
}

// TierError is why one tier could not attach.
type TierError struct {
	Tier Tier
	Err  error
}

func (e TierError) Error() string { return e.Tier.String() + ": " + e.Err.Error() }
func (e TierError) Unwrap() error { return e.Err }
