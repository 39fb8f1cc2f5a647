#include "proto/sflow_export.h"
#include "proto/wire_put.h"

#include <string.h>

/* compact source ids carry a 24-bit index, compact interfaces a 30-bit value */
#define SRC_INDEX_MAX 0x00ffffffu
#define IF_VALUE_MAX  0x3fffffffu

static size_t pad4(size_t n)
{
	return (n + 3u) & ~(size_t)3u;
}

size_t sfx_header_size(const struct nt_addr *agent)
{
	/* version, address type, address, sub id, seq, uptime, #samples */
	return 4 + 4 + (agent->family == 6 ? 16u : 4u) + 4 + 4 + 4 + 4;
}

static int expanded_flow(const struct sfx_flow *f)
{
	return f->source_index > SRC_INDEX_MAX || f->input > IF_VALUE_MAX ||
	       f->output > IF_VALUE_MAX;
}

/* A flow sample's size: sample header, sample fields, one header record. */
static size_t flow_size(const struct sfx_flow *f)
{
	size_t fields = expanded_flow(f) ? 11u * 4u : 8u * 4u;
	size_t rec = 8 + 4 * 4 + pad4(f->header_len);
	return 8 + fields + rec;
}

size_t sfx_max_header(size_t cap, const struct nt_addr *agent)
{
	size_t fixed = sfx_header_size(agent) + 8 + 11 * 4 + 8 + 4 * 4;
	return cap > fixed ? (cap - fixed) & ~(size_t)3u : 0;
}

int sfx_begin(struct sfx_dgram *d, uint8_t *buf, size_t cap, const struct nt_addr *agent,
	      uint32_t sub_id)
{
	if ((agent->family != 4 && agent->family != 6) || cap < sfx_header_size(agent))
		return -1;
	uint8_t *p = put32(buf, 5);
	if (agent->family == 4) {
		p = put32(p, 1);
		memcpy(p, agent->a, 4);
		p += 4;
	} else {
		p = put32(p, 2);
		memcpy(p, agent->a, 16);
		p += 16;
	}
	p = put32(p, sub_id);
	d->buf = buf;
	d->cap = cap;
	d->fixed = (size_t)(p - buf);
	d->len = sfx_header_size(agent);
	d->nsamples = 0;
	memset(p, 0, 12); /* seq, uptime, #samples: written by sfx_finish() */
	return 0;
}

int sfx_add_flow(struct sfx_dgram *d, const struct sfx_flow *f)
{
	size_t n = flow_size(f);
	if (d->len + n > d->cap)
		return -1;
	uint8_t *p = d->buf + d->len;
	int ex = expanded_flow(f);
	p = put32(p, ex ? 3u : 1u);
	p = put32(p, (uint32_t)(n - 8));
	p = put32(p, f->seq);
	if (ex) {
		p = put32(p, 0); /* source id type: ifIndex */
		p = put32(p, f->source_index);
	} else {
		p = put32(p, f->source_index);
	}
	p = put32(p, f->rate);
	p = put32(p, f->pool);
	p = put32(p, f->drops);
	if (ex) {
		p = put32(p, 0);
		p = put32(p, f->input);
		p = put32(p, 0);
		p = put32(p, f->output);
	} else {
		p = put32(p, f->input);
		p = put32(p, f->output);
	}
	p = put32(p, 1); /* one record */
	p = put32(p, 1); /* raw packet header */
	p = put32(p, (uint32_t)(4 * 4 + pad4(f->header_len)));
	p = put32(p, (uint32_t)f->header_proto);
	p = put32(p, f->frame_length);
	p = put32(p, f->stripped);
	p = put32(p, f->header_len);
	if (f->header_len)
		memcpy(p, f->header, f->header_len);
	memset(p + f->header_len, 0, pad4(f->header_len) - f->header_len);
	d->len += n;
	d->nsamples++;
	return 0;
}

int sfx_add_counters(struct sfx_dgram *d, const struct sfx_if_counters *c)
{
	int ex = c->source_index > SRC_INDEX_MAX;
	size_t rec = 8 + 88; /* if_counters: 19 fields, three of them 64-bit */
	size_t n = 8 + (ex ? 4u * 4u : 3u * 4u) + rec;
	if (d->len + n > d->cap)
		return -1;
	uint8_t *p = d->buf + d->len;
	p = put32(p, ex ? 4u : 2u);
	p = put32(p, (uint32_t)(n - 8));
	p = put32(p, c->seq);
	if (ex)
		p = put32(p, 0);
	p = put32(p, c->source_index);
	p = put32(p, 1); /* one record */
	p = put32(p, 1); /* generic interface counters */
	p = put32(p, 88);
	p = put32(p, c->source_index);
	p = put32(p, c->if_type);
	p = put64(p, c->if_speed);
	p = put32(p, c->direction);
	p = put32(p, c->status);
	p = put64(p, c->in_octets);
	p = put32(p, c->in_ucast);
	p = put32(p, c->in_mcast);
	p = put32(p, c->in_bcast);
	p = put32(p, c->in_discards);
	p = put32(p, c->in_errors);
	p = put32(p, c->in_unknown);
	p = put64(p, c->out_octets);
	p = put32(p, c->out_ucast);
	p = put32(p, c->out_mcast);
	p = put32(p, c->out_bcast);
	p = put32(p, c->out_discards);
	p = put32(p, c->out_errors);
	(void)put32(p, c->promiscuous);
	d->len += n;
	d->nsamples++;
	return 0;
}

size_t sfx_finish(struct sfx_dgram *d, uint32_t seq, uint32_t uptime_ms)
{
	uint8_t *p = d->buf + d->fixed;
	p = put32(p, seq);
	p = put32(p, uptime_ms);
	(void)put32(p, d->nsamples);
	return d->len;
}
