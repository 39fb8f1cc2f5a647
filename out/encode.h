/*
 * Row encoders shared by every output: JSON (jansson), CSV and the
 * fixed-width "formatted" table.  They render one aggregated entry through
 * the key spec, so a new primitive needs no change here.
 */
#ifndef NETACCT_OUT_ENCODE_H
#define NETACCT_OUT_ENCODE_H

#include <stdio.h>

#include "agg/primitive.h"
#include "agg/table.h"

/* One JSON object (no trailing newline); malloc'd, NULL on failure. */
char *enc_json_row(const struct keyspec *ks, const struct agg_entry *e, const char *event_type);

int enc_csv_header(FILE *fp, const struct keyspec *ks, const char *sep);
int enc_csv_row(FILE *fp, const struct keyspec *ks, const struct agg_entry *e, const char *sep);

int enc_formatted_header(FILE *fp, const struct keyspec *ks);
int enc_formatted_row(FILE *fp, const struct keyspec *ks, const struct agg_entry *e);

#endif
