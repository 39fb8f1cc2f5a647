#include "proto/packet.h"

#include <stdlib.h>
#include <string.h>

#define ETH_IPV4  0x0800
#define ETH_IPV6  0x86dd
#define ETH_VLAN  0x8100
#define ETH_QINQ  0x88a8
#define ETH_QINQ2 0x9100
#define ETH_MPLS  0x8847
#define ETH_MPLSM 0x8848
#define ETH_TEB	  0x6558 /* transparent Ethernet bridging (GRE) */

#define IPP_ICMP   1
#define IPP_TCP	   6
#define IPP_UDP	   17
#define IPP_GRE	   47
#define IPP_ICMPV6 58

#define VXLAN_PORT 4789

#define MAX_EXT_HDRS	16
#define FRAG_DEFAULT	1024u
#define FRAG_PROBE	4u
#define FRAG_TIMEOUT_US 60000000u /* a datagram's fragments are forgotten after 60 s */

static const char *const reason_names[PKT__COUNT] = {
    [PKT_OK] = "ok",
    [PKT_NOT_IP] = "not_ip",
    [PKT_TRUNCATED] = "truncated",
    [PKT_BAD_HEADER] = "bad_header",
    [PKT_FRAG_HELD] = "frag_held",
};

const char *pkt_reason_name(enum pkt_reason r)
{
	return (unsigned)r < PKT__COUNT ? reason_names[r] : "unknown";
}

/* ---- link layer ------------------------------------------------------------ */

static enum pkt_walk by_nibble(const struct cursor *c, struct pkt_l2 *l2)
{
	if (cur_left(c) < 1)
		return PW_TRUNCATED;
	switch (cur_ptr(c)[0] >> 4) {
	case 4:
		l2->ipver = 4;
		return PW_OK;
	case 6:
		l2->ipver = 6;
		return PW_OK;
	default:
		return PW_NOT_IP;
	}
}

enum pkt_walk pkt_walk_ether(struct cursor *c, uint16_t type, struct pkt_l2 *l2)
{
	while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ2) {
		const uint8_t *t;
		if (l2->nvlan == PKT_MAX_VLAN_TAGS)
			return PW_BAD;
		if (!(t = cur_take(c, 4)))
			return PW_TRUNCATED;
		if (l2->nvlan < 2)
			l2->vlan_tci[l2->nvlan] = be16(t);
		l2->nvlan++;
		type = be16(t + 2);
	}
	l2->etype = type;
	switch (type) {
	case ETH_IPV4:
		l2->ipver = 4;
		return PW_OK;
	case ETH_IPV6:
		l2->ipver = 6;
		return PW_OK;
	case ETH_MPLS:
	case ETH_MPLSM:
		for (;;) {
			uint32_t e;
			if (l2->nmpls == PKT_MAX_MPLS)
				return PW_BAD;
			if (cur_u32(c, &e) < 0)
				return PW_TRUNCATED;
			if (l2->nmpls < FR_MPLS_MAX)
				l2->mpls[l2->nmpls] = e;
			l2->nmpls++;
			/* no next-protocol field: the IP version nibble says it (as pmacct) */
			if (e & 0x100)
				return by_nibble(c, l2);
		}
	default:
		return PW_NOT_IP;
	}
}

/* BSD address families of IPv6 differ by OS; IPv4 is 2 everywhere. */
static enum pkt_walk null_af(uint32_t af, struct pkt_l2 *l2)
{
	switch (af) {
	case 2:
		l2->ipver = 4;
		return PW_OK;
	case 10: /* Linux */
	case 24: /* NetBSD, OpenBSD */
	case 28: /* FreeBSD */
	case 30: /* macOS */
		l2->ipver = 6;
		return PW_OK;
	default:
		return PW_NOT_IP;
	}
}

