#include "reactor/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/cli.h"
#include "out/buf.h"
#include "out/writer.h"
#include "agg/flow_to_rd.h"
#include "agg/stages.h"
#include "reactor/enrich.h"
#include "reactor/input.h"
#include "reactor/loop.h"
#include "reactor/metrics.h"
#include "reactor/socket.h"
#include "reactor/worker.h"

static int write_pidfile(struct daemon_ctx *ctx, char *err, size_t errlen)
{
	const char *path = ctx->conf.pidfile;
	if (!path || !*path)
		return 0;
	FILE *fp = fopen(path, "w");
	if (!fp) {
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(fp, "%d\n", (int)getpid());
	if (fclose(fp) != 0) {
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	ctx->pidfile_written = 1;
	return 0;
}

static int daemonize(char *err, size_t errlen)
{
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		_exit(0);
	if (setsid() < 0) {
		snprintf(err, errlen, "setsid: %s", strerror(errno));
		return -1;
	}
	pid = fork(); /* never reacquire a controlling terminal */
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		_exit(0);
	int fd = open("/dev/null", O_RDWR);
	if (fd < 0) {
		snprintf(err, errlen, "open /dev/null: %s", strerror(errno));
		return -1;
	}
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

static void log_map(void *arg, int error, const char *msg)
{
	struct daemon_ctx *ctx = arg;
	nt_log(&ctx->log, error ? LOG_LVL_ERROR : LOG_LVL_INFO, CORE_COMPONENT, "%s", msg);
}

/* Register the configured maps, load them and build the record pipeline. */
static int setup_pipeline(struct daemon_ctx *ctx, char *err, size_t errlen)
{
	const struct conf *c = &ctx->conf;
	struct pipeline_std std = {.sampling_map_slot = -1,
				   .renormalize = c->nfacctd_renormalize || c->sfacctd_renormalize};
	maps_init(&ctx->maps, log_map, ctx);
	if (c->flow_to_rd_map && *c->flow_to_rd_map) {
		int slot = maps_register(&ctx->maps, "flow_to_rd_map", c->flow_to_rd_map,
					 &f2rd_map_type, err, errlen);
		if (slot < 0)
			return -1;
		std.flow_to_rd_slot = slot + 1;
	}
	if (c->flow_to_rd_map && *c->flow_to_rd_map) {
		int slot = maps_register(&ctx->maps, "flow_to_rd_map", c->flow_to_rd_map,
					 &f2rd_map_type, err, errlen);
		if (slot < 0)
			return -1;
		std.flow_to_rd_slot = slot + 1;
	}
	if (c->sampling_map && *c->sampling_map) {
		std.sampling_map_slot = maps_register(&ctx->maps, "sampling_map", c->sampling_map,
						      &sampling_map_type, err, errlen);
		if (std.sampling_map_slot < 0)
			return -1;
	}
	for (unsigned i = 0; i < ctx->nout; i++)
		if (ctx->out[i].mod->register_maps &&
		    ctx->out[i].mod->register_maps(&ctx->out[i], &ctx->maps, err, errlen) < 0)
			return -1;
	if (enrich_setup(&ctx->enrich, &ctx->enrich_out, &ctx->maps, c, ctx->out, ctx->nout, err,
			 errlen) < 0)
		return -1;
	std.enrich = &ctx->enrich;
	if (tagging_setup(&ctx->tagging, c, &ctx->maps, err, errlen) < 0)
		return -1;
	std.pretag = ctx->tagging.pretag;
	std.pretag_slot = ctx->tagging.pretag_slot;
	for (unsigned i = 0; i < ctx->nout; i++) {
		const struct out_select *sel = &ctx->tagging.sel[i];
		ctx->out[i].maps = &ctx->maps;
		ctx->out[i].pretag_slot = ctx->tagging.pretag ? ctx->tagging.pretag_slot
					  : sel->has_map      ? sel->map_slot
							      : -1;
	}
	if (maps_load_all(&ctx->maps, err, errlen) < 0)
		return -1;
	for (unsigned i = 0; i < ctx->nout; i++)
		std.tcp_flags |= keyspec_has(&ctx->out[i].ks, "tcpflags");
	return pipeline_build_std(&ctx->pipe, &ctx->maps, &std, err, errlen);
}

/* SIGUSR2: reload every map; workers keep the old ones until they pass a quiescent point. */
static void reload_maps(struct daemon_ctx *ctx)
{
	if (!ctx->conf.maps_refresh) {
		nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
		       "SIGUSR2: maps_refresh is false, maps not reloaded");
		return;
	}
	int swapped = maps_reload_all(&ctx->maps);
	if (swapped <= 0 || !maps_settling(&ctx->maps))
		return; /* nothing swapped, or deferred until the previous reload settles */
	atomic_store(&ctx->quiesce_pending, ctx->nworkers);
	for (unsigned i = 0; i < ctx->nworkers; i++)
		worker_request_quiesce(&ctx->workers[i]);
}

/* Every worker passed a quiescent point: free the retired maps (main thread). */
static void on_maps_settled(void *arg)
{
	struct daemon_ctx *ctx = arg;
	if (maps_release_retired(&ctx->maps) == 1)
		reload_maps(ctx); /* a SIGUSR2 came while settling */
}

void daemon_maps_quiescent(struct daemon_ctx *ctx)
{
	if (atomic_fetch_sub(&ctx->quiesce_pending, 1) == 1)
		nt_ev_trigger(ctx->ev_maps_settled);
}

struct signal_arg {
	struct daemon_ctx *ctx;
	int sig;
};

static void on_signal(void *arg)
{
	struct daemon_ctx *ctx = ((struct signal_arg *)arg)->ctx;
	int sig = ((struct signal_arg *)arg)->sig;
	switch (sig) {
	case SIGINT:
	case SIGTERM:
		nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
		       "%s received: flushing outputs and exiting",
		       sig == SIGINT ? "SIGINT" : "SIGTERM");
		nt_loop_break(ctx->loop);
		break;
	case SIGHUP:
		if (logger_reopen(&ctx->log) < 0)
			nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "SIGHUP: cannot reopen %s",
			       ctx->log.path);
		else
			nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
			       "SIGHUP: log file reopened");
		for (unsigned i = 0; i < ctx->nout; i++)
			writer_request_reopen(ctx->out[i].writer);
		break;
	case SIGUSR2:
		reload_maps(ctx);
		break;
	case SIGUSR1:
		for (unsigned i = 0; i < ctx->nout; i++) {
			struct out_instance *oi = &ctx->out[i];
			struct obuf line;
			obuf_init(&line, 0);
			if (writer_format_stats(oi->writer, &line) == 0)
				nt_log(&ctx->log, LOG_LVL_INFO, oi->component, "%s", line.data);
			obuf_free(&line);
			writer_request_stats(oi->writer);
		}
		for (unsigned i = 0; i < ctx->nworkers; i++)
			worker_request_stats(&ctx->workers[i]);
		break;
	}
}

