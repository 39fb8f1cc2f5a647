#include "out/sql_build.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/*
 * pmacct's default key columns per sql_table_version (interface facts: the
 * column names of its v1..v9 tables).  Generic names; the port columns are
 * src_port/dst_port before v8 on MySQL and SQLite, port_src/port_dst else.
 */
static const char *const v1_cols[] = {"mac_src",  "mac_dst",  "ip_src",	  "ip_dst",
				      "port_src", "port_dst", "ip_proto", NULL};
static const char *const v2_cols[] = {"agent_id", "mac_src",  "mac_dst",  "vlan",     "ip_src",
				      "ip_dst",	  "port_src", "port_dst", "ip_proto", NULL};
static const char *const v3_cols[] = {"agent_id", "mac_src", "mac_dst",	 "vlan",
				      "ip_src",	  "ip_dst",  "port_src", "port_dst",
				      "ip_proto", "tos",     NULL};
static const char *const v5_cols[] = {"agent_id", "class_id", "mac_src", "mac_dst",
				      "vlan",	  "ip_src",   "ip_dst",	 "port_src",
				      "port_dst", "ip_proto", "tos",	 NULL};
static const char *const v6_cols[] = {"agent_id", "class_id", "mac_src", "mac_dst", "vlan",
				      "as_src",	  "as_dst",   "ip_src",	 "ip_dst",  "port_src",
				      "port_dst", "ip_proto", "tos",	 NULL};
static const char *const v7_cols[] = {"agent_id", "class_id",  "mac_src",  "mac_dst", "vlan",
				      "as_src",	  "as_dst",    "ip_src",   "ip_dst",  "port_src",
				      "port_dst", "tcp_flags", "ip_proto", "tos",     NULL};
static const char *const v9_cols[] = {"tag",	  "class_id",  "mac_src",  "mac_dst", "vlan",
				      "as_src",	  "as_dst",    "ip_src",   "ip_dst",  "port_src",
				      "port_dst", "tcp_flags", "ip_proto", "tos",     NULL};

static const char *const *version_cols(int v)
{
	switch (v) {
	case 1:
		return v1_cols;
	case 2:
		return v2_cols;
	case 3:
	case 4:
		return v3_cols;
	case 5:
		return v5_cols;
	case 6:
		return v6_cols;
	case 7:
	case 8:
		return v7_cols;
	case 9:
		return v9_cols;
	default:
		return NULL;
	}
}

const char *sql_default_table(int version)
{
	static const char *const names[] = {"acct",    "acct",	  "acct_v2", "acct_v3", "acct_v4",
					    "acct_v5", "acct_v6", "acct_v7", "acct_v8", "acct_v9"};
	return version >= 1 && version <= 9 ? names[version] : "acct";
}

/* The generic column of a primitive (before version renames). */
static const char *prim_column(const struct keyspec_field *f, int version)
{
	static const struct {
		const char *prim, *col;
	} map[] = {
	    {"src_net", "ip_src"},
	    {"dst_net", "ip_dst"},
	    {"class", "class_id"},
	    {"tag2", "tag2"},
	};
	if (f->custom)
		return f->custom->name;
	if (strcmp(f->p->name, "tag") == 0)
		return version >= 9 ? "tag" : "agent_id";
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(f->p->name, map[i].prim) == 0)
			return map[i].col;
	return f->p->json;
}

static void dialect_name(char *out, size_t len, const char *generic, enum sql_dialect d,
			 int version)
{
	if (d != SQL_PGSQL && version < 8 && strcmp(generic, "port_src") == 0)
		generic = "src_port";
	else if (d != SQL_PGSQL && version < 8 && strcmp(generic, "port_dst") == 0)
		generic = "dst_port";
	snprintf(out, len, "%s", generic);
}

static enum sql_kind column_kind(const char *generic)
{
	if (strcmp(generic, "ip_proto") == 0 || strcmp(generic, "tunnel_ip_proto") == 0)
		return SK_PROTO;
	if (strncmp(generic, "mac_", 4) == 0 || strstr(generic, "_mac_"))
		return SK_MAC;
	if (strncmp(generic, "ip_", 3) == 0 || strstr(generic, "_ip_"))
		return SK_ADDR;
	if (strcmp(generic, "class_id") == 0)
		return SK_TEXT;
	return SK_INT;
}

