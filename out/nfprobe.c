/*
 * nfprobe output (pmacctd, uacctd): build flows from the captured packets'
 * records and export them as NetFlow v5, v9 or IPFIX (proto/nf_export.h).
 *
 * Everything happens on the worker threads (OUT_SINK_RECORD): each worker has
 * its own flow cache (a bounded hash table keyed by the exported fields of
 * the output's `aggregate`), its own encoder and its own connected,
 * non-blocking UDP socket per receiver, so nothing is locked and nothing
 * waits.  Flows expire on the worker's clock (the capture's time when reading
 * a savefile): every `expint` seconds the cache is scanned and flows idle for
 * longer than their protocol's timeout, or older than `maxlife`, are
 * exported; a full cache (nfprobe_maxflows) exports its least recently seen
 * flow to make room (counted as `forced`).  At stop every flow is exported.
 *
 * Several workers: each is its own exporter towards the collectors, with
 * source id / observation domain (v5: engine id) nfprobe_engine + worker
 * number, so each stream's sequence numbers are consecutive (collectors
 * track sequences per source id / observation domain / engine).
 */
#include <arpa/inet.h>

#include "out/output.h"
#include "out/endpoint.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agg/flow.h"
#include "agg/table.h"
#include "out/buf.h"
#include "proto/nf_export.h"
#include "reactor/metrics.h"

#define NFP_MAX_RECEIVERS 8
#define NFP_NONE	  UINT32_MAX
#define NFP_TICK_MS	  1000u

#define T(f)  SCOPE_PLUGIN, offsetof(struct conf_plugin, f)
#define PROBE D_PMACCTD | D_UACCTD
static const struct conf_key nfprobe_rows[] = {
    CONF_ROW("nfprobe_receiver", CT_STRING, T(nfprobe_receiver), PROBE, "127.0.0.1:2100", NULL, 0,
	     0,
	     "Collector the flows are exported to: 'address:port', '[IPv6 address]:port'. netacct: "
	     "several, comma separated, each get every datagram (up to 8)."),
    CONF_ROW("nfprobe_version", CT_INT, T(nfprobe_version), PROBE, "10", NULL, 5, 10,
	     "Export protocol: 5 (NetFlow v5, IPv4 flows only), 9 (NetFlow v9) or 10 (IPFIX)."),
    CONF_ROW("nfprobe_engine", CT_STRING, T(nfprobe_engine), PROBE, "", NULL, 0, 0,
	     "v5: 'engine_type:engine_id' (0-255 each); v9/IPFIX: the source id / observation "
	     "domain (32 bits). Default 0:0 / 0. Worker N exports with engine id / domain + N."),
    CONF_ROW("nfprobe_timeouts", CT_STRING, T(nfprobe_timeouts), PROBE, "", NULL, 0, 0,
	     "'name=seconds:...' with tcp (3600), tcp.rst (120), tcp.fin (300), udp (300), "
	     "icmp (300), general (3600): idle timeouts; maxlife (604800): the longest a flow "
	     "lives; expint (60): seconds between expiry scans."),
    CONF_ROW("nfprobe_maxflows", CT_INT, T(nfprobe_maxflows), PROBE, "8192", NULL, 1, 1 << 24,
	     "Flows a worker's cache holds; when full, the least recently seen flow is exported "
	     "at once (counted as forced)."),
    CONF_ROW("nfprobe_hoplimit", CT_INT, T(nfprobe_hoplimit), PROBE, "0", NULL, 0, 255,
	     "TTL / hop limit of the exported datagrams (0: the system's default)."),
    CONF_ROW("nfprobe_ipprec", CT_INT, T(nfprobe_ipprec), PROBE, "0", NULL, 0, 7,
	     "IP precedence (0-7) the exported datagrams are marked with: the top three bits of "
	     "the IPv4 TOS / IPv6 traffic class (0: the system's default)."),
    CONF_ROW("nfprobe_source_ip", CT_STRING, T(nfprobe_source_ip), PROBE, "", NULL, 0, 0,
	     "Local address the datagrams are sent from (unset: chosen by the kernel)."),
    CONF_ROW("nfprobe_direction", CT_STRING, T(nfprobe_direction), PROBE, "", NULL, 0, 0,
	     "in, out, tag or tag2: the flows' direction, exported as flowDirection (IE 61); "
	     "tag/tag2: value 1 is in, 2 is out (set by pre_tag_map)."),
    CONF_ROW("nfprobe_ifindex", CT_STRING, T(nfprobe_ifindex), PROBE, "", NULL, 0, 0,
	     "tag, tag2 or 1-4294967295: the interface index of the flows (input interface, or "
	     "output when the direction is out); an index the capture knows (NFLOG) wins unless "
	     "nfprobe_ifindex_override."),
    CONF_ROW("nfprobe_ifindex_override", CT_BOOL, T(nfprobe_ifindex_override), PROBE, "false", NULL,
	     0, 0, "A non-zero nfprobe_ifindex replaces the index the capture gives."),
    CONF_ROW("nfprobe_dont_cache", CT_BOOL, T(nfprobe_dont_cache), PROBE, "false", NULL, 0, 0,
	     "Export every packet as its own flow, without a cache."),
    CONF_ROW("nfprobe_mtu", CT_INT, T(nfprobe_mtu), PROBE, "1400", NULL, 512, NFX_MTU_MAX,
	     "netacct: the largest v9/IPFIX datagram, bytes (v5: 30 flows)."),
};
#undef PROBE
#undef T
static const struct conf_key_table nfprobe_keys =
    CONF_TABLE("nfprobe", "The nfprobe output: NetFlow v5/v9/IPFIX export of the captured traffic.",
	       nfprobe_rows);
