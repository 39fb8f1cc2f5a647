#include "reactor/worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "agg/lookup.h"
#include "out/writer.h"
#include "reactor/daemon.h"
#include "reactor/loop.h"
#include "reactor/savefile.h"
#include "reactor/socket.h"
#include "reactor/stream.h"

#define RECV_BUF 65536 /* largest UDP payload: never truncate a legal datagram */
/*
 * Datagram slots are RECV_BUF apart plus 17 cache lines: 64 KiB-aligned
 * slots would all start in the same cache sets, and a batch of datagrams
 * would evict itself from L1/L2 while the kernel copies it in.
 */
#define RECV_STRIDE (RECV_BUF + 17 * 64)

static nt_usec wall_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (nt_usec)ts.tv_sec * 1000000u + (nt_usec)ts.tv_nsec / 1000u;
}

/*
 * Table i is full (out_instance.max_entries: cache_max_entries, else
 * 10 x print_cache_entries): hand it to the writer now as a safe
 * purge (written at once, part of the interval) and go on with a fresh one,
 * instead of dropping records.  Returns -1 when the add failed for another
 * reason (out of memory): the record stays counted as dropped.
 */
static __attribute__((noinline, cold)) int safe_purge(struct worker *w, unsigned i)
{
	struct agg_table *old = w->tables[i];
	struct out_instance *oi = &w->ctx->out[i];
	if (!old->max_entries || old->count < old->max_entries)
		return -1;
	struct agg_table *fresh = malloc(sizeof *fresh);
	if (!fresh || agg_table_init(fresh, old->key_len, old->count) < 0 ||
	    agg_table_set_span(fresh, old->span) < 0) {
		free(fresh);
		return -1;
	}
	if (agg_table_set_compact(fresh, old->cx) < 0) {
		agg_table_free(fresh);
		free(fresh);
		return -1;
	}
	fresh->max_entries = old->max_entries;
	old->dropped--; /* the record that found it full goes to the fresh table */
	w->tables[i] = fresh;
	/* written on its own, never merged: read from now on (compact keys expanded) */
	agg_table_drop_index(old);
	uint64_t period_ms = (uint64_t)oi->refresh * 1000u;
	uint64_t round = (w->now_usec / 1000u) / period_ms + 1; /* the round in progress */
	if (round <= w->tick[i].last_round)
		round = w->tick[i].last_round + 1;
	writer_submit_safe(oi->writer, w->id, round, old);
	return 0;
}

static inline void table_add(struct worker *w, unsigned i, const uint8_t *key, uint64_t hash,
			     const struct agg_counters *c)
{
	if (__builtin_expect(agg_table_add(w->tables[i], key, hash, c) < 0, 0) &&
	    safe_purge(w, i) == 0)
		agg_table_add(w->tables[i], key, hash, c);
}

/* The same for a key in the compact form. */
static inline void table_add_compact(struct worker *w, unsigned i, const uint8_t *key,
				     uint64_t hash, const struct agg_counters *c)
{
	if (__builtin_expect(agg_table_add_compact(w->tables[i], key, hash, c) < 0, 0) &&
	    safe_purge(w, i) == 0)
		agg_table_add_compact(w->tables[i], key, hash, c);
}

/* The same with the record's span (nfacctd_stitching: account_timed). */
static void table_add_span(struct worker *w, unsigned i, const uint8_t *key, uint64_t hash,
			   const struct agg_counters *c, const struct agg_span *sp)
{
	if (agg_table_add_span(w->tables[i], key, hash, c, sp) < 0 && safe_purge(w, i) == 0)
		agg_table_add_span(w->tables[i], key, hash, c, sp);
}

/* Record slot s's key for output i (keys are KEYSPEC_SLACK bytes apart: whole-word copies). */
static inline uint8_t *ahead_key(const struct worker *w, unsigned i, unsigned s)
{
	return w->ahead_keys[i] + (size_t)s * w->ahead_stride[i];
}

static void ahead_drain_one(struct worker *w)
{
	unsigned s = w->ahead_head;
	for (unsigned i = 0; i < w->ctx->nout; i++) {
		const uint8_t *key = ahead_key(w, i, s);
		if (w->ahead_skip[s] >> i & 1)
			continue;
		if (w->ahead_compact[s] >> i & 1)
			table_add_compact(w, i, key, w->ahead_hash[i][s], &w->ahead_c[s]);
		else
			table_add(w, i, key, w->ahead_hash[i][s], &w->ahead_c[s]);
	}
	w->ahead_head = (s + 1) % ACCT_AHEAD;
	w->ahead_len--;
}

/* Complete the deferred adds: before the tables are read or handed off. */
static void worker_flush_pending(struct worker *w)
{
	while (w->ahead_len)
		ahead_drain_one(w);
}

/*
 * sum_* outputs count a record in both directions: once as it is (the
 * deferred add below), once reversed, added at once (no prefetch: sum
 * aggregations are small).
 */
