#include "agg/sampling_map.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/lpm.h"
#include "agg/mapline.h"

/*
 * First match wins and rules may carry interface conditions, so this is an
 * ordered rule list, not a longest-prefix structure; maps are a handful of
 * lines per exporter in practice.
 */
struct smap_rule {
	struct nt_addr net;
	uint8_t plen;
	uint32_t rate;
	int64_t in, out; /* 0 = any; negative = not this ifindex */
};

struct sampling_map {
	struct smap_rule *r;
	size_t n, cap;
};

void sampling_map_free(struct sampling_map *m)
{
	if (!m)
		return;
	free(m->r);
	free(m);
}

size_t sampling_map_count(const struct sampling_map *m)
{
	return m ? m->n : 0;
}

static int parse_int(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (errno || *end || end == v || x < lo || x > hi)
		return -1;
	*out = x;
	return 0;
}

static const char *const smap_keys[] = {"id", "ip", "in", "out", NULL};

static int on_rule(void *arg, const struct mapline *l, char *why, size_t whylen)
{
	struct sampling_map *m = arg;
	struct smap_rule rule;
	const char *v;
	int64_t x;

	memset(&rule, 0, sizeof rule);
	if (mapline_check_keys(l, smap_keys, why, whylen) < 0)
		return -1;
	if (!(v = mapline_get(l, "id"))) {
		snprintf(why, whylen, "missing id");
		return -1;
	}
	if (parse_int(v, 1, UINT32_MAX, &x) < 0) {
		snprintf(why, whylen, "bad id '%.64s' (sampling rate, a positive integer)", v);
		return -1;
	}
	rule.rate = (uint32_t)x;
	if (!(v = mapline_get(l, "ip"))) {
		snprintf(why, whylen, "missing ip");
		return -1;
	}
	if (lpm_prefix_parse(v, &rule.net, &rule.plen) < 0) {
		snprintf(why, whylen, "bad ip '%.64s' (address or prefix)", v);
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		const char *k = i ? "out" : "in";
		if (!(v = mapline_get(l, k)))
			continue;
		if (parse_int(v, -(int64_t)UINT32_MAX, UINT32_MAX, &x) < 0 || x == 0) {
			snprintf(why, whylen, "bad %s '%.64s' (non-zero ifindex, '-' negates)", k,
				 v);
			return -1;
		}
		if (i)
			rule.out = x;
		else
			rule.in = x;
	}
	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 16;
		struct smap_rule *nr = realloc(m->r, ncap * sizeof *nr);
		if (!nr) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		m->r = nr;
		m->cap = ncap;
	}
	m->r[m->n++] = rule;
	return 0;
}

int sampling_map_parse(struct sampling_map **out, const char *text, size_t len, const char *name,
		       char *err, size_t errlen)
{
	struct sampling_map *m = calloc(1, sizeof *m);
	if (!m) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	if (mapline_parse(text, len, name, 0, on_rule, m, err, errlen) < 0) {
		sampling_map_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

int sampling_map_load(struct sampling_map **out, const char *path, char *err, size_t errlen)
{
	struct sampling_map *m = calloc(1, sizeof *m);
	if (!m) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (mapline_parse_file(path, 0, on_rule, m, err, errlen) < 0) {
		sampling_map_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

static int iface_match(int64_t want, int have, uint32_t iface)
{
	if (want == 0)
		return 1;
	if (!have)
		return 0;
	return want > 0 ? (uint32_t)want == iface : (uint32_t)(-want) != iface;
}

uint32_t sampling_map_lookup(const struct sampling_map *m, const struct nt_addr *exporter,
			     const struct flow_rec *r)
{
	if (!m)
		return 0;
	for (size_t i = 0; i < m->n; i++) {
		const struct smap_rule *rule = &m->r[i];
		if (!lpm_prefix_match(&rule->net, rule->plen, exporter))
			continue;
		if (!iface_match(rule->in, r && FR_HAS(r, FR_IN_IFACE), r ? r->in_iface : 0))
			continue;
		if (!iface_match(rule->out, r && FR_HAS(r, FR_OUT_IFACE), r ? r->out_iface : 0))
			continue;
		return rule->rate;
	}
	return 0;
}

int sampling_map_reg_parse(const char *path, void **out, char *err, size_t errlen)
{
	struct sampling_map *m = NULL;
	if (sampling_map_load(&m, path, err, errlen) < 0)
		return -1;
	*out = m;
	return 0;
}

void sampling_map_reg_free(void *map)
{
	sampling_map_free(map);
}

size_t sampling_map_reg_count(const void *map)
{
	return sampling_map_count(map);
}
