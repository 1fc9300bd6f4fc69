package loader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// Options configure Open.
type Options struct {
	// BPFFS is a mounted bpffs (the daemon's --bpffs, usually /sys/fs/bpf).
	// Maps and links are pinned in BPFFS/lbd/netns-<inode>/, one directory
	// per network namespace, so several lbd processes on one host (one per
	// namespace) share a bpffs without colliding; a second lbd in the same
	// namespace is refused. Empty: nothing is pinned, and Close always
	// detaches (tests, one-shot tools).
	BPFFS string
	// Logger receives one Info line per tier choice, adoption and cleanup.
	// Nil: discard.
	Logger *slog.Logger
}

// pinned are the maps kept across restarts. vrrp_scratch holds nothing
// between packets and is not pinned.
var pinnedMaps = []string{
	bpfMapVrrpVrids, bpfMapVrrpMaster, bpfMapVrrpStats,
	bpfMapVrrpIfStats, bpfMapVrrpAllow, bpfMapVrrpEvents,
}

// Loader owns the VRRP program, its maps and its attachments in one
// network namespace: the one Open was called in. Its methods may be called
// from any goroutine; netlink and attach work is done in that namespace.
type Loader struct {
	log    *slog.Logger
	pinDir string // "" when not pinning
	lock   *os.File
	nsFD   int
	nsIno  uint64
	objs   bpfObjects
	ncpu   int

	// noTCX makes the TC tier go straight to clsact (tests of the fallback
	// that older kernels take).
	noTCX bool

	mu     sync.Mutex
	ifaces map[int]*iface         // by ifindex
	names  map[int]string         // ifindex -> name, for metric labels
	vrids  map[VRIDKey]VRIDConfig // as last written
	slots  map[VRIDKey]uint32     // each VRID's index in vrrp_master and vrrp_stats
	events *ringbuf.Reader        // while Events runs
	closed bool
}

// iface is one attachment.
type iface struct {
	Interface
	link    link.Link     // XDP or tcx
	clsProg *ebpf.Program // clsact: our clone of tc_vrrp, pinned as the attachment's marker
	pin     string
	claimed bool // Attach was called for it since Open
}

// Open loads the VRRP program and its maps, adopting the pinned maps and
// attachments a previous lbd left in this namespace's pin directory (the
// program in them is replaced by this one in place: no detach, counters
// continue), and removing pins whose interface is gone. Call it in the
// network namespace the loader is for.
func Open(opts Options) (*Loader, error) {
	l := &Loader{
		log:    opts.Logger,
		nsFD:   -1,
		ifaces: map[int]*iface{},
		names:  map[int]string{},
		vrids:  map[VRIDKey]VRIDConfig{},
		slots:  map[VRIDKey]uint32{},
	}
	if l.log == nil {
		l.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ok := false
	defer func() {
		if !ok {
			l.release()
		}
	}()

	fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open loader: own network namespace: %w", err)
	}
	l.nsFD = fd
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("open loader: stat network namespace: %w", err)
	}
	l.nsIno = st.Ino
	if l.ncpu, err = ebpf.PossibleCPU(); err != nil {
		return nil, fmt.Errorf("open loader: %w", err)
	}

	spec, err := loadBpf()
	if err != nil {
		return nil, fmt.Errorf("open loader: %w", err)
	}
	var copts ebpf.CollectionOptions
	if opts.BPFFS != "" {
		if err := l.openPinDir(opts.BPFFS); err != nil {
			return nil, err
		}
		for _, name := range pinnedMaps {
			spec.Maps[name].Pinning = ebpf.PinByName
		}
		l.dropIncompatiblePins(spec)
		copts.Maps.PinPath = l.pinDir
	}
	if err := spec.LoadAndAssign(&l.objs, &copts); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("open loader: load bpf objects: %w (verifier: %s)", err, strings.Join(ve.Log, "; "))
		}
		return nil, fmt.Errorf("open loader: load bpf objects: %w", err)
	}
	if l.pinDir != "" {
		if err := l.adopt(); err != nil {
			return nil, err
		}
	}
	// Slots of the VRIDs a previous lbd left (their counters continue).
	var bk bpfVrrpKey
	var cfg bpfVrrpCfg
	it := l.objs.VrrpVrids.Iterate()
	for it.Next(&bk, &cfg) {
		l.slots[keyFromBPF(bk)] = cfg.Slot
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("open loader: read vrids: %w", err)
	}
	ok = true
	return l, nil
}

