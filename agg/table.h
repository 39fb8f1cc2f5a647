/*
 * Aggregation table: open addressing, linear probing, fixed-size keys.
 *
 * One table per (worker, output instance).  Entries live in one flat array
 * so a lookup touches one or two cache lines; the stored 64-bit hash is
 * compared before the key so most probes never read the key at all.
 * A table is owned by exactly one thread at a time: the worker while it
 * accounts, the output's writer after the hand-off.  No locks.
 */
#ifndef NETACCT_AGG_TABLE_H
#define NETACCT_AGG_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct agg_counters {
	uint64_t packets, bytes, flows;
	uint64_t first_usec, last_usec; /* first/last time this key was seen */
	uint8_t tcp_flags;		/* OR of the flows' TCP flags (not a key) */
};

struct agg_entry {
	uint64_t hash; /* 0 = empty slot */
	struct agg_counters c;
	uint8_t key[]; /* table->key_len bytes */
};

struct agg_table {
	uint8_t *slots;
	size_t entry_size;
	uint32_t key_len;
	uint64_t cap; /* power of two */
	uint64_t count;
	uint64_t max_entries; /* 0 = unbounded; beyond it new keys are dropped */
	uint64_t dropped;     /* records refused because the table was full */
};

/* Hash of a key (key_len is a multiple of 8). Never returns 0. */
uint64_t agg_hash(const uint8_t *key, uint32_t key_len);

int agg_table_init(struct agg_table *t, uint32_t key_len, uint64_t initial_cap);
void agg_table_free(struct agg_table *t);
/* Drop all entries, keep the allocation for the next interval. */
void agg_table_clear(struct agg_table *t);

/*
 * Add counters to a key's entry, creating it if needed.  Returns 0, or -1 if
 * the entry could not be created (allocation failure or max_entries), in
 * which case t->dropped is incremented.
 */
int agg_table_add(struct agg_table *t, const uint8_t *key, uint64_t hash,
		  const struct agg_counters *c);

/*
 * Start loading the slot a hash maps to.  The worker computes keys a few
 * records ahead of adding them and prefetches, so cache misses overlap
 * instead of stalling one after another (what dominates at 100k+ keys).
 */
void agg_table_prefetch(const struct agg_table *t, uint64_t hash);

/* Find an entry, or NULL. */
struct agg_entry *agg_table_find(const struct agg_table *t, const uint8_t *key, uint64_t hash);

/*
 * Fold every entry of src into dst (same key_len).  dst->max_entries does
 * not apply: it bounds what one worker accounts, and the union of capped
 * tables (the workers' tables of a round) keeps every key they hold.
 * Returns -1 on allocation failure (the entries not added are counted in
 * dst->dropped).
 */
int agg_table_merge(struct agg_table *dst, const struct agg_table *src);

/* Bytes the table holds allocated (its memory per aggregate, for benchmarks and stats). */
size_t agg_table_bytes(const struct agg_table *t);

/* Iterate: start with *pos = 0; returns NULL at the end. */
const struct agg_entry *agg_table_next(const struct agg_table *t, uint64_t *pos);

#endif
