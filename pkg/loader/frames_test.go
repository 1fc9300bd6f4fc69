package loader

import (
	"encoding/binary"
	"net/netip"
)

// A small builder of test frames: Ethernet, 802.1Q/802.1ad tags, IPv4 (with
// options, fragments), IPv6 (with extension headers), VRRP. Checksums are
// computed here, independently of the program (and cross-checked against
// pkg/vrrp's Marshal in golden_test.go).

var (
	macDst = []byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12}
	macSrc = []byte{0x00, 0x00, 0x5e, 0x00, 0x01, 0x0a}
)

// advert is a VRRP message to build.
type advert struct {
	version  uint8
	typ      uint8 // 0: 1 (ADVERTISEMENT)
	vrid     uint8
	prio     uint8
	count    int // -1: len(addrs)
	authType uint8
	authData string
	interval uint16 // v2 seconds, v3 centiseconds (12 bits)
	addrs    []netip.Addr
	// Checksum: computed unless badCsum; legacyDst checksums a v3/IPv4
	// message with 224.0.0.18 in the pseudo-header (keepalived < 1.3.6).
	badCsum   bool
	legacyDst bool
	truncate  int // drop this many bytes from the end
}

func (a advert) bytes(src, dst netip.Addr) []byte {
	typ := a.typ
	if typ == 0 {
		typ = 1
	}
	count := a.count
	if count < 0 {
		count = len(a.addrs)
	}
	b := []byte{a.version<<4 | typ, a.vrid, a.prio, uint8(count), 0, 0, 0, 0}
	if a.version == 2 {
		b[4], b[5] = a.authType, uint8(a.interval)
	} else {
		binary.BigEndian.PutUint16(b[4:], a.interval&0x0fff)
	}
	for _, ad := range a.addrs {
		b = append(b, ad.AsSlice()...)
	}
	if a.version == 2 && src.Is4() {
		var pw [8]byte
		copy(pw[:], a.authData)
		b = append(b, pw[:]...)
	}
	pdst := dst
	if a.legacyDst {
		pdst = netip.MustParseAddr("224.0.0.18")
	}
	var sum uint32
	if a.version == 3 || src.Is6() {
		sum = pseudoSum(src, pdst, len(b))
	}
	c := ^csumFold(sumWords(sum, b))
	if a.badCsum {
		c ^= 0x5a5a
	}
	binary.BigEndian.PutUint16(b[6:], c)
	return b[:len(b)-a.truncate]
}

func pseudoSum(src, dst netip.Addr, n int) uint32 {
	b := append(src.AsSlice(), dst.AsSlice()...)
	if src.Is4() {
		b = append(b, 0, 112, byte(n>>8), byte(n))
	} else {
		b = binary.BigEndian.AppendUint32(b, uint32(n))
		b = append(b, 0, 0, 0, 112)
	}
	return sumWords(0, b)
}

func sumWords(sum uint32, b []byte) uint32 {
	for ; len(b) >= 2; b = b[2:] {
		sum += uint32(binary.BigEndian.Uint16(b))
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

func csumFold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// tag is one VLAN tag; tpid 0 means 802.1Q.
type tag struct {
	tpid uint16
	vid  uint16
}

// ipPacket is an IP packet around a payload.
type ipPacket struct {
	src, dst netip.Addr
	ttl      uint8 // 0: 255
	proto    uint8 // 0: 112
	payload  []byte

	// IPv4
	options    []byte // appended to the header, padded to 4 bytes by the caller
	ihl        int    // override (0: computed)
	totLen     int    // override (0: computed)
	fragOff    uint16 // flags+offset field (e.g. 0x2000 MF)
	badHdrCsum bool

	// IPv6
	ext        [][]byte // extension headers: first byte is replaced by the next header
	extProtos  []uint8  // their own protocol numbers, in order
	payloadLen int      // override (0: computed)
}

func (p ipPacket) bytes() []byte {
	ttl, proto := p.ttl, p.proto
	if ttl == 0 {
		ttl = 255
	}
	if proto == 0 {
		proto = 112
	}
	if p.src.Is4() {
		hl := 20 + len(p.options)
		h := make([]byte, hl)
		ihl := p.ihl
		if ihl == 0 {
			ihl = hl / 4
		}
		h[0] = 0x40 | uint8(ihl)
		h[1] = 0xc0
		tot := p.totLen
		if tot == 0 {
			tot = hl + len(p.payload)
		}
		binary.BigEndian.PutUint16(h[2:], uint16(tot))
		binary.BigEndian.PutUint16(h[6:], p.fragOff)
		h[8], h[9] = ttl, proto
		copy(h[12:], p.src.AsSlice())
		copy(h[16:], p.dst.AsSlice())
		copy(h[20:], p.options)
		c := ^csumFold(sumWords(0, h))
		if p.badHdrCsum {
			c ^= 0x0f0f
		}
		binary.BigEndian.PutUint16(h[10:], c)
		return append(h, p.payload...)
	}
	h := make([]byte, 40)
	h[0] = 0x60
	next := proto
	var ext []byte
	for i := len(p.ext) - 1; i >= 0; i-- {
		e := append([]byte(nil), p.ext[i]...)
		e[0] = next
		next = p.extProtos[i]
		ext = append(e, ext...)
	}
	pl := p.payloadLen
	if pl == 0 {
		pl = len(ext) + len(p.payload)
	}
	binary.BigEndian.PutUint16(h[4:], uint16(pl))
	h[6], h[7] = next, ttl
	copy(h[8:], p.src.AsSlice())
	copy(h[24:], p.dst.AsSlice())
	h = append(h, ext...)
	return append(h, p.payload...)
}

// frame wraps an IP packet (or any payload with its ethertype) in Ethernet
// with tags, padded to the 60-byte minimum as a NIC would.
func frame(ethertype uint16, tags []tag, payload []byte) []byte {
	b := append(append([]byte(nil), macDst...), macSrc...)
	for _, t := range tags {
		tpid := t.tpid
		if tpid == 0 {
			tpid = 0x8100
		}
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, t.vid)
	}
	b = binary.BigEndian.AppendUint16(b, ethertype)
	b = append(b, payload...)
	for len(b) < 60 {
		b = append(b, 0)
	}
	return b
}

func ipFrame(tags []tag, p ipPacket) []byte {
	et := uint16(0x0800)
	if p.src.Is6() {
		et = 0x86dd
	}
	return frame(et, tags, p.bytes())
}

// vrrpFrame is the common case: an advert in IP in Ethernet.
func vrrpFrame(tags []tag, src, dst string, ttl uint8, a advert) []byte {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	return ipFrame(tags, ipPacket{src: s, dst: d, ttl: ttl, payload: a.bytes(s, d)})
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}
