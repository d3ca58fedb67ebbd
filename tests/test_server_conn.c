/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_server_conn.c - server_conn.c on a real event_base: connections
 * fed through socketpairs (and a loopback TCP pair for Host), answered by
 * the real API handler for the endpoints that need no broker.  Keep-alive,
 * pipelining, HTTP/1.0, HEAD, bodies, protocol errors, the timeout, a
 * caller that hangs up, and connection counting.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

struct fixture {
	struct server	 srv;
	int		 client;	/* our end */
};

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	server_init(&f->srv, event_base_new());
	f->srv.max_body = 16;
	f->srv.max_connections = 8;
	f->srv.max_header_size = 256;
	f->srv.client_timeout = 1;
	for (int i = 0; i < FRONT_COUNT; i++) {
		f->srv.fronts[i].srv = &f->srv;
		f->srv.fronts[i].tcp = i == FRONT_TCP || i == FRONT_ADMIN_TCP;
		f->srv.fronts[i].admin = i >= FRONT_ADMIN_UNIX;
	}
	f->client = -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	conns_close_all(&f->srv);
	if (f->client != -1)
		close(f->client);
	event_base_free(f->srv.base);
	free(f);
	return 0;
}

/* A connection on a front: the server gets one end, we keep the other. */
static void
conn_open(struct fixture *f, enum front_kind kind)
{
	int	 sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	conn_accept(&f->srv.fronts[kind], sv[0]);
	f->client = sv[1];
}