int sql_layout_build(struct sql_layout *l, const struct keyspec *ks, enum sql_dialect d,
		     int version, int optimize, int num_hosts, char *err, size_t errlen)
{
	memset(l, 0, sizeof *l);
	l->d = d;
	l->version = version;
	l->optimize = optimize;
	l->num_hosts = num_hosts;
	l->utc = ks->opts.timestamps_utc;
	l->history = ks->has_history;
	unsigned first = ks->has_history ? 1 : 0; /* f[0]: the time bin, not a column */
	if (optimize) {
		for (unsigned i = first; i < ks->n; i++) {
			const char *g = prim_column(&ks->f[i], version);
			struct sql_col *c = &l->col[l->ncol++];
			dialect_name(c->name, sizeof c->name, g, d, version);
			c->kind = column_kind(g);
			c->field = (int)i;
		}
		l->flows = ks->want_flows;
		return 0;
	}
	const char *const *vc = version_cols(version);
	if (!vc) {
		snprintf(err, errlen, "key 'sql_table_version': %d is not 1..9", version);
		return -1;
	}
	for (unsigned i = 0; vc[i]; i++) {
		struct sql_col *c = &l->col[l->ncol++];
		dialect_name(c->name, sizeof c->name, vc[i], d, version);
		c->kind = column_kind(vc[i]);
		c->field = -1;
	}
	for (unsigned i = first; i < ks->n; i++) {
		const char *g = prim_column(&ks->f[i], version);
		char name[64];
		dialect_name(name, sizeof name, g, d, version);
		unsigned j;
		for (j = 0; j < l->ncol; j++)
			if (strcmp(l->col[j].name, name) == 0)
				break;
		if (j == l->ncol || l->col[j].field >= 0) {
			snprintf(err, errlen,
				 "key 'sql_table_version': primitive '%s' has no column in the v%d "
				 "table (use a later version, or sql_optimize_clauses with your "
				 "own schema)",
				 ks->f[i].custom ? ks->f[i].custom->name : ks->f[i].p->name,
				 version);
			return -1;
		}
		l->col[j].field = (int)i;
	}
	l->flows = version >= 4;
	return 0;
}

void sql_time_literal(struct obuf *b, time_t t, int utc)
{
	struct tm tm;
	char s[64];
	if (utc)
		gmtime_r(&t, &tm);
	else
		localtime_r(&t, &tm);
	strftime(s, sizeof s, "'%Y-%m-%d %H:%M:%S'", &tm);
	obuf_puts(b, s);
}

void sql_quote(struct obuf *b, enum sql_dialect d, const char *s)
{
	obuf_putc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			obuf_putc(b, '\'');
		else if (*s == '\\' && d == SQL_MYSQL)
			obuf_putc(b, '\\');
		obuf_putc(b, *s);
	}
	obuf_putc(b, '\'');
}

void sql_entry_stamps(const struct sql_layout *l, const struct keyspec *ks,
		      const struct agg_entry *e, time_t now, struct sql_stamps *st)
{
	st->updated = now;
	st->inserted = now;
	if (l->history) {
		uint64_t usec;
		memcpy(&usec, keyspec_value(&ks->f[0], e->key, &e->c), 8);
		st->inserted = (time_t)(usec / 1000000u);
	}
}

static void zero_value(struct obuf *b, const struct sql_layout *l, enum sql_kind k)
{
	switch (k) {
	case SK_MAC:
		obuf_puts(b, "'0:0:0:0:0:0'");
		break;
	case SK_ADDR:
		if (l->num_hosts && l->d == SQL_MYSQL)
			obuf_puts(b, "INET6_ATON('0.0.0.0')");
		else if (l->num_hosts && l->d == SQL_SQLITE)
			obuf_puts(b, "0");
		else
			obuf_puts(b, "'0.0.0.0'");
		break;
	case SK_PROTO:
		obuf_puts(b, l->d == SQL_PGSQL ? "0" : "'ip'");
		break;
	case SK_TEXT: /* class_id: what pmacct writes for an unclassified row */
		obuf_puts(b, "'unknown'");
		break;
	case SK_INT:
		obuf_puts(b, "0");
		break;
	}
}

