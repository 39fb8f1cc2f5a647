/*
 * The primitive table.  Each row: aggregate name, JSON name, CSV header,
 * key width, formatted column width, description, extractor, renderer.
 * Rows are in output order (the order pmacct prints its fields in), so a key
 * spec laid out in table order renders in that order.
 */
#include "agg/primitive.h"

#include "agg/classify.h"
#include "agg/mapline.h"
#include "agg/table.h"
#include "agg/timebin.h"
#include "agg/pretag.h" /* PRETAG_LABEL_MAX */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REC(r, T, off) (*(const T *)((const uint8_t *)(r) + (off)))

/* ---- helpers ---------------------------------------------------------- */

static void put_addr(uint8_t *k, const struct nt_addr *a)
{
	k[0] = a->family;
	memcpy(k + 1, a->a, 16);
}

/* Decimal digits of u at p (no NUL); returns the count.  printf costs ~10x more per row. */
static size_t put_dec(char *p, uint64_t u)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + u % 10u);
		u /= 10u;
	} while (u);
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/*
 * IPv6 text as inet_ntop() writes it (RFC 5952: lower-case hex, the first
 * longest run of two or more zero groups as "::"), without its sprintf.
 * Returns 0 for the forms inet_ntop writes with an embedded IPv4 address
 * (::a.b.c.d, ::ffff:a.b.c.d), which are left to it.
 */
static int ipv6_text(const uint8_t *a, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	unsigned w[8];
	int best = -1, best_len = 0;
	for (int i = 0; i < 8; i++)
		w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	for (int i = 0; i < 8;) {
		if (w[i]) {
			i++;
			continue;
		}
		int j = i;
		while (j < 8 && !w[j])
			j++;
		if (j - i > best_len)
			best = i, best_len = j - i;
		i = j;
	}
	if (best_len < 2)
		best = -1;
	if (best == 0 &&
	    (best_len == 6 || (best_len == 7 && w[7] != 1) || (best_len == 5 && w[5] == 0xffff)))
		return 0;
	char *p = buf;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			*p++ = ':';
			if (i + best_len == 8)
				*p++ = ':';
			i += best_len - 1;
			continue;
		}
		if (i)
			*p++ = ':';
		int started = 0;
		for (int sh = 12; sh >= 0; sh -= 4) {
			unsigned d = (w[i] >> sh) & 0xf;
			if (d || started || sh == 0)
				*p++ = hex[d], started = 1;
		}
	}
	*p = '\0';
	return 1;
}

static void family_bytes_to_text(uint8_t family, const uint8_t *bytes, char *buf, size_t len)
{
	if (family == 6 && len >= 46 && ipv6_text(bytes, buf))
		return;
	if (family == 4 && len >= 16) { /* the common case, without inet_ntop's sprintf */
		char *p = buf;
		for (int i = 0; i < 4; i++) {
			if (i)
				*p++ = '.';
			p += put_dec(p, bytes[i]);
		}
		*p = '\0';
	} else if (family == 4)
		inet_ntop(AF_INET, bytes, buf, (socklen_t)len);
	else if (family == 6)
		inet_ntop(AF_INET6, bytes, buf, (socklen_t)len);
	else if (len)
		buf[0] = '\0';
}

void addr_to_text(const uint8_t *slot, char *buf, size_t len)
{
	family_bytes_to_text(slot[0], slot + 1, buf, len);
}

void nt_addr_to_text(const struct nt_addr *a, char *buf, size_t len)
{
	family_bytes_to_text(a->family, a->a, buf, len);
}

static void mask_addr(uint8_t *k, uint8_t bits)
{
	unsigned total = k[0] == 4 ? 32 : k[0] == 6 ? 128 : 0;
	if (bits > total)
		bits = (uint8_t)total;
	for (unsigned i = 0; i < total / 8; i++) {
		unsigned lo = i * 8;
		uint8_t m = bits >= lo + 8 ? 0xff
			    : bits <= lo   ? 0
					   : (uint8_t)(0xff << (8 - (bits - lo)));
		k[1 + i] &= m;
	}
}

static uint64_t get_uint(const uint8_t *k, unsigned width)
{
	switch (width) {
	case 1:
		return k[0];
	case 2: {
		uint16_t v;
		memcpy(&v, k, 2);
		return v;
	}
	case 4: {
		uint32_t v;
		memcpy(&v, k, 4);
		return v;
	}
	default: {
		uint64_t v;
		memcpy(&v, k, 8);
		return v;
	}
	}
}

/* ---- typed values ------------------------------------------------------ */

void prim_val_uint(struct prim_val *v, uint64_t u)
{
	v->kind = PV_UINT;
	v->u = u;
	v->s[put_dec(v->s, u)] = '\0';
}

void prim_val_str(struct prim_val *v, const char *s)
{
	size_t n = strlen(s);
	if (n > sizeof v->s - 1)
		n = sizeof v->s - 1;
	v->kind = PV_STR;
	memcpy(v->s, s, n);
	v->s[n] = '\0';
}

void prim_val_null(struct prim_val *v)
{
	v->kind = PV_NULL;
	v->s[0] = '\0';
}

void prim_val_addr(struct prim_val *v, const uint8_t *slot)
{
	v->kind = PV_ADDR;
	memcpy(v->addr, slot, 17);
	addr_to_text(slot, v->s, sizeof v->s);
}

void prim_val_list(struct prim_val *v)
{
	v->kind = PV_LIST;
	v->n = 0;
	v->s[0] = '\0';
}

void prim_val_map(struct prim_val *v)
{
	prim_val_list(v);
	v->kind = PV_MAP;
}

/* Append ",name=text" (or the first item without the comma) to s and index it. */
static int add_item(struct prim_val *v, const char *name, const char *text, int is_uint, uint64_t u)
{
	size_t len = strlen(v->s), nl = name ? strlen(name) : 0, tl = strlen(text);
	size_t need = (v->n ? 1 : 0) + (name ? nl + 1 : 0) + tl;
	if (v->n == PRIM_ITEMS_MAX || len + need >= sizeof v->s)
		return -1;
	struct prim_item *it = &v->item[v->n++];
	char *p = v->s + len;
	if (v->n > 1)
		*p++ = ',';
	it->name_off = (uint16_t)(p - v->s);
	it->name_len = (uint16_t)nl;
	if (name) {
		memcpy(p, name, nl);
		p += nl;
		*p++ = '=';
	}
	it->off = (uint16_t)(p - v->s);
	it->len = (uint16_t)tl;
	memcpy(p, text, tl + 1);
	it->is_uint = (uint8_t)is_uint;
	it->u = u;
	return 0;
}

int prim_val_list_str(struct prim_val *v, const char *s)
{
	return add_item(v, NULL, s, 0, 0);
}

int prim_val_list_uint(struct prim_val *v, uint64_t u)
{
	char t[24];
	snprintf(t, sizeof t, "%llu", (unsigned long long)u);
	return add_item(v, NULL, t, 1, u);
}

int prim_val_map_str(struct prim_val *v, const char *name, const char *s)
{
	return add_item(v, name, s, 0, 0);
}

int prim_val_map_uint(struct prim_val *v, const char *name, uint64_t u)
{
	char t[24];
	snprintf(t, sizeof t, "%llu", (unsigned long long)u);
	return add_item(v, name, t, 1, u);
}

static void val_uint(struct prim_val *v, uint64_t u)
{
	prim_val_uint(v, u);
}

static void val_str(struct prim_val *v, const char *s)
{
	prim_val_str(v, s);
}

/* ---- generic extractors keyed by record offset ------------------------- */

/* Field offsets into struct flow_rec used by the generic rows below. */
#define OFF(m) offsetof(struct flow_rec, m)

struct gen_field {
	const char *name;
	size_t off;
	unsigned size;
};

/* Where table-driven extractors (ext_addr, ext_raw, ext_time) find their field. */
static const struct gen_field gen_fields[] = {
    {"src_host", OFF(src_addr), 0},
    {"dst_host", OFF(dst_addr), 0},
    {"peer_src_ip", OFF(peer_src_ip), 0},
    {"peer_dst_ip", OFF(peer_dst_ip), 0},
    {"post_nat_src_host", OFF(post_nat_src_addr), 0},
    {"post_nat_dst_host", OFF(post_nat_dst_addr), 0},
    {"src_as", OFF(src_as), 4},
    {"dst_as", OFF(dst_as), 4},
    {"in_iface", OFF(in_iface), 4},
    {"out_iface", OFF(out_iface), 4},
    {"src_mask", OFF(src_mask), 1},
    {"dst_mask", OFF(dst_mask), 1},
    {"src_port", OFF(src_port), 2},
    {"dst_port", OFF(dst_port), 2},
    {"post_nat_src_port", OFF(post_nat_src_port), 2},
    {"post_nat_dst_port", OFF(post_nat_dst_port), 2},
    {"tos", OFF(tos), 1},
    {"nat_event", OFF(nat_event), 1},
    {"vlan", OFF(vlan_in), 2},
    {"in_vlan", OFF(vlan_in), 2},
    {"out_vlan", OFF(vlan_out), 2},
    {"sampling_rate", OFF(sampling_rate), 4},
    {"flow_label", OFF(flow_label), 4},
    {"export_proto_version", OFF(export_version), 2},
    {"export_proto_seqno", OFF(export_seqno), 4},
    {"export_proto_sysid", OFF(export_sysid), 4},
    {"timestamp_start", OFF(ts_start), 8},
    {"timestamp_end", OFF(ts_end), 8},
    {"timestamp_arrival", OFF(ts_arrival), 8},
    {"timestamp_export", OFF(ts_export), 8},
    {"src_mac", OFF(src_mac), 6},
    {"dst_mac", OFF(dst_mac), 6},
    {"sum_port", OFF(src_port), 2},
    {"sum_as", OFF(src_as), 4},
    {"sum_mac", OFF(src_mac), 6},
};

static const struct gen_field *gen_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof gen_fields / sizeof gen_fields[0]; i++)
		if (strcmp(gen_fields[i].name, name) == 0)
			return &gen_fields[i];
	return NULL;
}

/* Record offsets are resolved once, at keyspec build time, not per record. */
static size_t gen_off(const struct keyspec_field *f)
{
	return f->rec_off;
}

static void ext_addr(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
		     const struct prim_opts *o)
{
	(void)o;
	put_addr(k, &REC(r, struct nt_addr, gen_off(f)));
}

