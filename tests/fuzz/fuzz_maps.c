/*
 * Fuzz target for the files nfacctd reads besides its configuration:
 * sampling_map, aggregate_primitives and nfacctd_templates_file.
 *
 * Input layout: byte 0 selects the parser (byte 0 % 3) and options
 * (byte 0 / 3), the rest is the file content.
 *   0: sampling_map text: sampling_map_parse(), then lookups.
 *   1: aggregate_primitives file (through a memfd): prim_registry_load(),
 *      then keyspec_build() with aggregates mixing built-in and custom names,
 *      and extract/render of a record carrying every custom field.
 *   2: templates file (through a memfd): nf_templates_load() into a
 *      collector (option bit 0: with custom primitives, bit 1: at most two
 *      exporters).  A successful load must save, and the saved file must
 *      load back with the same number of templates.
 * Arbitrary input must be rejected or handled without crash, leak or
 * out-of-bounds access.
 *
 * Built two ways: with libFuzzer (make fuzz-maps), or linked with replay_main.c as a
 * plain program that replays the committed corpus (a `make check` test).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agg/primitive.h"
#include "agg/table.h"
#include "proto/netflow.h"
#include "tests/fuzz/fuzz_registry.h"
#include "agg/sampling_map.h"
#include "proto/nf_template.h"
#include "proto/nf_templates_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a file: a memfd, reached by its /proc/self/fd path. */
static const char *as_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		if ((fd = memfd_create("fuzz-maps", 0)) < 0)
			return NULL;
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		return NULL;
	return path;
}

/* ---- sampling_map ---- */

static void fuzz_sampling(const uint8_t *data, size_t size)
{
	char err[512];
	struct sampling_map *m = NULL;
	if (sampling_map_parse(&m, (const char *)data, size, "fuzz.map", err, sizeof err) == 0) {
		static const struct nt_addr addrs[] = {
		    {.family = 4, .a = {192, 0, 2, 1}},
		    {.family = 4, .a = {10, 0, 0, 255}},
		    {.family = 4},
		    {.family = 6, .a = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}},
		    {.family = 6, .a = {[0] = 0xff, [15] = 0xff}},
		};
		struct flow_rec r;
		memset(&r, 0, sizeof r);
		r.in_iface = 1;
		r.out_iface = 2;
		volatile uint64_t sum = sampling_map_count(m);
		for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
			sum += sampling_map_lookup(m, &addrs[i], NULL);
			FR_SET(&r, FR_IN_IFACE);
			sum += sampling_map_lookup(m, &addrs[i], &r);
			FR_SET(&r, FR_OUT_IFACE);
			sum += sampling_map_lookup(m, &addrs[i], &r);
			r.present = 0;
		}
		(void)sum;
		sampling_map_free(m);
	} else if (m || !strstr(err, "fuzz.map")) {
		abort(); /* a rejected map leaves nothing and names the file */
	}
}

/* ---- aggregate_primitives ---- */

