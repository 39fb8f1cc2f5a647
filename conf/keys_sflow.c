/*
 * The key table of the sFlow input (sfacctd_*).  Names and meanings follow
 * pmacct's CONFIG-KEYS; the values live in struct conf.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "conf/keys.h"

#define G(f) SCOPE_GLOBAL, offsetof(struct conf, f)

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

/* The counter file's name may carry $peer_src_ip (the agent); nothing else is expanded. */
static int check_counter_file(const struct conf *c, const void *base, const struct conf_where *at,
			      char *why, size_t whylen)
{
	(void)base;
	(void)at;
	const char *f = c->sfacctd_counter_file;
	for (const char *p = f ? strchr(f, '$') : NULL; p; p = strchr(p + 1, '$'))
		if (strncmp(p, "$peer_src_ip", 12) != 0) {
			snprintf(why, whylen, "'%s': the only variable is $peer_src_ip", f);
			return -1;
		}
	return 0;
}

static const struct conf_key sflow_rows[] = {
    {"sfacctd_ip", CT_STRING, G(sfacctd_ip), D_SFACCTD, "", NULL, 0, 0,
     "Address to listen on (IPv4 or IPv6 literal); unset = all addresses, dual-stack.",
     set_listen_ip, NULL},
    CONF_ROW("sfacctd_port", CT_INT, G(sfacctd_port), D_SFACCTD, "6343", NULL, 1, 65535,
	     "UDP port to listen on."),
    CONF_ROW("sfacctd_pipe_size", CT_INT, G(sfacctd_pipe_size), D_SFACCTD, "0", NULL, 0, 1 << 30,
	     "Socket receive buffer (SO_RCVBUF) in bytes, per worker socket; 0 = kernel default."),
    CONF_ROW("sfacctd_renormalize", CT_BOOL, G(sfacctd_renormalize), D_SFACCTD, "false", NULL, 0, 0,
	     "Scale packets and bytes by each flow sample's sampling rate (sampling_map and "
	     "sfacctd_ext_sampling_rate override the rate). pmacct estimates an effective rate "
	     "from the sample pool when samples are lost; netacct uses the rate as exported."),
    CONF_ROW("sfacctd_time_new", CT_BOOL, G(sfacctd_time_new), D_SFACCTD, "false", NULL, 0, 0,
	     "Accepted for compatibility: sFlow samples carry no timestamps of their own, so "
	     "time bins always use the arrival time."),
    CONF_ROW("sfacctd_ext_sampling_rate", CT_INT, G(sfacctd_ext_sampling_rate), D_SFACCTD, "0",
	     NULL, 0, 0x7fffffff,
	     "Sampling rate to use instead of the one the agents export (for agents that "
	     "report none or a wrong one); sampling_map still overrides it per agent. 0 = none."),
    {"sfacctd_counter_file", CT_STRING, G(sfacctd_counter_file), D_SFACCTD, "", NULL, 0, 0,
     "Write counter samples (generic interface, Ethernet and VLAN counters) to this file, one "
     "JSON object a line per counter record, with the agent's address (peer_ip_src), the "
     "interface (source_id_index), the datagram and sample sequence numbers. $peer_src_ip in "
     "the name gives a file per agent. Written by a thread of its own, never by the workers.",
     NULL, check_counter_file},
    CONF_ROW("sfacctd_counter_output", CT_ENUM, G(sfacctd_counter_output), D_SFACCTD, "json",
	     "json", 0, 0, "Format of sfacctd_counter_file: json only."),
    CONF_ROW("sampling_map", CT_STRING, G(sampling_map), D_NFACCTD | D_SFACCTD, "", NULL, 0, 0,
	     "Map of per-agent sampling rates overriding what is exported; reloaded on SIGUSR2 "
	     "(see maps_refresh)."),
    CONF_ROW("sfacctd_max_agents", CT_INT, G(sfacctd_max_agents), D_SFACCTD, "65536", NULL, 0,
	     1 << 24,
	     "netacct: most agents (agent address and sub-agent id) a worker keeps state for; "
	     "datagrams from new agents beyond it are dropped, counted and logged. 0 = unbounded."),
};

const struct conf_key_table conf_keys_sflow =
    CONF_TABLE("sflow", "The sFlow v2/v4/v5 input (sfacctd).", sflow_rows);
