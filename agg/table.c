#include "agg/table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define LOAD_NUM 7 /* grow when count > cap * 7/10 */
#define LOAD_DEN 10

static inline struct agg_entry *slot_at(const struct agg_table *t, uint64_t i)
{
	return (struct agg_entry *)(t->slots + i * t->entry_size);
}

/*
 * A multiply-xorshift mix over 8-byte words: keys are fixed-width and
 * zero-padded, so no tail handling is needed, and the final avalanche makes
 * linear probing safe even for keys that differ in one byte.
 */
uint64_t agg_hash(const uint8_t *key, uint32_t key_len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ key_len;
	for (uint32_t i = 0; i < key_len; i += 8) {
		uint64_t w;
		memcpy(&w, key + i, 8);
		h ^= w;
		h *= 0xbf58476d1ce4e5b9ull;
		h ^= h >> 31;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h ? h : 1;
}

/*
 * Big tables are mmap'ed and offered to transparent huge pages: at 100k+
 * keys nearly every probe is a TLB miss on 4 KiB pages.  Anonymous mmap
 * memory is zeroed, like calloc's.
 */
#define HUGE_MIN (2u << 20)

static size_t huge_len(size_t bytes)
{
	return (bytes + HUGE_MIN - 1) & ~(size_t)(HUGE_MIN - 1);
}

static uint8_t *slots_alloc(size_t bytes)
{
	if (bytes < HUGE_MIN)
		return calloc(1, bytes);
	void *p =
	    mmap(NULL, huge_len(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, huge_len(bytes), MADV_HUGEPAGE); /* a hint: failure only costs speed */
	return p;
}

static void slots_free(uint8_t *p, size_t bytes)
{
	if (!p)
		return;
	if (bytes < HUGE_MIN)
		free(p);
	else
		munmap(p, huge_len(bytes));
}

static uint64_t round_pow2(uint64_t v)
{
	uint64_t p = 16;
	while (p < v)
		p <<= 1;
	return p;
}

int agg_table_init(struct agg_table *t, uint32_t key_len, uint64_t initial_cap)
{
	memset(t, 0, sizeof *t);
	t->key_len = key_len;
	t->entry_size = sizeof(struct agg_entry) + key_len;
	t->cap = round_pow2(initial_cap);
	t->slots = slots_alloc(t->cap * t->entry_size);
	return t->slots ? 0 : -1;
}

void agg_table_free(struct agg_table *t)
{
	slots_free(t->slots, t->cap * t->entry_size);
	t->slots = NULL;
	t->cap = t->count = 0;
}

void agg_table_clear(struct agg_table *t)
{
	if (t->count)
		memset(t->slots, 0, t->cap * t->entry_size);
	t->count = 0;
	t->dropped = 0;
}

static struct agg_entry *probe(const struct agg_table *t, const uint8_t *key, uint64_t hash)
{
	uint64_t mask = t->cap - 1;
	for (uint64_t i = hash & mask;; i = (i + 1) & mask) {
		struct agg_entry *e = slot_at(t, i);
		if (e->hash == 0)
			return e;
		if (e->hash == hash && memcmp(e->key, key, t->key_len) == 0)
			return e;
	}
}

static int grow(struct agg_table *t)
{
	struct agg_table n = *t;
	n.cap = t->cap * 2;
	n.slots = slots_alloc(n.cap * n.entry_size);
	if (!n.slots)
		return -1;
	for (uint64_t i = 0; i < t->cap; i++) {
		struct agg_entry *e = slot_at(t, i);
		if (e->hash)
			memcpy(probe(&n, e->key, e->hash), e, t->entry_size);
	}
	slots_free(t->slots, t->cap * t->entry_size);
	t->slots = n.slots;
	t->cap = n.cap;
	return 0;
}

static void fold(struct agg_counters *dst, const struct agg_counters *src)
{
	dst->packets += src->packets;
	dst->bytes += src->bytes;
	dst->flows += src->flows;
	dst->tcp_flags |= src->tcp_flags;
	if (src->first_usec && (!dst->first_usec || src->first_usec < dst->first_usec))
		dst->first_usec = src->first_usec;
	if (src->last_usec > dst->last_usec)
		dst->last_usec = src->last_usec;
}

static int add(struct agg_table *t, const uint8_t *key, uint64_t hash, const struct agg_counters *c,
	       uint64_t max_entries)
{
	struct agg_entry *e = probe(t, key, hash);
	if (e->hash) {
		fold(&e->c, c);
		return 0;
	}
	if (max_entries && t->count >= max_entries) {
		t->dropped++;
		return -1;
	}
	if ((t->count + 1) * LOAD_DEN > t->cap * LOAD_NUM) {
		if (grow(t) < 0) {
			t->dropped++;
			return -1;
		}
		e = probe(t, key, hash);
	}
	e->hash = hash;
	e->c = *c;
	memcpy(e->key, key, t->key_len);
	t->count++;
	return 0;
}

int agg_table_add(struct agg_table *t, const uint8_t *key, uint64_t hash,
		  const struct agg_counters *c)
{
	return add(t, key, hash, c, t->max_entries);
}

void agg_table_prefetch(const struct agg_table *t, uint64_t hash)
{
	const uint8_t *p = t->slots + (hash & (t->cap - 1)) * t->entry_size;
	__builtin_prefetch(p, 1, 3);
	/* an entry straddles cache lines: its key usually starts in the next one */
	__builtin_prefetch(p + 64, 1, 3);
}

struct agg_entry *agg_table_find(const struct agg_table *t, const uint8_t *key, uint64_t hash)
{
	struct agg_entry *e = probe(t, key, hash);
	return e->hash ? e : NULL;
}

int agg_table_merge(struct agg_table *dst, const struct agg_table *src)
{
	int rc = 0;
	for (uint64_t i = 0; i < src->cap; i++) {
		const struct agg_entry *e = slot_at(src, i);
		/* no cap: each source table was capped when it was accounted */
		if (e->hash && add(dst, e->key, e->hash, &e->c, 0) < 0)
			rc = -1;
	}
	dst->dropped += src->dropped;
	return rc;
}

const struct agg_entry *agg_table_next(const struct agg_table *t, uint64_t *pos)
{
	while (*pos < t->cap) {
		const struct agg_entry *e = slot_at(t, (*pos)++);
		if (e->hash)
			return e;
	}
	return NULL;
}

size_t agg_table_bytes(const struct agg_table *t)
{
	size_t b = t->cap * t->entry_size;
	return b < HUGE_MIN ? b : huge_len(b);
}