static const struct conf_key_table *const nfprobe_tables[] = {&nfprobe_keys, NULL};

/* Why a flow left the cache. */
enum nfp_reason {
	R_TCP,
	R_TCP_RST,
	R_TCP_FIN,
	R_UDP,
	R_ICMP,
	R_GENERAL,
	R_MAXLIFE,
	R_FORCED, /* the cache was full */
	R_STOP,	  /* exported at stop */
	R__COUNT
};
static const char *const reason_name[R__COUNT] = {"tcp",     "tcp_rst", "tcp_fin", "udp", "icmp",
						  "general", "maxlife", "forced",  "stop"};

enum nfp_timeout {
	TO_TCP,
	TO_TCP_RST,
	TO_TCP_FIN,
	TO_UDP,
	TO_ICMP,
	TO_GENERAL,
	TO_MAXLIFE,
	TO_EXPINT
};
static const char *const timeout_name[] = {"tcp",  "tcp.rst", "tcp.fin", "udp",
					   "icmp", "general", "maxlife", "expint"};
static const unsigned timeout_default[] = {3600, 120, 300, 300, 300, 3600, 604800, 60};
#define NTIMEOUTS (sizeof timeout_name / sizeof timeout_name[0])

enum nfp_src { SRC_NONE, SRC_STATIC, SRC_TAG, SRC_TAG2 };

/* A flow's key: the fields the output exports; zero where not exported. */
struct nfp_key {
	uint8_t src[16], dst[16];
	uint32_t in_iface, out_iface, src_as, dst_as, mpls_top;
	uint16_t src_port, dst_port, vlan;
	uint8_t family, proto, tos, src_mask, dst_mask, direction;
	uint8_t src_mac[6], dst_mac[6];
};

struct nfp_flow {
	struct nfp_key k;
	uint64_t h;
	uint64_t packets, bytes;
	nt_usec first, last;
	uint32_t prev, next; /* least recently seen first */
	uint8_t tcp_flags;
	char app_name[NFX_APP_NAME_LEN]; /* the latest class nDPI gave the flow's packets */
};

struct nfp_counters {
	atomic_uint_fast64_t flows, datagrams, bytes, send_errors, send_eagain, skipped_v6;
	atomic_uint_fast64_t expired[R__COUNT];
	atomic_uint_fast64_t cached; /* flows in the cache now */
};

struct nfp_worker {
	struct nfp_state *st;
	unsigned id;
	struct nfx_encoder enc;
	int fd[NFP_MAX_RECEIVERS];
	struct nfp_flow *flows; /* maxflows entries */
	uint32_t *idx;		/* entry + 1, 0: empty; linear probing */
	uint32_t mask;
	uint32_t *free_list;
	uint32_t nfree, n;
	uint32_t head, tail;
	nt_usec now;	   /* the worker's clock at the last record or tick */
	nt_usec next_scan; /* 0: not started */
	int booted;	   /* the encoder's boot time was set (first record) */
	uint64_t log_window;
	unsigned log_lines;
	struct nfp_counters c;
};

struct nfp_state {
	struct out_instance *oi;
	int version;
	uint32_t fields; /* enum nfx_field */
	uint32_t domain; /* v9/IPFIX; v5: type << 8 | id */
	unsigned timeout[NTIMEOUTS];
	uint32_t maxflows;
	int dont_cache;
	enum nfp_src dir_src, if_src;
	uint8_t dir_static;
	uint32_t if_static;
	int if_override;
	size_t mtu;
	int hoplimit;
	int ipprec;
	struct sockaddr_storage src; /* nfprobe_source_ip; family 0: unset */
	struct sockaddr_storage recv[NFP_MAX_RECEIVERS];
	char recv_text[NFP_MAX_RECEIVERS][64];
	unsigned nrecv;
	unsigned nworkers;
	struct nfp_worker **w;
};

