/*
 * Command line, as pmacct's daemons take it.  -f loads the file first; every
 * other flag is then applied on top, so the command line wins.
 */
#ifndef NETACCT_CONF_CLI_H
#define NETACCT_CONF_CLI_H

#include <stdio.h>

#include "conf/config.h"

enum cli_result {
	CLI_RUN,      /* configuration ready, start the daemon */
	CLI_EXIT_OK,  /* informational flag handled (-h, -V, -a, ...) */
	CLI_EXIT_ERR, /* err says why */
};

enum cli_result cli_parse(int argc, char **argv, struct conf *c, const struct conf_daemon *d,
			  FILE *out, char *err, size_t errlen);

#endif
