// Package vrrp implements VRRP (RFC 3768 version 2 and RFC 5798 version 3,
// IPv4 and IPv6) with keepalived's behaviour where the RFCs leave room:
// the advertisement codec, receive validation, the per-instance state
// machine, and the runtime that drives it over sockets and netlink.
//
// # The pure core
//
// The core is pure: no sockets, no goroutines, no clock.
//
//   - packet.go: Advert, Parse, Advert.AppendTo/Marshal (checksums as
//     keepalived computes them), PeekVRID, ChecksumCompat.
//   - ip.go: ParseIPv4/ParseIPv6 split a whole packet into a Packet;
//     AppendIPv4/AppendIPv6 build one.
//   - validate.go: Packet, RxConfig, Validate: keepalived 2.2.7's receive
//     checks in its order, one Reason per rejection (reason.go, shared with
//     the XDP program and the metrics).
//   - config.go: Config (one vrrp_instance), DefaultConfig (keepalived's
//     defaults), Normalize (keepalived's derivations, reported), Validate,
//     RoundAdvertInterval.
//   - instance.go, state.go, timers.go: Instance, the state machine; State,
//     Cause; SkewTime, MasterDownInterval.
//
// # The runtime
//
// runtime.go, runner.go, rx.go, announce.go and metrics.go implement the
// contract below over small seams (Conn, Addresses, Announcer) that the
// daemon fills with pkg/netutil's types: Runtime, one goroutine per
// Instance, one reader per socket (demultiplexing by VRID and validating
// against a snapshot of the instance's receive rules that the instance's
// goroutine publishes), one pacer goroutine per GARP domain and family,
// fault sources (SetFault), Metrics. Two choices differ from the text
// below: IPv4 is sent without IP_HDRINCL (pkg/netutil sets TTL, TOS and
// the per-packet source with socket options; Conn.WriteTo takes the
// source), and time is the time package's, which testing/synctest
// virtualizes in the runtime's tests.
//
// Beyond single instances (event.go, syncgroup.go, runtime_reload.go):
// RuntimeOptions.OnEvent reports every transition, lower-priority advert
// received as MASTER, effective priority change and sync group transition
// (notify scripts, FIFOs, mails and virtual routes hang off it); sync
// groups (SetSyncGroups) implement keepalived's vrrp_sync_group through
// MasterGate and Force; HoldInit/Release keep an instance in INIT until its
// trackers reported; RemoveInstance, Reconfigure (Instance.Reconfigure,
// RestartReason), CloseConn and SetSyncGroups let a reload change one
// instance without touching the others.
//
// # What the runtime must do
//
// One goroutine owns each Instance. It calls Start, then loops: wait for
// the earliest of Instance.Deadline, a received packet, a tracker or sync
// group event, or shutdown; call Tick, Validate+HandleAdvert, SetFault /
// SetPriority / Force, or Shutdown with the current monotonic time; carry
// out the returned Actions in order:
//
//   - ActionSendAdvert: Instance.AppendAdvert(buf, a.Priority, src, dst)
//     with src = SourceAddr(), dst = the group (224.0.0.18 / ff02::12) or
//     each unicast peer; send with TTL/hop limit 255 (unicast: UnicastTTL
//     when set). IPv4: a raw IPPROTO_VRRP socket with IP_HDRINCL and
//     AppendIPv4, as keepalived does, so that any configured source and TTL
//     work from one socket (IP_MULTICAST_LOOP off, SO_BINDTODEVICE). IPv6: a
//     raw IPPROTO_VRRP socket; the kernel builds the header (IPV6_PKTINFO
//     for the source, IPV6_MULTICAST_HOPS / IPV6_UNICAST_HOPS 255); our
//     checksum is already right, so IPV6_CHECKSUM is not needed on send.
//   - ActionAddVIPs / ActionRemoveVIPs: netlink, Config().VIPs and
//     ExcludedVIPs with their attributes; removing an absent address is not
//     an error. With Accept off and priority below 255, also the firewall
//     rules that drop traffic to the VIPs.
//   - ActionGratuitous: Repeat GARPs (IPv4) or unsolicited NAs (IPv6) per
//     VIP, paced by GARP.Interval / GARP.NAInterval per interface (with
//     ExtraIf: one per AnnounceTarget marked ExtraIf).
//   - ActionStateChange: one Info log line (keys instance, vrid, from, to,
//     reason = Cause.String()), notify scripts, the state gauge
//     (State.Metric).
//
// Receive: IPv4 raw sockets deliver the IP header: ParseIPv4, then
// Instance.Validate (PeekVRID picks the instance when several share a
// socket). IPv6 raw sockets deliver only the VRRP message: set
// IPV6_RECVHOPLIMIT and IPV6_RECVPKTINFO and fill Packet from them. Do not
// set IPV6_CHECKSUM on the receive socket: the kernel would then drop bad
// checksums silently and they would not be counted; Validate checks them.
// Count every Reason but ReasonNone (lbd_vrrp_packets_dropped_total, label
// reason); hand accepted adverts to HandleAdvert. Packets for an instance
// in INIT or FAULT are ignored, not counted, as keepalived does.
//
// With the XDP program absorbing steady-state adverts, give the instance
// Options.LastSeen reading the master's last_seen from the map and an
// InstanceSpec.Offload (its counters join the instance's; SetRx hands it
// the receive rules and says when the instance needs every advert:
// Instance.NeedsEveryAdvert), and feed
// every ring-buffer event to Runtime.HandleAdvert as an Advert (VRID,
// version, priority, interval; addresses unneeded) from the event's
// sender. The receive series (adverts received, drops, the master's
// priority and age) then count both paths, one series each.
//
// # keepalived behaviours reproduced
//
// From keepalived 2.2.7's vrrp.c, vrrp_scheduler.c, vrrp_track.c,
// vrrp_parser.c and vrrp.h, and from the installed keepalived itself:
//
//   - Start: priority 255 with state MASTER goes MASTER at once; any other
//     combination (state MASTER on a non-owner included: measured on 2.2.7,
//     newer keepalived shortens that wait) is BACKUP for the full
//     Master_Down_Interval. No priority: 255 with state MASTER, else 100; no
//     state: MASTER for 255.
//   - Skew_Time with the effective priority; v3 from Master_Adver_Interval,
//     both in whole microseconds; down_timer_adverts (default 3) intervals.
//   - BACKUP follows adverts of priority >= its own (or any, nopreempt);
//     preempt_delay starts at the first lower-priority advert; priority 0
//     cuts the timer to Skew_Time; v3 learns the master's interval.
//   - MASTER answers lower-priority adverts with an advert unless
//     lower_prio_no_advert, plus garp_lower_prio_repeat GARPs;
//     higher_prio_send_advert; equal priority: the higher primary address
//     (unsigned compare) wins; two owners: the local one drops to 254.
//   - Fault: a MASTER resigns with priority 0; leaving FAULT re-enters
//     BACKUP (the owner with state MASTER: MASTER).
//   - Effective priority: base + weights clamped to 1..254, the owner's
//     fixed; a rising priority brings a BACKUP's timer forward.
//   - advert_int rounding: v2 half up to whole seconds (>= 1s, <= 255s),
//     v3 half up to centiseconds (10ms .. 40.95s).
//   - Receive checks and their order: see Validate. v2 interval mismatch is
//     dropped (keepalived does not count it; lbd counts advert_interval);
//     the address list is checked (count and every VIP present) except, with
//     skip_check_adv_addr, for the current master while BACKUP; unicast
//     sources are checked only with check_unicast_src; the unicast v3 IPv4
//     checksum accepts keepalived < 1.3.6's form (old_unicast_checksum).
//   - AH authentication is refused as a configuration error.
package vrrp
