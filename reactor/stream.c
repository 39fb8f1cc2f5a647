#include "reactor/stream.h"

#include "agg/primitive.h"
#include "reactor/socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Buffers: plain non-blocking read()/send() into linear buffers of our own,
 * not bufferevents.  on_data must see the unconsumed bytes contiguous (that
 * is what lets a module frame messages without copying); an evbuffer would
 * need evbuffer_pullup(), a copy whenever its chain is fragmented, and its
 * deferred callbacks would blur when a close takes effect.  A linear buffer
 * also makes the per-session limits a single comparison.  The cost is a
 * memmove of the partial message at the head when the buffer's end is
 * reached, bounded by one message.
 *
 * Lifetime: a session that ends is only marked dead; the listener's reaper
 * (a wake-up on the same loop) frees it and calls on_close.  So no stream_*
 * call ever frees the session it was given, a module's callback can close
 * its own or another session freely, and a foreach walk sees a stable list.
 */

#define RBUF_INIT	4096u
#define BUF_KEEP	65536u /* an empty buffer larger than this goes back to the heap */
#define ACCEPT_BURST	32     /* accepts per readiness: other sessions get the loop too */
#define ACCEPT_PAUSE_US 100000u

enum sstate {
	S_OPEN,	    /* reading, delivering, writing */
	S_DRAINING, /* closing: flushing output, then waiting for the peer's FIN */
	S_DEAD,	    /* waiting for the reaper */
};

struct buf {
	uint8_t *p;
	size_t head, tail, cap; /* bytes in use: p[head..tail) */
};

struct tslot {
	struct stream_session *s;
	unsigned id;
	struct nt_ev *ev;
};

struct stream_session {
	struct stream_listener *ls;
	struct stream_session *prev, *next;
	int fd;
	enum sstate state;
	unsigned want; /* NT_EV_* the fd watch waits for now */
	int opened;    /* on_open said yes: on_close is owed */
	int peer_eof, shut_wr;
	enum stream_end why;
	char reason[128];
	struct nt_ev *io, *idle, *linger;
	struct tslot timer[STREAM_TIMERS];
	struct buf in, out;
	struct stream_stats st;
	struct nt_addr peer, local;
	uint16_t peer_port, local_port;
	char peer_str[INET6_ADDRSTRLEN + 8];
	void *user;
};

struct stream_listener {
	struct nt_loop *loop;
	const struct stream_proto *proto;
	void *proto_arg;
	struct stream_opts o;
	size_t max_frame, rlimit;
	int fd, port;
	struct nt_ev *ev, *pause, *reap;
	struct stream_session *sessions;
	unsigned ndead;
	struct stream_listener_stats st;
};

static const char *const end_names[STREAM_END_COUNT] = {
    [STREAM_END_LOCAL] = "local",
    [STREAM_END_PROTO] = "protocol error",
    [STREAM_END_PEER] = "peer closed",
    [STREAM_END_READ] = "read error",
    [STREAM_END_WRITE] = "write error",
    [STREAM_END_IDLE] = "idle",
    [STREAM_END_RBUF] = "read buffer full",
    [STREAM_END_FRAME] = "bad message length",
    [STREAM_END_WBUF] = "write buffer full",
    [STREAM_END_SHUTDOWN] = "shutdown",
};

const char *stream_end_name(enum stream_end why)
{
	return (unsigned)why < STREAM_END_COUNT ? end_names[why] : "?";
}

/* ---- addresses --------------------------------------------------------- */

static void addr_str(const struct nt_addr *a, uint16_t port, char *out, size_t outlen)
{
	char ip[INET6_ADDRSTRLEN];
	nt_addr_to_text(a, ip, sizeof ip);
	snprintf(out, outlen, a->family == 6 ? "[%s]:%u" : "%s:%u", ip[0] ? ip : "?",
		 (unsigned)port);
}

/* ---- session end and reaping ------------------------------------------- */

static void session_want(struct stream_session *s);

