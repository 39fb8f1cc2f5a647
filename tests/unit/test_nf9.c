/*
 * NetFlow v9 / IPFIX / v8 decoder tests: hand-built datagrams for each
 * feature and each malformation, plus a replay of the pmacct fixture
 * captures when they are present next to the repository.
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
#include <unistd.h>

#include "proto/netflow.h"
#include "agg/sampling_map.h"
#include "proto/nf_options.h"
#include "proto/nf_sampling.h"
#include "proto/nf_template.h"
#include "proto/nf_templates_file.h"

/* ---- datagram builder ---------------------------------------------------- */

struct buf {
	uint8_t b[70000];
	size_t n;
};

static void u8(struct buf *b, uint8_t v)
{
	b->b[b->n++] = v;
}
static void u16(struct buf *b, uint16_t v)
{
	u8(b, (uint8_t)(v >> 8));
	u8(b, (uint8_t)v);
}
static void u32(struct buf *b, uint32_t v)
{
	u16(b, (uint16_t)(v >> 16));
	u16(b, (uint16_t)v);
}
static void u64(struct buf *b, uint64_t v)
{
	u32(b, (uint32_t)(v >> 32));
	u32(b, (uint32_t)v);
}
static void raw(struct buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}
static void ip4(struct buf *b, const char *s)
{
	uint8_t a[4];
	inet_pton(AF_INET, s, a);
	raw(b, a, 4);
}
static void ip6(struct buf *b, const char *s)
{
	uint8_t a[16];
	inet_pton(AF_INET6, s, a);
	raw(b, a, 16);
}
static void zeros(struct buf *b, size_t n)
{
	memset(b->b + b->n, 0, n);
	b->n += n;
}

static void patch16(struct buf *b, size_t off, uint16_t v)
{
	b->b[off] = (uint8_t)(v >> 8);
	b->b[off + 1] = (uint8_t)v;
}

#define T_UPTIME 100000u
#define T_SECS	 1700000000u

static void v9_hdr(struct buf *b, uint16_t count, uint32_t seq, uint32_t srcid)
{
	b->n = 0;
	u16(b, 9);
	u16(b, count);
	u32(b, T_UPTIME);
	u32(b, T_SECS);
	u32(b, seq);
	u32(b, srcid);
}

static void ipfix_hdr(struct buf *b, uint32_t seq, uint32_t odid)
{
	b->n = 0;
	u16(b, 10);
	u16(b, 0);
	u32(b, T_SECS);
	u32(b, seq);
	u32(b, odid);
}

static void ipfix_end(struct buf *b)
{
	patch16(b, 2, (uint16_t)b->n);
}

static size_t set_begin(struct buf *b, uint16_t id)
{
	size_t off = b->n;
	u16(b, id);
	u16(b, 0);
	return off;
}

static void set_end(struct buf *b, size_t off)
{
	patch16(b, off + 2, (uint16_t)(b->n - off));
}

/* field specifier; pen != 0 sets the enterprise bit (IPFIX only) */
static void fs(struct buf *b, uint16_t type, uint16_t len, uint32_t pen)
{
	u16(b, pen ? (uint16_t)(type | 0x8000) : type);
	u16(b, len);
	if (pen)
		u32(b, pen);
}

/* ---- collector fixture --------------------------------------------------- */

#define MAXREC 4096

struct sink {
	struct flow_rec rec[64];
	size_t n, total;
	unsigned changed;
};

static void emit(void *arg, struct flow_rec *r)
{
	struct sink *s = arg;
	if (s->n < 64)
		s->rec[s->n++] = *r;
	s->total++;
}

static void changed(void *arg, const struct nf_exporter *ex)
{
	(void)ex;
	((struct sink *)arg)->changed++;
}

struct fx {
	struct nf_collector c;
	struct nf_exporter *ex;
	struct sink s;
	struct prim_registry reg;
	struct buf b;
};

static struct nt_addr mkaddr(const char *s)
{
	struct nt_addr a;
	memset(&a, 0, sizeof a);
	if (inet_pton(AF_INET, s, a.a) == 1)
		a.family = 4;
	else if (inet_pton(AF_INET6, s, a.a) == 1)
		a.family = 6;
	return a;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct nf_options o;
	memset(&o, 0, sizeof o);
	o.template_changed = changed;
	o.template_arg = &f->s;
	o.custom = &f->reg;
	assert_int_equal(nf_collector_init(&f->c, &o, emit, &f->s), 0);
	struct nt_addr a = mkaddr("192.0.2.1");
	f->ex = nf_exporter_get(&f->c, &a, 2055);
	assert_non_null(f->ex);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	nf_collector_free(&f->c);
	free(f);
	return 0;
}

static enum nf_err dec(struct fx *f)
{
	return nf_decode(&f->c, f->ex, f->b.b, f->b.n, 42);
}

static int addr_is(const struct nt_addr *a, const char *s)
{
	struct nt_addr w = mkaddr(s);
	return a->family == w.family && memcmp(a->a, w.a, a->family == 4 ? 4 : 16) == 0;
}

/* ---- v9 ------------------------------------------------------------------ */

static void v9_basic_template(struct buf *b)
{
	size_t s = set_begin(b, 0);
	u16(b, 256);
	u16(b, 18);
	fs(b, 8, 4, 0);
	fs(b, 12, 4, 0);
	fs(b, 7, 2, 0);
	fs(b, 11, 2, 0);
	fs(b, 4, 1, 0);
	fs(b, 1, 4, 0);
	fs(b, 2, 4, 0);
	fs(b, 22, 4, 0);
	fs(b, 21, 4, 0);
	fs(b, 10, 2, 0);
	fs(b, 14, 4, 0);
	fs(b, 6, 1, 0);
	fs(b, 5, 1, 0);
	fs(b, 16, 2, 0);
	fs(b, 17, 4, 0);
	fs(b, 9, 1, 0);
	fs(b, 13, 1, 0);
	fs(b, 15, 4, 0);
	set_end(b, s);
}

static void v9_basic_record(struct buf *b, const char *src, uint16_t sport)
{
	ip4(b, src);
	ip4(b, "198.51.100.7");
	u16(b, sport);
	u16(b, 443);
	u8(b, 6);
	u32(b, 1500);
	u32(b, 3);
	u32(b, 90000);
	u32(b, 99000);
	u16(b, 5);
	u32(b, 7);
	u8(b, 0x12);
	u8(b, 0xb8);
	u16(b, 65001);
	u32(b, 4200000000u);
	u8(b, 24);
	u8(b, 16);
	ip4(b, "203.0.113.254");
}

static void test_v9_template_then_data(void **state)
{
	struct fx *f = *state;
	v9_hdr(&f->b, 3, 10, 7);
	v9_basic_template(&f->b);
	size_t s = set_begin(&f->b, 256);
	v9_basic_record(&f->b, "10.0.0.1", 1234);
	v9_basic_record(&f->b, "10.0.0.2", 1235);
	set_end(&f->b, s);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 2);
	assert_int_equal(f->s.changed, 1);
	const struct flow_rec *r = &f->s.rec[0];
	assert_true(addr_is(&r->src_addr, "10.0.0.1"));
	assert_true(addr_is(&r->dst_addr, "198.51.100.7"));
	assert_true(addr_is(&r->peer_dst_ip, "203.0.113.254"));
	assert_true(addr_is(&r->peer_src_ip, "192.0.2.1"));
	assert_true(addr_is(&f->s.rec[1].src_addr, "10.0.0.2"));
	assert_int_equal(r->src_port, 1234);
	assert_int_equal(r->dst_port, 443);
	assert_int_equal(r->proto, 6);
	assert_int_equal(r->bytes, 1500);
	assert_int_equal(r->packets, 3);
	assert_int_equal(r->flows, 1);
	assert_int_equal(r->in_iface, 5);
	assert_int_equal(r->out_iface, 7);
	assert_int_equal(r->tcp_flags, 0x12);
	assert_int_equal(r->tos, 0xb8);
	assert_int_equal(r->src_as, 65001);
	assert_int_equal(r->dst_as, 4200000000u);
	assert_int_equal(r->src_mask, 24);
	assert_int_equal(r->dst_mask, 16);
	/* sysUptime 100 s at export; first at 90 s, last at 99 s */
	assert_int_equal(r->ts_start, (T_SECS - 10) * 1000000ull);
	assert_int_equal(r->ts_end, (T_SECS - 1) * 1000000ull);
	assert_true(FR_HAS(r, FR_TS_START) && FR_HAS(r, FR_TS_END));
	assert_int_equal(r->export_version, 9);
	assert_int_equal(r->export_seqno, 10);
	assert_int_equal(r->export_sysid, 7);
	assert_int_equal(r->ts_export, T_SECS * 1000000ull);
	assert_int_equal(r->ts_arrival, 42);
	assert_false(FR_HAS(r, FR_SAMPLING));
	assert_int_equal(f->ex->st.records, 2);

	/* same template again: no change notification; data in another datagram decodes */
	v9_hdr(&f->b, 2, 11, 7);
	v9_basic_template(&f->b);
	s = set_begin(&f->b, 256);
	v9_basic_record(&f->b, "10.0.0.3", 1);
	set_end(&f->b, s);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.changed, 1);
	assert_int_equal(f->s.n, 3);
	assert_int_equal(f->ex->st.seq_gaps, 0);
}

static void test_v9_time_secs(void **state)
{
	struct fx *f = *state;
	f->c.opt.time_secs = 1;
	v9_hdr(&f->b, 2, 1, 0);
	size_t s = set_begin(&f->b, 0);
	u16(&f->b, 300);
	u16(&f->b, 2);
	fs(&f->b, 22, 4, 0);
	fs(&f->b, 21, 4, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 300);
	u32(&f->b, T_SECS - 60);
	u32(&f->b, T_SECS - 5);
	set_end(&f->b, s);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 1);
	assert_int_equal(f->s.rec[0].ts_start, (T_SECS - 60) * 1000000ull);
	assert_int_equal(f->s.rec[0].ts_end, (T_SECS - 5) * 1000000ull);
}

static void test_v9_count_mismatch_and_trailing_padding(void **state)
{
	struct fx *f = *state;
	v9_hdr(&f->b, 99, 1, 0); /* softflowd-style record count, wrong on purpose */
	v9_basic_template(&f->b);
	size_t s = set_begin(&f->b, 256);
	v9_basic_record(&f->b, "10.0.0.1", 1);
	zeros(&f->b, 2); /* flowset padding to 4 bytes */
	set_end(&f->b, s);
	zeros(&f->b, 4); /* zero tail after the last flowset */
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 1);
	for (int i = 0; i < NF_ERR__COUNT; i++)
		assert_int_equal(f->ex->st.err[i], 0);
}

static void test_data_before_template(void **state)
{
	struct fx *f = *state;
	v9_hdr(&f->b, 1, 1, 0);
	size_t s = set_begin(&f->b, 256);
	v9_basic_record(&f->b, "10.0.0.1", 1);
	set_end(&f->b, s);
	assert_int_equal(dec(f), NF_ERR_NO_TEMPLATE);
	assert_int_equal(f->s.n, 0);
	assert_int_equal(f->ex->st.err[NF_ERR_NO_TEMPLATE], 1);

	/* a template for another source id does not apply */
	v9_hdr(&f->b, 1, 2, 1);
	v9_basic_template(&f->b);
	dec(f);
	v9_hdr(&f->b, 1, 3, 0);
	s = set_begin(&f->b, 256);
	v9_basic_record(&f->b, "10.0.0.1", 1);
	set_end(&f->b, s);
	assert_int_equal(dec(f), NF_ERR_NO_TEMPLATE);
	assert_int_equal(f->ex->st.err[NF_ERR_NO_TEMPLATE], 2);
	assert_int_equal(f->s.n, 0);
}

/*
 * Data for a template not (yet) received is normal, not a malformation: the
 * datagram reports NF_ERR_NO_TEMPLATE (counted per data set), and only a real
 * malformation in the same datagram makes it malformed.
 */
static void test_no_template_is_not_malformed(void **state)
{
	struct fx *f = *state;
	/* an IPFIX template, its data, and two data sets for unknown templates */
	ipfix_hdr(&f->b, 0, 1);
	size_t s = set_begin(&f->b, 2);
	u16(&f->b, 256);
	u16(&f->b, 1);
	fs(&f->b, 2, 4, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 300);
	u32(&f->b, 1);
	set_end(&f->b, s);
	s = set_begin(&f->b, 256);
	u32(&f->b, 9);
	set_end(&f->b, s);
	s = set_begin(&f->b, 301);
	u32(&f->b, 1);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	enum nf_err e = dec(f);
	assert_int_equal(e, NF_ERR_NO_TEMPLATE);
	assert_false(nf_err_malformed(e));
	assert_int_equal(f->s.n, 1);
	assert_int_equal(f->ex->st.err[NF_ERR_NO_TEMPLATE], 2);
	for (int i = 0; i < NF_ERR__COUNT; i++)
		if (i != NF_ERR_NO_TEMPLATE)
			assert_int_equal(f->ex->st.err[i], 0);

	/* unknown template then a broken set: the malformation is what is returned */
	ipfix_hdr(&f->b, 1, 1);
	s = set_begin(&f->b, 300);
	u32(&f->b, 1);
	set_end(&f->b, s);
	u16(&f->b, 256);
	u16(&f->b, 2); /* set length below the set header */
	ipfix_end(&f->b);
	e = dec(f);
	assert_int_equal(e, NF_ERR_BAD_SET);
	assert_true(nf_err_malformed(e));
	assert_int_equal(f->ex->st.err[NF_ERR_NO_TEMPLATE], 3);
	assert_int_equal(f->ex->st.err[NF_ERR_BAD_SET], 1);

	assert_false(nf_err_malformed(NF_OK));
	for (int i = 1; i < NF_ERR__COUNT; i++)
		if (i != NF_ERR_NO_TEMPLATE)
			assert_true(nf_err_malformed((enum nf_err)i));
}

/* Options data whose options template never came (seen from Cisco IOS XR). */
static void test_options_data_without_template(void **state)
{
	struct fx *f = *state;
	v9_hdr(&f->b, 1, 1, 0);
	size_t s = set_begin(&f->b, 260);
	u32(&f->b, 1);	 /* sampler id */
	u32(&f->b, 100); /* interval */
	set_end(&f->b, s);
	enum nf_err e = dec(f);
	assert_int_equal(e, NF_ERR_NO_TEMPLATE);
	assert_false(nf_err_malformed(e));
	assert_int_equal(f->ex->st.err[NF_ERR_NO_TEMPLATE], 1);
}

/*
 * IPFIX sequences count data records: records of a set without a template
 * cannot be counted, so the next message resynchronises instead of reporting
 * them as lost (an exporter sending data before templates after a restart).
 */
static void test_ipfix_sequence_after_no_template(void **state)
{
	struct fx *f = *state;
	ipfix_hdr(&f->b, 1000, 1);
	size_t s = set_begin(&f->b, 300);
	for (int i = 0; i < 50; i++)
		u32(&f->b, (uint32_t)i);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_ERR_NO_TEMPLATE);
	/* the exporter sent (some number of) records: the next message is further on */
	ipfix_hdr(&f->b, 1013, 1);
	s = set_begin(&f->b, 2);
	u16(&f->b, 256);
	u16(&f->b, 1);
	fs(&f->b, 2, 4, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 256);
	u32(&f->b, 9);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->ex->st.seq_gaps, 0);
	assert_int_equal(f->ex->st.lost_flows, 0);
	/* from then on, losses count again */
	ipfix_hdr(&f->b, 1020, 1);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->ex->st.seq_gaps, 1);
	assert_int_equal(f->ex->st.lost_flows, 6);
}

/* v9: a smaller sysUptime is an exporter restart, not loss. */
static void test_v9_restart_is_reset(void **state)
{
	struct fx *f = *state;
	v9_hdr(&f->b, 0, 500000, 0);
	assert_int_equal(dec(f), NF_OK);
	v9_hdr(&f->b, 0, 900000, 0); /* sequence ahead, but ... */
	patch16(&f->b, 4, 0);	     /* ... sysUptime back to a few ms */
	patch16(&f->b, 6, 20);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->ex->st.seq_gaps, 0);
	assert_int_equal(f->ex->st.lost_flows, 0);
	assert_int_equal(f->ex->st.seq_resets, 1);
}