static void count(atomic_uint_fast64_t *c, uint64_t n)
{
	/* a single writer (the worker): a relaxed load and store, no locked instruction */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static uint64_t load(const atomic_uint_fast64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* ---- configuration ---- */

static int key_error(char *err, size_t errlen, const struct out_instance *oi, const char *key,
		     const char *val, const char *why)
{
	snprintf(err, errlen, "key '%s[%s]': '%s' %s", key, oi->conf->name, val ? val : "", why);
	return -1;
}

static int parse_receivers(struct nfp_state *st, const struct out_instance *oi, char *err,
			   size_t errlen)
{
	const char *v = oi->conf->nfprobe_receiver;
	char buf[1024];
	if (!v || !*v)
		v = "127.0.0.1:2100";
	if (strlen(v) >= sizeof buf)
		return key_error(err, errlen, oi, "nfprobe_receiver", v, "is too long");
	snprintf(buf, sizeof buf, "%s", v);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		size_t l = strlen(tok);
		while (l && (tok[l - 1] == ' ' || tok[l - 1] == '\t'))
			tok[--l] = '\0';
		if (st->nrecv == NFP_MAX_RECEIVERS)
			return key_error(err, errlen, oi, "nfprobe_receiver", v,
					 "names more than 8 receivers");
		socklen_t len;
		char why[320];
		if (endpoint_parse(tok, 1, &st->recv[st->nrecv], &len, why, sizeof why) < 0) {
			snprintf(err, errlen,
				 "key 'nfprobe_receiver[%s]': '%s' is not 'address:port' or "
				 "'[IPv6 address]:port'",
				 oi->conf->name, tok);
			return -1;
		}
		snprintf(st->recv_text[st->nrecv], sizeof st->recv_text[0], "%s", tok);
		st->nrecv++;
	}
	if (!st->nrecv)
		return key_error(err, errlen, oi, "nfprobe_receiver", v, "names no receiver");
	return 0;
}

static int parse_u32(const char *s, uint64_t max, uint32_t *out)
{
	char *end;
	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_engine(struct nfp_state *st, const struct out_instance *oi, char *err,
			size_t errlen)
{
	const char *v = oi->conf->nfprobe_engine;
	st->domain = 0;
	if (!v || !*v)
		return 0;
	if (st->version == 5) {
		char a[16], b[16];
		const char *colon = strchr(v, ':');
		uint32_t t, id;
		if (!colon || (size_t)(colon - v) >= sizeof a || strlen(colon + 1) >= sizeof b)
			return key_error(err, errlen, oi, "nfprobe_engine", v,
					 "is not 'engine_type:engine_id' (v5)");
		memcpy(a, v, (size_t)(colon - v));
		a[colon - v] = '\0';
		snprintf(b, sizeof b, "%s", colon + 1);
		if (parse_u32(a, 255, &t) < 0 || parse_u32(b, 255, &id) < 0)
			return key_error(err, errlen, oi, "nfprobe_engine", v,
					 "is not 'engine_type:engine_id', each 0-255 (v5)");
		st->domain = t << 8 | id;
		return 0;
	}
	uint32_t d;
	/* pmacct's v5 form given for v9/IPFIX: the id part is the source id */
	const char *colon = strchr(v, ':');
	if (parse_u32(colon ? colon + 1 : v, UINT32_MAX, &d) < 0)
		return key_error(err, errlen, oi, "nfprobe_engine", v,
				 "is not a source id / observation domain (0-4294967295)");
	st->domain = d;
	return 0;
}

static int parse_timeouts(struct nfp_state *st, const struct out_instance *oi, char *err,
			  size_t errlen)
{
	const char *v = oi->conf->nfprobe_timeouts;
	for (size_t i = 0; i < NTIMEOUTS; i++)
		st->timeout[i] = timeout_default[i];
	if (!v || !*v)
		return 0;
	char buf[512];
	if (strlen(v) >= sizeof buf)
		return key_error(err, errlen, oi, "nfprobe_timeouts", v, "is too long");
	snprintf(buf, sizeof buf, "%s", v);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
		char *eq = strchr(tok, '=');
		uint32_t secs;
		if (!eq) {
			snprintf(err, errlen,
				 "key 'nfprobe_timeouts[%s]': '%s' is not name=seconds",
				 oi->conf->name, tok);
			return -1;
		}
		*eq = '\0';
		size_t i;
		for (i = 0; i < NTIMEOUTS; i++)
			if (strcmp(tok, timeout_name[i]) == 0)
				break;
		if (i == NTIMEOUTS) {
			snprintf(err, errlen,
				 "key 'nfprobe_timeouts[%s]': unknown timeout '%s' (tcp, tcp.rst, "
				 "tcp.fin, udp, icmp, general, maxlife, expint)",
				 oi->conf->name, tok);
			return -1;
		}
		if (parse_u32(eq + 1, 100000000u, &secs) < 0 || (i == TO_EXPINT && secs == 0)) {
			snprintf(
			    err, errlen,
			    "key 'nfprobe_timeouts[%s]': '%s' of %s is not a number of seconds%s",
			    oi->conf->name, eq + 1, tok, i == TO_EXPINT ? " above 0" : "");
			return -1;
		}
		st->timeout[i] = secs;
	}
	return 0;
}

/* "tag", "tag2" or a number (max), into *src and *val. */
static int parse_src(const char *v, uint64_t max, enum nfp_src *src, uint32_t *val)
{
	*src = SRC_NONE;
	if (!v || !*v)
		return 0;
	if (strcmp(v, "tag") == 0)
		*src = SRC_TAG;
	else if (strcmp(v, "tag2") == 0)
		*src = SRC_TAG2;
	else if (parse_u32(v, max, val) == 0 && *val)
		*src = SRC_STATIC;
	else
		return -1;
	return 0;
}

/* The exported fields from `aggregate` (empty: pmacct's defaults for the version). */
static uint32_t fields_from_aggregate(const struct out_instance *oi, int version)
{
	static const struct {
		const char *prim;
		uint32_t bits;
	} map[] = {
	    {"src_host", NFX_F_SRC_ADDR},
	    {"dst_host", NFX_F_DST_ADDR},
	    {"src_port", NFX_F_SRC_PORT},
	    {"dst_port", NFX_F_DST_PORT},
	    {"proto", NFX_F_PROTO | NFX_F_TCP_FLAGS},
	    {"tos", NFX_F_TOS},
	    {"tcpflags", NFX_F_TCP_FLAGS},
	    {"in_iface", NFX_F_IN_IFACE},
	    {"out_iface", NFX_F_OUT_IFACE},
	    {"src_as", NFX_F_SRC_AS},
	    {"dst_as", NFX_F_DST_AS},
	    {"src_mask", NFX_F_SRC_MASK},
	    {"dst_mask", NFX_F_DST_MASK},
	    {"vlan", NFX_F_VLAN},
	    {"src_mac", NFX_F_SRC_MAC},
	    {"dst_mac", NFX_F_DST_MAC},
	    {"mpls_label_top", NFX_F_MPLS_TOP},
	    {"flows", NFX_F_FLOWS},
	    {"class", NFX_F_APP_NAME},
	};
	uint32_t f = 0;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (keyspec_has(&oi->ks, map[i].prim))
			f |= map[i].bits;
	if (oi->ks.n == 0)
		f = version == 5 ? NFX_F_SRC_ADDR | NFX_F_DST_ADDR | NFX_F_SRC_PORT |
				       NFX_F_DST_PORT | NFX_F_PROTO | NFX_F_TCP_FLAGS | NFX_F_TOS |
				       NFX_F_IN_IFACE | NFX_F_OUT_IFACE | NFX_F_SRC_AS |
				       NFX_F_DST_AS | NFX_F_SRC_MASK | NFX_F_DST_MASK
				 : NFX_F_SRC_ADDR | NFX_F_DST_ADDR | NFX_F_SRC_PORT |
				       NFX_F_DST_PORT | NFX_F_PROTO | NFX_F_TCP_FLAGS | NFX_F_TOS;
	return f;
}

/* ---- sending ---- */

static void on_datagram(void *arg, const uint8_t *buf, size_t len, unsigned records)
{
	struct nfp_worker *w = arg;
	struct nfp_state *st = w->st;
	int err = 0;
	for (unsigned i = 0; i < st->nrecv; i++) {
		if (send(w->fd[i], buf, len, MSG_DONTWAIT) >= 0)
			continue;
		err = errno;
		if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS)
			count(&w->c.send_eagain, 1);
		else
			count(&w->c.send_errors, 1);
		atomic_fetch_add_explicit(&st->oi->write_errors, 1, memory_order_relaxed);
		switch (log_budget_take(&w->log_window, &w->log_lines, w->now, 5)) {
		case LOG_BUDGET_LINE:
			nt_log(st->oi->log, LOG_LVL_WARN, st->oi->component,
			       "worker %u: sending to %s: %s (datagram dropped, counted)", w->id,
			       st->recv_text[i], strerror(err));
			break;
		case LOG_BUDGET_LAST:
			nt_log(st->oi->log, LOG_LVL_WARN, st->oi->component,
			       "worker %u: more send errors this minute, not logged", w->id);
			break;
		case LOG_BUDGET_QUIET:
			break;
		}
	}
	count(&w->c.datagrams, 1);
	count(&w->c.bytes, len);
	count(&w->c.flows, records);
	atomic_fetch_add_explicit(&st->oi->written_entries, records, memory_order_relaxed);
}

