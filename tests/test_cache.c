/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_cache.c - unit tests for src/cache.c: keys, recency order,
 * eviction at the bound, pinned entries kept, token ownership, the
 * caller's data released, per-tenant shares (one tenant cannot push out
 * another's entries, users never push out services), iteration with
 * removal, and a large table.
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
	struct cache		*c = cache_new(10, NULL);
	struct cache_entry	*a, *b, *s;

	assert_null(cache_lookup(c, "acme", TOKEN_USER, "a@x.org"));
	a = cache_insert(c, "acme", TOKEN_USER, "a@x.org", SIZE_MAX);
	assert_non_null(a);
	assert_string_equal(a->tenant, "acme");
	assert_string_equal(a->subject, "a@x.org");
	assert_int_equal(a->kind, TOKEN_USER);
	assert_null(a->token);
	assert_false(a->pinned);
	assert_null(a->data);
	assert_int_equal(cache_count(c), 1);

	/* The same subject under another kind or tenant is another key. */
	s = cache_insert(c, "acme", TOKEN_SERVICE, "a@x.org", SIZE_MAX);
	b = cache_insert(c, "other", TOKEN_USER, "a@x.org", SIZE_MAX);
	assert_ptr_not_equal(s, a);
	assert_ptr_not_equal(b, a);
	assert_int_equal(cache_count(c), 3);
	assert_ptr_equal(cache_lookup(c, "acme", TOKEN_USER, "a@x.org"), a);
	assert_ptr_equal(cache_lookup(c, "acme", TOKEN_SERVICE, "a@x.org"), s);
	assert_ptr_equal(cache_lookup(c, "other", TOKEN_USER, "a@x.org"), b);
	assert_null(cache_lookup(c, "acm", TOKEN_USER, "ea@x.org"));
	assert_null(cache_lookup(c, "acme", TOKEN_USER, "A@x.org"));

	/* Inserting an existing key returns the existing entry. */
	assert_ptr_equal(cache_insert(c, "acme", TOKEN_USER, "a@x.org", SIZE_MAX), a);
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
	struct cache	*c = cache_new(3, NULL);

	cache_insert(c, "t", TOKEN_USER, "a", SIZE_MAX);
	cache_insert(c, "t", TOKEN_USER, "b", SIZE_MAX);
	cache_insert(c, "t", TOKEN_USER, "c", SIZE_MAX);
	assert_order(c, "c,b,a");
	assert_non_null(cache_lookup(c, "t", TOKEN_USER, "a"));
	assert_order(c, "a,c,b");
	/* A miss does not disturb the order. */
	assert_null(cache_lookup(c, "t", TOKEN_USER, "zz"));
	assert_order(c, "a,c,b");

	/* Full: d pushes out b, the least recently used. */
	cache_insert(c, "t", TOKEN_USER, "d", SIZE_MAX);
	assert_order(c, "d,a,c");
	assert_int_equal(cache_count(c), 3);
	assert_int_equal(cache_evictions(c), 1);
	assert_null(cache_lookup(c, "t", TOKEN_USER, "b"));
	assert_order(c, "d,a,c");

	cache_lookup(c, "t", TOKEN_USER, "c");
	cache_insert(c, "t", TOKEN_USER, "e", SIZE_MAX);
	assert_order(c, "e,c,d");
	assert_int_equal(cache_evictions(c), 2);

	/* Re-inserting an existing key makes it most recent, evicts nothing. */
	cache_insert(c, "t", TOKEN_USER, "d", SIZE_MAX);
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
test_pinned_entries_never_evicted(void **state)
{
	struct cache		*c = cache_new(2, NULL);
	struct cache_entry	*a, *b;

	a = cache_insert(c, "t", TOKEN_USER, "a", SIZE_MAX);
	a->pinned = true;
	b = cache_insert(c, "t", TOKEN_SERVICE, "b", SIZE_MAX);
	b->pinned = true;

	/* Every entry is pinned: the cache goes over its bound. */
	cache_insert(c, "t", TOKEN_USER, "c", SIZE_MAX);
	assert_int_equal(cache_count(c), 3);
	assert_int_equal(cache_evictions(c), 0);
	assert_order(c, "c,b,a");

	/* Once a is idle, the next insert evicts the idle a and c, keeps b. */
	a->pinned = false;
	cache_insert(c, "t", TOKEN_USER, "d", SIZE_MAX);
	assert_order(c, "d,b");
	assert_int_equal(cache_evictions(c), 2);
	assert_ptr_equal(cache_lookup(c, "t", TOKEN_SERVICE, "b"), b);

	/* Unpinned, b is a service: a user entry still never pushes it out. */
	b->pinned = false;
	cache_insert(c, "t", TOKEN_USER, "e", SIZE_MAX);
	assert_order(c, "e,b");
	assert_int_equal(cache_evictions(c), 3);
	/* A service entry pushes out a user entry before a service entry. */
	cache_insert(c, "t", TOKEN_SERVICE, "f", SIZE_MAX);
	assert_order(c, "f,b");
	cache_insert(c, "t", TOKEN_SERVICE, "g", SIZE_MAX);
	assert_order(c, "g,f");
	cache_free(c);
}

