package netutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrVMACConflict reports an interface that has a VMAC's name but is not
// a VMAC lbd may take over: it is left untouched.
var ErrVMACConflict = errors.New("interface exists and is not a vmac")

// addrGenModeNone is IN6_ADDR_GEN_MODE_NONE (include/uapi/linux/if_link.h):
// no IPv6 link-local address generated.
const addrGenModeNone = 1

// DefaultVMACPrefix is keepalived's default vmac_prefix.
const DefaultVMACPrefix = "vrrp"

// VirtualMAC returns the virtual router MAC address for vrid: 00-00-5E-
// 00-01-{VRID} for IPv4 (RFC 3768 7.3, RFC 5798 7.3) and 00-00-5E-00-02-
// {VRID} for IPv6 (RFC 5798 7.3).
func VirtualMAC(vrid uint8, family Family) net.HardwareAddr {
	kind := byte(0x01)
	if family == FamilyIPv6 {
		kind = 0x02
	}
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, kind, vrid}
}

// isVirtualRouterMAC reports a MAC of the form VirtualMAC returns.
func isVirtualRouterMAC(mac net.HardwareAddr) bool {
	return len(mac) == ethAddrLen && mac[0] == 0 && mac[1] == 0 && mac[2] == 0x5e && mac[3] == 0 &&
		(mac[4] == 0x01 || mac[4] == 0x02)
}

// ParseVMACAddr reads use_vmac's MAC address: six octets, or five with
// vrid as the sixth (keepalived.conf(5), use_vmac).
func ParseVMACAddr(s string, vrid uint8) (net.HardwareAddr, error) {
	if strings.Count(s, ":") == 4 {
		s += ":" + strconv.FormatUint(uint64(vrid), 16)
	}
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != ethAddrLen {
		return nil, fmt.Errorf("bad vmac address %q", s)
	}
	return mac, nil
}

// VMACName returns keepalived's name for a VMAC: PREFIX.VRID, or with a
// tag PREFIX<TAG>.VRID, the prefix shortened so that the name fits in 15
// bytes (keepalived 2.2.7's "%.*s.%d" and "%.*s%d.%d"). keepalived names
// an instance's VMAC VMACName(vmac_prefix, "", vrid) and, when an
// instance earlier in the configuration already has that name, tags it:
// "6" for an IPv6 instance, "1" for an IPv4 one (seen with keepalived
// 2.2.7: vrrp.70 then vrrp6.70 or vrrp1.70).
func VMACName(prefix, tag string, vrid uint8) string {
	suffix := tag + "." + strconv.Itoa(int(vrid))
	if max := unix.IFNAMSIZ - 1 - len(suffix); len(prefix) > max {
		prefix = prefix[:max]
	}
	return prefix + suffix
}

// VMACOptions describes one VMAC: a macvlan interface (private mode) on a
// base interface, with the virtual router MAC, carrying the VIPs.
type VMACOptions struct {
	// BaseIndex is the interface the VMAC sits on: the instance's
	// interface, or a VIP's dev for use_vmac on a VIP.
	BaseIndex int
	// VRID is the virtual router, 1 to 255.
	VRID uint8
	// Family is the instance's address family.
	Family Family
	// Name is the interface name; "" is VMACName(DefaultVMACPrefix, "",
	// VRID).
	Name string
	// MAC overrides VirtualMAC(VRID, Family) (use_vmac NAME MAC).
	MAC net.HardwareAddr
	// XmitBase sends and receives adverts on the base interface instead
	// of the VMAC (vmac_xmit_base).
	XmitBase bool
	// KeepIPv6 leaves IPv6 on for an IPv4 VMAC, because IPv6 eVIPs go on
	// it. Otherwise IPv6 is disabled there, as keepalived does.
	KeepIPv6 bool
	// LinkLocal is an IPv6 VMAC's link-local address (the instance's
	// mcast_src_ip, if link-local). Zero means the base interface's, or
	// if it has none one made from the base's MAC (EUI-64), as keepalived
	// does.
	LinkLocal netip.Addr
}

func (o VMACOptions) name() string {
	if o.Name != "" {
		return o.Name
	}
	return VMACName(DefaultVMACPrefix, "", o.VRID)
}

