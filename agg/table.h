/*
 * Aggregation table: fixed-size keys, entries stored densely in insertion
 * order, found through an open-addressing index.
 *
 * One table per (worker, output instance).  The index is a power-of-two
 * array of 8-byte slots (entry number and 32 bits of the hash, so most
 * probes never read an entry) kept at most 3/4 full; the entries are one
 * contiguous array grown in place (mremap for big tables), so the memory a
 * table holds is its entries plus ~10-20 bytes of index per key, and a fresh
 * table touches memory only as it fills.  A table is owned by exactly one
 * thread at a time: the worker while it accounts, the output's writer after
 * the hand-off.  No locks.
 */
#ifndef NETACCT_AGG_TABLE_H
#define NETACCT_AGG_TABLE_H

#include <stddef.h>
#include <stdint.h>

/*
 * What an entry accumulates.  Only what outputs read is kept: the time a
 * key was last seen at one-second resolution (stamp_updated), no first-seen
 * time (nothing prints it).
 */
struct agg_counters {
	uint64_t packets, bytes, flows;
	uint32_t last_sec; /* last time this key was seen (Unix seconds) */
	uint8_t tcp_flags; /* OR of the flows' TCP flags (not a key) */
};

struct agg_entry {
	struct agg_counters c;
	uint8_t key[]; /* table->key_len bytes */
};

/*
 * A key spec's compact form (agg/primitive.h builds it): the same fields
 * with its plain IPv4 addresses in 5 bytes (family and the 4 address bytes)
 * instead of 17.  A key whose compacted addresses are all IPv4 or absent
 * is kept in this form only (a key has exactly one form, so the two never
 * hold the same key twice); the full form is the layout outputs read.
 * Expanding copies each segment to its full offset and leaves the rest
 * zero.
 */
#define AGG_COMPACT_SEGS 96
struct agg_compact {
	uint32_t key_len; /* compact key bytes (multiple of 8); 0 = no compact form */
	unsigned nseg;
	struct agg_compact_seg {
		uint16_t coff, foff, len; /* bytes at coff of the compact key go to foff */
	} seg[AGG_COMPACT_SEGS];
};

struct agg_table {
	/* full-form entries: count - ccount of entry_size bytes, in insertion order */
	uint8_t *entries;
	size_t entry_size;
	uint64_t ecap;	 /* entries allocated */
	uint64_t *index; /* cap slots: hash >> 32 << 32 | ref; 0 = empty (see table.c) */
	uint64_t cap;	 /* power of two */
	uint8_t bits;	 /* log2(cap): a hash's home slot is its top bits */
	uint32_t key_len;
	uint64_t count;	      /* keys held, in both forms */
	uint64_t max_entries; /* 0 = unbounded; beyond it new keys are dropped */
	uint64_t dropped;     /* records refused because the table was full */
	int span; /* entries carry a struct agg_span after the key (nfacctd_stitching) */
	/*
	 * Compact-form entries (agg_table_set_compact): ccount of centry_size
	 * bytes.  Outputs never see them: agg_table_drop_index() expands them
	 * into the full-form array before a table is written.
	 */
	const struct agg_compact *cx;
	uint32_t ckey_len; /* cx->key_len, at hand */
	uint8_t *centries;
	size_t centry_size;
	uint64_t cecap, ccount;
};

/*
 * The flows' earliest start and latest end of an entry (timestamp_min /
 * timestamp_max), kept only by tables that asked for it, right after the key:
 * the common case pays nothing for it.
 */
struct agg_span {
	uint64_t first_usec, last_usec;
};

/* Where an entry's span is (the table must have span set). */
static inline struct agg_span *agg_entry_span(const struct agg_table *t, const struct agg_entry *e)
{
	return (struct agg_span *)(uintptr_t)(e->key + t->key_len);
}

/* Hash of a key (key_len is a multiple of 8; inlined XXH3 for keys up to 64 bytes). Never returns
 * 0. */
uint64_t agg_hash(const uint8_t *key, uint32_t key_len);

/* key_len: a multiple of 8 (keys are compared in words); room for initial_cap keys. */
int agg_table_init(struct agg_table *t, uint32_t key_len, uint64_t initial_cap);
void agg_table_free(struct agg_table *t);
/*
 * Make a table keep spans (struct agg_span); on an empty table only, right
 * after agg_table_init().  on = 0 does nothing.  -1 on allocation failure.
 */
int agg_table_set_span(struct agg_table *t, int on);

