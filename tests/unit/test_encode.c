/*
 * Unit tests for the byte buffer (out/buf.c) and the encoders
 * (out/encode.c): JSON, CSV, formatted, table rows and event records.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/unit_util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agg/primitive.h"
#include "agg/table.h"
#include "conf/config.h"
#include "out/buf.h"
#include "out/encode.h"
#include "out/event.h"
#include "out/output.h"

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
	v4(&r->peer_src_ip, 192, 0, 2, 10);
	r->src_port = 443;
	r->dst_port = 51000;
	r->proto = 6;
	r->tcp_flags = 0x12;
	r->src_as = 64512;
	r->fwd_status = 66;
	r->mpls_depth = 2;
	r->mpls[0] = 16001u << 4;
	r->mpls[1] = (16002u << 4) | 1;
	r->ts_start = 1700000000123456ull;
	r->present = ~0ull;
}

/* An entry for r under ks with the given counters; free() it. */
static struct agg_entry *entry(const struct keyspec *ks, const struct flow_rec *r, uint64_t pkts,
			       uint64_t bytes, uint64_t flows)
{
	struct agg_entry *e = calloc(1, sizeof *e + ks->key_len);
	assert_non_null(e);
	keyspec_extract(ks, r, e->key);
	e->c.packets = pkts;
	e->c.bytes = bytes;
	e->c.flows = flows;
	e->c.tcp_flags = r->proto == 6 ? r->tcp_flags : 0; /* accumulated, as the worker does */
	return e;
}

static void build(struct keyspec *ks, const char *agg, const struct prim_registry *reg,
		  const struct prim_opts *o)
{
	char err[256];
	if (keyspec_build(ks, agg, reg, o, err, sizeof err) != 0) {
		print_error("keyspec_build(%s): %s\n", agg, err);
		fail();
	}
}

/*
 * Encode e (after a header line when asked) with the named encoder;
 * malloc'd text.  JSON rows are compared without their newline.
 */
static char *encode(const char *fmt, const char *sep, const struct keyspec *ks,
		    const struct agg_entry *e, const char *event, int header)
{
	struct encoder enc;
	struct enc_schema sc;
	struct obuf b;
	assert_int_equal(enc_init(&enc, fmt, sep), 0);
	enc.newline = strcmp(fmt, "json") != 0;
	enc_schema_init(&sc, ks);
	obuf_init(&b, 0);
	if (header)
		assert_int_equal(enc_header(&enc, &b, &sc), 0);
	assert_int_equal(enc_row(&enc, &b, &sc, e, event), 0);
	char *s = strdup(b.data);
	assert_non_null(s);
	obuf_free(&b);
	return s;
}

static void assert_json(const struct keyspec *ks, const struct agg_entry *e, const char *event,
			const char *want)
{
	char *s = encode("json", NULL, ks, e, event, 0);
	if (strcmp(s, want) != 0) {
		print_error("got:  %s\nwant: %s\n", s, want);
		free(s);
		fail();
	}
	free(s);
}

/* ---- JSON ----------------------------------------------------------------- */

static void test_json_basic(void **state)
{
	(void)state;
	struct keyspec ks;
	struct flow_rec r;
	base_rec(&r);
	build(&ks, "proto, src_port, dst_host, src_host, tcpflags", NULL, NULL);
	struct agg_entry *e = entry(&ks, &r, 10, 1500, 3);
	assert_json(&ks, e, "purge",
		    "{\"event_type\": \"purge\", \"ip_src\": \"10.1.2.3\", "
		    "\"ip_dst\": \"192.168.200.77\", \"port_src\": 443, \"tcp_flags\": \"18\", "
		    "\"ip_proto\": \"tcp\", \"packets\": 10, \"bytes\": 1500}");
	/* no event type: no field */
	assert_json(
	    &ks, e, NULL,
	    "{\"ip_src\": \"10.1.2.3\", \"ip_dst\": \"192.168.200.77\", \"port_src\": 443, "
	    "\"tcp_flags\": \"18\", \"ip_proto\": \"tcp\", \"packets\": 10, \"bytes\": 1500}");
	free(e);
}

