package vrrp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func vip(s string) VIP { return VIP{Prefix: netip.MustParsePrefix(s)} }

// baseConfig is a valid IPv4 instance.
func baseConfig() Config {
	c := DefaultConfig()
	c.Name = "VI_1"
	c.Interface = "eth0"
	c.VRID = 51
	c.Priority = 100
	c.VIPs = []VIP{vip("192.0.2.10/24")}
	return c
}

func TestRoundAdvertInterval(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		version uint8
		in, out time.Duration
	}{
		{2, time.Second, time.Second},
		{2, 400 * ms, time.Second}, // rounds to 0, then at least 1s
		{2, 500 * ms, time.Second}, // half up
		{2, 1499 * ms, time.Second},
		{2, 1500 * ms, 2 * time.Second},
		{2, 2500 * ms, 3 * time.Second},
		{2, 255 * time.Second, 255 * time.Second},
		{2, 255500 * ms, 255 * time.Second}, // below 256s: rounds to 256, clamped
		{2, 300 * time.Second, 255 * time.Second},
		{3, time.Second, time.Second},
		{3, 10 * ms, 10 * ms},
		{3, 1 * ms, 10 * ms},
		{3, 4 * ms, 10 * ms},
		{3, 5 * ms, 10 * ms},
		{3, 15 * ms, 20 * ms},
		{3, 14 * ms, 10 * ms},
		{3, 920 * ms, 920 * ms},
		{3, 40950 * ms, 40950 * ms},
		{3, 41 * time.Second, 40950 * ms},
		{3, 255 * time.Second, 40950 * ms},
		{3, 0, 0},
	}
	for _, tt := range tests {
		if got := RoundAdvertInterval(tt.version, tt.in); got != tt.out {
			t.Errorf("RoundAdvertInterval(%d, %v) = %v, want %v", tt.version, tt.in, got, tt.out)
		}
	}
}