static void fuzz_primitives(const uint8_t *data, size_t size)
{
	static const char *const builtin_aggs[] = {"", "src_host,dst_host,proto,flows",
						   "peer_src_ip,in_iface,out_iface,tcpflags",
						   "src_mac dst_mac vlan src_port dst_port tos"};
	static uint8_t payload[1100];
	char err[512], agg[4096];
	struct prim_registry reg;
	const char *path = as_file(data, size);
	if (!path || prim_registry_load(&reg, path, err, sizeof err) < 0)
		return;
	for (unsigned i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 37 + 11);
	struct flow_rec r;
	memset(&r, 0, sizeof r);
	for (unsigned i = 0; i < reg.ncustom; i++) {
		r.custom_ptr[i] = payload;
		/* shorter, equal and longer than the definition */
		r.custom_len[i] = (uint16_t)((reg.custom[i].len + i % 3 - 1) % sizeof payload);
	}
	for (unsigned v = 0; v < 2 * (sizeof builtin_aggs / sizeof builtin_aggs[0]); v++) {
		size_t o = (size_t)snprintf(
		    agg, sizeof agg, "%s",
		    builtin_aggs[v % (sizeof builtin_aggs / sizeof builtin_aggs[0])]);
		/* every custom name, or every other one */
		for (unsigned i = v & 1; i < reg.ncustom && o < sizeof agg; i += 1 + (v & 1))
			o += (size_t)snprintf(agg + o, sizeof agg - o, ",%s", reg.custom[i].name);
		struct keyspec ks;
		struct prim_opts opts = {.history = (v & 2) ? 300 : 0};
		if (keyspec_build(&ks, agg, &reg, &opts, err, sizeof err) < 0)
			continue;
		uint8_t *key = calloc(1, ks.key_len);
		if (!key)
			return;
		keyspec_extract(&ks, &r, key);
		struct agg_counters counters = {.tcp_flags = 0x1b};
		for (unsigned i = 0; i < ks.n; i++) {
			struct prim_val pv;
			ks.f[i].p->render(keyspec_value(&ks.f[i], key, &counters), &ks.f[i],
					  &ks.opts, &pv);
			if (pv.kind != PV_UINT && pv.kind != PV_NULL &&
			    !memchr(pv.s, '\0', sizeof pv.s))
				abort(); /* rendered text must be terminated */
		}
		for (unsigned i = 0; i < reg.ncustom; i++)
			if (!keyspec_has(&ks, reg.custom[i].name) && (v & 1) == 0)
				abort(); /* every custom name was asked for */
		free(key);
	}
}

/* ---- nfacctd_templates_file ---- */

static void no_emit(void *arg, struct flow_rec *r)
{
	(void)arg;
	(void)r;
}

static void add_count(void *arg, struct nf_exporter *ex)
{
	*(size_t *)arg += ex->templates ? nf_tpl_store_count(ex->templates) : 0;
}

static size_t template_count(struct nf_collector *c)
{
	size_t n = 0;
	nf_collector_foreach(c, add_count, &n);
	return n;
}

static void fuzz_templates(unsigned flags, const uint8_t *data, size_t size)
{
	char err[512];
	struct nf_collector c, c2;
	struct nf_options o;
	struct prim_registry reg;
	size_t loaded = 0, loaded2 = 0;

	const char *path = as_file(data, size);
	if (!path)
		return;
	memset(&o, 0, sizeof o);
	if (flags & 1) {
		fuzz_registry(&reg);
		o.custom = &reg;
	}
	if (flags & 2)
		o.max_exporters = 2;
	if (nf_collector_init(&c, &o, no_emit, NULL) < 0)
		return;
	if (nf_templates_load(path, &c, &loaded, err, sizeof err) < 0) {
		if (template_count(&c) != 0) {
			fprintf(stderr, "failed load left %zu templates: %s\n", template_count(&c),
				err);
			abort(); /* a rejected file must leave the collector untouched */
		}
	} else {
		size_t n = template_count(&c);
		/* per run: libFuzzer does not always run atexit handlers */
		char dir[] = "/tmp/fuzz-maps.XXXXXX", saved_path[64];
		if (!mkdtemp(dir))
			abort();
		snprintf(saved_path, sizeof saved_path, "%s/templates.json", dir);
		if (loaded != n) {
			fprintf(stderr, "load reported %zu templates, installed %zu\n", loaded, n);
			abort();
		}
		if (nf_templates_save(saved_path, &c, err, sizeof err) < 0) {
			fprintf(stderr, "save failed: %s\n", err);
			abort();
		}
		if (nf_collector_init(&c2, &o, no_emit, NULL) < 0)
			abort();
		if (nf_templates_load(saved_path, &c2, &loaded2, err, sizeof err) < 0) {
			fprintf(stderr, "reload failed: %s\n", err);
			abort();
		}
		if (template_count(&c2) != n || loaded2 != n) {
			fprintf(stderr, "reload: %zu templates (loaded %zu), saved %zu\n",
				template_count(&c2), loaded2, n);
			abort();
		}
		nf_collector_free(&c2);
		unlink(saved_path);
		rmdir(dir);
	}
	nf_collector_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_sampling(data + 1, size - 1);
		break;
	case 1:
		fuzz_primitives(data + 1, size - 1);
		break;
	default:
		fuzz_templates(data[0] / 3, data + 1, size - 1);
		break;
	}
	return 0;
}
