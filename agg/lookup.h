/*
 * Lookup files and value encodings: the one-value-per-line files pmacct
 * reads (ports_file, protos_file, tos_file; networks_file shares the line
 * reader), applied per output to its keys, sum_* support, and the value
 * encodings outputs choose (ToS as DSCP).
 *
 * List file syntax: one value per line; blank lines and lines whose first
 * non-blank character is '!' or '#' are skipped; blanks around a value are
 * ignored.  A bad line fails the whole file ("file:line: reason"), so a
 * reload (SIGUSR2) of a broken file keeps the previous one in service.
 */
#ifndef NETACCT_AGG_LOOKUP_H
#define NETACCT_AGG_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"
#include "agg/maps.h"
#include "agg/pipeline.h"
#include "agg/primitive.h"

/*
 * Called once per value line with the value (trimmed, NUL-terminated, not
 * empty).  Returns 0, or -1 with a reason in why (the reader adds file and
 * line).
 */
typedef int (*listfile_fn)(void *arg, char *value, char *why, size_t whylen);

/* Read len bytes of text named name.  Returns 0, or -1 with "name:line: reason". */
int listfile_parse(const char *text, size_t len, const char *name, listfile_fn fn, void *arg,
		   char *err, size_t errlen);

/* Same from a file; -1 with "path: reason" when it cannot be read. */
int listfile_parse_file(const char *path, listfile_fn fn, void *arg, char *err, size_t errlen);

/* Which set a lookup file fills. */
enum lookup_kind {
	LOOKUP_PORTS,  /* 0..65535: src_port and dst_port */
	LOOKUP_PROTOS, /* 0..255, or a protocol name (tcp, udp, ...): proto */
	LOOKUP_TOS,    /* 0..255: tos */
};

/* A set of listed values (a bitmap over the kind's range). */
struct lookup_set;

/* Parse text / a file of kind k.  Returns 0 and *out, or -1 with "file:line: reason". */
int lookup_set_parse(struct lookup_set **out, enum lookup_kind k, const char *text, size_t len,
		     const char *name, char *err, size_t errlen);
int lookup_set_load(struct lookup_set **out, enum lookup_kind k, const char *path, char *err,
		    size_t errlen);
void lookup_set_free(struct lookup_set *s);
size_t lookup_set_count(const struct lookup_set *s);

static inline int lookup_set_has(const struct lookup_set *s, unsigned v);

/* IANA protocol number for a name pmacct prints ("tcp", "ipv6-icmp", ...); -1 if unknown. */
int lookup_proto_number(const char *name);

/* Map registry types, one per kind (the registry entry's key is the config key). */
extern const struct map_type lookup_ports_type, lookup_protos_type, lookup_tos_type;

/*
 * Lookup files are per output (pmacct: per plugin): after an output's key
 * is extracted, the slices of the primitives a file covers (ports_file:
 * src_port, dst_port, sum_port; protos_file: proto; tos_file: tos) are set
 * to 0 unless their value is listed.  A struct lookup_out says where those
 * slices are and which map holds each file; the sets are read from the map
 * registry at each use, so a reload is seen from the next record on.
 */
#define LOOKUP_FIELDS_MAX 4
struct lookup_out {
	int slot[3]; /* maps slot by enum lookup_kind, -1 when this output has no such file */
	unsigned n;
	struct {
		uint16_t off;  /* in the key */
		uint8_t width; /* 1 or 2 */
		uint8_t kind;  /* enum lookup_kind */
	} f[LOOKUP_FIELDS_MAX];
};

/*
 * Fill lo from an output's key spec and the slots of its files (-1: none).
 * Returns the number of key slices to check (0: nothing to do for it).
 */
unsigned lookup_out_init(struct lookup_out *lo, const struct keyspec *ks, const int slot[3]);

/* Zero the slices of key whose value the output's files do not list. */
void lookup_out_apply(const struct lookup_out *lo, const struct maps *m, uint8_t *key);

/* ToS as DSCP (tos_encode_as_dscp): the top six bits. */
static inline uint8_t lookup_tos_dscp(uint8_t tos)
{
	return (uint8_t)(tos >> 2);
}

/*
 * sum_host, sum_net, sum_port, sum_as, sum_mac: traffic counted in both
 * directions.  Their extractors read the source side; the worker accounts
 * every record once more, reversed, into the tables of outputs whose key
 * has a sum primitive, so a row holds what its address (port, ...) sent
 * plus what it received.
 */

/* Whether ks aggregates on a sum_* primitive. */
int lookup_keyspec_sum(const struct keyspec *ks);

/*
 * pmacct's rule: a sum_* primitive goes alone (tag, tag2 and label aside),
 * since a second key field would be read from the wrong side of the reversed
 * record.  Returns 0, or -1 with the reason in why.
 */
int lookup_keyspec_check(const struct keyspec *ks, char *why, size_t whylen);

/* dst = src with source and destination (addresses, masks, prefixes, ports, ASNs, MACs, GeoIP)
 * swapped. */
void lookup_flow_reverse(struct flow_rec *dst, const struct flow_rec *src);

/* ---- inline ---- */

struct lookup_set {
	enum lookup_kind kind;
	size_t count;
	uint64_t bits[65536 / 64];
};

static inline int lookup_set_has(const struct lookup_set *s, unsigned v)
{
	return v < 65536 && ((s->bits[v >> 6] >> (v & 63)) & 1u);
}

#endif
