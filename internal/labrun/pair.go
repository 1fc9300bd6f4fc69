package labrun

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/daemon"
	"github.com/lbdproject/lbd/internal/netns"
)

// The pair's addresses, on one /24, and the echo servers' UDP port.
const (
	N1Addr     = "192.0.2.1"
	N2Addr     = "192.0.2.2"
	ClientAddr = "192.0.2.3"
	VIP        = "192.0.2.100"
	EchoPort   = 7007
)

// Pair is two VRRP nodes, n1 and n2, and a client on one bridge, each
// with eth0. Both nodes run a UDP echo server on EchoPort (every
// address, so the VIP too while they hold it) answering with their name.
type Pair struct {
	Lab            *netns.Lab
	N1, N2, Client *netns.Host
}

// NewPair builds the lab; tb's cleanups tear it down.
func NewPair(tb testing.TB) *Pair {
	lab := netns.New(tb, netns.Options{})
	p := &Pair{Lab: lab, N1: lab.Host("n1"), N2: lab.Host("n2"), Client: lab.Host("client")}
	br := lab.Bridge("lan")
	lab.Connect(p.N1, "eth0", br, N1Addr+"/24")
	lab.Connect(p.N2, "eth0", br, N2Addr+"/24")
	lab.Connect(p.Client, "eth0", br, ClientAddr+"/24")
	for _, h := range []*netns.Host{p.N1, p.N2} {
		echo(tb, h)
	}
	return p
}

// echo runs a UDP server in h answering every datagram with the host's
// name, a space and the datagram.
func echo(tb testing.TB, h *netns.Host) {
	var conn *net.UDPConn
	err := h.Do(func() error {
		var err error
		conn, err = net.ListenUDP("udp", &net.UDPAddr{Port: EchoPort})
		return err
	})
	if err != nil {
		tb.Fatalf("echo server in %s: %v", h.Name(), err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		prefix := []byte(h.Name() + " ")
		out := make([]byte, 0, 1500)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			out = append(append(out[:0], prefix...), buf[:n]...)
			conn.WriteToUDP(out, from)
		}
	}()
	tb.Cleanup(func() { conn.Close(); <-done })
}

// Impl is a VRRP implementation a Node runs.
type Impl string

const (
	LBD        Impl = "lbd"
	Keepalived Impl = "keepalived"
)

// Node is lbd or Debian's keepalived on a host, from a configuration
// text shared by both nodes (conditional lines select with @ID: lbd's
// --config-id, keepalived's -i).
type Node struct {
	Impl Impl
	Host *netns.Host
	ID   string

	tb     testing.TB
	bin    string
	conf   string
	path   string
	runDir string
	lbd    *netns.Proc
	ka     *netns.KeepalivedProc
}

// NewNode prepares a node running configuration text conf; Start runs
// it. lbdBin is the lbd binary (for LBD).
func NewNode(tb testing.TB, impl Impl, h *netns.Host, id, conf, lbdBin string) *Node {
	dir := tb.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		tb.Fatalf("node %s: %v", id, err)
	}
	return &Node{Impl: impl, Host: h, ID: id, tb: tb, bin: lbdBin, conf: conf, path: path, runDir: filepath.Join(dir, "run")}
}

// NewNodeFile is NewNode with the configuration file at path, which lbd
// reads in place.
func NewNodeFile(tb testing.TB, impl Impl, h *netns.Host, id, path, lbdBin string) *Node {
	conf, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("node %s: %v", id, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		tb.Fatalf("node %s: %v", id, err)
	}
	return &Node{Impl: impl, Host: h, ID: id, tb: tb, bin: lbdBin, conf: string(conf), path: abs, runDir: filepath.Join(tb.TempDir(), "run")}
}

// ConfigPath is the node's configuration file.
func (n *Node) ConfigPath() string { return n.path }

// RunDir is lbd's --run-dir.
func (n *Node) RunDir() string { return n.runDir }

