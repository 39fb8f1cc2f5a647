/*
 * Unit tests for stream inputs (reactor/stream.c): a listener on 127.0.0.1
 * with a length-prefixed echo protocol (2-byte big-endian payload length,
 * then the payload), driven by plain client sockets.  The loop runs in the
 * test's thread until a condition holds (RUN_UNTIL), never on sleeps; a
 * generous deadline turns a hang into a failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "reactor/loop.h"
#include "reactor/stream.h"

#define SAFETY_USEC 10000000u /* a hang fails the test after this long */
#define MAXCLI	    8

struct fx {
	struct nt_loop *loop;
	struct nt_ev *tick;
	struct stream_listener *ls;
	struct stream_proto proto;
	int cli[MAXCLI];
	/* what the protocol saw */
	int refuse;
	unsigned opens, closes, frames, timers, timer_mask, data_calls;
	size_t first_len, last_len, max_len;
	int arm_bad_id, flood_failed, user_ok;
	unsigned flood_writes;
	struct stream_session *last; /* the newest open session, NULL once closed */
	enum stream_end why;
	char reason[128];
	struct stream_stats final_st;
};

/* ---- the loop ---------------------------------------------------------- */

static void on_tick(void *arg)
{
	struct fx *f = arg;
	nt_loop_break(f->loop);
}

/* Run the loop in 1 ms rounds until cond holds; fail after SAFETY_USEC. */
#define RUN_UNTIL(f, cond)                                                                         \
	do {                                                                                       \
		uint64_t dl_ = nt_loop_now_usec((f)->loop) + SAFETY_USEC;                          \
		while (!(cond)) {                                                                  \
			assert_true(nt_loop_now_usec((f)->loop) < dl_);                            \
			assert_int_equal(nt_ev_arm((f)->tick, 1000), 0);                           \
			assert_int_equal(nt_loop_run((f)->loop), 0);                               \
		}                                                                                  \
	} while (0)

static int closing(const struct fx *f)
{
	return f->opens && (!f->last || stream_closing(f->last));
}

/* ---- the echo protocol ------------------------------------------------- */

static size_t mkframe(uint8_t *out, const void *payload, size_t len)
{
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	memcpy(out + 2, payload, len);
	return len + 2;
}

static int is(const uint8_t *p, size_t n, const char *word)
{
	return n == strlen(word) && memcmp(p, word, n) == 0;
}

static int reply(struct stream_session *s, const char *word)
{
	uint8_t fr[64];
	return stream_write(s, fr, mkframe(fr, word, strlen(word)));
}

/* One whole frame: echo it, or obey the command it carries. */
static int handle_frame(struct fx *f, struct stream_session *s, const uint8_t *fr, size_t len)
{
	const uint8_t *pl = fr + 2;
	size_t pn = len - 2;
	f->frames++;
	if (is(pl, pn, "close")) {
		reply(s, "bye");
		stream_close(s, "asked to");
		return 0;
	}
	if (is(pl, pn, "err"))
		return -1;
	if (is(pl, pn, "timer")) {
		/* timer 1 disarmed: only timer 0 may fire */
		assert_int_equal(stream_timer_arm(s, 1, 1000), 0);
		stream_timer_disarm(s, 1);
		f->arm_bad_id = stream_timer_arm(s, STREAM_TIMERS, 1000);
		return stream_timer_arm(s, 0, 5000);
	}
	if (is(pl, pn, "flood")) {
		static const uint8_t chunk[65536];
		for (f->flood_writes = 0; f->flood_writes < 8192; f->flood_writes++)
			if (stream_write(s, chunk, sizeof chunk) < 0) {
				f->flood_failed = 1;
				break;
			}
		return 0;
	}
	return stream_write(s, fr, len);
}

static void note_data(struct fx *f, size_t len)
{
	if (!f->data_calls++)
		f->first_len = len;
	f->last_len = len;
	if (len > f->max_len)
		f->max_len = len;
}

static ssize_t raw_data(struct stream_session *s, const uint8_t *d, size_t len)
{
	struct fx *f = stream_proto_arg(s);
	note_data(f, len);
	if (len < 2)
		return 0;
	size_t fl = 2u + ((size_t)d[0] << 8 | d[1]);
	if (len < fl)
		return 0;
	/* one frame per call: the core must call again with the rest */
	return handle_frame(f, s, d, fl) < 0 ? -1 : (ssize_t)fl;
}

