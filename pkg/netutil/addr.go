package netutil

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Scope is an address scope (RT_SCOPE_*, iproute2's names).
type Scope uint8

// The address scopes keepalived's virtual_ipaddress accepts.
const (
	ScopeGlobal  Scope = unix.RT_SCOPE_UNIVERSE
	ScopeSite    Scope = unix.RT_SCOPE_SITE
	ScopeLink    Scope = unix.RT_SCOPE_LINK
	ScopeHost    Scope = unix.RT_SCOPE_HOST
	ScopeNowhere Scope = unix.RT_SCOPE_NOWHERE
)

// String returns iproute2's name for the scope, or its number.
func (s Scope) String() string {
	switch s {
	case ScopeGlobal:
		return "global"
	case ScopeSite:
		return "site"
	case ScopeLink:
		return "link"
	case ScopeHost:
		return "host"
	case ScopeNowhere:
		return "nowhere"
	}
	return strconv.Itoa(int(s))
}

// ParseScope reads a scope as keepalived and iproute2 write it: a name
// ("global", "site", "link", "host", "nowhere"), or a number 0 to 255.
// The empty string is global.
func ParseScope(s string) (Scope, error) {
	switch s {
	case "", "global", "universe":
		return ScopeGlobal, nil
	case "site":
		return ScopeSite, nil
	case "link":
		return ScopeLink, nil
	case "host":
		return ScopeHost, nil
	case "nowhere":
		return ScopeNowhere, nil
	}
	n, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return 0, fmt.Errorf("bad scope %q", s)
	}
	return Scope(n), nil
}

// forever is the kernel's infinite address lifetime.
const forever = math.MaxUint32

// Lifetime is an IPv6 preferred lifetime (keepalived's preferred_lft). The
// zero value is keepalived's default: 0 for a /128, which deprecates the
// address so that it is not picked as a source (RFC 3484), and forever
// otherwise.
type Lifetime struct {
	set  bool
	secs uint32
}

// LifetimeSeconds is a preferred lifetime of s seconds; 0 deprecates.
func LifetimeSeconds(s uint32) Lifetime { return Lifetime{set: true, secs: s} }

// LifetimeForever is an infinite preferred lifetime ("preferred_lft
// forever").
func LifetimeForever() Lifetime { return Lifetime{set: true, secs: forever} }

// IsDefault reports whether l is the zero value.
func (l Lifetime) IsDefault() bool { return !l.set }

// String returns "default", "forever" or the seconds.
func (l Lifetime) String() string {
	switch {
	case !l.set:
		return "default"
	case l.secs == forever:
		return "forever"
	}
	return strconv.FormatUint(uint64(l.secs), 10)
}

// seconds resolves the default for a prefix length.
func (l Lifetime) seconds(prefixLen int) uint32 {
	if l.set {
		return l.secs
	}
	if prefixLen == 128 {
		return 0
	}
	return forever
}

// Address is a virtual address with every attribute of keepalived's
// virtual_ipaddress syntax:
//
//	<IPADDR>[/<MASK>] [brd <IPADDR>] [dev <STRING>] [scope <SCOPE>]
//	    [label <LABEL>] [peer <IPADDR>] [home] [-nodad] [mngtmpaddr]
//	    [noprefixroute] [autojoin] [preferred_lft nn|forever]
//
// It is comparable: equal values mean the same kernel address.
type Address struct {
	// IfIndex is the interface (dev).
	IfIndex int
	// Prefix is the address and its prefix length (keepalived's default
	// length is /32 or /128). With Peer set it must be a full-length
	// prefix; Peer's length is used instead, as in keepalived.
	Prefix netip.Prefix
	// Broadcast (brd), IPv4 only. Zero: none, as keepalived.
	Broadcast netip.Addr
	// Peer is the other end of a point-to-point address (peer).
	Peer netip.Prefix
	// Scope is IPv4 only: keepalived ignores it on IPv6.
	Scope Scope
	// Label is IPv4 only, at most 15 bytes ("eth0:1").
	Label string
	// DAD runs duplicate address detection on an IPv6 address
	// (keepalived's "-nodad"). By default IFA_F_NODAD is set.
	DAD bool
	// Home (home), ManageTempAddr (mngtmpaddr) are IPv6 only and ignored
	// on IPv4, as the kernel does; NoPrefixRoute (noprefixroute) and
	// AutoJoin (autojoin) apply to both.
	Home, ManageTempAddr, NoPrefixRoute, AutoJoin bool
	// PreferredLft is IPv6 only (preferred_lft).
	PreferredLft Lifetime
}

