package daemon

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lbdproject/lbd/pkg/config"
	"github.com/lbdproject/lbd/pkg/netutil"
	"github.com/lbdproject/lbd/pkg/vrrp"
)

var cmpAddrs = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}, netutil.Lifetime{})

func translate(t *testing.T, text string) Translation {
	t.Helper()
	cfg, diags := config.Parse("test.conf", []byte(text), config.Options{ConfigID: "node1"})
	if cfg == nil {
		t.Fatalf("parse: %v", diags)
	}
	return Translate(cfg, diags)
}

func onePlan(t *testing.T, text string) Plan {
	t.Helper()
	tr := translate(t, text)
	if len(tr.Plans) != 1 || len(tr.Refused) != 0 || len(tr.Fatal) != 0 {
		t.Fatalf("want one plan: plans %d, refused %+v, fatal %q", len(tr.Plans), tr.Refused, tr.Fatal)
	}
	return tr.Plans[0]
}

func TestTranslateDefaults(t *testing.T) {
	p := onePlan(t, `
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress {
    192.0.2.100/24
  }
}
`)
	want := vrrp.DefaultConfig()
	want.Name = "VI_1"
	want.Interface = "eth0"
	want.VRID = 51
	want.Version = 2
	want.Priority = 100
	want.StartState = vrrp.StartBackup
	want.VIPs = []vrrp.VIP{{Prefix: netip.MustParsePrefix("192.0.2.100/24")}}
	if diff := cmp.Diff(want, p.Config, cmpAddrs); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if p.Group != vrrp.MulticastGroupIPv4 || !p.TrackPrimary || p.Pos.Line != 2 {
		t.Errorf("group %v, track primary %v, pos %v", p.Group, p.TrackPrimary, p.Pos)
	}
	if len(p.VIPs) != 1 || p.VIPs[0].Dev != "eth0" || p.VIPs[0].Addr.Prefix != want.VIPs[0].Prefix {
		t.Errorf("planned VIPs %+v", p.VIPs)
	}
}

func TestTranslateOwnerWithoutPriority(t *testing.T) {
	// keepalived 2.x: state MASTER and no priority make the address owner.
	p := onePlan(t, `
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  virtual_ipaddress {
    192.0.2.100
  }
}
`)
	if p.Config.Priority != 255 || p.Config.StartState != vrrp.StartMaster {
		t.Errorf("priority %d, state %v; want 255 MASTER", p.Config.Priority, p.Config.StartState)
	}
}

func TestTranslateV3(t *testing.T) {
	tr := translate(t, `
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 52
  version 3
  priority 150
  advert_int 0.015
  nopreempt
  virtual_ipaddress {
    192.0.2.100
  }
}
`)
	if len(tr.Plans) != 1 {
		t.Fatalf("refused: %+v", tr.Refused)
	}
	c := tr.Plans[0].Config
	if c.Version != 3 || c.AdvertInterval != 20*time.Millisecond || !c.NoPreempt || c.Priority != 150 {
		t.Errorf("version %d, advert_int %v, nopreempt %v, priority %d", c.Version, c.AdvertInterval, c.NoPreempt, c.Priority)
	}
	found := false
	for _, w := range tr.Warnings {
		if w == "test.conf:2: warning: vrrp_instance VI_1: VRRPv3 advert_int 15ms rounded to 20ms" {
			found = true
		}
	}
	if !found {
		t.Errorf("no rounding warning in %q", tr.Warnings)
	}
}

func TestTranslateUnicast(t *testing.T) {
	p := onePlan(t, `
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 53
  unicast_src_ip 192.0.2.1
  unicast_ttl 10
  unicast_peer {
    192.0.2.2
    192.0.2.3 min_ttl 200 max_ttl 250
  }
  virtual_ipaddress {
    192.0.2.100
  }
}
`)
	c := p.Config
	want := []vrrp.UnicastPeer{
		{Addr: netip.MustParseAddr("192.0.2.2"), MaxTTL: 255},
		{Addr: netip.MustParseAddr("192.0.2.3"), MinTTL: 200, MaxTTL: 250},
	}
	if diff := cmp.Diff(want, c.UnicastPeers, cmpAddrs); diff != "" {
		t.Errorf("peers (-want +got):\n%s", diff)
	}
	if c.SourceAddr != netip.MustParseAddr("192.0.2.1") || c.UnicastTTL != 10 || !c.CheckUnicastSrc {
		t.Errorf("source %v, ttl %d, check_unicast_src %v", c.SourceAddr, c.UnicastTTL, c.CheckUnicastSrc)
	}
	if p.Group.IsValid() {
		t.Errorf("unicast instance with group %v", p.Group)
	}
}

