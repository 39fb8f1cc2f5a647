/*
 * Unit tests for agg/pretag.c: the pre_tag_map parser (valid lines, every
 * kind of bad line, maps_entries, pmacct's own sample maps), the evaluator
 * (first match, negation, absent fields, jeq/label chains, stack, N++,
 * labels, filters), the index (same answers as a scan, jumps into an
 * indexed run) and tagging from an export header alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/unit_util.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agg/pretag.h"

#ifndef FIXTURES_DIR
#define FIXTURES_DIR "tests/fixtures/pmacct"
#endif

struct warns {
	unsigned n;
	char msg[64][512];
};

static void on_warn(void *arg, const char *msg)
{
	struct warns *w = arg;
	if (w->n < 64)
		snprintf(w->msg[w->n], sizeof w->msg[0], "%s", msg);
	w->n++;
}

static struct pretag_map *parse_o(const char *text, const struct pretag_opts *o, struct warns *w)
{
	struct pretag_map *m = NULL;
	char err[256];
	if (w)
		memset(w, 0, sizeof *w);
	assert_int_equal(pretag_map_parse(&m, text, strlen(text), "t.map", o, w ? on_warn : NULL, w,
					  err, sizeof err),
			 0);
	assert_non_null(m);
	return m;
}

static struct pretag_map *parse(const char *text, struct warns *w)
{
	return parse_o(text, NULL, w);
}

/* Whether some warning holds both strings. */
static int warned(const struct warns *w, const char *a, const char *b)
{
	for (unsigned i = 0; i < w->n && i < 64; i++)
		if (strstr(w->msg[i], a) && strstr(w->msg[i], b))
			return 1;
	return 0;
}

static void addr(struct nt_addr *a, const char *s)
{
	memset(a, 0, sizeof *a);
	if (strchr(s, ':')) {
		a->family = 6;
		assert_int_equal(inet_pton(AF_INET6, s, a->a), 1);
	} else {
		a->family = 4;
		assert_int_equal(inet_pton(AF_INET, s, a->a), 1);
	}
}

/* A NetFlow v9 record from exporter 192.0.2.1, source id 7. */
static struct flow_rec rec(unsigned in, unsigned out)
{
	struct flow_rec r;
	memset(&r, 0, sizeof r);
	addr(&r.peer_src_ip, "192.0.2.1");
	FR_SET(&r, FR_PEER_SRC_IP);
	addr(&r.src_addr, "10.1.2.3");
	addr(&r.dst_addr, "172.16.5.6");
	FR_SET(&r, FR_SRC_ADDR);
	FR_SET(&r, FR_DST_ADDR);
	r.in_iface = in;
	r.out_iface = out;
	FR_SET(&r, FR_IN_IFACE);
	FR_SET(&r, FR_OUT_IFACE);
	r.proto = 6;
	r.src_port = 1234;
	r.dst_port = 80;
	r.tcp_flags = 0x02;
	FR_SET(&r, FR_PROTO);
	FR_SET(&r, FR_SRC_PORT);
	FR_SET(&r, FR_DST_PORT);
	FR_SET(&r, FR_TCP_FLAGS);
	r.export_version = 9;
	r.export_sysid = 7;
	return r;
}

static struct pretag_result ev(const struct pretag_map *m, const struct flow_rec *r)
{
	struct pretag_result res;
	struct filter_pkt pkt;
	filter_pkt_reset(&pkt, r);
	pretag_eval(m, r, &pkt, &res);
	return res;
}

static uint64_t tag_of(const struct pretag_map *m, const struct flow_rec *r)
{
	struct pretag_result res = ev(m, r);
	return res.has_tag ? res.tag : 0;
}

/* ---- parser ---------------------------------------------------------------------- */

