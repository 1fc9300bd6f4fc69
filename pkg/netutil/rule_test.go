package netutil

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
)

// kernelRule is a rule as the netlink library reads it back. What it
// does not parse (the action, FRA_L3MDEV) is checked in `ip rule` output.
type kernelRule struct {
	Priority, Table, Goto, Flow      int
	Tos                              uint
	Src, Dst                         string
	Mark                             uint32
	Mask                             uint32
	IIf, OIf                         string
	Invert                           bool
	SuppressPrefixlen, SuppressGroup int
	UIDRange, Sport, Dport           string
	IPProto                          int
	Protocol                         uint8
	TunID                            uint
}

func toKernelRule(r netlink.Rule) kernelRule {
	k := kernelRule{
		Priority: r.Priority, Table: r.Table, Goto: r.Goto, Flow: r.Flow, Tos: r.Tos, Mark: r.Mark,
		IIf: r.IifName, OIf: r.OifName, Invert: r.Invert, SuppressPrefixlen: r.SuppressPrefixlen,
		SuppressGroup: r.SuppressIfgroup, IPProto: r.IPProto, Protocol: r.Protocol,
	}
	if r.Mask != nil {
		k.Mask = *r.Mask
	}
	// The library reads the big-endian FRA_TUN_ID in host order.
	var tun [8]byte
	binary.NativeEndian.PutUint64(tun[:], uint64(r.TunID))
	k.TunID = uint(binary.BigEndian.Uint64(tun[:]))
	if r.Src != nil {
		k.Src = r.Src.String()
	}
	if r.Dst != nil {
		k.Dst = r.Dst.String()
	}
	if r.UIDRange != nil {
		k.UIDRange = fmtRange(uint64(r.UIDRange.Start), uint64(r.UIDRange.End))
	}
	if r.Sport != nil {
		k.Sport = fmtRange(uint64(r.Sport.Start), uint64(r.Sport.End))
	}
	if r.Dport != nil {
		k.Dport = fmtRange(uint64(r.Dport.Start), uint64(r.Dport.End))
	}
	return k
}

func fmtRange(a, b uint64) string { return fmt.Sprintf("%d-%d", a, b) }

// kernelRulesAt lists n's rules of family at priority prio.
func kernelRulesAt(t *testing.T, n *testNS, fam Family, prio uint32) []kernelRule {
	t.Helper()
	nf := netlink.FAMILY_V4
	if fam == FamilyIPv6 {
		nf = netlink.FAMILY_V6
	}
	list, err := n.nl.RuleList(nf)
	if err != nil {
		t.Fatal(err)
	}
	var out []kernelRule
	for _, r := range list {
		if r.Priority == int(prio) {
			out = append(out, toKernelRule(r))
		}
	}
	return out
}

// none is what the library reports for an absent optional attribute.
const none = -1

