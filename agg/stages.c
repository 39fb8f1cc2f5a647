#include "agg/stages.h"

#include "agg/flow_to_rd.h"
#include "agg/sampling_map.h"
#include "agg/tagging.h"

static enum stage_verdict run_sampling_map(const void *cfg, struct stage_ctx *sc,
					   struct flow_rec *r)
{
	(void)cfg;
	uint32_t rate = sampling_map_lookup(sc->map, &r->peer_src_ip, r);
	if (rate) {
		r->sampling_rate = rate;
		FR_SET(r, FR_SAMPLING);
	}
	return STAGE_KEEP;
}

const struct stage_desc stage_sampling_map = {"sampling_map", FR_BIT(FR_SAMPLING), run_sampling_map,
					      NULL, NULL};

const struct map_type sampling_map_type = {.parse = sampling_map_reg_parse,
					   .free = sampling_map_reg_free,
					   .count = sampling_map_reg_count};

static enum stage_verdict run_renormalize(const void *cfg, struct stage_ctx *sc, struct flow_rec *r)
{
	(void)cfg;
	(void)sc;
	if (r->sampling_rate > 1) {
		r->packets *= r->sampling_rate;
		r->bytes *= r->sampling_rate;
	}
	return STAGE_KEEP;
}

const struct stage_desc stage_renormalize = {"renormalize", 0, run_renormalize, NULL, NULL};

static enum stage_verdict run_tcp_flags(const void *cfg, struct stage_ctx *sc, struct flow_rec *r)
{
	(void)cfg;
	(void)sc;
	if (!FR_HAS(r, FR_PROTO) || r->proto != 6)
		r->present &= ~FR_BIT(FR_TCP_FLAGS);
	return STAGE_KEEP;
}

const struct stage_desc stage_tcp_flags_tcp_only = {"tcp_flags_tcp_only", FR_BIT(FR_TCP_FLAGS),
						    run_tcp_flags, NULL, NULL};

static int pipeline_add_enrich(struct pipeline *p, const struct pipeline_enrich *e, char *err,
			       size_t errlen)
{
	if (e->networks &&
	    pipeline_add(p, &stage_networks, &e->net, e->networks_slot, err, errlen) < 0)
		return -1;
	if (e->geoip_slot >= 0 && (e->geo.src || e->geo.dst) &&
	    pipeline_add(p, &stage_geoip, &e->geo, e->geoip_slot, err, errlen) < 0)
		return -1;
	return 0;
}

int pipeline_build_std(struct pipeline *p, const struct maps *maps, const struct pipeline_std *s,
		       char *err, size_t errlen)
{
	pipeline_init(p, maps);
	if (s->sampling_map_slot >= 0 &&
	    pipeline_add(p, &stage_sampling_map, NULL, s->sampling_map_slot, err, errlen) < 0)
		return -1;
	/* before pretag: its mpls_vpn_rd key sees the mapped RD */
	if (s->flow_to_rd_slot > 0 &&
	    pipeline_add(p, &stage_flow_to_rd, NULL, s->flow_to_rd_slot - 1, err, errlen) < 0)
		return -1;
	if (s->pretag && pipeline_add(p, &stage_pretag, NULL, s->pretag_slot, err, errlen) < 0)
		return -1;
	if (s->renormalize && pipeline_add(p, &stage_renormalize, NULL, -1, err, errlen) < 0)
		return -1;
	if (s->tcp_flags && pipeline_add(p, &stage_tcp_flags_tcp_only, NULL, -1, err, errlen) < 0)
		return -1;
	return s->enrich ? pipeline_add_enrich(p, s->enrich, err, errlen) : 0;
}
