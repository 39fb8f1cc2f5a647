#include "reactor/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf/keys.h"
#include "out/buf.h"
#include "out/writer.h"
#include "reactor/daemon.h"
#include "reactor/loop.h"
#include "reactor/metrics_http.h"
#include "reactor/worker.h"

/* ---- snapshots ---- */

void mx_snap_init(struct mx_snap *s)
{
	memset(s, 0, sizeof *s);
}

void mx_snap_reset(struct mx_snap *s)
{
	s->n = 0;
	s->failed = 0;
}

void mx_snap_free(struct mx_snap *s)
{
	free(s->s);
	mx_snap_init(s);
}

int mx_put(struct mx_snap *s, const struct mx_family *f, uint64_t value, unsigned nlabels, ...)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct mx_sample *p = realloc(s->s, cap * sizeof *p);
		if (!p) {
			s->failed = 1;
			return -1;
		}
		s->s = p;
		s->cap = cap;
	}
	struct mx_sample *x = &s->s[s->n++];
	va_list ap;
	x->f = f;
	x->value = value;
	x->nlabels = nlabels < MX_MAX_LABELS ? nlabels : MX_MAX_LABELS;
	va_start(ap, nlabels);
	for (unsigned i = 0; i < x->nlabels; i++) {
		x->l[i].key = va_arg(ap, const char *);
		snprintf(x->l[i].value, sizeof x->l[i].value, "%s", va_arg(ap, const char *));
	}
	va_end(ap);
	return 0;
}

/* ---- rendering ---- */

#define MAX_FAMILIES 256

/* The distinct families in order of first appearance. */
static size_t families(const struct mx_snap *const *snaps, size_t nsnaps,
		       const struct mx_family **fam)
{
	size_t nf = 0;
	for (size_t i = 0; i < nsnaps; i++)
		for (size_t j = 0; j < snaps[i]->n; j++) {
			const struct mx_family *f = snaps[i]->s[j].f;
			size_t k = 0;
			while (k < nf && fam[k] != f)
				k++;
			if (k == nf && nf < MAX_FAMILIES)
				fam[nf++] = f;
		}
	return nf;
}

/* Escape a label value: backslash, double quote and newline (both formats agree). */
static void put_escaped(struct obuf *o, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			obuf_putc(o, '\\'), obuf_putc(o, *v);
		else if (*v == '\n')
			obuf_puts(o, "\\n");
		else if ((unsigned char)*v < 0x20)
			obuf_printf(o, "\\u%04x", (unsigned)(unsigned char)*v);
		else
			obuf_putc(o, *v);
	}
}

static void put_value(struct obuf *o, const struct mx_sample *x)
{
	if (x->f->usec)
		obuf_printf(o, "%llu.%06llu", (unsigned long long)(x->value / 1000000u),
			    (unsigned long long)(x->value % 1000000u));
	else
		obuf_printf(o, "%llu", (unsigned long long)x->value);
}

int mx_render_prometheus(struct obuf *o, const struct mx_snap *const *snaps, size_t nsnaps)
{
	const struct mx_family *fam[MAX_FAMILIES];
	size_t nf = families(snaps, nsnaps, fam);
	for (size_t k = 0; k < nf; k++) {
		const struct mx_family *f = fam[k];
		obuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
			    f->type == MX_COUNTER ? "counter" : "gauge");
		for (size_t i = 0; i < nsnaps; i++)
			for (size_t j = 0; j < snaps[i]->n; j++) {
				const struct mx_sample *x = &snaps[i]->s[j];
				if (x->f != f)
					continue;
				obuf_puts(o, f->name);
				for (unsigned l = 0; l < x->nlabels; l++) {
					obuf_printf(o, "%c%s=\"", l ? ',' : '{', x->l[l].key);
					put_escaped(o, x->l[l].value);
					obuf_putc(o, '"');
				}
				obuf_puts(o, x->nlabels ? "} " : " ");
				put_value(o, x);
				obuf_putc(o, '\n');
			}
	}
	return obuf_status(o);
}

