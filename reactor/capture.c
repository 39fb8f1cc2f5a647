#include "reactor/capture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_PCAP

#include <errno.h>
#include <pcap/pcap.h>
#ifdef __linux__
#include <linux/if_packet.h>
#include <sys/socket.h>
#endif

struct capture {
	pcap_t *p;
	char *name;   /* path or interface */
	char *filter; /* NULL: none */
	int live;
	int fd;
	struct decap dc;
	struct capture_stats st;
	/* the read in progress: datagrams (fn) or frames (ffn) */
	capture_frame_fn ffn;
	capture_fn fn;
	void *arg;
	int frames;
};

int capture_supported(void)
{
	return 1;
}

/* pcap's DLT (as pcap_datalink() maps it on this platform) to decap's link type. */
static int link_of(int dlt, enum decap_link *link)
{
	switch (dlt) {
	case DLT_EN10MB:
		*link = DECAP_LINK_ETHERNET;
		return 0;
	case DLT_LINUX_SLL:
		*link = DECAP_LINK_SLL;
		return 0;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		*link = DECAP_LINK_SLL2;
		return 0;
#endif
	case DLT_RAW:
		*link = DECAP_LINK_RAW;
		return 0;
#ifdef DLT_IPV4
	case DLT_IPV4:
		*link = DECAP_LINK_IPV4;
		return 0;
#endif
#ifdef DLT_IPV6
	case DLT_IPV6:
		*link = DECAP_LINK_IPV6;
		return 0;
#endif
	case DLT_NULL:
		*link = DECAP_LINK_NULL;
		return 0;
#ifdef DLT_LOOP
	case DLT_LOOP:
		*link = DECAP_LINK_LOOP;
		return 0;
#endif
	default:
		return -1;
	}
}

static int set_filter(struct capture *c, bpf_u_int32 netmask, char *err, size_t errlen)
{
	struct bpf_program prog;
	if (!c->filter)
		return 0;
	if (pcap_compile(c->p, &prog, c->filter, 1, netmask) < 0) {
		snprintf(err, errlen, "pcap_filter '%s': %s", c->filter, pcap_geterr(c->p));
		return -1;
	}
	int rv = pcap_setfilter(c->p, &prog);
	pcap_freecode(&prog);
	if (rv < 0) {
		snprintf(err, errlen, "pcap_filter '%s': %s", c->filter, pcap_geterr(c->p));
		return -1;
	}
	return 0;
}

/* Link type of the open handle into c->dc (first open) or checked against it (rewind). */
static int setup_link(struct capture *c, int first, char *err, size_t errlen)
{
	enum decap_link link;
	int dlt = pcap_datalink(c->p);
	if (link_of(dlt, &link) < 0) {
		const char *n = pcap_datalink_val_to_name(dlt);
		snprintf(err, errlen, "%s: link type %s (%d) not supported", c->name, n ? n : "?",
			 dlt);
		return -1;
	}
	if (first)
		return decap_init(&c->dc, link, NULL);
	if (link != c->dc.link) {
		snprintf(err, errlen, "%s: link type changed since the file was opened", c->name);
		return -1;
	}
	return 0;
}

static struct capture *capture_new(const char *name, const char *filter, char *err, size_t errlen)
{
	struct capture *c = calloc(1, sizeof *c);
	if (!c || !(c->name = strdup(name)) ||
	    (filter && *filter && !(c->filter = strdup(filter)))) {
		snprintf(err, errlen, "%s: out of memory", name);
		if (c)
			free(c->name);
		free(c);
		return NULL;
	}
	c->fd = -1;
	return c;
}

