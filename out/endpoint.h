/*
 * A receiver written as "address:port" or "[IPv6 address]:port" (the
 * probes' *_receiver keys) to a socket address.
 */
#ifndef NETACCT_OUT_ENDPOINT_H
#define NETACCT_OUT_ENDPOINT_H

#include <sys/socket.h>

/*
 * Parse v into ss/len.  numeric_host: the address must be numeric (no name
 * lookup).  -1 with a reason in why that quotes v.
 */
int endpoint_parse(const char *v, int numeric_host, struct sockaddr_storage *ss, socklen_t *len,
		   char *why, size_t whylen);

/*
 * Mark the datagrams of a socket of this family (AF_INET, AF_INET6) with IP
 * precedence prec (1-7: the top three bits of the IPv4 TOS byte or of the IPv6
 * traffic class), so routers can queue the export traffic by class; 0 leaves
 * the system's default.  -1 with errno on failure.
 */
int endpoint_set_ipprec(int fd, int family, int prec);

#endif
