/*
 * Unit tests for the NetFlow v5 decoder (proto/netflow_v5.c) and the
 * version dispatch / sequence accounting of proto/netflow.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "proto/netflow.h"
#include "proto/wire_put.h"

/* ---- datagram builder --------------------------------------------------- */

struct v5hdr {
	uint16_t version, count;
	uint32_t uptime, secs, nsecs, seq;
	uint8_t etype, eid;
	uint16_t sampling;
};

struct v5rec {
	uint32_t src, dst, nh;
	uint16_t in, out;
	uint32_t pkts, octets, first, last;
	uint16_t sport, dport;
	uint8_t flags, proto, tos;
	uint16_t sas, das;
	uint8_t smask, dmask;
};

/* Header then nrec records; returns the length (24 + 48 * nrec). */
static size_t build(uint8_t *buf, const struct v5hdr *h, const struct v5rec *r, unsigned nrec)
{
	uint8_t *p = buf;
	p = put16(p, h->version);
	p = put16(p, h->count);
	p = put32(p, h->uptime);
	p = put32(p, h->secs);
	p = put32(p, h->nsecs);
	p = put32(p, h->seq);
	*p++ = h->etype;
	*p++ = h->eid;
	p = put16(p, h->sampling);
	for (unsigned i = 0; i < nrec; i++) {
		p = put32(p, r[i].src);
		p = put32(p, r[i].dst);
		p = put32(p, r[i].nh);
		p = put16(p, r[i].in);
		p = put16(p, r[i].out);
		p = put32(p, r[i].pkts);
		p = put32(p, r[i].octets);
		p = put32(p, r[i].first);
		p = put32(p, r[i].last);
		p = put16(p, r[i].sport);
		p = put16(p, r[i].dport);
		*p++ = 0xee; /* pad1: must be ignored */
		*p++ = r[i].flags;
		*p++ = r[i].proto;
		*p++ = r[i].tos;
		p = put16(p, r[i].sas);
		p = put16(p, r[i].das);
		*p++ = r[i].smask;
		*p++ = r[i].dmask;
		*p++ = 0xee; /* pad2 */
		*p++ = 0xee;
	}
	return (size_t)(p - buf);
}

/* ---- emitted records ---------------------------------------------------- */

#define MAX_CAPTURE 64

struct capture {
	struct flow_rec rec[MAX_CAPTURE];
	unsigned n;
};

static void on_emit(void *arg, struct flow_rec *r)
{
	struct capture *cap = arg;
	assert_true(cap->n < MAX_CAPTURE);
	cap->rec[cap->n++] = *r;
}

struct fixture {
	struct nf_collector col;
	struct capture cap;
	struct nf_exporter *ex;
	uint8_t buf[24 + 48 * 40 + 64];
};

static const struct nt_addr EXPORTER = {4, {192, 0, 2, 10}};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	if (nf_collector_init(&f->col, NULL, on_emit, &f->cap) < 0)
		return -1;
	f->ex = nf_exporter_get(&f->col, &EXPORTER, 9995);
	if (!f->ex)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	nf_collector_free(&f->col);
	free(f);
	return 0;
}

static void assert_v4(const struct nt_addr *a, uint32_t ip)
{
	assert_int_equal(a->family, 4);
	assert_int_equal(a->a[0], (ip >> 24) & 0xff);
	assert_int_equal(a->a[1], (ip >> 16) & 0xff);
	assert_int_equal(a->a[2], (ip >> 8) & 0xff);
	assert_int_equal(a->a[3], ip & 0xff);
	for (int i = 4; i < 16; i++)
		assert_int_equal(a->a[i], 0);
}

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const struct v5hdr HDR = {
    .version = 5,
    .count = 1,
    .uptime = 100000, /* ms */
    .secs = 1700000000,
    .nsecs = 123456789,
    .seq = 1000,
    .etype = 3,
    .eid = 7,
    .sampling = 0x4000 | 100, /* mode 1, 1-in-100 */
};

static const struct v5rec REC1 = {
    .src = IP(10, 1, 2, 3),
    .dst = IP(192, 168, 100, 200),
    .nh = IP(172, 16, 0, 1),
    .in = 11,
    .out = 65535,
    .pkts = 4000000000u,
    .octets = 0xfffffffeu,
    .first = 90000,
    .last = 99000,
    .sport = 443,
    .dport = 51234,
    .flags = 0x1b,
    .proto = 6,
    .tos = 0xb8,
    .sas = 64512,
    .das = 15169,
    .smask = 24,
    .dmask = 16,
};

