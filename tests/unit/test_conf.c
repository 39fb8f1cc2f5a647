/*
 * Unit tests for the configuration parser (conf/config.c), the key tables
 * (conf/keys*.c, out/print.c), the output module registry's configuration
 * side (out/output.c) and the command line (conf/cli.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf/cli.h"
#include "conf/config.h"
#include "conf/keys.h"
#include "out/output.h"

#ifndef UNIT_DATA_DIR
#define UNIT_DATA_DIR "tests/unit/data"
#endif

static const struct conf_daemon NF = {D_NFACCTD, "nfacctd"};
static const struct conf_daemon SF = {D_SFACCTD, "sfacctd"};
static const struct conf_daemon UA = {D_UACCTD, "uacctd"};
static const struct conf_daemon PM = {D_PMACCTD, "pmacctd"};

/* The real nfacctd schema: every key row the daemon accepts. */
#define SCHEMA (&out_schema_nfacctd)

/* Every row of schema s, in table order; returns how many. */
static size_t all_keys(const struct conf_schema *s, const struct conf_key **out, size_t max)
{
	size_t n = 0, it = 0;
	const struct conf_key_table *t;
	while ((t = conf_schema_next_table(s, &it)))
		for (size_t i = 0; i < t->nkeys; i++) {
			assert_true(n < max);
			out[n++] = &t->keys[i];
		}
	return n;
}

#define ORIGIN "test.conf"

/* Load text as ORIGIN and finish; returns the first non-zero rc. */
static int load(struct conf *c, const struct conf_daemon *d, const char *text, char *err,
		size_t errlen)
{
	conf_init(c, SCHEMA);
	err[0] = '\0';
	if (conf_load_string(c, d, ORIGIN, text, err, errlen) < 0)
		return -1;
	return conf_finish(c, d, err, errlen);
}

static const struct conf_plugin *plugin(const struct conf *c, const char *name)
{
	for (unsigned i = 0; i < c->nplugins; i++)
		if (strcmp(c->plugin[i].name, name) == 0)
			return &c->plugin[i];
	return NULL;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!hay || !strstr(hay, needle)) {
		print_error("expected '%s' to contain '%s'\n", hay ? hay : "(null)", needle);
		fail();
	}
}

/* ---- good input ------------------------------------------------------- */

static void test_defaults(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	assert_int_equal(load(&c, &NF, "", err, sizeof err), 0);
	assert_int_equal(c.daemonize, 0);
	assert_int_equal(c.debug, 0);
	assert_int_equal(c.nfacctd_port, 2100);
	assert_int_equal(c.reactor_batch, 64);
	assert_int_equal(c.reactor_workers, 0);
	assert_int_equal(c.log_rate_limit, 10);
	assert_int_equal(c.nfacctd_pipe_size, 0);
	assert_null(c.nfacctd_ip);
	assert_null(c.pidfile);
	assert_string_equal(c.plugins, "print");
	assert_int_equal(c.nplugins, 1);
	const struct conf_plugin *p = &c.plugin[0];
	assert_string_equal(p->name, "default");
	assert_string_equal(p->type, "print");
	assert_null(p->aggregate);
	assert_string_equal(p->print_output, "formatted");
	assert_string_equal(p->print_output_separator, ",");
	assert_int_equal(p->print_refresh_time, 60);
	assert_int_equal(p->print_cache_entries, 16411);
	assert_int_equal(p->flush_queue_size, 64);
	assert_int_equal(p->cache_max_entries, 0);
	assert_int_equal(p->print_markers, 0);
	assert_int_equal(p->timestamps_since_epoch, 0);
	assert_null(conf_notices(&c));
	conf_free(&c);
}

static void test_globals_comments_case(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	const char *text =
	    "! a comment\n"
	    "\n"
	    "   \t\n"
	    "  ! indented comment\n"
	    "Daemonize: TRUE\n"
	    "NFACCTD_PORT:   2201   \n"
	    "nfacctd_ip: ::1\n"
	    "pidfile: /run/nfacctd.pid\n"
	    "reactor_workers: 4\n"
	    "nfacctd_pipe_size: 1048576\n"
	    "nfacctd_renormalize: yes\n"
	    "nfacctd_time_new: on\n"
	    "nfacctd_time_secs: 1\n"
	    "debug:off\n"
	    "log_rate_limit: 0\n"
	    "sampling_map: /etc/pmacct/sampling.map\n"
	    "aggregate_primitives: /etc/pmacct/primitives.lst"; /* no final newline */
	assert_int_equal(load(&c, &NF, text, err, sizeof err), 0);
	assert_int_equal(c.daemonize, 1);
	assert_int_equal(c.nfacctd_port, 2201);
	assert_string_equal(c.nfacctd_ip, "::1");
	assert_string_equal(c.pidfile, "/run/nfacctd.pid");
	assert_int_equal(c.reactor_workers, 4);
	assert_int_equal(c.nfacctd_pipe_size, 1048576);
	assert_int_equal(c.nfacctd_renormalize, 1);
	assert_int_equal(c.nfacctd_time_new, 1);
	assert_int_equal(c.nfacctd_time_secs, 1);
	assert_int_equal(c.debug, 0);
	assert_int_equal(c.log_rate_limit, 0);
	assert_string_equal(c.sampling_map, "/etc/pmacct/sampling.map");
	assert_string_equal(c.aggregate_primitives, "/etc/pmacct/primitives.lst");
	conf_free(&c);
}

static void test_value_with_bang_and_colon(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	/* only a leading '!' is a comment; the first ':' separates key and value */
	assert_int_equal(load(&c, &NF,
			      "print_output_file: /tmp/out!%Y:%m.txt\n"
			      "print_output_separator: |\n",
			      err, sizeof err),
			 0);
	assert_string_equal(c.plugin[0].print_output_file, "/tmp/out!%Y:%m.txt");
	assert_string_equal(c.plugin[0].print_output_separator, "|");
	conf_free(&c);
}

static void test_bool_spellings(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		int want;
	} cases[] = {{"true", 1}, {"TRUE", 1}, {"True", 1}, {"yes", 1},	  {"YES", 1},
		     {"on", 1},	  {"On", 1},   {"1", 1},    {"false", 0}, {"FALSE", 0},
		     {"no", 0},	  {"No", 0},   {"off", 0},  {"OFF", 0},	  {"0", 0}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct conf c;
		char err[512], text[128];
		/* start from the opposite value so a silent no-op is caught */
		snprintf(text, sizeof text, "debug: %s\ndebug: %s\n",
			 cases[i].want ? "false" : "true", cases[i].v);
		assert_int_equal(load(&c, &NF, text, err, sizeof err), 0);
		assert_int_equal(c.debug, cases[i].want);
		conf_free(&c);
	}
}

static void test_enum_lowercased(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	assert_int_equal(load(&c, &NF,
			      "plugins: print[a], print[b], print[c]\n"
			      "print_output[a]: JSON\n"
			      "print_output[b]: CsV\n"
			      "print_output[c]: Formatted\n",
			      err, sizeof err),
			 0);
	assert_string_equal(plugin(&c, "a")->print_output, "json");
	assert_string_equal(plugin(&c, "b")->print_output, "csv");
	assert_string_equal(plugin(&c, "c")->print_output, "formatted");
	conf_free(&c);
}

static void test_plugins_declared(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	assert_int_equal(load(&c, &NF, "plugins: print[a] , print[ b ],print\n", err, sizeof err),
			 0);
	assert_int_equal(c.nplugins, 3);
	assert_string_equal(c.plugin[0].name, "a");
	assert_string_equal(c.plugin[1].name, "b");
	assert_string_equal(c.plugin[2].name, "default");
	for (unsigned i = 0; i < 3; i++) {
		assert_string_equal(c.plugin[i].type, "print");
		/* plugin defaults applied to every instance */
		assert_int_equal(c.plugin[i].print_refresh_time, 60);
		assert_string_equal(c.plugin[i].print_output, "formatted");
	}
	conf_free(&c);
}

