/*
 * SQL statements from aggregated entries: the column layout of a table
 * (pmacct's sql_table_version column sets, or the aggregate's own columns
 * with sql_optimize_clauses), typed literals per dialect, and the UPDATE /
 * INSERT / multi-values INSERT / COPY text of one entry.  Pure: no
 * connection, so the statements are unit-tested as text.
 *
 * Values are written as literals, never as text the database must guess:
 * integers bare, addresses and names quoted and escaped, time stamps as
 * 'YYYY-MM-DD HH:MM:SS' (local time, UTC with timestamps_utc), and for
 * sql_num_hosts on MySQL INET6_ATON('addr') (IPv4 and IPv6); on SQLite an
 * IPv4 address as its 32-bit number (IPv6 stays text: SQLite has no
 * 128-bit integer); PostgreSQL keeps its inet type.
 */
#ifndef NETACCT_OUT_SQL_BUILD_H
#define NETACCT_OUT_SQL_BUILD_H

#include <stdint.h>
#include <time.h>

#include "agg/primitive.h"
#include "agg/table.h"
#include "out/buf.h"

enum sql_dialect { SQL_SQLITE, SQL_PGSQL, SQL_MYSQL };

/* How a column's value is written. */
enum sql_kind {
	SK_INT,	  /* integer */
	SK_ADDR,  /* IP address or prefix (sql_num_hosts applies) */
	SK_MAC,	  /* MAC address */
	SK_PROTO, /* IP protocol: its name, a number on PostgreSQL */
	SK_TEXT,  /* any other rendered value, quoted */
};

#define SQL_COLS_MAX (KEYSPEC_MAX + 8)

struct sql_col {
	char name[64];
	enum sql_kind kind;
	int field; /* keyspec field index; -1: not aggregated, written as its zero value */
};

struct sql_layout {
	enum sql_dialect d;
	int version;   /* sql_table_version */
	int optimize;  /* sql_optimize_clauses */
	int num_hosts; /* sql_num_hosts */
	int utc;       /* timestamps_utc */
	int history;   /* stamp_inserted is the entry's time bin (key field 0) */
	int flows;     /* the table has a flows column */
	struct sql_col col[SQL_COLS_MAX];
	unsigned ncol; /* key columns only: counters and stamps are implied */
};

/*
 * The key columns of a table for ks: with optimize, one per aggregated
 * primitive; else the version's whole set (pmacct v1..v9 for the dialect),
 * each either aggregated or written as its zero value.  -1 + err when a
 * primitive has no column in the version (then sql_optimize_clauses is the
 * way) or the version is unknown.
 */
int sql_layout_build(struct sql_layout *l, const struct keyspec *ks, enum sql_dialect d,
		     int version, int optimize, int num_hosts, char *err, size_t errlen);

/* The default table name of a version: "acct" (v1) or "acct_v<N>". */
const char *sql_default_table(int version);

/* 'YYYY-MM-DD HH:MM:SS' for t (quoted). */
void sql_time_literal(struct obuf *b, time_t t, int utc);
/* A quoted, escaped string literal. */
void sql_quote(struct obuf *b, enum sql_dialect d, const char *s);

/*
 * The time stamps of an entry: stamp_inserted (its bin with history, else
 * `now`: the first write of a row) and stamp_updated (`now`).
 */
struct sql_stamps {
	time_t inserted, updated;
};
void sql_entry_stamps(const struct sql_layout *l, const struct keyspec *ks,
		      const struct agg_entry *e, time_t now, struct sql_stamps *st);

/*
 * UPDATE <table> SET counters += the entry's, stamp_updated WHERE every key
 * column (and stamp_inserted with history) equals the entry's.
 */
int sql_build_update(struct obuf *b, const struct sql_layout *l, const struct keyspec *ks,
		     const char *table, const struct agg_entry *e, const struct sql_stamps *st);
/* "INSERT INTO <table> (<columns>) VALUES " */
int sql_build_insert_head(struct obuf *b, const struct sql_layout *l, const char *table);
/* "(<values>)" of one entry, in sql_build_insert_head's column order. */
int sql_build_values(struct obuf *b, const struct sql_layout *l, const struct keyspec *ks,
		     const struct agg_entry *e, const struct sql_stamps *st);
/* PostgreSQL COPY: "COPY <table> (<columns>) FROM STDIN" and one text-format row. */
int sql_build_copy_head(struct obuf *b, const struct sql_layout *l, const char *table);
int sql_build_copy_row(struct obuf *b, const struct sql_layout *l, const struct keyspec *ks,
		       const struct agg_entry *e, const struct sql_stamps *st);

/*
 * Expand a table name (or a schema text) for an entry: strftime(3)
 * variables at time t, then $peer_src_ip, $peer_dst_ip, $tag and $tag2 from
 * the entry's key (0 / 0.0.0.0 when not aggregated).  -1 when the result
 * is empty or does not fit.
 */
int sql_expand(char *out, size_t outlen, const char *tmpl, time_t t, int utc,
	       const struct keyspec *ks, const struct agg_entry *e);
/* Whether a template has per-entry ($) variables. */
int sql_template_per_entry(const char *tmpl);

#endif
