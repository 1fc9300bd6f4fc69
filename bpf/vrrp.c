//go:build ignore

/*
 * vrrp.c: the VRRP receive filter, built once and attached either at XDP
 * (xdp_vrrp) or at TC ingress (tc_vrrp). Both entry points share one core,
 * vrrp_process, which returns VERDICT_PASS or VERDICT_DROP; the rules it
 * applies, in order, are in vrrp.h.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "vrrp.h"
#include "maps.h"
#include "csum.h"
#include "parse.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Referenced only so that their BTF reaches bpf2go's generated Go types. */
const enum vrrp_reason *_vrrp_reason __attribute__((unused));
const enum vrrp_cfg_flag *_vrrp_cfg_flag __attribute__((unused));
const enum vrrp_event_kind *_vrrp_event_kind __attribute__((unused));
const enum vrrp_master_flag *_vrrp_master_flag __attribute__((unused));
const struct vrrp_event *_vrrp_event __attribute__((unused));
const struct vrrp_allow_key *_vrrp_allow_key __attribute__((unused));

static __always_inline int reject(struct vrrp_vrid_stats *st, __u32 reason)
{
	if (st && reason < VRRP_R_MAX)
		st->drops[reason]++;
	return VERDICT_DROP;
}

static __always_inline void count_if(__u32 ifindex, __u32 reason)
{
	struct vrrp_if_stats *s = bpf_map_lookup_elem(&vrrp_if_stats, &ifindex);

	if (s && reason < VRRP_R_MAX)
		s->passed[reason]++;
}

static __always_inline long load_bytes(void *ctx, __u32 off, void *to, __u32 len, const bool xdp)
{
	if (xdp)
		return bpf_xdp_load_bytes(ctx, off, to, len);
	return bpf_skb_load_bytes(ctx, off, to, len);
}

/* One's complement sum of the v3 pseudo-header (RFC 5798 5.2.8) without the
 * destination address, which the caller adds (it may try two). */
static __always_inline __u64 pseudo_sum_nodst(const struct pkt *p)
{
	if (p->family == 4)
		return (__u64)p->saddr[0] + bpf_htonl((IPPROTO_VRRP << 16) | p->vrrp_len);
	return (__u64)p->saddr[0] + p->saddr[1] + p->saddr[2] + p->saddr[3] +
	       p->daddr[1] + p->daddr[2] + p->daddr[3] +
	       bpf_htonl(p->vrrp_len) + bpf_htonl(IPPROTO_VRRP);
}

/* 224.0.0.18 as loaded from the wire */
#define VRRP_MCAST4_WORD bpf_htonl(0xe0000012)

static __always_inline bool dst_multicast(const struct pkt *p)
{
	const __u8 *d = (const __u8 *)p->daddr;

	if (p->family == 4)
		return (d[0] & 0xf0) == 0xe0;
	return d[0] == 0xff;
}

static __always_inline __u64 addr_hash(const union vrrp_msg *m, __u32 naddr, __u8 family)
{
	__u64 h = 0;
	__u32 i;

	if (family == 4) {
		for (i = 0; i < VRRP_MAX_ADDRS4; i++) {
			if (i >= naddr)
				break;
			h += vrrp_addr_mix(m->w[2 + i], 0, 0, 0);
		}
		return h;
	}
	for (i = 0; i < VRRP_MAX_ADDRS6; i++) {
		if (i >= naddr)
			break;
		h += vrrp_addr_mix(m->w[2 + 4 * i], m->w[3 + 4 * i], m->w[4 + 4 * i], m->w[5 + 4 * i]);
	}
	return h;
}

