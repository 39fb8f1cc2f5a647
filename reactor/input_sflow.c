/*
 * The sFlow input: proto/sflow.c's collector behind the input interface.
 * Per worker: the agents it has heard from, their rate-limited malformation
 * logs and stats lines.  Daemon-wide: the counter file's writer
 * (sfacctd_counter_file), an event-stream output on a thread of its own, so
 * that a worker turns a counter record into an event and queues it, and
 * never waits for the disk.
 */
#include "reactor/input_sflow.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "out/event.h"
#include "out/sflow_counters.h"
#include "out/writer.h"
#include "proto/sflow.h"
#include "reactor/daemon.h"
#include "reactor/worker.h"

/* Daemon-wide: the counter file output, when configured. */
struct sf_global {
	struct out_instance oi;
	struct conf_plugin pc;
	struct writer *w;
	atomic_uint_fast64_t seq; /* the "seq" of counter lines, across workers */
};

struct sf_input {
	struct sf_collector sf;
	struct worker *w;
	struct sf_global *g;
	uint64_t refused;
	uint64_t refused_logged_minute;
	uint64_t early_logged_minute;
	uint64_t counter_events, counter_drops;
};

static void endpoint(const struct conf *c, struct input_endpoint *ep)
{
	ep->ip = c->sfacctd_ip;
	ep->port = c->sfacctd_port;
	ep->rcvbuf = c->sfacctd_pipe_size;
}

static int global_init(struct daemon_ctx *ctx, void **global, char *err, size_t errlen)
{
	const char *path = ctx->conf.sfacctd_counter_file;
	*global = NULL;
	if (!path || !*path)
		return 0;
	struct sf_global *g = calloc(1, sizeof *g);
	if (!g) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(g->pc.name, sizeof g->pc.name, "sfacctd_counter_file");
	snprintf(g->pc.type, sizeof g->pc.type, "json");
	g->oi.conf = &g->pc;
	g->oi.mod = &out_sflow_counters_module;
	g->oi.log = &ctx->log;
	snprintf(g->oi.component, sizeof g->oi.component, "%s", "sfacctd_counter_file");
	g->oi.state = (void *)path; /* the module's open() takes the template from here */
	if (g->oi.mod->open(&g->oi, err, errlen) < 0) {
		free(g);
		return -1;
	}
	/* the writer thread must not take the daemon's signals: main serves them */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = writer_start(&g->w, &g->oi, 1, 0, err, errlen);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		g->oi.mod->close(&g->oi);
		free(g);
		return -1;
	}
	*global = g;
	return 0;
}

static void global_free(void *global)
{
	struct sf_global *g = global;
	if (!g)
		return;
	/* the workers are gone: every queued counter line is written before exit */
	writer_stop(g->w);
	g->oi.mod->close(&g->oi);
	free(g);
}

/* A counter record of a counter sample: one event, queued to the counter file's writer. */
static void on_counters(void *arg, const struct sf_counters *k)
{
	struct sf_input *in = arg;
	struct sf_global *g = in->g;
	char ts[64];
	if (!g)
		return;
	time_t secs = (time_t)(in->w->now_usec / 1000000u);
	struct tm tm;
	localtime_r(&secs, &tm);
	size_t n = strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(ts + n, sizeof ts - n, ".%06u", (unsigned)(in->w->now_usec % 1000000u));
	/* an agent's first counters start its log with a log_init line, as pmacct's */
	if (!k->agent->counters_seen) {
		struct out_event *init = out_event_new("log_init");
		k->agent->counters_seen = 1;
		if (init) {
			out_event_add_uint(init, "seq", atomic_fetch_add(&g->seq, 1));
			out_event_add_str(init, "timestamp", ts);
			out_event_add_addr(init, "peer_src_ip", &k->agent->addr);
		}
		if (!init || writer_submit_event(g->w, init) < 0)
			in->counter_drops++;
	}
	struct out_event *ev = out_event_new("log");
	if (!ev) {
		in->counter_drops++;
		return;
	}

	out_event_add_uint(ev, "seq", atomic_fetch_add(&g->seq, 1));
	out_event_add_str(ev, "timestamp", ts);
	out_event_add_addr(ev, "peer_ip_src", &k->agent->addr);
	out_event_add_uint(ev, "sflow_sub_agent_id", k->agent->sub_id);
	out_event_add_uint(ev, "source_id_type", k->source_type);
	out_event_add_uint(ev, "source_id_index", k->source_index);
	out_event_add_uint(ev, "sflow_seq", k->dgram_seq);
	out_event_add_uint(ev, "sflow_cnt_seq", k->sample_seq);
	out_event_add_str(ev, "sf_cnt_type", k->type_name);
	for (unsigned i = 0; i < k->n; i++)
		out_event_add_uint(ev, k->names[i], k->v[i]);
	if (writer_submit_event(g->w, ev) < 0)
		in->counter_drops++;
	else
		in->counter_events++;
}

