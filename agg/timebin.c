#include "agg/timebin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Floor division and modulo for possibly negative times. */
static int64_t fdiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t fmod64(int64_t a, int64_t b)
{
	return a - fdiv(a, b) * b;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = fdiv(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = fdiv(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* ---- configuration values ---------------------------------------------- */

int timebin_parse(const char *v, long max_secs, int *out, char *why, size_t whylen)
{
	while (*v == ' ' || *v == '\t')
		v++;
	char *end;
	long n = strtol(v, &end, 10);
	char unit = *end;
	const char *rest = unit ? end + 1 : end;
	while (*rest == ' ' || *rest == '\t')
		rest++;
	long mult = unit == 's'	  ? 1
		    : unit == 'm' ? 60
		    : unit == 'h' ? 3600
		    : unit == 'd' ? 86400
		    : unit == 'w' ? 604800
		    : unit == 'M' ? -1
				  : 0;
	if (end == v || n <= 0 || !mult || *rest || (*v < '0' || *v > '9')) {
		snprintf(why, whylen,
			 "expects a length like 30s, 5m, 1h, 1d, 1w or 1M (months), got '%s'", v);
		return -1;
	}
	if (mult < 0) {
		if (n > 120) {
			snprintf(why, whylen, "'%s': at most 120 months", v);
			return -1;
		}
		*out = TIMEBIN_MONTHS((int)n);
		return 0;
	}
	if (n > max_secs / mult) {
		snprintf(why, whylen, "duration '%s' is longer than %ld seconds", v, max_secs);
		return -1;
	}
	*out = (int)(n * mult);
	return 0;
}

int timebin_roundoff_check(const char *v, char *why, size_t whylen)
{
	int d = 0, w = 0;
	if (!*v) {
		snprintf(why, whylen, "expects letters among m, h, d, w, M");
		return -1;
	}
	for (const char *p = v; *p; p++) {
		if (!strchr("mhdwM", *p)) {
			snprintf(why, whylen, "'%c' is not one of m, h, d, w, M", *p);
			return -1;
		}
		d |= *p == 'd';
		w |= *p == 'w';
	}
	if (d && w) {
		snprintf(why, whylen, "'d' and 'w' exclude each other");
		return -1;
	}
	return 0;
}

/* ---- the zone ------------------------------------------------------------ */

static int32_t sys_off(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm))
		return 0;
	return (int32_t)tm.tm_gmtoff;
}

/* Tabulate the zone's offsets over [now - 2 y, now + 10 y): daily probes, exact changes. */
static void tabulate(struct timebin *tb, int64_t now)
{
	int64_t lo = now - 2 * 366 * 86400LL, hi = now + 10 * 366 * 86400LL;
	tb->lo = lo;
	tb->nseg = 1;
	tb->seg[0] = (struct timebin_seg){lo, sys_off(lo)};
	int32_t cur = tb->seg[0].off;
	for (int64_t t = lo + 86400; t < hi; t += 86400) {
		int32_t o = sys_off(t);
		if (o == cur)
			continue;
		/* the change is in (t - 1 day, t]: find its first second */
		int64_t a = t - 86400, b = t;
		while (b - a > 1) {
			int64_t mid = a + (b - a) / 2;
			if (sys_off(mid) == cur)
				a = mid;
			else
				b = mid;
		}
		if (tb->nseg == TIMEBIN_SEGS) {
			hi = b; /* beyond this, ask the system */
			break;
		}
		tb->seg[tb->nseg++] = (struct timebin_seg){b, o};
		cur = o;
	}
	tb->hi = hi;
}

/* The segment holding t, or -1 outside the table (or in UTC). */
static int seg_of(const struct timebin *tb, int64_t t)
{
	if (tb->utc || t < tb->lo || t >= tb->hi)
		return -1;
	unsigned a = 0, b = tb->nseg; /* last seg with from <= t */
	while (b - a > 1) {
		unsigned mid = (a + b) / 2;
		if (tb->seg[mid].from <= t)
			a = mid;
		else
			b = mid;
	}
	return (int)a;
}

static int32_t off_at(const struct timebin *tb, int64_t t)
{
	if (tb->utc)
		return 0;
	int i = seg_of(tb, t);
	return i < 0 ? sys_off(t) : tb->seg[i].off;
}

/* Whether UTC moment u lies in segment i. */
static int in_seg(const struct timebin *tb, int i, int64_t u)
{
	if (i < 0 || (unsigned)i >= tb->nseg || u < tb->seg[i].from)
		return 0;
	return (unsigned)i + 1 == tb->nseg ? u < tb->hi : u < tb->seg[i + 1].from;
}

/*
 * The UTC moment of local wall time w (seconds since the epoch as the local
 * clock reads).  A wall time skipped by a clock change maps to the change;
 * a repeated one to its first occurrence.  hint: a segment near w (-1: none)
 * so the usual case is arithmetic.
 */
static int64_t wall_to_utc(const struct timebin *tb, int64_t w, int hint)
{
	if (tb->utc)
		return w;
	/* earliest occurrence first: the segment before the hint, then the hint, then after */
	for (int i = hint - 1; hint >= 0 && i <= hint + 1; i++)
		if (i >= 0 && in_seg(tb, i, w - tb->seg[i].off))
			return w - tb->seg[i].off;
	/* the offsets in force around w: try the earlier moment first */
	int32_t o1 = off_at(tb, w - 14 * 3600), o2 = off_at(tb, w + 14 * 3600);
	int32_t first = o1 > o2 ? o1 : o2, second = o1 > o2 ? o2 : o1;
	if (off_at(tb, w - first) == first)
		return w - first;
	if (off_at(tb, w - second) == second)
		return w - second;
	/* in a gap: the first moment after it */
	int64_t a = w - first, b = w - second;
	if (a > b) {
		int64_t x = a;
		a = b;
		b = x;
	}
	int32_t oa = off_at(tb, a);
	while (b - a > 1) {
		int64_t mid = a + (b - a) / 2;
		if (off_at(tb, mid) == oa)
			a = mid;
		else
			b = mid;
	}
	return b;
}

/* Local midnight starting local civil day `day`. */
static int64_t day_start(const struct timebin *tb, int64_t day, int hint)
{
	return wall_to_utc(tb, day * 86400, hint);
}

void timebin_init(struct timebin *tb, int history, long offset, int utc, int64_t now)
{
	memset(tb, 0, sizeof *tb);
	if (history > 0)
		tb->secs = history;
	else if (history < 0)
		tb->months = -history;
	tb->offset = offset;
	tb->utc = utc;
	if (!utc && history)
		tabulate(tb, now);
}

/* ---- bins ------------------------------------------------------------------ */

/* Bin start and (next non-NULL) the next bin's start for t, before the offset. */
static void bin_of(const struct timebin *tb, int64_t t, int64_t *start, int64_t *next)
{
	int64_t L = tb->secs;
	if (tb->utc && L && 86400 % L == 0) {
		/* UTC days hold whole bins: plain arithmetic, the common case */
		*start = t - fmod64(t, L);
		if (next)
			*next = *start + L;
		return;
	}
	int seg = seg_of(tb, t);
	int64_t off = tb->utc ? 0 : seg >= 0 ? tb->seg[seg].off : sys_off(t);
	int64_t day = fdiv(t + off, 86400); /* local civil day of t */
	if (tb->months) {
		int64_t y;
		int m, d;
		civil_from_days(day, &y, &m, &d);
		int64_t idx = fdiv(y * 12 + (m - 1), tb->months) * tb->months;
		int64_t nidx = idx + tb->months;
		*start =
		    day_start(tb, days_from_civil(fdiv(idx, 12), (int)fmod64(idx, 12) + 1, 1), seg);
		if (next)
			*next = day_start(
			    tb, days_from_civil(fdiv(nidx, 12), (int)fmod64(nidx, 12) + 1, 1), seg);
		return;
	}
	if (L < 86400) {
		/* midnight in t's own segment (no clock change since): arithmetic */
		int64_t ds = day * 86400 - off;
		if (seg < 0 || ds < tb->seg[seg].from)
			ds = day_start(tb, day, seg);
		*start = ds + fdiv(t - ds, L) * L;
		if (next) {
			int64_t de = day_start(tb, day + 1, seg);
			*next = *start + L < de ? *start + L : de;
		}
		return;
	}
	if (L % 86400 == 0) {
		int64_t n = L / 86400;
		/* whole weeks start on Monday: 1970-01-05 is day 4 */
		int64_t base = L % 604800 == 0 ? 4 : 0;
		int64_t first = fdiv(day - base, n) * n + base;
		*start = day_start(tb, first, seg);
		if (next)
			*next = day_start(tb, first + n, seg);
		return;
	}
	*start = fdiv(t, L) * L;
	if (next)
		*next = *start + L;
}

int64_t timebin_start(const struct timebin *tb, int64_t t)
{
	int64_t s;
	bin_of(tb, t - tb->offset, &s, NULL);
	return s + tb->offset;
}

int64_t timebin_next(const struct timebin *tb, int64_t t)
{
	int64_t s, n;
	bin_of(tb, t - tb->offset, &s, &n);
	return n + tb->offset;
}

unsigned timebin_prorate(const struct timebin *tb, int64_t start, int64_t end, uint64_t packets,
			 uint64_t bytes, uint64_t flows, struct timebin_share *out)
{
	if (end <= start)
		return 0;
	int64_t span = end - start;
	int64_t bin = timebin_start(tb, start);
	unsigned n = 0;
	int64_t at = start, done = 0;
	uint64_t p_done = 0, b_done = 0;
	while (at < end) {
		if (n == TIMEBIN_PRORATE_MAX)
			return 0;
		int64_t next = timebin_next(tb, at);
		int64_t upto = next < end ? next : end;
		done += upto - at;
		/* cumulative shares, so the parts add up to the whole exactly */
		__extension__ unsigned __int128 pc = (unsigned __int128)packets * (uint64_t)done;
		__extension__ unsigned __int128 bc = (unsigned __int128)bytes * (uint64_t)done;
		uint64_t p_cum = (uint64_t)(pc / (uint64_t)span);
		uint64_t b_cum = (uint64_t)(bc / (uint64_t)span);
		out[n++] = (struct timebin_share){bin, p_cum - p_done, b_cum - b_done, 0};
		p_done = p_cum;
		b_done = b_cum;
		at = upto;
		bin = next;
	}
	if (n == 1)
		return 0;
	out[0].flows = flows;
	return n;
}
