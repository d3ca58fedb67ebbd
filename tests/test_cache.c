/*
 * test_cache.c - unit tests for src/cache.c: keys, recency order,
 * eviction at the bound, busy entries kept, token ownership, iteration
 * with removal, and a large table.
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
test_lookup_insert_remove(void **state)
{
	struct cache		*c = cache_new(10);
	struct cache_entry	*a, *b, *s;

	assert_null(cache_lookup(c, "acme", TOKEN_USER, "a@x.org"));
	a = cache_insert(c, "acme", TOKEN_USER, "a@x.org");
	assert_non_null(a);
	assert_string_equal(a->tenant, "acme");
	assert_string_equal(a->subject, "a@x.org");
	assert_int_equal(a->kind, TOKEN_USER);
	assert_null(a->token);
	assert_false(a->in_flight);
	assert_null(a->waiters);
	assert_int_equal(a->failures, 0);
	assert_int_equal(cache_count(c), 1);

	/* The same subject under another kind or tenant is another key. */
	s = cache_insert(c, "acme", TOKEN_SERVICE, "a@x.org");
	b = cache_insert(c, "other", TOKEN_USER, "a@x.org");
	assert_ptr_not_equal(s, a);
	assert_ptr_not_equal(b, a);
	assert_int_equal(cache_count(c), 3);
	assert_ptr_equal(cache_lookup(c, "acme", TOKEN_USER, "a@x.org"), a);
	assert_ptr_equal(cache_lookup(c, "acme", TOKEN_SERVICE, "a@x.org"), s);
	assert_ptr_equal(cache_lookup(c, "other", TOKEN_USER, "a@x.org"), b);
	assert_null(cache_lookup(c, "acm", TOKEN_USER, "ea@x.org"));
	assert_null(cache_lookup(c, "acme", TOKEN_USER, "A@x.org"));

	/* Inserting an existing key returns the existing entry. */
	assert_ptr_equal(cache_insert(c, "acme", TOKEN_USER, "a@x.org"), a);
	assert_int_equal(cache_count(c), 3);

	cache_remove(c, a);
	assert_int_equal(cache_count(c), 2);
	assert_null(cache_lookup(c, "acme", TOKEN_USER, "a@x.org"));
	assert_ptr_equal(cache_lookup(c, "acme", TOKEN_SERVICE, "a@x.org"), s);
	cache_remove(c, NULL);
	assert_int_equal(cache_evictions(c), 0);
	cache_free(c);
	cache_free(NULL);
}

struct order {
	char	 subjects[16][16];
	size_t	 n;
};

static void
collect(struct cache_entry *e, void *arg)
{
	struct order	*o = arg;

	snprintf(o->subjects[o->n++], sizeof(o->subjects[0]), "%s", e->subject);
}

static void
assert_order(struct cache *c, const char *expect)
{
	struct order	 o = { .n = 0 };
	char		 got[256] = "";

	cache_foreach(c, collect, &o);
	for (size_t i = 0; i < o.n; i++) {
		if (i > 0)
			strcat(got, ",");
		strcat(got, o.subjects[i]);
	}
	assert_string_equal(got, expect);
}

