/*
 * amqp output: each aggregated row is one message (JSON or Avro) published to a
 * RabbitMQ exchange with rabbitmq-c, from the output's writer thread.
 *
 * Publisher confirms make "written" mean "the broker took it": messages are
 * published in batches, kept in memory until the broker acknowledges them,
 * and a batch the broker did not confirm (nack, timeout, connection lost)
 * goes to the on-disk spool, as does every message published while the
 * broker is away, so they stay in order.  The writer's service hook
 * reconnects with backoff and replays the spool in confirmed batches: a batch
 * is taken from the spool only once confirmed (spool_mark/spool_rewind), so
 * a failure during replay loses nothing and keeps the order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include "out/bmsg.h"
#include "out/buf.h"
#include "out/encode.h"
#include "out/output.h"
#include "out/avro.h"
#include "out/broker.h"
#include "out/spool.h"
#include "out/vars.h"

#define A(f) SCOPE_PLUGIN, offsetof(struct conf_plugin, f)
static const struct conf_key amqp_rows[] = {
    CONF_ROW("amqp_host", CT_STRING, A(amqp_host), D_ALL, "localhost", NULL, 0, 0,
	     "RabbitMQ server address or name."),
    CONF_ROW("amqp_port", CT_INT, A(amqp_port), D_ALL, "5672", NULL, 1, 65535,
	     "RabbitMQ server port (netacct; pmacct always uses 5672)."),
    CONF_ROW("amqp_vhost", CT_STRING, A(amqp_vhost), D_ALL, "/", NULL, 0, 0, "Virtual host."),
    CONF_ROW("amqp_user", CT_STRING, A(amqp_user), D_ALL, "guest", NULL, 0, 0, "User name."),
    CONF_ROW("amqp_passwd", CT_STRING, A(amqp_passwd), D_ALL, "guest", NULL, 0, 0, "Password."),
    CONF_ROW("amqp_exchange", CT_STRING, A(amqp_exchange), D_ALL, "pmacct", NULL, 0, 0,
	     "Exchange to publish to (declared at connection)."),
    CONF_ROW("amqp_exchange_type", CT_STRING, A(amqp_exchange_type), D_ALL, "direct", NULL, 0, 0,
	     "Exchange type: direct, fanout, topic, headers."),
    CONF_ROW("amqp_routing_key", CT_STRING, A(amqp_routing_key), D_ALL, "acct", NULL, 0, 0,
	     "Routing key; $peer_src_ip, $tag, $tag2 take the row's value, $post_tag, $post_tag2 "
	     "the configured ones."),
    CONF_ROW("amqp_routing_key_rr", CT_INT, A(amqp_routing_key_rr), D_ALL, "0", NULL, 0, 65535,
	     "Round robin over N routing keys <key>_0 .. <key>_<N-1>, one message each (0: off)."),
    CONF_ROW("amqp_persistent_msg", CT_BOOL, A(amqp_persistent_msg), D_ALL, "false", NULL, 0, 0,
	     "Persistent messages (delivery mode 2) and a durable exchange."),
    CONF_ROW("amqp_frame_max", CT_INT, A(amqp_frame_max), D_ALL, "131072", NULL, 4096, 1 << 30,
	     "Largest AMQP frame, bytes."),
    CONF_ROW("amqp_heartbeat_interval", CT_INT, A(amqp_heartbeat_interval), D_ALL, "0", NULL, 0,
	     65535, "Heartbeat interval in seconds (0: off)."),
    CONF_ROW("amqp_output", CT_ENUM, A(amqp_output), D_ALL, "json", "json|avro|avro_json", 0, 0,
	     "Message encoding, one message per row: json (an object, field names as in the print "
	     "output), avro (a binary Avro record, schema written to avro_schema_file) or "
	     "avro_json (the same record in Avro's JSON encoding)."),
    CONF_ROW("amqp_refresh_time", CT_INT, A(amqp_refresh_time), D_ALL, "60", NULL, 1, 86400,
	     "Seconds between flushes of the amqp plugin."),
    CONF_ROW("amqp_history", CT_DURATION, A(amqp_history), D_ALL, "", NULL, 0, 31 * 86400,
	     "Time bins, as print_history."),
    CONF_ROW("amqp_history_roundoff", CT_ENUM, A(amqp_history_roundoff), D_ALL, "", "m|h|d|w", 0, 0,
	     "Accepted for compatibility: bins are always aligned to the calendar (see "
	     "print_history), which is what rounding off asks for."),
    CONF_ROW("amqp_markers", CT_BOOL, A(amqp_markers), D_ALL, "false", NULL, 0, 0,
	     "Send purge_init / purge_close messages around each flush."),
    CONF_ROW("amqp_cache_entries", CT_INT, A(amqp_cache_entries), D_ALL, "16411", NULL, 1, 1 << 28,
	     "Initial table size hint per worker (tables grow as needed)."),
    CONF_ROW("amqp_spool_dir", CT_STRING, A(amqp_spool_dir), D_ALL, "/var/lib/netacct/spool", NULL,
	     0, 0,
	     "Folder for messages the broker did not confirm (a subfolder per plugin: "
	     "<dir>/<name>-amqp); replayed in order when it is back, and after a restart."),
    CONF_ROW("amqp_spool_max_size", CT_INT, A(amqp_spool_max_size), D_ALL, "1024", NULL, 0, 1 << 20,
	     "MiB the spool may hold; beyond it messages are dropped and counted. 0: no "
	     "spool."),
};
#undef A
static const struct conf_key_table amqp_keys =
    CONF_TABLE("amqp", "The AMQP (RabbitMQ) output: one message per aggregated row (JSON or Avro).",
	       amqp_rows);
static const struct conf_key_table *const amqp_tables[] = {&amqp_keys, &avro_keys, NULL};

#define BATCH	       500 /* messages published before waiting for their confirms */
#define CONFIRM_WAIT_S 5