static void account_reversed(struct worker *w, const struct flow_rec *r,
			     const struct agg_counters *c, uint32_t skip)
{
	struct flow_rec rev;
	lookup_flow_reverse(&rev, r);
	for (unsigned i = 0; i < w->ctx->nout; i++) {
		/* only the sum_* outputs, and only those the record was selected for */
		if (!(w->sum_outs >> i & 1u) || (skip >> i & 1u))
			continue;
		const struct keyspec *ks = &w->ctx->out[i].ks;
		keyspec_extract(ks, &rev, w->sum_key);
		if (w->ctx->enrich_out.lookup_mask >> i & 1u)
			lookup_out_apply(&w->ctx->enrich_out.lookup[i], &w->ctx->maps, w->sum_key);
		table_add(w, i, w->sum_key, agg_hash(w->sum_key, ks->key_len), c);
	}
}

/* The pipeline's sink: key extraction, prefetch, and the add ACCT_AHEAD records later. */
static void account(void *arg, struct flow_rec *r)
{
	struct worker *w = arg;
	struct daemon_ctx *ctx = w->ctx;
	w->st.records++;
	if (w->ahead_len == ACCT_AHEAD)
		ahead_drain_one(w);
	unsigned s = (w->ahead_head + w->ahead_len) % ACCT_AHEAD;
	prim_counters(&w->ahead_c[s], r, w->now_usec);
	w->ahead_skip[s] = 0;
	w->ahead_compact[s] = 0;
	out_select_begin(&w->sel, r);
	for (unsigned i = 0; i < ctx->nout; i++) {
		const struct keyspec *ks = &ctx->out[i].ks;
		const struct out_select *sel = &ctx->tagging.sel[i];
		struct out_select_undo undo;
		uint8_t *key = ahead_key(w, i, s);
		/* aggregate_filter, pre_tag_*filter, post_tag: agg/tagging.h */
		if (sel->active && !out_select_enter(sel, r, &w->sel, &undo)) {
			w->ahead_skip[s] |= 1u << i;
			continue;
		}
		if (w->rec_sinks >> i & 1u) { /* a probe takes the record itself */
			w->ahead_skip[s] |= 1u << i;
			ctx->out[i].mod->record(&ctx->out[i], w->id, r, w->frame);
			if (sel->active)
				out_select_leave(r, &undo);
			continue;
		}
		uint32_t klen = ks->key_len;
		if (w->compact_outs >> i & 1u) {
			/* IPv4 keys in the compact form: shorter to hash, compare and keep */
			klen = keyspec_extract_compact(ks, r, key);
			if (klen != ks->key_len)
				w->ahead_compact[s] |= 1u << i;
		} else {
			keyspec_extract(ks, r, key);
			/* ports_file, protos_file, tos_file of this output */
			if (ctx->enrich_out.lookup_mask >> i & 1u)
				lookup_out_apply(&ctx->enrich_out.lookup[i], &ctx->maps, key);
		}
		if (sel->active)
			out_select_leave(r, &undo);
		w->ahead_hash[i][s] = agg_hash(key, klen);
		agg_table_prefetch(w->tables[i], w->ahead_hash[i][s]);
	}
	/*
	 * Half-way to its add, a record's index slot has arrived: start loading
	 * the entry it points to, so both misses overlap with other records.
	 */
	if (w->ahead_len >= ACCT_AHEAD / 2) {
		unsigned m = (s + ACCT_AHEAD - ACCT_AHEAD / 2) % ACCT_AHEAD;
		for (unsigned i = 0; i < ctx->nout; i++)
			agg_table_prefetch_entry(w->tables[i], w->ahead_hash[i][m]);
	}
	w->ahead_len++;
	if (w->sum_outs)
		account_reversed(w, r, &w->ahead_c[s], w->ahead_skip[s]);
}

/*
 * nfacctd_stitching and nfacctd_pro_rating: the counters carry the flow's
 * own start/end (timestamp_min/max), and a flow spanning several time bins
 * is split over them (agg/timebin.h).  Chosen at start instead of account(),
 * so without them the hot path is unchanged; adds are direct (no prefetch).
 */
static void account_timed(void *arg, struct flow_rec *r)
{
	struct worker *w = arg;
	struct daemon_ctx *ctx = w->ctx;
	struct agg_counters c;
	struct timebin_share sh[TIMEBIN_PRORATE_MAX];
	w->st.records++;
	worker_flush_pending(w);
	prim_counters(&c, r, w->now_usec);
	int own_times = !ctx->conf.nfacctd_time_new;
	int has_start = own_times && FR_HAS(r, FR_TS_START) && r->ts_start;
	int has_end = own_times && FR_HAS(r, FR_TS_END) && r->ts_end;
	/* stitching: the entry keeps the flows' earliest start and latest end */
	struct agg_span sp = {has_start ? r->ts_start : w->now_usec,
			      has_end ? r->ts_end : w->now_usec};
	out_select_begin(&w->sel, r);
	for (unsigned i = 0; i < ctx->nout; i++) {
		struct out_instance *oi = &ctx->out[i];
		const struct keyspec *ks = &oi->ks;
		const struct out_select *sel = &ctx->tagging.sel[i];
		struct out_select_undo undo;
		uint8_t *key = w->ahead_keys[i];
		/* the same selection and lookups as account() */
		if (sel->active && !out_select_enter(sel, r, &w->sel, &undo))
			continue;
		if (w->rec_sinks >> i & 1u) {
			oi->mod->record(oi, w->id, r, w->frame);
			if (sel->active)
				out_select_leave(r, &undo);
			continue;
		}
		keyspec_extract(ks, r, key);
		if (ctx->enrich_out.lookup_mask >> i & 1u)
			lookup_out_apply(&ctx->enrich_out.lookup[i], &ctx->maps, key);
		if (sel->active)
			out_select_leave(r, &undo);
		unsigned n = 0;
		if (oi->prorate && ks->has_history && has_start && has_end)
			n = timebin_prorate(&oi->tb, (int64_t)(r->ts_start / 1000000u),
					    (int64_t)(r->ts_end / 1000000u), c.packets, c.bytes,
					    c.flows, sh);
		if (!n) {
			table_add_span(w, i, key, agg_hash(key, ks->key_len), &c, &sp);
			continue;
		}
		for (unsigned j = 0; j < n; j++) {
			struct agg_counters part = c;
			uint64_t bin = (uint64_t)sh[j].bin * 1000000u;
			part.packets = sh[j].packets;
			part.bytes = sh[j].bytes;
			part.flows = sh[j].flows;
			memcpy(key + ks->f[0].off, &bin, 8); /* f[0] is the time bin */
			table_add_span(w, i, key, agg_hash(key, ks->key_len), &part, &sp);
		}
	}
}

