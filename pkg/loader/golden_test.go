package loader

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/google/go-cmp/cmp"

	"github.com/lbdproject/lbd/internal/testutil"
	"github.com/lbdproject/lbd/pkg/vrrp"
)

// Golden-packet tests: every case is a frame, the verdict, and the counters,
// master record and events expected after it, run through
// BPF_PROG_TEST_RUN on the XDP program and then, as one more pass of the
// same table, on the TC program. The VRIDs are provisioned through the
// loader's API. BPF_PROG_TEST_RUN runs a program on the loopback device
// (ingress ifindex / skb->ifindex of lo), so the keys use lo's ifindex.

// The VRIDs of the golden world.
type goldenWorld struct {
	lo                                 int
	k1, k2, k3, k4, k5, k6, k7, k8, k9 VRIDKey
}

func newGoldenWorld(t testing.TB, l *Loader) goldenWorld {
	t.Helper()
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	w := goldenWorld{lo: lo.Index}
	k := func(vlan uint16, vrid uint8, f Family) VRIDKey {
		return VRIDKey{Ifindex: lo.Index, VLAN: vlan, VRID: vrid, Family: f}
	}
	w.k1, w.k2, w.k3 = k(0, 10, IPv4), k(0, 20, IPv4), k(0, 30, IPv6)
	w.k4, w.k5, w.k6 = k(100, 10, IPv4), k(100, 30, IPv6), k(0, 40, IPv4)
	w.k7, w.k8, w.k9 = k(0, 50, IPv4), k(0, 60, IPv4), k(0, 70, IPv6)
	pw := [8]byte{'s', 'e', 'c', 'r', 'e', 't'}
	want := map[VRIDKey]VRIDConfig{
		w.k1: {Version: 2, AuthType: AuthPass, AuthData: pw, Interval: time.Second,
			VIPs: addrs("192.0.2.100", "192.0.2.101"), LocalAddr: netip.MustParseAddr("192.0.2.254")},
		w.k2: {Version: 3, Interval: time.Second, VIPs: addrs("192.0.2.200")},
		w.k3: {Version: 3, Interval: time.Second, VIPs: addrs("2001:db8::100", "2001:db8::101")},
		w.k4: {Version: 3, Interval: time.Second, VIPs: addrs("198.51.100.1")},
		w.k5: {Version: 3, Interval: time.Second, VIPs: addrs("2001:db8:1::1")},
		w.k6: {Version: 3, Interval: time.Second, VIPs: addrs("192.0.2.40"), Unicast: true, EnforceAllow: true,
			ChecksumCompat: ChecksumAuto, LocalAddr: netip.MustParseAddr("192.0.2.254")},
		w.k7: {Version: 2, Interval: 3 * time.Second, VIPs: addrs("192.0.2.50"), SkipAddrCheck: true},
		w.k8: {Version: 3, Interval: time.Second, VIPs: addrs("192.0.2.60"), Master: true},
		w.k9: {Version: 2, Interval: time.Second, VIPs: addrs("2001:db8::9")}, // keepalived's v2 over IPv6
	}
	if err := l.ReplaceVRIDs(want); err != nil {
		t.Fatal(err)
	}
	if err := l.SetAllowList(lo.Index, []AllowEntry{
		{Prefix: netip.MustParsePrefix("192.0.2.1/32"), MinTTL: 64, MaxTTL: 255},
		{Prefix: netip.MustParsePrefix("2001:db8::/64")},
	}); err != nil {
		t.Fatal(err)
	}
	return w
}

// expect is what a case should leave behind.
type expect struct {
	drop     bool
	key      VRIDKey // the VRID the packet is for (accepted or rejected)
	accepted bool
	reject   Reason // per-VRID rejection
	passed   Reason // per-interface pass counter
	master   *MasterInfo
	events   []EventKind
}

