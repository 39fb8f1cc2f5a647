/*
 * Per-row variables in names an output derives from each row: kafka_topic,
 * kafka_partition_key, amqp_routing_key, redis_key.  pmacct's variables:
 * $peer_src_ip, $tag, $tag2 (the row's value of that primitive, empty when
 * the aggregate lacks it), $post_tag, $post_tag2 (configured values).  A
 * template without variables is expanded once, not per row.
 */
#ifndef NETACCT_OUT_VARS_H
#define NETACCT_OUT_VARS_H

#include "agg/primitive.h"
#include "agg/table.h"
#include "out/buf.h"

enum out_var {
	OV_PEER_SRC_IP,
	OV_TAG,
	OV_TAG2,
	OV_POST_TAG,
	OV_POST_TAG2,
	OV__COUNT,
};

struct out_vars {
	const char *tmpl;
	int dynamic;		 /* some variable depends on the row */
	int field[OV__COUNT];	 /* key spec field of the row variables, -1: none */
	const char *post_tag[2]; /* configured post_tag, post_tag2 (NULL: empty) */
	unsigned rr, rr_next;	 /* kafka_topic_rr / amqp_routing_key_rr: suffix _0 .. _<rr-1> */
};

void out_vars_init(struct out_vars *v, const char *tmpl, const struct keyspec *ks,
		   const char *post_tag, const char *post_tag2);

/* Round robin over rr names: each expansion ends with the next "_<n>" (0: off). */
void out_vars_round_robin(struct out_vars *v, unsigned rr);

/*
 * Expand for one row (e may be NULL for a template without row variables)
 * into out (out->len bytes; out->data is NULL when empty).  -1 when out ran
 * out of memory.
 */
int out_vars_expand(struct out_vars *v, const struct keyspec *ks, const struct agg_entry *e,
		    struct obuf *out);

#endif