/* Check 15: VRRP_R_NONE when the source is allowed with this TTL. */
static __always_inline __u32 check_sender(const struct pkt *p)
{
	struct vrrp_allow_key k = {
		.prefixlen = 32 + 128,
		.ifindex = p->ifindex,
	};
	struct vrrp_allow_val *v;
	__u32 *a = (__u32 *)k.addr;

	if (p->family == 4) {
		a[2] = bpf_htonl(0x0000ffff);
		a[3] = p->saddr[0];
	} else {
		a[0] = p->saddr[0];
		a[1] = p->saddr[1];
		a[2] = p->saddr[2];
		a[3] = p->saddr[3];
	}
	v = bpf_map_lookup_elem(&vrrp_allow, &k);
	if (!v)
		return VRRP_R_SENDER_NOT_ALLOWED;
	if (p->ttl < v->ttl_min || p->ttl > v->ttl_max)
		return VRRP_R_IP_TTL;
	return VRRP_R_NONE;
}

static __always_inline bool same_addr(const __u32 *a, const __u32 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* Record an accepted advert in the VRID's vrrp_master slot and tell
 * userspace what changed. */
static __always_inline void record(const struct pkt *p, const struct vrrp_key *key,
				   const struct vrrp_cfg *cfg, struct vrrp_master *cur,
				   __u8 prio, __u16 adv, __u8 mflags)
{
	struct vrrp_if_stats *ifs;
	struct vrrp_event *ev;
	__u64 now = bpf_ktime_get_ns();
	__u8 kind = 0, prev = cur->priority;

	if (!cur->family || !same_addr((const __u32 *)cur->addr, p->saddr)) {
		kind |= VRRP_EV_NEW_SENDER;
	} else {
		if (cur->priority != prio)
			kind |= VRRP_EV_PRIO_CHANGE;
		if (cur->adver_int_cs != adv)
			kind |= VRRP_EV_INTERVAL_CHANGE;
		if (cur->flags != mflags)
			kind |= VRRP_EV_CSUM_CHANGE;
	}

	if (kind) {
		/* Under the lock: userspace reads the record whole. */
		bpf_spin_lock(&cur->lock);
		cur->priority = prio;
		cur->family = p->family;
		cur->adver_int_cs = adv;
		cur->flags = mflags;
		__builtin_memcpy(cur->addr, p->saddr, sizeof(cur->addr));
		cur->last_seen_ns = now;
		cur->changed_ns = now;
		bpf_spin_unlock(&cur->lock);
	} else {
		cur->last_seen_ns = now; /* steady state: one 8-byte store */
	}

	if (prio == 0)
		kind |= VRRP_EV_PRIO_ZERO;
	if (cfg->flags & VRRP_CFG_MASTER)
		kind |= VRRP_EV_WHILE_MASTER;
	if (!kind)
		return;

	ev = bpf_ringbuf_reserve(&vrrp_events, sizeof(*ev), 0);
	if (!ev) {
		ifs = bpf_map_lookup_elem(&vrrp_if_stats, &key->ifindex);
		if (ifs)
			ifs->events_lost++;
		return;
	}
	ev->key = *key;
	ev->kind = kind;
	ev->priority = prio;
	ev->adver_int_cs = adv;
	ev->prev_priority = prev;
	ev->flags = mflags;
	ev->_pad[0] = 0;
	ev->_pad[1] = 0;
	__builtin_memcpy(ev->addr, p->saddr, sizeof(ev->addr));
	ev->ts_ns = now;
	bpf_ringbuf_submit(ev, 0);
}

/* The VRRP checks proper (vrrp.h), once the frame is known to carry VRRP. */
static __always_inline int vrrp_check(void *ctx, struct pkt *p, const bool xdp)
{
	struct vrrp_key key = {};
	struct vrrp_vrid_stats *st;
	struct vrrp_master *cur;
	struct vrrp_cfg *cfg;
	const __u8 *h = p->l4;
	union vrrp_msg *m;
	__u32 exp, len, naddr, i, idx, r, slot, zero = 0;
	__u64 sum = 0, base;
	bool v4 = p->family == 4, check_addrs, ok;
	const __u32 *pw, *own;
	__u8 ver, auth, mflags = 0;
	__u16 adv;

	/* 2: the header is read in place, the rest is copied (below) */
	if (p->vrrp_len < VRRP_HDR_LEN)
		return pass_counted(p, VRRP_R_PACKET_LEN);
	if ((const void *)(h + VRRP_HDR_LEN) > p->data_end)
		return pass_counted(p, VRRP_R_PACKET_LEN);

	/* 3 */
	key.ifindex = p->ifindex;
	key.vrid = h[1];
	key.family = p->family;
	key.vlan = p->vlan;
	cfg = bpf_map_lookup_elem(&vrrp_vrids, &key);
	if (!cfg)
		return pass_counted(p, VRRP_R_VRID_UNKNOWN);
	slot = cfg->slot;
	st = bpf_map_lookup_elem(&vrrp_stats, &slot);
	cur = bpf_map_lookup_elem(&vrrp_master, &slot);
	if (!st || !cur)
		return VERDICT_PASS; /* a slot out of range: userspace's bug, leave it to the kernel */

	/* 4 */
	ver = h[0] >> 4;
	naddr = h[3];
	exp = VRRP_HDR_LEN + naddr * (v4 ? 4 : 16);
	if (ver == 2 && v4)
		exp += VRRP_AUTH_LEN;
	if (p->vrrp_len != exp)
		return reject(st, VRRP_R_PACKET_LEN);
	if (exp > VRRP_MAX_MSG)
		return reject(st, VRRP_R_ADDR_LIST);
	/* 5 */
	if (!(cfg->flags & VRRP_CFG_UNICAST) && p->ttl != VRRP_TTL)
		return reject(st, VRRP_R_IP_TTL);
	/* 6 */
	if (ver != cfg->version)
		return reject(st, VRRP_R_VERSION);
	/* The loops below run over a copy: over the packet itself, with its
	 * variable offset, they would exceed the verifier's budget. */
	m = bpf_map_lookup_elem(&vrrp_scratch, &zero);
	if (!m)
		return VERDICT_PASS;
	/* Bound the length in the register the helper gets: clang would
	 * otherwise pass vrrp_len (equal, but unbounded to older verifiers). */
	len = exp;
	barrier_var(len);
	if (len < VRRP_HDR_LEN || len > VRRP_MAX_MSG)
		return reject(st, VRRP_R_PACKET_LEN);
	if (load_bytes(ctx, p->vrrp_off, m->b, len, xdp) < 0)
		return reject(st, VRRP_R_PACKET_LEN);
	/* 7 */
	if (ver == 2) {
		auth = m->b[4];
		if (auth > VRRP_AUTH_AH)
			return reject(st, VRRP_R_INVALID_AUTHTYPE);
		if (auth != cfg->auth_type)
			return reject(st, VRRP_R_AUTHTYPE_MISMATCH);
		if (auth == VRRP_AUTH_PASS && v4) {
			idx = (exp - VRRP_AUTH_LEN) / 4;
			barrier_var(idx); /* bound the register that indexes */
			if (idx > VRRP_MAX_MSG / 4 - 2)
				return reject(st, VRRP_R_PACKET_LEN);
			pw = (const __u32 *)cfg->auth_pass;
			if (m->w[idx] != pw[0] || m->w[idx + 1] != pw[1])
				return reject(st, VRRP_R_AUTH_FAILURE);
		}
		adv = (__u16)m->b[5] * 100;
		if (adv != cfg->adver_int_cs)
			return reject(st, VRRP_R_ADVERT_INTERVAL);
	} else {
		adv = ((__u16)(m->b[4] & 0x0f) << 8) | m->b[5];
	}
	/* 8 */
	if ((m->b[0] & 0x0f) != VRRP_TYPE_ADVERT)
		return reject(st, VRRP_R_INVALID_TYPE);
	/* 9 */
	check_addrs = !((cfg->flags & VRRP_CFG_SKIP_ADDR_CHECK) && !(cfg->flags & VRRP_CFG_MASTER) &&
			cur->family && same_addr((const __u32 *)cur->addr, p->saddr));
	if (check_addrs && naddr != cfg->naddr)
		return reject(st, VRRP_R_ADDR_LIST);
	/* 10 */
	for (i = 0; i < VRRP_MAX_MSG / 4; i++) {
		if (i >= exp / 4)
			break;
		sum += m->w[i];
	}
	if (ver == 3 || !v4) { /* the pseudo-header: v3, and every IPv6 message */
		base = sum + pseudo_sum_nodst(p);
		sum = base + p->daddr[0];
		if (v4 && (cfg->flags & (VRRP_CFG_CSUM_ALT | VRRP_CFG_CSUM_ALT_ONLY)) &&
		    (cfg->flags & VRRP_CFG_UNICAST) && !dst_multicast(p)) {
			ok = !(cfg->flags & VRRP_CFG_CSUM_ALT_ONLY) && csum_fold64(sum) == 0xffff;
			if (!ok && csum_fold64(base + VRRP_MCAST4_WORD) == 0xffff) {
				ok = true;
				mflags |= VRRP_MF_LEGACY_CSUM;
			}
			if (!ok)
				return reject(st, VRRP_R_CHECKSUM);
			sum = 0xffff;
		}
	}
	if (csum_fold64(sum) != 0xffff)
		return reject(st, VRRP_R_CHECKSUM);
	/* 11 */
	if (dst_multicast(p) == !!(cfg->flags & VRRP_CFG_UNICAST))
		return reject(st, VRRP_R_ADDR_LIST);
	/* 12 */
	own = (const __u32 *)cfg->own_addr;
	if ((own[0] | own[1] | own[2] | own[3]) && same_addr(own, p->saddr))
		return reject(st, VRRP_R_OWN_ADDRESS);
	/* 13 */
	if (ver == 3 && adv == 0)
		return reject(st, VRRP_R_ADVERT_INTERVAL);
	if (check_addrs) {
		/* 14 */
		if (addr_hash(m, naddr, p->family) != cfg->addr_hash)
			return reject(st, VRRP_R_ADDR_LIST);
		/* 15 */
		if (cfg->flags & VRRP_CFG_ENFORCE_ALLOW) {
			r = check_sender(p);
			if (r != VRRP_R_NONE)
				return reject(st, r);
		}
	}

	st->rx++;
	if (m->b[2] == 0)
		st->pri_zero++;
	record(p, &key, cfg, cur, m->b[2], adv, mflags);
	return VERDICT_DROP;
}

static __always_inline int vrrp_process(void *ctx, struct pkt *p, const bool xdp)
{
	int v;

	v = parse_eth(p);
	if (v != VERDICT_CONTINUE)
		return v;
	if (p->family == 4)
		v = parse_ipv4(p);
	else
		v = parse_ipv6(p);
	if (v == VERDICT_CONTINUE)
		v = vrrp_check(ctx, p, xdp);
	if (p->if_reason)
		count_if(p->ifindex, p->if_reason);
	return v == VERDICT_DROP ? VERDICT_DROP : VERDICT_PASS;
}

SEC("xdp")
int xdp_vrrp(struct xdp_md *ctx)
{
	struct pkt p = {
		.data = (void *)(long)ctx->data,
		.data_end = (void *)(long)ctx->data_end,
		.ifindex = ctx->ingress_ifindex,
	};

	p.wire_len = p.data_end - p.data;
	return vrrp_process(ctx, &p, true) == VERDICT_DROP ? XDP_DROP : XDP_PASS;
}

/* Headers we parse must be in the skb's linear part; pull this much when the
 * linear part is shorter and the packet is not. */
#define TC_PULL_LEN 128

SEC("tc")
int tc_vrrp(struct __sk_buff *skb)
{
	struct pkt p = {};
	__u32 linear = skb->data_end - skb->data;

	if (linear < TC_PULL_LEN && skb->len > linear)
		bpf_skb_pull_data(skb, skb->len < TC_PULL_LEN ? skb->len : TC_PULL_LEN);
	p.data = (void *)(long)skb->data;
	p.data_end = (void *)(long)skb->data_end;
	p.wire_len = skb->len;
	p.ifindex = skb->ifindex;
	/* The outer tag is often already stripped into the skb; a tag still in
	 * the data (QinQ inner, or none stripped) overrides it. */
	if (skb->vlan_present)
		p.vlan = skb->vlan_tci & 0x0fff;
	return vrrp_process(skb, &p, false) == VERDICT_DROP ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}