static size_t buf_used(const struct buf *b)
{
	return b->tail - b->head;
}

/* Empty now: rewind, and return a burst's large buffer (a BMP dump, say)
 * rather than keep it for a session's whole life. */
static void buf_rewind(struct buf *b)
{
	b->head = b->tail = 0;
	if (b->cap > BUF_KEEP) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
}

static void timers_disarm(struct stream_session *s)
{
	for (unsigned i = 0; i < STREAM_TIMERS; i++)
		if (s->timer[i].ev)
			nt_ev_disarm(s->timer[i].ev);
	if (s->idle)
		nt_ev_disarm(s->idle);
}

static void session_dead(struct stream_session *s)
{
	if (s->state == S_DEAD)
		return;
	s->state = S_DEAD;
	timers_disarm(s);
	if (s->linger)
		nt_ev_disarm(s->linger);
	session_want(s);
	s->ls->ndead++;
	nt_ev_trigger(s->ls->reap);
}

/* Output flushed while closing: half-close, then wait for the peer's FIN
 * (closing with its data unread would send a RST, and a RST can destroy
 * our last message, a BGP NOTIFICATION say, in the peer's receive queue). */
static void session_drained(struct stream_session *s)
{
	if (s->peer_eof) {
		session_dead(s);
		return;
	}
	if (!s->shut_wr) {
		s->shut_wr = 1;
		if (shutdown(s->fd, SHUT_WR) < 0)
			session_dead(s);
	}
}

static void on_linger(void *arg)
{
	struct stream_session *s = arg;
	if (s->state == S_DRAINING)
		session_dead(s);
}

/* First end wins.  flush: close gracefully (see session_drained). */
static void session_end(struct stream_session *s, enum stream_end why, int flush, const char *fmt,
			...) __attribute__((format(printf, 4, 5)));
static void session_end(struct stream_session *s, enum stream_end why, int flush, const char *fmt,
			...)
{
	if (s->state != S_OPEN)
		return;
	va_list ap;
	va_start(ap, fmt);
	s->why = why;
	vsnprintf(s->reason, sizeof s->reason, fmt, ap);
	va_end(ap);
	if (!flush) {
		session_dead(s);
		return;
	}
	timers_disarm(s);
	s->state = S_DRAINING;
	if (!s->linger)
		s->linger = nt_ev_timer(s->ls->loop, on_linger, s);
	if (!s->linger || nt_ev_arm(s->linger, s->ls->o.linger_usec) < 0) {
		session_dead(s);
		return;
	}
	if (!buf_used(&s->out))
		session_drained(s);
	session_want(s);
}

