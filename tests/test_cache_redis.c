/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_cache_redis.c - cache_redis.c's values: a sealed token opens under
 * its own key, tenant, kind and subject only; any changed byte, another
 * subject, tenant, kind or key, and a truncated value are refused.  The
 * connection, the lock and the failures are tests/serve_redis.py's.
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

#ifdef HAVE_REDIS
static const unsigned char key[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
static const char token[] = "eyJ-token-under-test";

static int
seal(unsigned char **v)
{
	int	 n = cache_redis_seal(key, "acme", TOKEN_USER, "a@example.com", token,
	    clock_now() + 3600, v);

	assert_true(n > 0);
	return n;
}

static void
test_round_trip(void **state)
{
	unsigned char	*v;
	char		*t = NULL;
	double		 exp = 0, want = clock_now() + 3600;
	int		 n = seal(&v);

	(void)state;
	assert_null(memmem(v, (size_t)n, token, strlen(token)));
	assert_null(memmem(v, (size_t)n, "a@example.com", 13));
	assert_int_equal(cache_redis_open(key, "acme", TOKEN_USER, "a@example.com",
	    v, (size_t)n, &t, &exp), 0);
	assert_string_equal(t, token);
	assert_true(exp > want - 5 && exp < want + 5);
	secret_free(t);
	free(v);
}

static void
test_refused(void **state)
{
	unsigned char	*v, other[32];
	char		*t = NULL;
	double		 exp;
	int		 n = seal(&v);

	(void)state;
	memcpy(other, key, sizeof(other));
	other[31] ^= 1;
	assert_int_equal(cache_redis_open(key, "acme", TOKEN_USER, "b@example.com",
	    v, (size_t)n, &t, &exp), -1);
	assert_int_equal(cache_redis_open(key, "globex", TOKEN_USER, "a@example.com",
	    v, (size_t)n, &t, &exp), -1);
	assert_int_equal(cache_redis_open(key, "acme", TOKEN_SERVICE, "a@example.com",
	    v, (size_t)n, &t, &exp), -1);
	assert_int_equal(cache_redis_open(other, "acme", TOKEN_USER, "a@example.com",
	    v, (size_t)n, &t, &exp), -1);
	assert_int_equal(cache_redis_open(key, "acme", TOKEN_USER, "a@example.com",
	    v, (size_t)n - 1, &t, &exp), -1);
	for (int i = 0; i < n; i++) {
		v[i] ^= 0x40;
		assert_int_equal(cache_redis_open(key, "acme", TOKEN_USER,
		    "a@example.com", v, (size_t)n, &t, &exp), -1);
		v[i] ^= 0x40;
	}
	assert_null(t);
	free(v);
}
#endif

int
main(void)
{
#ifdef HAVE_REDIS
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
#else
	return 77;	/* built without libhiredis */
#endif
}
