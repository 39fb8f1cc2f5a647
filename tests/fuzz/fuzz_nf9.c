/*
 * Fuzz target for the NetFlow/IPFIX decoders and the template cache.
 *
 * Input layout, so one input can carry template state across datagrams:
 *   byte 0: option bits (1 time_secs, 2 disable_opt_scope_check, 4 custom primitives,
 *           8 skip every field an output may not read, 16 skip the names only)
 *   then frames: |length (2, big endian)|datagram|  ...; a frame whose
 *   length runs past the end takes the rest of the input.
 * All datagrams come from the same exporter, the last few from a second one.
 *
 * Built two ways: with libFuzzer (make fuzz-nf9), or linked with replay_main.c as a
 * plain program that replays the committed corpus (a `make check` test).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/netflow.h"
#include "proto/nf_template.h"
#include "tests/fuzz/fuzz_registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_sink {
	uint64_t sum;
};

/* Touch everything a consumer would, so bad custom pointers show up under ASan. */
static void fuzz_emit(void *arg, struct flow_rec *r)
{
	struct fuzz_sink *s = arg;
	s->sum += r->bytes + r->packets + r->src_port + r->mpls_depth + r->ts_start;
	for (unsigned i = 0; i < FR_CUSTOM_MAX; i++)
		for (uint16_t j = 0; j < r->custom_len[i]; j++)
			s->sum += r->custom_ptr[i][j];
}

static void fuzz_changed(void *arg, const struct nf_exporter *ex)
{
	(void)ex;
	((struct fuzz_sink *)arg)->sum++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nf_collector c;
	struct nf_options o;
	struct prim_registry reg;
	struct fuzz_sink sink = {0};

	if (size < 1)
		return 0;
	memset(&o, 0, sizeof o);
	o.time_secs = data[0] & 1;
	o.disable_opt_scope_check = (data[0] >> 1) & 1;
	if (data[0] & 4) {
		fuzz_registry(&reg);
		o.custom = &reg;
	}
	if (data[0] & 8)
		o.skip = NF_SKIPPABLE;
	else if (data[0] & 16)
		o.skip = NF_SKIP_NAMES;
	o.template_changed = fuzz_changed;
	o.template_arg = &sink;
	if (nf_collector_init(&c, &o, fuzz_emit, &sink) < 0)
		return 0;

	struct nt_addr a1 = {.family = 4, .a = {192, 0, 2, 1}};
	struct nt_addr a2 = {.family = 6, .a = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}};
	size_t off = 1;
	unsigned n = 0;
	while (off < size && n < 64) {
		size_t len = size - off;
		if (len >= 2) {
			size_t want = (size_t)data[off] << 8 | data[off + 1];
			if (want <= len - 2) {
				off += 2;
				len = want;
			}
		}
		/* copy: the decoder must never read past what it was given */
		uint8_t *dg = malloc(len ? len : 1);
		if (!dg)
			break;
		memcpy(dg, data + off, len);
		struct nf_exporter *ex = nf_exporter_get(&c, n < 48 ? &a1 : &a2, 2055);
		if (ex)
			nf_decode(&c, ex, dg, len, 1000000);
		free(dg);
		off += len;
		n++;
	}
	nf_collector_free(&c);
	return 0;
}
