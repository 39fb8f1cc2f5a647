/*
 * print output: JSON lines, CSV or a formatted table (or their event
 * variants, without counters), to stdout or to print_output_file.
 *
 * The file name is a template: strftime(3) variables expand to the
 * interval start, once per purge; $peer_src_ip, $tag and $tag2 to a row's
 * value of that primitive, so rows are spread over one file per value (only
 * when the template names one: otherwise the name is computed once per
 * purge); $post_tag, $ref and $hst are constants known at start.
 *
 * A file is written under a temporary name in its folder and renamed into
 * place, so a reader (tail -F, inotify watchers) never sees half a purge;
 * appended files get whole rows per write(2).  A purge that cannot be
 * written (disk full, folder gone) is kept and written with the next one,
 * at most print_write_retry purges, beyond which the oldest are dropped and
 * counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agg/timebin.h"
#include "conf/config.h"
#include "out/buf.h"
#include "out/encode.h"
#include "out/filename.h"
#include "out/output.h"
#include "agg/tagging.h"

extern char **environ;

/* Bytes gathered before they go to the file: few large writes, bounded memory. */
#define PRINT_CHUNK (1u << 20)

static int set_history(const struct conf_key *k, void *base, const char *v, char *why,
		       size_t whylen)
{
	return timebin_parse(v, k->max, (int *)(void *)((char *)base + k->off), why, whylen);
}

static int set_roundoff(const struct conf_key *k, void *base, const char *v, char *why,
			size_t whylen)
{
	if (timebin_roundoff_check(v, why, whylen) < 0)
		return -1;
	return conf_store_value(k, base, v, why, whylen);
}

/* print's own keys: they apply to print instances only. */
#define P(f) SCOPE_PLUGIN, offsetof(struct conf_plugin, f)
static const struct conf_key print_rows[] = {
    CONF_ROW("print_output", CT_ENUM, P(print_output), D_ALL, "formatted",
	     "formatted|json|csv|event_formatted|event_csv", 0, 0,
	     "print plugin encoding; the event_ variants leave out the packets, flows and bytes "
	     "counters."),
    CONF_ROW(
	"print_output_file", CT_STRING, P(print_output_file), D_ALL, "", NULL, 0, 0,
	"print plugin destination; unset = stdout. strftime(3) variables expand to the interval "
	"start; $peer_src_ip, $tag, $tag2 to a row's value (one file per value; empty when the "
	"primitive is not aggregated); $post_tag, $ref (refresh time), $hst (history seconds) and "
	"$tzone (+hh:mm or Z) too. Folders of a name with variables are created as needed; the "
	"folder of a name without variables must exist and be writable at start."),
    CONF_ROW("print_output_file_append", CT_BOOL, P(print_output_file_append), D_ALL, "false", NULL,
	     0, 0,
	     "Append to print_output_file instead of rewriting it every interval (CSV and "
	     "formatted headers only at the top of a new file)."),
    CONF_ROW("print_output_separator", CT_STRING, P(print_output_separator), D_ALL, ",", NULL, 0, 0,
	     "Field separator of the csv encoding."),
    CONF_ROW("print_refresh_time", CT_INT, P(print_refresh_time), D_ALL, "60", NULL, 1, 86400,
	     "Seconds between flushes of the print plugin."),
    {"print_history", CT_DURATION, P(print_history), D_ALL, "", NULL, 0, 31 * 86400,
     "Time bins: aggregate per bin of this length (e.g. 5m, 1h, 1d, 1w, 1M for calendar months) "
     "and print stamp_inserted / stamp_updated. Bins follow the calendar of local time (UTC with "
     "timestamps_utc): bins shorter than a day start at midnight + k * length, days at midnight, "
     "weeks on Monday, months on the 1st.",
     set_history, NULL},
    {"print_history_roundoff", CT_STRING, P(print_history_roundoff), D_ALL, "", NULL, 0, 0,
     "Letters among m, h, d, w, M (d and w exclusive), checked for compatibility: bins are always "
     "aligned to the calendar (see print_history), which is what rounding off asks for.",
     set_roundoff, NULL},
    CONF_ROW("print_history_offset", CT_INT, P(print_history_offset), D_ALL, "0", NULL, 0,
	     31 * 86400,
	     "Seconds added to every bin start: with 30m bins and 900, bins start at :15 and :45."),
    CONF_ROW(
	"print_cache_entries", CT_INT, P(print_cache_entries), D_ALL, "16411", NULL, 1, 1 << 28,
	"Cache size, as pmacct's buckets: a worker's table starts with room for this many keys "
	"and is written at once (a safe purge: no trigger, no latest link move) when it holds "
	"10 times as many, unless cache_max_entries says otherwise."),
    CONF_ROW("print_markers", CT_BOOL, P(print_markers), D_ALL, "false", NULL, 0, 0,
	     "Write start/end markers around each flush."),
    CONF_ROW("print_write_empty_file", CT_BOOL, P(print_write_empty_file), D_ALL, "false", NULL, 0,
	     0, "Create print_output_file even when an interval has no data."),
    CONF_ROW("print_latest_file", CT_STRING, P(print_latest_file), D_ALL, "", NULL, 0, 0,
	     "A symbolic link to the newest print_output_file, moved after each purge when the new "
	     "file's name sorts at or after the one it points to; $peer_src_ip, $tag, $tag2 and "
	     "$post_tag expand as in print_output_file, time variables are refused."),
    CONF_ROW("print_trigger_exec", CT_STRING, P(print_trigger_exec), D_ALL, "", NULL, 0, 0,
	     "Executable run (no arguments, not waited for) after each purge."),
    CONF_ROW("print_write_retry", CT_INT, P(print_write_retry), D_ALL, "4", NULL, 0, 1024,
	     "netacct: purges kept in memory when writing print_output_file fails (folder gone, "
	     "disk full), written with the next purge; beyond it the oldest are dropped and their "
	     "rows counted (dropped_rows in the SIGUSR1 stats)."),
};
#undef P
static const struct conf_key_table print_keys = CONF_TABLE(
    "print", "The print output: JSON, CSV or a formatted table, to stdout or files.", print_rows);