/* A value valid for k, different from its default where possible. */
static const char *sample_value(const struct conf_key *k, char *buf, size_t len)
{
	switch (k->type) {
	case CT_BOOL:
		return strcmp(k->def, "true") == 0 ? "false" : "true";
	case CT_INT:
		snprintf(buf, len, "%ld", k->max);
		return buf;
	case CT_DURATION:
		return "1h";
	case CT_ENUM: {
		/* last choice, upper-cased to exercise lowercasing */
		const char *last = strrchr(k->choices, '|');
		snprintf(buf, len, "%s", last ? last + 1 : k->choices);
		for (char *p = buf; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		return buf;
	}
	case CT_STRING:
	case CT_LIST: {
		/* keys whose setter checks the value: a valid one (conf/keys_tagging.c) */
		static const char *const valid[][2] = {
		    {"aggregate_filter", "tcp"}, {"pre_tag_filter", "1"},
		    {"pre_tag2_filter", "1-5"},	 {"pre_tag_label_filter", "a,-b"},
		    {"post_tag", "7"},		 {"post_tag2", "8"}};
		for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
			if (strcmp(k->name, valid[i][0]) == 0)
				return valid[i][1];
		if (k->set)
			return NULL; /* a rule of its own (e.g. print_history_roundoff): skipped */
		snprintf(buf, len, "value-of-%s", k->name);
		return buf;
	}
	default:
		return NULL; /* a type this test does not know yet: skipped */
	}
}

/* Whether daemon d runs plugin type t (probes: pmacctd and uacctd only). */
static int runs_in(const struct conf_plugin_type *t, const struct conf_daemon *d)
{
	return !t->daemons || (t->daemons & d->bit);
}

/* The first output type that plugin key k applies to (print's keys: print; tee's: tee). */
static const struct conf_plugin_type *ptype_for(const struct conf_key *k)
{
	for (size_t t = 0; out_plugin_types[t]; t++)
		if (conf_key_applies(SCHEMA, k, out_plugin_types[t]))
			return out_plugin_types[t];
	fail_msg("plugin key %s applies to no output type", k->name);
	return NULL;
}

static const char *type_for(const struct conf_key *k)
{
	return ptype_for(k)->type;
}

static void check_plugin_key(const struct conf_plugin *p, const struct conf_key *k, const char *v)
{
	const char *slot = (const char *)p + k->off;
	switch (k->type) {
	case CT_BOOL:
		assert_int_equal(*(const int *)slot, strcmp(v, "true") == 0);
		break;
	case CT_INT:
		assert_int_equal(*(const int *)slot, strtol(v, NULL, 10));
		break;
	case CT_DURATION:
		assert_int_equal(*(const int *)slot, 3600);
		break;
	case CT_ENUM: {
		const char *s = *(char *const *)slot;
		assert_non_null(s);
		assert_int_equal(strcasecmp(s, v), 0);
		for (const char *q = s; *q; q++)
			assert_false(*q >= 'A' && *q <= 'Z');
		break;
	}
	case CT_STRING:
	case CT_LIST:
		assert_string_equal(*(char *const *)slot, v);
		break;
	default:
		break;
	}
}

/* Every plugin-scoped key of the table, set unnamed, reaches every instance. */
static void test_every_plugin_key_unnamed(void **state)
{
	(void)state;
	const struct conf_key *tab[256];
	size_t n = all_keys(SCHEMA, tab, 256);
	char text[16384], vals[256][128];
	size_t o = 0;
	/* instances of every output type (two each while they fit): each key must reach
	 * exactly the instances of its types */
	/* (the types nfacctd runs: probes belong to the packet daemons) */
	unsigned ntypes = 0, nrun = 0;
	while (out_plugin_types[ntypes])
		nrun += (unsigned)runs_in(out_plugin_types[ntypes++], &NF);
	unsigned per = 2 * nrun <= CONF_MAX_PLUGINS ? 2 : 1;
	assert_true(nrun <= CONF_MAX_PLUGINS);
	o += (size_t)snprintf(text + o, sizeof text - o, "plugins: ");
	for (size_t t = 0; t < ntypes; t++)
		for (unsigned k = 1; k <= per && runs_in(out_plugin_types[t], &NF); k++)
			o += (size_t)snprintf(
			    text + o, sizeof text - o, "%s%s[%s%u]", text[o - 1] != ' ' ? ", " : "",
			    out_plugin_types[t]->type, out_plugin_types[t]->type, k);
	o += (size_t)snprintf(text + o, sizeof text - o, "\n");
	for (size_t i = 0; i < n; i++) {
		vals[i][0] = '\0';
		if (tab[i]->scope != SCOPE_PLUGIN || tab[i]->type == CT_OBSOLETE ||
		    !runs_in(ptype_for(tab[i]), &NF))
			continue;
		const char *v = sample_value(tab[i], vals[i], sizeof vals[i]);
		if (!v) {
			vals[i][0] = '\0';
			continue;
		}
		if (v != vals[i])
			snprintf(vals[i], sizeof vals[i], "%s", v);
		o += (size_t)snprintf(text + o, sizeof text - o, "%s: %s\n", tab[i]->name, vals[i]);
	}
	assert_true(o < sizeof text);
	struct conf c;
	char err[512];
	if (load(&c, &NF, text, err, sizeof err) != 0) {
		print_error("%s\n", err);
		conf_free(&c);
		fail();
	}
	assert_int_equal(c.nplugins, per * nrun);
	for (unsigned j = 0; j < c.nplugins; j++)
		for (size_t i = 0; i < n; i++)
			if (tab[i]->scope == SCOPE_PLUGIN && tab[i]->type != CT_OBSOLETE &&
			    vals[i][0] && conf_key_applies(SCHEMA, tab[i], c.plugin[j].ptype))
				check_plugin_key(&c.plugin[j], tab[i], vals[i]);
	conf_free(&c);
}

/* Every plugin-scoped key, set for one named instance, leaves the other alone. */
static void test_every_plugin_key_named(void **state)
{
	(void)state;
	const struct conf_key *tab[256];
	size_t n = all_keys(SCHEMA, tab, 256);
	for (size_t i = 0; i < n; i++) {
		if (tab[i]->scope != SCOPE_PLUGIN || tab[i]->type == CT_OBSOLETE)
			continue;
		char vbuf[128], text[512], err[512];
		const char *v = sample_value(tab[i], vbuf, sizeof vbuf);
		if (!v)
			continue;
		const char *type = type_for(tab[i]);
		snprintf(text, sizeof text, "plugins: %s[one], %s[two]\n%s[two]: %s\n", type, type,
			 tab[i]->name, v);
		struct conf c;
		const struct conf_daemon *dm = runs_in(ptype_for(tab[i]), &NF) ? &NF : &PM;
		if (load(&c, dm, text, err, sizeof err) != 0) {
			print_error("%s\n", err);
			conf_free(&c);
			fail();
		}
		check_plugin_key(plugin(&c, "two"), tab[i], v);
		/* "one" keeps the default */
		struct conf d;
		char derr[512];
		snprintf(text, sizeof text, "plugins: %s[x]\n", type);
		assert_int_equal(load(&d, dm, text, derr, sizeof derr), 0);
		const char *a = (const char *)plugin(&c, "one") + tab[i]->off;
		const char *b = (const char *)&d.plugin[0] + tab[i]->off;
		if (tab[i]->type == CT_BOOL || tab[i]->type == CT_INT ||
		    tab[i]->type == CT_DURATION)
			assert_int_equal(*(const int *)a, *(const int *)b);
		else if (*(char *const *)b)
			assert_string_equal(*(char *const *)a, *(char *const *)b);
		else
			assert_null(*(char *const *)a);
		conf_free(&d);
		conf_free(&c);
	}
}

static void test_duration(void **state)
{
	(void)state;
	static const struct {
		const char *v;
		int want;
	} good[] = {{"30s", 30},    {"5m", 300},	 {"1h", 3600},	 {"1d", 86400},
		    {"1w", 604800}, {"31d", 31 * 86400}, {"  15m ", 900}};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct conf c;
		char err[512], text[128];
		snprintf(text, sizeof text, "print_history: %s\n", good[i].v);
		assert_int_equal(load(&c, &NF, text, err, sizeof err), 0);
		assert_int_equal(c.plugin[0].print_history, good[i].want);
		conf_free(&c);
	}
	static const char *const bad[] = {
	    "5", "5x", "0m", "-1m", "32d", "5mm", "m", "1.5h", "99999999999999999999s"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct conf c;
		char err[512], text[128];
		snprintf(text, sizeof text, "debug: true\nprint_history: %s\n", bad[i]);
		if (load(&c, &NF, text, err, sizeof err) != -1) {
			print_error("accepted print_history: %s\n", bad[i]);
			fail();
		}
		assert_contains(err, ORIGIN ":2:");
		assert_contains(err, "print_history");
		conf_free(&c);
	}
	/* default: no time bins */
	struct conf c;
	char err[512];
	assert_int_equal(load(&c, &NF, "", err, sizeof err), 0);
	assert_int_equal(c.plugin[0].print_history, 0);
	conf_free(&c);
}

