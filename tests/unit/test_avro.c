/*
 * Unit tests for the Avro encoder (out/avro.c): the schema derived from a
 * row, and rows read back with libavro's own reader, against the schema
 * parsed again from the JSON text netacct writes to avro_schema_file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/unit_util.h"

#include <avro.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agg/primitive.h"
#include "agg/table.h"
#include "out/avro.h"
#include "out/buf.h"
#include "out/encode.h"

static void v4(struct nt_addr *a, uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3)
{
	memset(a, 0, sizeof *a);
	a->family = 4;
	a->a[0] = b0;
	a->a[1] = b1;
	a->a[2] = b2;
	a->a[3] = b3;
}

static void base_rec(struct flow_rec *r)
{
	flow_rec_clear(r);
	v4(&r->src_addr, 10, 1, 2, 3);
	v4(&r->dst_addr, 192, 168, 200, 77);
	r->src_port = 443;
	r->dst_port = 51000;
	r->proto = 6;
	r->tcp_flags = 0x12;
	r->src_as = 64512;
	r->src_geo.lat = 48.8566;
	r->src_geo.lon = 2.3522;
	r->label = "site%par,rack%7";
	r->present = ~0ull;
}

static struct agg_entry *entry(const struct keyspec *ks, const struct flow_rec *r, uint64_t pkts,
			       uint64_t bytes)
{
	struct agg_entry *e = calloc(1, sizeof *e + ks->key_len);
	assert_non_null(e);
	keyspec_extract(ks, r, e->key);
	e->c.packets = pkts;
	e->c.bytes = bytes;
	e->c.flows = 1;
	e->c.tcp_flags = r->tcp_flags;
	return e;
}

static const char AGG[] =
    "src_host, dst_host, src_port, proto, tcpflags, src_as, src_host_coords, label, flows";

struct fixture {
	struct keyspec ks;
	struct enc_schema sc;
	struct encoder enc;
	avro_schema_t parsed; /* the schema's JSON text, parsed by libavro */
};

static void setup(struct fixture *f, int json)
{
	struct prim_opts o = {.tcpflags_as_array = 1, .label_as_map = 1};
	char err[256];
	if (keyspec_build(&f->ks, AGG, NULL, &o, err, sizeof err) != 0) {
		print_error("keyspec_build: %s\n", err);
		fail();
	}
	enc_schema_init(&f->sc, &f->ks);
	if (avro_enc_init(&f->enc, &f->sc, json, err, sizeof err) != 0) {
		print_error("avro_enc_init: %s\n", err);
		fail();
	}
	struct obuf b;
	obuf_init(&b, 0);
	assert_int_equal(avro_enc_schema_json(&f->enc, &b), 0);
	assert_int_equal(avro_schema_from_json_length(b.data, b.len, &f->parsed), 0);
	obuf_free(&b);
}

static void teardown(struct fixture *f)
{
	avro_schema_decref(f->parsed);
	avro_enc_free(&f->enc);
}

/* The record's fields: the JSON output's keys, in order, with their types. */
static void test_schema_follows_the_json_fields(void **state)
{
	(void)state;
	struct fixture f;
	setup(&f, 0);
	static const struct {
		const char *name;
		avro_type_t t;
	} want[] = {
	    {"event_type", AVRO_STRING}, {"as_src", AVRO_INT64},   {"ip_src", AVRO_STRING},
	    {"ip_dst", AVRO_STRING},	 {"port_src", AVRO_INT64}, {"tcp_flags", AVRO_ARRAY},
	    {"ip_proto", AVRO_STRING},	 {"label", AVRO_MAP},	   {"lat_ip_src", AVRO_DOUBLE},
	    {"lon_ip_src", AVRO_DOUBLE}, {"packets", AVRO_INT64},  {"flows", AVRO_INT64},
	    {"bytes", AVRO_INT64},
	};
	assert_string_equal(avro_schema_name(f.parsed), "acct_data");
	assert_int_equal(avro_schema_record_size(f.parsed), sizeof want / sizeof want[0]);
	/* the JSON encoder writes the same keys, in the same order */
	struct flow_rec r;
	base_rec(&r);
	struct agg_entry *e = entry(&f.ks, &r, 1, 2);
	struct encoder je;
	struct obuf jb;
	obuf_init(&jb, 0);
	enc_init(&je, "json", NULL);
	assert_int_equal(enc_row(&je, &jb, &f.sc, e, "purge"), 0);
	json_t *obj = json_loads(jb.data, 0, NULL);
	assert_non_null(obj);
	const char *k;
	json_t *v;
	size_t i = 0;
	json_object_foreach(obj, k, v)
	{
		assert_true(i < sizeof want / sizeof want[0]);
		assert_string_equal(k, want[i].name);
		i++;
	}
	assert_int_equal(i, sizeof want / sizeof want[0]);
	for (i = 0; i < sizeof want / sizeof want[0]; i++) {
		assert_string_equal(avro_schema_record_field_name(f.parsed, (int)i), want[i].name);
		assert_int_equal(
		    avro_typeof(avro_schema_record_field_get_by_index(f.parsed, (int)i)),
		    want[i].t);
	}
	json_decref(obj);
	obuf_free(&jb);
	free(e);
	teardown(&f);
}

