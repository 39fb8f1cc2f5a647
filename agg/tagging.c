#include "agg/tagging.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- per-output selection ---------------------------------------------------- */

/* pre_tag_filter, pre_tag2_filter, pre_tag_label_filter */
static int select_tags(const struct out_select *s, const struct flow_rec *r)
{
	if (s->has_tag && !tag_filter_match(&s->tag, FR_HAS(r, FR_TAG) ? r->tag : 0))
		return 0;
	if (s->has_tag2 && !tag_filter_match(&s->tag2, FR_HAS(r, FR_TAG2) ? r->tag2 : 0))
		return 0;
	if (s->has_label && !label_filter_match(&s->label, FR_HAS(r, FR_LABEL) ? r->label : NULL))
		return 0;
	return 1;
}

/* The output's own map gives r its tags (r as before when no rule matches). */
static void own_map(const struct out_select *s, struct flow_rec *r, struct out_select_scratch *sc)
{
	if (sc->res_slot != s->map_slot) {
		const struct pretag_map *m = maps_current(s->maps, s->map_slot);
		if (!pretag_eval(m, r, &sc->pkt, &sc->res))
			sc->res.rule_line = 0;
		sc->res_slot = s->map_slot;
	}
	const struct pretag_result *res = &sc->res;
	/* an output's map replaces the tagging: what it does not set, the record lacks */
	r->present &= ~(FR_BIT(FR_TAG) | FR_BIT(FR_TAG2) | FR_BIT(FR_LABEL));
	if (res->has_tag) {
		r->tag = res->tag;
		FR_SET(r, FR_TAG);
	}
	if (res->has_tag2) {
		r->tag2 = res->tag2;
		FR_SET(r, FR_TAG2);
	}
	if (res->has_label) {
		r->label = res->label;
		FR_SET(r, FR_LABEL);
	}
	if (res->has_tos) {
		r->tos = res->tos;
		FR_SET(r, FR_TOS);
	}
}

int out_select_enter(const struct out_select *s, struct flow_rec *r, struct out_select_scratch *sc,
		     struct out_select_undo *u)
{
	if (s->filter && !nt_filter_match(s->filter, &sc->pkt))
		return 0;
	u->present = r->present;
	u->tag = r->tag;
	u->tag2 = r->tag2;
	u->label = r->label;
	u->tos = r->tos;
	if (s->has_map)
		own_map(s, r, sc);
	if (!select_tags(s, r)) {
		out_select_leave(r, u);
		return 0;
	}
	if (s->has_post_tag) {
		r->tag = s->post_tag;
		FR_SET(r, FR_TAG);
	}
	if (s->has_post_tag2) {
		r->tag2 = s->post_tag2;
		FR_SET(r, FR_TAG2);
	}
	return 1;
}

static int parse_post_tag(const char *v, uint64_t *out)
{
	char *end;
	if (!v || *v < '0' || *v > '9')
		return -1;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno || *end || x == 0)
		return -1;
	*out = x;
	return 0;
}

