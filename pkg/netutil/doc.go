// Package netutil performs the host side effects VRRP needs, and nothing
// else: raw VRRP sockets (IP protocol 112), virtual addresses through
// netlink, gratuitous ARP and unsolicited Neighbor Advertisements, link
// lookups and link/address event subscriptions, VMAC interfaces, and
// virtual and static routes and rules.
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
//
// # VMAC interfaces
//
// [VMACManager] makes what keepalived 2.2.7 makes for use_vmac
// (vrrp_vmac.c, vrrp_if_config.c; compared setting by setting with the
// real keepalived in TestVMACLikeKeepalived): a macvlan in private mode
// on the instance's interface, named vmac_prefix.VRID ("vrrp.51"; a
// clashing later instance gets "vrrp6.51" for IPv6, "vrrp1.51" for
// IPv4, see [VMACName]), with MAC 00:00:5e:00:01:VRID or, for IPv6,
// 00:00:5e:00:02:VRID, and addr_gen_mode none. Private mode is the point:
// the other router's adverts come from the same virtual MAC, and the
// kernel delivers a frame from a local macvlan's MAC to that macvlan
// only, so a backup hears the master on its VMAC (TestVMACAdverts).
// Adverts are sent and received on the VMAC, or on the base with
// vmac_xmit_base: [VMAC.AdvertIndex]. An IPv4 VMAC carries only VIPs, so
// its VRRP socket needs the base's primary address as source, as
// keepalived sends; an IPv6 VMAC gets the base's link-local address
// (nodad, deprecated; one made from the base's MAC if the base has none)
// and sends from it. Sysctls and their restoring are on [VMACManager].
// A VMAC left by a previous run with the right base and MAC is adopted
// (and set up again: keepalived 2.2.7 leaves an adopted VMAC down), a
// stale one with another VRID's MAC is replaced, anything else of that
// name is an error and untouched. Deviations from keepalived 2.2.7, all
// seen on its VMACs: lbd sets arp_ignore=1 on IPv6 VMACs too (keepalived's
// answer ARP for the host's IPv4 addresses with the IPv6 virtual MAC),
// and restores the base's arp_ignore and arp_filter when the base's last
// IPv4 VMAC goes (keepalived 2.2.7 leaves them at 1). No nftables: the
// IGMP/MLD filtering keepalived adds on VMACs is not done here.
//
// # Routes and rules
//
// [Route] and [Rule] carry every attribute of keepalived's
// virtual_routes, static_routes, virtual_rules and static_rules that
// netlink can express, encoded here (the netlink library lacks an IPv6
// route's source prefix, RTA_PREF, RTA_EXPIRES, most metric locks,
// nexthop realms and FRA_L3MDEV) and sent on the [Host]'s own socket; a
// refusal comes back as a [KernelError] with the kernel's extended-ack
// reason. As keepalived: protocol "keepalived" (18) unless given, routes
// prepended unless "append" (or "add": [RouteExclusive]), and global
// scope for a unicast route without gateway (iproute2 would say link).
// Unlike keepalived 2.2.7, local and nat routes get host scope (keepalived
// sends global, which the kernel refuses), rtt, rttvar and rto_min keep
// the value given (keepalived lifts them to 200ms), and an IPv4 route may
// have an IPv6 gateway (RTA_VIA). TestRoutesRulesLikeKeepalived checks
// that the same lines leave the same kernel state under both. Not
// supported: encap (lightweight tunnels) and ttl-propagate (MPLS); a
// route's vrf resolves to a table with [Host.VRFTable].
// [RouteManager] and [RuleManager] remove only what they added: a route
// or rule identical to one already there is foreign.
//
// # From pkg/config
//
// The daemon's translation is mechanical: names (table, protocol, scope,
// realms, tos, suppress_ifgroup) through [RTNames]; route type, pref, rule
// action, ports, uidrange and ipproto through [ParseRouteType],
// [ParseRoutePref], [ParseRuleAction], [ParsePortRange],
// [ParseUIDRange] and [ParseIPProto]; each entry of Route.Metrics with
// [Route.SetMetric] (it takes "expires" too); dev to an ifindex with
// [Host.LinkByName]; Append to [RouteAppend]; FromAll/ToAll to zero
// prefixes; use_vmac's name with [VMACName] and its MAC with
// [ParseVMACAddr]. Every error names the attribute, for a file:line
// warning.
//
// None of this is on a hot path: no benchmarks for VMACs, routes or
// rules.
package netutil
