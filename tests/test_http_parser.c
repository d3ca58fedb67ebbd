/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_http_parser.c - http_parser.c from tables: every request head form
 * the README accepts or refuses, fed whole and byte by byte, and the Host
 * rule of TCP listeners.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

static const struct http_limits	 lim = { 512, 8, 100 };

/* A head that parses: what the parser must report. */
struct ok_case {
	const char	*in;
	const char	*method, *target;
	int		 minor;
	size_t		 content_length;
	bool		 keep_alive, guard, origin;
	const char	*host;	/* NULL: none */
	size_t		 n_headers;
};

static const struct ok_case ok_cases[] = {
	{ "GET / HTTP/1.1\r\n\r\n", "GET", "/", 1, 0, true, false, false, NULL, 0 },
	{ "GET /healthz HTTP/1.0\r\n\r\n", "GET", "/healthz", 0, 0, false, false, false, NULL, 0 },
	{ "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "GET", "/x", 0, 0, true,
	    false, false, NULL, 1 },
	{ "GET /x HTTP/1.1\r\nConnection: close\r\n\r\n", "GET", "/x", 1, 0, false,
	    false, false, NULL, 1 },
	{ "GET /x HTTP/1.1\r\nConnection: Upgrade , CLOSE\r\n\r\n", "GET", "/x", 1, 0,
	    false, false, false, NULL, 1 },
	{ "GET /x HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", "GET",
	    "/x", 0, 0, false, false, false, NULL, 2 },
	/* Empty lines before the request line are ignored. */
	{ "\r\n\r\nGET /a HTTP/1.1\r\n\r\n", "GET", "/a", 1, 0, true, false, false, NULL, 0 },
	{ "DELETE /v1/t HTTP/1.1\r\nHost: 127.0.0.1:8455\r\n\r\n", "DELETE", "/v1/t", 1, 0,
	    true, false, false, "127.0.0.1:8455", 1 },
	/* White space around a value is not part of it. */
	{ "GET /a HTTP/1.1\r\nHost: \t localhost:1 \t\r\n\r\n", "GET", "/a", 1, 0, true,
	    false, false, "localhost:1", 1 },
	{ "GET /a HTTP/1.1\r\nHost:\r\n\r\n", "GET", "/a", 1, 0, true, false, false, "", 1 },
	{ "GET /a HTTP/1.1\r\nX-Samlbroker-Request: true\r\n\r\n", "GET", "/a", 1, 0, true,
	    true, false, NULL, 1 },
	{ "GET /a HTTP/1.1\r\nx-samlbroker-request:true\r\n\r\n", "GET", "/a", 1, 0, true,
	    true, false, NULL, 1 },
	/* The guard's value is exactly "true". */
	{ "GET /a HTTP/1.1\r\nX-Samlbroker-Request: TRUE\r\n\r\n", "GET", "/a", 1, 0, true,
	    false, false, NULL, 1 },
	{ "GET /a HTTP/1.1\r\nX-Samlbroker-Request: true\r\nX-Samlbroker-Request: no\r\n\r\n",
	    "GET", "/a", 1, 0, true, false, false, NULL, 2 },
	{ "GET /a HTTP/1.1\r\nOrigin: null\r\n\r\n", "GET", "/a", 1, 0, true, false, true,
	    NULL, 1 },
	{ "POST /s HTTP/1.1\r\nContent-Length: 100\r\n\r\n", "POST", "/s", 1, 100, true,
	    false, false, NULL, 1 },
	{ "POST /s HTTP/1.1\r\ncontent-length: 007\r\n\r\n", "POST", "/s", 1, 7, true,
	    false, false, NULL, 1 },
	/* Targets: any visible byte, UTF-8 too; methods up to 7 tchars. */
	{ "OPTIONS * HTTP/1.1\r\n\r\n", "OPTIONS", "*", 1, 0, true, false, false, NULL, 0 },
	{ "GET /%41?q=\"x\"#f HTTP/1.1\r\n\r\n", "GET", "/%41?q=\"x\"#f", 1, 0, true, false,
	    false, NULL, 0 },
	{ "GET /\xc3\xbc HTTP/1.1\r\n\r\n", "GET", "/\xc3\xbc", 1, 0, true, false, false,
	    NULL, 0 },
	/* Values may hold obs-text and DEL; names are tokens. */
	{ "GET / HTTP/1.1\r\nX-A: \xff\x7f\r\nX!#$%&'*+-.^_`|~: v\r\n\r\n", "GET", "/", 1, 0,
	    true, false, false, NULL, 2 },
	/* Eight header fields is the limit here. */
	{ "GET / HTTP/1.1\r\nA: 1\r\nA: 2\r\nA: 3\r\nA: 4\r\nA: 5\r\nA: 6\r\nA: 7\r\nA: 8\r\n\r\n",
	    "GET", "/", 1, 0, true, false, false, NULL, 8 },
};

