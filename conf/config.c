#include "conf/config.h"

#include <arpa/inet.h>
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

static const char *const plugin_types[] = {"print"};
static const char *const future_plugin_types[] = {
    "memory", "kafka", "amqp", "redis", "pgsql", "mysql", "sqlite3", "tee", "nfprobe", "sfprobe"};

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

static const struct conf_key *key_find(const char *name)
{
	size_t n;
	const struct conf_key *k = conf_keys(&n);
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(k[i].name, name) == 0)
			return &k[i];
	return NULL;
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

/* Validate v for k and store it at base + k->off.  why gets the reason. */
static int store(const struct conf_key *k, void *base, const char *v, char *why, size_t whylen)
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

static void apply_defaults(const struct conf_key *tab, size_t n, enum conf_scope scope, void *base)
{
	char why[128];
	for (size_t i = 0; i < n; i++)
		if (tab[i].scope == scope && tab[i].type != CT_OBSOLETE && tab[i].def[0])
			store(&tab[i], base, tab[i].def, why, sizeof why);
}

void conf_init(struct conf *c)
{
	size_t n;
	const struct conf_key *tab = conf_keys(&n);
	memset(c, 0, sizeof *c);
	apply_defaults(tab, n, SCOPE_GLOBAL, c);
}

/* One `key[name]: value` assignment from a file line or the command line. */
static int assign(struct conf *c, const struct conf_daemon *d, const char *origin, unsigned line,
		  const char *key, const char *name, const char *value, char *err, size_t errlen)
{
	char why[256];
	const struct conf_key *k = key_find(key);
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
		if (store(k, c, value, why, sizeof why) < 0)
			return fail(err, errlen, origin, line, "key '%s' %s", k->name, why);
		/* checked again in conf_finish, whose errors must name this line */
		if (k->off == offsetof(struct conf, plugins))
			set_where(&c->plugins_at, origin, line);
		else if (k->off == offsetof(struct conf, nfacctd_ip))
			set_where(&c->nfacctd_ip_at, origin, line);
		return 0;
	}
	/* validate now so the error names this line, apply in conf_finish */
	struct conf_plugin scratch;
	memset(&scratch, 0, sizeof scratch);
	if (store(k, &scratch, value, why, sizeof why) < 0)
		return fail(err, errlen, origin, line, "key '%s' %s", k->name, why);
	if (k->type == CT_STRING || k->type == CT_LIST || k->type == CT_ENUM)
		free(*(char **)((char *)&scratch + k->off));
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

static int declare_plugins(struct conf *c, char *err, size_t errlen)
{
	char buf[4096], *save = NULL;
	snprintf(buf, sizeof buf, "%s", c->plugins ? c->plugins : "print");
	c->nplugins = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *t = trim(tok), *name = "default";
		char *open = strchr(t, '[');
		if (open) {
			char *close = strchr(open, ']');
			if (!close || close[1])
				return fail_at(err, errlen, &c->plugins_at, "plugins",
					       "malformed entry '%s'", t);
			*open = '\0';
			*close = '\0';
			name = trim(open + 1);
		}
		t = trim(t);
		int known = 0, future = 0;
		for (size_t i = 0; i < sizeof plugin_types / sizeof plugin_types[0]; i++)
			known |= strcmp(t, plugin_types[i]) == 0;
		for (size_t i = 0; i < sizeof future_plugin_types / sizeof future_plugin_types[0];
		     i++)
			future |= strcmp(t, future_plugin_types[i]) == 0;
		if (!known && future)
			return fail_at(
			    err, errlen, &c->plugins_at, "plugins",
			    "plugin type '%s' is not available in this version of netacct", t);
		if (!known)
			return fail_at(err, errlen, &c->plugins_at, "plugins",
				       "unknown plugin type '%s'", t);
		if (!valid_name(name))
			return fail_at(err, errlen, &c->plugins_at, "plugins",
				       "bad plugin name '%s'", name);
		for (unsigned i = 0; i < c->nplugins; i++)
			if (strcmp(c->plugin[i].name, name) == 0)
				return fail_at(err, errlen, &c->plugins_at, "plugins",
					       "plugin name '%s' used twice", name);
		if (c->nplugins == CONF_MAX_PLUGINS)
			return fail_at(err, errlen, &c->plugins_at, "plugins",
				       "too many plugins (max %d)", CONF_MAX_PLUGINS);
		struct conf_plugin *p = &c->plugin[c->nplugins++];
		snprintf(p->name, sizeof p->name, "%s", name);
		snprintf(p->type, sizeof p->type, "%s", t);
	}
	if (c->nplugins == 0)
		return fail_at(err, errlen, &c->plugins_at, "plugins", "no plugin declared");
	return 0;
}

