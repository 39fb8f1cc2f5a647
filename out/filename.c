#include "out/filename.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"

void fname_free(struct fname *tp)
{
	for (unsigned i = 0; i < tp->n; i++) {
		free(tp->t[i].text);
		free(tp->t[i].expanded);
	}
	memset(tp, 0, sizeof *tp);
}

static int fname_text(struct fname *tp, const char *s, size_t n)
{
	if (!n)
		return 0;
	if (tp->n && tp->t[tp->n - 1].kind == FN_TIME) {
		struct fname_tok *k = &tp->t[tp->n - 1];
		size_t l = strlen(k->text);
		char *x = realloc(k->text, l + n + 1);
		if (!x)
			return -1;
		memcpy(x + l, s, n);
		x[l + n] = '\0';
		k->text = x;
		return 0;
	}
	if (tp->n == FNAME_TOKS)
		return -1;
	char *x = strndup(s, n);
	if (!x)
		return -1;
	tp->t[tp->n++] = (struct fname_tok){FN_TIME, x, 0, NULL};
	return 0;
}

/* $post_tag / $post_tag2: the configured value, read through the key's row so any type works. */
static void conf_value_text(const struct conf_plugin *pc, const char *key, char *buf, size_t len)
{
	const struct conf_key *k = conf_schema_key(&out_schema_nfacctd, key, NULL);
	buf[0] = '\0';
	if (!k || k->scope != SCOPE_PLUGIN)
		return;
	const char *slot = (const char *)pc + k->off;
	switch (k->type) {
	case CT_BOOL:
	case CT_INT:
	case CT_DURATION:
		snprintf(buf, len, "%d", *(const int *)(const void *)slot);
		break;
	case CT_STRING:
	case CT_LIST:
	case CT_ENUM: {
		const char *v = *(char *const *)(const void *)slot;
		snprintf(buf, len, "%s", v ? v : "");
		break;
	}
	default:
		break;
	}
}

/*
 * Parse a template.  Row variables resolve through the key spec by
 * primitive name, so they work for any primitive that has that name.
 * Returns 0, or -1 with the reason.
 */
int fname_parse(struct fname *tp, const char *s, const struct out_instance *oi, int allow_time,
		char *why, size_t whylen)
{
	static const char *const row_vars[] = {"peer_src_ip", "tag2", "tag", NULL};
	memset(tp, 0, sizeof *tp);
	while (*s) {
		const char *d = strchr(s, '$');
		size_t lit = d ? (size_t)(d - s) : strlen(s);
		if (memchr(s, '%', lit)) {
			if (!allow_time) {
				snprintf(why, whylen, "time variables are not allowed here");
				return -1;
			}
			tp->has_time = 1;
		}
		if (fname_text(tp, s, lit) < 0)
			goto full;
		s += lit;
		if (!*s)
			break;
		s++; /* '$' */
		char val[64];
		int matched = 0;
		for (unsigned i = 0; row_vars[i]; i++) {
			size_t l = strlen(row_vars[i]);
			if (strncmp(s, row_vars[i], l) != 0)
				continue;
			if (tp->n == FNAME_TOKS)
				goto full;
			struct fname_tok *k = &tp->t[tp->n++];
			*k = (struct fname_tok){FN_NULL, NULL, 0, NULL};
			for (unsigned f = 0; f < oi->ks.n; f++)
				if (oi->ks.f[f].p->name &&
				    strcmp(oi->ks.f[f].p->name, row_vars[i]) == 0 &&
				    !oi->ks.f[f].custom) {
					k->kind = FN_FIELD;
					k->field = f;
				}
			tp->has_row |= k->kind == FN_FIELD;
			s += l;
			matched = 1;
			break;
		}
		if (matched)
			continue;
		if (strncmp(s, "post_tag2", 9) == 0 || strncmp(s, "post_tag", 8) == 0) {
			size_t l = strncmp(s, "post_tag2", 9) == 0 ? 9 : 8;
			char key[16];
			snprintf(key, sizeof key, "%.*s", (int)l, s);
			conf_value_text(oi->conf, key, val, sizeof val);
			s += l;
		} else if (strncmp(s, "ref", 3) == 0) {
			snprintf(val, sizeof val, "%d", oi->refresh);
			s += 3;
		} else if (strncmp(s, "hst", 3) == 0) {
			snprintf(val, sizeof val, "%d", oi->history > 0 ? oi->history : 0);
			s += 3;
		} else if (strncmp(s, "tzone", 5) == 0) {
			if (!allow_time) {
				snprintf(why, whylen, "time variables are not allowed here");
				return -1;
			}
			/* expanded per purge through a private strftime-like marker */
			snprintf(val, sizeof val, "%%:z");
			tp->has_time = 1;
			s += 5;
		} else {
			snprintf(val, sizeof val, "$");
		}
		if (fname_text(tp, val, strlen(val)) < 0)
			goto full;
	}
	return 0;
full:
	snprintf(why, whylen, "too many variables");
	return -1;
}