static const struct conf_key_table *const print_tables[] = {&print_keys, NULL};

/* ---- state ---------------------------------------------------------------- */

/* A purge not written yet: its interval and the rows still to write. */
struct kept {
	struct out_interval iv;
	struct agg_table t;
};

#define MAX_CHILDREN 64

struct print_state {
	struct encoder enc;
	struct enc_schema schema;
	struct obuf buf;
	struct fname file, latest;
	int to_file;
	struct kept *kept; /* oldest first */
	unsigned nkept;
	pid_t child[MAX_CHILDREN]; /* trigger_exec processes not reaped yet */
	/* a safe purge wrote part of this interval: its later writes append, never replace */
	int safe_valid;
	time_t safe_start;
	/* stats */
	uint64_t files_written, bytes_written, write_failures, rows_kept, rows_dropped,
	    triggers_run;
	char writer_id[256]; /* writer_id_string, expanded */
};

static int folder_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return snprintf(dir, len, ".") < (int)len ? 0 : -1;
	if (slash == path)
		return snprintf(dir, len, "/") < (int)len ? 0 : -1;
	return snprintf(dir, len, "%.*s", (int)(slash - path), path) < (int)len ? 0 : -1;
}

static int print_open(struct out_instance *oi, char *err, size_t errlen)
{
	struct print_state *st = calloc(1, sizeof *st);
	char why[256];
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	const char *f = oi->conf->print_output ? oi->conf->print_output : "formatted";
	const char *sep = oi->conf->print_output_separator ? oi->conf->print_output_separator : ",";
	int event = strncmp(f, "event_", 6) == 0;
	/* anything but json and csv is the formatted table, as before */
	if (enc_init(&st->enc, event ? f + 6 : f, sep) < 0)
		enc_init(&st->enc, "formatted", sep);
	enc_schema_init(&st->schema, &oi->ks);
	if (event)
		enc_schema_no_counters(&st->schema);
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

	const char *file = oi->conf->print_output_file;
	if (file && *file) {
		st->to_file = 1;
		if (fname_parse(&st->file, file, oi, 1, why, sizeof why) < 0) {
			snprintf(err, errlen, "key 'print_output_file[%s]': %s", oi->conf->name,
				 why);
			return -1;
		}
		if (!strchr(file, '%') && !strchr(file, '$')) {
			/* a fixed name: its folder must be there now, not fail every purge */
			char dir[4096];
			struct stat sb;
			if (folder_of(file, dir, sizeof dir) < 0 || stat(dir, &sb) < 0 ||
			    !S_ISDIR(sb.st_mode)) {
				snprintf(err, errlen,
					 "key 'print_output_file[%s]': folder '%s' does not exist",
					 oi->conf->name, dir);
				return -1;
			}
			if (access(dir, W_OK | X_OK) < 0) {
				snprintf(
				    err, errlen,
				    "key 'print_output_file[%s]': folder '%s' is not writable: %s",
				    oi->conf->name, dir, strerror(errno));
				return -1;
			}
		}
		for (unsigned i = 0; i < st->file.n; i++)
			if (st->file.t[i].kind == FN_NULL)
				nt_log(oi->log, LOG_LVL_WARN, oi->component,
				       "print_output_file: a row variable names a primitive not in "
				       "aggregate: it expands to nothing");
	}
	const char *latest = oi->conf->print_latest_file;
	if (latest && *latest) {
		if (!st->to_file) {
			snprintf(err, errlen,
				 "key 'print_latest_file[%s]': needs print_output_file",
				 oi->conf->name);
			return -1;
		}
		if (fname_parse(&st->latest, latest, oi, 0, why, sizeof why) < 0) {
			snprintf(err, errlen, "key 'print_latest_file[%s]': %s", oi->conf->name,
				 why);
			return -1;
		}
	}
	return 0;
}