static int create(struct worker *w, void **state, char *err, size_t errlen)
{
	struct daemon_ctx *ctx = w->ctx;
	const struct conf *c = &ctx->conf;
	struct sf_input *in = calloc(1, sizeof *in);
	if (!in) {
		snprintf(err, errlen, "worker %u: out of memory", w->id);
		return -1;
	}
	in->w = w;
	in->g = ctx->input_global;
	struct sf_options opt = {
	    .max_agents = (size_t)c->sfacctd_max_agents,
	    .ext_sampling_rate = (uint32_t)c->sfacctd_ext_sampling_rate,
	};
	/* flow samples go straight to the worker's record sink: no hop per record */
	if (sf_collector_init(&in->sf, &opt, worker_record_sink(w), w, on_counters, in) < 0) {
		free(in);
		snprintf(err, errlen, "worker %u: out of memory", w->id);
		return -1;
	}
	*state = in;
	return 0;
}

static void destroy(void *state)
{
	struct sf_input *in = state;
	sf_collector_free(&in->sf);
	free(in);
}

/* Malformed input: counted always, logged at most log_rate_limit times a minute per agent. */
static void log_agent_error(struct sf_input *in, struct sf_agent *a, enum sf_err e,
			    const struct nt_dgram *d)
{
	struct worker *w = in->w;
	char addr[64], src[64];
	enum log_budget b = log_budget_take(&a->log_window, &a->log_lines, w->now_usec,
					    (unsigned)w->ctx->conf.log_rate_limit);
	if (b == LOG_BUDGET_QUIET)
		return;
	nt_addr_to_text(&a->addr, addr, sizeof addr);
	nt_addr_to_text(&d->src, src, sizeof src);
	if (b == LOG_BUDGET_LAST)
		nt_log(&w->ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
		       "agent %s/%u: more malformed datagrams, suppressing messages for this "
		       "minute (counters keep counting)",
		       addr, a->sub_id);
	else
		nt_log(&w->ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
		       "agent %s/%u (from %s): malformed datagram (%zu bytes): %s", addr, a->sub_id,
		       src, d->len, sf_err_name(e));
}

/* Datagrams whose header is unreadable have no agent: logged once a minute per worker. */
static void log_early_error(struct sf_input *in, enum sf_err e, const struct nt_dgram *d)
{
	struct worker *w = in->w;
	char src[64];
	if (!log_once_a_minute(&in->early_logged_minute, w->now_usec))
		return;
	nt_addr_to_text(&d->src, src, sizeof src);
	nt_log(&w->ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
	       "worker %u: datagram from %s (%zu bytes) is not sFlow: %s (%llu so far; logged "
	       "once a minute)",
	       w->id, src, d->len, sf_err_name(e), (unsigned long long)in->sf.early[e]);
}

