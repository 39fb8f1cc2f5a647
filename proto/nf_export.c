/*
 * NetFlow v5 / v9 / IPFIX export datagrams (see nf_export.h).
 */
#include "proto/nf_export.h"
#include "proto/wire_put.h"

#include <string.h>

/* Template fields in wire order: information element (IPv4 / IPv6 template) and length. */
enum nfx_src {
	S_SRC_ADDR,
	S_DST_ADDR,
	S_SRC_MASK,
	S_DST_MASK,
	S_SRC_PORT,
	S_DST_PORT,
	S_PROTO,
	S_TOS,
	S_TCP_FLAGS,
	S_IN_IFACE,
	S_OUT_IFACE,
	S_SRC_AS,
	S_DST_AS,
	S_VLAN,
	S_SRC_MAC,
	S_DST_MAC,
	S_MPLS_TOP,
	S_DIRECTION,
	S_FLOWS,
	S_APP_NAME,
	S_PACKETS,
	S_BYTES,
	S_FIRST,
	S_LAST,
};

struct nfx_ie {
	uint32_t bit; /* enum nfx_field; 0: always */
	enum nfx_src src;
	uint16_t id4, id6; /* IE in the IPv4 / IPv6 template */
	uint16_t len4, len6;
};

/* The IE numbers are the same in v9 and IPFIX, but for the flow times (below). */
static const struct nfx_ie fields[] = {
    {NFX_F_SRC_ADDR, S_SRC_ADDR, 8, 27, 4, 16},	  /* sourceIPv4Address / sourceIPv6Address */
    {NFX_F_DST_ADDR, S_DST_ADDR, 12, 28, 4, 16},  /* destinationIPv4/6Address */
    {NFX_F_SRC_MASK, S_SRC_MASK, 9, 29, 1, 1},	  /* sourceIPv4/6PrefixLength */
    {NFX_F_DST_MASK, S_DST_MASK, 13, 30, 1, 1},	  /* destinationIPv4/6PrefixLength */
    {NFX_F_SRC_PORT, S_SRC_PORT, 7, 7, 2, 2},	  /* sourceTransportPort */
    {NFX_F_DST_PORT, S_DST_PORT, 11, 11, 2, 2},	  /* destinationTransportPort */
    {NFX_F_PROTO, S_PROTO, 4, 4, 1, 1},		  /* protocolIdentifier */
    {NFX_F_TOS, S_TOS, 5, 5, 1, 1},		  /* ipClassOfService */
    {NFX_F_TCP_FLAGS, S_TCP_FLAGS, 6, 6, 1, 1},	  /* tcpControlBits (reduced size) */
    {NFX_F_IN_IFACE, S_IN_IFACE, 10, 10, 4, 4},	  /* ingressInterface */
    {NFX_F_OUT_IFACE, S_OUT_IFACE, 14, 14, 4, 4}, /* egressInterface */
    {NFX_F_SRC_AS, S_SRC_AS, 16, 16, 4, 4},	  /* bgpSourceAsNumber */
    {NFX_F_DST_AS, S_DST_AS, 17, 17, 4, 4},	  /* bgpDestinationAsNumber */
    {NFX_F_VLAN, S_VLAN, 58, 58, 2, 2},		  /* vlanId */
    {NFX_F_SRC_MAC, S_SRC_MAC, 56, 56, 6, 6},	  /* sourceMacAddress */
    {NFX_F_DST_MAC, S_DST_MAC, 80, 80, 6, 6},	  /* destinationMacAddress */
    {NFX_F_MPLS_TOP, S_MPLS_TOP, 70, 70, 3, 3},	  /* mplsTopLabelStackSection */
    {NFX_F_DIRECTION, S_DIRECTION, 61, 61, 1, 1}, /* flowDirection */
    {NFX_F_FLOWS, S_FLOWS, 3, 3, 8, 8},		  /* deltaFlowCount */
    {NFX_F_APP_NAME, S_APP_NAME, 96, 96, NFX_APP_NAME_LEN, NFX_APP_NAME_LEN}, /* applicationName */
    {0, S_PACKETS, 2, 2, 8, 8},						      /* packetDeltaCount */
    {0, S_BYTES, 1, 1, 8, 8},						      /* octetDeltaCount */
    {0, S_FIRST, 0, 0, 0, 0}, /* times: per version, below */
    {0, S_LAST, 0, 0, 0, 0},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

/* v9: FIRST_SWITCHED / LAST_SWITCHED (sysUptime ms, 4 bytes); IPFIX: flowStart/EndMilliseconds. */
static void time_ie(const struct nfx_encoder *e, enum nfx_src s, uint16_t *id, uint16_t *len)
{
	if (e->version == 10) {
		*id = s == S_FIRST ? 152 : 153;
		*len = 8;
	} else {
		*id = s == S_FIRST ? 22 : 21;
		*len = 4;
	}
}

static int field_on(const struct nfx_encoder *e, const struct nfx_ie *f)
{
	return !f->bit || (e->fields & f->bit);
}

static void ie_of(const struct nfx_encoder *e, const struct nfx_ie *f, int v6, uint16_t *id,
		  uint16_t *len)
{
	if (f->src == S_FIRST || f->src == S_LAST) {
		time_ie(e, f->src, id, len);
		return;
	}
	*id = v6 ? f->id6 : f->id4;
	*len = v6 ? f->len6 : f->len4;
}

size_t nfx_record_len(const struct nfx_encoder *e, int family)
{
	if (e->version == 5)
		return 48;
	size_t n = 0;
	for (size_t i = 0; i < NFIELDS; i++) {
		uint16_t id, len;
		if (!field_on(e, &fields[i]))
			continue;
		ie_of(e, &fields[i], family == 6, &id, &len);
		n += len;
	}
	return n;
}

static size_t header_len(const struct nfx_encoder *e)
{
	return e->version == 5 ? 24 : e->version == 9 ? 20 : 16;
}

int nfx_init(struct nfx_encoder *e, int version, uint32_t flds, uint32_t domain, size_t mtu,
	     nt_usec boot, nfx_send_fn send, void *send_arg)
{
	if (version != 5 && version != 9 && version != 10)
		return -1;
	if (!mtu)
		mtu = NFX_MTU_DEFAULT;
	if (mtu > NFX_MTU_MAX || mtu < 512)
		return -1;
	memset(e, 0, offsetof(struct nfx_encoder, buf));
	e->version = version;
	e->fields = flds;
	e->domain = domain;
	e->engine_type = (uint8_t)(domain >> 8);
	e->engine_id = (uint8_t)domain;
	e->mtu = mtu;
	e->boot = boot;
	e->send = send;
	e->send_arg = send_arg;
	e->rec_len[0] = (uint16_t)nfx_record_len(e, 4);
	e->rec_len[1] = (uint16_t)nfx_record_len(e, 6);
	return 0;
}

/* Milliseconds since the exporter's boot, as sysUptime counts them (wraps at 2^32). */
static uint32_t uptime_ms(const struct nfx_encoder *e, nt_usec t)
{
	return t > e->boot ? (uint32_t)((t - e->boot) / 1000u) : 0;
}

/* Close the open data set: its length and, in v9, padding to 4 bytes. */
static void close_set(struct nfx_encoder *e)
{
	if (!e->set_off)
		return;
	if (e->version == 9)
		while ((e->len - e->set_off) % 4)
			e->buf[e->len++] = 0;
	put16(e->buf + e->set_off + 2, (uint16_t)(e->len - e->set_off));
	e->set_off = 0;
}

/* The template set with both data templates. */
static void put_templates(struct nfx_encoder *e)
{
	size_t start = e->len;
	uint8_t *p = e->buf + start;
	p = put16(p, e->version == 10 ? 2 : 0); /* template set / template flowset id */
	p += 2;					/* length, below */
	for (int v6 = 0; v6 <= 1; v6++) {
		uint8_t *cnt;
		p = put16(p, v6 ? NFX_TPL_V6 : NFX_TPL_V4);
		cnt = p;
		p += 2;
		uint16_t n = 0;
		for (size_t i = 0; i < NFIELDS; i++) {
			uint16_t id, len;
			if (!field_on(e, &fields[i]))
				continue;
			ie_of(e, &fields[i], v6, &id, &len);
			p = put16(p, id);
			p = put16(p, len);
			n++;
		}
		put16(cnt, n);
		e->hdr_count++; /* v9 counts template records too */
	}
	e->len = (size_t)(p - e->buf);
	put16(e->buf + start + 2, (uint16_t)(e->len - start));
}

static void start_dgram(struct nfx_encoder *e, nt_usec now)
{
	e->len = header_len(e);
	e->records = 0;
	e->hdr_count = 0;
	e->set_off = 0;
	if (e->version == 5)
		return;
	if (!e->tpl_sent_at || e->dgrams_since_tpl >= NFX_TPL_EVERY_DGRAMS ||
	    now >= e->tpl_sent_at + (nt_usec)NFX_TPL_EVERY_SECS * 1000000u) {
		put_templates(e);
		e->tpl_sent_at = now ? now : 1;
		e->dgrams_since_tpl = 0;
	}
}

void nfx_flush(struct nfx_encoder *e, nt_usec now)
{
	if (!e->len)
		return;
	if (!e->records && e->version == 5) {
		e->len = 0;
		return;
	}
	close_set(e);
	uint8_t *p = e->buf;
	uint32_t secs = (uint32_t)(now / 1000000u);
	switch (e->version) {
	case 5:
		p = put16(p, 5);
		p = put16(p, (uint16_t)e->records);
		p = put32(p, uptime_ms(e, now));
		p = put32(p, secs);
		p = put32(p, (uint32_t)(now % 1000000u) * 1000u);
		p = put32(p, e->seq);
		*p++ = e->engine_type;
		*p++ = e->engine_id;
		put16(p, 0); /* sampling: none */
		e->seq += e->records;
		break;
	case 9:
		p = put16(p, 9);
		p = put16(p, (uint16_t)e->hdr_count);
		p = put32(p, uptime_ms(e, now));
		p = put32(p, secs);
		p = put32(p, e->seq);
		put32(p, e->domain);
		e->seq++;
		break;
	default:
		p = put16(p, 10);
		p = put16(p, (uint16_t)e->len);
		p = put32(p, secs);
		p = put32(p, e->seq);
		put32(p, e->domain);
		e->seq += e->records;
		break;
	}
	e->dgrams_since_tpl++;
	size_t len = e->len;
	unsigned records = e->records;
	e->len = 0;
	e->records = 0;
	e->send(e->send_arg, e->buf, len, records);
}

static uint8_t *put_addr(uint8_t *p, const struct nt_addr *a, int v6)
{
	size_t n = v6 ? 16 : 4;
	if (a->family == (v6 ? 6 : 4))
		memcpy(p, a->a, n);
	else
		memset(p, 0, n);
	return p + n;
}

static void put_v5(struct nfx_encoder *e, const struct nfx_flow *f)
{
	uint8_t *p = e->buf + e->len;
	p = put_addr(p, &f->src, 0);
	p = put_addr(p, &f->dst, 0);
	p = put32(p, 0); /* next hop */
	p = put16(p, (uint16_t)f->in_iface);
	p = put16(p, (uint16_t)f->out_iface);
	p = put32(p, f->packets > UINT32_MAX ? UINT32_MAX : (uint32_t)f->packets);
	p = put32(p, f->bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)f->bytes);
	p = put32(p, uptime_ms(e, f->first));
	p = put32(p, uptime_ms(e, f->last));
	p = put16(p, f->src_port);
	p = put16(p, f->dst_port);
	*p++ = 0;
	*p++ = f->tcp_flags;
	*p++ = f->proto;
	*p++ = f->tos;
	p = put16(p, (uint16_t)f->src_as);
	p = put16(p, (uint16_t)f->dst_as);
	*p++ = f->src_mask;
	*p++ = f->dst_mask;
	put16(p, 0);
	e->len += 48;
}

