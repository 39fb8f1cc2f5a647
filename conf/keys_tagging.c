/*
 * Keys of tagging (pre_tag_map and its maps_* settings), of the per-output
 * selection (aggregate_filter, pre_tag_*filter, post_tag*) and pmacct's
 * remaining general keys (writer_id_string, core_proc_name,
 * nfacctd_pre_processing_checks).  Values that can be wrong (a filter that
 * does not compile, a bad tag list) are checked where they are set, so the
 * error names the line.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "agg/filter.h"
#include "conf/keys.h"

#define G(f) SCOPE_GLOBAL, offsetof(struct conf, f)
#define P(f) SCOPE_PLUGIN, offsetof(struct conf_plugin, f)

static int set_bpf(const struct conf_key *k, void *base, const char *v, char *why, size_t whylen)
{
	if (*v) {
		struct nt_filter *f = nt_filter_compile(v, why, whylen);
		if (!f)
			return -1;
		nt_filter_free(f);
	}
	return conf_store_value(k, base, v, why, whylen);
}

static int set_tags(const struct conf_key *k, void *base, const char *v, char *why, size_t whylen)
{
	struct tag_filter f;
	if (*v && tag_filter_parse(&f, v, why, whylen) < 0)
		return -1;
	return conf_store_value(k, base, v, why, whylen);
}

static int set_labels(const struct conf_key *k, void *base, const char *v, char *why, size_t whylen)
{
	struct label_filter *f = malloc(sizeof *f);
	int rc = 0;
	if (!f) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (*v)
		rc = label_filter_parse(f, v, why, whylen);
	free(f);
	return rc < 0 ? -1 : conf_store_value(k, base, v, why, whylen);
}

static int set_tag(const struct conf_key *k, void *base, const char *v, char *why, size_t whylen)
{
	char *end;
	errno = 0;
	unsigned long long x = *v >= '0' && *v <= '9' ? strtoull(v, &end, 10) : 0;
	if (*v && (errno || x == 0 || *end)) {
		snprintf(why, whylen, "'%s' is not a tag (1 to 2^64-1)", v);
		return -1;
	}
	return conf_store_value(k, base, v, why, whylen);
}

static const struct conf_key tagging_rows[] = {
    CONF_ROW("pre_tag_map", CT_STRING, P(pre_tag_map), D_ALL, "", NULL, 0, 0,
	     "Map (pmacct syntax) giving records a tag, tag2 and/or label (primitives tag, tag2, "
	     "label) from the exporter, interfaces, engine, addresses, ports, a tcpdump filter, "
	     "...: first match wins, jeq/label/stack chain rules. Reloaded on SIGUSR2 "
	     "(maps_refresh); bad lines are logged with their number and skipped. Set for every "
	     "output, one evaluation per record; `pre_tag_map[name]` gives an output its own map, "
	     "evaluated for that output before its pre_tag_*filter. See the README."),
    CONF_ROW("flow_to_rd_map", CT_STRING, G(flow_to_rd_map), D_NFACCTD | D_SFACCTD, "", NULL, 0, 0,
	     "Map of route distinguishers by exporter and interface (id=<RD> ip= [in=] [out=] "
	     "[bgp_nexthop=] [mpls_vpn_id=] [mpls_label_bottom=]): a match sets mpls_vpn_rd with "
	     "origin map. Reloaded on SIGUSR2."),
    CONF_ROW("maps_index", CT_BOOL, G(maps_index), D_ALL, "false", NULL, 0, 0,
	     "Index pre_tag_map: runs of rules with the same exact tests (ip as an address, in, "
	     "out, engine, source_id, vlan, MACs, ASNs, ports, ...) are looked up in a hash table, "
	     "so a large map costs one lookup per record; first-match order is kept."),
    CONF_ROW("maps_entries", CT_INT, G(maps_entries), D_ALL, "384", NULL, 0, 1 << 30,
	     "Most rules pre_tag_map loads; later lines are reported and not loaded. 0: no limit."),
    CONF_ROW("maps_row_len", CT_INT, G(maps_row_len), D_ALL, "256", NULL, 0, 1 << 20,
	     "Longest pre_tag_map line, in bytes; a longer line is reported and skipped. 0: no "
	     "limit."),
    {"aggregate_filter", CT_STRING, P(aggregate_filter), D_ALL, "", NULL, 0, 0,
     "Only records matching this tcpdump expression are accounted by this output "
     "(`aggregate_filter[name]`); evaluated on a packet built from the record (MACs, VLAN "
     "when the expression names vlan, IPv4/IPv6 addresses, protocol, ToS, ports, TCP flags). "
     "Needs libpcap.",
     set_bpf, NULL},
    {"pre_tag_filter", CT_STRING, P(pre_tag_filter), D_ALL, "", NULL, 0, 0,
     "Only records whose tag is listed are accounted by this output: comma separated tags, "
     "ranges lo-hi, '-' negates, 0 is the untagged record.",
     set_tags, NULL},
    {"pre_tag2_filter", CT_STRING, P(pre_tag2_filter), D_ALL, "", NULL, 0, 0,
     "As pre_tag_filter, on tag2.", set_tags, NULL},
    {"pre_tag_label_filter", CT_STRING, P(pre_tag_label_filter), D_ALL, "", NULL, 0, 0,
     "Only records whose label is listed are accounted by this output: comma separated "
     "labels, 'null' for the unlabelled record, '-' negates.",
     set_labels, NULL},
    {"post_tag", CT_STRING, P(post_tag), D_ALL, "", NULL, 0, 0,
     "Tag every record this output accounts with this value (tag primitive), after "
     "pre_tag_filter.",
     set_tag, NULL},
    {"post_tag2", CT_STRING, P(post_tag2), D_ALL, "", NULL, 0, 0, "As post_tag, for tag2.", set_tag,
     NULL},
    CONF_ROW("pre_tag_label_encode_as_map", CT_BOOL, P(pre_tag_label_encode_as_map), D_ALL, "false",
	     NULL, 0, 0,
	     "Encode the label as a JSON object: set_label=k1%v1,k2%v2 gives {\"k1\": \"v1\", "
	     "\"k2\": \"v2\"}; no label gives {}."),
    CONF_ROW("writer_id_string", CT_STRING, P(writer_id_string), D_ALL, "", NULL, 0, 0,
	     "Add a \"writer_id\" field to each JSON row: $proc_name is the output instance's "
	     "name, $writer_pid the process id, $pmacct_build netacct's version. Unset: no field."),
    CONF_ROW("core_proc_name", CT_STRING, G(core_proc_name), D_ALL, "", NULL, 0, 0,
	     "Name of the core in log lines (`( <name>/core )`); unset: default."),
    CONF_ROW("nfacctd_pre_processing_checks", CT_BOOL, G(nfacctd_pre_processing_checks), D_NFACCTD,
	     "false", NULL, 0, 0,
	     "Check a NetFlow v9/IPFIX datagram's framing (header, every set's length up to the "
	     "end) before decoding any record: a datagram that fails is dropped whole and counted "
	     "as malformed, instead of accounting the records before the fault."),
};

const struct conf_key_table conf_keys_tagging = CONF_TABLE(
    "tagging", "Tagging (pre_tag_map), per-output filters and tags, and general pmacct keys.",
    tagging_rows);
