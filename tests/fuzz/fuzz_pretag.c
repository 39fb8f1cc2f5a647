/*
 * Fuzz target for pre_tag_map: pretag_map_parse() on arbitrary text (byte 0
 * chooses maps_index and a maps_entries limit), then evaluation of records
 * that cover the tests a map can make, and of an export header.  Arbitrary
 * input must load (bad lines are skipped) or fail for memory only, and
 * evaluate without crash, leak or out-of-bounds access.
 *
 * Built with libFuzzer (see tests/fuzz/local.mk, fuzz-pretag) or with
 * replay_main.c as a plain program replaying the committed corpus.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agg/pretag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void record(struct flow_rec *r, unsigned i)
{
	memset(r, 0, sizeof *r);
	r->present = i & 1 ? ~0ull : 0x5555555555555555ull;
	r->peer_src_ip = (struct nt_addr){.family = 4, .a = {192, 0, 2, (uint8_t)i}};
	r->peer_dst_ip = (struct nt_addr){.family = 6, .a = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}};
	r->src_addr = (struct nt_addr){.family = (uint8_t)(i & 2 ? 6 : 4), .a = {10, 1, 2, 3}};
	r->dst_addr = (struct nt_addr){.family = 4, .a = {172, 16, 0, (uint8_t)i}};
	r->in_iface = i % 5;
	r->out_iface = i % 3;
	r->proto = (uint8_t)(i & 4 ? 17 : 6);
	r->src_port = (uint16_t)(1000 + i);
	r->dst_port = 80;
	r->tcp_flags = 0x12;
	r->vlan_in = (uint16_t)i;
	r->engine_type = 1;
	r->engine_id = (uint8_t)i;
	r->export_version = (uint16_t)(i & 8 ? 5 : 9);
	r->export_sysid = i;
	r->std_comm = "65000:1_65000:2";
	r->label = "x";
	r->mpls_depth = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct pretag_opts o = {.index = data[0] & 1, .max_entries = data[0] & 2 ? 8 : 0};
	struct pretag_map *m = NULL;
	char err[256];
	if (pretag_map_parse(&m, (const char *)data + 1, size - 1, "fuzz.map", &o, NULL, NULL, err,
			     sizeof err) < 0)
		return 0;
	volatile uint64_t sum = pretag_map_count(m) + pretag_map_bad_lines(m);
	for (size_t i = 0; i < pretag_map_nwarnings(m); i++)
		sum += strlen(pretag_map_warning(m, i));
	for (unsigned i = 0; i < 16; i++) {
		struct flow_rec r;
		struct filter_pkt pkt;
		struct pretag_result res;
		record(&r, i);
		filter_pkt_reset(&pkt, &r);
		if (pretag_eval(m, &r, &pkt, &res))
			sum += res.tag + res.tag2 + strlen(res.label) + res.rule_line;
	}
	struct pretag_header h = {.exporter = {.family = 4, .a = {192, 0, 2, 1}},
				  .version = 9,
				  .has_source_id = 1,
				  .source_id = 7};
	struct pretag_result res;
	sum += (uint64_t)pretag_eval_header(m, &h, &res);
	(void)sum;
	pretag_map_free(m);
	return 0;
}
