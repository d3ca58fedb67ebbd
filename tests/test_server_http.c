/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_server_http.c - server_http.c's routing from a table: which
 * endpoint a request target names, its percent-decoded tenant and
 * subject, and the malformed paths that get 400; the escaping of metric
 * label values.  (Access decisions are
 * tested in test_access.c; the Host/Origin/guard front in
 * test_server_conn.c.)
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

#include "server.h"

static const struct route_case {
	const char	*target;
	int		 rc;
	enum endpoint	 ep;
	const char	*tenant, *subject;
} cases[] = {
	{ "/healthz", 0, EP_HEALTHZ, NULL, NULL },
	{ "/healthz/", 0, EP_HEALTHZ, NULL, NULL },
	{ "/healthz?verbose=1", 0, EP_HEALTHZ, NULL, NULL },
	{ "/readyz#x", 0, EP_READYZ, NULL, NULL },
	{ "/metrics", 0, EP_METRICS, NULL, NULL },
	{ "/v1/status", 0, EP_STATUS, NULL, NULL },
	{ "/%76%31/status", 0, EP_STATUS, NULL, NULL },	/* "v1" escaped */
	{ "/v1/tenants/acme/users/agent%40example.com/token", 0, EP_USER_TOKEN,
	    "acme", "agent@example.com" },
	{ "/v1/tenants/acme/users/agent@example.com/token", 0, EP_USER_TOKEN,
	    "acme", "agent@example.com" },
	{ "/v1/tenants/acme/users/j%C3%BCrgen%40example.de/saml-response", 0,
	    EP_SAML_RESPONSE, "acme", "j\xc3\xbcrgen@example.de" },
	{ "/v1/tenants/acme/services/ewt/token?x=%zz", 0, EP_SERVICE_TOKEN, "acme", "ewt" },
	/* '+' is not a space; an escaped '/' stays inside its segment. */
	{ "/v1/tenants/a%2Fb/users/a+b%40c/token", 0, EP_USER_TOKEN, "a/b", "a+b@c" },
	/* Other paths are "other" (404), not errors. */
	{ "/", 0, EP_OTHER, NULL, NULL },
	{ "/v1", 0, EP_OTHER, NULL, NULL },
	{ "/v1/tenants/acme/users/a%40b", 0, EP_OTHER, NULL, NULL },
	{ "/v1/tenants/acme/users/a%40b/token/x", 0, EP_OTHER, NULL, NULL },
	{ "/V1/status", 0, EP_OTHER, NULL, NULL },
	{ "/v1/tenants/acme/groups/a/token", 0, EP_OTHER, NULL, NULL },
	/* Malformed: 400. */
	{ "", -1, EP_OTHER, NULL, NULL },
	{ "*", -1, EP_OTHER, NULL, NULL },
	{ "http://localhost/healthz", -1, EP_OTHER, NULL, NULL },
	{ "//healthz", -1, EP_OTHER, NULL, NULL },
	{ "/v1//status", -1, EP_OTHER, NULL, NULL },
	{ "/v1/tenants/acme/users/%00a/token", -1, EP_OTHER, NULL, NULL },
	{ "/v1/tenants/acme/users/a%4/token", -1, EP_OTHER, NULL, NULL },
	{ "/v1/tenants/acme/users/a%/token", -1, EP_OTHER, NULL, NULL },
	{ "/v1/tenants/acme/users/a%g0/token", -1, EP_OTHER, NULL, NULL },
	{ "/a/b/c/d/e/f/g/h/i", -1, EP_OTHER, NULL, NULL },	/* over 8 segments */
};

static void
test_route(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct route_case	*c = &cases[i];
		enum endpoint		 ep = EP_COUNT;
		char			*tenant = (char *)"unset", *subject = (char *)"unset";
		int			 rc;

		rc = server_http_route(c->target, &ep, &tenant, &subject);
		if (rc != c->rc)
			fail_msg("'%s': %d, want %d", c->target, rc, c->rc);
		if (rc == -1)
			continue;
		if (ep != c->ep)
			fail_msg("'%s': endpoint %d, want %d", c->target, ep, c->ep);
		if (c->tenant == NULL) {
			assert_null(tenant);
			assert_null(subject);
			continue;
		}
		assert_string_equal(tenant, c->tenant);
		assert_string_equal(subject, c->subject);
		free(tenant);
		free(subject);
	}
}

static void
test_status_index(void **state)
{
	(void)state;
	assert_int_equal(server_endpoint_status_index(200), 0);
	assert_int_equal(server_endpoint_status_index(504), SERVER_N_STATUSES - 2);
	assert_int_equal(server_endpoint_status_index(418), SERVER_N_STATUSES - 1);
}

/* Prometheus label values: backslash, double quote and newline escaped,
 * the rest as it is. */
static void
test_metrics_label(void **state)
{
	static const struct {
		const char	*in, *out;
	} rows[] = {
		{ "acme", "acme" },
		{ "", "" },
		{ "a\"b", "a\\\"b" },
		{ "a\\b", "a\\\\b" },
		{ "a\nb", "a\\nb" },
		{ "x-y_z.1", "x-y_z.1" },
	};
	char	*text;
	size_t	 len;
	FILE	*f;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		text = NULL;
		f = open_memstream(&text, &len);
		assert_non_null(f);
		server_metrics_label(f, rows[i].in);
		fclose(f);
		assert_string_equal(text, rows[i].out);
		free(text);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_status_index),
		cmocka_unit_test(test_metrics_label),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
