/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_capture.c - a command function run with its output captured (see
 * cmd_capture.h): stdout and stderr are pointed at temporary files for the
 * call, then read back.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "cmd_capture.h"

static void
read_back(FILE *f, char *buf, size_t len)
{
	size_t	 n;

	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

int
cmd_capture(int (*cmd)(int, char **), int argc, char **argv,
    char *out, size_t outlen, char *err, size_t errlen)
{
	FILE	*fo, *fe;
	int	 so, se, rc;

	fflush(stdout);
	fflush(stderr);
	assert_non_null(fo = tmpfile());
	assert_non_null(fe = tmpfile());
	so = dup(STDOUT_FILENO);
	se = dup(STDERR_FILENO);
	dup2(fileno(fo), STDOUT_FILENO);
	dup2(fileno(fe), STDERR_FILENO);
	optind = 0;	/* glibc: start getopt afresh */
	rc = cmd(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, STDOUT_FILENO);
	dup2(se, STDERR_FILENO);
	close(so);
	close(se);
	read_back(fo, out, outlen);
	read_back(fe, err, errlen);
	return rc;
}
