package netutil

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrIPVLANConflict reports an interface that has an IPVLAN's name but
// is not an ipvlan lbd may take over: it is left untouched.
var ErrIPVLANConflict = errors.New("interface exists and is not an ipvlan")

// IPVLANFlag is an L2 ipvlan's bridge, private or vepa mode (the kernel's
// IFLA_IPVLAN_FLAGS: 0, IPVLAN_F_PRIVATE, IPVLAN_F_VEPA).
type IPVLANFlag uint8

// The ipvlan flags, keepalived's use_ipvlan words.
const (
	IPVLANBridge IPVLANFlag = iota
	IPVLANPrivate
	IPVLANVEPA
)

// String returns the flag's keepalived.conf word.
func (f IPVLANFlag) String() string {
	switch f {
	case IPVLANBridge:
		return "bridge"
	case IPVLANPrivate:
		return "private"
	case IPVLANVEPA:
		return "vepa"
	}
	return fmt.Sprintf("ipvlan_flag(%d)", uint8(f))
}

// ParseIPVLANFlag reads "bridge", "private" or "vepa"; "" is bridge,
// keepalived's default.
func ParseIPVLANFlag(s string) (IPVLANFlag, error) {
	switch s {
	case "", "bridge":
		return IPVLANBridge, nil
	case "private":
		return IPVLANPrivate, nil
	case "vepa":
		return IPVLANVEPA, nil
	}
	return 0, fmt.Errorf("bad ipvlan mode %q: want bridge, private or vepa", s)
}

func (f IPVLANFlag) netlink() netlink.IPVlanFlag {
	switch f {
	case IPVLANPrivate:
		return netlink.IPVLAN_FLAG_PRIVATE
	case IPVLANVEPA:
		return netlink.IPVLAN_FLAG_VEPA
	}
	return netlink.IPVLAN_FLAG_BRIDGE
}

// IPVLANOptions describes one instance's ipvlan (keepalived's use_ipvlan):
// an L2 ipvlan on the instance's interface, sharing its MAC, with an
// address of its own that is the source of the adverts.
type IPVLANOptions struct {
	// BaseIndex is the instance's interface.
	BaseIndex int
	// Name is the interface name.
	Name string
	// Flag is bridge, private or vepa. The kernel wants one for every
	// ipvlan of a base.
	Flag IPVLANFlag
	// Family is the instance's address family.
	Family Family
	// Addr is the ipvlan's address: required for IPv4; for IPv6 zero
	// means its link-local.
	Addr netip.Prefix
	// KeepIPv6 leaves IPv6 on for an IPv4 ipvlan, because IPv6 eVIPs go
	// on it. Otherwise IPv6 is disabled there, as keepalived does.
	KeepIPv6 bool
}

// Validate reports what makes o unusable.
func (o IPVLANOptions) Validate() error {
	switch {
	case o.BaseIndex <= 0:
		return errors.New("no base interface index")
	case !o.Family.valid():
		return fmt.Errorf("bad address family %v", o.Family)
	case o.Name == "" || len(o.Name) > unix.IFNAMSIZ-1 || o.Name == "." || o.Name == ".." || strings.ContainsAny(o.Name, "/: \t\n\x00"):
		return fmt.Errorf("bad interface name %q", o.Name)
	case o.Flag > IPVLANVEPA:
		return fmt.Errorf("bad ipvlan flag %v", o.Flag)
	case o.Family == FamilyIPv4 && !o.Addr.IsValid():
		return errors.New("an ipv4 ipvlan needs an address")
	case o.Addr.IsValid() && !o.Family.matches(o.Addr.Addr()):
		return fmt.Errorf("address %v is not an %v address", o.Addr, o.Family)
	case o.KeepIPv6 && o.Family == FamilyIPv6:
		return errors.New("keep ipv6 on an ipv6 ipvlan")
	}
	return nil
}

// IPVLAN is an ipvlan interface in place.
type IPVLAN struct {
	Name      string
	Index     int
	BaseIndex int
	// Source is the address its adverts are sent from: the configured
	// address, or an IPv6 ipvlan's link-local.
	Source netip.Addr
	// addr is the address lbd put on it (zero: none).
	addr netip.Prefix
}

// IPVLANManager creates, adopts and deletes the ipvlan interfaces of
// use_ipvlan, the way keepalived does (vrrp_vmac.c
// netlink_link_add_ipvlan): mode L2, the configured flag, IPv6 off on an
// IPv4 one unless it carries IPv6 eVIPs, up, then its address. It
// deletes only its own: the ones it created or adopted. An ipvlan of that
// name left by a previous run (lbd's or keepalived's) is adopted when it
// sits on the same base in L2 mode with the same flag, and replaced when
// it is an ipvlan of another base, mode or flag. Safe for concurrent use.
type IPVLANManager struct {
	host *Host
	log  *slog.Logger

	mu    sync.Mutex
	owned map[string]IPVLAN
}

// NewIPVLANManager returns a manager acting through host (nil: the
// calling thread's namespace, per call); log nil discards.
func NewIPVLANManager(host *Host, log *slog.Logger) *IPVLANManager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &IPVLANManager{host: host, log: log, owned: map[string]IPVLAN{}}
}

// ipvlanLinkLocalWait bounds the wait for an IPv6 ipvlan's link-local
// address, which the kernel adds when it comes up.
const ipvlanLinkLocalWait = 5 * time.Second

