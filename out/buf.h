/*
 * A growable byte buffer: what every encoder writes into and what files,
 * brokers and SQL sinks take their bytes from.  Failures (out of memory, or
 * the optional size limit, e.g. a broker's largest message) are returned by
 * each call and also remembered, so a caller that appends many pieces can
 * check once at the end.
 */
#ifndef NETACCT_OUT_BUF_H
#define NETACCT_OUT_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

struct obuf {
	char *data; /* NUL-terminated after every successful append */
	size_t len;
	size_t cap;
	size_t limit; /* 0 = unbounded; else len never exceeds it */
	int failed;   /* an append failed since the last reset */
};

/* An empty buffer (allocates nothing yet); limit 0 = unbounded. */
void obuf_init(struct obuf *b, size_t limit);
void obuf_free(struct obuf *b);
/* Empty the buffer (keeps the allocation) and clear the failure. */
void obuf_reset(struct obuf *b);

/*
 * Appends: 0, or -1 when the bytes do not fit (allocation failure or
 * limit).  On failure nothing is appended and b->failed is set.
 */
int obuf_append_slow(struct obuf *b, const void *p, size_t n);
/* Inline while the bytes fit: encoders append a few bytes at a time, millions of times. */
static inline int obuf_append(struct obuf *b, const void *p, size_t n)
{
	if (b->limit || n >= b->cap - b->len)
		return obuf_append_slow(b, p, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}
static inline int obuf_puts(struct obuf *b, const char *s)
{
	return obuf_append(b, s, strlen(s));
}
static inline int obuf_putc(struct obuf *b, char c)
{
	return obuf_append(b, &c, 1);
}
/* n copies of c (padding). */
int obuf_fill(struct obuf *b, char c, size_t n);
int obuf_printf(struct obuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int obuf_vprintf(struct obuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Drop the first n bytes (a sink wrote them). */
void obuf_consume(struct obuf *b, size_t n);

/* 0, or -1 if any append failed since the last reset. */
static inline int obuf_status(const struct obuf *b)
{
	return b->failed ? -1 : 0;
}

#endif
