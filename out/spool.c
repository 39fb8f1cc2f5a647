#include "out/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR 8u

struct segment {
	uint64_t seq;
	uint64_t end; /* bytes of valid records */
};

struct spool {
	char dir[4096];
	uint64_t max_bytes, segment_bytes;
	struct segment *seg; /* oldest first; the last one is the tail */
	size_t nseg, capseg;
	int tail_fd;	   /* the last segment, for appending */
	size_t hidx;	   /* the segment being read; those before it are taken */
	int head_fd;	   /* seg[hidx], for reading */
	uint64_t head_off; /* in seg[hidx] */
	struct {	   /* spool_mark(): where spool_rewind() goes back to */
		int set;
		size_t hidx;
		uint64_t head_off;
		uint64_t taken_bytes, taken_records; /* since the mark */
	} mark;
	uint64_t bytes, records; /* not taken yet */
	uint8_t *buf;		 /* the record spool_peek() returned */
	size_t bufcap, peeked;	 /* peeked: its size on disk, 0 = none */
};

static uint32_t checksum(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void seg_path(const struct spool *s, uint64_t seq, char *out, size_t len)
{
	snprintf(out, len, "%s/seg-%020" PRIu64 ".spool", s->dir, seq);
}

static int add_segment(struct spool *s, uint64_t seq, uint64_t end)
{
	if (s->nseg == s->capseg) {
		size_t cap = s->capseg ? 2 * s->capseg : 8;
		struct segment *n = realloc(s->seg, cap * sizeof *n);
		if (!n)
			return -1;
		s->seg = n;
		s->capseg = cap;
	}
	s->seg[s->nseg++] = (struct segment){seq, end};
	return 0;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int grow(struct spool *s, size_t n)
{
	if (n <= s->bufcap)
		return 0;
	uint8_t *b = realloc(s->buf, n);
	if (!b)
		return -1;
	s->buf = b;
	s->bufcap = n;
	return 0;
}

/*
 * Read the record at off of fd into s->buf: its payload length, or -1 when
 * there is no whole, valid record there (end of data, torn or corrupt).
 */
static long long read_record(struct spool *s, int fd, uint64_t off)
{
	uint8_t h[HDR];
	if (pread(fd, h, HDR, (off_t)off) != (ssize_t)HDR)
		return -1;
	uint32_t len = get32(h), sum = get32(h + 4);
	if (len > (64u << 20) || grow(s, len ? len : 1) < 0)
		return -1;
	if (len && pread(fd, s->buf, len, (off_t)(off + HDR)) != (ssize_t)len)
		return -1;
	if (checksum(s->buf, len) != sum)
		return -1;
	return len;
}

/* Count the valid records of a segment from off on; *end is where they stop. */
static int scan(struct spool *s, uint64_t seq, uint64_t off, uint64_t *end)
{
	char path[4200];
	seg_path(s, seq, path, sizeof path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	long long len;
	while ((len = read_record(s, fd, off)) >= 0) {
		off += HDR + (uint64_t)len;
		s->bytes += HDR + (uint64_t)len;
		s->records++;
	}
	close(fd);
	*end = off;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int open_tail(struct spool *s, char *err, size_t errlen)
{
	char path[4200];
	struct segment *t = &s->seg[s->nseg - 1];
	seg_path(s, t->seq, path, sizeof path);
	s->tail_fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	/* drop a torn record at the end so appends follow the last good one */
	if (s->tail_fd < 0 || ftruncate(s->tail_fd, (off_t)t->end) < 0) {
		snprintf(err, errlen, "spool %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int open_head(struct spool *s)
{
	char path[4200];
	if (s->head_fd >= 0)
		close(s->head_fd);
	seg_path(s, s->seg[s->hidx].seq, path, sizeof path);
	s->head_fd = open(path, O_RDONLY | O_CLOEXEC);
	return s->head_fd < 0 ? -1 : 0;
}

int spool_open(struct spool **out, const char *dir, uint64_t max_bytes, uint64_t segment_bytes,
	       char *err, size_t errlen)
{
	struct spool *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	s->max_bytes = max_bytes;
	s->segment_bytes = segment_bytes ? segment_bytes : SPOOL_SEGMENT_BYTES;
	err[0] = 0;
	s->tail_fd = s->head_fd = -1;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "spool folder %s: %s", dir, strerror(errno));
		goto fail;
	}
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "spool folder %s: %s", dir, strerror(errno));
		goto fail;
	}
	uint64_t *seqs = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		uint64_t seq;
		char tail[8];
		if (sscanf(de->d_name, "seg-%20" SCNu64 ".%7s", &seq, tail) != 2 ||
		    strcmp(tail, "spool") != 0)
			continue;
		if (n == cap) {
			uint64_t *ns = realloc(seqs, (cap = cap ? 2 * cap : 16) * sizeof *ns);
			if (!ns) {
				free(seqs);
				closedir(d);
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			seqs = ns;
		}
		seqs[n++] = seq;
	}
	closedir(d);
	if (n)
		qsort(seqs, n, sizeof *seqs, cmp_u64);

	/* where the previous run stopped reading */
	uint64_t head_seq = 0, head_off = 0;
	char hp[4200];
	snprintf(hp, sizeof hp, "%s/head", dir);
	FILE *hf = fopen(hp, "r");
	if (hf) {
		if (fscanf(hf, "%" SCNu64 " %" SCNu64, &head_seq, &head_off) != 2)
			head_seq = head_off = 0;
		fclose(hf);
	}
	for (size_t i = 0; i < n; i++) {
		char path[4200];
		seg_path(s, seqs[i], path, sizeof path);
		if (seqs[i] < head_seq) { /* wholly taken before the restart */
			unlink(path);
			continue;
		}
		uint64_t from = seqs[i] == head_seq ? head_off : 0, end;
		if (scan(s, seqs[i], from, &end) < 0 || add_segment(s, seqs[i], end) < 0) {
			free(seqs);
			snprintf(err, errlen, "spool %s: %s", path, strerror(errno));
			goto fail;
		}
		if (seqs[i] == head_seq)
			s->head_off = head_off;
	}
	free(seqs);
	if (s->nseg == 0 && add_segment(s, head_seq + 1, 0) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (open_tail(s, err, errlen) < 0 || open_head(s) < 0) {
		if (!err[0])
			snprintf(err, errlen, "spool %s: %s", dir, strerror(errno));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	spool_close(s);
	return -1;
}

void spool_close(struct spool *s)
{
	if (!s)
		return;
	if (s->tail_fd >= 0)
		spool_sync(s);
	if (s->tail_fd >= 0)
		close(s->tail_fd);
	if (s->head_fd >= 0)
		close(s->head_fd);
	free(s->seg);
	free(s->buf);
	free(s);
}

enum spool_push_result spool_push(struct spool *s, const void *msg, size_t len)
{
	if (s->bytes + HDR + len > s->max_bytes || len > (64u << 20))
		return SPOOL_FULL;
	struct segment *t = &s->seg[s->nseg - 1];
	if (t->end >= s->segment_bytes) { /* start the next segment */
		char err[256];
		if (add_segment(s, t->seq + 1, 0) < 0)
			return SPOOL_IOERR;
		close(s->tail_fd);
		if (open_tail(s, err, sizeof err) < 0)
			return SPOOL_IOERR;
		t = &s->seg[s->nseg - 1];
	}
	uint8_t h[HDR];
	uint32_t sum = checksum(msg, len);
	for (int i = 0; i < 4; i++) {
		h[i] = (uint8_t)(len >> (24 - 8 * i));
		h[4 + i] = (uint8_t)(sum >> (24 - 8 * i));
	}
	if (pwrite(s->tail_fd, h, HDR, (off_t)t->end) != (ssize_t)HDR ||
	    (len && pwrite(s->tail_fd, msg, len, (off_t)(t->end + HDR)) != (ssize_t)len)) {
		/* leave no half record behind */
		if (ftruncate(s->tail_fd, (off_t)t->end) < 0)
			return SPOOL_IOERR;
		return SPOOL_IOERR;
	}
	t->end += HDR + len;
	s->bytes += HDR + len;
	s->records++;
	return SPOOL_OK;
}

int spool_peek(struct spool *s, const uint8_t **msg, size_t *len)
{
	for (;;) {
		if (s->head_off < s->seg[s->hidx].end) {
			long long n = read_record(s, s->head_fd, s->head_off);
			if (n < 0) { /* unreadable now: skip the rest of this segment */
				s->peeked = (size_t)(s->seg[s->hidx].end - s->head_off);
				return -1;
			}
			s->peeked = HDR + (size_t)n;
			*msg = s->buf;
			*len = (size_t)n;
			return 1;
		}
		if (s->hidx + 1 == s->nseg)
			return 0;
		/* this segment is wholly taken (deleted at the next sync): read the next */
		s->hidx++;
		s->head_off = 0;
		if (open_head(s) < 0)
			return -1;
	}
}

void spool_take(struct spool *s)
{
	if (!s->peeked)
		return;
	s->head_off += s->peeked;
	s->bytes = s->bytes >= s->peeked ? s->bytes - s->peeked : 0;
	if (s->records)
		s->records--;
	if (s->mark.set) {
		s->mark.taken_bytes += s->peeked;
		s->mark.taken_records++;
	}
	s->peeked = 0;
}

void spool_mark(struct spool *s)
{
	s->mark.set = 1;
	s->mark.hidx = s->hidx;
	s->mark.head_off = s->head_off;
	s->mark.taken_bytes = s->mark.taken_records = 0;
}

int spool_rewind(struct spool *s)
{
	if (!s->mark.set)
		return -1;
	int reopen = s->hidx != s->mark.hidx;
	s->hidx = s->mark.hidx;
	s->head_off = s->mark.head_off;
	s->bytes += s->mark.taken_bytes; /* records pushed since the mark stay counted */
	s->records += s->mark.taken_records;
	s->mark.taken_bytes = s->mark.taken_records = 0;
	s->peeked = 0;
	return reopen ? open_head(s) : 0;
}

int spool_sync(struct spool *s)
{
	char hp[4200], tmp[4300];
	/* segments wholly taken go now: a mark cannot reach back into them any more */
	if (s->hidx) {
		for (size_t i = 0; i < s->hidx; i++) {
			char path[4200];
			seg_path(s, s->seg[i].seq, path, sizeof path);
			unlink(path);
		}
		memmove(s->seg, s->seg + s->hidx, (s->nseg - s->hidx) * sizeof *s->seg);
		s->nseg -= s->hidx;
		s->hidx = 0;
	}
	s->mark.set = 0;
	snprintf(hp, sizeof hp, "%s/head", s->dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", hp);
	if (fdatasync(s->tail_fd) < 0)
		return -1;
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	int ok = fprintf(f, "%" PRIu64 " %" PRIu64 "\n", s->seg[0].seq, s->head_off) > 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, hp) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

uint64_t spool_bytes(const struct spool *s)
{
	return s->bytes;
}

uint64_t spool_records(const struct spool *s)
{
	return s->records;
}
