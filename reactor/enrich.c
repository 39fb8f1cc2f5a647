#include "reactor/enrich.h"

#include <stdio.h>
#include <string.h>

#include "agg/geoip.h"
#include "agg/lookup.h"
#include "agg/networks.h"

static int set(const char *s)
{
	return s && *s;
}

/* GEO_* bits output keys need, per side. */
static void geo_needs(const struct keyspec *ks, unsigned *src, unsigned *dst)
{
	static const struct {
		const char *name;
		unsigned bit;
		int dst;
	} prims[] = {
	    {"src_host_country", GEO_COUNTRY, 0}, {"dst_host_country", GEO_COUNTRY, 1},
	    {"src_host_pocode", GEO_POCODE, 0},	  {"dst_host_pocode", GEO_POCODE, 1},
	    {"src_host_coords", GEO_COORDS, 0},	  {"dst_host_coords", GEO_COORDS, 1},
	};
	for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++)
		if (keyspec_has(ks, prims[i].name))
			*(prims[i].dst ? dst : src) |= prims[i].bit;
}

/* The slot of a lookup file, registered once per (kind, path) whatever the outputs sharing it. */
static int lookup_slot(struct maps *m, enum lookup_kind k, const char *path, char *err,
		       size_t errlen)
{
	static const char *const keys[3] = {"ports_file", "protos_file", "tos_file"};
	static const struct map_type *const types[3] = {&lookup_ports_type, &lookup_protos_type,
							&lookup_tos_type};
	for (unsigned i = 0; i < m->n; i++)
		if (m->e[i].type == types[k] && strcmp(m->e[i].path, path) == 0)
			return (int)i;
	return maps_register(m, keys[k], path, types[k], err, errlen);
}

int enrich_setup(struct pipeline_enrich *e, struct enrich_outputs *eo, struct maps *m,
		 const struct conf *c, const struct out_instance *out, unsigned nout, char *err,
		 size_t errlen)
{
	char why[256];

	memset(e, 0, sizeof *e);
	memset(eo, 0, sizeof *eo);
	e->networks_slot = e->geoip_slot = -1;
	for (unsigned i = 0; i < nout; i++) {
		const struct conf_plugin *pc = out[i].conf;
		const char *const paths[3] = {pc->ports_file, pc->protos_file, pc->tos_file};
		int slot[3];
		for (unsigned k = 0; k < 3; k++) {
			slot[k] = -1;
			if (set(paths[k]) && (slot[k] = lookup_slot(m, (enum lookup_kind)k,
								    paths[k], err, errlen)) < 0)
				return -1;
		}
		if (lookup_out_init(&eo->lookup[i], &out[i].ks, slot))
			eo->lookup_mask |= 1u << i;
	}

	for (unsigned i = 0; i < nout; i++)
		if (lookup_keyspec_check(&out[i].ks, why, sizeof why) < 0) {
			snprintf(err, errlen, "key 'aggregate[%s]': %s", out[i].conf->name, why);
			return -1;
		}

	/* networks: the keys were validated when parsed; defaults are "netflow" */
	struct networks_cfg *n = &e->net;
	if (net_method_parse(set(c->nfacctd_net) ? c->nfacctd_net : "netflow", 0, &n->net, why,
			     sizeof why) < 0 ||
	    net_method_parse(set(c->nfacctd_as) ? c->nfacctd_as : "netflow", 1, &n->as, why,
			     sizeof why) < 0) {
		snprintf(err, errlen, "nfacctd_net/nfacctd_as: %s", why);
		return -1;
	}
	n->filter = c->networks_file_filter;
	n->no_lpm = c->networks_file_no_lpm;
	n->no_mask_if_zero = c->networks_no_mask_if_zero;
	n->mask = (uint8_t)c->networks_mask;
	if (set(c->networks_file)) {
		e->networks_slot = maps_register(m, "networks_file", c->networks_file,
						 &networks_map_type, err, errlen);
		if (e->networks_slot < 0)
			return -1;
		n->have_file = 1;
	}
	/*
	 * The stage runs only where an output reads what it writes; the filter
	 * zeroes addresses, which every address-based primitive reads.
	 */
	static const char *const reads[] = {"src_net",	"dst_net", "src_mask",
					    "dst_mask", "src_as",  "dst_as",
					    "sum_net",	"sum_as",  "peer_dst_as"};
	int read = 0;
	for (unsigned i = 0; i < nout && !read; i++)
		for (size_t j = 0; j < sizeof reads / sizeof reads[0] && !read; j++)
			read = keyspec_has(&out[i].ks, reads[j]);
	e->networks =
	    (n->filter && n->have_file) ||
	    (read && (n->net != NET_NETFLOW || n->as != NET_NETFLOW || n->no_mask_if_zero));

	unsigned src = 0, dst = 0;
	for (unsigned i = 0; i < nout; i++)
		geo_needs(&out[i].ks, &src, &dst);
	e->geo.src = src;
	e->geo.dst = dst;
	if ((src || dst) && !set(c->geoipv2_file)) {
		snprintf(
		    err, errlen,
		    "GeoIP primitives (src_host_country, ...) are aggregated but geoipv2_file is "
		    "not set");
		return -1;
	}
	if (set(c->geoipv2_file)) {
		/* opened even when unused, so a wrong path is reported at start */
		e->geoip_slot =
		    maps_register(m, "geoipv2_file", c->geoipv2_file, &geoip_map_type, err, errlen);
		if (e->geoip_slot < 0)
			return -1;
	}
	return 0;
}