static void ext_raw(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
		    const struct prim_opts *o)
{
	(void)o;
	memcpy(k, (const uint8_t *)r + gen_off(f), f->width);
}

static void ren_addr(const uint8_t *k, const struct keyspec_field *f, const struct prim_opts *o,
		     struct prim_val *v)
{
	(void)f;
	(void)o;
	prim_val_addr(v, k);
}

static void ren_uint(const uint8_t *k, const struct keyspec_field *f, const struct prim_opts *o,
		     struct prim_val *v)
{
	(void)o;
	val_uint(v, get_uint(k, f->width));
}

static void ren_mac(const uint8_t *k, const struct keyspec_field *f, const struct prim_opts *o,
		    struct prim_val *v)
{
	(void)f;
	(void)o;
	v->kind = PV_STR;
	snprintf(v->s, sizeof v->s, "%02x:%02x:%02x:%02x:%02x:%02x", k[0], k[1], k[2], k[3], k[4],
		 k[5]);
}

/* ---- special extractors ------------------------------------------------ */

static void ext_src_net(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			const struct prim_opts *o)
{
	(void)f;
	(void)o;
	/* the networks stage's prefix (networks_file, nfacctd_net) when it ran */
	if (FR_HAS(r, FR_SRC_NET)) {
		put_addr(k, &r->src_net);
		return;
	}
	put_addr(k, &r->src_addr);
	mask_addr(k, FR_HAS(r, FR_SRC_MASK) ? r->src_mask : 0);
}

static void ext_dst_net(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			const struct prim_opts *o)
{
	(void)f;
	(void)o;
	if (FR_HAS(r, FR_DST_NET)) {
		put_addr(k, &r->dst_net);
		return;
	}
	put_addr(k, &r->dst_addr);
	mask_addr(k, FR_HAS(r, FR_DST_MASK) ? r->dst_mask : 0);
}

/*
 * ICMP has no ports: NetFlow v5 exporters put type << 8 | code in the
 * destination port, and pmacct shows it there whatever the export protocol,
 * so a type/code exported on its own (IPFIX IE 32 / 139) lands there too.
 */
static void ext_dst_port(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			 const struct prim_opts *o)
{
	(void)f;
	(void)o;
	uint16_t port = FR_HAS(r, FR_DST_PORT) ? r->dst_port : 0;
	if (FR_HAS(r, FR_ICMP) && !port && FR_HAS(r, FR_PROTO) && (r->proto == 1 || r->proto == 58))
		port = r->icmp_type_code;
	memcpy(k, &port, 2);
}

/* tos_encode_as_dscp shifts before aggregation: ToS values of one DSCP are one row. */
static void ext_tos(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
		    const struct prim_opts *o)
{
	(void)f;
	k[0] = o->tos_dscp ? (uint8_t)(r->tos >> 2) : r->tos;
}

static void ext_proto(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
		      const struct prim_opts *o)
{
	(void)f;
	(void)o;
	k[0] = r->proto;
}

static void ren_proto(const uint8_t *k, const struct keyspec_field *f, const struct prim_opts *o,
		      struct prim_val *v)
{
	(void)f;
	/* print_num_protos: the number, still a JSON string as pmacct writes it */
	if (o->num_protos) {
		v->kind = PV_STR;
		snprintf(v->s, sizeof v->s, "%u", k[0]);
		return;
	}
	/* Names from the IANA protocol registry, as pmacct prints them. */
	static const char *const names[256] = {
	    [0] = "ip",	    [1] = "icmp",	  [2] = "igmp",	 [4] = "ipencap",    [6] = "tcp",
	    [8] = "egp",    [9] = "igp",	  [17] = "udp",	 [41] = "ipv6",	     [46] = "rsvp",
	    [47] = "gre",   [50] = "esp",	  [51] = "ah",	 [58] = "ipv6-icmp", [88] = "eigrp",
	    [89] = "ospf",  [94] = "ipip",	  [103] = "pim", [112] = "vrrp",     [115] = "l2tp",
	    [132] = "sctp", [137] = "mpls-in-ip",
	};
	if (names[k[0]])
		val_str(v, names[k[0]]);
	else {
		v->kind = PV_STR;
		snprintf(v->s, sizeof v->s, "%u", k[0]);
	}
}

/* ---- BGP-ish fields from sFlow's extended gateway record ---------------- */

static void ext_peer_src_as(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			    const struct prim_opts *o)
{
	(void)f;
	(void)o;
	memcpy(k, &r->peer_src_as, 4);
}

static void ext_peer_dst_as(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			    const struct prim_opts *o)
{
	(void)f;
	(void)o;
	memcpy(k, &r->peer_dst_as, 4);
}

static void ext_local_pref(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			   const struct prim_opts *o)
{
	(void)f;
	(void)o;
	memcpy(k, &r->local_pref, 4);
}

/*
 * Texts live in the key at a fixed width (PRIM_BGP_TEXT bytes, NUL
 * included): a longer text is cut and ends with '+', the mark pmacct
 * uses for a cut AS path, so it can never pass for a complete one.
 */
#define PRIM_BGP_TEXT 128

static void put_text(uint8_t *k, const char *s, unsigned width)
{
	size_t n = strnlen(s, width);
	if (n >= width) {
		memcpy(k, s, width - 2);
		k[width - 2] = '+';
		k[width - 1] = '\0';
	} else {
		memcpy(k, s, n);
	}
}

static void ext_as_path(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			const struct prim_opts *o)
{
	(void)o;
	if (r->as_path)
		put_text(k, r->as_path, f->width);
}

static void ext_std_comm(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			 const struct prim_opts *o)
{
	(void)o;
	if (r->std_comm)
		put_text(k, r->std_comm, f->width);
}

static void ren_text(const uint8_t *k, const struct keyspec_field *f, const struct prim_opts *o,
		     struct prim_val *v)
{
	(void)o;
	v->kind = PV_STR;
	size_t n = strnlen((const char *)k, f->width);
	if (n >= sizeof v->s)
		n = sizeof v->s - 1;
	memcpy(v->s, k, n);
	v->s[n] = '\0';
}

/* Never called: tcpflags is accumulated in the counters (see prim_counters). */
static void ext_none(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
		     const struct prim_opts *o)
{
	(void)r;
	(void)k;
	(void)f;
	(void)o;
}

static void ren_tcpflags(const uint8_t *k, const struct keyspec_field *f, const struct prim_opts *o,
			 struct prim_val *v)
{
	(void)f;
	if (!o->tcpflags_as_array) {
		/* pmacct prints the decimal value as a JSON string */
		v->kind = PV_STR;
		snprintf(v->s, sizeof v->s, "%u", k[0]);
		return;
	}
	static const struct {
		uint8_t bit;
		const char *name;
	} flags[] = {{0x20, "URG"}, {0x10, "ACK"}, {0x08, "PSH"},
		     {0x04, "RST"}, {0x02, "SYN"}, {0x01, "FIN"}};
	prim_val_list(v);
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (k[0] & flags[i].bit)
			prim_val_list_str(v, flags[i].name);
}

static void ext_fwd_status(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			   const struct prim_opts *o)
{
	(void)f;
	(void)o;
	k[0] = r->fwd_status;
}

/* IANA forwardingStatus (IE 89): status in the top two bits, reason below. */
static const char *fwd_status_text(uint8_t s)
{
	switch (s) {
	case 64:
		return "FORWARDED Unknown";
	case 65:
		return "FORWARDED Fragmented";
	case 66:
		return "FORWARDED Not Fragmented";
	case 128:
		return "DROPPED Unknown";
	case 129:
		return "DROPPED ACL deny";
	case 130:
		return "DROPPED ACL drop";
	case 131:
		return "DROPPED Unroutable";
	case 132:
		return "DROPPED Adjacency";
	case 133:
		return "DROPPED Fragmentation and DF set";
	case 134:
		return "DROPPED Bad header checksum";
	case 135:
		return "DROPPED Bad total Length";
	case 136:
		return "DROPPED Bad header length";
	case 137:
		return "DROPPED bad TTL";
	case 138:
		return "DROPPED Policer";
	case 139:
		return "DROPPED WRED";
	case 140:
		return "DROPPED RPF";
	case 141:
		return "DROPPED For us";
	case 142:
		return "DROPPED Bad output interface";
	case 143:
		return "DROPPED Hardware";
	case 192:
		return "CONSUMED Unknown";
	case 193:
		return "CONSUMED Punt Adjacency";
	case 194:
		return "CONSUMED Incomplete Adjacency";
	case 195:
		return "CONSUMED For us";
	default:
		switch (s >> 6) {
		case 1:
			return "FORWARDED Unknown";
		case 2:
			return "DROPPED Unknown";
		case 3:
			return "CONSUMED Unknown";
		default:
			return "UNKNOWN Unclassified";
		}
	}
}

static void ren_fwd_status(const uint8_t *k, const struct keyspec_field *f,
			   const struct prim_opts *o, struct prim_val *v)
{
	(void)f;
	if (o->fwd_status_as_string)
		val_str(v, fwd_status_text(k[0]));
	else
		val_uint(v, k[0]);
}

/* MPLS: label stack entries are 24-bit: label(20) | exp(3) | bottom-of-stack(1). */
static void ext_mpls_top(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			 const struct prim_opts *o)
{
	(void)f;
	(void)o;
	uint32_t l = r->mpls_depth ? r->mpls[0] >> 4 : 0;
	memcpy(k, &l, 4);
}

static void ext_mpls_bottom(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			    const struct prim_opts *o)
{
	(void)f;
	(void)o;
	uint32_t l = r->mpls_depth ? r->mpls[r->mpls_depth - 1] >> 4 : 0;
	memcpy(k, &l, 4);
}

static void ext_mpls_stack(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			   const struct prim_opts *o)
{
	(void)f;
	(void)o;
	uint8_t depth = r->mpls_depth > FR_MPLS_MAX ? FR_MPLS_MAX : r->mpls_depth;
	k[0] = depth;
	for (unsigned i = 0; i < depth; i++) {
		uint32_t l = r->mpls[i] >> 4;
		memcpy(k + 1 + 4 * i, &l, 4);
	}
}

