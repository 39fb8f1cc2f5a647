/*
 * Unit tests for the longest-prefix-match trie (agg/lpm.c): edge lengths,
 * overlapping prefixes, replacement, and many random prefixes whose lookups
 * are checked against a scan of the inserted list.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "agg/lpm.h"

static struct nt_addr A(const char *s) {
	struct nt_addr a;
	uint8_t plen;
	assert_int_equal(lpm_prefix_parse(s, &a, &plen), 0);
	return a;
}

static void
put(struct lpm *t, const char *prefix, uintptr_t v)
{
	struct nt_addr a;
	uint8_t plen;
	assert_int_equal(lpm_prefix_parse(prefix, &a, &plen), 0);
	assert_true(lpm_insert(t, &a, plen, (void *)v, NULL) >= 0);
}

static uintptr_t get(const struct lpm *t, const char *addr, unsigned *plen)
{
	struct nt_addr a = A(addr);
	return (uintptr_t)lpm_lookup(t, &a, plen);
}

static void test_edges(void **state)
{
	(void)state;
	struct lpm *t = lpm_new();
	assert_non_null(t);
	unsigned plen = 99;
	assert_int_equal(get(t, "10.0.0.1", NULL), 0); /* empty */
	assert_int_equal(lpm_compile(t), 0);	       /* compiled and empty */
	assert_int_equal(get(t, "10.0.0.1", NULL), 0);
	assert_int_equal(get(t, "2001:db8::1", NULL), 0);
	put(t, "0.0.0.0/0", 1);
	put(t, "10.0.0.0/8", 2);
	put(t, "10.1.0.0/16", 3);
	put(t, "10.1.2.3/32", 4);
	put(t, "10.1.2.0/24", 5);     /* inserted after its more specific /32 */
	put(t, "10.128.0.0/9", 6);    /* sibling of 10.0.0.0/9 (absent) */
	put(t, "192.168.1.77/24", 7); /* host bits are ignored */
	assert_int_equal(get(t, "10.1.2.3", &plen), 4);
	assert_int_equal(plen, 32);
	assert_int_equal(get(t, "10.1.2.4", &plen), 5);
	assert_int_equal(plen, 24);
	assert_int_equal(get(t, "10.1.3.1", NULL), 3);
	assert_int_equal(get(t, "10.2.0.1", NULL), 2);
	assert_int_equal(get(t, "10.200.0.1", NULL), 6);
	assert_int_equal(get(t, "11.0.0.1", &plen), 1);
	assert_int_equal(plen, 0);
	assert_int_equal(get(t, "192.168.1.1", NULL), 7);
	assert_int_equal(get(t, "255.255.255.255", NULL), 1);
	/* families never mix: no IPv6 default yet */
	assert_int_equal(get(t, "::ffff:10.1.2.3", NULL), 0);
	put(t, "::/0", 10);
	put(t, "2001:db8::/32", 11);
	put(t, "2001:db8::1/128", 12);
	put(t, "2001:db8:0:1::/64", 13);
	assert_int_equal(get(t, "2001:db8::1", &plen), 12);
	assert_int_equal(plen, 128);
	assert_int_equal(get(t, "2001:db8::2", NULL), 11);
	assert_int_equal(get(t, "2001:db8:0:1::5", NULL), 13);
	assert_int_equal(get(t, "2001:db9::1", NULL), 10);
	assert_int_equal(get(t, "10.1.2.3", NULL), 4);
	assert_int_equal(lpm_count(t), 11);
	/* the compiled form answers the same, edges included */
	assert_int_equal(lpm_compile(t), 0);
	assert_int_equal(get(t, "10.1.2.3", &plen), 4);
	assert_int_equal(plen, 32);
	assert_int_equal(get(t, "10.1.2.4", &plen), 5);
	assert_int_equal(plen, 24);
	assert_int_equal(get(t, "10.200.0.1", NULL), 6);
	assert_int_equal(get(t, "11.0.0.1", &plen), 1);
	assert_int_equal(plen, 0);
	assert_int_equal(get(t, "255.255.255.255", NULL), 1);
	assert_int_equal(get(t, "2001:db8::1", &plen), 12);
	assert_int_equal(plen, 128);
	assert_int_equal(get(t, "2001:db8:0:1::5", NULL), 13);
	assert_int_equal(get(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL), 10);
	assert_int_equal(get(t, "2001:db9::1", NULL), 10);
	lpm_free(t, NULL);
}

