/*
 * sFlow v2/v4/v5 decoding (sFlow version 5 specification, sflow.org, and
 * the v2/v4 layouts it superseded).  Every byte is read through
 * proto/cursor.h; each sample and each v5 record is carved out as a
 * sub-cursor of its declared length before its body is read, so a record
 * that lies about its length can neither read past the datagram nor
 * desynchronise the samples that follow.
 *
 * A flow sample is first parsed whole into a struct sample (pointers into
 * the datagram, no copies), then turned into one flow record: the raw packet
 * header first (proto/packet.h), then the sampled IPv4/IPv6/Ethernet
 * records, then the extended records, which take precedence (an extended
 * switch record's VLANs over the 802.1Q tag of the header).  A sample with
 * any malformed part is dropped whole.
 */
#include "proto/sflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/cursor.h"

#define BIT(f) (1ull << (f))

static const char *const err_names[SF_ERR__COUNT] = {
    [SF_OK] = "ok",
    [SF_ERR_SHORT] = "short_datagram",
    [SF_ERR_VERSION] = "bad_version",
    [SF_ERR_ADDRESS] = "bad_address",
    [SF_ERR_SAMPLE_LENGTH] = "sample_length",
    [SF_ERR_RECORD_LENGTH] = "record_length",
    [SF_ERR_TRUNCATED] = "truncated",
    [SF_ERR_COUNT] = "bad_count",
    [SF_ERR_UNKNOWN_TAG] = "unknown_tag",
    [SF_ERR_BAD_HEADER] = "bad_header",
};

const char *sf_err_name(enum sf_err e)
{
	return (unsigned)e < SF_ERR__COUNT ? err_names[e] : "unknown";
}

/* ---- agents ------------------------------------------------------------- */

int sf_collector_init(struct sf_collector *c, const struct sf_options *opt, sf_emit_fn emit,
		      void *emit_arg, sf_counter_fn counters, void *counters_arg)
{
	memset(c, 0, sizeof *c);
	c->nbuckets = 256;
	c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
	if (!c->buckets)
		return -1;
	if (pkt_decoder_init(&c->pkt, 0) < 0) {
		free(c->buckets);
		c->buckets = NULL;
		return -1;
	}
	if (opt)
		c->opt = *opt;
	c->emit = emit;
	c->emit_arg = emit_arg;
	c->counters = counters;
	c->counters_arg = counters_arg;
	return 0;
}

void sf_collector_free(struct sf_collector *c)
{
	if (!c->buckets)
		return;
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct sf_agent *a = c->buckets[i];
		while (a) {
			struct sf_agent *next = a->next;
			free(a);
			a = next;
		}
	}
	free(c->buckets);
	c->buckets = NULL;
	pkt_decoder_free(&c->pkt);
}

static size_t agent_hash(const struct nt_addr *a, uint32_t sub_id, size_t nbuckets)
{
	uint64_t h = 1469598103934665603ull ^ a->family;
	for (int i = 0; i < 16; i++)
		h = (h ^ a->a[i]) * 1099511628211ull;
	for (int i = 0; i < 4; i++)
		h = (h ^ ((sub_id >> (8 * i)) & 0xff)) * 1099511628211ull;
	return (size_t)(h & (nbuckets - 1));
}