static void ren_mpls_stack(const uint8_t *k, const struct keyspec_field *f,
			   const struct prim_opts *o, struct prim_val *v)
{
	(void)f;
	char item[24];
	size_t n = 0;
	if (o->mpls_stack_as_array)
		prim_val_list(v);
	else
		prim_val_str(v, "");
	for (unsigned i = 0; i < k[0] && i < FR_MPLS_MAX; i++) {
		uint32_t l;
		memcpy(&l, k + 1 + 4 * i, 4);
		snprintf(item, sizeof item, "%u-%u", i, l);
		if (o->mpls_stack_as_array)
			prim_val_list_str(v, item);
		else
			n +=
			    (size_t)snprintf(v->s + n, sizeof v->s - n, "%s%s", n ? "_" : "", item);
	}
}

/*
 * Direction the flow was sampled in: the sampler's own (options data) when it
 * says, else the record's flowDirection (IE 61).  0 unknown, 1 ingress, 2 egress.
 */
static void ext_sampling_dir(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			     const struct prim_opts *o)
{
	(void)f;
	(void)o;
	if (FR_HAS(r, FR_SAMPLING_DIR))
		k[0] = (uint8_t)(1 + (r->sampling_direction & 1));
	else if (FR_HAS(r, FR_DIRECTION))
		k[0] = (uint8_t)(1 + (r->direction & 1));
	else
		k[0] = 0;
}

static void ren_sampling_dir(const uint8_t *k, const struct keyspec_field *f,
			     const struct prim_opts *o, struct prim_val *v)
{
	(void)f;
	(void)o;
	/* pmacct's spelling */
	val_str(v, k[0] == 1 ? "i" : k[0] == 2 ? "e" : "u");
}

static void ext_time(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
		     const struct prim_opts *o)
{
	uint64_t t = REC(r, nt_usec, gen_off(f));
	if (o->timestamps_secs)
		t -= t % 1000000u;
	memcpy(k, &t, 8);
}

static void ren_time(const uint8_t *k, const struct keyspec_field *f, const struct prim_opts *o,
		     struct prim_val *v)
{
	(void)f;
	uint64_t t;
	memcpy(&t, k, 8);
	time_t secs = (time_t)(t / 1000000u);
	unsigned usec = (unsigned)(t % 1000000u);
	v->kind = PV_STR;
	/*
	 * Since-epoch values keep their ".000000" even with timestamps_secs, as
	 * the pmacct release behind the reference fixtures prints them; 0 (time
	 * unknown) is "0.000000" there.
	 */
	if (o->timestamps_since_epoch) {
		snprintf(v->s, sizeof v->s, "%lld.%06u", (long long)secs, usec);
		return;
	}
	/* 0 means unknown: all zeros, so it cannot pass for a 1970 date */
	if (t == 0) {
		snprintf(v->s, sizeof v->s, "0000-00-00 00:00:00%s",
			 o->timestamps_secs ? "" : ".000000");
		return;
	}
	struct tm tm;
	if (o->timestamps_utc)
		gmtime_r(&secs, &tm);
	else
		localtime_r(&secs, &tm);
	size_t n = strftime(v->s, sizeof v->s, "%Y-%m-%d %H:%M:%S", &tm);
	if (!o->timestamps_secs)
		snprintf(v->s + n, sizeof v->s - n, ".%06u", usec);
}

/* timestamp_min/max: a counter, truncated here as ext_time truncates keys. */
static void ren_time_acc(const uint8_t *k, const struct keyspec_field *f, const struct prim_opts *o,
			 struct prim_val *v)
{
	uint64_t t;
	memcpy(&t, k, 8);
	if (o->timestamps_secs)
		t -= t % 1000000u;
	uint8_t tk[8];
	memcpy(tk, &t, 8);
	ren_time(tk, f, o, v);
}

/*
 * Time bins (print_history): the bin start is part of the key, so one key
 * seen in two bins is two rows.  The flow's own start time bins it unless
 * nfacctd_time_new asks for arrival time (or the exporter sent no times).
 */
static void ext_bin(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
		    const struct prim_opts *o)
{
	(void)f;
	nt_usec t =
	    (!o->time_new && FR_HAS(r, FR_TS_START) && r->ts_start) ? r->ts_start : r->ts_arrival;
	uint64_t secs = t / 1000000u;
	uint64_t bin = o->tb ? (uint64_t)timebin_start(o->tb, (int64_t)secs)
			     : secs - secs % (uint64_t)o->history;
	uint64_t usec = bin * 1000000u;
	memcpy(k, &usec, 8);
}

static void ren_bin(const uint8_t *k, const struct keyspec_field *f, const struct prim_opts *o,
		    struct prim_val *v)
{
	uint64_t t;
	memcpy(&t, k, 8);
	if (o->timestamps_since_epoch) {
		/* pmacct prints bins as whole seconds since the epoch, without ".000000" */
		v->kind = PV_STR;
		snprintf(v->s, sizeof v->s, "%llu", (unsigned long long)(t / 1000000u));
		return;
	}
	struct prim_opts whole = *o;
	whole.timestamps_secs = 1; /* bins are whole seconds: no ".000000" */
	ren_time(k, f, &whole, v);
}

static const struct primitive history_row = {
    "stamp_inserted",		"stamp_inserted", "STAMP_INSERTED", 8, 22,
    "time bin start (history)", ext_bin,	  ren_bin,	    0, 0};

/* ---- L2 and tunnel extractors (packet headers: proto/packet.c, sFlow) ---- */

static void ext_cos(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
		    const struct prim_opts *o)
{
	(void)f;
	(void)o;
	k[0] = r->cos;
}

static void ext_etype(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
		      const struct prim_opts *o)
{
	(void)f;
	(void)o;
	memcpy(k, &r->etype, 2);
}

/* pmacct prints the ethertype as bare hex text ("800", "86dd") */
static void ren_etype(const uint8_t *k, const struct keyspec_field *f, const struct prim_opts *o,
		      struct prim_val *v)
{
	(void)f;
	(void)o;
	uint16_t t;
	memcpy(&t, k, 2);
	v->kind = PV_STR;
	snprintf(v->s, sizeof v->s, "%x", t);
}

static void ext_tun_smac(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			 const struct prim_opts *o)
{
	(void)f;
	(void)o;
	memcpy(k, r->tunnel_src_mac, 6);
}

static void ext_tun_dmac(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			 const struct prim_opts *o)
{
	(void)f;
	(void)o;
	memcpy(k, r->tunnel_dst_mac, 6);
}

static void ext_tun_src(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			const struct prim_opts *o)
{
	(void)f;
	(void)o;
	put_addr(k, &r->tunnel_src_addr);
}

static void ext_tun_dst(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			const struct prim_opts *o)
{
	(void)f;
	(void)o;
	put_addr(k, &r->tunnel_dst_addr);
}

static void ext_tun_proto(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			  const struct prim_opts *o)
{
	(void)f;
	(void)o;
	k[0] = r->tunnel_proto;
}

static void ext_tun_tos(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			const struct prim_opts *o)
{
	(void)f;
	(void)o;
	k[0] = r->tunnel_tos;
}

static void ext_tun_sport(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			  const struct prim_opts *o)
{
	(void)f;
	(void)o;
	memcpy(k, &r->tunnel_src_port, 2);
}

static void ext_tun_dport(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			  const struct prim_opts *o)
{
	(void)f;
	(void)o;
	memcpy(k, &r->tunnel_dst_port, 2);
}

/* ---- classification extractor (nDPI: agg/classify.c) ---- */

static void ext_class(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
		      const struct prim_opts *o)
{
	(void)o;
	size_t n = r->class_name ? strnlen(r->class_name, f->width) : 0;
	memcpy(k, r->class_name ? r->class_name : "", n);
	memset(k + n, 0, f->width - n);
}

/* Unclassified: what pmacct prints for a flow nDPI has not named */
static void ren_class(const uint8_t *k, const struct keyspec_field *f, const struct prim_opts *o,
		      struct prim_val *v)
{
	(void)o;
	char s[CLASSIFY_NAME_MAX + 1];
	size_t n =
	    strnlen((const char *)k, f->width < CLASSIFY_NAME_MAX ? f->width : CLASSIFY_NAME_MAX);
	memcpy(s, k, n);
	s[n] = 0;
	val_str(v, n ? s : "Unknown/Unknown");
}

/* ---- user-defined primitives ------------------------------------------- */

static void ext_custom(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
		       const struct prim_opts *o)
{
	(void)o;
	const struct custom_prim *c = f->custom;
	uint16_t len = r->custom_len[c->index];
	if (!len)
		return;
	if (c->vlen) {
		/* variable-length: 2-byte length prefix, then the bytes we keep */
		uint16_t keep = len > c->len ? c->len : len;
		memcpy(k, &keep, 2);
		memcpy(k + 2, r->custom_ptr[c->index], keep);
		return;
	}
	uint16_t keep = len > c->len ? c->len : len;
	/* right-align short unsigned fields so reduced-size encoding compares equal */
	if (c->sem == CS_UINT)
		memcpy(k + (c->len - keep), r->custom_ptr[c->index] + (len - keep), keep);
	else
		memcpy(k, r->custom_ptr[c->index], keep);
}

static void ren_custom(const uint8_t *k, const struct keyspec_field *f, const struct prim_opts *o,
		       struct prim_val *v)
{
	(void)o;
	const struct custom_prim *c = f->custom;
	const uint8_t *d = k;
	uint16_t len = c->len;
	if (c->vlen) {
		memcpy(&len, k, 2);
		d = k + 2;
	}
	v->kind = PV_STR;
	v->s[0] = '\0';
	switch (c->sem) {
	case CS_UINT: {
		uint64_t u = 0;
		for (unsigned i = 0; i < len && i < 8; i++)
			u = (u << 8) | d[i];
		snprintf(v->s, sizeof v->s, "%llu", (unsigned long long)u);
		break;
	}
	case CS_IP: {
		uint8_t slot[17] = {0};
		if (len == 4 || len == 16) {
			slot[0] = len == 4 ? 4 : 6;
			memcpy(slot + 1, d, len);
		}
		prim_val_addr(v, slot);
		break;
	}
	case CS_MAC:
		if (len >= 6)
			ren_mac(d, f, o, v);
		break;
	case CS_STR: {
		size_t n = 0;
		for (unsigned i = 0; i < len && d[i] && n + 1 < sizeof v->s; i++)
			v->s[n++] = isprint(d[i]) ? (char)d[i] : '?';
		v->s[n] = '\0';
		break;
	}
	case CS_HEX:
	case CS_RAW: {
		size_t n = 0;
		for (unsigned i = 0; i < len && n + 3 < sizeof v->s; i++)
			n += (size_t)snprintf(v->s + n, sizeof v->s - n, "%02x", d[i]);
		break;
	}
	}
}

