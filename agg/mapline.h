/*
 * pmacct's map-line syntax: the one tokenizer behind every map file
 * (sampling_map, aggregate_primitives now; pre_tag_map, bgp_agent_map,
 * tee_receivers later).  It splits a file into rules and a rule into
 * key=value pairs; what the keys mean is the caller's business.
 *
 * Syntax, as pmacct documents it for its maps:
 *  - one rule per line; there is no line continuation (a rule is a line);
 *  - blank lines, and lines whose first non-blank character is '!', are
 *    skipped (with MAPLINE_HASH_COMMENTS also '#');
 *  - a token starting with '!' ends the rule (a trailing comment);
 *  - a rule is tokens separated by spaces or tabs, each `key=value` with no
 *    space around '=' ("id = 1" is not valid), keys in any order;
 *  - a value may be quoted with ' or " (pre_tag_map's `filter='src net
 *    10.0.0.0/8'`): spaces and '!' inside are kept, the quotes are removed,
 *    and the closing quote must end the token.
 * Errors, each reported as "file:line: reason" and failing the whole file:
 * a token without '=', an empty key or value, an unterminated or stray
 * quote, a key given twice on one line, more than MAPLINE_KV_MAX keys, a NUL
 * byte, and whatever the caller's per-line callback rejects (unknown keys:
 * see mapline_check_keys).
 */
#ifndef NETACCT_AGG_MAPLINE_H
#define NETACCT_AGG_MAPLINE_H

#include <stddef.h>

#define MAPLINE_KV_MAX 32

/* Flags for mapline_parse*(). */
#define MAPLINE_HASH_COMMENTS 1u /* '#' starts a comment line too */

struct mapline_kv {
	const char *key;
	const char *val; /* quotes removed; never empty */
};

/* One rule; the strings live until the callback returns. */
struct mapline {
	const char *file; /* name used in messages */
	unsigned lineno;  /* 1-based */
	unsigned n;
	struct mapline_kv kv[MAPLINE_KV_MAX];
};

/*
 * Called once per rule, in file order.  Returns 0, or -1 with a reason in
 * why (without file and line: the parser adds them) to fail the file.
 */
typedef int (*mapline_fn)(void *arg, const struct mapline *l, char *why, size_t whylen);

/*
 * Parse len bytes of text (need not be NUL-terminated); name appears in
 * messages.  Returns 0, or -1 with "name:line: reason" in err.
 */
int mapline_parse(const char *text, size_t len, const char *name, unsigned flags, mapline_fn fn,
		  void *arg, char *err, size_t errlen);

/*
 * A whole file in a malloc'ed buffer (*len bytes; free() it), for every map
 * and list reader.  NULL with "path: reason" when it cannot be read.
 */
char *mapline_read_file(const char *path, size_t *len, char *err, size_t errlen);

/* Same, from a file.  Returns -1 with "path: reason" when it cannot be read. */
int mapline_parse_file(const char *path, unsigned flags, mapline_fn fn, void *arg, char *err,
		       size_t errlen);

/* The value of key on this rule, or NULL. */
const char *mapline_get(const struct mapline *l, const char *key);

/*
 * Check every key of l against the NULL-terminated list known.  Returns 0,
 * or -1 with "unknown key 'k' (valid: a, b, c)" in why.
 */
int mapline_check_keys(const struct mapline *l, const char *const *known, char *why, size_t whylen);

#endif
