/* SPDX-License-Identifier: Apache-2.0 */
/*
 * samlbroker_front_test.c - the test-only front (never installed), which
 * tests/samlbroker-testclock starts: the installed front's code with
 *  - the test clock (SAMLBROKER_TEST_CLOCK_FILE; the sandbox leaves that
 *    file's directory readable, and nothing else more);
 *  - a probe (SAMLBROKER_TEST_PROBE = comma-separated open:PATH,
 *    exec:PATH, env:NAME, resolve:NAME) that runs once the sandbox is up
 *    and logs one line per attempt: `event=probe what=open path=...
 *    result=ok|denied`;
 *  - SAMLBROKER_TEST_NO_SANDBOX=1: no sandbox at all, so that a test can
 *    show the probe succeeds without it (and therefore can fail).
 * It never logs what it read.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netdb.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "samlbroker.h"
#include "commands.h"

extern const char *const	*front_sandbox_extra_read;
extern bool			 front_sandbox_off;
extern void			(*front_probe)(void);

static const char	*clock_file;
static char		*clock_dir;
static const char	*extra_read[2];

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

static void
probe_open(const char *path)
{
	char	 buf[64];
	int	 fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t	 n;

	if (fd == -1) {
		log_info("event=probe what=open path=%s result=denied error=\"%s\"", path,
		    strerror(errno));
		return;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	log_info("event=probe what=open path=%s result=%s bytes=%zd", path,
	    n > 0 ? "ok" : "denied", n);
}

static void
probe_exec(const char *path)
{
	extern char	**environ;
	char		*argv[] = { (char *)(uintptr_t)path, NULL };
	pid_t		 pid;
	int		 rc, status = 0;

	/* posix_spawn reports a failed exec as its own error. */
	if ((rc = posix_spawn(&pid, path, NULL, NULL, argv, environ)) != 0) {
		log_info("event=probe what=exec path=%s result=denied error=\"%s\"", path,
		    strerror(rc));
		return;
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	log_info("event=probe what=exec path=%s result=%s status=%d", path,
	    WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "denied",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* The resolver still works in the sandbox (its files are readable). */
static void
probe_resolve(const char *name)
{
	struct addrinfo	 hints, *res = NULL;
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(name, "443", &hints, &res);
	log_info("event=probe what=resolve name=%s result=%s%s%s", name,
	    rc == 0 ? "ok" : "failed", rc == 0 ? "" : " error=", rc == 0 ? "" :
	    gai_strerror(rc));
	if (res != NULL)
		freeaddrinfo(res);
}

static void
probe(void)
{
	const char	*spec = getenv("SAMLBROKER_TEST_PROBE");
	char		*copy, *item, *save = NULL;

	if (spec == NULL)
		return;
	copy = xstrdup(spec);
	for (item = strtok_r(copy, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if (strncmp(item, "open:", 5) == 0)
			probe_open(item + 5);
		else if (strncmp(item, "exec:", 5) == 0)
			probe_exec(item + 5);
		else if (strncmp(item, "resolve:", 8) == 0)
			probe_resolve(item + 8);
		else if (strncmp(item, "env:", 4) == 0)
			log_info("event=probe what=env name=%s result=%s", item + 4,
			    getenv(item + 4) != NULL ? "ok" : "denied");
	}
	free(copy);
	log_info("event=probe what=done");
}

int
main(int argc, char **argv)
{
	const char	*off = getenv("SAMLBROKER_TEST_NO_SANDBOX");

	if ((clock_file = getenv("SAMLBROKER_TEST_CLOCK_FILE")) != NULL) {
		clock_set(test_clock);
		clock_dir = xstrdup(clock_file);
		extra_read[0] = dirname(clock_dir);
		front_sandbox_extra_read = extra_read;
	}
	if (getenv("SAMLBROKER_TEST_PROBE") != NULL)
		front_probe = probe;
	front_sandbox_off = off != NULL && strcmp(off, "1") == 0;
	return front_main(argc, argv);
}
