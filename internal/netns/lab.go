// Package netns builds network labs for lbd's privileged tests: named
// network namespaces ("hosts") joined by veth pairs to bridges that live in
// a namespace of their own, processes and Go code run inside those hosts,
// probes (ping, ARP/ND owner lookup, packet capture) and real peers
// (Debian's keepalived, a small HTTP server).
//
// Every lab has a short prefix that is unique on the machine (other
// packages, and other engineers' test runs, build labs at the same time).
// Namespaces are named PREFIX-HOST under /run/netns, so `ip netns exec
// PREFIX-HOST ...` works for a human debugging a stuck test. Nothing is
// created in the caller's own namespace: bridges sit in the lab's switch
// namespace, and each veth end is created directly where it belongs.
//
// Everything is torn down by t.Cleanup, also when the test fails or
// panics. A test binary killed outright leaves its namespaces behind; the
// next New on the machine finds them through the marker files under
// MarkerDir (the creating process is gone) and removes them, and
// SweepOrphans or Sweep can be called directly too.
//
//	lab := netns.New(t, netns.Options{})
//	k1, k2, c := lab.Host("k1"), lab.Host("k2"), lab.Host("client")
//	lan := lab.Bridge("lan")
//	lab.Connect(k1, "eth0", lan, "192.0.2.1/24", "2001:db8::1/64")
//	lab.Connect(k2, "eth0", lan, "192.0.2.2/24", "2001:db8::2/64")
//	lab.Connect(c, "eth0", lan, "192.0.2.3/24")
//	vrrp := c.Capture("eth0", netns.IsVRRP)
//	ka := netns.Keepalived(t, k1, cfg, netns.KeepalivedOptions{})
//	lbd := k2.Start("lbd", "run", "--config", path, "--bpffs", k2.BPFFS())
//	netns.Eventually(t, 30*time.Second, "VIP on k1", func() error {
//		mac, err := c.Owner("eth0", "192.0.2.100", 2*time.Second)
//		...
//	})
//	k1.SetLink("eth0", false) // link loss: k2 should take over
//
// Methods that return no error fail the test on error: call them from the
// test's goroutine.
package netns

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// MarkerDir holds one file per live lab, named after the lab's prefix and
// holding "PID STARTTIME" of the process that created it. SweepOrphans
// removes the labs whose creator is gone.
const MarkerDir = "/run/lbd-netns"

// NetnsDir is where iproute2 keeps named network namespaces.
const NetnsDir = "/run/netns"

// prefixLead starts every lab prefix, so that a lab namespace is
// recognisable in `ip netns list`.
const prefixLead = "lb"

// Options tunes a lab. The zero value is what most tests want.
type Options struct {
	// Prefix forces the lab's prefix (2 to 8 lowercase letters or digits)
	// instead of a random one. Only for debugging: two labs with one
	// prefix collide.
	Prefix string
	// KeepDAD leaves IPv6 duplicate address detection on in the hosts.
	// By default it is off (accept_dad=0), so link-local and global
	// addresses are usable as soon as the link is up.
	KeepDAD bool
	// StopGrace is how long a started process gets between SIGTERM and
	// SIGKILL at cleanup (default 3s).
	StopGrace time.Duration
}

// Lab is one test's set of namespaces, links and processes.
type Lab struct {
	t      testing.TB
	opts   Options
	prefix string

	mu      sync.Mutex
	hosts   map[string]*Host
	bridges map[string]*Bridge
	sw      *Host // the switch namespace holding bridges, created lazily
	nveth   int
}

var hostNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_]{0,14}$`)

// New creates an empty lab whose teardown is registered with t.Cleanup.
// It first removes orphans of killed test runs (SweepOrphans).
func New(t testing.TB, opts Options) *Lab {
	t.Helper()
	if opts.StopGrace <= 0 {
		opts.StopGrace = 3 * time.Second
	}
	if err := SweepOrphans(); err != nil {
		t.Logf("netns: sweep orphans: %v", err)
	}
	prefix, err := claimPrefix(opts.Prefix)
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	l := &Lab{
		t:       t,
		opts:    opts,
		prefix:  prefix,
		hosts:   map[string]*Host{},
		bridges: map[string]*Bridge{},
	}
	// Registered first, so it runs last: after every host's, process's and
	// capture's own cleanup.
	t.Cleanup(func() {
		if err := Sweep(prefix); err != nil {
			t.Errorf("netns: teardown of lab %s: %v", prefix, err)
		}
		os.Remove(filepath.Join(MarkerDir, prefix))
	})
	t.Logf("netns: lab %s (namespaces %s-*)", prefix, prefix)
	return l
}

// Prefix returns the lab's unique prefix; namespaces are PREFIX-HOST.
func (l *Lab) Prefix() string { return l.prefix }

// claimPrefix picks a prefix no other lab uses and writes its marker file
// with O_EXCL, so two processes can never claim the same one.
func claimPrefix(forced string) (string, error) {
	if err := os.MkdirAll(MarkerDir, 0o755); err != nil {
		return "", fmt.Errorf("create marker dir: %w", err)
	}
	mark, err := selfMark()
	if err != nil {
		return "", err
	}
	for try := 0; try < 20; try++ {
		p := forced
		if p == "" {
			p = prefixLead + randBase36(5)
		} else if !regexp.MustCompile(`^[a-z0-9]{2,8}$`).MatchString(p) {
			return "", fmt.Errorf("prefix %q: want 2 to 8 lowercase letters or digits", p)
		}
		if nsExistsWithPrefix(p) {
			if forced != "" {
				return "", fmt.Errorf("prefix %q: namespaces %s-* exist (Sweep them?)", p, p)
			}
			continue
		}
		f, err := os.OpenFile(filepath.Join(MarkerDir, p), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) && forced == "" {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("claim prefix %s: %w", p, err)
		}
		_, err = f.WriteString(mark)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("write marker %s: %w", p, err)
		}
		return p, nil
	}
	return "", errors.New("claim prefix: no free prefix after 20 tries")
}

func randBase36(n int) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, big.NewInt(int64(len(digits))))
		if err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		b[i] = digits[v.Int64()]
	}
	return string(b)
}

func nsExistsWithPrefix(prefix string) bool {
	ents, _ := os.ReadDir(NetnsDir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix+"-") {
			return true
		}
	}
	return false
}

// selfMark is "PID STARTTIME\n" for this process.
func selfMark() (string, error) {
	st, err := procStartTime(os.Getpid())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d %d\n", os.Getpid(), st), nil
}

// procStartTime returns field 22 of /proc/PID/stat (start time in clock
// ticks since boot): with the pid it names a process unambiguously.
func procStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// comm (field 2) may hold spaces and parentheses: split after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat: no comm", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); field 22 is f[19].
	if len(f) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// Host returns the lab's host called name, creating its namespace
// (PREFIX-NAME, loopback up) on first use. name is 1 to 15 of [a-z0-9_].
func (l *Lab) Host(name string) *Host {
	l.t.Helper()
	if !hostNameRE.MatchString(name) {
		l.t.Fatalf("netns: host name %q: want 1 to 15 of [a-z0-9_], starting with a letter or digit", name)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, ok := l.hosts[name]; ok {
		return h
	}
	h, err := newHost(l, name)
	if err != nil {
		l.t.Fatalf("netns: host %s: %v", name, err)
	}
	l.hosts[name] = h
	return h
}

// Switch returns the namespace holding the lab's bridges (PREFIX-_sw).
func (l *Lab) Switch() *Host {
	l.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.switchLocked()
}

func (l *Lab) switchLocked() *Host {
	l.t.Helper()
	if l.sw == nil {
		h, err := newHost(l, "_sw") // "_" keeps it apart from any host name
		if err != nil {
			l.t.Fatalf("netns: switch namespace: %v", err)
		}
		l.sw = h
	}
	return l.sw
}

// Bridge is a Linux bridge in the lab's switch namespace.
type Bridge struct {
	lab   *Lab
	Name  string
	index int
}

// Bridge returns the lab's bridge called name (at most 15 bytes),
// creating it on first use: up, STP off, multicast snooping off (so VRRP
// and ND multicast always flood, as on a dumb switch).
func (l *Lab) Bridge(name string) *Bridge {
	l.t.Helper()
	if len(name) == 0 || len(name) > 15 {
		l.t.Fatalf("netns: bridge name %q: want 1 to 15 bytes", name)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.bridges[name]; ok {
		return b
	}
	sw := l.switchLocked()
	mcs := false
	br := &netlink.Bridge{
		LinkAttrs:         netlink.LinkAttrs{Name: name},
		MulticastSnooping: &mcs,
	}
	if err := sw.nl.LinkAdd(br); err != nil {
		l.t.Fatalf("netns: add bridge %s: %v", name, err)
	}
	link, err := sw.nl.LinkByName(name)
	if err != nil {
		l.t.Fatalf("netns: bridge %s: %v", name, err)
	}
	if err := sw.nl.LinkSetUp(link); err != nil {
		l.t.Fatalf("netns: bridge %s up: %v", name, err)
	}
	b := &Bridge{lab: l, Name: name, index: link.Attrs().Index}
	l.bridges[name] = b
	return b
}

// Iface is one end of a veth pair that the lab created in a host.
type Iface struct {
	Host *Host
	Name string
	// Peer is the other end: a bridge port in the switch namespace, or an
	// interface of another host for Link.
	PeerHost *Host
	PeerName string
}

// Connect plugs host h into bridge br with a veth pair: ifname (at most 15
// bytes) in h, a port in the switch namespace. Both ends are up; addrs
// ("192.0.2.1/24", "2001:db8::1/64") are added to ifname, IPv6 ones with
// nodad.
func (l *Lab) Connect(h *Host, ifname string, br *Bridge, addrs ...string) *Iface {
	l.t.Helper()
	sw := l.Switch()
	l.mu.Lock()
	l.nveth++
	port := fmt.Sprintf("%s-%s", h.name, ifname)
	if len(port) > 15 {
		port = fmt.Sprintf("p%d", l.nveth)
	}
	l.mu.Unlock()
	if err := l.veth(sw, port, br.index, h, ifname); err != nil {
		l.t.Fatalf("netns: connect %s:%s to bridge %s: %v", h.name, ifname, br.Name, err)
	}
	for _, a := range addrs {
		h.AddAddr(ifname, a)
	}
	return &Iface{Host: h, Name: ifname, PeerHost: sw, PeerName: port}
}

// Link joins two hosts directly with a veth pair (aName in a, bName in b),
// both ends up, without addresses (use AddAddr).
func (l *Lab) Link(a *Host, aName string, b *Host, bName string) *Iface {
	l.t.Helper()
	if err := l.veth(a, aName, 0, b, bName); err != nil {
		l.t.Fatalf("netns: link %s:%s to %s:%s: %v", a.name, aName, b.name, bName, err)
	}
	return &Iface{Host: a, Name: aName, PeerHost: b, PeerName: bName}
}

// veth creates name in h (enslaved to master if non-zero) with its peer
// peerName directly in peer's namespace, and sets both up.
func (l *Lab) veth(h *Host, name string, master int, peer *Host, peerName string) error {
	for _, n := range []string{name, peerName} {
		if len(n) == 0 || len(n) > 15 || strings.ContainsAny(n, "/ \t\n:") {
			return fmt.Errorf("interface name %q: want 1 to 15 bytes, no '/', ':' or spaces", n)
		}
	}
	v := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: name, MasterIndex: master},
		PeerName:      peerName,
		PeerNamespace: netlink.NsFd(peer.fd),
	}
	if err := h.nl.LinkAdd(v); err != nil {
		return fmt.Errorf("add veth %s/%s: %w", name, peerName, err)
	}
	if err := h.linkUp(name, true); err != nil {
		return err
	}
	return peer.linkUp(peerName, true)
}
