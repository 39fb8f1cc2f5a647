/*
 * Unit tests for proto/packet.c: hand-built frames of every link type,
 * 802.1Q/QinQ, MPLS, IPv4 options, IPv6 extension headers, TCP, UDP, ICMP,
 * GRE and VXLAN tunnels, the first-fragment table, truncation at every
 * byte and inconsistent lengths.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "proto/packet.h"

/* ---- frame builder -------------------------------------------------------- */

struct fb {
	uint8_t b[4096];
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

static const uint8_t DMAC[6] = {2, 0, 0, 0, 0, 2}, SMAC[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t SRC4[4] = {192, 0, 2, 1}, DST4[4] = {198, 51, 100, 2};
static const uint8_t ISRC4[4] = {10, 0, 0, 1}, IDST4[4] = {10, 0, 0, 2};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

static void eth(struct fb *f, uint16_t type)
{
	putb(f, DMAC, 6);
	putb(f, SMAC, 6);
	put16(f, type);
}

/* IPv4 header (total length patched by ip_end4). Returns its offset. */
static size_t ip4(struct fb *f, const uint8_t *s, const uint8_t *d, uint8_t proto, uint8_t tos,
		  uint16_t offflags, int optwords)
{
	size_t at = f->n;
	put8(f, (uint8_t)(0x40 | (5 + optwords)));
	put8(f, tos);
	put16(f, 0);
	put16(f, 0x1234);
	put16(f, offflags);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	putb(f, s, 4);
	putb(f, d, 4);
	for (int i = 0; i < optwords; i++)
		put32(f, 0x01010101);
	return at;
}
static void ip4_end(struct fb *f, size_t at)
{
	patch16(f, at + 2, (uint16_t)(f->n - at));
}

static size_t ip6(struct fb *f, uint8_t nh, uint8_t tclass, uint32_t label)
{
	size_t at = f->n;
	put32(f, 0x60000000u | (uint32_t)tclass << 20 | label);
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

static void tcp(struct fb *f, uint16_t sp, uint16_t dp, uint8_t flags)
{
	put16(f, sp);
	put16(f, dp);
	put32(f, 1);
	put32(f, 0);
	put8(f, 0x50);
	put8(f, flags);
	put16(f, 1024);
	put32(f, 0);
}

static void udp(struct fb *f, uint16_t sp, uint16_t dp, size_t plen)
{
	put16(f, sp);
	put16(f, dp);
	put16(f, (uint16_t)(8 + plen));
	put16(f, 0);
	for (size_t i = 0; i < plen; i++)
		put8(f, (uint8_t)i);
}

/* ---- fixtures -------------------------------------------------------------- */

static struct pkt_decoder D;
static struct flow_rec R;

static int setup(void **state)
{
	(void)state;
	return pkt_decoder_init(&D, 0);
}
static int teardown(void **state)
{
	(void)state;
	pkt_decoder_free(&D);
	return 0;
}

static enum pkt_reason dec(enum decap_link link, const struct fb *f, size_t caplen)
{
	/* an exact-size copy: ASan sees any read past the capture */
	uint8_t *copy = malloc(caplen ? caplen : 1);
	assert_non_null(copy);
	memcpy(copy, f->b, caplen);
	memset(&R, 0, sizeof R);
	flow_rec_clear(&R);
	enum pkt_reason why = pkt_decode(&D, link, copy, caplen, f->n + 4, 7, &R);
	if (why == PKT_OK) {
		assert_non_null(D.l3);
		/* l3 points into the frame */
		assert_true(D.l3 >= copy && D.l3 + D.l3_len <= copy + caplen);
	}
	free(copy);
	D.l3 = NULL;
	return why;
}

static void assert_addr4(const struct nt_addr *a, const uint8_t *want)
{
	assert_int_equal(a->family, 4);
	assert_memory_equal(a->a, want, 4);
}

/* ---- Ethernet, VLAN, MPLS, IPv4, TCP ------------------------------------------ */

static void test_ethernet_ipv4_tcp(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x0800);
	size_t at = ip4(&f, SRC4, DST4, 6, 0xb8, 0x4000, 2);
	tcp(&f, 40000, 443, 0x12);
	putb(&f, "hello", 5);
	ip4_end(&f, at);
	put32(&f, 0); /* Ethernet padding: not IP bytes */
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_memory_equal(R.src_mac, SMAC, 6);
	assert_memory_equal(R.dst_mac, DMAC, 6);
	assert_true(FR_HAS(&R, FR_SRC_MAC) && FR_HAS(&R, FR_DST_MAC));
	assert_int_equal(R.etype, 0x0800);
	assert_true(FR_HAS(&R, FR_ETYPE));
	assert_false(FR_HAS(&R, FR_VLAN_IN));
	assert_false(FR_HAS(&R, FR_COS));
	assert_addr4(&R.src_addr, SRC4);
	assert_addr4(&R.dst_addr, DST4);
	assert_int_equal(R.proto, 6);
	assert_int_equal(R.tos, 0xb8);
	assert_int_equal(R.src_port, 40000);
	assert_int_equal(R.dst_port, 443);
	assert_int_equal(R.tcp_flags, 0x12);
	assert_true(FR_HAS(&R, FR_TCP_FLAGS));
	assert_int_equal(R.packets, 1);
	assert_int_equal(R.bytes, 20 + 8 + 20 + 5); /* the IP length, not the frame's */
	assert_false(FR_HAS(&R, FR_TUNNEL_ADDR));
	assert_int_equal(D.n[PKT_OK], 1);
}

static void test_vlan_qinq_cos(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x8100);
	put16(&f, (uint16_t)(3 << 13 | 42)); /* PCP 3, VID 42 */
	put16(&f, 0x0800);
	size_t at = ip4(&f, SRC4, DST4, 17, 0, 0, 0);
	udp(&f, 1, 2, 4);
	ip4_end(&f, at);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_int_equal(R.vlan_in, 42);
	assert_int_equal(R.cos, 3);
	assert_true(FR_HAS(&R, FR_VLAN_IN) && FR_HAS(&R, FR_COS));
	assert_int_equal(R.etype, 0x0800);

	/* 802.1ad: the outer (service) tag is vlan and cos, as pmacctd's first tag */
	f.n = 0;
	eth(&f, 0x88a8);
	put16(&f, (uint16_t)(5 << 13 | 1 << 12 | 100));
	put16(&f, 0x8100);
	put16(&f, (uint16_t)(1 << 13 | 200));
	put16(&f, 0x86dd);
	at = ip6(&f, 17, 0, 0);
	udp(&f, 53, 5353, 0);
	ip6_end(&f, at);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_int_equal(R.vlan_in, 100);
	assert_int_equal(R.cos, 5);
	assert_int_equal(R.etype, 0x86dd);
	assert_int_equal(R.src_port, 53);
	assert_int_equal(R.bytes, 48);

	/* more tags than any network stacks: a bad header */
	f.n = 0;
	eth(&f, 0x8100);
	for (int i = 0; i < PKT_MAX_VLAN_TAGS + 1; i++) {
		put16(&f, 1);
		put16(&f, 0x8100);
	}
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_BAD_HEADER);
}

