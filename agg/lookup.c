#include "agg/lookup.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/mapline.h"

/* ---- list files ---------------------------------------------------------- */

int listfile_parse(const char *text, size_t len, const char *name, listfile_fn fn, void *arg,
		   char *err, size_t errlen)
{
	char line[1024], why[256];
	size_t pos = 0;
	unsigned lineno = 0;
	while (pos < len) {
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		lineno++;
		size_t a = pos, b = end;
		pos = end + 1;
		while (a < b && isspace((unsigned char)text[a]))
			a++;
		while (b > a && isspace((unsigned char)text[b - 1]))
			b--;
		if (a == b || text[a] == '!' || text[a] == '#')
			continue;
		if (memchr(text + a, '\0', b - a)) {
			snprintf(err, errlen, "%s:%u: NUL byte", name, lineno);
			return -1;
		}
		if (b - a >= sizeof line) {
			snprintf(err, errlen, "%s:%u: line too long (max %zu)", name, lineno,
				 sizeof line - 1);
			return -1;
		}
		memcpy(line, text + a, b - a);
		line[b - a] = '\0';
		why[0] = '\0';
		if (fn(arg, line, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
			return -1;
		}
	}
	return 0;
}

int listfile_parse_file(const char *path, listfile_fn fn, void *arg, char *err, size_t errlen)
{
	size_t len;
	char *buf = mapline_read_file(path, &len, err, errlen);
	if (!buf)
		return -1;
	int rc = listfile_parse(buf, len, path, fn, arg, err, errlen);
	free(buf);
	return rc;
}

/* ---- value sets -------------------------------------------------------- */

static const char *const proto_names[256] = {
    [0] = "ip",	    [1] = "icmp",	  [2] = "igmp",	 [4] = "ipencap",    [6] = "tcp",
    [8] = "egp",    [9] = "igp",	  [17] = "udp",	 [41] = "ipv6",	     [46] = "rsvp",
    [47] = "gre",   [50] = "esp",	  [51] = "ah",	 [58] = "ipv6-icmp", [88] = "eigrp",
    [89] = "ospf",  [94] = "ipip",	  [103] = "pim", [112] = "vrrp",     [115] = "l2tp",
    [132] = "sctp", [137] = "mpls-in-ip",
};

int lookup_proto_number(const char *name)
{
	for (int i = 0; i < 256; i++)
		if (proto_names[i] && strcasecmp(proto_names[i], name) == 0)
			return i;
	return -1;
}

static int parse_uint(const char *v, unsigned long max, unsigned long *out)
{
	char *end;
	if (!isdigit((unsigned char)v[0]))
		return -1;
	errno = 0;
	unsigned long x = strtoul(v, &end, 10);
	if (errno || *end || x > max)
		return -1;
	*out = x;
	return 0;
}

static int on_value(void *arg, char *v, char *why, size_t whylen)
{
	struct lookup_set *s = arg;
	unsigned long x;
	switch (s->kind) {
	case LOOKUP_PORTS:
		if (parse_uint(v, 65535, &x) < 0) {
			snprintf(why, whylen, "bad port '%.64s' (0-65535)", v);
			return -1;
		}
		break;
	case LOOKUP_PROTOS:
		if (parse_uint(v, 255, &x) < 0) {
			int p = lookup_proto_number(v);
			if (p < 0) {
				snprintf(why, whylen,
					 "bad protocol '%.64s' (0-255 or a name such as tcp, udp)",
					 v);
				return -1;
			}
			x = (unsigned long)p;
		}
		break;
	case LOOKUP_TOS:
	default:
		if (parse_uint(v, 255, &x) < 0) {
			snprintf(why, whylen, "bad tos '%.64s' (0-255)", v);
			return -1;
		}
		break;
	}
	if (!lookup_set_has(s, (unsigned)x)) {
		s->bits[x >> 6] |= 1ull << (x & 63);
		s->count++;
	}
	return 0;
}

static struct lookup_set *set_new(enum lookup_kind k)
{
	struct lookup_set *s = calloc(1, sizeof *s);
	if (s)
		s->kind = k;
	return s;
}

int lookup_set_parse(struct lookup_set **out, enum lookup_kind k, const char *text, size_t len,
		     const char *name, char *err, size_t errlen)
{
	struct lookup_set *s = set_new(k);
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	if (listfile_parse(text, len, name, on_value, s, err, errlen) < 0) {
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

int lookup_set_load(struct lookup_set **out, enum lookup_kind k, const char *path, char *err,
		    size_t errlen)
{
	struct lookup_set *s = set_new(k);
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (listfile_parse_file(path, on_value, s, err, errlen) < 0) {
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

void lookup_set_free(struct lookup_set *s)
{
	free(s);
}

size_t lookup_set_count(const struct lookup_set *s)
{
	return s ? s->count : 0;
}

/* ---- map registry adapters ------------------------------------------------ */

#define REG_PARSE(fn, kind)                                                                        \
	static int fn(const char *path, void **out, char *err, size_t errlen)                      \
	{                                                                                          \
		struct lookup_set *s;                                                              \
		if (lookup_set_load(&s, kind, path, err, errlen) < 0)                              \
			return -1;                                                                 \
		*out = s;                                                                          \
		return 0;                                                                          \
	}
REG_PARSE(reg_parse_ports, LOOKUP_PORTS)
REG_PARSE(reg_parse_protos, LOOKUP_PROTOS)
REG_PARSE(reg_parse_tos, LOOKUP_TOS)

static void reg_free(void *m)
{
	lookup_set_free(m);
}

static size_t reg_count(const void *m)
{
	return lookup_set_count(m);
}

const struct map_type lookup_ports_type = {
    .parse = reg_parse_ports, .free = reg_free, .count = reg_count};
const struct map_type lookup_protos_type = {
    .parse = reg_parse_protos, .free = reg_free, .count = reg_count};
const struct map_type lookup_tos_type = {
    .parse = reg_parse_tos, .free = reg_free, .count = reg_count};

/* ---- per-output key fix-up ---------------------------------------------- */

unsigned lookup_out_init(struct lookup_out *lo, const struct keyspec *ks, const int slot[3])
{
	static const struct {
		const char *name;
		enum lookup_kind kind;
	} covered[] = {{"src_port", LOOKUP_PORTS},
		       {"dst_port", LOOKUP_PORTS},
		       {"sum_port", LOOKUP_PORTS},
		       {"proto", LOOKUP_PROTOS},
		       {"tos", LOOKUP_TOS}};
	memset(lo, 0, sizeof *lo);
	for (unsigned k = 0; k < 3; k++)
		lo->slot[k] = slot[k];
	for (unsigned i = 0; i < ks->n; i++) {
		const struct keyspec_field *f = &ks->f[i];
		if (f->custom)
			continue;
		for (size_t c = 0; c < sizeof covered / sizeof covered[0]; c++)
			if (strcmp(f->p->name, covered[c].name) == 0 &&
			    slot[covered[c].kind] >= 0 && lo->n < LOOKUP_FIELDS_MAX) {
				lo->f[lo->n].off = f->off;
				lo->f[lo->n].width = (uint8_t)f->width;
				lo->f[lo->n].kind = (uint8_t)covered[c].kind;
				lo->n++;
			}
	}
	return lo->n;
}

void lookup_out_apply(const struct lookup_out *lo, const struct maps *m, uint8_t *key)
{
	for (unsigned i = 0; i < lo->n; i++) {
		const struct lookup_set *s = maps_current(m, lo->slot[lo->f[i].kind]);
		uint8_t *k = key + lo->f[i].off;
		if (!s)
			continue;
		if (lo->f[i].width == 2) {
			uint16_t v;
			memcpy(&v, k, 2);
			if (!lookup_set_has(s, v))
				memset(k, 0, 2);
		} else if (!lookup_set_has(s, k[0])) {
			k[0] = 0;
		}
	}
}

/* ---- sum_* --------------------------------------------------------------- */

static int is_sum(const struct keyspec_field *f)
{
	return !f->custom && strncmp(f->p->name, "sum_", 4) == 0;
}

int lookup_keyspec_sum(const struct keyspec *ks)
{
	for (unsigned i = 0; i < ks->n; i++)
		if (is_sum(&ks->f[i]))
			return 1;
	return 0;
}

int lookup_keyspec_check(const struct keyspec *ks, char *why, size_t whylen)
{
	const char *sum = NULL;
	for (unsigned i = 0; i < ks->n; i++)
		if (is_sum(&ks->f[i]))
			sum = ks->f[i].p->name;
	if (!sum)
		return 0;
	for (unsigned i = 0; i < ks->n; i++) {
		const struct keyspec_field *f = &ks->f[i];
		const char *n = f->custom ? f->custom->name : f->p->name;
		if ((is_sum(f) && strcmp(n, sum) == 0) || strcmp(n, "tag") == 0 ||
		    strcmp(n, "tag2") == 0 || strcmp(n, "label") == 0 ||
		    strcmp(n, "stamp_inserted") == 0)
			continue;
		snprintf(why, whylen, "%s cannot be combined with %s (a sum primitive goes alone)",
			 sum, n);
		return -1;
	}
	return 0;
}

#define SWAP(T, a, b)                                                                              \
	do {                                                                                       \
		T t_ = (a);                                                                        \
		(a) = (b);                                                                         \
		(b) = t_;                                                                          \
	} while (0)

void lookup_flow_reverse(struct flow_rec *dst, const struct flow_rec *src)
{
	static const enum fr_field pairs[][2] = {
	    {FR_SRC_ADDR, FR_DST_ADDR}, {FR_SRC_MASK, FR_DST_MASK}, {FR_SRC_PORT, FR_DST_PORT},
	    {FR_SRC_AS, FR_DST_AS},	{FR_SRC_MAC, FR_DST_MAC},   {FR_SRC_NET, FR_DST_NET},
	    {FR_SRC_GEO, FR_DST_GEO},
	};
	*dst = *src;
	SWAP(struct nt_addr, dst->src_addr, dst->dst_addr);
	SWAP(uint8_t, dst->src_mask, dst->dst_mask);
	SWAP(uint16_t, dst->src_port, dst->dst_port);
	SWAP(uint32_t, dst->src_as, dst->dst_as);
	uint8_t mac[6];
	memcpy(mac, dst->src_mac, 6);
	memcpy(dst->src_mac, dst->dst_mac, 6);
	memcpy(dst->dst_mac, mac, 6);
	SWAP(struct nt_addr, dst->src_net, dst->dst_net);
	SWAP(struct nt_geo, dst->src_geo, dst->dst_geo);
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		uint64_t a = FR_BIT(pairs[i][0]), b = FR_BIT(pairs[i][1]);
		uint64_t p = src->present & (a | b);
		dst->present &= ~(a | b);
		if (p & a)
			dst->present |= b;
		if (p & b)
			dst->present |= a;
	}
}
