/*
 * Unit tests for agg/classify.c: HTTP, DNS and TLS conversations built here
 * as raw IPv4 packets, decoded by proto/packet.c and classified by nDPI; the
 * flow table's bounds, idle expiry and give-up budget.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/classify.h"
#include "proto/packet.h"

/* ---- packet builder ------------------------------------------------------- */

struct pb {
	uint8_t b[2048];
	size_t n;
};

static void put8(struct pb *p, uint8_t v)
{
	p->b[p->n++] = v;
}
static void put16(struct pb *p, uint16_t v)
{
	put8(p, (uint8_t)(v >> 8));
	put8(p, (uint8_t)v);
}
static void put24(struct pb *p, uint32_t v)
{
	put8(p, (uint8_t)(v >> 16));
	put16(p, (uint16_t)v);
}
static void put32(struct pb *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p, (uint16_t)v);
}
static void putb(struct pb *p, const void *d, size_t n)
{
	if (!n)
		return;
	memcpy(p->b + p->n, d, n);
	p->n += n;
}
static void patch16(struct pb *p, size_t at, uint16_t v)
{
	p->b[at] = (uint8_t)(v >> 8);
	p->b[at + 1] = (uint8_t)v;
}

static uint16_t ip_csum(const uint8_t *h)
{
	uint32_t s = 0;
	for (int i = 0; i < 20; i += 2)
		s += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

struct end {
	uint8_t a[4];
	uint16_t port;
	uint32_t seq;
};

static const struct end CLIENT = {{192, 0, 2, 10}, 49152, 1000};
static const struct end SERVER = {{198, 51, 100, 20}, 0, 5000};

/* IPv4 + TCP (flags, payload) or UDP (payload) from s to d. */
static void pkt(struct pb *p, uint8_t proto, const struct end *s, const struct end *d,
		uint8_t flags, uint32_t ack, const void *pl, size_t plen)
{
	p->n = 0;
	put8(p, 0x45);
	put8(p, 0);
	put16(p, 0);
	put16(p, 1);
	put16(p, 0x4000);
	put8(p, 64);
	put8(p, proto);
	put16(p, 0);
	putb(p, s->a, 4);
	putb(p, d->a, 4);
	put16(p, s->port);
	put16(p, d->port);
	if (proto == 6) {
		put32(p, s->seq);
		put32(p, ack);
		put8(p, 0x50);
		put8(p, flags);
		put16(p, 65535);
		put32(p, 0);
	} else {
		put16(p, (uint16_t)(8 + plen));
		put16(p, 0);
	}
	putb(p, pl, plen);
	patch16(p, 2, (uint16_t)p->n);
	patch16(p, 10, ip_csum(p->b));
}

/* ---- fixtures -------------------------------------------------------------- */

struct ctx {
	struct pkt_decoder d;
	struct classifier c;
	struct flow_rec r;
	nt_usec ts;
};

static int setup(void **state)
{
	struct ctx *x = calloc(1, sizeof *x);
	char err[256];
	assert_non_null(x);
	assert_int_equal(pkt_decoder_init(&x->d, 0), 0);
	struct classify_opts o;
	classify_opts_default(&o);
	o.num_roots = 64;
	if (classify_init(&x->c, &o, err, sizeof err) != 0) {
		print_error("classify_init: %s\n", err);
		return -1;
	}
	x->ts = 1700000000000000ull;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *x = *state;
	classify_free(&x->c);
	pkt_decoder_free(&x->d);
	free(x);
	return 0;
}

/* Decode and classify one packet; returns its class name or NULL. */
static const char *feed(struct ctx *x, const struct pb *p)
{
	flow_rec_clear(&x->r);
	x->ts += 1000;
	assert_int_equal(pkt_decode(&x->d, DECAP_LINK_RAW, p->b, p->n, p->n, x->ts, &x->r), PKT_OK);
	classify_packet(&x->c, x->d.l3, x->d.l3_len, x->ts, &x->r);
	return FR_HAS(&x->r, FR_CLASS) ? x->r.class_name : NULL;
}

/* A TCP handshake from cli to srv, then the client's payload; the class name. */
static const char *tcp_conversation(struct ctx *x, uint16_t port, const void *req, size_t len)
{
	struct pb p;
	struct end cli = CLIENT, srv = SERVER;
	srv.port = port;
	pkt(&p, 6, &cli, &srv, 0x02, 0, NULL, 0);
	assert_null(feed(x, &p));
	pkt(&p, 6, &srv, &cli, 0x12, cli.seq + 1, NULL, 0);
	assert_null(feed(x, &p));
	cli.seq++;
	srv.seq++;
	pkt(&p, 6, &cli, &srv, 0x10, srv.seq, NULL, 0);
	assert_null(feed(x, &p));
	pkt(&p, 6, &cli, &srv, 0x18, srv.seq, req, len);
	const char *name = feed(x, &p);
	if (!name) {
		/* the server's answer (an ACK) lets some dissectors conclude */
		cli.seq += (uint32_t)len;
		pkt(&p, 6, &srv, &cli, 0x10, cli.seq, NULL, 0);
		name = feed(x, &p);
	}
	return name;
}

static void assert_class(const char *got, const char *want)
{
	if (!got || strcmp(got, want) != 0) {
		print_error("class '%s', want '%s'\n", got ? got : "(none)", want);
		fail();
	}
}

/* ---- HTTP, DNS, TLS ------------------------------------------------------------ */

static void test_http(void **state)
{
	struct ctx *x = *state;
	static const char req[] = "GET /index.html HTTP/1.1\r\nHost: www.example.org\r\n"
				  "User-Agent: netacct-test/1.0\r\nAccept: */*\r\n\r\n";
	const char *name = tcp_conversation(x, 80, req, sizeof req - 1);
	assert_class(name, "Unknown/HTTP");
	/* every later packet of the flow, either way, carries it */
	struct pb p;
	struct end srv = SERVER;
	srv.port = 80;
	pkt(&p, 6, &srv, &CLIENT, 0x18, 1, "HTTP/1.1 200 OK\r\n\r\n", 19);
	assert_class(feed(x, &p), "Unknown/HTTP");
	assert_int_equal(x->c.st.classified, 1);
	assert_int_equal(x->c.st.flows, 1);
}

static void test_dns(void **state)
{
	struct ctx *x = *state;
	struct pb q;
	q.n = 0;
	put16(&q, 0x1234); /* id */
	put16(&q, 0x0100); /* recursion desired */
	put16(&q, 1);	   /* one question */
	put16(&q, 0);
	put16(&q, 0);
	put16(&q, 0);
	putb(&q,
	     "\x07"
	     "example"
	     "\x03"
	     "com",
	     13);
	put8(&q, 0);
	put16(&q, 1); /* A */
	put16(&q, 1); /* IN */
	struct pb p;
	struct end srv = SERVER;
	srv.port = 53;
	pkt(&p, 17, &CLIENT, &srv, 0, 0, q.b, q.n);
	assert_class(feed(x, &p), "Unknown/DNS");
}

static void dns_query(struct pb *q)
{
	q->n = 0;
	put16(q, 0x1234); /* id */
	put16(q, 0x0100); /* recursion desired */
	put16(q, 1);	  /* one question */
	put16(q, 0);
	put16(q, 0);
	put16(q, 0);
	putb(q,
	     "\x07"
	     "example"
	     "\x03"
	     "com",
	     13);
	put8(q, 0);
	put16(q, 28); /* AAAA */
	put16(q, 1);  /* IN */
}

/* IPv6 flows: the key holds the whole addresses */
static void test_dns_ipv6(void **state)
{
	struct ctx *x = *state;
	struct pb q, p;
	dns_query(&q);
	for (int side = 0; side < 2; side++) {
		p.n = 0;
		put32(&p, 0x60000000);
		put16(&p, (uint16_t)(8 + q.n));
		put8(&p, 17);
		put8(&p, 64);
		for (int i = 0; i < 16; i++)
			put8(&p, (uint8_t)(i == 15 ? 1 + side : i == 0 ? 0x20 : 0));
		for (int i = 0; i < 16; i++)
			put8(&p, (uint8_t)(i == 15 ? 9 : i == 0 ? 0x20 : 0));
		put16(&p, (uint16_t)(33000 + side));
		put16(&p, 53);
		put16(&p, (uint16_t)(8 + q.n));
		put16(&p, 0);
		putb(&p, q.b, q.n);
		assert_class(feed(x, &p), "Unknown/DNS");
	}
	/* two clients, two flows */
	assert_int_equal(x->c.st.flows, 2);
}

/* A TLS 1.2 ClientHello naming host in its SNI. */
static void client_hello(struct pb *p, const char *host)
{
	size_t hl = strlen(host);
	p->n = 0;
	put8(p, 22); /* handshake */
	put16(p, 0x0301);
	size_t rec_len = p->n;
	put16(p, 0);
	put8(p, 1); /* ClientHello */
	size_t hs_len = p->n;
	put24(p, 0);
	put16(p, 0x0303);
	for (int i = 0; i < 32; i++)
		put8(p, (uint8_t)(i * 7));
	put8(p, 0); /* no session id */
	put16(p, 6);
	put16(p, 0xc02f);
	put16(p, 0xc030);
	put16(p, 0x009c);
	put8(p, 1); /* compression: null */
	put8(p, 0);
	size_t ext_len = p->n;
	put16(p, 0);
	put16(p, 0x0000); /* server_name */
	put16(p, (uint16_t)(hl + 5));
	put16(p, (uint16_t)(hl + 3));
	put8(p, 0); /* host_name */
	put16(p, (uint16_t)hl);
	putb(p, host, hl);
	put16(p, 0x000d); /* signature_algorithms */
	put16(p, 4);
	put16(p, 2);
	put16(p, 0x0401);
	patch16(p, ext_len, (uint16_t)(p->n - ext_len - 2));
	uint32_t hs = (uint32_t)(p->n - hs_len - 3);
	p->b[hs_len] = (uint8_t)(hs >> 16);
	patch16(p, hs_len + 1, (uint16_t)hs);
	patch16(p, rec_len, (uint16_t)(p->n - rec_len - 2));
}

static void test_tls(void **state)
{
	struct ctx *x = *state;
	struct pb hello;
	client_hello(&hello, "www.example.org");
	const char *name = tcp_conversation(x, 443, hello.b, hello.n);
	assert_class(name, "Unknown/TLS");
}

/* ---- the flow table ----------------------------------------------------------- */

static void test_giveup_and_guess(void **state)
{
	struct ctx *x = *state;
	/* 8 UDP packets nobody can name: given up, "Unknown" */
	struct pb p;
	struct end srv = SERVER;
	srv.port = 40000;
	for (int i = 0; i < 7; i++) {
		pkt(&p, 17, &CLIENT, &srv, 0, 0, "\x01\x02\x03\x04", 4);
		assert_null(feed(x, &p));
	}
	pkt(&p, 17, &CLIENT, &srv, 0, 0, "\x01\x02\x03\x04", 4);
	assert_class(feed(x, &p), "Unknown/Unknown");
	assert_int_equal(x->c.st.given_up, 1);

	/* with classifier_proto_guess, the port names it */
	struct classifier g;
	struct classify_opts o;
	char err[256];
	classify_opts_default(&o);
	o.proto_guess = 1;
	o.giveup_udp = 1;
	assert_int_equal(classify_init(&g, &o, err, sizeof err), 0);
	srv.port = 123; /* NTP's port, not an NTP payload */
	pkt(&p, 17, &CLIENT, &srv, 0, 0, "\x01\x02\x03\x04", 4);
	flow_rec_clear(&x->r);
	assert_int_equal(pkt_decode(&x->d, DECAP_LINK_RAW, p.b, p.n, p.n, x->ts, &x->r), PKT_OK);
	classify_packet(&g, x->d.l3, x->d.l3_len, x->ts, &x->r);
	assert_true(FR_HAS(&x->r, FR_CLASS));
	assert_non_null(strstr(x->r.class_name, "NTP"));
	classify_free(&g);
}

static void test_bounded_and_idle(void **state)
{
	(void)state;
	struct classifier c;
	struct classify_opts o;
	struct pkt_decoder d;
	char err[256];
	classify_opts_default(&o);
	o.num_roots = 4;
	o.max_flows = 3;
	o.idle_scan_period = 10;
	assert_int_equal(classify_init(&c, &o, err, sizeof err), 0);
	assert_int_equal(pkt_decoder_init(&d, 0), 0);
	nt_usec ts = 1000000000;
	struct pb p;
	struct flow_rec r;
	for (int i = 0; i < 5; i++) {
		struct end cli = CLIENT;
		cli.port = (uint16_t)(2000 + i);
		pkt(&p, 17, &cli, &SERVER, 0, 0, "x", 1);
		flow_rec_clear(&r);
		assert_int_equal(pkt_decode(&d, DECAP_LINK_RAW, p.b, p.n, p.n, ts, &r), PKT_OK);
		classify_packet(&c, d.l3, d.l3_len, ts, &r);
	}
	assert_int_equal(c.nflows, 3);
	assert_int_equal(c.st.table_full, 2);
	/* 31 s later, past a scan period: every flow was idle too long */
	ts += 31000000;
	pkt(&p, 17, &CLIENT, &SERVER, 0, 0, "x", 1);
	flow_rec_clear(&r);
	assert_int_equal(pkt_decode(&d, DECAP_LINK_RAW, p.b, p.n, p.n, ts, &r), PKT_OK);
	classify_packet(&c, d.l3, d.l3_len, ts, &r);
	assert_int_equal(c.st.expired, 3);
	assert_int_equal(c.nflows, 1);
	classify_free(&c);
	pkt_decoder_free(&d);
}

static void test_not_classifiable(void **state)
{
	struct ctx *x = *state;
	/* no IP header given, or a record without addresses: skipped, no class */
	struct flow_rec r;
	flow_rec_clear(&r);
	classify_packet(&x->c, NULL, 0, x->ts, &r);
	assert_false(FR_HAS(&r, FR_CLASS));
	assert_int_equal(x->c.st.skipped, 1);
	assert_int_equal(x->c.st.flows, 0);
}

static void test_keys(void **state)
{
	(void)state;
	/* pmacct's key names and defaults */
	static const char *const names[] = {
	    "classifier_num_roots",	   "classifier_max_flows",
	    "classifier_proto_guess",	   "classifier_giveup_proto_tcp",
	    "classifier_giveup_proto_udp", "classifier_giveup_proto_other",
	    "classifier_idle_scan_period",
	};
	assert_int_equal(classify_keys.nkeys, sizeof names / sizeof names[0]);
	for (size_t i = 0; i < classify_keys.nkeys; i++)
		assert_string_equal(classify_keys.keys[i].name, names[i]);
	struct conf c;
	memset(&c, 0, sizeof c);
	c.classifier_num_roots = 7;
	c.classifier_giveup_proto_tcp = 3;
	c.classifier_proto_guess = 1;
	struct classify_opts o;
	classify_opts_from_conf(&o, &c);
	assert_int_equal(o.num_roots, 7);
	assert_int_equal(o.giveup_tcp, 3);
	assert_int_equal(o.giveup_udp, 8);
	assert_int_equal(o.proto_guess, 1);
	assert_int_equal(o.max_flows, 200000000);
	assert_int_equal(o.idle_scan_period, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_http, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dns, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dns_ipv6, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_giveup_and_guess, setup, teardown),
	    cmocka_unit_test(test_bounded_and_idle),
	    cmocka_unit_test_setup_teardown(test_not_classifiable, setup, teardown),
	    cmocka_unit_test(test_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
