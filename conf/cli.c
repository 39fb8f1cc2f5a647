#include "conf/cli.h"

#include <getopt.h>
#include <string.h>

#include "agg/primitive.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "dev"
#endif

/* Flags that are shorthands for configuration keys. */
static const struct {
	char flag;
	const char *key;
	const char *fixed; /* value for flags without an argument */
	const char *help;
} flag_keys[] = {
    {'L', "nfacctd_ip", NULL, "address to listen on"},
    {'l', "nfacctd_port", NULL, "UDP port to listen on"},
    {'c', "aggregate", NULL, "aggregation primitives, comma separated"},
    {'P', "plugins", NULL, "plugins, e.g. print[a],print[b]"},
    {'D', "daemonize", "true", "run in the background"},
    {'d', "debug", "true", "log debug messages"},
    {'F', "pidfile", NULL, "write the PID to this file"},
    {'S', "syslog", NULL, "log to syslog with this facility"},
    {'O', "print_output", NULL, "print plugin output: formatted, json or csv"},
    {'o', "print_output_file", NULL, "print plugin output file"},
    {'r', "print_refresh_time", NULL, "print plugin refresh time (seconds)"},
    {'R', "nfacctd_renormalize", "true", "renormalize sampled counters"},
    {'L', "sfacctd_ip", NULL, "address to listen on"},
    {'l', "sfacctd_port", NULL, "UDP port to listen on"},
    {'R', "sfacctd_renormalize", "true", "renormalize sampled counters"},
    {'I', "pcap_savefile", NULL, "read the data from this libpcap capture file"},
    {'W', "pcap_savefile_wait", "true", "keep running once the capture file is read"},
    {'Z', "pcap_savefile_delay", NULL, "seconds to sleep before each pass over the file"},
    {'Y', "pcap_savefile_replay", NULL, "passes over the capture file"},
    /* the packet daemons' (pmacct's pmacctd/uacctd flags); a flag may serve several keys,
     * each daemon has one of them */
    {'i', "pcap_interface", NULL, "interface to capture on"},
    {'N', "promisc", "false", "do not put the interface in promiscuous mode"},
    {'w', "pcap_interface_wait", "true", "wait for the interface to appear"},
    {'L', "snaplen", NULL, "bytes captured of each packet"},
    {'R', "pmacctd_renormalize", "true", "renormalize sampled counters"},
    {'R', "uacctd_renormalize", "true", "renormalize sampled counters"},
    {'g', "uacctd_group", NULL, "NFLOG group"},
};

/* Whether flag i's key is one this daemon's schema has (a flag for an absent key is no flag). */
static int flag_usable(size_t i, const struct conf *c, const struct conf_daemon *d)
{
	const struct conf_key *k = conf_schema_key(c->schema, flag_keys[i].key, NULL);
	return k && (k->daemons & d->bit);
}

static void usage(FILE *out, const struct conf *c, const struct conf_daemon *d)
{
	const char *prog = d->name;
	fprintf(out, "%s (netacct %s), network accounting daemon\n\n", prog, PACKAGE_VERSION);
	fprintf(out, "Usage: %s [-f config_file] [options]\n\n", prog);
	fprintf(out, "  -f FILE  load configuration from FILE (flags below override it)\n");
	for (size_t i = 0; i < sizeof flag_keys / sizeof flag_keys[0]; i++)
		if (flag_usable(i, c, d))
			fprintf(out, "  -%c%s  %s (%s)\n", flag_keys[i].flag,
				flag_keys[i].fixed ? "     " : " ARG ", flag_keys[i].help,
				flag_keys[i].key);
	fprintf(out, "  -a       list the aggregation primitives\n"
		     "  -V       print the version and exit\n"
		     "  -h       this help\n"
		     "  --config-reference  print the configuration key reference (Markdown)\n");
}

static void list_primitives(FILE *out)
{
	size_t n;
	const struct primitive *p = prim_builtins(&n);
	fprintf(out, "%-24s %-22s %s\n", "primitive", "JSON field", "description");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%-24s %-22s %s\n", p[i].name, p[i].json, p[i].descr);
	fprintf(out, "%-24s %-22s %s\n", "flows", "flows", "Flow count (counter)");
}

enum cli_result cli_parse(int argc, char **argv, struct conf *c, const struct conf_daemon *d,
			  FILE *out, char *err, size_t errlen)
{
	static const struct option longopts[] = {{"config-reference", no_argument, NULL, 1},
						 {"help", no_argument, NULL, 'h'},
						 {"version", no_argument, NULL, 'V'},
						 {NULL, 0, NULL, 0}};
	char optstring[64] = "f:aVh";
	struct {
		size_t idx;
		const char *val;
	} later[64];
	size_t nlater = 0;
	const char *file = NULL;
	int opt;

	for (size_t i = 0; i < sizeof flag_keys / sizeof flag_keys[0]; i++) {
		if (!flag_usable(i, c, d))
			continue;
		size_t l = strlen(optstring);
		optstring[l] = flag_keys[i].flag;
		optstring[l + 1] = flag_keys[i].fixed ? '\0' : ':';
		optstring[l + 2] = '\0';
	}
	/*
	 * 0, not 1: a full getopt reset (glibc, musl).  With 1, a previous call
	 * that returned in the middle of a cluster ("-aV" stops at -a) leaves
	 * getopt's position inside that call's argv, and the next call would
	 * resume there, reading memory that may be gone.
	 */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			file = optarg;
			continue;
		case 'a':
			list_primitives(out);
			return CLI_EXIT_OK;
		case 'V':
			fprintf(out, "%s (netacct) %s\n", d->name, PACKAGE_VERSION);
			return CLI_EXIT_OK;
		case 'h':
			usage(out, c, d);
			return CLI_EXIT_OK;
		case 1:
			return conf_write_reference(out, c->schema) < 0 ? CLI_EXIT_ERR
									: CLI_EXIT_OK;
		case '?':
			snprintf(err, errlen,
				 "command line: unknown option or missing argument: %s",
				 argv[optind - 1]);
			return CLI_EXIT_ERR;
		}
		for (size_t i = 0; i < sizeof flag_keys / sizeof flag_keys[0]; i++)
			if (flag_keys[i].flag == opt && flag_usable(i, c, d) && nlater < 64) {
				later[nlater].idx = i;
				later[nlater].val =
				    flag_keys[i].fixed ? flag_keys[i].fixed : optarg;
				nlater++;
			}
	}
	if (optind < argc) {
		snprintf(err, errlen, "command line: unexpected argument '%s'", argv[optind]);
		return CLI_EXIT_ERR;
	}
	if (file && conf_load_file(c, d, file, err, errlen) < 0)
		return CLI_EXIT_ERR;
	for (size_t i = 0; i < nlater; i++)
		if (conf_set(c, d, flag_keys[later[i].idx].key, later[i].val, err, errlen) < 0)
			return CLI_EXIT_ERR;
	return conf_finish(c, d, err, errlen) < 0 ? CLI_EXIT_ERR : CLI_RUN;
}
