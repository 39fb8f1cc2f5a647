#include "reactor/worker.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "out/writer.h"
#include "proto/nf_sampling.h"
#include "proto/nf_templates_file.h"
#include "reactor/templates_sync.h"
#include "reactor/daemon.h"
#include "reactor/socket.h"

#define RECV_BUF 65536 /* largest UDP payload: never truncate a legal datagram */

static nt_usec now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (nt_usec)ts.tv_sec * 1000000u + (nt_usec)ts.tv_nsec / 1000u;
}

static void ahead_drain_one(struct worker *w)
{
	unsigned s = w->ahead_head;
	for (unsigned i = 0; i < w->ctx->nout; i++) {
		uint32_t klen = w->tables[i]->key_len;
		agg_table_add(w->tables[i], w->ahead_keys[i] + (size_t)s * klen,
			      w->ahead_hash[i][s], &w->ahead_c[s]);
	}
	w->ahead_head = (s + 1) % ACCT_AHEAD;
	w->ahead_len--;
}

void worker_flush_pending(struct worker *w)
{
	while (w->ahead_len)
		ahead_drain_one(w);
}

void worker_account(struct worker *w, struct flow_rec *r)
{
	struct daemon_ctx *ctx = w->ctx;

	if (w->smap) {
		/* sampling_map overrides what the exporter says about its sampling */
		uint32_t rate = nf_sampling_map_lookup(w->smap, &r->peer_src_ip, r);
		if (rate) {
			r->sampling_rate = rate;
			FR_SET(r, FR_SAMPLING);
		}
	}
	if (ctx->conf.nfacctd_renormalize && r->sampling_rate > 1) {
		r->packets *= r->sampling_rate;
		r->bytes *= r->sampling_rate;
	}
	w->st.records++;
	if (w->ahead_len == ACCT_AHEAD)
		ahead_drain_one(w);
	unsigned s = (w->ahead_head + w->ahead_len) % ACCT_AHEAD;
	struct agg_counters *c = &w->ahead_c[s];
	c->packets = r->packets;
	c->bytes = r->bytes;
	c->flows = FR_HAS(r, FR_FLOWS) ? r->flows : 1;
	c->first_usec = c->last_usec = w->now_usec;
	/* flags only mean something for TCP; exporters leave junk in them otherwise */
	c->tcp_flags = r->proto == 6 ? r->tcp_flags : 0;
	for (unsigned i = 0; i < ctx->nout; i++) {
		const struct keyspec *ks = &ctx->out[i].ks;
		uint8_t *key = w->ahead_keys[i] + (size_t)s * ks->key_len;
		keyspec_extract(ks, r, key);
		w->ahead_hash[i][s] = agg_hash(key, ks->key_len);
		agg_table_prefetch(w->tables[i], w->ahead_hash[i][s]);
	}
	w->ahead_len++;
}

static void on_record(void *arg, struct flow_rec *r)
{
	worker_account(arg, r);
}

static void on_template_changed(void *arg, const struct nf_exporter *ex)
{
	struct worker *w = arg;
	tpl_sync_exporter_changed(w->ctx->tpl, ex);
}

/* Malformed input: counted always, logged at most log_rate_limit times a minute. */
static void log_malformed(struct worker *w, struct nf_exporter *ex, enum nf_err e, size_t len)
{
	unsigned limit = (unsigned)w->ctx->conf.log_rate_limit;
	uint64_t window = w->now_usec / 60000000u;
	char addr[64];
	if (window != ex->log_window) {
		ex->log_window = window;
		ex->log_lines = 0;
	}
	if (ex->log_lines > limit)
		return;
	ex->log_lines++;
	uint8_t slot[17];
	slot[0] = ex->addr.family;
	memcpy(slot + 1, ex->addr.a, 16);
	addr_to_text(slot, addr, sizeof addr);
	if (ex->log_lines > limit)
		nt_log(&w->ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
		       "exporter %s: more malformed datagrams, suppressing messages for this "
		       "minute (counters keep counting)",
		       addr);
	else
		nt_log(&w->ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
		       "exporter %s: malformed datagram (%zu bytes): %s", addr, len,
		       nf_err_name(e));
}

static int read_batches(struct worker *w, evutil_socket_t fd);

