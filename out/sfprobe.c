/*
 * sfprobe output: pmacctd and uacctd export what they capture as sFlow v5.
 *
 * Each packet the output samples becomes one flow sample with a raw packet
 * header record (the first `snaplen` bytes of the frame, bounded by what
 * fits a datagram).  Two samplers may apply, both 1-in-N at random: the
 * core's `sampling_rate` N, before decoding, for every output of the daemon,
 * and the probe's own `sfprobe_sampling_rate` M (netacct), on the packets it
 * is given; the reported rate is N x M.  The sample pool is every frame the
 * worker's source delivered, kept by the core or not (counted by the
 * worker), so pool / samples is the effective rate a collector may check;
 * with an aggregate_filter or pre_tag_filter the pool still counts the
 * packets filtered out.  The drops field counts samples lost because their
 * datagram could not be sent.
 *
 * Everything happens on the worker threads, without locks: each worker is
 * its own sub-agent (sfprobe_agentsubid + worker number) with its own UDP
 * socket, datagram sequence, data sources (one per ifIndex: flow and
 * counter sample sequences, pool, interface counters) and datagram being
 * filled.  A datagram leaves when the next sample would not fit
 * sfprobe_mtu, and at every worker tick (SFP_FLUSH_MS on the worker's
 * clock), so no sample waits long.  Generic interface counters of each data
 * source are sent every SFP_COUNTER_INTERVAL_S seconds (as hsflowd's default
 * polling interval) and when the worker stops; they count the frames the
 * worker's source delivered (packets and wire bytes, all as unicast), as
 * input or output by the direction.  Sends never block: a full socket
 * buffer or an error is counted (send_errors) and logged at most once a
 * minute per worker.
 */
#include "out/output.h"
#include "out/endpoint.h"
#include "reactor/rng.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "out/buf.h"
#include "proto/sflow_export.h"
#include "reactor/input.h"

#define SFP_FLUSH_MS	       100  /* a datagram waits at most about this long */
#define SFP_COUNTER_INTERVAL_S 20   /* interface counters: hsflowd's default polling */
#define SFP_SOURCES_MAX	       64   /* data sources (ifIndex values) per worker */
#define SFP_MTU_MAX	       9000 /* sfprobe_mtu's bound */
#define SFP_IFTYPE_ETHERNET    6
#define SFP_STATUS_UP	       3 /* ifAdminStatus and ifOperStatus up */

