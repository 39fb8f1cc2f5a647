/*
 * redis output: each aggregated row becomes Redis commands, sent with hiredis
 * from the output's writer thread.
 *
 *   redis_output: stream   XADD <key> [MAXLEN ~ redis_stream_maxlen] * <field> <value> ...
 *                          one stream entry per row, its fields the JSON field names
 *   redis_output: hash     per row, the hash <key>:<value>|<value>|... (the row's key
 *                          fields in aggregate order): HSET of the key fields,
 *                          HINCRBY packets/bytes(/flows), EXPIRE redis_ttl if set
 *   redis_output: pubsub   PUBLISH <key> <the row as JSON>
 *
 * <key> is redis_key with $peer_src_ip, $tag, $tag2, $post_tag, $post_tag2 and
 * strftime(3) variables (the interval start) expanded.
 *
 * Commands are pipelined (appended, then their replies read in one go) instead
 * of hiredis' async API: the writer thread has no event loop of its own and may
 * block, so a pipeline gives the same batching without one.  A command counts
 * as written when Redis replied to it.  When the connection fails, the
 * commands without a reply, and every command while Redis is away, go to the
 * on-disk spool, replayed in order in batches that leave the spool only once
 * every reply came back.  A command Redis answers with an error (a wrong type
 * at a key, say) is counted and logged, not retried.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "out/bmsg.h"
#include "out/buf.h"
#include "out/encode.h"
#include "out/output.h"
#include "out/broker.h"
#include "out/spool.h"
#include "out/vars.h"

#define R(f) SCOPE_PLUGIN, offsetof(struct conf_plugin, f)
static const struct conf_key redis_rows[] = {
    CONF_ROW("redis_host", CT_STRING, R(redis_host), D_ALL, "127.0.0.1", NULL, 0, 0,
	     "Redis server address."),
    CONF_ROW("redis_port", CT_INT, R(redis_port), D_ALL, "6379", NULL, 1, 65535,
	     "Redis server port."),
    CONF_ROW("redis_db", CT_INT, R(redis_db), D_ALL, "0", NULL, 0, 65535, "Database (SELECT)."),
    CONF_ROW("redis_user", CT_STRING, R(redis_user), D_ALL, "", NULL, 0, 0,
	     "ACL user for AUTH (Redis 6 and later); with redis_password."),
    CONF_ROW("redis_password", CT_STRING, R(redis_password), D_ALL, "", NULL, 0, 0,
	     "Password for AUTH."),
    CONF_ROW("redis_key", CT_STRING, R(redis_key), D_ALL, "netacct", NULL, 0, 0,
	     "Stream, hash prefix or channel; $peer_src_ip, $tag, $tag2, $post_tag, $post_tag2 and "
	     "strftime(3) variables (interval start)."),
    CONF_ROW("redis_output", CT_ENUM, R(redis_output), D_ALL, "stream", "stream|hash|pubsub", 0, 0,
	     "What each row becomes: a stream entry (XADD), counters in a hash (HINCRBY) or a "
	     "published JSON message (PUBLISH)."),
    CONF_ROW("redis_stream_maxlen", CT_INT, R(redis_stream_maxlen), D_ALL, "0", NULL, 0, 1 << 30,
	     "Trim each stream to about this many entries (XADD MAXLEN ~; 0: no trim)."),
    CONF_ROW("redis_ttl", CT_INT, R(redis_ttl), D_ALL, "0", NULL, 0, 1 << 30,
	     "hash: seconds before a row's hash expires (EXPIRE; 0: never)."),
    CONF_ROW("redis_refresh_time", CT_INT, R(redis_refresh_time), D_ALL, "60", NULL, 1, 86400,
	     "Seconds between flushes of the redis plugin."),
    CONF_ROW("redis_history", CT_DURATION, R(redis_history), D_ALL, "", NULL, 0, 31 * 86400,
	     "Time bins, as print_history."),
    CONF_ROW("redis_cache_entries", CT_INT, R(redis_cache_entries), D_ALL, "16411", NULL, 1,
	     1 << 28, "Initial table size hint per worker (tables grow as needed)."),
    CONF_ROW("redis_spool_dir", CT_STRING, R(redis_spool_dir), D_ALL, "/var/lib/netacct/spool",
	     NULL, 0, 0,
	     "Folder for commands Redis did not answer (a subfolder per plugin: "
	     "<dir>/<name>-redis); replayed in order when it is back, and after a restart."),
    CONF_ROW("redis_spool_max_size", CT_INT, R(redis_spool_max_size), D_ALL, "1024", NULL, 0,
	     1 << 20,
	     "MiB the spool may hold; beyond it commands are dropped and counted. 0: no "
	     "spool."),
};
#undef R
static const struct conf_key_table redis_keys = CONF_TABLE(
    "redis", "The Redis output: stream entries, counter hashes or published messages.", redis_rows);
static const struct conf_key_table *const redis_tables[] = {&redis_keys, NULL};

#define BATCH	 1000 /* commands pipelined before their replies are read */
#define ARGS_MAX (2 * (KEYSPEC_MAX + 8) + 8)

