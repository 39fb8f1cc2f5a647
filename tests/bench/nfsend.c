/*
 * nfsend: a loopback-only NetFlow v5 / v9 / IPFIX load generator for the
 * benchmark in tests/bench/run.sh.
 *
 * Every datagram is built once, before the clock starts; the send loop only
 * copies a pre-built datagram into a batch slot, patches the header fields
 * that must move (sequence number, uptime, export time) and hands the batch
 * to sendmmsg().  Each record carries packets = 1, so the sum of `packets`
 * a collector reports is the number of records it accounted.
 *
 * Records cycle over --keys distinct (src_host, dst_host, src_port,
 * dst_port, proto) tuples.  Key k has src address 10.k (k < 2^24), so keys
 * are distinct by construction; the other fields are cheap functions of k.
 *
 * --sources N sends from N sockets bound to 127.0.0.1 .. 127.0.0.N (or to
 * distinct ports of ::1), i.e. N exporters: a SO_REUSEPORT collector spreads
 * them across its sockets, and v9/IPFIX templates are sent on each.
 *
 * The destination must be in 127.0.0.0/8 or be ::1: this tool floods, and it
 * refuses to flood anything but the local host.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sendmmsg() */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_DGRAM   1472 /* 1500-byte MTU minus IPv4 and UDP headers */
#define MAX_BATCH   1024
#define MAX_SOURCES 64
#define MAX_KEYS    (1u << 24)
#define MAX_POOL    16384 /* pre-built datagrams, about 24 MB */
#define TEMPLATE_ID 256
#define TEMPLATE_V6 257 /* --v6: the same fields with IPv6 addresses (IEs 27, 28) */

/*
 * --vlen (IPFIX): two variable-length fields after the fixed ones, as Cisco
 * IOS XR and Huawei send them: interfaceName (IE 82) and an enterprise
 * field (Cisco's PEN 9, IE 12235, a text value).  Each value has a fixed
 * size here, so the records per datagram stay constant.
 */
#define VL_IFNAME_LEN 24
#define VL_ENT_PEN    9u
#define VL_ENT_IE     12235u
#define VL_ENT_LEN    8
#define VL_EXTRA      (1 + VL_IFNAME_LEN + 1 + VL_ENT_LEN) /* one length byte each */

/* Field list shared by v9 and IPFIX; lengths differ where the two usually do. */
struct field {
	uint16_t type;
	uint16_t len_v9;
	uint16_t len_ipfix;
};

enum {
	F_SRC_ADDR,
	F_DST_ADDR,
	F_SRC_PORT,
	F_DST_PORT,
	F_PROTO,
	F_TOS,
	F_TCP_FLAGS,
	F_BYTES,
	F_PKTS,
	F_IN_IF,
	F_OUT_IF,
	F_SRC_AS,
	F_DST_AS,
	F_SRC_MASK,
	F_DST_MASK,
	F_FIRST,
	F_LAST,
	F_COUNT
};

/*
 * v9 element ids (RFC 3954 §8) and IPFIX IEs (IANA) coincide for these,
 * except flow times: v9 sends FIRST/LAST_SWITCHED (22/21, sysUptime ms);
 * IPFIX sends flowStart/EndMilliseconds (152/153, epoch ms).
 */
static const struct field fields[F_COUNT] = {
    [F_SRC_ADDR] = {8, 4, 4},  [F_DST_ADDR] = {12, 4, 4}, [F_SRC_PORT] = {7, 2, 2},
    [F_DST_PORT] = {11, 2, 2}, [F_PROTO] = {4, 1, 1},	  [F_TOS] = {5, 1, 1},
    [F_TCP_FLAGS] = {6, 1, 1}, [F_BYTES] = {1, 4, 8},	  [F_PKTS] = {2, 4, 8},
    [F_IN_IF] = {10, 2, 4},    [F_OUT_IF] = {14, 2, 4},	  [F_SRC_AS] = {16, 4, 4},
    [F_DST_AS] = {17, 4, 4},   [F_SRC_MASK] = {9, 1, 1},  [F_DST_MASK] = {13, 1, 1},
    [F_FIRST] = {22, 4, 8},    [F_LAST] = {21, 4, 8},
};

