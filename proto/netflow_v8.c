/*
 * NetFlow v8: router-based aggregation (Cisco "NetFlow Export Datagram
 * Format", version 8).
 *
 *   header (28 bytes)
 *   |vers|count|sysUptime|unix_secs|unix_nsecs|flow_sequence|engine_type(1)|engine_id(1)|
 *   |aggregation(1)|agg_version(1)|reserved(4)|
 *
 *   every record starts with
 *   |flows(4)|dPkts(4)|dOctets(4)|First(4)|Last(4)|  then a scheme-specific tail:
 *
 *   1  AS              src_as(2) dst_as(2) input(2) output(2)                       28 B
 *   2  ProtoPort       prot(1) pad(1) reserved(2) srcport(2) dstport(2)             28 B
 *   3  SrcPrefix       srcprefix(4) src_mask(1) pad(1) src_as(2) input(2) rsvd(2)   32 B
 *   4  DstPrefix       dstprefix(4) dst_mask(1) pad(1) dst_as(2) output(2) rsvd(2)  32 B
 *   5  Prefix          srcprefix(4) dstprefix(4) dst_mask(1) src_mask(1) rsvd(2)
 *                      src_as(2) dst_as(2) input(2) output(2)                       40 B
 *   9  AS-ToS          src_as dst_as input output tos(1) pad(1) rsvd(2)             32 B
 *  10  ProtoPort-ToS   prot(1) tos(1) rsvd(2) srcport dstport input output          32 B
 *  11  SrcPrefix-ToS   srcprefix src_mask(1) tos(1) src_as input rsvd(2)            32 B
 *  12  DstPrefix-ToS   dstprefix dst_mask(1) tos(1) dst_as output rsvd(2)           32 B
 *  13  Prefix-ToS      srcprefix dstprefix dst_mask src_mask tos(1) pad(1)
 *                      src_as dst_as input output                                   40 B
 *  14  PrefixPort      srcprefix dstprefix dst_mask src_mask tos prot
 *                      srcport dstport input output                                 40 B
 *
 * The cache-based schemes 6-8 (DestOnly, SrcDst, FullFlow) are not decoded:
 * they belong to Catalyst MLS and carry no counters in the same layout; such
 * datagrams count as bad_version.  Prefixes are reported as the flow's
 * addresses with their masks, as a v5 collector would see an aggregate.
 */
#include "proto/cursor.h"
#include "proto/netflow.h"

#define NF8_HDR_LEN 28

struct v8_scheme {
	uint8_t agg;
	uint8_t rec_len;
	uint8_t max_count; /* records that fit the 1500-byte datagram the spec allows */
};

static const struct v8_scheme schemes[] = {
    {1, 28, 51},  {2, 28, 51},	{3, 32, 44},  {4, 32, 44},  {5, 40, 35},  {9, 32, 44},
    {10, 32, 44}, {11, 32, 44}, {12, 32, 44}, {13, 40, 35}, {14, 40, 35},
};

static const struct v8_scheme *scheme_of(uint8_t agg)
{
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (schemes[i].agg == agg)
			return &schemes[i];
	return NULL;
}

static void v4(struct nt_addr *a, uint32_t ip)
{
	a->family = 4;
	a->a[0] = (uint8_t)(ip >> 24);
	a->a[1] = (uint8_t)(ip >> 16);
	a->a[2] = (uint8_t)(ip >> 8);
	a->a[3] = (uint8_t)ip;
}

#define BIT(f) (1ull << (f))