/* Double the buckets once chains get long; on failure chains just grow. */
static void rehash(struct sf_collector *c)
{
	size_t n = c->nbuckets * 2;
	struct sf_agent **b = calloc(n, sizeof *b);
	if (!b)
		return;
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct sf_agent *a = c->buckets[i];
		while (a) {
			struct sf_agent *next = a->next;
			size_t h = agent_hash(&a->addr, a->sub_id, n);
			a->next = b[h];
			b[h] = a;
			a = next;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
}

/* The agent's state, created on first sight; NULL when refused or out of memory. */
static struct sf_agent *agent_get(struct sf_collector *c, const struct nt_addr *addr,
				  uint32_t sub_id)
{
	size_t b = agent_hash(addr, sub_id, c->nbuckets);
	for (struct sf_agent *a = c->buckets[b]; a; a = a->next)
		if (a->sub_id == sub_id && a->addr.family == addr->family &&
		    memcmp(a->addr.a, addr->a, 16) == 0)
			return a;
	if (c->opt.max_agents && c->nagents >= c->opt.max_agents) {
		c->refused++;
		return NULL;
	}
	struct sf_agent *a = calloc(1, sizeof *a);
	if (!a) {
		c->refused++;
		return NULL;
	}
	a->addr = *addr;
	a->sub_id = sub_id;
	if (c->nagents >= c->nbuckets * 2) {
		rehash(c);
		b = agent_hash(addr, sub_id, c->nbuckets);
	}
	a->next = c->buckets[b];
	c->buckets[b] = a;
	c->nagents++;
	return a;
}

void sf_collector_foreach(struct sf_collector *c, void (*fn)(void *arg, struct sf_agent *a),
			  void *arg)
{
	for (size_t i = 0; i < c->nbuckets; i++)
		for (struct sf_agent *a = c->buckets[i]; a; a = a->next)
			fn(arg, a);
}

/*
 * Datagram sequence numbers count datagrams per (agent, sub-agent).  A jump
 * forward below 2^31 is loss; a jump backwards, a huge jump, or an uptime
 * that went back (the agent restarted) resynchronises without counting loss.
 */
static void seq_check(struct sf_agent *a, uint32_t seq, uint32_t uptime)
{
	if (a->synced) {
		uint32_t d = seq - a->next_seq;
		int restarted = (int32_t)(uptime - a->last_uptime) < 0;
		if (d == 0) {
			/* in order */
		} else if (restarted || d >= 0x80000000u) {
			a->st.seq_resets++;
		} else {
			a->st.seq_gaps++;
			a->st.lost_datagrams += d;
		}
	}
	a->synced = 1;
	a->next_seq = seq + 1;
	a->last_uptime = uptime;
}

/* ---- XDR helpers ---------------------------------------------------------- */

/* An address: type 1 IPv4, 2 IPv6, 0 unknown (no bytes).  -1 short, -2 bad type. */
static int read_address(struct cursor *cur, struct nt_addr *a)
{
	uint32_t type;
	memset(a, 0, sizeof *a);
	if (cur_u32(cur, &type) < 0)
		return -1;
	switch (type) {
	case 0:
		return 0;
	case 1:
		a->family = 4;
		return cur_bytes(cur, a->a, 4);
	case 2:
		a->family = 6;
		return cur_bytes(cur, a->a, 16);
	default:
		return -2;
	}
}

static enum sf_err addr_err(int rc)
{
	return rc == -2 ? SF_ERR_ADDRESS : SF_ERR_TRUNCATED;
}

/* An XDR opaque/string: length, bytes, padding to 4.  The bytes are not copied. */
static int read_opaque(struct cursor *cur, const uint8_t **p, uint32_t *len)
{
	uint32_t n;
	if (cur_u32(cur, &n) < 0 || n > cur_left(cur))
		return -1;
	size_t padded = ((size_t)n + 3) & ~(size_t)3;
	*p = cur_ptr(cur);
	*len = n;
	return cur_skip(cur, padded > cur_left(cur) ? (size_t)n : padded);
}

/* Append s to a bounded text; a text that would overflow ends with '+' (as pmacct's). */
static void text_add(char *buf, size_t *len, const char *s)
{
	size_t n = strlen(s);
	if (*len >= SF_TEXT_MAX - 1)
		return; /* full, already marked */
	if (*len + n >= SF_TEXT_MAX - 1) {
		/* what fits, then the mark: always SF_TEXT_MAX - 1 characters */
		memcpy(buf + *len, s, SF_TEXT_MAX - 2 - *len);
		buf[SF_TEXT_MAX - 2] = '+';
		buf[SF_TEXT_MAX - 1] = '\0';
		*len = SF_TEXT_MAX - 1;
		return;
	}
	memcpy(buf + *len, s, n + 1);
	*len += n;
}

/* ---- a flow sample, parsed --------------------------------------------- */

struct sample {
	uint16_t version;
	uint32_t rate, in, out;
	int has_header, has_eth, has_ip4, has_ip6, has_switch, has_router, has_gw, has_nat,
	    has_mpls;
	/* raw packet header */
	uint32_t hdr_proto, frame_len;
	const uint8_t *hdr;
	uint32_t hdr_len;
	/* sampled Ethernet */
	uint32_t eth_len, eth_type;
	const uint8_t *eth_src, *eth_dst;
	/* sampled IPv4 / IPv6 (the same fields) */
	const uint8_t *ip_blk;
	/* extended switch */
	uint32_t src_vlan, src_pri, dst_vlan, dst_pri;
	/* extended router (the IP next hop is read, not used) */
	struct nt_addr nexthop;
	uint32_t src_mask, dst_mask;
	/* extended gateway */
	struct nt_addr bgp_nexthop;
	uint32_t src_as, src_peer_as, dst_as, dst_peer_as, local_pref;
	int has_path, has_comms, has_local_pref;
	/* extended NAT */
	struct nt_addr nat_src, nat_dst;
	/* extended MPLS: the input label stack */
	uint32_t mpls_depth;
	const uint8_t *mpls_in;
};

/* Raw packet header (v5 format 1; v2/v4 packet type 1, without `stripped`). */
static enum sf_err rd_header(struct cursor *cur, struct sample *s)
{
	uint32_t stripped;
	if (cur_u32(cur, &s->hdr_proto) < 0 || cur_u32(cur, &s->frame_len) < 0)
		return SF_ERR_TRUNCATED;
	if (s->version >= 5 && cur_u32(cur, &stripped) < 0)
		return SF_ERR_TRUNCATED;
	if (cur_left(cur) < 4)
		return SF_ERR_TRUNCATED;
	if (read_opaque(cur, &s->hdr, &s->hdr_len) < 0)
		return SF_ERR_BAD_HEADER;
	s->has_header = 1;
	return SF_OK;
}

/* Sampled Ethernet (v5 format 2): length, src MAC, dst MAC (each padded to 8), type. */
static enum sf_err rd_ethernet(struct cursor *cur, struct sample *s)
{
	const uint8_t *b = cur_take(cur, 24);
	if (!b)
		return SF_ERR_TRUNCATED;
	s->eth_len = be32(b);
	s->eth_src = b + 4;
	s->eth_dst = b + 12;
	s->eth_type = be32(b + 20);
	s->has_eth = 1;
	return SF_OK;
}

/*
 * Sampled IPv4 (32 bytes: length, protocol, src, dst, src port, dst port,
 * tcp flags, tos) and IPv6 (56 bytes: the same with 16-byte addresses and
 * priority for tos).
 */
static enum sf_err rd_ip(struct cursor *cur, struct sample *s, int v6)
{
	s->ip_blk = cur_take(cur, v6 ? 56 : 32);
	if (!s->ip_blk)
		return SF_ERR_TRUNCATED;
	s->has_ip4 = !v6;
	s->has_ip6 = v6;
	return SF_OK;
}

static enum sf_err rd_switch(struct cursor *cur, struct sample *s)
{
	const uint8_t *b = cur_take(cur, 16);
	if (!b)
		return SF_ERR_TRUNCATED;
	s->src_vlan = be32(b);
	s->src_pri = be32(b + 4);
	s->dst_vlan = be32(b + 8);
	s->dst_pri = be32(b + 12);
	s->has_switch = 1;
	return SF_OK;
}

static enum sf_err rd_router(struct cursor *cur, struct sample *s)
{
	int rc = read_address(cur, &s->nexthop);
	if (rc < 0)
		return addr_err(rc);
	if (cur_u32(cur, &s->src_mask) < 0 || cur_u32(cur, &s->dst_mask) < 0)
		return SF_ERR_TRUNCATED;
	s->has_router = 1;
	return SF_OK;
}

/*
 * Extended gateway.  v5: next hop, as, src_as, src_peer_as, AS path
 * segments (type, count, ASNs), communities, local pref; v4: the same
 * without next hop; v2: as, src_as, src_peer_as and a flat AS list only.
 * The AS path and communities become the texts pmacct prints, in the
 * collector's buffers: ASNs joined by '_', communities as "as:value" (the
 * well-known ones by name) joined by '_'.
 */
static enum sf_err rd_gateway(struct sf_collector *c, struct cursor *cur, struct sample *s)
{
	uint32_t my_as, nseg;
	size_t plen = 0, clen = 0;
	char num[32];

	c->as_path[0] = c->std_comm[0] = '\0';
	if (s->version >= 5) {
		int rc = read_address(cur, &s->bgp_nexthop);
		if (rc < 0)
			return addr_err(rc);
	}
	if (cur_u32(cur, &my_as) < 0 || cur_u32(cur, &s->src_as) < 0 ||
	    cur_u32(cur, &s->src_peer_as) < 0 || cur_u32(cur, &nseg) < 0)
		return SF_ERR_TRUNCATED;
	s->dst_as = s->dst_peer_as = 0;
	if (s->version == 2) {
		/* a flat list of ASNs */
		if (nseg > cur_left(cur) / 4)
			return SF_ERR_COUNT;
		for (uint32_t i = 0; i < nseg; i++) {
			/* counted above: the read cannot fail */
			uint32_t asn = 0;
			cur_u32(cur, &asn);
			if (i == 0)
				s->dst_peer_as = asn;
			s->dst_as = asn;
			snprintf(num, sizeof num, "%s%u", i ? "_" : "", asn);
			text_add(c->as_path, &plen, num);
		}
		s->has_path = nseg > 0;
		s->has_gw = 1;
		return SF_OK;
	}
	if (nseg > cur_left(cur) / 8)
		return SF_ERR_COUNT;
	unsigned total = 0;
	for (uint32_t i = 0; i < nseg; i++) {
		uint32_t type, n;
		if (cur_u32(cur, &type) < 0 || cur_u32(cur, &n) < 0)
			return SF_ERR_TRUNCATED;
		if (n > cur_left(cur) / 4)
			return SF_ERR_COUNT;
		for (uint32_t j = 0; j < n; j++, total++) {
			/* counted above: the read cannot fail */
			uint32_t asn = 0;
			cur_u32(cur, &asn);
			if (total == 0)
				s->dst_peer_as = asn;
			s->dst_as = asn;
			snprintf(num, sizeof num, "%s%u", total ? "_" : "", asn);
			text_add(c->as_path, &plen, num);
		}
	}
	s->has_path = total > 0;
	uint32_t ncomm;
	if (cur_u32(cur, &ncomm) < 0)
		return SF_ERR_TRUNCATED;
	if (ncomm > cur_left(cur) / 4)
		return SF_ERR_COUNT;
	for (uint32_t i = 0; i < ncomm; i++) {
		uint32_t comm = 0;
		cur_u32(cur, &comm);
		if (i)
			text_add(c->std_comm, &clen, "_");
		switch (comm) {
		case 0xFFFFFF01u:
			text_add(c->std_comm, &clen, "no-export");
			break;
		case 0xFFFFFF02u:
			text_add(c->std_comm, &clen, "no-advertise");
			break;
		case 0xFFFFFF03u:
			text_add(c->std_comm, &clen, "local-AS");
			break;
		default:
			snprintf(num, sizeof num, "%u:%u", comm >> 16, comm & 0xffff);
			text_add(c->std_comm, &clen, num);
		}
	}
	s->has_comms = ncomm > 0;
	if (cur_u32(cur, &s->local_pref) < 0)
		return SF_ERR_TRUNCATED;
	s->has_local_pref = 1;
	s->has_gw = 1;
	return SF_OK;
}

/* Extended user: (v5: charset,) source user, (v5: charset,) destination user. */
static enum sf_err rd_user(struct cursor *cur, const struct sample *s)
{
	const uint8_t *p;
	uint32_t n, charset;
	for (int i = 0; i < 2; i++) {
		if (s->version >= 5 && cur_u32(cur, &charset) < 0)
			return SF_ERR_TRUNCATED;
		if (read_opaque(cur, &p, &n) < 0)
			return SF_ERR_TRUNCATED;
	}
	return SF_OK;
}

/* Extended URL: direction, URL, (v5:) host. */
static enum sf_err rd_url(struct cursor *cur, const struct sample *s)
{
	const uint8_t *p;
	uint32_t n, dir;
	if (cur_u32(cur, &dir) < 0 || read_opaque(cur, &p, &n) < 0)
		return SF_ERR_TRUNCATED;
	if (s->version >= 5 && read_opaque(cur, &p, &n) < 0)
		return SF_ERR_TRUNCATED;
	return SF_OK;
}

/* A label stack: count, labels.  NULL-safe for callers that only validate. */
static enum sf_err rd_stack(struct cursor *cur, uint32_t *depth, const uint8_t **labels)
{
	uint32_t n;
	if (cur_u32(cur, &n) < 0)
		return SF_ERR_TRUNCATED;
	if (n > cur_left(cur) / 4)
		return SF_ERR_COUNT;
	const uint8_t *p = cur_take(cur, (size_t)n * 4);
	if (depth) {
		*depth = n;
		*labels = p;
	}
	return SF_OK;
}

/* Extended MPLS: next hop, input label stack, output label stack. */
static enum sf_err rd_mpls(struct cursor *cur, struct sample *s)
{
	struct nt_addr nh;
	enum sf_err e;
	int rc = read_address(cur, &nh);
	if (rc < 0)
		return addr_err(rc);
	if ((e = rd_stack(cur, &s->mpls_depth, &s->mpls_in)) != SF_OK ||
	    (e = rd_stack(cur, NULL, NULL)) != SF_OK)
		return e;
	s->has_mpls = 1;
	return SF_OK;
}

/* Extended NAT: source and destination addresses after translation. */
static enum sf_err rd_nat(struct cursor *cur, struct sample *s)
{
	int rc = read_address(cur, &s->nat_src);
	if (rc == 0)
		rc = read_address(cur, &s->nat_dst);
	if (rc < 0)
		return addr_err(rc);
	s->has_nat = 1;
	return SF_OK;
}

/* MPLS tunnel (name, id, cos), VC (name, id, cos), FTN (description, mask): validated only. */
static enum sf_err rd_named(struct cursor *cur, unsigned tail_words)
{
	const uint8_t *p;
	uint32_t n;
	if (read_opaque(cur, &p, &n) < 0 || cur_skip(cur, 4u * tail_words) < 0)
		return SF_ERR_TRUNCATED;
	return SF_OK;
}

/* v5 flow record formats (enterprise 0). */
enum {
	FLOW_HEADER = 1,
	FLOW_ETHERNET = 2,
	FLOW_IPV4 = 3,
	FLOW_IPV6 = 4,
	EX_SWITCH = 1001,
	EX_ROUTER = 1002,
	EX_GATEWAY = 1003,
	EX_USER = 1004,
	EX_URL = 1005,
	EX_MPLS = 1006,
	EX_NAT = 1007,
	EX_MPLS_TUNNEL = 1008,
	EX_MPLS_VC = 1009,
	EX_MPLS_FTN = 1010,
	EX_MPLS_LDP_FEC = 1011,
	EX_VLAN_TUNNEL = 1012,
};

/* One v5 flow record body (its own sub-cursor).  *known = 0 for skipped formats. */
static enum sf_err rd_flow_record(struct sf_collector *c, uint32_t fmt, struct cursor *rc,
				  struct sample *s, int *known)
{
	*known = 1;
	switch (fmt) {
	case FLOW_HEADER:
		return rd_header(rc, s);
	case FLOW_ETHERNET:
		return rd_ethernet(rc, s);
	case FLOW_IPV4:
		return rd_ip(rc, s, 0);
	case FLOW_IPV6:
		return rd_ip(rc, s, 1);
	case EX_SWITCH:
		return rd_switch(rc, s);
	case EX_ROUTER:
		return rd_router(rc, s);
	case EX_GATEWAY:
		return rd_gateway(c, rc, s);
	case EX_USER:
		return rd_user(rc, s);
	case EX_URL:
		return rd_url(rc, s);
	case EX_MPLS:
		return rd_mpls(rc, s);
	case EX_NAT:
		return rd_nat(rc, s);
	case EX_MPLS_TUNNEL:
	case EX_MPLS_VC:
		return rd_named(rc, 2);
	case EX_MPLS_FTN:
		return rd_named(rc, 1);
	case EX_MPLS_LDP_FEC:
		return cur_skip(rc, 4) < 0 ? SF_ERR_TRUNCATED : SF_OK;
	case EX_VLAN_TUNNEL:
		return rd_stack(rc, NULL, NULL);
	default:
		*known = 0;
		return SF_OK;
	}
}

/* ---- the flow record -------------------------------------------------- */

static void set_addr4(struct nt_addr *a, const uint8_t *p)
{
	memset(a, 0, sizeof *a);
	a->family = 4;
	memcpy(a->a, p, 4);
}

static void set_addr6(struct nt_addr *a, const uint8_t *p)
{
	a->family = 6;
	memcpy(a->a, p, 16);
}

/* The header protocol numbers of the sFlow spec the shared packet decoder reads. */
static int header_link(uint32_t proto, enum decap_link *link)
{
	switch (proto) {
	case 1: /* ISO 8023 (Ethernet) */
		*link = DECAP_LINK_ETHERNET;
		return 0;
	case 11:
		*link = DECAP_LINK_IPV4;
		return 0;
	case 12:
		*link = DECAP_LINK_IPV6;
		return 0;
	default:
		return -1;
	}
}

static void emit_sample(struct sf_collector *c, const struct sf_agent *a, const struct sample *s,
			uint32_t dgram_seq, nt_usec arrival)
{
	struct flow_rec *r = &c->rec;
	uint64_t bytes = 0;
	int have_bytes = 0;

	flow_rec_clear(r);
	if (s->has_header) {
		enum decap_link link;
		if (header_link(s->hdr_proto, &link) == 0)
			pkt_decode(&c->pkt, link, s->hdr, s->hdr_len, s->frame_len, arrival, r);
		/* pmacct counts the sampled frame's whole length, layer 2 included */
		bytes = s->frame_len;
		have_bytes = 1;
	}
	if (s->has_ip4 || s->has_ip6) {
		const uint8_t *b = s->ip_blk;
		bytes = be32(b);
		have_bytes = 1;
		r->proto = (uint8_t)be32(b + 4);
		if (s->has_ip4) {
			set_addr4(&r->src_addr, b + 8);
			set_addr4(&r->dst_addr, b + 12);
			b += 16;
		} else {
			set_addr6(&r->src_addr, b + 8);
			set_addr6(&r->dst_addr, b + 24);
			b += 40;
		}
		r->src_port = (uint16_t)be32(b);
		r->dst_port = (uint16_t)be32(b + 4);
		r->tcp_flags = (uint8_t)be32(b + 8);
		r->tos = (uint8_t)be32(b + 12);
		r->present |= BIT(FR_SRC_ADDR) | BIT(FR_DST_ADDR) | BIT(FR_PROTO) | BIT(FR_TOS) |
			      BIT(FR_TCP_FLAGS);
		/* ports mean something for TCP and UDP only (as the packet decoder and pmacct) */
		if (r->proto == 6 || r->proto == 17)
			r->present |= BIT(FR_SRC_PORT) | BIT(FR_DST_PORT);
	}
	if (s->has_eth) {
		memcpy(r->src_mac, s->eth_src, 6);
		memcpy(r->dst_mac, s->eth_dst, 6);
		r->etype = (uint16_t)s->eth_type;
		r->present |= BIT(FR_SRC_MAC) | BIT(FR_DST_MAC) | BIT(FR_ETYPE);
		if (!have_bytes) {
			bytes = s->eth_len;
			have_bytes = 1;
		}
	}
	if (s->has_switch) {
		/* the switch knows its VLANs better than a tag seen in the header */
		r->vlan_in = (uint16_t)s->src_vlan;
		r->vlan_out = (uint16_t)s->dst_vlan;
		r->cos = (uint8_t)s->src_pri;
		r->present |= BIT(FR_VLAN_IN) | BIT(FR_VLAN_OUT) | BIT(FR_COS);
	}
	if (s->has_router) {
		/*
		 * The router's IP next hop is not peer_dst_ip: that is the BGP next hop
		 * (pmacct uses the IP one only with use_ip_next_hop, which netacct lacks).
		 */
		r->src_mask = (uint8_t)s->src_mask;
		r->dst_mask = (uint8_t)s->dst_mask;
		r->present |= BIT(FR_SRC_MASK) | BIT(FR_DST_MASK);
	}
	if (s->has_gw) {
		if (s->bgp_nexthop.family) {
			r->peer_dst_ip = s->bgp_nexthop;
			FR_SET(r, FR_PEER_DST_IP);
		}
		r->src_as = s->src_as;
		r->peer_src_as = s->src_peer_as;
		r->dst_as = s->dst_as;
		r->peer_dst_as = s->dst_peer_as;
		r->present |=
		    BIT(FR_SRC_AS) | BIT(FR_PEER_SRC_AS) | BIT(FR_DST_AS) | BIT(FR_PEER_DST_AS);
		if (s->has_path) {
			r->as_path = c->as_path;
			FR_SET(r, FR_AS_PATH);
		}
		if (s->has_comms) {
			r->std_comm = c->std_comm;
			FR_SET(r, FR_STD_COMM);
		}
		if (s->has_local_pref) {
			r->local_pref = s->local_pref;
			FR_SET(r, FR_LOCAL_PREF);
		}
	}
	if (s->has_nat) {
		if (s->nat_src.family) {
			r->post_nat_src_addr = s->nat_src;
			FR_SET(r, FR_POST_NAT_SRC_ADDR);
		}
		if (s->nat_dst.family) {
			r->post_nat_dst_addr = s->nat_dst;
			FR_SET(r, FR_POST_NAT_DST_ADDR);
		}
	}
	if (s->has_mpls && s->mpls_depth && !FR_HAS(r, FR_MPLS)) {
		unsigned n = s->mpls_depth < FR_MPLS_MAX ? s->mpls_depth : FR_MPLS_MAX;
		for (unsigned i = 0; i < n; i++)
			r->mpls[i] = be32(s->mpls_in + 4 * i) & 0xffffff;
		r->mpls_depth = (uint8_t)n;
		FR_SET(r, FR_MPLS);
	}

	r->in_iface = s->in;
	r->out_iface = s->out;
	r->present |= BIT(FR_IN_IFACE) | BIT(FR_OUT_IFACE);
	r->peer_src_ip = a->addr;
	FR_SET(r, FR_PEER_SRC_IP);
	r->sampling_rate = c->opt.ext_sampling_rate ? c->opt.ext_sampling_rate : s->rate;
	if (r->sampling_rate)
		FR_SET(r, FR_SAMPLING);
	r->packets = 1;
	r->bytes = have_bytes ? bytes : 0;
	r->export_version = s->version;
	r->export_seqno = dgram_seq;
	r->export_sysid = a->sub_id;
	r->ts_arrival = arrival;
	r->ts_export = arrival;
	c->emit(c->emit_arg, r);
}

/* ---- flow samples --------------------------------------------------------- */

/* The v5 part after the sample header: #records, records (format, length, body). */
static enum sf_err rd_v5_records(struct sf_collector *c, struct sf_agent *a, struct cursor *cur,
				 struct sample *s)
{
	uint32_t n;
	if (cur_u32(cur, &n) < 0)
		return SF_ERR_TRUNCATED;
	if (n > cur_left(cur) / 8)
		return SF_ERR_COUNT;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t fmt, len;
		struct cursor rc;
		int known;
		if (cur_u32(cur, &fmt) < 0 || cur_u32(cur, &len) < 0)
			return SF_ERR_TRUNCATED;
		if (cur_sub(cur, len, &rc) < 0)
			return SF_ERR_RECORD_LENGTH;
		enum sf_err e = rd_flow_record(c, fmt, &rc, s, &known);
		if (e != SF_OK)
			return e;
		if (!known)
			a->st.skipped++;
		else if (cur_left(&rc))
			return SF_ERR_RECORD_LENGTH; /* a known record of another size: the length
							lies */
	}
	return SF_OK;
}

