/*
 * print output: JSON lines, CSV or a formatted table, to stdout or to
 * print_output_file (strftime variables expand to the interval start).
 * Without append the file is rewritten each interval, through a temporary
 * file renamed into place, so a reader never sees half an interval.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out/buf.h"
#include "out/encode.h"
#include "out/output.h"
#include "agg/tagging.h"

/* Bytes gathered before they go to the file: few large writes, bounded memory. */
#define PRINT_CHUNK (1u << 20)
/* print's own keys: they apply to print instances only. */
#define P(f) SCOPE_PLUGIN, offsetof(struct conf_plugin, f)
static const struct conf_key print_rows[] = {
    CONF_ROW("print_output", CT_ENUM, P(print_output), D_ALL, "formatted", "formatted|json|csv", 0,
	     0, "print plugin encoding."),
    CONF_ROW(
	"print_output_file", CT_STRING, P(print_output_file), D_ALL, "", NULL, 0, 0,
	"print plugin destination; strftime(3) variables expand to the interval start; unset = "
	"stdout."),
    CONF_ROW("print_output_file_append", CT_BOOL, P(print_output_file_append), D_ALL, "false", NULL,
	     0, 0, "Append to print_output_file instead of rewriting it every interval."),
    CONF_ROW("print_output_separator", CT_STRING, P(print_output_separator), D_ALL, ",", NULL, 0, 0,
	     "Field separator of the csv encoding."),
    CONF_ROW("print_refresh_time", CT_INT, P(print_refresh_time), D_ALL, "60", NULL, 1, 86400,
	     "Seconds between flushes of the print plugin."),
    CONF_ROW("print_history", CT_DURATION, P(print_history), D_ALL, "", NULL, 0, 31 * 86400,
	     "Time bins: aggregate per bin of this length (e.g. 5m, 1h) and print stamp_inserted / "
	     "stamp_updated. Bins start at multiples of the length since the epoch (UTC)."),
    CONF_ROW("print_history_roundoff", CT_ENUM, P(print_history_roundoff), D_ALL, "", "m|h|d|w", 0,
	     0,
	     "Accepted for compatibility; bins are always aligned to multiples of print_history."),
    CONF_ROW("print_cache_entries", CT_INT, P(print_cache_entries), D_ALL, "16411", NULL, 1,
	     1 << 28, "Initial table size hint per worker (tables grow as needed)."),
    CONF_ROW("print_markers", CT_BOOL, P(print_markers), D_ALL, "false", NULL, 0, 0,
	     "Write start/end markers around each flush."),
    CONF_ROW("print_write_empty_file", CT_BOOL, P(print_write_empty_file), D_ALL, "false", NULL, 0,
	     0, "Create print_output_file even when an interval has no data."),
};
#undef P
static const struct conf_key_table print_keys = CONF_TABLE(
    "print", "The print output: JSON, CSV or a formatted table, to stdout or files.", print_rows);
static const struct conf_key_table *const print_tables[] = {&print_keys, NULL};

struct print_state {
	struct encoder enc;
	struct enc_schema schema;
	struct obuf buf;
	uint64_t files_written, bytes_written; /* stats */
	char writer_id[256];		       /* writer_id_string, expanded */
};

static int print_open(struct out_instance *oi, char *err, size_t errlen)
{
	struct print_state *st = calloc(1, sizeof *st);
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	const char *f = oi->conf->print_output ? oi->conf->print_output : "formatted";
	const char *sep = oi->conf->print_output_separator ? oi->conf->print_output_separator : ",";
	/* anything but json and csv is the formatted table, as before */
	if (enc_init(&st->enc, f, sep) < 0)
		enc_init(&st->enc, "formatted", sep);
	enc_schema_init(&st->schema, &oi->ks);
	if (oi->conf->writer_id_string && *oi->conf->writer_id_string) {
		if (writer_id_expand(oi->conf->writer_id_string, oi->conf->name, st->writer_id,
				     sizeof st->writer_id) < 0) {
			snprintf(err, errlen, "key 'writer_id_string[%s]': longer than %zu bytes",
				 oi->conf->name, sizeof st->writer_id - 1);
			free(st);
			return -1;
		}
		st->schema.writer_id = st->writer_id;
	}
	obuf_init(&st->buf, 0);
	oi->state = st;
	return 0;
}

/* Write out what the buffer holds; -1 if encoding or writing failed. */
static int drain(struct print_state *st, FILE *fp)
{
	if (obuf_status(&st->buf) < 0)
		return -1;
	if (st->buf.len && fwrite(st->buf.data, 1, st->buf.len, fp) != st->buf.len)
		return -1;
	st->bytes_written += st->buf.len;
	obuf_reset(&st->buf);
	return 0;
}