struct opts {
	int version;
	uint32_t keys;
	const char *dst;
	uint16_t port;
	double rate;	  /* records/s; 0 = full speed */
	double duration;  /* seconds; 0 = no limit (needs --records) */
	uint64_t records; /* stop after this many records; 0 = no limit */
	int batch;	  /* datagrams per sendmmsg() */
	int sources;
	int template_every; /* data datagrams per source between templates */
	bool vlen;	    /* IPFIX with two variable-length fields */
	uint32_t v6_every;  /* v9/IPFIX: every Nth key has IPv6 addresses; 0 = none */
	bool quiet;
};

/* The values carried by one flow record, derived from its key index. */
struct rec {
	bool v6;
	uint32_t src, dst; /* v6: the low 32 bits of 2001:db8::/32 and 2001:db8:ffff::/48 */
	uint16_t sport, dport;
	uint8_t proto, tos, flags, smask, dmask;
	uint32_t bytes, in_if, out_if, src_as, dst_as;
};

struct dgram {
	uint8_t buf[MAX_DGRAM];
	uint16_t len;
	uint16_t nrec; /* data records (0 for a template datagram) */
};

struct source {
	int fd;
	uint32_t seq;	    /* v5: flows; v9: datagrams; IPFIX: data records */
	uint64_t since_tpl; /* data datagrams since the last template */
	bool tpl_sent;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void key_record(uint32_t k, uint32_t v6_every, struct rec *r)
{
	r->v6 = v6_every && k % v6_every == 0;
	static const uint16_t dports[8] = {80, 443, 53, 22, 25, 123, 8080, 3306};
	uint32_t h = k * 2654435761u; /* Knuth's multiplicative hash: spreads dst */

	r->src = 0x0a000000u | k;	  /* 10.0.0.0/8 + k */
	r->dst = 0xc0a80000u | (h >> 16); /* 192.168.0.0/16 */
	r->sport = (uint16_t)(1024 + k % 60000);
	r->dport = dports[k % 8];
	r->proto = (k / 8) % 2 ? 17 : 6;
	r->tos = (uint8_t)((k % 4) << 2);
	r->flags = r->proto == 6 ? 0x1b : 0;
	r->smask = 24;
	r->dmask = 16;
	r->bytes = 64 + k % 1024;
	r->in_if = 1 + k % 4;
	r->out_if = 10 + k % 3;
	r->src_as = 64512 + k % 100;
	r->dst_as = 65000 + k % 200;
}

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static uint8_t *put8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p = put16(p, (uint16_t)(v >> 16));
	return put16(p, (uint16_t)v);
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
	p = put32(p, (uint32_t)(v >> 32));
	return put32(p, (uint32_t)v);
}

static uint8_t *putn(uint8_t *p, uint64_t v, uint16_t len)
{
	switch (len) {
	case 1:
		return put8(p, (uint8_t)v);
	case 2:
		return put16(p, (uint16_t)v);
	case 4:
		return put32(p, (uint32_t)v);
	default:
		return put64(p, v);
	}
}

/* Times are fixed at build time; flow times are not part of the aggregate. */
static uint32_t uptime_ms(void)
{
	return 3600000u;
}

static uint64_t now_epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * NetFlow v5: 24-byte header, 48-byte records, at most 30 per datagram.
 * Header fields patched per send: sysUptime (4), unix_secs (8), flow_sequence (16).
 */