static const struct primitive custom_row = {"custom",	    "custom",	"CUSTOM",   0, 20,
					    "user-defined", ext_custom, ren_custom, 0, 0};

/* ---- names and route distinguishers from options data ---- */

/*
 * Names are keyed as fixed-width, NUL-padded strings: VRF names keep up to
 * NAME_VRF_W bytes (IOS XR and Huawei VRF names are at most 32), interface
 * names up to NAME_IF_W; longer names are cut.  The decoder points the
 * record at NUL-terminated names (proto/nf_options.h).
 */
#define NAME_VRF_W 32
#define NAME_IF_W  64

static void put_name(uint8_t *k, const char *s, size_t width)
{
	if (s)
		memcpy(k, s, strnlen(s, width));
}

static void ext_vrf_name(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			 const struct prim_opts *o)
{
	(void)o;
	put_name(k, r->vrf_name, f->width);
}

static void ext_vrf_name_in(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			    const struct prim_opts *o)
{
	(void)o;
	put_name(k, r->vrf_name_in, f->width);
}

static void ext_vrf_name_out(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			     const struct prim_opts *o)
{
	(void)o;
	put_name(k, r->vrf_name_out, f->width);
}

static void ext_ifname_in(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			  const struct prim_opts *o)
{
	(void)o;
	put_name(k, r->ifname_in, f->width);
}

static void ext_ifname_out(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			   const struct prim_opts *o)
{
	(void)o;
	put_name(k, r->ifname_out, f->width);
}

/* A keyed name as text; interface names with '/' written as '_' (as pmacct does). */
static void name_text(const uint8_t *k, size_t width, int slash, struct prim_val *v)
{
	size_t n = 0;
	for (; n < width && k[n] && n + 1 < sizeof v->s; n++)
		v->s[n] = slash && k[n] == '/' ? '_' : (char)k[n];
	v->s[n] = '\0';
	v->kind = PV_STR;
}

static void ren_vrf_name(const uint8_t *k, const struct keyspec_field *f, const struct prim_opts *o,
			 struct prim_val *v)
{
	(void)o;
	name_text(k, f->width, 0, v);
}

static void ren_ifname(const uint8_t *k, const struct keyspec_field *f, const struct prim_opts *o,
		       struct prim_val *v)
{
	(void)o;
	name_text(k, f->width, 1, v);
}

static void ext_rd(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
		   const struct prim_opts *o)
{
	(void)f;
	(void)o;
	memcpy(k, &r->mpls_vpn_rd, 8);
}

/* RFC 4364 §4.2: type 0 ASN2:N32, 1 IPv4:N16, 2 ASN4:N16; "vrfid:N" when only the id is known. */
static void ren_rd(const uint8_t *k, const struct keyspec_field *f, const struct prim_opts *o,
		   struct prim_val *v)
{
	(void)f;
	(void)o;
	uint64_t rd;
	memcpy(&rd, k, 8);
	unsigned type = (unsigned)(rd >> 48);
	v->kind = PV_STR;
	switch (type) {
	case 0:
		snprintf(v->s, sizeof v->s, "0:%u:%u", (unsigned)(rd >> 32) & 0xffffu,
			 (unsigned)(rd & 0xffffffffu));
		break;
	case 1: {
		uint8_t ip[4] = {(uint8_t)(rd >> 40), (uint8_t)(rd >> 32), (uint8_t)(rd >> 24),
				 (uint8_t)(rd >> 16)};
		char t[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, ip, t, sizeof t);
		snprintf(v->s, sizeof v->s, "1:%s:%u", t, (unsigned)(rd & 0xffffu));
		break;
	}
	case 2:
		snprintf(v->s, sizeof v->s, "2:%u:%u", (unsigned)((rd >> 16) & 0xffffffffu),
			 (unsigned)(rd & 0xffffu));
		break;
	case FR_RD_TYPE_VRFID:
		snprintf(v->s, sizeof v->s, "vrfid:%u", (unsigned)(rd & 0xffffffffu));
		break;
	default:
		snprintf(v->s, sizeof v->s, "unknown");
		break;
	}
}

static void ext_rd_origin(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			  const struct prim_opts *o)
{
	(void)f;
	(void)o;
	k[0] = r->mpls_vpn_rd_origin;
}

static void ren_rd_origin(const uint8_t *k, const struct keyspec_field *f,
			  const struct prim_opts *o, struct prim_val *v)
{
	(void)f;
	(void)o;
	static const char *const names[] = {[FR_RD_UNKNOWN] = "unknown",
					    [FR_RD_FLOW] = "flow",
					    [FR_RD_BGP] = "bgp",
					    [FR_RD_BMP] = "bmp",
					    [FR_RD_MAP] = "map"};
	val_str(v, k[0] < sizeof names / sizeof names[0] ? names[k[0]] : "unknown");
}

/* ---- enrichment: networks_file, GeoIP, sum_* ----------------------------- */

/*
 * sum_* primitives key on the source side; the worker accounts each record a
 * second time reversed (agg/lookup.h, lookup_flow_reverse), so the row of
 * an address (port, ASN, MAC) counts the traffic it sent and received.
 */
static void ext_sum_host(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			 const struct prim_opts *o)
{
	(void)f;
	(void)o;
	put_addr(k, &r->src_addr);
}

static void ext_geo_country(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			    const struct prim_opts *o)
{
	(void)o;
	const struct nt_geo *g = f->p->name[0] == 's' ? &r->src_geo : &r->dst_geo;
	memcpy(k, g->country, sizeof g->country);
}

static void ext_geo_pocode(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			   const struct prim_opts *o)
{
	(void)o;
	const struct nt_geo *g = f->p->name[0] == 's' ? &r->src_geo : &r->dst_geo;
	memcpy(k, g->pocode, sizeof g->pocode);
}

static void ext_geo_coords(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			   const struct prim_opts *o)
{
	(void)o;
	const struct nt_geo *g = f->p->name[0] == 's' ? &r->src_geo : &r->dst_geo;
	memcpy(k, &g->lat, 8);
	memcpy(k + 8, &g->lon, 8);
}

/* A NUL-padded string slot of f->width bytes. */
static void ren_fixed_str(const uint8_t *k, const struct keyspec_field *f,
			  const struct prim_opts *o, struct prim_val *v)
{
	(void)o;
	size_t n = strnlen((const char *)k, f->width);
	v->kind = PV_STR;
	memcpy(v->s, k, n);
	v->s[n] = '\0';
}

/*
 * Coordinates are two fields in pmacct's output (lat_ip_src, lon_ip_src;
 * SH_LAT, SH_LON): a map whose row has no JSON name of its own, which the
 * encoders write as one field per item.
 */
static void ren_geo_coords(const uint8_t *k, const struct keyspec_field *f,
			   const struct prim_opts *o, struct prim_val *v)
{
	(void)o;
	double lat, lon;
	char t[48];
	int src = f->p->name[0] == 's';
	memcpy(&lat, k, 8);
	memcpy(&lon, k + 8, 8);
	prim_val_map(v);
	snprintf(t, sizeof t, "%.6f", lat);
	add_item(v, src ? "lat_ip_src" : "lat_ip_dst", t, 1, 0);
	snprintf(t, sizeof t, "%.6f", lon);
	add_item(v, src ? "lon_ip_src" : "lon_ip_dst", t, 1, 0);
}

/* ---- tagging: tag, tag2, label ------------------------------------------------ */

static void prim_ext_tag(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			 const struct prim_opts *o)
{
	(void)f;
	(void)o;
	memcpy(k, &r->tag, 8);
}

static void prim_ext_tag2(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			  const struct prim_opts *o)
{
	(void)f;
	(void)o;
	memcpy(k, &r->tag2, 8);
}

static void prim_ext_label(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			   const struct prim_opts *o)
{
	(void)o;
	if (r->label) /* longer labels are cut: the key has a fixed width */
		memcpy(k, r->label, strnlen(r->label, (size_t)f->width - 1));
}

static void prim_ren_tag(const uint8_t *k, const struct keyspec_field *f, const struct prim_opts *o,
			 struct prim_val *v)
{
	uint64_t t;
	(void)f;
	(void)o;
	memcpy(&t, k, 8);
	prim_val_uint(v, t);
}

static void prim_ren_label(const uint8_t *k, const struct keyspec_field *f,
			   const struct prim_opts *o, struct prim_val *v)
{
	char text[PRETAG_LABEL_MAX];
	size_t n = strnlen((const char *)k, f->width);
	if (n >= sizeof text)
		n = sizeof text - 1;
	memcpy(text, k, n);
	text[n] = '\0';
	if (!o || !o->label_as_map) {
		prim_val_str(v, text);
		return;
	}
	/* "k1%v1,k2%v2" -> {"k1": "v1", "k2": "v2"}; a part without '%' is a key with "" */
	prim_val_map(v);
	for (char *save = NULL, *p = strtok_r(text, ",", &save); p;
	     p = strtok_r(NULL, ",", &save)) {
		char *pct = strchr(p, '%');
		if (pct)
			*pct = '\0';
		if (prim_val_map_str(v, p, pct ? pct + 1 : "") < 0)
			break;
	}
}

/* ---- the table -------------------------------------------------------- */

