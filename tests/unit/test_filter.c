/*
 * Unit tests for agg/filter.c: tcpdump expressions on flow records (against
 * libpcap on the real packets a record describes), tag lists and label
 * lists.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "agg/filter.h"

#ifdef HAVE_PCAP
#include <pcap/pcap.h>
#endif

#ifndef UNIT_DATA_DIR
#define UNIT_DATA_DIR "tests/unit/data"
#endif
#ifndef FIXTURES_DIR
#define FIXTURES_DIR "tests/fixtures/pmacct"
#endif

static int match(const char *expr, const struct flow_rec *r)
{
	char err[512];
	struct filter_pkt p;
	struct nt_filter *f = nt_filter_compile(expr, err, sizeof err);
	if (!f)
		fail_msg("%s: %s", expr, err);
	filter_pkt_reset(&p, r);
	int m = nt_filter_match(f, &p);
	nt_filter_free(f);
	return m;
}

static void v4(struct nt_addr *a, const char *s)
{
	a->family = 4;
	memset(a->a, 0, 16);
	assert_int_equal(inet_pton(AF_INET, s, a->a), 1);
}

static void v6(struct nt_addr *a, const char *s)
{
	a->family = 6;
	assert_int_equal(inet_pton(AF_INET6, s, a->a), 1);
}

static struct flow_rec tcp_rec(void)
{
	struct flow_rec r;
	memset(&r, 0, sizeof r);
	v4(&r.src_addr, "10.1.2.3");
	v4(&r.dst_addr, "192.168.7.9");
	r.src_port = 40000;
	r.dst_port = 443;
	r.proto = 6;
	r.tos = 0xb8;
	r.tcp_flags = 0x12;
	FR_SET(&r, FR_SRC_ADDR);
	FR_SET(&r, FR_DST_ADDR);
	FR_SET(&r, FR_SRC_PORT);
	FR_SET(&r, FR_DST_PORT);
	FR_SET(&r, FR_PROTO);
	FR_SET(&r, FR_TOS);
	FR_SET(&r, FR_TCP_FLAGS);
	return r;
}

#ifdef HAVE_PCAP

static void test_expressions_on_a_record(void **state)
{
	(void)state;
	struct flow_rec r = tcp_rec();
	assert_true(match("tcp", &r));
	assert_false(match("udp", &r));
	assert_true(match("src net 10.0.0.0/8 and dst host 192.168.7.9", &r));
	assert_true(match("tcp dst port 443 and src portrange 30000-50000", &r));
	assert_true(match("tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack != 0", &r));
	assert_false(match("tcp[tcpflags] & tcp-fin != 0", &r));
	assert_true(match("ip[1] == 0xb8", &r));
	assert_true(match("(ip[12:4] >= 0x0A010200) and (ip[12:4] <= 0x0A0102FF)", &r));
	assert_false(match("ip6", &r));
	assert_false(match("vlan", &r));

	/* a field the record lacks reads as zero */
	r.present &= ~(1ull << FR_DST_PORT);
	assert_true(match("dst port 0", &r));

	/* the VLAN is only in the packet of expressions that name it */
	r.vlan_in = 100;
	FR_SET(&r, FR_VLAN_IN);
	assert_true(match("vlan 100 and src net 10.0.0.0/8", &r));
	assert_false(match("vlan 200", &r));
	assert_true(match("src net 10.0.0.0/8", &r));

	/* MACs */
	memcpy(r.src_mac, "\x00\x11\x22\x33\x44\x55", 6);
	memcpy(r.dst_mac, "\x01\x00\x5e\x00\x00\x01", 6);
	FR_SET(&r, FR_SRC_MAC);
	FR_SET(&r, FR_DST_MAC);
	assert_true(match("ether src 00:11:22:33:44:55 and ether multicast", &r));

	/* IPv6, ICMP type and code from the record */
	struct flow_rec s;
	memset(&s, 0, sizeof s);
	v6(&s.src_addr, "2001:db8::1");
	v6(&s.dst_addr, "2001:db8:1::2");
	s.proto = 58;
	s.icmp_type_code = 128 << 8;
	FR_SET(&s, FR_SRC_ADDR);
	FR_SET(&s, FR_DST_ADDR);
	FR_SET(&s, FR_PROTO);
	FR_SET(&s, FR_ICMP);
	assert_true(match("ip6 and src net 2001:db8::/32 and icmp6", &s));
	assert_true(match("icmp6 and ip6[40] == 128", &s));
	assert_false(match("ip", &s));

	/* no addresses: not an IP packet */
	struct flow_rec e;
	memset(&e, 0, sizeof e);
	assert_false(match("ip or ip6", &e));
	assert_true(match("not ip", &e));
}

static void test_bad_expression(void **state)
{
	(void)state;
	char err[512];
	assert_null(nt_filter_compile("src nett 10.0.0.0/8", err, sizeof err));
	assert_non_null(strstr(err, "src nett"));
	assert_null(nt_filter_compile("port 99999999", err, sizeof err));
}

/* ---- against libpcap on real packets ---------------------------------------- */

