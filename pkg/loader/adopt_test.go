package loader

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"

	"github.com/lbdproject/lbd/internal/netns"
)

func pinnedLinkID(t *testing.T, path string) link.ID {
	t.Helper()
	lnk, err := link.LoadPinnedLink(path, nil)
	if err != nil {
		t.Fatalf("pinned link %s: %v", path, err)
	}
	defer lnk.Close()
	info, err := lnk.Info()
	if err != nil {
		t.Fatal(err)
	}
	return info.ID
}

func xdpProgID(t *testing.T, h *netns.Host, ifname string) uint32 {
	t.Helper()
	lk, err := h.Netlink().LinkByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	if x := lk.Attrs().Xdp; x != nil && x.Attached {
		return x.ProgId
	}
	return 0
}

// TestAdoptAcrossRestart restarts the loader (Close without graceful, Open
// again) three times while a peer sends adverts without pause, each batch
// awaited in the pinned counters: every advert is counted by the program
// and none reaches the kernel, so the program was there throughout; the
// XDP link is the same one, its program the new build's each time; the
// counters continue.
func TestAdoptAcrossRestart(t *testing.T) {
	x := newTierLab(t)
	bpffs := x.lb.BPFFS()
	cfg := VRIDConfig{Version: 3, Interval: time.Second, VIPs: addrs("192.0.2.100")}
	if tier, err := x.l.Attach("eth0", ModeAuto); err != nil || tier != TierXDP {
		t.Fatalf("attach: %s, %v", tier, err)
	}
	pinDir := x.l.PinDir()
	if !strings.Contains(pinDir, filepath.Join(bpffs, "lbd", "netns-")) {
		t.Fatalf("pin dir %s not under %s/lbd/netns-<inode>", pinDir, bpffs)
	}
	linkPin := filepath.Join(pinDir, "link_xdp_"+itoa(x.key.Ifindex))
	linkID := pinnedLinkID(t, linkPin)
	progIDs := map[uint32]bool{xdpProgID(t, x.lb, "eth0"): true}

	const batch, batches = 50, 40
	progress := make(chan int, batches)
	failed := make(chan string, 1)
	go func() {
		defer close(progress)
		sent := 0
		for b := 0; b < batches; b++ {
			for i := 0; i < batch; i++ {
				if err := x.snd.write(x.advert); err != nil {
					failed <- err.Error()
					return
				}
			}
			sent += batch
			err := netns.Poll(20*time.Second, func() error {
				s, err := pinnedCounters(pinDir, x.key)
				if err != nil {
					return err
				}
				if s.Accepted < uint64(sent) {
					return fmt.Errorf("counted %d of %d", s.Accepted, sent)
				}
				return nil
			})
			if err != nil {
				failed <- err.Error()
				return
			}
			progress <- sent
		}
	}()

	l := x.l
	restarts := 0
	for sent := range progress {
		if restarts == 3 || sent < (restarts+1)*batches*batch/5 {
			continue
		}
		restarts++
		if err := l.Close(false); err != nil {
			t.Fatalf("close: %v", err)
		}
		if !pathExists(linkPin) || xdpProgID(t, x.lb, "eth0") == 0 {
			t.Fatal("the program did not stay attached over a non-graceful close")
		}
		l = openIn(t, x.lb, bpffs)
		if err := l.SetVRID(x.key, cfg); err != nil {
			t.Fatal(err)
		}
		ifs := l.Interfaces()
		if len(ifs) != 1 || !ifs[0].Adopted || ifs[0].Tier != TierXDP {
			t.Fatalf("after restart %d: interfaces %+v, want eth0 adopted at xdp", restarts, ifs)
		}
		if tier, err := l.Attach("eth0", ModeAuto); err != nil || tier != TierXDP {
			t.Fatalf("attach after restart %d: %s, %v", restarts, tier, err)
		}
		if err := l.PruneUnclaimed(); err != nil {
			t.Fatal(err)
		}
		if id := pinnedLinkID(t, linkPin); id != linkID {
			t.Fatalf("restart %d: link %d, want the same link %d", restarts, id, linkID)
		}
		progIDs[xdpProgID(t, x.lb, "eth0")] = true
	}
	select {
	case msg := <-failed:
		t.Fatalf("adverts not counted (passed to the kernel, or lost): %s", msg)
	default:
	}
	x.l = l // closed gracefully by the lab's cleanup

	if restarts != 3 {
		t.Fatalf("%d restarts, want 3", restarts)
	}
	s, err := l.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.VRIDs[x.key].Accepted; got != batch*batches {
		t.Errorf("accepted %d, want %d: counting had a gap", got, batch*batches)
	}
	if n := x.stack.n.Load(); n != 0 {
		t.Errorf("%d adverts reached the kernel during the restarts", n)
	}
	if len(progIDs) != 4 {
		t.Errorf("program ids %v: want the original and one per restart", progIDs)
	}

	// A graceful close removes everything.
	if err := l.Close(true); err != nil {
		t.Fatal(err)
	}
	if pathExists(pinDir) {
		t.Errorf("pin dir %s left after a graceful close", pinDir)
	}
	if got := kernelHooks(t, x.lb, "eth0"); got != (hookState{}) {
		t.Errorf("hooks after a graceful close: %+v", got)
	}
}

