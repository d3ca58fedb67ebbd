/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_broker_seams.c - unit tests for the broker's per-tenant fairness
 * (each tenant's share of the cache and of the exchanges in progress: one
 * tenant's callers cannot evict or starve another's tokens) and for the
 * mint seam's answers other than a signature (busy, failed, cancelled at
 * shutdown, canceled because the caller has gone), with the fakes of
 * tests/broker_fixture.c.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "samlbroker.h"
#include "broker_fixture.h"

/*
 * The mint seam's other answers, from a fake minter: busy is 503
 * signers_busy with Retry-After, for broker_mint and for a user token
 * (no upstream request, no failure memory: the next caller tries again);
 * failed is 500 internal_error.  Neither counts as a mint.
 */
static void
test_mint_busy_or_failed(void **state)
{
	struct fixture	*f = *state;
	struct got	*g;

	f->fake_minter = true;
	f->mint_outcome = MINT_BUSY;
	broker_start(f, config_make(f, 1, 100));
	g = mint(f, "acme", USER);
	assert_failure(g, 503, "signers_busy", "every signer is busy");
	assert_true(g->retry_after == 2);
	g = get_async(f, "acme", TOKEN_USER, USER);
	assert_failure(g, 503, "signers_busy", "every signer is busy");
	assert_true(g->retry_after == 2);
	assert_int_equal(f->n_requests, 0);
	assert_int_equal(broker_cached_count(f->broker), 0);

	f->mint_outcome = MINT_FAILED;
	g = mint(f, "acme", USER);
	assert_failure(g, 500, "internal_error", "cannot sign the SAML assertion");
	g = get_async(f, "acme", TOKEN_USER, USER);
	assert_failure(g, 500, "internal_error", "cannot sign the SAML assertion");

	f->mint_outcome = MINT_OK;
	g = get_async(f, "acme", TOKEN_USER, USER);
	assert_token(g, "tok-1", T0 + 3600, false);
	assert_int_equal(f->n_requests, 1);
	assert_int_equal(f->seen[0].grant, 'S');
	assert_stats(f, 0, 0, 3, 1);
	assert_int_equal(f->n_mint_cancels, 0);
}

/* A refresh whose mint finds the signers busy: callers keep the cached
 * token, and hits do not ask again before the Retry-After has passed. */
static void
test_refresh_mint_busy(void **state)
{
	struct fixture	*f = *state;
	struct got	*g;

	f->fake_minter = true;
	f->mint_outcome = MINT_OK;
	broker_start(f, config_make(f, 1, 100));
	f->dflt = token(300);
	g = get_async(f, "acme", TOKEN_USER, USER);
	assert_token(g, "tok-1", T0 + 300, false);
	assert_int_equal(f->n_mints, 1);

	f->mint_outcome = MINT_BUSY;
	fake = T0 + 215;
	g = get_sync(f, "acme", TOKEN_USER, USER);
	assert_token(g, "tok-1", T0 + 300, true);
	drain(f);
	assert_int_equal(f->n_mints, 2);
	for (int i = 0; i < 5; i++) {
		fake = T0 + 215 + i * 0.3;
		g = get_sync(f, "acme", TOKEN_USER, USER);
		assert_token(g, "tok-1", T0 + 300, true);
		drain(f);
	}
	assert_int_equal(f->n_mints, 2);	/* held back for 2 s */
	f->mint_outcome = MINT_OK;
	fake = T0 + 217;
	g = get_sync(f, "acme", TOKEN_USER, USER);
	assert_token(g, "tok-1", T0 + 300, true);
	run_until(f, &f->n_requests, 2, 5);
	drain(f);
	assert_int_equal(f->n_mints, 3);
	g = get_sync(f, "acme", TOKEN_USER, USER);
	assert_token(g, "tok-2", T0 + 217 + 300, true);
}

/* Shutdown while mints are pending: they are cancelled (no callback from
 * the minter afterwards) and their callers answered once. */