enum redis_mode { RM_STREAM, RM_HASH, RM_PUBSUB };

struct redis_state {
	struct out_instance *oi;
	redisContext *c; /* NULL while down */
	struct broker b; /* spool and reconnection */
	enum redis_mode mode;
	struct encoder json;
	struct encoder fields; /* collects the row's (name, value) pairs */
	struct enc_schema schema;
	struct out_vars key_vars;
	struct obuf row, key, keyfmt, cmd, rec;
	/* commands appended to the pipeline, not yet answered: packed argv each */
	struct obuf pending;
	size_t pend_end[BATCH];
	unsigned npend;
	time_t interval_start;
	char peer[300];
	uint64_t commands, replied, reply_errors, replayed;
};

/* ---- packed argv: u32 length, bytes; repeated ------------------------- */

static void put_arg(struct obuf *b, const char *s, size_t n)
{
	uint8_t h[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
	obuf_append(b, h, 4);
	if (n)
		obuf_append(b, s, n);
}

static void put_str(struct obuf *b, const char *s)
{
	put_arg(b, s, strlen(s));
}

/* Split a packed argv; returns argc, or -1 when malformed. */
static int unpack_argv(const uint8_t *p, size_t len, const char **argv, size_t *argvlen)
{
	int argc = 0;
	size_t o = 0;
	while (o < len) {
		if (argc == ARGS_MAX || len - o < 4)
			return -1;
		size_t n =
		    (size_t)p[o] << 24 | (size_t)p[o + 1] << 16 | (size_t)p[o + 2] << 8 | p[o + 3];
		o += 4;
		if (n > len - o)
			return -1;
		argv[argc] = (const char *)p + o;
		argvlen[argc++] = n;
		o += n;
	}
	return argc;
}

/* ---- the field collector: an encoder that packs name, value pairs ------- */

static int f_header(struct encoder *e, struct obuf *b, const struct enc_col *c, unsigned n)
{
	(void)e, (void)b, (void)c, (void)n;
	return 0;
}

static int f_begin(struct encoder *e, struct obuf *b)
{
	(void)e;
	(void)b;
	return 0;
}

static int f_field(struct encoder *e, struct obuf *b, const struct enc_col *c,
		   const struct prim_val *v)
{
	(void)e;
	put_str(b, c->json);
	put_str(b, v->s);
	return 0;
}

static const struct enc_ops fields_ops = {"redis-fields", 0, f_header, f_begin, f_field, f_begin};

/* ---- delivery ------------------------------------------------------------ */

static void to_spool(struct redis_state *st, const void *argv, size_t len)
{
	broker_keep(&st->b, &(const struct bmsg){"", 0, NULL, 0, argv, len});
}

static void drop_connection(struct redis_state *st, const char *why)
{
	if (st->c) {
		nt_log(st->oi->log, LOG_LVL_WARN, st->oi->component,
		       "redis %s unreachable (%s): commands go to the spool until it is back",
		       st->peer, why);
		redisFree(st->c);
		st->c = NULL;
	}
	broker_lost(&st->b);
}

static int append(struct redis_state *st, const uint8_t *packed, size_t len)
{
	const char *argv[ARGS_MAX];
	size_t argvlen[ARGS_MAX];
	int argc = unpack_argv(packed, len, argv, argvlen);
	if (argc <= 0)
		return -1;
	if (redisAppendCommandArgv(st->c, argc, argv, argvlen) != REDIS_OK)
		return -1;
	st->commands++;
	return 0;
}

/*
 * Read the replies of the first n appended commands.  Returns how many were
 * answered: n, or fewer when the connection failed (it is then dropped).
 */
static unsigned read_replies(struct redis_state *st, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		redisReply *r = NULL;
		if (redisGetReply(st->c, (void **)&r) != REDIS_OK || !r) {
			drop_connection(st, st->c->errstr[0] ? st->c->errstr : "no reply");
			return i;
		}
		if (r->type == REDIS_REPLY_ERROR && st->reply_errors++ % 1000 == 0)
			nt_log(st->oi->log, LOG_LVL_ERROR, st->oi->component,
			       "redis refused a command: %s (%llu so far)", r->str,
			       (unsigned long long)st->reply_errors);
		freeReplyObject(r);
		st->replied++;
	}
	return n;
}

