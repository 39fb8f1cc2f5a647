#include "reactor/metrics_http.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reactor/loop.h"

struct mx_http {
	struct evhttp *http;
	mx_http_fn fn;
	void *arg;
};

static void on_request(struct evhttp_request *req, void *arg)
{
	struct mx_http *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (!path || strcmp(path, "/metrics") != 0) {
		static const char msg[] = "not found: the metrics are at /metrics\n";
		mx_http_reply((struct mx_http_req *)req, 404, "text/plain", msg, sizeof msg - 1);
		return;
	}
	/*
	 * Answered later, once the workers published.  Should the client go
	 * away meanwhile, libevent detaches the request from its connection
	 * instead of freeing it, and frees it when it is answered.
	 */
	h->fn(h->arg, (struct mx_http_req *)req);
}

struct mx_http *mx_http_start(struct nt_loop *loop, const char *ip, int port, mx_http_fn fn,
			      void *arg, char *err, size_t errlen)
{
	struct mx_http *h = calloc(1, sizeof *h);
	if (!h || !(h->http = evhttp_new(nt_loop_event_base(loop)))) {
		free(h);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->fn = fn;
	h->arg = arg;
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(h->http, on_request, h);
	evhttp_set_timeout(h->http, 30); /* an idle or stuck client does not hold a connection */
	if (!evhttp_bind_socket_with_handle(h->http, ip, (ev_uint16_t)port)) {
		snprintf(err, errlen,
			 "metrics_listen: cannot listen on %s port %d (address in use, or not "
			 "an address of this host)",
			 ip, port);
		evhttp_free(h->http);
		free(h);
		return NULL;
	}
	return h;
}

void mx_http_reply(struct mx_http_req *r, int code, const char *ctype, const char *body, size_t len)
{
	struct evhttp_request *req = (struct evhttp_request *)r;
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	if (hdr)
		evhttp_add_header(hdr, "Content-Type", ctype);
	if (!b || evbuffer_add(b, body, len) < 0) {
		if (b)
			evbuffer_free(b);
		evhttp_send_reply(req, 500, "Internal Server Error", NULL);
		return;
	}
	const char *reason = code == 200   ? "OK"
			     : code == 404 ? "Not Found"
			     : code == 503 ? "Service Unavailable"
					   : "Internal Server Error";
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

void mx_http_free(struct mx_http *h)
{
	if (!h)
		return;
	evhttp_free(h->http);
	free(h);
}
