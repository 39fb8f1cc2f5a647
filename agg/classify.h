/*
 * Application classification with nDPI: the `class` primitive of pmacctd and
 * uacctd.
 *
 * One classifier per worker (no locks): a bounded table of bidirectional
 * flows (5-tuple and VLAN) each with its nDPI state, fed every packet of the
 * flow after pkt_decode() until nDPI names the protocol or the flow's packet
 * budget (classifier_giveup_proto_*) runs out.  From then on every packet of
 * the flow gets the name in flow_rec.class_name (FR_CLASS), as pmacct writes
 * it: "<master>/<application>" in nDPI's names, e.g. "TLS/Google",
 * "Unknown/DNS" (what nDPI could not name is "Unknown").  Flows idle longer
 * than CLASSIFY_IDLE_TIMEOUT are dropped every classifier_idle_scan_period
 * (in packet time).  Built without nDPI, classify_init() fails with a message
 * saying so.
 */
#ifndef NETACCT_AGG_CLASSIFY_H
#define NETACCT_AGG_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"
#include "conf/config.h"

#define CLASSIFY_NAME_MAX     40	/* "<master>/<app>" and its NUL */
#define CLASSIFY_IDLE_TIMEOUT 30000000u /* usec a flow may go unseen before it is dropped */

/* The classifier_* keys (pmacct's defaults). */
struct classify_opts {
	unsigned num_roots;    /* hash buckets (classifier_num_roots, 512) */
	unsigned max_flows;    /* flows tracked at once (classifier_max_flows) */
	int proto_guess;       /* guess by ports when DPI fails (classifier_proto_guess) */
	unsigned giveup_tcp;   /* packets tried per TCP flow (classifier_giveup_proto_tcp, 10) */
	unsigned giveup_udp;   /* per UDP flow (8) */
	unsigned giveup_other; /* per other flow (8) */
	unsigned idle_scan_period; /* seconds between idle-flow scans (10) */
};

/* The key table: pmacctd and uacctd put it in their schema. */
extern const struct conf_key_table classify_keys;

void classify_opts_default(struct classify_opts *o);
void classify_opts_from_conf(struct classify_opts *o, const struct conf *c);

struct classify_stats {
	uint64_t flows;	     /* flows created */
	uint64_t classified; /* flows nDPI named */
	uint64_t given_up;   /* flows whose budget ran out (named by guess or "Unknown") */
	uint64_t expired;    /* idle flows dropped */
	uint64_t table_full; /* packets of new flows not tracked: max_flows reached */
	uint64_t skipped;    /* packets not looked at: non-first fragments, not IP */
};

struct cls_flow;  /* agg/classify.c */
struct cls_names; /* agg/classify.c */

struct classifier {
	struct classify_opts o;
	void *ndpi; /* struct ndpi_detection_module_struct */
	struct cls_flow **buckets;
	struct cls_names *names; /* class names made so far */
	unsigned nflows;
	nt_usec next_scan;
	struct classify_stats st;
};

/* 0, or -1 with the reason in err (no nDPI in this build, no memory). */
int classify_init(struct classifier *c, const struct classify_opts *o, char *err, size_t errlen);

/*
 * One packet: l3 is its IP header and l3len the captured bytes from there
 * (struct pkt_decoder's l3 and l3_len after pkt_decode() returned PKT_OK),
 * ts its capture time, r the record pkt_decode() filled.  Sets
 * r->class_name and FR_CLASS once the flow is classified (nDPI named it, or
 * gave up after classifier_giveup_proto_* packets or a TCP FIN/RST); the
 * name is valid until classify_free().
 */
void classify_packet(struct classifier *c, const uint8_t *l3, size_t l3len, nt_usec ts,
		     struct flow_rec *r);

void classify_free(struct classifier *c);

#endif