/* Read the pending commands' replies; the unanswered ones go to the spool in order. */
static void settle(struct redis_state *st)
{
	unsigned ok = st->c ? read_replies(st, st->npend) : 0;
	for (unsigned i = ok; i < st->npend; i++) {
		size_t from = i ? st->pend_end[i - 1] : 0;
		to_spool(st, st->pending.data + from, st->pend_end[i] - from);
	}
	st->npend = 0;
	obuf_reset(&st->pending);
}

static void send_cmd(struct redis_state *st, const struct obuf *cmd)
{
	if (!st->c || broker_backlog(&st->b)) {
		to_spool(st, cmd->data, cmd->len);
		return;
	}
	if (obuf_append(&st->pending, cmd->data, cmd->len) < 0 ||
	    append(st, (const uint8_t *)cmd->data, cmd->len) < 0) {
		st->b.dropped++;
		return;
	}
	st->pend_end[st->npend++] = st->pending.len;
	if (st->npend == BATCH)
		settle(st);
}

/* ---- rows to commands ------------------------------------------------ */

static const char *row_key(struct redis_state *st, const struct agg_entry *e)
{
	out_vars_expand(&st->key_vars, &st->oi->ks, e, &st->keyfmt);
	const char *tmpl = st->keyfmt.len ? st->keyfmt.data : "";
	obuf_reset(&st->key);
	if (!strchr(tmpl, '%')) {
		obuf_puts(&st->key, tmpl);
	} else {
		char out[1024];
		struct tm tm;
		localtime_r(&st->interval_start, &tm);
		size_t n = strftime(out, sizeof out, tmpl, &tm);
		obuf_append(&st->key, out, n);
	}
	return st->key.len ? st->key.data : "";
}

static int is_counter(const char *name, size_t n)
{
	return (n == 7 && !memcmp(name, "packets", 7)) || (n == 5 && !memcmp(name, "bytes", 5)) ||
	       (n == 5 && !memcmp(name, "flows", 5));
}

