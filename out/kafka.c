/*
 * kafka output: each aggregated row is one message (JSON or Avro), produced with
 * librdkafka from the output's writer thread, never from a worker.
 *
 * Nothing is forgotten before the broker acknowledged it.  While the broker
 * is reachable, rows are produced at once and librdkafka's delivery reports
 * say which were written; a message whose delivery failed goes to the
 * on-disk spool (out/spool.h).  Once a failure or librdkafka's "all brokers
 * down" says the broker is gone, new rows go to the spool too, behind the
 * ones already there, so the order is kept.  The writer's service hook probes
 * the broker with backoff and, once it answers, replays the spool in order,
 * a bounded number of messages per call, before new rows are produced
 * directly again.  Beyond kafka_spool_max_size messages are dropped, counted
 * and logged.  At shutdown what librdkafka still holds is purged into the
 * spool, which the next start replays.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "out/bmsg.h"
#include "out/buf.h"
#include "out/encode.h"
#include "out/kafka.h"
#include "out/output.h"
#include "out/avro.h"
#include "out/broker.h"
#include "out/spool.h"
#include "out/vars.h"

#define K(f) SCOPE_PLUGIN, offsetof(struct conf_plugin, f)
static const struct conf_key kafka_rows[] = {
    CONF_ROW("kafka_broker_host", CT_STRING, K(kafka_broker_host), D_ALL, "127.0.0.1", NULL, 0, 0,
	     "Broker(s) to bootstrap from: a host (port from kafka_broker_port) or a comma "
	     "separated list of host:port ([address]:port for IPv6)."),
    CONF_ROW("kafka_broker_port", CT_INT, K(kafka_broker_port), D_ALL, "9092", NULL, 1, 65535,
	     "Broker port when kafka_broker_host is a single host."),
    CONF_ROW("kafka_topic", CT_STRING, K(kafka_topic), D_ALL, "pmacct.acct", NULL, 0, 0,
	     "Topic; $peer_src_ip, $tag, $tag2 take the row's value, $post_tag, $post_tag2 the "
	     "configured ones."),
    CONF_ROW("kafka_topic_rr", CT_INT, K(kafka_topic_rr), D_ALL, "0", NULL, 0, 65535,
	     "Round robin over N topics kafka_topic_0 .. kafka_topic_<N-1>, one message each "
	     "(0: off)."),
    CONF_ROW("kafka_partition", CT_INT, K(kafka_partition), D_ALL, "-1", NULL, -1, 1 << 20,
	     "Partition to produce to; -1: librdkafka's partitioner (by key when there is one)."),
    CONF_ROW("kafka_partition_dynamic", CT_BOOL, K(kafka_partition_dynamic), D_ALL, "false", NULL,
	     0, 0, "Partition by kafka_partition_key (needs it; kafka_partition must then be -1)."),
    CONF_ROW("kafka_partition_key", CT_STRING, K(kafka_partition_key), D_ALL, "", NULL, 0, 0,
	     "Message key, with the variables of kafka_topic ($peer_src_ip keeps each exporter "
	     "on one partition)."),
    CONF_ROW("kafka_config_file", CT_STRING, K(kafka_config_file), D_ALL, "", NULL, 0, 0,
	     "librdkafka properties: `key=value` lines, or pmacct's `global|topic, key, value` "
	     "lines (TLS, SASL, compression, linger...)."),
    CONF_ROW("kafka_refresh_time", CT_INT, K(kafka_refresh_time), D_ALL, "60", NULL, 1, 86400,
	     "Seconds between flushes of the kafka plugin."),
    CONF_ROW("kafka_history", CT_DURATION, K(kafka_history), D_ALL, "", NULL, 0, 31 * 86400,
	     "Time bins, as print_history."),
    CONF_ROW("kafka_history_roundoff", CT_ENUM, K(kafka_history_roundoff), D_ALL, "", "m|h|d|w", 0,
	     0,
	     "Accepted for compatibility: bins are always aligned to the calendar (see "
	     "print_history), which is what rounding off asks for."),
    CONF_ROW("kafka_output", CT_ENUM, K(kafka_output), D_ALL, "json", "json|avro|avro_json", 0, 0,
	     "Message encoding, one message per row: json (an object, field names as in the print "
	     "output), avro (a binary Avro record, schema written to avro_schema_file) or "
	     "avro_json (the same record in Avro's JSON encoding)."),
    CONF_ROW("kafka_markers", CT_BOOL, K(kafka_markers), D_ALL, "false", NULL, 0, 0,
	     "Send purge_init / purge_close messages around each flush."),
    CONF_ROW("kafka_max_writers", CT_INT, K(kafka_max_writers), D_ALL, "10", NULL, 1, 1024,
	     "Accepted for compatibility: one writer thread per plugin produces without forking."),
    CONF_ROW("kafka_cache_entries", CT_INT, K(kafka_cache_entries), D_ALL, "16411", NULL, 1,
	     1 << 28, "Initial table size hint per worker (tables grow as needed)."),
    CONF_ROW("kafka_spool_dir", CT_STRING, K(kafka_spool_dir), D_ALL, "/var/lib/netacct/spool",
	     NULL, 0, 0,
	     "Folder for messages the broker did not take (a subfolder per plugin: "
	     "<dir>/<name>-kafka); replayed in order when the broker is back, and after a "
	     "restart."),
    CONF_ROW("kafka_spool_max_size", CT_INT, K(kafka_spool_max_size), D_ALL, "1024", NULL, 0,
	     1 << 20,
	     "MiB the spool may hold; beyond it messages are dropped and counted. 0: no "
	     "spool (messages the broker does not take are dropped and counted)."),
};
#undef K
static const struct conf_key_table kafka_keys = CONF_TABLE(
    "kafka", "The Kafka output: one message per aggregated row (JSON or Avro).", kafka_rows);
static const struct conf_key_table *const kafka_tables[] = {&kafka_keys, &avro_keys, NULL};

#define REPLAY_BATCH 2000 /* spooled messages produced per service call */

