#include "reactor/socket.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(int fd, char *err, size_t errlen, const char *what)
{
	int e = errno;
	snprintf(err, errlen, "%s: %s", what, strerror(e));
	if (fd >= 0)
		close(fd);
	errno = e;
	return -1;
}

static int sock_open(const char *ip, int port, int type, int reuseport, int rcvbuf, int *rcvbuf_got,
		     char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1, zero = 0, fd;

	memset(&ss, 0, sizeof ss);
	if (ip && *ip) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons((unsigned short)port);
			sl = sizeof *s4;
		} else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((unsigned short)port);
			sl = sizeof *s6;
		} else {
			snprintf(err, errlen, "'%s' is not an IPv4/IPv6 address", ip);
			errno = EINVAL;
			return -1;
		}
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons((unsigned short)port);
		sl = sizeof *s6;
	}

	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && ss.ss_family == AF_INET6 && !(ip && *ip)) {
		/* no IPv6 on this host: listen on IPv4 any instead */
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		memset(&ss, 0, sizeof ss);
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		s4->sin_port = htons((unsigned short)port);
		sl = sizeof *s4;
		fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		return fail(-1, err, errlen, "socket");
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
		return fail(fd, err, errlen, "setsockopt(SO_REUSEPORT)");
	if (ss.ss_family == AF_INET6 && !(ip && *ip) &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0)
		return fail(fd, err, errlen, "setsockopt(IPV6_V6ONLY)");
	if (type == SOCK_DGRAM && reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) < 0)
		return fail(fd, err, errlen, "setsockopt(SO_RXQ_OVFL)");
	if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0)
		return fail(fd, err, errlen, "setsockopt(SO_RCVBUF)");
	if (rcvbuf_got) {
		socklen_t ol = sizeof *rcvbuf_got;
		if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf_got, &ol) < 0)
			*rcvbuf_got = 0;
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		char what[128];
		snprintf(what, sizeof what, "bind(%s port %d)", ip && *ip ? ip : "any", port);
		return fail(fd, err, errlen, what);
	}
	return fd;
}

int udp_listen(const char *ip, int port, int rcvbuf, int *rcvbuf_got, char *err, size_t errlen)
{
	return sock_open(ip, port, SOCK_DGRAM, 1, rcvbuf, rcvbuf_got, err, errlen);
}

int port_unused(const char *ip, int port, int tcp, char *err, size_t errlen)
{
	char why[256];
	/* without SO_REUSEPORT the bind fails if any socket holds the port */
	int fd = sock_open(ip, port, tcp ? SOCK_STREAM : SOCK_DGRAM, 0, 0, NULL, why, sizeof why);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno == EADDRINUSE)
		snprintf(err, errlen,
			 "%s port %d on %s is already in use by another process (another collector "
			 "instance?); set cluster_name to share it between instances on purpose",
			 tcp ? "TCP" : "UDP", port, ip && *ip ? ip : "all addresses");
	else
		snprintf(err, errlen, "%s", why);
	return -1;
}

int udp_steer_by_source(int fd, unsigned nsockets, char *err, size_t errlen)
{
	/*
	 * The program runs on the datagram with its network header reachable at
	 * SKF_NET_OFF.  IPv4: source address at offset 12; IPv6: the last 32 bits
	 * of the source at offset 20.  Multiplicative hash, then modulo the group
	 * size: the return value is the index of the socket in the group.
	 */
	struct sock_filter code[] = {
	    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, (uint32_t)SKF_NET_OFF),
	    BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 4),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 4, 0, 2),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_NET_OFF + 12)),
	    BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_NET_OFF + 20)),
	    BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x9e3779b1u),
	    BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
	    BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, nsockets ? nsockets : 1),
	    BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog prog = {(unsigned short)(sizeof code / sizeof code[0]), code};
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) < 0) {
		snprintf(err, errlen, "setsockopt(SO_ATTACH_REUSEPORT_CBPF): %s", strerror(errno));
		return -1;
	}
	return 0;
}

void sockaddr_to_nt(const struct sockaddr_storage *ss, struct nt_addr *a, unsigned short *port)
{
	memset(a, 0, sizeof *a);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		a->family = 4;
		memcpy(a->a, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		*port = ntohs(s6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			a->family = 4;
			memcpy(a->a, &s6->sin6_addr.s6_addr[12], 4);
		} else {
			a->family = 6;
			memcpy(a->a, &s6->sin6_addr, 16);
		}
	} else {
		*port = 0;
	}
}

int udp_cmsg_drops(const struct msghdr *mh, uint32_t *raw)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL &&
		    c->cmsg_len >= CMSG_LEN(sizeof *raw)) {
			memcpy(raw, CMSG_DATA(c), sizeof *raw);
			return 1;
		}
	return 0;
}

int udp_socket_drops(int fd, uint32_t *raw)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t l = sizeof mi;
	memset(mi, 0, sizeof mi);
	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &l) < 0)
		return -1;
	if (l < (SK_MEMINFO_DROPS + 1) * sizeof mi[0]) {
		errno = ENOPROTOOPT; /* a kernel without the drop counter in SO_MEMINFO */
		return -1;
	}
	*raw = mi[SK_MEMINFO_DROPS];
	return 0;
}

uint64_t udp_drops_update(struct udp_drops *d, uint32_t raw)
{
	uint32_t delta = raw - d->last_raw; /* modulo 2^32: the counter wraps */
	if (delta == 0 || delta >= UINT32_C(1) << 31)
		return 0; /* unchanged, or a reading older than the last one */
	d->last_raw = raw;
	d->total += delta;
	return delta;
}