/* The accounting the configuration asks for. */
static pipeline_sink_fn account_fn(const struct daemon_ctx *ctx)
{
	if (ctx->conf.nfacctd_stitching)
		return account_timed;
	for (unsigned i = 0; i < ctx->nout; i++)
		if (ctx->out[i].prorate)
			return account_timed;
	return account;
}

static void account_through_pipeline(void *arg, struct flow_rec *r)
{
	struct worker *w = arg;
	pipeline_run(&w->pw, r);
}

void worker_account(struct worker *w, struct flow_rec *r)
{
	worker_record_sink(w)(w, r);
}

worker_record_fn worker_record_sink(const struct worker *w)
{
	/* no stage configured: nothing to run and nothing to restore, one call less */
	return w->pw.p->n ? account_through_pipeline : account_fn(w->ctx);
}

static void hand_off(struct worker *w, unsigned i, uint64_t round);

/*
 * Capture time is the clock (pcap_savefile): a round closes when a packet's
 * timestamp crosses its boundary, as a timer would on live traffic.
 */
static void replay_clock(struct worker *w, nt_usec t)
{
	uint64_t t_ms = t / 1000u;
	/* the probes' periodic work, on the same clock */
	for (unsigned i = 0; i < w->ctx->nout; i++) {
		struct worker_probe_tick *p = &w->ptick[i];
		const struct out_module *m = w->ctx->out[i].mod;
		if (!(w->rec_sinks >> i & 1u) || !m->worker_tick)
			continue;
		uint64_t period = (uint64_t)m->worker_tick_ms * 1000u;
		/* due, or the clock went back (the next pass over the file): tick now */
		int due = p->next_usec && (t >= p->next_usec || p->next_usec - t > period);
		if (due)
			m->worker_tick(&w->ctx->out[i], w->id, t);
		if (due || !p->next_usec)
			p->next_usec = t + period;
	}
	for (unsigned i = 0; i < w->ctx->nout; i++) {
		struct worker_tick *k = &w->tick[i];
		uint64_t period_ms = (uint64_t)w->ctx->out[i].refresh * 1000u;
		/* before the boundary (a replayed file starting over, too): keep accounting */
		if (t_ms < k->next_ms)
			continue;
		uint64_t round = t_ms / period_ms; /* the boundary just passed */
		if (k->next_ms) /* not the first packet: the round in progress is over */
			hand_off(w, i, round);
		k->next_ms = (round + 1) * period_ms;
	}
}

void worker_batch_begin(struct worker *w)
{
	pipeline_batch_begin(&w->pw);
}

void worker_batch_end(struct worker *w)
{
	worker_flush_pending(w);
	pipeline_batch_end(&w->pw);
}

void worker_deliver(struct worker *w, const struct nt_dgram *d)
{
	struct daemon_ctx *ctx = w->ctx;
	if (w->sf)
		replay_clock(w, d->arrival);
	/* raw-datagram sinks (tee) see every datagram before it is decoded */
	for (unsigned i = 0; i < w->ndgram_sinks; i++)
		out_datagram(&ctx->out[w->dgram_sinks[i]], w->id, d);
	w->st.datagrams++;
	w->st.bytes += d->len;
	w->now_usec = d->arrival;
	if (w->decode && w->ctx->desc->input->datagram(w->in_state, w, d) == INPUT_MALFORMED)
		w->st.malformed++;
}

void worker_deliver_frame(struct worker *w, const struct nt_frame *f)
{
	if (w->sf)
		replay_clock(w, f->ts);
	w->st.datagrams++;
	w->st.bytes += f->wirelen;
	w->now_usec = f->ts;
	struct nt_frame seen; /* for the probes (OUT_SINK_RECORD): with the source's totals */
	if (w->rec_sinks) {
		seen = *f;
		seen.seen = w->st.datagrams;
		seen.seen_bytes = w->st.bytes;
		w->frame = &seen;
	}
	if (w->ctx->desc->input->frame(w->in_state, w, f) == INPUT_MALFORMED)
		w->st.malformed++;
	w->frame = NULL;
}

/*
 * A reading of the kernel's drop counter (a datagram's control message, or
 * the socket's own): count what it adds and say so, at most once a minute,
 * with what to change.  Drops are loss nobody else would ever report.
 */
