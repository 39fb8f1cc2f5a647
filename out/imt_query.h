/*
 * Answering a memory-table query (out/imt_req.h) from an aggregation table:
 * matching entries against `-c`/`-M`/`-N` requests, top-N, rendering rows
 * through the shared encoders, erasing and resetting.  Pure: no sockets, no
 * locks; out/memory.c calls it with the table's lock held.
 */
#ifndef NETACCT_OUT_IMT_QUERY_H
#define NETACCT_OUT_IMT_QUERY_H

#include <stdint.h>
#include <time.h>

#include "agg/primitive.h"
#include "agg/table.h"
#include "out/buf.h"
#include "out/imt_req.h"

/* What the table's owner knows about it, for `-t` and `-i`. */
struct imt_status {
	uint64_t folds;	      /* rounds folded in */
	uint64_t queries;     /* queries answered before this one */
	time_t last_fold;     /* 0: none yet */
	time_t cleared;	      /* start or last erase */
	time_t now;	      /* the query's time */
	uint64_t max_entries; /* 0: unbounded */
	uint64_t dropped;     /* entries refused (max_entries or memory) */
};

/* What a query did to the table, for the owner's bookkeeping. */
struct imt_effect {
	int erased; /* the table was emptied (op erase) */
};

/*
 * Answer r from t (laid out by ks) into out: the status line "OK <n>" or
 * "ERR <code> <message>", then the body.  -r zeroes the counters of the
 * entries read; op erase empties t.  Returns 0, or -1 only when out could
 * not grow (the caller then sends an internal error).
 */
int imt_query_run(struct agg_table *t, const struct keyspec *ks, const struct imt_req *r,
		  const struct imt_status *st, struct obuf *out, struct imt_effect *eff);

#endif
