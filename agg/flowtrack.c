#include "agg/flowtrack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg/table.h" /* agg_hash */

#define NIL UINT32_MAX

/* A flow, both directions: the lower (address, port) endpoint first. */
struct ft_key {
	uint8_t lo[16], hi[16];
	uint16_t lo_port, hi_port;
	uint8_t proto, family;
	uint8_t pad[2];
};
_Static_assert(sizeof(struct ft_key) % 8 == 0, "agg_hash takes multiples of 8 bytes");

struct ft_entry {
	struct ft_key k;
	nt_usec last;	       /* last packet, either direction */
	uint32_t hnext;	       /* bucket chain */
	uint32_t lprev, lnext; /* recency list: head is the most recent */
	uint8_t seen;	       /* bit per direction (0: lo -> hi) */
};

struct flowtrack {
	struct flowtrack_opts o;
	struct ft_entry *e;
	uint32_t cap, used;
	uint32_t *bucket; /* nbuckets heads, NIL when empty */
	uint32_t nbuckets;
	uint32_t head, tail; /* recency list */
	uint32_t free_head;  /* entries never used are taken in order; freed ones chain here */
	struct flowtrack_stats st;
};

struct flowtrack *flowtrack_new(const struct flowtrack_opts *o, char *err, size_t errlen)
{
	struct flowtrack *ft = calloc(1, sizeof *ft);
	if (!ft) {
		snprintf(err, errlen, "flow tracking: out of memory");
		return NULL;
	}
	ft->o = *o;
	size_t per = sizeof(struct ft_entry) + 2 * sizeof(uint32_t); /* entry and ~2 heads */
	size_t n = o->max_bytes / per;
	if (n < 16)
		n = 16;
	if (n > (1u << 30))
		n = 1u << 30;
	ft->cap = (uint32_t)n;
	ft->nbuckets = 16;
	while (ft->nbuckets < 2 * ft->cap)
		ft->nbuckets <<= 1;
	ft->e = malloc((size_t)ft->cap * sizeof *ft->e);
	ft->bucket = malloc((size_t)ft->nbuckets * sizeof *ft->bucket);
	if (!ft->e || !ft->bucket) {
		snprintf(err, errlen,
			 "flow tracking: cannot allocate %zu bytes (see flow_buffer_size)",
			 o->max_bytes);
		flowtrack_free(ft);
		return NULL;
	}
	memset(ft->bucket, 0xff, (size_t)ft->nbuckets * sizeof *ft->bucket);
	ft->head = ft->tail = ft->free_head = NIL;
	ft->st.capacity = ft->cap;
	return ft;
}

void flowtrack_free(struct flowtrack *ft)
{
	if (!ft)
		return;
	free(ft->e);
	free(ft->bucket);
	free(ft);
}

/* The flow's key and the packet's direction within it (0: lo -> hi). */
static unsigned make_key(const struct flow_rec *r, struct ft_key *k)
{
	memset(k, 0, sizeof *k);
	if (!FR_HAS(r, FR_SRC_ADDR) || !FR_HAS(r, FR_DST_ADDR))
		return 0; /* not IP: one pseudo flow */
	uint16_t sp = FR_HAS(r, FR_SRC_PORT) ? r->src_port : 0;
	uint16_t dp = FR_HAS(r, FR_DST_PORT) ? r->dst_port : 0;
	k->proto = FR_HAS(r, FR_PROTO) ? r->proto : 0;
	k->family = r->src_addr.family;
	int c = memcmp(r->src_addr.a, r->dst_addr.a, 16);
	unsigned dir = c > 0 || (c == 0 && sp > dp);
	const struct nt_addr *lo = dir ? &r->dst_addr : &r->src_addr;
	const struct nt_addr *hi = dir ? &r->src_addr : &r->dst_addr;
	memcpy(k->lo, lo->a, 16);
	memcpy(k->hi, hi->a, 16);
	k->lo_port = dir ? dp : sp;
	k->hi_port = dir ? sp : dp;
	return dir;
}

static void list_unlink(struct flowtrack *ft, uint32_t i)
{
	struct ft_entry *x = &ft->e[i];
	if (x->lprev != NIL)
		ft->e[x->lprev].lnext = x->lnext;
	else
		ft->head = x->lnext;
	if (x->lnext != NIL)
		ft->e[x->lnext].lprev = x->lprev;
	else
		ft->tail = x->lprev;
}

