/*
 * The reactor's own pieces: the event-loop layer (timers, cross-thread
 * wake-ups, fd watches), the refresh-round rule and the port-in-use probe.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "reactor/loop.h"
#include "reactor/socket.h"
#include "reactor/worker.h"

struct counter {
	struct nt_loop *loop;
	int n, stop_at;
};

static void count_and_maybe_stop(void *arg)
{
	struct counter *c = arg;
	if (++c->n == c->stop_at)
		nt_loop_break(c->loop);
}

static void test_timer_fires_once_per_arm(void **state)
{
	(void)state;
	struct nt_loop *l = nt_loop_new();
	assert_non_null(l);
	struct counter c = {l, 0, 1};
	struct nt_ev *t = nt_ev_timer(l, count_and_maybe_stop, &c);
	assert_non_null(t);
	assert_false(nt_ev_armed(t));
	assert_int_equal(nt_ev_arm(t, 1000), 0);
	assert_true(nt_ev_armed(t));
	assert_int_equal(nt_loop_run(l), 0);
	assert_int_equal(c.n, 1);
	assert_false(nt_ev_armed(t));
	nt_ev_free(t);
	nt_loop_free(l);
}

struct waker {
	struct nt_ev *ev;
	int times;
};

static void *wake_from_thread(void *arg)
{
	struct waker *wk = arg;
	for (int i = 0; i < wk->times; i++)
		nt_ev_trigger(wk->ev);
	return NULL;
}

static void test_wakeup_from_another_thread(void **state)
{
	(void)state;
	assert_int_equal(nt_loop_threads(), 0);
	struct nt_loop *l = nt_loop_new();
	struct counter c = {l, 0, 1};
	struct nt_ev *e = nt_ev_wakeup(l, count_and_maybe_stop, &c);
	assert_non_null(e);
	struct waker wk = {e, 1};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, wake_from_thread, &wk), 0);
	assert_int_equal(nt_loop_run(l), 0);
	pthread_join(th, NULL);
	assert_int_equal(c.n, 1);
	nt_ev_free(e);
	nt_loop_free(l);
}

struct reader {
	struct nt_loop *loop;
	char got[16];
	int n;
};

static void on_readable(int fd, unsigned what, void *arg)
{
	struct reader *r = arg;
	assert_true(what & NT_EV_READ);
	ssize_t k = read(fd, r->got + r->n, sizeof r->got - (size_t)r->n);
	assert_true(k > 0);
	r->n += (int)k;
	nt_loop_break(r->loop);
}

static void test_fd_watch(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct nt_loop *l = nt_loop_new();
	struct reader r = {l, {0}, 0};
	struct nt_ev *e = nt_ev_fd(l, p[0], NT_EV_READ, on_readable, &r);
	assert_non_null(e);
	assert_int_equal(write(p[1], "abc", 3), 3);
	assert_int_equal(nt_loop_run(l), 0);
	assert_int_equal(r.n, 3);
	assert_memory_equal(r.got, "abc", 3);
	nt_ev_free(e);
	nt_loop_free(l);
	close(p[0]);
	close(p[1]);
}

/* A tick closes the boundary just passed, once; an early timer closes nothing. */
static void test_round_due(void **state)
{
	(void)state;
	/* 60 s refresh: boundary 120 s is round 2 */
	assert_int_equal(worker_round_due(120000, 60, 1), 2);
	assert_int_equal(worker_round_due(120500, 60, 1), 2);
	/* fired 3 ms before the boundary of round 2: too early, nothing to hand off */
	assert_int_equal(worker_round_due(119997, 60, 1), 0);
	/* round 2 was handed off already: a second timer in the same second is a no-op */
	assert_int_equal(worker_round_due(120004, 60, 2), 0);
	/* the worker was stalled past two boundaries: the latest one */
	assert_int_equal(worker_round_due(245000, 60, 2), 4);
	/* first tick ever */
	assert_int_equal(worker_round_due(10000, 1, 0), 10);
}

static int bound_port(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof a;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	return ntohs(a.sin_port);
}

static void test_port_unused_probe(void **state)
{
	(void)state;
	char err[256];
	int got = 0;
	/* a reuseport group member holds the port: the probe must see it */
	int fd = udp_listen("127.0.0.1", 0, 0, &got, err, sizeof err);
	assert_true(fd >= 0);
	int port = bound_port(fd);
	assert_int_equal(port_unused("127.0.0.1", port, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "already in use"));
	/* and the port is still usable by the group: the probe left nothing behind */
	int fd2 = udp_listen("127.0.0.1", port, 0, &got, err, sizeof err);
	assert_true(fd2 >= 0);
	close(fd2);
	close(fd);
	assert_int_equal(port_unused("127.0.0.1", port, 0, err, sizeof err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timer_fires_once_per_arm),
	    cmocka_unit_test(test_wakeup_from_another_thread),
	    cmocka_unit_test(test_fd_watch),
	    cmocka_unit_test(test_round_due),
	    cmocka_unit_test(test_port_unused_probe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