static int select_setup(struct out_select *s, const struct conf_plugin *pc, char *err,
			size_t errlen)
{
	char why[512];
	memset(s, 0, sizeof *s);
	if (pc->aggregate_filter && *pc->aggregate_filter) {
		if (!(s->filter = nt_filter_compile(pc->aggregate_filter, why, sizeof why))) {
			snprintf(err, errlen, "key 'aggregate_filter[%s]': %s", pc->name, why);
			return -1;
		}
		s->active = 1;
	}
	const struct {
		const char *key, *v;
		struct tag_filter *f;
		uint8_t *has;
	} tf[] = {{"pre_tag_filter", pc->pre_tag_filter, &s->tag, &s->has_tag},
		  {"pre_tag2_filter", pc->pre_tag2_filter, &s->tag2, &s->has_tag2}};
	for (size_t i = 0; i < 2; i++) {
		if (!tf[i].v || !*tf[i].v)
			continue;
		if (tag_filter_parse(tf[i].f, tf[i].v, why, sizeof why) < 0) {
			snprintf(err, errlen, "key '%s[%s]': %s", tf[i].key, pc->name, why);
			return -1;
		}
		*tf[i].has = 1;
		s->active = 1;
	}
	if (pc->pre_tag_label_filter && *pc->pre_tag_label_filter) {
		if (label_filter_parse(&s->label, pc->pre_tag_label_filter, why, sizeof why) < 0) {
			snprintf(err, errlen, "key 'pre_tag_label_filter[%s]': %s", pc->name, why);
			return -1;
		}
		s->has_label = 1;
		s->active = 1;
	}
	const struct {
		const char *key, *v;
		uint64_t *out;
		uint8_t *has;
	} pt[] = {{"post_tag", pc->post_tag, &s->post_tag, &s->has_post_tag},
		  {"post_tag2", pc->post_tag2, &s->post_tag2, &s->has_post_tag2}};
	for (size_t i = 0; i < 2; i++) {
		if (!pt[i].v || !*pt[i].v)
			continue;
		if (parse_post_tag(pt[i].v, pt[i].out) < 0) {
			snprintf(err, errlen, "key '%s[%s]': '%s' is not a tag (1 to 2^64-1)",
				 pt[i].key, pc->name, pt[i].v);
			return -1;
		}
		*pt[i].has = 1;
		s->active = 1;
	}
	return 0;
}

/* ---- pre_tag_map in the registry --------------------------------------------- */

static int reg_parse(const char *path, const void *arg, void **out, char *err, size_t errlen)
{
	struct pretag_map *m = NULL;
	if (pretag_map_load(&m, path, arg, NULL, NULL, err, errlen) < 0)
		return -1;
	*out = m;
	return 0;
}

static void reg_free(void *map)
{
	pretag_map_free(map);
}

static size_t reg_count(const void *map)
{
	return pretag_map_count(map);
}

/* Bad lines, logged after each (re)load: the map loaded without them. */
static void reg_report(const void *map, maps_log_fn log, void *log_arg)
{
	char msg[1200];
	size_t n = pretag_map_nwarnings(map), bad = pretag_map_bad_lines(map);
	for (size_t i = 0; i < n; i++) {
		snprintf(msg, sizeof msg, "pre_tag_map %s", pretag_map_warning(map, i));
		log(log_arg, 1, msg);
	}
	if (bad > n) {
		snprintf(msg, sizeof msg, "pre_tag_map: %zu more bad lines not shown", bad - n);
		log(log_arg, 1, msg);
	}
	if (pretag_map_indexed_runs(map)) {
		snprintf(msg, sizeof msg, "pre_tag_map: maps_index: %zu indexed runs of rules",
			 pretag_map_indexed_runs(map));
		log(log_arg, 0, msg);
	}
}

/* Register path once (its first user's name in the key); returns the slot or -1. */
static int register_map(struct tagging *t, struct maps *maps, const char *path, const char *key,
			const char *const *paths, const int *slots, unsigned n, char *err,
			size_t errlen)
{
	for (unsigned i = 0; i < n; i++)
		if (paths[i] && strcmp(paths[i], path) == 0 && slots[i] >= 0)
			return slots[i];
	return maps_register(maps, key, path, &t->pretag_type, err, errlen);
}

