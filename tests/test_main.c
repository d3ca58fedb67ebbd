/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_main.c - main.c's command line, called as the installed program
 * calls it (samlbroker_main): dispatch, help and version, the usage
 * errors of serve and mint (exit 2), and serve with a configuration that
 * cannot load (exit 1, before any socket is opened).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "samlbroker.h"
#include "commands.h"
#include "cmd_capture.h"

/* Runs the command line with stdout and stderr sent to /dev/null. */
static int
run(const char *first, ...)
{
	char		*argv[16];
	int		 argc = 0, rc, out, err;
	va_list		 ap;
	const char	*a;

	argv[argc++] = (char *)"samlbroker";
	va_start(ap, first);
	for (a = first; a != NULL && argc < 15; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	out = dup(1);
	err = dup(2);
	freopen("/dev/null", "w", stdout);
	freopen("/dev/null", "w", stderr);
	optind = 0;	/* getopt starts afresh */
	rc = samlbroker_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	return rc;
}

static void
test_dispatch(void **state)
{
	(void)state;
	assert_int_equal(run(NULL), 2);
	assert_int_equal(run("--help", NULL), 0);
	assert_int_equal(run("help", NULL), 0);
	assert_int_equal(run("-V", NULL), 0);
	assert_int_equal(run("version", NULL), 0);
	assert_int_equal(run("frobnicate", NULL), 2);
}

/* A misspelt command gets a suggestion (never the hidden signer). */
static void
test_command_suggestion(void **state)
{
	char	 out[4096], err[4096];
	char	*chek[] = { (char *)"samlbroker", (char *)"chek", NULL };
	char	*sign[] = { (char *)"samlbroker", (char *)"signr", NULL };

	(void)state;
	optind = 0;
	assert_int_equal(cmd_capture(samlbroker_main, 2, chek, out, sizeof(out),
	    err, sizeof(err)), 2);
	assert_string_equal(err, "samlbroker: unknown command 'chek'; did you mean check?\n");
	optind = 0;
	assert_int_equal(cmd_capture(samlbroker_main, 2, sign, out, sizeof(out),
	    err, sizeof(err)), 2);
	assert_null(strstr(err, "did you mean"));
}

static void
test_serve_options(void **state)
{
	(void)state;
	assert_int_equal(run("serve", "--help", NULL), 0);
	assert_int_equal(run("serve", "-h", NULL), 0);
	assert_int_equal(run("serve", "extra", NULL), 2);
	assert_int_equal(run("serve", "--bogus", NULL), 2);
	assert_int_equal(run("serve", "-c", NULL), 2);
	/* A configuration that cannot be loaded: exit 1. */
	assert_int_equal(run("serve", "-c", "/nonexistent/samlbroker.conf", NULL), 1);
	assert_int_equal(run("serve", "--config=/nonexistent/x.conf", NULL), 1);
}

static void
test_mint_usage(void **state)
{
	(void)state;
	assert_int_equal(run("mint", NULL), 2);
	assert_int_equal(run("mint", "-t", "acme", NULL), 2);
	assert_int_equal(run("mint", "-t", "acme", "-u", "not-an-address", NULL), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_command_suggestion),
		cmocka_unit_test(test_serve_options),
		cmocka_unit_test(test_mint_usage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
