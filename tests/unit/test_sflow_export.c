/*
 * Unit tests for the sFlow v5 encoder (proto/sflow_export.c): datagrams it
 * writes are read back by netacct's own decoder (proto/sflow.c), flow
 * samples (compact and expanded, Ethernet, IPv4 and IPv6 headers, IPv4 and
 * IPv6 agents) and counter samples; the MTU bound; the fields the decoder
 * does not surface (pool, drops, stripped) at their wire offsets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "proto/sflow.h"
#include "proto/sflow_export.h"

struct got {
	struct flow_rec rec[64];
	unsigned nrec;
	struct sf_counters cnt[16];
	unsigned ncnt;
};

static void on_rec(void *arg, struct flow_rec *r)
{
	struct got *g = arg;
	if (g->nrec < 64)
		g->rec[g->nrec++] = *r;
}

static void on_cnt(void *arg, const struct sf_counters *c)
{
	struct got *g = arg;
	if (g->ncnt < 16)
		g->cnt[g->ncnt++] = *c;
}

/* Ethernet + IPv4 + UDP 10.0.0.1:1234 -> 10.0.0.2:53, 100 bytes of IP */
static size_t eth_udp4(uint8_t *f)
{
	static const uint8_t hdr[] = {
	    0x02, 0,	0,  0,	 0, 0x0b, 0x02, 0, 0,  0,  0, 0x0a, 0x08, 0x00, /* Ethernet */
	    0x45, 0,	0,  100, 0, 1,	  0,	0, 64, 17, 0, 0,    10,	  0,
	    0,	  1,	10, 0,	 0, 2,		   /* IPv4 */
	    0x04, 0xd2, 0,  53,	 0, 80,	  0,	0, /* UDP */
	};
	memset(f, 0xab, 114);
	memcpy(f, hdr, sizeof hdr);
	return 114;
}