/*
 * Keep keys the compact form allows in that form (cx outlives the table:
 * it is the output's key spec's).  On an empty table without spans only;
 * cx NULL or without a compact form does nothing.  -1 on allocation failure.
 */
int agg_table_set_compact(struct agg_table *t, const struct agg_compact *cx);

/*
 * agg_table_add() for a key in the compact form (t->cx->key_len bytes,
 * hashed with agg_hash() over that length).  The caller gives each key in
 * its one form: compact when its compacted addresses are all IPv4 or
 * absent (keyspec_extract_compact() decides), full otherwise.
 */
int agg_table_add_compact(struct agg_table *t, const uint8_t *ckey, uint64_t hash,
			  const struct agg_counters *c);

/* agg_table_add() with the record's span: the entry keeps the earliest start, latest end. */
int agg_table_add_span(struct agg_table *t, const uint8_t *key, uint64_t hash,
		       const struct agg_counters *c, const struct agg_span *sp);

/* Drop all entries, keep the allocations for the next interval. */
void agg_table_clear(struct agg_table *t);

/*
 * Add counters to a key's entry, creating it if needed.  Returns 0, or -1 if
 * the entry could not be created (allocation failure or max_entries), in
 * which case t->dropped is incremented.
 */
int agg_table_add(struct agg_table *t, const uint8_t *key, uint64_t hash,
		  const struct agg_counters *c);

/*
 * A table this small stays in the caches: prefetching it only costs
 * instructions (index of at most AGG_CACHED_CAP slots, 32 KiB; or a big index
 * with few keys: the slots and entries they touch, at most AGG_CACHED_KEYS of
 * each).  Tested inline, so a cached table's record pays no call for it.
 */
#define AGG_CACHED_CAP	4096
#define AGG_CACHED_KEYS 4096

static inline int agg_table_cached(const struct agg_table *t)
{
	return t->cap <= AGG_CACHED_CAP || t->count <= AGG_CACHED_KEYS;
}

/* The work of the two below, for a table that is not cached. */
void agg_table_prefetch_slot_(const struct agg_table *t, uint64_t hash);
void agg_table_prefetch_entry_(const struct agg_table *t, uint64_t hash);

/*
 * Start loading the index slot a hash maps to.  The worker computes keys a
 * few records ahead of adding them and prefetches, so cache misses overlap
 * instead of stalling one after another (what dominates at 100k+ keys).
 */
static inline void agg_table_prefetch(const struct agg_table *t, uint64_t hash)
{
	if (!agg_table_cached(t))
		agg_table_prefetch_slot_(t, hash);
}

/*
 * Second stage, some records later: the index slot is in cache by now;
 * start loading the entry it points to (when its hash bits match).
 */
static inline void agg_table_prefetch_entry(const struct agg_table *t, uint64_t hash)
{
	if (!agg_table_cached(t))
		agg_table_prefetch_entry_(t, hash);
}

/* Find an entry by its full-form key, or NULL (compact entries are found once sealed). */
struct agg_entry *agg_table_find(const struct agg_table *t, const uint8_t *key, uint64_t hash);

/*
 * Fold every entry of src into dst (same key_len; keys hashed with
 * agg_hash(), since entries keep no hash).  dst->max_entries does
 * not apply: it bounds what one worker accounts, and the union of capped
 * tables (the workers' tables of a round) keeps every key they hold.
 * Returns -1 on allocation failure (the entries not added are counted in
 * dst->dropped).
 */
int agg_table_merge(struct agg_table *dst, const struct agg_table *src);

/*
 * Free the index of a table that will only be iterated from now on (a
 * merged table about to be written): its memory is back before the write,
 * while the workers fill the next interval's tables.  Compact entries are
 * expanded into the full-form array here (a chunk at a time, the compact
 * array's pages released behind, so the table never holds both forms of
 * its entries): from now on it reads like any other table.  -1 when the
 * full-form array cannot grow (the compact entries are lost and counted in
 * t->dropped; the table stays readable).
 */
int agg_table_drop_index(struct agg_table *t);

/* Bytes the table holds allocated (its memory per aggregate, for benchmarks and stats). */
size_t agg_table_bytes(const struct agg_table *t);

/*
 * Iterate: start with *pos = 0; returns NULL at the end.  Only full-form
 * entries are iterated: a table with compact entries is read after
 * agg_table_drop_index().
 */
const struct agg_entry *agg_table_next(const struct agg_table *t, uint64_t *pos);

#endif