func TestRuleAttributes(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	h := openHost(t, p.a)
	keepalived := uint8(ProtoKeepalived)
	base := kernelRule{Goto: none, Flow: none, SuppressPrefixlen: none, SuppressGroup: none, Protocol: keepalived}
	with := func(f func(*kernelRule)) kernelRule { k := base; f(&k); return k }
	for _, tc := range []struct {
		name string
		rule Rule
		want kernelRule
		text string // in `ip -d rule` output
	}{
		{"from, table",
			Rule{Family: FamilyIPv4, From: addrPrefix("192.0.2.0/24"), Table: 1, Priority: ptr[uint32](100)},
			with(func(k *kernelRule) { k.Priority, k.Src, k.Table = 100, "192.0.2.0/24", 1 }), "lookup 1 proto keepalived"},
		{"every ipv4 selector",
			Rule{Family: FamilyIPv4, From: addrPrefix("198.51.100.0/24"), To: addrPrefix("198.51.101.0/26"), Table: 100,
				IIf: p.aName, OIf: "lo", TOS: 4, FWMark: ptr[uint32](24), FWMask: ptr[uint32](12), Priority: ptr[uint32](101),
				Realms: 30<<16 | 20},
			with(func(k *kernelRule) {
				k.Priority, k.Src, k.Dst, k.Table, k.IIf, k.OIf, k.Tos, k.Mark, k.Mask, k.Flow =
					101, "198.51.100.0/24", "198.51.101.0/26", 100, p.aName, "lo", 4, 24, 12, 30<<16|20
			}), "fwmark 0x18/0xc"},
		{"not, goto",
			Rule{Family: FamilyIPv4, Not: true, From: addrPrefix("198.51.102.0/24"), Action: RuleGoto, Goto: 200, Priority: ptr[uint32](102)},
			with(func(k *kernelRule) {
				k.Priority, k.Invert, k.Src, k.Goto = 102, true, "198.51.102.0/24", 200
			}), "not from 198.51.102.0/24 goto 200"},
		{"ipv6 uidrange, big table",
			Rule{Family: FamilyIPv6, To: addrPrefix("2001:db8:1:2::/64"), From: addrPrefix("2001:db8:2::/64"), Table: 6908,
				UIDRange: &UIDRange{10000, 19999}, Priority: ptr[uint32](103)},
			with(func(k *kernelRule) {
				k.Priority, k.Dst, k.Src, k.Table, k.UIDRange = 103, "2001:db8:1:2::/64", "2001:db8:2::/64", 6908, "10000-19999"
			}), "uidrange 10000-19999"},
		{"l3mdev, protocol, ipproto, ports",
			Rule{Family: FamilyIPv6, To: addrPrefix("2001:db8:3::/64"), L3MDev: true, Protocol: 12, IPProto: 17,
				SPort: &PortRange{10, 20}, DPort: &PortRange{20, 30}, Priority: ptr[uint32](104)},
			with(func(k *kernelRule) {
				k.Priority, k.Dst, k.Protocol, k.IPProto, k.Sport, k.Dport = 104, "2001:db8:3::/64", 12, 17, "10-20", "20-30"
			}), "lookup [l3mdev-table]"},
		{"blackhole",
			Rule{Family: FamilyIPv4, Action: RuleBlackhole, Priority: ptr[uint32](105)},
			with(func(k *kernelRule) { k.Priority = 105 }), "blackhole"},
		{"unreachable",
			Rule{Family: FamilyIPv4, Action: RuleUnreachable, Priority: ptr[uint32](106)},
			with(func(k *kernelRule) { k.Priority = 106 }), "unreachable"},
		{"prohibit",
			Rule{Family: FamilyIPv6, Action: RuleProhibit, Priority: ptr[uint32](107)},
			with(func(k *kernelRule) { k.Priority = 107 }), "prohibit"},
		{"nop",
			Rule{Family: FamilyIPv4, Action: RuleNop, Priority: ptr[uint32](108)},
			with(func(k *kernelRule) { k.Priority = 108 }), "nop"},
		{"suppress_prefixlength 0",
			Rule{Family: FamilyIPv4, From: addrPrefix("192.0.2.0/24"), SuppressPrefixLen: ptr(0), Priority: ptr[uint32](109)},
			with(func(k *kernelRule) { k.Priority, k.Src, k.Table, k.SuppressPrefixlen = 109, "192.0.2.0/24", 254, 0 }),
			"suppress_prefixlength 0"},
		{"suppress_ifgroup",
			Rule{Family: FamilyIPv4, From: addrPrefix("192.0.2.0/24"), SuppressIfGroup: ptr[uint32](5), Priority: ptr[uint32](110)},
			with(func(k *kernelRule) { k.Priority, k.Src, k.Table, k.SuppressGroup = 110, "192.0.2.0/24", 254, 5 }),
			"suppress_ifgroup 5"},
		{"tun_id",
			Rule{Family: FamilyIPv4, From: addrPrefix("192.0.2.0/24"), TunID: ptr[uint64](7), Table: 5, Priority: ptr[uint32](111)},
			with(func(k *kernelRule) { k.Priority, k.Src, k.Table, k.TunID = 111, "192.0.2.0/24", 5, 7 }), "tun_id 7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewRuleManager(h, nil)
			res, err := m.Add(tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			if res != AddResultAdded {
				t.Fatalf("Add = %v, want added", res)
			}
			got := kernelRulesAt(t, p.a, tc.rule.Family, *tc.rule.Priority)
			if diff := cmp.Diff([]kernelRule{tc.want}, got); diff != "" {
				t.Fatalf("read back (-want +got):\n%s", diff)
			}
			fam := "-4"
			if tc.rule.Family == FamilyIPv6 {
				fam = "-6"
			}
			text := p.a.ip(t, fam, "-d", "rule", "show", "pref", strconv.FormatUint(uint64(*tc.rule.Priority), 10))
			if !strings.Contains(text, tc.text) {
				t.Errorf("ip rule shows %q, want %q in it", text, tc.text)
			}
			removed, err := m.Remove(tc.rule)
			if err != nil || !removed {
				t.Fatalf("Remove = %v, %v", removed, err)
			}
			if got := kernelRulesAt(t, p.a, tc.rule.Family, *tc.rule.Priority); len(got) != 0 {
				t.Fatalf("still there after Remove: %+v", got)
			}
		})
	}
}

