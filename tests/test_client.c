/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_client.c - client.c (`samlbroker token` and `samlbroker status`)
 * against a real local server on a Unix socket: a forked process that
 * takes one connection, reports the request line it got, and answers as
 * told (the broker's answers, its error answers, garbage, or nothing).
 *
 * stdout and stderr go to temporary files (dup2) while a command runs.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/stat.h>

#include "commands.h"
#include "samlbroker.h"
#include "cmd_capture.h"

static char	 dir[64], sock_path[128], address[160];
static char	 got_out[16384], got_err[8192], got_request[1024];
static pid_t	 server_pid = -1;
static int	 request_fd = -1;

/* Starts a server that answers one connection with ANSWER (NULL: closes
 * without a word). */
static void
server_start(const char *answer)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	int			 s, p[2];

	unlink(sock_path);
	strcpy(sun.sun_path, sock_path);
	assert_true((s = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(s, 1), 0);
	assert_int_equal(pipe(p), 0);
	if ((server_pid = fork()) == 0) {
		char	 req[4096];
		size_t	 len = 0;
		ssize_t	 n;
		int	 c = accept(s, NULL, NULL);

		while (c != -1 && len < sizeof(req) - 1 &&
		    (n = read(c, req + len, sizeof(req) - 1 - len)) > 0) {
			len += (size_t)n;
			req[len] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL)
				break;
		}
		req[len] = '\0';
		if (write(p[1], req, strcspn(req, "\r")) < 0)
			_exit(1);
		if (answer != NULL && write(c, answer, strlen(answer)) < 0)
			_exit(1);
		_exit(0);
	}
	assert_true(server_pid > 0);
	close(s);
	close(p[1]);
	request_fd = p[0];
}

