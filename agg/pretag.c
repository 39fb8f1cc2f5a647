#include "agg/pretag.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/lpm.h"
#include "agg/mapline.h"
#include "agg/table.h"

/*
 * The tests a rule can make.  Numeric ones compare one integer of the
 * record for equality; address ones a prefix; the last three are special.
 * The order is the order of a rule's tests and of its index key.
 */
enum pt_cond {
	PT_IN,
	PT_OUT,
	PT_ENGINE_TYPE,
	PT_ENGINE_ID,
	PT_SOURCE_ID,
	PT_AGENT_ID,
	PT_VLAN,
	PT_SRC_MAC,
	PT_DST_MAC,
	PT_SRC_AS,
	PT_DST_AS,
	PT_PEER_SRC_AS,
	PT_PEER_DST_AS,
	PT_LOCAL_PREF,
	PT_PROTO,
	PT_SRC_PORT,
	PT_DST_PORT,
	PT_TCP_FLAGS,
	PT_FWD_STATUS,
	PT_DIRECTION,
	PT_IS_MULTICAST,
	PT_IS_NEL,
	PT_MPLS_VPN_RD,
	PT_VRF_IN,
	PT_VRF_OUT,
	PT_NUM_END,
	PT_IP = PT_NUM_END,
	PT_NEXTHOP,
	PT_BGP_NEXTHOP,
	PT_SRC_NET,
	PT_DST_NET,
	PT_ADDR_END,
	PT_FILTER = PT_ADDR_END,
	PT_COMMS,
	PT_SAMPLE_TYPE,
	PT__COUNT
};

/* The tests pretag_eval_header() can answer from an export header alone. */
#define PT_HEADER_CONDS                                                                            \
	((1ull << PT_IP) | (1ull << PT_ENGINE_TYPE) | (1ull << PT_ENGINE_ID) |                     \
	 (1ull << PT_SOURCE_ID) | (1ull << PT_AGENT_ID))

enum pt_sample {
	ST_FLOW,
	ST_FLOW_V4,
	ST_FLOW_V6,
	ST_FLOW_MPLS_V4,
	ST_FLOW_MPLS_V6,
	ST_EVENT,
	ST_OPTION,
};

struct pt_test {
	uint8_t c;
	uint8_t neg;
	uint8_t plen; /* address tests */
	uint64_t v;   /* numeric value; sample type */
	struct nt_addr a;
	void *p; /* PT_FILTER: struct nt_filter *; PT_COMMS: char * (comma separated) */
};

enum { STACK_NONE, STACK_SUM, STACK_OR };

#define SET_TAG	     0x01u
#define SET_TAG2     0x02u
#define SET_LABEL    0x04u
#define SET_TOS	     0x08u
#define SET_TAG_INC  0x10u
#define SET_TAG2_INC 0x20u

struct pt_rule {
	unsigned line;
	uint32_t t0, nt; /* tests: pool[t0 .. t0+nt) sorted by condition */
	uint64_t conds;	 /* bit per condition tested */
	uint64_t negs;	 /* bit per condition negated */
	uint64_t tag, tag2;
	uint64_t inc_tag, inc_tag2; /* next value of an N++ tag (atomic updates) */
	char *label;		    /* set_label */
	char *name;		    /* label= */
	char *jeq_name;		    /* jeq=, until resolved */
	int32_t jeq;		    /* rule to go on from, -1: stop */
	int32_t next_same;	    /* index runs: the next rule with the same key, -1 */
	uint8_t set, stack, tos;
};

/* A run of rules evaluated together: linearly, or through a hash of their keys. */
struct pt_seg {
	uint32_t first, last;
	uint64_t sig;		   /* conditions of every rule in the run; 0: not indexed */
	uint8_t cond[PT_ADDR_END]; /* sig's conditions, in key order */
	uint8_t ncond;
	uint32_t keylen;
	uint8_t *keys;	 /* keylen bytes per rule of the run */
	int32_t *slots;	 /* hash slots: first rule with a key, -1 empty */
	uint32_t nslots; /* power of two */
};

struct pretag_map {
	struct pt_rule *r;
	size_t n, cap;
	struct pt_test *pool;
	size_t npool, cappool;
	struct pt_seg *seg;
	size_t nseg;
	size_t bad;
	char **warn;
	size_t nwarn;
	size_t indexed;
};

#define WARN_KEEP 256 /* messages kept for the log; all are counted */

/* ---- key table ---------------------------------------------------------- */

enum pt_kind { K_NUM, K_ADDR, K_MAC, K_BOOL, K_PROTO, K_RD, K_SPECIAL, K_SET, K_FLOW, K_UNSUP };

struct pt_key {
	const char *name;
	enum pt_kind kind;
	int cond; /* enum pt_cond, or a SET_ / flow code */
	uint64_t max;
	int negatable;
};

enum { F_LABEL = 1, F_JEQ, F_STACK };

