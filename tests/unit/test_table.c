/*
 * Unit tests for the aggregation table (agg/table.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "agg/table.h"

#define KL 16 /* key length used by most tests */

static void mkkey(uint8_t *k, uint32_t key_len, uint64_t id)
{
	memset(k, 0, key_len);
	memcpy(k, &id, sizeof id);
	if (key_len >= 16)
		k[key_len - 1] = (uint8_t)(id * 31u); /* something in the last word too */
}

/* first: a first-seen time, which entries no longer keep (nothing prints it) */
static struct agg_counters ctr(uint64_t p, uint64_t b, uint64_t fl, uint64_t first, uint64_t last)
{
	(void)first;
	struct agg_counters c = {.packets = p, .bytes = b, .flows = fl, .last_sec = (uint32_t)last};
	return c;
}

static int add(struct agg_table *t, uint64_t id, const struct agg_counters *c)
{
	uint8_t k[64];
	mkkey(k, t->key_len, id);
	return agg_table_add(t, k, agg_hash(k, t->key_len), c);
}

static struct agg_entry *find(const struct agg_table *t, uint64_t id)
{
	uint8_t k[64];
	mkkey(k, t->key_len, id);
	return agg_table_find(t, k, agg_hash(k, t->key_len));
}

static void test_hash(void **state)
{
	(void)state;
	uint8_t a[24] = {0}, b[24] = {0};
	assert_int_equal(agg_hash(a, 24), agg_hash(b, 24));
	assert_int_not_equal(agg_hash(a, 24), 0);
	assert_int_not_equal(agg_hash(a, 8), 0);
	/* one bit anywhere changes the hash */
	for (int i = 0; i < 24; i++)
		for (int bit = 0; bit < 8; bit++) {
			memset(b, 0, sizeof b);
			b[i] = (uint8_t)(1u << bit);
			assert_int_not_equal(agg_hash(a, 24), agg_hash(b, 24));
		}
	/* key length is part of the hash */
	assert_int_not_equal(agg_hash(a, 8), agg_hash(a, 16));
}

static void test_init_rounds_capacity(void **state)
{
	(void)state;
	struct agg_table t;
	assert_int_equal(agg_table_init(&t, KL, 0), 0);
	assert_true(t.cap >= 1);
	assert_int_equal(t.cap & (t.cap - 1), 0);
	agg_table_free(&t);
	assert_int_equal(agg_table_init(&t, KL, 1000), 0);
	assert_true(t.cap >= 1000);
	assert_int_equal(t.cap & (t.cap - 1), 0);
	assert_int_equal(t.count, 0);
	assert_int_equal(t.key_len, KL);
	agg_table_free(&t);
}

static void test_insert_find(void **state)
{
	(void)state;
	struct agg_table t;
	assert_int_equal(agg_table_init(&t, KL, 16), 0);
	struct agg_counters c = ctr(1, 100, 1, 5000, 6000);
	assert_int_equal(add(&t, 1, &c), 0);
	assert_int_equal(t.count, 1);
	struct agg_entry *e = find(&t, 1);
	assert_non_null(e);
	assert_int_equal(e->c.packets, 1);
	assert_int_equal(e->c.bytes, 100);
	assert_int_equal(e->c.flows, 1);
	assert_int_equal(e->c.last_sec, 6000);
	assert_null(find(&t, 2));

	/* same key again: counters fold, last seen is the latest */
	c = ctr(2, 50, 1, 4000, 5500);
	assert_int_equal(add(&t, 1, &c), 0);
	c = ctr(3, 25, 2, 7000, 9000);
	assert_int_equal(add(&t, 1, &c), 0);
	assert_int_equal(t.count, 1);
	e = find(&t, 1);
	assert_int_equal(e->c.packets, 6);
	assert_int_equal(e->c.bytes, 175);
	assert_int_equal(e->c.flows, 4);
	assert_int_equal(e->c.last_sec, 9000);

	/* an older time never moves last seen back */
	c = ctr(1, 1, 1, 0, 0);
	assert_int_equal(add(&t, 1, &c), 0);
	assert_int_equal(e->c.last_sec, 9000);
	/* but a known one replaces an unknown one */
	c = ctr(1, 1, 1, 0, 0);
	assert_int_equal(add(&t, 2, &c), 0);
	c = ctr(1, 1, 1, 123, 456);
	assert_int_equal(add(&t, 2, &c), 0);
	assert_int_equal(find(&t, 2)->c.last_sec, 456);

	/* the stored key is the key */
	uint8_t k[KL];
	mkkey(k, KL, 1);
	assert_memory_equal(find(&t, 1)->key, k, KL);
	agg_table_free(&t);
}

