/*
 * Unit tests for reactor/capture.c: the shared fixtures' captures read
 * through libpcap + proto/decap, filters, errors, rewind, a stop requested by
 * the callback, crafted savefiles (fragments, link types) and a live capture
 * on the loopback interface.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/netflow.h"
#include "reactor/capture.h"

#ifndef FIXTURES_DIR
#define FIXTURES_DIR "tests/fixtures/pmacct"
#endif

#ifdef HAVE_PCAP

struct got {
	unsigned n;
	uint64_t bytes;
	nt_usec first, last;
	struct nt_addr src;
	uint16_t sport;
	int stop_at; /* ask capture_read to stop after this many (0: never) */
	/* every datagram through the NetFlow decoders, keyed like the daemon */
	struct nf_collector *nf;
	unsigned malformed, no_template;
};

static int on_dgram(void *arg, const struct nt_dgram *d)
{
	struct got *g = arg;
	if (!g->n)
		g->first = d->arrival;
	g->last = d->arrival;
	g->n++;
	g->bytes += d->len;
	g->src = d->src;
	g->sport = d->src_port;
	if (g->nf) {
		struct nf_exporter *ex = nf_exporter_get(g->nf, &d->src, 0);
		assert_non_null(ex);
		enum nf_err e = nf_decode(g->nf, ex, d->buf, d->len, d->arrival);
		g->malformed += nf_err_malformed(e);
		g->no_template += e == NF_ERR_NO_TEMPLATE;
	}
	return g->stop_at && g->n == (unsigned)g->stop_at;
}

static void no_emit(void *arg, struct flow_rec *r)
{
	(void)arg;
	(void)r;
}

/* Read to the end in batches of `batch`; returns the frames read. */
static unsigned drain(struct capture *c, int batch, struct got *g)
{
	char err[256];
	unsigned frames = 0;
	int n;
	while ((n = capture_read(c, batch, on_dgram, g, err, sizeof err)) > 0) {
		assert_true(n <= batch);
		frames += (unsigned)n;
	}
	assert_int_equal(n, 0);
	return frames;
}

/*
 * Expected UDP datagrams and payload bytes of each fixture, verified with
 *   /usr/bin/python3 -c 'import sys; from scapy.all import rdpcap, UDP;
 *     p = [x for x in rdpcap(sys.argv[1]) if UDP in x];
 *     print(len(p), sum(len(bytes(x[UDP].payload)) for x in p))' FILE
 * (every frame of these captures is an Ethernet/IP/UDP datagram), and the
 * first packet's timestamp (scapy: float(p[0].time)).
 */
static const struct {
	const char *dir;
	unsigned datagrams;
	uint64_t bytes;
	nt_usec first;
	int family;
} FIX[] = {
    {"100-IPFIXv10-CISCO", 6, 1832, 1672534805000000u, 4},
    {"101-NFv9-CISCO-cust_primitives", 40, 7780, 1672534805000000u, 4},
    {"102-NFv9-CISCO-f2rd-pretag-sampling-reload", 25, 3716, 1672534805000000u, 4},
    {"103-IPFIXv10-CISCO-pretag-JSON_encoding", 6, 1832, 1672534805000000u, 4},
    {"104-IPFIXv10-IPv6-CISCO-sampling_option", 5, 1228, 1672534805000000u, 6},
    {"106-IPFIXv10-HUAWEI-vrf_name", 6, 1188, 946734488562554u, 6},
};

static void fixture_path(char *buf, size_t len, size_t i)
{
	snprintf(buf, len, "%s/%s/traffic-00.pcap", FIXTURES_DIR, FIX[i].dir);
}

static void test_fixtures_every_datagram(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof FIX / sizeof FIX[0]; i++) {
		char path[512], err[256];
		struct capture *c = NULL;
		struct nf_collector nf;
		struct got g = {.nf = &nf};
		fixture_path(path, sizeof path, i);
		assert_int_equal(nf_collector_init(&nf, NULL, no_emit, NULL), 0);
		assert_int_equal(capture_open_savefile(&c, path, NULL, err, sizeof err), 0);
		assert_int_equal(capture_fd(c), -1);
		assert_int_equal(drain(c, 4, &g), FIX[i].datagrams);
		assert_int_equal(g.n, FIX[i].datagrams);
		assert_int_equal(g.bytes, FIX[i].bytes);
		assert_int_equal(g.first, FIX[i].first);
		assert_true(g.last >= g.first);
		assert_int_equal(g.src.family, FIX[i].family);
		/* the decoders take every datagram: none malformed */
		assert_int_equal(g.malformed, 0);
		/* end of file stays the end */
		assert_int_equal(capture_read(c, 4, on_dgram, &g, err, sizeof err), 0);
		struct capture_stats st;
		capture_get_stats(c, &st);
		assert_int_equal(st.packets, FIX[i].datagrams);
		assert_int_equal(st.datagrams, FIX[i].datagrams);
		assert_int_equal(st.bytes, FIX[i].bytes);
		assert_int_equal(st.decap.frames, FIX[i].datagrams);
		assert_int_equal(st.decap.n[DECAP_DATAGRAM], FIX[i].datagrams);
		assert_string_equal(capture_name(c), path);
		capture_close(c);
		nf_collector_free(&nf);
	}
}

