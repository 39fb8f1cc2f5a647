/*
 * Unit tests for time bins (agg/timebin.c): calendar months, weeks, days
 * across DST changes, offsets, the configuration values and pro-rating.
 * Expected instants come from libc (timegm, mktime, localtime_r) in the
 * zone under test, never from timebin's own arithmetic.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg/timebin.h"

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = s};
	return (int64_t)timegm(&tm);
}

/* Local wall time to UTC; isdst -1 lets libc decide (never an ambiguous time here). */
static int64_t local(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = s,
			.tm_isdst = -1};
	return (int64_t)mktime(&tm);
}

static struct timebin tb; /* large: not on the stack */

static void test_parse(void **state)
{
	(void)state;
	char why[256];
	int v;
	assert_int_equal(timebin_parse("5m", 31 * 86400, &v, why, sizeof why), 0);
	assert_int_equal(v, 300);
	assert_int_equal(timebin_parse("1M", 31 * 86400, &v, why, sizeof why), 0);
	assert_int_equal(v, TIMEBIN_MONTHS(1));
	assert_int_equal(timebin_parse("3M", 31 * 86400, &v, why, sizeof why), 0);
	assert_int_equal(v, TIMEBIN_MONTHS(3));
	assert_int_equal(timebin_parse("300s", 31 * 86400, &v, why, sizeof why), 0);
	assert_int_equal(v, 300);
	static const char *const bad[] = {"0M", "121M", "5", "5x", "M", "-1m", "32d", "1.5h", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(timebin_parse(bad[i], 31 * 86400, &v, why, sizeof why), -1);

	assert_int_equal(timebin_roundoff_check("m", why, sizeof why), 0);
	assert_int_equal(timebin_roundoff_check("mhd", why, sizeof why), 0);
	assert_int_equal(timebin_roundoff_check("hwM", why, sizeof why), 0);
	assert_int_equal(timebin_roundoff_check("dw", why, sizeof why), -1);
	assert_int_equal(timebin_roundoff_check("x", why, sizeof why), -1);
	assert_int_equal(timebin_roundoff_check("", why, sizeof why), -1);
}

static void test_utc_minutes(void **state)
{
	(void)state;
	timebin_init(&tb, 300, 0, 1, utc(2024, 6, 1, 0, 0, 0));
	int64_t t = utc(2024, 6, 1, 10, 7, 42);
	assert_int_equal(timebin_start(&tb, t), utc(2024, 6, 1, 10, 5, 0));
	assert_int_equal(timebin_next(&tb, t), utc(2024, 6, 1, 10, 10, 0));
	/* a bin start is its own bin */
	assert_int_equal(timebin_start(&tb, utc(2024, 6, 1, 10, 5, 0)), utc(2024, 6, 1, 10, 5, 0));
	/* before 1970 too */
	assert_int_equal(timebin_start(&tb, -1), -300);
}

static void test_utc_months(void **state)
{
	(void)state;
	timebin_init(&tb, TIMEBIN_MONTHS(1), 0, 1, utc(2024, 6, 1, 0, 0, 0));
	assert_int_equal(timebin_start(&tb, utc(2024, 1, 31, 23, 59, 59)),
			 utc(2024, 1, 1, 0, 0, 0));
	assert_int_equal(timebin_next(&tb, utc(2024, 1, 31, 23, 59, 59)), utc(2024, 2, 1, 0, 0, 0));
	/* leap February: 29 days */
	assert_int_equal(timebin_start(&tb, utc(2024, 2, 29, 12, 0, 0)), utc(2024, 2, 1, 0, 0, 0));
	assert_int_equal(timebin_next(&tb, utc(2024, 2, 29, 12, 0, 0)), utc(2024, 3, 1, 0, 0, 0));
	/* December to January */
	assert_int_equal(timebin_next(&tb, utc(2023, 12, 5, 0, 0, 0)), utc(2024, 1, 1, 0, 0, 0));
	/* quarters: months 1-3, 4-6, ... */
	timebin_init(&tb, TIMEBIN_MONTHS(3), 0, 1, utc(2024, 6, 1, 0, 0, 0));
	assert_int_equal(timebin_start(&tb, utc(2024, 5, 15, 0, 0, 0)), utc(2024, 4, 1, 0, 0, 0));
	assert_int_equal(timebin_next(&tb, utc(2024, 5, 15, 0, 0, 0)), utc(2024, 7, 1, 0, 0, 0));
	assert_int_equal(timebin_next(&tb, utc(2024, 11, 15, 0, 0, 0)), utc(2025, 1, 1, 0, 0, 0));
}

static void test_weeks_and_days(void **state)
{
	(void)state;
	timebin_init(&tb, 604800, 0, 1, utc(2024, 6, 1, 0, 0, 0));
	/* 2024-01-03 is a Wednesday: its week started on Monday 2024-01-01 */
	assert_int_equal(timebin_start(&tb, utc(2024, 1, 3, 15, 0, 0)), utc(2024, 1, 1, 0, 0, 0));
	assert_int_equal(timebin_next(&tb, utc(2024, 1, 3, 15, 0, 0)), utc(2024, 1, 8, 0, 0, 0));
	/* Sunday belongs to the week that started six days before */
	assert_int_equal(timebin_start(&tb, utc(2024, 1, 7, 23, 0, 0)), utc(2024, 1, 1, 0, 0, 0));
	timebin_init(&tb, 86400, 0, 1, utc(2024, 6, 1, 0, 0, 0));
	assert_int_equal(timebin_start(&tb, utc(2024, 3, 1, 0, 0, 0) - 1),
			 utc(2024, 2, 29, 0, 0, 0));
}

static void test_offset(void **state)
{
	(void)state;
	/* 30 minute bins shifted by 15 minutes: :15 and :45 */
	timebin_init(&tb, 1800, 900, 1, utc(2024, 6, 1, 0, 0, 0));
	assert_int_equal(timebin_start(&tb, utc(2024, 6, 1, 10, 20, 0)),
			 utc(2024, 6, 1, 10, 15, 0));
	assert_int_equal(timebin_start(&tb, utc(2024, 6, 1, 10, 10, 0)), utc(2024, 6, 1, 9, 45, 0));
	assert_int_equal(timebin_next(&tb, utc(2024, 6, 1, 10, 10, 0)), utc(2024, 6, 1, 10, 15, 0));
	/* months shifted by a day */
	timebin_init(&tb, TIMEBIN_MONTHS(1), 86400, 1, utc(2024, 6, 1, 0, 0, 0));
	assert_int_equal(timebin_start(&tb, utc(2024, 6, 1, 12, 0, 0)), utc(2024, 5, 2, 0, 0, 0));
	assert_int_equal(timebin_start(&tb, utc(2024, 6, 2, 12, 0, 0)), utc(2024, 6, 2, 0, 0, 0));
}

/* Walk the bins of [from, to): each starts where the previous ended; returns their count. */
static unsigned walk(int64_t from, int64_t to, int64_t want_len_max)
{
	unsigned n = 0;
	int64_t t = from;
	assert_int_equal(timebin_start(&tb, t), from);
	while (t < to) {
		int64_t next = timebin_next(&tb, t);
		assert_true(next > t);
		assert_true(next - t <= want_len_max);
		assert_int_equal(timebin_start(&tb, next - 1), t);
		assert_int_equal(timebin_start(&tb, next), next);
		t = next;
		n++;
	}
	assert_int_equal(t, to);
	return n;
}

static void test_dst_berlin(void **state)
{
	(void)state;
	set_tz(":Europe/Berlin");
	timebin_init(&tb, 86400, 0, 0, utc(2024, 6, 1, 0, 0, 0));
	/* 2024-03-31 has 23 hours: its bin is midnight to midnight, local time */
	int64_t t = local(2024, 3, 31, 12, 0, 0);
	assert_int_equal(timebin_start(&tb, t), local(2024, 3, 31, 0, 0, 0));
	assert_int_equal(timebin_next(&tb, t), local(2024, 4, 1, 0, 0, 0));
	assert_int_equal(local(2024, 4, 1, 0, 0, 0) - local(2024, 3, 31, 0, 0, 0), 23 * 3600);

	/* hourly bins: 23 on the spring day, 25 on the autumn day, each an hour */
	timebin_init(&tb, 3600, 0, 0, utc(2024, 6, 1, 0, 0, 0));
	assert_int_equal(walk(local(2024, 3, 31, 0, 0, 0), local(2024, 4, 1, 0, 0, 0), 3600), 23);
	assert_int_equal(walk(local(2024, 10, 27, 0, 0, 0), local(2024, 10, 28, 0, 0, 0), 3600),
			 25);
	/* 03:30 CEST is in the bin starting 03:00 CEST (02:00 does not exist) */
	assert_int_equal(timebin_start(&tb, local(2024, 3, 31, 3, 30, 0)),
			 local(2024, 3, 31, 3, 0, 0));
	/* the repeated 02:00-03:00 hour gives two bins, an hour apart */
	int64_t first = utc(2024, 10, 27, 0, 30, 0), second = utc(2024, 10, 27, 1, 30, 0);
	assert_int_equal(timebin_start(&tb, first), utc(2024, 10, 27, 0, 0, 0));
	assert_int_equal(timebin_start(&tb, second), utc(2024, 10, 27, 1, 0, 0));

	/* months in local time: March starts at CET midnight, April at CEST midnight */
	timebin_init(&tb, TIMEBIN_MONTHS(1), 0, 0, utc(2024, 6, 1, 0, 0, 0));
	assert_int_equal(timebin_start(&tb, t), local(2024, 3, 1, 0, 0, 0));
	assert_int_equal(timebin_next(&tb, t), local(2024, 4, 1, 0, 0, 0));
	assert_int_equal(timebin_start(&tb, local(2024, 3, 1, 0, 0, 0)),
			 local(2024, 3, 1, 0, 0, 0));
	assert_int_equal(timebin_start(&tb, local(2024, 3, 1, 0, 0, 0) - 1),
			 local(2024, 2, 1, 0, 0, 0));
	/* and with timestamps_utc the same months are UTC months */
	timebin_init(&tb, TIMEBIN_MONTHS(1), 0, 1, utc(2024, 6, 1, 0, 0, 0));
	assert_int_equal(timebin_start(&tb, t), utc(2024, 3, 1, 0, 0, 0));
	set_tz("UTC");
}

/* Lord Howe moves its clocks by 30 minutes: the day's last hourly bin is half an hour. */
static void test_dst_half_hour(void **state)
{
	(void)state;
	set_tz(":Australia/Lord_Howe");
	timebin_init(&tb, 3600, 0, 0, utc(2024, 6, 1, 0, 0, 0));
	/* clocks go forward on 2024-10-06: 23.5 hours */
	int64_t d0 = local(2024, 10, 6, 0, 0, 0), d1 = local(2024, 10, 7, 0, 0, 0);
	assert_int_equal(d1 - d0, 23 * 3600 + 1800);
	assert_int_equal(walk(d0, d1, 3600), 24);
	assert_int_equal(timebin_start(&tb, d1 - 1), d1 - 1800);
	set_tz("UTC");
}

/* Random instants against libc: bins hold them and start where the calendar says. */
static void test_random_against_libc(void **state)
{
	(void)state;
	static const char *const zones[] = {":Europe/Berlin", ":America/New_York", ":Asia/Kolkata",
					    ":Australia/Lord_Howe", "UTC"};
	static const int hist[] = {
	    300, 3600, 7200, 86400, 604800, TIMEBIN_MONTHS(1), TIMEBIN_MONTHS(2)};
	srand(7);
	for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
		set_tz(zones[z]);
		for (size_t h = 0; h < sizeof hist / sizeof hist[0]; h++) {
			int64_t now = utc(2024, 6, 1, 0, 0, 0);
			timebin_init(&tb, hist[h], 0, 0, now);
			for (int i = 0; i < 400; i++) {
				int64_t t = now - 365 * 86400LL + (int64_t)(rand() % (730 * 86400));
				int64_t s = timebin_start(&tb, t), n = timebin_next(&tb, t);
				assert_true(s <= t && t < n);
				time_t st = (time_t)s;
				struct tm tm;
				localtime_r(&st, &tm);
				if (hist[h] >= 86400 || hist[h] < 0) {
					/* days, weeks and months start at local midnight */
					assert_int_equal(
					    tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec, 0);
				}
				if (hist[h] == 604800)
					assert_int_equal(tm.tm_wday, 1);
				if (hist[h] < 0) {
					assert_int_equal(tm.tm_mday, 1);
					assert_int_equal(tm.tm_mon % -hist[h], 0);
				}
				if (hist[h] > 0 && hist[h] < 86400) {
					/* midnight + k * length, in real seconds */
					struct tm mt;
					time_t tt = (time_t)t;
					localtime_r(&tt, &mt);
					mt.tm_hour = mt.tm_min = mt.tm_sec = 0;
					mt.tm_isdst = -1;
					int64_t mid = (int64_t)mktime(&mt);
					assert_int_equal((s - mid) % hist[h], 0);
					assert_true(s >= mid);
				}
			}
		}
	}
	set_tz("UTC");
}