struct amqp_state {
	struct out_instance *oi;
	amqp_connection_state_t conn; /* NULL while down */
	struct broker b;	      /* spool and reconnection */
	struct encoder enc;
	struct enc_schema schema;
	struct out_vars key_vars;
	struct obuf msg, key, rec;
	/* published, not yet confirmed: packed records (out/bmsg.h) and their ends */
	struct obuf pending;
	size_t pend_end[BATCH];
	unsigned npend;
	uint64_t first_tag; /* delivery tag of pending[0] */
	uint64_t next_tag;
	char peer[300];
	uint64_t published, confirmed, nacked, replayed;
};

static void to_spool(struct amqp_state *st, const struct bmsg *m)
{
	broker_keep(&st->b, m);
}

/* The i-th pending message. */
static void pending_at(const struct amqp_state *st, unsigned i, struct bmsg *m)
{
	size_t from = i ? st->pend_end[i - 1] : 0;
	bmsg_unpack((const uint8_t *)st->pending.data + from, st->pend_end[i] - from, m);
}

static void drop_connection(struct amqp_state *st, const char *why)
{
	if (st->conn) {
		nt_log(st->oi->log, LOG_LVL_WARN, st->oi->component,
		       "broker %s unreachable (%s): messages go to the spool until it is back",
		       st->peer, why);
		amqp_destroy_connection(st->conn);
		st->conn = NULL;
	}
	broker_lost(&st->b);
}

static const char *reply_text(amqp_rpc_reply_t r, char *buf, size_t len)
{
	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		return "ok";
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		return amqp_error_string2(r.library_error);
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD ||
		    r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			const amqp_bytes_t *t =
			    r.reply.id == AMQP_CONNECTION_CLOSE_METHOD
				? &((amqp_connection_close_t *)r.reply.decoded)->reply_text
				: &((amqp_channel_close_t *)r.reply.decoded)->reply_text;
			snprintf(buf, len, "server: %.*s", (int)t->len, (const char *)t->bytes);
			return buf;
		}
		return "server exception";
	default:
		return "no reply";
	}
}

