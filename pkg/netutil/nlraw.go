package netutil

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// The netlink library lbd uses (vishvananda/netlink v1.3.1) cannot express
// several route and rule attributes keepalived supports (an IPv6 route's
// source prefix, RTA_PREF, RTA_EXPIRES, locks on most route metrics,
// realms per nexthop, FRA_L3MDEV), so routes and rules are encoded here
// and sent on a NETLINK_ROUTE socket of this package's own.

// nlConn is a NETLINK_ROUTE socket for requests that want an
// acknowledgement and nothing else. Safe for concurrent use.
type nlConn struct {
	mu  sync.Mutex
	fd  int
	seq uint32
	buf []byte
}

// openNLConn opens the socket in the calling thread's network namespace,
// with extended acknowledgements (the kernel's reason for a refusal) and
// capped acknowledgements (the request is not echoed back).
func openNLConn() (*nlConn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	// Both are best effort: a kernel without them still acknowledges.
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	tv := unix.NsecToTimeval(netlinkTimeout.Nanoseconds())
	for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, &tv); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("netlink socket timeout: %w", err)
		}
	}
	return &nlConn{fd: fd, buf: make([]byte, 1<<16)}, nil
}

func (c *nlConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
}

// KernelError is a netlink request the kernel refused: the errno, and
// the kernel's own explanation when it gave one (extended ack). It
// matches its errno with errors.Is.
type KernelError struct {
	Errno unix.Errno
	Msg   string
}

func (e *KernelError) Error() string {
	if e.Msg != "" {
		return fmt.Sprintf("%v (kernel: %s)", e.Errno, e.Msg)
	}
	return e.Errno.Error()
}

func (e *KernelError) Unwrap() error { return e.Errno }

// request sends one message of type typ with body (the family header and
// attributes) and waits for the kernel's acknowledgement.
func (c *nlConn) request(typ, flags uint16, body []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return errors.New("netlink socket closed")
	}
	c.seq++
	msg := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(unix.NLMSG_HDRLEN+len(body)))
	ne.PutUint16(msg[4:], typ)
	ne.PutUint16(msg[6:], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	ne.PutUint32(msg[8:], c.seq)
	msg = append(msg, body...)
	for {
		err := unix.Sendto(c.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("netlink send: %w", err)
		}
		break
	}
	for {
		n, _, err := unix.Recvfrom(c.fd, c.buf, 0)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN || err == unix.EWOULDBLOCK:
			return fmt.Errorf("netlink: no answer in %v", netlinkTimeout)
		case err != nil:
			return fmt.Errorf("netlink receive: %w", err)
		}
		done, err := parseAck(c.buf[:n], c.seq)
		if done {
			return err
		}
	}
}

// parseAck looks for the acknowledgement of request seq in a datagram:
// done reports that it was found, err is the kernel's refusal if any.
// Messages of other sequence numbers (answers to a request that timed
// out) are skipped.
func parseAck(b []byte, seq uint32) (done bool, err error) {
	ne := binary.NativeEndian
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(ne.Uint32(b[0:]))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return true, errors.New("netlink: malformed answer")
		}
		typ, flags, mseq := ne.Uint16(b[4:]), ne.Uint16(b[6:]), ne.Uint32(b[8:])
		m := b[unix.NLMSG_HDRLEN:l]
		b = b[min(nlAlign(l), len(b)):]
		if mseq != seq || typ != unix.NLMSG_ERROR {
			continue
		}
		if len(m) < 4 {
			return true, errors.New("netlink: short acknowledgement")
		}
		errno := -int32(ne.Uint32(m))
		if errno == 0 {
			return true, nil
		}
		ke := &KernelError{Errno: unix.Errno(errno)}
		if flags&unix.NLM_F_ACK_TLVS != 0 {
			// struct nlmsgerr: the error, then the request's header, then
			// its payload unless capped; attributes follow.
			off := 4 + unix.NLMSG_HDRLEN
			if flags&unix.NLM_F_CAPPED == 0 && len(m) >= off {
				off = 4 + nlAlign(int(ne.Uint32(m[4:])))
			}
			if off <= len(m) {
				walkAttrs(m[off:], func(typ uint16, v []byte) {
					if typ == unix.NLMSGERR_ATTR_MSG {
						ke.Msg = cString(v)
					}
				})
			}
		}
		return true, ke
	}
	return false, nil
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func nlAlign(n int) int { return (n + unix.NLA_ALIGNTO - 1) &^ (unix.NLA_ALIGNTO - 1) }

// walkAttrs calls f for each netlink attribute in b (type without the
// nested and byte-order flags).
func walkAttrs(b []byte, f func(typ uint16, v []byte)) {
	ne := binary.NativeEndian
	for len(b) >= unix.SizeofRtAttr {
		l := int(ne.Uint16(b[0:]))
		if l < unix.SizeofRtAttr || l > len(b) {
			return
		}
		f(ne.Uint16(b[2:])&^(unix.NLA_F_NESTED|unix.NLA_F_NET_BYTEORDER), b[unix.SizeofRtAttr:l])
		b = b[min(nlAlign(l), len(b)):]
	}
}

// nlBuilder appends netlink attributes in the kernel's layout: a 4-byte
// header (length, type) and the value padded to 4 bytes.
type nlBuilder struct {
	b []byte
}

func (w *nlBuilder) raw(p ...byte) { w.b = append(w.b, p...) }

func (w *nlBuilder) attr(typ uint16, v []byte) {
	l := unix.SizeofRtAttr + len(v)
	w.b = binary.NativeEndian.AppendUint16(w.b, uint16(l))
	w.b = binary.NativeEndian.AppendUint16(w.b, typ)
	w.b = append(w.b, v...)
	w.pad()
}

func (w *nlBuilder) pad() {
	for len(w.b)%unix.NLA_ALIGNTO != 0 {
		w.b = append(w.b, 0)
	}
}

func (w *nlBuilder) u8(typ uint16, v uint8) { w.attr(typ, []byte{v}) }

func (w *nlBuilder) u32(typ uint16, v uint32) {
	w.attr(typ, binary.NativeEndian.AppendUint32(nil, v))
}

func (w *nlBuilder) str(typ uint16, s string) { w.attr(typ, append([]byte(s), 0)) }

// nest starts an attribute whose value is built by the following calls;
// end sets its length. No NLA_F_NESTED flag, as iproute2 sends
// RTA_METRICS and RTA_MULTIPATH (the latter holds rtnexthop structures,
// not attributes).
func (w *nlBuilder) nest(typ uint16) int {
	start := len(w.b)
	w.b = append(w.b, 0, 0, 0, 0)
	binary.NativeEndian.PutUint16(w.b[start+2:], typ)
	return start
}

func (w *nlBuilder) end(start int) {
	binary.NativeEndian.PutUint16(w.b[start:], uint16(len(w.b)-start))
}