#define T(f)	 SCOPE_PLUGIN, offsetof(struct conf_plugin, f)
#define D_PACKET (D_PMACCTD | D_UACCTD)
static const struct conf_key sfprobe_rows[] = {
    CONF_ROW("sfprobe_receiver", CT_STRING, T(sfprobe_receiver), D_PACKET, "127.0.0.1:6343", NULL,
	     0, 0,
	     "Collector the sFlow datagrams are sent to: address:port, [IPv6 address]:port or "
	     "host:port."),
    CONF_ROW("sfprobe_agentip", CT_STRING, T(sfprobe_agentip), D_PACKET, "", NULL, 0, 0,
	     "Agent address in the datagram header (IPv4 or IPv6). Unset: sfprobe_source_ip, else "
	     "127.0.0.1 (::1 towards an IPv6 receiver)."),
    CONF_ROW("sfprobe_agentsubid", CT_INT, T(sfprobe_agentsubid), D_PACKET, "1402", NULL, 0,
	     INT32_MAX,
	     "Sub-agent id in the datagram header. netacct: worker w (reactor_workers) exports as "
	     "sub-agent sfprobe_agentsubid + w, each with its own datagram and sample sequences."),
    CONF_ROW("sfprobe_ipprec", CT_INT, T(sfprobe_ipprec), D_PACKET, "0", NULL, 0, 7,
	     "IP precedence (0-7) the sFlow datagrams are marked with: the top three bits of the "
	     "IPv4 TOS / IPv6 traffic class (0: the system's default)."),
    CONF_ROW("sfprobe_source_ip", CT_STRING, T(sfprobe_source_ip), D_PACKET, "", NULL, 0, 0,
	     "Local address the datagrams are sent from (unset: chosen by the kernel)."),
    CONF_ROW("sfprobe_ifspeed", CT_STRING, T(sfprobe_ifspeed), D_PACKET, "100000000", NULL, 0, 0,
	     "Interface speed in bit/s reported in the interface counters (ifSpeed)."),
    CONF_ROW("sfprobe_direction", CT_ENUM, T(sfprobe_direction), D_PACKET, "", "in|out|tag|tag2", 0,
	     0,
	     "Direction of the sampled traffic: in (the ifIndex is the input interface), out (the "
	     "output), or the record's tag / tag2 (1: in, 2: out, else unknown). Unset: unknown, "
	     "unless the capture says (pcap_direction, pcap_interfaces_map)."),
    CONF_ROW("sfprobe_ifindex", CT_STRING, T(sfprobe_ifindex), D_PACKET, "", NULL, 0, 0,
	     "ifIndex of the sampled interface: a number 1..4294967295, or tag / tag2 (the "
	     "record's). An ifIndex the capture gives (pcap_ifindex, NFLOG) takes precedence "
	     "unless sfprobe_ifindex_override. It is also the data source (source id) of the "
	     "samples."),
    CONF_ROW("sfprobe_ifindex_override", CT_BOOL, T(sfprobe_ifindex_override), D_PACKET, "false",
	     NULL, 0, 0, "A non-zero sfprobe_ifindex replaces the ifIndex the capture gives."),
    CONF_ROW("sfprobe_sampling_rate", CT_INT, T(sfprobe_sampling_rate), D_PACKET, "1", NULL, 1,
	     1 << 24,
	     "netacct: the probe's own 1-in-N random sampling on top of sampling_rate (which "
	     "samples for every output), e.g. to export sampled sFlow while a print output counts "
	     "every packet. The reported rate is sampling_rate times this; the pool counts every "
	     "packet either sampler saw."),
    CONF_ROW("sfprobe_mtu", CT_INT, T(sfprobe_mtu), D_PACKET, "1500", NULL, 576, SFP_MTU_MAX,
	     "netacct: path MTU towards the receiver; datagrams (IP and UDP headers included) "
	     "stay within it, several samples each."),
};
#undef T
static const struct conf_key_table sfprobe_keys = CONF_TABLE(
    "sfprobe",
    "The sfprobe output (pmacctd, uacctd): export the captured packets as sFlow v5 flow samples "
    "with raw packet headers of `snaplen` bytes, sampled by `sampling_rate`, and interface "
    "counters every 20 s.",
    sfprobe_rows);
static const struct conf_key_table *const sfprobe_tables[] = {&sfprobe_keys, NULL};

enum sfp_from { FROM_NONE, FROM_STATIC, FROM_TAG, FROM_TAG2 };
enum sfp_dir { DIR_UNKNOWN, DIR_IN, DIR_OUT };

/* One data source (an ifIndex) of a worker. */
struct sfp_source {
	uint32_t ifindex;
	uint32_t flow_seq, cnt_seq;
	uint64_t pool;
	uint64_t drops;
	uint32_t pending; /* samples in the datagram being filled */
	uint64_t in_octets, in_pkts, out_octets, out_pkts;
	uint64_t next_counters; /* worker clock, µs */
};

/* What one worker did: written by it, read by the stats line. */
struct sfp_counters {
	atomic_uint_fast64_t samples, counter_samples, datagrams, send_errors, lost_samples,
	    no_source, no_header;
};

struct sfp_worker {
	int fd;
	uint32_t sub_id;
	uint32_t seq;		   /* datagram sequence: the last one sent */
	uint64_t boot;		   /* worker clock of the first event, µs: uptime 0 */
	uint64_t last_now;	   /* the clock at the last event */
	uint64_t seen, seen_bytes; /* the source's totals at the last record */
	uint64_t last_log;	   /* once-a-minute gate for send errors */
	uint64_t rng;		   /* sfprobe_sampling_rate's generator, seeded per worker */
	struct sfp_source src[SFP_SOURCES_MAX];
	unsigned nsrc;
	struct sfx_dgram d;
	int open; /* d holds a header */
	struct sfp_counters c;
	uint8_t buf[SFP_MTU_MAX];
};

