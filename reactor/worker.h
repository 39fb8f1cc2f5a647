/*
 * A worker: one thread, one libevent loop, one SO_REUSEPORT socket, its own
 * decoder state and its own aggregation tables (one per output instance).
 * Nothing a worker touches per datagram is shared with another thread.
 */
#ifndef NETACCT_REACTOR_WORKER_H
#define NETACCT_REACTOR_WORKER_H

#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>

#include "agg/table.h"
#include "conf/config.h"
#include "proto/netflow.h"

struct daemon_ctx;
struct event;
struct event_base;
struct mmsghdr;
struct iovec;

/* Written and read only on the worker's thread (the stats dump runs there too). */
struct worker_stats {
	uint64_t datagrams;
	uint64_t bytes;
	uint64_t malformed; /* datagrams with any decode error */
	uint64_t truncated; /* larger than the receive buffer */
	uint64_t recv_errors;
	uint64_t records;
	uint64_t refused; /* from new sources beyond nfacctd_max_exporters */
};

struct worker {
	unsigned id;
	struct daemon_ctx *ctx;
	pthread_t thread;
	int started;
	struct event_base *base;
	int fd;
	struct event *ev_read, *ev_stop, *ev_stats, *ev_quiesce;
	const struct nf_sampling_map *smap; /* this batch's sampling_map */
	struct event *ev_tick[CONF_MAX_PLUGINS];
	struct agg_table *tables[CONF_MAX_PLUGINS];

	/*
	 * Records whose keys are computed and whose table slots are being
	 * prefetched, added ACCT_AHEAD records later: the cache misses of
	 * several records overlap instead of stalling one by one.
	 */
#define ACCT_AHEAD 8
	uint8_t *ahead_keys[CONF_MAX_PLUGINS]; /* ACCT_AHEAD keys per output */
	uint64_t ahead_hash[CONF_MAX_PLUGINS][ACCT_AHEAD];
	struct agg_counters ahead_c[ACCT_AHEAD];
	unsigned ahead_head, ahead_len;
	struct nf_collector nf;
	nt_usec now_usec;     /* arrival time of the datagram being decoded */
	int templates_loaded; /* nfacctd_templates_file was valid and loaded */

	/* recvmmsg batch */
	unsigned batch;
	struct mmsghdr *msgs;
	struct iovec *iov;
	struct sockaddr_storage *addrs;
	uint8_t *bufs;

	struct worker_stats st;
	uint64_t refused_logged_minute;
};

/* Allocate state and bind the socket; the thread is not started yet. */
int worker_init(struct worker *w, struct daemon_ctx *ctx, unsigned id, char *err, size_t errlen);
int worker_start(struct worker *w, char *err, size_t errlen);
/* Thread-safe requests, served by the worker's own loop. */
void worker_request_stop(struct worker *w);
void worker_request_stats(struct worker *w);
/* Ask the worker to acknowledge a map swap (see daemon_ctx.sampling_map). */
void worker_request_quiesce(struct worker *w);
void worker_join(struct worker *w);
void worker_free(struct worker *w);

/*
 * Account one decoded record into the worker's tables (the aggregation
 * pipeline).  The add itself may be deferred by a few records; call
 * worker_flush_pending() before the tables are read or handed off.
 */
void worker_account(struct worker *w, struct flow_rec *r);
void worker_flush_pending(struct worker *w);

#endif
