/*
 * Output modules.  An output instance is one `plugins:` entry: its config,
 * its key spec (from `aggregate`), its module and the writer thread that
 * merges the workers' tables and calls the module.  A module only sees
 * merged tables; it never runs on a worker thread, so it may block.
 */
#ifndef NETACCT_OUT_OUTPUT_H
#define NETACCT_OUT_OUTPUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "agg/primitive.h"
#include "agg/table.h"
#include "conf/config.h"
#include "reactor/log.h"

/* The time span a flushed table covers. */
struct out_interval {
	time_t start, end;
	int final; /* last flush before shutdown */
};

struct out_instance;

/*
 * An output type.  `conf` is how the configuration sees it: the type name
 * (`plugins: print[x]`) and the module's own plugin-scoped keys (its
 * directive tables), which apply to instances of this type only.  The
 * refresh_off, history_off and cache_entries_off fields name the module's own
 * int keys (offsets into struct conf_plugin) that give the core the
 * instance's refresh time, time-bin length and table size hint; 0 means the
 * type has no such key (offset 0 is the instance name, never an int key).
 */
struct out_module {
	struct conf_plugin_type conf;
	size_t refresh_off, history_off, cache_entries_off;
	int (*open)(struct out_instance *oi, char *err, size_t errlen);
	/* Write one merged table; returns -1 on failure (the writer logs and counts it). */
	int (*write)(struct out_instance *oi, const struct agg_table *t,
		     const struct out_interval *iv);
	void (*close)(struct out_instance *oi);
};

struct writer;

struct out_instance {
	const struct conf_plugin *conf;
	const struct out_module *mod;
	struct keyspec ks;
	struct logger *log;
	char component[2 * CONF_NAME_MAX + 2]; /* "name/type" for log lines */
	int refresh;			       /* seconds between flushes (module's key) */
	int history;			       /* time-bin length in seconds, 0: none */
	int cache_entries;		       /* initial table size hint per worker */
	void *state;			       /* module-private */
	struct writer *writer;

	/* counters, written by workers/writer, read by the stats dump */
	atomic_uint_fast64_t dropped_tables;  /* hand-offs refused: queue full */
	atomic_uint_fast64_t dropped_records; /* entries in those tables + table-full drops */
	atomic_uint_fast64_t written_entries;
	atomic_uint_fast64_t write_errors;
};

/*
 * The output types this build has, as the configuration sees them
 * (NULL-terminated): a daemon's struct conf_schema points `types` here.
 */
extern const struct conf_plugin_type *const out_plugin_types[];

/* Module lookup by plugin type; NULL if unknown. */
const struct out_module *out_module_find(const char *type);

/*
 * nfacctd's configuration schema: the core, NetFlow and capture key tables
 * and out_plugin_types.  For the daemon, the tests and the fuzzers until the
 * daemon descriptor owns its key set.
 */
extern const struct conf_schema out_schema_nfacctd;

/* Set up an instance from its plugin config (key spec, module, refresh, history, cache size). */
int out_instance_init(struct out_instance *oi, const struct conf *c, const struct conf_plugin *pc,
		      const struct prim_registry *reg, struct logger *log, char *err,
		      size_t errlen);

extern const struct out_module out_print_module;

#endif
