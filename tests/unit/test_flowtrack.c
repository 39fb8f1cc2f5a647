/*
 * Unit tests for flow tracking (agg/flowtrack.c): what opens a flow, the
 * lifetimes, and the bounded state.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "agg/flowtrack.h"

#define SEC 1000000u

static struct flow_rec pkt(uint8_t src, uint8_t dst, uint16_t sp, uint16_t dp, uint8_t proto)
{
	struct flow_rec r;
	memset(&r, 0, sizeof r);
	r.src_addr.family = r.dst_addr.family = 4;
	r.src_addr.a[0] = r.dst_addr.a[0] = 10;
	r.src_addr.a[3] = src;
	r.dst_addr.a[3] = dst;
	r.src_port = sp;
	r.dst_port = dp;
	r.proto = proto;
	FR_SET(&r, FR_SRC_ADDR);
	FR_SET(&r, FR_DST_ADDR);
	FR_SET(&r, FR_SRC_PORT);
	FR_SET(&r, FR_DST_PORT);
	FR_SET(&r, FR_PROTO);
	return r;
}

static struct flowtrack *mk(size_t bytes, unsigned life, unsigned tcp_life)
{
	char err[128];
	struct flowtrack_opts o = {bytes, life, tcp_life};
	struct flowtrack *ft = flowtrack_new(&o, err, sizeof err);
	assert_non_null(ft);
	return ft;
}

static unsigned feed(struct flowtrack *ft, struct flow_rec r, nt_usec t)
{
	unsigned n = flowtrack_packet(ft, &r, t);
	assert_true(FR_HAS(&r, FR_FLOWS));
	assert_int_equal(r.flows, n);
	return n;
}

/* One flow per direction, as pmacct counts; other 5-tuples are other flows. */
static void test_directions(void **state)
{
	(void)state;
	struct flowtrack *ft = mk(1 << 20, 60, 60);
	assert_int_equal(feed(ft, pkt(1, 2, 1000, 80, 6), 1 * SEC), 1);
	assert_int_equal(feed(ft, pkt(2, 1, 80, 1000, 6), 2 * SEC), 1);
	assert_int_equal(feed(ft, pkt(1, 2, 1000, 80, 6), 3 * SEC), 0);
	assert_int_equal(feed(ft, pkt(2, 1, 80, 1000, 6), 4 * SEC), 0);
	assert_int_equal(feed(ft, pkt(1, 2, 1001, 80, 6), 4 * SEC), 1);
	assert_int_equal(feed(ft, pkt(1, 2, 1000, 80, 17), 4 * SEC), 1);
	/* same addresses, ports swapped in one direction only: another flow */
	assert_int_equal(feed(ft, pkt(1, 2, 80, 1000, 6), 4 * SEC), 1);
	struct flowtrack_stats st;
	flowtrack_get_stats(ft, &st);
	assert_int_equal(st.flows, 5);
	assert_int_equal(st.active, 4);
	flowtrack_free(ft);
}

/* Idle past the lifetime (TCP's own) starts a new flow; the reverse direction keeps it alive. */
static void test_lifetimes(void **state)
{
	(void)state;
	struct flowtrack *ft = mk(1 << 20, 10, 100);
	assert_int_equal(feed(ft, pkt(1, 2, 5, 6, 17), 0), 1);
	assert_int_equal(feed(ft, pkt(1, 2, 5, 6, 17), 10 * SEC), 0); /* exactly the lifetime */
	assert_int_equal(feed(ft, pkt(1, 2, 5, 6, 17), 20 * SEC + 1), 1);
	assert_int_equal(feed(ft, pkt(2, 1, 6, 5, 17), 29 * SEC), 1);
	assert_int_equal(feed(ft, pkt(1, 2, 5, 6, 17), 38 * SEC), 0); /* kept alive by 2->1 */
	assert_int_equal(feed(ft, pkt(3, 4, 5, 6, 6), 0), 1);
	assert_int_equal(feed(ft, pkt(3, 4, 5, 6, 6), 99 * SEC), 0);
	assert_int_equal(feed(ft, pkt(3, 4, 5, 6, 6), 200 * SEC), 1);
	/* a replay starting over: time going back is not idling */
	assert_int_equal(feed(ft, pkt(3, 4, 5, 6, 6), 1 * SEC), 0);
	struct flowtrack_stats st;
	flowtrack_get_stats(ft, &st);
	assert_true(st.expired >= 2);
	flowtrack_free(ft);
}

