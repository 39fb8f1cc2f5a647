#include "agg/lpm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct lpm_node {
	struct lpm_node *child[2];
	void *value;
	uint8_t key[16]; /* bits beyond plen are zero */
	uint8_t plen;
	uint8_t has_value; /* 0: a branching node only */
};

/*
 * The compiled form (lpm_compile): a multibit trie of 6-bit strides whose
 * nodes are compressed with population counts, after poptrie (Asai and
 * Ohara, SIGCOMM 2015).  A node covers 64 slots of the next six address
 * bits; `vec` marks the slots that continue in a child node, stored
 * contiguously from `child`; the other slots end the lookup at a leaf, the
 * best prefix seen so far, and runs of equal leaves are stored once: a
 * `leafvec` bit marks where a run starts, leaves contiguous from `leaf`.
 * A lookup is at most 6 (IPv4) or 22 (IPv6) node visits, one popcount each,
 * instead of one binary node per branching bit.
 */
struct pt_node {
	uint64_t vec, leafvec;
	uint32_t child, leaf;
};

struct pt {
	struct pt_node *n;
	const struct lpm_node **leaf; /* the trie node holding the value, or NULL */
	size_t nn, nl, capn, capl;
};

struct lpm {
	struct lpm_node *root[2]; /* [0] IPv4, [1] IPv6 */
	size_t count;
	struct pt pt[2]; /* compiled per family, valid when `compiled` */
	int compiled;
};

#define PT_STRIDE 6

struct lpm *lpm_new(void)
{
	return calloc(1, sizeof(struct lpm));
}

static void free_nodes(struct lpm_node *n, void (*free_value)(void *))
{
	if (!n)
		return;
	free_nodes(n->child[0], free_value);
	free_nodes(n->child[1], free_value);
	if (n->has_value && free_value)
		free_value(n->value);
	free(n);
}

static void pt_free(struct pt *p)
{
	free(p->n);
	free((void *)p->leaf);
	memset(p, 0, sizeof *p);
}

void lpm_free(struct lpm *t, void (*free_value)(void *))
{
	if (!t)
		return;
	pt_free(&t->pt[0]);
	pt_free(&t->pt[1]);
	free_nodes(t->root[0], free_value);
	free_nodes(t->root[1], free_value);
	free(t);
}

size_t lpm_count(const struct lpm *t)
{
	return t ? t->count : 0;
}

static inline unsigned bit_at(const uint8_t *k, unsigned i)
{
	return (k[i >> 3] >> (7 - (i & 7))) & 1u;
}

/* Bits a and b share from the top, at most max. */
static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned max)
{
	unsigned i = 0;
	while (i + 8 <= max && a[i >> 3] == b[i >> 3])
		i += 8;
	while (i < max && bit_at(a, i) == bit_at(b, i))
		i++;
	return i;
}

static int prefix_eq(const uint8_t *net, const uint8_t *a, unsigned plen)
{
	unsigned full = plen >> 3, rem = plen & 7;
	if (memcmp(net, a, full) != 0)
		return 0;
	return !rem || ((net[full] ^ a[full]) & (uint8_t)(0xff << (8 - rem))) == 0;
}

static void mask_copy(uint8_t *dst, const uint8_t *src, unsigned plen)
{
	memset(dst, 0, 16);
	memcpy(dst, src, plen >> 3);
	if (plen & 7)
		dst[plen >> 3] = src[plen >> 3] & (uint8_t)(0xff << (8 - (plen & 7)));
}

static struct lpm_node *node_new(const uint8_t *key, unsigned plen)
{
	struct lpm_node *n = calloc(1, sizeof *n);
	if (n) {
		mask_copy(n->key, key, plen);
		n->plen = (uint8_t)plen;
	}
	return n;
}

int lpm_insert(struct lpm *t, const struct nt_addr *net, unsigned plen, void *value, void **old)
{
	if (net->family != 4 && net->family != 6)
		return -1;
	unsigned maxb = net->family == 4 ? 32 : 128;
	if (plen > maxb)
		return -1;
	const uint8_t *key = net->a;
	struct lpm_node **pp = &t->root[net->family == 6];
	t->compiled = 0; /* lookups walk the trie until the next lpm_compile() */
	while (*pp) {
		struct lpm_node *n = *pp;
		unsigned lim = n->plen < plen ? n->plen : plen;
		unsigned common = common_bits(n->key, key, lim);
		if (common < n->plen) {
			/* the new prefix branches off above n: n moves one level down */
			struct lpm_node *leaf = node_new(key, plen);
			if (!leaf)
				return -1;
			leaf->value = value;
			leaf->has_value = 1;
			if (common == plen) {
				leaf->child[bit_at(n->key, plen)] = n;
				*pp = leaf;
			} else {
				struct lpm_node *glue = node_new(key, common);
				if (!glue) {
					free(leaf);
					return -1;
				}
				glue->child[bit_at(n->key, common)] = n;
				glue->child[bit_at(key, common)] = leaf;
				*pp = glue;
			}
			t->count++;
			return 0;
		}
		if (n->plen == plen) {
			int had = n->has_value;
			if (had && old)
				*old = n->value;
			n->value = value;
			n->has_value = 1;
			if (!had)
				t->count++;
			return had;
		}
		pp = &n->child[bit_at(key, n->plen)];
	}
	struct lpm_node *leaf = node_new(key, plen);
	if (!leaf)
		return -1;
	leaf->value = value;
	leaf->has_value = 1;
	*pp = leaf;
	t->count++;
	return 0;
}

