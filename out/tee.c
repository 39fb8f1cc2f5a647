/*
 * tee output: replicate (or balance) the datagrams a collector receives to
 * the receivers of the tee_receivers map, byte for byte, at once.
 *
 * Everything happens in datagram(), on the worker that received the datagram:
 * each worker has its own sending sockets, round-robin positions and
 * counters, so no lock is taken and nothing waits in a buffer.  In
 * non-transparent mode a worker sends from UDP sockets bound to tee_source_ip
 * and the pool's src_port (SO_REUSEPORT lets every worker bind the same
 * port); in transparent mode it writes the IP and UDP headers itself on a raw
 * socket so receivers see the exporter's address and port as the source.
 * When a NetFlow v9/IPFIX datagram is balanced to one receiver of a pool, its
 * template sets are also sent, alone, to the pool's other receivers, so every
 * receiver can decode what it may get later.
 */
#include <arpa/inet.h>

#include "out/output.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "out/buf.h"
#include "out/tee_map.h"
#ifdef HAVE_KAFKA
#include "out/kafka.h"
#endif
#include "agg/pretag.h"
#include "proto/dgram_head.h"
#include "proto/nf_split.h"
#include "reactor/input.h"

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36 /* linux/in6.h: the IPv6 header comes with the data */
#endif

#define T(f) SCOPE_PLUGIN, offsetof(struct conf_plugin, f)
static const struct conf_key tee_rows[] = {
    CONF_ROW("tee_receivers", CT_STRING, T(tee_receivers), D_NFACCTD | D_SFACCTD, "", NULL, 0, 0,
	     "Map of receiver pools (id=, ip=, balance-alg=, tag=, src_port=); mandatory for a "
	     "tee plugin. Reloaded on SIGUSR2 with the other maps."),
    CONF_ROW("tee_transparent", CT_BOOL, T(tee_transparent), D_NFACCTD | D_SFACCTD, "false", NULL,
	     0, 0,
	     "Send with the exporter's address and port as source (raw sockets: needs "
	     "CAP_NET_RAW). false: send from tee_source_ip and the pool's src_port."),
    CONF_ROW("tee_source_ip", CT_STRING, T(tee_source_ip), D_NFACCTD | D_SFACCTD, "", NULL, 0, 0,
	     "Source address in non-transparent mode (unset: chosen by the kernel)."),
    CONF_ROW("tee_pipe_size", CT_INT, T(tee_pipe_size), D_NFACCTD | D_SFACCTD, "0", NULL, 0,
	     1 << 30, "Send buffer of each sending socket, bytes (0: kernel default)."),
    CONF_ROW("tee_max_receivers", CT_INT, T(tee_max_receivers), D_NFACCTD | D_SFACCTD, "32", NULL,
	     1, TEE_MAX_RECEIVERS, "Receivers per pool, at most."),
    CONF_ROW("tee_max_receiver_pools", CT_INT, T(tee_max_receiver_pools), D_NFACCTD | D_SFACCTD,
	     "128", NULL, 1, TEE_MAX_POOLS, "Pools in tee_receivers, at most."),
    CONF_ROW("tee_kafka_config_file", CT_STRING, T(tee_kafka_config_file), D_NFACCTD | D_SFACCTD,
	     "", NULL, 0, 0,
	     "librdkafka properties for the Kafka pools of tee_receivers (as kafka_config_file)."),
};
#undef T
static const struct conf_key_table tee_keys = CONF_TABLE(
    "tee", "The tee output: replicate or balance received datagrams to other collectors.",
    tee_rows);
static const struct conf_key_table *const tee_tables[] = {&tee_keys, NULL};

/* Counters of one receiver on one worker: written by that worker only, read by the stats. */
struct tee_counters {
	atomic_uint_fast64_t sent, bytes, errors, drops;
};

struct tee_sock {
	int family;
	uint16_t src_port;
	int fd;
};

#define TEE_SOCKS_MAX 16

struct tee_worker {
	uint64_t rr[TEE_MAX_POOLS];
	struct tee_sock socks[TEE_SOCKS_MAX];
	unsigned nsocks;
	int raw4, raw6;
	uint8_t pkt[65536 + 64];  /* transparent mode: headers + payload */
	uint8_t templates[65536]; /* the template sets of a balanced datagram */
	struct tee_counters c[TEE_MAX_POOLS][TEE_MAX_RECEIVERS];
	atomic_uint_fast64_t no_socket; /* datagrams not sent: a socket could not be made */
};

