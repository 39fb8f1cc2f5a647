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

#endif
