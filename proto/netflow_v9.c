/*
 * NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) decoder.
 *
 *   v9 header (20 bytes, RFC 3954 §5.1)
 *   |version=9|count|sysUptime(ms)|unix_secs|sequence (packets)|source_id|
 *   IPFIX message header (16 bytes, RFC 7011 §3.1)
 *   |version=10|length|export_time(s)|sequence (data records)|obs. domain id|
 *
 *   then sets:  |set id (2)|length (2, header included)|body ... padding|
 *     v9:    0 template, 1 options template, >=256 data
 *     IPFIX: 2 template, 3 options template, >=256 data  (RFC 7011 §3.3.2)
 *
 * Every set is carved out with cur_sub() before its body is looked at, so a
 * malformed body costs that set only.  The v9 header count is not trusted:
 * softflowd writes a record count, most routers a flowset count, so we
 * simply decode every set within the datagram.
 *
 * Errors: the first one is returned (nf_decode counts it); later ones in the
 * same datagram are counted here, so every malformation is counted once.
 */
#include <string.h>

#include "proto/cursor.h"
#include "proto/netflow.h"
#include "proto/nf_options.h"
#include "proto/nf_sampling.h"
#include "proto/nf_template.h"

#define NF9_HDR_LEN	20
#define IPFIX_HDR_LEN	16
#define NTP_UNIX_OFFSET 2208988800ull /* seconds 1900-01-01 .. 1970-01-01 */

struct nf9_msg {
	struct nf_collector *c;
	struct nf_exporter *ex;
	uint8_t version;
	uint32_t domain;
	uint32_t seq;
	uint32_t uptime_ms; /* v9 only */
	nt_usec export_usec;
	nt_usec arrival;
	uint32_t records;      /* data + options records seen (IPFIX sequence advance) */
	enum nf_err first_err; /* first malformation (never NF_ERR_NO_TEMPLATE) */
	uint32_t no_template;  /* data sets skipped for want of a template */
	/*
	 * Template whose fast plan last filled c->rec, NULL when the record
	 * holds anything else.  Records of that template write the same
	 * fields every time, so the next one need not clear it first.  Reset
	 * whenever a template set is processed: a template freed and another
	 * allocated at the same address must not be taken for the same one.
	 */
	const struct nf_template *owner;
};

static void msg_err(struct nf9_msg *m, enum nf_err e)
{
	if (e == NF_ERR_NO_TEMPLATE) {
		/* not a malformation: counted here, reported only if nothing worse */
		m->no_template++;
		m->ex->st.err[e]++;
	} else if (m->first_err == NF_OK)
		m->first_err = e; /* nf_decode() counts the returned error */
	else
		m->ex->st.err[e]++;
}

static void tpl_changed(struct nf9_msg *m)
{
	if (m->c->opt.template_changed)
		m->c->opt.template_changed(m->c->opt.template_arg, m->ex);
}

/* ---- templates ----------------------------------------------------------- */

static int ensure_stores(struct nf_collector *c, struct nf_exporter *ex)
{
	if (!ex->templates) {
		if (!(ex->templates = nf_tpl_store_new()))
			return -1;
		nf_tpl_store_set_budget(ex->templates, &c->tpl_budget);
	}
	if (!ex->samplers && !(ex->samplers = nf_sampler_store_new()))
		return -1;
	if (!ex->names && !(ex->names = nf_names_new()))
		return -1;
	return 0;
}

/* Read n field specifiers; IPFIX ones may carry an enterprise number (RFC 7011 §3.2). */
static int read_fields(struct cursor *cur, uint8_t version, struct nf_tpl_field *f, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		uint16_t type, len;
		uint32_t pen = 0;
		if (cur_u16(cur, &type) < 0 || cur_u16(cur, &len) < 0)
			return -1;
		if (version == 10 && (type & 0x8000)) {
			if (cur_u32(cur, &pen) < 0)
				return -1;
			type &= 0x7fff;
		}
		memset(&f[i], 0, sizeof f[i]);
		f[i].type = type;
		f[i].len = len;
		f[i].pen = pen;
	}
	return 0;
}

/*
 * Install a parsed template.  A definition we cannot use still removes the
 * previous one of the same id: decoding later data with the old layout
 * would silently produce garbage.
 */
static void install(struct nf9_msg *m, uint16_t id, int options, uint16_t nscope,
		    const struct nf_tpl_field *f, uint16_t nfields)
{
	const char *why = NULL;
	struct nf_template *t = nf_tpl_build(m->version, m->domain, id, options, nscope, f, nfields,
					     m->c->opt.custom, m->c->opt.skip, &why);
	if (!t) {
		msg_err(m, options ? NF_ERR_BAD_OPTIONS : NF_ERR_BAD_TEMPLATE);
		if (nf_tpl_withdraw(m->ex->templates, m->version, m->domain, id))
			tpl_changed(m);
		return;
	}
	int rc = nf_tpl_put(m->ex->templates, t);
	if (rc < 0)
		msg_err(m, NF_ERR_LIMIT);
	else if (rc > 0)
		tpl_changed(m);
}

static void withdraw(struct nf9_msg *m, uint16_t set_id, uint16_t id, int options)
{
	/* RFC 7011 §8.1: a withdrawal of the set id itself withdraws them all */
	if (id == set_id) {
		if (nf_tpl_withdraw_all(m->ex->templates, m->version, m->domain, options))
			tpl_changed(m);
		return;
	}
	if (id < 256) {
		msg_err(m, NF_ERR_BAD_TEMPLATE);
		return;
	}
	if (nf_tpl_withdraw(m->ex->templates, m->version, m->domain, id))
		tpl_changed(m);
}

/* v9 flowset 0 / IPFIX set 2: |template id|field count|fields...| repeated. */
static void template_set(struct nf9_msg *m, uint16_t set_id, struct cursor *set)
{
	struct nf_tpl_field f[NF_TPL_MAX_FIELDS];
	m->owner = NULL; /* templates may be freed and reallocated below */
	while (cur_left(set) >= 4) {
		uint16_t id, count;
		cur_u16(set, &id);
		cur_u16(set, &count);
		if (id == 0 && count == 0)
			return; /* padding (RFC 7011 §3.3.1 says it is zeros) */
		if (count == 0 && m->version == 10) {
			withdraw(m, set_id, id, 0);
			continue;
		}
		if (id < 256) {
			msg_err(m, NF_ERR_BAD_TEMPLATE);
			return; /* without a valid id the rest of the set is suspect too */
		}
		if (count > NF_TPL_MAX_FIELDS) {
			msg_err(m, NF_ERR_BAD_TEMPLATE);
			if (nf_tpl_withdraw(m->ex->templates, m->version, m->domain, id))
				tpl_changed(m);
			return; /* cannot find the next template without reading these */
		}
		if (read_fields(set, m->version, f, count) < 0) {
			msg_err(m, NF_ERR_TRUNCATED);
			return;
		}
		install(m, id, 0, 0, f, count);
	}
}

/*
 * v9 flowset 1 (RFC 3954 §6.1):
 *   |template id|scope length (bytes)|option length (bytes)|scope fields|option fields|pad|
 * IPFIX set 3 (RFC 7011 §3.4.2.2):
 *   |template id|field count|scope field count|fields (scope first)|
 */