int mx_render_json(struct obuf *o, const struct mx_snap *const *snaps, size_t nsnaps,
		   int64_t timestamp)
{
	const struct mx_family *fam[MAX_FAMILIES];
	size_t nf = families(snaps, nsnaps, fam);
	obuf_printf(o, "{\"timestamp\": %lld, \"metrics\": {", (long long)timestamp);
	for (size_t k = 0; k < nf; k++) {
		const struct mx_family *f = fam[k];
		int first = 1;
		obuf_printf(o, "%s\n  \"%s\": [", k ? "," : "", f->name);
		for (size_t i = 0; i < nsnaps; i++)
			for (size_t j = 0; j < snaps[i]->n; j++) {
				const struct mx_sample *x = &snaps[i]->s[j];
				if (x->f != f)
					continue;
				obuf_puts(o,
					  first ? "\n    {\"labels\": {" : ",\n    {\"labels\": {");
				first = 0;
				for (unsigned l = 0; l < x->nlabels; l++) {
					obuf_printf(o, "%s\"%s\": \"", l ? ", " : "", x->l[l].key);
					put_escaped(o, x->l[l].value);
					obuf_putc(o, '"');
				}
				obuf_puts(o, "}, \"value\": ");
				put_value(o, x);
				obuf_putc(o, '}');
			}
		obuf_puts(o, "]");
	}
	obuf_puts(o, "\n}}\n");
	return obuf_status(o);
}

