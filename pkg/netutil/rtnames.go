package netutil

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// DefaultRTNamesDirs are where iproute2 keeps its name files: the
// distribution's defaults (iproute2 6.5 and later), then the local ones,
// which win.
var DefaultRTNamesDirs = []string{"/usr/share/iproute2", "/etc/iproute2"}

// RTNames resolves the names iproute2 and keepalived accept for routing
// tables, route protocols, realms, DS field (TOS) values, scopes and
// interface groups: built-in names first, then the files rt_tables (and
// rt_tables.d/*.conf), rt_protos (and rt_protos.d/*.conf), rt_realms,
// rt_dsfield, rt_scopes and group, as keepalived's rttables.c reads them.
// Every lookup also takes a number. A nil *RTNames knows the built-in
// names only. Lines that do not parse are skipped, as iproute2 does.
type RTNames struct {
	tables, protos, realms, dsfield, scopes, groups map[string]uint32
}

var (
	builtinTables = map[string]uint32{"unspec": 0, "default": 253, "main": 254, "local": 255}
	// The kernel's RTPROT_* names (include/uapi/linux/rtnetlink.h) with
	// iproute2's spelling.
	builtinProtos = map[string]uint32{
		"unspec": 0, "redirect": 1, "kernel": 2, "boot": 3, "static": 4,
		"gated": 8, "ra": 9, "mrt": 10, "zebra": 11, "bird": 12, "dnrouted": 13,
		"xorp": 14, "ntk": 15, "dhcp": 16, "keepalived": 18, "babel": 42,
		"openr": 99, "bgp": 186, "isis": 187, "ospf": 188, "rip": 189, "eigrp": 192,
	}
	builtinRealms = map[string]uint32{"cosmos": 0}
	builtinScopes = map[string]uint32{"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
	builtinGroups = map[string]uint32{"default": 0}
)

// LoadRTNames reads the name files from dirs in order (later files win);
// nil dirs means DefaultRTNamesDirs. Missing directories and files are
// not errors.
func LoadRTNames(dirs ...string) (*RTNames, error) {
	if dirs == nil {
		dirs = DefaultRTNamesDirs
	}
	n := &RTNames{
		tables:  clone(builtinTables),
		protos:  clone(builtinProtos),
		realms:  clone(builtinRealms),
		dsfield: map[string]uint32{},
		scopes:  clone(builtinScopes),
		groups:  clone(builtinGroups),
	}
	for _, dir := range dirs {
		for _, f := range []struct {
			name string
			m    map[string]uint32
			d    bool // also NAME.d/*.conf
		}{
			{"rt_tables", n.tables, true},
			{"rt_protos", n.protos, true},
			{"rt_realms", n.realms, false},
			{"rt_dsfield", n.dsfield, false},
			{"rt_scopes", n.scopes, false},
			{"group", n.groups, false},
		} {
			files := []string{filepath.Join(dir, f.name)}
			if f.d {
				more, err := filepath.Glob(filepath.Join(dir, f.name+".d", "*.conf"))
				if err != nil {
					return nil, fmt.Errorf("load iproute2 names: %w", err)
				}
				sort.Strings(more)
				files = append(files, more...)
			}
			for _, p := range files {
				if err := readNameFile(p, f.m); err != nil {
					return nil, fmt.Errorf("load iproute2 names: %w", err)
				}
			}
		}
	}
	return n, nil
}

func clone(m map[string]uint32) map[string]uint32 {
	c := make(map[string]uint32, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// readNameFile reads "NUMBER NAME" lines into m; '#' starts a comment.
func readNameFile(path string, m map[string]uint32) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		w := strings.Fields(line)
		if len(w) < 2 {
			continue
		}
		v, err := strconv.ParseUint(w[0], 0, 32)
		if err != nil {
			continue
		}
		m[w[1]] = uint32(v)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

func (n *RTNames) lookup(what string, s string, pick func(*RTNames) map[string]uint32, builtin map[string]uint32, max uint64) (uint32, error) {
	m := builtin
	if n != nil {
		m = pick(n)
	}
	if v, ok := m[s]; ok && uint64(v) <= max {
		return v, nil
	}
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil || v > max {
		return 0, fmt.Errorf("bad %s %q", what, s)
	}
	return uint32(v), nil
}

// Table resolves a routing table name or number (1 to 2^32-1; "unspec"
// and 0 are refused: no route or rule lives there).
func (n *RTNames) Table(s string) (uint32, error) {
	v, err := n.lookup("table", s, func(n *RTNames) map[string]uint32 { return n.tables }, builtinTables, math.MaxUint32)
	if err == nil && v == 0 {
		return 0, fmt.Errorf("bad table %q: table 0 (unspec)", s)
	}
	return v, err
}

// Protocol resolves a route protocol name or number (0 to 255).
func (n *RTNames) Protocol(s string) (uint8, error) {
	v, err := n.lookup("protocol", s, func(n *RTNames) map[string]uint32 { return n.protos }, builtinProtos, math.MaxUint8)
	return uint8(v), err
}

// DSField resolves a TOS / DS field value: a name of rt_dsfield or a
// number 0 to 255.
func (n *RTNames) DSField(s string) (uint8, error) {
	v, err := n.lookup("tos", s, func(n *RTNames) map[string]uint32 { return n.dsfield }, nil, math.MaxUint8)
	return uint8(v), err
}

// Scope resolves a scope name (built-in or rt_scopes) or number.
func (n *RTNames) Scope(s string) (Scope, error) {
	v, err := n.lookup("scope", s, func(n *RTNames) map[string]uint32 { return n.scopes }, builtinScopes, math.MaxUint8)
	return Scope(v), err
}

// Group resolves an interface group name (group file) or number.
func (n *RTNames) Group(s string) (uint32, error) {
	return n.lookup("group", s, func(n *RTNames) map[string]uint32 { return n.groups }, builtinGroups, math.MaxInt32)
}

// Realms resolves "TO" or "FROM/TO", each a realm name or a number 0 to
// 65535, into the kernel's form (FROM in the upper 16 bits, TO in the
// lower).
func (n *RTNames) Realms(s string) (uint32, error) {
	realm := func(r string) (uint32, error) {
		return n.lookup("realm", r, func(n *RTNames) map[string]uint32 { return n.realms }, builtinRealms, math.MaxUint16)
	}
	from, to, both := strings.Cut(s, "/")
	if !both {
		return realm(s)
	}
	f, err := realm(from)
	if err != nil {
		return 0, fmt.Errorf("bad realms %q: %w", s, err)
	}
	t, err := realm(to)
	if err != nil {
		return 0, fmt.Errorf("bad realms %q: %w", s, err)
	}
	return f<<16 | t, nil
}

// ipProtos are the IP protocol names ip-rule's ipproto accepts most
// often (iproute2 asks getprotobyname; these are /etc/protocols' names).
var ipProtos = map[string]uint8{
	"icmp": 1, "igmp": 2, "ipip": 4, "tcp": 6, "egp": 8, "udp": 17, "dccp": 33,
	"ipv6": 41, "rsvp": 46, "gre": 47, "esp": 50, "ah": 51, "ipv6-icmp": 58, "icmpv6": 58,
	"ospf": 89, "pim": 103, "vrrp": 112, "l2tp": 115, "sctp": 132, "udplite": 136, "mpls-in-ip": 137,
}

// ParseIPProto reads an IP protocol: a name (case-insensitive: "UDP",
// "tcp", "ipv6-icmp") or a number 0 to 255.
func ParseIPProto(s string) (uint8, error) {
	if v, ok := ipProtos[strings.ToLower(s)]; ok {
		return v, nil
	}
	v, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return 0, fmt.Errorf("bad ip protocol %q", s)
	}
	return uint8(v), nil
}