static void session_unlink(struct stream_session *s)
{
	struct stream_listener *ls = s->ls;
	if (s->prev)
		s->prev->next = s->next;
	else
		ls->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

/* Release everything; on_close when owed.  The session is unlinked first
 * so on_close may close (mark) any other session. */
static void session_free(struct stream_session *s)
{
	struct stream_listener *ls = s->ls;
	session_unlink(s);
	if (s->state == S_DEAD)
		ls->ndead--;
	for (unsigned i = 0; i < STREAM_TIMERS; i++)
		nt_ev_free(s->timer[i].ev);
	nt_ev_free(s->idle);
	nt_ev_free(s->linger);
	nt_ev_free(s->io);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->state = S_DEAD; /* stream_* calls from on_close are no-ops */
	if (s->opened) {
		ls->st.active--;
		ls->st.ended[s->why]++;
		ls->proto->on_close(s, s->why, s->reason);
	}
	free(s->in.p);
	free(s->out.p);
	free(s);
}

static void on_reap(void *arg)
{
	struct stream_listener *ls = arg;
	struct stream_session *s = ls->sessions;
	while (s && ls->ndead) {
		struct stream_session *next = s->next;
		if (s->state == S_DEAD)
			session_free(s);
		s = next;
	}
}

/* ---- I/O ---------------------------------------------------------------- */

static void session_want(struct stream_session *s)
{
	unsigned w = 0;
	if (s->state == S_OPEN)
		w = NT_EV_READ;
	else if (s->state == S_DRAINING && !s->peer_eof)
		w = NT_EV_READ;
	if (s->state != S_DEAD && buf_used(&s->out))
		w |= NT_EV_WRITE;
	if (w == s->want || !s->io)
		return;
	s->want = w;
	if (nt_ev_fd_want(s->io, w) < 0 && s->state != S_DEAD) {
		if (s->state == S_OPEN) {
			s->why = STREAM_END_READ;
			snprintf(s->reason, sizeof s->reason, "event registration failed");
		}
		session_dead(s);
	}
}

static void flush_out(struct stream_session *s)
{
	struct buf *b = &s->out;
	while (buf_used(b)) {
		ssize_t n = send(s->fd, b->p + b->head, buf_used(b), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (s->state == S_OPEN)
				session_end(s, STREAM_END_WRITE, 0, "write: %s", strerror(errno));
			else
				session_dead(s);
			return;
		}
		b->head += (size_t)n;
		s->st.bytes_out += (uint64_t)n;
	}
	if (!buf_used(b)) {
		buf_rewind(b);
		if (s->state == S_DRAINING)
			session_drained(s);
	}
	session_want(s);
}

/* Room to read into: compact, then grow up to the listener's limit.  0 when
 * the buffer holds rlimit bytes or memory is short. */
static size_t in_room(struct stream_session *s)
{
	struct buf *b = &s->in;
	size_t limit = s->ls->rlimit;
	if (b->head == b->tail)
		b->head = b->tail = 0;
	if (b->tail == b->cap && b->head > 0) {
		memmove(b->p, b->p + b->head, buf_used(b));
		b->tail -= b->head;
		b->head = 0;
	}
	if (b->tail == b->cap && b->cap < limit) {
		size_t ncap = b->cap ? b->cap * 2 : RBUF_INIT;
		if (ncap > limit)
			ncap = limit;
		uint8_t *p = realloc(b->p, ncap);
		if (!p)
			return 0;
		b->p = p;
		b->cap = ncap;
	}
	return b->cap - b->tail;
}

static int64_t frame_len(const struct stream_framing *f, const uint8_t *d)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < f->len_size; i++)
		v = v << 8 | d[f->len_off + i];
	return (int64_t)v + f->len_adjust;
}

/* Hand the buffered bytes to the module until it waits for more. */
static void deliver(struct stream_session *s)
{
	const struct stream_proto *p = s->ls->proto;
	const struct stream_framing *f = &p->framing;
	struct buf *b = &s->in;
	while (s->state == S_OPEN && buf_used(b)) {
		const uint8_t *d = b->p + b->head;
		size_t len = buf_used(b);
		if (f->hdr_len) {
			if (len < f->hdr_len)
				return;
			int64_t fl = frame_len(f, d);
			if (fl < f->hdr_len || (uint64_t)fl > s->ls->max_frame) {
				session_end(s, STREAM_END_FRAME, 1,
					    "message length %lld outside %u..%zu", (long long)fl,
					    (unsigned)f->hdr_len, s->ls->max_frame);
				return;
			}
			if (len < (size_t)fl)
				return;
			len = (size_t)fl;
		}
		ssize_t r = p->on_data(s, d, len);
		if (r < 0 || (size_t)r > len) {
			session_end(s, STREAM_END_PROTO, 1, "%s: %s", p->name ? p->name : "stream",
				    r < 0 ? "protocol error" : "consumed more than it was given");
			return;
		}
		if (f->hdr_len)
			r = (ssize_t)len;
		if (r == 0)
			return;
		b->head += (size_t)r;
		s->st.msgs_in++;
	}
}

