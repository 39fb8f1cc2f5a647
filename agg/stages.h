/*
 * The built-in pipeline stages (agg/pipeline.h), in the order the daemon
 * chains them, and a builder for the standard chain.
 */
#ifndef NETACCT_AGG_STAGES_H
#define NETACCT_AGG_STAGES_H

#include <stddef.h>

#include "agg/geoip.h"
#include "agg/networks.h"
#include "agg/pipeline.h"

/*
 * sampling_map: the exporter's rate from the operator's map (agg/sampling_map.h)
 * overrides what the exporter says: sampling_rate and FR_SAMPLING.  cfg: NULL;
 * map slot: the sampling_map registry entry (map type sampling_map_type).
 */
extern const struct stage_desc stage_sampling_map;
extern const struct map_type sampling_map_type;

/* renormalize (nfacctd_renormalize): packets and bytes times sampling_rate when > 1. cfg: NULL. */
extern const struct stage_desc stage_renormalize;

/*
 * tcp_flags_tcp_only: TCP flags only mean something for TCP; exporters leave
 * junk in them otherwise, so a non-TCP record loses FR_TCP_FLAGS.  cfg: NULL.
 */
extern const struct stage_desc stage_tcp_flags_tcp_only;

/*
 * Enrichment (agg/networks.h, agg/geoip.h), filled from the configuration
 * by reactor/enrich.c; it must outlive the pipeline (the stages' cfg points
 * into it).  Chained after the stages above: networks, then geoip.
 */
struct pipeline_enrich {
	int networks;	   /* run the networks stage with `net` */
	int networks_slot; /* networks_file's slot, -1 without a file */
	struct networks_cfg net;
	int geoip_slot; /* geoipv2_file's slot, -1 when no output needs GeoIP */
	struct geoip_cfg geo;
};

struct pipeline_std {
	int sampling_map_slot; /* maps slot of sampling_map, -1 when not configured */
	int flow_to_rd_slot;   /* maps slot of flow_to_rd_map + 1; 0 when not configured */
	int renormalize;       /* nfacctd_renormalize */
	int tcp_flags;	       /* some output aggregates tcpflags */
	const struct pipeline_enrich *enrich; /* NULL: no enrichment */
	int pretag; /* pre_tag_map configured (agg/tagging.h): stage on pretag_slot */
	int pretag_slot;
};

/* Build the standard chain from what is configured.  Returns 0 or -1 with a reason. */
int pipeline_build_std(struct pipeline *p, const struct maps *maps, const struct pipeline_std *s,
		       char *err, size_t errlen);

#endif