static void test_v9_options_sampling(void **state)
{
	struct fx *f = *state;
	v9_hdr(&f->b, 4, 1, 0);
	/* options template 257: scope System(4), options 48 (1), 49 (1), 50 (4) */
	size_t s = set_begin(&f->b, 1);
	u16(&f->b, 257);
	u16(&f->b, 4);
	u16(&f->b, 12);
	fs(&f->b, 1, 4, 0);
	fs(&f->b, 48, 1, 0);
	fs(&f->b, 49, 1, 0);
	fs(&f->b, 50, 4, 0);
	zeros(&f->b, 2);
	set_end(&f->b, s);
	s = set_begin(&f->b, 257);
	u32(&f->b, 0);
	u8(&f->b, 3);
	u8(&f->b, 2);
	u32(&f->b, 100);
	u32(&f->b, 0);
	u8(&f->b, 4);
	u8(&f->b, 2);
	u32(&f->b, 1000);
	zeros(&f->b, 2);
	set_end(&f->b, s);
	/* data template 258 carries the sampler id */
	s = set_begin(&f->b, 0);
	u16(&f->b, 258);
	u16(&f->b, 2);
	fs(&f->b, 8, 4, 0);
	fs(&f->b, 48, 1, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 258);
	ip4(&f->b, "10.1.1.1");
	u8(&f->b, 3);
	ip4(&f->b, "10.1.1.2");
	u8(&f->b, 4);
	ip4(&f->b, "10.1.1.3");
	u8(&f->b, 9); /* unknown sampler: newest announced */
	zeros(&f->b, 1);
	set_end(&f->b, s);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 3);
	assert_true(FR_HAS(&f->s.rec[0], FR_SAMPLING));
	assert_int_equal(f->s.rec[0].sampling_rate, 100);
	assert_int_equal(f->s.rec[1].sampling_rate, 1000);
	assert_int_equal(f->s.rec[2].sampling_rate, 1000);
	assert_int_equal(f->ex->st.records, 3); /* options records are not flows */
}

static void test_v9_options_bad_scope(void **state)
{
	struct fx *f = *state;
	for (int pass = 0; pass < 2; pass++) {
		f->c.opt.disable_opt_scope_check = pass;
		v9_hdr(&f->b, 4, (uint32_t)pass * 2, (uint32_t)pass);
		/* scope "Template" (5) is not a sampler scope */
		size_t s = set_begin(&f->b, 1);
		u16(&f->b, 257);
		u16(&f->b, 4);
		u16(&f->b, 4);
		fs(&f->b, 5, 4, 0);
		fs(&f->b, 34, 4, 0);
		set_end(&f->b, s);
		s = set_begin(&f->b, 257);
		u32(&f->b, 0);
		u32(&f->b, 64);
		set_end(&f->b, s);
		s = set_begin(&f->b, 0);
		u16(&f->b, 258);
		u16(&f->b, 1);
		fs(&f->b, 8, 4, 0);
		set_end(&f->b, s);
		s = set_begin(&f->b, 258);
		ip4(&f->b, "10.1.1.1");
		set_end(&f->b, s);
		assert_int_equal(dec(f), NF_OK);
	}
	assert_int_equal(f->s.n, 2);
	assert_false(FR_HAS(&f->s.rec[0], FR_SAMPLING));
	assert_int_equal(f->s.rec[1].sampling_rate, 64);
}

/* ---- IPFIX --------------------------------------------------------------- */

static void test_ipfix_fields(void **state)
{
	struct fx *f = *state;
	ipfix_hdr(&f->b, 500, 99);
	size_t s = set_begin(&f->b, 2);
	u16(&f->b, 400);
	u16(&f->b, 27);
	fs(&f->b, 27, 16, 0);
	fs(&f->b, 28, 16, 0);
	fs(&f->b, 29, 1, 0);
	fs(&f->b, 30, 1, 0);
	fs(&f->b, 56, 6, 0);
	fs(&f->b, 80, 6, 0);
	fs(&f->b, 58, 2, 0);
	fs(&f->b, 59, 2, 0);
	fs(&f->b, 70, 3, 0);
	fs(&f->b, 71, 3, 0);
	fs(&f->b, 89, 1, 0);
	fs(&f->b, 130, 4, 0);
	fs(&f->b, 61, 1, 0);
	fs(&f->b, 225, 4, 0);
	fs(&f->b, 226, 4, 0);
	fs(&f->b, 227, 2, 0);
	fs(&f->b, 228, 2, 0);
	fs(&f->b, 230, 1, 0);
	fs(&f->b, 31, 4, 0);
	fs(&f->b, 234, 4, 0);
	fs(&f->b, 235, 4, 0);
	fs(&f->b, 15, 4, 0);
	fs(&f->b, 63, 16, 0);
	fs(&f->b, 85, 8, 0);
	fs(&f->b, 86, 8, 0);
	fs(&f->b, 150, 4, 0);
	fs(&f->b, 151, 4, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 400);
	ip6(&f->b, "2001:db8::1");
	ip6(&f->b, "2001:db8::2");
	u8(&f->b, 48);
	u8(&f->b, 64);
	raw(&f->b, "\x00\x11\x22\x33\x44\x55", 6);
	raw(&f->b, "\x66\x77\x88\x99\xaa\xbb", 6);
	u16(&f->b, 100);
	u16(&f->b, 200);
	raw(&f->b, "\x01\x23\x40", 3);
	raw(&f->b, "\x05\x67\x81", 3); /* 4660 exp0; 22136 bos */
	u8(&f->b, 0x40);
	ip4(&f->b, "192.0.2.99");
	u8(&f->b, 1);
	ip4(&f->b, "100.64.0.1");
	ip4(&f->b, "100.64.0.2");
	u16(&f->b, 40000);
	u16(&f->b, 80);
	u8(&f->b, 1);
	u32(&f->b, 0xabcde);
	u32(&f->b, 11);
	u32(&f->b, 12);
	ip4(&f->b, "203.0.113.1");
	ip6(&f->b, "2001:db8::fe");
	u64(&f->b, 5000000000ull);
	u64(&f->b, 4000000ull);
	u32(&f->b, T_SECS - 30);
	u32(&f->b, T_SECS - 2);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 1);
	const struct flow_rec *r = &f->s.rec[0];
	assert_true(addr_is(&r->src_addr, "2001:db8::1"));
	assert_true(addr_is(&r->dst_addr, "2001:db8::2"));
	assert_int_equal(r->src_mask, 48);
	assert_int_equal(r->dst_mask, 64);
	assert_memory_equal(r->src_mac, "\x00\x11\x22\x33\x44\x55", 6);
	assert_memory_equal(r->dst_mac, "\x66\x77\x88\x99\xaa\xbb", 6);
	assert_int_equal(r->vlan_in, 100);
	assert_int_equal(r->vlan_out, 200);
	assert_int_equal(r->mpls_depth, 2);
	assert_int_equal(r->mpls[0] >> 4, 0x1234);
	assert_int_equal(r->mpls[1] >> 4, 0x5678);
	assert_int_equal(r->mpls[1] & 1, 1);
	assert_int_equal(r->fwd_status, 0x40);
	assert_true(addr_is(&r->peer_src_ip, "192.0.2.99")); /* IE 130 beats the socket */
	assert_int_equal(r->direction, 1);
	assert_true(addr_is(&r->post_nat_src_addr, "100.64.0.1"));
	assert_true(addr_is(&r->post_nat_dst_addr, "100.64.0.2"));
	assert_int_equal(r->post_nat_src_port, 40000);
	assert_int_equal(r->post_nat_dst_port, 80);
	assert_int_equal(r->nat_event, 1);
	assert_int_equal(r->flow_label, 0xabcde);
	assert_int_equal(r->vrf_in, 11);
	assert_int_equal(r->vrf_out, 12);
	assert_true(addr_is(&r->peer_dst_ip, "2001:db8::fe")); /* BGP next hop wins over IE 15 */
	assert_int_equal(r->bytes, 5000000000ull);
	assert_int_equal(r->packets, 4000000);
	assert_int_equal(r->ts_start, (T_SECS - 30) * 1000000ull);
	assert_int_equal(r->ts_end, (T_SECS - 2) * 1000000ull);
	assert_int_equal(r->export_version, 10);
	assert_int_equal(r->export_sysid, 99);
	assert_int_equal(r->export_seqno, 500);
	/* the fields an IPFIX data record can carry (tags, names... come from elsewhere) */
	assert_true(FR_HAS(r, FR_MPLS_VPN_RD)); /* only the VRF id is known: vrfid:11 */
	assert_int_equal(r->mpls_vpn_rd, (uint64_t)FR_RD_TYPE_VRFID << 48 | 11);
	assert_int_equal(r->mpls_vpn_rd_origin, FR_RD_FLOW);
	for (int i = FR_SRC_ADDR; i <= FR_SAMPLING_DIR; i++) {
		if (i == FR_TCP_FLAGS || i == FR_SAMPLING || i == FR_ENGINE || i == FR_SRC_PORT ||
		    i == FR_DST_PORT || i == FR_PROTO || i == FR_TOS || i == FR_SRC_AS ||
		    i == FR_DST_AS || i == FR_IN_IFACE || i == FR_OUT_IFACE || i == FR_ICMP ||
		    i == FR_SAMPLING_DIR)
			continue;
		assert_true(FR_HAS(r, i));
	}
	assert_false(FR_HAS(r, FR_SRC_PORT));
}

static void test_ipfix_counter_fallbacks(void **state)
{
	struct fx *f = *state;
	ipfix_hdr(&f->b, 0, 1);
	size_t s = set_begin(&f->b, 2);
	u16(&f->b, 256);
	u16(&f->b, 3);
	fs(&f->b, 23, 4, 0);
	fs(&f->b, 24, 4, 0);
	fs(&f->b, 3, 4, 0);
	u16(&f->b, 257);
	u16(&f->b, 4);
	fs(&f->b, 23, 4, 0);
	fs(&f->b, 85, 4, 0);
	fs(&f->b, 24, 4, 0);
	fs(&f->b, 1, 4, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 256);
	u32(&f->b, 700);
	u32(&f->b, 7);
	u32(&f->b, 5);
	set_end(&f->b, s);
	s = set_begin(&f->b, 257);
	u32(&f->b, 1);
	u32(&f->b, 2);
	u32(&f->b, 3);
	u32(&f->b, 4);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 2);
	assert_int_equal(f->s.rec[0].bytes, 700);
	assert_int_equal(f->s.rec[0].packets, 7);
	assert_int_equal(f->s.rec[0].flows, 5);
	assert_int_equal(f->s.rec[1].bytes, 4);	  /* IE 1 beats 85 and 23 */
	assert_int_equal(f->s.rec[1].packets, 3); /* only 24 present */
	assert_int_equal(f->ex->st.seq_gaps, 0);
	/* IPFIX sequence counts data records: next message must say 2 */
	ipfix_hdr(&f->b, 2, 1);
	ipfix_end(&f->b);
	dec(f);
	assert_int_equal(f->ex->st.seq_gaps, 0);
	ipfix_hdr(&f->b, 9, 1);
	ipfix_end(&f->b);
	dec(f);
	assert_int_equal(f->ex->st.seq_gaps, 1);
}

static void ipfix_tpl_ab(struct buf *b, int layout_b)
{
	size_t s = set_begin(b, 2);
	u16(b, 256);
	if (!layout_b) {
		u16(b, 2);
		fs(b, 8, 4, 0);
		fs(b, 7, 2, 0);
	} else {
		u16(b, 3);
		fs(b, 7, 2, 0);
		fs(b, 1, 4, 0);
		fs(b, 8, 4, 0);
	}
	set_end(b, s);
}

static void test_ipfix_redefinition(void **state)
{
	struct fx *f = *state;
	ipfix_hdr(&f->b, 0, 1);
	ipfix_tpl_ab(&f->b, 0);
	size_t s = set_begin(&f->b, 256);
	ip4(&f->b, "10.9.9.9");
	u16(&f->b, 53);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 1);
	assert_int_equal(f->s.changed, 1);

	/* redefinition with another layout, data in the same message */
	ipfix_hdr(&f->b, 1, 1);
	ipfix_tpl_ab(&f->b, 1);
	s = set_begin(&f->b, 256);
	u16(&f->b, 8080);
	u32(&f->b, 999);
	ip4(&f->b, "10.8.8.8");
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 2);
	assert_int_equal(f->s.changed, 2);
	assert_true(addr_is(&f->s.rec[1].src_addr, "10.8.8.8"));
	assert_int_equal(f->s.rec[1].src_port, 8080);
	assert_int_equal(f->s.rec[1].bytes, 999);
	assert_int_equal(nf_tpl_store_count(f->ex->templates), 1);

	/* a malformed redefinition removes the old template: no stale decoding */
	ipfix_hdr(&f->b, 2, 1);
	s = set_begin(&f->b, 2);
	u16(&f->b, 256);
	u16(&f->b, 2);
	fs(&f->b, 8, 40000, 0);
	fs(&f->b, 7, 40000, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 256);
	u16(&f->b, 8080);
	u32(&f->b, 999);
	ip4(&f->b, "10.8.8.8");
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_ERR_BAD_TEMPLATE);
	assert_int_equal(f->ex->st.err[NF_ERR_NO_TEMPLATE], 1);
	assert_int_equal(f->s.n, 2);
	assert_int_equal(f->s.changed, 3);
}

/* One exporter cannot make the collector hold more than NF_TPL_MAX_PER_EXPORTER templates. */
static void test_template_limit(void **state)
{
	struct fx *f = *state;
	ipfix_hdr(&f->b, 0, 1);
	size_t s = set_begin(&f->b, 2);
	for (unsigned i = 0; i <= NF_TPL_MAX_PER_EXPORTER; i++) {
		u16(&f->b, (uint16_t)(256 + i));
		u16(&f->b, 1);
		fs(&f->b, 8, 4, 0);
	}
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_ERR_LIMIT);
	assert_int_equal(nf_tpl_store_count(f->ex->templates), NF_TPL_MAX_PER_EXPORTER);
	/* the ones that fit decode; redefining one of them still works at the limit */
	ipfix_hdr(&f->b, 0, 1);
	s = set_begin(&f->b, 2);
	u16(&f->b, 256);
	u16(&f->b, 2);
	fs(&f->b, 8, 4, 0);
	fs(&f->b, 7, 2, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 256);
	ip4(&f->b, "10.7.7.7");
	u16(&f->b, 99);
	set_end(&f->b, s);
	s = set_begin(&f->b, (uint16_t)(256 + NF_TPL_MAX_PER_EXPORTER));
	ip4(&f->b, "10.7.7.8");
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_ERR_NO_TEMPLATE);
	assert_int_equal(f->s.n, 1);
	assert_int_equal(f->s.rec[0].src_port, 99);
	assert_string_equal(nf_err_name(NF_ERR_LIMIT), "limit_reached");
}

static void one_template(struct buf *b, uint16_t id)
{
	b->n = 0;
	ipfix_hdr(b, 0, 1);
	size_t s = set_begin(b, 2);
	u16(b, id);
	u16(b, 1);
	fs(b, 8, 4, 0);
	set_end(b, s);
	ipfix_end(b);
}

/* max_templates bounds all exporters of a collector together; withdrawals give room back. */
static void test_template_budget_across_exporters(void **state)
{
	(void)state;
	struct nf_collector c;
	struct nf_options opt = {.max_templates = 3};
	static struct buf b;
	assert_int_equal(nf_collector_init(&c, &opt, NULL, NULL), 0);
	struct nt_addr a1 = mkaddr("192.0.2.1"), a2 = mkaddr("192.0.2.2");
	struct nf_exporter *e1 = nf_exporter_get(&c, &a1, 0), *e2 = nf_exporter_get(&c, &a2, 0);
	one_template(&b, 256);
	assert_int_equal(nf_decode(&c, e1, b.b, b.n, 1), NF_OK);
	one_template(&b, 257);
	assert_int_equal(nf_decode(&c, e1, b.b, b.n, 1), NF_OK);
	one_template(&b, 256);
	assert_int_equal(nf_decode(&c, e2, b.b, b.n, 1), NF_OK);
	assert_int_equal(c.tpl_budget.used, 3);
	one_template(&b, 257);
	assert_int_equal(nf_decode(&c, e2, b.b, b.n, 1), NF_ERR_LIMIT);
	assert_int_equal(e2->st.err[NF_ERR_LIMIT], 1);
	/* resending a known template is not a new one: still accepted at the limit */
	one_template(&b, 256);
	assert_int_equal(nf_decode(&c, e1, b.b, b.n, 1), NF_OK);
	/* withdrawing one makes room */
	b.n = 0;
	ipfix_hdr(&b, 0, 1);
	size_t s = set_begin(&b, 2);
	u16(&b, 257);
	u16(&b, 0);
	set_end(&b, s);
	ipfix_end(&b);
	assert_int_equal(nf_decode(&c, e1, b.b, b.n, 1), NF_OK);
	assert_int_equal(c.tpl_budget.used, 2);
	one_template(&b, 257);
	assert_int_equal(nf_decode(&c, e2, b.b, b.n, 1), NF_OK);
	assert_int_equal(c.tpl_budget.used, 3);
	nf_collector_free(&c);
}

