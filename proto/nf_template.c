/*
 * Template cache and decode plans for NetFlow v9 / IPFIX.
 *
 * Field numbering follows the IANA IPFIX registry, which for ids < 128 is the
 * NetFlow v9 numbering of RFC 3954 §8.  v9 options scope fields live in their
 * own number space (RFC 3954 §6.1: 1 System, 2 Interface, 3 Line Card,
 * 4 Cache, 5 Template) and are never mapped to record fields.
 */
#include "proto/nf_template.h"

#include <stdlib.h>
#include <string.h>

#define STORE_BUCKETS 64

struct nf_template_store {
	struct nf_template *b[STORE_BUCKETS];
	size_t count;
};

/* ---- plan ---------------------------------------------------------------- */

static int uint_len(uint16_t len) { return len >= 1 && len <= 8; }

/* Handler for a data template field; FK_SKIP when unknown or wrongly sized. */
static uint8_t plan_data(uint16_t type, uint16_t len, uint8_t *arg)
{
	if (len == NF_TPL_VARLEN)
		return FK_SKIP;
	switch (type) {
	case 1: return uint_len(len) ? FK_BYTES : FK_SKIP;
	case 2: return uint_len(len) ? FK_PKTS : FK_SKIP;
	case 3: return uint_len(len) ? FK_FLOWS : FK_SKIP;
	case 4: return uint_len(len) ? FK_PROTO : FK_SKIP;
	case 5: return uint_len(len) ? FK_TOS : FK_SKIP;
	case 6: return uint_len(len) ? FK_TCP_FLAGS : FK_SKIP;
	case 7: return uint_len(len) ? FK_SRC_PORT : FK_SKIP;
	case 8: return len == 4 ? FK_SRC_V4 : FK_SKIP;
	case 9: return uint_len(len) ? FK_SRC_MASK : FK_SKIP;
	case 10: return uint_len(len) ? FK_IN_IF : FK_SKIP;
	case 11: return uint_len(len) ? FK_DST_PORT : FK_SKIP;
	case 12: return len == 4 ? FK_DST_V4 : FK_SKIP;
	case 13: return uint_len(len) ? FK_DST_MASK : FK_SKIP;
	case 14: return uint_len(len) ? FK_OUT_IF : FK_SKIP;
	case 15: return len == 4 ? FK_NH_V4 : FK_SKIP;
	case 16: return uint_len(len) ? FK_SRC_AS : FK_SKIP;
	case 17: return uint_len(len) ? FK_DST_AS : FK_SKIP;
	case 18: return len == 4 ? FK_BGP_NH_V4 : FK_SKIP;
	case 21: return uint_len(len) ? FK_T_UPTIME_END : FK_SKIP;
	case 22: return uint_len(len) ? FK_T_UPTIME_START : FK_SKIP;
	case 23: return uint_len(len) ? FK_BYTES_OUT : FK_SKIP;
	case 24: return uint_len(len) ? FK_PKTS_OUT : FK_SKIP;
	case 27: return len == 16 ? FK_SRC_V6 : FK_SKIP;
	case 28: return len == 16 ? FK_DST_V6 : FK_SKIP;
	case 29: return uint_len(len) ? FK_SRC_MASK : FK_SKIP;
	case 30: return uint_len(len) ? FK_DST_MASK : FK_SKIP;
	case 31: return uint_len(len) ? FK_FLOW_LABEL : FK_SKIP;
	case 34: return uint_len(len) ? FK_SAMPLING_INTERVAL : FK_SKIP;
	case 48: return uint_len(len) ? FK_SAMPLER_ID : FK_SKIP;
	case 50: return uint_len(len) ? FK_SAMPLING_INTERVAL : FK_SKIP;
	case 56: return len == 6 ? FK_SRC_MAC : FK_SKIP;
	case 57: return len == 6 ? FK_DST_MAC_POST : FK_SKIP;
	case 58: return uint_len(len) ? FK_VLAN_IN : FK_SKIP;
	case 59: return uint_len(len) ? FK_VLAN_OUT : FK_SKIP;
	case 61: return uint_len(len) ? FK_DIRECTION : FK_SKIP;
	case 62: return len == 16 ? FK_NH_V6 : FK_SKIP;
	case 63: return len == 16 ? FK_BGP_NH_V6 : FK_SKIP;
	case 80: return len == 6 ? FK_DST_MAC : FK_SKIP;
	case 81: return len == 6 ? FK_SRC_MAC_POST : FK_SKIP;
	case 85: return uint_len(len) ? FK_BYTES_TOTAL : FK_SKIP;
	case 86: return uint_len(len) ? FK_PKTS_TOTAL : FK_SKIP;
	case 89: return uint_len(len) ? FK_FWD_STATUS : FK_SKIP;
	case 130: return len == 4 ? FK_EXPORTER_V4 : FK_SKIP;
	case 131: return len == 16 ? FK_EXPORTER_V6 : FK_SKIP;
	case 150: return uint_len(len) ? FK_T_SEC_START : FK_SKIP;
	case 151: return uint_len(len) ? FK_T_SEC_END : FK_SKIP;
	case 152: return uint_len(len) ? FK_T_MS_START : FK_SKIP;
	case 153: return uint_len(len) ? FK_T_MS_END : FK_SKIP;
	case 154: case 156: return len == 8 ? FK_T_NTP_START : FK_SKIP;
	case 155: case 157: return len == 8 ? FK_T_NTP_END : FK_SKIP;
	case 158: return uint_len(len) ? FK_T_DELTA_START : FK_SKIP;
	case 159: return uint_len(len) ? FK_T_DELTA_END : FK_SKIP;
	case 160: return uint_len(len) ? FK_T_SYSINIT : FK_SKIP;
	case 225: return len == 4 ? FK_NAT_SRC_V4 : FK_SKIP;
	case 226: return len == 4 ? FK_NAT_DST_V4 : FK_SKIP;
	case 227: return uint_len(len) ? FK_NAT_SRC_PORT : FK_SKIP;
	case 228: return uint_len(len) ? FK_NAT_DST_PORT : FK_SKIP;
	case 230: return uint_len(len) ? FK_NAT_EVENT : FK_SKIP;
	case 234: return uint_len(len) ? FK_VRF_IN : FK_SKIP;
	case 235: return uint_len(len) ? FK_VRF_OUT : FK_SKIP;
	case 243: return uint_len(len) ? FK_DOT1Q_IN : FK_SKIP;
	case 254: return uint_len(len) ? FK_DOT1Q_OUT : FK_SKIP;
	case 281: return len == 16 ? FK_NAT_SRC_V6 : FK_SKIP;
	case 282: return len == 16 ? FK_NAT_DST_V6 : FK_SKIP;
	case 302: return uint_len(len) ? FK_SAMPLER_ID : FK_SKIP;
	case 305: return uint_len(len) ? FK_SAMPLING_INTERVAL : FK_SKIP;
	case 306: return uint_len(len) ? FK_SAMPLING_SPACE : FK_SKIP;
	case 309: return uint_len(len) ? FK_SAMPLING_SIZE : FK_SKIP;
	case 310: return uint_len(len) ? FK_SAMPLING_POPULATION : FK_SKIP;
	default:
		break;
	}
	if (type >= 70 && type <= 79 && len == 3) {
		*arg = (uint8_t)(type - 70);
		return FK_MPLS;
	}
	return FK_SKIP;
}

