#include "proto/netflow.h"

#include <stdlib.h>
#include <string.h>

#include "proto/cursor.h"
#include "proto/nf_template.h"

static const char *const err_names[NF_ERR__COUNT] = {
    [NF_OK] = "ok",
    [NF_ERR_SHORT] = "short_datagram",
    [NF_ERR_VERSION] = "bad_version",
    [NF_ERR_COUNT] = "bad_count",
    [NF_ERR_TRUNCATED] = "truncated",
    [NF_ERR_BAD_SET] = "bad_set",
    [NF_ERR_BAD_TEMPLATE] = "bad_template",
    [NF_ERR_NO_TEMPLATE] = "no_template",
    [NF_ERR_BAD_OPTIONS] = "bad_options",
    [NF_ERR_LIMIT] = "limit_reached",
};

const char *nf_err_name(enum nf_err e)
{
	return (unsigned)e < NF_ERR__COUNT ? err_names[e] : "unknown";
}

int nf_collector_init(struct nf_collector *c, const struct nf_options *opt, nf_emit_fn emit,
		      void *emit_arg)
{
	memset(c, 0, sizeof *c);
	c->nbuckets = 256;
	c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
	if (!c->buckets)
		return -1;
	if (opt)
		c->opt = *opt;
	c->opt.skip = nf_skip_normalize(c->opt.skip);
	c->emit = emit;
	c->emit_arg = emit_arg;
	c->tpl_budget.max = c->opt.max_templates;
	return 0;
}

void nf_collector_free(struct nf_collector *c)
{
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct nf_exporter *e = c->buckets[i];
		while (e) {
			struct nf_exporter *next = e->next;
			nf9_exporter_free(e);
			free(e);
			e = next;
		}
	}
	free(c->buckets);
	c->buckets = NULL;
}

static size_t addr_hash(const struct nt_addr *a, size_t nbuckets)
{
	uint64_t h = 1469598103934665603ull ^ a->family;
	for (int i = 0; i < 16; i++)
		h = (h ^ a->a[i]) * 1099511628211ull;
	return (size_t)(h & (nbuckets - 1));
}