static void note_kernel_drops(struct worker *w, uint32_t raw)
{
	if (!udp_drops_update(&w->st.kernel, raw))
		return;
	/* the first drops are always told, later ones once a minute */
	if (!log_once_a_minute(&w->st.drops_warn_minute, wall_usec()) && w->st.drops_warned)
		return;
	nt_log(&w->ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
	       "worker %u: the kernel dropped %llu datagrams (%llu in total): the socket's "
	       "receive buffer (%d bytes) was full. Raise nfacctd_pipe_size (and "
	       "net.core.rmem_max unless running as root), or add reactor_workers; logged at most "
	       "once a minute",
	       w->id, (unsigned long long)(w->st.kernel.total - w->st.drops_warned),
	       (unsigned long long)w->st.kernel.total, w->st.rcvbuf / 2);
	w->st.drops_warned = w->st.kernel.total;
}

/* The socket's drop counter now, including drops after the last datagram read. */
static void poll_kernel_drops(struct worker *w)
{
	uint32_t raw;
	if (w->fd >= 0 && udp_socket_drops(w->fd, &raw) == 0)
		note_kernel_drops(w, raw);
}

/*
 * Read up to 16 batches; returns 1 when the socket has been drained.  *got
 * (may be NULL) adds the datagrams read.
 */
static int read_batches(struct worker *w, int fd, unsigned *got)
{
	worker_batch_begin(w);
	/* drain a bounded number of batches, then yield so timers get their turn */
	for (int rounds = 0; rounds < 16; rounds++) {
		/*
		 * The drop counter is cumulative, so the first datagram's is
		 * enough to tell that drops happened: the others get no control
		 * buffer and the kernel skips formatting one per datagram once
		 * drops have happened.
		 */
		for (unsigned i = 0; i < w->batch; i++) {
			w->msgs[i].msg_hdr.msg_namelen = sizeof w->addrs[i];
			w->msgs[i].msg_hdr.msg_flags = 0;
			w->msgs[i].msg_hdr.msg_controllen = 0;
		}
		w->msgs[0].msg_hdr.msg_controllen = UDP_CMSG_SPACE;
		int n = recvmmsg(fd, w->msgs, w->batch, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				w->st.recv_errors++;
			return errno != EINTR;
		}
		if (got)
			*got += (unsigned)n;
		nt_usec now = wall_usec();
		uint32_t raw, latest;
		/*
		 * The first datagram's counter says drops happened; the socket's
		 * own is as new as the batch's last datagram, so the count logged
		 * is never older than reading the last one would have given.
		 */
		if (n > 0 && udp_cmsg_drops(&w->msgs[0].msg_hdr, &raw)) {
			if (raw != w->st.kernel.last_raw && udp_socket_drops(fd, &latest) == 0)
				raw = latest;
			note_kernel_drops(w, raw);
		}
		for (int i = 0; i < n; i++) {
			struct nt_dgram d = {.buf = w->bufs + (size_t)i * RECV_STRIDE,
					     .len = w->msgs[i].msg_len,
					     .arrival = now};
			if (w->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
				w->st.datagrams++;
				w->st.bytes += d.len;
				w->st.truncated++;
				continue;
			}
			sockaddr_to_nt(&w->addrs[i], &d.src, &d.src_port);
			worker_deliver(w, &d);
		}
		if ((unsigned)n < w->batch)
			return 1;
	}
	return 0;
}

/*
 * Paced reads.  A steady stream of small bursts (exporters send a few
 * datagrams at a time) wakes the worker several times per burst: a wake-up,
 * an epoll_wait() and a recvmmsg() that returns a few datagrams each time,
 * and in the kernel that costs more than decoding them.  So when the socket
 * has woken the worker for a partial batch at least READ_PACE_PARTIAL times
 * within READ_PACE_WINDOW_USEC, the worker stops watching the socket and
 * reads it every READ_PACE_USEC instead, as long as each of those reads
 * finds something; an empty one goes back to waiting on the socket.
 *
 * The threshold (about four wake-ups per pacing period) is measured, not
 * derived: below it, a timer wake-up costs the worker about as much as the
 * socket wake-ups it saves (part of those is charged to the sender's
 * context).  On this project's 2-CPU test VM, IPFIX with variable-length
 * fields at 1 M records/s (about 3.8k wake-ups per second per worker) uses
 * ~30 % less CPU paced, NetFlow v5 at the same rate (1.3k/s) the same.
 *
 * Records are accounted at most READ_PACE_USEC later, and the socket must
 * hold that long's traffic: pacing is used only with a receive buffer of at
 * least READ_PACE_MIN_RCVBUF (the default buffer is 32 MiB: ~6 ms at
 * 40 Gbit/s).  libevent's timers are not finer than the monotonic clock's
 * tick, so a shorter period would only add wake-ups.
 */
#define READ_PACE_USEC	      2000
#define READ_PACE_WINDOW_USEC (4 * READ_PACE_USEC)
#define READ_PACE_PARTIAL     24
#define READ_PACE_MIN_RCVBUF  (4 * 1024 * 1024)

static void pace_start(struct worker *w)
{
	if (nt_ev_fd_want(w->ev_read, 0) < 0 || nt_ev_arm(w->ev_pace, READ_PACE_USEC) < 0) {
		nt_ev_fd_want(w->ev_read, NT_EV_READ); /* cannot pace: plain reads */
		return;
	}
	if (!w->pace_told) {
		w->pace_told = 1;
		nt_log(&w->ctx->log, LOG_LVL_DEBUG, CORE_COMPONENT,
		       "worker %u: the socket wakes this worker for a few datagrams at a time: "
		       "reading it every %u ms while that lasts",
		       w->id, READ_PACE_USEC / 1000);
	}
}