/* A datagram from a source the collector would not (or could not) take on. */
static void refused(struct worker *w, const struct nt_addr *src)
{
	uint64_t minute = w->now_usec / 60000000u;
	w->st.refused++;
	if (minute == w->refused_logged_minute)
		return;
	w->refused_logged_minute = minute;
	char addr[64];
	uint8_t slot[17];
	slot[0] = src->family;
	memcpy(slot + 1, src->a, 16);
	addr_to_text(slot, addr, sizeof addr);
	nt_log(&w->ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
	       "worker %u: datagram from %s dropped: %s (%llu so far; logged once a minute)", w->id,
	       addr,
	       w->nf.nexporters >= (size_t)w->ctx->conf.nfacctd_max_exporters
		   ? "nfacctd_max_exporters reached"
		   : "out of memory",
	       (unsigned long long)w->st.refused);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	(void)what;
	read_batches(w, fd);
	worker_flush_pending(w);
}

/* Read up to 16 batches; returns 1 when the socket has been drained. */
static int read_batches(struct worker *w, evutil_socket_t fd)
{
	w->smap = atomic_load_explicit(&w->ctx->sampling_map, memory_order_acquire);
	/* drain a bounded number of batches, then yield so timers get their turn */
	for (int rounds = 0; rounds < 16; rounds++) {
		for (unsigned i = 0; i < w->batch; i++) {
			w->msgs[i].msg_hdr.msg_namelen = sizeof w->addrs[i];
			w->msgs[i].msg_hdr.msg_flags = 0;
		}
		int n = recvmmsg(fd, w->msgs, w->batch, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				w->st.recv_errors++;
			return errno != EINTR;
		}
		w->now_usec = now_usec();
		for (int i = 0; i < n; i++) {
			struct nt_addr src;
			unsigned short port;
			size_t len = w->msgs[i].msg_len;
			w->st.datagrams += 1;
			w->st.bytes += len;
			if (w->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
				w->st.truncated++;
				continue;
			}
			sockaddr_to_nt(&w->addrs[i], &src, &port);
			/* exporters are keyed by address: a restarted exporter keeps its state */
			struct nf_exporter *ex = nf_exporter_get(&w->nf, &src, 0);
			if (!ex) {
				refused(w, &src);
				continue;
			}
			enum nf_err e =
			    nf_decode(&w->nf, ex, w->bufs + (size_t)i * RECV_BUF, len, w->now_usec);
			if (e != NF_OK) {
				w->st.malformed++;
				log_malformed(w, ex, e, len);
			}
		}
		if ((unsigned)n < w->batch)
			return 1;
	}
	return 0;
}

/* Seconds until the next multiple of refresh (wall clock), and that boundary. */
static struct timeval until_boundary(int refresh, time_t *boundary)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	time_t next = (ts.tv_sec / refresh + 1) * refresh;
	*boundary = next;
	long usec = (long)(next - ts.tv_sec) * 1000000L - ts.tv_nsec / 1000;
	struct timeval tv = {usec / 1000000L, usec % 1000000L};
	return tv;
}

static void schedule_tick(struct worker *w, unsigned i)
{
	time_t b;
	struct timeval tv = until_boundary(w->ctx->out[i].refresh, &b);
	event_add(w->ev_tick[i], &tv);
}

/*
 * Hand table i to its writer for the round ending at `round * refresh`,
 * and start the next interval with a fresh table of the same capacity.
 */
static void hand_off(struct worker *w, unsigned i, uint64_t round)
{
	struct out_instance *oi = &w->ctx->out[i];
	worker_flush_pending(w); /* adds still in flight belong to this interval */
	struct agg_table *old = w->tables[i];
	struct agg_table *fresh = malloc(sizeof *fresh);
	if (!fresh || agg_table_init(fresh, old->key_len, old->count + old->count / 2) < 0) {
		/* keep accounting into the old table: better late than lost */
		free(fresh);
		nt_log(&w->ctx->log, LOG_LVL_ERROR, oi->component,
		       "worker %u: out of memory starting a new interval", w->id);
		return;
	}
	fresh->max_entries = old->max_entries;
	w->tables[i] = fresh;
	if (writer_submit(oi->writer, w->id, round, old) < 0)
		nt_log(&w->ctx->log, LOG_LVL_WARN, oi->component,
		       "worker %u: writer queue full, interval dropped (see flush_queue_size)",
		       w->id);
}

struct tick_arg {
	struct worker *w;
	unsigned i;
};

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = ((struct tick_arg *)arg)->w;
	unsigned i = ((struct tick_arg *)arg)->i;
	int refresh = w->ctx->out[i].refresh;
	(void)fd;
	(void)what;
	/*
	 * The round this tick closes: the boundary nearest to now, in
	 * milliseconds so that a timer a little early or late (even with a 1 s
	 * refresh) still names the same round on every worker.
	 */
	uint64_t now_ms = now_usec() / 1000u, period_ms = (uint64_t)refresh * 1000u;
	uint64_t round = (now_ms + period_ms / 2) / period_ms;
	hand_off(w, i, round);
	schedule_tick(w, i);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	(void)fd;
	(void)what;
	/*
	 * What the kernel already queued for us was sent before the stop: account
	 * it (bounded, so a sender that never pauses cannot hold up the exit).
	 */
	for (int i = 0; i < 4096 && !read_batches(w, w->fd); i++)
		;
	time_t now = time(NULL);
	for (unsigned i = 0; i < w->ctx->nout; i++) {
		int refresh = w->ctx->out[i].refresh;
		/* the interval in progress closes at the next boundary */
		hand_off(w, i, (uint64_t)(now / refresh + 1));
	}
	event_base_loopbreak(w->base);
}

