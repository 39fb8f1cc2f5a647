#include "proto/decap.h"

#include <stdlib.h>
#include <string.h>

#include "proto/cursor.h"

#define MAX_IP_PAYLOAD 65535u
#define MAX_VLAN_TAGS  8
#define MAX_MPLS       16
#define MAX_EXT_HDRS   16

#define ETH_IPV4  0x0800
#define ETH_IPV6  0x86dd
#define ETH_VLAN  0x8100
#define ETH_QINQ  0x88a8
#define ETH_QINQ2 0x9100
#define ETH_MPLS  0x8847
#define ETH_MPLSM 0x8848

#define IPPROTO_UDP_ 17

static const char *const reason_names[DECAP__COUNT] = {
    [DECAP_DATAGRAM] = "datagrams",
    [DECAP_FRAGMENT] = "fragments_held",
    [DECAP_NOT_IP] = "not_ip",
    [DECAP_NOT_UDP] = "not_udp",
    [DECAP_TRUNCATED] = "truncated",
    [DECAP_BAD_HEADER] = "bad_header",
    [DECAP_FRAG_OVERLAP] = "frag_overlap",
    [DECAP_FRAG_TOO_BIG] = "frag_too_big",
    [DECAP_FRAG_TIMEOUT] = "frag_timeout",
    [DECAP_FRAG_EVICTED] = "frag_evicted",
    [DECAP_FRAG_NOMEM] = "frag_nomem",
};

const char *decap_reason_name(enum decap_reason r)
{
	return (unsigned)r < DECAP__COUNT ? reason_names[r] : "unknown";
}

/*
 * One incomplete datagram.  Every fragment but the last carries a multiple
 * of 8 bytes at an offset that is a multiple of 8, so a bit per 8-byte unit
 * says what has arrived; only the last fragment may end inside a unit.
 */
struct decap_frag {
	struct decap_frag *next;
	struct nt_addr src, dst;
	uint32_t id;
	uint8_t proto; /* IPv4 protocol, or IPv6 next header after the fragment header */
	uint8_t have_last;
	nt_usec first_ts;
	uint32_t total;	  /* payload length, known once the last fragment came */
	uint32_t got;	  /* distinct payload bytes received */
	uint32_t max_end; /* furthest byte received */
	size_t cap;
	uint8_t *buf;
	uint8_t map[(MAX_IP_PAYLOAD + 1) / 8 / 8];
};

int decap_init(struct decap *d, enum decap_link link, const struct decap_limits *lim)
{
	memset(d, 0, sizeof *d);
	if ((unsigned)link > DECAP_LINK_LOOP)
		return -1;
	d->link = link;
	if (lim)
		d->lim = *lim;
	if (!d->lim.max_datagrams)
		d->lim.max_datagrams = 64;
	if (!d->lim.max_bytes)
		d->lim.max_bytes = 4u << 20;
	if (!d->lim.timeout)
		d->lim.timeout = 30000000u;
	return 0;
}

static void frag_unlink(struct decap *d, struct decap_frag *f)
{
	for (struct decap_frag **p = &d->frags; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	d->nfrags--;
	d->frag_bytes -= f->cap;
}

static void frag_drop(struct decap *d, struct decap_frag *f, enum decap_reason why)
{
	frag_unlink(d, f);
	free(f->buf);
	free(f);
	if (why != DECAP__COUNT)
		d->st.n[why]++;
}

void decap_flush(struct decap *d)
{
	while (d->frags)
		frag_drop(d, d->frags, DECAP_FRAG_EVICTED);
}

void decap_free(struct decap *d)
{
	while (d->frags)
		frag_drop(d, d->frags, DECAP__COUNT);
	free(d->done);
	d->done = NULL;
}

/* Datagrams whose first fragment is older than the timeout, in capture time. */
static void frag_expire(struct decap *d, nt_usec ts)
{
	struct decap_frag *f = d->frags;
	while (f) {
		struct decap_frag *next = f->next;
		if (ts > f->first_ts && ts - f->first_ts > d->lim.timeout)
			frag_drop(d, f, DECAP_FRAG_TIMEOUT);
		f = next;
	}
}

static int addr_eq(const struct nt_addr *a, const struct nt_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, 16) == 0;
}

