package daemon_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lbdproject/lbd/internal/daemon"
	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
	"github.com/lbdproject/lbd/pkg/vrrp"
)

// Namespace tests of the datapath at daemon level: the tier per
// --datapath value, adoption of the pinned program across a SIGKILL, a
// flood of forged adverts against a running pair, and lbd processes of
// several labs sharing (or each mounting) a bpffs.

// tierConf: VI_1 the program can take; VI_2 and VI_3 share VRID 52 on eth0
// (different groups), which the program's key cannot tell apart: they stay
// on their sockets.
const tierConf = `vrrp_instance VI_1 {
  interface eth0
  priority 100
  virtual_router_id 51
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
}
vrrp_instance VI_2 {
  interface eth0
  priority 100
  virtual_router_id 52
  advert_int 1
  virtual_ipaddress {
    192.0.2.102/24
  }
}
vrrp_instance VI_3 {
  interface eth0
  priority 100
  virtual_router_id 52
  mcast_dst_ip 224.0.0.19
  advert_int 1
  virtual_ipaddress {
    192.0.2.103/24
  }
}
`

func TestDatapathTiers(t *testing.T) {
	testutil.RequireRoot(t)
	lab := netns.New(t, netns.Options{})
	k1 := lab.Host("k1")
	lab.Connect(k1, "eth0", lab.Bridge("lan"), "192.0.2.1/24")
	for _, tt := range []struct {
		datapath, tier, hook string
	}{
		{"auto", "xdp", "xdp-link"},
		{"xdp", "xdp", "xdp-link"},
		{"xdp-generic", "xdp-generic", "xdp-link"},
		{"tc", "tc", "tcx"},
		{"ipvs", "none", ""},
		{"off", "none", ""},
	} {
		t.Run(tt.datapath, func(t *testing.T) {
			n := daemontest.Start(t, k1, tierConf, "--datapath", tt.datapath)
			t.Cleanup(func() { n.Proc.Stop() }) // before the next subtest's lbd
			st, err := n.Status()
			if err != nil {
				t.Fatal(err)
			}
			if st.Datapath.Requested != tt.datapath || len(st.Datapath.Interfaces) != 1 {
				t.Fatalf("datapath %+v", st.Datapath)
			}
			it := st.Datapath.Interfaces[0]
			if it.Interface != "eth0" || it.Tier != tt.tier || it.Hook != tt.hook || it.Adopted {
				t.Errorf("eth0 %+v, want tier %s hook %q, not adopted", it, tt.tier, tt.hook)
			}
			if tt.tier == "none" && !strings.Contains(it.Reason, "--datapath "+tt.datapath) {
				t.Errorf("tier none without the reason: %+v", it)
			}
			m, err := n.Metrics()
			if err != nil {
				t.Fatal(err)
			}
			for _, tier := range []string{"xdp", "xdp-generic", "tc", "none"} {
				want := 0.0
				if tier == tt.tier {
					want = 1
				}
				if v, ok := m.Get("lbd_datapath_tier", "interface", "eth0", "tier", tier); !ok || v != want {
					t.Errorf("lbd_datapath_tier{tier=%s} = %v (%v), want %v", tier, v, ok, want)
				}
			}
			for _, in := range []string{"VI_1", "VI_2", "VI_3"} {
				s := st.Instance(in)
				want, note := tt.tier, ""
				if in != "VI_1" && tt.tier != "none" {
					want, note = "none", "also used by"
				}
				if s == nil || s.Datapath != want || !strings.Contains(s.DatapathNote, note) {
					t.Errorf("%s: datapath %+v, want %s (note %q)", in, s, want, note)
				}
			}
			if tt.tier != "none" && !strings.Contains(n.Log(), `msg="datapath attached" interface=eth0 tier=`+tt.tier) {
				t.Errorf("no tier choice logged:\n%s", n.Log())
			}
			if err := n.Stop(); err != nil {
				t.Fatal(err)
			}
			// A graceful stop detaches and unpins.
			if pins := pinDirs(t, k1.BPFFS()); len(pins) != 0 {
				t.Errorf("pins left after a graceful stop: %v", pins)
			}
			if prog := xdpProg(t, k1, "eth0"); prog != 0 {
				t.Errorf("xdp program %d still attached after a graceful stop", prog)
			}
		})
	}
}