static void test_prorate(void **state)
{
	(void)state;
	struct timebin_share sh[TIMEBIN_PRORATE_MAX];
	timebin_init(&tb, 300, 0, 1, utc(2024, 6, 1, 0, 0, 0));
	int64_t t0 = utc(2024, 6, 1, 10, 0, 0);
	/* pmacct's example: 1000 s from a bin start, 1000 bytes -> 300, 300, 300, 100 */
	unsigned n = timebin_prorate(&tb, t0, t0 + 1000, 7, 1000, 1, sh);
	assert_int_equal(n, 4);
	static const uint64_t bytes[] = {300, 300, 300, 100};
	uint64_t packets = 0, flows = 0;
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(sh[i].bin, t0 + 300 * (int64_t)i);
		assert_int_equal(sh[i].bytes, bytes[i]);
		packets += sh[i].packets;
		flows += sh[i].flows;
	}
	assert_int_equal(packets, 7);
	assert_int_equal(flows, 1);
	assert_int_equal(sh[0].flows, 1);
	/* starting mid-bin: 100 s in the first bin, 50 in the second */
	n = timebin_prorate(&tb, t0 + 200, t0 + 350, 3, 150, 1, sh);
	assert_int_equal(n, 2);
	assert_int_equal(sh[0].bytes, 100);
	assert_int_equal(sh[1].bytes, 50);
	assert_int_equal(sh[0].packets + sh[1].packets, 3);
	/* huge counters do not overflow */
	n = timebin_prorate(&tb, t0, t0 + 600, UINT64_MAX, UINT64_MAX, 1, sh);
	assert_int_equal(n, 2);
	assert_true(sh[0].bytes + sh[1].bytes == UINT64_MAX);
	/* one bin, no duration, backwards, or more than TIMEBIN_PRORATE_MAX bins: not split */
	assert_int_equal(timebin_prorate(&tb, t0 + 10, t0 + 200, 1, 1, 1, sh), 0);
	assert_int_equal(timebin_prorate(&tb, t0, t0, 1, 1, 1, sh), 0);
	assert_int_equal(timebin_prorate(&tb, t0 + 10, t0, 1, 1, 1, sh), 0);
	assert_int_equal(
	    timebin_prorate(&tb, t0, t0 + 300 * (TIMEBIN_PRORATE_MAX + 1), 1, 1, 1, sh), 0);
	/* months: a flow across the end of February */
	timebin_init(&tb, TIMEBIN_MONTHS(1), 0, 1, utc(2024, 6, 1, 0, 0, 0));
	n = timebin_prorate(&tb, utc(2024, 2, 29, 23, 0, 0), utc(2024, 3, 1, 1, 0, 0), 2, 3600, 1,
			    sh);
	assert_int_equal(n, 2);
	assert_int_equal(sh[0].bin, utc(2024, 2, 1, 0, 0, 0));
	assert_int_equal(sh[1].bin, utc(2024, 3, 1, 0, 0, 0));
	assert_int_equal(sh[0].bytes, 1800);
	assert_int_equal(sh[1].bytes, 1800);
}

int main(void)
{
	set_tz("UTC");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),	  cmocka_unit_test(test_utc_minutes),
	    cmocka_unit_test(test_utc_months),	  cmocka_unit_test(test_weeks_and_days),
	    cmocka_unit_test(test_offset),	  cmocka_unit_test(test_dst_berlin),
	    cmocka_unit_test(test_dst_half_hour), cmocka_unit_test(test_random_against_libc),
	    cmocka_unit_test(test_prorate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