static void test_json_flows(void **state)
{
	(void)state;
	struct keyspec ks;
	struct flow_rec r;
	base_rec(&r);
	build(&ks, "src_as, flows", NULL, NULL);
	struct agg_entry *e = entry(&ks, &r, 18446744073709551615ull >> 1, 0, 7);
	assert_json(&ks, e, "purge",
		    "{\"event_type\": \"purge\", \"as_src\": 64512, "
		    "\"packets\": 9223372036854775807, \"flows\": 7, \"bytes\": 0}");
	free(e);
}

static void test_json_empty_aggregate(void **state)
{
	(void)state;
	struct keyspec ks;
	struct flow_rec r;
	base_rec(&r);
	build(&ks, "", NULL, NULL);
	struct agg_entry *e = entry(&ks, &r, 1, 2, 1);
	assert_json(&ks, e, "purge", "{\"event_type\": \"purge\", \"packets\": 1, \"bytes\": 2}");
	free(e);
}

static void test_json_arrays_and_strings(void **state)
{
	(void)state;
	struct keyspec ks;
	struct flow_rec r;
	base_rec(&r);
	struct prim_opts o = {.tcpflags_as_array = 1,
			      .fwd_status_as_string = 1,
			      .mpls_stack_as_array = 1,
			      .timestamps_since_epoch = 1};
	build(&ks, "tcpflags, fwd_status, mpls_label_stack, timestamp_start", NULL, &o);
	struct agg_entry *e = entry(&ks, &r, 1, 40, 1);
	assert_json(&ks, e, "purge",
		    "{\"event_type\": \"purge\", \"mpls_label_stack\": [\"0-16001\", \"1-16002\"], "
		    "\"tcp_flags\": [\"ACK\", \"SYN\"], "
		    "\"fwd_status\": \"FORWARDED Not Fragmented\", "
		    "\"timestamp_start\": \"1700000000.123456\", \"packets\": 1, \"bytes\": 40}");
	free(e);
	/* no flags: an empty array */
	r.tcp_flags = 0;
	r.mpls_depth = 0;
	e = entry(&ks, &r, 1, 40, 1);
	assert_json(&ks, e, NULL,
		    "{\"mpls_label_stack\": [], \"tcp_flags\": [], "
		    "\"fwd_status\": \"FORWARDED Not Fragmented\", "
		    "\"timestamp_start\": \"1700000000.123456\", \"packets\": 1, \"bytes\": 40}");
	free(e);
	/* without the switches: a string, an integer and a string */
	build(&ks, "tcpflags, fwd_status, mpls_label_stack", NULL, NULL);
	base_rec(&r);
	e = entry(&ks, &r, 1, 40, 1);
	assert_json(&ks, e, NULL,
		    "{\"mpls_label_stack\": \"0-16001_1-16002\", \"tcp_flags\": \"18\", "
		    "\"fwd_status\": 66, \"packets\": 1, \"bytes\": 40}");
	free(e);
}

static void test_json_absent_address(void **state)
{
	(void)state;
	struct keyspec ks;
	struct flow_rec r;
	base_rec(&r);
	memset(&r.peer_dst_ip, 0, sizeof r.peer_dst_ip);
	build(&ks, "peer_src_ip, peer_dst_ip", NULL, NULL);
	struct agg_entry *e = entry(&ks, &r, 1, 1, 1);
	assert_json(&ks, e, NULL,
		    "{\"peer_ip_src\": \"192.0.2.10\", \"peer_ip_dst\": \"\", \"packets\": 1, "
		    "\"bytes\": 1}");
	free(e);
}

