package vrrp

import (
	"fmt"
	"slices"
	"time"
)

// RestartReason reports why a running instance configured as old cannot
// take the configuration new in place (Instance.Reconfigure) and must be
// stopped and started again, or "" when it can. Both are normalized
// copies. What identifies the instance on the wire or decides its role
// needs a restart: interface, virtual_router_id, version, address family,
// advert_int, source address, unicast peers and TTL, authentication,
// checksum compatibility, and becoming or ceasing to be the address owner
// (priority 255) or changing state MASTER of an owner. Everything else
// (priority, VIPs, preemption, GARP timing, lower_prio_no_advert,
// higher_prio_send_advert, skip_check_adv_addr, down_timer_adverts,
// accept, check_unicast_src) applies in place.
func RestartReason(old, new Config) string {
	old.VIPs, new.VIPs = slices.Clone(old.VIPs), slices.Clone(new.VIPs)
	old.Normalize()
	new.Normalize()
	switch {
	case old.Name != new.Name:
		return "name changed"
	case old.Interface != new.Interface:
		return "interface changed"
	case old.VRID != new.VRID:
		return "virtual_router_id changed"
	case old.Version != new.Version:
		return "version changed"
	case old.Family() != new.Family():
		return "address family changed"
	case old.AdvertInterval != new.AdvertInterval:
		return "advert_int changed"
	case old.SourceAddr != new.SourceAddr:
		return "source address changed"
	case !slices.Equal(old.UnicastPeers, new.UnicastPeers):
		return "unicast peers changed"
	case old.UnicastTTL != new.UnicastTTL:
		return "unicast_ttl changed"
	case old.Auth != new.Auth:
		return "authentication changed"
	case old.ChecksumCompat != new.ChecksumCompat:
		return "old_unicast_checksum changed"
	case (old.Priority == PriorityOwner) != (new.Priority == PriorityOwner):
		return "address ownership (priority 255) changed"
	case old.Priority == PriorityOwner && old.StartState != new.StartState:
		return "state of the address owner changed"
	}
	return ""
}

// Reconfigure applies cfg to the instance in place, keeping its state and
// timers; RestartReason(Config(), cfg) must be "". A MASTER removes the
// VIPs that are gone, adds the new ones and announces its addresses
// again; its adverts carry the new list from the next one. total is the
// tracked total to apply with the new base priority (as SetPriority:
// cfg.Priority plus the tracker deltas; cfg.Priority without trackers).
// A MASTER whose VIPs or priority changed advertises at once.
func (in *Instance) Reconfigure(now time.Time, cfg Config, total int) ([]Action, error) {
	cfg.VIPs = slices.Clone(cfg.VIPs)
	cfg.ExcludedVIPs = slices.Clone(cfg.ExcludedVIPs)
	cfg.UnicastPeers = slices.Clone(cfg.UnicastPeers)
	cfg.Normalize()
	if err := cfg.validateNormalized(); err != nil {
		return nil, err
	}
	if why := RestartReason(in.cfg, cfg); why != "" {
		return nil, fmt.Errorf("vrrp_instance %s: cannot reconfigure in place: %s", in.cfg.Name, why)
	}
	old, oldPrio := in.cfg, in.prio
	in.cfg = cfg
	in.rx = cfg.rxConfig(in.local)
	if !in.owner() {
		in.base = cfg.Priority
	}
	in.SetPriority(now, total)
	if in.state != StateMaster {
		in.down = in.downInterval()
		return nil, nil
	}
	var acts []Action
	gone := vipDiff(append(slices.Clone(old.VIPs), old.ExcludedVIPs...), append(slices.Clone(cfg.VIPs), cfg.ExcludedVIPs...))
	added := vipDiff(append(slices.Clone(cfg.VIPs), cfg.ExcludedVIPs...), append(slices.Clone(old.VIPs), old.ExcludedVIPs...))
	if len(gone) > 0 {
		acts = append(acts, Action{Kind: ActionRemoveVIPs, VIPs: gone})
	}
	if len(added) > 0 {
		acts = append(acts, Action{Kind: ActionAddVIPs, VIPs: added})
		if cfg.GARP.MasterRepeat > 0 {
			acts = append(acts, Action{Kind: ActionGratuitous, Repeat: cfg.GARP.MasterRepeat})
		}
	}
	if len(gone) > 0 || len(added) > 0 || in.prio != oldPrio {
		// Tell the backups at once.
		acts = append(acts, Action{Kind: ActionSendAdvert, Priority: in.prio})
		in.adverAt = now.Add(cfg.AdvertInterval)
	}
	return acts, nil
}

// vipDiff returns the VIPs of a that are not in b (attributes compared
// too: a VIP whose attributes changed is removed and added again).
func vipDiff(a, b []VIP) []VIP {
	var out []VIP
	for _, v := range a {
		if !slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}
