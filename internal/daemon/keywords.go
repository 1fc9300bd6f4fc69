package daemon

// Small keywords of vrrp_instance and global_defs that act on the host
// or the process rather than on the VRRP state machine.

// setPromote makes an instance hold (on) or release (off)
// promote_secondaries on the interface its VIPs go on: keepalived sets it
// when the instance starts and restores it when the instance goes
// (vrrp_if_config.c set_promote_secondaries, reset_promote_secondaries,
// called from vrrp.c at start and shutdown). A reload that adds or drops
// the keyword on a running instance does the same at once. A failure is
// logged: the instance runs on, as in keepalived.
func (d *Daemon) setPromote(r *running, on bool) {
	if r.vipIf == "" || r.promoted == on {
		return
	}
	if on {
		if err := d.promo.Hold(r.vipIf); err != nil {
			d.log.Error("promote_secondaries not set", "instance", r.plan.Name, "interface", r.vipIf, "error", err)
			return
		}
	} else if err := d.promo.Release(r.vipIf); err != nil {
		d.log.Error("promote_secondaries", "instance", r.plan.Name, "interface", r.vipIf, "error", err)
	}
	r.promoted = on
}
