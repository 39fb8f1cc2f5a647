/*
 * NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) template cache of one exporter.
 *
 * A template is stored together with its decode plan: each field already
 * knows which handler fills the flow record (enum nf_fk), so decoding a data
 * record is one pass over the plan with no lookups.  Templates are scoped by
 * (export version, source id / observation domain, template id); the exporter
 * itself (source address + port) owns the store.
 *
 * A template is immutable once stored: a redefinition allocates a new one and
 * frees the old, so a plan can never be half-updated.
 */
#ifndef NETACCT_PROTO_NF_TEMPLATE_H
#define NETACCT_PROTO_NF_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"
#include "agg/primitive.h"

#define NF_TPL_VARLEN		0xffffu /* RFC 7011 §7: field length 65535 = variable */
#define NF_TPL_MAX_PER_EXPORTER 4096	/* templates of all domains of one exporter */
#define NF_TPL_MAX_FIELDS	512	/* no real exporter comes close */
#define NF_TPL_NO_CUSTOM	0xffu

/* Field handlers: what a template field does to the flow record. */
enum nf_fk {
	FK_SKIP = 0,
	FK_SRC_V4,
	FK_DST_V4,
	FK_SRC_V6,
	FK_DST_V6,
	FK_SRC_MASK,
	FK_DST_MASK,
	FK_SRC_PORT,
	FK_DST_PORT,
	FK_PROTO,
	FK_TOS,
	FK_TCP_FLAGS,
	FK_SRC_AS,
	FK_DST_AS,
	FK_IN_IF,
	FK_OUT_IF,
	FK_BYTES,
	FK_PKTS, /* IE 1/2 */
	FK_BYTES_TOTAL,
	FK_PKTS_TOTAL, /* IE 85/86: used when 1/2 are absent */
	FK_BYTES_OUT,
	FK_PKTS_OUT, /* IE 23/24: used when neither is present */
	FK_FLOWS,
	FK_NH_V4,
	FK_NH_V6, /* IE 15/62: peer_dst_ip unless a BGP next hop is there */
	FK_BGP_NH_V4,
	FK_BGP_NH_V6, /* IE 18/63 */
	FK_SRC_MAC,
	FK_DST_MAC, /* IE 56 / 80 */
	FK_SRC_MAC_POST,
	FK_DST_MAC_POST, /* IE 81 / 57: only when 56/80 are absent */
	FK_VLAN_IN,
	FK_VLAN_OUT, /* IE 58 / 59 */
	FK_DOT1Q_IN,
	FK_DOT1Q_OUT, /* IE 243 / 254: only when 58/59 are absent */
	FK_MPLS,      /* IE 70-79; stack position in nf_tpl_field.arg */
	FK_FWD_STATUS,
	FK_EXPORTER_V4,
	FK_EXPORTER_V6,
	FK_DIRECTION,
	FK_T_UPTIME_START,
	FK_T_UPTIME_END, /* IE 22 / 21 */
	FK_T_SEC_START,
	FK_T_SEC_END, /* IE 150 / 151 */
	FK_T_MS_START,
	FK_T_MS_END, /* IE 152 / 153 */
	FK_T_NTP_START,
	FK_T_NTP_END, /* IE 154-157 (RFC 7011 §6.1.9/6.1.10) */
	FK_T_DELTA_START,
	FK_T_DELTA_END, /* IE 158 / 159 */
	FK_T_SYSINIT,	/* IE 160 */
	FK_NAT_SRC_V4,
	FK_NAT_DST_V4,
	FK_NAT_SRC_V6,
	FK_NAT_DST_V6,
	FK_NAT_SRC_PORT,
	FK_NAT_DST_PORT,
	FK_NAT_EVENT,
	FK_FLOW_LABEL,
	FK_ICMP, /* IE 32 / 139: ICMP type and code */
	FK_VRF_IN,
	FK_VRF_OUT,
	FK_SAMPLER_ID,		/* IE 48 / 302 */
	FK_SAMPLING_INTERVAL,	/* IE 34 / 50 / 305 */
	FK_SAMPLING_SPACE,	/* IE 306 */
	FK_SAMPLING_SIZE,	/* IE 309: n of random n-out-of-N (RFC 5477) */
	FK_SAMPLING_POPULATION, /* IE 310: N */
	FK_VRF_NAME,		/* IE 236 VRFname (any length, variable too) */
	FK_IFNAME,		/* IE 82 interfaceName */
	FK_IFDESCR,		/* IE 83 interfaceDescription (options only) */
	FK_RD,			/* IE 90 mplsVpnRouteDistinguisher, 8 bytes */
	FK__COUNT
};