enum pkt_walk pkt_walk_link(enum decap_link link, struct cursor *c, struct pkt_l2 *l2)
{
	const uint8_t *h;
	l2->macs = 0;
	l2->nvlan = l2->nmpls = l2->ipver = 0;
	l2->etype = 0;
	switch (link) {
	case DECAP_LINK_ETHERNET:
		if (!(h = cur_take(c, 14)))
			return PW_TRUNCATED;
		memcpy(l2->dst_mac, h, 6);
		memcpy(l2->src_mac, h + 6, 6);
		l2->macs = 2;
		return pkt_walk_ether(c, be16(h + 12), l2);
	case DECAP_LINK_SLL:
		/* packet type, ARPHRD, address length, address (8), protocol */
		if (!(h = cur_take(c, 16)))
			return PW_TRUNCATED;
		if (be16(h + 4) == 6) {
			memcpy(l2->src_mac, h + 6, 6);
			l2->macs = 1;
		}
		return pkt_walk_ether(c, be16(h + 14), l2);
	case DECAP_LINK_SLL2:
		/* protocol, reserved, ifindex, ARPHRD, packet type, address length, address (8) */
		if (!(h = cur_take(c, 20)))
			return PW_TRUNCATED;
		if (h[11] == 6) {
			memcpy(l2->src_mac, h + 12, 6);
			l2->macs = 1;
		}
		return pkt_walk_ether(c, be16(h), l2);
	case DECAP_LINK_RAW:
		return by_nibble(c, l2);
	case DECAP_LINK_IPV4:
		l2->ipver = 4;
		return PW_OK;
	case DECAP_LINK_IPV6:
		l2->ipver = 6;
		return PW_OK;
	case DECAP_LINK_NULL:
		if (!(h = cur_take(c, 4)))
			return PW_TRUNCATED;
		/* host byte order of the capturing machine: the family is < 256 */
		return null_af(h[0] ? h[0] : be32(h), l2);
	case DECAP_LINK_LOOP:
		if (!(h = cur_take(c, 4)))
			return PW_TRUNCATED;
		return null_af(be32(h), l2);
	}
	return PW_NOT_IP;
}

/* ---- network layer --------------------------------------------------------- */

int pkt_v6_ext_hdr(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 135 || nh == 139 || nh == 140;
}

/* Extension headers up to a transport header, or a fragment header (ip given). */
static enum pkt_walk v6_exts(struct cursor *c, uint8_t *nh, struct pkt_ip *ip)
{
	for (int i = 0; i < MAX_EXT_HDRS; i++) {
		const uint8_t *h;
		if (*nh == 44) {
			if (!ip)
				return PW_BAD; /* a second fragment header */
			if (!(h = cur_take(c, 8)))
				return PW_TRUNCATED;
			uint16_t offflags = be16(h + 2);
			*nh = h[0];
			if (offflags & 0xfff9u) {
				ip->frag = 1;
				ip->frag_off = offflags & 0xfff8u;
				ip->frag_more = offflags & 1;
				ip->frag_id = be32(h + 4);
				return PW_OK;
			}
			ip = NULL; /* atomic (RFC 6946): a whole datagram, walk on */
			continue;
		}
		if (!pkt_v6_ext_hdr(*nh))
			return PW_OK;
		if (!(h = cur_take(c, 2)))
			return PW_TRUNCATED;
		size_t len = *nh == 51 ? ((size_t)h[1] + 2) * 4 : ((size_t)h[1] + 1) * 8;
		if (cur_skip(c, len - 2) < 0)
			return PW_TRUNCATED;
		*nh = h[0];
	}
	return PW_BAD;
}

enum pkt_walk pkt_walk_v6_exts(struct cursor *c, uint8_t *nh)
{
	return v6_exts(c, nh, NULL);
}

static enum pkt_walk ipv4(struct cursor *c, struct pkt_ip *ip)
{
	const uint8_t *h = cur_take(c, 20);
	if (!h)
		return PW_TRUNCATED;
	if (h[0] >> 4 != 4)
		return PW_BAD;
	size_t ihl = (size_t)(h[0] & 15) * 4;
	uint16_t total = be16(h + 2), offflags = be16(h + 6);
	if (ihl < 20 || total < ihl)
		return PW_BAD;
	if (cur_skip(c, ihl - 20) < 0)
		return PW_TRUNCATED;
	ip->version = 4;
	ip->hdr = h;
	ip->tos = h[1];
	ip->len = total;
	ip->proto = h[9];
	ip->flow_label = 0;
	ip->src.family = ip->dst.family = 4;
	memset(ip->src.a + 4, 0, 12);
	memset(ip->dst.a + 4, 0, 12);
	memcpy(ip->src.a, h + 12, 4);
	memcpy(ip->dst.a, h + 16, 4);
	ip->frag_off = (uint32_t)(offflags & 0x1fff) * 8;
	ip->frag_more = (offflags & 0x2000) != 0;
	ip->frag = ip->frag_off || ip->frag_more;
	ip->frag_id = be16(h + 4);
	/* frame shorter than the IP length: snaplen; longer: link padding */
	size_t want = total - ihl;
	ip->cut = cur_left(c) < want;
	cur_sub(c, ip->cut ? cur_left(c) : want, &ip->pl);
	return PW_OK;
}

