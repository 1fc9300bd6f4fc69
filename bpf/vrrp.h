/*
 * vrrp.h: VRRP constants, the structs shared with userspace (pkg/loader, via
 * bpf2go), the reject reasons, and the receive rules the XDP/TC program
 * applies. Byte order is stated per field: "net" = network order as on the
 * wire, "host" = the CPU's order (little endian: we build bpfel only).
 *
 * VERDICTS
 *   PASS (XDP_PASS / TC_ACT_UNSPEC): anything that is not VRRP (IP protocol
 *     112), that we cannot parse (truncated/malformed Ethernet, VLAN or IP
 *     headers, unknown IPv6 extension headers), IP fragments, IPv4 packets
 *     whose header checksum is wrong, and VRRP packets for a VRID that is
 *     not configured for (ifindex, vlan, family). The kernel and the
 *     raw-socket path see those untouched. Where the packet is recognisably
 *     VRRP, the pass is counted per interface (vrrp_if_stats) by reason.
 *     TC uses TC_ACT_UNSPEC rather than TC_ACT_OK so that later tcx
 *     programs and cls filters still run.
 *   DROP (XDP_DROP / TC_ACT_SHOT): VRRP packets for a configured VRID,
 *     either accepted (fully handled here: recorded in vrrp_master, counted,
 *     an event when something changed) or rejected (counted by reason in
 *     vrrp_stats).
 *
 * RECEIVE CHECKS, in this order (the first failing one is the reason). They
 * are pkg/vrrp's Validate (validate.go), which follows keepalived 2.2.7's
 * vrrp_check_packet; the numbers below are Validate's. Keep both in step.
 *   IP layer (failures PASS, counted per interface in vrrp_if_stats):
 *     IPv4: version 4, IHL >= 5, header in the frame, header checksum (the
 *       kernel drops bad ones before a raw socket sees them), total length
 *       >= IHL*4 and within the frame, not a fragment (MF or offset:
 *       VRRP_R_FRAGMENT, the kernel reassembles). Options are skipped.
 *     IPv6: version 6, payload within the frame, hop-by-hop / routing /
 *       destination options headers (at most VRRP_MAX_EXTHDRS) skipped, a
 *       fragment header carrying VRRP -> VRRP_R_FRAGMENT, anything else
 *       (AH, ESP, unknown) passed uncounted.
 *  1. (family: part of the key, VRRP_R_FAMILY never occurs here)
 *  2. message of at least 8 bytes, else VRRP_R_PACKET_LEN (PASS: not
 *     attributed to a VRID, as Validate checks the length first)
 *  3. (ifindex, innermost VLAN id, VRID, family) in vrrp_vrids, else
 *     VRRP_R_VRID_UNKNOWN (PASS: another router on this host, or a
 *     raw-socket-only instance, may own it)
 *   For a configured VRID, failures DROP, counted in vrrp_stats:
 *  4. length == 8 + count * (4|16), + 8 authentication bytes when the
 *     header's version is 2 over IPv4, by the IP lengths  VRRP_R_PACKET_LEN
 *     (a count beyond VRRP_MAX_ADDRS4/6: VRRP_R_ADDR_LIST, an lbd limit)
 *  5. multicast mode (no VRRP_CFG_UNICAST): TTL / hop limit == 255
 *     (RFC 3768 7.1, RFC 5798 7.1)                       VRRP_R_IP_TTL
 *  6. version == configured                              VRRP_R_VERSION
 *  7. v2: a. auth type 0, 1 or 2                         VRRP_R_INVALID_AUTHTYPE
 *         b. auth type == configured                     VRRP_R_AUTHTYPE_MISMATCH
 *         c. PASS over IPv4: the 8 bytes == auth_pass    VRRP_R_AUTH_FAILURE
 *         d. interval (s) * 100 == adver_int_cs          VRRP_R_ADVERT_INTERVAL
 *  8. type == 1 (ADVERTISEMENT)                          VRRP_R_INVALID_TYPE
 *  9. [addr check] count == configured                   VRRP_R_ADDR_LIST
 * 10. checksum: v2/IPv4 over the message; v3, and any IPv6 message, with
 *     the IPv4 / IPv6 pseudo-header (RFC 5798 5.2.8, RFC 8200 8.1; IPv6
 *     routing headers are not followed). v3/IPv4 to a unicast destination may use keepalived's
 *     pre-1.3.6 form (pseudo-header destination 224.0.0.18): accepted as
 *     well with VRRP_CFG_CSUM_ALT, only it with VRRP_CFG_CSUM_ALT_ONLY
 *     (pkg/vrrp ChecksumAuto / ChecksumLegacy)            VRRP_R_CHECKSUM
 * 11. destination multicast iff not VRRP_CFG_UNICAST     VRRP_R_ADDR_LIST
 * 12. source != own_addr (when set)                      VRRP_R_OWN_ADDRESS
 * 13. v3: interval != 0                                  VRRP_R_ADVERT_INTERVAL
 * 14. [addr check] the multiset of addresses == configured (order free;
 *     compared by vrrp_addr_hash: Validate checks that every configured
 *     address is present, which is the same when neither list repeats an
 *     address)                                           VRRP_R_ADDR_LIST
 * 15. [addr check] VRRP_CFG_ENFORCE_ALLOW: the source matches vrrp_allow
 *     for the ifindex                                    VRRP_R_SENDER_NOT_ALLOWED
 *     and the TTL is within that entry's [ttl_min, ttl_max] VRRP_R_IP_TTL
 *   "[addr check]" steps are skipped when VRRP_CFG_SKIP_ADDR_CHECK is set,
 *   VRRP_CFG_MASTER is not, and the source is the master recorded in
 *   vrrp_master (keepalived's skip_check_adv_addr, as Validate's
 *   SkipAddrCheckFrom). The v3 interval is not compared: the backup adopts
 *   the master's (RFC 5798 6.4.2). Priority 0 is valid.
 *   Accepted: rx (and pri_zero) counted, vrrp_master updated, an event when
 *   something changed (VRRP_EV_*), DROP.
 *
 * The Ethernet destination is not checked: on a promiscuous port a unicast
 * advert for another host is handled as if it were ours (same VRID, same
 * master: harmless). VLAN: the key uses the innermost 802.1Q/802.1ad VID
 * (0 when untagged); at TC the outermost tag is usually already in
 * skb->vlan_tci and is used when no tag is left in the data. NICs that strip
 * VLAN tags in hardware hide them from native XDP.
 */