// openPinDir creates and locks BPFFS/lbd/netns-<inode>, and clears the
// directories of other namespaces that nothing uses any more.
func (l *Loader) openPinDir(bpffs string) error {
	var sfs unix.Statfs_t
	if err := unix.Statfs(bpffs, &sfs); err != nil {
		return fmt.Errorf("open loader: bpffs %s: %w", bpffs, err)
	}
	if sfs.Type != unix.BPF_FS_MAGIC {
		return fmt.Errorf("open loader: %s is not a bpffs (mount -t bpf bpf %s)", bpffs, bpffs)
	}
	root := filepath.Join(bpffs, "lbd")
	l.pinDir = filepath.Join(root, "netns-"+strconv.FormatUint(l.nsIno, 10))
	if err := os.MkdirAll(l.pinDir, 0o700); err != nil {
		return fmt.Errorf("open loader: pin dir: %w", err)
	}
	f, err := os.Open(l.pinDir)
	if err != nil {
		return fmt.Errorf("open loader: pin dir: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("open loader: pin dir %s is in use by another lbd in this network namespace", l.pinDir)
		}
		return fmt.Errorf("open loader: lock pin dir %s: %w", l.pinDir, err)
	}
	l.lock = f
	l.sweepOrphans(root)
	return nil
}

// dropIncompatiblePins unpins maps whose pinned layout differs from this
// build's (an upgrade changed them): they are created afresh, their old
// contents lost. Sizes and flags are compared, not field meanings.
func (l *Loader) dropIncompatiblePins(spec *ebpf.CollectionSpec) {
	for _, name := range pinnedMaps {
		path := filepath.Join(l.pinDir, name)
		m, err := ebpf.LoadPinnedMap(path, nil)
		if err != nil {
			continue
		}
		err = spec.Maps[name].Compatible(m)
		m.Close()
		if err != nil {
			l.log.Warn("pinned map replaced", "map", name, "reason", err.Error())
			os.Remove(path)
		}
	}
}

// Pin names of attachments: link_<tier>_<ifindex> for bpf links (XDP,
// tcx), prog_clsact_<ifindex> for the program of a clsact filter.
func linkPinName(t Tier, hook string, ifindex int) string {
	if hook == hookClsact {
		return "prog_clsact_" + strconv.Itoa(ifindex)
	}
	return "link_" + t.String() + "_" + strconv.Itoa(ifindex)
}

func parsePinName(name string) (t Tier, hook string, ifindex int, ok bool) {
	if rest, found := strings.CutPrefix(name, "prog_clsact_"); found {
		n, err := strconv.Atoi(rest)
		return TierTC, hookClsact, n, err == nil && n > 0
	}
	rest, found := strings.CutPrefix(name, "link_")
	if !found {
		return 0, "", 0, false
	}
	i := strings.LastIndexByte(rest, '_')
	if i < 0 {
		return 0, "", 0, false
	}
	n, err := strconv.Atoi(rest[i+1:])
	if err != nil || n <= 0 {
		return 0, "", 0, false
	}
	switch rest[:i] {
	case TierXDP.String():
		return TierXDP, hookXDP, n, true
	case TierXDPGeneric.String():
		return TierXDPGeneric, hookXDP, n, true
	case TierTC.String():
		return TierTC, hookTCX, n, true
	}
	return 0, "", 0, false
}

