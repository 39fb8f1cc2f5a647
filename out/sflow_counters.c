/*
 * sfacctd_counter_file: an event-stream output (OUT_SINK_EVENT) that
 * appends each counter event as one JSON line to a file, or to one file per
 * agent when the name holds $peer_src_ip.  It runs on a writer thread of its
 * own (out/writer.h), so workers only build an event and queue it.
 *
 * Files stay open between events; once a second a file's name is checked
 * against the open descriptor and the file is reopened when it was moved or
 * removed (log rotation), since SIGHUP reaches only the `plugins` outputs.
 */
#include "out/sflow_counters.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "out/buf.h"
#include "out/encode.h"

#define SFCNT_MAX_FILES 256 /* open files kept; beyond, the oldest is closed */

struct sfcnt_file {
	char *path;
	FILE *fp;
	time_t checked; /* last rename check */
};

struct sfcnt_state {
	char *tmpl;
	struct encoder enc;
	struct obuf buf;
	struct sfcnt_file f[SFCNT_MAX_FILES];
	unsigned nf, next_evict;
	uint64_t open_errors;
};

/* The file name for an agent: $peer_src_ip replaced by its address. */
static int expand(const char *tmpl, const char *agent, char *out, size_t len)
{
	size_t n = 0;
	for (const char *p = tmpl; *p;) {
		if (strncmp(p, "$peer_src_ip", 12) == 0) {
			int w = snprintf(out + n, len - n, "%s", agent);
			if (w < 0 || (size_t)w >= len - n)
				return -1;
			n += (size_t)w;
			p += 12;
			continue;
		}
		if (n + 1 >= len)
			return -1;
		out[n++] = *p++;
	}
	out[n] = '\0';
	return 0;
}

static int sfcnt_open(struct out_instance *oi, char *err, size_t errlen)
{
	struct sfcnt_state *st = calloc(1, sizeof *st);
	const char *tmpl = oi->state;
	if (!st || !(st->tmpl = strdup(tmpl))) {
		free(st);
		snprintf(err, errlen, "sfacctd_counter_file: out of memory");
		return -1;
	}
	enc_init(&st->enc, "json", NULL);
	st->enc.newline = 1;
	obuf_init(&st->buf, 0);
	oi->state = st;
	return 0;
}

static void file_close(struct sfcnt_file *f)
{
	if (f->fp)
		fclose(f->fp);
	f->fp = NULL;
}

/* The open file for path, (re)opening it as needed; NULL on failure. */
static FILE *file_get(struct out_instance *oi, struct sfcnt_state *st, const char *path)
{
	struct sfcnt_file *f = NULL;
	time_t now = time(NULL);
	for (unsigned i = 0; i < st->nf; i++)
		if (strcmp(st->f[i].path, path) == 0) {
			f = &st->f[i];
			break;
		}
	if (f && f->fp && f->checked != now) {
		struct stat a, b;
		f->checked = now;
		if (stat(path, &a) < 0 || fstat(fileno(f->fp), &b) < 0 || a.st_ino != b.st_ino ||
		    a.st_dev != b.st_dev)
			file_close(f);
	}
	if (!f) {
		char *p = strdup(path);
		if (!p)
			return NULL;
		if (st->nf < SFCNT_MAX_FILES) {
			f = &st->f[st->nf++];
		} else {
			f = &st->f[st->next_evict];
			st->next_evict = (st->next_evict + 1) % SFCNT_MAX_FILES;
			file_close(f);
			free(f->path);
		}
		f->path = p;
		f->fp = NULL;
	}
	if (!f->fp) {
		f->fp = fopen(path, "a");
		f->checked = now;
		if (!f->fp) {
			/* logged once per file and failure streak */
			if (st->open_errors++ == 0)
				nt_log(oi->log, LOG_LVL_ERROR, oi->component, "cannot open %s: %s",
				       path, strerror(errno));
			return NULL;
		}
		st->open_errors = 0;
	}
	return f->fp;
}

static int sfcnt_write_event(struct out_instance *oi, const struct out_event *ev)
{
	struct sfcnt_state *st = oi->state;
	char agent[64] = "", path[4096];
	for (unsigned i = 0; i < ev->n; i++)
		if (strcmp(ev->f[i].name, "peer_ip_src") == 0 ||
		    strcmp(ev->f[i].name, "peer_src_ip") == 0) {
			addr_to_text(ev->f[i].addr, agent, sizeof agent);
			break;
		}
	if (expand(st->tmpl, agent, path, sizeof path) < 0)
		return -1;
	FILE *fp = file_get(oi, st, path);
	if (!fp)
		return -1;
	obuf_reset(&st->buf);
	if (enc_event(&st->enc, &st->buf, ev) < 0 || obuf_status(&st->buf) < 0)
		return -1;
	/* one line per event, flushed: readers (and tail -f) see whole records */
	if (fwrite(st->buf.data, 1, st->buf.len, fp) != st->buf.len || fflush(fp) != 0)
		return -1;
	return 0;
}

static void sfcnt_close(struct out_instance *oi)
{
	struct sfcnt_state *st = oi->state;
	if (!st)
		return;
	for (unsigned i = 0; i < st->nf; i++) {
		file_close(&st->f[i]);
		free(st->f[i].path);
	}
	obuf_free(&st->buf);
	free(st->tmpl);
	free(st);
	oi->state = NULL;
}

const struct out_module out_sflow_counters_module = {
    .conf = {.type = "sfacctd_counter_file", .tables = NULL},
    .sinks = OUT_SINK_EVENT,
    .open = sfcnt_open,
    .write_event = sfcnt_write_event,
    .close = sfcnt_close,
};
