#include "proto/nf_preflight.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

enum nf_err nf_preflight(const uint8_t *buf, size_t len)
{
	if (len < 4)
		return NF_ERR_SHORT;
	uint16_t version = rd16(buf);
	size_t off, end = len;
	if (version == 9) {
		if (len < 20)
			return NF_ERR_SHORT;
		off = 20;
	} else if (version == 10) {
		uint16_t mlen = rd16(buf + 2);
		if (len < 16 || mlen < 16)
			return NF_ERR_SHORT;
		if (mlen > len)
			return NF_ERR_TRUNCATED;
		off = 16;
		end = mlen;
	} else {
		return NF_OK;
	}
	while (end - off >= 4) {
		uint16_t id = rd16(buf + off), slen = rd16(buf + off + 2);
		if (slen < 4) {
			if (version == 9 && id == 0 && slen == 0) {
				/* padding: only zeroes may follow */
				for (size_t i = off; i < end; i++)
					if (buf[i])
						return NF_ERR_BAD_SET;
				return NF_OK;
			}
			return NF_ERR_BAD_SET;
		}
		if (slen > end - off)
			return NF_ERR_TRUNCATED;
		off += slen;
	}
	if (version == 10 && off != end)
		return NF_ERR_BAD_SET;
	return NF_OK;
}
