package loader

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestAddrHashIsOrderFree(t *testing.T) {
	a := addrs("192.0.2.1", "192.0.2.2", "192.0.2.3")
	b := addrs("192.0.2.3", "192.0.2.1", "192.0.2.2")
	if addrHash(a) != addrHash(b) {
		t.Error("hash depends on order")
	}
	if addrHash(a) == addrHash(addrs("192.0.2.1", "192.0.2.2", "192.0.2.4")) {
		t.Error("different lists hash alike")
	}
	if addrHash(addrs("2001:db8::1")) == addrHash(addrs("2001:db8::2")) {
		t.Error("different IPv6 addresses hash alike")
	}
	if addrHash(nil) != 0 {
		t.Error("empty list hashes to non-zero")
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{ModeAuto, ModeXDP, ModeXDPGeneric, ModeTC, ModeIPVS, ModeOff} {
		got, err := ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseMode("native"); err == nil {
		t.Error("ParseMode accepted an unknown mode")
	}
}

func TestEventKindString(t *testing.T) {
	if got := (EventNewSender | EventWhileMaster).String(); got != "new_sender|while_master" {
		t.Errorf("got %q", got)
	}
	if got := EventKind(0).String(); got != "none" {
		t.Errorf("got %q", got)
	}
}

func TestVRIDConfigValidation(t *testing.T) {
	k4 := VRIDKey{Ifindex: 1, VRID: 1, Family: IPv4}
	k6 := VRIDKey{Ifindex: 1, VRID: 1, Family: IPv6}
	ok := VRIDConfig{Version: 3, Interval: time.Second, VIPs: addrs("192.0.2.1")}
	if _, err := ok.toBPF(k4); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	many := make([]netip.Addr, MaxAddrsIPv6+1)
	for i := range many {
		many[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 15: byte(i)})
	}
	for _, c := range []struct {
		name       string
		k          VRIDKey
		c          VRIDConfig
		offloadErr bool
	}{
		{"vrid 0", VRIDKey{Ifindex: 1, Family: IPv4}, ok, false},
		{"no interface", VRIDKey{VRID: 1, Family: IPv4}, ok, false},
		{"family mismatch", k6, ok, false},
		{"v2 fractional interval", k4, VRIDConfig{Version: 2, Interval: 1500 * time.Millisecond}, false},
		{"v3 with auth", k4, VRIDConfig{Version: 3, Interval: time.Second, AuthType: AuthPass}, false},
		{"v3 interval beyond 40.95s", k4, VRIDConfig{Version: 3, Interval: time.Minute}, false},
		{"version 4", k4, VRIDConfig{Version: 4, Interval: time.Second}, false},
		{"AH", k4, VRIDConfig{Version: 2, Interval: time.Second, AuthType: AuthAH}, true},
		{"21 IPv6 addresses", k6, VRIDConfig{Version: 3, Interval: time.Second, VIPs: many}, true},
	} {
		_, err := c.c.toBPF(c.k)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if errors.Is(err, ErrNotOffloadable) != c.offloadErr {
			t.Errorf("%s: %v (ErrNotOffloadable: want %v)", c.name, err, c.offloadErr)
		}
	}
}

// monoToTime reads the program's clock (CLOCK_MONOTONIC) back as Go time:
// a reading taken between two time.Now calls converts to about the same
// moment. The slack only tells a wrong clock (CLOCK_REALTIME, BOOTTIME
// after a suspend, a sign error) from the right one, not accuracy.
func TestMonoToTime(t *testing.T) {
	var ts unix.Timespec
	before := time.Now()
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	const slack = 50 * time.Millisecond
	got := monoToTime(time.Now(), uint64(ts.Nano()))
	if got.Before(before.Add(-slack)) || got.After(after.Add(slack)) {
		t.Errorf("monoToTime(CLOCK_MONOTONIC now) = %v, want between %v and %v", got, before, after)
	}
	if !monoToTime(time.Now(), 0).IsZero() {
		t.Error("monoToTime(0) is not the zero time")
	}
	if now := time.Now(); !monoToTime(now, uint64(ts.Nano())+uint64(time.Hour)).Equal(now) {
		t.Error("a time after now is not clamped to now")
	}
}
