#include "out/imt_query.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "out/encode.h"

/* One value of a match request, pre-parsed once per query. */
struct mval {
	const char *text;
	int has_u, has_addr;
	uint64_t u;
	uint8_t family;
	uint8_t addr[16];
};

struct query {
	const struct keyspec *ks;
	const struct imt_req *r;
	unsigned fi[IMT_FIELDS_MAX]; /* keyspec field of each -c primitive */
	struct mval *mv;	     /* nmatch * nfields */
	char **copies;		     /* the split request texts */
	struct prim_val *vals;	     /* one entry's rendered -c fields */
};

static const char *field_name(const struct keyspec_field *f)
{
	return f->custom ? f->custom->name : f->p->name;
}

static int err_reply(struct obuf *out, enum imt_err code, const char *fmt, const char *a)
{
	obuf_reset(out);
	obuf_printf(out, "ERR %d ", (int)code);
	obuf_printf(out, fmt, a);
	obuf_putc(out, '\n');
	return obuf_status(out);
}

static void mval_parse(struct mval *m, const char *s)
{
	char *end;
	m->text = s;
	if (*s >= '0' && *s <= '9') {
		unsigned long long u = strtoull(s, &end, 10);
		if (*end == '\0') {
			m->has_u = 1;
			m->u = u;
		}
	}
	if (inet_pton(AF_INET, s, m->addr) == 1) {
		m->has_addr = 1;
		m->family = 4;
	} else if (inet_pton(AF_INET6, s, m->addr) == 1) {
		m->has_addr = 1;
		m->family = 6;
	}
}

static void query_free(struct query *q)
{
	if (q->copies)
		for (unsigned i = 0; i < q->r->nmatch; i++)
			free(q->copies[i]);
	free(q->copies);
	free(q->mv);
	free(q->vals);
}

/* Resolve -c and split every request; 0, or an ERR reply in out and -1. */
static int query_compile(struct query *q, struct obuf *out)
{
	const struct imt_req *r = q->r;
	const struct keyspec *ks = q->ks;
	for (unsigned j = 0; j < r->nfields; j++) {
		unsigned i;
		for (i = 0; i < ks->n; i++)
			if (!(ks->has_history && i == 0) &&
			    strcasecmp(field_name(&ks->f[i]), r->fields[j]) == 0)
				break;
		if (i == ks->n) {
			err_reply(out, IMT_ERR_PRIMITIVE,
				  "primitive '%s' is not in this table's aggregate", r->fields[j]);
			return -1;
		}
		q->fi[j] = i;
	}
	q->vals = calloc(r->nfields ? r->nfields : 1, sizeof *q->vals);
	q->mv = calloc((size_t)r->nmatch * r->nfields + 1, sizeof *q->mv);
	q->copies = calloc(r->nmatch + 1, sizeof *q->copies);
	if (!q->vals || !q->mv || !q->copies) {
		err_reply(out, IMT_ERR_INTERNAL, "%s", "out of memory");
		return -1;
	}
	for (unsigned m = 0; m < r->nmatch; m++) {
		char *c = strdup(r->match[m]);
		if (!c) {
			err_reply(out, IMT_ERR_INTERNAL, "%s", "out of memory");
			return -1;
		}
		q->copies[m] = c;
		unsigned n = 0;
		char *save = NULL;
		for (char *tok = strtok_r(c, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			while (*tok == ' ')
				tok++;
			size_t l = strlen(tok);
			while (l && tok[l - 1] == ' ')
				tok[--l] = '\0';
			if (n == r->nfields) {
				n++;
				break;
			}
			mval_parse(&q->mv[(size_t)m * r->nfields + n++], tok);
		}
		if (n != r->nfields) {
			err_reply(out, IMT_ERR_VALUE,
				  "match '%s' does not give one value per primitive of -c",
				  r->match[m]);
			return -1;
		}
	}
	return 0;
}

static void render_fields(struct query *q, const struct agg_entry *e)
{
	for (unsigned j = 0; j < q->r->nfields; j++) {
		const struct keyspec_field *f = &q->ks->f[q->fi[j]];
		f->p->render(keyspec_value(f, e->key, &e->c), f, &q->ks->opts, &q->vals[j]);
	}
}

static int value_matches(const struct query *q, unsigned j, const struct prim_val *v,
			 const struct mval *m, const struct agg_entry *e)
{
	if (v->kind == PV_ADDR && m->has_addr)
		return v->addr[0] == m->family &&
		       memcmp(v->addr + 1, m->addr, m->family == 4 ? 4 : 16) == 0;
	if (v->kind == PV_UINT && m->has_u)
		return v->u == m->u;
	if (strcasecmp(v->s, m->text) == 0)
		return 1;
	/* a one-byte field shown by name (proto) also matches its number */
	const struct keyspec_field *f = &q->ks->f[q->fi[j]];
	if (m->has_u && f->width == 1 && !f->p->accumulate)
		return keyspec_value(f, e->key, &e->c)[0] == m->u;
	return 0;
}

static int request_matches(const struct query *q, unsigned m, const struct agg_entry *e)
{
	const struct mval *mv = &q->mv[(size_t)m * q->r->nfields];
	for (unsigned j = 0; j < q->r->nfields; j++)
		if (!value_matches(q, j, &q->vals[j], &mv[j], e))
			return 0;
	return 1;
}

static uint64_t counter_of(const struct agg_entry *e, enum imt_counter c)
{
	return c == IMT_C_PACKETS ? e->c.packets : c == IMT_C_FLOWS ? e->c.flows : e->c.bytes;
}

static void reset_entry(const struct agg_entry *e)
{
	/* the caller owns the table under its lock; entries are handed out const */
	struct agg_entry *w = (struct agg_entry *)(uintptr_t)e;
	w->c.packets = w->c.bytes = w->c.flows = 0;
	w->c.tcp_flags = 0;
}

/* ---- top N: a min-heap of the N largest, then popped largest-last --------- */

struct heapctx {
	enum imt_counter by;
	uint32_t key_len;
};

/* a ranks below b: smaller counter; ties broken by key so output is stable */
static int below(const struct heapctx *h, const struct agg_entry *a, const struct agg_entry *b)
{
	uint64_t x = counter_of(a, h->by), y = counter_of(b, h->by);
	if (x != y)
		return x < y;
	return memcmp(a->key, b->key, h->key_len) > 0;
}

static void sift_down(const struct heapctx *h, const struct agg_entry **v, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && below(h, v[l], v[m]))
			m = l;
		if (r < n && below(h, v[r], v[m]))
			m = r;
		if (m == i)
			return;
		const struct agg_entry *t = v[i];
		v[i] = v[m];
		v[m] = t;
		i = m;
	}
}