/* Read one binary record of b back with libavro against the parsed schema. */
static void read_back(avro_schema_t s, const struct obuf *b, avro_value_iface_t **iface,
		      avro_value_t *v)
{
	*iface = avro_generic_class_from_schema(s);
	assert_non_null(*iface);
	assert_int_equal(avro_generic_value_new(*iface, v), 0);
	avro_reader_t rd = avro_reader_memory(b->data, (int64_t)b->len);
	assert_int_equal(avro_value_read(rd, v), 0);
	avro_reader_free(rd);
}

static int64_t get_long(avro_value_t *rec, const char *name)
{
	avro_value_t f;
	int64_t x = -1;
	assert_int_equal(avro_value_get_by_name(rec, name, &f, NULL), 0);
	assert_int_equal(avro_value_get_long(&f, &x), 0);
	return x;
}

static const char *get_str(avro_value_t *rec, const char *name)
{
	avro_value_t f;
	const char *s = NULL;
	size_t n;
	assert_int_equal(avro_value_get_by_name(rec, name, &f, NULL), 0);
	assert_int_equal(avro_value_get_string(&f, &s, &n), 0);
	return s;
}

/* Two rows through one encoder: the reused record holds nothing of the first. */
static void test_binary_rows_read_back(void **state)
{
	(void)state;
	struct fixture f;
	setup(&f, 0);
	struct flow_rec r;
	base_rec(&r);
	struct agg_entry *e1 = entry(&f.ks, &r, 7, 700);
	r.tcp_flags = 0x01;
	r.src_port = 53;
	r.proto = 17;
	r.label = "only";
	v4(&r.src_addr, 10, 9, 9, 9);
	struct agg_entry *e2 = entry(&f.ks, &r, 3, 1u << 31);
	struct obuf b;
	obuf_init(&b, 0);
	struct agg_entry *rows[2] = {e1, e2};
	for (int i = 0; i < 2; i++) {
		obuf_reset(&b);
		assert_int_equal(enc_row(&f.enc, &b, &f.sc, rows[i], "purge"), 0);
		assert_true(b.len > 0 && b.data[0] != '{');
		avro_value_iface_t *iface;
		avro_value_t v, fl, item;
		read_back(f.parsed, &b, &iface, &v);
		assert_string_equal(get_str(&v, "event_type"), "purge");
		assert_string_equal(get_str(&v, "ip_src"), i ? "10.9.9.9" : "10.1.2.3");
		assert_string_equal(get_str(&v, "ip_proto"), i ? "udp" : "tcp");
		assert_int_equal(get_long(&v, "port_src"), i ? 53 : 443);
		assert_int_equal(get_long(&v, "as_src"), 64512);
		assert_int_equal(get_long(&v, "packets"), i ? 3 : 7);
		assert_int_equal(get_long(&v, "bytes"), i ? (1ll << 31) : 700);
		size_t n;
		assert_int_equal(avro_value_get_by_name(&v, "tcp_flags", &fl, NULL), 0);
		assert_int_equal(avro_value_get_size(&fl, &n), 0);
		assert_int_equal(n, i ? 1 : 2);
		const char *s;
		size_t sl;
		assert_int_equal(avro_value_get_by_index(&fl, 0, &item, NULL), 0);
		assert_int_equal(avro_value_get_string(&item, &s, &sl), 0);
		assert_string_equal(s, i ? "FIN" : "ACK");
		assert_int_equal(avro_value_get_by_name(&v, "label", &fl, NULL), 0);
		assert_int_equal(avro_value_get_size(&fl, &n), 0);
		assert_int_equal(n, i ? 1 : 2);
		assert_int_equal(avro_value_get_by_name(&fl, i ? "only" : "rack", &item, NULL), 0);
		assert_int_equal(avro_value_get_string(&item, &s, &sl), 0);
		assert_string_equal(s, i ? "" : "7");
		double lat = 0;
		assert_int_equal(avro_value_get_by_name(&v, "lat_ip_src", &fl, NULL), 0);
		assert_int_equal(avro_value_get_double(&fl, &lat), 0);
		assert_true(lat > 48.8565 && lat < 48.8567);
		avro_value_decref(&v);
		avro_value_iface_decref(iface);
	}
	obuf_free(&b);
	free(e1);
	free(e2);
	teardown(&f);
}

