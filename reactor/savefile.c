#include "reactor/savefile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reactor/capture.h"
#include "reactor/daemon.h"
#include "reactor/loop.h"
#include "reactor/worker.h"

/* Packets per chunk: small enough that a stop or a stats request waits little. */
#define CHUNK 256

struct savefile {
	struct worker *w;
	struct capture *cap;
	/*
	 * Re-armed with a zero timeout after each chunk: a timer, not a
	 * wake-up, so the loop polls (stop, stats) between chunks.
	 */
	struct nt_ev *ev_chunk;
	unsigned pass, passes; /* pass counts from 1; passes 0 = endless */
	int done;
};

static int on_datagram(void *arg, const struct nt_dgram *d)
{
	struct savefile *sf = arg;
	worker_deliver(sf->w, d);
	return 0;
}

static int on_frame(void *arg, const struct capture_frame *cf)
{
	struct savefile *sf = arg;
	struct nt_frame f = {cf->link, cf->data, cf->caplen, cf->wirelen, cf->ts, 0, 0, 0, 0};
	worker_deliver_frame(sf->w, &f);
	return 0;
}

static void finished(struct savefile *sf)
{
	struct daemon_ctx *ctx = sf->w->ctx;
	sf->done = 1;
	nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
	       "pcap_savefile %s: end of file after %u pass%s, %llu %s%s", ctx->conf.pcap_savefile,
	       sf->pass, sf->pass == 1 ? "" : "es", (unsigned long long)sf->w->st.datagrams,
	       ctx->desc->input->kind == INPUT_CAPTURE ? "packets" : "datagrams",
	       ctx->conf.pcap_savefile_wait ? "; waiting (pcap_savefile_wait)" : "");
	if (!ctx->conf.pcap_savefile_wait)
		daemon_request_finish(ctx);
}

static void on_chunk(void *arg)
{
	struct savefile *sf = arg;
	struct daemon_ctx *ctx = sf->w->ctx;
	char err[512];
	worker_batch_begin(sf->w);
	/* a packet daemon decodes the frames; a collector the UDP datagrams in them */
	int n = ctx->desc->input->kind == INPUT_CAPTURE
		    ? capture_read_frames(sf->cap, CHUNK, on_frame, sf, err, sizeof err)
		    : capture_read(sf->cap, CHUNK, on_datagram, sf, err, sizeof err);
	worker_batch_end(sf->w);
	uint64_t wait_usec = 0;
	if (n == 0 && (!sf->passes || sf->pass < sf->passes)) {
		/* end of a pass with more to go: start over, after pcap_savefile_delay */
		n = capture_rewind(sf->cap, err, sizeof err) < 0 ? -1 : 1;
		sf->pass += n > 0;
		if (n > 0 && ctx->desc->input->rewound)
			ctx->desc->input->rewound(sf->w->in_state, sf->w);
		wait_usec =
		    (uint64_t)(ctx->conf.pcap_savefile_delay > 0 ? ctx->conf.pcap_savefile_delay
								 : 0) *
		    1000000u;
	}
	if (n < 0)
		nt_log(&ctx->log, LOG_LVL_ERROR, CORE_COMPONENT, "pcap_savefile %s: %s",
		       ctx->conf.pcap_savefile, err);
	if (n <= 0)
		finished(sf);
	else
		nt_ev_arm(sf->ev_chunk, wait_usec);
}

int savefile_open(struct savefile **out, struct worker *w, char *err, size_t errlen)
{
	const struct conf *c = &w->ctx->conf;
	char why[512];
	struct savefile *sf = calloc(1, sizeof *sf);
	if (!sf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	sf->w = w;
	sf->pass = 1;
	sf->passes = c->pcap_savefile_replay > 0 ? (unsigned)c->pcap_savefile_replay : 0;
	if (capture_open_savefile(&sf->cap, c->pcap_savefile, c->pcap_filter, why, sizeof why) <
	    0) {
		snprintf(err, errlen, "key 'pcap_savefile': %s", why);
		free(sf);
		return -1;
	}
	sf->ev_chunk = nt_ev_timer(w->loop, on_chunk, sf);
	if (!sf->ev_chunk) {
		savefile_free(sf);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* the first chunk runs once the loop starts (after the delay, if any) */
	nt_ev_arm(sf->ev_chunk,
		  (uint64_t)(c->pcap_savefile_delay > 0 ? c->pcap_savefile_delay : 0) * 1000000u);
	*out = sf;
	return 0;
}

void savefile_log_stop(const struct savefile *sf)
{
	struct daemon_ctx *ctx = sf->w->ctx;
	if (sf->done)
		return;
	nt_log(&ctx->log, LOG_LVL_INFO, CORE_COMPONENT,
	       "pcap_savefile %s: stopped in pass %u after %llu datagrams (%llu records)",
	       ctx->conf.pcap_savefile, sf->pass, (unsigned long long)sf->w->st.datagrams,
	       (unsigned long long)sf->w->st.records);
}

void savefile_free(struct savefile *sf)
{
	if (!sf)
		return;
	nt_ev_free(sf->ev_chunk);
	if (sf->cap)
		capture_close(sf->cap);
	free(sf);
}
