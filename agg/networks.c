#include "agg/networks.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/lookup.h"
#include "agg/lpm.h"

/*
 * Entries are parsed into an array first and indexed once the file is
 * complete, so the trie's values point into an array that no longer moves.
 */
struct networks {
	struct net_entry *e;
	size_t n, cap;
	struct lpm *lpm;
};

void networks_free(struct networks *n)
{
	if (!n)
		return;
	lpm_free(n->lpm, NULL);
	free(n->e);
	free(n);
}

size_t networks_count(const struct networks *n)
{
	return n ? lpm_count(n->lpm) : 0;
}

const struct net_entry *networks_lookup(const struct networks *n, const struct nt_addr *a)
{
	return lpm_lookup(n->lpm, a, NULL);
}

/* "65500" or "64512_65500" (peer_origin). */
static int parse_asn(const char *s, uint32_t *out)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_asns(char *s, struct net_entry *e)
{
	char *us = strchr(s, '_');
	if (us) {
		*us = '\0';
		if (parse_asn(s, &e->peer_as) < 0)
			return -1;
		e->has_peer_as = 1;
		s = us + 1;
	}
	if (parse_asn(s, &e->as) < 0)
		return -1;
	e->has_as = 1;
	return 0;
}

static int parse_addr(const char *s, struct nt_addr *a)
{
	uint8_t plen;
	if (strchr(s, '/') || lpm_prefix_parse(s, a, &plen) < 0)
		return -1;
	return 0;
}

static int on_line(void *arg, char *v, char *why, size_t whylen)
{
	struct networks *n = arg;
	struct net_entry e;
	char *f[4];
	unsigned nf = 0;

	memset(&e, 0, sizeof e);
	for (char *p = v;; p++) {
		if (nf == 4) {
			snprintf(why, whylen, "too many fields (at most next hop, ASNs, prefix)");
			return -1;
		}
		f[nf++] = p;
		p = strchr(p, ',');
		if (!p)
			break;
		*p = '\0';
	}
	if (nf == 4) {
		snprintf(why, whylen, "too many fields (at most next hop, ASNs, prefix)");
		return -1;
	}
	for (unsigned i = 0; i < nf; i++) {
		/* blanks around the commas are tolerated */
		while (isspace((unsigned char)*f[i]))
			f[i]++;
		size_t l = strlen(f[i]);
		while (l && isspace((unsigned char)f[i][l - 1]))
			f[i][--l] = '\0';
		if (!l) {
			snprintf(why, whylen, "empty field %u", i + 1);
			return -1;
		}
	}
	const char *prefix = f[nf - 1];
	if (lpm_prefix_parse(prefix, &e.net, &e.plen) < 0) {
		snprintf(why, whylen, "bad prefix '%.64s' (address/length)", prefix);
		return -1;
	}
	if (nf == 3) {
		if (parse_addr(f[0], &e.nexthop) < 0) {
			snprintf(why, whylen, "bad next hop '%.64s' (an address)", f[0]);
			return -1;
		}
		char asn[64];
		snprintf(asn, sizeof asn, "%s", f[1]);
		if (parse_asns(f[1], &e) < 0) {
			snprintf(why, whylen, "bad ASN '%.64s' (<origin> or <peer>_<origin>)", asn);
			return -1;
		}
	} else if (nf == 2) {
		char asn[64];
		snprintf(asn, sizeof asn, "%s", f[0]);
		if (parse_addr(f[0], &e.nexthop) < 0 && parse_asns(f[0], &e) < 0) {
			snprintf(why, whylen,
				 "bad first field '%.64s' (a next hop address, or <origin> or "
				 "<peer>_<origin> ASN)",
				 asn);
			return -1;
		}
	}
	/* the stored prefix carries no host bits: it is printed as src_net/dst_net */
	unsigned max = e.net.family == 4 ? 32 : 128;
	for (unsigned b = e.plen; b < max; b++)
		e.net.a[b >> 3] &= (uint8_t) ~(0x80u >> (b & 7));
	if (n->n == n->cap) {
		size_t ncap = n->cap ? n->cap * 2 : 64;
		struct net_entry *ne = realloc(n->e, ncap * sizeof *ne);
		if (!ne) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		n->e = ne;
		n->cap = ncap;
	}
	n->e[n->n++] = e;
	return 0;
}

