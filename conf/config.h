/*
 * Configuration: pmacct-compatible syntax driven by one table of keys.
 *
 *   key: value            global, or every plugin instance for plugin keys
 *   key[name]: value      one plugin instance (declared in `plugins:`)
 *   ! comment
 *
 * The key table (conf/keys.c) gives each key its type, default, scope and the
 * daemons that accept it; parsing, validation, the command line and
 * docs/CONFIG-KEYS.md all come from that table.
 */
#ifndef NETACCT_CONF_CONFIG_H
#define NETACCT_CONF_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONF_MAX_PLUGINS 16
#define CONF_NAME_MAX	 64
#define CONF_ORIGIN_MAX	 256

/* Where a key was set: a file name or "command line", and the line (0: none). */
struct conf_where {
	char origin[CONF_ORIGIN_MAX];
	unsigned line;
};

enum conf_type {
	CT_BOOL,
	CT_INT, /* signed, with min/max */
	CT_STRING,
	CT_ENUM,     /* one of the '|' separated values in `choices` */
	CT_LIST,     /* free-form comma separated list, stored as text */
	CT_OBSOLETE, /* accepted, ignored, with a one-line notice */
	CT_DURATION, /* "<n>[smhdw]", stored as seconds (int) */
};

enum conf_scope {
	SCOPE_GLOBAL,
	SCOPE_PLUGIN,
};

/* Daemons, as a bitmask, for keys that only some of them accept. */
#define D_NFACCTD    0x01u
#define D_SFACCTD    0x02u
#define D_PMACCTD    0x04u
#define D_UACCTD     0x08u
#define D_COLLECTORS (D_NFACCTD | D_SFACCTD | D_PMACCTD | D_UACCTD)
#define D_ALL	     0xffu

struct conf_plugin {
	char name[CONF_NAME_MAX]; /* instance name; "default" when unnamed */
	char type[CONF_NAME_MAX]; /* print, kafka, ... */

	char *aggregate;
	struct conf_where aggregate_at; /* origin "" when `aggregate` was not set */
	char *print_output;		/* json | csv | formatted */
	char *print_output_file;
	int print_output_file_append;
	char *print_output_separator;
	int print_refresh_time;
	int print_history; /* seconds; 0 = no time bins */
	char *print_history_roundoff;
	int print_cache_entries;
	int print_markers;
	int print_write_empty_file;

	int tcpflags_encode_as_array;
	int fwd_status_encode_as_string;
	int mpls_label_stack_encode_as_array;
	int timestamps_secs;
	int timestamps_since_epoch;
	int timestamps_utc;
	int flush_queue_size;  /* netacct: intervals a writer may fall behind */
	int cache_max_entries; /* netacct: per-worker table cap (0: unbounded) */
};

struct conf {
	/* daemon */
	int daemonize;
	char *pidfile;
	char *logfile;
	char *syslog;
	int debug;
	char *config_file;

	/* reactor */
	int reactor_workers; /* 0: number of online CPUs */
	char *nfacctd_ip;
	struct conf_where nfacctd_ip_at;
	int nfacctd_port;
	int nfacctd_pipe_size; /* SO_RCVBUF bytes, 0: kernel default */
	int reactor_batch;     /* datagrams per recvmmsg */

	/* NetFlow/IPFIX */
	int nfacctd_renormalize;
	int nfacctd_time_new;
	int nfacctd_time_secs;
	char *nfacctd_templates_file;
	int nfacctd_disable_opt_scope_check;
	char *sampling_map;
	char *aggregate_primitives;
	int log_rate_limit;
	int nfacctd_max_exporters; /* per worker */
	int nfacctd_max_templates; /* per worker, all exporters */
	/* per worker */	   /* malformed-input log lines per exporter per minute */

	char *plugins;
	struct conf_where plugins_at; /* where `plugins` was last set, for conf_finish errors */
	struct conf_plugin plugin[CONF_MAX_PLUGINS];
	unsigned nplugins;

	/* parse state: plugin-scoped settings wait for `plugins` to be known */
	struct conf_pending *pending;
	size_t npending;
	char *notices;
};

struct conf_key {
	const char *name;
	enum conf_type type;
	enum conf_scope scope;
	size_t off; /* into struct conf or struct conf_plugin by scope */
	unsigned daemons;
	const char *def;     /* default, as text ("" = none) */
	const char *choices; /* CT_ENUM values, '|' separated */
	long min, max;	     /* CT_INT bounds */
	const char *doc;
};

/* The key table and its length. */
const struct conf_key *conf_keys(size_t *n);

/* Which daemon is parsing (D_* bit) and how it is called in messages. */
struct conf_daemon {
	unsigned bit;
	const char *name;
};

/*
 * Fill c with defaults.  Then conf_load_file() reads a file, and
 * conf_set() applies one key (command line).  conf_finish() declares the
 * plugin instances and validates cross-key rules.  All return 0 or -1
 * with a message naming file, line and key in err.
 */
void conf_init(struct conf *c);
int conf_load_file(struct conf *c, const struct conf_daemon *d, const char *path, char *err,
		   size_t errlen);
int conf_load_string(struct conf *c, const struct conf_daemon *d, const char *origin,
		     const char *text, char *err, size_t errlen);
int conf_set(struct conf *c, const struct conf_daemon *d, const char *key, const char *value,
	     char *err, size_t errlen);
int conf_finish(struct conf *c, const struct conf_daemon *d, char *err, size_t errlen);
void conf_free(struct conf *c);

/* Write the Markdown key reference (docs/CONFIG-KEYS.md) to fp. */
int conf_write_reference(FILE *fp);

/* Notices (obsolete keys) collected while parsing, one per line; NULL if none. */
const char *conf_notices(const struct conf *c);

#endif
