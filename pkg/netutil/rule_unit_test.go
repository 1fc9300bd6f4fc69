package netutil

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func ptr[T any](v T) *T { return &v }

func TestRuleEncodeGolden(t *testing.T) {
	t.Parallel()
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("golden bytes are little-endian")
	}
	pfx := netip.MustParsePrefix
	for _, tc := range []struct {
		name string
		rule Rule
		want []byte
	}{
		{
			"ipv4: every selector, table lookup",
			Rule{
				Family: FamilyIPv4, From: pfx("198.51.100.0/24"), To: pfx("198.51.101.0/26"),
				Priority: ptr[uint32](101), TOS: 4, FWMark: ptr[uint32](24), FWMask: ptr[uint32](12),
				IIf: "eth0", OIf: "lo", Table: 100, Realms: 30<<16 | 20,
				SuppressPrefixLen: ptr(0), SuppressIfGroup: ptr[uint32](5), TunID: ptr[uint64](7),
			},
			cat(
				// fib_rule_hdr: family, dst_len, src_len, tos, table,
				// res1, res2, action (to table), flags.
				[]byte{2, 26, 24, 4, 100, 0, 0, 1}, le32(0),
				nla(6, le32(101)),                       // FRA_PRIORITY
				nla(2, ipBytes("198.51.100.0")),         // FRA_SRC
				nla(1, ipBytes("198.51.101.0")),         // FRA_DST
				nla(10, le32(24)),                       // FRA_FWMARK
				nla(16, le32(12)),                       // FRA_FWMASK
				nla(11, le32(30<<16|20)),                // FRA_FLOW
				nla(12, []byte{0, 0, 0, 0, 0, 0, 0, 7}), // FRA_TUN_ID, big-endian
				nla(3, []byte("eth0\x00")),              // FRA_IIFNAME
				nla(17, []byte("lo\x00")),               // FRA_OIFNAME
				nla(15, le32(100)),                      // FRA_TABLE
				nla(14, le32(0)),                        // FRA_SUPPRESS_PREFIXLEN
				nla(13, le32(5)),                        // FRA_SUPPRESS_IFGROUP
				nla(21, []byte{18}),                     // FRA_PROTOCOL keepalived
			),
		},
		{
			"ipv6: not, goto, uidrange, ipproto, ports, own protocol",
			Rule{
				Family: FamilyIPv6, Not: true, To: pfx("2001:db8:1:2::/64"), Priority: ptr[uint32](103),
				Action: RuleGoto, Goto: 200, UIDRange: &UIDRange{10000, 19999}, Protocol: 12,
				IPProto: 17, SPort: &PortRange{10, 20}, DPort: &PortRange{80, 80},
			},
			cat(
				[]byte{10, 64, 0, 0, 0, 0, 0, 2}, le32(2), // FIB_RULE_INVERT
				nla(6, le32(103)),
				nla(1, ipBytes("2001:db8:1:2::")),
				nla(4, le32(200)),                 // FRA_GOTO
				nla(20, le32(10000), le32(19999)), // FRA_UID_RANGE
				nla(21, []byte{12}),               // FRA_PROTOCOL
				nla(22, []byte{17}),               // FRA_IP_PROTO
				nla(23, le16(10), le16(20)),       // FRA_SPORT_RANGE
				nla(24, le16(80), le16(80)),       // FRA_DPORT_RANGE
			),
		},
		{
			"l3mdev: no table; a big table elsewhere goes in FRA_TABLE only",
			Rule{Family: FamilyIPv4, L3MDev: true, Priority: ptr[uint32](104)},
			cat(
				[]byte{2, 0, 0, 0, 0, 0, 0, 1}, le32(0),
				nla(6, le32(104)),
				nla(19, []byte{1}), // FRA_L3MDEV
				nla(21, []byte{18}),
			),
		},
		{
			"blackhole, no priority",
			Rule{Family: FamilyIPv4, Action: RuleBlackhole},
			cat([]byte{2, 0, 0, 0, 0, 0, 0, 6}, le32(0), nla(21, []byte{18})),
		},
		{
			"big table",
			Rule{Family: FamilyIPv6, Table: 6908},
			cat([]byte{10, 0, 0, 0, 0, 0, 0, 1}, le32(0), nla(15, le32(6908)), nla(21, []byte{18})),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.rule.Validate(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, tc.rule.encode()); diff != "" {
				t.Fatalf("encode (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRuleValidate(t *testing.T) {
	t.Parallel()
	pfx := netip.MustParsePrefix
	for _, tc := range []struct {
		rule Rule
		want string
	}{
		{Rule{}, "family"},
		{Rule{Family: FamilyIPv4, From: pfx("2001:db8::/64")}, "from"},
		{Rule{Family: FamilyIPv6, To: pfx("192.0.2.0/24")}, "to"},
		{Rule{Family: FamilyIPv4, Action: RuleNop, Table: 5}, "table"},
		{Rule{Family: FamilyIPv4, Goto: 5}, "goto"},
		{Rule{Family: FamilyIPv4, Action: RuleGoto}, "goto"},
		{Rule{Family: FamilyIPv4, L3MDev: true, Table: 5}, "l3mdev"},
		{Rule{Family: FamilyIPv4, L3MDev: true, Action: RuleProhibit}, "l3mdev"},
		{Rule{Family: FamilyIPv4, FWMask: ptr[uint32](1)}, "fwmask"},
		{Rule{Family: FamilyIPv6, Realms: 1}, "realms"},
		{Rule{Family: FamilyIPv4, SuppressPrefixLen: ptr(129)}, "suppress_prefixlength"},
		{Rule{Family: FamilyIPv4, UIDRange: &UIDRange{5, 4}}, "uidrange"},
		{Rule{Family: FamilyIPv4, SPort: &PortRange{5, 4}}, "sport"},
		{Rule{Family: FamilyIPv4, DPort: &PortRange{5, 4}}, "dport"},
		{Rule{Family: FamilyIPv4, IIf: "a/b"}, "iif"},
		{Rule{Family: FamilyIPv4, OIf: "sixteen-bytes-xx"}, "oif"},
		{Rule{Family: FamilyIPv4, Action: RuleAction(4)}, "action"},
	} {
		err := tc.rule.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%v) = %v, want an error about %s", tc.rule, err, tc.want)
		}
	}
}

func TestRuleParsers(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]PortRange{"80": {80, 80}, "10-20": {10, 20}, "0-65535": {0, 65535}} {
		if got, err := ParsePortRange(s); err != nil || got != want {
			t.Errorf("ParsePortRange(%q) = %v, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "20-10", "65536", "a-b", "1-"} {
		if _, err := ParsePortRange(bad); err == nil {
			t.Errorf("ParsePortRange(%q) accepted", bad)
		}
	}
	if got, err := ParseUIDRange("10000-19999"); err != nil || got != (UIDRange{10000, 19999}) {
		t.Errorf("ParseUIDRange = %v, %v", got, err)
	}
	for _, bad := range []string{"5", "9-8", "x-1"} {
		if _, err := ParseUIDRange(bad); err == nil {
			t.Errorf("ParseUIDRange(%q) accepted", bad)
		}
	}
	for name, want := range map[string]RuleAction{"": RuleToTable, "lookup": RuleToTable, "table": RuleToTable,
		"goto": RuleGoto, "nop": RuleNop, "blackhole": RuleBlackhole, "unreachable": RuleUnreachable, "prohibit": RuleProhibit} {
		if got, err := ParseRuleAction(name); err != nil || got != want {
			t.Errorf("ParseRuleAction(%q) = %v, %v", name, got, err)
		}
	}
	if _, err := ParseRuleAction("jump"); err == nil {
		t.Error("ParseRuleAction(jump) accepted")
	}
	r := Rule{Family: FamilyIPv4, Priority: ptr[uint32](101), Not: true, From: netip.MustParsePrefix("198.51.100.0/24"),
		FWMark: ptr[uint32](24), FWMask: ptr[uint32](12), Table: 100}
	want := "ipv4 priority 101 not from 198.51.100.0/24 to all fwmark 0x18/0xc table 100"
	if got := r.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if s := RuleAction(99).String(); s == "" {
		t.Error("empty action name")
	}
}

// TestParseAck: the kernel's acknowledgement in its three shapes (an
// ack, a refusal with the extended ack message, answers to another
// request) is read right.
func TestParseAck(t *testing.T) {
	t.Parallel()
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("golden bytes are little-endian")
	}
	hdr := func(length uint32, typ, flags uint16, seq uint32) []byte {
		return cat(le32(length), le16(typ), le16(flags), le32(seq), le32(0))
	}
	origHdr := hdr(36, unix.RTM_NEWROUTE, 0, 7)
	errno := func(e int32) []byte { return le32(uint32(-e)) }

	ack := cat(hdr(36, unix.NLMSG_ERROR, 0, 7), errno(0), origHdr)
	if done, err := parseAck(ack, 7); !done || err != nil {
		t.Fatalf("ack: %v %v", done, err)
	}
	msg := nla(unix.NLMSGERR_ATTR_MSG, []byte("Invalid scope\x00"))
	refusal := cat(hdr(uint32(36+len(msg)), unix.NLMSG_ERROR, unix.NLM_F_CAPPED|unix.NLM_F_ACK_TLVS, 7),
		errno(int32(unix.EINVAL)), origHdr, msg)
	done, err := parseAck(refusal, 7)
	var ke *KernelError
	if !done || !errors.As(err, &ke) || !errors.Is(err, unix.EINVAL) || ke.Msg != "Invalid scope" {
		t.Fatalf("refusal: %v %v", done, err)
	}
	if !strings.Contains(err.Error(), "Invalid scope") {
		t.Fatalf("error %q lacks the kernel's message", err)
	}
	// Uncapped: the request's payload sits between header and message.
	payload := make([]byte, 20)
	uncapped := cat(hdr(uint32(16+4+16+20+len(msg)), unix.NLMSG_ERROR, unix.NLM_F_ACK_TLVS, 7),
		errno(int32(unix.EEXIST)), hdr(36, unix.RTM_NEWROUTE, 0, 7), payload, msg)
	if _, err := parseAck(uncapped, 7); !errors.As(err, &ke) || ke.Msg != "Invalid scope" || !errors.Is(err, unix.EEXIST) {
		t.Fatalf("uncapped refusal: %v", err)
	}
	if done, err := parseAck(cat(hdr(36, unix.NLMSG_ERROR, 0, 6), errno(0), origHdr), 7); done || err != nil {
		t.Fatalf("stale answer taken: %v %v", done, err)
	}
	if done, err := parseAck([]byte{200, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0}, 7); !done || err == nil {
		t.Fatalf("malformed: %v %v", done, err)
	}
}
