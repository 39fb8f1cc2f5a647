/*
 * recvfloor: the receive floor.  What a UDP collector pays the kernel to get
 * its datagrams into user space, and nothing else: no decoding, no
 * accounting, no output.  run.sh runs it as a "daemon" beside the real ones,
 * so the benchmark shows how much of each daemon's CPU per record is the
 * socket's and which ratios between collectors the socket leaves room for.
 *
 *   recvfloor --port P [--ip A] [--workers N] [--pace-us U] [--rcvbuf B]
 *
 * It reads as netacct's workers do under steady load: N threads (default:
 * online CPUs), each with a socket opened by the workers' own udp_listen()
 * (SO_REUSEPORT, B bytes of buffer, default 32 MiB), draining it with
 * recvmmsg() (64 datagrams per call, source addresses included) every U
 * microseconds (default 2000; 0: wait in poll() for every wake-up), and
 * waiting in poll() while the socket is idle.  It prints "ready" once every
 * socket is bound; on SIGINT or SIGTERM, "datagrams=N bytes=B".
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "reactor/socket.h"

#define BATCH	    64
#define SLOT	    65536 /* the largest UDP payload, as a collector must allow */
#define MAX_WORKERS 64

struct reader {
	pthread_t thread;
	int fd;
	long pace_us;
	uint64_t datagrams, bytes;
};

static atomic_int stopping;

static void on_signal(int s)
{
	(void)s;
	atomic_store(&stopping, 1);
}

static void *read_loop(void *arg)
{
	struct reader *r = arg;
	uint8_t *bufs = malloc((size_t)BATCH * SLOT);
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage from[BATCH];
	if (!bufs) {
		fprintf(stderr, "recvfloor: out of memory\n");
		return NULL;
	}
	for (int k = 0; k < BATCH; k++)
		iov[k] = (struct iovec){bufs + (size_t)k * SLOT, SLOT};
	while (!atomic_load(&stopping)) {
		unsigned got = 0;
		for (;;) {
			for (int k = 0; k < BATCH; k++) {
				memset(&m[k], 0, sizeof m[k]);
				m[k].msg_hdr.msg_iov = &iov[k];
				m[k].msg_hdr.msg_iovlen = 1;
				m[k].msg_hdr.msg_name = &from[k];
				m[k].msg_hdr.msg_namelen = sizeof from[k];
			}
			int n = recvmmsg(r->fd, m, BATCH, MSG_DONTWAIT, NULL);
			if (n <= 0)
				break;
			got += (unsigned)n;
			r->datagrams += (uint64_t)n;
			for (int k = 0; k < n; k++)
				r->bytes += m[k].msg_len;
			if (n < BATCH)
				break;
		}
		if (got && r->pace_us) {
			struct timespec ts = {r->pace_us / 1000000, (r->pace_us % 1000000) * 1000};
			nanosleep(&ts, NULL);
			continue;
		}
		struct pollfd p = {.fd = r->fd, .events = POLLIN};
		poll(&p, 1, 100); /* wakes now and then to see the stop flag */
	}
	free(bufs);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *ip = "127.0.0.1";
	int port = 0, rcvbuf = 32 << 20;
	long workers = sysconf(_SC_NPROCESSORS_ONLN), pace_us = 2000;
	static const struct option opts[] = {
	    {"port", required_argument, NULL, 'p'},    {"ip", required_argument, NULL, 'i'},
	    {"workers", required_argument, NULL, 'w'}, {"pace-us", required_argument, NULL, 'u'},
	    {"rcvbuf", required_argument, NULL, 'b'},  {NULL, 0, NULL, 0}};
	for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		switch (c) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'i':
			ip = optarg;
			break;
		case 'w':
			workers = atol(optarg);
			break;
		case 'u':
			pace_us = atol(optarg);
			break;
		case 'b':
			rcvbuf = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (port < 1 || port > 65535 || workers < 1 || workers > MAX_WORKERS || pace_us < 0 ||
	    rcvbuf < 1)
		goto usage;

	static struct reader rd[MAX_WORKERS];
	for (long i = 0; i < workers; i++) {
		char err[256];
		/* the workers' own socket: reactor/socket.h */
		rd[i].fd = udp_listen(ip, port, rcvbuf, NULL, err, sizeof err);
		rd[i].pace_us = pace_us;
		if (rd[i].fd < 0) {
			fprintf(stderr, "recvfloor: %s\n", err);
			return 1;
		}
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old); /* the signals are the main thread's */
	for (long i = 0; i < workers; i++)
		if (pthread_create(&rd[i].thread, NULL, read_loop, &rd[i]) != 0) {
			fprintf(stderr, "recvfloor: cannot start a thread\n");
			return 1;
		}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	while (!atomic_load(&stopping))
		pause();
	uint64_t dg = 0, by = 0;
	for (long i = 0; i < workers; i++) {
		pthread_join(rd[i].thread, NULL);
		dg += rd[i].datagrams;
		by += rd[i].bytes;
	}
	printf("datagrams=%llu bytes=%llu\n", (unsigned long long)dg, (unsigned long long)by);
	return 0;

usage:
	fprintf(stderr, "usage: recvfloor --port P [--ip A] [--workers N] [--pace-us U] "
			"[--rcvbuf B]\n");
	return 2;
}