/* Exporters beyond max_exporters are refused and counted; the index grows as needed. */
static void test_exporter_limit_and_growth(void **state)
{
	(void)state;
	struct nf_collector c;
	struct nf_options opt = {.max_exporters = 3000};
	assert_int_equal(nf_collector_init(&c, &opt, NULL, NULL), 0);
	struct nf_exporter *first[3000];
	for (unsigned i = 0; i < 3000; i++) {
		struct nt_addr a = {4, {10, (uint8_t)(i >> 8), (uint8_t)i, 1}};
		first[i] = nf_exporter_get(&c, &a, 0);
		assert_non_null(first[i]);
	}
	assert_true(c.nbuckets > 256); /* grew past the initial index */
	for (unsigned i = 0; i < 3000; i++) {
		struct nt_addr a = {4, {10, (uint8_t)(i >> 8), (uint8_t)i, 1}};
		assert_ptr_equal(nf_exporter_get(&c, &a, 0), first[i]);
	}
	struct nt_addr extra = {4, {192, 0, 2, 1}};
	assert_null(nf_exporter_get(&c, &extra, 0));
	assert_int_equal(c.refused, 1);
	assert_int_equal(c.nexporters, 3000);
	nf_collector_free(&c);
}

static void test_ipfix_withdrawal(void **state)
{
	struct fx *f = *state;
	ipfix_hdr(&f->b, 0, 1);
	ipfix_tpl_ab(&f->b, 0);
	size_t s = set_begin(&f->b, 2);
	u16(&f->b, 257);
	u16(&f->b, 1);
	fs(&f->b, 8, 4, 0);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(nf_tpl_store_count(f->ex->templates), 2);

	/* withdraw 256, then data for it */
	ipfix_hdr(&f->b, 0, 1);
	s = set_begin(&f->b, 2);
	u16(&f->b, 256);
	u16(&f->b, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 256);
	ip4(&f->b, "10.9.9.9");
	u16(&f->b, 53);
	set_end(&f->b, s);
	s = set_begin(&f->b, 257);
	ip4(&f->b, "10.9.9.8");
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_ERR_NO_TEMPLATE);
	assert_int_equal(f->s.n, 1);
	assert_true(addr_is(&f->s.rec[0].src_addr, "10.9.9.8"));
	assert_int_equal(f->s.changed, 3);

	/* withdraw all data templates: template id = set id 2 */
	ipfix_hdr(&f->b, 0, 1);
	s = set_begin(&f->b, 2);
	u16(&f->b, 2);
	u16(&f->b, 0);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(nf_tpl_store_count(f->ex->templates), 0);
	assert_int_equal(f->s.changed, 4);
}

static void test_ipfix_varlen_and_custom(void **state)
{
	struct fx *f = *state;
	/* custom primitives: a vlen string (IE 82) and an enterprise field */
	f->reg.ncustom = 2;
	strcpy(f->reg.custom[0].name, "ifname");
	f->reg.custom[0].field_type = 82;
	f->reg.custom[0].vlen = 1;
	f->reg.custom[0].len = 64;
	f->reg.custom[0].index = 0;
	strcpy(f->reg.custom[1].name, "vendor");
	f->reg.custom[1].field_type = 1234;
	f->reg.custom[1].pen = 9;
	f->reg.custom[1].len = 4;
	f->reg.custom[1].index = 1;

	ipfix_hdr(&f->b, 0, 1);
	size_t s = set_begin(&f->b, 2);
	u16(&f->b, 256);
	u16(&f->b, 4);
	fs(&f->b, 8, 4, 0);
	fs(&f->b, 82, 0xffff, 0);
	fs(&f->b, 1234, 4, 9);
	fs(&f->b, 7, 2, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 256);
	/* short length form */
	ip4(&f->b, "10.0.0.1");
	u8(&f->b, 3);
	raw(&f->b, "et0", 3);
	u32(&f->b, 0xdeadbeef);
	u16(&f->b, 111);
	/* 255 escape + 2-byte length (RFC 7011 §7) */
	ip4(&f->b, "10.0.0.2");
	u8(&f->b, 255);
	u16(&f->b, 300);
	for (int i = 0; i < 300; i++)
		u8(&f->b, 'x');
	u32(&f->b, 0xcafe);
	u16(&f->b, 222);
	/* empty value */
	ip4(&f->b, "10.0.0.3");
	u8(&f->b, 0);
	u32(&f->b, 1);
	u16(&f->b, 333);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 3);
	const struct flow_rec *r = &f->s.rec[0];
	assert_int_equal(r->src_port, 111);
	assert_int_equal(r->custom_len[0], 3);
	assert_memory_equal(r->custom_ptr[0], "et0", 3);
	assert_int_equal(r->custom_len[1], 4);
	assert_memory_equal(r->custom_ptr[1], "\xde\xad\xbe\xef", 4);
	assert_ptr_equal(r->custom_ptr[0],
			 f->b.b + 16 + 28 + 4 + 4 + 1); /* points into the datagram */
	assert_int_equal(f->s.rec[1].src_port, 222);
	assert_int_equal(f->s.rec[1].custom_len[0], 300);
	assert_true(addr_is(&f->s.rec[2].src_addr, "10.0.0.3"));
	assert_int_equal(f->s.rec[2].src_port, 333);
	assert_int_equal(f->s.rec[2].custom_len[0], 0);

	/* a varlen record cut short: truncated, earlier records still emitted */
	ipfix_hdr(&f->b, 3, 1);
	s = set_begin(&f->b, 256);
	ip4(&f->b, "10.0.0.4");
	u8(&f->b, 1);
	u8(&f->b, 'a');
	u32(&f->b, 1);
	u16(&f->b, 1);
	ip4(&f->b, "10.0.0.5");
	u8(&f->b, 200);
	raw(&f->b, "abcdefgh", 8); /* > min_len */
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_ERR_TRUNCATED);
	assert_int_equal(f->s.n, 4);
}

static void test_ipfix_options_pen_and_scope(void **state)
{
	struct fx *f = *state;
	ipfix_hdr(&f->b, 0, 5);
	/* options template: scope selectorId (302), enterprise field, 305/306 */
	size_t s = set_begin(&f->b, 3);
	u16(&f->b, 300);
	u16(&f->b, 4);
	u16(&f->b, 1);
	fs(&f->b, 302, 8, 0);
	fs(&f->b, 77, 2, 29305);
	fs(&f->b, 305, 4, 0);
	fs(&f->b, 306, 4, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 300);
	u64(&f->b, 0x1122334455ull);
	u16(&f->b, 7);
	u32(&f->b, 1);
	u32(&f->b, 511);
	zeros(&f->b, 3); /* padding: shorter than a record, not an error */
	set_end(&f->b, s);
	/* data template with the selector id and an enterprise field before it */
	s = set_begin(&f->b, 2);
	u16(&f->b, 301);
	u16(&f->b, 3);
	fs(&f->b, 8, 4, 0);
	fs(&f->b, 99, 3, 2636);
	fs(&f->b, 302, 8, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 301);
	ip4(&f->b, "10.7.7.7");
	raw(&f->b, "abc", 3);
	u64(&f->b, 0x1122334455ull);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 1);
	assert_int_equal(f->s.rec[0].sampling_rate, 512);
	assert_true(FR_HAS(&f->s.rec[0], FR_SAMPLING));
	for (int i = 0; i < NF_ERR__COUNT; i++)
		assert_int_equal(f->ex->st.err[i], 0);

	/* options scoped by something that is not a sampler scope: ignored */
	ipfix_hdr(&f->b, 2, 6);
	s = set_begin(&f->b, 3);
	u16(&f->b, 300);
	u16(&f->b, 2);
	u16(&f->b, 1);
	fs(&f->b, 12, 4, 0);
	fs(&f->b, 34, 4, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 300);
	ip4(&f->b, "10.0.0.1");
	u32(&f->b, 10);
	set_end(&f->b, s);
	s = set_begin(&f->b, 2);
	u16(&f->b, 256);
	u16(&f->b, 1);
	fs(&f->b, 8, 4, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 256);
	ip4(&f->b, "10.7.7.8");
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 2);
	assert_false(FR_HAS(&f->s.rec[1], FR_SAMPLING));

	/* options template withdrawal (set 3, count 0) */
	ipfix_hdr(&f->b, 4, 5);
	s = set_begin(&f->b, 3);
	u16(&f->b, 300);
	u16(&f->b, 0);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	assert_null(nf_tpl_get(f->ex->templates, 10, 5, 300));
	assert_non_null(nf_tpl_get(f->ex->templates, 10, 6, 300));

	/* random n-out-of-N (RFC 5477 309/310), exporter-wide via ODID scope */
	ipfix_hdr(&f->b, 4, 7);
	s = set_begin(&f->b, 3);
	u16(&f->b, 320);
	u16(&f->b, 3);
	u16(&f->b, 1);
	fs(&f->b, 149, 4, 0);
	fs(&f->b, 309, 2, 0);
	fs(&f->b, 310, 2, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 320);
	u32(&f->b, 7);
	u16(&f->b, 2);
	u16(&f->b, 1000);
	set_end(&f->b, s);
	s = set_begin(&f->b, 2);
	u16(&f->b, 256);
	u16(&f->b, 1);
	fs(&f->b, 8, 4, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 256);
	ip4(&f->b, "10.7.7.9");
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 3);
	assert_int_equal(f->s.rec[2].sampling_rate, 500);

	/* options template with scope count 0 or > field count: bad options */
	ipfix_hdr(&f->b, 4, 5);
	s = set_begin(&f->b, 3);
	u16(&f->b, 310);
	u16(&f->b, 1);
	u16(&f->b, 0);
	fs(&f->b, 34, 4, 0);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_ERR_BAD_OPTIONS);
}

static void test_ipfix_time_encodings(void **state)
{
	struct fx *f = *state;
	const uint64_t ntp = (uint64_t)(T_SECS - 10 + 2208988800u) << 32 | 0x80000000u; /* .5 s */
	ipfix_hdr(&f->b, 0, 1);
	size_t s = set_begin(&f->b, 2);
	u16(&f->b, 256);
	u16(&f->b, 2);
	fs(&f->b, 152, 8, 0);
	fs(&f->b, 153, 8, 0);
	u16(&f->b, 257);
	u16(&f->b, 2);
	fs(&f->b, 154, 8, 0);
	fs(&f->b, 157, 8, 0);
	u16(&f->b, 258);
	u16(&f->b, 2);
	fs(&f->b, 158, 4, 0);
	fs(&f->b, 159, 4, 0);
	u16(&f->b, 259);
	u16(&f->b, 3);
	fs(&f->b, 160, 8, 0);
	fs(&f->b, 22, 4, 0);
	fs(&f->b, 21, 4, 0);
	u16(&f->b, 260);
	u16(&f->b, 2);
	fs(&f->b, 22, 4, 0);
	fs(&f->b, 21, 4, 0); /* no 160 */
	u16(&f->b, 261);
	u16(&f->b, 2);
	fs(&f->b, 22, 4, 0);
	fs(&f->b, 153, 8, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 256);
	u64(&f->b, (T_SECS - 20) * 1000ull + 123);
	u64(&f->b, (T_SECS - 1) * 1000ull + 999);
	set_end(&f->b, s);
	s = set_begin(&f->b, 257);
	u64(&f->b, ntp);
	u64(&f->b, ntp);
	set_end(&f->b, s);
	s = set_begin(&f->b, 258);
	u32(&f->b, 5000000);
	u32(&f->b, 250);
	set_end(&f->b, s);
	s = set_begin(&f->b, 259);
	u64(&f->b, (T_SECS - 3600) * 1000ull);
	u32(&f->b, 1000);
	u32(&f->b, 2500);
	set_end(&f->b, s);
	s = set_begin(&f->b, 260);
	u32(&f->b, 1000);
	u32(&f->b, 2000);
	set_end(&f->b, s);
	s = set_begin(&f->b, 261);
	u32(&f->b, 1000);
	u64(&f->b, T_SECS * 1000ull);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 6);
	const uint64_t E = T_SECS * 1000000ull;
	assert_int_equal(f->s.rec[0].ts_start, E - 20000000 + 123000);
	assert_int_equal(f->s.rec[0].ts_end, E - 1000000 + 999000);
	assert_int_equal(f->s.rec[1].ts_start, E - 10000000 + 500000);
	assert_int_equal(f->s.rec[1].ts_end, E - 10000000 + 500000);
	assert_int_equal(f->s.rec[2].ts_start, E - 5000000);
	assert_int_equal(f->s.rec[2].ts_end, E - 250);
	assert_int_equal(f->s.rec[3].ts_start, E - 3600000000ull + 1000000);
	assert_int_equal(f->s.rec[3].ts_end, E - 3600000000ull + 2500000);
	/* IPFIX has no sysUptime in its header: 21/22 without 160 are unusable */
	assert_false(FR_HAS(&f->s.rec[4], FR_TS_START));
	assert_false(FR_HAS(&f->s.rec[4], FR_TS_END));
	assert_false(FR_HAS(&f->s.rec[5], FR_TS_START));
	assert_int_equal(f->s.rec[5].ts_end, E);
}

/* ---- malformations ------------------------------------------------------- */

static void test_truncated_set(void **state)
{
	struct fx *f = *state;
	v9_hdr(&f->b, 1, 0, 0);
	v9_basic_template(&f->b);
	size_t s = set_begin(&f->b, 256);
	v9_basic_record(&f->b, "10.0.0.1", 1);
	set_end(&f->b, s);
	patch16(&f->b, s + 2, (uint16_t)(f->b.n - s + 50)); /* claims more than there is */
	assert_int_equal(dec(f), NF_ERR_TRUNCATED);
	assert_int_equal(f->s.n, 0);
	assert_non_null(nf_tpl_get(f->ex->templates, 9, 0, 256)); /* the template set was fine */

	/* template set cut in the middle of its field list */
	v9_hdr(&f->b, 1, 1, 0);
	s = set_begin(&f->b, 0);
	u16(&f->b, 260);
	u16(&f->b, 10);
	fs(&f->b, 8, 4, 0);
	set_end(&f->b, s);
	assert_int_equal(dec(f), NF_ERR_TRUNCATED);
	assert_null(nf_tpl_get(f->ex->templates, 9, 0, 260));

	/* IPFIX header length beyond the datagram */
	ipfix_hdr(&f->b, 0, 0);
	ipfix_end(&f->b);
	patch16(&f->b, 2, 100);
	assert_int_equal(dec(f), NF_ERR_TRUNCATED);
	/* too short for a header */
	f->b.n = 10;
	assert_int_equal(dec(f), NF_ERR_SHORT);
}

static void test_bad_set_length(void **state)
{
	struct fx *f = *state;
	static const uint16_t lens[] = {0, 1, 3};
	for (size_t i = 0; i < 3; i++) {
		ipfix_hdr(&f->b, 0, 0);
		u16(&f->b, 256);
		u16(&f->b, lens[i]);
		zeros(&f->b, 8);
		ipfix_end(&f->b);
		assert_int_equal(dec(f), NF_ERR_BAD_SET);
	}
	v9_hdr(&f->b, 1, 0, 0);
	u16(&f->b, 256);
	u16(&f->b, 2);
	zeros(&f->b, 8);
	assert_int_equal(dec(f), NF_ERR_BAD_SET);
	assert_int_equal(f->ex->st.err[NF_ERR_BAD_SET], 4);
}

