package netns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Host is one network namespace of a lab, named PREFIX-NAME under
// /run/netns. Its methods that do not return an error fail the test on
// error, so call them from the test's goroutine.
type Host struct {
	lab  *Lab
	name string
	ns   string // PREFIX-NAME
	path string // /run/netns/PREFIX-NAME
	fd   int    // open on path, for setns and veth peers
	nl   *netlink.Handle

	mu    sync.Mutex
	bpffs string
	nproc int
}

func newHost(l *Lab, name string) (*Host, error) {
	h := &Host{lab: l, name: name, ns: l.prefix + "-" + name}
	h.path = filepath.Join(NetnsDir, h.ns)
	if out, err := exec.Command("ip", "netns", "add", h.ns).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %v: %s", h.ns, err, strings.TrimSpace(string(out)))
	}
	fd, err := unix.Open(h.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", h.path, err)
	}
	h.fd = fd
	// Cleanups run last-in first-out: this one runs before the lab's
	// Sweep, which removes the namespace itself.
	l.t.Cleanup(func() {
		if h.nl != nil {
			h.nl.Close()
		}
		unix.Close(h.fd)
	})
	err = h.Do(func() error {
		var err error
		if h.nl, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
			return fmt.Errorf("netlink handle: %w", err)
		}
		if !l.opts.KeepDAD {
			for _, k := range []string{"all", "default"} {
				if err := writeSysctl("net/ipv6/conf/"+k+"/accept_dad", "0"); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := h.linkUp("lo", true); err != nil {
		return nil, err
	}
	return h, nil
}

// Name is the host's name in the lab ("a").
func (h *Host) Name() string { return h.name }

// NS is the namespace's name for `ip netns exec` ("lbk3f9a-a").
func (h *Host) NS() string { return h.ns }

// Path is the namespace's bind mount (/run/netns/NS).
func (h *Host) Path() string { return h.path }

// Netlink returns a netlink handle bound to the host's namespace, for
// what the helpers here do not cover. Do not close it.
func (h *Host) Netlink() *netlink.Handle { return h.nl }

// Do runs fn with its goroutine's thread switched into the host's network
// namespace. Sockets opened by fn stay in the namespace after Do returns
// (listen inside Do, serve outside); goroutines started by fn do not run
// in it. fn runs on a fresh locked goroutine: if switching back fails,
// that thread is never unlocked, so the runtime discards it rather than
// reuse a thread left in the wrong namespace. A panic in fn is re-raised
// in the caller. fn must not call t.Fatal or t.Skip (they would end fn's
// goroutine, not the test's): return an error instead.
func (h *Host) Do(fn func() error) error {
	type result struct {
		err   error
		panic any
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("open own netns: %w", err)}
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(h.fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("setns %s: %w", h.ns, err)}
			return
		}
		var r result
		returned := false
		defer func() {
			// Runs on return, panic and runtime.Goexit alike, so the
			// caller is never left waiting.
			if p := recover(); p != nil {
				r.panic = p
			} else if !returned {
				r.err = fmt.Errorf("in %s: fn exited its goroutine (t.Fatal or t.Skip inside Do? return an error instead)", h.ns)
			}
			if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
				// Stay locked: the thread exits with this goroutine.
				if r.err == nil {
					r.err = fmt.Errorf("restore netns after %s: %w", h.ns, err)
				}
				ch <- r
				return
			}
			runtime.UnlockOSThread()
			ch <- r
		}()
		r.err = fn()
		returned = true
	}()
	r := <-ch
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

func writeSysctl(key, value string) error {
	p := filepath.Join("/proc/sys", key)
	if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// Sysctl sets a sysctl inside the host ("net/ipv4/ip_forward", "1"; dots
// are accepted too: "net.ipv4.ip_forward").
func (h *Host) Sysctl(key, value string) {
	h.lab.t.Helper()
	key = strings.ReplaceAll(key, ".", "/")
	if err := h.Do(func() error { return writeSysctl(key, value) }); err != nil {
		h.lab.t.Fatalf("netns: %s: %v", h.name, err)
	}
}

func (h *Host) link(ifname string) (netlink.Link, error) {
	l, err := h.nl.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("link %s in %s: %w", ifname, h.ns, err)
	}
	return l, nil
}

func (h *Host) linkUp(ifname string, up bool) error {
	l, err := h.link(ifname)
	if err != nil {
		return err
	}
	if up {
		err = h.nl.LinkSetUp(l)
	} else {
		err = h.nl.LinkSetDown(l)
	}
	if err != nil {
		return fmt.Errorf("set %s up=%v in %s: %w", ifname, up, h.ns, err)
	}
	return nil
}

// SetLink sets ifname administratively up or down. Down on one end of a
// veth takes the carrier away from the other end too: a link loss.
func (h *Host) SetLink(ifname string, up bool) {
	h.lab.t.Helper()
	if err := h.linkUp(ifname, up); err != nil {
		h.lab.t.Fatalf("netns: %v", err)
	}
}

// SetMAC sets ifname's hardware address ("02:00:00:00:00:0a").
func (h *Host) SetMAC(ifname, mac string) {
	h.lab.t.Helper()
	hw, err := net.ParseMAC(mac)
	if err != nil {
		h.lab.t.Fatalf("netns: set mac on %s:%s: %v", h.name, ifname, err)
	}
	l, err := h.link(ifname)
	if err == nil {
		err = h.nl.LinkSetHardwareAddr(l, hw)
	}
	if err != nil {
		h.lab.t.Fatalf("netns: set mac %s on %s:%s: %v", mac, h.name, ifname, err)
	}
}

