/*
 * Unit tests for the tee output's parts that need no sockets: the
 * tee_receivers map (out/tee_map.c), pool tag filters, and the template-set
 * extraction used when balancing NetFlow v9/IPFIX (proto/nf_split.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "out/tee_map.h"
#include "proto/dgram_head.h"
#include "proto/nf_split.h"

static struct tee_map *parse(const char *text, char *err, size_t errlen)
{
	struct tee_map *m = NULL;
	if (tee_map_parse_text(text, strlen(text), "tee.lst", &m, err, errlen) < 0)
		return NULL;
	return m;
}

static void test_pools_receivers_and_options(void **state)
{
	(void)state;
	char err[256] = "";
	struct tee_map *m =
	    parse("! comment\n"
		  "id=1 ip=192.0.2.1:2100\n"
		  "id=2\tip=192.0.2.2:2100,[2001:db8::1]:2101 balance-alg=rr src_port=3000\n"
		  "id=3 ip=127.0.0.1:9 balance-alg=hash-agent tag=100,110-120,-150\n"
		  "id=4 ip=127.0.0.1:9 balance-alg=hash-crc32\n"
		  "id=5 ip=127.0.0.1:9 balance-alg=hash-tag\n",
		  err, sizeof err);
	assert_non_null(m);
	assert_int_equal(m->npools, 5);
	assert_int_equal(m->pool[0].id, 1);
	assert_int_equal(m->pool[0].balance, TEE_BAL_NONE);
	assert_int_equal(m->pool[0].nrecv, 1);
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&m->pool[0].recv[0].sa;
	assert_int_equal(s4->sin_family, AF_INET);
	assert_int_equal(ntohs(s4->sin_port), 2100);
	assert_string_equal(m->pool[0].recv[0].text, "192.0.2.1:2100");

	assert_int_equal(m->pool[1].nrecv, 2);
	assert_int_equal(m->pool[1].balance, TEE_BAL_RR);
	assert_int_equal(m->pool[1].src_port, 3000);
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&m->pool[1].recv[1].sa;
	assert_int_equal(s6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(s6->sin6_port), 2101);
	assert_string_equal(m->pool[1].recv[1].text, "[2001:db8::1]:2101");

	assert_int_equal(m->pool[2].balance, TEE_BAL_HASH_AGENT);
	assert_int_equal(m->pool[3].balance, TEE_BAL_HASH_AGENT);
	assert_int_equal(m->pool[4].balance, TEE_BAL_HASH_TAG);
	assert_int_equal(m->pool[2].ntags, 3);
	tee_map_free(m);
}

static void test_tag_filters(void **state)
{
	(void)state;
	char err[256];
	struct tee_map *m = parse("id=1 ip=127.0.0.1:9 tag=100,150\n"
				  "id=2 ip=127.0.0.1:9 tag=105,110-120\n"
				  "id=3 ip=127.0.0.1:9 tag=-150\n"
				  "id=4 ip=127.0.0.1:9\n"
				  "id=5 ip=127.0.0.1:9 tag=100-200,-150\n",
				  err, sizeof err);
	assert_non_null(m);
	/* tag: expected for pools 1..5 */
	static const struct {
		uint64_t tag;
		int want[5];
	} cases[] = {
	    {0, {0, 0, 1, 1, 0}},   {100, {1, 0, 1, 1, 1}}, {150, {1, 0, 0, 1, 0}},
	    {105, {0, 1, 1, 1, 1}}, {110, {0, 1, 1, 1, 1}}, {120, {0, 1, 1, 1, 1}},
	    {121, {0, 0, 1, 1, 1}}, {201, {0, 0, 1, 1, 0}},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		for (unsigned p = 0; p < 5; p++)
			assert_int_equal(tee_pool_takes_tag(&m->pool[p], cases[i].tag),
					 cases[i].want[p]);
	tee_map_free(m);
}