#ifndef LBD_VRRP_H
#define LBD_VRRP_H

#include <linux/types.h>

#define IPPROTO_VRRP 112
#define VRRP_TTL 255
#define VRRP_TYPE_ADVERT 1
#define VRRP_HDR_LEN 8
#define VRRP_AUTH_LEN 8 /* v2 authentication data, always present in v2 */

/* v2 auth types (RFC 2338 5.3.6; RFC 3768 keeps the field) */
#define VRRP_AUTH_NONE 0
#define VRRP_AUTH_PASS 1
#define VRRP_AUTH_AH 2 /* valid on the wire, never offloaded here */

/*
 * Largest message handled: 8 header + 8 auth + 80 IPv4 or 20 IPv6
 * addresses. VRIDs with more addresses stay with the raw-socket path
 * (pkg/loader refuses them).
 */
#define VRRP_MAX_MSG 336
#define VRRP_MAX_ADDRS4 80
#define VRRP_MAX_ADDRS6 20
#define VRRP_MAX_EXTHDRS 4

/*
 * Reject reasons. Mirrors pkg/vrrp/reason.go one for one: same order, same
 * numbers, names = "VRRP_R_" + upper-case metric label. Append only.
 */
enum vrrp_reason {
	VRRP_R_NONE = 0,
	VRRP_R_PACKET_LEN,
	VRRP_R_IP_TTL,
	VRRP_R_VERSION,
	VRRP_R_INVALID_TYPE,
	VRRP_R_CHECKSUM,
	VRRP_R_VRID_UNKNOWN,
	VRRP_R_INVALID_AUTHTYPE,
	VRRP_R_AUTHTYPE_MISMATCH,
	VRRP_R_AUTH_FAILURE,
	VRRP_R_ADDR_LIST,
	VRRP_R_ADVERT_INTERVAL,
	VRRP_R_SENDER_NOT_ALLOWED,
	VRRP_R_FAMILY,
	VRRP_R_OWN_ADDRESS,
	VRRP_R_FRAGMENT,
	VRRP_R_PROTOCOL, /* not VRRP: pkg/vrrp's IP parsers only; here such packets pass uncounted */
	VRRP_R_MAX, /* number of reasons; not a reason */
};