/* What a flow exporter would say about this frame (Ethernet, 802.1Q, IPv4/IPv6, L4). */
static int frame_to_rec(const uint8_t *p, size_t len, struct flow_rec *r)
{
	memset(r, 0, sizeof *r);
	if (len < 14)
		return -1;
	memcpy(r->dst_mac, p, 6);
	memcpy(r->src_mac, p + 6, 6);
	FR_SET(r, FR_SRC_MAC);
	FR_SET(r, FR_DST_MAC);
	size_t off = 12;
	uint16_t et = (uint16_t)(p[off] << 8 | p[off + 1]);
	if (et == 0x8100) {
		r->vlan_in = (uint16_t)((p[off + 2] << 8 | p[off + 3]) & 0xfff);
		FR_SET(r, FR_VLAN_IN);
		off += 4;
		et = (uint16_t)(p[off] << 8 | p[off + 1]);
	}
	off += 2;
	const uint8_t *ip = p + off;
	const uint8_t *l4;
	if (et == 0x0800) {
		r->src_addr.family = r->dst_addr.family = 4;
		memcpy(r->src_addr.a, ip + 12, 4);
		memcpy(r->dst_addr.a, ip + 16, 4);
		r->tos = ip[1];
		r->proto = ip[9];
		l4 = ip + (ip[0] & 15) * 4;
	} else if (et == 0x86dd) {
		r->src_addr.family = r->dst_addr.family = 6;
		memcpy(r->src_addr.a, ip + 8, 16);
		memcpy(r->dst_addr.a, ip + 24, 16);
		r->tos = (uint8_t)((ip[0] & 15) << 4 | ip[1] >> 4);
		r->proto = ip[6];
		l4 = ip + 40;
	} else {
		return -1;
	}
	FR_SET(r, FR_SRC_ADDR);
	FR_SET(r, FR_DST_ADDR);
	FR_SET(r, FR_TOS);
	FR_SET(r, FR_PROTO);
	if (r->proto == 6 || r->proto == 17) {
		r->src_port = (uint16_t)(l4[0] << 8 | l4[1]);
		r->dst_port = (uint16_t)(l4[2] << 8 | l4[3]);
		FR_SET(r, FR_SRC_PORT);
		FR_SET(r, FR_DST_PORT);
	}
	if (r->proto == 6) {
		r->tcp_flags = l4[13];
		FR_SET(r, FR_TCP_FLAGS);
	}
	if (r->proto == 1 || r->proto == 58) {
		r->icmp_type_code = (uint16_t)(l4[0] << 8 | l4[1]);
		FR_SET(r, FR_ICMP);
	}
	return 0;
}

static const char *const exprs[] = {
    "ip",
    "ip6",
    "tcp",
    "udp",
    "icmp",
    "icmp6",
    "not tcp",
    "ip proto 17",
    "src net 10.0.0.0/8",
    "dst host 192.168.7.9",
    "host 10.9.0.1",
    "net 2001:db8::/32",
    "src host 2001:db8::1",
    "port 443",
    "dst port 80 or dst port 546",
    "src portrange 1-1024",
    "udp dst port 5353",
    "udp port 9991 or udp port 9992",
    "src net 138.187.0.0/16 and udp",
    "dst net 2a02:a90:4007::/48",
    "tcp[tcpflags] & tcp-syn != 0",
    "tcp[tcpflags] & (tcp-fin|tcp-rst) != 0",
    "tcp[tcpflags] == tcp-push|tcp-ack",
    "ip[1] == 0xb8",
    "ip6[0] == 0x62",
    "ether src 00:11:22:33:44:55",
    "ether dst 66:77:88:99:aa:bb",
    "ether multicast",
    "ip multicast",
    "ip6 multicast",
    "icmp[icmptype] == icmp-echo",
    "icmp[icmpcode] == 1",
    "icmp6 and ip6[40] == 128",
    "ip6 and tcp dst port 80",
    "vlan 100",
    "vlan 200 and tcp",
    "vlan and src net 10.1.0.0/16",
    "vlan and udp src port 53",
};

static void compare_file(const char *path, unsigned *checked, unsigned *matched)
{
	char errbuf[PCAP_ERRBUF_SIZE], err[512];
	pcap_t *pc = pcap_open_offline(path, errbuf);
	if (!pc)
		fail_msg("%s: %s", path, errbuf);
	assert_int_equal(pcap_datalink(pc), DLT_EN10MB);
	struct pcap_pkthdr *h;
	const u_char *data;
	while (pcap_next_ex(pc, &h, &data) == 1) {
		struct flow_rec r;
		if (frame_to_rec(data, h->caplen, &r) < 0)
			continue;
		for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
			/*
			 * A tagged frame hides its IP header from expressions without
			 * `vlan`; records carry the VLAN apart, so those differ by design.
			 */
			if (FR_HAS(&r, FR_VLAN_IN) && !strstr(exprs[i], "vlan"))
				continue;
			struct bpf_program prog;
			assert_int_equal(pcap_compile(pc, &prog, exprs[i], 1, PCAP_NETMASK_UNKNOWN),
					 0);
			int want = pcap_offline_filter(&prog, h, data) != 0;
			pcap_freecode(&prog);
			struct nt_filter *f = nt_filter_compile(exprs[i], err, sizeof err);
			assert_non_null(f);
			struct filter_pkt p;
			filter_pkt_reset(&p, &r);
			int got = nt_filter_match(f, &p);
			nt_filter_free(f);
			if (got != want)
				fail_msg("%s, packet %u: '%s' gives %d, libpcap on the packet %d",
					 path, *checked, exprs[i], got, want);
			*matched += (unsigned)got;
		}
		(*checked)++;
	}
	pcap_close(pc);
}