static enum sf_err rd_v5_flow_sample(struct sf_collector *c, struct sf_agent *a, struct cursor *cur,
				     int expanded, uint32_t dgram_seq, nt_usec arrival)
{
	struct sample s;
	uint32_t seq, src, src_idx, pool, drops, fmt;
	memset(&s, 0, sizeof s);
	s.version = 5;
	if (cur_u32(cur, &seq) < 0 || cur_u32(cur, &src) < 0)
		return SF_ERR_TRUNCATED;
	if (expanded && cur_u32(cur, &src_idx) < 0)
		return SF_ERR_TRUNCATED;
	if (cur_u32(cur, &s.rate) < 0 || cur_u32(cur, &pool) < 0 || cur_u32(cur, &drops) < 0)
		return SF_ERR_TRUNCATED;
	if (expanded) {
		if (cur_u32(cur, &fmt) < 0 || cur_u32(cur, &s.in) < 0 || cur_u32(cur, &fmt) < 0 ||
		    cur_u32(cur, &s.out) < 0)
			return SF_ERR_TRUNCATED;
	} else if (cur_u32(cur, &s.in) < 0 || cur_u32(cur, &s.out) < 0) {
		return SF_ERR_TRUNCATED;
	}
	enum sf_err e = rd_v5_records(c, a, cur, &s);
	if (e != SF_OK)
		return e;
	if (cur_left(cur))
		return SF_ERR_SAMPLE_LENGTH; /* bytes the records do not account for */
	a->st.flow_samples++;
	emit_sample(c, a, &s, dgram_seq, arrival);
	return SF_OK;
}

