/*
 * Unit tests for agg/tagging.c and its neighbours: per-output selection
 * (filters, tag and label lists, post_tag and its undo), the tag / label
 * primitives (label as a string or a map), writer_id_string and the
 * NetFlow v9 / IPFIX pre-processing checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agg/primitive.h"
#include "agg/tagging.h"
#include "proto/nf_preflight.h"

static struct conf_plugin plugin(void)
{
	struct conf_plugin pc;
	memset(&pc, 0, sizeof pc);
	snprintf(pc.name, sizeof pc.name, "p");
	return pc;
}

static int keeps(const struct out_select *s, struct flow_rec *r)
{
	struct out_select_scratch sc;
	struct out_select_undo u;
	out_select_begin(&sc, r);
	uint64_t before = r->present, tag = r->tag;
	if (!out_select_enter(s, r, &sc, &u)) {
		assert_int_equal(r->present, before);
		return 0;
	}
	out_select_leave(r, &u);
	assert_int_equal(r->present, before);
	assert_int_equal(r->tag, tag);
	return 1;
}

static void test_selection(void **state)
{
	(void)state;
	struct tagging t;
	struct conf c;
	struct maps maps;
	char err[512];
	memset(&c, 0, sizeof c);
	maps_init(&maps, NULL, NULL);
	c.nplugins = 3;
	c.plugin[0] = plugin();
	c.plugin[1] = plugin();
	c.plugin[2] = plugin();
	char f0[] = "1-3", l1[] = "null,x", pt[] = "99", af[] = "udp";
	c.plugin[0].pre_tag_filter = f0;
	c.plugin[1].pre_tag_label_filter = l1;
	c.plugin[1].post_tag = pt;
#ifdef HAVE_PCAP
	c.plugin[2].aggregate_filter = af;
#endif
	assert_int_equal(tagging_setup(&t, &c, &maps, err, sizeof err), 0);
	assert_false(t.pretag);
	assert_true(t.sel[0].active && t.sel[1].active);

	struct flow_rec r;
	memset(&r, 0, sizeof r);
	r.proto = 17;
	r.src_addr.family = r.dst_addr.family = 4;
	FR_SET(&r, FR_PROTO);
	FR_SET(&r, FR_SRC_ADDR);
	FR_SET(&r, FR_DST_ADDR);
	assert_false(keeps(&t.sel[0], &r)); /* untagged: 0 is not in 1-3 */
	r.tag = 2;
	FR_SET(&r, FR_TAG);
	assert_true(keeps(&t.sel[0], &r));
	assert_true(keeps(&t.sel[1], &r)); /* no label */
	r.label = "y";
	FR_SET(&r, FR_LABEL);
	assert_false(keeps(&t.sel[1], &r));
	r.label = "x";
	/* post_tag applies while the output's key is extracted, then is undone */
	struct out_select_scratch sc;
	struct out_select_undo u;
	out_select_begin(&sc, &r);
	assert_true(out_select_enter(&t.sel[1], &r, &sc, &u));
	assert_int_equal(r.tag, 99);
	out_select_leave(&r, &u);
	assert_int_equal(r.tag, 2);
#ifdef HAVE_PCAP
	assert_true(keeps(&t.sel[2], &r));
	r.proto = 6;
	assert_false(keeps(&t.sel[2], &r));
#endif
	tagging_free(&t);

	/* a bad value is an error naming the key and the instance */
	char bad[] = "src nett 1.2.3.4";
	c.plugin[2].aggregate_filter = bad;
	c.plugin[0].pre_tag_filter = NULL;
	assert_int_equal(tagging_setup(&t, &c, &maps, err, sizeof err), -1);
	assert_non_null(strstr(err, "aggregate_filter[p]"));
	maps_free(&maps);
}