static void on_quiesce(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct daemon_ctx *ctx = w->ctx;
	(void)fd;
	(void)what;
	/* outside any batch: this worker holds no map pointer now */
	w->smap = NULL;
	if (atomic_fetch_sub(&ctx->quiesce_pending, 1) == 1) {
		nf_sampling_map_free(ctx->retired_map);
		ctx->retired_map = NULL;
	}
}

static void log_exporter(void *arg, struct nf_exporter *ex)
{
	struct worker *w = arg;
	char addr[64], errs[512];
	size_t n = 0;
	uint8_t slot[17];
	slot[0] = ex->addr.family;
	memcpy(slot + 1, ex->addr.a, 16);
	addr_to_text(slot, addr, sizeof addr);
	errs[0] = '\0';
	for (int e = 1; e < NF_ERR__COUNT && n < sizeof errs; e++)
		n += (size_t)snprintf(errs + n, sizeof errs - n, " %s=%llu", nf_err_name(e),
				      (unsigned long long)ex->st.err[e]);
	nt_log(&w->ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
	       "stats worker=%u exporter=%s datagrams=%llu records=%llu seq_gaps=%llu "
	       "lost_flows=%llu%s",
	       w->id, addr, (unsigned long long)ex->st.datagrams,
	       (unsigned long long)ex->st.records, (unsigned long long)ex->st.seq_gaps,
	       (unsigned long long)ex->st.lost_flows, errs);
}

static void on_stats(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	(void)fd;
	(void)what;
	nt_log(&w->ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
	       "stats worker=%u datagrams=%llu bytes=%llu records=%llu malformed=%llu "
	       "truncated=%llu recv_errors=%llu exporters=%zu refused=%llu",
	       w->id, (unsigned long long)w->st.datagrams, (unsigned long long)w->st.bytes,
	       (unsigned long long)w->st.records, (unsigned long long)w->st.malformed,
	       (unsigned long long)w->st.truncated, (unsigned long long)w->st.recv_errors,
	       w->nf.nexporters, (unsigned long long)w->st.refused);
	nf_collector_foreach(&w->nf, log_exporter, w);
}