/* v2/v4 flow sample: fixed header, one packet record, extended records without lengths. */
static enum sf_err rd_v24_flow_sample(struct sf_collector *c, struct sf_agent *a,
				      struct cursor *cur, uint16_t version, uint32_t dgram_seq,
				      nt_usec arrival)
{
	struct sample s;
	uint32_t seq, src, pool, drops, type, next;
	enum sf_err e;
	memset(&s, 0, sizeof s);
	s.version = version;
	if (cur_u32(cur, &seq) < 0 || cur_u32(cur, &src) < 0 || cur_u32(cur, &s.rate) < 0 ||
	    cur_u32(cur, &pool) < 0 || cur_u32(cur, &drops) < 0 || cur_u32(cur, &s.in) < 0 ||
	    cur_u32(cur, &s.out) < 0 || cur_u32(cur, &type) < 0)
		return SF_ERR_TRUNCATED;
	switch (type) {
	case 1:
		e = rd_header(cur, &s);
		break;
	case 2:
		e = rd_ip(cur, &s, 0);
		break;
	case 3:
		e = rd_ip(cur, &s, 1);
		break;
	default:
		return SF_ERR_UNKNOWN_TAG;
	}
	if (e != SF_OK)
		return e;
	if (cur_u32(cur, &next) < 0)
		return SF_ERR_TRUNCATED;
	if (next > cur_left(cur) / 4)
		return SF_ERR_COUNT;
	for (uint32_t i = 0; i < next; i++) {
		if (cur_u32(cur, &type) < 0)
			return SF_ERR_TRUNCATED;
		switch (type) {
		case 1:
			e = rd_switch(cur, &s);
			break;
		case 2:
			e = rd_router(cur, &s);
			break;
		case 3:
			e = rd_gateway(c, cur, &s);
			break;
		case 4:
			e = rd_user(cur, &s);
			break;
		case 5:
			e = rd_url(cur, &s);
			break;
		default:
			return SF_ERR_UNKNOWN_TAG;
		}
		if (e != SF_OK)
			return e;
	}
	a->st.flow_samples++;
	emit_sample(c, a, &s, dgram_seq, arrival);
	return SF_OK;
}

