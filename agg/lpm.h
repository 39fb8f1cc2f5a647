/*
 * Longest-prefix match over IPv4 and IPv6, shared by maps and networks_file:
 * a path-compressed binary trie (one per family) that takes inserts, and,
 * once the table is complete, a compiled form for lookups (lpm_compile: a
 * population-count compressed multibit trie of 6-bit strides, after
 * poptrie).
 *
 * Built on the main thread, then read-only: lookups take no lock and may
 * run on any number of threads at once.  Uncompiled, a lookup walks one
 * binary node per branching bit on the path (about log2 of the table: 17
 * cache misses in a 100k-prefix table); compiled, at most 6 nodes for IPv4
 * and one per 6 bits of the longest prefix for IPv6.
 */
#ifndef NETACCT_AGG_LPM_H
#define NETACCT_AGG_LPM_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"

struct lpm;

struct lpm *lpm_new(void); /* NULL on allocation failure */

/* Free the tree; free_value (may be NULL) is called once per stored value. */
void lpm_free(struct lpm *t, void (*free_value)(void *));

/*
 * Store value for net/plen (host bits beyond plen are ignored).  Returns 0
 * for a new prefix, 1 when the prefix was there (its value replaced, the old
 * one in *old when old is not NULL), -1 on a bad family or length
 * (plen > 32 / 128) or allocation failure (tree unchanged).
 */
int lpm_insert(struct lpm *t, const struct nt_addr *net, unsigned plen, void *value, void **old);

/*
 * Value of the longest stored prefix containing a, or NULL; its length in
 * *plen when plen is not NULL.  A stored NULL value is indistinguishable
 * from no match, so store non-NULL values.
 */
void *lpm_lookup(const struct lpm *t, const struct nt_addr *a, unsigned *plen);

size_t lpm_count(const struct lpm *t); /* stored prefixes */

/*
 * Build the compiled lookup structure from the prefixes stored so far.  An
 * insert afterwards drops it (lookups walk the trie again until the next
 * compile), so results never depend on it.  Returns 0, or -1 on allocation
 * failure (the trie still answers lookups).
 */
int lpm_compile(struct lpm *t);

/* Nodes of the compiled structure (0 when not compiled): for tests and sizing. */
size_t lpm_compiled_nodes(const struct lpm *t);

/* Parse "addr" or "addr/len" (IPv4 or IPv6); a bare address is a host prefix.
 * Returns 0, or -1 on anything else. */
int lpm_prefix_parse(const char *s, struct nt_addr *a, uint8_t *plen);

/* Whether a lies in net/plen (same family, first plen bits equal). */
int lpm_prefix_match(const struct nt_addr *net, unsigned plen, const struct nt_addr *a);

#endif