static void test_custom_fields(void **state)
{
	(void)state;
	struct prim_registry reg;
	char err[256];
	const char *path = write_tmp("name=vendor_tag field_type=PEN:9:1 len=8 semantics=str\n"
				     "name=my_counter field_type=2 len=4 semantics=u_int\n"
				     "name=a_very_long_custom_primitive_name field_type=3 len=1 "
				     "semantics=u_int\n");
	assert_int_equal(prim_registry_load(&reg, path, err, sizeof err), 0);
	unlink(path);
	struct keyspec ks;
	build(&ks, "my_counter, src_port, vendor_tag", &reg, NULL);
	struct flow_rec r;
	base_rec(&r);
	static const uint8_t cnt[4] = {0, 0, 0x01, 0x00};
	r.custom_ptr[0] = (const uint8_t *)"a\"b\\c";
	r.custom_len[0] = 5;
	r.custom_ptr[1] = cnt;
	r.custom_len[1] = 4;
	struct agg_entry *e = entry(&ks, &r, 2, 3, 1);
	/* JSON: custom name as key, string escaped */
	assert_json(&ks, e, NULL,
		    "{\"port_src\": 443, \"vendor_tag\": \"a\\\"b\\\\c\", \"my_counter\": \"256\", "
		    "\"packets\": 2, \"bytes\": 3}");

	/* CSV header uses the custom names */
	char *buf = encode("csv", ",", &ks, e, "purge", 1);
	/* a double quote in a value makes it a quoted field (RFC 4180) */
	assert_string_equal(buf, "SRC_PORT,vendor_tag,my_counter,PACKETS,BYTES\n"
				 "443,\"a\"\"b\\c\",256,2,3\n");
	free(buf);
	free(e);

	/* formatted: a long custom name widens its column */
	build(&ks, "a_very_long_custom_primitive_name", &reg, NULL);
	static const uint8_t one[1] = {9};
	r.custom_ptr[2] = one;
	r.custom_len[2] = 1;
	e = entry(&ks, &r, 1, 1, 1);
	buf = encode("formatted", NULL, &ks, e, "purge", 1);
	const size_t w = strlen("a_very_long_custom_primitive_name") + 2;
	char want[512];
	snprintf(want, sizeof want, "%-*s%-22sBYTES\n%-*s%-22s1\n", (int)w,
		 "a_very_long_custom_primitive_name", "PACKETS", (int)w, "9", "1");
	assert_string_equal(buf, want);
	free(buf);
	free(e);
}

/* ---- CSV -------------------------------------------------------------------- */

static char *csv(const struct keyspec *ks, const struct agg_entry *e, const char *sep)
{
	return encode("csv", sep, ks, e, "purge", 1);
}

static void test_csv(void **state)
{
	(void)state;
	struct keyspec ks;
	struct flow_rec r;
	base_rec(&r);
	build(&ks, "dst_host, src_host, src_port, proto", NULL, NULL);
	struct agg_entry *e = entry(&ks, &r, 10, 1500, 3);
	char *s = csv(&ks, e, ",");
	assert_string_equal(s, "SRC_IP,DST_IP,SRC_PORT,PROTOCOL,PACKETS,BYTES\n"
			       "10.1.2.3,192.168.200.77,443,tcp,10,1500\n");
	free(s);
	s = csv(&ks, e, ";");
	assert_string_equal(s, "SRC_IP;DST_IP;SRC_PORT;PROTOCOL;PACKETS;BYTES\n"
			       "10.1.2.3;192.168.200.77;443;tcp;10;1500\n");
	free(s);
	/* multi-character separator */
	s = csv(&ks, e, " | ");
	assert_string_equal(s, "SRC_IP | DST_IP | SRC_PORT | PROTOCOL | PACKETS | BYTES\n"
			       "10.1.2.3 | 192.168.200.77 | 443 | tcp | 10 | 1500\n");
	free(s);
	free(e);

	build(&ks, "src_port, flows", NULL, NULL);
	e = entry(&ks, &r, 10, 1500, 3);
	s = csv(&ks, e, "\t");
	assert_string_equal(s, "SRC_PORT\tPACKETS\tFLOWS\tBYTES\n443\t10\t3\t1500\n");
	free(s);
	free(e);

	build(&ks, "", NULL, NULL);
	e = entry(&ks, &r, 10, 1500, 3);
	s = csv(&ks, e, ",");
	assert_string_equal(s, "PACKETS,BYTES\n10,1500\n");
	free(s);
	free(e);
}

/* Fields in one CSV line, RFC 4180: a separator inside double quotes does not count. */
static unsigned count_fields(const char *line, const char *sep)
{
	unsigned n = 1;
	size_t sl = strlen(sep);
	int quoted = 0;
	for (const char *p = line; *p;) {
		if (*p == '"') {
			quoted = !quoted; /* a doubled quote toggles twice */
			p++;
		} else if (!quoted && strncmp(p, sep, sl) == 0) {
			n++;
			p += sl;
		} else {
			p++;
		}
	}
	return n;
}