/* ---- counter samples -------------------------------------------------- */

static const char *const generic_names[] = {"ifIndex",
					    "ifType",
					    "ifSpeed",
					    "ifDirection",
					    "ifStatus",
					    "ifInOctets",
					    "ifInUcastPkts",
					    "ifInMulticastPkts",
					    "ifInBroadcastPkts",
					    "ifInDiscards",
					    "ifInErrors",
					    "ifInUnknownProtos",
					    "ifOutOctets",
					    "ifOutUcastPkts",
					    "ifOutMulticastPkts",
					    "ifOutBroadcastPkts",
					    "ifOutDiscards",
					    "ifOutErrors",
					    "ifPromiscuousMode"};
/* wire widths in bytes of the generic interface counters */
static const uint8_t generic_width[] = {4, 4, 8, 4, 4, 8, 4, 4, 4, 4, 4, 4, 8, 4, 4, 4, 4, 4, 4};

static const char *const ethernet_names[] = {"dot3StatsAlignmentErrors",
					     "dot3StatsFCSErrors",
					     "dot3StatsSingleCollisionFrames",
					     "dot3StatsMultipleCollisionFrames",
					     "dot3StatsSQETestErrors",
					     "dot3StatsDeferredTransmissions",
					     "dot3StatsLateCollisions",
					     "dot3StatsExcessiveCollisions",
					     "dot3StatsInternalMacTransmitErrors",
					     "dot3StatsCarrierSenseErrors",
					     "dot3StatsFrameTooLongs",
					     "dot3StatsInternalMacReceiveErrors",
					     "dot3StatsSymbolErrors"};

