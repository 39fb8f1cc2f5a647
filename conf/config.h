/*
 * Configuration: pmacct-compatible syntax driven by tables of keys.
 *
 *   key: value            global, or every plugin instance for plugin keys
 *   key[name]: value      one plugin instance (declared in `plugins:`)
 *   ! comment
 *
 * Keys come in tables (struct conf_key_table), one per module: the core's
 * (conf/keys.h), each input's (conf_keys_netflow, conf_keys_pcap) and each
 * output type's own plugin keys (struct conf_plugin_type, contributed by the
 * output module).  A daemon's schema (struct conf_schema) lists the tables it
 * accepts and the output types it can run; parsing, validation, defaults,
 * the command line and docs/CONFIG-KEYS.md all come from it.
 *
 * Plugin-scoped keys are either generic (a table in schema->tables: they apply
 * to every plugin type) or a type's own (a table of a conf_plugin_type: they
 * apply to instances of that type only).  For a type's own key:
 *   key[name]: v   with `name` of another type   -> error naming key and type;
 *   key: v         applies to the instances of the types that own the key;
 *                  when no such instance exists, it is ignored with a notice
 *                  (pmacct configs often carry keys of plugins not running).
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

struct conf_plugin_type;
struct conf_schema;

struct conf_plugin {
	char name[CONF_NAME_MAX];	      /* instance name; "default" when unnamed */
	char type[CONF_NAME_MAX];	      /* print, kafka, ... */
	const struct conf_plugin_type *ptype; /* the schema's entry for `type` */

	/* generic plugin keys (conf_keys_plugin) */
	char *aggregate;
	struct conf_where aggregate_at; /* origin "" when `aggregate` was not set */
	int tcpflags_encode_as_array;
	int fwd_status_encode_as_string;
	int mpls_label_stack_encode_as_array;
	int timestamps_secs;
	int timestamps_since_epoch;
	int timestamps_utc;
	int flush_queue_size;  /* netacct: intervals a writer may fall behind */
	int cache_max_entries; /* netacct: per-worker table cap (0: unbounded) */

	/* enrichment encodings (conf/keys_enrich.c) */
	int num_protos;		/* print_num_protos: proto as a number */
	int tos_encode_as_dscp; /* tos as DSCP (the top six bits) */
	char *ports_file;	/* only these ports, others 0 */
	char *protos_file;	/* only these protocols, others 0 */
	char *tos_file;		/* only these ToS values, others 0 */

	/* print's own keys (out/print.c); left zero for other types */
	char *print_output; /* json | csv | formatted */
	char *print_output_file;
	int print_output_file_append;
	char *print_output_separator;
	int print_refresh_time;
	int print_history; /* seconds; 0 = no time bins */
	char *print_history_roundoff;
	int print_cache_entries;
	int print_markers;
	int print_write_empty_file;
	int print_history_offset; /* seconds */
	char *print_latest_file;
	char *print_trigger_exec;
	int print_write_retry; /* netacct: purges a failed write is retried for */

	/* tee's own keys (out/tee.c) */
	char *tee_receivers;
	int tee_transparent;
	char *tee_source_ip;
	int tee_pipe_size;
	int tee_max_receivers;
	int tee_max_receiver_pools;
	char *tee_kafka_config_file;

	/* nfprobe's own keys (out/nfprobe.c) */
	char *nfprobe_receiver;
	int nfprobe_version;
	char *nfprobe_engine;
	char *nfprobe_timeouts;
	int nfprobe_maxflows;
	int nfprobe_hoplimit;
	int nfprobe_ipprec;
	char *nfprobe_source_ip;
	char *nfprobe_direction;
	char *nfprobe_ifindex;
	int nfprobe_ifindex_override;
	int nfprobe_dont_cache;
	int nfprobe_mtu;

	/* kafka's own keys (out/kafka.c) */
	char *kafka_broker_host;
	int kafka_broker_port;
	char *kafka_topic;
	int kafka_topic_rr;
	int kafka_partition;
	int kafka_partition_dynamic;
	char *kafka_partition_key;
	char *kafka_config_file;
	int kafka_refresh_time;
	int kafka_history;
	char *kafka_history_roundoff;
	char *kafka_output;
	int kafka_markers;
	int kafka_max_writers;
	int kafka_cache_entries;
	char *kafka_spool_dir;
	int kafka_spool_max_size; /* MiB */

	/* tagging and filters (conf_keys_tagging, agg/tagging.h) */
	char *pre_tag_map;
	char *aggregate_filter;
	char *pre_tag_filter, *pre_tag2_filter, *pre_tag_label_filter;
	char *post_tag, *post_tag2;
	int pre_tag_label_encode_as_map;
	char *writer_id_string;
	/* amqp's own keys (out/amqp.c) */
	char *amqp_host;
	int amqp_port;
	char *amqp_vhost;
	char *amqp_user;
	char *amqp_passwd;
	char *amqp_exchange;
	char *amqp_exchange_type;
	char *amqp_routing_key;
	int amqp_routing_key_rr;
	int amqp_persistent_msg;
	int amqp_frame_max;
	int amqp_heartbeat_interval;
	char *amqp_output;
	int amqp_refresh_time;
	int amqp_history;
	char *amqp_history_roundoff;
	int amqp_markers;
	int amqp_cache_entries;
	char *amqp_spool_dir;
	int amqp_spool_max_size; /* MiB */

	/* the Avro encodings of kafka and amqp (out/avro.c) */
	char *avro_schema_file;

	/* redis's own keys (out/redis.c) */
	char *redis_host;
	int redis_port;
	int redis_db;
	char *redis_user;
	char *redis_password;
	char *redis_key;
	char *redis_output;
	int redis_stream_maxlen;
	int redis_ttl;
	int redis_refresh_time;
	int redis_history;
	int redis_cache_entries;
	char *redis_spool_dir;
	int redis_spool_max_size; /* MiB */

	/* memory's own keys (out/memory.c) */
	char *imt_path;
	int imt_buckets;
	int imt_mem_pools_number;
	int imt_mem_pools_size;
	int imt_max_entries;
	int imt_refresh_time;
	int imt_cache_entries;

	/* the SQL outputs' keys (out/sql.c: sqlite3, pgsql, mysql) */
	char *sql_host;
	int sql_port;
	char *sql_user;
	char *sql_passwd;
	char *sql_db;
	char *sql_table;
	int sql_table_version;
	char *sql_table_schema;
	int sql_refresh_time;
	int sql_history; /* seconds */
	char *sql_history_roundoff;
	int sql_cache_entries;
	int sql_dont_try_update;
	int sql_multi_values;
	int sql_use_copy;
	int sql_optimize_clauses;
	int sql_num_hosts;
	int sql_startup_delay;
	char *sql_trigger_exec;
	int sql_trigger_time;
	char *sql_recovery_backup_host;
	int sql_backlog_rows; /* netacct: rows kept while the database is down */

	/* sfprobe's own keys (out/sfprobe.c) */
	char *sfprobe_receiver;
	char *sfprobe_agentip;
	int sfprobe_agentsubid;
	char *sfprobe_source_ip;
	int sfprobe_ipprec;
	char *sfprobe_ifspeed; /* bit/s, a 64-bit number as text */
	char *sfprobe_direction;
	char *sfprobe_ifindex;
	int sfprobe_ifindex_override;
	int sfprobe_sampling_rate; /* netacct: the probe's own 1-in-N */
	int sfprobe_mtu;	   /* netacct */
};