// Start runs the node's daemon and waits until it is up (lbd: its control
// socket answers; keepalived: its VRRP process runs).
func (n *Node) Start() {
	n.tb.Helper()
	switch n.Impl {
	case LBD:
		n.lbd = n.Host.Start(n.bin, "run", "--config", n.path, "--config-id", n.ID, "--run-dir", n.runDir, "--log-level", "info")
		err := netns.Poll(30*time.Second, func() error {
			if ok, err := n.lbd.Exited(); ok {
				return netns.Permanent(fmt.Errorf("lbd exited (%v):\n%s", err, n.lbd.Output()))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := daemon.FetchStatus(ctx, n.runDir)
			return err
		})
		if err != nil {
			n.tb.Fatalf("lbd on %s not ready: %v", n.Host.Name(), err)
		}
	case Keepalived:
		n.ka = netns.Keepalived(n.tb, n.Host, n.conf, netns.KeepalivedOptions{VRRPOnly: true, Args: []string{"-i", n.ID}})
	default:
		n.tb.Fatalf("unknown implementation %q", n.Impl)
	}
}

func (n *Node) proc() *netns.Proc {
	if n.ka != nil {
		return n.ka.Proc
	}
	return n.lbd
}

// Kill sends SIGKILL to the daemon (every process of keepalived's).
func (n *Node) Kill() {
	if p := n.proc(); p != nil {
		p.Kill()
	}
}

// Stop sends SIGTERM (keepalived: to its main process) and waits.
func (n *Node) Stop() error {
	if p := n.proc(); p != nil {
		return p.Stop()
	}
	return nil
}

// Log is what the daemon printed so far.
func (n *Node) Log() string {
	if p := n.proc(); p != nil {
		return p.Output()
	}
	return ""
}

// Status is "lbd status" of the node (lbd only), as it prints it.
func (n *Node) Status() (string, error) {
	if n.Impl != LBD {
		return "", errors.New("status: only lbd has lbd status")
	}
	return n.Host.Run(n.bin, "status", "--run-dir", n.runDir)
}

// State is the instance's state: lbd's status, or keepalived's last
// "Entering ... STATE" log line.
func (n *Node) State(instance string) string {
	switch n.Impl {
	case LBD:
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := daemon.FetchStatus(ctx, n.runDir)
		if err != nil {
			return "?"
		}
		if in := st.Instance(instance); in != nil {
			return in.State
		}
	case Keepalived:
		log := n.Log()
		key := "(" + instance + ") Entering "
		if i := strings.LastIndex(log, key); i >= 0 {
			rest := log[i+len(key):]
			if j := strings.Index(rest, " STATE"); j >= 0 {
				return rest[:j]
			}
		}
	}
	return "?"
}

// Reply is one answer of an echo server to the Prober.
type Reply struct {
	From string    // the answering host
	At   time.Time // received by the client
}

// Prober sends a UDP datagram to VIP:EchoPort from the client every
// interval, and records who answers.
type Prober struct {
	conn *net.UDPConn
	dst  *net.UDPAddr

	mu      sync.Mutex
	replies []Reply
	notify  chan struct{}

	stop chan struct{}
	done sync.WaitGroup
}

// Probe starts probing vip from the pair's client; it stops at cleanup.
func (p *Pair) Probe(tb testing.TB, vip string, interval time.Duration) *Prober {
	var conn *net.UDPConn
	err := p.Client.Do(func() error {
		var err error
		conn, err = net.ListenUDP("udp", &net.UDPAddr{})
		return err
	})
	if err != nil {
		tb.Fatalf("prober: %v", err)
	}
	pr := &Prober{conn: conn, dst: &net.UDPAddr{IP: net.ParseIP(vip), Port: EchoPort},
		notify: make(chan struct{}), stop: make(chan struct{})}
	pr.done.Add(2)
	go pr.send(interval)
	go pr.receive()
	tb.Cleanup(pr.Close)
	return pr
}

func (pr *Prober) send(interval time.Duration) {
	defer pr.done.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	var seq uint64
	var b [8]byte
	for {
		select {
		case <-pr.stop:
			return
		case <-t.C:
		}
		seq++
		binary.BigEndian.PutUint64(b[:], seq)
		pr.conn.WriteToUDP(b[:], pr.dst) // errors (no route, no neighbour yet) are the outage
	}
}

func (pr *Prober) receive() {
	defer pr.done.Done()
	buf := make([]byte, 1500)
	for {
		n, _, err := pr.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		now := time.Now()
		name, _, ok := strings.Cut(string(buf[:n]), " ")
		if !ok {
			continue
		}
		pr.mu.Lock()
		pr.replies = append(pr.replies, Reply{From: name, At: now})
		close(pr.notify)
		pr.notify = make(chan struct{})
		pr.mu.Unlock()
	}
}

// Close stops probing.
func (pr *Prober) Close() {
	select {
	case <-pr.stop:
		return
	default:
	}
	close(pr.stop)
	pr.conn.Close()
	pr.done.Wait()
}

// Reset forgets the replies received so far.
func (pr *Prober) Reset() {
	pr.mu.Lock()
	pr.replies = nil
	pr.mu.Unlock()
}

// WaitFrom returns the first reply from host received after t, waiting up
// to timeout for one.
func (pr *Prober) WaitFrom(host string, after time.Time, timeout time.Duration) (Reply, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		pr.mu.Lock()
		fresh := pr.replies[min(seen, len(pr.replies)):]
		seen = len(pr.replies)
		notify := pr.notify
		pr.mu.Unlock()
		for _, r := range fresh {
			if r.From == host && r.At.After(after) {
				return r, nil
			}
		}
		select {
		case <-notify:
		case <-deadline.C:
			return Reply{}, fmt.Errorf("no reply from %s within %v", host, timeout)
		}
	}
}

// Since returns the replies received after t.
func (pr *Prober) Since(t time.Time) []Reply {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	var out []Reply
	for _, r := range pr.replies {
		if r.At.After(t) {
			out = append(out, r)
		}
	}
	return out
}