static const char *const vlan_names[] = {"vlan",	  "octets",	   "ucastPkts",
					 "multicastPkts", "broadcastPkts", "discards"};
static const uint8_t vlan_width[] = {4, 8, 4, 4, 4, 4};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Read a counter block of known layout into c->v; -1 when short. */
static int rd_counter_block(struct cursor *cur, struct sf_counters *k, enum sf_counter_type type)
{
	const uint8_t *w = NULL;
	k->type = type;
	switch (type) {
	case SF_CNT_GENERIC:
		k->type_name = "sflow_cnt_generic";
		k->names = generic_names;
		k->n = NELEM(generic_names);
		w = generic_width;
		break;
	case SF_CNT_ETHERNET:
		k->type_name = "sflow_cnt_ethernet";
		k->names = ethernet_names;
		k->n = NELEM(ethernet_names);
		break;
	case SF_CNT_VLAN:
		k->type_name = "sflow_cnt_vlan";
		k->names = vlan_names;
		k->n = NELEM(vlan_names);
		w = vlan_width;
		break;
	}
	for (unsigned i = 0; i < k->n; i++) {
		if (w && w[i] == 8) {
			if (cur_u64(cur, &k->v[i]) < 0)
				return -1;
		} else {
			uint32_t v;
			if (cur_u32(cur, &v) < 0)
				return -1;
			k->v[i] = v;
		}
	}
	return 0;
}