/* Scheme-specific tail of one record; rc holds exactly rec_len - 20 bytes. */
static void v8_tail(uint8_t agg, struct cursor *rc, struct flow_rec *r)
{
	uint32_t src = 0, dst = 0;
	uint16_t sas = 0, das = 0, in = 0, out = 0, sport = 0, dport = 0;
	uint8_t smask = 0, dmask = 0, tos = 0, proto = 0, pad;
	uint64_t p = 0;

	switch (agg) {
	case 1:
	case 9:
		cur_u16(rc, &sas);
		cur_u16(rc, &das);
		cur_u16(rc, &in);
		cur_u16(rc, &out);
		p = BIT(FR_SRC_AS) | BIT(FR_DST_AS) | BIT(FR_IN_IFACE) | BIT(FR_OUT_IFACE);
		if (agg == 9) {
			cur_u8(rc, &tos);
			p |= BIT(FR_TOS);
		}
		break;
	case 2:
	case 10:
		cur_u8(rc, &proto);
		cur_u8(rc, &tos); /* pad in scheme 2 */
		cur_skip(rc, 2);
		cur_u16(rc, &sport);
		cur_u16(rc, &dport);
		p = BIT(FR_PROTO) | BIT(FR_SRC_PORT) | BIT(FR_DST_PORT);
		if (agg == 10) {
			cur_u16(rc, &in);
			cur_u16(rc, &out);
			p |= BIT(FR_TOS) | BIT(FR_IN_IFACE) | BIT(FR_OUT_IFACE);
		} else {
			tos = 0;
		}
		break;
	case 3:
	case 11:
		cur_u32(rc, &src);
		cur_u8(rc, &smask);
		cur_u8(rc, &tos);
		cur_u16(rc, &sas);
		cur_u16(rc, &in);
		p = BIT(FR_SRC_ADDR) | BIT(FR_SRC_MASK) | BIT(FR_SRC_AS) | BIT(FR_IN_IFACE);
		if (agg == 11)
			p |= BIT(FR_TOS);
		else
			tos = 0;
		break;
	case 4:
	case 12:
		cur_u32(rc, &dst);
		cur_u8(rc, &dmask);
		cur_u8(rc, &tos);
		cur_u16(rc, &das);
		cur_u16(rc, &out);
		p = BIT(FR_DST_ADDR) | BIT(FR_DST_MASK) | BIT(FR_DST_AS) | BIT(FR_OUT_IFACE);
		if (agg == 12)
			p |= BIT(FR_TOS);
		else
			tos = 0;
		break;
	case 5:
	case 13:
	case 14:
		cur_u32(rc, &src);
		cur_u32(rc, &dst);
		cur_u8(rc, &dmask);
		cur_u8(rc, &smask);
		p = BIT(FR_SRC_ADDR) | BIT(FR_DST_ADDR) | BIT(FR_SRC_MASK) | BIT(FR_DST_MASK) |
		    BIT(FR_IN_IFACE) | BIT(FR_OUT_IFACE);
		if (agg == 5) {
			cur_skip(rc, 2);
		} else if (agg == 13) {
			cur_u8(rc, &tos);
			cur_u8(rc, &pad);
			p |= BIT(FR_TOS);
		} else {
			cur_u8(rc, &tos);
			cur_u8(rc, &proto);
			p |= BIT(FR_TOS) | BIT(FR_PROTO) | BIT(FR_SRC_PORT) | BIT(FR_DST_PORT);
		}
		if (agg == 14) {
			cur_u16(rc, &sport);
			cur_u16(rc, &dport);
		} else {
			cur_u16(rc, &sas);
			cur_u16(rc, &das);
			p |= BIT(FR_SRC_AS) | BIT(FR_DST_AS);
		}
		cur_u16(rc, &in);
		cur_u16(rc, &out);
		break;
	default:
		break;
	}
	if (p & BIT(FR_SRC_ADDR))
		v4(&r->src_addr, src);
	if (p & BIT(FR_DST_ADDR))
		v4(&r->dst_addr, dst);
	r->src_as = sas;
	r->dst_as = das;
	r->in_iface = in;
	r->out_iface = out;
	r->src_port = sport;
	r->dst_port = dport;
	r->src_mask = smask;
	r->dst_mask = dmask;
	r->tos = tos;
	r->proto = proto;
	r->present |= p;
}

enum nf_err nf8_decode(struct nf_collector *c, struct nf_exporter *ex, const uint8_t *buf,
		       size_t len, nt_usec arrival)
{
	struct cursor cur = cur_make(buf, len);
	struct nf_legacy_hdr h;
	uint8_t agg, agg_version;

	/* checked reads, not just a length test: gcc -O2 must see every field set */
	if (len < NF8_HDR_LEN || nf_legacy_hdr_read(&cur, &h) < 0 || cur_u8(&cur, &agg) < 0 ||
	    cur_u8(&cur, &agg_version) < 0 || cur_skip(&cur, 4) < 0)
		return NF_ERR_SHORT;
	uint16_t version = h.version, count = h.count;
	uint32_t uptime = h.uptime_ms, seq = h.seq;
	uint8_t engine_type = h.engine_type, engine_id = h.engine_id;
	if (version != 8)
		return NF_ERR_VERSION;
	const struct v8_scheme *sc = scheme_of(agg);
	if (!sc)
		return NF_ERR_VERSION;
	if (count == 0 || count > sc->max_count || cur_left(&cur) < (size_t)count * sc->rec_len)
		return NF_ERR_COUNT;

	/* v8 sequences count flows, like v5 */
	uint32_t domain = (uint32_t)engine_type << 8 | engine_id;
	struct nf_seq_in sq = {.version = 8,
			       .domain = domain,
			       .seq = seq,
			       .advance = count,
			       .uptime_ms = uptime,
			       .has_uptime = 1};
	nf_seq_check(ex, &sq);

	nt_usec export_usec = nf_legacy_export_usec(&h);
	struct flow_rec *r = &c->rec;
	for (unsigned i = 0; i < count; i++) {
		struct cursor rc = {0};
		uint32_t flows = 0, pkts = 0, octets = 0, first = 0, last = 0;

		cur_sub(&cur, sc->rec_len, &rc); /* length checked against count above */
		flow_rec_clear(r);
		cur_u32(&rc, &flows);
		cur_u32(&rc, &pkts);
		cur_u32(&rc, &octets);
		cur_u32(&rc, &first);
		cur_u32(&rc, &last);
		v8_tail(agg, &rc, r);
		r->flows = flows;
		r->packets = pkts;
		r->bytes = octets;
		r->ts_start = nf_uptime_to_usec(export_usec, uptime, first);
		r->ts_end = nf_uptime_to_usec(export_usec, uptime, last);
		r->peer_src_ip = ex->addr;
		r->engine_type = engine_type;
		r->engine_id = engine_id;
		r->export_version = 8;
		r->export_seqno = seq;
		r->export_sysid = domain;
		r->ts_arrival = arrival;
		r->ts_export = export_usec;
		r->present |= BIT(FR_PEER_SRC_IP) | BIT(FR_TS_START) | BIT(FR_TS_END) |
			      BIT(FR_ENGINE) | BIT(FR_FLOWS);
		ex->st.records++;
		c->emit(c->emit_arg, r);
	}
	return NF_OK;
}
