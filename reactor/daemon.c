#include "reactor/daemon.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/cli.h"
#include "out/writer.h"
#include "proto/nf_sampling.h"
#include "reactor/socket.h"
#include "reactor/templates_sync.h"
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

/* Load sampling_map (start-up and SIGUSR2).  Returns -1 and logs on error. */
static int load_maps(struct daemon_ctx *ctx, int reload)
{
	char err[1024];
	const char *path = ctx->conf.sampling_map;
	struct nf_sampling_map *m = NULL;
	if (!path || !*path)
		return 0;
	if (reload && atomic_load(&ctx->quiesce_pending) != 0) {
		nt_log(&ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
		       "SIGUSR2: previous map reload still settling, try again");
		return -1;
	}
	if (nf_sampling_map_load(&m, path, err, sizeof err) < 0) {
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "sampling_map: %s%s", err,
		       reload ? " (keeping the previous map)" : "");
		return -1;
	}
	struct nf_sampling_map *old = atomic_exchange(&ctx->sampling_map, m);
	nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT, "sampling_map %s: %zu entries %s", path,
	       nf_sampling_map_count(m), reload ? "reloaded" : "loaded");
	if (!old)
		return 0;
	if (!ctx->workers) {
		nf_sampling_map_free(old);
		return 0;
	}
	ctx->retired_map = old;
	atomic_store(&ctx->quiesce_pending, ctx->nworkers);
	for (unsigned i = 0; i < ctx->nworkers; i++)
		worker_request_quiesce(&ctx->workers[i]);
	return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_ctx *ctx = arg;
	(void)what;
	switch (sig) {
	case SIGINT:
	case SIGTERM:
		nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
		       "%s received: flushing outputs and exiting",
		       sig == SIGINT ? "SIGINT" : "SIGTERM");
		event_base_loopbreak(ctx->base);
		break;
	case SIGHUP:
		if (logger_reopen(&ctx->log) < 0)
			nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "SIGHUP: cannot reopen %s",
			       ctx->log.path);
		else
			nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
			       "SIGHUP: log file reopened");
		break;
	case SIGUSR2:
		load_maps(ctx, 1);
		break;
	case SIGUSR1:
		for (unsigned i = 0; i < ctx->nout; i++) {
			struct out_instance *oi = &ctx->out[i];
			nt_log(&ctx->log, LOG_LVL_INFO, oi->component,
			       "stats output written_entries=%llu dropped_tables=%llu "
			       "dropped_records=%llu write_errors=%llu",
			       (unsigned long long)atomic_load(&oi->written_entries),
			       (unsigned long long)atomic_load(&oi->dropped_tables),
			       (unsigned long long)atomic_load(&oi->dropped_records),
			       (unsigned long long)atomic_load(&oi->write_errors));
		}
		for (unsigned i = 0; i < ctx->nworkers; i++)
			worker_request_stats(&ctx->workers[i]);
		break;
	}
}

static unsigned worker_count(const struct conf *c)
{
	if (c->reactor_workers > 0)
		return (unsigned)c->reactor_workers;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
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
	for (unsigned i = 0; i < ctx->nworkers; i++)
		worker_free(&ctx->workers[i]);
	free(ctx->workers);
	ctx->workers = NULL;
	if (ctx->tpl) {
		/* the last template changes of the workers, written before exit */
		tpl_sync_flush(ctx->tpl);
		tpl_sync_free(ctx->tpl);
		free(ctx->tpl);
		ctx->tpl = NULL;
	}
	/* workers are gone: nobody can hold a map pointer any more */
	nf_sampling_map_free(ctx->retired_map);
	ctx->retired_map = NULL;
	if (ctx->pidfile_written)
		unlink(ctx->conf.pidfile);
}

int daemon_run(const struct conf_daemon *d, int argc, char **argv)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
	struct event *sev[sizeof sigs / sizeof sigs[0]] = {0};
	struct daemon_ctx *ctx = calloc(1, sizeof *ctx);
	char err[1024];
	int rc = 1;

	if (!ctx) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	ctx->d = *d;
	logger_init_stderr(&ctx->log);
	conf_init(&ctx->conf, &out_schema_nfacctd);

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
	if (load_maps(ctx, 0) < 0)
		goto out;

	if (ctx->conf.daemonize && daemonize(err, sizeof err) < 0) {
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "%s", err);
		goto out;
	}
	/* threads (and libevent locking) only after the last fork */
	if (evthread_use_pthreads() < 0) {
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "evthread_use_pthreads failed");
		goto out;
	}
	ctx->base = event_base_new();
	if (!ctx->base) {
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "event_base_new failed");
		goto out;
	}
	if (ctx->conf.nfacctd_templates_file && *ctx->conf.nfacctd_templates_file) {
		ctx->tpl = calloc(1, sizeof *ctx->tpl);
		if (!ctx->tpl || tpl_sync_init(ctx->tpl, ctx->conf.nfacctd_templates_file,
					       ctx->base, &ctx->log, err, sizeof err) < 0) {
			nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "%s",
			       ctx->tpl ? err : "out of memory");
			goto out;
		}
	}
	ctx->nworkers = worker_count(&ctx->conf);
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
	if (ctx->nworkers > 1 &&
	    udp_steer_by_source(ctx->workers[0].fd, ctx->nworkers, err, sizeof err) < 0)
		nt_log(&ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
		       "%s: exporters are spread by the kernel's 4-tuple hash, so one that "
		       "changes source port may change worker (and wait for its templates)",
		       err);
	if (ctx->tpl && ctx->workers[0].templates_loaded)
		tpl_sync_seed(ctx->tpl);
	if (write_pidfile(ctx, err, sizeof err) < 0) {
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "%s", err);
		goto out;
	}
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		sev[i] = evsignal_new(ctx->base, sigs[i], on_signal, ctx);
		if (!sev[i] || event_add(sev[i], NULL) < 0) {
			nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT,
			       "cannot install signal handlers");
			goto out;
		}
	}
	signal(SIGPIPE, SIG_IGN);

	mask_signals(SIG_BLOCK);
	for (unsigned i = 0; i < ctx->nout; i++) {
		struct out_instance *oi = &ctx->out[i];
		if (oi->mod->open(oi, err, sizeof err) < 0 ||
		    writer_start(&oi->writer, oi, ctx->nworkers,
				 (unsigned)oi->conf->flush_queue_size, err, sizeof err) < 0) {
			mask_signals(SIG_UNBLOCK);
			nt_log(&ctx->log, LOG_LVL_ERROR, oi->component, "%s", err);
			goto out;
		}
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

	nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
	       "waiting for NetFlow/IPFIX data on %s:%d/udp (%u workers)",
	       ctx->conf.nfacctd_ip && *ctx->conf.nfacctd_ip ? ctx->conf.nfacctd_ip : "::",
	       ctx->conf.nfacctd_port, ctx->nworkers);
	event_base_dispatch(ctx->base);
	rc = 0;
out:
	if (ctx->workers)
		shutdown_all(ctx);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (sev[i])
			event_free(sev[i]);
	if (ctx->base)
		event_base_free(ctx->base);
	if (rc == 0 && ctx->nout)
		nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT, "exiting");
	nf_sampling_map_free(atomic_exchange(&ctx->sampling_map, NULL));
	logger_close(&ctx->log);
	conf_free(&ctx->conf);
	free(ctx);
	return rc;
}