static const struct primitive builtins[] = {
    {"src_mac", "mac_src", "SRC_MAC", 6, 19, "Source MAC address", ext_raw, ren_mac, 0,
     PRES(FR_SRC_MAC)},
    {"dst_mac", "mac_dst", "DST_MAC", 6, 19, "Destination MAC address", ext_raw, ren_mac, 0,
     PRES(FR_DST_MAC)},
    {"vlan", "vlan", "VLAN", 2, 7, "Ethernet VLAN, 802.1Q (ingress)", ext_raw, ren_uint, 0,
     PRES(FR_VLAN_IN)},
    {"in_vlan", "vlan_in", "IN_VLAN", 2, 9, "Ingress VLAN", ext_raw, ren_uint, 0, PRES(FR_VLAN_IN)},
    {"out_vlan", "vlan_out", "OUT_VLAN", 2, 9, "Egress VLAN", ext_raw, ren_uint, 0,
     PRES(FR_VLAN_OUT)},
    {"src_as", "as_src", "SRC_AS", 4, 12, "Source ASN", ext_raw, ren_uint, 0, PRES(FR_SRC_AS)},
    {"dst_as", "as_dst", "DST_AS", 4, 12, "Destination ASN", ext_raw, ren_uint, 0, PRES(FR_DST_AS)},
    {"peer_src_ip", "peer_ip_src", "PEER_SRC_IP", 17, 47, "Exporter address", ext_addr, ren_addr, 0,
     PRES(FR_PEER_SRC_IP)},
    {"peer_dst_ip", "peer_ip_dst", "PEER_DST_IP", 17, 47, "BGP next-hop", ext_addr, ren_addr, 0,
     PRES(FR_PEER_DST_IP)},
    {"in_iface", "iface_in", "IN_IFACE", 4, 12, "Input interface, SNMP ifIndex", ext_raw, ren_uint,
     0, PRES(FR_IN_IFACE)},
    {"out_iface", "iface_out", "OUT_IFACE", 4, 12, "Output interface, SNMP ifIndex", ext_raw,
     ren_uint, 0, PRES(FR_OUT_IFACE)},
    {"mpls_label_top", "mpls_label_top", "MPLS_LABEL_TOP", 4, 16, "Top MPLS label", ext_mpls_top,
     ren_uint, 0, PRES(FR_MPLS)},
    {"mpls_label_bottom", "mpls_label_bottom", "MPLS_LABEL_BOTTOM", 4, 19, "Bottom MPLS label",
     ext_mpls_bottom, ren_uint, 0, PRES(FR_MPLS)},
    {"mpls_label_stack", "mpls_label_stack", "MPLS_LABEL_STACK", 1 + 4 * FR_MPLS_MAX, 40,
     "MPLS label stack", ext_mpls_stack, ren_mpls_stack, 0, PRES(FR_MPLS)},
    {"src_host", "ip_src", "SRC_IP", 17, 47, "Source IPv4/IPv6 address", ext_addr, ren_addr, 0,
     PRES(FR_SRC_ADDR)},
    {"src_net", "net_src", "SRC_NET", 17, 47, "Source IPv4/IPv6 prefix", ext_src_net, ren_addr, 0,
     PRES(FR_SRC_ADDR)},
    {"dst_host", "ip_dst", "DST_IP", 17, 47, "Destination IPv4/IPv6 address", ext_addr, ren_addr, 0,
     PRES(FR_DST_ADDR)},
    {"dst_net", "net_dst", "DST_NET", 17, 47, "Destination IPv4/IPv6 prefix", ext_dst_net, ren_addr,
     0, PRES(FR_DST_ADDR)},
    {"src_mask", "mask_src", "SRC_MASK", 1, 10, "Source network mask", ext_raw, ren_uint, 0,
     PRES(FR_SRC_MASK)},
    {"dst_mask", "mask_dst", "DST_MASK", 1, 10, "Destination network mask", ext_raw, ren_uint, 0,
     PRES(FR_DST_MASK)},
    {"src_port", "port_src", "SRC_PORT", 2, 10, "Source TCP/UDP port", ext_raw, ren_uint, 0,
     PRES(FR_SRC_PORT)},
    {"dst_port", "port_dst", "DST_PORT", 2, 10, "Destination TCP/UDP port (ICMP: type, code)",
     ext_dst_port, ren_uint, 0, 0},
    {"tcpflags", "tcp_flags", "TCP_FLAGS", 0, 11, "TCP flags (OR of the aggregated flows)",
     ext_none, ren_tcpflags, PRIM_ACC_TCP_FLAGS, 0},
    {"fwd_status", "fwd_status", "FWD_STATUS", 1, 12, "Forwarding status (IE 89)", ext_fwd_status,
     ren_fwd_status, 0, PRES(FR_FWD_STATUS)},
    {"proto", "ip_proto", "PROTOCOL", 1, 12, "IP protocol", ext_proto, ren_proto, 0,
     PRES(FR_PROTO)},
    {"tos", "tos", "TOS", 1, 7, "IP ToS (DSCP with tos_encode_as_dscp)", ext_tos, ren_uint, 0,
     PRES(FR_TOS)},
    {"flow_label", "flow_label", "FLOW_LABEL", 4, 12, "IPv6 flow label", ext_raw, ren_uint, 0,
     PRES(FR_FLOW_LABEL)},
    {"post_nat_src_host", "post_nat_ip_src", "POST_NAT_SRC_IP", 17, 47, "Source address after NAT",
     ext_addr, ren_addr, 0, PRES(FR_POST_NAT_SRC_ADDR)},
    {"post_nat_dst_host", "post_nat_ip_dst", "POST_NAT_DST_IP", 17, 47,
     "Destination address after NAT", ext_addr, ren_addr, 0, PRES(FR_POST_NAT_DST_ADDR)},
    {"post_nat_src_port", "post_nat_port_src", "POST_NAT_SRC_PORT", 2, 19, "Source port after NAT",
     ext_raw, ren_uint, 0, PRES(FR_POST_NAT_SRC_PORT)},
    {"post_nat_dst_port", "post_nat_port_dst", "POST_NAT_DST_PORT", 2, 19,
     "Destination port after NAT", ext_raw, ren_uint, 0, PRES(FR_POST_NAT_DST_PORT)},
    {"nat_event", "nat_event", "NAT_EVENT", 1, 11, "NAT event ID", ext_raw, ren_uint, 0,
     PRES(FR_NAT_EVENT)},
    {"sampling_rate", "sampling_rate", "SAMPLING_RATE", 4, 15, "Sampling rate", ext_raw, ren_uint,
     0, 0},
    {"sampling_direction", "sampling_direction", "SAMPLING_DIRECTION", 1, 20,
     "Sampling direction (ingress/egress)", ext_sampling_dir, ren_sampling_dir, 0, 0},
    {"timestamp_start", "timestamp_start", "TIMESTAMP_START", 8, 30, "Flow start time", ext_time,
     ren_time, 0, PRES(FR_TS_START)},
    {"timestamp_end", "timestamp_end", "TIMESTAMP_END", 8, 30, "Flow end time", ext_time, ren_time,
     0, PRES(FR_TS_END)},
    {"timestamp_arrival", "timestamp_arrival", "TIMESTAMP_ARRIVAL", 8, 30, "Collector arrival time",
     ext_time, ren_time, 0, 0},
    {"timestamp_export", "timestamp_export", "TIMESTAMP_EXPORT", 8, 30, "Export header time",
     ext_time, ren_time, 0, 0},
    {"export_proto_seqno", "export_proto_seqno", "EXPORT_PROTO_SEQNO", 4, 20,
     "Export protocol sequence number", ext_raw, ren_uint, 0, 0},
    {"export_proto_version", "export_proto_version", "EXPORT_PROTO_VERSION", 2, 22,
     "Export protocol version", ext_raw, ren_uint, 0, 0},
    {"export_proto_sysid", "export_proto_sysid", "EXPORT_PROTO_SYSID", 4, 20,
     "Export protocol source id / observation domain", ext_raw, ren_uint, 0, 0},

    /* ---- tagging: tag, tag2, label (pre_tag_map, post_tag) ---- */
    {"tag", "tag", "TAG", 8, 22, "Tag from pre_tag_map or post_tag (0: untagged)", prim_ext_tag,
     prim_ren_tag, 0, PRES(FR_TAG)},
    {"tag2", "tag2", "TAG2", 8, 22, "Second tag from pre_tag_map or post_tag2 (0: untagged)",
     prim_ext_tag2, prim_ren_tag, 0, PRES(FR_TAG2)},
    {"label", "label", "LABEL", PRETAG_LABEL_MAX, 32,
     "Label from pre_tag_map (set_label; up to 127 characters)", prim_ext_label, prim_ren_label, 0,
     PRES(FR_LABEL)},

    /* ---- L2 and tunnel primitives: cos, etype, tunnel_* (packet headers) ---- */
    {"cos", "cos", "COS", 1, 5, "Ethernet CoS, 802.1p priority of the outer VLAN tag", ext_cos,
     ren_uint, 0, PRES(FR_COS)},
    {"etype", "etype", "ETYPE", 2, 7, "Ethertype (network protocol)", ext_etype, ren_etype, 0,
     PRES(FR_ETYPE)},
    {"tunnel_src_mac", "tunnel_mac_src", "TUNNEL_SRC_MAC", 6, 19, "Tunnel inner source MAC",
     ext_tun_smac, ren_mac, 0, PRES(FR_TUNNEL_MAC)},
    {"tunnel_dst_mac", "tunnel_mac_dst", "TUNNEL_DST_MAC", 6, 19, "Tunnel inner destination MAC",
     ext_tun_dmac, ren_mac, 0, PRES(FR_TUNNEL_MAC)},
    {"tunnel_src_host", "tunnel_ip_src", "TUNNEL_SRC_IP", 17, 47,
     "Tunnel inner source IPv4/IPv6 address", ext_tun_src, ren_addr, 0, PRES(FR_TUNNEL_ADDR)},
    {"tunnel_dst_host", "tunnel_ip_dst", "TUNNEL_DST_IP", 17, 47,
     "Tunnel inner destination IPv4/IPv6 address", ext_tun_dst, ren_addr, 0, PRES(FR_TUNNEL_ADDR)},
    {"tunnel_proto", "tunnel_ip_proto", "TUNNEL_PROTOCOL", 1, 16, "Tunnel inner IP protocol",
     ext_tun_proto, ren_proto, 0, PRES(FR_TUNNEL_ADDR)},
    {"tunnel_tos", "tunnel_tos", "TUNNEL_TOS", 1, 11, "Tunnel inner IP ToS", ext_tun_tos, ren_uint,
     0, PRES(FR_TUNNEL_ADDR)},
    {"tunnel_src_port", "tunnel_port_src", "TUNNEL_SRC_PORT", 2, 16,
     "Tunnel inner source TCP/UDP port", ext_tun_sport, ren_uint, 0, PRES(FR_TUNNEL_PORTS)},
    {"tunnel_dst_port", "tunnel_port_dst", "TUNNEL_DST_PORT", 2, 16,
     "Tunnel inner destination TCP/UDP port", ext_tun_dport, ren_uint, 0, PRES(FR_TUNNEL_PORTS)},

    /* ---- BGP-ish primitives from sFlow: peer_*_as, as_path, std_comm, local_pref ---- */
    {"peer_src_as", "peer_as_src", "PEER_SRC_AS", 4, 12, "Peer source ASN (sFlow gateway record)",
     ext_peer_src_as, ren_uint, 0, PRES(FR_PEER_SRC_AS)},
    {"peer_dst_as", "peer_as_dst", "PEER_DST_AS", 4, 12,
     "Peer destination ASN: first of the AS path (sFlow gateway record)", ext_peer_dst_as, ren_uint,
     0, PRES(FR_PEER_DST_AS)},
    {"as_path", "as_path", "AS_PATH", PRIM_BGP_TEXT, 30,
     "Destination AS path, ASNs joined by '_' (cut at 127 bytes, ending in '+')", ext_as_path,
     ren_text, 0, PRES(FR_AS_PATH)},
    {"std_comm", "comms", "COMMS", PRIM_BGP_TEXT, 30,
     "BGP standard communities, joined by '_' (cut at 127 bytes, ending in '+')", ext_std_comm,
     ren_text, 0, PRES(FR_STD_COMM)},
    {"local_pref", "local_pref", "LOCAL_PREF", 4, 12, "BGP local preference (sFlow gateway record)",
     ext_local_pref, ren_uint, 0, PRES(FR_LOCAL_PREF)},

    /* ---- classification (nDPI) ---- */
    {"class", "class", "CLASS", CLASSIFY_NAME_MAX, 20,
     "Application protocol by nDPI, \"<master>/<app>\" (pmacctd, uacctd)", ext_class, ren_class, 0,
     PRES(FR_CLASS)},

    /* ---- names and route distinguishers from options data ---- */
    {"vrf_name", "vrf_name", "VRF_NAME", NAME_VRF_W, 20,
     "VRF name (options data or IE 236; up to 32 bytes)", ext_vrf_name, ren_vrf_name, 0,
     PRES(FR_VRF_NAME)},
    {"ingress_vrf_name", "ingress_vrf_name", "INGRESS_VRF_NAME", NAME_VRF_W, 20,
     "Ingress VRF name (options data; up to 32 bytes)", ext_vrf_name_in, ren_vrf_name, 0,
     PRES(FR_VRF_NAME)},
    {"egress_vrf_name", "egress_vrf_name", "EGRESS_VRF_NAME", NAME_VRF_W, 20,
     "Egress VRF name (options data; up to 32 bytes)", ext_vrf_name_out, ren_vrf_name, 0,
     PRES(FR_VRF_NAME)},
    {"in_iface_name", "iface_name_in", "IN_IFACE_NAME", NAME_IF_W, 24,
     "Input interface name (options data or IE 82; up to 64 bytes)", ext_ifname_in, ren_ifname, 0,
     PRES(FR_IFNAME_IN)},
    {"out_iface_name", "iface_name_out", "OUT_IFACE_NAME", NAME_IF_W, 24,
     "Output interface name (options data; up to 64 bytes)", ext_ifname_out, ren_ifname, 0,
     PRES(FR_IFNAME_OUT)},
    {"mpls_vpn_rd", "mpls_vpn_rd", "MPLS_VPN_RD", 8, 24, "MPLS VPN route distinguisher", ext_rd,
     ren_rd, 0, PRES(FR_MPLS_VPN_RD)},
    {"mpls_vpn_rd_origin", "mpls_vpn_rd_origin", "MPLS_VPN_RD_ORIGIN", 1, 20,
     "Where mpls_vpn_rd came from (flow, unknown)", ext_rd_origin, ren_rd_origin, 0,
     PRES(FR_MPLS_VPN_RD)},

    /* ---- enrichment: networks_file, GeoIP, lookup files ---- */
    {"src_host_country", "country_ip_src", "SH_COUNTRY", 4, 12,
     "Source address GeoIP country (geoipv2_file)", ext_geo_country, ren_fixed_str, 0,
     PRES(FR_SRC_GEO)},
    {"dst_host_country", "country_ip_dst", "DH_COUNTRY", 4, 12,
     "Destination address GeoIP country (geoipv2_file)", ext_geo_country, ren_fixed_str, 0,
     PRES(FR_DST_GEO)},
    {"src_host_pocode", "pocode_ip_src", "SH_POCODE", 12, 14,
     "Source address GeoIP postal code (geoipv2_file)", ext_geo_pocode, ren_fixed_str, 0,
     PRES(FR_SRC_GEO)},
    {"dst_host_pocode", "pocode_ip_dst", "DH_POCODE", 12, 14,
     "Destination address GeoIP postal code (geoipv2_file)", ext_geo_pocode, ren_fixed_str, 0,
     PRES(FR_DST_GEO)},
    {"src_host_coords", "", "SH_LAT,SH_LON", 16, 14,
     "Source address GeoIP latitude and longitude (geoipv2_file)", ext_geo_coords, ren_geo_coords,
     0, PRES(FR_SRC_GEO)},
    {"dst_host_coords", "", "DH_LAT,DH_LON", 16, 14,
     "Destination address GeoIP latitude and longitude (geoipv2_file)", ext_geo_coords,
     ren_geo_coords, 0, PRES(FR_DST_GEO)},
    {"sum_host", "ip_src", "SRC_IP", 17, 47, "Address, traffic in both directions", ext_sum_host,
     ren_addr, 0, PRES(FR_SRC_ADDR)},
    {"sum_net", "net_src", "SRC_NET", 17, 47, "Prefix, traffic in both directions", ext_src_net,
     ren_addr, 0, PRES(FR_SRC_ADDR)},
    {"sum_port", "port_src", "SRC_PORT", 2, 10, "Port, traffic in both directions", ext_raw,
     ren_uint, 0, PRES(FR_SRC_PORT)},
    {"sum_as", "as_src", "SRC_AS", 4, 12, "ASN, traffic in both directions", ext_raw, ren_uint, 0,
     PRES(FR_SRC_AS)},
    {"sum_mac", "mac_src", "SRC_MAC", 6, 19, "MAC address, traffic in both directions", ext_raw,
     ren_mac, 0, PRES(FR_SRC_MAC)},

    /* ---- time bins and timestamps ---- */
    {"timestamp_min", "timestamp_min", "TIMESTAMP_MIN", 0, 30,
     "Earliest time of the row's flows (nfacctd_stitching; else first arrival)", ext_none,
     ren_time_acc, PRIM_ACC_FIRST, 0},
    {"timestamp_max", "timestamp_max", "TIMESTAMP_MAX", 0, 30,
     "Latest time of the row's flows (nfacctd_stitching; else last arrival)", ext_none,
     ren_time_acc, PRIM_ACC_LAST, 0},
};

