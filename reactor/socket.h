/*
 * UDP listening sockets for the workers: one per worker, all bound to the
 * same address with SO_REUSEPORT so the kernel spreads exporters over them.
 */
#ifndef NETACCT_REACTOR_SOCKET_H
#define NETACCT_REACTOR_SOCKET_H

#include <stddef.h>
#include <sys/socket.h>

#include "agg/flow.h"

/*
 * Bind a non-blocking UDP socket.  ip NULL/"" = all addresses (IPv6
 * dual-stack, falling back to IPv4 when IPv6 is unavailable).  rcvbuf > 0
 * sets SO_RCVBUF (SO_RCVBUFFORCE first, as root may exceed rmem_max);
 * *rcvbuf_got receives what the kernel granted.  Returns the fd or -1 with
 * the failing syscall named in err.
 */
int udp_listen(const char *ip, int port, int rcvbuf, int *rcvbuf_got, char *err, size_t errlen);

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