/* IPv6 + TCP 2001:db8::1:80 -> 2001:db8::2:40000, SYN, 60 bytes of IP */
static size_t tcp6(uint8_t *f)
{
	memset(f, 0, 60);
	f[0] = 0x60;
	f[5] = 20; /* payload length */
	f[6] = 6;  /* TCP */
	f[7] = 64;
	inet_pton(AF_INET6, "2001:db8::1", f + 8);
	inet_pton(AF_INET6, "2001:db8::2", f + 24);
	uint8_t *t = f + 40;
	t[0] = 0;
	t[1] = 80;
	t[2] = 0x9c;
	t[3] = 0x40;
	t[12] = 0x50;
	t[13] = 0x02;
	return 60;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void decode(const uint8_t *buf, size_t len, struct got *g, struct sf_agent **agent)
{
	struct sf_collector c;
	struct sf_options opt = {0};
	assert_int_equal(sf_collector_init(&c, &opt, on_rec, g, on_cnt, g), 0);
	assert_int_equal(sf_decode(&c, buf, len, 1, agent), SF_OK);
	if (agent)
		*agent = NULL; /* freed with the collector */
	sf_collector_free(&c);
}

static void test_flow_ipv4_agent(void **state)
{
	(void)state;
	uint8_t frame[256], buf[1500];
	size_t fl = eth_udp4(frame);
	struct nt_addr agent = {.family = 4};
	inet_pton(AF_INET, "192.0.2.7", agent.a);
	struct sfx_dgram d;
	assert_int_equal(sfx_begin(&d, buf, sizeof buf, &agent, 1402), 0);
	struct sfx_flow f = {
	    .seq = 1,
	    .source_index = 3,
	    .rate = 10,
	    .pool = 37,
	    .drops = 2,
	    .input = 3,
	    .output = 0,
	    .header_proto = SFX_HDR_ETHERNET,
	    .frame_length = (uint32_t)fl + 4,
	    .stripped = 4,
	    .header = frame,
	    .header_len = 61, /* not a multiple of 4: padded */
	};
	assert_int_equal(sfx_add_flow(&d, &f), 0);
	f.seq = 2;
	f.pool = 51;
	assert_int_equal(sfx_add_flow(&d, &f), 0);
	size_t len = sfx_finish(&d, 9, 12345);
	assert_int_equal(len % 4, 0);
	/* header: version, address, sub id, sequence, uptime, samples */
	assert_int_equal(rd32(buf), 5);
	assert_int_equal(rd32(buf + 4), 1);
	assert_int_equal(rd32(buf + 12), 1402);
	assert_int_equal(rd32(buf + 16), 9);
	assert_int_equal(rd32(buf + 20), 12345);
	assert_int_equal(rd32(buf + 24), 2);
	/* first sample: format 1; seq, source, rate, pool, drops, in, out, #records */
	const uint8_t *s = buf + 28;
	assert_int_equal(rd32(s), 1);
	assert_int_equal(rd32(s + 8), 1);
	assert_int_equal(rd32(s + 12), 3);
	assert_int_equal(rd32(s + 16), 10);
	assert_int_equal(rd32(s + 20), 37);
	assert_int_equal(rd32(s + 24), 2);
	/* the raw header record: format, length, protocol, frame length, stripped, length */
	const uint8_t *r = s + 8 + 32;
	assert_int_equal(rd32(r), 1);
	assert_int_equal(rd32(r + 8), SFX_HDR_ETHERNET);
	assert_int_equal(rd32(r + 12), fl + 4);
	assert_int_equal(rd32(r + 16), 4);
	assert_int_equal(rd32(r + 20), 61);

	struct got g = {0};
	struct sf_agent *a;
	decode(buf, len, &g, &a);
	assert_int_equal(g.nrec, 2);
	const struct flow_rec *x = &g.rec[0];
	char t[64];
	inet_ntop(AF_INET, x->src_addr.a, t, sizeof t);
	assert_string_equal(t, "10.0.0.1");
	inet_ntop(AF_INET, x->dst_addr.a, t, sizeof t);
	assert_string_equal(t, "10.0.0.2");
	assert_int_equal(x->src_port, 1234);
	assert_int_equal(x->dst_port, 53);
	assert_int_equal(x->proto, 17);
	assert_int_equal(x->packets, 1);
	assert_int_equal(x->sampling_rate, 10);
	assert_int_equal(x->in_iface, 3);
	assert_int_equal(x->out_iface, 0);
	assert_int_equal(x->export_sysid, 1402);
	assert_int_equal(x->export_seqno, 9);
	inet_ntop(AF_INET, x->peer_src_ip.a, t, sizeof t);
	assert_string_equal(t, "192.0.2.7");
	assert_memory_equal(x->src_mac, frame + 6, 6);
}

static void test_flow_ipv6_agent_expanded(void **state)
{
	(void)state;
	uint8_t frame[128], buf[1500];
	size_t fl = tcp6(frame);
	struct nt_addr agent = {.family = 6};
	inet_pton(AF_INET6, "2001:db8::a", agent.a);
	struct sfx_dgram d;
	assert_int_equal(sfx_begin(&d, buf, sizeof buf, &agent, 7), 0);
	struct sfx_flow f = {
	    .seq = 5,
	    .source_index = 0x2000000, /* past 24 bits: the expanded form */
	    .rate = 1,
	    .pool = 5,
	    .output = 0x40000001, /* past 30 bits */
	    .header_proto = SFX_HDR_IPV6,
	    .frame_length = (uint32_t)fl,
	    .header = frame,
	    .header_len = (uint32_t)fl,
	};
	assert_int_equal(sfx_add_flow(&d, &f), 0);
	size_t len = sfx_finish(&d, 1, 0);
	assert_int_equal(rd32(buf + 4), 2);
	assert_int_equal(rd32(buf + 40), 3); /* expanded flow sample */

	struct got g = {0};
	decode(buf, len, &g, NULL);
	assert_int_equal(g.nrec, 1);
	const struct flow_rec *x = &g.rec[0];
	char t[64];
	inet_ntop(AF_INET6, x->src_addr.a, t, sizeof t);
	assert_string_equal(t, "2001:db8::1");
	assert_int_equal(x->src_port, 80);
	assert_int_equal(x->dst_port, 40000);
	assert_int_equal(x->proto, 6);
	assert_int_equal(x->tcp_flags, 0x02);
	assert_int_equal(x->bytes, 60);
	assert_int_equal(x->out_iface, 0x40000001);
	assert_int_equal(x->export_sysid, 7);
	inet_ntop(AF_INET6, x->peer_src_ip.a, t, sizeof t);
	assert_string_equal(t, "2001:db8::a");
}

static void test_counters(void **state)
{
	(void)state;
	uint8_t buf[1500];
	struct nt_addr agent = {.family = 4};
	inet_pton(AF_INET, "127.0.0.1", agent.a);
	struct sfx_dgram d;
	assert_int_equal(sfx_begin(&d, buf, sizeof buf, &agent, 1), 0);
	struct sfx_if_counters c = {
	    .seq = 4,
	    .source_index = 12,
	    .if_type = 6,
	    .if_speed = 10000000000ull,
	    .status = 3,
	    .in_octets = 5000000000ull,
	    .in_ucast = 77,
	    .out_octets = 9,
	    .out_ucast = 1,
	};
	assert_int_equal(sfx_add_counters(&d, &c), 0);
	c.source_index = 0x1000000; /* expanded */
	assert_int_equal(sfx_add_counters(&d, &c), 0);
	size_t len = sfx_finish(&d, 3, 1000);
	struct got g = {0};
	decode(buf, len, &g, NULL);
	assert_int_equal(g.ncnt, 2);
	const struct sf_counters *x = &g.cnt[0];
	assert_int_equal(x->type, SF_CNT_GENERIC);
	assert_int_equal(x->sample_seq, 4);
	assert_int_equal(x->source_index, 12);
	assert_int_equal(x->n, 19);
	assert_int_equal(x->v[0], 12);		   /* ifIndex */
	assert_int_equal(x->v[1], 6);		   /* ifType */
	assert_int_equal(x->v[2], 10000000000ull); /* ifSpeed */
	assert_int_equal(x->v[4], 3);		   /* ifStatus */
	assert_int_equal(x->v[5], 5000000000ull);  /* ifInOctets */
	assert_int_equal(x->v[6], 77);
	assert_int_equal(x->v[12], 9); /* ifOutOctets */
	assert_int_equal(x->v[13], 1);
	assert_int_equal(g.cnt[1].source_index, 0x1000000);
}

/* Samples are refused once the next would pass the bound; the datagram stays whole. */
static void test_mtu_bound(void **state)
{
	(void)state;
	uint8_t frame[256], buf[600];
	size_t fl = eth_udp4(frame);
	struct nt_addr agent = {.family = 4};
	struct sfx_dgram d;
	size_t cap = 300;
	assert_int_equal(sfx_begin(&d, buf, cap, &agent, 0), 0);
	struct sfx_flow f = {.rate = 1,
			     .header_proto = SFX_HDR_ETHERNET,
			     .frame_length = (uint32_t)fl,
			     .header = frame,
			     .header_len = 40};
	unsigned n = 0;
	while (sfx_add_flow(&d, &f) == 0)
		n++;
	assert_true(n >= 2);
	size_t len = sfx_finish(&d, 1, 0);
	assert_true(len <= cap);
	struct got g = {0};
	decode(buf, len, &g, NULL);
	assert_int_equal(g.nrec, n);
	/* the largest header that fits alone does fit */
	assert_int_equal(sfx_begin(&d, buf, cap, &agent, 0), 0);
	f.header_len = (uint32_t)sfx_max_header(cap, &agent);
	assert_true(f.header_len > 0 && f.header_len <= sizeof frame);
	assert_int_equal(sfx_add_flow(&d, &f), 0);
	/* a header that cannot fit is refused */
	assert_int_equal(sfx_begin(&d, buf, cap, &agent, 0), 0);
	f.header_len = (uint32_t)cap;
	assert_int_equal(sfx_add_flow(&d, &f), -1);
	assert_int_equal(d.nsamples, 0);
	struct nt_addr bad = {0};
	assert_int_equal(sfx_begin(&d, buf, cap, &bad, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flow_ipv4_agent),
	    cmocka_unit_test(test_flow_ipv6_agent_expanded),
	    cmocka_unit_test(test_counters),
	    cmocka_unit_test(test_mtu_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