static const nt_usec EXPORT_USEC = 1700000000ull * 1000000u + 123456u;

static void test_one_record(void **state)
{
	struct fixture *f = *state;
	size_t len = build(f->buf, &HDR, &REC1, 1);
	assert_int_equal(len, 72);
	assert_int_equal(nf_decode(&f->col, f->ex, f->buf, len, 1700000001000000ull), NF_OK);
	assert_int_equal(f->cap.n, 1);
	const struct flow_rec *r = &f->cap.rec[0];
	assert_v4(&r->src_addr, REC1.src);
	assert_v4(&r->dst_addr, REC1.dst);
	/* the v5 next hop is the IP next hop, not the BGP next hop: not peer_dst_ip */
	assert_int_equal(r->peer_dst_ip.family, 0);
	assert_false(FR_HAS(r, FR_PEER_DST_IP));
	assert_int_equal(r->peer_src_ip.family, 4);
	assert_memory_equal(r->peer_src_ip.a, EXPORTER.a, 16);
	assert_int_equal(r->in_iface, 11);
	assert_int_equal(r->out_iface, 65535);
	assert_int_equal(r->packets, 4000000000u);
	assert_int_equal(r->bytes, 0xfffffffeu);
	assert_int_equal(r->flows, 1);
	assert_int_equal(r->src_port, 443);
	assert_int_equal(r->dst_port, 51234);
	assert_int_equal(r->tcp_flags, 0x1b);
	assert_int_equal(r->proto, 6);
	assert_int_equal(r->tos, 0xb8);
	assert_int_equal(r->src_as, 64512);
	assert_int_equal(r->dst_as, 15169);
	assert_int_equal(r->src_mask, 24);
	assert_int_equal(r->dst_mask, 16);
	assert_int_equal(r->sampling_rate, 100);
	assert_true(FR_HAS(r, FR_SAMPLING));
	assert_int_equal(r->engine_type, 3);
	assert_int_equal(r->engine_id, 7);
	assert_int_equal(r->export_version, 5);
	assert_int_equal(r->export_seqno, 1000);
	assert_int_equal(r->export_sysid, 3u << 8 | 7u);
	assert_int_equal(r->ts_export, EXPORT_USEC);
	assert_int_equal(r->ts_arrival, 1700000001000000ull);
	/* start = export time - (uptime - first) ms */
	assert_int_equal(r->ts_start, EXPORT_USEC - 10000ull * 1000u);
	assert_int_equal(r->ts_end, EXPORT_USEC - 1000ull * 1000u);
	static const enum fr_field present[] = {
	    FR_SRC_ADDR,  FR_DST_ADDR,	  FR_SRC_MASK,	FR_DST_MASK, FR_SRC_PORT, FR_DST_PORT,
	    FR_PROTO,	  FR_TOS,	  FR_TCP_FLAGS, FR_SRC_AS,   FR_DST_AS,	  FR_IN_IFACE,
	    FR_OUT_IFACE, FR_PEER_SRC_IP, FR_TS_START,	FR_TS_END,   FR_ENGINE,	  FR_FLOWS};
	for (size_t i = 0; i < sizeof present / sizeof present[0]; i++)
		assert_true(FR_HAS(r, present[i]));
	assert_false(FR_HAS(r, FR_SRC_MAC));
	assert_false(FR_HAS(r, FR_MPLS));
	assert_false(FR_HAS(r, FR_VLAN_IN));
	assert_false(FR_HAS(r, FR_FWD_STATUS));
	assert_int_equal(r->mpls_depth, 0);
	assert_int_equal(f->ex->st.datagrams, 1);
	assert_int_equal(f->ex->st.records, 1);
	assert_int_equal(f->ex->st.seq_gaps, 0);
	for (int e = 0; e < NF_ERR__COUNT; e++)
		assert_int_equal(f->ex->st.err[e], 0);
}

