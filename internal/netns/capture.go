package netns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// packetSocket is an AF_PACKET socket bound to one interface of a host,
// read through the Go poller so that Close unblocks a pending read.
type packetSocket struct {
	f       *os.File
	ifindex int
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openPacket opens a raw packet socket for every protocol on ifname,
// inside the host.
func (h *Host) openPacket(ifname string) (*packetSocket, error) {
	l, err := h.link(ifname)
	if err != nil {
		return nil, err
	}
	idx := l.Attrs().Index
	var fd int
	err = h.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: idx}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind packet socket to %s: %w", ifname, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &packetSocket{f: os.NewFile(uintptr(fd), "packet:"+ifname), ifindex: idx}, nil
}

// recv reads one frame; outgoing reports frames the host sent.
func (s *packetSocket) recv(buf []byte) (n int, outgoing bool, err error) {
	rc, err := s.f.SyscallConn()
	if err != nil {
		return 0, false, err
	}
	var from unix.Sockaddr
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		n, from, rerr = unix.Recvfrom(int(fd), buf, 0)
		return rerr != unix.EAGAIN
	})
	if err != nil {
		return 0, false, err
	}
	if rerr != nil {
		return 0, false, rerr
	}
	if ll, ok := from.(*unix.SockaddrLinklayer); ok {
		if ll.Ifindex != s.ifindex {
			return 0, false, nil // queued before bind
		}
		outgoing = ll.Pkttype == unix.PACKET_OUTGOING
	}
	return n, outgoing, nil
}

func (s *packetSocket) send(frame []byte) error {
	rc, err := s.f.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		werr = unix.Sendto(int(fd), frame, 0, &unix.SockaddrLinklayer{Ifindex: s.ifindex, Halen: 6, Addr: [8]byte(append(append([]byte{}, frame[0:6]...), 0, 0))})
		return werr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return werr
}

func (s *packetSocket) Close() error { return s.f.Close() }

// Capture records the frames seen on one interface of a host, both
// directions, from an AF_PACKET socket, decoded (Frame) and also written
// to a pcap file for Wireshark/tcpdump -r.
type Capture struct {
	name   string
	filter Filter
	sock   *packetSocket
	pcap   *os.File
	path   string
	done   chan struct{}

	mu     sync.Mutex
	frames []*Frame
	notify chan struct{} // closed and replaced on every new frame
	err    error
}

// Capture starts capturing on ifname; frames for which filter returns false
// are dropped (nil keeps all). The capture stops at cleanup, or with Stop;
// its pcap file stays in t.TempDir() and is named in the log when the test
// fails.
func (h *Host) Capture(ifname string, filter Filter) *Capture {
	t := h.lab.t
	t.Helper()
	s, err := h.openPacket(ifname)
	if err != nil {
		t.Fatalf("netns: capture on %s:%s: %v", h.name, ifname, err)
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("%s-%s-%d.pcap", h.name, ifname, time.Now().UnixNano()))
	pf, err := os.Create(path)
	if err == nil {
		err = writePcapHeader(pf)
	}
	if err != nil {
		s.Close()
		t.Fatalf("netns: capture file: %v", err)
	}
	c := &Capture{
		name:   h.name + ":" + ifname,
		filter: filter,
		sock:   s,
		pcap:   pf,
		path:   path,
		done:   make(chan struct{}),
		notify: make(chan struct{}),
	}
	go c.loop()
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			t.Logf("netns: capture %s: %d frames in %s", c.name, len(c.Frames()), c.path)
		}
	})
	return c
}

func (c *Capture) loop() {
	defer close(c.done)
	buf := make([]byte, 65536)
	for {
		n, out, err := c.sock.recv(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				c.mu.Lock()
				c.err = err
				c.mu.Unlock()
			}
			return
		}
		if n == 0 {
			continue
		}
		f := DecodeFrame(append([]byte(nil), buf[:n]...))
		f.Time = time.Now()
		f.Outgoing = out
		if c.filter != nil && !c.filter(f) {
			continue
		}
		writePcapRecord(c.pcap, f.Time, f.Data)
		c.mu.Lock()
		c.frames = append(c.frames, f)
		close(c.notify)
		c.notify = make(chan struct{})
		c.mu.Unlock()
	}
}

// Stop ends the capture; frames stay readable.
func (c *Capture) Stop() {
	c.sock.Close()
	<-c.done
	c.pcap.Close()
}

// Path is the pcap file.
func (c *Capture) Path() string { return c.path }

// Frames returns the frames captured so far.
func (c *Capture) Frames() []*Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Frame(nil), c.frames...)
}

// Matching returns the captured frames that match.
func (c *Capture) Matching(match Filter) []*Frame {
	var out []*Frame
	for _, f := range c.Frames() {
		if match == nil || match(f) {
			out = append(out, f)
		}
	}
	return out
}

// Reset forgets the frames captured so far.
func (c *Capture) Reset() {
	c.mu.Lock()
	c.frames = nil
	c.mu.Unlock()
}

// WaitFor returns the first captured frame (since the start or the last
// Reset) that matches, waiting up to timeout for one to arrive.
func (c *Capture) WaitFor(timeout time.Duration, match Filter) (*Frame, error) {
	fs, err := c.WaitN(timeout, 1, match)
	if err != nil {
		return nil, err
	}
	return fs[0], nil
}

// WaitN waits up to timeout until n captured frames match, and returns
// them.
func (c *Capture) WaitN(timeout time.Duration, n int, match Filter) ([]*Frame, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	var got []*Frame
	for {
		c.mu.Lock()
		fresh := c.frames[min(seen, len(c.frames)):]
		seen = len(c.frames)
		notify, cerr := c.notify, c.err
		c.mu.Unlock()
		for _, f := range fresh {
			if match == nil || match(f) {
				got = append(got, f)
				if len(got) == n {
					return got, nil
				}
			}
		}
		if cerr != nil {
			return got, fmt.Errorf("capture %s: %w", c.name, cerr)
		}
		select {
		case <-notify:
		case <-c.done:
			c.mu.Lock()
			more := len(c.frames) > seen
			c.mu.Unlock()
			if !more {
				return got, fmt.Errorf("capture %s stopped with %d of %d matching frames", c.name, len(got), n)
			}
		case <-deadline.C:
			return got, fmt.Errorf("capture %s: %d of %d matching frames after %v (%d frames captured)", c.name, len(got), n, timeout, seen)
		}
	}
}

// pcap (libpcap's classic format, microsecond timestamps, Ethernet).
func writePcapHeader(f *os.File) error {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 65535)
	binary.LittleEndian.PutUint32(h[20:], 1) // LINKTYPE_ETHERNET
	_, err := f.Write(h[:])
	return err
}

func writePcapRecord(f *os.File, ts time.Time, data []byte) {
	var h [16]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(ts.Unix()))
	binary.LittleEndian.PutUint32(h[4:], uint32(ts.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(h[8:], uint32(len(data)))
	binary.LittleEndian.PutUint32(h[12:], uint32(len(data)))
	f.Write(h[:])
	f.Write(data)
}