int mx_write_file(const char *path, const char *data, size_t len, char *err, size_t errlen)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	/* readers see the old file or the new one, never a partial one */
	if (fsync(fd) < 0 || close(fd) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* ---- the daemon's endpoint and stats file ---- */

struct metrics {
	struct daemon_ctx *ctx;
	struct mx_http *http;
	struct nt_ev *ev_collected; /* the last worker published its snapshot */
	struct nt_ev *ev_file;	    /* stats_file timer */
	atomic_uint pending;	    /* workers yet to publish */
	int collecting;
	int want_file; /* the collection in progress ends with a stats_file write */
	struct mx_http_req **waiting;
	size_t nwaiting, capwaiting;
	struct mx_snap outputs; /* the main thread's own: outputs and build info */
	const struct mx_snap **snaps;
	struct obuf text;
};

static const struct mx_family fam_build = {
    "netacct_build_info", "The daemon and netacct version (value 1).", MX_GAUGE, 0};
static const struct mx_family fam_workers = {"netacct_workers", "Worker threads.", MX_GAUGE, 0};
static const struct mx_family fam_out_written = {"netacct_output_written_entries_total",
						 "Entries written by the output.", MX_COUNTER, 0};
static const struct mx_family fam_out_dropped_tables = {
    "netacct_output_dropped_tables_total",
    "Worker tables not taken by the output: its queue was full (flush_queue_size).", MX_COUNTER, 0};
static const struct mx_family fam_out_dropped_records = {
    "netacct_output_dropped_records_total",
    "Entries lost before writing: in dropped tables, or a table was full (cache_max_entries).",
    MX_COUNTER, 0};
static const struct mx_family fam_out_errors = {"netacct_output_write_errors_total",
						"Flushes whose write failed.", MX_COUNTER, 0};
static const struct mx_family fam_out_flushes = {
    "netacct_output_flushes_total", "Tables written (one per refresh interval).", MX_COUNTER, 0};
static const struct mx_family fam_out_flush_time = {"netacct_output_flush_duration_seconds_total",
						    "Time spent writing tables.", MX_COUNTER, 1};
static const struct mx_family fam_out_last_flush = {"netacct_output_last_flush_duration_seconds",
						    "How long the last table write took.", MX_GAUGE,
						    1};
static const struct mx_family fam_out_late = {
    "netacct_output_late_tables_total",
    "Worker tables that arrived after their round was written (folded into the next).", MX_COUNTER,
    0};
static const struct mx_family fam_out_events = {"netacct_output_events_written_total",
						"Event records written.", MX_COUNTER, 0};
static const struct mx_family fam_out_events_dropped = {
    "netacct_output_events_dropped_total", "Event records dropped: the event queue was full.",
    MX_COUNTER, 0};

static void outputs_snapshot(struct metrics *m)
{
	struct daemon_ctx *ctx = m->ctx;
	struct mx_snap *s = &m->outputs;
	mx_snap_reset(s);
	mx_put(s, &fam_build, 1, 2, "daemon", ctx->desc->name, "version", PACKAGE_VERSION);
	mx_put(s, &fam_workers, ctx->nworkers, 0);
	for (unsigned i = 0; i < ctx->nout; i++) {
		struct out_instance *oi = &ctx->out[i];
		const char *name = oi->conf->name, *type = oi->conf->type;
#define OUT(fam, v) mx_put(s, &fam, (uint64_t)(v), 2, "output", name, "type", type)
		OUT(fam_out_written, atomic_load(&oi->written_entries));
		OUT(fam_out_dropped_tables, atomic_load(&oi->dropped_tables));
		OUT(fam_out_dropped_records, atomic_load(&oi->dropped_records));
		OUT(fam_out_errors, atomic_load(&oi->write_errors));
		OUT(fam_out_flushes, atomic_load(&oi->flushes));
		OUT(fam_out_flush_time, atomic_load(&oi->flush_usec_total));
		OUT(fam_out_last_flush, atomic_load(&oi->last_flush_usec));
		if (oi->writer) { /* gone once stopped: the final stats_file has the rest */
			struct writer_stats ws;
			writer_get_stats(oi->writer, &ws);
			OUT(fam_out_late, ws.late_tables);
			OUT(fam_out_events, ws.events_written);
			OUT(fam_out_events_dropped, ws.events_dropped);
		}
		if (oi->mod->metrics && oi->state)
			oi->mod->metrics(oi, s);
#undef OUT
	}
}

/* Every snapshot (workers' and the main thread's) rendered into m->text. */
static int render(struct metrics *m, int json)
{
	struct daemon_ctx *ctx = m->ctx;
	size_t n = 0;
	outputs_snapshot(m);
	m->snaps[n++] = &m->outputs;
	for (unsigned i = 0; i < ctx->nworkers; i++)
		m->snaps[n++] = &ctx->workers[i].mx;
	obuf_reset(&m->text);
	if (json)
		return mx_render_json(&m->text, m->snaps, n, (int64_t)time(NULL));
	return mx_render_prometheus(&m->text, m->snaps, n);
}

static void write_stats_file(struct metrics *m)
{
	struct daemon_ctx *ctx = m->ctx;
	char err[512];
	if (render(m, 1) < 0) {
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "stats_file: out of memory");
		return;
	}
	if (mx_write_file(ctx->conf.stats_file, m->text.data, m->text.len, err, sizeof err) < 0)
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "stats_file: %s", err);
}

static void collect(struct metrics *m)
{
	struct daemon_ctx *ctx = m->ctx;
	if (m->collecting)
		return; /* joins the collection in progress */
	m->collecting = 1;
	atomic_store(&m->pending, ctx->nworkers);
	for (unsigned i = 0; i < ctx->nworkers; i++)
		worker_request_metrics(&ctx->workers[i]);
}

void metrics_worker_done(struct daemon_ctx *ctx)
{
	struct metrics *m = ctx->metrics;
	if (atomic_fetch_sub(&m->pending, 1) == 1)
		nt_ev_trigger(m->ev_collected);
}