static void test_bad_templates(void **state)
{
	struct fx *f = *state;
	/* zero fields in v9 */
	v9_hdr(&f->b, 1, 0, 0);
	size_t s = set_begin(&f->b, 0);
	u16(&f->b, 256);
	u16(&f->b, 0);
	set_end(&f->b, s);
	assert_int_equal(dec(f), NF_ERR_BAD_TEMPLATE);
	/* records that cannot fit any set */
	v9_hdr(&f->b, 1, 1, 0);
	s = set_begin(&f->b, 0);
	u16(&f->b, 257);
	u16(&f->b, 3);
	fs(&f->b, 8, 65000, 0);
	fs(&f->b, 12, 65000, 0);
	fs(&f->b, 1, 4, 0);
	set_end(&f->b, s);
	assert_int_equal(dec(f), NF_ERR_BAD_TEMPLATE);
	/* only zero-length fields: would loop on nothing */
	v9_hdr(&f->b, 1, 2, 0);
	s = set_begin(&f->b, 0);
	u16(&f->b, 258);
	u16(&f->b, 2);
	fs(&f->b, 8, 0, 0);
	fs(&f->b, 12, 0, 0);
	set_end(&f->b, s);
	assert_int_equal(dec(f), NF_ERR_BAD_TEMPLATE);
	/* template id below 256 */
	v9_hdr(&f->b, 1, 3, 0);
	s = set_begin(&f->b, 0);
	u16(&f->b, 17);
	u16(&f->b, 1);
	fs(&f->b, 8, 4, 0);
	set_end(&f->b, s);
	assert_int_equal(dec(f), NF_ERR_BAD_TEMPLATE);
	/* varlen is IPFIX only */
	v9_hdr(&f->b, 1, 4, 0);
	s = set_begin(&f->b, 0);
	u16(&f->b, 259);
	u16(&f->b, 1);
	fs(&f->b, 82, 0xffff, 0);
	set_end(&f->b, s);
	assert_int_equal(dec(f), NF_ERR_BAD_TEMPLATE);
	/* known IE with a wrong size is skipped, never misread */
	v9_hdr(&f->b, 1, 5, 0);
	s = set_begin(&f->b, 0);
	u16(&f->b, 260);
	u16(&f->b, 2);
	fs(&f->b, 8, 3, 0);
	fs(&f->b, 7, 2, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 260);
	raw(&f->b, "\x0a\x00\x01", 3);
	u16(&f->b, 99);
	set_end(&f->b, s);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 1);
	assert_false(FR_HAS(&f->s.rec[0], FR_SRC_ADDR));
	assert_int_equal(f->s.rec[0].src_port, 99);
	assert_int_equal(nf_tpl_store_count(f->ex->templates), 1);
	/* options template with lengths not a multiple of 4 */
	v9_hdr(&f->b, 1, 6, 0);
	s = set_begin(&f->b, 1);
	u16(&f->b, 261);
	u16(&f->b, 3);
	u16(&f->b, 4);
	zeros(&f->b, 8);
	set_end(&f->b, s);
	assert_int_equal(dec(f), NF_ERR_BAD_OPTIONS);
}

/* ---- v8 ------------------------------------------------------------------ */

static void v8_hdr(struct buf *b, uint16_t count, uint8_t agg)
{
	b->n = 0;
	u16(b, 8);
	u16(b, count);
	u32(b, T_UPTIME);
	u32(b, T_SECS);
	u32(b, 0);
	u32(b, 77);
	u8(b, 1);
	u8(b, 2);
	u8(b, agg);
	u8(b, 2);
	u32(b, 0);
}

static void v8_common(struct buf *b)
{
	u32(b, 4);
	u32(b, 10);
	u32(b, 1000);
	u32(b, 90000);
	u32(b, 95000);
}

static void test_v8(void **state)
{
	struct fx *f = *state;
	v8_hdr(&f->b, 1, 1);
	v8_common(&f->b);
	u16(&f->b, 100);
	u16(&f->b, 200);
	u16(&f->b, 3);
	u16(&f->b, 4);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 1);
	const struct flow_rec *r = &f->s.rec[0];
	assert_int_equal(r->flows, 4);
	assert_int_equal(r->packets, 10);
	assert_int_equal(r->bytes, 1000);
	assert_int_equal(r->src_as, 100);
	assert_int_equal(r->dst_as, 200);
	assert_int_equal(r->in_iface, 3);
	assert_int_equal(r->out_iface, 4);
	assert_int_equal(r->ts_start, (T_SECS - 10) * 1000000ull);
	assert_int_equal(r->export_version, 8);
	assert_int_equal(r->engine_type, 1);
	assert_int_equal(r->engine_id, 2);
	assert_false(FR_HAS(r, FR_SRC_ADDR));

	v8_hdr(&f->b, 1, 5);
	v8_common(&f->b);
	ip4(&f->b, "10.1.0.0");
	ip4(&f->b, "10.2.0.0");
	u8(&f->b, 24);
	u8(&f->b, 16);
	u16(&f->b, 0);
	u16(&f->b, 1);
	u16(&f->b, 2);
	u16(&f->b, 3);
	u16(&f->b, 4);
	assert_int_equal(dec(f), NF_OK);
	r = &f->s.rec[1];
	assert_true(addr_is(&r->src_addr, "10.1.0.0"));
	assert_true(addr_is(&r->dst_addr, "10.2.0.0"));
	assert_int_equal(r->src_mask, 16);
	assert_int_equal(r->dst_mask, 24);
	assert_int_equal(r->out_iface, 4);

	v8_hdr(&f->b, 1, 2);
	v8_common(&f->b);
	u8(&f->b, 17);
	u8(&f->b, 0);
	u16(&f->b, 0);
	u16(&f->b, 53);
	u16(&f->b, 5353);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.rec[2].proto, 17);
	assert_int_equal(f->s.rec[2].dst_port, 5353);

	v8_hdr(&f->b, 1, 13);
	v8_common(&f->b);
	ip4(&f->b, "10.1.0.0");
	ip4(&f->b, "10.2.0.0");
	u8(&f->b, 24);
	u8(&f->b, 16);
	u8(&f->b, 0x20);
	u8(&f->b, 0);
	u16(&f->b, 1);
	u16(&f->b, 2);
	u16(&f->b, 3);
	u16(&f->b, 4);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.rec[3].tos, 0x20);
	assert_int_equal(f->s.rec[3].dst_as, 2);

	v8_hdr(&f->b, 2, 1); /* count says 2, one record present */
	v8_common(&f->b);
	zeros(&f->b, 8);
	assert_int_equal(dec(f), NF_ERR_COUNT);
	v8_hdr(&f->b, 1, 7); /* cache scheme: unsupported */
	zeros(&f->b, 40);
	assert_int_equal(dec(f), NF_ERR_VERSION);
	f->b.n = 20;
	assert_int_equal(dec(f), NF_ERR_SHORT);
	assert_int_equal(f->s.n, 4);
}

/* ---- templates file ------------------------------------------------------ */

static void tmpname(char *p, size_t n, const char *tag)
{
	snprintf(p, n, "/tmp/test_nf9_%s_%ld.json", tag, (long)getpid());
}

static void test_templates_file_roundtrip(void **state)
{
	struct fx *f = *state;
	char path[128], err[256] = "";
	tmpname(path, sizeof path, "rt");

	ipfix_hdr(&f->b, 0, 3);
	size_t s = set_begin(&f->b, 2);
	u16(&f->b, 256);
	u16(&f->b, 3);
	fs(&f->b, 8, 4, 0);
	fs(&f->b, 82, 0xffff, 0);
	fs(&f->b, 5, 2, 4242);
	set_end(&f->b, s);
	s = set_begin(&f->b, 3);
	u16(&f->b, 257);
	u16(&f->b, 2);
	u16(&f->b, 1);
	fs(&f->b, 302, 4, 0);
	fs(&f->b, 305, 4, 0);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	v9_hdr(&f->b, 1, 0, 8);
	v9_basic_template(&f->b);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(nf_templates_save(path, &f->c, err, sizeof err), 0);

	/* "restart": a new collector loads the file, data decodes without templates */
	struct nf_collector c2;
	struct sink s2;
	memset(&s2, 0, sizeof s2);
	assert_int_equal(nf_collector_init(&c2, &f->c.opt, emit, &s2), 0);
	c2.opt.template_arg = &s2;
	size_t loaded = 0;
	assert_int_equal(nf_templates_load(path, &c2, &loaded, err, sizeof err), 0);
	assert_int_equal(loaded, 3);
	assert_int_equal(s2.changed, 0);
	struct nt_addr a = mkaddr("192.0.2.1");
	struct nf_exporter *ex2 = nf_exporter_get(&c2, &a, 2055);
	assert_int_equal(nf_tpl_store_count(ex2->templates), 3);
	const struct nf_template *t1 = nf_tpl_get(f->ex->templates, 10, 3, 256);
	const struct nf_template *t2 = nf_tpl_get(ex2->templates, 10, 3, 256);
	assert_non_null(t2);
	assert_true(nf_tpl_equal(t1, t2));
	assert_int_equal(t2->f[2].pen, 4242);
	assert_true(nf_tpl_get(ex2->templates, 10, 3, 257)->options);

	v9_hdr(&f->b, 1, 1, 8);
	s = set_begin(&f->b, 256);
	v9_basic_record(&f->b, "10.0.0.9", 9);
	set_end(&f->b, s);
	assert_int_equal(nf_decode(&c2, ex2, f->b.b, f->b.n, 1), NF_OK);
	assert_int_equal(s2.n, 1);
	assert_true(addr_is(&s2.rec[0].src_addr, "10.0.0.9"));
	nf_collector_free(&c2);
	unlink(path);

	/* missing file: first start, not an error */
	assert_int_equal(nf_templates_load(path, &f->c, &loaded, err, sizeof err), 0);
	assert_int_equal(loaded, 0);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_templates_file_corrupt(void **state)
{
	struct fx *f = *state;
	char path[128], err[256];
	static const char *bad[] = {
	    "{\"format\": \"netacct-nf-templates\", \"version\": 1, \"exporters\": [",
	    "{\"format\": \"something-else\", \"version\": 1, \"exporters\": []}",
	    "{\"format\": \"netacct-nf-templates\", \"version\": 2, \"exporters\": []}",
	    "{\"format\": \"netacct-nf-templates\", \"version\": 1, \"exporters\": [{\"addr\": "
	    "\"192.0.2.1\", \"port\": 2055, \"templates\": [{\"export_version\": 9, \"domain\": 0, "
	    "\"id\": 300, \"options\": false, \"scope_fields\": 0, \"fields\": []}]}]}",
	    "{\"format\": \"netacct-nf-templates\", \"version\": 1, \"exporters\": [{\"addr\": "
	    "\"not-an-ip\", \"port\": 2055, \"templates\": []}]}",
	    "{\"format\": \"netacct-nf-templates\", \"version\": 1, \"exporters\": [{\"addr\": "
	    "\"192.0.2.1\", \"port\": 2055, \"templates\": [{\"export_version\": 10, \"domain\": "
	    "0, "
	    "\"id\": 300, \"options\": false, \"scope_fields\": 0, \"fields\": [[8, 4, 0]]}, "
	    "{\"export_version\": 10, \"domain\": 0, \"id\": 301, \"options\": false, "
	    "\"scope_fields\": 0, \"fields\": [[8, 4, \"x\"]]}]}]}",
	};
	tmpname(path, sizeof path, "bad");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t loaded = 99;
		err[0] = 0;
		write_file(path, bad[i]);
		assert_int_equal(nf_templates_load(path, &f->c, &loaded, err, sizeof err), -1);
		assert_non_null(strstr(err, path));
		assert_int_equal(loaded, 0);
		/* nothing installed, even from the valid first half of the last file */
		assert_int_equal(nf_tpl_store_count(f->ex->templates), 0);
	}
	unlink(path);
}

/*
 * Found by fuzz_maps: a repeated template entry was counted twice in *loaded,
 * and an exporter beyond max_exporters failed the load ("out of memory")
 * after the first exporters' templates were already installed.
 */
static void test_templates_file_duplicates_and_cap(void **state)
{
	(void)state;
	char path[128], err[256] = "";
	struct nf_collector c;
	struct nf_options o;
	struct sink s;
	size_t loaded = 0;
#define TPL(id)                                                                                    \
	"{\"export_version\": 9, \"domain\": 0, \"id\": " #id ", \"options\": false, "             \
	"\"scope_fields\": 0, \"fields\": [[8, 4, 0]]}"
	tmpname(path, sizeof path, "dupcap");
	write_file(
	    path,
	    "{\"format\": \"netacct-nf-templates\", \"version\": 1, \"exporters\": ["
	    "{\"addr\": \"192.0.2.1\", \"port\": 2055, \"templates\": [" TPL(256) ", " TPL(
		256) ", " TPL(257) "]},"
				   "{\"addr\": \"192.0.2.2\", \"port\": 2055, \"templates\": [" TPL(
				       256) "]},"
					    "{\"addr\": \"192.0.2.3\", \"port\": 2055, "
					    "\"templates\": [" TPL(256) "]}]}");
#undef TPL
	memset(&o, 0, sizeof o);
	memset(&s, 0, sizeof s);
	o.max_exporters = 2;
	assert_int_equal(nf_collector_init(&c, &o, emit, &s), 0);
	assert_int_equal(nf_templates_load(path, &c, &loaded, err, sizeof err), 0);
	assert_int_equal(loaded, 3);
	assert_int_equal(c.nexporters, 2);
	assert_int_equal(c.refused, 0);
	nf_collector_free(&c);
	unlink(path);
}

/* ---- sampling_map -------------------------------------------------------- */

static void test_sampling_map(void **state)
{
	(void)state;
	struct sampling_map *m = NULL;
	char err[256];
	const char *text = "! comment\n"
			   "id=1024\t\tip=192.168.1.1\n"
			   "id=2048 ip=192.168.2.1 in=5\n"
			   "id=4096 ip=192.168.2.1 out=-3\n"
			   "id=8 ip=2001:db8::/32\n"
			   "\n";
	assert_int_equal(sampling_map_parse(&m, text, strlen(text), "sm", err, sizeof err), 0);
	assert_int_equal(sampling_map_count(m), 4);
	struct nt_addr a1 = mkaddr("192.168.1.1"), a2 = mkaddr("192.168.2.1");
	struct nt_addr a3 = mkaddr("2001:db8:1::1"), a4 = mkaddr("10.0.0.1");
	struct flow_rec r;
	memset(&r, 0, sizeof r);
	assert_int_equal(sampling_map_lookup(m, &a1, NULL), 1024);
	assert_int_equal(sampling_map_lookup(m, &a2, NULL), 0); /* needs interfaces */
	r.in_iface = 5;
	r.out_iface = 3;
	FR_SET(&r, FR_IN_IFACE);
	FR_SET(&r, FR_OUT_IFACE);
	assert_int_equal(sampling_map_lookup(m, &a2, &r), 2048);
	r.in_iface = 6;
	assert_int_equal(sampling_map_lookup(m, &a2, &r), 0); /* out=-3 excludes 3 */
	r.out_iface = 4;
	assert_int_equal(sampling_map_lookup(m, &a2, &r), 4096);
	assert_int_equal(sampling_map_lookup(m, &a3, NULL), 8);
	assert_int_equal(sampling_map_lookup(m, &a4, NULL), 0);
	sampling_map_free(m);

	static const char *bad[] = {"id=10\n",
				    "ip=1.2.3.4\n",
				    "id = 10 ip=1.2.3.4\n",
				    "id=10 ip=1.2.3.4 foo=1\n",
				    "id=x ip=1.2.3.4\n",
				    "id=10 ip=1.2.3.4/33\n",
				    "id=10 ip=1.2.3.4 in=0\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char t[128];
		snprintf(t, sizeof t, "! x\n%s", bad[i]);
		m = NULL;
		assert_int_equal(sampling_map_parse(&m, t, strlen(t), "sm", err, sizeof err), -1);
		assert_null(m);
		assert_non_null(strstr(err, "sm:2:"));
	}
	/* the upstream example file parses */
	const char *srcdir = getenv("srcdir");
	char path[512];
	snprintf(path, sizeof path, "%s/tests/fixtures/pmacct/_example-maps/sampling.map.example",
		 srcdir ? srcdir : ".");
	if (access(path, R_OK) == 0) {
		assert_int_equal(sampling_map_load(&m, path, err, sizeof err), 0);
		assert_int_equal(sampling_map_count(m), 3);
		sampling_map_free(m);
	}
	assert_int_equal(sampling_map_load(&m, "/nonexistent/sm", err, sizeof err), -1);
}

/* ---- pmacct fixture captures --------------------------------------------- */

/*
 * Minimal pcap reader: classic pcap, Ethernet (optionally 802.1Q) or Linux
 * cooked, IPv4/IPv6, UDP.  Calls fn for each UDP payload.
 */
static int pcap_udp(const char *path,
		    void (*fn)(void *, const uint8_t *, size_t, const uint8_t *, int), void *arg)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return -1;
	uint8_t gh[24];
	if (fread(gh, 1, 24, fp) != 24) {
		fclose(fp);
		return -1;
	}
	int swap = gh[0] == 0xd4; /* little-endian file */
