/*
 * The enrichment keys: networks_file and how prefixes and ASNs are chosen
 * (agg/networks.h), GeoIP (agg/geoip.h), the lookup files and the value
 * encodings (agg/lookup.h).  Values live in struct conf / struct conf_plugin.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "agg/networks.h"
#include "conf/keys.h"

#define G(f) SCOPE_GLOBAL, offsetof(struct conf, f)
#define P(f) SCOPE_PLUGIN, offsetof(struct conf_plugin, f)
#define OBS  SCOPE_GLOBAL, 0, D_ALL, "", NULL, 0, 0

static int set_net(const struct conf_key *k, void *base, const char *v, char *why, size_t whylen)
{
	enum net_method m;
	if (net_method_parse(v, 0, &m, why, whylen) < 0)
		return -1;
	return conf_store_value(k, base, v, why, whylen);
}

static int set_as(const struct conf_key *k, void *base, const char *v, char *why, size_t whylen)
{
	enum net_method m;
	if (net_method_parse(v, 1, &m, why, whylen) < 0)
		return -1;
	return conf_store_value(k, base, v, why, whylen);
}

/* A method that reads networks_file (or networks_mask) needs it: pmacct refuses this too. */
static int needs_source(const struct conf *c, const char *v, const struct conf_where *at, char *why,
			size_t whylen)
{
	if (!at->origin[0] || !v || strcmp(v, "netflow") == 0 || strcmp(v, "sflow") == 0)
		return 0;
	if (strcmp(v, "mask") == 0) {
		if (c->networks_mask <= 0) {
			snprintf(why, whylen, "'mask' needs networks_mask");
			return -1;
		}
		return 0;
	}
	if (!c->networks_file || !*c->networks_file) {
		snprintf(why, whylen, "'%s' needs networks_file", v);
		return -1;
	}
	return 0;
}

static int check_net(const struct conf *c, const void *base, const struct conf_where *at, char *why,
		     size_t whylen)
{
	(void)base;
	return needs_source(c, c->nfacctd_net, at, why, whylen);
}

static int check_as(const struct conf *c, const void *base, const struct conf_where *at, char *why,
		    size_t whylen)
{
	(void)base;
	return needs_source(c, c->nfacctd_as, at, why, whylen);
}

#define NET_DOC                                                                                    \
	"Where src_net/dst_net and src_mask/dst_mask come from: netflow (the export protocol; "    \
	"sflow is the same), file (networks_file), mask (networks_mask), longest (the longer "     \
	"prefix of networks_file and the export protocol; networks_file loses a tie) or fallback " \
	"(BGP first, then as longest: the same as longest until netacct has BGP, as pmacct 1.7.7 " \
	"without a BGP daemon). bgp, bmp and igp are refused until netacct has those daemons."
#define AS_DOC                                                                                     \
	"Where src_as/dst_as (and, with file, peer_dst_as) come from: netflow (the export "        \
	"protocol; sflow is the same), file (networks_file: 0 where it has no ASN), longest (the " \
	"ASN of the longer prefix, networks_file's or the export protocol's; 0 when a file "       \
	"prefix "                                                                                  \
	"without ASN wins) or fallback (the same as longest until netacct has BGP). bgp and bmp "  \
	"are refused until netacct has those daemons."

