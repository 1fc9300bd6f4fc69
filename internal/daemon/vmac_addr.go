package daemon

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/lbdproject/lbd/pkg/config"
	"github.com/lbdproject/lbd/pkg/netutil"
)

// AddrVMACPlan is a VMAC that carries VIPs only (use_vmac_addr, or
// use_vmac on a VIP): a macvlan with the virtual router MAC of the VIPs'
// family, on the interface the VIPs name (dev) or, for VIPs of the other
// family, on the instance's interface. No adverts go on it. It is made
// when the instance starts and deleted when it stops, as the instance's
// own VMAC (keepalived vrrp.c vrrp_complete_instance).
type AddrVMACPlan struct {
	Name   string
	Base   string // the interface it sits on
	Family netutil.Family
}

// addrVMACKey is what makes a VMAC: a macvlan on one base has one MAC,
// 00-00-5e-00-0{1,2}-VRID.
type addrVMACKey struct {
	base   string
	family netutil.Family
	vrid   uint8
}

// vmacNames is the translation-wide state of VMAC naming: the names
// taken so far, in configuration order (keepalived names VMACs while it
// completes each instance in turn), and which instance made each
// VIP-only VMAC.
type vmacNames struct {
	taken map[string]bool
	addr  map[addrVMACKey]string // instance name
}

func newVMACNames() *vmacNames {
	return &vmacNames{taken: map[string]bool{}, addr: map[addrVMACKey]string{}}
}

// freeVMACName picks a VIP-only VMAC's name as keepalived's
// create_vmac_name does: PREFIX.VRID, else PREFIX<N>.VRID with N = 1, 2,
// 3... (IPv4) or 6, 1, 2, 3, 4, 5, 7... (IPv6), the first not taken. The
// prefix is shortened so that the name fits in 15 bytes.
func freeVMACName(prefix string, vrid uint8, family netutil.Family, taken map[string]bool) (string, error) {
	name := netutil.VMACName(prefix, "", vrid)
	for num, tries := 0, 0; taken[name]; tries++ {
		if tries > 1000 {
			return "", fmt.Errorf("no free interface name %s<N>.%d", prefix, vrid)
		}
		switch {
		case family != netutil.FamilyIPv6:
			num++
		case num == 0:
			num = 6
		case num == 6:
			num = 1
		default:
			if num++; num == 6 {
				num++
			}
		}
		name = netutil.VMACName(prefix, strconv.Itoa(num), vrid)
	}
	return name, nil
}

// vipPlacement decides where each VIP of an instance goes, as keepalived
// 2.2.8+ does (vrrp.c vrrp_complete_instance):
//   - a VIP without dev (or with the instance's interface as dev) of the
//     instance's family goes on the instance's VMAC with use_vmac, else on
//     the instance's interface;
//   - with use_vmac_addr, a VIP on another interface, and a VIP of the
//     other family, goes on a VMAC of its own family made on that
//     interface (for the other family: on the instance's interface);
//   - use_vmac on a VIP does the same for that VIP alone; it is ignored
//     with a warning where the VIP goes on the instance's VMAC anyway, or
//     where use_vmac_addr already applies.
//
// The VIP-only VMACs are named by global_defs vmac_addr_prefix (default
// vmac_prefix, default "vrrp"); the VIPs of one family on one interface
// share one.
type vipPlacement struct {
	v       *config.VRRPInstance
	own     string // the instance's VMAC, "" without use_vmac
	prefix  string
	names   *vmacNames
	byKey   map[addrVMACKey]string
	planned []AddrVMACPlan
}

func newVIPPlacement(cfg *config.Config, v *config.VRRPInstance, own *VMACPlan, names *vmacNames) *vipPlacement {
	pl := &vipPlacement{v: v, names: names, byKey: map[addrVMACKey]string{}}
	if own != nil {
		pl.own = own.Name
	}
	pl.prefix = cmpOr(cfg.Global.VMACAddrPrefix, cmpOr(cfg.Global.VMACPrefix, netutil.DefaultVMACPrefix))
	return pl
}

