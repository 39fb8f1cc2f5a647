/*
 * flow_to_rd_map: BGP/MPLS VPN route distinguishers for flows, by exporter
 * and interface (pmacct's syntax: `id=<RD> ip=<exporter or prefix> [in=N]
 * [out=N] [bgp_nexthop=<addr>] [mpls_vpn_id=N] [mpls_label_bottom=N]`), first
 * matching rule wins.  RDs are written `0:<ASN>:<N>`, `1:<IPv4>:<N>` or
 * `2:<ASN4>:<N>` (RFC 4364 types 0, 1, 2).  A match sets the record's
 * mpls_vpn_rd with origin "map", over what the flow carried.  Loaded and
 * reloaded through the map registry.
 */
#ifndef NETACCT_AGG_FLOW_TO_RD_H
#define NETACCT_AGG_FLOW_TO_RD_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"
#include "agg/maps.h"
#include "agg/pipeline.h"

struct f2rd_map;

/* Parse an RD ("0:65512:1", "1:192.0.2.1:7", "2:4200000000:1") into its 8 wire bytes. */
int f2rd_parse_rd(const char *s, uint64_t *rd);

/* The RD of the first rule matching r; 0 when none does. */
uint64_t f2rd_lookup(const struct f2rd_map *m, const struct flow_rec *r);

extern const struct map_type f2rd_map_type;
/* The stage: reads its map from the registry slot it was added with. */
extern const struct stage_desc stage_flow_to_rd;

#endif
