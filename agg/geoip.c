#include "agg/geoip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_GEOIPV2
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <unistd.h>

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

/*
 * A private copy of the file in memory (a memfd), returned as an fd, or -1
 * with errno.  libmaxminddb maps the file it opens: mapped in place, a
 * database rewritten on disk (cp over it, as operators do before SIGUSR2)
 * would change, or be truncated, under the lookups of the map still in
 * service.  The copy keeps the map in service intact until it is retired.
 */
static int snapshot(const char *path)
{
	int in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int fd = memfd_create("netacct-geoip", MFD_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		close(in);
		errno = e;
		return -1;
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;
			close(in);
			if (n < 0) {
				close(fd);
				errno = e;
				return -1;
			}
			return fd;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				int e = errno;
				close(in);
				close(fd);
				errno = e;
				return -1;
			}
			off += w;
		}
	}
}

int geoip_open(struct geoip **out, const char *path, char *err, size_t errlen)
{
	struct geoip *g = calloc(1, sizeof *g);
	if (!g) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	int fd = snapshot(path);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(g);
		return -1;
	}
	char fdpath[64];
	snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
	int rc = MMDB_open(fdpath, MMDB_MODE_MMAP, &g->db);
	close(fd);			/* the mapping keeps the copy */
	if (rc == MMDB_FILE_OPEN_ERROR) /* no /proc: the file itself, mapped in place */
		rc = MMDB_open(path, MMDB_MODE_MMAP, &g->db);
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

/* For the load message: the database's search-tree nodes (it has no entry count). */
static size_t reg_count(const void *m)
{
#ifdef HAVE_GEOIPV2
	return ((const struct geoip *)m)->db.metadata.node_count;
#else
	(void)m;
	return 0;
#endif
}

const struct map_type geoip_map_type = {.parse = reg_parse, .free = reg_free, .count = reg_count};

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
