/*
 * Unit tests for proto/decap.c: hand-built frames of every link type, VLAN
 * and MPLS, IPv4 options and IPv6 extension headers, truncation at every
 * length, and IPv4/IPv6 fragment reassembly with its bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "proto/decap.h"

/* ---- frame builder -------------------------------------------------------- */

struct fb {
	uint8_t b[70000];
	size_t n;
};

static void put8(struct fb *f, uint8_t v)
{
	f->b[f->n++] = v;
}
static void put16(struct fb *f, uint16_t v)
{
	put8(f, (uint8_t)(v >> 8));
	put8(f, (uint8_t)v);
}
static void put32(struct fb *f, uint32_t v)
{
	put16(f, (uint16_t)(v >> 16));
	put16(f, (uint16_t)v);
}
static void putb(struct fb *f, const void *p, size_t n)
{
	memcpy(f->b + f->n, p, n);
	f->n += n;
}
static void patch16(struct fb *f, size_t off, uint16_t v)
{
	f->b[off] = (uint8_t)(v >> 8);
	f->b[off + 1] = (uint8_t)v;
}

static const uint8_t SRC4[4] = {192, 0, 2, 1}, DST4[4] = {198, 51, 100, 2};
static uint8_t SRC6[16], DST6[16];

static void eth(struct fb *f, uint16_t type)
{
	static const uint8_t mac[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
	putb(f, mac, 12);
	put16(f, type);
}

/* IPv4 header; total length patched by ip4_end(). Returns the header offset. */
static size_t ip4(struct fb *f, uint8_t proto, uint16_t id, uint16_t offflags, int optwords)
{
	size_t at = f->n;
	put8(f, (uint8_t)(0x40 | (5 + optwords)));
	put8(f, 0);
	put16(f, 0);
	put16(f, id);
	put16(f, offflags);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	putb(f, SRC4, 4);
	putb(f, DST4, 4);
	for (int i = 0; i < optwords; i++)
		put32(f, 0x01010101); /* NOPs */
	return at;
}
static void ip4_end(struct fb *f, size_t at)
{
	patch16(f, at + 2, (uint16_t)(f->n - at));
}

static size_t ip6(struct fb *f, uint8_t nh)
{
	size_t at = f->n;
	put32(f, 0x60000000);
	put16(f, 0);
	put8(f, nh);
	put8(f, 64);
	putb(f, SRC6, 16);
	putb(f, DST6, 16);
	return at;
}
static void ip6_end(struct fb *f, size_t at)
{
	patch16(f, at + 4, (uint16_t)(f->n - at - 40));
}

static const char PAYLOAD[] = "IPFIX-ish payload bytes";
#define PLEN (sizeof PAYLOAD - 1)

static void udp(struct fb *f, const void *pl, size_t len)
{
	put16(f, 50000);
	put16(f, 9991);
	put16(f, (uint16_t)(8 + len));
	put16(f, 0);
	putb(f, pl, len);
}

/* Ethernet / IPv4 / UDP(PAYLOAD) */
static void eth_ip4_udp(struct fb *f)
{
	f->n = 0;
	eth(f, 0x0800);
	size_t at = ip4(f, 17, 1, 0, 0);
	udp(f, PAYLOAD, PLEN);
	ip4_end(f, at);
}

/* ---- checks ----------------------------------------------------------------- */

static struct decap D;

static int setup(void **state)
{
	(void)state;
	inet_pton(AF_INET6, "2001:db8::1", SRC6);
	inet_pton(AF_INET6, "2001:db8::2", DST6);
	return decap_init(&D, DECAP_LINK_ETHERNET, NULL);
}
static int teardown(void **state)
{
	(void)state;
	decap_free(&D);
	return 0;
}

static void relink(enum decap_link l, const struct decap_limits *lim)
{
	decap_free(&D);
	assert_int_equal(decap_init(&D, l, lim), 0);
}

static void expect_udp(const struct fb *f, int family, const void *pl, size_t len)
{
	struct decap_udp u;
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, &u), DECAP_DATAGRAM);
	assert_int_equal(u.len, len);
	assert_memory_equal(u.payload, pl, len);
	assert_int_equal(u.sport, 50000);
	assert_int_equal(u.dport, 9991);
	assert_int_equal(u.src.family, family);
	assert_int_equal(u.dst.family, family);
	if (family == 4) {
		assert_memory_equal(u.src.a, SRC4, 4);
		assert_memory_equal(u.dst.a, DST4, 4);
	} else {
		assert_memory_equal(u.src.a, SRC6, 16);
		assert_memory_equal(u.dst.a, DST6, 16);
	}
}

