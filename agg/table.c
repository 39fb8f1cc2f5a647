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

#ifdef HAVE_XXHASH_H
/* One inlined XXH3 per usual key length: constant lengths pick XXH3's path at compile time. */
#define XXH_CASE(n)                                                                                \
	case n:                                                                                    \
		h = XXH3_64bits(key, n);                                                           \
		break;
#endif

uint64_t agg_hash(const uint8_t *key, uint32_t key_len)
{
#ifdef HAVE_XXHASH_H
	uint64_t h;
	switch (key_len) {
		XXH_CASE(8)
		XXH_CASE(16)
		XXH_CASE(24)
		XXH_CASE(32)
		XXH_CASE(40)
		XXH_CASE(48)
		XXH_CASE(56)
		XXH_CASE(64)
	default:
		h = XXH3_64bits(key, key_len);
	}
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

/*
 * An index slot: the hash's top 32 bits (TAG) and a reference: bit 31 says
 * which array (compact or full form), the low 31 bits the entry number + 1.
 */
#define REF_COMPACT 0x80000000u
#define REF_MAX	    0x7ffffffeu /* entries per form */

static inline struct agg_entry *entry_at(const struct agg_table *t, uint64_t i)
{
	return (struct agg_entry *)(t->entries + i * t->entry_size);
}

static inline struct agg_entry *centry_at(const struct agg_table *t, uint64_t i)
{
	return (struct agg_entry *)(t->centries + i * t->centry_size);
}

static inline struct agg_entry *ref_entry(const struct agg_table *t, uint32_t ref)
{
	return ref & REF_COMPACT ? centry_at(t, (ref & ~REF_COMPACT) - 1u) : entry_at(t, ref - 1u);
}

/* The entry of a reference whose form the caller knows (a constant: no test). */
static inline struct agg_entry *form_entry(const struct agg_table *t, uint32_t ref, int compact)
{
	return compact ? centry_at(t, (ref & ~REF_COMPACT) - 1u) : entry_at(t, ref - 1u);
}

static inline size_t esize(uint32_t key_len, int span)
{
	return (sizeof(struct agg_entry) + key_len + (span ? sizeof(struct agg_span) : 0) + 7) &
	       ~(size_t)7;
}

int agg_table_init(struct agg_table *t, uint32_t key_len, uint64_t initial_cap)
{
	memset(t, 0, sizeof *t);
	t->key_len = key_len;
	t->entry_size = esize(key_len, 0);
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
	mem_free(t->centries, t->cecap * t->centry_size);
	t->index = NULL;
	t->entries = t->centries = NULL;
	t->cap = t->ecap = t->cecap = t->count = t->ccount = 0;
}

void agg_table_clear(struct agg_table *t)
{
	if (t->count) {
		memset(t->index, 0, t->cap * sizeof *t->index);
		memset(t->entries, 0, (t->count - t->ccount) * t->entry_size);
		if (t->ccount)
			memset(t->centries, 0, t->ccount * t->centry_size);
	}
	t->count = t->ccount = 0;
	t->dropped = 0;
}

/*
 * A slot keeps the hash's top 32 bits, and a hash's home slot is its top
 * bits too: growing the index moves slots without the keys' hashes (which
 * are the caller's) and without reading a single entry.
 */
#define TAG(h) ((h) >> 32 << 32)

static inline uint64_t word(const uint8_t *p, unsigned i)
{
	uint64_t w;
	memcpy(&w, p + 8 * i, 8);
	return w;
}

#define W(p, i) word(p, i)

/*
 * Keys are multiples of 8 bytes: compare them in words, without a memcmp
 * call; up to 64 bytes straight-line code (one jump on the length).
 */
static inline int key_equal(const uint8_t *a, const uint8_t *b, uint32_t len)
{
	uint64_t diff = 0;
	switch (len >> 3) {
	default:
		for (uint32_t i = 8; i < len >> 3; i++)
			diff |= W(a, i) ^ W(b, i);
		__attribute__((fallthrough));
	case 8:
		diff |= W(a, 7) ^ W(b, 7);
		__attribute__((fallthrough));
	case 7:
		diff |= W(a, 6) ^ W(b, 6);
		__attribute__((fallthrough));
	case 6:
		diff |= W(a, 5) ^ W(b, 5);
		__attribute__((fallthrough));
	case 5:
		diff |= W(a, 4) ^ W(b, 4);
		__attribute__((fallthrough));
	case 4:
		diff |= W(a, 3) ^ W(b, 3);
		__attribute__((fallthrough));
	case 3:
		diff |= W(a, 2) ^ W(b, 2);
		__attribute__((fallthrough));
	case 2:
		diff |= W(a, 1) ^ W(b, 1);
		__attribute__((fallthrough));
	case 1:
		diff |= W(a, 0) ^ W(b, 0);
		__attribute__((fallthrough));
	case 0:
		break;
	}
	return diff == 0;
}

static inline uint64_t home(const struct agg_table *t, uint64_t hash)
{
	return hash >> (64 - t->bits);
}

/* The slot holding key (of the form `compact` says), or the empty slot where it goes. */
static inline __attribute__((always_inline)) uint64_t *
probe(const struct agg_table *t, const uint8_t *key, uint64_t hash, int compact)
{
	uint64_t mask = t->cap - 1, tag = TAG(hash);
	uint64_t form = compact ? REF_COMPACT : 0;
	uint32_t klen = compact ? t->ckey_len : t->key_len;
	for (uint64_t i = home(t, hash);; i = (i + 1) & mask) {
		uint64_t *s = &t->index[i];
		if (*s == 0)
			return s;
		if ((*s & (~0xffffffffull | REF_COMPACT)) == (tag | form) &&
		    key_equal(form_entry(t, (uint32_t)*s, compact)->key, key, klen))
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

static int grow_centries(struct agg_table *t)
{
	uint64_t ecap = t->cecap * 2;
	uint8_t *p = mem_grow(t->centries, t->cecap * t->centry_size, ecap * t->centry_size);
	if (!p)
		return -1;
	t->centries = p;
	t->cecap = ecap;
	return 0;
}

static inline void fold(struct agg_counters *dst, const struct agg_counters *src)
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

/* A new entry for key, at slot s of the index (which may grow). */
static __attribute__((noinline)) int insert(struct agg_table *t, uint64_t *s, const uint8_t *key,
					    uint64_t hash, const struct agg_counters *c,
					    uint64_t max_entries, const struct agg_span *sp,
					    int compact)
{
	uint64_t n = compact ? t->ccount : t->count - t->ccount;
	if ((max_entries && t->count >= max_entries) || n >= REF_MAX) {
		t->dropped++;
		return -1;
	}
	if ((t->count + 1) * LOAD_DEN > t->cap * LOAD_NUM) {
		if (grow_index(t) < 0) {
			t->dropped++;
			return -1;
		}
		s = probe(t, key, hash, compact);
	}
	struct agg_entry *e;
	if (compact) {
		if (t->ccount == t->cecap && grow_centries(t) < 0) {
			t->dropped++;
			return -1;
		}
		e = centry_at(t, t->ccount++);
		memcpy(e->key, key, t->ckey_len);
		*s = TAG(hash) | REF_COMPACT | t->ccount;
	} else {
		if (n == t->ecap && grow_entries(t) < 0) {
			t->dropped++;
			return -1;
		}
		e = entry_at(t, n);
		memcpy(e->key, key, t->key_len);
		if (sp)
			*agg_entry_span(t, e) = *sp;
		*s = TAG(hash) | (n + 1);
	}
	e->c = *c;
	t->count++;
	return 0;
}

static inline __attribute__((always_inline)) int add(struct agg_table *t, const uint8_t *key,
						     uint64_t hash, const struct agg_counters *c,
						     uint64_t max_entries,
						     const struct agg_span *sp, int compact)
{
	uint64_t *s = probe(t, key, hash, compact);
	if (__builtin_expect(*s == 0, 0))
		return insert(t, s, key, hash, c, max_entries, sp, compact);
	struct agg_entry *e = form_entry(t, (uint32_t)*s, compact);
	fold(&e->c, c);
	if (sp)
		fold_span(agg_entry_span(t, e), sp);
	return 0;
}

int agg_table_add(struct agg_table *t, const uint8_t *key, uint64_t hash,
		  const struct agg_counters *c)
{
	return add(t, key, hash, c, t->max_entries, NULL, 0);
}

int agg_table_add_compact(struct agg_table *t, const uint8_t *ckey, uint64_t hash,
			  const struct agg_counters *c)
{
	return add(t, ckey, hash, c, t->max_entries, NULL, 1);
}

int agg_table_add_span(struct agg_table *t, const uint8_t *key, uint64_t hash,
		       const struct agg_counters *c, const struct agg_span *sp)
{
	return add(t, key, hash, c, t->max_entries, t->span ? sp : NULL, 0);
}

int agg_table_set_span(struct agg_table *t, int on)
{
	if (!on || t->span)
		return 0;
	if (t->cx)
		return -1; /* compact entries have no span */
	size_t size = esize(t->key_len, 1);
	uint8_t *p = mem_alloc(t->ecap * size, 0);
	if (!p)
		return -1;
	mem_free(t->entries, t->ecap * t->entry_size);
	t->entries = p;
	t->entry_size = size;
	t->span = 1;
	return 0;
}

int agg_table_set_compact(struct agg_table *t, const struct agg_compact *cx)
{
	if (!cx || !cx->key_len || cx->key_len >= t->key_len || t->cx)
		return 0;
	if (t->span || t->count)
		return -1;
	size_t size = esize(cx->key_len, 0);
	/* most keys are usually IPv4: the compact array gets the room the table was sized for */
	uint8_t *p = mem_alloc(t->ecap * size, 0);
	if (!p)
		return -1;
	t->cx = cx;
	t->ckey_len = cx->key_len;
	t->centries = p;
	t->centry_size = size;
	t->cecap = t->ecap;
	return 0;
}

/* The uncached halves of agg_table_prefetch() and agg_table_prefetch_entry(). */
void agg_table_prefetch_slot_(const struct agg_table *t, uint64_t hash)
{
	__builtin_prefetch(&t->index[home(t, hash)], 0, 3);
}

void agg_table_prefetch_entry_(const struct agg_table *t, uint64_t hash)
{
	uint64_t s = t->index[home(t, hash)];
	if (s && TAG(s) == TAG(hash)) {
		const uint8_t *p = (const uint8_t *)ref_entry(t, (uint32_t)s);
		size_t size = (uint32_t)s & REF_COMPACT ? t->centry_size : t->entry_size;
		__builtin_prefetch(p, 1, 3);
		__builtin_prefetch(p + size - 1, 1, 3); /* it may straddle a line */
	}
}

struct agg_entry *agg_table_find(const struct agg_table *t, const uint8_t *key, uint64_t hash)
{
	uint64_t *s = probe(t, key, hash, 0);
	return *s ? entry_at(t, (uint32_t)*s - 1u) : NULL;
}

/* A compact key in the full layout (key_len bytes at full, zeroed around the segments). */
static void expand_key(const struct agg_compact *cx, const uint8_t *ckey, uint8_t *full,
		       uint32_t key_len)
{
	memset(full, 0, key_len);
	for (unsigned i = 0; i < cx->nseg; i++)
		memcpy(full + cx->seg[i].foff, ckey + cx->seg[i].coff, cx->seg[i].len);
}

int agg_table_merge(struct agg_table *dst, const struct agg_table *src)
{
	int rc = 0;
	uint64_t nfull = src->count - src->ccount;
	for (uint64_t i = 0; i < nfull; i++) {
		const struct agg_entry *e = entry_at(src, i);
		/* entries keep no hash: agg_hash() gives it back (the only hash tables get);
		 * no cap: each source table was capped when it was accounted */
		const struct agg_span *sp = dst->span && src->span ? agg_entry_span(src, e) : NULL;
		if (add(dst, e->key, agg_hash(e->key, src->key_len), &e->c, 0, sp, 0) < 0)
			rc = -1;
	}
	if (src->ccount) {
		int same = dst->cx == src->cx;
		uint8_t *full = same ? NULL : malloc(src->key_len);
		if (!same && !full) {
			dst->dropped += src->dropped + src->ccount;
			return -1;
		}
		for (uint64_t i = 0; i < src->ccount; i++) {
			const struct agg_entry *e = centry_at(src, i);
			int r;
			if (same) {
				r = add(dst, e->key, agg_hash(e->key, src->cx->key_len), &e->c, 0,
					NULL, 1);
			} else { /* a table without this compact form takes the full key */
				expand_key(src->cx, e->key, full, src->key_len);
				r = add(dst, full, agg_hash(full, src->key_len), &e->c, 0, NULL, 0);
			}
			if (r < 0)
				rc = -1;
		}
		free(full);
	}
	dst->dropped += src->dropped;
	return rc;
}

const struct agg_entry *agg_table_next(const struct agg_table *t, uint64_t *pos)
{
	return *pos < t->count - t->ccount ? entry_at(t, (*pos)++) : NULL;
}

/*
 * Compact entries into the full-form array, in chunks: each chunk's compact
 * pages are released once expanded, so the memory grows by the difference
 * of the two forms and not by a second copy of the table.
 */
#define EXPAND_CHUNK (1u << 20)

static int expand_compact(struct agg_table *t)
{
	uint64_t nfull = t->count - t->ccount;
	if (t->ecap < t->count) {
		uint64_t ecap = t->ecap;
		while (ecap < t->count)
			ecap *= 2;
		uint8_t *p = mem_grow(t->entries, t->ecap * t->entry_size, ecap * t->entry_size);
		if (!p) {
			t->dropped += t->ccount;
			t->count = nfull;
			return -1;
		}
		t->entries = p;
		t->ecap = ecap;
	}
	size_t cbytes = t->cecap * t->centry_size;
	uintptr_t released = (uintptr_t)t->centries; /* compact bytes given back so far */
	for (uint64_t i = 0; i < t->ccount; i++) {
		const struct agg_entry *ce = centry_at(t, i);
		struct agg_entry *e = entry_at(t, nfull + i);
		e->c = ce->c;
		expand_key(t->cx, ce->key, e->key, t->key_len);
		uintptr_t done = (uintptr_t)(ce) + t->centry_size;
		if (cbytes >= BIG && done - released >= EXPAND_CHUNK) {
			uintptr_t upto = done & ~(uintptr_t)(4095);
			if (upto > released) {
				madvise((void *)released, upto - released, MADV_DONTNEED);
				released = upto;
			}
		}
	}
	return 0;
}

int agg_table_drop_index(struct agg_table *t)
{
	mem_free(t->index, t->cap * sizeof *t->index);
	t->index = NULL;
	t->cap = 0;
	t->bits = 0;
	int rc = 0;
	if (t->ccount)
		rc = expand_compact(t);
	mem_free(t->centries, t->cecap * t->centry_size);
	t->centries = NULL;
	t->cecap = t->ccount = 0;
	return rc;
}

size_t agg_table_bytes(const struct agg_table *t)
{
	size_t ix = t->cap * sizeof *t->index;
	size_t en = (t->count - t->ccount) * t->entry_size + t->ccount * t->centry_size;
	/* the entries' spare capacity is address space, not memory, until used */
	return (ix < BIG ? ix : big_len(ix)) + en;
}