static void refused(struct sf_input *in, const struct nt_addr *src)
{
	struct worker *w = in->w;
	in->refused++;
	if (!log_once_a_minute(&in->refused_logged_minute, w->now_usec))
		return;
	char addr[64];
	nt_addr_to_text(src, addr, sizeof addr);
	nt_log(&w->ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
	       "worker %u: datagram from %s dropped: %s (%llu so far; logged once a minute)", w->id,
	       addr,
	       in->sf.opt.max_agents && in->sf.nagents >= in->sf.opt.max_agents
		   ? "sfacctd_max_agents reached"
		   : "out of memory",
	       (unsigned long long)in->refused);
}

static enum input_verdict datagram(void *state, struct worker *w, const struct nt_dgram *d)
{
	struct sf_input *in = state;
	struct sf_agent *a;
	(void)w;
	enum sf_err e = sf_decode(&in->sf, d->buf, d->len, d->arrival, &a);
	if (e == SF_OK) {
		if (a)
			return INPUT_OK;
		refused(in, &d->src);
		return INPUT_REFUSED;
	}
	if (a)
		log_agent_error(in, a, e, d);
	else
		log_early_error(in, e, d);
	return INPUT_MALFORMED;
}

static size_t sources(void *state)
{
	struct sf_input *in = state;
	return in->sf.nagents;
}

static void stats(void *state, struct worker *w, char *extra, size_t extralen)
{
	struct sf_input *in = state;
	char early[512];
	size_t n = 0;
	(void)w;
	early[0] = '\0';
	for (int e = SF_ERR_SHORT; e <= SF_ERR_ADDRESS && n < sizeof early; e++)
		n += (size_t)snprintf(early + n, sizeof early - n, " %s=%llu", sf_err_name(e),
				      (unsigned long long)in->sf.early[e]);
	/* what the packet decoder made of the raw headers */
	for (int r = 0; r < PKT__COUNT && n < sizeof early; r++)
		n += (size_t)snprintf(early + n, sizeof early - n, " header_%s=%llu",
				      pkt_reason_name(r), (unsigned long long)in->sf.pkt.n[r]);
	snprintf(extra, extralen, " refused=%llu counter_events=%llu counter_drops=%llu%s",
		 (unsigned long long)in->refused, (unsigned long long)in->counter_events,
		 (unsigned long long)in->counter_drops, early);
}

static void log_agent(void *arg, struct sf_agent *a)
{
	struct sf_input *in = arg;
	char addr[64], errs[512];
	size_t n = 0;
	nt_addr_to_text(&a->addr, addr, sizeof addr);
	errs[0] = '\0';
	for (int e = 1; e < SF_ERR__COUNT && n < sizeof errs; e++)
		n += (size_t)snprintf(errs + n, sizeof errs - n, " %s=%llu", sf_err_name(e),
				      (unsigned long long)a->st.err[e]);
	nt_log(&in->w->ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
	       "stats worker=%u agent=%s sub_agent=%u datagrams=%llu flow_samples=%llu "
	       "counter_samples=%llu skipped=%llu seq_gaps=%llu lost_datagrams=%llu "
	       "seq_resets=%llu%s",
	       in->w->id, addr, a->sub_id, (unsigned long long)a->st.datagrams,
	       (unsigned long long)a->st.flow_samples, (unsigned long long)a->st.counter_samples,
	       (unsigned long long)a->st.skipped, (unsigned long long)a->st.seq_gaps,
	       (unsigned long long)a->st.lost_datagrams, (unsigned long long)a->st.seq_resets,
	       errs);
}

static void stats_sources(void *state, struct worker *w)
{
	struct sf_input *in = state;
	(void)w;
	sf_collector_foreach(&in->sf, log_agent, in);
}

const struct input_module input_sflow = {
    .name = "sFlow",
    .proto = "udp",
    .kind = INPUT_DATAGRAM,
    .endpoint = endpoint,
    .global_init = global_init,
    .global_free = global_free,
    .create = create,
    .destroy = destroy,
    .datagram = datagram,
    .sources = sources,
    .stats = stats,
    .stats_sources = stats_sources,
};
