/*
 * maps.h: the maps of the VRRP program. Their names are a contract with
 * pkg/loader (pinned under <bpffs>/lbd/netns-<inode>/ by name). Changing a
 * key or value layout makes a restarted lbd replace, not adopt, the map.
 */
#ifndef LBD_MAPS_H
#define LBD_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "vrrp.h"

#define VRRP_MAX_VRIDS 4096
#define VRRP_MAX_IFACES 1024
#define VRRP_MAX_ALLOW 4096
#define VRRP_EVENTS_BYTES (256 * 1024)

/* Configured VRIDs: which VRRP packets this host owns and how to check them.
 * Written by userspace (SetVRID, SetMaster); read per VRRP packet. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VRRP_MAX_VRIDS);
	__type(key, struct vrrp_key);
	__type(value, struct vrrp_cfg);
} vrrp_vrids SEC(".maps");

/* The current master per VRID as last seen (struct vrrp_master), by the
 * VRID's slot: written by the program on every accepted advert, read by
 * userspace when the master-down timer expires. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VRRP_MAX_VRIDS);
	__type(key, __u32);
	__type(value, struct vrrp_master);
} vrrp_master SEC(".maps");

/* Per-VRID counters, per CPU, by the VRID's slot. Userspace zeroes a slot
 * when it assigns it. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VRRP_MAX_VRIDS);
	__type(key, __u32);
	__type(value, struct vrrp_vrid_stats);
} vrrp_stats SEC(".maps");

/* Per-interface counters of VRRP packets not attributable to a configured
 * VRID (and lost events), per CPU, keyed by ifindex. Created by userspace
 * (Attach, SetVRID); the program only increments existing ones. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, VRRP_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct vrrp_if_stats);
} vrrp_if_stats SEC(".maps");

/* Allowed VRRP senders per interface (unicast peers or prefixes) and their
 * TTL range, enforced for VRIDs with VRRP_CFG_ENFORCE_ALLOW. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VRRP_MAX_ALLOW);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vrrp_allow_key);
	__type(value, struct vrrp_allow_val);
} vrrp_allow SEC(".maps");

/* Changes for userspace (struct vrrp_event), never steady-state adverts
 * (except VRRP_EV_WHILE_MASTER). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, VRRP_EVENTS_BYTES);
} vrrp_events SEC(".maps");

/* Per-CPU scratch space for one VRRP message (too big for the 512-byte
 * stack alongside the rest). Not pinned: holds nothing between packets. */
union vrrp_msg {
	__u32 w[VRRP_MAX_MSG / 4];
	__u8 b[VRRP_MAX_MSG];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, union vrrp_msg);
} vrrp_scratch SEC(".maps");

#endif /* LBD_MAPS_H */
