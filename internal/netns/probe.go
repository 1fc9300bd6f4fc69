package netns

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// Poll calls cond until it returns nil, or until timeout has passed, and
// then returns cond's last error. It polls often at first and backs off
// to every 100ms: no fixed sleeps, and a busy machine only makes it
// slower. A cond error wrapped with Permanent ends the polling at once.
func Poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	wait := 2 * time.Millisecond
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if errors.Is(err, errStop) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", timeout, err)
		}
		time.Sleep(wait)
		if wait < 100*time.Millisecond {
			wait *= 2
		}
	}
}

// Permanent marks err as final for Poll and Eventually: polling stops and
// returns it.
func Permanent(err error) error { return stopPolling{err} }

// Eventually fails the test unless cond returns nil before timeout; what
// names the awaited condition in the failure message.
func Eventually(tb testing.TB, timeout time.Duration, what string, cond func() error) {
	tb.Helper()
	if err := Poll(timeout, cond); err != nil {
		tb.Fatalf("waiting for %s: %v", what, err)
	}
}

// Ping sends one echo request (IPv4 or IPv6, iputils ping) from the host
// to addr and waits up to 2s for the reply. A link-local IPv6 address
// needs its zone: "fe80::1%eth0".
func (h *Host) Ping(addr string) error {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return fmt.Errorf("ping %q: %w", addr, err)
	}
	args := []string{"-n", "-q", "-c", "1", "-W", "2"}
	if a.Is6() {
		args = append(args, "-6")
	} else {
		args = append(args, "-4")
	}
	_, err = h.Run("ping", append(args, addr)...)
	return err
}