static void
test_tokens_replaced_and_cleared(void **state)
{
	struct cache		*c = cache_new(1, NULL);
	struct cache_entry	*e;
	char			*tok;

	e = cache_insert(c, "t", TOKEN_USER, "a", SIZE_MAX);
	cache_set_token(e, xstrdup("first-token"));
	assert_string_equal(e->token, "first-token");

	cache_set_token(e, xstrdup("second-token"));
	assert_string_equal(e->token, "second-token");

	/* Setting the token it already holds keeps it. */
	tok = e->token;
	cache_set_token(e, tok);
	assert_ptr_equal(e->token, tok);
	assert_string_equal(e->token, "second-token");

	cache_clear_token(e);
	assert_null(e->token);
	cache_clear_token(e);

	/* Eviction and cache_free release held tokens (checked by ASan/valgrind). */
	cache_set_token(e, xstrdup("third-token"));
	e = cache_insert(c, "t", TOKEN_USER, "b", SIZE_MAX);
	assert_int_equal(cache_evictions(c), 1);
	cache_set_token(e, xstrdup("fourth-token"));
	cache_free(c);
}

static int	 data_freed;

static void
data_free_count(void *data)
{
	data_freed++;
	free(data);
}

/* The caller's data goes with its entry: removed, evicted, or at the end. */
static void
test_data_released(void **state)
{
	struct cache		*c = cache_new(2, data_free_count);
	struct cache_entry	*e;

	data_freed = 0;
	e = cache_insert(c, "t", TOKEN_USER, "a", SIZE_MAX);
	e->data = xstrdup("a");
	cache_remove(c, e);
	assert_int_equal(data_freed, 1);
	cache_insert(c, "t", TOKEN_USER, "b", SIZE_MAX)->data = xstrdup("b");
	cache_insert(c, "t", TOKEN_USER, "c", SIZE_MAX)->data = xstrdup("c");
	cache_insert(c, "t", TOKEN_USER, "d", SIZE_MAX)->data = xstrdup("d");
	assert_int_equal(data_freed, 2);	/* b evicted */
	cache_insert(c, "t", TOKEN_USER, "e", SIZE_MAX);	/* no data: c goes */
	assert_int_equal(data_freed, 3);
	cache_free(c);
	assert_int_equal(data_freed, 4);	/* d; e had none */
}

/* A tenant at its share pushes out its own least recently used user entry,
 * never another tenant's and never its own services. */
static void
test_tenant_share(void **state)
{
	struct cache	*c = cache_new(100, NULL);

	cache_insert(c, "demo", TOKEN_SERVICE, "ewt", 3);
	cache_insert(c, "demo", TOKEN_USER, "d1", 3);
	cache_insert(c, "other", TOKEN_SERVICE, "ewt", 3);
	for (int i = 0; i < 10; i++) {
		char	 s[16];

		snprintf(s, sizeof(s), "o%d", i);
		cache_insert(c, "other", TOKEN_USER, s, 3);
	}
	assert_int_equal(cache_count_tenant(c, "other"), 3);
	assert_non_null(cache_lookup(c, "other", TOKEN_SERVICE, "ewt"));
	assert_non_null(cache_lookup(c, "other", TOKEN_USER, "o9"));
	assert_non_null(cache_lookup(c, "other", TOKEN_USER, "o8"));
	assert_null(cache_lookup(c, "other", TOKEN_USER, "o7"));
	assert_int_equal(cache_count_tenant(c, "demo"), 2);
	assert_non_null(cache_lookup(c, "demo", TOKEN_SERVICE, "ewt"));
	assert_non_null(cache_lookup(c, "demo", TOKEN_USER, "d1"));
	assert_int_equal(cache_evictions(c), 8);
	assert_int_equal(cache_count_tenant(c, "nobody"), 0);
	cache_free(c);
}

/*
 * The case: a total of 3, one tenant's callers ask for many
 * addresses; the other tenant's service entry stays.  At the total, the
 * tenant holding the most user entries gives one up.
 */