/* vrrp_cfg.flags */
enum vrrp_cfg_flag {
	VRRP_CFG_MASTER = 1 << 0,          /* this node is master: every accepted advert is an event */
	VRRP_CFG_UNICAST = 1 << 1,         /* unicast peers: no TTL 255 rule (5), unicast destination (11) */
	VRRP_CFG_ENFORCE_ALLOW = 1 << 2,   /* source must match vrrp_allow (15) */
	VRRP_CFG_SKIP_ADDR_CHECK = 1 << 3, /* skip_check_adv_addr: no 9/14/15 for the recorded master */
	VRRP_CFG_CSUM_ALT = 1 << 4,        /* v3/IPv4 unicast: also accept the 224.0.0.18 checksum (10) */
	VRRP_CFG_CSUM_ALT_ONLY = 1 << 5,   /* v3/IPv4 unicast: accept only the 224.0.0.18 checksum (10) */
};

/* vrrp_master.flags */
enum vrrp_master_flag {
	VRRP_MF_LEGACY_CSUM = 1 << 0, /* accepted by keepalived's pre-1.3.6 v3 checksum */
};

/* vrrp_event.kind: a bit set, several may be set in one event */
enum vrrp_event_kind {
	VRRP_EV_NEW_SENDER = 1 << 0,      /* no master recorded, or another source address */
	VRRP_EV_PRIO_CHANGE = 1 << 1,     /* same sender, other priority */
	VRRP_EV_PRIO_ZERO = 1 << 2,       /* priority 0: the master resigns (every such advert) */
	VRRP_EV_WHILE_MASTER = 1 << 3,    /* VRRP_CFG_MASTER set: every accepted advert */
	VRRP_EV_INTERVAL_CHANGE = 1 << 4, /* same sender, other advert interval */
	VRRP_EV_CSUM_CHANGE = 1 << 5,     /* same sender, VRRP_MF_LEGACY_CSUM flipped */
};

/* Key of vrrp_vrids and of events. */
struct vrrp_key {
	__u32 ifindex; /* host: interface the program runs on (XDP ingress, skb->ifindex) */
	__u8 vrid;     /* 1..255 */
	__u8 family;   /* 4 or 6 */
	__u16 vlan;    /* host: innermost VLAN id, 0 = untagged */
};

/* Value of vrrp_vrids: one VRRP instance's receive config, written by
 * userspace. slot indexes the instance's entries in vrrp_master and
 * vrrp_stats (arrays: a lookup there costs nothing, a hash lookup ~20 ns). */