static const struct pt_key keys[] = {
    {"set_tag", K_SET, SET_TAG, 0, 0},
    {"id", K_SET, SET_TAG, 0, 0},
    {"set_tag2", K_SET, SET_TAG2, 0, 0},
    {"id2", K_SET, SET_TAG2, 0, 0},
    {"set_label", K_SET, SET_LABEL, 0, 0},
    {"set_tos", K_SET, SET_TOS, 0, 0},
    {"label", K_FLOW, F_LABEL, 0, 0},
    {"jeq", K_FLOW, F_JEQ, 0, 0},
    {"stack", K_FLOW, F_STACK, 0, 0},
    {"ip", K_ADDR, PT_IP, 0, 0},
    {"in", K_NUM, PT_IN, UINT32_MAX, 1},
    {"out", K_NUM, PT_OUT, UINT32_MAX, 1},
    {"engine_type", K_NUM, PT_ENGINE_TYPE, 255, 1},
    {"engine_id", K_NUM, PT_ENGINE_ID, UINT32_MAX, 1},
    {"source_id", K_NUM, PT_SOURCE_ID, UINT32_MAX, 1},
    {"agent_id", K_NUM, PT_AGENT_ID, UINT32_MAX, 1},
    {"vlan", K_NUM, PT_VLAN, 4095, 1},
    {"src_mac", K_MAC, PT_SRC_MAC, 0, 1},
    {"dst_mac", K_MAC, PT_DST_MAC, 0, 1},
    {"src_as", K_NUM, PT_SRC_AS, UINT32_MAX, 1},
    {"dst_as", K_NUM, PT_DST_AS, UINT32_MAX, 1},
    {"peer_src_as", K_NUM, PT_PEER_SRC_AS, UINT32_MAX, 1},
    {"peer_dst_as", K_NUM, PT_PEER_DST_AS, UINT32_MAX, 1},
    {"local_pref", K_NUM, PT_LOCAL_PREF, UINT32_MAX, 1},
    {"ip_proto", K_PROTO, PT_PROTO, 255, 1},
    {"proto", K_PROTO, PT_PROTO, 255, 1},
    {"src_port", K_NUM, PT_SRC_PORT, 65535, 1},
    {"dst_port", K_NUM, PT_DST_PORT, 65535, 1},
    {"tcp_flags", K_NUM, PT_TCP_FLAGS, 255, 1},
    {"fwd_status", K_NUM, PT_FWD_STATUS, 255, 1},
    {"direction", K_NUM, PT_DIRECTION, 1, 1},
    {"is_multicast", K_BOOL, PT_IS_MULTICAST, 1, 0},
    {"is_nel", K_BOOL, PT_IS_NEL, 1, 0},
    {"mpls_vpn_rd", K_RD, PT_MPLS_VPN_RD, 0, 1},
    {"mpls_vpn_id_in", K_NUM, PT_VRF_IN, UINT32_MAX, 1},
    {"mpls_vpn_id_out", K_NUM, PT_VRF_OUT, UINT32_MAX, 1},
    {"nexthop", K_ADDR, PT_NEXTHOP, 0, 1},
    {"bgp_nexthop", K_ADDR, PT_BGP_NEXTHOP, 0, 1},
    {"src_net", K_ADDR, PT_SRC_NET, 0, 1},
    {"dst_net", K_ADDR, PT_DST_NET, 0, 1},
    {"filter", K_SPECIAL, PT_FILTER, 0, 0},
    {"comms", K_SPECIAL, PT_COMMS, 0, 1},
    {"sample_type", K_SPECIAL, PT_SAMPLE_TYPE, 0, 0},
    /* pmacct keys whose data netacct records do not carry */
    {"cvlan", K_UNSUP, 0, 0, 0},
    {"flowset_id", K_UNSUP, 0, 0, 0},
    {"is_bi_flow", K_UNSUP, 0, 0, 0},
    {"is_nsel", K_UNSUP, 0, 0, 0},
    {"mpls_pw_id", K_UNSUP, 0, 0, 0},
    {"src_roa", K_UNSUP, 0, 0, 0},
    {"dst_roa", K_UNSUP, 0, 0, 0},
    {"src_comms", K_UNSUP, 0, 0, 0},
    {"src_local_pref", K_UNSUP, 0, 0, 0},
};

