/*
 * A daemon's top-level context: the only home of process-wide state.
 * Each daemon's main() is a thin wrapper around daemon_run().
 */
#ifndef NETACCT_REACTOR_DAEMON_H
#define NETACCT_REACTOR_DAEMON_H

#include <stdatomic.h>

#include "agg/primitive.h"
#include "conf/config.h"
#include "out/output.h"
#include "reactor/log.h"

struct worker;
struct event_base;
struct nf_sampling_map;
struct tpl_sync;

struct daemon_ctx {
	struct conf conf;
	struct conf_daemon d;
	struct logger log;
	struct prim_registry prims;
	struct out_instance out[CONF_MAX_PLUGINS];
	unsigned nout;
	struct worker *workers;
	unsigned nworkers;
	struct event_base *base; /* main thread: signals only */
	int pidfile_written;
	struct tpl_sync *tpl; /* nfacctd_templates_file; NULL when unset */

	/*
	 * Maps reloaded on SIGUSR2 are swapped in with one atomic pointer store;
	 * workers read the pointer once per receive batch.  The old map is freed
	 * by the last worker to pass a quiescent point (its ev_quiesce callback,
	 * which never runs inside a batch), so no worker can still be reading it.
	 */
	struct nf_sampling_map *_Atomic sampling_map;
	struct nf_sampling_map *retired_map;
	atomic_uint quiesce_pending;
};

#define CORE_COMPONENT "default/core"

/* Parse argv, validate, start, run until SIGINT/SIGTERM; returns the exit code. */
int daemon_run(const struct conf_daemon *d, int argc, char **argv);

#endif