static void test_rewind_replays_the_same(void **state)
{
	(void)state;
	char path[512], err[256];
	struct capture *c = NULL;
	struct got g = {0};
	fixture_path(path, sizeof path, 1);
	assert_int_equal(capture_open_savefile(&c, path, "", err, sizeof err), 0);
	for (int pass = 1; pass <= 3; pass++) {
		if (pass > 1)
			assert_int_equal(capture_rewind(c, err, sizeof err), 0);
		drain(c, 7, &g);
		assert_int_equal(g.n, 40u * (unsigned)pass);
		assert_int_equal(g.bytes, 7780u * (uint64_t)pass);
	}
	struct capture_stats st;
	capture_get_stats(c, &st);
	assert_int_equal(st.rewinds, 2);
	assert_int_equal(st.datagrams, 120);
	capture_close(c);
}

static void test_filter(void **state)
{
	(void)state;
	char path[512], err[256];
	struct capture *c = NULL;
	struct got g = {0};
	/* 104 exports to port 9992, the others to 9991 */
	fixture_path(path, sizeof path, 4);
	assert_int_equal(capture_open_savefile(&c, path, "udp dst port 9992", err, sizeof err), 0);
	assert_int_equal(drain(c, 100, &g), 5);
	capture_close(c);
	fixture_path(path, sizeof path, 0);
	assert_int_equal(capture_open_savefile(&c, path, "udp dst port 9992", err, sizeof err), 0);
	g.n = 0;
	assert_int_equal(drain(c, 100, &g), 0);
	assert_int_equal(g.n, 0);
	/* the filter survives a rewind */
	assert_int_equal(capture_rewind(c, err, sizeof err), 0);
	assert_int_equal(drain(c, 100, &g), 0);
	capture_close(c);

	c = NULL;
	assert_int_equal(capture_open_savefile(&c, path, "udp dst prot 9991", err, sizeof err), -1);
	assert_null(c);
	assert_non_null(strstr(err, "pcap_filter"));
	assert_non_null(strstr(err, "udp dst prot 9991"));
	/* followed by pcap's own message */
	assert_true(strlen(err) > strlen("pcap_filter 'udp dst prot 9991': "));
}

/* The callback asks to stop: the read ends there, and the next one goes on. */
static void test_stop_from_callback(void **state)
{
	(void)state;
	char path[512], err[256];
	struct capture *c = NULL;
	struct got g = {.stop_at = 3};
	fixture_path(path, sizeof path, 1);
	assert_int_equal(capture_open_savefile(&c, path, NULL, err, sizeof err), 0);
	assert_int_equal(capture_read(c, 10, on_dgram, &g, err, sizeof err), 3);
	assert_int_equal(g.n, 3);
	g.stop_at = 0;
	assert_int_equal(capture_read(c, 10, on_dgram, &g, err, sizeof err), 10);
	assert_int_equal(g.n, 13);
	assert_int_equal(drain(c, 10, &g), 27);
	assert_int_equal(g.n, 40);
	capture_close(c);
}

/* ---- crafted savefiles ---------------------------------------------------- */

static void wr32(FILE *fp, uint32_t v)
{
	fwrite(&v, 4, 1, fp); /* host order: pcap readers detect it by the magic */
}
static void wr16(FILE *fp, uint16_t v)
{
	fwrite(&v, 2, 1, fp);
}