static ssize_t framed_data(struct stream_session *s, const uint8_t *d, size_t len)
{
	struct fx *f = stream_proto_arg(s);
	note_data(f, len);
	return handle_frame(f, s, d, len) < 0 ? -1 : (ssize_t)len;
}

static int echo_open(struct stream_session *s)
{
	struct fx *f = stream_proto_arg(s);
	f->opens++;
	if (f->refuse)
		return -1;
	f->last = s;
	stream_set_user(s, f);
	return 0;
}

static void echo_timer(struct stream_session *s, unsigned id)
{
	struct fx *f = stream_proto_arg(s);
	f->timers++;
	f->timer_mask |= 1u << id;
	reply(s, "tick");
}

static void echo_close(struct stream_session *s, enum stream_end why, const char *reason)
{
	struct fx *f = stream_proto_arg(s);
	f->closes++;
	f->why = why;
	snprintf(f->reason, sizeof f->reason, "%s", reason);
	f->user_ok = stream_user(s) == f;
	stream_session_stats(s, &f->final_st);
	/* on_close runs after the socket is gone: writing must fail */
	assert_int_equal(stream_write(s, "x", 1), -1);
	if (f->last == s)
		f->last = NULL;
}

/* ---- fixture ------------------------------------------------------------- */

static int fx_setup(void **state, int framed)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	for (int i = 0; i < MAXCLI; i++)
		f->cli[i] = -1;
	f->loop = nt_loop_new();
	assert_non_null(f->loop);
	f->tick = nt_ev_timer(f->loop, on_tick, f);
	assert_non_null(f->tick);
	f->proto.name = "echo";
	f->proto.on_open = echo_open;
	f->proto.on_data = framed ? framed_data : raw_data;
	f->proto.on_timer = echo_timer;
	f->proto.on_close = echo_close;
	if (framed)
		f->proto.framing = (struct stream_framing){
		    .hdr_len = 2, .len_off = 0, .len_size = 2, .len_adjust = 2};
	*state = f;
	return 0;
}

static int setup_raw(void **state)
{
	return fx_setup(state, 0);
}

static int setup_framed(void **state)
{
	return fx_setup(state, 1);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	stream_listener_free(f->ls);
	for (int i = 0; i < MAXCLI; i++)
		if (f->cli[i] >= 0)
			close(f->cli[i]);
	nt_ev_free(f->tick);
	nt_loop_free(f->loop);
	free(f);
	return 0;
}

static void fx_listen(struct fx *f, const struct stream_opts *o)
{
	char err[256] = "";
	f->ls = stream_listen(f->loop, "127.0.0.1", 0, &f->proto, f, o, err, sizeof err);
	if (!f->ls)
		fail_msg("stream_listen: %s", err);
	assert_true(stream_listener_port(f->ls) > 0);
}

static struct stream_listener_stats lstats(const struct fx *f)
{
	struct stream_listener_stats st;
	stream_listener_stats(f->ls, &st);
	return st;
}

static struct stream_stats sstats(const struct stream_session *s)
{
	struct stream_stats st;
	stream_session_stats(s, &st);
	return st;
}

/* ---- client side ------------------------------------------------------- */

static int cli_connect_to(int family, const char *ip, int port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof ss);
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
		sl = sizeof *s4;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		sl = sizeof *s6;
	}
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	/* a safety net only: every read below waits for bytes already sent */
	struct timeval tv = {SAFETY_USEC / 1000000u, 0};
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
	/* the kernel completes the handshake from the backlog: no loop needed */
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, sl), 0);
	return fd;
}

static int cli_connect(struct fx *f, int slot)
{
	f->cli[slot] = cli_connect_to(AF_INET, "127.0.0.1", stream_listener_port(f->ls));
	return f->cli[slot];
}