const struct primitive *prim_builtins(size_t *n)
{
	*n = sizeof builtins / sizeof builtins[0];
	return builtins;
}

static const struct primitive *builtin_lookup(const char *name, size_t *rank)
{
	for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
		if (strcmp(builtins[i].name, name) == 0) {
			*rank = i;
			return &builtins[i];
		}
	return NULL;
}

/* ---- key specs --------------------------------------------------------- */

struct pending {
	size_t rank;
	struct keyspec_field f;
};

static int cmp_pending(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/*
 * Primitives another one brings along, as pmacct prints them together:
 * mpls_vpn_rd comes with mpls_vpn_rd_origin.
 */
static int add_implied(struct pending *pend, unsigned *n, char *err, size_t errlen)
{
	static const struct {
		const char *with, *adds;
	} implied[] = {{"mpls_vpn_rd", "mpls_vpn_rd_origin"}};
	for (size_t k = 0; k < sizeof implied / sizeof implied[0]; k++) {
		size_t with_rank = 0, adds_rank = 0;
		const struct primitive *with = builtin_lookup(implied[k].with, &with_rank);
		const struct primitive *adds = builtin_lookup(implied[k].adds, &adds_rank);
		int have_with = 0, have_adds = 0;
		for (unsigned i = 0; i < *n; i++) {
			have_with |= pend[i].rank == with_rank;
			have_adds |= pend[i].rank == adds_rank;
		}
		if (!with || !adds || !have_with || have_adds)
			continue;
		if (*n == KEYSPEC_MAX) {
			snprintf(err, errlen, "too many primitives (max %d)", KEYSPEC_MAX);
			return -1;
		}
		memset(&pend[*n], 0, sizeof pend[*n]);
		pend[*n].rank = adds_rank;
		pend[*n].f.p = adds;
		pend[*n].f.width = adds->width;
		pend[*n].f.need = adds->pres ? 1ull << (adds->pres - 1) : 0;
		(*n)++;
	}
	return 0;
}

/* Append a copy, merged with the previous one when both are neighbours in the record and the key.
 */
static void add_copy(struct keyspec_copy *cp, unsigned *n, struct keyspec_copy c)
{
	struct keyspec_copy *prev = *n ? &cp[*n - 1] : NULL;
	if (prev && prev->rec_off + prev->len == c.rec_off &&
	    prev->key_off + prev->len == c.key_off)
		prev->len = (uint16_t)(prev->len + c.len); /* neighbours: one copy */
	else
		cp[(*n)++] = c;
}

#define NO_OFF 0xffff

/*
 * The copies as whole-word moves (struct keyspec_words), when there is no
 * extractor call, the copies tile the key from 0, and a word read never
 * leaves the record.  A copy of up to 8 bytes moves one word: what it
 * writes past its field is overwritten by the next copy (they run in key
 * order), the last one's by the zeroes after the end.  Longer copies write
 * exactly their bytes (their last word overlaps the one before), after the
 * short ones.
 */
static void compile_words(struct keyspec_words *w, const struct keyspec_copy *cp, unsigned n,
			  unsigned ncall)
{
	unsigned at = 0;
	memset(w, 0, sizeof *w);
	if (ncall)
		return;
	for (unsigned j = 0; j < n; j++) {
		unsigned words = (cp[j].len + 7u) & ~7u;
		if (cp[j].key_off != at || cp[j].rec_off + words > sizeof(struct flow_rec))
			return;
		if (cp[j].len <= 8)
			w->shrt[w->nshort++] = cp[j].rec_off | (uint32_t)cp[j].key_off << 16;
		else
			w->lng[w->nlong++] = cp[j];
		at += cp[j].len;
	}
	w->end = (uint16_t)at;
	w->ok = 1;
}

/* The fast-path copy of a field, or 0 when it needs its extractor. */
static int field_copy(const struct keyspec_field *f, struct keyspec_copy *c)
{
	*c = (struct keyspec_copy){f->rec_off, f->off, f->width};
	if (f->extract == ext_proto)
		c->rec_off = (uint16_t)OFF(proto), c->len = 1;
	else if (f->extract == ext_dst_port)
		c->rec_off = (uint16_t)OFF(dst_port), c->len = 2; /* fixed after: see dport_off */
	else if (f->extract != ext_raw && f->extract != ext_addr)
		return 0;
	return 1;
}

/* A plain address (struct nt_addr copied as is): 5 bytes in the compact form when IPv4. */
static int compactable(const struct keyspec_field *f)
{
	return f->extract == ext_addr && f->width == 1 + 16;
}

/*
 * The extractors that copy bytes from the record unchanged become copies
 * (struct keyspec.copy): what keyspec_extract() runs when a record carries
 * every field the spec needs, instead of one call per field.  The compact
 * form is laid out and compiled the same way (keyspec_extract_compact).
 */
static void compile_extract(struct keyspec *ks)
{
	ks->ncopy = ks->ncall = ks->nccopy = ks->ncfam = 0;
	ks->dport_off = ks->cdport_off = NO_OFF;
	memset(&ks->cx, 0, sizeof ks->cx);
	unsigned coff = 0;
	for (unsigned j = 0; j < ks->nex; j++) {
		const struct keyspec_field *f = &ks->f[ks->ex[j]];
		struct keyspec_copy c;
		unsigned cw = compactable(f) ? 5 : f->width;
		struct agg_compact_seg *prev = ks->cx.nseg ? &ks->cx.seg[ks->cx.nseg - 1] : NULL;
		if (prev && prev->coff + prev->len == coff && prev->foff + prev->len == f->off)
			prev->len = (uint16_t)(prev->len + cw);
		else
			ks->cx.seg[ks->cx.nseg++] =
			    (struct agg_compact_seg){(uint16_t)coff, f->off, (uint16_t)cw};
		if (compactable(f))
			ks->cfam_rec[ks->ncfam++] = f->rec_off;
		if (!field_copy(f, &c)) {
			ks->ccall_off[ks->ncall] = (uint16_t)coff;
			ks->call[ks->ncall++] = ks->ex[j];
			coff += cw;
			continue;
		}
		if (f->extract == ext_dst_port) {
			ks->dport_off = f->off;
			ks->cdport_off = (uint16_t)coff;
		}
		add_copy(ks->copy, &ks->ncopy, c);
		c.key_off = (uint16_t)coff;
		c.len = (uint16_t)cw;
		add_copy(ks->ccopy, &ks->nccopy, c);
		coff += cw;
	}
	uint32_t clen = (coff + 7) & ~7u;
	/* a form worth having: some address compacted, and a shorter key */
	if (ks->ncfam && clen < ks->key_len)
		ks->cx.key_len = clen ? clen : 8;
	else
		ks->cx.nseg = ks->ncfam = 0;
	compile_words(&ks->cw, ks->ccopy, ks->nccopy, ks->ncall);
	compile_words(&ks->fw, ks->copy, ks->ncopy, ks->ncall);
	if (ks->fw.end + 8u < ks->key_len) /* bytes no copy writes (an accumulated field's) */
		ks->fw.ok = 0;
}

/* Constant sizes for the usual widths, so the compiler emits plain moves. */
static inline void copy_bytes(uint8_t *k, const uint8_t *r, unsigned len)
{
	switch (len) {
	case 1:
		k[0] = r[0];
		break;
	case 2:
		memcpy(k, r, 2);
		break;
	case 4:
		memcpy(k, r, 4);
		break;
	case 5:
		memcpy(k, r, 5);
		break;
	case 8:
		memcpy(k, r, 8);
		break;
	case 10:
		memcpy(k, r, 10);
		break;
	case 17:
		memcpy(k, r, 17);
		break;
	case 34:
		memcpy(k, r, 34);
		break;
	default:
		memcpy(k, r, len);
	}
}

/* Zero a key (a multiple of 8 bytes): straight-line stores up to 64 bytes. */
static inline void zero_key(uint8_t *k, unsigned len)
{
	static const uint64_t z = 0;
	switch (len >> 3) {
	case 8:
		memcpy(k + 56, &z, 8);
		__attribute__((fallthrough));
	case 7:
		memcpy(k + 48, &z, 8);
		__attribute__((fallthrough));
	case 6:
		memcpy(k + 40, &z, 8);
		__attribute__((fallthrough));
	case 5:
		memcpy(k + 32, &z, 8);
		__attribute__((fallthrough));
	case 4:
		memcpy(k + 24, &z, 8);
		__attribute__((fallthrough));
	case 3:
		memcpy(k + 16, &z, 8);
		__attribute__((fallthrough));
	case 2:
		memcpy(k + 8, &z, 8);
		__attribute__((fallthrough));
	case 1:
		memcpy(k, &z, 8);
		break;
	default:
		memset(k, 0, len);
	}
}

/*
 * Run whole-word copies (struct keyspec_words) and zero the key after
 * them.  Writes up to 8 bytes past w->end: the key has KEYSPEC_SLACK.
 */
static inline void run_words(uint8_t *key, const uint8_t *rb, const struct keyspec_words *w)
{
	static const uint64_t z = 0;
	unsigned ns = w->nshort, nl = w->nlong;
	uint64_t v;
	for (unsigned j = 0; j < ns; j++) {
		uint32_t d = w->shrt[j];
		memcpy(&v, rb + (d & 0xffffu), 8);
		memcpy(key + (d >> 16), &v, 8);
	}
	for (unsigned j = 0; __builtin_expect(j < nl, 0); j++) {
		const struct keyspec_copy c = w->lng[j];
		unsigned o = 0;
		for (; o + 8 < c.len; o += 8) {
			memcpy(&v, rb + c.rec_off + o, 8);
			memcpy(key + c.key_off + o, &v, 8);
		}
		memcpy(&v, rb + c.rec_off + c.len - 8, 8); /* the last word, overlapping */
		memcpy(key + c.key_off + c.len - 8, &v, 8);
	}
	memcpy(key + w->end, &z, 8);
}

/* dst_port was copied as is: its extractor knows ICMP and absence. */
static inline void fix_dport(const struct flow_rec *r, uint8_t *k)
{
	const uint64_t m = 1ull << FR_DST_PORT | 1ull << FR_ICMP;
	if ((r->present & m) != 1ull << FR_DST_PORT)
		ext_dst_port(r, k, NULL, NULL);
}

int keyspec_build(struct keyspec *ks, const char *aggregate, const struct prim_registry *reg,
		  const struct prim_opts *opts, char *err, size_t errlen)
{
	struct pending pend[KEYSPEC_MAX];
	unsigned n = 0;
	char buf[4096];
	char *save = NULL;

	memset(ks, 0, sizeof *ks);
	if (opts)
		ks->opts = *opts;
	snprintf(buf, sizeof buf, "%s", aggregate ? aggregate : "");
	for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		size_t rank = 0;
		struct keyspec_field f = {0};
		if (strcmp(tok, "flows") == 0) {
			ks->want_flows = 1;
			continue;
		}
		/* `none`: no key at all, one row with the grand total (pmacct) */
		if (strcmp(tok, "none") == 0)
			continue;
		const struct primitive *p = builtin_lookup(tok, &rank);
		if (p) {
			f.p = p;
			f.width = p->width;
			f.need = p->pres ? 1ull << (p->pres - 1) : 0;
			const struct gen_field *g = gen_lookup(tok);
			if (g)
				f.rec_off = (uint16_t)g->off;
		} else if (reg) {
			for (unsigned i = 0; i < reg->ncustom; i++)
				if (strcmp(reg->custom[i].name, tok) == 0) {
					f.p = &custom_row;
					f.custom = &reg->custom[i];
					f.width = (uint16_t)(reg->custom[i].len +
							     (reg->custom[i].vlen ? 2 : 0));
					rank = 1000 + i; /* after built-ins */
				}
		}
		if (!f.p) {
			snprintf(err, errlen, "unknown primitive '%s' (nfacctd -a lists them)",
				 tok);
			return -1;
		}
		for (unsigned i = 0; i < n; i++)
			if (pend[i].rank == rank) {
				snprintf(err, errlen, "primitive '%s' listed twice", tok);
				return -1;
			}
		if (n == KEYSPEC_MAX) {
			snprintf(err, errlen, "too many primitives (max %d)", KEYSPEC_MAX);
			return -1;
		}
		pend[n].rank = rank;
		pend[n].f = f;
		n++;
	}
	if (add_implied(pend, &n, err, errlen) < 0)
		return -1;
	qsort(pend, n, sizeof pend[0], cmp_pending);
	unsigned off = 0, base = 0;
	if (ks->opts.history != 0) {
		if (n == KEYSPEC_MAX) {
			snprintf(err, errlen, "too many primitives (max %d)", KEYSPEC_MAX - 1);
			return -1;
		}
		ks->f[0].p = &history_row;
		ks->f[0].width = 8;
		ks->has_history = 1;
		off = 8;
		base = 1;
	}
	for (unsigned i = 0; i < n; i++) {
		ks->f[base + i] = pend[i].f;
		ks->f[base + i].off = (uint16_t)off;
		off += pend[i].f.width;
	}
	ks->n = n + base;
	for (unsigned i = 0; i < ks->n; i++) {
		struct keyspec_field *f = &ks->f[i];
		if (f->p->accumulate)
			continue;
		f->extract = f->p->extract;
		ks->ex[ks->nex++] = (uint8_t)i;
		ks->need_all |= f->need;
	}
	if (off > 65535 - 8) {
		snprintf(err, errlen, "aggregation key too wide (%u bytes)", off);
		return -1;
	}
	ks->key_len = (uint16_t)((off + 7) & ~7u);
	if (ks->key_len == 0)
		ks->key_len = 8; /* a key-less aggregate still needs one slot */
	/* timestamp_min / timestamp_max live in the entry's span, right after the key */
	for (unsigned i = 0; i < ks->n; i++) {
		if (ks->f[i].p->accumulate == PRIM_ACC_FIRST)
			ks->f[i].off =
			    (uint16_t)(ks->key_len + offsetof(struct agg_span, first_usec));
		else if (ks->f[i].p->accumulate == PRIM_ACC_LAST)
			ks->f[i].off =
			    (uint16_t)(ks->key_len + offsetof(struct agg_span, last_usec));
	}
	compile_extract(ks);
	return 0;
}

