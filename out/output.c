#include "out/output.h"

#include <stdio.h>
#include <string.h>

static const struct out_module *const modules[] = {&out_print_module};

const struct out_module *out_module_find(const char *type)
{
	for (size_t i = 0; i < sizeof modules / sizeof modules[0]; i++)
		if (strcmp(modules[i]->type, type) == 0)
			return modules[i];
	return NULL;
}

int out_instance_init(struct out_instance *oi, const struct conf *c, const struct conf_plugin *pc,
		      const struct prim_registry *reg, struct logger *log, char *err, size_t errlen)
{
	struct prim_opts opts = {
	    .tcpflags_as_array = pc->tcpflags_encode_as_array,
	    .fwd_status_as_string = pc->fwd_status_encode_as_string,
	    .mpls_stack_as_array = pc->mpls_label_stack_encode_as_array,
	    .timestamps_secs = pc->timestamps_secs,
	    .timestamps_since_epoch = pc->timestamps_since_epoch,
	    .timestamps_utc = pc->timestamps_utc,
	    .time_new = c->nfacctd_time_new,
	    .history = pc->print_history,
	};
	char why[256];

	memset(oi, 0, sizeof *oi);
	oi->conf = pc;
	oi->log = log;
	snprintf(oi->component, sizeof oi->component, "%s/%s", pc->name, pc->type);
	oi->mod = out_module_find(pc->type);
	if (!oi->mod) {
		snprintf(err, errlen, "plugin %s: no output module for type '%s'", pc->name,
			 pc->type);
		return -1;
	}
	if (keyspec_build(&oi->ks, pc->aggregate, reg, &opts, why, sizeof why) < 0) {
		/* name the line that set `aggregate`, like every other configuration error */
		if (!pc->aggregate_at.origin[0])
			snprintf(err, errlen, "key 'aggregate[%s]': %s", pc->name, why);
		else if (pc->aggregate_at.line)
			snprintf(err, errlen, "%s:%u: key 'aggregate[%s]': %s",
				 pc->aggregate_at.origin, pc->aggregate_at.line, pc->name, why);
		else
			snprintf(err, errlen, "%s: key 'aggregate[%s]': %s",
				 pc->aggregate_at.origin, pc->name, why);
		return -1;
	}
	oi->refresh = pc->print_refresh_time;
	return 0;
}
