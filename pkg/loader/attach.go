package loader

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// How a tier is hooked in.
const (
	hookXDP    = "xdp-link" // XDP bpf_link, native or generic
	hookTCX    = "tcx"      // tcx bpf_link (Linux >= 6.6)
	hookClsact = "clsact"   // clsact qdisc + cls_bpf filter (go-tc)
)

// Attach puts the VRRP program on ifname at the best tier mode allows and
// returns the tier it got. ModeAuto tries XDP native, XDP generic, then TC,
// logging why each higher one failed, and returns TierNone with a nil
// error when none attaches (raw sockets then carry VRRP alone). A forced
// mode returns an error when its tier fails. ModeIPVS and ModeOff detach.
//
// An interface that already has the program (attached earlier, or adopted
// from a previous lbd) keeps it when its tier fits the mode: no second
// attach and no moment without the program. Changing tiers attaches the new
// one before detaching the old, except between XDP native and generic,
// which the kernel does not allow side by side.
func (l *Loader) Attach(ifname string, mode Mode) (Tier, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return TierNone, fmt.Errorf("attach on %s: loader closed", ifname)
	}
	var tier Tier
	err := l.inNS(func() error {
		var err error
		tier, err = l.attach(ifname, mode)
		return err
	})
	return tier, err
}

func (l *Loader) attach(ifname string, mode Mode) (Tier, error) {
	netif, err := net.InterfaceByName(ifname)
	if err != nil {
		return TierNone, fmt.Errorf("attach on %s: %w", ifname, err)
	}
	idx := netif.Index
	l.names[idx] = ifname
	for old, ifc := range l.ifaces {
		if ifc.Name == ifname && old != idx {
			// The interface was recreated: its old attachment died with it.
			l.detach(ifc)
		}
	}
	cur := l.ifaces[idx]
	if cur != nil {
		cur.claimed = true
		cur.Name = ifname
	}

	tiers := mode.tiers()
	if tiers == nil {
		if mode != ModeIPVS && mode != ModeOff {
			return TierNone, fmt.Errorf("attach on %s: unknown mode %s", ifname, mode)
		}
		if cur != nil {
			if err := l.detach(cur); err != nil {
				return cur.Tier, err
			}
		}
		l.log.Info("datapath", "interface", ifname, "tier", TierNone.String(), "mode", mode.String())
		return TierNone, nil
	}
	if err := l.ensureIfStats(idx); err != nil {
		return TierNone, fmt.Errorf("attach on %s: %w", ifname, err)
	}

	// Keep what is there when it fits: auto never trades an XDP tier for
	// another (native <-> generic needs a detach first).
	if cur != nil && (cur.Tier == tiers[0] || (mode == ModeAuto && cur.Tier != TierTC)) {
		l.log.Info("datapath kept", "interface", ifname, "tier", cur.Tier.String(), "hook", cur.Hook, "adopted", cur.Adopted)
		return cur.Tier, nil
	}

	var skipped []TierError
	for _, t := range tiers {
		if cur != nil && t == cur.Tier {
			l.log.Info("datapath kept", "interface", ifname, "tier", cur.Tier.String(), "hook", cur.Hook,
				"skipped", tierErrors(skipped))
			cur.Skipped = skipped
			return cur.Tier, nil
		}
		if cur != nil && isXDP(cur.Tier) && isXDP(t) {
			// The kernel refuses native and generic XDP side by side.
			if err := l.detach(cur); err != nil {
				return cur.Tier, err
			}
			cur = nil
		}
		ifc, err := l.attachTier(t, netif)
		if err != nil {
			skipped = append(skipped, TierError{Tier: t, Err: err})
			continue
		}
		ifc.Skipped = skipped
		ifc.claimed = true
		if cur != nil {
			if err := l.detach(cur); err != nil {
				l.log.Warn("detach previous tier", "interface", ifname, "tier", cur.Tier.String(), "error", err.Error())
			}
		}
		l.ifaces[idx] = ifc
		l.log.Info("datapath attached", "interface", ifname, "tier", t.String(), "hook", ifc.Hook,
			"skipped", tierErrors(skipped))
		return t, nil
	}

	if cur != nil {
		err := fmt.Errorf("attach on %s: %w (keeping %s)", ifname, tierErrors(skipped), cur.Tier)
		return cur.Tier, err
	}
	if mode == ModeAuto {
		l.log.Warn("datapath: no tier attached, raw sockets carry VRRP alone", "interface", ifname,
			"tier", TierNone.String(), "skipped", tierErrors(skipped))
		return TierNone, nil
	}
	return TierNone, fmt.Errorf("attach on %s: %w", ifname, tierErrors(skipped))
}

func isXDP(t Tier) bool { return t == TierXDP || t == TierXDPGeneric }

// tierErrors joins the reasons of failed tiers for logs and errors.
type tierErrors []TierError

