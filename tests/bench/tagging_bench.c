/*
 * Tagging micro-benchmark: ns per record for pre_tag_map evaluation (a
 * 100k-rule map with maps_index, the same map scanned over its first 1000
 * rules, a 10-rule map with a jeq chain), a tcpdump filter on a record and an
 * output's selection.  Built by `make` as tests/bench/tagging_bench; run it
 * from a release (non-sanitizer) build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg/pretag.h"
#include "agg/tagging.h"

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static struct pretag_map *build(int n, int index)
{
	char *text = malloc((size_t)n * 48 + 1);
	char err[256];
	size_t o = 0;
	for (int i = 0; i < n; i++)
		o += (size_t)sprintf(text + o, "set_tag=%d ip=10.%d.%d.%d in=%d\n", i + 1,
				     (i >> 16) & 255, (i >> 8) & 255, i & 255, i % 7);
	struct pretag_opts opts = {.index = index};
	struct pretag_map *m = NULL;
	if (pretag_map_parse(&m, text, o, "bench", &opts, NULL, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	free(text);
	return m;
}

static void rec_for(struct flow_rec *r, int i)
{
	memset(r, 0, sizeof *r);
	r->peer_src_ip.family = 4;
	r->peer_src_ip.a[0] = 10;
	r->peer_src_ip.a[1] = (uint8_t)(i >> 16);
	r->peer_src_ip.a[2] = (uint8_t)(i >> 8);
	r->peer_src_ip.a[3] = (uint8_t)i;
	r->in_iface = (uint32_t)(i % 7);
	r->src_addr.family = r->dst_addr.family = 4;
	r->src_addr.a[0] = 10;
	r->dst_addr.a[0] = 192;
	r->proto = 6;
	r->dst_port = 80;
	r->present = 1ull << FR_PEER_SRC_IP | 1ull << FR_IN_IFACE | 1ull << FR_SRC_ADDR |
		     1ull << FR_DST_ADDR | 1ull << FR_PROTO | 1ull << FR_DST_PORT;
	r->export_version = 9;
}

static void run_map(const char *what, const struct pretag_map *m, int span, int iters)
{
	struct flow_rec r;
	struct filter_pkt pkt;
	struct pretag_result res;
	uint64_t sum = 0;
	double t0 = now_ns();
	for (int i = 0; i < iters; i++) {
		rec_for(&r, (int)(((unsigned)i * 7919u) % (unsigned)span));
		filter_pkt_reset(&pkt, &r);
		pretag_eval(m, &r, &pkt, &res);
		sum += res.tag;
	}
	double dt = now_ns() - t0;
	printf("%-46s %8.1f ns/record (checksum %llu)\n", what, dt / iters,
	       (unsigned long long)sum);
}

int main(void)
{
	struct pretag_map *big = build(100000, 1), *scan = build(1000, 0);
	run_map("pre_tag_map 100k rules, maps_index", big, 100000, 2000000);
	pretag_map_free(big);
	big = build(100000, 0);
	run_map("pre_tag_map 100k rules, scanned (no index)", big, 100000, 2000);
	pretag_map_free(big);
	run_map("pre_tag_map 1k rules, scanned (no index)", scan, 1000, 200000);
	pretag_map_free(scan);

	char err[256];
	const char *chain = "set_tag=1 in=1 jeq=o\nset_tag=2 in=2 jeq=o\nset_tag=3 in=3 jeq=o\n"
			    "set_tag=4 in=4 jeq=o\nset_tag=5 in=5 jeq=o\n"
			    "set_tag2=1 out=1 label=o\nset_tag2=2 out=2\nset_tag2=3 out=0\n"
			    "set_label=x filter='tcp and dst port 80'\nset_label=y\n";
	struct pretag_map *small = NULL;
	if (pretag_map_parse(&small, chain, strlen(chain), "b", NULL, NULL, NULL, err, sizeof err) <
	    0)
		return 1;
	run_map("pre_tag_map 10 rules, jeq chain", small, 6, 5000000);
	pretag_map_free(small);

	struct nt_filter *f =
	    nt_filter_compile("tcp and dst port 80 and src net 10.0.0.0/8", err, sizeof err);
	if (!f) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct flow_rec r;
	struct filter_pkt pkt;
	int iters = 5000000, hits = 0;
	double t0 = now_ns();
	for (int i = 0; i < iters; i++) {
		rec_for(&r, i);
		r.dst_port = (uint16_t)(80 + (i & 1));
		filter_pkt_reset(&pkt, &r);
		hits += nt_filter_match(f, &pkt);
	}
	printf("%-46s %8.1f ns/record (%d hits)\n", "aggregate_filter (packet built + BPF)",
	       (now_ns() - t0) / iters, hits);
	nt_filter_free(f);

	/* the record building above, alone: to subtract */
	t0 = now_ns();
	for (int i = 0; i < iters; i++) {
		rec_for(&r, i);
		hits += r.in_iface == 3;
	}
	printf("%-46s %8.1f ns/record (%d)\n", "(baseline: filling the record)",
	       (now_ns() - t0) / iters, hits);
	return 0;
}
