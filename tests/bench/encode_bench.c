/*
 * encode_bench: cost of encoding one aggregated row (JSON, CSV, formatted;
 * Avro binary and Avro JSON when built with libavro) into a buffer, as the
 * print output does at each flush (the broker outputs: a message per row).
 *
 * Builds a table of N entries (5-tuple + exporter, a quarter IPv6), then
 * renders every entry with enc_row() into a buffer emptied every 64 KiB
 * (what a file write would take), and prints ns per row and bytes per row
 * for each format.  Times are the thread's CPU time.
 *
 * Usage: encode_bench [entries] [aggregate]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg/primitive.h"
#include "agg/table.h"
#include "out/avro.h"
#include "out/buf.h"
#include "out/encode.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(struct flow_rec *r, uint64_t k)
{
	uint32_t v = (uint32_t)k;
	memset(r, 0, sizeof *r);
	r->present = (1ull << FR_SRC_ADDR) | (1ull << FR_DST_ADDR) | (1ull << FR_SRC_PORT) |
		     (1ull << FR_DST_PORT) | (1ull << FR_PROTO) | (1ull << FR_PEER_SRC_IP);
	if ((k & 3) == 3) {
		r->src_addr.family = r->dst_addr.family = 6;
		r->src_addr.a[0] = 0x20, r->src_addr.a[1] = 0x01;
		memcpy(r->src_addr.a + 12, &v, 4);
		r->dst_addr.a[0] = 0x20, r->dst_addr.a[1] = 0x01, r->dst_addr.a[15] = 1;
	} else {
		uint32_t s = 0x0a000000u + v, d = 0xc0a80001u;
		r->src_addr.family = r->dst_addr.family = 4;
		memcpy(r->src_addr.a, &s, 4);
		memcpy(r->dst_addr.a, &d, 4);
	}
	r->src_port = (uint16_t)(1024 + k % 5000);
	r->dst_port = 443;
	r->proto = 6;
	r->peer_src_ip.family = 4;
	uint32_t ex = 0x7f000001u + (uint32_t)(k % 64);
	memcpy(r->peer_src_ip.a, &ex, 4);
	r->packets = 1 + k % 1000;
	r->bytes = 1500 * r->packets;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	const char *agg =
	    argc > 2 ? argv[2] : "src_host,dst_host,src_port,dst_port,proto,peer_src_ip";
	static const char *const formats[] = {"json", "csv", "formatted", "avro", "avro_json"};
	struct keyspec ks;
	struct flow_rec *r = malloc(sizeof *r);
	struct agg_table t;
	char err[256];
	if (!r || keyspec_build(&ks, agg, NULL, NULL, err, sizeof err) < 0 ||
	    agg_table_init(&t, ks.key_len, n) < 0) {
		fprintf(stderr, "encode_bench: %s\n", r ? err : "out of memory");
		return 1;
	}
	uint8_t key[KEYSPEC_MAX * 24];
	for (uint64_t i = 0; i < n; i++) {
		struct agg_counters c;
		fill(r, i);
		prim_counters(&c, r, 1700000000000000ull);
		keyspec_extract(&ks, r, key);
		agg_table_add(&t, key, agg_hash(key, ks.key_len), &c);
	}
	struct enc_schema s;
	enc_schema_init(&s, &ks);
	for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
		struct encoder e;
		struct obuf b;
		uint64_t bytes = 0, pos = 0;
		const struct agg_entry *ent;
		if (strncmp(formats[f], "avro", 4) == 0) {
			if (!avro_available())
				continue;
			if (avro_enc_init(&e, &s, formats[f][4] != '\0', err, sizeof err) < 0) {
				fprintf(stderr, "encode_bench: %s\n", err);
				return 1;
			}
		} else {
			enc_init(&e, formats[f], NULL);
		}
		e.newline = 1;
		obuf_init(&b, 0);
		double t0 = now_s();
		while ((ent = agg_table_next(&t, &pos))) {
			if (enc_row(&e, &b, &s, ent, "purge") < 0)
				return 1;
			if (b.len >= 65536) {
				bytes += b.len;
				obuf_reset(&b);
			}
		}
		bytes += b.len;
		double t1 = now_s();
		printf("encode_bench format=%s rows=%llu ns/row=%.0f bytes/row=%.0f\n", formats[f],
		       (unsigned long long)t.count, (t1 - t0) * 1e9 / (double)t.count,
		       (double)bytes / (double)t.count);
		obuf_free(&b);
		avro_enc_free(&e);
	}
	agg_table_free(&t);
	free(r);
	return 0;
}