static void
test_total_bound_across_tenants(void **state)
{
	struct cache	*c = cache_new(3, NULL);

	cache_insert(c, "demo", TOKEN_SERVICE, "ewt", 100);
	cache_insert(c, "other", TOKEN_USER, "o1", 100);
	cache_insert(c, "other", TOKEN_USER, "o2", 100);
	cache_insert(c, "other", TOKEN_USER, "o3", 100);
	cache_insert(c, "other", TOKEN_USER, "o4", 100);
	assert_int_equal(cache_count(c), 3);
	assert_non_null(cache_lookup(c, "demo", TOKEN_SERVICE, "ewt"));
	assert_non_null(cache_lookup(c, "other", TOKEN_USER, "o3"));
	assert_non_null(cache_lookup(c, "other", TOKEN_USER, "o4"));
	/* A demo user pushes out one of other's, the larger holder. */
	cache_insert(c, "demo", TOKEN_USER, "d1", 100);
	assert_int_equal(cache_count(c), 3);
	assert_int_equal(cache_count_tenant(c, "demo"), 2);
	assert_int_equal(cache_count_tenant(c, "other"), 1);
	/* Once demo holds as many users, it gives up its own. */
	cache_insert(c, "demo", TOKEN_USER, "d2", 100);
	assert_null(cache_lookup(c, "demo", TOKEN_USER, "d1"));
	assert_non_null(cache_lookup(c, "other", TOKEN_USER, "o4"));
	assert_non_null(cache_lookup(c, "demo", TOKEN_SERVICE, "ewt"));
	/* Another tenant's services take user entries only; a tenant
	 * emptied by eviction leaves nothing behind (valgrind). */
	cache_insert(c, "third", TOKEN_SERVICE, "x", 100);
	cache_insert(c, "third", TOKEN_SERVICE, "y", 100);
	assert_int_equal(cache_count_tenant(c, "other"), 0);
	assert_non_null(cache_lookup(c, "demo", TOKEN_SERVICE, "ewt"));
	assert_null(cache_lookup(c, "demo", TOKEN_USER, "d2"));
	/* No user entry left anywhere: third gives up its own oldest. */
	cache_insert(c, "third", TOKEN_SERVICE, "z", 100);
	assert_non_null(cache_lookup(c, "demo", TOKEN_SERVICE, "ewt"));
	assert_null(cache_lookup(c, "third", TOKEN_SERVICE, "x"));
	assert_int_equal(cache_count(c), 3);
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
	struct cache	*c = cache_new(100, NULL);
	char		 s[16];

	for (int i = 0; i < 10; i++) {
		snprintf(s, sizeof(s), "%d", i);
		cache_set_token(cache_insert(c, "t", TOKEN_SERVICE, s, SIZE_MAX), xstrdup("tok"));
	}
	cache_foreach(c, remove_odd, c);
	assert_int_equal(cache_count(c), 5);
	assert_order(c, "8,6,4,2,0");
	/* The first entry visited is removed too. */
	for (int i = 0; i < 10; i += 2) {
		snprintf(s, sizeof(s), "%d", i + 1);
		cache_insert(c, "t", TOKEN_SERVICE, s, SIZE_MAX);
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
	struct cache		*c = cache_new(200000, NULL);
	struct cache_entry	*e;
	char			 s[64];
	const size_t		 n = 100000;

	for (size_t i = 0; i < n; i++) {
		snprintf(s, sizeof(s), "user%zu@example.com", i);
		e = cache_insert(c, "tenant", TOKEN_USER, s, SIZE_MAX);
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
	c = cache_new(1000, NULL);
	for (size_t i = 0; i < n; i++) {
		snprintf(s, sizeof(s), "user%zu@example.com", i);
		cache_set_token(cache_insert(c, "tenant", TOKEN_USER, s, SIZE_MAX), xstrdup("token"));
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
	struct cache	*c = cache_new(0, NULL);

	cache_insert(c, "t", TOKEN_USER, "a", SIZE_MAX);
	cache_insert(c, "t", TOKEN_USER, "b", SIZE_MAX);
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
		cmocka_unit_test(test_pinned_entries_never_evicted),
		cmocka_unit_test(test_data_released),
		cmocka_unit_test(test_tenant_share),
		cmocka_unit_test(test_total_bound_across_tenants),
		cmocka_unit_test(test_tokens_replaced_and_cleared),
		cmocka_unit_test(test_foreach_with_removal),
		cmocka_unit_test(test_many_entries),
		cmocka_unit_test(test_zero_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
