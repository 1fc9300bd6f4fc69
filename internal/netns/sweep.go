package netns

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Sweep removes everything of the lab with this prefix: it kills the
// processes living in the lab's namespaces, unmounts and removes the
// namespaces (their interfaces go with them), unmounts the lab's bpffs
// directories and removes the lab's marker. It is what a lab's cleanup
// runs, and is safe to call for a lab that is already gone.
func Sweep(prefix string) error {
	if prefix == "" || strings.ContainsAny(prefix, "/-") {
		return fmt.Errorf("sweep: bad prefix %q", prefix)
	}
	var errs []error
	ents, err := os.ReadDir(NetnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	var paths []string
	inodes := map[uint64]bool{}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), prefix+"-") {
			continue
		}
		p := filepath.Join(NetnsDir, e.Name())
		paths = append(paths, p)
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err == nil && st.Ino != 0 {
			inodes[st.Ino] = true
		}
	}
	if len(inodes) > 0 {
		if err := killInNamespaces(inodes, 5*time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range paths {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s: %w", p, err))
		}
	}
	if err := unmountBPFFS(prefix); err != nil {
		errs = append(errs, err)
	}
	os.Remove(filepath.Join(MarkerDir, prefix))
	return errors.Join(errs...)
}

// killInNamespaces SIGKILLs every process whose network namespace is one
// of inodes (on nsfs), and waits until none is left.
func killInNamespaces(inodes map[uint64]bool, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		pids := pidsInNamespaces(inodes)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes still in the lab's namespaces: %v", pids)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond) // no event to await for another process's exit
	}
}

func pidsInNamespaces(inodes map[uint64]bool) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		var st unix.Stat_t
		if unix.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st) != nil {
			continue // gone, or a zombie
		}
		if inodes[st.Ino] && !isZombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// unmountBPFFS unmounts the bpffs directories BPFFS made for this prefix.
func unmountBPFFS(prefix string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer f.Close()
	var errs []error
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPER
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := fields[4]
		if !strings.HasPrefix(filepath.Base(mp), prefix+"-bpffs-") {
			continue
		}
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", mp, err))
			continue
		}
		os.Remove(mp)
	}
	return errors.Join(errs...)
}

// SweepOrphans sweeps every lab whose creating process is gone: its marker
// names a pid that no longer runs, or that now runs another program.
// Namespaces without a marker are never touched (they may be someone
// else's). New calls it, so leftovers of killed runs disappear on the
// next test run.
func SweepOrphans() error {
	var errs []error
	ents, _ := os.ReadDir(MarkerDir)
	for _, e := range ents {
		prefix := e.Name()
		p := filepath.Join(MarkerDir, prefix)
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if len(b) == 0 {
			// Claimed but never filled in: only an orphan once it is old.
			if fi, err := os.Stat(p); err != nil || time.Since(fi.ModTime()) < time.Minute {
				continue
			}
		} else if markAlive(string(b)) {
			continue
		}
		if err := Sweep(prefix); err != nil {
			errs = append(errs, fmt.Errorf("sweep orphan %s: %w", prefix, err))
		}
	}
	return errors.Join(errs...)
}

// markAlive reports whether a marker's "PID STARTTIME" names a live process.
func markAlive(mark string) bool {
	var pid int
	var start uint64
	if _, err := fmt.Sscanf(mark, "%d %d", &pid, &start); err != nil {
		return false
	}
	st, err := procStartTime(pid)
	return err == nil && st == start
}
