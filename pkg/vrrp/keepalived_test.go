package vrrp

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

// interopCase is one vrrp_instance run by keepalived on host "ka" and
// mirrored by an Instance of ours on host "lbd".
type interopCase struct {
	name   string // keepalived's instance name
	ka     string // its configuration body
	mirror func(c *Config)
}

const (
	kaAddr4  = "192.0.2.1"
	lbdAddr4 = "192.0.2.2"
)

func interopCases() []interopCase {
	return []interopCase{
		{"P2", `
    virtual_router_id 61
    priority 200
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    virtual_ipaddress {
        192.0.2.61/24
    }`, func(c *Config) {
			c.VRID, c.Version, c.AdvertInterval = 61, 2, time.Second
			c.Auth = Auth{Type: AuthPass, Pass: "s3cret"}
			c.VIPs = []VIP{vip("192.0.2.61/24")}
		}},
		{"P3", `
    version 3
    virtual_router_id 62
    priority 200
    advert_int 0.5
    virtual_ipaddress {
        192.0.2.62/24
        192.0.2.63/24
    }`, func(c *Config) {
			c.VRID, c.Version, c.AdvertInterval = 62, 3, 500*time.Millisecond
			c.VIPs = []VIP{vip("192.0.2.62/24"), vip("192.0.2.63/24")}
		}},
		{"P6", `
    virtual_router_id 63
    priority 200
    advert_int 1
    virtual_ipaddress {
        fe80::63/64
        2001:db8::63/64
    }`, func(c *Config) {
			c.VRID, c.Version, c.AdvertInterval = 63, 3, time.Second
			c.VIPs = []VIP{vip("fe80::63/64"), vip("2001:db8::63/64")}
		}},
		{"PU", `
    version 3
    virtual_router_id 64
    priority 200
    advert_int 1
    unicast_src_ip ` + kaAddr4 + `
    unicast_peer {
        ` + lbdAddr4 + `
    }
    virtual_ipaddress {
        192.0.2.64/32
    }`, func(c *Config) {
			c.VRID, c.Version, c.AdvertInterval = 64, 3, time.Second
			c.VIPs = []VIP{vip("192.0.2.64/32")}
			c.SourceAddr = netip.MustParseAddr(lbdAddr4)
			c.UnicastPeers = []UnicastPeer{{Addr: netip.MustParseAddr(kaAddr4), MaxTTL: 255}}
			c.CheckUnicastSrc = true
		}},
	}
}

