/* SPDX-License-Identifier: Apache-2.0 */
/*
 * front_main.c - the front (samlbroker-front, started by the master,
 * never by hand): the one process that reads callers' bytes and talks to
 * PureCloud.
 *
 * Owns the front's start: its channels to the master on fds 3 and 4 and
 * nothing else (an empty environment: no secret reaches it), the first
 * generation through front_control.c, then the sandbox (sandbox.c) before
 * the first caller is accepted: from then on it can open no file (but
 * the resolver's, read only) and start no program.  Then the one event
 * loop until SIGTERM or the master's going.  Test builds
 * (tests/samlbroker_front_test.c) may add a probe that runs once the
 * sandbox is up, more readable files, or no sandbox at all; the
 * installed program has none of these.
 */
#include "config.h"

#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "commands.h"
#include "server.h"
#include "master_wire.h"

/* Test builds only (tests/samlbroker_front_test.c). */
const char *const	*front_sandbox_extra_read;
bool			 front_sandbox_off;
void			(*front_probe)(void);

static bool
is_socket(int fd)
{
	struct stat	 st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* glibc loads NSS modules on first use: load them now, while files can
 * be opened, so that a later lookup needs only the resolver's files. */
static void
resolver_warm(void)
{
	struct addrinfo	 hints, *res = NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo("localhost", "443", &hints, &res) == 0)
		freeaddrinfo(res);
}

static int
sandbox(const struct broker_config *conf)
{
	struct sandbox_options	 o;
	struct sandbox_report	 r;
	char			 err[512];

	if (front_sandbox_off) {
		log_warnx("event=sandbox state=off note=\"test build\"");
		return 0;
	}
	memset(&o, 0, sizeof(o));
	o.require_landlock = conf->require_landlock;
	o.extra_read = front_sandbox_extra_read;
	if (sandbox_enter(&o, &r, err, sizeof(err)) == -1) {
		log_errorx("event=startup_failed reason=sandbox error=\"%s\"", err);
		return -1;
	}
	if (r.landlock)
		log_info("event=sandbox landlock=on abi=%d seccomp=%s", r.landlock_abi,
		    r.seccomp ? "on" : "unavailable");
	else
		log_warnx("event=sandbox landlock=unavailable seccomp=%s note=\"this "
		    "kernel has no Landlock: the front can open files\"",
		    r.seccomp ? "on" : "unavailable");
	return 0;
}

int
front_main(int argc, char **argv)
{
	struct server		 srv;
	struct front_control	*fc;
	int			 rc = 1;

	(void)argc;
	(void)argv;
	log_init(LOG_LEVEL_INFO, "samlbroker-front");
	if (!is_socket(MW_CONTROL_FD) || !is_socket(MW_QUERY_FD)) {
		fprintf(stderr, "samlbroker-front is started by samlbroker serve, "
		    "not by hand\n");
		return 2;
	}
	(void)prctl(PR_SET_NAME, "sb-front", 0, 0, 0);
	process_harden();
	signal(SIGPIPE, SIG_IGN);
	/* No xmlsec here: the front never signs (the signers do). */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	memset(&srv, 0, sizeof(srv));
	srv.started = clock_now();
	srv.reload_ok = true;
	if ((srv.base = server_base_new()) == NULL) {
		log_errorx("event=startup_failed reason=libevent");
		goto done;
	}
	server_init(&srv, srv.base);
	if ((fc = front_control_start(&srv)) == NULL)
		goto done;
	resolver_warm();
	if (sandbox(broker_config(srv.broker)) == -1)
		goto done;
	if (front_probe != NULL)
		front_probe();
	server_signals_add(&srv);
	front_control_listen(fc);
	if (front_control_ready(fc) == -1) {
		log_error("event=startup_failed reason=master");
		goto done;
	}
	srv.ready = true;
	log_info("event=front_ready tenants=%zu listeners=%zu",
	    broker_config(srv.broker)->n_tenants, srv.n_listeners);
	event_base_dispatch(srv.base);
	/* The tokens taken since the last save, for the next start. */
	front_control_persist(fc);
	rc = 0;
	log_info("event=front_stopped");
done:
	fc = srv.control;
	server_teardown(&srv);
	front_control_free(fc);
	curl_global_cleanup();
	return rc;
}
