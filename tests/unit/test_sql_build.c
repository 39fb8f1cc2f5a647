/*
 * Unit tests for the SQL statement builder (out/sql_build.c): column
 * layouts per pmacct table version and dialect, typed literals, UPDATE /
 * INSERT / COPY text, and table-name expansion.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/primitive.h"
#include "agg/table.h"
#include "out/buf.h"
#include "out/sql_build.h"

struct fx {
	struct keyspec ks;
	struct agg_entry *e;
	struct obuf b;
};

static void build(struct fx *f, const char *agg, int history, int utc)
{
	char err[256];
	struct prim_registry reg = {0};
	struct prim_opts o = {.history = history, .timestamps_utc = utc};
	assert_int_equal(keyspec_build(&f->ks, agg, &reg, &o, err, sizeof err), 0);
	struct flow_rec r;
	flow_rec_clear(&r);
	r.src_addr.family = 4;
	inet_pton(AF_INET, "10.0.0.1", r.src_addr.a);
	r.dst_addr.family = 6;
	inet_pton(AF_INET6, "2001:db8::2", r.dst_addr.a);
	r.src_port = 1000;
	r.dst_port = 80;
	r.proto = 6;
	r.tcp_flags = 0x12;
	r.ts_arrival = 7200ull * 1000000u + 5;
	r.ts_start = r.ts_arrival;
	r.present = ~0ull;
	f->e = calloc(1, sizeof *f->e + f->ks.key_len);
	keyspec_extract(&f->ks, &r, f->e->key);
	f->e->c = (struct agg_counters){.packets = 3, .bytes = 300, .flows = 2, .tcp_flags = 0x12};
	obuf_init(&f->b, 0);
}

static void done(struct fx *f)
{
	free(f->e);
	obuf_free(&f->b);
}

static void test_version_layouts(void **state)
{
	(void)state;
	struct fx f;
	struct sql_layout l;
	char err[256];
	build(&f, "src_host, dst_host, src_port, proto", 0, 1);
	/* v1 on MySQL/SQLite: src_port; on PostgreSQL: port_src */
	assert_int_equal(sql_layout_build(&l, &f.ks, SQL_MYSQL, 1, 0, 0, err, sizeof err), 0);
	assert_int_equal(l.ncol, 7);
	assert_string_equal(l.col[4].name, "src_port");
	assert_int_equal(l.flows, 0);
	assert_int_equal(sql_layout_build(&l, &f.ks, SQL_PGSQL, 1, 0, 0, err, sizeof err), 0);
	assert_string_equal(l.col[4].name, "port_src");
	assert_int_equal(sql_layout_build(&l, &f.ks, SQL_SQLITE, 8, 0, 0, err, sizeof err), 0);
	assert_string_equal(l.col[9].name, "port_src");
	assert_int_equal(l.flows, 1);
	assert_int_equal(sql_layout_build(&l, &f.ks, SQL_SQLITE, 9, 0, 0, err, sizeof err), 0);
	assert_string_equal(l.col[0].name, "tag");
	/* a primitive the version has no column for */
	done(&f);
	build(&f, "src_as", 0, 1);
	assert_int_equal(sql_layout_build(&l, &f.ks, SQL_SQLITE, 5, 0, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "sql_table_version"));
	assert_non_null(strstr(err, "src_as"));
	assert_int_equal(sql_layout_build(&l, &f.ks, SQL_SQLITE, 6, 0, 0, err, sizeof err), 0);
	/* optimize: the aggregate's own columns only */
	assert_int_equal(sql_layout_build(&l, &f.ks, SQL_SQLITE, 1, 1, 0, err, sizeof err), 0);
	assert_int_equal(l.ncol, 1);
	assert_string_equal(l.col[0].name, "as_src");
	done(&f);
}

static void test_update_insert_text(void **state)
{
	(void)state;
	struct fx f;
	struct sql_layout l;
	struct sql_stamps st = {.inserted = 3600, .updated = 7260};
	char err[256];
	build(&f, "src_host, dst_host, proto, tcpflags", 0, 1);
	assert_int_equal(sql_layout_build(&l, &f.ks, SQL_MYSQL, 1, 1, 0, err, sizeof err), 0);
	assert_int_equal(sql_build_update(&f.b, &l, &f.ks, "acct", f.e, &st), 0);
	assert_string_equal(f.b.data,
			    "UPDATE acct SET packets=packets+3, bytes=bytes+300, "
			    "tcp_flags=tcp_flags|18, stamp_updated='1970-01-01 02:01:00' WHERE "
			    "ip_src='10.0.0.1' AND ip_dst='2001:db8::2' AND ip_proto='tcp'");
	obuf_reset(&f.b);
	sql_build_insert_head(&f.b, &l, "acct");
	sql_build_values(&f.b, &l, &f.ks, f.e, &st);
	assert_string_equal(
	    f.b.data, "INSERT INTO acct (ip_src, ip_dst, tcp_flags, ip_proto, packets, bytes, "
		      "stamp_inserted, stamp_updated) VALUES ('10.0.0.1', '2001:db8::2', "
		      "18, 'tcp', 3, 300, '1970-01-01 01:00:00', '1970-01-01 02:01:00')");
	/* PostgreSQL: the protocol as its number */
	assert_int_equal(sql_layout_build(&l, &f.ks, SQL_PGSQL, 1, 1, 0, err, sizeof err), 0);
	obuf_reset(&f.b);
	sql_build_values(&f.b, &l, &f.ks, f.e, &st);
	assert_non_null(strstr(f.b.data, "'2001:db8::2', 18, 6,"));
	/* sql_num_hosts on MySQL: INET6_ATON for both families */
	assert_int_equal(sql_layout_build(&l, &f.ks, SQL_MYSQL, 1, 1, 1, err, sizeof err), 0);
	obuf_reset(&f.b);
	sql_build_values(&f.b, &l, &f.ks, f.e, &st);
	assert_non_null(
	    strstr(f.b.data, "(INET6_ATON('10.0.0.1'), INET6_ATON('2001:db8::2'), 18, 'tcp'"));
	/* on SQLite: IPv4 as its number, IPv6 as text */
	assert_int_equal(sql_layout_build(&l, &f.ks, SQL_SQLITE, 1, 1, 1, err, sizeof err), 0);
	obuf_reset(&f.b);
	sql_build_values(&f.b, &l, &f.ks, f.e, &st);
	assert_non_null(strstr(f.b.data, "(167772161, '2001:db8::2', 18, 'tcp'"));
	done(&f);
}