static void
test_lru_order_and_eviction(void **state)
{
	struct cache	*c = cache_new(3);

	cache_insert(c, "t", TOKEN_USER, "a");
	cache_insert(c, "t", TOKEN_USER, "b");
	cache_insert(c, "t", TOKEN_USER, "c");
	assert_order(c, "c,b,a");
	assert_non_null(cache_lookup(c, "t", TOKEN_USER, "a"));
	assert_order(c, "a,c,b");
	/* A miss does not disturb the order. */
	assert_null(cache_lookup(c, "t", TOKEN_USER, "zz"));
	assert_order(c, "a,c,b");

	/* Full: d pushes out b, the least recently used. */
	cache_insert(c, "t", TOKEN_USER, "d");
	assert_order(c, "d,a,c");
	assert_int_equal(cache_count(c), 3);
	assert_int_equal(cache_evictions(c), 1);
	assert_null(cache_lookup(c, "t", TOKEN_USER, "b"));
	assert_order(c, "d,a,c");

	cache_lookup(c, "t", TOKEN_USER, "c");
	cache_insert(c, "t", TOKEN_USER, "e");
	assert_order(c, "e,c,d");
	assert_int_equal(cache_evictions(c), 2);

	/* Re-inserting an existing key makes it most recent, evicts nothing. */
	cache_insert(c, "t", TOKEN_USER, "d");
	assert_order(c, "d,e,c");
	assert_int_equal(cache_evictions(c), 2);
	assert_int_equal(cache_count(c), 3);

	/* Removal is not eviction. */
	cache_remove(c, cache_lookup(c, "t", TOKEN_USER, "e"));
	assert_order(c, "d,c");
	assert_int_equal(cache_evictions(c), 2);
	cache_free(c);
}

static void
test_busy_entries_never_evicted(void **state)
{
	struct cache		*c = cache_new(2);
	struct cache_entry	*a, *b;
	int			 waiter;

	a = cache_insert(c, "t", TOKEN_USER, "a");
	a->in_flight = true;
	b = cache_insert(c, "t", TOKEN_SERVICE, "b");
	b->waiters = &waiter;

	/* Every entry is busy: the cache goes over its bound. */
	cache_insert(c, "t", TOKEN_USER, "c");
	assert_int_equal(cache_count(c), 3);
	assert_int_equal(cache_evictions(c), 0);
	assert_order(c, "c,b,a");

	/* Once a is idle, the next insert evicts the idle a and c, keeps b. */
	a->in_flight = false;
	cache_insert(c, "t", TOKEN_USER, "d");
	assert_order(c, "d,b");
	assert_int_equal(cache_evictions(c), 2);
	assert_ptr_equal(cache_lookup(c, "t", TOKEN_SERVICE, "b"), b);
	assert_ptr_equal(b->waiters, &waiter);

	b->waiters = NULL;
	cache_insert(c, "t", TOKEN_USER, "e");
	assert_order(c, "e,b");
	assert_int_equal(cache_evictions(c), 3);
	cache_free(c);
}

static void
test_tokens_replaced_and_cleared(void **state)
{
	struct cache		*c = cache_new(1);
	struct cache_entry	*e;
	char			*tok;

	e = cache_insert(c, "t", TOKEN_USER, "a");
	cache_set_token(e, xstrdup("first-token"), 100, 200, 150);
	assert_string_equal(e->token, "first-token");
	assert_true(e->obtained_at == 100);
	assert_true(e->expires_at == 200);
	assert_true(e->refresh_at == 150);

	cache_set_token(e, xstrdup("second-token"), 110, 210, 160);
	assert_string_equal(e->token, "second-token");
	assert_true(e->expires_at == 210);

	/* Setting the token it already holds keeps it. */
	tok = e->token;
	cache_set_token(e, tok, 111, 211, 161);
	assert_ptr_equal(e->token, tok);
	assert_string_equal(e->token, "second-token");

	e->failures = 2;
	snprintf(e->last_error, sizeof(e->last_error), "invalid_grant");
	cache_clear_token(e);
	assert_null(e->token);
	assert_true(e->expires_at == 0);
	assert_true(e->refresh_at == 0);
	assert_true(e->obtained_at == 0);
	assert_int_equal(e->failures, 2);
	assert_string_equal(e->last_error, "invalid_grant");
	cache_clear_token(e);

	/* Eviction and cache_free release held tokens (checked by ASan/valgrind). */
	cache_set_token(e, xstrdup("third-token"), 1, 2, 1.5);
	e = cache_insert(c, "t", TOKEN_USER, "b");
	assert_int_equal(cache_evictions(c), 1);
	cache_set_token(e, xstrdup("fourth-token"), 1, 2, 1.5);
	cache_free(c);
}

