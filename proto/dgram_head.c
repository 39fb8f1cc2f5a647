#include "proto/dgram_head.h"

#include <string.h>

#include "proto/cursor.h"

static int sflow_head(struct cursor *c, uint32_t version, struct dgram_head *h)
{
	uint32_t atype;
	if (cur_u32(c, &atype) < 0)
		return -1;
	if (atype == 1) {
		h->agent.family = 4;
		if (cur_bytes(c, h->agent.a, 4) < 0)
			return -1;
	} else if (atype == 2) {
		h->agent.family = 6;
		if (cur_bytes(c, h->agent.a, 16) < 0)
			return -1;
	} else {
		return -1;
	}
	if (version == 5) {
		if (cur_u32(c, &h->sub_agent_id) < 0)
			return -1;
		h->has_sub_agent = 1;
	}
	h->kind = DGRAM_SFLOW;
	h->version = version;
	return 0;
}

int dgram_head_parse(const uint8_t *buf, size_t len, struct dgram_head *h)
{
	struct cursor c = cur_make(buf, len);
	uint16_t v16;
	memset(h, 0, sizeof *h);
	if (cur_u16(&c, &v16) < 0)
		return -1;
	if (v16 == 0) { /* sFlow: a 32-bit version 2, 4 or 5 */
		uint16_t lo;
		if (cur_u16(&c, &lo) < 0 || (lo != 2 && lo != 4 && lo != 5))
			return -1;
		if (sflow_head(&c, lo, h) < 0) {
			memset(h, 0, sizeof *h);
			return -1;
		}
		return 0;
	}
	switch (v16) {
	case 1:
	case 7: /* no engine fields (v7 has a reserved word there) */
		if (len < 16)
			return -1;
		break;
	case 5:
	case 8:
		/* version, count, uptime, secs, nsecs, sequence, then engine type and id */
		if (cur_skip(&c, 18) < 0 || cur_u8(&c, &h->engine_type) < 0 ||
		    cur_u8(&c, &h->engine_id) < 0)
			return -1;
		h->has_engine = 1;
		break;
	case 9: /* version, count, uptime, secs, sequence, source id */
		if (cur_skip(&c, 14) < 0 || cur_u32(&c, &h->source_id) < 0)
			return -1;
		h->has_source_id = 1;
		break;
	case 10: /* version, length, export time, sequence, observation domain */
		if (cur_skip(&c, 10) < 0 || cur_u32(&c, &h->source_id) < 0)
			return -1;
		h->has_source_id = 1;
		break;
	default:
		return -1;
	}
	h->kind = DGRAM_NETFLOW;
	h->version = v16;
	return 0;
}
