#include "reactor/templates_sync.h"

#include <stdlib.h>
#include <string.h>

#include "proto/nf_templates_file.h"
#include "reactor/daemon.h"
#include "reactor/loop.h"

static void on_flush(void *arg)
{
	tpl_sync_flush(arg);
}

int tpl_sync_init(struct tpl_sync *s, const char *path, struct nt_loop *loop, struct logger *log,
		  char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	s->log = log;
	s->by_addr = json_object();
	s->path = strdup(path);
	s->ev_flush = nt_ev_timer(loop, on_flush, s);
	if (!s->by_addr || !s->path || !s->ev_flush) {
		snprintf(err, errlen, "templates file: out of memory");
		return -1;
	}
	return 0;
}

void tpl_sync_seed(struct tpl_sync *s)
{
	json_t *root = json_load_file(s->path, 0, NULL);
	json_t *exps = root ? json_object_get(root, "exporters") : NULL;
	json_t *fmt = root ? json_object_get(root, "format") : NULL;
	if (json_is_array(exps) && json_is_string(fmt) &&
	    strcmp(json_string_value(fmt), NF_TEMPLATES_FORMAT) == 0) {
		size_t i;
		json_t *e;
		json_array_foreach(exps, i, e)
		{
			json_t *addr = json_object_get(e, "addr");
			if (json_is_string(addr))
				json_object_set(s->by_addr, json_string_value(addr), e);
		}
	}
	json_decref(root);
}

void tpl_sync_exporter_changed(struct tpl_sync *s, const struct nf_exporter *ex)
{
	char addr[64];
	nt_addr_to_text(&ex->addr, addr, sizeof addr);
	json_t *entry = nf_templates_exporter_json(ex); /* built here, off the main thread */

	pthread_mutex_lock(&s->mu);
	if (entry)
		json_object_set_new(s->by_addr, addr, entry);
	else
		json_object_del(s->by_addr, addr);
	if (!s->armed) {
		/* coalesce bursts (an exporter announces all its templates at once) */
		s->armed = 1;
		nt_ev_arm(s->ev_flush, 1000000u);
	}
	pthread_mutex_unlock(&s->mu);
}

void tpl_sync_flush(struct tpl_sync *s)
{
	char err[512];
	const char *k;
	json_t *v;
	json_t *arr = json_array();

	pthread_mutex_lock(&s->mu);
	int dirty = s->armed;
	s->armed = 0;
	if (arr)
		json_object_foreach(s->by_addr, k, v) json_array_append(arr, v);
	pthread_mutex_unlock(&s->mu);
	if (!dirty) {
		json_decref(arr);
		return;
	}
	if (!arr) {
		nt_log(s->log, LOG_LVL_ERROR, CORE_COMPONENT, "templates file: out of memory");
		return;
	}
	if (nf_templates_write(s->path, arr, err, sizeof err) < 0)
		nt_log(s->log, LOG_LVL_ERROR, CORE_COMPONENT, "templates file: %s", err);
	else
		nt_log(s->log, LOG_LVL_DEBUG, CORE_COMPONENT,
		       "templates file %s: %zu exporters saved", s->path, json_array_size(arr));
	json_decref(arr);
}

void tpl_sync_free(struct tpl_sync *s)
{
	nt_ev_free(s->ev_flush);
	json_decref(s->by_addr);
	free(s->path);
	pthread_mutex_destroy(&s->mu);
	memset(s, 0, sizeof *s);
}
