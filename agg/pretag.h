/*
 * pre_tag_map (pmacct syntax): rules that give a record a tag, a tag2 and/or
 * a label from what it carries (exporter, interfaces, engine, addresses,
 * ports, a tcpdump filter, ...).  Parsed with the shared map-line parser
 * (agg/mapline.h), loaded and reloaded through the map registry
 * (agg/maps.h), applied by the pretag pipeline stage (agg/tagging.h).
 *
 * A rule is `key=value` pairs in any order:
 *   SET    set_tag=N (N++: counts up from N at each match), set_tag2=N,
 *          set_label=S, set_tos=N; `id`/`id2` are the old names of
 *          set_tag/set_tag2.  Tags are 1..2^64-1.
 *   MATCH  ip (exporter address or prefix), in, out, engine_type,
 *          engine_id (NetFlow v5 header engine id, else the v9/IPFIX
 *          source id), source_id, agent_id (sFlow sub-agent id, read from
 *          the export system id), nexthop and bgp_nexthop (both compared
 *          with the record's next hop, peer_dst_ip), filter (tcpdump, quoted),
 *          src_mac, dst_mac, vlan, src_net, dst_net, ip_proto (or proto),
 *          src_port, dst_port, tcp_flags (exact value, 0x.. or decimal),
 *          fwd_status, direction, is_multicast, is_nel, sample_type,
 *          src_as, dst_as, peer_src_as, peer_dst_as, local_pref, comms
 *          (any of a comma separated list), mpls_vpn_rd, mpls_vpn_id_in,
 *          mpls_vpn_id_out.  A leading '-' negates a match value, except
 *          for ip, filter and sample_type.
 *   FLOW   label=NAME marks the rule as a jump target; jeq=NAME jumps, once
 *          the rule matched, to the first rule after it labelled NAME
 *          (jeq=next: the rule after it) and evaluation goes on from there;
 *          stack=sum|or combines the tag a jumped-to rule sets with the one
 *          already set (default: replace).  set_label values met along a
 *          chain are joined with ','.
 * The first matching rule wins; without jeq evaluation stops there.  A
 * record lacking a field a rule tests does not match that rule (a negated
 * test included).
 *
 * Bad lines (syntax, unknown or unsupported key, bad value, jeq to a label
 * that does not follow) are reported with their number and skipped; the
 * rest of the map loads.  A jeq whose target is missing is reported and the
 * rule kept without the jump.  Rules past max_entries are reported once and
 * not loaded; lines longer than max_row_len are bad lines.
 *
 * Index (pretag_opts.index, maps_index): consecutive rules whose tests are
 * all exact and of the same kinds (no prefixes but host addresses, no
 * negation, no filter, comms or sample_type) share a hash table, so a
 * 100k-rule map of `set_tag=N ip=A in=I` costs one lookup per record; first
 * match semantics (and jumps into the middle of such a run) are kept.
 */
#ifndef NETACCT_AGG_PRETAG_H
#define NETACCT_AGG_PRETAG_H

#include <stddef.h>
#include <stdint.h>

#include "agg/filter.h"
#include "agg/flow.h"

/* Label text kept per record, terminating NUL included (label primitive width). */
#define PRETAG_LABEL_MAX 128

struct pretag_map;

struct pretag_opts {
	unsigned max_entries; /* maps_entries; 0 = unbounded */
	int index;	      /* maps_index */
	unsigned max_row_len; /* maps_row_len: longer lines are bad lines; 0 = unbounded */
};

/* One problem in a map (the map still loads); msg is "file:line: reason". */
typedef void (*pretag_warn_fn)(void *arg, const char *msg);

/*
 * Parse len bytes of map text; name appears in messages.  Bad lines go to
 * warn (may be NULL) and are counted.  Returns 0 and *out, or -1 with a
 * reason (out of memory only: a map of bad lines is an empty map).
 */
int pretag_map_parse(struct pretag_map **out, const char *text, size_t len, const char *name,
		     const struct pretag_opts *o, pretag_warn_fn warn, void *warn_arg, char *err,
		     size_t errlen);
/* Same, from a file (-1 also when it cannot be read). */
int pretag_map_load(struct pretag_map **out, const char *path, const struct pretag_opts *o,
		    pretag_warn_fn warn, void *warn_arg, char *err, size_t errlen);
void pretag_map_free(struct pretag_map *m);

/* Rules loaded; bad lines reported. */
size_t pretag_map_count(const struct pretag_map *m);
size_t pretag_map_bad_lines(const struct pretag_map *m);
/* The messages of the bad lines, in order (for the log after a registry load). */
size_t pretag_map_nwarnings(const struct pretag_map *m);
const char *pretag_map_warning(const struct pretag_map *m, size_t i);
/* Runs of rules served by a hash index (maps_index), for logs and tests. */
size_t pretag_map_indexed_runs(const struct pretag_map *m);

/* What a map gave a record. */
struct pretag_result {
	uint64_t tag, tag2;
	uint8_t has_tag, has_tag2, has_label, has_tos;
	uint8_t tos;
	char label[PRETAG_LABEL_MAX];
	unsigned rule_line; /* line of the last rule applied, 0 when none matched */
};

/*
 * Evaluate m on r.  pkt is the record's filter scratch (see agg/filter.h),
 * used by filter= rules only; it must have been reset for r.  Returns 1 when
 * a rule matched (res filled), 0 otherwise.
 */
int pretag_eval(const struct pretag_map *m, const struct flow_rec *r, struct filter_pkt *pkt,
		struct pretag_result *res);

/*
 * Tagging without a decoded record (a tee output, a datagram before its
 * decoding): what the export header says.  Rules that test anything else
 * (interfaces, addresses, filter, ...) do not match.
 */
struct pretag_header {
	struct nt_addr exporter; /* datagram source */
	uint16_t version;	 /* export version: 5, 9, 10 (sFlow: 5 too; is_sflow set) */
	uint8_t is_sflow;
	uint8_t has_engine; /* NetFlow v5 engine_type / engine_id */
	uint8_t engine_type, engine_id;
	uint8_t has_source_id; /* v9 source id / IPFIX observation domain / sFlow sub-agent id */
	uint32_t source_id;
};
int pretag_eval_header(const struct pretag_map *m, const struct pretag_header *h,
		       struct pretag_result *res);

#endif
