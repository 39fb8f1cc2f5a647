#include "agg/flow_to_rd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/lpm.h"
#include "agg/mapline.h"

struct f2rd_rule {
	uint64_t rd;
	struct nt_addr net;
	uint8_t plen;
	int64_t in, out, vpn_id, label; /* -1: any */
	struct nt_addr nexthop;		/* family 0: any */
};

struct f2rd_map {
	struct f2rd_rule *r;
	size_t n, cap;
};

static int parse_u64(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno || *end || end == v || *v == '-' || x > max)
		return -1;
	*out = x;
	return 0;
}

int f2rd_parse_rd(const char *s, uint64_t *rd)
{
	char buf[64], *a, *b;
	uint64_t type, admin, val;
	if (strlen(s) >= sizeof buf)
		return -1;
	snprintf(buf, sizeof buf, "%s", s);
	if (!(a = strchr(buf, ':')) || !(b = strrchr(buf, ':')) || a == b)
		return -1;
	*a++ = 0;
	*b++ = 0;
	if (parse_u64(buf, 2, &type) < 0)
		return -1;
	if (type == 1) {
		struct in_addr ip;
		if (inet_pton(AF_INET, a, &ip) != 1 || parse_u64(b, 0xffff, &val) < 0)
			return -1;
		*rd = 1ull << 48 | (uint64_t)ntohl(ip.s_addr) << 16 | val;
		return 0;
	}
	if (type == 0) {
		if (parse_u64(a, 0xffff, &admin) < 0 || parse_u64(b, 0xffffffffull, &val) < 0)
			return -1;
		*rd = admin << 32 | val;
		return 0;
	}
	if (parse_u64(a, 0xffffffffull, &admin) < 0 || parse_u64(b, 0xffff, &val) < 0)
		return -1;
	*rd = 2ull << 48 | admin << 16 | val;
	return 0;
}

static const char *const f2rd_keys[] = {
    "id", "ip", "in", "out", "bgp_nexthop", "mpls_vpn_id", "mpls_label_bottom", NULL};

static int num_key(const struct mapline *l, const char *k, uint64_t max, int64_t *out, char *why,
		   size_t whylen)
{
	const char *v = mapline_get(l, k);
	uint64_t x;
	*out = -1;
	if (!v)
		return 0;
	if (parse_u64(v, max, &x) < 0) {
		snprintf(why, whylen, "bad %s '%.32s' (an integer up to %llu)", k, v,
			 (unsigned long long)max);
		return -1;
	}
	*out = (int64_t)x;
	return 0;
}

static int on_rule(void *arg, const struct mapline *l, char *why, size_t whylen)
{
	struct f2rd_map *m = arg;
	struct f2rd_rule rule;
	const char *v;
	memset(&rule, 0, sizeof rule);
	if (mapline_check_keys(l, f2rd_keys, why, whylen) < 0)
		return -1;
	if (!(v = mapline_get(l, "id")) || f2rd_parse_rd(v, &rule.rd) < 0) {
		snprintf(why, whylen,
			 "%s id '%.64s' (a route distinguisher: 0:ASN:N, 1:IPv4:N or "
			 "2:ASN4:N)",
			 v ? "bad" : "missing", v ? v : "");
		return -1;
	}
	if (!(v = mapline_get(l, "ip"))) {
		snprintf(why, whylen, "missing ip");
		return -1;
	}
	if (lpm_prefix_parse(v, &rule.net, &rule.plen) < 0) {
		snprintf(why, whylen, "bad ip '%.64s' (address or prefix)", v);
		return -1;
	}
	if ((v = mapline_get(l, "bgp_nexthop"))) {
		uint8_t plen;
		if (lpm_prefix_parse(v, &rule.nexthop, &plen) < 0 ||
		    plen != (rule.nexthop.family == 4 ? 32 : 128)) {
			snprintf(why, whylen, "bad bgp_nexthop '%.64s' (an address)", v);
			return -1;
		}
	}
	if (num_key(l, "in", 0xffffffffull, &rule.in, why, whylen) < 0 ||
	    num_key(l, "out", 0xffffffffull, &rule.out, why, whylen) < 0 ||
	    num_key(l, "mpls_vpn_id", 0xffffffffull, &rule.vpn_id, why, whylen) < 0 ||
	    num_key(l, "mpls_label_bottom", 0xfffff, &rule.label, why, whylen) < 0)
		return -1;
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		struct f2rd_rule *n = realloc(m->r, cap * sizeof *n);
		if (!n) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		m->r = n;
		m->cap = cap;
	}
	m->r[m->n++] = rule;
	return 0;
}

static void f2rd_free(void *map)
{
	struct f2rd_map *m = map;
	if (m)
		free(m->r);
	free(m);
}

static int f2rd_parse(const char *path, void **out, char *err, size_t errlen)
{
	struct f2rd_map *m = calloc(1, sizeof *m);
	if (!m) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (mapline_parse_file(path, 0, on_rule, m, err, errlen) < 0) {
		f2rd_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

static size_t f2rd_count(const void *map)
{
	return map ? ((const struct f2rd_map *)map)->n : 0;
}

const struct map_type f2rd_map_type = {.parse = f2rd_parse, .free = f2rd_free, .count = f2rd_count};

static int addr_eq(const struct nt_addr *a, const struct nt_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, a->family == 4 ? 4 : 16) == 0;
}

uint64_t f2rd_lookup(const struct f2rd_map *m, const struct flow_rec *r)
{
	if (!m || !FR_HAS(r, FR_PEER_SRC_IP))
		return 0;
	for (size_t i = 0; i < m->n; i++) {
		const struct f2rd_rule *x = &m->r[i];
		if (!lpm_prefix_match(&x->net, x->plen, &r->peer_src_ip))
			continue;
		if (x->in >= 0 && (!FR_HAS(r, FR_IN_IFACE) || r->in_iface != (uint64_t)x->in))
			continue;
		if (x->out >= 0 && (!FR_HAS(r, FR_OUT_IFACE) || r->out_iface != (uint64_t)x->out))
			continue;
		if (x->nexthop.family &&
		    (!FR_HAS(r, FR_PEER_DST_IP) || !addr_eq(&x->nexthop, &r->peer_dst_ip)))
			continue;
		if (x->vpn_id >= 0 && !(FR_HAS(r, FR_VRF_IN) && r->vrf_in == (uint64_t)x->vpn_id) &&
		    !(FR_HAS(r, FR_VRF_OUT) && r->vrf_out == (uint64_t)x->vpn_id))
			continue;
		if (x->label >= 0) {
			if (!FR_HAS(r, FR_MPLS) || !r->mpls_depth ||
			    (r->mpls[r->mpls_depth - 1] >> 4) != (uint64_t)x->label)
				continue;
		}
		return x->rd;
	}
	return 0;
}

static enum stage_verdict run_f2rd(const void *cfg, struct stage_ctx *sc, struct flow_rec *r)
{
	(void)cfg;
	uint64_t rd = f2rd_lookup(sc->map, r);
	if (rd) {
		r->mpls_vpn_rd = rd;
		r->mpls_vpn_rd_origin = FR_RD_MAP;
		FR_SET(r, FR_MPLS_VPN_RD);
	}
	return STAGE_KEEP;
}

const struct stage_desc stage_flow_to_rd = {"flow_to_rd_map", FR_BIT(FR_MPLS_VPN_RD), run_f2rd,
					    NULL, NULL};