static void test_mpls(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x8847);
	put32(&f, 1000u << 12 | 5u << 9 | 64);		 /* label 1000, TC 5 */
	put32(&f, 2000u << 12 | 0u << 9 | 1u << 8 | 63); /* label 2000, bottom */
	size_t at = ip4(&f, SRC4, DST4, 17, 0, 0, 0);
	udp(&f, 7, 9, 0);
	ip4_end(&f, at);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_true(FR_HAS(&R, FR_MPLS));
	assert_int_equal(R.mpls_depth, 2);
	assert_int_equal(R.mpls[0], 1000u << 4 | 5u << 1);
	assert_int_equal(R.mpls[1], 2000u << 4 | 1);
	assert_int_equal(R.etype, 0x0800); /* the network protocol, as pmacctd's etype */
	assert_addr4(&R.src_addr, SRC4);

	/* a stack that never ends */
	f.n = 0;
	eth(&f, 0x8847);
	for (int i = 0; i < PKT_MAX_MPLS + 1; i++)
		put32(&f, 16u << 12);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_BAD_HEADER);

	/* neither IPv4 nor IPv6 under the stack */
	f.n = 0;
	eth(&f, 0x8847);
	put32(&f, 16u << 12 | 1u << 8);
	put32(&f, 0);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_NOT_IP);
}

