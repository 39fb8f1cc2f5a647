/*
 * NetFlow / IPFIX collection: per-exporter state and the version dispatch.
 *
 * A worker owns an nf_collector: the exporters it has heard from (keyed by
 * source address only, so that an exporter restarted on a new source port
 * keeps its templates and sequence state), with their sequence tracking,
 * malformation counters and (for v9/IPFIX) templates.  Decoders turn one
 * datagram into flow records and hand each to the collector's emit callback;
 * they never log and never allocate per record.
 */
#ifndef NETACCT_PROTO_NETFLOW_H
#define NETACCT_PROTO_NETFLOW_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"
#include "agg/primitive.h"
#include "proto/nf_options.h"

/* Why a datagram (or part of it) was rejected: each reason is a named counter. */
enum nf_err {
	NF_OK = 0,
	NF_ERR_SHORT,	     /* shorter than the version's header */
	NF_ERR_VERSION,	     /* unsupported version */
	NF_ERR_COUNT,	     /* header count disagrees with the datagram length */
	NF_ERR_TRUNCATED,    /* a record or set runs past the end */
	NF_ERR_BAD_SET,	     /* set/flowset header invalid (length, id) */
	NF_ERR_BAD_TEMPLATE, /* template malformed (zero fields, bad lengths) */
	NF_ERR_NO_TEMPLATE,  /* data set for a template we do not (yet) have: not malformed */
	NF_ERR_BAD_OPTIONS,  /* options template/data malformed */
	NF_ERR_LIMIT,	     /* a per-exporter limit was reached (templates, names) */
	NF_ERR__COUNT
};

const char *nf_err_name(enum nf_err e);

/*
 * Whether a decode result means the datagram was malformed.  NF_OK is not,
 * and neither is NF_ERR_NO_TEMPLATE: data sets for a template not (yet)
 * received are normal (exporters send data before templates after a
 * restart); they are counted in err[NF_ERR_NO_TEMPLATE] and skipped.
 */
static inline int nf_err_malformed(enum nf_err e)
{
	return e != NF_OK && e != NF_ERR_NO_TEMPLATE;
}

struct nf_exporter_stats {
	uint64_t datagrams;
	uint64_t records;
	uint64_t seq_gaps;   /* forward sequence jumps: flows (v9: packets) were lost */
	uint64_t lost_flows; /* records missing according to sequence numbers */
	uint64_t seq_resets; /* restarts, backward jumps: not loss, sequence resynchronised */
	uint64_t err[NF_ERR__COUNT];
};

struct nf_template_store; /* v9/IPFIX templates of one exporter (proto/netflow_v9.c) */

/*
 * Templates held by all exporters of one collector, against a cap (0: none),
 * so that a flood of spoofed sources cannot grow memory without bound.
 */
struct nf_tpl_budget {
	size_t used, max;
};
struct nf_sampler_store; /* sampler id -> interval of one exporter */
struct nf_name_store;	 /* VRF / interface names from options data (proto/nf_options.h) */

struct nf_exporter {
	struct nt_addr addr;
	uint16_t port; /* source port of the last nf_exporter_get(): informational */
	struct nf_exporter_stats st;

	/* sequence tracking per (version, engine/source id); small fixed set */
	struct {
		uint32_t domain; /* v5: engine_type<<8|engine_id; v9: source id; IPFIX: ODID */
		uint16_t version;
		uint8_t valid;
		uint8_t synced;	    /* next_seq is known (not after an uncountable message) */
		uint8_t has_uptime; /* last_uptime holds the previous header's sysUptime */
		uint32_t next_seq;
		uint32_t last_uptime;
	} seq[8];

	/* rate-limited logging: minute window and lines logged within it */
	uint64_t log_window;
	unsigned log_lines;

	struct nf_template_store *templates; /* NULL until first v9/IPFIX datagram */
	struct nf_sampler_store *samplers;
	struct nf_name_store *names;

	struct nf_exporter *next; /* hash chain */
};

struct nf_collector;
typedef void (*nf_emit_fn)(void *arg, struct flow_rec *r);

/* Options shared by the decoders, from configuration. */
struct nf_options {
	int time_secs;			    /* nfacctd_time_secs */
	int disable_opt_scope_check;	    /* nfacctd_disable_opt_scope_check */
	const struct prim_registry *custom; /* aggregate_primitives */
	size_t max_exporters;		    /* 0 = unbounded; beyond it new sources are refused */
	size_t max_templates;		    /* all exporters together; 0 = unbounded */
	/*
	 * FR_ bits of fields nothing downstream reads (see NF_SKIPPABLE in
	 * proto/nf_template.h): data records leave them absent instead of
	 * decoding them.  With NF_SKIP_NAMES the names and route distinguishers
	 * are not resolved per record; options records still fill the
	 * exporters' name tables.  0: decode everything.
	 */
	uint64_t skip;
	/* called when a v9/IPFIX template changes (templates file); may be NULL */
	void (*template_changed)(void *arg, const struct nf_exporter *ex);
	void *template_arg;
};

