/*
 * Unit tests for the on-disk spool (out/spool.c): order, bounds, segments,
 * and what survives a restart or a crash in the middle of a write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "out/spool.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/netacct-spool-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct spool *open_ok(uint64_t max, uint64_t seg)
{
	struct spool *s = NULL;
	char err[256];
	if (spool_open(&s, dir, max, seg, err, sizeof err) < 0)
		fail_msg("spool_open: %s", err);
	return s;
}

static void push_msg(struct spool *s, unsigned i)
{
	char m[64];
	int n = snprintf(m, sizeof m, "message %u", i);
	assert_int_equal(spool_push(s, m, (size_t)n), SPOOL_OK);
}

static void expect_msg(struct spool *s, unsigned i)
{
	char m[64];
	const uint8_t *p;
	size_t len;
	int n = snprintf(m, sizeof m, "message %u", i);
	assert_int_equal(spool_peek(s, &p, &len), 1);
	assert_int_equal(len, (size_t)n);
	assert_memory_equal(p, m, len);
	spool_take(s);
}

static void test_fifo_across_segments(void **state)
{
	(void)state;
	struct spool *s = open_ok(1 << 20, 100); /* tiny segments: many files */
	const uint8_t *p;
	size_t len;
	assert_int_equal(spool_peek(s, &p, &len), 0);
	for (unsigned i = 0; i < 50; i++)
		push_msg(s, i);
	assert_int_equal(spool_records(s), 50);
	for (unsigned i = 0; i < 20; i++)
		expect_msg(s, i);
	for (unsigned i = 50; i < 60; i++) /* pushing while reading */
		push_msg(s, i);
	for (unsigned i = 20; i < 60; i++)
		expect_msg(s, i);
	assert_int_equal(spool_peek(s, &p, &len), 0);
	assert_int_equal(spool_records(s), 0);
	assert_int_equal(spool_bytes(s), 0);
	spool_close(s);
}

static void test_restart_replays_what_is_left(void **state)
{
	(void)state;
	struct spool *s = open_ok(1 << 20, 200);
	for (unsigned i = 0; i < 40; i++)
		push_msg(s, i);
	for (unsigned i = 0; i < 15; i++)
		expect_msg(s, i);
	spool_close(s); /* records the head */
	s = open_ok(1 << 20, 200);
	assert_int_equal(spool_records(s), 25);
	for (unsigned i = 15; i < 30; i++)
		expect_msg(s, i);
	push_msg(s, 40);
	spool_close(s);
	s = open_ok(1 << 20, 200);
	for (unsigned i = 30; i < 41; i++)
		expect_msg(s, i);
	spool_close(s);
	s = open_ok(1 << 20, 200);
	assert_int_equal(spool_records(s), 0);
	spool_close(s);
}

static void test_bound_counts_header_and_payload(void **state)
{
	(void)state;
	struct spool *s = open_ok(3 * (8 + 9), 0); /* three "message N" records */
	for (unsigned i = 0; i < 3; i++)
		push_msg(s, i);
	assert_int_equal(spool_push(s, "message 3", 9), SPOOL_FULL);
	expect_msg(s, 0);
	push_msg(s, 3); /* room again */
	spool_close(s);
}

static void test_torn_tail_is_dropped(void **state)
{
	(void)state;
	struct spool *s = open_ok(1 << 20, 0);
	for (unsigned i = 0; i < 5; i++)
		push_msg(s, i);
	spool_close(s);
	/* a crash in the middle of the sixth record: header and half a payload */
	char path[400];
	snprintf(path, sizeof path, "%s/seg-%020d.spool", dir, 1);
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	static const uint8_t torn[] = {0, 0, 0, 9, 1, 2, 3, 4, 'm', 'e', 's'};
	assert_int_equal(write(fd, torn, sizeof torn), (ssize_t)sizeof torn);
	close(fd);
	s = open_ok(1 << 20, 0);
	assert_int_equal(spool_records(s), 5);
	push_msg(s, 5); /* goes where the torn record was */
	for (unsigned i = 0; i < 6; i++)
		expect_msg(s, i);
	spool_close(s);
	/* a flipped byte inside a record: it and what follows in its segment are not trusted */
	s = open_ok(1 << 20, 0);
	for (unsigned i = 10; i < 13; i++)
		push_msg(s, i);
	spool_close(s);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	fd = open(path, O_WRONLY);
	assert_int_equal(pwrite(fd, "X", 1, st.st_size - 1), 1);
	close(fd);
	s = open_ok(1 << 20, 0);
	assert_int_equal(spool_records(s), 2);
	expect_msg(s, 10);
	expect_msg(s, 11);
	spool_close(s);
}

static void test_mark_and_rewind_give_a_batch_back(void **state)
{
	(void)state;
	struct spool *s = open_ok(1 << 20, 60); /* segments of ~3 records */
	for (unsigned i = 0; i < 10; i++)
		push_msg(s, i);
	expect_msg(s, 0);
	spool_mark(s);
	for (unsigned i = 1; i < 8; i++) /* crosses segments */
		expect_msg(s, i);
	push_msg(s, 10); /* arrives while the batch is out */
	assert_int_equal(spool_rewind(s), 0);
	assert_int_equal(spool_records(s), 10);
	for (unsigned i = 1; i < 5; i++)
		expect_msg(s, i);
	assert_int_equal(spool_sync(s), 0); /* commits 0..4, clears the mark */
	assert_int_equal(spool_rewind(s), -1);
	spool_close(s);
	s = open_ok(1 << 20, 60);
	for (unsigned i = 5; i < 11; i++)
		expect_msg(s, i);
	const uint8_t *p;
	size_t len;
	assert_int_equal(spool_peek(s, &p, &len), 0);
	spool_close(s);
}

static void test_bad_folder(void **state)
{
	(void)state;
	struct spool *s = NULL;
	char err[256];
	assert_int_equal(spool_open(&s, "/proc/netacct-no/such", 100, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "spool folder /proc/netacct-no/such"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fifo_across_segments, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart_replays_what_is_left, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bound_counts_header_and_payload, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_torn_tail_is_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mark_and_rewind_give_a_batch_back, setup,
					    teardown),
	    cmocka_unit_test(test_bad_folder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