// Validate reports what makes a unusable.
func (a Address) Validate() error {
	if a.IfIndex <= 0 {
		return errors.New("no interface index")
	}
	ip := a.Prefix.Addr()
	if !a.Prefix.IsValid() || ip.Is4In6() || ip.Zone() != "" {
		return fmt.Errorf("bad address prefix %v", a.Prefix)
	}
	if a.Peer.IsValid() {
		if a.Peer.Addr().Is4() != ip.Is4() || a.Peer.Addr().Is4In6() {
			return fmt.Errorf("peer %v is not of the address's family", a.Peer)
		}
		if a.Prefix.Bits() != ip.BitLen() {
			return fmt.Errorf("address %v has a prefix length and a peer (%v)", a.Prefix, a.Peer)
		}
	}
	if ip.Is6() {
		switch {
		case a.Broadcast.IsValid():
			return fmt.Errorf("broadcast %v on ipv6 address %v", a.Broadcast, ip)
		case a.Label != "":
			return fmt.Errorf("label %q on ipv6 address %v", a.Label, ip)
		case a.Scope != ScopeGlobal:
			return fmt.Errorf("scope %v on ipv6 address %v", a.Scope, ip)
		}
	} else {
		if a.Broadcast.IsValid() && !a.Broadcast.Is4() {
			return fmt.Errorf("broadcast %v is not ipv4", a.Broadcast)
		}
		if a.Broadcast.IsValid() && a.Peer.IsValid() {
			return errors.New("both broadcast and peer")
		}
		if len(a.Label) > unix.IFNAMSIZ-1 || strings.IndexByte(a.Label, 0) >= 0 {
			return fmt.Errorf("bad label %q", a.Label)
		}
	}
	return nil
}

// String renders a in keepalived's (and ip-address's) words.
func (a Address) String() string {
	var b strings.Builder
	b.WriteString(a.Prefix.String())
	if a.Broadcast.IsValid() {
		b.WriteString(" brd " + a.Broadcast.String())
	}
	fmt.Fprintf(&b, " dev %d", a.IfIndex)
	if a.Scope != ScopeGlobal {
		b.WriteString(" scope " + a.Scope.String())
	}
	if a.Label != "" {
		b.WriteString(" label " + a.Label)
	}
	if a.Peer.IsValid() {
		b.WriteString(" peer " + a.Peer.String())
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{a.Home, "home"}, {a.DAD, "-nodad"}, {a.ManageTempAddr, "mngtmpaddr"}, {a.NoPrefixRoute, "noprefixroute"}, {a.AutoJoin, "autojoin"}} {
		if f.on {
			b.WriteString(" " + f.name)
		}
	}
	if !a.PreferredLft.IsDefault() {
		b.WriteString(" preferred_lft " + a.PreferredLft.String())
	}
	return b.String()
}

// prefixLen is the length the kernel records: the peer's when there is one.
func (a Address) prefixLen() int {
	if a.Peer.IsValid() {
		return a.Peer.Bits()
	}
	return a.Prefix.Bits()
}

