package daemon_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lbdproject/lbd/internal/daemontest"
	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
	"github.com/lbdproject/lbd/pkg/netutil"
	"github.com/lbdproject/lbd/pkg/vrrp"
)

// fifoReader reads a notify FIFO's lines from the moment lbd created it
// until lbd closes it.
type fifoReader struct {
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

func readFIFO(t *testing.T, path string) *fifoReader {
	t.Helper()
	r := &fifoReader{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		var f *os.File
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			var st unix.Stat_t
			if unix.Stat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO {
				var err error
				if f, err = os.Open(path); err == nil {
					break
				}
			}
		}
		if f == nil {
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			r.mu.Lock()
			r.lines = append(r.lines, sc.Text())
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *fifoReader) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lines)
}

// recorded returns the lines of the notify log that contain name.
func recorded(t *testing.T, path, name string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if slices.Contains(strings.Fields(l), name) {
			out = append(out, l)
		}
	}
	return out
}

func waitLines(t *testing.T, what string, get func() []string, want []string) {
	t.Helper()
	var got []string
	err := netns.Poll(20*time.Second, func() error {
		got = get()
		if len(got) < len(want) {
			return fmt.Errorf("%d lines", len(got))
		}
		return nil
	})
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// sendAdvert sends one VRRPv3 advert from h's eth0 to the VRRP group, as
// a peer of the given priority would.
func sendAdvert(t *testing.T, h *netns.Host, vrid, prio uint8, interval time.Duration, vips ...string) {
	t.Helper()
	err := h.Do(func() error {
		host, err := netutil.OpenHost()
		if err != nil {
			return err
		}
		defer host.Close()
		link, err := host.LinkByName("eth0")
		if err != nil {
			return err
		}
		c, err := netutil.OpenVRRP(context.Background(), netutil.VRRPOptions{IfIndex: link.Index, Family: netutil.FamilyIPv4, Host: host})
		if err != nil {
			return err
		}
		defer c.Close()
		adv := vrrp.Advert{Version: 3, Type: vrrp.TypeAdvertisement, VRID: vrid, Priority: prio, Interval: interval}
		for _, v := range vips {
			adv.Addrs = append(adv.Addrs, netip.MustParseAddr(v))
		}
		msg, err := adv.Marshal(c.Source(), vrrp.MulticastGroupIPv4)
		if err != nil {
			return err
		}
		return c.WriteTo(msg, vrrp.MulticastGroupIPv4)
	})
	if err != nil {
		t.Fatalf("send advert from %s: %v", h.Name(), err)
	}
}

// TestDaemonNotify: notify scripts run with keepalived's arguments, in
// transition order, per instance and per sync group; the notify FIFO gets
// keepalived's lines; notify_master_rx_lower_pri on a lower-priority
// advert; notify_deleted when a reload removes an instance; notify_stop
// at shutdown.
func TestDaemonNotify(t *testing.T) {
	testutil.RequireRoot(t)
	lab := netns.New(t, netns.Options{})
	k1, client := lab.Host("k1"), lab.Host("client")
	br := lab.Bridge("lan")
	lab.Connect(k1, "eth0", br, "192.0.2.1/24")
	lab.Connect(k1, "eth1", br, "192.0.2.11/24")
	lab.Connect(client, "eth0", br, "192.0.2.3/24")

	dir := scriptDir(t)
	logf := filepath.Join(dir, "log")
	rec := filepath.Join(dir, "rec")
	writeScript(t, rec, `echo "$*" >> "$(dirname "$0")/log"`)
	fifo := filepath.Join(dir, "fifo")

	common := fmt.Sprintf(`global_defs {
  notify_fifo %[1]s
}
vrrp_sync_group G {
  group {
    VI_3
    VI_4
  }
  notify_master "%[2]s gmaster G"
  notify "%[2]s notify"
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 91
  priority 150
  version 3
  advert_int 0.3
  track_interface {
    eth1
  }
  notify_master "%[2]s master VI_1"
  notify_backup "%[2]s backup VI_1"
  notify_fault "%[2]s fault VI_1"
  notify_stop "%[2]s stop VI_1"
  notify_master_rx_lower_pri "%[2]s lowerpri VI_1"
  notify "%[2]s notify"
  virtual_ipaddress {
    192.0.2.100/24
  }
}
vrrp_instance VI_3 {
  interface eth0
  virtual_router_id 93
  version 3
  advert_int 0.3
  notify "%[2]s notify"
  virtual_ipaddress {
    192.0.2.103/24
  }
}
vrrp_instance VI_4 {
  interface eth0
  virtual_router_id 94
  version 3
  advert_int 0.3
  notify "%[2]s notify"
  virtual_ipaddress {
    192.0.2.104/24
  }
}
`, fifo, rec)
	vi2 := fmt.Sprintf(`vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 92
  version 3
  advert_int 0.3
  notify_deleted "%[1]s deleted VI_2"
  notify "%[1]s notify"
  virtual_ipaddress {
    192.0.2.102/24
  }
}
`, rec)
	fr := readFIFO(t, fifo)
	n := daemontest.Start(t, k1, common+vi2)
	for _, in := range []string{"VI_1", "VI_2", "VI_3", "VI_4"} {
		if err := n.WaitState(in, "MASTER", 20*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	// A peer of lower priority advertises: VI_1, MASTER, answers and
	// runs notify_master_rx_lower_pri.
	waitLines(t, "VI_1's scripts at start", func() []string { return recorded(t, logf, "VI_1") }, []string{
		"backup VI_1", "notify INSTANCE VI_1 BACKUP 150",
		"master VI_1", "notify INSTANCE VI_1 MASTER 150",
	})
	sendAdvert(t, client, 91, 50, 300*time.Millisecond, "192.0.2.100")
	// Handled before the fault below (on the XDP path the advert comes
	// as an event, a few goroutine hops later than from a socket).
	waitLines(t, "VI_1's scripts after the lower-priority advert", func() []string { return recorded(t, logf, "VI_1") }, []string{
		"backup VI_1", "notify INSTANCE VI_1 BACKUP 150",
		"master VI_1", "notify INSTANCE VI_1 MASTER 150",
		"lowerpri VI_1",
	})
	k1.SetLink("eth1", false)
	if err := n.WaitState("VI_1", "FAULT", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	k1.SetLink("eth1", true)
	if err := n.WaitState("VI_1", "MASTER", 10*time.Second); err != nil {
		t.Fatal(err)
	}

	// A reload removes VI_2: notify_deleted, and DELETED to "notify".
	if err := os.WriteFile(n.ConfigPath, []byte(common), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := k1.Run(n.Binary, "reload", "--run-dir", n.RunDir); err != nil || !strings.Contains(out, "vrrp_instance VI_2 removed") {
		t.Fatalf("lbd reload: %v\n%s", err, out)
	}
	waitLines(t, "VI_2's scripts", func() []string { return recorded(t, logf, "VI_2") }, []string{
		"notify INSTANCE VI_2 BACKUP 100", "notify INSTANCE VI_2 MASTER 100",
		"deleted VI_2", "notify INSTANCE VI_2 DELETED 100",
	})

	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	waitLines(t, "VI_1's scripts", func() []string { return recorded(t, logf, "VI_1") }, []string{
		"backup VI_1", "notify INSTANCE VI_1 BACKUP 150",
		"master VI_1", "notify INSTANCE VI_1 MASTER 150",
		"lowerpri VI_1",
		"fault VI_1", "notify INSTANCE VI_1 FAULT 150",
		"backup VI_1", "notify INSTANCE VI_1 BACKUP 150",
		"master VI_1", "notify INSTANCE VI_1 MASTER 150",
		"stop VI_1", "notify INSTANCE VI_1 STOP 150",
	})
	// The group: BACKUP at start, MASTER once both members want it (the
	// member that moved it reports MASTER, the one forced along does
	// not: the group's notifies stand for it), STOP at shutdown.
	waitLines(t, "group G's scripts", func() []string { return recorded(t, logf, "G") }, []string{
		"notify GROUP G BACKUP 0", "gmaster G", "notify GROUP G MASTER 0", "notify GROUP G STOP 0",
	})
	members := append(recorded(t, logf, "VI_3"), recorded(t, logf, "VI_4")...)
	masters := 0
	for _, l := range members {
		if strings.HasSuffix(l, "MASTER 100") {
			masters++
		}
	}
	if masters != 1 || len(members) != 5 {
		t.Errorf("members' scripts %q: want BACKUP and STOP from each, MASTER from one", members)
	}

	select {
	case <-fr.done:
	case <-time.After(10 * time.Second):
		t.Fatal("notify FIFO not closed at stop")
	}
	var vi1 []string
	for _, l := range fr.get() {
		if strings.Contains(l, `"VI_1"`) || strings.Contains(l, `"VI_2"`) {
			vi1 = append(vi1, l)
		}
	}
	want := []string{
		`INSTANCE "VI_1" BACKUP 150`, `INSTANCE "VI_1" MASTER 150`, `INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150`,
		`INSTANCE "VI_1" FAULT 150`, `INSTANCE "VI_1" BACKUP 150`, `INSTANCE "VI_1" MASTER 150`,
		`INSTANCE "VI_2" DELETED 100`, `INSTANCE "VI_1" STOP 150`,
	}
	// VI_2's start is interleaved with VI_1's: compare each instance's
	// lines in order.
	for _, name := range []string{"VI_1", "VI_2"} {
		var got, exp []string
		for _, l := range vi1 {
			if strings.Contains(l, `"`+name+`"`) {
				got = append(got, l)
			}
		}
		for _, l := range want {
			if strings.Contains(l, `"`+name+`"`) {
				exp = append(exp, l)
			}
		}
		if name == "VI_2" {
			exp = append([]string{`INSTANCE "VI_2" BACKUP 100`, `INSTANCE "VI_2" MASTER 100`}, exp...)
		}
		if !slices.Equal(got, exp) {
			t.Errorf("FIFO lines of %s:\n got  %q\n want %q", name, got, exp)
		}
	}
	if all := fr.get(); !slices.Contains(all, `GROUP "G" MASTER 0`) || !slices.Contains(all, `GROUP "G" STOP 0`) {
		t.Errorf("FIFO lines lack the group's: %q", all)
	}
	if _, err := os.Stat(fifo); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("FIFO left behind: %v", err)
	}
}
