/*
 * udpsink: counts the UDP datagrams and bytes that reach loopback ports, for
 * the tee benchmark (tests/bench/tee_bench.py).
 *
 *   udpsink PORT[,PORT...] [IDLE_MS]
 *
 * Binds 127.0.0.1:PORT for each port with a 32 MiB receive buffer, prints
 * "ready" once bound, then counts until IDLE_MS (default 1000) pass without a
 * datagram after the first one, or SIGTERM/SIGINT.  Prints one line per port:
 * "port=P datagrams=N bytes=B", and "kdrop=K" (datagrams the kernel dropped
 * on these sockets: SO_RXQ_OVFL).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXP  16
#define BATCH 64

static volatile sig_atomic_t stop;

static void on_signal(int s)
{
	(void)s;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: udpsink PORT[,PORT...] [IDLE_MS]\n");
		return 2;
	}
	int idle_ms = argc > 2 ? atoi(argv[2]) : 1000;
	struct pollfd pfd[MAXP];
	unsigned port[MAXP], n = 0;
	uint64_t dg[MAXP] = {0}, by[MAXP] = {0}, drops[MAXP] = {0};
	char *save = NULL;
	for (char *t = strtok_r(argv[1], ",", &save); t && n < MAXP;
	     t = strtok_r(NULL, ",", &save)) {
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		int sz = 32 << 20, one = 1;
		struct sockaddr_in a = {.sin_family = AF_INET,
					.sin_port = htons((uint16_t)atoi(t))};
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (fd < 0 ||
		    (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0 &&
		     setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz) < 0) ||
		    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) < 0 ||
		    bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
			fprintf(stderr, "udpsink: port %s: %s\n", t, strerror(errno));
			return 1;
		}
		pfd[n].fd = fd;
		pfd[n].events = POLLIN;
		port[n++] = (unsigned)atoi(t);
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready\n");
	fflush(stdout);

	static uint8_t bufs[BATCH][2048];
	static char ctl[BATCH][64];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	int started = 0;
	while (!stop) {
		int r = poll(pfd, n, started ? idle_ms : 100);
		if (r < 0 && errno != EINTR)
			break;
		if (r == 0 && started)
			break;
		for (unsigned i = 0; i < n; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			for (;;) {
				for (int k = 0; k < BATCH; k++) {
					iov[k] = (struct iovec){bufs[k], sizeof bufs[k]};
					memset(&m[k], 0, sizeof m[k]);
					m[k].msg_hdr.msg_iov = &iov[k];
					m[k].msg_hdr.msg_iovlen = 1;
					m[k].msg_hdr.msg_control = ctl[k];
					m[k].msg_hdr.msg_controllen = sizeof ctl[k];
				}
				int got = recvmmsg(pfd[i].fd, m, BATCH, MSG_DONTWAIT, NULL);
				if (got <= 0)
					break;
				started = 1;
				for (int k = 0; k < got; k++) {
					dg[i]++;
					by[i] += m[k].msg_len;
					struct cmsghdr *c = CMSG_FIRSTHDR(&m[k].msg_hdr);
					for (; c; c = CMSG_NXTHDR(&m[k].msg_hdr, c))
						if (c->cmsg_level == SOL_SOCKET &&
						    c->cmsg_type == SO_RXQ_OVFL) {
							uint32_t v;
							memcpy(&v, CMSG_DATA(c), sizeof v);
							drops[i] = v;
						}
				}
			}
		}
	}
	uint64_t kdrop = 0;
	for (unsigned i = 0; i < n; i++) {
		printf("port=%u datagrams=%llu bytes=%llu\n", port[i], (unsigned long long)dg[i],
		       (unsigned long long)by[i]);
		kdrop += drops[i];
	}
	printf("kdrop=%llu\n", (unsigned long long)kdrop);
	return 0;
}
