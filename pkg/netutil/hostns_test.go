package netutil

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// openHost opens a Host inside n (OpenHost: netlink sockets and the
// namespace handle live there), closed at cleanup.
func openHost(tb testing.TB, n *testNS) *Host {
	tb.Helper()
	var h *Host
	n.do(tb, func() (err error) {
		h, err = OpenHost()
		return err
	})
	tb.Cleanup(h.Close)
	return h
}

// sysctl reads a sysctl of n through the lab, independently of the
// package's own reader.
func sysctl(tb testing.TB, n *testNS, key string) string {
	tb.Helper()
	var v string
	n.do(tb, func() error {
		b, err := os.ReadFile(filepath.Join("/proc/sys", key))
		v = strings.TrimSpace(string(b))
		return err
	})
	return v
}

// setSysctl writes a sysctl of n (keys keep their dots: "vrrp.51").
func setSysctl(tb testing.TB, n *testNS, key, value string) {
	tb.Helper()
	n.do(tb, func() error {
		return os.WriteFile(filepath.Join("/proc/sys", key), []byte(value), 0)
	})
}

// TestHostSysctlsInItsNamespace: a Host reads and writes the sysctls of
// the namespace it was opened in, from whichever thread calls, and a Host
// without a namespace handle refuses instead of acting on the caller's.
func TestHostSysctlsInItsNamespace(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	ha, hb := openHost(t, p.a), openHost(t, p.b)
	key := "net/ipv4/conf/" + p.aName + "/arp_ignore"
	if err := ha.writeSysctls(sysctlWrite{key, "2"}); err != nil {
		t.Fatal(err)
	}
	if got := sysctl(t, p.a, key); got != "2" {
		t.Fatalf("a's %s = %s after a write through a's host", key, got)
	}
	if got := sysctl(t, p.b, key); got != "0" {
		t.Fatalf("b's %s = %s: the write went to the wrong namespace", key, got)
	}
	got, err := hb.readSysctls(key)
	if err != nil || got[0] != "0" {
		t.Fatalf("b's host reads %v, %v", got, err)
	}
	names, err := ha.listSysctlDir("net/ipv4/conf")
	if err != nil || !strings.Contains(strings.Join(names, " "), p.aName) {
		t.Fatalf("list: %v, %v", names, err)
	}
	bare := &Host{nl: p.a.nl}
	if _, err := bare.readSysctls(key); !errors.Is(err, errNoNamespace) {
		t.Fatalf("host without namespace handle: %v", err)
	}
	if err := bare.AddRoute(Route{Type: RouteBlackhole, Dst: addrPrefix("203.0.113.0/24")}); !errors.Is(err, errNoNamespace) {
		t.Fatalf("route through a host without its own socket: %v", err)
	}
	for _, bad := range []string{"kernel/hostname", "net/../kernel/x", "net//ipv4", "net/ipv4/conf/../../x"} {
		if _, err := ha.readSysctls(bad); err == nil {
			t.Errorf("sysctl %q accepted", bad)
		}
	}
}
