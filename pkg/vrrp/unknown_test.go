package vrrp

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// logRecorder keeps the records of a slog.Logger.
type logRecorder struct {
	mu   sync.Mutex
	recs []map[string]any // "msg" and the attributes
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	m := map[string]any{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.Any()
		return true
	})
	h.mu.Lock()
	h.recs = append(h.recs, m)
	h.mu.Unlock()
	return nil
}

// unknown returns the log_unknown_vrids lines, as "vrid/not_logged".
func (h *logRecorder) unknown() [][2]int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out [][2]int64
	for _, m := range h.recs {
		if v, ok := m["vrid"].(int64); ok && m["not_logged"] != nil {
			out = append(out, [2]int64{v, int64(m["not_logged"].(uint64))})
		}
	}
	return out
}

// advertOf returns an advert of VRID vrid from addrB to the group.
func advertOf(t *testing.T, vrid uint8) Packet {
	t.Helper()
	in, err := NewInstance(testConfig(func(c *Config) { c.VRID = vrid }), Options{LocalAddr: addrB})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := in.AppendAdvert(nil, 150, addrB, MulticastGroupIPv4)
	if err != nil {
		t.Fatal(err)
	}
	return Packet{Src: addrB, Dst: MulticastGroupIPv4, HopLimit: TTL, Payload: msg}
}

// TestRuntimeLogUnknownVRIDs: with log_unknown_vrids, the first advert of
// a VRID no instance of the port has is logged at once, the next ones of
// that VRID at most once per interval with the number not logged; every
// one is counted; SetLogUnknownVRIDs(false) stops the lines, not the
// count; a known VRID is never logged.
func TestRuntimeLogUnknownVRIDs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &logRecorder{}
		w := &fakeWire{}
		a := newNode(t, w, addrA, nodeOpts{rtOpts: RuntimeOptions{Logger: slog.New(rec), LogUnknownVRIDs: true,
			UnknownVRIDLogInterval: time.Minute}})
		a.rt.Start()
		defer a.stop(t)
		synctest.Wait()
		u99, u98, known := advertOf(t, 99), advertOf(t, 98), advertOf(t, 7)
		send := func(ps ...Packet) {
			for _, p := range ps {
				a.conn.ch <- p
			}
			synctest.Wait()
		}
		check := func(step string, want [][2]int64, dropped float64) {
			t.Helper()
			got := rec.unknown()
			if len(got) != len(want) {
				t.Fatalf("%s: lines %v, want %v (vrid, not_logged)", step, got, want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s: lines %v, want %v (vrid, not_logged)", step, got, want)
				}
			}
			if v := metric(t, a.reg, "lbd_vrrp_packets_dropped_total", "interface", "eth0", "reason", "vrid_unknown"); v != dropped {
				t.Errorf("%s: dropped{vrid_unknown} = %v, want %v", step, v, dropped)
			}
		}

		send(u99, u99, known, u99, u98, u99, u99)
		check("first adverts", [][2]int64{{99, 0}, {98, 0}}, 6)

		time.Sleep(59 * time.Second)
		send(u99)
		check("within the interval", [][2]int64{{99, 0}, {98, 0}}, 7)

		time.Sleep(2 * time.Second)
		send(u99, u99)
		check("after the interval", [][2]int64{{99, 0}, {98, 0}, {99, 5}}, 9)

		a.rt.SetLogUnknownVRIDs(false)
		time.Sleep(2 * time.Minute)
		send(u99, u98)
		check("turned off", [][2]int64{{99, 0}, {98, 0}, {99, 5}}, 11)

		a.rt.SetLogUnknownVRIDs(true)
		send(u98)
		check("turned on again", [][2]int64{{99, 0}, {98, 0}, {99, 5}, {98, 0}}, 12)
	})
}

// TestRuntimeUnknownVRIDsNotLogged: without log_unknown_vrids (the
// default) they are only counted.
func TestRuntimeUnknownVRIDsNotLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &logRecorder{}
		w := &fakeWire{}
		a := newNode(t, w, addrA, nodeOpts{rtOpts: RuntimeOptions{Logger: slog.New(rec)}})
		a.rt.Start()
		defer a.stop(t)
		synctest.Wait()
		a.conn.ch <- advertOf(t, 99)
		synctest.Wait()
		if got := rec.unknown(); len(got) != 0 {
			t.Errorf("lines %v, want none", got)
		}
		if v := metric(t, a.reg, "lbd_vrrp_packets_dropped_total", "interface", "eth0", "reason", "vrid_unknown"); v != 1 {
			t.Errorf("dropped{vrid_unknown} = %v, want 1", v)
		}
	})
}