static void cli_send(int fd, const void *buf, size_t len)
{
	assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void cli_send_frame(int fd, const char *word)
{
	uint8_t fr[256];
	cli_send(fd, fr, mkframe(fr, word, strlen(word)));
}

static void cli_recv(int fd, void *buf, size_t len)
{
	assert_int_equal(recv(fd, buf, len, MSG_WAITALL), (ssize_t)len);
}

static void cli_expect_frame(int fd, const char *word)
{
	uint8_t got[256], want[256];
	size_t n = mkframe(want, word, strlen(word));
	cli_recv(fd, got, n);
	assert_memory_equal(got, want, n);
}

/* The server closed: end of stream (a reset counts too). */
static void cli_expect_eof(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, 0);
	assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
}

static void cli_close(struct fx *f, int slot)
{
	close(f->cli[slot]);
	f->cli[slot] = -1;
}

/* ---- tests ----------------------------------------------------------------- */

/* A frame sent one byte at a time is delivered once, whole. */
static void test_partial_frame(void **state)
{
	struct fx *f = *state;
	fx_listen(f, NULL);
	int c = cli_connect(f, 0);
	RUN_UNTIL(f, f->opens == 1);

	uint8_t fr[16];
	size_t n = mkframe(fr, "hello", 5);
	for (size_t i = 0; i < n; i++) {
		cli_send(c, fr + i, 1);
		RUN_UNTIL(f, sstats(f->last).bytes_in == i + 1);
		assert_int_equal(f->frames, i + 1 < n ? 0 : 1);
	}
	if (f->proto.framing.hdr_len) {
		/* framed: the module saw only the whole frame */
		assert_int_equal(f->data_calls, 1);
		assert_int_equal(f->first_len, n);
	} else {
		/* raw: each byte was offered with the ones kept before it */
		assert_int_equal(f->data_calls, n);
		assert_int_equal(f->first_len, 1);
		assert_int_equal(f->last_len, n);
	}
	RUN_UNTIL(f, stream_pending(f->last) == 0);
	cli_expect_frame(c, "hello");
	struct stream_stats st = sstats(f->last);
	assert_int_equal(st.msgs_in, 1);
	assert_int_equal(st.bytes_out, n);
	assert_int_equal(st.rbuf_used, 0);
}

/* Several frames in one write, one larger than the initial buffer: each is
 * echoed, in order. */
static void test_frames_in_one_write(void **state)
{
	struct fx *f = *state;
	fx_listen(f, NULL);
	int c = cli_connect(f, 0);
	static uint8_t big[65535]; /* grows the buffers past what an idle session keeps */
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7u);
	static uint8_t buf[sizeof big + 64];
	size_t n = mkframe(buf, "one", 3);
	n += mkframe(buf + n, "", 0);
	n += mkframe(buf + n, big, sizeof big);
	n += mkframe(buf + n, "three", 5);
	cli_send(c, buf, n);
	RUN_UNTIL(f, f->frames == 4 && stream_pending(f->last) == 0);
	static uint8_t got[sizeof buf];
	cli_recv(c, got, n);
	assert_memory_equal(got, buf, n);
	assert_int_equal(sstats(f->last).msgs_in, 4);
	assert_int_equal(sstats(f->last).bytes_in, n);
	/* the session goes on after its buffers were handed back */
	cli_send_frame(c, "after");
	RUN_UNTIL(f, f->frames == 5 && stream_pending(f->last) == 0);
	cli_expect_frame(c, "after");
}

static void test_peer_address(void **state)
{
	struct fx *f = *state;
	fx_listen(f, NULL);
	int c = cli_connect(f, 0);
	RUN_UNTIL(f, f->opens == 1);
	struct sockaddr_in me;
	socklen_t ml = sizeof me;
	assert_int_equal(getsockname(c, (struct sockaddr *)&me, &ml), 0);

	struct nt_addr a;
	uint16_t port;
	stream_peer(f->last, &a, &port);
	assert_int_equal(a.family, 4);
	assert_memory_equal(a.a, "\x7f\x00\x00\x01", 4);
	assert_int_equal(port, ntohs(me.sin_port));
	stream_local(f->last, &a, &port);
	assert_int_equal(a.family, 4);
	assert_int_equal(port, stream_listener_port(f->ls));
	char want[64];
	snprintf(want, sizeof want, "127.0.0.1:%u", (unsigned)ntohs(me.sin_port));
	assert_string_equal(stream_peer_str(f->last), want);
	assert_ptr_equal(stream_session_listener(f->last), f->ls);
	assert_ptr_equal(stream_loop(f->last), f->loop);
}