static void answer_waiting(struct metrics *m, int ok)
{
	static const char busy[] = "the daemon is stopping\n";
	static const char oom[] = "out of memory\n";
	int rendered = ok && render(m, 0) == 0;
	for (size_t i = 0; i < m->nwaiting; i++) {
		if (rendered)
			mx_http_reply(m->waiting[i], 200,
				      "text/plain; version=0.0.4; charset=utf-8", m->text.data,
				      m->text.len);
		else if (ok)
			mx_http_reply(m->waiting[i], 500, "text/plain", oom, sizeof oom - 1);
		else
			mx_http_reply(m->waiting[i], 503, "text/plain", busy, sizeof busy - 1);
	}
	m->nwaiting = 0;
}

static void on_collected(void *arg)
{
	struct metrics *m = arg;
	(void)atomic_load(&m->pending); /* pairs with the workers' decrements */
	m->collecting = 0;
	answer_waiting(m, 1);
	if (m->want_file) {
		m->want_file = 0;
		write_stats_file(m);
	}
}

static void on_scrape(void *arg, struct mx_http_req *req)
{
	struct metrics *m = arg;
	if (m->nwaiting == m->capwaiting) {
		size_t cap = m->capwaiting ? m->capwaiting * 2 : 8;
		struct mx_http_req **p = realloc(m->waiting, cap * sizeof *p);
		if (!p) {
			static const char oom[] = "out of memory\n";
			mx_http_reply(req, 500, "text/plain", oom, sizeof oom - 1);
			return;
		}
		m->waiting = p;
		m->capwaiting = cap;
	}
	m->waiting[m->nwaiting++] = req;
	collect(m);
}

static void arm_file_timer(struct metrics *m)
{
	nt_ev_arm(m->ev_file, (uint64_t)m->ctx->conf.stats_file_interval * 1000000u);
}

static void on_file_timer(void *arg)
{
	struct metrics *m = arg;
	m->want_file = 1;
	collect(m);
	arm_file_timer(m);
}

int metrics_start(struct daemon_ctx *ctx, char *err, size_t errlen)
{
	const struct conf *c = &ctx->conf;
	int listen = c->metrics_listen && *c->metrics_listen;
	int file = c->stats_file && *c->stats_file;
	if (!listen && !file)
		return 0;
	struct metrics *m = calloc(1, sizeof *m);
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ctx->metrics = m;
	m->ctx = ctx;
	mx_snap_init(&m->outputs);
	obuf_init(&m->text, 0);
	m->snaps = calloc(ctx->nworkers + 1, sizeof *m->snaps);
	m->ev_collected = nt_ev_wakeup(ctx->loop, on_collected, m);
	m->ev_file = nt_ev_timer(ctx->loop, on_file_timer, m);
	if (!m->snaps || !m->ev_collected || !m->ev_file) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (listen) {
		char ip[64];
		int port;
		if (conf_parse_listen(c->metrics_listen, ip, sizeof ip, &port, err, errlen) < 0)
			return -1;
		m->http = mx_http_start(ctx->loop, ip, port, on_scrape, m, err, errlen);
		if (!m->http)
			return -1;
		nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
		       "metrics: Prometheus text at http://%s%s%s:%d/metrics",
		       strchr(ip, ':') ? "[" : "", ip, strchr(ip, ':') ? "]" : "", port);
	}
	if (file)
		arm_file_timer(m);
	return 0;
}

void metrics_stop(struct daemon_ctx *ctx)
{
	struct metrics *m = ctx->metrics;
	if (!m)
		return;
	/* the workers are joined: their snapshots are ours to fill */
	if (ctx->conf.stats_file && *ctx->conf.stats_file && m->snaps) {
		for (unsigned i = 0; i < ctx->nworkers; i++)
			worker_metrics(&ctx->workers[i], &ctx->workers[i].mx);
		write_stats_file(m);
	}
	answer_waiting(m, 0);
	mx_http_free(m->http);
	nt_ev_free(m->ev_collected);
	nt_ev_free(m->ev_file);
	free(m->waiting);
	free(m->snaps);
	mx_snap_free(&m->outputs);
	obuf_free(&m->text);
	free(m);
	ctx->metrics = NULL;
}
