#include "agg/filter.h"
#include "proto/wire_put.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_PCAP
#include <pcap/pcap.h>
#endif

struct nt_filter {
#ifdef HAVE_PCAP
	struct bpf_program prog;
#endif
	int vlan; /* the expression names vlan: match against the tagged packet */
};

/* Whether s holds the word `vlan` (a keyword of tcpdump's grammar). */
static int names_vlan(const char *s)
{
	for (const char *p = s; (p = strstr(p, "vlan")) != NULL; p += 4) {
		int before = p == s || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
		int after = !(isalnum((unsigned char)p[4]) || p[4] == '_');
		if (before && after)
			return 1;
	}
	return 0;
}

struct nt_filter *nt_filter_compile(const char *expr, char *err, size_t errlen)
{
#ifdef HAVE_PCAP
	struct nt_filter *f = calloc(1, sizeof *f);
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	if (!p) {
		free(f);
		snprintf(err, errlen, "libpcap: cannot create a compiler handle");
		return NULL;
	}
	if (pcap_compile(p, &f->prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "'%.200s': %s", expr, pcap_geterr(p));
		pcap_close(p);
		free(f);
		return NULL;
	}
	pcap_close(p);
	f->vlan = names_vlan(expr);
	return f;
#else
	(void)expr;
	snprintf(err, errlen, "filters need libpcap, and this build has none");
	return NULL;
#endif
}

void nt_filter_free(struct nt_filter *f)
{
	if (!f)
		return;
#ifdef HAVE_PCAP
	pcap_freecode(&f->prog);
#endif
	free(f);
}

/* The L4 header after IP; returns its length. */
static unsigned put_l4(const struct flow_rec *r, uint8_t *p)
{
	uint16_t sport = FR_HAS(r, FR_SRC_PORT) ? r->src_port : 0;
	uint16_t dport = FR_HAS(r, FR_DST_PORT) ? r->dst_port : 0;
	uint8_t proto = FR_HAS(r, FR_PROTO) ? r->proto : 0;
	switch (proto) {
	case 6: /* TCP: ports, data offset 5 words, flags */
		memset(p, 0, 20);
		put16(p, sport);
		put16(p + 2, dport);
		p[12] = 0x50;
		p[13] = FR_HAS(r, FR_TCP_FLAGS) ? r->tcp_flags : 0;
		put16(p + 14, 65535);
		return 20;
	case 17:  /* UDP */
	case 132: /* SCTP: ports in the same place */
		memset(p, 0, 8);
		put16(p, sport);
		put16(p + 2, dport);
		if (proto == 17)
			put16(p + 4, 8);
		return proto == 17 ? 8 : 12;
	case 1:
	case 58: { /* ICMP: type and code, exported alone or in the destination port */
		uint16_t tc = FR_HAS(r, FR_ICMP) ? r->icmp_type_code : dport;
		memset(p, 0, 8);
		p[0] = (uint8_t)(tc >> 8);
		p[1] = (uint8_t)tc;
		return 8;
	}
	default:
		return 0;
	}
}

unsigned filter_pkt_build(const struct flow_rec *r, int vlan, uint8_t *buf, size_t cap)
{
	uint8_t *p = buf;
	if (cap < FILTER_PKT_MAX)
		return 0;
	memset(buf, 0, FILTER_PKT_MAX);
	if (FR_HAS(r, FR_DST_MAC))
		memcpy(p, r->dst_mac, 6);
	if (FR_HAS(r, FR_SRC_MAC))
		memcpy(p + 6, r->src_mac, 6);
	p += 12;
	if (vlan && (FR_HAS(r, FR_VLAN_IN) || FR_HAS(r, FR_VLAN_OUT))) {
		uint16_t id = FR_HAS(r, FR_VLAN_IN) ? r->vlan_in : r->vlan_out;
		p = put16(p, 0x8100);
		p = put16(p, id & 0x0fff);
	}
	uint8_t fam = 0;
	if (FR_HAS(r, FR_SRC_ADDR) && r->src_addr.family)
		fam = r->src_addr.family;
	else if (FR_HAS(r, FR_DST_ADDR) && r->dst_addr.family)
		fam = r->dst_addr.family;
	static const uint8_t zero[16];
	const uint8_t *src =
	    FR_HAS(r, FR_SRC_ADDR) && r->src_addr.family == fam ? r->src_addr.a : zero;
	const uint8_t *dst =
	    FR_HAS(r, FR_DST_ADDR) && r->dst_addr.family == fam ? r->dst_addr.a : zero;
	uint8_t proto = FR_HAS(r, FR_PROTO) ? r->proto : 0;
	uint8_t tos = FR_HAS(r, FR_TOS) ? r->tos : 0;
	if (fam == 4) {
		p = put16(p, 0x0800);
		uint8_t *ip = p;
		unsigned l4 = put_l4(r, ip + 20);
		ip[0] = 0x45;
		ip[1] = tos;
		put16(ip + 2, (uint16_t)(20 + l4));
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		p = ip + 20 + l4;
	} else if (fam == 6) {
		p = put16(p, 0x86dd);
		uint8_t *ip = p;
		unsigned l4 = put_l4(r, ip + 40);
		uint32_t fl = FR_HAS(r, FR_FLOW_LABEL) ? r->flow_label & 0xfffff : 0;
		put32(ip, 6u << 28 | (uint32_t)tos << 20 | fl);
		put16(ip + 4, (uint16_t)l4);
		ip[6] = proto;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
		p = ip + 40 + l4;
	} else {
		p = put16(p, 0);
	}
	return (unsigned)(p - buf);
}