static void read_in(struct stream_session *s)
{
	size_t room = in_room(s);
	if (!room) {
		session_end(s, STREAM_END_READ, 0, "no memory for the read buffer");
		return;
	}
	ssize_t n = read(s->fd, s->in.p + s->in.tail, room);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		session_end(s, STREAM_END_READ, 0, "read: %s", strerror(errno));
		return;
	}
	if (n == 0) {
		/* the peer may still read what we queued (half-close): flush it */
		s->peer_eof = 1;
		session_end(s, STREAM_END_PEER, 1, "peer closed");
		return;
	}
	s->in.tail += (size_t)n;
	s->st.bytes_in += (uint64_t)n;
	s->st.last_rx_usec = nt_loop_now_usec(s->ls->loop);
	deliver(s);
	if (s->state == S_OPEN && buf_used(&s->in) >= s->ls->rlimit)
		session_end(s, STREAM_END_RBUF, 1, "%zu bytes buffered without a whole message",
			    buf_used(&s->in));
	else if (!buf_used(&s->in))
		buf_rewind(&s->in);
}

/* Closing: the peer's bytes no longer matter, but reading them is how we
 * see its FIN (and keeps our close from turning into a RST). */
static void discard_in(struct stream_session *s)
{
	uint8_t scratch[4096];
	ssize_t n = read(s->fd, scratch, sizeof scratch);
	if (n < 0) {
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			session_dead(s);
		return;
	}
	if (n > 0) {
		s->st.bytes_in += (uint64_t)n;
		return;
	}
	s->peer_eof = 1;
	if (!buf_used(&s->out))
		session_dead(s);
	else
		session_want(s);
}

static void on_io(int fd, unsigned what, void *arg)
{
	struct stream_session *s = arg;
	(void)fd;
	if ((what & NT_EV_WRITE) && s->state != S_DEAD)
		flush_out(s);
	if ((what & NT_EV_READ) && s->state == S_OPEN)
		read_in(s);
	else if ((what & NT_EV_READ) && s->state == S_DRAINING)
		discard_in(s);
}

static void on_idle(void *arg)
{
	struct stream_session *s = arg;
	if (s->state != S_OPEN)
		return;
	uint64_t now = nt_loop_now_usec(s->ls->loop), quiet = now - s->st.last_rx_usec;
	uint64_t idle = s->ls->o.idle_usec;
	if (quiet >= idle)
		session_end(s, STREAM_END_IDLE, 1, "nothing received for %llu ms",
			    (unsigned long long)(quiet / 1000u));
	else if (nt_ev_arm(s->idle, idle - quiet) < 0)
		session_end(s, STREAM_END_IDLE, 0, "cannot re-arm the idle timer");
}

static void on_user_timer(void *arg)
{
	struct tslot *t = arg;
	struct stream_session *s = t->s;
	if (s->state == S_OPEN && s->ls->proto->on_timer)
		s->ls->proto->on_timer(s, t->id);
}

/* ---- accepting ---------------------------------------------------------- */

static void session_open(struct stream_listener *ls, int fd, const struct sockaddr_storage *peer)
{
	struct stream_session *s = calloc(1, sizeof *s);
	if (!s) {
		ls->st.accept_errors++;
		close(fd);
		return;
	}
	s->ls = ls;
	s->fd = fd;
	s->state = S_OPEN;
	for (unsigned i = 0; i < STREAM_TIMERS; i++) {
		s->timer[i].s = s;
		s->timer[i].id = i;
	}
	sockaddr_to_nt(peer, &s->peer, &s->peer_port);
	addr_str(&s->peer, s->peer_port, s->peer_str, sizeof s->peer_str);
	struct sockaddr_storage me;
	socklen_t ml = sizeof me;
	memset(&me, 0, sizeof me);
	if (getsockname(fd, (struct sockaddr *)&me, &ml) == 0)
		sockaddr_to_nt(&me, &s->local, &s->local_port);
	s->st.opened_usec = s->st.last_rx_usec = nt_loop_now_usec(ls->loop);

	s->next = ls->sessions;
	if (s->next)
		s->next->prev = s;
	ls->sessions = s;

	s->want = NT_EV_READ;
	s->io = nt_ev_fd(ls->loop, fd, NT_EV_READ, on_io, s);
	if (s->io && ls->o.idle_usec) {
		s->idle = nt_ev_timer(ls->loop, on_idle, s);
		if (s->idle && nt_ev_arm(s->idle, ls->o.idle_usec) < 0) {
			nt_ev_free(s->idle);
			s->idle = NULL;
		}
	}
	if (!s->io || (ls->o.idle_usec && !s->idle)) {
		ls->st.accept_errors++;
		session_free(s);
		return;
	}
	if (ls->proto->on_open && ls->proto->on_open(s) < 0) {
		ls->st.refused_proto++;
		if (s->state == S_DEAD)
			ls->ndead--; /* session_free counts it again */
		s->state = S_OPEN;
		session_free(s); /* opened is 0: no on_close */
		return;
	}
	s->opened = 1;
	ls->st.accepted++;
	ls->st.active++;
}