func TestTranslateIPv6(t *testing.T) {
	p := onePlan(t, `
vrrp_instance VI_6 {
  interface eth0
  virtual_router_id 54
  priority 200
  virtual_ipaddress {
    2001:db8::100/64
    2001:db8::101
  }
}
`)
	c := p.Config
	if c.Family() != vrrp.FamilyIPv6 || c.Version != 3 || p.Group != vrrp.MulticastGroupIPv6 {
		t.Errorf("family %v version %d group %v", c.Family(), c.Version, p.Group)
	}
	if p.VIPs[1].Addr.Prefix != netip.MustParsePrefix("2001:db8::101/128") || p.VIPs[1].Addr.DAD {
		t.Errorf("second VIP %+v", p.VIPs[1].Addr)
	}
}

func TestTranslateVIPAttributes(t *testing.T) {
	p := onePlan(t, `
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 55
  virtual_ipaddress {
    192.0.2.100/24 brd + dev eth1 scope link label eth1:vip
    192.0.2.101/32 peer 192.0.2.200/32 noprefixroute
  }
  virtual_ipaddress_excluded {
    2001:db8::5/64 -nodad home mngtmpaddr preferred_lft forever
    198.51.100.7/24 brd - no_track
  }
}
`)
	if len(p.VIPs) != 4 {
		t.Fatalf("%d VIPs", len(p.VIPs))
	}
	got := []netutil.Address{p.VIPs[0].Addr, p.VIPs[1].Addr, p.VIPs[2].Addr, p.VIPs[3].Addr}
	want := []netutil.Address{
		{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Broadcast: netip.MustParseAddr("192.0.2.255"), Scope: netutil.ScopeLink, Label: "eth1:vip"},
		{Prefix: netip.MustParsePrefix("192.0.2.101/32"), Peer: netip.MustParsePrefix("192.0.2.200/32"), NoPrefixRoute: true},
		{Prefix: netip.MustParsePrefix("2001:db8::5/64"), DAD: true, Home: true, ManageTempAddr: true, PreferredLft: netutil.LifetimeForever()},
		{Prefix: netip.MustParsePrefix("198.51.100.7/24"), Broadcast: netip.MustParseAddr("198.51.100.0")},
	}
	if diff := cmp.Diff(want, got, cmpAddrs); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	if p.VIPs[0].Dev != "eth1" || p.VIPs[2].Dev != "eth0" || !p.VIPs[2].Excluded || p.VIPs[1].Excluded {
		t.Errorf("devs/excluded: %+v", p.VIPs)
	}
	if len(p.Config.VIPs) != 2 || len(p.Config.ExcludedVIPs) != 2 || !p.Config.ExcludedVIPs[1].NoTrack {
		t.Errorf("core VIPs %v excluded %v", p.Config.VIPs, p.Config.ExcludedVIPs)
	}
}