struct sfp_state {
	struct sockaddr_storage to;
	socklen_t tolen;
	struct sockaddr_storage from; /* sfprobe_source_ip; family 0: unset */
	int ipprec;		      /* sfprobe_ipprec */
	struct nt_addr agent;
	uint32_t subid;
	uint64_t ifspeed;
	enum sfp_from dir_from; /* FROM_STATIC: dir */
	enum sfp_dir dir;
	enum sfp_from if_from;
	uint32_t ifindex; /* FROM_STATIC */
	int if_override;
	uint32_t rate;	/* reported: sampling_rate x sfprobe_sampling_rate */
	uint32_t own;	/* sfprobe_sampling_rate */
	size_t snaplen; /* header bytes at most */
	size_t cap;	/* datagram bound: sfprobe_mtu less IP and UDP headers */
	unsigned nworkers;
	struct sfp_worker **w;
};

static void count(atomic_uint_fast64_t *c, uint64_t n)
{
	/* a single writer: a relaxed load and store, no locked instruction */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static int parse_ip(const char *s, struct nt_addr *a, struct sockaddr_storage *ss)
{
	struct in_addr v4;
	struct in6_addr v6;
	memset(a, 0, sizeof *a);
	if (ss)
		memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, s, &v4) == 1) {
		a->family = 4;
		memcpy(a->a, &v4, 4);
		if (ss) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
			s4->sin_family = AF_INET;
			s4->sin_addr = v4;
		}
		return 0;
	}
	if (inet_pton(AF_INET6, s, &v6) == 1) {
		a->family = 6;
		memcpy(a->a, &v6, 16);
		if (ss) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
			s6->sin6_family = AF_INET6;
			s6->sin6_addr = v6;
		}
		return 0;
	}
	return -1;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*v = n;
	return 0;
}

static int fail(char *err, size_t errlen, const struct out_instance *oi, const char *key,
		const char *why)
{
	snprintf(err, errlen, "key '%s[%s]': %s", key, oi->conf->name, why);
	return -1;
}

static void free_state(struct sfp_state *st)
{
	if (!st)
		return;
	for (unsigned i = 0; st->w && i < st->nworkers; i++)
		if (st->w[i]) {
			if (st->w[i]->fd >= 0)
				close(st->w[i]->fd);
			free(st->w[i]);
		}
	free(st->w);
	free(st);
}

