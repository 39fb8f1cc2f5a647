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
struct nt_loop;
struct nt_ev;
struct nf_sampling_map;
struct input_module;

/*
 * A daemon: its name (logs, config scoping), its D_* bit and the input
 * module it runs.  One generic daemon_run() serves every descriptor.
 */
struct daemon_desc {
	const char *name;
	unsigned bit;
	const struct input_module *input;
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
int daemon_run(const struct daemon_desc *desc, int argc, char **argv);

/* Any thread: the daemon's input has ended; flush and exit as on SIGTERM. */
void daemon_request_finish(struct daemon_ctx *ctx);

#endif