int conf_finish(struct conf *c, const struct conf_daemon *d, char *err, size_t errlen)
{
	size_t n;
	const struct conf_key *tab = conf_keys(&n);
	char why[256];
	(void)d;

	if (declare_plugins(c, err, errlen) < 0)
		return -1;
	for (unsigned i = 0; i < c->nplugins; i++)
		apply_defaults(tab, n, SCOPE_PLUGIN, &c->plugin[i]);
	/* unnamed first so that key[name] wins whatever the order in the file */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < c->npending; i++) {
			struct conf_pending *p = &c->pending[i];
			int named = p->name[0] != '\0', hit = 0;
			if (named != pass)
				continue;
			for (unsigned j = 0; j < c->nplugins; j++) {
				if (named && strcmp(p->name, c->plugin[j].name) != 0)
					continue;
				hit = 1;
				if (store(p->key, &c->plugin[j], p->value, why, sizeof why) < 0)
					return fail(err, errlen, p->origin, p->line, "key '%s' %s",
						    p->key->name, why);
				/* checked by out_instance_init, whose errors name this line */
				if (p->key->off == offsetof(struct conf_plugin, aggregate))
					set_where(&c->plugin[j].aggregate_at, p->origin, p->line);
			}
			if (named && !hit)
				return fail(err, errlen, p->origin, p->line,
					    "key '%s[%s]': no plugin named '%s' in 'plugins'",
					    p->key->name, p->name, p->name);
		}
	if (c->nfacctd_ip && c->nfacctd_ip[0]) {
		/* a listen address must be a literal: resolving names at start hides typos */
		unsigned char buf[16];
		if (inet_pton(AF_INET, c->nfacctd_ip, buf) != 1 &&
		    inet_pton(AF_INET6, c->nfacctd_ip, buf) != 1)
			return fail_at(err, errlen, &c->nfacctd_ip_at, "nfacctd_ip",
				       "'%s' is not an IPv4/IPv6 address", c->nfacctd_ip);
	}
	return 0;
}

static void free_strings(const struct conf_key *tab, size_t n, enum conf_scope scope, void *base)
{
	for (size_t i = 0; i < n; i++)
		if (tab[i].scope == scope && (tab[i].type == CT_STRING || tab[i].type == CT_LIST ||
					      tab[i].type == CT_ENUM)) {
			char **s = (char **)((char *)base + tab[i].off);
			free(*s);
			*s = NULL;
		}
}

void conf_free(struct conf *c)
{
	size_t n;
	const struct conf_key *tab = conf_keys(&n);
	free_strings(tab, n, SCOPE_GLOBAL, c);
	for (unsigned i = 0; i < c->nplugins; i++)
		free_strings(tab, n, SCOPE_PLUGIN, &c->plugin[i]);
	for (size_t i = 0; i < c->npending; i++)
		free(c->pending[i].value);
	free(c->pending);
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

int conf_write_reference(FILE *fp)
{
	size_t n;
	const struct conf_key *tab = conf_keys(&n);
	fprintf(fp, "# Configuration keys\n\n"
		    "Generated from `conf/keys.c` by `make docs`; do not edit by hand.\n\n"
		    "Syntax: `key: value`; `key[name]: value` sets a plugin-scoped key for one "
		    "instance declared in `plugins`; `!` starts a comment.\n\n"
		    "| key | type | default | scope | daemons | description |\n"
		    "|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < n; i++) {
		char dm[64];
		const struct conf_key *k = &tab[i];
		daemons_text(k->daemons, dm, sizeof dm);
		char type[160];
		if (k->type == CT_ENUM)
			snprintf(type, sizeof type, "enum (%s)", k->choices);
		else if (k->type == CT_INT)
			snprintf(type, sizeof type, "integer [%ld..%ld]", k->min, k->max);
		else
			snprintf(type, sizeof type, "%s", type_name(k));
		fprintf(fp, "| `%s` | %s | %s%s%s | %s | %s | %s |\n", k->name, type,
			k->def[0] ? "`" : "", k->def[0] ? k->def : "-", k->def[0] ? "`" : "",
			k->scope == SCOPE_GLOBAL ? "global" : "plugin", dm, k->doc);
	}
	return ferror(fp) ? -1 : 0;
}