// MAC returns ifname's hardware address.
func (h *Host) MAC(ifname string) net.HardwareAddr {
	h.lab.t.Helper()
	l, err := h.link(ifname)
	if err != nil {
		h.lab.t.Fatalf("netns: %v", err)
	}
	return l.Attrs().HardwareAddr
}

// Index returns ifname's interface index inside the host.
func (h *Host) Index(ifname string) int {
	h.lab.t.Helper()
	l, err := h.link(ifname)
	if err != nil {
		h.lab.t.Fatalf("netns: %v", err)
	}
	return l.Attrs().Index
}

func parseAddr(s string) (*netlink.Addr, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return nil, err
	}
	ipn := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
	a := &netlink.Addr{IPNet: ipn}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	return a, nil
}

// AddAddr adds prefix ("192.0.2.1/24", "2001:db8::1/64") to ifname; IPv6
// addresses get nodad, so they are usable at once.
func (h *Host) AddAddr(ifname, prefix string) {
	h.lab.t.Helper()
	if err := h.addrOp(ifname, prefix, true); err != nil {
		h.lab.t.Fatalf("netns: %v", err)
	}
}

// DelAddr removes prefix from ifname.
func (h *Host) DelAddr(ifname, prefix string) {
	h.lab.t.Helper()
	if err := h.addrOp(ifname, prefix, false); err != nil {
		h.lab.t.Fatalf("netns: %v", err)
	}
}

func (h *Host) addrOp(ifname, prefix string, add bool) error {
	a, err := parseAddr(prefix)
	if err != nil {
		return fmt.Errorf("address %q: %w", prefix, err)
	}
	l, err := h.link(ifname)
	if err != nil {
		return err
	}
	op, do := "add", h.nl.AddrAdd
	if !add {
		op, do = "del", h.nl.AddrDel
	}
	if err := do(l, a); err != nil {
		return fmt.Errorf("%s address %s on %s:%s: %w", op, prefix, h.name, ifname, err)
	}
	return nil
}

// Addrs returns ifname's addresses (all families, link-local included).
func (h *Host) Addrs(ifname string) []netip.Prefix {
	h.lab.t.Helper()
	ps, err := h.addrs(ifname)
	if err != nil {
		h.lab.t.Fatalf("netns: %v", err)
	}
	return ps
}

func (h *Host) addrs(ifname string) ([]netip.Prefix, error) {
	l, err := h.link(ifname)
	if err != nil {
		return nil, err
	}
	as, err := h.nl.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list addresses of %s:%s: %w", h.name, ifname, err)
	}
	var out []netip.Prefix
	for _, a := range as {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ones, _ := a.Mask.Size()
		out = append(out, netip.PrefixFrom(ip.Unmap(), ones))
	}
	return out, nil
}

// HasAddr reports whether addr ("192.0.2.100") is on ifname: the check
// that a VIP is installed.
func (h *Host) HasAddr(ifname, addr string) bool {
	h.lab.t.Helper()
	want, err := netip.ParseAddr(addr)
	if err != nil {
		h.lab.t.Fatalf("netns: address %q: %v", addr, err)
	}
	for _, p := range h.Addrs(ifname) {
		if p.Addr() == want {
			return true
		}
	}
	return false
}

// WaitLinkLocal waits until ifname has an IPv6 link-local address that is
// no longer tentative, and returns it. Needed before VRRPv3 over IPv6 or
// anything else that sends from fe80::/10.
func (h *Host) WaitLinkLocal(ifname string, timeout time.Duration) netip.Addr {
	h.lab.t.Helper()
	var ll netip.Addr
	err := Poll(timeout, func() error {
		l, err := h.link(ifname)
		if err != nil {
			return err
		}
		as, err := h.nl.AddrList(l, netlink.FAMILY_V6)
		if err != nil {
			return err
		}
		for _, a := range as {
			ip, _ := netip.AddrFromSlice(a.IP)
			if ip.IsLinkLocalUnicast() && a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0 {
				ll = ip.WithZone(ifname)
				return nil
			}
		}
		return errors.New("no usable link-local address yet")
	})
	if err != nil {
		h.lab.t.Fatalf("netns: link-local on %s:%s: %v", h.name, ifname, err)
	}
	return ll
}

// BPFFS mounts a private bpffs for this host (a fresh directory, unmounted
// at cleanup) and returns its path: `ip netns exec` remounts /sys, so
// /sys/fs/bpf is empty inside the namespace; point --bpffs here.
func (h *Host) BPFFS() string {
	h.lab.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.bpffs != "" {
		return h.bpffs
	}
	// The directory's name carries the lab prefix, so Sweep can find and
	// unmount it after a killed run.
	dir, err := os.MkdirTemp("", h.lab.prefix+"-bpffs-"+h.name+"-")
	if err != nil {
		h.lab.t.Fatalf("netns: bpffs dir: %v", err)
	}
	if err := unix.Mount("bpf", dir, "bpf", 0, "mode=0700"); err != nil {
		os.Remove(dir)
		h.lab.t.Fatalf("netns: mount bpffs on %s: %v", dir, err)
	}
	h.lab.t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			h.lab.t.Errorf("netns: unmount bpffs %s: %v", dir, err)
		}
		os.Remove(dir)
	})
	h.bpffs = dir
	return dir
}