/*
 * Options records only feed the sampler table: sampler id, interval (v9
 * 34/50, IPFIX 305/306 or 309/310), direction (61); algorithm/mode fields
 * are informative only.
 */
static uint8_t plan_options(uint16_t type, uint16_t len)
{
	if (!uint_len(len))
		return FK_SKIP;
	switch (type) {
	case 48: case 302: return FK_SAMPLER_ID;
	case 34: case 50: case 305: return FK_SAMPLING_INTERVAL;
	case 306: return FK_SAMPLING_SPACE;
	case 309: return FK_SAMPLING_SIZE;
	case 310: return FK_SAMPLING_POPULATION;
	case 61: return FK_DIRECTION;
	default: return FK_SKIP;
	}
}

/*
 * Scope check (nfacctd_disable_opt_scope_check turns it off): sampler
 * options are trusted only when scoped to the whole exporter or a part of it
 * that samples (system, line card, interface, metering/exporting process,
 * the sampler itself).  v9 "Cache" and "Template" scopes describe something
 * else and a sampler table keyed by them would be wrong.
 */
static int scope_acceptable(uint8_t version, const struct nf_tpl_field *f)
{
	if (version == 9)
		return f->type >= 1 && f->type <= 3;
	if (f->pen)
		return 0;
	switch (f->type) {
	case 10: case 14:   /* ingress/egress interface */
	case 48: case 302:  /* sampler / selector id */
	case 130: case 131: /* exporter address */
	case 141:           /* lineCardId */
	case 143: case 144: /* metering / exporting process id */
	case 149:           /* observationDomainId */
		return 1;
	default:
		return 0;
	}
}

