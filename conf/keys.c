/*
 * The core's key tables: the daemon itself, the plugin keys every output type
 * takes, and pmacct keys this design makes unnecessary.  Add a row and the
 * key is parsed, validated, scoped and documented; a row needs code only for
 * a rule its type cannot express (the set and check hooks).
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/keys.h"

#define G(f) SCOPE_GLOBAL, offsetof(struct conf, f)
#define P(f) SCOPE_PLUGIN, offsetof(struct conf_plugin, f)
#define OBS  SCOPE_GLOBAL, 0, D_ALL, "", NULL, 0, 0

/* cluster_id numbers an instance within cluster_name: alone it means nothing. */
static int check_cluster_id(const struct conf *c, const void *base, const struct conf_where *at,
			    char *why, size_t whylen)
{
	(void)base;
	if (at->origin[0] && !(c->cluster_name && c->cluster_name[0])) {
		snprintf(why, whylen, "needs cluster_name");
		return -1;
	}
	return 0;
}

int conf_parse_listen(const char *v, char *ip, size_t iplen, int *port, char *err, size_t errlen)
{
	const char *colon = strrchr(v, ':');
	const char *a = v, *ae = colon;
	if (!colon) {
		snprintf(err, errlen, "'%s' is not address:port (e.g. 127.0.0.1:9105)", v);
		return -1;
	}
	if (*v == '[') { /* [ipv6]:port */
		a = v + 1;
		ae = colon - 1;
		if (ae < a || *ae != ']') {
			snprintf(err, errlen, "'%s': an IPv6 address goes in brackets, [::1]:9105",
				 v);
			return -1;
		}
	}
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || p < 1 || p > 65535) {
		snprintf(err, errlen, "'%s': the port must be 1-65535", v);
		return -1;
	}
	size_t n = (size_t)(ae - a);
	unsigned char buf[16];
	if (n >= iplen) {
		snprintf(err, errlen, "'%s' is not an IPv4/IPv6 address and port", v);
		return -1;
	}
	memcpy(ip, a, n);
	ip[n] = '\0';
	if (a == v && strchr(ip, ':')) {
		snprintf(err, errlen, "'%s': an IPv6 address goes in brackets, [::1]:9105", v);
		return -1;
	}
	if (inet_pton(AF_INET, ip, buf) != 1 && inet_pton(AF_INET6, ip, buf) != 1) {
		snprintf(err, errlen, "'%s' is not an IPv4/IPv6 address and port", v);
		return -1;
	}
	*port = (int)p;
	return 0;
}

/* metrics_listen: a literal address and a port, checked at start-up. */
static int set_listen(const struct conf_key *k, void *base, const char *v, char *why, size_t whylen)
{
	char ip[64];
	int port;
	if (*v && conf_parse_listen(v, ip, sizeof ip, &port, why, whylen) < 0)
		return -1;
	return conf_store_value(k, base, v, why, whylen);
}

static const struct conf_key core_rows[] = {
    CONF_ROW("daemonize", CT_BOOL, G(daemonize), D_ALL, "false", NULL, 0, 0,
	     "Run in the background (after the configuration has been validated)."),
    CONF_ROW("pidfile", CT_STRING, G(pidfile), D_ALL, "", NULL, 0, 0,
	     "Write the daemon's PID to this file; removed on clean exit."),
    CONF_ROW("logfile", CT_STRING, G(logfile), D_ALL, "", NULL, 0, 0,
	     "Append log lines to this file instead of stderr; reopened on SIGHUP."),
    CONF_ROW("syslog", CT_STRING, G(syslog), D_ALL, "", NULL, 0, 0,
	     "Log to syslog with this facility (e.g. daemon, local0..local7)."),
    CONF_ROW("debug", CT_BOOL, G(debug), D_ALL, "false", NULL, 0, 0, "Log debug messages."),
    CONF_ROW("reactor_workers", CT_INT, G(reactor_workers), D_ALL, "0", NULL, 0, 256,
	     "netacct: worker threads, each with its own event loop and SO_REUSEPORT socket; "
	     "0 = number of online CPUs."),
    CONF_ROW("reactor_batch", CT_INT, G(reactor_batch), D_ALL, "64", NULL, 1, 1024,
	     "netacct: datagrams read per recvmmsg() call."),
    CONF_ROW(
	"log_rate_limit", CT_INT, G(log_rate_limit), D_ALL, "10", NULL, 0, 100000,
	"netacct: malformed-input log lines per exporter per minute (counters are always kept)."),
    CONF_ROW(
	"cluster_name", CT_STRING, G(cluster_name), D_ALL, "", NULL, 0, 0,
	"Name of a group of daemon instances that serve the same listening port together (pmacct "
	"1.7.8 and later). Set, instances share the port through SO_REUSEPORT; unset, starting on "
	"a port another process already serves fails like an address in use."),
    {"cluster_id", CT_INT, G(cluster_id), D_ALL, "0", NULL, 0, 65535,
     "This instance's number within cluster_name (pmacct 1.7.8 and later); needs cluster_name.",
     NULL, check_cluster_id},
    CONF_ROW(
	"maps_refresh", CT_BOOL, G(maps_refresh), D_ALL, "true", NULL, 0, 0,
	"Reload the maps (sampling_map, ...) when the daemon receives SIGUSR2; a map that fails "
	"to load leaves the previous one in service. false: maps are read at start only."),
    {"metrics_listen", CT_STRING, G(metrics_listen), D_ALL, "", NULL, 0, 0,
     "netacct: serve the daemon's counters in Prometheus text format at http://ADDR:PORT/metrics "
     "(e.g. 127.0.0.1:9105, [::1]:9105): per worker and exporter datagrams, records, "
     "malformations by reason, sequence gaps, kernel drops, templates; per output entries "
     "written, drops, write errors, flush time. Unset: no endpoint.",
     set_listen, NULL},
    CONF_ROW("stats_file", CT_STRING, G(stats_file), D_ALL, "", NULL, 0, 0,
	     "netacct: write the same counters as metrics_listen to this JSON file every "
	     "stats_file_interval seconds and at exit, replacing it atomically (temporary file, "
	     "rename). Unset: no file."),
    CONF_ROW("stats_file_interval", CT_INT, G(stats_file_interval), D_ALL, "60", NULL, 1, 86400,
	     "netacct: seconds between two writes of stats_file."),
    CONF_ROW("aggregate_primitives", CT_STRING, G(aggregate_primitives), D_ALL, "", NULL, 0, 0,
	     "File of user-defined primitives (name, field_type, len, semantics)."),
    CONF_ROW("plugins", CT_LIST, G(plugins), D_ALL, "print", NULL, 0, 0,
	     "Output instances: type[name], comma separated. The types are those with a section "
	     "below (kafka, amqp and redis when built with their libraries); nfprobe and sfprobe "
	     "run in pmacctd and uacctd only."),
};

