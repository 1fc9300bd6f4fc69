package netutil

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// RuleAction is what a routing policy rule does when it matches (FR_ACT_*,
// iproute2's names). The zero value is "table".
type RuleAction uint8

// The actions of keepalived's virtual_rules and static_rules.
const (
	RuleToTable     RuleAction = unix.FR_ACT_TO_TBL
	RuleGoto        RuleAction = unix.FR_ACT_GOTO
	RuleNop         RuleAction = unix.FR_ACT_NOP
	RuleBlackhole   RuleAction = unix.FR_ACT_BLACKHOLE
	RuleUnreachable RuleAction = unix.FR_ACT_UNREACHABLE
	RuleProhibit    RuleAction = unix.FR_ACT_PROHIBIT
)

var ruleActionNames = [...]string{
	RuleToTable: "table", RuleGoto: "goto", RuleNop: "nop",
	RuleBlackhole: "blackhole", RuleUnreachable: "unreachable", RuleProhibit: "prohibit",
}

func (a RuleAction) orTable() RuleAction {
	if a == 0 {
		return RuleToTable
	}
	return a
}

// String returns iproute2's name for the action.
func (a RuleAction) String() string {
	a = a.orTable()
	if int(a) < len(ruleActionNames) && ruleActionNames[a] != "" {
		return ruleActionNames[a]
	}
	return fmt.Sprintf("rule_action(%d)", uint8(a))
}

func (a RuleAction) valid() bool {
	return int(a) < len(ruleActionNames) && ruleActionNames[a] != ""
}

// ParseRuleAction reads an action: "table" (or "lookup", or ""), "goto",
// "nop", "blackhole", "unreachable", "prohibit".
func ParseRuleAction(s string) (RuleAction, error) {
	switch s {
	case "", "lookup":
		return RuleToTable, nil
	}
	for a, name := range ruleActionNames {
		if name != "" && name == s {
			return RuleAction(a), nil
		}
	}
	return 0, fmt.Errorf("bad rule action %q", s)
}

// PortRange is a rule's sport or dport: one port (Start == End) or a
// range.
type PortRange struct{ Start, End uint16 }

// ParsePortRange reads "N" or "N-M".
func ParsePortRange(s string) (PortRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return PortRange{}, fmt.Errorf("bad port range %q", s)
	}
	b := a
	if isRange {
		if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
			return PortRange{}, fmt.Errorf("bad port range %q", s)
		}
	}
	return PortRange{uint16(a), uint16(b)}, nil
}

// UIDRange is a rule's uidrange.
type UIDRange struct{ Start, End uint32 }

// ParseUIDRange reads "N-M".
func ParseUIDRange(s string) (UIDRange, error) {
	lo, hi, ok := strings.Cut(s, "-")
	a, e1 := strconv.ParseUint(lo, 10, 32)
	b, e2 := strconv.ParseUint(hi, 10, 32)
	if !ok || e1 != nil || e2 != nil || b < a {
		return UIDRange{}, fmt.Errorf("bad uid range %q", s)
	}
	return UIDRange{uint32(a), uint32(b)}, nil
}

// Rule is a routing policy rule with every selector and action of
// keepalived's virtual_rules and static_rules (`ip rule add` syntax):
//
//	[not] [from PREFIX|all] [to PREFIX|all] [priority N] [tos T]
//	    [fwmark M[/MASK]] [iif IF] [oif IF] [realms R] [uidrange N-M]
//	    [l3mdev] [protocol P] [ipproto P] [sport R] [dport R] [tun_id N]
//	    [suppress_prefixlength N] [suppress_ifgroup G]
//	    [table T|goto N|nop|blackhole|unreachable|prohibit]
//
// Optional values whose zero means something to the kernel are pointers;
// nil leaves them out.
type Rule struct {
	// Family is needed when neither From nor To is given.
	Family Family
	// Not inverts the selectors (FIB_RULE_INVERT).
	Not bool
	// From and To: the zero value is "all".
	From, To netip.Prefix
	// Priority (priority, preference, order): nil lets the kernel pick
	// one, which keepalived warns against.
	Priority *uint32
	TOS      uint8
	FWMark   *uint32
	FWMask   *uint32
	// IIf and OIf are interface names: a rule may name one that does not
	// exist yet.
	IIf, OIf string
	Action   RuleAction
	// Table is the table of RuleToTable (0: main); Goto the priority
	// RuleGoto jumps to.
	Table uint32
	Goto  uint32
	// Realms is FROM<<16 | TO, IPv4 only.
	Realms            uint32
	SuppressPrefixLen *int
	SuppressIfGroup   *uint32
	UIDRange          *UIDRange
	// L3MDev looks the table up from the l3mdev (VRF) device; no Table
	// then.
	L3MDev bool
	// Protocol: 0 means ProtoKeepalived.
	Protocol     uint8
	IPProto      uint8
	SPort, DPort *PortRange
	TunID        *uint64
}

