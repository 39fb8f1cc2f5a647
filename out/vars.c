#include "out/vars.h"

#include <string.h>

static const struct {
	const char *name; /* longest first where one is a prefix of another */
	enum out_var var;
	const char *prim;
} vars[] = {
    {"$peer_src_ip", OV_PEER_SRC_IP, "peer_src_ip"},
    {"$post_tag2", OV_POST_TAG2, NULL},
    {"$post_tag", OV_POST_TAG, NULL},
    {"$tag2", OV_TAG2, "tag2"},
    {"$tag", OV_TAG, "tag"},
};

void out_vars_init(struct out_vars *v, const char *tmpl, const struct keyspec *ks,
		   const char *post_tag, const char *post_tag2)
{
	memset(v, 0, sizeof *v);
	v->tmpl = tmpl ? tmpl : "";
	v->post_tag[0] = post_tag;
	v->post_tag[1] = post_tag2;
	for (int i = 0; i < OV__COUNT; i++)
		v->field[i] = -1;
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		if (!vars[i].prim || !strstr(v->tmpl, vars[i].name))
			continue;
		v->dynamic = 1;
		for (unsigned f = 0; f < ks->n; f++)
			if (strcmp(ks->f[f].p->name, vars[i].prim) == 0)
				v->field[vars[i].var] = (int)f;
	}
}

static void field_text(const struct keyspec *ks, int f, const struct agg_entry *e, struct obuf *out)
{
	if (f < 0 || !e)
		return;
	struct prim_val val;
	const struct keyspec_field *kf = &ks->f[f];
	memset(&val, 0, sizeof val);
	kf->p->render(keyspec_value(kf, e->key, &e->c), kf, &ks->opts, &val);
	obuf_puts(out, val.s);
}

void out_vars_round_robin(struct out_vars *v, unsigned rr)
{
	v->rr = rr;
	v->rr_next = 0;
}

int out_vars_expand(struct out_vars *v, const struct keyspec *ks, const struct agg_entry *e,
		    struct obuf *out)
{
	obuf_reset(out);
	for (const char *p = v->tmpl; *p;) {
		size_t i, n = 0;
		if (*p == '$')
			for (i = 0; i < sizeof vars / sizeof vars[0]; i++)
				if (strncmp(p, vars[i].name, (n = strlen(vars[i].name))) == 0)
					break;
		if (*p != '$' || i == sizeof vars / sizeof vars[0]) {
			obuf_putc(out, *p++);
			continue;
		}
		enum out_var var = vars[i].var;
		if (var == OV_POST_TAG || var == OV_POST_TAG2) {
			const char *t = v->post_tag[var == OV_POST_TAG2];
			obuf_puts(out, t ? t : "");
		} else {
			field_text(ks, v->field[var], e, out);
		}
		p += n;
	}
	if (v->rr) {
		obuf_printf(out, "_%u", v->rr_next);
		v->rr_next = (v->rr_next + 1) % v->rr;
	}
	return obuf_status(out) < 0 ? -1 : 0;
}
