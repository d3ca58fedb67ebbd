/*
 * samlbroker_testclock.c - a test-only samlbroker (never installed) whose
 * clock the integration tests move: SAMLBROKER_TEST_CLOCK_FILE names a
 * file holding an offset in seconds, read again whenever it changes.
 * Otherwise it is the installed program: the same samlbroker_main.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "samlbroker.h"
#include "commands.h"

static const char	*clock_file;

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
	if ((clock_file = getenv("SAMLBROKER_TEST_CLOCK_FILE")) != NULL) {
		log_init(LOG_LEVEL_INFO, "samlbroker");
		clock_set(test_clock);
		log_warnx("event=test_clock file=%s", clock_file);
	}
	return samlbroker_main(argc, argv);
}
