#include "proto/nf_templates_file.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/nf_sampling.h"
#include "proto/nf_template.h"

/* ---- save ---------------------------------------------------------------- */

struct save_ctx {
	json_t *exporters;
	json_t *tpls; /* templates array of the exporter being written */
	int failed;
};

static void put_template(void *arg, const struct nf_template *t)
{
	struct save_ctx *s = arg;
	json_t *fields = json_array();
	json_t *o = json_pack("{s:i, s:I, s:i, s:b, s:i}", "export_version", (int)t->version,
			      "domain", (json_int_t)t->domain, "id", (int)t->id, "options",
			      (int)t->options, "scope_fields", (int)t->nscope);
	if (!fields || !o) {
		json_decref(fields);
		json_decref(o);
		s->failed = 1;
		return;
	}
	for (uint16_t i = 0; i < t->nfields; i++) {
		json_t *f = json_pack("[i, i, I]", (int)t->f[i].type, (int)t->f[i].len,
				      (json_int_t)t->f[i].pen);
		if (!f || json_array_append_new(fields, f) < 0)
			s->failed = 1;
	}
	if (json_object_set_new(o, "fields", fields) < 0 || json_array_append_new(s->tpls, o) < 0)
		s->failed = 1;
}

static void put_exporter(void *arg, struct nf_exporter *ex)
{
	struct save_ctx *s = arg;
	char addr[INET6_ADDRSTRLEN] = "";
	if (nf_tpl_store_count(ex->templates) == 0)
		return;
	if (!inet_ntop(ex->addr.family == 6 ? AF_INET6 : AF_INET, ex->addr.a, addr, sizeof addr)) {
		s->failed = 1;
		return;
	}
	s->tpls = json_array();
	json_t *o = json_pack("{s:s, s:i}", "addr", addr, "port", (int)ex->port);
	if (!s->tpls || !o) {
		json_decref(s->tpls);
		json_decref(o);
		s->failed = 1;
		return;
	}
	nf_tpl_foreach(ex->templates, put_template, s);
	if (json_object_set_new(o, "templates", s->tpls) < 0 ||
	    json_array_append_new(s->exporters, o) < 0)
		s->failed = 1;
}

json_t *nf_templates_exporter_json(const struct nf_exporter *ex)
{
	struct save_ctx s = {.exporters = json_array()};
	json_t *o = NULL;
	if (!s.exporters)
		return NULL;
	put_exporter(&s, (struct nf_exporter *)ex); /* only read: shares the foreach callback */
	if (!s.failed && json_array_size(s.exporters) == 1)
		o = json_incref(json_array_get(s.exporters, 0));
	json_decref(s.exporters);
	return o;
}

