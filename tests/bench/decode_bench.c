/*
 * decode_bench: cost of the NetFlow decoders alone, per record.
 *
 * Builds one NetFlow v5 datagram (30 records), one v9 and one IPFIX
 * datagram whose data sets use an 18-field template shaped like a router's
 * (addresses, ports, protocol, ToS, TCP flags, interfaces, AS numbers,
 * masks, next hop, bytes, packets, first/last switched), then feeds them to
 * nf_decode() in a loop with an emit callback that only sums the counters.
 * No sockets, no aggregation: what is left is the decoder's own work.
 *
 * "vlen" is the IPFIX datagram with two variable-length fields appended to
 * each record, interfaceName (IE 82) and an enterprise field (PEN 9, IE
 * 12235), as routers send them.
 *
 * Usage: decode_bench [records-per-format] [--skip-names|--5tuple] [v5|v9|ipfix|vlen ...]
 * --skip-names decodes as nfacctd does when no output reads names or route
 * distinguishers; --5tuple as nfacctd does when the only output aggregates
 * src_host, dst_host, src_port, dst_port, proto (nf_options.skip: every
 * field the decoders can leave out but the ICMP type and code).
 * Prints ns/record and Mrecords/s per format.  Wall-clock figures are noisy
 * on a shared machine; for stable numbers run it under
 * `valgrind --tool=callgrind` with a small record count and divide the
 * inclusive instruction count of nf_decode by the records decoded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/netflow.h"
#include "proto/nf_template.h"

#define RECS_PER_DGRAM_V5 30
/* records per data datagram: what fits a 1500-byte MTU (45-byte v9, 69-byte IPFIX records) */
#define RECS_PER_DGRAM_V9    30
#define RECS_PER_DGRAM_IPFIX 20
#define RECS_PER_DGRAM_VLEN  13 /* 69 + 34 bytes */
#define TPL_ID		     256

struct wbuf {
	uint8_t b[2048];
	size_t n;
};

static void w8(struct wbuf *w, uint8_t v)
{
	w->b[w->n++] = v;
}
static void w16(struct wbuf *w, uint16_t v)
{
	w8(w, (uint8_t)(v >> 8));
	w8(w, (uint8_t)v);
}
static void w32(struct wbuf *w, uint32_t v)
{
	w16(w, (uint16_t)(v >> 16));
	w16(w, (uint16_t)v);
}
static void wn(struct wbuf *w, uint64_t v, unsigned len)
{
	for (unsigned i = len; i-- > 0;)
		w8(w, (uint8_t)(v >> (8 * i)));
}
static void put16at(struct wbuf *w, size_t off, uint16_t v)
{
	w->b[off] = (uint8_t)(v >> 8);
	w->b[off + 1] = (uint8_t)v;
}

