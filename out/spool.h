/*
 * A bounded on-disk FIFO of messages: where a broker output keeps what it
 * could not deliver while the broker is down or slow, and replays it in order
 * once the broker is back, also after a restart of the daemon.
 *
 * Layout: a folder of segment files `seg-<20-digit number>.spool`, written in
 * order, each a sequence of records `u32 length, u32 checksum, bytes` (big
 * endian), and a `head` file naming the segment and offset of the first
 * record not yet taken.  A record torn by a crash (short, or a checksum that
 * does not match) ends its segment: what follows is not trusted.  Segments
 * wholly taken are deleted.  One thread uses a spool at a time (the output's
 * writer thread); there is no locking.
 */
#ifndef NETACCT_OUT_SPOOL_H
#define NETACCT_OUT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;

#define SPOOL_SEGMENT_BYTES (16u << 20)

/*
 * Open (creating the folder if needed) the spool in dir, holding at most
 * max_bytes of records in segments of segment_bytes (0: SPOOL_SEGMENT_BYTES);
 * what an earlier run left is found and will be replayed first.  Returns 0,
 * or -1 with a reason.
 */
int spool_open(struct spool **s, const char *dir, uint64_t max_bytes, uint64_t segment_bytes,
	       char *err, size_t errlen);

/* Flush the head position and close.  NULL is fine. */
void spool_close(struct spool *s);

enum spool_push_result {
	SPOOL_OK = 0,
	SPOOL_FULL = -1,  /* max_bytes reached: the record was not stored (count it as dropped) */
	SPOOL_IOERR = -2, /* the disk refused it: not stored */
};

/* Append one record at the tail. */
enum spool_push_result spool_push(struct spool *s, const void *msg, size_t len);

/*
 * The oldest record not yet taken: 1 with *msg and *len (valid until the next
 * call on s), 0 when the spool is empty, -1 on a read error (logged by the
 * caller; the record is skipped by spool_take()).
 */
int spool_peek(struct spool *s, const uint8_t **msg, size_t *len);

/* The record spool_peek() returned is delivered: forget it. */
void spool_take(struct spool *s);

/*
 * Delivery in batches: spool_mark() remembers the head; records then taken
 * can be given back with spool_rewind() (the batch was not acknowledged), so
 * they are read again, in their place, before anything newer.  spool_sync()
 * commits what was taken and clears the mark; spool_rewind() without a mark
 * returns -1.
 */
void spool_mark(struct spool *s);
int spool_rewind(struct spool *s);

/* Make what was pushed durable, record the head position, delete taken segments. */
int spool_sync(struct spool *s);

uint64_t spool_bytes(const struct spool *s);   /* bytes of records not taken */
uint64_t spool_records(const struct spool *s); /* records not taken */

#endif