static int open_socket(const struct sfp_state *st, char *err, size_t errlen)
{
	int fd = socket(st->to.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "sfprobe socket: %s", strerror(errno));
		return -1;
	}
	if (st->from.ss_family) {
		socklen_t l = st->from.ss_family == AF_INET ? sizeof(struct sockaddr_in)
							    : sizeof(struct sockaddr_in6);
		if (bind(fd, (const struct sockaddr *)&st->from, l) < 0) {
			snprintf(err, errlen, "key 'sfprobe_source_ip': cannot bind: %s",
				 strerror(errno));
			close(fd);
			return -1;
		}
	}
	if (endpoint_set_ipprec(fd, st->to.ss_family, st->ipprec) < 0) {
		snprintf(err, errlen, "key 'sfprobe_ipprec': %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int setup(struct out_instance *oi, struct sfp_state *st, char *err, size_t errlen)
{
	const struct conf_plugin *pc = oi->conf;
	char why[320];
	if (endpoint_parse(pc->sfprobe_receiver ? pc->sfprobe_receiver : "127.0.0.1:6343", 0,
			   &st->to, &st->tolen, why, sizeof why) < 0)
		return fail(err, errlen, oi, "sfprobe_receiver", why);
	struct nt_addr src_addr = {0};
	if (pc->sfprobe_source_ip && *pc->sfprobe_source_ip) {
		if (parse_ip(pc->sfprobe_source_ip, &src_addr, &st->from) < 0)
			return fail(err, errlen, oi, "sfprobe_source_ip",
				    "not an IPv4 or IPv6 address");
		if (st->from.ss_family != st->to.ss_family)
			return fail(err, errlen, oi, "sfprobe_source_ip",
				    "not of sfprobe_receiver's address family");
	}
	if (pc->sfprobe_agentip && *pc->sfprobe_agentip) {
		if (parse_ip(pc->sfprobe_agentip, &st->agent, NULL) < 0)
			return fail(err, errlen, oi, "sfprobe_agentip",
				    "not an IPv4 or IPv6 address");
	} else if (src_addr.family) {
		st->agent = src_addr;
	} else {
		(void)parse_ip(st->to.ss_family == AF_INET6 ? "::1" : "127.0.0.1", &st->agent,
			       NULL);
	}
	st->subid = (uint32_t)pc->sfprobe_agentsubid;
	st->ipprec = pc->sfprobe_ipprec;
	if (parse_u64(pc->sfprobe_ifspeed, &st->ifspeed) < 0)
		return fail(err, errlen, oi, "sfprobe_ifspeed",
			    "not a number of bit/s (0..18446744073709551615)");
	const char *dir = pc->sfprobe_direction ? pc->sfprobe_direction : "";
	st->dir_from = !*dir			  ? FROM_NONE
		       : strcmp(dir, "tag") == 0  ? FROM_TAG
		       : strcmp(dir, "tag2") == 0 ? FROM_TAG2
						  : FROM_STATIC;
	st->dir = strcmp(dir, "out") == 0 ? DIR_OUT : strcmp(dir, "in") == 0 ? DIR_IN : DIR_UNKNOWN;
	const char *ifx = pc->sfprobe_ifindex ? pc->sfprobe_ifindex : "";
	uint64_t n = 0;
	if (!*ifx) {
		st->if_from = FROM_NONE;
	} else if (strcmp(ifx, "tag") == 0) {
		st->if_from = FROM_TAG;
	} else if (strcmp(ifx, "tag2") == 0) {
		st->if_from = FROM_TAG2;
	} else if (parse_u64(ifx, &n) == 0 && n >= 1 && n <= UINT32_MAX) {
		st->if_from = FROM_STATIC;
		st->ifindex = (uint32_t)n;
	} else {
		return fail(err, errlen, oi, "sfprobe_ifindex",
			    "not tag, tag2 or a number 1..4294967295");
	}
	st->if_override = pc->sfprobe_ifindex_override;
	const struct conf *g = oi->global;
	st->own = pc->sfprobe_sampling_rate > 1 ? (uint32_t)pc->sfprobe_sampling_rate : 1;
	uint64_t rate = (g && g->sampling_rate > 1 ? (uint64_t)g->sampling_rate : 1) * st->own;
	if (rate > UINT32_MAX)
		return fail(err, errlen, oi, "sfprobe_sampling_rate",
			    "times sampling_rate passes 4294967295");
	st->rate = (uint32_t)rate;
	st->snaplen = g && g->snaplen > 0 ? (size_t)g->snaplen : 128;
	size_t iphdr = st->to.ss_family == AF_INET6 ? 40 : 20;
	st->cap = (size_t)pc->sfprobe_mtu - iphdr - 8;
	if (st->cap > SFP_MTU_MAX)
		st->cap = SFP_MTU_MAX;
	st->nworkers = oi->nworkers ? oi->nworkers : 1;
	st->w = calloc(st->nworkers, sizeof *st->w);
	if (!st->w)
		goto nomem;
	for (unsigned i = 0; i < st->nworkers; i++) {
		struct sfp_worker *w = calloc(1, sizeof *w);
		if (!w)
			goto nomem;
		st->w[i] = w;
		w->fd = -1;
		w->sub_id = st->subid + i;
		/* seeded per worker: a savefile samples the same each run */
		w->rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)i + 1u);
		w->fd = open_socket(st, err, errlen);
		if (w->fd < 0)
			return -1;
	}
	char to[INET6_ADDRSTRLEN], ag[INET6_ADDRSTRLEN];
	if (getnameinfo((const struct sockaddr *)&st->to, st->tolen, to, sizeof to, NULL, 0,
			NI_NUMERICHOST) != 0)
		snprintf(to, sizeof to, "?");
	inet_ntop(st->agent.family == 6 ? AF_INET6 : AF_INET, st->agent.a, ag, sizeof ag);
	nt_log(oi->log, LOG_LVL_INFO, oi->component,
	       "exporting sFlow v5 to %s port %u, agent %s sub-agent %u%s, sampling rate %u, "
	       "headers of %zu bytes at most, datagrams of %zu bytes at most",
	       to,
	       ntohs(st->to.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&st->to)->sin6_port
						  : ((struct sockaddr_in *)&st->to)->sin_port),
	       ag, st->subid, st->nworkers > 1 ? " (+ worker number)" : "", st->rate, st->snaplen,
	       st->cap);
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int sfp_open(struct out_instance *oi, char *err, size_t errlen)
{
	struct sfp_state *st = calloc(1, sizeof *st);
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (setup(oi, st, err, errlen) < 0) {
		free_state(st);
		return -1;
	}
	oi->state = st;
	return 0;
}