static void expect_error(const char *text, const char *want)
{
	char err[256] = "";
	struct tee_map *m = parse(text, err, sizeof err);
	assert_null(m);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_bad_lines_name_their_line(void **state)
{
	(void)state;
	expect_error("id=1 ip=127.0.0.1:9\nid=x ip=127.0.0.1:9\n", "tee.lst:2: bad id");
	expect_error("id=1\n", "tee.lst:1: missing ip");
	expect_error("ip=127.0.0.1:9\n", "tee.lst:1: missing id");
	expect_error("id=1 ip=127.0.0.1:9\nid=1 ip=127.0.0.1:10\n",
		     "tee.lst:2: pool id 1 defined twice");
	expect_error("id=1 ip=127.0.0.1\n", "bad receiver");
	expect_error("id=1 ip=::1:9\n", "bad receiver");
	expect_error("id=1 ip=[::1]\n", "bad receiver");
	expect_error("id=1 ip=127.0.0.1:0\n", "the port is not 1..65535");
	expect_error("id=1 ip=127.0.0.1:65536\n", "the port is not 1..65535");
	expect_error("id=1 ip=127.0.0.1:9,\n", "tee.lst:1:");
	expect_error("id=1 ip=127.0.0.1:9 balance-alg=lc\n", "bad balance-alg");
	expect_error("id=1 ip=127.0.0.1:9 src_port=70000\n", "bad src_port");
	expect_error("id=1 ip=127.0.0.1:9 tag=9-3\n", "end before start");
	expect_error("id=1 ip=127.0.0.1:9 tag=a\n", "bad tag list");
	expect_error("id=1 ip=127.0.0.1:9 tag=1,,2\n", "bad tag list");
	expect_error("id=1 ip=127.0.0.1:9 tag=1,\n", "bad tag list");
	expect_error("id=1 ip=127.0.0.1:9 nope=1\n", "unknown key 'nope'");
	expect_error("id=1 kafka_topic=t\n", "needs both kafka_broker and kafka_topic");
	expect_error("id=1 ip=127.0.0.1:9 kafka_broker=127.0.0.1:9092 kafka_topic=t\n",
		     "a Kafka pool takes no ip");
}

static void test_limits(void **state)
{
	(void)state;
	char text[TEE_MAX_RECEIVERS * 20 + 64];
	size_t n = (size_t)snprintf(text, sizeof text, "id=1 ip=");
	for (int i = 0; i <= TEE_MAX_RECEIVERS; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "%s127.0.0.1:%d", i ? "," : "",
				      1000 + i);
	snprintf(text + n, sizeof text - n, "\n");
	expect_error(text, "more than 32 receivers");
}

/* ---- nf_split ---------------------------------------------------------- */

static size_t put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

/* v9 header + template set (2 templates) + data set + options template set */
static size_t v9_datagram(uint8_t *b, int with_data)
{
	size_t o = 0;
	memset(b, 0, 512);
	o += put16(b + o, 9);
	o += put16(b + o, 99); /* count: whatever the router said */
	o += 16;	       /* uptime, secs, seq, source id */
	b[19] = 7;	       /* source id 7 */
	/* template set: id 0, two templates (256: 2 fields, 257: 1 field) */
	size_t set = o;
	o += put16(b + o, 0);
	o += 2;
	o += put16(b + o, 256);
	o += put16(b + o, 2);
	o += put16(b + o, 8), o += put16(b + o, 4);
	o += put16(b + o, 12), o += put16(b + o, 4);
	o += put16(b + o, 257);
	o += put16(b + o, 1);
	o += put16(b + o, 1), o += put16(b + o, 4);
	put16(b + set + 2, (uint16_t)(o - set));
	if (with_data) {
		set = o;
		o += put16(b + o, 256);
		o += put16(b + o, 12);
		o += 8;
	}
	/* options template set: id 1, template 258, scope 4 bytes, options 4 bytes */
	set = o;
	o += put16(b + o, 1);
	o += 2;
	o += put16(b + o, 258);
	o += put16(b + o, 4);
	o += put16(b + o, 4);
	o += put16(b + o, 1), o += put16(b + o, 4);
	o += put16(b + o, 34), o += put16(b + o, 4);
	o += 2; /* padding */
	put16(b + set + 2, (uint16_t)(o - set));
	return o;
}

static void test_split_v9(void **state)
{
	(void)state;
	uint8_t dg[512], out[512];
	size_t len = v9_datagram(dg, 1), outlen = 0;
	assert_int_equal(nf_templates_only(dg, len, out, sizeof out, &outlen),
			 NF_SPLIT_TEMPLATES_AND_DATA);
	/* header (count fixed to the 3 template records) + both template sets, no data set */
	assert_int_equal(outlen, len - 12);
	assert_int_equal(out[2] << 8 | out[3], 3);
	assert_memory_equal(out + 4, dg + 4, 16);
	assert_memory_equal(out + 20, dg + 20, 24);	     /* the template set */
	assert_memory_equal(out + 44, dg + 56, outlen - 44); /* the options template set */

	len = v9_datagram(dg, 0);
	assert_int_equal(nf_templates_only(dg, len, out, sizeof out, &outlen),
			 NF_SPLIT_TEMPLATES_ONLY);
}

static void test_split_ipfix_and_others(void **state)
{
	(void)state;
	uint8_t dg[128], out[128];
	size_t o = 0, outlen = 0;
	memset(dg, 0, sizeof dg);
	o += put16(dg + o, 10);
	o += 14;	       /* length later, export time, seq, domain */
	o += put16(dg + o, 2); /* template set */
	o += put16(dg + o, 12);
	o += put16(dg + o, 256);
	o += put16(dg + o, 1);
	o += put16(dg + o, 8), o += put16(dg + o, 4);
	o += put16(dg + o, 256); /* data set */
	o += put16(dg + o, 8);
	o += 4;
	put16(dg + 2, (uint16_t)o);
	assert_int_equal(nf_templates_only(dg, o, out, sizeof out, &outlen),
			 NF_SPLIT_TEMPLATES_AND_DATA);
	assert_int_equal(outlen, 28);
	assert_int_equal(out[2] << 8 | out[3], 28); /* IPFIX length fixed */
	assert_memory_equal(out + 16, dg + 16, 12);

	/* a set running past the datagram, a too-short set, v5, garbage: left alone */
	put16(dg + 30, 200);
	assert_int_equal(nf_templates_only(dg, o, out, sizeof out, &outlen), NF_SPLIT_NONE);
	put16(dg + 30, 2);
	assert_int_equal(nf_templates_only(dg, o, out, sizeof out, &outlen), NF_SPLIT_NONE);
	put16(dg, 5);
	assert_int_equal(nf_templates_only(dg, o, out, sizeof out, &outlen), NF_SPLIT_NONE);
	assert_int_equal(nf_templates_only(dg, 3, out, sizeof out, &outlen), NF_SPLIT_NONE);
	/* IPFIX length beyond the datagram */
	put16(dg, 10);
	put16(dg + 2, (uint16_t)(o + 4));
	assert_int_equal(nf_templates_only(dg, o, out, sizeof out, &outlen), NF_SPLIT_NONE);
	/* every truncation of a valid v9 datagram: no crash, never more than it had */
	uint8_t v9[512];
	size_t len = v9_datagram(v9, 1);
	for (size_t n = 0; n < len; n++) {
		enum nf_split r = nf_templates_only(v9, n, out, sizeof out, &outlen);
		if (r == NF_SPLIT_TEMPLATES_AND_DATA)
			assert_true(outlen <= n);
	}
}

/* ---- dgram_head --------------------------------------------------------- */

static void test_dgram_head(void **state)
{
	(void)state;
	struct dgram_head h;
	uint8_t v5[24] = {0, 5, 0, 1};
	v5[20] = 3; /* engine type */
	v5[21] = 42;
	assert_int_equal(dgram_head_parse(v5, sizeof v5, &h), 0);
	assert_int_equal(h.kind, DGRAM_NETFLOW);
	assert_int_equal(h.version, 5);
	assert_true(h.has_engine && h.engine_type == 3 && h.engine_id == 42);
	assert_int_equal(dgram_head_parse(v5, 21, &h), -1);

	uint8_t v9[20] = {0, 9};
	v9[16] = 0x01, v9[19] = 0x02;
	assert_int_equal(dgram_head_parse(v9, sizeof v9, &h), 0);
	assert_true(h.has_source_id && h.source_id == 0x01000002 && !h.has_engine);
	assert_int_equal(dgram_head_parse(v9, 19, &h), -1);

	uint8_t ipfix[16] = {0, 10, 0, 16};
	ipfix[15] = 77;
	assert_int_equal(dgram_head_parse(ipfix, sizeof ipfix, &h), 0);
	assert_true(h.version == 10 && h.has_source_id && h.source_id == 77);

	/* sFlow v5, IPv4 agent 192.0.2.1, sub-agent 9 */
	uint8_t sf5[16] = {0, 0, 0, 5, 0, 0, 0, 1, 192, 0, 2, 1, 0, 0, 0, 9};
	assert_int_equal(dgram_head_parse(sf5, sizeof sf5, &h), 0);
	assert_int_equal(h.kind, DGRAM_SFLOW);
	assert_int_equal(h.agent.family, 4);
	assert_memory_equal(h.agent.a, ((uint8_t[]){192, 0, 2, 1}), 4);
	assert_true(h.has_sub_agent && h.sub_agent_id == 9);
	assert_int_equal(dgram_head_parse(sf5, 15, &h), -1);
	assert_int_equal(h.kind, DGRAM_UNKNOWN);
	/* sFlow v4, IPv6 agent: no sub-agent */
	uint8_t sf4[24] = {0, 0, 0, 4, 0, 0, 0, 2, 0x20, 0x01, 0x0d, 0xb8};
	sf4[23] = 1;
	assert_int_equal(dgram_head_parse(sf4, sizeof sf4, &h), 0);
	assert_true(h.agent.family == 6 && !h.has_sub_agent && h.version == 4);
	/* unknown versions and agent types */
	uint8_t bad[16] = {0, 0, 0, 3};
	assert_int_equal(dgram_head_parse(bad, sizeof bad, &h), -1);
	sf5[7] = 3;
	assert_int_equal(dgram_head_parse(sf5, sizeof sf5, &h), -1);
	uint8_t v6[24] = {0, 6};
	assert_int_equal(dgram_head_parse(v6, sizeof v6, &h), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pools_receivers_and_options),
	    cmocka_unit_test(test_tag_filters),
	    cmocka_unit_test(test_bad_lines_name_their_line),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_split_v9),
	    cmocka_unit_test(test_split_ipfix_and_others),
	    cmocka_unit_test(test_dgram_head),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