static void test_timer(void **state)
{
	struct fx *f = *state;
	fx_listen(f, NULL);
	int c = cli_connect(f, 0);
	cli_send_frame(c, "timer");
	RUN_UNTIL(f, f->timers == 1 && stream_pending(f->last) == 0);
	assert_int_equal(f->timer_mask, 1u); /* the disarmed timer 1 never fired */
	assert_int_equal(f->arm_bad_id, -1);
	cli_expect_frame(c, "tick");
}

/* No input for idle_usec: closed gracefully with the idle reason. */
static void test_idle_timeout(void **state)
{
	struct fx *f = *state;
	struct stream_opts o = {.idle_usec = 20000};
	fx_listen(f, &o);
	int c = cli_connect(f, 0);
	RUN_UNTIL(f, f->opens == 1);
	RUN_UNTIL(f, closing(f));
	cli_expect_eof(c);
	cli_close(f, 0);
	RUN_UNTIL(f, f->closes == 1);
	assert_int_equal(f->why, STREAM_END_IDLE);
	assert_non_null(strstr(f->reason, "nothing received"));
	assert_true(f->user_ok);
}

/* A header announcing more than max_frame closes before any body is read. */
static void test_oversize_frame(void **state)
{
	struct fx *f = *state;
	f->proto.framing.max_frame = 64;
	fx_listen(f, NULL);
	int c = cli_connect(f, 0);
	uint8_t hdr[2] = {0x03, 0xe6}; /* 998 bytes of payload: a 1000-byte frame */
	cli_send(c, hdr, sizeof hdr);
	RUN_UNTIL(f, closing(f));
	cli_expect_eof(c);
	cli_close(f, 0);
	RUN_UNTIL(f, f->closes == 1);
	assert_int_equal(f->data_calls, 0);
	assert_int_equal(f->why, STREAM_END_FRAME);
	assert_non_null(strstr(f->reason, "1000"));
}

/* Raw mode: a module waiting for a frame bigger than rbuf_max cannot make
 * the core buffer more than rbuf_max. */
static void test_read_buffer_cap(void **state)
{
	struct fx *f = *state;
	struct stream_opts o = {.rbuf_max = 64};
	fx_listen(f, &o);
	int c = cli_connect(f, 0);
	static uint8_t buf[1002];
	buf[0] = 0x03;
	buf[1] = 0xe8; /* announces 1000 bytes */
	cli_send(c, buf, 100);
	RUN_UNTIL(f, closing(f));
	cli_expect_eof(c);
	cli_close(f, 0);
	RUN_UNTIL(f, f->closes == 1);
	assert_int_equal(f->why, STREAM_END_RBUF);
	assert_int_equal(f->max_len, 64);
	assert_int_equal(f->frames, 0);
}

/* The module's own close: its last reply reaches the peer before the FIN. */
static void test_graceful_close(void **state)
{
	struct fx *f = *state;
	fx_listen(f, NULL);
	int c = cli_connect(f, 0);
	cli_send_frame(c, "close");
	RUN_UNTIL(f, closing(f));
	cli_expect_frame(c, "bye");
	cli_expect_eof(c);
	assert_int_equal(f->closes, 0); /* waits for our FIN */
	cli_close(f, 0);
	RUN_UNTIL(f, f->closes == 1);
	assert_int_equal(f->why, STREAM_END_LOCAL);
	assert_string_equal(f->reason, "asked to");
	assert_int_equal(lstats(f).ended[STREAM_END_LOCAL], 1);
}

static void test_protocol_error(void **state)
{
	struct fx *f = *state;
	fx_listen(f, NULL);
	int c = cli_connect(f, 0);
	cli_send_frame(c, "err");
	RUN_UNTIL(f, closing(f));
	cli_expect_eof(c);
	cli_close(f, 0);
	RUN_UNTIL(f, f->closes == 1);
	assert_int_equal(f->why, STREAM_END_PROTO);
	assert_non_null(strstr(f->reason, "echo"));
}