// netlinkAddr converts a to the library's form, with keepalived's
// defaults: no computed IPv4 broadcast, IFA_F_NODAD and the /128
// preferred lifetime on IPv6.
func (a Address) netlinkAddr() *netlink.Addr {
	ip := a.Prefix.Addr()
	bits := ip.BitLen()
	na := &netlink.Addr{
		IPNet:     &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(a.Prefix.Bits(), bits)},
		LinkIndex: a.IfIndex,
		Scope:     int(a.Scope),
		Label:     a.Label,
	}
	if a.Peer.IsValid() {
		na.Peer = &net.IPNet{IP: a.Peer.Addr().AsSlice(), Mask: net.CIDRMask(a.Peer.Bits(), bits)}
	}
	var flags int
	if a.NoPrefixRoute {
		flags |= unix.IFA_F_NOPREFIXROUTE
	}
	if a.AutoJoin {
		flags |= unix.IFA_F_MCAUTOJOIN
	}
	if ip.Is4() {
		na.Broadcast = net.IPv4zero // the library computes one unless told "none"
		if a.Broadcast.IsValid() {
			na.Broadcast = a.Broadcast.AsSlice()
		}
	} else {
		if !a.DAD {
			flags |= unix.IFA_F_NODAD
		}
		if a.Home {
			flags |= unix.IFA_F_HOMEADDRESS
		}
		if a.ManageTempAddr {
			flags |= unix.IFA_F_MANAGETEMPADDR
		}
		if pref := a.PreferredLft.seconds(a.prefixLen()); pref != forever {
			na.PreferedLft = int(pref)
			na.ValidLft = forever
		}
	}
	na.Flags = flags
	return na
}

// AddAddr adds a to its interface. An address already there (EEXIST) is
// not an error; whether it was there is not reported: see VIPManager.
func (h *Host) AddAddr(a Address) error {
	err := h.addAddr(a)
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

func (h *Host) addAddr(a Address) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("add address %v: %w", a, err)
	}
	if err := h.handle().AddrAdd(nil, a.netlinkAddr()); err != nil {
		return fmt.Errorf("add address %v: %w", a, err)
	}
	return nil
}

// DelAddr removes a from its interface. An address or interface already
// gone (EADDRNOTAVAIL, ENODEV) is not an error.
func (h *Host) DelAddr(a Address) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("delete address %v: %w", a, err)
	}
	err := h.handle().AddrDel(nil, a.netlinkAddr())
	if err == nil || errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.ENODEV) {
		return nil
	}
	return fmt.Errorf("delete address %v: %w", a, err)
}

// AddResult says what VIPManager.Add found and did.
type AddResult uint8

// The results of Add.
const (
	// AddResultAdded: the address was added (or re-added after someone
	// removed it, or replaced because its attributes changed). It is ours.
	AddResultAdded AddResult = iota + 1
	// AddResultPresent: it is ours and already there, unchanged.
	AddResultPresent
	// AddResultForeign: it was on the interface before we added it. It is
	// not ours: it is left as it is and never removed by the manager.
	AddResultForeign
)

// String returns the result's log name.
func (r AddResult) String() string {
	switch r {
	case AddResultAdded:
		return "added"
	case AddResultPresent:
		return "present"
	case AddResultForeign:
		return "foreign"
	}
	return fmt.Sprintf("add_result(%d)", uint8(r))
}

type addrKey struct {
	ifindex int
	ip      netip.Addr
}

func (a Address) key() addrKey { return addrKey{a.IfIndex, a.Prefix.Addr()} }

// VIPManager adds and removes virtual addresses and removes only its own:
// it remembers what it added, and an address that was already on the
// interface (the same IP on the same interface, whatever its prefix) is
// not its own and is never removed. Add and Remove are idempotent. Safe
// for concurrent use.
type VIPManager struct {
	host *Host
	log  *slog.Logger

	mu      sync.Mutex
	owned   map[addrKey]Address
	foreign map[addrKey]bool
}