static void test_valid_lines(void **state)
{
	(void)state;
	struct warns w;
	struct pretag_map *m =
	    parse("! comment\n"
		  "\n"
		  "set_tag=1 ip=192.0.2.1 in=1\n"
		  "set_tag2=2\tip=192.0.2.0/24 out=-3 ! trailing comment\n"
		  "id=3 engine_type=1 engine_id=2 source_id=3 agent_id=4\n"
		  "id2=4 nexthop=10.0.0.1 bgp_nexthop=2001:db8::1 vlan=100\n"
		  "set_label=a%b src_mac=00:11:22:33:44:55 dst_mac=-aa:bb:cc:dd:ee:ff\n"
		  "set_tag=5 filter='src net 10.0.0.0/8 and port 80'\n"
		  "set_tag=6 src_net=10.0.0.0/8 dst_net=-::/0 ip_proto=tcp\n"
		  "set_tag=7 proto=17 src_port=53 dst_port=-53 tcp_flags=0x12\n"
		  "set_tag=8 fwd_status=64 direction=1 is_multicast=true is_nel=false\n"
		  "set_tag=9 src_as=1 dst_as=2 peer_src_as=3 peer_dst_as=4 local_pref=5\n"
		  "set_tag=10 comms=65000:1,65000:2 mpls_vpn_rd=0:65512:1\n"
		  "set_tag=11 mpls_vpn_rd=1:10.0.0.1:7 mpls_vpn_id_in=5 mpls_vpn_id_out=6\n"
		  "set_tag=12 sample_type=flow-ipv6 label=x stack=sum\n"
		  "set_tag=13++ set_tos=8 jeq=x\n"
		  "set_tag=14 jeq=next\n"
		  "set_tag=18446744073709551615 label=x stack=or\n",
		  &w);
	assert_int_equal(w.n, 0);
	assert_int_equal(pretag_map_count(m), 16);
	assert_int_equal(pretag_map_bad_lines(m), 0);
	pretag_map_free(m);
}

static void test_each_kind_of_bad_line(void **state)
{
	(void)state;
	struct warns w;
	struct pretag_map *m = parse("set_tag=1 in=1\n"			     /* 1 good */
				     "set_tag=2 in=x\n"			     /* 2 value */
				     "set_tag=3 frobnicate=1\n"		     /* 3 unknown */
				     "set_tag=4 filter='src nett 1.2.3.4'\n" /* 4 filter */
				     "set_tag=5 'in=1\n"		     /* 5 syntax */
				     "set_tag=6 in = 1\n"		     /* 6 spaces */
				     "set_tag=7 cvlan=3\n"		     /* 7 unsupported */
				     "in=3\n"				     /* 8 sets nothing */
				     "set_tag=9 label=next\n"		     /* 9 reserved */
				     "set_tag=10 id=10\n"		     /* 10 twice */
				     "set_tag=11 ip_proto=6 proto=6\n"	     /* 11 same test */
				     "set_tag=0\n"			     /* 12 tag 0 */
				     "set_tag=13 tcp_flags=0x100\n"	     /* 13 range */
				     "set_tag=14 ip=-1.2.3.4\n"		     /* 14 negated ip */
				     "set_tag=15 jeq=missing\n"	      /* 15 no target (kept) */
				     "set_tag=16 stack=xor\n"	      /* 16 stack */
				     "set_tag=17 mpls_vpn_rd=3:1:1\n" /* 17 rd */
				     "set_tag=18 src_mac=00:11:22\n"  /* 18 mac */
				     "set_tag=19 sample_type=flows\n" /* 19 sample type */
				     "set_tag=20 in=1 in=2\n"	      /* 20 key twice */
				     "set_tag=21 ip=192.0.2.1\n",     /* 21 good */
				     &w);
	assert_int_equal(pretag_map_count(m), 3); /* lines 1, 15 (without its jump), 21 */
	assert_int_equal(pretag_map_bad_lines(m), 19);
	assert_int_equal(w.n, 19);
	assert_true(warned(&w, "t.map:2:", "bad in 'x'"));
	assert_true(warned(&w, "t.map:3:", "unknown key 'frobnicate'"));
	assert_true(warned(&w, "t.map:4:", "bad filter"));
	assert_true(warned(&w, "t.map:5:", "quote"));
	assert_true(warned(&w, "t.map:6:", "not key=value"));
	assert_true(warned(&w, "t.map:7:", "'cvlan' is not supported"));
	assert_true(warned(&w, "t.map:8:", "sets nothing"));
	assert_true(warned(&w, "t.map:9:", "reserved"));
	assert_true(warned(&w, "t.map:10:", "twice"));
	assert_true(warned(&w, "t.map:11:", "already tests"));
	assert_true(warned(&w, "t.map:12:", "bad set_tag '0'"));
	assert_true(warned(&w, "t.map:13:", "bad tcp_flags"));
	assert_true(warned(&w, "t.map:14:", "bad ip"));
	assert_true(warned(&w, "t.map:15:", "jeq 'missing'"));
	assert_true(warned(&w, "t.map:16:", "bad stack"));
	assert_true(warned(&w, "t.map:17:", "bad mpls_vpn_rd"));
	assert_true(warned(&w, "t.map:18:", "bad src_mac"));
	assert_true(warned(&w, "t.map:19:", "bad sample_type"));
	assert_true(warned(&w, "t.map:20:", "given twice"));
	/* the messages are kept for the log too */
	assert_int_equal(pretag_map_nwarnings(m), 19);
	assert_non_null(strstr(pretag_map_warning(m, 0), "t.map:2:"));

	struct flow_rec r = rec(1, 0);
	assert_int_equal(tag_of(m, &r), 1);
	r = rec(2, 0);
	assert_int_equal(tag_of(m, &r), 15);
	pretag_map_free(m);
}

