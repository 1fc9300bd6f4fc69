/*
 * parse.h: Ethernet, 802.1Q/802.1ad tags, IPv4 (with options) and IPv6 (with
 * extension headers) down to a VRRP message. Every read is preceded by its
 * own bounds check against data_end; nothing is assumed from an earlier one.
 *
 * Convention (katran's): each step returns a verdict, or VERDICT_CONTINUE
 * and the caller goes on. A step that passes a packet it recognised as VRRP
 * records why in pkt.if_reason (counted per interface by the caller).
 */
#ifndef LBD_PARSE_H
#define LBD_PARSE_H

#include <stdbool.h>
#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "vrrp.h"
#include "csum.h"

#define VERDICT_CONTINUE (-1)
#define VERDICT_PASS 0
#define VERDICT_DROP 1

#ifndef IP_MF
#define IP_MF 0x2000
#endif
#ifndef IP_OFFSET
#define IP_OFFSET 0x1fff
#endif

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

struct ipv6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 id;
};

/* What the parser learnt about one frame. */
struct pkt {
	void *data;
	void *data_end;
	void *l3;          /* IP header (packet pointer, its fixed part checked) */
	void *l4;          /* VRRP message (packet pointer, NOT checked: check before reading) */
	__u32 wire_len;    /* whole frame: XDP data_end - data, TC skb->len */
	__u32 ifindex;     /* host */
	__u32 vrrp_off;    /* offset of the VRRP message from data */
	__u32 vrrp_len;    /* VRRP message length per the IP header's lengths */
	__u32 saddr[4];    /* net, as loaded: IPv4 in [0], the rest zero */
	__u32 daddr[4];
	__u16 vlan;        /* host: innermost VLAN id, 0 untagged */
	__u8 family;       /* 4 or 6 */
	__u8 ttl;          /* TTL or hop limit */
	__u8 if_reason;    /* enum vrrp_reason when a VRRP packet is passed */
};

static __always_inline int pass_counted(struct pkt *p, __u8 reason)
{
	p->if_reason = reason;
	return VERDICT_PASS;
}

/* Ethernet and up to two VLAN tags. Anything but IPv4/IPv6 passes. */
static __always_inline int parse_eth(struct pkt *p)
{
	struct ethhdr *eth = p->data;
	struct vlan_tag *tag;
	void *pos;
	__be16 proto;
	int i;

	if ((void *)(eth + 1) > p->data_end)
		return VERDICT_PASS;
	proto = eth->h_proto;
	pos = eth + 1;

#pragma unroll
	for (i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		tag = pos;
		if ((void *)(tag + 1) > p->data_end)
			return VERDICT_PASS;
		p->vlan = bpf_ntohs(tag->tci) & 0x0fff;
		proto = tag->proto;
		pos = tag + 1;
	}

	if (proto == bpf_htons(ETH_P_IP))
		p->family = 4;
	else if (proto == bpf_htons(ETH_P_IPV6))
		p->family = 6;
	else
		return VERDICT_PASS;
	p->l3 = pos;
	return VERDICT_CONTINUE;
}

static __always_inline int parse_ipv4(struct pkt *p)
{
	struct iphdr *iph = p->l3;
	__u32 ihl, tot, l3_off;
	__s64 sum;

	if ((void *)(iph + 1) > p->data_end)
		return VERDICT_PASS;
	if (iph->version != 4 || iph->protocol != IPPROTO_VRRP)
		return VERDICT_PASS;
	/* VRRP from here on: passes are counted. */
	if (iph->ihl < 5)
		return pass_counted(p, VRRP_R_PACKET_LEN);
	ihl = iph->ihl;
	sum = csum_ipv4_hdr(iph, ihl, p->data_end);
	if (sum < 0)
		return pass_counted(p, VRRP_R_PACKET_LEN);
	if (csum_fold64(sum) != 0xffff)
		return pass_counted(p, VRRP_R_CHECKSUM);
	ihl *= 4;
	tot = bpf_ntohs(iph->tot_len);
	l3_off = p->l3 - p->data;
	if (tot < ihl || l3_off + tot > p->wire_len)
		return pass_counted(p, VRRP_R_PACKET_LEN);
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return pass_counted(p, VRRP_R_FRAGMENT);

	p->ttl = iph->ttl;
	p->saddr[0] = iph->saddr;
	p->daddr[0] = iph->daddr;
	p->vrrp_off = l3_off + ihl;
	p->l4 = (void *)iph + ihl;
	p->vrrp_len = tot - ihl;
	return VERDICT_CONTINUE;
}

static __always_inline int parse_ipv6(struct pkt *p)
{
	struct ipv6hdr *ip6 = p->l3;
	struct ipv6_opt_hdr *opt;
	struct ipv6_frag *frag;
	__u32 ext = 0, len, payload, l3_off;
	void *pos;
	__u8 nh;
	int i;

	if ((void *)(ip6 + 1) > p->data_end)
		return VERDICT_PASS;
	if (ip6->version != 6)
		return VERDICT_PASS;
	nh = ip6->nexthdr;
	pos = ip6 + 1;

	for (i = 0; i < VRRP_MAX_EXTHDRS; i++) {
		if (nh == IPPROTO_VRRP)
			break;
		if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS) {
			opt = pos;
			if ((void *)(opt + 1) > p->data_end)
				return VERDICT_PASS;
			nh = opt->nexthdr;
			len = ((__u32)opt->hdrlen + 1) * 8;
			pos += len;
			ext += len;
			continue;
		}
		if (nh == IPPROTO_FRAGMENT) {
			frag = pos;
			if ((void *)(frag + 1) > p->data_end)
				return VERDICT_PASS;
			if (frag->nexthdr == IPPROTO_VRRP)
				return pass_counted(p, VRRP_R_FRAGMENT);
			return VERDICT_PASS;
		}
		return VERDICT_PASS; /* AH, ESP, no next header, unknown */
	}
	if (nh != IPPROTO_VRRP)
		return VERDICT_PASS;

	payload = bpf_ntohs(ip6->payload_len);
	l3_off = p->l3 - p->data;
	if (payload < ext || l3_off + sizeof(*ip6) + payload > p->wire_len)
		return pass_counted(p, VRRP_R_PACKET_LEN);

	p->ttl = ip6->hop_limit;
	p->saddr[0] = ip6->saddr.in6_u.u6_addr32[0];
	p->saddr[1] = ip6->saddr.in6_u.u6_addr32[1];
	p->saddr[2] = ip6->saddr.in6_u.u6_addr32[2];
	p->saddr[3] = ip6->saddr.in6_u.u6_addr32[3];
	p->daddr[0] = ip6->daddr.in6_u.u6_addr32[0];
	p->daddr[1] = ip6->daddr.in6_u.u6_addr32[1];
	p->daddr[2] = ip6->daddr.in6_u.u6_addr32[2];
	p->daddr[3] = ip6->daddr.in6_u.u6_addr32[3];
	p->vrrp_off = l3_off + sizeof(*ip6) + ext;
	p->l4 = pos;
	p->vrrp_len = payload - ext;
	return VERDICT_CONTINUE;
}

#endif /* LBD_PARSE_H */