#define RD32(p)                                                                                    \
	(swap ? ((uint32_t)(p)[0] | (uint32_t)(p)[1] << 8 | (uint32_t)(p)[2] << 16 |               \
		 (uint32_t)(p)[3] << 24)                                                           \
	      : ((uint32_t)(p)[3] | (uint32_t)(p)[2] << 8 | (uint32_t)(p)[1] << 16 |               \
		 (uint32_t)(p)[0] << 24))
	uint32_t linktype = RD32(gh + 20);
	static uint8_t pkt[262144];
	uint8_t ph[16];
	int n = 0;
	while (fread(ph, 1, 16, fp) == 16) {
		uint32_t caplen = RD32(ph + 8);
		if (caplen > sizeof pkt || fread(pkt, 1, caplen, fp) != caplen)
			break;
		size_t off;
		uint16_t et;
		if (linktype == 1) {
			off = 14;
			et = (uint16_t)(pkt[12] << 8 | pkt[13]);
			if (et == 0x8100) {
				et = (uint16_t)(pkt[16] << 8 | pkt[17]);
				off = 18;
			}
		} else if (linktype == 113) {
			off = 16;
			et = (uint16_t)(pkt[14] << 8 | pkt[15]);
		} else {
			continue;
		}
		const uint8_t *src;
		int fam;
		if (et == 0x0800) {
			size_t ihl = (size_t)(pkt[off] & 15) * 4;
			if (pkt[off + 9] != 17)
				continue;
			src = pkt + off + 12;
			fam = 4;
			off += ihl;
		} else if (et == 0x86dd) {
			if (pkt[off + 6] != 17)
				continue;
			src = pkt + off + 8;
			fam = 6;
			off += 40;
		} else {
			continue;
		}
		uint16_t ulen = (uint16_t)(pkt[off + 4] << 8 | pkt[off + 5]);
		if (ulen < 8 || off + ulen > caplen)
			continue;
		fn(arg, pkt + off + 8, ulen - 8u, src, fam);
		n++;
	}
#undef RD32
	fclose(fp);
	return n;
}

struct replay {
	struct nf_collector *c;
	int errors;
};

static void replay_one(void *arg, const uint8_t *p, size_t n, const uint8_t *src, int fam)
{
	struct replay *rp = arg;
	struct nt_addr a;
	memset(&a, 0, sizeof a);
	a.family = (uint8_t)fam;
	memcpy(a.a, src, fam == 4 ? 4 : 16);
	struct nf_exporter *ex = nf_exporter_get(rp->c, &a, 9991);
	if (nf_decode(rp->c, ex, p, n, 1) != NF_OK)
		rp->errors++;
}

static int fixture(const char *name, char *path, size_t n)
{
	const char *srcdir = getenv("srcdir");
	snprintf(path, n, "%s/tests/fixtures/pmacct/%s/traffic-00.pcap", srcdir ? srcdir : ".",
		 name);
	return access(path, R_OK) == 0;
}

static const struct flow_rec *find_src(const struct sink *s, const char *ip, uint16_t port)
{
	for (size_t i = 0; i < s->n; i++)
		if (addr_is(&s->rec[i].src_addr, ip) && s->rec[i].src_port == port)
			return &s->rec[i];
	return NULL;
}

static void test_fixture_100_ipfix_cisco(void **state)
{
	struct fx *f = *state;
	char path[512];
	if (!fixture("100-IPFIXv10-CISCO", path, sizeof path))
		skip();
	struct replay rp = {&f->c, 0};
	assert_true(pcap_udp(path, replay_one, &rp) > 0);
	assert_int_equal(rp.errors, 0);
	/* from output-flow-00.json */
	const struct flow_rec *r = find_src(&f->s, "10.231.65.56", 17000);
	assert_non_null(r);
	assert_true(addr_is(&r->dst_addr, "10.192.12.213"));
	assert_int_equal(r->dst_port, 17000);
	assert_int_equal(r->in_iface, 995);
	assert_int_equal(r->out_iface, 841);
	assert_int_equal(r->proto, 17);
	assert_int_equal(r->tos, 184);
	assert_int_equal(r->packets, 2);
	assert_int_equal(r->bytes, 220);
	assert_int_equal(r->mpls_depth, 2);
	assert_int_equal(r->mpls[0] >> 4, 69);
	assert_int_equal(r->mpls[1] >> 4, 24305);
}

static void test_fixture_104_ipfix_sampling(void **state)
{
	struct fx *f = *state;
	char path[512];
	if (!fixture("104-IPFIXv10-IPv6-CISCO-sampling_option", path, sizeof path))
		skip();
	struct replay rp = {&f->c, 0};
	assert_true(pcap_udp(path, replay_one, &rp) > 0);
	assert_int_equal(rp.errors, 0);
	/* options 257: selectorId scope, samplingSize 1 / samplingPopulation 256;
	 * output-flow-00.json has these counters renormalised x256 */
	const struct flow_rec *r = find_src(&f->s, "fe80::fa53:29ff:fe3a:3152", 0);
	assert_non_null(r);
	assert_true(FR_HAS(r, FR_SAMPLING));
	assert_int_equal(r->sampling_rate, 256);
	assert_int_equal(r->packets, 1);
	assert_int_equal(r->bytes, 72);
	assert_int_equal(r->in_iface, 42);
	assert_int_equal(r->vrf_in, 1610612736u);
	assert_int_equal(r->fwd_status, 195); /* "CONSUMED For us" */
	assert_true(addr_is(&r->peer_src_ip, "2a02:a90:4007:700::54"));
}

static void test_fixture_102_nfv9_times(void **state)
{
	struct fx *f = *state;
	char path[512];
	if (!fixture("102-NFv9-CISCO-f2rd-pretag-sampling-reload", path, sizeof path))
		skip();
	struct replay rp = {&f->c, 0};
	assert_true(pcap_udp(path, replay_one, &rp) > 0);
	assert_int_equal(rp.errors, 0);
	/* first line of output-flow-00.json: timestamp_start/end 1677577600 */
	const struct flow_rec *r = find_src(&f->s, "213.3.216.138", 44187);
	assert_non_null(r);
	assert_int_equal(r->ts_start, 1677577600000000ull);
	assert_int_equal(r->ts_end, 1677577600000000ull);
	assert_int_equal(r->bytes, 60);
	assert_int_equal(r->tcp_flags, 0x10);
	assert_int_equal(r->vrf_in, 1610612741u);
	assert_int_equal(r->in_iface, 203);
}

static void test_fixture_nfv9(void **state)
{
	struct fx *f = *state;
	char path[512];
	static const char *names[] = {
	    "101-NFv9-CISCO-cust_primitives", "102-NFv9-CISCO-f2rd-pretag-sampling-reload",
	    "103-IPFIXv10-CISCO-pretag-JSON_encoding", "106-IPFIXv10-HUAWEI-vrf_name"};
	int any = 0;
	for (size_t i = 0; i < 4; i++) {
		if (!fixture(names[i], path, sizeof path))
			continue;
		any = 1;
		struct replay rp = {&f->c, 0};
		size_t before = f->s.total;
		assert_true(pcap_udp(path, replay_one, &rp) > 0);
		assert_int_equal(rp.errors, 0);
		assert_true(f->s.total > before);
	}
	if (!any)
		skip();
}

/* ---- fast plan (fixed-length templates) ---------------------------------- */

static const struct nf_plan *plan_of(struct fx *f, uint8_t version, uint32_t domain, uint16_t id)
{
	const struct nf_template *t = nf_tpl_get(f->ex->templates, version, domain, id);
	assert_non_null(t);
	return t->plan;
}

/* Reduced-size encoding (RFC 7011 §6.2) of every integer width, both ways. */
static void test_fast_reduced_sizes(void **state)
{
	struct fx *f = *state;
	ipfix_hdr(&f->b, 0, 1);
	size_t s = set_begin(&f->b, 2);
	u16(&f->b, 256);
	u16(&f->b, 12);
	fs(&f->b, 1, 3, 0);   /* bytes: 3 of 8 */
	fs(&f->b, 2, 1, 0);   /* packets: 1 of 8 */
	fs(&f->b, 16, 8, 0);  /* src_as: 8 into 4, truncated */
	fs(&f->b, 17, 2, 0);  /* dst_as: 2 of 4 */
	fs(&f->b, 10, 1, 0);  /* in_iface: 1 of 4 */
	fs(&f->b, 14, 8, 0);  /* out_iface: 8 into 4 */
	fs(&f->b, 7, 4, 0);   /* src_port: 4 into 2 */
	fs(&f->b, 11, 1, 0);  /* dst_port: 1 of 2 */
	fs(&f->b, 4, 2, 0);   /* proto: 2 into 1 */
	fs(&f->b, 3, 5, 0);   /* flows: 5 of 8 */
	fs(&f->b, 5, 8, 0);   /* tos: 8 into 1 */
	fs(&f->b, 234, 7, 0); /* vrf_in: 7 into 4 */
	set_end(&f->b, s);
	s = set_begin(&f->b, 256);
	u8(&f->b, 0x01);
	u16(&f->b, 0x0203);
	u8(&f->b, 200);
	u64(&f->b, 0x1122334455667788ull);
	u16(&f->b, 0xfedc);
	u8(&f->b, 0x99);
	u64(&f->b, 0xa1a2a3a4b1b2b3b4ull);
	u32(&f->b, 0x00071f90);
	u8(&f->b, 53);
	u16(&f->b, 0x0111);
	u8(&f->b, 0x01);
	u32(&f->b, 0x02030405);
	u64(&f->b, 0x00000000000000b8ull);
	raw(&f->b, "\x01\x02\x03\x04\x05\x06\x07", 7);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	const struct nf_plan *p = plan_of(f, 10, 1, 256);
	assert_non_null(p);
	assert_int_equal(p->nint, 12);
	assert_int_equal(p->nop, 0);
	assert_int_equal(f->s.n, 1);
	const struct flow_rec *r = &f->s.rec[0];
	assert_int_equal(r->bytes, 0x010203);
	assert_int_equal(r->packets, 200);
	assert_int_equal(r->src_as, 0x55667788u);
	assert_int_equal(r->dst_as, 0xfedc);
	assert_int_equal(r->in_iface, 0x99);
	assert_int_equal(r->out_iface, 0xb1b2b3b4u);
	assert_int_equal(r->src_port, 0x1f90);
	assert_int_equal(r->dst_port, 53);
	assert_int_equal(r->proto, 0x11);
	assert_int_equal(r->flows, 0x0102030405ull);
	assert_int_equal(r->tos, 0xb8);
	assert_int_equal(r->vrf_in, 0x04050607u);
	uint64_t want = (1ull << FR_SRC_AS) | (1ull << FR_DST_AS) | (1ull << FR_IN_IFACE) |
			(1ull << FR_OUT_IFACE) | (1ull << FR_SRC_PORT) | (1ull << FR_DST_PORT) |
			(1ull << FR_PROTO) | (1ull << FR_TOS) | (1ull << FR_VRF_IN) |
			(1ull << FR_PEER_SRC_IP) | (1ull << FR_FLOWS) | (1ull << FR_MPLS_VPN_RD);
	assert_int_equal(r->present, want);
}

/*
 * Fields nobody reads get no plan entry; fields whose effect depends on
 * others are resolved the way the generic path resolves them.
 */
static void test_fast_used_and_unused_fields(void **state)
{
	struct fx *f = *state;
	ipfix_hdr(&f->b, 0, 1);
	size_t s = set_begin(&f->b, 2);
	u16(&f->b, 256);
	u16(&f->b, 14);
	fs(&f->b, 999, 4, 0); /* unknown IE */
	fs(&f->b, 8, 4, 0);   /* src addr */
	fs(&f->b, 5, 1, 9);   /* enterprise field, same number as tos */
	fs(&f->b, 12, 2, 0);  /* dst addr with a wrong length: ignored */
	fs(&f->b, 15, 4, 0);  /* IP next hop ... */
	fs(&f->b, 18, 4, 0);  /* ... loses to the BGP next hop after it */
	fs(&f->b, 81, 6, 0);  /* post src MAC before src MAC: 56 wins */
	fs(&f->b, 56, 6, 0);
	fs(&f->b, 243, 2, 0); /* dot1q vlan: the first one wins without 58 */
	fs(&f->b, 243, 2, 0);
	fs(&f->b, 85, 4, 0); /* total bytes: loses to IE 1 */
	fs(&f->b, 1, 4, 0);
	fs(&f->b, 1, 2, 0); /* a second IE 1: the last one wins */
	fs(&f->b, 7, 2, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 256);
	u32(&f->b, 0xffffffff);
	ip4(&f->b, "10.1.1.1");
	u8(&f->b, 0x77);
	u16(&f->b, 0xffff);
	ip4(&f->b, "192.0.2.254");
	ip4(&f->b, "198.51.100.1");
	raw(&f->b, "\x0a\x0a\x0a\x0a\x0a\x0a", 6);
	raw(&f->b, "\x02\x00\x00\x00\x00\x01", 6);
	u16(&f->b, 100);
	u16(&f->b, 200);
	u32(&f->b, 5000);
	u32(&f->b, 6000);
	u16(&f->b, 7000);
	u16(&f->b, 4321);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	const struct nf_plan *p = plan_of(f, 10, 1, 256);
	assert_non_null(p);
	/* vlan, bytes, src port; src addr, BGP next hop, src MAC */
	assert_int_equal(p->nint, 3);
	assert_int_equal(p->nop, 3);
	assert_int_equal(f->s.n, 1);
	const struct flow_rec *r = &f->s.rec[0];
	assert_true(addr_is(&r->src_addr, "10.1.1.1"));
	assert_false(FR_HAS(r, FR_DST_ADDR));
	assert_false(FR_HAS(r, FR_TOS));
	assert_int_equal(r->tos, 0);
	assert_true(addr_is(&r->peer_dst_ip, "198.51.100.1"));
	assert_memory_equal(r->src_mac, "\x02\x00\x00\x00\x00\x01", 6);
	assert_true(FR_HAS(r, FR_SRC_MAC) && FR_HAS(r, FR_VLAN_IN));
	assert_int_equal(r->vlan_in, 100);
	assert_int_equal(r->bytes, 7000);
	assert_int_equal(r->packets, 0);
	assert_int_equal(r->src_port, 4321);
}

static void test_fast_plan_fallbacks(void **state)
{
	struct fx *f = *state;
	/* varlen and options templates have plans; a duplicate MPLS position has not */
	ipfix_hdr(&f->b, 0, 1);
	size_t s = set_begin(&f->b, 2);
	u16(&f->b, 256);
	u16(&f->b, 2);
	fs(&f->b, 7, 2, 0);
	fs(&f->b, 82, 0xffff, 0);
	u16(&f->b, 257);
	u16(&f->b, 4);
	fs(&f->b, 70, 3, 0);
	fs(&f->b, 71, 3, 0);
	fs(&f->b, 70, 3, 0);
	fs(&f->b, 7, 2, 0);
	u16(&f->b, 258);
	u16(&f->b, 3);
	fs(&f->b, 71, 3, 0);
	fs(&f->b, 70, 3, 0);
	fs(&f->b, 7, 2, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 3);
	u16(&f->b, 300);
	u16(&f->b, 2);
	u16(&f->b, 1);
	fs(&f->b, 302, 1, 0);
	fs(&f->b, 305, 4, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 256);
	u16(&f->b, 11);
	u8(&f->b, 2);
	raw(&f->b, "ab", 2);
	set_end(&f->b, s);
	s = set_begin(&f->b, 257);
	/* label 1 set then overwritten by zero: the depth still counts it */
	u8(&f->b, 0);
	u8(&f->b, 0x01);
	u8(&f->b, 0x41);
	u8(&f->b, 0);
	u8(&f->b, 0x02);
	u8(&f->b, 0x01);
	u8(&f->b, 0);
	u8(&f->b, 0);
	u8(&f->b, 0);
	u16(&f->b, 22);
	set_end(&f->b, s);
	s = set_begin(&f->b, 258);
	u8(&f->b, 0);
	u8(&f->b, 0x02);
	u8(&f->b, 0x01);
	u8(&f->b, 0);
	u8(&f->b, 0x01);
	u8(&f->b, 0x40);
	u16(&f->b, 33);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	assert_int_equal(dec(f), NF_OK);
	assert_non_null(plan_of(f, 10, 1, 256));
	assert_int_equal(plan_of(f, 10, 1, 256)->nvlen, 1);
	assert_null(plan_of(f, 10, 1, 257));
	assert_non_null(plan_of(f, 10, 1, 258));
	assert_non_null(plan_of(f, 10, 1, 300));
	assert_non_null(plan_of(f, 10, 1, 300)->opt);
	assert_int_equal(f->s.n, 3);
	assert_int_equal(f->s.rec[0].src_port, 11);
	assert_int_equal(f->s.rec[1].src_port, 22);
	assert_int_equal(f->s.rec[1].mpls[0], 0);
	assert_int_equal(f->s.rec[1].mpls[1], 0x201);
	assert_int_equal(f->s.rec[1].mpls_depth, 2);
	assert_int_equal(f->s.rec[2].src_port, 33);
	assert_int_equal(f->s.rec[2].mpls[0], 0x140);
	assert_int_equal(f->s.rec[2].mpls[1], 0x201);
	assert_int_equal(f->s.rec[2].mpls_depth, 2);
	assert_true(FR_HAS(&f->s.rec[2], FR_MPLS));
}