static const struct conf_key enrich_rows[] = {
    CONF_ROW("networks_file", CT_STRING, G(networks_file), D_ALL, "", NULL, 0, 0,
	     "File of prefixes, each optionally with an origin ASN, a peer ASN and a BGP next hop "
	     "(`[<next hop>,][[<peer ASN>_]<origin ASN>,]<prefix>/<len>`), matched longest prefix "
	     "first (IPv4 and IPv6); used as nfacctd_net/nfacctd_as say. The next hop is read and, "
	     "as in pmacct 1.7.7's nfacctd, not used. Reloaded on SIGUSR2."),
    CONF_ROW("networks_file_filter", CT_BOOL, G(networks_file_filter), D_ALL, "false", NULL, 0, 0,
	     "Addresses outside every networks_file prefix are zeroed (host, network and mask)."),
    CONF_ROW("networks_file_no_lpm", CT_BOOL, G(networks_file_no_lpm), D_ALL, "false", NULL, 0, 0,
	     "With longest or fallback: a networks_file match wins even when the export protocol's "
	     "prefix is longer; applies to the prefix and the ASNs."),
    CONF_ROW("networks_mask", CT_INT, G(networks_mask), D_ALL, "0", NULL, 0, 128,
	     "Prefix length applied to addresses for src_net/dst_net when nfacctd_net is mask "
	     "(IPv4 takes at most 32)."),
    CONF_ROW("networks_no_mask_if_zero", CT_BOOL, G(networks_no_mask_if_zero), D_ALL, "false", NULL,
	     0, 0,
	     "A prefix of length 0 (unknown, or a default route) leaves src_net/dst_net the whole "
	     "address instead of zero."),
    CONF_ROW("networks_cache_entries", CT_OBSOLETE, OBS,
	     "not needed: networks_file lookups walk a prefix trie, there is no cache to size."),
    {"nfacctd_net", CT_STRING, G(nfacctd_net), D_NFACCTD, "netflow", NULL, 0, 0, NET_DOC, set_net,
     check_net},
    {"sfacctd_net", CT_STRING, G(nfacctd_net), D_SFACCTD, "netflow", NULL, 0, 0, NET_DOC, set_net,
     check_net},
    {"pmacctd_net", CT_STRING, G(nfacctd_net), D_PMACCTD, "netflow", NULL, 0, 0, NET_DOC, set_net,
     check_net},
    {"uacctd_net", CT_STRING, G(nfacctd_net), D_UACCTD, "netflow", NULL, 0, 0, NET_DOC, set_net,
     check_net},
    {"nfacctd_as", CT_STRING, G(nfacctd_as), D_NFACCTD, "netflow", NULL, 0, 0, AS_DOC, set_as,
     check_as},
    {"sfacctd_as", CT_STRING, G(nfacctd_as), D_SFACCTD, "netflow", NULL, 0, 0, AS_DOC, set_as,
     check_as},
    {"pmacctd_as", CT_STRING, G(nfacctd_as), D_PMACCTD, "netflow", NULL, 0, 0, AS_DOC, set_as,
     check_as},
    {"uacctd_as", CT_STRING, G(nfacctd_as), D_UACCTD, "netflow", NULL, 0, 0, AS_DOC, set_as,
     check_as},
    CONF_ROW("geoipv2_file", CT_STRING, G(geoipv2_file), D_ALL, "", NULL, 0, 0,
	     "MaxMind-format database (.mmdb: GeoIP2/GeoLite2, or the ip-location-db builds) for "
	     "src_host_country, dst_host_country, src_host_pocode, dst_host_pocode, "
	     "src_host_coords and dst_host_coords. Reloaded on SIGUSR2."),
    CONF_ROW("ports_file", CT_STRING, P(ports_file), D_ALL, "", NULL, 0, 0,
	     "File of ports, one a line: src_port/dst_port (and sum_port) not listed aggregate as "
	     "0 in this output. Reloaded on SIGUSR2."),
    CONF_ROW("protos_file", CT_STRING, P(protos_file), D_ALL, "", NULL, 0, 0,
	     "File of IP protocols (numbers or names), one a line: proto not listed aggregates as "
	     "0 in this output. Reloaded on SIGUSR2."),
    CONF_ROW("tos_file", CT_STRING, P(tos_file), D_ALL, "", NULL, 0, 0,
	     "File of ToS values (0-255; DSCP values with tos_encode_as_dscp), one a line: tos not "
	     "listed aggregates as 0 in this output. Reloaded on SIGUSR2."),
    CONF_ROW("print_num_protos", CT_BOOL, P(num_protos), D_ALL, "false", NULL, 0, 0,
	     "Print proto as its number (6) rather than its name (tcp)."),
    CONF_ROW("tos_encode_as_dscp", CT_BOOL, P(tos_encode_as_dscp), D_ALL, "false", NULL, 0, 0,
	     "Aggregate and print tos as DSCP: the top six bits of the ToS byte."),
};

const struct conf_key_table conf_keys_enrich =
    CONF_TABLE("enrich",
	       "Enrichment: networks_file, GeoIP, lookup files (ports, protocols, ToS) and value "
	       "encodings.",
	       enrich_rows);