/* ---- link types ------------------------------------------------------------- */

static void test_ethernet_ipv4(void **state)
{
	(void)state;
	struct fb *f = calloc(1, sizeof *f);
	eth_ip4_udp(f);
	expect_udp(f, 4, PAYLOAD, PLEN);
	/* padded to the 60-byte Ethernet minimum: the IP and UDP lengths rule */
	while (f->n < 60)
		put8(f, 0xee);
	expect_udp(f, 4, PAYLOAD, PLEN);
	/* IPv4 options are skipped */
	f->n = 0;
	eth(f, 0x0800);
	size_t at = ip4(f, 17, 1, 0, 3);
	udp(f, PAYLOAD, PLEN);
	ip4_end(f, at);
	expect_udp(f, 4, PAYLOAD, PLEN);
	assert_int_equal(D.st.n[DECAP_DATAGRAM], 3);
	assert_int_equal(D.st.frames, 3);
	free(f);
}

static void test_vlan_qinq_mpls(void **state)
{
	(void)state;
	struct fb *f = calloc(1, sizeof *f);
	static const uint16_t outer[] = {0x8100, 0x88a8, 0x9100};
	for (int i = 0; i < 3; i++) {
		f->n = 0;
		eth(f, outer[i]);
		put16(f, 100);
		put16(f, 0x8100); /* inner tag */
		put16(f, 200);
		put16(f, 0x0800);
		size_t at = ip4(f, 17, 1, 0, 0);
		udp(f, PAYLOAD, PLEN);
		ip4_end(f, at);
		expect_udp(f, 4, PAYLOAD, PLEN);
	}
	/* two MPLS labels, then IPv6 */
	f->n = 0;
	eth(f, 0x8847);
	put32(f, 1000u << 12);
	put32(f, 2000u << 12 | 0x100);
	size_t at = ip6(f, 17);
	udp(f, PAYLOAD, PLEN);
	ip6_end(f, at);
	expect_udp(f, 6, PAYLOAD, PLEN);
	/* endless tags are a bad header, not a loop */
	f->n = 0;
	eth(f, 0x8100);
	for (int i = 0; i < 20; i++) {
		put16(f, 1);
		put16(f, 0x8100);
	}
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_BAD_HEADER);
	free(f);
}

static void test_sll_sll2(void **state)
{
	(void)state;
	struct fb *f = calloc(1, sizeof *f);
	relink(DECAP_LINK_SLL, NULL);
	put16(f, 0); /* packet type: to us */
	put16(f, 1); /* ARPHRD_ETHER */
	put16(f, 6); /* address length */
	put32(f, 0x02000000);
	put32(f, 0x00010000);
	put16(f, 0x86dd);
	size_t at = ip6(f, 17);
	udp(f, PAYLOAD, PLEN);
	ip6_end(f, at);
	expect_udp(f, 6, PAYLOAD, PLEN);

	relink(DECAP_LINK_SLL2, NULL);
	f->n = 0;
	put16(f, 0x0800);
	put16(f, 0);
	put32(f, 3); /* ifindex */
	put16(f, 1);
	put8(f, 0);
	put8(f, 6);
	put32(f, 0x02000000);
	put32(f, 0x00010000);
	at = ip4(f, 17, 1, 0, 0);
	udp(f, PAYLOAD, PLEN);
	ip4_end(f, at);
	expect_udp(f, 4, PAYLOAD, PLEN);
	free(f);
}

