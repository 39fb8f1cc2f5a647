/*
 * What the broker outputs (kafka, amqp, redis) share: the on-disk spool of
 * what the broker did not take, with its folder, limits, counters and log
 * lines, and the backoff between attempts to reach a broker that went away.
 * Everything runs on the output's writer thread.
 */
#ifndef NETACCT_OUT_BROKER_H
#define NETACCT_OUT_BROKER_H

#include <stdint.h>
#include <time.h>

#include "out/bmsg.h"
#include "out/encode.h"
#include "out/buf.h"
#include "out/output.h"
#include "out/spool.h"

#define BROKER_PROBE_MAX_S 30 /* longest wait between attempts */

struct broker {
	struct out_instance *oi;
	struct spool *spool;  /* NULL: no spool (its size is 0): what is not taken is dropped */
	const char *what;     /* "message", "command": for the log */
	const char *size_key; /* e.g. "kafka_spool_max_size", named when the spool is full */
	struct obuf rec;
	time_t next_probe; /* 0: no attempt scheduled */
	int probe_wait;
	uint64_t spooled, dropped, spool_errors, reconnects;
};

/*
 * The spool in <dir>/<plugin name>-<type> (folders created), holding at most
 * max_mib MiB; 0 MiB: no spool.  What an earlier run left is logged and will
 * be replayed first.  Returns 0, or -1 with a reason naming <type>_spool_dir.
 */
int broker_open(struct broker *b, struct out_instance *oi, const char *type, const char *dir,
		int max_mib, const char *what, const char *size_key, char *err, size_t errlen);

/* Log what is left for the next start and close the spool. */
void broker_close(struct broker *b);

/* Keep m for later, behind what is already kept; counted and logged when it cannot be. */
void broker_keep(struct broker *b, const struct bmsg *m);

/*
 * The message encoder, one message per row: format is the output's *_output
 * key (NULL: json): json (one JSON object, no newline), avro (one binary
 * Avro record) or avro_json (the record in Avro's JSON encoding); the Avro
 * ones write their schema to avro_schema_file when it is set (out/avro.h).
 * Returns -1 with a reason naming key (or avro_schema_file).
 * broker_encoder_free() releases it.
 */
int broker_encoder(struct encoder *enc, struct enc_schema *schema, const struct out_instance *oi,
		   const char *format, const char *key, char *err, size_t errlen);
void broker_encoder_free(struct encoder *enc);

/*
 * A purge_init / purge_close marker message (the *_markers keys) into m:
 * JSON whatever the rows' encoding, as pmacct sends them.
 */
void broker_marker(struct obuf *m, const struct out_instance *oi, const char *event,
		   uint64_t entries);

/* Records waiting in the spool. */
uint64_t broker_backlog(const struct broker *b);

/*
 * For outputs that confirm in batches (amqp, redis).  A replay sends a batch
 * of spooled records and leaves them in the spool until confirm() says the
 * broker took all n of them; otherwise the batch is given back, in its place.
 */
struct broker_link {
	void *arg;
	/* 0 sent, 1 not sendable (counted as a spool error, skipped), -1 connection lost */
	int (*send)(void *arg, const struct bmsg *m);
	/* 0 when the n sent since the last call were all taken */
	int (*confirm)(void *arg, unsigned n);
	/* the connection: 0 made, -1 with a reason */
	int (*connect)(void *arg, char *err, size_t errlen);
	const char *peer; /* "host:port", for the log */
	unsigned batch;
};

/*
 * The service hook of such an output, every call: while away, try to reach
 * the broker when the backoff says so (logging the change); once reached,
 * replay the spool in confirmed batches; make the spool durable.  connected
 * says whether the output holds a connection now; the replay stops at the
 * first batch not confirmed.  Returns the records replayed.
 */
uint64_t broker_service(struct broker *b, const struct broker_link *l, int (*connected)(void *arg));

/* The broker went away: schedule the first attempt (1 s), unless one is scheduled. */
void broker_lost(struct broker *b);
/* Whether an attempt to reach it is due now. */
int broker_retry_due(const struct broker *b);
/* The attempt failed: wait twice as long (up to BROKER_PROBE_MAX_S). */
void broker_retry_failed(struct broker *b);
/* Reached: no attempt scheduled any more. */
void broker_reached(struct broker *b);

#endif
