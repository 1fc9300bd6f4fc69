package vrrp

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// benchConn hands the reader whatever the benchmark pushes.
type benchConn struct {
	ch     chan Packet
	closed chan struct{}
}

func (c *benchConn) ReadPacket(b []byte) (Packet, error) {
	select {
	case p := <-c.ch:
		n := copy(b, p.Payload)
		p.Payload = b[:n]
		return p, nil
	case <-c.closed:
		return Packet{}, net.ErrClosed
	}
}

func (c *benchConn) WriteTo([]byte, netip.Addr, netip.Addr) error { return nil }

func (c *benchConn) Close() error {
	select {
	case <-c.closed:
	default:
		close(c.closed)
	}
	return nil
}

// benchRuntime runs one BACKUP instance (priority 100) fed by a benchConn,
// and returns it with a valid advert from a priority-150 master.
func benchRuntime(b *testing.B) (*Runtime, *runner, *benchConn, Packet) {
	b.Helper()
	conn := &benchConn{ch: make(chan Packet, 1), closed: make(chan struct{})}
	rt := NewRuntime(RuntimeOptions{})
	if err := rt.AddInstance(InstanceSpec{
		Config:  testConfig(withPrio(100)),
		Options: Options{LocalAddr: addrA},
		Conn:    conn,
	}); err != nil {
		b.Fatal(err)
	}
	rt.Listen(conn, ListenSpec{Interface: "eth0", Family: FamilyIPv4, Unicast: true})
	rt.Start()
	b.Cleanup(func() { rt.Stop(context.Background()) })
	r, _ := rt.runner("VI_1")
	for r.view.Load().state != StateBackup {
		runtime.Gosched()
	}
	peer, err := NewInstance(testConfig(withPrio(150)), Options{LocalAddr: addrB})
	if err != nil {
		b.Fatal(err)
	}
	msg, err := peer.AppendAdvert(nil, 150, addrB, MulticastGroupIPv4)
	if err != nil {
		b.Fatal(err)
	}
	return rt, r, conn, Packet{Src: addrB, Dst: MulticastGroupIPv4, HopLimit: TTL, Payload: msg}
}

// BenchmarkRuntimeRx is the whole receive path of a BACKUP instance:
// socket -> reader (demux, Validate) -> inbox -> the instance's goroutine
// (HandleAdvert, timer re-arm). The pusher keeps the inbox half full, so
// nothing overflows and adverts/s is what the two goroutines sustain.
func BenchmarkRuntimeRx(b *testing.B) {
	_, r, conn, pkt := benchRuntime(b)
	base := r.received.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for len(r.inbox) > cap(r.inbox)/2 {
			runtime.Gosched()
		}
		conn.ch <- pkt
	}
	for r.received.Load()-base < uint64(b.N) || len(r.inbox) > 0 {
		runtime.Gosched()
	}
	b.StopTimer()
	if o := r.overflow.Load(); o != 0 {
		b.Fatalf("%d adverts overflowed", o)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "adverts/s")
}

// BenchmarkReaderHandle is the reader's share per packet: demux and
// validation of an accepted advert, queued to a drained inbox; and of a
// rejected one (bad checksum), counted and dropped.
func BenchmarkReaderHandle(b *testing.B) {
	rt, r, _, pkt := benchRuntime(b)
	rd := &reader{rt: rt, port: r.port, unicast: true}
	rd.adv.Addrs = make([]netip.Addr, 0, 16)
	b.Run("accepted", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if rd.handle(pkt) != ReasonNone {
				b.Fatal("rejected")
			}
			if len(r.inbox) > cap(r.inbox)/2 {
				for len(r.inbox) > 0 {
					runtime.Gosched()
				}
			}
		}
	})
	bad := pkt
	bad.Payload = append([]byte(nil), pkt.Payload...)
	bad.Payload[6] ^= 0xff
	b.Run("rejected", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if rd.handle(bad) != ReasonChecksum {
				b.Fatal("accepted")
			}
		}
	})
	// An unknown VRID with log_unknown_vrids on: the flood case, all but
	// the first line rate-limited away.
	unknown := pkt
	unknown.Payload = append([]byte(nil), pkt.Payload...)
	unknown.Payload[1] = 99
	rd.log = slog.New(slog.DiscardHandler)
	rt.SetLogUnknownVRIDs(true)
	b.Run("unknown_vrid_logged", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if rd.handle(unknown) != ReasonVRIDUnknown {
				b.Fatal("not unknown")
			}
		}
	})
}

// BenchmarkMasterAdvertStep is one adver-timer step of a MASTER: Tick,
// build and send the advert, re-arm; run inline, without the goroutine.
func BenchmarkMasterAdvertStep(b *testing.B) {
	conn := &benchConn{ch: make(chan Packet), closed: make(chan struct{})}
	rt := NewRuntime(RuntimeOptions{})
	in, err := NewInstance(testConfig(func(c *Config) { c.Priority = 255; c.StartState = StartMaster }), Options{LocalAddr: addrA})
	if err != nil {
		b.Fatal(err)
	}
	p := rt.portLocked(portKey{"eth0", FamilyIPv4})
	r := newRunner(rt, in, InstanceSpec{Conn: conn, Group: MulticastGroupIPv4, Interface: "eth0"}, p)
	r.timer = newWaker(true)
	defer r.timer.Close()
	now := time.Now()
	r.do(now, in.Start(now))
	r.publish()
	b.ReportAllocs()
	for b.Loop() {
		d, _ := in.Deadline()
		r.do(d, in.Tick(d))
		r.publish()
	}
	if r.sent.Load() < uint64(b.N) {
		b.Fatalf("sent %d adverts in %d steps", r.sent.Load(), b.N)
	}
}