static void on_pause_over(void *arg)
{
	struct stream_listener *ls = arg;
	if (nt_ev_fd_want(ls->ev, NT_EV_READ) < 0)
		ls->st.accept_errors++;
}

/* Out of descriptors or memory: the pending connection stays readable, so
 * retrying at once would spin; stop accepting for a moment instead. */
static void accept_pause(struct stream_listener *ls)
{
	if (!ls->pause)
		ls->pause = nt_ev_timer(ls->loop, on_pause_over, ls);
	if (ls->pause && nt_ev_fd_want(ls->ev, 0) == 0 && nt_ev_arm(ls->pause, ACCEPT_PAUSE_US) < 0)
		nt_ev_fd_want(ls->ev, NT_EV_READ);
}

static void on_accept(int fd, unsigned what, void *arg)
{
	struct stream_listener *ls = arg;
	(void)what;
	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		memset(&ss, 0, sizeof ss);
		int c = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			ls->st.accept_errors++;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				accept_pause(ls);
			return;
		}
		if (ls->o.max_sessions && ls->st.active >= ls->o.max_sessions) {
			ls->st.refused_full++;
			close(c);
			continue;
		}
		session_open(ls, c, &ss);
	}
}

/* ---- listener ------------------------------------------------------------ */

static struct stream_listener *listen_fail(struct stream_listener *ls, int fd, char *err,
					   size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(ls);
	return NULL;
}

static int framing_check(const struct stream_framing *f, char *err, size_t errlen)
{
	if (!f->hdr_len)
		return 0;
	if (f->len_size != 1 && f->len_size != 2 && f->len_size != 4) {
		snprintf(err, errlen, "framing: length field of %u bytes (1, 2 or 4)",
			 (unsigned)f->len_size);
		return -1;
	}
	if ((unsigned)f->len_off + f->len_size > f->hdr_len) {
		snprintf(err, errlen, "framing: length field ends past the %u-byte header",
			 (unsigned)f->hdr_len);
		return -1;
	}
	if (f->max_frame && f->max_frame < f->hdr_len) {
		snprintf(err, errlen, "framing: max_frame %u below the header length",
			 (unsigned)f->max_frame);
		return -1;
	}
	return 0;
}

/* ip NULL/"" = IPv6 any (dual-stack); sets *dual when it is. */
static int parse_ip(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *sl, int *dual)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	memset(ss, 0, sizeof *ss);
	*dual = 0;
	if (!ip || !*ip) {
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons((uint16_t)port);
		*sl = sizeof *s6;
		*dual = 1;
	} else if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*sl = sizeof *s4;
	} else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*sl = sizeof *s6;
	} else {
		return -1;
	}
	return 0;
}

