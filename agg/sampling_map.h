/*
 * sampling_map (pmacct syntax): the operator's 1-in-N rate per exporter,
 * overriding or supplying what the exporter announces.  Parsed with the
 * shared map-line parser (agg/mapline.h); loaded and reloaded through the
 * map registry (agg/maps.h), applied by the `sampling_map` pipeline stage
 * (agg/stages.h).
 *
 * Rules: `id=<rate> ip=<addr>[/<len>] [in=[-]<ifindex>] [out=[-]<ifindex>]`,
 * keys in any order, `!` comments; the first matching rule wins; a negative
 * in/out means "not this interface"; id and ip are required.
 */
#ifndef NETACCT_AGG_SAMPLING_MAP_H
#define NETACCT_AGG_SAMPLING_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"

struct sampling_map;

/* Parse a file.  Returns 0 and *out (free with sampling_map_free), or -1 with
 * "file:line: reason" in err (*out untouched). */
int sampling_map_load(struct sampling_map **out, const char *path, char *err, size_t errlen);

/* Same from len bytes of text (tests, fuzzing); name is used in messages. */
int sampling_map_parse(struct sampling_map **out, const char *text, size_t len, const char *name,
		       char *err, size_t errlen);

void sampling_map_free(struct sampling_map *m);

/*
 * Rate for an exporter (the datagram source address) and, when r is not
 * NULL, its in/out interfaces (FR_IN_IFACE / FR_OUT_IFACE); rules with
 * in/out never match a record that lacks the interface.  0 = no match.
 */
uint32_t sampling_map_lookup(const struct sampling_map *m, const struct nt_addr *exporter,
			     const struct flow_rec *r);

size_t sampling_map_count(const struct sampling_map *m);

/* Map registry adapters (agg/maps.h): parse a file into an opaque map, free it, count it. */
int sampling_map_reg_parse(const char *path, void **out, char *err, size_t errlen);
void sampling_map_reg_free(void *map);
size_t sampling_map_reg_count(const void *map);

#endif
