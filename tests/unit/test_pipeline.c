/*
 * Unit tests for the record pipeline (agg/pipeline.c) and the built-in
 * stages (agg/stages.c): chaining, drop verdicts, per-worker state, map
 * snapshots per batch, and that nothing a stage writes leaks from one record
 * into the next.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/unit_util.h"

#include <string.h>
#include <unistd.h>

#include "agg/lpm.h"
#include "agg/maps.h"
#include "agg/networks.h"
#include "agg/pipeline.h"
#include "agg/primitive.h"
#include "agg/sampling_map.h"
#include "agg/stages.h"
#include "agg/table.h"

/* ---- a sink that accounts like the worker: key + counters ---- */

struct acct {
	struct keyspec ks;
	unsigned n;
	uint8_t keys[8][128];
	struct agg_counters c[8];
	uint64_t present[8]; /* r->present as the sink saw it */
	uint32_t rate[8];
};

static void acct_sink(void *arg, struct flow_rec *r)
{
	struct acct *a = arg;
	assert_true(a->n < 8);
	assert_true(a->ks.key_len <= sizeof a->keys[0]);
	keyspec_extract(&a->ks, r, a->keys[a->n]);
	prim_counters(&a->c[a->n], r, 0);
	a->present[a->n] = r->present;
	a->rate[a->n] = r->sampling_rate;
	a->n++;
}

static void acct_init(struct acct *a, const char *aggregate)
{
	char err[256];
	memset(a, 0, sizeof *a);
	assert_int_equal(keyspec_build(&a->ks, aggregate, NULL, NULL, err, sizeof err), 0);
}

/* ---- a tagging stage: sets src_as on the record with one sequence number ---- */

struct tag_cfg {
	uint32_t seqno;
	uint32_t as;
};

static enum stage_verdict run_tag(const void *cfg, struct stage_ctx *sc, struct flow_rec *r)
{
	const struct tag_cfg *t = cfg;
	(void)sc;
	if (r->export_seqno == t->seqno) {
		r->src_as = t->as;
		FR_SET(r, FR_SRC_AS);
	}
	return STAGE_KEEP;
}

static const struct stage_desc tag_stage = {"tag", FR_BIT(FR_SRC_AS), run_tag, NULL, NULL};

/*
 * What a decoder does: reuse one scratch record, rewrite only the fields
 * the (template of the) record carries, and set exactly their bits.
 */
static void decode_into(struct flow_rec *r, uint32_t seqno, uint8_t last_octet)
{
	r->src_addr.family = 4;
	r->src_addr.a[0] = 10;
	r->src_addr.a[3] = last_octet;
	r->packets = 2;
	r->bytes = 100;
	r->sampling_rate = 0;
	r->export_seqno = seqno;
	r->present = FR_BIT(FR_SRC_ADDR) | FR_BIT(FR_PEER_SRC_IP);
}

static void test_no_leak_into_next_record(void **state)
{
	(void)state;
	struct pipeline p;
	struct pipeline_worker w;
	struct acct a;
	char err[256];
	static const struct tag_cfg tag = {.seqno = 1, .as = 65001};
	acct_init(&a, "src_host, src_as");
	pipeline_init(&p, NULL);
	assert_int_equal(pipeline_add(&p, &tag_stage, &tag, -1, err, sizeof err), 0);
	assert_int_equal(p.writes, FR_BIT(FR_SRC_AS));
	assert_int_equal(pipeline_worker_init(&w, &p, acct_sink, &a, err, sizeof err), 0);

	struct flow_rec r;
	flow_rec_clear(&r);
	pipeline_batch_begin(&w);
	decode_into(&r, 1, 1);
	uint64_t decoded = r.present;
	assert_int_equal(pipeline_run(&w, &r), STAGE_KEEP);
	/* the stage's bit is gone once the record is accounted */
	assert_int_equal(r.present, decoded);
	decode_into(&r, 2, 2);		   /* the next record: no src_as in it */
	assert_int_equal(r.src_as, 65001); /* the scratch record still holds it... */
	assert_int_equal(pipeline_run(&w, &r), STAGE_KEEP);
	pipeline_batch_end(&w);

	assert_int_equal(a.n, 2);
	/* record 1 carries the tag, in the record and in its key */
	assert_true(a.present[0] & FR_BIT(FR_SRC_AS));
	struct prim_val v;
	const struct keyspec_field *as_f = NULL;
	for (unsigned i = 0; i < a.ks.n; i++)
		if (strcmp(a.ks.f[i].p->name, "src_as") == 0)
			as_f = &a.ks.f[i];
	assert_non_null(as_f);
	as_f->p->render(a.keys[0] + as_f->off, as_f, &a.ks.opts, &v);
	assert_string_equal(v.s, "65001");
	/* ...but record 2 does not see it as present, and its key does not carry it */
	assert_false(a.present[1] & FR_BIT(FR_SRC_AS));
	as_f->p->render(a.keys[1] + as_f->off, as_f, &a.ks.opts, &v);
	assert_string_equal(v.s, "0");
	assert_memory_not_equal(a.keys[0], a.keys[1], a.ks.key_len);
	pipeline_worker_free(&w);
}