func (o VMACOptions) mac() net.HardwareAddr {
	if o.MAC != nil {
		return o.MAC
	}
	return VirtualMAC(o.VRID, o.Family)
}

// Validate reports what makes o unusable.
func (o VMACOptions) Validate() error {
	name := o.name()
	switch {
	case o.BaseIndex <= 0:
		return errors.New("no base interface index")
	case o.VRID == 0:
		return errors.New("vrid 0")
	case !o.Family.valid():
		return fmt.Errorf("bad address family %v", o.Family)
	case len(name) > unix.IFNAMSIZ-1 || name == "." || name == ".." || strings.ContainsAny(name, "/: \t\n\x00"):
		return fmt.Errorf("bad interface name %q", name)
	}
	mac := o.mac()
	if len(mac) != ethAddrLen || mac[0]&1 != 0 || bytes.Equal(mac, make([]byte, ethAddrLen)) {
		return fmt.Errorf("mac %v is not an ethernet unicast address", mac)
	}
	if o.LinkLocal.IsValid() && (o.Family != FamilyIPv6 || !o.LinkLocal.Is6() || !o.LinkLocal.IsLinkLocalUnicast()) {
		return fmt.Errorf("link-local %v: not an ipv6 link-local address of an ipv6 vmac", o.LinkLocal)
	}
	if o.KeepIPv6 && o.Family == FamilyIPv6 {
		return errors.New("keep ipv6 on an ipv6 vmac")
	}
	return nil
}

// VMAC is a VMAC interface in place.
type VMAC struct {
	Name      string
	Index     int
	MAC       net.HardwareAddr
	BaseIndex int
	Family    Family
	XmitBase  bool
	// LinkLocal is an IPv6 VMAC's link-local address: the source of its
	// adverts.
	LinkLocal netip.Addr
}

// AdvertIndex is the interface the instance's adverts are sent and
// received on: the base with XmitBase, else the VMAC. A VRRP socket there
// needs a source address given for IPv4 (the base's primary address: the
// VMAC carries only VIPs, and keepalived sends from the base's address);
// an IPv6 VMAC has its link-local.
func (v VMAC) AdvertIndex() int {
	if v.XmitBase {
		return v.BaseIndex
	}
	return v.Index
}

// VMACResult says what VMACManager.Ensure found and did.
type VMACResult uint8

// The results of Ensure.
const (
	// VMACCreated: there was no such interface; it was created.
	VMACCreated VMACResult = iota + 1
	// VMACAdopted: a VMAC with that name, base and MAC was there (lbd's
	// or keepalived's, left by a previous run): it is ours now,
	// reconfigured and up.
	VMACAdopted
	// VMACReplaced: a VMAC with that name but another base or MAC was
	// there (an older configuration's): it was deleted and created anew.
	VMACReplaced
)

// String returns the result's log name.
func (r VMACResult) String() string {
	switch r {
	case VMACCreated:
		return "created"
	case VMACAdopted:
		return "adopted"
	case VMACReplaced:
		return "replaced"
	}
	return fmt.Sprintf("vmac_result(%d)", uint8(r))
}

// vmacRecord is a VMAC of ours and what it counts for.
type vmacRecord struct {
	v VMAC
	// ipv4 marks an IPv4 VMAC: it holds a reference on its base's ARP
	// settings and on the rp_filter change.
	ipv4 bool
}

// baseConf is a base interface's ARP settings as found, restored when
// its last IPv4 VMAC goes.
type baseConf struct {
	refs                 int
	name                 string
	arpIgnore, arpFilter string
}

// rpConf is the rp_filter state found when the first IPv4 VMAC came:
// all.rp_filter, default.rp_filter and every interface's value changed.
type rpConf struct {
	refs    int
	changed bool
	all     string
	def     string
	ifaces  map[string]string
}

