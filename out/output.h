/*
 * Output modules.  An output instance is one `plugins:` entry: its config,
 * its key spec (from `aggregate`), its module and the writer thread that
 * serves it.  A module takes what it declares in `sinks`:
 *   OUT_SINK_TABLE     aggregated tables: the workers' tables of a round,
 *                      merged, handed to write() on the writer thread (print;
 *                      memory, SQL, brokers later);
 *   OUT_SINK_DATAGRAM  raw datagrams: datagram() on the *worker* thread with
 *                      each received datagram before it is decoded (tee);
 *   OUT_SINK_EVENT     event records (sFlow counter samples, BGP/BMP message
 *                      logs): submitted by workers through a bounded queue,
 *                      handed to write_event() on the writer thread;
 *   OUT_SINK_RECORD    each decoded record the output is selected for, on
 *                      the *worker* thread, instead of a table add (probes:
 *                      nfprobe's per-worker flow cache, sfprobe's sampler).
 * Every hook but datagram() runs on the output's writer thread, one at a
 * time, so a module's state needs no locks and those hooks may block.
 */
#ifndef NETACCT_OUT_OUTPUT_H
#define NETACCT_OUT_OUTPUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "agg/primitive.h"
#include "agg/table.h"
#include "agg/timebin.h"
#include "conf/config.h"
#include "reactor/log.h"

/* The time span a flushed table covers. */
struct out_interval {
	time_t start, end;
	int final; /* last flush before shutdown */
	int safe;  /* a safe purge: a full table written ahead, more of the interval follows */
};

struct maps;
struct out_instance;
struct out_event;
struct nt_dgram;
struct nt_frame;
struct flow_rec;
struct obuf;
struct mx_snap;

enum out_sink {
	OUT_SINK_TABLE = 1u << 0,
	OUT_SINK_DATAGRAM = 1u << 1,
	OUT_SINK_EVENT = 1u << 2,
	OUT_SINK_RECORD = 1u << 3,
};

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
	size_t history_offset_off; /* int key: *_history_offset seconds; 0: none */
	unsigned sinks;		   /* enum out_sink bits; 0 means OUT_SINK_TABLE */
	/*
	 * Optional.  Register the instance's map files (e.g. tee_receivers) in
	 * the daemon's map registry, before the maps are loaded (main thread);
	 * they are then loaded, logged and reloaded on SIGUSR2 with every other
	 * map.  -1 + err refuses to start.
	 */
	int (*register_maps)(struct out_instance *oi, struct maps *maps, char *err, size_t errlen);
	/* Before the threads start (main thread); -1 + err refuses to start. */
	int (*open)(struct out_instance *oi, char *err, size_t errlen);
	/* Write one merged table; returns -1 on failure (the writer logs and counts it). */
	int (*write)(struct out_instance *oi, const struct agg_table *t,
		     const struct out_interval *iv);
	/*
	 * Optional.  A refresh boundary passed: called once per round after
	 * write(), also when the round's table is empty (time-driven work:
	 * rotating files, committing transactions, expiring state).
	 */
	void (*tick)(struct out_instance *oi, const struct out_interval *iv);
	/*
	 * Optional.  SIGHUP: reopen files / reconnect (log rotation).  Requested
	 * from any thread with writer_request_reopen(), served on the writer
	 * thread between writes.
	 */
	void (*reopen)(struct out_instance *oi);
	/*
	 * Optional.  Append " key=value" pairs to the output's stats line
	 * (SIGUSR1, writer_request_stats()); served on the writer thread.
	 */
	void (*stats)(struct out_instance *oi, struct obuf *line);
	/*
	 * OUT_SINK_DATAGRAM: one received datagram, on worker thread `worker`
	 * (0..nworkers-1), before decoding.  It must never block nor take a lock
	 * another worker holds for long: keep per-worker state (indexed by
	 * worker), copy what you need, count and drop what does not fit.  The
	 * buffer is only valid during the call.
	 */
	void (*datagram)(struct out_instance *oi, unsigned worker, const struct nt_dgram *d);
	/*
	 * Optional, with service_ms > 0: called on the writer thread about every
	 * service_ms milliseconds while it has nothing else to do (broker
	 * outputs: serve delivery reports, probe a broker that went away,
	 * replay a spool).
	 */
	unsigned service_ms;
	void (*service)(struct out_instance *oi);
	/*
	 * OUT_SINK_RECORD: one record, on worker thread `worker`, after the
	 * output's selection (aggregate_filter, pre_tag_filter, post_tag: the
	 * record carries this output's tags) and instead of a table add.
	 * `frame` is the captured frame the record was decoded from (capture
	 * daemons), NULL otherwise; both are valid only during the call.  The
	 * same rules as datagram(): per-worker state, never block.
	 */
	void (*record)(struct out_instance *oi, unsigned worker, const struct flow_rec *r,
		       const struct nt_frame *frame);
	/*
	 * Optional, OUT_SINK_RECORD: about every worker_tick_ms on each worker
	 * thread, with the worker's clock `now` (µs since the epoch: the
	 * capture's time when reading a savefile, else the wall clock), for
	 * time-driven work such as expiring flows.
	 */
	unsigned worker_tick_ms;
	void (*worker_tick)(struct out_instance *oi, unsigned worker, uint64_t now);
	/*
	 * Optional, OUT_SINK_RECORD: the worker stops, after its last record
	 * (same clock): export or hand over what it still holds.
	 */
	void (*worker_stop)(struct out_instance *oi, unsigned worker, uint64_t now);
	/*
	 * Optional.  The module's own counters as metrics samples (main thread,
	 * at each scrape / stats_file write): read atomics only.
	 */
	void (*metrics)(struct out_instance *oi, struct mx_snap *s);
	/* OUT_SINK_EVENT: one event record; -1 on failure (counted). */
	int (*write_event)(struct out_instance *oi, const struct out_event *ev);
	/* After the writer stopped (main thread). */
	void (*close)(struct out_instance *oi);
};

