/*
 * Aggregation primitives: the one place where a primitive is defined.
 *
 * A primitive knows how to pull its value out of a flow record into a
 * fixed-width slice of an aggregation key (extract) and how to render that
 * slice for output (render).  Outputs never look at flow records: they walk a
 * key spec and ask each primitive to render itself, so adding a primitive is
 * one row in primitive.c and nothing else.
 */
#ifndef NETACCT_AGG_PRIMITIVE_H
#define NETACCT_AGG_PRIMITIVE_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"
#include "agg/table.h"

#define PRIM_TEXT_MAX 512
#define KEYSPEC_MAX   96

/* Output-shaping switches, from configuration, shared by all encoders. */
struct prim_opts {
	int tcpflags_as_array;	    /* tcpflags_encode_as_array */
	int fwd_status_as_string;   /* fwd_status_encode_as_string */
	int mpls_stack_as_array;    /* mpls_label_stack_encode_as_array */
	int timestamps_secs;	    /* timestamps_secs: drop sub-second part */
	int timestamps_since_epoch; /* timestamps_since_epoch: "<epoch>.<usec>" */
	int timestamps_utc;	    /* timestamps_utc: render in UTC, not local */
	int time_new;		    /* nfacctd_time_new: bin by arrival, not flow time */
	int history;		    /* *_history in seconds: time bins in the key; 0 = none */
	/* the bins' calendar (agg/timebin.h); NULL: multiples of history since the epoch */
	const struct timebin *tb;
	int num_protos;	  /* print_num_protos: proto as a number */
	int tos_dscp;	  /* tos_encode_as_dscp: tos >> 2 */
	int label_as_map; /* pre_tag_label_encode_as_map */
};

/*
 * A rendered value is typed, so each encoder can map it to its own types
 * (JSON number/string/array/object, later Avro and SQL column types).  The
 * text form `s` is always filled: it is what CSV and formatted print.
 */
enum prim_kind {
	PV_UINT, /* integer: u; s is its decimal text */
	PV_STR,	 /* string: s */
	PV_LIST, /* array of strings/integers: item[]; s is the items joined by ',' */
	PV_NULL, /* no value: JSON null; s is "" */
	PV_ADDR, /* IPv4/IPv6 address: addr (family 4/6, 0 = none); s is its text or "" */
	PV_MAP,	 /* name -> string/integer: item[] with names; s is "name=value" joined by ',' */
};

#define PRIM_ITEMS_MAX 32

/* One array element or map entry; its text (and name) live in the value's s. */
struct prim_item {
	uint16_t off, len;	     /* text */
	uint16_t name_off, name_len; /* PV_MAP only */
	uint8_t is_uint;	     /* integer (u), else string */
	uint64_t u;
};

struct prim_val {
	enum prim_kind kind;
	uint64_t u;
	uint8_t addr[17]; /* family byte + 16 address bytes, as in a key slot */
	unsigned n;	  /* items of a PV_LIST / PV_MAP */
	struct prim_item item[PRIM_ITEMS_MAX];
	char s[PRIM_TEXT_MAX];
};

/*
 * Building values (renderers, event records, tests).  The scalar setters
 * cannot fail (text longer than PRIM_TEXT_MAX is cut); adding an item
 * returns -1, adding nothing, when the item or its text does not fit.
 */
void prim_val_uint(struct prim_val *v, uint64_t u);
void prim_val_str(struct prim_val *v, const char *s);
void prim_val_null(struct prim_val *v);
void prim_val_addr(struct prim_val *v, const uint8_t *slot17);
void prim_val_list(struct prim_val *v); /* an empty array */
int prim_val_list_str(struct prim_val *v, const char *s);
int prim_val_list_uint(struct prim_val *v, uint64_t u);
void prim_val_map(struct prim_val *v); /* an empty map */
int prim_val_map_str(struct prim_val *v, const char *name, const char *s);
int prim_val_map_uint(struct prim_val *v, const char *name, uint64_t u);

/* Semantics of a user-defined (aggregate_primitives) field. */
enum custom_sem {
	CS_UINT,
	CS_HEX,
	CS_IP,
	CS_MAC,
	CS_STR,
	CS_RAW,
};