static struct decap_frag *frag_find(struct decap *d, const struct nt_addr *src,
				    const struct nt_addr *dst, uint32_t id, uint8_t proto,
				    nt_usec ts)
{
	for (struct decap_frag *f = d->frags; f; f = f->next)
		if (f->id == id && f->proto == proto && addr_eq(&f->src, src) &&
		    addr_eq(&f->dst, dst))
			return f;
	while (d->nfrags >= d->lim.max_datagrams && d->frags)
		frag_drop(d, d->frags, DECAP_FRAG_EVICTED);
	struct decap_frag *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->src = *src;
	f->dst = *dst;
	f->id = id;
	f->proto = proto;
	f->first_ts = ts;
	struct decap_frag **tail = &d->frags;
	while (*tail)
		tail = &(*tail)->next;
	*tail = f;
	d->nfrags++;
	return f;
}

/* Room for end bytes in f, within the byte budget (evicting older datagrams). */
static int frag_reserve(struct decap *d, struct decap_frag *f, size_t end)
{
	if (end <= f->cap)
		return 0;
	size_t want = end < 2048 ? 2048 : end;
	if (want < f->cap * 2)
		want = f->cap * 2;
	if (want > MAX_IP_PAYLOAD)
		want = MAX_IP_PAYLOAD;
	while (d->frag_bytes + (want - f->cap) > d->lim.max_bytes) {
		struct decap_frag *old = d->frags == f ? f->next : d->frags;
		if (!old)
			break;
		frag_drop(d, old, DECAP_FRAG_EVICTED);
	}
	if (d->frag_bytes + (want - f->cap) > d->lim.max_bytes)
		return -1;
	uint8_t *b = realloc(f->buf, want);
	if (!b)
		return -2;
	d->frag_bytes += want - f->cap;
	f->buf = b;
	f->cap = want;
	return 0;
}

static int unit_set(const struct decap_frag *f, uint32_t u)
{
	return f->map[u / 8] >> (u % 8) & 1;
}

/*
 * Store one fragment of len bytes at payload offset off.  Returns
 * DECAP_DATAGRAM when it completed the datagram (its payload is then
 * d->done[0..*total]), DECAP_FRAGMENT when more are needed, or the reason it
 * and its datagram were dropped.
 */
static enum decap_reason frag_add(struct decap *d, struct decap_frag *f, uint32_t off,
				  const uint8_t *data, uint32_t len, int more, uint32_t *total)
{
	uint32_t end = off + len;
	if (end > MAX_IP_PAYLOAD || (f->have_last && end > f->total) ||
	    (!more && (end < f->max_end || (f->have_last && end != f->total)))) {
		frag_drop(d, f, DECAP__COUNT);
		return DECAP_FRAG_TOO_BIG;
	}
	int rv = frag_reserve(d, f, end);
	if (rv < 0) {
		frag_drop(d, f, DECAP__COUNT);
		return rv == -1 ? DECAP_FRAG_EVICTED : DECAP_FRAG_NOMEM;
	}
	/* bytes already held must be identical: a retransmitted copy, not a rewrite */
	for (uint32_t u = off / 8; u * 8 < end; u++) {
		if (!unit_set(f, u))
			continue;
		uint32_t a = u * 8 > off ? u * 8 : off, b = u * 8 + 8 < end ? u * 8 + 8 : end;
		if (memcmp(f->buf + a, data + (a - off), b - a) != 0) {
			frag_drop(d, f, DECAP__COUNT);
			return DECAP_FRAG_OVERLAP;
		}
	}
	for (uint32_t u = off / 8; u * 8 < end; u++) {
		if (unit_set(f, u))
			continue;
		uint32_t b = u * 8 + 8 < end ? u * 8 + 8 : end;
		f->got += b - u * 8;
		f->map[u / 8] |= (uint8_t)(1u << (u % 8));
	}
	memcpy(f->buf + off, data, len);
	if (end > f->max_end)
		f->max_end = end;
	if (!more) {
		f->have_last = 1;
		f->total = end;
	}
	if (!f->have_last || f->got != f->total)
		return DECAP_FRAGMENT;
	*total = f->total;
	free(d->done);
	d->done = f->buf;
	f->buf = NULL;
	frag_drop(d, f, DECAP__COUNT);
	return DECAP_DATAGRAM;
}