/* The line operators (and scripts) wait for: where the daemon reads from. */
static void log_ready(struct daemon_ctx *ctx)
{
	const struct input_module *in = ctx->desc->input;
	struct input_endpoint ep = {0};
	if (daemon_reads_savefile(ctx)) {
		nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
		       "reading %s data from pcap_savefile %s (%u workers)", in->name,
		       ctx->conf.pcap_savefile, ctx->nworkers);
		return;
	}
	if (in->kind == INPUT_CAPTURE) {
		char what[512] = "";
		if (in->describe)
			in->describe(&ctx->conf, what, sizeof what);
		nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
		       "capturing %s data on %s (%u workers)", in->name, what, ctx->nworkers);
		return;
	}
	in->endpoint(&ctx->conf, &ep);
	nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
	       "waiting for %s data on %s:%d/%s (%u workers)", in->name,
	       ep.ip && *ep.ip ? ep.ip : "::", ep.port, in->proto, ctx->nworkers);
}

/*
 * SO_REUSEPORT lets a second daemon bind a port another one serves and take
 * part of its traffic without a word.  Refuse that, as any address in use,
 * unless the operator asked for instances sharing the port (cluster_name).
 */
static int check_port_free(struct daemon_ctx *ctx, char *err, size_t errlen)
{
	struct input_endpoint ep = {0};
	const struct conf *c = &ctx->conf;
	if ((c->cluster_name && *c->cluster_name) || daemon_reads_savefile(ctx) ||
	    ctx->desc->input->kind == INPUT_CAPTURE)
		return 0;
	ctx->desc->input->endpoint(c, &ep);
	return port_unused(ep.ip, ep.port, ctx->desc->input->kind == INPUT_STREAM, err, errlen);
}

