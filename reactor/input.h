/*
 * Inputs: what a daemon reads.  Three kinds of source, each served by the
 * per-worker loop (reactor/worker.c):
 *   datagram  UDP (NetFlow, sFlow, UDP telemetry): one SO_REUSEPORT socket per
 *             worker, exporters pinned to a worker by source address;
 *   capture   libpcap, NFLOG, and pcap_savefile, which drives the daemon's
 *             clock from the packets' timestamps (reactor/capture.h);
 *   stream    a TCP listener per worker (SO_REUSEPORT); each accepted session
 *             belongs to the worker that accepted it (reactor/stream.h).
 *
 * A protocol module (struct input_module) consumes what a source delivers:
 * the NetFlow module takes datagrams, whether they come from a socket or
 * from a capture file, through the same decode path.  A daemon is one
 * descriptor (struct daemon_desc in reactor/daemon.h) naming its module.
 */
#ifndef NETACCT_REACTOR_INPUT_H
#define NETACCT_REACTOR_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"
#include "proto/decap.h" /* enum decap_link */

struct conf;
struct mx_snap;
struct daemon_ctx;
struct stream_opts;
struct stream_proto;
struct worker;

/* One datagram as a source delivers it, whatever the source. */
struct nt_dgram {
	const uint8_t *buf;
	size_t len;
	struct nt_addr src; /* sender (exporter) address */
	uint16_t src_port;
	nt_usec arrival; /* wall clock, or the capture's timestamp */
};

/* One frame as a packet source delivers it (libpcap, NFLOG, a savefile). */
struct nt_frame {
	enum decap_link link;
	const uint8_t *data;
	size_t caplen, wirelen;
	nt_usec ts;		      /* capture time (a savefile's clock), else arrival */
	uint32_t in_iface, out_iface; /* from the source (NFLOG, pcap_ifindex); 0: unknown */
	/*
	 * Set by the worker on the copy the probes get (OUT_SINK_RECORD): the
	 * frames and wire bytes this worker's source delivered so far, this one
	 * included, kept by sampling_rate or not (sfprobe's sample pool and
	 * interface counters).
	 */
	uint64_t seen, seen_bytes;
};

enum input_kind {
	INPUT_DATAGRAM,
	INPUT_CAPTURE,
	INPUT_STREAM,
};

/* Where a datagram or stream input listens, from the daemon's own keys. */
struct input_endpoint {
	const char *ip; /* NULL or "": all addresses, dual-stack */
	int port;
	int rcvbuf; /* SO_RCVBUF bytes, 0: the reactor's default (UDP_RCVBUF_DEFAULT) */
};

/* What a datagram handler made of one datagram. */
enum input_verdict {
	INPUT_OK,
	INPUT_MALFORMED, /* counted by the worker as malformed */
	INPUT_REFUSED,	 /* not taken on (a limit); the module counted and logged it */
};

struct input_module {
	const char *name;  /* what it reads, for logs: "NetFlow/IPFIX" */
	const char *proto; /* "udp" or "tcp", for the ready line */
	enum input_kind kind;

	/* The daemon's listening endpoint from configuration. */
	void (*endpoint)(const struct conf *c, struct input_endpoint *ep);

	/*
	 * Daemon-wide state, created on the main thread before any worker and
	 * freed after the last one stopped.  Optional.
	 */
	int (*global_init)(struct daemon_ctx *ctx, void **global, char *err, size_t errlen);
	void (*global_free)(void *global);

	/* Per-worker state (decoders, per-source state); runs before the thread starts. */
	int (*create)(struct worker *w, void **state, char *err, size_t errlen);
	void (*destroy)(void *state);

	/*
	 * INPUT_DATAGRAM: decode one datagram on the worker's thread; records go
	 * to worker_account().  Never blocks, never logs per record.
	 */
	enum input_verdict (*datagram)(void *state, struct worker *w, const struct nt_dgram *d);

	/*
	 * INPUT_CAPTURE: decode one frame on the worker's thread (from
	 * pcap_savefile through reactor/savefile.c, or from the live source
	 * the module opened in create() on the worker's loop).  Never blocks.
	 */
	enum input_verdict (*frame)(void *state, struct worker *w, const struct nt_frame *f);
	/*
	 * INPUT_CAPTURE: pcap_savefile starts another pass (pcap_savefile_replay);
	 * per-flow state goes, so every pass is accounted like the first.  Optional.
	 */
	void (*rewound)(void *state, struct worker *w);
	/* INPUT_CAPTURE, live: at stop, read what the source already holds.  Optional. */
	void (*drain)(void *state, struct worker *w);
	/* INPUT_CAPTURE, live: most workers the source can feed (0: any) and the ready line's text.
	 */
	unsigned (*max_workers)(const struct conf *c);
	void (*describe)(const struct conf *c, char *buf, size_t len);

	/*
	 * INPUT_STREAM: the session callbacks (reactor/stream.h).  Each worker
	 * listens on the endpoint with SO_REUSEPORT; a session stays on the
	 * worker that accepted it, and its callbacks get the module's per-worker
	 * state as stream_proto_arg().  stream_opts (optional) sets limits.
	 */
	const struct stream_proto *stream;
	void (*stream_opts)(const struct conf *c, struct stream_opts *o);

	/* Sources known to this worker (the stats line's `exporters=`). */
	size_t (*sources)(void *state);
	/* SIGUSR1: extra " key=value" text for the worker's stats line, then per-source lines. */
	void (*stats)(void *state, struct worker *w, char *extra, size_t extralen);
	void (*stats_sources)(void *state, struct worker *w);
	/*
	 * Optional.  Metrics (reactor/metrics.h): the module's samples for this
	 * worker and its sources, added to the worker's snapshot on its thread.
	 * Label the samples with "worker" first (w->id), like the worker's own.
	 */
	void (*metrics)(void *state, struct worker *w, struct mx_snap *s);
};

#endif