/* Double the bucket array once chains get long: lookups stay O(1) at 10k+ exporters. */
static void rehash(struct nf_collector *c)
{
	size_t n = c->nbuckets * 2;
	struct nf_exporter **b = calloc(n, sizeof *b);
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct nf_exporter *e = c->buckets[i];
		while (e) {
			struct nf_exporter *next = e->next;
			size_t h = addr_hash(&e->addr, n);
			e->next = b[h];
			b[h] = e;
			e = next;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
}

struct nf_exporter *nf_exporter_get(struct nf_collector *c, const struct nt_addr *addr,
				    uint16_t port)
{
	size_t b = addr_hash(addr, c->nbuckets);
	for (struct nf_exporter *e = c->buckets[b]; e; e = e->next)
		if (e->addr.family == addr->family && memcmp(e->addr.a, addr->a, 16) == 0) {
			e->port = port;
			return e;
		}
	if (c->opt.max_exporters && c->nexporters >= c->opt.max_exporters) {
		c->refused++;
		return NULL;
	}
	struct nf_exporter *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->addr = *addr;
	e->port = port;
	if (c->nexporters >= c->nbuckets * 2) {
		rehash(c);
		b = addr_hash(addr, c->nbuckets);
	}
	e->next = c->buckets[b];
	c->buckets[b] = e;
	c->nexporters++;
	return e;
}

void nf_collector_foreach(struct nf_collector *c, void (*fn)(void *arg, struct nf_exporter *ex),
			  void *arg)
{
	for (size_t i = 0; i < c->nbuckets; i++)
		for (struct nf_exporter *e = c->buckets[i]; e; e = e->next)
			fn(arg, e);
}

enum nf_seq nf_seq_check(struct nf_exporter *ex, const struct nf_seq_in *in)
{
	unsigned slot = 8, free_slot = 8;
	enum nf_seq res = NF_SEQ_FIRST;

	for (unsigned i = 0; i < 8 && slot == 8; i++) {
		if (!ex->seq[i].valid) {
			if (free_slot == 8)
				free_slot = i;
		} else if (ex->seq[i].version == in->version && ex->seq[i].domain == in->domain) {
			slot = i;
		}
	}
	if (slot == 8) {
		/* more domains than slots: evict one */
		slot = free_slot != 8 ? free_slot : (unsigned)(in->domain % 8);
		ex->seq[slot].valid = 1;
		ex->seq[slot].version = in->version;
		ex->seq[slot].domain = in->domain;
		ex->seq[slot].synced = 0;
		ex->seq[slot].has_uptime = 0;
	}
	if (ex->seq[slot].synced) {
		uint32_t d = in->seq - ex->seq[slot].next_seq;
		/* the exporter's clock went back: it restarted, whatever its new sequence */
		int restarted = in->has_uptime && ex->seq[slot].has_uptime &&
				(int32_t)(in->uptime_ms - ex->seq[slot].last_uptime) < 0;
		if (d == 0) {
			res = NF_SEQ_IN_ORDER;
		} else if (restarted || d >= 0x80000000u) {
			res = NF_SEQ_RESET;
			ex->st.seq_resets++;
		} else {
			res = NF_SEQ_GAP;
			ex->st.seq_gaps++;
			ex->st.lost_flows += d;
		}
	}
	ex->seq[slot].next_seq = in->seq + in->advance;
	ex->seq[slot].synced = !in->advance_unknown;
	ex->seq[slot].has_uptime = in->has_uptime;
	ex->seq[slot].last_uptime = in->uptime_ms;
	return res;
}

int nf_legacy_hdr_read(struct cursor *cur, struct nf_legacy_hdr *h)
{
	if (cur_left(cur) < NF_LEGACY_HDR_LEN)
		return -1;
	cur_u16(cur, &h->version);
	cur_u16(cur, &h->count);
	cur_u32(cur, &h->uptime_ms);
	cur_u32(cur, &h->secs);
	cur_u32(cur, &h->nsecs);
	cur_u32(cur, &h->seq);
	cur_u8(cur, &h->engine_type);
	cur_u8(cur, &h->engine_id);
	return 0;
}

nt_usec nf_legacy_export_usec(const struct nf_legacy_hdr *h)
{
	return (nt_usec)h->secs * 1000000u + h->nsecs / 1000u;
}

nt_usec nf_uptime_to_usec(nt_usec export_usec, uint32_t uptime_ms, uint32_t stamp_ms)
{
	/* signed: a flow may end a little after the export header was stamped */
	int64_t delta_ms = (int64_t)(int32_t)(uptime_ms - stamp_ms);
	int64_t t = (int64_t)export_usec - delta_ms * 1000;
	return t > 0 ? (nt_usec)t : 0;
}

enum nf_err nf_decode(struct nf_collector *c, struct nf_exporter *ex, const uint8_t *buf,
		      size_t len, nt_usec arrival)
{
	struct cursor cur = cur_make(buf, len);
	uint16_t version;
	enum nf_err rc;

	ex->st.datagrams++;
	if (cur_u16(&cur, &version) < 0) {
		rc = NF_ERR_SHORT;
		goto bad;
	}
	switch (version) {
	case 5:
		rc = nf5_decode(c, ex, buf, len, arrival);
		break;
	case 8:
		rc = nf8_decode(c, ex, buf, len, arrival);
		c->rec_owner = 0; /* fields vary per record: v5 must clear again */
		break;
	case 9:
	case 10:
		rc = nf9_decode(c, ex, buf, len, arrival);
		c->rec_owner = 0;
		break;
	default:
		rc = NF_ERR_VERSION;
		break;
	}
	/* the decoder counted each data set without a template itself */
	if (rc == NF_OK || rc == NF_ERR_NO_TEMPLATE)
		return rc;
bad:
	ex->st.err[rc]++;
	return rc;
}
