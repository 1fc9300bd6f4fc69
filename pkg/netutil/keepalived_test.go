package netutil

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/lbdproject/lbd/internal/netns"
	"github.com/lbdproject/lbd/internal/testutil"
)

// TestReceiveFromKeepalived: our sockets read a real keepalived's adverts
// (IPv4 built by keepalived with IP_HDRINCL, IPv6 checksummed by its
// kernel through IPV6_CHECKSUM) with the right source, destination, TTL
// and interface, and the IPv6 checksum verifies the way pkg/vrrp checks it
// (pseudo-header, RFC 5798 5.2.8).
func TestReceiveFromKeepalived(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	r4 := openVRRP(t, p.b, VRRPOptions{IfIndex: p.bIf.Index, Family: FamilyIPv4})
	r6 := openVRRP(t, p.b, VRRPOptions{IfIndex: p.bIf.Index, Family: FamilyIPv6})
	testutil.RequireCommand(t, "keepalived")
	netns.Keepalived(t, p.a.h, fmt.Sprintf(`global_defs {
	router_id %[1]s
}
vrrp_instance V4 {
	state MASTER
	interface %[1]s
	virtual_router_id 51
	priority 150
	advert_int 1
	virtual_ipaddress {
		192.0.2.100/24
	}
}
vrrp_instance V6 {
	state MASTER
	interface %[1]s
	virtual_router_id 52
	priority 150
	advert_int 1
	virtual_ipaddress {
		2001:db8::100/64
	}
}
`, p.aName), netns.KeepalivedOptions{VRRPOnly: true})

	got4 := readOne(t, r4)
	if got4.Src != addrA4 || got4.Dst != GroupIPv4 || got4.TTL != 255 || got4.IfIndex != p.bIf.Index {
		t.Fatalf("keepalived ipv4 advert: %+v", summary(got4))
	}
	if v := got4.Payload; len(v) < 8 || v[0] != 0x21 || v[1] != 51 {
		t.Fatalf("keepalived ipv4 payload % x: want a VRRPv2 advert for VRID 51", v)
	}
	if got4.Header[1] != 0xc0 {
		t.Fatalf("keepalived tos %#x: the package documentation says 0xc0", got4.Header[1])
	}

	got6 := readOne(t, r6)
	if got6.Src != p.aLL || got6.Dst != GroupIPv6 || got6.TTL != 255 || got6.IfIndex != p.bIf.Index {
		t.Fatalf("keepalived ipv6 advert: %+v", summary(got6))
	}
	v := got6.Payload
	if len(v) < 8 || v[0] != 0x31 || v[1] != 52 {
		t.Fatalf("keepalived ipv6 payload % x: want a VRRPv3 advert for VRID 52", v)
	}
	sum := pseudoHeaderSum(got6.Src.As16(), got6.Dst.As16(), uint32(len(v)), ProtoVRRP)
	if c := foldSum(onesSum(sum, v)); c != 0 {
		t.Fatalf("keepalived ipv6 checksum %#04x does not verify (residue %#04x)", binary.BigEndian.Uint16(v[6:8]), c)
	}
}
