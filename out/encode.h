/*
 * Encoders shared by every output: JSON, CSV and the fixed-width
 * "formatted" table.  They write typed values (struct prim_val) into a
 * byte buffer (struct obuf); what happens to the bytes (a file, a broker
 * message, an SQL statement) is the output's business.
 *
 * An encoder is a small vtable, so Avro (or anything else) is one more
 * implementation of enc_ops: a header, then rows of fields.  Table rows
 * (one aggregated entry through the key spec) and event records go
 * through the same four calls.
 */
#ifndef NETACCT_OUT_ENCODE_H
#define NETACCT_OUT_ENCODE_H

#include "agg/primitive.h"
#include "agg/table.h"
#include "out/buf.h"
#include "out/event.h"

/* A column: its JSON key, its CSV/formatted header and its formatted width. */
struct enc_col {
	const char *json;
	const char *csv;
	unsigned width; /* 0: as wide as the header plus two spaces */
};

struct encoder;

struct enc_ops {
	const char *name; /* "json", "csv", "formatted" */
	int event_type;	  /* rows start with an "event_type" field */
	int (*header)(struct encoder *e, struct obuf *b, const struct enc_col *cols, unsigned n);
	int (*begin_row)(struct encoder *e, struct obuf *b);
	int (*field)(struct encoder *e, struct obuf *b, const struct enc_col *c,
		     const struct prim_val *v);
	int (*end_row)(struct encoder *e, struct obuf *b);
};

struct encoder {
	const struct enc_ops *ops;
	const char *sep; /* CSV separator */
	int newline;	 /* end each row with '\n' (files); brokers send rows bare */
	/* per-row state */
	unsigned nfield;
	size_t pad; /* formatted: spaces still owed to the previous column */
	/*
	 * Set by enc_row() for the next field() only: the column's JSON name
	 * needs no escaping and is this long (0: escape it).  field() clears it.
	 */
	unsigned json_len;
	void *priv; /* an implementation's own state (Avro: out/avro.h) */
};

/*
 * Set up an encoder by format name ("json", "csv", "formatted"; NULL is
 * formatted).  sep is CSV's separator (NULL: ","); the string must outlive
 * the encoder.  Returns -1 for an unknown format.
 */
int enc_init(struct encoder *e, const char *format, const char *sep);

/* The columns of a table row, derived once from a key spec. */
struct enc_schema {
	const struct keyspec *ks;
	unsigned n;
	int no_counters; /* event variants: no packets, flows, bytes (enc_schema_no_counters) */
	struct enc_col col[KEYSPEC_MAX + 4]; /* fields, stamp_updated, packets, flows, bytes */
	const char *writer_id; /* JSON rows end with "writer_id" (writer_id_string); NULL: none */
	unsigned json_len[KEYSPEC_MAX + 4]; /* see struct encoder.json_len */
};
void enc_schema_init(struct enc_schema *s, const struct keyspec *ks);
/* Drop the counter columns (print_output event_csv / event_formatted). */
void enc_schema_no_counters(struct enc_schema *s);

/* Header line (CSV, formatted); JSON writes nothing. */
int enc_header(struct encoder *e, struct obuf *b, const struct enc_schema *s);
/* One aggregated entry; event_type NULL leaves the field out. */
int enc_row(struct encoder *e, struct obuf *b, const struct enc_schema *s,
	    const struct agg_entry *ent, const char *event_type);

/* One event record; enc_event_header writes its field names (CSV, formatted). */
int enc_event_header(struct encoder *e, struct obuf *b, const struct out_event *ev);
int enc_event(struct encoder *e, struct obuf *b, const struct out_event *ev);

extern const struct enc_ops enc_json_ops, enc_csv_ops, enc_formatted_ops;

#endif