/* Connect, log in, open channel 1, declare the exchange, enable confirms. */
static int connect_broker(struct amqp_state *st, char *err, size_t errlen)
{
	const struct conf_plugin *pc = st->oi->conf;
	char buf[256];
	amqp_connection_state_t c = amqp_new_connection();
	amqp_socket_t *sock = c ? amqp_tcp_socket_new(c) : NULL;
	struct timeval tv = {2, 0};
	amqp_rpc_reply_t r;
	if (!sock) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	int rc = amqp_socket_open_noblock(sock, pc->amqp_host, pc->amqp_port, &tv);
	if (rc != AMQP_STATUS_OK) {
		snprintf(err, errlen, "connect: %s", amqp_error_string2(rc));
		goto fail;
	}
	r = amqp_login(c, pc->amqp_vhost, 0, pc->amqp_frame_max, pc->amqp_heartbeat_interval,
		       AMQP_SASL_METHOD_PLAIN, pc->amqp_user, pc->amqp_passwd);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		snprintf(err, errlen, "login: %s", reply_text(r, buf, sizeof buf));
		goto fail;
	}
	amqp_channel_open(c, 1);
	r = amqp_get_rpc_reply(c);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		snprintf(err, errlen, "channel: %s", reply_text(r, buf, sizeof buf));
		goto fail;
	}
	amqp_exchange_declare(c, 1, amqp_cstring_bytes(pc->amqp_exchange),
			      amqp_cstring_bytes(pc->amqp_exchange_type), 0,
			      pc->amqp_persistent_msg, 0, 0, amqp_empty_table);
	r = amqp_get_rpc_reply(c);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		snprintf(err, errlen, "declaring exchange %s: %s", pc->amqp_exchange,
			 reply_text(r, buf, sizeof buf));
		goto fail;
	}
	amqp_confirm_select(c, 1);
	r = amqp_get_rpc_reply(c);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		snprintf(err, errlen, "publisher confirms: %s", reply_text(r, buf, sizeof buf));
		goto fail;
	}
	st->conn = c;
	st->next_tag = 1;
	st->first_tag = 1;
	st->npend = 0;
	obuf_reset(&st->pending);
	return 0;
fail:
	if (c)
		amqp_destroy_connection(c);
	return -1;
}

static int publish(struct amqp_state *st, const struct bmsg *m)
{
	char rk[BMSG_DEST_MAX + 1];
	memcpy(rk, m->dest, m->dlen);
	rk[m->dlen] = 0;
	amqp_basic_properties_t props;
	memset(&props, 0, sizeof props);
	props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
	/* the payload says: JSON rows and markers are objects, a binary Avro record never starts
	 * with '{' (its first field, event_type, starts with the string's length) */
	props.content_type = amqp_cstring_bytes(
	    m->plen && *(const char *)m->payload != '{' ? "application/avro" : "application/json");
	props.delivery_mode = st->oi->conf->amqp_persistent_msg ? 2 : 1;
	amqp_bytes_t body = {m->plen, (void *)(uintptr_t)m->payload};
	int rc = amqp_basic_publish(st->conn, 1, amqp_cstring_bytes(st->oi->conf->amqp_exchange),
				    amqp_cstring_bytes(rk), 0, 0, &props, body);
	if (rc != AMQP_STATUS_OK)
		return -1;
	st->published++;
	st->next_tag++;
	return 0;
}

/*
 * Wait until the broker confirmed every pending message.  Returns 0 when all
 * were acked; otherwise the connection is dropped, -1 returned and
 * *first_bad is the index of the first pending message not acked (it and
 * the ones after it count as not delivered).
 */
static int wait_confirms(struct amqp_state *st, unsigned *first_bad)
{
	uint64_t acked_through = st->first_tag - 1;
	uint64_t last = st->first_tag + st->npend - 1;
	*first_bad = st->npend;
	while (acked_through < last) {
		amqp_frame_t f;
		struct timeval tv = {CONFIRM_WAIT_S, 0};
		int rc = amqp_simple_wait_frame_noblock(st->conn, &f, &tv);
		if (rc != AMQP_STATUS_OK) {
			*first_bad = (unsigned)(acked_through + 1 - st->first_tag);
			drop_connection(st, rc == AMQP_STATUS_TIMEOUT ? "no confirm in 5 s"
								      : amqp_error_string2(rc));
			return -1;
		}
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
			const amqp_basic_ack_t *a = f.payload.method.decoded;
			if (a->delivery_tag > acked_through)
				acked_through = a->delivery_tag;
		} else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
			const amqp_basic_nack_t *n = f.payload.method.decoded;
			/* the broker refused them: treat as not delivered, from the first on */
			*first_bad = (unsigned)(acked_through + 1 - st->first_tag);
			st->nacked += n->delivery_tag - acked_through;
			drop_connection(st, "broker nacked messages");
			return -1;
		} else if (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
			   f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
			*first_bad = (unsigned)(acked_through + 1 - st->first_tag);
			drop_connection(st, "broker closed the channel");
			return -1;
		}
	}
	return 0;
}