static void test_csv_list_values_keep_columns(void **state)
{
	(void)state;
	/*
	 * List values (tcpflags_encode_as_array, mpls_label_stack_encode_as_array)
	 * are joined with ','; with the default ',' separator they are quoted
	 * (RFC 4180) so a row has as many fields as the header.
	 */
	struct keyspec ks;
	struct flow_rec r;
	base_rec(&r);
	struct prim_opts o = {.tcpflags_as_array = 1, .mpls_stack_as_array = 1};
	build(&ks, "tcpflags, mpls_label_stack", NULL, &o);
	struct agg_entry *e = entry(&ks, &r, 10, 1500, 3);
	char *s = csv(&ks, e, ",");
	char *nl = strchr(s, '\n');
	assert_non_null(nl);
	*nl = '\0';
	assert_int_equal(count_fields(s, ","), count_fields(nl + 1, ","));
	assert_string_equal(nl + 1, "\"0-16001,1-16002\",\"ACK,SYN\",10,1500\n");
	free(s);
	/* another separator: nothing to quote */
	s = csv(&ks, e, ";");
	nl = strchr(s, '\n');
	assert_non_null(nl);
	assert_string_equal(nl + 1, "0-16001,1-16002;ACK,SYN;10;1500\n");
	free(s);
	free(e);
}