// TestKeepalivedInterop runs Debian's keepalived as the master of four
// instances (v2 with PASS, v3 IPv4, v3 IPv6, v3 unicast) and checks, on the
// wire, both directions: its adverts pass our Validate and drive our
// Instances (BACKUP while it advertises, MASTER after its priority-0 advert
// on shutdown), and our adverts pass keepalived's checks (it logs them as
// lower-priority adverts).
func TestKeepalivedInterop(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireCommand(t, "ip", "keepalived")
	t.Parallel()

	lab := netns.New(t, netns.Options{})
	ka, lbd := lab.Host("ka"), lab.Host("lbd")
	lan := lab.Bridge("lan")
	lab.Connect(ka, "eth0", lan, kaAddr4+"/24", "2001:db8::1/64")
	lab.Connect(lbd, "eth0", lan, lbdAddr4+"/24", "2001:db8::2/64")
	ka.WaitLinkLocal("eth0", 10*time.Second)
	lbdLL := lbd.WaitLinkLocal("eth0", 10*time.Second)
	capt := lbd.Capture("eth0", netns.IsVRRP)

	cases := interopCases()
	var conf strings.Builder
	for _, c := range cases {
		fmt.Fprintf(&conf, "vrrp_instance %s {\n    interface eth0\n    state MASTER%s\n}\n", c.name, c.ka)
	}
	k := netns.Keepalived(t, ka, conf.String(), netns.KeepalivedOptions{VRRPOnly: true})

	insts := map[uint8]*Instance{}
	names := map[uint8]string{}
	for _, c := range cases {
		local := netip.MustParseAddr(lbdAddr4)
		cfg := testConfig(func(cf *Config) { cf.Name = c.name; cf.Priority = 100; c.mirror(cf) })
		if cfg.VIPs[0].Prefix.Addr().Is6() {
			local = lbdLL
		}
		in, err := NewInstance(cfg, Options{LocalAddr: local})
		if err != nil {
			t.Fatal(err)
		}
		insts[cfg.VRID], names[cfg.VRID] = in, c.name
		if err := k.WaitState(c.name, "MASTER", 30*time.Second); err != nil {
			t.Fatalf("keepalived: %v\n%s", err, k.Log())
		}
	}

	// keepalived -> us, live: a few adverts of each instance.
	for vrid := range insts {
		if _, err := capt.WaitN(15*time.Second, 3, fromPeer(vrid, false)); err != nil {
			t.Fatalf("adverts of VRID %d: %v", vrid, err)
		}
	}

	// us -> keepalived: each of our adverts, priority 50, makes the
	// keepalived master log a lower-priority advert, which it does only
	// after all its checks passed (vrrp_check_packet).
	ifindex := lbd.Index("eth0")
	for vrid, in := range insts {
		src := in.SourceAddr()
		dst := MulticastGroupIPv4
		switch {
		case len(in.Config().UnicastPeers) > 0:
			dst = in.Config().UnicastPeers[0].Addr
		case src.Is6():
			dst = MulticastGroupIPv6
		}
		msg, err := in.AppendAdvert(nil, 50, src, dst)
		if err != nil {
			t.Fatal(err)
		}
		if err := lbd.Do(func() error { return sendAdvert(src, dst, ifindex, msg) }); err != nil {
			t.Fatalf("send VRID %d: %v", vrid, err)
		}
		name := names[vrid]
		netns.Eventually(t, 10*time.Second, "keepalived "+name+" accepts our advert", func() error {
			for _, line := range strings.Split(k.Log(), "\n") {
				if strings.Contains(line, "("+name+")") && strings.Contains(line, "lower priority 50") {
					return nil
				}
			}
			return fmt.Errorf("not logged yet")
		})
	}

	// keepalived shuts down: a priority-0 advert per instance.
	if err := k.Stop(); err != nil {
		t.Logf("keepalived exit: %v", err)
	}
	for vrid := range insts {
		if _, err := capt.WaitFor(10*time.Second, fromPeer(vrid, true)); err != nil {
			t.Fatalf("priority-0 advert of VRID %d: %v\n%s", vrid, err, k.Log())
		}
	}

	// Replay what was captured, with the capture's clock, into our
	// instances: every advert validates; they stay BACKUP while keepalived
	// advertises, and take over Skew_Time after its priority-0 advert.
	started := map[uint8]bool{}
	var adv Advert
	for _, f := range capt.Matching(netns.IsVRRP) {
		if f.Outgoing || f.VLAN >= 0 {
			continue
		}
		in := insts[uint8(f.VRRP.VRID)]
		if in == nil {
			continue
		}
		var p Packet
		var r Reason
		if f.EtherType == netns.EtherTypeIPv4 {
			p, r = ParseIPv4(f.Data[14:])
		} else {
			p, r = ParseIPv6(f.Data[14:])
		}
		if r != ReasonNone {
			t.Fatalf("IP parse of %v: %v", f, r)
		}
		if vrid := uint8(f.VRRP.VRID); !started[vrid] {
			in.Start(f.Time)
			started[vrid] = true
		}
		if acts := in.Tick(f.Time); len(acts) > 0 {
			t.Errorf("VRID %d took over while keepalived advertised: %v (frame %v)", f.VRRP.VRID, acts, f)
		}
		if r := in.Validate(p, &adv); r != ReasonNone {
			t.Fatalf("VRID %d: keepalived's advert rejected: %v (%x)", f.VRRP.VRID, r, p.Payload)
		}
		in.HandleAdvert(f.Time, p.Src, &adv)
	}
	for vrid, in := range insts {
		if in.State() != StateBackup {
			t.Fatalf("VRID %d in %v after keepalived's adverts", vrid, in.State())
		}
		d, _ := in.Deadline()
		in.Tick(d)
		if st := in.Status(); st.State != StateMaster || st.LastCause != CausePriorityZero {
			t.Errorf("VRID %d: %v by %v after keepalived resigned", vrid, st.State, st.LastCause)
		}
	}
}

// fromPeer matches received adverts of vrid (only those of priority 0 with
// resigned).
func fromPeer(vrid uint8, resigned bool) netns.Filter {
	return func(f *netns.Frame) bool {
		if f.Outgoing || f.VRRP == nil || f.VRRP.VRID != int(vrid) {
			return false
		}
		return !resigned || f.VRRP.Priority == 0
	}
}

// sendAdvert sends one VRRP message as lbd's runtime is meant to: IPv4
// through a raw socket with our own header (IP_HDRINCL), IPv6 through a
// raw VRRP socket bound to the source, hop limit 255.
func sendAdvert(src, dst netip.Addr, ifindex int, msg []byte) error {
	if src.Is4() {
		pkt, err := AppendIPv4(nil, IPHeader{Src: src, Dst: dst, TTL: TTL}, msg)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
		if err != nil {
			return fmt.Errorf("raw socket: %w", err)
		}
		defer unix.Close(fd)
		if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, "eth0"); err != nil {
			return fmt.Errorf("bind to eth0: %w", err)
		}
		return unix.Sendto(fd, pkt, 0, &unix.SockaddrInet4{Addr: dst.As4()})
	}
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, ProtocolNumber)
	if err != nil {
		return fmt.Errorf("raw socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet6{Addr: src.As16(), ZoneId: uint32(ifindex)}); err != nil {
		return fmt.Errorf("bind %v: %w", src, err)
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, TTL); err != nil {
		return err
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, ifindex); err != nil {
		return err
	}
	return unix.Sendto(fd, msg, 0, &unix.SockaddrInet6{Addr: dst.As16(), ZoneId: uint32(ifindex)})
}
