package loader

import (
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/lbdproject/lbd/internal/testutil"
)

// Per-packet cost of the programs through BPF_PROG_TEST_RUN, 1,000,000
// repetitions per run (the kernel's per-call setup, ~32 ms of
// synchronize_rcu, is then negligible), reported as ns/pkt next to a
// minimal XDP_PASS program measured the same way (the harness floor).
//
//	go test -run '^$' -bench 'XDP|TC' ./pkg/loader
const benchRepeat = 1_000_000

type benchClass struct {
	name  string
	frame []byte
}

func benchClasses() []benchClass {
	k1 := advert{version: 2, vrid: 10, prio: 100, count: -1, authType: 1, authData: "secret", interval: 1,
		addrs: addrs("192.0.2.100", "192.0.2.101")}
	badpw := k1
	badpw.authData = "wrong"
	v3 := func(vrid uint8, a []netip.Addr) advert {
		return advert{version: 3, vrid: vrid, prio: 100, count: -1, interval: 100, addrs: a}
	}
	tcp4 := ipPacket{src: netip.MustParseAddr("198.51.100.7"), dst: netip.MustParseAddr("192.0.2.254"), ttl: 64, proto: 6, payload: make([]byte, 20)}
	udp6 := ipPacket{src: netip.MustParseAddr("2001:db8::7"), dst: netip.MustParseAddr("2001:db8::1"), ttl: 64, proto: 17, payload: make([]byte, 8)}
	return []benchClass{
		{"v2_ipv4_accept", vrrpFrame(nil, "192.0.2.1", "224.0.0.18", 255, k1)},
		{"v3_ipv4_accept", vrrpFrame(nil, "192.0.2.1", "224.0.0.18", 255, v3(20, addrs("192.0.2.200")))},
		{"v3_ipv6_accept", vrrpFrame(nil, "fe80::1", "ff02::12", 255, v3(30, addrs("2001:db8::100", "2001:db8::101")))},
		{"v3_ipv4_vlan_accept", vrrpFrame([]tag{{vid: 100}}, "192.0.2.1", "224.0.0.18", 255, v3(10, addrs("198.51.100.1")))},
		{"v3_ipv4_unicast_allowlist_accept", vrrpFrame(nil, "192.0.2.1", "192.0.2.254", 64, v3(40, addrs("192.0.2.40")))},
		{"v2_ipv4_reject_auth", vrrpFrame(nil, "192.0.2.1", "224.0.0.18", 255, badpw)},
		{"v2_ipv4_reject_ttl", vrrpFrame(nil, "192.0.2.1", "224.0.0.18", 64, k1)},
		{"vrrp_unknown_vrid_pass", vrrpFrame(nil, "192.0.2.1", "224.0.0.18", 255, v3(99, addrs("192.0.2.9")))},
		{"ipv4_tcp_pass", ipFrame(nil, tcp4)},
		{"ipv6_udp_pass", ipFrame(nil, udp6)},
		{"arp_pass", frame(0x0806, nil, make([]byte, 28))},
	}
}

func benchProg(b *testing.B, p *ebpf.Program, frame []byte) {
	b.Helper()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		_, d, err := p.Benchmark(frame, benchRepeat, nil)
		if err != nil {
			b.Fatal(err)
		}
		total += d
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/pkt")
}

func benchLoader(b *testing.B) *Loader {
	b.Helper()
	testutil.RequireRoot(b)
	l, err := Open(Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close(true) })
	newGoldenWorld(b, l)
	return l
}

func benchmarkPrograms(b *testing.B, name string) {
	l := benchLoader(b)
	prog := l.objs.XdpVrrp
	if name == "tc" {
		prog = l.objs.TcVrrp
	}
	// The floor: the cheapest program of the same type.
	ret := asm.Return()
	typ, code := ebpf.XDP, int32(2) // XDP_PASS
	if name == "tc" {
		typ, code = ebpf.SchedCLS, -1 // TC_ACT_UNSPEC
	}
	floor, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         typ,
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, code), ret},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer floor.Close()
	classes := benchClasses()
	b.Run("floor_pass", func(b *testing.B) { benchProg(b, floor, classes[0].frame) })
	for _, c := range classes {
		// The first run records the master: what follows is the steady state.
		if _, _, err := prog.Test(c.frame); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) { benchProg(b, prog, c.frame) })
	}
}

func BenchmarkXDP(b *testing.B) { benchmarkPrograms(b, "xdp") }
func BenchmarkTC(b *testing.B)  { benchmarkPrograms(b, "tc") }