void keyspec_extract(const struct keyspec *ks, const struct flow_rec *r, uint8_t *key)
{
	zero_key(key, ks->key_len);
	if ((r->present & ks->need_all) == ks->need_all) {
		const uint8_t *rb = (const uint8_t *)r;
		for (unsigned j = 0; j < ks->ncopy; j++)
			copy_bytes(key + ks->copy[j].key_off, rb + ks->copy[j].rec_off,
				   ks->copy[j].len);
		if (ks->dport_off != NO_OFF)
			fix_dport(r, key + ks->dport_off);
		for (unsigned j = 0; j < ks->ncall; j++) {
			const struct keyspec_field *f = &ks->f[ks->call[j]];
			f->extract(r, key + f->off, f, &ks->opts);
		}
		return;
	}
	for (unsigned j = 0; j < ks->nex; j++) {
		const struct keyspec_field *f = &ks->f[ks->ex[j]];
		/* absent: the slice stays zero, whatever the reused record holds */
		if ((r->present & f->need) == f->need)
			f->extract(r, key + f->off, f, &ks->opts);
	}
}

uint32_t keyspec_extract_compact(const struct keyspec *ks, const struct flow_rec *r, uint8_t *key)
{
	const uint8_t *rb = (const uint8_t *)r;
	if (__builtin_expect((r->present & ks->need_all) == ks->need_all, 1)) {
		/* families are 0, 4 or 6: any bit but 4's means an IPv6 address */
		unsigned fam = 0;
		switch (ks->ncfam) {
		default:
			for (unsigned j = 4; j < ks->ncfam; j++)
				fam |= rb[ks->cfam_rec[j]];
			__attribute__((fallthrough));
		case 4:
			fam |= rb[ks->cfam_rec[3]];
			__attribute__((fallthrough));
		case 3:
			fam |= rb[ks->cfam_rec[2]];
			__attribute__((fallthrough));
		case 2:
			fam |= rb[ks->cfam_rec[1]];
			__attribute__((fallthrough));
		case 1:
			fam |= rb[ks->cfam_rec[0]];
		}
		if (fam & ~4u) {
			if (!ks->fw.ok) {
				keyspec_extract(ks, r, key);
				return ks->key_len;
			}
			run_words(key, rb, &ks->fw);
			if (ks->dport_off != NO_OFF)
				fix_dport(r, key + ks->dport_off);
			return ks->key_len;
		}
		if (ks->cw.ok) {
			run_words(key, rb, &ks->cw);
			if (ks->cdport_off != NO_OFF)
				fix_dport(r, key + ks->cdport_off);
			return ks->cx.key_len;
		}
		zero_key(key, ks->cx.key_len);
		for (unsigned j = 0; j < ks->nccopy; j++)
			copy_bytes(key + ks->ccopy[j].key_off, rb + ks->ccopy[j].rec_off,
				   ks->ccopy[j].len);
		if (ks->cdport_off != NO_OFF)
			fix_dport(r, key + ks->cdport_off);
		for (unsigned j = 0; j < ks->ncall; j++) {
			const struct keyspec_field *f = &ks->f[ks->call[j]];
			f->extract(r, key + ks->ccall_off[j], f, &ks->opts);
		}
		return ks->cx.key_len;
	}
	/* some field absent: the full key, compacted in place when it can be */
	keyspec_extract(ks, r, key);
	if (!ks->cx.key_len)
		return ks->key_len;
	for (unsigned j = 0; j < ks->nex; j++) {
		const struct keyspec_field *f = &ks->f[ks->ex[j]];
		if (compactable(f) && (key[f->off] & ~4u))
			return ks->key_len;
	}
	/* segments move towards the start, in order: a move never reads moved bytes */
	unsigned end = 0;
	for (unsigned i = 0; i < ks->cx.nseg; i++) {
		const struct agg_compact_seg *sg = &ks->cx.seg[i];
		memmove(key + sg->coff, key + sg->foff, sg->len);
		end = sg->coff + sg->len;
	}
	memset(key + end, 0, ks->key_len - end);
	return ks->cx.key_len;
}

