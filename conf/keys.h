/*
 * The key tables conf/ provides.  A daemon's schema lists the ones it
 * accepts; an input module points at its own (the NetFlow input at
 * conf_keys_netflow, the capture input at conf_keys_pcap).  Output types
 * bring their keys with their module (struct out_module).
 */
#ifndef NETACCT_CONF_KEYS_H
#define NETACCT_CONF_KEYS_H

#include "conf/config.h"

extern const struct conf_key_table conf_keys_core;     /* daemon, logging, reactor, maps, plugins */
extern const struct conf_key_table conf_keys_plugin;   /* plugin keys every output type takes */
extern const struct conf_key_table conf_keys_obsolete; /* pmacct keys accepted with a notice */
extern const struct conf_key_table conf_keys_netflow;  /* nfacctd_*: the NetFlow/IPFIX input */
extern const struct conf_key_table conf_keys_sflow;    /* sfacctd_*: the sFlow input */
extern const struct conf_key_table conf_keys_pcap;     /* pcap_savefile*, pcap_filter */
extern const struct conf_key_table conf_keys_enrich;   /* networks_file, GeoIP, lookup files */
extern const struct conf_key_table conf_keys_tagging;  /* pre_tag_map, filters, post_tag, ... */
extern const struct conf_key_table conf_keys_packet; /* pmacctd/uacctd: capture, flows, sampling */
extern const struct conf_key_table conf_keys_nflog;  /* uacctd_*: the NFLOG source */

/*
 * An "ip:port" or "[ipv6]:port" value (metrics_listen): the literal address
 * into ip, the port into *port.  Returns 0, or -1 with the reason in err.
 */
int conf_parse_listen(const char *v, char *ip, size_t iplen, int *port, char *err, size_t errlen);

#endif
