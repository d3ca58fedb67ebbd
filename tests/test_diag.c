/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_diag.c - diag.c: the "FILE: [section] option: what" lines of
 * `samlbroker check`, warnings marked and counted apart from errors, and
 * diag_clear emptying the list for reuse.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "samlbroker.h"

static void
test_line_forms(void **state)
{
	struct diag	 d;

	(void)state;
	diag_init(&d);
	diag_error(&d, "/etc/b.conf", "saml", "issuer", "must be a URI, not '%s'", "x y");
	diag_error(&d, "/etc/b.conf", "server", NULL, "missing");
	diag_error(&d, "t.conf", NULL, "tenant", "unknown option");
	diag_error(&d, "t.conf", NULL, NULL, "line %d: no '='", 7);
	diag_error(&d, NULL, NULL, NULL, "no file");
	diag_warn(&d, "a.conf", "cache", "size", "is %d, large", 100000);
	diag_warn(&d, "a.conf", NULL, NULL, "empty");
	assert_int_equal(d.n_lines, 7);
	assert_int_equal(d.errors, 5);
	assert_int_equal(d.warnings, 2);
	assert_string_equal(d.lines[0], "/etc/b.conf: [saml] issuer: must be a URI, not 'x y'");
	assert_string_equal(d.lines[1], "/etc/b.conf: [server]: missing");
	assert_string_equal(d.lines[2], "t.conf: tenant: unknown option");
	assert_string_equal(d.lines[3], "t.conf: line 7: no '='");
	assert_string_equal(d.lines[4], "-: no file");
	assert_string_equal(d.lines[5], "a.conf: warning: [cache] size: is 100000, large");
	assert_string_equal(d.lines[6], "a.conf: warning: empty");
	/* Each line keeps its severity, for the log's level. */
	for (size_t i = 0; i < d.n_lines; i++)
		assert_int_equal(d.warning[i], i >= 5);
	diag_clear(&d);
}

static void
test_clear_and_reuse(void **state)
{
	struct diag	 d;

	(void)state;
	diag_init(&d);
	assert_int_equal(d.n_lines, 0);
	assert_int_equal(d.errors + d.warnings, 0);
	diag_clear(&d);		/* an empty list clears too */
	for (int i = 0; i < 100; i++)
		diag_warn(&d, "f", "s", "o", "w%d", i);
	assert_int_equal(d.n_lines, 100);
	assert_string_equal(d.lines[99], "f: warning: [s] o: w99");
	diag_clear(&d);
	assert_int_equal(d.n_lines, 0);
	assert_null(d.lines);
	assert_int_equal(d.warnings, 0);
	diag_error(&d, "f", NULL, NULL, "again");
	assert_int_equal(d.errors, 1);
	assert_string_equal(d.lines[0], "f: again");
	diag_clear(&d);
}

static void
test_long_message(void **state)
{
	struct diag	 d;
	char		*big = malloc(3000);

	(void)state;
	memset(big, 'v', 2999);
	big[2999] = '\0';
	diag_init(&d);
	diag_error(&d, "f", "s", "o", "%s", big);
	/* The message is cut to its buffer; the line is whole. */
	assert_int_equal(strlen(d.lines[0]), strlen("f: [s] o: ") + 1023);
	assert_int_equal(strncmp(d.lines[0], "f: [s] o: vvv", 13), 0);
	free(big);
	diag_clear(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_forms),
		cmocka_unit_test(test_clear_and_reuse),
		cmocka_unit_test(test_long_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