/* ---- the flow cache ---- */

static void lru_unlink(struct nfp_worker *w, uint32_t e)
{
	struct nfp_flow *f = &w->flows[e];
	if (f->prev != NFP_NONE)
		w->flows[f->prev].next = f->next;
	else
		w->head = f->next;
	if (f->next != NFP_NONE)
		w->flows[f->next].prev = f->prev;
	else
		w->tail = f->prev;
}

static void lru_append(struct nfp_worker *w, uint32_t e)
{
	struct nfp_flow *f = &w->flows[e];
	f->next = NFP_NONE;
	f->prev = w->tail;
	if (w->tail != NFP_NONE)
		w->flows[w->tail].next = e;
	else
		w->head = e;
	w->tail = e;
}

/* The index slot holding entry e (it is there). */
static uint32_t slot_of(const struct nfp_worker *w, uint32_t e)
{
	uint32_t i = (uint32_t)w->flows[e].h & w->mask;
	while (w->idx[i] != e + 1)
		i = (i + 1) & w->mask;
	return i;
}

/* Remove slot i from the linear-probing index, shifting later entries back. */
static void idx_remove(struct nfp_worker *w, uint32_t i)
{
	uint32_t j = i;
	w->idx[i] = 0;
	for (;;) {
		j = (j + 1) & w->mask;
		if (!w->idx[j])
			return;
		uint32_t home = (uint32_t)w->flows[w->idx[j] - 1].h & w->mask;
		if (((j - home) & w->mask) >= ((j - i) & w->mask)) {
			w->idx[i] = w->idx[j];
			w->idx[j] = 0;
			i = j;
		}
	}
}

static void to_export(const struct nfp_flow *f, struct nfx_flow *x)
{
	const struct nfp_key *k = &f->k;
	memset(x, 0, sizeof *x);
	x->src.family = x->dst.family = k->family;
	memcpy(x->src.a, k->src, 16);
	memcpy(x->dst.a, k->dst, 16);
	x->packets = f->packets;
	x->bytes = f->bytes;
	x->flows = 1;
	x->first = f->first;
	x->last = f->last;
	x->in_iface = k->in_iface;
	x->out_iface = k->out_iface;
	x->src_as = k->src_as;
	x->dst_as = k->dst_as;
	x->mpls_top = k->mpls_top;
	x->src_port = k->src_port;
	x->dst_port = k->dst_port;
	x->vlan = k->vlan;
	x->proto = k->proto;
	x->tos = k->tos;
	x->tcp_flags = f->tcp_flags;
	x->src_mask = k->src_mask;
	x->dst_mask = k->dst_mask;
	x->direction = k->direction;
	memcpy(x->src_mac, k->src_mac, 6);
	memcpy(x->dst_mac, k->dst_mac, 6);
	memcpy(x->app_name, f->app_name, NFX_APP_NAME_LEN);
}

/*
 * The flow's class: not part of the key (nDPI names a flow only after some
 * packets, and those before must not become a flow of their own), the latest
 * name its packets carried instead.
 */
static void set_class(struct nfp_flow *f, const struct flow_rec *r)
{
	if (!FR_HAS(r, FR_CLASS) || !r->class_name)
		return;
	memset(f->app_name, 0, sizeof f->app_name);
	size_t n = strlen(r->class_name);
	memcpy(f->app_name, r->class_name, n < sizeof f->app_name ? n : sizeof f->app_name);
}

