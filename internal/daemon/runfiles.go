package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/lbdproject/lbd/pkg/netutil"
)

// The run directory (--run-dir) holds one lbd's files; several lbd
// processes (one per network namespace) each get their own directory.
const (
	SocketName = "lbd.sock"  // control socket
	PIDName    = "lbd.pid"   // pid file, locked while lbd runs
	VIPsName   = "vips.json" // VIPs this lbd added and has not removed yet
)

// pidFile is the run directory's pid file, held with an exclusive flock
// for the process's lifetime: a second lbd on the same run directory is
// refused whatever the pid file says, and a file left by a killed lbd (no
// lock held) is simply taken over.
type pidFile struct {
	path string
	f    *os.File
}

// ErrRunning reports a run directory in use by a live lbd.
var ErrRunning = errors.New("another lbd is running with this run directory")

func lockPIDFile(dir string) (*pidFile, error) {
	path := filepath.Join(dir, PIDName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pid file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("pid file %s (pid %s): %w", path, strings.TrimSpace(string(b)), ErrRunning)
		}
		return nil, fmt.Errorf("lock pid file %s: %w", path, err)
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("write pid file %s: %w", path, err)
	}
	return &pidFile{path: path, f: f}, nil
}

// release removes the file, then drops the lock.
func (p *pidFile) release() {
	os.Remove(p.path)
	p.f.Close()
}

// vipState mirrors, in RUN_DIR/vips.json, the VIPs this lbd added: a
// restarted lbd removes what a killed one left (keepalived removes every
// configured VIP it finds at startup; lbd removes only addresses it
// recorded adding, and never one that was on the interface before).
type vipState struct {
	path string
	log  *slog.Logger

	mu      sync.Mutex
	entries map[string]stateEntry
	// The file is written off the instances' loops (a transition to
	// MASTER adds its VIPs and sends its gratuitous ARPs without waiting
	// for the file system): writing is set while a writer goroutine runs,
	// dirty asks it for one more pass, so bursts of changes coalesce.
	writing, dirty bool
	writers        sync.WaitGroup
}

type stateEntry struct {
	Interface string `json:"interface"`
	Prefix    string `json:"prefix"`
	Peer      string `json:"peer,omitempty"`
}

func (e stateEntry) key() string { return e.Interface + " " + e.Prefix }

func newVIPState(dir string, log *slog.Logger) *vipState {
	return &vipState{path: filepath.Join(dir, VIPsName), log: log, entries: map[string]stateEntry{}}
}

func entryOf(dev string, a netutil.Address) stateEntry {
	e := stateEntry{Interface: dev, Prefix: a.Prefix.String()}
	if a.Peer.IsValid() {
		e.Peer = a.Peer.String()
	}
	return e
}

func (s *vipState) add(dev string, a netutil.Address) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := entryOf(dev, a)
	s.entries[e.key()] = e
	s.changedLocked()
}

func (s *vipState) remove(dev string, a netutil.Address) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.entries, entryOf(dev, a).key())
	s.changedLocked()
}

func (s *vipState) empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries) == 0
}

// changedLocked has the file rewritten soon, by the writer goroutine.
func (s *vipState) changedLocked() {
	s.dirty = true
	if s.writing {
		return
	}
	s.writing = true
	s.writers.Add(1)
	go s.writeLoop()
}

func (s *vipState) writeLoop() {
	defer s.writers.Done()
	s.mu.Lock()
	for s.dirty {
		s.dirty = false
		list := make([]stateEntry, 0, len(s.entries))
		for _, e := range s.entries {
			list = append(list, e)
		}
		s.mu.Unlock()
		s.write(list)
		s.mu.Lock()
	}
	s.writing = false
	s.mu.Unlock()
}

func (s *vipState) write(list []stateEntry) {
	sort.Slice(list, func(i, j int) bool { return list[i].key() < list[j].key() })
	b, _ := json.MarshalIndent(list, "", "  ")
	tmp := s.path + ".tmp"
	err := os.WriteFile(tmp, append(b, '\n'), 0o644)
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		s.log.Error("record owned vips", "file", s.path, "error", err)
	}
}

// flush waits until every change is in the file.
func (s *vipState) flush() { s.writers.Wait() }

// cleanupLeftovers removes the VIPs a previous lbd recorded adding and
// did not remove (it was killed), then forgets them.
func (s *vipState) cleanupLeftovers(host *netutil.Host, mgr *netutil.VIPManager) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var list []stateEntry
	if err == nil {
		err = json.Unmarshal(b, &list)
	}
	if err != nil {
		s.log.Error("read vips left by a previous run; not removing them", "file", s.path, "error", err)
		return
	}
	for _, e := range list {
		link, err := host.LinkByName(e.Interface)
		if err != nil {
			continue // gone with its interface
		}
		p, err := netip.ParsePrefix(e.Prefix)
		if err != nil {
			continue
		}
		a := netutil.Address{IfIndex: link.Index, Prefix: p}
		if e.Peer != "" {
			a.Peer, _ = netip.ParsePrefix(e.Peer)
		}
		if err := mgr.Adopt(a); err != nil {
			s.log.Error("adopt vip left by a previous run", "vip", e.Prefix, "interface", e.Interface, "error", err)
			continue
		}
		removed, err := mgr.Remove(a)
		switch {
		case err != nil:
			s.log.Error("remove vip left by a previous run", "vip", e.Prefix, "interface", e.Interface, "error", err)
		case removed:
			s.log.Info("removed vip left by a previous run", "vip", e.Prefix, "interface", e.Interface)
		}
	}
	s.mu.Lock()
	s.changedLocked()
	s.mu.Unlock()
}
