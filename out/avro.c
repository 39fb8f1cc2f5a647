#include "out/avro.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_AVRO
#include <avro.h>
#endif

#define P(f) SCOPE_PLUGIN, offsetof(struct conf_plugin, f)
static const struct conf_key avro_rows[] = {
    CONF_ROW("avro_schema_file", CT_STRING, P(avro_schema_file), D_ALL, "", NULL, 0, 0,
	     "With kafka_output / amqp_output avro or avro_json: write the Avro schema of the "
	     "plugin's messages (JSON text: record acct_data, the JSON output's field names) to "
	     "this file at start, for consumers to decode with. Markers stay JSON."),
};
#undef P
const struct conf_key_table avro_keys =
    CONF_TABLE("avro", "The Avro encodings of the kafka and amqp outputs.", avro_rows);

#ifndef HAVE_AVRO

int avro_available(void)
{
	return 0;
}

int avro_enc_init(struct encoder *e, const struct enc_schema *s, int json, char *err, size_t errlen)
{
	(void)e;
	(void)s;
	(void)json;
	snprintf(err, errlen, "netacct was built without libavro (avro-c)");
	return -1;
}

void avro_enc_free(struct encoder *e)
{
	(void)e;
}

int avro_enc_schema_json(const struct encoder *e, struct obuf *b)
{
	(void)e;
	(void)b;
	return -1;
}

int avro_enc_write_schema(const struct encoder *e, const char *path, char *err, size_t errlen)
{
	(void)e;
	(void)path;
	snprintf(err, errlen, "netacct was built without libavro (avro-c)");
	return -1;
}

#else

int avro_available(void)
{
	return 1;
}

/* An Avro field's type, from the kind of value its primitive renders. */
enum avro_type {
	AT_LONG,     /* PV_UINT */
	AT_STRING,   /* PV_STR, PV_ADDR */
	AT_DOUBLE,   /* a map item that is a number with a fraction (coordinates) */
	AT_ARRAY,    /* PV_LIST: array of strings */
	AT_MAP,	     /* PV_MAP: map of strings */
	AT_NULLABLE, /* PV_NULL: ["null", "string"] */
};

struct avro_col {
	char *name;
	enum avro_type t;
	avro_value_t v; /* the field in the record, looked up once */
};

struct avro_state {
	int json;
	int failed; /* the probe met a field Avro cannot name */
	char why[256];
	unsigned n, cap;
	struct avro_col *col;
	avro_schema_t schema;
	avro_value_iface_t *iface;
	avro_value_t rec;
	int have_rec;
	avro_writer_t w; /* over wbuf, reused for every row */
	char *wbuf;
	size_t wcap;
};

#define WBUF_MAX (64u << 20) /* no row comes near: beyond it a row is refused */