struct conf {
	const struct conf_schema *schema; /* the keys this daemon accepts (conf_init) */

	/* daemon */
	int daemonize;
	char *pidfile;
	char *logfile;
	char *syslog;
	int debug;
	char *config_file;
	int maps_refresh;     /* reload maps on SIGUSR2 */
	char *flow_to_rd_map; /* flow_to_rd_map (agg/flow_to_rd.h) */
	char *cluster_name;   /* set: instances may share the listening port */
	int cluster_id;

	/* reactor */
	int reactor_workers;	 /* 0: number of online CPUs */
	int reactor_batch;	 /* datagrams per recvmmsg */
	int log_rate_limit;	 /* malformed-input log lines per exporter per minute */
	char *metrics_listen;	 /* "ip:port" of the Prometheus endpoint, "" = none */
	char *stats_file;	 /* JSON counters file, "" = none */
	int stats_file_interval; /* seconds between stats_file writes */

	/* NetFlow/IPFIX input (conf_keys_netflow) */
	char *nfacctd_ip;
	int nfacctd_port;
	int nfacctd_pipe_size; /* SO_RCVBUF bytes, 0: kernel default */
	int nfacctd_renormalize;
	int nfacctd_time_new;
	int nfacctd_time_secs;
	char *nfacctd_templates_file;
	int nfacctd_disable_opt_scope_check;
	char *sampling_map;
	int nfacctd_max_exporters; /* per worker */
	int nfacctd_max_templates; /* per worker, all exporters */
	int nfacctd_pro_rating;	   /* split flows over the time bins they span */
	int nfacctd_stitching;	   /* timestamp_min/timestamp_max per row */