static const char *tmp_map(char *path, const char *text)
{
	snprintf(path, 64, "/tmp/netacct-unit-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* pre_tag_map: one stage when every output has the same map, else one map per output. */
static void test_own_maps(void **state)
{
	(void)state;
	char pa[64], pb[64], err[512];
	struct tagging t;
	struct conf c;
	struct maps maps;
	tmp_map(pa, "set_tag=1 in=1\nset_label=a in=2\n");
	tmp_map(pb, "set_tag=2 in=1\n");
	memset(&c, 0, sizeof c);
	c.nplugins = 3;
	for (int i = 0; i < 3; i++) {
		c.plugin[i] = plugin();
		c.plugin[i].pre_tag_map = pa;
	}
	maps_init(&maps, NULL, NULL);
	assert_int_equal(tagging_setup(&t, &c, &maps, err, sizeof err), 0);
	assert_true(t.pretag);
	assert_int_equal(maps.n, 1);
	assert_false(t.sel[0].has_map || t.sel[1].has_map || t.sel[2].has_map);
	tagging_free(&t);
	maps_free(&maps);

	/* output 1 has its own map, output 2 none: no stage, two maps */
	char f1[] = "2";
	c.plugin[1].pre_tag_map = pb;
	c.plugin[1].pre_tag_filter = f1;
	c.plugin[2].pre_tag_map = NULL;
	maps_init(&maps, NULL, NULL);
	assert_int_equal(tagging_setup(&t, &c, &maps, err, sizeof err), 0);
	assert_false(t.pretag);
	assert_int_equal(maps.n, 2);
	assert_true(t.sel[0].has_map && t.sel[1].has_map && !t.sel[2].has_map);
	assert_int_equal(maps_load_all(&maps, err, sizeof err), 0);

	struct flow_rec r;
	memset(&r, 0, sizeof r);
	r.in_iface = 1;
	FR_SET(&r, FR_IN_IFACE);
	struct out_select_scratch sc;
	struct out_select_undo u;
	out_select_begin(&sc, &r);
	assert_true(out_select_enter(&t.sel[0], &r, &sc, &u));
	assert_true(FR_HAS(&r, FR_TAG));
	assert_int_equal(r.tag, 1);
	out_select_leave(&r, &u);
	assert_false(FR_HAS(&r, FR_TAG));
	assert_true(
	    out_select_enter(&t.sel[1], &r, &sc, &u)); /* its map: tag 2, passes its filter */
	assert_int_equal(r.tag, 2);
	out_select_leave(&r, &u);
	assert_false(t.sel[2].active);
	/* a label from output 0's map does not reach output 1 */
	r.in_iface = 2;
	out_select_begin(&sc, &r);
	assert_true(out_select_enter(&t.sel[0], &r, &sc, &u));
	assert_string_equal(r.label, "a");
	out_select_leave(&r, &u);
	assert_false(out_select_enter(&t.sel[1], &r, &sc, &u)); /* untagged by its map */
	assert_false(FR_HAS(&r, FR_LABEL));
	tagging_free(&t);
	maps_free(&maps);
	unlink(pa);
	unlink(pb);
}

static void render_label(const char *label, int as_map, struct prim_val *v)
{
	struct keyspec ks;
	struct prim_opts o = {.label_as_map = as_map};
	char err[256];
	uint8_t key[512];
	struct flow_rec r;
	memset(&r, 0, sizeof r);
	assert_int_equal(keyspec_build(&ks, "label, tag", NULL, &o, err, sizeof err), 0);
	if (label) {
		r.label = label;
		FR_SET(&r, FR_LABEL);
	}
	keyspec_extract(&ks, &r, key);
	assert_string_equal(ks.f[0].p->name, "tag");
	assert_string_equal(ks.f[1].p->name, "label");
	ks.f[1].p->render(key + ks.f[1].off, &ks.f[1], &ks.opts, v);
}

static void test_label_rendering(void **state)
{
	(void)state;
	struct prim_val v;
	render_label("nkey%100.1,pkey%testing", 1, &v);
	assert_int_equal(v.kind, PV_MAP);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.s, "nkey=100.1,pkey=testing");
	render_label(NULL, 1, &v);
	assert_int_equal(v.kind, PV_MAP);
	assert_int_equal(v.n, 0);
	render_label("plain", 0, &v);
	assert_int_equal(v.kind, PV_STR);
	assert_string_equal(v.s, "plain");
	render_label(NULL, 0, &v);
	assert_string_equal(v.s, "");
	/* longer than the key: cut to 127 characters */
	char longl[300];
	memset(longl, 'a', sizeof longl - 1);
	longl[sizeof longl - 1] = '\0';
	render_label(longl, 0, &v);
	assert_int_equal(strlen(v.s), PRETAG_LABEL_MAX - 1);
}

static void test_writer_id(void **state)
{
	(void)state;
	char out[128], want[128];
	assert_int_equal(writer_id_expand("$proc_name", "nfacctd_kafka", out, sizeof out), 0);
	assert_string_equal(out, "nfacctd_kafka");
	assert_int_equal(
	    writer_id_expand("$proc_name/$writer_pid-$pmacct_build$", "x", out, sizeof out), 0);
	snprintf(want, sizeof want, "x/%d-%s$", (int)getpid(), PACKAGE_VERSION);
	assert_string_equal(out, want);
	assert_int_equal(writer_id_expand("$proc_name", "0123456789", out, 8), -1);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void test_preflight(void **state)
{
	(void)state;
	uint8_t b[128];
	memset(b, 0, sizeof b);
	/* v9: header, a set of 12 bytes, a set of 8, zero padding */
	put16(b, 9);
	put16(b + 20, 256);
	put16(b + 22, 12);
	put16(b + 32, 257);
	put16(b + 34, 8);
	assert_int_equal(nf_preflight(b, 40), NF_OK);
	assert_int_equal(nf_preflight(b, 48), NF_OK); /* padding */
	assert_int_equal(nf_preflight(b, 42), NF_OK); /* under a set header: tail */
	put16(b + 34, 64);
	assert_int_equal(nf_preflight(b, 48), NF_ERR_TRUNCATED);
	put16(b + 34, 2);
	assert_int_equal(nf_preflight(b, 48), NF_ERR_BAD_SET);
	put16(b + 34, 8);
	b[45] = 1; /* not padding */
	assert_int_equal(nf_preflight(b, 48), NF_ERR_BAD_SET);
	assert_int_equal(nf_preflight(b, 10), NF_ERR_SHORT);
	/* IPFIX: the message length rules */
	memset(b, 0, sizeof b);
	put16(b, 10);
	put16(b + 2, 28);
	put16(b + 16, 256);
	put16(b + 18, 12);
	assert_int_equal(nf_preflight(b, 28), NF_OK);
	assert_int_equal(nf_preflight(b, 40), NF_OK); /* bytes after the message are not in it */
	put16(b + 2, 26);
	assert_int_equal(nf_preflight(b, 28), NF_ERR_TRUNCATED);
	put16(b + 2, 30);
	assert_int_equal(nf_preflight(b, 28), NF_ERR_TRUNCATED);
	put16(b + 2, 32);
	assert_int_equal(nf_preflight(b, 40), NF_ERR_BAD_SET); /* 4 bytes no set accounts for */
	/* other versions are their decoder's business */
	put16(b, 5);
	assert_int_equal(nf_preflight(b, 28), NF_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_selection),	    cmocka_unit_test(test_own_maps),
	    cmocka_unit_test(test_label_rendering), cmocka_unit_test(test_writer_id),
	    cmocka_unit_test(test_preflight),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
