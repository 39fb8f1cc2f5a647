#include "out/endpoint.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int endpoint_parse(const char *v, int numeric_host, struct sockaddr_storage *ss, socklen_t *len,
		   char *why, size_t whylen)
{
	char host[256];
	const char *port;
	if (v[0] == '[') {
		const char *e = strchr(v, ']');
		if (!e || e[1] != ':' || (size_t)(e - v - 1) >= sizeof host) {
			snprintf(why, whylen, "'%s' is not [IPv6 address]:port", v);
			return -1;
		}
		memcpy(host, v + 1, (size_t)(e - v - 1));
		host[e - v - 1] = '\0';
		port = e + 2;
	} else {
		const char *c = strrchr(v, ':');
		if (!c || c == v || strchr(v, ':') != c || (size_t)(c - v) >= sizeof host) {
			snprintf(why, whylen, "'%s' is not address:port (IPv6: [address]:port)", v);
			return -1;
		}
		memcpy(host, v, (size_t)(c - v));
		host[c - v] = '\0';
		port = c + 1;
	}
	char *end;
	unsigned long p = strtoul(port, &end, 10);
	if (!*port || *end || p == 0 || p > 65535) {
		snprintf(why, whylen, "'%s': the port is not 1..65535", v);
		return -1;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
				 .ai_flags = AI_NUMERICSERV | (numeric_host ? AI_NUMERICHOST : 0)};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0 || !res) {
		snprintf(why, whylen, "'%s': %s", v, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int endpoint_set_ipprec(int fd, int family, int prec)
{
	if (prec <= 0)
		return 0;
	int tos = (prec & 7) << 5;
	return family == AF_INET6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos)
				  : setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
}