static void test_agrees_with_libpcap_on_real_packets(void **state)
{
	(void)state;
	unsigned checked = 0, matched = 0;
	char path[512];
	compare_file(UNIT_DATA_DIR "/filter_packets.pcap", &checked, &matched);
	static const char *const fix[] = {
	    "100-IPFIXv10-CISCO", "102-NFv9-CISCO-f2rd-pretag-sampling-reload",
	    "104-IPFIXv10-IPv6-CISCO-sampling_option", "106-IPFIXv10-HUAWEI-vrf_name"};
	for (size_t i = 0; i < sizeof fix / sizeof fix[0]; i++) {
		snprintf(path, sizeof path, "%s/%s/traffic-00.pcap", FIXTURES_DIR, fix[i]);
		compare_file(path, &checked, &matched);
	}
	assert_true(checked >= 40);
	assert_true(matched >= 100); /* the expressions do select: not everything is false */
}

#else

static void test_without_libpcap(void **state)
{
	(void)state;
	char err[256];
	assert_null(nt_filter_compile("tcp", err, sizeof err));
	assert_non_null(strstr(err, "libpcap"));
}

#endif

/* ---- tag and label lists ------------------------------------------------------ */

static void test_tag_lists(void **state)
{
	(void)state;
	struct tag_filter f;
	char why[256];
	assert_int_equal(tag_filter_parse(&f, "1, 5-7,100", why, sizeof why), 0);
	assert_int_equal(f.n, 3);
	assert_true(tag_filter_match(&f, 1));
	assert_true(tag_filter_match(&f, 6));
	assert_true(tag_filter_match(&f, 100));
	assert_false(tag_filter_match(&f, 0));
	assert_false(tag_filter_match(&f, 8));

	assert_int_equal(tag_filter_parse(&f, "0", why, sizeof why), 0);
	assert_true(tag_filter_match(&f, 0));
	assert_false(tag_filter_match(&f, 1));

	/* a negated entry rejects its range and takes everything else */
	assert_int_equal(tag_filter_parse(&f, "-6", why, sizeof why), 0);
	assert_false(tag_filter_match(&f, 6));
	assert_true(tag_filter_match(&f, 0));
	assert_true(tag_filter_match(&f, 7));
	assert_int_equal(tag_filter_parse(&f, "-10-20", why, sizeof why), 0);
	assert_false(tag_filter_match(&f, 15));
	assert_true(tag_filter_match(&f, 21));
	/* in order: 3 is taken before the negation decides */
	assert_int_equal(tag_filter_parse(&f, "3,-3", why, sizeof why), 0);
	assert_true(tag_filter_match(&f, 3));
	assert_int_equal(tag_filter_parse(&f, "18446744073709551615", why, sizeof why), 0);
	assert_true(tag_filter_match(&f, UINT64_MAX));

	static const char *const bad[] = {"",	 "x",	"1,",  "5-3",
					  "1-x", "--1", "1 2", "18446744073709551616"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(tag_filter_parse(&f, bad[i], why, sizeof why), -1);
}

static void test_label_lists(void **state)
{
	(void)state;
	struct label_filter f;
	char why[256];
	assert_int_equal(label_filter_parse(&f, "null, blabla", why, sizeof why), 0);
	assert_true(label_filter_match(&f, NULL));
	assert_true(label_filter_match(&f, ""));
	assert_true(label_filter_match(&f, "blabla"));
	assert_true(label_filter_match(&f, "x,blabla")); /* a part of a chained label */
	assert_false(label_filter_match(&f, "blablab"));

	assert_int_equal(label_filter_parse(&f, "-null", why, sizeof why), 0);
	assert_false(label_filter_match(&f, NULL));
	assert_true(label_filter_match(&f, "a"));

	assert_int_equal(label_filter_parse(&f, "-a", why, sizeof why), 0);
	assert_false(label_filter_match(&f, "a"));
	assert_true(label_filter_match(&f, "b"));
	assert_true(label_filter_match(&f, NULL));

	assert_int_equal(label_filter_parse(&f, "a,,b", why, sizeof why), -1);
	assert_int_equal(label_filter_parse(&f, "", why, sizeof why), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#ifdef HAVE_PCAP
	    cmocka_unit_test(test_expressions_on_a_record),
	    cmocka_unit_test(test_bad_expression),
	    cmocka_unit_test(test_agrees_with_libpcap_on_real_packets),
#else
	    cmocka_unit_test(test_without_libpcap),
#endif
	    cmocka_unit_test(test_tag_lists),
	    cmocka_unit_test(test_label_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
