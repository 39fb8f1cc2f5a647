/*
 * A broker message as the spool keeps it: where it goes (a Kafka topic or an
 * AMQP routing key), its key (Kafka's partition key; empty for AMQP) and its
 * payload, packed in one record:
 *   u16 destination length, destination, u16 key length, key, payload.
 */
#ifndef NETACCT_OUT_BMSG_H
#define NETACCT_OUT_BMSG_H

#include <stddef.h>
#include <stdint.h>

#include "out/buf.h"

#define BMSG_DEST_MAX 1024

struct bmsg {
	const char *dest; /* not NUL-terminated when unpacked: use dlen */
	size_t dlen;
	const void *key;
	size_t klen;
	const void *payload;
	size_t plen;
};

/* Pack m into b (reset first); -1 when a length does not fit or b ran out of memory. */
int bmsg_pack(struct obuf *b, const struct bmsg *m);

/* Unpack a record; the pointers point into r.  -1 when it is malformed. */
int bmsg_unpack(const uint8_t *r, size_t len, struct bmsg *m);

#endif