static void test_maps_entries(void **state)
{
	(void)state;
	struct warns w;
	struct pretag_opts o = {.max_entries = 2};
	struct pretag_map *m = parse_o("set_tag=1 in=1\nbad\nset_tag=2 in=2\nset_tag=3 in=3\n"
				       "set_tag=4 in=4\n",
				       &o, &w);
	assert_int_equal(pretag_map_count(m), 2);
	assert_true(warned(&w, "t.map:4:", "maps_entries (2)"));
	assert_int_equal(w.n, 2); /* line 2, then once for the rules past the limit */
	assert_int_equal(pretag_map_bad_lines(m), 3);
	pretag_map_free(m);
}

static void test_maps_row_len(void **state)
{
	(void)state;
	struct warns w;
	struct pretag_opts o = {.max_row_len = 20};
	struct pretag_map *m = parse_o("set_tag=1 in=1\nset_tag=2 in=2 out=3 src_port=4\n"
				       "set_tag=3 in=3\n",
				       &o, &w);
	assert_int_equal(pretag_map_count(m), 2);
	assert_true(warned(&w, "t.map:2:", "maps_row_len (20)"));
	pretag_map_free(m);
}

static void parse_file_ok(const char *rel, size_t rules, size_t bad)
{
	char path[1024], err[256];
	struct pretag_map *m = NULL;
	struct warns w = {0};
	snprintf(path, sizeof path, "%s/%s", FIXTURES_DIR, rel);
	for (int index = 0; index < 2; index++) {
		struct pretag_opts o = {.index = index};
		memset(&w, 0, sizeof w);
		assert_int_equal(pretag_map_load(&m, path, &o, on_warn, &w, err, sizeof err), 0);
		if (pretag_map_count(m) != rules || pretag_map_bad_lines(m) != bad)
			fail_msg("%s: %zu rules, %zu bad lines (first: %s)", rel,
				 pretag_map_count(m), pretag_map_bad_lines(m),
				 w.n ? w.msg[0] : "-");
		pretag_map_free(m);
	}
}

static void test_pmacct_sample_maps(void **state)
{
	(void)state;
	/*
	 * pmacct's own example: every rule loads but one whose key is a typo in
	 * the sample itself ("engine_set_tag=0", line 257).
	 */
	parse_file_ok("_example-maps/pretag.map.example", 40, 1);
	char path[1024], err[256];
	struct pretag_map *m = NULL;
	struct warns w = {0};
	snprintf(path, sizeof path, "%s/_example-maps/pretag.map.example", FIXTURES_DIR);
	assert_int_equal(pretag_map_load(&m, path, NULL, on_warn, &w, err, sizeof err), 0);
	assert_true(warned(&w, "pretag.map.example:257:", "unknown key 'engine_set_tag'"));
	pretag_map_free(m);

	/* the maps of pmacct's regression tests */
	parse_file_ok("102-NFv9-CISCO-f2rd-pretag-sampling-reload/pmacct_mount/pretag-00.map", 2,
		      0);
	parse_file_ok("102-NFv9-CISCO-f2rd-pretag-sampling-reload/pmacct_mount/pretag-01.map", 2,
		      0);
	for (int i = 1; i <= 5; i++) {
		char rel[256];
		snprintf(rel, sizeof rel,
			 "103-IPFIXv10-CISCO-pretag-JSON_encoding/scenario-%02d/pretag-00.map", i);
		parse_file_ok(rel, 2, 0);
	}
	parse_file_ok("104-IPFIXv10-IPv6-CISCO-sampling_option/pmacct_mount/pretag-00.map", 1, 0);
}