/* Settle the pending batch: confirmed ones are done, the rest go to the spool in order. */
static void settle(struct amqp_state *st)
{
	if (!st->npend)
		return;
	unsigned bad = 0; /* without a connection nothing pending was confirmed */
	if (!st->conn || wait_confirms(st, &bad) < 0) {
		for (unsigned i = bad; i < st->npend; i++) {
			struct bmsg m;
			pending_at(st, i, &m);
			to_spool(st, &m);
		}
	} else {
		bad = st->npend;
	}
	st->confirmed += bad;
	st->first_tag += st->npend;
	st->npend = 0;
	obuf_reset(&st->pending);
}

static void send_msg(struct amqp_state *st, const struct bmsg *m)
{
	if (!st->conn || broker_backlog(&st->b)) {
		to_spool(st, m);
		return;
	}
	if (bmsg_pack(&st->b.rec, m) < 0 ||
	    obuf_append(&st->pending, st->b.rec.data, st->b.rec.len) < 0) {
		st->b.dropped++;
		return;
	}
	st->pend_end[st->npend++] = st->pending.len;
	if (publish(st, m) < 0) {
		unsigned n = st->npend;
		drop_connection(st, "publish failed");
		st->npend = n; /* all of them unconfirmed: settle() spools them */
	}
	if (st->npend == BATCH || !st->conn)
		settle(st);
}

static const char *row_key(struct amqp_state *st, const struct agg_entry *e, size_t *len)
{
	out_vars_expand(&st->key_vars, &st->oi->ks, e, &st->key);
	*len = st->key.len;
	return st->key.len ? st->key.data : "";
}

static void send_marker(struct amqp_state *st, const char *event, uint64_t entries)
{
	struct obuf *m = &st->msg;
	broker_marker(m, st->oi, event, entries);
	struct bmsg b = {0};
	b.dest = row_key(st, NULL, &b.dlen);
	b.payload = m->data;
	b.plen = m->len;
	send_msg(st, &b);
}

static int amqp_write(struct out_instance *oi, const struct agg_table *t,
		      const struct out_interval *iv)
{
	struct amqp_state *st = oi->state;
	uint64_t pos = 0;
	const struct agg_entry *e;
	(void)iv;
	if (t->count == 0)
		return 0;
	if (oi->conf->amqp_markers)
		send_marker(st, "purge_init", 0);
	while ((e = agg_table_next(t, &pos))) {
		obuf_reset(&st->msg);
		if (enc_row(&st->enc, &st->msg, &st->schema, e, "purge") < 0 ||
		    obuf_status(&st->msg) < 0) {
			st->b.dropped++;
			continue;
		}
		struct bmsg b = {0};
		b.dest = row_key(st, e, &b.dlen);
		b.payload = st->msg.data;
		b.plen = st->msg.len;
		send_msg(st, &b);
	}
	if (oi->conf->amqp_markers)
		send_marker(st, "purge_close", t->count);
	settle(st);
	return 0;
}

/* broker_link for the replay: publish, then wait for the batch's confirms. */
static int link_send(void *arg, const struct bmsg *m)
{
	struct amqp_state *st = arg;
	if (publish(st, m) < 0) {
		drop_connection(st, "publish failed during replay");
		return -1;
	}
	return 0;
}

static int link_confirm(void *arg, unsigned n)
{
	struct amqp_state *st = arg;
	unsigned bad = n;
	st->npend = n; /* tags first_tag .. first_tag + n - 1 */
	int rc = wait_confirms(st, &bad);
	st->npend = 0;
	if (rc == 0)
		st->first_tag += n;
	return rc;
}

static int link_connect(void *arg, char *err, size_t errlen)
{
	return connect_broker(arg, err, errlen);
}

static int link_connected(void *arg)
{
	return ((struct amqp_state *)arg)->conn != NULL;
}