/* A Kafka pool's producer: made at start for each broker the map names (thread-safe). */
#define TEE_KAFKA_MAX 8
struct tee_kafka {
	char broker[TEE_KAFKA_NAME_MAX];
	void *rk; /* rd_kafka_t */
};

struct tee_state {
	struct tee_kafka kafka[TEE_KAFKA_MAX];
	unsigned nkafka;
	const struct maps *maps;
	int slot;
	int transparent;
	struct sockaddr_storage src; /* tee_source_ip, port 0; family 0 = unset */
	int sndbuf;
	unsigned nworkers;
	struct tee_worker **w;
};

static void count(atomic_uint_fast64_t *c, uint64_t n)
{
	/* a single writer: a relaxed load and store, no locked instruction */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static void set_sndbuf(int fd, int size)
{
	if (size <= 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

/* A non-blocking UDP socket of family bound to tee_source_ip:src_port; -1 with err. */
static int open_udp(const struct tee_state *st, int family, uint16_t src_port, char *err,
		    size_t errlen)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	struct sockaddr_storage b;
	socklen_t blen;
	memset(&b, 0, sizeof b);
	if (st->src.ss_family == family)
		b = st->src;
	b.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		((struct sockaddr_in *)&b)->sin_port = htons(src_port);
		blen = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&b)->sin6_port = htons(src_port);
		blen = sizeof(struct sockaddr_in6);
	}
	/* every worker binds the pool's src_port: share it */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
	    ((src_port || st->src.ss_family == family) &&
	     bind(fd, (struct sockaddr *)&b, blen) < 0)) {
		snprintf(err, errlen, "binding the tee socket to port %u: %s", src_port,
			 strerror(errno));
		close(fd);
		return -1;
	}
	set_sndbuf(fd, st->sndbuf);
	return fd;
}

/* A raw socket that takes our IP headers; -1 with err (CAP_NET_RAW missing, mostly). */
static int open_raw(int family, int sndbuf, char *err, size_t errlen)
{
	int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0) {
		snprintf(err, errlen,
			 "tee_transparent needs a raw %s socket: %s (run as root or grant "
			 "CAP_NET_RAW, or set tee_transparent: false)",
			 family == AF_INET ? "IPv4" : "IPv6", strerror(errno));
		return -1;
	}
	if (family == AF_INET6) {
		int one = 1;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof one) < 0) {
			snprintf(err, errlen, "tee_transparent: IPV6_HDRINCL: %s", strerror(errno));
			close(fd);
			return -1;
		}
	}
	set_sndbuf(fd, sndbuf);
	return fd;
}

