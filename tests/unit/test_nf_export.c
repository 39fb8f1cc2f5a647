/*
 * The NetFlow v5 / v9 / IPFIX encoders (proto/nf_export.h) round-tripped
 * through netacct's own decoder (proto/netflow*.c): random flows (fixed seed),
 * IPv4 and IPv6, every template field; the decoded records must be the
 * flows, the sequence tracking must see no gap and no reset, templates must
 * come first and again later, and no datagram may exceed the MTU.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/netflow.h"
#include "proto/nf_export.h"

#define NFLOWS 1200

struct rt {
	struct nf_collector c;
	struct nf_exporter *ex;
	struct nfx_encoder enc;
	struct nfx_flow want[NFLOWS];
	size_t nwant, ngot, bad;
	unsigned dgrams, with_templates, max_len;
	unsigned last_tpl_dgram, max_gap;
	char why[256];
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void check(struct rt *t, int ok, const char *what)
{
	if (!ok && !t->bad++)
		snprintf(t->why, sizeof t->why, "record %zu: %s", t->ngot, what);
}

/* The decoded record against the flow it came from. */
static void emit(void *arg, struct flow_rec *r)
{
	struct rt *t = arg;
	if (t->ngot >= t->nwant) {
		check(t, 0, "more records than flows");
		return;
	}
	const struct nfx_flow *f = &t->want[t->ngot];
	int v5 = t->enc.version == 5;
	size_t alen = f->src.family == 6 ? 16 : 4;
	check(t, r->src_addr.family == f->src.family && !memcmp(r->src_addr.a, f->src.a, alen),
	      "src");
	check(t, r->dst_addr.family == f->dst.family && !memcmp(r->dst_addr.a, f->dst.a, alen),
	      "dst");
	check(t, r->src_port == f->src_port && r->dst_port == f->dst_port, "ports");
	check(t, r->proto == f->proto && r->tos == f->tos && r->tcp_flags == f->tcp_flags,
	      "proto/tos/flags");
	check(t, r->packets == f->packets && r->bytes == f->bytes, "counters");
	check(t, r->src_as == f->src_as && r->dst_as == f->dst_as, "AS");
	check(t, r->src_mask == f->src_mask && r->dst_mask == f->dst_mask, "masks");
	check(t, r->in_iface == f->in_iface && r->out_iface == f->out_iface, "ifaces");
	check(t, r->ts_start / 1000 == f->first / 1000 && r->ts_end / 1000 == f->last / 1000,
	      "times (ms)");
	if (!v5) {
		check(t, FR_HAS(r, FR_VLAN_IN) && r->vlan_in == f->vlan, "vlan");
		check(t, !memcmp(r->src_mac, f->src_mac, 6) && !memcmp(r->dst_mac, f->dst_mac, 6),
		      "macs");
		check(t, r->mpls_depth >= 1 && r->mpls[0] == f->mpls_top, "mpls top");
		check(t, FR_HAS(r, FR_DIRECTION) && r->direction == f->direction, "direction");
		check(t, FR_HAS(r, FR_FLOWS) && r->flows == f->flows, "flows");
		check(t, r->export_sysid == t->enc.domain, "source id / domain");
	}
	t->ngot++;
}

static void on_send(void *arg, const uint8_t *buf, size_t len, unsigned records)
{
	struct rt *t = arg;
	(void)records;
	t->dgrams++;
	if (len > t->max_len)
		t->max_len = (unsigned)len;
	uint16_t first_set = (uint16_t)(buf[t->enc.version == 9 ? 20 : 16] << 8 |
					buf[t->enc.version == 9 ? 21 : 17]);
	if (t->enc.version != 5 && first_set == (t->enc.version == 9 ? 0 : 2)) {
		t->with_templates++;
		if (t->dgrams - t->last_tpl_dgram > t->max_gap)
			t->max_gap = t->dgrams - t->last_tpl_dgram;
		t->last_tpl_dgram = t->dgrams;
	}
	enum nf_err e = nf_decode(&t->c, t->ex, buf, len, 1);
	if (e != NF_OK && !t->bad++)
		snprintf(t->why, sizeof t->why, "datagram %u: %s", t->dgrams, nf_err_name(e));
}

/*
 * Flow times within 100 s of base; whole seconds for v9, whose header has
 * whole export seconds only (the decoder keeps whole seconds of the delta).
 */
static void random_flow(struct nfx_flow *f, uint64_t *s, int v6, uint64_t base, int whole_secs)
{
	memset(f, 0, sizeof *f);
	f->src.family = f->dst.family = v6 ? 6 : 4;
	for (int i = 0; i < (v6 ? 16 : 4); i++) {
		f->src.a[i] = (uint8_t)rnd(s);
		f->dst.a[i] = (uint8_t)rnd(s);
	}
	f->packets = 1 + rnd(s) % 100000;
	f->bytes = f->packets * (40 + rnd(s) % 1400);
	f->flows = 1;
	f->first = base + (rnd(s) % 50) * 1000000u + (whole_secs ? 0 : (rnd(s) % 1000) * 1000u);
	f->last = f->first + (rnd(s) % 40) * 1000000u + (whole_secs ? 0 : (rnd(s) % 1000) * 1000u);
	f->in_iface = (uint32_t)(rnd(s) % 65535);
	f->out_iface = (uint32_t)(rnd(s) % 65535);
	f->src_as = (uint32_t)(rnd(s) % 65535);
	f->dst_as = (uint32_t)(rnd(s) % 65535);
	f->mpls_top = (uint32_t)(rnd(s) & 0xffffff);
	f->src_port = (uint16_t)rnd(s);
	f->dst_port = (uint16_t)rnd(s);
	f->vlan = (uint16_t)(rnd(s) % 4095);
	f->proto = (uint8_t)(rnd(s) % 2 ? 6 : 17);
	f->tos = (uint8_t)rnd(s);
	f->tcp_flags = f->proto == 6 ? (uint8_t)(rnd(s) & 0x3f) : 0;
	f->src_mask = (uint8_t)(rnd(s) % (v6 ? 129 : 33));
	f->dst_mask = (uint8_t)(rnd(s) % (v6 ? 129 : 33));
	f->direction = (uint8_t)(rnd(s) % 2);
	for (int i = 0; i < 6; i++) {
		f->src_mac[i] = (uint8_t)rnd(s);
		f->dst_mac[i] = (uint8_t)rnd(s);
	}
	/* applicationName: the decoder skips it, the fields after it must still line up */
	snprintf(f->app_name, sizeof f->app_name, "Unknown/App%u", (unsigned)(rnd(s) % 1000));
}

