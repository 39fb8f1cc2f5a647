/*
 * networks_file: the operator's prefixes, each optionally with an origin
 * ASN, a peer ASN and a (BGP) next hop, resolved by longest-prefix match
 * (agg/lpm.h) for IPv4 and IPv6; and the `networks` stage that decides,
 * per record, where src_net/dst_net, the masks and the ASNs come from (nfacctd_net, nfacctd_as).
 *
 * File syntax (pmacct's), one prefix per line, '!' or '#' comment lines:
 *   [<next hop>,][[<peer ASN>_]<origin ASN>,]<prefix>[/<len>]
 * e.g. "192.168.1.0/24", "65500,192.168.1.0/24", "64512_65500,10.0.0.0/8",
 * "10.0.0.1,65500,192.168.4.0/23"; with two fields the first is a next hop
 * when it is an address, else the ASNs.  Host bits beyond the length are
 * ignored; a prefix given twice keeps its last line.  A bad line fails the
 * file ("file:line: reason"): at start that stops the daemon, on SIGUSR2 the
 * previous file stays in service.
 */
#ifndef NETACCT_AGG_NETWORKS_H
#define NETACCT_AGG_NETWORKS_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"
#include "agg/maps.h"
#include "agg/pipeline.h"

struct net_entry {
	struct nt_addr net; /* host bits zero */
	uint8_t plen;
	uint8_t has_as, has_peer_as;
	uint32_t as, peer_as;
	struct nt_addr nexthop; /* family 0: none */
};

struct networks;

/* Parse text (tests, fuzzing) / a file.  Returns 0 and *out, or -1 with "file:line: reason". */
int networks_parse(struct networks **out, const char *text, size_t len, const char *name, char *err,
		   size_t errlen);
int networks_load(struct networks **out, const char *path, char *err, size_t errlen);
void networks_free(struct networks *n);
size_t networks_count(const struct networks *n);

/* The entry of the longest prefix containing a, or NULL. */
const struct net_entry *networks_lookup(const struct networks *n, const struct nt_addr *a);

/* Map registry type for networks_file. */
extern const struct map_type networks_map_type;

/* Where a value comes from (nfacctd_net / nfacctd_as). */
enum net_method {
	NET_NETFLOW,  /* the export protocol (the default) */
	NET_FILE,     /* networks_file only */
	NET_MASK,     /* networks_mask (nfacctd_net only) */
	NET_LONGEST,  /* the longer of networks_file and the export protocol */
	NET_FALLBACK, /* BGP, then as longest: longest until netacct has BGP (pmacct 1.7.7) */
};

/*
 * Parse a nfacctd_net (as_key 0) or nfacctd_as (as_key 1) value.  bgp, bmp
 * and igp are refused with "not available yet"; sflow is taken as the export
 * protocol.  Returns 0, or -1 with the reason in why.
 */
int net_method_parse(const char *v, int as_key, enum net_method *m, char *why, size_t whylen);

struct networks_cfg {
	enum net_method net, as;
	int filter;	     /* networks_file_filter */
	int no_lpm;	     /* networks_file_no_lpm */
	int no_mask_if_zero; /* networks_no_mask_if_zero */
	uint8_t mask;	     /* networks_mask (NET_MASK) */
	int have_file;	     /* networks_file is configured (the stage's map slot) */
};

/*
 * The stage.  cfg: struct networks_cfg; map slot: networks_file's entry (or
 * -1 without a file).  Writes src_net/dst_net and the masks (FR_SRC_NET...)
 * and src_as/dst_as/peer_dst_as by the methods above (the ASN of the prefix
 * that won; a file prefix without ASN gives 0); with networks_file_filter,
 * addresses outside every prefix become zero (0.0.0.0 / ::, as pmacct
 * prints them), their prefix and mask too.  The file's next hop is parsed
 * and not used, as in pmacct 1.7.7's nfacctd.
 */
extern const struct stage_desc stage_networks;

#endif
