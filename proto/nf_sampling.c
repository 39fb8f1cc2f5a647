#include "proto/nf_sampling.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- per-exporter sampler table ------------------------------------------ */

/*
 * A handful of samplers per exporter is the norm (one per line card or
 * direction), so a linear array beats a hash; it is capped so a hostile
 * exporter announcing random sampler ids cannot grow it without bound.
 */
#define SAMPLERS_MAX 1024

struct nf_sampler_store {
	struct nf_sampler *v;
	size_t n, cap;
};

struct nf_sampler_store *nf_sampler_store_new(void)
{
	return calloc(1, sizeof(struct nf_sampler_store));
}

void nf_sampler_store_free(struct nf_sampler_store *s)
{
	if (!s)
		return;
	free(s->v);
	free(s);
}

const struct nf_sampler *nf_sampler_get(const struct nf_sampler_store *s, uint32_t domain,
					uint64_t id)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].id == id && s->v[i].domain == domain)
			return &s->v[i];
	return NULL;
}

const struct nf_sampler *nf_sampler_find(const struct nf_sampler_store *s, uint32_t domain,
					 uint64_t id)
{
	const struct nf_sampler *smp, *last = NULL;
	if (!s)
		return NULL;
	if ((smp = nf_sampler_get(s, domain, id)))
		return smp;
	if (id != NF_SAMPLER_ANY && (smp = nf_sampler_get(s, domain, NF_SAMPLER_ANY)))
		return smp;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].domain == domain)
			last = &s->v[i];
	return last;
}

int nf_sampler_set(struct nf_sampler_store *s, const struct nf_sampler *smp)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].id == smp->id && s->v[i].domain == smp->domain) {
			/* move to the tail: nf_sampler_find() falls back to the newest */
			memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
			s->v[s->n - 1] = *smp;
			return 0;
		}
	if (s->n == s->cap) {
		if (s->cap >= SAMPLERS_MAX) {
			/* full: recycle the oldest slot rather than refuse news */
			memmove(s->v, s->v + 1, (s->n - 1) * sizeof *s->v);
			s->n--;
		} else {
			size_t ncap = s->cap ? s->cap * 2 : 8;
			struct nf_sampler *nv = realloc(s->v, ncap * sizeof *nv);
			if (!nv)
				return -1;
			s->v = nv;
			s->cap = ncap;
		}
	}
	s->v[s->n++] = *smp;
	return 0;
}

/* ---- sampling_map -------------------------------------------------------- */

struct smap_rule {
	struct nt_addr net;
	uint8_t plen;
	uint32_t rate;
	int64_t in, out; /* 0 = any; negative = not this ifindex */
};

struct nf_sampling_map {
	struct smap_rule *r;
	size_t n, cap;
};

void nf_sampling_map_free(struct nf_sampling_map *m)
{
	if (!m)
		return;
	free(m->r);
	free(m);
}

size_t nf_sampling_map_count(const struct nf_sampling_map *m)
{
	return m ? m->n : 0;
}