/* ---- writing ------------------------------------------------------------ */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write out what the buffer holds (whole rows); -1 if encoding or writing failed. */
static int drain(struct print_state *st, int fd)
{
	if (obuf_status(&st->buf) < 0)
		return -1;
	if (st->buf.len && write_all(fd, (const char *)st->buf.data, st->buf.len) < 0)
		return -1;
	st->bytes_written += st->buf.len;
	obuf_reset(&st->buf);
	return 0;
}

static void marker_start(struct out_instance *oi, const struct out_interval *iv)
{
	struct print_state *st = oi->state;
	if (st->enc.ops == &enc_json_ops)
		obuf_printf(&st->buf, "{\"event_type\": \"purge_init\", \"writer_id\": \"%s\"}\n",
			    oi->component);
	else
		obuf_printf(&st->buf, "--START (%lld+%d)--\n", (long long)iv->start, oi->refresh);
}

static void marker_end(struct out_instance *oi, uint64_t n)
{
	struct print_state *st = oi->state;
	if (st->enc.ops == &enc_json_ops)
		obuf_printf(&st->buf,
			    "{\"event_type\": \"purge_close\", \"writer_id\": \"%s\", "
			    "\"purged_entries\": %llu}\n",
			    oi->component, (unsigned long long)n);
	else
		obuf_puts(&st->buf, "--END--\n");
}

/* Rows e[0..n) to fd, with header and markers. */
static int write_rows(struct out_instance *oi, int fd, const struct agg_entry *const *e, size_t n,
		      int header, const struct out_interval *iv)
{
	struct print_state *st = oi->state;
	struct obuf *b = &st->buf;
	int rc = 0;

	obuf_reset(b);
	if (oi->conf->print_markers)
		marker_start(oi, iv);
	/* an empty purge is an empty file (print_write_empty_file), as pmacct writes it */
	if (header && n)
		enc_header(&st->enc, b, &st->schema);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (enc_row(&st->enc, b, &st->schema, e[i], "purge") < 0)
			rc = -1;
		else if (b->len >= PRINT_CHUNK)
			rc = drain(st, fd);
	}
	if (oi->conf->print_markers)
		marker_end(oi, n);
	if (rc == 0 && drain(st, fd) < 0)
		rc = -1;
	obuf_reset(b);
	return rc;
}

/* mkdir -p of path's folder (names with variables only). */
static void make_folders(const char *path)
{
	char dir[4096];
	if (folder_of(path, dir, sizeof dir) < 0)
		return;
	for (char *p = dir + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(dir, 0755);
			*p = '/';
		}
	mkdir(dir, 0755);
}

