/*
 * nfacctd_templates_file for a multi-worker daemon.
 *
 * Exporters are spread over workers, each with its own template cache, but
 * the file is one document.  Workers report an exporter whose templates
 * changed (its serialised entry, built on the worker); the main thread keeps
 * the latest entry per exporter and rewrites the file at most once a second,
 * and once more at shutdown.  At start every worker loads the whole file, so
 * whichever worker the kernel gives an exporter to can decode at once.
 */
#ifndef NETACCT_REACTOR_TEMPLATES_SYNC_H
#define NETACCT_REACTOR_TEMPLATES_SYNC_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>

#include "proto/netflow.h"
#include "reactor/log.h"

struct nt_ev;
struct nt_loop;

struct tpl_sync {
	pthread_mutex_t mu;
	json_t *by_addr; /* exporter address -> entry */
	char *path;
	struct logger *log;
	struct nt_ev *ev_flush; /* on the main loop */
	int armed;
};

int tpl_sync_init(struct tpl_sync *s, const char *path, struct nt_loop *loop, struct logger *log,
		  char *err, size_t errlen);
/*
 * Carry the file's current entries forward; call only once the file has
 * been validated (a worker loaded it), so a rejected file is never rewritten.
 */
void tpl_sync_seed(struct tpl_sync *s);
/* Any thread: ex's templates changed. */
void tpl_sync_exporter_changed(struct tpl_sync *s, const struct nf_exporter *ex);
/* Main thread: write the file now if anything changed. */
void tpl_sync_flush(struct tpl_sync *s);
void tpl_sync_free(struct tpl_sync *s);

#endif
