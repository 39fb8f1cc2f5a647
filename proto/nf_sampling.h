/*
 * Sampling information for NetFlow v9 / IPFIX.
 *
 * Two sources, both giving a 1-in-N rate:
 *  - the exporter's own options data (sampler id -> interval, per source id /
 *    observation domain), kept per exporter in an nf_sampler_store;
 *  - the operator's sampling_map, which lives in agg/sampling_map.h (the
 *    aggregation pipeline applies it).
 * This module is the exporter-side store of the first.
 */
#ifndef NETACCT_PROTO_NF_SAMPLING_H
#define NETACCT_PROTO_NF_SAMPLING_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"

/* Sampler id used for options data that names no sampler: exporter-wide rate. */
#define NF_SAMPLER_ANY UINT64_MAX

struct nf_sampler {
	uint32_t domain;
	uint64_t id;
	uint32_t interval; /* 1-in-N */
	uint8_t direction; /* 0 ingress, 1 egress; from IE 61 when exported */
	uint8_t has_direction;
};

struct nf_sampler_store;

struct nf_sampler_store *nf_sampler_store_new(void);
void nf_sampler_store_free(struct nf_sampler_store *s);

/* Insert or update; returns -1 on allocation failure. */
int nf_sampler_set(struct nf_sampler_store *s, const struct nf_sampler *smp);

/* Exact (domain, id) match or NULL. */
const struct nf_sampler *nf_sampler_get(const struct nf_sampler_store *s, uint32_t domain,
					uint64_t id);

/*
 * Sampler for a data record: exact (domain, id), else the exporter-wide
 * entry (NF_SAMPLER_ANY), else the most recently announced sampler of the
 * domain (exporters that scope options by sampler id but do not repeat the
 * id in data records).  NULL when the domain has none.
 */
const struct nf_sampler *nf_sampler_find(const struct nf_sampler_store *s, uint32_t domain,
					 uint64_t id);

#endif