/* The literal of column c for entry e. */
static void value(struct obuf *b, const struct sql_layout *l, const struct keyspec *ks,
		  const struct sql_col *c, const struct agg_entry *e)
{
	if (c->field < 0) {
		zero_value(b, l, c->kind);
		return;
	}
	const struct keyspec_field *f = &ks->f[c->field];
	const uint8_t *raw = keyspec_value(f, e->key, &e->c);
	struct prim_val v;
	f->p->render(raw, f, &ks->opts, &v);
	if (c->kind == SK_PROTO && l->d == SQL_PGSQL) {
		obuf_printf(b, "%u", (unsigned)raw[0]);
		return;
	}
	switch (v.kind) {
	case PV_UINT:
		obuf_printf(b, "%llu", (unsigned long long)v.u);
		return;
	case PV_ADDR:
		if (!v.addr[0]) {
			zero_value(b, l, SK_ADDR);
		} else if (l->num_hosts && l->d == SQL_MYSQL) {
			obuf_puts(b, "INET6_ATON(");
			sql_quote(b, l->d, v.s);
			obuf_putc(b, ')');
		} else if (l->num_hosts && l->d == SQL_SQLITE && v.addr[0] == 4) {
			obuf_printf(b, "%lu",
				    (unsigned long)((uint32_t)v.addr[1] << 24 |
						    (uint32_t)v.addr[2] << 16 |
						    (uint32_t)v.addr[3] << 8 | v.addr[4]));
		} else {
			sql_quote(b, l->d, v.s);
		}
		return;
	case PV_NULL:
		zero_value(b, l, c->kind);
		return;
	default:
		/* an integer column rendered as text (tcp flags): bare, so it stays an integer */
		if (c->kind == SK_INT && strspn(v.s, "0123456789") == strlen(v.s))
			obuf_puts(b, v.s[0] ? v.s : "0");
		else
			sql_quote(b, l->d, v.s);
		return;
	}
}

/* The flows column counts flows only when `flows` is aggregated (0 otherwise, as pmacct). */
static uint64_t flows_of(const struct keyspec *ks, const struct agg_entry *e)
{
	return ks->want_flows ? e->c.flows : 0;
}

static int accumulated(const struct keyspec *ks, const struct sql_col *c)
{
	return c->field >= 0 && ks->f[c->field].p->accumulate;
}

int sql_build_update(struct obuf *b, const struct sql_layout *l, const struct keyspec *ks,
		     const char *table, const struct agg_entry *e, const struct sql_stamps *st)
{
	obuf_printf(b, "UPDATE %s SET packets=packets+%llu, bytes=bytes+%llu", table,
		    (unsigned long long)e->c.packets, (unsigned long long)e->c.bytes);
	if (l->flows)
		obuf_printf(b, ", flows=flows+%llu", (unsigned long long)flows_of(ks, e));
	for (unsigned i = 0; i < l->ncol; i++)
		if (accumulated(ks, &l->col[i])) {
			obuf_printf(b, ", %s=%s|", l->col[i].name, l->col[i].name);
			value(b, l, ks, &l->col[i], e);
		}
	obuf_puts(b, ", stamp_updated=");
	sql_time_literal(b, st->updated, l->utc);
	const char *sep = " WHERE ";
	for (unsigned i = 0; i < l->ncol; i++) {
		if (accumulated(ks, &l->col[i]))
			continue;
		obuf_printf(b, "%s%s=", sep, l->col[i].name);
		value(b, l, ks, &l->col[i], e);
		sep = " AND ";
	}
	if (l->history) {
		obuf_printf(b, "%sstamp_inserted=", sep);
		sql_time_literal(b, st->inserted, l->utc);
	}
	return obuf_status(b);
}

static void column_list(struct obuf *b, const struct sql_layout *l)
{
	obuf_putc(b, '(');
	for (unsigned i = 0; i < l->ncol; i++)
		obuf_printf(b, "%s, ", l->col[i].name);
	obuf_puts(b, "packets, bytes, ");
	if (l->flows)
		obuf_puts(b, "flows, ");
	obuf_puts(b, "stamp_inserted, stamp_updated)");
}

int sql_build_insert_head(struct obuf *b, const struct sql_layout *l, const char *table)
{
	obuf_printf(b, "INSERT INTO %s ", table);
	column_list(b, l);
	obuf_puts(b, " VALUES ");
	return obuf_status(b);
}

