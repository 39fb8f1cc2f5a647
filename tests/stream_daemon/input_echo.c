/*
 * The echo stream input (see input_echo.h).  Per worker: its sessions'
 * counters; per session: the frames and payload bytes it sent, so the
 * SIGUSR1 lines show that a session's traffic stays on one worker.
 */
#include "tests/stream_daemon/input_echo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg/primitive.h"
#include "reactor/daemon.h"
#include "reactor/stream.h"
#include "reactor/worker.h"

#define ECHO_HDR 2 /* big-endian payload length */

struct echo_worker {
	struct worker *w;
	unsigned active; /* sessions opened and not closed (on_close not run yet) */
	uint64_t opened, closed;
	uint64_t frames, payload_bytes;
};

struct echo_session {
	uint64_t frames, payload_bytes;
};

static nt_usec wall_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (nt_usec)ts.tv_sec * 1000000u + (nt_usec)ts.tv_nsec / 1000u;
}

static int on_open(struct stream_session *s)
{
	struct echo_worker *ew = stream_proto_arg(s);
	struct echo_session *es = calloc(1, sizeof *es);
	if (!es) {
		nt_log(&ew->w->ctx->log, LOG_LVL_WARN, CORE_COMPONENT,
		       "worker %u: session %s refused: out of memory", ew->w->id,
		       stream_peer_str(s));
		return -1;
	}
	stream_set_user(s, es);
	ew->active++;
	ew->opened++;
	nt_log(&ew->w->ctx->log, LOG_LVL_DEBUG, CORE_COMPONENT, "worker %u: session %s opened",
	       ew->w->id, stream_peer_str(s));
	return 0;
}

/* One whole frame (the core cut it by the length header): account it, echo it. */
static ssize_t on_data(struct stream_session *s, const uint8_t *data, size_t len)
{
	struct echo_worker *ew = stream_proto_arg(s);
	struct echo_session *es = stream_user(s);
	struct worker *w = ew->w;
	size_t payload = len - ECHO_HDR;
	struct flow_rec r;

	flow_rec_clear(&r);
	stream_peer(s, &r.src_addr, &r.src_port);
	stream_local(s, &r.dst_addr, &r.dst_port);
	r.proto = 6;
	r.packets = 1;
	r.bytes = payload;
	FR_SET(&r, FR_SRC_ADDR);
	FR_SET(&r, FR_SRC_PORT);
	FR_SET(&r, FR_DST_ADDR);
	FR_SET(&r, FR_DST_PORT);
	FR_SET(&r, FR_PROTO);
	w->now_usec = r.ts_arrival = wall_usec();
	worker_batch_begin(w);
	worker_account(w, &r);
	worker_batch_end(w);

	es->frames++;
	es->payload_bytes += payload;
	ew->frames++;
	ew->payload_bytes += payload;
	/* a failed write closes the session (the core logs why in on_close) */
	(void)stream_write(s, data, len);
	return (ssize_t)len;
}

static void on_close(struct stream_session *s, enum stream_end why, const char *reason)
{
	struct echo_worker *ew = stream_proto_arg(s);
	struct echo_session *es = stream_user(s);
	ew->active--;
	ew->closed++;
	nt_log(&ew->w->ctx->log, LOG_LVL_DEBUG, CORE_COMPONENT,
	       "worker %u: session %s ended (%s: %s) after %llu frames", ew->w->id,
	       stream_peer_str(s), stream_end_name(why), reason,
	       (unsigned long long)(es ? es->frames : 0));
	free(es);
}

static const struct stream_proto echo_proto = {
    .name = "echo",
    /* the whole frame is the 2-byte length plus what it announces */
    .framing = {.hdr_len = ECHO_HDR,
		.len_off = 0,
		.len_size = 2,
		.len_adjust = ECHO_HDR,
		.max_frame = ECHO_HDR + 65535},
    .on_open = on_open,
    .on_data = on_data,
    .on_close = on_close,
};

static void endpoint(const struct conf *c, struct input_endpoint *ep)
{
	ep->ip = c->nfacctd_ip;
	ep->port = c->nfacctd_port;
}

static int create(struct worker *w, void **state, char *err, size_t errlen)
{
	struct echo_worker *ew = calloc(1, sizeof *ew);
	if (!ew) {
		snprintf(err, errlen, "worker %u: out of memory", w->id);
		return -1;
	}
	ew->w = w;
	*state = ew;
	return 0;
}

static void destroy(void *state)
{
	free(state);
}

static void count_one(struct stream_session *s, void *arg)
{
	(void)s;
	(*(size_t *)arg)++;
}

/*
 * The sessions stats_sources() will list: a session that ended but whose
 * on_close has not run yet is still in `active`, not in the listener's walk.
 */
static size_t sources(void *state)
{
	struct echo_worker *ew = state;
	size_t n = 0;
	if (ew->w->listener)
		stream_listener_foreach(ew->w->listener, count_one, &n);
	return n;
}

static void stats(void *state, struct worker *w, char *extra, size_t extralen)
{
	struct echo_worker *ew = state;
	(void)w;
	snprintf(extra, extralen,
		 " sessions=%u opened=%llu closed=%llu frames=%llu payload_bytes=%llu", ew->active,
		 (unsigned long long)ew->opened, (unsigned long long)ew->closed,
		 (unsigned long long)ew->frames, (unsigned long long)ew->payload_bytes);
}

static void log_session(struct stream_session *s, void *arg)
{
	struct echo_worker *ew = arg;
	struct echo_session *es = stream_user(s);
	struct stream_stats st;
	struct nt_addr a;
	uint16_t port;
	char addr[64];
	stream_peer(s, &a, &port);
	nt_addr_to_text(&a, addr, sizeof addr);
	stream_session_stats(s, &st);
	nt_log(&ew->w->ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
	       "stats worker=%u exporter=%s port=%u frames=%llu payload_bytes=%llu bytes_in=%llu "
	       "bytes_out=%llu",
	       ew->w->id, addr, (unsigned)port, (unsigned long long)es->frames,
	       (unsigned long long)es->payload_bytes, (unsigned long long)st.bytes_in,
	       (unsigned long long)st.bytes_out);
}

static void stats_sources(void *state, struct worker *w)
{
	if (w->listener)
		stream_listener_foreach(w->listener, log_session, state);
}

const struct input_module input_echo = {
    .name = "echo",
    .proto = "tcp",
    .kind = INPUT_STREAM,
    .endpoint = endpoint,
    .create = create,
    .destroy = destroy,
    .stream = &echo_proto,
    .sources = sources,
    .stats = stats,
    .stats_sources = stats_sources,
};
