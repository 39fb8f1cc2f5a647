/*
 * Unit tests for the memory table's query side: the request syntax
 * (out/imt_req.c) and answering from a table (out/imt_query.c): matching,
 * counters, top-N, reset, erase, status and the error replies.
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
#include "out/imt_query.h"
#include "out/imt_req.h"

struct fixture {
	struct keyspec ks;
	struct agg_table t;
	struct obuf out;
	struct imt_req r;
	struct imt_status st;
};

static void add(struct fixture *f, const char *src, uint8_t proto, uint64_t pkts, uint64_t bytes)
{
	struct flow_rec rec;
	uint8_t key[256];
	flow_rec_clear(&rec);
	rec.src_addr.family = 4;
	assert_int_equal(inet_pton(AF_INET, src, rec.src_addr.a), 1);
	rec.proto = proto;
	rec.present = ~0ull;
	keyspec_extract(&f->ks, &rec, key);
	struct agg_counters c = {.packets = pkts, .bytes = bytes, .flows = 1};
	assert_int_equal(agg_table_add(&f->t, key, agg_hash(key, f->ks.key_len), &c), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[256];
	struct prim_registry reg = {0};
	struct prim_opts o = {0};
	assert_int_equal(keyspec_build(&f->ks, "src_host, proto", &reg, &o, err, sizeof err), 0);
	assert_int_equal(agg_table_init(&f->t, f->ks.key_len, 16), 0);
	obuf_init(&f->out, 0);
	imt_req_init(&f->r);
	add(f, "10.0.0.1", 6, 10, 1000);
	add(f, "10.0.0.1", 17, 1, 50);
	add(f, "10.0.0.2", 6, 3, 3000);
	add(f, "10.0.0.3", 1, 7, 70);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	agg_table_free(&f->t);
	obuf_free(&f->out);
	imt_req_free(&f->r);
	free(f);
	return 0;
}

/* Parse wire text into f->r (what the server does). */
static void request(struct fixture *f, const char *text)
{
	char err[256];
	imt_req_free(&f->r);
	imt_req_init(&f->r);
	int rc = imt_req_parse(&f->r, text, strlen(text), err, sizeof err);
	if (rc < 0)
		fail_msg("parse: %s", err);
}

static const char *run(struct fixture *f)
{
	struct imt_effect eff;
	assert_int_equal(imt_query_run(&f->t, &f->ks, &f->r, &f->st, &f->out, &eff), 0);
	return f->out.data;
}

static void test_request_roundtrip(void **state)
{
	(void)state;
	struct imt_req a, b;
	struct obuf w;
	char err[256];
	imt_req_init(&a);
	imt_req_init(&b);
	obuf_init(&w, 0);
	a.op = IMT_OP_COUNTERS;
	assert_int_equal(imt_req_set_fields(&a, "src_host, proto", err, sizeof err), 0);
	assert_int_equal(imt_req_add_match(&a, "10.0.0.1,tcp", err, sizeof err), 0);
	assert_int_equal(imt_req_add_match(&a, "10.0.0.2,6", err, sizeof err), 0);
	a.counter = IMT_C_ALL;
	a.sum = 1;
	a.reset = 1;
	a.top_by = IMT_C_PACKETS;
	a.top_n = 3;
	snprintf(a.format, sizeof a.format, "csv");
	snprintf(a.sep, sizeof a.sep, ";");
	assert_int_equal(imt_req_format(&a, &w), 0);
	assert_int_equal(imt_req_parse(&b, w.data, w.len, err, sizeof err), 0);
	assert_int_equal(b.op, IMT_OP_COUNTERS);
	assert_int_equal(b.nfields, 2);
	assert_string_equal(b.fields[0], "src_host");
	assert_string_equal(b.fields[1], "proto");
	assert_int_equal(b.nmatch, 2);
	assert_string_equal(b.match[1], "10.0.0.2,6");
	assert_int_equal(b.counter, IMT_C_ALL);
	assert_true(b.sum && b.reset);
	assert_int_equal(b.top_by, IMT_C_PACKETS);
	assert_int_equal(b.top_n, 3);
	assert_string_equal(b.format, "csv");
	assert_string_equal(b.sep, ";");
	imt_req_free(&a);
	imt_req_free(&b);
	obuf_free(&w);
}

static void test_request_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "\n",
	    "hello\n\n",
	    IMT_MAGIC "\nop drop\n\n",
	    IMT_MAGIC "\nformat xml\n\n",
	    IMT_MAGIC "\ntop bytes 0\n\n",
	    IMT_MAGIC "\ntop octets 3\n\n",
	    IMT_MAGIC "\ncounter bits\n\n",
	    IMT_MAGIC "\nfields a,,b\n\n",
	    IMT_MAGIC "\nop show\n", /* no empty line */
	    IMT_MAGIC "\nwhat 1\n\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct imt_req r;
		char err[256] = "";
		imt_req_init(&r);
		assert_int_equal(imt_req_parse(&r, bad[i], strlen(bad[i]), err, sizeof err), -1);
		assert_true(err[0]);
		imt_req_free(&r);
	}
}