static void options_template_set(struct nf9_msg *m, uint16_t set_id, struct cursor *set)
{
	struct nf_tpl_field f[NF_TPL_MAX_FIELDS];
	m->owner = NULL; /* templates may be freed and reallocated below */
	while (cur_left(set) >= 4) {
		uint16_t id, a, b = 0, nscope, nfields;
		cur_u16(set, &id);
		cur_u16(set, &a);
		if (id == 0 && a == 0)
			return; /* padding */
		if (m->version == 10 && a == 0) {
			withdraw(m, set_id, id, 1);
			continue;
		}
		if (cur_u16(set, &b) < 0) {
			msg_err(m, NF_ERR_TRUNCATED);
			return;
		}
		if (m->version == 9) {
			if (a % 4 || b % 4) {
				msg_err(m, NF_ERR_BAD_OPTIONS);
				return;
			}
			nscope = a / 4;
			nfields = (uint16_t)(nscope + b / 4);
		} else {
			nfields = a;
			nscope = b;
		}
		if (id < 256 || nfields > NF_TPL_MAX_FIELDS) {
			msg_err(m, NF_ERR_BAD_OPTIONS);
			if (id >= 256 &&
			    nf_tpl_withdraw(m->ex->templates, m->version, m->domain, id))
				tpl_changed(m);
			return;
		}
		if (read_fields(set, m->version, f, nfields) < 0) {
			msg_err(m, NF_ERR_TRUNCATED);
			return;
		}
		install(m, id, 1, nscope, f, nfields);
		if (m->version == 9)
			return; /* one per flowset; what follows is padding */
	}
}

/* ---- data records ------------------------------------------------------- */

/* Sampling fields as exported; which ones are present decides the rate. */
struct smp_raw {
	uint64_t interval, space, size, population;
	uint8_t have; /* SMP_* bits */
};
#define SMP_INTERVAL   1u
#define SMP_SPACE      2u
#define SMP_SIZE       4u
#define SMP_POPULATION 8u

/* Names and route distinguisher a data record carries itself. */
struct rec_names {
	const uint8_t *name[2]; /* 0: VRF name (IE 236), 1: interface name (IE 82) */
	uint16_t len[2];
	uint8_t has[2];
	uint8_t has_rd;
	uint64_t rd;
};

/* Values that depend on other fields of the record, resolved at its end. */
struct rec_scratch {
	struct rec_names nm;
	uint64_t bytes[3], pkts[3]; /* by precedence: IE 1/2, 85/86, 23/24 */
	uint8_t have_bytes, have_pkts;
	uint64_t t_raw[2]; /* start, end */
	uint8_t t_kind[2];
	uint64_t sysinit_ms;
	struct smp_raw smp;
	uint64_t sampler_id;
	uint8_t have_sysinit, have_sampler, have_bgp_nh;
	uint8_t direction, have_direction;
};

/*
 * Unsigned value of a whole field (length 1..8, guaranteed by the plan).
 * The common widths get straight-line reads: a byte loop with a varying
 * trip count costs a mispredicted branch per field.
 */
static inline uint64_t uval(struct cursor *fc)
{
	uint64_t v = 0;
	uint32_t v32;
	uint16_t v16;
	uint8_t v8;
	switch (cur_left(fc)) {
	case 1:
		cur_u8(fc, &v8);
		return v8;
	case 2:
		cur_u16(fc, &v16);
		return v16;
	case 4:
		cur_u32(fc, &v32);
		return v32;
	case 8:
		cur_u64(fc, &v);
		return v;
	default:
		cur_uint_n(fc, cur_left(fc), &v);
		return v;
	}
}

static void addr_v4(struct cursor *fc, struct nt_addr *a)
{
	memset(a, 0, sizeof *a);
	a->family = 4;
	cur_bytes(fc, a->a, 4);
}

static void addr_v6(struct cursor *fc, struct nt_addr *a)
{
	a->family = 6;
	cur_bytes(fc, a->a, 16);
}

static void smp_field(struct smp_raw *p, uint8_t kind, uint64_t v)
{
	switch (kind) {
	case FK_SAMPLING_INTERVAL:
		p->interval = v;
		p->have |= SMP_INTERVAL;
		break;
	case FK_SAMPLING_SPACE:
		p->space = v;
		p->have |= SMP_SPACE;
		break;
	case FK_SAMPLING_SIZE:
		p->size = v;
		p->have |= SMP_SIZE;
		break;
	case FK_SAMPLING_POPULATION:
		p->population = v;
		p->have |= SMP_POPULATION;
		break;
	default:
		break;
	}
}

/*
 * 1-in-N rate from what was exported, 0 when nothing usable:
 *  random n-out-of-N (RFC 5477 309/310): N / n  (Cisco IOS XR sends 1/256);
 *  systematic count-based (305/306): (interval + space) / interval;
 *  v9 34/50 or a lone 305: the interval itself.
 */
static uint32_t smp_rate(const struct smp_raw *p)
{
	uint64_t r = 0;
	if ((p->have & (SMP_SIZE | SMP_POPULATION)) == (SMP_SIZE | SMP_POPULATION) && p->size)
		r = p->population / p->size;
	else if ((p->have & (SMP_INTERVAL | SMP_SPACE)) == (SMP_INTERVAL | SMP_SPACE) &&
		 p->interval)
		r = (p->interval + p->space) / p->interval;
	else if (p->have & SMP_INTERVAL)
		r = p->interval;
	return r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
}

static void set_time(struct rec_scratch *s, int which, uint8_t kind, uint64_t v)
{
	/* an absolute encoding beats sysUptime when an exporter sends both */
	if (s->t_kind[which] > NF_TK_UPTIME && kind == NF_TK_UPTIME)
		return;
	s->t_kind[which] = kind;
	s->t_raw[which] = v;
}

