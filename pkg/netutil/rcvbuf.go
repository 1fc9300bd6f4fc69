package netutil

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// SetRecvBuffer sets the socket's receive buffer to n bytes with
// SO_RCVBUF, as keepalived does for its VRRP sockets (vrrp.c
// open_vrrp_read_socket): the kernel caps n at net.core.rmem_max and
// doubles it for its bookkeeping (socket(7)). RecvBuffer reads back what
// the kernel set.
func (c *VRRPConn) SetRecvBuffer(n int) error {
	if n <= 0 {
		return fmt.Errorf("vrrp socket on ifindex %d: receive buffer %d: want a positive size", c.ifindex, n)
	}
	var serr error
	if err := c.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, n)
	}); err != nil {
		return fmt.Errorf("vrrp socket on ifindex %d: receive buffer: %w", c.ifindex, err)
	}
	if serr != nil {
		return fmt.Errorf("vrrp socket on ifindex %d: set SO_RCVBUF %d: %w", c.ifindex, n, serr)
	}
	return nil
}

// RecvBuffer returns the socket's SO_RCVBUF as the kernel reports it
// (twice what was set, capped).
func (c *VRRPConn) RecvBuffer() (int, error) {
	var v int
	var serr error
	if err := c.rc.Control(func(fd uintptr) {
		v, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	}); err != nil {
		return 0, fmt.Errorf("vrrp socket on ifindex %d: receive buffer: %w", c.ifindex, err)
	}
	if serr != nil {
		return 0, fmt.Errorf("vrrp socket on ifindex %d: get SO_RCVBUF: %w", c.ifindex, serr)
	}
	return v, nil
}