static const struct pt_key *key_find(const char *name)
{
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* ---- value parsers -------------------------------------------------------- */

static int parse_u64(const char *v, int base, uint64_t max, uint64_t *out)
{
	char *end;
	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	unsigned long long x = strtoull(v, &end, base);
	if (errno || *end || x > max)
		return -1;
	*out = x;
	return 0;
}

static int parse_mac(const char *v, uint64_t *out)
{
	unsigned b[6];
	char tail;
	if (sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return -1;
	uint64_t x = 0;
	for (int i = 0; i < 6; i++)
		x = x << 8 | b[i];
	*out = x;
	return 0;
}

static int parse_proto(const char *v, uint64_t *out)
{
	static const struct {
		const char *n;
		uint8_t p;
	} names[] = {{"icmp", 1},	{"igmp", 2},  {"tcp", 6},   {"udp", 17},
		     {"gre", 47},	{"esp", 50},  {"ah", 51},   {"icmp6", 58},
		     {"ipv6-icmp", 58}, {"ospf", 89}, {"pim", 103}, {"sctp", 132}};
	if (parse_u64(v, 10, 255, out) == 0)
		return 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcasecmp(v, names[i].n) == 0) {
			*out = names[i].p;
			return 0;
		}
	return -1;
}

/* Route distinguisher "type:admin:assigned" as the 8 wire bytes read big-endian. */
static int parse_rd(const char *v, uint64_t *out)
{
	char a[64], b[32];
	unsigned type;
	char tail;
	if (sscanf(v, "%u:%63[^:]:%31[0-9]%c", &type, a, b, &tail) != 3)
		return -1;
	uint64_t admin, num;
	switch (type) {
	case 0:
		if (parse_u64(a, 10, 65535, &admin) < 0 || parse_u64(b, 10, UINT32_MAX, &num) < 0)
			return -1;
		*out = admin << 32 | num;
		return 0;
	case 1: {
		struct nt_addr ip;
		uint8_t plen;
		if (lpm_prefix_parse(a, &ip, &plen) < 0 || ip.family != 4 || plen != 32 ||
		    parse_u64(b, 10, 65535, &num) < 0)
			return -1;
		uint64_t x = (uint64_t)ip.a[0] << 24 | (uint64_t)ip.a[1] << 16 |
			     (uint64_t)ip.a[2] << 8 | ip.a[3];
		*out = 1ull << 48 | x << 16 | num;
		return 0;
	}
	case 2:
		if (parse_u64(a, 10, UINT32_MAX, &admin) < 0 || parse_u64(b, 10, 65535, &num) < 0)
			return -1;
		*out = 2ull << 48 | admin << 16 | num;
		return 0;
	default:
		return -1;
	}
}

static int parse_sample(const char *v, uint64_t *out)
{
	static const char *const names[] = {"flow",	      "flow-ipv4",	"flow-ipv6",
					    "flow-mpls-ipv4", "flow-mpls-ipv6", "event",
					    "option"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

/* ---- parsing -------------------------------------------------------------- */

struct parse_ctx {
	struct pretag_map *m;
	const struct pretag_opts *o;
	const char *name;
	unsigned lineno;
	pretag_warn_fn warn;
	void *warn_arg;
	int oom;
	int full_reported;
};

__attribute__((format(printf, 3, 4))) static void warn(struct parse_ctx *pc, unsigned line,
						       const char *fmt, ...)
{
	char why[512], msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof msg, "%s:%u: %s", pc->name, line, why);
	pc->m->bad++;
	if (pc->warn)
		pc->warn(pc->warn_arg, msg);
	if (pc->m->nwarn < WARN_KEEP) {
		char **nw = realloc(pc->m->warn, (pc->m->nwarn + 1) * sizeof *nw);
		char *s = strdup(msg);
		if (!nw || !s) {
			free(s);
			if (nw)
				pc->m->warn = nw;
			return;
		}
		pc->m->warn = nw;
		nw[pc->m->nwarn++] = s;
	}
}

static void test_free(struct pt_test *t)
{
	if (t->c == PT_FILTER)
		nt_filter_free(t->p);
	else if (t->c == PT_COMMS)
		free(t->p);
	t->p = NULL;
}

static void rule_free(struct pretag_map *m, struct pt_rule *r)
{
	for (uint32_t i = 0; i < r->nt; i++)
		test_free(&m->pool[r->t0 + i]);
	free(r->label);
	free(r->name);
	free(r->jeq_name);
}

static int cmp_test(const void *a, const void *b)
{
	const struct pt_test *x = a, *y = b;
	return x->c - y->c;
}

/* Parse the value of a test key into t; -1 with why. */
static int parse_test(const struct pt_key *k, const char *v, struct pt_test *t, char *why,
		      size_t whylen)
{
	memset(t, 0, sizeof *t);
	t->c = (uint8_t)k->cond;
	if (*v == '-' && k->negatable) {
		t->neg = 1;
		v++;
	}
	switch (k->kind) {
	case K_NUM:
		if (parse_u64(v, k->cond == PT_TCP_FLAGS ? 0 : 10, k->max, &t->v) < 0) {
			snprintf(why, whylen, "bad %s '%.64s' (an integer up to %llu%s)", k->name,
				 v, (unsigned long long)k->max,
				 k->cond == PT_TCP_FLAGS ? ", 0x.. for hex" : "");
			return -1;
		}
		return 0;
	case K_PROTO:
		if (parse_proto(v, &t->v) < 0) {
			snprintf(why, whylen, "bad %s '%.64s' (0-255 or a protocol name)", k->name,
				 v);
			return -1;
		}
		return 0;
	case K_MAC:
		if (parse_mac(v, &t->v) < 0) {
			snprintf(why, whylen, "bad %s '%.64s' (xx:xx:xx:xx:xx:xx)", k->name, v);
			return -1;
		}
		return 0;
	case K_BOOL:
		if (strcmp(v, "true") == 0)
			t->v = 1;
		else if (strcmp(v, "false") == 0)
			t->v = 0;
		else {
			snprintf(why, whylen, "bad %s '%.64s' (true or false)", k->name, v);
			return -1;
		}
		return 0;
	case K_RD:
		if (parse_rd(v, &t->v) < 0) {
			snprintf(why, whylen,
				 "bad %s '%.64s' (0:<asn16>:<n32>, 1:<ipv4>:<n16> or "
				 "2:<asn32>:<n16>)",
				 k->name, v);
			return -1;
		}
		return 0;
	case K_ADDR:
		if (lpm_prefix_parse(v, &t->a, &t->plen) < 0) {
			snprintf(why, whylen, "bad %s '%.64s' (an IPv4/IPv6 address or prefix)",
				 k->name, v);
			return -1;
		}
		return 0;
	case K_SPECIAL:
		if (k->cond == PT_SAMPLE_TYPE) {
			if (parse_sample(v, &t->v) < 0) {
				snprintf(why, whylen,
					 "bad sample_type '%.64s' (flow, flow-ipv4, flow-ipv6, "
					 "flow-mpls-ipv4, flow-mpls-ipv6, event or option)",
					 v);
				return -1;
			}
			return 0;
		}
		if (k->cond == PT_COMMS) {
			if (!*v) {
				snprintf(why, whylen, "empty comms");
				return -1;
			}
			if (!(t->p = strdup(v))) {
				snprintf(why, whylen, "out of memory");
				return -1;
			}
			return 0;
		}
		/* filter */
		{
			char ferr[400];
			if (!(t->p = nt_filter_compile(v, ferr, sizeof ferr))) {
				snprintf(why, whylen, "bad filter %s", ferr);
				return -1;
			}
		}
		return 0;
	default:
		snprintf(why, whylen, "internal: key '%s'", k->name);
		return -1;
	}
}

static int parse_tag(const char *v, uint64_t *tag, int *inc)
{
	char buf[32];
	size_t n = strlen(v);
	*inc = n > 2 && strcmp(v + n - 2, "++") == 0;
	if (*inc) {
		if (n - 2 >= sizeof buf)
			return -1;
		memcpy(buf, v, n - 2);
		buf[n - 2] = '\0';
		v = buf;
	}
	return parse_u64(v, 10, UINT64_MAX, tag) < 0 || *tag == 0 ? -1 : 0;
}

static int ensure_rule(struct pretag_map *m)
{
	if (m->n < m->cap)
		return 0;
	size_t nc = m->cap ? m->cap * 2 : 64;
	struct pt_rule *nr = realloc(m->r, nc * sizeof *nr);
	if (!nr)
		return -1;
	m->r = nr;
	m->cap = nc;
	return 0;
}

static int ensure_pool(struct pretag_map *m, size_t more)
{
	if (m->npool + more <= m->cappool)
		return 0;
	size_t nc = m->cappool ? m->cappool * 2 : 256;
	while (nc < m->npool + more)
		nc *= 2;
	struct pt_test *np = realloc(m->pool, nc * sizeof *np);
	if (!np)
		return -1;
	m->pool = np;
	m->cappool = nc;
	return 0;
}

/*
 * One rule.  Everything wrong with it is a warning and the rule is skipped;
 * only running out of memory fails the map (-1).
 */
static int on_rule(void *arg, const struct mapline *l, char *why, size_t whylen)
{
	struct parse_ctx *pc = arg;
	struct pretag_map *m = pc->m;
	struct pt_test tests[MAPLINE_KV_MAX];
	unsigned nt = 0;
	struct pt_rule rule;
	char msg[512] = "";

	memset(&rule, 0, sizeof rule);
	rule.line = pc->lineno;
	rule.jeq = -1;
	rule.next_same = -1;
	if (pc->o && pc->o->max_entries && m->n >= pc->o->max_entries) {
		if (!pc->full_reported)
			warn(pc, pc->lineno,
			     "more than maps_entries (%u) rules: this line and the rest are not "
			     "loaded",
			     pc->o->max_entries);
		else
			m->bad++;
		pc->full_reported = 1;
		return 0;
	}
	for (unsigned i = 0; i < l->n && !msg[0]; i++) {
		const char *k = l->kv[i].key, *v = l->kv[i].val;
		const struct pt_key *key = key_find(k);
		if (!key) {
			snprintf(msg, sizeof msg, "unknown key '%.64s'", k);
			break;
		}
		switch (key->kind) {
		case K_UNSUP:
			snprintf(msg, sizeof msg,
				 "key '%s' is not supported: netacct records do not carry its data",
				 k);
			break;
		case K_SET:
			if (rule.set & (unsigned)key->cond) {
				snprintf(msg, sizeof msg, "'%s' given twice (with its old name?)",
					 k);
				break;
			}
			rule.set |= (uint8_t)key->cond;
			if (key->cond == SET_TAG || key->cond == SET_TAG2) {
				uint64_t t;
				int inc;
				if (parse_tag(v, &t, &inc) < 0) {
					snprintf(msg, sizeof msg,
						 "bad %s '%.64s' (1 to 2^64-1, or N++ to count up)",
						 k, v);
					break;
				}
				if (key->cond == SET_TAG) {
					rule.tag = t;
					rule.inc_tag = t;
					rule.set |= inc ? SET_TAG_INC : 0;
				} else {
					rule.tag2 = t;
					rule.inc_tag2 = t;
					rule.set |= inc ? SET_TAG2_INC : 0;
				}
			} else if (key->cond == SET_TOS) {
				uint64_t t;
				if (parse_u64(v, 10, 255, &t) < 0) {
					snprintf(msg, sizeof msg, "bad set_tos '%.64s' (0-255)", v);
					break;
				}
				rule.tos = (uint8_t)t;
			} else {
				if (strlen(v) >= PRETAG_LABEL_MAX) {
					snprintf(msg, sizeof msg,
						 "set_label longer than %d characters",
						 PRETAG_LABEL_MAX - 1);
					break;
				}
				if (!(rule.label = strdup(v)))
					pc->oom = 1;
			}
			break;
		case K_FLOW:
			if (key->cond == F_STACK) {
				if (strcmp(v, "sum") == 0)
					rule.stack = STACK_SUM;
				else if (strcmp(v, "or") == 0)
					rule.stack = STACK_OR;
				else
					snprintf(msg, sizeof msg, "bad stack '%.64s' (sum or or)",
						 v);
			} else if (key->cond == F_LABEL) {
				if (strcmp(v, "next") == 0)
					snprintf(msg, sizeof msg, "label 'next' is reserved");
				else if (!(rule.name = strdup(v)))
					pc->oom = 1;
			} else if (!(rule.jeq_name = strdup(v))) {
				pc->oom = 1;
			}
			break;
		default: {
			struct pt_test *t = &tests[nt];
			if (rule.conds & (1ull << key->cond)) {
				snprintf(msg, sizeof msg,
					 "'%s' tests what another key already tests", k);
				break;
			}
			if (parse_test(key, v, t, msg, sizeof msg) < 0)
				break;
			nt++;
			rule.conds |= 1ull << t->c;
			if (t->neg)
				rule.negs |= 1ull << t->c;
		}
		}
		if (pc->oom)
			break;
	}
	if (!msg[0] && !pc->oom && !(rule.set & (SET_TAG | SET_TAG2 | SET_LABEL | SET_TOS)) &&
	    !rule.jeq_name)
		snprintf(msg, sizeof msg,
			 "the rule sets nothing (set_tag, set_tag2, set_label, "
			 "set_tos or jeq expected)");
	if (!msg[0] && !pc->oom && (ensure_rule(m) < 0 || ensure_pool(m, nt) < 0))
		pc->oom = 1;
	if (msg[0] || pc->oom) {
		for (unsigned i = 0; i < nt; i++)
			test_free(&tests[i]);
		free(rule.label);
		free(rule.name);
		free(rule.jeq_name);
		if (pc->oom) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		warn(pc, pc->lineno, "%s (line skipped)", msg);
		return 0;
	}
	qsort(tests, nt, sizeof tests[0], cmp_test);
	rule.t0 = (uint32_t)m->npool;
	rule.nt = nt;
	if (nt)
		memcpy(m->pool + m->npool, tests, nt * sizeof tests[0]);
	m->npool += nt;
	m->r[m->n++] = rule;
	return 0;
}

/* ---- jumps ------------------------------------------------------------------ */

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

/*
 * Resolve each jeq to the first later rule with that label: walking the
 * rules backwards, a table keeps for each label the nearest rule after the
 * current one.
 */
static int resolve_jumps(struct parse_ctx *pc)
{
	struct pretag_map *m = pc->m;
	size_t nslots = 16;
	while (nslots < 2 * m->n)
		nslots *= 2;
	int32_t *slot = malloc(nslots * sizeof *slot);
	if (!slot)
		return -1;
	for (size_t i = 0; i < nslots; i++)
		slot[i] = -1;
	for (size_t i = m->n; i-- > 0;) {
		struct pt_rule *r = &m->r[i];
		if (r->jeq_name) {
			if (strcmp(r->jeq_name, "next") == 0) {
				r->jeq = i + 1 < m->n ? (int32_t)(i + 1) : -1;
			} else {
				size_t h = str_hash(r->jeq_name) & (nslots - 1);
				while (slot[h] >= 0 && strcmp(m->r[slot[h]].name, r->jeq_name) != 0)
					h = (h + 1) & (nslots - 1);
				if (slot[h] >= 0)
					r->jeq = slot[h];
				else
					warn(pc, r->line,
					     "jeq '%.64s': no rule labelled so after this one (the "
					     "rule is kept without the jump)",
					     r->jeq_name);
			}
			free(r->jeq_name);
			r->jeq_name = NULL;
		}
		if (r->name) {
			size_t h = str_hash(r->name) & (nslots - 1);
			while (slot[h] >= 0 && strcmp(m->r[slot[h]].name, r->name) != 0)
				h = (h + 1) & (nslots - 1);
			slot[h] = (int32_t)i; /* the nearest so far */
		}
	}
	free(slot);
	return 0;
}

/* ---- index ------------------------------------------------------------------ */

#define KEY_MAX 512

static int addr_len(uint8_t family)
{
	return family == 4 ? 32 : family == 6 ? 128 : 0;
}

/* Whether a rule can be served by an exact-key index; its signature then. */
static uint64_t rule_sig(const struct pretag_map *m, const struct pt_rule *r)
{
	if (!r->conds || r->negs)
		return 0;
	for (uint32_t i = 0; i < r->nt; i++) {
		const struct pt_test *t = &m->pool[r->t0 + i];
		if (t->c >= PT_ADDR_END)
			return 0;
		if (t->c >= PT_NUM_END && t->plen != addr_len(t->a.family))
			return 0;
	}
	return r->conds;
}

/* Bytes of a run's keys: whole words, for agg_hash(). */
static uint32_t sig_keylen(uint64_t sig)
{
	uint32_t n = 0;
	for (int c = 0; c < PT__COUNT; c++)
		if (sig >> c & 1)
			n += c < PT_NUM_END ? 8 : 17;
	return (n + 7) & ~7u;
}

static void put_num(uint8_t *k, uint64_t v)
{
	memcpy(k, &v, 8);
}

static void put_addr(uint8_t *k, const struct nt_addr *a)
{
	k[0] = a->family;
	memcpy(k + 1, a->a, 16);
	if (a->family == 4)
		memset(k + 5, 0, 12);
}

static void rule_key(const struct pretag_map *m, const struct pt_rule *r, uint8_t *k)
{
	for (uint32_t i = 0; i < r->nt; i++) {
		const struct pt_test *t = &m->pool[r->t0 + i];
		if (t->c < PT_NUM_END) {
			put_num(k, t->v);
			k += 8;
		} else {
			put_addr(k, &t->a);
			k += 17;
		}
	}
}

static uint64_t key_hash(const uint8_t *k, uint32_t n)
{
	return agg_hash(k, n);
}

static int build_index(struct pretag_map *m, struct pt_seg *s)
{
	uint32_t len = s->last - s->first + 1;
	s->keylen = sig_keylen(s->sig);
	s->ncond = 0;
	for (int c = 0; c < PT_ADDR_END; c++)
		if (s->sig >> c & 1)
			s->cond[s->ncond++] = (uint8_t)c;
	s->nslots = 16;
	while (s->nslots < 2 * len)
		s->nslots *= 2;
	s->keys = malloc((size_t)len * s->keylen);
	s->slots = malloc(s->nslots * sizeof *s->slots);
	if (!s->keys || !s->slots)
		return -1;
	for (uint32_t i = 0; i < s->nslots; i++)
		s->slots[i] = -1;
	/* backwards, so each chain is in rule order: a rule is linked before the later ones */
	for (uint32_t i = s->last + 1; i-- > s->first;) {
		uint8_t *k = s->keys + (size_t)(i - s->first) * s->keylen;
		memset(k, 0, s->keylen);
		rule_key(m, &m->r[i], k);
		uint32_t h = (uint32_t)key_hash(k, s->keylen) & (s->nslots - 1);
		for (;;) {
			int32_t j = s->slots[h];
			if (j < 0) {
				s->slots[h] = (int32_t)i;
				m->r[i].next_same = -1;
				break;
			}
			if (memcmp(s->keys + (size_t)(j - s->first) * s->keylen, k, s->keylen) ==
			    0) {
				m->r[i].next_same = j;
				s->slots[h] = (int32_t)i;
				break;
			}
			h = (h + 1) & (s->nslots - 1);
		}
	}
	return 0;
}

static int build_segments(struct pretag_map *m, int index)
{
	m->seg = calloc(m->n ? m->n : 1, sizeof *m->seg);
	if (!m->seg)
		return -1;
	for (size_t i = 0; i < m->n; i++) {
		uint64_t sig = index ? rule_sig(m, &m->r[i]) : 0;
		struct pt_seg *last = m->nseg ? &m->seg[m->nseg - 1] : NULL;
		/* unindexed rules are scanned: they extend an unindexed run too */
		if (last && last->sig == sig) {
			last->last = (uint32_t)i;
			continue;
		}
		m->seg[m->nseg++] =
		    (struct pt_seg){.first = (uint32_t)i, .last = (uint32_t)i, .sig = sig};
	}
	for (size_t s = 0; s < m->nseg; s++) {
		struct pt_seg *g = &m->seg[s];
		/* a short run is as fast scanned */
		if (g->sig && g->last - g->first + 1 < 4)
			g->sig = 0;
		if (g->sig) {
			if (build_index(m, g) < 0)
				return -1;
			m->indexed++;
		}
	}
	/* runs left unindexed next to each other merge back into one scan */
	size_t o = 0;
	for (size_t s = 0; s < m->nseg; s++) {
		if (o && !m->seg[s].sig && !m->seg[o - 1].sig)
			m->seg[o - 1].last = m->seg[s].last;
		else
			m->seg[o++] = m->seg[s];
	}
	m->nseg = o;
	return 0;
}

/* ---- loading ---------------------------------------------------------------- */

void pretag_map_free(struct pretag_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		rule_free(m, &m->r[i]);
	for (size_t s = 0; s < m->nseg; s++) {
		free(m->seg[s].keys);
		free(m->seg[s].slots);
	}
	for (size_t i = 0; i < m->nwarn; i++)
		free(m->warn[i]);
	free(m->warn);
	free(m->seg);
	free(m->pool);
	free(m->r);
	free(m);
}

int pretag_map_parse(struct pretag_map **out, const char *text, size_t len, const char *name,
		     const struct pretag_opts *o, pretag_warn_fn warnfn, void *warn_arg, char *err,
		     size_t errlen)
{
	struct pretag_map *m = calloc(1, sizeof *m);
	struct parse_ctx pc = {.m = m, .o = o, .name = name, .warn = warnfn, .warn_arg = warn_arg};
	char lerr[1024];
	size_t nlen = strlen(name);
	if (!m) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	/*
	 * Line by line through the shared parser, so a line it rejects
	 * (quotes, a token without '=') is one bad line, not a bad map.
	 */
	size_t pos = 0;
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - line) : len - pos;
		pos += llen + (nl ? 1 : 0);
		pc.lineno++;
		if (o && o->max_row_len && llen > o->max_row_len) {
			warn(&pc, pc.lineno, "longer than maps_row_len (%u) (line skipped)",
			     o->max_row_len);
			continue;
		}
		if (mapline_parse(line, llen, name, 0, on_rule, &pc, lerr, sizeof lerr) == 0)
			continue;
		if (pc.oom)
			break;
		/* "name:1: reason": the parser saw one line; give it its number in the file */
		const char *why = lerr;
		if (strncmp(lerr, name, nlen) == 0 && strncmp(lerr + nlen, ":1: ", 4) == 0)
			why = lerr + nlen + 4;
		warn(&pc, pc.lineno, "%s (line skipped)", why);
	}
	if (pc.oom || resolve_jumps(&pc) < 0 || build_segments(m, o && o->index) < 0) {
		pretag_map_free(m);
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	*out = m;
	return 0;
}

int pretag_map_load(struct pretag_map **out, const char *path, const struct pretag_opts *o,
		    pretag_warn_fn warnfn, void *warn_arg, char *err, size_t errlen)
{
	size_t len;
	char *buf = mapline_read_file(path, &len, err, errlen);
	if (!buf)
		return -1;
	int rc = pretag_map_parse(out, buf, len, path, o, warnfn, warn_arg, err, errlen);
	free(buf);
	return rc;
}

size_t pretag_map_count(const struct pretag_map *m)
{
	return m ? m->n : 0;
}

size_t pretag_map_bad_lines(const struct pretag_map *m)
{
	return m ? m->bad : 0;
}

size_t pretag_map_nwarnings(const struct pretag_map *m)
{
	return m ? m->nwarn : 0;
}

const char *pretag_map_warning(const struct pretag_map *m, size_t i)
{
	return m && i < m->nwarn ? m->warn[i] : NULL;
}

size_t pretag_map_indexed_runs(const struct pretag_map *m)
{
	return m ? m->indexed : 0;
}

/* ---- evaluation ------------------------------------------------------------- */

struct eval_ctx {
	const struct flow_rec *r;
	struct filter_pkt *pkt;
	int header_only; /* pretag_eval_header: only PT_HEADER_CONDS can match */
	int has_sysid;
};

/* The record's value for a numeric test; 0 when the record has none. */
static int rec_num(const struct eval_ctx *x, int c, uint64_t *v)
{
	const struct flow_rec *r = x->r;
	int v5 = r->export_version == 5 || r->export_version == 8;
	switch (c) {
	case PT_IN:
		*v = r->in_iface;
		return FR_HAS(r, FR_IN_IFACE);
	case PT_OUT:
		*v = r->out_iface;
		return FR_HAS(r, FR_OUT_IFACE);
	case PT_ENGINE_TYPE:
		*v = r->engine_type;
		return FR_HAS(r, FR_ENGINE);
	case PT_ENGINE_ID:
		if (v5) {
			*v = r->engine_id;
			return FR_HAS(r, FR_ENGINE);
		}
		*v = r->export_sysid;
		return x->has_sysid;
	case PT_SOURCE_ID:
	case PT_AGENT_ID:
		*v = r->export_sysid;
		return x->has_sysid;
	case PT_VLAN:
		*v = FR_HAS(r, FR_VLAN_IN) ? r->vlan_in : r->vlan_out;
		return FR_HAS(r, FR_VLAN_IN) || FR_HAS(r, FR_VLAN_OUT);
	case PT_SRC_MAC:
	case PT_DST_MAC: {
		const uint8_t *mac = c == PT_SRC_MAC ? r->src_mac : r->dst_mac;
		uint64_t m = 0;
		for (int i = 0; i < 6; i++)
			m = m << 8 | mac[i];
		*v = m;
		return FR_HAS(r, c == PT_SRC_MAC ? FR_SRC_MAC : FR_DST_MAC);
	}
	case PT_SRC_AS:
		*v = r->src_as;
		return FR_HAS(r, FR_SRC_AS);
	case PT_DST_AS:
		*v = r->dst_as;
		return FR_HAS(r, FR_DST_AS);
	case PT_PEER_SRC_AS:
		*v = r->peer_src_as;
		return FR_HAS(r, FR_PEER_SRC_AS);
	case PT_PEER_DST_AS:
		*v = r->peer_dst_as;
		return FR_HAS(r, FR_PEER_DST_AS);
	case PT_LOCAL_PREF:
		*v = r->local_pref;
		return FR_HAS(r, FR_LOCAL_PREF);
	case PT_PROTO:
		*v = r->proto;
		return FR_HAS(r, FR_PROTO);
	case PT_SRC_PORT:
		*v = r->src_port;
		return FR_HAS(r, FR_SRC_PORT);
	case PT_DST_PORT:
		*v = r->dst_port;
		return FR_HAS(r, FR_DST_PORT);
	case PT_TCP_FLAGS:
		*v = r->tcp_flags;
		return FR_HAS(r, FR_TCP_FLAGS);
	case PT_FWD_STATUS:
		*v = r->fwd_status;
		return FR_HAS(r, FR_FWD_STATUS);
	case PT_DIRECTION:
		*v = r->direction;
		return FR_HAS(r, FR_DIRECTION);
	case PT_IS_MULTICAST:
		*v = r->dst_mac[0] & 1;
		return FR_HAS(r, FR_DST_MAC);
	case PT_IS_NEL:
		*v = FR_HAS(r, FR_NAT_EVENT);
		return 1;
	case PT_MPLS_VPN_RD:
		*v = r->mpls_vpn_rd;
		return FR_HAS(r, FR_MPLS_VPN_RD);
	case PT_VRF_IN:
		*v = r->vrf_in;
		return FR_HAS(r, FR_VRF_IN);
	case PT_VRF_OUT:
		*v = r->vrf_out;
		return FR_HAS(r, FR_VRF_OUT);
	default:
		return 0;
	}
}

static const struct nt_addr *rec_addr(const struct flow_rec *r, int c)
{
	switch (c) {
	case PT_IP:
		return FR_HAS(r, FR_PEER_SRC_IP) ? &r->peer_src_ip : NULL;
	case PT_NEXTHOP:
	case PT_BGP_NEXTHOP:
		return FR_HAS(r, FR_PEER_DST_IP) ? &r->peer_dst_ip : NULL;
	case PT_SRC_NET:
		return FR_HAS(r, FR_SRC_ADDR) ? &r->src_addr : NULL;
	case PT_DST_NET:
		return FR_HAS(r, FR_DST_ADDR) ? &r->dst_addr : NULL;
	default:
		return NULL;
	}
}

/* Whether the record's communities ("a:b_c:d" or space separated) hold one of want's. */
static int comms_match(const char *have, const char *want)
{
	for (const char *w = want; *w;) {
		size_t wl = strcspn(w, ",");
		for (const char *h = have; *h;) {
			size_t hl = strcspn(h, "_ ");
			if (hl == wl && memcmp(h, w, wl) == 0)
				return 1;
			h += hl;
			h += strspn(h, "_ ");
		}
		w += wl;
		w += *w == ',';
	}
	return 0;
}

static int sample_match(const struct flow_rec *r, uint64_t st)
{
	int v4 = FR_HAS(r, FR_SRC_ADDR) ? r->src_addr.family == 4 : r->dst_addr.family == 4;
	int v6 = FR_HAS(r, FR_SRC_ADDR) ? r->src_addr.family == 6 : r->dst_addr.family == 6;
	int mpls = FR_HAS(r, FR_MPLS) && r->mpls_depth > 0;
	switch (st) {
	case ST_FLOW:
		return 1;
	case ST_FLOW_V4:
		return v4;
	case ST_FLOW_V6:
		return v6;
	case ST_FLOW_MPLS_V4:
		return mpls && v4;
	case ST_FLOW_MPLS_V6:
		return mpls && v6;
	case ST_EVENT:
		return FR_HAS(r, FR_NAT_EVENT);
	default: /* options data never reaches the record pipeline */
		return 0;
	}
}

static int test_match(const struct eval_ctx *x, const struct pt_test *t)
{
	int eq;
	if (x->header_only && !((PT_HEADER_CONDS >> t->c) & 1))
		return 0;
	if (t->c < PT_NUM_END) {
		uint64_t v;
		if (!rec_num(x, t->c, &v))
			return 0;
		eq = v == t->v;
	} else if (t->c < PT_ADDR_END) {
		const struct nt_addr *a = rec_addr(x->r, t->c);
		if (!a || !a->family)
			return 0;
		eq = lpm_prefix_match(&t->a, t->plen, a);
	} else if (t->c == PT_FILTER) {
		if (!x->pkt)
			return 0;
		return nt_filter_match(t->p, x->pkt);
	} else if (t->c == PT_COMMS) {
		if (!FR_HAS(x->r, FR_STD_COMM) || !x->r->std_comm)
			return 0;
		eq = comms_match(x->r->std_comm, t->p);
	} else {
		return sample_match(x->r, t->v);
	}
	return t->neg ? !eq : eq;
}

static int rule_match(const struct pretag_map *m, const struct pt_rule *r, const struct eval_ctx *x)
{
	for (uint32_t i = 0; i < r->nt; i++)
		if (!test_match(x, &m->pool[r->t0 + i]))
			return 0;
	return 1;
}

/* The record's index key for a run; -1 when it lacks a field. */
static int rec_key(const struct eval_ctx *x, const struct pt_seg *s, uint8_t *k)
{
	if (x->header_only && (s->sig & ~PT_HEADER_CONDS))
		return -1;
	for (unsigned i = 0; i < s->ncond; i++) {
		int c = s->cond[i];
		if (c < PT_NUM_END) {
			uint64_t v;
			if (!rec_num(x, c, &v))
				return -1;
			put_num(k, v);
			k += 8;
		} else {
			const struct nt_addr *a = rec_addr(x->r, c);
			if (!a || !a->family)
				return -1;
			put_addr(k, a);
			k += 17;
		}
	}
	return 0;
}

static int32_t seg_lookup(const struct pretag_map *m, const struct pt_seg *s,
			  const struct eval_ctx *x, uint32_t from)
{
	uint8_t k[KEY_MAX];
	if (s->keylen > KEY_MAX)
		return -1;
	memset(k + s->keylen - 8, 0, 8); /* the padding of the last word */
	if (rec_key(x, s, k) < 0)
		return -1;
	uint32_t h = (uint32_t)key_hash(k, s->keylen) & (s->nslots - 1);
	for (;;) {
		int32_t j = s->slots[h];
		if (j < 0)
			return -1;
		if (memcmp(s->keys + (size_t)(j - s->first) * s->keylen, k, s->keylen) == 0) {
			/* rules with this key, in order: the first one at or after `from` */
			while (j >= 0 && (uint32_t)j < from)
				j = m->r[j].next_same;
			return j;
		}
		h = (h + 1) & (s->nslots - 1);
	}
}

/* The first rule at or after `from` that matches, or -1. */
static int32_t find_match(const struct pretag_map *m, const struct eval_ctx *x, uint32_t from)
{
	/* the run holding `from`: binary search on first */
	size_t lo = 0, hi = m->nseg;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (m->seg[mid].first <= from)
			lo = mid;
		else
			hi = mid;
	}
	for (size_t s = lo; s < m->nseg; s++) {
		const struct pt_seg *g = &m->seg[s];
		uint32_t i = from > g->first ? from : g->first;
		if (i > g->last)
			continue;
		if (g->sig) {
			int32_t j = seg_lookup(m, g, x, i);
			if (j >= 0)
				return j;
			continue;
		}
		for (; i <= g->last; i++)
			if (rule_match(m, &m->r[i], x))
				return (int32_t)i;
	}
	return -1;
}