type goldenCase struct {
	name  string
	frame []byte
	want  expect
	// xdpOnly says why the TC pass cannot run the case: the kernel's skb
	// test harness refuses an IPv4/IPv6 ethertype frame whose IP header is
	// cut short (EINVAL), although such frames do reach TC ingress.
	xdpOnly string
}

func (w goldenWorld) cases() []goldenCase {
	const (
		s1, s2, s3 = "192.0.2.1", "192.0.2.2", "192.0.2.3"
		mc4, mc6   = "224.0.0.18", "ff02::12"
		ll1        = "fe80::1"
	)
	v1 := addrs("192.0.2.100", "192.0.2.101")
	k1adv := func(prio uint8) advert {
		return advert{version: 2, vrid: 10, prio: prio, count: -1, authType: 1, authData: "secret", interval: 1, addrs: v1}
	}
	mi := func(addr string, prio uint8, iv time.Duration, legacy bool) *MasterInfo {
		return &MasterInfo{Addr: netip.MustParseAddr(addr), Priority: prio, Interval: iv, LegacyChecksum: legacy}
	}
	acc := func(k VRIDKey, m *MasterInfo, ev ...EventKind) expect {
		return expect{drop: true, key: k, accepted: true, master: m, events: ev}
	}
	rej := func(k VRIDKey, r Reason) expect { return expect{drop: true, key: k, reject: r} }
	passed := func(r Reason) expect { return expect{passed: r} }
	v3 := func(vrid uint8, prio uint8, iv uint16, a []netip.Addr) advert {
		return advert{version: 3, vrid: vrid, prio: prio, count: -1, interval: iv, addrs: a}
	}
	v6addrs := addrs("2001:db8::100", "2001:db8::101")
	ip4 := func(src, dst string) (netip.Addr, netip.Addr) {
		return netip.MustParseAddr(src), netip.MustParseAddr(dst)
	}

	var cs []goldenCase
	add := func(name string, f []byte, e expect) { cs = append(cs, goldenCase{name: name, frame: f, want: e}) }

	// Accepted adverts, in an order that walks the change events.
	add("v2 ipv4 auth PASS, first advert", vrrpFrame(nil, s1, mc4, 255, k1adv(100)),
		acc(w.k1, mi(s1, 100, time.Second, false), EventNewSender))
	add("v2 ipv4 steady state: no event", vrrpFrame(nil, s1, mc4, 255, k1adv(100)),
		acc(w.k1, mi(s1, 100, time.Second, false)))
	add("v2 ipv4 priority change", vrrpFrame(nil, s1, mc4, 255, k1adv(150)),
		acc(w.k1, mi(s1, 150, time.Second, false), EventPrioChange))
	pz := acc(w.k1, mi(s1, 0, time.Second, false), EventPrioChange|EventPrioZero)
	add("v2 ipv4 priority 0", vrrpFrame(nil, s1, mc4, 255, k1adv(0)), pz)
	add("v2 ipv4 new sender", vrrpFrame(nil, s2, mc4, 255, k1adv(120)),
		acc(w.k1, mi(s2, 120, time.Second, false), EventNewSender))
	rev := k1adv(120)
	rev.addrs = addrs("192.0.2.101", "192.0.2.100")
	add("v2 ipv4 addresses in another order", vrrpFrame(nil, s2, mc4, 255, rev),
		acc(w.k1, mi(s2, 120, time.Second, false)))
	{
		s, d := ip4(s2, mc4)
		add("v2 ipv4 with IP options", ipFrame(nil, ipPacket{src: s, dst: d, options: []byte{1, 1, 1, 0}, payload: k1adv(120).bytes(s, d)}),
			acc(w.k1, mi(s2, 120, time.Second, false)))
	}
	add("v3 ipv4, first advert", vrrpFrame(nil, s1, mc4, 255, v3(20, 100, 100, addrs("192.0.2.200"))),
		acc(w.k2, mi(s1, 100, time.Second, false), EventNewSender))
	add("v3 ipv4 interval change", vrrpFrame(nil, s1, mc4, 255, v3(20, 100, 200, addrs("192.0.2.200"))),
		acc(w.k2, mi(s1, 100, 2*time.Second, false), EventIntervalChange))
	add("v3 ipv6, first advert", vrrpFrame(nil, ll1, mc6, 255, v3(30, 100, 100, v6addrs)),
		acc(w.k3, mi(ll1, 100, time.Second, false), EventNewSender))
	{
		s, d := ip4(ll1, mc6)
		hbh := []byte{0, 0, 1, 4, 0, 0, 0, 0}                          // hop-by-hop: PadN
		dst := []byte{0, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // destination options, 16 bytes
		add("v3 ipv6 with hop-by-hop and destination options", ipFrame(nil, ipPacket{src: s, dst: d,
			ext: [][]byte{hbh, dst}, extProtos: []uint8{0, 60}, payload: v3(30, 100, 100, v6addrs).bytes(s, d)}),
			acc(w.k3, mi(ll1, 100, time.Second, false)))
	}
	add("v3 ipv4 in 802.1Q vlan 100", vrrpFrame([]tag{{vid: 100}}, s1, mc4, 255, v3(10, 90, 100, addrs("198.51.100.1"))),
		acc(w.k4, mi(s1, 90, time.Second, false), EventNewSender))
	add("v3 ipv4 in 802.1Q vlan 100 with PCP and DEI bits", vrrpFrame([]tag{{vid: 0xf000 | 100}}, s1, mc4, 255, v3(10, 90, 100, addrs("198.51.100.1"))),
		acc(w.k4, mi(s1, 90, time.Second, false)))
	add("v3 ipv6 in QinQ 802.1ad 200 / 802.1Q 100", vrrpFrame([]tag{{0x88a8, 200}, {0x8100, 100}}, ll1, mc6, 255, v3(30, 80, 100, addrs("2001:db8:1::1"))),
		acc(w.k5, mi(ll1, 80, time.Second, false), EventNewSender))
	add("v3 unicast from an allowed peer", vrrpFrame(nil, s1, "192.0.2.254", 64, v3(40, 100, 100, addrs("192.0.2.40"))),
		acc(w.k6, mi(s1, 100, time.Second, false), EventNewSender))
	legacy := v3(40, 100, 100, addrs("192.0.2.40"))
	legacy.legacyDst = true
	add("v3 unicast with keepalived's pre-1.3.6 checksum", vrrpFrame(nil, s1, "192.0.2.254", 64, legacy),
		acc(w.k6, mi(s1, 100, time.Second, true), EventChecksumChange))
	add("while master: first advert", vrrpFrame(nil, s3, mc4, 255, v3(60, 200, 100, addrs("192.0.2.60"))),
		acc(w.k8, mi(s3, 200, time.Second, false), EventNewSender|EventWhileMaster))
	add("while master: every advert is an event", vrrpFrame(nil, s3, mc4, 255, v3(60, 200, 100, addrs("192.0.2.60"))),
		acc(w.k8, mi(s3, 200, time.Second, false), EventWhileMaster))
	k7 := advert{version: 2, vrid: 50, prio: 100, count: -1, interval: 3, addrs: addrs("192.0.2.50")}
	add("skip_check_adv_addr: first advert", vrrpFrame(nil, s1, mc4, 255, k7),
		acc(w.k7, mi(s1, 100, 3*time.Second, false), EventNewSender))
	k7other := k7
	k7other.addrs = addrs("192.0.2.99")
	add("skip_check_adv_addr: the recorded master's other addresses", vrrpFrame(nil, s1, mc4, 255, k7other),
		acc(w.k7, mi(s1, 100, 3*time.Second, false)))
	add("v2 over ipv6 (keepalived, no auth data)", vrrpFrame(nil, ll1, mc6, 255, advert{version: 2, vrid: 70, prio: 100, count: -1, interval: 1, addrs: addrs("2001:db8::9")}),
		acc(w.k9, mi(ll1, 100, time.Second, false), EventNewSender))

	// Rejected: dropped, counted on the VRID, no state change.
	ttl := k1adv(120)
	add("ttl 254", vrrpFrame(nil, s2, mc4, 254, ttl), rej(w.k1, Reason(vrrp.ReasonIPTTL)))
	bad := k1adv(120)
	bad.badCsum = true
	add("bad vrrp checksum", vrrpFrame(nil, s2, mc4, 255, bad), rej(w.k1, Reason(vrrp.ReasonChecksum)))
	add("v3 advert for a v2 instance", vrrpFrame(nil, s2, mc4, 255, v3(10, 120, 100, v1)), rej(w.k1, Reason(vrrp.ReasonVersion)))
	typ := k1adv(120)
	typ.typ = 2
	add("type 2", vrrpFrame(nil, s2, mc4, 255, typ), rej(w.k1, Reason(vrrp.ReasonInvalidType)))
	at := k1adv(120)
	at.authType = 3
	add("auth type 3", vrrpFrame(nil, s2, mc4, 255, at), rej(w.k1, Reason(vrrp.ReasonInvalidAuthType)))
	at.authType, at.authData = 0, ""
	add("auth type none for a PASS instance", vrrpFrame(nil, s2, mc4, 255, at), rej(w.k1, Reason(vrrp.ReasonAuthTypeMismatch)))
	wp := k1adv(120)
	wp.authData = "secreT"
	add("wrong password", vrrpFrame(nil, s2, mc4, 255, wp), rej(w.k1, Reason(vrrp.ReasonAuthFailure)))
	iv := k1adv(120)
	iv.interval = 2
	add("v2 interval 2s for 1s", vrrpFrame(nil, s2, mc4, 255, iv), rej(w.k1, Reason(vrrp.ReasonAdvertInterval)))
	one := k1adv(120)
	one.addrs = v1[:1]
	add("one address for two", vrrpFrame(nil, s2, mc4, 255, one), rej(w.k1, Reason(vrrp.ReasonAddrList)))
	cnt := k1adv(120)
	cnt.count, cnt.addrs = 2, v1[:1]
	add("count 2 with one address", vrrpFrame(nil, s2, mc4, 255, cnt), rej(w.k1, Reason(vrrp.ReasonPacketLen)))
	other := k1adv(120)
	other.addrs = addrs("192.0.2.100", "192.0.2.102")
	add("other addresses", vrrpFrame(nil, s2, mc4, 255, other), rej(w.k1, Reason(vrrp.ReasonAddrList)))
	add("own address", vrrpFrame(nil, "192.0.2.254", mc4, 255, k1adv(120)), rej(w.k1, Reason(vrrp.ReasonOwnAddress)))
	add("unicast destination in multicast mode", vrrpFrame(nil, s1, "192.0.2.254", 255, v3(20, 100, 200, addrs("192.0.2.200"))),
		rej(w.k2, Reason(vrrp.ReasonAddrList)))
	add("v3 interval 0", vrrpFrame(nil, s1, mc4, 255, v3(20, 100, 0, addrs("192.0.2.200"))), rej(w.k2, Reason(vrrp.ReasonAdvertInterval)))
	many := make([]netip.Addr, 100)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
	}
	add("100 addresses (beyond the datapath's 80)", vrrpFrame(nil, s1, mc4, 255, v3(20, 100, 200, many)), rej(w.k2, Reason(vrrp.ReasonAddrList)))
	add("unicast: sender not allowed", vrrpFrame(nil, "192.0.2.9", "192.0.2.254", 64, v3(40, 100, 100, addrs("192.0.2.40"))),
		rej(w.k6, Reason(vrrp.ReasonSenderNotAllowed)))
	add("unicast: allowed sender below its min ttl", vrrpFrame(nil, s1, "192.0.2.254", 10, v3(40, 100, 100, addrs("192.0.2.40"))),
		rej(w.k6, Reason(vrrp.ReasonIPTTL)))
	add("unicast: multicast destination", vrrpFrame(nil, s1, mc4, 255, v3(40, 100, 100, addrs("192.0.2.40"))),
		rej(w.k6, Reason(vrrp.ReasonAddrList)))
	add("skip_check_adv_addr: another sender's other addresses", vrrpFrame(nil, s3, mc4, 255, k7other), rej(w.k7, Reason(vrrp.ReasonAddrList)))
	b6 := v3(30, 100, 100, v6addrs)
	b6.badCsum = true
	add("v3 ipv6 bad checksum", vrrpFrame(nil, ll1, mc6, 255, b6), rej(w.k3, Reason(vrrp.ReasonChecksum)))
	add("v3 ipv6 hop limit 64", vrrpFrame(nil, ll1, mc6, 64, v3(30, 100, 100, v6addrs)), rej(w.k3, Reason(vrrp.ReasonIPTTL)))

	// VRRP the program leaves to the kernel, counted per interface.
	add("unknown vrid", vrrpFrame(nil, s1, mc4, 255, v3(99, 100, 100, addrs("192.0.2.9"))), passed(Reason(vrrp.ReasonVRIDUnknown)))
	add("vrid known on another vlan", vrrpFrame([]tag{{vid: 300}}, s1, mc4, 255, v3(10, 100, 100, addrs("198.51.100.1"))), passed(Reason(vrrp.ReasonVRIDUnknown)))
	{
		s, d := ip4(s2, mc4)
		p := ipPacket{src: s, dst: d, payload: k1adv(120).bytes(s, d)}
		mf := p
		mf.fragOff = 0x2000
		add("ipv4 first fragment (MF)", ipFrame(nil, mf), passed(Reason(vrrp.ReasonFragment)))
		off := p
		off.fragOff = 0x0003
		add("ipv4 later fragment (offset)", ipFrame(nil, off), passed(Reason(vrrp.ReasonFragment)))
		df := p
		df.fragOff = 0x4000
		add("ipv4 DF is not a fragment", ipFrame(nil, df), acc(w.k1, mi(s2, 120, time.Second, false)))
		hc := p
		hc.badHdrCsum = true
		add("ipv4 header checksum", ipFrame(nil, hc), passed(Reason(vrrp.ReasonChecksum)))
		tl := p
		tl.totLen = 200
		add("ipv4 total length beyond the frame", ipFrame(nil, tl), passed(Reason(vrrp.ReasonPacketLen)))
		ihl := p
		ihl.ihl = 4
		add("ipv4 ihl 4", ipFrame(nil, ihl), passed(Reason(vrrp.ReasonPacketLen)))
		short := p
		short.payload = short.payload[:6]
		add("vrrp message of 6 bytes", ipFrame(nil, short), passed(Reason(vrrp.ReasonPacketLen)))
	}
	{
		s, d := ip4(ll1, mc6)
		p := ipPacket{src: s, dst: d, payload: v3(30, 100, 100, v6addrs).bytes(s, d)}
		fr := p
		fr.ext, fr.extProtos = [][]byte{{0, 0, 0, 1, 0, 0, 0, 42}}, []uint8{44}
		add("ipv6 fragment header", ipFrame(nil, fr), passed(Reason(vrrp.ReasonFragment)))
		pl := p
		pl.payloadLen = 300
		add("ipv6 payload beyond the frame", ipFrame(nil, pl), passed(Reason(vrrp.ReasonPacketLen)))
	}

	// Not VRRP: passed untouched, nothing counted.
	add("arp", frame(0x0806, nil, make([]byte, 28)), expect{})
	add("lldp", frame(0x88cc, nil, make([]byte, 40)), expect{})
	for _, proto := range []uint8{6, 17, 51, 1} {
		s, d := ip4(s1, "192.0.2.254")
		add(fmt.Sprintf("ipv4 protocol %d", proto), ipFrame(nil, ipPacket{src: s, dst: d, ttl: 64, proto: proto, payload: make([]byte, 20)}), expect{})
	}
	for _, proto := range []uint8{6, 58, 50, 51, 59} {
		s, d := ip4("2001:db8::1", "2001:db8::2")
		add(fmt.Sprintf("ipv6 next header %d", proto), ipFrame(nil, ipPacket{src: s, dst: d, ttl: 64, proto: proto, payload: make([]byte, 20)}), expect{})
	}
	{
		s, d := ip4("2001:db8::1", "2001:db8::2")
		add("ipv6 hop-by-hop then tcp", ipFrame(nil, ipPacket{src: s, dst: d, proto: 6, ext: [][]byte{{0, 0, 1, 4, 0, 0, 0, 0}}, extProtos: []uint8{0}, payload: make([]byte, 20)}), expect{})
	}
	add("three vlan tags", vrrpFrame([]tag{{0x88a8, 1}, {0x8100, 2}, {0x8100, 100}}, s1, mc4, 255, v3(10, 90, 100, addrs("198.51.100.1"))), expect{})
	{
		f := vrrpFrame(nil, s1, mc4, 255, v3(20, 100, 200, addrs("192.0.2.200")))
		f[14] = 0x55 // IP version 5 behind ethertype IPv4
		add("ipv4 ethertype, version 5", f, expect{})
	}

	// Truncated at every header: passed; counted once the IP header shows
	// VRRP whose length the frame does not hold.
	trunc := func(name string, f []byte, countFrom int, tagged bool) {
		for n := 14; n < len(f); n++ {
			e := expect{}
			if n >= countFrom {
				e.passed = Reason(vrrp.ReasonPacketLen)
			}
			add(fmt.Sprintf("%s truncated to %d bytes", name, n), f[:n], e)
			if !tagged && n < countFrom {
				cs[len(cs)-1].xdpOnly = "skb test harness refuses a short IP header"
			}
		}
	}
	trunc("v2 ipv4", vrrpFrame(nil, s3, mc4, 255, k1adv(1))[:14+20+24], 14+20, false)
	trunc("v3 ipv4 in vlan", vrrpFrame([]tag{{vid: 100}}, s3, mc4, 255, v3(10, 1, 100, addrs("198.51.100.1")))[:18+20+12], 18+20, true)
	trunc("v3 ipv6", vrrpFrame(nil, "fe80::3", mc6, 255, v3(30, 1, 100, v6addrs))[:14+40+40], 14+40, false)
	return cs
}