static void put_record(struct nfx_encoder *e, const struct nfx_flow *f, int v6)
{
	uint8_t *p = e->buf + e->len;
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct nfx_ie *d = &fields[i];
		if (!field_on(e, d))
			continue;
		switch (d->src) {
		case S_SRC_ADDR:
			p = put_addr(p, &f->src, v6);
			break;
		case S_DST_ADDR:
			p = put_addr(p, &f->dst, v6);
			break;
		case S_SRC_MASK:
			*p++ = f->src_mask;
			break;
		case S_DST_MASK:
			*p++ = f->dst_mask;
			break;
		case S_SRC_PORT:
			p = put16(p, f->src_port);
			break;
		case S_DST_PORT:
			p = put16(p, f->dst_port);
			break;
		case S_PROTO:
			*p++ = f->proto;
			break;
		case S_TOS:
			*p++ = f->tos;
			break;
		case S_TCP_FLAGS:
			*p++ = f->tcp_flags;
			break;
		case S_IN_IFACE:
			p = put32(p, f->in_iface);
			break;
		case S_OUT_IFACE:
			p = put32(p, f->out_iface);
			break;
		case S_SRC_AS:
			p = put32(p, f->src_as);
			break;
		case S_DST_AS:
			p = put32(p, f->dst_as);
			break;
		case S_VLAN:
			p = put16(p, f->vlan);
			break;
		case S_SRC_MAC:
			memcpy(p, f->src_mac, 6);
			p += 6;
			break;
		case S_DST_MAC:
			memcpy(p, f->dst_mac, 6);
			p += 6;
			break;
		case S_MPLS_TOP:
			*p++ = (uint8_t)(f->mpls_top >> 16);
			*p++ = (uint8_t)(f->mpls_top >> 8);
			*p++ = (uint8_t)f->mpls_top;
			break;
		case S_DIRECTION:
			*p++ = f->direction;
			break;
		case S_FLOWS:
			p = put64(p, f->flows);
			break;
		case S_APP_NAME:
			memcpy(p, f->app_name, NFX_APP_NAME_LEN);
			p += NFX_APP_NAME_LEN;
			break;
		case S_PACKETS:
			p = put64(p, f->packets);
			break;
		case S_BYTES:
			p = put64(p, f->bytes);
			break;
		case S_FIRST:
		case S_LAST: {
			nt_usec t = d->src == S_FIRST ? f->first : f->last;
			if (e->version == 10)
				p = put64(p, t / 1000u);
			else
				p = put32(p, uptime_ms(e, t));
			break;
		}
		}
	}
	e->len = (size_t)(p - e->buf);
}

