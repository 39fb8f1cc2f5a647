#include "agg/table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifdef HAVE_XXHASH_H
#define XXH_INLINE_ALL /* short keys: the inlined XXH3 beats a call into the library */
#include <xxhash.h>
#endif

#define LOAD_NUM 3 /* grow the index when count > cap * 3/4 */
#define LOAD_DEN 4

uint64_t agg_hash(const uint8_t *key, uint32_t key_len)
{
#ifdef HAVE_XXHASH_H
	uint64_t h = XXH3_64bits(key, key_len);
#else
	/*
	 * Without xxHash: a multiply-xorshift mix over 8-byte words (keys are
	 * zero-padded to 8) with a final avalanche.
	 */
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
#endif
	return h ? h : 1;
}

/*
 * Big arrays are mmap'ed: the index is offered to transparent huge pages
 * (at 100k+ keys nearly every probe is a TLB miss on 4 KiB pages), and the
 * entries grow with mremap, which moves no data.  Anonymous mmap memory is
 * zeroed, like calloc's, and costs nothing until touched.
 */
#define BIG (2u << 20)

static size_t big_len(size_t bytes)
{
	return (bytes + BIG - 1) & ~(size_t)(BIG - 1);
}

static void *mem_alloc(size_t bytes, int huge)
{
	if (bytes < BIG)
		return calloc(1, bytes ? bytes : 1);
	void *p =
	    mmap(NULL, big_len(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (huge)
		madvise(p, big_len(bytes), MADV_HUGEPAGE); /* a hint: failure only costs speed */
	return p;
}

static void mem_free(void *p, size_t bytes)
{
	if (!p)
		return;
	if (bytes < BIG)
		free(p);
	else
		munmap(p, big_len(bytes));
}

/* Grow a mem_alloc() block from old to new bytes, keeping its contents (new bytes zeroed). */
static void *mem_grow(void *p, size_t old, size_t bytes)
{
	if (old >= BIG) {
		void *q = mremap(p, big_len(old), big_len(bytes), MREMAP_MAYMOVE);
		return q == MAP_FAILED ? NULL : q;
	}
	void *q = mem_alloc(bytes, 0);
	if (!q)
		return NULL;
	memcpy(q, p, old);
	free(p);
	return q;
}

static uint64_t round_pow2(uint64_t v)
{
	uint64_t p = 16;
	while (p < v)
		p <<= 1;
	return p;
}

static inline struct agg_entry *entry_at(const struct agg_table *t, uint64_t i)
{
	return (struct agg_entry *)(t->entries + i * t->entry_size);
}

int agg_table_init(struct agg_table *t, uint32_t key_len, uint64_t initial_cap)
{
	memset(t, 0, sizeof *t);
	t->key_len = key_len;
	t->entry_size = (sizeof(struct agg_entry) + key_len + 7) & ~(size_t)7;
	/* room for initial_cap keys without growing the index */
	t->cap = round_pow2(initial_cap + initial_cap / 3 + 1);
	while ((1ull << t->bits) < t->cap)
		t->bits++;
	t->ecap = initial_cap > 16 ? initial_cap : 16;
	t->index = mem_alloc(t->cap * sizeof *t->index, 1);
	t->entries = mem_alloc(t->ecap * t->entry_size, 0);
	if (!t->index || !t->entries) {
		agg_table_free(t);
		return -1;
	}
	return 0;
}

void agg_table_free(struct agg_table *t)
{
	mem_free(t->index, t->cap * sizeof *t->index);
	mem_free(t->entries, t->ecap * t->entry_size);
	t->index = NULL;
	t->entries = NULL;
	t->cap = t->ecap = t->count = 0;
}

void agg_table_clear(struct agg_table *t)
{
	if (t->count) {
		memset(t->index, 0, t->cap * sizeof *t->index);
		memset(t->entries, 0, t->count * t->entry_size);
	}
	t->count = 0;
	t->dropped = 0;
}

/*
 * A slot keeps the hash's top 32 bits, and a hash's home slot is its top
 * bits too: growing the index moves slots without the keys' hashes (which
 * are the caller's) and without reading a single entry.
 */
#define TAG(h) ((h) >> 32 << 32)

/* Keys are multiples of 8 bytes: compare them in words, without a memcmp call. */
static inline int key_equal(const uint8_t *a, const uint8_t *b, uint32_t len)
{
	uint64_t diff = 0;
	for (uint32_t i = 0; i < len; i += 8) {
		uint64_t x, y;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		diff |= x ^ y;
	}
	return diff == 0;
}

static inline uint64_t home(const struct agg_table *t, uint64_t hash)
{
	return hash >> (64 - t->bits);
}

/* The slot holding key, or the empty slot where it goes. */
static uint64_t *probe(const struct agg_table *t, const uint8_t *key, uint64_t hash)
{
	uint64_t mask = t->cap - 1, tag = TAG(hash);
	for (uint64_t i = home(t, hash);; i = (i + 1) & mask) {
		uint64_t *s = &t->index[i];
		if (*s == 0)
			return s;
		if (TAG(*s) == tag &&
		    key_equal(entry_at(t, (uint32_t)*s - 1u)->key, key, t->key_len))
			return s;
	}
}

/* A twice bigger index: each slot moves to the home its tag gives. */
static int grow_index(struct agg_table *t)
{
	if (t->bits >= 32)
		return -1; /* the tag holds the home of 2^32 slots at most */
	uint64_t cap = t->cap * 2, mask = cap - 1;
	unsigned bits = t->bits + 1u;
	uint64_t *ix = mem_alloc(cap * sizeof *ix, 1);
	if (!ix)
		return -1;
	for (uint64_t j = 0; j < t->cap; j++) {
		uint64_t sl = t->index[j];
		if (!sl)
			continue;
		uint64_t i = sl >> (64 - bits);
		while (ix[i])
			i = (i + 1) & mask;
		ix[i] = sl;
	}
	mem_free(t->index, t->cap * sizeof *t->index);
	t->index = ix;
	t->cap = cap;
	t->bits = (uint8_t)bits;
	return 0;
}

static int grow_entries(struct agg_table *t)
{
	uint64_t ecap = t->ecap * 2;
	uint8_t *p = mem_grow(t->entries, t->ecap * t->entry_size, ecap * t->entry_size);
	if (!p)
		return -1;
	t->entries = p;
	t->ecap = ecap;
	return 0;
}

static void fold(struct agg_counters *dst, const struct agg_counters *src)
{
	dst->packets += src->packets;
	dst->bytes += src->bytes;
	dst->flows += src->flows;
	dst->tcp_flags |= src->tcp_flags;
	if (src->last_sec > dst->last_sec)
		dst->last_sec = src->last_sec;
}

static void fold_span(struct agg_span *dst, const struct agg_span *src)
{
	if (src->first_usec && (!dst->first_usec || src->first_usec < dst->first_usec))
		dst->first_usec = src->first_usec;
	if (src->last_usec > dst->last_usec)
		dst->last_usec = src->last_usec;
}

static int add(struct agg_table *t, const uint8_t *key, uint64_t hash, const struct agg_counters *c,
	       uint64_t max_entries, const struct agg_span *sp)
{
	uint64_t *s = probe(t, key, hash);
	if (*s) {
		struct agg_entry *e = entry_at(t, (uint32_t)*s - 1u);
		fold(&e->c, c);
		if (sp)
			fold_span(agg_entry_span(t, e), sp);
		return 0;
	}
	if ((max_entries && t->count >= max_entries) || t->count >= UINT32_MAX - 1) {
		t->dropped++;
		return -1;
	}
	if ((t->count + 1) * LOAD_DEN > t->cap * LOAD_NUM) {
		if (grow_index(t) < 0) {
			t->dropped++;
			return -1;
		}
		s = probe(t, key, hash);
	}
	if (t->count == t->ecap && grow_entries(t) < 0) {
		t->dropped++;
		return -1;
	}
	struct agg_entry *e = entry_at(t, t->count);
	e->c = *c;
	memcpy(e->key, key, t->key_len);
	if (sp)
		*agg_entry_span(t, e) = *sp;
	*s = TAG(hash) | ++t->count;
	return 0;
}

int agg_table_add(struct agg_table *t, const uint8_t *key, uint64_t hash,
		  const struct agg_counters *c)
{
	return add(t, key, hash, c, t->max_entries, NULL);
}

int agg_table_add_span(struct agg_table *t, const uint8_t *key, uint64_t hash,
		       const struct agg_counters *c, const struct agg_span *sp)
{
	return add(t, key, hash, c, t->max_entries, t->span ? sp : NULL);
}

int agg_table_set_span(struct agg_table *t, int on)
{
	if (!on || t->span)
		return 0;
	size_t size =
	    (sizeof(struct agg_entry) + t->key_len + sizeof(struct agg_span) + 7) & ~(size_t)7;
	uint8_t *p = mem_alloc(t->ecap * size, 0);
	if (!p)
		return -1;
	mem_free(t->entries, t->ecap * t->entry_size);
	t->entries = p;
	t->entry_size = size;
	t->span = 1;
	return 0;
}

/*
 * A table this small stays in the caches: prefetching it only costs
 * instructions (index of at most 4096 slots, 32 KiB).
 */
#define CACHED_CAP 4096

void agg_table_prefetch(const struct agg_table *t, uint64_t hash)
{
	if (t->cap <= CACHED_CAP)
		return;
	__builtin_prefetch(&t->index[home(t, hash)], 0, 3);
}

void agg_table_prefetch_entry(const struct agg_table *t, uint64_t hash)
{
	if (t->cap <= CACHED_CAP)
		return;
	uint64_t s = t->index[home(t, hash)];
	if (s && TAG(s) == TAG(hash)) {
		const uint8_t *p = (const uint8_t *)entry_at(t, (uint32_t)s - 1u);
		__builtin_prefetch(p, 1, 3);
		__builtin_prefetch(p + t->entry_size - 1, 1, 3); /* it may straddle a line */
	}
}

struct agg_entry *agg_table_find(const struct agg_table *t, const uint8_t *key, uint64_t hash)
{
	uint64_t *s = probe(t, key, hash);
	return *s ? entry_at(t, (uint32_t)*s - 1u) : NULL;
}

int agg_table_merge(struct agg_table *dst, const struct agg_table *src)
{
	int rc = 0;
	for (uint64_t i = 0; i < src->count; i++) {
		const struct agg_entry *e = entry_at(src, i);
		/* entries keep no hash: agg_hash() gives it back (the only hash tables get);
		 * no cap: each source table was capped when it was accounted */
		const struct agg_span *sp = dst->span && src->span ? agg_entry_span(src, e) : NULL;
		if (add(dst, e->key, agg_hash(e->key, src->key_len), &e->c, 0, sp) < 0)
			rc = -1;
	}
	dst->dropped += src->dropped;
	return rc;
}

const struct agg_entry *agg_table_next(const struct agg_table *t, uint64_t *pos)
{
	return *pos < t->count ? entry_at(t, (*pos)++) : NULL;
}

void agg_table_drop_index(struct agg_table *t)
{
	mem_free(t->index, t->cap * sizeof *t->index);
	t->index = NULL;
	t->cap = 0;
	t->bits = 0;
}

size_t agg_table_bytes(const struct agg_table *t)
{
	size_t ix = t->cap * sizeof *t->index, en = t->count * t->entry_size;
	/* the entries' spare capacity is address space, not memory, until used */
	return (ix < BIG ? ix : big_len(ix)) + en;
}