/* ---- transport ----------------------------------------------------------- */

static enum decap_reason udp(struct cursor *c, struct decap_udp *out)
{
	const uint8_t *h = cur_take(c, 8);
	if (!h)
		return DECAP_TRUNCATED;
	out->sport = be16(h);
	out->dport = be16(h + 2);
	uint16_t ulen = be16(h + 4); /* checksum not verified: offload leaves it unset */
	/* the IP length was checked against the frame: a longer UDP length is a lie */
	if (ulen < 8 || (size_t)ulen - 8 > cur_left(c))
		return DECAP_BAD_HEADER;
	out->payload = cur_ptr(c);
	out->len = (size_t)ulen - 8; /* anything after it is IP padding */
	return DECAP_DATAGRAM;
}

static int is_ext_hdr(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 135 || nh == 139 || nh == 140;
}

/*
 * Walk IPv6 extension headers from nh until a transport header.  A fragment
 * header is reported through *frag (its offset/flags/id), leaving c on the
 * fragmentable part.
 */
struct v6frag {
	int present;
	uint16_t offflags;
	uint32_t id;
};

static enum decap_reason v6_exts(struct cursor *c, uint8_t *nh, struct v6frag *frag)
{
	for (int i = 0; i < MAX_EXT_HDRS; i++) {
		uint8_t next, hlen;
		if (*nh == 44 && frag) {
			uint8_t res;
			if (cur_u8(c, &next) < 0 || cur_u8(c, &res) < 0 ||
			    cur_u16(c, &frag->offflags) < 0 || cur_u32(c, &frag->id) < 0)
				return DECAP_TRUNCATED;
			frag->present = 1;
			*nh = next;
			return DECAP_DATAGRAM;
		}
		if (*nh == 44)
			return DECAP_BAD_HEADER; /* a fragment header inside a reassembled payload
						  */
		if (!is_ext_hdr(*nh))
			return DECAP_DATAGRAM;
		if (cur_u8(c, &next) < 0 || cur_u8(c, &hlen) < 0)
			return DECAP_TRUNCATED;
		size_t skip = *nh == 51 ? ((size_t)hlen + 2) * 4 : ((size_t)hlen + 1) * 8;
		if (cur_skip(c, skip - 2) < 0)
			return DECAP_TRUNCATED;
		*nh = next;
	}
	return DECAP_BAD_HEADER;
}

/* A reassembled payload: (IPv6: remaining extension headers, then) UDP. */
static enum decap_reason reassembled(struct decap *d, uint8_t proto, uint32_t total,
				     struct decap_udp *out)
{
	struct cursor c = cur_make(d->done, total);
	if (out->src.family == 6) {
		enum decap_reason r = v6_exts(&c, &proto, NULL);
		if (r != DECAP_DATAGRAM)
			return r == DECAP_TRUNCATED ? DECAP_BAD_HEADER : r;
	}
	if (proto != IPPROTO_UDP_)
		return DECAP_NOT_UDP;
	enum decap_reason r = udp(&c, out);
	/* the whole datagram is here: short means inconsistent, not snaplen */
	return r == DECAP_TRUNCATED ? DECAP_BAD_HEADER : r;
}