struct stream_listener *stream_listen(struct nt_loop *l, const char *ip, int port,
				      const struct stream_proto *proto, void *proto_arg,
				      const struct stream_opts *opts, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1, zero = 0, dual, fd;

	if (!proto || !proto->on_data || !proto->on_close) {
		snprintf(err, errlen, "stream protocol without on_data/on_close");
		return NULL;
	}
	if (framing_check(&proto->framing, err, errlen) < 0)
		return NULL;
	if (port < 0 || port > 65535) {
		snprintf(err, errlen, "port %d out of range", port);
		return NULL;
	}
	if (parse_ip(ip, port, &ss, &sl, &dual) < 0) {
		snprintf(err, errlen, "'%s' is not an IPv4/IPv6 address", ip);
		return NULL;
	}
	struct stream_listener *ls = calloc(1, sizeof *ls);
	if (!ls)
		return listen_fail(NULL, -1, err, errlen, "calloc");
	ls->loop = l;
	ls->proto = proto;
	ls->proto_arg = proto_arg;
	if (opts)
		ls->o = *opts;
	if (ls->o.backlog <= 0)
		ls->o.backlog = 128;
	if (!ls->o.rbuf_max)
		ls->o.rbuf_max = 1u << 20;
	if (!ls->o.wbuf_max)
		ls->o.wbuf_max = 1u << 20;
	if (!ls->o.linger_usec)
		ls->o.linger_usec = 5000000u;
	ls->max_frame = proto->framing.max_frame ? proto->framing.max_frame : ls->o.rbuf_max;
	ls->rlimit = ls->o.rbuf_max > ls->max_frame ? ls->o.rbuf_max : ls->max_frame;

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && dual && (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT)) {
		/* no IPv6 on this host: every IPv4 address instead */
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		memset(&ss, 0, sizeof ss);
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		s4->sin_port = htons((uint16_t)port);
		sl = sizeof *s4;
		dual = 0;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		return listen_fail(ls, -1, err, errlen, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		return listen_fail(ls, fd, err, errlen, "setsockopt(SO_REUSEADDR)");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
		return listen_fail(ls, fd, err, errlen, "setsockopt(SO_REUSEPORT)");
	if (dual && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0)
		return listen_fail(ls, fd, err, errlen, "setsockopt(IPV6_V6ONLY)");
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		char what[128];
		snprintf(what, sizeof what, "bind(%s port %d)", ip && *ip ? ip : "any", port);
		return listen_fail(ls, fd, err, errlen, what);
	}
	if (listen(fd, ls->o.backlog) < 0)
		return listen_fail(ls, fd, err, errlen, "listen");
	struct sockaddr_storage got;
	socklen_t gl = sizeof got;
	if (getsockname(fd, (struct sockaddr *)&got, &gl) < 0)
		return listen_fail(ls, fd, err, errlen, "getsockname");
	struct nt_addr unused;
	uint16_t bound;
	sockaddr_to_nt(&got, &unused, &bound);
	ls->port = bound;
	ls->fd = fd;

	ls->reap = nt_ev_wakeup(l, on_reap, ls);
	ls->ev = ls->reap ? nt_ev_fd(l, fd, NT_EV_READ, on_accept, ls) : NULL;
	if (!ls->ev) {
		nt_ev_free(ls->reap);
		errno = ENOMEM;
		return listen_fail(ls, fd, err, errlen, "event registration");
	}
	return ls;
}

void stream_listener_free(struct stream_listener *ls)
{
	if (!ls)
		return;
	nt_ev_free(ls->ev);
	ls->ev = NULL;
	for (struct stream_session *s = ls->sessions; s; s = s->next) {
		session_end(s, STREAM_END_SHUTDOWN, 0, "listener shut down");
		session_dead(s); /* a closing session keeps its own reason */
	}
	while (ls->sessions)
		session_free(ls->sessions);
	nt_ev_free(ls->pause);
	nt_ev_free(ls->reap);
	close(ls->fd);
	free(ls);
}

int stream_listener_port(const struct stream_listener *ls)
{
	return ls->port;
}

void stream_listener_stats(const struct stream_listener *ls, struct stream_listener_stats *st)
{
	*st = ls->st;
}

