/*
 * The user-defined primitives the fuzz targets decode with: a variable-length
 * field, an enterprise field and two IANA ones, so templates that use them
 * exercise the custom-primitive paths of the decoders and key builders.
 */
#ifndef NETACCT_TESTS_FUZZ_REGISTRY_H
#define NETACCT_TESTS_FUZZ_REGISTRY_H

#include <stdio.h>
#include <string.h>

#include "agg/primitive.h"

static inline void fuzz_registry(struct prim_registry *reg)
{
	static const struct {
		uint32_t pen;
		uint16_t type, len;
		int vlen;
	} defs[] = {{0, 82, 32, 1}, {9, 1234, 4, 0}, {0, 234, 4, 0}, {29305, 77, 2, 0}};
	memset(reg, 0, sizeof *reg);
	for (unsigned i = 0; i < sizeof defs / sizeof defs[0]; i++) {
		snprintf(reg->custom[i].name, sizeof reg->custom[i].name, "c%u", i);
		reg->custom[i].pen = defs[i].pen;
		reg->custom[i].field_type = defs[i].type;
		reg->custom[i].len = defs[i].len;
		reg->custom[i].vlen = defs[i].vlen;
		reg->custom[i].index = i;
	}
	reg->ncustom = 4;
}

#endif
