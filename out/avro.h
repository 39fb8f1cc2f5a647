/*
 * The Avro encodings of the broker outputs (kafka_output, amqp_output: avro,
 * avro_json), with libavro.  One more encoder behind struct enc_ops: rows
 * written with enc_row() become one Avro record each, binary or in Avro's
 * JSON encoding.
 *
 * The schema is derived from the rows themselves: at set-up one row of the
 * aggregate (a zeroed entry) goes through enc_row(), and each field it
 * writes becomes a field of the record "acct_data", named as in the JSON
 * output, typed by the kind of value its primitive renders: long for
 * integers, string for text and addresses, double for coordinates, an array
 * of strings for lists, a map of strings for maps, ["null", "string"] for a
 * value that can be null.  So the Avro record always carries the same
 * fields, in the same order, as the JSON object of the same row.
 *
 * Built without libavro, avro_enc_init() fails saying so.
 */
#ifndef NETACCT_OUT_AVRO_H
#define NETACCT_OUT_AVRO_H

#include <stddef.h>

#include "conf/config.h"
#include "out/buf.h"
#include "out/encode.h"

/* avro_schema_file: plugin key of the kafka and amqp types. */
extern const struct conf_key_table avro_keys;

/* Whether this build has libavro. */
int avro_available(void);

/*
 * Set e up as the Avro encoder of the rows of s (s must outlive e): binary
 * Avro, or Avro's JSON encoding when json.  Each row's record is appended
 * to the row buffer whole by end_row().  Returns 0, or -1 with a reason
 * (no libavro, a field name Avro does not allow, out of memory).
 */
int avro_enc_init(struct encoder *e, const struct enc_schema *s, int json, char *err,
		  size_t errlen);

/* Free what avro_enc_init() allocated; e may be any encoder (nothing then). */
void avro_enc_free(struct encoder *e);

/* The schema's JSON text into b (reset first).  0, or -1. */
int avro_enc_schema_json(const struct encoder *e, struct obuf *b);

/*
 * Write the schema's JSON text to path (through a temporary file renamed
 * over it, so a reader never sees half a schema).  0, or -1 with a reason.
 */
int avro_enc_write_schema(const struct encoder *e, const char *path, char *err, size_t errlen);

#endif
