/*
 * Filters on flow records: tcpdump/BPF expressions (aggregate_filter,
 * pre_tag_map's filter=), tag lists (pre_tag_filter, pre_tag2_filter) and
 * label lists (pre_tag_label_filter).
 *
 * BPF expressions are compiled once with libpcap's compiler for an Ethernet
 * link and run with bpf_filter() on a packet synthesised from the record:
 * Ethernet (the record's MACs, zero when absent), IPv4 or IPv6 (addresses,
 * protocol, ToS / traffic class, length), then TCP (ports, flags), UDP
 * (ports) or ICMP/ICMPv6 (type, code).  An 802.1Q tag carrying the record's
 * VLAN is inserted only for expressions that name `vlan`: tcpdump reads the
 * IP header after the tag, so `src net ...` would otherwise never match a
 * record that has a VLAN.  A record without addresses gives an Ethernet
 * frame with no IP payload (type 0), which IP expressions do not match.
 *
 * The packet is built once per record, lazily, and shared by every filter
 * that record meets (struct filter_pkt).  Everything here but compilation is
 * safe to run concurrently on shared compiled filters.
 */
#ifndef NETACCT_AGG_FILTER_H
#define NETACCT_AGG_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"

/* A compiled tcpdump expression. */
struct nt_filter;

/*
 * Compile expr.  Returns the filter, or NULL with libpcap's reason in err
 * (also when the build has no libpcap).
 */
struct nt_filter *nt_filter_compile(const char *expr, char *err, size_t errlen);
void nt_filter_free(struct nt_filter *f);

/* Per-thread scratch: the synthesised packet of the record being filtered. */
#define FILTER_PKT_MAX 128
struct filter_pkt {
	const struct flow_rec *r; /* the record the packet belongs to, NULL: not built */
	unsigned len[2];	  /* [0] untagged, [1] with 802.1Q; 0 = not built yet */
	uint8_t buf[2][FILTER_PKT_MAX];
};

/* Forget the packet (call when the record changes). */
static inline void filter_pkt_reset(struct filter_pkt *p, const struct flow_rec *r)
{
	p->r = r;
	p->len[0] = p->len[1] = 0;
}

/* Whether r passes f; p is the record's scratch packet (filter_pkt_reset(p, r) first). */
int nt_filter_match(const struct nt_filter *f, struct filter_pkt *p);

/*
 * The packet for r into buf (cap >= FILTER_PKT_MAX), with an 802.1Q tag when
 * vlan is set and the record has one.  Returns its length.  For tests.
 */
unsigned filter_pkt_build(const struct flow_rec *r, int vlan, uint8_t *buf, size_t cap);

/*
 * pre_tag_filter / pre_tag2_filter: a comma separated list of tags, each a
 * value or a range "lo-hi", optionally negated with a leading '-'; 0 is the
 * untagged record.  Evaluated in order: a plain entry containing the tag
 * accepts it; a negated entry rejects a tag in its range and accepts any
 * other; a tag that no entry decides is rejected.
 */
#define TAG_FILTER_MAX 64
struct tag_filter {
	unsigned n;
	struct {
		uint64_t lo, hi;
		uint8_t neg;
	} e[TAG_FILTER_MAX];
};

/* Returns 0, or -1 with a reason in why. */
int tag_filter_parse(struct tag_filter *f, const char *s, char *why, size_t whylen);
int tag_filter_match(const struct tag_filter *f, uint64_t tag);

/*
 * pre_tag_label_filter: a comma separated list of labels, 'null' for the
 * unlabelled record, '-' before a label negates it; evaluated like tags.  A
 * record label built from several rules ("a,b") matches an entry equal to
 * the whole label or to one of its comma separated parts.
 */
#define LABEL_FILTER_MAX 32
#define LABEL_FILTER_LEN 128
struct label_filter {
	unsigned n;
	struct {
		char s[LABEL_FILTER_LEN];
		uint8_t neg, null;
	} e[LABEL_FILTER_MAX];
};

int label_filter_parse(struct label_filter *f, const char *s, char *why, size_t whylen);
/* label NULL or "" is the unlabelled record. */
int label_filter_match(const struct label_filter *f, const char *label);

#endif
