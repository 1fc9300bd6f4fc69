package loader

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/lbdproject/lbd/internal/netns"
)

// Helpers of the namespace tests: a loader opened inside a lab host, raw
// frame senders, a raw VRRP socket that sees what the program passes up,
// and counters read from the pinned maps (valid while no loader runs).

// openIn opens a loader in host h, pinning in the host's private bpffs.
func openIn(t *testing.T, h *netns.Host, bpffs string) *Loader {
	t.Helper()
	var l *Loader
	err := h.Do(func() error {
		var err error
		l, err = Open(Options{BPFFS: bpffs, Logger: testLogger(t)})
		return err
	})
	if err != nil {
		t.Fatalf("open loader in %s: %v", h.Name(), err)
	}
	return l
}

// sender writes raw Ethernet frames on one interface of a host.
type sender struct {
	fd int
}

func newSender(t *testing.T, h *netns.Host, ifname string) *sender {
	t.Helper()
	idx := h.Index(ifname)
	var fd int
	err := h.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: idx})
	})
	if err != nil {
		t.Fatalf("packet socket on %s:%s: %v", h.Name(), ifname, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return &sender{fd: fd}
}

func (s *sender) send(t testing.TB, f []byte) {
	t.Helper()
	if err := s.write(f); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// write sends one frame; safe from any goroutine.
func (s *sender) write(f []byte) error {
	for {
		_, err := unix.Write(s.fd, f)
		if errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN) {
			continue // the qdisc is full: retry, nothing is lost
		}
		return err
	}
}

// stackCounter counts the VRRP packets that reach the kernel's raw IPv4
// socket layer in a host: the ones the program passed.
type stackCounter struct {
	n atomic.Int64
}

func newStackCounter(t *testing.T, h *netns.Host) *stackCounter {
	t.Helper()
	var fd int
	err := h.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 112)
		if err != nil {
			return err
		}
		// Join 224.0.0.18 on every interface so that multicast adverts are
		// delivered.
		mreq := &unix.IPMreqn{Multiaddr: [4]byte{224, 0, 0, 18}}
		for idx := 1; idx < 64; idx++ {
			mreq.Ifindex = int32(idx)
			unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreq)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("raw vrrp socket in %s: %v", h.Name(), err)
	}
	c := &stackCounter{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			_, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				if errors.Is(err, unix.EINTR) {
					continue
				}
				return
			}
			c.n.Add(1)
		}
	}()
	t.Cleanup(func() {
		unix.Shutdown(fd, unix.SHUT_RDWR)
		unix.Close(fd)
		<-done
	})
	return c
}

// pinnedCounters reads a VRID's counters from the pinned maps directly,
// so that counting can be observed while no loader is open.
func pinnedCounters(pinDir string, k VRIDKey) (VRIDStats, error) {
	vrids, err := ebpf.LoadPinnedMap(filepath.Join(pinDir, bpfMapVrrpVrids), nil)
	if err != nil {
		return VRIDStats{}, err
	}
	defer vrids.Close()
	stats, err := ebpf.LoadPinnedMap(filepath.Join(pinDir, bpfMapVrrpStats), nil)
	if err != nil {
		return VRIDStats{}, err
	}
	defer stats.Close()
	var cfg bpfVrrpCfg
	if err := vrids.Lookup(k.bpf(), &cfg); err != nil {
		return VRIDStats{}, fmt.Errorf("vrid %s not in the pinned map: %w", k, err)
	}
	var vs []bpfVrrpVridStats
	if err := stats.Lookup(cfg.Slot, &vs); err != nil {
		return VRIDStats{}, err
	}
	var sum VRIDStats
	for _, c := range vs {
		sum.Accepted += c.Rx
		sum.PriorityZero += c.PriZero
		for r := range sum.Rejected {
			sum.Rejected[r] += c.Drops[r]
		}
	}
	return sum, nil
}

// waitCount polls until get() reaches want; it never sleeps a fixed time.
func waitCount(t testing.TB, what string, want uint64, get func() uint64) {
	t.Helper()
	var got uint64
	err := netns.Poll(20*time.Second, func() error {
		got = get()
		if got >= want {
			return nil
		}
		return fmt.Errorf("%s: %d of %d", what, got, want)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("%s: %d, want %d", what, got, want)
	}
}

func pathExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// testLogger sends the loader's log lines to the test's log, and drops
// them once the test has ended (a late line from a goroutine must not
// panic the test binary).
func testLogger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	t    testing.TB
	done atomic.Bool
}

func (w *testWriter) Write(b []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimRight(string(b), "\n"))
	}
	return len(b), nil
}
