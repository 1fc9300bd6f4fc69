package loader

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

// TestKeepalivedPeer: Debian's keepalived, master of four instances (v2
// with a password, v3, v3 unicast, v3 over IPv6), and the program on the
// other host accepting every one of its adverts: real checksums, real
// layouts, no rejection.
func TestKeepalivedPeer(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireCommand(t, "keepalived")
	lab := netns.New(t, netns.Options{})
	ka, lb := lab.Host("ka"), lab.Host("lb")
	lan := lab.Bridge("lan")
	lab.Connect(ka, "eth0", lan, "192.0.2.1/24", "2001:db8::1/64")
	lab.Connect(lb, "eth0", lan, "192.0.2.10/24", "2001:db8::10/64")
	kaLL := ka.WaitLinkLocal("eth0", 10*time.Second)

	l := openIn(t, lb, lb.BPFFS())
	defer l.Close(true)
	idx := lb.Index("eth0")
	key := func(vrid uint8, f Family) VRIDKey { return VRIDKey{Ifindex: idx, VRID: vrid, Family: f} }
	var pw [8]byte
	copy(pw[:], "secret")
	local4 := netip.MustParseAddr("192.0.2.10")
	vrids := map[VRIDKey]VRIDConfig{
		key(51, IPv4): {Version: 2, AuthType: AuthPass, AuthData: pw, Interval: time.Second, VIPs: addrs("192.0.2.100"), LocalAddr: local4},
		key(52, IPv4): {Version: 3, Interval: time.Second, VIPs: addrs("192.0.2.101", "192.0.2.102"), LocalAddr: local4},
		key(53, IPv4): {Version: 3, Interval: time.Second, VIPs: addrs("192.0.2.103"), LocalAddr: local4,
			Unicast: true, EnforceAllow: true},
		key(54, IPv6): {Version: 3, Interval: time.Second, VIPs: addrs("2001:db8::100")},
	}
	if err := l.ReplaceVRIDs(vrids); err != nil {
		t.Fatal(err)
	}
	if err := l.SetAllowList(idx, []AllowEntry{{Prefix: netip.MustParsePrefix("192.0.2.1/32")}}); err != nil {
		t.Fatal(err)
	}
	if tier, err := l.Attach("eth0", ModeAuto); err != nil || tier != TierXDP {
		t.Fatalf("attach: %s, %v", tier, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := l.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}

	kp := netns.Keepalived(t, ka, `global_defs {
	router_id ka
}
vrrp_instance V2 {
	state MASTER
	interface eth0
	version 2
	virtual_router_id 51
	priority 200
	advert_int 1
	authentication {
		auth_type PASS
		auth_pass secret
	}
	virtual_ipaddress {
		192.0.2.100/24
	}
}
vrrp_instance V3 {
	state MASTER
	interface eth0
	version 3
	virtual_router_id 52
	priority 200
	advert_int 1
	virtual_ipaddress {
		192.0.2.101/24
		192.0.2.102/24
	}
}
vrrp_instance U3 {
	state MASTER
	interface eth0
	version 3
	virtual_router_id 53
	priority 200
	advert_int 1
	unicast_src_ip 192.0.2.1
	unicast_peer {
		192.0.2.10
	}
	virtual_ipaddress {
		192.0.2.103/24
	}
}
vrrp_instance V6 {
	state MASTER
	interface eth0
	virtual_router_id 54
	priority 200
	advert_int 1
	virtual_ipaddress {
		2001:db8::100/64
	}
}
`, netns.KeepalivedOptions{VRRPOnly: true})
	for _, inst := range []string{"V2", "V3", "U3", "V6"} {
		if err := kp.WaitState(inst, "MASTER", 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}

	for k := range vrids {
		waitCount(t, "adverts of "+k.String(), 3, func() uint64 {
			s, err := l.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if a := s.VRIDs[k].Accepted; a < 3 {
				return a
			}
			return 3
		})
		mi, ok := l.MasterInfo(k)
		want := netip.MustParseAddr("192.0.2.1")
		if k.Family == IPv6 {
			want = kaLL.WithZone("")
		}
		if !ok || mi.Addr != want || mi.Priority != 200 || mi.Interval != time.Second {
			t.Errorf("master of %s: %+v, want %v priority 200 every 1s", k, mi, want)
		}
	}
	s, err := l.Stats()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range s.VRIDs {
		for r, n := range v.Rejected {
			if n != 0 {
				t.Errorf("%s: %d keepalived adverts rejected as %s", k, n, Reason(r))
			}
		}
	}
	// One new_sender per VRID, then nothing: steady state stays in the kernel.
	seen := map[VRIDKey]bool{}
	for len(seen) < len(vrids) {
		e := nextEvent(t, events)
		if e.Kind&EventNewSender == 0 || seen[e.Key] {
			t.Fatalf("event %+v, want one new_sender per VRID", e)
		}
		seen[e.Key] = true
	}
	select {
	case e := <-events:
		if e.Kind != EventNewSender {
			t.Errorf("steady-state event %+v", e)
		}
	default:
	}

	// Graceful stop: keepalived resigns with priority 0, an event each.
	if err := kp.Stop(); err != nil {
		t.Fatal(err)
	}
	zero := map[VRIDKey]bool{}
	for len(zero) < len(vrids) {
		e := nextEvent(t, events)
		if e.Kind&EventPrioZero != 0 {
			zero[e.Key] = true
		}
	}
	for k := range vrids {
		if _, alive := l.LastSeen(k); alive {
			t.Errorf("%s: master still alive after priority 0", k)
		}
	}
}