/* ---- IPv6 -------------------------------------------------------------------- */

static size_t v6_with_exts(struct fb *f, uint8_t last)
{
	size_t at = ip6(f, 0, 0x28, 0xabcde); /* hop-by-hop */
	put8(f, 43);			      /* -> routing */
	put8(f, 0);
	put32(f, 0x01040000);
	put16(f, 0);
	put8(f, 60); /* -> destination options */
	put8(f, 2);  /* 24 bytes */
	for (int i = 0; i < 22; i++)
		put8(f, 0);
	put8(f, 51); /* -> AH */
	put8(f, 0);
	for (int i = 0; i < 6; i++)
		put8(f, 0);
	put8(f, last); /* AH -> last */
	put8(f, 4);    /* (4 + 2) * 4 = 24 bytes */
	for (int i = 0; i < 22; i++)
		put8(f, 0);
	return at;
}

static void test_ipv6_extension_headers(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x86dd);
	size_t at = v6_with_exts(&f, 6);
	tcp(&f, 1234, 80, 0x02);
	ip6_end(&f, at);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_int_equal(R.src_addr.family, 6);
	assert_memory_equal(R.src_addr.a, SRC6, 16);
	assert_memory_equal(R.dst_addr.a, DST6, 16);
	assert_int_equal(R.proto, 6);
	assert_int_equal(R.tos, 0x28);
	assert_int_equal(R.flow_label, 0xabcde);
	assert_true(FR_HAS(&R, FR_FLOW_LABEL));
	assert_int_equal(R.src_port, 1234);
	assert_int_equal(R.dst_port, 80);
	assert_int_equal(R.tcp_flags, 0x02);
	assert_int_equal(R.bytes, f.n - 14);

	/* an extension header running past the payload length */
	f.b[14 + 41] = 10;
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_BAD_HEADER);
	/* a payload length of 0 (jumbogram) */
	f.b[14 + 41] = 0;
	patch16(&f, 14 + 4, 0);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_BAD_HEADER);
	/* no next header: no transport, still a record */
	f.n = 0;
	eth(&f, 0x86dd);
	at = ip6(&f, 59, 0, 0);
	put32(&f, 0);
	ip6_end(&f, at);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_int_equal(R.proto, 59);
	assert_false(FR_HAS(&R, FR_SRC_PORT));
}

static void test_icmp(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x0800);
	size_t at = ip4(&f, SRC4, DST4, 1, 0, 0, 0);
	put8(&f, 8); /* echo request */
	put8(&f, 0);
	put16(&f, 0);
	put32(&f, 0x00010002);
	ip4_end(&f, at);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	/* type/code kept, but not as pmacct's NetFlow-style dst_port: ports 0 as pmacctd */
	assert_int_equal(R.icmp_type_code, 0x0800);
	assert_false(FR_HAS(&R, FR_ICMP));
	assert_false(FR_HAS(&R, FR_SRC_PORT) || FR_HAS(&R, FR_DST_PORT));

	f.n = 0;
	eth(&f, 0x86dd);
	at = ip6(&f, 58, 0, 0);
	put8(&f, 1); /* destination unreachable, code 4 */
	put8(&f, 4);
	put16(&f, 0);
	put32(&f, 0);
	ip6_end(&f, at);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_int_equal(R.proto, 58);
	assert_int_equal(R.icmp_type_code, 0x0104);
}

/* ---- link types ---------------------------------------------------------------- */

static void ip4_udp(struct fb *f)
{
	size_t at = ip4(f, SRC4, DST4, 17, 0, 0, 0);
	udp(f, 5000, 6000, 10);
	ip4_end(f, at);
}