/* Apply one field; fc covers exactly the field's value. */
static void apply(struct flow_rec *r, struct rec_scratch *s, const struct nf_tpl_field *f,
		  struct cursor *fc)
{
	/* plain integers go through the same table as the decode plans */
	if (nf_tpl_is_plain_int(f->kind)) {
		nf_tpl_store_int(r, f->kind, uval(fc));
		return;
	}
	switch ((enum nf_fk)f->kind) {
	case FK_SKIP:
		break;
	case FK_SRC_V4:
		addr_v4(fc, &r->src_addr);
		FR_SET(r, FR_SRC_ADDR);
		break;
	case FK_DST_V4:
		addr_v4(fc, &r->dst_addr);
		FR_SET(r, FR_DST_ADDR);
		break;
	case FK_SRC_V6:
		addr_v6(fc, &r->src_addr);
		FR_SET(r, FR_SRC_ADDR);
		break;
	case FK_DST_V6:
		addr_v6(fc, &r->dst_addr);
		FR_SET(r, FR_DST_ADDR);
		break;
	case FK_BYTES:
		s->bytes[0] = uval(fc);
		s->have_bytes |= 1;
		break;
	case FK_BYTES_TOTAL:
		s->bytes[1] = uval(fc);
		s->have_bytes |= 2;
		break;
	case FK_BYTES_OUT:
		s->bytes[2] = uval(fc);
		s->have_bytes |= 4;
		break;
	case FK_PKTS:
		s->pkts[0] = uval(fc);
		s->have_pkts |= 1;
		break;
	case FK_PKTS_TOTAL:
		s->pkts[1] = uval(fc);
		s->have_pkts |= 2;
		break;
	case FK_PKTS_OUT:
		s->pkts[2] = uval(fc);
		s->have_pkts |= 4;
		break;
	case FK_FLOWS:
		r->flows = uval(fc);
		break;
	case FK_NH_V4:
		if (!s->have_bgp_nh) {
			addr_v4(fc, &r->peer_dst_ip);
			FR_SET(r, FR_PEER_DST_IP);
		}
		break;
	case FK_NH_V6:
		if (!s->have_bgp_nh) {
			addr_v6(fc, &r->peer_dst_ip);
			FR_SET(r, FR_PEER_DST_IP);
		}
		break;
	case FK_BGP_NH_V4:
		addr_v4(fc, &r->peer_dst_ip);
		FR_SET(r, FR_PEER_DST_IP);
		s->have_bgp_nh = 1;
		break;
	case FK_BGP_NH_V6:
		addr_v6(fc, &r->peer_dst_ip);
		FR_SET(r, FR_PEER_DST_IP);
		s->have_bgp_nh = 1;
		break;
	case FK_SRC_MAC:
		cur_bytes(fc, r->src_mac, 6);
		FR_SET(r, FR_SRC_MAC);
		break;
	case FK_DST_MAC:
		cur_bytes(fc, r->dst_mac, 6);
		FR_SET(r, FR_DST_MAC);
		break;
	case FK_SRC_MAC_POST:
		if (!FR_HAS(r, FR_SRC_MAC)) {
			cur_bytes(fc, r->src_mac, 6);
			FR_SET(r, FR_SRC_MAC);
		}
		break;
	case FK_DST_MAC_POST:
		if (!FR_HAS(r, FR_DST_MAC)) {
			cur_bytes(fc, r->dst_mac, 6);
			FR_SET(r, FR_DST_MAC);
		}
		break;
	case FK_DOT1Q_IN:
		if (!FR_HAS(r, FR_VLAN_IN)) {
			r->vlan_in = (uint16_t)uval(fc);
			FR_SET(r, FR_VLAN_IN);
		}
		break;
	case FK_DOT1Q_OUT:
		if (!FR_HAS(r, FR_VLAN_OUT)) {
			r->vlan_out = (uint16_t)uval(fc);
			FR_SET(r, FR_VLAN_OUT);
		}
		break;
	case FK_MPLS: {
		/* RFC 3954 §8 MPLS_LABEL_1..10: 3-byte label stack entries, top first */
		uint32_t e = (uint32_t)uval(fc);
		r->mpls[f->arg] = e;
		if (e && f->arg >= r->mpls_depth) {
			r->mpls_depth = (uint8_t)(f->arg + 1);
			FR_SET(r, FR_MPLS);
		}
		break;
	}
	case FK_EXPORTER_V4:
		addr_v4(fc, &r->peer_src_ip);
		break;
	case FK_EXPORTER_V6:
		addr_v6(fc, &r->peer_src_ip);
		break;
	case FK_T_UPTIME_START:
		set_time(s, 0, NF_TK_UPTIME, uval(fc));
		break;
	case FK_T_UPTIME_END:
		set_time(s, 1, NF_TK_UPTIME, uval(fc));
		break;
	case FK_T_SEC_START:
		set_time(s, 0, NF_TK_SEC, uval(fc));
		break;
	case FK_T_SEC_END:
		set_time(s, 1, NF_TK_SEC, uval(fc));
		break;
	case FK_T_MS_START:
		set_time(s, 0, NF_TK_MS, uval(fc));
		break;
	case FK_T_MS_END:
		set_time(s, 1, NF_TK_MS, uval(fc));
		break;
	case FK_T_NTP_START:
		set_time(s, 0, NF_TK_NTP, uval(fc));
		break;
	case FK_T_NTP_END:
		set_time(s, 1, NF_TK_NTP, uval(fc));
		break;
	case FK_T_DELTA_START:
		set_time(s, 0, NF_TK_DELTA, uval(fc));
		break;
	case FK_T_DELTA_END:
		set_time(s, 1, NF_TK_DELTA, uval(fc));
		break;
	case FK_T_SYSINIT:
		s->sysinit_ms = uval(fc);
		s->have_sysinit = 1;
		break;
	case FK_NAT_SRC_V4:
		addr_v4(fc, &r->post_nat_src_addr);
		FR_SET(r, FR_POST_NAT_SRC_ADDR);
		break;
	case FK_NAT_DST_V4:
		addr_v4(fc, &r->post_nat_dst_addr);
		FR_SET(r, FR_POST_NAT_DST_ADDR);
		break;
	case FK_NAT_SRC_V6:
		addr_v6(fc, &r->post_nat_src_addr);
		FR_SET(r, FR_POST_NAT_SRC_ADDR);
		break;
	case FK_NAT_DST_V6:
		addr_v6(fc, &r->post_nat_dst_addr);
		FR_SET(r, FR_POST_NAT_DST_ADDR);
		break;
	case FK_FLOW_LABEL:
		r->flow_label = (uint32_t)uval(fc) & 0xfffff;
		FR_SET(r, FR_FLOW_LABEL);
		break;
	case FK_SAMPLER_ID:
		s->sampler_id = uval(fc);
		s->have_sampler = 1;
		break;
	case FK_SAMPLING_INTERVAL:
	case FK_SAMPLING_SPACE:
	case FK_SAMPLING_SIZE:
	case FK_SAMPLING_POPULATION:
		smp_field(&s->smp, f->kind, uval(fc));
		break;
	case FK_VRF_NAME:
	case FK_IFNAME: {
		int i = f->kind == FK_IFNAME;
		s->nm.name[i] = cur_ptr(fc);
		s->nm.len[i] = (uint16_t)cur_left(fc);
		s->nm.has[i] = 1;
		break;
	}
	case FK_RD:
		s->nm.rd = uval(fc);
		s->nm.has_rd = 1;
		break;
	default:
		break; /* plain integers were stored above; FK_SKIP and FK__COUNT need nothing */
	}
}

/*
 * Turn an exported timestamp into microseconds since the epoch.
 *  v9 uptime (21/22): ms since boot; boot = export time - header sysUptime,
 *    or IE 160 systemInitTimeMilliseconds when present (IPFIX has no uptime
 *    in its header, so there IE 160 is required);
 *  150/151 seconds, 152/153 ms, 154-157 NTP 64-bit (RFC 7011 §6.1.9-10),
 *  158/159 microseconds before the export time.
 */