static void test_sampling_bits(void **state)
{
	struct fixture *f = *state;
	static const struct {
		uint16_t field;
		uint32_t interval;
		int flagged;
	} cases[] = {
	    {0x0000, 0, 0},
	    {0x0001, 1, 0},
	    {0x4001, 1, 0},
	    {0x8000 | 1000, 1000, 1},
	    {0xc000 | 0x3fff, 0x3fff, 1},
	    {0x3fff, 0x3fff, 1},
	    {0x0002, 2, 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct v5hdr h = HDR;
		h.sampling = cases[i].field;
		h.seq = (uint32_t)(5000 + i);
		f->cap.n = 0;
		size_t len = build(f->buf, &h, &REC1, 1);
		assert_int_equal(nf5_decode(&f->col, f->ex, f->buf, len, 0), NF_OK);
		assert_int_equal(f->cap.n, 1);
		assert_int_equal(f->cap.rec[0].sampling_rate, cases[i].interval);
		assert_int_equal(FR_HAS(&f->cap.rec[0], FR_SAMPLING), cases[i].flagged);
	}
}

static void test_thirty_records(void **state)
{
	struct fixture *f = *state;
	struct v5rec r[30];
	struct v5hdr h = HDR;
	h.count = 30;
	for (unsigned i = 0; i < 30; i++) {
		r[i] = REC1;
		r[i].src = IP(10, 0, 0, i + 1);
		r[i].dst = IP(10, 0, 1, i + 1);
		r[i].nh = IP(10, 0, 2, i + 1);
		r[i].in = (uint16_t)(100 + i);
		r[i].out = (uint16_t)(200 + i);
		r[i].pkts = i + 1;
		r[i].octets = (i + 1) * 1000;
		r[i].first = 50000 + i * 100;
		r[i].last = 60000 + i * 100;
		r[i].sport = (uint16_t)(1000 + i);
		r[i].dport = (uint16_t)(2000 + i);
		r[i].proto = i % 2 ? 17 : 6;
		r[i].flags = (uint8_t)i;
		r[i].tos = (uint8_t)(i * 4);
		r[i].sas = (uint16_t)(65000 + i);
		r[i].das = (uint16_t)(64000 + i);
		r[i].smask = (uint8_t)i;
		r[i].dmask = (uint8_t)(32 - i);
	}
	size_t len = build(f->buf, &h, r, 30);
	assert_int_equal(len, 24 + 30 * 48);
	assert_int_equal(nf_decode(&f->col, f->ex, f->buf, len, 0), NF_OK);
	assert_int_equal(f->cap.n, 30);
	for (unsigned i = 0; i < 30; i++) {
		const struct flow_rec *x = &f->cap.rec[i];
		assert_v4(&x->src_addr, r[i].src);
		assert_v4(&x->dst_addr, r[i].dst);
		assert_int_equal(x->peer_dst_ip.family, 0);
		assert_memory_equal(x->peer_src_ip.a, EXPORTER.a, 16);
		assert_int_equal(x->in_iface, 100 + i);
		assert_int_equal(x->out_iface, 200 + i);
		assert_int_equal(x->packets, i + 1);
		assert_int_equal(x->bytes, (i + 1) * 1000);
		assert_int_equal(x->src_port, 1000 + i);
		assert_int_equal(x->dst_port, 2000 + i);
		assert_int_equal(x->proto, i % 2 ? 17 : 6);
		assert_int_equal(x->tcp_flags, i);
		assert_int_equal(x->tos, i * 4);
		assert_int_equal(x->src_as, 65000 + i);
		assert_int_equal(x->dst_as, 64000 + i);
		assert_int_equal(x->src_mask, i);
		assert_int_equal(x->dst_mask, 32 - i);
		assert_int_equal(x->export_seqno, 1000);
		assert_int_equal(x->ts_start,
				 EXPORT_USEC - (100000ull - (50000 + i * 100)) * 1000u);
		assert_int_equal(x->ts_end, EXPORT_USEC - (100000ull - (60000 + i * 100)) * 1000u);
	}
	assert_int_equal(f->ex->st.records, 30);
}

static void test_uptime_wrap(void **state)
{
	struct fixture *f = *state;
	struct v5hdr h = HDR;
	struct v5rec r = REC1;
	h.uptime = 1000;       /* sysUptime wrapped ... */
	r.first = 0xffffff00u; /* ... after the flow started: 1256 ms earlier */
	r.last = 500;
	size_t len = build(f->buf, &h, &r, 1);
	assert_int_equal(nf_decode(&f->col, f->ex, f->buf, len, 0), NF_OK);
	assert_int_equal(f->cap.rec[0].ts_start, EXPORT_USEC - 1256ull * 1000u);
	assert_int_equal(f->cap.rec[0].ts_end, EXPORT_USEC - 500ull * 1000u);
}

static void test_truncated_header(void **state)
{
	struct fixture *f = *state;
	size_t len = build(f->buf, &HDR, &REC1, 1);
	(void)len;
	for (size_t l = 0; l < 24; l++) {
		enum nf_err want = l < 2 ? NF_ERR_SHORT : NF_ERR_SHORT;
		assert_int_equal(nf_decode(&f->col, f->ex, f->buf, l, 0), want);
	}
	assert_int_equal(f->cap.n, 0);
	assert_int_equal(f->ex->st.datagrams, 24);
	assert_int_equal(f->ex->st.err[NF_ERR_SHORT], 24);
	assert_int_equal(f->ex->st.records, 0);
	/* direct call too */
	assert_int_equal(nf5_decode(&f->col, f->ex, f->buf, 23, 0), NF_ERR_SHORT);
}

static void test_wrong_version(void **state)
{
	struct fixture *f = *state;
	struct v5hdr h = HDR;
	h.version = 6;
	size_t len = build(f->buf, &h, &REC1, 1);
	assert_int_equal(nf5_decode(&f->col, f->ex, f->buf, len, 0), NF_ERR_VERSION);
	assert_int_equal(nf_decode(&f->col, f->ex, f->buf, len, 0), NF_ERR_VERSION);
	assert_int_equal(f->ex->st.err[NF_ERR_VERSION], 1);
	assert_int_equal(f->cap.n, 0);
}

static void test_count_mismatch(void **state)
{
	struct fixture *f = *state;
	struct v5rec r[31];
	for (int i = 0; i < 31; i++)
		r[i] = REC1;
	struct v5hdr h = HDR;

	/* count says 2, one record present */
	h.count = 2;
	size_t len = build(f->buf, &h, r, 1);
	assert_int_equal(nf_decode(&f->col, f->ex, f->buf, len, 0), NF_ERR_COUNT);
	/* count 2, one and a half records present */
	len = build(f->buf, &h, r, 2);
	assert_int_equal(nf_decode(&f->col, f->ex, f->buf, len - 24, 0), NF_ERR_COUNT);
	/* one byte short of the last record */
	assert_int_equal(nf_decode(&f->col, f->ex, f->buf, len - 1, 0), NF_ERR_COUNT);
	/* count 0 */
	h.count = 0;
	len = build(f->buf, &h, r, 0);
	assert_int_equal(nf_decode(&f->col, f->ex, f->buf, len, 0), NF_ERR_COUNT);
	/* count 0 with a record attached */
	len = build(f->buf, &h, r, 1);
	assert_int_equal(nf_decode(&f->col, f->ex, f->buf, len, 0), NF_ERR_COUNT);
	/* count 31, all present: beyond the v5 ceiling */
	h.count = 31;
	len = build(f->buf, &h, r, 31);
	assert_int_equal(nf_decode(&f->col, f->ex, f->buf, len, 0), NF_ERR_COUNT);
	/* count 65535 */
	h.count = 65535;
	len = build(f->buf, &h, r, 1);
	assert_int_equal(nf_decode(&f->col, f->ex, f->buf, len, 0), NF_ERR_COUNT);

	/* rejected outright: nothing emitted, nothing counted as records */
	assert_int_equal(f->cap.n, 0);
	assert_int_equal(f->ex->st.records, 0);
	assert_int_equal(f->ex->st.err[NF_ERR_COUNT], 7);
	assert_int_equal(f->ex->st.datagrams, 7);
	/* and the sequence state was not touched by the rejected datagrams */
	assert_int_equal(f->ex->st.seq_gaps, 0);
}

static void test_trailing_bytes_tolerated(void **state)
{
	struct fixture *f = *state;
	struct v5hdr h = HDR;
	h.count = 2;
	struct v5rec r[2] = {REC1, REC1};
	size_t len = build(f->buf, &h, r, 2);
	memset(f->buf + len, 0xab, 17);
	assert_int_equal(nf_decode(&f->col, f->ex, f->buf, len + 17, 0), NF_OK);
	assert_int_equal(f->cap.n, 2);
	assert_int_equal(f->ex->st.records, 2);
	/* a whole extra record beyond count is ignored too */
	f->cap.n = 0;
	h.count = 1;
	h.seq = 1002;
	len = build(f->buf, &h, r, 2);
	assert_int_equal(nf_decode(&f->col, f->ex, f->buf, len, 0), NF_OK);
	assert_int_equal(f->cap.n, 1);
	assert_int_equal(f->ex->st.seq_gaps, 0);
}

static enum nf_err send_seq(struct fixture *f, uint32_t seq, uint16_t count, uint8_t etype,
			    uint8_t eid)
{
	struct v5rec r[30];
	for (int i = 0; i < 30; i++)
		r[i] = REC1;
	struct v5hdr h = HDR;
	h.seq = seq;
	h.count = count;
	h.etype = etype;
	h.eid = eid;
	size_t len = build(f->buf, &h, r, count);
	return nf_decode(&f->col, f->ex, f->buf, len, 0);
}

static void test_sequence_consecutive(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(send_seq(f, 100, 5, 0, 0), NF_OK);
	assert_int_equal(send_seq(f, 105, 30, 0, 0), NF_OK);
	assert_int_equal(send_seq(f, 135, 1, 0, 0), NF_OK);
	assert_int_equal(send_seq(f, 136, 2, 0, 0), NF_OK);
	assert_int_equal(f->ex->st.seq_gaps, 0);
	assert_int_equal(f->ex->st.lost_flows, 0);
	assert_int_equal(f->ex->st.records, 38);
	assert_int_equal(f->ex->st.datagrams, 4);
}

static void test_sequence_gap(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(send_seq(f, 100, 5, 0, 0), NF_OK);
	assert_int_equal(send_seq(f, 115, 5, 0, 0), NF_OK); /* 10 flows lost */
	assert_int_equal(f->ex->st.seq_gaps, 1);
	assert_int_equal(f->ex->st.lost_flows, 10);
	assert_int_equal(send_seq(f, 120, 5, 0, 0), NF_OK); /* back in step */
	assert_int_equal(f->ex->st.seq_gaps, 1);
	assert_int_equal(send_seq(f, 200, 1, 0, 0), NF_OK); /* 75 more */
	assert_int_equal(f->ex->st.seq_gaps, 2);
	assert_int_equal(f->ex->st.lost_flows, 85);
	/* a step backwards (reorder or restart) is a reset: it loses nothing */
	assert_int_equal(send_seq(f, 50, 1, 0, 0), NF_OK);
	assert_int_equal(f->ex->st.seq_gaps, 2);
	assert_int_equal(f->ex->st.seq_resets, 1);
	assert_int_equal(f->ex->st.lost_flows, 85);
	assert_int_equal(send_seq(f, 51, 1, 0, 0), NF_OK);
	assert_int_equal(f->ex->st.seq_gaps, 2);
	assert_int_equal(f->ex->st.seq_resets, 1);
}

/* Like send_seq() for engine 0/0, with the header's sysUptime. */
static void send_seq_up(struct fixture *f, uint32_t seq, uint16_t count, uint32_t uptime)
{
	struct v5rec r[30];
	for (int i = 0; i < 30; i++)
		r[i] = REC1;
	struct v5hdr h = HDR;
	h.seq = seq;
	h.count = count;
	h.uptime = uptime;
	size_t len = build(f->buf, &h, r, count);
	assert_int_equal(nf_decode(&f->col, f->ex, f->buf, len, 0), NF_OK);
}

static void test_sequence_restart_is_not_loss(void **state)
{
	struct fixture *f = *state;
	/*
	 * The exporter restarts and starts its new sequence ahead of the old one
	 * (random initial sequence): only its sysUptime, back to a few seconds,
	 * tells.  Counting the jump would report 1.2 million lost flows.
	 */
	send_seq_up(f, 1000, 10, 50000000);
	send_seq_up(f, 1010, 10, 50001000);
	send_seq_up(f, 1200000, 10, 3000);
	assert_int_equal(f->ex->st.seq_gaps, 0);
	assert_int_equal(f->ex->st.lost_flows, 0);
	assert_int_equal(f->ex->st.seq_resets, 1);
	/* the new sequence is then followed normally, losses included */
	send_seq_up(f, 1200010, 10, 4000);
	send_seq_up(f, 1200025, 10, 5000);
	assert_int_equal(f->ex->st.seq_resets, 1);
	assert_int_equal(f->ex->st.seq_gaps, 1);
	assert_int_equal(f->ex->st.lost_flows, 5);
}

static void test_sequence_backwards_and_far_jumps_are_resets(void **state)
{
	struct fixture *f = *state;
	/* 3e9 -> 0 is 1.29e9 ahead modulo 2^32: the uptime shows the restart */
	send_seq_up(f, 3000000000u, 10, 90000000);
	send_seq_up(f, 0, 10, 2000);
	assert_int_equal(f->ex->st.seq_resets, 1);
	/* a jump of 2^31 or more is a reset, whatever the uptime */
	send_seq_up(f, 10 + 0x80000000u, 10, 3000);
	assert_int_equal(f->ex->st.seq_resets, 2);
	/* and so is a step backwards */
	send_seq_up(f, 5 + 0x80000000u, 10, 4000);
	assert_int_equal(f->ex->st.seq_resets, 3);
	assert_int_equal(f->ex->st.seq_gaps, 0);
	assert_int_equal(f->ex->st.lost_flows, 0);
}

/* sysUptime wraps after 49.7 days: that is not a restart */
static void test_sequence_uptime_wrap_is_not_reset(void **state)
{
	struct fixture *f = *state;
	send_seq_up(f, 100, 10, 0xffffff00u);
	send_seq_up(f, 110, 10, 0x00000100u);
	send_seq_up(f, 125, 10, 0x00000200u); /* 5 lost */
	assert_int_equal(f->ex->st.seq_resets, 0);
	assert_int_equal(f->ex->st.seq_gaps, 1);
	assert_int_equal(f->ex->st.lost_flows, 5);
}

static void test_sequence_wraps(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(send_seq(f, 0xfffffffeu, 2, 0, 0), NF_OK);
	assert_int_equal(send_seq(f, 0, 3, 0, 0), NF_OK);
	assert_int_equal(send_seq(f, 3, 1, 0, 0), NF_OK);
	assert_int_equal(f->ex->st.seq_gaps, 0);
	assert_int_equal(f->ex->st.lost_flows, 0);
}

static void test_sequence_per_engine(void **state)
{
	struct fixture *f = *state;
	/* two engines of one exporter interleave: each has its own sequence */
	assert_int_equal(send_seq(f, 1000, 10, 0, 1), NF_OK);
	assert_int_equal(send_seq(f, 7, 3, 0, 2), NF_OK);
	assert_int_equal(send_seq(f, 1010, 10, 0, 1), NF_OK);
	assert_int_equal(send_seq(f, 10, 3, 0, 2), NF_OK);
	assert_int_equal(send_seq(f, 500, 1, 1, 1), NF_OK); /* engine type differs */
	assert_int_equal(send_seq(f, 1020, 1, 0, 1), NF_OK);
	assert_int_equal(send_seq(f, 501, 1, 1, 1), NF_OK);
	assert_int_equal(f->ex->st.seq_gaps, 0);
	assert_int_equal(send_seq(f, 20, 1, 0, 2), NF_OK); /* 7 lost on engine 2 */
	assert_int_equal(f->ex->st.seq_gaps, 1);
	assert_int_equal(f->ex->st.lost_flows, 7);
}

static void test_exporters_separate(void **state)
{
	struct fixture *f = *state;
	struct nt_addr other = {4, {192, 0, 2, 11}};
	struct nf_exporter *ex2 = nf_exporter_get(&f->col, &other, 0);
	assert_non_null(ex2);
	assert_ptr_not_equal(ex2, f->ex);
	assert_ptr_equal(nf_exporter_get(&f->col, &EXPORTER, 0), f->ex);
	assert_int_equal(f->col.nexporters, 2);

	/* records from ex2 carry ex2's address as peer_src_ip */
	size_t len = build(f->buf, &HDR, &REC1, 1);
	assert_int_equal(nf_decode(&f->col, ex2, f->buf, len, 0), NF_OK);
	assert_memory_equal(f->cap.rec[0].peer_src_ip.a, other.a, 16);
	/* and its sequence state is its own */
	assert_int_equal(nf_decode(&f->col, f->ex, f->buf, len, 0), NF_OK);
	assert_int_equal(f->ex->st.seq_gaps, 0);
	assert_int_equal(ex2->st.seq_gaps, 0);
	assert_int_equal(ex2->st.datagrams, 1);
	assert_int_equal(f->ex->st.datagrams, 1);
}

/*
 * Exporters are keyed by address only: an exporter restarted on a new source
 * port is the same exporter, its sequence state carries on.
 */
static void test_exporter_keyed_by_address(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(send_seq(f, 100, 5, 0, 0), NF_OK);
	struct nf_exporter *again = nf_exporter_get(&f->col, &EXPORTER, 40000);
	assert_ptr_equal(again, f->ex);
	assert_int_equal(again->port, 40000);
	assert_int_equal(f->col.nexporters, 1);
	assert_int_equal(send_seq(f, 115, 5, 0, 0), NF_OK); /* 10 lost, seen on the same state */
	assert_int_equal(again->st.seq_gaps, 1);
	assert_int_equal(again->st.lost_flows, 10);
	assert_int_equal(again->st.datagrams, 2);
}

static void test_dispatch_unknown_version(void **state)
{
	struct fixture *f = *state;
	static const uint16_t versions[] = {0, 1, 4, 6, 7, 11, 0xffff};
	for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
		struct v5hdr h = HDR;
		h.version = versions[i];
		size_t len = build(f->buf, &h, &REC1, 1);
		assert_int_equal(nf_decode(&f->col, f->ex, f->buf, len, 0), NF_ERR_VERSION);
	}
	assert_int_equal(f->ex->st.err[NF_ERR_VERSION], 7);
	assert_int_equal(f->ex->st.datagrams, 7);
	/* two bytes are enough to know the version */
	uint8_t two[2] = {0, 42};
	assert_int_equal(nf_decode(&f->col, f->ex, two, 2, 0), NF_ERR_VERSION);
	uint8_t one[1] = {0};
	assert_int_equal(nf_decode(&f->col, f->ex, one, 1, 0), NF_ERR_SHORT);
	assert_int_equal(nf_decode(&f->col, f->ex, one, 0, 0), NF_ERR_SHORT);
	assert_int_equal(f->ex->st.err[NF_ERR_SHORT], 2);
	assert_int_equal(f->cap.n, 0);
}