/* One aggregate_primitives entry. */
struct custom_prim {
	char name[64];
	uint32_t pen;	     /* enterprise number, 0 = IANA */
	uint16_t field_type; /* IE / v9 field type */
	uint16_t len;	     /* key bytes; for vlen the maximum kept */
	int vlen;	     /* variable length (len: vlen) */
	enum custom_sem sem;
	unsigned index; /* slot in flow_rec.custom_* */
};

struct primitive;
struct flow_rec;
struct timebin;
struct keyspec_field;
typedef void (*prim_extract_fn)(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
				const struct prim_opts *o);

struct keyspec_field {
	const struct primitive *p;
	prim_extract_fn extract;	  /* p->extract, NULL for accumulated primitives */
	uint16_t off;			  /* byte offset in the key */
	uint16_t width;			  /* bytes in the key */
	uint16_t rec_off;		  /* flow_rec offset for table-driven extractors */
	uint64_t need;			  /* FR_* bit the field needs, 0: always extracted */
	const struct custom_prim *custom; /* only for user-defined primitives */
};

/* primitive.accumulate: the counter an accumulated primitive renders. */
enum {
	PRIM_ACC_TCP_FLAGS = 1,
	PRIM_ACC_FIRST = 2, /* first_usec: timestamp_min */
	PRIM_ACC_LAST = 3,  /* last_usec: timestamp_max */
};

/* primitive.pres: the FR_* bit a primitive's field needs, stored plus one. */
#define PRES(f) ((uint8_t)((f) + 1))

struct primitive {
	const char *name;  /* as written in `aggregate:` */
	const char *json;  /* JSON field name */
	const char *csv;   /* CSV / formatted column header */
	uint16_t width;	   /* key bytes (0: derived from the custom definition) */
	uint8_t col;	   /* formatted-output column width */
	const char *descr; /* for -a */
	void (*extract)(const struct flow_rec *r, uint8_t *k, const struct keyspec_field *f,
			const struct prim_opts *o);
	void (*render)(const uint8_t *k, const struct keyspec_field *f, const struct prim_opts *o,
		       struct prim_val *v);
	/*
	 * Accumulated, not keyed: the value is folded into the entry's counters
	 * (tcp flags are OR-ed over every flow of a row, as pmacct does) and
	 * render() is given a pointer into struct agg_counters instead of the key:
	 * PRIM_ACC_* says which counter.
	 */
	uint8_t accumulate;
	/*
	 * Presence: PRES(FR_x) when the field is only meaningful with FR_x set
	 * (absent, it extracts as zeroes whatever the reused record holds); 0
	 * when every decoder writes it for every record or the extractor checks
	 * presence itself.
	 */
	uint8_t pres;
};

/* Where a field's value lives in an entry: its key slice, or the counters. */
const uint8_t *keyspec_value(const struct keyspec_field *f, const uint8_t *key,
			     const void *counters);

/* User-defined primitives loaded from aggregate_primitives. */
struct prim_registry {
	struct custom_prim custom[FR_CUSTOM_MAX];
	unsigned ncustom;
};

/* An output's key layout, derived from its `aggregate` list. */
struct keyspec {
	struct keyspec_field f[KEYSPEC_MAX];
	unsigned n;
	/*
	 * The hot path: the fields extract() fills (accumulated ones have none)
	 * and the union of their presence bits, so a record that carries them
	 * all (the usual case) is extracted without a test per field.
	 */
	uint8_t ex[KEYSPEC_MAX];
	unsigned nex;
	uint64_t need_all;
	/*
	 * The same compiled (keyspec_build): the fields that are plain copies
	 * from the record (addresses, ports, AS numbers, ...) as fixed-offset
	 * copies, neighbours in both the record and the key merged into one,
	 * and the fields that need their extractor (call[], indexes into f).
	 */
	struct keyspec_copy {
		uint16_t rec_off, key_off, len;
	} copy[KEYSPEC_MAX];
	unsigned ncopy;
	uint8_t call[KEYSPEC_MAX];
	unsigned ncall;
	/*
	 * dst_port is a copy too (src_port's neighbour), fixed after the copies
	 * by its extractor when the record is ICMP or has no port: key offset
	 * in each form, 0xffff = not in the spec.
	 */
	uint16_t dport_off, cdport_off;
	/*
	 * The compact form (struct agg_compact, agg/table.h): plain addresses
	 * (src_host, dst_host, peer_src_ip, ...) in 5 bytes when IPv4.  ccopy
	 * and ccall_off are the same extraction at the compact offsets;
	 * cfam_rec the record offsets of the compacted addresses' families.
	 */
	struct agg_compact cx;
	struct keyspec_copy ccopy[KEYSPEC_MAX];
	unsigned nccopy;
	uint16_t ccall_off[KEYSPEC_MAX];
	uint16_t cfam_rec[KEYSPEC_MAX];
	unsigned ncfam;
	/*
	 * The copies of each form as whole-word moves (struct keyspec_words),
	 * when they cover the key with no extractor call: cw for the compact
	 * form, fw for the full one.
	 */
	struct keyspec_words {
		int ok;
		uint16_t end; /* the copies cover [0, end): zeroes go after */
		unsigned nshort, nlong;
		uint32_t shrt[KEYSPEC_MAX]; /* up to 8 bytes: rec_off | key_off << 16 */
		struct keyspec_copy lng[KEYSPEC_MAX];
	} cw, fw;
	uint16_t key_len; /* multiple of 8 (table compares in words) */
	int want_flows;	  /* `flows` in aggregate: print the flows counter */
	int has_history;  /* f[0] is the time bin (stamp_inserted) */
	struct prim_opts opts;
};