static void test_raw_ipv4_ipv6(void **state)
{
	(void)state;
	struct fb *f = calloc(1, sizeof *f);
	relink(DECAP_LINK_RAW, NULL);
	size_t at = ip4(f, 17, 1, 0, 0);
	udp(f, PAYLOAD, PLEN);
	ip4_end(f, at);
	expect_udp(f, 4, PAYLOAD, PLEN);
	relink(DECAP_LINK_IPV4, NULL);
	expect_udp(f, 4, PAYLOAD, PLEN);
	relink(DECAP_LINK_IPV6, NULL);
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_BAD_HEADER);

	f->n = 0;
	at = ip6(f, 17);
	udp(f, PAYLOAD, PLEN);
	ip6_end(f, at);
	expect_udp(f, 6, PAYLOAD, PLEN);
	relink(DECAP_LINK_RAW, NULL);
	expect_udp(f, 6, PAYLOAD, PLEN);
	f->b[0] = 0x50; /* neither version */
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_NOT_IP);
	free(f);
}

static void test_null_and_loop(void **state)
{
	(void)state;
	struct fb *f = calloc(1, sizeof *f);
	/* DLT_NULL: the capturing host's byte order; IPv6 family differs by OS */
	static const uint32_t fams[] = {2, 24, 28, 30, 10};
	for (int order = 0; order < 2; order++) {
		for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++) {
			relink(DECAP_LINK_NULL, NULL);
			f->n = 0;
			uint32_t af = fams[i];
			if (order)
				put32(f, af);
			else
				for (int k = 0; k < 4; k++)
					put8(f, (uint8_t)(af >> (8 * k)));
			size_t at = af == 2 ? ip4(f, 17, 1, 0, 0) : ip6(f, 17);
			udp(f, PAYLOAD, PLEN);
			if (af == 2)
				ip4_end(f, at);
			else
				ip6_end(f, at);
			expect_udp(f, af == 2 ? 4 : 6, PAYLOAD, PLEN);
			if (order) {
				/* DLT_LOOP: network order always */
				relink(DECAP_LINK_LOOP, NULL);
				expect_udp(f, af == 2 ? 4 : 6, PAYLOAD, PLEN);
			}
		}
	}
	relink(DECAP_LINK_NULL, NULL);
	f->n = 0;
	put32(f, 7); /* some other family */
	put32(f, 0);
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_NOT_IP);
	assert_int_equal(decap_init(&D, (enum decap_link)99, NULL), -1);
	free(f);
}

/* ---- IPv6 extension headers ---------------------------------------------------- */

static void test_ipv6_extension_headers(void **state)
{
	(void)state;
	struct fb *f = calloc(1, sizeof *f);
	eth(f, 0x86dd);
	size_t at = ip6(f, 0); /* hop-by-hop */
	put8(f, 43);	       /* next: routing */
	put8(f, 0);	       /* 8 bytes */
	put32(f, 0x01040000);  /* PadN */
	put16(f, 0);
	put8(f, 60); /* routing -> destination options */
	put8(f, 2);  /* 24 bytes */
	for (int i = 0; i < 22; i++)
		put8(f, 0);
	put8(f, 51); /* destination options -> AH */
	put8(f, 0);
	for (int i = 0; i < 6; i++)
		put8(f, 0);
	put8(f, 17); /* AH -> UDP */
	put8(f, 4);  /* (4 + 2) * 4 = 24 bytes */
	for (int i = 0; i < 22; i++)
		put8(f, 0);
	udp(f, PAYLOAD, PLEN);
	ip6_end(f, at);
	expect_udp(f, 6, PAYLOAD, PLEN);

	/* no next header, and TCP behind an extension header: not UDP */
	f->n = 0;
	eth(f, 0x86dd);
	at = ip6(f, 60);
	put8(f, 59);
	put8(f, 0);
	for (int i = 0; i < 6; i++)
		put8(f, 0);
	ip6_end(f, at);
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_NOT_UDP);
	f->b[14 + 40] = 6;
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_NOT_UDP);
	/* an extension header running past the payload length */
	f->b[14 + 41] = 10;
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_TRUNCATED);
	free(f);
}

/* ---- skipped frames ---------------------------------------------------------------- */

