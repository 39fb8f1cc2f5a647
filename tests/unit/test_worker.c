/*
 * A worker driven through the input interface with a test input module and
 * a test output module: datagrams reach the module's handler, malformed
 * verdicts are counted, raw-datagram sinks see each datagram before it is
 * decoded, records reach the output at stop, and with a capture file the
 * packets' timestamps close the refresh rounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agg/stages.h"
#include "conf/keys.h"
#include "out/output.h"
#include "out/writer.h"
#include "reactor/capture.h"
#include "reactor/daemon.h"
#include "reactor/loop.h"
#include "reactor/worker.h"

#define MAX_SEEN 64

/* What the test modules saw; the modules reach it through this one pointer. */
struct seen {
	unsigned decoded;		    /* datagrams the input decoded */
	unsigned sink_calls;		    /* raw-datagram sink calls */
	unsigned decoded_at_sink[MAX_SEEN]; /* `decoded` when the sink saw datagram i */
	unsigned writes;
	time_t end[MAX_SEEN]; /* each write's interval end */
	uint64_t packets[MAX_SEEN];
};
static struct seen *seen;

/* ---- a datagram input: 'M' first byte = malformed, else one record ---- */

struct probe {
	struct flow_rec rec;
};

static void probe_endpoint(const struct conf *c, struct input_endpoint *ep)
{
	(void)c;
	ep->ip = "127.0.0.1";
	ep->port = 0; /* any free port: the test never sends to it */
}

static int probe_create(struct worker *w, void **state, char *err, size_t errlen)
{
	(void)w;
	(void)err;
	(void)errlen;
	*state = calloc(1, sizeof(struct probe));
	return *state ? 0 : -1;
}

static void probe_destroy(void *state)
{
	free(state);
}

static enum input_verdict probe_datagram(void *state, struct worker *w, const struct nt_dgram *d)
{
	struct probe *p = state;
	if (d->len && d->buf[0] == 'M')
		return INPUT_MALFORMED;
	seen->decoded++;
	flow_rec_clear(&p->rec);
	p->rec.src_addr = d->src;
	FR_SET(&p->rec, FR_SRC_ADDR);
	p->rec.packets = 1;
	p->rec.bytes = d->len;
	worker_account(w, &p->rec);
	return INPUT_OK;
}

static const struct input_module probe_input = {
    .name = "probe",
    .proto = "udp",
    .kind = INPUT_DATAGRAM,
    .endpoint = probe_endpoint,
    .create = probe_create,
    .destroy = probe_destroy,
    .datagram = probe_datagram,
};

/* ---- an output taking tables and raw datagrams ---- */

static int spy_open(struct out_instance *oi, char *err, size_t errlen)
{
	(void)oi;
	(void)err;
	(void)errlen;
	return 0;
}

static int spy_write(struct out_instance *oi, const struct agg_table *t,
		     const struct out_interval *iv)
{
	(void)oi;
	uint64_t pos = 0, packets = 0;
	const struct agg_entry *e;
	while ((e = agg_table_next(t, &pos)))
		packets += e->c.packets;
	if (seen->writes < MAX_SEEN) {
		seen->end[seen->writes] = iv->end;
		seen->packets[seen->writes] = packets;
	}
	seen->writes++;
	return 0;
}

static void spy_datagram(struct out_instance *oi, unsigned worker, const struct nt_dgram *d)
{
	(void)oi;
	(void)worker;
	(void)d;
	if (seen->sink_calls < MAX_SEEN)
		seen->decoded_at_sink[seen->sink_calls] = seen->decoded;
	seen->sink_calls++;
}

static void spy_close(struct out_instance *oi)
{
	(void)oi;
}

static const struct out_module spy_output = {
    .conf = {"spy", NULL},
    .sinks = OUT_SINK_TABLE | OUT_SINK_DATAGRAM,
    .open = spy_open,
    .write = spy_write,
    .datagram = spy_datagram,
    .close = spy_close,
};

/* ---- fixture ---- */

struct fixture {
	struct daemon_desc desc;
	struct daemon_ctx ctx;
	struct worker w;
	struct seen seen;
};

