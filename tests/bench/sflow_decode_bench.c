/*
 * sflow_decode_bench: cost of the sFlow decoder alone, per flow sample.
 *
 * Builds sFlow v5 datagrams of 8 flow samples, each a 128-byte raw
 * Ethernet/IPv4/TCP header record (the shape switches export) plus an
 * extended switch record, and feeds them to sf_decode() in a loop with an emit
 * callback that only sums the counters: no sockets, no aggregation.  What is
 * left is the decoder's own work (sFlow records and the packet decoder
 * behind raw headers): the ceiling of one worker's samples per second.
 *
 * Usage: sflow_decode_bench [samples]   (default 4 000 000)
 * Wall-clock figures are noisy on a shared machine; for stable numbers run
 * it under `valgrind --tool=callgrind` with a small count.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/sflow.h"

#define SAMPLES_PER_DGRAM 8
#define DGRAMS		  64

struct wbuf {
	uint8_t b[4096];
	size_t n;
};

static void w32(struct wbuf *w, uint32_t v)
{
	w->b[w->n++] = (uint8_t)(v >> 24);
	w->b[w->n++] = (uint8_t)(v >> 16);
	w->b[w->n++] = (uint8_t)(v >> 8);
	w->b[w->n++] = (uint8_t)v;
}

static void put32at(struct wbuf *w, size_t off, uint32_t v)
{
	w->b[off] = (uint8_t)(v >> 24);
	w->b[off + 1] = (uint8_t)(v >> 16);
	w->b[off + 2] = (uint8_t)(v >> 8);
	w->b[off + 3] = (uint8_t)v;
}

/* 128 bytes: Ethernet, IPv4 (total length 1400), TCP, zero padding. */
static void header(uint8_t *h, unsigned i)
{
	static const uint8_t eth[14] = {0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
	memset(h, 0, 128);
	memcpy(h, eth, 14);
	uint8_t *ip = h + 14, *tcp = ip + 20;
	ip[0] = 0x45;
	ip[2] = 1400 >> 8;
	ip[3] = 1400 & 0xff;
	ip[8] = 64;
	ip[9] = 6;
	ip[12] = 10;
	ip[13] = (uint8_t)(i >> 8);
	ip[14] = (uint8_t)i;
	ip[15] = 1;
	ip[16] = 10;
	ip[17] = 128;
	ip[18] = (uint8_t)(i >> 4);
	ip[19] = 2;
	tcp[0] = (uint8_t)((1024 + i) >> 8);
	tcp[1] = (uint8_t)(1024 + i);
	tcp[3] = 80;
	tcp[12] = 0x50;
	tcp[13] = 0x18;
}

static size_t build(uint8_t *out, unsigned d)
{
	struct wbuf w = {.n = 0};
	w32(&w, 5);
	w32(&w, 1);
	w32(&w, 0xc0000201u);
	w32(&w, 0);
	w32(&w, d + 1);
	w32(&w, 1000);
	w32(&w, SAMPLES_PER_DGRAM);
	for (unsigned s = 0; s < SAMPLES_PER_DGRAM; s++) {
		uint8_t h[128];
		w32(&w, 1);
		size_t len_at = w.n;
		w32(&w, 0);
		w32(&w, d * SAMPLES_PER_DGRAM + s + 1);
		w32(&w, 3);
		w32(&w, 1000);
		w32(&w, 1000 * (d * SAMPLES_PER_DGRAM + s + 1));
		w32(&w, 0);
		w32(&w, 3);
		w32(&w, 7);
		w32(&w, 2);
		/* raw header record */
		w32(&w, 1);
		w32(&w, 16 + 128);
		w32(&w, 1);
		w32(&w, 1418);
		w32(&w, 4);
		w32(&w, 128);
		header(h, d * SAMPLES_PER_DGRAM + s);
		memcpy(w.b + w.n, h, 128);
		w.n += 128;
		/* extended switch */
		w32(&w, 1001);
		w32(&w, 16);
		w32(&w, 10);
		w32(&w, 0);
		w32(&w, 20);
		w32(&w, 0);
		put32at(&w, len_at, (uint32_t)(w.n - len_at - 4));
	}
	memcpy(out, w.b, w.n);
	return w.n;
}

static void sum(void *arg, struct flow_rec *r)
{
	*(uint64_t *)arg += r->bytes + r->src_port + r->vlan_in;
}

int main(int argc, char **argv)
{
	uint64_t want = argc > 1 ? strtoull(argv[1], NULL, 10) : 4000000;
	static uint8_t dg[DGRAMS][4096];
	size_t len[DGRAMS];
	uint64_t acc = 0;
	struct sf_collector c;
	for (unsigned d = 0; d < DGRAMS; d++)
		len[d] = build(dg[d], d);
	if (sf_collector_init(&c, NULL, sum, &acc, NULL, NULL) < 0)
		return 1;
	struct timespec t0, t1;
	uint64_t n = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned d = 0; n < want; d = (d + 1) % DGRAMS, n += SAMPLES_PER_DGRAM)
		if (sf_decode(&c, dg[d], len[d], 1700000000000000ull, NULL) != SF_OK) {
			fprintf(stderr, "datagram %u malformed\n", d);
			return 1;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	printf("sFlow v5, 128-byte raw headers + switch record: %llu samples, %.1f ns/sample, "
	       "%.2f Msamples/s (checksum %llu)\n",
	       (unsigned long long)n, ns / (double)n, (double)n / ns * 1e3,
	       (unsigned long long)acc);
	sf_collector_free(&c);
	return 0;
}