static const struct conf_key plugin_rows[] = {
    CONF_ROW("aggregate", CT_LIST, P(aggregate), D_ALL, "", NULL, 0, 0,
	     "Primitives to aggregate on, comma separated (`nfacctd -a` lists them)."),
    CONF_ROW("tcpflags_encode_as_array", CT_BOOL, P(tcpflags_encode_as_array), D_ALL, "false", NULL,
	     0, 0, "Encode tcp_flags as an array of flag names."),
    CONF_ROW("fwd_status_encode_as_string", CT_BOOL, P(fwd_status_encode_as_string), D_ALL, "false",
	     NULL, 0, 0, "Encode fwd_status as text (e.g. \"FORWARDED Unknown\")."),
    CONF_ROW("mpls_label_stack_encode_as_array", CT_BOOL, P(mpls_label_stack_encode_as_array),
	     D_ALL, "false", NULL, 0, 0, "Encode mpls_label_stack as an array."),
    CONF_ROW("timestamps_secs", CT_BOOL, P(timestamps_secs), D_ALL, "false", NULL, 0, 0,
	     "Timestamps at one-second resolution."),
    CONF_ROW("timestamps_since_epoch", CT_BOOL, P(timestamps_since_epoch), D_ALL, "false", NULL, 0,
	     0, "Timestamps as seconds since the Unix epoch."),
    CONF_ROW("timestamps_utc", CT_BOOL, P(timestamps_utc), D_ALL, "false", NULL, 0, 0,
	     "Render timestamps in UTC rather than local time."),
    CONF_ROW("flush_queue_size", CT_INT, P(flush_queue_size), D_ALL, "64", NULL, 1, 65536,
	     "netacct: tables a writer may hold before new hand-offs are dropped (and counted)."),
    CONF_ROW("cache_max_entries", CT_INT, P(cache_max_entries), D_ALL, "0", NULL, 0, 1 << 30,
	     "netacct: keys a worker table holds before it is written at once (a safe purge, "
	     "the interval goes on in a fresh table); 0 = 10 x the output's *_cache_entries."),
};

static const struct conf_key obsolete_rows[] = {
    CONF_ROW("plugin_pipe_size", CT_OBSOLETE, OBS,
	     "not needed: workers hand whole tables to writers."),
    CONF_ROW("plugin_buffer_size", CT_OBSOLETE, OBS,
	     "not needed: workers hand whole tables to writers."),
    CONF_ROW("plugin_pipe_zmq", CT_OBSOLETE, OBS, "not needed: there is no core-to-plugin pipe."),
    CONF_ROW("plugin_pipe_zmq_retry", CT_OBSOLETE, OBS,
	     "not needed: there is no core-to-plugin pipe."),
    CONF_ROW("plugin_pipe_zmq_profile", CT_OBSOLETE, OBS,
	     "not needed: there is no core-to-plugin pipe."),
    CONF_ROW("plugin_pipe_zmq_hwm", CT_OBSOLETE, OBS,
	     "not needed: there is no core-to-plugin pipe."),
    CONF_ROW("plugin_pipe_check_core_pid", CT_OBSOLETE, OBS, "not needed: writers are threads."),
    CONF_ROW("plugin_exit_any", CT_OBSOLETE, OBS, "not needed: writers are threads."),
    CONF_ROW("files_umask", CT_OBSOLETE, OBS, "files are created with the process umask."),
};

const struct conf_key_table conf_keys_core = CONF_TABLE(
    "core", "The daemon: process, logging, workers, maps and output instances.", core_rows);
const struct conf_key_table conf_keys_plugin = CONF_TABLE(
    "plugin", "Plugin keys every output type takes (`key[name]` for one instance).", plugin_rows);
const struct conf_key_table conf_keys_obsolete =
    CONF_TABLE("obsolete",
	       "pmacct keys this design makes unnecessary: accepted with a notice, "
	       "so pmacct configurations run unchanged.",
	       obsolete_rows);