static void round_trip(int version)
{
	struct rt *t = calloc(1, sizeof *t);
	assert_non_null(t);
	struct nf_options o;
	memset(&o, 0, sizeof o);
	assert_int_equal(nf_collector_init(&t->c, &o, emit, t), 0);
	struct nt_addr a = {.family = 4, .a = {127, 0, 0, 1}};
	t->ex = nf_exporter_get(&t->c, &a, 40000);
	assert_non_null(t->ex);
	uint32_t all = NFX_F_SRC_ADDR | NFX_F_DST_ADDR | NFX_F_SRC_PORT | NFX_F_DST_PORT |
		       NFX_F_PROTO | NFX_F_TOS | NFX_F_TCP_FLAGS | NFX_F_IN_IFACE |
		       NFX_F_OUT_IFACE | NFX_F_SRC_AS | NFX_F_DST_AS | NFX_F_SRC_MASK |
		       NFX_F_DST_MASK | NFX_F_VLAN | NFX_F_SRC_MAC | NFX_F_DST_MAC |
		       NFX_F_MPLS_TOP | NFX_F_DIRECTION | NFX_F_FLOWS | NFX_F_APP_NAME;
	/* whole seconds: the v9 header has no sub-second time, so times stay exact to the ms */
	const uint64_t boot = 1700000000ull * 1000000u;
	uint32_t domain = version == 5 ? (3u << 8 | 9u) : 77u;
	assert_int_equal(nfx_init(&t->enc, version, all, domain, 0, boot, on_send, t), 0);
	uint64_t s = 0x9e3779b97f4a7c15ull;
	uint64_t now = boot + 100000000ull; /* after every flow's end */
	for (size_t i = 0; i < NFLOWS; i++) {
		struct nfx_flow f;
		int v6 = version != 5 && rnd(&s) % 3 == 0;
		random_flow(&f, &s, v6, boot, version == 9);
		t->want[t->nwant] = f;
		t->nwant++;
		assert_int_equal(nfx_add(&t->enc, &f, now), NFX_ADDED);
		if (i % 97 == 0) /* partial datagrams too */
			nfx_flush(&t->enc, now);
	}
	nfx_flush(&t->enc, now);
	if (t->bad)
		fail_msg("v%d: %s", version, t->why);
	assert_int_equal(t->ngot, NFLOWS);
	assert_int_equal(t->ex->st.records, NFLOWS);
	assert_int_equal(t->ex->st.seq_gaps, 0);
	assert_int_equal(t->ex->st.seq_resets, 0);
	assert_true(t->max_len <= (version == 5 ? 24 + 30 * 48 : NFX_MTU_DEFAULT));
	if (version != 5) {
		assert_true(t->dgrams > 2 * NFX_TPL_EVERY_DGRAMS);
		assert_true(t->with_templates >= 2);
		assert_true(t->max_gap <= NFX_TPL_EVERY_DGRAMS);
	}
	nf_collector_free(&t->c);
	free(t);
}

static void test_v5(void **state)
{
	(void)state;
	round_trip(5);
}

static void test_v9(void **state)
{
	(void)state;
	round_trip(9);
}

static void test_ipfix(void **state)
{
	(void)state;
	round_trip(10);
}

static void sent_count(void *arg, const uint8_t *buf, size_t len, unsigned records)
{
	(void)buf;
	(void)len;
	*(unsigned *)arg += records;
}

/* v5 has no IPv6 record: the flow is refused, nothing is sent. */
static void test_v5_refuses_ipv6(void **state)
{
	(void)state;
	struct nfx_encoder *e = malloc(sizeof *e);
	unsigned n = 0;
	assert_non_null(e);
	assert_int_equal(nfx_init(e, 5, 0, 0, 0, 0, sent_count, &n), 0);
	struct nfx_flow f;
	memset(&f, 0, sizeof f);
	f.src.family = f.dst.family = 6;
	assert_int_equal(nfx_add(e, &f, 1), NFX_SKIPPED);
	nfx_flush(e, 1);
	assert_int_equal(n, 0);
	free(e);
}

static void test_bad_init(void **state)
{
	(void)state;
	struct nfx_encoder *e = malloc(sizeof *e);
	assert_non_null(e);
	assert_int_equal(nfx_init(e, 8, 0, 0, 0, 0, sent_count, NULL), -1);
	assert_int_equal(nfx_init(e, 9, 0, 0, 100, 0, sent_count, NULL), -1);
	assert_int_equal(nfx_init(e, 10, 0, 0, NFX_MTU_MAX + 1, 0, sent_count, NULL), -1);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v5),	     cmocka_unit_test(test_v9),
	    cmocka_unit_test(test_ipfix),    cmocka_unit_test(test_v5_refuses_ipv6),
	    cmocka_unit_test(test_bad_init),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