static void
test_mint_cancelled_on_free(void **state)
{
	struct fixture	*f = *state;

	f->fake_minter = true;
	f->mint_outcome = MINT_OK;
	broker_start(f, config_make(f, 1, 100));
	broker_mint(f->broker, "acme", USER, got_cb, f);
	broker_get_token(f->broker, "acme", TOKEN_USER, USER, got_cb, f);
	assert_int_equal(f->n_got, 0);
	broker_free(f->broker);
	f->broker = NULL;
	assert_int_equal(f->n_mint_cancels, 2);
	assert_int_equal(f->n_got, 2);
	for (int i = 0; i < 2; i++)
		assert_failure(&f->got[i], 503, "upstream_unavailable",
		    "the broker is shutting down");
	drain(f);
	assert_int_equal(f->n_got, 2);
}

/*
 * Callers that hang up (issue 15): a broker_mint's mint is canceled; a
 * user token's mint is canceled only when its last waiter has gone and it
 * is still being signed (the entry goes too, so the next caller starts
 * afresh); an exchange past signing goes on and its token is cached.
 */
static void
test_caller_gone(void **state)
{
	struct fixture	*f = *state;
	struct mint_req	*m;
	struct waiter	*w1, *w2;
	struct got	*g;

	f->fake_minter = true;
	f->mint_outcome = MINT_OK;
	broker_start(f, config_make(f, 1, 100));

	assert_non_null(m = broker_mint(f->broker, "acme", USER, got_cb, f));
	broker_mint_cancel(f->broker, m);
	assert_int_equal(f->n_mint_cancels, 1);
	drain(f);
	assert_int_equal(f->n_got, 0);

	/* Two wait for one mint: the first leaves, the second is served. */
	assert_non_null(w1 = broker_get_token(f->broker, "acme", TOKEN_USER, USER,
	    got_cb, f));
	assert_non_null(w2 = broker_get_token(f->broker, "acme", TOKEN_USER, USER,
	    got_cb, f));
	broker_token_cancel(f->broker, w1);
	assert_int_equal(f->n_mint_cancels, 1);
	run_until(f, &f->n_got, 1, 5);
	assert_token(&f->got[0], "tok-1", T0 + 3600, false);
	assert_int_equal(f->n_mints, 2);

	/* The only one leaves while signing: the mint is canceled, nothing
	 * is asked of the token endpoint, nothing cached. */
	assert_non_null(w1 = broker_get_token(f->broker, "acme", TOKEN_USER,
	    "gone@example.com", got_cb, f));
	assert_int_equal(broker_cached_count(f->broker), 2);
	broker_token_cancel(f->broker, w1);
	assert_int_equal(f->n_mint_cancels, 2);
	assert_int_equal(broker_cached_count(f->broker), 1);
	drain(f);
	assert_int_equal(f->n_got, 1);
	assert_int_equal(f->n_requests, 1);
	g = get_async(f, "acme", TOKEN_USER, "gone@example.com");
	assert_token(g, "tok-2", T0 + 3600, false);

	/* Past signing (the token endpoint holds the request): the exchange
	 * goes on without its caller and the next caller gets its token
	 * from the cache. */
	script_add(f, hold);
	assert_non_null(w1 = broker_get_token(f->broker, "acme", TOKEN_USER,
	    "late@example.com", got_cb, f));
	run_until(f, &f->n_held, 1, 5);
	broker_token_cancel(f->broker, w1);
	assert_int_equal(f->n_mint_cancels, 2);
	release(f, token(3600));
	run_until(f, &f->n_requests, 3, 5);
	drain(f);
	g = get_sync(f, "acme", TOKEN_USER, "late@example.com");
	assert_token(g, "tok-3", T0 + 3600, true);
	assert_int_equal(f->n_got, 3);
}

/*
 * Issue 8's case: with max_cached_tokens = 3, callers asking for many
 * addresses on one tenant once evicted another tenant's service token.
 * Now each tenant has its own share and, at the total, the tenant holding
 * the most user entries gives one up: acme's service token stays cached.
 */
