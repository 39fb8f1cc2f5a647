/*
 * Unit tests for the map-line parser (agg/mapline.c): pmacct's key=value
 * map syntax, comments, quoting, and line-numbered errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/unit_util.h"

#include <string.h>
#include <unistd.h>

#include "agg/mapline.h"

/* What the callback saw: "line:key=val,key=val;" per rule. */
struct seen {
	char text[2048];
	size_t o;
	unsigned fail_at; /* make the callback fail on this line (0: never) */
};

static int collect(void *arg, const struct mapline *l, char *why, size_t whylen)
{
	struct seen *s = arg;
	if (l->lineno == s->fail_at) {
		snprintf(why, whylen, "rejected by the caller");
		return -1;
	}
	s->o += (size_t)snprintf(s->text + s->o, sizeof s->text - s->o, "%u:", l->lineno);
	for (unsigned i = 0; i < l->n; i++)
		s->o += (size_t)snprintf(s->text + s->o, sizeof s->text - s->o, "%s%s=%s",
					 i ? "," : "", l->kv[i].key, l->kv[i].val);
	s->o += (size_t)snprintf(s->text + s->o, sizeof s->text - s->o, ";");
	return 0;
}

static const char *parse_ok(const char *text, unsigned flags, struct seen *s)
{
	char err[512];
	memset(s, 0, sizeof *s);
	if (mapline_parse(text, strlen(text), "t.map", flags, collect, s, err, sizeof err) != 0) {
		print_error("rejected: %s\n", err);
		fail();
	}
	return s->text;
}

static void test_rules_and_comments(void **state)
{
	(void)state;
	struct seen s;
	assert_string_equal(parse_ok("! a comment\n"
				     "\n"
				     "   \t\n"
				     "id=1\tip=192.0.2.1\n"
				     "  ! indented comment\n"
				     " id=2  ip=10.0.0.0/8 in=-3 ! trailing comment\n"
				     "id=3 ip=::1\r\n"
				     "id=4 ip=2001:db8::/32",
				     0, &s),
			    "4:id=1,ip=192.0.2.1;6:id=2,ip=10.0.0.0/8,in=-3;7:id=3,ip=::1;"
			    "8:id=4,ip=2001:db8::/32;");
	/* '#' is data unless asked for */
	assert_string_equal(parse_ok("# x=1\nname=a#b\n", MAPLINE_HASH_COMMENTS, &s),
			    "2:name=a#b;");
	char err[256];
	assert_int_equal(mapline_parse("# x=1\n", 6, "t.map", 0, collect, &s, err, sizeof err), -1);
	assert_non_null(strstr(err, "t.map:1:"));
	/* an empty text is no rules */
	assert_string_equal(parse_ok("", 0, &s), "");
}

static void test_quoted_values(void **state)
{
	(void)state;
	struct seen s;
	assert_string_equal(
	    parse_ok(
		"set_tag=15 ip=192.168.1.1 filter='src net 192.168.0.0/24 ! x' label=\"a b\"\n", 0,
		&s),
	    "1:set_tag=15,ip=192.168.1.1,filter=src net 192.168.0.0/24 ! x,label=a b;");
	/* the other quote is an ordinary character inside */
	assert_string_equal(parse_ok("a='say \"hi\"'\n", 0, &s), "1:a=say \"hi\";");
}