/* strftime with "%:z" as RFC 3339's zone ("+02:00", "Z"); "" stays "". */
static char *expand_time(const char *text, time_t when, int utc)
{
	struct tm tm;
	if (utc)
		gmtime_r(&when, &tm);
	else
		localtime_r(&when, &tm);
	char zone[48];
	long off = tm.tm_gmtoff;
	if (off == 0)
		snprintf(zone, sizeof zone, "Z");
	else
		snprintf(zone, sizeof zone, "%c%02ld:%02ld", off < 0 ? '-' : '+',
			 (off < 0 ? -off : off) / 3600, ((off < 0 ? -off : off) % 3600) / 60);
	/* replace %:z by the zone text, escaping nothing else */
	size_t cap = strlen(text) * 4 + 64;
	char *fmt = malloc(cap);
	if (!fmt)
		return NULL;
	size_t o = 0;
	for (const char *p = text; *p; p++) {
		if (p[0] == '%' && p[1] == ':' && p[2] == 'z') {
			for (const char *z = zone; *z && o + 2 < cap; z++)
				fmt[o++] = *z;
			p += 2;
		} else if (p[0] == '%' && p[1] == '%') {
			if (o + 3 < cap) {
				fmt[o++] = '%';
				fmt[o++] = '%';
			}
			p++;
		} else if (o + 2 < cap) {
			fmt[o++] = *p;
		}
	}
	fmt[o] = '\0';
	char *out = malloc(4096);
	if (!out) {
		free(fmt);
		return NULL;
	}
	out[0] = '\0';
	/* a leading blank makes an all-empty expansion distinguishable from an error */
	char buf[4097];
	char *f2 = malloc(o + 2);
	if (!f2) {
		free(fmt);
		free(out);
		return NULL;
	}
	f2[0] = ' ';
	memcpy(f2 + 1, fmt, o + 1);
	size_t n = strftime(buf, sizeof buf, f2, &tm);
	if (n > 0)
		snprintf(out, 4096, "%s", buf + 1);
	free(f2);
	free(fmt);
	return out;
}

/* Expand the time parts for one purge. */
int fname_begin(struct fname *tp, time_t when, int utc)
{
	for (unsigned i = 0; i < tp->n; i++) {
		struct fname_tok *k = &tp->t[i];
		if (k->kind != FN_TIME)
			continue;
		free(k->expanded);
		if (!(k->expanded = expand_time(k->text, when, utc)))
			return -1;
	}
	return 0;
}

/* A row value fit for a file name: '/' would make folders. */
static void row_text(const struct out_instance *oi, unsigned fi, const struct agg_entry *e,
		     char *buf, size_t len)
{
	const struct keyspec_field *f = &oi->ks.f[fi];
	struct prim_val v;
	f->p->render(keyspec_value(f, e->key, &e->c), f, &oi->ks.opts, &v);
	snprintf(buf, len, "%s", v.s);
	for (char *p = buf; *p; p++)
		if (*p == '/')
			*p = '_';
}

/* The template's text for a row (e may be NULL when the template has no row variable). */
int fname_expand(const struct fname *tp, const struct out_instance *oi, const struct agg_entry *e,
		 char *out, size_t len)
{
	size_t o = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < tp->n; i++) {
		const struct fname_tok *k = &tp->t[i];
		char val[PRIM_TEXT_MAX];
		const char *s = "";
		if (k->kind == FN_TIME)
			s = k->expanded ? k->expanded : k->text;
		else if (k->kind == FN_FIELD && e) {
			row_text(oi, k->field, e, val, sizeof val);
			s = val;
		}
		size_t l = strlen(s);
		if (o + l >= len)
			return -1;
		memcpy(out + o, s, l + 1);
		o += l;
	}
	return o ? 0 : -1;
}
