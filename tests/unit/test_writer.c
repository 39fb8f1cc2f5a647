/*
 * Unit tests for the writer (out/writer.c) and the output contract
 * (out/output.h): one write per round, late and repeated tables, the cap on
 * merged tables, the tick/reopen/stats hooks and the three sink kinds,
 * through small output modules defined here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <time.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/table.h"
#include "out/buf.h"
#include "out/encode.h"
#include "out/event.h"
#include "out/output.h"
#include "out/writer.h"
#include "reactor/input.h"

#define KL     8
#define ROUNDS 16

/* What the test module saw, in call order (writer thread; read after sync/stop). */
struct seen {
	unsigned nwrites;
	uint64_t write_round[ROUNDS];
	uint64_t write_count[ROUNDS];
	uint64_t write_packets[ROUNDS];
	int write_final[ROUNDS];
	int write_safe[ROUNDS];
	unsigned nticks;
	uint64_t tick_round[ROUNDS];
	unsigned reopens;
	struct obuf events; /* event records, JSON lines */
	struct encoder enc;
	uint64_t dgram_bytes[4]; /* per worker */
	atomic_uint services;	 /* service() calls */

	/* a gate that holds write_event() until the test opens it */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int gated, entered, open;
};

struct fixture {
	struct logger lg;
	char *logbuf;
	size_t loglen;
	struct out_instance oi;
	struct seen seen;
	struct writer *w;
};

static uint64_t round_of(const struct out_instance *oi, const struct out_interval *iv)
{
	return (uint64_t)iv->end / (uint64_t)oi->refresh;
}

static int t_write(struct out_instance *oi, const struct agg_table *t,
		   const struct out_interval *iv)
{
	struct seen *s = oi->state;
	uint64_t pos = 0, pk = 0;
	const struct agg_entry *e;
	while ((e = agg_table_next(t, &pos)))
		pk += e->c.packets;
	assert_true(s->nwrites < ROUNDS);
	s->write_round[s->nwrites] = round_of(oi, iv);
	s->write_count[s->nwrites] = t->count;
	s->write_packets[s->nwrites] = pk;
	s->write_final[s->nwrites] = iv->final;
	s->write_safe[s->nwrites] = iv->safe;
	s->nwrites++;
	return 0;
}

static void t_tick(struct out_instance *oi, const struct out_interval *iv)
{
	struct seen *s = oi->state;
	assert_true(s->nticks < ROUNDS);
	s->tick_round[s->nticks++] = round_of(oi, iv);
}

static void t_reopen(struct out_instance *oi)
{
	((struct seen *)oi->state)->reopens++;
}

static void t_stats(struct out_instance *oi, struct obuf *line)
{
	obuf_printf(line, " test_reopens=%u", ((struct seen *)oi->state)->reopens);
}

