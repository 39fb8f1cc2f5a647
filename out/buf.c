#include "out/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void obuf_init(struct obuf *b, size_t limit)
{
	memset(b, 0, sizeof *b);
	b->limit = limit;
}

void obuf_free(struct obuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void obuf_reset(struct obuf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Room for n more bytes plus the terminating NUL. */
static int reserve(struct obuf *b, size_t n)
{
	if (n > SIZE_MAX / 2 - b->len || (b->limit && b->len + n > b->limit)) {
		b->failed = 1;
		return -1;
	}
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p) {
		b->failed = 1;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

int obuf_append_slow(struct obuf *b, const void *p, size_t n)
{
	if (reserve(b, n) < 0)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int obuf_fill(struct obuf *b, char c, size_t n)
{
	if (reserve(b, n) < 0)
		return -1;
	memset(b->data + b->len, c, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int obuf_vprintf(struct obuf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	/* try in place first: most pieces are short and the buffer has room */
	size_t room = b->cap > b->len ? b->cap - b->len : 0;
	int n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
	if (n < 0) {
		va_end(ap2);
		b->failed = 1;
		return -1;
	}
	if ((size_t)n < room && !(b->limit && b->len + (size_t)n > b->limit)) {
		b->len += (size_t)n;
		va_end(ap2);
		return 0;
	}
	if (reserve(b, (size_t)n) < 0) {
		if (b->data)
			b->data[b->len] = '\0'; /* undo a partial in-place write */
		va_end(ap2);
		return -1;
	}
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	b->len += (size_t)n;
	return 0;
}

int obuf_printf(struct obuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = obuf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void obuf_consume(struct obuf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0; /* a failure stays reported until the next reset */
		if (b->data)
			b->data[0] = '\0';
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}