// Ensure puts the ipvlan in place, configured and up (VMACResult says
// whether it was created, adopted or replaced). Another interface of
// that name is an error matching ErrIPVLANConflict and is not touched.
func (m *IPVLANManager) Ensure(o IPVLANOptions) (IPVLAN, VMACResult, error) {
	fail := func(err error) (IPVLAN, VMACResult, error) {
		return IPVLAN{}, 0, fmt.Errorf("ensure ipvlan %s: %w", o.Name, err)
	}
	if err := o.Validate(); err != nil {
		return fail(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	nl := m.host.handle()
	base, err := nl.LinkByIndex(o.BaseIndex)
	if err != nil {
		return fail(fmt.Errorf("base ifindex %d: %w", o.BaseIndex, linkErr(err)))
	}
	result := VMACCreated
	existing, err := nl.LinkByName(o.Name)
	switch {
	case err == nil:
		iv, ok := existing.(*netlink.IPVlan)
		a := existing.Attrs()
		switch {
		case ok && a.ParentIndex == o.BaseIndex && iv.Mode == netlink.IPVLAN_MODE_L2 && iv.Flag == o.Flag.netlink():
			result = VMACAdopted
		case ok:
			result = VMACReplaced
			m.log.Info("deleting a stale ipvlan of another base or mode", "ifname", o.Name,
				"base_ifindex", a.ParentIndex, "mode", iv.Mode, "flag", iv.Flag)
			if err := nl.LinkDel(existing); err != nil && !errors.Is(linkErr(err), ErrLinkNotFound) {
				return fail(fmt.Errorf("delete stale ipvlan: %w", err))
			}
		default:
			return fail(fmt.Errorf("%w (kind %s): left untouched", ErrIPVLANConflict, existing.Type()))
		}
	case !errors.Is(linkErr(err), ErrLinkNotFound):
		return fail(err)
	}
	if result != VMACAdopted {
		link := &netlink.IPVlan{
			LinkAttrs: netlink.LinkAttrs{Name: o.Name, ParentIndex: o.BaseIndex},
			Mode:      netlink.IPVLAN_MODE_L2,
			Flag:      o.Flag.netlink(),
		}
		if err := nl.LinkAdd(link); err != nil {
			return fail(fmt.Errorf("create ipvlan on %s: %w", base.Attrs().Name, err))
		}
	}
	link, err := nl.LinkByName(o.Name)
	if err != nil {
		return fail(linkErr(err))
	}
	iv := IPVLAN{Name: o.Name, Index: link.Attrs().Index, BaseIndex: o.BaseIndex}
	// Ours from here: a failure below leaves it for Remove.
	m.owned[o.Name] = iv
	if err := m.configure(&iv, o, link); err != nil {
		return fail(err)
	}
	m.owned[o.Name] = iv
	m.log.Info("ipvlan "+result.String(), "ifname", o.Name, "ifindex", iv.Index, "base", base.Attrs().Name,
		"flag", o.Flag.String(), "source", iv.Source.String())
	return iv, result, nil
}

func (m *IPVLANManager) configure(iv *IPVLAN, o IPVLANOptions, link netlink.Link) error {
	nl := m.host.handle()
	ipv6 := "0"
	if o.Family == FamilyIPv4 && !o.KeepIPv6 {
		ipv6 = "1"
	}
	err := m.host.writeSysctls(sysctlWrite{"net/ipv6/conf/" + o.Name + "/disable_ipv6", ipv6})
	if err != nil && !(ipv6 == "1" && errors.Is(err, fs.ErrNotExist)) {
		return err
	}
	if err := nl.LinkSetUp(link); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	if o.Addr.IsValid() {
		// Nodad (Address.DAD false): the address is ours alone by
		// configuration, as keepalived adds it.
		if err := m.host.AddAddr(Address{IfIndex: iv.Index, Prefix: o.Addr, PreferredLft: LifetimeForever()}); err != nil {
			return err
		}
		iv.addr = o.Addr
		iv.Source = o.Addr.Addr()
		return nil
	}
	deadline := time.Now().Add(ipvlanLinkLocalWait)
	for {
		ll, err := m.host.LinkLocalIPv6(iv.Index)
		if err == nil {
			iv.Source = ll
			return nil
		}
		if !errors.Is(err, ErrNoAddress) || time.Now().After(deadline) {
			return fmt.Errorf("link-local address: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Remove deletes the ipvlan called name if it is ours and reports
// whether it deleted one; one already gone is forgotten.
func (m *IPVLANManager) Remove(name string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.removeLocked(name)
}

func (m *IPVLANManager) removeLocked(name string) (bool, error) {
	iv, ok := m.owned[name]
	if !ok {
		return false, nil
	}
	nl := m.host.handle()
	link, err := nl.LinkByIndex(iv.Index)
	switch {
	case err == nil && link.Attrs().Name == name && link.Type() == "ipvlan":
		if err := nl.LinkDel(link); err != nil && !errors.Is(linkErr(err), ErrLinkNotFound) {
			return false, fmt.Errorf("delete ipvlan %s: %w", name, err)
		}
		delete(m.owned, name)
		m.log.Info("ipvlan deleted", "ifname", name, "ifindex", iv.Index)
		return true, nil
	case err != nil && !errors.Is(linkErr(err), ErrLinkNotFound):
		return false, fmt.Errorf("delete ipvlan %s: %w", name, err)
	}
	delete(m.owned, name)
	return false, nil
}

// RemoveAll deletes every ipvlan of ours (shutdown) and returns every
// error met.
func (m *IPVLANManager) RemoveAll() error {
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