static int open_file(struct capture *c, int first, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	c->p = pcap_open_offline_with_tstamp_precision(c->name, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (!c->p) {
		/* pcap's message usually names the path already; make sure it does */
		if (strstr(ebuf, c->name))
			snprintf(err, errlen, "pcap_savefile: %s", ebuf);
		else
			snprintf(err, errlen, "pcap_savefile %s: %s", c->name, ebuf);
		return -1;
	}
	if (setup_link(c, first, err, errlen) < 0 ||
	    set_filter(c, PCAP_NETMASK_UNKNOWN, err, errlen) < 0) {
		pcap_close(c->p);
		c->p = NULL;
		return -1;
	}
	return 0;
}

int capture_open_savefile(struct capture **out, const char *path, const char *bpf_filter, char *err,
			  size_t errlen)
{
	struct capture *c = capture_new(path, bpf_filter, err, errlen);
	if (!c)
		return -1;
	if (open_file(c, 1, err, errlen) < 0) {
		capture_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

int capture_open_live(struct capture **out, const char *ifname, const char *bpf_filter,
		      const struct capture_live_opts *opt, char *err, size_t errlen)
{
	struct capture_live_opts o = {0};
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	if (opt)
		o = *opt;
	struct capture *c = capture_new(ifname, bpf_filter, err, errlen);
	if (!c)
		return -1;
	c->live = 1;
	if (!(c->p = pcap_create(ifname, ebuf))) {
		snprintf(err, errlen, "interface %s: %s", ifname, ebuf);
		goto fail;
	}
#ifdef __linux__
	if (o.protocol > 0 && pcap_set_protocol_linux(c->p, o.protocol) != 0) {
		snprintf(err, errlen, "interface %s: cannot set pcap_protocol", ifname);
		goto fail;
	}
#endif
	if (pcap_set_snaplen(c->p, o.snaplen > 0 ? o.snaplen : 65535) != 0 ||
	    pcap_set_promisc(c->p, o.promisc) != 0 ||
	    pcap_set_timeout(c->p, o.timeout_ms > 0 ? o.timeout_ms : 100) != 0 ||
	    pcap_set_immediate_mode(c->p, 1) != 0 ||
	    (o.buffer_bytes > 0 && pcap_set_buffer_size(c->p, o.buffer_bytes) != 0)) {
		snprintf(err, errlen, "interface %s: cannot set capture options", ifname);
		goto fail;
	}
	int rv = pcap_activate(c->p);
	if (rv < 0) {
		snprintf(err, errlen, "interface %s: %s (%s)", ifname, pcap_statustostr(rv),
			 pcap_geterr(c->p));
		goto fail;
	}
	if ((o.direction_in || o.direction_out) &&
	    pcap_setdirection(c->p, o.direction_in ? PCAP_D_IN : PCAP_D_OUT) < 0) {
		snprintf(err, errlen, "interface %s: %s", ifname, pcap_geterr(c->p));
		goto fail;
	}
	if (pcap_setnonblock(c->p, 1, ebuf) < 0) {
		snprintf(err, errlen, "interface %s: %s", ifname, ebuf);
		goto fail;
	}
	bpf_u_int32 net, mask;
	if (pcap_lookupnet(ifname, &net, &mask, ebuf) < 0)
		mask = PCAP_NETMASK_UNKNOWN; /* no IPv4 address: only matters for "broadcast" */
	if (setup_link(c, 1, err, errlen) < 0 || set_filter(c, mask, err, errlen) < 0)
		goto fail;
	if ((c->fd = pcap_get_selectable_fd(c->p)) < 0) {
		snprintf(err, errlen, "interface %s: no selectable descriptor", ifname);
		goto fail;
	}
	if (o.fanout_group > 0) {
#if defined(__linux__) && defined(PACKET_FANOUT)
		/* hash on the flow (symmetric), defragmenting so fragments follow their flow */
		uint32_t arg = ((uint32_t)o.fanout_group & 0xffffu) |
			       ((uint32_t)(PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
		if (setsockopt(pcap_fileno(c->p), SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) <
		    0) {
			snprintf(err, errlen, "interface %s: PACKET_FANOUT: %s", ifname,
				 strerror(errno));
			goto fail;
		}
#else
		snprintf(err, errlen, "interface %s: PACKET_FANOUT: not supported here", ifname);
		goto fail;
#endif
	}
	*out = c;
	return 0;
fail:
	capture_close(c);
	return -1;
}

int capture_fd(const struct capture *c)
{
	return c->fd;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct capture *c = (struct capture *)user;
	struct decap_udp u;
	nt_usec ts =
	    h->ts.tv_sec < 0 ? 0 : (nt_usec)h->ts.tv_sec * 1000000u + (nt_usec)h->ts.tv_usec;
	c->frames++;
	c->st.packets++;
	if (c->ffn) {
		struct capture_frame f = {c->dc.link, bytes, h->caplen,
					  h->len > h->caplen ? h->len : h->caplen, ts};
		c->st.bytes += f.wirelen;
		if (c->ffn(c->arg, &f))
			pcap_breakloop(c->p);
		return;
	}
	if (decap_frame(&c->dc, bytes, h->caplen, ts, &u) != DECAP_DATAGRAM)
		return;
	struct nt_dgram d = {
	    .buf = u.payload, .len = u.len, .src = u.src, .src_port = u.sport, .arrival = ts};
	c->st.datagrams++;
	c->st.bytes += u.len;
	if (c->fn(c->arg, &d))
		pcap_breakloop(c->p);
}

static int read_some(struct capture *c, int max_packets, char *err, size_t errlen)
{
	if (!c->p) {
		snprintf(err, errlen, "%s: capture is closed", c->name);
		return -1;
	}
	c->frames = 0;
	for (int tries = 0; tries < 2; tries++) {
		int rv =
		    pcap_dispatch(c->p, max_packets > 0 ? max_packets : 1, on_packet, (u_char *)c);
		if (rv == PCAP_ERROR) {
			snprintf(err, errlen, "%s: %s", c->name, pcap_geterr(c->p));
			return -1;
		}
		/*
		 * A stop requested by fn leaves pcap's break flag set when pcap
		 * returns the packets it read; the next dispatch then returns
		 * PCAP_ERROR_BREAK at once, having read nothing, which must not be
		 * taken for the end of the file: read again.
		 */
		if (rv == PCAP_ERROR_BREAK && c->frames == 0)
			continue;
		break;
	}
	return c->frames;
}

int capture_read(struct capture *c, int max_packets, capture_fn fn, void *arg, char *err,
		 size_t errlen)
{
	c->fn = fn;
	c->ffn = NULL;
	c->arg = arg;
	return read_some(c, max_packets, err, errlen);
}

int capture_read_frames(struct capture *c, int max_packets, capture_frame_fn fn, void *arg,
			char *err, size_t errlen)
{
	c->fn = NULL;
	c->ffn = fn;
	c->arg = arg;
	return read_some(c, max_packets, err, errlen);
}

int capture_rewind(struct capture *c, char *err, size_t errlen)
{
	if (c->live) {
		snprintf(err, errlen, "%s: a live capture cannot be rewound", c->name);
		return -1;
	}
	if (c->p)
		pcap_close(c->p);
	c->p = NULL;
	decap_flush(&c->dc);
	if (open_file(c, 0, err, errlen) < 0)
		return -1;
	c->st.rewinds++;
	return 0;
}

void capture_get_stats(struct capture *c, struct capture_stats *st)
{
	if (c->live && c->p) {
		struct pcap_stat ps;
		if (pcap_stats(c->p, &ps) == 0) {
			c->st.pcap_recv = ps.ps_recv;
			c->st.pcap_drop = ps.ps_drop;
		}
	}
	*st = c->st;
	st->decap = c->dc.st;
}

const char *capture_name(const struct capture *c)
{
	return c->name;
}

void capture_close(struct capture *c)
{
	if (!c)
		return;
	if (c->p)
		pcap_close(c->p);
	decap_free(&c->dc);
	free(c->name);
	free(c->filter);
	free(c);
}

#else /* !HAVE_PCAP */

struct capture {
	int unused;
};

int capture_supported(void)
{
	return 0;
}

static int no_pcap(const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: built without libpcap", what);
	return -1;
}

int capture_open_savefile(struct capture **out, const char *path, const char *bpf_filter, char *err,
			  size_t errlen)
{
	(void)out;
	(void)bpf_filter;
	return no_pcap(path, err, errlen);
}

int capture_open_live(struct capture **out, const char *ifname, const char *bpf_filter,
		      const struct capture_live_opts *opt, char *err, size_t errlen)
{
	(void)out;
	(void)bpf_filter;
	(void)opt;
	return no_pcap(ifname, err, errlen);
}

int capture_fd(const struct capture *c)
{
	(void)c;
	return -1;
}

int capture_read(struct capture *c, int max_packets, capture_fn fn, void *arg, char *err,
		 size_t errlen)
{
	(void)c;
	(void)max_packets;
	(void)fn;
	(void)arg;
	return no_pcap("capture", err, errlen);
}

int capture_read_frames(struct capture *c, int max_packets, capture_frame_fn fn, void *arg,
			char *err, size_t errlen)
{
	(void)c;
	(void)max_packets;
	(void)fn;
	(void)arg;
	return no_pcap("capture", err, errlen);
}

int capture_rewind(struct capture *c, char *err, size_t errlen)
{
	(void)c;
	return no_pcap("capture", err, errlen);
}

void capture_get_stats(struct capture *c, struct capture_stats *st)
{
	(void)c;
	memset(st, 0, sizeof *st);
}

const char *capture_name(const struct capture *c)
{
	(void)c;
	return "";
}

void capture_close(struct capture *c)
{
	(void)c;
}

#endif