/* One file: rows e[0..n).  Returns 0 or -1 (errno kept for the log line). */
static int write_file(struct out_instance *oi, const char *path, const struct agg_entry *const *e,
		      size_t n, const struct out_interval *iv, int dynamic)
{
	struct print_state *st = oi->state;
	if (dynamic)
		make_folders(path);
	if (oi->conf->print_output_file_append || (st->safe_valid && iv->start == st->safe_start)) {
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return -1;
		struct stat sb;
		/* a header only at the top of a new file, so appended CSV stays parseable */
		int header = fstat(fd, &sb) == 0 && sb.st_size == 0;
		int rc = write_rows(oi, fd, e, n, header, iv);
		int saved = errno;
		if (close(fd) != 0 && rc == 0)
			rc = -1;
		else
			errno = saved;
		return rc;
	}
	/* hidden, in the same folder (rename stays atomic), matching no pattern like *.csv */
	char tmp[4200];
	const char *base = strrchr(path, '/');
	snprintf(tmp, sizeof tmp, "%.*s.%s.tmp.%d", base ? (int)(base + 1 - path) : 0, path,
		 base ? base + 1 : path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int rc = write_rows(oi, fd, e, n, 1, iv);
	int saved = errno;
	if (close(fd) != 0 && rc == 0)
		rc = -1;
	else
		errno = saved;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc < 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
	}
	return rc;
}

/* Point the latest link at path, unless it points at a name sorting after it. */
static void move_latest(struct out_instance *oi, const struct agg_entry *row, const char *path)
{
	struct print_state *st = oi->state;
	char link[4096], cur[4096], tmp[4200];
	if (!st->latest.n || fname_expand(&st->latest, oi, row, link, sizeof link) < 0)
		return;
	/* a relative target would resolve from the link's folder: make it absolute */
	char abs[4096];
	if (path[0] != '/') {
		char cwd[2048];
		if (!getcwd(cwd, sizeof cwd) ||
		    snprintf(abs, sizeof abs, "%s/%s", cwd, path) >= (int)sizeof abs)
			return;
		path = abs;
	}
	ssize_t l = readlink(link, cur, sizeof cur - 1);
	if (l >= 0) {
		cur[l] = '\0';
		if (strcmp(cur, path) > 0)
			return;
		if (strcmp(cur, path) == 0)
			return;
	}
	make_folders(link);
	snprintf(tmp, sizeof tmp, "%s.tmp.%d", link, (int)getpid());
	unlink(tmp);
	if (symlink(path, tmp) < 0 || rename(tmp, link) < 0) {
		nt_log(oi->log, LOG_LVL_ERROR, oi->component, "print_latest_file %s: %s", link,
		       strerror(errno));
		unlink(tmp);
	}
}

struct row_ref {
	const struct agg_entry *e;
	const char *path; /* into a shared buffer of paths */
	unsigned item;	  /* which purge it belongs to */
};

static int cmp_ref(const void *a, const void *b)
{
	const struct row_ref *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	if (c)
		return c;
	return x->item < y->item ? -1 : x->item > y->item;
}

static void reap(struct print_state *st)
{
	for (unsigned i = 0; i < MAX_CHILDREN; i++)
		if (st->child[i] > 0 && waitpid(st->child[i], NULL, WNOHANG) != 0)
			st->child[i] = 0;
}

static void trigger(struct out_instance *oi)
{
	struct print_state *st = oi->state;
	const char *exe = oi->conf->print_trigger_exec;
	if (!exe || !*exe)
		return;
	reap(st);
	unsigned slot = 0;
	while (slot < MAX_CHILDREN && st->child[slot] > 0)
		slot++;
	if (slot == MAX_CHILDREN) {
		nt_log(oi->log, LOG_LVL_WARN, oi->component,
		       "print_trigger_exec: %d earlier runs still going; not started",
		       MAX_CHILDREN);
		return;
	}
	char *argv[] = {(char *)exe, NULL};
	pid_t pid;
	/* the writer thread blocks the daemon's signals and SIGPIPE is ignored: not the child */
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	sigemptyset(&none);
	sigemptyset(&defaults);
	static const int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGCHLD};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaddset(&defaults, sigs[i]);
	int rc = posix_spawnattr_init(&attr);
	if (rc == 0) {
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setsigdefault(&attr, &defaults);
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
		rc = posix_spawn(&pid, exe, NULL, &attr, argv, environ);
		posix_spawnattr_destroy(&attr);
	}
	if (rc != 0) {
		nt_log(oi->log, LOG_LVL_ERROR, oi->component, "print_trigger_exec %s: %s", exe,
		       strerror(rc));
		return;
	}
	st->child[slot] = pid;
	st->triggers_run++;
}

