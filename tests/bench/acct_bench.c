/*
 * acct_bench: cost of the accounting path alone (key extraction, hash,
 * table add) per record, and the table's memory per aggregate.
 *
 * Records cycle over K distinct 5-tuples from 64 exporters (a quarter of
 * them IPv6), accounted into one table with the worker's pipeline: key and
 * hash computed and the slot prefetched, the add ACCT_AHEAD records later.
 * A second pass only fills the records, and its time is subtracted, so
 * what is left is keyspec_extract + agg_hash + agg_table_add.  Memory is
 * the process's resident size grown while filling the table, over K.
 * Times are the thread's CPU time, so other processes on the machine cost
 * less noise than wall-clock figures (their cache pressure remains).
 *
 * IPv4 keys are kept in the spec's compact form, as the worker does
 * (keyspec_extract_compact, agg_table_add_compact); `full` as the fourth
 * argument keeps every key in the full form (keyspec_extract).  Before the
 * check the table is sealed (agg_table_drop_index: compact entries
 * expanded, as before a write), and that time is reported on its own.
 *
 * Usage: acct_bench [keys] [records] [aggregate] [compact|full]
 * (defaults: 1000000 keys, 10000000 records,
 *  "src_host,dst_host,src_port,dst_port,proto,peer_src_ip", compact).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agg/primitive.h"
#include "agg/table.h"

#define AHEAD 8

/* CPU time of this thread: on a shared machine, time waiting for a CPU is not ours */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &res) != 2)
		res = 0;
	fclose(f);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Record k of the key set: what a v5/v9 decoder would have filled. */
static void fill(struct flow_rec *r, uint64_t k)
{
	uint32_t v = (uint32_t)k;
	r->present |= (1ull << FR_SRC_ADDR) | (1ull << FR_DST_ADDR) | (1ull << FR_SRC_PORT) |
		      (1ull << FR_DST_PORT) | (1ull << FR_PROTO) | (1ull << FR_PEER_SRC_IP);
	if ((k & 3) == 3) { /* a quarter IPv6 */
		r->src_addr.family = r->dst_addr.family = 6;
		memset(r->src_addr.a, 0, 16);
		memset(r->dst_addr.a, 0, 16);
		r->src_addr.a[0] = 0x20;
		r->src_addr.a[1] = 0x01;
		memcpy(r->src_addr.a + 12, &v, 4);
		r->dst_addr.a[0] = 0x20;
		r->dst_addr.a[1] = 0x01;
		r->dst_addr.a[15] = 1;
	} else {
		r->src_addr.family = r->dst_addr.family = 4;
		memset(r->src_addr.a, 0, 16);
		memset(r->dst_addr.a, 0, 16);
		uint32_t s = 0x0a000000u + v, d = 0xc0a80001u;
		memcpy(r->src_addr.a, &s, 4);
		memcpy(r->dst_addr.a, &d, 4);
	}
	r->src_port = (uint16_t)(1024 + (k % 5000));
	r->dst_port = 443;
	r->proto = 6;
	r->peer_src_ip.family = 4;
	memset(r->peer_src_ip.a, 0, 16);
	uint32_t ex = 0x7f000001u + (uint32_t)(k % 64);
	memcpy(r->peer_src_ip.a, &ex, 4);
	r->packets = 1;
	r->bytes = 100;
}