static void build_v5(struct dgram *d, uint32_t first_key, uint16_t n, uint32_t keys)
{
	uint8_t *p = d->buf;
	uint32_t up = uptime_ms();

	p = put16(p, 5);
	p = put16(p, n);
	p = put32(p, up);
	p = put32(p, 0);
	p = put32(p, 0);
	p = put32(p, 0);
	p = put8(p, 0);	 /* engine_type */
	p = put8(p, 0);	 /* engine_id */
	p = put16(p, 0); /* sampling */
	for (uint16_t i = 0; i < n; i++) {
		struct rec r;

		key_record((first_key + i) % keys, 0, &r);
		p = put32(p, r.src);
		p = put32(p, r.dst);
		p = put32(p, 0); /* nexthop */
		p = put16(p, (uint16_t)r.in_if);
		p = put16(p, (uint16_t)r.out_if);
		p = put32(p, 1); /* dPkts */
		p = put32(p, r.bytes);
		p = put32(p, up - 2000);
		p = put32(p, up - 1000);
		p = put16(p, r.sport);
		p = put16(p, r.dport);
		p = put8(p, 0);
		p = put8(p, r.flags);
		p = put8(p, r.proto);
		p = put8(p, r.tos);
		p = put16(p, (uint16_t)r.src_as);
		p = put16(p, (uint16_t)r.dst_as);
		p = put8(p, r.smask);
		p = put8(p, r.dmask);
		p = put16(p, 0);
	}
	d->len = (uint16_t)(p - d->buf);
	d->nrec = n;
}

static size_t record_len(int version, bool vlen)
{
	size_t len = vlen ? VL_EXTRA : 0;

	for (int i = 0; i < F_COUNT; i++)
		len += version == 9 ? fields[i].len_v9 : fields[i].len_ipfix;
	return len;
}

/* v9 header: 20 bytes; IPFIX header: 16 bytes. */
static size_t header_len(int version)
{
	return version == 9 ? 20 : 16;
}

static uint8_t *put_header(uint8_t *p, int version, uint16_t count)
{
	p = put16(p, (uint16_t)version);
	p = put16(p, count); /* v9: records incl. templates; IPFIX: length, patched later */
	if (version == 9)
		p = put32(p, uptime_ms());
	p = put32(p, 0);    /* unix_secs / export time: patched per send */
	p = put32(p, 0);    /* sequence: patched per send */
	return put32(p, 1); /* source_id / observation domain */
}

static uint8_t *put_template(uint8_t *p, int version, bool vlen, uint16_t id, bool v6)
{
	p = put16(p, id);
	p = put16(p, (uint16_t)(F_COUNT + (vlen ? 2 : 0)));
	for (int i = 0; i < F_COUNT; i++) {
		uint16_t type = fields[i].type,
			 len = version == 9 ? fields[i].len_v9 : fields[i].len_ipfix;
		if (v6 && (i == F_SRC_ADDR || i == F_DST_ADDR)) {
			type = i == F_SRC_ADDR ? 27 : 28;
			len = 16;
		}
		p = put16(p, type);
		p = put16(p, len);
	}
	if (vlen) {
		p = put16(p, 82);
		p = put16(p, 0xffff);
		p = put16(p, (uint16_t)(0x8000 | VL_ENT_IE));
		p = put16(p, 0xffff);
		p = put32(p, VL_ENT_PEN);
	}
	return p;
}

static void build_template(struct dgram *d, int version, bool vlen, bool v6)
{
	uint8_t *p = put_header(d->buf, version, v6 ? 2 : 1);
	uint8_t *set = p;

	p = put16(p, version == 9 ? 0 : 2);
	p = put16(p, 0); /* set length, below */
	p = put_template(p, version, vlen, TEMPLATE_ID, false);
	if (v6)
		p = put_template(p, version, vlen, TEMPLATE_V6, true);
	put16(set + 2, (uint16_t)(p - set));
	d->len = (uint16_t)(p - d->buf);
	if (version == 10)
		put16(d->buf + 2, d->len);
	d->nrec = 0;
}