// VMACManager creates, adopts and deletes VMAC interfaces the way
// keepalived does (vrrp_vmac.c, vrrp_if_config.c), and deletes only its
// own: the ones it created or adopted. Safe for concurrent use.
//
// An IPv4 VMAC gets arp_ignore=1 (answer ARP only for its own addresses),
// accept_local=1 (hear another router's adverts from an address that is
// local here), rp_filter=0 (receive adverts while it has no address) and
// promote_secondaries=1; its base gets arp_ignore=1 and arp_filter=1 so
// that it stops answering for the VIPs, restored when the base's last
// IPv4 VMAC goes. Because the kernel applies the larger of
// all.rp_filter and an interface's own, a non-zero all.rp_filter is
// moved onto every interface and default, and all.rp_filter set to 0,
// restored when the last IPv4 VMAC goes (keepalived.conf(5), use_vmac).
// IPv6 is disabled on an IPv4 VMAC unless KeepIPv6. An IPv6 VMAC gets
// no generated link-local (addr_gen_mode none: every router's would be
// the same, RFC 5798 7.4) but the base's, nodad and deprecated, as
// keepalived 2.2.7 does; it also gets arp_ignore=1, which keepalived
// omits (its IPv6 VMACs answer ARP for the host's IPv4 addresses with the
// virtual MAC).
type VMACManager struct {
	host *Host
	log  *slog.Logger

	mu    sync.Mutex
	owned map[string]*vmacRecord
	bases map[int]*baseConf
	rp    rpConf
}

// NewVMACManager returns a manager acting through host (nil: the calling
// thread's namespace, per call). log gets one line per VMAC created,
// adopted, replaced or deleted; nil discards.
func NewVMACManager(host *Host, log *slog.Logger) *VMACManager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &VMACManager{host: host, log: log, owned: map[string]*vmacRecord{}, bases: map[int]*baseConf{}}
}

// Ensure puts the VMAC in place, configured and up: it creates it, or
// adopts one left by a previous run (same name, base and MAC), or
// replaces a stale VMAC of that name. Another interface of that name is
// an error matching ErrVMACConflict and is not touched.
func (m *VMACManager) Ensure(o VMACOptions) (VMAC, VMACResult, error) {
	name := o.name()
	fail := func(err error) (VMAC, VMACResult, error) {
		return VMAC{}, 0, fmt.Errorf("ensure vmac %s: %w", name, err)
	}
	if err := o.Validate(); err != nil {
		return fail(err)
	}
	mac := o.mac()
	m.mu.Lock()
	defer m.mu.Unlock()
	nl := m.host.handle()
	base, err := nl.LinkByIndex(o.BaseIndex)
	if err != nil {
		return fail(fmt.Errorf("base ifindex %d: %w", o.BaseIndex, linkErr(err)))
	}
	if rec, ok := m.owned[name]; ok && (rec.v.BaseIndex != o.BaseIndex || rec.v.Family != o.Family || !bytes.Equal(rec.v.MAC, mac)) {
		// Ours, but the configuration changed: start afresh.
		if _, err := m.removeLocked(name); err != nil {
			return fail(err)
		}
	}

	result := VMACCreated
	existing, err := nl.LinkByName(name)
	switch {
	case err == nil:
		mv, isMacvlan := existing.(*netlink.Macvlan)
		a := existing.Attrs()
		_, ours := m.owned[name]
		switch {
		case isMacvlan && a.ParentIndex == o.BaseIndex && bytes.Equal(a.HardwareAddr, mac):
			result = VMACAdopted
			if mv.Mode != netlink.MACVLAN_MODE_PRIVATE {
				if err := nl.LinkSetMacvlanMode(existing, netlink.MACVLAN_MODE_PRIVATE); err != nil {
					return fail(fmt.Errorf("set macvlan mode private: %w", err))
				}
			}
		case isMacvlan && (ours || isVirtualRouterMAC(a.HardwareAddr) || bytes.Equal(a.HardwareAddr, mac)):
			result = VMACReplaced
			m.log.Info("deleting a stale vmac of another base or mac", "ifname", name,
				"mac", a.HardwareAddr.String(), "base_ifindex", a.ParentIndex)
			if err := nl.LinkDel(existing); err != nil && !errors.Is(linkErr(err), ErrLinkNotFound) {
				return fail(fmt.Errorf("delete stale vmac: %w", err))
			}
		default:
			return fail(fmt.Errorf("%w (kind %s, mac %v): left untouched", ErrVMACConflict, existing.Type(), a.HardwareAddr))
		}
	case !errors.Is(linkErr(err), ErrLinkNotFound):
		return fail(err)
	}
	if result != VMACAdopted {
		link := &netlink.Macvlan{
			LinkAttrs: netlink.LinkAttrs{Name: name, ParentIndex: o.BaseIndex, HardwareAddr: mac},
			// Private: frames from the wire whose source MAC is this
			// VMAC's (the other router's adverts, sent from the same
			// virtual MAC) are delivered to this VMAC only (the kernel's
			// macvlan_handle_frame), so a backup hears the master here.
			Mode: netlink.MACVLAN_MODE_PRIVATE,
		}
		if err := nl.LinkAdd(link); err != nil {
			return fail(fmt.Errorf("create macvlan on %s: %w", base.Attrs().Name, err))
		}
	}
	link, err := nl.LinkByName(name)
	if err != nil {
		return fail(linkErr(err))
	}
	v := VMAC{
		Name:      name,
		Index:     link.Attrs().Index,
		MAC:       append(net.HardwareAddr(nil), mac...),
		BaseIndex: o.BaseIndex,
		Family:    o.Family,
		XmitBase:  o.XmitBase,
	}
	rec := m.owned[name]
	level := slog.LevelDebug // Ensure again of one of ours: nothing new
	if rec == nil || result != VMACAdopted {
		level = slog.LevelInfo
	}
	if rec == nil {
		rec = &vmacRecord{}
		m.owned[name] = rec
	}
	rec.v = v
	if err := m.configure(rec, o, link, base); err != nil {
		return VMAC{}, 0, fmt.Errorf("ensure vmac %s: %w", name, err)
	}
	m.log.Log(context.Background(), level, "vmac "+result.String(), "ifname", name, "ifindex", rec.v.Index,
		"mac", mac.String(), "base", base.Attrs().Name, "family", o.Family.String())
	return rec.v, result, nil
}

