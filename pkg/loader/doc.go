// Package loader loads lbd's BPF programs (bpf/), attaches them per
// interface at the best datapath tier (XDP native, XDP generic, TC), owns
// and pins their maps, and reads them for metrics. It is the only package
// that imports cilium/ebpf and go-tc.
//
// # The VRRP filter
//
// bpf/vrrp.c is one object with two entry points sharing one core:
// xdp_vrrp (XDP) and tc_vrrp (TC ingress). For every VRRP packet of a VRID
// handed to it with SetVRID it applies pkg/vrrp.Validate's checks in
// Validate's order (bpf/vrrp.h lists them), counts the advert or the
// rejection, records the master (address, priority, interval, last seen)
// and drops the packet: the kernel never sees it. Anything else passes
// untouched: other traffic, VRRP for other VRIDs, fragments, malformed IP.
// It wakes userspace (Events) only when something changes: a new sender, a
// priority or interval change, priority 0, or any advert while this node is
// master (SetMaster).
//
// # Wiring (the daemon)
//
//	l, err := loader.Open(loader.Options{BPFFS: bpffs, Logger: log})
//	tier, err := l.Attach("eth0", mode)     // per interface; logs the choice
//	l.PruneUnclaimed()                      // after all Attach calls
//	l.ReplaceVRIDs(map[loader.VRIDKey]loader.VRIDConfig{...}) // from each instance's vrrp.RxConfig
//	l.SetAllowList(ifindex, peers)          // unicast peers / allow prefixes
//	events, err := l.Events(ctx)            // each Event -> vrrp.Runtime.HandleAdvert
//	l.ForgetMaster(key)                     // before the instances start: the next advert is an event
//	// vrrp.Options.LastSeen = func(time.Time) (time.Time, bool) { return l.LastSeen(key) }
//	// vrrp.InstanceSpec.Offload: SetEveryAdvert -> l.SetMaster(key, on); Stats <- l.VRIDStats, l.MasterInfo
//	reg.MustRegister(loader.NewCollector(l)) // passed packets, lost events
//	l.Close(graceful)                       // SIGTERM: true; restart: false
//
// A VRIDConfig is filled from pkg/vrrp.RxConfig: Version, AuthType,
// AuthData, Interval, VIPs, Unicast (len(UnicastPeers) > 0), EnforceAllow
// (CheckUnicastSrc, with the peers and their TTL range in SetAllowList),
// LocalAddr, ChecksumCompat, SkipAddrCheck. SetVRID refuses, with
// ErrNotOffloadable, what the program cannot check (AH, more than
// MaxAddrsIPv4/MaxAddrsIPv6 addresses): such an instance stays on raw
// sockets alone, which then see its adverts.
//
// Packets the program passes reach the raw sockets as without it, and are
// counted there (lbd_vrrp_packets_passed_total counts the passing). What it
// absorbs or rejects never reaches a socket: the daemon adds VRIDStats to
// the instance's own counters (pkg/vrrp's one set of series), so nothing is
// counted twice and nothing is missed. SetMaster's flag makes every
// accepted advert an event: the daemon sets it while the instance needs
// every advert (MASTER, or a BACKUP that may preempt).
//
// # Tiers
//
// ModeAuto tries XDP native, XDP generic, then TC, and settles for
// TierNone (raw sockets alone) with a log line giving each tier's error. TC
// is a tcx link where the kernel has tcx (>= 6.6), else a clsact qdisc with
// a direct-action cls_bpf filter (go-tc). A forced mode fails when its tier
// does. Re-attaching keeps what fits; changing tiers attaches the new one
// before detaching the old, except native <-> generic XDP, which the kernel
// does not allow side by side (a short gap).
//
// # Pinning and restarts
//
// With Options.BPFFS set, everything lives in BPFFS/lbd/netns-<inode of
// the network namespace>/, flock'ed by the running loader: the maps by name
// (vrrp_vrids, vrrp_master, vrrp_stats, vrrp_if_stats, vrrp_allow,
// vrrp_events), the bpf links as link_<tier>_<ifindex>, and for clsact
// the filter's program as prog_clsact_<ifindex>. Open adopts them: the new
// build's program replaces the old one inside the same link (or filter),
// the maps and their counters are reused; there is no moment without a
// program. Pins of interfaces that are gone are removed; directories of
// other namespaces that nobody holds and whose links are all dead are
// removed. Close(false) leaves everything running for the next Open;
// Close(true) detaches and unpins.
//
// Several lbd processes, one per network namespace, may share one bpffs:
// their directories differ. A second loader in the same namespace is
// refused. The loader does its netlink and attach work in the namespace it
// was opened in, whatever thread calls it.
package loader
