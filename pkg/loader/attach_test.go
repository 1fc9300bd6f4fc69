package loader

import (
	"fmt"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"

	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

// hookState is what the kernel reports on an interface's ingress hooks.
type hookState struct {
	xdpMode uint32 // 0 none, 1 driver (native), 2 skb (generic)
	tcx     int    // programs on tcx ingress
	clsact  bool   // lbd's cls_bpf filter present
}

func kernelHooks(t *testing.T, h *netns.Host, ifname string) hookState {
	t.Helper()
	var s hookState
	lk, err := h.Netlink().LinkByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	if x := lk.Attrs().Xdp; x != nil && x.Attached {
		s.xdpMode = x.AttachMode
	}
	idx := lk.Attrs().Index
	err = h.Do(func() error {
		res, err := link.QueryPrograms(link.QueryOptions{Target: idx, Attach: ebpf.AttachTCXIngress})
		if err == nil {
			s.tcx = len(res.Programs)
		}
		s.clsact, err = clsactHasFilter(idx, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tierLab is two hosts on a veth pair: lb runs the loader, peer sends.
type tierLab struct {
	lab      *netns.Lab
	lb, peer *netns.Host
	l        *Loader
	key      VRIDKey
	snd      *sender
	stack    *stackCounter
	advert   []byte
}

func newTierLab(t *testing.T) *tierLab {
	testutil.RequireRoot(t)
	x := &tierLab{lab: netns.New(t, netns.Options{})}
	x.lb, x.peer = x.lab.Host("lb"), x.lab.Host("peer")
	x.lab.Link(x.lb, "eth0", x.peer, "eth0")
	x.lb.AddAddr("eth0", "192.0.2.10/24")
	x.peer.AddAddr("eth0", "192.0.2.1/24")
	x.l = openIn(t, x.lb, x.lb.BPFFS())
	t.Cleanup(func() { x.l.Close(true) })
	x.key = VRIDKey{Ifindex: x.lb.Index("eth0"), VRID: 7, Family: IPv4}
	if err := x.l.SetVRID(x.key, VRIDConfig{Version: 3, Interval: time.Second, VIPs: addrs("192.0.2.100")}); err != nil {
		t.Fatal(err)
	}
	x.snd = newSender(t, x.peer, "eth0")
	x.stack = newStackCounter(t, x.lb)
	x.advert = vrrpFrame(nil, "192.0.2.1", "224.0.0.18", 255,
		advert{version: 3, vrid: 7, prio: 100, count: -1, interval: 100, addrs: addrs("192.0.2.100")})
	return x
}

func (x *tierLab) accepted(t *testing.T) uint64 {
	t.Helper()
	s, err := x.l.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return s.VRIDs[x.key].Accepted
}

// expectHandled sends one advert and waits for the program to count it;
// none reaches the kernel's raw socket.
func (x *tierLab) expectHandled(t *testing.T) {
	t.Helper()
	before, stack := x.accepted(t), x.stack.n.Load()
	x.snd.send(t, x.advert)
	waitCount(t, "adverts accepted by the program", before+1, func() uint64 { return x.accepted(t) })
	if n := x.stack.n.Load(); n != stack {
		t.Errorf("%d adverts reached the kernel's raw socket", n-stack)
	}
}

// expectPassed sends one advert and waits for the kernel's raw socket to
// get it; the program (detached) counts nothing.
func (x *tierLab) expectPassed(t *testing.T) {
	t.Helper()
	before, stack := x.accepted(t), x.stack.n.Load()
	x.snd.send(t, x.advert)
	waitCount(t, "adverts at the raw socket", uint64(stack+1), func() uint64 { return uint64(x.stack.n.Load()) })
	if a := x.accepted(t); a != before {
		t.Errorf("program counted %d adverts while detached", a-before)
	}
}

func TestAttachTiers(t *testing.T) {
	x := newTierLab(t)
	x.expectPassed(t) // nothing attached yet: the kernel sees VRRP

	for _, c := range []struct {
		name  string
		mode  Mode
		noTCX bool
		tier  Tier
		hook  string
		state hookState
	}{
		{"auto on veth gets xdp native", ModeAuto, false, TierXDP, hookXDP, hookState{xdpMode: 1}},
		{"forced xdp", ModeXDP, false, TierXDP, hookXDP, hookState{xdpMode: 1}},
		{"forced xdp-generic", ModeXDPGeneric, false, TierXDPGeneric, hookXDP, hookState{xdpMode: 2}},
		{"forced tc gets tcx", ModeTC, false, TierTC, hookTCX, hookState{tcx: 1}},
		{"forced tc without tcx gets clsact", ModeTC, true, TierTC, hookClsact, hookState{clsact: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			x.l.noTCX = c.noTCX
			defer func() { x.l.noTCX = false }()
			tier, err := x.l.Attach("eth0", c.mode)
			if err != nil {
				t.Fatal(err)
			}
			if tier != c.tier {
				t.Fatalf("tier %s, want %s", tier, c.tier)
			}
			ifs := x.l.Interfaces()
			if len(ifs) != 1 || ifs[0].Name != "eth0" || ifs[0].Tier != c.tier || ifs[0].Hook != c.hook {
				t.Fatalf("interfaces %+v, want eth0 %s via %s", ifs, c.tier, c.hook)
			}
			if got := kernelHooks(t, x.lb, "eth0"); got != c.state {
				t.Fatalf("kernel hooks %+v, want %+v", got, c.state)
			}
			x.expectHandled(t)

			// Attaching again with the same mode changes nothing.
			if tier, err := x.l.Attach("eth0", c.mode); err != nil || tier != c.tier {
				t.Fatalf("second attach: %s, %v", tier, err)
			}
			if got := kernelHooks(t, x.lb, "eth0"); got != c.state {
				t.Fatalf("kernel hooks after a second attach %+v, want %+v", got, c.state)
			}

			if err := x.l.Detach("eth0"); err != nil {
				t.Fatal(err)
			}
			if got := kernelHooks(t, x.lb, "eth0"); got != (hookState{}) {
				t.Fatalf("kernel hooks after detach %+v", got)
			}
			if n := len(x.l.Interfaces()); n != 0 {
				t.Fatalf("%d interfaces after detach", n)
			}
			x.expectPassed(t)
		})
	}

	t.Run("auto moves tc up to xdp without a gap", func(t *testing.T) {
		if _, err := x.l.Attach("eth0", ModeTC); err != nil {
			t.Fatal(err)
		}
		tier, err := x.l.Attach("eth0", ModeAuto)
		if err != nil || tier != TierXDP {
			t.Fatalf("auto after tc: %s, %v", tier, err)
		}
		if got := kernelHooks(t, x.lb, "eth0"); got != (hookState{xdpMode: 1}) {
			t.Fatalf("kernel hooks %+v, want xdp native only", got)
		}
		x.expectHandled(t)
	})

	t.Run("off detaches", func(t *testing.T) {
		tier, err := x.l.Attach("eth0", ModeOff)
		if err != nil || tier != TierNone {
			t.Fatalf("off: %s, %v", tier, err)
		}
		if got := kernelHooks(t, x.lb, "eth0"); got != (hookState{}) {
			t.Fatalf("kernel hooks %+v after off", got)
		}
		x.expectPassed(t)
	})

	t.Run("unknown interface", func(t *testing.T) {
		if _, err := x.l.Attach("nosuch0", ModeAuto); err == nil {
			t.Fatal("attach on a missing interface succeeded")
		}
	})
}

// TestAttachAutoFallsBack: where XDP cannot attach, auto steps down and
// says why.
func TestAttachAutoFallsBack(t *testing.T) {
	x := newTierLab(t)

	t.Run("loopback has no native xdp: generic", func(t *testing.T) {
		tier, err := x.l.Attach("lo", ModeAuto)
		if err != nil || tier != TierXDPGeneric {
			t.Fatalf("auto on lo: %s, %v", tier, err)
		}
		var lo Interface
		for _, i := range x.l.Interfaces() {
			if i.Name == "lo" {
				lo = i
			}
		}
		if len(lo.Skipped) != 1 || lo.Skipped[0].Tier != TierXDP {
			t.Fatalf("skipped %v, want the xdp native failure", lo.Skipped)
		}
		t.Logf("lo: %s after %v", lo.Tier, lo.Skipped)
		if err := x.l.Detach("lo"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("another xdp program on the device: tc", func(t *testing.T) {
		// Someone else's XDP program, attached the old way (netlink, no
		// bpf_link), in generic mode: neither XDP mode can join it.
		foreign, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.XDP, License: "GPL",
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2), asm.Return()}})
		if err != nil {
			t.Fatal(err)
		}
		defer foreign.Close()
		lk, err := x.lb.Netlink().LinkByName("eth0")
		if err != nil {
			t.Fatal(err)
		}
		const xdpFlagsSKBMode = 1 << 1
		if err := x.lb.Do(func() error { return netlink.LinkSetXdpFdWithFlags(lk, foreign.FD(), xdpFlagsSKBMode) }); err != nil {
			t.Fatal(err)
		}
		defer x.lb.Do(func() error { return netlink.LinkSetXdpFdWithFlags(lk, -1, xdpFlagsSKBMode) })

		tier, err := x.l.Attach("eth0", ModeAuto)
		if err != nil || tier != TierTC {
			t.Fatalf("auto beside a foreign xdp program: %s, %v", tier, err)
		}
		ifs := x.l.Interfaces()
		if len(ifs) != 1 || len(ifs[0].Skipped) != 2 {
			t.Fatalf("interfaces %+v, want xdp and xdp-generic skipped", ifs)
		}
		t.Logf("eth0: %s after %v", ifs[0].Tier, ifs[0].Skipped)
		x.expectHandled(t)

		if _, err := x.l.Attach("eth0", ModeXDP); err == nil {
			t.Fatal("forced xdp beside a foreign program succeeded")
		} else {
			t.Logf("forced xdp: %v", err)
		}
		if got := x.l.Interfaces(); len(got) != 1 || got[0].Tier != TierTC {
			t.Fatalf("a failed forced attach lost the tc tier: %+v", got)
		}
		x.expectHandled(t)
		if err := x.l.Detach("eth0"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestModeStrings(t *testing.T) {
	for _, tier := range Tiers {
		if tier.String() == fmt.Sprintf("Tier(%d)", uint8(tier)) {
			t.Errorf("tier %d has no name", tier)
		}
	}
}