static void test_tcp_flags_or(void **state)
{
	(void)state;
	struct agg_table a, b;
	assert_int_equal(agg_table_init(&a, KL, 16), 0);
	assert_int_equal(agg_table_init(&b, KL, 16), 0);
	struct agg_counters c = ctr(1, 1, 1, 0, 0);
	c.tcp_flags = 0x02; /* SYN */
	assert_int_equal(add(&a, 1, &c), 0);
	c.tcp_flags = 0x10; /* ACK */
	assert_int_equal(add(&a, 1, &c), 0);
	assert_int_equal(find(&a, 1)->c.tcp_flags, 0x12);
	c.tcp_flags = 0;
	assert_int_equal(add(&a, 1, &c), 0);
	assert_int_equal(find(&a, 1)->c.tcp_flags, 0x12);
	/* merge ORs too */
	c.tcp_flags = 0x01; /* FIN */
	assert_int_equal(add(&b, 1, &c), 0);
	c.tcp_flags = 0x04;
	assert_int_equal(add(&b, 2, &c), 0);
	assert_int_equal(agg_table_merge(&a, &b), 0);
	assert_int_equal(find(&a, 1)->c.tcp_flags, 0x13);
	assert_int_equal(find(&a, 2)->c.tcp_flags, 0x04);
	agg_table_free(&a);
	agg_table_free(&b);
}

static void test_growth_100k(void **state)
{
	(void)state;
	struct agg_table t;
	const uint64_t n = 100000;
	assert_int_equal(agg_table_init(&t, 24, 16), 0);
	for (uint64_t i = 0; i < n; i++) {
		struct agg_counters c = ctr(i + 1, 2 * i, 1, 1000 + i, 2000 + i);
		assert_int_equal(add(&t, i, &c), 0);
	}
	/* a second pass adds to every key */
	for (uint64_t i = 0; i < n; i += 2) {
		struct agg_counters c = ctr(1, 1, 1, 10, 5000000);
		assert_int_equal(add(&t, i, &c), 0);
	}
	assert_int_equal(t.count, n);
	assert_int_equal(t.dropped, 0);
	assert_true(t.cap >= n);
	assert_true(t.count * 4 <= t.cap * 3); /* load factor kept */
	for (uint64_t i = 0; i < n; i++) {
		const struct agg_entry *e = find(&t, i);
		assert_non_null(e);
		int twice = i % 2 == 0;
		assert_int_equal(e->c.packets, i + 1 + twice);
		assert_int_equal(e->c.bytes, 2 * i + twice);
		assert_int_equal(e->c.flows, 1 + twice);
		assert_int_equal(e->c.last_sec, twice ? 5000000 : 2000 + i);
	}
	assert_null(find(&t, n));
	assert_null(find(&t, n + 12345));
	agg_table_free(&t);
}

