/*
 * The key table of the NetFlow/IPFIX input (nfacctd_*); the capture keys are
 * in conf/keys_pcap.c.  Values live in struct conf; a daemon's schema takes
 * the table with its input.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>

#include "conf/keys.h"

#define G(f) SCOPE_GLOBAL, offsetof(struct conf, f)

/* A listen address must be a literal: resolving names at start hides typos. */
static int set_listen_ip(const struct conf_key *k, void *base, const char *v, char *why,
			 size_t whylen)
{
	unsigned char buf[16];
	if (inet_pton(AF_INET, v, buf) != 1 && inet_pton(AF_INET6, v, buf) != 1) {
		snprintf(why, whylen, "'%s' is not an IPv4/IPv6 address", v);
		return -1;
	}
	return conf_store_value(k, base, v, why, whylen);
}

/* A split flow has no single first/last time: pmacct refuses the pair too. */
static int check_stitching(const struct conf *c, const void *base, const struct conf_where *at,
			   char *why, size_t whylen)
{
	(void)base;
	(void)at;
	if (c->nfacctd_stitching && c->nfacctd_pro_rating) {
		snprintf(why, whylen, "excludes nfacctd_pro_rating");
		return -1;
	}
	return 0;
}

static const struct conf_key netflow_rows[] = {
    {"nfacctd_ip", CT_STRING, G(nfacctd_ip), D_NFACCTD, "", NULL, 0, 0,
     "Address to listen on (IPv4 or IPv6 literal); unset = all addresses, dual-stack.",
     set_listen_ip, NULL},
    CONF_ROW("nfacctd_port", CT_INT, G(nfacctd_port), D_NFACCTD, "2100", NULL, 1, 65535,
	     "UDP port to listen on."),
    CONF_ROW("nfacctd_pipe_size", CT_INT, G(nfacctd_pipe_size), D_NFACCTD, "0", NULL, 0, 1 << 30,
	     "Socket receive buffer (SO_RCVBUF) in bytes, per worker socket. 0 = netacct's default "
	     "of 32 MiB (about 100 ms of a busy worker; pmacct keeps the kernel's default), asked "
	     "with SO_RCVBUFFORCE when running as root; the start-up log says when the kernel "
	     "granted less and which sysctl raises the limit."),
    CONF_ROW("nfacctd_renormalize", CT_BOOL, G(nfacctd_renormalize), D_NFACCTD, "false", NULL, 0, 0,
	     "Scale packets and bytes by the exporter's sampling interval."),
    CONF_ROW("nfacctd_time_new", CT_BOOL, G(nfacctd_time_new), D_NFACCTD, "false", NULL, 0, 0,
	     "Bin flows by arrival time instead of the flow's own timestamps."),
    CONF_ROW(
	"nfacctd_pro_rating", CT_BOOL, G(nfacctd_pro_rating), D_NFACCTD, "false", NULL, 0, 0,
	"With time bins (*_history) and without nfacctd_time_new: a flow spanning several bins "
	"is split over them, packets and bytes in proportion to its seconds in each (at most "
	"64 bins; a longer flow stays whole in its first bin)."),
    {"nfacctd_stitching", CT_BOOL, G(nfacctd_stitching), D_NFACCTD, "false", NULL, 0, 0,
     "Add timestamp_min and timestamp_max to every output: the earliest flow start and the "
     "latest flow end among a row's flows (arrival time when the flow has no times or with "
     "nfacctd_time_new). stamp_updated then is the latest flow end too. Excludes "
     "nfacctd_pro_rating, as in pmacct.",
     NULL, check_stitching},
    CONF_ROW("nfacctd_time_secs", CT_BOOL, G(nfacctd_time_secs), D_NFACCTD, "false", NULL, 0, 0,
	     "NetFlow v9 exporter sends absolute seconds instead of sysUptime-relative times."),
    CONF_ROW("nfacctd_templates_file", CT_STRING, G(nfacctd_templates_file), D_NFACCTD, "", NULL, 0,
	     0, "Persist NetFlow v9/IPFIX templates to this JSON file and load them at start."),
    CONF_ROW("nfacctd_disable_opt_scope_check", CT_BOOL, G(nfacctd_disable_opt_scope_check),
	     D_NFACCTD, "false", NULL, 0, 0,
	     "Accept options data whatever its scope (for exporters that get it wrong)."),
    CONF_ROW(
	"nfacctd_max_exporters", CT_INT, G(nfacctd_max_exporters), D_NFACCTD, "65536", NULL, 0,
	1 << 24,
	"netacct: most exporters (source addresses) a worker keeps state for; datagrams from new "
	"sources beyond it are dropped, counted and logged. 0 = unbounded."),
    CONF_ROW(
	"nfacctd_max_templates", CT_INT, G(nfacctd_max_templates), D_NFACCTD, "65536", NULL, 0,
	1 << 24,
	"netacct: most v9/IPFIX templates a worker keeps, all exporters together (each exporter "
	"also at most 4096); templates beyond it are refused and counted as limit_reached. "
	"0 = unbounded."),
    CONF_ROW("sampling_map", CT_STRING, G(sampling_map), D_NFACCTD | D_SFACCTD, "", NULL, 0, 0,
	     "Map of per-exporter sampling rates overriding what is exported; reloaded on SIGUSR2 "
	     "(see maps_refresh)."),
};

const struct conf_key_table conf_keys_netflow =
    CONF_TABLE("netflow", "The NetFlow v5/v8/v9 and IPFIX input (nfacctd).", netflow_rows);
