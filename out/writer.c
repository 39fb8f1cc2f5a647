#include "out/writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct item {
	uint64_t round;
	struct agg_table *t;
};

/* A round being assembled from the workers' tables. */
struct pending {
	uint64_t round;
	unsigned received;
	struct agg_table merged;
	int used;
};

#define MAX_PENDING 4 /* rounds in flight; more means workers disagree on time */

struct writer {
	struct out_instance *oi;
	unsigned nworkers;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct item *q;
	unsigned cap, head, len;
	int stopping;
	struct pending pend[MAX_PENDING];
};

static void flush_round(struct writer *w, struct pending *p, int final)
{
	struct out_interval iv;
	iv.end = (time_t)(p->round * (uint64_t)w->oi->refresh);
	iv.start = iv.end - w->oi->refresh;
	iv.final = final;
	if (p->merged.dropped) {
		atomic_fetch_add(&w->oi->dropped_records, p->merged.dropped);
		nt_log(w->oi->log, LOG_LVL_WARN, w->oi->component,
		       "%llu records not accounted in this interval: table full "
		       "(cache_max_entries) or out of memory",
		       (unsigned long long)p->merged.dropped);
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = w->oi->mod->write(w->oi, &p->merged, &iv);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (rc < 0) {
		atomic_fetch_add(&w->oi->write_errors, 1);
	} else {
		atomic_fetch_add(&w->oi->written_entries, p->merged.count);
		/* one line per flush, like pmacct's purge lines: operators watch for them */
		if (p->merged.count || final)
			nt_log(w->oi->log, LOG_LVL_INFO, w->oi->component,
			       "flushed %llu entries of %u/%u worker tables in %ld ms%s",
			       (unsigned long long)p->merged.count, p->received, w->nworkers, ms,
			       final ? " (final)" : "");
	}
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

static void absorb(struct writer *w, struct item *it)
{
	struct pending *p = NULL;
	for (unsigned i = 0; i < MAX_PENDING && !p; i++)
		if (w->pend[i].used && w->pend[i].round == it->round)
			p = &w->pend[i];
	if (!p) {
		for (unsigned i = 0; i < MAX_PENDING && !p; i++)
			if (!w->pend[i].used)
				p = &w->pend[i];
		if (!p) {
			p = oldest(w); /* a worker fell behind: write what we have */
			flush_round(w, p, 0);
		}
		/* the first table of a round becomes the merge target: no copy */
		p->used = 1;
		p->round = it->round;
		p->received = 1;
		p->merged = *it->t;
		free(it->t);
	} else {
		if (agg_table_merge(&p->merged, it->t) < 0)
			nt_log(w->oi->log, LOG_LVL_ERROR, w->oi->component,
			       "out of memory merging worker tables; entries lost");
		p->received++;
		agg_table_free(it->t);
		free(it->t);
	}
	if (p->received >= w->nworkers) {
		/* complete: older incomplete rounds can no longer be completed */
		struct pending *o;
		while ((o = oldest(w)) && o->round < p->round)
			flush_round(w, o, 0);
		flush_round(w, p, 0);
	}
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->len == 0 && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->len == 0 && w->stopping)
			break;
		struct item it = w->q[w->head];
		w->head = (w->head + 1) % w->cap;
		w->len--;
		pthread_mutex_unlock(&w->mu);
		absorb(w, &it);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	struct pending *p;
	while ((p = oldest(w)))
		flush_round(w, p, 1);
	return NULL;
}

int writer_start(struct writer **out, struct out_instance *oi, unsigned nworkers,
		 unsigned queue_size, char *err, size_t errlen)
{
	struct writer *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	w->oi = oi;
	w->nworkers = nworkers;
	/* room for every worker's table of a few rounds, at least queue_size */
	w->cap = queue_size > nworkers * 2 ? queue_size : nworkers * 2;
	w->q = calloc(w->cap, sizeof *w->q);
	if (!w->q) {
		free(w);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	int rc = pthread_create(&w->thread, NULL, writer_main, w);
	if (rc != 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(rc));
		free(w->q);
		free(w);
		return -1;
	}
	oi->writer = w;
	*out = w;
	return 0;
}

int writer_submit(struct writer *w, uint64_t round, struct agg_table *t)
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
	w->q[(w->head + w->len) % w->cap] = (struct item){round, t};
	w->len++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
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
	free(w->q);
	free(w);
}