static void test_not_ip_not_udp_bad_headers(void **state)
{
	(void)state;
	struct fb *f = calloc(1, sizeof *f);
	f->n = 0;
	eth(f, 0x0806); /* ARP */
	for (int i = 0; i < 28; i++)
		put8(f, 0);
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_NOT_IP);
	f->n = 0;
	eth(f, 60); /* 802.3 length field (LLC) */
	for (int i = 0; i < 46; i++)
		put8(f, 0);
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_NOT_IP);

	f->n = 0;
	eth(f, 0x0800);
	size_t at = ip4(f, 6, 1, 0, 0); /* TCP */
	for (int i = 0; i < 20; i++)
		put8(f, 0);
	ip4_end(f, at);
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_NOT_UDP);

	eth_ip4_udp(f);
	f->b[14] = 0x44; /* IHL 4 */
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_BAD_HEADER);
	eth_ip4_udp(f);
	f->b[14] = 0x65; /* version 6 behind ethertype IPv4 */
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_BAD_HEADER);
	eth_ip4_udp(f);
	patch16(f, 16, 10); /* IP total length below its header */
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_BAD_HEADER);
	eth_ip4_udp(f);
	patch16(f, 14 + 20 + 4, (uint16_t)(8 + PLEN + 1)); /* UDP longer than IP */
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_BAD_HEADER);
	eth_ip4_udp(f);
	patch16(f, 14 + 20 + 4, 7); /* UDP shorter than its header */
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_BAD_HEADER);
	eth_ip4_udp(f);
	patch16(f, 14 + 20 + 4, 8 + 5); /* shorter UDP length: the rest is padding */
	struct decap_udp u;
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, &u), DECAP_DATAGRAM);
	assert_int_equal(u.len, 5);

	assert_int_equal(D.st.n[DECAP_NOT_IP], 2);
	assert_int_equal(D.st.n[DECAP_NOT_UDP], 1);
	assert_int_equal(D.st.n[DECAP_BAD_HEADER], 5);
	assert_int_equal(D.st.n[DECAP_DATAGRAM], 1);
	assert_int_equal(D.st.frames, 9);
	free(f);
}

/* Every strict prefix of a valid frame is truncated, whatever the link layer. */
static void truncate_all(enum decap_link l, struct fb *f)
{
	relink(l, NULL);
	for (size_t n = 0; n < f->n; n++) {
		uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan catches an overread */
		memcpy(copy, f->b, n);
		assert_int_equal(decap_frame(&D, copy, n, 1, NULL), DECAP_TRUNCATED);
		free(copy);
	}
	assert_int_equal(D.st.n[DECAP_TRUNCATED], f->n);
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_DATAGRAM);
}

static void test_truncated_everywhere(void **state)
{
	(void)state;
	struct fb *f = calloc(1, sizeof *f);
	eth(f, 0x8100);
	put16(f, 5);
	put16(f, 0x86dd);
	size_t at = ip6(f, 60);
	put8(f, 17);
	put8(f, 0);
	for (int i = 0; i < 6; i++)
		put8(f, 0);
	udp(f, PAYLOAD, PLEN);
	ip6_end(f, at);
	truncate_all(DECAP_LINK_ETHERNET, f);

	f->n = 0;
	put16(f, 0x0800); /* SLL2: protocol first, then 18 bytes */
	put16(f, 0);
	put32(f, 3);
	put16(f, 1);
	put8(f, 0);
	put8(f, 6);
	put32(f, 0);
	put32(f, 0);
	at = ip4(f, 17, 9, 0, 2);
	udp(f, PAYLOAD, PLEN);
	ip4_end(f, at);
	truncate_all(DECAP_LINK_SLL2, f);
	free(f);
}

/* ---- fragments ---------------------------------------------------------------------- */

/* The IP payload (UDP header + data) every fragment test cuts up. */
static uint8_t BIG[4100]; /* slack: some tests cut past the datagram's end */
#define BIGLEN ((size_t)4000)

static void big_init(void)
{
	BIG[0] = 50000 >> 8;
	BIG[1] = 50000 & 0xff;
	BIG[2] = 9991 >> 8;
	BIG[3] = 9991 & 0xff;
	BIG[4] = (uint8_t)(BIGLEN >> 8);
	BIG[5] = (uint8_t)BIGLEN;
	BIG[6] = BIG[7] = 0;
	for (size_t i = 8; i < BIGLEN; i++)
		BIG[i] = (uint8_t)(i * 7 + 3);
}