static void test_forced_collisions(void **state)
{
	(void)state;
	struct agg_table t;
	assert_int_equal(agg_table_init(&t, KL, 16), 0);
	/* many different keys, all with one hash: each kept on its own */
	const uint64_t H = 0x1234567890abcdefull;
	uint8_t k[KL];
	for (uint64_t i = 0; i < 200; i++) {
		mkkey(k, KL, i);
		struct agg_counters c = ctr(i, i * 10, 1, 0, 0);
		assert_int_equal(agg_table_add(&t, k, H, &c), 0);
	}
	/* and a few sharing the low bits only (same bucket, different hash) */
	for (uint64_t i = 0; i < 50; i++) {
		mkkey(k, KL, 1000 + i);
		struct agg_counters c = ctr(7, 7, 1, 0, 0);
		assert_int_equal(agg_table_add(&t, k, (H & 0xff) | ((i + 1) << 32), &c), 0);
	}
	assert_int_equal(t.count, 250);
	for (uint64_t i = 0; i < 200; i++) {
		mkkey(k, KL, i);
		struct agg_entry *e = agg_table_find(&t, k, H);
		assert_non_null(e);
		assert_int_equal(e->c.packets, i);
		assert_int_equal(e->c.bytes, i * 10);
		assert_memory_equal(e->key, k, KL);
	}
	/* a key with the shared hash but never inserted is not found */
	mkkey(k, KL, 999);
	assert_null(agg_table_find(&t, k, H));
	/* a known key looked up with another hash is not found either (the table
	 * keeps the top 32 bits of a hash: a hash differing there) */
	mkkey(k, KL, 1);
	assert_null(agg_table_find(&t, k, H ^ (1ull << 40)));
	/* adding to a colliding key updates that key only */
	struct agg_counters c = ctr(1000, 0, 0, 0, 0);
	mkkey(k, KL, 3);
	assert_int_equal(agg_table_add(&t, k, H, &c), 0);
	assert_int_equal(agg_table_find(&t, k, H)->c.packets, 1003);
	mkkey(k, KL, 4);
	assert_int_equal(agg_table_find(&t, k, H)->c.packets, 4);
	assert_int_equal(t.count, 250);
	agg_table_free(&t);
}

static void test_max_entries(void **state)
{
	(void)state;
	struct agg_table t;
	assert_int_equal(agg_table_init(&t, KL, 16), 0);
	t.max_entries = 100;
	struct agg_counters c = ctr(1, 1, 1, 0, 0);
	for (uint64_t i = 0; i < 100; i++)
		assert_int_equal(add(&t, i, &c), 0);
	for (uint64_t i = 100; i < 150; i++)
		assert_int_equal(add(&t, i, &c), -1);
	assert_int_equal(t.count, 100);
	assert_int_equal(t.dropped, 50);
	/* existing keys still take updates when full */
	for (uint64_t i = 0; i < 100; i++)
		assert_int_equal(add(&t, i, &c), 0);
	assert_int_equal(t.dropped, 50);
	assert_int_equal(find(&t, 7)->c.packets, 2);
	assert_null(find(&t, 120));
	/* clear empties the table and the drop count */
	agg_table_clear(&t);
	assert_int_equal(t.count, 0);
	assert_int_equal(t.dropped, 0);
	assert_int_equal(add(&t, 120, &c), 0);
	agg_table_free(&t);
}

static void test_merge(void **state)
{
	(void)state;
	struct agg_table a, b;
	assert_int_equal(agg_table_init(&a, KL, 16), 0);
	assert_int_equal(agg_table_init(&b, KL, 16), 0);
	/* a: keys 0..99, b: keys 50..1049 (overlap 50..99) */
	for (uint64_t i = 0; i < 100; i++) {
		struct agg_counters c = ctr(1, 10, 1, 2000 + i, 3000 + i);
		assert_int_equal(add(&a, i, &c), 0);
	}
	for (uint64_t i = 50; i < 1050; i++) {
		struct agg_counters c = ctr(2, 20, 3, 1000 + i, 4000 + i);
		assert_int_equal(add(&b, i, &c), 0);
	}
	b.dropped = 5;
	assert_int_equal(agg_table_merge(&a, &b), 0);
	assert_int_equal(a.count, 1050);
	assert_int_equal(a.dropped, 5);
	for (uint64_t i = 0; i < 1050; i++) {
		const struct agg_entry *e = find(&a, i);
		assert_non_null(e);
		if (i < 50) {
			assert_int_equal(e->c.packets, 1);
			assert_int_equal(e->c.bytes, 10);
			assert_int_equal(e->c.flows, 1);
			assert_int_equal(e->c.last_sec, 3000 + i);
		} else if (i < 100) {
			assert_int_equal(e->c.packets, 3);
			assert_int_equal(e->c.bytes, 30);
			assert_int_equal(e->c.flows, 4);
			assert_int_equal(e->c.last_sec, 4000 + i); /* max */
		} else {
			assert_int_equal(e->c.packets, 2);
			assert_int_equal(e->c.bytes, 20);
			assert_int_equal(e->c.flows, 3);
		}
	}
	/* src untouched */
	assert_int_equal(b.count, 1000);
	assert_int_equal(find(&b, 60)->c.packets, 2);
	/* merging an empty table changes nothing */
	struct agg_table e;
	assert_int_equal(agg_table_init(&e, KL, 16), 0);
	assert_int_equal(agg_table_merge(&a, &e), 0);
	assert_int_equal(a.count, 1050);
	/* merging into an empty table copies */
	assert_int_equal(agg_table_merge(&e, &b), 0);
	assert_int_equal(e.count, 1000);
	assert_int_equal(find(&e, 1049)->c.bytes, 20);
	agg_table_free(&e);
	agg_table_free(&a);
	agg_table_free(&b);
}