static void test_named_wins_regardless_of_order(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	/* named before unnamed */
	assert_int_equal(load(&c, &NF,
			      "plugins: print[a], print[b]\n"
			      "aggregate[a]: dst_host\n"
			      "print_refresh_time[b]: 5\n"
			      "aggregate: src_host\n"
			      "print_refresh_time: 120\n",
			      err, sizeof err),
			 0);
	assert_string_equal(plugin(&c, "a")->aggregate, "dst_host");
	assert_string_equal(plugin(&c, "b")->aggregate, "src_host");
	assert_int_equal(plugin(&c, "a")->print_refresh_time, 120);
	assert_int_equal(plugin(&c, "b")->print_refresh_time, 5);
	conf_free(&c);

	/* named after unnamed */
	assert_int_equal(load(&c, &NF,
			      "plugins: print[a], print[b]\n"
			      "aggregate: src_host\n"
			      "aggregate[a]: dst_host\n",
			      err, sizeof err),
			 0);
	assert_string_equal(plugin(&c, "a")->aggregate, "dst_host");
	assert_string_equal(plugin(&c, "b")->aggregate, "src_host");
	conf_free(&c);

	/* among same-scope assignments the last one wins */
	assert_int_equal(load(&c, &NF,
			      "plugins: print[a]\n"
			      "aggregate[a]: proto\n"
			      "aggregate: src_host\n"
			      "aggregate[a]: dst_host\n"
			      "aggregate: src_port\n",
			      err, sizeof err),
			 0);
	assert_string_equal(plugin(&c, "a")->aggregate, "dst_host");
	conf_free(&c);
}

static void test_plugins_key_after_plugin_keys(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	/* `plugins` may come last: plugin keys wait for it */
	assert_int_equal(load(&c, &NF,
			      "aggregate[z]: src_host\n"
			      "plugins: print[z]\n",
			      err, sizeof err),
			 0);
	assert_string_equal(plugin(&c, "z")->aggregate, "src_host");
	conf_free(&c);
}

static void test_obsolete_key_notice(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	assert_int_equal(load(&c, &NF,
			      "debug: false\n"
			      "plugin_pipe_size: 10240000\n"
			      "plugin_buffer_size[x]: 10240\n",
			      err, sizeof err),
			 0);
	const char *n = conf_notices(&c);
	assert_non_null(n);
	assert_contains(n, "plugin_pipe_size");
	assert_contains(n, ORIGIN ":2");
	assert_contains(n, "plugin_buffer_size");
	assert_contains(n, ORIGIN ":3");
	conf_free(&c);
}

static void test_conf_set(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	conf_init(&c, SCHEMA);
	assert_int_equal(conf_set(&c, &NF, "nfacctd_port", "9999", err, sizeof err), 0);
	assert_int_equal(conf_set(&c, &NF, "plugins", "print[a],print[b]", err, sizeof err), 0);
	assert_int_equal(conf_set(&c, &NF, "aggregate[b]", "proto", err, sizeof err), 0);
	assert_int_equal(conf_set(&c, &NF, "nfacctd_port", "x", err, sizeof err), -1);
	assert_contains(err, "command line");
	assert_contains(err, "nfacctd_port");
	assert_int_equal(conf_finish(&c, &NF, err, sizeof err), 0);
	assert_int_equal(c.nfacctd_port, 9999);
	assert_null(plugin(&c, "a")->aggregate);
	assert_string_equal(plugin(&c, "b")->aggregate, "proto");
	conf_free(&c);
}

/* ---- bad input -------------------------------------------------------- */

struct bad_case {
	const char *text;
	unsigned line; /* where the error is */
	const char *key;
	const char *also; /* another fragment the message must hold, or NULL */
};

static void check_bad(const struct conf_daemon *d, const struct bad_case *b)
{
	struct conf c;
	char err[512], where[64];
	int rc = load(&c, d, b->text, err, sizeof err);
	if (rc != -1) {
		print_error("accepted bad config:\n%s\n", b->text);
		fail();
	}
	snprintf(where, sizeof where, "%s:%u:", ORIGIN, b->line);
	assert_contains(err, where);
	assert_contains(err, b->key);
	if (b->also)
		assert_contains(err, b->also);
	conf_free(&c);
}

static void test_bad_lines(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
	    {"debug: true\nno_such_key: 1\n", 2, "no_such_key", "unknown"},
	    {"debug: maybe\n", 1, "debug", "maybe"},
	    {"debug: truee\n", 1, "debug", NULL},
	    {"nfacctd_port: 70000\n", 1, "nfacctd_port", "70000"},
	    {"nfacctd_port: 0\n", 1, "nfacctd_port", "range"},
	    {"reactor_workers: -1\n", 1, "reactor_workers", "range"},
	    {"nfacctd_port: 21x\n", 1, "nfacctd_port", "21x"},
	    {"nfacctd_port: 0x10\n", 1, "nfacctd_port", NULL},
	    {"nfacctd_port: 99999999999999999999999\n", 1, "nfacctd_port", NULL},
	    {"print_refresh_time: 1.5\n", 1, "print_refresh_time", NULL},
	    {"print_output: xml\n", 1, "print_output", "xml"},
	    {"print_output[x]: xml\nplugins: print[x]\n", 1, "print_output", "xml"},
	    {"plugins: print[a]\naggregate[b]: src_host\n", 2, "aggregate", "b"},
	    {"aggregate[b]: src_host\n", 1, "aggregate", "b"}, /* unnamed plugin is "default" */
	    {"nfacctd_port[a]: 2100\nplugins: print[a]\n", 1, "nfacctd_port", "global"},
	    {"aggregate[a: src_host\n", 1, "aggregate", "malformed"},
	    {"aggregatea]: src_host\n", 1, "aggregate", "malformed"},
	    {"aggregate[]: src_host\n", 1, "aggregate", "malformed"},
	    {"aggregate[a]x: src_host\n", 1, "aggregate", "malformed"},
	    {"!\n\ndebug true\n", 3, "debug", NULL},
	    {"debug:\n", 1, "debug", "no value"},
	    {"pidfile:    \n", 1, "pidfile", "no value"},
	    {"a\nb\n", 1, "a", NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_bad(&NF, &cases[i]);
}

static void test_key_for_other_daemon(void **state)
{
	(void)state;
	static const struct bad_case c1 = {"debug: true\nnfacctd_port: 2100\n", 2, "nfacctd_port",
					   "sfacctd"};
	check_bad(&SF, &c1);
	/* and the same key is fine for nfacctd */
	struct conf c;
	char err[512];
	assert_int_equal(load(&c, &NF, c1.text, err, sizeof err), 0);
	conf_free(&c);
}

/* Errors found once `plugins` is interpreted: the reason must be right. */
struct plugin_case {
	const char *text;
	const char *also;
};

static const struct plugin_case plugin_cases[] = {
    {"debug: false\nplugins: foo\n", "foo"},
    {"debug: false\nplugins: print[a], bogus[b]\n", "bogus"},
    {"debug: false\nplugins: sfprobe[k]\n", "runs only in pmacctd and uacctd, not in nfacctd"},
    {"debug: false\nplugins: print[a], print[a]\n", "'a'"},
    {"debug: false\nplugins: print, print\n", "default"},
    {"debug: false\nplugins: print[a b]\n", "a b"},
    {"debug: false\nplugins: print[a/b]\n", "a/b"},
    {"debug: false\nplugins: print[]\n", "plugin name"},
    {"debug: false\nplugins: print[a\n", "print[a"},
};

static void test_bad_plugins(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof plugin_cases / sizeof plugin_cases[0]; i++) {
		struct conf c;
		char err[512];
		if (load(&c, &NF, plugin_cases[i].text, err, sizeof err) != -1) {
			print_error("accepted bad config:\n%s\n", plugin_cases[i].text);
			fail();
		}
		assert_contains(err, "plugins");
		assert_contains(err, plugin_cases[i].also);
		conf_free(&c);
	}
}

static void test_too_many_plugins(void **state)
{
	(void)state;
	char text[2048];
	size_t o = (size_t)snprintf(text, sizeof text, "plugins: ");
	for (int i = 0; i <= CONF_MAX_PLUGINS; i++)
		o += (size_t)snprintf(text + o, sizeof text - o, "%sprint[p%d]", i ? "," : "", i);
	snprintf(text + o, sizeof text - o, "\n");
	struct conf c;
	char err[512];
	assert_int_equal(load(&c, &NF, text, err, sizeof err), -1);
	assert_contains(err, "too many");
	conf_free(&c);
}

static void test_bad_plugins_name_file_and_line(void **state)
{
	(void)state;
	/*
	 * Errors found in conf_finish() while declaring plugins name the file
	 * and line where `plugins` was set, and the key, as config.h promises.
	 */
	for (size_t i = 0; i < sizeof plugin_cases / sizeof plugin_cases[0]; i++) {
		struct conf c;
		char err[512];
		assert_int_equal(load(&c, &NF, plugin_cases[i].text, err, sizeof err), -1);
		assert_contains(err, ORIGIN ":2: key 'plugins': ");
		assert_contains(err, plugin_cases[i].also);
		conf_free(&c);
	}
	/* the last assignment wins, and so does its line */
	struct conf c;
	char err[512];
	assert_int_equal(
	    load(&c, &NF, "plugins: print\ndebug: true\nplugins: foo\n", err, sizeof err), -1);
	assert_string_equal(err, ORIGIN ":3: key 'plugins': unknown plugin type 'foo'");
	conf_free(&c);
	/* set on the command line: named so, without a line */
	conf_init(&c, SCHEMA);
	assert_int_equal(conf_load_string(&c, &NF, ORIGIN, "plugins: print\n", err, sizeof err), 0);
	assert_int_equal(conf_set(&c, &NF, "plugins", "foo[x]", err, sizeof err), 0);
	assert_int_equal(conf_finish(&c, &NF, err, sizeof err), -1);
	assert_string_equal(err, "command line: key 'plugins': unknown plugin type 'foo'");
	conf_free(&c);
}

