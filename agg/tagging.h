/*
 * Tagging and per-output selection, as configured:
 *  - the pretag stage: pre_tag_map (agg/pretag.h) gives each record a tag,
 *    tag2, label (and maybe a ToS) before it is accounted, when every output
 *    has the same map (the usual `pre_tag_map: file`);
 *  - per output instance (`plugins:` entry), which records it accounts and
 *    with which tags: aggregate_filter (tcpdump), the output's own
 *    pre_tag_map when outputs have different ones (`pre_tag_map[name]`),
 *    pre_tag_filter, pre_tag2_filter, pre_tag_label_filter, then post_tag /
 *    post_tag2.
 *
 * Built once at start from the configuration (tagging_setup), read-only
 * afterwards and shared by every worker; per-record scratch (the packet a
 * filter reads) is the worker's.
 */
#ifndef NETACCT_AGG_TAGGING_H
#define NETACCT_AGG_TAGGING_H

#include <stddef.h>
#include <stdint.h>

#include "agg/filter.h"
#include "agg/maps.h"
#include "agg/pipeline.h"
#include "agg/pretag.h"
#include "agg/primitive.h"
#include "conf/config.h"

/* One output's selection. */
struct out_select {
	int active; /* anything below configured */
	struct nt_filter *filter;
	const struct maps *maps;
	int has_map;  /* the output has its own pre_tag_map (not the stage's) */
	int map_slot; /* its slot in maps */
	uint8_t has_tag, has_tag2, has_label, has_post_tag, has_post_tag2;
	struct tag_filter tag, tag2;
	struct label_filter label;
	uint64_t post_tag, post_tag2;
};

/*
 * A worker's scratch for one record: the packet filters read and the result
 * of an output's own pre_tag_map (shared by outputs with the same map).
 */
struct out_select_scratch {
	struct filter_pkt pkt;
	struct pretag_result res;
	int res_slot; /* map slot res was computed with for this record, -1: none */
};

/* A new record: forget the previous one's packet and map result. */
static inline void out_select_begin(struct out_select_scratch *sc, const struct flow_rec *r)
{
	filter_pkt_reset(&sc->pkt, r);
	sc->res_slot = -1;
}

/* What out_select_enter() changed in a record, for out_select_leave(). */
struct out_select_undo {
	uint64_t present, tag, tag2;
	const char *label;
	uint8_t tos;
};

/*
 * Whether output s accounts r (sc: the worker's scratch, out_select_begin()
 * done for r).  When it does, the output's own pre_tag_map and post_tag /
 * post_tag2 are applied to r, to be undone with out_select_leave() once the
 * output's key is extracted.  Runs inside a batch (the map is read there).
 */
int out_select_enter(const struct out_select *s, struct flow_rec *r, struct out_select_scratch *sc,
		     struct out_select_undo *u);

static inline void out_select_leave(struct flow_rec *r, const struct out_select_undo *u)
{
	r->present = u->present;
	r->tag = u->tag;
	r->tag2 = u->tag2;
	r->label = u->label;
	r->tos = u->tos;
}

/* The daemon's tagging state. */
struct tagging {
	struct pretag_opts opts;
	struct map_type pretag_type; /* pre_tag_map in the map registry, with opts */
	int pretag;		     /* pre_tag_map configured: stage on pretag_slot */
	int pretag_slot;
	struct out_select sel[CONF_MAX_PLUGINS];
	unsigned nsel;
};

/*
 * From the configuration: register the pre_tag_map(s) with maps (not loaded
 * yet): one for the stage when every output has the same, else one per
 * distinct file, read by the outputs that name it; compile every output's
 * selection.  Returns 0 or -1 with a message naming the key.
 */
int tagging_setup(struct tagging *t, const struct conf *c, struct maps *maps, char *err,
		  size_t errlen);
void tagging_free(struct tagging *t);

/*
 * The pretag stage: cfg NULL, map slot pre_tag_map's; per-worker state
 * (the result and the filter packet).  Writes tag, tag2, label and tos.
 */
extern const struct stage_desc stage_pretag;

/*
 * writer_id_string: $proc_name (the output instance's name), $writer_pid
 * (the process id: writers are threads) and $pmacct_build (netacct's
 * version) expanded into out.  Returns 0, or -1 when it does not fit.
 */
int writer_id_expand(const char *tmpl, const char *proc_name, char *out, size_t outlen);

#endif
