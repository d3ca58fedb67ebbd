/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_upstream_answer.c - unit tests for src/upstream_answer.c, the pure
 * reader of the token endpoint's answers: one table row per HTTP status,
 * body and Retry-After, and the result that must come out.  No server:
 * tests/test_upstream.c covers the transfers around it.
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

/* upstream_answer_read from a table: status, body, Retry-After in. */
static void
test_answer_read(void **state)
{
	static const struct {
		long		 status;
		const char	*body;
		size_t		 len;		/* 0: strlen(body) */
		const char	*retry_after;
		enum upstream_outcome outcome;
		const char	*error;		/* "" for OK */
		const char	*message;	/* a prefix */
		long		 expires_in;
		double		 retry;
	} rows[] = {
		{ 200, "{\"access_token\":\"abc\",\"token_type\":\"bearer\","
		    "\"expires_in\":60}", 0, NULL, UPSTREAM_OK, "",
		    "token issued, expires in 60 s", 60, 0 },
		{ 200, "{\"access_token\":\"abc\",\"token_type\":\"Bearer\","
		    "\"expires_in\":99999999999999}", 0, NULL, UPSTREAM_OK, "",
		    "token issued", 99999999999999L, 0 },
		{ 200, "{\"access_token\":\"abc\",\"expires_in\":60}", 0, "30",
		    UPSTREAM_OK, "", "token issued", 60, 0 },
		{ 200, "{\"access_token\":\"a\\u0000c\",\"expires_in\":60}", 0,
		    NULL, UPSTREAM_REJECTED, "invalid_response",
		    "token endpoint answered 200 with invalid JSON", 0, 0 },
		{ 200, "{\"access_token\":\"a b\",\"expires_in\":60}", 0, NULL,
		    UPSTREAM_REJECTED, "invalid_response",
		    "token endpoint answered 200 without a usable", 0, 0 },
		{ 200, "{\"access_token\":\"\",\"expires_in\":60}", 0, NULL,
		    UPSTREAM_REJECTED, "invalid_response",
		    "token endpoint answered 200 without a usable", 0, 0 },
		{ 200, "{\"access_token\":\"a\",\"access_token\":\"b\","
		    "\"expires_in\":60}", 0, NULL, UPSTREAM_REJECTED,
		    "invalid_response", "token endpoint answered 200 with invalid "
		    "JSON", 0, 0 },
		{ 200, "{\"access_token\":\"abc\",\"expires_in\":60.5}", 0, NULL,
		    UPSTREAM_REJECTED, "invalid_response",
		    "token endpoint answered 200 without a positive integer", 0, 0 },
		{ 200, "{\"access_token\":\"abc\",\"expires_in\":0}", 0, NULL,
		    UPSTREAM_REJECTED, "invalid_response",
		    "token endpoint answered 200 without a positive integer", 0, 0 },
		{ 200, "{\"access_token\":\"abc\",\"expires_in\":60,"
		    "\"token_type\":\"mac\"}", 0, NULL, UPSTREAM_REJECTED,
		    "invalid_response", "token endpoint answered token_type "
		    "\"mac\", not bearer", 0, 0 },
		{ 200, "{\"access_token\":\"abc\",\"expires_in\":60,"
		    "\"token_type\":7}", 0, NULL, UPSTREAM_REJECTED,
		    "invalid_response", "token endpoint answered token_type "
		    "\"(not a string)\"", 0, 0 },
		{ 200, "[1]", 0, NULL, UPSTREAM_REJECTED, "invalid_response",
		    "token endpoint answered 200 without a JSON object", 0, 0 },
		{ 200, "", 0, NULL, UPSTREAM_REJECTED, "invalid_response",
		    "token endpoint answered 200 with invalid JSON", 0, 0 },
		{ 400, "{\"error\":\"invalid_grant\",\"error_description\":"
		    "\"bad\\nthing\"}", 0, "5", UPSTREAM_REJECTED, "invalid_grant",
		    "token endpoint answered 400 (invalid_grant): bad?thing", 0, 0 },
		{ 401, "{\"error\":\"invalid_client\",\"description\":\"x\"}", 0,
		    NULL, UPSTREAM_REJECTED, "invalid_client",
		    "token endpoint answered 401 (invalid_client): x", 0, 0 },
		{ 400, "{\"error\":\"in\\u0000valid\"}", 0, NULL,
		    UPSTREAM_REJECTED, "http_400", "token endpoint answered 400 "
		    "(http_400)", 0, 0 },
		{ 400, "{\"error\":\"has space\"}", 0, NULL, UPSTREAM_REJECTED,
		    "http_400", "token endpoint answered 400 (http_400)", 0, 0 },
		{ 400, "{\"error\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaa\"}", 0, NULL, UPSTREAM_REJECTED,
		    "http_400", "token endpoint answered 400 (http_400)", 0, 0 },
		{ 403, "<html>no</html>", 0, NULL, UPSTREAM_REJECTED, "http_403",
		    "token endpoint answered 403 (http_403)", 0, 0 },
		{ 429, "{\"error\":\"too_many\"}", 0, "  7 \r\n",
		    UPSTREAM_UNAVAILABLE, "http_429",
		    "token endpoint answered 429 (http_429)", 0, 7 },
		{ 503, "", 0, "99999999", UPSTREAM_UNAVAILABLE, "http_503",
		    "token endpoint answered 503", 0, 86400 },
		{ 503, "", 0, "7x", UPSTREAM_UNAVAILABLE, "http_503",
		    "token endpoint answered 503", 0, 0 },
		{ 503, "", 0, "Thu, 01 Jan 1970 00:00:00 GMT",
		    UPSTREAM_UNAVAILABLE, "http_503", "token endpoint answered 503",
		    0, 0 },
		{ 503, "", 0, "Sun, 06 Nov 1994 08:49:37 GMT",
		    UPSTREAM_UNAVAILABLE, "http_503", "token endpoint answered 503",
		    0, 60 },
		{ 408, "{}", 0, NULL, UPSTREAM_UNAVAILABLE, "http_408",
		    "token endpoint answered 408", 0, 0 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct upstream_result	 r;
		size_t			 len = rows[i].len ? rows[i].len :
					    strlen(rows[i].body);

		memset(&r, 0, sizeof(r));
		/* 784111717 is 60 s after the HTTP-date of row 24. */
		upstream_answer_read(rows[i].status, rows[i].body, len,
		    rows[i].retry_after, 784111717.0, &r);
		if (r.outcome != rows[i].outcome ||
		    strcmp(r.error, rows[i].error) != 0 ||
		    strncmp(r.message, rows[i].message,
		    strlen(rows[i].message)) != 0 ||
		    r.expires_in != rows[i].expires_in ||
		    r.retry_after != rows[i].retry ||
		    r.http_status != rows[i].status ||
		    (r.outcome == UPSTREAM_OK) != (r.access_token != NULL))
			fail_msg("row %zu: outcome %d error \"%s\" message \"%s\" "
			    "expires_in %ld retry %.0f", i, r.outcome, r.error,
			    r.message, r.expires_in, r.retry_after);
		if (r.access_token != NULL)
			assert_string_equal(r.access_token, "abc");
		secret_free(r.access_token);
	}
}

static void
test_retry_after_parse(void **state)
{
	static const struct {
		const char	*value;
		double		 want;
	} rows[] = {
		{ NULL, 0 }, { "", 0 }, { "0", 0 }, { "1", 1 }, { " 42\r\n", 42 },
		{ "\t5", 5 }, { "5 s", 0 }, { "-5", 0 }, { "+5", 0 },
		{ "86401", 86400 }, { "18446744073709551616", 86400 },
		{ "Thu, 15 Jan 2027 08:01:00 GMT", 60 },
		{ "Thu, 15 Jan 2027 07:59:00 GMT", 0 },
		{ "Fri, 15 Jan 2100 08:00:00 GMT", 86400 }, { "soon", 0 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		/* 1800000000 is 2027-01-15T08:00:00Z. */
		double got = upstream_retry_after_parse(rows[i].value, 1800000000.0);

		if (got != rows[i].want)
			fail_msg("row %zu (%s): got %.0f, want %.0f", i,
			    rows[i].value ? rows[i].value : "NULL", got,
			    rows[i].want);
	}
}

/* Messages are printable and truncated; nothing of a 200 body's token. */
static void
test_sanitize(void **state)
{
	char	 out[8];

	upstream_text_sanitize(out, sizeof(out), "ab\x01\xff" "cdefgh", 100);
	assert_string_equal(out, "ab??cde");
	upstream_text_sanitize(out, sizeof(out), "abcdef", 3);
	assert_string_equal(out, "abc");
	upstream_text_sanitize(out, 1, "abc", 3);
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_read),
		cmocka_unit_test(test_retry_after_parse),
		cmocka_unit_test(test_sanitize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