static void export_flow(struct nfp_worker *w, const struct nfp_flow *f, nt_usec now)
{
	struct nfx_flow x;
	to_export(f, &x);
	if (nfx_add(&w->enc, &x, now) == NFX_SKIPPED)
		count(&w->c.skipped_v6, 1);
}

/* Export entry e and free it. */
static void expire(struct nfp_worker *w, uint32_t e, enum nfp_reason why, nt_usec now)
{
	export_flow(w, &w->flows[e], now);
	count(&w->c.expired[why], 1);
	idx_remove(w, slot_of(w, e));
	lru_unlink(w, e);
	w->free_list[w->nfree++] = e;
	w->n--;
}

/* Why flow f is due at now, or R__COUNT when it is not. */
static enum nfp_reason due(const struct nfp_state *st, const struct nfp_flow *f, nt_usec now)
{
	const nt_usec s = 1000000u;
	if (now >= f->first + (nt_usec)st->timeout[TO_MAXLIFE] * s)
		return R_MAXLIFE;
	enum nfp_timeout t;
	enum nfp_reason r;
	switch (f->k.proto) {
	case 6:
		if (f->tcp_flags & 0x04) {
			t = TO_TCP_RST;
			r = R_TCP_RST;
		} else if (f->tcp_flags & 0x01) {
			t = TO_TCP_FIN;
			r = R_TCP_FIN;
		} else {
			t = TO_TCP;
			r = R_TCP;
		}
		break;
	case 17:
		t = TO_UDP;
		r = R_UDP;
		break;
	case 1:
	case 58:
		t = TO_ICMP;
		r = R_ICMP;
		break;
	default:
		t = TO_GENERAL;
		r = R_GENERAL;
		break;
	}
	return now >= f->last + (nt_usec)st->timeout[t] * s ? r : R__COUNT;
}

static void scan(struct nfp_worker *w, nt_usec now)
{
	uint32_t e = w->head;
	while (e != NFP_NONE) {
		uint32_t next = w->flows[e].next;
		enum nfp_reason why = due(w->st, &w->flows[e], now);
		if (why != R__COUNT)
			expire(w, e, why, now);
		e = next;
	}
	atomic_store_explicit(&w->c.cached, w->n, memory_order_relaxed);
}

/* The record's key, direction and interface as this output exports them. */
static void make_key(const struct nfp_state *st, const struct flow_rec *r, struct nfp_key *k)
{
	uint32_t f = st->fields;
	memset(k, 0, sizeof *k);
	k->family = r->src_addr.family ? r->src_addr.family : r->dst_addr.family;
	if ((f & NFX_F_SRC_ADDR) && FR_HAS(r, FR_SRC_ADDR))
		memcpy(k->src, r->src_addr.a, 16);
	if ((f & NFX_F_DST_ADDR) && FR_HAS(r, FR_DST_ADDR))
		memcpy(k->dst, r->dst_addr.a, 16);
	if ((f & NFX_F_SRC_PORT) && FR_HAS(r, FR_SRC_PORT))
		k->src_port = r->src_port;
	if ((f & NFX_F_DST_PORT) && FR_HAS(r, FR_DST_PORT))
		k->dst_port = r->dst_port;
	/* the protocol is always known: timeouts depend on it (exported only if asked) */
	k->proto = FR_HAS(r, FR_PROTO) ? r->proto : 0;
	if ((f & NFX_F_TOS) && FR_HAS(r, FR_TOS))
		k->tos = r->tos;
	if ((f & NFX_F_SRC_AS) && FR_HAS(r, FR_SRC_AS))
		k->src_as = r->src_as;
	if ((f & NFX_F_DST_AS) && FR_HAS(r, FR_DST_AS))
		k->dst_as = r->dst_as;
	if ((f & NFX_F_SRC_MASK) && FR_HAS(r, FR_SRC_MASK))
		k->src_mask = r->src_mask;
	if ((f & NFX_F_DST_MASK) && FR_HAS(r, FR_DST_MASK))
		k->dst_mask = r->dst_mask;
	if ((f & NFX_F_VLAN) && FR_HAS(r, FR_VLAN_IN))
		k->vlan = r->vlan_in;
	if ((f & NFX_F_SRC_MAC) && FR_HAS(r, FR_SRC_MAC))
		memcpy(k->src_mac, r->src_mac, 6);
	if ((f & NFX_F_DST_MAC) && FR_HAS(r, FR_DST_MAC))
		memcpy(k->dst_mac, r->dst_mac, 6);
	if ((f & NFX_F_MPLS_TOP) && FR_HAS(r, FR_MPLS) && r->mpls_depth)
		k->mpls_top = r->mpls[0];

	/* direction: static, or tag/tag2 1 = in, 2 = out (pmacct) */
	uint8_t dir = 0;
	if (st->dir_src == SRC_STATIC)
		dir = st->dir_static;
	else if (st->dir_src == SRC_TAG || st->dir_src == SRC_TAG2) {
		uint64_t t = st->dir_src == SRC_TAG ? (FR_HAS(r, FR_TAG) ? r->tag : 0)
						    : (FR_HAS(r, FR_TAG2) ? r->tag2 : 0);
		dir = t == 2 ? 1 : 0;
	}
	if (f & NFX_F_DIRECTION)
		k->direction = dir;

	uint32_t in = FR_HAS(r, FR_IN_IFACE) ? r->in_iface : 0;
	uint32_t out = FR_HAS(r, FR_OUT_IFACE) ? r->out_iface : 0;
	if (st->if_src != SRC_NONE) {
		uint32_t v = st->if_static;
		if (st->if_src == SRC_TAG)
			v = FR_HAS(r, FR_TAG) ? (uint32_t)r->tag : 0;
		else if (st->if_src == SRC_TAG2)
			v = FR_HAS(r, FR_TAG2) ? (uint32_t)r->tag2 : 0;
		uint32_t *slot = dir == 1 ? &out : &in;
		if (v && (!*slot || st->if_override))
			*slot = v;
	}
	if (f & NFX_F_IN_IFACE)
		k->in_iface = in;
	if (f & NFX_F_OUT_IFACE)
		k->out_iface = out;
}