struct kafka_state {
	struct out_instance *oi;
	rd_kafka_t *rk;
	struct broker b; /* spool and reconnection */
	struct encoder enc;
	struct enc_schema schema;
	struct out_vars topic_vars, key_vars;
	struct obuf msg, topic, key, rec;
	int32_t partition;
	int up;		   /* believed reachable: produce directly */
	int purge_pending; /* the broker went away: move librdkafka's queue to the spool */
	time_t last_sync;
	/* counters (writer thread only) */
	uint64_t produced, delivered, delivery_failed, replayed;
};

static void set_down(struct kafka_state *st, const char *why)
{
	if (st->up)
		nt_log(st->oi->log, LOG_LVL_WARN, st->oi->component,
		       "broker unreachable (%s): messages go to the spool until it is back", why);
	st->up = 0;
	st->purge_pending = 1;
	broker_lost(&st->b);
}

/* Keep a message for later, behind the ones already spooled. */
static void to_spool(struct kafka_state *st, const char *topic, size_t tlen, const void *key,
		     size_t klen, const void *payload, size_t plen)
{
	broker_keep(&st->b, &(const struct bmsg){topic, tlen, key, klen, payload, plen});
}

/* librdkafka's delivery report, served by rd_kafka_poll() on the writer thread. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct kafka_state *st = opaque;
	(void)rk;
	if (!m->err) {
		st->delivered++;
		return;
	}
	st->delivery_failed++;
	if (m->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE && m->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
		set_down(st, rd_kafka_err2str(m->err));
	const char *topic = rd_kafka_topic_name(m->rkt);
	to_spool(st, topic, strlen(topic), m->key, m->key_len, m->payload, m->len);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct kafka_state *st = opaque;
	(void)rk;
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__TRANSPORT)
		set_down(st, reason);
	else
		nt_log(st->oi->log, LOG_LVL_WARN, st->oi->component, "librdkafka: %s", reason);
}

/* librdkafka's own log lines (any thread): its warnings and errors as warnings (the
 * output logs its own state changes), the rest at debug. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	struct kafka_state *st = rd_kafka_opaque(rk);
	enum log_level l = level <= 4 ? LOG_LVL_WARN : LOG_LVL_DEBUG;
	nt_log(st->oi->log, l, st->oi->component, "librdkafka %s: %s", fac, buf);
}

/* Move what librdkafka still queues (not in flight) to the spool, in order. */
static void purge_to_spool(struct kafka_state *st)
{
	st->purge_pending = 0;
	rd_kafka_purge(st->rk, RD_KAFKA_PURGE_F_QUEUE);
	rd_kafka_poll(st->rk, 0);
}