// TestAdoptCleansUp: at Open, pins of interfaces that are gone are
// removed; adopted attachments nobody claims are pruned; clsact
// attachments are adopted with their filter's program replaced in place.
func TestAdoptCleansUp(t *testing.T) {
	x := newTierLab(t)
	x.lab.Link(x.lb, "eth1", x.peer, "eth1")
	x.lab.Link(x.lb, "eth2", x.peer, "eth2")
	x.lab.Link(x.lb, "tmp0", x.peer, "tmp0")
	bpffs := x.lb.BPFFS()
	x.l.noTCX = true
	for ifn, mode := range map[string]Mode{"eth0": ModeAuto, "eth1": ModeTC, "eth2": ModeXDPGeneric, "tmp0": ModeAuto} {
		if _, err := x.l.Attach(ifn, mode); err != nil {
			t.Fatal(err)
		}
	}
	pinDir := x.l.PinDir()
	var oldCls uint32
	err := x.lb.Do(func() error {
		info, err := x.l.ifaces[x.lb.Index("eth1")].clsProg.Info()
		if err != nil {
			return err
		}
		id, _ := info.ID()
		oldCls = uint32(id)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := x.l.Close(false); err != nil {
		t.Fatal(err)
	}
	tmpIdx := x.lb.Index("tmp0")
	if err := x.lb.Netlink().LinkDel(mustLink(t, x.lb, "tmp0")); err != nil {
		t.Fatal(err)
	}

	l := openIn(t, x.lb, bpffs)
	x.l = l
	if pathExists(filepath.Join(pinDir, "link_xdp_"+itoa(tmpIdx))) {
		t.Error("the pin of a deleted interface survived Open")
	}
	got := map[string]Interface{}
	for _, i := range l.Interfaces() {
		got[i.Name] = i
	}
	if len(got) != 3 || got["eth0"].Tier != TierXDP || got["eth1"].Hook != hookClsact || got["eth2"].Tier != TierXDPGeneric {
		t.Fatalf("adopted %+v", got)
	}
	if present, _ := clsactOn(t, x.lb, "eth1", oldCls); present {
		t.Error("eth1's filter still runs the old program after adoption")
	}
	if present, _ := clsactOn(t, x.lb, "eth1", 0); !present {
		t.Error("eth1's filter is gone after adoption")
	}

	for _, ifn := range []string{"eth0", "eth1"} {
		if _, err := l.Attach(ifn, ModeAuto); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.Interfaces(); len(got) != 3 {
		t.Fatalf("interfaces %+v", got)
	}
	if err := l.PruneUnclaimed(); err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, i := range l.Interfaces() {
		names = append(names, i.Name+"="+i.Tier.String())
	}
	// eth1 was tc and auto now moves it up to xdp; eth2 was not claimed.
	if strings.Join(names, ",") != "eth0=xdp,eth1=xdp" {
		t.Fatalf("after prune: %v", names)
	}
	if got := kernelHooks(t, x.lb, "eth2"); got != (hookState{}) {
		t.Errorf("eth2 still hooked after prune: %+v", got)
	}
	if got := kernelHooks(t, x.lb, "eth1"); got != (hookState{xdpMode: 1}) {
		t.Errorf("eth1 hooks %+v, want xdp native only", got)
	}
	x.expectHandled(t)
}

func clsactOn(t *testing.T, h *netns.Host, ifname string, progID uint32) (bool, error) {
	t.Helper()
	var present bool
	err := h.Do(func() error {
		var err error
		present, err = clsactHasFilter(h.Index(ifname), progID)
		return err
	})
	return present, err
}

// TestPinDirs: one lbd per network namespace may share a bpffs; a second
// one in the same namespace is refused; the directories of namespaces
// nobody serves any more are cleared.
func TestPinDirs(t *testing.T) {
	x := newTierLab(t)
	bpffs := x.lb.BPFFS()

	err := x.lb.Do(func() error {
		_, err := Open(Options{BPFFS: bpffs})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("a second loader in the same namespace: %v", err)
	}

	// An orphan: a directory with a map and no live attachment, its
	// namespace long gone.
	orphan := filepath.Join(bpffs, "lbd", "netns-1")
	if err := os.MkdirAll(orphan, 0o700); err != nil {
		t.Fatal(err)
	}
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Pin(filepath.Join(orphan, bpfMapVrrpVrids)); err != nil {
		t.Fatal(err)
	}
	m.Close()

	other := openIn(t, x.peer, bpffs)
	defer other.Close(true)
	if other.PinDir() == x.l.PinDir() {
		t.Fatalf("two namespaces share pin dir %s", other.PinDir())
	}
	if pathExists(orphan) {
		t.Error("orphaned pin dir not removed")
	}
	if !pathExists(x.l.PinDir()) {
		t.Error("a live loader's pin dir was removed")
	}
}

func mustLink(t *testing.T, h *netns.Host, name string) netlink.Link {
	t.Helper()
	lk, err := h.Netlink().LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return lk
}

func itoa(i int) string { return strconv.Itoa(i) }