static int resolve_time(const struct nf9_msg *m, uint8_t kind, uint64_t v, int have_sysinit,
			uint64_t sysinit_ms, nt_usec *out)
{
	/* exporter-supplied values can be anything: stay in unsigned, clamp */
	const uint64_t max_s = UINT64_MAX / 1000000u, max_ms = UINT64_MAX / 1000u;
	uint64_t t;
	switch (kind) {
	case NF_TK_UPTIME:
		if (have_sysinit) {
			if (sysinit_ms > max_ms || v > max_ms - sysinit_ms)
				return 0;
			t = (sysinit_ms + v) * 1000u;
		} else if (m->version == 9 && m->c->opt.time_secs) {
			if (v > max_s) /* nfacctd_time_secs: epoch seconds */
				return 0;
			t = v * 1000000u;
		} else if (m->version == 9) {
			/*
			 * The v9 header has whole export seconds only, so the
			 * sub-second part is unknowable; like pmacct we take
			 * whole seconds of the delta (truncated toward zero),
			 * which keeps binning identical to nfacctd's.  All
			 * terms are below 2^53: no overflow.
			 */
			int64_t delta_ms = (int64_t)(int32_t)(m->uptime_ms - (uint32_t)v);
			int64_t st = (int64_t)m->export_usec - (delta_ms / 1000) * 1000000;
			t = st > 0 ? (uint64_t)st : 0;
		} else {
			return 0;
		}
		break;
	case NF_TK_SEC:
		if (v > max_s)
			return 0;
		t = v * 1000000u;
		break;
	case NF_TK_MS:
		if (v > max_ms)
			return 0;
		t = v * 1000u;
		break;
	case NF_TK_NTP: {
		uint64_t sec = v >> 32, frac = v & 0xffffffffu;
		if (sec < NTP_UNIX_OFFSET)
			return 0;
		t = (sec - NTP_UNIX_OFFSET) * 1000000u + ((frac * 1000000u) >> 32);
		break;
	}
	case NF_TK_DELTA:
		t = v < m->export_usec ? m->export_usec - v : 0;
		break;
	default:
		return 0;
	}
	*out = t;
	return 1;
}

