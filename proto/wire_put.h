/*
 * Big-endian stores for the encoders (NetFlow/IPFIX and sFlow export, the
 * packets filters are run on): each writes at p and returns p past it.  The
 * caller has checked the room; proto/cursor.h is the bounds-checked reader.
 */
#ifndef NETACCT_PROTO_WIRE_PUT_H
#define NETACCT_PROTO_WIRE_PUT_H

#include <stdint.h>

static inline uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static inline uint8_t *put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static inline uint8_t *put64(uint8_t *p, uint64_t v)
{
	return put32(put32(p, (uint32_t)(v >> 32)), (uint32_t)v);
}

#endif
