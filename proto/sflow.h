/*
 * sFlow v2, v4 and v5 collection: per-agent state and the datagram decoder.
 *
 * A worker owns an sf_collector: the agents it has heard from, keyed by the
 * agent address *inside* the datagram and the sub-agent id (v5), so that one
 * switch exporting from several line cards through one source address keeps
 * one sequence per sub-agent.  The decoder turns each flow sample into one
 * flow record (agg/flow.h) handed to the emit callback, and each counter
 * record (generic interface, Ethernet, VLAN) into a struct sf_counters handed
 * to the counter callback.  It never logs and never allocates per sample:
 * malformations are counted per agent, one counter per reason (enum sf_err).
 *
 * Wire layout (sFlow v5, XDR, every field a multiple of 4 bytes):
 *   datagram: version, agent address (type 1: 4 bytes, type 2: 16 bytes),
 *             sub_agent_id (v5 only), sequence, uptime, #samples, samples
 *   sample (v5): format (enterprise << 12 | type), length, body
 *     1 flow sample: seq, source_id, rate, pool, drops, input, output, #records
 *     3 expanded flow sample: seq, source_id type, index, rate, pool, drops,
 *       input format, input, output format, output, #records
 *     2 / 4 counter sample (compact / expanded): seq, source_id, #records
 *   record (v5): format, length, body -- unknown formats are skipped by length
 * v2/v4 samples and records carry no lengths: an unknown type ends the
 * datagram (the rest cannot be found), counted as unknown_tag.
 */
#ifndef NETACCT_PROTO_SFLOW_H
#define NETACCT_PROTO_SFLOW_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"
#include "proto/packet.h"

/* Why a datagram (or a sample in it) was rejected: each reason is a named counter. */
enum sf_err {
	SF_OK = 0,
	SF_ERR_SHORT,	      /* shorter than the datagram header */
	SF_ERR_VERSION,	      /* not sFlow v2, v4 or v5 */
	SF_ERR_ADDRESS,	      /* agent or next-hop address of unknown type */
	SF_ERR_SAMPLE_LENGTH, /* a sample's length runs past the datagram */
	SF_ERR_RECORD_LENGTH, /* a record's length runs past its sample */
	SF_ERR_TRUNCATED,     /* a sample or record ends inside one of its fields */
	SF_ERR_COUNT,	      /* more samples or records announced than the bytes hold */
	SF_ERR_UNKNOWN_TAG,   /* v2/v4 sample or record type unknown: the rest is unreadable */
	SF_ERR_BAD_HEADER,    /* raw packet header longer than its record */
	SF_ERR__COUNT
};

const char *sf_err_name(enum sf_err e);

struct sf_agent_stats {
	uint64_t datagrams;
	uint64_t flow_samples;
	uint64_t counter_samples;
	uint64_t skipped;	 /* samples and records of unknown formats, skipped by length */
	uint64_t seq_gaps;	 /* forward datagram sequence jumps */
	uint64_t lost_datagrams; /* datagrams missing according to the sequence */
	uint64_t seq_resets;	 /* backward jumps, agent restarts: resynchronised, not loss */
	uint64_t err[SF_ERR__COUNT];
};

struct sf_agent {
	struct nt_addr addr; /* agent address from the datagram */
	uint32_t sub_id;     /* sub-agent id (v5; 0 for v2/v4) */
	struct sf_agent_stats st;
	uint32_t next_seq, last_uptime;
	uint8_t synced;
	/* rate-limited logging (the input module's): minute window and lines in it */
	uint64_t log_window;
	unsigned log_lines;
	uint8_t counters_seen; /* the input module's: its counter log was started */
	struct sf_agent *next; /* hash chain */
};

/* Counter record types this decoder reads (v5 record formats). */
enum sf_counter_type {
	SF_CNT_GENERIC = 1,
	SF_CNT_ETHERNET = 2,
	SF_CNT_VLAN = 5,
};

#define SF_CNT_VALUES_MAX 19

/*
 * One counter record of a counter sample.  names[i] (static strings, the
 * field names pmacct prints) and v[i] are its values in wire order.
 */
struct sf_counters {
	struct sf_agent *agent;
	uint16_t version;     /* datagram version */
	uint32_t dgram_seq;   /* datagram sequence number */
	uint32_t sample_seq;  /* the counter sample's own sequence number */
	uint32_t source_type; /* source id class (0: ifIndex) */
	uint32_t source_index;
	enum sf_counter_type type;
	const char *type_name; /* "sflow_cnt_generic", "sflow_cnt_ethernet", "sflow_cnt_vlan" */
	unsigned n;
	const char *const *names;
	uint64_t v[SF_CNT_VALUES_MAX];
};

typedef void (*sf_emit_fn)(void *arg, struct flow_rec *r);
typedef void (*sf_counter_fn)(void *arg, const struct sf_counters *c);

/*
 * Bound of the as_path and std_comm texts a record carries, NUL included:
 * longer texts are cut and end with '+', as pmacct marks them.
 */
#define SF_TEXT_MAX 128

struct sf_options {
	size_t max_agents; /* 0 = unbounded; beyond it datagrams of new agents are refused */
	uint32_t ext_sampling_rate; /* sfacctd_ext_sampling_rate: replaces every sample's rate; 0 =
				       none */
};

struct sf_collector {
	struct sf_agent **buckets;
	size_t nbuckets, nagents;
	struct sf_options opt;
	sf_emit_fn emit;
	void *emit_arg;
	sf_counter_fn counters; /* NULL: counter samples are validated and dropped */
	void *counters_arg;
	uint64_t refused;	       /* datagrams of new agents beyond max_agents */
	uint64_t early[SF_ERR__COUNT]; /* malformed before an agent was known */
	struct pkt_decoder pkt;
	struct flow_rec rec; /* scratch record reused for every sample */
	/* the record's as_path / std_comm text, valid until the next sample */
	char as_path[SF_TEXT_MAX], std_comm[SF_TEXT_MAX];
};

/* 0, or -1 when out of memory. */
int sf_collector_init(struct sf_collector *c, const struct sf_options *opt, sf_emit_fn emit,
		      void *emit_arg, sf_counter_fn counters, void *counters_arg);
void sf_collector_free(struct sf_collector *c);

/*
 * Decode one datagram received at arrival.  Flow samples go to c->emit,
 * counter records to c->counters.  Returns SF_OK or the first malformation
 * (samples decoded before it have been emitted; the malformed sample has
 * not), counted in the agent's st.err -- or, when the header cannot be read,
 * in c->early[] since no agent is known.  *agent (may be NULL) receives the
 * agent the datagram came from, NULL when none was found or taken on.
 * SF_OK with *agent NULL means the agent was refused (max_agents).
 */
enum sf_err sf_decode(struct sf_collector *c, const uint8_t *buf, size_t len, nt_usec arrival,
		      struct sf_agent **agent);

/* Iterate agents (stats dump). */
void sf_collector_foreach(struct sf_collector *c, void (*fn)(void *arg, struct sf_agent *a),
			  void *arg);

#endif
