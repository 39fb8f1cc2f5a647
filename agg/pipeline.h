/*
 * The record pipeline: what happens to a decoded flow record before it is
 * accounted.  A pipeline is a chain of stages built once at start-up and
 * read-only afterwards (shared by every worker); each worker has a small
 * struct pipeline_worker with its per-stage state and the map snapshots of
 * the batch in progress.  The last step, key extraction and table add, is
 * the worker's: a sink callback that receives every record no stage dropped.
 *
 * Only configured stages are in the chain, so a daemon without sampling_map,
 * renormalisation or tcpflags pays one sink call per record and nothing more.
 *
 * Records and presence.  Decoders reuse one scratch record and do not clear
 * it between records; the contract is that every field whose FR_* bit is set
 * was written for this record (see agg/flow.h).  A stage that writes a field
 * sets its bit; pipeline_run() restores r->present to its value at entry once
 * the record has been accounted, so what a stage wrote is never seen as
 * present in the next record, and extractors (agg/primitive.c) ignore fields
 * whose bit is clear.  The members every decoder writes for every record
 * (packets, bytes, sampling_rate, export_*, ts_arrival, ts_export) have no
 * bit; a stage may rewrite those freely.
 *
 * Adding a stage (a few lines, e.g. in agg/stages.c):
 *   1. write  static enum stage_verdict my_run(const void *cfg, struct stage_ctx *sc,
 *                                             struct flow_rec *r)
 *      reading its configuration from cfg, per-worker state from sc->state and
 *      the batch's map (when it declared one) from sc->map; set the FR_* bit of
 *      every field it writes; return STAGE_KEEP or STAGE_DROP.  No allocation,
 *      no locks: it runs once per record.
 *   2. describe it:  const struct stage_desc my_stage = {"my_stage", FR_BIT(FR_SRC_AS),
 *                                                         my_run, NULL, NULL};
 *      (state_new/state_free when it needs per-worker scratch).
 *   3. at start-up, when its configuration asks for it:
 *      pipeline_add(&p, &my_stage, cfg, map_slot_or_-1, err, errlen);
 *   4. a unit test in tests/unit/test_pipeline.c.
 */
#ifndef NETACCT_AGG_PIPELINE_H
#define NETACCT_AGG_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"
#include "agg/maps.h"

#define PIPELINE_MAX 16
#define FR_BIT(f)    (1ull << (f))

enum stage_verdict {
	STAGE_KEEP = 0,
	STAGE_DROP = 1,
};

/* What a stage sees of its worker. */
struct stage_ctx {
	void *state;	 /* from stage_desc.state_new, or NULL */
	const void *map; /* this batch's map for the stage's slot, or NULL */
};

struct stage_desc {
	const char *name;
	uint64_t writes; /* FR_BIT()s of the fields the stage may write */
	enum stage_verdict (*run)(const void *cfg, struct stage_ctx *sc, struct flow_rec *r);
	/* optional per-worker state: NULL from state_new is an allocation failure */
	void *(*state_new)(const void *cfg);
	void (*state_free)(void *state);
};

struct stage_inst {
	const struct stage_desc *d;
	const void *cfg; /* owned by the caller, outlives the pipeline */
	int map_slot;	 /* maps slot read at batch start, -1 for none */
};

struct pipeline {
	struct stage_inst st[PIPELINE_MAX];
	unsigned n;
	uint64_t writes; /* union of the stages' writes */
	const struct maps *maps;
};

/* Called for every record no stage dropped: the worker's accounting. */
typedef void (*pipeline_sink_fn)(void *arg, struct flow_rec *r);

struct pipeline_worker {
	const struct pipeline *p;
	pipeline_sink_fn sink;
	void *sink_arg;
	struct stage_ctx sc[PIPELINE_MAX];
	uint64_t dropped; /* records a stage dropped */
};

/* An empty chain; maps may be NULL when no stage uses a map. */
void pipeline_init(struct pipeline *p, const struct maps *maps);

/*
 * Append a stage (start-up only).  cfg is passed to run() as is; map_slot is
 * a maps_register() slot whose current map the stage gets in sc->map, or -1.
 * Returns 0, or -1 with a reason (chain full, slot without a registry).
 */
int pipeline_add(struct pipeline *p, const struct stage_desc *d, const void *cfg, int map_slot,
		 char *err, size_t errlen);

/* Per-worker context.  Returns 0, or -1 when a stage's state_new fails. */
int pipeline_worker_init(struct pipeline_worker *w, const struct pipeline *p, pipeline_sink_fn sink,
			 void *sink_arg, char *err, size_t errlen);
void pipeline_worker_free(struct pipeline_worker *w);

/*
 * Batch boundaries: begin takes each stage's map once (acquire), end drops
 * them.  A worker outside begin..end holds no map: its quiescent point for
 * maps_release_retired().  Call begin before the first record of a batch
 * (e.g. a recvmmsg round) and end after the last.
 */
static inline void pipeline_batch_begin(struct pipeline_worker *w)
{
	const struct pipeline *p = w->p;
	for (unsigned i = 0; i < p->n; i++)
		if (p->st[i].map_slot >= 0)
			w->sc[i].map = maps_current(p->maps, p->st[i].map_slot);
}

static inline void pipeline_batch_end(struct pipeline_worker *w)
{
	for (unsigned i = 0; i < w->p->n; i++)
		w->sc[i].map = NULL;
}

/*
 * Run r through the chain and hand it to the sink unless a stage drops it;
 * then restore r->present (see above).  Returns the verdict.
 */
static inline enum stage_verdict pipeline_run(struct pipeline_worker *w, struct flow_rec *r)
{
	const struct pipeline *p = w->p;
	uint64_t present = r->present;
	enum stage_verdict v = STAGE_KEEP;
	for (unsigned i = 0; i < p->n; i++)
		if ((v = p->st[i].d->run(p->st[i].cfg, &w->sc[i], r)) != STAGE_KEEP) {
			w->dropped++;
			break;
		}
	if (v == STAGE_KEEP)
		w->sink(w->sink_arg, r);
	r->present = present;
	return v;
}

#endif
