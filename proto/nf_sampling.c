#include "proto/nf_sampling.h"

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