static struct fixture *setup(const char *extra_conf)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[512];
	assert_non_null(f);
	seen = &f->seen;
	f->desc = (struct daemon_desc){"testd", D_NFACCTD, &probe_input, &out_schema_nfacctd};
	struct daemon_ctx *ctx = &f->ctx;
	ctx->desc = &f->desc;
	ctx->d = (struct conf_daemon){D_NFACCTD, "testd"};
	logger_init_stderr(&ctx->log);
	conf_init(&ctx->conf, f->desc.schema);
	if (conf_load_string(&ctx->conf, &ctx->d, "test",
			     extra_conf ? extra_conf : "reactor_workers: 1\n", err,
			     sizeof err) < 0 ||
	    conf_finish(&ctx->conf, &ctx->d, err, sizeof err) < 0) {
		print_error("%s\n", err);
		fail();
	}
	assert_int_equal(nt_loop_threads(), 0);
	/* one output of the spy type, refresh 60 s */
	struct out_instance *oi = &ctx->out[0];
	oi->conf = &ctx->conf.plugin[0];
	oi->mod = &spy_output;
	oi->log = &ctx->log;
	oi->refresh = 60;
	oi->cache_entries = 64;
	oi->nworkers = 1;
	snprintf(oi->component, sizeof oi->component, "t/spy");
	assert_int_equal(keyspec_build(&oi->ks, "src_host", NULL, NULL, err, sizeof err), 0);
	ctx->nout = 1;
	ctx->nworkers = 1;
	maps_init(&ctx->maps, NULL, NULL);
	pipeline_init(&ctx->pipe, &ctx->maps);
	assert_int_equal(writer_start(&oi->writer, oi, 1, 8, err, sizeof err), 0);
	if (worker_init(&f->w, ctx, 0, err, sizeof err) < 0) {
		print_error("worker_init: %s\n", err);
		fail();
	}
	return f;
}

/* Stop the worker the way the daemon does (its own loop serves the request), then the writer. */
static void stop(struct fixture *f)
{
	worker_request_stop(&f->w);
	assert_int_equal(nt_loop_run(f->w.loop), 0);
	writer_stop(f->ctx.out[0].writer);
	f->ctx.out[0].writer = NULL;
}

static void teardown(struct fixture *f)
{
	worker_free(&f->w);
	maps_free(&f->ctx.maps);
	conf_free(&f->ctx.conf);
	logger_close(&f->ctx.log);
	seen = NULL;
	free(f);
}

static struct nt_dgram dgram(const char *text, uint8_t last_octet, nt_usec arrival)
{
	struct nt_dgram d = {.buf = (const uint8_t *)text, .len = strlen(text), .arrival = arrival};
	d.src.family = 4;
	d.src.a[0] = 192;
	d.src.a[1] = 0;
	d.src.a[2] = 2;
	d.src.a[3] = last_octet;
	return d;
}

static void test_datagrams_reach_the_module_and_the_output(void **state)
{
	(void)state;
	struct fixture *f = setup(NULL);
	static const char *const payload[] = {"abc", "M-bad", "defg", "hi", "M"};
	worker_batch_begin(&f->w);
	for (unsigned i = 0; i < 5; i++) {
		struct nt_dgram d = dgram(payload[i], (uint8_t)(1 + i % 2), 1000000u);
		worker_deliver(&f->w, &d);
	}
	worker_batch_end(&f->w);
	assert_int_equal(f->w.st.datagrams, 5);
	assert_int_equal(f->w.st.malformed, 2);
	assert_int_equal(f->w.st.records, 3);
	/* the raw-datagram sink saw every datagram, each before it was decoded */
	assert_int_equal(f->seen.sink_calls, 5);
	static const unsigned decoded_before[] = {0, 1, 1, 2, 3};
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(f->seen.decoded_at_sink[i], decoded_before[i]);
	stop(f);
	/* one write at stop, holding every record */
	assert_int_equal(f->seen.writes, 1);
	assert_int_equal(f->seen.packets[0], 3);
	teardown(f);
}

/*
 * With pcap_savefile the capture's time is the clock: a round closes when a
 * packet crosses its boundary (not on a timer), once, and a replay that
 * starts over in time keeps accounting into the round in progress.
 */
static void test_capture_clock_closes_rounds(void **state)
{
	(void)state;
	if (!capture_supported())
		skip();
	char conf[1024];
	snprintf(conf, sizeof conf,
		 "reactor_workers: 1\npcap_savefile: %s/100-IPFIXv10-CISCO/traffic-00.pcap\n"
		 "pcap_savefile_delay: 86400\n",
		 FIXTURES_DIR);
	struct fixture *f = setup(conf);
	/* seconds since the epoch; refresh 60: boundaries at 1020, 1080, 1140 */
	static const double at[] = {1000.5, 1019.9, 1020.0, 1050, 1010 /* replay */, 1100, 1101};
	worker_batch_begin(&f->w);
	for (unsigned i = 0; i < sizeof at / sizeof at[0]; i++) {
		struct nt_dgram d = dgram("x", 1, (nt_usec)(at[i] * 1e6));
		worker_deliver(&f->w, &d);
	}
	worker_batch_end(&f->w);
	stop(f);
	assert_int_equal(f->seen.writes, 3);
	/* [960,1020): 1000.5, 1019.9 */
	assert_int_equal(f->seen.end[0], 1020);
	assert_int_equal(f->seen.packets[0], 2);
	/* [1020,1080): 1020.0, 1050 and the replayed 1010 */
	assert_int_equal(f->seen.end[1], 1080);
	assert_int_equal(f->seen.packets[1], 3);
	/* the interval in progress at stop: 1100, 1101 */
	assert_int_equal(f->seen.end[2], 1140);
	assert_int_equal(f->seen.packets[2], 2);
	teardown(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_datagrams_reach_the_module_and_the_output),
	    cmocka_unit_test(test_capture_clock_closes_rounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