/* ---- evaluator ------------------------------------------------------------------- */

static void test_first_match_negation_and_absent_fields(void **state)
{
	(void)state;
	struct pretag_map *m = parse("set_tag=1 ip=192.0.2.1 in=1\n"
				     "set_tag=2 ip=192.0.2.0/24 in=1\n"
				     "set_tag=3 ip=192.0.2.1 out=-5\n"
				     "set_tag=4 ip=198.51.100.1\n"
				     "set_tag=5 src_net=10.0.0.0/8 dst_port=80 tcp_flags=0x02\n",
				     NULL);
	struct flow_rec r = rec(1, 5);
	assert_int_equal(tag_of(m, &r), 1); /* lines 1 and 2 match: the first wins */
	r = rec(2, 6);
	assert_int_equal(tag_of(m, &r), 3);
	r = rec(2, 5);
	assert_int_equal(tag_of(m, &r), 5);
	r.present &= ~(1ull << FR_OUT_IFACE); /* a negated test needs the field too */
	assert_int_equal(tag_of(m, &r), 5);
	r.dst_port = 81;
	assert_int_equal(tag_of(m, &r), 0);
	struct pretag_result res = ev(m, &r);
	assert_false(res.has_tag);
	assert_int_equal(res.rule_line, 0);
	r = rec(1, 5);
	res = ev(m, &r);
	assert_int_equal(res.rule_line, 1);
	pretag_map_free(m);
}

static void test_jeq_chains_stack_and_labels(void **state)
{
	(void)state;
	/* pmacct's JEQ examples: tags by input, then tag2 / a sum by output */
	struct pretag_map *m = parse("set_tag=1000 ip=192.0.2.1 in=1 jeq=eval_out\n"
				     "set_tag=1001 ip=192.0.2.1 in=2 jeq=eval_out\n"
				     "set_tag2=1000 ip=192.0.2.1 out=1 label=eval_out\n"
				     "set_tag2=1001 ip=192.0.2.1 out=2\n"
				     "set_tag=11000 in=3 jeq=sum\n"
				     "set_tag=12000 in=4 jeq=or\n"
				     "set_tag=100 out=1 label=sum stack=sum\n"
				     "set_tag=101 out=2 stack=sum\n"
				     "set_tag=7 out=1 label=or stack=or\n"
				     "set_label=a in=5 jeq=next\n"
				     "set_label=b in=6\n"
				     "set_label=c in=5 jeq=l2\n"
				     "set_label=d in=5 label=l2 jeq=l3\n"
				     "set_tag2=9 in=5 label=l3\n",
				     NULL);
	struct flow_rec r = rec(1, 2);
	struct pretag_result res = ev(m, &r);
	assert_true(res.has_tag && res.has_tag2);
	assert_int_equal(res.tag, 1000);
	assert_int_equal(res.tag2, 1001);
	r = rec(2, 3); /* jumped, nothing after the label matches: the tag stays */
	res = ev(m, &r);
	assert_int_equal(res.tag, 1001);
	assert_false(res.has_tag2);
	/* another exporter: the rules with ip= are out of the way */
	r = rec(3, 2);
	addr(&r.peer_src_ip, "198.51.100.1");
	assert_int_equal(tag_of(m, &r), 11101);
	r.out_iface = 1;
	assert_int_equal(tag_of(m, &r), 11100);
	r.in_iface = 4;
	assert_int_equal(tag_of(m, &r), 12000 | 7);
	/* jeq=next goes on with the next rule (which does not match), then the chain of labels */
	r = rec(5, 0);
	res = ev(m, &r);
	assert_string_equal(res.label, "a,c,d");
	assert_int_equal(res.tag2, 9);
	/* stack on a rule reached without a jump: nothing to stack on */
	r = rec(9, 2);
	addr(&r.peer_src_ip, "198.51.100.1");
	assert_int_equal(tag_of(m, &r), 101);
	pretag_map_free(m);
}