int daemon_reads_savefile(const struct daemon_ctx *ctx)
{
	const char *f = ctx->conf.pcap_savefile;
	return f && *f;
}

static unsigned worker_count(const struct daemon_ctx *ctx)
{
	const struct conf *c = &ctx->conf;
	if (daemon_reads_savefile(ctx))
		return 1; /* one reader: the file's order is the order of accounting */
	long n = c->reactor_workers > 0 ? c->reactor_workers : sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	/* a live packet source may not be shareable (NFLOG) or only by fanout */
	const struct input_module *in = ctx->desc->input;
	unsigned max = in->kind == INPUT_CAPTURE && in->max_workers ? in->max_workers(c) : 0;
	return max && (unsigned)n > max ? max : (unsigned)n;
}

/* A name or a number: the id in *id, 0; -1 when neither. */
static int lookup_id(const char *v, int is_group, unsigned *id)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);
	if (*v && !*end) {
		*id = (unsigned)n;
		return 0;
	}
	if (is_group) {
		struct group *g = getgrnam(v);
		if (!g)
			return -1;
		*id = g->gr_gid;
	} else {
		struct passwd *p = getpwnam(v);
		if (!p)
			return -1;
		*id = p->pw_uid;
	}
	return 0;
}

/*
 * user/group: once every capture and socket is open, give up root.  The
 * group first (setuid would forbid it after), supplementary groups cleared.
 */
static int drop_privileges(struct daemon_ctx *ctx, char *err, size_t errlen)
{
	const char *user = ctx->conf.user, *group = ctx->conf.group;
	unsigned uid = 0, gid = 0;
	int have_user = user && *user, have_group = group && *group;
	if (!have_user && !have_group)
		return 0;
	if (have_user && lookup_id(user, 0, &uid) < 0) {
		snprintf(err, errlen, "key 'user': no user '%s'", user);
		return -1;
	}
	if (have_group && lookup_id(group, 1, &gid) < 0) {
		snprintf(err, errlen, "key 'group': no group '%s'", group);
		return -1;
	}
	if (!have_group) {
		struct passwd *p = getpwuid((uid_t)uid);
		if (!p) {
			snprintf(err, errlen,
				 "key 'user': uid %u has no entry to take its group from", uid);
			return -1;
		}
		gid = p->pw_gid;
	}
	gid_t g = (gid_t)gid;
	if (setgroups(1, &g) < 0 || setgid(g) < 0) {
		snprintf(err, errlen, "key 'group': cannot switch to gid %u: %s", gid,
			 strerror(errno));
		return -1;
	}
	if (have_user && setuid((uid_t)uid) < 0) {
		snprintf(err, errlen, "key 'user': cannot switch to uid %u: %s", uid,
			 strerror(errno));
		return -1;
	}
	nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT, "running as uid %u gid %u",
	       (unsigned)getuid(), (unsigned)getgid());
	return 0;
}

/* Block the daemon's signals in every thread but main (libevent serves them there). */
static void mask_signals(int how)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGHUP);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(how, &s, NULL);
}