/* Waits for the server; got_request holds its request line. */
static void
server_wait(void)
{
	ssize_t	 n;
	int	 status;

	n = read(request_fd, got_request, sizeof(got_request) - 1);
	got_request[n > 0 ? n : 0] = '\0';
	close(request_fd);
	assert_int_equal(waitpid(server_pid, &status, 0), server_pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Runs a command with argv (NULL-terminated), keeping what it printed. */
static int
run(int (*cmd)(int, char **), const char *first, ...)
{
	const char	*argv[32] = { "cmd", first };
	va_list		 ap;
	int		 argc = 1;

	va_start(ap, first);
	for (const char *a = first; a != NULL; a = va_arg(ap, const char *))
		argv[argc++] = a;
	va_end(ap);
	return cmd_capture(cmd, argc, (char **)argv, got_out, sizeof(got_out),
	    got_err, sizeof(got_err));
}

/* An HTTP/1.1 answer with a JSON body. */
static char *
answer(int status, const char *body)
{
	static char	 buf[8192];

	snprintf(buf, sizeof(buf), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
	    strlen(body), body);
	return buf;
}

static int
setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	strcpy(dir, "/tmp/test_client.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/broker.sock", dir);
	snprintf(address, sizeof(address), "unix:%s", sock_path);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(sock_path);
	return rmdir(dir);
}

static void
test_token(void **state)
{
	const char	*ok = "{\"access_token\":\"tok-123\",\"expires_in\":3600}";

	(void)state;
	server_start(answer(200, ok));
	assert_int_equal(run(cmd_token, "-s", address, "-t", "acme corp",
	    "-u", "a.b+c@example.com", NULL), 0);
	server_wait();
	assert_string_equal(got_out, "tok-123\n");
	assert_string_equal(got_err, "");
	/* Names are escaped into the path. */
	assert_string_equal(got_request,
	    "GET /v1/tenants/acme%20corp/users/a.b%2Bc%40example.com/token HTTP/1.1");

	server_start(answer(200, ok));
	assert_int_equal(run(cmd_token, "-s", address, "-t", "acme",
	    "--service", "crm/sync", "--json", NULL), 0);
	server_wait();
	assert_string_equal(got_out, ok);	/* --json: the whole answer */
	assert_string_equal(got_request,
	    "GET /v1/tenants/acme/services/crm%2Fsync/token HTTP/1.1");
}

static void
test_token_errors(void **state)
{
	(void)state;
	server_start(answer(502, "{\"error\":\"upstream_failed\",\"message\":"
	    "\"PureCloud refused the assertion\",\"upstream_error\":\"invalid_grant\"}"));
	assert_int_equal(run(cmd_token, "-s", address, "-t", "a", "-u", "u@x", NULL), 1);
	server_wait();
	assert_string_equal(got_out, "");
	assert_string_equal(got_err, "samlbroker token: upstream_failed (HTTP 502): "
	    "PureCloud refused the assertion [upstream: invalid_grant]\n");

	server_start(answer(403, "{\"error\":\"forbidden\",\"message\":\"no\"}"));
	assert_int_equal(run(cmd_token, "-s", address, "-t", "a", "-u", "u@x", NULL), 1);
	server_wait();
	assert_string_equal(got_err, "samlbroker token: forbidden (HTTP 403): no\n");

	server_start(answer(500, "<html>oops</html>"));
	assert_int_equal(run(cmd_token, "-s", address, "-t", "a", "-u", "u@x", NULL), 1);
	server_wait();
	assert_string_equal(got_err, "samlbroker token: the broker answered HTTP 500\n");

	/* A 200 without a token, with --json printed as it is. */
	server_start(answer(200, "{\"token\":1}"));
	assert_int_equal(run(cmd_token, "-s", address, "-t", "a", "-u", "u@x", NULL), 1);
	server_wait();
	assert_string_equal(got_err, "samlbroker token: malformed answer from the broker\n");
	server_start(answer(200, "not json"));
	assert_int_equal(run(cmd_token, "-s", address, "-t", "a", "-u", "u@x", NULL), 1);
	server_wait();
	assert_string_equal(got_err, "samlbroker token: malformed answer from the broker\n");

	/* A server that closes without answering. */
	server_start(NULL);
	assert_int_equal(run(cmd_token, "-s", address, "-t", "a", "-u", "u@x", NULL), 1);
	server_wait();
	assert_non_null(strstr(got_err, "samlbroker token: cannot reach the broker at unix:"));

	/* A 503 shows its Retry-After; an unknown tenant may be a hidden one. */
	server_start("HTTP/1.1 503 X\r\nContent-Type: application/json\r\n"
	    "Retry-After: 7\r\nContent-Length: 41\r\nConnection: close\r\n\r\n"
	    "{\"error\":\"signers_busy\",\"message\":\"busy\"}");
	assert_int_equal(run(cmd_token, "-s", address, "-t", "a", "-u", "u@x", NULL), 1);
	server_wait();
	assert_string_equal(got_err, "samlbroker token: signers_busy (HTTP 503): busy\n"
	    "samlbroker token: retry after 7 s (the broker's Retry-After)\n");
	server_start(answer(404, "{\"error\":\"unknown_tenant\",\"message\":\"no\"}"));
	assert_int_equal(run(cmd_token, "-s", address, "-t", "a", "-u", "u@x", NULL), 1);
	server_wait();
	assert_non_null(strstr(got_err, "hint: either no such tenant, or its "
	    "[access:TENANT] section names no principal of this caller (uid "));
}

/* Connection failures say which one it is and what to do. */
static void
test_connect_errors(void **state)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	char			 want[512];
	int			 s;

	(void)state;
	/* No socket file: no broker running. */
	unlink(sock_path);
	assert_int_equal(run(cmd_token, "-s", address, "-t", "a", "-u", "u@x", NULL), 1);
	snprintf(want, sizeof(want), "samlbroker token: no broker listening at %s: %s "
	    "does not exist (is samlbroker.service running? systemctl status "
	    "samlbroker)\n", address, sock_path);
	assert_string_equal(got_err, want);
	/* A socket file nobody listens on: a stopped broker's leftover. */
	strcpy(sun.sun_path, sock_path);
	assert_true((s = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(s);
	assert_int_equal(run(cmd_status, "-s", sock_path, NULL), 1);	/* a bare path */
	assert_non_null(strstr(got_err, "samlbroker status: no broker listening at "));
	assert_non_null(strstr(got_err, "the socket file is there but nothing accepts"));
	unlink(sock_path);
	/* TCP: nobody on the port. */
	assert_int_equal(run(cmd_status, "-s", "tcp:127.0.0.1:1", NULL), 1);
	assert_string_equal(got_err, "samlbroker status: no broker listening at "
	    "tcp:127.0.0.1:1 (is samlbroker running, and is this one of its listen "
	    "addresses?)\n");
}

/*
 * A caller outside the socket directory's group is told which directory
 * refused it and which group to join.  Needs root (to be someone else).
 */
static void
test_connect_permission(void **state)
{
	int	 status;
	pid_t	 pid;

	(void)state;
	if (getuid() != 0)
		skip();
	server_start(answer(200, "{}"));
	assert_int_equal(chown(dir, 0, 1), 0);	/* group daemon (gid 1) */
	assert_int_equal(chmod(dir, 0750), 0);
	if ((pid = fork()) == 0) {
		char	 want[512];
		struct group *gr = getgrgid(1);

		if (setgroups(0, NULL) == -1 || setgid(65534) == -1 || setuid(65534) == -1)
			_exit(3);
		if (run(cmd_token, "-s", address, "-t", "a", "-u", "u@x", NULL) != 1)
			_exit(4);
		snprintf(want, sizeof(want), "samlbroker token: permission denied on %s "
		    "(mode 0750, uid 0, gid 1); join group %s (usermod -aG %s USER, then "
		    "log in again) or run as the broker's user\n", dir,
		    gr ? gr->gr_name : "?", gr ? gr->gr_name : "?");
		_exit(strcmp(got_err, want) == 0 ? 0 : (fprintf(stdout, "%s", got_err), 5));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(chmod(dir, 0700), 0);
	/* The server still waits for its connection: give it one. */
	assert_int_equal(run(cmd_token, "-s", address, "-t", "a", "-u", "u@x", NULL), 1);
	server_wait();
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_usage(void **state)
{
	(void)state;
	assert_int_equal(run(cmd_token, "-t", "a", NULL), 2);
	assert_non_null(strstr(got_err, "usage: samlbroker token"));
	assert_non_null(strstr(got_err, "samlbroker token: give one of: -u EMAIL for an "
	    "agent's token or --service NAME for a service's\n"));
	assert_int_equal(run(cmd_token, "-u", "x", NULL), 2);
	assert_non_null(strstr(got_err, "samlbroker token: give the tenant: -t TENANT\n"));
	assert_int_equal(run(cmd_token, "-t", "a", "-u", "x", "--service", "s", NULL), 2);
	assert_int_equal(run(cmd_token, "-u", "x", NULL), 2);
	assert_int_equal(run(cmd_token, "-t", "a", "-u", "x", "extra", NULL), 2);
	assert_int_equal(run(cmd_token, "--bogus", NULL), 2);
	assert_int_equal(run(cmd_token, "-h", NULL), 0);
	assert_non_null(strstr(got_out, "usage: samlbroker token"));
	assert_int_equal(run(cmd_token, "-s", "http://x", "-t", "a", "-u", "x", NULL), 1);
	assert_string_equal(got_err, "samlbroker token: address must be unix:PATH, "
	    "an absolute socket path or tcp:HOST:PORT\n");
	assert_int_equal(run(cmd_status, "extra", NULL), 2);
	assert_int_equal(run(cmd_status, "--help", NULL), 0);
	assert_non_null(strstr(got_out, "usage: samlbroker status"));
}

static void
test_status(void **state)
{
	const char	*body =
	    "{\"version\":\"1.2.3\",\"uptime\":42,\"started\":\"2026-01-01T00:00:00Z\","
	    "\"config_file\":\"/etc/samlbroker/samlbroker.conf\","
	    "\"last_reload\":{\"time\":\"2026-01-01T00:00:10Z\",\"ok\":false,"
	    "\"error\":\"bad file\"},"
	    "\"tenants\":["
	    "{\"name\":\"acme\",\"organization_sname\":\"acmeorg\","
	    "\"certificate\":{\"not_after\":\"2030-01-01T00:00:00Z\"},"
	    "\"cache\":{\"entries\":2,\"hits\":5,\"misses\":3},"
	    "\"upstream\":{\"consecutive_failures\":0,\"last_success\":\"2026-01-01T00:00:20Z\"}},"
	    "{\"name\":\"beta\",\"organization_sname\":\"b\","
	    "\"certificate\":{\"not_after\":\"2031-01-01T00:00:00Z\"},"
	    "\"cache\":{\"entries\":0,\"hits\":0,\"misses\":1},"
	    "\"upstream\":{\"consecutive_failures\":3,\"last_error\":\"timeout\","
	    "\"last_failure\":\"2026-01-01T00:00:30Z\",\"current_backoff\":8.0}}]}";

	(void)state;
	server_start(answer(200, body));
	assert_int_equal(run(cmd_status, "-s", address, NULL), 0);
	server_wait();
	assert_string_equal(got_request, "GET /v1/status HTTP/1.1");
	assert_string_equal(got_out,
	    "samlbroker 1.2.3, up 42s since 2026-01-01T00:00:00Z, config "
	    "/etc/samlbroker/samlbroker.conf\n"
	    "last reload 2026-01-01T00:00:10Z: FAILED: bad file\n"
	    "tenant acme (acmeorg): ok; cache 2 entries, 5 hits, 3 misses; "
	    "certificate expires 2030-01-01T00:00:00Z\n"
	    "  last success 2026-01-01T00:00:20Z\n"
	    "tenant beta (b): FAILING; cache 0 entries, 0 hits, 1 misses; "
	    "certificate expires 2031-01-01T00:00:00Z\n"
	    "  last error timeout at 2026-01-01T00:00:30Z, 3 consecutive failures, "
	    "backoff 8s\n");

	/* No reload yet, missing fields shown as '?'. */
	server_start(answer(200, "{\"last_reload\":{\"time\":null},\"tenants\":[{}]}"));
	assert_int_equal(run(cmd_status, "-s", address, NULL), 0);
	server_wait();
	assert_string_equal(got_out, "samlbroker ?, up 0s since ?, config ?\n"
	    "tenant ? (?): ok; cache 0 entries, 0 hits, 0 misses; certificate expires ?\n"
	    "  last success never\n");

	/* A tenant's state and its clients' table: FAILING although its last
	 * exchange (another client's) succeeded. */
	server_start(answer(200, "{\"version\":\"2\",\"tenants\":[{\"name\":\"acme\","
	    "\"organization_sname\":\"a\",\"state\":\"failing\","
	    "\"certificate\":{\"not_after\":\"2030-01-01T00:00:00Z\"},"
	    "\"cache\":{\"entries\":1,\"hits\":0,\"misses\":2},"
	    "\"upstream\":{\"consecutive_failures\":0,"
	    "\"last_success\":\"2026-01-01T00:00:20Z\"},"
	    "\"clients\":[{\"name\":\"saml_auth\",\"client_id\":\"saml-client\","
	    "\"last_result\":\"ok\",\"last_success\":\"2026-01-01T00:00:20Z\","
	    "\"last_failure\":null,\"last_error\":null,\"last_reason\":null},"
	    "{\"name\":\"ewt\",\"client_id\":\"ewt-client-acme\","
	    "\"last_result\":\"failed\",\"last_success\":null,"
	    "\"last_failure\":\"2026-01-01T00:00:10Z\",\"last_error\":\"invalid_client\","
	    "\"last_reason\":\"authentication failed\"},"
	    "{\"name\":\"reports\",\"client_id\":\"r\",\"last_result\":null}]}]}"));
	assert_int_equal(run(cmd_status, "-s", address, NULL), 0);
	server_wait();
	assert_string_equal(got_out, "samlbroker 2, up 0s since ?, config ?\n"
	    "tenant acme (a): FAILING; cache 1 entries, 0 hits, 2 misses; "
	    "certificate expires 2030-01-01T00:00:00Z\n"
	    "  last success 2026-01-01T00:00:20Z\n"
	    "  CLIENT     CLIENT ID        LAST    LAST SUCCESS          "
	    "LAST FAILURE          LAST ERROR\n"
	    "  saml_auth  saml-client      ok      2026-01-01T00:00:20Z  "
	    "-                     -\n"
	    "  ewt        ewt-client-acme  failed  -                     "
	    "2026-01-01T00:00:10Z  invalid_client: authentication failed\n"
	    "  reports    r                -       -                     "
	    "-                     -\n");

	server_start(answer(200, body));
	assert_int_equal(run(cmd_status, "-s", address, "--json", NULL), 0);
	server_wait();
	assert_string_equal(got_out, body);

	/* No tenant visible: say why that may be. */
	server_start(answer(200, "{\"version\":\"1\",\"tenants\":[]}"));
	assert_int_equal(run(cmd_status, "-s", address, NULL), 0);
	server_wait();
	assert_non_null(strstr(got_out, "no tenant visible to this caller (uid "));
	assert_non_null(strstr(got_out, "the admin address (admin_listen) shows every tenant\n"));

	server_start(answer(503, "{\"error\":\"shutting_down\",\"message\":\"bye\"}"));
	assert_int_equal(run(cmd_status, "-s", address, NULL), 1);
	server_wait();
	assert_string_equal(got_err, "samlbroker status: shutting_down (HTTP 503): bye\n");
	server_start(answer(200, "[garbage"));
	assert_int_equal(run(cmd_status, "-s", address, NULL), 1);
	server_wait();
	assert_string_equal(got_err, "samlbroker status: malformed answer from the broker\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_token_errors),
		cmocka_unit_test(test_connect_errors),
		cmocka_unit_test(test_connect_permission),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_status),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