	/* sFlow input (conf_keys_sflow) */
	char *sfacctd_ip;
	int sfacctd_port;
	int sfacctd_pipe_size; /* SO_RCVBUF bytes, 0: kernel default */
	int sfacctd_renormalize;
	int sfacctd_time_new;
	int sfacctd_ext_sampling_rate; /* 0: none */
	char *sfacctd_counter_file;
	char *sfacctd_counter_output;
	int sfacctd_max_agents; /* per worker */

	/* capture input (conf_keys_pcap) */
	char *pcap_savefile;
	int pcap_savefile_wait;
	int pcap_savefile_delay;  /* seconds before each pass over the file */
	int pcap_savefile_replay; /* passes over the file */
	char *pcap_filter;

	/* packet daemons: pmacctd, uacctd (conf/keys_pcap.c) */
	char *pcap_interface;
	char *pcap_interfaces_map;
	int pcap_interface_wait;
	char *pcap_direction; /* "in", "out" or "" */
	char *pcap_ifindex;   /* sys | hash | map | none */
	int promisc;
	int snaplen;
	int pcap_protocol;    /* ethertype for pcap_set_protocol(), -1: any */
	int flow_buffer_size; /* pmacctd_flow_buffer_size: bytes of flow state per worker */
	int flow_lifetime;    /* seconds idle before a non-TCP flow ends */
	int flow_tcp_lifetime;
	int frag_buffer_size; /* pmacctd_frag_buffer_size: first fragments remembered */
	int sampling_rate;    /* 1-in-N packet sampling, 0/1: every packet */
	char *user;	      /* drop privileges to this user after opening sources */
	char *group;
	int uacctd_group;
	int uacctd_nl_size;
	int uacctd_threshold;
	int pmacctd_fanout; /* 0: worker 0 captures and hands frames to the others */

	/* nDPI classification (agg/classify.c: classify_keys) */
	int classifier_num_roots;
	int classifier_max_flows;
	int classifier_proto_guess;
	int classifier_giveup_proto_tcp;
	int classifier_giveup_proto_udp;
	int classifier_giveup_proto_other;
	int classifier_idle_scan_period;

	/* enrichment (conf/keys_enrich.c): networks_file, GeoIP, lookup files */
	char *networks_file;
	int networks_file_filter;
	int networks_file_no_lpm;
	int networks_mask;
	int networks_no_mask_if_zero;
	char *nfacctd_net; /* netflow | file | mask | longest | fallback */
	char *nfacctd_as;  /* netflow | file | longest | fallback */
	char *geoipv2_file;
	/* tagging (conf_keys_tagging, agg/tagging.h) */
	int maps_index;
	int maps_entries;
	int maps_row_len;
	char *core_proc_name;
	int nfacctd_pre_processing_checks;

	char *aggregate_primitives;
	char *plugins;
	struct conf_plugin plugin[CONF_MAX_PLUGINS];
	unsigned nplugins;

	/* parse state: plugin-scoped settings wait for `plugins` to be known */
	struct conf_pending *pending;
	size_t npending;
	struct conf_set_at *set_at; /* where each global key was last set */
	size_t nset_at;
	char *notices;
};

struct conf_key;

/*
 * Optional hooks of a key row; most rows have neither.
 *
 * set: parse v and store it at base + k->off (base is struct conf for global
 * keys, struct conf_plugin for plugin keys) with a rule of its own; replaces
 * the type's rule (conf_store_value(), which a setter may call once it has
 * checked what it adds).  Runs where the key is set, so its error names that
 * line; for a plugin key that first run validates into a scratch instance,
 * and conf_finish() runs it again into each instance the key reaches.  The
 * slot's C type follows the key's type: int for CT_BOOL, CT_INT and
 * CT_DURATION, a malloc'ed char * for CT_STRING, CT_LIST and CT_ENUM.
 *
 * check: a rule across keys, run by conf_finish() once everything is parsed,
 * once for a global key, once per instance for a plugin key.  at says where
 * the key was set (origin "" when it holds its default); the error is
 * reported at that place.
 *
 * Both return 0, or -1 with the reason in why (a phrase: "'x' is not ...").
 */