static void test_bad_nfacctd_ip(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	static const char *const bad[] = {"localhost", "10.0.0.256", "1.2.3", "::g", "10.0.0.1/24"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[128];
		snprintf(text, sizeof text, "debug: true\nnfacctd_ip: %s\n", bad[i]);
		assert_int_equal(load(&c, &NF, text, err, sizeof err), -1);
		assert_contains(err, "nfacctd_ip");
		assert_contains(err, bad[i]);
		conf_free(&c);
	}
	static const char *const good[] = {"0.0.0.0", "192.0.2.1", "::", "2001:db8::1"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		char text[128];
		snprintf(text, sizeof text, "nfacctd_ip: %s\n", good[i]);
		assert_int_equal(load(&c, &NF, text, err, sizeof err), 0);
		assert_string_equal(c.nfacctd_ip, good[i]);
		conf_free(&c);
	}
}

static void test_bad_nfacctd_ip_names_file_and_line(void **state)
{
	(void)state;
	/* reported at the line that set it */
	struct conf c;
	char err[512];
	assert_int_equal(load(&c, &NF, "debug: true\nnfacctd_ip: localhost\n", err, sizeof err),
			 -1);
	assert_string_equal(err,
			    ORIGIN ":2: key 'nfacctd_ip': 'localhost' is not an IPv4/IPv6 address");
	conf_free(&c);
	/* a setter: refused where it is set, before conf_finish() */
	conf_init(&c, SCHEMA);
	assert_int_equal(conf_set(&c, &NF, "nfacctd_ip", "10.0.0.256", err, sizeof err), -1);
	assert_contains(err, "command line: key 'nfacctd_ip': '10.0.0.256'");
	conf_free(&c);
}

static void test_aggregate_where_recorded(void **state)
{
	(void)state;
	/*
	 * The primitives in `aggregate` are checked after parsing
	 * (out_instance_init): conf_finish() records where each instance's
	 * value came from so that error can name file and line.
	 */
	struct conf c;
	char err[512];
	assert_int_equal(load(&c, &NF,
			      "plugins: print[a], print[b], print[c]\n"
			      "aggregate: src_host\n"
			      "! comment\n"
			      "aggregate[b]: dst_host\n",
			      err, sizeof err),
			 0);
	assert_string_equal(plugin(&c, "a")->aggregate_at.origin, ORIGIN);
	assert_int_equal(plugin(&c, "a")->aggregate_at.line, 2);
	assert_string_equal(plugin(&c, "b")->aggregate_at.origin, ORIGIN);
	assert_int_equal(plugin(&c, "b")->aggregate_at.line, 4);
	assert_int_equal(plugin(&c, "c")->aggregate_at.line, 2);
	conf_free(&c);
	/* not set at all: no origin */
	assert_int_equal(load(&c, &NF, "plugins: print[a]\n", err, sizeof err), 0);
	assert_string_equal(plugin(&c, "a")->aggregate_at.origin, "");
	conf_free(&c);
	/* command line */
	conf_init(&c, SCHEMA);
	assert_int_equal(conf_set(&c, &NF, "aggregate[a]", "src_host", err, sizeof err), 0);
	assert_int_equal(conf_set(&c, &NF, "plugins", "print[a]", err, sizeof err), 0);
	assert_int_equal(conf_finish(&c, &NF, err, sizeof err), 0);
	assert_string_equal(plugin(&c, "a")->aggregate_at.origin, "command line");
	assert_int_equal(plugin(&c, "a")->aggregate_at.line, 0);
	conf_free(&c);
}

/* ---- files ------------------------------------------------------------ */

static void test_file_good(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	conf_init(&c, SCHEMA);
	assert_int_equal(conf_load_file(&c, &NF, UNIT_DATA_DIR "/good.conf", err, sizeof err), 0);
	assert_int_equal(conf_finish(&c, &NF, err, sizeof err), 0);
	assert_string_equal(c.config_file, UNIT_DATA_DIR "/good.conf");
	assert_int_equal(c.nfacctd_port, 2200);
	assert_string_equal(c.nfacctd_ip, "127.0.0.1");
	assert_int_equal(c.nplugins, 2);
	assert_string_equal(plugin(&c, "all")->aggregate, "src_host, dst_host, proto");
	assert_string_equal(plugin(&c, "web")->aggregate, "dst_host, dst_port");
	assert_string_equal(plugin(&c, "all")->print_output, "formatted");
	assert_string_equal(plugin(&c, "web")->print_output, "json");
	assert_int_equal(plugin(&c, "all")->print_refresh_time, 30);
	assert_int_equal(plugin(&c, "web")->print_refresh_time, 30);
	assert_non_null(conf_notices(&c));
	assert_contains(conf_notices(&c), "plugin_pipe_size");
	assert_contains(conf_notices(&c), "good.conf:13");
	conf_free(&c);
}

static void test_file_crlf(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	conf_init(&c, SCHEMA);
	assert_int_equal(conf_load_file(&c, &NF, UNIT_DATA_DIR "/crlf.conf", err, sizeof err), 0);
	assert_int_equal(conf_finish(&c, &NF, err, sizeof err), 0);
	assert_int_equal(c.debug, 1);
	assert_int_equal(c.nfacctd_port, 2300);
	assert_string_equal(c.plugin[0].print_output, "csv");
	conf_free(&c);
}

static void test_file_bad_line(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	conf_init(&c, SCHEMA);
	assert_int_equal(conf_load_file(&c, &NF, UNIT_DATA_DIR "/bad_line.conf", err, sizeof err),
			 -1);
	assert_contains(err, "bad_line.conf:4:");
	assert_contains(err, "nfacctd_renormalize");
	assert_contains(err, "sometimes");
	conf_free(&c);

	conf_init(&c, SCHEMA);
	assert_int_equal(conf_load_file(&c, &NF, UNIT_DATA_DIR "/bad_named.conf", err, sizeof err),
			 0);
	assert_int_equal(conf_finish(&c, &NF, err, sizeof err), -1);
	assert_contains(err, "bad_named.conf:3:");
	assert_contains(err, "aggregate");
	assert_contains(err, "'b'");
	conf_free(&c);
}

static void test_file_missing(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	conf_init(&c, SCHEMA);
	assert_int_equal(
	    conf_load_file(&c, &NF, UNIT_DATA_DIR "/does-not-exist.conf", err, sizeof err), -1);
	assert_contains(err, "does-not-exist.conf");
	conf_free(&c);
}

static void test_file_empty_and_binary(void **state)
{
	(void)state;
	char path[] = "/tmp/netacct-conf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *fp = fdopen(fd, "w");
	assert_non_null(fp);
	fclose(fp); /* empty: fine, all defaults */
	struct conf c;
	char err[512];
	conf_init(&c, SCHEMA);
	assert_int_equal(conf_load_file(&c, &NF, path, err, sizeof err), 0);
	assert_int_equal(conf_finish(&c, &NF, err, sizeof err), 0);
	assert_int_equal(c.nfacctd_port, 2100);
	conf_free(&c);

	fp = fopen(path, "w");
	assert_non_null(fp);
	fwrite("debug: true\n\0\x01\x02", 1, 15, fp);
	fclose(fp);
	conf_init(&c, SCHEMA);
	assert_int_equal(conf_load_file(&c, &NF, path, err, sizeof err), -1);
	assert_contains(err, path);
	conf_free(&c);
	unlink(path);
}

/* ---- command line ----------------------------------------------------- */

static enum cli_result run_cli(struct conf *c, char **out_text, char *err, size_t errlen, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	va_start(ap, errlen);
	argv[argc++] = (char *)"nfacctd";
	for (const char *a; (a = va_arg(ap, const char *)) != NULL && argc < 31;)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	size_t len = 0;
	FILE *out = open_memstream(out_text, &len);
	assert_non_null(out);
	conf_init(c, SCHEMA);
	err[0] = '\0';
	enum cli_result r = cli_parse(argc, argv, c, &NF, out, err, errlen);
	fclose(out);
	return r;
}