static void build_data(struct dgram *d, const struct opts *o, uint32_t first_key, uint16_t n,
		       uint32_t keys)
{
	int version = o->version;
	bool vlen = o->vlen;
	uint8_t *p = put_header(d->buf, version, n);
	uint64_t now = now_epoch_ms();
	uint32_t up = uptime_ms();
	bool v9 = version == 9;

	/* one set per address family: IPv4 records first, then IPv6 ones */
	for (int fam6 = 0; fam6 < 2; fam6++) {
		uint8_t *set = p;
		uint16_t in_set = 0;

		p = put16(p, fam6 ? TEMPLATE_V6 : TEMPLATE_ID);
		p = put16(p, 0);
		for (uint16_t i = 0; i < n; i++) {
			struct rec r;

			key_record((first_key + i) % keys, o->v6_every, &r);
			if (r.v6 != (fam6 == 1))
				continue;
			in_set++;
			for (int f = 0; f < F_COUNT; f++) {
				uint16_t len = v9 ? fields[f].len_v9 : fields[f].len_ipfix;
				uint64_t v = 0;

				switch (f) {
				case F_SRC_ADDR:
				case F_DST_ADDR:
					v = f == F_SRC_ADDR ? r.src : r.dst;
					if (r.v6) { /* 2001:db8::/32 (src), 2001:db8:ffff::/48 (dst)
						       + v */
						memset(p, 0, 16);
						put32(p, 0x20010db8u);
						if (f == F_DST_ADDR)
							put16(p + 4, 0xffff);
						put32(p + 12, (uint32_t)v);
						p += 16;
						continue;
					}
					break;
				case F_SRC_PORT:
					v = r.sport;
					break;
				case F_DST_PORT:
					v = r.dport;
					break;
				case F_PROTO:
					v = r.proto;
					break;
				case F_TOS:
					v = r.tos;
					break;
				case F_TCP_FLAGS:
					v = r.flags;
					break;
				case F_BYTES:
					v = r.bytes;
					break;
				case F_PKTS:
					v = 1;
					break;
				case F_IN_IF:
					v = r.in_if;
					break;
				case F_OUT_IF:
					v = r.out_if;
					break;
				case F_SRC_AS:
					v = r.src_as;
					break;
				case F_DST_AS:
					v = r.dst_as;
					break;
				case F_SRC_MASK:
					v = r.smask;
					break;
				case F_DST_MASK:
					v = r.dmask;
					break;
				case F_FIRST:
					v = v9 ? up - 2000 : now - 2000;
					break;
				case F_LAST:
					v = v9 ? up - 1000 : now - 1000;
					break;
				}
				p = putn(p, v, len);
			}
			if (vlen) {
				char t[VL_IFNAME_LEN + VL_ENT_LEN + 2];

				snprintf(t, sizeof t, "GigabitEthernet0/0/0/%03u", r.in_if % 1000);
				p = put8(p, VL_IFNAME_LEN);
				memcpy(p, t, VL_IFNAME_LEN);
				p += VL_IFNAME_LEN;
				snprintf(t, sizeof t, "app-%04u", (unsigned)(r.dport % 10000));
				p = put8(p, VL_ENT_LEN);
				memcpy(p, t, VL_ENT_LEN);
				p += VL_ENT_LEN;
			}
		}
		if (!in_set) {
			p = set; /* no record of this family: no set */
			continue;
		}
		while ((p - set) % 4) /* pad the set to a 4-byte boundary */
			*p++ = 0;
		put16(set + 2, (uint16_t)(p - set));
	}
	d->len = (uint16_t)(p - d->buf);
	if (!v9)
		put16(d->buf + 2, d->len);
	d->nrec = n;
}