int tagging_setup(struct tagging *t, const struct conf *c, struct maps *maps, char *err,
		  size_t errlen)
{
	const char *paths[CONF_MAX_PLUGINS] = {0}, *first = NULL;
	int slots[CONF_MAX_PLUGINS];
	unsigned with_map = 0, same = 1;
	memset(t, 0, sizeof *t);
	t->opts.max_entries = c->maps_entries > 0 ? (unsigned)c->maps_entries : 0;
	t->opts.index = c->maps_index;
	t->opts.max_row_len = c->maps_row_len > 0 ? (unsigned)c->maps_row_len : 0;
	t->pretag_type = (struct map_type){.free = reg_free,
					   .count = reg_count,
					   .parse_arg = reg_parse,
					   .arg = &t->opts,
					   .report = reg_report};
	for (unsigned i = 0; i < c->nplugins; i++) {
		const char *p = c->plugin[i].pre_tag_map;
		slots[i] = -1;
		if (!p || !*p)
			continue;
		paths[i] = p;
		if (!first)
			first = p;
		same &= strcmp(p, first) == 0;
		with_map++;
	}
	/* one map for every output (`pre_tag_map: file`): the stage, evaluated once */
	if (with_map && with_map == c->nplugins && same) {
		int slot = maps_register(maps, "pre_tag_map", first, &t->pretag_type, err, errlen);
		if (slot < 0)
			return -1;
		t->pretag = 1;
		t->pretag_slot = slot;
	}
	for (unsigned i = 0; i < c->nplugins; i++) {
		struct out_select *s = &t->sel[i];
		if (select_setup(s, &c->plugin[i], err, errlen) < 0) {
			tagging_free(t);
			return -1;
		}
		t->nsel = i + 1;
		if (t->pretag || !paths[i])
			continue;
		char key[sizeof maps->e[0].key]; /* the log's name for it, cut to fit */
		snprintf(key, sizeof key, "pre_tag_map[%.48s]", c->plugin[i].name);
		slots[i] = register_map(t, maps, paths[i], key, paths, slots, i, err, errlen);
		if (slots[i] < 0) {
			tagging_free(t);
			return -1;
		}
		s->maps = maps;
		s->has_map = 1;
		s->map_slot = slots[i];
		s->active = 1;
	}
	return 0;
}

void tagging_free(struct tagging *t)
{
	for (unsigned i = 0; i < t->nsel; i++)
		nt_filter_free(t->sel[i].filter);
	t->nsel = 0;
}

/* ---- the pretag stage --------------------------------------------------------- */

struct pretag_scratch {
	struct filter_pkt pkt;
	struct pretag_result res;
};

static void *pretag_state_new(const void *cfg)
{
	(void)cfg;
	return calloc(1, sizeof(struct pretag_scratch));
}

static void pretag_state_free(void *state)
{
	free(state);
}

static enum stage_verdict run_pretag(const void *cfg, struct stage_ctx *sc, struct flow_rec *r)
{
	struct pretag_scratch *s = sc->state;
	(void)cfg;
	if (!sc->map)
		return STAGE_KEEP;
	filter_pkt_reset(&s->pkt, r);
	if (!pretag_eval(sc->map, r, &s->pkt, &s->res))
		return STAGE_KEEP;
	if (s->res.has_tag) {
		r->tag = s->res.tag;
		FR_SET(r, FR_TAG);
	}
	if (s->res.has_tag2) {
		r->tag2 = s->res.tag2;
		FR_SET(r, FR_TAG2);
	}
	if (s->res.has_label) {
		r->label = s->res.label; /* lives in this worker's scratch until the next record */
		FR_SET(r, FR_LABEL);
	}
	if (s->res.has_tos) {
		r->tos = s->res.tos;
		FR_SET(r, FR_TOS);
	}
	return STAGE_KEEP;
}

const struct stage_desc stage_pretag = {
    "pretag", FR_BIT(FR_TAG) | FR_BIT(FR_TAG2) | FR_BIT(FR_LABEL) | FR_BIT(FR_TOS), run_pretag,
    pretag_state_new, pretag_state_free};

/* ---- writer_id_string ----------------------------------------------------------- */

int writer_id_expand(const char *tmpl, const char *proc_name, char *out, size_t outlen)
{
	size_t o = 0;
	char pid[24];
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	const struct {
		const char *var, *val;
	} vars[] = {
	    {"$proc_name", proc_name}, {"$writer_pid", pid}, {"$pmacct_build", PACKAGE_VERSION}};
	if (!outlen)
		return -1;
	for (const char *p = tmpl; *p;) {
		const char *val = NULL;
		size_t skip = 1;
		for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
			if (strncmp(p, vars[i].var, strlen(vars[i].var)) == 0) {
				val = vars[i].val;
				skip = strlen(vars[i].var);
				break;
			}
		size_t n = val ? strlen(val) : 1;
		if (o + n >= outlen)
			return -1;
		memcpy(out + o, val ? val : p, n);
		o += n;
		p += skip;
	}
	out[o] = '\0';
	return 0;
}