static uint64_t stacked(uint8_t stack, uint64_t prev, uint64_t v)
{
	return stack == STACK_SUM ? prev + v : stack == STACK_OR ? (prev | v) : v;
}

static void apply(const struct pt_rule *cr, struct pretag_result *res)
{
	/* N++ counters are the only state evaluation changes: atomics, shared by workers */
	struct pt_rule *r = (struct pt_rule *)cr;
	if (r->set & SET_TAG) {
		uint64_t v = r->set & SET_TAG_INC
				 ? __atomic_fetch_add(&r->inc_tag, 1, __ATOMIC_RELAXED)
				 : r->tag;
		res->tag = stacked(res->has_tag ? r->stack : STACK_NONE, res->tag, v);
		res->has_tag = 1;
	}
	if (r->set & SET_TAG2) {
		uint64_t v = r->set & SET_TAG2_INC
				 ? __atomic_fetch_add(&r->inc_tag2, 1, __ATOMIC_RELAXED)
				 : r->tag2;
		res->tag2 = stacked(res->has_tag2 ? r->stack : STACK_NONE, res->tag2, v);
		res->has_tag2 = 1;
	}
	if (r->set & SET_LABEL) {
		size_t have = res->has_label ? strlen(res->label) : 0;
		if (have && have + 1 < sizeof res->label)
			res->label[have++] = ',';
		snprintf(res->label + have, sizeof res->label - have, "%s", r->label);
		res->has_label = 1;
	}
	if (r->set & SET_TOS) {
		res->tos = r->tos;
		res->has_tos = 1;
	}
	res->rule_line = r->line;
}