/* Ethernet/IPv4 fragment of BIG[off, off + len), id, more-fragments flag. */
static void frag4(struct fb *f, uint16_t id, size_t off, size_t len, int more)
{
	f->n = 0;
	eth(f, 0x0800);
	size_t at = ip4(f, 17, id, (uint16_t)((more ? 0x2000 : 0) | off / 8), 0);
	putb(f, BIG + off, len);
	ip4_end(f, at);
}

static enum decap_reason feed4(uint16_t id, size_t off, size_t len, int more, nt_usec ts,
			       struct decap_udp *u)
{
	static struct fb f;
	frag4(&f, id, off, len, more);
	return decap_frame(&D, f.b, f.n, ts, u);
}

static void expect_big(const struct decap_udp *u)
{
	assert_int_equal(u->len, BIGLEN - 8);
	assert_memory_equal(u->payload, BIG + 8, BIGLEN - 8);
	assert_int_equal(u->sport, 50000);
	assert_int_equal(u->dport, 9991);
	assert_memory_equal(u->src.a, SRC4, 4);
}

static void test_fragments_in_order(void **state)
{
	(void)state;
	struct decap_udp u;
	big_init();
	assert_int_equal(feed4(7, 0, 1480, 1, 1, &u), DECAP_FRAGMENT);
	assert_int_equal(feed4(7, 1480, 1480, 1, 2, &u), DECAP_FRAGMENT);
	assert_int_equal(feed4(7, 2960, BIGLEN - 2960, 0, 3, &u), DECAP_DATAGRAM);
	expect_big(&u);
	assert_int_equal(D.nfrags, 0);
	assert_int_equal(D.frag_bytes, 0);
	assert_int_equal(D.st.n[DECAP_FRAGMENT], 2);
	assert_int_equal(D.st.n[DECAP_DATAGRAM], 1);
}

static void test_fragments_out_of_order_and_duplicates(void **state)
{
	(void)state;
	struct decap_udp u;
	big_init();
	/* last first, then a duplicate of it, interleaved with another datagram */
	assert_int_equal(feed4(8, 2960, BIGLEN - 2960, 0, 1, &u), DECAP_FRAGMENT);
	assert_int_equal(feed4(9, 0, 1480, 1, 1, &u), DECAP_FRAGMENT);
	assert_int_equal(feed4(8, 2960, BIGLEN - 2960, 0, 1, &u), DECAP_FRAGMENT);
	assert_int_equal(feed4(8, 1480, 1480, 1, 1, &u), DECAP_FRAGMENT);
	assert_int_equal(feed4(8, 0, 1480, 1, 1, &u), DECAP_DATAGRAM);
	expect_big(&u);
	assert_int_equal(D.nfrags, 1); /* id 9 still waiting */
	/* an identical overlap (same bytes, other cut) is a retransmission: accepted */
	assert_int_equal(feed4(9, 1000, 1480, 1, 2, &u), DECAP_FRAGMENT);
	assert_int_equal(feed4(9, 2480, BIGLEN - 2480, 0, 2, &u), DECAP_DATAGRAM);
	expect_big(&u);
	assert_int_equal(D.nfrags, 0);
}