/* Keep row e for the next purge, in into's table. */
static int keep_row(struct print_state *st, struct kept *into, const struct agg_entry *e)
{
	if (!into->t.entries)
		return -1; /* its table could not be allocated */
	/* the kept table has a span exactly when the purged one had */
	const struct agg_span *sp = into->t.span ? agg_entry_span(&into->t, e) : NULL;
	if (agg_table_add_span(&into->t, e->key, agg_hash(e->key, into->t.key_len), &e->c, sp) < 0)
		return -1;
	st->rows_kept++;
	return 0;
}

/*
 * One file: rows rowv[0..k) of interval iv.  When it cannot be written, its
 * rows are kept for the next purge, row j in next[item[j]] (item NULL: all
 * in next[0]).  Returns 1 when the file failed, else 0.
 */
static unsigned write_group(struct out_instance *oi, const char *path,
			    const struct agg_entry *const *rowv, size_t k,
			    const struct out_interval *iv, int dynamic, struct kept *next,
			    const unsigned *item)
{
	struct print_state *st = oi->state;
	if (write_file(oi, path, rowv, k, iv, dynamic) == 0) {
		st->files_written++;
		/* the link follows complete purges only, not one a full cache caused */
		if (!iv->safe)
			move_latest(oi, rowv[0], path);
		return 0;
	}
	st->write_failures++;
	nt_log(oi->log, LOG_LVL_ERROR, oi->component,
	       "write %s: %s; its %zu rows are kept for the next purge", path, strerror(errno), k);
	for (size_t j = 0; j < k; j++)
		if (keep_row(st, &next[item ? item[j] : 0], rowv[j]) < 0)
			st->rows_dropped++;
	return 1;
}

/*
 * The common case of write_purges(): one purge (nothing kept) to one file
 * name.  The rows go out in table order, without the per-row references and
 * the sort by file a mixed purge needs: at a million rows that is 24 MB less
 * at the moment the flush peaks.
 */
static unsigned write_one_purge(struct out_instance *oi, const struct kept *it, struct kept *next)
{
	struct print_state *st = oi->state;
	char path[4096];
	if (fname_begin(&st->file, it->iv.start, oi->ks.opts.timestamps_utc) < 0 ||
	    fname_expand(&st->file, oi, NULL, path, sizeof path) < 0) {
		nt_log(oi->log, LOG_LVL_ERROR, oi->component,
		       "print_output_file expands to nothing or too long: rows lost");
		st->rows_dropped += it->t.count;
		return 1;
	}
	if (it->t.count == 0) {
		if (!oi->conf->print_write_empty_file)
			return 0;
		if (write_file(oi, path, NULL, 0, &it->iv, st->file.has_time) < 0)
			return 1;
		st->files_written++;
		return 0;
	}
	const struct agg_entry **rowv = malloc(it->t.count * sizeof *rowv);
	if (!rowv) {
		nt_log(oi->log, LOG_LVL_ERROR, oi->component,
		       "out of memory writing a purge: rows lost");
		st->rows_dropped += it->t.count;
		return 1;
	}
	size_t k = 0;
	uint64_t pos = 0;
	const struct agg_entry *e;
	while ((e = agg_table_next(&it->t, &pos)))
		rowv[k++] = e;
	unsigned failed = write_group(oi, path, rowv, k, &it->iv, st->file.has_time, next, NULL);
	free(rowv);
	return failed;
}

/*
 * Write purges items[0..n) (kept ones first, then the current one) to their
 * files.  Rows whose file could not be written go to `next` (one table per
 * purge, same intervals).  Returns the number of failed files.
 */
