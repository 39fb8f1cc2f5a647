/*
 * Template cache and decode plans for NetFlow v9 / IPFIX.
 *
 * Field numbering follows the IANA IPFIX registry, which for ids < 128 is the
 * NetFlow v9 numbering of RFC 3954 §8.  v9 options scope fields live in their
 * own number space (RFC 3954 §6.1: 1 System, 2 Interface, 3 Line Card,
 * 4 Cache, 5 Template) and are never mapped to record fields.
 */
#include "proto/nf_template.h"

#include "proto/netflow.h"

#include <stdlib.h>
#include <string.h>

#define STORE_BUCKETS 64

struct nf_template_store {
	struct nf_template *b[STORE_BUCKETS];
	size_t count;
	struct nf_tpl_budget *budget; /* NULL: only the per-exporter cap applies */
};

static void budget_sub(struct nf_template_store *s, size_t n)
{
	if (s->budget)
		s->budget->used -= n;
}

/* ---- plan ---------------------------------------------------------------- */

static int uint_len(uint16_t len)
{
	return len >= 1 && len <= 8;
}

/* Handler for a data template field; FK_SKIP when unknown or wrongly sized. */
static uint8_t plan_data(uint16_t type, uint16_t len, uint8_t *arg)
{
	/* names are strings: any length, variable too */
	if (type == 236)
		return FK_VRF_NAME;
	if (type == 82)
		return FK_IFNAME;
	if (len == NF_TPL_VARLEN)
		return FK_SKIP;
	switch (type) {
	case 90:
		return len == 8 ? FK_RD : FK_SKIP;
	case 1:
		return uint_len(len) ? FK_BYTES : FK_SKIP;
	case 2:
		return uint_len(len) ? FK_PKTS : FK_SKIP;
	case 3:
		return uint_len(len) ? FK_FLOWS : FK_SKIP;
	case 4:
		return uint_len(len) ? FK_PROTO : FK_SKIP;
	case 5:
		return uint_len(len) ? FK_TOS : FK_SKIP;
	case 6:
		return uint_len(len) ? FK_TCP_FLAGS : FK_SKIP;
	case 7:
		return uint_len(len) ? FK_SRC_PORT : FK_SKIP;
	case 8:
		return len == 4 ? FK_SRC_V4 : FK_SKIP;
	case 9:
		return uint_len(len) ? FK_SRC_MASK : FK_SKIP;
	case 10:
		return uint_len(len) ? FK_IN_IF : FK_SKIP;
	case 11:
		return uint_len(len) ? FK_DST_PORT : FK_SKIP;
	case 12:
		return len == 4 ? FK_DST_V4 : FK_SKIP;
	case 13:
		return uint_len(len) ? FK_DST_MASK : FK_SKIP;
	case 14:
		return uint_len(len) ? FK_OUT_IF : FK_SKIP;
	case 15:
		return len == 4 ? FK_NH_V4 : FK_SKIP;
	case 16:
		return uint_len(len) ? FK_SRC_AS : FK_SKIP;
	case 17:
		return uint_len(len) ? FK_DST_AS : FK_SKIP;
	case 18:
		return len == 4 ? FK_BGP_NH_V4 : FK_SKIP;
	case 21:
		return uint_len(len) ? FK_T_UPTIME_END : FK_SKIP;
	case 22:
		return uint_len(len) ? FK_T_UPTIME_START : FK_SKIP;
	case 23:
		return uint_len(len) ? FK_BYTES_OUT : FK_SKIP;
	case 24:
		return uint_len(len) ? FK_PKTS_OUT : FK_SKIP;
	case 27:
		return len == 16 ? FK_SRC_V6 : FK_SKIP;
	case 28:
		return len == 16 ? FK_DST_V6 : FK_SKIP;
	case 29:
		return uint_len(len) ? FK_SRC_MASK : FK_SKIP;
	case 30:
		return uint_len(len) ? FK_DST_MASK : FK_SKIP;
	case 31:
		return uint_len(len) ? FK_FLOW_LABEL : FK_SKIP;
	case 32:
		return uint_len(len) ? FK_ICMP : FK_SKIP;
	case 34:
		return uint_len(len) ? FK_SAMPLING_INTERVAL : FK_SKIP;
	case 139:
		return uint_len(len) ? FK_ICMP : FK_SKIP;
	case 48:
		return uint_len(len) ? FK_SAMPLER_ID : FK_SKIP;
	case 50:
		return uint_len(len) ? FK_SAMPLING_INTERVAL : FK_SKIP;
	case 56:
		return len == 6 ? FK_SRC_MAC : FK_SKIP;
	case 57:
		return len == 6 ? FK_DST_MAC_POST : FK_SKIP;
	case 58:
		return uint_len(len) ? FK_VLAN_IN : FK_SKIP;
	case 59:
		return uint_len(len) ? FK_VLAN_OUT : FK_SKIP;
	case 61:
		return uint_len(len) ? FK_DIRECTION : FK_SKIP;
	case 62:
		return len == 16 ? FK_NH_V6 : FK_SKIP;
	case 63:
		return len == 16 ? FK_BGP_NH_V6 : FK_SKIP;
	case 80:
		return len == 6 ? FK_DST_MAC : FK_SKIP;
	case 81:
		return len == 6 ? FK_SRC_MAC_POST : FK_SKIP;
	case 85:
		return uint_len(len) ? FK_BYTES_TOTAL : FK_SKIP;
	case 86:
		return uint_len(len) ? FK_PKTS_TOTAL : FK_SKIP;
	case 89:
		return uint_len(len) ? FK_FWD_STATUS : FK_SKIP;
	case 130:
		return len == 4 ? FK_EXPORTER_V4 : FK_SKIP;
	case 131:
		return len == 16 ? FK_EXPORTER_V6 : FK_SKIP;
	case 150:
		return uint_len(len) ? FK_T_SEC_START : FK_SKIP;
	case 151:
		return uint_len(len) ? FK_T_SEC_END : FK_SKIP;
	case 152:
		return uint_len(len) ? FK_T_MS_START : FK_SKIP;
	case 153:
		return uint_len(len) ? FK_T_MS_END : FK_SKIP;
	case 154:
	case 156:
		return len == 8 ? FK_T_NTP_START : FK_SKIP;
	case 155:
	case 157:
		return len == 8 ? FK_T_NTP_END : FK_SKIP;
	case 158:
		return uint_len(len) ? FK_T_DELTA_START : FK_SKIP;
	case 159:
		return uint_len(len) ? FK_T_DELTA_END : FK_SKIP;
	case 160:
		return uint_len(len) ? FK_T_SYSINIT : FK_SKIP;
	case 225:
		return len == 4 ? FK_NAT_SRC_V4 : FK_SKIP;
	case 226:
		return len == 4 ? FK_NAT_DST_V4 : FK_SKIP;
	case 227:
		return uint_len(len) ? FK_NAT_SRC_PORT : FK_SKIP;
	case 228:
		return uint_len(len) ? FK_NAT_DST_PORT : FK_SKIP;
	case 230:
		return uint_len(len) ? FK_NAT_EVENT : FK_SKIP;
	case 234:
		return uint_len(len) ? FK_VRF_IN : FK_SKIP;
	case 235:
		return uint_len(len) ? FK_VRF_OUT : FK_SKIP;
	case 243:
		return uint_len(len) ? FK_DOT1Q_IN : FK_SKIP;
	case 254:
		return uint_len(len) ? FK_DOT1Q_OUT : FK_SKIP;
	case 281:
		return len == 16 ? FK_NAT_SRC_V6 : FK_SKIP;
	case 282:
		return len == 16 ? FK_NAT_DST_V6 : FK_SKIP;
	case 302:
		return uint_len(len) ? FK_SAMPLER_ID : FK_SKIP;
	case 305:
		return uint_len(len) ? FK_SAMPLING_INTERVAL : FK_SKIP;
	case 306:
		return uint_len(len) ? FK_SAMPLING_SPACE : FK_SKIP;
	case 309:
		return uint_len(len) ? FK_SAMPLING_SIZE : FK_SKIP;
	case 310:
		return uint_len(len) ? FK_SAMPLING_POPULATION : FK_SKIP;
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
 * Options records feed the sampler table: sampler id, interval (v9 34/50,
 * IPFIX 305/306 or 309/310), direction (61); algorithm/mode fields are
 * informative only.  They also feed the names table (proto/nf_options.h):
 * VRF id (234/235) -> name (236) and route distinguisher (90), interface
 * index (10/14) -> name (82) or description (83).
 */
static uint8_t plan_options(uint16_t type, uint16_t len)
{
	switch (type) {
	case 236:
		return FK_VRF_NAME;
	case 82:
		return FK_IFNAME;
	case 83:
		return FK_IFDESCR;
	case 90:
		return len == 8 ? FK_RD : FK_SKIP;
	default:
		break;
	}
	if (!uint_len(len))
		return FK_SKIP;
	switch (type) {
	case 234:
		return FK_VRF_IN;
	case 235:
		return FK_VRF_OUT;
	case 10:
		return FK_IN_IF;
	case 14:
		return FK_OUT_IF;
	case 48:
	case 302:
		return FK_SAMPLER_ID;
	case 34:
	case 50:
	case 305:
		return FK_SAMPLING_INTERVAL;
	case 306:
		return FK_SAMPLING_SPACE;
	case 309:
		return FK_SAMPLING_SIZE;
	case 310:
		return FK_SAMPLING_POPULATION;
	case 61:
		return FK_DIRECTION;
	default:
		return FK_SKIP;
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
	case 10:
	case 14: /* ingress/egress interface */
	case 48:
	case 302: /* sampler / selector id */
	case 130:
	case 131: /* exporter address */
	case 141: /* lineCardId */
	case 143:
	case 144: /* metering / exporting process id */
	case 149: /* observationDomainId */
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

/* ---- fast plan ----------------------------------------------------------- */

/* Integer handlers: where the value goes and which FR_ bit says so. */
struct int_dst {
	uint16_t dst;
	uint8_t width;
	int8_t bit; /* enum fr_field, -1: no bit of its own */
};

#define INT_DST(kind, member, fr)                                                                  \
	[kind] = {offsetof(struct flow_rec, member), sizeof(((struct flow_rec *)0)->member), fr}

static const struct int_dst int_dsts[FK__COUNT] = {
    INT_DST(FK_SRC_MASK, src_mask, FR_SRC_MASK),
    INT_DST(FK_DST_MASK, dst_mask, FR_DST_MASK),
    INT_DST(FK_SRC_PORT, src_port, FR_SRC_PORT),
    INT_DST(FK_DST_PORT, dst_port, FR_DST_PORT),
    INT_DST(FK_PROTO, proto, FR_PROTO),
    INT_DST(FK_TOS, tos, FR_TOS),
    /* IPFIX tcpControlBits is 16 bits (RFC 7125); the record keeps the classic 8 */
    INT_DST(FK_TCP_FLAGS, tcp_flags, FR_TCP_FLAGS),
    INT_DST(FK_SRC_AS, src_as, FR_SRC_AS),
    INT_DST(FK_DST_AS, dst_as, FR_DST_AS),
    INT_DST(FK_IN_IF, in_iface, FR_IN_IFACE),
    INT_DST(FK_OUT_IF, out_iface, FR_OUT_IFACE),
    INT_DST(FK_FLOWS, flows, -1),
    INT_DST(FK_VLAN_IN, vlan_in, FR_VLAN_IN),
    INT_DST(FK_VLAN_OUT, vlan_out, FR_VLAN_OUT),
    INT_DST(FK_DOT1Q_IN, vlan_in, FR_VLAN_IN),
    INT_DST(FK_DOT1Q_OUT, vlan_out, FR_VLAN_OUT),
    INT_DST(FK_FWD_STATUS, fwd_status, FR_FWD_STATUS),
    INT_DST(FK_DIRECTION, direction, FR_DIRECTION),
    INT_DST(FK_NAT_SRC_PORT, post_nat_src_port, FR_POST_NAT_SRC_PORT),
    INT_DST(FK_NAT_DST_PORT, post_nat_dst_port, FR_POST_NAT_DST_PORT),
    INT_DST(FK_NAT_EVENT, nat_event, FR_NAT_EVENT),
    INT_DST(FK_ICMP, icmp_type_code, FR_ICMP),
    INT_DST(FK_VRF_IN, vrf_in, FR_VRF_IN),
    INT_DST(FK_VRF_OUT, vrf_out, FR_VRF_OUT),
    /* the counters' winner is picked below; they have no FR_ bit */
    INT_DST(FK_BYTES, bytes, -1),
    INT_DST(FK_BYTES_TOTAL, bytes, -1),
    INT_DST(FK_BYTES_OUT, bytes, -1),
    INT_DST(FK_PKTS, packets, -1),
    INT_DST(FK_PKTS_TOTAL, packets, -1),
    INT_DST(FK_PKTS_OUT, packets, -1),
};

int nf_tpl_is_plain_int(uint8_t kind)
{
	/* 243/254 only count when 58/59 are absent, counters have a precedence and
	 * flows no presence bit: those are the caller's business */
	return kind < FK__COUNT && kind != FK_DOT1Q_IN && kind != FK_DOT1Q_OUT &&
	       int_dsts[kind].width && int_dsts[kind].bit >= 0;
}

int nf_tpl_store_int(struct flow_rec *r, uint8_t kind, uint64_t v)
{
	if (!nf_tpl_is_plain_int(kind))
		return 0;
	const struct int_dst *d = &int_dsts[kind];
	uint8_t *dst = (uint8_t *)r + d->dst;
	switch (d->width) {
	case 1:
		*dst = (uint8_t)v;
		break;
	case 2: {
		uint16_t x = (uint16_t)v;
		memcpy(dst, &x, 2);
		break;
	}
	case 4: {
		uint32_t x = (uint32_t)v;
		memcpy(dst, &x, 4);
		break;
	}
	default:
		memcpy(dst, &v, 8);
		break;
	}
	FR_SET(r, d->bit);
	return 1;
}

/* Address and MAC handlers: destination, FR_ bit (-1: none), op. */
static int addr_dst(uint8_t kind, uint16_t *dst, int *bit, uint8_t *op)
{
	switch (kind) {
	case FK_SRC_V4:
	case FK_SRC_V6:
		*dst = offsetof(struct flow_rec, src_addr);
		*bit = FR_SRC_ADDR;
		break;
	case FK_DST_V4:
	case FK_DST_V6:
		*dst = offsetof(struct flow_rec, dst_addr);
		*bit = FR_DST_ADDR;
		break;
	case FK_NH_V4:
	case FK_NH_V6:
	case FK_BGP_NH_V4:
	case FK_BGP_NH_V6:
		*dst = offsetof(struct flow_rec, peer_dst_ip);
		*bit = FR_PEER_DST_IP;
		break;
	case FK_EXPORTER_V4:
	case FK_EXPORTER_V6:
		*dst = offsetof(struct flow_rec, peer_src_ip);
		*bit = -1;
		break;
	case FK_NAT_SRC_V4:
	case FK_NAT_SRC_V6:
		*dst = offsetof(struct flow_rec, post_nat_src_addr);
		*bit = FR_POST_NAT_SRC_ADDR;
		break;
	case FK_NAT_DST_V4:
	case FK_NAT_DST_V6:
		*dst = offsetof(struct flow_rec, post_nat_dst_addr);
		*bit = FR_POST_NAT_DST_ADDR;
		break;
	case FK_SRC_MAC:
	case FK_SRC_MAC_POST:
		*dst = offsetof(struct flow_rec, src_mac);
		*bit = FR_SRC_MAC;
		*op = NF_POP_MAC;
		return 1;
	case FK_DST_MAC:
	case FK_DST_MAC_POST:
		*dst = offsetof(struct flow_rec, dst_mac);
		*bit = FR_DST_MAC;
		*op = NF_POP_MAC;
		return 1;
	default:
		return 0;
	}
	switch (kind) {
	case FK_SRC_V6:
	case FK_DST_V6:
	case FK_NH_V6:
	case FK_BGP_NH_V6:
	case FK_EXPORTER_V6:
	case FK_NAT_SRC_V6:
	case FK_NAT_DST_V6:
		*op = NF_POP_ADDR6;
		break;
	default:
		*op = NF_POP_ADDR4;
		break;
	}
	return 1;
}

static enum nf_tk time_tk(uint8_t kind, int *which)
{
	*which = 0;
	switch (kind) {
	case FK_T_UPTIME_END:
		*which = 1; /* fall through */
	case FK_T_UPTIME_START:
		return NF_TK_UPTIME;
	case FK_T_SEC_END:
		*which = 1; /* fall through */
	case FK_T_SEC_START:
		return NF_TK_SEC;
	case FK_T_MS_END:
		*which = 1; /* fall through */
	case FK_T_MS_START:
		return NF_TK_MS;
	case FK_T_NTP_END:
		*which = 1; /* fall through */
	case FK_T_NTP_START:
		return NF_TK_NTP;
	case FK_T_DELTA_END:
		*which = 1; /* fall through */
	case FK_T_DELTA_START:
		return NF_TK_DELTA;
	default:
		return NF_TK_NONE;
	}
}

static unsigned pow2_class(unsigned n)
{
	return n == 1 ? 0 : n == 2 ? 1 : n == 4 ? 2 : 3;
}

static unsigned int_run(const struct nf_plan_int *e)
{
	if (e->wlen != 1 && e->wlen != 2 && e->wlen != 4 && e->wlen != 8)
		return NF_RUN_OTHER;
	return NF_RUN(pow2_class(e->wlen), pow2_class(e->width));
}

static int int_order(const void *a, const void *b)
{
	const struct nf_plan_int *x = a, *y = b;
	unsigned rx = int_run(x), ry = int_run(y);
	if (rx != ry)
		return rx < ry ? -1 : 1;
	return x->off - y->off; /* destinations are unique: any order is right */
}

/* Position of the field whose value a record-level rule keeps; -1: none. */
struct winners {
	int bytes, pkts;     /* counter precedence: IE 1/2, then 85/86, then 23/24 */
	int nh;		     /* BGP next hop (18/63) beats the IP next hop (15/62) */
	int mac[2], vlan[2]; /* 56/80 beat 81/57, 58/59 beat 243/254 */
};

/*
 * Whether field i survives the record-level rules of the generic decoder
 * (apply() / set_time() / finish_record() in netflow_v9.c), which the fast
 * path must reproduce exactly:
 *  - counters: the last field of the best class present;
 *  - next hop: the last BGP next hop if any, else the last IP next hop;
 *  - MACs / VLANs: the last 56/80 (58/59) if any, else the FIRST 81/57
 *    (243/254), because those only write when nothing was there yet.
 */
static void find_winners(const struct nf_tpl_field *f, uint16_t n, struct winners *w)
{
	int bclass = 3, pclass = 3, bgp = 0;
	int mac_direct[2] = {0, 0}, vlan_direct[2] = {0, 0};
	w->bytes = w->pkts = w->nh = -1;
	w->mac[0] = w->mac[1] = w->vlan[0] = w->vlan[1] = -1;
	for (int i = 0; i < n; i++) {
		int c = -1, side = -1;
		switch (f[i].kind) {
		case FK_BYTES:
			c = 0;
			break;
		case FK_BYTES_TOTAL:
			c = 1;
			break;
		case FK_BYTES_OUT:
			c = 2;
			break;
		default:
			break;
		}
		if (c >= 0 && c <= bclass) {
			bclass = c;
			w->bytes = i;
		}
		c = -1;
		switch (f[i].kind) {
		case FK_PKTS:
			c = 0;
			break;
		case FK_PKTS_TOTAL:
			c = 1;
			break;
		case FK_PKTS_OUT:
			c = 2;
			break;
		default:
			break;
		}
		if (c >= 0 && c <= pclass) {
			pclass = c;
			w->pkts = i;
		}
		switch (f[i].kind) {
		case FK_BGP_NH_V4:
		case FK_BGP_NH_V6:
			bgp = 1;
			w->nh = i;
			break;
		case FK_NH_V4:
		case FK_NH_V6:
			if (!bgp)
				w->nh = i;
			break;
		case FK_SRC_MAC:
		case FK_DST_MAC:
			side = f[i].kind == FK_DST_MAC;
			mac_direct[side] = 1;
			w->mac[side] = i;
			break;
		case FK_SRC_MAC_POST:
		case FK_DST_MAC_POST:
			side = f[i].kind == FK_DST_MAC_POST;
			if (!mac_direct[side] && w->mac[side] < 0)
				w->mac[side] = i;
			break;
		case FK_VLAN_IN:
		case FK_VLAN_OUT:
			side = f[i].kind == FK_VLAN_OUT;
			vlan_direct[side] = 1;
			w->vlan[side] = i;
			break;
		case FK_DOT1Q_IN:
		case FK_DOT1Q_OUT:
			side = f[i].kind == FK_DOT1Q_OUT;
			if (!vlan_direct[side] && w->vlan[side] < 0)
				w->vlan[side] = i;
			break;
		default:
			break;
		}
	}
}

static int survives(const struct nf_tpl_field *f, int i, const struct winners *w)
{
	switch (f[i].kind) {
	case FK_BYTES:
	case FK_BYTES_TOTAL:
	case FK_BYTES_OUT:
		return i == w->bytes;
	case FK_PKTS:
	case FK_PKTS_TOTAL:
	case FK_PKTS_OUT:
		return i == w->pkts;
	case FK_NH_V4:
	case FK_NH_V6:
	case FK_BGP_NH_V4:
	case FK_BGP_NH_V6:
		return i == w->nh;
	case FK_SRC_MAC:
	case FK_SRC_MAC_POST:
		return i == w->mac[0];
	case FK_DST_MAC:
	case FK_DST_MAC_POST:
		return i == w->mac[1];
	case FK_VLAN_IN:
	case FK_DOT1Q_IN:
		return i == w->vlan[0];
	case FK_VLAN_OUT:
	case FK_DOT1Q_OUT:
		return i == w->vlan[1];
	default:
		return 1;
	}
}

/* Where a field's value is: its segment and offset, or its vlen index. */
struct field_at {
	uint16_t off;
	uint8_t seg;
	uint8_t vlen; /* variable length: off is the vlen index */
};

/*
 * Lay the fields out in segments (see nf_template.h): at[i] for each field,
 * vgap[] and tail in p.  Returns -1 when there are more variable-length
 * fields than a plan can hold.
 */
static int layout(const struct nf_tpl_field *f, uint16_t n, struct nf_plan *p, struct field_at *at)
{
	uint16_t segoff = 0;
	uint8_t nv = 0;
	for (uint16_t i = 0; i < n; i++) {
		if (f[i].len == NF_TPL_VARLEN) {
			if (nv == NF_PLAN_MAX_VLEN)
				return -1;
			p->vgap[nv] = segoff;
			at[i] = (struct field_at){nv, nv, 1};
			nv++;
			segoff = 0;
		} else {
			at[i] = (struct field_at){segoff, nv, 0};
			segoff = (uint16_t)(segoff + f[i].len);
		}
	}
	p->nvlen = nv;
	p->tail = segoff;
	return 0;
}

static struct nf_plan_val val_at(const struct field_at *a, uint16_t len, uint8_t tk)
{
	return (struct nf_plan_val){a->off, a->vlen ? NF_PLAN_VLEN : len, tk, a->seg};
}

/* When a field makes the record's names worth resolving (nf_plan.names). */
static uint8_t names_kind(uint8_t kind)
{
	switch (kind) {
	case FK_VRF_IN:
	case FK_VRF_OUT:
	case FK_VRF_NAME:
	case FK_IFNAME:
	case FK_RD:
		return NF_PLAN_NAMES_ALWAYS;
	case FK_IN_IF:
	case FK_OUT_IF:
		return NF_PLAN_NAMES_IFACE;
	default:
		return 0;
	}
}

/*
 * Fill the fast plan of a data template (fields already planned); ints and
 * ops have room for nfields entries each.  Returns 0, or -1 when the
 * template needs the generic path: two MPLS fields for the same stack
 * position make the depth depend on their order and values.
 */
static int build_fast_plan(const struct nf_tpl_field *f, uint16_t n, struct nf_plan *p,
			   struct nf_plan_int *ints, struct nf_plan_op *ops, struct field_at *at)
{
	struct winners w;
	uint16_t mpls_seen = 0, nint = 0, nop = 0;
	uint8_t int_at[sizeof(struct flow_rec)];

	memset(int_at, 0, sizeof int_at);
	p->present = (1ull << FR_PEER_SRC_IP) | (1ull << FR_FLOWS);
	find_winners(f, n, &w);
	for (int i = 0; i < n; i++) {
		uint8_t kind = f[i].kind, op = 0;
		uint16_t dst, off = at[i].off, len = at[i].vlen ? NF_PLAN_VLEN : f[i].len;
		uint8_t seg = at[i].seg;
		int bit, which;
		enum nf_tk tk;

		if (f[i].custom != NF_TPL_NO_CUSTOM) {
			ops[nop++] =
			    (struct nf_plan_op){off, 0, len, NF_POP_CUSTOM, f[i].custom, seg};
		}
		if (kind == FK_SKIP || !survives(f, i, &w))
			continue;
		p->names |= names_kind(kind);
		if (int_dsts[kind].width) {
			const struct int_dst *d = &int_dsts[kind];
			/* a later field for the same member wins: replace the entry */
			if (int_at[d->dst]) {
				ints[int_at[d->dst] - 1].off = off;
				ints[int_at[d->dst] - 1].wlen = (uint8_t)f[i].len;
				ints[int_at[d->dst] - 1].seg = seg;
			} else {
				ints[nint] = (struct nf_plan_int){off, d->dst, (uint8_t)f[i].len,
								  d->width, seg};
				int_at[d->dst] = (uint8_t)++nint;
			}
			if (d->bit >= 0)
				p->present |= 1ull << d->bit;
			continue;
		}
		if (addr_dst(kind, &dst, &bit, &op)) {
			ops[nop++] = (struct nf_plan_op){off, dst, f[i].len, op, 0, seg};
			if (bit >= 0)
				p->present |= 1ull << bit;
			continue;
		}
		if ((tk = time_tk(kind, &which)) != NF_TK_NONE) {
			/* an absolute encoding beats sysUptime; otherwise the last one wins */
			if (!(p->t[which].tk > NF_TK_UPTIME && tk == NF_TK_UPTIME))
				p->t[which] = val_at(&at[i], f[i].len, (uint8_t)tk);
			continue;
		}
		switch (kind) {
		case FK_MPLS:
			if (mpls_seen & (1u << f[i].arg))
				return -1;
			mpls_seen |= (uint16_t)(1u << f[i].arg);
			ops[nop++] = (struct nf_plan_op){off, 0, 3, NF_POP_MPLS, f[i].arg, seg};
			p->has_mpls = 1;
			break;
		case FK_FLOW_LABEL:
			ops[nop++] =
			    (struct nf_plan_op){off, 0, f[i].len, NF_POP_FLOW_LABEL, 0, seg};
			p->present |= 1ull << FR_FLOW_LABEL;
			break;
		case FK_VRF_NAME:
		case FK_IFNAME:
			ops[nop++] =
			    (struct nf_plan_op){off, 0, len, NF_POP_NAME, kind == FK_IFNAME, seg};
			break;
		case FK_RD:
			ops[nop++] = (struct nf_plan_op){off, 0, 8, NF_POP_RD, 0, seg};
			break;
		case FK_T_SYSINIT:
			p->sysinit = val_at(&at[i], f[i].len, 0);
			break;
		case FK_SAMPLER_ID:
			p->sampler_id = val_at(&at[i], f[i].len, 0);
			break;
		case FK_SAMPLING_INTERVAL:
		case FK_SAMPLING_SPACE:
		case FK_SAMPLING_SIZE:
		case FK_SAMPLING_POPULATION:
			p->smp[kind - FK_SAMPLING_INTERVAL] = val_at(&at[i], f[i].len, 0);
			break;
		default:
			break; /* every handler is covered above; a new one stays inert */
		}
	}
	qsort(ints, nint, sizeof *ints, int_order);
	for (uint16_t i = 0; i < nint; i++)
		p->run[int_run(&ints[i])]++;
	for (uint8_t r = 0; r < NF_RUNS; r++)
		if (p->run[r])
			p->runs[p->nruns++] = r;
	p->seg0 = 1;
	for (uint16_t i = 0; i < nint; i++)
		if (ints[i].seg)
			p->seg0 = 0;
	for (uint16_t i = 0; i < nop; i++)
		if (ops[i].seg || ops[i].len == NF_PLAN_VLEN)
			p->seg0 = 0;
	const struct nf_plan_val *vals[] = {&p->t[0],	&p->t[1],   &p->sysinit, &p->sampler_id,
					    &p->smp[0], &p->smp[1], &p->smp[2],	 &p->smp[3]};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
		if (vals[i]->len && (vals[i]->seg || vals[i]->len == NF_PLAN_VLEN))
			p->seg0 = 0;
	for (int i = 0; i < 4; i++)
		if (p->smp[i].len)
			p->has_smp = 1;
	p->nint = nint;
	p->nop = nop;
	p->ints = ints;
	p->ops = ops;
	return 0;
}

/* Options plan: the last field of each kind (as the generic path keeps it). */
static void build_opt_plan(const struct nf_tpl_field *f, uint16_t n, struct nf_plan *p,
			   struct nf_plan_opt *o, const struct field_at *at)
{
	for (uint16_t i = 0; i < n; i++) {
		struct nf_plan_val v = val_at(&at[i], f[i].len, 0), *slot = NULL;
		switch (f[i].kind) {
		case FK_SAMPLER_ID:
			slot = &o->sampler_id;
			break;
		case FK_SAMPLING_INTERVAL:
		case FK_SAMPLING_SPACE:
		case FK_SAMPLING_SIZE:
		case FK_SAMPLING_POPULATION:
			slot = &o->smp[f[i].kind - FK_SAMPLING_INTERVAL];
			break;
		case FK_DIRECTION:
			slot = &o->direction;
			break;
		case FK_VRF_IN:
		case FK_VRF_OUT:
			slot = &o->vrf[f[i].kind == FK_VRF_OUT];
			break;
		case FK_IN_IF:
		case FK_OUT_IF:
			slot = &o->iface[f[i].kind == FK_OUT_IF];
			break;
		case FK_VRF_NAME:
			slot = &o->vrf_name;
			break;
		case FK_IFNAME:
			slot = &o->ifname;
			break;
		case FK_IFDESCR:
			slot = &o->ifdescr;
			break;
		case FK_RD:
			slot = &o->rd;
			break;
		default:
			break;
		}
		if (slot)
			*slot = v;
	}
	p->opt = o;
}

uint64_t nf_skip_normalize(uint64_t skip)
{
	skip &= NF_SKIPPABLE;
	if ((skip & NF_SKIP_NAMES) != NF_SKIP_NAMES)
		skip &= ~(NF_SKIP_NAMES | NF_SKIP_NAME_KEYS);
	return skip;
}

/* The FR_ bits a data field's handler may set; 0 when it is never skipped. */
static uint64_t kind_bits(uint8_t kind)
{
	uint16_t dst;
	uint8_t op;
	int bit, which;
	if (kind == FK_SKIP)
		return 0;
	if (int_dsts[kind].width)
		return int_dsts[kind].bit >= 0 ? 1ull << int_dsts[kind].bit : 0;
	if (addr_dst(kind, &dst, &bit, &op))
		return bit >= 0 ? 1ull << bit : 0;
	if (time_tk(kind, &which) != NF_TK_NONE)
		return 1ull << (which ? FR_TS_END : FR_TS_START);
	switch (kind) {
	case FK_T_SYSINIT:
		return (1ull << FR_TS_START) | (1ull << FR_TS_END);
	case FK_MPLS:
		return 1ull << FR_MPLS;
	case FK_FLOW_LABEL:
		return 1ull << FR_FLOW_LABEL;
	case FK_VRF_NAME:
	case FK_IFNAME:
	case FK_RD:
		return NF_SKIP_NAMES;
	default:
		return 0; /* sampling fields and whatever comes later: always decoded */
	}
}

struct nf_template *nf_tpl_build(uint8_t version, uint32_t domain, uint16_t id, int options,
				 uint16_t nscope, const struct nf_tpl_field *fields,
				 uint16_t nfields, const struct prim_registry *custom,
				 uint64_t skip, const char **why)
{
	skip = nf_skip_normalize(skip);
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
	/*
	 * Templates carry their fast plan behind the field list, in the same
	 * allocation: the templates file loader and the store release
	 * templates with a plain free().
	 */
	size_t base = sizeof(struct nf_template) + (size_t)nfields * sizeof(struct nf_tpl_field);
	size_t plan_at = (base + _Alignof(struct nf_plan) - 1) & ~(_Alignof(struct nf_plan) - 1);
	size_t size =
	    plan_at + sizeof(struct nf_plan) +
	    (options ? sizeof(struct nf_plan_opt)
		     : (size_t)nfields * (sizeof(struct nf_plan_op) + sizeof(struct nf_plan_int)));
	struct nf_template *t = calloc(1, size);
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
			/* v9 scope types are their own number space, never record fields;
			 * the Interface scope (2) is the ifindex an interface table is keyed by */
			if (version == 9 && f->scope)
				f->kind = f->type == 2 && uint_len(f->len) ? FK_IN_IF : FK_SKIP;
			else if (!f->pen)
				f->kind = plan_options(f->type, f->len);
		} else {
			if (!f->pen)
				f->kind = plan_data(f->type, f->len, &f->arg);
			uint64_t bits = kind_bits(f->kind);
			if (bits && (bits & skip) == bits)
				f->kind = FK_SKIP; /* nothing reads what it would set */
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
	struct nf_plan *p = (struct nf_plan *)((char *)t + plan_at);
	struct field_at at[NF_TPL_MAX_FIELDS];
	if (layout(t->f, nfields, p, at) == 0) {
		if (options) {
			build_opt_plan(t->f, nfields, p, (struct nf_plan_opt *)(p + 1), at);
			t->plan = p;
		} else {
			struct nf_plan_op *ops = (struct nf_plan_op *)(p + 1);
			struct nf_plan_int *ints = (struct nf_plan_int *)(ops + nfields);
			if (build_fast_plan(t->f, nfields, p, ints, ops, at) == 0)
				t->plan = p;
		}
	}
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

void nf_tpl_store_set_budget(struct nf_template_store *s, struct nf_tpl_budget *b)
{
	if (s->budget)
		s->budget->used -= s->count;
	s->budget = b;
	if (b)
		b->used += s->count;
}

void nf_tpl_store_free(struct nf_template_store *s)
{
	if (!s)
		return;
	budget_sub(s, s->count);
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

size_t nf_tpl_store_count(const struct nf_template_store *s)
{
	return s ? s->count : 0;
}

struct nf_template *nf_tpl_get(const struct nf_template_store *s, uint8_t version, uint32_t domain,
			       uint16_t id)
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
	if (s->count >= NF_TPL_MAX_PER_EXPORTER ||
	    (s->budget && s->budget->max && s->budget->used >= s->budget->max)) {
		/* a template flood (or spoofed exporter) must not grow memory without bound */
		free(t);
		return -1;
	}
	t->next = NULL;
	*pp = t;
	s->count++;
	if (s->budget)
		s->budget->used++;
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
			budget_sub(s, 1);
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
				budget_sub(s, 1);
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