static void test_fragments_overlapping_differ(void **state)
{
	(void)state;
	struct fb *f = calloc(1, sizeof *f);
	big_init();
	assert_int_equal(feed4(3, 0, 1480, 1, 1, NULL), DECAP_FRAGMENT);
	frag4(f, 3, 1000, 1480, 1);
	f->b[f->n - 1] ^= 0xff;	     /* beyond the first fragment: fine */
	f->b[14 + 20 + 100] ^= 0xff; /* offset 1100: rewrites held bytes */
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_FRAG_OVERLAP);
	assert_int_equal(D.nfrags, 0);
	/* the rest of that datagram starts a new, never completed one */
	assert_int_equal(feed4(3, 2960, BIGLEN - 2960, 0, 1, NULL), DECAP_FRAGMENT);
	assert_int_equal(D.st.n[DECAP_FRAG_OVERLAP], 1);
	/* last fragments that disagree on the length, data past the end */
	assert_int_equal(feed4(3, 2000, 8, 0, 1, NULL), DECAP_FRAG_TOO_BIG);
	assert_int_equal(feed4(4, 2960, BIGLEN - 2960, 0, 1, NULL), DECAP_FRAGMENT);
	assert_int_equal(feed4(4, 4000, 8, 1, 1, NULL), DECAP_FRAG_TOO_BIG);
	/* a fragment reaching past 65535 bytes */
	static struct fb g;
	g.n = 0;
	eth(&g, 0x0800);
	size_t at = ip4(&g, 17, 5, 0x1fff, 0); /* offset 65528 */
	for (int i = 0; i < 16; i++)
		put8(&g, 0);
	ip4_end(&g, at);
	assert_int_equal(decap_frame(&D, g.b, g.n, 1, NULL), DECAP_FRAG_TOO_BIG);
	/* a middle fragment that is not a multiple of 8 */
	assert_int_equal(feed4(6, 0, 1001, 1, 1, NULL), DECAP_BAD_HEADER);
	assert_int_equal(D.st.n[DECAP_FRAG_TOO_BIG], 3);
	free(f);
}

static void test_fragments_bounded(void **state)
{
	(void)state;
	struct decap_udp u;
	big_init();
	struct decap_limits lim = {.max_datagrams = 2, .max_bytes = 16384, .timeout = 5000000};
	relink(DECAP_LINK_ETHERNET, &lim);
	/* a third incomplete datagram evicts the oldest */
	assert_int_equal(feed4(1, 0, 1480, 1, 1000000, NULL), DECAP_FRAGMENT);
	assert_int_equal(feed4(2, 0, 1480, 1, 1000000, NULL), DECAP_FRAGMENT);
	assert_int_equal(feed4(3, 0, 1480, 1, 1000000, NULL), DECAP_FRAGMENT);
	assert_int_equal(D.nfrags, 2);
	assert_int_equal(D.st.n[DECAP_FRAG_EVICTED], 1);
	assert_int_equal(feed4(2, 1480, BIGLEN - 1480, 0, 1000000, &u), DECAP_DATAGRAM);
	expect_big(&u);
	assert_int_equal(feed4(3, 1480, BIGLEN - 1480, 0, 1000000, &u), DECAP_DATAGRAM);
	expect_big(&u);
	/* id 1 lost its first part: its last one waits alone */
	assert_int_equal(feed4(1, 1480, BIGLEN - 1480, 0, 1000000, NULL), DECAP_FRAGMENT);
	assert_int_equal(D.nfrags, 1);

	/* capture time, not wall time: 5 s after its first fragment it expires */
	assert_int_equal(feed4(9, 0, 8, 1, 6000000, NULL), DECAP_FRAGMENT);
	assert_int_equal(D.st.n[DECAP_FRAG_TIMEOUT], 0);
	assert_int_equal(feed4(9, 8, 8, 1, 6000001, NULL), DECAP_FRAGMENT);
	assert_int_equal(D.st.n[DECAP_FRAG_TIMEOUT], 1);
	assert_int_equal(D.nfrags, 1);
	/* timestamps going back (a merged capture) expire nothing */
	assert_int_equal(feed4(10, 0, 8, 1, 10, NULL), DECAP_FRAGMENT);
	assert_int_equal(D.nfrags, 2);

	/* the byte budget: 16 KiB cannot hold two 16 KB datagrams */
	lim.max_datagrams = 8;
	relink(DECAP_LINK_ETHERNET, &lim);
	static uint8_t zeros[16000];
	static struct fb g;
	for (uint16_t id = 20; id < 22; id++) {
		g.n = 0;
		eth(&g, 0x0800);
		size_t at = ip4(&g, 17, id, 0x2000 | (8000 / 8), 0);
		putb(&g, zeros, 8000);
		ip4_end(&g, at);
		assert_int_equal(decap_frame(&D, g.b, g.n, 1, NULL), DECAP_FRAGMENT);
		assert_true(D.frag_bytes <= lim.max_bytes);
	}
	assert_int_equal(D.nfrags, 1);
	assert_int_equal(D.st.n[DECAP_FRAG_EVICTED], 1);
	/* flushing (rewind) drops what is left, counted */
	decap_flush(&D);
	assert_int_equal(D.nfrags, 0);
	assert_int_equal(D.frag_bytes, 0);
	assert_int_equal(D.st.n[DECAP_FRAG_EVICTED], 2);
	/* one datagram larger than the whole budget */
	g.n = 0;
	eth(&g, 0x0800);
	size_t at = ip4(&g, 17, 30, 0x2000 | (16000 / 8), 0);
	putb(&g, zeros, 4000);
	ip4_end(&g, at);
	assert_int_equal(decap_frame(&D, g.b, g.n, 1, NULL), DECAP_FRAG_EVICTED);
	assert_int_equal(D.st.n[DECAP_FRAG_EVICTED], 3);
	assert_int_equal(D.nfrags, 0);
	assert_int_equal(D.frag_bytes, 0);
}

