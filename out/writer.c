#include "out/writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "out/buf.h"

struct item {
	unsigned worker;
	uint64_t round;
	struct agg_table *t;
	int safe; /* writer_submit_safe */
};

/* A round being assembled from the workers' tables. */
struct pending {
	uint64_t round;
	unsigned received; /* distinct workers */
	unsigned late;	   /* tables of already-written rounds folded in */
	uint8_t *from;	   /* nworkers flags: this worker's table is in */
	struct agg_table merged;
	int used;
};

#define MAX_PENDING 4 /* rounds in flight; more means workers disagree on time */

struct writer {
	struct out_instance *oi;
	unsigned nworkers;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;   /* work for the writer */
	pthread_cond_t done; /* writer_sync: the writer went idle */
	struct item *q;
	unsigned cap, head, len;
	struct out_event **evq;
	unsigned ev_cap, ev_head, ev_len;
	int stopping, want_reopen, want_stats;
	uint64_t sync_req, sync_done;

	/* writer thread only */
	struct pending pend[MAX_PENDING];
	uint64_t last_written; /* highest round written, 0 = none yet */

	atomic_uint_fast64_t rounds_written, late_tables, repeat_tables, safe_purges;
	struct timespec next_service; /* when the module's service hook is due (writer thread) */
	atomic_uint_fast64_t events_written, events_dropped, event_errors;
};

static void flush_round(struct writer *w, struct pending *p, int final)
{
	struct out_instance *oi = w->oi;
	struct out_interval iv = {0};
	iv.end = (time_t)(p->round * (uint64_t)oi->refresh);
	iv.start = iv.end - oi->refresh;
	iv.final = final;
	if (p->merged.dropped) {
		atomic_fetch_add(&oi->dropped_records, p->merged.dropped);
		nt_log(oi->log, LOG_LVL_WARN, oi->component,
		       "%llu records not accounted in this interval: out of memory, or a "
		       "full table could not be replaced",
		       (unsigned long long)p->merged.dropped);
	}
	if (out_takes(w->oi, OUT_SINK_TABLE) && oi->mod->write) {
		struct timespec t0, t1;
		/* nothing is looked up or added any more: only the entries are written */
		agg_table_drop_index(&p->merged);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int rc = oi->mod->write(oi, &p->merged, &iv);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		uint64_t usec = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 +
					   (t1.tv_nsec - t0.tv_nsec) / 1000);
		long ms = (long)(usec / 1000u);
		if (rc < 0) {
			atomic_fetch_add(&oi->write_errors, 1);
		} else {
			atomic_fetch_add(&oi->written_entries, p->merged.count);
			atomic_fetch_add(&oi->flushes, 1);
			atomic_fetch_add(&oi->flush_usec_total, usec);
			atomic_store(&oi->last_flush_usec, usec);
			/* one line per flush, like pmacct's purge lines: operators watch for them
			 */
			if (p->merged.count || final) {
				char late[64] = "";
				if (p->late)
					snprintf(late, sizeof late, " and %u late tables", p->late);
				nt_log(oi->log, LOG_LVL_INFO, oi->component,
				       "flushed %llu entries of %u/%u worker tables%s in %ld ms%s",
				       (unsigned long long)p->merged.count, p->received,
				       w->nworkers, late, ms, final ? " (final)" : "");
			}
		}
	}
	if (oi->mod->tick)
		oi->mod->tick(oi, &iv);
	atomic_fetch_add(&w->rounds_written, 1);
	if (p->round > w->last_written)
		w->last_written = p->round;
	agg_table_free(&p->merged);
	p->used = 0;
}

static struct pending *oldest(struct writer *w)
{
	struct pending *o = NULL;
	for (unsigned i = 0; i < MAX_PENDING; i++)
		if (w->pend[i].used && (!o || w->pend[i].round < o->round))
			o = &w->pend[i];
	return o;
}

static struct pending *find(struct writer *w, uint64_t round)
{
	for (unsigned i = 0; i < MAX_PENDING; i++)
		if (w->pend[i].used && w->pend[i].round == round)
			return &w->pend[i];
	return NULL;
}