/* ---- drop verdicts and per-worker state ---- */

struct drop_state {
	unsigned seen;
};

static void *drop_state_new(const void *cfg)
{
	(void)cfg;
	return calloc(1, sizeof(struct drop_state));
}

static enum stage_verdict run_drop_odd(const void *cfg, struct stage_ctx *sc, struct flow_rec *r)
{
	(void)cfg;
	struct drop_state *s = sc->state;
	s->seen++;
	r->src_as = 7; /* written before the verdict: must not survive either */
	FR_SET(r, FR_SRC_AS);
	return (r->export_seqno & 1) ? STAGE_DROP : STAGE_KEEP;
}

static const struct stage_desc drop_stage = {"drop_odd", FR_BIT(FR_SRC_AS), run_drop_odd,
					     drop_state_new, free};

static void test_drop_and_state(void **state)
{
	(void)state;
	struct pipeline p;
	struct pipeline_worker w1, w2;
	struct acct a1, a2;
	char err[256];
	acct_init(&a1, "src_host");
	acct_init(&a2, "src_host");
	pipeline_init(&p, NULL);
	assert_int_equal(pipeline_add(&p, &drop_stage, NULL, -1, err, sizeof err), 0);
	assert_int_equal(pipeline_add(&p, &stage_tcp_flags_tcp_only, NULL, -1, err, sizeof err), 0);
	/* one chain, two workers: each has its own state */
	assert_int_equal(pipeline_worker_init(&w1, &p, acct_sink, &a1, err, sizeof err), 0);
	assert_int_equal(pipeline_worker_init(&w2, &p, acct_sink, &a2, err, sizeof err), 0);
	assert_ptr_not_equal(w1.sc[0].state, w2.sc[0].state);
	struct flow_rec r;
	flow_rec_clear(&r);
	for (uint32_t seq = 1; seq <= 4; seq++) {
		decode_into(&r, seq, (uint8_t)seq);
		assert_int_equal(pipeline_run(&w1, &r), (seq & 1) ? STAGE_DROP : STAGE_KEEP);
		assert_false(FR_HAS(&r, FR_SRC_AS));
	}
	assert_int_equal(a1.n, 2); /* the sink never sees a dropped record */
	assert_int_equal(w1.dropped, 2);
	assert_int_equal(((struct drop_state *)w1.sc[0].state)->seen, 4);
	assert_int_equal(((struct drop_state *)w2.sc[0].state)->seen, 0);
	pipeline_worker_free(&w1); /* ASan: the state is freed */
	pipeline_worker_free(&w2);

	/* chain limits */
	for (unsigned i = p.n; i < PIPELINE_MAX; i++)
		assert_int_equal(pipeline_add(&p, &stage_renormalize, NULL, -1, err, sizeof err),
				 0);
	assert_int_equal(pipeline_add(&p, &stage_renormalize, NULL, -1, err, sizeof err), -1);
	assert_non_null(strstr(err, "renormalize"));
	pipeline_init(&p, NULL);
	assert_int_equal(pipeline_add(&p, &stage_sampling_map, NULL, 0, err, sizeof err), -1);
}

/* ---- the built-in stages ---- */