int sql_build_values(struct obuf *b, const struct sql_layout *l, const struct keyspec *ks,
		     const struct agg_entry *e, const struct sql_stamps *st)
{
	obuf_putc(b, '(');
	for (unsigned i = 0; i < l->ncol; i++) {
		value(b, l, ks, &l->col[i], e);
		obuf_puts(b, ", ");
	}
	obuf_printf(b, "%llu, %llu, ", (unsigned long long)e->c.packets,
		    (unsigned long long)e->c.bytes);
	if (l->flows)
		obuf_printf(b, "%llu, ", (unsigned long long)flows_of(ks, e));
	sql_time_literal(b, st->inserted, l->utc);
	obuf_puts(b, ", ");
	sql_time_literal(b, st->updated, l->utc);
	obuf_putc(b, ')');
	return obuf_status(b);
}

int sql_build_copy_head(struct obuf *b, const struct sql_layout *l, const char *table)
{
	obuf_printf(b, "COPY %s ", table);
	column_list(b, l);
	obuf_puts(b, " FROM STDIN");
	return obuf_status(b);
}

/* COPY text format: tab separated, literals without quotes, \ escaped. */
int sql_build_copy_row(struct obuf *b, const struct sql_layout *l, const struct keyspec *ks,
		       const struct agg_entry *e, const struct sql_stamps *st)
{
	struct obuf one;
	obuf_init(&one, 0);
	int rc = sql_build_values(&one, l, ks, e, st);
	/* reuse the literals: strip the parentheses, quotes and ", " separators */
	const char *p = one.data + 1, *end = one.data + one.len - 1;
	int inq = 0;
	for (; rc == 0 && p < end; p++) {
		if (*p == '\'') {
			if (inq && p + 1 < end && p[1] == '\'') {
				obuf_putc(b, '\'');
				p++;
			} else {
				inq = !inq;
			}
		} else if (!inq && *p == ',' && p + 1 < end && p[1] == ' ') {
			obuf_putc(b, '\t');
			p++;
		} else if (*p == '\\' || *p == '\t' || *p == '\n') {
			obuf_printf(b, "\\%c", *p == '\t' ? 't' : *p == '\n' ? 'n' : '\\');
		} else {
			obuf_putc(b, *p);
		}
	}
	obuf_putc(b, '\n');
	obuf_free(&one);
	return rc ? rc : obuf_status(b);
}

int sql_template_per_entry(const char *tmpl)
{
	return strchr(tmpl, '$') != NULL;
}

/* The rendered text of a primitive of the entry, or def when not aggregated. */
static void var_text(char *out, size_t len, const struct keyspec *ks, const struct agg_entry *e,
		     const char *prim, const char *def)
{
	for (unsigned i = 0; e && i < ks->n; i++)
		if (!ks->f[i].custom && strcmp(ks->f[i].p->name, prim) == 0) {
			struct prim_val v;
			ks->f[i].p->render(keyspec_value(&ks->f[i], e->key, &e->c), &ks->f[i],
					   &ks->opts, &v);
			snprintf(out, len, "%s", v.s[0] ? v.s : def);
			return;
		}
	snprintf(out, len, "%s", def);
}

int sql_expand(char *out, size_t outlen, const char *tmpl, time_t t, int utc,
	       const struct keyspec *ks, const struct agg_entry *e)
{
	static const struct {
		const char *var, *prim, *def;
	} vars[] = {
	    {"$peer_src_ip", "peer_src_ip", "0.0.0.0"},
	    {"$peer_dst_ip", "peer_dst_ip", "0.0.0.0"},
	    {"$tag2", "tag2", "0"},
	    {"$tag", "tag", "0"},
	};
	char tmp[8192];
	struct tm tm;
	if (utc)
		gmtime_r(&t, &tm);
	else
		localtime_r(&t, &tm);
	size_t n = strftime(tmp, sizeof tmp, tmpl, &tm);
	if (n == 0)
		return -1;
	size_t o = 0;
	for (const char *p = tmp; *p;) {
		size_t i;
		for (i = 0; i < sizeof vars / sizeof vars[0]; i++)
			if (strncmp(p, vars[i].var, strlen(vars[i].var)) == 0)
				break;
		if (i < sizeof vars / sizeof vars[0]) {
			char v[PRIM_TEXT_MAX];
			var_text(v, sizeof v, ks, e, vars[i].prim, vars[i].def);
			/* a table name: dots and colons of addresses become '_' */
			for (char *q = v; *q; q++)
				if (*q == '.' || *q == ':')
					*q = '_';
			size_t vl = strlen(v);
			if (o + vl >= outlen)
				return -1;
			memcpy(out + o, v, vl);
			o += vl;
			p += strlen(vars[i].var);
			continue;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = *p++;
	}
	out[o] = '\0';
	return o ? 0 : -1;
}