/* A head that is refused: the status, and the message's start. */
struct bad_case {
	const char	*in;
	size_t		 len;	/* 0: strlen */
	int		 status;
	const char	*why;
};

static const struct bad_case bad_cases[] = {
	/* Line ends: CRLF only, refused as soon as the line is in. */
	{ "GET / HTTP/1.1\n", 0, 400, "lines must end in CRLF" },
	{ "GET / HTTP/1.1\r\nHost: x\n", 0, 400, "lines must end in CRLF" },
	{ "\n", 0, 400, "lines must end in CRLF" },
	{ "\r\n\nGET / HTTP/1.1\r\n\r\n", 0, 400, "lines must end in CRLF" },
	{ "GET / HTTP/1.1\r\nHost: x\r\n\n", 0, 400, "lines must end in CRLF" },
	{ "GET /\rx HTTP/1.1\r\n\r\n", 0, 400, "malformed request" },
	{ "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 0, 400, "malformed request" },
	{ "GET /\rx", 0, 400, "malformed request" },	/* before the line's end */
	{ "GET /\0x HTTP/1.1\r\n\r\n", 21, 400, "malformed request" },
	{ "GET /\0", 6, 400, "malformed request" },
	/* The request line. */
	{ "GET  / HTTP/1.1\r\n\r\n", 0, 400, "malformed request line" },
	{ "GET / HTTP/1.1 \r\n\r\n", 0, 400, "malformed request line" },
	{ " GET / HTTP/1.1\r\n\r\n", 0, 400, "malformed request line" },
	{ "GET /\r\n\r\n", 0, 400, "malformed request line" },
	{ "GET\r\n\r\n", 0, 400, "malformed request line" },
	{ "GETTING1 / HTTP/1.1\r\n\r\n", 0, 400, "malformed request line" },
	{ "G(T / HTTP/1.1\r\n\r\n", 0, 400, "malformed request line" },
	{ "GET /a\x7f HTTP/1.1\r\n\r\n", 0, 400, "malformed request line" },
	{ "GET /a\tb HTTP/1.1\r\n\r\n", 0, 400, "malformed request" },
	{ "GET / HTTP/2.0\r\n\r\n", 0, 400, "only HTTP/1.0 and HTTP/1.1" },
	{ "GET / http/1.1\r\n\r\n", 0, 400, "only HTTP/1.0 and HTTP/1.1" },
	{ "GET / HTTP/1.10\r\n\r\n", 0, 400, "only HTTP/1.0 and HTTP/1.1" },
	/* Header fields. */
	{ "GET / HTTP/1.1\r\nNoColon\r\n\r\n", 0, 400, "malformed header field" },
	{ "GET / HTTP/1.1\r\n: v\r\n\r\n", 0, 400, "malformed header field" },
	{ "GET / HTTP/1.1\r\nA : v\r\n\r\n", 0, 400, "malformed header field" },
	{ "GET / HTTP/1.1\r\nA: v\r\n folded\r\n\r\n", 0, 400, "malformed header field" },
	{ "GET / HTTP/1.1\r\nA: v\x01w\r\n\r\n", 0, 400, "malformed header field" },
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 0, 400, "more than one Host" },
	/* Bodies: one Content-Length of 1-9 digits, no chunked encoding. */
	{ "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 0, 400,
	    "bad Content-Length" },
	{ "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 0, 400, "bad Content-Length" },
	{ "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 0, 400, "bad Content-Length" },
	{ "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 0, 400, "bad Content-Length" },
	{ "POST / HTTP/1.1\r\nContent-Length: 1234567890\r\n\r\n", 0, 400, "bad Content-Length" },
	{ "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 0, 413, "request body too large" },
	{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 501, "chunked" },
	/* Limits. */
	{ "GET / HTTP/1.1\r\nA: 1\r\nA: 2\r\nA: 3\r\nA: 4\r\nA: 5\r\nA: 6\r\nA: 7\r\nA: 8\r\n"
	    "A: 9\r\n\r\n", 0, 431, "too many header fields" },
};

static void
expect_ok(const char *in, size_t len, const struct ok_case *c)
{
	struct http_head	 h;
	const char		*why = NULL;
	int			 n;

	n = http_parse_request(in, len, &lim, &h, &why);
	if (n <= 0)
		fail_msg("'%s': %d (%s)", c->in, n, why ? why : "-");
	assert_int_equal(n, (int)strlen(c->in));
	assert_int_equal(h.method_len, strlen(c->method));
	assert_memory_equal(h.method, c->method, h.method_len);
	assert_int_equal(h.target_len, strlen(c->target));
	assert_memory_equal(h.target, c->target, h.target_len);
	assert_int_equal(h.minor_version, c->minor);
	assert_int_equal(h.content_length, c->content_length);
	assert_int_equal(h.keep_alive, c->keep_alive);
	assert_int_equal(h.guard, c->guard);
	assert_int_equal(h.has_origin, c->origin);
	assert_int_equal(h.n_headers, c->n_headers);
	if (c->host == NULL)
		assert_null(h.host);
	else {
		assert_non_null(h.host);
		assert_int_equal(h.host_len, strlen(c->host));
		assert_memory_equal(h.host, c->host, h.host_len);
	}
}

static void
test_accepted(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		const struct ok_case	*c = &ok_cases[i];
		size_t			 len = strlen(c->in);
		char			*buf = malloc(len + 64);
		struct http_head	 h;
		const char		*why = NULL;

		/* Every prefix needs more; the whole is complete, also with
		 * the next request (pipelining) behind it. */
		for (size_t k = 0; k < len; k++) {
			memcpy(buf, c->in, k);
			if (http_parse_request(buf, k, &lim, &h, &why) != 0)
				fail_msg("'%s': prefix of %zu bytes: %s", c->in, k,
				    why ? why : "complete");
		}
		memcpy(buf, c->in, len);
		expect_ok(buf, len, c);
		memcpy(buf + len, "GET /next HTTP/1.1\r\n\r\n", 22);
		expect_ok(buf, len + 22, c);
		free(buf);
	}
}

static void
test_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case	*c = &bad_cases[i];
		size_t			 len = c->len ? c->len : strlen(c->in);
		struct http_head	 h;
		const char		*why = NULL;
		int			 n;

		n = http_parse_request(c->in, len, &lim, &h, &why);
		if (n != -c->status || why == NULL ||
		    strncmp(why, c->why, strlen(c->why)) != 0)
			fail_msg("case %zu: got %d (%s), want -%d (%s)", i, n,
			    why ? why : "-", c->status, c->why);
	}
}

/* The head limit counts leading empty lines; an unfinished head is
 * refused once it reaches the limit, not before. */
static void
test_head_size(void **state)
{
	char			 buf[600];
	struct http_head	 h;
	const char		*why = NULL;

	(void)state;
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /", 5);
	assert_int_equal(http_parse_request(buf, 511, &lim, &h, &why), 0);
	assert_int_equal(http_parse_request(buf, 512, &lim, &h, &why), -431);
	assert_string_equal(why, "request head too large");
	/* Exactly 512 bytes with its end: accepted. */
	memcpy(buf + 512 - 13, " HTTP/1.1\r\n\r\n", 13);
	assert_int_equal(http_parse_request(buf, 512, &lim, &h, &why), 512);
	assert_int_equal(http_parse_request(buf, 600, &lim, &h, &why), 512);
	/* One byte more: refused. */
	memmove(buf + 5, buf + 4, 507);
	assert_int_equal(http_parse_request(buf, 513, &lim, &h, &why), -431);
	for (size_t i = 0; i < sizeof(buf); i += 2)
		memcpy(buf + i, "\r\n", 2);
	assert_int_equal(http_parse_request(buf, 510, &lim, &h, &why), 0);
	assert_int_equal(http_parse_request(buf, 600, &lim, &h, &why), -431);
}

static struct sockaddr_storage
local4(const char *ip, unsigned port)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage
local6(const char *ip, unsigned port)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	return ss;
}