static void counters_out(struct sf_collector *c, const struct sf_counters *k)
{
	if (c->counters)
		c->counters(c->counters_arg, k);
}

static enum sf_err rd_v5_counter_sample(struct sf_collector *c, struct sf_agent *a,
					struct cursor *cur, int expanded, uint32_t dgram_seq)
{
	struct sf_counters k;
	uint32_t src, n;
	memset(&k, 0, sizeof k);
	k.agent = a;
	k.version = 5;
	k.dgram_seq = dgram_seq;
	if (cur_u32(cur, &k.sample_seq) < 0 || cur_u32(cur, &src) < 0)
		return SF_ERR_TRUNCATED;
	if (expanded) {
		k.source_type = src;
		if (cur_u32(cur, &k.source_index) < 0)
			return SF_ERR_TRUNCATED;
	} else {
		k.source_type = src >> 24;
		k.source_index = src & 0xffffff;
	}
	if (cur_u32(cur, &n) < 0)
		return SF_ERR_TRUNCATED;
	if (n > cur_left(cur) / 8)
		return SF_ERR_COUNT;
	/*
	 * Validate the whole sample before handing any record on: a malformed
	 * sample produces no counter lines at all.
	 */
	struct cursor start = *cur;
	for (int pass = 0; pass < 2; pass++) {
		*cur = start;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t fmt, len;
			struct cursor rc;
			if (cur_u32(cur, &fmt) < 0 || cur_u32(cur, &len) < 0)
				return SF_ERR_TRUNCATED;
			if (cur_sub(cur, len, &rc) < 0)
				return SF_ERR_RECORD_LENGTH;
			if (fmt != SF_CNT_GENERIC && fmt != SF_CNT_ETHERNET && fmt != SF_CNT_VLAN) {
				if (pass == 0)
					a->st.skipped++;
				continue;
			}
			if (rd_counter_block(&rc, &k, (enum sf_counter_type)fmt) < 0)
				return SF_ERR_TRUNCATED;
			if (cur_left(&rc))
				return SF_ERR_RECORD_LENGTH;
			if (pass == 1)
				counters_out(c, &k);
		}
	}
	if (cur_left(cur))
		return SF_ERR_SAMPLE_LENGTH;
	a->st.counter_samples++;
	return SF_OK;
}