static int t_event(struct out_instance *oi, const struct out_event *ev)
{
	struct seen *s = oi->state;
	pthread_mutex_lock(&s->mu);
	if (s->gated) {
		s->entered = 1;
		pthread_cond_broadcast(&s->cv);
		while (!s->open)
			pthread_cond_wait(&s->cv, &s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return enc_event(&s->enc, &s->events, ev);
}

static void t_datagram(struct out_instance *oi, unsigned worker, const struct nt_dgram *d)
{
	struct seen *s = oi->state;
	s->dgram_bytes[worker] += d->len;
}

static const struct out_module table_mod = {
    .conf = {"test_table", NULL},
    .sinks = OUT_SINK_TABLE,
    .write = t_write,
    .tick = t_tick,
    .reopen = t_reopen,
    .stats = t_stats,
};

static const struct out_module event_mod = {
    .conf = {"test_event", NULL},
    .sinks = OUT_SINK_TABLE | OUT_SINK_EVENT,
    .write = t_write,
    .tick = t_tick,
    .write_event = t_event,
};

static void t_service(struct out_instance *oi)
{
	struct seen *s = oi->state;
	atomic_fetch_add(&s->services, 1);
}

static const struct out_module service_mod = {
    .conf = {"test_service", NULL},
    .sinks = OUT_SINK_TABLE,
    .write = t_write,
    .stats = t_stats,
    .service_ms = 20,
    .service = t_service,
};

static const struct out_module dgram_mod = {
    .conf = {"test_tee", NULL},
    .sinks = OUT_SINK_DATAGRAM,
    .datagram = t_datagram,
};

static struct fixture *setup(const struct out_module *mod, unsigned nworkers, unsigned event_queue)
{
	struct fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	logger_init_stderr(&f->lg);
	f->lg.fp = open_memstream(&f->logbuf, &f->loglen);
	assert_non_null(f->lg.fp);
	f->oi.mod = mod;
	f->oi.log = &f->lg;
	f->oi.refresh = 60;
	snprintf(f->oi.component, sizeof f->oi.component, "t/%s", mod->conf.type);
	f->oi.state = &f->seen;
	obuf_init(&f->seen.events, 0);
	assert_int_equal(enc_init(&f->seen.enc, "json", NULL), 0);
	pthread_mutex_init(&f->seen.mu, NULL);
	pthread_cond_init(&f->seen.cv, NULL);
	char err[256];
	struct writer_opts o = {
	    .nworkers = nworkers, .queue_size = 64, .event_queue_size = event_queue};
	assert_int_equal(writer_start_opts(&f->w, &f->oi, &o, err, sizeof err), 0);
	assert_ptr_equal(f->oi.writer, f->w);
	return f;
}

/* Stop the writer (final flush); the fixture stays readable until teardown. */
static void stop(struct fixture *f)
{
	writer_stop(f->w);
	f->w = NULL;
	fflush(f->lg.fp);
}

static void teardown(struct fixture *f)
{
	if (f->w)
		stop(f);
	fclose(f->lg.fp);
	free(f->logbuf);
	obuf_free(&f->seen.events);
	pthread_mutex_destroy(&f->seen.mu);
	pthread_cond_destroy(&f->seen.cv);
	free(f);
}

/* A worker's table: n distinct keys from `first`, one packet each, capped at cap. */
static struct agg_table *table(uint64_t first, unsigned n, uint64_t cap)
{
	struct agg_table *t = malloc(sizeof *t);
	assert_non_null(t);
	assert_int_equal(agg_table_init(t, KL, 16), 0);
	t->max_entries = cap;
	struct agg_counters c = {.packets = 1, .bytes = 100, .flows = 1};
	for (uint64_t id = first; id < first + n; id++) {
		uint8_t key[KL];
		memcpy(key, &id, KL);
		assert_int_equal(agg_table_add(t, key, agg_hash(key, KL), &c), 0);
	}
	return t;
}

static void submit(struct fixture *f, unsigned worker, uint64_t round, uint64_t first, unsigned n)
{
	assert_int_equal(writer_submit(f->w, worker, round, table(first, n, 0)), 0);
}

/* How many writes the module saw for a round. */
static unsigned writes_of(const struct seen *s, uint64_t round)
{
	unsigned n = 0;
	for (unsigned i = 0; i < s->nwrites; i++)
		n += s->write_round[i] == round;
	return n;
}

/* ---- tables ---------------------------------------------------------------- */

static void test_cap_applies_per_worker_not_to_merge(void **state)
{
	(void)state;
	/* two workers, cache_max_entries 10, 10 distinct keys each: all 20 are written */
	struct fixture *f = setup(&table_mod, 2, 0);
	assert_int_equal(writer_submit(f->w, 0, 5, table(0, 10, 10)), 0);
	assert_int_equal(writer_submit(f->w, 1, 5, table(100, 10, 10)), 0);
	writer_sync(f->w);
	assert_int_equal(f->seen.nwrites, 1);
	assert_int_equal(f->seen.write_count[0], 20);
	assert_int_equal(atomic_load(&f->oi.dropped_records), 0);
	teardown(f);
}

static void test_safe_purge_written_at_once(void **state)
{
	(void)state;
	/*
	 * Worker 0's table filled up during round 5: it is written at once, on
	 * its own, marked safe, with no tick; round 5's own write comes when
	 * both workers hand it, holding only what they accounted since.
	 */
	struct fixture *f = setup(&table_mod, 2, 0);
	assert_int_equal(writer_submit_safe(f->w, 0, 5, table(0, 3, 3)), 0);
	writer_sync(f->w);
	assert_int_equal(f->seen.nwrites, 1);
	assert_int_equal(f->seen.write_round[0], 5);
	assert_int_equal(f->seen.write_count[0], 3);
	assert_int_equal(f->seen.write_safe[0], 1);
	assert_int_equal(f->seen.nticks, 0);
	submit(f, 0, 5, 10, 1);
	submit(f, 1, 5, 20, 2);
	writer_sync(f->w);
	assert_int_equal(f->seen.nwrites, 2);
	assert_int_equal(f->seen.write_count[1], 3);
	assert_int_equal(f->seen.write_safe[1], 0);
	assert_int_equal(f->seen.nticks, 1);
	struct writer_stats st;
	writer_get_stats(f->w, &st);
	assert_int_equal(st.safe_purges, 1);
	assert_int_equal(st.rounds_written, 1);
	teardown(f);
}

static void test_repeated_table_merged_into_pending_round(void **state)
{
	(void)state;
	/*
	 * Worker 0 hands round 5 twice (an early timer, then the boundary)
	 * before worker 1's table arrives: still one write of round 5, holding
	 * all three tables, and only once worker 1's table is in.
	 */
	struct fixture *f = setup(&table_mod, 2, 0);
	submit(f, 0, 5, 0, 3);
	submit(f, 0, 5, 10, 2);
	writer_sync(f->w);
	assert_int_equal(f->seen.nwrites, 0); /* worker 1 has not handed round 5 yet */
	submit(f, 1, 5, 20, 4);
	writer_sync(f->w);
	assert_int_equal(f->seen.nwrites, 1);
	assert_int_equal(f->seen.write_round[0], 5);
	assert_int_equal(f->seen.write_count[0], 9);
	stop(f);
	assert_int_equal(writes_of(&f->seen, 5), 1);
	teardown(f);
}

static void test_late_table_folded_into_next_round(void **state)
{
	(void)state;
	/*
	 * Round 5 was written; another table for round 5 arrives (the same
	 * worker handing it again): round 5 is not written again, its entries
	 * are written with round 6.
	 */
	struct fixture *f = setup(&table_mod, 2, 0);
	submit(f, 0, 5, 0, 3);
	submit(f, 1, 5, 10, 3);
	submit(f, 1, 5, 20, 4); /* late */
	submit(f, 0, 6, 30, 1);
	submit(f, 1, 6, 40, 1);
	writer_sync(f->w);
	struct writer_stats st;
	writer_get_stats(f->w, &st);
	assert_int_equal(st.late_tables, 1);
	stop(f);
	assert_int_equal(f->seen.nwrites, 2);
	assert_int_equal(f->seen.write_round[0], 5);
	assert_int_equal(f->seen.write_count[0], 6);
	assert_int_equal(f->seen.write_round[1], 6);
	assert_int_equal(f->seen.write_count[1], 2 + 4); /* the late entries are kept */
	assert_non_null(strstr(f->logbuf, "table of round 5 (4 entries) arrived after"));
	teardown(f);
}

static void test_incomplete_older_round_written_once(void **state)
{
	(void)state;
	/*
	 * Round 6 completes while round 5 still waits for worker 1: round 5 is
	 * written with what it has, then round 6.  Worker 1's round-5 table
	 * arriving afterwards does not write round 5 a second time; it goes to
	 * the next round (here the final flush).
	 */
	struct fixture *f = setup(&table_mod, 2, 0);
	submit(f, 0, 5, 0, 2);
	submit(f, 0, 6, 10, 1);
	submit(f, 1, 6, 20, 1);
	writer_sync(f->w);
	assert_int_equal(f->seen.nwrites, 2);
	assert_int_equal(f->seen.write_round[0], 5);
	assert_int_equal(f->seen.write_round[1], 6);
	submit(f, 1, 5, 30, 5);
	stop(f);
	assert_int_equal(writes_of(&f->seen, 5), 1);
	assert_int_equal(writes_of(&f->seen, 6), 1);
	assert_int_equal(f->seen.nwrites, 3);
	assert_int_equal(f->seen.write_round[2], 7);
	assert_int_equal(f->seen.write_count[2], 5);
	assert_true(f->seen.write_final[2]);
	teardown(f);
}

static void test_rounds_in_order_when_pending_overflows(void **state)
{
	(void)state;
	/*
	 * Worker 1 is silent: worker 0's rounds pile up until the oldest must be
	 * written to make room.  Whatever arrives, each round is written once
	 * and rounds are written in order.
	 */
	struct fixture *f = setup(&table_mod, 2, 0);
	for (uint64_t r = 10; r < 16; r++)
		submit(f, 0, r, r * 100, 1);
	submit(f, 1, 10, 5000, 1); /* written already: late */
	submit(f, 1, 3, 6000, 1);  /* older than anything written: late */
	stop(f);
	for (uint64_t r = 10; r < 16; r++)
		assert_int_equal(writes_of(&f->seen, r), 1);
	assert_int_equal(f->seen.nwrites, 6);
	uint64_t total = 0;
	for (unsigned i = 0; i < f->seen.nwrites; i++) {
		if (i)
			assert_true(f->seen.write_round[i] > f->seen.write_round[i - 1]);
		total += f->seen.write_packets[i];
	}
	assert_int_equal(total, 8); /* nothing lost */
	teardown(f);
}

/* ---- hooks ----------------------------------------------------------------- */

static void test_tick_even_when_empty(void **state)
{
	(void)state;
	struct fixture *f = setup(&table_mod, 2, 0);
	submit(f, 0, 7, 0, 0);
	submit(f, 1, 7, 0, 0);
	writer_sync(f->w);
	assert_int_equal(f->seen.nwrites, 1);
	assert_int_equal(f->seen.write_count[0], 0);
	assert_int_equal(f->seen.nticks, 1);
	assert_int_equal(f->seen.tick_round[0], 7);
	teardown(f);
}

static void test_reopen_and_stats_served_by_writer(void **state)
{
	(void)state;
	struct fixture *f = setup(&table_mod, 1, 0);
	writer_request_reopen(f->w);
	writer_sync(f->w);
	assert_int_equal(f->seen.reopens, 1);
	submit(f, 0, 5, 0, 3);
	writer_sync(f->w);
	/* the output's counters: formatted on any thread, never waiting for the writer */
	struct obuf b;
	obuf_init(&b, 0);
	assert_int_equal(writer_format_stats(f->w, &b), 0);
	assert_non_null(strstr(b.data, "stats output written_entries=3 "));
	assert_non_null(strstr(b.data, "late_tables=0 "));
	obuf_free(&b);
	/* the module's own, from its hook on the writer thread */
	writer_request_stats(f->w);
	writer_sync(f->w);
	fflush(f->lg.fp);
	const char *line = strstr(f->logbuf, "stats module");
	assert_non_null(line);
	assert_non_null(strstr(line, " test_reopens=1\n"));
	teardown(f);
}

static void test_service_runs_on_its_deadline_under_wakeups(void **state)
{
	(void)state;
	/*
	 * Wake the writer every millisecond (stats requests): a service hook
	 * due every 20 ms must still run, not wait for a quiet 20 ms that
	 * never comes.
	 */
	struct fixture *f = setup(&service_mod, 1, 0);
	struct timespec ms = {0, 1000000};
	for (int i = 0; i < 5000 && atomic_load(&f->seen.services) < 3; i++) {
		writer_request_stats(f->w);
		nanosleep(&ms, NULL);
	}
	assert_true(atomic_load(&f->seen.services) >= 3);
	teardown(f);
}

/* ---- event streams ---------------------------------------------------------- */

static struct out_event *counters_event(uint32_t ifindex, const char *name)
{
	struct out_event *ev = out_event_new("sflow_counters");
	assert_non_null(ev);
	struct nt_addr a = {.family = 4, .a = {192, 0, 2, 1}};
	assert_int_equal(out_event_add_addr(ev, "peer_ip_src", &a), 0);
	assert_int_equal(out_event_add_uint(ev, "ifIndex", ifindex), 0);
	assert_int_equal(out_event_add_str(ev, "ifName", name), 0);
	assert_int_equal(out_event_add_null(ev, "ifAlias"), 0);
	return ev;
}

struct submitter {
	struct writer *w;
	int rc;
};

/* Events come from worker threads: submit from another thread than the test's. */
static void *submit_from_thread(void *arg)
{
	struct submitter *s = arg;
	s->rc = writer_submit_event(s->w, counters_event(3, "eth\"0"));
	return NULL;
}

static void test_events_written_through_encoder(void **state)
{
	(void)state;
	struct fixture *f = setup(&event_mod, 1, 0);
	struct submitter s = {f->w, -2};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, submit_from_thread, &s), 0);
	pthread_join(th, NULL);
	assert_int_equal(s.rc, 0);
	writer_sync(f->w);
	assert_string_equal(f->seen.events.data,
			    "{\"event_type\": \"sflow_counters\", \"peer_ip_src\": \"192.0.2.1\", "
			    "\"ifIndex\": 3, \"ifName\": \"eth\\\"0\", \"ifAlias\": null}\n");
	/* the same record as CSV, with its header */
	struct encoder csv;
	struct obuf b;
	obuf_init(&b, 0);
	assert_int_equal(enc_init(&csv, "csv", ","), 0);
	struct out_event *ev = counters_event(4, "a,b");
	assert_int_equal(enc_event_header(&csv, &b, ev), 0);
	assert_int_equal(enc_event(&csv, &b, ev), 0);
	assert_string_equal(b.data, "peer_ip_src,ifIndex,ifName,ifAlias\n192.0.2.1,4,\"a,b\",\n");
	out_event_free(ev);
	obuf_free(&b);
	teardown(f);
}