static FILE *pcap_new(char *path, size_t len, uint32_t linktype)
{
	snprintf(path, len, "/tmp/netacct-capture-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *fp = fdopen(fd, "wb");
	assert_non_null(fp);
	wr32(fp, 0xa1b2c3d4);
	wr16(fp, 2);
	wr16(fp, 4);
	wr32(fp, 0);
	wr32(fp, 0);
	wr32(fp, 65535);
	wr32(fp, linktype);
	return fp;
}

static void pcap_rec(FILE *fp, uint32_t sec, uint32_t usec, const uint8_t *p, size_t n)
{
	wr32(fp, sec);
	wr32(fp, usec);
	wr32(fp, (uint32_t)n);
	wr32(fp, (uint32_t)n);
	fwrite(p, 1, n, fp);
}

/* Raw IPv4 fragment of a UDP datagram (ip payload bytes [off, off+n)). */
static size_t raw_frag(uint8_t *out, const uint8_t *ippl, size_t off, size_t n, int more)
{
	uint8_t h[20] = {0x45, 0, 0, 0, 0x12, 0x34, 0, 0, 64, 17, 0, 0, 10, 1, 2, 3, 10, 9, 9, 9};
	size_t tot = 20 + n;
	h[2] = (uint8_t)(tot >> 8);
	h[3] = (uint8_t)tot;
	uint16_t of = (uint16_t)((more ? 0x2000 : 0) | off / 8);
	h[6] = (uint8_t)(of >> 8);
	h[7] = (uint8_t)of;
	memcpy(out, h, 20);
	memcpy(out + 20, ippl + off, n);
	return tot;
}

static void test_savefile_fragments_raw(void **state)
{
	(void)state;
	char path[64], err[256];
	static uint8_t ippl[3000], frame[2000];
	size_t dlen = sizeof ippl;
	ippl[0] = 0x0b; /* 3000 */
	ippl[1] = 0xb8;
	ippl[2] = 0x27; /* 9991 */
	ippl[3] = 0x07;
	ippl[4] = (uint8_t)(dlen >> 8);
	ippl[5] = (uint8_t)dlen;
	for (size_t i = 8; i < dlen; i++)
		ippl[i] = (uint8_t)i;
	FILE *fp = pcap_new(path, sizeof path, 101); /* LINKTYPE_RAW */
	/* second half first, one second apart */
	size_t n = raw_frag(frame, ippl, 1480, dlen - 1480, 0);
	pcap_rec(fp, 1700000000, 5, frame, n);
	n = raw_frag(frame, ippl, 0, 1480, 1);
	pcap_rec(fp, 1700000001, 7, frame, n);
	fclose(fp);

	struct capture *c = NULL;
	struct got g = {0};
	assert_int_equal(capture_open_savefile(&c, path, "udp", err, sizeof err), 0);
	assert_int_equal(drain(c, 10, &g), 2);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.bytes, dlen - 8);
	assert_int_equal(g.first, 1700000001000007u); /* the completing fragment's time */
	assert_int_equal(g.sport, 3000);
	static const uint8_t src[4] = {10, 1, 2, 3};
	assert_memory_equal(g.src.a, src, 4);
	struct capture_stats st;
	capture_get_stats(c, &st);
	assert_int_equal(st.decap.n[DECAP_FRAGMENT], 1);
	assert_int_equal(st.decap.n[DECAP_DATAGRAM], 1);
	capture_close(c);
	unlink(path);
}

/* Frames mode (pmacctd): every frame as captured, link type, lengths and time. */
struct frames_got {
	unsigned n;
	size_t caplen[4], wirelen[4];
	nt_usec ts[4];
	enum decap_link link;
};

static int on_frame(void *arg, const struct capture_frame *f)
{
	struct frames_got *g = arg;
	if (g->n < 4) {
		g->caplen[g->n] = f->caplen;
		g->wirelen[g->n] = f->wirelen;
		g->ts[g->n] = f->ts;
	}
	g->link = f->link;
	g->n++;
	return 0;
}

static void test_savefile_frames(void **state)
{
	(void)state;
	char path[64], err[256];
	static uint8_t ippl[3000], frame[2000];
	FILE *fp = pcap_new(path, sizeof path, 101);
	size_t n = raw_frag(frame, ippl, 0, 1480, 1);
	pcap_rec(fp, 1700000000, 5, frame, n);
	n = raw_frag(frame, ippl, 1480, 100, 0);
	pcap_rec(fp, 1700000001, 7, frame, n);
	fclose(fp);
	struct capture *c = NULL;
	struct frames_got g = {0};
	assert_int_equal(capture_open_savefile(&c, path, NULL, err, sizeof err), 0);
	assert_int_equal(capture_read_frames(c, 10, on_frame, &g, err, sizeof err), 2);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.link, DECAP_LINK_RAW);
	assert_int_equal(g.caplen[0], 1500);
	assert_int_equal(g.wirelen[1], 120);
	assert_int_equal(g.ts[1], 1700000001000007u);
	/* the frames are not decapsulated: no datagram, no fragment held */
	struct capture_stats st;
	capture_get_stats(c, &st);
	assert_int_equal(st.packets, 2);
	assert_int_equal(st.datagrams, 0);
	assert_int_equal(st.bytes, 1620);
	assert_int_equal(capture_read_frames(c, 10, on_frame, &g, err, sizeof err), 0);
	assert_int_equal(capture_rewind(c, err, sizeof err), 0);
	assert_int_equal(capture_read_frames(c, 1, on_frame, &g, err, sizeof err), 1);
	assert_int_equal(g.n, 3);
	capture_close(c);
	unlink(path);
}