static void test_csv_quotes_custom_strings(void **state)
{
	(void)state;
	/*
	 * Every field is quoted when needed, so custom string primitives holding
	 * the separator, quotes or line breaks cannot shift columns or rows.
	 */
	struct prim_registry reg;
	char err[256];
	const char *path = write_tmp("name=note field_type=82 len=16 semantics=str\n");
	assert_int_equal(prim_registry_load(&reg, path, err, sizeof err), 0);
	unlink(path);
	struct keyspec ks;
	build(&ks, "src_port, note", &reg, NULL);
	static const struct {
		const char *value, *sep, *want;
	} cases[] = {
	    {"plain", ",", "443,plain,10,1500\n"},
	    {"a,b", ",", "443,\"a,b\",10,1500\n"},
	    {"say \"hi\"", ",", "443,\"say \"\"hi\"\"\",10,1500\n"},
	    {"a,b", ";", "443;a,b;10;1500\n"},
	    {"a | b", " | ", "443 | \"a | b\" | 10 | 1500\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct flow_rec r;
		base_rec(&r);
		r.custom_ptr[0] = (const uint8_t *)cases[i].value;
		r.custom_len[0] = (uint16_t)strlen(cases[i].value);
		struct agg_entry *e = entry(&ks, &r, 10, 1500, 3);
		char *s = csv(&ks, e, cases[i].sep);
		char *nl = strchr(s, '\n');
		assert_non_null(nl);
		if (strcmp(nl + 1, cases[i].want) != 0) {
			print_error("got:  %s\nwant: %s\n", nl + 1, cases[i].want);
			fail();
		}
		free(s);
		free(e);
	}
}

/* ---- output instance set-up ----------------------------------------------- */

static void test_instance_bad_aggregate_names_line(void **state)
{
	(void)state;
	/*
	 * An unknown primitive is found when the key spec is built, after the
	 * configuration was parsed: the error still names file, line and key.
	 */
	static const struct conf_daemon nf = {D_NFACCTD, "nfacctd"};
	struct conf c;
	char err[512];
	struct out_instance oi;
	conf_init(&c, &out_schema_nfacctd);
	assert_int_equal(conf_load_string(&c, &nf, "bad.conf",
					  "! comment\nplugins: print[a], print[b]\n"
					  "aggregate: src_host\naggregate[b]: src_host, foo\n",
					  err, sizeof err),
			 0);
	assert_int_equal(conf_finish(&c, &nf, err, sizeof err), 0);
	assert_int_equal(out_instance_init(&oi, &c, &c.plugin[0], NULL, NULL, err, sizeof err), 0);
	assert_int_equal(out_instance_init(&oi, &c, &c.plugin[1], NULL, NULL, err, sizeof err), -1);
	assert_string_equal(err, "bad.conf:4: key 'aggregate[b]': unknown primitive 'foo' "
				 "(nfacctd -a lists them)");
	conf_free(&c);

	/* from the command line: no line number */
	conf_init(&c, &out_schema_nfacctd);
	assert_int_equal(conf_set(&c, &nf, "aggregate", "bar", err, sizeof err), 0);
	assert_int_equal(conf_finish(&c, &nf, err, sizeof err), 0);
	assert_int_equal(out_instance_init(&oi, &c, &c.plugin[0], NULL, NULL, err, sizeof err), -1);
	assert_string_equal(err, "command line: key 'aggregate[default]': unknown primitive 'bar' "
				 "(nfacctd -a lists them)");
	conf_free(&c);
}

/* ---- formatted ---------------------------------------------------------------- */

static void pad(char *buf, size_t len, const char *s, int w)
{
	size_t o = strlen(buf);
	snprintf(buf + o, len - o, "%-*s", w, s);
}

static void test_formatted(void **state)
{
	(void)state;
	struct keyspec ks;
	struct flow_rec r;
	base_rec(&r);
	build(&ks, "src_host, dst_host, src_port, proto", NULL, NULL);
	struct agg_entry *e = entry(&ks, &r, 10, 1500, 3);
	char *buf = encode("formatted", NULL, &ks, e, "purge", 1);

	/* column widths: addresses 47, ports 10, protocol 12, counters 22 */
	char want[1024] = "";
	pad(want, sizeof want, "SRC_IP", 47);
	pad(want, sizeof want, "DST_IP", 47);
	pad(want, sizeof want, "SRC_PORT", 10);
	pad(want, sizeof want, "PROTOCOL", 12);
	pad(want, sizeof want, "PACKETS", 22);
	pad(want, sizeof want, "BYTES\n", 0);
	pad(want, sizeof want, "10.1.2.3", 47);
	pad(want, sizeof want, "192.168.200.77", 47);
	pad(want, sizeof want, "443", 10);
	pad(want, sizeof want, "tcp", 12);
	pad(want, sizeof want, "10", 22);
	pad(want, sizeof want, "1500\n", 0);
	assert_string_equal(buf, want);

	/* header and row columns start at the same offsets */
	char *row = strchr(buf, '\n') + 1;
	assert_int_equal(strstr(buf, "PACKETS") - buf, strstr(row, "10 ") - row);
	assert_int_equal(strstr(buf, "BYTES") - buf, strstr(row, "1500") - row);
	free(buf);
	free(e);
}

static void test_formatted_flows_and_wide(void **state)
{
	(void)state;
	struct keyspec ks;
	struct flow_rec r;
	base_rec(&r);
	/* the widest IPv6 text fits its column with room to spare */
	r.src_addr.family = 6;
	memset(r.src_addr.a, 0xff, 16);
	struct prim_opts o = {.timestamps_utc = 1};
	build(&ks, "src_host, timestamp_start, flows", NULL, &o);
	struct agg_entry *e = entry(&ks, &r, 123456789012ull, 98765432109876ull, 42);
	char *buf = encode("formatted", NULL, &ks, e, "purge", 1);
	char want[1024] = "";
	pad(want, sizeof want, "SRC_IP", 47);
	pad(want, sizeof want, "TIMESTAMP_START", 30);
	pad(want, sizeof want, "PACKETS", 22);
	pad(want, sizeof want, "FLOWS", 22);
	pad(want, sizeof want, "BYTES\n", 0);
	pad(want, sizeof want, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 47);
	pad(want, sizeof want, "2023-11-14 22:13:20.123456", 30);
	pad(want, sizeof want, "123456789012", 22);
	pad(want, sizeof want, "42", 22);
	pad(want, sizeof want, "98765432109876\n", 0);
	assert_string_equal(buf, want);
	free(buf);
	free(e);

	/* every built-in column is wider than its header and its widest value seen here */
	size_t n;
	const struct primitive *p = prim_builtins(&n);
	for (size_t i = 0; i < n; i++)
		assert_true(strlen(p[i].csv) < p[i].col);
}

static void test_write_errors_reported(void **state)
{
	(void)state;
	struct keyspec ks;
	struct flow_rec r;
	base_rec(&r);
	build(&ks, "src_host", NULL, NULL);
	struct agg_entry *e = entry(&ks, &r, 1, 1, 1);
	/* a buffer limited to 4 bytes overflows: every encoder must say so */
	static const char *const fmts[] = {"json", "csv", "formatted"};
	for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
		struct encoder enc;
		struct enc_schema sc;
		struct obuf b;
		assert_int_equal(enc_init(&enc, fmts[i], ","), 0);
		enc_schema_init(&sc, &ks);
		obuf_init(&b, 4);
		assert_int_equal(enc_row(&enc, &b, &sc, e, "purge"), -1);
		assert_true(b.len <= 4);
		obuf_free(&b);
	}
	free(e);
}

