/*
 * pmacct's example maps (tests/fixtures/pmacct/_example-maps): every rule of
 * the maps netacct reads goes through the parser that reads it.  The example
 * files list alternatives (the same pool id or RD several times), so rules
 * are parsed one at a time, as a map of one line.  Maps of features still to
 * come (BGP) are checked by the shared map-line tokenizer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agg/flow_to_rd.h"
#include "agg/mapline.h"
#include "agg/primitive.h"
#include "agg/sampling_map.h"
#include "out/tee_map.h"

#define EX FIXTURES_DIR "/_example-maps/"

static char *slurp(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, EX "%s", name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

/* Each rule line of the file (comments and blanks skipped) to check(line), counted. */
static unsigned each_rule(const char *name, int (*check)(const char *line, char *err, size_t n))
{
	size_t len;
	char *text = slurp(name, &len), *save = NULL;
	unsigned rules = 0;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *p = l + strspn(l, " \t");
		if (!*p || *p == '!' || *p == '#')
			continue;
		char err[512] = "";
		if (check(l, err, sizeof err) < 0)
			fail_msg("%s: '%s': %s", name, l, err);
		rules++;
	}
	free(text);
	return rules;
}

static int tee_line(const char *line, char *err, size_t n)
{
	struct tee_map *m = NULL;
	int rc = tee_map_parse_text(line, strlen(line), "tee", &m, err, n);
	tee_map_free(m);
	return rc;
}

/* Parsers that read files: the line through a temporary file. */
static int via_file(const char *line, int (*parse)(const char *, void **, char *, size_t),
		    void (*free_fn)(void *), char *err, size_t n)
{
	char path[] = "/tmp/netacct-exmap-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	close(fd);
	void *m = NULL;
	int rc = parse(path, &m, err, n);
	unlink(path);
	if (rc == 0)
		free_fn(m);
	return rc;
}

static int f2rd_line(const char *line, char *err, size_t n)
{
	return via_file(line, f2rd_map_type.parse, f2rd_map_type.free, err, n);
}

static int sampling_line(const char *line, char *err, size_t n)
{
	return via_file(line, sampling_map_reg_parse, sampling_map_reg_free, err, n);
}

static int no_rule(void *arg, const struct mapline *l, char *why, size_t whylen)
{
	(void)arg, (void)l, (void)why, (void)whylen;
	return 0;
}

static int tokens_line(const char *line, char *err, size_t n)
{
	return mapline_parse(line, strlen(line), "map", 0, no_rule, NULL, err, n);
}

static void test_tee_receivers(void **state)
{
	(void)state;
	assert_true(each_rule("tee_receivers.lst.example", tee_line) >= 5);
}

static void test_flow_to_rd(void **state)
{
	(void)state;
	assert_true(each_rule("flow_to_rd.map.example", f2rd_line) >= 4);
}

static void test_sampling(void **state)
{
	(void)state;
	assert_true(each_rule("sampling.map.example", sampling_line) >= 2);
}

static int prim_line(const char *line, char *err, size_t n)
{
	/* packet_ptr primitives (pmacctd's, read from packet headers) are not built yet */
	if (strstr(line, "packet_ptr="))
		return 0;
	char path[] = "/tmp/netacct-exmap-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	close(fd);
	struct prim_registry reg;
	memset(&reg, 0, sizeof reg);
	int rc = prim_registry_load(&reg, path, err, n);
	unlink(path);
	if (rc == 0 && reg.ncustom != 1) {
		snprintf(err, n, "%u primitives", reg.ncustom);
		return -1;
	}
	return rc;
}

static void test_primitives(void **state)
{
	(void)state;
	assert_int_equal(each_rule("primitives.lst.example", prim_line), 7);
}

static void test_maps_of_features_to_come(void **state)
{
	(void)state;
	/* BGP's maps: their rules are key=value maps like every other */
	static const char *const names[] = {"bgp_agent.map.example", "bgp_xconnects.map.example",
					    "peers.map.example",     "lpref.map.example",
					    "med.map.example",	     "pcap_interfaces.map.example"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		assert_true(each_rule(names[i], tokens_line) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tee_receivers),
	    cmocka_unit_test(test_flow_to_rd),
	    cmocka_unit_test(test_sampling),
	    cmocka_unit_test(test_primitives),
	    cmocka_unit_test(test_maps_of_features_to_come),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