struct nf_collector {
	struct nf_exporter **buckets;
	size_t nbuckets, nexporters;
	struct nf_options opt;
	nf_emit_fn emit;
	void *emit_arg;
	uint64_t refused; /* datagrams from new sources beyond max_exporters */
	struct nf_tpl_budget tpl_budget;
	struct flow_rec rec; /* scratch record reused for every flow */
	/*
	 * Which decoder last filled rec.  A decoder that writes the same fields
	 * for every record (v5) clears rec only when it takes it over from
	 * another one, instead of once per record.
	 */
	uint16_t rec_owner;
	/*
	 * Names a data record carries itself (IE 236, IE 82), NUL-terminated
	 * for struct flow_rec's name pointers: valid until the next record.
	 */
	char name_buf[2][NF_NAME_MAX + 1];
};

int nf_collector_init(struct nf_collector *c, const struct nf_options *opt, nf_emit_fn emit,
		      void *emit_arg);
void nf_collector_free(struct nf_collector *c);

/*
 * Find or create the exporter for a datagram source address; the port is
 * only recorded (ex->port), it does not make a new exporter.  NULL on
 * allocation failure or when opt.max_exporters are known already
 * (c->refused counts it).
 */
struct nf_exporter *nf_exporter_get(struct nf_collector *c, const struct nt_addr *addr,
				    uint16_t port);

/*
 * Decode one datagram from ex.  Records go to c->emit.  Returns NF_OK, the
 * first malformation (records decoded before it have been emitted), or --
 * when nothing was malformed but at least one data set had no template --
 * NF_ERR_NO_TEMPLATE.  Every error, each data set without a template
 * included, is already counted in ex->st.err; use nf_err_malformed() to tell
 * whether the datagram was malformed.
 */
enum nf_err nf_decode(struct nf_collector *c, struct nf_exporter *ex, const uint8_t *buf,
		      size_t len, nt_usec arrival);

/* One header's sequence information, for nf_seq_check(). */
struct nf_seq_in {
	uint16_t version;
	uint32_t domain;	 /* v5/v8: engine_type<<8|engine_id; v9: source id; IPFIX: ODID */
	uint32_t seq;		 /* the header's sequence number */
	uint32_t advance;	 /* what the next header of the domain should add */
	uint32_t uptime_ms;	 /* header sysUptime (v5, v8, v9) */
	uint8_t has_uptime;	 /* 0 for IPFIX */
	uint8_t advance_unknown; /* records were skipped uncounted (IPFIX data without template) */
};

/* What a sequence number told (each but the first two is counted in ex->st). */
enum nf_seq {
	NF_SEQ_FIRST,	 /* new domain, or resynchronising after an unknown advance */
	NF_SEQ_IN_ORDER, /* exactly as expected */
	NF_SEQ_GAP,	 /* forward jump below 2^31: seq_gaps++, lost_flows += jump */
	NF_SEQ_RESET,	 /* backward jump (modulo 2^32) or sysUptime went back: seq_resets++ */
};

/*
 * Sequence accounting shared by the version decoders: compare the header's
 * sequence number with what the domain's previous header announced.  An
 * exporter restart (sysUptime smaller than before), a jump backwards or a
 * jump of 2^31 or more is a reset, never loss.
 */
enum nf_seq nf_seq_check(struct nf_exporter *ex, const struct nf_seq_in *in);

/*
 * The 20 header bytes NetFlow v5 and v8 share:
 *   version(2) count(2) sysUptime(4) unix_secs(4) unix_nsecs(4) sequence(4)
 *   engine_type(1) engine_id(1)
 */
struct nf_legacy_hdr {
	uint16_t version, count;
	uint32_t uptime_ms, secs, nsecs, seq;
	uint8_t engine_type, engine_id;
};

#define NF_LEGACY_HDR_LEN 22

/* Read the shared header; -1 when fewer than NF_LEGACY_HDR_LEN bytes are left. */
struct cursor;
int nf_legacy_hdr_read(struct cursor *cur, struct nf_legacy_hdr *h);

/* Export time of a legacy header, in microseconds. */
nt_usec nf_legacy_export_usec(const struct nf_legacy_hdr *h);

/* A sysUptime-relative millisecond stamp as absolute microseconds (0 if before 1970). */
nt_usec nf_uptime_to_usec(nt_usec export_usec, uint32_t uptime_ms, uint32_t stamp_ms);

/* Version decoders (one file each). */
enum nf_err nf5_decode(struct nf_collector *c, struct nf_exporter *ex, const uint8_t *buf,
		       size_t len, nt_usec arrival);
enum nf_err nf8_decode(struct nf_collector *c, struct nf_exporter *ex, const uint8_t *buf,
		       size_t len, nt_usec arrival);
enum nf_err nf9_decode(struct nf_collector *c, struct nf_exporter *ex, const uint8_t *buf,
		       size_t len, nt_usec arrival); /* v9 and IPFIX (v10) */

/* Release per-exporter v9/IPFIX state (templates, samplers). */
void nf9_exporter_free(struct nf_exporter *ex);

/* Iterate exporters (stats dump). */
void nf_collector_foreach(struct nf_collector *c, void (*fn)(void *arg, struct nf_exporter *ex),
			  void *arg);

#endif