/* 0: produced; -1: librdkafka refused it now (the caller spools it). */
static int produce(struct kafka_state *st, const char *topic, const void *key, size_t klen,
		   const void *payload, size_t plen)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		rd_kafka_resp_err_t err = rd_kafka_producev(
		    st->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(st->partition),
		    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		    RD_KAFKA_V_KEY((void *)(uintptr_t)key, klen),
		    RD_KAFKA_V_VALUE((void *)(uintptr_t)payload, plen), RD_KAFKA_V_END);
		if (!err) {
			st->produced++;
			return 0;
		}
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			return -1;
		rd_kafka_poll(st->rk, 100); /* let deliveries free room, once */
	}
	return -1;
}

/* One message: straight to librdkafka, or behind the spooled ones. */
static void send_msg(struct kafka_state *st, const char *topic, const void *key, size_t klen,
		     const void *payload, size_t plen)
{
	if (st->purge_pending)
		purge_to_spool(st);
	if (st->up && !broker_backlog(&st->b) && produce(st, topic, key, klen, payload, plen) == 0)
		return;
	to_spool(st, topic, strlen(topic), key, klen, payload, plen);
}

static const char *row_topic(struct kafka_state *st, const struct agg_entry *e)
{
	const struct keyspec *ks = &st->oi->ks;
	out_vars_expand(&st->topic_vars, ks, e, &st->topic);
	return st->topic.len ? st->topic.data : "";
}

static void send_marker(struct kafka_state *st, const char *event, uint64_t entries)
{
	struct obuf *m = &st->msg;
	broker_marker(m, st->oi, event, entries);
	const char *topic = row_topic(st, NULL);
	send_msg(st, topic, NULL, 0, m->data, m->len);
}

static int kafka_write(struct out_instance *oi, const struct agg_table *t,
		       const struct out_interval *iv)
{
	struct kafka_state *st = oi->state;
	uint64_t pos = 0;
	const struct agg_entry *e;
	(void)iv;
	if (t->count == 0) /* nothing purged: no markers either */
		return 0;
	if (oi->conf->kafka_markers)
		send_marker(st, "purge_init", 0);
	while ((e = agg_table_next(t, &pos))) {
		obuf_reset(&st->msg);
		if (enc_row(&st->enc, &st->msg, &st->schema, e, "purge") < 0 ||
		    obuf_status(&st->msg) < 0) {
			st->b.dropped++;
			continue;
		}
		const char *topic = row_topic(st, e);
		const char *key = NULL;
		size_t klen = 0;
		if (oi->conf->kafka_partition_key && *oi->conf->kafka_partition_key) {
			out_vars_expand(&st->key_vars, &oi->ks, e, &st->key);
			key = st->key.data;
			klen = st->key.len;
		}
		send_msg(st, topic, key, klen, st->msg.data, st->msg.len);
		rd_kafka_poll(st->rk, 0);
	}
	if (oi->conf->kafka_markers)
		send_marker(st, "purge_close", t->count);
	rd_kafka_poll(st->rk, 0);
	return 0;
}

/* Is a broker answering?  A metadata request with a short timeout. */
static int probe(struct kafka_state *st)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t err = rd_kafka_metadata(st->rk, 0, NULL, &md, 1000);
	int ok = !err && md && md->broker_cnt > 0;
	if (md)
		rd_kafka_metadata_destroy(md);
	return ok;
}

/* Produce up to REPLAY_BATCH spooled messages, oldest first. */
static void replay(struct kafka_state *st)
{
	for (int i = 0; i < REPLAY_BATCH && st->up; i++) {
		const uint8_t *r;
		size_t len;
		int got = spool_peek(st->b.spool, &r, &len);
		if (got == 0)
			break;
		if (got < 0) {
			nt_log(st->oi->log, LOG_LVL_ERROR, st->oi->component,
			       "spool: unreadable record skipped");
			st->b.spool_errors++;
			spool_take(st->b.spool);
			continue;
		}
		struct bmsg m;
		char topic[BMSG_DEST_MAX + 1];
		if (bmsg_unpack(r, len, &m) < 0) {
			st->b.spool_errors++;
			spool_take(st->b.spool);
			continue;
		}
		memcpy(topic, m.dest, m.dlen);
		topic[m.dlen] = 0;
		if (produce(st, topic, m.klen ? m.key : NULL, m.klen, m.payload, m.plen) < 0) {
			set_down(st, "producing from the spool failed");
			break;
		}
		spool_take(st->b.spool);
		st->replayed++;
	}
}