static void shutdown_all(struct daemon_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->nworkers; i++)
		if (ctx->workers[i].started)
			worker_request_stop(&ctx->workers[i]);
	for (unsigned i = 0; i < ctx->nworkers; i++)
		worker_join(&ctx->workers[i]);
	for (unsigned i = 0; i < ctx->nout; i++) {
		writer_stop(ctx->out[i].writer);
		ctx->out[i].writer = NULL;
		if (ctx->out[i].state)
			ctx->out[i].mod->close(&ctx->out[i]);
	}
	metrics_stop(ctx); /* the final stats_file: workers joined, last tables written */
	for (unsigned i = 0; i < ctx->nworkers; i++)
		worker_free(&ctx->workers[i]);
	free(ctx->workers);
	ctx->workers = NULL;
	if (ctx->pidfile_written)
		unlink(ctx->conf.pidfile);
}

static void on_finish(void *arg)
{
	struct daemon_ctx *ctx = arg;
	nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
	       "input ended: flushing outputs and exiting");
	nt_loop_break(ctx->loop);
}

void daemon_request_finish(struct daemon_ctx *ctx)
{
	nt_ev_trigger(ctx->ev_finish);
}

int daemon_run(const struct daemon_desc *desc, int argc, char **argv)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
	struct nt_ev *sev[sizeof sigs / sizeof sigs[0]] = {0};
	struct signal_arg sarg[sizeof sigs / sizeof sigs[0]];
	struct daemon_ctx *ctx = calloc(1, sizeof *ctx);
	const struct conf_daemon cd = {desc->bit, desc->name};
	const struct conf_daemon *d = &cd;
	char err[1024];
	int rc = 1;

	if (!ctx) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	ctx->d = cd;
	ctx->desc = desc;
	logger_init_stderr(&ctx->log);
	conf_init(&ctx->conf, desc->schema);

	switch (cli_parse(argc, argv, &ctx->conf, d, stdout, err, sizeof err)) {
	case CLI_EXIT_OK:
		rc = 0;
		goto out;
	case CLI_EXIT_ERR:
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "%s", err);
		goto out;
	case CLI_RUN:
		break;
	}
	if (ctx->conf.aggregate_primitives && *ctx->conf.aggregate_primitives &&
	    prim_registry_load(&ctx->prims, ctx->conf.aggregate_primitives, err, sizeof err) < 0) {
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "aggregate_primitives: %s", err);
		goto out;
	}
	for (unsigned i = 0; i < ctx->conf.nplugins; i++) {
		if (out_instance_init(&ctx->out[i], &ctx->conf, &ctx->conf.plugin[i], &ctx->prims,
				      &ctx->log, err, sizeof err) < 0) {
			nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "%s", err);
			goto out;
		}
		ctx->nout++;
	}

	logger_set_core_name(&ctx->log, ctx->conf.core_proc_name);
	/* the configuration is valid: from here on, log where the operator asked */
	if (logger_configure(&ctx->log, ctx->conf.logfile, ctx->conf.syslog, ctx->conf.debug, err,
			     sizeof err) < 0) {
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "%s", err);
		goto out;
	}
	nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT, "%s (netacct %s) starting%s%s", d->name,
	       PACKAGE_VERSION, ctx->conf.config_file ? ", configuration " : "",
	       ctx->conf.config_file ? ctx->conf.config_file : "");
	if (conf_notices(&ctx->conf)) {
		const char *p = conf_notices(&ctx->conf);
		while (*p) {
			size_t l = strcspn(p, "\n");
			nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT, "%.*s", (int)l, p);
			p += l + (p[l] == '\n');
		}
	}
	if (setup_pipeline(ctx, err, sizeof err) < 0) {
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "%s", err);
		goto out;
	}

	if (ctx->conf.daemonize && daemonize(err, sizeof err) < 0) {
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "%s", err);
		goto out;
	}
	/* threads (and libevent locking) only after the last fork */
	if (nt_loop_threads() < 0) {
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT,
		       "cannot enable the event library's thread support");
		goto out;
	}
	ctx->loop = nt_loop_new();
	ctx->ev_finish = ctx->loop ? nt_ev_wakeup(ctx->loop, on_finish, ctx) : NULL;
	ctx->ev_maps_settled = ctx->loop ? nt_ev_wakeup(ctx->loop, on_maps_settled, ctx) : NULL;
	if (!ctx->ev_finish || !ctx->ev_maps_settled) {
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT,
		       "cannot create the main event loop");
		goto out;
	}
	if (desc->input->global_init &&
	    desc->input->global_init(ctx, &ctx->input_global, err, sizeof err) < 0) {
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "%s", err);
		goto out;
	}
	if (check_port_free(ctx, err, sizeof err) < 0) {
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "%s", err);
		goto out;
	}
	ctx->nworkers = worker_count(ctx);
	ctx->workers = calloc(ctx->nworkers, sizeof *ctx->workers);
	if (!ctx->workers) {
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < ctx->nworkers; i++)
		if (worker_init(&ctx->workers[i], ctx, i, err, sizeof err) < 0) {
			nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "%s", err);
			goto out;
		}
	if (ctx->nworkers > 1 && ctx->workers[0].fd >= 0 &&
	    udp_steer_by_source(ctx->workers[0].fd, ctx->nworkers, err, sizeof err) < 0)
		nt_log(&ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
		       "%s: exporters are spread by the kernel's 4-tuple hash, so one that "
		       "changes source port may change worker (and wait for its templates)",
		       err);
	if (write_pidfile(ctx, err, sizeof err) < 0 || drop_privileges(ctx, err, sizeof err) < 0) {
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "%s", err);
		goto out;
	}
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		sarg[i] = (struct signal_arg){ctx, sigs[i]};
		sev[i] = nt_ev_signal(ctx->loop, sigs[i], on_signal, &sarg[i]);
		if (!sev[i]) {
			nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT,
			       "cannot install signal handlers");
			goto out;
		}
	}
	signal(SIGPIPE, SIG_IGN);

	mask_signals(SIG_BLOCK);
	for (unsigned i = 0; i < ctx->nout; i++) {
		struct out_instance *oi = &ctx->out[i];
		oi->nworkers = ctx->nworkers;
		if (oi->mod->open(oi, err, sizeof err) < 0 ||
		    writer_start(&oi->writer, oi, ctx->nworkers,
				 (unsigned)oi->conf->flush_queue_size, err, sizeof err) < 0) {
			mask_signals(SIG_UNBLOCK);
			nt_log(&ctx->log, LOG_LVL_ERROR, oi->component, "%s", err);
			goto out;
		}
		if (!out_takes(oi, OUT_SINK_TABLE))
			continue;
		nt_log(&ctx->log, LOG_LVL_INFO, oi->component,
		       "aggregate [%s], refresh %d s, key %u bytes",
		       oi->conf->aggregate ? oi->conf->aggregate : "", oi->refresh, oi->ks.key_len);
	}
	for (unsigned i = 0; i < ctx->nworkers; i++)
		if (worker_start(&ctx->workers[i], err, sizeof err) < 0) {
			mask_signals(SIG_UNBLOCK);
			nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "%s", err);
			goto out;
		}
	mask_signals(SIG_UNBLOCK);
	if (metrics_start(ctx, err, sizeof err) < 0) {
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "%s", err);
		goto out;
	}

	log_ready(ctx);
	nt_loop_run(ctx->loop);
	rc = 0;
out:
	if (ctx->workers)
		shutdown_all(ctx);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		nt_ev_free(sev[i]);
	/* after the workers: the NetFlow input writes its templates file here */
	if (ctx->input_global && desc->input->global_free)
		desc->input->global_free(ctx->input_global);
	nt_ev_free(ctx->ev_finish);
	nt_loop_free(ctx->loop);
	if (rc == 0 && ctx->nout)
		nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT, "exiting");
	/* workers are gone: nobody can hold a map pointer any more */
	maps_free(&ctx->maps);
	tagging_free(&ctx->tagging);
	nt_ev_free(ctx->ev_maps_settled);
	logger_close(&ctx->log);
	conf_free(&ctx->conf);
	free(ctx);
	return rc;
}