static void test_cli_file_and_overrides(void **state)
{
	(void)state;
	struct conf c;
	char err[512], *out = NULL;
	assert_int_equal(run_cli(&c, &out, err, sizeof err, "-l", "3000", "-f",
				 UNIT_DATA_DIR "/good.conf", "-d", "-r", "15", "-L", "::1", NULL),
			 CLI_RUN);
	assert_int_equal(c.nfacctd_port, 3000); /* flag wins over the file's 2200 */
	assert_string_equal(c.nfacctd_ip, "::1");
	assert_int_equal(c.debug, 1);
	assert_int_equal(plugin(&c, "all")->print_refresh_time, 15);
	assert_int_equal(plugin(&c, "web")->print_refresh_time, 15);
	assert_string_equal(plugin(&c, "web")->print_output, "json"); /* from the file */
	conf_free(&c);
	free(out);

	out = NULL;
	assert_int_equal(run_cli(&c, &out, err, sizeof err, "-P", "print[x]", "-c",
				 "src_host,dst_port", "-O", "JSON", "-o", "/tmp/x.json", "-D", "-R",
				 "-F", "/tmp/x.pid", "-S", "daemon", NULL),
			 CLI_RUN);
	assert_int_equal(c.nplugins, 1);
	assert_string_equal(c.plugin[0].name, "x");
	assert_string_equal(c.plugin[0].aggregate, "src_host,dst_port");
	assert_string_equal(c.plugin[0].print_output, "json");
	assert_string_equal(c.plugin[0].print_output_file, "/tmp/x.json");
	assert_int_equal(c.daemonize, 1);
	assert_int_equal(c.nfacctd_renormalize, 1);
	assert_string_equal(c.pidfile, "/tmp/x.pid");
	assert_string_equal(c.syslog, "daemon");
	conf_free(&c);
	free(out);
}

static void test_cli_informational(void **state)
{
	(void)state;
	struct conf c;
	char err[512], *out = NULL;

	assert_int_equal(run_cli(&c, &out, err, sizeof err, "-h", NULL), CLI_EXIT_OK);
	assert_contains(out, "Usage");
	assert_contains(out, "-f");
	conf_free(&c);
	free(out);

	out = NULL;
	assert_int_equal(run_cli(&c, &out, err, sizeof err, "--help", NULL), CLI_EXIT_OK);
	assert_contains(out, "Usage");
	conf_free(&c);
	free(out);

	out = NULL;
	assert_int_equal(run_cli(&c, &out, err, sizeof err, "-V", NULL), CLI_EXIT_OK);
	assert_contains(out, "nfacctd");
	assert_contains(out, "netacct");
	conf_free(&c);
	free(out);

	out = NULL;
	assert_int_equal(run_cli(&c, &out, err, sizeof err, "-a", NULL), CLI_EXIT_OK);
	assert_contains(out, "src_host");
	assert_contains(out, "timestamp_start");
	assert_contains(out, "flows");
	conf_free(&c);
	free(out);
}

/*
 * A call that returns in the middle of an option cluster ("-ac..." stops at
 * -a) must not leave getopt positioned inside that argv: the next call used
 * to resume there (found by fuzz_conf; corpus regress-cli-getopt-stale-cluster).
 */
static void test_cli_reset_after_cluster(void **state)
{
	(void)state;
	struct conf c;
	char err[512], *out = NULL;

	assert_int_equal(run_cli(&c, &out, err, sizeof err, "-acpeer_src_ip", NULL), CLI_EXIT_OK);
	conf_free(&c);
	free(out);

	out = NULL;
	assert_int_equal(run_cli(&c, &out, err, sizeof err, "-c", "src_host", NULL), CLI_RUN);
	assert_int_equal(c.nplugins, 1);
	assert_string_equal(c.plugin[0].aggregate, "src_host");
	conf_free(&c);
	free(out);
}

static void test_cli_errors(void **state)
{
	(void)state;
	struct conf c;
	char err[512], *out = NULL;

	assert_int_equal(run_cli(&c, &out, err, sizeof err, "-Z", NULL), CLI_EXIT_ERR);
	assert_contains(err, "-Z");
	conf_free(&c);
	free(out);

	out = NULL;
	assert_int_equal(run_cli(&c, &out, err, sizeof err, "--bogus", NULL), CLI_EXIT_ERR);
	assert_contains(err, "bogus");
	conf_free(&c);
	free(out);

	out = NULL;
	assert_int_equal(run_cli(&c, &out, err, sizeof err, "-l", NULL), CLI_EXIT_ERR);
	conf_free(&c);
	free(out);

	out = NULL;
	assert_int_equal(run_cli(&c, &out, err, sizeof err, "-l", "70000", NULL), CLI_EXIT_ERR);
	assert_contains(err, "nfacctd_port");
	conf_free(&c);
	free(out);

	out = NULL;
	assert_int_equal(run_cli(&c, &out, err, sizeof err, "stray", NULL), CLI_EXIT_ERR);
	assert_contains(err, "stray");
	conf_free(&c);
	free(out);

	out = NULL;
	assert_int_equal(run_cli(&c, &out, err, sizeof err, "-f", UNIT_DATA_DIR "/nope.conf", NULL),
			 CLI_EXIT_ERR);
	assert_contains(err, "nope.conf");
	conf_free(&c);
	free(out);

	out = NULL;
	assert_int_equal(
	    run_cli(&c, &out, err, sizeof err, "-f", UNIT_DATA_DIR "/bad_line.conf", NULL),
	    CLI_EXIT_ERR);
	assert_contains(err, "bad_line.conf:4:");
	conf_free(&c);
	free(out);
}

static void test_cli_config_reference(void **state)
{
	(void)state;
	struct conf c;
	char err[512], *out = NULL;
	assert_int_equal(run_cli(&c, &out, err, sizeof err, "--config-reference", NULL),
			 CLI_EXIT_OK);
	const struct conf_key *tab[256];
	size_t n = all_keys(SCHEMA, tab, 256);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		char cell[128];
		snprintf(cell, sizeof cell, "| `%s` |", tab[i]->name);
		assert_contains(out, cell);
	}
	conf_free(&c);
	free(out);

	/* the same text as conf_write_reference() */
	char *direct = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&direct, &len);
	assert_int_equal(conf_write_reference(fp, SCHEMA), 0);
	fclose(fp);
	out = NULL;
	assert_int_equal(run_cli(&c, &out, err, sizeof err, "--config-reference", NULL),
			 CLI_EXIT_OK);
	assert_string_equal(out, direct);
	conf_free(&c);
	free(out);
	free(direct);
}

static void test_key_table_sane(void **state)
{
	(void)state;
	const struct conf_key *tab[256];
	size_t n = all_keys(SCHEMA, tab, 256);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(tab[i]->name);
		assert_non_null(tab[i]->def);
		assert_non_null(tab[i]->doc);
		for (const char *p = tab[i]->name; *p; p++)
			assert_false(*p >= 'A' && *p <= 'Z');
		/* one row per name in the whole schema */
		for (size_t j = 0; j < i; j++)
			assert_int_not_equal(strcasecmp(tab[i]->name, tab[j]->name), 0);
		if (tab[i]->type == CT_ENUM)
			assert_non_null(tab[i]->choices);
		if (tab[i]->type == CT_INT)
			assert_true(tab[i]->min <= tab[i]->max);
		/* every default must pass its own validation */
		if (tab[i]->def[0] && tab[i]->type != CT_OBSOLETE &&
		    (tab[i]->daemons & D_NFACCTD)) {
			struct conf c;
			char err[512], key[128];
			conf_init(&c, SCHEMA);
			if (tab[i]->scope == SCOPE_PLUGIN) {
				char inst[96];
				snprintf(inst, sizeof inst, "%s[x]", type_for(tab[i]));
				assert_int_equal(
				    conf_set(&c, &NF, "plugins", inst, err, sizeof err), 0);
				snprintf(key, sizeof key, "%s[x]", tab[i]->name);
			} else {
				snprintf(key, sizeof key, "%s", tab[i]->name);
			}
			assert_int_equal(conf_set(&c, &NF, key, tab[i]->def, err, sizeof err), 0);
			/* a check hook may want other keys too (cluster_id: cluster_name) */
			if (!tab[i]->check)
				assert_int_equal(conf_finish(&c, &NF, err, sizeof err), 0);
			conf_free(&c);
		}
	}
	/* an output type's own tables hold plugin keys only */
	for (size_t t = 0; out_plugin_types[t]; t++)
		for (size_t g = 0; out_plugin_types[t]->tables && out_plugin_types[t]->tables[g];
		     g++)
			for (size_t i = 0; i < out_plugin_types[t]->tables[g]->nkeys; i++)
				assert_int_equal(out_plugin_types[t]->tables[g]->keys[i].scope,
						 SCOPE_PLUGIN);
}

/* ---- module registry, type-scoped keys, hooks ------------------------- */

/*
 * A schema of its own, as a daemon with more output types would have: a
 * "kafka" type with keys of its own (one with a setter, one with a check),
 * and "mysql" and "pgsql" sharing one table, as the SQL types will.  The
 * test keys store into existing fields: only the parser is under test.
 */