struct nf_tpl_field {
	uint32_t pen;	/* enterprise number (IPFIX), 0 = IANA */
	uint16_t type;	/* IE id without the enterprise bit */
	uint16_t len;	/* wire length, NF_TPL_VARLEN = variable */
	uint8_t kind;	/* enum nf_fk */
	uint8_t arg;	/* handler argument (MPLS stack position) */
	uint8_t custom; /* aggregate_primitives index or NF_TPL_NO_CUSTOM */
	uint8_t scope;	/* options template scope field */
};

/* How an exported timestamp is encoded (decides how it is resolved). */
enum nf_tk { NF_TK_NONE, NF_TK_UPTIME, NF_TK_SEC, NF_TK_MS, NF_TK_NTP, NF_TK_DELTA };

/*
 * Fast decode plan of a template.
 *
 * The generic path walks every field of every record through a switch on
 * its handler; all the decisions that do not depend on the record's bytes
 * are taken here, once, when the template is installed:
 *  - fields nothing reads get no entry at all;
 *  - fields whose effect depends on other fields of the record (BGP next hop
 *    over IP next hop, IE 56/80 over 81/57, 58/59 over 243/254, the byte and
 *    packet counter precedence, absolute times over sysUptime ones) are
 *    resolved to the one field that would win, so every remaining entry is
 *    an unconditional store;
 *  - plain integers become (record offset, flow_rec offset) entries grouped
 *    in runs of the same wire length and member width, so the decoder has
 *    one tight loop per run with both widths known at compile time and no
 *    per-field branch; their FR_ bits are one mask.
 * Only addresses, MACs, MPLS entries, the flow label, names and custom
 * primitives need an op; times and sampling fields have one slot each.
 *
 * Variable-length fields (RFC 7011 §7) split a record into segments: segment
 * 0 starts at the record, segment k right after the value of the k-th
 * variable-length field.  Every entry's offset is relative to its segment, so
 * per record the decoder only finds the nvlen segment starts (one length
 * prefix each, vgap[] fixed bytes apart) and then runs the same plan.  A
 * variable-length field's own value is addressed by its index (vlen_idx).
 *
 * Options templates get a plan too (struct nf_plan_opt): one slot per thing
 * the options record can tell (sampler, VRF and interface tables).
 *
 * Because every store is unconditional, the set of flow_rec fields written
 * is the same for every record of the template: the decoder clears the
 * record once when consecutive records share the template, not per record.
 */
/* nf_plan.names: VRF ids or names/RD in the record (always), interfaces (with a table) */
#define NF_PLAN_NAMES_ALWAYS 1u
#define NF_PLAN_NAMES_IFACE  2u
#define NF_PLAN_MAX_VLEN     32	     /* templates with more variable-length fields: generic path */
#define NF_PLAN_VLEN	     0xffffu /* nf_plan_op/nf_plan_val.len: variable, off = vlen index */

struct nf_plan_int {
	uint16_t off;  /* in its segment */
	uint16_t dst;  /* offsetof(struct flow_rec, member) */
	uint8_t wlen;  /* wire length 1..8 (reduced-size encoding) */
	uint8_t width; /* sizeof the member: 1, 2, 4 or 8 */
	uint8_t seg;
};

enum nf_pop {
	NF_POP_ADDR4,	   /* 4 bytes -> struct nt_addr at dst, family 4 */
	NF_POP_ADDR6,	   /* 16 bytes -> struct nt_addr at dst, family 6 */
	NF_POP_MAC,	   /* 6 bytes copied to dst */
	NF_POP_MPLS,	   /* 3-byte label stack entry, position in arg */
	NF_POP_FLOW_LABEL, /* low 20 bits */
	NF_POP_CUSTOM,	   /* custom primitive index arg: pointer + length */
	NF_POP_NAME,	   /* name carried by the record: arg 0 VRF (236), 1 interface (82) */
	NF_POP_RD	   /* IE 90 route distinguisher carried by the record */
};