static uint16_t records_per_dgram(int version, bool vlen, bool v6)
{
	if (version == 5)
		return 30;
	if (v6) /* any mix fits: two set headers and paddings, every record as long as an IPv6 one
		 */
		return (uint16_t)((MAX_DGRAM - header_len(version) - 2 * (4 + 3)) /
				  (record_len(version, vlen) + 24));
	return (uint16_t)((MAX_DGRAM - header_len(version) - 4) / record_len(version, vlen));
}

/* Patch the per-send header fields of a copy about to go out on source s. */
static void stamp(uint8_t *buf, int version, struct source *s, uint16_t nrec, uint32_t secs)
{
	switch (version) {
	case 5:
		put32(buf + 8, secs);
		put32(buf + 16, s->seq);
		s->seq += nrec;
		break;
	case 9:
		put32(buf + 8, secs);
		put32(buf + 12, s->seq);
		s->seq++;
		break;
	default:
		put32(buf + 4, secs);
		put32(buf + 8, s->seq);
		s->seq += nrec;
		break;
	}
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop)
		;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: nfsend --port P [--dst 127.0.0.1|::1] [--version 5|9|10] [--keys K]\n"
		"              [--rate RECORDS_PER_S] [--duration S] [--records N]\n"
		"              [--batch B] [--sources N] [--template-every D] [--vlen] [--v6 N]\n"
		"              [--quiet]\n"
		"--vlen (IPFIX): add interfaceName and an enterprise field, both variable-length.\n"
		"--v6 N (v9, IPFIX): every Nth key has IPv6 addresses (a second template).\n"
		"Sends pre-built NetFlow datagrams over loopback UDP; rate 0 = full speed.\n"
		"Prints: sent records=... datagrams=... templates=... bytes=... seconds=... "
		"rate=...\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"version", required_argument, NULL, 'v'},
	    {"keys", required_argument, NULL, 'k'},
	    {"dst", required_argument, NULL, 'd'},
	    {"port", required_argument, NULL, 'p'},
	    {"rate", required_argument, NULL, 'r'},
	    {"duration", required_argument, NULL, 't'},
	    {"records", required_argument, NULL, 'n'},
	    {"batch", required_argument, NULL, 'b'},
	    {"sources", required_argument, NULL, 's'},
	    {"template-every", required_argument, NULL, 'T'},
	    {"vlen", no_argument, NULL, 'V'},
	    {"v6", required_argument, NULL, '6'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	long port = 0;

	*o = (struct opts){.version = 5,
			   .keys = 64,
			   .dst = "127.0.0.1",
			   .duration = 10,
			   .batch = 32,
			   .sources = 1,
			   .template_every = 1000};
	while ((c = getopt_long(argc, argv, "v:k:d:p:r:t:n:b:s:T:V6:qh", lo, NULL)) != -1) {
		switch (c) {
		case 'v':
			o->version = atoi(optarg);
			break;
		case 'k':
			o->keys = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'd':
			o->dst = optarg;
			break;
		case 'p':
			port = strtol(optarg, NULL, 10);
			break;
		case 'r':
			o->rate = strtod(optarg, NULL);
			break;
		case 't':
			o->duration = strtod(optarg, NULL);
			break;
		case 'n':
			o->records = strtoull(optarg, NULL, 10);
			break;
		case 'b':
			o->batch = atoi(optarg);
			break;
		case 's':
			o->sources = atoi(optarg);
			break;
		case 'T':
			o->template_every = atoi(optarg);
			break;
		case 'V':
			o->vlen = true;
			break;
		case '6':
			o->v6_every = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc || port < 1 || port > 65535) {
		fprintf(stderr, "nfsend: --port 1..65535 is required\n");
		return -1;
	}
	o->port = (uint16_t)port;
	if (o->version != 5 && o->version != 9 && o->version != 10) {
		fprintf(stderr, "nfsend: --version must be 5, 9 or 10\n");
		return -1;
	}
	if (o->v6_every && (o->version == 5 || o->v6_every < 1)) {
		fprintf(stderr, "nfsend: --v6 N (every Nth key IPv6) needs --version 9 or 10\n");
		return -1;
	}
	if (o->vlen && o->version != 10) {
		fprintf(stderr, "nfsend: --vlen needs --version 10 (IPFIX)\n");
		return -1;
	}
	if (o->keys < 1 || o->keys > MAX_KEYS || o->batch < 1 || o->batch > MAX_BATCH ||
	    o->sources < 1 || o->sources > MAX_SOURCES || o->template_every < 1 || o->rate < 0 ||
	    o->duration < 0 || (o->duration == 0 && o->records == 0)) {
		fprintf(stderr,
			"nfsend: bad option value (keys 1..%u, batch 1..%d, sources 1..%d, "
			"and --duration or --records)\n",
			MAX_KEYS, MAX_BATCH, MAX_SOURCES);
		return -1;
	}
	return 0;
}

/* Resolve --dst, refusing anything that is not the local host. */
static int parse_dst(const struct opts *o, struct sockaddr_storage *ss, socklen_t *sl)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, o->dst, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
			fprintf(stderr, "nfsend: refusing %s: only 127.0.0.0/8 or ::1\n", o->dst);
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons(o->port);
		*sl = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, o->dst, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
			fprintf(stderr, "nfsend: refusing %s: only 127.0.0.0/8 or ::1\n", o->dst);
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(o->port);
		*sl = sizeof(*sin6);
		return 0;
	}
	fprintf(stderr, "nfsend: --dst %s is not a numeric address\n", o->dst);
	return -1;
}

