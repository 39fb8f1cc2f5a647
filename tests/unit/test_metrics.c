/*
 * Unit tests for the metrics snapshots and their rendering (reactor/metrics.c),
 * the kernel drop counter folding (reactor/socket.c) and metrics_listen parsing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/keys.h"
#include "out/buf.h"
#include "reactor/metrics.h"
#include "reactor/socket.h"

static const struct mx_family fa = {"t_a_total", "A counter.", MX_COUNTER, 0};
static const struct mx_family fb = {"t_b_seconds", "A duration.", MX_GAUGE, 1};

static void test_families_grouped_across_snapshots(void **state)
{
	(void)state;
	struct mx_snap s1, s2;
	struct obuf o;
	mx_snap_init(&s1);
	mx_snap_init(&s2);
	obuf_init(&o, 0);
	assert_int_equal(mx_put(&s1, &fa, 1, 1, "worker", "0"), 0);
	assert_int_equal(mx_put(&s1, &fb, 1500000, 0), 0);
	assert_int_equal(mx_put(&s2, &fa, 2, 2, "worker", "1", "why", "a\"b\\c\nd"), 0);
	const struct mx_snap *snaps[] = {&s1, &s2};
	assert_int_equal(mx_render_prometheus(&o, snaps, 2), 0);
	/* one HELP/TYPE per family, its samples together though from two snapshots */
	assert_string_equal(o.data, "# HELP t_a_total A counter.\n"
				    "# TYPE t_a_total counter\n"
				    "t_a_total{worker=\"0\"} 1\n"
				    "t_a_total{worker=\"1\",why=\"a\\\"b\\\\c\\nd\"} 2\n"
				    "# HELP t_b_seconds A duration.\n"
				    "# TYPE t_b_seconds gauge\n"
				    "t_b_seconds 1.500000\n");
	obuf_free(&o);
	mx_snap_free(&s1);
	mx_snap_free(&s2);
}

static void test_json_is_valid(void **state)
{
	(void)state;
	struct mx_snap s;
	struct obuf o;
	json_error_t je;
	mx_snap_init(&s);
	obuf_init(&o, 0);
	for (int i = 0; i < 200; i++) { /* grows past the first allocation */
		char w[16];
		snprintf(w, sizeof w, "%d", i);
		assert_int_equal(mx_put(&s, &fa, (uint64_t)i, 2, "worker", w, "q", "x\"y"), 0);
	}
	mx_put(&s, &fb, 7, 0);
	const struct mx_snap *snaps[] = {&s};
	assert_int_equal(mx_render_json(&o, snaps, 1, 1234), 0);
	json_t *doc = json_loads(o.data, 0, &je);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "timestamp")), 1234);
	json_t *a = json_object_get(json_object_get(doc, "metrics"), "t_a_total");
	assert_int_equal(json_array_size(a), 200);
	json_t *x = json_array_get(a, 199);
	assert_int_equal(json_integer_value(json_object_get(x, "value")), 199);
	assert_string_equal(json_string_value(json_object_get(json_object_get(x, "labels"), "q")),
			    "x\"y");
	json_t *b =
	    json_array_get(json_object_get(json_object_get(doc, "metrics"), "t_b_seconds"), 0);
	assert_true(json_real_value(json_object_get(b, "value")) == 0.000007);
	json_decref(doc);
	obuf_free(&o);
	mx_snap_free(&s);
}

static void test_drops_fold_into_64_bits(void **state)
{
	(void)state;
	struct udp_drops d = {0};
	assert_int_equal(udp_drops_update(&d, 5), 5);
	assert_int_equal(udp_drops_update(&d, 5), 0);
	assert_int_equal(udp_drops_update(&d, 3), 0); /* an older reading */
	assert_int_equal(d.total, 5);
	d.last_raw = UINT32_MAX - 1;
	d.total = 100;
	assert_int_equal(udp_drops_update(&d, 2), 4); /* the kernel's counter wrapped */
	assert_int_equal(d.total, 104);
}

static void test_socket_reports_drops(void **state)
{
	(void)state;
	char err[256];
	int got = 0;
	int fd = udp_listen("127.0.0.1", 0, 1, &got, err, sizeof err);
	assert_true(fd >= 0);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	int tx = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(tx >= 0);
	char payload[200] = {0};
	for (int i = 0; i < 100; i++) /* far more than the smallest buffer holds */
		assert_int_equal(sendto(tx, payload, sizeof payload, 0, (struct sockaddr *)&ss, sl),
				 (ssize_t)sizeof payload);
	uint32_t raw = 0;
	assert_int_equal(udp_socket_drops(fd, &raw), 0);
	assert_true(raw > 0);
	/* every datagram either waits in the socket or was dropped */
	unsigned queued = 0;
	char buf[512];
	while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
		queued++;
	assert_int_equal(queued + raw, 100);
	/* the next datagram carries the counter */
	assert_int_equal(sendto(tx, payload, sizeof payload, 0, (struct sockaddr *)&ss, sl),
			 (ssize_t)sizeof payload);
	char ctrl[UDP_CMSG_SPACE];
	struct iovec iov = {buf, sizeof buf};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof ctrl};
	assert_true(recvmsg(fd, &mh, 0) > 0);
	uint32_t from_msg = 0;
	assert_int_equal(udp_cmsg_drops(&mh, &from_msg), 1);
	assert_int_equal(from_msg, raw);
	close(tx);
	close(fd);
}

static void test_listen_values(void **state)
{
	(void)state;
	char ip[64], err[256];
	int port = 0;
	assert_int_equal(conf_parse_listen("127.0.0.1:9105", ip, sizeof ip, &port, err, sizeof err),
			 0);
	assert_string_equal(ip, "127.0.0.1");
	assert_int_equal(port, 9105);
	assert_int_equal(conf_parse_listen("[::1]:80", ip, sizeof ip, &port, err, sizeof err), 0);
	assert_string_equal(ip, "::1");
	assert_int_equal(port, 80);
	const char *bad[] = {"9105",	 "::1:9105",	  "[::1:9105", "host:1",
			     "1.2.3.4:", "1.2.3.4:70000", "1.2.3.4:x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(conf_parse_listen(bad[i], ip, sizeof ip, &port, err, sizeof err),
				 -1);
}

static void test_write_file_replaces(void **state)
{
	(void)state;
	char dir[] = "/tmp/nt-metrics-XXXXXX", path[256], tmp[300], err[256], back[64] = {0};
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/s.json", dir);
	assert_int_equal(mx_write_file(path, "one", 3, err, sizeof err), 0);
	assert_int_equal(mx_write_file(path, "second", 6, err, sizeof err), 0);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(back, 1, sizeof back - 1, f), 6);
	fclose(f);
	assert_string_equal(back, "second");
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1);
	unlink(path);
	rmdir(dir);
	snprintf(path, sizeof path, "/nonexistent-dir/s.json");
	assert_int_equal(mx_write_file(path, "x", 1, err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_families_grouped_across_snapshots),
	    cmocka_unit_test(test_json_is_valid),
	    cmocka_unit_test(test_drops_fold_into_64_bits),
	    cmocka_unit_test(test_socket_reports_drops),
	    cmocka_unit_test(test_listen_values),
	    cmocka_unit_test(test_write_file_replaces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