static enum decap_reason fragment(struct decap *d, uint32_t id, uint8_t proto, uint32_t off,
				  int more, struct cursor *c, nt_usec ts, struct decap_udp *out)
{
	size_t len = cur_left(c);
	if (len > MAX_IP_PAYLOAD)
		return DECAP_FRAG_TOO_BIG;
	if ((more && (len == 0 || len % 8 != 0)))
		return DECAP_BAD_HEADER;
	struct decap_frag *f = frag_find(d, &out->src, &out->dst, id, proto, ts);
	if (!f)
		return DECAP_FRAG_NOMEM;
	uint32_t total = 0;
	enum decap_reason r = frag_add(d, f, off, cur_ptr(c), (uint32_t)len, more, &total);
	if (r != DECAP_DATAGRAM)
		return r;
	return reassembled(d, proto, total, out);
}

/* ---- network ------------------------------------------------------------- */

static enum decap_reason ipv4(struct decap *d, struct cursor *c, nt_usec ts, struct decap_udp *out)
{
	const uint8_t *h = cur_take(c, 20);
	if (!h)
		return DECAP_TRUNCATED;
	if (h[0] >> 4 != 4)
		return DECAP_BAD_HEADER;
	size_t ihl = (size_t)(h[0] & 15) * 4;
	uint16_t total = be16(h + 2), id = be16(h + 4), offflags = be16(h + 6);
	uint8_t proto = h[9];
	if (ihl < 20 || total < ihl)
		return DECAP_BAD_HEADER;
	if (cur_skip(c, ihl - 20) < 0)
		return DECAP_TRUNCATED;
	struct cursor pl;
	/* frame shorter than the IP length: snaplen; longer: link padding */
	if (cur_sub(c, total - ihl, &pl) < 0)
		return DECAP_TRUNCATED;
	memset(out, 0, sizeof *out);
	out->src.family = out->dst.family = 4;
	memcpy(out->src.a, h + 12, 4);
	memcpy(out->dst.a, h + 16, 4);
	if (proto != IPPROTO_UDP_)
		return DECAP_NOT_UDP;
	uint32_t off = (uint32_t)(offflags & 0x1fff) * 8;
	int more = (offflags & 0x2000) != 0;
	if (off || more)
		return fragment(d, id, proto, off, more, &pl, ts, out);
	return udp(&pl, out);
}

static enum decap_reason ipv6(struct decap *d, struct cursor *c, nt_usec ts, struct decap_udp *out)
{
	const uint8_t *h = cur_take(c, 40);
	if (!h)
		return DECAP_TRUNCATED;
	if (h[0] >> 4 != 6)
		return DECAP_BAD_HEADER;
	uint16_t plen = be16(h + 4);
	uint8_t nh = h[6];
	if (plen == 0)
		return DECAP_BAD_HEADER; /* jumbogram (hop-by-hop option): not for UDP export */
	struct cursor pl;
	if (cur_sub(c, plen, &pl) < 0)
		return DECAP_TRUNCATED;
	memset(out, 0, sizeof *out);
	out->src.family = out->dst.family = 6;
	memcpy(out->src.a, h + 8, 16);
	memcpy(out->dst.a, h + 24, 16);
	struct v6frag fr = {0};
	enum decap_reason r = v6_exts(&pl, &nh, &fr);
	if (r != DECAP_DATAGRAM)
		return r;
	if (fr.present) {
		uint32_t off = fr.offflags & 0xfff8u;
		int more = fr.offflags & 1;
		if (off || more) {
			/* the first fragment tells the transport; later ones cannot */
			if (!is_ext_hdr(nh) && nh != IPPROTO_UDP_)
				return DECAP_NOT_UDP;
			return fragment(d, fr.id, nh, off, more, &pl, ts, out);
		}
		/* an atomic fragment (RFC 6946): a whole datagram */
		r = v6_exts(&pl, &nh, NULL);
		if (r != DECAP_DATAGRAM)
			return r;
	}
	if (nh != IPPROTO_UDP_)
		return DECAP_NOT_UDP;
	return udp(&pl, out);
}

