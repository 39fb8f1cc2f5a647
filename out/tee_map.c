#include "out/tee_map.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/mapline.h"
#include "out/endpoint.h"

struct build {
	struct tee_map *m;
	unsigned cap;
};

static const char *const tee_keys[] = {"id",	   "ip",	   "balance-alg", "tag",
				       "src_port", "kafka_broker", "kafka_topic", NULL};

static int parse_u64(const char *s, const char *end, uint64_t *out)
{
	char buf[32];
	size_t n = (size_t)(end - s);
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (buf[0] < '0' || buf[0] > '9')
		return -1;
	char *e;
	errno = 0;
	unsigned long long v = strtoull(buf, &e, 10);
	if (errno || *e)
		return -1;
	*out = v;
	return 0;
}

/* "host:port" or "[v6]:port" into r (out/endpoint.h; names are resolved). */
static int parse_receiver(const char *item, size_t n, struct tee_receiver *r, char *why,
			  size_t whylen)
{
	char buf[300], reason[400];
	if (n >= sizeof buf) {
		snprintf(why, whylen, "receiver too long");
		return -1;
	}
	memcpy(buf, item, n);
	buf[n] = 0;
	memset(r, 0, sizeof *r);
	if (endpoint_parse(buf, 0, &r->sa, &r->salen, reason, sizeof reason) < 0) {
		snprintf(why, whylen, "bad receiver %s", reason);
		return -1;
	}
	/* logs and stats name it by address, as it was resolved */
	char host[INET6_ADDRSTRLEN], port[8];
	if (getnameinfo((const struct sockaddr *)&r->sa, r->salen, host, sizeof host, port,
			sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(why, whylen, "bad receiver '%.64s': no numeric form", buf);
		return -1;
	}
	snprintf(r->text, sizeof r->text, r->sa.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host,
		 port);
	return 0;
}

/* "100,110-120,-150": plain values, ranges, and '-' for "not this". */
static int parse_tags(const char *v, struct tee_pool *p, char *why, size_t whylen)
{
	for (const char *s = v;;) {
		const char *e = strchr(s, ',');
		if (!e)
			e = s + strlen(s);
		struct tee_tag_item it = {0};
		const char *a = s;
		if (*a == '-') {
			it.negated = 1;
			a++;
		}
		const char *dash = memchr(a, '-', (size_t)(e - a));
		if (p->ntags == TEE_MAX_TAGS) {
			snprintf(why, whylen, "more than %d tag items", TEE_MAX_TAGS);
			return -1;
		}
		if (dash ? parse_u64(a, dash, &it.lo) < 0 || parse_u64(dash + 1, e, &it.hi) < 0
			 : parse_u64(a, e, &it.lo) < 0) {
			snprintf(why, whylen,
				 "bad tag list '%.64s' (want N, N-M or -N, comma separated)", v);
			return -1;
		}
		if (!dash)
			it.hi = it.lo;
		if (it.hi < it.lo) {
			snprintf(why, whylen, "bad tag range in '%.64s' (end before start)", v);
			return -1;
		}
		p->tags[p->ntags++] = it;
		if (!*e)
			break;
		s = e + 1;
	}
	return 0;
}

static int on_rule(void *arg, const struct mapline *l, char *why, size_t whylen)
{
	struct build *b = arg;
	const char *v;
	uint64_t x;

	if (mapline_check_keys(l, tee_keys, why, whylen) < 0)
		return -1;
	if (b->m->npools == b->cap) {
		snprintf(why, whylen, "more than %d pools", TEE_MAX_POOLS);
		return -1;
	}
	struct tee_pool *p = &b->m->pool[b->m->npools];
	memset(p, 0, sizeof *p);

	if (!(v = mapline_get(l, "id"))) {
		snprintf(why, whylen, "missing id");
		return -1;
	}
	if (parse_u64(v, v + strlen(v), &x) < 0 || x == 0 || x > UINT32_MAX) {
		snprintf(why, whylen, "bad id '%.64s' (a positive integer)", v);
		return -1;
	}
	p->id = (unsigned)x;
	for (unsigned i = 0; i < b->m->npools; i++)
		if (b->m->pool[i].id == p->id) {
			snprintf(why, whylen, "pool id %u defined twice", p->id);
			return -1;
		}

	const char *kb = mapline_get(l, "kafka_broker"), *kt = mapline_get(l, "kafka_topic");
	if (kb || kt) {
#ifndef HAVE_KAFKA
		snprintf(why, whylen,
			 "kafka_broker/kafka_topic pools need librdkafka, which this "
			 "build does not have");
		return -1;
#endif
		if (!kb || !kt) {
			snprintf(why, whylen,
				 "a Kafka pool needs both kafka_broker and kafka_topic");
			return -1;
		}
		if (mapline_get(l, "ip") || mapline_get(l, "balance-alg") ||
		    mapline_get(l, "src_port")) {
			snprintf(why, whylen,
				 "a Kafka pool takes no ip, balance-alg or src_port (pool %u)",
				 p->id);
			return -1;
		}
		if (strlen(kb) >= TEE_KAFKA_NAME_MAX || strlen(kt) >= TEE_KAFKA_NAME_MAX) {
			snprintf(why, whylen, "kafka_broker or kafka_topic too long");
			return -1;
		}
		snprintf(p->kafka_broker, sizeof p->kafka_broker, "%s", kb);
		snprintf(p->kafka_topic, sizeof p->kafka_topic, "%s", kt);
		if ((v = mapline_get(l, "tag")) && parse_tags(v, p, why, whylen) < 0)
			return -1;
		b->m->npools++;
		return 0;
	}
	if (!(v = mapline_get(l, "ip"))) {
		snprintf(why, whylen, "missing ip");
		return -1;
	}
	for (const char *s = v;;) {
		const char *e = s;
		/* commas inside [...] belong to no IPv6 address, but be exact anyway */
		int in_br = 0;
		while (*e && (in_br || *e != ',')) {
			in_br = *e == '[' ? 1 : *e == ']' ? 0 : in_br;
			e++;
		}
		if (p->nrecv == TEE_MAX_RECEIVERS) {
			snprintf(why, whylen, "more than %d receivers in pool %u",
				 TEE_MAX_RECEIVERS, p->id);
			return -1;
		}
		if (e == s) {
			snprintf(why, whylen, "empty receiver in ip list '%.64s'", v);
			return -1;
		}
		if (parse_receiver(s, (size_t)(e - s), &p->recv[p->nrecv], why, whylen) < 0)
			return -1;
		p->nrecv++;
		if (!*e)
			break;
		s = e + 1;
	}

	p->balance = TEE_BAL_NONE;
	if ((v = mapline_get(l, "balance-alg"))) {
		if (strcmp(v, "rr") == 0)
			p->balance = TEE_BAL_RR;
		else if (strcmp(v, "hash-agent") == 0 || strcmp(v, "hash-crc32") == 0)
			p->balance = TEE_BAL_HASH_AGENT;
		else if (strcmp(v, "hash-tag") == 0)
			p->balance = TEE_BAL_HASH_TAG;
		else {
			snprintf(why, whylen,
				 "bad balance-alg '%.32s' (rr, hash-agent, hash-crc32, hash-tag)",
				 v);
			return -1;
		}
	}
	if ((v = mapline_get(l, "src_port"))) {
		if (parse_u64(v, v + strlen(v), &x) < 0 || x == 0 || x > 65535) {
			snprintf(why, whylen, "bad src_port '%.16s' (1-65535)", v);
			return -1;
		}
		p->src_port = (uint16_t)x;
	}
	if ((v = mapline_get(l, "tag")) && parse_tags(v, p, why, whylen) < 0)
		return -1;
	b->m->npools++;
	return 0;
}

static struct tee_map *map_alloc(unsigned cap)
{
	return calloc(1, sizeof(struct tee_map) + (size_t)cap * sizeof(struct tee_pool));
}

int tee_map_parse_text(const char *text, size_t len, const char *name, struct tee_map **out,
		       char *err, size_t errlen)
{
	struct build b = {map_alloc(TEE_MAX_POOLS), TEE_MAX_POOLS};
	if (!b.m) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	if (mapline_parse(text, len, name, 0, on_rule, &b, err, errlen) < 0) {
		free(b.m);
		return -1;
	}
	*out = b.m;
	return 0;
}

int tee_map_parse(const char *path, void **out, char *err, size_t errlen)
{
	struct build b = {map_alloc(TEE_MAX_POOLS), TEE_MAX_POOLS};
	if (!b.m) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (mapline_parse_file(path, 0, on_rule, &b, err, errlen) < 0) {
		free(b.m);
		return -1;
	}
	if (b.m->npools == 0) {
		snprintf(err, errlen, "%s: no pools (want lines like 'id=1 ip=192.0.2.1:2100')",
			 path);
		free(b.m);
		return -1;
	}
	*out = b.m;
	return 0;
}

void tee_map_free(void *map)
{
	free(map);
}

static size_t tee_map_count(const void *map)
{
	return map ? ((const struct tee_map *)map)->npools : 0;
}

const struct map_type tee_map_type = {
    .parse = tee_map_parse, .free = tee_map_free, .count = tee_map_count};

int tee_pool_takes_tag(const struct tee_pool *p, uint64_t tag)
{
	int any_positive = 0, positive_hit = 0;
	for (unsigned i = 0; i < p->ntags; i++) {
		const struct tee_tag_item *t = &p->tags[i];
		int in = tag >= t->lo && tag <= t->hi;
		if (t->negated) {
			if (in)
				return 0;
		} else {
			any_positive = 1;
			positive_hit |= in;
		}
	}
	return !any_positive || positive_hit;
}
