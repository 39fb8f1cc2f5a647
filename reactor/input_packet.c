#include "reactor/input_packet.h"
#include "reactor/rng.h"

#include <net/if.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agg/classify.h"
#include "agg/flowtrack.h"
#include "agg/mapline.h"
#include "proto/packet.h"
#include "reactor/capture.h"
#include "reactor/daemon.h"
#include "reactor/loop.h"
#include "reactor/nflog.h"
#include "reactor/worker.h"

#define MAX_IFACES    64
#define READ_CHUNK    256   /* frames per capture read */
#define READ_ROUNDS   16    /* reads per wake-up before timers get their turn */
#define IFACE_RETRY_S 5	    /* pcap_interface_wait: seconds between attempts */
#define MAX_WORKERS   256   /* reactor_workers' bound */
#define RING_SLOTS    2048u /* frames in flight from the capture worker to another (hand-off) */
#define RING_BURST    1024u /* frames a consumer takes per wake-up before yielding */

/*
 * Hand-off mode (no PACKET_FANOUT, or pmacctd_fanout: false): worker 0 alone
 * captures and hands each frame to the worker of its host pair through that
 * worker's ring (one producer, one consumer), so the flow state of a
 * conversation lives on one worker.  A full ring drops the frame, counted.
 */
struct frame_ring {
	struct nt_frame *meta; /* frame i's data is buf + i * slot_size */
	uint8_t *buf;
	size_t slot_size;
	_Atomic unsigned head; /* the producer's */
	_Atomic unsigned tail; /* the consumer's */
	struct nt_ev *ev;      /* the consumer's wake-up */
};

/* Daemon-wide (pmacctd live): the mode worker 0 chose and every worker's state. */
struct pkt_global {
	int handoff;
	struct pkt_input *w[MAX_WORKERS];
};

struct pkt_input;

/* One interface captured by this worker (pmacctd). */
struct live_if {
	struct pkt_input *in;
	char name[IF_NAMESIZE + 1];
	uint32_t ifindex;
	int dir_out; /* 1: pcap_direction out (ifindex fills out_iface) */
	int dir_set;
	unsigned idx; /* position in the interface list: the fanout group */
	struct capture *cap;
	struct nt_ev *ev_read, *ev_retry;
};

struct pkt_input {
	struct worker *w;
	struct pkt_decoder dec;
	struct flowtrack *ft;
	struct classifier cls; /* nDPI, when an output aggregates `class` */
	int classify;
	struct flow_rec rec;
	worker_record_fn sink;
	int time_new;
	uint32_t rate; /* sampling_rate, > 1 to sample */
	uint64_t rng;
	uint64_t sampled_out, malformed;

	struct live_if ifs[MAX_IFACES];
	unsigned nifs;

	struct nflog_source *nfl;
	struct nt_ev *ev_nfl;
	int nfl_error_logged;

	/* hand-off mode: worker 0 dispatches, the others consume their ring */
	struct pkt_global *g;
	int fanout;		 /* join a PACKET_FANOUT group */
	int stopping;		 /* worker 0 at stop: account the backlog itself */
	struct pkt_decoder disp; /* worker 0: finds a frame's host pair */
	struct flow_rec disp_rec;
	int disp_ready;
	uint64_t pending[MAX_WORKERS / 64]; /* rings written since the last wake-ups */
	uint64_t handed_off, handoff_dropped;
	struct frame_ring *ring; /* workers > 0 */
};

static nt_usec wall_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (nt_usec)ts.tv_sec * 1000000u + (nt_usec)ts.tv_nsec / 1000u;
}