static void nfp_record(struct out_instance *oi, unsigned worker, const struct flow_rec *r,
		       const struct nt_frame *frame)
{
	struct nfp_state *st = oi->state;
	struct nfp_worker *w = st->w[worker];
	(void)frame;
	if (!r->src_addr.family && !r->dst_addr.family)
		return; /* not IP: nothing a flow export carries */
	nt_usec now = r->ts_arrival;
	w->now = now;
	if (!w->booted) {
		/* the exporter "boots" with its first packet: sysUptime counts from there */
		w->enc.boot = now;
		w->booted = 1;
		w->next_scan = now + (nt_usec)st->timeout[TO_EXPINT] * 1000000u;
	}
	struct nfp_flow tmp;
	make_key(st, r, &tmp.k);
	uint8_t flags = FR_HAS(r, FR_TCP_FLAGS) ? r->tcp_flags : 0;
	if (st->dont_cache) {
		tmp.packets = r->packets;
		tmp.bytes = r->bytes;
		tmp.first = tmp.last = now;
		tmp.tcp_flags = flags;
		memset(tmp.app_name, 0, sizeof tmp.app_name);
		set_class(&tmp, r);
		export_flow(w, &tmp, now);
		return;
	}
	uint64_t h = agg_hash((const uint8_t *)&tmp.k, sizeof tmp.k);
	uint32_t i = (uint32_t)h & w->mask;
	for (; w->idx[i]; i = (i + 1) & w->mask) {
		struct nfp_flow *f = &w->flows[w->idx[i] - 1];
		if (f->h == h && memcmp(&f->k, &tmp.k, sizeof tmp.k) == 0) {
			f->packets += r->packets;
			f->bytes += r->bytes;
			f->tcp_flags |= flags;
			if (now > f->last)
				f->last = now;
			set_class(f, r);
			uint32_t e = w->idx[i] - 1;
			if (w->tail != e) {
				lru_unlink(w, e);
				lru_append(w, e);
			}
			return;
		}
	}
	if (w->n == st->maxflows) {
		expire(w, w->head, R_FORCED, now);
		/* the removal may have shifted entries: find the free slot again */
		i = (uint32_t)h & w->mask;
		while (w->idx[i])
			i = (i + 1) & w->mask;
	}
	uint32_t e = w->free_list[--w->nfree];
	struct nfp_flow *f = &w->flows[e];
	f->k = tmp.k;
	f->h = h;
	f->packets = r->packets;
	f->bytes = r->bytes;
	f->first = f->last = now;
	f->tcp_flags = flags;
	memset(f->app_name, 0, sizeof f->app_name);
	set_class(f, r);
	w->idx[i] = e + 1;
	lru_append(w, e);
	w->n++;
}

static void nfp_tick(struct out_instance *oi, unsigned worker, uint64_t now)
{
	struct nfp_state *st = oi->state;
	struct nfp_worker *w = st->w[worker];
	if (!w->booted)
		return;
	w->now = now;
	if (now >= w->next_scan) {
		scan(w, now);
		w->next_scan = now + (nt_usec)st->timeout[TO_EXPINT] * 1000000u;
	}
	/* what expired (or, without a cache, what was seen) leaves within a tick */
	nfx_flush(&w->enc, now);
}

static void nfp_stop(struct out_instance *oi, unsigned worker, uint64_t now)
{
	struct nfp_state *st = oi->state;
	struct nfp_worker *w = st->w[worker];
	w->now = now;
	while (w->head != NFP_NONE)
		expire(w, w->head, R_STOP, now);
	atomic_store_explicit(&w->c.cached, 0, memory_order_relaxed);
	nfx_flush(&w->enc, now);
}

/* ---- life cycle ---- */

static void free_worker(struct nfp_worker *w)
{
	if (!w)
		return;
	for (unsigned i = 0; i < NFP_MAX_RECEIVERS; i++)
		if (w->fd[i] >= 0)
			close(w->fd[i]);
	free(w->flows);
	free(w->idx);
	free(w->free_list);
	free(w);
}

