/* SPDX-License-Identifier: Apache-2.0 */
/*
 * samlbroker_testclock.c - a test-only samlbroker (never installed) whose
 * clock the integration tests move: SAMLBROKER_TEST_CLOCK_FILE names a
 * file holding an offset in seconds, written twice on one line
 * ("OFFSET OFFSET", the harness's set_clock rewrites it in place).
 * Otherwise it is the installed program: the same samlbroker_main.
 *
 * Every process of this binary maps the file at start and reads the
 * offset from memory, without a system call: the signers (started from
 * the same binary) run under a seccomp filter that forbids opening files,
 * and must keep the same clock as the front.  A line whose two copies
 * differ (read while being rewritten) keeps the previous offset.
 *
 * As serve's master it starts the test front (tests/samlbroker_front_test.c)
 * and passes it, and the signers, the test variables (only these: the
 * installed master passes no variable at all); with
 * SAMLBROKER_TEST_NO_SANDBOX=1 the front gets the whole environment, so
 * that tests/serve_sandbox.py can show what an unconfined front reaches.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "samlbroker.h"
#include "commands.h"

#define CLOCK_RECORD	64	/* bytes of the file that are read */

static const volatile char	*clock_map;
static const char *const test_env[] = {
	"SAMLBROKER_TEST_CLOCK_FILE", "SAMLBROKER_TEST_PROBE", "SAMLBROKER_TEST_NO_SANDBOX",
	"SAMLBROKER_TEST_SIGNER_DELAY_FILE", NULL
};

/* A signer that takes a while to start: while the file named by
 * SAMLBROKER_TEST_SIGNER_DELAY_FILE exists, it waits its number of seconds
 * before saying READY (tests/serve_reload.py). */
static void
slow_start(int index)
{
	const char	*path = getenv("SAMLBROKER_TEST_SIGNER_DELAY_FILE");
	double		 secs = 0;
	FILE		*f;

	(void)index;
	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return;
	if (fscanf(f, "%lf", &secs) == 1 && secs > 0 && secs < 600) {
		struct timespec ts = { (time_t)secs,
		    (long)((secs - (double)(time_t)secs) * 1e9) };

		nanosleep(&ts, NULL);
	}
	fclose(f);
}

static double
test_clock(void)
{
	static double		 offset;
	struct timespec		 ts;
	char			 rec[CLOCK_RECORD + 1];
	double			 a, b;

	for (size_t i = 0; i < CLOCK_RECORD; i++)
		rec[i] = clock_map[i];
	rec[CLOCK_RECORD] = '\0';
	if (sscanf(rec, "%lf %lf", &a, &b) == 2 && a == b)
		offset = a;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + offset;
}

static const char *const negotiator_env[] = { "FAKETIME", "FAKETIME_TIMESTAMP_FILE",
    "FAKETIME_NO_CACHE", "FAKETIME_DONT_RESET", "FAKETIME_DONT_FAKE_MONOTONIC", NULL };

int
main(int argc, char **argv)
{
	const char	*clock_file = getenv("SAMLBROKER_TEST_CLOCK_FILE");
	const char	*off = getenv("SAMLBROKER_TEST_NO_SANDBOX");
	struct stat	 st;
	void		*map;
	int		 fd;

	if (clock_file != NULL) {
		log_init(LOG_LEVEL_INFO, "samlbroker");
		/* A file shorter than a page reads as zeros past its end; an
		 * empty one could not be mapped safely. */
		if ((fd = open(clock_file, O_RDONLY | O_CLOEXEC)) == -1 ||
		    fstat(fd, &st) == -1 || st.st_size == 0)
			fatalx("test clock: cannot use %s", clock_file);
		map = mmap(NULL, CLOCK_RECORD, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
		if (map == MAP_FAILED)
			fatal("test clock: mmap %s", clock_file);
		clock_map = map;
		clock_set(test_clock);
		log_warnx("event=test_clock file=%s", clock_file);
	}
	master_front_program = "samlbroker-front-testclock";
	master_front_env = test_env;
	/* libfaketime for the negotiator alone (serve_negotiate.py's skew). */
	master_negotiator_preload = getenv("SAMLBROKER_TEST_NEGOTIATOR_PRELOAD");
	master_negotiator_env = negotiator_env;
	master_front_env_all = off != NULL && strcmp(off, "1") == 0;
	signer_start_hook = slow_start;
	return samlbroker_main(argc, argv);
}