/* Built-in primitives in output order; *n receives the count. */
const struct primitive *prim_builtins(size_t *n);

/*
 * Build a key spec from a comma/space separated aggregate list.  Fields are
 * laid out in canonical (table) order whatever order the user wrote, so the
 * same aggregate always prints the same way.  Returns -1 and fills err on an
 * unknown or repeated primitive.
 */
int keyspec_build(struct keyspec *ks, const char *aggregate, const struct prim_registry *reg,
		  const struct prim_opts *opts, char *err, size_t errlen);

/*
 * Fill key (ks->key_len bytes, zeroed first) from a record.  A field whose
 * presence bit is clear in r stays zero (see struct primitive.pres).
 */
void keyspec_extract(const struct keyspec *ks, const struct flow_rec *r, uint8_t *key);

/*
 * The same for a table with the spec's compact form (agg_table_set_compact
 * with &ks->cx): the key in its one form.  Returns its length:
 * ks->cx.key_len for the compact form (every compacted address IPv4 or
 * absent), ks->key_len for the full one.  key has room for
 * KEYSPEC_SLACK bytes more than ks->key_len (whole-word copies).
 */
#define KEYSPEC_SLACK 8
uint32_t keyspec_extract_compact(const struct keyspec *ks, const struct flow_rec *r, uint8_t *key);

struct agg_counters;

/*
 * The counters one record contributes to its entry: packets, bytes, flows
 * (1 unless exported), TCP flags when present (the tcp_flags_tcp_only stage
 * clears them for other protocols) and last seen = now.
 */
static inline void prim_counters(struct agg_counters *c, const struct flow_rec *r, nt_usec now)
{
	c->packets = r->packets;
	c->bytes = r->bytes;
	c->flows = FR_HAS(r, FR_FLOWS) ? r->flows : 1;
	c->last_sec = (uint32_t)(now / 1000000u);
	c->tcp_flags = FR_HAS(r, FR_TCP_FLAGS) ? r->tcp_flags : 0;
}

/* Whether the spec uses a primitive by name (for enrichment decisions). */
int keyspec_has(const struct keyspec *ks, const char *name);

/*
 * Parse an aggregate_primitives file into reg, in map-line syntax
 * (agg/mapline.h; '#' comments too).  One definition per line:
 *   name=<n> field_type=<id|<pen>:<id>|PEN:<pen>:<id>> len=<n|vlen>
 *   [semantics=<u_int|hex|ip|mac|str|raw>]
 * A name is letters, digits, '_', '-' or '.', so that `aggregate` can name
 * it.  Any bad line fails the file: -1 with "file:line: reason" in err.
 */
int prim_registry_load(struct prim_registry *reg, const char *path, char *err, size_t errlen);

/* Render helpers shared with encoders. */
void addr_to_text(const uint8_t *slot17, char *buf, size_t len);
/* The same for an address (logs); "" when absent. */
void nt_addr_to_text(const struct nt_addr *a, char *buf, size_t len);

#endif
