package netns

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lbdproject/lbd/internal/testutil"
)

// Exim is Debian's exim running in a lab host as a real SMTP server for
// smtp_alert: it accepts any mail on ip:port and keeps it in its spool
// (queue_only, no delivery), where the test reads it.
type Exim struct {
	Proc *Proc
	// Dir holds the configuration, spool and log.
	Dir string
	// Addr is where it listens, "IP:PORT".
	Addr string
}

// StartExim runs exim in h on ip:port. It needs the exim4 binary and the
// Debian-exim user (exim4-daemon-light): without them the test is
// skipped (a failure under LBD_TEST_STRICT). Wait for it to listen with
// a connection attempt.
func StartExim(t testing.TB, h *Host, ip string, port int) *Exim {
	t.Helper()
	bins := testutil.RequireCommand(t, "exim4")
	eu, err := user.Lookup("Debian-exim")
	if err != nil {
		testutil.Skip(t, "needs the Debian-exim user (exim4-daemon-light): "+err.Error())
	}
	uid, _ := strconv.Atoi(eu.Uid)
	gid, _ := strconv.Atoi(eu.Gid)
	// Not under t.TempDir: exim's processes run as Debian-exim and must
	// reach the spool.
	dir, err := os.MkdirTemp("", "lbd-exim-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	for _, d := range []string{"spool", "log"} {
		p := filepath.Join(dir, d)
		if err := os.Mkdir(p, 0o750); err != nil {
			t.Fatal(err)
		}
		os.Chown(p, uid, gid)
	}
	cfg := filepath.Join(dir, "exim.conf")
	conf := fmt.Sprintf(`primary_hostname = mx.lbd.test
spool_directory = %[1]s/spool
log_file_path = %[1]s/log/%%slog
pid_file_path = %[1]s/exim.pid
daemon_smtp_ports = %[2]d
local_interfaces = <; %[3]s
keep_environment =
queue_only = true
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
acl_smtp_rcpt = acl_rcpt
begin acl
acl_rcpt:
  accept
begin routers
begin transports
`, dir, port, ip)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := h.Start(bins[0], "-bdf", "-C", cfg)
	return &Exim{Proc: p, Dir: dir, Addr: net.JoinHostPort(ip, strconv.Itoa(port))}
}

// Messages returns the envelope-and-headers (-H) and body (-D) files of
// every message in the spool, by message id (ids sort in arrival order).
func (e *Exim) Messages() map[string][2]string {
	out := map[string][2]string{}
	in := filepath.Join(e.Dir, "spool", "input")
	ents, _ := os.ReadDir(in)
	for _, ent := range ents {
		id, ok := strings.CutSuffix(ent.Name(), "-H")
		if !ok {
			continue
		}
		h, err1 := os.ReadFile(filepath.Join(in, id+"-H"))
		d, err2 := os.ReadFile(filepath.Join(in, id+"-D"))
		if err1 != nil || err2 != nil {
			continue
		}
		out[id] = [2]string{string(h), string(d)}
	}
	return out
}

// Log returns exim's main log.
func (e *Exim) Log() string {
	b, _ := os.ReadFile(filepath.Join(e.Dir, "log", "mainlog"))
	return string(b)
}
