/*
 * Fuzz target for the configuration parser and the command line.
 *
 * Input layout: byte 0 selects the entry point, the rest is the payload.
 *   byte 0 even: the payload is configuration text for conf_load_string()
 *                (cut at the first NUL), then conf_finish() and, for every
 *                plugin declared, keyspec_build() on its aggregate.
 *   byte 0 odd:  the payload is split on NUL bytes.  The first piece is
 *                written to a memfd; the others are the arguments of
 *                cli_parse() after argv[0] (and "-f <memfd>" first when bit 1
 *                of byte 0 is set).
 * Arbitrary input must never crash, leak or read out of bounds.
 *
 * Built two ways: with libFuzzer (make fuzz-conf), or linked with replay_main.c as a
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
#include "conf/cli.h"
#include "conf/config.h"
#include "out/output.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct conf_daemon NF = {D_NFACCTD, "nfacctd"};

#define MAX_ARGS 64

static void build_keyspecs(const struct conf *c)
{
	char err[512];
	for (unsigned i = 0; i < c->nplugins; i++) {
		struct keyspec ks;
		struct prim_opts o = {.history = c->plugin[i].print_history};
		if (c->plugin[i].aggregate)
			keyspec_build(&ks, c->plugin[i].aggregate, NULL, &o, err, sizeof err);
	}
}

static void fuzz_text(const uint8_t *data, size_t size)
{
	char err[512];
	struct conf c;
	char *text = malloc(size + 1);
	if (!text)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	conf_init(&c, &out_schema_nfacctd);
	err[0] = '\0';
	if (conf_load_string(&c, &NF, "fuzz.conf", text, err, sizeof err) == 0 &&
	    conf_finish(&c, &NF, err, sizeof err) == 0)
		build_keyspecs(&c);
	(void)conf_notices(&c);
	conf_free(&c);
	free(text);
}

/* Arguments that would make -f read something other than the harness' file. */
static int unsafe_arg(const char *a)
{
	return strstr(a, "/dev") || strstr(a, "/proc") || strstr(a, "/sys") || strstr(a, "fd/");
}

static void run_cli(int with_file, const char *path, const uint8_t *data, size_t size)
{
	static FILE *devnull;
	char err[512];
	char *argv[MAX_ARGS + 1];
	int argc = 0;
	struct conf c;

	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		return;
	/* copy with a NUL at the end: every piece is then a C string */
	char *buf = malloc(size + 1);
	if (!buf)
		return;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = (char *)"nfacctd";
	if (with_file) {
		argv[argc++] = (char *)"-f";
		argv[argc++] = (char *)path;
	}
	for (size_t off = strlen(buf) + 1; off <= size && argc < MAX_ARGS;
	     off += strlen(buf + off) + 1) {
		if (unsafe_arg(buf + off)) {
			free(buf);
			return;
		}
		argv[argc++] = buf + off;
	}
	argv[argc] = NULL;
	conf_init(&c, &out_schema_nfacctd);
	err[0] = '\0';
	if (cli_parse(argc, argv, &c, &NF, devnull, err, sizeof err) == CLI_RUN)
		build_keyspecs(&c);
	conf_free(&c);
	free(buf);
}

static void fuzz_cli(int with_file, const uint8_t *data, size_t size)
{
	static int memfd = -1;
	char path[64];

	if (memfd < 0 && (memfd = memfd_create("fuzz-conf", 0)) < 0)
		return;
	const uint8_t *nul = memchr(data, 0, size);
	size_t first = nul ? (size_t)(nul - data) : size;
	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data, first, 0) != (ssize_t)first)
		return;
	snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
	/*
	 * Twice, each time with its own argv storage freed afterwards: the daemon
	 * parses once, but tests call cli_parse repeatedly, and getopt state left
	 * over from the first call must not point into the freed argv.  The
	 * harness does not reset getopt: cli_parse has to.
	 */
	run_cli(with_file, path, data, size);
	run_cli(with_file, path, data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	if (data[0] & 1)
		fuzz_cli(data[0] & 2, data + 1, size - 1);
	else
		fuzz_text(data + 1, size - 1);
	return 0;
}