/*
 * What the daemon's accounting may do to a record after decoding
 * (reactor/worker.c renormalizes and applies sampling_map), made visible
 * even on zero counters.
 */
static void emit_and_scribble(void *arg, struct flow_rec *r)
{
	emit(arg, r);
	r->packets = r->packets * 1000 + 1;
	r->bytes = r->bytes * 1000 + 1;
	r->sampling_rate = 77;
	FR_SET(r, FR_SAMPLING);
}

/*
 * The record is cleared once per run of same-template records: a record
 * must show nothing of a previous record of another template, nor of what
 * the emit callback changed in the previous one.
 */
static void test_fast_clear_between_templates(void **state)
{
	struct fx *f = *state;
	f->c.emit = emit_and_scribble;
	v9_hdr(&f->b, 4, 1, 1);
	size_t s = set_begin(&f->b, 0);
	u16(&f->b, 256);
	u16(&f->b, 5);
	fs(&f->b, 8, 4, 0);
	fs(&f->b, 16, 4, 0);
	fs(&f->b, 56, 6, 0);
	fs(&f->b, 2, 4, 0);
	fs(&f->b, 70, 3, 0);
	u16(&f->b, 257);
	u16(&f->b, 2);
	fs(&f->b, 12, 4, 0);
	fs(&f->b, 7, 2, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 256);
	for (int i = 0; i < 2; i++) {
		ip4(&f->b, "10.0.0.1");
		u32(&f->b, 64500);
		raw(&f->b, "\x02\x01\x02\x03\x04\x05", 6);
		u32(&f->b, 5);
		u8(&f->b, 0);
		u8(&f->b, 0);
		u8(&f->b, i ? 0 : 0x11); /* depth 1, then 0 */
	}
	set_end(&f->b, s);
	s = set_begin(&f->b, 257);
	ip4(&f->b, "10.0.0.2");
	u16(&f->b, 80);
	set_end(&f->b, s);
	s = set_begin(&f->b, 256);
	ip4(&f->b, "10.0.0.3");
	u32(&f->b, 64501);
	raw(&f->b, "\x02\x01\x02\x03\x04\x05", 6);
	u32(&f->b, 6);
	u8(&f->b, 0);
	u8(&f->b, 0);
	u8(&f->b, 0);
	set_end(&f->b, s);
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 4);
	const struct flow_rec *r = f->s.rec;
	for (int i = 0; i < 4; i++) {
		assert_false(FR_HAS(&r[i], FR_SAMPLING));
		assert_int_equal(r[i].sampling_rate, 0);
	}
	assert_int_equal(r[0].packets, 5);
	assert_int_equal(r[0].mpls_depth, 1);
	assert_true(FR_HAS(&r[0], FR_MPLS));
	assert_int_equal(r[1].packets, 5);
	assert_int_equal(r[1].mpls_depth, 0);
	assert_false(FR_HAS(&r[1], FR_MPLS));
	/* template 257 has no src addr, AS, MAC, packets or MPLS */
	assert_int_equal(r[2].present, (1ull << FR_DST_ADDR) | (1ull << FR_SRC_PORT) |
					   (1ull << FR_PEER_SRC_IP) | (1ull << FR_FLOWS));
	assert_int_equal(r[2].src_addr.family, 0);
	assert_int_equal(r[2].src_as, 0);
	assert_int_equal(r[2].packets, 0);
	assert_int_equal(r[2].src_mac[0], 0);
	assert_int_equal(r[2].mpls[0], 0);
	assert_int_equal(r[2].src_port, 80);
	assert_true(addr_is(&r[3].src_addr, "10.0.0.3"));
	assert_int_equal(r[3].src_as, 64501);
	assert_int_equal(r[3].packets, 6);
	assert_int_equal(r[3].dst_addr.family, 0);
	assert_int_equal(r[3].src_port, 0);
	assert_false(FR_HAS(&r[3], FR_DST_ADDR) || FR_HAS(&r[3], FR_SRC_PORT));
}

/* ---- fast path vs generic path on random templates ----------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* Every IE the decoder knows, at its usual length (plus a few it does not). */
static const struct {
	uint16_t type, len;
} ie_pool[] = {
    {1, 4},   {2, 4},	{3, 4},	   {4, 1},   {5, 1},	{6, 1},	   {7, 2},    {8, 4},	{9, 1},
    {10, 2},  {11, 2},	{12, 4},   {13, 1},  {14, 2},	{15, 4},   {16, 2},   {17, 4},	{18, 4},
    {21, 4},  {22, 4},	{23, 8},   {24, 8},  {27, 16},	{28, 16},  {29, 1},   {30, 1},	{31, 3},
    {34, 4},  {48, 1},	{50, 4},   {56, 6},  {57, 6},	{58, 2},   {59, 2},   {61, 1},	{62, 16},
    {63, 16}, {70, 3},	{71, 3},   {72, 3},  {79, 3},	{80, 6},   {81, 6},   {85, 8},	{86, 8},
    {89, 1},  {130, 4}, {131, 16}, {150, 4}, {151, 4},	{152, 8},  {153, 8},  {154, 8}, {155, 8},
    {156, 8}, {157, 8}, {158, 4},  {159, 4}, {160, 8},	{225, 4},  {226, 4},  {227, 2}, {228, 2},
    {230, 1}, {234, 4}, {235, 4},  {243, 2}, {254, 2},	{281, 16}, {282, 16}, {302, 4}, {305, 4},
    {306, 4}, {309, 4}, {310, 4},  {999, 4}, {1234, 4},
};

struct rnd_tpl {
	uint16_t type[24], len[24];
	uint32_t pen[24];
	unsigned n, rec_len;
};

static void rnd_template(struct rnd_tpl *t, int ipfix)
{
	t->n = 1 + rnd(24);
	t->rec_len = 0;
	for (unsigned i = 0; i < t->n; i++) {
		unsigned k = rnd(sizeof ie_pool / sizeof ie_pool[0]);
		t->type[i] = ie_pool[k].type;
		t->len[i] = ie_pool[k].len;
		/* reduced-size, oversized and wrongly-sized variants */
		if (rnd(4) == 0)
			t->len[i] = (uint16_t)(1 + rnd(9));
		t->pen[i] = ipfix && t->type[i] == 1234 ? 9 : 0;
		t->rec_len += t->len[i];
	}
}

static void put_template(struct buf *b, const struct rnd_tpl *t, uint16_t id)
{
	u16(b, id);
	u16(b, (uint16_t)t->n);
	for (unsigned i = 0; i < t->n; i++)
		fs(b, t->type[i], t->len[i], t->pen[i]);
}

static void put_records(struct buf *b, const struct rnd_tpl *t, uint16_t id, unsigned n)
{
	size_t s = set_begin(b, id);
	for (unsigned r = 0; r < n; r++)
		for (unsigned i = 0; i < t->rec_len; i++) {
			/* plenty of zeros (MPLS depth, unset times) and small values */
			unsigned c = rnd(8);
			u8(b, c < 3 ? 0 : c < 5 ? (uint8_t)rnd(4) : (uint8_t)rnd(256));
		}
	set_end(b, s);
}

static void same_name(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

/*
 * Same record, names compared as strings: two collectors (the fixture
 * twins) hold their names tables, and so the pointers, apart.
 */
static void same_record(const struct flow_rec *a, const struct flow_rec *b)
{
	struct flow_rec x = *a, y = *b;
	same_name(a->vrf_name, b->vrf_name);
	same_name(a->vrf_name_in, b->vrf_name_in);
	same_name(a->vrf_name_out, b->vrf_name_out);
	same_name(a->ifname_in, b->ifname_in);
	same_name(a->ifname_out, b->ifname_out);
	x.vrf_name = x.vrf_name_in = x.vrf_name_out = x.ifname_in = x.ifname_out = NULL;
	y.vrf_name = y.vrf_name_in = y.vrf_name_out = y.ifname_in = y.ifname_out = NULL;
	a = &x;
	b = &y;
	assert_memory_equal(a, b, offsetof(struct flow_rec, custom_ptr));
	for (unsigned i = 0; i < FR_CUSTOM_MAX; i++) {
		assert_int_equal(a->custom_len[i], b->custom_len[i]);
		if (a->custom_len[i])
			assert_ptr_equal(a->custom_ptr[i], b->custom_ptr[i]);
	}
}

/*
 * The fast plan must reproduce the generic path exactly: random templates
 * (duplicates, conflicting fields, reduced and wrong sizes, custom and
 * enterprise fields, sampler options) are decoded once with their plans and
 * once with the plans hidden, and every record must be identical.  The
 * emit callback scribbles on the record as the daemon does.
 */
static void test_fast_matches_generic(void **state)
{
	struct fx *f = *state;
	f->reg.ncustom = 2;
	strcpy(f->reg.custom[0].name, "vendor");
	f->reg.custom[0].field_type = 1234;
	f->reg.custom[0].pen = 9;
	f->reg.custom[0].len = 4;
	f->reg.custom[0].index = 0;
	strcpy(f->reg.custom[1].name, "sport");
	f->reg.custom[1].field_type = 7;
	f->reg.custom[1].len = 2;
	f->reg.custom[1].index = 1;
	f->c.emit = emit_and_scribble;
	f->c.opt.time_secs = 0;

	for (int iter = 0; iter < 400; iter++) {
		int ipfix = iter % 2;
		uint8_t ver = ipfix ? 10 : 9;
		struct rnd_tpl a, b;
		rnd_template(&a, ipfix);
		rnd_template(&b, ipfix);

		/* templates, and sometimes a sampler (with a direction) */
		if (ipfix)
			ipfix_hdr(&f->b, 0, 5);
		else
			v9_hdr(&f->b, 1, 0, 5);
		size_t s = set_begin(&f->b, ipfix ? 2 : 0);
		put_template(&f->b, &a, 256);
		put_template(&f->b, &b, 257);
		set_end(&f->b, s);
		if (rnd(2)) {
			s = set_begin(&f->b, ipfix ? 3 : 1);
			if (ipfix) {
				u16(&f->b, 300);
				u16(&f->b, 3);
				u16(&f->b, 1);
				fs(&f->b, 302, 4, 0);
			} else {
				u16(&f->b, 300);
				u16(&f->b, 4);
				u16(&f->b, 12);
				fs(&f->b, 1, 4, 0);
				fs(&f->b, 48, 4, 0);
			}
			fs(&f->b, ipfix ? 305 : 34, 4, 0);
			fs(&f->b, 61, 1, 0);
			set_end(&f->b, s);
			s = set_begin(&f->b, 300);
			if (!ipfix)
				u32(&f->b, 0);
			u32(&f->b, rnd(4));
			u32(&f->b, 1 + rnd(1000));
			u8(&f->b, (uint8_t)rnd(2));
			set_end(&f->b, s);
		}
		if (ipfix)
			ipfix_end(&f->b);
		f->c.opt.time_secs = !ipfix && rnd(4) == 0;
		dec(f);

		/* data: runs of both templates, so the record changes hands */
		struct nf_template *ta = nf_tpl_get(f->ex->templates, ver, 5, 256);
		struct nf_template *tb = nf_tpl_get(f->ex->templates, ver, 5, 257);
		if (ipfix)
			ipfix_hdr(&f->b, 0, 5);
		else
			v9_hdr(&f->b, 3, 0, 5);
		put_records(&f->b, &a, 256, 1 + rnd(4));
		put_records(&f->b, &b, 257, 1 + rnd(3));
		put_records(&f->b, &a, 256, 1 + rnd(3));
		if (ipfix)
			ipfix_end(&f->b);

		f->s.n = 0;
		enum nf_err e1 = dec(f);
		size_t n = f->s.n;
		const struct nf_plan *pa = ta ? ta->plan : NULL, *pb = tb ? tb->plan : NULL;
		if (ta)
			ta->plan = NULL;
		if (tb)
			tb->plan = NULL;
		enum nf_err e2 = dec(f);
		if (ta)
			ta->plan = pa;
		if (tb)
			tb->plan = pb;
		assert_int_equal(e1, e2);
		assert_int_equal(f->s.n, 2 * n);
		for (size_t i = 0; i < n; i++)
			same_record(&f->s.rec[i], &f->s.rec[n + i]);
	}
}

/* ---- fast path vs generic path on the fixture captures ------------------- */

#define TWIN_MAX 512

struct twin_sink {
	struct flow_rec rec[TWIN_MAX];
	size_t n;
};

struct twin {
	struct nf_collector fast, slow;
	struct twin_sink sf, ss;
	size_t compared;
};

static void twin_emit(void *arg, struct flow_rec *r)
{
	struct twin_sink *s = arg;
	if (s->n < TWIN_MAX)
		s->rec[s->n] = *r;
	s->n++;
}

static void hide_plan(void *arg, const struct nf_template *t)
{
	struct nf_template *w = nf_tpl_get(arg, t->version, t->domain, t->id);
	w->plan = NULL;
}

/*
 * Each datagram goes to two collectors; the second one's templates have
 * their plans hidden (except while a template installed by that very
 * datagram decodes its data), so it decodes with the generic path.
 */
static void twin_one(void *arg, const uint8_t *p, size_t n, const uint8_t *src, int fam)
{
	struct twin *tw = arg;
	struct nt_addr a;
	memset(&a, 0, sizeof a);
	a.family = (uint8_t)fam;
	memcpy(a.a, src, fam == 4 ? 4 : 16);
	struct nf_exporter *ef = nf_exporter_get(&tw->fast, &a, 9991);
	struct nf_exporter *es = nf_exporter_get(&tw->slow, &a, 9991);
	assert_non_null(ef);
	assert_non_null(es);
	nf_tpl_foreach(es->templates, hide_plan, es->templates);
	tw->sf.n = tw->ss.n = 0;
	enum nf_err e1 = nf_decode(&tw->fast, ef, p, n, 1);
	enum nf_err e2 = nf_decode(&tw->slow, es, p, n, 1);
	assert_int_equal(e1, e2);
	assert_int_equal(tw->sf.n, tw->ss.n);
	for (size_t i = 0; i < tw->sf.n && i < TWIN_MAX; i++)
		same_record(&tw->sf.rec[i], &tw->ss.rec[i]);
	tw->compared += tw->sf.n;
}

static size_t fixture_fast_vs_generic(uint64_t skip)
{
	char path[512];
	static const char *names[] = {"100-IPFIXv10-CISCO",
				      "101-NFv9-CISCO-cust_primitives",
				      "102-NFv9-CISCO-f2rd-pretag-sampling-reload",
				      "103-IPFIXv10-CISCO-pretag-JSON_encoding",
				      "104-IPFIXv10-IPv6-CISCO-sampling_option",
				      "106-IPFIXv10-HUAWEI-vrf_name",
				      "400-IPFIXv10-BMP-CISCO-SRv6-multiple-sources",
				      "401-IPFIXv10-BMP-IPv6-CISCO-MPLS-multiple-sources",
				      "402-IPFIXv10-BMP-IPv6-high-availability"};
	static struct twin tw; /* large: keep it off the stack */
	size_t total = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (!fixture(names[i], path, sizeof path))
			continue;
		struct nf_options o;
		memset(&o, 0, sizeof o);
		o.skip = skip;
		memset(&tw, 0, sizeof tw);
		assert_int_equal(nf_collector_init(&tw.fast, &o, twin_emit, &tw.sf), 0);
		assert_int_equal(nf_collector_init(&tw.slow, &o, twin_emit, &tw.ss), 0);
		assert_true(pcap_udp(path, twin_one, &tw) > 0);
		total += tw.compared;
		nf_collector_free(&tw.fast);
		nf_collector_free(&tw.slow);
	}
	return total;
}

static void test_fixture_fast_matches_generic(void **state)
{
	(void)state;
	if (!fixture_fast_vs_generic(0))
		skip();
	/* fields left out (nf_options.skip): both paths leave out the same */
	assert_true(fixture_fast_vs_generic(NF_SKIPPABLE) > 0);
	assert_true(fixture_fast_vs_generic(NF_SKIP_NAMES | (1ull << FR_TOS)) > 0);
	assert_true(fixture_fast_vs_generic((1ull << FR_TS_START) | (1ull << FR_SRC_AS) |
					    (1ull << FR_IN_IFACE)) > 0);
}