static int index_entries(struct networks *n, const char *name, char *err, size_t errlen)
{
	if (!(n->lpm = lpm_new())) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	for (size_t i = 0; i < n->n; i++)
		/* a prefix listed twice: the later line replaces the earlier one */
		if (lpm_insert(n->lpm, &n->e[i].net, n->e[i].plen, &n->e[i], NULL) < 0) {
			snprintf(err, errlen, "%s: out of memory", name);
			return -1;
		}
	/* records look prefixes up from now on: the compiled form, a few nodes per lookup */
	if (lpm_compile(n->lpm) < 0) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	return 0;
}

int networks_parse(struct networks **out, const char *text, size_t len, const char *name, char *err,
		   size_t errlen)
{
	struct networks *n = calloc(1, sizeof *n);
	if (!n) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	if (listfile_parse(text, len, name, on_line, n, err, errlen) < 0 ||
	    index_entries(n, name, err, errlen) < 0) {
		networks_free(n);
		return -1;
	}
	*out = n;
	return 0;
}

int networks_load(struct networks **out, const char *path, char *err, size_t errlen)
{
	struct networks *n = calloc(1, sizeof *n);
	if (!n) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (listfile_parse_file(path, on_line, n, err, errlen) < 0 ||
	    index_entries(n, path, err, errlen) < 0) {
		networks_free(n);
		return -1;
	}
	*out = n;
	return 0;
}

static int reg_parse(const char *path, void **out, char *err, size_t errlen)
{
	struct networks *n;
	if (networks_load(&n, path, err, errlen) < 0)
		return -1;
	*out = n;
	return 0;
}

static void reg_free(void *m)
{
	networks_free(m);
}

static size_t reg_count(const void *m)
{
	return networks_count(m);
}

const struct map_type networks_map_type = {
    .parse = reg_parse, .free = reg_free, .count = reg_count};

int net_method_parse(const char *v, int as_key, enum net_method *m, char *why, size_t whylen)
{
	static const struct {
		const char *name;
		enum net_method m;
	} names[] = {{"netflow", NET_NETFLOW}, {"sflow", NET_NETFLOW},
		     {"file", NET_FILE},       {"mask", NET_MASK},
		     {"longest", NET_LONGEST}, {"fallback", NET_FALLBACK}};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(v, names[i].name) == 0) {
			if (as_key && names[i].m == NET_MASK)
				break;
			*m = names[i].m;
			return 0;
		}
	if (strcmp(v, "bgp") == 0 || strcmp(v, "bmp") == 0 || (!as_key && strcmp(v, "igp") == 0)) {
		snprintf(why, whylen,
			 "'%s' is not available yet (no %s daemon in netacct); use netflow, file, "
			 "longest or fallback",
			 v, strcmp(v, "igp") == 0 ? "IS-IS" : "BGP/BMP");
		return -1;
	}
	snprintf(why, whylen, "expects one of netflow, sflow, file, %slongest, fallback, got '%s'",
		 as_key ? "" : "mask, ", v);
	return -1;
}

/* ---- the stage ------------------------------------------------------------ */

static void mask_into(struct nt_addr *dst, const struct nt_addr *a, unsigned bits)
{
	unsigned max = a->family == 4 ? 32 : 128;
	*dst = *a;
	if (bits > max)
		bits = max;
	for (unsigned i = bits >> 3; i < 16; i++)
		dst->a[i] = (i == bits >> 3 && (bits & 7))
				? (uint8_t)(a->a[i] & (0xff << (8 - (bits & 7))))
				: 0;
}

