#include "agg/geoip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_GEOIPV2
#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>

struct geoip {
	MMDB_s db;
	/*
	 * Which layout to try first: each miss costs a scan of the record's
	 * map, so the database's own layout (from its type at open) goes first;
	 * the other is still tried, so a guess never loses a value.
	 */
	int flat_first;
};

int geoip_available(void)
{
	return 1;
}

static int starts(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

int geoip_open(struct geoip **out, const char *path, char *err, size_t errlen)
{
	struct geoip *g = calloc(1, sizeof *g);
	if (!g) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	int rc = MMDB_open(path, MMDB_MODE_MMAP, &g->db);
	if (rc != MMDB_SUCCESS) {
		snprintf(err, errlen, "%s: %s", path, MMDB_strerror(rc));
		free(g);
		return -1;
	}
	const char *type = g->db.metadata.database_type;
	g->flat_first = !(starts(type, "GeoIP") || starts(type, "GeoLite") || starts(type, "DBIP"));
	*out = g;
	return 0;
}

void geoip_close(struct geoip *g)
{
	if (!g)
		return;
	MMDB_close(&g->db);
	free(g);
}

/* A string at one of two paths (MaxMind's nested one and the flat one, in the database's order). */
static void get_str(MMDB_entry_s *e, const char *const *p1, const char *const *p2, char *dst,
		    size_t dlen)
{
	MMDB_entry_data_s d;
	dst[0] = '\0';
	if ((MMDB_aget_value(e, &d, p1) != MMDB_SUCCESS || !d.has_data) &&
	    (MMDB_aget_value(e, &d, p2) != MMDB_SUCCESS || !d.has_data))
		return;
	if (d.type != MMDB_DATA_TYPE_UTF8_STRING)
		return;
	size_t n = d.data_size < dlen - 1 ? d.data_size : dlen - 1;
	memcpy(dst, d.utf8_string, n);
	dst[n] = '\0';
}

static double get_num(MMDB_entry_s *e, const char *const *p1, const char *const *p2)
{
	MMDB_entry_data_s d;
	if ((MMDB_aget_value(e, &d, p1) != MMDB_SUCCESS || !d.has_data) &&
	    (MMDB_aget_value(e, &d, p2) != MMDB_SUCCESS || !d.has_data))
		return 0;
	if (d.type == MMDB_DATA_TYPE_DOUBLE)
		return d.double_value;
	if (d.type == MMDB_DATA_TYPE_FLOAT)
		return d.float_value;
	return 0;
}

int geoip_lookup(const struct geoip *g, const struct nt_addr *a, unsigned what, struct nt_geo *out)
{
	static const char *const country1[] = {"country", "iso_code", NULL};
	static const char *const country2[] = {"country_code", NULL};
	static const char *const pocode1[] = {"postal", "code", NULL};
	static const char *const pocode2[] = {"postcode", NULL};
	static const char *const lat1[] = {"location", "latitude", NULL};
	static const char *const lat2[] = {"latitude", NULL};
	static const char *const lon1[] = {"location", "longitude", NULL};
	static const char *const lon2[] = {"longitude", NULL};
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	const struct sockaddr *sa;
	int mmerr = 0;

	memset(out, 0, sizeof *out);
	if (a->family == 4) {
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, a->a, 4);
		sa = (const struct sockaddr *)&sin;
	} else if (a->family == 6) {
		memset(&sin6, 0, sizeof sin6);
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, a->a, 16);
		sa = (const struct sockaddr *)&sin6;
	} else {
		return -1;
	}
	/* lookups only read the mmap'ed database: safe from every worker at once */
	MMDB_lookup_result_s res = MMDB_lookup_sockaddr((MMDB_s *)&g->db, sa, &mmerr);
	if (mmerr != MMDB_SUCCESS)
		return -1; /* e.g. an IPv6 address against an IPv4-only database */
	if (!res.found_entry)
		return 0;
	int f = g->flat_first;
	if (what & GEO_COUNTRY)
		get_str(&res.entry, f ? country2 : country1, f ? country1 : country2, out->country,
			sizeof out->country);
	if (what & GEO_POCODE)
		get_str(&res.entry, f ? pocode2 : pocode1, f ? pocode1 : pocode2, out->pocode,
			sizeof out->pocode);
	if (what & GEO_COORDS) {
		out->lat = get_num(&res.entry, f ? lat2 : lat1, f ? lat1 : lat2);
		out->lon = get_num(&res.entry, f ? lon2 : lon1, f ? lon1 : lon2);
	}
	return 1;
}

#else /* !HAVE_GEOIPV2 */

struct geoip {
	int unused;
};

int geoip_available(void)
{
	return 0;
}

int geoip_open(struct geoip **out, const char *path, char *err, size_t errlen)
{
	(void)out;
	snprintf(err, errlen, "%s: this build has no GeoIP support (libmaxminddb was not found)",
		 path);
	return -1;
}

void geoip_close(struct geoip *g)
{
	free(g);
}

int geoip_lookup(const struct geoip *g, const struct nt_addr *a, unsigned what, struct nt_geo *out)
{
	(void)g;
	(void)a;
	(void)what;
	memset(out, 0, sizeof *out);
	return -1;
}

#endif

static int reg_parse(const char *path, void **out, char *err, size_t errlen)
{
	struct geoip *g;
	if (geoip_open(&g, path, err, errlen) < 0)
		return -1;
	*out = g;
	return 0;
}

static void reg_free(void *m)
{
	geoip_close(m);
}

const struct map_type geoip_map_type = {reg_parse, reg_free, NULL};

static enum stage_verdict run_geoip(const void *cfg, struct stage_ctx *sc, struct flow_rec *r)
{
	const struct geoip_cfg *c = cfg;
	const struct geoip *g = sc->map;
	if (!g)
		return STAGE_KEEP;
	/* an address the database does not know still gets its (empty) values */
	if (c->src && FR_HAS(r, FR_SRC_ADDR)) {
		geoip_lookup(g, &r->src_addr, c->src, &r->src_geo);
		r->present |= FR_BIT(FR_SRC_GEO);
	}
	if (c->dst && FR_HAS(r, FR_DST_ADDR)) {
		geoip_lookup(g, &r->dst_addr, c->dst, &r->dst_geo);
		r->present |= FR_BIT(FR_DST_GEO);
	}
	return STAGE_KEEP;
}

const struct stage_desc stage_geoip = {"geoip", FR_BIT(FR_SRC_GEO) | FR_BIT(FR_DST_GEO), run_geoip,
				       NULL, NULL};