struct writer;

struct out_instance {
	const struct conf_plugin *conf;
	const struct conf *global; /* the daemon's global keys (probes: sampling_rate, snaplen) */
	const struct out_module *mod;
	struct keyspec ks;
	struct logger *log;
	char component[2 * CONF_NAME_MAX + 2]; /* "name/type" for log lines */
	int refresh;			       /* seconds between flushes (module's key) */
	int history;			       /* time-bin length in seconds, 0: none */
	int cache_entries;		       /* initial table size hint per worker */
	uint64_t max_entries;		       /* keys a worker table holds before a safe purge */
	int prorate;	   /* nfacctd_pro_rating applies: split flows over bins */
	struct timebin tb; /* the bins' calendar when history != 0 */
	void *state;	   /* module-private */
	struct writer *writer;

	/* counters, written by workers/writer, read by the stats dump */
	atomic_uint_fast64_t dropped_tables;  /* hand-offs refused: queue full */
	atomic_uint_fast64_t dropped_records; /* entries in those tables + table-full drops */
	atomic_uint_fast64_t written_entries;
	atomic_uint_fast64_t write_errors;
	atomic_uint_fast64_t flushes;	       /* tables written (write() returned 0) */
	atomic_uint_fast64_t flush_usec_total; /* time spent in write() */
	atomic_uint_fast64_t last_flush_usec;

	unsigned nworkers; /* set before open(): datagram() is called with 0..nworkers-1 */
	/*
	 * The pre_tag_map this instance reads (the daemon's, or its own
	 * pre_tag_map[name]), for outputs that tag what they get themselves
	 * (tee): a slot of *maps, -1 for none.  Set before open().
	 */
	const struct maps *maps;
	int pretag_slot;
};

/* Whether the instance's module takes a sink kind. */
static inline int out_takes(const struct out_instance *oi, enum out_sink k)
{
	unsigned s = oi->mod->sinks ? oi->mod->sinks : OUT_SINK_TABLE;
	return (s & k) != 0;
}

/*
 * The raw-datagram sink, called by a worker for each datagram it receives,
 * before decoding, for every instance that takes OUT_SINK_DATAGRAM.
 */
static inline void out_datagram(struct out_instance *oi, unsigned worker, const struct nt_dgram *d)
{
	oi->mod->datagram(oi, worker, d);
}

/*
 * The output types this build has, as the configuration sees them
 * (NULL-terminated): a daemon's struct conf_schema points `types` here.
 */
extern const struct conf_plugin_type *const out_plugin_types[];

/* Module lookup by plugin type (the capture daemons' list, the longest); NULL if unknown. */
const struct out_module *out_module_find(const char *type);

/*
 * nfacctd's configuration schema: the core, NetFlow and capture key tables
 * and out_plugin_types.  For the daemon, the tests and the fuzzers until the
 * daemon descriptor owns its key set.
 */
extern const struct conf_schema out_schema_nfacctd;
/* pmacctd's (core, capture, packet) and uacctd's (core, packet, NFLOG), the same way. */
extern const struct conf_schema out_schema_pmacctd;
extern const struct conf_schema out_schema_uacctd;
/* sfacctd's: the core, sFlow and capture key tables and out_plugin_types. */
extern const struct conf_schema out_schema_sfacctd;

/* Set up an instance from its plugin config (key spec, module, refresh, history, cache size). */
int out_instance_init(struct out_instance *oi, const struct conf *c, const struct conf_plugin *pc,
		      const struct prim_registry *reg, struct logger *log, char *err,
		      size_t errlen);

extern const struct out_module out_print_module;
extern const struct out_module out_tee_module;
#ifdef HAVE_KAFKA
extern const struct out_module out_kafka_module;
#endif
#ifdef HAVE_RABBITMQ
extern const struct out_module out_amqp_module;
#endif
#ifdef HAVE_REDIS
extern const struct out_module out_redis_module;
#endif
extern const struct out_module out_memory_module;
extern const struct out_module out_sqlite3_module, out_pgsql_module, out_mysql_module;
extern const struct out_module out_nfprobe_module;
extern const struct out_module out_sfprobe_module;

#endif
