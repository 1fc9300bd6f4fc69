package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// controlTimeout bounds one control connection, both ends.
const controlTimeout = 5 * time.Second

// controlServer answers requests on RUN_DIR/lbd.sock.
type controlServer struct {
	ln     net.Listener
	path   string
	log    *slog.Logger
	handle func(Request) Response
	wg     sync.WaitGroup
}

// listenControl creates the socket (mode 0600: status shows addresses and
// the reload to come changes the system). A socket file already there is
// stale: the caller holds the run directory's pid lock.
func listenControl(dir string, log *slog.Logger, handle func(Request) Response) (*controlServer, error) {
	path := filepath.Join(dir, SocketName)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control socket: remove stale %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	s := &controlServer{ln: ln, path: path, log: log, handle: handle}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *controlServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Error("control socket accept", "error", err)
			}
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
		}()
	}
}

func (s *controlServer) serveConn(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(controlTimeout))
	var req Request
	var resp Response
	if err := json.NewDecoder(c).Decode(&req); err != nil {
		resp = Response{Error: fmt.Sprintf("bad request: %v", err)}
	} else {
		resp = s.handle(req)
		// A reload may take longer than the request's deadline left.
		c.SetDeadline(time.Now().Add(controlTimeout))
	}
	if err := json.NewEncoder(c).Encode(resp); err != nil {
		s.log.Debug("control socket reply", "error", err)
	}
}

// close stops accepting, waits for the connections being answered and
// removes the socket file.
func (s *controlServer) close() {
	s.ln.Close()
	s.wg.Wait()
	os.Remove(s.path)
}

// Query sends one request to the lbd whose run directory is dir.
func Query(ctx context.Context, dir string, req Request) (*Response, error) {
	path := filepath.Join(dir, SocketName)
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("connect to lbd at %s (is lbd running with --run-dir %s?): %w", path, dir, err)
	}
	defer c.Close()
	// The caller's deadline if it has one (a reload may take a while),
	// else controlTimeout.
	deadline := time.Now().Add(controlTimeout)
	if d, ok := ctx.Deadline(); ok {
		deadline = d
	}
	c.SetDeadline(deadline)
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return nil, fmt.Errorf("send %s request to %s: %w", req.Command, path, err)
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return nil, fmt.Errorf("read %s reply from %s: %w", req.Command, path, err)
	}
	return &resp, nil
}

// FetchStatus asks the lbd whose run directory is dir for its status.
func FetchStatus(ctx context.Context, dir string) (*Status, error) {
	resp, err := Query(ctx, dir, Request{Command: CommandStatus})
	if err != nil {
		return nil, err
	}
	if !resp.OK || resp.Status == nil {
		return nil, fmt.Errorf("status: %s", resp.Error)
	}
	return resp.Status, nil
}
