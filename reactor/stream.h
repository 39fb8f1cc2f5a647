/*
 * Stream inputs: a TCP listener per worker and the sessions it accepts.
 *
 * Every worker calls stream_listen() on its own loop with the same address
 * and port (SO_REUSEPORT): the kernel spreads connections over the workers,
 * and a session lives and dies on the loop that accepted it.  Nothing here is
 * locked: a listener and its sessions are touched only from their loop's
 * thread (or before that loop runs).
 *
 * A protocol module (BGP, BMP, telemetry) supplies a struct stream_proto.
 * The core owns the socket, the read and write buffers, the timers and the
 * limits; the module sees bytes in, writes bytes out, and is told once, with
 * a reason, when a session ends.
 *
 * Reading: on_data receives every byte not consumed yet, contiguous, and
 * returns how many it consumed; the rest stays buffered until more arrives,
 * so a module frames messages without copying.  A module whose messages
 * carry a length in a fixed header (BGP, BMP) can instead describe the
 * header in stream_proto.framing: the core then cuts the stream into whole
 * messages, hands them over one per on_data call, and refuses a length over
 * the limit as soon as the header arrives, before buffering the body.
 */
#ifndef NETACCT_REACTOR_STREAM_H
#define NETACCT_REACTOR_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agg/flow.h"
#include "reactor/loop.h"

struct stream_listener;
struct stream_session;

/* Why a session ended (on_close's why; stream_end_name() for logs). */
enum stream_end {
	STREAM_END_LOCAL,    /* the module called stream_close() */
	STREAM_END_PROTO,    /* on_data returned -1 */
	STREAM_END_PEER,     /* the peer closed the connection */
	STREAM_END_READ,     /* read error (reset by peer...) */
	STREAM_END_WRITE,    /* write error */
	STREAM_END_IDLE,     /* nothing received for stream_opts.idle_usec */
	STREAM_END_RBUF,     /* rbuf_max bytes buffered and on_data consumed none */
	STREAM_END_FRAME,    /* a framed header announced a bad length */
	STREAM_END_WBUF,     /* queued output would pass wbuf_max */
	STREAM_END_SHUTDOWN, /* stream_listener_free() */
	STREAM_END_COUNT
};
const char *stream_end_name(enum stream_end why);

/*
 * A length-prefixed header: total message length = the big-endian unsigned
 * len_size-byte field at len_off, plus len_adjust.  A message shorter than
 * hdr_len or longer than max_frame ends the session (STREAM_END_FRAME).
 *   BGP (RFC 4271 4.1): {19, 16, 2, 0, 4096}   (65535 with RFC 8654)
 *   BMP (RFC 7854 4.1): { 6,  1, 4, 0, max}
 * hdr_len 0 = no framing: on_data sees the raw buffered bytes.
 */
struct stream_framing {
	uint16_t hdr_len;
	uint16_t len_off;
	uint8_t len_size; /* 1, 2 or 4 */
	int32_t len_adjust;
	uint32_t max_frame; /* 0 = stream_opts.rbuf_max */
};

#define STREAM_TIMERS 4 /* per-session timers, ids 0..STREAM_TIMERS-1 */

/*
 * A protocol module.  Every callback runs on the session's loop; each may
 * call stream_write(), stream_close() and the timer calls on its session
 * (a close made inside a callback takes effect when the callback returns).
 */
struct stream_proto {
	const char *name; /* for logs */
	struct stream_framing framing;
	/*
	 * A new session (peer address known, may write).  Return -1 to refuse:
	 * the connection is closed at once and on_close is not called.
	 */
	int (*on_open)(struct stream_session *s);
	/*
	 * Raw mode: all unconsumed bytes; return how many were consumed (0 = wait
	 * for more; after a partial consumption it is called again with the
	 * rest).  Framed mode: exactly one whole message; return >= 0.
	 * -1 closes the session (STREAM_END_PROTO, unless the module already
	 * called stream_close() with its own reason).
	 */
	ssize_t (*on_data)(struct stream_session *s, const uint8_t *data, size_t len);
	/* Timer id (armed with stream_timer_arm()) fired.  May be NULL. */
	void (*on_timer)(struct stream_session *s, unsigned id);
	/*
	 * Called exactly once for every session on_open accepted, when it is
	 * gone (socket closed): free the user state here.  It runs from the
	 * loop (or stream_listener_free()), never from inside a stream_* call,
	 * so a module may close sessions anywhere without being re-entered.
	 * reason is a short text ("peer closed", "read: Connection reset by
	 * peer", the module's own) valid during the call.
	 */
	void (*on_close)(struct stream_session *s, enum stream_end why, const char *reason);
};