static enum input_verdict on_frame(void *state, struct worker *w, const struct nt_frame *f)
{
	struct pkt_input *in = state;
	struct flow_rec *r = &in->rec;
	if (in->rate > 1 && (rng_next(&in->rng) >> 11) % in->rate != 0) {
		in->sampled_out++;
		return INPUT_OK;
	}
	flow_rec_clear(r);
	enum pkt_reason why =
	    pkt_decode(&in->dec, f->link, f->data, f->caplen, f->wirelen, f->ts, r);
	if (why != PKT_OK) {
		/*
		 * not IP: nothing to account (as pmacctd); a fragment held for its
		 * first one is accounted with it; broken: counted per reason
		 */
		if (why == PKT_NOT_IP || why == PKT_FRAG_HELD)
			return INPUT_OK;
		in->malformed++;
		return INPUT_MALFORMED;
	}
	nt_usec t = in->time_new ? wall_usec() : f->ts;
	r->ts_arrival = t;
	w->now_usec = t;
	if (f->in_iface) {
		r->in_iface = f->in_iface;
		FR_SET(r, FR_IN_IFACE);
	}
	if (f->out_iface) {
		r->out_iface = f->out_iface;
		FR_SET(r, FR_OUT_IFACE);
	}
	if (in->rate > 1) {
		r->sampling_rate = in->rate;
		FR_SET(r, FR_SAMPLING);
	}
	if (in->classify)
		classify_packet(&in->cls, in->dec.l3, in->dec.l3_len, f->ts, r);
	flowtrack_packet(in->ft, r, f->ts);
	in->sink(w, r);
	return INPUT_OK;
}

/* ---- pmacctd: libpcap interfaces ---- */

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h ? h : 1;
}

static int add_iface(struct pkt_input *in, const char *name, char *why, size_t whylen)
{
	if (in->nifs == MAX_IFACES) {
		snprintf(why, whylen, "more than %d interfaces", MAX_IFACES);
		return -1;
	}
	if (strlen(name) > IF_NAMESIZE - 1) {
		snprintf(why, whylen, "interface name '%s' is too long", name);
		return -1;
	}
	struct live_if *li = &in->ifs[in->nifs];
	memset(li, 0, sizeof *li);
	li->in = in;
	li->idx = in->nifs++;
	snprintf(li->name, sizeof li->name, "%s", name);
	return 0;
}

static int on_map_line(void *arg, const struct mapline *l, char *why, size_t whylen)
{
	static const char *const known[] = {"ifname", "ifindex", "direction", NULL};
	struct pkt_input *in = arg;
	if (mapline_check_keys(l, known, why, whylen) < 0)
		return -1;
	const char *name = mapline_get(l, "ifname");
	const char *idx = mapline_get(l, "ifindex");
	const char *dir = mapline_get(l, "direction");
	if (!name) {
		snprintf(why, whylen, "no ifname");
		return -1;
	}
	if (add_iface(in, name, why, whylen) < 0)
		return -1;
	struct live_if *li = &in->ifs[in->nifs - 1];
	if (idx) {
		char *end;
		unsigned long v = strtoul(idx, &end, 10);
		if (*end || v == 0 || v > UINT32_MAX) {
			snprintf(why, whylen, "ifindex '%s' is not a number 1..4294967295", idx);
			return -1;
		}
		li->ifindex = (uint32_t)v;
	}
	if (dir) {
		if (strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0) {
			snprintf(why, whylen, "direction '%s' is not in or out", dir);
			return -1;
		}
		li->dir_set = 1;
		li->dir_out = strcmp(dir, "out") == 0;
	}
	return 0;
}