#define TP(f) SCOPE_PLUGIN, offsetof(struct conf_plugin, f)
#define TG(f) SCOPE_GLOBAL, offsetof(struct conf, f)

static int set_topic(const struct conf_key *k, void *base, const char *v, char *why, size_t whylen)
{
	if (strchr(v, '/')) {
		snprintf(why, whylen, "'%s' has a '/'", v);
		return -1;
	}
	return conf_store_value(k, base, v, why, whylen);
}

static int check_topic(const struct conf *c, const void *base, const struct conf_where *at,
		       char *why, size_t whylen)
{
	const struct conf_plugin *p = base;
	(void)c;
	(void)at;
	if (!p->print_output_file) {
		snprintf(why, whylen, "must be set");
		return -1;
	}
	if (strcmp(p->print_output_file, "same") == 0 && strcmp(p->name, "k2") == 0) {
		snprintf(why, whylen, "'same' is taken");
		return -1;
	}
	return 0;
}

/* test_hi must not be below test_lo; records what it saw of where test_hi was set */
static int check_hi(const struct conf *c, const void *base, const struct conf_where *at, char *why,
		    size_t whylen)
{
	(void)base;
	if (c->nfacctd_max_templates < c->nfacctd_max_exporters) {
		snprintf(why, whylen, "%d is below test_lo (%d)%s", c->nfacctd_max_templates,
			 c->nfacctd_max_exporters, at->origin[0] ? "" : " by default");
		return -1;
	}
	return 0;
}

static const struct conf_key kafka_rows[] = {
    CONF_ROW("kafka_refresh_time", CT_INT, TP(print_refresh_time), D_ALL, "30", NULL, 1, 3600,
	     "test"),
    {"kafka_topic", CT_STRING, TP(print_output_file), D_ALL, "", NULL, 0, 0, "test", set_topic,
     check_topic},
};
static const struct conf_key sql_rows[] = {
    CONF_ROW("sql_refresh_time", CT_INT, TP(print_refresh_time), D_ALL, "120", NULL, 1, 3600,
	     "test"),
};
static const struct conf_key test_global_rows[] = {
    CONF_ROW("test_lo", CT_INT, TG(nfacctd_max_exporters), D_ALL, "10", NULL, 0, 1000, "test"),
    {"test_hi", CT_INT, TG(nfacctd_max_templates), D_ALL, "20", NULL, 0, 1000, "test", NULL,
     check_hi},
};
static const struct conf_key_table kafka_table = CONF_TABLE("kafka", "test kafka", kafka_rows);
static const struct conf_key_table sql_table = CONF_TABLE("sql", "test sql", sql_rows);
static const struct conf_key_table test_global_table =
    CONF_TABLE("test", "test globals", test_global_rows);
static const struct conf_key_table *const kafka_tables[] = {&kafka_table, NULL};
static const struct conf_key_table *const sql_tables[] = {&sql_table, NULL};
static const struct conf_plugin_type kafka_type = {"kafka", kafka_tables, 0};
static const struct conf_plugin_type mysql_type = {"mysql", sql_tables, 0};
static const struct conf_plugin_type pgsql_type = {"pgsql", sql_tables, 0};
static const struct conf_plugin_type *const test_types[] = {&out_print_module.conf, &kafka_type,
							    &mysql_type, &pgsql_type, NULL};
static const struct conf_key_table *const test_tables[] = {
    &conf_keys_core, &conf_keys_netflow, &conf_keys_plugin, &test_global_table, NULL};
static const struct conf_schema TEST_SCHEMA = {test_tables, test_types};

static int load_test(struct conf *c, const char *text, char *err, size_t errlen)
{
	conf_init(c, &TEST_SCHEMA);
	err[0] = '\0';
	if (conf_load_string(c, &NF, ORIGIN, text, err, errlen) < 0)
		return -1;
	return conf_finish(c, &NF, err, errlen);
}

static void test_registry_types(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	/* the parser takes the types of its schema, not a list of its own */
	assert_int_equal(load_test(&c,
				   "plugins: print[p], kafka[k], mysql[m], pgsql[g]\n"
				   "kafka_topic: flows\n",
				   err, sizeof err),
			 0);
	assert_int_equal(c.nplugins, 4);
	assert_string_equal(plugin(&c, "k")->type, "kafka");
	assert_ptr_equal(plugin(&c, "k")->ptype, &kafka_type);
	assert_ptr_equal(plugin(&c, "p")->ptype, &out_print_module.conf);
	/* each type gets its own keys' defaults (here they share one field) */
	assert_int_equal(plugin(&c, "p")->print_refresh_time, 60);
	assert_int_equal(plugin(&c, "k")->print_refresh_time, 30);
	assert_int_equal(plugin(&c, "m")->print_refresh_time, 120);
	assert_int_equal(plugin(&c, "g")->print_refresh_time, 120);
	/* print's own defaults do not reach other types; generic ones do */
	assert_null(plugin(&c, "k")->print_output);
	assert_string_equal(plugin(&c, "p")->print_output, "formatted");
	assert_int_equal(plugin(&c, "k")->flush_queue_size, 64);
	conf_free(&c);

	/* nfprobe outside the capture daemons: refused as pmacct does, naming where it runs */
	assert_int_equal(load(&c, &NF, "plugins: nfprobe[t]\n", err, sizeof err), -1);
	assert_contains(err,
			"plugin type 'nfprobe' runs only in pmacctd and uacctd, not in nfacctd");
	conf_free(&c);
	assert_int_equal(load(&c, &PM, "plugins: nfprobe[k]\n", err, sizeof err), 0);
	conf_free(&c);
	/* sfprobe is a type of the real schema, run by the packet daemons only */
	assert_int_equal(load(&c, &NF, "plugins: sfprobe[k]\n", err, sizeof err), -1);
	assert_contains(err, "plugin type 'sfprobe' runs only in pmacctd and uacctd");
	conf_free(&c);
	assert_int_equal(load(&c, &PM, "plugins: sfprobe[k]\n", err, sizeof err), 0);
	conf_free(&c);
	assert_int_equal(load(&c, &UA, "plugins: sfprobe[k]\n", err, sizeof err), 0);
	conf_free(&c);

	/* the registry: every type of the real schema is a module found by its name */
	assert_ptr_equal(out_module_find("print"), &out_print_module);
	assert_ptr_equal(out_module_find("sfprobe"), &out_sfprobe_module);
	assert_ptr_equal(out_module_find("nfprobe"), &out_nfprobe_module);
	assert_null(out_module_find(""));
	for (size_t i = 0; out_plugin_types[i]; i++) {
		const struct out_module *m = out_module_find(out_plugin_types[i]->type);
		assert_non_null(m);
		assert_ptr_equal(&m->conf, out_plugin_types[i]);
		assert_ptr_equal(conf_schema_type(SCHEMA, m->conf.type), &m->conf);
	}
}

static void test_key_of_other_type_named(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	assert_int_equal(load_test(&c,
				   "plugins: print[p], kafka[x]\n"
				   "kafka_topic: t\n"
				   "print_refresh_time[x]: 10\n",
				   err, sizeof err),
			 -1);
	assert_string_equal(err, ORIGIN ":3: key 'print_refresh_time' does not apply to plugin 'x' "
					"of type 'kafka'");
	conf_free(&c);
	/* the other way round, and a shared table's key on a type without it */
	assert_int_equal(
	    load_test(&c, "kafka_refresh_time[p]: 10\nplugins: print[p]\n", err, sizeof err), -1);
	assert_string_equal(
	    err,
	    ORIGIN ":1: key 'kafka_refresh_time' does not apply to plugin 'p' of type 'print'");
	conf_free(&c);
	assert_int_equal(load_test(&c,
				   "plugins: kafka[k]\nkafka_topic: t\nsql_refresh_time[k]: 5\n",
				   err, sizeof err),
			 -1);
	assert_contains(err, ORIGIN ":3:");
	assert_contains(err, "'sql_refresh_time'");
	assert_contains(err, "'kafka'");
	conf_free(&c);
	/* the same named keys on instances of the right type */
	assert_int_equal(load_test(&c,
				   "plugins: print[p], kafka[x], pgsql[g]\n"
				   "kafka_topic: t\n"
				   "print_refresh_time[p]: 10\n"
				   "kafka_refresh_time[x]: 11\n"
				   "sql_refresh_time[g]: 12\n",
				   err, sizeof err),
			 0);
	assert_int_equal(plugin(&c, "p")->print_refresh_time, 10);
	assert_int_equal(plugin(&c, "x")->print_refresh_time, 11);
	assert_int_equal(plugin(&c, "g")->print_refresh_time, 12);
	conf_free(&c);
}