int nf_templates_write(const char *path, json_t *exporters, char *err, size_t errlen)
{
	json_t *root = NULL;
	char *tmp = NULL;
	FILE *f = NULL;
	int fd = -1, rc = -1;

	root = json_pack("{s:s, s:i, s:O}", "format", NF_TEMPLATES_FORMAT, "version",
			 NF_TEMPLATES_VERSION, "exporters", exporters);
	if (!root)
		goto nomem;

	/* same directory as the target, so rename() is atomic */
	size_t plen = strlen(path) + sizeof ".XXXXXX";
	if (!(tmp = malloc(plen)))
		goto nomem;
	snprintf(tmp, plen, "%s.XXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0) {
		snprintf(err, errlen, "%s: mkstemp: %s", tmp, strerror(errno));
		goto out;
	}
	if (!(f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "%s: fdopen: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (json_dumpf(root, f, JSON_INDENT(1) | JSON_SORT_KEYS) < 0 || fputc('\n', f) == EOF ||
	    fflush(f) != 0 || fsync(fileno(f)) != 0) {
		snprintf(err, errlen, "%s: write: %s", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		goto out;
	}
	if (fclose(f) != 0) {
		snprintf(err, errlen, "%s: close: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "rename %s -> %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
	goto out;
nomem:
	snprintf(err, errlen, "%s: out of memory building templates JSON", path);
out:
	free(tmp);
	json_decref(root);
	return rc;
}

int nf_templates_save(const char *path, struct nf_collector *c, char *err, size_t errlen)
{
	struct save_ctx s = {.exporters = json_array()};
	int rc;
	if (!s.exporters) {
		snprintf(err, errlen, "%s: out of memory building templates JSON", path);
		return -1;
	}
	nf_collector_foreach(c, put_exporter, &s);
	if (s.failed) {
		snprintf(err, errlen, "%s: out of memory building templates JSON", path);
		rc = -1;
	} else {
		rc = nf_templates_write(path, s.exporters, err, errlen);
	}
	json_decref(s.exporters);
	return rc;
}

/* ---- load ---------------------------------------------------------------- */

/* A validated template waiting to be installed. */
struct pending {
	struct nt_addr addr;
	uint16_t port;
	struct nf_template *t;
};

static int get_uint(json_t *o, const char *key, json_int_t max, json_int_t *v)
{
	json_t *x = json_object_get(o, key);
	if (!json_is_integer(x))
		return -1;
	*v = json_integer_value(x);
	return *v < 0 || *v > max ? -1 : 0;
}

static struct nf_template *parse_template(json_t *jt, const struct prim_registry *custom,
					  uint64_t skip, const char **why)
{
	struct nf_tpl_field f[NF_TPL_MAX_FIELDS];
	json_int_t ver, dom, id, nscope;
	json_t *opt = json_object_get(jt, "options");
	json_t *fields = json_object_get(jt, "fields");

	*why = "bad template entry";
	if (!json_is_object(jt) || get_uint(jt, "export_version", 10, &ver) < 0 ||
	    (ver != 9 && ver != 10) || get_uint(jt, "domain", UINT32_MAX, &dom) < 0 ||
	    get_uint(jt, "id", 65535, &id) < 0 || id < 256 ||
	    get_uint(jt, "scope_fields", NF_TPL_MAX_FIELDS, &nscope) < 0 || !json_is_boolean(opt) ||
	    !json_is_array(fields) || json_array_size(fields) > NF_TPL_MAX_FIELDS)
		return NULL;
	size_t n = json_array_size(fields);
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(fields, i);
		json_t *ty = json_array_get(e, 0), *ln = json_array_get(e, 1),
		       *pn = json_array_get(e, 2);
		if (!json_is_array(e) || json_array_size(e) != 3 || !json_is_integer(ty) ||
		    !json_is_integer(ln) || !json_is_integer(pn) || json_integer_value(ty) < 0 ||
		    json_integer_value(ty) > 0x7fff || json_integer_value(ln) < 0 ||
		    json_integer_value(ln) > 65535 || json_integer_value(pn) < 0 ||
		    json_integer_value(pn) > UINT32_MAX || (ver == 9 && json_integer_value(pn))) {
			*why = "bad field specifier";
			return NULL;
		}
		memset(&f[i], 0, sizeof f[i]);
		f[i].type = (uint16_t)json_integer_value(ty);
		f[i].len = (uint16_t)json_integer_value(ln);
		f[i].pen = (uint32_t)json_integer_value(pn);
	}
	return nf_tpl_build((uint8_t)ver, (uint32_t)dom, (uint16_t)id, json_is_true(opt),
			    (uint16_t)nscope, f, (uint16_t)n, custom, skip, why);
}

int nf_templates_load(const char *path, struct nf_collector *c, size_t *loaded, char *err,
		      size_t errlen)
{
	json_error_t jerr;
	struct pending *pend = NULL;
	size_t npend = 0, cap = 0;
	json_t *root;
	int rc = -1;

	if (loaded)
		*loaded = 0;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (!(root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr))) {
		snprintf(err, errlen, "%s:%d: not JSON: %s", path, jerr.line, jerr.text);
		return -1;
	}
	json_t *fmt = json_object_get(root, "format");
	json_int_t ver;
	json_t *exps = json_object_get(root, "exporters");
	if (!json_is_string(fmt) || strcmp(json_string_value(fmt), NF_TEMPLATES_FORMAT) != 0) {
		snprintf(err, errlen, "%s: not a netacct templates file (format)", path);
		goto out;
	}
	if (get_uint(root, "version", 1000, &ver) < 0 || ver != NF_TEMPLATES_VERSION) {
		snprintf(err, errlen, "%s: unsupported templates file version", path);
		goto out;
	}
	if (!json_is_array(exps)) {
		snprintf(err, errlen, "%s: \"exporters\" is not an array", path);
		goto out;
	}
	for (size_t i = 0; i < json_array_size(exps); i++) {
		json_t *je = json_array_get(exps, i);
		json_t *ja = json_object_get(je, "addr"), *jts = json_object_get(je, "templates");
		json_int_t port;
		struct nt_addr a;
		memset(&a, 0, sizeof a);
		if (!json_is_string(ja) || get_uint(je, "port", 65535, &port) < 0 ||
		    !json_is_array(jts)) {
			snprintf(err, errlen, "%s: exporter #%zu: bad entry", path, i);
			goto out;
		}
		if (inet_pton(AF_INET, json_string_value(ja), a.a) == 1)
			a.family = 4;
		else if (inet_pton(AF_INET6, json_string_value(ja), a.a) == 1)
			a.family = 6;
		else {
			snprintf(err, errlen, "%s: exporter #%zu: bad address", path, i);
			goto out;
		}
		for (size_t j = 0; j < json_array_size(jts); j++) {
			const char *why = NULL;
			struct nf_template *t = parse_template(json_array_get(jts, j),
							       c->opt.custom, c->opt.skip, &why);
			if (!t) {
				snprintf(err, errlen, "%s: exporter %s template #%zu: %s", path,
					 json_string_value(ja), j, why);
				goto out;
			}
			if (npend == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct pending *np = realloc(pend, ncap * sizeof *np);
				if (!np) {
					free(t);
					snprintf(err, errlen, "%s: out of memory", path);
					goto out;
				}
				pend = np;
				cap = ncap;
			}
			pend[npend].addr = a;
			pend[npend].port = (uint16_t)port;
			pend[npend].t = t;
			npend++;
		}
	}

	/* everything validated: install */
	for (size_t i = 0; i < npend; i++) {
		uint64_t refused = c->refused;
		struct nf_exporter *ex = nf_exporter_get(c, &pend[i].addr, pend[i].port);
		if (!ex && c->refused != refused) {
			/* beyond max_exporters: dropped, as its datagrams would be */
			c->refused = refused;
			free(pend[i].t);
			pend[i].t = NULL;
			continue;
		}
		if (ex && !ex->templates && (ex->templates = nf_tpl_store_new()))
			nf_tpl_store_set_budget(ex->templates, &c->tpl_budget);
		if (ex && !ex->samplers)
			ex->samplers = nf_sampler_store_new();
		if (!ex || !ex->templates || !ex->samplers) {
			snprintf(err, errlen, "%s: out of memory", path);
			for (; i < npend; i++)
				free(pend[i].t);
			npend = 0;
			goto out;
		}
		/* a repeated entry replaces the first, one past the cap is dropped */
		size_t before = nf_tpl_store_count(ex->templates);
		nf_tpl_put(ex->templates, pend[i].t);
		pend[i].t = NULL;
		if (loaded && nf_tpl_store_count(ex->templates) > before)
			(*loaded)++;
	}
	npend = 0;
	rc = 0;
out:
	for (size_t i = 0; i < npend; i++)
		free(pend[i].t);
	free(pend);
	json_decref(root);
	return rc;
}
