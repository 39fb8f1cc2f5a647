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

#include "out/encode.h"
#include "out/output.h"

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

enum print_fmt { PF_FORMATTED, PF_JSON, PF_CSV };

struct print_state {
	enum print_fmt fmt;
};

static int print_open(struct out_instance *oi, char *err, size_t errlen)
{
	struct print_state *st = calloc(1, sizeof *st);
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	const char *f = oi->conf->print_output ? oi->conf->print_output : "formatted";
	st->fmt = strcmp(f, "json") == 0 ? PF_JSON : strcmp(f, "csv") == 0 ? PF_CSV : PF_FORMATTED;
	oi->state = st;
	return 0;
}

static int write_rows(struct out_instance *oi, FILE *fp, const struct agg_table *t, int header,
		      const struct out_interval *iv)
{
	const struct print_state *st = oi->state;
	const struct keyspec *ks = &oi->ks;
	const char *sep = oi->conf->print_output_separator ? oi->conf->print_output_separator : ",";
	uint64_t pos = 0;
	const struct agg_entry *e;
	int rc = 0;

	if (oi->conf->print_markers) {
		if (st->fmt == PF_JSON)
			fprintf(fp, "{\"event_type\": \"purge_init\", \"writer_id\": \"%s\"}\n",
				oi->component);
		else
			fprintf(fp, "--START (%lld+%d)--\n", (long long)iv->start, oi->refresh);
	}
	if (header && st->fmt == PF_CSV)
		rc |= enc_csv_header(fp, ks, sep);
	if (header && st->fmt == PF_FORMATTED)
		rc |= enc_formatted_header(fp, ks);
	while ((e = agg_table_next(t, &pos))) {
		if (st->fmt == PF_JSON) {
			char *s = enc_json_row(ks, e, "purge");
			if (!s)
				return -1;
			fputs(s, fp);
			fputc('\n', fp);
			free(s);
		} else if (st->fmt == PF_CSV) {
			rc |= enc_csv_row(fp, ks, e, sep);
		} else {
			rc |= enc_formatted_row(fp, ks, e);
		}
	}
	if (oi->conf->print_markers) {
		if (st->fmt == PF_JSON)
			fprintf(fp,
				"{\"event_type\": \"purge_close\", \"writer_id\": \"%s\", "
				"\"purged_entries\": %llu}\n",
				oi->component, (unsigned long long)t->count);
		else
			fprintf(fp, "--END--\n");
	}
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
	if (rc < 0) {
		nt_log(oi->log, LOG_LVL_ERROR, oi->component, "write %s: %s", path,
		       strerror(errno));
		unlink(tmp);
	}
	return rc;
}

static void print_close(struct out_instance *oi)
{
	free(oi->state);
	oi->state = NULL;
}

const struct out_module out_print_module = {
    .conf = {"print", print_tables},
    .refresh_off = offsetof(struct conf_plugin, print_refresh_time),
    .history_off = offsetof(struct conf_plugin, print_history),
    .cache_entries_off = offsetof(struct conf_plugin, print_cache_entries),
    .open = print_open,
    .write = print_write,
    .close = print_close,
};
