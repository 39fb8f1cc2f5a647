/*
 * Unit tests for the sFlow decoder (proto/sflow.c): one test per record
 * type from hand-built datagrams, counter samples, v2/v4 layouts, agent
 * state and sequence accounting, and malformations: truncation at every
 * length, every length field made to claim more than there is, unknown
 * formats skipped by their length.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sflow.h"

/* ---- datagram builder --------------------------------------------------- */

struct buf {
	uint8_t d[8192];
	size_t n;
	size_t lenpos[16]; /* open length fields */
	unsigned nlen;
	size_t fields[64]; /* offsets of every length field written, for the length tests */
	unsigned nfields;
};

static void b32(struct buf *b, uint32_t v)
{
	b->d[b->n++] = (uint8_t)(v >> 24);
	b->d[b->n++] = (uint8_t)(v >> 16);
	b->d[b->n++] = (uint8_t)(v >> 8);
	b->d[b->n++] = (uint8_t)v;
}

static void b64(struct buf *b, uint64_t v)
{
	b32(b, (uint32_t)(v >> 32));
	b32(b, (uint32_t)v);
}

static void bbytes(struct buf *b, const void *p, size_t n)
{
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

/* Open a length field (filled by close_len with the bytes written since). */
static void open_len(struct buf *b)
{
	b->fields[b->nfields++] = b->n;
	b->lenpos[b->nlen++] = b->n;
	b32(b, 0);
}

static void close_len(struct buf *b)
{
	size_t at = b->lenpos[--b->nlen];
	uint32_t v = (uint32_t)(b->n - at - 4);
	b->d[at] = (uint8_t)(v >> 24);
	b->d[at + 1] = (uint8_t)(v >> 16);
	b->d[at + 2] = (uint8_t)(v >> 8);
	b->d[at + 3] = (uint8_t)v;
}

static void opaque(struct buf *b, const void *p, uint32_t n)
{
	b->fields[b->nfields++] = b->n;
	b32(b, n);
	bbytes(b, p, n);
	while (b->n % 4)
		b->d[b->n++] = 0;
}

static void addr4(struct buf *b, const char *a)
{
	uint8_t x[4];
	inet_pton(AF_INET, a, x);
	b32(b, 1);
	bbytes(b, x, 4);
}

static void addr6(struct buf *b, const char *a)
{
	uint8_t x[16];
	inet_pton(AF_INET6, a, x);
	b32(b, 2);
	bbytes(b, x, 16);
}

static void v5_header(struct buf *b, const char *agent, uint32_t sub, uint32_t seq,
		      uint32_t nsamples)
{
	memset(b, 0, sizeof *b);
	b32(b, 5);
	if (strchr(agent, ':'))
		addr6(b, agent);
	else
		addr4(b, agent);
	b32(b, sub);
	b32(b, seq);
	b32(b, 1000 + seq);
	b32(b, nsamples);
}

/* Compact flow sample header: format, length (opened), fields, #records. */
static void flow_sample_begin(struct buf *b, uint32_t rate, uint32_t in, uint32_t out,
			      uint32_t nrec)
{
	b32(b, 1);
	open_len(b);
	b32(b, 1);	     /* sample sequence */
	b32(b, 0 << 24 | 7); /* source id: ifIndex 7 */
	b32(b, rate);
	b32(b, rate);
	b32(b, 0);
	b32(b, in);
	b32(b, out);
	b32(b, nrec);
}

static void rec_ipv4(struct buf *b, uint32_t len, uint8_t proto, const char *src, const char *dst,
		     uint16_t sport, uint16_t dport)
{
	uint8_t x[4];
	b32(b, 3);
	open_len(b);
	b32(b, len);
	b32(b, proto);
	inet_pton(AF_INET, src, x);
	bbytes(b, x, 4);
	inet_pton(AF_INET, dst, x);
	bbytes(b, x, 4);
	b32(b, sport);
	b32(b, dport);
	b32(b, 0x18);
	b32(b, 0x20);
	close_len(b);
}

static void rec_switch(struct buf *b, uint32_t sv, uint32_t sp, uint32_t dv, uint32_t dp)
{
	b32(b, 1001);
	open_len(b);
	b32(b, sv);
	b32(b, sp);
	b32(b, dv);
	b32(b, dp);
	close_len(b);
}

/* ---- the collector under test ------------------------------------------ */

#define MAX_RECS 16

struct got {
	struct flow_rec rec[MAX_RECS];
	char as_path[MAX_RECS][SF_TEXT_MAX], comms[MAX_RECS][SF_TEXT_MAX];
	unsigned n;
	struct sf_counters cnt[MAX_RECS];
	unsigned ncnt;
};

static void on_rec(void *arg, struct flow_rec *r)
{
	struct got *g = arg;
	if (g->n < MAX_RECS) {
		g->rec[g->n] = *r;
		/* the texts live in the collector until the next sample: copy them */
		if (r->as_path)
			snprintf(g->as_path[g->n], SF_TEXT_MAX, "%s", r->as_path);
		if (r->std_comm)
			snprintf(g->comms[g->n], SF_TEXT_MAX, "%s", r->std_comm);
	}
	g->n++;
}

static void on_cnt(void *arg, const struct sf_counters *c)
{
	struct got *g = arg;
	if (g->ncnt < MAX_RECS)
		g->cnt[g->ncnt] = *c;
	g->ncnt++;
}

struct fx {
	struct sf_collector sf;
	struct got got;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_int_equal(sf_collector_init(&f->sf, NULL, on_rec, &f->got, on_cnt, &f->got), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	sf_collector_free(&f->sf);
	free(f);
	return 0;
}

/* Decode from an exact-size heap copy, so ASan sees any read past the end. */
static enum sf_err decode(struct fx *f, const uint8_t *d, size_t n, struct sf_agent **a)
{
	uint8_t *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	memcpy(copy, d, n);
	enum sf_err e = sf_decode(&f->sf, copy, n, 1700000000000000ull, a);
	free(copy);
	return e;
}

static void assert_addr4(const struct nt_addr *a, const char *text)
{
	uint8_t x[4];
	inet_pton(AF_INET, text, x);
	assert_int_equal(a->family, 4);
	assert_memory_equal(a->a, x, 4);
}

/* ---- a v5 datagram with every kind of record ------------------------------- */

static const uint8_t frame_eth_ipv4_tcp[] = {
    /* Ethernet: dst, src, 802.1Q tag (vlan 42, pcp 5), IPv4 */
    0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x81, 0x00, 0xa0, 0x2a,
    0x08, 0x00,
    /* IPv4: 20 bytes, tos 0x10, total 60, TCP */
    0x45, 0x10, 0x00, 0x3c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, 10, 1, 0, 1, 10, 1, 0,
    2,
    /* TCP: 1111 -> 22, flags PSH|ACK */
    0x04, 0x57, 0x00, 0x16, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0x20, 0x00, 0, 0, 0, 0};

/* Builds the full datagram; *b gets every length field's offset. */
static void build_full(struct buf *b)
{
	v5_header(b, "192.0.2.1", 0, 1, 2);
	flow_sample_begin(b, 100, 3, 4, 7);
	/* raw header */
	b32(b, 1);
	open_len(b);
	b32(b, 1);    /* Ethernet */
	b32(b, 1518); /* frame length */
	b32(b, 4);    /* stripped */
	opaque(b, frame_eth_ipv4_tcp, sizeof frame_eth_ipv4_tcp);
	close_len(b);
	rec_switch(b, 10, 3, 20, 0);
	/* router: next hop, masks */
	b32(b, 1002);
	open_len(b);
	addr4(b, "10.9.9.9");
	b32(b, 24);
	b32(b, 16);
	close_len(b);
	/* gateway: next hop, as, src_as, src_peer_as, 2 segments, 2 comms, local pref */
	b32(b, 1003);
	open_len(b);
	addr4(b, "10.8.8.8");
	b32(b, 65000);
	b32(b, 65001);
	b32(b, 65002);
	b32(b, 2);
	b32(b, 2);
	b32(b, 2);
	b32(b, 65010);
	b32(b, 65020);
	b32(b, 1);
	b32(b, 1);
	b32(b, 65030);
	b32(b, 2);
	b32(b, 65001u << 16 | 7);
	b32(b, 0xFFFFFF01u);
	b32(b, 200);
	close_len(b);
	/* user */
	b32(b, 1004);
	open_len(b);
	b32(b, 3);
	opaque(b, "alice", 5);
	b32(b, 3);
	opaque(b, "bob", 3);
	close_len(b);
	/* URL */
	b32(b, 1005);
	open_len(b);
	b32(b, 1);
	opaque(b, "/index.html", 11);
	opaque(b, "example.org", 11);
	close_len(b);
	/* NAT */
	b32(b, 1007);
	open_len(b);
	addr4(b, "198.51.100.1");
	addr4(b, "198.51.100.2");
	close_len(b);
	close_len(b); /* the sample */
	/* a counter sample: generic + Ethernet + VLAN */
	b32(b, 2);
	open_len(b);
	b32(b, 5);
	b32(b, 7);
	b32(b, 3);
	b32(b, 1);
	open_len(b);
	b32(b, 7);
	b32(b, 6);
	b64(b, 1000000000);
	b32(b, 1);
	b32(b, 3);
	b64(b, 123456789012ull);
	for (int i = 0; i < 6; i++)
		b32(b, 100 + i);
	b64(b, 987654321ull);
	for (int i = 0; i < 6; i++)
		b32(b, 200 + i);
	close_len(b);
	b32(b, 2);
	open_len(b);
	for (int i = 0; i < 13; i++)
		b32(b, 300 + i);
	close_len(b);
	b32(b, 5);
	open_len(b);
	b32(b, 42);
	b64(b, 5555);
	b32(b, 1);
	b32(b, 2);
	b32(b, 3);
	b32(b, 4);
	close_len(b);
	close_len(b);
}

static void test_v5_full(void **state)
{
	struct fx *f = *state;
	struct buf b;
	struct sf_agent *a;
	build_full(&b);
	assert_int_equal(decode(f, b.d, b.n, &a), SF_OK);
	assert_non_null(a);
	assert_int_equal(f->got.n, 1);
	const struct flow_rec *r = &f->got.rec[0];
	/* from the raw header */
	assert_true(FR_HAS(r, FR_SRC_ADDR));
	assert_addr4(&r->src_addr, "10.1.0.1");
	assert_addr4(&r->dst_addr, "10.1.0.2");
	assert_int_equal(r->proto, 6);
	assert_int_equal(r->src_port, 1111);
	assert_int_equal(r->dst_port, 22);
	assert_int_equal(r->tos, 0x10);
	assert_int_equal(r->tcp_flags, 0x18);
	uint8_t smac[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
	assert_memory_equal(r->src_mac, smac, 6);
	/* bytes: the frame length, as pmacct counts it */
	assert_int_equal(r->bytes, 1518);
	assert_int_equal(r->packets, 1);
	/* the extended switch record wins over the header's 802.1Q tag */
	assert_true(FR_HAS(r, FR_VLAN_IN) && FR_HAS(r, FR_VLAN_OUT));
	assert_int_equal(r->vlan_in, 10);
	assert_int_equal(r->vlan_out, 20);
	assert_int_equal(r->cos, 3);
	/* router, gateway: peer_dst_ip is the BGP next hop, never the router's IP one */
	assert_addr4(&r->peer_dst_ip, "10.8.8.8");
	assert_int_equal(r->src_mask, 24);
	assert_int_equal(r->dst_mask, 16);
	assert_int_equal(r->src_as, 65001);
	assert_int_equal(r->peer_src_as, 65002);
	assert_int_equal(r->peer_dst_as, 65010);
	assert_int_equal(r->dst_as, 65030);
	assert_int_equal(r->local_pref, 200);
	assert_string_equal(f->got.as_path[0], "65010_65020_65030");
	assert_string_equal(f->got.comms[0], "65001:7_no-export");
	/* NAT */
	assert_true(FR_HAS(r, FR_POST_NAT_SRC_ADDR));
	assert_addr4(&r->post_nat_src_addr, "198.51.100.1");
	assert_addr4(&r->post_nat_dst_addr, "198.51.100.2");
	/* sample and datagram */
	assert_int_equal(r->in_iface, 3);
	assert_int_equal(r->out_iface, 4);
	assert_int_equal(r->sampling_rate, 100);
	assert_true(FR_HAS(r, FR_SAMPLING));
	assert_addr4(&r->peer_src_ip, "192.0.2.1");
	assert_int_equal(r->export_version, 5);
	assert_int_equal(r->export_seqno, 1);

	/* the counter sample: three records */
	assert_int_equal(f->got.ncnt, 3);
	const struct sf_counters *g = &f->got.cnt[0];
	assert_int_equal(g->type, SF_CNT_GENERIC);
	assert_string_equal(g->type_name, "sflow_cnt_generic");
	assert_int_equal(g->source_index, 7);
	assert_int_equal(g->sample_seq, 5);
	assert_int_equal(g->dgram_seq, 1);
	assert_int_equal(g->n, 19);
	assert_string_equal(g->names[0], "ifIndex");
	assert_int_equal(g->v[0], 7);
	assert_int_equal(g->v[2], 1000000000);
	assert_string_equal(g->names[5], "ifInOctets");
	assert_int_equal(g->v[5], 123456789012ull);
	assert_int_equal(g->v[6], 100);
	assert_string_equal(g->names[12], "ifOutOctets");
	assert_int_equal(g->v[12], 987654321ull);
	assert_int_equal(g->v[18], 205);
	assert_int_equal(f->got.cnt[1].type, SF_CNT_ETHERNET);
	assert_int_equal(f->got.cnt[1].n, 13);
	assert_int_equal(f->got.cnt[1].v[12], 312);
	assert_int_equal(f->got.cnt[2].type, SF_CNT_VLAN);
	assert_string_equal(f->got.cnt[2].names[0], "vlan");
	assert_int_equal(f->got.cnt[2].v[0], 42);
	assert_int_equal(f->got.cnt[2].v[1], 5555);
	assert_int_equal(f->got.cnt[2].v[5], 4);
	assert_int_equal(a->st.flow_samples, 1);
	assert_int_equal(a->st.counter_samples, 1);
}

/* Every prefix of the datagram is malformed and emits nothing of a cut sample. */
static void test_truncation_every_length(void **state)
{
	struct fx *f = *state;
	struct buf b;
	build_full(&b);
	/* the flow sample ends where the counter sample begins */
	size_t flow_end = b.fields[b.nfields - 4] - 4;
	for (size_t len = 0; len < b.n; len++) {
		f->got.n = f->got.ncnt = 0;
		enum sf_err e = decode(f, b.d, len, NULL);
		assert_int_not_equal(e, SF_OK);
		assert_int_equal(f->got.n, len >= flow_end ? 1 : 0);
		assert_int_equal(f->got.ncnt, 0);
	}
}

/*
 * Every length field claiming 4 bytes more, or 4 bytes fewer, than it has:
 * the datagram is malformed, and nothing is read past its end.
 */
static void test_every_length_field_overclaims(void **state)
{
	struct fx *f = *state;
	struct buf b;
	build_full(&b);
	assert_true(b.nfields > 10);
	for (unsigned i = 0; i < 2 * b.nfields; i++) {
		uint8_t copy[sizeof b.d];
		memcpy(copy, b.d, b.n);
		size_t at = b.fields[i / 2];
		uint32_t v = (uint32_t)copy[at] << 24 | (uint32_t)copy[at + 1] << 16 |
			     (uint32_t)copy[at + 2] << 8 | copy[at + 3];
		/* claiming 4 bytes more, then 4 bytes less, than there are */
		v = i % 2 ? v - 4 : v + 4;
		copy[at] = (uint8_t)(v >> 24);
		copy[at + 1] = (uint8_t)(v >> 16);
		copy[at + 2] = (uint8_t)(v >> 8);
		copy[at + 3] = (uint8_t)v;
		f->got.n = f->got.ncnt = 0;
		assert_int_not_equal(decode(f, copy, b.n, NULL), SF_OK);
	}
	/* and a record length far beyond the whole datagram */
	uint8_t copy[sizeof b.d];
	memcpy(copy, b.d, b.n);
	memset(copy + b.fields[1], 0x7f, 4); /* the raw header record's length */
	f->got.n = 0;
	struct sf_agent *a;
	assert_int_equal(decode(f, copy, b.n, &a), SF_ERR_RECORD_LENGTH);
	assert_int_equal(f->got.n, 0);
	uint64_t before = a->st.err[SF_ERR_RECORD_LENGTH];
	assert_int_equal(decode(f, copy, b.n, &a), SF_ERR_RECORD_LENGTH);
	assert_int_equal(a->st.err[SF_ERR_RECORD_LENGTH], before + 1);
	/* a sample length beyond the datagram */
	memcpy(copy, b.d, b.n);
	memset(copy + b.fields[0], 0x7f, 4);
	assert_int_equal(decode(f, copy, b.n, &a), SF_ERR_SAMPLE_LENGTH);
	/* a raw header longer than its record */
	memcpy(copy, b.d, b.n);
	memset(copy + b.fields[2], 0x01, 4);
	f->got.n = f->got.ncnt = 0;
	assert_int_equal(decode(f, copy, b.n, &a), SF_ERR_BAD_HEADER);
	assert_int_equal(f->got.n, 0);
	/* a malformed sample does not stop the next one: its length still leads there */
	assert_int_equal(f->got.ncnt, 3);
}

static void test_v5_ipv6_agent_expanded_ipv6_record(void **state)
{
	struct fx *f = *state;
	struct buf b;
	uint8_t x[16];
	struct sf_agent *a;
	v5_header(&b, "2001:db8::1", 9, 100, 1);
	/* expanded flow sample */
	b32(&b, 3);
	open_len(&b);
	b32(&b, 1);
	b32(&b, 0);
	b32(&b, 70000); /* source index beyond 24 bits */
	b32(&b, 512);
	b32(&b, 512);
	b32(&b, 0);
	b32(&b, 0);
	b32(&b, 100000);
	b32(&b, 0);
	b32(&b, 200000);
	b32(&b, 2);
	/* sampled IPv6 */
	b32(&b, 4);
	open_len(&b);
	b32(&b, 1280);
	b32(&b, 17);
	inet_pton(AF_INET6, "2001:db8:1::1", x);
	bbytes(&b, x, 16);
	inet_pton(AF_INET6, "2001:db8:1::2", x);
	bbytes(&b, x, 16);
	b32(&b, 5000);
	b32(&b, 53);
	b32(&b, 0);
	b32(&b, 0);
	close_len(&b);
	/* sampled Ethernet */
	b32(&b, 2);
	open_len(&b);
	b32(&b, 1300);
	uint8_t m[8] = {2, 0, 0, 0, 0, 1, 0, 0};
	bbytes(&b, m, 8);
	m[5] = 2;
	bbytes(&b, m, 8);
	b32(&b, 0x86dd);
	close_len(&b);
	close_len(&b);
	assert_int_equal(decode(f, b.d, b.n, &a), SF_OK);
	assert_int_equal(a->addr.family, 6);
	assert_int_equal(a->sub_id, 9);
	assert_int_equal(f->got.n, 1);
	const struct flow_rec *r = &f->got.rec[0];
	assert_int_equal(r->src_addr.family, 6);
	inet_pton(AF_INET6, "2001:db8:1::2", x);
	assert_memory_equal(r->dst_addr.a, x, 16);
	assert_int_equal(r->src_port, 5000);
	assert_int_equal(r->dst_port, 53);
	assert_int_equal(r->proto, 17);
	/* the IPv6 record's length wins over the Ethernet one */
	assert_int_equal(r->bytes, 1280);
	assert_int_equal(r->in_iface, 100000);
	assert_int_equal(r->out_iface, 200000);
	assert_int_equal(r->sampling_rate, 512);
	assert_int_equal(r->export_sysid, 9);
	assert_int_equal(r->etype, 0x86dd);
	assert_int_equal(r->dst_mac[5], 2);
	assert_int_equal(r->peer_src_ip.family, 6);
}

static void test_unknown_formats_skipped(void **state)
{
	struct fx *f = *state;
	struct buf b;
	struct sf_agent *a;
	v5_header(&b, "192.0.2.1", 0, 1, 2);
	/* an enterprise sample format nobody here knows */
	b32(&b, 4413u << 12 | 5);
	open_len(&b);
	b32(&b, 0xdeadbeef);
	b32(&b, 0xdeadbeef);
	close_len(&b);
	flow_sample_begin(&b, 1, 1, 2, 2);
	b32(&b, 2000); /* an unknown record format */
	open_len(&b);
	b32(&b, 1);
	b32(&b, 2);
	b32(&b, 3);
	close_len(&b);
	rec_ipv4(&b, 64, 6, "10.0.0.1", "10.0.0.2", 1, 2);
	close_len(&b);
	assert_int_equal(decode(f, b.d, b.n, &a), SF_OK);
	assert_int_equal(f->got.n, 1);
	assert_int_equal(f->got.rec[0].bytes, 64);
	assert_int_equal(a->st.skipped, 2);
}

static void test_sequence_gaps_per_agent_and_sub_agent(void **state)
{
	struct fx *f = *state;
	struct buf b;
	struct sf_agent *a, *a2;
	static const uint32_t seqs[] = {1, 2, 5, 6, 3};
	for (unsigned i = 0; i < 5; i++) {
		v5_header(&b, "192.0.2.1", 0, seqs[i], 0);
		assert_int_equal(decode(f, b.d, b.n, &a), SF_OK);
	}
	assert_int_equal(a->st.datagrams, 5);
	assert_int_equal(a->st.seq_gaps, 1);
	assert_int_equal(a->st.lost_datagrams, 2);
	/* 3 after 6: backwards, a restart, not loss (its uptime went back too) */
	assert_int_equal(a->st.seq_resets, 1);
	/* another sub-agent of the same address keeps its own sequence */
	v5_header(&b, "192.0.2.1", 1, 1000, 0);
	assert_int_equal(decode(f, b.d, b.n, &a2), SF_OK);
	assert_ptr_not_equal(a, a2);
	assert_int_equal(a2->st.seq_gaps, 0);
	assert_int_equal(f->sf.nagents, 2);
}

static void test_max_agents_refuses(void **state)
{
	struct fx *f = *state;
	struct buf b;
	struct sf_agent *a;
	f->sf.opt.max_agents = 1;
	v5_header(&b, "192.0.2.1", 0, 1, 0);
	assert_int_equal(decode(f, b.d, b.n, &a), SF_OK);
	assert_non_null(a);
	v5_header(&b, "192.0.2.2", 0, 1, 0);
	assert_int_equal(decode(f, b.d, b.n, &a), SF_OK);
	assert_null(a);
	assert_int_equal(f->sf.refused, 1);
}

static void test_header_errors_counted_without_agent(void **state)
{
	struct fx *f = *state;
	uint8_t v6only[] = {0, 0, 0, 6};
	uint8_t badaddr[] = {0, 0, 0, 5, 0, 0, 0, 9, 1, 2, 3, 4};
	assert_int_equal(decode(f, v6only, 2, NULL), SF_ERR_SHORT);
	assert_int_equal(decode(f, v6only, 4, NULL), SF_ERR_VERSION);
	assert_int_equal(decode(f, badaddr, sizeof badaddr, NULL), SF_ERR_ADDRESS);
	assert_int_equal(f->sf.early[SF_ERR_SHORT], 1);
	assert_int_equal(f->sf.early[SF_ERR_VERSION], 1);
	assert_int_equal(f->sf.early[SF_ERR_ADDRESS], 1);
	/* more samples announced than bytes could hold */
	struct buf b;
	v5_header(&b, "192.0.2.1", 0, 1, 1000);
	assert_int_equal(decode(f, b.d, b.n, NULL), SF_ERR_COUNT);
}

static void test_as_path_cut_with_plus(void **state)
{
	struct fx *f = *state;
	struct buf b;
	v5_header(&b, "192.0.2.1", 0, 1, 1);
	flow_sample_begin(&b, 1, 1, 2, 1);
	b32(&b, 1003);
	open_len(&b);
	b32(&b, 0); /* next hop unknown */
	b32(&b, 1);
	b32(&b, 2);
	b32(&b, 3);
	b32(&b, 1);
	b32(&b, 2);
	b32(&b, 40);
	for (uint32_t i = 0; i < 40; i++)
		b32(&b, 4200000000u + i);
	b32(&b, 0);
	b32(&b, 100);
	close_len(&b);
	close_len(&b);
	assert_int_equal(decode(f, b.d, b.n, NULL), SF_OK);
	assert_int_equal(f->got.n, 1);
	const char *p = f->got.as_path[0];
	assert_int_equal(strlen(p), SF_TEXT_MAX - 1);
	assert_int_equal(p[SF_TEXT_MAX - 2], '+');
	assert_int_equal(strncmp(p, "4200000000_4200000001_", 22), 0);
	assert_int_equal(f->got.rec[0].dst_as, 4200000039u);
	assert_false(FR_HAS(&f->got.rec[0], FR_STD_COMM));
	assert_false(FR_HAS(&f->got.rec[0], FR_PEER_DST_IP));
}

/* ---- v2 and v4 ------------------------------------------------------------ */

static void v24_header(struct buf *b, uint32_t version, uint32_t seq, uint32_t nsamples)
{
	memset(b, 0, sizeof *b);
	b32(b, version);
	addr4(b, "192.0.2.4");
	b32(b, seq);
	b32(b, 5000);
	b32(b, nsamples);
}

static void v24_flow_sample_ipv4(struct buf *b)
{
	uint8_t x[4];
	b32(b, 1);
	b32(b, 1);
	b32(b, 5);
	b32(b, 64);
	b32(b, 64);
	b32(b, 0);
	b32(b, 11);
	b32(b, 12);
	b32(b, 2); /* sampled IPv4 */
	b32(b, 700);
	b32(b, 17);
	inet_pton(AF_INET, "10.4.0.1", x);
	bbytes(b, x, 4);
	inet_pton(AF_INET, "10.4.0.2", x);
	bbytes(b, x, 4);
	b32(b, 1000);
	b32(b, 2000);
	b32(b, 0);
	b32(b, 0);
}

static void test_v4_flow_sample_extended(void **state)
{
	struct fx *f = *state;
	struct buf b;
	v24_header(&b, 4, 10, 1);
	v24_flow_sample_ipv4(&b);
	b32(&b, 2);
	b32(&b, 1); /* switch */
	b32(&b, 100);
	b32(&b, 0);
	b32(&b, 200);
	b32(&b, 0);
	b32(&b, 3); /* gateway, v4: no next hop; path segments, communities, local pref */
	b32(&b, 64500);
	b32(&b, 64501);
	b32(&b, 64502);
	b32(&b, 1);
	b32(&b, 2);
	b32(&b, 1);
	b32(&b, 64600);
	b32(&b, 1);
	b32(&b, 64500u << 16 | 99);
	b32(&b, 50);
	assert_int_equal(decode(f, b.d, b.n, NULL), SF_OK);
	assert_int_equal(f->got.n, 1);
	const struct flow_rec *r = &f->got.rec[0];
	assert_int_equal(r->export_version, 4);
	assert_int_equal(r->bytes, 700);
	assert_int_equal(r->vlan_in, 100);
	assert_int_equal(r->vlan_out, 200);
	assert_int_equal(r->in_iface, 11);
	assert_int_equal(r->sampling_rate, 64);
	assert_int_equal(r->src_as, 64501);
	assert_int_equal(r->dst_as, 64600);
	assert_int_equal(r->local_pref, 50);
	assert_string_equal(f->got.comms[0], "64500:99");
	assert_false(FR_HAS(r, FR_PEER_DST_IP));
}

static void test_v2_gateway_flat_path(void **state)
{
	struct fx *f = *state;
	struct buf b;
	v24_header(&b, 2, 1, 1);
	v24_flow_sample_ipv4(&b);
	b32(&b, 1);
	b32(&b, 3);
	b32(&b, 1);
	b32(&b, 2);
	b32(&b, 3);
	b32(&b, 3);
	b32(&b, 10);
	b32(&b, 20);
	b32(&b, 30);
	assert_int_equal(decode(f, b.d, b.n, NULL), SF_OK);
	assert_int_equal(f->got.n, 1);
	assert_string_equal(f->got.as_path[0], "10_20_30");
	assert_int_equal(f->got.rec[0].peer_dst_as, 10);
	assert_int_equal(f->got.rec[0].dst_as, 30);
	assert_false(FR_HAS(&f->got.rec[0], FR_LOCAL_PREF));
}

static void test_v4_unknown_tag_ends_datagram(void **state)
{
	struct fx *f = *state;
	struct buf b;
	struct sf_agent *a;
	v24_header(&b, 4, 1, 2);
	v24_flow_sample_ipv4(&b);
	b32(&b, 1);
	b32(&b, 99); /* no such extended type: its length is unknown */
	b32(&b, 0);
	v24_flow_sample_ipv4(&b);
	b32(&b, 0);
	assert_int_equal(decode(f, b.d, b.n, &a), SF_ERR_UNKNOWN_TAG);
	assert_int_equal(f->got.n, 0);
	assert_int_equal(a->st.err[SF_ERR_UNKNOWN_TAG], 1);
	/* and every prefix of a good v4 datagram is malformed */
	v24_header(&b, 4, 2, 1);
	v24_flow_sample_ipv4(&b);
	b32(&b, 0);
	for (size_t len = 0; len < b.n; len++)
		assert_int_not_equal(decode(f, b.d, len, NULL), SF_OK);
}

static void test_v24_counters(void **state)
{
	struct fx *f = *state;
	struct buf b;
	v24_header(&b, 4, 3, 2);
	/* version 2: generic + Ethernet */
	b32(&b, 2);
	b32(&b, 8);
	b32(&b, 7);
	b32(&b, 30);
	b32(&b, 2);
	b32(&b, 7);
	b32(&b, 6);
	b64(&b, 100000000);
	b32(&b, 1);
	b32(&b, 1);
	b64(&b, 42);
	for (int i = 0; i < 6; i++)
		b32(&b, i);
	b64(&b, 43);
	for (int i = 0; i < 6; i++)
		b32(&b, i);
	for (int i = 0; i < 13; i++)
		b32(&b, 500 + i);
	/* version 7: VLAN only */
	b32(&b, 2);
	b32(&b, 9);
	b32(&b, 8);
	b32(&b, 30);
	b32(&b, 7);
	b32(&b, 300);
	b64(&b, 77);
	b32(&b, 1);
	b32(&b, 2);
	b32(&b, 3);
	b32(&b, 4);
	assert_int_equal(decode(f, b.d, b.n, NULL), SF_OK);
	assert_int_equal(f->got.ncnt, 3);
	assert_int_equal(f->got.cnt[0].type, SF_CNT_GENERIC);
	assert_int_equal(f->got.cnt[0].v[5], 42);
	assert_int_equal(f->got.cnt[0].version, 4);
	assert_int_equal(f->got.cnt[1].type, SF_CNT_ETHERNET);
	assert_int_equal(f->got.cnt[1].v[0], 500);
	assert_int_equal(f->got.cnt[2].type, SF_CNT_VLAN);
	assert_int_equal(f->got.cnt[2].v[0], 300);
	assert_int_equal(f->got.cnt[2].v[1], 77);
	assert_int_equal(f->got.cnt[2].source_index, 8);
	assert_int_equal(f->got.cnt[2].sample_seq, 9);
}

/* A counter sample with a malformed record produces no counter line at all. */
static void test_counter_sample_all_or_nothing(void **state)
{
	struct fx *f = *state;
	struct buf b;
	v5_header(&b, "192.0.2.1", 0, 1, 1);
	b32(&b, 2);
	open_len(&b);
	b32(&b, 1);
	b32(&b, 7);
	b32(&b, 2);
	b32(&b, 5);
	open_len(&b);
	b32(&b, 42);
	b64(&b, 5555);
	b32(&b, 1);
	b32(&b, 2);
	b32(&b, 3);
	b32(&b, 4);
	close_len(&b);
	b32(&b, 1); /* a generic block cut short */
	open_len(&b);
	b32(&b, 7);
	close_len(&b);
	close_len(&b);
	assert_int_equal(decode(f, b.d, b.n, NULL), SF_ERR_TRUNCATED);
	assert_int_equal(f->got.ncnt, 0);
}

static void test_ext_sampling_rate_overrides(void **state)
{
	struct fx *f = *state;
	struct buf b;
	f->sf.opt.ext_sampling_rate = 2048;
	v5_header(&b, "192.0.2.1", 0, 1, 1);
	flow_sample_begin(&b, 0, 1, 2, 1);
	rec_ipv4(&b, 64, 6, "10.0.0.1", "10.0.0.2", 1, 2);
	close_len(&b);
	assert_int_equal(decode(f, b.d, b.n, NULL), SF_OK);
	assert_int_equal(f->got.rec[0].sampling_rate, 2048);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_v5_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncation_every_length, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_length_field_overclaims, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v5_ipv6_agent_expanded_ipv6_record, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_formats_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sequence_gaps_per_agent_and_sub_agent, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_max_agents_refuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_header_errors_counted_without_agent, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_as_path_cut_with_plus, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v4_flow_sample_extended, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v2_gateway_flat_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v4_unknown_tag_ends_datagram, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v24_counters, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_counter_sample_all_or_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ext_sampling_rate_overrides, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