/* The router-like template: IE, v9 length, IPFIX length (8-byte counters, epoch ms). */
static const struct {
	uint16_t type_v9, type_ipfix, len_v9, len_ipfix;
} fields[] = {
    {8, 8, 4, 4},    /* sourceIPv4Address */
    {12, 12, 4, 4},  /* destinationIPv4Address */
    {7, 7, 2, 2},    /* sourceTransportPort */
    {11, 11, 2, 2},  /* destinationTransportPort */
    {4, 4, 1, 1},    /* protocolIdentifier */
    {5, 5, 1, 1},    /* ipClassOfService */
    {6, 6, 1, 1},    /* tcpControlBits */
    {10, 10, 2, 4},  /* ingressInterface */
    {14, 14, 2, 4},  /* egressInterface */
    {16, 16, 2, 4},  /* bgpSourceAsNumber */
    {17, 17, 2, 4},  /* bgpDestinationAsNumber */
    {9, 9, 1, 1},    /* sourceIPv4PrefixLength */
    {13, 13, 1, 1},  /* destinationIPv4PrefixLength */
    {15, 15, 4, 4},  /* ipNextHopIPv4Address */
    {1, 1, 4, 8},    /* octetDeltaCount */
    {2, 2, 4, 8},    /* packetDeltaCount */
    {22, 152, 4, 8}, /* first switched / flowStartMilliseconds */
    {21, 153, 4, 8}, /* last switched / flowEndMilliseconds */
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static uint64_t field_value(unsigned f, unsigned k, int ipfix)
{
	switch (fields[f].type_v9) {
	case 8:
		return 0x0a000000u + k;
	case 12:
		return 0xc0a80000u + (k & 0xffff);
	case 7:
		return 1024 + k % 30000;
	case 11:
		return k % 2 ? 443 : 80;
	case 4:
		return 6;
	case 5:
		return 0;
	case 6:
		return 0x1b;
	case 10:
		return 1 + k % 8;
	case 14:
		return 10 + k % 8;
	case 16:
		return 64512 + k % 100;
	case 17:
		return 65000 + k % 100;
	case 9:
	case 13:
		return 24;
	case 15:
		return 0x0a0000feu;
	case 1:
		return 1500u * (1 + k % 10);
	case 2:
		return 1 + k % 10;
	case 22:
		return ipfix ? 1700000000000ull - 5000 : 95000;
	case 21:
		return ipfix ? 1700000000000ull - 1000 : 99000;
	default:
		return 0;
	}
}

static void build_v5(struct wbuf *w)
{
	w->n = 0;
	w16(w, 5);
	w16(w, RECS_PER_DGRAM_V5);
	w32(w, 100000);
	w32(w, 1700000000u);
	w32(w, 0);
	w32(w, 1);
	w8(w, 0);
	w8(w, 0);
	w16(w, 0);
	for (unsigned k = 0; k < RECS_PER_DGRAM_V5; k++) {
		w32(w, 0x0a000000u + k);
		w32(w, 0xc0a80000u + k);
		w32(w, 0x0a0000feu);
		w16(w, (uint16_t)(1 + k % 8));
		w16(w, (uint16_t)(10 + k % 8));
		w32(w, 1 + k % 10);
		w32(w, 1500u * (1 + k % 10));
		w32(w, 95000);
		w32(w, 99000);
		w16(w, (uint16_t)(1024 + k));
		w16(w, 443);
		w8(w, 0);
		w8(w, 0x1b);
		w8(w, 6);
		w8(w, 0);
		w16(w, 64512);
		w16(w, 65000);
		w8(w, 24);
		w8(w, 24);
		w16(w, 0);
	}
}

/* Header; IPFIX length is patched by finish_msg(). */
static void msg_hdr(struct wbuf *w, int ipfix)
{
	w->n = 0;
	if (ipfix) {
		w16(w, 10);
		w16(w, 0);
		w32(w, 1700000000u);
		w32(w, 0);
		w32(w, 1);
	} else {
		w16(w, 9);
		w16(w, 1);
		w32(w, 100000);
		w32(w, 1700000000u);
		w32(w, 0);
		w32(w, 1);
	}
}

static void finish_msg(struct wbuf *w, int ipfix)
{
	if (ipfix)
		put16at(w, 2, (uint16_t)w->n);
}

static void build_template(struct wbuf *w, int ipfix, int vlen)
{
	msg_hdr(w, ipfix);
	size_t set = w->n;
	w16(w, ipfix ? 2 : 0);
	w16(w, 0);
	w16(w, TPL_ID);
	w16(w, (uint16_t)(NFIELDS + (vlen ? 2 : 0)));
	for (unsigned f = 0; f < NFIELDS; f++) {
		w16(w, ipfix ? fields[f].type_ipfix : fields[f].type_v9);
		w16(w, ipfix ? fields[f].len_ipfix : fields[f].len_v9);
	}
	if (vlen) {
		w16(w, 82);
		w16(w, 0xffff);
		w16(w, 0x8000 | 12235);
		w16(w, 0xffff);
		w32(w, 9);
	}
	put16at(w, set + 2, (uint16_t)(w->n - set));
	finish_msg(w, ipfix);
}

static void build_data(struct wbuf *w, int ipfix, int vlen)
{
	msg_hdr(w, ipfix);
	size_t set = w->n;
	w16(w, TPL_ID);
	w16(w, 0);
	unsigned n = vlen ? RECS_PER_DGRAM_VLEN : ipfix ? RECS_PER_DGRAM_IPFIX : RECS_PER_DGRAM_V9;
	for (unsigned k = 0; k < n; k++) {
		for (unsigned f = 0; f < NFIELDS; f++)
			wn(w, field_value(f, k, ipfix),
			   ipfix ? fields[f].len_ipfix : fields[f].len_v9);
		if (vlen) {
			char t[32];
			snprintf(t, sizeof t, "GigabitEthernet0/0/0/%03u", k);
			w8(w, 24);
			for (unsigned i = 0; i < 24; i++)
				w8(w, (uint8_t)t[i]);
			snprintf(t, sizeof t, "app-%04u", k);
			w8(w, 8);
			for (unsigned i = 0; i < 8; i++)
				w8(w, (uint8_t)t[i]);
		}
	}
	while ((w->n - set) % 4)
		w8(w, 0);
	put16at(w, set + 2, (uint16_t)(w->n - set));
	finish_msg(w, ipfix);
}

struct sink {
	uint64_t records, bytes;
};

static void emit(void *arg, struct flow_rec *r)
{
	struct sink *s = arg;
	s->records++;
	s->bytes += r->bytes;
}

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(const char *name, int version, uint64_t records, uint64_t skip)
{
	struct nf_options opt = {.skip = skip};
	struct nf_collector c;
	struct sink s = {0, 0};
	struct wbuf tpl, data;
	struct nt_addr src = {.family = 4, .a = {192, 0, 2, 1}};
	unsigned per;

	if (nf_collector_init(&c, &opt, emit, &s) < 0)
		return -1;
	struct nf_exporter *ex = nf_exporter_get(&c, &src, 2055);
	if (!ex)
		return -1;
	if (version == 5) {
		build_v5(&data);
		per = RECS_PER_DGRAM_V5;
	} else {
		/* version 11: IPFIX with the variable-length fields */
		int ipfix = version >= 10, vlen = version == 11;
		build_template(&tpl, ipfix, vlen);
		if (nf_decode(&c, ex, tpl.b, tpl.n, 1) != NF_OK)
			return -1;
		build_data(&data, ipfix, vlen);
		per = vlen ? RECS_PER_DGRAM_VLEN : ipfix ? RECS_PER_DGRAM_IPFIX : RECS_PER_DGRAM_V9;
	}
	uint64_t dgrams = (records + per - 1) / per;
	/* sanity: one datagram must decode cleanly into `per` records */
	if (nf_decode(&c, ex, data.b, data.n, 1) != NF_OK || s.records != per) {
		fprintf(stderr, "%s: datagram did not decode (%llu records)\n", name,
			(unsigned long long)s.records);
		return -1;
	}
	s.records = 0;
	double t0 = now_sec();
	for (uint64_t i = 0; i < dgrams; i++)
		nf_decode(&c, ex, data.b, data.n, 1);
	double dt = now_sec() - t0;
	printf("%-6s %10llu records  %7.1f ns/record  %7.2f Mrecords/s  (%zu-byte datagrams)\n",
	       name, (unsigned long long)s.records, dt * 1e9 / (double)s.records,
	       (double)s.records / dt / 1e6, data.n);
	nf_collector_free(&c);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t records = 3000000;
	int want5 = 1, want9 = 1, want10 = 1, want11 = 1, argi = 1;
	uint64_t skip = 0;

	if (argc > 1 && argv[1][0] >= '0' && argv[1][0] <= '9') {
		records = strtoull(argv[1], NULL, 10);
		argi = 2;
	}
	if (argi < argc && !strcmp(argv[argi], "--skip-names")) {
		skip = NF_SKIP_NAMES;
		argi++;
	} else if (argi < argc && !strcmp(argv[argi], "--5tuple")) {
		skip = NF_SKIPPABLE & ~(1ull << FR_ICMP);
		argi++;
	}
	if (argi < argc) {
		want5 = want9 = want10 = want11 = 0;
		for (; argi < argc; argi++) {
			if (!strcmp(argv[argi], "v5"))
				want5 = 1;
			else if (!strcmp(argv[argi], "v9"))
				want9 = 1;
			else if (!strcmp(argv[argi], "ipfix"))
				want10 = 1;
			else if (!strcmp(argv[argi], "vlen"))
				want11 = 1;
			else {
				fprintf(stderr,
					"usage: %s [records] [--skip-names|--5tuple] "
					"[v5|v9|ipfix|vlen ...]\n",
					argv[0]);
				return 2;
			}
		}
	}
	if ((want5 && run("v5", 5, records, skip) < 0) ||
	    (want9 && run("v9", 9, records, skip) < 0) ||
	    (want10 && run("ipfix", 10, records, skip) < 0) ||
	    (want11 && run("vlen", 11, records, skip) < 0))
		return 1;
	return 0;
}