/* A free slot for a new round, writing the oldest round when all are taken. */
static struct pending *slot(struct writer *w, uint64_t round)
{
	for (unsigned i = 0; i < MAX_PENDING; i++)
		if (!w->pend[i].used) {
			struct pending *p = &w->pend[i];
			p->used = 1;
			p->round = round;
			p->received = 0;
			p->late = 0;
			memset(p->from, 0, w->nworkers);
			memset(&p->merged, 0, sizeof p->merged);
			return p;
		}
	flush_round(w, oldest(w), 0); /* a worker fell behind: write what we have */
	return slot(w, round);
}

/* Move t's entries into p (the biggest table becomes the merge target: no copy). */
static void take(struct writer *w, struct pending *p, struct agg_table *t)
{
	if (!p->merged.index) {
		p->merged = *t;
	} else {
		if (t->count > p->merged.count) {
			/* fold the smaller table into the bigger: copy the fewest entries, and
			 * never hold two full copies of a big table (an idle worker's empty
			 * table arriving first would otherwise take in every entry) */
			struct agg_table small = p->merged;
			p->merged = *t;
			*t = small;
		}
		if (agg_table_merge(&p->merged, t) < 0)
			nt_log(w->oi->log, LOG_LVL_ERROR, w->oi->component,
			       "out of memory merging worker tables; entries lost");
		agg_table_free(t);
	}
	/*
	 * cache_max_entries bounds each worker's table; the union of several
	 * capped tables may hold more keys and must keep them all.
	 */
	p->merged.max_entries = 0;
	free(t);
}

/* A full worker table, written on its own at once (the round's purge comes later). */
static void write_safe(struct writer *w, struct item *it)
{
	struct out_instance *oi = w->oi;
	struct out_interval iv = {.end = (time_t)(it->round * (uint64_t)oi->refresh), .safe = 1};
	iv.start = iv.end - oi->refresh;
	atomic_fetch_add(&w->safe_purges, 1);
	nt_log(oi->log, LOG_LVL_INFO, oi->component,
	       "worker %u: table full (print_cache_entries or cache_max_entries): safe purge of "
	       "%llu entries",
	       it->worker, (unsigned long long)it->t->count);
	if (out_takes(oi, OUT_SINK_TABLE) && oi->mod->write) {
		if (oi->mod->write(oi, it->t, &iv) < 0)
			atomic_fetch_add(&oi->write_errors, 1);
		else
			atomic_fetch_add(&oi->written_entries, it->t->count);
	}
	agg_table_free(it->t);
	free(it->t);
}

static void absorb(struct writer *w, struct item *it)
{
	struct pending *p = NULL;
	if (it->safe) {
		write_safe(w, it);
		return;
	}
	if (it->worker >= w->nworkers) {
		nt_log(w->oi->log, LOG_LVL_ERROR, w->oi->component,
		       "table from unknown worker %u (of %u): counted as late", it->worker,
		       w->nworkers);
	} else if (it->round > w->last_written) {
		p = find(w, it->round);
		if (!p)
			p = slot(w, it->round);
		/* writing the oldest round to make room may have passed this one */
		if (it->round <= w->last_written) {
			p->used = 0;
			p = NULL;
		}
	}
	if (!p) {
		/*
		 * Late: this round was written already (a worker's timer ran late,
		 * or it handed the round twice).  Writing the round again would
		 * overwrite or duplicate its output: the entries go to the next
		 * round written instead.
		 */
		p = oldest(w);
		if (!p)
			p = slot(w, w->last_written + 1);
		atomic_fetch_add(&w->late_tables, 1);
		p->late++;
		nt_log(w->oi->log, LOG_LVL_WARN, w->oi->component,
		       "worker %u: table of round %llu (%llu entries) arrived after that round "
		       "was written; its entries go to round %llu",
		       it->worker, (unsigned long long)it->round, (unsigned long long)it->t->count,
		       (unsigned long long)p->round);
		take(w, p, it->t);
		return;
	}
	if (p->from[it->worker]) {
		/* a second table for a round not yet written: same round, same write */
		atomic_fetch_add(&w->repeat_tables, 1);
		nt_log(w->oi->log, LOG_LVL_DEBUG, w->oi->component,
		       "worker %u handed round %llu twice; tables merged", it->worker,
		       (unsigned long long)it->round);
		take(w, p, it->t);
		return;
	}
	p->from[it->worker] = 1;
	p->received++;
	take(w, p, it->t);
	if (p->received >= w->nworkers) {
		/* complete: older incomplete rounds can no longer be completed */
		struct pending *o;
		while ((o = oldest(w)) && o->round < p->round)
			flush_round(w, o, 0);
		flush_round(w, p, 0);
	}
}

