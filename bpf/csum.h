/*
 * csum.h: Internet checksum (RFC 1071) helpers and the address-list hash.
 *
 * Sums are taken over 32-bit words loaded in memory order into a 64-bit
 * accumulator and folded at the end; the one's complement sum is byte-order
 * independent, so a correct checksum folds to 0xffff whatever the CPU's
 * order. Pseudo-header fields are therefore added as the words they are in
 * memory (bpf_htonl of the network-order value).
 */
#ifndef LBD_CSUM_H
#define LBD_CSUM_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

/* Fold a 64-bit one's complement accumulator to 16 bits. */
static __always_inline __u16 csum_fold64(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Sum of the IPv4 header's ihl words (5..15) at iph, -1 if it runs past
 * data_end. A correct header folds to 0xffff. */
static __always_inline __s64 csum_ipv4_hdr(const void *iph, __u32 ihl, const void *data_end)
{
	const __u32 *w = iph;
	__u64 sum = 0;
	int i;

	if ((const void *)(w + 5) > data_end)
		return -1;
	sum = (__u64)w[0] + w[1] + w[2] + w[3] + w[4];
	for (i = 5; i < 15; i++) {
		const __u32 *q = w + i;

		if (i >= ihl)
			break;
		/* Keep the bounds check on the pointer: clang would otherwise
		 * turn it into a count the verifier cannot relate to data_end. */
		barrier_var(q);
		if ((const void *)(q + 1) > data_end)
			return -1;
		sum += *q;
	}
	return sum;
}

/*
 * Address-list hash: order-independent (a sum), so the advert may list the
 * addresses in any order (keepalived checks membership, not order). Each
 * address is mixed from its bytes loaded as little-endian 32-bit words
 * w0..w3 (IPv4: w0 only, w1..w3 = 0) and the mixes are added mod 2^64.
 * pkg/loader's addrHash in Go computes the same; keep them in step.
 */
#define VRRP_HASH_SEED 0x6c62642d76727270ULL /* "lbd-vrrp" */

static __always_inline __u64 vrrp_fmix64(__u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static __always_inline __u64 vrrp_addr_mix(__u32 w0, __u32 w1, __u32 w2, __u32 w3)
{
	__u64 lo = ((__u64)w1 << 32) | w0;
	__u64 hi = ((__u64)w3 << 32) | w2;

	return vrrp_fmix64(lo ^ vrrp_fmix64(hi ^ VRRP_HASH_SEED));
}

#endif /* LBD_CSUM_H */
