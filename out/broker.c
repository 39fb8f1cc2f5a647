#include "out/broker.h"

#include "out/avro.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static time_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* mkdir -p; the last folder private to the daemon. */
static int mkdirs(const char *path)
{
	char tmp[4300];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

int broker_open(struct broker *b, struct out_instance *oi, const char *type, const char *dir,
		int max_mib, const char *what, const char *size_key, char *err, size_t errlen)
{
	memset(b, 0, sizeof *b);
	b->oi = oi;
	b->what = what;
	b->size_key = size_key;
	obuf_init(&b->rec, 0);
	if (max_mib <= 0)
		return 0;
	char path[4200], why[512];
	snprintf(path, sizeof path, "%s/%s-%s", dir && *dir ? dir : "/var/lib/netacct/spool",
		 oi->conf->name, type);
	if (mkdirs(path) < 0) {
		snprintf(err, errlen, "key '%s_spool_dir[%s]': cannot create %s: %s", type,
			 oi->conf->name, path, strerror(errno));
		return -1;
	}
	if (spool_open(&b->spool, path, (uint64_t)max_mib << 20, 0, why, sizeof why) < 0) {
		snprintf(err, errlen, "key '%s_spool_dir[%s]': %s", type, oi->conf->name, why);
		return -1;
	}
	if (spool_records(b->spool))
		nt_log(oi->log, LOG_LVL_INFO, oi->component,
		       "spool %s holds %llu %ss from an earlier run: replayed first", path,
		       (unsigned long long)spool_records(b->spool), what);
	return 0;
}

void broker_close(struct broker *b)
{
	if (b->spool && spool_records(b->spool))
		nt_log(b->oi->log, LOG_LVL_INFO, b->oi->component,
		       "%llu %ss left in the spool for the next start",
		       (unsigned long long)spool_records(b->spool), b->what);
	spool_close(b->spool);
	b->spool = NULL;
	obuf_free(&b->rec);
}

void broker_keep(struct broker *b, const struct bmsg *m)
{
	enum spool_push_result rc = SPOOL_FULL;
	if (b->spool && bmsg_pack(&b->rec, m) == 0)
		rc = spool_push(b->spool, b->rec.data, b->rec.len);
	if (rc == SPOOL_OK) {
		b->spooled++;
		return;
	}
	if (rc == SPOOL_IOERR)
		b->spool_errors++;
	if (b->dropped++ % 10000 == 0)
		nt_log(b->oi->log, LOG_LVL_ERROR, b->oi->component,
		       "%s dropped (%llu so far): %s%s%s", b->what, (unsigned long long)b->dropped,
		       !b->spool	   ? "no spool (its size is 0)"
		       : rc == SPOOL_IOERR ? "the spool could not write it"
					   : "the spool is full (",
		       b->spool && rc == SPOOL_FULL ? b->size_key : "",
		       b->spool && rc == SPOOL_FULL ? ")" : "");
}

uint64_t broker_backlog(const struct broker *b)
{
	return b->spool ? spool_records(b->spool) : 0;
}

void broker_lost(struct broker *b)
{
	if (b->next_probe)
		return;
	b->probe_wait = 1;
	b->next_probe = now_s() + b->probe_wait;
}

int broker_retry_due(const struct broker *b)
{
	return now_s() >= b->next_probe;
}

void broker_retry_failed(struct broker *b)
{
	b->probe_wait =
	    b->probe_wait * 2 > BROKER_PROBE_MAX_S ? BROKER_PROBE_MAX_S : b->probe_wait * 2;
	b->next_probe = now_s() + b->probe_wait;
}

void broker_reached(struct broker *b)
{
	b->next_probe = 0;
}

/* Replay batches until the spool is empty or a batch is not confirmed. */
static uint64_t replay(struct broker *b, const struct broker_link *l)
{
	uint64_t done = 0;
	while (broker_backlog(b)) {
		spool_mark(b->spool);
		unsigned n = 0;
		int lost = 0;
		while (n < l->batch) {
			const uint8_t *r;
			size_t len;
			struct bmsg m;
			int got = spool_peek(b->spool, &r, &len), rc = 1;
			if (got == 0)
				break;
			if (got > 0 && bmsg_unpack(r, len, &m) == 0)
				rc = l->send(l->arg, &m);
			if (rc < 0) {
				lost = 1;
				break;
			}
			if (rc > 0)
				b->spool_errors++;
			spool_take(b->spool);
			n += rc == 0;
		}
		if (lost || (n && l->confirm(l->arg, n) < 0)) {
			spool_rewind(b->spool); /* the whole batch again, in its place */
			break;
		}
		done += n;
		spool_sync(b->spool);
	}
	return done;
}

uint64_t broker_service(struct broker *b, const struct broker_link *l, int (*connected)(void *arg))
{
	uint64_t done = 0;
	if (!connected(l->arg) && broker_retry_due(b)) {
		char err[256];
		if (l->connect(l->arg, err, sizeof err) == 0) {
			broker_reached(b);
			b->reconnects++;
			nt_log(b->oi->log, LOG_LVL_INFO, b->oi->component,
			       "%s reachable again: %llu spooled %ss to replay", l->peer,
			       (unsigned long long)broker_backlog(b), b->what);
		} else {
			broker_retry_failed(b);
			nt_log(b->oi->log, LOG_LVL_DEBUG, b->oi->component, "%s: %s", l->peer, err);
		}
	}
	if (connected(l->arg) && broker_backlog(b))
		done = replay(b, l);
	if (b->spool)
		spool_sync(b->spool);
	return done;
}

int broker_encoder(struct encoder *enc, struct enc_schema *schema, const struct out_instance *oi,
		   const char *format, const char *key, char *err, size_t errlen)
{
	const char *name = oi->conf->name, *file = oi->conf->avro_schema_file;
	char why[512];
	enc_schema_init(schema, &oi->ks);
	if (!format || strcmp(format, "json") == 0) {
		if (file && *file)
			nt_log(oi->log, LOG_LVL_WARN, oi->component,
			       "avro_schema_file[%s] ignored: %s is json", name, key);
		enc_init(enc, "json", NULL);
		enc->newline = 0; /* a message per row */
		return 0;
	}
	if (strcmp(format, "avro") != 0 && strcmp(format, "avro_json") != 0) {
		snprintf(err, errlen, "key '%s[%s]': unknown encoding %s (json, avro or avro_json)",
			 key, name, format);
		return -1;
	}
	if (avro_enc_init(enc, schema, strcmp(format, "avro_json") == 0, why, sizeof why) < 0) {
		snprintf(err, errlen, "key '%s[%s]': %s: %s", key, name, format, why);
		return -1;
	}
	if (file && *file && avro_enc_write_schema(enc, file, why, sizeof why) < 0) {
		avro_enc_free(enc);
		snprintf(err, errlen, "key 'avro_schema_file[%s]': %s", name, why);
		return -1;
	}
	return 0;
}

void broker_encoder_free(struct encoder *enc)
{
	avro_enc_free(enc);
}

void broker_marker(struct obuf *m, const struct out_instance *oi, const char *event,
		   uint64_t entries)
{
	obuf_reset(m);
	obuf_printf(m, "{\"event_type\": \"%s\", \"writer_id\": \"%s/%d\"", event, oi->component,
		    (int)getpid());
	if (strcmp(event, "purge_close") == 0)
		obuf_printf(m, ", \"purged_entries\": %llu", (unsigned long long)entries);
	obuf_puts(m, "}");
}
