/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_log.c - log.c: level names, the level filter, the
 * "prog: level=NAME key=value" line, control characters replaced so a
 * line stays a line, the errno text of log_warn, log_error's level and
 * fatal's exit.
 *
 * stderr is sent to a temporary file (dup2) while a test logs, then read.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static FILE	*capture_file;
static int	 saved_stderr = -1;

static void
capture_start(void)
{
	fflush(stderr);
	assert_non_null(capture_file = tmpfile());
	assert_true((saved_stderr = dup(STDERR_FILENO)) != -1);
	assert_true(dup2(fileno(capture_file), STDERR_FILENO) != -1);
}

/* Ends the capture; returns what was written (static, NUL-terminated). */
static const char *
capture_end(void)
{
	static char	 buf[8192];
	size_t		 n;

	fflush(stderr);
	assert_true(dup2(saved_stderr, STDERR_FILENO) != -1);
	close(saved_stderr);
	rewind(capture_file);
	n = fread(buf, 1, sizeof(buf) - 1, capture_file);
	buf[n] = '\0';
	fclose(capture_file);
	return buf;
}

static void
test_level_parse(void **state)
{
	static const struct {
		const char	*name;
		int		 rc;
		enum log_level	 level;
	} cases[] = {
		{ "error",	0,	LOG_LEVEL_ERROR },
		{ "warn",	0,	LOG_LEVEL_WARN },
		{ "warning",	0,	LOG_LEVEL_WARN },
		{ "info",	0,	LOG_LEVEL_INFO },
		{ "debug",	0,	LOG_LEVEL_DEBUG },
		{ "Info",	-1,	LOG_LEVEL_INFO },	/* names are exact */
		{ "",		-1,	LOG_LEVEL_INFO },
		{ "debug ",	-1,	LOG_LEVEL_INFO },
		{ "trace",	-1,	LOG_LEVEL_INFO },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum log_level	 got = (enum log_level)99;

		assert_int_equal(log_level_parse(cases[i].name, &got), cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(got, cases[i].level);
		else	/* untouched on error */
			assert_int_equal(got, 99);
	}
}

static void
test_line_format(void **state)
{
	(void)state;
	log_init(LOG_LEVEL_INFO, "prog");
	capture_start();
	log_info("event=start tenant=%s n=%d", "acme", 3);
	log_warnx("event=slow ms=%d", 250);
	assert_string_equal(capture_end(),
	    "prog: level=info event=start tenant=acme n=3\n"
	    "prog: level=warn event=slow ms=250\n");
}

static void
test_level_filter(void **state)
{
	(void)state;
	log_init(LOG_LEVEL_WARN, "prog");
	assert_int_equal(log_get_level(), LOG_LEVEL_WARN);
	capture_start();
	log_debug("event=hidden1");
	log_info("event=hidden2");
	log_warnx("event=shown");
	log_set_level(LOG_LEVEL_DEBUG);
	log_debug("event=now_shown");
	assert_string_equal(capture_end(),
	    "prog: level=warn event=shown\n"
	    "prog: level=debug event=now_shown\n");
	log_set_level(LOG_LEVEL_ERROR);
	capture_start();
	log_warnx("event=hidden3");
	assert_string_equal(capture_end(), "");
	log_init(LOG_LEVEL_INFO, NULL);	/* NULL keeps the name */
	capture_start();
	log_info("x=1");
	assert_string_equal(capture_end(), "prog: level=info x=1\n");
}

static void
test_control_characters(void **state)
{
	(void)state;
	log_init(LOG_LEVEL_INFO, "prog");
	capture_start();
	log_info("user=%s", "evil\nprog: level=error forged=1\r\x1b[31m\t\x7f");
	log_info("ok=%s", "caf\xc3\xa9");	/* UTF-8 passes */
	assert_string_equal(capture_end(),
	    "prog: level=info user=evil?prog: level=error forged=1??[31m??\n"
	    "prog: level=info ok=caf\xc3\xa9\n");
}

static void
test_warn_errno(void **state)
{
	const char	*out;
	char		 want[256];

	(void)state;
	log_init(LOG_LEVEL_INFO, "prog");
	capture_start();
	errno = ENOENT;
	log_warn("event=open path=%s", "/x");
	assert_int_equal(errno, ENOENT);	/* kept for the caller */
	out = capture_end();
	snprintf(want, sizeof(want),
	    "prog: level=warn event=open path=/x error=\"%s\"\n", strerror(ENOENT));
	assert_string_equal(out, want);
}

/* log_error and log_errorx: level=error, the process goes on, errno kept;
 * level=error passes a filter set to error, warn does not. */
static void
test_error_levels(void **state)
{
	char	 want[256];

	(void)state;
	log_init(LOG_LEVEL_ERROR, "prog");
	capture_start();
	log_warnx("event=hidden");
	log_errorx("event=startup_failed reason=%s", "configuration");
	errno = EACCES;
	log_error("event=listen_failed path=%s", "/run/x");
	assert_int_equal(errno, EACCES);
	snprintf(want, sizeof(want),
	    "prog: level=error event=startup_failed reason=configuration\n"
	    "prog: level=error event=listen_failed path=/run/x error=\"%s\"\n",
	    strerror(EACCES));
	assert_string_equal(capture_end(), want);
	log_init(LOG_LEVEL_INFO, "prog");
}

static void
test_long_line(void **state)
{
	char		*big = malloc(5000);
	const char	*out;

	(void)state;
	memset(big, 'a', 4999);
	big[4999] = '\0';
	log_init(LOG_LEVEL_INFO, "p");
	capture_start();
	log_info("v=%s", big);
	out = capture_end();
	free(big);
	/* Cut to the buffer, still one line. */
	assert_int_equal(strlen(out), strlen("p: level=info ") + 2047 + 1);
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
}

static void
test_fatal_exits(void **state)
{
	pid_t	 pid;
	int	 status;

	(void)state;
	log_init(LOG_LEVEL_ERROR, "prog");
	capture_start();
	if ((pid = fork()) == 0)
		fatalx("event=broken n=%d", 1);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	if ((pid = fork()) == 0) {
		errno = EACCES;
		fatal("event=denied");
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	{
		char		 want[256];

		snprintf(want, sizeof(want), "prog: level=error event=broken n=1\n"
		    "prog: level=error event=denied error=\"%s\"\n", strerror(EACCES));
		assert_string_equal(capture_end(), want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_parse),
		cmocka_unit_test(test_line_format),
		cmocka_unit_test(test_level_filter),
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_warn_errno),
		cmocka_unit_test(test_error_levels),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_fatal_exits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
