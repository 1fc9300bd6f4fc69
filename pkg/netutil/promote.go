package netutil

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"golang.org/x/sys/unix"
)

// PromoteSecondaries holds net.ipv4.conf.IFNAME.promote_secondaries=1 on
// interfaces for as long as something needs it (vrrp_instance
// promote_secondaries), as keepalived does (vrrp_if_config.c
// set_promote_secondaries / reset_promote_secondaries): the first hold on
// an interface whose value is 0 sets it to 1, the last release sets it
// back to 0; an interface found at 1 already is left alone, before and
// after. With it, removing an interface's primary IPv4 address promotes
// a secondary of the same subnet (a VIP) instead of deleting every
// secondary with it. Safe for concurrent use; the sysctls are those of
// the Host's namespace.
type PromoteSecondaries struct {
	host *Host
	log  *slog.Logger

	mu   sync.Mutex
	held map[string]*promoteRef
}

type promoteRef struct {
	refs    int
	ifindex int
	// set: this manager turned it on, and turns it off after the last
	// release.
	set bool
}

// NewPromoteSecondaries returns a manager acting through host; log gets
// one line per change (nil discards).
func NewPromoteSecondaries(host *Host, log *slog.Logger) *PromoteSecondaries {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &PromoteSecondaries{host: host, log: log, held: map[string]*promoteRef{}}
}

func promoteKey(ifname string) string { return "net/ipv4/conf/" + ifname + "/promote_secondaries" }

// Hold takes a reference on ifname's promote_secondaries, setting it on
// the first if it is 0.
func (p *PromoteSecondaries) Hold(ifname string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.held[ifname]; ok {
		r.refs++
		return nil
	}
	link, err := p.host.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("promote_secondaries on %s: %w", ifname, err)
	}
	v, err := p.host.readSysctls(promoteKey(ifname))
	if err != nil {
		return fmt.Errorf("promote_secondaries on %s: %w", ifname, err)
	}
	r := &promoteRef{refs: 1, ifindex: link.Index}
	if v[0] == "0" {
		if err := p.host.writeSysctls(sysctlWrite{promoteKey(ifname), "1"}); err != nil {
			return fmt.Errorf("promote_secondaries on %s: %w", ifname, err)
		}
		r.set = true
		p.log.Info("promote_secondaries set", "interface", ifname)
	}
	p.held[ifname] = r
	return nil
}

// Release drops a reference; after the last, a value Hold set goes back
// to 0. An interface that is gone (or another of that name) needs no
// restoring.
func (p *PromoteSecondaries) Release(ifname string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.releaseLocked(ifname, false)
}

func (p *PromoteSecondaries) releaseLocked(ifname string, all bool) error {
	r, ok := p.held[ifname]
	if !ok {
		return nil
	}
	if r.refs--; r.refs > 0 && !all {
		return nil
	}
	delete(p.held, ifname)
	if !r.set {
		return nil
	}
	link, err := p.host.LinkByName(ifname)
	if err != nil || link.Index != r.ifindex {
		return nil
	}
	err = p.host.writeSysctls(sysctlWrite{promoteKey(ifname), "0"})
	if errors.Is(err, unix.ENOENT) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return fmt.Errorf("promote_secondaries on %s: restore: %w", ifname, err)
	}
	p.log.Info("promote_secondaries restored", "interface", ifname, "promote_secondaries", 0)
	return nil
}

// ReleaseAll drops every reference, restoring what Hold set.
func (p *PromoteSecondaries) ReleaseAll() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for name := range p.held {
		errs = append(errs, p.releaseLocked(name, true))
	}
	return errors.Join(errs...)
}

// Held reports whether ifname is held (tests, status).
func (p *PromoteSecondaries) Held(ifname string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held[ifname] != nil
}