/* Bits d..d+5 of the 128-bit big-endian value hi:lo (zero beyond bit 127). */
static inline unsigned chunk6(uint64_t hi, uint64_t lo, unsigned d)
{
	if (d <= 58)
		return (unsigned)(hi >> (58 - d)) & 63u;
	if (d < 64)
		return (unsigned)((hi << (d - 58)) | (lo >> (122 - d))) & 63u;
	d -= 64;
	return (unsigned)(d <= 58 ? lo >> (58 - d) : lo << (d - 58)) & 63u;
}

static inline uint64_t load_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static const struct lpm_node *pt_lookup(const struct pt *p, const struct nt_addr *a)
{
	uint64_t hi, lo = 0;
	if (a->family == 4)
		hi = (uint64_t)a->a[0] << 56 | (uint64_t)a->a[1] << 48 | (uint64_t)a->a[2] << 40 |
		     (uint64_t)a->a[3] << 32;
	else {
		hi = load_be64(a->a);
		lo = load_be64(a->a + 8);
	}
	const struct pt_node *n = &p->n[0];
	for (unsigned d = 0;; d += PT_STRIDE) {
		unsigned v = chunk6(hi, lo, d);
		uint64_t upto = (2ull << v) - 1; /* slots 0..v (v = 63: all) */
		if ((n->vec >> v) & 1u) {
			n = &p->n[n->child + (unsigned)__builtin_popcountll(n->vec & upto) - 1];
			continue;
		}
		return p->leaf[n->leaf + (unsigned)__builtin_popcountll(n->leafvec & upto) - 1];
	}
}

void *lpm_lookup(const struct lpm *t, const struct nt_addr *a, unsigned *plen)
{
	if (!t || (a->family != 4 && a->family != 6))
		return NULL;
	if (t->compiled) {
		const struct lpm_node *b = pt_lookup(&t->pt[a->family == 6], a);
		if (!b)
			return NULL;
		if (plen)
			*plen = b->plen;
		return b->value;
	}
	unsigned maxb = a->family == 4 ? 32 : 128;
	const struct lpm_node *n = t->root[a->family == 6], *best = NULL;
	while (n && prefix_eq(n->key, a->a, n->plen)) {
		if (n->has_value)
			best = n;
		if (n->plen >= maxb)
			break;
		n = n->child[bit_at(a->a, n->plen)];
	}
	if (!best)
		return NULL;
	if (plen)
		*plen = best->plen;
	return best->value;
}

/* ---- compiling ---------------------------------------------------------- */

/* What one slot of the node being built holds: a child (state n, best L) or a leaf L. */
struct pt_slot {
	const struct lpm_node *n; /* child: the first trie node at or below the slot's depth */
	const struct lpm_node *best;
	int child;
};

/*
 * Fill slots [lo, hi) of a node at depth d, whose bits d..bit-1 are fixed,
 * from trie node n (its first `bit` bits match the slots'), best = the
 * longest prefix above.
 */
static void pt_expand(struct pt_slot *sl, const struct lpm_node *n, unsigned d, unsigned bit,
		      unsigned lo, unsigned hi, const struct lpm_node *best)
{
	const unsigned end = d + PT_STRIDE;
	if (!n) {
		for (unsigned i = lo; i < hi; i++)
			sl[i] = (struct pt_slot){NULL, best, 0};
		return;
	}
	unsigned p = n->plen;
	unsigned stop = p < end ? p : end;
	/* the slots whose bits bit..stop-1 are n's */
	unsigned sub = 0;
	for (unsigned b = bit; b < stop; b++)
		sub = sub << 1 | bit_at(n->key, b);
	unsigned width = 1u << (end - stop); /* slots per value of those bits */
	unsigned slo = lo + sub * width, shi = slo + width;
	for (unsigned i = lo; i < slo; i++)
		sl[i] = (struct pt_slot){NULL, best, 0};
	for (unsigned i = shi; i < hi; i++)
		sl[i] = (struct pt_slot){NULL, best, 0};
	if (p < end) {
		const struct lpm_node *b2 = n->has_value ? n : best;
		unsigned half = (shi - slo) / 2;
		pt_expand(sl, n->child[0], d, p + 1, slo, slo + half, b2);
		pt_expand(sl, n->child[1], d, p + 1, slo + half, shi, b2);
		return;
	}
	/* n reaches the next level: slot slo continues there, unless n ends exactly here */
	if (p == end && !n->child[0] && !n->child[1])
		sl[slo] = (struct pt_slot){NULL, n->has_value ? n : best, 0};
	else
		sl[slo] = (struct pt_slot){n, best, 1};
}

