/*
 * NetFlow v5.
 *
 *   header (24 bytes)
 *   0      2      4          8          12          16        20   21   22
 *   |vers  |count |sysUptime |unix_secs |unix_nsecs |seq      |type|id  |sampling|
 *   record (48 bytes) x count
 *   srcaddr dstaddr nexthop input(2) output(2) dPkts dOctets first last
 *   srcport dstport pad tcp_flags prot tos src_as(2) dst_as(2) src_mask dst_mask pad(2)
 *
 * The whole datagram is validated against count before any record is read:
 * a datagram whose length disagrees with its count is rejected outright
 * rather than partially decoded, since the header is evidently wrong.
 */
#include <string.h>

#include "proto/cursor.h"
#include "proto/netflow.h"

#define NF5_HDR_LEN   24
#define NF5_REC_LEN   48
#define NF5_MAX_COUNT 30 /* the v5 spec's ceiling; real exporters never exceed it */

/* 4 address bytes in network order, straight from the wire. */
static inline void v4(struct nt_addr *a, const uint8_t *p)
{
	a->family = 4;
	memcpy(a->a, p, 4);
}

enum nf_err nf5_decode(struct nf_collector *c, struct nf_exporter *ex, const uint8_t *buf,
		       size_t len, nt_usec arrival)
{
	struct cursor cur = cur_make(buf, len);
	struct nf_legacy_hdr h;
	uint16_t sampling;

	/* checked reads, not just a length test: gcc -O2 must see every field set */
	if (nf_legacy_hdr_read(&cur, &h) < 0 || cur_u16(&cur, &sampling) < 0)
		return NF_ERR_SHORT;
	uint16_t version = h.version, count = h.count;
	uint32_t uptime = h.uptime_ms, seq = h.seq;
	uint8_t engine_type = h.engine_type, engine_id = h.engine_id;
	if (version != 5)
		return NF_ERR_VERSION;
	if (count == 0 || count > NF5_MAX_COUNT || cur_left(&cur) < (size_t)count * NF5_REC_LEN)
		return NF_ERR_COUNT;

	struct nf_seq_in sq = {.version = 5,
			       .domain = (uint32_t)engine_type << 8 | engine_id,
			       .seq = seq,
			       .advance = count,
			       .uptime_ms = uptime,
			       .has_uptime = 1};
	nf_seq_check(ex, &sq);

	/* top two bits: sampling mode; low 14: interval */
	uint32_t interval = sampling & 0x3fff;
	nt_usec export_usec = nf_legacy_export_usec(&h);

	struct flow_rec *r = &c->rec;
	if (c->rec_owner != 5) {
		flow_rec_clear(r);
		c->rec_owner = 5;
	}
	for (unsigned i = 0; i < count; i++) {
		/* count was checked against the length above: this cannot fail */
		const uint8_t *p = cur_take(&cur, NF5_REC_LEN);
		if (!p)
			return NF_ERR_COUNT;
		v4(&r->src_addr, p);
		v4(&r->dst_addr, p + 4);
		/* p + 8 is the IP next hop; peer_dst_ip is the BGP next hop, which v5 lacks */
		r->peer_src_ip = ex->addr;
		r->in_iface = be16(p + 12);
		r->out_iface = be16(p + 14);
		r->packets = be32(p + 16);
		r->bytes = be32(p + 20);
		r->flows = 1;
		r->ts_start = nf_uptime_to_usec(export_usec, uptime, be32(p + 24));
		r->ts_end = nf_uptime_to_usec(export_usec, uptime, be32(p + 28));
		r->src_port = be16(p + 32);
		r->dst_port = be16(p + 34);
		r->tcp_flags = p[37];
		r->proto = p[38];
		r->tos = p[39];
		r->src_as = be16(p + 40);
		r->dst_as = be16(p + 42);
		r->src_mask = p[44];
		r->dst_mask = p[45];
		r->sampling_rate = interval;
		r->engine_type = engine_type;
		r->engine_id = engine_id;
		r->export_version = 5;
		r->export_seqno = seq;
		r->export_sysid = (uint32_t)engine_type << 8 | engine_id;
		r->ts_arrival = arrival;
		r->ts_export = export_usec;
		r->present = (1ull << FR_SRC_ADDR) | (1ull << FR_DST_ADDR) |
			     (1ull << FR_PEER_SRC_IP) | (1ull << FR_IN_IFACE) |
			     (1ull << FR_OUT_IFACE) | (1ull << FR_TS_START) | (1ull << FR_TS_END) |
			     (1ull << FR_SRC_PORT) | (1ull << FR_DST_PORT) |
			     (1ull << FR_TCP_FLAGS) | (1ull << FR_PROTO) | (1ull << FR_TOS) |
			     (1ull << FR_SRC_AS) | (1ull << FR_DST_AS) | (1ull << FR_SRC_MASK) |
			     (1ull << FR_DST_MASK) | (1ull << FR_ENGINE) | (1ull << FR_FLOWS);
		if (interval > 1)
			FR_SET(r, FR_SAMPLING);
		ex->st.records++;
		c->emit(c->emit_arg, r);
	}
	return NF_OK;
}