static void test_err_names(void **state)
{
	(void)state;
	assert_string_equal(nf_err_name(NF_OK), "ok");
	for (int e = 0; e < NF_ERR__COUNT; e++) {
		assert_non_null(nf_err_name((enum nf_err)e));
		for (int g = 0; g < e; g++)
			assert_string_not_equal(nf_err_name((enum nf_err)e),
						nf_err_name((enum nf_err)g));
	}
	assert_string_equal(nf_err_name(NF_ERR__COUNT), "unknown");
}

/* Every prefix and every single-byte corruption of a valid datagram is safe. */
static void test_fuzz_prefixes_and_flips(void **state)
{
	struct fixture *f = *state;
	struct v5rec r[3] = {REC1, REC1, REC1};
	struct v5hdr h = HDR;
	h.count = 3;
	uint8_t orig[24 + 3 * 48];
	size_t len = build(orig, &h, r, 3);
	for (size_t l = 0; l <= len; l++) {
		/* exact-size heap copy so ASan catches any overread */
		uint8_t *copy = malloc(l ? l : 1);
		memcpy(copy, orig, l);
		enum nf_err e = nf_decode(&f->col, f->ex, copy, l, 0);
		assert_int_equal(e, l == len ? NF_OK : l < 24 ? NF_ERR_SHORT : NF_ERR_COUNT);
		free(copy);
	}
	for (size_t i = 0; i < len; i++)
		for (unsigned bit = 0; bit < 8; bit++) {
			uint8_t *copy = malloc(len);
			memcpy(copy, orig, len);
			copy[i] ^= (uint8_t)(1u << bit);
			f->cap.n = 0;
			(void)nf_decode(&f->col, f->ex, copy, len, 0);
			assert_true(f->cap.n <= 3);
			free(copy);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_one_record, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sampling_bits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thirty_records, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_uptime_wrap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_header, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_count_mismatch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_trailing_bytes_tolerated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sequence_consecutive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sequence_gap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sequence_wraps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sequence_per_engine, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exporters_separate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exporter_keyed_by_address, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sequence_restart_is_not_loss, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sequence_backwards_and_far_jumps_are_resets, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sequence_uptime_wrap_is_not_reset, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_dispatch_unknown_version, setup, teardown),
	    cmocka_unit_test(test_err_names),
	    cmocka_unit_test_setup_teardown(test_fuzz_prefixes_and_flips, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
