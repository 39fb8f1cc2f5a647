/*
 * Unit tests for the reloadable-map registry (agg/maps.c): start-up load,
 * a failed reload keeping the old map, an atomic swap, retirement until
 * release, and reloads deferred while a swap settles.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/unit_util.h"

#include <string.h>
#include <unistd.h>

#include "agg/lpm.h"
#include "agg/maps.h"
#include "agg/sampling_map.h"
#include "agg/stages.h"

struct logbuf {
	char text[4096];
	size_t o;
	unsigned errors;
};

static void log_to(void *arg, int error, const char *msg)
{
	struct logbuf *l = arg;
	l->errors += error != 0;
	l->o += (size_t)snprintf(l->text + l->o, sizeof l->text - l->o, "%s\n", msg);
}

static void rewrite(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static uint32_t rate_of(const struct maps *m, int slot, const char *ip)
{
	struct nt_addr a;
	uint8_t plen;
	assert_int_equal(lpm_prefix_parse(ip, &a, &plen), 0);
	return sampling_map_lookup(maps_current(m, slot), &a, NULL);
}

static void test_load_reload_retire(void **state)
{
	(void)state;
	struct maps m;
	struct logbuf log = {0};
	char err[512];
	char path[64];
	snprintf(path, sizeof path, "%s", write_tmp("id=10 ip=192.0.2.1\n"));
	maps_init(&m, log_to, &log);
	int slot = maps_register(&m, "sampling_map", path, &sampling_map_type, err, sizeof err);
	assert_int_equal(slot, 0);
	assert_null(maps_current(&m, slot)); /* nothing before the first load */
	assert_int_equal(maps_load_all(&m, err, sizeof err), 0);
	assert_int_equal(rate_of(&m, slot, "192.0.2.1"), 10);
	assert_non_null(strstr(log.text, "sampling_map "));
	assert_non_null(strstr(log.text, ": 1 entries loaded"));
	assert_false(maps_settling(&m));

	/* a broken file on reload: logged, the old map keeps serving */
	const void *before = maps_current(&m, slot);
	rewrite(path, "id=20 ip=192.0.2.1\nthis is not a map\n");
	log.o = 0;
	assert_int_equal(maps_reload_all(&m), 0);
	assert_ptr_equal(maps_current(&m, slot), before);
	assert_int_equal(log.errors, 1);
	assert_non_null(strstr(log.text, "sampling_map: "));
	assert_non_null(strstr(log.text, ":2: "));
	assert_non_null(strstr(log.text, "keeping the previous map"));
	assert_false(maps_settling(&m)); /* nothing was retired */
	assert_int_equal(rate_of(&m, slot, "192.0.2.1"), 10);

	/* a valid file: swapped in, the old one retired until released */
	rewrite(path, "id=30 ip=192.0.2.0/24\nid=31 ip=0.0.0.0/0\n");
	log.o = 0;
	assert_int_equal(maps_reload_all(&m), 1);
	assert_ptr_not_equal(maps_current(&m, slot), before);
	assert_int_equal(rate_of(&m, slot, "192.0.2.1"), 30);
	assert_non_null(strstr(log.text, ": 2 entries reloaded"));
	assert_true(maps_settling(&m));
	/* a worker that took the old map before the swap can still read it */
	struct nt_addr a;
	uint8_t plen;
	lpm_prefix_parse("192.0.2.1", &a, &plen);
	assert_int_equal(sampling_map_lookup(before, &a, NULL), 10);

	/* another reload while settling is deferred and changes nothing */
	const void *second = maps_current(&m, slot);
	rewrite(path, "id=40 ip=192.0.2.1\n");
	assert_int_equal(maps_reload_all(&m), MAPS_RELOAD_DEFERRED);
	assert_ptr_equal(maps_current(&m, slot), second);
	/* every worker passed its quiescent point: free the old map, run the deferred reload */
	assert_int_equal(maps_release_retired(&m), 1);
	assert_false(maps_settling(&m));
	assert_int_equal(maps_reload_all(&m), 1);
	assert_int_equal(rate_of(&m, slot, "192.0.2.1"), 40);
	assert_int_equal(maps_release_retired(&m), 0);
	maps_free(&m); /* ASan: current and retired maps all freed exactly once */
	unlink(path);
}

static void test_bad_map_at_start(void **state)
{
	(void)state;
	struct maps m;
	char err[512];
	const char *path = write_tmp("! ok\nid=1 ip=10.0.0.1\nid=x ip=10.0.0.2\n");
	maps_init(&m, NULL, NULL);
	assert_int_equal(
	    maps_register(&m, "sampling_map", path, &sampling_map_type, err, sizeof err), 0);
	assert_int_equal(maps_load_all(&m, err, sizeof err), -1);
	char where[128];
	snprintf(where, sizeof where, "sampling_map: %s:3: ", path);
	assert_non_null(strstr(err, where));
	assert_null(maps_current(&m, 0));
	maps_free(&m);
	unlink(path);

	maps_init(&m, NULL, NULL);
	assert_int_equal(maps_register(&m, "sampling_map", "/nonexistent/sm", &sampling_map_type,
				       err, sizeof err),
			 0);
	assert_int_equal(maps_load_all(&m, err, sizeof err), -1);
	assert_non_null(strstr(err, "/nonexistent/sm"));
	maps_free(&m);

	/* registration limits */
	maps_init(&m, NULL, NULL);
	for (int i = 0; i < MAPS_MAX; i++)
		assert_int_equal(maps_register(&m, "k", "/p", &sampling_map_type, err, sizeof err),
				 i);
	assert_int_equal(maps_register(&m, "k", "/p", &sampling_map_type, err, sizeof err), -1);
	maps_free(&m);
	maps_init(&m, NULL, NULL);
	assert_int_equal(maps_register(&m, "k", "", &sampling_map_type, err, sizeof err), -1);
	maps_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_reload_retire),
	    cmocka_unit_test(test_bad_map_at_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
