/*
 * Unit tests for print file name templates (out/filename.c): time parts
 * expanded per purge, row variables resolved through the key spec by
 * primitive name, constants, and the refusals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg/primitive.h"
#include "out/filename.h"

static struct out_instance oi;
static struct conf_plugin pc;

static void instance(const char *aggregate)
{
	char err[256];
	memset(&oi, 0, sizeof oi);
	memset(&pc, 0, sizeof pc);
	oi.conf = &pc;
	oi.refresh = 60;
	oi.history = 300;
	assert_int_equal(keyspec_build(&oi.ks, aggregate, NULL, NULL, err, sizeof err), 0);
}

/* An entry whose key holds peer_src_ip = 192.0.2.1 (or ::1 with v6). */
static struct agg_entry *entry(int v6)
{
	struct agg_entry *e = calloc(1, sizeof *e + oi.ks.key_len);
	assert_non_null(e);
	struct flow_rec r;
	memset(&r, 0, sizeof r);
	r.peer_src_ip.family = v6 ? 6 : 4;
	if (v6)
		r.peer_src_ip.a[15] = 1;
	else
		memcpy(r.peer_src_ip.a, "\xc0\x00\x02\x01", 4);
	FR_SET(&r, FR_PEER_SRC_IP);
	FR_SET(&r, FR_SRC_ADDR);
	keyspec_extract(&oi.ks, &r, e->key);
	return e;
}

static void test_time_and_row_parts(void **state)
{
	(void)state;
	struct fname f;
	char why[128], out[256];
	instance("peer_src_ip, src_host");
	assert_int_equal(fname_parse(&f, "/spool/$peer_src_ip/%Y%m%d-%H%M-$ref-$hst.json", &oi, 1,
				     why, sizeof why),
			 0);
	assert_true(f.has_time);
	assert_true(f.has_row);
	time_t when = 1717236000; /* 2024-06-01 10:00:00 UTC */
	assert_int_equal(fname_begin(&f, when, 1), 0);
	struct agg_entry *e = entry(0);
	assert_int_equal(fname_expand(&f, &oi, e, out, sizeof out), 0);
	assert_string_equal(out, "/spool/192.0.2.1/20240601-1000-60-300.json");
	free(e);
	e = entry(1);
	assert_int_equal(fname_expand(&f, &oi, e, out, sizeof out), 0);
	assert_string_equal(out, "/spool/::1/20240601-1000-60-300.json");
	free(e);
	/* a later purge: only the time part changes */
	assert_int_equal(fname_begin(&f, when + 86400, 1), 0);
	assert_int_equal(fname_expand(&f, &oi, NULL, out, sizeof out), 0);
	assert_string_equal(out, "/spool//20240602-1000-60-300.json");
	fname_free(&f);
}

static void test_absent_primitive_and_constants(void **state)
{
	(void)state;
	struct fname f;
	char why[128], out[256];
	instance("src_host");
	/* $tag and $tag2 resolve by name: not aggregated here, they expand to nothing */
	assert_int_equal(
	    fname_parse(&f, "t-$tag-$tag2-$peer_src_ip-$post_tag-100%%", &oi, 1, why, sizeof why),
	    0);
	assert_false(f.has_row);
	unsigned nulls = 0;
	for (unsigned i = 0; i < f.n; i++)
		nulls += f.t[i].kind == FN_NULL;
	assert_int_equal(nulls, 3);
	assert_int_equal(fname_begin(&f, 0, 1), 0);
	assert_int_equal(fname_expand(&f, &oi, NULL, out, sizeof out), 0);
	assert_string_equal(out, "t-----100%");
	fname_free(&f);
}

static void test_tzone(void **state)
{
	(void)state;
	struct fname f;
	char why[128], out[64];
	instance("src_host");
	assert_int_equal(fname_parse(&f, "x$tzone", &oi, 1, why, sizeof why), 0);
	assert_int_equal(fname_begin(&f, 1717236000, 1), 0);
	assert_int_equal(fname_expand(&f, &oi, NULL, out, sizeof out), 0);
	assert_string_equal(out, "xZ");
	setenv("TZ", ":Asia/Kolkata", 1);
	tzset();
	assert_int_equal(fname_begin(&f, 1717236000, 0), 0);
	assert_int_equal(fname_expand(&f, &oi, NULL, out, sizeof out), 0);
	assert_string_equal(out, "x+05:30");
	setenv("TZ", "UTC", 1);
	tzset();
	fname_free(&f);
}

static void test_refusals(void **state)
{
	(void)state;
	struct fname f;
	char why[128], out[16];
	instance("src_host");
	/* print_latest_file: no time variables */
	assert_int_equal(fname_parse(&f, "latest-%Y", &oi, 0, why, sizeof why), -1);
	fname_free(&f);
	assert_int_equal(fname_parse(&f, "latest-$tzone", &oi, 0, why, sizeof why), -1);
	fname_free(&f);
	/* too long for the buffer, or empty: no name */
	assert_int_equal(fname_parse(&f, "a-rather-long-name.json", &oi, 1, why, sizeof why), 0);
	assert_int_equal(fname_begin(&f, 0, 1), 0);
	assert_int_equal(fname_expand(&f, &oi, NULL, out, sizeof out), -1);
	fname_free(&f);
	assert_int_equal(fname_parse(&f, "$tag", &oi, 1, why, sizeof why), 0);
	assert_int_equal(fname_expand(&f, &oi, NULL, out, sizeof out), -1);
	fname_free(&f);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_time_and_row_parts),
	    cmocka_unit_test(test_absent_primitive_and_constants),
	    cmocka_unit_test(test_tzone),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
