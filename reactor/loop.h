/*
 * The reactor's event loop: a thin layer over libevent, the only place in
 * the tree that includes it.  Inputs, outputs and protocol code see fd
 * watches, timers and cross-thread wake-ups, never a struct event.
 *
 * One loop per thread.  Every callback runs on the loop's own thread;
 * nt_ev_trigger() and nt_ev_arm() are the calls another thread may make on
 * an event (after nt_loop_threads()).
 */
#ifndef NETACCT_REACTOR_LOOP_H
#define NETACCT_REACTOR_LOOP_H

#include <stdint.h>

struct nt_loop;
struct nt_ev;

#define NT_EV_READ  0x1u
#define NT_EV_WRITE 0x2u

/* fd readiness: what is NT_EV_READ and/or NT_EV_WRITE. */
typedef void (*nt_fd_fn)(int fd, unsigned what, void *arg);
/* timers, wake-ups and signals */
typedef void (*nt_ev_fn)(void *arg);

/* NULL on failure.  Call nt_loop_threads() once, before the first loop, when
 * events will be triggered from other threads. */
int nt_loop_threads(void);
struct nt_loop *nt_loop_new(void);
void nt_loop_free(struct nt_loop *l);
/* Run until nt_loop_break(); -1 on a loop error. */
int nt_loop_run(struct nt_loop *l);
/* Leave nt_loop_run() after the current callback (loop thread only). */
void nt_loop_break(struct nt_loop *l);
/* Microseconds on the loop's monotonic clock, refreshed (not cached). */
uint64_t nt_loop_now_usec(struct nt_loop *l);

/*
 * Watch fd for what (persistent until freed or disabled).  The watch is
 * active once created; NULL on failure.
 */
struct nt_ev *nt_ev_fd(struct nt_loop *l, int fd, unsigned what, nt_fd_fn fn, void *arg);
/* Change what an fd watch waits for (e.g. add NT_EV_WRITE while output is queued). */
int nt_ev_fd_want(struct nt_ev *e, unsigned what);

/* A one-shot timer, armed with nt_ev_arm(); re-arming moves it. */
struct nt_ev *nt_ev_timer(struct nt_loop *l, nt_ev_fn fn, void *arg);
int nt_ev_arm(struct nt_ev *e, uint64_t usec);
void nt_ev_disarm(struct nt_ev *e);
int nt_ev_armed(const struct nt_ev *e);

/*
 * A wake-up: nt_ev_trigger() from any thread makes fn run once on the
 * loop's thread (several triggers before it runs may coalesce into one).
 */
struct nt_ev *nt_ev_wakeup(struct nt_loop *l, nt_ev_fn fn, void *arg);
void nt_ev_trigger(struct nt_ev *e);

/* A signal served on this loop (main thread only). */
struct nt_ev *nt_ev_signal(struct nt_loop *l, int sig, nt_ev_fn fn, void *arg);

/* Free an event of any kind (NULL is fine). */
void nt_ev_free(struct nt_ev *e);

/*
 * The libevent base under a loop, for reactor/metrics_http.c alone (its
 * evhttp server runs on the main loop); nothing else may touch libevent.
 */
struct event_base;
struct event_base *nt_loop_event_base(struct nt_loop *l);

#endif