static void test_builtin_stages(void **state)
{
	(void)state;
	struct maps m;
	struct pipeline p;
	struct pipeline_worker w;
	struct acct a;
	char err[512], path[64];
	snprintf(path, sizeof path, "%s",
		 write_tmp("id=1000 ip=192.0.2.1 in=5\nid=50 ip=192.0.2.0/24\n"));
	maps_init(&m, NULL, NULL);
	int slot = maps_register(&m, "sampling_map", path, &sampling_map_type, err, sizeof err);
	assert_true(slot >= 0);
	assert_int_equal(maps_load_all(&m, err, sizeof err), 0);
	struct pipeline_std std = {.sampling_map_slot = slot, .renormalize = 1, .tcp_flags = 1};
	assert_int_equal(pipeline_build_std(&p, &m, &std, err, sizeof err), 0);
	assert_int_equal(p.n, 3);
	assert_string_equal(p.st[0].d->name, "sampling_map");
	assert_string_equal(p.st[1].d->name, "renormalize");
	assert_string_equal(p.st[2].d->name, "tcp_flags_tcp_only");
	acct_init(&a, "src_host, sampling_rate, tcpflags");
	assert_int_equal(pipeline_worker_init(&w, &p, acct_sink, &a, err, sizeof err), 0);

	struct flow_rec r;
	flow_rec_clear(&r);
	struct nt_addr exp;
	uint8_t plen;
	assert_int_equal(lpm_prefix_parse("192.0.2.1", &exp, &plen), 0);
	pipeline_batch_begin(&w);
	assert_ptr_equal(w.sc[0].map, maps_current(&m, slot));
	/* 1: TCP from in=5: rate 1000 from the map, counters renormalised, flags kept */
	decode_into(&r, 1, 1);
	r.peer_src_ip = exp;
	r.proto = 6;
	r.tcp_flags = 0x12;
	r.in_iface = 5;
	r.sampling_rate = 10; /* what the exporter said */
	r.present |= FR_BIT(FR_PROTO) | FR_BIT(FR_TCP_FLAGS) | FR_BIT(FR_IN_IFACE);
	pipeline_run(&w, &r);
	/* 2: UDP with junk flags, no interface: the /24 rule, flags dropped */
	decode_into(&r, 2, 2);
	r.peer_src_ip = exp;
	r.proto = 17;
	r.tcp_flags = 0xff;
	r.present |= FR_BIT(FR_PROTO) | FR_BIT(FR_TCP_FLAGS);
	pipeline_run(&w, &r);
	/* 3: another exporter: no rule, the exported rate (none) stays */
	decode_into(&r, 3, 3);
	r.peer_src_ip.a[3] = 99;
	r.peer_src_ip.a[2] = 99;
	pipeline_run(&w, &r);
	pipeline_batch_end(&w);
	assert_null(w.sc[0].map); /* quiescent between batches */

	assert_int_equal(a.n, 3);
	assert_int_equal(a.rate[0], 1000);
	assert_true(a.present[0] & FR_BIT(FR_SAMPLING));
	assert_int_equal(a.c[0].packets, 2000);
	assert_int_equal(a.c[0].bytes, 100000);
	assert_int_equal(a.c[0].tcp_flags, 0x12);
	assert_int_equal(a.rate[1], 50);
	assert_int_equal(a.c[1].packets, 100);
	assert_int_equal(a.c[1].tcp_flags, 0);
	assert_int_equal(a.rate[2], 0);
	assert_false(a.present[2] & FR_BIT(FR_SAMPLING));
	assert_int_equal(a.c[2].packets, 2);
	assert_int_equal(a.c[2].bytes, 100);
	/* the sampling_rate key of record 3 is not record 2's */
	assert_memory_not_equal(a.keys[1], a.keys[2], a.ks.key_len);

	/* a reload: the batch in progress keeps its snapshot, the next one sees the new map */
	a.n = 0;
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("id=7 ip=192.0.2.1\n", f);
	fclose(f);
	pipeline_batch_begin(&w);
	const void *old = w.sc[0].map;
	assert_int_equal(maps_reload_all(&m), 1);
	decode_into(&r, 4, 4);
	r.peer_src_ip = exp;
	pipeline_run(&w, &r);
	assert_ptr_equal(w.sc[0].map, old);
	pipeline_batch_end(&w);
	assert_true(maps_settling(&m));
	assert_int_equal(maps_release_retired(&m), 0); /* the worker acked: batch over */
	pipeline_batch_begin(&w);
	decode_into(&r, 5, 5);
	r.peer_src_ip = exp;
	pipeline_run(&w, &r);
	pipeline_batch_end(&w);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.rate[0], 50);
	assert_int_equal(a.rate[1], 7);

	pipeline_worker_free(&w);
	maps_free(&m);
	unlink(path);
}