/* The datagram being filled goes out (if it holds samples). */
static void send_dgram(struct out_instance *oi, struct sfp_worker *w, uint64_t now)
{
	struct sfp_state *st = oi->state;
	if (!w->open || !w->d.nsamples)
		return;
	uint64_t up = now > w->boot ? (now - w->boot) / 1000u : 0;
	size_t len = sfx_finish(&w->d, w->seq + 1, (uint32_t)up);
	ssize_t n = sendto(w->fd, w->buf, len, 0, (const struct sockaddr *)&st->to, st->tolen);
	int lost = n != (ssize_t)len;
	for (unsigned i = 0; i < w->nsrc; i++) {
		if (lost)
			w->src[i].drops += w->src[i].pending;
		w->src[i].pending = 0;
	}
	/* a lost datagram keeps its sequence number: collectors count it as missing */
	w->seq++;
	w->open = 0;
	if (!lost) {
		count(&w->c.datagrams, 1);
		return;
	}
	count(&w->c.send_errors, 1);
	count(&w->c.lost_samples, w->d.nsamples);
	if (log_once_a_minute(&w->last_log, now)) {
		int e = n < 0 ? errno : EMSGSIZE;
		nt_log(oi->log, LOG_LVL_WARN, oi->component,
		       "worker %u: cannot send a datagram of %zu bytes: %s (%llu send errors so "
		       "far; at most one line a minute)",
		       w->sub_id - st->subid, len, strerror(e),
		       (unsigned long long)atomic_load_explicit(&w->c.send_errors,
								memory_order_relaxed));
	}
}

static int begin(struct sfp_state *st, struct sfp_worker *w)
{
	if (w->open)
		return 0;
	if (sfx_begin(&w->d, w->buf, st->cap, &st->agent, w->sub_id) < 0)
		return -1;
	w->open = 1;
	return 0;
}

static void add_counters(struct out_instance *oi, struct sfp_worker *w, struct sfp_source *s,
			 uint64_t now)
{
	struct sfp_state *st = oi->state;
	struct sfx_if_counters c = {
	    .seq = ++s->cnt_seq,
	    .source_index = s->ifindex,
	    .if_type = SFP_IFTYPE_ETHERNET,
	    .if_speed = st->ifspeed,
	    .status = SFP_STATUS_UP,
	    .in_octets = s->in_octets,
	    .in_ucast = (uint32_t)s->in_pkts,
	    .out_octets = s->out_octets,
	    .out_ucast = (uint32_t)s->out_pkts,
	};
	for (int tries = 0; tries < 2; tries++) {
		if (begin(st, w) < 0)
			return;
		if (sfx_add_counters(&w->d, &c) == 0) {
			count(&w->c.counter_samples, 1);
			return;
		}
		send_dgram(oi, w, now);
	}
}

/*
 * The worker's clock at an event.  A savefile read again (pcap_savefile_replay)
 * starts its clock over: the uptime and the counters' schedule move back with
 * it, so the uptime keeps growing and counters keep their period.
 */
static void clock_at(struct sfp_worker *w, uint64_t now)
{
	if (!w->boot)
		w->boot = now ? now : 1;
	if (w->last_now > now) {
		uint64_t back = w->last_now - now;
		w->boot = w->boot > back ? w->boot - back : 1;
		for (unsigned i = 0; i < w->nsrc; i++)
			w->src[i].next_counters =
			    w->src[i].next_counters > back ? w->src[i].next_counters - back : now;
	}
	w->last_now = now;
}

static struct sfp_source *source(struct sfp_worker *w, uint32_t ifindex, uint64_t now)
{
	for (unsigned i = 0; i < w->nsrc; i++)
		if (w->src[i].ifindex == ifindex)
			return &w->src[i];
	if (w->nsrc == SFP_SOURCES_MAX)
		return NULL;
	struct sfp_source *s = &w->src[w->nsrc++];
	memset(s, 0, sizeof *s);
	s->ifindex = ifindex;
	s->next_counters = now + (uint64_t)SFP_COUNTER_INTERVAL_S * 1000000u;
	return s;
}