/* The worker's socket for (family, src_port), made on first use. */
static int sock_for(struct tee_state *st, struct tee_worker *w, int family, uint16_t src_port)
{
	for (unsigned i = 0; i < w->nsocks; i++)
		if (w->socks[i].family == family && w->socks[i].src_port == src_port)
			return w->socks[i].fd;
	if (w->nsocks == TEE_SOCKS_MAX)
		return -1;
	char err[256];
	int fd = open_udp(st, family, src_port, err, sizeof err);
	if (fd < 0)
		return -1;
	w->socks[w->nsocks++] = (struct tee_sock){family, src_port, fd};
	return fd;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		sum += (uint32_t)(p[0] << 8);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Build exporter → receiver IP + UDP headers around payload in w->pkt.
 * Returns the packet length, or 0 when the families differ (no way to keep
 * an IPv4 exporter's address towards an IPv6 receiver).
 */
static size_t build_transparent(struct tee_worker *w, const struct nt_dgram *d,
				const struct tee_receiver *r, const uint8_t *payload, size_t len)
{
	uint8_t *p = w->pkt;
	size_t udplen = 8 + len;
	if (r->sa.ss_family == AF_INET && d->src.family == 4) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&r->sa;
		size_t tot = 20 + udplen;
		if (tot > 65535)
			return 0;
		memset(p, 0, 28);
		p[0] = 0x45;
		p[2] = (uint8_t)(tot >> 8);
		p[3] = (uint8_t)tot;
		p[8] = 64; /* TTL */
		p[9] = IPPROTO_UDP;
		memcpy(p + 12, d->src.a, 4);
		memcpy(p + 16, &sin->sin_addr, 4);
		uint8_t *u = p + 20;
		u[0] = (uint8_t)(d->src_port >> 8);
		u[1] = (uint8_t)d->src_port;
		memcpy(u + 2, &sin->sin_port, 2);
		u[4] = (uint8_t)(udplen >> 8);
		u[5] = (uint8_t)udplen;
		/* UDP checksum 0 = none, legal over IPv4; the kernel fills the IP checksum */
		memcpy(u + 8, payload, len);
		return tot;
	}
	if (r->sa.ss_family == AF_INET6 && d->src.family == 6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&r->sa;
		if (udplen > 65535)
			return 0;
		memset(p, 0, 48);
		p[0] = 0x60;
		p[4] = (uint8_t)(udplen >> 8);
		p[5] = (uint8_t)udplen;
		p[6] = IPPROTO_UDP;
		p[7] = 64; /* hop limit */
		memcpy(p + 8, d->src.a, 16);
		memcpy(p + 24, &sin6->sin6_addr, 16);
		uint8_t *u = p + 40;
		u[0] = (uint8_t)(d->src_port >> 8);
		u[1] = (uint8_t)d->src_port;
		memcpy(u + 2, &sin6->sin6_port, 2);
		u[4] = (uint8_t)(udplen >> 8);
		u[5] = (uint8_t)udplen;
		memcpy(u + 8, payload, len);
		/* over IPv6 the UDP checksum is mandatory: pseudo header + UDP */
		uint32_t sum = csum_add(0, p + 8, 32);
		sum += (uint32_t)udplen + IPPROTO_UDP;
		sum = csum_add(sum, u, udplen);
		uint16_t c = csum_fold(sum);
		if (c == 0)
			c = 0xffff;
		u[6] = (uint8_t)(c >> 8);
		u[7] = (uint8_t)c;
		return 40 + udplen;
	}
	return 0;
}

static void send_one(struct tee_state *st, struct tee_worker *w, const struct tee_pool *pool,
		     unsigned pi, unsigned ri, const struct nt_dgram *d, const uint8_t *payload,
		     size_t len)
{
	const struct tee_receiver *r = &pool->recv[ri];
	struct tee_counters *c = &w->c[pi][ri];
	ssize_t n;
	if (st->transparent) {
		size_t plen = build_transparent(w, d, r, payload, len);
		int fd = r->sa.ss_family == AF_INET ? w->raw4 : w->raw6;
		if (plen == 0 || fd < 0) {
			count(&c->errors, 1);
			return;
		}
		/* raw IPv6 sockets want port 0 in the destination */
		struct sockaddr_storage dst = r->sa;
		if (dst.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&dst)->sin6_port = 0;
		n = sendto(fd, w->pkt, plen, MSG_DONTWAIT, (struct sockaddr *)&dst, r->salen);
	} else {
		int fd = sock_for(st, w, r->sa.ss_family, pool->src_port);
		if (fd < 0) {
			count(&w->no_socket, 1);
			count(&c->errors, 1);
			return;
		}
		n = sendto(fd, payload, len, MSG_DONTWAIT, (const struct sockaddr *)&r->sa,
			   r->salen);
	}
	if (n >= 0) {
		count(&c->sent, 1);
		count(&c->bytes, len);
	} else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
		count(&c->drops, 1);
	} else {
		count(&c->errors, 1);
	}
}

#ifdef HAVE_KAFKA
static rd_kafka_t *kafka_for(const struct tee_state *st, const char *broker)
{
	for (unsigned i = 0; i < st->nkafka; i++)
		if (strcmp(st->kafka[i].broker, broker) == 0)
			return st->kafka[i].rk;
	return NULL;
}

/*
 * A Kafka pool: the datagram as it arrived is one message, keyed by the
 * exporter's address (one exporter, one partition).  librdkafka's produce
 * never blocks; a full queue is a drop.
 */
static void send_kafka(struct tee_state *st, struct tee_worker *w, const struct tee_pool *p,
		       unsigned pi, const struct nt_dgram *d)
{
	struct tee_counters *c = &w->c[pi][0];
	rd_kafka_t *rk = kafka_for(st, p->kafka_broker);
	if (!rk) { /* a broker a reload added: its producer is made at the next start */
		count(&c->errors, 1);
		return;
	}
	char key[64];
	nt_addr_to_text(&d->src, key, sizeof key);
	rd_kafka_resp_err_t err = rd_kafka_producev(
	    rk, RD_KAFKA_V_TOPIC(p->kafka_topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
	    RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)(uintptr_t)d->buf, d->len),
	    RD_KAFKA_V_END);
	if (!err) {
		count(&c->sent, 1);
		count(&c->bytes, d->len);
	} else if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
		count(&c->drops, 1);
	} else {
		count(&c->errors, 1);
	}
}

