/*
 * Fuzz target for the sFlow decoder (proto/sflow.c, with the shared packet
 * decoder behind its raw-header records).  Input: datagrams, each a 2-byte
 * big-endian length and that many bytes (the last one takes what is left),
 * all through one collector, so agent state and sequence tracking see many
 * datagrams.  Each datagram is an exact-size heap copy (ASan sees any read
 * past it); every emitted record is turned into an aggregation key with the
 * sFlow primitives (texts included) and every counter value is read.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agg/primitive.h"
#include "proto/sflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	struct keyspec ks;
	uint8_t key[4096];
	uint64_t sum;
};

static void on_rec(void *arg, struct flow_rec *r)
{
	struct sink *s = arg;
	keyspec_extract(&s->ks, r, s->key);
	for (unsigned i = 0; i < s->ks.key_len; i++)
		s->sum += s->key[i];
	if (FR_HAS(r, FR_AS_PATH))
		s->sum += strlen(r->as_path);
	if (FR_HAS(r, FR_STD_COMM))
		s->sum += strlen(r->std_comm);
	s->sum += r->bytes + r->packets;
}

static void on_counters(void *arg, const struct sf_counters *c)
{
	struct sink *s = arg;
	for (unsigned i = 0; i < c->n; i++)
		s->sum += c->v[i] + strlen(c->names[i]);
	s->sum += strlen(c->type_name) + c->agent->sub_id;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sink s;
	static int ready;
	struct sf_collector c;
	struct sf_options opt = {.max_agents = 64};
	char err[256];

	if (!ready) {
		if (keyspec_build(&s.ks,
				  "src_host,dst_host,src_port,dst_port,proto,tos,src_mac,dst_mac,"
				  "vlan,out_vlan,src_as,dst_as,peer_src_as,peer_dst_as,as_path,"
				  "std_comm,local_pref,peer_src_ip,peer_dst_ip,in_iface,out_iface,"
				  "src_mask,dst_mask,mpls_label_stack,post_nat_src_host,"
				  "sampling_rate,export_proto_seqno",
				  NULL, NULL, err, sizeof err) < 0)
			abort();
		ready = 1;
	}
	if (sf_collector_init(&c, &opt, on_rec, &s, on_counters, &s) < 0)
		return 0;
	size_t i = 0;
	while (i < size) {
		size_t n = size - i;
		if (n >= 2) {
			size_t want = (size_t)data[i] << 8 | data[i + 1];
			i += 2;
			n = size - i < want ? size - i : want;
		} else {
			i += n;
			n = 0;
		}
		uint8_t *d = malloc(n ? n : 1);
		if (!d)
			break;
		memcpy(d, data + i, n);
		sf_decode(&c, d, n, 1700000000000000ull + i, NULL);
		free(d);
		i += n;
	}
	sf_collector_free(&c);
	return 0;
}