/* Listener settings; a zero field (or opts NULL) takes the default. */
struct stream_opts {
	int backlog;	       /* listen() backlog; default 128 */
	unsigned max_sessions; /* per listener, further connections are closed; 0 = none */
	size_t rbuf_max;       /* most bytes buffered unconsumed per session; default 1 MiB */
	size_t wbuf_max;       /* most bytes queued for output per session; default 1 MiB */
	uint64_t idle_usec;    /* close after this long without input; 0 = never */
	uint64_t linger_usec;  /* how long stream_close() waits for output to drain; default 5 s */
};

/* Per-session counters (stream_session_stats()). */
struct stream_stats {
	uint64_t bytes_in, bytes_out;
	uint64_t msgs_in;     /* framed: messages; raw: on_data calls that consumed bytes */
	uint64_t msgs_out;    /* stream_write() calls */
	uint64_t opened_usec; /* loop clock (nt_loop_now_usec) */
	uint64_t last_rx_usec;
	size_t rbuf_used, wbuf_used; /* bytes buffered now */
};

/* Per-listener counters (stream_listener_stats()). */
struct stream_listener_stats {
	uint64_t accepted;	/* sessions opened (on_open said yes) */
	uint64_t refused_full;	/* closed at accept: max_sessions reached */
	uint64_t refused_proto; /* on_open returned -1 */
	uint64_t accept_errors; /* accept() failures other than "try again" */
	uint64_t ended[STREAM_END_COUNT];
	unsigned active;
};

/*
 * Listen on ip:port on loop l (call on l's thread or before it runs).
 * ip NULL or "" = every address: IPv6 dual-stack, IPv4 when the host has no
 * IPv6.  port 0 = any (stream_listener_port() tells which).  SO_REUSEADDR
 * and SO_REUSEPORT are set, so every worker may bind the same port.
 * proto and proto_arg must outlive the listener.  NULL with the failing
 * call named in err.
 */
struct stream_listener *stream_listen(struct nt_loop *l, const char *ip, int port,
				      const struct stream_proto *proto, void *proto_arg,
				      const struct stream_opts *opts, char *err, size_t errlen);
/* Close every session (on_close with STREAM_END_SHUTDOWN), then the socket.
 * Not from inside a callback of one of its sessions.  NULL is fine. */
void stream_listener_free(struct stream_listener *ls);
/* The bound port (useful with port 0). */
int stream_listener_port(const struct stream_listener *ls);
void stream_listener_stats(const struct stream_listener *ls, struct stream_listener_stats *st);
/*
 * Call fn on every session of the listener (stats dumps, reload).  fn may
 * close sessions; their end is deferred until the walk is over.
 */
void stream_listener_foreach(struct stream_listener *ls,
			     void (*fn)(struct stream_session *s, void *arg), void *arg);

/*
 * Queue len bytes for the peer (written now if the socket takes them).
 * -1 when the session is closing or closed, on a write error, or when the
 * queue would pass wbuf_max (the session is then closed: a peer that does
 * not read its replies cannot make us buffer without bound).
 */
int stream_write(struct stream_session *s, const void *buf, size_t len);
/* Bytes queued and not yet accepted by the kernel (for backpressure). */
size_t stream_pending(const struct stream_session *s);
/*
 * End the session gracefully: stop delivering input and firing timers,
 * flush queued output, shut down our side, wait for the peer's FIN (so the
 * close is not a RST that could destroy our last message in the peer's
 * receive queue), all within linger_usec; then close and call
 * on_close(s, STREAM_END_LOCAL, reason).  Only the first end counts.
 * reason NULL = "closed".  Idle, RBUF, FRAME, PROTO and PEER ends close the
 * same way; READ, WRITE, WBUF and SHUTDOWN ends close at once.
 */
void stream_close(struct stream_session *s, const char *reason);
/* Non-zero once the session is closing (stream_write would fail). */
int stream_closing(const struct stream_session *s);

/* Fire on_timer(s, id) in usec microseconds (re-arming moves it).  -1 on a
 * bad id, a closing session or an allocation failure. */
int stream_timer_arm(struct stream_session *s, unsigned id, uint64_t usec);
void stream_timer_disarm(struct stream_session *s, unsigned id);

/* The peer's (remote) and our (local) address and port. */
void stream_peer(const struct stream_session *s, struct nt_addr *a, uint16_t *port);
void stream_local(const struct stream_session *s, struct nt_addr *a, uint16_t *port);
/* "addr port" of the peer, for logs (valid while the session lives). */
const char *stream_peer_str(const struct stream_session *s);

void *stream_user(const struct stream_session *s);
void stream_set_user(struct stream_session *s, void *user);
/* The proto_arg given to stream_listen(), the listener and its loop. */
void *stream_proto_arg(const struct stream_session *s);
struct stream_listener *stream_session_listener(const struct stream_session *s);
struct nt_loop *stream_loop(const struct stream_session *s);
void stream_session_stats(const struct stream_session *s, struct stream_stats *st);

#endif