static void
send_all(struct fixture *f, const char *s, size_t len)
{
	assert_int_equal(write(f->client, s, len), (ssize_t)len);
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the loop and reads until `want` answers are complete, EOF, or the
 * time is up; returns what came (NUL-terminated) and sets *eof. */
static char *
collect(struct fixture *f, int want, double seconds, bool *eof)
{
	size_t	 cap = 65536, len = 0;
	char	*buf = calloc(1, cap);
	double	 end = now() + seconds;
	int	 got = 0;

	*eof = false;
	while (now() < end && got < want && !*eof) {
		ssize_t	 n;

		event_base_loop(f->srv.base, EVLOOP_NONBLOCK);
		while ((n = read(f->client, buf + len, cap - 1 - len)) > 0)
			len += (size_t)n;
		if (n == 0)
			*eof = true;
		buf[len] = '\0';
		/* Count complete answers. */
		got = 0;
		for (const char *p = buf; (p = strstr(p, "HTTP/1.1 ")) != NULL; ) {
			const char	*hend = strstr(p, "\r\n\r\n"), *cl;
			size_t		 blen;

			if (hend == NULL)
				break;
			cl = strstr(p, "Content-Length: ");
			blen = cl != NULL && cl < hend ? strtoul(cl + 16, NULL, 10) : 0;
			if ((size_t)(buf + len - (hend + 4)) < blen)
				break;
			got++;
			p = hend + 4;
		}
		if (got < want && !*eof)
			usleep(1000);
	}
	return buf;
}

static int
count(const char *hay, const char *needle)
{
	int	 n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void
test_keep_alive_and_pipelining(void **state)
{
	struct fixture	*f = *state;
	const char	*two = "GET /healthz HTTP/1.1\r\n\r\nGET /nowhere HTTP/1.1\r\n\r\n";
	bool		 eof;
	char		*out;

	conn_open(f, FRONT_UNIX);
	assert_int_equal(f->srv.n_conns, 1);
	send_all(f, "GET /healthz HTTP/1.1\r\n\r\n", 25);
	out = collect(f, 1, 5, &eof);
	assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(out, "Content-Type: application/json\r\n"));
	assert_non_null(strstr(out, "{\"status\":\"ok\"}\n"));
	assert_null(strstr(out, "Connection: close"));
	assert_false(eof);
	free(out);
	/* Two in one write: two answers, in order, on the same connection. */
	send_all(f, two, strlen(two));
	out = collect(f, 2, 5, &eof);
	assert_int_equal(count(out, "HTTP/1.1 "), 2);
	assert_true(strstr(out, "200 OK") < strstr(out, "404 Not Found"));
	assert_false(eof);
	free(out);
	assert_int_equal(f->srv.requests[EP_HEALTHZ][server_endpoint_status_index(200)], 2);
	assert_int_equal(f->srv.requests[EP_OTHER][server_endpoint_status_index(404)], 1);
}

static void
test_http10(void **state)
{
	struct fixture	*f = *state;
	bool		 eof;
	char		*out;

	conn_open(f, FRONT_UNIX);
	send_all(f, "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 49);
	out = collect(f, 1, 5, &eof);
	assert_non_null(strstr(out, "Connection: keep-alive\r\n"));
	assert_false(eof);
	free(out);
	send_all(f, "GET /healthz HTTP/1.0\r\n\r\n", 25);
	out = collect(f, 2, 5, &eof);
	assert_non_null(strstr(out, "Connection: close\r\n"));
	free(out);
	out = collect(f, 2, 5, &eof);	/* then the broker closes */
	assert_true(eof);
	free(out);
}

static void
test_head_has_no_body(void **state)
{
	struct fixture	*f = *state;
	bool		 eof;
	char		*out;

	conn_open(f, FRONT_UNIX);
	send_all(f, "HEAD /healthz HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n", 51);
	out = collect(f, 2, 5, &eof);
	/* The HEAD answer's Content-Length describes a body not sent: the
	 * next answer follows its head directly. */
	assert_non_null(strstr(out, "Content-Length: 16\r\n"));
	assert_non_null(strstr(out, "\r\n\r\nHTTP/1.1 200 OK"));
	assert_int_equal(count(out, "{\"status\":\"ok\"}"), 1);
	free(out);
}

static void
test_body_waits_and_limits(void **state)
{
	struct fixture	*f = *state;
	const char	*head = "POST /healthz HTTP/1.1\r\nContent-Length: 5\r\n\r\nab";
	bool		 eof;
	char		*out;

	conn_open(f, FRONT_UNIX);
	send_all(f, head, strlen(head));
	out = collect(f, 1, 0.2, &eof);
	assert_string_equal(out, "");	/* the body is not all there */
	free(out);
	send_all(f, "cde", 3);
	out = collect(f, 1, 5, &eof);
	assert_non_null(strstr(out, "HTTP/1.1 405 Method Not Allowed"));
	assert_non_null(strstr(out, "Allow: GET, HEAD\r\n"));
	free(out);
	/* Over max_body (16): 413 at once, then the connection closes. */
	send_all(f, "POST / HTTP/1.1\r\nContent-Length: 17\r\n\r\n", 40);
	out = collect(f, 1, 5, &eof);
	assert_non_null(strstr(out, "HTTP/1.1 413 "));
	assert_non_null(strstr(out, "\"error\":\"payload_too_large\""));
	assert_non_null(strstr(out, "Connection: close\r\n"));
	free(out);
	assert_int_equal(f->srv.protocol_errors, 1);
}

/* Protocol errors are answered as soon as the offending line is in. */
static void
test_protocol_errors(void **state)
{
	struct fixture	*f = *state;
	static const struct {
		const char	*in;
		const char	*status;
	} cases[] = {
		{ "GET /healthz HTTP/1.1\nHost: x\n\n", "HTTP/1.1 400 " },
		{ "GET /healthz HTTP/1.1\r\nHost: x\n", "HTTP/1.1 400 " },
		{ "GET /healthz HTTP/2\r\n", "HTTP/1.1 400 " },
		{ "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n", "HTTP/1.1 501 " },
	};
	char		 big[300];
	bool		 eof;
	char		*out;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		conn_open(f, FRONT_UNIX);
		send_all(f, cases[i].in, strlen(cases[i].in));
		out = collect(f, 1, 5, &eof);
		if (strncmp(out, cases[i].status, strlen(cases[i].status)) != 0)
			fail_msg("'%s': got '%.40s'", cases[i].in, out);
		free(out);
		out = collect(f, 1, 5, &eof);
		assert_true(eof);
		free(out);
		close(f->client);
		f->client = -1;
	}
	/* A head over max_header_size (256). */
	conn_open(f, FRONT_UNIX);
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	send_all(f, big, sizeof(big));
	out = collect(f, 1, 5, &eof);
	assert_non_null(strstr(out, "HTTP/1.1 431 "));
	free(out);
	assert_int_equal(f->srv.protocol_errors, 5);
	event_base_loop(f->srv.base, EVLOOP_NONBLOCK);
}

static void
test_timeout_and_hangup(void **state)
{
	struct fixture	*f = *state;
	double		 t0 = now();
	bool		 eof;
	char		*out;

	/* A half-sent request is cut off after client_timeout (1 s). */
	conn_open(f, FRONT_UNIX);
	send_all(f, "GET /healthz HTTP/1.1\r\n", 23);
	out = collect(f, 1, 5, &eof);
	assert_true(eof);
	assert_string_equal(out, "");
	assert_true(now() - t0 >= 0.9);
	free(out);
	assert_int_equal(f->srv.n_conns, 0);
	close(f->client);
	/* A caller that hangs up is forgotten. */
	conn_open(f, FRONT_ADMIN_UNIX);
	assert_int_equal(f->srv.n_admin_conns, 1);
	assert_int_equal(f->srv.n_conns, 0);
	close(f->client);
	f->client = -1;
	for (int i = 0; i < 100 && f->srv.n_admin_conns > 0; i++)
		event_base_loop(f->srv.base, EVLOOP_NONBLOCK);
	assert_int_equal(f->srv.n_admin_conns, 0);
	assert_null(f->srv.conns);
}

/* TCP fronts: the guard header, Host, Origin. */
static void
test_tcp_front(void **state)
{
	struct fixture		*f = *state;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	char			 req[256];
	int			 lfd, sfd;
	bool			 eof;
	char			*out;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	f->client = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(f->client, (struct sockaddr *)&sin, sizeof(sin)), 0);
	fcntl(f->client, F_SETFL, O_NONBLOCK);
	sfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
	close(lfd);
	conn_accept(&f->srv.fronts[FRONT_TCP], sfd);

	send_all(f, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n", 42);
	out = collect(f, 1, 5, &eof);
	assert_non_null(strstr(out, "HTTP/1.1 403 "));
	assert_non_null(strstr(out, "X-Samlbroker-Request"));
	free(out);
	snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: attacker.example:%u\r\n"
	    "X-Samlbroker-Request: true\r\n\r\n", ntohs(sin.sin_port));
	send_all(f, req, strlen(req));
	out = collect(f, 1, 5, &eof);
	assert_non_null(strstr(out, "HTTP/1.1 403 "));
	assert_non_null(strstr(out, "Host header"));
	free(out);
	snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
	    "X-Samlbroker-Request: true\r\nOrigin: http://127.0.0.1:%u\r\n\r\n",
	    ntohs(sin.sin_port), ntohs(sin.sin_port));
	send_all(f, req, strlen(req));
	out = collect(f, 1, 5, &eof);
	assert_non_null(strstr(out, "HTTP/1.1 403 "));
	assert_non_null(strstr(out, "Origin"));
	free(out);
	snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
	    "X-Samlbroker-Request: true\r\n\r\n", ntohs(sin.sin_port));
	send_all(f, req, strlen(req));
	out = collect(f, 1, 5, &eof);
	assert_non_null(strstr(out, "HTTP/1.1 200 OK"));
	free(out);
	assert_int_equal(f->srv.requests[EP_OTHER][server_endpoint_status_index(403)], 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keep_alive_and_pipelining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http10, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_has_no_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_waits_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocol_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_and_hangup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_front, setup, teardown),
	};

	log_init(LOG_LEVEL_ERROR, "test_server_conn");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