const uint8_t *keyspec_value(const struct keyspec_field *f, const uint8_t *key,
			     const void *counters)
{
	switch (f->p->accumulate) {
	case 0:
		return key + f->off;
	case PRIM_ACC_FIRST: /* the entry's span, after the key (struct agg_span) */
	case PRIM_ACC_LAST:
		return key + f->off;
	default:
		return (const uint8_t *)counters + offsetof(struct agg_counters, tcp_flags);
	}
}

int keyspec_has(const struct keyspec *ks, const char *name)
{
	for (unsigned i = 0; i < ks->n; i++) {
		const char *n =
		    ks->f[i].p == &custom_row ? ks->f[i].custom->name : ks->f[i].p->name;
		if (strcmp(n, name) == 0)
			return 1;
	}
	return 0;
}

void flow_rec_clear(struct flow_rec *r)
{
	/* custom_ptr is only read where custom_len is non-zero */
	memset(r, 0, offsetof(struct flow_rec, custom_ptr));
	memset(r->custom_len, 0, sizeof r->custom_len);
}

/* ---- aggregate_primitives file ----------------------------------------- */

static const char *const custom_keys[] = {"name", "field_type", "len", "semantics", NULL};

/* A name `aggregate` can list: its separators (',' and blanks) are never part of one. */
static int custom_name_ok(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n >= sizeof(((struct custom_prim *)0)->name))
		return 0;
	for (; *v; v++)
		if (!isalnum((unsigned char)*v) && *v != '_' && *v != '-' && *v != '.')
			return 0;
	return 1;
}

static int parse_custom_line(struct custom_prim *c, const struct mapline *l, char *why,
			     size_t whylen)
{
	const char *v;
	char *end;

	memset(c, 0, sizeof *c);
	c->sem = CS_RAW;
	/* packet_ptr etc. belong to packet daemons; not meaningful here */
	if (mapline_check_keys(l, custom_keys, why, whylen) < 0)
		return -1;
	if (!mapline_get(l, "name") || !mapline_get(l, "field_type") || !mapline_get(l, "len")) {
		snprintf(why, whylen, "name, field_type and len are required");
		return -1;
	}
	v = mapline_get(l, "name");
	if (!custom_name_ok(v)) {
		snprintf(why, whylen, "bad name '%.64s' (1-63 letters, digits, '_', '-' or '.')",
			 v);
		return -1;
	}
	snprintf(c->name, sizeof c->name, "%s", v);

	/* "<id>", or an enterprise field as "<pen>:<id>" (pmacct's spelling) or "PEN:<pen>:<id>" */
	v = mapline_get(l, "field_type");
	const char *num = v;
	int pen_prefix = strncasecmp(v, "PEN:", 4) == 0;
	if (pen_prefix || strchr(v, ':')) {
		const char *p = pen_prefix ? v + 4 : v;
		errno = 0;
		unsigned long pen = strtoul(p, &end, 10);
		if (errno || end == p || *end != ':' || pen > UINT32_MAX ||
		    !isdigit((unsigned char)*p)) {
			snprintf(why, whylen,
				 "bad field_type '%.64s' (<pen>:<id> or PEN:<pen>:<id>)", v);
			return -1;
		}
		c->pen = (uint32_t)pen;
		num = end + 1;
	}
	errno = 0;
	unsigned long ft = strtoul(num, &end, 10);
	if (errno || *end || end == num || ft > 65535 || !isdigit((unsigned char)*num)) {
		snprintf(why, whylen, "bad field_type '%.64s'", v);
		return -1;
	}
	c->field_type = (uint16_t)ft;

	v = mapline_get(l, "len");
	if (strcmp(v, "vlen") == 0) {
		c->vlen = 1;
		c->len = 128;
	} else {
		errno = 0;
		unsigned long len = strtoul(v, &end, 10);
		if (errno || *end || len == 0 || len > 1024 || !isdigit((unsigned char)*v)) {
			snprintf(why, whylen, "bad len '%.64s' (1-1024 or vlen)", v);
			return -1;
		}
		c->len = (uint16_t)len;
	}

	if ((v = mapline_get(l, "semantics"))) {
		static const struct {
			const char *name;
			enum custom_sem sem;
		} sems[] = {{"u_int", CS_UINT}, {"hex", CS_HEX}, {"ip", CS_IP},
			    {"mac", CS_MAC},	{"str", CS_STR}, {"raw", CS_RAW}};
		size_t i = 0;
		while (i < sizeof sems / sizeof sems[0] && strcmp(sems[i].name, v) != 0)
			i++;
		if (i == sizeof sems / sizeof sems[0]) {
			snprintf(why, whylen, "bad semantics '%.64s'", v);
			return -1;
		}
		c->sem = sems[i].sem;
	}
	if (c->sem == CS_UINT && !c->vlen && c->len != 1 && c->len != 2 && c->len != 4 &&
	    c->len != 8) {
		snprintf(why, whylen, "u_int semantics needs len 1, 2, 4 or 8");
		return -1;
	}
	if (c->sem == CS_IP && c->len != 4 && c->len != 16) {
		snprintf(why, whylen, "ip semantics needs len 4 or 16");
		return -1;
	}
	if (c->sem == CS_MAC && c->len != 6) {
		snprintf(why, whylen, "mac semantics needs len 6");
		return -1;
	}
	return 0;
}

static int on_custom_line(void *arg, const struct mapline *l, char *why, size_t whylen)
{
	struct prim_registry *reg = arg;
	size_t dummy;
	if (reg->ncustom == FR_CUSTOM_MAX) {
		snprintf(why, whylen, "too many primitives (max %d)", FR_CUSTOM_MAX);
		return -1;
	}
	struct custom_prim *c = &reg->custom[reg->ncustom];
	if (parse_custom_line(c, l, why, whylen) < 0)
		return -1;
	if (builtin_lookup(c->name, &dummy) || strcmp(c->name, "flows") == 0) {
		snprintf(why, whylen, "'%s' is a built-in primitive", c->name);
		return -1;
	}
	for (unsigned i = 0; i < reg->ncustom; i++)
		if (strcmp(reg->custom[i].name, c->name) == 0) {
			snprintf(why, whylen, "'%s' defined twice", c->name);
			return -1;
		}
	c->index = reg->ncustom++;
	return 0;
}

int prim_registry_load(struct prim_registry *reg, const char *path, char *err, size_t errlen)
{
	memset(reg, 0, sizeof *reg);
	if (mapline_parse_file(path, MAPLINE_HASH_COMMENTS, on_custom_line, reg, err, errlen) < 0) {
		memset(reg, 0, sizeof *reg);
		return -1;
	}
	return 0;
}