static enum pkt_walk ipv6(struct cursor *c, struct pkt_ip *ip)
{
	const uint8_t *h = cur_take(c, 40);
	if (!h)
		return PW_TRUNCATED;
	if (h[0] >> 4 != 6)
		return PW_BAD;
	uint16_t plen = be16(h + 4);
	if (plen == 0)
		return PW_BAD; /* a jumbogram (hop-by-hop option): not on links we meter */
	uint32_t vcf = be32(h);
	ip->version = 6;
	ip->hdr = h;
	ip->tos = (uint8_t)(vcf >> 20);
	ip->flow_label = vcf & 0xfffff;
	ip->len = 40u + plen;
	ip->proto = h[6];
	ip->frag = ip->frag_more = 0;
	ip->frag_off = ip->frag_id = 0;
	ip->src.family = ip->dst.family = 6;
	memcpy(ip->src.a, h + 8, 16);
	memcpy(ip->dst.a, h + 24, 16);
	ip->cut = cur_left(c) < plen;
	cur_sub(c, ip->cut ? cur_left(c) : plen, &ip->pl);
	return v6_exts(&ip->pl, &ip->proto, ip);
}

enum pkt_walk pkt_walk_ip(struct cursor *c, uint8_t version, struct pkt_ip *ip)
{
	if (!version) {
		if (cur_left(c) < 1)
			return PW_TRUNCATED;
		version = cur_ptr(c)[0] >> 4;
		if (version != 4 && version != 6)
			return PW_NOT_IP;
	}
	return version == 4 ? ipv4(c, ip) : version == 6 ? ipv6(c, ip) : PW_BAD;
}

/* ---- first-fragment table ---------------------------------------------------- */

/*
 * A fragmented datagram: the first fragment's ports once it came, or the
 * packets and bytes of later fragments held until it comes (hold_orphans).
 */
struct pkt_frag {
	struct nt_addr src, dst;
	uint32_t id;
	uint8_t proto;
	uint8_t used, got_first;
	uint8_t has_ports, has_icmp;
	uint8_t l4proto; /* IPv6: the transport after the first fragment's extension headers */
	uint16_t sport, dport, icmp;
	uint32_t held_packets;
	uint64_t held_bytes;
	nt_usec ts; /* last fragment seen */
};

size_t pkt_frag_entry_size(void)
{
	return sizeof(struct pkt_frag);
}

int pkt_decoder_init(struct pkt_decoder *d, unsigned frag_cap)
{
	memset(d, 0, sizeof *d);
	d->frag_cap = frag_cap ? frag_cap : FRAG_DEFAULT;
	d->frags = calloc(d->frag_cap, sizeof *d->frags);
	if (!d->frags) {
		d->frag_cap = 0;
		return -1;
	}
	return 0;
}

void pkt_decoder_free(struct pkt_decoder *d)
{
	free(d->frags);
	d->frags = NULL;
	d->frag_cap = d->nfrags = 0;
}

static uint32_t frag_hash(const struct pkt_ip *ip)
{
	uint32_t h = 2166136261u ^ ip->frag_id;
	unsigned n = ip->version == 4 ? 4 : 16;
	for (unsigned i = 0; i < n; i++) {
		h = (h ^ ip->src.a[i]) * 16777619u;
		h = (h ^ ip->dst.a[i]) * 16777619u;
	}
	return (h ^ ip->proto) * 16777619u;
}

static int frag_match(const struct pkt_frag *f, const struct pkt_ip *ip)
{
	return f->used && f->id == ip->frag_id && f->proto == ip->proto &&
	       f->src.family == ip->src.family && memcmp(f->src.a, ip->src.a, 16) == 0 &&
	       memcmp(f->dst.a, ip->dst.a, 16) == 0;
}

static int frag_stale(const struct pkt_frag *f, nt_usec ts)
{
	return ts > f->ts && ts - f->ts > FRAG_TIMEOUT_US;
}