static void test_link_types(void **state)
{
	(void)state;
	struct fb f = {0};

	/* SLL: packet type, ARPHRD_ETHER, address length 6, address, protocol */
	put16(&f, 0);
	put16(&f, 1);
	put16(&f, 6);
	putb(&f, SMAC, 6);
	put16(&f, 0);
	put16(&f, 0x0800);
	ip4_udp(&f);
	assert_int_equal(dec(DECAP_LINK_SLL, &f, f.n), PKT_OK);
	assert_memory_equal(R.src_mac, SMAC, 6);
	assert_int_equal(R.dst_port, 6000);
	assert_int_equal(R.bytes, 38);

	/* SLL2: protocol, reserved, ifindex, ARPHRD, packet type, address length, address */
	f.n = 0;
	put16(&f, 0x8100);
	put16(&f, 0);
	put32(&f, 3);
	put16(&f, 1);
	put8(&f, 0);
	put8(&f, 6);
	putb(&f, SMAC, 6);
	put16(&f, 0);
	put16(&f, 7);
	put16(&f, 0x0800);
	ip4_udp(&f);
	assert_int_equal(dec(DECAP_LINK_SLL2, &f, f.n), PKT_OK);
	assert_memory_equal(R.src_mac, SMAC, 6);
	assert_int_equal(R.vlan_in, 7);
	assert_int_equal(R.src_port, 5000);

	f.n = 0;
	ip4_udp(&f);
	assert_int_equal(dec(DECAP_LINK_RAW, &f, f.n), PKT_OK);
	assert_false(FR_HAS(&R, FR_SRC_MAC));
	assert_int_equal(R.etype, 0x0800);
	assert_int_equal(dec(DECAP_LINK_IPV4, &f, f.n), PKT_OK);
	put32(&f, 0); /* padding, so that an IPv6 header would fit */
	assert_int_equal(dec(DECAP_LINK_IPV6, &f, f.n), PKT_BAD_HEADER);
	f.b[0] = 0x20;
	assert_int_equal(dec(DECAP_LINK_RAW, &f, f.n), PKT_NOT_IP);

	f.n = 0;
	size_t at = ip6(&f, 17, 0, 0);
	udp(&f, 1, 2, 0);
	ip6_end(&f, at);
	assert_int_equal(dec(DECAP_LINK_RAW, &f, f.n), PKT_OK);
	assert_int_equal(R.etype, 0x86dd);
	assert_int_equal(dec(DECAP_LINK_IPV6, &f, f.n), PKT_OK);

	/* null: family in the capturing host's order; loop: network order */
	static const uint32_t v6fam[] = {10, 24, 28, 30};
	for (int le = 0; le < 2; le++)
		for (int i = 0; i < 5; i++) {
			uint32_t fam = i < 4 ? v6fam[i] : 2;
			f.n = 0;
			if (le) {
				put8(&f, (uint8_t)fam);
				put8(&f, 0);
				put16(&f, 0);
			} else {
				put32(&f, fam);
			}
			if (i < 4) {
				at = ip6(&f, 17, 0, 0);
				udp(&f, 1, 2, 0);
				ip6_end(&f, at);
			} else {
				ip4_udp(&f);
			}
			assert_int_equal(dec(DECAP_LINK_NULL, &f, f.n), PKT_OK);
			assert_int_equal(R.src_addr.family, i < 4 ? 6 : 4);
			if (!le)
				assert_int_equal(dec(DECAP_LINK_LOOP, &f, f.n), PKT_OK);
		}
	f.n = 0;
	put32(&f, 7);
	ip4_udp(&f);
	assert_int_equal(dec(DECAP_LINK_LOOP, &f, f.n), PKT_NOT_IP);
}

