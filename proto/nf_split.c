#include "proto/nf_split.h"

#include <string.h>

#include "proto/cursor.h"

/* v9 counts records: a template set holds template records, an options set options records. */
static unsigned v9_records(uint16_t set_id, const uint8_t *p, size_t n)
{
	struct cursor c = cur_make(p, n);
	unsigned records = 0;
	while (cur_left(&c) >= 4) {
		uint16_t a, b, o;
		if (cur_u16(&c, &a) < 0 || cur_u16(&c, &b) < 0)
			break;
		if (set_id == 0) { /* template id, field count */
			if (cur_skip(&c, (size_t)b * 4) < 0)
				break;
		} else { /* template id, scope length, option length (bytes) */
			if (cur_u16(&c, &o) < 0 || cur_skip(&c, (size_t)b + o) < 0)
				break;
		}
		(void)a;
		records++;
	}
	return records;
}

enum nf_split nf_templates_only(const uint8_t *dg, size_t len, uint8_t *out, size_t outcap,
				size_t *outlen)
{
	struct cursor c = cur_make(dg, len);
	uint16_t version, word;
	if (cur_u16(&c, &version) < 0 || (version != 9 && version != 10))
		return NF_SPLIT_NONE;
	size_t hdr = version == 9 ? 20 : 16;
	if (len < hdr || outcap < hdr)
		return NF_SPLIT_NONE;
	if (version == 10) {
		if (cur_u16(&c, &word) < 0 || word > len || word < hdr)
			return NF_SPLIT_NONE;
		len = word; /* IPFIX says its own length: ignore trailing bytes */
	}
	size_t n = hdr;
	unsigned records = 0, data_sets = 0;
	memcpy(out, dg, hdr);
	c = cur_make(dg + hdr, len - hdr);
	while (cur_left(&c) >= 4) {
		const uint8_t *set = cur_ptr(&c);
		uint16_t id, slen;
		if (cur_u16(&c, &id) < 0 || cur_u16(&c, &slen) < 0 || slen < 4 ||
		    cur_skip(&c, slen - 4u) < 0)
			return NF_SPLIT_NONE;
		int tmpl = version == 9 ? id <= 1 : id == 2 || id == 3;
		if (!tmpl) {
			data_sets++;
			continue;
		}
		if (n + slen > outcap)
			return NF_SPLIT_NONE;
		memcpy(out + n, set, slen);
		n += slen;
		if (version == 9)
			records += v9_records(id, set + 4, slen - 4u);
	}
	if (n == hdr)
		return NF_SPLIT_NONE;
	if (!data_sets)
		return NF_SPLIT_TEMPLATES_ONLY;
	if (version == 9) {
		out[2] = (uint8_t)(records >> 8);
		out[3] = (uint8_t)records;
	} else {
		out[2] = (uint8_t)(n >> 8);
		out[3] = (uint8_t)n;
	}
	*outlen = n;
	return NF_SPLIT_TEMPLATES_AND_DATA;
}