static void write_event(struct writer *w, struct out_event *ev)
{
	if (w->oi->mod->write_event(w->oi, ev) < 0)
		atomic_fetch_add(&w->event_errors, 1);
	else
		atomic_fetch_add(&w->events_written, 1);
	out_event_free(ev);
}

int writer_format_stats(struct writer *w, struct obuf *line)
{
	struct out_instance *oi = w->oi;
	return obuf_printf(
	    line,
	    "stats output written_entries=%llu dropped_tables=%llu "
	    "dropped_records=%llu write_errors=%llu late_tables=%llu "
	    "events_written=%llu events_dropped=%llu event_errors=%llu safe_purges=%llu",
	    (unsigned long long)atomic_load(&oi->written_entries),
	    (unsigned long long)atomic_load(&oi->dropped_tables),
	    (unsigned long long)atomic_load(&oi->dropped_records),
	    (unsigned long long)atomic_load(&oi->write_errors),
	    (unsigned long long)atomic_load(&w->late_tables),
	    (unsigned long long)atomic_load(&w->events_written),
	    (unsigned long long)atomic_load(&w->events_dropped),
	    (unsigned long long)atomic_load(&w->event_errors),
	    (unsigned long long)atomic_load(&w->safe_purges));
}

/* The module's own counters, on the writer thread (modules need no locks). */
static void log_stats(struct writer *w)
{
	struct out_instance *oi = w->oi;
	struct obuf line;
	if (!oi->mod->stats)
		return;
	obuf_init(&line, 0);
	obuf_puts(&line, "stats module");
	oi->mod->stats(oi, &line);
	if (obuf_status(&line) == 0)
		nt_log(oi->log, LOG_LVL_INFO, oi->component, "%s", line.data);
	else
		nt_log(oi->log, LOG_LVL_ERROR, oi->component, "stats: out of memory");
	obuf_free(&line);
}

static int ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

static void ts_add_ms(struct timespec *t, unsigned ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		if (w->len) {
			struct item it = w->q[w->head];
			w->head = (w->head + 1) % w->cap;
			w->len--;
			pthread_mutex_unlock(&w->mu);
			absorb(w, &it);
		} else if (w->ev_len) {
			struct out_event *ev = w->evq[w->ev_head];
			w->ev_head = (w->ev_head + 1) % w->ev_cap;
			w->ev_len--;
			pthread_mutex_unlock(&w->mu);
			write_event(w, ev);
		} else if (w->want_reopen) {
			w->want_reopen = 0;
			pthread_mutex_unlock(&w->mu);
			if (w->oi->mod->reopen)
				w->oi->mod->reopen(w->oi);
		} else if (w->want_stats) {
			w->want_stats = 0;
			pthread_mutex_unlock(&w->mu);
			log_stats(w);
		} else {
			/* idle: everything asked for before now has been served */
			if (w->sync_done != w->sync_req) {
				w->sync_done = w->sync_req;
				pthread_cond_broadcast(&w->done);
			}
			if (w->stopping)
				break;
			const struct out_module *mod = w->oi->mod;
			if (!mod->service || !mod->service_ms) {
				pthread_cond_wait(&w->cv, &w->mu);
				continue;
			}
			/*
			 * A module with time-driven work is called every service_ms,
			 * on a deadline: other wake-ups (stats, events) must not
			 * starve it, as a timeout restarted by each of them would.
			 */
			struct timespec now;
			clock_gettime(CLOCK_REALTIME, &now);
			if (!w->next_service.tv_sec || ts_before(&w->next_service, &now)) {
				pthread_mutex_unlock(&w->mu);
				mod->service(w->oi);
				pthread_mutex_lock(&w->mu);
				w->next_service = now;
				ts_add_ms(&w->next_service, mod->service_ms);
				continue;
			}
			pthread_cond_timedwait(&w->cv, &w->mu, &w->next_service);
			continue;
		}
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	struct pending *p;
	while ((p = oldest(w)))
		flush_round(w, p, 1);
	return NULL;
}

static void writer_free(struct writer *w)
{
	for (unsigned i = 0; i < MAX_PENDING; i++)
		free(w->pend[i].from);
	free(w->q);
	free(w->evq);
	free(w);
}

