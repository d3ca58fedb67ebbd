/*
 * samlbroker_testclock.c - a test-only samlbroker (never installed) whose
 * clock the integration tests move: SAMLBROKER_TEST_CLOCK_FILE names a
 * file holding an offset in seconds, read again whenever it changes.
 * Otherwise it is the installed program: the same samlbroker_main.  As
 * serve's master it starts the test front (tests/samlbroker_front_test.c)
 * and passes it, and the signers, the test variables (only these: the
 * installed master passes no variable at all); with
 * SAMLBROKER_TEST_NO_SANDBOX=1 the front gets the whole environment, so
 * that tests/serve_sandbox.py can show what an unconfined front reaches.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "samlbroker.h"
#include "commands.h"

static const char	*clock_file;
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
	static struct timespec	 seen;
	static double		 offset;
	struct timespec		 ts;
	struct stat		 st;
	FILE			*f;

	if (stat(clock_file, &st) == 0 &&
	    (st.st_mtim.tv_sec != seen.tv_sec || st.st_mtim.tv_nsec != seen.tv_nsec)) {
		seen = st.st_mtim;
		if ((f = fopen(clock_file, "r")) != NULL) {
			if (fscanf(f, "%lf", &offset) != 1)
				offset = 0;
			fclose(f);
		}
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + offset;
}

int
main(int argc, char **argv)
{
	const char	*off = getenv("SAMLBROKER_TEST_NO_SANDBOX");

	if ((clock_file = getenv("SAMLBROKER_TEST_CLOCK_FILE")) != NULL) {
		log_init(LOG_LEVEL_INFO, "samlbroker");
		clock_set(test_clock);
		log_warnx("event=test_clock file=%s", clock_file);
	}
	master_front_program = "samlbroker-front-testclock";
	master_front_env = test_env;
	master_front_env_all = off != NULL && strcmp(off, "1") == 0;
	signer_start_hook = slow_start;
	return samlbroker_main(argc, argv);
}