static int valid_name(const char *s, size_t n)
{
	if (n == 0 ||
	    !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static void add_col(struct avro_state *st, const char *name, size_t len, enum avro_type t)
{
	if (st->failed)
		return;
	if (!valid_name(name, len)) {
		snprintf(st->why, sizeof st->why,
			 "field '%.*s' is not a valid Avro name ([A-Za-z_][A-Za-z0-9_]*)",
			 (int)(len > 100 ? 100 : len), name);
		st->failed = 1;
		return;
	}
	for (unsigned i = 0; i < st->n; i++)
		if (strlen(st->col[i].name) == len && memcmp(st->col[i].name, name, len) == 0) {
			snprintf(st->why, sizeof st->why,
				 "field '%s' twice in the row (two primitives of the aggregate "
				 "share a JSON name)",
				 st->col[i].name);
			st->failed = 1;
			return;
		}
	if (st->n == st->cap) {
		unsigned cap = st->cap ? st->cap * 2 : 32;
		struct avro_col *c = realloc(st->col, cap * sizeof *c);
		if (!c)
			goto oom;
		st->col = c;
		st->cap = cap;
	}
	char *nm = strndup(name, len);
	if (!nm)
		goto oom;
	st->col[st->n++] = (struct avro_col){.name = nm, .t = t};
	return;
oom:
	snprintf(st->why, sizeof st->why, "out of memory");
	st->failed = 1;
}

/* A number item's type: coordinates are written with a fraction. */
static enum avro_type item_type(const struct prim_val *v, const struct prim_item *it)
{
	if (!it->is_uint)
		return AT_STRING;
	return memchr(v->s + it->off, '.', it->len) ? AT_DOUBLE : AT_LONG;
}

/* A map without a JSON name of its own is one field per item (see encode.c). */
static int flattened(const struct enc_col *c, const struct prim_val *v)
{
	return c->json[0] == '\0' && v->kind == PV_MAP;
}

/* ---- the probe: the fields enc_row() writes become the schema ----------- */

static int probe_begin(struct encoder *e, struct obuf *b)
{
	(void)b;
	e->nfield = 0;
	return 0;
}

static int probe_field(struct encoder *e, struct obuf *b, const struct enc_col *c,
		       const struct prim_val *v)
{
	struct avro_state *st = e->priv;
	(void)b;
	if (flattened(c, v)) {
		for (unsigned i = 0; i < v->n; i++)
			add_col(st, v->s + v->item[i].name_off, v->item[i].name_len,
				item_type(v, &v->item[i]));
		return 0;
	}
	static const enum avro_type by_kind[] = {
	    [PV_UINT] = AT_LONG,     [PV_STR] = AT_STRING,  [PV_LIST] = AT_ARRAY,
	    [PV_NULL] = AT_NULLABLE, [PV_ADDR] = AT_STRING, [PV_MAP] = AT_MAP,
	};
	add_col(st, c->json, strlen(c->json), by_kind[v->kind]);
	return 0;
}

static int probe_end(struct encoder *e, struct obuf *b)
{
	(void)e;
	(void)b;
	return 0;
}

static const struct enc_ops probe_ops = {"avro-probe", 1,	    NULL,
					 probe_begin,  probe_field, probe_end};

static avro_schema_t type_schema(enum avro_type t)
{
	avro_schema_t s, item;
	switch (t) {
	case AT_LONG:
		return avro_schema_long();
	case AT_DOUBLE:
		return avro_schema_double();
	case AT_ARRAY:
	case AT_MAP:
		item = avro_schema_string();
		if (!item)
			return NULL;
		s = t == AT_ARRAY ? avro_schema_array(item) : avro_schema_map(item);
		avro_schema_decref(item);
		return s;
	case AT_NULLABLE: {
		avro_schema_t null = avro_schema_null(), str = avro_schema_string();
		s = avro_schema_union();
		if (!s || !null || !str || avro_schema_union_append(s, null) ||
		    avro_schema_union_append(s, str)) {
			if (s)
				avro_schema_decref(s);
			s = NULL;
		}
		if (null)
			avro_schema_decref(null);
		if (str)
			avro_schema_decref(str);
		return s;
	}
	default:
		return avro_schema_string();
	}
}

/* The record schema, its value and the cached field handles. */
static int build(struct avro_state *st, char *err, size_t errlen)
{
	st->schema = avro_schema_record("acct_data", NULL);
	if (!st->schema)
		goto avro_err;
	for (unsigned i = 0; i < st->n; i++) {
		avro_schema_t t = type_schema(st->col[i].t);
		if (!t)
			goto avro_err;
		int rc = avro_schema_record_field_append(st->schema, st->col[i].name, t);
		avro_schema_decref(t);
		if (rc) {
			snprintf(err, errlen, "field '%s': %s", st->col[i].name, avro_strerror());
			return -1;
		}
	}
	st->iface = avro_generic_class_from_schema(st->schema);
	if (!st->iface || avro_generic_value_new(st->iface, &st->rec))
		goto avro_err;
	st->have_rec = 1;
	for (unsigned i = 0; i < st->n; i++)
		if (avro_value_get_by_index(&st->rec, i, &st->col[i].v, NULL))
			goto avro_err;
	st->wcap = 4096;
	st->wbuf = malloc(st->wcap);
	if (!st->wbuf || !(st->w = avro_writer_memory(st->wbuf, (int64_t)st->wcap)))
		goto avro_err;
	return 0;
avro_err:
	snprintf(err, errlen, "libavro: %s", avro_strerror());
	return -1;
}

/* ---- encoding rows ------------------------------------------------------ */

static int set_text(avro_value_t *v, const char *s, size_t n)
{
	char t[PRIM_TEXT_MAX];
	if (n >= sizeof t)
		n = sizeof t - 1;
	memcpy(t, s, n);
	t[n] = '\0';
	return avro_value_set_string_len(v, t, n + 1); /* libavro counts the NUL */
}

/* An integer field from text: what a renderer gave as digits. */
static int set_long_text(avro_value_t *v, const char *s, size_t n)
{
	char t[32], *end;
	if (n == 0 || n >= sizeof t)
		return -1;
	memcpy(t, s, n);
	t[n] = '\0';
	errno = 0;
	unsigned long long u = strtoull(t, &end, 10);
	if (*end || errno)
		return -1;
	return avro_value_set_long(v, (int64_t)u);
}

static int set_double_text(avro_value_t *v, const char *s, size_t n)
{
	char t[64], *end;
	if (n == 0 || n >= sizeof t)
		return -1;
	memcpy(t, s, n);
	t[n] = '\0';
	double d = strtod(t, &end);
	return *end ? -1 : avro_value_set_double(v, d);
}

/* One value into column c, converted to the column's type. */
static int set_col(struct avro_col *c, const struct prim_val *v)
{
	avro_value_t elem;
	switch (c->t) {
	case AT_LONG:
		if (v->kind == PV_UINT)
			return avro_value_set_long(&c->v, (int64_t)v->u);
		return set_long_text(&c->v, v->s, strlen(v->s));
	case AT_DOUBLE:
		return set_double_text(&c->v, v->s, strlen(v->s));
	case AT_NULLABLE:
		if (v->kind == PV_NULL)
			return avro_value_set_branch(&c->v, 0, &elem) || avro_value_set_null(&elem);
		return avro_value_set_branch(&c->v, 1, &elem) ||
		       avro_value_set_string_len(&elem, v->s, strlen(v->s) + 1);
	case AT_ARRAY:
		if (avro_value_reset(&c->v))
			return -1;
		if (v->kind != PV_LIST)
			return v->s[0] ? -1 : 0;
		for (unsigned i = 0; i < v->n; i++)
			if (avro_value_append(&c->v, &elem, NULL) ||
			    set_text(&elem, v->s + v->item[i].off, v->item[i].len))
				return -1;
		return 0;
	case AT_MAP:
		if (avro_value_reset(&c->v))
			return -1;
		if (v->kind != PV_MAP)
			return v->s[0] ? -1 : 0;
		for (unsigned i = 0; i < v->n; i++) {
			char name[PRIM_TEXT_MAX];
			size_t n = v->item[i].name_len;
			memcpy(name, v->s + v->item[i].name_off, n);
			name[n] = '\0';
			if (avro_value_add(&c->v, name, &elem, NULL, NULL) ||
			    set_text(&elem, v->s + v->item[i].off, v->item[i].len))
				return -1;
		}
		return 0;
	default:
		return avro_value_set_string_len(&c->v, v->s, strlen(v->s) + 1);
	}
}

static int set_item(struct avro_col *c, const struct prim_val *v, const struct prim_item *it)
{
	const char *s = v->s + it->off;
	switch (c->t) {
	case AT_LONG:
		return set_long_text(&c->v, s, it->len);
	case AT_DOUBLE:
		return set_double_text(&c->v, s, it->len);
	case AT_STRING:
		return set_text(&c->v, s, it->len);
	default:
		return -1;
	}
}

static int avro_begin(struct encoder *e, struct obuf *b)
{
	(void)b;
	e->nfield = 0;
	return 0;
}

static int avro_field(struct encoder *e, struct obuf *b, const struct enc_col *c,
		      const struct prim_val *v)
{
	struct avro_state *st = e->priv;
	(void)b;
	e->json_len = 0;
	if (flattened(c, v)) {
		for (unsigned i = 0; i < v->n; i++)
			if (e->nfield >= st->n || set_item(&st->col[e->nfield++], v, &v->item[i]))
				return -1;
		return 0;
	}
	if (e->nfield >= st->n)
		return -1;
	return set_col(&st->col[e->nfield++], v) ? -1 : 0;
}

static int avro_end(struct encoder *e, struct obuf *b)
{
	struct avro_state *st = e->priv;
	if (e->nfield != st->n)
		return -1; /* not the row the schema was made from */
	if (st->json) {
		char *txt = NULL;
		if (avro_value_to_json(&st->rec, 1, &txt) || !txt)
			return -1;
		int rc = obuf_puts(b, txt);
		free(txt);
		if (rc == 0 && e->newline)
			rc = obuf_putc(b, '\n');
		return rc;
	}
	for (;;) {
		avro_writer_memory_set_dest(st->w, st->wbuf, (int64_t)st->wcap);
		if (avro_value_write(st->w, &st->rec) == 0)
			break;
		if (st->wcap >= WBUF_MAX)
			return -1;
		char *nb = realloc(st->wbuf, st->wcap * 2);
		if (!nb)
			return -1;
		st->wbuf = nb;
		st->wcap *= 2;
	}
	return obuf_append(b, st->wbuf, (size_t)avro_writer_tell(st->w));
}

static const struct enc_ops avro_ops = {"avro", 1, NULL, avro_begin, avro_field, avro_end};
static const struct enc_ops avro_json_ops = {"avro_json", 1,	      NULL,
					     avro_begin,  avro_field, avro_end};

static void state_free(struct avro_state *st)
{
	if (!st)
		return;
	if (st->w)
		avro_writer_free(st->w);
	free(st->wbuf);
	if (st->have_rec)
		avro_value_decref(&st->rec);
	if (st->iface)
		avro_value_iface_decref(st->iface);
	if (st->schema)
		avro_schema_decref(st->schema);
	for (unsigned i = 0; i < st->n; i++)
		free(st->col[i].name);
	free(st->col);
	free(st);
}

void avro_enc_free(struct encoder *e)
{
	if (e->ops != &avro_ops && e->ops != &avro_json_ops)
		return;
	state_free(e->priv);
	e->priv = NULL;
}

int avro_enc_init(struct encoder *e, const struct enc_schema *s, int json, char *err, size_t errlen)
{
	struct avro_state *st = calloc(1, sizeof *st);
	const struct keyspec *ks = s->ks;
	struct agg_entry *zero = calloc(1, sizeof *zero + ks->key_len);
	struct obuf scratch;
	int rc = -1;
	obuf_init(&scratch, 0);
	if (!st || !zero) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	st->json = json;
	/* one row through the common row walk: its fields are the schema */
	memset(e, 0, sizeof *e);
	e->ops = &probe_ops;
	e->priv = st;
	enc_row(e, &scratch, s, zero, "purge");
	if (st->failed) {
		snprintf(err, errlen, "%s", st->why);
		goto out;
	}
	if (build(st, err, errlen) < 0)
		goto out;
	e->ops = json ? &avro_json_ops : &avro_ops;
	e->newline = 0;
	rc = 0;
out:
	free(zero);
	obuf_free(&scratch);
	if (rc < 0) {
		state_free(st);
		memset(e, 0, sizeof *e);
	}
	return rc;
}

int avro_enc_schema_json(const struct encoder *e, struct obuf *b)
{
	const struct avro_state *st = e->priv;
	size_t cap = 4096;
	obuf_reset(b);
	if (!st)
		return -1;
	for (;;) {
		char *buf = malloc(cap);
		avro_writer_t w = buf ? avro_writer_memory(buf, (int64_t)cap) : NULL;
		if (!w) {
			free(buf);
			return -1;
		}
		int rc = avro_schema_to_json(st->schema, w);
		int64_t len = avro_writer_tell(w);
		avro_writer_free(w);
		if (rc == 0) {
			rc = obuf_append(b, buf, (size_t)len);
			free(buf);
			return rc;
		}
		free(buf);
		if (cap >= WBUF_MAX)
			return -1;
		cap *= 2;
	}
}

int avro_enc_write_schema(const struct encoder *e, const char *path, char *err, size_t errlen)
{
	struct obuf b;
	char tmp[4200];
	obuf_init(&b, 0);
	if (avro_enc_schema_json(e, &b) < 0 || obuf_putc(&b, '\n') < 0) {
		obuf_free(&b);
		snprintf(err, errlen, "cannot render the schema");
		return -1;
	}
	snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
	FILE *f = fopen(tmp, "w");
	int rc = -1;
	if (!f) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	} else {
		int bad = fwrite(b.data, 1, b.len, f) != b.len;
		bad |= fclose(f) != 0;
		if (bad || rename(tmp, path) < 0) {
			snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
			unlink(tmp);
		} else {
			rc = 0;
		}
	}
	obuf_free(&b);
	return rc;
}

#endif