/* The datagram's entry, or a recycled one (create) among FRAG_PROBE slots. */
static struct pkt_frag *frag_get(struct pkt_decoder *d, const struct pkt_ip *ip, nt_usec ts,
				 int create)
{
	if (!d->frag_cap)
		return NULL;
	uint32_t h = frag_hash(ip);
	struct pkt_frag *victim = NULL;
	for (unsigned i = 0; i < FRAG_PROBE && i < d->frag_cap; i++) {
		struct pkt_frag *f = &d->frags[(h + i) % d->frag_cap];
		if (frag_match(f, ip)) {
			if (!frag_stale(f, ts))
				return f;
			victim = f;
			break;
		}
		if (!victim || !f->used || (victim->used && f->ts < victim->ts))
			victim = f;
	}
	if (!create)
		return NULL;
	if (victim->used) {
		d->frag_lost += victim->held_packets;
		d->nfrags--;
	}
	memset(victim, 0, sizeof *victim);
	victim->used = 1;
	victim->src = ip->src;
	victim->dst = ip->dst;
	victim->id = ip->frag_id;
	victim->proto = ip->proto;
	d->nfrags++;
	return victim;
}

/* ---- transport layer ---------------------------------------------------------- */

/* Where one IP layer's fields go: the record's own, or its tunnel_* ones. */
struct layer {
	uint16_t sport, dport, icmp;
	uint8_t tcp_flags;
	uint8_t has_ports, has_flags, has_icmp, cut;
};

static void decode_inner_ip(struct pkt_decoder *d, struct cursor *c, uint8_t version,
			    struct flow_rec *r);

static void inner_ether(struct pkt_decoder *d, struct cursor *c, struct flow_rec *r)
{
	const uint8_t *h = cur_take(c, 14);
	if (!h)
		return;
	memcpy(r->tunnel_dst_mac, h, 6);
	memcpy(r->tunnel_src_mac, h + 6, 6);
	FR_SET(r, FR_TUNNEL_MAC);
	struct pkt_l2 l2;
	l2.nvlan = l2.nmpls = l2.ipver = 0;
	if (pkt_walk_ether(c, be16(h + 12), &l2) == PW_OK)
		decode_inner_ip(d, c, l2.ipver, r);
}

/* GRE (RFC 2784/2890): IPv4, IPv6 or Ethernet inside. */
static void gre(struct pkt_decoder *d, struct cursor *c, struct flow_rec *r)
{
	const uint8_t *h = cur_take(c, 4);
	if (!h)
		return;
	uint16_t flags = be16(h), type = be16(h + 2);
	if ((flags & 7) != 0 || (flags & 0x4000)) /* PPTP's version 1, source routing */
		return;
	size_t opt =
	    ((flags & 0x8000) ? 4 : 0) + ((flags & 0x2000) ? 4 : 0) + ((flags & 0x1000) ? 4 : 0);
	if (cur_skip(c, opt) < 0)
		return;
	if (type == ETH_IPV4)
		decode_inner_ip(d, c, 4, r);
	else if (type == ETH_IPV6)
		decode_inner_ip(d, c, 6, r);
	else if (type == ETH_TEB)
		inner_ether(d, c, r);
}

/*
 * The transport header of proto at c.  outer: tunnels are followed (one
 * level: a tunnel inside a tunnel is not).
 */
static void transport(struct pkt_decoder *d, struct cursor *c, uint8_t proto, uint8_t version,
		      struct layer *l, struct flow_rec *r, int outer)
{
	const uint8_t *h;
	switch (proto) {
	case IPP_TCP:
		if (!(h = cur_take(c, 4)))
			break;
		l->sport = be16(h);
		l->dport = be16(h + 2);
		l->has_ports = 1;
		if (cur_left(c) < 10) {
			l->cut = 1;
			return;
		}
		l->tcp_flags = cur_ptr(c)[9];
		l->has_flags = 1;
		return;
	case IPP_UDP:
		if (!(h = cur_take(c, 8))) {
			if ((h = cur_take(c, 4))) {
				l->sport = be16(h);
				l->dport = be16(h + 2);
				l->has_ports = 1;
			}
			break;
		}
		l->sport = be16(h);
		l->dport = be16(h + 2);
		l->has_ports = 1;
		if (outer && l->dport == VXLAN_PORT) {
			/* flags (I bit: a valid VNI), reserved, VNI, reserved */
			const uint8_t *v = cur_take(c, 8);
			if (v && (v[0] & 0x08))
				inner_ether(d, c, r);
		}
		return;
	case IPP_ICMP:
	case IPP_ICMPV6:
		if ((proto == IPP_ICMP) != (version == 4))
			return; /* ICMPv6 over IPv4 or ICMP over IPv6: no such thing */
		if (!(h = cur_take(c, 2)))
			break;
		l->icmp = be16(h);
		l->has_icmp = 1;
		return;
	case IPP_GRE:
		if (outer)
			gre(d, c, r);
		return;
	default:
		return;
	}
	l->cut = 1;
}