static void amqp_service(struct out_instance *oi)
{
	struct amqp_state *st = oi->state;
	const struct broker_link l = {st, link_send, link_confirm, link_connect, st->peer, BATCH};
	st->replayed += broker_service(&st->b, &l, link_connected);
}

static void free_state(struct amqp_state *st)
{
	if (!st)
		return;
	if (st->conn) {
		amqp_channel_close(st->conn, 1, AMQP_REPLY_SUCCESS);
		amqp_connection_close(st->conn, AMQP_REPLY_SUCCESS);
		amqp_destroy_connection(st->conn);
	}
	broker_close(&st->b);
	broker_encoder_free(&st->enc);
	obuf_free(&st->msg);
	obuf_free(&st->key);
	obuf_free(&st->pending);
	free(st);
}

static int amqp_open(struct out_instance *oi, char *err, size_t errlen)
{
	const struct conf_plugin *pc = oi->conf;
	struct amqp_state *st = calloc(1, sizeof *st);
	char e2[512];
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->oi = oi;
	oi->state = st;
	obuf_init(&st->msg, 0);
	obuf_init(&st->key, 0);
	obuf_init(&st->pending, 0);
	if (broker_encoder(&st->enc, &st->schema, oi, pc->amqp_output, "amqp_output", err, errlen) <
	    0)
		goto fail;
	out_vars_init(&st->key_vars, pc->amqp_routing_key, &oi->ks, NULL, NULL);
	out_vars_round_robin(&st->key_vars, (unsigned)pc->amqp_routing_key_rr);
	snprintf(st->peer, sizeof st->peer, "%s:%d", pc->amqp_host, pc->amqp_port);
	if (broker_open(&st->b, oi, "amqp", pc->amqp_spool_dir, pc->amqp_spool_max_size, "message",
			"amqp_spool_max_size", err, errlen) < 0)
		goto fail;
	/* a broker down at start is not fatal: rows are spooled and it is retried */
	if (connect_broker(st, e2, sizeof e2) < 0) {
		nt_log(oi->log, LOG_LVL_WARN, oi->component,
		       "broker %s not reachable at start (%s): spooling, retrying with backoff",
		       st->peer, e2);
		broker_lost(&st->b);
	} else {
		nt_log(oi->log, LOG_LVL_INFO, oi->component,
		       "publishing to %s, exchange %s (%s), routing key %s%s", st->peer,
		       pc->amqp_exchange, pc->amqp_exchange_type, pc->amqp_routing_key,
		       pc->amqp_routing_key_rr ? "_<n> (round robin)" : "");
	}
	return 0;
fail:
	free_state(st);
	oi->state = NULL;
	return -1;
}

static void amqp_stats(struct out_instance *oi, struct obuf *line)
{
	const struct amqp_state *st = oi->state;
	obuf_printf(
	    line,
	    " broker=%s published=%llu confirmed=%llu nacked=%llu spooled=%llu replayed=%llu "
	    "spool_records=%llu spool_bytes=%llu dropped=%llu spool_errors=%llu "
	    "reconnects=%llu",
	    st->conn ? "up" : "down", (unsigned long long)st->published,
	    (unsigned long long)st->confirmed, (unsigned long long)st->nacked,
	    (unsigned long long)st->b.spooled, (unsigned long long)st->replayed,
	    (unsigned long long)broker_backlog(&st->b),
	    (unsigned long long)(st->b.spool ? spool_bytes(st->b.spool) : 0),
	    (unsigned long long)st->b.dropped, (unsigned long long)st->b.spool_errors,
	    (unsigned long long)st->b.reconnects);
}

static void amqp_close(struct out_instance *oi)
{
	struct amqp_state *st = oi->state;
	if (!st)
		return;
	settle(st);
	free_state(st);
	oi->state = NULL;
}

const struct out_module out_amqp_module = {
    .sinks = OUT_SINK_TABLE,
    .conf = {.type = "amqp", .tables = amqp_tables},
    .refresh_off = offsetof(struct conf_plugin, amqp_refresh_time),
    .history_off = offsetof(struct conf_plugin, amqp_history),
    .cache_entries_off = offsetof(struct conf_plugin, amqp_cache_entries),
    .open = amqp_open,
    .write = amqp_write,
    .service_ms = 500,
    .service = amqp_service,
    .stats = amqp_stats,
    .close = amqp_close,
};