func TestTranslateGARP(t *testing.T) {
	tr := translate(t, `
global_defs {
  vrrp_garp_master_delay 10
  vrrp_garp_master_repeat 3
  vrrp_garp_master_refresh 60
  vrrp_garp_master_refresh_repeat 2
  vrrp_garp_interval 0.001
  vrrp_gna_interval 0.002
}
garp_group {
  garp_interval 0.01
  gna_interval 0.02
  interfaces {
    eth1
    eth2
  }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 56
  virtual_ipaddress {
    192.0.2.100
  }
}
vrrp_instance VI_2 {
  interface eth1
  virtual_router_id 57
  garp_master_repeat 1
  virtual_ipaddress {
    192.0.2.101
  }
}
`)
	if len(tr.Plans) != 2 {
		t.Fatalf("refused %+v fatal %q", tr.Refused, tr.Fatal)
	}
	g1, g2 := tr.Plans[0].Config.GARP, tr.Plans[1].Config.GARP
	want1 := vrrp.GARP{MasterDelay: 10 * time.Second, MasterRepeat: 3, LowerPrioDelay: 10 * time.Second, LowerPrioRepeat: 3,
		MasterRefresh: 60 * time.Second, MasterRefreshRepeat: 2, Interval: time.Millisecond, NAInterval: 2 * time.Millisecond}
	if g1 != want1 {
		t.Errorf("VI_1 GARP %+v\nwant %+v", g1, want1)
	}
	// The instance's garp_master_repeat also sets its lower-priority
	// repeat (keepalived), and eth1 is in the garp_group.
	want2 := want1
	want2.MasterRepeat, want2.LowerPrioRepeat = 1, 1
	want2.Interval, want2.NAInterval = 10*time.Millisecond, 20*time.Millisecond
	if g2 != want2 {
		t.Errorf("VI_2 GARP %+v\nwant %+v", g2, want2)
	}
	d1, iv1 := tr.GARP.Domain("eth1", netip.MustParseAddr("192.0.2.1"))
	d2, iv2 := tr.GARP.Domain("eth2", netip.MustParseAddr("2001:db8::1"))
	d0, iv0 := tr.GARP.Domain("eth0", netip.MustParseAddr("192.0.2.1"))
	if d1 != d2 || d1 == "eth1" || iv1 != 10*time.Millisecond || iv2 != 20*time.Millisecond {
		t.Errorf("garp_group domains %q %v, %q %v: want one shared domain", d1, iv1, d2, iv2)
	}
	if d0 != "eth0" || iv0 != time.Millisecond {
		t.Errorf("eth0 domain %q %v", d0, iv0)
	}
}

func TestTranslateRefusesBadInstanceAlone(t *testing.T) {
	tr := translate(t, `
vrrp_instance GOOD {
  interface eth0
  virtual_router_id 60
  virtual_ipaddress {
    192.0.2.100
  }
}
vrrp_instance AH {
  interface eth0
  virtual_router_id 61
  authentication {
    auth_type AH
    auth_pass secret
  }
  virtual_ipaddress {
    192.0.2.101
  }
}
vrrp_instance NOVRID {
  interface eth0
  virtual_ipaddress {
    192.0.2.102
  }
}
vrrp_instance LABEL {
  interface eth0
  virtual_router_id 62
  virtual_ipaddress {
    192.0.2.103 label a-label-longer-than-15
  }
}
vrrp_instance PEER {
  interface eth0
  virtual_router_id 63
  virtual_ipaddress {
    192.0.2.104/24 peer 192.0.2.1/32
  }
}
`)
	if len(tr.Fatal) != 0 {
		t.Fatalf("fatal: %q", tr.Fatal)
	}
	var names []string
	for _, p := range tr.Plans {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{"GOOD"}) {
		t.Errorf("plans %v, want GOOD only", names)
	}
	want := map[string]string{
		// vrrp.Validate's error, at the authentication block.
		"AH": "test.conf:12: vrrp_instance AH: auth_type: AH (IPsec AH HMAC-MD5-96, RFC 2338) is not supported by lbd",
		// pkg/config's errors.
		"NOVRID": "test.conf:20: vrrp_instance NOVRID: virtual_router_id is required",
		"LABEL":  `test.conf:30: vrrp_instance LABEL: virtual_ipaddress 192.0.2.103: label "a-label-longer-than-15" longer than 15 characters`,
		// netutil.Address.Validate's, at the VIP's line.
		"PEER": "test.conf:37: vrrp_instance PEER: 192.0.2.104/24: address 192.0.2.104/24 has a prefix length and a peer",
	}
	if len(tr.Refused) != len(want) {
		t.Errorf("refused %+v", tr.Refused)
	}
	for _, r := range tr.Refused {
		w, ok := want[r.Name]
		if !ok || len(r.Errors) == 0 || !strings.HasPrefix(r.Errors[0], w) {
			t.Errorf("refused %s: %q, want one starting %q", r.Name, r.Errors, w)
		}
	}
}

func TestTranslateFatal(t *testing.T) {
	tr := translate(t, `
vrrp_sync_group G {
  group {
    VI_1
    MISSING
  }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 60
  virtual_ipaddress {
    192.0.2.100
  }
}
`)
	if len(tr.Fatal) != 1 || !strings.HasPrefix(tr.Fatal[0], "test.conf:2: vrrp_sync_group G: vrrp_instance MISSING does not exist") {
		t.Errorf("fatal %q", tr.Fatal)
	}
}