static int kafka_open(struct tee_state *st, const struct tee_map *m, const char *props, char *err,
		      size_t errlen)
{
	for (unsigned pi = 0; m && pi < m->npools; pi++) {
		const char *b = m->pool[pi].kafka_broker;
		if (!*b || kafka_for(st, b))
			continue;
		if (st->nkafka == TEE_KAFKA_MAX) {
			snprintf(err, errlen, "tee_receivers: more than %d Kafka brokers",
				 TEE_KAFKA_MAX);
			return -1;
		}
		char e2[512];
		rd_kafka_conf_t *kc = rd_kafka_conf_new();
		if (rd_kafka_conf_set(kc, "bootstrap.servers", b, e2, sizeof e2) ||
		    rd_kafka_conf_set(kc, "linger.ms", "5", e2, sizeof e2) ||
		    (props && *props && kafka_props_load(props, kc, e2, sizeof e2) < 0)) {
			rd_kafka_conf_destroy(kc);
			snprintf(err, errlen, "tee Kafka pool %u: %s", m->pool[pi].id, e2);
			return -1;
		}
		rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e2, sizeof e2);
		if (!rk) {
			rd_kafka_conf_destroy(kc);
			snprintf(err, errlen, "tee Kafka pool %u: %s", m->pool[pi].id, e2);
			return -1;
		}
		snprintf(st->kafka[st->nkafka].broker, TEE_KAFKA_NAME_MAX, "%s", b);
		st->kafka[st->nkafka++].rk = rk;
	}
	return 0;
}
#endif

/* FNV-1a of the exporter address: the same exporter, the same receiver, on every worker. */
static uint64_t agent_hash(const struct nt_addr *a)
{
	uint64_t h = 1469598103934665603ull;
	size_t n = a->family == 6 ? 16 : 4;
	for (size_t i = 0; i < n; i++)
		h = (h ^ a->a[i]) * 1099511628211ull;
	return h;
}

/*
 * The datagram's tag from pre_tag_map, read off its header alone (exporter or
 * sFlow agent address, engine type/id, source id, sFlow sub-agent id): 0
 * without a map or a matching rule.
 */
static uint64_t datagram_tag(const struct out_instance *oi, const struct nt_dgram *d)
{
	const struct pretag_map *m;
	struct dgram_head dh;
	if (oi->pretag_slot < 0 || !(m = maps_current(oi->maps, oi->pretag_slot)))
		return 0;
	struct pretag_header h = {.exporter = d->src};
	if (dgram_head_parse(d->buf, d->len, &dh) == 0) {
		h.version = (uint16_t)dh.version;
		h.is_sflow = dh.kind == DGRAM_SFLOW;
		if (h.is_sflow && dh.agent.family)
			h.exporter = dh.agent;
		h.has_engine = (uint8_t)dh.has_engine;
		h.engine_type = dh.engine_type;
		h.engine_id = dh.engine_id;
		h.has_source_id = (uint8_t)(dh.has_source_id || dh.has_sub_agent);
		h.source_id = dh.has_sub_agent ? dh.sub_agent_id : dh.source_id;
	}
	struct pretag_result res;
	if (pretag_eval_header(m, &h, &res) && res.has_tag)
		return res.tag;
	return 0;
}

static void tee_datagram(struct out_instance *oi, unsigned worker, const struct nt_dgram *d)
{
	struct tee_state *st = oi->state;
	struct tee_worker *w = st->w[worker];
	const struct tee_map *m = maps_current(st->maps, st->slot);
	uint64_t tag = datagram_tag(oi, d);
	size_t tlen = 0;
	int split = -1; /* enum nf_split; -1: not looked at yet */

	if (!m)
		return;
	for (unsigned pi = 0; pi < m->npools && pi < TEE_MAX_POOLS; pi++) {
		const struct tee_pool *p = &m->pool[pi];
		if (!tee_pool_takes_tag(p, tag))
			continue;
#ifdef HAVE_KAFKA
		if (p->kafka_broker[0]) {
			send_kafka(st, w, p, pi, d);
			continue;
		}
#endif
		if (p->balance == TEE_BAL_NONE || p->nrecv == 1) {
			for (unsigned ri = 0; ri < p->nrecv; ri++)
				send_one(st, w, p, pi, ri, d, d->buf, d->len);
			continue;
		}
		if (split < 0)
			split = (int)nf_templates_only(d->buf, d->len, w->templates,
						       sizeof w->templates, &tlen);
		if (split == NF_SPLIT_TEMPLATES_ONLY) { /* no data to count twice: to all */
			for (unsigned ri = 0; ri < p->nrecv; ri++)
				send_one(st, w, p, pi, ri, d, d->buf, d->len);
			continue;
		}
		uint64_t key = p->balance == TEE_BAL_RR		? w->rr[pi]++
			       : p->balance == TEE_BAL_HASH_TAG ? tag
								: agent_hash(&d->src);
		unsigned chosen = tee_pool_pick(p, key);
		send_one(st, w, p, pi, chosen, d, d->buf, d->len);
		if (split == NF_SPLIT_TEMPLATES_AND_DATA)
			for (unsigned ri = 0; ri < p->nrecv; ri++)
				if (ri != chosen)
					send_one(st, w, p, pi, ri, d, w->templates, tlen);
	}
}