static void test_version_zero_values_and_history(void **state)
{
	(void)state;
	struct fx f;
	struct sql_layout l;
	struct sql_stamps st;
	char err[256];
	build(&f, "src_host", 3600, 1);
	assert_int_equal(sql_layout_build(&l, &f.ks, SQL_SQLITE, 2, 0, 0, err, sizeof err), 0);
	sql_entry_stamps(&l, &f.ks, f.e, 9999, &st);
	assert_int_equal(st.inserted, 7200); /* the time bin, not now */
	assert_int_equal(st.updated, 9999);
	sql_build_update(&f.b, &l, &f.ks, "acct_v2", f.e, &st);
	assert_string_equal(f.b.data,
			    "UPDATE acct_v2 SET packets=packets+3, bytes=bytes+300, "
			    "stamp_updated='1970-01-01 02:46:39' WHERE agent_id=0 AND "
			    "mac_src='0:0:0:0:0:0' AND mac_dst='0:0:0:0:0:0' AND vlan=0 AND "
			    "ip_src='10.0.0.1' AND ip_dst='0.0.0.0' AND src_port=0 AND dst_port=0 "
			    "AND ip_proto='ip' AND stamp_inserted='1970-01-01 02:00:00'");
	done(&f);
}

static void test_copy_row_and_quoting(void **state)
{
	(void)state;
	struct fx f;
	struct sql_layout l;
	struct sql_stamps st = {.inserted = 0, .updated = 60};
	char err[256];
	build(&f, "src_host, dst_port", 0, 1);
	assert_int_equal(sql_layout_build(&l, &f.ks, SQL_PGSQL, 1, 1, 0, err, sizeof err), 0);
	sql_build_copy_head(&f.b, &l, "acct");
	assert_string_equal(f.b.data,
			    "COPY acct (ip_src, port_dst, packets, bytes, stamp_inserted, "
			    "stamp_updated) FROM STDIN");
	obuf_reset(&f.b);
	sql_build_copy_row(&f.b, &l, &f.ks, f.e, &st);
	assert_string_equal(f.b.data,
			    "10.0.0.1\t80\t3\t300\t1970-01-01 00:00:00\t1970-01-01 00:01:00\n");
	obuf_reset(&f.b);
	sql_quote(&f.b, SQL_MYSQL, "a'b\\c");
	assert_string_equal(f.b.data, "'a''b\\\\c'");
	obuf_reset(&f.b);
	sql_quote(&f.b, SQL_PGSQL, "a'b\\c");
	assert_string_equal(f.b.data, "'a''b\\c'");
	done(&f);
}

static void test_expand(void **state)
{
	(void)state;
	struct fx f;
	char out[256];
	build(&f, "src_host, peer_src_ip", 0, 1);
	assert_int_equal(sql_expand(out, sizeof out, "acct_%Y%m%d_%H", 7200, 1, &f.ks, f.e), 0);
	assert_string_equal(out, "acct_19700101_02");
	assert_false(sql_template_per_entry("acct_%Y"));
	assert_true(sql_template_per_entry("acct_$peer_src_ip"));
	assert_int_equal(sql_expand(out, sizeof out, "a_$peer_src_ip_$tag", 0, 1, &f.ks, f.e), 0);
	assert_string_equal(out, "a_0_0_0_0_0"); /* peer absent: 0.0.0.0; tag not aggregated: 0 */
	assert_int_equal(sql_expand(out, 4, "toolong", 0, 1, &f.ks, f.e), -1);
	assert_string_equal(sql_default_table(1), "acct");
	assert_string_equal(sql_default_table(7), "acct_v7");
	done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_version_layouts),
	    cmocka_unit_test(test_update_insert_text),
	    cmocka_unit_test(test_version_zero_values_and_history),
	    cmocka_unit_test(test_copy_row_and_quoting),
	    cmocka_unit_test(test_expand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