/* avro_json: the JSON encoder's object, value for value (no unions in this schema). */
static void test_avro_json_equals_the_json_row(void **state)
{
	(void)state;
	struct fixture f;
	setup(&f, 1);
	struct flow_rec r;
	base_rec(&r);
	struct agg_entry *e = entry(&f.ks, &r, 5, 500);
	struct obuf a, j;
	obuf_init(&a, 0);
	obuf_init(&j, 0);
	struct encoder je;
	enc_init(&je, "json", NULL);
	assert_int_equal(enc_row(&f.enc, &a, &f.sc, e, "purge"), 0);
	assert_int_equal(enc_row(&je, &j, &f.sc, e, "purge"), 0);
	json_t *ja = json_loads(a.data, 0, NULL), *jj = json_loads(j.data, 0, NULL);
	assert_non_null(ja);
	assert_non_null(jj);
	assert_true(json_equal(ja, jj));
	json_decref(ja);
	json_decref(jj);
	obuf_free(&a);
	obuf_free(&j);
	free(e);
	teardown(&f);
}

/* A user-defined primitive whose name Avro cannot take is refused, named. */
static void test_invalid_field_name_refused(void **state)
{
	(void)state;
	struct prim_registry reg;
	char err[256];
	const char *path = write_tmp("name=my-tag field_type=2 len=4 semantics=u_int\n");
	assert_int_equal(prim_registry_load(&reg, path, err, sizeof err), 0);
	unlink(path);
	struct keyspec ks;
	assert_int_equal(keyspec_build(&ks, "my-tag", &reg, NULL, err, sizeof err), 0);
	struct enc_schema sc;
	struct encoder enc;
	enc_schema_init(&sc, &ks);
	assert_int_equal(avro_enc_init(&enc, &sc, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "'my-tag'"));
	/* two primitives with one JSON name cannot both be record fields */
	assert_int_equal(keyspec_build(&ks, "src_host, sum_host", NULL, NULL, err, sizeof err), 0);
	enc_schema_init(&sc, &ks);
	assert_int_equal(avro_enc_init(&enc, &sc, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "'ip_src' twice"));
}

/* The schema file: written whole, readable by libavro; a missing folder is an error. */
static void test_schema_file(void **state)
{
	(void)state;
	struct fixture f;
	setup(&f, 0);
	char path[64], err[256];
	snprintf(path, sizeof path, "/tmp/netacct-avro-%d.avsc", (int)getpid());
	assert_int_equal(avro_enc_write_schema(&f.enc, path, err, sizeof err), 0);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char text[8192];
	size_t n = fread(text, 1, sizeof text, fp);
	fclose(fp);
	unlink(path);
	avro_schema_t s;
	assert_int_equal(avro_schema_from_json_length(text, n, &s), 0);
	assert_true(avro_schema_equal(s, f.parsed));
	avro_schema_decref(s);
	assert_int_equal(avro_enc_write_schema(&f.enc, "/proc/no/such/x.avsc", err, sizeof err),
			 -1);
	assert_non_null(strstr(err, "/proc/no/such/x.avsc"));
	teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_schema_follows_the_json_fields),
	    cmocka_unit_test(test_binary_rows_read_back),
	    cmocka_unit_test(test_avro_json_equals_the_json_row),
	    cmocka_unit_test(test_invalid_field_name_refused),
	    cmocka_unit_test(test_schema_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