typedef int conf_set_fn(const struct conf_key *k, void *base, const char *v, char *why,
			size_t whylen);
typedef int conf_check_fn(const struct conf *c, const void *base, const struct conf_where *at,
			  char *why, size_t whylen);

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
	conf_set_fn *set;     /* NULL: the type's rule */
	conf_check_fn *check; /* NULL: none */
};

/* A row without hooks: CONF_ROW(name, type, G(field), daemons, def, choices, min, max, doc). */
#define CONF_ROW(...)                                                                              \
	{                                                                                          \
		__VA_ARGS__, NULL, NULL                                                            \
	}

/* The rows one module contributes. */
struct conf_key_table {
	const char *name;  /* section of the reference, e.g. "core", "netflow", "print" */
	const char *title; /* one line introducing the section */
	const struct conf_key *keys;
	size_t nkeys;
};

#define CONF_TABLE(name, title, rows)                                                              \
	{                                                                                          \
		name, title, rows, sizeof rows / sizeof rows[0]                                    \
	}

/* An output (plugin) type as the configuration sees it. */
struct conf_plugin_type {
	const char *type; /* as written in `plugins:` */
	/* its own plugin-scoped keys; NULL-terminated, NULL for none.  Types may
	 * share a table (e.g. the SQL types), each then owns its keys. */
	const struct conf_key_table *const *tables;
	unsigned daemons; /* D_* bits of the daemons that run it (probes); 0: every daemon */
};

/*
 * What a daemon accepts: tables of global and generic plugin keys, and the
 * output types it can run (their keys included).  Both lists NULL-terminated.
 * A key name appears in one row of the whole schema.
 */
struct conf_schema {
	const struct conf_key_table *const *tables;
	const struct conf_plugin_type *const *types;
};

/* Which daemon is parsing (D_* bit) and how it is called in messages. */
struct conf_daemon {
	unsigned bit;
	const char *name;
};

/*
 * conf_init() fills c with the defaults of schema s and remembers s (which
 * must outlive c).  Then conf_load_file() reads a file, and conf_set()
 * applies one key (command line).  conf_finish() declares the plugin
 * instances, applies the plugin keys and runs the check hooks.  All return 0
 * or -1 with a message naming file, line and key in err.
 */
void conf_init(struct conf *c, const struct conf_schema *s);
int conf_load_file(struct conf *c, const struct conf_daemon *d, const char *path, char *err,
		   size_t errlen);
int conf_load_string(struct conf *c, const struct conf_daemon *d, const char *origin,
		     const char *text, char *err, size_t errlen);
int conf_set(struct conf *c, const struct conf_daemon *d, const char *key, const char *value,
	     char *err, size_t errlen);
int conf_finish(struct conf *c, const struct conf_daemon *d, char *err, size_t errlen);
void conf_free(struct conf *c);

/* The row of key `name` in s, NULL if s has none; *owner_table gets its table if non-NULL. */
const struct conf_key *conf_schema_key(const struct conf_schema *s, const char *name,
				       const struct conf_key_table **owner_table);
/* The output type `type` of s, NULL if s cannot run it. */
const struct conf_plugin_type *conf_schema_type(const struct conf_schema *s, const char *type);
/* Whether plugin key k applies to type t (generic keys apply to every type). */
int conf_key_applies(const struct conf_schema *s, const struct conf_key *k,
		     const struct conf_plugin_type *t);

/*
 * Every table of s once (the global/generic ones, then each type's, a
 * shared table at its first type): start with *it = 0, NULL at the end.
 */
const struct conf_key_table *conf_schema_next_table(const struct conf_schema *s, size_t *it);

/* The type's rule for k: validate v and store it at base + k->off. */
int conf_store_value(const struct conf_key *k, void *base, const char *v, char *why, size_t whylen);

/*
 * Where global key `key` was last set (file and line, or "command line"),
 * NULL when it holds its default.  For errors found after parsing (a file
 * that cannot be opened, a port in use) to name the line that asked for it.
 */
const struct conf_where *conf_where_set(const struct conf *c, const char *key);

/* Write the Markdown key reference (docs/CONFIG-KEYS.md) of s to fp, one section per table. */
int conf_write_reference(FILE *fp, const struct conf_schema *s);

/* Notices (obsolete keys, keys of absent plugin types) collected while parsing; NULL if none. */
const char *conf_notices(const struct conf *c);

#endif
