#include "out/encode.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void render(const struct keyspec *ks, unsigned i, const struct agg_entry *e,
		   struct prim_val *v)
{
	const struct keyspec_field *f = &ks->f[i];
	f->p->render(keyspec_value(f, e->key, &e->c), f, &ks->opts, v);
}

static const char *field_json_name(const struct keyspec_field *f)
{
	return f->custom && f->p->width == 0 ? f->custom->name : f->p->json;
}

/* stamp_updated: when the entry last saw traffic, rendered like stamp_inserted. */
static void render_updated(const struct keyspec *ks, const struct agg_entry *e, struct prim_val *v)
{
	uint64_t t = e->c.last_usec - e->c.last_usec % 1000000u;
	uint8_t k[8];
	memcpy(k, &t, 8);
	ks->f[0].p->render(k, &ks->f[0], &ks->opts, v);
}

static json_t *list_to_json(const char *s)
{
	json_t *arr = json_array();
	if (!arr)
		return NULL;
	while (*s) {
		size_t l = strcspn(s, ",");
		json_array_append_new(arr, json_stringn(s, l));
		s += l;
		if (*s == ',')
			s++;
	}
	return arr;
}

char *enc_json_row(const struct keyspec *ks, const struct agg_entry *e, const char *event_type)
{
	json_t *o = json_object();
	struct prim_val v;
	if (!o)
		return NULL;
	if (event_type)
		json_object_set_new(o, "event_type", json_string(event_type));
	for (unsigned i = 0; i < ks->n; i++) {
		json_t *j;
		render(ks, i, e, &v);
		switch (v.kind) {
		case PV_UINT:
			j = json_integer((json_int_t)v.u);
			break;
		case PV_LIST:
			j = list_to_json(v.s);
			break;
		case PV_NULL:
			j = json_null();
			break;
		default:
			/* binary-safe: custom str fields may hold anything */
			j = json_stringn_nocheck(v.s, strlen(v.s));
		}
		json_object_set_new(o, field_json_name(&ks->f[i]), j);
	}
	if (ks->has_history) {
		render_updated(ks, e, &v);
		json_object_set_new(o, "stamp_updated", json_string(v.s));
	}
	json_object_set_new(o, "packets", json_integer((json_int_t)e->c.packets));
	if (ks->want_flows)
		json_object_set_new(o, "flows", json_integer((json_int_t)e->c.flows));
	json_object_set_new(o, "bytes", json_integer((json_int_t)e->c.bytes));
	/* non-compact output separates items with ", " and ": ", as pmacct does */
	char *s = json_dumps(o, JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

static const char *csv_name(const struct keyspec_field *f)
{
	return f->custom && f->p->width == 0 ? f->custom->name : f->p->csv;
}

/*
 * One CSV field and the separator after it.  RFC 4180 quoting: a field
 * holding the separator, a double quote, CR or LF is written in double quotes
 * with its quotes doubled, so lists ("ACK,SYN") and custom strings keep the
 * row's column count.
 */
static void csv_field(FILE *fp, const char *s, const char *sep)
{
	if (!strpbrk(s, "\"\r\n") && !(*sep && strstr(s, sep))) {
		fprintf(fp, "%s%s", s, sep);
		return;
	}
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fprintf(fp, "\"%s", sep);
}

int enc_csv_header(FILE *fp, const struct keyspec *ks, const char *sep)
{
	for (unsigned i = 0; i < ks->n; i++)
		csv_field(fp, csv_name(&ks->f[i]), sep);
	if (ks->has_history)
		fprintf(fp, "STAMP_UPDATED%s", sep);
	fprintf(fp, "PACKETS%s", sep);
	if (ks->want_flows)
		fprintf(fp, "FLOWS%s", sep);
	fprintf(fp, "BYTES\n");
	return ferror(fp) ? -1 : 0;
}

int enc_csv_row(FILE *fp, const struct keyspec *ks, const struct agg_entry *e, const char *sep)
{
	struct prim_val v;
	for (unsigned i = 0; i < ks->n; i++) {
		render(ks, i, e, &v);
		csv_field(fp, v.s, sep);
	}
	if (ks->has_history) {
		render_updated(ks, e, &v);
		csv_field(fp, v.s, sep);
	}
	fprintf(fp, "%llu%s", (unsigned long long)e->c.packets, sep);
	if (ks->want_flows)
		fprintf(fp, "%llu%s", (unsigned long long)e->c.flows, sep);
	fprintf(fp, "%llu\n", (unsigned long long)e->c.bytes);
	return ferror(fp) ? -1 : 0;
}

static unsigned col_width(const struct keyspec_field *f)
{
	unsigned w = f->p->col;
	if (f->custom && f->p->width == 0) {
		unsigned n = (unsigned)strlen(f->custom->name) + 2;
		w = n > w ? n : w;
	}
	return w;
}

int enc_formatted_header(FILE *fp, const struct keyspec *ks)
{
	for (unsigned i = 0; i < ks->n; i++)
		fprintf(fp, "%-*s", (int)col_width(&ks->f[i]), csv_name(&ks->f[i]));
	if (ks->has_history)
		fprintf(fp, "%-22s", "STAMP_UPDATED");
	fprintf(fp, "%-22s", "PACKETS");
	if (ks->want_flows)
		fprintf(fp, "%-22s", "FLOWS");
	fprintf(fp, "BYTES\n");
	return ferror(fp) ? -1 : 0;
}

int enc_formatted_row(FILE *fp, const struct keyspec *ks, const struct agg_entry *e)
{
	struct prim_val v;
	for (unsigned i = 0; i < ks->n; i++) {
		render(ks, i, e, &v);
		fprintf(fp, "%-*s", (int)col_width(&ks->f[i]), v.s);
	}
	if (ks->has_history) {
		render_updated(ks, e, &v);
		fprintf(fp, "%-22s", v.s);
	}
	fprintf(fp, "%-22llu", (unsigned long long)e->c.packets);
	if (ks->want_flows)
		fprintf(fp, "%-22llu", (unsigned long long)e->c.flows);
	fprintf(fp, "%llu\n", (unsigned long long)e->c.bytes);
	return ferror(fp) ? -1 : 0;
}