static void test_merge_ignores_cap(void **state)
{
	(void)state;
	/*
	 * cache_max_entries caps each worker's table; the writer merges the
	 * workers' tables of a round, and the union must keep every key: two
	 * capped tables of 10 distinct keys each merge into 20 keys, none dropped.
	 */
	struct agg_table a, b;
	assert_int_equal(agg_table_init(&a, KL, 16), 0);
	assert_int_equal(agg_table_init(&b, KL, 16), 0);
	a.max_entries = b.max_entries = 10;
	struct agg_counters c = ctr(1, 1, 1, 0, 0);
	for (uint64_t i = 0; i < 10; i++) {
		assert_int_equal(add(&a, i, &c), 0);
		assert_int_equal(add(&b, 100 + i, &c), 0);
	}
	assert_int_equal(agg_table_merge(&a, &b), 0);
	assert_int_equal(a.count, 20);
	assert_int_equal(a.dropped, 0);
	for (uint64_t i = 0; i < 10; i++) {
		assert_non_null(find(&a, i));
		assert_non_null(find(&a, 100 + i));
	}
	/* accounting into a capped table still honours the cap */
	assert_int_equal(add(&a, 1000, &c), -1);
	assert_int_equal(a.dropped, 1);
	agg_table_free(&a);
	agg_table_free(&b);
}

static void test_clear_and_reuse(void **state)
{
	(void)state;
	struct agg_table t;
	assert_int_equal(agg_table_init(&t, KL, 16), 0);
	struct agg_counters c = ctr(1, 1, 1, 1, 1);
	for (uint64_t i = 0; i < 1000; i++)
		assert_int_equal(add(&t, i, &c), 0);
	uint64_t cap = t.cap;
	agg_table_clear(&t);
	assert_int_equal(t.count, 0);
	assert_int_equal(t.cap, cap); /* allocation kept */
	for (uint64_t i = 0; i < 1000; i++)
		assert_null(find(&t, i));
	uint64_t pos = 0;
	assert_null(agg_table_next(&t, &pos));
	for (uint64_t i = 500; i < 700; i++)
		assert_int_equal(add(&t, i, &c), 0);
	assert_int_equal(t.count, 200);
	assert_int_equal(find(&t, 600)->c.packets, 1);
	/* clearing an empty table is fine */
	agg_table_clear(&t);
	agg_table_clear(&t);
	assert_int_equal(t.count, 0);
	agg_table_free(&t);
	/* and freeing twice too */
	agg_table_free(&t);
}

