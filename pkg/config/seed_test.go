package config

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The seed document's configuration excerpts (testdata/seed, each file
// saying what was completed) parse to the expected model.

func loadSeed(t *testing.T, name string) *Config {
	t.Helper()
	path := filepath.Join("testdata", "seed", name)
	c, ds := Load(path, Options{ConfigID: "node1", RandomSeed: 1})
	if got := diagStrings(ds); len(got) > 0 {
		t.Fatalf("%s: unexpected diagnostics: %q", name, got)
	}
	return c
}

func TestSeedGlobalDefs(t *testing.T) {
	c := loadSeed(t, "global_defs.conf")
	g := c.Global
	if diff := cmp.Diff([]string{"dba.gao@gmail.com", "ixdba@163.com"}, g.NotificationEmail); diff != "" {
		t.Errorf("notification_email (-want +got):\n%s", diff)
	}
	if g.NotificationEmailFrom != "Keepalived@localhost" || g.SMTPServer != "192.168.200.1" || g.SMTPServerPort != 25 ||
		g.SMTPConnectTimeout != 30*time.Second || g.RouterID != "LVS_DEVEL" {
		t.Errorf("global_defs: from %q server %q:%d timeout %s router_id %q", g.NotificationEmailFrom, g.SMTPServer, g.SMTPServerPort, g.SMTPConnectTimeout, g.RouterID)
	}
	if g.Pos != (Pos{File: filepath.Join("testdata", "seed", "global_defs.conf"), Line: 4}) {
		t.Errorf("global_defs at %s", g.Pos)
	}
}

func TestSeedSyncGroups(t *testing.T) {
	c := loadSeed(t, "sync_groups.conf")
	file := filepath.Join("testdata", "seed", "sync_groups.conf")
	script := func(cmd string, args ...string) *Script { return &Script{Cmd: cmd, Args: args} }
	want := []SyncGroup{
		{
			Pos: Pos{File: file, Line: 6}, Name: "G1", Members: []string{"VI_1", "VI_2", "VI_5"},
			Notify: Notify{
				Backup: script("/usr/local/bin/vrrp.back arg1 arg2", "/usr/local/bin/vrrp.back", "arg1", "arg2"),
				Master: script("/usr/local/bin/vrrp.mast arg1 arg2", "/usr/local/bin/vrrp.mast", "arg1", "arg2"),
				Fault:  script("/usr/local/bin/vrrp.fault arg1 arg2", "/usr/local/bin/vrrp.fault", "arg1", "arg2"),
			},
		},
		{Pos: Pos{File: file, Line: 16}, Name: "G2", Members: []string{"VI_3", "VI_4"}},
	}
	if diff := cmp.Diff(want, c.SyncGroups, cmpModel); diff != "" {
		t.Errorf("vrrp_sync_group (-want +got):\n%s", diff)
	}
	groupOf := map[string]string{}
	for _, v := range c.Instances {
		groupOf[v.Name] = v.SyncGroup
	}
	if diff := cmp.Diff(map[string]string{"VI_1": "G1", "VI_2": "G1", "VI_5": "G1", "VI_3": "G2", "VI_4": "G2"}, groupOf); diff != "" {
		t.Errorf("instances' sync groups (-want +got):\n%s", diff)
	}
}

func TestSeedVI1(t *testing.T) {
	c := loadSeed(t, "vi_1.conf")
	file := filepath.Join("testdata", "seed", "vi_1.conf")
	at := func(line int) Pos { return Pos{File: file, Line: line} }
	want := VRRPInstance{
		Pos: at(10), Name: "VI_1", State: StateMaster, Interface: "eth0", Family: FamilyIPv4,
		VRID: 51, Priority: 100, AdvertInt: time.Second, Version: 2, Preempt: true, Accept: true,
		McastSrcIP: addr("192.168.200.2"), McastDstIP: addr("224.0.0.18"), UnicastTTL: 255,
		Auth: &Authentication{Pos: at(22), Type: AuthPass, Pass: "qwaszx"},
		VirtualIPs: []IPAddress{{Pos: at(28), Prefix: prefix("192.168.200.16/24"), Broadcast: addr("192.168.200.255"),
			Dev: "eth0", Scope: "global", Label: "eth0:1"}},
		TrackInterfaces: []TrackInterface{{Pos: at(19), Name: "eth0"}, {Pos: at(20), Name: "eth1"}},
		GARPMasterDelay: 10 * time.Second, GARPMasterRepeat: 5,
		GARPLowerPrioDelay: 10 * time.Second, GARPLowerPrioRepeat: 5,
		GARPMasterRefreshRepeat: 1, DownTimerAdverts: 3,
	}
	if diff := cmp.Diff([]VRRPInstance{want}, c.Instances, cmpModel); diff != "" {
		t.Errorf("vrrp_instance (-want +got):\n%s", diff)
	}
}

// TestSeedIncomplete checks what lbd says about the seed's VI_1 exactly as
// the document leaves it: mcast_src_ip without an address, and the file
// ending inside virtual_ipaddress.
func TestSeedIncomplete(t *testing.T) {
	_, ds := parse(t, `vrrp_instance VI_1 {
state MASTER
interface eth0
virtual_router_id 51
priority 100
advert_int 1
mcast_src_ip
garp_master_delay 10
track_interface {
eth0
eth1
}
authentication {
auth_type PASS
auth_pass qwaszx
}
virtual_ipaddress {
#/ brd dev scope label
`)
	wantDiags(t, ds,
		"test.conf:1: vrrp_instance: missing '}' at end of block",
		"test.conf:1: warning: vrrp_instance VI_1: no virtual_ipaddress",
		"test.conf:7: vrrp_instance VI_1: mcast_src_ip: missing value",
		"test.conf:17: virtual_ipaddress: missing '}' at end of block",
	)
}
