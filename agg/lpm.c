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

struct lpm {
	struct lpm_node *root[2]; /* [0] IPv4, [1] IPv6 */
	size_t count;
};

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

void lpm_free(struct lpm *t, void (*free_value)(void *))
{
	if (!t)
		return;
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

void *lpm_lookup(const struct lpm *t, const struct nt_addr *a, unsigned *plen)
{
	if (!t || (a->family != 4 && a->family != 6))
		return NULL;
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
