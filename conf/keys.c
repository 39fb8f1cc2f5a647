/*
 * The table of configuration keys.  Add a key here and it is parsed,
 * validated, scoped and documented; nothing else needs to change unless the
 * key drives new behaviour.
 */
#include <stddef.h>

#include "conf/config.h"

#define G(f) SCOPE_GLOBAL, offsetof(struct conf, f)
#define P(f) SCOPE_PLUGIN, offsetof(struct conf_plugin, f)
#define OBS  SCOPE_GLOBAL, 0, D_ALL, "", NULL, 0, 0

static const struct conf_key keys[] = {
    /* daemon */
    {"daemonize", CT_BOOL, G(daemonize), D_ALL, "false", NULL, 0, 0,
     "Run in the background (after the configuration has been validated)."},
    {"pidfile", CT_STRING, G(pidfile), D_ALL, "", NULL, 0, 0,
     "Write the daemon's PID to this file; removed on clean exit."},
    {"logfile", CT_STRING, G(logfile), D_ALL, "", NULL, 0, 0,
     "Append log lines to this file instead of stderr; reopened on SIGHUP."},
    {"syslog", CT_STRING, G(syslog), D_ALL, "", NULL, 0, 0,
     "Log to syslog with this facility (e.g. daemon, local0..local7)."},
    {"debug", CT_BOOL, G(debug), D_ALL, "false", NULL, 0, 0, "Log debug messages."},
    {"reactor_workers", CT_INT, G(reactor_workers), D_ALL, "0", NULL, 0, 256,
     "netacct: worker threads, each with its own event loop and SO_REUSEPORT socket; "
     "0 = number of online CPUs."},
    {"reactor_batch", CT_INT, G(reactor_batch), D_ALL, "64", NULL, 1, 1024,
     "netacct: datagrams read per recvmmsg() call."},
    {"log_rate_limit", CT_INT, G(log_rate_limit), D_ALL, "10", NULL, 0, 100000,
     "netacct: malformed-input log lines per exporter per minute (counters are always kept)."},
    {"plugins", CT_LIST, G(plugins), D_ALL, "print", NULL, 0, 0,
     "Output instances: type[name], comma separated. Supported types: print."},

    /* NetFlow / IPFIX collector */
    {"nfacctd_ip", CT_STRING, G(nfacctd_ip), D_NFACCTD, "", NULL, 0, 0,
     "Address to listen on (IPv4 or IPv6); unset = all addresses, dual-stack."},
    {"nfacctd_port", CT_INT, G(nfacctd_port), D_NFACCTD, "2100", NULL, 1, 65535,
     "UDP port to listen on."},
    {"nfacctd_pipe_size", CT_INT, G(nfacctd_pipe_size), D_NFACCTD, "0", NULL, 0, 1 << 30,
     "Socket receive buffer (SO_RCVBUF) in bytes, per worker socket; 0 = kernel default."},
    {"nfacctd_renormalize", CT_BOOL, G(nfacctd_renormalize), D_NFACCTD, "false", NULL, 0, 0,
     "Scale packets and bytes by the exporter's sampling interval."},
    {"nfacctd_time_new", CT_BOOL, G(nfacctd_time_new), D_NFACCTD, "false", NULL, 0, 0,
     "Bin flows by arrival time instead of the flow's own timestamps."},
    {"nfacctd_time_secs", CT_BOOL, G(nfacctd_time_secs), D_NFACCTD, "false", NULL, 0, 0,
     "NetFlow v9 exporter sends absolute seconds instead of sysUptime-relative times."},
    {"nfacctd_templates_file", CT_STRING, G(nfacctd_templates_file), D_NFACCTD, "", NULL, 0, 0,
     "Persist NetFlow v9/IPFIX templates to this JSON file and load them at start."},
    {"nfacctd_disable_opt_scope_check", CT_BOOL, G(nfacctd_disable_opt_scope_check), D_NFACCTD,
     "false", NULL, 0, 0,
     "Accept options data whatever its scope (for exporters that get it wrong)."},
    {"nfacctd_max_exporters", CT_INT, G(nfacctd_max_exporters), D_NFACCTD, "65536", NULL, 0,
     1 << 24,
     "netacct: most exporters (source addresses) a worker keeps state for; datagrams from new "
     "sources beyond it are dropped, counted and logged. 0 = unbounded."},
    {"nfacctd_max_templates", CT_INT, G(nfacctd_max_templates), D_NFACCTD, "65536", NULL, 0,
     1 << 24,
     "netacct: most v9/IPFIX templates a worker keeps, all exporters together (each exporter "
     "also at most 4096); templates beyond it are refused and counted as limit_reached. "
     "0 = unbounded."},
    {"sampling_map", CT_STRING, G(sampling_map), D_NFACCTD | D_SFACCTD, "", NULL, 0, 0,
     "Map of per-exporter sampling rates overriding what is exported."},
    {"aggregate_primitives", CT_STRING, G(aggregate_primitives), D_ALL, "", NULL, 0, 0,
     "File of user-defined primitives (name, field_type, len, semantics)."},

    /* per plugin */
    {"aggregate", CT_LIST, P(aggregate), D_ALL, "", NULL, 0, 0,
     "Primitives to aggregate on, comma separated (`nfacctd -a` lists them)."},
    {"print_output", CT_ENUM, P(print_output), D_ALL, "formatted", "formatted|json|csv", 0, 0,
     "print plugin encoding."},
    {"print_output_file", CT_STRING, P(print_output_file), D_ALL, "", NULL, 0, 0,
     "print plugin destination; strftime(3) variables expand to the interval start; unset = "
     "stdout."},
    {"print_output_file_append", CT_BOOL, P(print_output_file_append), D_ALL, "false", NULL, 0, 0,
     "Append to print_output_file instead of rewriting it every interval."},
    {"print_output_separator", CT_STRING, P(print_output_separator), D_ALL, ",", NULL, 0, 0,
     "Field separator of the csv encoding."},
    {"print_refresh_time", CT_INT, P(print_refresh_time), D_ALL, "60", NULL, 1, 86400,
     "Seconds between flushes of the print plugin."},
    {"print_history", CT_DURATION, P(print_history), D_ALL, "", NULL, 0, 31 * 86400,
     "Time bins: aggregate per bin of this length (e.g. 5m, 1h) and print stamp_inserted / "
     "stamp_updated. Bins start at multiples of the length since the epoch (UTC)."},
    {"print_history_roundoff", CT_ENUM, P(print_history_roundoff), D_ALL, "", "m|h|d|w", 0, 0,
     "Accepted for compatibility; bins are always aligned to multiples of print_history."},
    {"print_cache_entries", CT_INT, P(print_cache_entries), D_ALL, "16411", NULL, 1, 1 << 28,
     "Initial table size hint per worker (tables grow as needed)."},
    {"print_markers", CT_BOOL, P(print_markers), D_ALL, "false", NULL, 0, 0,
     "Write start/end markers around each flush."},
    {"print_write_empty_file", CT_BOOL, P(print_write_empty_file), D_ALL, "false", NULL, 0, 0,
     "Create print_output_file even when an interval has no data."},
    {"tcpflags_encode_as_array", CT_BOOL, P(tcpflags_encode_as_array), D_ALL, "false", NULL, 0, 0,
     "Encode tcp_flags as an array of flag names."},
    {"fwd_status_encode_as_string", CT_BOOL, P(fwd_status_encode_as_string), D_ALL, "false", NULL,
     0, 0, "Encode fwd_status as text (e.g. \"FORWARDED Unknown\")."},
    {"mpls_label_stack_encode_as_array", CT_BOOL, P(mpls_label_stack_encode_as_array), D_ALL,
     "false", NULL, 0, 0, "Encode mpls_label_stack as an array."},
    {"timestamps_secs", CT_BOOL, P(timestamps_secs), D_ALL, "false", NULL, 0, 0,
     "Timestamps at one-second resolution."},
    {"timestamps_since_epoch", CT_BOOL, P(timestamps_since_epoch), D_ALL, "false", NULL, 0, 0,
     "Timestamps as seconds since the Unix epoch."},
    {"timestamps_utc", CT_BOOL, P(timestamps_utc), D_ALL, "false", NULL, 0, 0,
     "Render timestamps in UTC rather than local time."},
    {"flush_queue_size", CT_INT, P(flush_queue_size), D_ALL, "64", NULL, 1, 65536,
     "netacct: tables a writer may hold before new hand-offs are dropped (and counted)."},
    {"cache_max_entries", CT_INT, P(cache_max_entries), D_ALL, "0", NULL, 0, 1 << 30,
     "netacct: most keys a worker table holds per interval; 0 = unbounded."},

    /* pmacct keys this design makes unnecessary: accepted so configs run unchanged */
    {"plugin_pipe_size", CT_OBSOLETE, OBS, "not needed: workers hand whole tables to writers."},
    {"plugin_buffer_size", CT_OBSOLETE, OBS, "not needed: workers hand whole tables to writers."},
    {"plugin_pipe_zmq", CT_OBSOLETE, OBS, "not needed: there is no core-to-plugin pipe."},
    {"plugin_pipe_zmq_retry", CT_OBSOLETE, OBS, "not needed: there is no core-to-plugin pipe."},
    {"plugin_pipe_zmq_profile", CT_OBSOLETE, OBS, "not needed: there is no core-to-plugin pipe."},
    {"plugin_pipe_zmq_hwm", CT_OBSOLETE, OBS, "not needed: there is no core-to-plugin pipe."},
    {"plugin_pipe_check_core_pid", CT_OBSOLETE, OBS, "not needed: writers are threads."},
    {"plugin_exit_any", CT_OBSOLETE, OBS, "not needed: writers are threads."},
    {"files_umask", CT_OBSOLETE, OBS, "files are created with the process umask."},
};

const struct conf_key *conf_keys(size_t *n)
{
	*n = sizeof keys / sizeof keys[0];
	return keys;
}