static void test_errors_name_the_line(void **state)
{
	(void)state;
	static const struct {
		const char *line;
		const char *why;
	} bad[] = {
	    {"id = 1 ip=1.2.3.4", "not key=value"},
	    {"id=1 ip", "not key=value"},
	    {"=1 ip=1.2.3.4", "empty key"},
	    {"id= ip=1.2.3.4", "no value"},
	    {"id='' ip=1.2.3.4", "no value"},
	    {"id=1 id=2", "twice"},
	    {"filter='src net 10.0.0.0/8", "unterminated"},
	    {"filter='x'y", "after the closing quote"},
	    {"label=a'b", "stray quote"},
	    {"'id'=1", "quote in a key"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[256], err[512];
		struct seen s;
		memset(&s, 0, sizeof s);
		snprintf(text, sizeof text, "! one\nid=1 ip=1.2.3.4\n%s\nid=9 ip=1.1.1.1\n",
			 bad[i].line);
		assert_int_equal(
		    mapline_parse(text, strlen(text), "t.map", 0, collect, &s, err, sizeof err),
		    -1);
		if (!strstr(err, "t.map:3:") || !strstr(err, bad[i].why)) {
			print_error("'%s': got '%s', want t.map:3: ... %s\n", bad[i].line, err,
				    bad[i].why);
			fail();
		}
	}
	/* too many keys on one line */
	char text[4096], err[512];
	size_t o = 0;
	for (int i = 0; i <= MAPLINE_KV_MAX; i++)
		o += (size_t)snprintf(text + o, sizeof text - o, "k%d=%d ", i, i);
	struct seen s;
	memset(&s, 0, sizeof s);
	assert_int_equal(mapline_parse(text, o, "t.map", 0, collect, &s, err, sizeof err), -1);
	assert_non_null(strstr(err, "t.map:1:"));
	/* a NUL byte is not text */
	static const char nul[] = "id=1 ip=1.2.3.4\nid=2\0 ip=1.2.3.4\n";
	assert_int_equal(
	    mapline_parse(nul, sizeof nul - 1, "t.map", 0, collect, &s, err, sizeof err), -1);
	assert_non_null(strstr(err, "t.map:2: NUL"));
	/* the caller's verdict carries the line number too, and stops the parse */
	memset(&s, 0, sizeof s);
	s.fail_at = 2;
	static const char three[] = "a=1\nb=2\nc=3\n";
	assert_int_equal(
	    mapline_parse(three, sizeof three - 1, "t.map", 0, collect, &s, err, sizeof err), -1);
	assert_string_equal(err, "t.map:2: rejected by the caller");
	assert_string_equal(s.text, "1:a=1;");
}

static int check_known(void *arg, const struct mapline *l, char *why, size_t whylen)
{
	static const char *const known[] = {"id", "ip", "in", "out", NULL};
	(void)arg;
	if (mapline_check_keys(l, known, why, whylen) < 0)
		return -1;
	assert_non_null(mapline_get(l, "id"));
	assert_null(mapline_get(l, "out"));
	return 0;
}

static void test_known_keys_and_files(void **state)
{
	(void)state;
	char err[512];
	const char *ok = "id=1 ip=1.2.3.4 in=2\n";
	assert_int_equal(mapline_parse(ok, strlen(ok), "k", 0, check_known, NULL, err, sizeof err),
			 0);
	const char *bad = "id=1 ip=1.2.3.4\nid=1 ip=1.2.3.4 foo=1\n";
	assert_int_equal(
	    mapline_parse(bad, strlen(bad), "k", 0, check_known, NULL, err, sizeof err), -1);
	assert_string_equal(err, "k:2: unknown key 'foo' (valid: id, ip, in, out)");

	/* from a file: same rules, the path in messages */
	struct seen s;
	memset(&s, 0, sizeof s);
	const char *path = write_tmp("! f\nx=1 y='2 3'\n");
	assert_int_equal(mapline_parse_file(path, 0, collect, &s, err, sizeof err), 0);
	assert_string_equal(s.text, "2:x=1,y=2 3;");
	unlink(path);
	path = write_tmp("x=1\ny\n");
	assert_int_equal(mapline_parse_file(path, 0, collect, &s, err, sizeof err), -1);
	char where[128];
	snprintf(where, sizeof where, "%s:2:", path);
	assert_non_null(strstr(err, where));
	unlink(path);
	assert_int_equal(mapline_parse_file("/nonexistent/x.map", 0, collect, &s, err, sizeof err),
			 -1);
	assert_non_null(strstr(err, "/nonexistent/x.map"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules_and_comments),
	    cmocka_unit_test(test_quoted_values),
	    cmocka_unit_test(test_errors_name_the_line),
	    cmocka_unit_test(test_known_keys_and_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