static void row_commands(struct redis_state *st, const struct agg_entry *e)
{
	const char *key = row_key(st, e);
	struct obuf *cmd = &st->cmd;
	char num[32];
	if (st->mode == RM_PUBSUB) {
		obuf_reset(&st->row);
		if (enc_row(&st->json, &st->row, &st->schema, e, "purge") < 0)
			goto bad;
		obuf_reset(cmd);
		put_str(cmd, "PUBLISH");
		put_str(cmd, key);
		put_arg(cmd, st->row.data, st->row.len);
		send_cmd(st, cmd);
		return;
	}
	/* the row's (name, value) pairs, packed */
	obuf_reset(&st->row);
	if (enc_row(&st->fields, &st->row, &st->schema, e, NULL) < 0)
		goto bad;
	const char *argv[ARGS_MAX];
	size_t argvlen[ARGS_MAX];
	int argc = unpack_argv((const uint8_t *)st->row.data, st->row.len, argv, argvlen);
	if (argc < 0)
		goto bad;
	if (st->mode == RM_STREAM) {
		obuf_reset(cmd);
		put_str(cmd, "XADD");
		put_str(cmd, key);
		if (st->oi->conf->redis_stream_maxlen > 0) {
			put_str(cmd, "MAXLEN");
			put_str(cmd, "~");
			snprintf(num, sizeof num, "%d", st->oi->conf->redis_stream_maxlen);
			put_str(cmd, num);
		}
		put_str(cmd, "*");
		for (int i = 0; i < argc; i++)
			put_arg(cmd, argv[i], argvlen[i]);
		send_cmd(st, cmd);
		return;
	}
	/* hash: <key>:<v>|<v>... named by the row's key fields */
	struct obuf *hk = &st->keyfmt; /* reused: the template was expanded into st->key */
	obuf_reset(hk);
	obuf_puts(hk, key);
	int first = 1;
	for (int i = 0; i + 1 < argc; i += 2) {
		if (is_counter(argv[i], argvlen[i]) ||
		    (argvlen[i] == 13 && !memcmp(argv[i], "stamp_updated", 13)))
			continue;
		obuf_putc(hk, first ? ':' : '|');
		obuf_append(hk, argv[i + 1], argvlen[i + 1]);
		first = 0;
	}
	obuf_reset(cmd);
	put_str(cmd, "HSET");
	put_arg(cmd, hk->data, hk->len);
	for (int i = 0; i + 1 < argc; i += 2)
		if (!is_counter(argv[i], argvlen[i])) {
			put_arg(cmd, argv[i], argvlen[i]);
			put_arg(cmd, argv[i + 1], argvlen[i + 1]);
		}
	send_cmd(st, cmd);
	for (int i = 0; i + 1 < argc; i += 2)
		if (is_counter(argv[i], argvlen[i])) {
			obuf_reset(cmd);
			put_str(cmd, "HINCRBY");
			put_arg(cmd, hk->data, hk->len);
			put_arg(cmd, argv[i], argvlen[i]);
			put_arg(cmd, argv[i + 1], argvlen[i + 1]);
			send_cmd(st, cmd);
		}
	if (st->oi->conf->redis_ttl > 0) {
		obuf_reset(cmd);
		put_str(cmd, "EXPIRE");
		put_arg(cmd, hk->data, hk->len);
		snprintf(num, sizeof num, "%d", st->oi->conf->redis_ttl);
		put_str(cmd, num);
		send_cmd(st, cmd);
	}
	return;
bad:
	st->b.dropped++;
}

static int redis_write(struct out_instance *oi, const struct agg_table *t,
		       const struct out_interval *iv)
{
	struct redis_state *st = oi->state;
	uint64_t pos = 0;
	const struct agg_entry *e;
	st->interval_start = iv->start;
	while ((e = agg_table_next(t, &pos)))
		row_commands(st, e);
	settle(st);
	return 0;
}

/* ---- connection, replay ---------------------------------------------- */

static int connect_redis(struct redis_state *st, char *err, size_t errlen)
{
	const struct conf_plugin *pc = st->oi->conf;
	struct timeval tv = {2, 0};
	redisContext *c = redisConnectWithTimeout(pc->redis_host, pc->redis_port, tv);
	if (!c || c->err) {
		snprintf(err, errlen, "connect: %s", c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return -1;
	}
	tv.tv_sec = 5;
	redisSetTimeout(c, tv);
	redisReply *r = NULL;
	if (pc->redis_password && *pc->redis_password) {
		if (pc->redis_user && *pc->redis_user)
			r = redisCommand(c, "AUTH %s %s", pc->redis_user, pc->redis_password);
		else
			r = redisCommand(c, "AUTH %s", pc->redis_password);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "AUTH: %s", r ? r->str : c->errstr);
			goto fail;
		}
		freeReplyObject(r);
	}
	if (pc->redis_db) {
		r = redisCommand(c, "SELECT %d", pc->redis_db);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "SELECT %d: %s", pc->redis_db,
				 r ? r->str : c->errstr);
			goto fail;
		}
		freeReplyObject(r);
	}
	st->c = c;
	return 0;
fail:
	if (r)
		freeReplyObject(r);
	redisFree(c);
	return -1;
}

/* broker_link for the replay: append to the pipeline, then read the batch's replies. */
static int link_send(void *arg, const struct bmsg *m)
{
	return append(arg, m->payload, m->plen) < 0 ? 1 : 0;
}

static int link_confirm(void *arg, unsigned n)
{
	return read_replies(arg, n) < n ? -1 : 0;
}