static int parse_prefix(const char *v, struct nt_addr *a, uint8_t *plen)
{
	char buf[64];
	const char *slash = strchr(v, '/');
	size_t alen = slash ? (size_t)(slash - v) : strlen(v);
	if (alen == 0 || alen >= sizeof buf)
		return -1;
	memcpy(buf, v, alen);
	buf[alen] = 0;
	memset(a, 0, sizeof *a);
	if (inet_pton(AF_INET, buf, a->a) == 1)
		a->family = 4;
	else if (inet_pton(AF_INET6, buf, a->a) == 1)
		a->family = 6;
	else
		return -1;
	unsigned max = a->family == 4 ? 32 : 128;
	if (slash) {
		char *end;
		errno = 0;
		unsigned long l = strtoul(slash + 1, &end, 10);
		if (errno || *end || end == slash + 1 || l > max)
			return -1;
		*plen = (uint8_t)l;
	} else {
		*plen = (uint8_t)max;
	}
	return 0;
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

static int parse_line(struct smap_rule *rule, char *line, const char **why)
{
	char *save = NULL;
	int have_id = 0, have_ip = 0;
	memset(rule, 0, sizeof *rule);
	for (char *tok = strtok_r(line, " \t\r", &save); tok;
	     tok = strtok_r(NULL, " \t\r", &save)) {
		char *eq = strchr(tok, '=');
		int64_t x;
		if (!eq) {
			*why = "expected key=value (no spaces around '=')";
			return -1;
		}
		*eq = 0;
		const char *k = tok, *v = eq + 1;
		if (strcmp(k, "id") == 0) {
			if (parse_int(v, 1, UINT32_MAX, &x) < 0) {
				*why = "bad id (sampling rate, a positive integer)";
				return -1;
			}
			rule->rate = (uint32_t)x;
			have_id = 1;
		} else if (strcmp(k, "ip") == 0) {
			if (parse_prefix(v, &rule->net, &rule->plen) < 0) {
				*why = "bad ip (address or prefix)";
				return -1;
			}
			have_ip = 1;
		} else if (strcmp(k, "in") == 0 || strcmp(k, "out") == 0) {
			if (parse_int(v, -(int64_t)UINT32_MAX, UINT32_MAX, &x) < 0 || x == 0) {
				*why = "bad interface (non-zero ifindex, '-' negates)";
				return -1;
			}
			if (k[0] == 'i')
				rule->in = x;
			else
				rule->out = x;
		} else {
			*why = "unknown key (valid: id, ip, in, out)";
			return -1;
		}
	}
	if (!have_id || !have_ip) {
		*why = have_id ? "missing ip" : "missing id";
		return -1;
	}
	return 0;
}

int nf_sampling_map_parse(struct nf_sampling_map **out, const char *text, const char *name,
			  char *err, size_t errlen)
{
	struct nf_sampling_map *m = calloc(1, sizeof *m);
	char *copy = strdup(text);
	unsigned lineno = 0;
	if (!m || !copy) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto fail;
	}
	char *p = copy;
	while (p) {
		char *line = p;
		char *nl = strchr(p, '\n');
		if (nl) {
			*nl = 0;
			p = nl + 1;
		} else {
			p = NULL;
		}
		lineno++;
		char *bang = strchr(line, '!');
		if (bang)
			*bang = 0;
		if (strspn(line, " \t\r") == strlen(line))
			continue;
		struct smap_rule rule;
		const char *why = NULL;
		if (parse_line(&rule, line, &why) < 0) {
			snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
			goto fail;
		}
		if (m->n == m->cap) {
			size_t ncap = m->cap ? m->cap * 2 : 16;
			struct smap_rule *nr = realloc(m->r, ncap * sizeof *nr);
			if (!nr) {
				snprintf(err, errlen, "%s:%u: out of memory", name, lineno);
				goto fail;
			}
			m->r = nr;
			m->cap = ncap;
		}
		m->r[m->n++] = rule;
	}
	free(copy);
	*out = m;
	return 0;
fail:
	free(copy);
	nf_sampling_map_free(m);
	return -1;
}

int nf_sampling_map_load(struct nf_sampling_map **out, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				fclose(f);
				snprintf(err, errlen, "%s: out of memory", path);
				return -1;
			}
			buf = nb;
			cap = ncap;
		}
		size_t got = fread(buf + len, 1, 4096, f);
		len += got;
		if (got < 4096)
			break;
	}
	int rd_err = ferror(f);
	fclose(f);
	if (rd_err) {
		free(buf);
		snprintf(err, errlen, "%s: read error", path);
		return -1;
	}
	buf[len] = 0;
	int rc = nf_sampling_map_parse(out, buf, path, err, errlen);
	free(buf);
	return rc;
}

static int prefix_match(const struct nt_addr *net, uint8_t plen, const struct nt_addr *a)
{
	if (net->family != a->family)
		return 0;
	unsigned full = plen / 8, rem = plen % 8;
	if (memcmp(net->a, a->a, full) != 0)
		return 0;
	if (rem) {
		uint8_t mask = (uint8_t)(0xff << (8 - rem));
		if ((net->a[full] & mask) != (a->a[full] & mask))
			return 0;
	}
	return 1;
}

static int iface_match(int64_t want, int have, uint32_t iface)
{
	if (want == 0)
		return 1;
	if (!have)
		return 0;
	return want > 0 ? (uint32_t)want == iface : (uint32_t)(-want) != iface;
}

uint32_t nf_sampling_map_lookup(const struct nf_sampling_map *m, const struct nt_addr *exporter,
				const struct flow_rec *r)
{
	if (!m)
		return 0;
	for (size_t i = 0; i < m->n; i++) {
		const struct smap_rule *rule = &m->r[i];
		if (!prefix_match(&rule->net, rule->plen, exporter))
			continue;
		if (!iface_match(rule->in, r && FR_HAS(r, FR_IN_IFACE), r ? r->in_iface : 0))
			continue;
		if (!iface_match(rule->out, r && FR_HAS(r, FR_OUT_IFACE), r ? r->out_iface : 0))
			continue;
		return rule->rate;
	}
	return 0;
}
