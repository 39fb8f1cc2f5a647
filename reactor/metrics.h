/*
 * The daemon's counters for machines: a Prometheus text endpoint
 * (metrics_listen, served by reactor/metrics_http.c on the main thread's
 * loop) and a JSON file rewritten atomically (stats_file).
 *
 * Nothing is locked per record.  A scrape (or the stats_file timer) asks
 * every worker, through its own loop, to copy its counters into its
 * snapshot (struct mx_snap, between two batches); the last worker to
 * answer wakes the main loop, which renders the snapshots and the outputs'
 * atomic counters.  A worker writes its snapshot only when asked and the
 * main thread reads it only once every worker answered, so the snapshots
 * need no lock either.
 */
#ifndef NETACCT_REACTOR_METRICS_H
#define NETACCT_REACTOR_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct daemon_ctx;
struct obuf;

enum mx_type {
	MX_COUNTER,
	MX_GAUGE,
};

/* A metric family: its name, help text and type, each defined once (static). */
struct mx_family {
	const char *name;
	const char *help;
	enum mx_type type;
	int usec; /* the values are microseconds, rendered as seconds */
};

#define MX_MAX_LABELS 3
#define MX_LABEL_LEN  64

struct mx_sample {
	const struct mx_family *f;
	uint64_t value;
	unsigned nlabels;
	struct {
		const char *key;
		char value[MX_LABEL_LEN];
	} l[MX_MAX_LABELS];
};

/* One producer's samples (a worker's, or the main thread's for the outputs). */
struct mx_snap {
	struct mx_sample *s;
	size_t n, cap;
	int failed; /* a sample did not fit (out of memory): the snapshot is partial */
};

void mx_snap_init(struct mx_snap *s);
void mx_snap_reset(struct mx_snap *s);
void mx_snap_free(struct mx_snap *s);

/*
 * Add a sample with nlabels (key, value) string pairs after `value`.
 * Keys are static strings; values are copied (cut at MX_LABEL_LEN - 1).
 * Returns 0, or -1 (s->failed set) when out of memory.
 */
int mx_put(struct mx_snap *s, const struct mx_family *f, uint64_t value, unsigned nlabels, ...);

/*
 * Render snapshots: every family once, its samples from all snapshots
 * together (Prometheus requires a family's lines to be contiguous), in the
 * order families first appear.  Returns 0 or -1 (out of memory).
 */
int mx_render_prometheus(struct obuf *out, const struct mx_snap *const *snaps, size_t nsnaps);
/*
 * The same as one JSON object: {"timestamp": t, "metrics": {"name":
 * [{"labels": {...}, "value": v}, ...], ...}}.
 */
int mx_render_json(struct obuf *out, const struct mx_snap *const *snaps, size_t nsnaps,
		   int64_t timestamp);

/*
 * Write `data` to `path` atomically: a temporary file beside it, fsync,
 * rename.  Returns 0, or -1 with the reason in err.
 */
int mx_write_file(const char *path, const char *data, size_t len, char *err, size_t errlen);

/* ---- the daemon's endpoint and stats file (main thread) ---- */

/*
 * Start what is configured (metrics_listen, stats_file) on the main loop,
 * once the workers run.  Nothing configured: nothing started (ctx->metrics
 * stays NULL).  Returns 0, or -1 with err (e.g. the address is in use).
 */
int metrics_start(struct daemon_ctx *ctx, char *err, size_t errlen);

/*
 * A worker filled its snapshot as asked (worker thread): the last one
 * wakes the main loop.
 */
void metrics_worker_done(struct daemon_ctx *ctx);

/*
 * After the workers stopped (joined) and the writers wrote their last
 * tables: write the stats file a last time, answer pending scrapes and free
 * everything.  NULL-safe.
 */
void metrics_stop(struct daemon_ctx *ctx);

#endif