static void test_replace_and_errors(void **state)
{
	(void)state;
	struct lpm *t = lpm_new();
	struct nt_addr a = A("192.0.2.0");
	void *old = NULL;
	assert_int_equal(lpm_insert(t, &a, 24, (void *)1, &old), 0);
	assert_int_equal(lpm_insert(t, &a, 24, (void *)2, &old), 1);
	assert_ptr_equal(old, (void *)1);
	assert_int_equal(lpm_count(t), 1);
	assert_int_equal(get(t, "192.0.2.9", NULL), 2);
	/* a value on a node that was only a branch point counts as new */
	put(t, "192.0.3.0/24", 3); /* makes a /23 branch node */
	assert_int_equal(lpm_insert(t, &a, 23, (void *)4, &old), 0);
	assert_int_equal(lpm_count(t), 3);
	assert_int_equal(get(t, "192.0.3.1", NULL), 3);
	assert_int_equal(lpm_insert(t, &a, 33, (void *)5, NULL), -1);
	struct nt_addr none = {0};
	assert_int_equal(lpm_insert(t, &none, 0, (void *)5, NULL), -1);
	assert_null(lpm_lookup(t, &none, NULL));
	struct nt_addr six = A("::1");
	assert_int_equal(lpm_insert(t, &six, 129, (void *)5, NULL), -1);
	lpm_free(t, NULL);

	/* values are freed by the callback */
	t = lpm_new();
	struct nt_addr b = A("10.0.0.0");
	assert_int_equal(lpm_insert(t, &b, 8, malloc(16), NULL), 0);
	assert_int_equal(lpm_insert(t, &b, 16, malloc(16), NULL), 0);
	lpm_free(t, free); /* ASan reports a leak if not */

	struct nt_addr p;
	uint8_t plen;
	static const char *bad[] = {
	    "",	      "/8",   "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/8x", "10.0.0.0/-1",
	    "::/129", "host", "10.0.0/8",  "1.2.3.4/0008"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(lpm_prefix_parse(bad[i], &p, &plen), -1);
	assert_int_equal(lpm_prefix_parse("2001:db8::/48", &p, &plen), 0);
	assert_int_equal(p.family, 6);
	assert_int_equal(plen, 48);
	assert_int_equal(lpm_prefix_parse("192.0.2.1", &p, &plen), 0);
	assert_int_equal(plen, 32);
}

/* ---- random prefixes against a scan ---- */

struct pfx {
	struct nt_addr a;
	unsigned plen;
	uintptr_t v;
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static int in_prefix(const struct pfx *p, const struct nt_addr *a)
{
	if (p->a.family != a->family)
		return 0;
	for (unsigned i = 0; i < p->plen; i++) {
		unsigned byte = i / 8, bit = 7 - i % 8;
		if (((p->a.a[byte] >> bit) & 1) != ((a->a[byte] >> bit) & 1))
			return 0;
	}
	return 1;
}

static void random_addr(struct nt_addr *a, int family, const struct pfx *near)
{
	memset(a, 0, sizeof *a);
	a->family = (uint8_t)family;
	unsigned bytes = family == 4 ? 4 : 16;
	for (unsigned i = 0; i < bytes; i++)
		a->a[i] = (uint8_t)rnd();
	if (near) {
		/* inside near's prefix, possibly deeper in a more specific one */
		for (unsigned i = 0; i < near->plen; i++) {
			unsigned byte = i / 8, bit = 7 - i % 8;
			a->a[byte] = (uint8_t)((a->a[byte] & ~(1u << bit)) |
					       (near->a.a[byte] & (1u << bit)));
		}
	}
}

static void check_random(int family, unsigned npfx, unsigned maxlen)
{
	struct pfx *v = calloc(npfx, sizeof *v);
	struct lpm *t = lpm_new();
	assert_non_null(v);
	assert_non_null(t);
	unsigned n = 0;
	for (unsigned i = 0; i < npfx; i++) {
		struct pfx p;
		/* short prefixes from a few bytes so they overlap a lot */
		random_addr(&p.a, family, n && rnd() % 2 ? &v[rnd() % n] : NULL);
		p.plen = rnd() % (maxlen + 1);
		p.v = i + 1;
		/* keep the list canonical: a repeated prefix replaces the value */
		unsigned j;
		for (j = 0; j < n; j++)
			if (v[j].plen == p.plen && in_prefix(&v[j], &p.a))
				break;
		int rc = lpm_insert(t, &p.a, p.plen, (void *)p.v, NULL);
		assert_int_equal(rc, j < n ? 1 : 0);
		if (j < n)
			v[j].v = p.v;
		else
			v[n++] = p;
	}
	assert_int_equal(lpm_count(t), n);
	/* the trie, then its compiled form, then the trie again after one more insert */
	for (int pass = 0; pass < 3; pass++) {
		if (pass == 1) {
			assert_int_equal(lpm_compile(t), 0);
			assert_true(lpm_compiled_nodes(t) > 0);
		}
		if (pass == 2) {
			struct pfx p = {.plen = maxlen > 8 ? 8 : maxlen, .v = 1000000};
			random_addr(&p.a, family, NULL);
			unsigned j;
			for (j = 0; j < n; j++)
				if (v[j].plen == p.plen && in_prefix(&v[j], &p.a))
					break;
			assert_true(lpm_insert(t, &p.a, p.plen, (void *)p.v, NULL) >= 0);
			assert_int_equal(lpm_compiled_nodes(t), 0);
			if (j < n)
				v[j].v = p.v;
			else
				v[n++] = p;
		}
		for (unsigned q = 0; q < 20000; q++) {
			struct nt_addr a;
			random_addr(&a, family, rnd() % 4 ? &v[rnd() % n] : NULL);
			uintptr_t want = 0;
			int best = -1;
			for (unsigned j = 0; j < n; j++)
				if ((int)v[j].plen > best && in_prefix(&v[j], &a)) {
					best = (int)v[j].plen;
					want = v[j].v;
				}
			unsigned plen = 999;
			uintptr_t got = (uintptr_t)lpm_lookup(t, &a, &plen);
			assert_int_equal(got, want);
			if (best >= 0)
				assert_int_equal(plen, best);
		}
	}
	lpm_free(t, NULL);
	free(v);
}

static void test_random_v4(void **state)
{
	(void)state;
	check_random(4, 3000, 32);
}

static void test_random_v6(void **state)
{
	(void)state;
	check_random(6, 3000, 128);
	check_random(6, 500, 20); /* dense: many overlapping short prefixes */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_replace_and_errors),
	    cmocka_unit_test(test_random_v4),
	    cmocka_unit_test(test_random_v6),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
