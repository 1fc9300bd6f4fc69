// Package testutil holds helpers shared by lbd's tests: precise skips for
// privileged layers, and strict mode (LBD_TEST_STRICT=1, set by CI) under
// which a skip is a failure, so that no test layer silently stops running.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// Strict reports whether skips must fail (LBD_TEST_STRICT=1).
func Strict() bool { return os.Getenv("LBD_TEST_STRICT") == "1" }

// Skip skips tb with reason, or fails it under strict mode.
func Skip(tb testing.TB, reason string) {
	tb.Helper()
	if Strict() {
		tb.Fatalf("LBD_TEST_STRICT=1 and this test would skip: %s", reason)
	}
	tb.Skip(reason)
}

// RequireRoot skips (or fails under strict mode) unless running as root.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		Skip(tb, "needs root (network namespaces, BPF, netlink)")
	}
}

// RequireCommand skips (or fails under strict mode) unless every named
// program is on PATH, and returns their full paths in order.
func RequireCommand(tb testing.TB, names ...string) []string {
	tb.Helper()
	paths := make([]string, 0, len(names))
	for _, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			Skip(tb, "needs "+n+" on PATH (make deps installs it)")
		}
		paths = append(paths, p)
	}
	return paths
}
