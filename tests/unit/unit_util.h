/* Helpers shared by the cmocka unit tests (include after <cmocka.h>). */
#ifndef NETACCT_TESTS_UNIT_UTIL_H
#define NETACCT_TESTS_UNIT_UTIL_H

#include <stdio.h>
#include <stdlib.h>

/*
 * Write text to a fresh file under /tmp and return its path (a static
 * buffer: valid until the next call).  The caller unlinks it.
 */
static inline const char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof path, "/tmp/netacct-unit-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *fp = fdopen(fd, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

#endif
