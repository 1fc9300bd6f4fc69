package daemon

import (
	"fmt"
	"net/netip"

	"github.com/lbdproject/lbd/pkg/config"
	"github.com/lbdproject/lbd/pkg/netutil"
	"github.com/lbdproject/lbd/pkg/vrrp"
)

// IPVLANPlan is one instance's use_ipvlan: an L2 ipvlan on the
// instance's interface, made at start and deleted at stop, over which
// its adverts go, sent from the ipvlan's address (keepalived vrrp.c
// vrrp_complete_instance, vrrp_vmac.c netlink_link_add_ipvlan). The VIPs
// stay where they would go without it: with no dev, on the instance's
// interface (keepalived puts them on its configured interface, not on
// the ipvlan).
type IPVLANPlan struct {
	Name string
	Flag netutil.IPVLANFlag
	// Addr is the ipvlan's address (required for IPv4); zero for IPv6:
	// the ipvlan's link-local.
	Addr     netip.Prefix
	KeepIPv6 bool // IPv6 eVIPs without dev on an IPv4 instance
}

// planIPVLAN names the ipvlan as keepalived does (use_ipvlan's name, else
// vmac_prefix.VRID as a VMAC's) and checks what keepalived turns into a
// FAULT state (an IPv4 instance without an ipvlan address, an address of
// the other family): those come back as fault, the instance then running
// in FAULT with that reason.
func planIPVLAN(cfg *config.Config, v *config.VRRPInstance, taken map[string]bool) (*IPVLANPlan, string, error) {
	fam := netutil.FamilyIPv4
	if v.Family == config.FamilyIPv6 {
		fam = netutil.FamilyIPv6
	}
	flag, err := netutil.ParseIPVLANFlag(v.IPVLANMode)
	if err != nil {
		return nil, "", err
	}
	ip := &IPVLANPlan{Name: v.IPVLANName, Flag: flag, Addr: v.IPVLANAddr}
	if ip.Name == "" {
		prefix := cmpOr(cfg.Global.VMACPrefix, netutil.DefaultVMACPrefix)
		if ip.Name, err = freeVMACName(prefix, uint8(v.VRID), fam, taken); err != nil {
			return nil, "", err
		}
	}
	if taken[ip.Name] {
		return nil, "", fmt.Errorf("interface %s is already the vmac or ipvlan of another instance", ip.Name)
	}
	taken[ip.Name] = true
	if fam == netutil.FamilyIPv4 {
		for _, e := range v.ExcludedVirtualIPs {
			if e.Dev == "" && e.Prefix.Addr().Is6() {
				ip.KeepIPv6 = true
			}
		}
	}
	switch {
	case ip.Addr.IsValid() && addrFamily(ip.Addr.Addr()) != fam:
		return ip, fmt.Sprintf("use_ipvlan: address %v is not of the instance's address family", ip.Addr), nil
	case fam == netutil.FamilyIPv4 && !ip.Addr.IsValid():
		return ip, "use_ipvlan: an IPv4 instance needs an address for its ipvlan", nil
	}
	return ip, "", nil
}

// ensureIPVLAN puts a plan's ipvlan in place on base and returns it (the
// interface the adverts go on) and the adverts' source address. The VIPs
// stay on base.
func (d *Daemon) ensureIPVLAN(p *Plan, base netutil.Link, r *running) (netutil.Link, netip.Addr, error) {
	fam := netutil.FamilyIPv4
	if p.Config.Family() == vrrp.FamilyIPv6 {
		fam = netutil.FamilyIPv6
	}
	ip := p.IPVLAN
	iv, res, err := d.ipvlans.Ensure(netutil.IPVLANOptions{BaseIndex: base.Index, Name: ip.Name, Flag: ip.Flag,
		Family: fam, Addr: ip.Addr, KeepIPv6: ip.KeepIPv6})
	// The manager may own it even after a failure: removed at stop.
	r.ipvlan = ip.Name
	if err != nil {
		return netutil.Link{}, netip.Addr{}, err
	}
	d.log.Info("ipvlan "+res.String(), "instance", p.Name, "interface", iv.Name, "base", base.Name,
		"flag", ip.Flag.String(), "source", iv.Source.String())
	link, err := d.host.LinkByIndex(iv.Index)
	if err != nil {
		return netutil.Link{}, netip.Addr{}, err
	}
	r.vipIf = base.Name
	return link, iv.Source, nil
}
