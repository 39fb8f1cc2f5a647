/*
 * Names and route distinguishers that routers export as options data.
 *
 * Cisco IOS XR and Huawei export tables next to their flows: VRF id (IE 234
 * ingressVRFID / 235 egressVRFID) -> VRF name (IE 236 VRFname) and route
 * distinguisher (IE 90 mplsVpnRouteDistinguisher), interface index (IE 10
 * ingressInterface / 14 egressInterface) -> interface name (IE 82
 * interfaceName) or description (IE 83).  A store keeps them per exporter,
 * keyed by (observation domain / source id, kind, id); a router re-sending an
 * entry with a new value replaces it, so a renamed VRF or a moved interface
 * shows its new name from the next flow on.
 *
 * Memory is bounded: at most NF_NAMES_MAX entries per exporter (further new
 * keys are refused and counted by the caller), each holding at most
 * NF_NAME_MAX bytes of name; the slot array stays at most half full, so an
 * exporter's table never exceeds 2 * NF_NAMES_MAX * sizeof(struct
 * nf_name_entry) (768 KiB).
 */
#ifndef NETACCT_PROTO_NF_OPTIONS_H
#define NETACCT_PROTO_NF_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#define NF_NAMES_MAX 4096 /* entries per exporter, VRFs and interfaces together */
#define NF_NAME_MAX  64	  /* bytes of a stored name; longer names are cut */

enum nf_name_kind { NF_NAME_VRF = 1, NF_NAME_IFACE = 2 };

struct nf_name_entry {
	uint32_t domain, id;
	uint8_t kind; /* enum nf_name_kind; 0 = free slot */
	uint8_t has_name, has_rd;
	uint64_t rd;		    /* route distinguisher, 8 bytes as on the wire (VRFs) */
	char name[NF_NAME_MAX + 1]; /* NUL-terminated; "" unless has_name */
};

/* What one options record says about one VRF or interface. */
struct nf_name_update {
	uint8_t kind;
	uint32_t domain, id;
	const uint8_t *name; /* NULL: the record carries no name */
	size_t name_len;     /* wire bytes; cut at the first NUL and at NF_NAME_MAX */
	uint8_t has_rd;
	uint64_t rd;
};

struct nf_name_store;

struct nf_name_store *nf_names_new(void);
void nf_names_free(struct nf_name_store *s);
size_t nf_names_count(const struct nf_name_store *s);

/*
 * Insert or update the entry of (kind, domain, id); fields the update does
 * not carry keep their value.  Returns 1 when the store changed, 0 when it
 * already said the same, -1 when the key is new and the store is full (or
 * on allocation failure): nothing is stored.
 */
int nf_names_set(struct nf_name_store *s, const struct nf_name_update *u);

/*
 * The entry of (kind, domain, id) or NULL.  The pointer stays valid until the
 * next nf_names_set() on the store.
 */
const struct nf_name_entry *nf_names_get(const struct nf_name_store *s, uint8_t kind,
					 uint32_t domain, uint32_t id);

/* Whether the store holds any entry of that kind (skip lookups otherwise). */
int nf_names_has(const struct nf_name_store *s, uint8_t kind);

#endif