static void test_not_ip(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x0806); /* ARP */
	for (int i = 0; i < 28; i++)
		put8(&f, 0);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, 20), PKT_NOT_IP);
	assert_int_equal(R.etype, 0x0806);
	assert_int_equal(R.packets, 1);
	assert_int_equal(R.bytes, f.n + 4); /* the wire length */
	assert_memory_equal(R.src_mac, SMAC, 6);
	assert_false(FR_HAS(&R, FR_SRC_ADDR));
	assert_int_equal(D.n[PKT_NOT_IP], 1);
	/* 802.3 length field + LLC: no ethertype */
	f.n = 0;
	eth(&f, 46);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_NOT_IP);
	assert_false(FR_HAS(&R, FR_ETYPE));
}

/* ---- tunnels ------------------------------------------------------------------- */

static void inner_ip4_tcp(struct fb *f)
{
	size_t at = ip4(f, ISRC4, IDST4, 6, 0x10, 0, 0);
	tcp(f, 33000, 22, 0x18);
	ip4_end(f, at);
}

static void test_gre(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x0800);
	size_t at = ip4(&f, SRC4, DST4, 47, 0, 0, 0);
	put16(&f, 0x2000); /* key present */
	put16(&f, 0x0800);
	put32(&f, 99);
	inner_ip4_tcp(&f);
	ip4_end(&f, at);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_int_equal(R.proto, 47);
	assert_addr4(&R.src_addr, SRC4);
	assert_false(FR_HAS(&R, FR_SRC_PORT));
	assert_true(FR_HAS(&R, FR_TUNNEL_ADDR));
	assert_addr4(&R.tunnel_src_addr, ISRC4);
	assert_addr4(&R.tunnel_dst_addr, IDST4);
	assert_int_equal(R.tunnel_proto, 6);
	assert_int_equal(R.tunnel_tos, 0x10);
	assert_true(FR_HAS(&R, FR_TUNNEL_PORTS));
	assert_int_equal(R.tunnel_src_port, 33000);
	assert_int_equal(R.tunnel_dst_port, 22);
	assert_false(FR_HAS(&R, FR_TUNNEL_MAC));
	assert_int_equal(R.bytes, f.n - 14);

	/* transparent Ethernet bridging: inner MACs too */
	f.n = 0;
	eth(&f, 0x0800);
	at = ip4(&f, SRC4, DST4, 47, 0, 0, 0);
	put16(&f, 0);
	put16(&f, 0x6558);
	putb(&f, SMAC, 6); /* inner dst */
	putb(&f, DMAC, 6); /* inner src */
	put16(&f, 0x0800);
	inner_ip4_tcp(&f);
	ip4_end(&f, at);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_true(FR_HAS(&R, FR_TUNNEL_MAC));
	assert_memory_equal(R.tunnel_dst_mac, SMAC, 6);
	assert_memory_equal(R.tunnel_src_mac, DMAC, 6);
	assert_int_equal(R.tunnel_dst_port, 22);

	/* GRE version 1 (PPTP): not followed */
	f.n = 0;
	eth(&f, 0x0800);
	at = ip4(&f, SRC4, DST4, 47, 0, 0, 0);
	put16(&f, 1);
	put16(&f, 0x0800);
	inner_ip4_tcp(&f);
	ip4_end(&f, at);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_false(FR_HAS(&R, FR_TUNNEL_ADDR));
}

/* Ethernet/IPv4/UDP 4789/VXLAN/Ethernet/IPv6/UDP: returns the inner UDP offset. */
static size_t vxlan_frame(struct fb *f)
{
	f->n = 0;
	eth(f, 0x0800);
	size_t at = ip4(f, SRC4, DST4, 17, 0, 0, 0);
	put16(f, 51000);
	put16(f, 4789);
	size_t ulen = f->n;
	put16(f, 0);
	put16(f, 0);
	put32(f, 0x08000000); /* I flag */
	put32(f, 0x00123400); /* VNI 0x1234 */
	putb(f, SMAC, 6);
	putb(f, DMAC, 6);
	put16(f, 0x86dd);
	size_t in6 = ip6(f, 17, 0x04, 0);
	size_t inner_udp = f->n;
	udp(f, 8080, 9090, 6);
	ip6_end(f, in6);
	patch16(f, ulen, (uint16_t)(f->n - ulen + 4));
	ip4_end(f, at);
	return inner_udp;
}

