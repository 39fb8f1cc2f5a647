#include "conf/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A plugin-scoped setting, applied once the plugin instances are known. */
struct conf_pending {
	char origin[CONF_ORIGIN_MAX];
	unsigned line;
	const struct conf_key *key;
	char name[CONF_NAME_MAX]; /* "" = every instance */
	char *value;
};

struct conf_set_at {
	const struct conf_key *key;
	struct conf_where at;
};

/* pmacct's plugin types that netacct does not have yet: a clearer error than "unknown". */
static const char *const future_plugin_types[] = {"memory", "kafka", "amqp",   "redis",
						  "pgsql",  "mysql", "sqlite3"};

static void vfail(char *err, size_t errlen, const char *origin, unsigned line, const char *fmt,
		  va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (line)
		snprintf(err, errlen, "%s:%u: %s", origin, line, msg);
	else
		snprintf(err, errlen, "%s: %s", origin, msg);
}

static int fail(char *err, size_t errlen, const char *origin, unsigned line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(err, errlen, origin, line, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * An error about a key checked after parsing (conf_finish): named by where the
 * key was last set, "file:line: key 'name': ...".
 */
static int fail_at(char *err, size_t errlen, const struct conf_where *at, const char *key,
		   const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* never set: the value is the built-in default */
	return fail(err, errlen, at->origin[0] ? at->origin : "default", at->line, "key '%s': %s",
		    key, msg);
}

static void set_where(struct conf_where *at, const char *origin, unsigned line)
{
	snprintf(at->origin, sizeof at->origin, "%s", origin);
	at->line = line;
}

static int parse_bool(const char *v, int *out)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") ||
	    !strcmp(v, "1"))
		*out = 1;
	else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
		 !strcmp(v, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int enum_ok(const char *choices, const char *v)
{
	size_t vl = strlen(v);
	for (const char *p = choices; *p;) {
		size_t l = strcspn(p, "|");
		if (l == vl && strncasecmp(p, v, l) == 0)
			return 1;
		p += l;
		if (*p == '|')
			p++;
	}
	return 0;
}

int conf_store_value(const struct conf_key *k, void *base, const char *v, char *why, size_t whylen)
{
	void *slot = (char *)base + k->off;
	switch (k->type) {
	case CT_BOOL:
		if (parse_bool(v, (int *)slot) < 0) {
			snprintf(why, whylen, "expects true or false, got '%s'", v);
			return -1;
		}
		return 0;
	case CT_INT: {
		char *end;
		errno = 0;
		long n = strtol(v, &end, 10);
		if (errno || end == v || *end) {
			snprintf(why, whylen, "expects an integer, got '%s'", v);
			return -1;
		}
		if (n < k->min || n > k->max) {
			snprintf(why, whylen, "%ld is out of range [%ld, %ld]", n, k->min, k->max);
			return -1;
		}
		*(int *)slot = (int)n;
		return 0;
	}
	case CT_ENUM:
		if (!enum_ok(k->choices, v)) {
			snprintf(why, whylen, "expects one of %s, got '%s'", k->choices, v);
			return -1;
		}
		/* stored as lower-case text, like a string */
		/* fall through */
	case CT_STRING:
	case CT_LIST: {
		char *copy = strdup(v);
		if (!copy) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		if (k->type == CT_ENUM)
			for (char *p = copy; *p; p++)
				*p = (char)tolower((unsigned char)*p);
		free(*(char **)slot);
		*(char **)slot = copy;
		return 0;
	}
	case CT_OBSOLETE:
		return 0;
	case CT_DURATION: {
		char *end;
		errno = 0;
		long n = strtol(v, &end, 10);
		long mult = *end == 'm'	  ? 60
			    : *end == 'h' ? 3600
			    : *end == 'd' ? 86400
			    : *end == 'w' ? 604800
			    : *end == 's' ? 1
					  : 0;
		if (errno || end == v || n <= 0 || !mult || end[1] != '\0') {
			snprintf(why, whylen,
				 "expects a duration like 30s, 5m, 1h, 1d or 1w, got '%s'", v);
			return -1;
		}
		if (n > k->max / mult) {
			snprintf(why, whylen, "duration '%s' is longer than %ld seconds", v,
				 k->max);
			return -1;
		}
		*(int *)slot = (int)(n * mult);
		return 0;
	}
	}
	return -1;
}

static void add_notice(struct conf *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	size_t old = c->notices ? strlen(c->notices) : 0;
	char *n = realloc(c->notices, old + strlen(line) + 2);
	if (!n)
		return; /* a lost notice is not worth failing start-up for */
	memcpy(n + old, line, strlen(line));
	n[old + strlen(line)] = '\n';
	n[old + strlen(line) + 1] = '\0';
	c->notices = n;
}

/* ---- schema ------------------------------------------------------------ */

static size_t tables_len(const struct conf_key_table *const *list)
{
	size_t n = 0;
	while (list && list[n])
		n++;
	return n;
}

static int table_has(const struct conf_key_table *t, const struct conf_key *k)
{
	/* equality only: rows of different tables are different objects */
	for (size_t i = 0; i < t->nkeys; i++)
		if (&t->keys[i] == k)
			return 1;
	return 0;
}

/* Whether type t lists table tab among its own. */
static int type_has_table(const struct conf_plugin_type *t, const struct conf_key_table *tab)
{
	for (size_t i = 0; t->tables && t->tables[i]; i++)
		if (t->tables[i] == tab)
			return 1;
	return 0;
}

const struct conf_key_table *conf_schema_next_table(const struct conf_schema *s, size_t *it)
{
	size_t ng = tables_len(s->tables);
	for (;;) {
		size_t i = (*it)++;
		if (i < ng)
			return s->tables[i];
		i -= ng;
		/* type tables: walk (type, table) pairs, skipping tables an earlier type had */
		size_t ty = 0;
		for (; s->types && s->types[ty]; ty++) {
			size_t nt = tables_len(s->types[ty]->tables);
			if (i < nt)
				break;
			i -= nt;
		}
		if (!s->types || !s->types[ty])
			return NULL;
		const struct conf_key_table *tab = s->types[ty]->tables[i];
		int seen = 0;
		for (size_t e = 0; e < ty && !seen; e++)
			seen = type_has_table(s->types[e], tab);
		for (size_t e = 0; e < i && !seen; e++)
			seen = s->types[ty]->tables[e] == tab;
		if (!seen)
			return tab;
	}
}

const struct conf_key *conf_schema_key(const struct conf_schema *s, const char *name,
				       const struct conf_key_table **owner_table)
{
	size_t it = 0;
	const struct conf_key_table *t;
	while ((t = conf_schema_next_table(s, &it)))
		for (size_t i = 0; i < t->nkeys; i++)
			if (strcasecmp(t->keys[i].name, name) == 0) {
				if (owner_table)
					*owner_table = t;
				return &t->keys[i];
			}
	return NULL;
}

const struct conf_plugin_type *conf_schema_type(const struct conf_schema *s, const char *type)
{
	for (size_t i = 0; s->types && s->types[i]; i++)
		if (strcmp(s->types[i]->type, type) == 0)
			return s->types[i];
	return NULL;
}

/* Whether k is a row of the schema's own tables (global or generic plugin keys). */
static int key_is_generic(const struct conf_schema *s, const struct conf_key *k)
{
	for (size_t i = 0; s->tables && s->tables[i]; i++)
		if (table_has(s->tables[i], k))
			return 1;
	return 0;
}

int conf_key_applies(const struct conf_schema *s, const struct conf_key *k,
		     const struct conf_plugin_type *t)
{
	if (k->scope != SCOPE_PLUGIN)
		return 0;
	if (key_is_generic(s, k))
		return 1;
	for (size_t i = 0; t && t->tables && t->tables[i]; i++)
		if (table_has(t->tables[i], k))
			return 1;
	return 0;
}

/* "print" or "mysql, pgsql": the types that own k, for messages. */
static void owner_types(const struct conf_schema *s, const struct conf_key *k, char *buf,
			size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; s->types && s->types[i]; i++)
		if (conf_key_applies(s, k, s->types[i]) && o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "",
					      s->types[i]->type);
}

/* ---- where keys were set ------------------------------------------------ */

static struct conf_set_at *set_at_find(const struct conf *c, const struct conf_key *k)
{
	for (size_t i = 0; i < c->nset_at; i++)
		if (c->set_at[i].key == k)
			return &c->set_at[i];
	return NULL;
}

static int record_set_at(struct conf *c, const struct conf_key *k, const char *origin,
			 unsigned line)
{
	struct conf_set_at *e = set_at_find(c, k);
	if (!e) {
		e = realloc(c->set_at, (c->nset_at + 1) * sizeof *e);
		if (!e)
			return -1;
		c->set_at = e;
		e = &c->set_at[c->nset_at++];
		e->key = k;
	}
	set_where(&e->at, origin, line);
	return 0;
}

const struct conf_where *conf_where_set(const struct conf *c, const char *key)
{
	const struct conf_key *k = c->schema ? conf_schema_key(c->schema, key, NULL) : NULL;
	const struct conf_set_at *e = k ? set_at_find(c, k) : NULL;
	return e ? &e->at : NULL;
}

/* Where plugin key k got its value for instance p: the last named setting, else the last unnamed.
 */
static void plugin_where(const struct conf *c, const struct conf_key *k,
			 const struct conf_plugin *p, struct conf_where *at)
{
	const struct conf_pending *named = NULL, *unnamed = NULL;
	for (size_t i = 0; i < c->npending; i++) {
		const struct conf_pending *e = &c->pending[i];
		if (e->key != k)
			continue;
		if (!e->name[0])
			unnamed = e;
		else if (strcmp(e->name, p->name) == 0)
			named = e;
	}
	const struct conf_pending *e = named ? named : unnamed;
	memset(at, 0, sizeof *at);
	if (e)
		set_where(at, e->origin, e->line);
}

/* k's own setter, or the type's rule. */
static int set_value(const struct conf_key *k, void *base, const char *v, char *why, size_t whylen)
{
	return k->set ? k->set(k, base, v, why, whylen) : conf_store_value(k, base, v, why, whylen);
}

static int is_text(enum conf_type t)
{
	return t == CT_STRING || t == CT_LIST || t == CT_ENUM;
}

static void apply_defaults(const struct conf_key_table *t, enum conf_scope scope, void *base)
{
	char why[128];
	for (size_t i = 0; i < t->nkeys; i++) {
		const struct conf_key *k = &t->keys[i];
		/* a default that fails its own rule is a table bug the unit tests catch */
		if (k->scope == scope && k->type != CT_OBSOLETE && k->def[0])
			(void)set_value(k, base, k->def, why, sizeof why);
	}
}

void conf_init(struct conf *c, const struct conf_schema *s)
{
	memset(c, 0, sizeof *c);
	c->schema = s;
	size_t it = 0;
	const struct conf_key_table *t;
	while ((t = conf_schema_next_table(s, &it)))
		apply_defaults(t, SCOPE_GLOBAL, c);
}

/* One `key[name]: value` assignment from a file line or the command line. */
static int assign(struct conf *c, const struct conf_daemon *d, const char *origin, unsigned line,
		  const char *key, const char *name, const char *value, char *err, size_t errlen)
{
	char why[256];
	const struct conf_key *k = conf_schema_key(c->schema, key, NULL);
	if (!k)
		return fail(err, errlen, origin, line, "unknown key '%s'", key);
	if (!(k->daemons & d->bit))
		return fail(err, errlen, origin, line, "key '%s' does not apply to %s", k->name,
			    d->name);
	if (k->type == CT_OBSOLETE) {
		add_notice(c, "%s:%u: key '%s' ignored: %s", origin, line, k->name, k->doc);
		return 0;
	}
	if (*value == '\0')
		return fail(err, errlen, origin, line, "key '%s' has no value", k->name);
	if (k->scope == SCOPE_GLOBAL) {
		if (*name)
			return fail(err, errlen, origin, line,
				    "key '%s' is global and cannot be set for plugin '%s'", k->name,
				    name);
		if (set_value(k, c, value, why, sizeof why) < 0)
			return fail(err, errlen, origin, line, "key '%s': %s", k->name, why);
		/* checks after parsing (conf_finish, the daemon) name this line */
		if (record_set_at(c, k, origin, line) < 0)
			return fail(err, errlen, origin, line, "out of memory");
		return 0;
	}
	/* validate now so the error names this line, apply in conf_finish */
	struct conf_plugin scratch;
	memset(&scratch, 0, sizeof scratch);
	int rc = set_value(k, &scratch, value, why, sizeof why);
	if (is_text(k->type))
		free(*(char **)((char *)&scratch + k->off));
	if (rc < 0)
		return fail(err, errlen, origin, line, "key '%s': %s", k->name, why);
	struct conf_pending *p = realloc(c->pending, (c->npending + 1) * sizeof *p);
	if (!p)
		return fail(err, errlen, origin, line, "out of memory");
	c->pending = p;
	p = &c->pending[c->npending];
	memset(p, 0, sizeof *p);
	snprintf(p->origin, sizeof p->origin, "%s", origin);
	p->line = line;
	p->key = k;
	snprintf(p->name, sizeof p->name, "%s", name);
	p->value = strdup(value);
	if (!p->value)
		return fail(err, errlen, origin, line, "out of memory");
	c->npending++;
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t l = strlen(s);
	while (l && isspace((unsigned char)s[l - 1]))
		s[--l] = '\0';
	return s;
}

/* Split "key[name]" into key and name; -1 on bad brackets. */
static int split_key(char *lhs, char **key, char *name, size_t namelen)
{
	char *open = strchr(lhs, '[');
	name[0] = '\0';
	*key = lhs;
	if (!open)
		return strchr(lhs, ']') ? -1 : 0;
	char *close = strchr(open, ']');
	if (!close || close[1] != '\0' || close == open + 1)
		return -1;
	*open = '\0';
	*close = '\0';
	if ((size_t)(close - open) > namelen)
		return -1;
	snprintf(name, namelen, "%s", trim(open + 1));
	*key = trim(lhs);
	return 0;
}

int conf_load_string(struct conf *c, const struct conf_daemon *d, const char *origin,
		     const char *text, char *err, size_t errlen)
{
	unsigned lineno = 0;
	const char *p = text;
	while (*p) {
		size_t l = strcspn(p, "\n");
		char buf[8192];
		lineno++;
		if (l >= sizeof buf)
			return fail(err, errlen, origin, lineno, "line too long");
		memcpy(buf, p, l);
		buf[l] = '\0';
		p += l;
		if (*p == '\n')
			p++;
		/* only a leading '!' is a comment: BPF filters use '!' for "not" */
		char *s = trim(buf);
		if (*s == '\0' || *s == '!')
			continue;
		char *colon = strchr(s, ':');
		if (!colon)
			return fail(err, errlen, origin, lineno, "expected 'key: value', got '%s'",
				    s);
		*colon = '\0';
		char *lhs = trim(s), *value = trim(colon + 1), *key;
		char name[CONF_NAME_MAX];
		if (split_key(lhs, &key, name, sizeof name) < 0)
			return fail(err, errlen, origin, lineno, "malformed key '%s'", lhs);
		if (assign(c, d, origin, lineno, key, name, value, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int conf_load_file(struct conf *c, const struct conf_daemon *d, const char *path, char *err,
		   size_t errlen)
{
	FILE *fp = fopen(path, "r");
	if (!fp)
		return fail(err, errlen, path, 0, "cannot open: %s", strerror(errno));
	char *text = NULL;
	size_t len = 0, cap = 0;
	char chunk[4096];
	size_t got;
	while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0) {
		if (len + got + 1 > cap) {
			cap = (len + got + 1) * 2;
			char *t = realloc(text, cap);
			if (!t) {
				free(text);
				fclose(fp);
				return fail(err, errlen, path, 0, "out of memory");
			}
			text = t;
		}
		memcpy(text + len, chunk, got);
		len += got;
	}
	int rd_err = ferror(fp);
	fclose(fp);
	if (rd_err) {
		free(text);
		return fail(err, errlen, path, 0, "read error");
	}
	if (!text)
		return 0;
	text[len] = '\0';
	if (memchr(text, '\0', len)) {
		free(text);
		return fail(err, errlen, path, 0, "not a text file");
	}
	free(c->config_file);
	c->config_file = strdup(path);
	int rc = conf_load_string(c, d, path, text, err, errlen);
	free(text);
	return rc;
}

int conf_set(struct conf *c, const struct conf_daemon *d, const char *key, const char *value,
	     char *err, size_t errlen)
{
	char lhs[256], *k;
	char name[CONF_NAME_MAX];
	snprintf(lhs, sizeof lhs, "%s", key);
	if (split_key(lhs, &k, name, sizeof name) < 0)
		return fail(err, errlen, "command line", 0, "malformed key '%s'", key);
	return assign(c, d, "command line", 0, k, name, value, err, errlen);
}

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return 0;
	return 1;
}

static int declare_plugins(struct conf *c, const struct conf_daemon *d, char *err, size_t errlen)
{
	static const struct conf_where unset;
	const struct conf_where *at = conf_where_set(c, "plugins");
	char buf[4096], *save = NULL;
	if (!at)
		at = &unset;
	snprintf(buf, sizeof buf, "%s", c->plugins ? c->plugins : "print");
	c->nplugins = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *t = trim(tok), *name = "default";
		char *open = strchr(t, '[');
		if (open) {
			char *close = strchr(open, ']');
			if (!close || close[1])
				return fail_at(err, errlen, at, "plugins", "malformed entry '%s'",
					       t);
			*open = '\0';
			*close = '\0';
			name = trim(open + 1);
		}
		t = trim(t);
		const struct conf_plugin_type *type = conf_schema_type(c->schema, t);
		if (!type) {
			for (size_t i = 0;
			     i < sizeof future_plugin_types / sizeof future_plugin_types[0]; i++)
				if (strcmp(t, future_plugin_types[i]) == 0)
					return fail_at(err, errlen, at, "plugins",
						       "plugin type '%s' is not available in this "
						       "version of netacct",
						       t);
			return fail_at(err, errlen, at, "plugins", "unknown plugin type '%s'", t);
		}
		if (type->daemons && d && !(type->daemons & d->bit))
			return fail_at(
			    err, errlen, at, "plugins",
			    "plugin type '%s' runs only in %s, not in %s (pmacct refuses "
			    "it there too)",
			    t,
			    type->daemons == (D_PMACCTD | D_UACCTD) ? "pmacctd and uacctd"
								    : "other daemons",
			    d->name);
		if (!valid_name(name))
			return fail_at(err, errlen, at, "plugins", "bad plugin name '%s'", name);
		for (unsigned i = 0; i < c->nplugins; i++)
			if (strcmp(c->plugin[i].name, name) == 0)
				return fail_at(err, errlen, at, "plugins",
					       "plugin name '%s' used twice", name);
		if (c->nplugins == CONF_MAX_PLUGINS)
			return fail_at(err, errlen, at, "plugins", "too many plugins (max %d)",
				       CONF_MAX_PLUGINS);
		struct conf_plugin *p = &c->plugin[c->nplugins++];
		snprintf(p->name, sizeof p->name, "%s", name);
		snprintf(p->type, sizeof p->type, "%s", t);
		p->ptype = type;
	}
	if (c->nplugins == 0)
		return fail_at(err, errlen, at, "plugins", "no plugin declared");
	return 0;
}

/* Store one pending setting into instance p. */
static int apply_pending(struct conf *c, const struct conf_pending *e, struct conf_plugin *p,
			 char *err, size_t errlen)
{
	char why[256];
	(void)c;
	if (set_value(e->key, p, e->value, why, sizeof why) < 0)
		return fail(err, errlen, e->origin, e->line, "key '%s': %s", e->key->name, why);
	/* checked by out_instance_init, whose errors name this line */
	if (e->key->off == offsetof(struct conf_plugin, aggregate) && e->key->scope == SCOPE_PLUGIN)
		set_where(&p->aggregate_at, e->origin, e->line);
	return 0;
}

static int apply_plugin_keys(struct conf *c, char *err, size_t errlen)
{
	const struct conf_schema *s = c->schema;
	for (unsigned i = 0; i < c->nplugins; i++) {
		for (size_t g = 0; s->tables && s->tables[g]; g++)
			apply_defaults(s->tables[g], SCOPE_PLUGIN, &c->plugin[i]);
		const struct conf_plugin_type *t = c->plugin[i].ptype;
		for (size_t g = 0; t->tables && t->tables[g]; g++)
			apply_defaults(t->tables[g], SCOPE_PLUGIN, &c->plugin[i]);
	}
	/* unnamed first so that key[name] wins whatever the order in the file */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < c->npending; i++) {
			const struct conf_pending *e = &c->pending[i];
			int named = e->name[0] != '\0';
			unsigned found = 0, applied = 0;
			if (named != pass)
				continue;
			for (unsigned j = 0; j < c->nplugins; j++) {
				struct conf_plugin *p = &c->plugin[j];
				if (named && strcmp(e->name, p->name) != 0)
					continue;
				found++;
				if (!conf_key_applies(s, e->key, p->ptype)) {
					if (named)
						return fail(err, errlen, e->origin, e->line,
							    "key '%s' does not apply to plugin "
							    "'%s' of type '%s'",
							    e->key->name, p->name, p->type);
					continue; /* unnamed: for the types that own it */
				}
				if (apply_pending(c, e, p, err, errlen) < 0)
					return -1;
				applied++;
			}
			if (named && !found)
				return fail(err, errlen, e->origin, e->line,
					    "key '%s[%s]': no plugin named '%s' in 'plugins'",
					    e->key->name, e->name, e->name);
			if (!named && !applied) {
				char types[256];
				owner_types(s, e->key, types, sizeof types);
				add_notice(c,
					   "%s:%u: key '%s' ignored: no plugin of type %s in "
					   "'plugins'",
					   e->origin, e->line, e->key->name, types);
			}
		}
	return 0;
}

/* The check hooks of every table, global keys once, plugin keys per instance. */
static int run_checks(struct conf *c, char *err, size_t errlen)
{
	static const struct conf_where unset;
	char why[256];
	size_t it = 0;
	const struct conf_key_table *t;
	while ((t = conf_schema_next_table(c->schema, &it)))
		for (size_t i = 0; i < t->nkeys; i++) {
			const struct conf_key *k = &t->keys[i];
			if (!k->check)
				continue;
			if (k->scope == SCOPE_GLOBAL) {
				const struct conf_where *at = conf_where_set(c, k->name);
				if (!at)
					at = &unset;
				if (k->check(c, c, at, why, sizeof why) < 0)
					return fail_at(err, errlen, at, k->name, "%s", why);
				continue;
			}
			for (unsigned j = 0; j < c->nplugins; j++) {
				const struct conf_plugin *p = &c->plugin[j];
				struct conf_where at;
				char key[2 * CONF_NAME_MAX + 64];
				if (!conf_key_applies(c->schema, k, p->ptype))
					continue;
				plugin_where(c, k, p, &at);
				if (k->check(c, p, &at, why, sizeof why) < 0) {
					snprintf(key, sizeof key, "%s[%s]", k->name, p->name);
					return fail_at(err, errlen, &at, key, "%s", why);
				}
			}
		}
	return 0;
}

int conf_finish(struct conf *c, const struct conf_daemon *d, char *err, size_t errlen)
{
	if (declare_plugins(c, d, err, errlen) < 0 || apply_plugin_keys(c, err, errlen) < 0)
		return -1;
	return run_checks(c, err, errlen);
}

static void free_strings(const struct conf_key_table *t, enum conf_scope scope, void *base)
{
	for (size_t i = 0; i < t->nkeys; i++)
		if (t->keys[i].scope == scope && is_text(t->keys[i].type)) {
			/* NULL after free: two rows may share a field */
			char **s = (char **)((char *)base + t->keys[i].off);
			free(*s);
			*s = NULL;
		}
}

void conf_free(struct conf *c)
{
	size_t it = 0;
	const struct conf_key_table *t;
	while (c->schema && (t = conf_schema_next_table(c->schema, &it))) {
		free_strings(t, SCOPE_GLOBAL, c);
		for (unsigned i = 0; i < c->nplugins; i++)
			free_strings(t, SCOPE_PLUGIN, &c->plugin[i]);
	}
	for (size_t i = 0; i < c->npending; i++)
		free(c->pending[i].value);
	free(c->pending);
	free(c->set_at);
	free(c->notices);
	free(c->config_file);
	memset(c, 0, sizeof *c);
}

const char *conf_notices(const struct conf *c)
{
	return c->notices;
}

static const char *type_name(const struct conf_key *k)
{
	switch (k->type) {
	case CT_BOOL:
		return "bool";
	case CT_INT:
		return "integer";
	case CT_STRING:
		return "string";
	case CT_ENUM:
		return "enum";
	case CT_LIST:
		return "list";
	case CT_OBSOLETE:
		return "obsolete";
	case CT_DURATION:
		return "duration";
	}
	return "?";
}

static void daemons_text(unsigned m, char *buf, size_t len)
{
	static const struct conf_daemon names[] = {{D_NFACCTD, "nfacctd"},
						   {D_SFACCTD, "sfacctd"},
						   {D_PMACCTD, "pmacctd"},
						   {D_UACCTD, "uacctd"}};
	if (m == D_ALL) {
		snprintf(buf, len, "all");
		return;
	}
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (m & names[i].bit)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "",
					      names[i].name);
}

