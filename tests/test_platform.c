/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_platform.c - platform.c's pure parts: platform_api_url (a path on
 * base_service_url, a selfUri "/api/v2/..." on its scheme and host) and
 * platform_json_str (a string field of an answer).  Requests themselves
 * run against the emulator in tests/provision.py.
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

static void
test_api_url(void **state)
{
	static const struct {
		const char	*base, *path, *want;
	} cases[] = {
		{ "https://api.mypurecloud.com/api/", "v2/identityproviders/pureengage",
		  "https://api.mypurecloud.com/api/v2/identityproviders/pureengage" },
		{ "https://api.mypurecloud.com/api", "v2/x",
		  "https://api.mypurecloud.com/api/v2/x" },
		{ "https://api.mypurecloud.com/api/", "/api/v2/identityproviders/x",
		  "https://api.mypurecloud.com/api/v2/identityproviders/x" },
		{ "http://127.0.0.1:8080/base/api/", "/api/v2/self",
		  "http://127.0.0.1:8080/api/v2/self" },
		{ "http://127.0.0.1:8080", "/api/v2/self",
		  "http://127.0.0.1:8080/api/v2/self" },
		{ "http://127.0.0.1:8080", "v2/a",
		  "http://127.0.0.1:8080/v2/a" },
	};
	struct tenant	 t;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char	*url;

		memset(&t, 0, sizeof(t));
		t.base_service_url = (char *)cases[i].base;
		url = platform_api_url(&t, cases[i].path);
		assert_string_equal(url, cases[i].want);
		free(url);
	}
}

static const char *
json_str(const char *body, const char *key)
{
	struct platform_reply	 r;

	memset(&r, 0, sizeof(r));
	r.body = (char *)body;
	r.body_len = body != NULL ? strlen(body) : 0;
	return platform_json_str(&r, key);
}

static void
test_json_str(void **state)
{
	char	 big[600];

	(void)state;
	assert_string_equal(json_str("{\"id\":\"abc\",\"n\":1}", "id"), "abc");
	assert_null(json_str("{\"id\":\"abc\",\"n\":1}", "n"));	/* not a string */
	assert_null(json_str("{\"id\":\"\"}", "id"));		/* empty */
	assert_null(json_str("{\"id\":\"abc\"}", "other"));
	assert_null(json_str("not json", "id"));
	assert_null(json_str(NULL, "id"));
	assert_null(json_str("[\"id\"]", "id"));
	/* Cut to its buffer (255 bytes), never past it. */
	snprintf(big, sizeof(big), "{\"id\":\"%0500d\"}", 7);
	assert_int_equal(strlen(json_str(big, "id")), 255);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_url),
		cmocka_unit_test(test_json_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