static void test_event_queue_full_drops_and_counts(void **state)
{
	(void)state;
	struct fixture *f = setup(&event_mod, 1, 2);
	f->seen.gated = 1;
	assert_int_equal(writer_submit_event(f->w, counters_event(1, "a")), 0);
	/* wait until the writer holds event 1 in write_event(): the queue is empty */
	pthread_mutex_lock(&f->seen.mu);
	while (!f->seen.entered)
		pthread_cond_wait(&f->seen.cv, &f->seen.mu);
	pthread_mutex_unlock(&f->seen.mu);
	assert_int_equal(writer_submit_event(f->w, counters_event(2, "b")), 0);
	assert_int_equal(writer_submit_event(f->w, counters_event(3, "c")), 0);
	assert_int_equal(writer_submit_event(f->w, counters_event(4, "d")), -1); /* full */
	pthread_mutex_lock(&f->seen.mu);
	f->seen.open = 1;
	pthread_cond_broadcast(&f->seen.cv);
	pthread_mutex_unlock(&f->seen.mu);
	writer_sync(f->w);
	struct writer_stats st;
	writer_get_stats(f->w, &st);
	assert_int_equal(st.events_written, 3);
	assert_int_equal(st.events_dropped, 1);
	assert_null(strstr(f->seen.events.data, "\"ifIndex\": 4"));
	teardown(f);
}