/* A full table forgets the least recently seen flow, counted as evicted. */
static void test_bounded(void **state)
{
	(void)state;
	struct flowtrack *ft = mk(1, 60, 60); /* the minimum: 16 entries */
	struct flowtrack_stats st;
	flowtrack_get_stats(ft, &st);
	assert_int_equal(st.capacity, 16);
	for (uint16_t p = 0; p < 16; p++)
		assert_int_equal(feed(ft, pkt(1, 2, p, 80, 17), SEC), 1);
	assert_int_equal(feed(ft, pkt(1, 2, 0, 80, 17), 2 * SEC), 0); /* 0 is now the most recent */
	assert_int_equal(feed(ft, pkt(1, 2, 100, 80, 17), 2 * SEC), 1); /* evicts port 1 */
	flowtrack_get_stats(ft, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.active, 16);
	assert_int_equal(feed(ft, pkt(1, 2, 0, 80, 17), 3 * SEC), 0);
	assert_int_equal(feed(ft, pkt(1, 2, 1, 80, 17), 3 * SEC), 1); /* forgotten */
	flowtrack_free(ft);
}

/* Idle flows at the cold end are freed as time passes, without counting as evictions. */
static void test_sweep(void **state)
{
	(void)state;
	struct flowtrack *ft = mk(1, 5, 5);
	for (uint16_t p = 0; p < 16; p++)
		feed(ft, pkt(1, 2, p, 80, 17), SEC);
	assert_int_equal(feed(ft, pkt(7, 8, 1, 1, 17), 100 * SEC), 1);
	struct flowtrack_stats st;
	flowtrack_get_stats(ft, &st);
	assert_int_equal(st.evicted, 0);
	assert_int_equal(st.expired, 16);
	assert_int_equal(st.active, 1);
	for (uint16_t p = 0; p < 15; p++)
		assert_int_equal(feed(ft, pkt(1, 2, p, 80, 17), 101 * SEC), 1);
	flowtrack_get_stats(ft, &st);
	assert_int_equal(st.evicted, 0);
	assert_int_equal(st.active, 16);
	flowtrack_free(ft);
}

/* A cleared table (a savefile's next pass) counts every flow again. */
static void test_clear(void **state)
{
	(void)state;
	struct flowtrack *ft = mk(1, 60, 60);
	for (uint16_t p = 0; p < 16; p++)
		assert_int_equal(feed(ft, pkt(1, 2, p, 80, 17), SEC), 1);
	flowtrack_clear(ft);
	struct flowtrack_stats st;
	flowtrack_get_stats(ft, &st);
	assert_int_equal(st.active, 0);
	for (uint16_t p = 0; p < 16; p++)
		assert_int_equal(feed(ft, pkt(1, 2, p, 80, 17), SEC), 1);
	flowtrack_get_stats(ft, &st);
	assert_int_equal(st.flows, 32);
	assert_int_equal(st.evicted, 0);
	assert_int_equal(st.active, 16);
	flowtrack_free(ft);
}

/* Packets without IP share one pseudo flow. */
static void test_not_ip(void **state)
{
	(void)state;
	struct flowtrack *ft = mk(1 << 16, 60, 60);
	struct flow_rec r;
	memset(&r, 0, sizeof r);
	assert_int_equal(feed(ft, r, SEC), 1);
	assert_int_equal(feed(ft, r, 2 * SEC), 0);
	flowtrack_free(ft);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_directions), cmocka_unit_test(test_lifetimes),
	    cmocka_unit_test(test_bounded),    cmocka_unit_test(test_sweep),
	    cmocka_unit_test(test_not_ip),     cmocka_unit_test(test_clear),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