// adopt takes over the attachments pinned by a previous lbd in this
// namespace: each live one gets this build's program in place; pins of
// interfaces that are gone (or lost our program) are removed.
func (l *Loader) adopt() error {
	entries, err := os.ReadDir(l.pinDir)
	if err != nil {
		return fmt.Errorf("open loader: read pin dir: %w", err)
	}
	for _, e := range entries {
		tier, hook, ifindex, ok := parsePinName(e.Name())
		if !ok {
			continue
		}
		path := filepath.Join(l.pinDir, e.Name())
		ifc, why := l.adoptOne(path, tier, hook, ifindex)
		if ifc == nil {
			l.log.Info("stale pin removed", "pin", path, "reason", why)
			os.Remove(path)
			continue
		}
		l.ifaces[ifindex] = ifc
		l.names[ifindex] = ifc.Name
		l.log.Info("datapath adopted", "interface", ifc.Name, "tier", ifc.Tier.String(), "hook", ifc.Hook)
	}
	return nil
}

func (l *Loader) adoptOne(path string, tier Tier, hook string, ifindex int) (*iface, string) {
	netif, err := net.InterfaceByIndex(ifindex)
	if err != nil {
		return nil, fmt.Sprintf("interface %d gone", ifindex)
	}
	ifc := &iface{Interface: Interface{Name: netif.Name, Ifindex: ifindex, Tier: tier, Hook: hook, Adopted: true}, pin: path}
	if hook == hookClsact {
		old, err := ebpf.LoadPinnedProgram(path, nil)
		if err != nil {
			return nil, err.Error()
		}
		defer old.Close()
		info, err := old.Info()
		if err != nil {
			return nil, err.Error()
		}
		id, _ := info.ID()
		present, err := clsactHasFilter(ifindex, uint32(id))
		if err != nil || !present {
			return nil, fmt.Sprintf("no lbd filter on %s", netif.Name)
		}
		clone, err := l.objs.TcVrrp.Clone()
		if err != nil {
			return nil, err.Error()
		}
		if err := clsactReplace(ifindex, clone); err != nil {
			clone.Close()
			return nil, err.Error()
		}
		os.Remove(path)
		if err := clone.Pin(path); err != nil {
			l.log.Warn("pin clsact program", "interface", netif.Name, "error", err.Error())
		}
		ifc.clsProg = clone
		return ifc, ""
	}
	lnk, err := link.LoadPinnedLink(path, nil)
	if err != nil {
		return nil, err.Error()
	}
	info, err := lnk.Info()
	if err != nil {
		lnk.Close()
		return nil, err.Error()
	}
	var got uint32
	if x := info.XDP(); x != nil {
		got = x.Ifindex
	} else if x := info.TCX(); x != nil {
		got = x.Ifindex
	}
	if got != uint32(ifindex) {
		lnk.Close()
		return nil, fmt.Sprintf("link detached from interface %d", ifindex)
	}
	prog := l.objs.XdpVrrp
	if hook == hookTCX {
		prog = l.objs.TcVrrp
	}
	if err := lnk.Update(prog); err != nil {
		lnk.Close()
		return nil, fmt.Sprintf("update program: %v", err)
	}
	ifc.link = lnk
	return ifc, ""
}

// sweepOrphans removes the pin directories of other namespaces that no lbd
// holds and whose attachments are all gone (their interfaces, or the
// namespace itself, were deleted). A directory with a clsact program pin is
// left alone: whether its filter lives cannot be seen from here.
func (l *Loader) sweepOrphans(root string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if !e.IsDir() || dir == l.pinDir || !strings.HasPrefix(e.Name(), "netns-") {
			continue
		}
		f, err := os.Open(dir)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			f.Close() // a live lbd holds it
			continue
		}
		if orphaned(dir) {
			pins, _ := os.ReadDir(dir)
			for _, p := range pins {
				os.Remove(filepath.Join(dir, p.Name()))
			}
			if err := os.Remove(dir); err == nil {
				l.log.Info("orphaned pin dir removed", "dir", dir)
			}
		}
		f.Close()
	}
}

func orphaned(dir string) bool {
	pins, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, p := range pins {
		_, hook, _, ok := parsePinName(p.Name())
		if !ok {
			continue
		}
		if hook == hookClsact {
			return false
		}
		lnk, err := link.LoadPinnedLink(filepath.Join(dir, p.Name()), nil)
		if err != nil {
			continue
		}
		info, err := lnk.Info()
		lnk.Close()
		if err != nil {
			return false
		}
		if x := info.XDP(); x != nil && x.Ifindex != 0 {
			return false
		}
		if x := info.TCX(); x != nil && x.Ifindex != 0 {
			return false
		}
	}
	return true
}

