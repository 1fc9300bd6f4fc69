package daemon

// Small keywords of vrrp_instance and global_defs that act on the host
// or the process rather than on the VRRP state machine.

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/lbdproject/lbd/pkg/config"
	"github.com/lbdproject/lbd/pkg/vrrp"
)

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

// RxBufsPolicy is global_defs vrrp_rx_bufs_policy: how each instance's
// share of its VRRP socket's receive buffer is sized.
type RxBufsPolicy struct {
	// Mode is "" (the system default), "MTU", "ADVERT" or "SIZE".
	Mode string
	// Size is the bytes per instance of mode SIZE
	// (vrrp_rx_bufs_policy NUMBER).
	Size int
	// Multiplier is vrrp_rx_bufs_multiplier (default 3), for MTU and
	// ADVERT.
	Multiplier int
}

func newRxBufsPolicy(cfg *config.Config) RxBufsPolicy {
	p := RxBufsPolicy{Multiplier: cfg.Global.VRRPRxBufsMultiplier}
	switch s := cfg.Global.VRRPRxBufsPolicy; s {
	case "":
	case "MTU", "ADVERT":
		p.Mode = s
	default:
		if n, err := strconv.Atoi(s); err == nil && n > 0 { // pkg/config checked it
			p.Mode, p.Size = "SIZE", n
		}
	}
	return p
}

// rxBufShare is what one instance adds to its socket's receive buffer,
// as keepalived computes it (vrrp_scheduler.c vrrp_create_sockpool and
// setup_interface): kernel_rx_buf_size if set, else the policy's size,
// else vrrp_rx_bufs_multiplier times its advert's length (ADVERT) or
// its interface's MTU (MTU); 0 without any (the system default).
func rxBufShare(pol RxBufsPolicy, p *Plan, mtu int) int {
	switch {
	case p.KernelRxBufSize > 0:
		return p.KernelRxBufSize
	case pol.Mode == "SIZE":
		return pol.Size
	case pol.Mode == "ADVERT":
		return pol.Multiplier * advertLen(&p.Config)
	case pol.Mode == "MTU":
		return pol.Multiplier * mtu
	}
	return 0
}

// advertLen is the length keepalived counts for an advert (vrrp.c
// vrrp_adv_len): for IPv4 the IP header, the VRRP header, v2's
// authentication data and 4 bytes per VIP; for IPv6 (whose header a raw
// socket does not deliver) the VRRP header and 16 bytes per VIP.
func advertLen(c *vrrp.Config) int {
	const ipv4Header, vrrpHeader, authData = 20, 8, 8
	n := 0
	for _, v := range c.VIPs {
		if v.Prefix.Addr().Is4() == (c.Family() == vrrp.FamilyIPv4) {
			n++
		}
	}
	if c.Family() == vrrp.FamilyIPv6 {
		return vrrpHeader + 16*n
	}
	l := ipv4Header + vrrpHeader + 4*n
	if c.Version == 2 {
		l += authData
	}
	return l
}

// sizeRecvBuffers sets each VRRP socket's receive buffer to the sum of
// the shares of the instances using it, as keepalived does for each
// socket of its pool, at start and after a reload changed the instances.
// A socket whose instances have no share keeps the system default (or,
// after a reload, the size it had). A failure is logged: the socket
// works on with the size it has.
func (d *Daemon) sizeRecvBuffers(pol RxBufsPolicy) {
	want := map[*socket]int{}
	d.mu.Lock()
	for _, r := range d.insts {
		if r.sock != nil {
			want[r.sock] += rxBufShare(pol, &r.plan, r.mtu)
		}
	}
	d.mu.Unlock()
	for sk, n := range want {
		if n <= 0 || n == sk.rcvbuf {
			continue
		}
		if err := sk.conn.c.SetRecvBuffer(n); err != nil {
			d.log.Error("vrrp socket receive buffer not set", "interface", sk.ifname, "bytes", n, "error", err)
			continue
		}
		sk.rcvbuf = n
		got, _ := sk.conn.c.RecvBuffer()
		d.log.Info("vrrp socket receive buffer set", "interface", sk.ifname, "family", sk.key.family.String(), "bytes", n, "so_rcvbuf", got)
	}
}

// setUmask sets the process's file creation mask to global_defs umask
// before lbd creates any file (run directory, pid file, vips.json,
// control socket; notify FIFOs are the operator's, scripts inherit it).
// keepalived sets its umask at startup, to IWGRP|IWOTH (022) unless
// configured; its command-line option -m overrides the keyword, and lbd
// has no such option. A reload that changes it applies it at once: the
// mask is process state, nothing restarts.
func setUmask(log *slog.Logger, mask int) {
	if old := unix.Umask(mask); old != mask {
		log.Info("umask set", "umask", fmt.Sprintf("%03o", mask), "was", fmt.Sprintf("%03o", old))
	}
}

// DefaultVRRPProcessName is keepalived's name for its VRRP process, which
// global_defs process_names asks for.
const DefaultVRRPProcessName = "keepalived_vrrp"

// processName is the name lbd takes: keepalived names its parent
// process_name and its VRRP child vrrp_process_name (process_names: the
// defaults keepalived and keepalived_vrrp). lbd is both in one process
// and does VRRP's job, so vrrp_process_name wins, then process_name,
// then process_names' keepalived_vrrp; none: lbd keeps its own name.
// checker_process_name and bfd_process_name name processes lbd does not
// have.
func processName(cfg *config.Config) string {
	g := &cfg.Global
	switch {
	case g.VRRPProcessName != "":
		return g.VRRPProcessName
	case g.ProcessName != "":
		return g.ProcessName
	case g.ProcessNames:
		return DefaultVRRPProcessName
	}
	return ""
}

// maxCommLen is the kernel's limit on a task's name (TASK_COMM_LEN less
// the NUL): a longer name is cut.
const maxCommLen = 15

// setProcessName names the process: its thread group leader's comm, what
// ps, pgrep and /proc/PID/comm show. Writing /proc/self/comm renames the
// leader from whichever thread the caller runs on (the kernel allows any
// thread of the group; prctl(PR_SET_NAME) would rename only the calling
// thread). A failure is logged: lbd runs on under its own name.
func setProcessName(log *slog.Logger, name string) {
	if name == "" {
		return
	}
	if len(name) > maxCommLen {
		log.Warn("process name longer than 15 bytes: the kernel keeps the first 15", "name", name)
		name = name[:maxCommLen]
	}
	if err := os.WriteFile("/proc/self/comm", []byte(name), 0); err != nil {
		log.Error("process name not set", "name", name, "error", err)
		return
	}
	log.Info("process name set", "name", name)
}
