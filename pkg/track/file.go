package track

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ParseFileValue reads a track_file's number as keepalived does
// (track_file.c process_track_file: strtol(buf, NULL, 0) on at most the
// first 127 bytes): leading blanks, an optional sign, then hexadecimal
// after 0x, octal after a leading 0, decimal otherwise, up to the first
// character that is not a digit. No digits at all read as 0. A number
// outside [-2^31, 2^31] is invalid (ok false): keepalived logs "Invalid
// number" and keeps the previous value.
func ParseFileValue(b []byte) (v int64, ok bool) {
	if len(b) > 127 {
		b = b[:127]
	}
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] >= '\t' && b[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	base := uint64(10)
	switch {
	case i+1 < len(b) && b[i] == '0' && (b[i+1] == 'x' || b[i+1] == 'X') && i+2 < len(b) && digitVal(b[i+2]) < 16:
		base, i = 16, i+2
	case i < len(b) && b[i] == '0':
		base = 8
	}
	var n uint64
	for ; i < len(b); i++ {
		d := uint64(digitVal(b[i]))
		if d >= base {
			break
		}
		n = n*base + d
		if n > math.MaxInt32+1 {
			return 0, false
		}
	}
	v = int64(n)
	if neg {
		v = -v
	}
	return v, true
}

func digitVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'z':
		return c - 'a' + 10
	case c >= 'A' && c <= 'Z':
		return c - 'A' + 10
	}
	return 255
}

// readFileValue reads path's number; a file that cannot be read counts as
// 0, as in keepalived.
func readFileValue(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, true
	}
	defer f.Close()
	buf := make([]byte, 127)
	n, _ := io.ReadFull(f, buf)
	if n == 0 {
		return 0, true
	}
	return ParseFileValue(buf[:n])
}

// InitFile is keepalived's init_file (track_file.c track_file_end_handler):
// write value followed by a newline to path when the file does not exist,
// or also when it does if overwrite is set, except on a reload, which
// never overwrites. An existing path that is not a regular file is an
// error.
func InitFile(path string, value int, overwrite, reload bool) error {
	st, err := os.Lstat(path)
	switch {
	case err == nil && !overwrite:
		return nil
	case err == nil && !st.Mode().IsRegular():
		return fmt.Errorf("init track file %s: not a regular file", path)
	case err == nil && reload:
		return nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("init track file %s: %w", path, err)
	}
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("init track file %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	_, err = f.WriteString(strconv.Itoa(value) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("init track file %s: %w", path, err)
	}
	return nil
}

// FileSpec is one track_file.
type FileSpec struct {
	Name string // the track_file's name
	Path string // its file
}

// FileOptions configures a FileTracker.
type FileOptions struct {
	Files []FileSpec
	// OnUpdate is called, from the tracker's goroutine, when a file's
	// number changes.
	OnUpdate func(Update)
	Logger   *slog.Logger
	Metrics  *Metrics
}

// FileTracker watches track_files with inotify, as keepalived
// (track_file.c): each file's directory is watched for a file closed after
// writing, moved in (read the number), deleted or moved away (the number
// becomes 0). Writing a file in place or renaming a new one over it both
// work; so does creating the file after lbd started.
type FileTracker struct {
	log  *slog.Logger
	opts FileOptions
	fd   *os.File

	mu     sync.Mutex
	files  []*trackedFile
	byWD   map[int32][]*trackedFile
	byName map[string]*trackedFile
	done   chan struct{}
}

type trackedFile struct {
	spec  FileSpec
	path  string // absolute, directory symlinks resolved
	dir   string
	base  string
	value int64
}

// NewFileTracker resolves each file (keepalived: the real path of the
// file, or of its directory if the file does not exist yet; a missing
// directory is an error), watches the directories and reads the current
// numbers. Start delivers changes.
func NewFileTracker(opts FileOptions) (*FileTracker, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ifd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("track files: inotify: %w", err)
	}
	t := &FileTracker{
		log:    opts.Logger,
		opts:   opts,
		fd:     os.NewFile(uintptr(ifd), "inotify"),
		byWD:   map[int32][]*trackedFile{},
		byName: map[string]*trackedFile{},
		done:   make(chan struct{}),
	}
	for _, s := range opts.Files {
		if err := t.add(ifd, s); err != nil {
			t.fd.Close()
			return nil, err
		}
	}
	return t, nil
}

