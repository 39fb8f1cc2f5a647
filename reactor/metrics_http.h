/*
 * The metrics endpoint's HTTP server: libevent's evhttp on the main
 * thread's loop.  This file and reactor/loop.c are the only ones that use
 * libevent.  GET /metrics is handed to the caller, which may answer later
 * (after the workers published their counters); anything else is 404.
 */
#ifndef NETACCT_REACTOR_METRICS_HTTP_H
#define NETACCT_REACTOR_METRICS_HTTP_H

#include <stddef.h>

struct nt_loop;
struct mx_http;
struct mx_http_req; /* a request waiting for its answer */

/* GET /metrics arrived; answer it with mx_http_reply(), now or later. */
typedef void (*mx_http_fn)(void *arg, struct mx_http_req *req);

/* Listen on ip:port.  NULL with err on failure (bind refused, out of memory). */
struct mx_http *mx_http_start(struct nt_loop *loop, const char *ip, int port, mx_http_fn fn,
			      void *arg, char *err, size_t errlen);

/*
 * Answer a request (code 200 with body, or an error code with a short
 * text).  Every request handed to the callback must be answered exactly
 * once, also when its client went away (libevent then frees it).
 */
void mx_http_reply(struct mx_http_req *req, int code, const char *ctype, const char *body,
		   size_t len);

/* Stop listening and close connections (answer every pending request first). */
void mx_http_free(struct mx_http *h);

#endif
