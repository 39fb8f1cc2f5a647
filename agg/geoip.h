/*
 * GeoIP through libmaxminddb (geoipv2_file): country, postal code and
 * coordinates of src_addr / dst_addr, looked up once per record by the
 * `geoip` stage and kept in flow_rec.src_geo / dst_geo for every output.
 *
 * Both database layouts in use are read: MaxMind's (GeoIP2/GeoLite2:
 * country.iso_code, postal.code, location.latitude/longitude) and the flat
 * one of the ip-location-db builds (country_code, postcode, latitude,
 * longitude).  The database is a map of the registry (agg/maps.h): SIGUSR2
 * re-opens it, a file that fails to open keeps the previous one.  Each open
 * reads the file into a private in-memory copy (a memfd), so rewriting the
 * file in place never changes the database in service.
 */
#ifndef NETACCT_AGG_GEOIP_H
#define NETACCT_AGG_GEOIP_H

#include <stddef.h>

#include "agg/flow.h"
#include "agg/maps.h"
#include "agg/pipeline.h"

struct geoip;

/* What a lookup fills. */
#define GEO_COUNTRY 1u
#define GEO_POCODE  2u
#define GEO_COORDS  4u

/* Whether this build has libmaxminddb. */
int geoip_available(void);

/* Open a MaxMind-format database.  Returns 0 and *out, or -1 with "path: reason". */
int geoip_open(struct geoip **out, const char *path, char *err, size_t errlen);
void geoip_close(struct geoip *g);

/*
 * Look a up, filling what (GEO_* bits) of *out (cleared first: "" and 0 for
 * what the database does not know).  Returns 1 when the address is in the
 * database, 0 when not, -1 on a bad address or a database error.
 */
int geoip_lookup(const struct geoip *g, const struct nt_addr *a, unsigned what, struct nt_geo *out);

extern const struct map_type geoip_map_type;

/* The stage: cfg: struct geoip_cfg; map slot: geoipv2_file's entry. */
struct geoip_cfg {
	unsigned src, dst; /* GEO_* bits the outputs need per side; 0: no lookup */
};
extern const struct stage_desc stage_geoip;

#endif
