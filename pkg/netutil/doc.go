// Package netutil performs the host side effects VRRP needs, and nothing
// else: raw VRRP sockets (IP protocol 112), virtual addresses through
// netlink, gratuitous ARP and unsolicited Neighbor Advertisements, and link
// lookups and link/address event subscriptions.
//
// It knows no VRRP message format and imports nothing of lbd: pkg/vrrp
// declares the small interfaces it needs and the types here satisfy them,
// so the protocol engine is testable without root. Every API speaks
// net/netip. All operations act on the network namespace current when the
// object was opened (lbd runs one process per namespace).
//
// # Decisions, and the keepalived facts behind them
//
// VRRP over IPv4 is sent without IP_HDRINCL. keepalived builds the IPv4
// header itself (IP_HDRINCL on its send socket), but every field it sets
// can be had from the kernel with socket options: TTL 255 for multicast
// (IP_MULTICAST_TTL) and unicast_ttl for unicast (IP_TTL, applied by the
// kernel per destination kind, no per-packet work), TOS 0xc0 (IP_TOS, what
// keepalived 2.2.7 puts on the wire), no DF bit (IP_MTU_DISCOVER =
// IP_PMTUDISC_DONT, as keepalived's frames have none) and the source
// address per packet (IP_PKTINFO ipi_spec_dst). The kernel then fills the
// header checksum and ID and refuses a source address that is not local,
// which keeps lbd from spoofing by mistake. Received IPv4 packets always
// carry their IP header on a raw socket, so the TTL and destination come
// from it; IP_PKTINFO gives the arrival interface.
//
// VRRP over IPv6 does not use IPV6_CHECKSUM. keepalived sets
// IPV6_CHECKSUM offset 6, so its kernel computes the checksum on send and
// silently drops bad ones on receive. lbd computes the checksum in Go
// (pkg/vrrp, the same code as for IPv4, pseudo-header included) and
// verifies it in Go on receive, so a bad checksum is counted under its
// reason instead of vanishing in the kernel. The caller therefore needs the
// source address before it builds a packet: [VRRPConn.Source]. Hop limit
// 255 is set for multicast and unicast_ttl (default 255) for unicast;
// traffic class 0xc0 like keepalived; IPV6_RECVHOPLIMIT and
// IPV6_RECVPKTINFO give hop limit, destination and interface per packet;
// the source is the interface's link-local address (RFC 5798 5.1.2.1)
// unless configured.
//
// Gratuitous ARP is an ARP request, as keepalived sends it
// (vrrp_arp.c, and seen on the wire from keepalived 2.2.7): Ethernet
// broadcast destination, sender hardware address the interface's MAC,
// target hardware address ff:ff:ff:ff:ff:ff, sender IP = target IP = the
// VIP, 42 bytes (no padding). The unsolicited
// NA copies keepalived's vrrp_ndisc.c: IPv6 source = the VIP itself,
// destination ff02::1 (33:33:00:00:00:01), hop limit 255, Override set,
// Solicited clear, Router set when IPv6 forwarding is on for the
// interface, a target link-layer address option, ICMPv6 checksum over the
// pseudo-header. Both are written on one AF_PACKET socket per interface,
// opened with protocol 0 so it never receives.
//
// IPv6 VIPs are added with IFA_F_NODAD unless DAD is asked for
// (keepalived's "-nodad" keyword means "do DAD", the flag is on by
// default), and a /128 gets preferred_lft 0 unless a preferred lifetime is
// given, as in keepalived's vrrp_ipaddress.c. IPv4 VIPs get no broadcast
// address unless one is given (keepalived sends none; the netlink library
// would compute one). An address that is already on the interface when the
// manager would add it is not the manager's and is never removed by it.
// keepalived differs here: at startup (not on reload) it deletes every
// configured VIP it finds on the interface ("removing VIPs", then
// re-adds them as master), treating them as leftovers of a previous run;
// [VIPManager.Adopt] lets the daemon do the same for addresses it knows
// are its own leftovers.
package netutil
