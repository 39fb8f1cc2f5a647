/*
 * Writer: one thread per output instance.  It receives the workers' tables
 * at each refresh, merges those of the same round, hands the merged table
 * to the output module (one write per round), and serves the module's
 * other hooks: event records, tick, reopen and stats.
 *
 * The hand-off is the only place workers and writers meet: bounded queues
 * under a mutex, touched once per worker per refresh interval (never per
 * record) and once per event.  When a queue is full the table or event is
 * dropped and counted; a worker never waits for a slow output.
 */
#ifndef NETACCT_OUT_WRITER_H
#define NETACCT_OUT_WRITER_H

#include <stdint.h>

#include "agg/table.h"
#include "out/event.h"
#include "out/output.h"

struct writer;

struct writer_opts {
	unsigned nworkers;	   /* workers submitting tables, ids 0..nworkers-1 */
	unsigned queue_size;	   /* tables in flight (at least 2 per worker) */
	unsigned event_queue_size; /* events in flight; 0: WRITER_EVENT_QUEUE */
};

#define WRITER_EVENT_QUEUE 4096

/* Start the thread; sets oi->writer (and oi->nworkers if unset). */
int writer_start_opts(struct writer **w, struct out_instance *oi, const struct writer_opts *o,
		      char *err, size_t errlen);
/* The same with the default event queue. */
int writer_start(struct writer **w, struct out_instance *oi, unsigned nworkers, unsigned queue_size,
		 char *err, size_t errlen);

/*
 * Hand worker `worker`'s table for a round (interval end / refresh) to the
 * writer, which takes ownership.  Returns 0, or -1 when the queue was full:
 * the table has then been freed and its entries counted as dropped.
 *
 * Each round is written once.  A second table from the same worker for a
 * round not yet written is merged into it; a table for a round already
 * written is merged into the next round to be written and counted as late
 * (its entries are kept, never written over the round's output).
 */
int writer_submit(struct writer *w, unsigned worker, uint64_t round, struct agg_table *t);

/*
 * A safe purge: worker `worker`'s table filled up (cache_max_entries) during
 * `round`.  It is written at once, on its own, with out_interval.safe set
 * (more of the round follows); the round's own purge is unaffected.  Same
 * return and ownership as writer_submit().
 */
int writer_submit_safe(struct writer *w, unsigned worker, uint64_t round, struct agg_table *t);

/*
 * Hand an event record to the writer (any thread; it takes ownership).
 * Returns 0, or -1 when the event queue was full or the module takes no
 * events: the event has then been freed and counted as dropped.
 */
int writer_submit_event(struct writer *w, struct out_event *ev);

/* Ask for the module's reopen hook (SIGHUP); any thread, returns at once. */
void writer_request_reopen(struct writer *w);

/*
 * The output's counters as "stats output key=value ..." (any thread: they
 * are atomics, so a writer stuck on a slow sink still reports its drops).
 */
struct obuf;
int writer_format_stats(struct writer *w, struct obuf *line);

/*
 * Ask for the module's own counters (SIGUSR1): "stats module key=value ...",
 * from its stats hook, logged from the writer thread once it is free.
 */
void writer_request_stats(struct writer *w);

/*
 * Wait until everything submitted or requested before the call has been
 * served (tables absorbed, events written, reopen/stats done).  Rounds still
 * waiting for other workers stay pending.
 */
void writer_sync(struct writer *w);

/* Counters, also in the stats line. */
struct writer_stats {
	uint64_t rounds_written;
	uint64_t safe_purges;	/* full worker tables written ahead of their round */
	uint64_t late_tables;	/* for rounds already written: folded into the next */
	uint64_t repeat_tables; /* a worker's second table for a pending round: merged */
	uint64_t events_written;
	uint64_t events_dropped; /* queue full */
	uint64_t event_errors;	 /* write_event() failed */
};
void writer_get_stats(struct writer *w, struct writer_stats *st);

/* Write everything still pending (shutdown), then join the thread. */
void writer_stop(struct writer *w);

#endif
