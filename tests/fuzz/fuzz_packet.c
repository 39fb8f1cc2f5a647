/*
 * Fuzz target for proto/packet.c (and the link/IP walk proto/decap.c
 * shares).  Input: one byte choosing the link type (low 3 bits), pmacctd's
 * fragment holding (bit 3) and a small first-fragment table (bits 4-5), then
 * frames, each a 2-byte big-endian length and that many bytes (the last one
 * takes what is left).  One decoder sees every frame, so fragments of one
 * input meet in its table; timestamps advance by 20 seconds a frame so
 * entries also expire.  Every field the record says it has is read.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t sum_rec(const struct flow_rec *r)
{
	uint64_t s = r->packets + r->bytes + r->present;
	s += r->src_addr.a[15] + r->dst_addr.a[3] + r->src_port + r->dst_port + r->proto + r->tos;
	s += r->tcp_flags + r->icmp_type_code + r->vlan_in + r->cos + r->etype + r->flow_label;
	s += r->src_mac[5] + r->dst_mac[0];
	for (unsigned i = 0; i < r->mpls_depth; i++)
		s += r->mpls[i];
	s += r->tunnel_src_mac[5] + r->tunnel_dst_mac[0] + r->tunnel_src_addr.a[15] +
	     r->tunnel_dst_addr.a[0] + r->tunnel_proto + r->tunnel_tos + r->tunnel_src_port +
	     r->tunnel_dst_port;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt_decoder d;
	volatile uint64_t sum = 0;

	if (size < 1)
		return 0;
	if (pkt_decoder_init(&d, (data[0] >> 4) & 3 ? 1u << ((data[0] >> 4) & 3) : 0) < 0)
		return 0;
	d.hold_orphans = (data[0] >> 3) & 1;
	enum decap_link link = (enum decap_link)(data[0] & 7);
	size_t i = 1;
	nt_usec ts = 1000000000;
	while (i < size) {
		size_t n = size - i;
		if (n >= 2) {
			size_t want = (size_t)data[i] << 8 | data[i + 1];
			i += 2;
			n = size - i < want ? size - i : want;
		} else {
			i += n;
			n = 0;
		}
		/* an exact-size copy: ASan sees any read past the frame */
		uint8_t *frame = malloc(n ? n : 1);
		if (!frame)
			break;
		memcpy(frame, data + i, n);
		struct flow_rec r;
		memset(&r, 0, sizeof r);
		enum pkt_reason why = pkt_decode(&d, link, frame, n, n + 100, ts, &r);
		sum += sum_rec(&r) + why;
		for (size_t k = 0; d.l3 && k < d.l3_len; k++)
			sum += d.l3[k];
		free(frame);
		i += n;
		ts += 20000000;
	}
	pkt_decoder_free(&d);
	(void)sum;
	return 0;
}