func TestTranslateNotApplied(t *testing.T) {
	p := onePlan(t, `
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 60
  dont_track_primary
  use_vmac
  virtual_ipaddress {
    192.0.2.100
  }
}
`)
	if p.TrackPrimary || p.Tracking.Primary != "" {
		t.Error("dont_track_primary ignored")
	}
	if len(p.NotApplied) != 0 {
		t.Errorf("not applied %q", p.NotApplied)
	}
	if p.VMAC == nil || p.VMAC.Name != "vrrp.60" || p.VIPs[0].Dev != "vrrp.60" {
		t.Errorf("vmac %+v, vip on %q", p.VMAC, p.VIPs[0].Dev)
	}
}

func TestTranslateAllowedSenders(t *testing.T) {
	tr := translate(t, `
global_defs {
  lbd_vrrp_allowed_senders 192.0.2.0/29 2001:db8::/64
  lbd_vrrp_allowed_senders 198.51.100.7
}
vrrp_instance V4 {
  interface eth0
  virtual_router_id 51
  virtual_ipaddress {
    192.0.2.100/24
  }
}
vrrp_instance V6 {
  interface eth0
  virtual_router_id 52
  version 3
  virtual_ipaddress {
    2001:db8::100/64
  }
}
`)
	if len(tr.Plans) != 2 {
		t.Fatalf("plans %d, refused %+v, fatal %q", len(tr.Plans), tr.Refused, tr.Fatal)
	}
	want := map[string][]netip.Prefix{
		"V4": {netip.MustParsePrefix("192.0.2.0/29"), netip.MustParsePrefix("198.51.100.7/32")},
		"V6": {netip.MustParsePrefix("2001:db8::/64")},
	}
	for _, p := range tr.Plans {
		if diff := cmp.Diff(want[p.Name], p.Config.AllowedSenders, cmpAddrs); diff != "" {
			t.Errorf("%s allowed senders (-want +got):\n%s", p.Name, diff)
		}
	}
	cfg, diags := config.Parse("test.conf", []byte("global_defs {\n  lbd_vrrp_allowed_senders 192.0.2.0/33\n}\n"), config.Options{})
	if cfg == nil || len(diags.Errors()) != 1 || !strings.Contains(diags.Errors()[0].String(), "test.conf:2: global_defs: lbd_vrrp_allowed_senders 192.0.2.0/33: bad prefix length") {
		t.Errorf("bad prefix: %v", diags)
	}
}

// unicast_fault_no_peer: without peers, FAULT instead of keepalived's
// fallback to multicast (which lbd keeps without the keyword); with a
// peer, unicast as usual. A reload that adds a peer restarts the
// instance (out of FAULT).
func TestTranslateUnicastFaultNoPeer(t *testing.T) {
	inst := func(extra string) string {
		return "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  unicast_src_ip 192.0.2.1\n" + extra +
			"  virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n"
	}
	fallback := onePlan(t, inst(""))
	if fallback.Fault != "" || fallback.Group != vrrp.MulticastGroupIPv4 {
		t.Errorf("no peers, no keyword: fault %q, group %v; want multicast to %v", fallback.Fault, fallback.Group, vrrp.MulticastGroupIPv4)
	}
	fault := onePlan(t, inst("  unicast_fault_no_peer\n"))
	if !strings.HasPrefix(fault.Fault, "unicast_fault_no_peer: no unicast_peer") || fault.Group.IsValid() {
		t.Errorf("no peers, unicast_fault_no_peer: fault %q, group %v; want a fault and no multicast group", fault.Fault, fault.Group)
	}
	peer := onePlan(t, inst("  unicast_fault_no_peer\n  unicast_peer {\n    192.0.2.2\n  }\n"))
	if peer.Fault != "" || peer.Group.IsValid() || len(peer.Config.UnicastPeers) != 1 {
		t.Errorf("a peer, unicast_fault_no_peer: fault %q, group %v, peers %v; want unicast", peer.Fault, peer.Group, peer.Config.UnicastPeers)
	}
	if k, why := classify(&fault, &peer); k != restart {
		t.Errorf("reload adding a peer: %v (%s), want a restart", k, why)
	}
	if k, why := classify(&fault, &fallback); k != restart || why != "unicast_fault_no_peer changed" {
		t.Errorf("reload dropping the keyword: %v (%s), want a restart", k, why)
	}
	if tr := translate(t, inst("  unicast_fault_no_peer\n")); len(tr.Warnings) != 0 {
		t.Errorf("warnings: %q", tr.Warnings)
	}
}