static void
test_fair_cache(void **state)
{
	struct fixture	*f = *state;
	struct got	*g;
	char		 who[64];

	broker_start(f, config_make(f, 2, 3));
	g = get_async(f, "acme", TOKEN_SERVICE, "ewt");
	assert_token(g, "tok-1", T0 + 3600, false);
	for (int i = 0; i < 6; i++) {
		snprintf(who, sizeof(who), "u%d@example.com", i);
		g = get_async(f, "beta", TOKEN_USER, who);
		assert_int_equal(g->status, 200);
	}
	assert_int_equal(broker_cached_count(f->broker), 3);
	g = get_sync(f, "acme", TOKEN_SERVICE, "ewt");
	assert_token(g, "tok-1", T0 + 3600, true);
	assert_int_equal(broker_cached_count_tenant(f->broker, "beta"), 2);
	/* beta's own service token is not pushed out by beta's users either. */
	g = get_async(f, "beta", TOKEN_SERVICE, "ewt");
	assert_token(g, "tok-8", T0 + 3600, false);
	for (int i = 6; i < 9; i++) {
		snprintf(who, sizeof(who), "u%d@example.com", i);
		get_async(f, "beta", TOKEN_USER, who);
	}
	g = get_sync(f, "beta", TOKEN_SERVICE, "ewt");
	assert_token(g, "tok-8", T0 + 3600, true);
	g = get_sync(f, "acme", TOKEN_SERVICE, "ewt");
	assert_token(g, "tok-1", T0 + 3600, true);
	assert_int_equal(f->n_requests, 11);
}

/* No fixed share: a tenant alone uses the whole cache; another tenant then
 * takes room back from it, down to the fair part (10 / 2), not below. */
static void
test_fair_cache_idle_room(void **state)
{
	struct fixture	*f = *state;
	struct got	*g;
	char		 who[64];

	broker_start(f, config_make(f, 2, 10));
	for (int i = 0; i < 10; i++) {
		snprintf(who, sizeof(who), "b%d@example.com", i);
		assert_int_equal(get_async(f, "beta", TOKEN_USER, who)->status, 200);
	}
	assert_int_equal(broker_cached_count_tenant(f->broker, "beta"), 10);
	for (int i = 0; i < 8; i++) {
		snprintf(who, sizeof(who), "a%d@example.com", i);
		assert_int_equal(get_async(f, "acme", TOKEN_USER, who)->status, 200);
	}
	assert_int_equal(broker_cached_count(f->broker), 10);
	assert_int_equal(broker_cached_count_tenant(f->broker, "beta"), 5);
	assert_int_equal(broker_cached_count_tenant(f->broker, "acme"), 5);
	/* beta's five most recent stay; acme gave up its own oldest. */
	g = get_sync(f, "beta", TOKEN_USER, "b9@example.com");
	assert_token(g, "tok-10", T0 + 3600, true);
	g = get_sync(f, "beta", TOKEN_USER, "b5@example.com");
	assert_token(g, "tok-6", T0 + 3600, true);
	g = get_sync(f, "acme", TOKEN_USER, "a7@example.com");
	assert_token(g, "tok-18", T0 + 3600, true);
	g = get_sync(f, "acme", TOKEN_USER, "a3@example.com");
	assert_token(g, "tok-14", T0 + 3600, true);
	assert_int_equal(f->n_requests, 18);
}

/* An explicit share: beta keeps at most 2 entries, acme's users stay. */
static void
test_fair_cache_share(void **state)
{
	struct fixture		*f = *state;
	struct broker_config	*c = config_make(f, 2, 100);
	struct got		*g;
	char			 who[64];

	c->max_cached_tokens_per_tenant = 2;
	broker_start(f, c);
	get_async(f, "acme", TOKEN_USER, "a1@example.com");
	get_async(f, "acme", TOKEN_USER, "a2@example.com");
	for (int i = 0; i < 5; i++) {
		snprintf(who, sizeof(who), "u%d@example.com", i);
		get_async(f, "beta", TOKEN_USER, who);
	}
	assert_int_equal(broker_cached_count_tenant(f->broker, "beta"), 2);
	assert_int_equal(broker_cached_count_tenant(f->broker, "acme"), 2);
	g = get_sync(f, "acme", TOKEN_USER, "a1@example.com");
	assert_token(g, "tok-1", T0 + 3600, true);
	g = get_sync(f, "beta", TOKEN_USER, "u4@example.com");
	assert_token(g, "tok-7", T0 + 3600, true);
	g = get_async(f, "beta", TOKEN_USER, "u0@example.com");
	assert_token(g, "tok-8", T0 + 3600, false);
}

