/*
 * The reloadable-map registry: every map file the daemon reads (sampling_map
 * now; pre_tag_map, bgp_agent_map, tee_receivers... later) is one entry with
 * its config key, path and parse/free functions, and the map currently in
 * force behind an atomic pointer.
 *
 * Threads.  Everything but maps_current() runs on the main thread.  Workers
 * read maps_current() once per batch (the pipeline does it in
 * pipeline_batch_begin) and drop the pointer at the end of the batch, so
 * between batches a worker holds no map: that is its quiescent point.
 *
 * Life of a reload (SIGUSR2 when maps_refresh is true):
 *   1. maps_reload_all() parses every file anew.  A file that fails keeps its
 *      old map serving (logged, "keeping the previous map"); each valid new
 *      map is swapped in atomically and the old one is retired.
 *   2. If anything was retired, maps_settling() is true: the caller asks every
 *      worker to pass a quiescent point (an event per worker that acks).
 *   3. After the last ack the caller calls maps_release_retired(), which frees
 *      the retired maps.  A reload requested while settling is deferred:
 *      maps_reload_all() returns MAPS_RELOAD_DEFERRED and changes nothing, and
 *      maps_release_retired() returns 1 to say "run the deferred reload now".
 *   Without workers (start-up, tests) the caller may release right away.
 */
#ifndef NETACCT_AGG_MAPS_H
#define NETACCT_AGG_MAPS_H

#include <stdatomic.h>
#include <stddef.h>

#define MAPS_MAX 16

/* Parse the file at path into *out.  Returns 0, or -1 with "file:line: reason". */
typedef int (*map_parse_fn)(const char *path, void **out, char *err, size_t errlen);
typedef void (*map_free_fn)(void *map);
/* Entries in a map, for the log ("<key> <path>: N entries loaded"); may be NULL. */
typedef size_t (*map_count_fn)(const void *map);

/* Messages for the daemon's log: error != 0 for failures. */
typedef void (*maps_log_fn)(void *arg, int error, const char *msg);

struct map_type {
	map_parse_fn parse;
	map_free_fn free;
	map_count_fn count;
	/*
	 * Optional, for maps whose parsing depends on configuration: used
	 * instead of parse, with `arg` (which must outlive the registry).
	 */
	int (*parse_arg)(const char *path, const void *arg, void **out, char *err, size_t errlen);
	const void *arg;
	/*
	 * Optional: what to say about a map that loaded (e.g. bad lines it
	 * skipped), before the "entries loaded" line.
	 */
	void (*report)(const void *map, maps_log_fn log, void *log_arg);
};

struct map_entry {
	char key[64]; /* config key, e.g. "sampling_map" */
	char path[4096];
	const struct map_type *type;
	void *_Atomic cur; /* the map in force; NULL before the first load */
	void *retired;	   /* the map cur replaced, until released */
};

struct maps {
	struct map_entry e[MAPS_MAX];
	unsigned n;
	int reload_deferred;
	maps_log_fn log;
	void *log_arg;
};

/* An empty registry; log (may be NULL) receives load/reload messages. */
void maps_init(struct maps *m, maps_log_fn log, void *log_arg);

/* Free every map, current and retired.  No worker may hold a map any more. */
void maps_free(struct maps *m);

/*
 * Add a map at start-up (before workers run).  Returns its slot (>= 0), which
 * maps_current() takes, or -1 with a reason (registry full, key too long).
 */
int maps_register(struct maps *m, const char *key, const char *path, const struct map_type *type,
		  char *err, size_t errlen);

/* Load every map.  A bad map at start is fatal: -1 with "key: file:line: reason". */
int maps_load_all(struct maps *m, char *err, size_t errlen);

#define MAPS_RELOAD_DEFERRED (-2)

/*
 * Re-read every map (see above).  Returns the number of maps swapped in
 * (0..n; failures are logged and keep the old map), or MAPS_RELOAD_DEFERRED
 * while the previous reload is still settling.
 */
int maps_reload_all(struct maps *m);

/* Whether retired maps wait for every worker's quiescent point. */
int maps_settling(const struct maps *m);

/*
 * Free the retired maps: call once every worker has passed a quiescent point
 * after the swap.  Returns 1 when a reload was deferred meanwhile (call
 * maps_reload_all() again), else 0.
 */
int maps_release_retired(struct maps *m);

/* The map in force for slot (worker side: once per batch). */
static inline const void *maps_current(const struct maps *m, int slot)
{
	return atomic_load_explicit(&((struct maps *)m)->e[slot].cur, memory_order_acquire);
}

#endif