// NewVIPManager returns a manager acting through host (nil: the calling
// thread's namespace, per call). log gets one line per foreign address
// found; nil discards.
func NewVIPManager(host *Host, log *slog.Logger) *VIPManager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &VIPManager{host: host, log: log, owned: map[addrKey]Address{}, foreign: map[addrKey]bool{}}
}

// Add puts a on its interface unless it is there already.
func (m *VIPManager) Add(a Address) (AddResult, error) {
	if err := a.Validate(); err != nil {
		return 0, fmt.Errorf("add vip %v: %w", a, err)
	}
	k := a.key()
	m.mu.Lock()
	defer m.mu.Unlock()
	present, err := m.host.HasAddr(a.IfIndex, k.ip)
	if err != nil {
		return 0, fmt.Errorf("add vip %v: %w", a, err)
	}
	old, ours := m.owned[k]
	switch {
	case ours && present && old == a:
		return AddResultPresent, nil
	case ours && present:
		// Same IP, other attributes (a reload changed them): replace.
		if err := m.host.DelAddr(old); err != nil {
			return 0, fmt.Errorf("replace vip %v: %w", a, err)
		}
		delete(m.owned, k)
	case ours:
		// Removed behind our back: put it back, as keepalived does.
	case present:
		if !m.foreign[k] {
			m.foreign[k] = true
			m.log.Info("vip already on the interface before lbd added it: not lbd's, left alone",
				"vip", k.ip, "ifindex", k.ifindex)
		}
		return AddResultForeign, nil
	}
	err = m.host.addAddr(a)
	if errors.Is(err, unix.EEXIST) {
		// Someone added it between our look and our add.
		delete(m.owned, k)
		m.foreign[k] = true
		return AddResultForeign, nil
	}
	if err != nil {
		return 0, fmt.Errorf("add vip: %w", err)
	}
	delete(m.foreign, k)
	m.owned[k] = a
	return AddResultAdded, nil
}

// Remove deletes the address with a's interface and IP if it is ours, and
// reports whether it deleted one. A foreign address is forgotten (a later
// Add looks again) but stays; one already gone is fine.
func (m *VIPManager) Remove(a Address) (bool, error) {
	k := a.key()
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.foreign, k)
	old, ours := m.owned[k]
	if !ours {
		return false, nil
	}
	present, err := m.host.HasAddr(old.IfIndex, k.ip)
	if err != nil && !errors.Is(err, ErrLinkNotFound) {
		return false, fmt.Errorf("remove vip %v: %w", old, err)
	}
	if present {
		if err := m.host.DelAddr(old); err != nil {
			return false, fmt.Errorf("remove vip: %w", err)
		}
	}
	delete(m.owned, k)
	return present, nil
}

// RemoveAll removes every address of ours (shutdown) and returns every
// error met; what could not be removed stays ours.
func (m *VIPManager) RemoveAll() error {
	m.mu.Lock()
	owned := make([]Address, 0, len(m.owned))
	for _, a := range m.owned {
		owned = append(owned, a)
	}
	m.mu.Unlock()
	var errs []error
	for _, a := range owned {
		if _, err := m.Remove(a); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Adopt makes a ours whether or not it is on the interface, so that Remove
// deletes it: for addresses the daemon knows it left behind (keepalived
// deletes every configured VIP it finds at startup).
func (m *VIPManager) Adopt(a Address) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("adopt vip %v: %w", a, err)
	}
	k := a.key()
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.foreign, k)
	m.owned[k] = a
	return nil
}

// Owns reports whether ip on ifindex is ours.
func (m *VIPManager) Owns(ifindex int, ip netip.Addr) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.owned[addrKey{ifindex, ip}]
	return ok
}

// Present reports whether ip is configured on ifindex, ours or not.
func (m *VIPManager) Present(ifindex int, ip netip.Addr) (bool, error) {
	return m.host.HasAddr(ifindex, ip)
}
