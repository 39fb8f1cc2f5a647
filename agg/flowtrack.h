/*
 * Flow tracking for the packet daemons (pmacctd, uacctd): the per-flow state
 * behind the `flows` counter.  A packet opens a flow in its direction when
 * no packet of the same 5-tuple (either direction) was seen within the
 * lifetime (pmacctd_flow_lifetime, pmacctd_flow_tcp_lifetime for TCP), or
 * when it is the first packet of that direction: as pmacct counts, a TCP
 * connection is one flow each way.  Time is the packets' own (the capture
 * clock when reading a savefile), so a replay counts the same on every run.
 *
 * State is bounded (pmacctd_flow_buffer_size bytes, one table per worker):
 * when it is full the least recently seen flow is forgotten and counted as
 * evicted; its next packet then counts as a new flow.  Nothing is allocated
 * after flowtrack_new().  One instance belongs to one thread.
 */
#ifndef NETACCT_AGG_FLOWTRACK_H
#define NETACCT_AGG_FLOWTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"

struct flowtrack;

struct flowtrack_opts {
	size_t max_bytes;	 /* state budget; at least a few entries are always kept */
	unsigned lifetime_s;	 /* idle seconds before a non-TCP flow ends */
	unsigned tcp_lifetime_s; /* the same for TCP */
};

struct flowtrack_stats {
	uint64_t flows;	  /* flows opened (each direction counted) */
	uint64_t expired; /* flows that ended by idling past their lifetime */
	uint64_t evicted; /* flows forgotten because the state was full */
	uint64_t active;  /* entries in use now */
	uint64_t capacity;
};

/* NULL with a reason in err when the memory cannot be had. */
struct flowtrack *flowtrack_new(const struct flowtrack_opts *o, char *err, size_t errlen);
void flowtrack_free(struct flowtrack *ft);

/*
 * Account one decoded packet at time now: sets r->flows to 1 when the
 * packet opens a flow in its direction, 0 otherwise, and FR_FLOWS.  Returns
 * r->flows.  Packets without an IP header share one pseudo flow.
 */
unsigned flowtrack_packet(struct flowtrack *ft, struct flow_rec *r, nt_usec now);

/* Forget every flow (a savefile read again from its start); counters are kept. */
void flowtrack_clear(struct flowtrack *ft);

void flowtrack_get_stats(const struct flowtrack *ft, struct flowtrack_stats *st);

#endif