static void test_key_of_other_type_unnamed(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	/* unnamed: each key reaches the instances of the types that own it, in any order */
	assert_int_equal(load_test(&c,
				   "kafka_refresh_time: 5\n"
				   "print_refresh_time: 7\n"
				   "sql_refresh_time: 9\n"
				   "kafka_topic: t\n"
				   "plugins: kafka[k], print[p], mysql[m], pgsql[g]\n",
				   err, sizeof err),
			 0);
	assert_int_equal(plugin(&c, "k")->print_refresh_time, 5);
	assert_int_equal(plugin(&c, "p")->print_refresh_time, 7);
	assert_int_equal(plugin(&c, "m")->print_refresh_time, 9);
	assert_int_equal(plugin(&c, "g")->print_refresh_time, 9);
	assert_null(plugin(&c, "p")->print_output_file); /* kafka_topic is not print's */
	assert_null(conf_notices(&c));
	conf_free(&c);

	/* no instance of the owning type: ignored with a notice naming line, key and type */
	assert_int_equal(load_test(&c,
				   "plugins: print[p]\n"
				   "kafka_refresh_time: 5\n"
				   "sql_refresh_time: 9\n",
				   err, sizeof err),
			 0);
	assert_int_equal(plugin(&c, "p")->print_refresh_time, 60);
	const char *n = conf_notices(&c);
	assert_contains(n, ORIGIN ":2: key 'kafka_refresh_time' ignored: no plugin of type kafka");
	assert_contains(n, ORIGIN ":3: key 'sql_refresh_time' ignored: no plugin of type mysql, "
				  "pgsql");
	conf_free(&c);

	/* the real schema: print keys with no print plugin cannot happen yet (print is the
	 * only type), but a print key still reaches the default plugin */
	assert_int_equal(load(&c, &NF, "print_refresh_time: 15\n", err, sizeof err), 0);
	assert_int_equal(c.plugin[0].print_refresh_time, 15);
	assert_null(conf_notices(&c));
	conf_free(&c);
}

static void test_setter_hook(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	/* a plugin key's setter runs where the key is set: before `plugins` is known */
	assert_int_equal(
	    load_test(&c, "debug: true\nkafka_topic[k]: a/b\nplugins: kafka[k]\n", err, sizeof err),
	    -1);
	assert_string_equal(err, ORIGIN ":2: key 'kafka_topic': 'a/b' has a '/'");
	conf_free(&c);
	assert_int_equal(
	    load_test(&c, "plugins: kafka[k]\nkafka_topic: flows.acct\n", err, sizeof err), 0);
	assert_string_equal(plugin(&c, "k")->print_output_file, "flows.acct");
	conf_free(&c);
	/* nfacctd_ip: the real schema's setter (a literal address) */
	assert_int_equal(load(&c, &NF, "nfacctd_ip: 192.0.2.1\n", err, sizeof err), 0);
	assert_string_equal(c.nfacctd_ip, "192.0.2.1");
	conf_free(&c);
}

static void test_check_hook_plugin(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	/* never set: reported as the default */
	assert_int_equal(load_test(&c, "plugins: kafka[k]\n", err, sizeof err), -1);
	assert_string_equal(err, "default: key 'kafka_topic[k]': must be set");
	conf_free(&c);
	/* the place an instance got its value from: the named line wins over the unnamed one */
	assert_int_equal(load_test(&c,
				   "plugins: kafka[k1], kafka[k2]\n"
				   "kafka_topic: same\n"
				   "kafka_topic[k1]: other\n",
				   err, sizeof err),
			 -1);
	assert_string_equal(err, ORIGIN ":2: key 'kafka_topic[k2]': 'same' is taken");
	conf_free(&c);
	assert_int_equal(load_test(&c,
				   "plugins: kafka[k1], kafka[k2]\n"
				   "kafka_topic: a\n"
				   "kafka_topic[k2]: same\n",
				   err, sizeof err),
			 -1);
	assert_string_equal(err, ORIGIN ":3: key 'kafka_topic[k2]': 'same' is taken");
	conf_free(&c);
	/* a check runs for the instances its key applies to only */
	assert_int_equal(load_test(&c, "plugins: print[p]\n", err, sizeof err), 0);
	conf_free(&c);
}

static void test_check_hook_global(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	assert_int_equal(load_test(&c, "plugins: print\ntest_hi: 5\n", err, sizeof err), -1);
	assert_string_equal(err, ORIGIN ":2: key 'test_hi': 5 is below test_lo (10)");
	conf_free(&c);
	/* the check runs after everything is parsed: a later test_lo counts */
	assert_int_equal(load_test(&c, "test_hi: 5\ntest_lo: 4\n", err, sizeof err), 0);
	conf_free(&c);
	/* a check on a key left at its default is reported as such */
	assert_int_equal(load_test(&c, "test_lo: 30\n", err, sizeof err), -1);
	assert_string_equal(err, "default: key 'test_hi': 20 is below test_lo (30) by default");
	conf_free(&c);
	conf_init(&c, &TEST_SCHEMA);
	assert_int_equal(conf_set(&c, &NF, "test_hi", "1", err, sizeof err), 0);
	assert_int_equal(conf_finish(&c, &NF, err, sizeof err), -1);
	assert_string_equal(err, "command line: key 'test_hi': 1 is below test_lo (10)");
	conf_free(&c);
}

