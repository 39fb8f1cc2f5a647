/*
 * The enrichment stages from configuration: registers networks_file,
 * geoipv2_file and the lookup files with the map registry (so SIGUSR2
 * reloads them with every other map) and fills the pipeline's enrichment
 * part (agg/stages.h) from the keys and from what the outputs aggregate.
 */
#ifndef NETACCT_REACTOR_ENRICH_H
#define NETACCT_REACTOR_ENRICH_H

#include <stddef.h>

#include "agg/lookup.h"
#include "agg/maps.h"
#include "agg/stages.h"
#include "conf/config.h"
#include "out/output.h"

/* Per output: its lookup files (ports_file, ...), applied by the worker to its keys. */
struct enrich_outputs {
	struct lookup_out lookup[CONF_MAX_PLUGINS];
	uint32_t lookup_mask; /* bit per output that has lookup files for its key */
};

/*
 * Fill e (which must outlive the pipeline) and eo, and register their maps in m.
 * Returns 0, or -1 with a reason naming the key (a method that needs a file
 * that is not set, a GeoIP primitive without geoipv2_file, a sum_*
 * primitive with others).
 */
int enrich_setup(struct pipeline_enrich *e, struct enrich_outputs *eo, struct maps *m,
		 const struct conf *c, const struct out_instance *out, unsigned nout, char *err,
		 size_t errlen);

#endif