func TestDefaultConfig(t *testing.T) {
	want := Config{
		AdvertInterval:   time.Second,
		UnicastTTL:       -1,
		Accept:           true,
		DownTimerAdverts: 3,
		GARP: GARP{MasterDelay: 5 * time.Second, MasterRepeat: 5, LowerPrioDelay: 5 * time.Second,
			LowerPrioRepeat: 5, MasterRefreshRepeat: 1},
	}
	if diff := cmp.Diff(want, DefaultConfig(), cmpNet); diff != "" {
		t.Errorf("DefaultConfig (-want +got):\n%s", diff)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(c *Config)
		check func(t *testing.T, c Config)
		notes int
	}{
		{"IPv4 version defaults to 2", func(c *Config) {}, func(t *testing.T, c Config) {
			if c.Version != 2 {
				t.Errorf("Version = %d", c.Version)
			}
		}, 0},
		{"IPv6 version defaults to 3", func(c *Config) { c.VIPs = []VIP{vip("fe80::1/64")} }, func(t *testing.T, c Config) {
			if c.Version != 3 || c.Family() != FamilyIPv6 {
				t.Errorf("Version = %d, family %v", c.Version, c.Family())
			}
		}, 0},
		{"state MASTER without priority is the owner", func(c *Config) { c.Priority = 0; c.StartState = StartMaster }, func(t *testing.T, c Config) {
			if c.Priority != 255 {
				t.Errorf("Priority = %d", c.Priority)
			}
		}, 0},
		{"no priority, no state", func(c *Config) { c.Priority = 0 }, func(t *testing.T, c Config) {
			if c.Priority != 100 || c.StartState != StartBackup {
				t.Errorf("Priority = %d, state %v", c.Priority, c.StartState)
			}
		}, 0},
		{"priority 255 implies state MASTER", func(c *Config) { c.Priority = 255 }, func(t *testing.T, c Config) {
			if c.StartState != StartMaster {
				t.Errorf("StartState = %v", c.StartState)
			}
		}, 0},
		{"owner with state BACKUP keeps it", func(c *Config) { c.Priority = 255; c.StartState = StartBackup }, func(t *testing.T, c Config) {
			if c.StartState != StartBackup {
				t.Errorf("StartState = %v", c.StartState)
			}
		}, 0},
		{"v3 drops authentication", func(c *Config) { c.Version = 3; c.Auth = Auth{Type: AuthPass, Pass: "x"} }, func(t *testing.T, c Config) {
			if c.Auth != (Auth{}) {
				t.Errorf("Auth = %+v", c.Auth)
			}
		}, 1},
		{"PASS without password dropped", func(c *Config) { c.Auth = Auth{Type: AuthPass} }, func(t *testing.T, c Config) {
			if c.Auth != (Auth{}) {
				t.Errorf("Auth = %+v", c.Auth)
			}
		}, 1},
		{"long password truncated", func(c *Config) { c.Auth = Auth{Type: AuthPass, Pass: "0123456789"} }, func(t *testing.T, c Config) {
			if c.Auth.Pass != "01234567" {
				t.Errorf("Pass = %q", c.Auth.Pass)
			}
		}, 1},
		{"nopreempt with owner cleared", func(c *Config) { c.Priority = 255; c.StartState = StartBackup; c.NoPreempt = true }, func(t *testing.T, c Config) {
			if c.NoPreempt {
				t.Error("NoPreempt kept")
			}
		}, 1},
		{"nopreempt and preempt_delay with state MASTER cleared", func(c *Config) {
			c.StartState = StartMaster
			c.NoPreempt = true
			c.PreemptDelay = time.Second
		}, func(t *testing.T, c Config) {
			if c.NoPreempt || c.PreemptDelay != 0 {
				t.Errorf("NoPreempt %v PreemptDelay %v", c.NoPreempt, c.PreemptDelay)
			}
		}, 2},
		{"preempt_delay with nopreempt cleared", func(c *Config) { c.NoPreempt = true; c.PreemptDelay = time.Second }, func(t *testing.T, c Config) {
			if !c.NoPreempt || c.PreemptDelay != 0 {
				t.Errorf("NoPreempt %v PreemptDelay %v", c.NoPreempt, c.PreemptDelay)
			}
		}, 1},
		{"v2 interval rounded", func(c *Config) { c.AdvertInterval = 1500 * time.Millisecond }, func(t *testing.T, c Config) {
			if c.AdvertInterval != 2*time.Second {
				t.Errorf("AdvertInterval = %v", c.AdvertInterval)
			}
		}, 1},
		{"v3 interval kept", func(c *Config) { c.Version = 3; c.AdvertInterval = 250 * time.Millisecond }, func(t *testing.T, c Config) {
			if c.AdvertInterval != 250*time.Millisecond {
				t.Errorf("AdvertInterval = %v", c.AdvertInterval)
			}
		}, 0},
		{"interval 0 becomes 1s", func(c *Config) { c.AdvertInterval = 0 }, func(t *testing.T, c Config) {
			if c.AdvertInterval != time.Second {
				t.Errorf("AdvertInterval = %v", c.AdvertInterval)
			}
		}, 0},
		{"VIPs beyond 255 excluded", func(c *Config) {
			c.VIPs = nil
			for i := range 300 {
				c.VIPs = append(c.VIPs, VIP{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 32)})
			}
			c.ExcludedVIPs = []VIP{vip("2001:db8::1/64")}
		}, func(t *testing.T, c Config) {
			if len(c.VIPs) != 255 || len(c.ExcludedVIPs) != 46 || c.ExcludedVIPs[45].Prefix.Addr().Is4() {
				t.Errorf("%d VIPs, %d excluded", len(c.VIPs), len(c.ExcludedVIPs))
			}
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseConfig()
			tt.mod(&c)
			notes := c.Normalize()
			if len(notes) != tt.notes {
				t.Errorf("notes %q, want %d", notes, tt.notes)
			}
			tt.check(t, c)
			again := c
			if n := again.Normalize(); len(n) != 0 || !cmp.Equal(c, again, cmpNet) {
				t.Errorf("Normalize not idempotent: %q", n)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestValidateConfig(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(c *Config)
		keyword string
	}{
		{"zero config", func(c *Config) { *c = Config{} }, "virtual_router_id"},
		{"no name", func(c *Config) { c.Name = "" }, "vrrp_instance"},
		{"no VRID", func(c *Config) { c.VRID = 0 }, "virtual_router_id"},
		{"version 4", func(c *Config) { c.Version = 4 }, "version"},
		{"no interface", func(c *Config) { c.Interface = "" }, "interface"},
		{"unicast link-local source without interface", func(c *Config) {
			c.Interface = ""
			c.VIPs = []VIP{vip("2001:db8::1/64")}
			c.SourceAddr = netip.MustParseAddr("fe80::1")
			c.UnicastPeers = []UnicastPeer{{Addr: netip.MustParseAddr("2001:db8::2"), MaxTTL: 255}}
		}, "unicast_src_ip"},
		{"v3 without VIPs", func(c *Config) { c.Version = 3; c.VIPs = nil }, "virtual_ipaddress"},
		{"mixed VIP families", func(c *Config) { c.VIPs = append(c.VIPs, vip("2001:db8::1/64")) }, "virtual_ipaddress"},
		{"source of other family", func(c *Config) { c.SourceAddr = netip.MustParseAddr("2001:db8::1") }, "unicast_src_ip"},
		{"peer of other family", func(c *Config) {
			c.UnicastPeers = []UnicastPeer{{Addr: netip.MustParseAddr("2001:db8::2"), MaxTTL: 255}}
		}, "unicast_peer"},
		{"min_ttl above max_ttl", func(c *Config) {
			c.UnicastPeers = []UnicastPeer{{Addr: netip.MustParseAddr("192.0.2.2"), MinTTL: 10, MaxTTL: 5}}
		}, "unicast_peer"},
		{"unicast_ttl 256", func(c *Config) { c.UnicastTTL = 256 }, "unicast_ttl"},
		{"AH", func(c *Config) { c.Auth = Auth{Type: AuthAH, Pass: "secret"} }, "auth_type"},
		{"PASS over IPv6", func(c *Config) {
			c.Version = 2
			c.VIPs = []VIP{vip("fe80::1/64")}
			c.Auth = Auth{Type: AuthPass, Pass: "secret"}
		}, "auth_type"},
		{"negative interval", func(c *Config) { c.AdvertInterval = -time.Second }, "advert_int"},
		{"preempt_delay too long", func(c *Config) { c.PreemptDelay = 1001 * time.Second }, "preempt_delay"},
		{"down_timer_adverts 0", func(c *Config) { c.DownTimerAdverts = 0 }, "down_timer_adverts"},
		{"negative GARP repeat", func(c *Config) { c.GARP.MasterRepeat = -1 }, "garp_master_repeat"},
	}
	if err := baseConfig().Validate(); err != nil {
		t.Fatalf("base config: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseConfig()
			tt.mod(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			found := false
			for _, e := range unjoin(err) {
				var ce *ConfigError
				if errors.As(e, &ce) && ce.Keyword == tt.keyword {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s error in %v", tt.keyword, err)
			}
			if !strings.Contains(err.Error(), "vrrp_instance") {
				t.Errorf("error %q does not name the instance", err)
			}
		})
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestValidateDoesNotModify(t *testing.T) {
	c := baseConfig()
	c.Priority = 0
	c.AdvertInterval = 1500 * time.Millisecond
	before := c
	_ = c.Validate()
	if !cmp.Equal(before, c, cmpNet) {
		t.Error("Validate modified the config")
	}
}

func TestFamily(t *testing.T) {
	c := DefaultConfig()
	if c.Family() != FamilyIPv4 {
		t.Error("empty config is not IPv4")
	}
	c.UnicastPeers = []UnicastPeer{{Addr: netip.MustParseAddr("2001:db8::2")}}
	if c.Family() != FamilyIPv6 {
		t.Error("family not from unicast peer")
	}
	c.UnicastPeers = nil
	c.SourceAddr = netip.MustParseAddr("2001:db8::1")
	if c.Family() != FamilyIPv6 {
		t.Error("family not from source address")
	}
	if FamilyIPv4.String() != "ipv4" || FamilyIPv6.String() != "ipv6" {
		t.Error("Family strings")
	}
}