static uint64_t from_rec(enum sfp_from f, const struct flow_rec *r)
{
	if (f == FROM_TAG && FR_HAS(r, FR_TAG))
		return r->tag;
	if (f == FROM_TAG2 && FR_HAS(r, FR_TAG2))
		return r->tag2;
	return 0;
}

/* The header's protocol and where it starts: the link header is stripped unless Ethernet. */
static int header_of(const struct nt_frame *f, enum sfx_header_proto *proto, size_t *skip)
{
	size_t l;
	switch (f->link) {
	case DECAP_LINK_ETHERNET:
		*proto = SFX_HDR_ETHERNET;
		*skip = 0;
		return 0;
	case DECAP_LINK_SLL:
		l = 16;
		break;
	case DECAP_LINK_SLL2:
		l = 20;
		break;
	case DECAP_LINK_NULL:
	case DECAP_LINK_LOOP:
		l = 4;
		break;
	default:
		l = 0;
		break;
	}
	if (f->caplen <= l)
		return -1;
	unsigned v = f->data[l] >> 4;
	if (v != 4 && v != 6)
		return -1;
	*proto = v == 4 ? SFX_HDR_IPV4 : SFX_HDR_IPV6;
	*skip = l;
	return 0;
}

static void sfp_record(struct out_instance *oi, unsigned worker, const struct flow_rec *r,
		       const struct nt_frame *f)
{
	struct sfp_state *st = oi->state;
	if (!f || worker >= st->nworkers)
		return;
	struct sfp_worker *w = st->w[worker];
	uint64_t now = f->ts;
	clock_at(w, now);

	/* direction and interface */
	enum sfp_dir dir = st->dir;
	if (st->dir_from == FROM_TAG || st->dir_from == FROM_TAG2) {
		uint64_t t = from_rec(st->dir_from, r);
		dir = t == 1 ? DIR_IN : t == 2 ? DIR_OUT : DIR_UNKNOWN;
	} else if (st->dir_from == FROM_NONE) {
		dir = f->out_iface && !f->in_iface ? DIR_OUT : f->in_iface ? DIR_IN : DIR_UNKNOWN;
	}
	uint32_t conf_if = st->if_from == FROM_STATIC ? st->ifindex
			   : st->if_from == FROM_NONE ? 0
						      : (uint32_t)from_rec(st->if_from, r);
	uint32_t cap_if = dir == DIR_OUT ? f->out_iface : f->in_iface ? f->in_iface : f->out_iface;
	uint32_t ifindex = cap_if && !(st->if_override && conf_if) ? cap_if : conf_if;

	struct sfp_source *s = source(w, ifindex, now);
	uint64_t frames = f->seen > w->seen ? f->seen - w->seen : 1;
	uint64_t bytes = f->seen_bytes > w->seen_bytes ? f->seen_bytes - w->seen_bytes : f->wirelen;
	w->seen = f->seen;
	w->seen_bytes = f->seen_bytes;
	if (!s) {
		count(&w->c.no_source, 1);
		return;
	}
	s->pool += frames;
	if (dir == DIR_OUT) {
		s->out_pkts += frames;
		s->out_octets += bytes;
	} else {
		s->in_pkts += frames;
		s->in_octets += bytes;
	}

	if (st->own > 1 && (rng_next(&w->rng) >> 11) % st->own != 0)
		return; /* in the pool, not sampled */
	enum sfx_header_proto proto;
	size_t skip;
	if (header_of(f, &proto, &skip) < 0) {
		count(&w->c.no_header, 1);
		return;
	}
	size_t hl = f->caplen - skip;
	size_t maxh = sfx_max_header(st->cap, &st->agent);
	if (hl > st->snaplen)
		hl = st->snaplen;
	if (hl > maxh)
		hl = maxh;
	/* Ethernet: the FCS is not captured but counts in frame_length, stripped (as hsflowd) */
	uint32_t fcs = proto == SFX_HDR_ETHERNET ? 4u : 0u;
	struct sfx_flow fs = {
	    .seq = s->flow_seq + 1,
	    .source_index = ifindex,
	    .rate = st->rate,
	    .pool = (uint32_t)s->pool,
	    .drops = (uint32_t)s->drops,
	    .input = dir == DIR_OUT ? 0 : ifindex,
	    .output = dir == DIR_OUT ? ifindex : 0,
	    .header_proto = proto,
	    .frame_length = (uint32_t)(f->wirelen - skip + fcs),
	    .stripped = (uint32_t)(skip + fcs),
	    .header = f->data + skip,
	    .header_len = (uint32_t)hl,
	};
	for (int tries = 0; tries < 2; tries++) {
		if (begin(st, w) < 0)
			return;
		if (sfx_add_flow(&w->d, &fs) == 0) {
			s->flow_seq++;
			s->pending++;
			count(&w->c.samples, 1);
			return;
		}
		send_dgram(oi, w, now);
	}
}