static uint8_t custom_index(const struct prim_registry *reg, uint32_t pen, uint16_t type)
{
	if (!reg)
		return NF_TPL_NO_CUSTOM;
	for (unsigned i = 0; i < reg->ncustom && i < FR_CUSTOM_MAX; i++)
		if (reg->custom[i].pen == pen && reg->custom[i].field_type == type)
			return (uint8_t)reg->custom[i].index;
	return NF_TPL_NO_CUSTOM;
}

struct nf_template *nf_tpl_build(uint8_t version, uint32_t domain, uint16_t id, int options,
				 uint16_t nscope, const struct nf_tpl_field *fields,
				 uint16_t nfields, const struct prim_registry *custom,
				 const char **why)
{
	uint32_t min_len = 0;
	int varlen = 0, scope_ok = 1;

	if (nfields == 0) {
		*why = "template without fields";
		return NULL;
	}
	if (nfields > NF_TPL_MAX_FIELDS) {
		*why = "too many fields";
		return NULL;
	}
	if (nscope > nfields || (options && version == 10 && nscope == 0)) {
		*why = "bad scope field count";
		return NULL;
	}
	struct nf_template *t = calloc(1, sizeof *t + (size_t)nfields * sizeof t->f[0]);
	if (!t) {
		*why = "out of memory";
		return NULL;
	}
	t->version = version;
	t->domain = domain;
	t->id = id;
	t->options = options ? 1 : 0;
	t->nscope = options ? nscope : 0;
	t->nfields = nfields;
	for (uint16_t i = 0; i < nfields; i++) {
		struct nf_tpl_field *f = &t->f[i];
		f->pen = fields[i].pen;
		f->type = fields[i].type;
		f->len = fields[i].len;
		f->arg = 0;
		f->scope = i < t->nscope;
		f->custom = NF_TPL_NO_CUSTOM;
		f->kind = FK_SKIP;
		if (f->len == NF_TPL_VARLEN) {
			if (version != 10) { /* v9 has no variable-length encoding */
				*why = "variable-length field in a v9 template";
				free(t);
				return NULL;
			}
			varlen = 1;
			min_len += 1; /* shortest encoding: one length byte, empty value */
		} else {
			min_len += f->len;
		}
		if (options) {
			if (f->scope && !scope_acceptable(version, f))
				scope_ok = 0;
			/* v9 scope types are their own number space, never record fields */
			if (!(version == 9 && f->scope) && !f->pen)
				f->kind = plan_options(f->type, f->len);
		} else {
			if (!f->pen)
				f->kind = plan_data(f->type, f->len, &f->arg);
			f->custom = custom_index(custom, f->pen, f->type);
		}
	}
	/* a record must fit a set (16-bit length minus its header) and occupy
	 * at least a byte, or a data set would loop forever on nothing */
	if (min_len == 0 || min_len > 65535 - 4) {
		*why = min_len == 0 ? "zero-length records" : "record longer than a set";
		free(t);
		return NULL;
	}
	t->min_len = (uint16_t)min_len;
	t->has_varlen = (uint8_t)varlen;
	t->scope_ok = (uint8_t)(options ? scope_ok : 1);
	return t;
}

