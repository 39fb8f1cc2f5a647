/*
 * A worker: one thread, one event loop (reactor/loop.h), its own source
 * (a SO_REUSEPORT socket, or a capture), its input module's state and its
 * own aggregation tables (one per output instance).  Nothing a worker
 * touches per datagram is shared with another thread.
 */
#ifndef NETACCT_REACTOR_WORKER_H
#define NETACCT_REACTOR_WORKER_H

#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>

#include "agg/pipeline.h"
#include "agg/tagging.h"
#include "agg/table.h"
#include "conf/config.h"
#include "reactor/input.h"
#include "reactor/metrics.h"
#include "reactor/socket.h"

struct daemon_ctx;
struct nt_ev;
struct nt_loop;
struct mmsghdr;
struct savefile;
struct stream_listener;
struct iovec;

/* Written and read only on the worker's thread (the stats dump runs there too). */
struct worker_stats {
	uint64_t datagrams;
	uint64_t bytes;
	uint64_t malformed; /* datagrams the input module rejected */
	uint64_t truncated; /* larger than the receive buffer */
	uint64_t recv_errors;
	uint64_t records;
	struct udp_drops kernel; /* dropped by the kernel: the receive buffer was full */
	int rcvbuf;		 /* what the kernel granted (getsockopt figure) */
	uint64_t drops_warned;	 /* kernel drops already in a WARN line */
	uint64_t drops_warn_minute;
};

/* One output's refresh timer on this worker. */
struct worker_tick {
	struct worker *w;
	unsigned out;
	struct nt_ev *ev;
	uint64_t last_round; /* the last round handed off: rounds only go forward */
	uint64_t next_ms;    /* capture clock: the boundary that closes the next round */
};

struct worker {
	unsigned id;
	struct daemon_ctx *ctx;
	pthread_t thread;
	int started;
	struct nt_loop *loop;
	int fd;				  /* datagram socket; -1 when the source is not a socket */
	struct savefile *sf;		  /* pcap_savefile source (worker 0 only), or NULL */
	struct stream_listener *listener; /* stream inputs: this worker's TCP listener */
	struct nt_ev *ev_read, *ev_stop, *ev_stats, *ev_quiesce, *ev_metrics;
	void *in_state;		   /* the input module's per-worker state */
	struct pipeline_worker pw; /* the record pipeline's per-worker state */
	struct worker_tick tick[CONF_MAX_PLUGINS];
	uint8_t dgram_sinks[CONF_MAX_PLUGINS]; /* outputs taking raw datagrams (tee) */
	unsigned ndgram_sinks;
	int decode;	    /* some output takes records: decode datagrams (a tee alone does not) */
	uint32_t rec_sinks; /* outputs (bits) taking records themselves (probes) */
	const struct nt_frame *frame; /* the captured frame being decoded, or NULL */
	/* OUT_SINK_RECORD outputs' worker_tick timers */
	struct worker_probe_tick {
		struct worker *w;
		unsigned out;
		struct nt_ev *ev;
		uint64_t next_usec; /* savefile: next tick on the capture's clock */
	} ptick[CONF_MAX_PLUGINS];
	struct agg_table *tables[CONF_MAX_PLUGINS];

	/*
	 * Records whose keys are computed and whose table slots are being
	 * prefetched, added ACCT_AHEAD records later: the cache misses of
	 * several records overlap instead of stalling one by one.
	 */
#define ACCT_AHEAD 8
	uint8_t *ahead_keys[CONF_MAX_PLUGINS];	 /* ACCT_AHEAD keys per output */
	uint32_t ahead_stride[CONF_MAX_PLUGINS]; /* bytes from one key to the next */
	uint64_t ahead_hash[CONF_MAX_PLUGINS][ACCT_AHEAD];
	struct agg_counters ahead_c[ACCT_AHEAD];
	uint32_t ahead_skip[ACCT_AHEAD];    /* outputs (bits) a record's selection left out */
	uint32_t ahead_compact[ACCT_AHEAD]; /* outputs (bits) whose key is in the compact form */
	/* outputs (bits) whose tables keep IPv4 keys compact (struct agg_compact) */
	uint32_t compact_outs;
	struct out_select_scratch sel; /* per-output selection of the record (agg/tagging.h) */
	unsigned ahead_head, ahead_len;
	nt_usec now_usec; /* arrival time of the datagram being decoded */

	/* sum_* outputs (agg/lookup.h): their tables take each record reversed too */
	uint32_t sum_outs; /* bit per output */
	uint8_t *sum_key;  /* the reversed record's key */

	/* recvmmsg batch */
	unsigned batch;
	struct mmsghdr *msgs;
	struct iovec *iov;
	struct sockaddr_storage *addrs;
	uint8_t *bufs;
	uint8_t *ctrl;	       /* UDP_CMSG_SPACE per datagram: the kernel's drop counter */
	struct nt_ev *ev_pace; /* paced reads (worker.c), NULL with a small receive buffer */
	nt_usec pace_since;    /* window in which partial reads are counted */
	unsigned pace_partial;
	int pace_told; /* the debug line about paced reads was logged */

	struct worker_stats st;
	/* filled on request (worker_request_metrics), read by the main thread after */
	struct mx_snap mx;
};

/* Allocate state and open the source; the thread is not started yet. */
int worker_init(struct worker *w, struct daemon_ctx *ctx, unsigned id, char *err, size_t errlen);
int worker_start(struct worker *w, char *err, size_t errlen);
/* Thread-safe requests, served by the worker's own loop. */
void worker_request_stop(struct worker *w);
void worker_request_stats(struct worker *w);
/* Ask the worker to acknowledge a map swap (see daemon_ctx.maps). */
void worker_request_quiesce(struct worker *w);
/*
 * Ask the worker to fill w->mx with its counters (worker_metrics()) and
 * then call metrics_worker_done() (reactor/metrics.h).
 */
void worker_request_metrics(struct worker *w);
/*
 * The worker's counters and its input module's into s: on the worker's
 * thread, or on any thread once the worker has been joined.
 */
void worker_metrics(struct worker *w, struct mx_snap *s);
void worker_join(struct worker *w);
void worker_free(struct worker *w);

/*
 * A source's datagram (socket or capture) to the input module.  Call
 * worker_batch_begin() before a batch (it takes the map snapshots the batch
 * uses) and worker_batch_end() after it (pending adds done, maps released).
 */
void worker_batch_begin(struct worker *w);
void worker_batch_end(struct worker *w);
void worker_deliver(struct worker *w, const struct nt_dgram *d);
/* A captured frame to the input module (INPUT_CAPTURE); same batch rules. */
void worker_deliver_frame(struct worker *w, const struct nt_frame *f);

/*
 * Account one decoded record: the record pipeline (agg/pipeline.h), then
 * the worker's tables.  The add itself may be deferred by a few records
 * (worker_batch_end() completes them).
 */
void worker_account(struct worker *w, struct flow_rec *r);

/*
 * The same as a function a decoder calls with the worker as its argument
 * (its emit callback), chosen once: with no stage configured it is the
 * accounting itself, so the per-record path has no hop in between.
 */
typedef void (*worker_record_fn)(void *worker, struct flow_rec *r);
worker_record_fn worker_record_sink(const struct worker *w);

/*
 * The refresh round a tick at now_ms closes for a refresh of period_s
 * seconds, given the last round handed off: the boundary just passed, or
 * 0 when the timer fired before the next boundary (too early: re-arm).
 */
uint64_t worker_round_due(uint64_t now_ms, unsigned period_s, uint64_t last_round);

#endif