// Validate reports what makes r unusable, naming the attribute.
func (r Rule) Validate() error {
	if !r.Family.valid() {
		return fmt.Errorf("bad address family %v", r.Family)
	}
	for _, s := range []struct {
		name string
		p    netip.Prefix
	}{{"from", r.From}, {"to", r.To}} {
		if !s.p.IsValid() {
			continue
		}
		if a := s.p.Addr(); a.Is4In6() || a.Zone() != "" || !r.Family.matches(a) {
			return fmt.Errorf("%s: %v is not %v", s.name, s.p, r.Family)
		}
	}
	a := r.Action.orTable()
	if !a.valid() {
		return fmt.Errorf("bad rule action %d", uint8(r.Action))
	}
	switch {
	case r.Table != 0 && a != RuleToTable:
		return fmt.Errorf("table: given with action %v", a)
	case r.Goto != 0 && a != RuleGoto:
		return fmt.Errorf("goto: given with action %v", a)
	case a == RuleGoto && r.Goto == 0:
		return errors.New("goto: no target priority")
	case r.L3MDev && r.Table != 0:
		return errors.New("l3mdev: given with a table (the kernel refuses both)")
	case r.L3MDev && a != RuleToTable:
		return fmt.Errorf("l3mdev: given with action %v", a)
	case r.FWMask != nil && r.FWMark == nil:
		return errors.New("fwmask: without fwmark")
	case r.Realms != 0 && r.Family != FamilyIPv4:
		return errors.New("realms: ipv4 only")
	case r.SuppressPrefixLen != nil && (*r.SuppressPrefixLen < 0 || *r.SuppressPrefixLen > 128):
		return fmt.Errorf("suppress_prefixlength: %d out of 0..128", *r.SuppressPrefixLen)
	case r.UIDRange != nil && r.UIDRange.Start > r.UIDRange.End:
		return fmt.Errorf("uidrange: %d-%d is empty", r.UIDRange.Start, r.UIDRange.End)
	case r.SPort != nil && r.SPort.Start > r.SPort.End:
		return fmt.Errorf("sport: %d-%d is empty", r.SPort.Start, r.SPort.End)
	case r.DPort != nil && r.DPort.Start > r.DPort.End:
		return fmt.Errorf("dport: %d-%d is empty", r.DPort.Start, r.DPort.End)
	}
	for _, s := range []struct{ name, v string }{{"iif", r.IIf}, {"oif", r.OIf}} {
		if len(s.v) > unix.IFNAMSIZ-1 || strings.ContainsAny(s.v, "/\x00 ") {
			return fmt.Errorf("%s: bad interface name %q", s.name, s.v)
		}
	}
	return nil
}

// table is the table the rule looks up, resolved.
func (r Rule) table() uint32 {
	if r.Action.orTable() != RuleToTable || r.L3MDev {
		return 0
	}
	if r.Table == 0 {
		return unix.RT_TABLE_MAIN
	}
	return r.Table
}