static void test_vxlan(void **state)
{
	(void)state;
	struct fb f;
	vxlan_frame(&f);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_int_equal(R.proto, 17);
	assert_int_equal(R.src_port, 51000);
	assert_int_equal(R.dst_port, 4789);
	assert_true(FR_HAS(&R, FR_TUNNEL_MAC));
	assert_memory_equal(R.tunnel_src_mac, DMAC, 6);
	assert_memory_equal(R.tunnel_dst_mac, SMAC, 6);
	assert_int_equal(R.tunnel_src_addr.family, 6);
	assert_memory_equal(R.tunnel_src_addr.a, SRC6, 16);
	assert_memory_equal(R.tunnel_dst_addr.a, DST6, 16);
	assert_int_equal(R.tunnel_proto, 17);
	assert_int_equal(R.tunnel_tos, 0x04);
	assert_int_equal(R.tunnel_src_port, 8080);
	assert_int_equal(R.tunnel_dst_port, 9090);
	assert_int_equal(R.bytes, f.n - 14);

	/* the I flag clear: not a VXLAN frame to look into */
	f.b[14 + 20 + 8] = 0;
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_false(FR_HAS(&R, FR_TUNNEL_MAC) || FR_HAS(&R, FR_TUNNEL_ADDR));
}

/* ---- truncation and bad lengths ------------------------------------------------ */

/*
 * Every capture length of a VXLAN frame: the outer headers are needed (cut
 * inside them: truncated), the rest is filled as far as it goes.
 */
static void test_truncated_everywhere(void **state)
{
	(void)state;
	struct fb f;
	size_t inner_udp = vxlan_frame(&f);
	const size_t l4 = 14 + 20, vx = l4 + 8, inner_ip = vx + 8 + 14;
	for (size_t n = 0; n <= f.n; n++) {
		enum pkt_reason why = dec(DECAP_LINK_ETHERNET, &f, n);
		if (n < l4) {
			assert_int_equal(why, PKT_TRUNCATED);
			assert_int_equal(FR_HAS(&R, FR_SRC_MAC), n >= 14);
			continue;
		}
		assert_int_equal(why, PKT_OK);
		assert_int_equal(R.bytes, f.n - 14);
		assert_int_equal(FR_HAS(&R, FR_DST_PORT), n >= l4 + 4);
		assert_int_equal(FR_HAS(&R, FR_TUNNEL_MAC), n >= inner_ip);
		assert_int_equal(FR_HAS(&R, FR_TUNNEL_ADDR), n >= inner_ip + 40);
		assert_int_equal(FR_HAS(&R, FR_TUNNEL_PORTS), n >= inner_udp + 4);
	}

	/* IPv6 with extension headers: truncated until the transport header */
	f.n = 0;
	eth(&f, 0x86dd);
	size_t at = v6_with_exts(&f, 6);
	size_t th = f.n;
	tcp(&f, 1, 2, 0x10);
	ip6_end(&f, at);
	for (size_t n = 0; n <= f.n; n++) {
		enum pkt_reason why = dec(DECAP_LINK_ETHERNET, &f, n);
		assert_int_equal(why, n < th ? PKT_TRUNCATED : PKT_OK);
		if (why == PKT_OK) {
			assert_int_equal(FR_HAS(&R, FR_SRC_PORT), n >= th + 4);
			assert_int_equal(FR_HAS(&R, FR_TCP_FLAGS), n >= th + 14);
		}
	}

	/* IPv4 options, MPLS, 802.1Q */
	f.n = 0;
	eth(&f, 0x8100);
	put16(&f, 10);
	put16(&f, 0x8847);
	put32(&f, 1u << 12 | 1u << 8);
	at = ip4(&f, SRC4, DST4, 6, 0, 0, 3);
	th = f.n;
	tcp(&f, 1, 2, 0x10);
	ip4_end(&f, at);
	for (size_t n = 0; n <= f.n; n++)
		assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, n), n < th ? PKT_TRUNCATED : PKT_OK);
	assert_true(D.l4_cut > 0);
}

