/*
 * Per-exporter table of names and route distinguishers from options data:
 * open addressing with linear probing over a power-of-two array that doubles
 * up to the NF_NAMES_MAX bound.  Entries are never removed (routers re-send
 * them; a changed value overwrites in place), so probing needs no tombstones.
 */
#include "proto/nf_options.h"

#include <stdlib.h>
#include <string.h>

#define INITIAL_SLOTS 16

struct nf_name_store {
	struct nf_name_entry *slot;
	size_t nslots, count;
	size_t per_kind[3];
};

struct nf_name_store *nf_names_new(void)
{
	return calloc(1, sizeof(struct nf_name_store));
}

void nf_names_free(struct nf_name_store *s)
{
	if (!s)
		return;
	free(s->slot);
	free(s);
}

size_t nf_names_count(const struct nf_name_store *s)
{
	return s ? s->count : 0;
}

int nf_names_has(const struct nf_name_store *s, uint8_t kind)
{
	return s && kind < 3 && s->per_kind[kind] != 0;
}

static size_t hash(uint8_t kind, uint32_t domain, uint32_t id, size_t nslots)
{
	uint64_t h = ((uint64_t)domain << 32 | id) * 0x9e3779b97f4a7c15ull;
	h ^= (uint64_t)kind * 0xc2b2ae3d27d4eb4full;
	return (size_t)(h >> 32) & (nslots - 1);
}

/* The slot of the key, or the free slot where it would go (nslots > count). */
static struct nf_name_entry *probe(struct nf_name_entry *slot, size_t nslots, uint8_t kind,
				   uint32_t domain, uint32_t id)
{
	for (size_t i = hash(kind, domain, id, nslots);; i = (i + 1) & (nslots - 1)) {
		struct nf_name_entry *e = &slot[i];
		if (!e->kind || (e->kind == kind && e->domain == domain && e->id == id))
			return e;
	}
}

const struct nf_name_entry *nf_names_get(const struct nf_name_store *s, uint8_t kind,
					 uint32_t domain, uint32_t id)
{
	if (!s || !s->count)
		return NULL;
	const struct nf_name_entry *e = probe(s->slot, s->nslots, kind, domain, id);
	return e->kind ? e : NULL;
}

/* Keep the load factor at most 1/2. */
static int grow(struct nf_name_store *s)
{
	size_t n = s->nslots ? s->nslots * 2 : INITIAL_SLOTS;
	struct nf_name_entry *slot = calloc(n, sizeof *slot);
	if (!slot)
		return -1;
	for (size_t i = 0; i < s->nslots; i++)
		if (s->slot[i].kind)
			*probe(slot, n, s->slot[i].kind, s->slot[i].domain, s->slot[i].id) =
			    s->slot[i];
	free(s->slot);
	s->slot = slot;
	s->nslots = n;
	return 0;
}

int nf_names_set(struct nf_name_store *s, const struct nf_name_update *u)
{
	if (u->kind != NF_NAME_VRF && u->kind != NF_NAME_IFACE)
		return -1;
	struct nf_name_entry *e =
	    s->count ? probe(s->slot, s->nslots, u->kind, u->domain, u->id) : NULL;
	if (!e || !e->kind) {
		if (s->count >= NF_NAMES_MAX)
			return -1;
		if ((s->count + 1) * 2 > s->nslots && grow(s) < 0)
			return -1;
		e = probe(s->slot, s->nslots, u->kind, u->domain, u->id);
		memset(e, 0, sizeof *e);
		e->kind = u->kind;
		e->domain = u->domain;
		e->id = u->id;
		s->count++;
		s->per_kind[u->kind]++;
	}
	int changed = 0;
	if (u->name) {
		/* fixed-length fields are NUL-padded: the name ends at the first NUL */
		size_t n = u->name_len;
		const void *nul = memchr(u->name, 0, n);
		if (nul)
			n = (size_t)((const uint8_t *)nul - u->name);
		if (n > NF_NAME_MAX)
			n = NF_NAME_MAX;
		if (!e->has_name || strncmp(e->name, (const char *)u->name, n) != 0 ||
		    e->name[n] != '\0') {
			memcpy(e->name, u->name, n);
			e->name[n] = '\0';
			e->has_name = 1;
			changed = 1;
		}
	}
	if (u->has_rd && (!e->has_rd || e->rd != u->rd)) {
		e->rd = u->rd;
		e->has_rd = 1;
		changed = 1;
	}
	return changed;
}
