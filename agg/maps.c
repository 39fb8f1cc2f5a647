#include "agg/maps.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 3, 4))) static void say(struct maps *m, int error, const char *fmt,
						      ...)
{
	char msg[1280];
	va_list ap;
	if (!m->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	m->log(m->log_arg, error, msg);
}

void maps_init(struct maps *m, maps_log_fn log, void *log_arg)
{
	memset(m, 0, sizeof *m);
	m->log = log;
	m->log_arg = log_arg;
}

void maps_free(struct maps *m)
{
	for (unsigned i = 0; i < m->n; i++) {
		struct map_entry *e = &m->e[i];
		void *cur = atomic_exchange(&e->cur, NULL);
		if (cur)
			e->type->free(cur);
		if (e->retired)
			e->type->free(e->retired);
		e->retired = NULL;
	}
	m->n = 0;
}

int maps_register(struct maps *m, const char *key, const char *path, const struct map_type *type,
		  char *err, size_t errlen)
{
	if (m->n == MAPS_MAX) {
		snprintf(err, errlen, "%s: too many maps (max %d)", key, MAPS_MAX);
		return -1;
	}
	if (!type || !(type->parse || type->parse_arg) || !type->free) {
		snprintf(err, errlen, "%s: map type without parse/free", key);
		return -1;
	}
	struct map_entry *e = &m->e[m->n];
	if (strlen(key) >= sizeof e->key || strlen(path) >= sizeof e->path || !*path) {
		snprintf(err, errlen, "%s: bad key or path", key);
		return -1;
	}
	memset(e, 0, sizeof *e);
	snprintf(e->key, sizeof e->key, "%s", key);
	snprintf(e->path, sizeof e->path, "%s", path);
	e->type = type;
	atomic_init(&e->cur, NULL);
	return (int)m->n++;
}

static int parse_entry(const struct map_entry *e, void **map, char *why, size_t whylen)
{
	if (e->type->parse_arg)
		return e->type->parse_arg(e->path, e->type->arg, map, why, whylen);
	return e->type->parse(e->path, map, why, whylen);
}

static void report(struct maps *m, const struct map_entry *e, const void *map)
{
	if (e->type->report && m->log)
		e->type->report(map, m->log, m->log_arg);
}

static size_t count_of(const struct map_entry *e, const void *map)
{
	return e->type->count ? e->type->count(map) : 0;
}

int maps_load_all(struct maps *m, char *err, size_t errlen)
{
	for (unsigned i = 0; i < m->n; i++) {
		struct map_entry *e = &m->e[i];
		char why[1024];
		void *map = NULL;
		if (parse_entry(e, &map, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s: %s", e->key, why);
			return -1;
		}
		report(m, e, map);
		void *old = atomic_exchange(&e->cur, map);
		if (old)
			e->type->free(old); /* start-up: no worker reads yet */
		say(m, 0, "%s %s: %zu entries loaded", e->key, e->path, count_of(e, map));
	}
	return 0;
}

int maps_settling(const struct maps *m)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->e[i].retired)
			return 1;
	return 0;
}

int maps_reload_all(struct maps *m)
{
	int swapped = 0;
	if (maps_settling(m)) {
		/* a second swap now could free a map a worker still holds */
		m->reload_deferred = 1;
		say(m, 0, "map reload deferred: the previous one is still settling");
		return MAPS_RELOAD_DEFERRED;
	}
	m->reload_deferred = 0;
	for (unsigned i = 0; i < m->n; i++) {
		struct map_entry *e = &m->e[i];
		char why[1024];
		void *map = NULL;
		if (parse_entry(e, &map, why, sizeof why) < 0) {
			say(m, 1, "%s: %s (keeping the previous map)", e->key, why);
			continue;
		}
		report(m, e, map);
		e->retired = atomic_exchange_explicit(&e->cur, map, memory_order_acq_rel);
		say(m, 0, "%s %s: %zu entries reloaded", e->key, e->path, count_of(e, map));
		swapped++;
	}
	return swapped;
}

int maps_release_retired(struct maps *m)
{
	for (unsigned i = 0; i < m->n; i++) {
		struct map_entry *e = &m->e[i];
		if (e->retired)
			e->type->free(e->retired);
		e->retired = NULL;
	}
	int again = m->reload_deferred;
	m->reload_deferred = 0;
	return again;
}