/* Every link type, cut at every byte: truncated until the IP header is whole. */
static void test_truncated_link_types(void **state)
{
	(void)state;
	static const struct {
		enum decap_link link;
		size_t hdr;
	} links[] = {{DECAP_LINK_SLL, 16},     {DECAP_LINK_SLL2, 20}, {DECAP_LINK_NULL, 4},
		     {DECAP_LINK_LOOP, 4},     {DECAP_LINK_RAW, 0},   {DECAP_LINK_IPV4, 0},
		     {DECAP_LINK_ETHERNET, 14}};
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		struct fb f = {0};
		switch (links[i].link) {
		case DECAP_LINK_SLL:
			put16(&f, 0);
			put16(&f, 1);
			put16(&f, 6);
			putb(&f, SMAC, 6);
			put16(&f, 0);
			put16(&f, 0x0800);
			break;
		case DECAP_LINK_SLL2:
			put16(&f, 0x0800);
			put16(&f, 0);
			put32(&f, 1);
			put16(&f, 1);
			put8(&f, 0);
			put8(&f, 6);
			putb(&f, SMAC, 6);
			put16(&f, 0);
			break;
		case DECAP_LINK_NULL:
			put32(&f, 2);
			break;
		case DECAP_LINK_LOOP:
			put32(&f, 2);
			break;
		case DECAP_LINK_ETHERNET:
			eth(&f, 0x0800);
			break;
		default:
			break;
		}
		assert_int_equal(f.n, links[i].hdr);
		size_t at = ip4(&f, SRC4, DST4, 47, 0, 0, 1);
		put16(&f, 0);
		put16(&f, 0x0800);
		inner_ip4_tcp(&f);
		ip4_end(&f, at);
		size_t ip_end = links[i].hdr + 24;
		for (size_t n = 0; n <= f.n; n++) {
			enum pkt_reason why = dec(links[i].link, &f, n);
			assert_int_equal(why, n < ip_end ? PKT_TRUNCATED : PKT_OK);
			if (why == PKT_OK) {
				assert_int_equal(R.bytes, f.n - links[i].hdr);
				/* the GRE payload's IP header whole: the tunnel's addresses */
				assert_int_equal(FR_HAS(&R, FR_TUNNEL_ADDR), n >= ip_end + 4 + 20);
			}
		}
	}
}

static void test_bad_lengths(void **state)
{
	(void)state;
	struct fb f = {0};
	eth(&f, 0x0800);
	size_t at = ip4(&f, SRC4, DST4, 17, 0, 0, 0);
	udp(&f, 1, 2, 8);
	ip4_end(&f, at);
	f.b[14] = 0x44; /* IHL 16 bytes */
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_BAD_HEADER);
	f.b[14] = 0x45;
	patch16(&f, 14 + 2, 19); /* total length below the header */
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_BAD_HEADER);
	patch16(&f, 14 + 2, (uint16_t)(f.n - 14));
	f.b[14] = 0x65; /* ethertype IPv4, version 6 */
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_BAD_HEADER);
	f.b[14] = 0x4f; /* 60-byte header in a 36-byte packet */
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_BAD_HEADER);
	f.b[14] = 0x45;
	/* an IP length beyond the capture: a sampled header, the IP length counts */
	patch16(&f, 14 + 2, 1500);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_int_equal(R.bytes, 1500);
	assert_int_equal(D.n[PKT_BAD_HEADER], 4);
}

/* ---- fragments ----------------------------------------------------------------- */

static void frag4(struct fb *f, uint16_t offflags, int with_udp)
{
	f->n = 0;
	eth(f, 0x0800);
	size_t at = ip4(f, SRC4, DST4, 17, 0, offflags, 0);
	if (with_udp)
		udp(f, 1111, 2222, 16);
	else
		for (int i = 0; i < 24; i++)
			put8(f, 0xee);
	ip4_end(f, at);
}