int writer_start_opts(struct writer **out, struct out_instance *oi, const struct writer_opts *o,
		      char *err, size_t errlen)
{
	unsigned nworkers = o->nworkers ? o->nworkers : 1;
	struct writer *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	w->oi = oi;
	w->nworkers = nworkers;
	/* room for every worker's table of a few rounds, at least queue_size */
	w->cap = o->queue_size > nworkers * 2 ? o->queue_size : nworkers * 2;
	w->ev_cap = o->event_queue_size ? o->event_queue_size : WRITER_EVENT_QUEUE;
	w->q = calloc(w->cap, sizeof *w->q);
	w->evq = calloc(w->ev_cap, sizeof *w->evq);
	int ok = w->q && w->evq;
	for (unsigned i = 0; i < MAX_PENDING; i++)
		ok = ok && (w->pend[i].from = calloc(nworkers, 1));
	if (!ok) {
		writer_free(w);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!oi->nworkers)
		oi->nworkers = nworkers;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_cond_init(&w->done, NULL);
	int rc = pthread_create(&w->thread, NULL, writer_main, w);
	if (rc != 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(rc));
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		pthread_cond_destroy(&w->done);
		writer_free(w);
		return -1;
	}
	oi->writer = w;
	*out = w;
	return 0;
}

int writer_start(struct writer **out, struct out_instance *oi, unsigned nworkers,
		 unsigned queue_size, char *err, size_t errlen)
{
	struct writer_opts o = {.nworkers = nworkers, .queue_size = queue_size};
	return writer_start_opts(out, oi, &o, err, errlen);
}

static int submit(struct writer *w, unsigned worker, uint64_t round, struct agg_table *t, int safe)
{
	pthread_mutex_lock(&w->mu);
	if (w->len == w->cap) {
		pthread_mutex_unlock(&w->mu);
		atomic_fetch_add(&w->oi->dropped_tables, 1);
		atomic_fetch_add(&w->oi->dropped_records, t->count);
		agg_table_free(t);
		free(t);
		return -1;
	}
	w->q[(w->head + w->len) % w->cap] = (struct item){worker, round, t, safe};
	w->len++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int writer_submit(struct writer *w, unsigned worker, uint64_t round, struct agg_table *t)
{
	return submit(w, worker, round, t, 0);
}

int writer_submit_safe(struct writer *w, unsigned worker, uint64_t round, struct agg_table *t)
{
	return submit(w, worker, round, t, 1);
}

int writer_submit_event(struct writer *w, struct out_event *ev)
{
	if (!out_takes(w->oi, OUT_SINK_EVENT) || !w->oi->mod->write_event) {
		atomic_fetch_add(&w->events_dropped, 1);
		out_event_free(ev);
		return -1;
	}
	pthread_mutex_lock(&w->mu);
	if (w->ev_len == w->ev_cap) {
		pthread_mutex_unlock(&w->mu);
		atomic_fetch_add(&w->events_dropped, 1);
		out_event_free(ev);
		return -1;
	}
	w->evq[(w->ev_head + w->ev_len) % w->ev_cap] = ev;
	w->ev_len++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void writer_request_reopen(struct writer *w)
{
	pthread_mutex_lock(&w->mu);
	w->want_reopen = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void writer_request_stats(struct writer *w)
{
	pthread_mutex_lock(&w->mu);
	w->want_stats = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void writer_sync(struct writer *w)
{
	pthread_mutex_lock(&w->mu);
	uint64_t ticket = ++w->sync_req;
	pthread_cond_signal(&w->cv);
	while (w->sync_done < ticket)
		pthread_cond_wait(&w->done, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void writer_get_stats(struct writer *w, struct writer_stats *st)
{
	st->rounds_written = atomic_load(&w->rounds_written);
	st->safe_purges = atomic_load(&w->safe_purges);
	st->late_tables = atomic_load(&w->late_tables);
	st->repeat_tables = atomic_load(&w->repeat_tables);
	st->events_written = atomic_load(&w->events_written);
	st->events_dropped = atomic_load(&w->events_dropped);
	st->event_errors = atomic_load(&w->event_errors);
}

void writer_stop(struct writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	pthread_cond_destroy(&w->done);
	/* events still queued were drained before the thread ended */
	writer_free(w);
}
