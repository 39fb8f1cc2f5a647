/*
 * Inputs: what a daemon reads.  Three kinds of source, each served by the
 * per-worker loop:
 *   datagram  UDP (NetFlow, sFlow, UDP telemetry): one SO_REUSEPORT socket per
 *             worker, exporters pinned to a worker by source address;
 *   capture   libpcap, NFLOG, and pcap_savefile (which drives the daemon's
 *             clock from the packets' timestamps);
 *   stream    a TCP listener per worker (SO_REUSEPORT); each accepted session
 *             belongs to the worker that accepted it (BGP, BMP, telemetry).
 * A protocol module (struct input_module) consumes what a source delivers.
 */
#ifndef NETACCT_REACTOR_INPUT_H
#define NETACCT_REACTOR_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"

/* One datagram as a source delivers it, whatever the source. */
struct nt_dgram {
	const uint8_t *buf;
	size_t len;
	struct nt_addr src; /* sender (exporter) address */
	uint16_t src_port;
	nt_usec arrival; /* wall clock, or the capture's timestamp */
};

#endif
