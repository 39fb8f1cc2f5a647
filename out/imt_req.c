#include "out/imt_req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const op_names[] = {"show", "match", "counters", "erase", "status", "since"};
static const char *const counter_names[] = {"bytes", "packets", "flows", "all"};

void imt_req_init(struct imt_req *r)
{
	memset(r, 0, sizeof *r);
	r->op = IMT_OP_SHOW;
	snprintf(r->format, sizeof r->format, "formatted");
	snprintf(r->sep, sizeof r->sep, ",");
	r->counter = IMT_C_BYTES;
	r->top_by = IMT_C_BYTES;
}

void imt_req_free(struct imt_req *r)
{
	for (unsigned i = 0; i < r->nfields; i++)
		free(r->fields[i]);
	for (unsigned i = 0; i < r->nmatch; i++)
		free(r->match[i]);
	free(r->match);
	r->nfields = r->nmatch = 0;
	r->match = NULL;
}

const char *imt_op_name(enum imt_op op)
{
	return op_names[op];
}

const char *imt_counter_name(enum imt_counter c)
{
	return counter_names[c];
}

int imt_counter_parse(const char *s, int all_ok, enum imt_counter *c)
{
	for (unsigned i = 0; i < 4; i++)
		if (strcasecmp(s, counter_names[i]) == 0) {
			if (i == IMT_C_ALL && !all_ok)
				return -1;
			*c = (enum imt_counter)i;
			return 0;
		}
	return -1;
}

/* Trim spaces around [*s, *e). */
static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

int imt_req_set_fields(struct imt_req *r, const char *csv, char *err, size_t errlen)
{
	for (unsigned i = 0; i < r->nfields; i++)
		free(r->fields[i]);
	r->nfields = 0;
	const char *p = csv;
	for (;;) {
		const char *e = p + strcspn(p, ",");
		const char *s = p;
		trim(&s, &e);
		if (e == s) {
			snprintf(err, errlen, "empty primitive in '%s'", csv);
			return -1;
		}
		if (r->nfields == IMT_FIELDS_MAX) {
			snprintf(err, errlen, "more than %u primitives", IMT_FIELDS_MAX);
			return -1;
		}
		char *f = strndup(s, (size_t)(e - s));
		if (!f) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		r->fields[r->nfields++] = f;
		p += strcspn(p, ",");
		if (!*p)
			break;
		p++;
	}
	return 0;
}

int imt_req_add_match(struct imt_req *r, const char *values, char *err, size_t errlen)
{
	if (r->nmatch == IMT_MATCH_MAX) {
		snprintf(err, errlen, "more than %u match requests", IMT_MATCH_MAX);
		return -1;
	}
	if (strchr(values, '\n')) {
		snprintf(err, errlen, "a match request cannot hold a newline");
		return -1;
	}
	if (r->nmatch % 16 == 0) {
		char **m = realloc(r->match, (r->nmatch + 16) * sizeof *m);
		if (!m) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		r->match = m;
	}
	char *v = strdup(values);
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->match[r->nmatch++] = v;
	return 0;
}

int imt_req_format(const struct imt_req *r, struct obuf *b)
{
	obuf_printf(b, "%s\nop %s\nformat %s\nsep %s\n", IMT_MAGIC, op_names[r->op], r->format,
		    r->sep);
	if (r->nfields) {
		obuf_puts(b, "fields ");
		for (unsigned i = 0; i < r->nfields; i++)
			obuf_printf(b, "%s%s", i ? "," : "", r->fields[i]);
		obuf_putc(b, '\n');
	}
	for (unsigned i = 0; i < r->nmatch; i++)
		obuf_printf(b, "match %s\n", r->match[i]);
	obuf_printf(b, "counter %s\n", counter_names[r->counter]);
	if (r->sum)
		obuf_puts(b, "sum 1\n");
	if (r->top_n)
		obuf_printf(b, "top %s %u\n", counter_names[r->top_by], r->top_n);
	if (r->reset)
		obuf_puts(b, "reset 1\n");
	obuf_putc(b, '\n');
	return obuf_status(b);
}

static int parse_line(struct imt_req *r, const char *name, const char *val, char *err,
		      size_t errlen)
{
	if (strcmp(name, "op") == 0) {
		for (unsigned i = 0; i < sizeof op_names / sizeof op_names[0]; i++)
			if (strcmp(val, op_names[i]) == 0) {
				r->op = (enum imt_op)i;
				return 0;
			}
		snprintf(err, errlen, "unknown op '%s'", val);
		return -1;
	}
	if (strcmp(name, "format") == 0) {
		if (strcmp(val, "json") && strcmp(val, "csv") && strcmp(val, "formatted")) {
			snprintf(err, errlen, "unknown format '%s'", val);
			return -1;
		}
		snprintf(r->format, sizeof r->format, "%s", val);
		return 0;
	}
	if (strcmp(name, "sep") == 0) {
		if (!*val || strlen(val) >= sizeof r->sep) {
			snprintf(err, errlen, "bad separator");
			return -1;
		}
		snprintf(r->sep, sizeof r->sep, "%s", val);
		return 0;
	}
	if (strcmp(name, "fields") == 0)
		return imt_req_set_fields(r, val, err, errlen);
	if (strcmp(name, "match") == 0)
		return imt_req_add_match(r, val, err, errlen);
	if (strcmp(name, "counter") == 0) {
		if (imt_counter_parse(val, 1, &r->counter) < 0) {
			snprintf(err, errlen, "unknown counter '%s'", val);
			return -1;
		}
		return 0;
	}
	if (strcmp(name, "sum") == 0 || strcmp(name, "reset") == 0) {
		int on = strcmp(val, "1") == 0;
		if (!on && strcmp(val, "0") != 0) {
			snprintf(err, errlen, "%s takes 0 or 1", name);
			return -1;
		}
		*(name[0] == 's' ? &r->sum : &r->reset) = on;
		return 0;
	}
	if (strcmp(name, "top") == 0) {
		char by[16];
		unsigned n;
		char extra;
		if (sscanf(val, "%15s %u %c", by, &n, &extra) != 2 ||
		    imt_counter_parse(by, 0, &r->top_by) < 0 || n == 0) {
			snprintf(err, errlen, "bad top '%s'", val);
			return -1;
		}
		r->top_n = n;
		return 0;
	}
	snprintf(err, errlen, "unknown request line '%s'", name);
	return -1;
}

int imt_req_parse(struct imt_req *r, const char *text, size_t len, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	int first = 1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			snprintf(err, errlen, "request not terminated by an empty line");
			return -1;
		}
		size_t n = (size_t)(nl - p);
		if (n == 0)
			return first ? (snprintf(err, errlen, "empty request"), -1) : 0;
		char line[4096];
		if (n >= sizeof line) {
			snprintf(err, errlen, "request line too long");
			return -1;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		if (first) {
			if (strcmp(line, IMT_MAGIC) != 0) {
				snprintf(err, errlen, "not a netacct-imt 1 request");
				return -1;
			}
			first = 0;
			continue;
		}
		char *sp = strchr(line, ' ');
		const char *val = sp ? sp + 1 : "";
		if (sp)
			*sp = '\0';
		if (parse_line(r, line, val, err, errlen) < 0)
			return -1;
	}
	snprintf(err, errlen, "request not terminated by an empty line");
	return -1;
}