/* ---- fields left out (nf_options.skip) ----------------------------------- */

#define RF(bit, member)                                                                            \
	{                                                                                          \
		bit, offsetof(struct flow_rec, member), sizeof(((struct flow_rec *)0)->member)     \
	}

/* The flow record members a field skip can touch, with their presence bits. */
static const struct {
	int bit;
	size_t off, len;
} skip_members[] = {
    RF(FR_SRC_ADDR, src_addr),
    RF(FR_DST_ADDR, dst_addr),
    RF(FR_SRC_MASK, src_mask),
    RF(FR_DST_MASK, dst_mask),
    RF(FR_SRC_PORT, src_port),
    RF(FR_DST_PORT, dst_port),
    RF(FR_PROTO, proto),
    RF(FR_TOS, tos),
    RF(FR_TCP_FLAGS, tcp_flags),
    RF(FR_SRC_AS, src_as),
    RF(FR_DST_AS, dst_as),
    RF(FR_IN_IFACE, in_iface),
    RF(FR_OUT_IFACE, out_iface),
    RF(FR_PEER_DST_IP, peer_dst_ip),
    RF(FR_SRC_MAC, src_mac),
    RF(FR_DST_MAC, dst_mac),
    RF(FR_VLAN_IN, vlan_in),
    RF(FR_VLAN_OUT, vlan_out),
    RF(FR_MPLS, mpls),
    RF(FR_MPLS, mpls_depth),
    RF(FR_FWD_STATUS, fwd_status),
    RF(FR_TS_START, ts_start),
    RF(FR_TS_END, ts_end),
    RF(FR_POST_NAT_SRC_ADDR, post_nat_src_addr),
    RF(FR_POST_NAT_DST_ADDR, post_nat_dst_addr),
    RF(FR_POST_NAT_SRC_PORT, post_nat_src_port),
    RF(FR_POST_NAT_DST_PORT, post_nat_dst_port),
    RF(FR_NAT_EVENT, nat_event),
    RF(FR_FLOW_LABEL, flow_label),
    RF(FR_ICMP, icmp_type_code),
    RF(FR_VRF_IN, vrf_in),
    RF(FR_VRF_OUT, vrf_out),
    RF(FR_MPLS_VPN_RD, mpls_vpn_rd),
    RF(FR_MPLS_VPN_RD, mpls_vpn_rd_origin),
    RF(-1, packets),
    RF(-1, bytes),
    RF(-1, flows),
    RF(-1, peer_src_ip),
    RF(-1, sampling_rate),
    RF(-1, direction),
    RF(-1, export_seqno),
};

/*
 * b is a decoded with fields left out (skip, normalised): what b was told
 * to skip is absent and zero, everything else is what the full decode has.
 */
static void same_but_skipped(const struct flow_rec *full, const struct flow_rec *b, uint64_t skip)
{
	assert_int_equal(b->present, full->present & ~skip);
	for (size_t i = 0; i < sizeof skip_members / sizeof skip_members[0]; i++) {
		const uint8_t *x = (const uint8_t *)full + skip_members[i].off,
			      *y = (const uint8_t *)b + skip_members[i].off;
		int bit = skip_members[i].bit;
		if (bit >= 0 && (skip >> bit & 1)) {
			for (size_t k = 0; k < skip_members[i].len; k++)
				assert_int_equal(y[k], 0);
		} else {
			assert_memory_equal(x, y, skip_members[i].len);
		}
	}
	if (skip & NF_SKIP_NAMES) {
		assert_null(b->vrf_name);
		assert_null(b->vrf_name_in);
		assert_null(b->vrf_name_out);
		assert_null(b->ifname_in);
		assert_null(b->ifname_out);
	} else {
		same_name(full->vrf_name, b->vrf_name);
		same_name(full->vrf_name_in, b->vrf_name_in);
		same_name(full->vrf_name_out, b->vrf_name_out);
		same_name(full->ifname_in, b->ifname_in);
		same_name(full->ifname_out, b->ifname_out);
	}
	for (unsigned i = 0; i < FR_CUSTOM_MAX; i++)
		assert_int_equal(full->custom_len[i], b->custom_len[i]);
}

struct skip_pair {
	struct twin tw; /* fast: everything decoded; slow: with skip (plans kept) */
	uint64_t skip;
};

static void skip_one(void *arg, const uint8_t *p, size_t n, const uint8_t *src, int fam)
{
	struct skip_pair *sp = arg;
	struct twin *tw = &sp->tw;
	struct nt_addr a;
	memset(&a, 0, sizeof a);
	a.family = (uint8_t)fam;
	memcpy(a.a, src, fam == 4 ? 4 : 16);
	struct nf_exporter *ef = nf_exporter_get(&tw->fast, &a, 9991);
	struct nf_exporter *es = nf_exporter_get(&tw->slow, &a, 9991);
	assert_non_null(ef);
	assert_non_null(es);
	tw->sf.n = tw->ss.n = 0;
	enum nf_err e1 = nf_decode(&tw->fast, ef, p, n, 1);
	enum nf_err e2 = nf_decode(&tw->slow, es, p, n, 1);
	assert_int_equal(e1, e2);
	assert_int_equal(tw->sf.n, tw->ss.n);
	for (size_t i = 0; i < tw->sf.n && i < TWIN_MAX; i++)
		same_but_skipped(&tw->sf.rec[i], &tw->ss.rec[i], sp->skip);
	tw->compared += tw->sf.n;
	assert_int_equal(nf_names_count(ef->names), nf_names_count(es->names));
}

/*
 * A skip mask leaves out exactly the fields it names: the router captures
 * decoded with every field and with fields left out (fixed masks, then
 * random ones) give the same records but for the skipped fields, which are
 * absent.  Names stay when any of them is wanted, and then so do the VRF
 * ids and interface indexes they are resolved from.
 */
static void test_skip_leaves_out_only_skipped(void **state)
{
	(void)state;
	static struct skip_pair sp; /* large: keep it off the stack */
	static const char *names[] = {"100-IPFIXv10-CISCO", "101-NFv9-CISCO-cust_primitives",
				      "102-NFv9-CISCO-f2rd-pretag-sampling-reload",
				      "104-IPFIXv10-IPv6-CISCO-sampling_option",
				      "106-IPFIXv10-HUAWEI-vrf_name"};
	const uint64_t fixed[] = {NF_SKIPPABLE, NF_SKIP_NAMES, (1ull << FR_TOS),
				  (1ull << FR_TS_START) | (1ull << FR_IN_IFACE) | (1ull << FR_MPLS),
				  NF_SKIPPABLE & ~(1ull << FR_VRF_NAME)};
	char path[512];
	size_t total = 0;

	/* names wanted: the VRF ids and interface indexes they need are kept */
	assert_int_equal(nf_skip_normalize((1ull << FR_IN_IFACE) | (1ull << FR_TOS)),
			 1ull << FR_TOS);
	assert_int_equal(nf_skip_normalize(NF_SKIP_NAMES | (1ull << FR_IN_IFACE)),
			 NF_SKIP_NAMES | (1ull << FR_IN_IFACE));
	assert_int_equal(nf_skip_normalize(~0ull), NF_SKIPPABLE);

	for (int round = 0; round < 25; round++) {
		uint64_t skip =
		    round < 5
			? fixed[round]
			: ((uint64_t)rnd(1u << 31) << 33 ^ (uint64_t)rnd(1u << 31) << 2 ^ rnd(4));
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			if (!fixture(names[i], path, sizeof path))
				continue;
			struct nf_options o;
			memset(&o, 0, sizeof o);
			memset(&sp, 0, sizeof sp);
			assert_int_equal(nf_collector_init(&sp.tw.fast, &o, twin_emit, &sp.tw.sf),
					 0);
			o.skip = skip;
			assert_int_equal(nf_collector_init(&sp.tw.slow, &o, twin_emit, &sp.tw.ss),
					 0);
			sp.skip = sp.tw.slow.opt.skip;
			assert_int_equal(sp.skip, nf_skip_normalize(skip));
			assert_true(pcap_udp(path, skip_one, &sp) > 0);
			total += sp.tw.compared;
			nf_collector_free(&sp.tw.fast);
			nf_collector_free(&sp.tw.slow);
		}
	}
	if (!total)
		skip();
}

/* ---- variable-length and options plans vs the generic path --------------- */

/* Variable-length fields a router may send: names, an enterprise field, unknown ones. */
static const struct {
	uint16_t type;
	uint32_t pen;
} vl_pool[] = {{82, 0}, {236, 0}, {1234, 9}, {4321, 9}, {999, 0}, {83, 0}};

struct vl_tpl {
	uint16_t type[24], len[24];
	uint32_t pen[24];
	unsigned n;
};

static void vl_template(struct vl_tpl *t, int ipfix)
{
	t->n = 1 + rnd(24);
	for (unsigned i = 0; i < t->n; i++) {
		if (ipfix && rnd(5) == 0) {
			unsigned k = rnd(sizeof vl_pool / sizeof vl_pool[0]);
			t->type[i] = vl_pool[k].type;
			t->pen[i] = vl_pool[k].pen;
			t->len[i] = 0xffff;
			continue;
		}
		unsigned k = rnd(sizeof ie_pool / sizeof ie_pool[0]);
		t->type[i] = ie_pool[k].type;
		t->len[i] = ie_pool[k].len;
		if (rnd(4) == 0)
			t->len[i] = (uint16_t)(1 + rnd(9));
		if (rnd(8) == 0) /* names and RDs at fixed lengths too */
			t->type[i] = rnd(3) == 0 ? 82 : rnd(2) ? 236 : 90;
		t->pen[i] = ipfix && t->type[i] == 1234 ? 9 : 0;
	}
}

static void vl_put_template(struct buf *b, const struct vl_tpl *t, uint16_t id)
{
	u16(b, id);
	u16(b, (uint16_t)t->n);
	for (unsigned i = 0; i < t->n; i++)
		fs(b, t->type[i], t->len[i], t->pen[i]);
}

/* A value of n bytes: short names with NULs and '/', small ids, random bytes. */
static void vl_bytes(struct buf *b, uint16_t type, unsigned n)
{
	if (type == 10 || type == 14 || type == 234 || type == 235) {
		/* ids the options tables hold (0 .. 3) */
		uint64_t v = rnd(4);
		for (unsigned i = n; i-- > 0;)
			u8(b, i < 8 ? (uint8_t)(v >> (8 * i)) : 0);
		return;
	}
	static const char alphabet[] = "Gi0/1.AB\0";
	for (unsigned i = 0; i < n; i++) {
		unsigned c = rnd(8);
		u8(b, c < 3   ? 0
		      : c < 6 ? (uint8_t)alphabet[rnd(sizeof alphabet)]
			      : (uint8_t)rnd(256));
	}
}

static void vl_put_value(struct buf *b, uint16_t type, uint16_t len)
{
	if (len != 0xffff) {
		vl_bytes(b, type, len);
		return;
	}
	/* RFC 7011 §7: one length byte, or 255 and two more (also for short values) */
	unsigned n = rnd(10) == 0 ? 255 + rnd(80) : rnd(12);
	if (n < 255 && rnd(6)) {
		u8(b, (uint8_t)n);
	} else {
		u8(b, 255);
		u16(b, (uint16_t)n);
	}
	vl_bytes(b, type, n);
}

static void vl_put_records(struct buf *b, const struct vl_tpl *t, uint16_t id, unsigned n)
{
	size_t s = set_begin(b, id);
	for (unsigned r = 0; r < n; r++)
		for (unsigned i = 0; i < t->n; i++)
			vl_put_value(b, t->type[i], t->len[i]);
	/* sometimes padding or a truncated record behind the last one */
	for (unsigned k = rnd(4) == 0 ? 1 + rnd(3) : 0; k; k--)
		u8(b, (uint8_t)rnd(3));
	set_end(b, s);
}

/*
 * VRF and interface tables as options data: IPFIX scoped by the id (234 /
 * 10), v9 by System / Interface scope, names at fixed and variable length.
 */
/* Whether the options templates' names are variable-length (data must follow suit). */
static int vl_vrf_name_var, vl_ifname_var;

static void vl_options_templates(struct buf *b, int ipfix)
{
	vl_vrf_name_var = (int)rnd(2);
	vl_ifname_var = (int)rnd(2);
	size_t s = set_begin(b, ipfix ? 3 : 1);
	if (ipfix) {
		/* a second 236: the last field of a kind counts, as in data records */
		u16(b, 301);
		u16(b, 5);
		u16(b, 1);
		fs(b, 234, 4, 0);
		fs(b, 235, 4, 0);
		fs(b, 236, vl_vrf_name_var ? 0xffff : 16, 0);
		fs(b, 90, 8, 0);
		fs(b, 236, 0xffff, 0);
		u16(b, 302);
		u16(b, 3);
		u16(b, 1);
		fs(b, rnd(2) ? 10 : 14, 4, 0);
		fs(b, 82, vl_ifname_var ? 0xffff : 12, 0);
		fs(b, 83, 0xffff, 0);
	} else {
		u16(b, 301);
		u16(b, 4);
		u16(b, 16);
		fs(b, 1, 4, 0);
		fs(b, 234, 4, 0);
		fs(b, 236, 16, 0);
		fs(b, 90, 8, 0);
		set_end(b, s);
		s = set_begin(b, 1);
		u16(b, 302);
		u16(b, 4);
		u16(b, 8);
		fs(b, 2, 4, 0);
		fs(b, 82, 12, 0);
		fs(b, 83, 8, 0);
	}
	set_end(b, s);
}

static void vl_options_data(struct buf *b, int ipfix)
{
	size_t s = set_begin(b, 301);
	for (unsigned r = 1 + rnd(4); r; r--) {
		if (ipfix) {
			vl_bytes(b, 234, 4);
			vl_bytes(b, 235, 4);
			vl_put_value(b, 236, vl_vrf_name_var ? 0xffff : 16);
		} else {
			u32(b, 0);
			vl_bytes(b, 234, 4);
			vl_bytes(b, 236, 16);
		}
		u64(b, (uint64_t)rnd(3) << 48 | rnd(1u << 30));
		if (ipfix)
			vl_put_value(b, 236, 0xffff);
	}
	set_end(b, s);
	s = set_begin(b, 302);
	for (unsigned r = 1 + rnd(4); r; r--) {
		vl_bytes(b, 10, 4);
		if (ipfix) {
			vl_put_value(b, 82, vl_ifname_var ? 0xffff : 12);
			vl_put_value(b, 83, 0xffff);
		} else {
			vl_bytes(b, 82, 12);
			vl_bytes(b, 83, 8);
		}
	}
	set_end(b, s);
}

static void hide_all_plans(struct nf_exporter *ex)
{
	nf_tpl_foreach(ex->templates, hide_plan, ex->templates);
}

/*
 * Every template on the fast path: random templates with variable-length
 * and enterprise fields (and the names options tables) are decoded by two
 * collectors, one with the plans and one with every plan hidden (the
 * generic path, also for the options records), and every record must be
 * identical: fields, names, route distinguishers, errors.  Options data
 * travel in their own datagram so that the generic collector never decodes
 * with a plan.
 */