struct vrrp_cfg {
	__u8 version;       /* 2 or 3 */
	__u8 auth_type;     /* v2: VRRP_AUTH_NONE or VRRP_AUTH_PASS; v3: 0 */
	__u8 naddr;         /* configured address count (<= VRRP_MAX_ADDRS4/6) */
	__u8 flags;         /* enum vrrp_cfg_flag */
	__u16 adver_int_cs; /* host: configured interval in centiseconds; v2 checks it (s*100) */
	__u16 _pad;
	__u32 slot;         /* host: index into vrrp_master and vrrp_stats, < VRRP_MAX_VRIDS */
	__u8 auth_pass[8];  /* net: v2 PASS data as on the wire, zero padded */
	__u32 _pad2;
	__u64 addr_hash;    /* host: vrrp_addr_hash of the configured addresses */
	__u8 own_addr[16];  /* net: our source address (IPv4: first 4 bytes); zero = none */
};

/* Value of vrrp_master (array, by slot): the last accepted advert's sender,
 * written by the program. family 0: none seen since the slot was assigned.
 * A change is written under the lock (userspace reads with BPF_F_LOCK, so
 * it never sees half a change); the steady state only stores last_seen_ns.
 * Times are bpf_ktime_get_ns (CLOCK_MONOTONIC). Not the coarse clock: it
 * is cheaper per packet, but its one tick of resolution (4 ms at HZ=250)
 * moved the master-down deadline by up to a tick either way, more than a
 * tenth of the 36 ms interval at advert_int 0.01. */
struct vrrp_master {
	struct bpf_spin_lock lock;
	__u8 priority;      /* as advertised; 0 = the master resigned */
	__u8 family;        /* 4 or 6; 0 = no master recorded */
	__u16 adver_int_cs; /* host: advertised interval, centiseconds (v2: s*100) */
	__u8 addr[16];      /* net: source address (IPv4: first 4 bytes, rest zero) */
	__u8 flags;         /* enum vrrp_master_flag */
	__u8 _pad[3];
	__u32 _pad2;
	__u64 last_seen_ns; /* host: CLOCK_MONOTONIC of the last accepted advert */
	__u64 changed_ns;   /* host: when sender, priority, interval or checksum form last changed */
};

/* Value of vrrp_stats (per-CPU array, by slot): summed by userspace. */
struct vrrp_vrid_stats {
	__u64 rx;                 /* host: accepted adverts */
	__u64 pri_zero;           /* host: accepted adverts with priority 0 */
	__u64 drops[VRRP_R_MAX];  /* host: rejected, by reason */
};

/* Value of vrrp_if_stats (per CPU): VRRP packets passed to the kernel. */
struct vrrp_if_stats {
	__u64 passed[VRRP_R_MAX]; /* host: by reason (packet_len, checksum, vrid_unknown, fragment) */
	__u64 events_lost;        /* host: events not emitted because the ring buffer was full */
};

/* Ring buffer record. */
struct vrrp_event {
	struct vrrp_key key;
	__u8 kind;          /* enum vrrp_event_kind bits */
	__u8 priority;      /* advertised priority */
	__u16 adver_int_cs; /* host: advertised interval, centiseconds */
	__u8 prev_priority; /* recorded priority before this advert (0 if none) */
	__u8 flags;         /* enum vrrp_master_flag of this advert */
	__u8 _pad[2];
	__u8 addr[16];      /* net: sender */
	__u64 ts_ns;        /* host: CLOCK_MONOTONIC */
};

/*
 * Key of vrrp_allow (LPM trie). IPv4 is stored IPv4-mapped (::ffff:a.b.c.d),
 * so prefixlen = 32 (ifindex) + 96 + IPv4 prefix, or 32 + IPv6 prefix.
 */
struct vrrp_allow_key {
	__u32 prefixlen; /* host: bits of ifindex+addr that must match */
	__u32 ifindex;   /* host; always matched in full */
	__u8 addr[16];   /* net */
};

/* Value of vrrp_allow. */
struct vrrp_allow_val {
	__u8 ttl_min; /* accepted TTL / hop limit of this sender, inclusive */
	__u8 ttl_max; /* (keepalived unicast_peer min_ttl / max_ttl) */
};

#endif /* LBD_VRRP_H */
