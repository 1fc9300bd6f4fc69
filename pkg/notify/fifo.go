package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/lbdproject/lbd/pkg/script"
)

// FIFOOptions configures a notify FIFO (notify_fifo or vrrp_notify_fifo).
type FIFOOptions struct {
	// Path of the FIFO.
	Path string
	// Owner of the FIFO when lbd creates it ("notify_fifo FIFO user
	// group"); nil leaves it to lbd.
	Owner *script.User
	// Script is notify_fifo_script / vrrp_notify_fifo_script: started
	// before the FIFO is opened, with the FIFO's path appended, and
	// terminated (process group) at Close. Requires Runner.
	Script *script.Command
	Runner *script.Runner
	// Kind names the FIFO in logs ("notify_fifo", "vrrp_notify_fifo").
	Kind    string
	Logger  *slog.Logger
	Metrics *Metrics
}

// FIFO writes events to a named pipe in keepalived's line format
// (Event.FIFOLine). It is keepalived's lib/notify.c fifo_open and
// vrrp_notify.c notify_fifo:
//
//   - the FIFO is created with mode 0644 if missing (and then chowned to
//     Owner), and removed at Close only if lbd created it; an existing
//     path that is not a FIFO is an error;
//   - the script, if any, starts before the FIFO is opened, with the
//     FIFO's path as its last argument;
//   - the FIFO is opened read-write and non-blocking, so opening never
//     waits for a reader and a write never blocks: with no reader, lines
//     accumulate in the pipe (64 KiB on Linux) for the next one to read,
//     and once it is full further lines are dropped and counted. A line is
//     shorter than PIPE_BUF, so a reader never sees half a line.
type FIFO struct {
	opts    FIFOOptions
	log     *slog.Logger
	created bool

	mu sync.Mutex
	fd int // -1 after Close

	cancel     context.CancelFunc
	scriptDone chan struct{}
}

// OpenFIFO creates (if needed) and opens the FIFO, after starting its
// script.
func OpenFIFO(opts FIFOOptions) (*FIFO, error) {
	if opts.Kind == "" {
		opts.Kind = "notify_fifo"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Path == "" {
		return nil, fmt.Errorf("%s: no path", opts.Kind)
	}
	if opts.Script != nil && opts.Runner == nil {
		return nil, fmt.Errorf("%s %s: script without a runner", opts.Kind, opts.Path)
	}
	f := &FIFO{opts: opts, log: opts.Logger.With("fifo", opts.Path, "kind", opts.Kind), fd: -1}
	err := unix.Mkfifo(opts.Path, 0o644)
	switch {
	case err == nil:
		f.created = true
		// mkfifo applies the umask; keepalived's mode is 0644.
		if err := unix.Chmod(opts.Path, 0o644); err != nil {
			f.log.Warn("set notify fifo mode", "err", err)
		}
		if o := opts.Owner; o != nil && (o.UID != uint32(os.Geteuid()) || o.GID != uint32(os.Getegid())) {
			if err := unix.Chown(opts.Path, int(o.UID), int(o.GID)); err != nil {
				f.log.Warn("set notify fifo owner", "owner", o.String(), "err", err)
			}
		}
	case errors.Is(err, unix.EEXIST):
		var st unix.Stat_t
		if err := unix.Lstat(opts.Path, &st); err != nil {
			return nil, fmt.Errorf("%s %s: %w", opts.Kind, opts.Path, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFIFO {
			return nil, fmt.Errorf("%s %s: exists and is not a FIFO", opts.Kind, opts.Path)
		}
	default:
		return nil, fmt.Errorf("%s: create %s: %w", opts.Kind, opts.Path, err)
	}
	if opts.Script != nil {
		ctx, cancel := context.WithCancel(context.Background())
		f.cancel = cancel
		f.scriptDone = make(chan struct{})
		opts.Runner.Go(ctx, script.Job{
			Name:    opts.Kind + "_script",
			Command: *opts.Script,
			Args:    []string{opts.Path},
		}, func(res script.Result) {
			defer close(f.scriptDone)
			if ctx.Err() == nil {
				f.log.Warn("notify fifo script exited", "result", res.Outcome.String(), "detail", res.String(),
					"stderr", string(res.Stderr))
			}
		})
	}
	fd, err := unix.Open(opts.Path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		f.stopScript()
		if f.created {
			os.Remove(opts.Path)
		}
		return nil, fmt.Errorf("%s: open %s: %w", opts.Kind, opts.Path, err)
	}
	f.fd = fd
	return f, nil
}

// Path returns the FIFO's path.
func (f *FIFO) Path() string { return f.opts.Path }

// Write writes ev's line. It never blocks; a line that does not fit is
// dropped, logged at debug level and counted.
func (f *FIFO) Write(ev Event) {
	f.WriteLine(ev.FIFOLine())
}

// WriteLine writes one preformatted line (ending in a newline).
func (f *FIFO) WriteLine(line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd < 0 {
		f.opts.Metrics.fifoLine("dropped")
		return
	}
	for {
		_, err := unix.Write(f.fd, []byte(line))
		switch {
		case err == nil:
			f.opts.Metrics.fifoLine("written")
			return
		case errors.Is(err, unix.EINTR):
			continue
		default:
			f.log.Debug("notify fifo line dropped", "line", line, "err", err)
			f.opts.Metrics.fifoLine("dropped")
			return
		}
	}
}

// Close closes the FIFO, removes it if lbd created it (first, so that a
// reader that reopens in a loop cannot reopen it, as keepalived), and
// terminates its script's process group.
func (f *FIFO) Close() error {
	f.mu.Lock()
	var err error
	if f.fd >= 0 {
		if f.created {
			if rerr := os.Remove(f.opts.Path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				err = rerr
			}
		}
		if cerr := unix.Close(f.fd); err == nil && cerr != nil {
			err = cerr
		}
		f.fd = -1
	}
	f.mu.Unlock()
	f.stopScript()
	if err != nil {
		return fmt.Errorf("%s %s: close: %w", f.opts.Kind, f.opts.Path, err)
	}
	return nil
}

func (f *FIFO) stopScript() {
	if f.cancel != nil {
		f.cancel()
		<-f.scriptDone
	}
}