// configure applies the settings, the link-local address and link up.
// The VMAC is recorded first, so that a failure leaves it ours (Remove
// deletes it).
func (m *VMACManager) configure(rec *vmacRecord, o VMACOptions, link, base netlink.Link) error {
	nl := m.host.handle()
	name := rec.v.Name
	conf := func(k string) string { return "net/ipv4/conf/" + name + "/" + k }
	ipv4 := o.Family == FamilyIPv4
	if ipv4 && !rec.ipv4 {
		if err := m.holdBase(base); err != nil {
			return err
		}
		if err := m.holdRPFilter(name); err != nil {
			m.releaseBase(base.Attrs().Index)
			return err
		}
		rec.ipv4 = true
	}
	ws := []sysctlWrite{{conf("arp_ignore"), "1"}}
	if ipv4 {
		ws = append(ws,
			sysctlWrite{conf("accept_local"), "1"},
			sysctlWrite{conf("rp_filter"), "0"},
			sysctlWrite{conf("promote_secondaries"), "1"})
	}
	if err := m.host.writeSysctls(ws...); err != nil {
		return err
	}
	if ipv4 && !o.KeepIPv6 {
		// IPv6 off. addr_gen_mode none first, as keepalived leaves it
		// (best effort: a host without IPv6 has nothing to turn off).
		_ = nl.LinkSetIP6AddrGenMode(link, addrGenModeNone)
		err := m.host.writeSysctls(sysctlWrite{"net/ipv6/conf/" + name + "/disable_ipv6", "1"})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	} else {
		if err := m.host.writeSysctls(sysctlWrite{"net/ipv6/conf/" + name + "/disable_ipv6", "0"}); err != nil {
			return err
		}
		if err := nl.LinkSetIP6AddrGenMode(link, addrGenModeNone); err != nil {
			return fmt.Errorf("set addr_gen_mode none: %w", err)
		}
	}
	if o.Family == FamilyIPv6 {
		ll, err := m.linkLocal(o, base)
		if err != nil {
			return err
		}
		if err := m.setLinkLocal(rec.v.Index, ll); err != nil {
			return err
		}
		rec.v.LinkLocal = ll
	}
	if err := nl.LinkSetUp(link); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	return nil
}