func (e tierErrors) Error() string {
	parts := make([]string, len(e))
	for i := range e {
		parts[i] = e[i].Error()
	}
	return strings.Join(parts, "; ")
}

func (e tierErrors) String() string { return e.Error() }

// attachTier attaches at one tier and pins the attachment.
func (l *Loader) attachTier(t Tier, netif *net.Interface) (*iface, error) {
	ifc := &iface{Interface: Interface{Name: netif.Name, Ifindex: netif.Index, Tier: t}}
	switch t {
	case TierXDP, TierXDPGeneric:
		flags := link.XDPDriverMode
		what := "xdp native"
		if t == TierXDPGeneric {
			flags, what = link.XDPGenericMode, "xdp generic"
		}
		lnk, err := link.AttachXDP(link.XDPOptions{Program: l.objs.XdpVrrp, Interface: netif.Index, Flags: flags})
		if err != nil {
			return nil, fmt.Errorf("attach %s on %s: %w", what, netif.Name, err)
		}
		ifc.link, ifc.Hook = lnk, hookXDP
	case TierTC:
		var tcxErr error
		if !l.noTCX {
			lnk, err := link.AttachTCX(link.TCXOptions{Interface: netif.Index, Program: l.objs.TcVrrp, Attach: ebpf.AttachTCXIngress})
			if err == nil {
				ifc.link, ifc.Hook = lnk, hookTCX
				break
			}
			tcxErr = fmt.Errorf("attach tcx ingress on %s: %w", netif.Name, err)
		}
		clone, err := l.objs.TcVrrp.Clone()
		if err != nil {
			return nil, errors.Join(tcxErr, fmt.Errorf("attach clsact on %s: %w", netif.Name, err))
		}
		if err := clsactReplace(netif.Index, clone); err != nil {
			clone.Close()
			return nil, errors.Join(tcxErr, fmt.Errorf("attach clsact on %s: %w", netif.Name, err))
		}
		ifc.clsProg, ifc.Hook = clone, hookClsact
	default:
		return nil, fmt.Errorf("attach on %s: no tier %s", netif.Name, t)
	}
	if l.pinDir != "" {
		ifc.pin = filepath.Join(l.pinDir, linkPinName(t, ifc.Hook, netif.Index))
		os.Remove(ifc.pin) // a leftover of ours, already judged stale
		var err error
		if ifc.link != nil {
			err = ifc.link.Pin(ifc.pin)
		} else {
			err = ifc.clsProg.Pin(ifc.pin)
		}
		if err != nil {
			l.detach(ifc)
			return nil, fmt.Errorf("pin %s attachment of %s: %w", t, netif.Name, err)
		}
	}
	return ifc, nil
}

// detach removes an attachment and its pin.
func (l *Loader) detach(ifc *iface) error {
	var errs []error
	if ifc.link != nil {
		if err := ifc.link.Unpin(); err != nil {
			errs = append(errs, err)
		}
		if err := ifc.link.Close(); err != nil {
			errs = append(errs, err)
		}
		ifc.link = nil
	}
	if ifc.Hook == hookClsact {
		if err := clsactDelete(ifc.Ifindex); err != nil {
			errs = append(errs, err)
		}
		if ifc.clsProg != nil {
			if ifc.clsProg.IsPinned() {
				ifc.clsProg.Unpin()
			}
			ifc.clsProg.Close()
			ifc.clsProg = nil
		}
	}
	if ifc.pin != "" {
		os.Remove(ifc.pin)
	}
	if l.ifaces[ifc.Ifindex] == ifc {
		delete(l.ifaces, ifc.Ifindex)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("detach %s from %s: %w", ifc.Tier, ifc.Name, err)
	}
	l.log.Info("datapath detached", "interface", ifc.Name, "tier", ifc.Tier.String())
	return nil
}

// Detach removes the program from ifname (also when the interface is gone).
func (l *Loader) Detach(ifname string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ifc := range l.ifaces {
		if ifc.Name == ifname {
			return l.inNS(func() error { return l.detach(ifc) })
		}
	}
	return nil
}

// PruneUnclaimed detaches the attachments adopted at Open that no Attach
// has claimed since: interfaces the new configuration no longer uses. The
// daemon calls it once its interfaces are attached.
func (l *Loader) PruneUnclaimed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, ifc := range l.ifaces {
		if !ifc.claimed {
			if err := l.inNS(func() error { return l.detach(ifc) }); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Interfaces lists the attachments, by name, for status and metrics.
func (l *Loader) Interfaces() []Interface {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Interface, 0, len(l.ifaces))
	for _, ifc := range l.ifaces {
		i := ifc.Interface
		i.Skipped = slices.Clone(i.Skipped)
		out = append(out, i)
	}
	slices.SortFunc(out, func(a, b Interface) int { return strings.Compare(a.Name, b.Name) })
	return out
}
