#include "reactor/nflog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#ifdef HAVE_NFLOG

#include <libnetfilter_log/libnetfilter_log.h>

#define RECV_BUF   (1u << 17) /* larger than any netlink message the kernel builds for us */
#define ETH_HDRLEN 14

struct nflog_source {
	struct nflog_handle *h;
	struct nflog_g_handle *gh;
	int fd;
	unsigned group;
	nflog_source_fn fn;
	void *arg;
	uint8_t *buf;	/* netlink receive buffer */
	uint8_t *frame; /* MAC header + packet, for packets that came with one */
	size_t frame_cap;
	struct nflog_source_stats st;
};

int nflog_source_supported(void)
{
	return 1;
}

static nt_usec wall_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (nt_usec)ts.tv_sec * 1000000u + (nt_usec)ts.tv_nsec / 1000u;
}

static int on_packet(struct nflog_g_handle *gh, struct nfgenmsg *msg, struct nflog_data *nfa,
		     void *data)
{
	struct nflog_source *s = data;
	(void)gh;
	(void)msg;
	char *payload;
	int len = nflog_get_payload(nfa, &payload);
	if (len <= 0)
		return 0;
	struct nt_frame f = {.link = DECAP_LINK_RAW,
			     .data = (const uint8_t *)payload,
			     .caplen = (size_t)len,
			     .wirelen = (size_t)len};
	struct timeval tv;
	f.ts = nflog_get_timestamp(nfa, &tv) == 0 && tv.tv_sec > 0
		   ? (nt_usec)tv.tv_sec * 1000000u + (nt_usec)tv.tv_usec
		   : wall_usec();
	f.in_iface = nflog_get_indev(nfa);
	f.out_iface = nflog_get_outdev(nfa);
	/* received on Ethernet: the kernel passed the MAC header, which gives the MAC primitives */
	char *hw = nflog_get_msg_packet_hwhdr(nfa);
	if (hw && nflog_get_hwtype(nfa) == 1 && nflog_get_msg_packet_hwhdrlen(nfa) == ETH_HDRLEN) {
		size_t need = ETH_HDRLEN + (size_t)len;
		if (need <= s->frame_cap) {
			memcpy(s->frame, hw, ETH_HDRLEN);
			memcpy(s->frame + ETH_HDRLEN, payload, (size_t)len);
			f.link = DECAP_LINK_ETHERNET;
			f.data = s->frame;
			f.caplen = f.wirelen = need;
		}
	}
	s->st.packets++;
	s->fn(s->arg, &f);
	return 0;
}

int nflog_source_open(struct nflog_source **out, const struct nflog_source_opts *o,
		      nflog_source_fn fn, void *arg, char *err, size_t errlen)
{
	struct nflog_source *s = calloc(1, sizeof *s);
	if (!s || !(s->buf = malloc(RECV_BUF)) ||
	    !(s->frame = malloc(ETH_HDRLEN + (size_t)o->snaplen))) {
		snprintf(err, errlen, "NFLOG group %u: out of memory", o->group);
		nflog_source_close(s);
		return -1;
	}
	s->frame_cap = ETH_HDRLEN + (size_t)o->snaplen;
	s->fd = -1;
	s->group = o->group;
	s->fn = fn;
	s->arg = arg;
	if (!(s->h = nflog_open())) {
		snprintf(err, errlen, "NFLOG: cannot open netlink: %s", strerror(errno));
		goto fail;
	}
	/* kernels before 3.8 want the family bound; later ones ignore it */
	(void)nflog_bind_pf(s->h, AF_INET);
	(void)nflog_bind_pf(s->h, AF_INET6);
	if (!(s->gh = nflog_bind_group(s->h, (uint16_t)o->group))) {
		snprintf(err, errlen, "NFLOG group %u: cannot bind: %s", o->group,
			 errno == EBUSY ? "busy (another process holds it)" : strerror(errno));
		goto fail;
	}
	if (nflog_set_mode(s->gh, NFULNL_COPY_PACKET, o->snaplen) < 0) {
		snprintf(err, errlen, "NFLOG group %u: cannot set copy mode (snaplen): %s",
			 o->group, strerror(errno));
		goto fail;
	}
	if (o->threshold > 1 && nflog_set_qthresh(s->gh, o->threshold) < 0) {
		snprintf(err, errlen, "NFLOG group %u: cannot set uacctd_threshold: %s", o->group,
			 strerror(errno));
		goto fail;
	}
	if (o->nl_size) {
		if (nflog_set_nlbufsiz(s->gh, o->nl_size) < 0) {
			snprintf(err, errlen, "NFLOG group %u: cannot set uacctd_nl_size: %s",
				 o->group, strerror(errno));
			goto fail;
		}
	}
	nflog_callback_register(s->gh, on_packet, s);
	s->fd = nflog_fd(s->h);
	if (o->nl_size) {
		/* root may exceed net.core.rmem_max; otherwise the kernel caps it */
		int sz = (int)o->nl_size;
		if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
			(void)setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	}
	*out = s;
	return 0;
fail:
	nflog_source_close(s);
	return -1;
}

int nflog_source_fd(const struct nflog_source *s)
{
	return s->fd;
}

int nflog_source_read(struct nflog_source *s, int max_msgs, char *err, size_t errlen)
{
	int n = 0;
	while (n < max_msgs) {
		ssize_t len = recv(s->fd, s->buf, RECV_BUF, MSG_DONTWAIT);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) { /* the kernel dropped messages: go on */
				s->st.enobufs++;
				continue;
			}
			snprintf(err, errlen, "NFLOG group %u: %s", s->group, strerror(errno));
			return -1;
		}
		s->st.messages++;
		n++;
		nflog_handle_packet(s->h, (char *)s->buf, (int)len);
	}
	return n;
}

void nflog_source_get_stats(const struct nflog_source *s, struct nflog_source_stats *st)
{
	*st = s->st;
}

void nflog_source_close(struct nflog_source *s)
{
	if (!s)
		return;
	if (s->gh)
		nflog_unbind_group(s->gh);
	if (s->h)
		nflog_close(s->h);
	free(s->buf);
	free(s->frame);
	free(s);
}

#else /* !HAVE_NFLOG */

struct nflog_source {
	int unused;
};

int nflog_source_supported(void)
{
	return 0;
}

int nflog_source_open(struct nflog_source **out, const struct nflog_source_opts *o,
		      nflog_source_fn fn, void *arg, char *err, size_t errlen)
{
	(void)out;
	(void)fn;
	(void)arg;
	snprintf(err, errlen, "NFLOG group %u: built without libnetfilter_log", o->group);
	return -1;
}

int nflog_source_fd(const struct nflog_source *s)
{
	(void)s;
	return -1;
}

int nflog_source_read(struct nflog_source *s, int max_msgs, char *err, size_t errlen)
{
	(void)s;
	(void)max_msgs;
	snprintf(err, errlen, "built without libnetfilter_log");
	return -1;
}

void nflog_source_get_stats(const struct nflog_source *s, struct nflog_source_stats *st)
{
	(void)s;
	memset(st, 0, sizeof *st);
}

void nflog_source_close(struct nflog_source *s)
{
	(void)s;
}

#endif