// linkLocal picks an IPv6 VMAC's link-local address.
func (m *VMACManager) linkLocal(o VMACOptions, base netlink.Link) (netip.Addr, error) {
	if o.LinkLocal.IsValid() {
		return o.LinkLocal, nil
	}
	ll, err := m.host.LinkLocalIPv6(o.BaseIndex)
	if err == nil {
		return ll, nil
	}
	if !errors.Is(err, ErrNoAddress) {
		return netip.Addr{}, err
	}
	mac := base.Attrs().HardwareAddr
	if len(mac) != ethAddrLen {
		return netip.Addr{}, fmt.Errorf("base %s has no ipv6 link-local address and no ethernet mac", base.Attrs().Name)
	}
	return eui64LinkLocal(mac), nil
}

// eui64LinkLocal is fe80::/64 with the modified EUI-64 interface
// identifier of mac (RFC 4291 2.5.1, appendix A).
func eui64LinkLocal(mac net.HardwareAddr) netip.Addr {
	return netip.AddrFrom16([16]byte{
		0: 0xfe, 1: 0x80,
		8: mac[0] ^ 0x02, 9: mac[1], 10: mac[2], 11: 0xff, 12: 0xfe, 13: mac[3], 14: mac[4], 15: mac[5],
	})
}

// setLinkLocal puts ll on the VMAC (/64, nodad, deprecated: keepalived
// 2.2.7's, as `ip addr` shows) and removes any other link-local address
// there (one generated before the VMAC was ours).
func (m *VMACManager) setLinkLocal(ifindex int, ll netip.Addr) error {
	addrs, err := m.host.Addrs(ifindex, FamilyIPv6)
	if err != nil {
		return err
	}
	want := Address{IfIndex: ifindex, Prefix: netip.PrefixFrom(ll, 64), PreferredLft: LifetimeSeconds(0)}
	for _, a := range addrs {
		if a.Prefix.Addr().IsLinkLocalUnicast() && a.Prefix.Addr() != ll {
			if err := m.host.DelAddr(Address{IfIndex: ifindex, Prefix: a.Prefix, PreferredLft: LifetimeForever()}); err != nil {
				return err
			}
		}
	}
	return m.host.AddAddr(want)
}

// holdBase takes a reference on base's ARP settings, setting them on the
// first.
func (m *VMACManager) holdBase(base netlink.Link) error {
	idx, name := base.Attrs().Index, base.Attrs().Name
	if b, ok := m.bases[idx]; ok {
		b.refs++
		return nil
	}
	conf := func(k string) string { return "net/ipv4/conf/" + name + "/" + k }
	v, err := m.host.readSysctls(conf("arp_ignore"), conf("arp_filter"))
	if err != nil {
		return err
	}
	b := &baseConf{refs: 1, name: name, arpIgnore: v[0], arpFilter: v[1]}
	var ws []sysctlWrite
	if b.arpIgnore != "1" {
		ws = append(ws, sysctlWrite{conf("arp_ignore"), "1"})
	}
	if b.arpFilter != "1" {
		ws = append(ws, sysctlWrite{conf("arp_filter"), "1"})
	}
	if err := m.host.writeSysctls(ws...); err != nil {
		return err
	}
	m.bases[idx] = b
	return nil
}

// releaseBase drops a reference and restores the settings after the
// last. A base that is gone needs no restoring.
func (m *VMACManager) releaseBase(idx int) error {
	b, ok := m.bases[idx]
	if !ok {
		return nil
	}
	if b.refs--; b.refs > 0 {
		return nil
	}
	delete(m.bases, idx)
	link, err := m.host.handle().LinkByIndex(idx)
	if err != nil || link.Attrs().Name != b.name {
		return nil
	}
	conf := func(k string) string { return "net/ipv4/conf/" + b.name + "/" + k }
	return m.host.writeSysctls(sysctlWrite{conf("arp_ignore"), b.arpIgnore}, sysctlWrite{conf("arp_filter"), b.arpFilter})
}