void stream_listener_foreach(struct stream_listener *ls,
			     void (*fn)(struct stream_session *s, void *arg), void *arg)
{
	/* nothing is freed before the reaper runs, so next stays valid */
	for (struct stream_session *s = ls->sessions; s; s = s->next)
		if (s->state != S_DEAD)
			fn(s, arg);
}

/* ---- session API ---------------------------------------------------------- */

static int out_append(struct stream_session *s, const uint8_t *p, size_t len)
{
	struct buf *b = &s->out;
	if (buf_used(b) + len > s->ls->o.wbuf_max) {
		session_end(s, STREAM_END_WBUF, 0,
			    "more than %zu bytes queued for a peer not reading", s->ls->o.wbuf_max);
		return -1;
	}
	if (b->tail + len > b->cap && b->head > 0) {
		memmove(b->p, b->p + b->head, buf_used(b));
		b->tail -= b->head;
		b->head = 0;
	}
	if (b->tail + len > b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : RBUF_INIT;
		while (ncap < b->tail + len)
			ncap *= 2;
		if (ncap > s->ls->o.wbuf_max)
			ncap = s->ls->o.wbuf_max;
		uint8_t *np = realloc(b->p, ncap);
		if (!np) {
			session_end(s, STREAM_END_WRITE, 0, "no memory for the write buffer");
			return -1;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->tail, p, len);
	b->tail += len;
	session_want(s);
	return s->state == S_OPEN ? 0 : -1;
}

int stream_write(struct stream_session *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	if (s->state != S_OPEN)
		return -1;
	s->st.msgs_out++;
	/* keep the order: write directly only when nothing is queued */
	while (len > 0 && !buf_used(&s->out)) {
		ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			session_end(s, STREAM_END_WRITE, 0, "write: %s", strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
		s->st.bytes_out += (uint64_t)n;
	}
	return len ? out_append(s, p, len) : 0;
}

size_t stream_pending(const struct stream_session *s)
{
	return buf_used(&s->out);
}

void stream_close(struct stream_session *s, const char *reason)
{
	session_end(s, STREAM_END_LOCAL, 1, "%s", reason ? reason : "closed");
}

int stream_closing(const struct stream_session *s)
{
	return s->state != S_OPEN;
}

int stream_timer_arm(struct stream_session *s, unsigned id, uint64_t usec)
{
	if (id >= STREAM_TIMERS || s->state != S_OPEN)
		return -1;
	struct tslot *t = &s->timer[id];
	if (!t->ev)
		t->ev = nt_ev_timer(s->ls->loop, on_user_timer, t);
	if (!t->ev)
		return -1;
	return nt_ev_arm(t->ev, usec);
}

void stream_timer_disarm(struct stream_session *s, unsigned id)
{
	if (id < STREAM_TIMERS && s->timer[id].ev)
		nt_ev_disarm(s->timer[id].ev);
}

void stream_peer(const struct stream_session *s, struct nt_addr *a, uint16_t *port)
{
	*a = s->peer;
	*port = s->peer_port;
}

void stream_local(const struct stream_session *s, struct nt_addr *a, uint16_t *port)
{
	*a = s->local;
	*port = s->local_port;
}

const char *stream_peer_str(const struct stream_session *s)
{
	return s->peer_str;
}

void *stream_user(const struct stream_session *s)
{
	return s->user;
}

void stream_set_user(struct stream_session *s, void *user)
{
	s->user = user;
}

void *stream_proto_arg(const struct stream_session *s)
{
	return s->ls->proto_arg;
}

struct stream_listener *stream_session_listener(const struct stream_session *s)
{
	return s->ls;
}

struct nt_loop *stream_loop(const struct stream_session *s)
{
	return s->ls->loop;
}

void stream_session_stats(const struct stream_session *s, struct stream_stats *st)
{
	*st = s->st;
	st->rbuf_used = buf_used(&s->in);
	st->wbuf_used = buf_used(&s->out);
}