enum nfx_added nfx_add(struct nfx_encoder *e, const struct nfx_flow *f, nt_usec now)
{
	int v6 = f->src.family == 6 || f->dst.family == 6;
	if (e->version == 5) {
		if (v6)
			return NFX_SKIPPED;
		if (e->len && e->records == NFX_V5_MAX_RECORDS)
			nfx_flush(e, now);
		if (!e->len)
			start_dgram(e, now);
		put_v5(e, f);
		e->records++;
		return NFX_ADDED;
	}
	uint16_t tpl = v6 ? NFX_TPL_V6 : NFX_TPL_V4;
	size_t rlen = e->rec_len[v6];
	for (int pass = 0; pass < 2; pass++) {
		if (!e->len)
			start_dgram(e, now);
		int new_set = !e->set_off || e->set_id != tpl;
		/* room for the record, a set header if one opens, and v9 padding */
		size_t need = rlen + (new_set ? 4 : 0) + 3;
		if (e->len + need <= e->mtu || (pass == 1))
			break;
		nfx_flush(e, now);
	}
	if (!e->set_off || e->set_id != tpl) {
		close_set(e);
		e->set_off = e->len;
		e->set_id = tpl;
		put16(e->buf + e->len, tpl);
		put16(e->buf + e->len + 2, 0);
		e->len += 4;
	}
	put_record(e, f, v6);
	e->records++;
	e->hdr_count++;
	return NFX_ADDED;
}