static int write_rows(struct out_instance *oi, FILE *fp, const struct agg_table *t, int header,
		      const struct out_interval *iv)
{
	struct print_state *st = oi->state;
	struct obuf *b = &st->buf;
	int json = st->enc.ops == &enc_json_ops;
	uint64_t pos = 0;
	const struct agg_entry *e;
	int rc = 0;

	obuf_reset(b);
	if (oi->conf->print_markers) {
		if (json)
			obuf_printf(b, "{\"event_type\": \"purge_init\", \"writer_id\": \"%s\"}\n",
				    oi->component);
		else
			obuf_printf(b, "--START (%lld+%d)--\n", (long long)iv->start, oi->refresh);
	}
	if (header)
		enc_header(&st->enc, b, &st->schema);
	while (rc == 0 && (e = agg_table_next(t, &pos))) {
		if (enc_row(&st->enc, b, &st->schema, e, "purge") < 0)
			rc = -1;
		else if (b->len >= PRINT_CHUNK)
			rc = drain(st, fp);
	}
	if (oi->conf->print_markers) {
		if (json)
			obuf_printf(b,
				    "{\"event_type\": \"purge_close\", \"writer_id\": \"%s\", "
				    "\"purged_entries\": %llu}\n",
				    oi->component, (unsigned long long)t->count);
		else
			obuf_puts(b, "--END--\n");
	}
	if (drain(st, fp) < 0)
		rc = -1;
	obuf_reset(b);
	return rc || ferror(fp) ? -1 : 0;
}

static int print_write(struct out_instance *oi, const struct agg_table *t,
		       const struct out_interval *iv)
{
	const char *tmpl = oi->conf->print_output_file;
	if (!tmpl || !*tmpl) {
		if (t->count == 0)
			return 0;
		int rc = write_rows(oi, stdout, t, 1, iv);
		fflush(stdout);
		return rc;
	}
	if (t->count == 0 && !oi->conf->print_write_empty_file)
		return 0;

	char path[4096];
	struct tm tm;
	localtime_r(&iv->start, &tm);
	if (strftime(path, sizeof path, tmpl, &tm) == 0) {
		nt_log(oi->log, LOG_LVL_ERROR, oi->component,
		       "print_output_file '%s' expands to nothing", tmpl);
		return -1;
	}

	if (oi->conf->print_output_file_append) {
		FILE *fp = fopen(path, "a");
		if (!fp) {
			nt_log(oi->log, LOG_LVL_ERROR, oi->component, "open %s: %s", path,
			       strerror(errno));
			return -1;
		}
		/* a header only at the top of a new file, so appended CSV stays parseable */
		int rc = write_rows(oi, fp, t, ftell(fp) == 0, iv);
		if (fclose(fp) != 0)
			rc = -1;
		if (rc == 0)
			((struct print_state *)oi->state)->files_written++;
		if (rc < 0)
			nt_log(oi->log, LOG_LVL_ERROR, oi->component, "write %s: %s", path,
			       strerror(errno));
		return rc;
	}

	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
	FILE *fp = fopen(tmp, "w");
	if (!fp) {
		nt_log(oi->log, LOG_LVL_ERROR, oi->component, "open %s: %s", tmp, strerror(errno));
		return -1;
	}
	int rc = write_rows(oi, fp, t, 1, iv);
	if (fclose(fp) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc == 0)
		((struct print_state *)oi->state)->files_written++;
	if (rc < 0) {
		nt_log(oi->log, LOG_LVL_ERROR, oi->component, "write %s: %s", path,
		       strerror(errno));
		unlink(tmp);
	}
	return rc;
}

/*
 * SIGHUP: print holds no file open between flushes (each flush opens its
 * file by name), so a rotated file is left alone from the next flush on;
 * stdout is the caller's.  Nothing to reopen: say so at debug level.
 */
static void print_reopen(struct out_instance *oi)
{
	nt_log(oi->log, LOG_LVL_DEBUG, oi->component,
	       "reopen: files are opened at each flush, nothing held open");
}

static void print_stats(struct out_instance *oi, struct obuf *line)
{
	const struct print_state *st = oi->state;
	obuf_printf(line, " files_written=%llu bytes_written=%llu",
		    (unsigned long long)st->files_written, (unsigned long long)st->bytes_written);
}

static void print_close(struct out_instance *oi)
{
	struct print_state *st = oi->state;
	if (st)
		obuf_free(&st->buf);
	free(st);
	oi->state = NULL;
}

const struct out_module out_print_module = {
    .sinks = OUT_SINK_TABLE,
    .conf = {"print", print_tables},
    .refresh_off = offsetof(struct conf_plugin, print_refresh_time),
    .history_off = offsetof(struct conf_plugin, print_history),
    .cache_entries_off = offsetof(struct conf_plugin, print_cache_entries),
    .open = print_open,
    .write = print_write,
    .reopen = print_reopen,
    .stats = print_stats,
    .close = print_close,
};