// TestRuleOwnership: only lbd's own rules are removed.
func TestRuleOwnership(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	h := openHost(t, p.a)
	m := NewRuleManager(h, nil)
	mustAdd := func(r Rule, want AddResult) {
		t.Helper()
		got, err := m.Add(r)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("Add(%v) = %v, want %v", r, got, want)
		}
	}
	mustRemove := func(r Rule, want bool) {
		t.Helper()
		got, err := m.Remove(r)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("Remove(%v) = %v, want %v", r, got, want)
		}
	}
	count := func(prio uint32) int { t.Helper(); return len(kernelRulesAt(t, p.a, FamilyIPv4, prio)) }

	// Identical rule there first: foreign, left alone.
	p.a.ip(t, "rule", "add", "from", "192.0.2.0/24", "table", "10", "pref", "200", "proto", "keepalived")
	pre := Rule{Family: FamilyIPv4, From: addrPrefix("192.0.2.0/24"), Table: 10, Priority: ptr[uint32](200)}
	mustAdd(pre, AddResultForeign)
	mustRemove(pre, false)
	if err := m.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	if count(200) != 1 {
		t.Fatal("foreign rule removed")
	}
	// Same selector and priority, another table (theirs): both exist, ours
	// alone is removed.
	other := pre
	other.Table = 11
	mustAdd(other, AddResultAdded)
	if count(200) != 2 {
		t.Fatal("ours not added beside theirs")
	}
	mustRemove(other, true)
	if got := kernelRulesAt(t, p.a, FamilyIPv4, 200); len(got) != 1 || got[0].Table != 10 {
		t.Fatalf("after remove: %+v, want theirs alone", got)
	}
	// Ours: idempotent; removed behind our back: put back.
	r := Rule{Family: FamilyIPv4, To: addrPrefix("198.51.100.0/24"), Table: 12, Priority: ptr[uint32](201)}
	mustAdd(r, AddResultAdded)
	mustAdd(r, AddResultPresent)
	p.a.ip(t, "rule", "del", "pref", "201")
	mustAdd(r, AddResultAdded)
	// Adopt a leftover.
	p.a.ip(t, "rule", "add", "to", "198.51.101.0/24", "table", "13", "pref", "202", "proto", "keepalived")
	left := Rule{Family: FamilyIPv4, To: addrPrefix("198.51.101.0/24"), Table: 13, Priority: ptr[uint32](202)}
	if err := m.Adopt(left); err != nil {
		t.Fatal(err)
	}
	if !m.Owns(left) || m.Owns(pre) {
		t.Fatal("ownership wrong")
	}
	if err := m.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	for prio, want := range map[uint32]int{200: 1, 201: 0, 202: 0} {
		if got := count(prio); got != want {
			t.Errorf("after RemoveAll, %d rules at %d, want %d", got, prio, want)
		}
	}
	if _, err := m.Add(Rule{Family: FamilyIPv4, Action: RuleGoto}); err == nil {
		t.Fatal("goto without a target added")
	}
}
