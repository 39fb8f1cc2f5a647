/*
 * The tee_receivers map: pools of receivers a tee output replicates datagrams
 * to.  pmacct's syntax, one pool per line:
 *
 *   id=1  ip=192.0.2.1:2100,[2001:db8::1]:2100  balance-alg=rr  tag=100,110-120,-150 src_port=20000
 *
 * `id` (a positive integer, unique) and `ip` (addresses or host names with a
 * port; IPv6 in brackets) are mandatory.  `balance-alg` sends each datagram
 * to one receiver of the pool instead of all of them: `rr` (round robin),
 * `hash-agent` / `hash-crc32` (by exporter address: one exporter always
 * reaches the same receiver), `hash-tag` (by the pre_tag_map tag).  `tag`
 * limits the pool to datagrams whose tag is in the list (`-N` excludes N).
 * `src_port` is the UDP source port in non-transparent mode.
 * `kafka_broker=host:port kafka_topic=name` (instead of `ip`) makes a pool
 * that sends each datagram, unchanged, as a Kafka message.  The map is
 * parsed on the main thread and read by workers through the map registry;
 * a reload builds a new one.
 */
#ifndef NETACCT_OUT_TEE_MAP_H
#define NETACCT_OUT_TEE_MAP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "agg/maps.h"

#define TEE_MAX_POOLS	  128 /* pmacct's tee_max_receiver_pools default */
#define TEE_MAX_RECEIVERS 32  /* per pool: pmacct's tee_max_receivers default */
#define TEE_MAX_TAGS	  32  /* tag items per pool */

enum tee_balance {
	TEE_BAL_NONE, /* replicate to every receiver */
	TEE_BAL_RR,
	TEE_BAL_HASH_AGENT,
	TEE_BAL_HASH_TAG,
};

struct tee_receiver {
	struct sockaddr_storage sa;
	socklen_t salen;
	char text[64]; /* "address:port" for logs and stats */
};

struct tee_tag_item {
	uint64_t lo, hi;
	int negated;
};

#define TEE_KAFKA_NAME_MAX 256

struct tee_pool {
	unsigned id;
	/* a Kafka pool (kafka_broker= and kafka_topic=) has no receivers: each datagram is a
	 * message to the topic */
	char kafka_broker[TEE_KAFKA_NAME_MAX];
	char kafka_topic[TEE_KAFKA_NAME_MAX];
	enum tee_balance balance;
	uint16_t src_port; /* 0: any */
	unsigned nrecv;
	struct tee_receiver recv[TEE_MAX_RECEIVERS];
	unsigned ntags;
	struct tee_tag_item tags[TEE_MAX_TAGS];
};

struct tee_map {
	unsigned npools;
	struct tee_pool pool[]; /* npools entries */
};

/* map_parse_fn: parse the file at path into a struct tee_map. */
int tee_map_parse(const char *path, void **out, char *err, size_t errlen);
/* Same, from text (tests); name appears in messages. */
int tee_map_parse_text(const char *text, size_t len, const char *name, struct tee_map **out,
		       char *err, size_t errlen);
void tee_map_free(void *map);

/* For the map registry ("tee_receivers <path>: N entries loaded" counts pools). */
extern const struct map_type tee_map_type;

/* Whether a datagram tagged `tag` goes to pool p (a pool without tag= takes all). */
int tee_pool_takes_tag(const struct tee_pool *p, uint64_t tag);

/* Which receiver of a balancing pool gets a datagram: key is the rr counter, the agent hash or the
 * tag. */
static inline unsigned tee_pool_pick(const struct tee_pool *p, uint64_t key)
{
	return (unsigned)(key % p->nrecv);
}

#endif