static unsigned write_purges(struct out_instance *oi, const struct kept *items, unsigned n,
			     struct kept *next)
{
	struct print_state *st = oi->state;
	if (n == 1 && !st->file.has_row)
		return write_one_purge(oi, items, next);
	size_t rows = 0;
	for (unsigned i = 0; i < n; i++)
		rows += items[i].t.count;
	struct row_ref *refs = calloc(rows ? rows : 1, sizeof *refs);
	/* paths: one per purge without row variables, else one per row */
	size_t npaths = st->file.has_row ? rows : n;
	char **paths = calloc(npaths ? npaths : 1, sizeof *paths);
	unsigned failed = 0;
	size_t k = 0, p = 0;
	if (!refs || !paths)
		goto oom;
	char path[4096];
	for (unsigned i = 0; i < n; i++) {
		const struct kept *it = &items[i];
		if (fname_begin(&st->file, it->iv.start, oi->ks.opts.timestamps_utc) < 0)
			goto oom;
		const char *shared = NULL;
		if (!st->file.has_row) {
			if (fname_expand(&st->file, oi, NULL, path, sizeof path) < 0 ||
			    !(paths[p] = strdup(path))) {
				nt_log(oi->log, LOG_LVL_ERROR, oi->component,
				       "print_output_file expands to nothing or too long");
				goto oom;
			}
			shared = paths[p++];
			if (it->t.count == 0 && oi->conf->print_write_empty_file) {
				if (write_file(oi, shared, NULL, 0, &it->iv, st->file.has_time) < 0)
					failed++;
				else
					st->files_written++;
			}
		}
		uint64_t pos = 0;
		const struct agg_entry *e;
		while ((e = agg_table_next(&it->t, &pos))) {
			const char *rp = shared;
			if (!rp) {
				if (fname_expand(&st->file, oi, e, path, sizeof path) < 0 ||
				    !(paths[p] = strdup(path)))
					goto oom;
				rp = paths[p++];
			}
			refs[k++] = (struct row_ref){e, rp, i};
		}
	}
	qsort(refs, k, sizeof *refs, cmp_ref);
	const struct agg_entry **rowv = calloc(k ? k : 1, sizeof *rowv);
	unsigned *item = calloc(k ? k : 1, sizeof *item);
	if (!rowv || !item) {
		free(rowv);
		free(item);
		goto oom;
	}
	for (size_t a = 0; a < k;) {
		size_t b = a;
		while (b < k && strcmp(refs[b].path, refs[a].path) == 0)
			b++;
		for (size_t j = a; j < b; j++) {
			rowv[j - a] = refs[j].e;
			item[j - a] = refs[j].item;
		}
		/* markers and the file name carry the newest purge's interval */
		failed += write_group(oi, refs[a].path, rowv, b - a, &items[refs[b - 1].item].iv,
				      st->file.has_time || st->file.has_row, next, item);
		a = b;
	}
	free(rowv);
	free(item);
	goto done;
oom:
	nt_log(oi->log, LOG_LVL_ERROR, oi->component, "out of memory writing a purge: rows lost");
	for (unsigned i = 0; i < n; i++)
		st->rows_dropped += items[i].t.count;
	failed++;
done:
	for (size_t i = 0; i < p; i++)
		free(paths[i]);
	free(paths);
	free(refs);
	return failed;
}

static void kept_free(struct print_state *st)
{
	for (unsigned i = 0; i < st->nkept; i++)
		agg_table_free(&st->kept[i].t);
	free(st->kept);
	st->kept = NULL;
	st->nkept = 0;
}

