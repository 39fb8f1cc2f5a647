/*
 * Longest-prefix match over IPv4 and IPv6: a path-compressed binary trie
 * (one per family), shared by maps and networks_file.
 *
 * Built on the main thread, then read-only: lookups take no lock and may
 * run on any number of threads at once.  A lookup walks at most one node
 * per distinct prefix length on the path (<= 33 / 129), each a bit test
 * and a compare of the node's prefix bytes.
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

/* Parse "addr" or "addr/len" (IPv4 or IPv6); a bare address is a host prefix.
 * Returns 0, or -1 on anything else. */
int lpm_prefix_parse(const char *s, struct nt_addr *a, uint8_t *plen);

/* Whether a lies in net/plen (same family, first plen bits equal). */
int lpm_prefix_match(const struct nt_addr *net, unsigned plen, const struct nt_addr *a);

#endif
