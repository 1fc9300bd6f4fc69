package netns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// HTTPServer is a small HTTP server listening inside a host. Every
// response carries the host's name (body "NAME\n" and header X-Lab-Host),
// so a load-balancing test can tell which real server answered.
type HTTPServer struct {
	// Addr is the address it listens on ("192.0.2.10:80").
	Addr string
	srv  *http.Server
	done chan error
}

// HTTPServerHeader names the response header carrying the host's name.
const HTTPServerHeader = "X-Lab-Host"

// HTTPServer starts an HTTP server on addr ("192.0.2.10:8080", "[::]:80",
// ":0") inside the host, stopped at cleanup. The socket is opened in the
// namespace; the server's goroutines run anywhere, which is fine.
func (h *Host) HTTPServer(addr string) *HTTPServer {
	t := h.lab.t
	t.Helper()
	var ln net.Listener
	err := h.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("netns: http server in %s on %s: %v", h.name, addr, err)
	}
	name := h.name
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HTTPServerHeader, name)
		fmt.Fprintf(w, "%s\n", name)
	})
	s := &HTTPServer{
		Addr: ln.Addr().String(),
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	t.Cleanup(func() { s.Close() })
	return s
}

// Close stops the server and waits for it.
func (s *HTTPServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	s.done <- http.ErrServerClosed // let a second Close return at once
	return err
}

// HTTPGet fetches url from inside the host (the connection is opened in
// the namespace) and returns the body. Keep-alives are off, so every call
// is a new connection: what a load balancer schedules.
func (h *Host) HTTPGet(url string, timeout time.Duration) (string, error) {
	dialer := &net.Dialer{Timeout: timeout}
	tr := &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := h.Do(func() error {
				var err error
				c, err = dialer.DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
	}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: timeout}
	resp, err := cl.Get(url)
	if err != nil {
		return "", fmt.Errorf("%s: get %s: %w", h.name, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return string(b), fmt.Errorf("%s: get %s: read body: %w", h.name, url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("%s: get %s: %s", h.name, url, resp.Status)
	}
	return string(b), nil
}
