/*
 * Time bins (*_history): which bin a moment falls in, where the next bin
 * starts, and how a flow spanning several bins is split (nfacctd_pro_rating).
 *
 * A bin length is seconds (s, m, h, d, w) or calendar months (M).  Bins are
 * aligned to the calendar of the zone they are computed in (local time, or
 * UTC with timestamps_utc):
 *   - shorter than a day: local midnight + k * length (real seconds), the
 *     last bin of a day ending at the next midnight, so a day of 23 or 25
 *     hours (DST) still starts its first bin at midnight;
 *   - whole days: every n-th day counted from 1970-01-01, from midnight;
 *   - whole weeks: Monday midnight, every n-th week;
 *   - other lengths of a day or more: multiples of the length since the epoch;
 *   - months: the first of every n-th month (counted from January of year 0)
 *     at midnight.
 * *_history_offset shifts every bin by that many seconds.
 *
 * The zone's UTC offsets are tabulated once (timebin_init) for the years
 * around now, so finding a bin is arithmetic and a binary search, never a
 * localtime() call (which takes a process-wide lock) on the record path.
 */
#ifndef NETACCT_AGG_TIMEBIN_H
#define NETACCT_AGG_TIMEBIN_H

#include <stddef.h>
#include <stdint.h>

/* A *_history value as stored in configuration: > 0 seconds, < 0 -months, 0 none. */
#define TIMEBIN_MONTHS(n) (-(n))

#define TIMEBIN_SEGS 256

struct timebin_seg {
	int64_t from; /* UTC seconds this offset applies from */
	int32_t off;  /* seconds east of UTC */
};

struct timebin {
	int64_t secs;	/* bin length in seconds; 0 for months */
	int months;	/* bin length in calendar months; 0 for seconds */
	int64_t offset; /* *_history_offset */
	int utc;
	/* the zone: offsets valid in [lo, hi); outside it localtime_r() answers */
	int64_t lo, hi;
	unsigned nseg;
	struct timebin_seg seg[TIMEBIN_SEGS];
};

/*
 * Parse a *_history value: "<n>s|m|h|d|w|M" (n > 0, at most max_secs for
 * second-based lengths, at most 120 months).  Stores seconds or
 * TIMEBIN_MONTHS(n) in *out.  Returns 0, or -1 with the reason in why.
 */
int timebin_parse(const char *v, long max_secs, int *out, char *why, size_t whylen);

/*
 * Parse a *_history_roundoff value: any of the letters m h d w M, d and w
 * not together.  Returns 0, or -1 with the reason in why.
 */
int timebin_roundoff_check(const char *v, char *why, size_t whylen);

/*
 * Set up tb for a *_history value (seconds or TIMEBIN_MONTHS(n)); 0 means
 * no bins (timebin_start() then is never called).  Reads the process's time
 * zone (TZ) unless utc; `now` centres the tabulated range.
 */
void timebin_init(struct timebin *tb, int history, long offset, int utc, int64_t now);

/* The start of the bin holding t (UTC seconds). */
int64_t timebin_start(const struct timebin *tb, int64_t t);

/* The start of the bin after the one holding t. */
int64_t timebin_next(const struct timebin *tb, int64_t t);

/* One bin's part of a flow: its start and counters. */
struct timebin_share {
	int64_t bin;
	uint64_t packets, bytes, flows;
};

/* Bins a flow is split over at most; a longer flow is not split (pro-rating off for it). */
#define TIMEBIN_PRORATE_MAX 64

/*
 * nfacctd_pro_rating: split a flow lasting [start, end] (seconds) over the
 * bins it spans, each bin's packets and bytes proportional to the seconds
 * of the flow in it (the total is kept exactly: rounding goes to the later
 * bins); the flow itself counts in its first bin.  Returns the number of
 * shares written to out (up to TIMEBIN_PRORATE_MAX), or 0 when the flow
 * stays in one bin, has no duration or spans more bins than that: the
 * caller then accounts it whole in the start bin.
 */
unsigned timebin_prorate(const struct timebin *tb, int64_t start, int64_t end, uint64_t packets,
			 uint64_t bytes, uint64_t flows, struct timebin_share *out);

#endif
