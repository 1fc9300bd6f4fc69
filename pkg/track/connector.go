package track

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// The process connector (include/uapi/linux/connector.h, cn_proc.h).
const (
	cnIdxProc         = 1
	cnValProc         = 1
	procCnMcastListen = 1

	procEventFork = 0x00000001
	procEventExec = 0x00000002
	procEventComm = 0x00000200
	procEventExit = 0x80000000

	nlmsgHdrLen = 16
	cnMsgHdrLen = 20 // struct cn_msg: cb_id(8) seq ack len flags
	// struct proc_event: what, cpu, timestamp_ns, then event_data.
	procEventDataOff = 16
)

type procEventKind uint8

const (
	evFork procEventKind = iota + 1
	evExec
	evComm
	evExit
	evLost // the socket overflowed: events were lost
)

type procEvent struct {
	kind procEventKind
	pid  int // the process (child for fork)
	ppid int // parent, for fork
	comm string
}

// procConnector is a NETLINK_CONNECTOR socket subscribed to process
// events.
type procConnector struct {
	f *os.File
}

// openProcConnector subscribes to process events. It fails without
// CAP_NET_ADMIN, outside the initial network namespace (the kernel only
// serves the connector there: the subscription is refused with
// ECONNREFUSED) or without CONFIG_PROC_EVENTS.
func openProcConnector() (*procConnector, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("open process connector: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind process connector: %w", err)
	}
	// Ask for a large buffer: a fork storm must not overflow it often (an
	// overflow costs a rescan). Needs CAP_NET_ADMIN for FORCE; fall back.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20); err != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	}
	msg := make([]byte, nlmsgHdrLen+cnMsgHdrLen+4)
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(len(msg)))   // nlmsg_len
	ne.PutUint16(msg[4:], unix.NLMSG_DONE)    // nlmsg_type
	ne.PutUint32(msg[16:], cnIdxProc)         // cn_msg.id.idx
	ne.PutUint32(msg[20:], cnValProc)         // cn_msg.id.val
	ne.PutUint16(msg[32:], 4)                 // cn_msg.len
	ne.PutUint32(msg[36:], procCnMcastListen) // op
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("subscribe to process events: %w", err)
	}
	return &procConnector{f: os.NewFile(uintptr(fd), "proc-connector")}, nil
}

// Close ends a pending read.
func (c *procConnector) Close() error { return c.f.Close() }

// read decodes events into out until the socket is closed (nil) or fails.
// A receive buffer overflow (ENOBUFS) is reported as evLost, not as an
// error.
func (c *procConnector) read(ctx context.Context, out chan<- procEvent) error {
	rc, err := c.f.SyscallConn()
	if err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for {
		var (
			n    int
			from unix.Sockaddr
			rerr error
		)
		err := rc.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, 0)
			return !errors.Is(rerr, unix.EAGAIN)
		})
		switch {
		case err != nil:
			if errors.Is(err, os.ErrClosed) || ctx.Err() != nil {
				return nil
			}
			return err
		case errors.Is(rerr, unix.ENOBUFS):
			out <- procEvent{kind: evLost}
			continue
		case errors.Is(rerr, unix.EINTR):
			continue
		case rerr != nil:
			return fmt.Errorf("receive process events: %w", rerr)
		}
		// Only the kernel (port 0) may speak here.
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
			continue
		}
		decodeProcEvents(buf[:n], out)
	}
}

// decodeProcEvents parses the netlink messages in b. Thread events
// (pid != tgid) are skipped, as keepalived does: only processes count.
func decodeProcEvents(b []byte, out chan<- procEvent) {
	ne := binary.NativeEndian
	for len(b) >= nlmsgHdrLen {
		l := int(ne.Uint32(b[0:]))
		typ := ne.Uint16(b[4:])
		if l < nlmsgHdrLen || l > len(b) {
			return
		}
		msg := b[nlmsgHdrLen:l]
		if next := (l + 3) &^ 3; next < len(b) {
			b = b[next:]
		} else {
			b = nil
		}
		if typ == unix.NLMSG_ERROR || typ == unix.NLMSG_NOOP || len(msg) < cnMsgHdrLen+procEventDataOff {
			continue
		}
		if ne.Uint32(msg[0:]) != cnIdxProc || ne.Uint32(msg[4:]) != cnValProc || ne.Uint32(msg[12:]) != 0 {
			continue // another connector, or an ack
		}
		ev := msg[cnMsgHdrLen:]
		what := ne.Uint32(ev[0:])
		d := ev[procEventDataOff:]
		u32 := func(i int) int { return int(int32(ne.Uint32(d[4*i:]))) }
		switch what {
		case procEventFork:
			if len(d) >= 16 && u32(2) == u32(3) { // child_pid == child_tgid: a process
				out <- procEvent{kind: evFork, ppid: u32(1), pid: u32(3)}
			}
		case procEventExec:
			if len(d) >= 8 && u32(0) == u32(1) {
				out <- procEvent{kind: evExec, pid: u32(1)}
			}
		case procEventComm:
			if len(d) >= 24 && u32(0) == u32(1) {
				out <- procEvent{kind: evComm, pid: u32(1), comm: cString(d[8:24])}
			}
		case procEventExit:
			if len(d) >= 8 && u32(0) == u32(1) {
				out <- procEvent{kind: evExit, pid: u32(1)}
			}
		}
	}
}