int worker_init(struct worker *w, struct daemon_ctx *ctx, unsigned id, char *err, size_t errlen)
{
	const struct conf *c = &ctx->conf;
	int got = 0;
	struct nf_options opt = {
	    .time_secs = c->nfacctd_time_secs,
	    .disable_opt_scope_check = c->nfacctd_disable_opt_scope_check,
	    .custom = &ctx->prims,
	    .max_exporters = (size_t)c->nfacctd_max_exporters,
	    .max_templates = (size_t)c->nfacctd_max_templates,
	    .template_changed = ctx->tpl ? on_template_changed : NULL,
	};

	memset(w, 0, sizeof *w);
	w->id = id;
	w->ctx = ctx;
	w->fd = -1;
	w->batch = (unsigned)c->reactor_batch;
	w->fd = udp_listen(c->nfacctd_ip, c->nfacctd_port, c->nfacctd_pipe_size, &got, err, errlen);
	if (w->fd < 0)
		return -1;
	if (id == 0 && c->nfacctd_pipe_size > 0 && got < c->nfacctd_pipe_size)
		nt_log(&ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
		       "nfacctd_pipe_size %d: kernel granted %d bytes (raise net.core.rmem_max)",
		       c->nfacctd_pipe_size, got);
	nt_log(&ctx->log, LOG_LVL_DEBUG, CORE_COMPONENT,
	       "worker %u: socket %d bound, receive buffer %d bytes, %u datagrams per read", id,
	       w->fd, got, w->batch);

	w->msgs = calloc(w->batch, sizeof *w->msgs);
	w->iov = calloc(w->batch, sizeof *w->iov);
	w->addrs = calloc(w->batch, sizeof *w->addrs);
	w->bufs = malloc((size_t)w->batch * RECV_BUF);
	if (!w->msgs || !w->iov || !w->addrs || !w->bufs)
		goto oom;
	for (unsigned i = 0; i < ctx->nout; i++)
		if (!(w->ahead_keys[i] = calloc(ACCT_AHEAD, ctx->out[i].ks.key_len)))
			goto oom;
	for (unsigned i = 0; i < w->batch; i++) {
		w->iov[i].iov_base = w->bufs + (size_t)i * RECV_BUF;
		w->iov[i].iov_len = RECV_BUF;
		w->msgs[i].msg_hdr.msg_iov = &w->iov[i];
		w->msgs[i].msg_hdr.msg_iovlen = 1;
		w->msgs[i].msg_hdr.msg_name = &w->addrs[i];
	}
	for (unsigned i = 0; i < ctx->nout; i++) {
		w->tables[i] = malloc(sizeof *w->tables[i]);
		if (!w->tables[i] ||
		    agg_table_init(w->tables[i], ctx->out[i].ks.key_len,
				   (uint64_t)ctx->out[i].conf->print_cache_entries) < 0)
			goto oom;
		w->tables[i]->max_entries = (uint64_t)ctx->out[i].conf->cache_max_entries;
	}
	opt.template_arg = w;
	if (nf_collector_init(&w->nf, &opt, on_record, w) < 0)
		goto oom;
	if (ctx->tpl) {
		size_t loaded = 0;
		char why[512];
		if (nf_templates_load(c->nfacctd_templates_file, &w->nf, &loaded, why, sizeof why) <
		    0) {
			if (id == 0)
				nt_log(&ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
				       "nfacctd_templates_file ignored: %s", why);
		} else {
			w->templates_loaded = 1;
			if (id == 0)
				nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
				       "nfacctd_templates_file %s: %zu templates loaded",
				       c->nfacctd_templates_file, loaded);
		}
	}

	w->base = event_base_new();
	if (!w->base) {
		snprintf(err, errlen, "event_base_new failed");
		return -1;
	}
	w->ev_read = event_new(w->base, w->fd, EV_READ | EV_PERSIST, on_readable, w);
	w->ev_stop = event_new(w->base, -1, 0, on_stop, w);
	w->ev_stats = event_new(w->base, -1, 0, on_stats, w);
	w->ev_quiesce = event_new(w->base, -1, 0, on_quiesce, w);
	if (!w->ev_read || !w->ev_stop || !w->ev_stats || !w->ev_quiesce ||
	    event_add(w->ev_read, NULL) < 0) {
		snprintf(err, errlen, "event_new failed");
		return -1;
	}
	for (unsigned i = 0; i < ctx->nout; i++) {
		struct tick_arg *ta = malloc(sizeof *ta);
		if (!ta)
			goto oom;
		ta->w = w;
		ta->i = i;
		w->ev_tick[i] = event_new(w->base, -1, 0, on_tick, ta);
		if (!w->ev_tick[i]) {
			free(ta);
			goto oom;
		}
		schedule_tick(w, i);
	}
	return 0;
oom:
	snprintf(err, errlen, "worker %u: out of memory", id);
	return -1;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	event_base_dispatch(w->base);
	return NULL;
}

int worker_start(struct worker *w, char *err, size_t errlen)
{
	int rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc != 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(rc));
		return -1;
	}
	w->started = 1;
	return 0;
}

void worker_request_stop(struct worker *w)
{
	if (w->ev_stop)
		event_active(w->ev_stop, 0, 0);
}

void worker_request_stats(struct worker *w)
{
	if (w->ev_stats)
		event_active(w->ev_stats, 0, 0);
}

void worker_request_quiesce(struct worker *w)
{
	if (w->ev_quiesce)
		event_active(w->ev_quiesce, 0, 0);
}

void worker_join(struct worker *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = 0;
}

void worker_free(struct worker *w)
{
	if (!w->ctx)
		return;
	for (unsigned i = 0; i < w->ctx->nout; i++) {
		if (w->ev_tick[i]) {
			free(event_get_callback_arg(w->ev_tick[i]));
			event_free(w->ev_tick[i]);
		}
		if (w->tables[i]) {
			agg_table_free(w->tables[i]);
			free(w->tables[i]);
		}
		free(w->ahead_keys[i]);
	}
	if (w->ev_read)
		event_free(w->ev_read);
	if (w->ev_stop)
		event_free(w->ev_stop);
	if (w->ev_stats)
		event_free(w->ev_stats);
	if (w->ev_quiesce)
		event_free(w->ev_quiesce);
	if (w->base)
		event_base_free(w->base);
	if (w->fd >= 0)
		close(w->fd);
	if (w->nf.buckets)
		nf_collector_free(&w->nf);
	free(w->msgs);
	free(w->iov);
	free(w->addrs);
	free(w->bufs);
	memset(w, 0, sizeof *w);
}