static void decode_inner_ip(struct pkt_decoder *d, struct cursor *c, uint8_t version,
			    struct flow_rec *r)
{
	struct pkt_ip ip;
	if (pkt_walk_ip(c, version, &ip) != PW_OK)
		return;
	r->tunnel_src_addr = ip.src;
	r->tunnel_dst_addr = ip.dst;
	r->tunnel_tos = ip.tos;
	uint8_t nh = ip.proto;
	if (ip.frag && ip.frag_off == 0 && ip.version == 6 &&
	    pkt_walk_v6_exts(&ip.pl, &nh) != PW_OK)
		nh = ip.proto;
	r->tunnel_proto = nh;
	FR_SET(r, FR_TUNNEL_ADDR);
	if (ip.frag && ip.frag_off)
		return; /* no transport header here, and no table for inner fragments */
	struct layer l = {0};
	transport(d, &ip.pl, nh, ip.version, &l, r, 0);
	if (l.has_ports) {
		r->tunnel_src_port = l.sport;
		r->tunnel_dst_port = l.dport;
		FR_SET(r, FR_TUNNEL_PORTS);
	}
}

static void set_layer(struct flow_rec *r, const struct layer *l)
{
	if (l->has_ports) {
		r->src_port = l->sport;
		r->dst_port = l->dport;
		FR_SET(r, FR_SRC_PORT);
		FR_SET(r, FR_DST_PORT);
	}
	if (l->has_flags) {
		r->tcp_flags = l->tcp_flags;
		FR_SET(r, FR_TCP_FLAGS);
	}
	/*
	 * The type/code is kept, but FR_ICMP stays clear: with it set,
	 * agg/primitive.c shows type/code as dst_port (the NetFlow
	 * convention), while pmacctd and sfacctd show ports 0 for ICMP
	 * (checked with Debian's pmacctd 1.7.7).
	 */
	if (l->has_icmp)
		r->icmp_type_code = l->icmp;
}

/* A non-first fragment: the first one's transport fields, if known. */
static enum pkt_reason later_fragment(struct pkt_decoder *d, const struct pkt_ip *ip, nt_usec ts,
				      struct flow_rec *r)
{
	struct pkt_frag *f = frag_get(d, ip, ts, d->hold_orphans);
	if (f && f->got_first) {
		f->ts = ts;
		r->proto = f->l4proto;
		struct layer l = {.sport = f->sport,
				  .dport = f->dport,
				  .icmp = f->icmp,
				  .has_ports = f->has_ports,
				  .has_icmp = f->has_icmp};
		set_layer(r, &l);
		return PKT_OK;
	}
	d->frag_orphans++;
	if (!f)
		return PKT_OK; /* recorded without ports */
	f->ts = ts;
	f->held_packets++;
	f->held_bytes += ip->len;
	return PKT_FRAG_HELD;
}

static void first_fragment(struct pkt_decoder *d, const struct pkt_ip *ip, uint8_t l4proto,
			   nt_usec ts, const struct layer *l, struct flow_rec *r)
{
	struct pkt_frag *f = frag_get(d, ip, ts, 1);
	if (!f)
		return;
	if (f->held_packets) {
		/* the fragments that came before it are accounted with it */
		r->packets += f->held_packets;
		r->bytes += f->held_bytes;
		f->held_packets = 0;
		f->held_bytes = 0;
	}
	f->ts = ts;
	f->got_first = 1;
	f->l4proto = l4proto;
	f->sport = l->sport;
	f->dport = l->dport;
	f->icmp = l->icmp;
	f->has_ports = l->has_ports;
	f->has_icmp = l->has_icmp;
}

/* ---- the frame --------------------------------------------------------------- */

static enum pkt_reason walk_reason(enum pkt_walk w)
{
	switch (w) {
	case PW_OK:
		return PKT_OK;
	case PW_NOT_IP:
		return PKT_NOT_IP;
	case PW_TRUNCATED:
		return PKT_TRUNCATED;
	case PW_BAD:
		break;
	}
	return PKT_BAD_HEADER;
}