/*
 * v2/v4 counter sample: seq, source id, interval, counters version, then the
 * generic block (versions 1-6) and a specific one (2 Ethernet, 3 token
 * ring, 5 100BaseVG, 7 VLAN only).
 */
static enum sf_err rd_v24_counter_sample(struct sf_collector *c, struct sf_agent *a,
					 struct cursor *cur, uint16_t version, uint32_t dgram_seq)
{
	struct sf_counters gen, spec;
	uint32_t src, interval, cver;
	memset(&gen, 0, sizeof gen);
	gen.agent = a;
	gen.version = version;
	gen.dgram_seq = dgram_seq;
	if (cur_u32(cur, &gen.sample_seq) < 0 || cur_u32(cur, &src) < 0 ||
	    cur_u32(cur, &interval) < 0 || cur_u32(cur, &cver) < 0)
		return SF_ERR_TRUNCATED;
	gen.source_type = src >> 24;
	gen.source_index = src & 0xffffff;
	spec = gen;
	if (cver < 1 || cver > 7)
		return SF_ERR_UNKNOWN_TAG;
	int has_gen = cver != 7, has_spec = cver == 2 || cver == 7;
	size_t skip = cver == 3 ? 72 : cver == 5 ? 80 : 0;
	if (has_gen && rd_counter_block(cur, &gen, SF_CNT_GENERIC) < 0)
		return SF_ERR_TRUNCATED;
	if (has_spec && rd_counter_block(cur, &spec, cver == 2 ? SF_CNT_ETHERNET : SF_CNT_VLAN) < 0)
		return SF_ERR_TRUNCATED;
	if (cur_skip(cur, skip) < 0)
		return SF_ERR_TRUNCATED;
	if (has_gen)
		counters_out(c, &gen);
	if (has_spec)
		counters_out(c, &spec);
	a->st.counter_samples++;
	return SF_OK;
}

/* ---- datagrams -------------------------------------------------------- */

enum sf_err sf_decode(struct sf_collector *c, const uint8_t *buf, size_t len, nt_usec arrival,
		      struct sf_agent **agent_out)
{
	struct cursor cur = cur_make(buf, len);
	uint32_t version, sub_id = 0, seq, uptime, nsamples;
	struct nt_addr addr;
	enum sf_err e = SF_OK;
	struct sf_agent *a;
	int rc;

	if (agent_out)
		*agent_out = NULL;
	if (cur_u32(&cur, &version) < 0) {
		c->early[SF_ERR_SHORT]++;
		return SF_ERR_SHORT;
	}
	if (version != 2 && version != 4 && version != 5) {
		c->early[SF_ERR_VERSION]++;
		return SF_ERR_VERSION;
	}
	rc = read_address(&cur, &addr);
	if (rc < 0 || (version == 5 && cur_u32(&cur, &sub_id) < 0) || cur_u32(&cur, &seq) < 0 ||
	    cur_u32(&cur, &uptime) < 0 || cur_u32(&cur, &nsamples) < 0) {
		e = rc == -2 ? SF_ERR_ADDRESS : SF_ERR_SHORT;
		c->early[e]++;
		return e;
	}
	a = agent_get(c, &addr, sub_id);
	if (!a)
		return SF_OK;
	if (agent_out)
		*agent_out = a;
	a->st.datagrams++;
	seq_check(a, seq, uptime);

	/* each sample takes at least 8 bytes (type + length, or type + sequence) */
	if (nsamples > cur_left(&cur) / 8) {
		e = SF_ERR_COUNT;
		goto bad;
	}
	for (uint32_t i = 0; i < nsamples; i++) {
		uint32_t type;
		if (cur_u32(&cur, &type) < 0) {
			e = SF_ERR_TRUNCATED;
			goto bad;
		}
		if (version < 5) {
			if (type == 1)
				e = rd_v24_flow_sample(c, a, &cur, (uint16_t)version, seq, arrival);
			else if (type == 2)
				e = rd_v24_counter_sample(c, a, &cur, (uint16_t)version, seq);
			else
				e = SF_ERR_UNKNOWN_TAG;
			if (e != SF_OK)
				goto bad;
			continue;
		}
		uint32_t slen;
		struct cursor sc;
		if (cur_u32(&cur, &slen) < 0) {
			e = SF_ERR_TRUNCATED;
			goto bad;
		}
		if (cur_sub(&cur, slen, &sc) < 0) {
			e = SF_ERR_SAMPLE_LENGTH;
			goto bad;
		}
		enum sf_err se = SF_OK;
		switch (type) {
		case 1:
		case 3:
			se = rd_v5_flow_sample(c, a, &sc, type == 3, seq, arrival);
			break;
		case 2:
		case 4:
			se = rd_v5_counter_sample(c, a, &sc, type == 4, seq);
			break;
		default:
			/* other enterprises and formats: skipped by their length */
			a->st.skipped++;
			break;
		}
		/* the sample is dropped; its length still leads to the next one */
		if (se != SF_OK) {
			a->st.err[se]++;
			if (e == SF_OK)
				e = se;
		}
	}
	return e;
bad:
	a->st.err[e]++;
	return e;
}