func TestGolden(t *testing.T) {
	testutil.RequireRoot(t)
	l, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(true)
	w := newGoldenWorld(t, l)
	cases := w.cases()

	for _, p := range []struct {
		name       string
		prog       *ebpf.Program
		pass, drop uint32
	}{
		{"xdp", l.objs.XdpVrrp, 2, 1},        // XDP_PASS, XDP_DROP
		{"tc", l.objs.TcVrrp, 0xffffffff, 2}, // TC_ACT_UNSPEC, TC_ACT_SHOT
	} {
		t.Run(p.name, func(t *testing.T) {
			clearMasters(t, l)
			rd, err := ringbuf.NewReader(l.objs.VrrpEvents)
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			readEvents(t, rd)
			notRun := 0
			for _, c := range cases {
				if p.name == "tc" && c.xdpOnly != "" {
					notRun++
					continue
				}
				t.Run(c.name, func(t *testing.T) { runGolden(t, l, rd, w, p.prog, p.pass, p.drop, c) })
			}
			if notRun > 0 {
				t.Logf("%d of %d cases are XDP-only (the skb test harness refuses IP frames with a short IP header)", notRun, len(cases))
			}
		})
	}
}

func runGolden(t *testing.T, l *Loader, rd *ringbuf.Reader, w goldenWorld, prog *ebpf.Program, pass, drop uint32, c goldenCase) {
	before, err := l.Stats()
	if err != nil {
		t.Fatal(err)
	}
	mBefore := dumpMasters(t, l)
	out := make([]byte, len(c.frame)+256)
	ret, err := prog.Run(&ebpf.RunOptions{Data: c.frame, DataOut: out})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	wantRet := pass
	if c.want.drop {
		wantRet = drop
	}
	if ret != wantRet {
		t.Errorf("verdict %d, want %d", int32(ret), int32(wantRet))
	}
	if !bytes.Equal(out[:len(c.frame)], c.frame) {
		t.Errorf("frame changed:\n got %x\nwant %x", out[:len(c.frame)], c.frame)
	}

	after, err := l.Stats()
	if err != nil {
		t.Fatal(err)
	}
	wantDelta := Stats{VRIDs: map[VRIDKey]VRIDStats{}, Interfaces: map[int]IfaceStats{}}
	if c.want.key != (VRIDKey{}) {
		var s VRIDStats
		if c.want.accepted {
			s.Accepted = 1
			if c.want.master != nil && c.want.master.Priority == 0 {
				s.PriorityZero = 1
			}
		} else {
			s.Rejected[c.want.reject] = 1
		}
		wantDelta.VRIDs[c.want.key] = s
	}
	if c.want.passed != 0 {
		var s IfaceStats
		s.Passed[c.want.passed] = 1
		wantDelta.Interfaces[w.lo] = s
	}
	if d := cmp.Diff(wantDelta, statsDelta(before, after)); d != "" {
		t.Errorf("counters (-want +got):\n%s", d)
	}

	mAfter := dumpMasters(t, l)
	if c.want.accepted {
		got, ok := l.MasterInfo(c.want.key)
		if !ok {
			t.Fatalf("no master recorded for %s", c.want.key)
		}
		m := *c.want.master
		if got.Addr != m.Addr || got.Priority != m.Priority || got.Interval != m.Interval || got.LegacyChecksum != m.LegacyChecksum {
			t.Errorf("master %+v, want addr %v priority %d interval %v legacy %v", got, m.Addr, m.Priority, m.Interval, m.LegacyChecksum)
		}
		if age := time.Since(got.LastSeen); age < -time.Second || age > time.Minute {
			t.Errorf("master last seen %v ago", age)
		}
		if _, alive := l.LastSeen(c.want.key); alive != (m.Priority != 0) {
			t.Errorf("LastSeen ok = %v with priority %d", alive, m.Priority)
		}
		delete(mBefore, c.want.key)
		delete(mAfter, c.want.key)
	}
	if d := cmp.Diff(mBefore, mAfter); d != "" {
		t.Errorf("other master records changed (-before +after):\n%s", d)
	}

	evs := readEvents(t, rd)
	var kinds []EventKind
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
		if e.Key != c.want.key || (c.want.master != nil && e.Addr != c.want.master.Addr) {
			t.Errorf("event %+v for the wrong key or sender", e)
		}
	}
	if d := cmp.Diff(c.want.events, kinds); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}