/* A name from the record, NUL-terminated in buf (cut at a NUL and at NF_NAME_MAX). */
static const char *name_copy(char *buf, const uint8_t *p, size_t n)
{
	const uint8_t *nul = memchr(p, 0, n);
	if (nul)
		n = (size_t)(nul - p);
	if (n > NF_NAME_MAX)
		n = NF_NAME_MAX;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

/*
 * Names and route distinguisher of a data record, from what it carries and
 * from the exporter's options tables (proto/nf_options.h); `present` holds
 * the record's presence bits so far.  Writes every name member and the RD
 * (a plan's records must write the same members every time) and returns
 * the presence bits to add:
 *  - ingress/egress VRF name: the table's name of the VRF id (IE 234/235,
 *    0 = none); vrf_name: the record's own IE 236 unless empty, else the
 *    ingress name, else the egress one;
 *  - mpls_vpn_rd: the record's own IE 90, else the table's RD of the
 *    ingress VRF, else of the egress VRF, else "vrfid:<id>" (ingress id
 *    first); origin "flow".  Without any of them nothing is set (0:0:0,
 *    origin unknown);
 *  - interface names: the table's name of the ifindex (IE 10/14); a record
 *    carrying a non-empty IE 82 names its ingress interface with it.
 */
/* Which tables an exporter holds (NF_NAME_* bits), for names_resolve(). */
static unsigned names_tables(const struct nf_exporter *ex)
{
	return (nf_names_has(ex->names, NF_NAME_VRF) ? 1u << NF_NAME_VRF : 0) |
	       (nf_names_has(ex->names, NF_NAME_IFACE) ? 1u << NF_NAME_IFACE : 0);
}

static uint64_t names_resolve(struct nf9_msg *m, struct flow_rec *r, const struct rec_names *dn,
			      uint64_t present, unsigned tables)
{
	const struct nf_name_store *st = m->ex->names;
	uint64_t bits = 0;
	uint32_t vid[2] = {(present >> FR_VRF_IN) & 1 ? r->vrf_in : 0,
			   (present >> FR_VRF_OUT) & 1 ? r->vrf_out : 0};
	const struct nf_name_entry *ve[2] = {NULL, NULL};

	if (tables & (1u << NF_NAME_VRF))
		for (int i = 0; i < 2; i++)
			if (vid[i])
				ve[i] = nf_names_get(st, NF_NAME_VRF, m->domain, vid[i]);
	r->vrf_name_in = ve[0] && ve[0]->has_name ? ve[0]->name : NULL;
	r->vrf_name_out = ve[1] && ve[1]->has_name ? ve[1]->name : NULL;
	if (dn->has[0] && dn->len[0] && dn->name[0][0])
		r->vrf_name = name_copy(m->c->name_buf[0], dn->name[0], dn->len[0]);
	else
		r->vrf_name = r->vrf_name_in ? r->vrf_name_in : r->vrf_name_out;
	if (r->vrf_name || r->vrf_name_in || r->vrf_name_out)
		bits |= 1ull << FR_VRF_NAME;

	r->mpls_vpn_rd = 0;
	r->mpls_vpn_rd_origin = FR_RD_UNKNOWN;
	if (dn->has_rd)
		r->mpls_vpn_rd = dn->rd;
	else if (ve[0] && ve[0]->has_rd)
		r->mpls_vpn_rd = ve[0]->rd;
	else if (ve[1] && ve[1]->has_rd)
		r->mpls_vpn_rd = ve[1]->rd;
	else if (vid[0] || vid[1])
		r->mpls_vpn_rd = (uint64_t)FR_RD_TYPE_VRFID << 48 | (vid[0] ? vid[0] : vid[1]);
	if (dn->has_rd || vid[0] || vid[1]) {
		r->mpls_vpn_rd_origin = FR_RD_FLOW;
		bits |= 1ull << FR_MPLS_VPN_RD;
	}

	r->ifname_in = r->ifname_out = NULL;
	if (tables & (1u << NF_NAME_IFACE)) {
		const struct nf_name_entry *e;
		if (((present >> FR_IN_IFACE) & 1) && r->in_iface &&
		    (e = nf_names_get(st, NF_NAME_IFACE, m->domain, r->in_iface)) && e->has_name)
			r->ifname_in = e->name;
		if (((present >> FR_OUT_IFACE) & 1) && r->out_iface &&
		    (e = nf_names_get(st, NF_NAME_IFACE, m->domain, r->out_iface)) && e->has_name)
			r->ifname_out = e->name;
	}
	if (dn->has[1] && dn->len[1] && dn->name[1][0])
		r->ifname_in = name_copy(m->c->name_buf[1], dn->name[1], dn->len[1]);
	if (r->ifname_in)
		bits |= 1ull << FR_IFNAME_IN;
	if (r->ifname_out)
		bits |= 1ull << FR_IFNAME_OUT;
	return bits;
}

static void finish_record(struct nf9_msg *m, struct flow_rec *r, const struct rec_scratch *s)
{
	if (!(m->c->opt.skip & NF_SKIP_NAMES))
		r->present |= names_resolve(m, r, &s->nm, r->present, names_tables(m->ex));
	for (int i = 0; i < 3; i++)
		if (s->have_bytes & (1u << i)) {
			r->bytes = s->bytes[i];
			break;
		}
	for (int i = 0; i < 3; i++)
		if (s->have_pkts & (1u << i)) {
			r->packets = s->pkts[i];
			break;
		}
	for (int i = 0; i < 2; i++)
		if (resolve_time(m, s->t_kind[i], s->t_raw[i], s->have_sysinit, s->sysinit_ms,
				 i ? &r->ts_end : &r->ts_start))
			FR_SET(r, i ? FR_TS_END : FR_TS_START);

	uint32_t rate = smp_rate(&s->smp);
	if (!rate) {
		const struct nf_sampler *smp = nf_sampler_find(
		    m->ex->samplers, m->domain, s->have_sampler ? s->sampler_id : NF_SAMPLER_ANY);
		if (smp) {
			rate = smp->interval;
			if (smp->has_direction) {
				r->sampling_direction = smp->direction;
				FR_SET(r, FR_SAMPLING_DIR);
			}
		}
	}
	if (rate) {
		r->sampling_rate = rate;
		FR_SET(r, FR_SAMPLING);
	}
}

/* ---- fast path: templates with a plan (nf_template.h) ------------------- */

/* Big-endian unsigned of 1..8 bytes inside a block validated by cur_take(). */
static inline uint64_t be_n(const uint8_t *q, unsigned n)
{
	uint64_t v = 0;
	switch (n) {
	case 1:
		return q[0];
	case 2:
		return be16(q);
	case 4:
		return be32(q);
	case 8:
		return (uint64_t)be32(q) << 32 | be32(q + 4);
	default:
		for (unsigned i = 0; i < n; i++)
			v = v << 8 | q[i];
		return v;
	}
}

/* Store the low `width` bytes of v into the flow_rec member at dst. */
static inline void store_int(struct flow_rec *r, uint16_t dst, unsigned width, uint64_t v)
{
	uint8_t *d = (uint8_t *)r + dst;
	switch (width) {
	case 1:
		*d = (uint8_t)v;
		break;
	case 2: {
		uint16_t x = (uint16_t)v;
		memcpy(d, &x, 2);
		break;
	}
	case 4: {
		uint32_t x = (uint32_t)v;
		memcpy(d, &x, 4);
		break;
	}
	default:
		memcpy(d, &v, 8);
		break;
	}
}

/*
 * Where one record's variable parts are (nf_template.h): segment starts and
 * each variable-length value.  seg[0] is the record itself.
 */
struct vrec {
	const uint8_t *seg[NF_PLAN_MAX_VLEN + 1];
	const uint8_t *vptr[NF_PLAN_MAX_VLEN];
	uint16_t vlen[NF_PLAN_MAX_VLEN];
};

/*
 * Find the variable parts of the record at rec (left bytes to the end of
 * the set): one length prefix per variable-length field (RFC 7011 §7: one
 * byte, or 255 and two more).  Returns the record's length, 0 when it runs
 * past the set.  v NULL: the length only (inlined with a constant NULL, the
 * stores go away).
 */
static inline size_t vrec_scan(const struct nf_plan *pl, const uint8_t *rec, size_t left,
			       struct vrec *v)
{
	size_t pos = 0;
	if (v)
		v->seg[0] = rec;
	for (unsigned k = 0; k < pl->nvlen; k++) {
		pos += pl->vgap[k];
		if (pos >= left)
			return 0;
		size_t l = rec[pos++];
		if (l == 255) {
			if (left - pos < 2)
				return 0;
			l = be16(rec + pos);
			pos += 2;
		}
		if (l > left - pos)
			return 0;
		if (v) {
			v->vptr[k] = rec + pos;
			v->vlen[k] = (uint16_t)l;
		}
		pos += l;
		if (v)
			v->seg[k + 1] = rec + pos;
	}
	pos += pl->tail;
	return pos <= left ? pos : 0;
}

static size_t vrec_walk(const struct nf_plan *pl, const uint8_t *rec, size_t left, struct vrec *v)
{
	return vrec_scan(pl, rec, left, v);
}

/* The length of the record at rec as vrec_walk() finds it, without noting where its parts are. */
static inline size_t vrec_len(const struct nf_plan *pl, const uint8_t *rec, size_t left)
{
	return vrec_scan(pl, rec, left, NULL);
}

/* A planned value's bytes: fixed (segment + offset) or variable-length. */
static inline const uint8_t *pv_ptr(const struct vrec *v, const struct nf_plan_val *pv, size_t *len)
{
	if (pv->len == NF_PLAN_VLEN) {
		*len = v->vlen[pv->off];
		return v->vptr[pv->off];
	}
	*len = pv->len;
	return v->seg[pv->seg] + pv->off;
}

/* What stays the same for every record of one data set. */
struct set_ctx {
	const struct nf_sampler *any; /* sampler for records without a sampler id */
	int any_found;
	/* the names tables do not change within a data set */
	int names;	 /* resolve names (nf_plan.names) */
	unsigned tables; /* names_tables() */
};

/*
 * Interface names only when the exporter sent an interface table: tables
 * only grow, so a record that skips this leaves the name members as clear
 * as the generic path makes them.
 */
static struct set_ctx set_ctx_make(const struct nf9_msg *m, const struct nf_plan *pl)
{
	struct set_ctx sc = {NULL, 0, 0, names_tables(m->ex)};
	sc.names = !(m->c->opt.skip & NF_SKIP_NAMES) &&
		   ((pl->names & NF_PLAN_NAMES_ALWAYS) ||
		    ((pl->names & NF_PLAN_NAMES_IFACE) && (sc.tables & (1u << NF_NAME_IFACE))));
	return sc;
}

/*
 * One record of a template with a plan.  Produces exactly what data_record()
 * would: the plan already resolved which field wins wherever the generic
 * path decides per field.
 *
 * Every member the template can write is written for every record (zero
 * when a value does not resolve), and so are the ones the emit callback may
 * change (present, packets, bytes, sampling_rate, as v5 relies on too).
 * So when the previous record came from the same template, the rest of
 * flow_rec is still clear and the memset can be skipped.
 *
 * VL is a constant at each call site: the fixed-length instance addresses
 * every field from the record start (rec), the variable-length one from its
 * segment's start in v (vrec_walk()).
 */
#define AT(e) ((VL ? v->seg[(e)->seg] : rec) + (e)->off)

static inline __attribute__((always_inline)) void
fast_record_body(struct nf9_msg *m, const struct nf_template *t, const uint8_t *rec,
		 const struct vrec *v, struct set_ctx *sc, const int VL)
{
	const struct nf_plan *pl = t->plan;
	struct flow_rec *r = &m->c->rec;
	uint64_t present = pl->present;
	struct rec_names dn;

	if (m->owner != t) {
		flow_rec_clear(r);
		m->owner = t;
	}
	r->flows = 1;
	r->bytes = 0;
	r->packets = 0;
	r->peer_src_ip = m->ex->addr; /* IE 130/131 override it */

	/*
	 * One loop per run of equal wire length and width (see nf_template.h):
	 * the widths are constants here, so each field is a load, a byte swap
	 * and a store.  Only the runs that have entries are visited.
	 */
	const struct nf_plan_int *e = pl->ints;
	unsigned n;
#define INT_RUN(wl, T, READ)                                                                       \
	case NF_RUN(wl, sizeof(T) == 1 ? 0 : sizeof(T) == 2 ? 1 : sizeof(T) == 4 ? 2 : 3):         \
		for (; n; n--, e++)                                                                \
		{                                                                                  \
			const uint8_t *q = AT(e);                                                  \
			T x_ = (T)(READ);                                                          \
			memcpy((uint8_t *)r + e->dst, &x_, sizeof x_);                             \
		}                                                                                  \
		break;
#define INT_RUNS(wl, READ)                                                                         \
	INT_RUN(wl, uint8_t, READ)                                                                 \
	INT_RUN(wl, uint16_t, READ)                                                                \
	INT_RUN(wl, uint32_t, READ)                                                                \
	INT_RUN(wl, uint64_t, READ)
	for (unsigned k = 0; k < pl->nruns; k++) {
		n = pl->run[pl->runs[k]];
		switch (pl->runs[k]) {
			INT_RUNS(0, q[0])
			INT_RUNS(1, be16(q))
			INT_RUNS(2, be32(q))
			INT_RUNS(3, (uint64_t)be32(q) << 32 | be32(q + 4))
		default: /* NF_RUN_OTHER */
			for (; n; n--, e++)
				store_int(r, e->dst, e->width, be_n(AT(e), e->wlen));
			break;
		}
	}
#undef INT_RUNS
#undef INT_RUN

	const int names = sc->names;
	unsigned depth = 0;
	if (names)
		memset(&dn, 0, sizeof dn);
	for (const struct nf_plan_op *o = pl->ops, *end = o + pl->nop; o < end; o++) {
		const uint8_t *q = AT(o);
		struct nt_addr *a = (struct nt_addr *)((uint8_t *)r + o->dst);
		switch ((enum nf_pop)o->op) {
		case NF_POP_ADDR4:
			memset(a, 0, sizeof *a);
			a->family = 4;
			memcpy(a->a, q, 4);
			break;
		case NF_POP_ADDR6:
			a->family = 6;
			memcpy(a->a, q, 16);
			break;
		case NF_POP_MAC:
			memcpy((uint8_t *)r + o->dst, q, 6);
			break;
		case NF_POP_MPLS: {
			/* RFC 3954 §8 MPLS_LABEL_1..10: 3-byte entries, top first */
			uint32_t lse = (uint32_t)q[0] << 16 | (uint32_t)q[1] << 8 | q[2];
			r->mpls[o->arg] = lse;
			if (lse && o->arg >= depth)
				depth = o->arg + 1u;
			break;
		}
		case NF_POP_FLOW_LABEL:
			r->flow_label = (uint32_t)be_n(q, o->len) & 0xfffff;
			break;
		case NF_POP_CUSTOM:
			if (VL && o->len == NF_PLAN_VLEN) {
				r->custom_ptr[o->arg] = v->vptr[o->off];
				r->custom_len[o->arg] = v->vlen[o->off];
			} else {
				r->custom_ptr[o->arg] = q;
				r->custom_len[o->arg] = o->len;
			}
			break;
		case NF_POP_NAME:
			if (VL && o->len == NF_PLAN_VLEN) {
				dn.name[o->arg] = v->vptr[o->off];
				dn.len[o->arg] = v->vlen[o->off];
			} else {
				dn.name[o->arg] = q;
				dn.len[o->arg] = o->len;
			}
			dn.has[o->arg] = 1;
			break;
		case NF_POP_RD:
			dn.rd = be_n(q, 8);
			dn.has_rd = 1;
			break;
		}
	}
	if (pl->has_mpls) {
		r->mpls_depth = (uint8_t)depth;
		if (depth)
			present |= 1ull << FR_MPLS;
	}
	if (names)
		present |= names_resolve(m, r, &dn, present, sc->tables);

	int have_sysinit = pl->sysinit.len != 0;
	uint64_t sysinit_ms = have_sysinit ? be_n(AT(&pl->sysinit), pl->sysinit.len) : 0;
	r->ts_start = r->ts_end = 0;
	if (pl->t[0].tk && resolve_time(m, pl->t[0].tk, be_n(AT(&pl->t[0]), pl->t[0].len),
					have_sysinit, sysinit_ms, &r->ts_start))
		present |= 1ull << FR_TS_START;
	if (pl->t[1].tk && resolve_time(m, pl->t[1].tk, be_n(AT(&pl->t[1]), pl->t[1].len),
					have_sysinit, sysinit_ms, &r->ts_end))
		present |= 1ull << FR_TS_END;

	uint32_t rate = 0;
	if (pl->has_smp) {
		struct smp_raw raw = {0};
		for (int i = 0; i < 4; i++)
			if (pl->smp[i].len)
				smp_field(&raw, (uint8_t)(FK_SAMPLING_INTERVAL + i),
					  be_n(AT(&pl->smp[i]), pl->smp[i].len));
		rate = smp_rate(&raw);
	}
	r->sampling_direction = 0;
	if (!rate) {
		const struct nf_sampler *smp;
		if (pl->sampler_id.len) {
			smp = nf_sampler_find(m->ex->samplers, m->domain,
					      be_n(AT(&pl->sampler_id), pl->sampler_id.len));
		} else {
			/* no sampler id: the same answer for the whole set */
			if (!sc->any_found) {
				sc->any =
				    nf_sampler_find(m->ex->samplers, m->domain, NF_SAMPLER_ANY);
				sc->any_found = 1;
			}
			smp = sc->any;
		}
		if (smp) {
			rate = smp->interval;
			if (smp->has_direction) {
				r->sampling_direction = smp->direction;
				present |= 1ull
					   << FR_SAMPLING_DIR; /* r->present is assigned below */
			}
		}
	}
	r->sampling_rate = rate;
	if (rate)
		present |= 1ull << FR_SAMPLING;

	r->present = present;
	r->export_version = m->version;
	r->export_seqno = m->seq;
	r->export_sysid = m->domain;
	r->ts_export = m->export_usec;
	r->ts_arrival = m->arrival;
	m->ex->st.records++;
	m->c->emit(m->c->emit_arg, r);
}

static inline __attribute__((always_inline)) void
fast_record(struct nf9_msg *m, const struct nf_template *t, const uint8_t *rec, struct set_ctx *sc)
{
	fast_record_body(m, t, rec, NULL, sc, 0);
}

static void fast_record_vlen(struct nf9_msg *m, const struct nf_template *t, const struct vrec *v,
			     struct set_ctx *sc)
{
	fast_record_body(m, t, v->seg[0], v, sc, 1);
}

#undef AT

/* Value of the next field: fixed length, or RFC 7011 §7 variable length. */
static int next_field(struct cursor *rc, const struct nf_tpl_field *f, struct cursor *fc)
{
	size_t len = f->len;
	if (f->len == NF_TPL_VARLEN) {
		uint8_t l8;
		uint16_t l16;
		if (cur_u8(rc, &l8) < 0)
			return -1;
		len = l8;
		if (l8 == 255) {
			if (cur_u16(rc, &l16) < 0)
				return -1;
			len = l16;
		}
	}
	return cur_sub(rc, len, fc);
}

/* The generic path: every field through apply(), the reference for the plans. */
static int data_record(struct nf9_msg *m, const struct nf_template *t, struct cursor *rc)
{
	struct flow_rec *r = &m->c->rec;
	struct rec_scratch s;
	struct cursor fc;

	flow_rec_clear(r);
	m->owner = NULL; /* which fields this writes depends on the record */
	memset(&s, 0, sizeof s);
	r->flows = 1;
	r->peer_src_ip = m->ex->addr; /* IE 130/131 override it */
	r->present = (1ull << FR_PEER_SRC_IP) | (1ull << FR_FLOWS);

	for (uint16_t i = 0; i < t->nfields; i++) {
		const struct nf_tpl_field *f = &t->f[i];
		if (next_field(rc, f, &fc) < 0)
			return -1;
		if (f->custom != NF_TPL_NO_CUSTOM) {
			r->custom_ptr[f->custom] = cur_ptr(&fc);
			r->custom_len[f->custom] = (uint16_t)cur_left(&fc);
		}
		apply(r, &s, f, &fc);
	}
	finish_record(m, r, &s);
	r->export_version = m->version;
	r->export_seqno = m->seq;
	r->export_sysid = m->domain;
	r->ts_export = m->export_usec;
	r->ts_arrival = m->arrival;
	m->ex->st.records++;
	m->c->emit(m->c->emit_arg, r);
	return 0;
}

/* What one options record says; both paths fill it, options_commit() applies it. */
struct opt_rec {
	struct nf_sampler smp;
	struct smp_raw raw;
	uint64_t vrf[2], iface[2];
	uint8_t have_vrf[2], have_iface[2];
	const uint8_t *name[3]; /* VRF name (236), interface name (82), description (83) */
	size_t name_len[3];
	uint8_t has_name[3];
	uint8_t has_rd;
	uint64_t rd;
};

static void opt_name(struct opt_rec *o, int i, const uint8_t *p, size_t len)
{
	o->name[i] = p;
	o->name_len[i] = len;
	o->has_name[i] = 1;
}

/*
 * Apply an options record (RFC 3954 §6.2, RFC 7011 §3.4.2.2): sampler
 * information (subject to the scope check) and the names tables.  A names
 * table row is keyed by the record's own VRF id / ifindex, whatever the
 * template calls scope: that key is what the row is about.
 */
static void options_commit(struct nf9_msg *m, const struct nf_template *t, struct opt_rec *o)
{
	struct nf_name_update u = {.domain = m->domain};

	if (o->has_name[0] || o->has_rd) {
		u.kind = NF_NAME_VRF;
		u.name = o->name[0];
		u.name_len = o->name_len[0];
		u.has_rd = o->has_rd;
		u.rd = o->rd;
		for (int i = 0; i < 2; i++) {
			/* VRF id 0 is "none"; the same id on both sides is one row */
			if (!o->have_vrf[i] || !o->vrf[i] || o->vrf[i] > UINT32_MAX ||
			    (i == 1 && o->have_vrf[0] && o->vrf[0] == o->vrf[1]))
				continue;
			u.id = (uint32_t)o->vrf[i];
			if (nf_names_set(m->ex->names, &u) < 0)
				msg_err(m, NF_ERR_LIMIT);
		}
	}
	if (o->has_name[1] || o->has_name[2]) {
		int side = o->have_iface[0] ? 0 : 1;
		/* the name, or the description when there is no (non-empty) name */
		int which = o->has_name[1] && o->name_len[1] && o->name[1][0] ? 1
			    : o->has_name[2]				      ? 2
									      : 1;
		if (o->have_iface[side] && o->iface[side] && o->iface[side] <= UINT32_MAX) {
			u.kind = NF_NAME_IFACE;
			u.id = (uint32_t)o->iface[side];
			u.name = o->name[which];
			u.name_len = o->name_len[which];
			u.has_rd = 0;
			if (nf_names_set(m->ex->names, &u) < 0)
				msg_err(m, NF_ERR_LIMIT);
		}
	}

	if (!t->scope_ok && !m->c->opt.disable_opt_scope_check)
		return;
	o->smp.interval = smp_rate(&o->raw);
	if (o->smp.interval)
		nf_sampler_set(m->ex->samplers, &o->smp); /* ENOMEM: keep the old rate */
}

/* Options data through the generic path (the reference for options plans). */
static int options_record(struct nf9_msg *m, const struct nf_template *t, struct cursor *rc)
{
	struct opt_rec o;
	struct cursor fc;

	memset(&o, 0, sizeof o);
	o.smp.domain = m->domain;
	o.smp.id = NF_SAMPLER_ANY;
	for (uint16_t i = 0; i < t->nfields; i++) {
		const struct nf_tpl_field *f = &t->f[i];
		if (next_field(rc, f, &fc) < 0)
			return -1;
		switch (f->kind) {
		case FK_SAMPLER_ID:
			o.smp.id = uval(&fc);
			break;
		case FK_SAMPLING_INTERVAL:
		case FK_SAMPLING_SPACE:
		case FK_SAMPLING_SIZE:
		case FK_SAMPLING_POPULATION:
			smp_field(&o.raw, f->kind, uval(&fc));
			break;
		case FK_DIRECTION:
			o.smp.direction = (uint8_t)uval(&fc);
			o.smp.has_direction = 1;
			break;
		case FK_VRF_IN:
		case FK_VRF_OUT:
			o.vrf[f->kind == FK_VRF_OUT] = uval(&fc);
			o.have_vrf[f->kind == FK_VRF_OUT] = 1;
			break;
		case FK_IN_IF:
		case FK_OUT_IF:
			o.iface[f->kind == FK_OUT_IF] = uval(&fc);
			o.have_iface[f->kind == FK_OUT_IF] = 1;
			break;
		case FK_VRF_NAME:
		case FK_IFNAME:
		case FK_IFDESCR:
			opt_name(&o, f->kind - FK_VRF_NAME, cur_ptr(&fc), cur_left(&fc));
			break;
		case FK_RD:
			o.rd = uval(&fc);
			o.has_rd = 1;
			break;
		default:
			break;
		}
	}
	options_commit(m, t, &o);
	return 0;
}

/* Options data through the plan: each slot read once, no per-field switch. */
static void options_fast(struct nf9_msg *m, const struct nf_template *t, const struct vrec *v)
{
	const struct nf_plan_opt *p = t->plan->opt;
	struct opt_rec o;
	const uint8_t *q;
	size_t len;

	memset(&o, 0, sizeof o);
	o.smp.domain = m->domain;
	o.smp.id = NF_SAMPLER_ANY;
	if (p->sampler_id.len) {
		q = pv_ptr(v, &p->sampler_id, &len);
		o.smp.id = be_n(q, (unsigned)len);
	}
	for (int i = 0; i < 4; i++)
		if (p->smp[i].len) {
			q = pv_ptr(v, &p->smp[i], &len);
			smp_field(&o.raw, (uint8_t)(FK_SAMPLING_INTERVAL + i),
				  be_n(q, (unsigned)len));
		}
	if (p->direction.len) {
		q = pv_ptr(v, &p->direction, &len);
		o.smp.direction = (uint8_t)be_n(q, (unsigned)len);
		o.smp.has_direction = 1;
	}
	for (int i = 0; i < 2; i++) {
		if (p->vrf[i].len) {
			q = pv_ptr(v, &p->vrf[i], &len);
			o.vrf[i] = be_n(q, (unsigned)len);
			o.have_vrf[i] = 1;
		}
		if (p->iface[i].len) {
			q = pv_ptr(v, &p->iface[i], &len);
			o.iface[i] = be_n(q, (unsigned)len);
			o.have_iface[i] = 1;
		}
	}
	const struct nf_plan_val *names[3] = {&p->vrf_name, &p->ifname, &p->ifdescr};
	for (int i = 0; i < 3; i++)
		if (names[i]->len) {
			q = pv_ptr(v, names[i], &len);
			opt_name(&o, i, q, len);
		}
	if (p->rd.len) {
		q = pv_ptr(v, &p->rd, &len);
		o.rd = be_n(q, 8);
		o.has_rd = 1;
	}
	options_commit(m, t, &o);
}

static void data_set(struct nf9_msg *m, uint16_t set_id, struct cursor *set)
{
	const struct nf_template *t = nf_tpl_get(m->ex->templates, m->version, m->domain, set_id);
	if (!t) {
		msg_err(m, NF_ERR_NO_TEMPLATE);
		return;
	}
	const struct nf_plan *pl = t->plan;
	if (pl && !pl->nvlen && !t->options) {
		/* fixed length: every whole record, then padding (RFC 7011 §3.3.1) */
		struct set_ctx sc = set_ctx_make(m, pl);
		size_t nrec = cur_left(set) / t->min_len;
		const uint8_t *rec = cur_ptr(set);
		for (size_t n = nrec; n > 0; n--, rec += t->min_len)
			fast_record(m, t, rec, &sc);
		m->records += nrec;
		cur_skip(set, nrec * t->min_len);
		return;
	}
	if (pl && pl->seg0 && !t->options) {
		/* everything planned precedes the variable-length fields */
		struct set_ctx sc = set_ctx_make(m, pl);
		const uint8_t *rec = cur_ptr(set);
		size_t left = cur_left(set);
		while (left >= t->min_len) {
			size_t used = vrec_len(pl, rec, left);
			if (!used) {
				cur_skip(set, cur_left(set) - left);
				msg_err(m, NF_ERR_TRUNCATED);
				return;
			}
			fast_record(m, t, rec, &sc);
			m->records++;
			rec += used;
			left -= used;
		}
		cur_skip(set, cur_left(set) - left);
		return;
	}
	if (pl) {
		/* padding is shorter than the shortest record (RFC 7011 §3.3.1) */
		struct set_ctx sc = set_ctx_make(m, pl);
		struct vrec v;
		while (cur_left(set) >= t->min_len) {
			size_t used = vrec_walk(pl, cur_ptr(set), cur_left(set), &v);
			if (!used) {
				msg_err(m, t->options ? NF_ERR_BAD_OPTIONS : NF_ERR_TRUNCATED);
				return;
			}
			if (t->options)
				options_fast(m, t, &v);
			else
				fast_record_vlen(m, t, &v, &sc);
			m->records++;
			cur_skip(set, used);
		}
		return;
	}
	/* RFC 7011 §3.3.1: padding is shorter than the shortest record */
	while (cur_left(set) >= t->min_len) {
		struct cursor rc;
		int rv;
		if (t->has_varlen) {
			rc = *set;
		} else if (cur_sub(set, t->min_len, &rc) < 0) {
			break;
		}
		rv = t->options ? options_record(m, t, &rc) : data_record(m, t, &rc);
		if (rv < 0) {
			msg_err(m, t->options ? NF_ERR_BAD_OPTIONS : NF_ERR_TRUNCATED);
			return;
		}
		m->records++;
		if (t->has_varlen) {
			size_t used = cur_left(set) - cur_left(&rc);
			if (used == 0)
				return; /* cannot happen (min_len >= 1); never spin */
			cur_skip(set, used);
		}
	}
}

/* ---- message ------------------------------------------------------------- */

enum nf_err nf9_decode(struct nf_collector *c, struct nf_exporter *ex, const uint8_t *buf,
		       size_t len, nt_usec arrival)
{
	struct cursor cur = cur_make(buf, len);
	struct nf9_msg m = {.c = c, .ex = ex, .arrival = arrival, .first_err = NF_OK};
	uint16_t version, count_or_len;
	uint32_t t32;

	if (cur_u16(&cur, &version) < 0 || cur_u16(&cur, &count_or_len) < 0)
		return NF_ERR_SHORT;
	if (version != 9 && version != 10)
		return NF_ERR_VERSION;
	m.version = (uint8_t)version;
	if (version == 9) {
		if (len < NF9_HDR_LEN)
			return NF_ERR_SHORT;
		cur_u32(&cur, &m.uptime_ms);
		cur_u32(&cur, &t32);
		m.export_usec = (nt_usec)t32 * 1000000u;
		cur_u32(&cur, &m.seq);
		cur_u32(&cur, &m.domain);
	} else {
		if (len < IPFIX_HDR_LEN || count_or_len < IPFIX_HDR_LEN)
			return NF_ERR_SHORT;
		if (count_or_len > len)
			return NF_ERR_TRUNCATED;
		/* bytes after the message length are not part of the message */
		cur = cur_make(buf + 4, (size_t)count_or_len - 4);
		cur_u32(&cur, &t32);
		m.export_usec = (nt_usec)t32 * 1000000u;
		cur_u32(&cur, &m.seq);
		cur_u32(&cur, &m.domain);
	}
	if (ensure_stores(c, ex) < 0)
		return NF_ERR_SHORT; /* out of memory: nothing sensible to count; drop */

	uint16_t tpl_set = version == 9 ? 0 : 2, opt_set = version == 9 ? 1 : 3;
	while (cur_left(&cur) >= 4) {
		uint16_t set_id, set_len;
		struct cursor set;
		cur_u16(&cur, &set_id);
		cur_u16(&cur, &set_len);
		if (set_len < 4) {
			/* zero-filled tail after the last set is padding, not a set */
			if (set_id == 0 && set_len == 0 && version == 9)
				break;
			msg_err(&m, NF_ERR_BAD_SET);
			break; /* cannot find the next set */
		}
		if (cur_sub(&cur, (size_t)set_len - 4, &set) < 0) {
			msg_err(&m, NF_ERR_TRUNCATED);
			break;
		}
		if (set_id == tpl_set)
			template_set(&m, set_id, &set);
		else if (set_id == opt_set)
			options_template_set(&m, set_id, &set);
		else if (set_id >= 256)
			data_set(&m, set_id, &set);
		/* other ids are reserved: skip them silently */
	}
	/*
	 * v9 sequences count export packets, IPFIX ones data records; records of
	 * a data set without a template cannot be counted, so the next IPFIX
	 * message resynchronises instead of reporting them as lost.
	 */
	struct nf_seq_in sq = {.version = version,
			       .domain = m.domain,
			       .seq = m.seq,
			       .advance = version == 9 ? 1 : m.records,
			       .uptime_ms = m.uptime_ms,
			       .has_uptime = version == 9,
			       .advance_unknown = version == 10 && m.no_template > 0};
	nf_seq_check(ex, &sq);
	if (m.first_err != NF_OK)
		return m.first_err;
	return m.no_template ? NF_ERR_NO_TEMPLATE : NF_OK;
}

void nf9_exporter_free(struct nf_exporter *ex)
{
	nf_tpl_store_free(ex->templates);
	ex->templates = NULL;
	nf_sampler_store_free(ex->samplers);
	ex->samplers = NULL;
	nf_names_free(ex->names);
	ex->names = NULL;
}