static void test_event_refused_by_table_only_module(void **state)
{
	(void)state;
	struct fixture *f = setup(&table_mod, 1, 0);
	assert_int_equal(writer_submit_event(f->w, counters_event(1, "a")), -1);
	struct writer_stats st;
	writer_get_stats(f->w, &st);
	assert_int_equal(st.events_dropped, 1);
	teardown(f);
}

static void test_event_full_is_truncated_not_broken(void **state)
{
	(void)state;
	struct out_event *ev = out_event_new("big");
	assert_non_null(ev);
	for (unsigned i = 0; i < OUT_EVENT_FIELDS_MAX; i++)
		assert_int_equal(out_event_add_uint(ev, "n", i), 0);
	assert_int_equal(out_event_add_uint(ev, "one_too_many", 1), -1);
	assert_true(ev->truncated);
	assert_int_equal(ev->n, OUT_EVENT_FIELDS_MAX);
	out_event_free(ev);
}

/* ---- raw datagrams ---------------------------------------------------------- */

static void test_datagram_sink(void **state)
{
	(void)state;
	struct out_instance oi;
	struct seen s;
	memset(&oi, 0, sizeof oi);
	memset(&s, 0, sizeof s);
	oi.mod = &dgram_mod;
	oi.state = &s;
	oi.nworkers = 2;
	assert_true(out_takes(&oi, OUT_SINK_DATAGRAM));
	assert_false(out_takes(&oi, OUT_SINK_TABLE));
	static const uint8_t payload[100] = {0, 5};
	struct nt_dgram d = {.buf = payload, .len = sizeof payload, .src_port = 2055};
	out_datagram(&oi, 1, &d);
	out_datagram(&oi, 1, &d);
	out_datagram(&oi, 0, &d);
	assert_int_equal(s.dgram_bytes[0], 100);
	assert_int_equal(s.dgram_bytes[1], 200);

	/* print takes aggregated tables only; a module that declares nothing, too */
	oi.mod = &out_print_module;
	assert_true(out_takes(&oi, OUT_SINK_TABLE));
	assert_false(out_takes(&oi, OUT_SINK_DATAGRAM));
	assert_false(out_takes(&oi, OUT_SINK_EVENT));
	static const struct out_module bare = {.conf = {"bare", NULL}};
	oi.mod = &bare;
	assert_true(out_takes(&oi, OUT_SINK_TABLE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cap_applies_per_worker_not_to_merge),
	    cmocka_unit_test(test_safe_purge_written_at_once),
	    cmocka_unit_test(test_repeated_table_merged_into_pending_round),
	    cmocka_unit_test(test_late_table_folded_into_next_round),
	    cmocka_unit_test(test_incomplete_older_round_written_once),
	    cmocka_unit_test(test_rounds_in_order_when_pending_overflows),
	    cmocka_unit_test(test_tick_even_when_empty),
	    cmocka_unit_test(test_reopen_and_stats_served_by_writer),
	    cmocka_unit_test(test_service_runs_on_its_deadline_under_wakeups),
	    cmocka_unit_test(test_events_written_through_encoder),
	    cmocka_unit_test(test_event_queue_full_drops_and_counts),
	    cmocka_unit_test(test_event_refused_by_table_only_module),
	    cmocka_unit_test(test_event_full_is_truncated_not_broken),
	    cmocka_unit_test(test_datagram_sink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