/* The types owning table t, "" for the schema's own tables. */
static void table_types(const struct conf_schema *s, const struct conf_key_table *t, char *buf,
			size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; s->types && s->types[i]; i++)
		if (type_has_table(s->types[i], t) && o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "",
					      s->types[i]->type);
}

int conf_write_reference(FILE *fp, const struct conf_schema *s)
{
	fprintf(fp, "# Configuration keys\n\n"
		    "Generated by `nfacctd --config-reference` (`make docs`) from the key tables "
		    "of the core (`conf/keys.c`), the inputs (`conf/keys_netflow.c`) and the "
		    "output modules (`out/*.c`); do not edit by hand.\n\n"
		    "Syntax: `key: value`; `key[name]: value` sets a plugin-scoped key for one "
		    "instance declared in `plugins`; `!` starts a comment.\n\n"
		    "Keys of an output type (a section named after the type) apply to the "
		    "instances of that type only: `key[name]` naming an instance of another type "
		    "is an error; `key` without a name applies to the instances of the type, and "
		    "when there is none it is ignored with a notice.\n");
	size_t it = 0;
	const struct conf_key_table *t;
	while ((t = conf_schema_next_table(s, &it))) {
		char types[256];
		table_types(s, t, types, sizeof types);
		fprintf(fp, "\n## %s\n\n%s%s%s%s\n\n", t->name, t->title,
			types[0] ? " Plugin type: " : "", types, types[0] ? "." : "");
		fprintf(fp, "| key | type | default | scope | daemons | description |\n"
			    "|---|---|---|---|---|---|\n");
		for (size_t i = 0; i < t->nkeys; i++) {
			char dm[64], type[160], scope[300];
			const struct conf_key *k = &t->keys[i];
			daemons_text(k->daemons, dm, sizeof dm);
			if (k->type == CT_ENUM)
				snprintf(type, sizeof type, "enum (%s)", k->choices);
			else if (k->type == CT_INT)
				snprintf(type, sizeof type, "integer [%ld..%ld]", k->min, k->max);
			else
				snprintf(type, sizeof type, "%s", type_name(k));
			if (k->scope == SCOPE_GLOBAL)
				snprintf(scope, sizeof scope, "global");
			else if (types[0])
				snprintf(scope, sizeof scope, "plugin (%s)", types);
			else
				snprintf(scope, sizeof scope, "plugin");
			fprintf(fp, "| `%s` | %s | %s%s%s | %s | %s | %s |\n", k->name, type,
				k->def[0] ? "`" : "", k->def[0] ? k->def : "-",
				k->def[0] ? "`" : "", scope, dm, k->doc);
		}
	}
	return ferror(fp) ? -1 : 0;
}