static void on_pace(void *arg)
{
	struct worker *w = arg;
	unsigned got = 0;
	int drained = read_batches(w, w->fd, &got);
	worker_batch_end(w);
	if (drained && got && nt_ev_arm(w->ev_pace, READ_PACE_USEC) == 0)
		return;
	/* idle (or too busy for a pause): read as soon as the socket has data */
	w->pace_partial = 0;
	nt_ev_fd_want(w->ev_read, NT_EV_READ);
}

static void on_readable(int fd, unsigned what, void *arg)
{
	struct worker *w = arg;
	unsigned got = 0;
	(void)what;
	int drained = read_batches(w, fd, &got);
	worker_batch_end(w);
	if (!w->ev_pace || !drained || !got || got >= w->batch)
		return;
	/* a partial batch: count them over a window (now_usec: this read's arrival time) */
	if (w->now_usec - w->pace_since > READ_PACE_WINDOW_USEC) {
		w->pace_since = w->now_usec;
		w->pace_partial = 0;
	}
	if (++w->pace_partial >= READ_PACE_PARTIAL)
		pace_start(w);
}

uint64_t worker_round_due(uint64_t now_ms, unsigned period_s, uint64_t last_round)
{
	uint64_t period_ms = (uint64_t)period_s * 1000u;
	uint64_t round = now_ms / period_ms; /* the boundary just passed */
	return round > last_round ? round : 0;
}

/* Arm tick t for the boundary after its last round (wall clock). */
static void schedule_tick(struct worker_tick *t)
{
	uint64_t period_ms = (uint64_t)t->w->ctx->out[t->out].refresh * 1000u;
	uint64_t now_ms = wall_usec() / 1000u;
	uint64_t next_ms = (t->last_round + 1) * period_ms;
	if (next_ms <= now_ms) /* first tick, or fell behind: the next boundary from now */
		next_ms = (now_ms / period_ms + 1) * period_ms;
	nt_ev_arm(t->ev, (next_ms - now_ms) * 1000u);
}

/*
 * Hand table i to its writer for round `round` (the interval ending at
 * round * refresh) and start the next interval with a fresh table of the
 * same capacity.
 */
static void hand_off(struct worker *w, unsigned i, uint64_t round)
{
	struct out_instance *oi = &w->ctx->out[i];
	worker_flush_pending(w); /* adds still in flight belong to this interval */
	struct agg_table *old = w->tables[i];
	struct agg_table *fresh = malloc(sizeof *fresh);
	/*
	 * Room for half the keys of the interval that ends: while the writer
	 * holds the old table, the new one's index (huge pages: resident as
	 * soon as a few keys are spread over it) stays half the size; it grows
	 * once, later in the interval, after the old table is gone.
	 */
	if (!fresh || agg_table_init(fresh, old->key_len, old->count / 2) < 0 ||
	    agg_table_set_span(fresh, old->span) < 0) {
		/* keep accounting into the old table: better late than lost */
		free(fresh);
		nt_log(&w->ctx->log, LOG_LVL_ERROR, oi->component,
		       "worker %u: out of memory starting a new interval", w->id);
		return;
	}
	if (agg_table_set_compact(fresh, old->cx) < 0) {
		agg_table_free(fresh);
		free(fresh);
		nt_log(&w->ctx->log, LOG_LVL_ERROR, oi->component,
		       "worker %u: out of memory starting a new interval", w->id);
		return;
	}
	fresh->max_entries = old->max_entries;
	w->tables[i] = fresh;
	w->tick[i].last_round = round;
	if (writer_submit(oi->writer, w->id, round, old) < 0)
		nt_log(&w->ctx->log, LOG_LVL_WARN, oi->component,
		       "worker %u: writer queue full, interval dropped (see flush_queue_size)",
		       w->id);
}

static void on_tick(void *arg)
{
	struct worker_tick *t = arg;
	struct worker *w = t->w;
	/*
	 * A round is handed off once: a timer that fires before the boundary
	 * (clock adjustments, timer slack) is re-armed instead of closing the
	 * same round twice, which would split one round over two writes.
	 */
	uint64_t round = worker_round_due(wall_usec() / 1000u,
					  (unsigned)w->ctx->out[t->out].refresh, t->last_round);
	if (round)
		hand_off(w, t->out, round);
	schedule_tick(t);
}

static void on_stats(void *arg);

/* A probe's periodic work on live traffic (a savefile drives it from replay_clock()). */
static void on_probe_tick(void *arg)
{
	struct worker_probe_tick *p = arg;
	struct worker *w = p->w;
	struct out_instance *oi = &w->ctx->out[p->out];
	oi->mod->worker_tick(oi, w->id, wall_usec());
	nt_ev_arm(p->ev, (uint64_t)oi->mod->worker_tick_ms * 1000u);
}

