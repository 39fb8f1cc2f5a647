/*
 * xorshift64*: a cheap pseudo-random generator for packet sampling.  Seeded
 * per worker, so a capture file samples the same way on every run.
 */
#ifndef NETACCT_REACTOR_RNG_H
#define NETACCT_REACTOR_RNG_H

#include <stdint.h>

static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#endif
