#include "out/bmsg.h"

#include "proto/cursor.h"

static void put16(struct obuf *b, size_t v)
{
	uint8_t h[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	obuf_append(b, h, 2);
}

int bmsg_pack(struct obuf *b, const struct bmsg *m)
{
	if (m->dlen > BMSG_DEST_MAX || m->klen > 0xffff)
		return -1;
	obuf_reset(b);
	put16(b, m->dlen);
	if (m->dlen)
		obuf_append(b, m->dest, m->dlen);
	put16(b, m->klen);
	if (m->klen)
		obuf_append(b, m->key, m->klen);
	if (m->plen)
		obuf_append(b, m->payload, m->plen);
	return obuf_status(b);
}

int bmsg_unpack(const uint8_t *r, size_t len, struct bmsg *m)
{
	struct cursor c = cur_make(r, len);
	uint16_t dl, kl;
	if (cur_u16(&c, &dl) < 0 || dl > BMSG_DEST_MAX ||
	    !(m->dest = (const char *)cur_take(&c, dl)) || cur_u16(&c, &kl) < 0 ||
	    !(m->key = cur_take(&c, kl)))
		return -1;
	m->dlen = dl;
	m->klen = kl;
	m->plen = cur_left(&c);
	m->payload = cur_ptr(&c);
	return 0;
}