static void on_stop(void *arg)
{
	struct worker *w = arg;
	/*
	 * The time of the stop, not of the end of the drain below: a worker with
	 * a full receive buffer drains for a while, and reading the clock after
	 * it would put its last table in a later round than the other workers'.
	 */
	uint64_t now_s = wall_usec() / 1000000u;
	/*
	 * What the kernel already queued for us was sent before the stop: account
	 * it (bounded, so a sender that never pauses cannot hold up the exit).
	 */
	if (w->fd >= 0) {
		for (int i = 0; i < 4096 && !read_batches(w, w->fd, NULL); i++)
			;
		worker_batch_end(w);
	}
	if (!w->sf && w->ctx->desc->input->drain)
		w->ctx->desc->input->drain(w->in_state, w); /* a live capture's backlog, likewise */
	if (w->sf)
		savefile_log_stop(w->sf);
	on_stats(w); /* what this worker did, once nothing more will be read */
	for (unsigned i = 0; i < w->ctx->nout; i++) {
		const struct out_module *m = w->ctx->out[i].mod;
		if ((w->rec_sinks >> i & 1u) && m->worker_stop)
			m->worker_stop(&w->ctx->out[i], w->id, w->sf ? w->now_usec : wall_usec());
	}
	for (unsigned i = 0; i < w->ctx->nout; i++) {
		uint64_t refresh = (uint64_t)w->ctx->out[i].refresh;
		/* the interval in progress closes at the next boundary */
		uint64_t round = w->tick[i].next_ms ? w->tick[i].next_ms / (refresh * 1000u)
						    : now_s / refresh + 1;
		if (round <= w->tick[i].last_round)
			round = w->tick[i].last_round + 1;
		hand_off(w, i, round);
	}
	nt_loop_break(w->loop);
}

static void on_quiesce(void *arg)
{
	struct worker *w = arg;
	/* served between batches, never inside one: this worker holds no map now */
	daemon_maps_quiescent(w->ctx);
}

static void on_stats(void *arg)
{
	struct worker *w = arg;
	const struct input_module *in = w->ctx->desc->input;
	char extra[512] = "";
	poll_kernel_drops(w);
	if (in->stats)
		in->stats(w->in_state, w, extra, sizeof extra);
	nt_log(&w->ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
	       "stats worker=%u datagrams=%llu bytes=%llu records=%llu malformed=%llu "
	       "truncated=%llu recv_errors=%llu exporters=%zu kernel_drops=%llu%s",
	       w->id, (unsigned long long)w->st.datagrams, (unsigned long long)w->st.bytes,
	       (unsigned long long)w->st.records, (unsigned long long)w->st.malformed,
	       (unsigned long long)w->st.truncated, (unsigned long long)w->st.recv_errors,
	       in->sources ? in->sources(w->in_state) : 0, (unsigned long long)w->st.kernel.total,
	       extra);
	if (in->stats_sources)
		in->stats_sources(w->in_state, w);
}

static void on_metrics(void *arg)
{
	struct worker *w = arg;
	worker_metrics(w, &w->mx);
	metrics_worker_done(w->ctx);
}

static const struct mx_family fam_datagrams = {"netacct_worker_datagrams_total",
					       "Datagrams received by the worker.", MX_COUNTER, 0};
static const struct mx_family fam_bytes = {
    "netacct_worker_bytes_total", "Bytes of the datagrams received by the worker.", MX_COUNTER, 0};
static const struct mx_family fam_records = {
    "netacct_worker_records_total", "Records decoded and accounted by the worker.", MX_COUNTER, 0};
static const struct mx_family fam_malformed = {
    "netacct_worker_malformed_datagrams_total",
    "Datagrams the input rejected as malformed (reasons per exporter).", MX_COUNTER, 0};
static const struct mx_family fam_truncated = {
    "netacct_worker_truncated_datagrams_total",
    "Datagrams larger than the receive buffer: not decoded.", MX_COUNTER, 0};
static const struct mx_family fam_recv_errors = {"netacct_worker_receive_errors_total",
						 "Failed receive calls.", MX_COUNTER, 0};
static const struct mx_family fam_kernel_drops = {
    "netacct_worker_kernel_drops_total",
    "Datagrams the kernel dropped before the worker read them: its socket's receive buffer "
    "was full (raise nfacctd_pipe_size, or add reactor_workers).",
    MX_COUNTER, 0};
static const struct mx_family fam_rcvbuf = {
    "netacct_worker_receive_buffer_bytes",
    "The worker socket's receive buffer as the kernel reports it (twice the size granted).",
    MX_GAUGE, 0};
static const struct mx_family fam_sources = {
    "netacct_worker_exporters", "Exporters (sources) the worker keeps state for.", MX_GAUGE, 0};

void worker_metrics(struct worker *w, struct mx_snap *s)
{
	const struct input_module *in = w->ctx->desc->input;
	char id[16];
	snprintf(id, sizeof id, "%u", w->id);
	mx_snap_reset(s);
	poll_kernel_drops(w);
#define W(fam, v) mx_put(s, &fam, (uint64_t)(v), 1, "worker", id)
	W(fam_datagrams, w->st.datagrams);
	W(fam_bytes, w->st.bytes);
	W(fam_records, w->st.records);
	W(fam_malformed, w->st.malformed);
	W(fam_truncated, w->st.truncated);
	W(fam_recv_errors, w->st.recv_errors);
	if (w->fd >= 0) {
		W(fam_kernel_drops, w->st.kernel.total);
		W(fam_rcvbuf, w->st.rcvbuf);
	}
	if (in->sources)
		W(fam_sources, in->sources(w->in_state));
#undef W
	if (in->metrics)
		in->metrics(w->in_state, w, s);
}