// inNS runs fn with the calling goroutine's thread in the loader's network
// namespace: directly when it already is (the daemon), else on a locked
// helper thread that is discarded if it cannot switch back.
func (l *Loader) inNS(fn func() error) error {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err == nil && st.Ino == l.nsIno {
		return fn()
	}
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("open own netns: %w", err)
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(l.nsFD, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("enter loader netns: %w", err)
			return
		}
		err = fn()
		if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
			ch <- errors.Join(err, fmt.Errorf("restore netns: %w", rerr)) // thread stays locked and dies
			return
		}
		runtime.UnlockOSThread()
		ch <- err
	}()
	return <-ch
}

// PinDir is the directory the loader pins in ("" when not pinning).
func (l *Loader) PinDir() string { return l.pinDir }

// Close stops the loader. Graceful (lbd stopping for good): every
// attachment is detached and every pin removed. Not graceful (a restart
// to follow): pinned maps and attachments stay, with the program running,
// for the next Open to adopt. Without pinning, Close always detaches.
func (l *Loader) Close(graceful bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.events != nil {
		l.events.Close()
		l.events = nil
	}
	var errs []error
	detach := graceful || l.pinDir == ""
	err := l.inNS(func() error {
		for idx, ifc := range l.ifaces {
			if detach {
				if err := l.detach(ifc); err != nil {
					errs = append(errs, err)
				}
			} else {
				ifc.close()
			}
			delete(l.ifaces, idx)
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if graceful && l.pinDir != "" {
		for _, m := range []*ebpf.Map{l.objs.VrrpVrids, l.objs.VrrpMaster, l.objs.VrrpStats,
			l.objs.VrrpIfStats, l.objs.VrrpAllow, l.objs.VrrpEvents} {
			if err := m.Unpin(); err != nil {
				errs = append(errs, fmt.Errorf("close loader: unpin map: %w", err))
			}
		}
		if err := os.Remove(l.pinDir); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("close loader: %w", err))
		}
	}
	l.release()
	return errors.Join(errs...)
}

// release closes descriptors without detaching anything.
func (l *Loader) release() {
	for _, ifc := range l.ifaces {
		ifc.close()
	}
	l.objs.Close()
	if l.lock != nil {
		l.lock.Close() // drops the flock
		l.lock = nil
	}
	if l.nsFD >= 0 {
		unix.Close(l.nsFD)
		l.nsFD = -1
	}
}

// close drops our descriptors of an attachment; a pinned one stays.
func (ifc *iface) close() {
	if ifc.link != nil {
		ifc.link.Close()
		ifc.link = nil
	}
	if ifc.clsProg != nil {
		ifc.clsProg.Close()
		ifc.clsProg = nil
	}
}

// Events streams the program's events until ctx ends or the loader
// closes; the channel is closed then. One stream at a time. Events are
// lost (counted in IfaceStats.EventsLost) while nobody reads and the ring
// buffer is full: a reader that starts late should re-read MasterInfo.
func (l *Loader) Events(ctx context.Context) (<-chan Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errors.New("events: loader closed")
	}
	if l.events != nil {
		return nil, errors.New("events: already being read")
	}
	rd, err := ringbuf.NewReader(l.objs.VrrpEvents)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	l.events = rd
	ch := make(chan Event, 64)
	stop := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			rd.Close()
		case <-stop:
		}
	}()
	go func() {
		defer close(ch)
		defer close(stop)
		defer func() {
			l.mu.Lock()
			if l.events == rd {
				l.events = nil
			}
			l.mu.Unlock()
			rd.Close()
		}()
		var rec ringbuf.Record
		for {
			if err := rd.ReadInto(&rec); err != nil {
				if !errors.Is(err, os.ErrClosed) {
					l.log.Warn("vrrp events reader stopped", "error", err.Error())
				}
				return
			}
			ev, ok := decodeEvent(rec.RawSample)
			if !ok {
				continue
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}