func statsDelta(a, b Stats) Stats {
	d := Stats{VRIDs: map[VRIDKey]VRIDStats{}, Interfaces: map[int]IfaceStats{}}
	for k, v := range b.VRIDs {
		o := a.VRIDs[k]
		x := VRIDStats{Accepted: v.Accepted - o.Accepted, PriorityZero: v.PriorityZero - o.PriorityZero}
		for r := range x.Rejected {
			x.Rejected[r] = v.Rejected[r] - o.Rejected[r]
		}
		if x != (VRIDStats{}) {
			d.VRIDs[k] = x
		}
	}
	for k, v := range b.Interfaces {
		o := a.Interfaces[k]
		x := IfaceStats{EventsLost: v.EventsLost - o.EventsLost}
		for r := range x.Passed {
			x.Passed[r] = v.Passed[r] - o.Passed[r]
		}
		if x != (IfaceStats{}) {
			d.Interfaces[k] = x
		}
	}
	return d
}

func dumpMasters(t testing.TB, l *Loader) map[VRIDKey]bpfVrrpMaster {
	t.Helper()
	out := map[VRIDKey]bpfVrrpMaster{}
	for k, slot := range l.slots {
		var v bpfVrrpMaster
		if err := l.objs.VrrpMaster.LookupWithFlags(slot, &v, ebpf.LookupLock); err != nil {
			t.Fatal(err)
		}
		if v.Family != 0 {
			out[k] = v
		}
	}
	return out
}