int nt_filter_match(const struct nt_filter *f, struct filter_pkt *p)
{
#ifdef HAVE_PCAP
	int v = f->vlan ? 1 : 0;
	if (!p->len[v])
		p->len[v] = filter_pkt_build(p->r, v, p->buf[v], sizeof p->buf[v]);
	return bpf_filter(f->prog.bf_insns, p->buf[v], p->len[v], p->len[v]) != 0;
#else
	(void)f;
	(void)p;
	return 0;
#endif
}

/* ---- tag and label lists ------------------------------------------------ */

static int parse_u64(const char *s, const char *end, uint64_t *out)
{
	char buf[32], *e;
	size_t n = (size_t)(end - s);
	if (n == 0 || n >= sizeof buf || !isdigit((unsigned char)s[0]))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	unsigned long long v = strtoull(buf, &e, 10);
	if (errno || *e)
		return -1;
	*out = v;
	return 0;
}

/* Trim blanks around [*s, *e). */
static void trim(const char **s, const char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

int tag_filter_parse(struct tag_filter *f, const char *s, char *why, size_t whylen)
{
	memset(f, 0, sizeof *f);
	const char *p = s;
	for (;;) {
		const char *comma = strchr(p, ',');
		const char *b = p, *e = comma ? comma : p + strlen(p);
		trim(&b, &e);
		int neg = b < e && *b == '-';
		if (neg)
			b++;
		const char *dash = memchr(b, '-', (size_t)(e - b));
		uint64_t lo, hi;
		if (parse_u64(b, dash ? dash : e, &lo) < 0 ||
		    (dash ? parse_u64(dash + 1, e, &hi) : (hi = lo, 0)) < 0 || hi < lo) {
			snprintf(why, whylen,
				 "'%.*s' is not a tag, a range lo-hi or either negated with '-'",
				 (int)(e - p), p);
			return -1;
		}
		if (f->n == TAG_FILTER_MAX) {
			snprintf(why, whylen, "more than %d tags", TAG_FILTER_MAX);
			return -1;
		}
		f->e[f->n].lo = lo;
		f->e[f->n].hi = hi;
		f->e[f->n].neg = (uint8_t)neg;
		f->n++;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

int tag_filter_match(const struct tag_filter *f, uint64_t tag)
{
	for (unsigned i = 0; i < f->n; i++) {
		int in = tag >= f->e[i].lo && tag <= f->e[i].hi;
		if (in)
			return !f->e[i].neg;
		if (f->e[i].neg)
			return 1;
	}
	return 0;
}

int label_filter_parse(struct label_filter *f, const char *s, char *why, size_t whylen)
{
	memset(f, 0, sizeof *f);
	const char *p = s;
	for (;;) {
		const char *comma = strchr(p, ',');
		const char *b = p, *e = comma ? comma : p + strlen(p);
		trim(&b, &e);
		int neg = b < e && *b == '-';
		if (neg)
			b++;
		size_t n = (size_t)(e - b);
		if (n == 0 || n >= LABEL_FILTER_LEN) {
			snprintf(why, whylen, "'%.*s' is not a label (1 to %d characters)",
				 (int)(e - p), p, LABEL_FILTER_LEN - 1);
			return -1;
		}
		if (f->n == LABEL_FILTER_MAX) {
			snprintf(why, whylen, "more than %d labels", LABEL_FILTER_MAX);
			return -1;
		}
		memcpy(f->e[f->n].s, b, n);
		f->e[f->n].s[n] = '\0';
		f->e[f->n].neg = (uint8_t)neg;
		f->e[f->n].null = strcmp(f->e[f->n].s, "null") == 0;
		f->n++;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

/* Whether label (non-empty) is want or has want as one of its comma separated parts. */
static int label_has(const char *label, const char *want)
{
	size_t wl = strlen(want);
	for (const char *p = label;;) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (n == wl && memcmp(p, want, wl) == 0)
			return 1;
		if (!c)
			return 0;
		p = c + 1;
	}
}

int label_filter_match(const struct label_filter *f, const char *label)
{
	int none = !label || !*label;
	for (unsigned i = 0; i < f->n; i++) {
		int in = f->e[i].null ? none
				      : !none && (strcmp(label, f->e[i].s) == 0 ||
						  label_has(label, f->e[i].s));
		if (in)
			return !f->e[i].neg;
		if (f->e[i].neg)
			return 1;
	}
	return 0;
}