static int eval(const struct pretag_map *m, const struct eval_ctx *x, struct pretag_result *res)
{
	memset(res, 0, offsetof(struct pretag_result, label));
	res->label[0] = '\0';
	res->rule_line = 0;
	if (!m || !m->n)
		return 0;
	uint32_t from = 0;
	int matched = 0;
	int32_t i;
	/* jumps only go forward, so this ends */
	while ((i = find_match(m, x, from)) >= 0) {
		apply(&m->r[i], res);
		matched = 1;
		if (m->r[i].jeq < 0)
			break;
		from = (uint32_t)m->r[i].jeq;
	}
	return matched;
}

int pretag_eval(const struct pretag_map *m, const struct flow_rec *r, struct filter_pkt *pkt,
		struct pretag_result *res)
{
	struct eval_ctx x = {.r = r, .pkt = pkt, .has_sysid = 1};
	return eval(m, &x, res);
}

int pretag_eval_header(const struct pretag_map *m, const struct pretag_header *h,
		       struct pretag_result *res)
{
	struct flow_rec r;
	memset(&r, 0, sizeof r);
	if (h->exporter.family) {
		r.peer_src_ip = h->exporter;
		FR_SET(&r, FR_PEER_SRC_IP);
	}
	r.export_version = h->is_sflow ? 0 : h->version; /* engine_id: v5 header only */
	if (h->has_engine) {
		r.engine_type = h->engine_type;
		r.engine_id = h->engine_id;
		FR_SET(&r, FR_ENGINE);
	}
	r.export_sysid = h->source_id;
	struct eval_ctx x = {.r = &r, .header_only = 1, .has_sysid = h->has_source_id};
	return eval(m, &x, res);
}