// encode builds the fib_rule_hdr and attributes of r, for RTM_NEWRULE
// and RTM_DELRULE alike. r must be valid.
func (r Rule) encode() []byte {
	family := uint8(unix.AF_INET)
	if r.Family == FamilyIPv6 {
		family = unix.AF_INET6
	}
	table := r.table()
	hdrTable := uint8(unix.RT_TABLE_UNSPEC)
	if table < 256 {
		hdrTable = uint8(table)
	}
	var flags uint32
	if r.Not {
		flags |= unix.FIB_RULE_INVERT
	}
	dstLen, srcLen := 0, 0
	if r.To.IsValid() {
		dstLen = r.To.Bits()
	}
	if r.From.IsValid() {
		srcLen = r.From.Bits()
	}
	proto := r.Protocol
	if proto == 0 {
		proto = ProtoKeepalived
	}
	w := &nlBuilder{}
	// struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1,
	// res2, action, flags.
	w.raw(family, uint8(dstLen), uint8(srcLen), r.TOS, hdrTable, 0, 0, uint8(r.Action.orTable()))
	w.b = binary.NativeEndian.AppendUint32(w.b, flags)

	if r.Priority != nil {
		w.u32(unix.FRA_PRIORITY, *r.Priority)
	}
	if r.From.IsValid() {
		w.attr(unix.FRA_SRC, r.From.Addr().AsSlice())
	}
	if r.To.IsValid() {
		w.attr(unix.FRA_DST, r.To.Addr().AsSlice())
	}
	if r.FWMark != nil {
		w.u32(unix.FRA_FWMARK, *r.FWMark)
	}
	if r.FWMask != nil {
		w.u32(unix.FRA_FWMASK, *r.FWMask)
	}
	if r.Realms != 0 {
		w.u32(unix.FRA_FLOW, r.Realms)
	}
	if r.TunID != nil {
		w.attr(unix.FRA_TUN_ID, binary.BigEndian.AppendUint64(nil, *r.TunID))
	}
	if r.IIf != "" {
		w.str(unix.FRA_IIFNAME, r.IIf)
	}
	if r.OIf != "" {
		w.str(unix.FRA_OIFNAME, r.OIf)
	}
	if table != 0 {
		w.u32(unix.FRA_TABLE, table)
	}
	if r.SuppressPrefixLen != nil {
		w.u32(unix.FRA_SUPPRESS_PREFIXLEN, uint32(*r.SuppressPrefixLen))
	}
	if r.SuppressIfGroup != nil {
		w.u32(unix.FRA_SUPPRESS_IFGROUP, *r.SuppressIfGroup)
	}
	if r.Action.orTable() == RuleGoto {
		w.u32(unix.FRA_GOTO, r.Goto)
	}
	if r.L3MDev {
		w.u8(unix.FRA_L3MDEV, 1)
	}
	if r.UIDRange != nil {
		v := binary.NativeEndian.AppendUint32(nil, r.UIDRange.Start)
		w.attr(unix.FRA_UID_RANGE, binary.NativeEndian.AppendUint32(v, r.UIDRange.End))
	}
	w.u8(unix.FRA_PROTOCOL, proto)
	if r.IPProto != 0 {
		w.u8(unix.FRA_IP_PROTO, r.IPProto)
	}
	for _, p := range []struct {
		typ uint16
		r   *PortRange
	}{{unix.FRA_SPORT_RANGE, r.SPort}, {unix.FRA_DPORT_RANGE, r.DPort}} {
		if p.r != nil {
			v := binary.NativeEndian.AppendUint16(nil, p.r.Start)
			w.attr(p.typ, binary.NativeEndian.AppendUint16(v, p.r.End))
		}
	}
	return w.b
}