static int open_socket(struct worker *w, char *err, size_t errlen)
{
	struct daemon_ctx *ctx = w->ctx;
	struct input_endpoint ep = {0};
	int got = 0;
	ctx->desc->input->endpoint(&ctx->conf, &ep);
	int ask = ep.rcvbuf > 0 ? ep.rcvbuf : UDP_RCVBUF_DEFAULT;
	w->fd = udp_listen(ep.ip, ep.port, ask, &got, err, errlen);
	if (w->fd < 0)
		return -1;
	w->st.rcvbuf = got;
	/* the kernel doubles what it grants (its bookkeeping) and reports that */
	/*
	 * Said once, by worker 0.  A WARN when the operator asked for the size;
	 * for the default an INFO line (drops, should they happen, are WARNed).
	 */
	if (w->id == 0 && (long long)got < 2LL * ask)
		nt_log(&ctx->log, ep.rcvbuf > 0 ? LOG_LVL_WARN : LOG_LVL_INFO, CORE_COMPONENT,
		       "worker sockets: receive buffer of %d bytes asked%s, the kernel granted %d: "
		       "bursts will be dropped (and counted as kernel_drops). Raise the limit with "
		       "`sysctl -w net.core.rmem_max=%d` (as root the daemon needs no sysctl)",
		       ask, ep.rcvbuf > 0 ? " (nfacctd_pipe_size)" : " (netacct's default)",
		       got / 2, ask);
	nt_log(&ctx->log, LOG_LVL_DEBUG, CORE_COMPONENT,
	       "worker %u: socket %d bound, receive buffer %d bytes, %u datagrams per read", w->id,
	       w->fd, got, w->batch);
	w->msgs = calloc(w->batch, sizeof *w->msgs);
	w->iov = calloc(w->batch, sizeof *w->iov);
	w->addrs = calloc(w->batch, sizeof *w->addrs);
	w->bufs = malloc((size_t)w->batch * RECV_STRIDE);
	w->ctrl = calloc(w->batch, UDP_CMSG_SPACE);
	if (!w->msgs || !w->iov || !w->addrs || !w->bufs || !w->ctrl) {
		snprintf(err, errlen, "worker %u: out of memory", w->id);
		return -1;
	}
	for (unsigned i = 0; i < w->batch; i++) {
		w->iov[i].iov_base = w->bufs + (size_t)i * RECV_STRIDE;
		w->iov[i].iov_len = RECV_BUF;
		w->msgs[i].msg_hdr.msg_iov = &w->iov[i];
		w->msgs[i].msg_hdr.msg_iovlen = 1;
		w->msgs[i].msg_hdr.msg_name = &w->addrs[i];
		w->msgs[i].msg_hdr.msg_control = w->ctrl + (size_t)i * UDP_CMSG_SPACE;
	}
	w->ev_read = nt_ev_fd(w->loop, w->fd, NT_EV_READ, on_readable, w);
	if (!w->ev_read) {
		snprintf(err, errlen, "worker %u: cannot watch socket", w->id);
		return -1;
	}
	/* the kernel reports twice what it grants */
	if (got / 2 >= READ_PACE_MIN_RCVBUF && !(w->ev_pace = nt_ev_timer(w->loop, on_pace, w))) {
		snprintf(err, errlen, "worker %u: out of memory", w->id);
		return -1;
	}
	return 0;
}

/* A stream input: this worker's TCP listener in the SO_REUSEPORT group. */
static int open_listener(struct worker *w, char *err, size_t errlen)
{
	const struct input_module *in = w->ctx->desc->input;
	struct input_endpoint ep = {0};
	struct stream_opts o = {0};
	in->endpoint(&w->ctx->conf, &ep);
	if (in->stream_opts)
		in->stream_opts(&w->ctx->conf, &o);
	w->listener =
	    stream_listen(w->loop, ep.ip, ep.port, in->stream, w->in_state, &o, err, errlen);
	return w->listener ? 0 : -1;
}