func addrFamily(a netip.Addr) netutil.Family {
	if a.Is4() {
		return netutil.FamilyIPv4
	}
	return netutil.FamilyIPv6
}

// place returns the interface e goes on ("" for the instance's default)
// and a warning, if any.
func (pl *vipPlacement) place(e config.IPAddress) (dev, warn string, err error) {
	v := pl.v
	fam := addrFamily(e.Prefix.Addr())
	instFam := netutil.FamilyIPv4
	if v.Family == config.FamilyIPv6 {
		instFam = netutil.FamilyIPv6
	}
	onOwn := e.Dev == "" || e.Dev == v.Interface
	perVIP := e.UseVMAC
	switch {
	case perVIP && onOwn && pl.own != "" && fam == instFam:
		warn = fmt.Sprintf("use_vmac on %s and on the instance: it goes on the instance's vmac %s", e.Prefix, pl.own)
		perVIP = false
	case perVIP && (!onOwn || fam != instFam) && v.UseVMACAddr:
		warn = fmt.Sprintf("use_vmac on %s and use_vmac_addr: use_vmac_addr applies", e.Prefix)
		perVIP = false
	}
	var base string
	switch {
	case onOwn && pl.own != "" && fam == instFam:
		if e.Dev == "" {
			return "", warn, nil // the instance's default: its VMAC
		}
		return pl.own, warn, nil
	case onOwn:
		if !perVIP && !(v.UseVMACAddr && fam != instFam) {
			return e.Dev, warn, nil
		}
		base = v.Interface
	default:
		if !perVIP && !v.UseVMACAddr {
			return e.Dev, warn, nil
		}
		base = e.Dev
	}
	if base == "" {
		return "", warn, fmt.Errorf("%s: use_vmac: no interface to make the vmac on", e.Prefix)
	}
	key := addrVMACKey{base: base, family: fam, vrid: uint8(v.VRID)}
	if name, ok := pl.byKey[key]; ok {
		return name, warn, nil
	}
	if other, ok := pl.names.addr[key]; ok {
		return "", warn, fmt.Errorf("%s: the %s vmac of vrid %d on %s is already vrrp_instance %s's", e.Prefix, fam, v.VRID, base, other)
	}
	name, err := freeVMACName(pl.prefix, uint8(v.VRID), fam, pl.names.taken)
	if err != nil {
		return "", warn, fmt.Errorf("%s: %w", e.Prefix, err)
	}
	pl.names.taken[name] = true
	pl.names.addr[key] = v.Name
	pl.byKey[key] = name
	pl.planned = append(pl.planned, AddrVMACPlan{Name: name, Base: base, Family: fam})
	return name, warn, nil
}

// ensureAddrVMACs puts a plan's VIP-only VMACs in place, recording each
// in r as it comes, so that a failure leaves nothing unremoved.
func (d *Daemon) ensureAddrVMACs(p *Plan, r *running) error {
	for _, av := range p.AddrVMACs {
		base, err := d.host.LinkByName(av.Base)
		if err != nil {
			return fmt.Errorf("vmac %s: base %s: %w", av.Name, av.Base, err)
		}
		v, res, err := d.vmacs.Ensure(netutil.VMACOptions{BaseIndex: base.Index, VRID: p.Config.VRID,
			Family: av.Family, Name: av.Name})
		if err != nil {
			return err
		}
		r.addrVMACs = append(r.addrVMACs, av.Name)
		d.log.Info("vmac "+res.String(), "instance", p.Name, "interface", v.Name, "mac", v.MAC.String(),
			"base", base.Name, "for", "vips")
	}
	return nil
}

// removeVMACs deletes the VMACs an instance made (its own and its
// VIP-only ones) and closes their announcers, and its ipvlan.
func (d *Daemon) removeVMACs(r *running) error {
	var errs []error
	if r.ipvlan != "" {
		if _, err := d.ipvlans.Remove(r.ipvlan); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range append([]string{r.vmac}, r.addrVMACs...) {
		if name == "" {
			continue
		}
		d.anns.drop(name)
		if _, err := d.vmacs.Remove(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