/*
 * The enrichment stages in the standard chain: their order, their maps, and
 * that what networks_file wrote for one record is not seen in the next.
 */
static void test_enrich_stages(void **state)
{
	(void)state;
	struct maps m;
	struct pipeline p;
	struct pipeline_worker w;
	struct acct a;
	char err[512], nets[64];
	snprintf(nets, sizeof nets, "%s", write_tmp("65500,10.0.0.0/24\n"));
	maps_init(&m, NULL, NULL);
	struct pipeline_enrich e = {.networks = 1, .geoip_slot = -1};
	e.networks_slot =
	    maps_register(&m, "networks_file", nets, &networks_map_type, err, sizeof err);
	e.net = (struct networks_cfg){.net = NET_FILE, .as = NET_FILE, .have_file = 1};
	assert_int_equal(maps_load_all(&m, err, sizeof err), 0);
	struct pipeline_std std = {.sampling_map_slot = -1, .tcp_flags = 1, .enrich = &e};
	assert_int_equal(pipeline_build_std(&p, &m, &std, err, sizeof err), 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.st[0].d->name, "tcp_flags_tcp_only");
	assert_string_equal(p.st[1].d->name, "networks");
	acct_init(&a, "src_net, src_mask, src_as, dst_port");
	assert_int_equal(pipeline_worker_init(&w, &p, acct_sink, &a, err, sizeof err), 0);

	struct flow_rec r;
	flow_rec_clear(&r);
	pipeline_batch_begin(&w);
	decode_into(&r, 1, 7); /* 10.0.0.7: in the file */
	r.dst_port = 8080;
	r.present |= FR_BIT(FR_DST_PORT);
	pipeline_run(&w, &r);
	assert_false(FR_HAS(&r, FR_SRC_NET)); /* restored after the sink */
	decode_into(&r, 2, 7);
	r.present &= ~FR_BIT(FR_SRC_ADDR); /* a record without a source address */
	pipeline_run(&w, &r);
	pipeline_batch_end(&w);
	assert_int_equal(a.n, 2);
	assert_true(a.present[0] & FR_BIT(FR_SRC_NET));
	/* key order is the table's: src_as, src_net, src_mask, dst_port */
	uint32_t as;
	memcpy(&as, a.keys[0], 4);
	assert_int_equal(as, 65500);
	assert_int_equal(a.keys[0][4], 4); /* src_net 10.0.0.0 */
	assert_int_equal(a.keys[0][5], 10);
	assert_int_equal(a.keys[0][8], 0);
	assert_int_equal(a.keys[0][21], 24); /* src_mask */
	uint16_t port;
	memcpy(&port, a.keys[0] + 22, 2);
	assert_int_equal(port, 8080);
	assert_false(a.present[1] & (FR_BIT(FR_SRC_NET) | FR_BIT(FR_SRC_MASK) | FR_BIT(FR_SRC_AS)));
	for (unsigned i = 0; i < 22; i++) /* no source: src_as, src_net, src_mask zero */
		assert_int_equal(a.keys[1][i], 0);
	pipeline_worker_free(&w);
	maps_free(&m);
	unlink(nets);
}

static void test_empty_chain(void **state)
{
	(void)state;
	struct pipeline p;
	struct pipeline_worker w;
	struct acct a;
	char err[256];
	struct pipeline_std none = {.sampling_map_slot = -1};
	/* nothing configured: nothing in the chain, the sink still accounts */
	assert_int_equal(pipeline_build_std(&p, NULL, &none, err, sizeof err), 0);
	assert_int_equal(p.n, 0);
	acct_init(&a, "src_host");
	assert_int_equal(pipeline_worker_init(&w, &p, acct_sink, &a, err, sizeof err), 0);
	struct flow_rec r;
	flow_rec_clear(&r);
	decode_into(&r, 1, 1);
	r.sampling_rate = 100;
	pipeline_batch_begin(&w);
	assert_int_equal(pipeline_run(&w, &r), STAGE_KEEP);
	pipeline_batch_end(&w);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.c[0].packets, 2); /* no renormalisation unless asked */
	pipeline_worker_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_leak_into_next_record),
	    cmocka_unit_test(test_drop_and_state),
	    cmocka_unit_test(test_builtin_stages),
	    cmocka_unit_test(test_enrich_stages),
	    cmocka_unit_test(test_empty_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
