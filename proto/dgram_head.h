/*
 * What an export datagram's header says about its exporter, without decoding
 * the records: the NetFlow version, v5/v8 engine type and id, v9 source id or
 * IPFIX observation domain, sFlow agent address and sub-agent id.  A tee uses
 * it to tag datagrams (pre_tag_map's ip, engine_type, engine_id, source_id and
 * agent_id keys) at the cost of reading a few bytes.
 */
#ifndef NETACCT_PROTO_DGRAM_HEAD_H
#define NETACCT_PROTO_DGRAM_HEAD_H

#include <stddef.h>
#include <stdint.h>

#include "agg/flow.h"

enum dgram_kind {
	DGRAM_UNKNOWN,
	DGRAM_NETFLOW, /* v1, v5, v7, v8, v9 or IPFIX (10) */
	DGRAM_SFLOW,   /* v2, v4 or v5 */
};

struct dgram_head {
	enum dgram_kind kind;
	uint32_t version;
	int has_engine; /* v5/v7/v8: engine_type, engine_id */
	uint8_t engine_type, engine_id;
	int has_source_id; /* v9 source id, IPFIX observation domain */
	uint32_t source_id;
	struct nt_addr agent; /* sFlow agent address (family 0 otherwise) */
	int has_sub_agent;    /* sFlow v5 */
	uint32_t sub_agent_id;
};

/*
 * Fill h from the first bytes of datagram buf.  Returns 0, or -1 when the
 * header is too short or of no known protocol (h->kind is DGRAM_UNKNOWN).
 */
int dgram_head_parse(const uint8_t *buf, size_t len, struct dgram_head *h);

#endif
