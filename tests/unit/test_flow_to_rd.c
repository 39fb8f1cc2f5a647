/*
 * Unit tests for flow_to_rd_map (agg/flow_to_rd.c): route distinguisher
 * syntax, rule matching (exporter prefix, interfaces, next hop, VPN id,
 * bottom label), first match, and bad lines named by number.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agg/flow_to_rd.h"
#include "agg/lpm.h"

static void test_rd_syntax(void **state)
{
	(void)state;
	uint64_t rd;
	assert_int_equal(f2rd_parse_rd("0:65512:1", &rd), 0);
	assert_int_equal(rd, 65512ull << 32 | 1);
	assert_int_equal(f2rd_parse_rd("1:192.168.1.1:7", &rd), 0);
	assert_int_equal(rd, 1ull << 48 | 0xc0a80101ull << 16 | 7);
	assert_int_equal(f2rd_parse_rd("2:4200000000:1", &rd), 0);
	assert_int_equal(rd, 2ull << 48 | 4200000000ull << 16 | 1);
	static const char *const bad[] = {
	    "",		 "0:65512", "3:1:1", "0:70000:1", "1:300.1.1.1:1", "1:192.0.2.1:70000",
	    "2:1:70000", "0:-1:1",  "x:1:1", "0:1:1:1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(f2rd_parse_rd(bad[i], &rd), -1);
}

static void *load(const char *text, char *err, size_t errlen)
{
	char path[] = "/tmp/netacct-f2rd-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	void *m = NULL;
	int rc = f2rd_map_type.parse(path, &m, err, errlen);
	unlink(path);
	return rc == 0 ? m : NULL;
}

static void rec(struct flow_rec *r, const char *exporter, uint32_t in, uint32_t out)
{
	uint8_t plen;
	flow_rec_clear(r);
	assert_int_equal(lpm_prefix_parse(exporter, &r->peer_src_ip, &plen), 0);
	r->in_iface = in;
	r->out_iface = out;
	r->present = FR_BIT(FR_PEER_SRC_IP) | FR_BIT(FR_IN_IFACE) | FR_BIT(FR_OUT_IFACE);
}

static void test_first_match(void **state)
{
	(void)state;
	char err[256];
	void *m = load("! comment\n"
		       "id=0:65000:203 ip=192.0.2.1 in=203\n"
		       "id=0:65000:204 ip=192.0.2.1 out=203\n"
		       "id=2:65000:9 ip=198.51.100.0/24 bgp_nexthop=203.0.113.9\n"
		       "id=1:192.0.2.1:5 ip=198.51.100.0/24 mpls_label_bottom=1000\n"
		       "id=0:1:1 ip=0.0.0.0/0 mpls_vpn_id=77\n"
		       "id=0:65000:1 ip=192.0.2.1\n",
		       err, sizeof err);
	assert_non_null(m);
	assert_int_equal(f2rd_map_type.count(m), 6);
	struct flow_rec r;
	uint64_t rd;
	f2rd_parse_rd("0:65000:203", &rd);
	rec(&r, "192.0.2.1", 203, 203);
	assert_int_equal(f2rd_lookup(m, &r), rd); /* the first of two matching rules */
	f2rd_parse_rd("0:65000:204", &rd);
	rec(&r, "192.0.2.1", 1, 203);
	assert_int_equal(f2rd_lookup(m, &r), rd);
	f2rd_parse_rd("0:65000:1", &rd);
	rec(&r, "192.0.2.1", 1, 2);
	assert_int_equal(f2rd_lookup(m, &r), rd); /* the exporter-wide rule */
	rec(&r, "198.51.100.7", 1, 2);
	assert_int_equal(f2rd_lookup(m, &r), 0);
	uint8_t plen;
	lpm_prefix_parse("203.0.113.9", &r.peer_dst_ip, &plen);
	FR_SET(&r, FR_PEER_DST_IP);
	f2rd_parse_rd("2:65000:9", &rd);
	assert_int_equal(f2rd_lookup(m, &r), rd);
	rec(&r, "198.51.100.7", 1, 2);
	r.mpls[0] = 16 << 4;
	r.mpls[1] = 1000 << 4 | 1;
	r.mpls_depth = 2;
	FR_SET(&r, FR_MPLS);
	f2rd_parse_rd("1:192.0.2.1:5", &rd);
	assert_int_equal(f2rd_lookup(m, &r), rd);
	rec(&r, "10.0.0.1", 1, 2);
	r.vrf_out = 77;
	FR_SET(&r, FR_VRF_OUT);
	f2rd_parse_rd("0:1:1", &rd);
	assert_int_equal(f2rd_lookup(m, &r), rd);
	f2rd_map_type.free(m);
}

static void expect_bad(const char *text, const char *want)
{
	char err[256] = "";
	void *m = load(text, err, sizeof err);
	assert_null(m);
	if (!strstr(err, want))
		fail_msg("'%s' lacks '%s'", err, want);
}

static void test_bad_lines(void **state)
{
	(void)state;
	expect_bad("id=0:1:1 ip=192.0.2.1\nip=192.0.2.1\n", ":2: missing id");
	expect_bad("id=9:1:1 ip=192.0.2.1\n", ":1: bad id");
	expect_bad("id=0:1:1\n", ":1: missing ip");
	expect_bad("id=0:1:1 ip=192.0.2.300\n", ":1: bad ip");
	expect_bad("id=0:1:1 ip=192.0.2.1 in=x\n", ":1: bad in");
	expect_bad("id=0:1:1 ip=192.0.2.1 mpls_label_bottom=2000000\n", "bad mpls_label_bottom");
	expect_bad("id=0:1:1 ip=192.0.2.1 bgp_nexthop=10.0.0.0/8\n", "bad bgp_nexthop");
	expect_bad("id=0:1:1 ip=192.0.2.1 vlan=3\n", "unknown key 'vlan'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rd_syntax),
	    cmocka_unit_test(test_first_match),
	    cmocka_unit_test(test_bad_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