static void test_fragments_non_udp_and_ipv6(void **state)
{
	(void)state;
	struct fb *f = calloc(1, sizeof *f);
	struct decap_udp u;
	big_init();
	/* a TCP fragment is not held */
	f->n = 0;
	eth(f, 0x0800);
	size_t at = ip4(f, 6, 1, 0x2000, 0);
	putb(f, BIG, 1480);
	ip4_end(f, at);
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, NULL), DECAP_NOT_UDP);
	assert_int_equal(D.nfrags, 0);

	/* IPv6: destination options before the fragment header, UDP after it */
	for (int part = 0; part < 2; part++) {
		f->n = 0;
		eth(f, 0x86dd);
		at = ip6(f, 60);
		put8(f, 44);
		put8(f, 0);
		for (int i = 0; i < 6; i++)
			put8(f, 0);
		put8(f, 17); /* fragment header: next UDP */
		put8(f, 0);
		size_t off = part ? 1480 : 0, len = part ? BIGLEN - 1480 : 1480;
		put16(f, (uint16_t)(off | (part ? 0 : 1)));
		put32(f, 0xabcdef01);
		putb(f, BIG + off, len);
		ip6_end(f, at);
		/* second fragment first */
		if (!part)
			continue;
		assert_int_equal(decap_frame(&D, f->b, f->n, 1, &u), DECAP_FRAGMENT);
	}
	f->n = 0;
	eth(f, 0x86dd);
	at = ip6(f, 44);
	put8(f, 17);
	put8(f, 0);
	put16(f, 1);
	put32(f, 0xabcdef01);
	putb(f, BIG, 1480);
	ip6_end(f, at);
	assert_int_equal(decap_frame(&D, f->b, f->n, 1, &u), DECAP_DATAGRAM);
	assert_int_equal(u.len, BIGLEN - 8);
	assert_memory_equal(u.payload, BIG + 8, BIGLEN - 8);
	assert_int_equal(u.src.family, 6);
	assert_memory_equal(u.src.a, SRC6, 16);

	/* an atomic fragment (offset 0, no more) is a whole datagram */
	f->n = 0;
	eth(f, 0x86dd);
	at = ip6(f, 44);
	put8(f, 17);
	put8(f, 0);
	put16(f, 0);
	put32(f, 5);
	udp(f, PAYLOAD, PLEN);
	ip6_end(f, at);
	expect_udp(f, 6, PAYLOAD, PLEN);
	assert_int_equal(D.nfrags, 0);
	free(f);
}

static void test_reason_names(void **state)
{
	(void)state;
	for (int i = 0; i < DECAP__COUNT; i++) {
		const char *n = decap_reason_name((enum decap_reason)i);
		assert_non_null(n);
		assert_string_not_equal(n, "unknown");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n, decap_reason_name((enum decap_reason)j));
	}
	assert_string_equal(decap_reason_name(DECAP__COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ethernet_ipv4, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vlan_qinq_mpls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sll_sll2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_raw_ipv4_ipv6, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_null_and_loop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ipv6_extension_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_ip_not_udp_bad_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_everywhere, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fragments_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fragments_out_of_order_and_duplicates, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_fragments_overlapping_differ, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fragments_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fragments_non_udp_and_ipv6, setup, teardown),
	    cmocka_unit_test(test_reason_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