static void set_l2(const struct pkt_l2 *l2, struct flow_rec *r)
{
	if (l2->macs) {
		memcpy(r->src_mac, l2->src_mac, 6);
		memcpy(r->dst_mac, l2->dst_mac, 6);
		FR_SET(r, FR_SRC_MAC);
		FR_SET(r, FR_DST_MAC);
	}
	if (l2->nvlan) {
		/* the outer tag, as pmacctd's vlan (and its cos) */
		r->vlan_in = l2->vlan_tci[0] & 0x0fff;
		r->cos = (uint8_t)(l2->vlan_tci[0] >> 13);
		FR_SET(r, FR_VLAN_IN);
		FR_SET(r, FR_COS);
	}
	if (l2->nmpls) {
		unsigned n = l2->nmpls < FR_MPLS_MAX ? l2->nmpls : FR_MPLS_MAX;
		for (unsigned i = 0; i < n; i++)
			r->mpls[i] = l2->mpls[i] >> 8;
		r->mpls_depth = (uint8_t)n;
		FR_SET(r, FR_MPLS);
	}
}

static enum pkt_reason decode(struct pkt_decoder *d, enum decap_link link, struct cursor *c,
			      size_t wirelen, nt_usec ts, struct flow_rec *r)
{
	struct pkt_l2 l2;
	enum pkt_walk w = pkt_walk_link(link, c, &l2);
	set_l2(&l2, r);
	if (w == PW_NOT_IP) {
		if (l2.etype >= 0x600) {
			r->etype = l2.etype;
			FR_SET(r, FR_ETYPE);
		}
		r->packets = 1;
		r->bytes = wirelen;
		return PKT_NOT_IP;
	}
	if (w != PW_OK)
		return walk_reason(w);

	const uint8_t *l3 = cur_ptr(c);
	struct pkt_ip ip;
	ip.version = 0;
	w = pkt_walk_ip(c, l2.ipver, &ip);
	/* an extension header past the payload length the whole packet has */
	if (w == PW_TRUNCATED && ip.version && !ip.cut)
		w = PW_BAD;
	if (w != PW_OK)
		return walk_reason(w);
	d->l3 = l3;
	d->l3_len = (size_t)(cur_ptr(&ip.pl) + cur_left(&ip.pl) - l3);

	r->etype = ip.version == 4 ? ETH_IPV4 : ETH_IPV6;
	FR_SET(r, FR_ETYPE);
	r->src_addr = ip.src;
	r->dst_addr = ip.dst;
	r->tos = ip.tos;
	FR_SET(r, FR_SRC_ADDR);
	FR_SET(r, FR_DST_ADDR);
	FR_SET(r, FR_TOS);
	if (ip.version == 6) {
		r->flow_label = ip.flow_label;
		FR_SET(r, FR_FLOW_LABEL);
	}
	r->packets = 1;
	r->bytes = ip.len;

	uint8_t nh = ip.proto;
	if (ip.frag && ip.frag_off) {
		r->proto = nh;
		FR_SET(r, FR_PROTO);
		return later_fragment(d, &ip, ts, r);
	}
	if (ip.frag && ip.version == 6) {
		/* the first fragment: the rest of the chain is in it */
		w = pkt_walk_v6_exts(&ip.pl, &nh);
		if (w != PW_OK)
			return w == PW_TRUNCATED && ip.cut ? PKT_TRUNCATED : PKT_BAD_HEADER;
	}
	r->proto = nh;
	FR_SET(r, FR_PROTO);

	struct layer l = {0};
	transport(d, &ip.pl, nh, ip.version, &l, r, 1);
	set_layer(r, &l);
	if (l.cut)
		d->l4_cut++;
	if (ip.frag)
		first_fragment(d, &ip, nh, ts, &l, r);
	return PKT_OK;
}

enum pkt_reason pkt_decode(struct pkt_decoder *d, enum decap_link link, const uint8_t *frame,
			   size_t caplen, size_t wirelen, nt_usec ts, struct flow_rec *r)
{
	struct cursor c = cur_make(frame, caplen);
	d->l3 = NULL;
	d->l3_len = 0;
	enum pkt_reason why = decode(d, link, &c, wirelen, ts, r);
	d->n[why]++;
	return why;
}