static void list_push_head(struct flowtrack *ft, uint32_t i)
{
	struct ft_entry *x = &ft->e[i];
	x->lprev = NIL;
	x->lnext = ft->head;
	if (ft->head != NIL)
		ft->e[ft->head].lprev = i;
	ft->head = i;
	if (ft->tail == NIL)
		ft->tail = i;
}

static uint32_t bucket_of(const struct flowtrack *ft, const struct ft_key *k)
{
	return (uint32_t)(agg_hash((const uint8_t *)k, sizeof *k) & (ft->nbuckets - 1));
}

static void hash_unlink(struct flowtrack *ft, uint32_t i)
{
	uint32_t *p = &ft->bucket[bucket_of(ft, &ft->e[i].k)];
	while (*p != i)
		p = &ft->e[*p].hnext;
	*p = ft->e[i].hnext;
}

static int idle_past(const struct flowtrack *ft, const struct ft_entry *x, nt_usec now)
{
	uint64_t life = (uint64_t)(x->k.proto == 6 ? ft->o.tcp_lifetime_s : ft->o.lifetime_s);
	/* time going backwards (a savefile replayed from its start) is no idling */
	return now > x->last && now - x->last > life * 1000000u;
}

/* An entry to hold a new flow: a free one, else the least recently seen. */
static uint32_t take_entry(struct flowtrack *ft, nt_usec now)
{
	uint32_t i;
	if (ft->used < ft->cap)
		return ft->used++;
	if (ft->free_head != NIL) {
		i = ft->free_head;
		ft->free_head = ft->e[i].hnext;
		return i;
	}
	i = ft->tail;
	if (idle_past(ft, &ft->e[i], now))
		ft->st.expired++;
	else
		ft->st.evicted++;
	list_unlink(ft, i);
	hash_unlink(ft, i);
	ft->st.active--;
	return i;
}

unsigned flowtrack_packet(struct flowtrack *ft, struct flow_rec *r, nt_usec now)
{
	struct ft_key k;
	unsigned dir = make_key(r, &k);
	uint32_t b = bucket_of(ft, &k);
	uint32_t i = ft->bucket[b];
	while (i != NIL && memcmp(&ft->e[i].k, &k, sizeof k) != 0)
		i = ft->e[i].hnext;
	unsigned opened;
	if (i != NIL) {
		struct ft_entry *x = &ft->e[i];
		if (idle_past(ft, x, now)) {
			ft->st.expired++;
			x->seen = 0;
		}
		opened = !(x->seen & (1u << dir));
		x->seen |= (uint8_t)(1u << dir);
		if (now > x->last)
			x->last = now;
		list_unlink(ft, i);
		list_push_head(ft, i);
	} else {
		i = take_entry(ft, now);
		struct ft_entry *x = &ft->e[i];
		x->k = k;
		x->last = now;
		x->seen = (uint8_t)(1u << dir);
		b = bucket_of(ft, &k);
		x->hnext = ft->bucket[b];
		ft->bucket[b] = i;
		list_push_head(ft, i);
		ft->st.active++;
		opened = 1;
	}
	/* idle flows at the cold end go now, so a quiet table does not keep them */
	while (ft->tail != NIL && ft->tail != i && idle_past(ft, &ft->e[ft->tail], now)) {
		uint32_t t = ft->tail;
		list_unlink(ft, t);
		hash_unlink(ft, t);
		ft->e[t].hnext = ft->free_head;
		ft->free_head = t;
		ft->st.active--;
		ft->st.expired++;
	}
	ft->st.flows += opened;
	r->flows = opened;
	FR_SET(r, FR_FLOWS);
	return opened;
}

void flowtrack_clear(struct flowtrack *ft)
{
	memset(ft->bucket, 0xff, (size_t)ft->nbuckets * sizeof *ft->bucket);
	ft->head = ft->tail = ft->free_head = NIL;
	ft->used = 0;
	ft->st.active = 0;
}

void flowtrack_get_stats(const struct flowtrack *ft, struct flowtrack_stats *st)
{
	*st = ft->st;
}