int nf_tpl_equal(const struct nf_template *a, const struct nf_template *b)
{
	if (a->version != b->version || a->options != b->options || a->nscope != b->nscope ||
	    a->nfields != b->nfields)
		return 0;
	for (uint16_t i = 0; i < a->nfields; i++)
		if (a->f[i].pen != b->f[i].pen || a->f[i].type != b->f[i].type ||
		    a->f[i].len != b->f[i].len)
			return 0;
	return 1;
}

/* ---- store --------------------------------------------------------------- */

static unsigned bucket(uint8_t version, uint32_t domain, uint16_t id)
{
	uint32_t h = (domain * 2654435761u) ^ ((uint32_t)id * 40503u) ^ version;
	return (h ^ (h >> 16)) & (STORE_BUCKETS - 1);
}

struct nf_template_store *nf_tpl_store_new(void)
{
	return calloc(1, sizeof(struct nf_template_store));
}

void nf_tpl_store_free(struct nf_template_store *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < STORE_BUCKETS; i++) {
		struct nf_template *t = s->b[i];
		while (t) {
			struct nf_template *n = t->next;
			free(t);
			t = n;
		}
	}
	free(s);
}

size_t nf_tpl_store_count(const struct nf_template_store *s) { return s ? s->count : 0; }

struct nf_template *nf_tpl_get(const struct nf_template_store *s, uint8_t version,
			       uint32_t domain, uint16_t id)
{
	if (!s)
		return NULL;
	for (struct nf_template *t = s->b[bucket(version, domain, id)]; t; t = t->next)
		if (t->id == id && t->domain == domain && t->version == version)
			return t;
	return NULL;
}

int nf_tpl_put(struct nf_template_store *s, struct nf_template *t)
{
	struct nf_template **pp = &s->b[bucket(t->version, t->domain, t->id)];
	for (; *pp; pp = &(*pp)->next) {
		struct nf_template *old = *pp;
		if (old->id != t->id || old->domain != t->domain || old->version != t->version)
			continue;
		if (nf_tpl_equal(old, t)) {
			free(t);
			return 0;
		}
		t->next = old->next;
		*pp = t;
		free(old);
		return 1;
	}
	t->next = NULL;
	*pp = t;
	s->count++;
	return 1;
}

int nf_tpl_withdraw(struct nf_template_store *s, uint8_t version, uint32_t domain, uint16_t id)
{
	if (!s)
		return 0;
	for (struct nf_template **pp = &s->b[bucket(version, domain, id)]; *pp; pp = &(*pp)->next) {
		struct nf_template *t = *pp;
		if (t->id == id && t->domain == domain && t->version == version) {
			*pp = t->next;
			free(t);
			s->count--;
			return 1;
		}
	}
	return 0;
}

size_t nf_tpl_withdraw_all(struct nf_template_store *s, uint8_t version, uint32_t domain,
			   int options)
{
	size_t n = 0;
	if (!s)
		return 0;
	for (unsigned i = 0; i < STORE_BUCKETS; i++) {
		struct nf_template **pp = &s->b[i];
		while (*pp) {
			struct nf_template *t = *pp;
			if (t->version == version && t->domain == domain &&
			    t->options == (options ? 1 : 0)) {
				*pp = t->next;
				free(t);
				s->count--;
				n++;
			} else {
				pp = &t->next;
			}
		}
	}
	return n;
}

void nf_tpl_foreach(const struct nf_template_store *s,
		    void (*fn)(void *arg, const struct nf_template *t), void *arg)
{
	if (!s)
		return;
	for (unsigned i = 0; i < STORE_BUCKETS; i++)
		for (const struct nf_template *t = s->b[i]; t; t = t->next)
			fn(arg, t);
}
