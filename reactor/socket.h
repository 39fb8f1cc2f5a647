/*
 * UDP listening sockets for the workers: one per worker, all bound to the
 * same address with SO_REUSEPORT so the kernel spreads exporters over them.
 */
#ifndef NETACCT_REACTOR_SOCKET_H
#define NETACCT_REACTOR_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "agg/flow.h"

/*
 * The receive buffer a worker socket asks for when nfacctd_pipe_size is not
 * set: about 100 ms of a busy worker (some 200k datagrams/s of 1-1.5 kB,
 * each costing its size plus ~700 bytes of kernel bookkeeping), so a flush
 * or a burst does not overflow it.  It is a limit, not an allocation: an
 * idle socket holds nothing.
 */
#define UDP_RCVBUF_DEFAULT (32 * 1024 * 1024)

/*
 * Bind a non-blocking UDP socket.  ip NULL/"" = all addresses (IPv6
 * dual-stack, falling back to IPv4 when IPv6 is unavailable).  rcvbuf > 0
 * sets SO_RCVBUF (SO_RCVBUFFORCE first, as root may exceed rmem_max);
 * *rcvbuf_got receives what the kernel granted (getsockopt's figure, which
 * is twice the request when granted in full).  The socket reports the
 * kernel's drop counter with each datagram (SO_RXQ_OVFL, see
 * udp_cmsg_drops()).  Returns the fd or -1 with the failing syscall named
 * in err.
 */
int udp_listen(const char *ip, int port, int rcvbuf, int *rcvbuf_got, char *err, size_t errlen);

/* Room for the control message udp_cmsg_drops() reads, per received datagram. */
#define UDP_CMSG_SPACE 64

/*
 * The socket's drop counter as the kernel attached it to a received
 * datagram (SO_RXQ_OVFL): datagrams dropped before this one was queued,
 * because the receive buffer was full.  Returns 1 and sets *raw, or 0 when
 * the message carries none (no drop so far).
 */
int udp_cmsg_drops(const struct msghdr *mh, uint32_t *raw);

/*
 * The socket's drop counter now (SO_MEMINFO): it also counts the drops
 * after the last datagram queued, which no received datagram reports yet.
 * Returns 0, or -1 (errno set).
 */
int udp_socket_drops(int fd, uint32_t *raw);

/*
 * The kernel's counter is 32 bits and is read from two places (a
 * datagram's control message, SO_MEMINFO) at different times: fold each
 * reading into a 64-bit total, ignoring readings older than the last one.
 */
struct udp_drops {
	uint32_t last_raw;
	uint64_t total;
};
/* Returns the drops this reading adds to the total (0 for an older reading). */
uint64_t udp_drops_update(struct udp_drops *d, uint32_t raw);

/*
 * Whether ip:port (UDP, or TCP when tcp) is free: a probe bind without
 * SO_REUSEPORT fails when any other socket (another daemon in the reuseport
 * group) holds the port.  Returns 0, or -1 with a message naming the port.
 */
int port_unused(const char *ip, int port, int tcp, char *err, size_t errlen);

/*
 * Make the kernel pick the worker socket by the sender's address alone
 * (a classic BPF program for the SO_REUSEPORT group), so every datagram of
 * an exporter reaches the same worker whatever its source port: templates,
 * sequence numbers and samplers live there.  Without it the kernel hashes
 * the 4-tuple and an exporter that changes source port changes worker.
 * Returns -1 (err says why) when the kernel refuses; the default hash stays.
 */
int udp_steer_by_source(int fd, unsigned nsockets, char *err, size_t errlen);

/* sockaddr (v4, v6 or v4-mapped v6) to nt_addr + port. */
void sockaddr_to_nt(const struct sockaddr_storage *ss, struct nt_addr *a, unsigned short *port);

#endif
