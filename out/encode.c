#include "out/encode.h"

#include <stdio.h>
#include <string.h>

/* ---- JSON --------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t l;
	uint32_t cp;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		l = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		l = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		l = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (l > n)
		return 0;
	for (size_t i = 1; i < l; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and beyond U+10FFFF are not UTF-8 */
	if ((l == 3 && cp < 0x800) || (l == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return l;
}

/*
 * A JSON string.  Escapes are those of the JSON text the fixtures were
 * recorded with: \" \\ \b \f \n \r \t, other control characters as \u00XX
 * (upper-case hex), '/' and non-ASCII UTF-8 as they are.  Bytes that are not
 * UTF-8 become U+FFFD, so the line stays valid JSON.
 */
static void json_string(struct obuf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	obuf_putc(b, '"');
	while (p < end) {
		const unsigned char *run = p;
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			obuf_append(b, run, (size_t)(p - run));
		if (p == end)
			break;
		unsigned char c = *p;
		if (c >= 0x80) {
			size_t l = utf8_len(p, (size_t)(end - p));
			if (l) {
				obuf_append(b, p, l);
				p += l;
			} else {
				obuf_puts(b, "\\uFFFD");
				p++;
			}
			continue;
		}
		p++;
		switch (c) {
		case '"':
			obuf_puts(b, "\\\"");
			break;
		case '\\':
			obuf_puts(b, "\\\\");
			break;
		case '\b':
			obuf_puts(b, "\\b");
			break;
		case '\f':
			obuf_puts(b, "\\f");
			break;
		case '\n':
			obuf_puts(b, "\\n");
			break;
		case '\r':
			obuf_puts(b, "\\r");
			break;
		case '\t':
			obuf_puts(b, "\\t");
			break;
		default:
			obuf_printf(b, "\\u%04X", c);
		}
	}
	obuf_putc(b, '"');
}

/*
 * A column without a JSON name holding a map (src_host_coords: lat, lon) is
 * several fields in pmacct's output: one per item, named by the item (JSON)
 * or by the comma separated parts of the CSV header.
 */
static int flattened(const struct enc_col *c, const struct prim_val *v)
{
	return c->json[0] == '\0' && v->kind == PV_MAP;
}

/* Item i's text as a C string (items live side by side in v->s). */
static const char *item_text(const struct prim_val *v, unsigned i, char *buf, size_t len)
{
	size_t n = v->item[i].len < len - 1 ? v->item[i].len : len - 1;
	memcpy(buf, v->s + v->item[i].off, n);
	buf[n] = '\0';
	return buf;
}

static int json_begin(struct encoder *e, struct obuf *b)
{
	e->nfield = 0;
	return obuf_putc(b, '{');
}

/* An array element or map value: integers bare, strings quoted. */
static void json_item(struct obuf *b, const struct prim_val *v, const struct prim_item *it)
{
	if (it->is_uint)
		obuf_append(b, v->s + it->off, it->len);
	else
		json_string(b, v->s + it->off, it->len);
}

static int json_field(struct encoder *e, struct obuf *b, const struct enc_col *c,
		      const struct prim_val *v)
{
	if (flattened(c, v)) {
		for (unsigned i = 0; i < v->n; i++) {
			if (e->nfield++)
				obuf_append(b, ", ", 2);
			json_string(b, v->s + v->item[i].name_off, v->item[i].name_len);
			obuf_append(b, ": ", 2);
			json_item(b, v, &v->item[i]);
		}
		return obuf_status(b);
	}
	/* non-compact JSON: ", " between items and ": " after keys, as pmacct writes */
	if (e->nfield++)
		obuf_append(b, ", ", 2);
	unsigned jl = e->json_len;
	e->json_len = 0;
	if (jl) { /* a plain name: no escaping to look for */
		obuf_putc(b, '"');
		obuf_append(b, c->json, jl);
		obuf_append(b, "\": ", 3);
	} else {
		json_string(b, c->json, strlen(c->json));
		obuf_append(b, ": ", 2);
	}
	switch (v->kind) {
	case PV_UINT:
		obuf_puts(b, v->s);
		break;
	case PV_NULL:
		obuf_append(b, "null", 4);
		break;
	case PV_LIST:
		obuf_putc(b, '[');
		for (unsigned i = 0; i < v->n; i++) {
			if (i)
				obuf_append(b, ", ", 2);
			json_item(b, v, &v->item[i]);
		}
		obuf_putc(b, ']');
		break;
	case PV_MAP:
		obuf_putc(b, '{');
		for (unsigned i = 0; i < v->n; i++) {
			if (i)
				obuf_append(b, ", ", 2);
			json_string(b, v->s + v->item[i].name_off, v->item[i].name_len);
			obuf_append(b, ": ", 2);
			json_item(b, v, &v->item[i]);
		}
		obuf_putc(b, '}');
		break;
	default: /* PV_STR, PV_ADDR */
		json_string(b, v->s, strlen(v->s));
	}
	return obuf_status(b);
}

static int json_end(struct encoder *e, struct obuf *b)
{
	obuf_putc(b, '}');
	if (e->newline)
		obuf_putc(b, '\n');
	return obuf_status(b);
}

const struct enc_ops enc_json_ops = {
    .name = "json",
    .event_type = 1,
    .header = NULL,
    .begin_row = json_begin,
    .field = json_field,
    .end_row = json_end,
};

/* ---- CSV ---------------------------------------------------------------- */

static int csv_begin(struct encoder *e, struct obuf *b)
{
	(void)b;
	e->nfield = 0;
	return 0;
}

/*
 * RFC 4180 quoting: a field holding the separator, a double quote, CR or LF
 * is written in double quotes with its quotes doubled, so lists ("ACK,SYN")
 * and custom strings keep the row's column count.
 */
static void csv_text(struct encoder *e, struct obuf *b, const char *s)
{
	if (e->nfield++)
		obuf_puts(b, e->sep);
	if (!strpbrk(s, "\"\r\n") && !(*e->sep && strstr(s, e->sep))) {
		obuf_puts(b, s);
		return;
	}
	obuf_putc(b, '"');
	for (const char *q; (q = strchr(s, '"')); s = q + 1) {
		obuf_append(b, s, (size_t)(q - s + 1));
		obuf_putc(b, '"');
	}
	obuf_puts(b, s);
	obuf_putc(b, '"');
}

static int csv_field(struct encoder *e, struct obuf *b, const struct enc_col *c,
		     const struct prim_val *v)
{
	char t[PRIM_TEXT_MAX];
	if (flattened(c, v)) {
		for (unsigned i = 0; i < v->n; i++)
			csv_text(e, b, item_text(v, i, t, sizeof t));
		return obuf_status(b);
	}
	csv_text(e, b, v->s);
	return obuf_status(b);
}

static int csv_end(struct encoder *e, struct obuf *b)
{
	(void)e;
	return obuf_putc(b, '\n') < 0 ? -1 : obuf_status(b);
}

static int csv_header(struct encoder *e, struct obuf *b, const struct enc_col *cols, unsigned n)
{
	csv_begin(e, b);
	for (unsigned i = 0; i < n; i++) {
		if (cols[i].json[0] != '\0') {
			csv_text(e, b, cols[i].csv);
			continue;
		}
		char t[128];
		snprintf(t, sizeof t, "%s", cols[i].csv);
		for (char *save = NULL, *p = strtok_r(t, ",", &save); p;
		     p = strtok_r(NULL, ",", &save))
			csv_text(e, b, p);
	}
	return csv_end(e, b);
}

const struct enc_ops enc_csv_ops = {
    .name = "csv",
    .event_type = 0,
    .header = csv_header,
    .begin_row = csv_begin,
    .field = csv_field,
    .end_row = csv_end,
};

/* ---- formatted ---------------------------------------------------------- */

static size_t col_width(const struct enc_col *c)
{
	return c->width ? c->width : strlen(c->csv) + 2;
}

static int fmt_begin(struct encoder *e, struct obuf *b)
{
	(void)b;
	e->nfield = 0;
	e->pad = 0;
	return 0;
}

/* Columns are left-aligned and padded; the last one is not (no trailing blanks). */
static void fmt_text(struct encoder *e, struct obuf *b, const struct enc_col *c, const char *s)
{
	size_t l = strlen(s), w = col_width(c);
	if (e->pad)
		obuf_fill(b, ' ', e->pad);
	obuf_append(b, s, l);
	e->pad = w > l ? w - l : 0;
	e->nfield++;
}

static int fmt_field(struct encoder *e, struct obuf *b, const struct enc_col *c,
		     const struct prim_val *v)
{
	char t[PRIM_TEXT_MAX];
	if (flattened(c, v)) {
		for (unsigned i = 0; i < v->n; i++)
			fmt_text(e, b, c, item_text(v, i, t, sizeof t));
		return obuf_status(b);
	}
	fmt_text(e, b, c, v->s);
	return obuf_status(b);
}

static int fmt_end(struct encoder *e, struct obuf *b)
{
	e->pad = 0;
	return obuf_putc(b, '\n') < 0 ? -1 : obuf_status(b);
}

static int fmt_header(struct encoder *e, struct obuf *b, const struct enc_col *cols, unsigned n)
{
	fmt_begin(e, b);
	for (unsigned i = 0; i < n; i++) {
		if (cols[i].json[0] != '\0') {
			fmt_text(e, b, &cols[i], cols[i].csv);
			continue;
		}
		char t[128];
		snprintf(t, sizeof t, "%s", cols[i].csv);
		for (char *save = NULL, *p = strtok_r(t, ",", &save); p;
		     p = strtok_r(NULL, ",", &save))
			fmt_text(e, b, &cols[i], p);
	}
	return fmt_end(e, b);
}

const struct enc_ops enc_formatted_ops = {
    .name = "formatted",
    .event_type = 0,
    .header = fmt_header,
    .begin_row = fmt_begin,
    .field = fmt_field,
    .end_row = fmt_end,
};

/* ---- common ------------------------------------------------------------- */

int enc_init(struct encoder *e, const char *format, const char *sep)
{
	static const struct enc_ops *const all[] = {&enc_json_ops, &enc_csv_ops,
						    &enc_formatted_ops};
	memset(e, 0, sizeof *e);
	e->sep = sep ? sep : ",";
	e->newline = 1;
	if (!format)
		format = "formatted";
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (strcmp(all[i]->name, format) == 0) {
			e->ops = all[i];
			return 0;
		}
	return -1;
}

static const char *custom_name(const struct keyspec_field *f)
{
	return f->custom && f->p->width == 0 ? f->custom->name : NULL;
}

/* A built-in column's width; a user-defined one widens to fit its name. */
static unsigned field_width(const struct keyspec_field *f)
{
	unsigned w = f->p->col;
	if (custom_name(f)) {
		unsigned n = (unsigned)strlen(f->custom->name) + 2;
		w = n > w ? n : w;
	}
	return w;
}

void enc_schema_init(struct enc_schema *s, const struct keyspec *ks)
{
	unsigned n = 0;
	s->ks = ks;
	s->writer_id = NULL;
	for (unsigned i = 0; i < ks->n; i++) {
		const struct keyspec_field *f = &ks->f[i];
		const char *cn = custom_name(f);
		s->col[n++] =
		    (struct enc_col){cn ? cn : f->p->json, cn ? cn : f->p->csv, field_width(f)};
	}
	if (ks->has_history)
		s->col[n++] = (struct enc_col){"stamp_updated", "STAMP_UPDATED", 22};
	s->col[n++] = (struct enc_col){"packets", "PACKETS", 22};
	if (ks->want_flows)
		s->col[n++] = (struct enc_col){"flows", "FLOWS", 22};
	s->col[n++] = (struct enc_col){"bytes", "BYTES", 22};
	s->n = n;
	for (unsigned i = 0; i < n; i++) {
		const char *p = s->col[i].json;
		size_t l = strlen(p);
		while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			p++;
		s->json_len[i] = *p ? 0 : (unsigned)l;
	}
	s->no_counters = 0;
}

void enc_schema_no_counters(struct enc_schema *s)
{
	if (!s->no_counters)
		s->n -= s->ks->want_flows ? 3 : 2;
	s->no_counters = 1;
}

int enc_header(struct encoder *e, struct obuf *b, const struct enc_schema *s)
{
	return e->ops->header ? e->ops->header(e, b, s->col, s->n) : 0;
}

static const struct enc_col event_type_col = {"event_type", "EVENT_TYPE", 0};

int enc_row(struct encoder *e, struct obuf *b, const struct enc_schema *s,
	    const struct agg_entry *ent, const char *event_type)
{
	const struct keyspec *ks = s->ks;
	const struct enc_ops *ops = e->ops;
	struct prim_val v;
	unsigned c = 0;
	int rc = ops->begin_row(e, b);
	if (ops->event_type && event_type) {
		prim_val_str(&v, event_type);
		rc |= ops->field(e, b, &event_type_col, &v);
	}
	for (unsigned i = 0; i < ks->n; i++) {
		const struct keyspec_field *f = &ks->f[i];
		f->p->render(keyspec_value(f, ent->key, &ent->c), f, &ks->opts, &v);
		e->json_len = s->json_len[c];
		rc |= ops->field(e, b, &s->col[c++], &v);
	}
	if (ks->has_history) {
		/* stamp_updated: when the entry last saw traffic, rendered like stamp_inserted */
		uint64_t t = (uint64_t)ent->c.last_sec * 1000000u;
		uint8_t k[8];
		memcpy(k, &t, 8);
		ks->f[0].p->render(k, &ks->f[0], &ks->opts, &v);
		e->json_len = s->json_len[c];
		rc |= ops->field(e, b, &s->col[c++], &v);
	}
	if (s->no_counters)
		return (rc | ops->end_row(e, b)) ? -1 : obuf_status(b);
	prim_val_uint(&v, ent->c.packets);
	e->json_len = s->json_len[c];
	rc |= ops->field(e, b, &s->col[c++], &v);
	if (ks->want_flows) {
		prim_val_uint(&v, ent->c.flows);
		e->json_len = s->json_len[c];
		rc |= ops->field(e, b, &s->col[c++], &v);
	}
	prim_val_uint(&v, ent->c.bytes);
	e->json_len = s->json_len[c];
	rc |= ops->field(e, b, &s->col[c++], &v);
	if (s->writer_id && ops == &enc_json_ops) {
		static const struct enc_col writer_id_col = {"writer_id", "WRITER_ID", 0};
		prim_val_str(&v, s->writer_id);
		rc |= ops->field(e, b, &writer_id_col, &v);
	}
	rc |= ops->end_row(e, b);
	return rc ? -1 : obuf_status(b);
}

static struct enc_col event_col(const struct out_event *ev, unsigned i)
{
	return (struct enc_col){ev->f[i].name, ev->f[i].name, 0};
}

int enc_event_header(struct encoder *e, struct obuf *b, const struct out_event *ev)
{
	struct enc_col cols[OUT_EVENT_FIELDS_MAX];
	if (!e->ops->header)
		return 0;
	for (unsigned i = 0; i < ev->n; i++)
		cols[i] = event_col(ev, i);
	return e->ops->header(e, b, cols, ev->n);
}

int enc_event(struct encoder *e, struct obuf *b, const struct out_event *ev)
{
	const struct enc_ops *ops = e->ops;
	struct prim_val v;
	int rc = ops->begin_row(e, b);
	if (ops->event_type && ev->type) {
		prim_val_str(&v, ev->type);
		rc |= ops->field(e, b, &event_type_col, &v);
	}
	for (unsigned i = 0; i < ev->n; i++) {
		struct enc_col c = event_col(ev, i);
		out_event_value(ev, i, &v);
		rc |= ops->field(e, b, &c, &v);
	}
	rc |= ops->end_row(e, b);
	return rc ? -1 : obuf_status(b);
}
