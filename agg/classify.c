#include "agg/classify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/keys.h"
#include "proto/packet.h"

#ifdef HAVE_NDPI
#include <ndpi_api.h>
#endif

#define G(f)	   SCOPE_GLOBAL, offsetof(struct conf, f)
#define D_CLASSIFY (D_PMACCTD | D_UACCTD)

static const struct conf_key classify_rows[] = {
    CONF_ROW("classifier_num_roots", CT_INT, G(classifier_num_roots), D_CLASSIFY, "512", NULL, 1,
	     1 << 24, "Hash buckets of each worker's nDPI flow table."),
    CONF_ROW("classifier_max_flows", CT_INT, G(classifier_max_flows), D_CLASSIFY, "200000000", NULL,
	     1, 2000000000,
	     "Flows each worker's nDPI table holds at once; packets of further new flows are not "
	     "classified (counted)."),
    CONF_ROW("classifier_proto_guess", CT_BOOL, G(classifier_proto_guess), D_CLASSIFY, "false",
	     NULL, 0, 0,
	     "When DPI gives up on a flow, guess its protocol from the IP protocol and ports."),
    CONF_ROW("classifier_giveup_proto_tcp", CT_INT, G(classifier_giveup_proto_tcp), D_CLASSIFY,
	     "10", NULL, 1, 1000000, "Packets of a TCP flow given to nDPI before giving up."),
    CONF_ROW("classifier_giveup_proto_udp", CT_INT, G(classifier_giveup_proto_udp), D_CLASSIFY, "8",
	     NULL, 1, 1000000, "Packets of a UDP flow given to nDPI before giving up."),
    CONF_ROW("classifier_giveup_proto_other", CT_INT, G(classifier_giveup_proto_other), D_CLASSIFY,
	     "8", NULL, 1, 1000000,
	     "Packets of a flow neither TCP nor UDP given to nDPI before giving up."),
    CONF_ROW("classifier_idle_scan_period", CT_INT, G(classifier_idle_scan_period), D_CLASSIFY,
	     "10", NULL, 1, 86400,
	     "Seconds (packet time) between scans dropping flows idle for 30 seconds."),
};

const struct conf_key_table classify_keys =
    CONF_TABLE("classify", "nDPI classification (the class primitive)", classify_rows);

void classify_opts_default(struct classify_opts *o)
{
	o->num_roots = 512;
	o->max_flows = 200000000;
	o->proto_guess = 0;
	o->giveup_tcp = 10;
	o->giveup_udp = 8;
	o->giveup_other = 8;
	o->idle_scan_period = 10;
}

void classify_opts_from_conf(struct classify_opts *o, const struct conf *c)
{
	classify_opts_default(o);
	if (c->classifier_num_roots > 0)
		o->num_roots = (unsigned)c->classifier_num_roots;
	if (c->classifier_max_flows > 0)
		o->max_flows = (unsigned)c->classifier_max_flows;
	o->proto_guess = c->classifier_proto_guess;
	if (c->classifier_giveup_proto_tcp > 0)
		o->giveup_tcp = (unsigned)c->classifier_giveup_proto_tcp;
	if (c->classifier_giveup_proto_udp > 0)
		o->giveup_udp = (unsigned)c->classifier_giveup_proto_udp;
	if (c->classifier_giveup_proto_other > 0)
		o->giveup_other = (unsigned)c->classifier_giveup_proto_other;
	if (c->classifier_idle_scan_period > 0)
		o->idle_scan_period = (unsigned)c->classifier_idle_scan_period;
}

#ifndef HAVE_NDPI

int classify_init(struct classifier *c, const struct classify_opts *o, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	(void)o;
	snprintf(err, errlen, "the class primitive needs nDPI: this build has none");
	return -1;
}

void classify_packet(struct classifier *c, const uint8_t *l3, size_t l3len, nt_usec ts,
		     struct flow_rec *r)
{
	(void)c;
	(void)l3;
	(void)l3len;
	(void)ts;
	(void)r;
}

void classify_free(struct classifier *c)
{
	(void)c;
}

#else

/*
 * One bidirectional flow: the lower (address, port) end first, so both
 * directions meet in one entry.
 */
struct cls_flow {
	struct cls_flow *next;
	struct nt_addr lo, hi;
	uint16_t lo_port, hi_port;
	uint16_t vlan;
	uint8_t proto;
	uint8_t done;
	uint32_t packets;
	nt_usec last;
	struct ndpi_flow_struct *nf; /* freed once done */
	const char *name;	     /* set once done */
};