// String renders r in iproute2's words.
func (r Rule) String() string {
	var b strings.Builder
	b.WriteString(r.Family.String())
	if r.Priority != nil {
		fmt.Fprintf(&b, " priority %d", *r.Priority)
	}
	if r.Not {
		b.WriteString(" not")
	}
	from, to := "all", "all"
	if r.From.IsValid() {
		from = r.From.String()
	}
	if r.To.IsValid() {
		to = r.To.String()
	}
	b.WriteString(" from " + from + " to " + to)
	if r.TOS != 0 {
		fmt.Fprintf(&b, " tos %#x", r.TOS)
	}
	if r.FWMark != nil {
		fmt.Fprintf(&b, " fwmark %#x", *r.FWMark)
		if r.FWMask != nil {
			fmt.Fprintf(&b, "/%#x", *r.FWMask)
		}
	}
	if r.IIf != "" {
		b.WriteString(" iif " + r.IIf)
	}
	if r.OIf != "" {
		b.WriteString(" oif " + r.OIf)
	}
	if r.Realms != 0 {
		fmt.Fprintf(&b, " realms %d/%d", r.Realms>>16, r.Realms&0xffff)
	}
	if r.UIDRange != nil {
		fmt.Fprintf(&b, " uidrange %d-%d", r.UIDRange.Start, r.UIDRange.End)
	}
	if r.L3MDev {
		b.WriteString(" l3mdev")
	}
	if r.Protocol != 0 {
		fmt.Fprintf(&b, " protocol %d", r.Protocol)
	}
	if r.IPProto != 0 {
		fmt.Fprintf(&b, " ipproto %d", r.IPProto)
	}
	if r.SPort != nil {
		fmt.Fprintf(&b, " sport %d-%d", r.SPort.Start, r.SPort.End)
	}
	if r.DPort != nil {
		fmt.Fprintf(&b, " dport %d-%d", r.DPort.Start, r.DPort.End)
	}
	if r.TunID != nil {
		fmt.Fprintf(&b, " tun_id %d", *r.TunID)
	}
	if r.SuppressPrefixLen != nil {
		fmt.Fprintf(&b, " suppress_prefixlength %d", *r.SuppressPrefixLen)
	}
	if r.SuppressIfGroup != nil {
		fmt.Fprintf(&b, " suppress_ifgroup %d", *r.SuppressIfGroup)
	}
	switch a := r.Action.orTable(); a {
	case RuleToTable:
		if !r.L3MDev {
			fmt.Fprintf(&b, " table %d", r.table())
		}
	case RuleGoto:
		fmt.Fprintf(&b, " goto %d", r.Goto)
	default:
		b.WriteString(" " + a.String())
	}
	return b.String()
}

// AddRule adds r (NLM_F_EXCL, as `ip rule add`): an identical rule
// already there is reported as an error matching unix.EEXIST.
func (h *Host) AddRule(r Rule) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("add rule %v: %w", r, err)
	}
	c, release, err := h.routeConn()
	if err != nil {
		return fmt.Errorf("add rule %v: %w", r, err)
	}
	defer release()
	if err := c.request(unix.RTM_NEWRULE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, r.encode()); err != nil {
		return fmt.Errorf("add rule %v: %w", r, err)
	}
	return nil
}

// DelRule deletes the rule matching every attribute of r. One already
// gone (ENOENT) is not an error; deleted reports whether one was.
func (h *Host) DelRule(r Rule) (deleted bool, err error) {
	if err := r.Validate(); err != nil {
		return false, fmt.Errorf("delete rule %v: %w", r, err)
	}
	c, release, err := h.routeConn()
	if err != nil {
		return false, fmt.Errorf("delete rule %v: %w", r, err)
	}
	defer release()
	err = c.request(unix.RTM_DELRULE, 0, r.encode())
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.ENOENT):
		return false, nil
	}
	return false, fmt.Errorf("delete rule %v: %w", r, err)
}

// RuleManager adds and removes rules and removes only its own: a rule
// identical to one the kernel already had is foreign and never removed.
// Safe for concurrent use; its methods are ownership's.
type RuleManager struct{ ownership[Rule] }

// NewRuleManager returns a manager acting through host (nil: the calling
// thread's namespace, per call). log gets one line per foreign rule
// found; nil discards.
func NewRuleManager(host *Host, log *slog.Logger) *RuleManager {
	m := &RuleManager{}
	m.init("rule", host.AddRule, host.DelRule, log)
	return m
}