/* ---- byte buffer ------------------------------------------------------------ */

static void test_buf_append_printf_reset(void **state)
{
	(void)state;
	struct obuf b;
	obuf_init(&b, 0);
	assert_int_equal(obuf_puts(&b, "ab"), 0);
	assert_int_equal(obuf_putc(&b, 'c'), 0);
	assert_int_equal(obuf_append(&b, "d\0e", 3), 0); /* binary-safe */
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "abcd\0e", 7);
	obuf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	/* printf past the current allocation grows it */
	char big[3000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(obuf_printf(&b, "<%s|%d>", big, 42), 0);
	assert_int_equal(b.len, sizeof big - 1 + 5);
	assert_string_equal(b.data + b.len - 4, "|42>");
	assert_int_equal(obuf_fill(&b, ' ', 3), 0);
	assert_string_equal(b.data + b.len - 6, "42>   ");
	obuf_consume(&b, b.len - 3);
	assert_string_equal(b.data, "   ");
	assert_int_equal(obuf_status(&b), 0);
	obuf_free(&b);
}

static void test_buf_limit_reported(void **state)
{
	(void)state;
	struct obuf b;
	obuf_init(&b, 8);
	assert_int_equal(obuf_puts(&b, "12345"), 0);
	assert_int_equal(obuf_puts(&b, "6789"), -1); /* nothing of it appended */
	assert_string_equal(b.data, "12345");
	assert_int_equal(obuf_status(&b), -1); /* and remembered */
	assert_int_equal(obuf_puts(&b, "6"), 0);
	assert_int_equal(obuf_status(&b), -1);
	assert_int_equal(obuf_printf(&b, "%d", 1234), -1);
	assert_string_equal(b.data, "123456");
	assert_int_equal(obuf_fill(&b, '-', 3), -1);
	assert_int_equal(obuf_printf(&b, "%d", 78), 0);
	assert_string_equal(b.data, "12345678");
	obuf_reset(&b); /* a reset clears the failure */
	assert_int_equal(obuf_status(&b), 0);
	obuf_free(&b);
}

/* ---- typed values -------------------------------------------------------- */

/* One field through an encoder, as a row of its own. */
static char *one_field(const char *fmt, const struct prim_val *v)
{
	struct encoder enc;
	struct obuf b;
	struct enc_col c = {"k", "K", 0};
	assert_int_equal(enc_init(&enc, fmt, ","), 0);
	obuf_init(&b, 0);
	assert_int_equal(enc.ops->begin_row(&enc, &b), 0);
	assert_int_equal(enc.ops->field(&enc, &b, &c, v), 0);
	assert_int_equal(enc.ops->end_row(&enc, &b), 0);
	char *s = strdup(b.data);
	assert_non_null(s);
	obuf_free(&b);
	return s;
}

static void expect_field(const char *fmt, const struct prim_val *v, const char *want)
{
	char *s = one_field(fmt, v);
	if (strcmp(s, want) != 0) {
		print_error("%s: got:  %s\nwant: %s\n", fmt, s, want);
		free(s);
		fail();
	}
	free(s);
}