struct nf_plan_op {
	uint16_t off; /* in its segment; the vlen index when len is NF_PLAN_VLEN */
	uint16_t dst;
	uint16_t len; /* wire length (custom primitives can be long) or NF_PLAN_VLEN */
	uint8_t op;   /* enum nf_pop */
	uint8_t arg;
	uint8_t seg;
};

/* One field read as an unsigned integer or bytes; len 0 = absent. */
struct nf_plan_val {
	uint16_t off; /* in its segment; the vlen index when len is NF_PLAN_VLEN */
	uint16_t len;
	uint8_t tk; /* times: enum nf_tk of the winning field */
	uint8_t seg;
};

/*
 * Integer runs: NF_RUN(wire length class, width class) for wire lengths
 * 1/2/4/8 and widths 1/2/4/8 (class 0..3); NF_RUN_OTHER holds the odd wire
 * lengths (3, 5, 6, 7), decoded with a byte loop.  ints[] is sorted by run.
 */
#define NF_RUN(wl_class, width_class) ((wl_class)*4 + (width_class))
#define NF_RUN_OTHER		      16
#define NF_RUNS			      17

/* What an options record can set, each the last field of its kind. */
struct nf_plan_opt {
	struct nf_plan_val sampler_id, direction;
	struct nf_plan_val smp[4];   /* interval, space, size, population */
	struct nf_plan_val vrf[2];   /* IE 234 / 235 */
	struct nf_plan_val iface[2]; /* IE 10 / 14, or the v9 Interface scope */
	struct nf_plan_val vrf_name, ifname, ifdescr, rd;
};

struct nf_plan {
	uint64_t present;      /* FR_ bits every record sets (not times, MPLS, sampling) */
	uint16_t nint, nop;    /* ops run in template order: later fields win */
	uint8_t run[NF_RUNS];  /* entries of ints[] in each run, in run order */
	uint8_t runs[NF_RUNS]; /* the runs that have entries, in run order */
	uint8_t nruns;
	uint8_t has_mpls, has_smp;
	uint8_t names; /* NF_PLAN_NAMES_* bits: when to resolve names per record */
	uint8_t nvlen; /* variable-length fields */
	/*
	 * Every entry is in segment 0 (before the first variable-length field)
	 * and none is a variable-length value: records only need their length
	 * found, then decode as fixed-length ones.
	 */
	uint8_t seg0;
	uint16_t tail;			 /* fixed bytes after the last variable-length value */
	uint16_t vgap[NF_PLAN_MAX_VLEN]; /* fixed bytes before each length prefix */
	struct nf_plan_val t[2];	 /* flow start, end */
	struct nf_plan_val sysinit, sampler_id;
	struct nf_plan_val smp[4]; /* interval, space, size, population */
	const struct nf_plan_int *ints;
	const struct nf_plan_op *ops;
	const struct nf_plan_opt *opt; /* options templates only (then nint = nop = 0) */
};

struct nf_template {
	struct nf_template *next;   /* hash chain */
	const struct nf_plan *plan; /* NULL: generic path (see nf_tpl_build) */
	uint32_t domain;	    /* v9 source id / IPFIX observation domain id */
	uint16_t id;
	uint8_t version;  /* 9 or 10 */
	uint8_t options;  /* options template */
	uint8_t scope_ok; /* options: scope accepted by the scope check */
	uint8_t has_varlen;
	uint16_t nscope; /* options: leading scope fields */
	uint16_t nfields;
	uint16_t min_len; /* record length (fixed) or minimum (varlen: 1 byte each) */
	struct nf_tpl_field f[];
};

struct nf_template_store;

/*
 * Flow record fields a collector may be told to leave out (nf_options.skip):
 * FR_ bits of data fields that only some outputs read.  A field whose
 * handler writes only skipped bits is planned as FK_SKIP, for the generic
 * path and the fast plan alike.  The names and the route distinguisher go
 * together (NF_SKIP_NAMES): one resolution fills them all, from the VRF ids
 * and interface indexes, which therefore stay when names are wanted.
 */
#define NF_SKIP_NAMES                                                                              \
	((1ull << FR_VRF_NAME) | (1ull << FR_IFNAME_IN) | (1ull << FR_IFNAME_OUT) |                \
	 (1ull << FR_MPLS_VPN_RD))
#define NF_SKIP_NAME_KEYS                                                                          \
	((1ull << FR_VRF_IN) | (1ull << FR_VRF_OUT) | (1ull << FR_IN_IFACE) |                      \
	 (1ull << FR_OUT_IFACE))
