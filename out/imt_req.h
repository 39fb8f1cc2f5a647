/*
 * A memory-table query (out/imt_proto.h) as a struct: the client builds
 * one from its flags and formats it, the server parses it.  Both sides use
 * this module so they never disagree on the syntax.
 */
#ifndef NETACCT_OUT_IMT_REQ_H
#define NETACCT_OUT_IMT_REQ_H

#include <stddef.h>

#include "out/buf.h"
#include "out/imt_proto.h"

enum imt_op {
	IMT_OP_SHOW,
	IMT_OP_MATCH,
	IMT_OP_COUNTERS,
	IMT_OP_ERASE,
	IMT_OP_STATUS,
	IMT_OP_SINCE
};
enum imt_counter { IMT_C_BYTES, IMT_C_PACKETS, IMT_C_FLOWS, IMT_C_ALL };

struct imt_req {
	enum imt_op op;
	char format[16]; /* json | csv | formatted */
	char sep[16];
	char *fields[IMT_FIELDS_MAX]; /* -c, each malloc'ed */
	unsigned nfields;
	char **match; /* -M / -N requests, each the raw "v1,v2" text, malloc'ed */
	unsigned nmatch;
	enum imt_counter counter; /* -n */
	int sum;		  /* -S */
	enum imt_counter top_by;  /* -T (not IMT_C_ALL) */
	unsigned top_n;		  /* 0: no top-N */
	int reset;		  /* -r */
};

/* An empty request: op show, formatted, counter bytes. */
void imt_req_init(struct imt_req *r);
void imt_req_free(struct imt_req *r);

/* Setters used by the client (and the parser).  -1 + err on a bad value. */
int imt_req_set_fields(struct imt_req *r, const char *csv, char *err, size_t errlen);
int imt_req_add_match(struct imt_req *r, const char *values, char *err, size_t errlen);
/* "bytes", "packets", "flows" (and "all" when all_ok) */
int imt_counter_parse(const char *s, int all_ok, enum imt_counter *c);
const char *imt_counter_name(enum imt_counter c);
const char *imt_op_name(enum imt_op op);

/* The request's wire text, ending with the empty line; -1 if out of memory. */
int imt_req_format(const struct imt_req *r, struct obuf *b);

/*
 * Parse a request's wire text (the bytes up to and including the empty
 * line).  Returns 0, or -1 with the reason in err (r then holds what was
 * parsed and must still be freed).
 */
int imt_req_parse(struct imt_req *r, const char *text, size_t len, char *err, size_t errlen);

#endif