static bool
host_ok(const char *host, const struct sockaddr_storage *ss)
{
	return http_host_allowed(host, strlen(host), (const struct sockaddr *)ss);
}

static void
test_host(void **state)
{
	struct sockaddr_storage	 v4 = local4("127.0.0.1", 8455);
	struct sockaddr_storage	 v4_80 = local4("127.0.0.1", 80);
	struct sockaddr_storage	 v6 = local6("::1", 8455);
	struct sockaddr_storage	 mapped = local6("::ffff:127.0.0.1", 8455);
	struct sockaddr_storage	 unix_ss;
	static const char *const v4_ok[] = { "127.0.0.1:8455", "localhost:8455",
	    "LOCALHOST:8455", "127.0.0.1:08455" };
	static const char *const v4_bad[] = { "", "127.0.0.1", "localhost",
	    "127.0.0.1:8456", "127.0.0.2:8455", "127.1:8455", "0x7f.0.0.1:8455",
	    "localhost.:8455", "rebind.attacker.example:8455", "127.0.0.1:", ":8455",
	    "127.0.0.1:8455x", "127.0.0.1:+8455", "127.0.0.1:008455", "[127.0.0.1]:8455",
	    "[::1]:8455", "127.0.0.1:8455:8455", "localhost :8455", "127.0.0.1 :8455" };

	(void)state;
	for (size_t i = 0; i < sizeof(v4_ok) / sizeof(v4_ok[0]); i++)
		if (!host_ok(v4_ok[i], &v4))
			fail_msg("'%s' refused", v4_ok[i]);
	for (size_t i = 0; i < sizeof(v4_bad) / sizeof(v4_bad[0]); i++)
		if (host_ok(v4_bad[i], &v4))
			fail_msg("'%s' accepted", v4_bad[i]);
	/* Without a port, the port is 80. */
	assert_true(host_ok("127.0.0.1", &v4_80));
	assert_true(host_ok("localhost", &v4_80));
	assert_true(host_ok("127.0.0.1:80", &v4_80));
	assert_false(host_ok("[127.0.0.1]", &v4_80));
	/* IPv6 literals are bracketed and compared as addresses. */
	assert_true(host_ok("[::1]:8455", &v6));
	assert_true(host_ok("[0:0::1]:8455", &v6));
	assert_true(host_ok("localhost:8455", &v6));
	assert_false(host_ok("::1:8455", &v6));
	assert_false(host_ok("[::1]8455", &v6));
	assert_false(host_ok("[::1:8455", &v6));
	assert_false(host_ok("[::2]:8455", &v6));
	assert_false(host_ok("[::1]:8456", &v6));
	/* An IPv4 caller on a dual-stack listener. */
	assert_true(host_ok("127.0.0.1:8455", &mapped));
	assert_false(host_ok("127.0.0.2:8455", &mapped));
	/* Not an Internet socket: nothing matches. */
	memset(&unix_ss, 0, sizeof(unix_ss));
	unix_ss.ss_family = AF_UNIX;
	assert_false(host_ok("localhost:8455", &unix_ss));
	assert_false(http_host_allowed(NULL, 0, (const struct sockaddr *)&v4));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_head_size),
		cmocka_unit_test(test_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