/* Resolve one side (dst 0: source, 1: destination) of r. */
static void resolve(const struct networks_cfg *c, const struct networks *nets, struct flow_rec *r,
		    int dst)
{
	const unsigned fa = dst ? FR_DST_ADDR : FR_SRC_ADDR;
	const unsigned fm = dst ? FR_DST_MASK : FR_SRC_MASK;
	const unsigned fn = dst ? FR_DST_NET : FR_SRC_NET;
	const unsigned fas = dst ? FR_DST_AS : FR_SRC_AS;
	if (!FR_HAS(r, fa))
		return;
	const struct nt_addr *a = dst ? &r->dst_addr : &r->src_addr;
	const struct net_entry *m = nets ? networks_lookup(nets, a) : NULL;
	if (c->filter && nets && !m) {
		/* outside every listed network: host and network are zero (pmacct prints 0.0.0.0)
		 */
		struct nt_addr *w = dst ? &r->dst_addr : &r->src_addr;
		memset(w->a, 0, sizeof w->a);
		struct nt_addr *net = dst ? &r->dst_net : &r->src_net;
		*net = *w;
		*(dst ? &r->dst_mask : &r->src_mask) = 0;
		r->present |= FR_BIT(fn) | FR_BIT(fm);
		return;
	}
	uint8_t *mask = dst ? &r->dst_mask : &r->src_mask;
	uint8_t nf_mask = FR_HAS(r, fm) ? *mask : 0;
	/* whether networks_file beats the export protocol for this side */
	int file_net = 0;
	uint8_t bits = nf_mask;
	switch (c->net) {
	case NET_NETFLOW:
		break;
	case NET_FILE:
		file_net = 1;
		bits = m ? m->plen : 0;
		break;
	case NET_MASK:
		bits = c->mask;
		if (a->family == 4 && bits > 32)
			bits = 32;
		break;
	case NET_LONGEST:
	case NET_FALLBACK: /* BGP first, then as longest: without BGP, longest (pmacct 1.7.7) */
		file_net = m && (c->no_lpm || m->plen > nf_mask);
		break;
	}
	if (file_net && m)
		bits = m->plen;
	*mask = bits;
	r->present |= FR_BIT(fm);
	struct nt_addr *net = dst ? &r->dst_net : &r->src_net;
	if (bits == 0 && c->no_mask_if_zero)
		*net = *a;
	else
		mask_into(net, a, bits);
	r->present |= FR_BIT(fn);
	/*
	 * The file's next hop is parsed but, as in pmacct 1.7.7's nfacctd, not
	 * made peer_dst_ip (that is the BGP next hop the export protocol carries).
	 */

	/* the ASN of the prefix that won: a file prefix without one gives 0 */
	int file_as = 0;
	switch (c->as) {
	case NET_FILE:
		file_as = 1;
		break;
	case NET_LONGEST:
	case NET_FALLBACK:
		file_as = m && (c->no_lpm || m->plen > nf_mask);
		break;
	default:
		break;
	}
	if (file_as) {
		uint32_t as = m && m->has_as ? m->as : 0;
		if (dst)
			r->dst_as = as;
		else
			r->src_as = as;
		r->present |= FR_BIT(fas);
		if (dst) {
			r->peer_dst_as = m && m->has_peer_as ? m->peer_as : 0;
			r->present |= FR_BIT(FR_PEER_DST_AS);
		}
	}
}

static enum stage_verdict run_networks(const void *cfg, struct stage_ctx *sc, struct flow_rec *r)
{
	const struct networks_cfg *c = cfg;
	const struct networks *nets = c->have_file ? sc->map : NULL;
	resolve(c, nets, r, 0);
	resolve(c, nets, r, 1);
	return STAGE_KEEP;
}

const struct stage_desc stage_networks = {
    "networks",
    FR_BIT(FR_SRC_ADDR) | FR_BIT(FR_DST_ADDR) | FR_BIT(FR_SRC_MASK) | FR_BIT(FR_DST_MASK) |
	FR_BIT(FR_SRC_NET) | FR_BIT(FR_DST_NET) | FR_BIT(FR_SRC_AS) | FR_BIT(FR_DST_AS) |
	FR_BIT(FR_PEER_DST_AS),
    run_networks, NULL, NULL};
