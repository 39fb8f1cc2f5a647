#include "out/output.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agg/classify.h"
#include "conf/keys.h"

/* The registry: add an output module here (one a line) and `plugins:` accepts its type. */
/* clang-format off */
const struct conf_plugin_type *const out_plugin_types[] = {
    &out_print_module.conf,
    &out_tee_module.conf,
#ifdef HAVE_KAFKA
    &out_kafka_module.conf,
#endif
#ifdef HAVE_RABBITMQ
    &out_amqp_module.conf,
#endif
#ifdef HAVE_REDIS
    &out_redis_module.conf,
#endif
    &out_memory_module.conf,
    &out_sqlite3_module.conf,
    &out_pgsql_module.conf,
    &out_mysql_module.conf,
    &out_nfprobe_module.conf, /* pmacctd and uacctd only (its conf.daemons) */
    &out_sfprobe_module.conf,
    NULL,
};
/* clang-format on */

static const struct conf_key_table *const nfacctd_tables[] = {
    &conf_keys_core,	&conf_keys_netflow, &conf_keys_pcap,	 &conf_keys_enrich,
    &conf_keys_tagging, &conf_keys_plugin,  &conf_keys_obsolete, NULL};

const struct conf_schema out_schema_nfacctd = {nfacctd_tables, out_plugin_types};

static const struct conf_key_table *const pmacctd_tables[] = {
    &conf_keys_core,   &conf_keys_pcap,	    &conf_keys_packet,
    &classify_keys,    &conf_keys_enrich,   &conf_keys_tagging,
    &conf_keys_plugin, &conf_keys_obsolete, NULL};

const struct conf_schema out_schema_pmacctd = {pmacctd_tables, out_plugin_types};

static const struct conf_key_table *const uacctd_tables[] = {
    &conf_keys_core,   &conf_keys_packet,   &conf_keys_nflog,
    &classify_keys,    &conf_keys_enrich,   &conf_keys_tagging,
    &conf_keys_plugin, &conf_keys_obsolete, NULL};

const struct conf_schema out_schema_uacctd = {uacctd_tables, out_plugin_types};

static const struct conf_key_table *const sfacctd_tables[] = {
    &conf_keys_core,	&conf_keys_sflow,  &conf_keys_pcap,	&conf_keys_enrich,
    &conf_keys_tagging, &conf_keys_plugin, &conf_keys_obsolete, NULL};

const struct conf_schema out_schema_sfacctd = {sfacctd_tables, out_plugin_types};

const struct out_module *out_module_find(const char *type)
{
	/* one list: each entry is the `conf` member of its module */
	for (size_t i = 0; out_plugin_types[i]; i++)
		if (strcmp(out_plugin_types[i]->type, type) == 0)
			return (const struct out_module *)(const void *)((const char *)
									     out_plugin_types[i] -
									 offsetof(struct out_module,
										  conf));
	return NULL;
}

/* The module's own int key at off for this instance; def when the type has none. */
static int module_int(const struct conf_plugin *pc, size_t off, int def)
{
	return off ? *(const int *)(const void *)((const char *)pc + off) : def;
}

int out_instance_init(struct out_instance *oi, const struct conf *c, const struct conf_plugin *pc,
		      const struct prim_registry *reg, struct logger *log, char *err, size_t errlen)
{
	const struct out_module *mod = out_module_find(pc->type);
	struct prim_opts opts = {
	    .tcpflags_as_array = pc->tcpflags_encode_as_array,
	    .fwd_status_as_string = pc->fwd_status_encode_as_string,
	    .mpls_stack_as_array = pc->mpls_label_stack_encode_as_array,
	    .timestamps_secs = pc->timestamps_secs,
	    .timestamps_since_epoch = pc->timestamps_since_epoch,
	    .timestamps_utc = pc->timestamps_utc,
	    .time_new = c->nfacctd_time_new,
	    .history = mod ? module_int(pc, mod->history_off, 0) : 0,
	    .num_protos = pc->num_protos,
	    .tos_dscp = pc->tos_encode_as_dscp,
	    .label_as_map = pc->pre_tag_label_encode_as_map,
	};
	char why[256];
	char agg[4096];

	memset(oi, 0, sizeof *oi);
	oi->pretag_slot = -1;
	if (opts.history) {
		int utc = pc->timestamps_utc;
		timebin_init(&oi->tb, opts.history,
			     mod ? module_int(pc, mod->history_offset_off, 0) : 0, utc,
			     (int64_t)time(NULL));
		opts.tb = &oi->tb;
	}
	/* nfacctd_stitching adds timestamp_min and timestamp_max to every output, as pmacct does */
	const char *aggregate = pc->aggregate;
	if (c->nfacctd_stitching) {
		snprintf(agg, sizeof agg, "%s", pc->aggregate ? pc->aggregate : "");
		struct keyspec probe;
		for (int i = 0; i < 2; i++) {
			const char *name = i ? "timestamp_max" : "timestamp_min";
			if (keyspec_build(&probe, agg, reg, NULL, why, sizeof why) == 0 &&
			    keyspec_has(&probe, name))
				continue;
			size_t l = strlen(agg);
			snprintf(agg + l, sizeof agg - l, "%s%s", l ? "," : "", name);
		}
		aggregate = agg;
	}
	oi->conf = pc;
	oi->global = c;
	oi->log = log;
	snprintf(oi->component, sizeof oi->component, "%s/%s", pc->name, pc->type);
	oi->mod = mod;
	if (!oi->mod) {
		snprintf(err, errlen, "plugin %s: no output module for type '%s'", pc->name,
			 pc->type);
		return -1;
	}
	if (keyspec_build(&oi->ks, aggregate, reg, &opts, why, sizeof why) < 0) {
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
	oi->refresh = module_int(pc, mod->refresh_off, 60);
	oi->history = opts.history;
	oi->prorate = c->nfacctd_pro_rating && opts.history && !c->nfacctd_time_new;
	oi->cache_entries = module_int(pc, mod->cache_entries_off, 16411);
	/*
	 * A worker table is full (a safe purge follows) at cache_max_entries, or
	 * else at 10 x *_cache_entries: pmacct's cache holds its buckets times an
	 * average chain depth of 10.
	 */
	oi->max_entries = pc->cache_max_entries ? (uint64_t)pc->cache_max_entries
						: (uint64_t)oi->cache_entries * 10;
	return 0;
}