/* Source i is bound to 127.0.0.(i+1) (IPv4) or an ephemeral port of ::1. */
static int open_source(int i, const struct sockaddr_storage *dst, socklen_t dl)
{
	struct sockaddr_storage src;
	socklen_t sl;
	int fd, sz = 8 << 20;

	memset(&src, 0, sizeof(src));
	if (dst->ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&src;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)i);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&src;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sl = sizeof(*sin6);
	}
	fd = socket(dst->ss_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		fprintf(stderr, "nfsend: socket: %s\n", strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&src, sl) < 0 ||
	    connect(fd, (const struct sockaddr *)dst, dl) < 0) {
		fprintf(stderr, "nfsend: bind/connect source %d: %s\n", i, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* sendmmsg() the whole batch; a connected UDP socket may report a refused
 * earlier datagram (ICMP port unreachable) as ECONNREFUSED: that is loss at
 * the receiver, not ours, so retry. */
static int send_all(int fd, struct mmsghdr *m, int n)
{
	int done = 0;

	while (done < n) {
		int r = sendmmsg(fd, m + done, (unsigned)(n - done), 0);

		if (r < 0) {
			if (errno == EINTR || errno == ECONNREFUSED || errno == ENOBUFS ||
			    errno == EAGAIN)
				continue;
			fprintf(stderr, "nfsend: sendmmsg: %s\n", strerror(errno));
			return -1;
		}
		done += r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct sockaddr_storage dst;
	socklen_t dl;
	struct source src[MAX_SOURCES];
	struct dgram tpl, *pool, *slot;
	struct mmsghdr *mm;
	struct iovec *iov;
	uint16_t per;
	uint32_t npool, next = 0;
	bool wrap;
	uint64_t sent_rec = 0, sent_dg = 0, sent_tpl = 0, sent_bytes = 0;
	double t0, elapsed;
	int cur = 0;

	if (parse_opts(argc, argv, &o) < 0 || parse_dst(&o, &dst, &dl) < 0)
		return 2;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (int i = 0; i < o.sources; i++) {
		src[i] = (struct source){.fd = open_source(i, &dst, dl)};
		if (src[i].fd < 0)
			return 1;
	}

	/*
	 * Pre-build the cycle.  Records run through keys 0..K-1 continuously
	 * across datagrams, so every datagram is full; that takes K/gcd(K,per)
	 * datagrams.  When that is too many, datagram j carries keys
	 * [j*per, min((j+1)*per, K)) instead and the last one may be short.
	 */
	per = records_per_dgram(o.version, o.vlen, o.v6_every > 0);
	npool = o.keys / gcd(o.keys, per);
	wrap = npool <= MAX_POOL;
	if (!wrap)
		npool = (o.keys + per - 1) / per;
	pool = calloc(npool, sizeof(*pool));
	slot = calloc((size_t)o.batch, sizeof(*slot));
	mm = calloc((size_t)o.batch, sizeof(*mm));
	iov = calloc((size_t)o.batch, sizeof(*iov));
	if (!pool || !slot || !mm || !iov) {
		fprintf(stderr, "nfsend: out of memory\n");
		return 1;
	}
	for (uint32_t j = 0; j < npool; j++) {
		uint32_t first = (uint32_t)(((uint64_t)j * per) % o.keys);
		uint16_t n = per;

		if (!wrap && o.keys - first < per)
			n = (uint16_t)(o.keys - first);
		if (o.version == 5)
			build_v5(&pool[j], first, n, o.keys);
		else
			build_data(&pool[j], &o, first, n, o.keys);
	}
	if (o.version != 5)
		build_template(&tpl, o.version, o.vlen, o.v6_every > 0);
	for (int i = 0; i < o.batch; i++) {
		iov[i].iov_base = slot[i].buf;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}

	t0 = mono_now();
	for (;;) {
		struct source *s = &src[cur];
		uint32_t secs = (uint32_t)time(NULL);
		int n = 0;

		elapsed = mono_now() - t0;
		if (stop || (o.duration > 0 && elapsed >= o.duration) ||
		    (o.records > 0 && sent_rec >= o.records))
			break;
		if (o.rate > 0) {
			double due =
			    (double)sent_rec / o.rate; /* when we may send the next batch */

			if (due > elapsed) {
				sleep_until(t0 + due);
				continue;
			}
		}
		/* One batch, all from source `cur`, then move to the next source. */
		while (n < o.batch) {
			const struct dgram *d;

			if (o.version != 5 &&
			    (!s->tpl_sent || s->since_tpl >= (uint64_t)o.template_every)) {
				d = &tpl;
				s->tpl_sent = true;
				s->since_tpl = 0;
				sent_tpl++;
			} else {
				d = &pool[next];
				next = next + 1 == npool ? 0 : next + 1;
				s->since_tpl += o.version != 5;
			}
			memcpy(slot[n].buf, d->buf, d->len);
			stamp(slot[n].buf, o.version, s, d->nrec, secs);
			iov[n].iov_len = d->len;
			sent_rec += d->nrec;
			sent_dg += d->nrec > 0;
			sent_bytes += d->len;
			n++;
			if (o.records > 0 && sent_rec >= o.records)
				break;
		}
		if (send_all(s->fd, mm, n) < 0)
			return 1;
		cur = cur + 1 == o.sources ? 0 : cur + 1;
	}
	elapsed = mono_now() - t0;

	printf("sent records=%" PRIu64 " datagrams=%" PRIu64 " templates=%" PRIu64 " bytes=%" PRIu64
	       " seconds=%.3f rate=%.0f\n",
	       sent_rec, sent_dg, sent_tpl, sent_bytes, elapsed,
	       elapsed > 0 ? (double)sent_rec / elapsed : 0.0);
	if (!o.quiet)
		fprintf(stderr,
			"nfsend: v%d, %u keys, %u pre-built datagrams of <= %u records, "
			"%d source(s) -> %s port %u\n",
			o.version, o.keys, npool, per, o.sources, o.dst, o.port);
	for (int i = 0; i < o.sources; i++)
		close(src[i].fd);
	free(pool);
	free(slot);
	free(mm);
	free(iov);
	return 0;
}