static void sfp_tick(struct out_instance *oi, unsigned worker, uint64_t now)
{
	struct sfp_state *st = oi->state;
	if (worker >= st->nworkers)
		return;
	struct sfp_worker *w = st->w[worker];
	clock_at(w, now);
	for (unsigned i = 0; i < w->nsrc; i++) {
		struct sfp_source *s = &w->src[i];
		if (now < s->next_counters)
			continue;
		add_counters(oi, w, s, now);
		while (s->next_counters <= now)
			s->next_counters += (uint64_t)SFP_COUNTER_INTERVAL_S * 1000000u;
	}
	send_dgram(oi, w, now);
}

static void sfp_stop(struct out_instance *oi, unsigned worker, uint64_t now)
{
	struct sfp_state *st = oi->state;
	if (worker >= st->nworkers)
		return;
	struct sfp_worker *w = st->w[worker];
	/* the last word: every data source's counters as they stand */
	for (unsigned i = 0; i < w->nsrc; i++)
		add_counters(oi, w, &w->src[i], now);
	send_dgram(oi, w, now);
}

static void sfp_stats(struct out_instance *oi, struct obuf *line)
{
	struct sfp_state *st = oi->state;
	uint64_t v[7] = {0};
	for (unsigned i = 0; st && i < st->nworkers; i++) {
		struct sfp_counters *c = &st->w[i]->c;
		v[0] += atomic_load_explicit(&c->samples, memory_order_relaxed);
		v[1] += atomic_load_explicit(&c->counter_samples, memory_order_relaxed);
		v[2] += atomic_load_explicit(&c->datagrams, memory_order_relaxed);
		v[3] += atomic_load_explicit(&c->send_errors, memory_order_relaxed);
		v[4] += atomic_load_explicit(&c->lost_samples, memory_order_relaxed);
		v[5] += atomic_load_explicit(&c->no_source, memory_order_relaxed);
		v[6] += atomic_load_explicit(&c->no_header, memory_order_relaxed);
	}
	obuf_printf(line,
		    " samples=%llu counter_samples=%llu datagrams=%llu send_errors=%llu "
		    "lost_samples=%llu",
		    (unsigned long long)v[0], (unsigned long long)v[1], (unsigned long long)v[2],
		    (unsigned long long)v[3], (unsigned long long)v[4]);
	if (v[5])
		obuf_printf(line, " too_many_ifindexes=%llu", (unsigned long long)v[5]);
	if (v[6])
		obuf_printf(line, " no_header=%llu", (unsigned long long)v[6]);
}

static void sfp_close(struct out_instance *oi)
{
	/* the totals once every worker stopped (a savefile's run ends here) */
	struct obuf line;
	obuf_init(&line, 0);
	obuf_puts(&line, "final stats module");
	sfp_stats(oi, &line);
	if (oi->state && obuf_status(&line) == 0)
		nt_log(oi->log, LOG_LVL_INFO, oi->component, "%s", line.data);
	obuf_free(&line);
	free_state(oi->state);
	oi->state = NULL;
}

const struct out_module out_sfprobe_module = {
    .sinks = OUT_SINK_RECORD,
    .conf = {.type = "sfprobe", .tables = sfprobe_tables, .daemons = D_PMACCTD | D_UACCTD},
    .open = sfp_open,
    .record = sfp_record,
    .worker_tick_ms = SFP_FLUSH_MS,
    .worker_tick = sfp_tick,
    .worker_stop = sfp_stop,
    .stats = sfp_stats,
    .close = sfp_close,
};