static void test_iteration(void **state)
{
	(void)state;
	struct agg_table t;
	assert_int_equal(agg_table_init(&t, 8, 16), 0);
	const uint64_t n = 5000;
	uint8_t *seen = calloc(n, 1);
	assert_non_null(seen);
	for (uint64_t i = 0; i < n; i++) {
		struct agg_counters c = ctr(i, 0, 0, 0, 0);
		assert_int_equal(add(&t, i, &c), 0);
	}
	uint64_t pos = 0, visits = 0;
	const struct agg_entry *e;
	while ((e = agg_table_next(&t, &pos)) != NULL) {
		uint64_t id;
		memcpy(&id, e->key, 8);
		assert_true(id < n);
		assert_int_equal(seen[id], 0);
		seen[id] = 1;
		assert_int_equal(e->c.packets, id);
		visits++;
	}
	assert_int_equal(visits, n);
	/* at the end it stays at the end */
	assert_null(agg_table_next(&t, &pos));
	free(seen);
	agg_table_free(&t);

	/* an empty table yields nothing */
	assert_int_equal(agg_table_init(&t, 8, 16), 0);
	pos = 0;
	assert_null(agg_table_next(&t, &pos));
	agg_table_free(&t);
}

static void test_wide_keys(void **state)
{
	(void)state;
	/* keys as wide as a big aggregate (several addresses): 200 bytes */
	struct agg_table t;
	const uint32_t kl = 200;
	assert_int_equal(agg_table_init(&t, kl, 4), 0);
	uint8_t *k = calloc(1, kl);
	for (unsigned i = 0; i < 3000; i++) {
		memset(k, 0, kl);
		k[kl - 1] = (uint8_t)i;
		k[kl - 2] = (uint8_t)(i >> 8);
		struct agg_counters c = ctr(1, i, 1, 0, 0);
		assert_int_equal(agg_table_add(&t, k, agg_hash(k, kl), &c), 0);
	}
	assert_int_equal(t.count, 3000);
	for (unsigned i = 0; i < 3000; i++) {
		memset(k, 0, kl);
		k[kl - 1] = (uint8_t)i;
		k[kl - 2] = (uint8_t)(i >> 8);
		struct agg_entry *e = agg_table_find(&t, k, agg_hash(k, kl));
		assert_non_null(e);
		assert_int_equal(e->c.bytes, i);
	}
	free(k);
	agg_table_free(&t);
}

/*
 * Memory per aggregate (issue: <= 150 bytes of peak RSS per aggregate at 1M
 * keys for a 5-tuple + exporter aggregate, a 56-byte key): the table alone
 * must stay well below, whatever the key count's place between two index
 * sizes.  Loose bound; the benchmark measures the daemon's RSS precisely.
 */
static void test_bytes_per_aggregate(void **state)
{
	(void)state;
	const uint64_t counts[] = {100000, 200000, 393216 /* just past 3/4 of 2^19 */};
	for (size_t n = 0; n < sizeof counts / sizeof counts[0]; n++) {
		struct agg_table t;
		assert_int_equal(agg_table_init(&t, 56, 16), 0);
		struct agg_counters c = ctr(1, 1, 1, 0, 0);
		for (uint64_t i = 0; i < counts[n]; i++)
			assert_int_equal(add(&t, i, &c), 0);
		assert_int_equal(t.count, counts[n]);
		double per = (double)agg_table_bytes(&t) / (double)t.count;
		assert_true(per <= 130.0);
		/* the index goes before the write: the entries alone remain */
		agg_table_drop_index(&t);
		assert_true((double)agg_table_bytes(&t) / (double)t.count <= 96.0);
		uint64_t pos = 0, seen = 0;
		while (agg_table_next(&t, &pos))
			seen++;
		assert_int_equal(seen, counts[n]);
		agg_table_free(&t);
	}
}

/*
 * The compact form, by hand: a 40-byte full key holding an address slot
 * (family + 16 bytes) at 0 and a 2-byte port at 17; compact, the family and
 * 4 address bytes then the port, 8 bytes.
 */
#define CX_FULL 40
static const struct agg_compact cx40 = {
    .key_len = 8,
    .nseg = 2,
    .seg = {{.coff = 0, .foff = 0, .len = 5}, {.coff = 5, .foff = 17, .len = 2}}};