static void free_state(struct nfp_state *st)
{
	if (!st)
		return;
	for (unsigned i = 0; st->w && i < st->nworkers; i++)
		free_worker(st->w[i]);
	free(st->w);
	free(st);
}

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* A non-blocking UDP socket connected to receiver i; -1 with err. */
static int open_socket(const struct nfp_state *st, unsigned i, char *err, size_t errlen)
{
	const struct sockaddr_storage *to = &st->recv[i];
	int fd = socket(to->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "nfprobe: socket: %s", strerror(errno));
		return -1;
	}
	if (st->src.ss_family) {
		if (st->src.ss_family != to->ss_family) {
			snprintf(err, errlen,
				 "key 'nfprobe_source_ip': not the address family of receiver %s",
				 st->recv_text[i]);
			close(fd);
			return -1;
		}
		if (bind(fd, (const struct sockaddr *)&st->src, sa_len(&st->src)) < 0) {
			snprintf(err, errlen, "key 'nfprobe_source_ip': cannot send from it: %s",
				 strerror(errno));
			close(fd);
			return -1;
		}
	}
	if (st->hoplimit > 0) {
		int h = st->hoplimit;
		int rc = to->ss_family == AF_INET
			     ? setsockopt(fd, IPPROTO_IP, IP_TTL, &h, sizeof h)
			     : setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &h, sizeof h);
		if (rc < 0) {
			snprintf(err, errlen, "key 'nfprobe_hoplimit': %s", strerror(errno));
			close(fd);
			return -1;
		}
	}
	if (endpoint_set_ipprec(fd, to->ss_family, st->ipprec) < 0) {
		snprintf(err, errlen, "key 'nfprobe_ipprec': %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)to, sa_len(to)) < 0) {
		snprintf(err, errlen, "nfprobe_receiver %s: %s", st->recv_text[i], strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int open_worker(struct nfp_state *st, unsigned id, char *err, size_t errlen)
{
	struct nfp_worker *w = calloc(1, sizeof *w);
	if (!w)
		goto nomem;
	st->w[id] = w;
	w->st = st;
	w->id = id;
	for (unsigned i = 0; i < NFP_MAX_RECEIVERS; i++)
		w->fd[i] = -1;
	uint32_t domain = st->version == 5 ? (st->domain & 0xff00u) | ((st->domain + id) & 0xffu)
					   : st->domain + id;
	if (nfx_init(&w->enc, st->version, st->fields, domain, st->mtu, 0, on_datagram, w) < 0) {
		snprintf(err, errlen, "nfprobe: bad version or mtu");
		return -1;
	}
	if (!st->dont_cache) {
		size_t cap = 1;
		while (cap < (size_t)st->maxflows * 2)
			cap <<= 1;
		w->mask = (uint32_t)(cap - 1);
		w->flows = calloc(st->maxflows, sizeof *w->flows);
		w->idx = calloc(cap, sizeof *w->idx);
		w->free_list = calloc(st->maxflows, sizeof *w->free_list);
		if (!w->flows || !w->idx || !w->free_list)
			goto nomem;
		for (uint32_t i = 0; i < st->maxflows; i++)
			w->free_list[i] = st->maxflows - 1 - i;
		w->nfree = st->maxflows;
	}
	w->head = w->tail = NFP_NONE;
	for (unsigned i = 0; i < st->nrecv; i++)
		if ((w->fd[i] = open_socket(st, i, err, errlen)) < 0)
			return -1;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int nfp_open(struct out_instance *oi, char *err, size_t errlen)
{
	const struct conf_plugin *pc = oi->conf;
	struct nfp_state *st = calloc(1, sizeof *st);
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	oi->state = st;
	st->oi = oi;
	st->version = pc->nfprobe_version;
	if (st->version != 5 && st->version != 9 && st->version != 10) {
		char v[16];
		snprintf(v, sizeof v, "%d", st->version);
		return key_error(err, errlen, oi, "nfprobe_version", v, "is not 5, 9 or 10");
	}
	st->maxflows = (uint32_t)pc->nfprobe_maxflows;
	st->dont_cache = pc->nfprobe_dont_cache;
	st->hoplimit = pc->nfprobe_hoplimit;
	st->ipprec = pc->nfprobe_ipprec;
	st->mtu = (size_t)pc->nfprobe_mtu;
	st->if_override = pc->nfprobe_ifindex_override;
	st->nworkers = oi->nworkers ? oi->nworkers : 1;
	if (parse_receivers(st, oi, err, errlen) < 0 || parse_engine(st, oi, err, errlen) < 0 ||
	    parse_timeouts(st, oi, err, errlen) < 0)
		return -1;
	const char *dir = pc->nfprobe_direction;
	if (dir && *dir) {
		if (strcmp(dir, "in") == 0 || strcmp(dir, "out") == 0) {
			st->dir_src = SRC_STATIC;
			st->dir_static = dir[0] == 'o';
		} else if (strcmp(dir, "tag") == 0) {
			st->dir_src = SRC_TAG;
		} else if (strcmp(dir, "tag2") == 0) {
			st->dir_src = SRC_TAG2;
		} else {
			return key_error(err, errlen, oi, "nfprobe_direction", dir,
					 "is not in, out, tag or tag2");
		}
	}
	if (parse_src(pc->nfprobe_ifindex, UINT32_MAX, &st->if_src, &st->if_static) < 0)
		return key_error(err, errlen, oi, "nfprobe_ifindex", pc->nfprobe_ifindex,
				 "is not tag, tag2 or an interface index (1-4294967295)");
	st->fields = fields_from_aggregate(oi, st->version);
	if (st->dir_src != SRC_NONE)
		st->fields |= NFX_F_DIRECTION;
	if (st->if_src != SRC_NONE)
		st->fields |= NFX_F_IN_IFACE | NFX_F_OUT_IFACE;
	if (pc->nfprobe_source_ip && *pc->nfprobe_source_ip) {
		const char *ip = pc->nfprobe_source_ip;
		struct sockaddr_in *s4 = (struct sockaddr_in *)&st->src;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&st->src;
		if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1)
			s4->sin_family = AF_INET;
		else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1)
			s6->sin6_family = AF_INET6;
		else
			return key_error(err, errlen, oi, "nfprobe_source_ip", ip,
					 "is not an IPv4 or IPv6 address");
	}
	st->w = calloc(st->nworkers, sizeof *st->w);
	if (!st->w) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < st->nworkers; i++)
		if (open_worker(st, i, err, errlen) < 0)
			return -1;
	char recv[NFP_MAX_RECEIVERS * 66] = "";
	for (unsigned i = 0; i < st->nrecv; i++) {
		size_t l = strlen(recv);
		snprintf(recv + l, sizeof recv - l, "%s%s", i ? "," : "", st->recv_text[i]);
	}
	nt_log(oi->log, LOG_LVL_INFO, oi->component, "exporting %s to %s, %s %u%s, %s",
	       st->version == 5	  ? "NetFlow v5"
	       : st->version == 9 ? "NetFlow v9"
				  : "IPFIX",
	       recv,
	       st->version == 5	  ? "engine"
	       : st->version == 9 ? "source id"
				  : "domain",
	       st->version == 5 ? st->domain & 0xffu : st->domain,
	       st->nworkers > 1 ? " (+ worker number)" : "",
	       st->dont_cache ? "no cache" : "cache of nfprobe_maxflows per worker");
	return 0;
}

/* Empty tables are all a probe's writer gets: nothing to write. */
static int nfp_write(struct out_instance *oi, const struct agg_table *t,
		     const struct out_interval *iv)
{
	(void)oi;
	(void)t;
	(void)iv;
	return 0;
}

static void nfp_stats(struct out_instance *oi, struct obuf *line)
{
	struct nfp_state *st = oi->state;
	uint64_t flows = 0, dg = 0, bytes = 0, errs = 0, eagain = 0, v6 = 0, cached = 0;
	uint64_t exp[R__COUNT] = {0};
	for (unsigned i = 0; st && st->w && i < st->nworkers && st->w[i]; i++) {
		struct nfp_counters *c = &st->w[i]->c;
		flows += load(&c->flows);
		dg += load(&c->datagrams);
		bytes += load(&c->bytes);
		errs += load(&c->send_errors);
		eagain += load(&c->send_eagain);
		v6 += load(&c->skipped_v6);
		cached += load(&c->cached);
		for (int r = 0; r < R__COUNT; r++)
			exp[r] += load(&c->expired[r]);
	}
	obuf_printf(line,
		    " flows_exported=%llu datagrams=%llu bytes=%llu send_errors=%llu "
		    "send_dropped=%llu",
		    (unsigned long long)flows, (unsigned long long)dg, (unsigned long long)bytes,
		    (unsigned long long)errs, (unsigned long long)eagain);
	for (int r = 0; r < R__COUNT; r++)
		obuf_printf(line, " expired_%s=%llu", reason_name[r], (unsigned long long)exp[r]);
	obuf_printf(line, " cached=%llu", (unsigned long long)cached);
	if (v6)
		obuf_printf(line, " v6_not_in_v5=%llu", (unsigned long long)v6);
}

static const struct mx_family fam_flows = {"netacct_nfprobe_flows_exported_total",
					   "Flow records exported by nfprobe.", MX_COUNTER, 0};
static const struct mx_family fam_dgrams = {
    "netacct_nfprobe_datagrams_total", "Export datagrams nfprobe built and sent.", MX_COUNTER, 0};
static const struct mx_family fam_send_err = {
    "netacct_nfprobe_send_errors_total",
    "Datagrams a receiver did not get: send errors (kind=error) or a full socket buffer "
    "(kind=dropped).",
    MX_COUNTER, 0};
static const struct mx_family fam_expired = {
    "netacct_nfprobe_expired_total",
    "Flows that left the cache, by reason (timeouts, maxlife, forced: the cache was full, "
    "stop).",
    MX_COUNTER, 0};
static const struct mx_family fam_cached = {
    "netacct_nfprobe_cached_flows", "Flows in the caches at the last expiry scan.", MX_GAUGE, 0};

static void nfp_metrics(struct out_instance *oi, struct mx_snap *s)
{
	struct nfp_state *st = oi->state;
	uint64_t flows = 0, dg = 0, errs = 0, eagain = 0, cached = 0;
	uint64_t exp[R__COUNT] = {0};
	const char *name = oi->conf->name;
	for (unsigned i = 0; st->w && i < st->nworkers && st->w[i]; i++) {
		const struct nfp_counters *c = &st->w[i]->c;
		flows += load(&c->flows);
		dg += load(&c->datagrams);
		errs += load(&c->send_errors);
		eagain += load(&c->send_eagain);
		cached += load(&c->cached);
		for (int r = 0; r < R__COUNT; r++)
			exp[r] += load(&c->expired[r]);
	}
	mx_put(s, &fam_flows, flows, 1, "output", name);
	mx_put(s, &fam_dgrams, dg, 1, "output", name);
	mx_put(s, &fam_send_err, errs, 2, "output", name, "kind", "error");
	mx_put(s, &fam_send_err, eagain, 2, "output", name, "kind", "dropped");
	for (int r = 0; r < R__COUNT; r++)
		mx_put(s, &fam_expired, exp[r], 2, "output", name, "reason", reason_name[r]);
	mx_put(s, &fam_cached, cached, 1, "output", name);
}

static void nfp_close(struct out_instance *oi)
{
	/* the final counters, once every worker has exported what it held */
	struct obuf line;
	obuf_init(&line, 0);
	obuf_puts(&line, "stats module");
	nfp_stats(oi, &line);
	if (obuf_status(&line) == 0)
		nt_log(oi->log, LOG_LVL_INFO, oi->component, "%s", line.data);
	obuf_free(&line);
	free_state(oi->state);
	oi->state = NULL;
}

const struct out_module out_nfprobe_module = {
    .sinks = OUT_SINK_RECORD,
    .conf = {.type = "nfprobe", .tables = nfprobe_tables, .daemons = D_PMACCTD | D_UACCTD},
    .open = nfp_open,
    .write = nfp_write,
    .record = nfp_record,
    .worker_tick_ms = NFP_TICK_MS,
    .worker_tick = nfp_tick,
    .worker_stop = nfp_stop,
    .stats = nfp_stats,
    .metrics = nfp_metrics,
    .close = nfp_close,
};
