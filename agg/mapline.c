#include "agg/mapline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Split one line (NUL-terminated, modified in place) into l.  Returns 1 for
 * a rule, 0 for a line with nothing on it, -1 with why.
 */
static int split_line(char *s, unsigned flags, struct mapline *l, char *why, size_t whylen)
{
	l->n = 0;
	for (;;) {
		while (is_blank(*s))
			s++;
		if (!*s || *s == '!' || (l->n == 0 && *s == '#' && (flags & MAPLINE_HASH_COMMENTS)))
			break;
		char *key = s;
		while (*s && *s != '=' && !is_blank(*s)) {
			if (*s == '\'' || *s == '"') {
				snprintf(why, whylen, "quote in a key");
				return -1;
			}
			s++;
		}
		if (*s != '=') {
			*s = '\0'; /* for the message only: the line fails */
			snprintf(why, whylen, "'%.64s' is not key=value (no spaces around '=')",
				 key);
			return -1;
		}
		if (s == key) {
			snprintf(why, whylen, "empty key before '='");
			return -1;
		}
		*s++ = '\0';
		char *val = s;
		if (*s == '\'' || *s == '"') {
			char q = *s++;
			val = s;
			while (*s && *s != q)
				s++;
			if (!*s) {
				snprintf(why, whylen, "unterminated %c quote in '%.64s'", q, key);
				return -1;
			}
			*s++ = '\0';
			if (*s && !is_blank(*s)) {
				snprintf(why, whylen, "text after the closing quote of '%.64s'",
					 key);
				return -1;
			}
		} else {
			while (*s && !is_blank(*s)) {
				if (*s == '\'' || *s == '"') {
					snprintf(why, whylen,
						 "stray quote in the value of '%.64s' (quote the "
						 "whole value)",
						 key);
					return -1;
				}
				s++;
			}
		}
		if (*s)
			*s++ = '\0';
		if (!*val) {
			snprintf(why, whylen, "key '%.64s' has no value", key);
			return -1;
		}
		for (unsigned i = 0; i < l->n; i++)
			if (strcmp(l->kv[i].key, key) == 0) {
				snprintf(why, whylen, "key '%.64s' given twice", key);
				return -1;
			}
		if (l->n == MAPLINE_KV_MAX) {
			snprintf(why, whylen, "more than %d keys on one line", MAPLINE_KV_MAX);
			return -1;
		}
		l->kv[l->n].key = key;
		l->kv[l->n].val = val;
		l->n++;
	}
	return l->n > 0;
}

int mapline_parse(const char *text, size_t len, const char *name, unsigned flags, mapline_fn fn,
		  void *arg, char *err, size_t errlen)
{
	char why[512];
	struct mapline l;
	char *buf = malloc(len + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	l.file = name;
	l.lineno = 0;
	size_t pos = 0;
	int rc = 0;
	while (pos < len) {
		char *line = buf + pos;
		char *nl = memchr(line, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - line) : len - pos;
		pos += llen + (nl ? 1 : 0);
		line[llen] = '\0';
		l.lineno++;
		if (strlen(line) != llen) {
			snprintf(err, errlen, "%s:%u: NUL byte in the line", name, l.lineno);
			rc = -1;
			break;
		}
		why[0] = '\0';
		int got = split_line(line, flags, &l, why, sizeof why);
		if (got == 0)
			continue;
		if (got > 0 && fn(arg, &l, why, sizeof why) == 0)
			continue;
		snprintf(err, errlen, "%s:%u: %s", name, l.lineno, why[0] ? why : "invalid line");
		rc = -1;
		break;
	}
	free(buf);
	return rc;
}

char *mapline_read_file(const char *path, size_t *lenp, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				fclose(f);
				snprintf(err, errlen, "%s: out of memory", path);
				return NULL;
			}
			buf = nb;
			cap = ncap;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	int rd_err = ferror(f);
	fclose(f);
	if (rd_err) {
		free(buf);
		snprintf(err, errlen, "%s: read error", path);
		return NULL;
	}
	*lenp = len;
	return buf;
}

int mapline_parse_file(const char *path, unsigned flags, mapline_fn fn, void *arg, char *err,
		       size_t errlen)
{
	size_t len;
	char *buf = mapline_read_file(path, &len, err, errlen);
	if (!buf)
		return -1;
	int rc = mapline_parse(buf, len, path, flags, fn, arg, err, errlen);
	free(buf);
	return rc;
}

const char *mapline_get(const struct mapline *l, const char *key)
{
	for (unsigned i = 0; i < l->n; i++)
		if (strcmp(l->kv[i].key, key) == 0)
			return l->kv[i].val;
	return NULL;
}

int mapline_check_keys(const struct mapline *l, const char *const *known, char *why, size_t whylen)
{
	for (unsigned i = 0; i < l->n; i++) {
		const char *const *k = known;
		while (*k && strcmp(*k, l->kv[i].key) != 0)
			k++;
		if (*k)
			continue;
		size_t o =
		    (size_t)snprintf(why, whylen, "unknown key '%.64s' (valid:", l->kv[i].key);
		for (k = known; *k && o < whylen; k++)
			o += (size_t)snprintf(why + o, whylen - o, "%s %s", k == known ? "" : ",",
					      *k);
		if (o < whylen)
			snprintf(why + o, whylen - o, ")");
		return -1;
	}
	return 0;
}