func (t *FileTracker) add(ifd int, s FileSpec) error {
	if _, dup := t.byName[s.Name]; dup {
		return fmt.Errorf("track_file %s: defined twice", s.Name)
	}
	path, err := resolveTrackPath(s.Path)
	if err != nil {
		return fmt.Errorf("track_file %s: %w", s.Name, err)
	}
	f := &trackedFile{spec: s, path: path, dir: filepath.Dir(path), base: filepath.Base(path)}
	wd, err := unix.InotifyAddWatch(ifd, f.dir, unix.IN_CLOSE_WRITE|unix.IN_DELETE|unix.IN_MOVE)
	if err != nil {
		return fmt.Errorf("track_file %s: watch %s: %w", s.Name, f.dir, err)
	}
	if v, ok := readFileValue(path); ok {
		f.value = v
	} else {
		t.log.Warn("track_file holds an invalid number, using 0", "file", s.Name, "path", path)
	}
	t.files = append(t.files, f)
	t.byWD[int32(wd)] = append(t.byWD[int32(wd)], f)
	t.byName[s.Name] = f
	t.opts.Metrics.file(s.Name, f.value)
	return nil
}

// resolveTrackPath returns p with symbolic links resolved; when p does not
// exist, its directory must.
func resolveTrackPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s is not accessible: %w", p, err)
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", fmt.Errorf("directory of %s does not exist: %w", p, err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("directory of %s is not a directory", p)
	}
	return filepath.Join(dir, filepath.Base(abs)), nil
}

// Value returns the number last read from the named track_file.
func (t *FileTracker) Value(name string) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.byName[name]
	if !ok {
		return 0, false
	}
	return f.value, true
}

// Start delivers changes until ctx is done. Call it once.
func (t *FileTracker) Start(ctx context.Context) {
	go func() {
		<-ctx.Done()
		t.fd.Close() // ends the pending Read
	}()
	go t.loop()
}

// Wait returns after the tracker stopped.
func (t *FileTracker) Wait() { <-t.done }

func (t *FileTracker) loop() {
	defer close(t.done)
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := t.fd.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				t.log.Warn("track files: inotify read", "err", err)
			}
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameBytes := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			t.event(ev.Wd, ev.Mask, cString(nameBytes))
		}
	}
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func (t *FileTracker) event(wd int32, mask uint32, name string) {
	if mask&unix.IN_Q_OVERFLOW != 0 {
		t.log.Warn("track files: inotify queue overflowed, rereading every file")
		for _, f := range t.files {
			t.reread(f)
		}
		return
	}
	if mask&unix.IN_IGNORED != 0 {
		t.log.Warn("track files: a watched directory went away; its files read as 0 from now on", "wd", wd)
		for _, f := range t.byWD[wd] {
			t.set(f, 0)
		}
		return
	}
	if mask&unix.IN_ISDIR != 0 {
		return
	}
	for _, f := range t.byWD[wd] {
		if f.base != name {
			continue
		}
		if mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0 {
			t.set(f, 0) // keepalived: gone means 0
		} else {
			t.reread(f)
		}
	}
}

func (t *FileTracker) reread(f *trackedFile) {
	v, ok := readFileValue(f.path)
	if !ok {
		t.log.Warn("track_file holds an invalid number, ignoring it", "file", f.spec.Name, "path", f.path)
		return
	}
	t.set(f, v)
}

func (t *FileTracker) set(f *trackedFile, v int64) {
	t.mu.Lock()
	old := f.value
	f.value = v
	t.mu.Unlock()
	if old == v {
		return
	}
	t.log.Info("track_file changed", "file", f.spec.Name, "value", v, "previous", old)
	t.opts.Metrics.file(f.spec.Name, v)
	if t.opts.OnUpdate != nil {
		t.opts.OnUpdate(Update{Kind: KindFile, Name: f.spec.Name, Value: v})
	}
}