/* Keep the k highest of v[0..n) in v[0..k), highest first; returns k. */
static size_t top_select(const struct heapctx *h, const struct agg_entry **v, size_t n, size_t k)
{
	if (k > n)
		k = n;
	for (size_t i = k / 2; i-- > 0;)
		sift_down(h, v, k, i);
	for (size_t i = k; i < n; i++)
		if (k && below(h, v[0], v[i])) {
			v[0] = v[i];
			sift_down(h, v, k, 0);
		}
	/* heap sort: the lowest goes last */
	for (size_t end = k; end > 1; end--) {
		const struct agg_entry *t = v[0];
		v[0] = v[end - 1];
		v[end - 1] = t;
		sift_down(h, v, end - 1, 0);
	}
	return k;
}

/* ---- the operations ------------------------------------------------------- */

static int show_rows(struct agg_table *t, const struct keyspec *ks, const struct imt_req *r,
		     struct query *q, struct obuf *out)
{
	size_t n = 0, cap = 1024;
	const struct agg_entry **v = malloc(cap * sizeof *v);
	const struct agg_entry *e;
	uint64_t pos = 0;
	if (!v)
		return err_reply(out, IMT_ERR_INTERNAL, "%s", "out of memory");
	while ((e = agg_table_next(t, &pos))) {
		if (r->op == IMT_OP_MATCH) {
			render_fields(q, e);
			unsigned m;
			for (m = 0; m < r->nmatch; m++)
				if (request_matches(q, m, e))
					break;
			if (m == r->nmatch)
				continue;
		}
		if (n == cap) {
			const struct agg_entry **nv = realloc(v, 2 * cap * sizeof *v);
			if (!nv) {
				free(v);
				return err_reply(out, IMT_ERR_INTERNAL, "%s", "out of memory");
			}
			v = nv;
			cap *= 2;
		}
		v[n++] = e;
	}
	if (r->top_n) {
		struct heapctx h = {r->top_by, t->key_len};
		n = top_select(&h, v, n, r->top_n);
	}

	struct encoder enc;
	struct enc_schema schema;
	enc_init(&enc, r->format, r->sep);
	enc_schema_init(&schema, ks);
	obuf_printf(out, "OK %zu\n", n);
	if (n || strcmp(r->format, "json") != 0)
		enc_header(&enc, out, &schema);
	for (size_t i = 0; i < n; i++)
		enc_row(&enc, out, &schema, v[i], NULL);
	if (strcmp(r->format, "formatted") == 0)
		obuf_printf(out, "\nFor a total of: %zu entries\n", n);
	if (r->reset)
		for (size_t i = 0; i < n; i++)
			reset_entry(v[i]);
	free(v);
	return obuf_status(out);
}