static void test_peer_close(void **state)
{
	struct fx *f = *state;
	fx_listen(f, NULL);
	int c = cli_connect(f, 0);
	cli_send_frame(c, "ping");
	RUN_UNTIL(f, f->frames == 1 && stream_pending(f->last) == 0);
	cli_expect_frame(c, "ping");
	cli_close(f, 0);
	RUN_UNTIL(f, f->closes == 1);
	assert_int_equal(f->why, STREAM_END_PEER);
	assert_true(f->user_ok);
	assert_int_equal(f->final_st.msgs_in, 1);
	assert_int_equal(f->final_st.bytes_in, 6);
	struct stream_listener_stats st = lstats(f);
	assert_int_equal(st.active, 0);
	assert_int_equal(st.accepted, 1);
	assert_int_equal(st.ended[STREAM_END_PEER], 1);
}

/* A peer that never reads cannot make us queue more than wbuf_max. */
static void test_write_buffer_cap(void **state)
{
	struct fx *f = *state;
	struct stream_opts o = {.wbuf_max = 65536};
	fx_listen(f, &o);
	int c = cli_connect(f, 0);
	cli_send_frame(c, "flood");
	RUN_UNTIL(f, f->closes == 1);
	assert_true(f->flood_failed);
	assert_true(f->flood_writes > 0);
	assert_int_equal(f->why, STREAM_END_WBUF);
	assert_true(f->final_st.wbuf_used <= 65536);
}

static void test_max_sessions(void **state)
{
	struct fx *f = *state;
	struct stream_opts o = {.max_sessions = 2};
	fx_listen(f, &o);
	cli_connect(f, 0);
	cli_connect(f, 1);
	RUN_UNTIL(f, f->opens == 2);
	int c3 = cli_connect(f, 2);
	RUN_UNTIL(f, lstats(f).refused_full == 1);
	cli_expect_eof(c3);
	assert_int_equal(f->opens, 2); /* on_open never saw it */
	/* the first two still work */
	cli_send_frame(f->cli[0], "still");
	RUN_UNTIL(f, f->frames == 1);
	cli_expect_frame(f->cli[0], "still");
	/* one leaves: room for a new one */
	cli_close(f, 1);
	RUN_UNTIL(f, f->closes == 1);
	cli_connect(f, 3);
	RUN_UNTIL(f, f->opens == 3);
	assert_int_equal(lstats(f).active, 2);
}

static void test_open_refused(void **state)
{
	struct fx *f = *state;
	f->refuse = 1;
	fx_listen(f, NULL);
	int c = cli_connect(f, 0);
	RUN_UNTIL(f, lstats(f).refused_proto == 1);
	cli_expect_eof(c);
	assert_int_equal(f->closes, 0);
	assert_int_equal(lstats(f).active, 0);
}

static void count_and_close(struct stream_session *s, void *arg)
{
	unsigned *n = arg;
	(*n)++;
	stream_close(s, "walk");
}

/* foreach visits every session, even while its callback closes them; the
 * listener's end closes the rest with on_close. */
static void test_foreach_and_shutdown(void **state)
{
	struct fx *f = *state;
	fx_listen(f, NULL);
	for (int i = 0; i < 4; i++)
		cli_connect(f, i);
	RUN_UNTIL(f, f->opens == 4);
	unsigned n = 0;
	stream_listener_foreach(f->ls, count_and_close, &n);
	assert_int_equal(n, 4);
	n = 0;
	stream_listener_foreach(f->ls, count_and_close, &n);
	assert_int_equal(n, 4); /* closing, still there until gone */
	assert_int_equal(f->closes, 0);
	/* two peers answer our FIN; the others are cut by the shutdown */
	cli_close(f, 0);
	cli_close(f, 1);
	RUN_UNTIL(f, f->closes == 2);
	assert_int_equal(f->why, STREAM_END_LOCAL);
	stream_listener_free(f->ls);
	f->ls = NULL;
	assert_int_equal(f->closes, 4);
	/* the draining ones kept their reason */
	assert_int_equal(f->why, STREAM_END_LOCAL);
}

