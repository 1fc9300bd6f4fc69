package daemon

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lbdproject/lbd/pkg/netutil"
	"github.com/lbdproject/lbd/pkg/vrrp"
	"net/netip"
)

func TestPIDFileLock(t *testing.T) {
	dir := t.TempDir()
	p, err := lockPIDFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, PIDName))
	if strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("pid file holds %q", b)
	}
	if _, err := lockPIDFile(dir); !errors.Is(err, ErrRunning) {
		t.Fatalf("second lock: %v, want ErrRunning", err)
	}
	p.release()
	if _, err := os.Stat(filepath.Join(dir, PIDName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file left after release: %v", err)
	}
	// A stale file (no lock held: its lbd was killed) is taken over.
	os.WriteFile(filepath.Join(dir, PIDName), []byte("999999\n"), 0o644)
	p, err = lockPIDFile(dir)
	if err != nil {
		t.Fatalf("stale pid file: %v", err)
	}
	p.release()
}

func TestControlProtocol(t *testing.T) {
	dir := t.TempDir()
	want := &Status{Version: "v1", PID: 42, Instances: []InstanceStatus{{Name: "VI_1", State: "MASTER"}}}
	srv, err := listenControl(dir, slog.New(slog.DiscardHandler), func(r Request) Response {
		if r.Command == CommandStatus {
			return Response{OK: true, Status: want}
		}
		return Response{Error: "unknown command " + r.Command}
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, SocketName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v (%v), want 0600", fi.Mode(), err)
	}
	ctx := context.Background()
	st, err := FetchStatus(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.PID != 42 || st.Instance("VI_1").State != "MASTER" || st.Instance("nope") != nil {
		t.Errorf("status %+v", st)
	}
	resp, err := Query(ctx, dir, Request{Command: "bogus"})
	if err != nil || resp.OK || resp.Error != "unknown command bogus" {
		t.Errorf("bogus command: %+v, %v", resp, err)
	}
	srv.close()
	if _, err := FetchStatus(ctx, dir); err == nil || !strings.Contains(err.Error(), "is lbd running with --run-dir") {
		t.Errorf("after close: %v", err)
	}
}

func TestWriteStatus(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	last := now.Add(-90 * time.Second)
	st := &Status{
		Version: "v1.0", PID: 7, Started: now.Add(-time.Hour), ConfigFile: "/etc/keepalived/keepalived.conf",
		Datapath: Datapath{Requested: "auto", Interfaces: []InterfaceTier{
			{Interface: "eth0", Tier: "tc", Hook: "tcx", Adopted: true, Skipped: []string{"xdp: no driver", "xdp-generic: busy"}},
			{Interface: "eth1", Tier: "none", Reason: "--datapath off"},
		}},
		Instances: []InstanceStatus{{
			Name: "VI_1", VRID: 51, Interface: "eth0", Datapath: "tc", Version: 2, Family: "ipv4", State: "BACKUP",
			Priority: 90, ConfiguredPriority: 100, MasterAddress: "192.0.2.1", VIPs: []string{"192.0.2.100/24"},
			LastTransition: &last, LastReason: "higher_priority_advert",
			Counters: Counters{AdvertsSent: 3, AdvertsReceived: 120, Dropped: 2},
		}, {
			Name: "VI_2", VRID: 52, Interface: "eth9", Version: 3, Family: "ipv6", State: "FAULT",
			Fault: true, FaultDetail: "setup: link \"eth9\": link not found", VIPs: []string{},
		}, {
			Name: "VI_4", VRID: 54, Interface: "eth0", Datapath: "none", DatapathNote: "auth AH", Version: 2, Family: "ipv4",
			State: "BACKUP", VIPs: []string{},
		}},
		Refused: []RefusedInstance{{Name: "VI_3", Pos: "k.conf:30", Errors: []string{"k.conf:31: bad"}}},
	}
	var b strings.Builder
	if err := WriteStatus(&b, st, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"lbd v1.0, pid 7, up 1h0m0s, config /etc/keepalived/keepalived.conf\n",
		"datapath auto: eth0 tc (tcx; adopted; not xdp: no driver, not xdp-generic: busy); eth1 none (--datapath off)\n",
		"INSTANCE  VRID  INTERFACE  PATH  VRRP     STATE   PRIO    MASTER     VIPS            LAST TRANSITION                    SENT  RECV  DROPS\n",
		"VI_1      51    eth0       tc    v2 ipv4  BACKUP  90/100  192.0.2.1  192.0.2.100/24  1m30s ago, higher_priority_advert  3     120   2\n",
		"VI_2      52    eth9       -     v3 ipv6  FAULT   0/0     -          -               -                                  0     0     0\n",
		"VI_2 is in FAULT: setup: link \"eth9\": link not found\n",
		"VI_4 receives on its raw socket only: auth AH\n",
		"vrrp_instance VI_3 (k.conf:30) refused:\n  k.conf:31: bad\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
}

func TestInstanceStatusMasterIsSelf(t *testing.T) {
	src := netip.MustParseAddr("192.0.2.1")
	s := instanceStatus(vrrp.InstanceStatus{SourceAddr: src, Status: vrrp.Status{State: vrrp.StateMaster, EffectivePriority: 150}})
	if s.MasterAddress != "192.0.2.1" || s.MasterPriority != 150 || s.StateCode != 2 {
		t.Errorf("%+v", s)
	}
}

func TestVIPStateFile(t *testing.T) {
	dir := t.TempDir()
	s := newVIPState(dir, slog.New(slog.DiscardHandler))
	a := netutil.Address{IfIndex: 3, Prefix: netip.MustParsePrefix("192.0.2.100/24")}
	b := netutil.Address{IfIndex: 3, Prefix: netip.MustParsePrefix("192.0.2.101/32"), Peer: netip.MustParsePrefix("192.0.2.9/32")}
	s.add("eth0", a)
	s.add("eth0", b)
	s.remove("eth0", a)
	s.flush()
	got, _ := os.ReadFile(filepath.Join(dir, VIPsName))
	want := `[
  {
    "interface": "eth0",
    "prefix": "192.0.2.101/32",
    "peer": "192.0.2.9/32"
  }
]
`
	if string(got) != want {
		t.Errorf("vips.json:\n%s\nwant\n%s", got, want)
	}
	if s.empty() {
		t.Error("empty with one entry")
	}
}