static void test_counting_tags_tos_and_filters(void **state)
{
	(void)state;
	struct pretag_map *m = parse("set_tag=10++ set_tos=32 in=1\n"
				     "set_tag=20 filter='tcp dst port 80 and src net 10.1.0.0/16'\n"
				     "set_label=LabelA filter='(ip[12:4] >= 0x0A010201) and "
				     "(ip[12:4] <= 0x0A010210)' in=3\n",
				     NULL);
	struct flow_rec r = rec(1, 0);
	struct pretag_result res = ev(m, &r);
	assert_int_equal(res.tag, 10);
	assert_true(res.has_tos);
	assert_int_equal(res.tos, 32);
	assert_int_equal(tag_of(m, &r), 11);
	assert_int_equal(tag_of(m, &r), 12);
	r = rec(2, 0);
	assert_int_equal(tag_of(m, &r), 20);
	r.dst_port = 81;
	res = ev(m, &r);
	assert_false(res.has_tag);
	r = rec(3, 0);
	r.dst_port = 81;
	res = ev(m, &r);
	assert_string_equal(res.label, "LabelA");
	pretag_map_free(m);
}

static void test_more_keys(void **state)
{
	(void)state;
	struct pretag_map *m = parse("set_tag=1 engine_id=7\n" /* v9: the source id */
				     "set_tag=2 comms=65000:1,65000:2\n"
				     "set_tag=3 mpls_vpn_rd=0:65512:1\n"
				     "set_tag=4 is_multicast=true\n"
				     "set_tag=5 sample_type=flow-ipv6\n"
				     "set_tag=6 vlan=100\n"
				     "set_tag=7 src_mac=00:11:22:33:44:55\n"
				     "set_tag=8 agent_id=9\n",
				     NULL);
	struct flow_rec r = rec(1, 0);
	assert_int_equal(tag_of(m, &r), 1);
	r.export_sysid = 8;
	r.std_comm = "65000:2_65000:3";
	FR_SET(&r, FR_STD_COMM);
	assert_int_equal(tag_of(m, &r), 2);
	r.present &= ~(1ull << FR_STD_COMM);
	r.mpls_vpn_rd = 65512ull << 32 | 1;
	FR_SET(&r, FR_MPLS_VPN_RD);
	assert_int_equal(tag_of(m, &r), 3);
	r.present &= ~(1ull << FR_MPLS_VPN_RD);
	r.dst_mac[0] = 1;
	FR_SET(&r, FR_DST_MAC);
	assert_int_equal(tag_of(m, &r), 4);
	r.dst_mac[0] = 0;
	addr(&r.src_addr, "2001:db8::1");
	assert_int_equal(tag_of(m, &r), 5);
	addr(&r.src_addr, "10.0.0.1");
	r.vlan_out = 100; /* no ingress VLAN: the egress one */
	FR_SET(&r, FR_VLAN_OUT);
	assert_int_equal(tag_of(m, &r), 6);
	r.present &= ~(1ull << FR_VLAN_OUT);
	memcpy(r.src_mac, "\x00\x11\x22\x33\x44\x55", 6);
	FR_SET(&r, FR_SRC_MAC);
	assert_int_equal(tag_of(m, &r), 7);
	r.present &= ~(1ull << FR_SRC_MAC);
	r.export_sysid = 9;
	assert_int_equal(tag_of(m, &r), 8);
	/* NetFlow v5: engine_id is the header's */
	r.export_version = 5;
	r.export_sysid = 7;
	r.engine_id = 3;
	FR_SET(&r, FR_ENGINE);
	assert_int_equal(tag_of(m, &r), 0);
	r.engine_id = 7;
	assert_int_equal(tag_of(m, &r), 1);
	pretag_map_free(m);
}

static void test_header_only(void **state)
{
	(void)state;
	struct pretag_map *m = parse("set_tag=1 ip=192.0.2.1 in=1\n"
				     "set_tag=2 ip=192.0.2.1 filter='tcp'\n"
				     "set_tag=3 ip=192.0.2.1 source_id=7 jeq=x\n"
				     "set_label=hdr engine_type=1 label=x\n",
				     NULL);
	struct pretag_header h = {.version = 9, .has_source_id = 1, .source_id = 7};
	struct pretag_result res;
	addr(&h.exporter, "192.0.2.1");
	assert_int_equal(pretag_eval_header(m, &h, &res), 1);
	assert_int_equal(res.tag, 3);
	assert_false(res.has_label);
	h.has_engine = 1;
	h.engine_type = 1;
	assert_int_equal(pretag_eval_header(m, &h, &res), 1);
	assert_string_equal(res.label, "hdr");
	h.has_source_id = 0;
	h.has_engine = 0;
	assert_int_equal(pretag_eval_header(m, &h, &res), 0);
	pretag_map_free(m);
}