static void test_shutdown_reason(void **state)
{
	struct fx *f = *state;
	fx_listen(f, NULL);
	cli_connect(f, 0);
	RUN_UNTIL(f, f->opens == 1);
	stream_listener_free(f->ls);
	f->ls = NULL;
	assert_int_equal(f->closes, 1);
	assert_int_equal(f->why, STREAM_END_SHUTDOWN);
	cli_expect_eof(f->cli[0]);
}

/* ip NULL: IPv6 dual-stack (IPv4 peers show as IPv4). */
static void test_dual_stack(void **state)
{
	struct fx *f = *state;
	char err[256];
	f->ls = stream_listen(f->loop, NULL, 0, &f->proto, f, NULL, err, sizeof err);
	assert_non_null(f->ls);
	int port = stream_listener_port(f->ls);
	f->cli[0] = cli_connect_to(AF_INET, "127.0.0.1", port);
	RUN_UNTIL(f, f->opens == 1);
	struct nt_addr a;
	uint16_t p;
	stream_peer(f->last, &a, &p);
	assert_int_equal(a.family, 4);
	f->cli[1] = cli_connect_to(AF_INET6, "::1", port);
	RUN_UNTIL(f, f->opens == 2);
	stream_peer(f->last, &a, &p);
	assert_int_equal(a.family, 6);
	assert_int_equal(a.a[15], 1);
	snprintf(err, sizeof err, "[::1]:%u", (unsigned)p);
	assert_string_equal(stream_peer_str(f->last), err);
}

static void test_listen_errors(void **state)
{
	struct fx *f = *state;
	char err[256];
	assert_null(stream_listen(f->loop, "not-an-ip", 0, &f->proto, f, NULL, err, sizeof err));
	assert_non_null(strstr(err, "not-an-ip"));
	/* TEST-NET-1 is not ours: bind fails and says so */
	assert_null(stream_listen(f->loop, "192.0.2.1", 0, &f->proto, f, NULL, err, sizeof err));
	assert_non_null(strstr(err, "bind(192.0.2.1 port 0)"));
	struct stream_proto bad = f->proto;
	bad.framing = (struct stream_framing){.hdr_len = 2, .len_off = 1, .len_size = 2};
	assert_null(stream_listen(f->loop, "127.0.0.1", 0, &bad, f, NULL, err, sizeof err));
	assert_non_null(strstr(err, "framing"));
}

/* ---- two workers on one port ---------------------------------------------- */

struct worker {
	int index;
	struct nt_loop *loop;
	struct stream_listener *ls;
	struct nt_ev *stop;
	pthread_t thread;
	/* written on the worker's thread, read after the join */
	unsigned opens, closes, frames, wrong_thread;
};

static void w_check(struct worker *w, struct stream_session *s)
{
	if (!pthread_equal(pthread_self(), w->thread) || stream_loop(s) != w->loop)
		w->wrong_thread++;
}

static int w_open(struct stream_session *s)
{
	struct worker *w = stream_proto_arg(s);
	w_check(w, s);
	w->opens++;
	return 0;
}

/* Reply with the index of the worker serving the session. */
static ssize_t w_data(struct stream_session *s, const uint8_t *d, size_t len)
{
	struct worker *w = stream_proto_arg(s);
	(void)d;
	w_check(w, s);
	w->frames++;
	uint8_t fr[3];
	uint8_t idx = (uint8_t)w->index;
	return stream_write(s, fr, mkframe(fr, &idx, 1)) < 0 ? -1 : (ssize_t)len;
}

static void w_close(struct stream_session *s, enum stream_end why, const char *reason)
{
	struct worker *w = stream_proto_arg(s);
	(void)why;
	(void)reason;
	w_check(w, s);
	w->closes++;
}

static void w_stop(void *arg)
{
	struct worker *w = arg;
	stream_listener_free(w->ls);
	w->ls = NULL;
	nt_loop_break(w->loop);
}

static void *w_run(void *arg)
{
	struct worker *w = arg;
	w->thread = pthread_self();
	nt_loop_run(w->loop);
	return NULL;
}