// pinDirs lists the per-namespace pin directories under a bpffs.
func pinDirs(t *testing.T, bpffs string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(bpffs, "lbd"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// xdpProg is the id of the XDP program on ifname, 0 if none.
func xdpProg(t *testing.T, h *netns.Host, ifname string) uint32 {
	t.Helper()
	l, err := h.Netlink().LinkByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	if x := l.Attrs().Xdp; x != nil && x.Attached {
		return x.ProgId
	}
	return 0
}

// v3 at 0.1s: enough adverts in a few seconds to count.
const fastConf = `vrrp_instance VI_1 {
  interface eth0
  priority %d
  virtual_router_id 51
  version 3
  advert_int 0.1
  virtual_ipaddress {
    192.0.2.100/24
  }
}
`

// TestDatapathRestartAdoption: a BACKUP lbd on XDP is SIGKILLed while its
// master keeps advertising; the program, pinned, goes on absorbing and
// counting; the restarted lbd adopts it (no second attach, no window
// without it) and its counters continue: in the end the BACKUP's count of
// adverts (accepted + dropped) equals what the client saw the master send,
// from before the first start to the master's priority-0 advert.
func TestDatapathRestartAdoption(t *testing.T) {
	l := newLAN(t)
	k1 := netip.MustParseAddr("192.0.2.1")
	fromK1 := func(f *netns.Frame) bool { return f.IP != nil && f.IP.Src == k1 && f.VRRP != nil }

	n2 := daemontest.Start(t, l.k2, fmt.Sprintf(fastConf, 100), "--datapath", "auto")
	onPath(t, n2, "VI_1", "auto")
	// Every advert of k1 from here on reaches k2's program (its VRIDs are
	// set before its control socket answers) and the client.
	wire := l.client.Capture("eth0", netns.IsVRRP)
	n1 := daemontest.Start(t, l.k1, fmt.Sprintf(fastConf, 150), "--datapath", "off")
	following := func(n *daemontest.Node, min uint64) func() error {
		return func() error {
			s, err := n.Instance("VI_1")
			if err != nil {
				return err
			}
			if s.State != "BACKUP" || s.MasterAddress != "192.0.2.1" || s.Counters.AdvertsReceived < min {
				return fmt.Errorf("k2 %s following %q, %d received", s.State, s.MasterAddress, s.Counters.AdvertsReceived)
			}
			return nil
		}
	}
	netns.Eventually(t, 20*time.Second, "k2 following k1", following(n2, 10))
	progBefore := xdpProg(t, l.k2, "eth0")

	n2.Kill()
	pins, err := filepath.Glob(filepath.Join(l.k2.BPFFS(), "lbd", "netns-*", "link_xdp_*"))
	if err != nil || len(pins) != 1 {
		t.Fatalf("pinned xdp link after SIGKILL: %v (%v)", pins, err)
	}
	// k1 goes on: its adverts hit the orphaned program.
	before := len(wire.Matching(fromK1))
	if _, err := wire.WaitN(10*time.Second, before+10, fromK1); err != nil {
		t.Fatal(err)
	}
	if p := xdpProg(t, l.k2, "eth0"); p != progBefore {
		t.Errorf("xdp program %d after SIGKILL, was %d", p, progBefore)
	}

	n2b := daemontest.Start(t, l.k2, fmt.Sprintf(fastConf, 100), "--datapath", "auto", "--run-dir", n2.RunDir)
	st, err := n2b.Status()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Datapath.Interfaces) != 1 || !st.Datapath.Interfaces[0].Adopted || st.Datapath.Interfaces[0].Tier != "xdp" {
		t.Errorf("after restart: %+v, want eth0 xdp adopted", st.Datapath.Interfaces)
	}
	if !strings.Contains(n2b.Log(), `msg="datapath adopted" interface=eth0 tier=xdp`) || strings.Contains(n2b.Log(), `msg="datapath attached"`) {
		t.Errorf("adoption not logged, or attached again:\n%s", n2b.Log())
	}
	netns.Eventually(t, 20*time.Second, "restarted k2 following k1", following(n2b, 1))

	// The master resigns: its priority-0 advert is the last from k1.
	if err := n1.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := n2b.WaitState("VI_1", "MASTER", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	sent := wire.Matching(fromK1)
	m, err := n2b.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	received, _ := m.Get("lbd_vrrp_adverts_received_total", "instance", "VI_1", "vrid", "51")
	dropped := m.Sum("lbd_vrrp_packets_dropped_total", "interface", "eth0")
	zero, _ := m.Get("lbd_vrrp_priority_zero_received_total", "instance", "VI_1")
	if got := int(received + dropped); got != len(sent) {
		t.Errorf("k2 counted %v accepted + %v dropped = %d across the restart; k1 sent %d", received, dropped, got, len(sent))
	}
	if zero != 1 || sent[len(sent)-1].VRRP.Priority != 0 {
		t.Errorf("priority-0 adverts: k2 counted %v; k1's last advert %v", zero, sent[len(sent)-1])
	}
	s, err := n2b.Instance("VI_1")
	if err != nil {
		t.Fatal(err)
	}
	if s.Counters.AdvertsReceived != uint64(received) || s.LastReason != "priority_zero_received" {
		t.Errorf("k2 status %+v: received %d, metric %v", s, s.Counters.AdvertsReceived, received)
	}
	t.Logf("k1 sent %d adverts; k2 counted them across a SIGKILL and an adoption", len(sent))
}

// forger sends raw Ethernet frames from a host.
type forger struct {
	fd  int
	idx int
	mac net.HardwareAddr
}

func newForger(t *testing.T, h *netns.Host, ifname string) *forger {
	t.Helper()
	f := &forger{idx: h.Index(ifname), mac: h.MAC(ifname)}
	err := h.Do(func() error {
		var err error
		f.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		return err
	})
	if err != nil {
		t.Fatalf("packet socket in %s: %v", h.Name(), err)
	}
	t.Cleanup(func() { unix.Close(f.fd) })
	return f
}

// advert builds an Ethernet frame carrying adv from src to dst with ttl.
func (f *forger) advert(t *testing.T, dstMAC net.HardwareAddr, src, dst netip.Addr, ttl uint8, adv vrrp.Advert) []byte {
	t.Helper()
	msg, err := adv.Marshal(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	frame := append(slices.Clone([]byte(dstMAC)), f.mac...)
	frame = append(frame, 0x08, 0x00)
	frame, err = vrrp.AppendIPv4(frame, vrrp.IPHeader{Src: src, Dst: dst, TTL: ttl, ID: 1}, msg)
	if err != nil {
		t.Fatal(err)
	}
	return frame
}

func (f *forger) send(t *testing.T, frame []byte) {
	t.Helper()
	sa := &unix.SockaddrLinklayer{Ifindex: f.idx, Halen: 6}
	copy(sa.Addr[:], frame[:6])
	if err := unix.Sendto(f.fd, frame, 0, sa); err != nil {
		t.Fatalf("send forged frame: %v", err)
	}
}

const floodConf = `vrrp_instance VI_1 {
  interface eth0
  priority %[1]d
  virtual_router_id 51
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    192.0.2.100/24
  }
}
vrrp_instance VI_U {
  interface eth0
  priority %[1]d
  virtual_router_id 71
  version 3
  advert_int 1
  unicast_src_ip %[2]s
  unicast_peer {
    %[3]s
  }
  check_unicast_src
  virtual_ipaddress {
    192.0.2.200/24
  }
}
`

// TestDatapathForgedFlood: a third host floods a running pair with forged
// adverts that would win (priority 254): a wrong password, TTL 64, and
// unicast from a sender that is not a peer (check_unicast_src). On both paths nothing changes (states,
// masters, transitions) and every packet is counted under its reason in
// the one drop series.
func TestDatapathForgedFlood(t *testing.T) {
	eachDatapath(t, func(t *testing.T, dp string) {
		l := newLAN(t)
		atk := l.lab.Host("attacker")
		l.lab.Connect(atk, "eth0", l.lab.Bridge("lan"), "192.0.2.66/24")
		n1 := daemontest.Start(t, l.k1, fmt.Sprintf(floodConf, 150, "192.0.2.1", "192.0.2.2"), "--datapath", dp)
		n2 := daemontest.Start(t, l.k2, fmt.Sprintf(floodConf, 100, "192.0.2.2", "192.0.2.1"), "--datapath", dp)
		for _, in := range []string{"VI_1", "VI_U"} {
			if err := n1.WaitState(in, "MASTER", 20*time.Second); err != nil {
				t.Fatal(err)
			}
			if err := n2.WaitState(in, "BACKUP", 5*time.Second); err != nil {
				t.Fatal(err)
			}
			onPath(t, n2, in, dp)
		}
		netns.Eventually(t, 10*time.Second, "k2 following k1", func() error {
			for _, in := range []string{"VI_1", "VI_U"} {
				s, err := n2.Instance(in)
				if err != nil {
					return err
				}
				if s.MasterAddress != "192.0.2.1" || s.MasterPriority != 150 {
					return fmt.Errorf("%s follows %s at %d", in, s.MasterAddress, s.MasterPriority)
				}
			}
			return nil
		})
		transitions := func(n *daemontest.Node) float64 {
			m, err := n.Metrics()
			if err != nil {
				t.Fatal(err)
			}
			return m.Sum("lbd_vrrp_transitions_total")
		}
		t1, t2 := transitions(n1), transitions(n2)

		fg := newForger(t, atk, "eth0")
		mcastMAC := net.HardwareAddr{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12}
		group := netip.MustParseAddr("224.0.0.18")
		var pw, bad [8]byte
		copy(pw[:], "secret")
		copy(bad[:], "guess")
		v2 := func(auth [8]byte) vrrp.Advert {
			return vrrp.Advert{Version: 2, Type: vrrp.TypeAdvertisement, VRID: 51, Priority: 254, AuthType: vrrp.AuthPass,
				AuthData: auth, Interval: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
		}
		v3u := vrrp.Advert{Version: 3, Type: vrrp.TypeAdvertisement, VRID: 71, Priority: 254, Interval: time.Second,
			Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.200")}}
		atkAddr, k2Addr := netip.MustParseAddr("192.0.2.66"), netip.MustParseAddr("192.0.2.2")
		forged := []struct {
			reason string
			frame  []byte
			k1     bool // reaches k1 too (multicast)
		}{
			// Not the master's own source: k1's kernel drops a packet from
			// its own address as a martian before its socket could count
			// it, while its program would count it.
			{"auth_failure", fg.advert(t, mcastMAC, atkAddr, group, 255, v2(bad)), true},
			{"ip_ttl", fg.advert(t, mcastMAC, atkAddr, group, 64, v2(pw)), true},
			{"sender_not_allowed", fg.advert(t, l.k2.MAC("eth0"), atkAddr, k2Addr, 255, v3u), false},
		}
		drops := func(n *daemontest.Node, reason string) float64 {
			m, err := n.Metrics()
			if err != nil {
				t.Fatal(err)
			}
			v, _ := m.Get("lbd_vrrp_packets_dropped_total", "interface", "eth0", "reason", reason)
			return v
		}
		// Bursts a raw socket's receive buffer holds (the first socket of
		// an interface takes the unicast ones besides its group's: 3 x 40
		// packets of ~1 KiB truesize, under its 208 KiB): the raw path then
		// counts every packet too. A real flood overflows it, and the
		// kernel drops the excess uncounted there; the program counts all.
		const bursts, burst = 8, 40
		for b := 1; b <= bursts; b++ {
			for _, f := range forged {
				for range burst {
					fg.send(t, f.frame)
				}
			}
			// Each burst counted before the next.
			for _, f := range forged {
				for _, n := range []*daemontest.Node{n1, n2} {
					want := float64(b * burst)
					if n == n1 && !f.k1 {
						want = 0
					}
					netns.Eventually(t, 20*time.Second, fmt.Sprintf("%s counts %s", n.Host.Name(), f.reason), func() error {
						if v := drops(n, f.reason); v != want {
							return fmt.Errorf("%v, want %v", v, want)
						}
						return nil
					})
				}
			}
		}
		for _, in := range []string{"VI_1", "VI_U"} {
			s1, err := n1.Instance(in)
			if err != nil {
				t.Fatal(err)
			}
			s2, err := n2.Instance(in)
			if err != nil {
				t.Fatal(err)
			}
			if s1.State != "MASTER" || s2.State != "BACKUP" || s2.MasterAddress != "192.0.2.1" || s2.MasterPriority != 150 {
				t.Errorf("%s after the flood: k1 %s, k2 %s following %s at %d", in, s1.State, s2.State, s2.MasterAddress, s2.MasterPriority)
			}
		}
		if a, b := transitions(n1), transitions(n2); a != t1 || b != t2 {
			t.Errorf("transitions during the flood: k1 %v -> %v, k2 %v -> %v", t1, a, t2, b)
		}
		owner(t, l.client, "192.0.2.100", l.k1, 10*time.Second)
	})
}

// TestDatapathSeveralNamespaces: an lbd pair in each of two labs at once,
// same addresses, interface names and VRID in both, all on the XDP path,
// with lbd's default --bpffs and with one bpffs shared by all four: they
// do not collide.
func TestDatapathSeveralNamespaces(t *testing.T) {
	type pair struct {
		l      *lan
		n1, n2 *daemontest.Node
	}
	start := func(t *testing.T, bpffs func(l *lan) string) []*pair {
		var pairs []*pair
		for range 2 {
			l := newLAN(t)
			pairs = append(pairs, &pair{l: l})
		}
		for _, p := range pairs {
			fs := bpffs(p.l)
			p.n1 = daemontest.Start(t, p.l.k1, instanceConf("VI_1", 150, v4Body), "--datapath", "auto", "--bpffs", fs)
			p.n2 = daemontest.Start(t, p.l.k2, instanceConf("VI_1", 100, v4Body), "--datapath", "auto", "--bpffs", fs)
		}
		for _, p := range pairs {
			if err := p.n1.WaitState("VI_1", "MASTER", 20*time.Second); err != nil {
				t.Fatal(err)
			}
			if err := p.n2.WaitState("VI_1", "BACKUP", 5*time.Second); err != nil {
				t.Fatal(err)
			}
			onPath(t, p.n1, "VI_1", "auto")
			onPath(t, p.n2, "VI_1", "auto")
			owner(t, p.l.client, "192.0.2.100", p.l.k1, 10*time.Second)
		}
		return pairs
	}

	// lbd's default: /sys/fs/bpf, which `ip netns exec` leaves empty;
	// each lbd mounts its own there, in its own mount namespace.
	t.Run("default bpffs", func(t *testing.T) {
		t.Parallel()
		pairs := start(t, func(*lan) string { return "" })
		for _, p := range pairs {
			for _, n := range []*daemontest.Node{p.n1, p.n2} {
				if !strings.Contains(n.Log(), "mounted a bpffs") || !strings.Contains(n.Log(), "dir="+daemon.DefaultBPFFS+"/lbd/netns-") {
					t.Errorf("%s: no bpffs mounted at the default:\n%s", n.Host.Name(), n.Log())
				}
			}
		}
	})

	// One bpffs for all four: one directory per network namespace.
	t.Run("shared bpffs", func(t *testing.T) {
		t.Parallel()
		var shared string
		pairs := start(t, func(l *lan) string {
			if shared == "" {
				shared = l.k1.BPFFS()
			}
			return shared
		})
		dirs := pinDirs(t, shared)
		if len(dirs) != 4 {
			t.Fatalf("pin dirs %v, want one per lbd", dirs)
		}
		for _, d := range dirs {
			if links, _ := filepath.Glob(filepath.Join(shared, "lbd", d, "link_xdp_*")); len(links) != 1 {
				t.Errorf("%s: links %v", d, links)
			}
		}
		// One pair stops: its directories go, the other's stay.
		for _, n := range []*daemontest.Node{pairs[0].n1, pairs[0].n2} {
			if err := n.Stop(); err != nil {
				t.Fatal(err)
			}
		}
		if left := pinDirs(t, shared); len(left) != 2 {
			t.Errorf("pin dirs after one pair stopped: %v, want the other pair's 2", left)
		}
		// The other pair runs on, and its BACKUP survives a SIGKILL and
		// an adoption next to the first pair's leftovers.
		p := pairs[1]
		p.n2.Kill()
		n2b := daemontest.Start(t, p.l.k2, instanceConf("VI_1", 100, v4Body), "--datapath", "auto", "--bpffs", shared,
			"--run-dir", p.n2.RunDir)
		st, err := n2b.Status()
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Datapath.Interfaces) != 1 || !st.Datapath.Interfaces[0].Adopted {
			t.Errorf("restarted k2: %+v, want its program adopted", st.Datapath.Interfaces)
		}
		if err := n2b.WaitState("VI_1", "BACKUP", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if s, err := p.n1.Instance("VI_1"); err != nil || s.State != "MASTER" {
			t.Errorf("k1 of the other pair: %+v (%v)", s, err)
		}
		owner(t, p.l.client, "192.0.2.100", p.l.k1, 10*time.Second)
	})
}

const allowConf = `global_defs {
  lbd_vrrp_allowed_senders 192.0.2.0/29
}
vrrp_instance VI_M {
  interface eth0
  priority %[1]d
  virtual_router_id 61
  version 3
  advert_int 1
  virtual_ipaddress {
    192.0.2.161/24
  }
}
vrrp_instance VI_U {
  interface eth0
  priority %[1]d
  virtual_router_id 62
  version 3
  advert_int 1
  unicast_src_ip %[2]s
  unicast_peer {
    %[3]s
  }
  virtual_ipaddress {
    192.0.2.162/24
  }
}
vrrp_instance VI_C {
  interface eth0
  priority %[1]d
  virtual_router_id 63
  version 3
  advert_int 1
  unicast_src_ip %[2]s
  unicast_peer {
    %[3]s
  }
  check_unicast_src
  virtual_ipaddress {
    192.0.2.163/24
  }
}
`

// TestDatapathAllowedSenders: lbd_vrrp_allowed_senders lets adverts in
// only from its prefixes, multicast and unicast alike, on both paths; the
// program enforces it per interface, so a check_unicast_src instance next
// to it (another list on the same interface and family) stays on its
// socket, where its peers are checked as before.
func TestDatapathAllowedSenders(t *testing.T) {
	eachDatapath(t, func(t *testing.T, dp string) {
		l := newLAN(t)
		atk := l.lab.Host("attacker")
		l.lab.Connect(atk, "eth0", l.lab.Bridge("lan"), "192.0.2.66/24")
		n1 := daemontest.Start(t, l.k1, fmt.Sprintf(allowConf, 150, "192.0.2.1", "192.0.2.2"), "--datapath", dp)
		n2 := daemontest.Start(t, l.k2, fmt.Sprintf(allowConf, 100, "192.0.2.2", "192.0.2.1"), "--datapath", dp)
		for _, in := range []string{"VI_M", "VI_U", "VI_C"} {
			if err := n1.WaitState(in, "MASTER", 20*time.Second); err != nil {
				t.Fatal(err)
			}
			if err := n2.WaitState(in, "BACKUP", 5*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		onPath(t, n2, "VI_M", dp)
		onPath(t, n2, "VI_U", dp)
		if s, err := n2.Instance("VI_C"); err != nil || s.Datapath != "none" ||
			(dp == "auto" && !strings.Contains(s.DatapathNote, "check_unicast_src next to lbd_vrrp_allowed_senders")) {
			t.Errorf("VI_C: %+v (%v); want raw sockets, with why under auto", s, err)
		}
		m, err := n2.Metrics()
		if err != nil {
			t.Fatal(err)
		}
		t2 := m.Sum("lbd_vrrp_transitions_total")

		fg := newForger(t, atk, "eth0")
		atkAddr, k2Addr := netip.MustParseAddr("192.0.2.66"), netip.MustParseAddr("192.0.2.2")
		adv := func(vrid uint8, vip string) vrrp.Advert {
			return vrrp.Advert{Version: 3, Type: vrrp.TypeAdvertisement, VRID: vrid, Priority: 254, Interval: time.Second,
				Addrs: []netip.Addr{netip.MustParseAddr(vip)}}
		}
		frames := [][]byte{
			fg.advert(t, net.HardwareAddr{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12}, atkAddr, netip.MustParseAddr("224.0.0.18"), 255, adv(61, "192.0.2.161")),
			fg.advert(t, l.k2.MAC("eth0"), atkAddr, k2Addr, 255, adv(62, "192.0.2.162")),
			fg.advert(t, l.k2.MAC("eth0"), atkAddr, k2Addr, 255, adv(63, "192.0.2.163")),
		}
		const bursts, burst = 5, 40
		for b := 1; b <= bursts; b++ {
			for _, f := range frames {
				for range burst {
					fg.send(t, f)
				}
			}
			netns.Eventually(t, 20*time.Second, "k2 counts the burst", func() error {
				m, err := n2.Metrics()
				if err != nil {
					return err
				}
				if v, _ := m.Get("lbd_vrrp_packets_dropped_total", "interface", "eth0", "reason", "sender_not_allowed"); v != float64(3*b*burst) {
					return fmt.Errorf("sender_not_allowed %v, want %d", v, 3*b*burst)
				}
				return nil
			})
		}
		for _, in := range []string{"VI_M", "VI_U", "VI_C"} {
			s, err := n2.Instance(in)
			if err != nil {
				t.Fatal(err)
			}
			if s.State != "BACKUP" || s.MasterAddress != "192.0.2.1" || s.MasterPriority != 150 {
				t.Errorf("%s after the forged adverts: %s following %s at %d", in, s.State, s.MasterAddress, s.MasterPriority)
			}
		}
		if m, err := n2.Metrics(); err != nil || m.Sum("lbd_vrrp_transitions_total") != t2 {
			t.Errorf("k2 transitions during the forged adverts (%v)", err)
		}
		if v := metric(t, n1, "lbd_vrrp_packets_dropped_total", "interface", "eth0", "reason", "sender_not_allowed"); v != bursts*burst {
			t.Errorf("k1 counted %v multicast adverts from outside the prefixes, want %d", v, bursts*burst)
		}
	})
}

// TestDatapathReload: the program follows the instance set through
// reloads. An added instance is taken by the program at once; a backup
// whose VIPs a reload changed before its master's follows the master
// through the change (the program skips the address checks for it, as
// the socket path does) instead of dropping its adverts and taking over;
// a removed instance's VRID is dropped from the program, whose adverts
// then reach the socket.
func TestDatapathReload(t *testing.T) {
	l := newLAN(t)
	const fast = "0.1"
	conf := func(prio int, vi2 bool, vips2 ...string) string {
		c := reloadInst("VI_1", 51, prio, fast, "192.0.2.151/24")
		if vi2 {
			c += reloadInst("VI_2", 52, prio, fast, vips2...)
		}
		return c
	}
	write := func(n *daemontest.Node, c string) {
		t.Helper()
		if err := os.WriteFile(n.ConfigPath, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n1 := daemontest.Start(t, l.k1, conf(150, false), "--datapath", "auto")
	n2 := daemontest.Start(t, l.k2, conf(100, false), "--datapath", "auto")
	if err := n1.WaitState("VI_1", "MASTER", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := n2.WaitState("VI_1", "BACKUP", 10*time.Second); err != nil {
		t.Fatal(err)
	}

	// Added: the backup first (a master alone would win at once).
	write(n2, conf(100, true, "192.0.2.152/24"))
	reload(t, n2)
	write(n1, conf(150, true, "192.0.2.152/24"))
	reload(t, n1)
	if err := n1.WaitState("VI_2", "MASTER", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	netns.Eventually(t, 10*time.Second, "k2's VI_2 following k1 on the program", func() error {
		s, err := n2.Instance("VI_2")
		if err != nil {
			return err
		}
		if s.State != "BACKUP" || s.MasterAddress != "192.0.2.1" || s.Datapath != "xdp" || s.Counters.AdvertsReceived < 5 {
			return fmt.Errorf("k2 VI_2 %s following %q on %q (%s), %d received", s.State, s.MasterAddress, s.Datapath, s.DatapathNote, s.Counters.AdvertsReceived)
		}
		return nil
	})
	tr := transitions(t, n2, "VI_2")

	// VIPs changed on the backup first: for many master-down intervals
	// the master still advertises the old list.
	write(n2, conf(100, true, "192.0.2.152/24", "192.0.2.153/24"))
	reload(t, n2)
	before, err := n2.Instance("VI_2")
	if err != nil {
		t.Fatal(err)
	}
	netns.Eventually(t, 20*time.Second, "k2 following k1's old list for 30 adverts", func() error {
		s, err := n2.Instance("VI_2")
		if err != nil {
			return err
		}
		if s.State != "BACKUP" {
			return netns.Permanent(fmt.Errorf("k2 VI_2 %s (%s) after its VIPs changed before its master's", s.State, s.LastReason))
		}
		if s.Counters.AdvertsReceived < before.Counters.AdvertsReceived+30 {
			return fmt.Errorf("%d received", s.Counters.AdvertsReceived-before.Counters.AdvertsReceived)
		}
		return nil
	})
	write(n1, conf(150, true, "192.0.2.152/24", "192.0.2.153/24"))
	reload(t, n1)
	if got := transitions(t, n2, "VI_2"); got != tr {
		t.Errorf("k2 VI_2 transitions %v -> %v through the VIP change", tr, got)
	}
	if m, err := n2.Metrics(); err != nil || m.Sum("lbd_vrrp_packets_dropped_total", "reason", "addr_list") != 0 {
		t.Errorf("k2 dropped adverts for their address list (%v)", err)
	}

	// Removed on both: the program forgets VRID 52; a stray advert for it
	// now passes to the kernel, uncounted as an instance's.
	write(n2, conf(100, false))
	reload(t, n2)
	write(n1, conf(150, false))
	reload(t, n1)
	st, err := n2.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Instance("VI_2") != nil || len(st.Datapath.Interfaces) != 1 || st.Datapath.Interfaces[0].Tier != "xdp" {
		t.Errorf("after removing VI_2: %+v, interfaces %+v", st.Instance("VI_2"), st.Datapath.Interfaces)
	}
	if s := st.Instance("VI_1"); s == nil || s.State != "BACKUP" || s.Datapath != "xdp" {
		t.Errorf("VI_1 after the reloads: %+v", s)
	}
}

// TestDatapathBackupLeavesFault: a BACKUP that went to FAULT (its link
// down) and back follows the master again, on both paths: with the
// program, the master's adverts it absorbed meanwhile must not leave the
// instance deaf (it forgets the recorded master when the instance enters
// BACKUP, so that the next advert is an event).
func TestDatapathBackupLeavesFault(t *testing.T) {
	eachDatapath(t, func(t *testing.T, dp string) {
		l := newLAN(t)
		conf := func(prio int) string { return reloadInst("VI_1", 51, prio, "0.1", "192.0.2.151/24") }
		n1 := daemontest.Start(t, l.k1, conf(150), "--datapath", dp)
		n2 := daemontest.Start(t, l.k2, conf(100), "--datapath", dp)
		if err := n1.WaitState("VI_1", "MASTER", 20*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := n2.WaitState("VI_1", "BACKUP", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		l.k2.SetLink("eth0", false)
		if err := n2.WaitState("VI_1", "FAULT", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		l.k2.SetLink("eth0", true)
		if err := n2.WaitState("VI_1", "BACKUP", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		before, err := n2.Instance("VI_1")
		if err != nil {
			t.Fatal(err)
		}
		// 30 adverts at 0.1s: ten master-down intervals.
		netns.Eventually(t, 20*time.Second, "k2 following k1 again for 30 adverts", func() error {
			s, err := n2.Instance("VI_1")
			if err != nil {
				return err
			}
			if s.State != "BACKUP" {
				return netns.Permanent(fmt.Errorf("k2 %s (%s) after leaving FAULT", s.State, s.LastReason))
			}
			if s.Counters.AdvertsReceived < before.Counters.AdvertsReceived+30 {
				return fmt.Errorf("%d received since", s.Counters.AdvertsReceived-before.Counters.AdvertsReceived)
			}
			return nil
		})
		if v := transitionsTo(t, n2, "VI_1", "MASTER"); v != 0 {
			t.Errorf("k2 went MASTER %v times", v)
		}
	})
}
