/*
 * print_output_file / print_latest_file names: a template parsed once at
 * start into text with strftime(3) variables (expanded once per purge, for
 * the interval start) and row variables ($peer_src_ip, $tag, $tag2: a row's
 * value of the key field of that primitive name, so a primitive works as
 * soon as it exists).  $post_tag/$post_tag2 (read through the key's row),
 * $ref and $hst are constants; $tzone is the zone as +hh:mm or Z.
 */
#ifndef NETACCT_OUT_FILENAME_H
#define NETACCT_OUT_FILENAME_H

#include <stddef.h>
#include <time.h>

#include "agg/table.h"
#include "out/output.h"

enum fname_kind {
	FN_TIME,  /* text with strftime variables: expanded once per purge */
	FN_FIELD, /* a row's value of a key field */
	FN_NULL,  /* a row variable whose primitive is not aggregated: expands to nothing */
};

struct fname_tok {
	enum fname_kind kind;
	char *text;	/* FN_TIME */
	unsigned field; /* FN_FIELD: index in the key spec */
	char *expanded; /* FN_TIME, per purge */
};

#define FNAME_TOKS 64

struct fname {
	struct fname_tok t[FNAME_TOKS];
	unsigned n;
	int has_time, has_row;
};

/*
 * Parse s for instance oi; allow_time 0 refuses time variables.  Returns 0,
 * or -1 with the reason in why (f is then to be freed all the same).
 */
int fname_parse(struct fname *f, const char *s, const struct out_instance *oi, int allow_time,
		char *why, size_t whylen);

/* Expand the time parts for the purge of the interval starting at `when`; -1: out of memory. */
int fname_begin(struct fname *f, time_t when, int utc);

/*
 * The name for row e (NULL when f->has_row is 0) into out.  Returns 0, or -1
 * when it is empty or does not fit.  A row value's '/' becomes '_'.
 */
int fname_expand(const struct fname *f, const struct out_instance *oi, const struct agg_entry *e,
		 char *out, size_t len);

void fname_free(struct fname *f);

#endif