/* The interfaces to capture on, from pcap_interfaces_map, pcap_interface or libpcap's default. */
static int list_ifaces(struct pkt_input *in, const struct conf *c, char *err, size_t errlen)
{
	char why[512];
	if (c->pcap_interfaces_map && *c->pcap_interfaces_map) {
		if (mapline_parse_file(c->pcap_interfaces_map, 0, on_map_line, in, why,
				       sizeof why) < 0) {
			snprintf(err, errlen, "key 'pcap_interfaces_map': %s", why);
			return -1;
		}
		if (!in->nifs) {
			snprintf(err, errlen, "key 'pcap_interfaces_map': %s lists no interface",
				 c->pcap_interfaces_map);
			return -1;
		}
	} else if (c->pcap_interface && *c->pcap_interface) {
		if (add_iface(in, c->pcap_interface, why, sizeof why) < 0) {
			snprintf(err, errlen, "key 'pcap_interface': %s", why);
			return -1;
		}
	} else if (add_iface(in, "any", why, sizeof why) < 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	const char *how = c->pcap_ifindex ? c->pcap_ifindex : "none";
	for (unsigned i = 0; i < in->nifs; i++) {
		struct live_if *li = &in->ifs[i];
		if (!li->dir_set && c->pcap_direction && *c->pcap_direction) {
			li->dir_set = 1;
			li->dir_out = strcmp(c->pcap_direction, "out") == 0;
		}
		if (strcmp(how, "sys") == 0)
			li->ifindex = if_nametoindex(li->name); /* 0 while it does not exist */
		else if (strcmp(how, "hash") == 0)
			li->ifindex = name_hash(li->name);
		else if (strcmp(how, "none") == 0)
			li->ifindex = 0;
		/* map: as the map line gave it */
	}
	return 0;
}

/* The worker of a frame's host pair (either direction; fragments follow their datagram). */
static unsigned dispatch_target(struct pkt_input *in, const struct nt_frame *f)
{
	struct flow_rec *r = &in->disp_rec;
	flow_rec_clear(r);
	if (pkt_decode(&in->disp, f->link, f->data, f->caplen, f->wirelen, f->ts, r) != PKT_OK ||
	    !FR_HAS(r, FR_SRC_ADDR) || !FR_HAS(r, FR_DST_ADDR))
		return 0;
	int c = memcmp(r->src_addr.a, r->dst_addr.a, 16);
	const uint8_t *lo = c < 0 ? r->src_addr.a : r->dst_addr.a;
	const uint8_t *hi = c < 0 ? r->dst_addr.a : r->src_addr.a;
	uint32_t h = 2166136261u; /* FNV-1a */
	for (int i = 0; i < 16; i++)
		h = (h ^ lo[i]) * 16777619u;
	for (int i = 0; i < 16; i++)
		h = (h ^ hi[i]) * 16777619u;
	h = (h ^ (FR_HAS(r, FR_PROTO) ? r->proto : 0)) * 16777619u;
	return (h ^ (h >> 16)) % in->w->ctx->nworkers;
}

static void hand_off_frame(struct pkt_input *in, unsigned t, const struct nt_frame *f)
{
	struct frame_ring *q = in->g->w[t]->ring;
	unsigned head = atomic_load_explicit(&q->head, memory_order_relaxed);
	unsigned tail = atomic_load_explicit(&q->tail, memory_order_acquire);
	if (head - tail >= RING_SLOTS) {
		in->handoff_dropped++;
		return;
	}
	unsigned i = head % RING_SLOTS;
	size_t n = f->caplen < q->slot_size ? f->caplen : q->slot_size;
	uint8_t *slot = q->buf + (size_t)i * q->slot_size;
	memcpy(slot, f->data, n);
	q->meta[i] = *f;
	q->meta[i].data = slot;
	q->meta[i].caplen = n;
	atomic_store_explicit(&q->head, head + 1, memory_order_release);
	in->pending[t / 64] |= 1ull << (t % 64);
	in->handed_off++;
}

/* After a read: wake the workers whose rings got frames. */
static void wake_pending(struct pkt_input *in)
{
	for (unsigned k = 0; k < MAX_WORKERS / 64; k++)
		while (in->pending[k]) {
			unsigned b = (unsigned)__builtin_ctzll(in->pending[k]);
			in->pending[k] &= in->pending[k] - 1;
			nt_ev_trigger(in->g->w[k * 64 + b]->ring->ev);
		}
}

static int on_capture_frame(void *arg, const struct capture_frame *cf)
{
	struct live_if *li = arg;
	struct pkt_input *in = li->in;
	struct nt_frame f = {cf->link, cf->data, cf->caplen, cf->wirelen, cf->ts, 0, 0, 0, 0};
	if (li->dir_out)
		f.out_iface = li->ifindex;
	else
		f.in_iface = li->ifindex;
	if (in->disp_ready && !in->stopping) {
		unsigned t = dispatch_target(in, &f);
		if (t != in->w->id) {
			hand_off_frame(in, t, &f);
			return 0;
		}
	}
	worker_deliver_frame(in->w, &f);
	return 0;
}

/* A consumer's wake-up: account what worker 0 handed over. */
static void on_ring(void *arg)
{
	struct pkt_input *in = arg;
	struct frame_ring *q = in->ring;
	unsigned tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	unsigned head = atomic_load_explicit(&q->head, memory_order_acquire);
	if (tail == head)
		return;
	worker_batch_begin(in->w);
	unsigned n = 0;
	for (; tail != head && n < RING_BURST; tail++, n++) {
		worker_deliver_frame(in->w, &q->meta[tail % RING_SLOTS]);
		atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
	}
	worker_batch_end(in->w);
	if (tail != head)
		nt_ev_trigger(q->ev); /* more: after the loop's other events */
}

static int open_ring(struct pkt_input *in, char *err, size_t errlen)
{
	const struct conf *c = &in->w->ctx->conf;
	struct frame_ring *q = calloc(1, sizeof *q);
	in->ring = q;
	if (!q) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	q->slot_size = (size_t)(c->snaplen > 0 ? c->snaplen : 65535);
	q->meta = calloc(RING_SLOTS, sizeof *q->meta);
	q->buf = malloc((size_t)RING_SLOTS * q->slot_size);
	q->ev = nt_ev_wakeup(in->w->loop, on_ring, in);
	if (!q->meta || !q->buf || !q->ev) {
		snprintf(err, errlen, "worker %u: cannot allocate its hand-off ring", in->w->id);
		return -1;
	}
	return 0;
}

static void free_ring(struct frame_ring *q)
{
	if (!q)
		return;
	nt_ev_free(q->ev);
	free(q->meta);
	free(q->buf);
	free(q);
}

/* Read what the capture holds, bounded; 1 when it had nothing more. */
static int read_iface(struct live_if *li, int rounds)
{
	struct worker *w = li->in->w;
	char err[512];
	int drained = 0;
	worker_batch_begin(w);
	for (int i = 0; i < rounds; i++) {
		int n =
		    capture_read_frames(li->cap, READ_CHUNK, on_capture_frame, li, err, sizeof err);
		if (n < 0) {
			nt_log(&w->ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "worker %u: %s", w->id,
			       err);
			nt_ev_free(li->ev_read); /* an interface gone: stop watching it */
			li->ev_read = NULL;
			drained = 1;
			break;
		}
		if (n < READ_CHUNK) {
			drained = 1;
			break;
		}
	}
	worker_batch_end(w);
	wake_pending(li->in);
	return drained;
}

static void on_iface_readable(int fd, unsigned what, void *arg)
{
	(void)fd;
	(void)what;
	read_iface(arg, READ_ROUNDS);
}

static int open_iface(struct live_if *li, char *err, size_t errlen)
{
	const struct conf *c = &li->in->w->ctx->conf;
	struct capture_live_opts o = {
	    .snaplen = c->snaplen,
	    .promisc = c->promisc,
	    .direction_in = li->dir_set && !li->dir_out,
	    .direction_out = li->dir_set && li->dir_out,
	    .protocol = c->pcap_protocol,
	    /* libpcap's 2 MiB default holds a few dozen large frames: bursts would drop */
	    .buffer_bytes = c->nfacctd_pipe_size > 0 ? c->nfacctd_pipe_size : 8 << 20,
	};
	if (li->in->fanout) /* one group per interface, shared by the workers */
		o.fanout_group = (int)((((unsigned)getpid() & 0x3ff) << 6 | li->idx) & 0xffff) | 1;
	if (capture_open_live(&li->cap, li->name,
			      c->pcap_filter && *c->pcap_filter ? c->pcap_filter : NULL, &o, err,
			      errlen) < 0)
		return -1;
	li->ev_read =
	    nt_ev_fd(li->in->w->loop, capture_fd(li->cap), NT_EV_READ, on_iface_readable, li);
	if (!li->ev_read) {
		snprintf(err, errlen, "interface %s: cannot watch the capture", li->name);
		return -1;
	}
	if (!li->ifindex && strcmp(c->pcap_ifindex ? c->pcap_ifindex : "", "sys") == 0)
		li->ifindex = if_nametoindex(li->name);
	return 0;
}

/* pcap_interface_wait: try again until the interface exists. */
static void on_iface_retry(void *arg)
{
	struct live_if *li = arg;
	struct worker *w = li->in->w;
	char err[512];
	if (open_iface(li, err, sizeof err) == 0) {
		nt_log(&w->ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
		       "worker %u: interface %s is up, capturing", w->id, li->name);
		return;
	}
	capture_close(li->cap);
	li->cap = NULL;
	nt_ev_arm(li->ev_retry, IFACE_RETRY_S * 1000000u);
}

static int open_ifaces(struct pkt_input *in, char *err, size_t errlen)
{
	const struct conf *c = &in->w->ctx->conf;
	for (unsigned i = 0; i < in->nifs; i++) {
		struct live_if *li = &in->ifs[i];
		char why[512];
		if (open_iface(li, why, sizeof why) == 0)
			continue;
		capture_close(li->cap);
		li->cap = NULL;
		if (!c->pcap_interface_wait) {
			snprintf(err, errlen, "%s%s", why,
				 strstr(why, "PACKET_FANOUT")
				     ? " (set reactor_workers: 1 to capture without fanout)"
				     : "");
			return -1;
		}
		nt_log(&in->w->ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
		       "worker %u: %s; waiting for it (pcap_interface_wait)", in->w->id, why);
		li->ev_retry = nt_ev_timer(in->w->loop, on_iface_retry, li);
		if (!li->ev_retry) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		nt_ev_arm(li->ev_retry, IFACE_RETRY_S * 1000000u);
	}
	return 0;
}

/* ---- uacctd: NFLOG ---- */

static void on_nflog_packet(void *arg, const struct nt_frame *f)
{
	struct pkt_input *in = arg;
	worker_deliver_frame(in->w, f);
}

static int read_nflog(struct pkt_input *in, int rounds)
{
	struct worker *w = in->w;
	char err[512];
	int drained = 0;
	worker_batch_begin(w);
	for (int i = 0; i < rounds; i++) {
		int n = nflog_source_read(in->nfl, 64, err, sizeof err);
		if (n < 0 && !in->nfl_error_logged) {
			in->nfl_error_logged = 1;
			nt_log(&w->ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "%s", err);
		}
		if (n < 64) {
			drained = 1;
			break;
		}
	}
	worker_batch_end(w);
	return drained;
}

static void on_nflog_readable(int fd, unsigned what, void *arg)
{
	(void)fd;
	(void)what;
	read_nflog(arg, READ_ROUNDS);
}

static int open_nflog(struct pkt_input *in, char *err, size_t errlen)
{
	const struct conf *c = &in->w->ctx->conf;
	struct nflog_source_opts o = {(unsigned)c->uacctd_group, (unsigned)c->uacctd_nl_size,
				      (unsigned)c->snaplen, (unsigned)c->uacctd_threshold};
	if (nflog_source_open(&in->nfl, &o, on_nflog_packet, in, err, errlen) < 0)
		return -1;
	in->ev_nfl =
	    nt_ev_fd(in->w->loop, nflog_source_fd(in->nfl), NT_EV_READ, on_nflog_readable, in);
	if (!in->ev_nfl) {
		snprintf(err, errlen, "NFLOG: cannot watch the socket");
		return -1;
	}
	return 0;
}

/* ---- the module ---- */

static void destroy(void *state)
{
	struct pkt_input *in = state;
	if (!in)
		return;
	for (unsigned i = 0; i < in->nifs; i++) {
		nt_ev_free(in->ifs[i].ev_read);
		nt_ev_free(in->ifs[i].ev_retry);
		capture_close(in->ifs[i].cap);
	}
	nt_ev_free(in->ev_nfl);
	nflog_source_close(in->nfl);
	free_ring(in->ring);
	if (in->disp_ready)
		pkt_decoder_free(&in->disp);
	if (in->g && in->g->w[in->w->id] == in)
		in->g->w[in->w->id] = NULL;
	flowtrack_free(in->ft);
	if (in->classify)
		classify_free(&in->cls);
	pkt_decoder_free(&in->dec);
	free(in);
}

static int create_common(struct worker *w, void **state, char *err, size_t errlen)
{
	const struct conf *c = &w->ctx->conf;
	struct pkt_input *in = calloc(1, sizeof *in);
	if (!in) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*state = in;
	in->w = w;
	in->g = w->ctx->input_global; /* NULL but for pmacctd */
	if (in->g && w->id < MAX_WORKERS)
		in->g->w[w->id] = in;
	in->sink = worker_record_sink(w);
	in->time_new = c->nfacctd_time_new;
	in->rate = c->sampling_rate > 1 ? (uint32_t)c->sampling_rate : 0;
	in->rng = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)w->id + 1) * 0xBF58476D1CE4E5B9ULL;
	size_t frags =
	    c->frag_buffer_size > 0 ? (size_t)c->frag_buffer_size / pkt_frag_entry_size() + 1 : 0;
	if (pkt_decoder_init(&in->dec, frags > UINT32_MAX ? UINT32_MAX : (unsigned)frags) < 0) {
		snprintf(err, errlen, "key 'pmacctd_frag_buffer_size': out of memory");
		return -1;
	}
	/* a fragment ahead of its first one waits for it, to be accounted under its ports */
	in->dec.hold_orphans = 1;
	struct flowtrack_opts fo = {(size_t)c->flow_buffer_size, (unsigned)c->flow_lifetime,
				    (unsigned)c->flow_tcp_lifetime};
	in->ft = flowtrack_new(&fo, err, errlen);
	if (!in->ft)
		return -1;
	/* nDPI costs a flow table and a look at every packet: only when `class` is asked for */
	const struct daemon_ctx *ctx = w->ctx;
	for (unsigned i = 0; i < ctx->nout && !in->classify; i++)
		in->classify = keyspec_has(&ctx->out[i].ks, "class");
	if (in->classify) {
		struct classify_opts co;
		classify_opts_from_conf(&co, c);
		if (classify_init(&in->cls, &co, err, errlen) < 0) {
			in->classify = 0;
			return -1;
		}
	}
	return 0;
}