static void kafka_service(struct out_instance *oi)
{
	struct kafka_state *st = oi->state;
	time_t now = time(NULL);
	rd_kafka_poll(st->rk, 0);
	if (st->purge_pending)
		purge_to_spool(st);
	if (!st->up && broker_retry_due(&st->b)) {
		if (probe(st)) {
			st->up = 1;
			broker_reached(&st->b);
			nt_log(oi->log, LOG_LVL_INFO, oi->component,
			       "broker reachable: %llu spooled messages to replay",
			       (unsigned long long)broker_backlog(&st->b));
		} else {
			broker_retry_failed(&st->b);
		}
	}
	if (st->up && broker_backlog(&st->b))
		replay(st);
	if (st->b.spool && now != st->last_sync) {
		st->last_sync = now;
		if (spool_sync(st->b.spool) < 0)
			st->b.spool_errors++;
	}
}

/* kafka_config_file: `key=value` lines, or pmacct's `global|topic, key, value`. */
int kafka_props_load(const char *path, rd_kafka_conf_t *kc, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "kafka_config_file %s: %s", path, strerror(errno));
		return -1;
	}
	char line[2048], why[256];
	unsigned n = 0;
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof line, f)) {
		n++;
		char *s = line + strspn(line, " \t");
		s[strcspn(s, "\r\n")] = 0;
		if (!*s || *s == '#' || *s == '!')
			continue;
		char *key, *val;
		char *eq = strchr(s, '=');
		char *comma = strchr(s, ',');
		if (comma && (!eq || comma < eq)) { /* pmacct: type, key, value */
			*comma = 0;
			key = comma + 1;
			char *c2 = strchr(key, ',');
			if (!c2 || (strncmp(s, "global", 6) && strncmp(s, "topic", 5))) {
				snprintf(err, errlen,
					 "%s:%u: want 'key=value' or 'global|topic, key, value'",
					 path, n);
				rc = -1;
				break;
			}
			*c2 = 0;
			val = c2 + 1;
		} else if (eq) {
			*eq = 0;
			key = s;
			val = eq + 1;
		} else {
			snprintf(err, errlen,
				 "%s:%u: want 'key=value' or 'global|topic, key, value'", path, n);
			rc = -1;
			break;
		}
		key += strspn(key, " \t");
		key[strcspn(key, " \t")] = 0;
		val += strspn(val, " \t");
		for (size_t l = strlen(val); l && (val[l - 1] == ' ' || val[l - 1] == '\t');)
			val[--l] = 0;
		if (rd_kafka_conf_set(kc, key, val, why, sizeof why) != RD_KAFKA_CONF_OK) {
			snprintf(err, errlen, "%.200s:%u: %s", path, n, why);
			rc = -1;
		}
	}
	fclose(f);
	return rc;
}

static void free_state(struct kafka_state *st)
{
	if (!st)
		return;
	if (st->rk)
		rd_kafka_destroy(st->rk);
	broker_close(&st->b);
	broker_encoder_free(&st->enc);
	obuf_free(&st->msg);
	obuf_free(&st->topic);
	obuf_free(&st->key);
	free(st);
}

