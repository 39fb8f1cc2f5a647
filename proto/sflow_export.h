/*
 * sFlow version 5 datagrams, written (the sfprobe output's encoder; the
 * reader is proto/sflow.c).
 *
 * A datagram is built in a caller's buffer bounded by the path MTU: the
 * header first (sfx_begin), then samples while they fit (sfx_add_flow,
 * sfx_add_counters return -1 when the sample would pass the bound, leaving
 * the datagram as it was), then sfx_finish() writes the datagram sequence
 * number, the uptime and the sample count, which are only known when the
 * datagram leaves.  Everything is XDR: big-endian 32-bit words, opaque data
 * padded to 4 bytes.
 *
 * Wire layout written (sflow_version_5.txt):
 *   datagram: 5, agent address (1 + 4 bytes or 2 + 16 bytes), sub_agent_id,
 *             sequence_number, uptime (ms), #samples
 *   flow_sample (1): seq, source_id (type << 24 | index), rate, pool, drops,
 *             input, output, #records; the expanded form (3) when the source
 *             index does not fit 24 bits or an interface 30 bits
 *   raw packet header record (1): header_protocol, frame_length, stripped,
 *             header (opaque)
 *   counters_sample (2): seq, source_id, #records; expanded (4) likewise
 *   generic interface counters record (1): the 19 fields of if_counters
 */
#ifndef NETACCT_PROTO_SFLOW_EXPORT_H
#define NETACCT_PROTO_SFLOW_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"

/* header_protocol values of the raw packet header record */
enum sfx_header_proto {
	SFX_HDR_ETHERNET = 1,
	SFX_HDR_IPV4 = 11,
	SFX_HDR_IPV6 = 12,
};

/* A flow sample with one raw packet header record. */
struct sfx_flow {
	uint32_t seq;		/* the data source's flow sample sequence number */
	uint32_t source_index;	/* ifIndex of the data source (source id type 0) */
	uint32_t rate;		/* 1 in rate */
	uint32_t pool;		/* packets the sampler saw (wraps) */
	uint32_t drops;		/* samples lost for lack of resources */
	uint32_t input, output; /* ifIndex, 0: unknown */
	enum sfx_header_proto header_proto;
	uint32_t frame_length; /* the original frame's length */
	uint32_t stripped;     /* bytes removed before the header (e.g. a link header) */
	const uint8_t *header; /* the first header_len bytes of the frame */
	uint32_t header_len;
};

/* A counter sample with one generic interface counters record (if_counters). */
struct sfx_if_counters {
	uint32_t seq;	       /* the data source's counter sample sequence number */
	uint32_t source_index; /* ifIndex */
	uint32_t if_type;      /* ifType (6: ethernetCsmacd) */
	uint64_t if_speed;     /* bit/s */
	uint32_t direction;    /* 0 unknown, 1 full duplex, 2 half, 3 in, 4 out */
	uint32_t status;       /* bit 0 ifAdminStatus up, bit 1 ifOperStatus up */
	uint64_t in_octets;
	uint32_t in_ucast, in_mcast, in_bcast, in_discards, in_errors, in_unknown;
	uint64_t out_octets;
	uint32_t out_ucast, out_mcast, out_bcast, out_discards, out_errors;
	uint32_t promiscuous;
};

/* A datagram being built. */
struct sfx_dgram {
	uint8_t *buf;
	size_t cap; /* the bound: the receiver path's MTU less the IP and UDP headers */
	size_t len;
	uint32_t nsamples;
	size_t fixed; /* where the sequence number is (after the agent address and sub id) */
};

/* The bytes a datagram header takes for this agent address. */
size_t sfx_header_size(const struct nt_addr *agent);

/* The largest raw header that fits a datagram of cap bytes alone. */
size_t sfx_max_header(size_t cap, const struct nt_addr *agent);

/*
 * Start a datagram in buf (cap bytes) for agent (family 4 or 6) and
 * sub-agent sub_id.  0, or -1 when cap cannot hold the header or the
 * address family is unknown.
 */
int sfx_begin(struct sfx_dgram *d, uint8_t *buf, size_t cap, const struct nt_addr *agent,
	      uint32_t sub_id);

/* Append a sample; 0, or -1 when it does not fit (the datagram is unchanged). */
int sfx_add_flow(struct sfx_dgram *d, const struct sfx_flow *f);
int sfx_add_counters(struct sfx_dgram *d, const struct sfx_if_counters *c);

/* Write the sequence number, uptime (ms) and sample count; returns the datagram's length. */
size_t sfx_finish(struct sfx_dgram *d, uint32_t seq, uint32_t uptime_ms);

#endif