static int link_connect(void *arg, char *err, size_t errlen)
{
	return connect_redis(arg, err, errlen);
}

static int link_connected(void *arg)
{
	return ((struct redis_state *)arg)->c != NULL;
}

static void redis_service(struct out_instance *oi)
{
	struct redis_state *st = oi->state;
	const struct broker_link l = {st, link_send, link_confirm, link_connect, st->peer, BATCH};
	st->replayed += broker_service(&st->b, &l, link_connected);
}

static void free_state(struct redis_state *st)
{
	if (!st)
		return;
	if (st->c)
		redisFree(st->c);
	broker_close(&st->b);
	obuf_free(&st->row);
	obuf_free(&st->key);
	obuf_free(&st->keyfmt);
	obuf_free(&st->cmd);
	obuf_free(&st->pending);
	free(st);
}

static int redis_open(struct out_instance *oi, char *err, size_t errlen)
{
	const struct conf_plugin *pc = oi->conf;
	struct redis_state *st = calloc(1, sizeof *st);
	char e2[512];
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->oi = oi;
	oi->state = st;
	obuf_init(&st->row, 0);
	obuf_init(&st->key, 0);
	obuf_init(&st->keyfmt, 0);
	obuf_init(&st->cmd, 0);
	obuf_init(&st->pending, 0);
	const char *mode = pc->redis_output ? pc->redis_output : "stream";
	st->mode = !strcmp(mode, "hash")     ? RM_HASH
		   : !strcmp(mode, "pubsub") ? RM_PUBSUB
					     : RM_STREAM;
	broker_encoder(&st->json, &st->schema, oi, NULL, "redis_output", err, errlen); /* json */
	memset(&st->fields, 0, sizeof st->fields);
	st->fields.ops = &fields_ops;
	out_vars_init(&st->key_vars, pc->redis_key, &oi->ks, NULL, NULL);
	snprintf(st->peer, sizeof st->peer, "%s:%d", pc->redis_host, pc->redis_port);
	if (broker_open(&st->b, oi, "redis", pc->redis_spool_dir, pc->redis_spool_max_size,
			"command", "redis_spool_max_size", err, errlen) < 0)
		goto fail;
	if (connect_redis(st, e2, sizeof e2) < 0) {
		nt_log(oi->log, LOG_LVL_WARN, oi->component,
		       "redis %s not reachable at start (%s): spooling, retrying with backoff",
		       st->peer, e2);
		broker_lost(&st->b);
	} else {
		nt_log(oi->log, LOG_LVL_INFO, oi->component, "writing to redis %s: %s %s", st->peer,
		       mode, pc->redis_key);
	}
	return 0;
fail:
	free_state(st);
	oi->state = NULL;
	return -1;
}

static void redis_stats(struct out_instance *oi, struct obuf *line)
{
	const struct redis_state *st = oi->state;
	obuf_printf(
	    line,
	    " redis=%s commands=%llu replied=%llu reply_errors=%llu spooled=%llu "
	    "replayed=%llu spool_records=%llu dropped=%llu spool_errors=%llu reconnects=%llu",
	    st->c ? "up" : "down", (unsigned long long)st->commands,
	    (unsigned long long)st->replied, (unsigned long long)st->reply_errors,
	    (unsigned long long)st->b.spooled, (unsigned long long)st->replayed,
	    (unsigned long long)broker_backlog(&st->b), (unsigned long long)st->b.dropped,
	    (unsigned long long)st->b.spool_errors, (unsigned long long)st->b.reconnects);
}

static void redis_close(struct out_instance *oi)
{
	struct redis_state *st = oi->state;
	if (!st)
		return;
	settle(st);
	free_state(st);
	oi->state = NULL;
}

const struct out_module out_redis_module = {
    .sinks = OUT_SINK_TABLE,
    .conf = {.type = "redis", .tables = redis_tables},
    .refresh_off = offsetof(struct conf_plugin, redis_refresh_time),
    .history_off = offsetof(struct conf_plugin, redis_history),
    .cache_entries_off = offsetof(struct conf_plugin, redis_cache_entries),
    .open = redis_open,
    .write = redis_write,
    .service_ms = 500,
    .service = redis_service,
    .stats = redis_stats,
    .close = redis_close,
};