static int create_pcap(struct worker *w, void **state, char *err, size_t errlen)
{
	if (create_common(w, state, err, errlen) < 0)
		return -1;
	if (daemon_reads_savefile(w->ctx)) /* reactor/savefile.c feeds us */
		return 0;
	struct pkt_input *in = *state;
	const struct conf *c = &w->ctx->conf;
	struct pkt_global *g = in->g;
	int several = w->ctx->nworkers > 1;
	if (list_ifaces(in, c, err, errlen) < 0)
		return -1;
	if (w->id == 0 && c->pcap_interface_wait && c->user && *c->user)
		nt_log(&w->ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
		       "pcap_interface_wait with user: an interface that appears after the "
		       "privileges are dropped cannot be opened without CAP_NET_RAW");
	/* worker 0 is created first: it decides between fanout and hand-off for all */
	if (several && w->id == 0 && !c->pmacctd_fanout)
		g->handoff = 1;
	if (several && w->id > 0 && g->handoff)
		return open_ring(in, err, errlen);
	in->fanout = several && !g->handoff;
	char why[512];
	if (open_ifaces(in, why, sizeof why) < 0) {
		if (!(in->fanout && w->id == 0 && strstr(why, "PACKET_FANOUT"))) {
			snprintf(err, errlen, "%s", why);
			return -1;
		}
		nt_log(&w->ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
		       "%s: worker 0 captures and hands frames to the others", why);
		for (unsigned i = 0; i < in->nifs; i++) {
			nt_ev_free(in->ifs[i].ev_read);
			nt_ev_free(in->ifs[i].ev_retry);
			capture_close(in->ifs[i].cap);
			in->ifs[i].ev_read = in->ifs[i].ev_retry = NULL;
			in->ifs[i].cap = NULL;
		}
		g->handoff = 1;
		in->fanout = 0;
		if (open_ifaces(in, err, errlen) < 0)
			return -1;
	}
	if (several && g->handoff) {
		if (pkt_decoder_init(&in->disp, 0) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		in->disp_ready = 1;
	}
	return 0;
}

static int global_init_pcap(struct daemon_ctx *ctx, void **global, char *err, size_t errlen)
{
	(void)ctx;
	if (!(*global = calloc(1, sizeof(struct pkt_global)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static void global_free_pcap(void *global)
{
	free(global);
}

static int create_nflog(struct worker *w, void **state, char *err, size_t errlen)
{
	if (create_common(w, state, err, errlen) < 0)
		return -1;
	return open_nflog(*state, err, errlen);
}

static void drain(void *state, struct worker *w)
{
	struct pkt_input *in = state;
	(void)w;
	/* bounded, so a link that never pauses cannot hold up the exit */
	in->stopping = 1; /* hand-off mode: the others may have stopped already */
	if (in->ring)
		for (int k = 0; k < 64; k++)
			on_ring(in);
	for (unsigned i = 0; i < in->nifs; i++)
		if (in->ifs[i].ev_read)
			for (int k = 0; k < 64 && !read_iface(&in->ifs[i], 16); k++)
				;
	if (in->nfl)
		for (int k = 0; k < 64 && !read_nflog(in, 16); k++)
			;
}

static void rewound(void *state, struct worker *w)
{
	struct pkt_input *in = state;
	(void)w;
	flowtrack_clear(in->ft);
}

static void stats(void *state, struct worker *w, char *extra, size_t len)
{
	struct pkt_input *in = state;
	(void)w;
	struct flowtrack_stats fs;
	flowtrack_get_stats(in->ft, &fs);
	size_t n = 0;
	for (int r = 0; r < PKT__COUNT && n < len; r++)
		n += (size_t)snprintf(extra + n, len - n, " pkt_%s=%llu", pkt_reason_name(r),
				      (unsigned long long)in->dec.n[r]);
	if (n < len)
		n += (size_t)snprintf(extra + n, len - n, " frag_orphans=%llu frag_lost=%llu",
				      (unsigned long long)in->dec.frag_orphans,
				      (unsigned long long)in->dec.frag_lost);
	if (n < len)
		n += (size_t)snprintf(extra + n, len - n,
				      " sampled_out=%llu flows=%llu flows_active=%llu "
				      "flows_expired=%llu flows_evicted=%llu",
				      (unsigned long long)in->sampled_out,
				      (unsigned long long)fs.flows, (unsigned long long)fs.active,
				      (unsigned long long)fs.expired,
				      (unsigned long long)fs.evicted);
	if (in->classify && n < len)
		n += (size_t)snprintf(extra + n, len - n,
				      " class_flows=%llu classified=%llu class_given_up=%llu "
				      "class_table_full=%llu",
				      (unsigned long long)in->cls.st.flows,
				      (unsigned long long)in->cls.st.classified,
				      (unsigned long long)in->cls.st.given_up,
				      (unsigned long long)in->cls.st.table_full);
	if (in->disp_ready && n < len)
		n += (size_t)snprintf(extra + n, len - n, " handed_off=%llu handoff_dropped=%llu",
				      (unsigned long long)in->handed_off,
				      (unsigned long long)in->handoff_dropped);
	uint64_t recv = 0, drop = 0;
	for (unsigned i = 0; i < in->nifs; i++)
		if (in->ifs[i].cap) {
			struct capture_stats cs;
			capture_get_stats(in->ifs[i].cap, &cs);
			recv += cs.pcap_recv;
			drop += cs.pcap_drop;
		}
	if (in->nifs && n < len)
		n += (size_t)snprintf(extra + n, len - n, " pcap_recv=%llu pcap_drop=%llu",
				      (unsigned long long)recv, (unsigned long long)drop);
	if (in->nfl && n < len) {
		struct nflog_source_stats ns;
		nflog_source_get_stats(in->nfl, &ns);
		snprintf(extra + n, len - n, " nflog_packets=%llu nflog_overflows=%llu",
			 (unsigned long long)ns.packets, (unsigned long long)ns.enobufs);
	}
}

static void endpoint(const struct conf *c, struct input_endpoint *ep)
{
	(void)c;
	memset(ep, 0, sizeof *ep);
}

static void describe_pcap(const struct conf *c, char *buf, size_t len)
{
	if (c->pcap_interfaces_map && *c->pcap_interfaces_map)
		snprintf(buf, len, "the interfaces of %s", c->pcap_interfaces_map);
	else
		snprintf(buf, len, "interface %s",
			 c->pcap_interface && *c->pcap_interface ? c->pcap_interface : "any");
}

static void describe_nflog(const struct conf *c, char *buf, size_t len)
{
	snprintf(buf, len, "NFLOG group %d", c->uacctd_group);
}

static unsigned one_worker(const struct conf *c)
{
	(void)c;
	return 1; /* one process binds an NFLOG group */
}

const struct input_module input_pcap = {
    .name = "packet",
    .proto = "pcap",
    .kind = INPUT_CAPTURE,
    .endpoint = endpoint,
    .global_init = global_init_pcap,
    .global_free = global_free_pcap,
    .create = create_pcap,
    .destroy = destroy,
    .frame = on_frame,
    .rewound = rewound,
    .drain = drain,
    .describe = describe_pcap,
    .stats = stats,
};

const struct input_module input_nflog = {
    .name = "packet",
    .proto = "nflog",
    .kind = INPUT_CAPTURE,
    .endpoint = endpoint,
    .create = create_nflog,
    .destroy = destroy,
    .frame = on_frame,
    .drain = drain,
    .max_workers = one_worker,
    .describe = describe_nflog,
    .stats = stats,
};