static void test_typed_values(void **state)
{
	(void)state;
	struct prim_val v;
	memset(&v, 0, sizeof v);

	prim_val_uint(&v, 18446744073709551615ull); /* unsigned, never negative */
	expect_field("json", &v, "{\"k\": 18446744073709551615}\n");
	expect_field("csv", &v, "18446744073709551615\n");

	static const uint8_t a6[17] = {6, 0x20, 0x01, 0x0d, 0xb8, [16] = 1};
	prim_val_addr(&v, a6);
	assert_int_equal(v.kind, PV_ADDR);
	expect_field("json", &v, "{\"k\": \"2001:db8::1\"}\n");
	expect_field("formatted", &v, "2001:db8::1\n");

	prim_val_null(&v);
	expect_field("json", &v, "{\"k\": null}\n");
	expect_field("csv", &v, "\n");

	/* arrays of integers and strings */
	prim_val_list(&v);
	assert_int_equal(prim_val_list_uint(&v, 7), 0);
	assert_int_equal(prim_val_list_str(&v, "x\"y"), 0);
	assert_int_equal(prim_val_list_uint(&v, 0), 0);
	expect_field("json", &v, "{\"k\": [7, \"x\\\"y\", 0]}\n");
	expect_field("csv", &v, "\"7,x\"\"y,0\"\n");

	/* maps */
	prim_val_map(&v);
	expect_field("json", &v, "{\"k\": {}}\n");
	assert_int_equal(prim_val_map_str(&v, "site", "ams"), 0);
	assert_int_equal(prim_val_map_uint(&v, "rack", 12), 0);
	expect_field("json", &v, "{\"k\": {\"site\": \"ams\", \"rack\": 12}}\n");
	expect_field("formatted", &v, "site=ams,rack=12\n");

	/* an array is bounded: a full one refuses more, keeping what it has */
	prim_val_list(&v);
	unsigned n = 0;
	while (prim_val_list_uint(&v, n) == 0)
		n++;
	assert_int_equal(n, PRIM_ITEMS_MAX);
	assert_int_equal(v.n, PRIM_ITEMS_MAX);
	char big[PRIM_TEXT_MAX];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	prim_val_list(&v);
	assert_int_equal(prim_val_list_str(&v, "x"), 0);
	assert_int_equal(prim_val_list_str(&v, big), -1);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.s, "x");
}

static void test_json_escapes(void **state)
{
	(void)state;
	struct prim_val v;
	memset(&v, 0, sizeof v);
	/* the escapes of the JSON the fixtures were recorded with */
	prim_val_str(&v, "q\" b\\ s/ \b\f\n\r\t \x01\x1f \x7f \xc3\xa9");
	expect_field("json", &v,
		     "{\"k\": \"q\\\" b\\\\ s/ \\b\\f\\n\\r\\t \\u0001\\u001F \x7f \xc3\xa9\"}\n");
	/* bytes that are not UTF-8 cannot make the line invalid JSON */
	prim_val_str(&v, "a\xff\xc3(b");
	expect_field("json", &v, "{\"k\": \"a\\uFFFD\\uFFFD(b\"}\n");
}

/* Address text is written without inet_ntop(): it must still be exactly inet_ntop's text. */
static void test_address_text_is_inet_ntop(void **state)
{
	(void)state;
	uint8_t slot[17];
	char got[64], want[64];
	uint32_t x = 12345;
	for (int n = 0; n < 200000; n++) {
		slot[0] = 6;
		for (int i = 0; i < 16; i++) {
			x = x * 1103515245u + 12345u;
			/* mostly zeros, so every run length and position is tried */
			slot[1 + i] = (x >> 16) % 3 == 0 ? (uint8_t)(x >> 24) : 0;
		}
		if (n % 5 == 0) /* the forms with an embedded IPv4 address */
			memset(slot + 1, 0, 10), slot[11] = slot[12] = n % 10 ? 0xff : 0;
		addr_to_text(slot, got, sizeof got);
		assert_non_null(inet_ntop(AF_INET6, slot + 1, want, sizeof want));
		assert_string_equal(got, want);
		slot[0] = 4;
		addr_to_text(slot, got, sizeof got);
		assert_non_null(inet_ntop(AF_INET, slot + 1, want, sizeof want));
		assert_string_equal(got, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_basic),
	    cmocka_unit_test(test_address_text_is_inet_ntop),
	    cmocka_unit_test(test_json_flows),
	    cmocka_unit_test(test_json_empty_aggregate),
	    cmocka_unit_test(test_json_arrays_and_strings),
	    cmocka_unit_test(test_json_absent_address),
	    cmocka_unit_test(test_custom_fields),
	    cmocka_unit_test(test_csv),
	    cmocka_unit_test(test_csv_list_values_keep_columns),
	    cmocka_unit_test(test_csv_quotes_custom_strings),
	    cmocka_unit_test(test_instance_bad_aggregate_names_line),
	    cmocka_unit_test(test_formatted),
	    cmocka_unit_test(test_formatted_flows_and_wide),
	    cmocka_unit_test(test_write_errors_reported),
	    cmocka_unit_test(test_buf_append_printf_reset),
	    cmocka_unit_test(test_buf_limit_reported),
	    cmocka_unit_test(test_typed_values),
	    cmocka_unit_test(test_json_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