/*
 * Class names, interned per classifier: a record's name stays valid for
 * as long as the classifier lives, whatever becomes of its flow.
 */
#define NAMES_CAP 1024

struct cls_name {
	uint32_t id; /* master << 16 | app, + 1 (0: free) */
	char s[CLASSIFY_NAME_MAX];
};

struct cls_names {
	struct cls_name e[NAMES_CAP];
	char overflow[CLASSIFY_NAME_MAX]; /* when the table is full: the last name made */
};

static const char *class_name(struct classifier *c, ndpi_protocol p)
{
	struct cls_names *t = c->names;
	uint32_t id = ((uint32_t)p.master_protocol << 16 | p.app_protocol) + 1;
	for (unsigned i = 0; i < NAMES_CAP; i++) {
		struct cls_name *e = &t->e[(id * 2654435761u + i) % NAMES_CAP];
		if (e->id == id)
			return e->s;
		if (!e->id) {
			e->id = id;
			snprintf(e->s, sizeof e->s, "%s/%s",
				 ndpi_get_proto_name(c->ndpi, p.master_protocol),
				 ndpi_get_proto_name(c->ndpi, p.app_protocol));
			return e->s;
		}
	}
	snprintf(t->overflow, sizeof t->overflow, "%s/%s",
		 ndpi_get_proto_name(c->ndpi, p.master_protocol),
		 ndpi_get_proto_name(c->ndpi, p.app_protocol));
	return t->overflow;
}

int classify_init(struct classifier *c, const struct classify_opts *o, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	if (o)
		c->o = *o;
	else
		classify_opts_default(&c->o);
	if (!c->o.num_roots)
		c->o.num_roots = 1;
	c->buckets = calloc(c->o.num_roots, sizeof *c->buckets);
	c->names = calloc(1, sizeof(struct cls_names));
	if (!c->buckets || !c->names) {
		free(c->buckets);
		free(c->names);
		c->buckets = NULL;
		c->names = NULL;
		snprintf(err, errlen, "no memory for %u classifier buckets", c->o.num_roots);
		return -1;
	}
	struct ndpi_detection_module_struct *m = ndpi_init_detection_module(ndpi_no_prefs);
	if (!m) {
		free(c->buckets);
		free(c->names);
		c->buckets = NULL;
		c->names = NULL;
		snprintf(err, errlen, "nDPI initialisation failed");
		return -1;
	}
	NDPI_PROTOCOL_BITMASK all;
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(m, &all);
	ndpi_finalize_initialization(m);
	c->ndpi = m;
	return 0;
}

static void flow_drop(struct cls_flow *f)
{
	if (f->nf)
		ndpi_free_flow(f->nf);
	free(f);
}

void classify_free(struct classifier *c)
{
	if (c->buckets)
		for (unsigned i = 0; i < c->o.num_roots; i++)
			while (c->buckets[i]) {
				struct cls_flow *f = c->buckets[i];
				c->buckets[i] = f->next;
				flow_drop(f);
			}
	free(c->buckets);
	free(c->names);
	c->buckets = NULL;
	c->names = NULL;
	if (c->ndpi)
		ndpi_exit_detection_module(c->ndpi);
	c->ndpi = NULL;
	c->nflows = 0;
}

/* Drop the flows not seen for CLASSIFY_IDLE_TIMEOUT. */
static void idle_scan(struct classifier *c, nt_usec now)
{
	for (unsigned i = 0; i < c->o.num_roots; i++)
		for (struct cls_flow **p = &c->buckets[i]; *p;) {
			struct cls_flow *f = *p;
			if (now > f->last && now - f->last > CLASSIFY_IDLE_TIMEOUT) {
				*p = f->next;
				flow_drop(f);
				c->nflows--;
				c->st.expired++;
			} else {
				p = &f->next;
			}
		}
}

static int addr_cmp(const struct nt_addr *a, const struct nt_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->a, b->a, 16);
}

static uint32_t flow_hash(const struct cls_flow *k)
{
	uint32_t h = 2166136261u;
	for (unsigned i = 0; i < 16; i++) {
		h = (h ^ k->lo.a[i]) * 16777619u;
		h = (h ^ k->hi.a[i]) * 16777619u;
	}
	h = (h ^ k->lo_port) * 16777619u;
	h = (h ^ k->hi_port) * 16777619u;
	h = (h ^ k->proto) * 16777619u;
	return (h ^ k->vlan) * 16777619u;
}