int main(int argc, char **argv)
{
	uint64_t keys = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	uint64_t records = argc > 2 ? strtoull(argv[2], NULL, 10) : 10000000;
	const char *agg =
	    argc > 3 ? argv[3] : "src_host,dst_host,src_port,dst_port,proto,peer_src_ip";
	int compact = !(argc > 4 && strcmp(argv[4], "full") == 0);
	struct keyspec ks;
	char err[256];
	if (!keys || keyspec_build(&ks, agg, NULL, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "acct_bench: %s\n", keys ? err : "keys must be > 0");
		return 2;
	}
	struct flow_rec *r = calloc(1, sizeof *r);
	struct agg_table *t = calloc(1, sizeof *t);
	size_t stride = ks.key_len + KEYSPEC_SLACK;
	uint8_t *kbuf = calloc(AHEAD, stride);
	if (!r || !t || !kbuf || agg_table_init(t, ks.key_len, 1024) < 0 ||
	    agg_table_set_compact(t, compact ? &ks.cx : NULL) < 0) {
		fprintf(stderr, "acct_bench: out of memory\n");
		return 1;
	}
	uint64_t hash[AHEAD];
	int form[AHEAD]; /* compact key */
	struct agg_counters c[AHEAD];
	unsigned head = 0, len = 0;
	long rss0 = rss_kib();
	double t0 = now_s();
	for (uint64_t i = 0; i < records; i++) {
		fill(r, i % keys);
		if (len == AHEAD) {
			if (form[head])
				agg_table_add_compact(t, kbuf + (size_t)head * stride, hash[head],
						      &c[head]);
			else
				agg_table_add(t, kbuf + (size_t)head * stride, hash[head],
					      &c[head]);
			head = (head + 1) % AHEAD;
			len--;
		}
		unsigned s = (head + len) % AHEAD;
		uint8_t *k = kbuf + (size_t)s * stride;
		prim_counters(&c[s], r, 1700000000000000ull + i);
		uint32_t klen = ks.key_len;
		if (t->cx)
			klen = keyspec_extract_compact(&ks, r, k);
		else
			keyspec_extract(&ks, r, k);
		form[s] = klen != ks.key_len;
		hash[s] = agg_hash(k, klen);
		agg_table_prefetch(t, hash[s]);
		if (len >= AHEAD / 2) /* as the worker does: the entry, half-way */
			agg_table_prefetch_entry(t, hash[(s + AHEAD - AHEAD / 2) % AHEAD]);
		len++;
	}
	while (len) {
		if (form[head])
			agg_table_add_compact(t, kbuf + (size_t)head * stride, hash[head],
					      &c[head]);
		else
			agg_table_add(t, kbuf + (size_t)head * stride, hash[head], &c[head]);
		head = (head + 1) % AHEAD;
		len--;
	}
	double t1 = now_s();
	long rss1 = rss_kib();
	uint64_t sum = 0;
	double t2 = now_s();
	for (uint64_t i = 0; i < records; i++) {
		fill(r, i % keys);
		sum += r->src_addr.a[0];
	}
	double t3 = now_s();
	size_t bytes = agg_table_bytes(t);
	double t4 = now_s();
	if (agg_table_drop_index(t) < 0) {
		fprintf(stderr, "acct_bench: out of memory expanding the table\n");
		return 1;
	}
	double t5 = now_s();
	long rss2 = rss_kib();
	uint64_t total = 0, pos = 0;
	const struct agg_entry *e;
	while ((e = agg_table_next(t, &pos)))
		total += e->c.packets;
	if (total != records || t->count != keys) {
		fprintf(stderr, "acct_bench: %llu packets in %llu entries, expected %llu in %llu\n",
			(unsigned long long)total, (unsigned long long)t->count,
			(unsigned long long)records, (unsigned long long)keys);
		return 1;
	}
	double ns = ((t1 - t0) - (t3 - t2)) * 1e9 / (double)records;
	printf("acct_bench keys=%llu records=%llu key_len=%u compact_len=%u ns/record=%.1f "
	       "(fill %.1f) table_bytes/key=%.1f rss_bytes/key=%.1f sealed_rss_bytes/key=%.1f "
	       "seal_ns/key=%.1f%s\n",
	       (unsigned long long)keys, (unsigned long long)records, ks.key_len,
	       t->cx ? t->cx->key_len : 0, ns, (t3 - t2) * 1e9 / (double)records,
	       (double)bytes / (double)keys, (double)(rss1 - rss0) * 1024.0 / (double)keys,
	       (double)(rss2 - rss0) * 1024.0 / (double)keys, (t5 - t4) * 1e9 / (double)keys,
	       sum == 1 ? " " : "");
	agg_table_free(t);
	free(t);
	free(kbuf);
	free(r);
	return 0;
}