static void cx_keys(uint64_t id, uint8_t *full, uint8_t *ckey)
{
	uint32_t a = (uint32_t)id;
	uint16_t port = (uint16_t)(id >> 32);
	memset(full, 0, CX_FULL);
	full[0] = 4;
	memcpy(full + 1, &a, 4);
	memcpy(full + 17, &port, 2);
	memset(ckey, 0, 8);
	ckey[0] = 4;
	memcpy(ckey + 1, &a, 4);
	memcpy(ckey + 5, &port, 2);
}

/* An IPv6 key: only ever in the full form. */
static void v6_key(uint64_t id, uint8_t *full)
{
	memset(full, 0, CX_FULL);
	full[0] = 6;
	memcpy(full + 1, &id, 8);
	full[16] = 0x99;
}

static int cx_add(struct agg_table *t, uint64_t id, const struct agg_counters *c)
{
	uint8_t full[CX_FULL], ck[8];
	if (id & 1) { /* odd ids: IPv6 */
		v6_key(id, full);
		return agg_table_add(t, full, agg_hash(full, CX_FULL), c);
	}
	cx_keys(id, full, ck);
	return agg_table_add_compact(t, ck, agg_hash(ck, 8), c);
}

static void cx_full_key(uint64_t id, uint8_t *full)
{
	uint8_t ck[8];
	if (id & 1)
		v6_key(id, full);
	else
		cx_keys(id, full, ck);
}

/* Sealed (agg_table_drop_index), t must hold ids [0, n) with packets = id % 7 + times. */
static void cx_check_sealed(const struct agg_table *t, uint64_t n, uint64_t times)
{
	struct agg_table idx; /* the sealed rows, found back by their full keys */
	assert_int_equal(agg_table_init(&idx, CX_FULL, n), 0);
	uint64_t pos = 0;
	const struct agg_entry *e;
	while ((e = agg_table_next(t, &pos)))
		assert_int_equal(agg_table_add(&idx, e->key, agg_hash(e->key, CX_FULL), &e->c), 0);
	assert_int_equal(idx.count, n); /* no key twice */
	for (uint64_t id = 0; id < n; id++) {
		uint8_t full[CX_FULL];
		cx_full_key(id, full);
		const struct agg_entry *g = agg_table_find(&idx, full, agg_hash(full, CX_FULL));
		assert_non_null(g);
		assert_int_equal(g->c.packets, (id % 7 + 1) * times);
		assert_int_equal(g->c.bytes, 10 * times);
	}
	agg_table_free(&idx);
}

static void test_compact_add_and_seal(void **state)
{
	(void)state;
	/* 300 000 keys: the compact array is mmap'ed and released in chunks as it expands */
	const uint64_t n = 300000;
	struct agg_table t;
	assert_int_equal(agg_table_init(&t, CX_FULL, 16), 0);
	assert_int_equal(agg_table_set_compact(&t, &cx40), 0);
	for (int round = 0; round < 2; round++)
		for (uint64_t id = 0; id < n; id++) {
			struct agg_counters c = ctr(id % 7 + 1, 10, 1, 0, 0);
			uint64_t k = id * 0x9e3779b1u % n; /* not in id order */
			c.packets = k % 7 + 1;
			assert_int_equal(cx_add(&t, k, &c), 0);
		}
	assert_int_equal(t.count, n);
	assert_int_equal(t.ccount, n / 2);
	/* compact entries are smaller: 32 + 8 bytes instead of 32 + 40 */
	assert_true(agg_table_bytes(&t) < (size_t)n * (8 + (72 + 40) / 2 + 16));
	/* not iterated before the seal: outputs only see full-form rows */
	uint64_t pos = 0, seen = 0;
	while (agg_table_next(&t, &pos))
		seen++;
	assert_int_equal(seen, n / 2);
	assert_int_equal(agg_table_drop_index(&t), 0);
	assert_int_equal(t.count, n);
	assert_int_equal(t.ccount, 0);
	assert_null(t.centries);
	cx_check_sealed(&t, n, 2);
	agg_table_free(&t);
}