/* ---- index ------------------------------------------------------------------------ */

static void test_index_gives_the_scan_s_answers(void **state)
{
	(void)state;
	/* runs of indexable rules with duplicates, prefixes, negations and jumps between them */
	char *text = malloc(1 << 20);
	size_t o = 0;
	srand(42);
	o += (size_t)sprintf(text + o, "set_tag=1 in=1 jeq=mid\n");
	for (int i = 0; i < 300; i++)
		o += (size_t)sprintf(text + o, "set_tag=%d ip=192.0.2.%d in=%d%s\n", 100 + i,
				     rand() % 4, rand() % 40, i == 150 ? " label=mid" : "");
	o += (size_t)sprintf(text + o, "set_tag=7 in=-3\nset_tag=8 src_net=10.0.0.0/8 out=2\n");
	for (int i = 0; i < 300; i++)
		o += (size_t)sprintf(text + o, "set_tag2=%d out=%d dst_port=%d\n", 1000 + i,
				     rand() % 10, rand() % 5);
	o += (size_t)sprintf(text + o, "set_tag=9 ip=192.0.2.0/24\n");
	text[o] = '\0';
	struct pretag_opts scan = {.index = 0}, idx = {.index = 1};
	struct pretag_map *a = parse_o(text, &scan, NULL), *b = parse_o(text, &idx, NULL);
	free(text);
	assert_int_equal(pretag_map_indexed_runs(a), 0);
	assert_int_equal(pretag_map_indexed_runs(b), 2);
	for (int i = 0; i < 20000; i++) {
		struct flow_rec r = rec((unsigned)(rand() % 42), (unsigned)(rand() % 12));
		r.peer_src_ip.a[3] = (uint8_t)(rand() % 5);
		r.dst_port = (uint16_t)(rand() % 6);
		if (rand() % 10 == 0)
			r.present &= ~(1ull << FR_OUT_IFACE);
		struct pretag_result x = ev(a, &r), y = ev(b, &r);
		assert_int_equal(x.has_tag, y.has_tag);
		assert_int_equal(x.tag, y.tag);
		assert_int_equal(x.has_tag2, y.has_tag2);
		assert_int_equal(x.tag2, y.tag2);
		assert_int_equal(x.rule_line, y.rule_line);
	}
	pretag_map_free(a);
	pretag_map_free(b);
}

static void test_large_indexed_map(void **state)
{
	(void)state;
	enum { N = 100000 };
	char *text = malloc((size_t)N * 48);
	size_t o = 0;
	for (int i = 0; i < N; i++)
		o += (size_t)sprintf(text + o, "set_tag=%d ip=10.%d.%d.%d in=%d\n", i + 1,
				     (i >> 16) & 255, (i >> 8) & 255, i & 255, i % 7);
	text[o] = '\0';
	struct pretag_opts idx = {.index = 1};
	struct pretag_map *m = parse_o(text, &idx, NULL);
	free(text);
	assert_int_equal(pretag_map_count(m), N);
	assert_int_equal(pretag_map_indexed_runs(m), 1);
	for (int i = 0; i < N; i += 997) {
		struct flow_rec r = rec((unsigned)(i % 7), 0);
		char ip[32];
		snprintf(ip, sizeof ip, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		addr(&r.peer_src_ip, ip);
		assert_int_equal(tag_of(m, &r), (uint64_t)i + 1);
		r.in_iface++;
		assert_int_equal(tag_of(m, &r), 0);
	}
	pretag_map_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_lines),
	    cmocka_unit_test(test_each_kind_of_bad_line),
	    cmocka_unit_test(test_maps_entries),
	    cmocka_unit_test(test_maps_row_len),
	    cmocka_unit_test(test_pmacct_sample_maps),
	    cmocka_unit_test(test_first_match_negation_and_absent_fields),
	    cmocka_unit_test(test_jeq_chains_stack_and_labels),
	    cmocka_unit_test(test_counting_tags_tos_and_filters),
	    cmocka_unit_test(test_more_keys),
	    cmocka_unit_test(test_header_only),
	    cmocka_unit_test(test_index_gives_the_scan_s_answers),
	    cmocka_unit_test(test_large_indexed_map),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