static void test_open_errors(void **state)
{
	(void)state;
	char path[64], err[256];
	struct capture *c = NULL;
	assert_int_equal(
	    capture_open_savefile(&c, "/nonexistent/dir/x.pcap", NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "/nonexistent/dir/x.pcap"));
	assert_null(c);

	/* not a capture */
	snprintf(path, sizeof path, "/tmp/netacct-capture-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello, this is not a pcap file\n", 31), 31);
	close(fd);
	assert_int_equal(capture_open_savefile(&c, path, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, path));
	unlink(path);

	/* a link type decap does not know (LINKTYPE_USER0) */
	FILE *fp = pcap_new(path, sizeof path, 147);
	fclose(fp);
	assert_int_equal(capture_open_savefile(&c, path, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "not supported"));
	unlink(path);

	/* a file removed before a rewind */
	fp = pcap_new(path, sizeof path, 1);
	fclose(fp);
	assert_int_equal(capture_open_savefile(&c, path, NULL, err, sizeof err), 0);
	unlink(path);
	assert_int_equal(capture_rewind(c, err, sizeof err), -1);
	assert_non_null(strstr(err, path));
	assert_int_equal(capture_read(c, 1, on_dgram, NULL, err, sizeof err), -1);
	capture_close(c);
	assert_int_equal(capture_supported(), 1);
}

/* A live capture on lo; skipped without the privilege to capture. */
static void test_live_loopback(void **state)
{
	(void)state;
	char err[256];
	struct capture *c = NULL;
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s >= 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sin;
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
	char filter[64];
	snprintf(filter, sizeof filter, "udp dst port %u", ntohs(sin.sin_port));
	if (capture_open_live(&c, "lo", filter, NULL, err, sizeof err) < 0) {
		close(s);
		print_message("live capture skipped: %s\n", err);
		skip();
	}
	assert_true(capture_fd(c) >= 0);
	struct got g = {0};
	/* nothing yet: a non-blocking read returns 0 */
	assert_int_equal(capture_read(c, 8, on_dgram, &g, err, sizeof err), 0);
	assert_int_equal(sendto(s, "live!", 5, 0, (struct sockaddr *)&sin, sizeof sin), 5);
	while (g.n == 0) {
		struct pollfd pfd = {.fd = capture_fd(c), .events = POLLIN};
		assert_int_equal(poll(&pfd, 1, 10000), 1);
		assert_true(capture_read(c, 8, on_dgram, &g, err, sizeof err) >= 0);
	}
	assert_int_equal(g.n, 1);
	assert_int_equal(g.bytes, 5);
	assert_int_equal(g.sport, ntohs(sin.sin_port));
	assert_int_equal(capture_rewind(c, err, sizeof err), -1);
	capture_close(c);
	close(s);
}

#else /* !HAVE_PCAP */

static void test_without_pcap(void **state)
{
	(void)state;
	char err[256];
	struct capture *c = NULL;
	assert_int_equal(capture_supported(), 0);
	assert_int_equal(capture_open_savefile(&c, "x.pcap", NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "built without libpcap"));
	assert_int_equal(capture_open_live(&c, "lo", NULL, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "built without libpcap"));
	assert_null(c);
}

#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
#ifndef HAVE_PCAP
	    cmocka_unit_test(test_without_pcap),
#else
	    cmocka_unit_test(test_fixtures_every_datagram),
	    cmocka_unit_test(test_rewind_replays_the_same),
	    cmocka_unit_test(test_filter),
	    cmocka_unit_test(test_stop_from_callback),
	    cmocka_unit_test(test_savefile_fragments_raw),
	    cmocka_unit_test(test_savefile_frames),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test(test_live_loopback),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