static void test_compact_merge(void **state)
{
	(void)state;
	const uint64_t n = 5000;
	struct agg_table a, b, plain;
	assert_int_equal(agg_table_init(&a, CX_FULL, 16), 0);
	assert_int_equal(agg_table_set_compact(&a, &cx40), 0);
	assert_int_equal(agg_table_init(&b, CX_FULL, 16), 0);
	assert_int_equal(agg_table_set_compact(&b, &cx40), 0);
	/* a: ids [0, n); b: [n/2, n) then [0, n/2): every key in both */
	for (uint64_t id = 0; id < n; id++) {
		struct agg_counters c = ctr(id % 7 + 1, 10, 1, 0, 0);
		assert_int_equal(cx_add(&a, id, &c), 0);
		assert_int_equal(cx_add(&b, (id + n / 2) % n,
					&(struct agg_counters){.packets = (id + n / 2) % n % 7 + 1,
							       .bytes = 10,
							       .flows = 1}),
				 0);
	}
	/* into a table without the compact form: compact keys arrive expanded */
	assert_int_equal(agg_table_init(&plain, CX_FULL, 16), 0);
	assert_int_equal(agg_table_merge(&plain, &a), 0);
	assert_int_equal(plain.count, n);
	assert_int_equal(plain.ccount, 0);
	/* between tables of the same form: compact stays compact */
	assert_int_equal(agg_table_merge(&a, &b), 0);
	assert_int_equal(a.count, n);
	assert_int_equal(a.ccount, n / 2);
	assert_int_equal(agg_table_drop_index(&a), 0);
	cx_check_sealed(&a, n, 2);
	assert_int_equal(agg_table_drop_index(&plain), 0);
	cx_check_sealed(&plain, n, 1);
	agg_table_free(&a);
	agg_table_free(&b);
	agg_table_free(&plain);
}

static void test_compact_cap_and_clear(void **state)
{
	(void)state;
	struct agg_table t;
	assert_int_equal(agg_table_init(&t, CX_FULL, 16), 0);
	assert_int_equal(agg_table_set_compact(&t, &cx40), 0);
	/* a span table has no compact form */
	assert_int_equal(agg_table_set_span(&t, 1), -1);
	t.max_entries = 10; /* both forms count */
	struct agg_counters c = ctr(1, 10, 1, 0, 0);
	for (uint64_t id = 0; id < 10; id++)
		assert_int_equal(cx_add(&t, id, &c), 0);
	assert_int_equal(cx_add(&t, 10, &c), -1);
	assert_int_equal(cx_add(&t, 11, &c), -1);
	assert_int_equal(t.dropped, 2);
	assert_int_equal(cx_add(&t, 4, &c), 0); /* known keys still count */
	agg_table_clear(&t);
	assert_int_equal(t.count, 0);
	assert_int_equal(t.ccount, 0);
	for (uint64_t id = 0; id < 10; id++)
		assert_int_equal(
		    cx_add(&t, id,
			   &(struct agg_counters){.packets = id % 7 + 1, .bytes = 10, .flows = 1}),
		    0);
	assert_int_equal(agg_table_drop_index(&t), 0);
	cx_check_sealed(&t, 10, 1);
	agg_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash),
	    cmocka_unit_test(test_init_rounds_capacity),
	    cmocka_unit_test(test_insert_find),
	    cmocka_unit_test(test_tcp_flags_or),
	    cmocka_unit_test(test_growth_100k),
	    cmocka_unit_test(test_forced_collisions),
	    cmocka_unit_test(test_max_entries),
	    cmocka_unit_test(test_merge),
	    cmocka_unit_test(test_merge_ignores_cap),
	    cmocka_unit_test(test_clear_and_reuse),
	    cmocka_unit_test(test_iteration),
	    cmocka_unit_test(test_wide_keys),
	    cmocka_unit_test(test_bytes_per_aggregate),
	    cmocka_unit_test(test_compact_add_and_seal),
	    cmocka_unit_test(test_compact_merge),
	    cmocka_unit_test(test_compact_cap_and_clear),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