static int print_write(struct out_instance *oi, const struct agg_table *t,
		       const struct out_interval *iv)
{
	struct print_state *st = oi->state;
	if (!st->to_file) {
		if (t->count == 0) {
			trigger(oi);
			return 0;
		}
		const struct agg_entry **rows = calloc(t->count, sizeof *rows);
		if (!rows)
			return -1;
		uint64_t pos = 0, n = 0;
		const struct agg_entry *e;
		while ((e = agg_table_next(t, &pos)))
			rows[n++] = e;
		int rc = write_rows(oi, STDOUT_FILENO, rows, n, 1, iv);
		free(rows);
		if (!iv->safe)
			trigger(oi);
		return rc;
	}
	if (t->count == 0 && !oi->conf->print_write_empty_file && !st->nkept) {
		trigger(oi);
		return 0;
	}

	/* this purge after the kept ones: one list, oldest first */
	unsigned n = st->nkept + 1;
	struct kept *items = calloc(n, sizeof *items);
	struct kept *next = calloc(n, sizeof *next);
	if (!items || !next) {
		free(items);
		free(next);
		st->rows_dropped += t->count;
		return -1;
	}
	for (unsigned i = 0; i < st->nkept; i++)
		items[i] = st->kept[i];
	items[n - 1].iv = *iv;
	items[n - 1].t = *t; /* borrowed: never freed here */
	for (unsigned i = 0; i < n; i++) {
		next[i].iv = items[i].iv;
		if (agg_table_init(&next[i].t, t->key_len, 16) < 0 ||
		    agg_table_set_span(&next[i].t, t->span) < 0)
			next[i].t.entries = NULL;
	}
	unsigned failed = write_purges(oi, items, n, next);

	/* what is still unwritten becomes the kept list, bounded */
	for (unsigned i = 0; i < st->nkept; i++)
		agg_table_free(&st->kept[i].t);
	free(st->kept);
	st->kept = NULL;
	st->nkept = 0;
	unsigned keep = 0;
	for (unsigned i = 0; i < n; i++)
		if (next[i].t.entries && next[i].t.count)
			next[keep++] = next[i];
		else
			agg_table_free(&next[i].t);
	unsigned bound = (unsigned)oi->conf->print_write_retry;
	unsigned skip = keep > bound ? keep - bound : 0;
	for (unsigned i = 0; i < skip; i++) {
		st->rows_dropped += next[i].t.count;
		atomic_fetch_add(&oi->dropped_records, next[i].t.count);
		nt_log(oi->log, LOG_LVL_ERROR, oi->component,
		       "%llu rows of the purge of %lld dropped: written %u times without success "
		       "(print_write_retry)",
		       (unsigned long long)next[i].t.count, (long long)next[i].iv.start, bound + 1);
		agg_table_free(&next[i].t);
	}
	if (keep > skip) {
		memmove(next, next + skip, (keep - skip) * sizeof *next);
		st->kept = next;
		st->nkept = keep - skip;
	} else {
		free(next);
	}
	free(items);
	if (iv->safe) {
		st->safe_valid = 1;
		st->safe_start = iv->start;
	} else {
		if (st->safe_valid && iv->start == st->safe_start)
			st->safe_valid = 0;
		trigger(oi); /* after each purge, not after a safe one */
	}
	return failed ? -1 : 0;
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
	uint64_t pending = 0;
	for (unsigned i = 0; i < st->nkept; i++)
		pending += st->kept[i].t.count;
	obuf_printf(line,
		    " files_written=%llu bytes_written=%llu write_failures=%llu rows_kept=%llu "
		    "rows_pending=%llu dropped_rows=%llu triggers_run=%llu",
		    (unsigned long long)st->files_written, (unsigned long long)st->bytes_written,
		    (unsigned long long)st->write_failures, (unsigned long long)st->rows_kept,
		    (unsigned long long)pending, (unsigned long long)st->rows_dropped,
		    (unsigned long long)st->triggers_run);
}

static void print_close(struct out_instance *oi)
{
	struct print_state *st = oi->state;
	if (st) {
		if (st->nkept) {
			uint64_t n = 0;
			for (unsigned i = 0; i < st->nkept; i++)
				n += st->kept[i].t.count;
			nt_log(oi->log, LOG_LVL_ERROR, oi->component,
			       "%llu rows never written: print_output_file kept failing",
			       (unsigned long long)n);
		}
		kept_free(st);
		reap(st);
		fname_free(&st->file);
		fname_free(&st->latest);
		obuf_free(&st->buf);
	}
	free(st);
	oi->state = NULL;
}

const struct out_module out_print_module = {
    .sinks = OUT_SINK_TABLE,
    .conf = {.type = "print", .tables = print_tables},
    .refresh_off = offsetof(struct conf_plugin, print_refresh_time),
    .history_off = offsetof(struct conf_plugin, print_history),
    .history_offset_off = offsetof(struct conf_plugin, print_history_offset),
    .cache_entries_off = offsetof(struct conf_plugin, print_cache_entries),
    .open = print_open,
    .write = print_write,
    .reopen = print_reopen,
    .stats = print_stats,
    .close = print_close,
};
