package vrrp

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"time"
)

// readErrorPause is how long a reader waits after a read error that is
// neither a bad packet nor a closed socket, so that a persistent error
// cannot spin.
const readErrorPause = 100 * time.Millisecond

// reader is the goroutine of one socket: it reads packets, picks the
// instance by destination and VRID, validates against the instance's
// published receive rules and queues accepted adverts.
type reader struct {
	rt      *Runtime
	conn    Conn
	port    *port
	unicast bool
	log     *slog.Logger

	adv Advert // decoding space, reused
}

func (rd *reader) run() {
	defer rd.rt.wg.Done()
	buf := make([]byte, rd.rt.opts.ReadBuffer)
	rd.adv.Addrs = make([]netip.Addr, 0, 16)
	var lastErr time.Time
	for {
		p, err := rd.conn.ReadPacket(buf)
		if err != nil {
			switch {
			case errors.Is(err, ErrBadPacket):
				rd.port.drops[ReasonPacketLen].Add(1)
				continue
			case errors.Is(err, net.ErrClosed) || rd.rt.ctx.Err() != nil:
				return
			}
			if time.Since(lastErr) > time.Minute {
				rd.log.Warn("read vrrp socket", "error", err)
				lastErr = time.Now()
			}
			select {
			case <-rd.rt.ctx.Done():
				return
			case <-time.After(readErrorPause):
			}
			continue
		}
		rd.handle(p)
	}
}

// handle is the receive path of one packet. It allocates nothing.
func (rd *reader) handle(p Packet) Reason {
	vrid, ok := PeekVRID(p.Payload)
	if !ok {
		rd.port.drops[ReasonPacketLen].Add(1)
		return ReasonPacketLen
	}
	t := rd.port.table.Load()
	var r *runner
	if p.Dst.IsMulticast() {
		// Only the groups this socket joined arrive here. A unicast
		// instance with the VRID gets the packet for its reason
		// (addr_list: multicast where unicast is configured).
		r = t.mcast[groupVRID{p.Dst, vrid}]
		if r == nil {
			r = t.ucast[vrid]
		}
	} else {
		if !rd.unicast {
			return ReasonNone // another socket of the port takes unicast
		}
		r = t.ucast[vrid]
		if r == nil {
			for k, m := range t.mcast {
				if k.vrid == vrid {
					r = m
					break
				}
			}
		}
	}
	if r == nil {
		rd.port.drops[ReasonVRIDUnknown].Add(1)
		if rd.rt.logUnknown.Load() {
			rd.logUnknown(vrid, &p)
		}
		return ReasonVRIDUnknown
	}
	v := r.view.Load()
	switch v.state {
	case StateInit, StateFault, StateStop:
		return ReasonNone // ignored uncounted, as keepalived does
	}
	if reason := Validate(&v.rx, p, &rd.adv); reason != ReasonNone {
		rd.port.drops[reason].Add(1)
		r.dropped.Add(1)
		return reason
	}
	r.received.Add(1)
	if rd.adv.Priority == PriorityStop {
		r.zeroRecv.Add(1)
	}
	r.deliver(rxEvent{src: p.Src, adv: scalarAdvert(&rd.adv)})
	return ReasonNone
}

// logUnknown is log_unknown_vrids: an advert for a VRID no instance of the
// port has, logged as rate-limited by unknownLog.
func (rd *reader) logUnknown(vrid uint8, p *Packet) {
	every := rd.rt.opts.UnknownVRIDLogInterval
	ok, unlogged := rd.port.unknown.note(time.Now(), vrid, every)
	if !ok {
		return
	}
	rd.log.Info("vrrp advert for a VRID no instance has on this interface: ignored",
		"vrid", int(vrid), "src", p.Src, "dst", p.Dst, "not_logged", unlogged, "log_interval", every)
}
