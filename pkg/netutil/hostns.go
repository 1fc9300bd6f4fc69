package netutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// errNoNamespace reports a Host that was not opened by OpenHost: it has no
// handle on its namespace, and acting in the caller's instead could touch
// the wrong one.
var errNoNamespace = errors.New("host has no namespace handle (open it with OpenHost)")

// routeConn returns the socket for requests this package encodes: the
// Host's own, or for a nil Host a new one in the calling thread's
// namespace, closed by release.
func (h *Host) routeConn() (c *nlConn, release func(), err error) {
	if h == nil {
		c, err := openNLConn()
		if err != nil {
			return nil, nil, err
		}
		return c, c.close, nil
	}
	if h.rt == nil {
		return nil, nil, errNoNamespace
	}
	return h.rt, func() {}, nil
}

// inNamespace runs fn on a thread in the Host's network namespace (for a
// nil Host, in the calling thread's). /proc/sys/net shows the namespace of
// the thread that opens a file, so sysctls are read and written there. A
// thread that cannot switch back is never unlocked, so the runtime
// discards it instead of reusing it in the wrong namespace.
func (h *Host) inNamespace(fn func() error) error {
	if h == nil {
		return fn()
	}
	if h.ns == nil {
		return errNoNamespace
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("own network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(h.ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter network namespace: %w", err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("leave network namespace: %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// sysctlPath checks a key like "net/ipv4/conf/eth0/arp_ignore": only
// per-namespace network sysctls, and no path tricks through an interface
// name.
func sysctlPath(key string) (string, error) {
	parts := strings.Split(key, "/")
	if len(parts) < 2 || parts[0] != "net" {
		return "", fmt.Errorf("sysctl %q: not a network sysctl", key)
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return "", fmt.Errorf("sysctl %q: bad path", key)
		}
	}
	return filepath.Join("/proc/sys", key), nil
}

// readSysctls reads keys in the Host's namespace.
func (h *Host) readSysctls(keys ...string) ([]string, error) {
	out := make([]string, len(keys))
	err := h.inNamespace(func() error {
		for i, k := range keys {
			p, err := sysctlPath(k)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("read sysctl %s: %w", k, err)
			}
			out[i] = strings.TrimSpace(string(b))
		}
		return nil
	})
	return out, err
}

// sysctlWrite is one sysctl to set.
type sysctlWrite struct{ key, value string }

// writeSysctls writes in order in the Host's namespace and stops at the
// first failure.
func (h *Host) writeSysctls(ws ...sysctlWrite) error {
	return h.inNamespace(func() error {
		for _, w := range ws {
			p, err := sysctlPath(w.key)
			if err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(w.value), 0); err != nil {
				return fmt.Errorf("write sysctl %s=%s: %w", w.key, w.value, err)
			}
		}
		return nil
	})
}

// listSysctlDir lists a sysctl directory (the interfaces under
// net/ipv4/conf) in the Host's namespace.
func (h *Host) listSysctlDir(key string) ([]string, error) {
	var names []string
	err := h.inNamespace(func() error {
		p, err := sysctlPath(key)
		if err != nil {
			return err
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return fmt.Errorf("list sysctl %s: %w", key, err)
		}
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return nil
	})
	return names, err
}
