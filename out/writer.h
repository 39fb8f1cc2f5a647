/*
 * Writer: one thread per output instance that receives the workers' tables
 * at each refresh, merges those of the same round and hands the merged
 * table to the output module.
 *
 * The hand-off is the only place workers and writers meet: a bounded queue
 * under a mutex, touched once per worker per refresh interval (never per
 * record).  When the queue is full the table is dropped and counted; a
 * worker never waits for a slow output.
 */
#ifndef NETACCT_OUT_WRITER_H
#define NETACCT_OUT_WRITER_H

#include <stdint.h>

#include "agg/table.h"
#include "out/output.h"

struct writer;

int writer_start(struct writer **w, struct out_instance *oi, unsigned nworkers, unsigned queue_size,
		 char *err, size_t errlen);

/*
 * Hand a worker's table for a round (interval end / refresh) to the writer,
 * which takes ownership.  Returns 0, or -1 when the queue was full: the
 * table has then been freed and its entries counted as dropped.
 */
int writer_submit(struct writer *w, uint64_t round, struct agg_table *t);

/* Write everything still pending (shutdown), then join the thread. */
void writer_stop(struct writer *w);

#endif