static void vlen_fast_vs_generic(uint64_t skip)
{
	static struct twin tw; /* large: keep it off the stack */
	static struct buf b;
	struct prim_registry reg;
	struct nf_options o;
	memset(&tw, 0, sizeof tw);
	memset(&reg, 0, sizeof reg);
	reg.ncustom = 2;
	strcpy(reg.custom[0].name, "vendor");
	reg.custom[0].field_type = 1234;
	reg.custom[0].pen = 9;
	reg.custom[0].len = 4;
	reg.custom[0].index = 0;
	strcpy(reg.custom[1].name, "vname");
	reg.custom[1].field_type = 4321;
	reg.custom[1].pen = 9;
	reg.custom[1].len = 16;
	reg.custom[1].vlen = 1;
	reg.custom[1].index = 1;
	memset(&o, 0, sizeof o);
	o.custom = &reg;
	o.skip = skip;
	assert_int_equal(nf_collector_init(&tw.fast, &o, twin_emit, &tw.sf), 0);
	assert_int_equal(nf_collector_init(&tw.slow, &o, twin_emit, &tw.ss), 0);
	struct nt_addr a = mkaddr("192.0.2.7");
	struct nf_exporter *ef = nf_exporter_get(&tw.fast, &a, 1),
			   *es = nf_exporter_get(&tw.slow, &a, 1);
	size_t vlen_plans = 0;

	for (int iter = 0; iter < 600; iter++) {
		int ipfix = iter % 4 != 0;
		struct vl_tpl x, y;
		vl_template(&x, ipfix);
		vl_template(&y, ipfix);

		for (int step = 0; step < 3; step++) {
			if (ipfix)
				ipfix_hdr(&b, 0, 5);
			else
				v9_hdr(&b, 1, 0, 5);
			if (step == 0) {
				size_t s = set_begin(&b, ipfix ? 2 : 0);
				vl_put_template(&b, &x, 256);
				vl_put_template(&b, &y, 257);
				set_end(&b, s);
				if (iter % 3 == 0)
					vl_options_templates(&b, ipfix);
			} else if (step == 1) {
				if (iter % 3 != 0)
					continue;
				vl_options_data(&b, ipfix);
			} else {
				vl_put_records(&b, &x, 256, 1 + rnd(4));
				vl_put_records(&b, &y, 257, 1 + rnd(3));
				vl_put_records(&b, &x, 256, 1 + rnd(3));
			}
			if (ipfix)
				ipfix_end(&b);
			hide_all_plans(es);
			tw.sf.n = tw.ss.n = 0;
			enum nf_err e1 = nf_decode(&tw.fast, ef, b.b, b.n, 1);
			enum nf_err e2 = nf_decode(&tw.slow, es, b.b, b.n, 1);
			assert_int_equal(e1, e2);
			assert_int_equal(tw.sf.n, tw.ss.n);
			for (size_t i = 0; i < tw.sf.n && i < TWIN_MAX; i++)
				same_record(&tw.sf.rec[i], &tw.ss.rec[i]);
			tw.compared += tw.sf.n;
			assert_int_equal(nf_names_count(ef->names), nf_names_count(es->names));
		}
		const struct nf_template *t = nf_tpl_get(ef->templates, ipfix ? 10 : 9, 5, 256);
		if (t && t->plan && t->plan->nvlen)
			vlen_plans++;
	}
	assert_true(vlen_plans > 50);
	assert_true(tw.compared > 1000);
	nf_collector_free(&tw.fast);
	nf_collector_free(&tw.slow);
}

static void test_vlen_fast_matches_generic(void **state)
{
	(void)state;
	vlen_fast_vs_generic(0);
	vlen_fast_vs_generic(NF_SKIP_NAMES);
	vlen_fast_vs_generic(NF_SKIPPABLE);
}

/* ---- names and route distinguishers from options data -------------------- */

static void put_str(struct buf *b, const char *s, unsigned width)
{
	size_t n = strlen(s);
	raw(b, s, n);
	zeros(b, width - n);
}

static void put_vstr(struct buf *b, const char *s)
{
	u8(b, (uint8_t)strlen(s));
	raw(b, s, strlen(s));
}

/* IPFIX VRF table (scope 234, 235; 236 variable; 90) and interface table (scope 10; 82). */
static void names_templates(struct buf *b)
{
	size_t s = set_begin(b, 3);
	u16(b, 300);
	u16(b, 4);
	u16(b, 2);
	fs(b, 234, 4, 0);
	fs(b, 235, 4, 0);
	fs(b, 236, 0xffff, 0);
	fs(b, 90, 8, 0);
	u16(b, 301);
	u16(b, 2);
	u16(b, 1);
	fs(b, 10, 4, 0);
	fs(b, 82, 0xffff, 0);
	set_end(b, s);
	s = set_begin(b, 2);
	u16(b, 256);
	u16(b, 5);
	fs(b, 8, 4, 0);
	fs(b, 234, 4, 0);
	fs(b, 235, 4, 0);
	fs(b, 10, 4, 0);
	fs(b, 14, 4, 0);
	set_end(b, s);
}

static void names_vrf(struct buf *b, uint32_t in, uint32_t out, const char *name, uint64_t rd)
{
	size_t s = set_begin(b, 300);
	u32(b, in);
	u32(b, out);
	put_vstr(b, name);
	u64(b, rd);
	set_end(b, s);
}

static void names_iface(struct buf *b, uint32_t ifindex, const char *name)
{
	size_t s = set_begin(b, 301);
	u32(b, ifindex);
	put_vstr(b, name);
	set_end(b, s);
}

static void names_flow(struct buf *b, uint32_t vin, uint32_t vout, uint32_t in, uint32_t out)
{
	size_t s = set_begin(b, 256);
	ip4(b, "10.1.1.1");
	u32(b, vin);
	u32(b, vout);
	u32(b, in);
	u32(b, out);
	set_end(b, s);
}

static int name_is(const char *got, const char *want)
{
	return want ? got && strcmp(got, want) == 0 : got == NULL;
}

/*
 * VRF id -> name and RD, ifindex -> name, from options data; a VRF renamed
 * or an interface re-sent with a new name shows the new name from the next
 * flow on; flows of another observation domain do not see the tables.
 */
static void test_names_from_options(void **state)
{
	struct fx *f = *state;
	ipfix_hdr(&f->b, 0, 7);
	names_templates(&f->b);
	/* RD type 2: 4-byte ASN 4226809910, number 14 (the Huawei capture's) */
	names_vrf(&f->b, 1, 1, "A4", 0x0002fbf00036000eull);
	names_vrf(&f->b, 5, 0, "CUST-B", 0x0000fde8000000c8ull); /* 0:65000:200 */
	names_iface(&f->b, 10, "GigabitEthernet0/0/0/1");
	names_flow(&f->b, 0, 1, 10, 11);
	names_flow(&f->b, 5, 9, 0, 10);
	ipfix_end(&f->b);
	f->s.n = 0;
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 2);
	const struct flow_rec *r = &f->s.rec[0];
	assert_true(FR_HAS(r, FR_VRF_NAME));
	assert_true(name_is(r->vrf_name, "A4"));
	assert_true(name_is(r->vrf_name_in, NULL));
	assert_true(name_is(r->vrf_name_out, "A4"));
	assert_true(FR_HAS(r, FR_MPLS_VPN_RD));
	assert_int_equal(r->mpls_vpn_rd, 0x0002fbf00036000eull);
	assert_int_equal(r->mpls_vpn_rd_origin, FR_RD_FLOW);
	assert_true(FR_HAS(r, FR_IFNAME_IN));
	assert_false(FR_HAS(r, FR_IFNAME_OUT));
	assert_true(name_is(r->ifname_in, "GigabitEthernet0/0/0/1"));
	r = &f->s.rec[1];
	assert_true(name_is(r->vrf_name, "CUST-B"));
	assert_true(name_is(r->vrf_name_in, "CUST-B"));
	assert_true(name_is(r->vrf_name_out, NULL)); /* VRF 9 is unknown */
	assert_int_equal(r->mpls_vpn_rd, 0x0000fde8000000c8ull);
	assert_false(FR_HAS(r, FR_IFNAME_IN));
	assert_true(name_is(r->ifname_out, "GigabitEthernet0/0/0/1"));

	/* renamed VRF, moved interface: the new names from now on */
	ipfix_hdr(&f->b, 2, 7);
	names_vrf(&f->b, 5, 0, "CUST-C", 0x00010a000001002aull); /* 1:10.0.0.1:42 */
	names_iface(&f->b, 10, "Bundle-Ether7");
	names_flow(&f->b, 5, 0, 10, 0);
	ipfix_end(&f->b);
	f->s.n = 0;
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 1);
	r = &f->s.rec[0];
	assert_true(name_is(r->vrf_name, "CUST-C"));
	assert_int_equal(r->mpls_vpn_rd, 0x00010a000001002aull);
	assert_true(name_is(r->ifname_in, "Bundle-Ether7"));

	/* only the VRF id known: vrfid:<id>; no VRF at all: nothing */
	ipfix_hdr(&f->b, 3, 7);
	names_flow(&f->b, 0, 77, 3, 0);
	names_flow(&f->b, 0, 0, 3, 0);
	ipfix_end(&f->b);
	f->s.n = 0;
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 2);
	assert_int_equal(f->s.rec[0].mpls_vpn_rd, (uint64_t)FR_RD_TYPE_VRFID << 48 | 77);
	assert_int_equal(f->s.rec[0].mpls_vpn_rd_origin, FR_RD_FLOW);
	assert_false(FR_HAS(&f->s.rec[0], FR_VRF_NAME));
	assert_false(FR_HAS(&f->s.rec[1], FR_MPLS_VPN_RD));
	assert_int_equal(f->s.rec[1].mpls_vpn_rd_origin, FR_RD_UNKNOWN);

	/* another observation domain has its own tables */
	ipfix_hdr(&f->b, 0, 8);
	size_t s = set_begin(&f->b, 2);
	u16(&f->b, 256);
	u16(&f->b, 5);
	fs(&f->b, 8, 4, 0);
	fs(&f->b, 234, 4, 0);
	fs(&f->b, 235, 4, 0);
	fs(&f->b, 10, 4, 0);
	fs(&f->b, 14, 4, 0);
	set_end(&f->b, s);
	names_flow(&f->b, 5, 0, 10, 0);
	ipfix_end(&f->b);
	f->s.n = 0;
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 1);
	assert_true(name_is(f->s.rec[0].vrf_name, NULL));
	assert_true(name_is(f->s.rec[0].ifname_in, NULL));
	assert_int_equal(f->s.rec[0].mpls_vpn_rd, (uint64_t)FR_RD_TYPE_VRFID << 48 | 5);
}

/*
 * NetFlow v9 tables (Cisco IOS: Interface scope + 82/83, System scope +
 * 234/236) and names carried by the data records themselves.
 */
static void test_names_v9_and_in_records(void **state)
{
	struct fx *f = *state;
	v9_hdr(&f->b, 5, 1, 3);
	size_t s = set_begin(&f->b, 1);
	u16(&f->b, 300);
	u16(&f->b, 4);
	u16(&f->b, 8);
	fs(&f->b, 2, 4, 0); /* Interface scope: the ifindex */
	fs(&f->b, 82, 16, 0);
	fs(&f->b, 83, 16, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 1);
	u16(&f->b, 301);
	u16(&f->b, 4);
	u16(&f->b, 8);
	fs(&f->b, 1, 4, 0); /* System scope */
	fs(&f->b, 234, 4, 0);
	fs(&f->b, 236, 32, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 0);
	u16(&f->b, 256);
	u16(&f->b, 4);
	fs(&f->b, 10, 2, 0);
	fs(&f->b, 14, 2, 0);
	fs(&f->b, 234, 4, 0);
	fs(&f->b, 82, 8, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 300);
	u32(&f->b, 4);
	put_str(&f->b, "Gi0/0/1", 16);
	put_str(&f->b, "uplink", 16);
	u32(&f->b, 6);
	put_str(&f->b, "", 16); /* no name: the description stands in */
	put_str(&f->b, "to core", 16);
	set_end(&f->b, s);
	s = set_begin(&f->b, 301);
	u32(&f->b, 0);
	u32(&f->b, 0x60000001u);
	put_str(&f->b, "mgmt", 32);
	set_end(&f->b, s);
	s = set_begin(&f->b, 256);
	u16(&f->b, 4);
	u16(&f->b, 6);
	u32(&f->b, 0x60000001u);
	put_str(&f->b, "", 8);
	u16(&f->b, 4);
	u16(&f->b, 6);
	u32(&f->b, 0x60000001u);
	put_str(&f->b, "Te0/1/2", 8); /* the record's own name wins */
	set_end(&f->b, s);
	f->s.n = 0;
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 2);
	const struct flow_rec *r = &f->s.rec[0];
	assert_true(name_is(r->vrf_name, "mgmt"));
	assert_int_equal(r->mpls_vpn_rd, (uint64_t)FR_RD_TYPE_VRFID << 48 | 0x60000001u);
	/* an empty IE 82 in the record says nothing: the table's name stands */
	assert_true(name_is(r->ifname_in, "Gi0/0/1"));
	assert_true(name_is(r->ifname_out, "to core"));
	assert_true(name_is(f->s.rec[1].ifname_in, "Te0/1/2"));
	assert_true(name_is(f->s.rec[1].ifname_out, "to core"));

	/* IPFIX: VRF name (236) and RD (90) carried by the data record */
	ipfix_hdr(&f->b, 0, 4);
	s = set_begin(&f->b, 2);
	u16(&f->b, 256);
	u16(&f->b, 3);
	fs(&f->b, 234, 4, 0);
	fs(&f->b, 236, 0xffff, 0);
	fs(&f->b, 90, 8, 0);
	set_end(&f->b, s);
	s = set_begin(&f->b, 256);
	u32(&f->b, 9);
	put_vstr(&f->b, "RED");
	u64(&f->b, 0x0000fde800000001ull);
	set_end(&f->b, s);
	ipfix_end(&f->b);
	f->s.n = 0;
	assert_int_equal(dec(f), NF_OK);
	assert_int_equal(f->s.n, 1);
	assert_true(name_is(f->s.rec[0].vrf_name, "RED"));
	assert_true(name_is(f->s.rec[0].vrf_name_in, NULL));
	assert_int_equal(f->s.rec[0].mpls_vpn_rd, 0x0000fde800000001ull);
}

/* The table is bounded: new keys beyond NF_NAMES_MAX are refused, updates still apply. */
static void test_names_store_bound(void **state)
{
	(void)state;
	struct nf_name_store *s = nf_names_new();
	assert_non_null(s);
	struct nf_name_update u = {.kind = NF_NAME_IFACE, .domain = 1};
	char name[16];
	for (uint32_t i = 0; i < NF_NAMES_MAX; i++) {
		snprintf(name, sizeof name, "if%u", i);
		u.id = i;
		u.name = (const uint8_t *)name;
		u.name_len = strlen(name);
		assert_int_equal(nf_names_set(s, &u), 1);
	}
	assert_int_equal(nf_names_count(s), NF_NAMES_MAX);
	u.id = NF_NAMES_MAX;
	assert_int_equal(nf_names_set(s, &u), -1);
	assert_null(nf_names_get(s, NF_NAME_IFACE, 1, NF_NAMES_MAX));
	u.id = 7;
	u.name = (const uint8_t *)"if7";
	u.name_len = 3;
	assert_int_equal(nf_names_set(s, &u), 0); /* the same again: no change */
	u.name = (const uint8_t *)"renamed";
	u.name_len = 7;
	assert_int_equal(nf_names_set(s, &u), 1);
	assert_string_equal(nf_names_get(s, NF_NAME_IFACE, 1, 7)->name, "renamed");
	assert_null(nf_names_get(s, NF_NAME_VRF, 1, 7));
	/* long names are cut at NF_NAME_MAX */
	char longname[200];
	memset(longname, 'x', sizeof longname);
	u.name = (const uint8_t *)longname;
	u.name_len = sizeof longname;
	assert_int_equal(nf_names_set(s, &u), 1);
	assert_int_equal(strlen(nf_names_get(s, NF_NAME_IFACE, 1, 7)->name), NF_NAME_MAX);
	nf_names_free(s);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_v9_template_then_data),
	    T(test_v9_time_secs),
	    T(test_v9_count_mismatch_and_trailing_padding),
	    T(test_data_before_template),
	    T(test_no_template_is_not_malformed),
	    T(test_options_data_without_template),
	    T(test_ipfix_sequence_after_no_template),
	    T(test_v9_restart_is_reset),
	    T(test_v9_options_sampling),
	    T(test_v9_options_bad_scope),
	    T(test_ipfix_fields),
	    T(test_ipfix_counter_fallbacks),
	    T(test_ipfix_redefinition),
	    T(test_ipfix_withdrawal),
	    T(test_template_limit),
	    cmocka_unit_test(test_exporter_limit_and_growth),
	    cmocka_unit_test(test_template_budget_across_exporters),
	    T(test_ipfix_varlen_and_custom),
	    T(test_ipfix_options_pen_and_scope),
	    T(test_ipfix_time_encodings),
	    T(test_truncated_set),
	    T(test_bad_set_length),
	    T(test_bad_templates),
	    T(test_v8),
	    T(test_templates_file_roundtrip),
	    T(test_templates_file_corrupt),
	    T(test_templates_file_duplicates_and_cap),
	    T(test_sampling_map),
	    T(test_fixture_100_ipfix_cisco),
	    T(test_fixture_104_ipfix_sampling),
	    T(test_fixture_102_nfv9_times),
	    T(test_fixture_nfv9),
	    T(test_fast_reduced_sizes),
	    T(test_fast_used_and_unused_fields),
	    T(test_fast_plan_fallbacks),
	    T(test_fast_clear_between_templates),
	    T(test_fast_matches_generic),
	    T(test_fixture_fast_matches_generic),
	    T(test_skip_leaves_out_only_skipped),
	    cmocka_unit_test(test_vlen_fast_matches_generic),
	    T(test_names_from_options),
	    T(test_names_v9_and_in_records),
	    cmocka_unit_test(test_names_store_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