static void test_counters_match_by_text_number_and_address(void **state)
{
	struct fixture *f = *state;
	request(f, IMT_MAGIC "\nop counters\nfields src_host\nmatch 10.0.0.1\nmatch 10.0.0.9\n"
			     "match 10.0.0.3\n\n");
	assert_string_equal(run(f), "OK 2\n1050\n0\n70\n");
	/* protocol by name or by number, case-insensitive */
	request(f, IMT_MAGIC "\nop counters\nfields proto,src_host\nmatch TCP,10.0.0.1\n"
			     "match 6, 10.0.0.2\ncounter all\n\n");
	assert_string_equal(run(f), "OK 2\n10 1000 1 1\n3 3000 1 1\n");
	request(f, IMT_MAGIC "\nop counters\nfields proto\nmatch tcp\nmatch udp\nsum 1\n"
			     "counter packets\n\n");
	assert_string_equal(run(f), "OK 2\n14\n");
	request(f, IMT_MAGIC "\nop counters\nfields src_host\nmatch 192.0.2.1\n\n");
	assert_string_equal(run(f), "OK 0\n0\n");
}

static void test_show_top_and_match(void **state)
{
	struct fixture *f = *state;
	request(f, IMT_MAGIC "\nop show\nformat csv\ntop bytes 2\n\n");
	assert_string_equal(run(f), "OK 2\nSRC_IP,PROTOCOL,PACKETS,BYTES\n"
				    "10.0.0.2,tcp,3,3000\n10.0.0.1,tcp,10,1000\n");
	request(f, IMT_MAGIC "\nop show\nformat csv\ntop packets 10\n\n");
	assert_string_equal(run(f), "OK 4\nSRC_IP,PROTOCOL,PACKETS,BYTES\n10.0.0.1,tcp,10,1000\n"
				    "10.0.0.3,icmp,7,70\n10.0.0.2,tcp,3,3000\n"
				    "10.0.0.1,udp,1,50\n");
	request(f, IMT_MAGIC "\nop match\nformat json\nfields src_host\nmatch 10.0.0.1\n"
			     "top bytes 1\n\n");
	assert_string_equal(run(f), "OK 1\n{\"ip_src\": \"10.0.0.1\", \"ip_proto\": \"tcp\", "
				    "\"packets\": 10, \"bytes\": 1000}\n");
	request(f, IMT_MAGIC "\nop match\nformat formatted\nfields src_host\nmatch 10.9.9.9\n\n");
	assert_non_null(strstr(run(f), "For a total of: 0 entries"));
	assert_memory_equal(f->out.data, "OK 0\n", 5);
}

static void test_reset_and_erase(void **state)
{
	struct fixture *f = *state;
	request(f, IMT_MAGIC "\nop counters\nfields src_host\nmatch 10.0.0.1\nreset 1\n\n");
	assert_string_equal(run(f), "OK 1\n1050\n");
	request(f, IMT_MAGIC "\nop counters\nfields src_host\nmatch 10.0.0.1\nmatch 10.0.0.2\n\n");
	assert_string_equal(run(f), "OK 2\n0\n3000\n"); /* keys stay, counters zeroed */
	assert_int_equal(f->t.count, 4);
	struct imt_effect eff;
	request(f, IMT_MAGIC "\nop erase\n\n");
	assert_int_equal(imt_query_run(&f->t, &f->ks, &f->r, &f->st, &f->out, &eff), 0);
	assert_true(eff.erased);
	assert_int_equal(f->t.count, 0);
}

static void test_status_and_since(void **state)
{
	struct fixture *f = *state;
	f->st = (struct imt_status){
	    .folds = 3, .queries = 9, .last_fold = 100, .cleared = 40, .now = 130};
	request(f, IMT_MAGIC "\nop status\n\n");
	const char *s = run(f);
	assert_non_null(strstr(s, "entries: 4\n"));
	assert_non_null(strstr(s, "folds: 3\n"));
	assert_non_null(strstr(s, "primitives: src_host,proto\n"));
	request(f, IMT_MAGIC "\nop since\n\n");
	assert_string_equal(run(f), "OK 1\n90\n");
}

static void test_error_replies(void **state)
{
	struct fixture *f = *state;
	request(f, IMT_MAGIC "\nop counters\nfields dst_host\nmatch 10.0.0.1\n\n");
	assert_string_equal(run(f),
			    "ERR 2 primitive 'dst_host' is not in this table's aggregate\n");
	request(f, IMT_MAGIC "\nop counters\nfields src_host,proto\nmatch 10.0.0.1\n\n");
	assert_non_null(strstr(run(f), "ERR 3 "));
	request(f, IMT_MAGIC "\nop counters\nfields src_host\nmatch 10.0.0.1,tcp\n\n");
	assert_non_null(strstr(run(f), "ERR 3 "));
	request(f, IMT_MAGIC "\nop match\nmatch 10.0.0.1\n\n");
	assert_non_null(strstr(run(f), "ERR 1 "));
	request(f, IMT_MAGIC "\nop match\nfields src_host\n\n");
	assert_non_null(strstr(run(f), "ERR 1 "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_roundtrip),
	    cmocka_unit_test(test_request_rejects),
	    cmocka_unit_test_setup_teardown(test_counters_match_by_text_number_and_address, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_show_top_and_match, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_and_erase, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_and_since, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_error_replies, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
