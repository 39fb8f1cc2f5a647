/*
 * A daemon's top-level context: the only home of process-wide state.
 * Each daemon's main() is a thin wrapper around daemon_run().
 */
#ifndef NETACCT_REACTOR_DAEMON_H
#define NETACCT_REACTOR_DAEMON_H

#include <stdatomic.h>

#include "agg/maps.h"
#include "agg/pipeline.h"
#include "agg/stages.h"
#include "reactor/enrich.h"
#include "agg/primitive.h"
#include "agg/tagging.h"
#include "conf/config.h"
#include "out/output.h"
#include "reactor/log.h"

struct worker;
struct nt_loop;
struct nt_ev;
struct input_module;
struct metrics;

/*
 * A daemon: its name (logs, config scoping), its D_* bit and the input
 * module it runs.  One generic daemon_run() serves every descriptor.
 */
struct daemon_desc {
	const char *name;
	unsigned bit;
	const struct input_module *input;
	/*
	 * The keys it accepts: core, its input's, outputs'.  The capture keys
	 * (conf_keys_pcap) belong only to daemons whose input takes datagrams.
	 */
	const struct conf_schema *schema;
};

struct daemon_ctx {
	struct conf conf;
	struct conf_daemon d;
	struct logger log;
	struct prim_registry prims;
	struct out_instance out[CONF_MAX_PLUGINS];
	unsigned nout;
	const struct daemon_desc *desc;
	void *input_global; /* the input module's daemon-wide state */
	struct worker *workers;
	unsigned nworkers;
	struct nt_loop *loop;	 /* main thread: signals and worker requests */
	struct nt_ev *ev_finish; /* a worker's input ended (pcap_savefile): exit */
	int pidfile_written;

	/*
	 * Reloadable maps (SIGUSR2 when maps_refresh) and the record pipeline
	 * built from configuration; both read-only for workers, which take a
	 * map snapshot per batch.  After a swap every worker acknowledges a
	 * quiescent point (an event served between batches); the last one
	 * wakes the main loop, which frees the retired maps.
	 */
	struct maps maps;
	struct pipeline pipe;
	struct pipeline_enrich enrich; /* the enrichment stages' configuration (reactor/enrich.h) */
	struct enrich_outputs enrich_out; /* per output: lookup files applied to its keys */
	struct tagging tagging;		  /* pre_tag_map and each output's filters / post_tag */
	atomic_uint quiesce_pending;
	struct nt_ev *ev_maps_settled;

	struct metrics *metrics; /* metrics_listen / stats_file (reactor/metrics.h), or NULL */
};

#define CORE_COMPONENT "default/core"

/* Parse argv, validate, start, run until SIGINT/SIGTERM; returns the exit code. */
int daemon_run(const struct daemon_desc *desc, int argc, char **argv);

/*
 * Whether the source is a capture file (pcap_savefile).  Only daemons whose
 * input takes datagrams have the capture keys in their schema.
 */
int daemon_reads_savefile(const struct daemon_ctx *ctx);

/* A worker passed its quiescent point after a map swap (worker thread). */
void daemon_maps_quiescent(struct daemon_ctx *ctx);

/* Any thread: the daemon's input has ended; flush and exit as on SIGTERM. */
void daemon_request_finish(struct daemon_ctx *ctx);

#endif
