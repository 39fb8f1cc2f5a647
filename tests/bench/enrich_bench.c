/*
 * enrich_bench: cost of the enrichment stages per record.
 *
 * Builds a networks_file of N random prefixes (IPv4 and IPv6, with ASNs and
 * next hops, nested as real tables are), then runs records with random
 * addresses (most inside some prefix) through:
 *   - networks:   the networks stage (nfacctd_net/nfacctd_as longest): two
 *                 longest-prefix lookups and the writes;
 *   - geoip:      the geoip stage (country, postal code, coordinates of both
 *                 addresses) against a MaxMind-format database, when given;
 *   - geo-copy:   extracting src_host_country/dst_host_country from a record
 *                 the stage filled (what every output pays per record);
 *   - geo-lookup: one country lookup alone (what an extractor-side design
 *                 would pay per output and primitive).
 * No sockets, no tables.  Usage:
 *   enrich_bench [records] [prefixes] [database.mmdb]
 * Prints ns/record per case.  Wall-clock figures are noisy on a shared
 * machine: compare cases of one run, or use callgrind for instruction counts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>

#include "agg/geoip.h"
#include "agg/networks.h"
#include "agg/primitive.h"

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A random address: IPv4 in 1.0.0.0-223.255.255.255 (3 in 4) or IPv6 in 2000::/4. */
static void rand_addr(struct nt_addr *a)
{
	memset(a, 0, sizeof *a);
	if (rnd() % 4) {
		a->family = 4;
		uint32_t v = rnd() << 16 ^ rnd();
		a->a[0] = (uint8_t)(1 + v % 223);
		a->a[1] = (uint8_t)(v >> 8);
		a->a[2] = (uint8_t)(v >> 16);
		a->a[3] = (uint8_t)(v >> 24);
	} else {
		a->family = 6;
		for (unsigned i = 0; i < 16; i++)
			a->a[i] = (uint8_t)rnd();
		a->a[0] = (uint8_t)(0x20 | (a->a[0] & 0x0f));
	}
}

static char *networks_text(unsigned n, size_t *len)
{
	size_t cap = (size_t)n * 96 + 1;
	char *t = malloc(cap);
	if (!t)
		return NULL;
	*len = 0;
	for (unsigned i = 0; i < n; i++) {
		struct nt_addr a;
		char buf[64], nh[64];
		rand_addr(&a);
		/* lengths as in a routing table: mostly /16-/24 and /32-/48 */
		unsigned plen = a.family == 4 ? 16 + rnd() % 9 : 32 + rnd() % 17;
		inet_ntop(a.family == 4 ? AF_INET : AF_INET6, a.a, buf, sizeof buf);
		snprintf(nh, sizeof nh, "10.%u.%u.1", rnd() % 256, rnd() % 256);
		*len += (size_t)snprintf(t + *len, cap - *len, "%s,%u_%u,%s/%u\n", nh,
					 64512 + rnd() % 1000, 1 + rnd() % 400000, buf, plen);
	}
	return t;
}

int main(int argc, char **argv)
{
	unsigned nrec = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 2000000;
	unsigned npfx = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 100000;
	const char *mmdb = argc > 3 ? argv[3] : NULL;
	enum { NADDR = 4096 };
	static struct flow_rec recs[NADDR];
	char err[512];
	size_t len;

	char *text = networks_text(npfx, &len);
	struct networks *nets = NULL;
	if (!text || networks_parse(&nets, text, len, "bench", err, sizeof err) < 0) {
		fprintf(stderr, "enrich_bench: %s\n", text ? err : "out of memory");
		return 1;
	}
	free(text);
	for (unsigned i = 0; i < NADDR; i++) {
		struct flow_rec *r = &recs[i];
		flow_rec_clear(r);
		rand_addr(&r->src_addr);
		rand_addr(&r->dst_addr);
		if (r->dst_addr.family != r->src_addr.family)
			r->dst_addr = r->src_addr;
		r->src_mask = 16;
		r->dst_mask = 24;
		r->present = FR_BIT(FR_SRC_ADDR) | FR_BIT(FR_DST_ADDR) | FR_BIT(FR_SRC_MASK) |
			     FR_BIT(FR_DST_MASK);
	}
	printf("records=%u prefixes=%zu\n", nrec, networks_count(nets));

	struct networks_cfg nc = {.net = NET_LONGEST, .as = NET_LONGEST, .have_file = 1};
	struct stage_ctx sc = {NULL, nets};
	uint64_t sink = 0;
	double t0 = now_sec();
	for (unsigned i = 0; i < nrec; i++) {
		struct flow_rec *r = &recs[i % NADDR];
		uint64_t present = r->present;
		stage_networks.run(&nc, &sc, r);
		sink += r->src_mask + r->dst_as;
		r->present = present;
	}
	double t = now_sec() - t0;
	printf("networks   %7.1f ns/record (2 lookups, nfacctd_net/as longest)\n", t * 1e9 / nrec);

	if (mmdb) {
		struct geoip *g;
		if (geoip_open(&g, mmdb, err, sizeof err) < 0) {
			fprintf(stderr, "enrich_bench: %s\n", err);
			return 1;
		}
		struct geoip_cfg gc = {GEO_COUNTRY | GEO_POCODE | GEO_COORDS,
				       GEO_COUNTRY | GEO_POCODE | GEO_COORDS};
		sc.map = g;
		t0 = now_sec();
		for (unsigned i = 0; i < nrec; i++) {
			struct flow_rec *r = &recs[i % NADDR];
			stage_geoip.run(&gc, &sc, r);
			sink += (uint8_t)r->src_geo.country[0];
		}
		t = now_sec() - t0;
		printf("geoip      %7.1f ns/record (country, pocode, coords of both addresses)\n",
		       t * 1e9 / nrec);

		struct keyspec ks;
		if (keyspec_build(&ks, "src_host_country, dst_host_country", NULL, NULL, err,
				  sizeof err) < 0) {
			fprintf(stderr, "enrich_bench: %s\n", err);
			return 1;
		}
		uint8_t key[64];
		t0 = now_sec();
		for (unsigned i = 0; i < nrec; i++) {
			keyspec_extract(&ks, &recs[i % NADDR], key);
			sink += key[0];
		}
		t = now_sec() - t0;
		printf("geo-copy   %7.1f ns/record (extract both countries from the record)\n",
		       t * 1e9 / nrec);

		struct nt_geo geo;
		t0 = now_sec();
		for (unsigned i = 0; i < nrec; i++) {
			geoip_lookup(g, &recs[i % NADDR].src_addr, GEO_COUNTRY, &geo);
			sink += (uint8_t)geo.country[0];
		}
		t = now_sec() - t0;
		printf("geo-lookup %7.1f ns/lookup (one country lookup)\n", t * 1e9 / nrec);
		geoip_close(g);
	}
	networks_free(nets);
	fprintf(stderr, "(checksum %llu)\n", (unsigned long long)sink);
	return 0;
}
