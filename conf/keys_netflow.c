/*
 * The key tables of the NetFlow/IPFIX input (nfacctd_*) and of the capture
 * input (pcap_savefile*, pcap_filter).  Their values live in struct conf;
 * the input modules point at these tables so a daemon's schema takes them
 * with the input.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>

#include "conf/keys.h"

#define G(f) SCOPE_GLOBAL, offsetof(struct conf, f)

#define D_CAPTURE (D_NFACCTD | D_SFACCTD | D_PMACCTD)

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

static const struct conf_key pcap_rows[] = {
    CONF_ROW("pcap_savefile", CT_STRING, G(pcap_savefile), D_CAPTURE, "", NULL, 0, 0,
	     "Read the data from this libpcap capture file instead of the network (nfacctd: the "
	     "NetFlow/IPFIX datagrams in it, each exporter being the packet's source address). The "
	     "daemon exits once the file has been read, unless pcap_savefile_wait. In pmacct an "
	     "alternative to nfacctd_ip and nfacctd_port."),
    CONF_ROW(
	"pcap_savefile_wait", CT_BOOL, G(pcap_savefile_wait), D_CAPTURE, "false", NULL, 0, 0,
	"After the last pass over pcap_savefile, keep running until a signal instead of exiting."),
    CONF_ROW(
	"pcap_savefile_delay", CT_INT, G(pcap_savefile_delay), D_CAPTURE, "0", NULL, 0, 86400,
	"Seconds to sleep before each pass over pcap_savefile (for example to let a BGP session "
	"settle first, or to leave time for a flush between passes)."),
    CONF_ROW("pcap_savefile_replay", CT_INT, G(pcap_savefile_replay), D_CAPTURE, "1", NULL, 1,
	     1 << 20,
	     "Passes over pcap_savefile. With NetFlow v9/IPFIX a second pass decodes the data sets "
	     "that came before their template the first time."),
    CONF_ROW("pcap_filter", CT_STRING, G(pcap_filter), D_CAPTURE, "", NULL, 0, 0,
	     "libpcap filter (tcpdump syntax, see pcap-filter(7)) applied to every captured packet "
	     "before it is decoded."),
};

const struct conf_key_table conf_keys_netflow =
    CONF_TABLE("netflow", "The NetFlow v5/v8/v9 and IPFIX input (nfacctd).", netflow_rows);
const struct conf_key_table conf_keys_pcap =
    CONF_TABLE("pcap", "The capture input: reading a libpcap savefile.", pcap_rows);