static int parse_source_ip(const char *ip, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (!ip || !*ip)
		return 0;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

static void free_state(struct tee_state *st)
{
	if (!st)
		return;
#ifdef HAVE_KAFKA
	for (unsigned i = 0; i < st->nkafka; i++) {
		rd_kafka_flush(st->kafka[i].rk, 5000); /* what the workers produced, out */
		rd_kafka_destroy(st->kafka[i].rk);
	}
#endif
	for (unsigned i = 0; st->w && i < st->nworkers; i++) {
		struct tee_worker *w = st->w[i];
		if (!w)
			continue;
		for (unsigned s = 0; s < w->nsocks; s++)
			close(w->socks[s].fd);
		if (w->raw4 >= 0)
			close(w->raw4);
		if (w->raw6 >= 0)
			close(w->raw6);
		free(w);
	}
	free(st->w);
	free(st);
}

static int tee_register_maps(struct out_instance *oi, struct maps *maps, char *err, size_t errlen)
{
	const char *path = oi->conf->tee_receivers;
	if (!path || !*path) {
		snprintf(err, errlen, "plugin %s: tee_receivers is not set (the map of receivers)",
			 oi->component);
		return -1;
	}
	char key[64];
	snprintf(key, sizeof key, "tee_receivers[%.48s]", oi->conf->name);
	struct tee_state *st = calloc(1, sizeof *st);
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->slot = maps_register(maps, key, path, &tee_map_type, err, errlen);
	if (st->slot < 0) {
		free(st);
		return -1;
	}
	st->maps = maps;
	oi->state = st;
	return 0;
}

static int tee_open(struct out_instance *oi, char *err, size_t errlen)
{
	struct tee_state *st = oi->state;
	const struct tee_map *m = maps_current(st->maps, st->slot);
	st->transparent = oi->conf->tee_transparent;
	st->sndbuf = oi->conf->tee_pipe_size;
	st->nworkers = oi->nworkers;
	if (parse_source_ip(oi->conf->tee_source_ip, &st->src) < 0) {
		snprintf(err, errlen,
			 "key 'tee_source_ip[%s]': '%s' is not an IPv4 or IPv6 address",
			 oi->conf->name, oi->conf->tee_source_ip);
		return -1;
	}
	for (unsigned pi = 0; m && pi < m->npools; pi++) {
		if ((int)m->pool[pi].nrecv > oi->conf->tee_max_receivers) {
			snprintf(err, errlen,
				 "tee_receivers: pool %u has %u receivers, more than "
				 "tee_max_receivers (%d)",
				 m->pool[pi].id, m->pool[pi].nrecv, oi->conf->tee_max_receivers);
			return -1;
		}
	}
	if (m && (int)m->npools > oi->conf->tee_max_receiver_pools) {
		snprintf(err, errlen,
			 "tee_receivers: %u pools, more than tee_max_receiver_pools (%d)",
			 m->npools, oi->conf->tee_max_receiver_pools);
		return -1;
	}
#ifdef HAVE_KAFKA
	if (kafka_open(st, m, oi->conf->tee_kafka_config_file, err, errlen) < 0)
		return -1;
#endif
	st->w = calloc(st->nworkers ? st->nworkers : 1, sizeof *st->w);
	if (!st->w)
		goto nomem;
	for (unsigned i = 0; i < st->nworkers; i++) {
		struct tee_worker *w = calloc(1, sizeof *w);
		if (!w)
			goto nomem;
		w->raw4 = w->raw6 = -1;
		st->w[i] = w;
		if (st->transparent) {
			if ((w->raw4 = open_raw(AF_INET, st->sndbuf, err, errlen)) < 0 ||
			    (w->raw6 = open_raw(AF_INET6, st->sndbuf, err, errlen)) < 0)
				return -1;
			continue;
		}
		/* the sockets the map needs now: a bad tee_source_ip or a busy port fails here */
		for (unsigned pi = 0; m && pi < m->npools; pi++)
			for (unsigned ri = 0; ri < m->pool[pi].nrecv; ri++) {
				int fam = m->pool[pi].recv[ri].sa.ss_family;
				int fd = sock_for(st, w, fam, m->pool[pi].src_port);
				if (fd < 0) {
					char why[256];
					int e = open_udp(st, fam, m->pool[pi].src_port, why,
							 sizeof why);
					if (e >= 0)
						close(e);
					snprintf(err, errlen, "tee pool %u: %s", m->pool[pi].id,
						 e >= 0 ? "too many sending sockets" : why);
					return -1;
				}
			}
	}
	unsigned nrecv = 0;
	for (unsigned pi = 0; m && pi < m->npools; pi++)
		nrecv += m->pool[pi].nrecv;
	nt_log(oi->log, LOG_LVL_INFO, oi->component, "%u pools, %u receivers, %s",
	       m ? m->npools : 0, nrecv,
	       st->transparent ? "transparent (exporters' addresses kept)"
	       : oi->conf->tee_source_ip && *oi->conf->tee_source_ip
		   ? "sending from tee_source_ip"
		   : "sending from the kernel's choice of address");
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Empty tables are all a tee instance gets: nothing to write. */
static int tee_write(struct out_instance *oi, const struct agg_table *t,
		     const struct out_interval *iv)
{
	(void)oi;
	(void)t;
	(void)iv;
	return 0;
}

static void tee_stats(struct out_instance *oi, struct obuf *line)
{
	struct tee_state *st = oi->state;
	const struct tee_map *m = maps_current(st->maps, st->slot);
	uint64_t nosock = 0;
	for (unsigned i = 0; i < st->nworkers; i++)
		nosock += atomic_load_explicit(&st->w[i]->no_socket, memory_order_relaxed);
	obuf_printf(line, " pools=%u", m ? m->npools : 0);
	for (unsigned pi = 0; m && pi < m->npools && pi < TEE_MAX_POOLS; pi++)
		for (unsigned ri = 0; ri < (m->pool[pi].kafka_broker[0] ? 1 : m->pool[pi].nrecv);
		     ri++) {
			uint64_t s = 0, b = 0, e = 0, dr = 0;
			for (unsigned i = 0; i < st->nworkers; i++) {
				struct tee_counters *c = &st->w[i]->c[pi][ri];
				s += atomic_load_explicit(&c->sent, memory_order_relaxed);
				b += atomic_load_explicit(&c->bytes, memory_order_relaxed);
				e += atomic_load_explicit(&c->errors, memory_order_relaxed);
				dr += atomic_load_explicit(&c->drops, memory_order_relaxed);
			}
			obuf_printf(
			    line,
			    " receiver=%u/%s sent=%llu bytes=%llu send_errors=%llu drops=%llu",
			    m->pool[pi].id,
			    m->pool[pi].kafka_broker[0] ? m->pool[pi].kafka_topic
							: m->pool[pi].recv[ri].text,
			    (unsigned long long)s, (unsigned long long)b, (unsigned long long)e,
			    (unsigned long long)dr);
		}
	if (nosock)
		obuf_printf(line, " no_socket=%llu", (unsigned long long)nosock);
}

#ifdef HAVE_KAFKA
/* Serve the producers' delivery and error events (writer thread, while idle). */
static void tee_service(struct out_instance *oi)
{
	struct tee_state *st = oi->state;
	for (unsigned i = 0; i < st->nkafka; i++)
		rd_kafka_poll(st->kafka[i].rk, 0);
}
#endif

static void tee_close(struct out_instance *oi)
{
	free_state(oi->state);
	oi->state = NULL;
}

const struct out_module out_tee_module = {
    .sinks = OUT_SINK_DATAGRAM,
    .conf = {.type = "tee", .tables = tee_tables},
    .register_maps = tee_register_maps,
    .open = tee_open,
    .write = tee_write,
    .datagram = tee_datagram,
    .stats = tee_stats,
#ifdef HAVE_KAFKA
    .service_ms = 200,
    .service = tee_service,
#endif
    .close = tee_close,
};