static void
remove_odd(struct cache_entry *e, void *arg)
{
	struct cache	*c = arg;

	if (atoi(e->subject) % 2 == 1)
		cache_remove(c, e);
}

static void
remove_all(struct cache_entry *e, void *arg)
{
	cache_remove(arg, e);
}

static void
test_foreach_with_removal(void **state)
{
	struct cache	*c = cache_new(100);
	char		 s[16];

	for (int i = 0; i < 10; i++) {
		snprintf(s, sizeof(s), "%d", i);
		cache_set_token(cache_insert(c, "t", TOKEN_SERVICE, s),
		    xstrdup("tok"), 0, 1, 0.5);
	}
	cache_foreach(c, remove_odd, c);
	assert_int_equal(cache_count(c), 5);
	assert_order(c, "8,6,4,2,0");
	/* The first entry visited is removed too. */
	for (int i = 0; i < 10; i += 2) {
		snprintf(s, sizeof(s), "%d", i + 1);
		cache_insert(c, "t", TOKEN_SERVICE, s);
	}
	assert_order(c, "9,7,5,3,1,8,6,4,2,0");
	cache_foreach(c, remove_odd, c);
	assert_order(c, "8,6,4,2,0");
	/* Every entry, the last one included. */
	cache_foreach(c, remove_all, c);
	assert_int_equal(cache_count(c), 0);
	assert_order(c, "");
	assert_int_equal(cache_evictions(c), 0);
	cache_free(c);
}

static void
test_many_entries(void **state)
{
	struct cache		*c = cache_new(200000);
	struct cache_entry	*e;
	char			 s[64];
	const size_t		 n = 100000;

	for (size_t i = 0; i < n; i++) {
		snprintf(s, sizeof(s), "user%zu@example.com", i);
		e = cache_insert(c, "tenant", TOKEN_USER, s);
		assert_non_null(e);
	}
	assert_int_equal(cache_count(c), n);
	for (size_t i = 0; i < n; i++) {
		snprintf(s, sizeof(s), "user%zu@example.com", i);
		e = cache_lookup(c, "tenant", TOKEN_USER, s);
		assert_non_null(e);
		assert_string_equal(e->subject, s);
		assert_null(cache_lookup(c, "tenant", TOKEN_SERVICE, s));
	}
	assert_int_equal(cache_evictions(c), 0);
	cache_free(c);

	/* At a bound of 1000, the last 1000 inserted stay. */
	c = cache_new(1000);
	for (size_t i = 0; i < n; i++) {
		snprintf(s, sizeof(s), "user%zu@example.com", i);
		cache_set_token(cache_insert(c, "tenant", TOKEN_USER, s),
		    xstrdup("token"), 0, 1, 0.5);
	}
	assert_int_equal(cache_count(c), 1000);
	assert_int_equal(cache_evictions(c), n - 1000);
	for (size_t i = 0; i < n; i++) {
		snprintf(s, sizeof(s), "user%zu@example.com", i);
		e = cache_lookup(c, "tenant", TOKEN_USER, s);
		if (i < n - 1000)
			assert_null(e);
		else
			assert_non_null(e);
	}
	cache_free(c);
}

static void
test_zero_bound(void **state)
{
	struct cache	*c = cache_new(0);

	cache_insert(c, "t", TOKEN_USER, "a");
	cache_insert(c, "t", TOKEN_USER, "b");
	assert_int_equal(cache_count(c), 1);
	assert_int_equal(cache_evictions(c), 1);
	assert_order(c, "b");
	cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_insert_remove),
		cmocka_unit_test(test_lru_order_and_eviction),
		cmocka_unit_test(test_busy_entries_never_evicted),
		cmocka_unit_test(test_tokens_replaced_and_cleared),
		cmocka_unit_test(test_foreach_with_removal),
		cmocka_unit_test(test_many_entries),
		cmocka_unit_test(test_zero_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