func clearMasters(t testing.TB, l *Loader) {
	t.Helper()
	for _, slot := range l.slots {
		if err := l.objs.VrrpMaster.Put(slot, bpfVrrpMaster{}); err != nil {
			t.Fatal(err)
		}
	}
}

// readEvents returns the events in the ring buffer now, without waiting:
// the program submits them before BPF_PROG_TEST_RUN returns.
func readEvents(t *testing.T, rd *ringbuf.Reader) []Event {
	t.Helper()
	var out []Event
	rd.SetDeadline(time.Now())
	for {
		rec, err := rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		ev, ok := decodeEvent(rec.RawSample)
		if !ok {
			t.Fatalf("undecodable event %x", rec.RawSample)
		}
		out = append(out, ev)
	}
}

// TestBuilderMatchesVRRP cross-checks the test frame builder against
// pkg/vrrp's codec: same bytes, checksums included.
func TestBuilderMatchesVRRP(t *testing.T) {
	pw := [8]byte{'s', 'e', 'c', 'r', 'e', 't'}
	for _, c := range []struct {
		name     string
		src, dst string
		ours     advert
		theirs   vrrp.Advert
	}{
		{"v2 ipv4 PASS", "192.0.2.1", "224.0.0.18",
			advert{version: 2, vrid: 10, prio: 100, count: -1, authType: 1, authData: "secret", interval: 1, addrs: addrs("192.0.2.100", "192.0.2.101")},
			vrrp.Advert{Version: 2, Type: 1, VRID: 10, Priority: 100, AuthType: vrrp.AuthPass, AuthData: pw, Interval: time.Second, Addrs: addrs("192.0.2.100", "192.0.2.101")}},
		{"v3 ipv4", "192.0.2.1", "224.0.0.18",
			advert{version: 3, vrid: 20, prio: 100, count: -1, interval: 100, addrs: addrs("192.0.2.200")},
			vrrp.Advert{Version: 3, Type: 1, VRID: 20, Priority: 100, Interval: time.Second, Addrs: addrs("192.0.2.200")}},
		{"v3 ipv4 unicast legacy checksum", "192.0.2.1", "192.0.2.254",
			advert{version: 3, vrid: 40, prio: 100, count: -1, interval: 100, addrs: addrs("192.0.2.40"), legacyDst: true},
			vrrp.Advert{Version: 3, Type: 1, VRID: 40, Priority: 100, Interval: time.Second, Addrs: addrs("192.0.2.40"), LegacyChecksum: true}},
		{"v3 ipv6", "fe80::1", "ff02::12",
			advert{version: 3, vrid: 30, prio: 100, count: -1, interval: 100, addrs: addrs("2001:db8::100", "2001:db8::101")},
			vrrp.Advert{Version: 3, Type: 1, VRID: 30, Priority: 100, Interval: time.Second, Addrs: addrs("2001:db8::100", "2001:db8::101")}},
		{"v2 ipv6", "fe80::1", "ff02::12",
			advert{version: 2, vrid: 70, prio: 100, count: -1, interval: 1, addrs: addrs("2001:db8::9")},
			vrrp.Advert{Version: 2, Type: 1, VRID: 70, Priority: 100, Interval: time.Second, Addrs: addrs("2001:db8::9")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, d := netip.MustParseAddr(c.src), netip.MustParseAddr(c.dst)
			want, err := c.theirs.Marshal(s, d)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.ours.bytes(s, d); !bytes.Equal(got, want) {
				t.Errorf("builder %x, pkg/vrrp %x", got, want)
			}
		})
	}
}
