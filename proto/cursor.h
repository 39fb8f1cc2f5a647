/*
 * Bounds-checked read cursor over an immutable wire buffer.
 *
 * Every decoder in proto/ reads peer bytes only through this API: a getter
 * either returns 0 and advances, or returns -1 and leaves the cursor where it
 * was.  Sub-views (cur_sub) let a TLV body be decoded without any chance of
 * reading past its declared length.  The input buffer is never modified.
 */
#ifndef NETACCT_PROTO_CURSOR_H
#define NETACCT_PROTO_CURSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cursor {
	const uint8_t *ptr;
	size_t left;
};

static inline struct cursor cur_make(const void *buf, size_t len)
{
	struct cursor c = {(const uint8_t *)buf, len};
	return c;
}

static inline size_t cur_left(const struct cursor *c)
{
	return c->left;
}
static inline const uint8_t *cur_ptr(const struct cursor *c)
{
	return c->ptr;
}

static inline int cur_skip(struct cursor *c, size_t n)
{
	if (c->left < n)
		return -1;
	c->ptr += n;
	c->left -= n;
	return 0;
}

static inline int cur_u8(struct cursor *c, uint8_t *v)
{
	if (c->left < 1)
		return -1;
	*v = c->ptr[0];
	c->ptr++;
	c->left--;
	return 0;
}

static inline int cur_u16(struct cursor *c, uint16_t *v)
{
	if (c->left < 2)
		return -1;
	*v = (uint16_t)((c->ptr[0] << 8) | c->ptr[1]);
	c->ptr += 2;
	c->left -= 2;
	return 0;
}

static inline int cur_u32(struct cursor *c, uint32_t *v)
{
	if (c->left < 4)
		return -1;
	*v = ((uint32_t)c->ptr[0] << 24) | ((uint32_t)c->ptr[1] << 16) |
	     ((uint32_t)c->ptr[2] << 8) | (uint32_t)c->ptr[3];
	c->ptr += 4;
	c->left -= 4;
	return 0;
}

static inline int cur_u64(struct cursor *c, uint64_t *v)
{
	uint32_t hi, lo;
	if (c->left < 8)
		return -1;
	cur_u32(c, &hi);
	cur_u32(c, &lo);
	*v = ((uint64_t)hi << 32) | lo;
	return 0;
}

/* Copy n raw bytes (addresses, MACs) without interpretation. */
static inline int cur_bytes(struct cursor *c, void *dst, size_t n)
{
	if (c->left < n)
		return -1;
	memcpy(dst, c->ptr, n);
	c->ptr += n;
	c->left -= n;
	return 0;
}

/*
 * Carve the next n bytes out as an independent cursor and move the parent
 * past them, so a malformed body can never desynchronise the outer loop.
 */
static inline int cur_sub(struct cursor *c, size_t n, struct cursor *sub)
{
	if (c->left < n)
		return -1;
	sub->ptr = c->ptr;
	sub->left = n;
	c->ptr += n;
	c->left -= n;
	return 0;
}

/*
 * Claim the next n bytes as one validated block and return it (NULL when
 * short).  Fixed-layout records are then read with the be*() accessors at
 * constant offsets inside the block: one bounds check per record instead of
 * one per field, which is what makes fixed-format decoding cheap.
 */
static inline const uint8_t *cur_take(struct cursor *c, size_t n)
{
	const uint8_t *p = c->ptr;
	if (c->left < n)
		return NULL;
	c->ptr += n;
	c->left -= n;
	return p;
}

/* Accessors for blocks returned by cur_take(); never use on unchecked memory. */
static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t be32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return __builtin_bswap32(v);
}

/* Big-endian unsigned integer of 1..8 bytes (NetFlow v9/IPFIX reduced-size encoding). */
static inline int cur_uint_n(struct cursor *c, size_t n, uint64_t *v)
{
	uint64_t acc = 0;
	if (n == 0 || n > 8 || c->left < n)
		return -1;
	for (size_t i = 0; i < n; i++)
		acc = (acc << 8) | c->ptr[i];
	c->ptr += n;
	c->left -= n;
	*v = acc;
	return 0;
}

#endif