#define NF_SKIPPABLE                                                                               \
	((1ull << FR_SRC_MASK) | (1ull << FR_DST_MASK) | (1ull << FR_TOS) | (1ull << FR_SRC_AS) |  \
	 (1ull << FR_DST_AS) | (1ull << FR_PEER_DST_IP) | (1ull << FR_SRC_MAC) |                   \
	 (1ull << FR_DST_MAC) | (1ull << FR_VLAN_IN) | (1ull << FR_VLAN_OUT) | (1ull << FR_MPLS) | \
	 (1ull << FR_FWD_STATUS) | (1ull << FR_TS_START) | (1ull << FR_TS_END) |                   \
	 (1ull << FR_POST_NAT_SRC_ADDR) | (1ull << FR_POST_NAT_DST_ADDR) |                         \
	 (1ull << FR_POST_NAT_SRC_PORT) | (1ull << FR_POST_NAT_DST_PORT) |                         \
	 (1ull << FR_NAT_EVENT) | (1ull << FR_FLOW_LABEL) | (1ull << FR_ICMP) |                    \
	 NF_SKIP_NAME_KEYS | NF_SKIP_NAMES)

/*
 * The skip mask a collector uses: only NF_SKIPPABLE bits, names all or
 * none, and the VRF ids and interface indexes kept when names are wanted.
 */
uint64_t nf_skip_normalize(uint64_t skip);

/*
 * Build a template from field specifiers with its fast plan, in the same
 * allocation so that free() still releases everything.  Data fields whose
 * every FR_ bit is in skip (nf_skip_normalize()d) are not decoded.  A template has no
 * plan (generic path) only when it has more than NF_PLAN_MAX_VLEN
 * variable-length fields or two fields for one MPLS stack position.  For options
 * templates the first nscope fields are the scope.  custom may be NULL.
 * Returns NULL with *why set when the template is unusable (zero fields,
 * records that could not fit in a set, too many fields) or on ENOMEM
 * (*why = "out of memory").
 */
struct nf_template *nf_tpl_build(uint8_t version, uint32_t domain, uint16_t id, int options,
				 uint16_t nscope, const struct nf_tpl_field *fields,
				 uint16_t nfields, const struct prim_registry *custom,
				 uint64_t skip, const char **why);

/* Same wire definition (version, kind, scope, field list)? */
int nf_tpl_equal(const struct nf_template *a, const struct nf_template *b);

/*
 * Store a plain integer field (one whose value goes as-is into one flow_rec
 * member with its own presence bit) the way the decode plans do.  Returns 0,
 * storing nothing, for any other kind (counters, 243/254, addresses, ...).
 */
struct flow_rec;
int nf_tpl_is_plain_int(uint8_t kind);
int nf_tpl_store_int(struct flow_rec *r, uint8_t kind, uint64_t v);

struct nf_template_store *nf_tpl_store_new(void);
/* Count this store's templates against b (shared by a collector's stores). */
struct nf_tpl_budget;
void nf_tpl_store_set_budget(struct nf_template_store *s, struct nf_tpl_budget *b);
void nf_tpl_store_free(struct nf_template_store *s);
size_t nf_tpl_store_count(const struct nf_template_store *s);

struct nf_template *nf_tpl_get(const struct nf_template_store *s, uint8_t version, uint32_t domain,
			       uint16_t id);

/*
 * Install t (ownership passes to the store), replacing any template with the
 * same key.  Returns 1 when the store changed, 0 when t was identical to the
 * stored one (t is freed: exporters resend templates every few seconds and
 * that must not trigger a templates-file write), and -1 when t is a new key
 * but the store already holds NF_TPL_MAX_PER_EXPORTER templates, or the
 * store's budget is used up (t is freed).
 */
int nf_tpl_put(struct nf_template_store *s, struct nf_template *t);

/* Remove one template; returns 1 if it existed. */
int nf_tpl_withdraw(struct nf_template_store *s, uint8_t version, uint32_t domain, uint16_t id);

/* Remove all data (options = 0) or options (1) templates of a domain; returns how many. */
size_t nf_tpl_withdraw_all(struct nf_template_store *s, uint8_t version, uint32_t domain,
			   int options);

/* Visit every template (templates file). */
void nf_tpl_foreach(const struct nf_template_store *s,
		    void (*fn)(void *arg, const struct nf_template *t), void *arg);

#endif
