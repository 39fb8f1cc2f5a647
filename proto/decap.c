#include "proto/decap.h"

#include <stdlib.h>
#include <string.h>

#include "proto/cursor.h"
#include "proto/packet.h"

#define MAX_IP_PAYLOAD 65535u
#define IPPROTO_UDP_   17

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

/* A reassembled payload: (IPv6: remaining extension headers, then) UDP. */
static enum decap_reason reassembled(struct decap *d, uint8_t proto, uint32_t total,
				     struct decap_udp *out)
{
	struct cursor c = cur_make(d->done, total);
	if (out->src.family == 6 && pkt_walk_v6_exts(&c, &proto) != PW_OK)
		return DECAP_BAD_HEADER; /* the whole payload is here: short is inconsistent */
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

/* ---- network and link: proto/packet.c's walk ----------------------------- */

static enum decap_reason walk_reason(enum pkt_walk w)
{
	switch (w) {
	case PW_OK:
		return DECAP_DATAGRAM;
	case PW_NOT_IP:
		return DECAP_NOT_IP;
	case PW_TRUNCATED:
		return DECAP_TRUNCATED;
	case PW_BAD:
		break;
	}
	return DECAP_BAD_HEADER;
}

static enum decap_reason frame_udp(struct decap *d, struct cursor *c, nt_usec ts,
				   struct decap_udp *out)
{
	struct pkt_l2 l2;
	struct pkt_ip ip;
	enum pkt_walk w = pkt_walk_link(d->link, c, &l2);
	if (w == PW_OK)
		w = pkt_walk_ip(c, l2.ipver, &ip);
	if (w != PW_OK)
		return walk_reason(w);
	/* the datagram is wanted whole: a frame shorter than the IP length is snaplen */
	if (ip.cut)
		return DECAP_TRUNCATED;
	memset(out, 0, sizeof *out);
	out->src = ip.src;
	out->dst = ip.dst;
	if (ip.frag) {
		/* the first fragment tells the transport; later ones cannot */
		if (ip.proto != IPPROTO_UDP_ && (ip.version == 4 || !pkt_v6_ext_hdr(ip.proto)))
			return DECAP_NOT_UDP;
		return fragment(d, ip.frag_id, ip.proto, ip.frag_off, ip.frag_more, &ip.pl, ts,
				out);
	}
	if (ip.proto != IPPROTO_UDP_)
		return DECAP_NOT_UDP;
	return udp(&ip.pl, out);
}

enum decap_reason decap_frame(struct decap *d, const uint8_t *frame, size_t caplen, nt_usec ts,
			      struct decap_udp *out)
{
	struct cursor c = cur_make(frame, caplen);
	struct decap_udp tmp;
	if (d->frags)
		frag_expire(d, ts);
	d->st.frames++;
	enum decap_reason r = frame_udp(d, &c, ts, out ? out : &tmp);
	d->st.n[r]++;
	return r;
}
