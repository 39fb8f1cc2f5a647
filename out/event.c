#include "out/event.h"

#include <stdlib.h>
#include <string.h>

struct out_event *out_event_new(const char *type)
{
	struct out_event *ev = malloc(sizeof *ev);
	if (!ev)
		return NULL;
	ev->type = type;
	ev->n = 0;
	ev->truncated = 0;
	ev->text_len = 0;
	return ev;
}

void out_event_free(struct out_event *ev)
{
	free(ev);
}

static struct out_event_field *add(struct out_event *ev, const char *name, enum prim_kind kind)
{
	if (ev->n == OUT_EVENT_FIELDS_MAX) {
		ev->truncated = 1;
		return NULL;
	}
	struct out_event_field *f = &ev->f[ev->n];
	memset(f, 0, sizeof *f);
	f->name = name;
	f->kind = kind;
	return f;
}

int out_event_add_uint(struct out_event *ev, const char *name, uint64_t u)
{
	struct out_event_field *f = add(ev, name, PV_UINT);
	if (!f)
		return -1;
	f->u = u;
	ev->n++;
	return 0;
}

int out_event_add_str(struct out_event *ev, const char *name, const char *s)
{
	struct out_event_field *f = add(ev, name, PV_STR);
	size_t l = strlen(s);
	if (!f || l >= PRIM_TEXT_MAX || l > sizeof ev->text - ev->text_len) {
		ev->truncated = 1;
		return -1;
	}
	memcpy(ev->text + ev->text_len, s, l);
	f->off = (uint16_t)ev->text_len;
	f->len = (uint16_t)l;
	ev->text_len += (unsigned)l;
	ev->n++;
	return 0;
}

int out_event_add_addr(struct out_event *ev, const char *name, const struct nt_addr *a)
{
	struct out_event_field *f = add(ev, name, PV_ADDR);
	if (!f)
		return -1;
	f->addr[0] = a->family;
	memcpy(f->addr + 1, a->a, 16);
	ev->n++;
	return 0;
}

int out_event_add_null(struct out_event *ev, const char *name)
{
	if (!add(ev, name, PV_NULL))
		return -1;
	ev->n++;
	return 0;
}

void out_event_value(const struct out_event *ev, unsigned i, struct prim_val *v)
{
	const struct out_event_field *f = &ev->f[i];
	switch (f->kind) {
	case PV_UINT:
		prim_val_uint(v, f->u);
		break;
	case PV_ADDR:
		prim_val_addr(v, f->addr);
		break;
	case PV_STR:
		v->kind = PV_STR;
		memcpy(v->s, ev->text + f->off, f->len);
		v->s[f->len] = '\0';
		break;
	default:
		prim_val_null(v);
	}
}
