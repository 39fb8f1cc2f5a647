/*
 * Primitives for names and route distinguishers from options data:
 * vrf_name, ingress/egress_vrf_name, in/out_iface_name, mpls_vpn_rd and
 * mpls_vpn_rd_origin, extracted from a flow record and rendered.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "agg/primitive.h"
#include "agg/table.h"

/* Render field i of an aggregate spec built from `aggregate` for record r. */
static void render(const char *aggregate, const struct flow_rec *r, const char *name,
		   struct prim_val *v)
{
	struct keyspec ks;
	char err[256];
	uint8_t key[1024];
	struct agg_counters c;
	memset(&c, 0, sizeof c);
	assert_int_equal(keyspec_build(&ks, aggregate, NULL, NULL, err, sizeof err), 0);
	keyspec_extract(&ks, r, key);
	for (unsigned i = 0; i < ks.n; i++)
		if (strcmp(ks.f[i].p->name, name) == 0) {
			ks.f[i].p->render(keyspec_value(&ks.f[i], key, &c), &ks.f[i], &ks.opts, v);
			return;
		}
	fail_msg("%s not in the spec of '%s'", name, aggregate);
}

static const char *text(const char *aggregate, const struct flow_rec *r, const char *name)
{
	static struct prim_val v;
	render(aggregate, r, name, &v);
	assert_int_equal(v.kind, PV_STR);
	return v.s;
}

static void with_rd(struct flow_rec *r, uint64_t rd)
{
	flow_rec_clear(r);
	r->mpls_vpn_rd = rd;
	r->mpls_vpn_rd_origin = FR_RD_FLOW;
	FR_SET(r, FR_MPLS_VPN_RD);
}

/* RFC 4364 §4.2 types as pmacct writes them, vrfid, and nothing known. */
static void test_rd_text(void **state)
{
	(void)state;
	static struct flow_rec r;
	with_rd(&r, 0x0000fde8000000c8ull);
	assert_string_equal(text("mpls_vpn_rd", &r, "mpls_vpn_rd"), "0:65000:200");
	with_rd(&r, 0x00010a000021002aull);
	assert_string_equal(text("mpls_vpn_rd", &r, "mpls_vpn_rd"), "1:10.0.0.33:42");
	with_rd(&r, 0x0002fbf00036000eull);
	assert_string_equal(text("mpls_vpn_rd", &r, "mpls_vpn_rd"), "2:4226809910:14");
	with_rd(&r, (uint64_t)FR_RD_TYPE_VRFID << 48 | 1610612736u);
	assert_string_equal(text("mpls_vpn_rd", &r, "mpls_vpn_rd"), "vrfid:1610612736");
	assert_string_equal(text("mpls_vpn_rd", &r, "mpls_vpn_rd_origin"), "flow");
	/* absent: what pmacct prints for flows without a VRF */
	flow_rec_clear(&r);
	r.mpls_vpn_rd = 0x0002fbf00036000eull; /* stale: not present */
	r.mpls_vpn_rd_origin = FR_RD_FLOW;
	assert_string_equal(text("mpls_vpn_rd", &r, "mpls_vpn_rd"), "0:0:0");
	assert_string_equal(text("mpls_vpn_rd", &r, "mpls_vpn_rd_origin"), "unknown");
}

/* mpls_vpn_rd brings mpls_vpn_rd_origin along; listing both is fine too. */
static void test_rd_origin_implied(void **state)
{
	(void)state;
	struct keyspec ks;
	char err[256];
	assert_int_equal(keyspec_build(&ks, "src_host, mpls_vpn_rd", NULL, NULL, err, sizeof err),
			 0);
	assert_int_equal(ks.n, 3);
	assert_true(keyspec_has(&ks, "mpls_vpn_rd_origin"));
	assert_int_equal(
	    keyspec_build(&ks, "mpls_vpn_rd_origin,mpls_vpn_rd", NULL, NULL, err, sizeof err), 0);
	assert_int_equal(ks.n, 2);
	assert_int_equal(keyspec_build(&ks, "mpls_vpn_rd_origin", NULL, NULL, err, sizeof err), 0);
	assert_int_equal(ks.n, 1);
}

static void test_names_text(void **state)
{
	(void)state;
	static struct flow_rec r;
	const char *agg = "vrf_name, ingress_vrf_name, egress_vrf_name, in_iface_name, "
			  "out_iface_name";
	flow_rec_clear(&r);
	r.vrf_name = r.vrf_name_out = "A4";
	r.ifname_in = "GigabitEthernet0/0/0/1.100";
	r.ifname_out = "Bundle-Ether7";
	FR_SET(&r, FR_VRF_NAME);
	FR_SET(&r, FR_IFNAME_IN);
	FR_SET(&r, FR_IFNAME_OUT);
	assert_string_equal(text(agg, &r, "vrf_name"), "A4");
	assert_string_equal(text(agg, &r, "ingress_vrf_name"), "");
	assert_string_equal(text(agg, &r, "egress_vrf_name"), "A4");
	/* '/' written as '_', as pmacct does */
	assert_string_equal(text(agg, &r, "in_iface_name"), "GigabitEthernet0_0_0_1.100");
	assert_string_equal(text(agg, &r, "out_iface_name"), "Bundle-Ether7");

	/* names are cut at the key width: 32 bytes for VRFs, 64 for interfaces */
	char longname[100];
	memset(longname, 'v', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	r.vrf_name = longname;
	r.ifname_in = longname;
	assert_int_equal(strlen(text(agg, &r, "vrf_name")), 32);
	assert_int_equal(strlen(text(agg, &r, "in_iface_name")), 64);

	/* absent (stale pointers in a reused record): "" */
	r.present = 0;
	assert_string_equal(text(agg, &r, "vrf_name"), "");
	assert_string_equal(text(agg, &r, "in_iface_name"), "");
}

/* JSON field names as pmacct prints them. */
static void test_json_names(void **state)
{
	(void)state;
	size_t n;
	const struct primitive *p = prim_builtins(&n);
	static const char *const want[][2] = {
	    {"vrf_name", "vrf_name"},
	    {"ingress_vrf_name", "ingress_vrf_name"},
	    {"egress_vrf_name", "egress_vrf_name"},
	    {"in_iface_name", "iface_name_in"},
	    {"out_iface_name", "iface_name_out"},
	    {"mpls_vpn_rd", "mpls_vpn_rd"},
	    {"mpls_vpn_rd_origin", "mpls_vpn_rd_origin"},
	};
	for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
		size_t i = 0;
		while (i < n && strcmp(p[i].name, want[k][0]) != 0)
			i++;
		assert_true(i < n);
		assert_string_equal(p[i].json, want[k][1]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rd_text),
	    cmocka_unit_test(test_rd_origin_implied),
	    cmocka_unit_test(test_names_text),
	    cmocka_unit_test(test_json_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
