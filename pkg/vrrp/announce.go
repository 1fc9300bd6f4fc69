package vrrp

import (
	"sync"
	"time"
)

// maxPending bounds a pacer's queue; beyond it new messages are dropped
// (and logged), which only a pathological configuration reaches.
const maxPending = 1 << 16

// pacerKey is one pacing domain and family: keepalived keeps one
// garp_next_time and one gna_next_time per interface (or per garp_group
// of interfaces), so ARPs and NAs are paced independently.
type pacerKey struct {
	domain string
	family Family
}

// garpMsg is one gratuitous ARP / NA to send for an instance, valid while
// the instance is still in the mastership it was queued in.
type garpMsg struct {
	r     *runner
	t     *AnnounceTarget
	epoch uint64
}

// pacer sends the announcements of one domain and family, in order, at
// most one per Interval, on its own goroutine so that an instance's loop
// never waits for them. Messages whose instance left MASTER (or became
// MASTER again: a new burst is queued then) are dropped unsent, as
// keepalived's vrrp_arp_thread skips instances no longer MASTER.
type pacer struct {
	rt  *Runtime
	key pacerKey

	mu     sync.Mutex
	queue  []garpMsg
	wake   chan struct{}
	warned bool
}

func (rt *Runtime) pacerLocked(domain string, f Family) *pacer {
	k := pacerKey{domain, f}
	p := rt.pacers[k]
	if p == nil {
		p = &pacer{rt: rt, key: k, wake: make(chan struct{}, 1)}
		rt.pacers[k] = p
		rt.wg.Add(1) // under rt.mu, never after Stop began: no race with wg.Wait
		go p.run()
	}
	return p
}

func (p *pacer) enqueue(m garpMsg) {
	p.mu.Lock()
	if len(p.queue) >= maxPending {
		warn := !p.warned
		p.warned = true
		p.mu.Unlock()
		if warn {
			p.rt.log.Warn("too many gratuitous ARP/NA queued: dropping", "domain", p.key.domain, "family", p.key.family.String())
		}
		return
	}
	p.queue = append(p.queue, m)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// next pops the first message still worth sending.
func (p *pacer) next() (garpMsg, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.queue) > 0 {
		m := p.queue[0]
		p.queue[0] = garpMsg{}
		p.queue = p.queue[1:]
		if len(p.queue) == 0 {
			p.queue = nil // let the backing array go
		}
		if m.r.master.Load() && m.r.epoch.Load() == m.epoch {
			return m, true
		}
	}
	return garpMsg{}, false
}

func (p *pacer) run() {
	defer p.rt.wg.Done()
	var last time.Time // when the previous message was sent
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		m, ok := p.next()
		if !ok {
			select {
			case <-p.wake:
				continue
			case <-p.rt.ctx.Done():
				return
			}
		}
		if iv := m.t.Interval; iv > 0 && !last.IsZero() {
			if wait := time.Until(last.Add(iv)); wait > 0 {
				deadline := last.Add(iv)
				timer.Reset(wait)
				select {
				case <-timer.C:
					p.rt.m.ObserveLateness(time.Since(deadline))
				case <-p.rt.ctx.Done():
					return
				}
				// The instance may have left MASTER while we waited.
				if !m.r.master.Load() || m.r.epoch.Load() != m.epoch {
					continue
				}
			}
		}
		last = time.Now()
		if err := m.t.Announcer.Announce(m.t.Addr); err != nil {
			m.r.errs.Add(1)
			m.r.im.error(OpGARP)
			m.r.log.Warn("gratuitous arp / unsolicited na", "vip", m.t.Addr, "error", err)
			continue
		}
		m.r.garp.Add(1)
		m.r.im.garp.Inc()
	}
}
