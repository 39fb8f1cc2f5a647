#include "reactor/loop.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <stdlib.h>
#include <time.h>

struct nt_loop {
	struct event_base *base;
};

enum ev_kind { EK_FD, EK_TIMER, EK_WAKEUP, EK_SIGNAL };

struct nt_ev {
	struct event *ev;
	struct nt_loop *loop;
	enum ev_kind kind;
	int fd;
	nt_fd_fn fd_fn;
	nt_ev_fn fn;
	void *arg;
};

int nt_loop_threads(void)
{
	return evthread_use_pthreads();
}

struct nt_loop *nt_loop_new(void)
{
	struct nt_loop *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	/*
	 * No cached time: a worker busy for a long burst would otherwise arm
	 * its next timer from a stale clock and fire early.
	 */
	struct event_config *cfg = event_config_new();
	if (!cfg) {
		free(l);
		return NULL;
	}
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NO_CACHE_TIME);
	l->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (!l->base) {
		free(l);
		return NULL;
	}
	return l;
}

void nt_loop_free(struct nt_loop *l)
{
	if (!l)
		return;
	event_base_free(l->base);
	free(l);
}

int nt_loop_run(struct nt_loop *l)
{
	return event_base_loop(l->base, EVLOOP_NO_EXIT_ON_EMPTY) < 0 ? -1 : 0;
}

void nt_loop_break(struct nt_loop *l)
{
	event_base_loopbreak(l->base);
}

uint64_t nt_loop_now_usec(struct nt_loop *l)
{
	(void)l;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void on_fd(evutil_socket_t fd, short what, void *arg)
{
	struct nt_ev *e = arg;
	unsigned w = ((what & EV_READ) ? NT_EV_READ : 0) | ((what & EV_WRITE) ? NT_EV_WRITE : 0);
	e->fd_fn((int)fd, w, e->arg);
}

static void on_plain(evutil_socket_t fd, short what, void *arg)
{
	struct nt_ev *e = arg;
	(void)fd;
	(void)what;
	e->fn(e->arg);
}

static struct nt_ev *ev_make(struct nt_loop *l, enum ev_kind kind, void *arg)
{
	struct nt_ev *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->loop = l;
	e->kind = kind;
	e->arg = arg;
	e->fd = -1;
	return e;
}

static short ev_flags(unsigned what)
{
	return (short)(EV_PERSIST | ((what & NT_EV_READ) ? EV_READ : 0) |
		       ((what & NT_EV_WRITE) ? EV_WRITE : 0));
}

struct nt_ev *nt_ev_fd(struct nt_loop *l, int fd, unsigned what, nt_fd_fn fn, void *arg)
{
	struct nt_ev *e = ev_make(l, EK_FD, arg);
	if (!e)
		return NULL;
	e->fd = fd;
	e->fd_fn = fn;
	e->ev = event_new(l->base, fd, ev_flags(what), on_fd, e);
	if (!e->ev || event_add(e->ev, NULL) < 0) {
		nt_ev_free(e);
		return NULL;
	}
	return e;
}

int nt_ev_fd_want(struct nt_ev *e, unsigned what)
{
	event_del(e->ev);
	if (event_assign(e->ev, e->loop->base, e->fd, ev_flags(what), on_fd, e) < 0)
		return -1;
	return what ? event_add(e->ev, NULL) : 0;
}

struct nt_ev *nt_ev_timer(struct nt_loop *l, nt_ev_fn fn, void *arg)
{
	struct nt_ev *e = ev_make(l, EK_TIMER, arg);
	if (!e)
		return NULL;
	e->fn = fn;
	e->ev = event_new(l->base, -1, 0, on_plain, e);
	if (!e->ev) {
		nt_ev_free(e);
		return NULL;
	}
	return e;
}

int nt_ev_arm(struct nt_ev *e, uint64_t usec)
{
	struct timeval tv = {(time_t)(usec / 1000000u), (suseconds_t)(usec % 1000000u)};
	return event_add(e->ev, &tv);
}

void nt_ev_disarm(struct nt_ev *e)
{
	event_del(e->ev);
}

int nt_ev_armed(const struct nt_ev *e)
{
	return event_pending(e->ev, EV_TIMEOUT, NULL) != 0;
}

struct nt_ev *nt_ev_wakeup(struct nt_loop *l, nt_ev_fn fn, void *arg)
{
	struct nt_ev *e = nt_ev_timer(l, fn, arg);
	if (e)
		e->kind = EK_WAKEUP;
	return e;
}

void nt_ev_trigger(struct nt_ev *e)
{
	if (e)
		event_active(e->ev, 0, 0);
}

struct nt_ev *nt_ev_signal(struct nt_loop *l, int sig, nt_ev_fn fn, void *arg)
{
	struct nt_ev *e = ev_make(l, EK_SIGNAL, arg);
	if (!e)
		return NULL;
	e->fn = fn;
	e->ev = evsignal_new(l->base, sig, on_plain, e);
	if (!e->ev || event_add(e->ev, NULL) < 0) {
		nt_ev_free(e);
		return NULL;
	}
	return e;
}

void nt_ev_free(struct nt_ev *e)
{
	if (!e)
		return;
	if (e->ev)
		event_free(e->ev);
	free(e);
}

struct event_base *nt_loop_event_base(struct nt_loop *l)
{
	return l->base;
}