static int pt_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 64;
	while (ncap < need)
		ncap *= 2;
	void *na = realloc(*arr, ncap * elem);
	if (!na)
		return -1;
	*arr = na;
	*cap = ncap;
	return 0;
}

/*
 * Build node `idx` (already allocated) at depth d from trie node n and the
 * best prefix above it; children are allocated as one block, then built.
 */
static int pt_build(struct pt *p, size_t idx, const struct lpm_node *n, unsigned d,
		    const struct lpm_node *best)
{
	struct pt_slot sl[64];
	pt_expand(sl, n, d, d, 0, 64, best);
	uint64_t vec = 0, leafvec = 0;
	unsigned nchild = 0, nleaf = 0;
	const struct lpm_node *prev = NULL;
	int have_prev = 0;
	for (unsigned i = 0; i < 64; i++) {
		if (sl[i].child) {
			vec |= 1ull << i;
			nchild++;
		} else if (!have_prev || sl[i].best != prev) {
			leafvec |= 1ull << i;
			prev = sl[i].best;
			have_prev = 1;
			nleaf++;
		}
	}
	size_t leaf0 = p->nl, child0 = p->nn;
	if (pt_grow((void **)&p->leaf, &p->capl, p->nl + nleaf, sizeof *p->leaf) < 0 ||
	    pt_grow((void **)&p->n, &p->capn, p->nn + nchild, sizeof *p->n) < 0 ||
	    p->nn + nchild > UINT32_MAX || p->nl + nleaf > UINT32_MAX)
		return -1;
	for (unsigned i = 0; i < 64; i++)
		if (!sl[i].child && (leafvec >> i & 1u))
			p->leaf[p->nl++] = sl[i].best;
	p->nn += nchild;
	p->n[idx] = (struct pt_node){vec, leafvec, (uint32_t)child0, (uint32_t)leaf0};
	size_t c = child0;
	for (unsigned i = 0; i < 64; i++)
		if (sl[i].child && pt_build(p, c++, sl[i].n, d + PT_STRIDE, sl[i].best) < 0)
			return -1;
	return 0;
}

int lpm_compile(struct lpm *t)
{
	struct pt fresh[2];
	memset(fresh, 0, sizeof fresh);
	for (int f = 0; f < 2; f++) {
		if (pt_grow((void **)&fresh[f].n, &fresh[f].capn, 1, sizeof *fresh[f].n) < 0 ||
		    (fresh[f].nn = 1, pt_build(&fresh[f], 0, t->root[f], 0, NULL) < 0)) {
			pt_free(&fresh[0]);
			pt_free(&fresh[1]);
			return -1;
		}
	}
	pt_free(&t->pt[0]);
	pt_free(&t->pt[1]);
	t->pt[0] = fresh[0];
	t->pt[1] = fresh[1];
	t->compiled = 1;
	return 0;
}

size_t lpm_compiled_nodes(const struct lpm *t)
{
	return t && t->compiled ? t->pt[0].nn + t->pt[1].nn : 0;
}

int lpm_prefix_parse(const char *s, struct nt_addr *a, uint8_t *plen)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof buf)
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(a, 0, sizeof *a);
	if (inet_pton(AF_INET, buf, a->a) == 1)
		a->family = 4;
	else if (inet_pton(AF_INET6, buf, a->a) == 1)
		a->family = 6;
	else
		return -1;
	unsigned max = a->family == 4 ? 32 : 128;
	if (!slash) {
		*plen = (uint8_t)max;
		return 0;
	}
	const char *p = slash + 1;
	unsigned long l = 0;
	if (!*p || strlen(p) > 3)
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		l = l * 10 + (unsigned long)(*p - '0');
	}
	if (l > max)
		return -1;
	*plen = (uint8_t)l;
	return 0;
}

int lpm_prefix_match(const struct nt_addr *net, unsigned plen, const struct nt_addr *a)
{
	return net->family == a->family && prefix_eq(net->a, a->a, plen);
}