/* By the version nibble (raw captures, MPLS payloads). */
static enum decap_reason ip_any(struct decap *d, struct cursor *c, nt_usec ts,
				struct decap_udp *out)
{
	if (cur_left(c) < 1)
		return DECAP_TRUNCATED;
	switch (cur_ptr(c)[0] >> 4) {
	case 4:
		return ipv4(d, c, ts, out);
	case 6:
		return ipv6(d, c, ts, out);
	default:
		return DECAP_NOT_IP;
	}
}

/* ---- link ---------------------------------------------------------------- */

static enum decap_reason ethertype(struct decap *d, struct cursor *c, uint16_t type, nt_usec ts,
				   struct decap_udp *out)
{
	for (int tags = 0; type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ2; tags++) {
		if (tags == MAX_VLAN_TAGS)
			return DECAP_BAD_HEADER;
		if (cur_skip(c, 2) < 0 || cur_u16(c, &type) < 0)
			return DECAP_TRUNCATED;
	}
	switch (type) {
	case ETH_IPV4:
		return ipv4(d, c, ts, out);
	case ETH_IPV6:
		return ipv6(d, c, ts, out);
	case ETH_MPLS:
	case ETH_MPLSM:
		for (int n = 0; n < MAX_MPLS; n++) {
			uint32_t label;
			if (cur_u32(c, &label) < 0)
				return DECAP_TRUNCATED;
			if (label & 0x100) /* bottom of stack */
				return ip_any(d, c, ts, out);
		}
		return DECAP_BAD_HEADER;
	default:
		return DECAP_NOT_IP;
	}
}

/* BSD address families of IPv6 differ by OS; IPv4 is 2 everywhere. */
static enum decap_reason null_af(struct decap *d, struct cursor *c, uint32_t af, nt_usec ts,
				 struct decap_udp *out)
{
	switch (af) {
	case 2:
		return ipv4(d, c, ts, out);
	case 10: /* Linux */
	case 24: /* NetBSD, OpenBSD */
	case 28: /* FreeBSD */
	case 30: /* macOS */
		return ipv6(d, c, ts, out);
	default:
		return DECAP_NOT_IP;
	}
}

static enum decap_reason link_layer(struct decap *d, struct cursor *c, nt_usec ts,
				    struct decap_udp *out)
{
	uint16_t type;
	const uint8_t *p;
	switch (d->link) {
	case DECAP_LINK_ETHERNET:
		if (cur_skip(c, 12) < 0 || cur_u16(c, &type) < 0)
			return DECAP_TRUNCATED;
		return ethertype(d, c, type, ts, out);
	case DECAP_LINK_SLL:
		if (cur_skip(c, 14) < 0 || cur_u16(c, &type) < 0)
			return DECAP_TRUNCATED;
		return ethertype(d, c, type, ts, out);
	case DECAP_LINK_SLL2:
		if (cur_u16(c, &type) < 0 || cur_skip(c, 18) < 0)
			return DECAP_TRUNCATED;
		return ethertype(d, c, type, ts, out);
	case DECAP_LINK_RAW:
		return ip_any(d, c, ts, out);
	case DECAP_LINK_IPV4:
		return ipv4(d, c, ts, out);
	case DECAP_LINK_IPV6:
		return ipv6(d, c, ts, out);
	case DECAP_LINK_NULL:
		if (!(p = cur_take(c, 4)))
			return DECAP_TRUNCATED;
		/* host byte order of the capturing machine: the family is < 256 */
		return null_af(d, c, p[0] ? p[0] : be32(p), ts, out);
	case DECAP_LINK_LOOP:
		if (!(p = cur_take(c, 4)))
			return DECAP_TRUNCATED;
		return null_af(d, c, be32(p), ts, out);
	}
	return DECAP_NOT_IP;
}

enum decap_reason decap_frame(struct decap *d, const uint8_t *frame, size_t caplen, nt_usec ts,
			      struct decap_udp *out)
{
	struct cursor c = cur_make(frame, caplen);
	struct decap_udp tmp;
	if (d->frags)
		frag_expire(d, ts);
	d->st.frames++;
	enum decap_reason r = link_layer(d, &c, ts, out ? out : &tmp);
	d->st.n[r]++;
	return r;
}
