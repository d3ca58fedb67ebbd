/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_region.c - the table of PureCloud regions (src/region.c): lookup,
 * the URLs a domain implies, and which region a URL belongs to.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "samlbroker.h"

static void
test_find(void **state)
{
	(void)state;
	assert_int_equal(region_count(), 18);
	assert_string_equal(region_find("mypurecloud.ie"), "mypurecloud.ie");
	assert_string_equal(region_find("EUW2.Pure.Cloud"), "euw2.pure.cloud");
	assert_string_equal(region_find("edee1.eusc-pure.cloud"), "edee1.eusc-pure.cloud");
	assert_null(region_find("mypurecloud.eu"));
	assert_null(region_find("login.mypurecloud.ie"));
	assert_null(region_find(""));
	assert_null(region_domain(18));
}

static void
test_urls(void **state)
{
	char	*u;

	(void)state;
	u = region_url("mypurecloud.com.au", REGION_AUTH_URL);
	assert_string_equal(u, "https://login.mypurecloud.com.au/oauth/token");
	free(u);
	u = region_url("use2.us-gov-pure.cloud", REGION_SERVICE_URL);
	assert_string_equal(u, "https://api.use2.us-gov-pure.cloud/api/");
	free(u);
	u = region_url("mypurecloud.jp", REGION_APPS_URL);
	assert_string_equal(u, "https://apps.mypurecloud.jp");
	free(u);
	/* Every domain round-trips, for each kind of URL. */
	for (size_t i = 0; i < region_count(); i++) {
		for (int k = REGION_AUTH_URL; k <= REGION_APPS_URL; k++) {
			u = region_url(region_domain(i), (enum region_url)k);
			assert_string_equal(region_of_url(u, (enum region_url)k),
			    region_domain(i));
			free(u);
		}
	}
}

static void
test_of_url(void **state)
{
	(void)state;
	assert_string_equal(region_of_url("https://api.mypurecloud.de/api",
	    REGION_SERVICE_URL), "mypurecloud.de");
	assert_string_equal(region_of_url("HTTPS://LOGIN.MYPURECLOUD.DE/oauth/token",
	    REGION_AUTH_URL), "mypurecloud.de");
	assert_null(region_of_url("https://api.mypurecloud.de/api/", REGION_AUTH_URL));
	assert_null(region_of_url("https://login.mypurecloud.de/oauth/token/",
	    REGION_AUTH_URL));
	assert_null(region_of_url("https://login.example.com/oauth/token", REGION_AUTH_URL));
	assert_null(region_of_url("http://login.mypurecloud.de/oauth/token",
	    REGION_AUTH_URL));
	assert_null(region_of_url("https://127.0.0.1:8443/api/", REGION_SERVICE_URL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_of_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