int worker_init(struct worker *w, struct daemon_ctx *ctx, unsigned id, char *err, size_t errlen)
{
	memset(w, 0, sizeof *w);
	w->id = id;
	w->ctx = ctx;
	w->fd = -1;
	w->batch = (unsigned)ctx->conf.reactor_batch;
	mx_snap_init(&w->mx);

	w->loop = nt_loop_new();
	if (!w->loop) {
		snprintf(err, errlen, "worker %u: cannot create its event loop", id);
		return -1;
	}
	for (unsigned i = 0; i < ctx->nout; i++) {
		w->ahead_stride[i] = ctx->out[i].ks.key_len + KEYSPEC_SLACK;
		if (!(w->ahead_keys[i] = calloc(ACCT_AHEAD, w->ahead_stride[i])))
			goto oom;
		if (out_takes(&ctx->out[i], OUT_SINK_DATAGRAM))
			w->dgram_sinks[w->ndgram_sinks++] = (uint8_t)i;
		if (out_takes(&ctx->out[i], OUT_SINK_TABLE | OUT_SINK_EVENT))
			w->decode = 1;
		if (out_takes(&ctx->out[i], OUT_SINK_RECORD)) {
			w->rec_sinks |= 1u << i;
			w->decode = 1;
		}
	}
	size_t sum_len = 0;
	for (unsigned i = 0; i < ctx->nout; i++)
		if (lookup_keyspec_sum(&ctx->out[i].ks) && !(w->rec_sinks >> i & 1u)) {
			w->sum_outs |= 1u << i;
			if (ctx->out[i].ks.key_len > sum_len)
				sum_len = ctx->out[i].ks.key_len;
		}
	if (sum_len && !(w->sum_key = malloc(sum_len)))
		goto oom;
	for (unsigned i = 0; i < ctx->nout; i++) {
		w->tables[i] = malloc(sizeof *w->tables[i]);
		if (!w->tables[i] ||
		    agg_table_init(w->tables[i], ctx->out[i].ks.key_len,
				   (uint64_t)ctx->out[i].cache_entries) < 0 ||
		    agg_table_set_span(w->tables[i], ctx->conf.nfacctd_stitching) < 0)
			goto oom;
		w->tables[i]->max_entries = ctx->out[i].max_entries;
		/*
		 * The compact form where only account() adds, with keys it can
		 * build: lookups and sum_* reversal rewrite full-form keys, and the
		 * timed accounting keeps spans.
		 */
		if (account_fn(ctx) == account && !(w->sum_outs >> i & 1u) &&
		    !(ctx->enrich_out.lookup_mask >> i & 1u) && ctx->out[i].ks.cx.key_len) {
			if (agg_table_set_compact(w->tables[i], &ctx->out[i].ks.cx) < 0)
				goto oom;
			w->compact_outs |= 1u << i;
		}
	}
	if (pipeline_worker_init(&w->pw, &ctx->pipe, account_fn(ctx), w, err, errlen) < 0)
		return -1;
	if (ctx->desc->input->create(w, &w->in_state, err, errlen) < 0)
		return -1;
	if (daemon_reads_savefile(ctx)) {
		if (savefile_open(&w->sf, w, err, errlen) < 0)
			return -1;
	} else if (ctx->desc->input->kind == INPUT_STREAM) {
		if (open_listener(w, err, errlen) < 0)
			return -1;
	} else if (ctx->desc->input->kind == INPUT_CAPTURE) {
		/* the module opened its live source on this worker's loop in create() */
	} else if (open_socket(w, err, errlen) < 0) {
		return -1;
	}
	w->ev_stop = nt_ev_wakeup(w->loop, on_stop, w);
	w->ev_stats = nt_ev_wakeup(w->loop, on_stats, w);
	w->ev_quiesce = nt_ev_wakeup(w->loop, on_quiesce, w);
	w->ev_metrics = nt_ev_wakeup(w->loop, on_metrics, w);
	if (!w->ev_stop || !w->ev_stats || !w->ev_quiesce || !w->ev_metrics)
		goto oom;
	for (unsigned i = 0; i < ctx->nout; i++) {
		w->tick[i].w = w;
		w->tick[i].out = i;
		w->tick[i].ev = nt_ev_timer(w->loop, on_tick, &w->tick[i]);
		if (!w->tick[i].ev)
			goto oom;
		if (!w->sf) /* a capture's own time closes its rounds */
			schedule_tick(&w->tick[i]);
		const struct out_module *m = ctx->out[i].mod;
		if ((w->rec_sinks >> i & 1u) && m->worker_tick && m->worker_tick_ms && !w->sf) {
			w->ptick[i].w = w;
			w->ptick[i].out = i;
			w->ptick[i].ev = nt_ev_timer(w->loop, on_probe_tick, &w->ptick[i]);
			if (!w->ptick[i].ev)
				goto oom;
			nt_ev_arm(w->ptick[i].ev, (uint64_t)m->worker_tick_ms * 1000u);
		}
	}
	return 0;
oom:
	snprintf(err, errlen, "worker %u: out of memory", id);
	return -1;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	if (nt_loop_run(w->loop) < 0)
		nt_log(&w->ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "worker %u: event loop failed",
		       w->id);
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
	nt_ev_trigger(w->ev_stop);
}

void worker_request_stats(struct worker *w)
{
	nt_ev_trigger(w->ev_stats);
}

void worker_request_quiesce(struct worker *w)
{
	nt_ev_trigger(w->ev_quiesce);
}

void worker_request_metrics(struct worker *w)
{
	nt_ev_trigger(w->ev_metrics);
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
		nt_ev_free(w->tick[i].ev);
		nt_ev_free(w->ptick[i].ev);
		if (w->tables[i]) {
			agg_table_free(w->tables[i]);
			free(w->tables[i]);
		}
		free(w->ahead_keys[i]);
	}
	savefile_free(w->sf);
	stream_listener_free(w->listener); /* its sessions' on_close may use in_state */
	pipeline_worker_free(&w->pw);
	nt_ev_free(w->ev_pace);
	nt_ev_free(w->ev_read);
	nt_ev_free(w->ev_stop);
	nt_ev_free(w->ev_stats);
	nt_ev_free(w->ev_quiesce);
	nt_ev_free(w->ev_metrics);
	nt_loop_free(w->loop);
	if (w->fd >= 0)
		close(w->fd);
	if (w->in_state)
		w->ctx->desc->input->destroy(w->in_state);
	free(w->sum_key);
	free(w->msgs);
	free(w->iov);
	free(w->addrs);
	free(w->bufs);
	free(w->ctrl);
	mx_snap_free(&w->mx);
	memset(w, 0, sizeof *w);
}