static int counters(struct agg_table *t, const struct imt_req *r, struct query *q, struct obuf *out)
{
	uint64_t(*sum)[4] = calloc(r->nmatch ? r->nmatch : 1, sizeof *sum);
	const struct agg_entry *e;
	uint64_t pos = 0;
	size_t matched = 0;
	if (!sum)
		return err_reply(out, IMT_ERR_INTERNAL, "%s", "out of memory");
	unsigned char *hit = calloc(r->nmatch ? r->nmatch : 1, 1);
	if (!hit) {
		free(sum);
		return err_reply(out, IMT_ERR_INTERNAL, "%s", "out of memory");
	}
	while ((e = agg_table_next(t, &pos))) {
		int any = 0;
		render_fields(q, e);
		for (unsigned m = 0; m < r->nmatch; m++)
			if (request_matches(q, m, e)) {
				sum[m][0] += e->c.packets;
				sum[m][1] += e->c.bytes;
				sum[m][2] += e->c.flows;
				sum[m][3]++; /* entries: pmacct's fourth -n all column */
				hit[m] = 1;
				any = 1;
			}
		if (any && r->reset)
			reset_entry(e);
	}
	for (unsigned m = 0; m < r->nmatch; m++)
		matched += hit[m];
	obuf_printf(out, "OK %zu\n", matched);
	unsigned lines = r->sum ? 1 : r->nmatch;
	for (unsigned l = 0; l < lines; l++) {
		uint64_t s[4] = {0, 0, 0, 0};
		for (unsigned m = r->sum ? 0 : l; m < (r->sum ? r->nmatch : l + 1); m++)
			for (int k = 0; k < 4; k++)
				s[k] += sum[m][k];
		if (r->counter == IMT_C_ALL)
			obuf_printf(out, "%llu %llu %llu %llu\n", (unsigned long long)s[0],
				    (unsigned long long)s[1], (unsigned long long)s[2],
				    (unsigned long long)s[3]);
		else
			obuf_printf(out, "%llu\n",
				    (unsigned long long)s[r->counter == IMT_C_PACKETS ? 0
							  : r->counter == IMT_C_FLOWS ? 2
										      : 1]);
	}
	free(sum);
	free(hit);
	return obuf_status(out);
}

static int status(const struct agg_table *t, const struct keyspec *ks, const struct imt_status *st,
		  struct obuf *out)
{
	obuf_printf(out, "OK %llu\n", (unsigned long long)t->count);
	obuf_printf(out, "entries: %llu\n", (unsigned long long)t->count);
	obuf_printf(out, "buckets: %llu\n", (unsigned long long)t->cap);
	obuf_printf(out, "memory_bytes: %llu\n", (unsigned long long)(t->cap * t->entry_size));
	obuf_printf(out, "max_entries: %llu\n", (unsigned long long)st->max_entries);
	obuf_printf(out, "dropped_entries: %llu\n", (unsigned long long)st->dropped);
	obuf_puts(out, "primitives: ");
	for (unsigned i = 0; i < ks->n; i++)
		obuf_printf(out, "%s%s", i ? "," : "", field_name(&ks->f[i]));
	obuf_putc(out, '\n');
	obuf_printf(out, "folds: %llu\n", (unsigned long long)st->folds);
	obuf_printf(out, "last_fold: %lld\n", (long long)st->last_fold);
	obuf_printf(out, "queries: %llu\n", (unsigned long long)st->queries);
	obuf_printf(out, "cleared: %lld\n", (long long)st->cleared);
	return obuf_status(out);
}

int imt_query_run(struct agg_table *t, const struct keyspec *ks, const struct imt_req *r,
		  const struct imt_status *st, struct obuf *out, struct imt_effect *eff)
{
	struct query q = {.ks = ks, .r = r};
	int rc;
	eff->erased = 0;
	obuf_reset(out);
	switch (r->op) {
	case IMT_OP_ERASE:
		agg_table_clear(t);
		eff->erased = 1;
		obuf_puts(out, "OK 0\n");
		return obuf_status(out);
	case IMT_OP_STATUS:
		return status(t, ks, st, out);
	case IMT_OP_SINCE:
		obuf_printf(out, "OK 1\n%lld\n", (long long)(st->now - st->cleared));
		return obuf_status(out);
	case IMT_OP_MATCH:
	case IMT_OP_COUNTERS:
		if (!r->nfields)
			return err_reply(out, IMT_ERR_REQUEST, "%s",
					 "a match needs the primitives to match on (-c)");
		if (!r->nmatch)
			return err_reply(out, IMT_ERR_REQUEST, "%s",
					 "a match needs values (-M/-N)");
		break;
	case IMT_OP_SHOW:
		break;
	}
	if (query_compile(&q, out) < 0) {
		query_free(&q);
		return obuf_status(out);
	}
	rc = r->op == IMT_OP_COUNTERS ? counters(t, r, &q, out) : show_rows(t, ks, r, &q, out);
	query_free(&q);
	return rc;
}