static void test_cluster_keys(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	assert_int_equal(load(&c, &NF, "cluster_name: edge\ncluster_id: 3\n", err, sizeof err), 0);
	assert_string_equal(c.cluster_name, "edge");
	assert_int_equal(c.cluster_id, 3);
	conf_free(&c);
	assert_int_equal(load(&c, &NF, "cluster_name: edge\n", err, sizeof err), 0);
	assert_int_equal(c.cluster_id, 0);
	conf_free(&c);
	/* cluster_id alone numbers nothing */
	assert_int_equal(load(&c, &NF, "debug: true\ncluster_id: 3\n", err, sizeof err), -1);
	assert_string_equal(err, ORIGIN ":2: key 'cluster_id': needs cluster_name");
	conf_free(&c);
	static const struct bad_case bad[] = {
	    {"cluster_id: -1\n", 1, "cluster_id", "range"},
	    {"cluster_id: 65536\n", 1, "cluster_id", "range"},
	    {"cluster_name:\n", 1, "cluster_name", "no value"},
	    {"cluster_name[a]: x\n", 1, "cluster_name", "global"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		check_bad(&NF, &bad[i]);
}

static void test_new_keys_defaults_and_bounds(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	assert_int_equal(load(&c, &NF, "", err, sizeof err), 0);
	assert_int_equal(c.maps_refresh, 1);
	assert_null(c.cluster_name);
	assert_int_equal(c.cluster_id, 0);
	assert_null(c.pcap_savefile);
	assert_int_equal(c.pcap_savefile_wait, 0);
	assert_int_equal(c.pcap_savefile_delay, 0);
	assert_int_equal(c.pcap_savefile_replay, 1);
	assert_null(c.pcap_filter);
	assert_null(conf_where_set(&c, "pcap_savefile"));
	conf_free(&c);

	assert_int_equal(load(&c, &NF,
			      "maps_refresh: false\n"
			      "pcap_savefile: /tmp/x.pcap\n"
			      "pcap_savefile_wait: true\n"
			      "pcap_savefile_delay: 86400\n"
			      "pcap_savefile_replay: 3\n"
			      "pcap_filter: udp and ! port 53\n",
			      err, sizeof err),
			 0);
	assert_int_equal(c.maps_refresh, 0);
	assert_string_equal(c.pcap_savefile, "/tmp/x.pcap");
	assert_int_equal(c.pcap_savefile_wait, 1);
	assert_int_equal(c.pcap_savefile_delay, 86400);
	assert_int_equal(c.pcap_savefile_replay, 3);
	assert_string_equal(c.pcap_filter, "udp and ! port 53");
	/* for errors found later (a file that cannot be read) to name the line */
	const struct conf_where *at = conf_where_set(&c, "pcap_savefile");
	assert_non_null(at);
	assert_string_equal(at->origin, ORIGIN);
	assert_int_equal(at->line, 2);
	assert_int_equal(conf_where_set(&c, "PCAP_FILTER")->line, 6);
	assert_null(conf_where_set(&c, "no_such_key"));
	conf_free(&c);

	static const struct bad_case bad[] = {
	    {"pcap_savefile_replay: 0\n", 1, "pcap_savefile_replay", "range"},
	    {"pcap_savefile_replay: 1048577\n", 1, "pcap_savefile_replay", "range"},
	    {"pcap_savefile_delay: -1\n", 1, "pcap_savefile_delay", "range"},
	    {"pcap_savefile_delay: 86401\n", 1, "pcap_savefile_delay", "range"},
	    {"pcap_savefile_wait: sometimes\n", 1, "pcap_savefile_wait", "sometimes"},
	    {"maps_refresh: 2\n", 1, "maps_refresh", NULL},
	    {"pcap_savefile[a]: x\nplugins: print[a]\n", 1, "pcap_savefile", "global"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		check_bad(&NF, &bad[i]);

	/* capture keys: nfacctd, sfacctd and pmacctd have them, uacctd not (as in pmacct) */
	assert_int_equal(load(&c, &SF, "pcap_savefile: /tmp/x.pcap\n", err, sizeof err), 0);
	conf_free(&c);
	static const struct bad_case ua = {"pcap_savefile: /tmp/x.pcap\n", 1, "pcap_savefile",
					   "uacctd"};
	check_bad(&UA, &ua);
	/* nfacctd_* keys stay nfacctd's */
	static const struct bad_case sf = {"nfacctd_time_new: true\n", 1, "nfacctd_time_new",
					   "sfacctd"};
	check_bad(&SF, &sf);
}

static void test_cli_capture_flags(void **state)
{
	(void)state;
	struct conf c;
	char err[512], *out = NULL;
	assert_int_equal(run_cli(&c, &out, err, sizeof err, "-I", "/tmp/a.pcap", "-W", "-Z", "2",
				 "-Y", "3", NULL),
			 CLI_RUN);
	assert_string_equal(c.pcap_savefile, "/tmp/a.pcap");
	assert_int_equal(c.pcap_savefile_wait, 1);
	assert_int_equal(c.pcap_savefile_delay, 2);
	assert_int_equal(c.pcap_savefile_replay, 3);
	assert_string_equal(conf_where_set(&c, "pcap_savefile")->origin, "command line");
	conf_free(&c);
	free(out);
	out = NULL;
	assert_int_equal(run_cli(&c, &out, err, sizeof err, "-Y", "0", NULL), CLI_EXIT_ERR);
	assert_contains(err, "pcap_savefile_replay");
	conf_free(&c);
	free(out);
}

/* Flags exist for the keys the daemon's schema has, no others. */
static void test_cli_flags_follow_schema(void **state)
{
	(void)state;
	struct conf c;
	char err[512], *out = NULL;
	size_t len = 0;
	char *argv_i[] = {(char *)"nfacctd", (char *)"-I", (char *)"/tmp/a.pcap", NULL};
	char *argv_h[] = {(char *)"nfacctd", (char *)"-h", NULL};
	FILE *fp = open_memstream(&out, &len);
	conf_init(&c, &TEST_SCHEMA); /* no capture keys */
	assert_int_equal(cli_parse(3, argv_i, &c, &NF, fp, err, sizeof err), CLI_EXIT_ERR);
	assert_contains(err, "-I");
	conf_free(&c);
	conf_init(&c, &TEST_SCHEMA);
	assert_int_equal(cli_parse(2, argv_h, &c, &NF, fp, err, sizeof err), CLI_EXIT_OK);
	fclose(fp);
	assert_contains(out, "(nfacctd_port)");
	assert_null(strstr(out, "pcap_savefile"));
	conf_free(&c);
	free(out);
	/* a key of another daemon is no flag either: -L is nfacctd_ip, nfacctd's */
	char *argv_l[] = {(char *)"sfacctd", (char *)"-L", (char *)"::1", NULL};
	out = NULL;
	fp = open_memstream(&out, &len);
	conf_init(&c, SCHEMA);
	assert_int_equal(cli_parse(3, argv_l, &c, &SF, fp, err, sizeof err), CLI_EXIT_ERR);
	assert_contains(err, "-L");
	fclose(fp);
	conf_free(&c);
	free(out);
}

/* The core learns refresh time, history and table size from the module's own keys. */
static void test_instance_from_module_keys(void **state)
{
	(void)state;
	struct conf c;
	char err[512];
	assert_int_equal(load(&c, &NF,
			      "plugins: print[a], print[b]\n"
			      "aggregate: src_host\n"
			      "print_refresh_time[a]: 15\n"
			      "print_history[a]: 5m\n"
			      "print_cache_entries[a]: 1000\n",
			      err, sizeof err),
			 0);
	struct out_instance oi;
	assert_int_equal(out_instance_init(&oi, &c, plugin(&c, "a"), NULL, NULL, err, sizeof err),
			 0);
	assert_ptr_equal(oi.mod, &out_print_module);
	assert_int_equal(oi.refresh, 15);
	assert_int_equal(oi.history, 300);
	assert_int_equal(oi.cache_entries, 1000);
	assert_int_equal(out_instance_init(&oi, &c, plugin(&c, "b"), NULL, NULL, err, sizeof err),
			 0);
	assert_int_equal(oi.refresh, 60);
	assert_int_equal(oi.history, 0);
	assert_int_equal(oi.cache_entries, 16411);
	conf_free(&c);
}

static void test_reference_by_module(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	assert_non_null(fp);
	assert_int_equal(conf_write_reference(fp, SCHEMA), 0);
	fclose(fp);
	/* one section per table, in the schema's order, each key in its module's section */
	const char *core = strstr(text, "\n## core\n"), *nf = strstr(text, "\n## netflow\n"),
		   *pcap = strstr(text, "\n## pcap\n"), *gen = strstr(text, "\n## plugin\n"),
		   *obs = strstr(text, "\n## obsolete\n"), *print = strstr(text, "\n## print\n");
	assert_non_null(core);
	assert_true(core < nf && nf < pcap && pcap < gen && gen < obs && obs < print);
	const char *row = strstr(text, "| `print_refresh_time` |");
	assert_true(row > print);
	assert_contains(row, "| plugin (print) |");
	assert_true(strstr(text, "| `nfacctd_port` |") > nf);
	assert_true(strstr(text, "| `nfacctd_port` |") < pcap);
	assert_true(strstr(text, "| `cluster_name` |") > core);
	assert_true(strstr(text, "| `cluster_name` |") < nf);
	assert_true(strstr(text, "| `aggregate` |") > gen);
	free(text);

	/* a shared table is written once, under the types that own it */
	text = NULL;
	fp = open_memstream(&text, &len);
	assert_int_equal(conf_write_reference(fp, &TEST_SCHEMA), 0);
	fclose(fp);
	const char *sql = strstr(text, "\n## sql\n");
	assert_non_null(sql);
	assert_null(strstr(sql + 1, "\n## sql\n"));
	assert_contains(sql, "Plugin type: mysql, pgsql.");
	assert_contains(text, "| `sql_refresh_time` | integer [1..3600] | `120` | plugin (mysql, "
			      "pgsql) |");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_globals_comments_case),
	    cmocka_unit_test(test_value_with_bang_and_colon),
	    cmocka_unit_test(test_bool_spellings),
	    cmocka_unit_test(test_enum_lowercased),
	    cmocka_unit_test(test_plugins_declared),
	    cmocka_unit_test(test_every_plugin_key_unnamed),
	    cmocka_unit_test(test_every_plugin_key_named),
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_named_wins_regardless_of_order),
	    cmocka_unit_test(test_plugins_key_after_plugin_keys),
	    cmocka_unit_test(test_obsolete_key_notice),
	    cmocka_unit_test(test_conf_set),
	    cmocka_unit_test(test_bad_lines),
	    cmocka_unit_test(test_key_for_other_daemon),
	    cmocka_unit_test(test_bad_plugins),
	    cmocka_unit_test(test_too_many_plugins),
	    cmocka_unit_test(test_bad_plugins_name_file_and_line),
	    cmocka_unit_test(test_bad_nfacctd_ip),
	    cmocka_unit_test(test_bad_nfacctd_ip_names_file_and_line),
	    cmocka_unit_test(test_aggregate_where_recorded),
	    cmocka_unit_test(test_file_good),
	    cmocka_unit_test(test_file_crlf),
	    cmocka_unit_test(test_file_bad_line),
	    cmocka_unit_test(test_file_missing),
	    cmocka_unit_test(test_file_empty_and_binary),
	    cmocka_unit_test(test_cli_file_and_overrides),
	    cmocka_unit_test(test_cli_informational),
	    cmocka_unit_test(test_cli_reset_after_cluster),
	    cmocka_unit_test(test_cli_errors),
	    cmocka_unit_test(test_cli_config_reference),
	    cmocka_unit_test(test_key_table_sane),
	    cmocka_unit_test(test_registry_types),
	    cmocka_unit_test(test_key_of_other_type_named),
	    cmocka_unit_test(test_key_of_other_type_unnamed),
	    cmocka_unit_test(test_setter_hook),
	    cmocka_unit_test(test_check_hook_plugin),
	    cmocka_unit_test(test_check_hook_global),
	    cmocka_unit_test(test_cluster_keys),
	    cmocka_unit_test(test_new_keys_defaults_and_bounds),
	    cmocka_unit_test(test_cli_capture_flags),
	    cmocka_unit_test(test_cli_flags_follow_schema),
	    cmocka_unit_test(test_instance_from_module_keys),
	    cmocka_unit_test(test_reference_by_module),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