static int flow_eq(const struct cls_flow *a, const struct cls_flow *b)
{
	return a->proto == b->proto && a->vlan == b->vlan && a->lo_port == b->lo_port &&
	       a->hi_port == b->hi_port && addr_cmp(&a->lo, &b->lo) == 0 &&
	       addr_cmp(&a->hi, &b->hi) == 0;
}

/* The record's flow, created when new (NULL: the table is full, or no memory). */
static struct cls_flow *flow_get(struct classifier *c, const struct flow_rec *r, nt_usec ts)
{
	struct cls_flow k;
	uint16_t sp = FR_HAS(r, FR_SRC_PORT) ? r->src_port : 0;
	uint16_t dp = FR_HAS(r, FR_DST_PORT) ? r->dst_port : 0;
	int cmp = addr_cmp(&r->src_addr, &r->dst_addr);
	if (cmp < 0 || (cmp == 0 && sp <= dp)) {
		k.lo = r->src_addr, k.hi = r->dst_addr, k.lo_port = sp, k.hi_port = dp;
	} else {
		k.lo = r->dst_addr, k.hi = r->src_addr, k.lo_port = dp, k.hi_port = sp;
	}
	k.proto = r->proto;
	k.vlan = FR_HAS(r, FR_VLAN_IN) ? r->vlan_in : 0;
	unsigned b = flow_hash(&k) % c->o.num_roots;
	for (struct cls_flow *f = c->buckets[b]; f; f = f->next)
		if (flow_eq(f, &k))
			return f;
	if (c->nflows >= c->o.max_flows) {
		c->st.table_full++;
		return NULL;
	}
	struct cls_flow *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->nf = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT);
	if (!f->nf) {
		free(f);
		return NULL;
	}
	memset(f->nf, 0, SIZEOF_FLOW_STRUCT);
	f->lo = k.lo, f->hi = k.hi, f->lo_port = k.lo_port, f->hi_port = k.hi_port;
	f->proto = k.proto;
	f->vlan = k.vlan;
	f->last = ts;
	f->next = c->buckets[b];
	c->buckets[b] = f;
	c->nflows++;
	c->st.flows++;
	return f;
}

static void finish(struct classifier *c, struct cls_flow *f, ndpi_protocol p)
{
	if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN && p.master_protocol == NDPI_PROTOCOL_UNKNOWN) {
		uint8_t guessed = 0;
		p = ndpi_detection_giveup(c->ndpi, f->nf, (uint8_t)(c->o.proto_guess != 0),
					  &guessed);
		c->st.given_up++;
	} else {
		c->st.classified++;
	}
	f->name = class_name(c, p);
	f->done = 1;
	ndpi_free_flow(f->nf);
	f->nf = NULL;
}

void classify_packet(struct classifier *c, const uint8_t *l3, size_t l3len, nt_usec ts,
		     struct flow_rec *r)
{
	if (!c->ndpi || !l3 || !FR_HAS(r, FR_SRC_ADDR) || !FR_HAS(r, FR_PROTO)) {
		c->st.skipped++;
		return;
	}
	if (ts >= c->next_scan) {
		if (c->next_scan)
			idle_scan(c, ts);
		c->next_scan = ts + (nt_usec)c->o.idle_scan_period * 1000000u;
	}
	struct cls_flow *f = flow_get(c, r, ts);
	if (!f)
		return;
	if (ts > f->last)
		f->last = ts;
	if (!f->done) {
		/* nDPI reads a packet from its IP header; a later fragment has no transport */
		struct cursor cur = cur_make(l3, l3len);
		struct pkt_ip ip;
		if (pkt_walk_ip(&cur, 0, &ip) != PW_OK || (ip.frag && ip.frag_off)) {
			c->st.skipped++;
			return;
		}
		size_t len = l3len < ip.len ? l3len : ip.len;
		if (len > 65535)
			len = 65535;
		ndpi_protocol p = ndpi_detection_process_packet(c->ndpi, f->nf, l3,
								(unsigned short)len, ts / 1000);
		f->packets++;
		unsigned budget = f->proto == 6	   ? c->o.giveup_tcp
				  : f->proto == 17 ? c->o.giveup_udp
						   : c->o.giveup_other;
		int tcp_end = f->proto == 6 && FR_HAS(r, FR_TCP_FLAGS) && (r->tcp_flags & 0x05);
		if (p.app_protocol != NDPI_PROTOCOL_UNKNOWN || f->packets >= budget || tcp_end)
			finish(c, f, p);
	}
	if (f->done) {
		r->class_name = f->name;
		FR_SET(r, FR_CLASS);
	}
}

#endif