static void test_reuseport_workers(void **state)
{
	(void)state;
	static const struct stream_proto proto = {
	    .name = "who",
	    .framing = {.hdr_len = 2, .len_off = 0, .len_size = 2, .len_adjust = 2},
	    .on_open = w_open,
	    .on_data = w_data,
	    .on_close = w_close,
	};
	struct worker w[2];
	char err[256];
	int port = 0;
	memset(w, 0, sizeof w);
	for (int i = 0; i < 2; i++) {
		w[i].index = i;
		w[i].loop = nt_loop_new();
		assert_non_null(w[i].loop);
		w[i].ls = stream_listen(w[i].loop, "127.0.0.1", port, &proto, &w[i], NULL, err,
					sizeof err);
		if (!w[i].ls)
			fail_msg("stream_listen: %s", err);
		port = stream_listener_port(w[i].ls);
		w[i].stop = nt_ev_wakeup(w[i].loop, w_stop, &w[i]);
		assert_non_null(w[i].stop);
	}
	pthread_t tid[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&tid[i], NULL, w_run, &w[i]), 0);

	/* connect until both workers have a session (the kernel hashes the
	 * 4-tuple: 200 tries all landing on one side has odds of 2^-199) */
	enum { MAXC = 200 };
	int fds[MAXC], served[MAXC], n = 0, seen[2] = {0, 0};
	while (n < MAXC && !(seen[0] && seen[1])) {
		fds[n] = cli_connect_to(AF_INET, "127.0.0.1", port);
		uint8_t r[3];
		cli_send_frame(fds[n], "who");
		cli_recv(fds[n], r, sizeof r);
		served[n] = r[2];
		assert_true(served[n] == 0 || served[n] == 1);
		seen[served[n]]++;
		n++;
	}
	assert_true(seen[0] && seen[1]);
	/* every session is still served by the worker that accepted it */
	for (int i = 0; i < n; i++) {
		uint8_t r[3];
		cli_send_frame(fds[i], "again");
		cli_recv(fds[i], r, sizeof r);
		assert_int_equal(r[2], served[i]);
		close(fds[i]);
	}
	for (int i = 0; i < 2; i++) {
		nt_ev_trigger(w[i].stop);
		assert_int_equal(pthread_join(tid[i], NULL), 0);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(w[i].wrong_thread, 0);
		assert_int_equal(w[i].opens, (unsigned)seen[i]);
		assert_int_equal(w[i].frames, 2u * (unsigned)seen[i]);
		assert_int_equal(w[i].closes, w[i].opens);
		nt_ev_free(w[i].stop);
		nt_loop_free(w[i].loop);
	}
}

#define BOTH(t)                                                                                    \
	cmocka_unit_test_setup_teardown(t, setup_raw, teardown),                                   \
	    cmocka_unit_test_setup_teardown(t, setup_framed, teardown)

int main(void)
{
	/* the two-worker test triggers a loop's wake-up from another thread */
	if (nt_loop_threads() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    BOTH(test_partial_frame),
	    BOTH(test_frames_in_one_write),
	    BOTH(test_timer),
	    BOTH(test_peer_close),
	    BOTH(test_graceful_close),
	    BOTH(test_protocol_error),
	    cmocka_unit_test_setup_teardown(test_peer_address, setup_raw, teardown),
	    cmocka_unit_test_setup_teardown(test_idle_timeout, setup_raw, teardown),
	    cmocka_unit_test_setup_teardown(test_oversize_frame, setup_framed, teardown),
	    cmocka_unit_test_setup_teardown(test_read_buffer_cap, setup_raw, teardown),
	    cmocka_unit_test_setup_teardown(test_write_buffer_cap, setup_raw, teardown),
	    cmocka_unit_test_setup_teardown(test_max_sessions, setup_raw, teardown),
	    cmocka_unit_test_setup_teardown(test_open_refused, setup_raw, teardown),
	    cmocka_unit_test_setup_teardown(test_foreach_and_shutdown, setup_raw, teardown),
	    cmocka_unit_test_setup_teardown(test_shutdown_reason, setup_raw, teardown),
	    cmocka_unit_test_setup_teardown(test_dual_stack, setup_raw, teardown),
	    cmocka_unit_test_setup_teardown(test_listen_errors, setup_raw, teardown),
	    cmocka_unit_test(test_reuseport_workers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