static void test_fragments(void **state)
{
	(void)state;
	struct fb f;
	frag4(&f, 0x2000, 1); /* first: ports */
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_int_equal(R.dst_port, 2222);
	frag4(&f, 3, 0); /* last, offset 24: ports from the first */
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_int_equal(R.src_port, 1111);
	assert_int_equal(R.dst_port, 2222);
	assert_int_equal(R.proto, 17);
	assert_int_equal(R.bytes, 44);
	assert_int_equal(D.frag_orphans, 0);

	/* another datagram (id) whose first fragment never came: no ports */
	f.b[14 + 5] = 0x99;
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_false(FR_HAS(&R, FR_SRC_PORT));
	assert_int_equal(D.frag_orphans, 1);

	/* pmacctd's way: held, then accounted with the first fragment */
	D.hold_orphans = 1;
	frag4(&f, 3, 0);
	f.b[14 + 5] = 0x77;
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_FRAG_HELD);
	assert_int_equal(D.n[PKT_FRAG_HELD], 1);
	frag4(&f, 0x2000, 1);
	f.b[14 + 5] = 0x77;
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_int_equal(R.packets, 2);
	assert_int_equal(R.bytes, 44 + 44);
	assert_int_equal(R.dst_port, 2222);

	/* IPv6: fragment header, first fragment has the (remaining) chain */
	f.n = 0;
	eth(&f, 0x86dd);
	size_t at = ip6(&f, 44, 0, 0);
	put8(&f, 60);
	put8(&f, 0);
	put16(&f, 1); /* offset 0, more */
	put32(&f, 0xabcdef);
	put8(&f, 6); /* destination options -> TCP */
	put8(&f, 0);
	for (int i = 0; i < 6; i++)
		put8(&f, 0);
	tcp(&f, 4444, 5555, 0x18);
	ip6_end(&f, at);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_int_equal(R.proto, 6);
	assert_int_equal(R.dst_port, 5555);
	f.n = 0;
	eth(&f, 0x86dd);
	at = ip6(&f, 44, 0, 0);
	put8(&f, 60);
	put8(&f, 0);
	put16(&f, 4 << 3); /* offset 32, last */
	put32(&f, 0xabcdef);
	put32(&f, 0);
	ip6_end(&f, at);
	assert_int_equal(dec(DECAP_LINK_ETHERNET, &f, f.n), PKT_OK);
	assert_int_equal(R.proto, 6); /* the first fragment's transport, not its options */
	assert_int_equal(R.src_port, 4444);
	assert_int_equal(R.dst_port, 5555);
	assert_int_equal(R.bytes, 40 + 8 + 4);
}

/* The table is bounded: a datagram pushed out takes its held fragments along. */
static void test_fragment_table_bounded(void **state)
{
	(void)state;
	struct pkt_decoder d;
	assert_int_equal(pkt_decoder_init(&d, 2), 0);
	d.hold_orphans = 1;
	struct fb f;
	for (int id = 0; id < 10; id++) {
		frag4(&f, 3, 0);
		patch16(&f, 14 + 4, (uint16_t)id);
		struct flow_rec r;
		flow_rec_clear(&r);
		assert_int_equal(pkt_decode(&d, DECAP_LINK_ETHERNET, f.b, f.n, f.n, 1, &r),
				 PKT_FRAG_HELD);
	}
	assert_true(d.nfrags <= 2);
	assert_int_equal(d.frag_lost, 8);
	assert_true(pkt_frag_entry_size() > 0);
	pkt_decoder_free(&d);
}

static void test_reason_names(void **state)
{
	(void)state;
	for (int i = 0; i < PKT__COUNT; i++)
		assert_non_null(pkt_reason_name((enum pkt_reason)i));
	assert_string_equal(pkt_reason_name(PKT_TRUNCATED), "truncated");
	assert_string_equal(pkt_reason_name(PKT__COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ethernet_ipv4_tcp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vlan_qinq_cos, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mpls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ipv6_extension_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_icmp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_link_types, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_ip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gre, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vxlan, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_everywhere, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_link_types, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_lengths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fragments, setup, teardown),
	    cmocka_unit_test(test_fragment_table_bounded),
	    cmocka_unit_test(test_reason_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
