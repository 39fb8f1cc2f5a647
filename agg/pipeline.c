#include "agg/pipeline.h"

#include <stdio.h>
#include <string.h>

void pipeline_init(struct pipeline *p, const struct maps *maps)
{
	memset(p, 0, sizeof *p);
	p->maps = maps;
}

int pipeline_add(struct pipeline *p, const struct stage_desc *d, const void *cfg, int map_slot,
		 char *err, size_t errlen)
{
	if (p->n == PIPELINE_MAX) {
		snprintf(err, errlen, "stage %s: pipeline full (max %d stages)", d->name,
			 PIPELINE_MAX);
		return -1;
	}
	if (map_slot >= 0 && (!p->maps || (unsigned)map_slot >= p->maps->n)) {
		snprintf(err, errlen, "stage %s: map slot %d is not registered", d->name, map_slot);
		return -1;
	}
	p->st[p->n].d = d;
	p->st[p->n].cfg = cfg;
	p->st[p->n].map_slot = map_slot < 0 ? -1 : map_slot;
	p->n++;
	p->writes |= d->writes;
	return 0;
}

int pipeline_worker_init(struct pipeline_worker *w, const struct pipeline *p, pipeline_sink_fn sink,
			 void *sink_arg, char *err, size_t errlen)
{
	memset(w, 0, sizeof *w);
	w->p = p;
	w->sink = sink;
	w->sink_arg = sink_arg;
	for (unsigned i = 0; i < p->n; i++) {
		const struct stage_desc *d = p->st[i].d;
		if (!d->state_new)
			continue;
		if (!(w->sc[i].state = d->state_new(p->st[i].cfg))) {
			snprintf(err, errlen, "stage %s: out of memory", d->name);
			pipeline_worker_free(w);
			return -1;
		}
	}
	return 0;
}

void pipeline_worker_free(struct pipeline_worker *w)
{
	if (!w->p)
		return;
	for (unsigned i = 0; i < w->p->n; i++)
		if (w->sc[i].state && w->p->st[i].d->state_free)
			w->p->st[i].d->state_free(w->sc[i].state);
	memset(w, 0, sizeof *w);
}
