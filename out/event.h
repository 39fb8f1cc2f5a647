/*
 * Event records: what an event-stream sink receives (sFlow counter samples
 * now, BGP/BMP message logs later).  A worker builds one (a type and a list
 * of name + typed value), submits it with writer_submit_event() and forgets
 * it; the output writes it on its writer thread through the same encoders
 * as table rows.
 *
 * An event is one allocation with its text inside, so handing it to
 * another thread is passing a pointer.  Field names and the type must be
 * static storage (string literals or a module's tables).
 */
#ifndef NETACCT_OUT_EVENT_H
#define NETACCT_OUT_EVENT_H

#include <stdint.h>

#include "agg/flow.h"
#include "agg/primitive.h"

#define OUT_EVENT_FIELDS_MAX 64
#define OUT_EVENT_TEXT_MAX   4096

struct out_event_field {
	const char *name;
	enum prim_kind kind; /* PV_UINT, PV_STR, PV_ADDR or PV_NULL */
	uint64_t u;
	uint8_t addr[17];
	uint16_t off, len; /* PV_STR text, in the event's arena */
};

struct out_event {
	const char *type; /* "event_type" of the record */
	unsigned n;
	int truncated; /* a field did not fit and was left out */
	unsigned text_len;
	struct out_event_field f[OUT_EVENT_FIELDS_MAX];
	char text[OUT_EVENT_TEXT_MAX];
};

/* A new empty event (malloc'd), NULL when out of memory. */
struct out_event *out_event_new(const char *type);
void out_event_free(struct out_event *ev);

/*
 * Add a field.  Returns -1 (and sets ev->truncated) when the event is full:
 * the field is left out, the event stays valid.
 */
int out_event_add_uint(struct out_event *ev, const char *name, uint64_t u);
int out_event_add_str(struct out_event *ev, const char *name, const char *s);
int out_event_add_addr(struct out_event *ev, const char *name, const struct nt_addr *a);
int out_event_add_null(struct out_event *ev, const char *name);

/* Field i as a typed value, for the encoders. */
void out_event_value(const struct out_event *ev, unsigned i, struct prim_val *v);

#endif