/*
 * Exchange slots: beta's callers fill beta's max_exchanges_per_tenant and
 * queue beyond it (no request until a slot frees), while acme still starts
 * exchanges; at the total (max_connections), a tenant below its fair part
 * (total / tenants) still starts one.
 */
static void
test_fair_exchanges(void **state)
{
	struct fixture		*f = *state;
	struct broker_config	*c = config_make(f, 2, 100);

	c->max_exchanges_per_tenant = 2;
	c->max_connections = 100;
	broker_start(f, c);
	f->dflt = hold;
	broker_get_token(f->broker, "beta", TOKEN_USER, "u1@example.com", got_cb, f);
	broker_get_token(f->broker, "beta", TOKEN_USER, "u2@example.com", got_cb, f);
	run_until(f, &f->n_held, 2, 5);
	/* beta's next ones queue (their callers wait: expected soon). */
	broker_get_token(f->broker, "beta", TOKEN_USER, "u3@example.com", got_cb, f);
	broker_get_token(f->broker, "beta", TOKEN_SERVICE, "ewt", got_cb, f);
	/* acme is not starved: its own slots, though beta's queue is ahead. */
	broker_get_token(f->broker, "acme", TOKEN_SERVICE, "ewt", got_cb, f);
	broker_get_token(f->broker, "acme", TOKEN_USER, USER, got_cb, f);
	run_until(f, &f->n_held, 4, 5);
	broker_get_token(f->broker, "acme", TOKEN_USER, "a3@example.com", got_cb, f);
	drain(f);
	assert_int_equal(f->n_requests, 4);
	assert_int_equal(f->n_got, 0);
	for (int i = 0; i < 4; i++)
		release(f, token(3600));
	run_until(f, &f->n_got, 4, 5);
	/* The slots free: the three queued go. */
	run_until(f, &f->n_held, 3, 5);
	assert_int_equal(f->n_requests, 7);
	f->dflt = token(3600);
	for (int i = 0; i < 3; i++)
		release(f, token(3600));
	run_until(f, &f->n_got, 7, 5);
	for (int i = 0; i < 7; i++)
		assert_int_equal(f->got[i].status, 200);
}

static void
test_fair_exchanges_total(void **state)
{
	struct fixture		*f = *state;
	struct broker_config	*c = config_make(f, 2, 100);

	c->max_exchanges_per_tenant = 32;
	c->max_connections = 2;
	broker_start(f, c);
	f->dflt = hold;
	broker_get_token(f->broker, "beta", TOKEN_USER, "u1@example.com", got_cb, f);
	broker_get_token(f->broker, "beta", TOKEN_USER, "u2@example.com", got_cb, f);
	run_until(f, &f->n_held, 2, 5);
	broker_get_token(f->broker, "beta", TOKEN_USER, "u3@example.com", got_cb, f);
	/* acme holds none: its fair part (2 / 2 = 1) is free. */
	broker_get_token(f->broker, "acme", TOKEN_SERVICE, "ewt", got_cb, f);
	run_until(f, &f->n_held, 3, 5);
	broker_get_token(f->broker, "acme", TOKEN_USER, USER, got_cb, f);
	drain(f);
	assert_int_equal(f->n_requests, 3);
	assert_int_equal(f->n_got, 0);
	/* Everything held ends; the queued ones go and end too. */
	f->dflt = token(3600);
	for (int i = 0; i < 3; i++)
		release(f, token(3600));
	run_until(f, &f->n_got, 5, 5);
	assert_int_equal(f->n_requests, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(f->got[i].status, 200);
}

#define TB(name)	cmocka_unit_test_setup_teardown(name, setup_bare, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TB(test_mint_busy_or_failed),
		TB(test_mint_cancelled_on_free),
		TB(test_caller_gone),
		TB(test_refresh_mint_busy),
		TB(test_fair_cache),
		TB(test_fair_cache_share),
		TB(test_fair_cache_idle_room),
		TB(test_fair_exchanges),
		TB(test_fair_exchanges_total),
	};
	int	 failed;

	fixture_global_init();
	failed = cmocka_run_group_tests_name("broker seams and fairness", tests,
	    NULL, NULL);
	fixture_global_shutdown();
	return failed != 0;
}