// holdRPFilter takes a reference on the rp_filter change, making it on
// the first: every interface but lo and skip gets the larger of its
// rp_filter and all's, default too, and all gets 0.
func (m *VMACManager) holdRPFilter(skip string) error {
	if m.rp.refs > 0 {
		m.rp.refs++
		return nil
	}
	v, err := m.host.readSysctls("net/ipv4/conf/all/rp_filter", "net/ipv4/conf/default/rp_filter")
	if err != nil {
		return err
	}
	st := rpConf{refs: 1, all: v[0], def: v[1], ifaces: map[string]string{}}
	all, _ := strconv.Atoi(v[0])
	if all != 0 {
		names, err := m.host.listSysctlDir("net/ipv4/conf")
		if err != nil {
			return err
		}
		var ws []sysctlWrite
		for _, n := range names {
			if n == "all" || n == "lo" || n == skip {
				continue
			}
			key := "net/ipv4/conf/" + n + "/rp_filter"
			cur, err := m.host.readSysctls(key)
			if err != nil {
				continue // gone meanwhile
			}
			if c, _ := strconv.Atoi(cur[0]); c < all {
				if n != "default" {
					st.ifaces[n] = cur[0]
				}
				ws = append(ws, sysctlWrite{key, strconv.Itoa(all)})
			}
		}
		ws = append(ws, sysctlWrite{"net/ipv4/conf/all/rp_filter", "0"})
		st.changed = true
		m.log.Info("all.rp_filter moved onto every interface for vmacs", "rp_filter", all)
		if err := m.host.writeSysctls(ws...); err != nil {
			m.rp = st
			m.releaseRPFilter()
			return err
		}
	}
	m.rp = st
	return nil
}

// releaseRPFilter drops a reference and undoes the change after the
// last.
func (m *VMACManager) releaseRPFilter() error {
	if m.rp.refs == 0 {
		return nil
	}
	if m.rp.refs--; m.rp.refs > 0 || !m.rp.changed {
		return nil
	}
	st := m.rp
	m.rp = rpConf{}
	ws := []sysctlWrite{
		{"net/ipv4/conf/all/rp_filter", st.all},
		{"net/ipv4/conf/default/rp_filter", st.def},
	}
	var errs []error
	if err := m.host.writeSysctls(ws...); err != nil {
		errs = append(errs, err)
	}
	for n, v := range st.ifaces {
		err := m.host.writeSysctls(sysctlWrite{"net/ipv4/conf/" + n + "/rp_filter", v})
		if err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Remove deletes the VMAC called name if it is ours and reports whether
// it deleted one; one already gone is forgotten.
func (m *VMACManager) Remove(name string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.removeLocked(name)
}

func (m *VMACManager) removeLocked(name string) (bool, error) {
	rec, ok := m.owned[name]
	if !ok {
		return false, nil
	}
	nl := m.host.handle()
	deleted := false
	link, err := nl.LinkByIndex(rec.v.Index)
	switch {
	case err == nil && link.Attrs().Name == name && bytes.Equal(link.Attrs().HardwareAddr, rec.v.MAC) && link.Type() == "macvlan":
		if err := nl.LinkDel(link); err != nil && !errors.Is(linkErr(err), ErrLinkNotFound) {
			return false, fmt.Errorf("delete vmac %s: %w", name, err)
		}
		deleted = true
		m.log.Info("vmac deleted", "ifname", name, "ifindex", rec.v.Index)
	case err != nil && !errors.Is(linkErr(err), ErrLinkNotFound):
		return false, fmt.Errorf("delete vmac %s: %w", name, err)
	}
	delete(m.owned, name)
	var errs []error
	if rec.ipv4 {
		if err := m.releaseBase(rec.v.BaseIndex); err != nil {
			errs = append(errs, err)
		}
		if err := m.releaseRPFilter(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return deleted, fmt.Errorf("delete vmac %s: restore settings: %w", name, err)
	}
	return deleted, nil
}

// RemoveAll deletes every VMAC of ours (shutdown) and returns every
// error met.
func (m *VMACManager) RemoveAll() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for name := range m.owned {
		if _, err := m.removeLocked(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Get returns the VMAC called name if it is ours.
func (m *VMACManager) Get(name string) (VMAC, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.owned[name]
	if !ok {
		return VMAC{}, false
	}
	return rec.v, true
}