static int kafka_open(struct out_instance *oi, char *err, size_t errlen)
{
	const struct conf_plugin *pc = oi->conf;
	struct kafka_state *st = calloc(1, sizeof *st);
	char e2[512];
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->oi = oi;
	oi->state = st;
	obuf_init(&st->msg, 0);
	obuf_init(&st->topic, 0);
	obuf_init(&st->key, 0);
	if (broker_encoder(&st->enc, &st->schema, oi, pc->kafka_output, "kafka_output", err,
			   errlen) < 0)
		goto fail;
	if (pc->kafka_partition_dynamic &&
	    (!pc->kafka_partition_key || !*pc->kafka_partition_key)) {
		snprintf(err, errlen,
			 "key 'kafka_partition_dynamic[%s]': needs kafka_partition_key", pc->name);
		goto fail;
	}
	if (pc->kafka_partition_dynamic && pc->kafka_partition >= 0) {
		snprintf(err, errlen,
			 "key 'kafka_partition_dynamic[%s]': kafka_partition must be -1 (the key "
			 "chooses the partition)",
			 pc->name);
		goto fail;
	}
	out_vars_init(&st->topic_vars, pc->kafka_topic, &oi->ks, NULL, NULL);
	out_vars_init(&st->key_vars, pc->kafka_partition_key, &oi->ks, NULL, NULL);
	st->partition = pc->kafka_partition < 0 ? RD_KAFKA_PARTITION_UA : pc->kafka_partition;
	out_vars_round_robin(&st->topic_vars, (unsigned)pc->kafka_topic_rr);

	rd_kafka_conf_t *kc = rd_kafka_conf_new();
	char brokers[1024];
	const char *host = pc->kafka_broker_host ? pc->kafka_broker_host : "127.0.0.1";
	if (strchr(host, ',') || (strchr(host, ':') && strchr(host, ':') == strrchr(host, ':')) ||
	    host[0] == '[')
		snprintf(brokers, sizeof brokers, "%s", host); /* host:port list */
	else if (strchr(host, ':'))
		snprintf(brokers, sizeof brokers, "[%s]:%d", host, pc->kafka_broker_port);
	else
		snprintf(brokers, sizeof brokers, "%s:%d", host, pc->kafka_broker_port);
	/* defaults an operator can override in kafka_config_file */
	if (rd_kafka_conf_set(kc, "bootstrap.servers", brokers, e2, sizeof e2) ||
	    rd_kafka_conf_set(kc, "enable.idempotence", "true", e2, sizeof e2) ||
	    rd_kafka_conf_set(kc, "message.timeout.ms", "30000", e2, sizeof e2) ||
	    rd_kafka_conf_set(kc, "linger.ms", "50", e2, sizeof e2) ||
	    (pc->kafka_config_file && *pc->kafka_config_file &&
	     kafka_props_load(pc->kafka_config_file, kc, e2, sizeof e2) < 0)) {
		rd_kafka_conf_destroy(kc);
		snprintf(err, errlen, "kafka: %s", e2);
		goto fail;
	}
	rd_kafka_conf_set_opaque(kc, st);
	rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
	rd_kafka_conf_set_error_cb(kc, on_error);
	rd_kafka_conf_set_log_cb(kc, on_log);
	st->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, e2, sizeof e2);
	if (!st->rk) {
		rd_kafka_conf_destroy(kc);
		snprintf(err, errlen, "kafka: %s", e2);
		goto fail;
	}
	if (broker_open(&st->b, oi, "kafka", pc->kafka_spool_dir, pc->kafka_spool_max_size,
			"message", "kafka_spool_max_size", err, errlen) < 0)
		goto fail;
	/* believe the broker is there: the first failure says otherwise */
	st->up = 1;
	nt_log(oi->log, LOG_LVL_INFO, oi->component, "producing to %s, topic %s%s", brokers,
	       pc->kafka_topic ? pc->kafka_topic : "pmacct.acct",
	       pc->kafka_topic_rr ? "_<n> (round robin)" : "");
	return 0;
fail:
	free_state(st);
	oi->state = NULL;
	return -1;
}

static void kafka_stats(struct out_instance *oi, struct obuf *line)
{
	const struct kafka_state *st = oi->state;
	obuf_printf(
	    line,
	    " broker=%s produced=%llu delivered=%llu delivery_failed=%llu spooled=%llu "
	    "replayed=%llu spool_records=%llu spool_bytes=%llu dropped=%llu spool_errors=%llu "
	    "queued=%d",
	    st->up ? "up" : "down", (unsigned long long)st->produced,
	    (unsigned long long)st->delivered, (unsigned long long)st->delivery_failed,
	    (unsigned long long)st->b.spooled, (unsigned long long)st->replayed,
	    (unsigned long long)broker_backlog(&st->b),
	    (unsigned long long)(st->b.spool ? spool_bytes(st->b.spool) : 0),
	    (unsigned long long)st->b.dropped, (unsigned long long)st->b.spool_errors,
	    rd_kafka_outq_len(st->rk));
}

static void kafka_close(struct out_instance *oi)
{
	struct kafka_state *st = oi->state;
	if (!st)
		return;
	/* give the broker a moment, then keep what it did not take for the next start */
	if (st->up)
		rd_kafka_flush(st->rk, 5000);
	rd_kafka_purge(st->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	rd_kafka_poll(st->rk, 0);
	free_state(st);
	oi->state = NULL;
}

const struct out_module out_kafka_module = {
    .sinks = OUT_SINK_TABLE,
    .conf = {.type = "kafka", .tables = kafka_tables},
    .refresh_off = offsetof(struct conf_plugin, kafka_refresh_time),
    .history_off = offsetof(struct conf_plugin, kafka_history),
    .cache_entries_off = offsetof(struct conf_plugin, kafka_cache_entries),
    .open = kafka_open,
    .write = kafka_write,
    .service_ms = 200,
    .service = kafka_service,
    .stats = kafka_stats,
    .close = kafka_close,
};
