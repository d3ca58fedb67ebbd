/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_broker_policy.c - unit tests for src/broker_policy.c, the broker's
 * decisions as pure functions: each table row is a state, a time and an
 * event, and what must follow.  No loop, no clock, no randomness (the
 * jitter is a column).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "samlbroker.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

/* A token obtained at 1000 for 300 s: margin 60, refresh from 1190. */
static const struct policy fresh = {
	.obtained_at = 1000, .expires_at = 1300, .refresh_at = 1190,
};

static void
test_decide(void **state)
{
	static const struct {
		const char		*what;
		struct policy		 p;
		bool			 has_token;
		double			 now;
		bool			 may_start;
		enum policy_action	 want;
	} rows[] = {
		{ "fresh token", { .obtained_at = 1000, .expires_at = 1300,
		    .refresh_at = 1190 }, true, 1100, true, POLICY_SERVE },
		{ "fresh token, slots full", { .obtained_at = 1000,
		    .expires_at = 1300, .refresh_at = 1190 }, true, 1100, false,
		    POLICY_SERVE },
		{ "past refresh point", { .obtained_at = 1000, .expires_at = 1300,
		    .refresh_at = 1190 }, true, 1200, true,
		    POLICY_SERVE_AND_REFRESH },
		{ "past refresh point, refresh in flight", { .obtained_at = 1000,
		    .expires_at = 1300, .refresh_at = 1190, .in_flight = true },
		    true, 1200, true, POLICY_SERVE },
		{ "past refresh point, backing off", { .obtained_at = 1000,
		    .expires_at = 1300, .refresh_at = 1190, .failures = 1,
		    .retry_at = 1210 }, true, 1200, true, POLICY_SERVE },
		{ "past refresh point, hard failure remembered", {
		    .obtained_at = 1000, .expires_at = 1300, .refresh_at = 1190,
		    .hard_fail_until = 1205 }, true, 1200, true, POLICY_SERVE },
		{ "61 s left: still served", { .obtained_at = 1000,
		    .expires_at = 1300, .refresh_at = 1190, .in_flight = true },
		    true, 1239, true, POLICY_SERVE },
		{ "59 s left: within the margin, in flight", {
		    .obtained_at = 1000, .expires_at = 1300, .refresh_at = 1190,
		    .in_flight = true }, true, 1241, true, POLICY_WAIT },
		{ "59 s left: within the margin", { .obtained_at = 1000,
		    .expires_at = 1300, .refresh_at = 1190 }, true, 1241, true,
		    POLICY_START },
		{ "no token, in flight", { .in_flight = true }, false, 1000, false,
		    POLICY_WAIT },
		{ "no token", { .failures = 0 }, false, 1000, true, POLICY_START },
		{ "no token, slots full", { .failures = 0 }, false, 1000, false,
		    POLICY_REFUSE_BUSY },
		{ "no token, backing off", { .failures = 2, .retry_at = 1002 },
		    false, 1000, true, POLICY_REFUSE_FAILING },
		{ "no token, backoff over", { .failures = 2, .retry_at = 1002 },
		    false, 1002, true, POLICY_START },
		{ "no token, hard failure remembered", { .failures = 1,
		    .retry_at = 999, .hard_fail_until = 1004 }, false, 1003, true,
		    POLICY_REFUSE_FAILING },
		{ "failing beats busy", { .failures = 1, .retry_at = 1005 },
		    false, 1000, false, POLICY_REFUSE_FAILING },
		{ "retry_at without failures is no backoff", { .retry_at = 2000 },
		    false, 1000, true, POLICY_START },
	};

	for (size_t i = 0; i < N(rows); i++) {
		enum policy_action got = policy_decide(&rows[i].p,
		    rows[i].has_token, rows[i].now, rows[i].may_start);

		if (got != rows[i].want)
			fail_msg("%s: got %d, want %d", rows[i].what, got,
			    rows[i].want);
	}
}

static void
test_margin_and_usable(void **state)
{
	struct policy	 p = fresh;

	assert_true(policy_safety_margin(&p) == 60);
	p.expires_at = 1100;	/* a 100 s token: a fifth */
	assert_true(policy_safety_margin(&p) == 20);
	assert_true(policy_token_usable(&p, true, 1079));
	assert_false(policy_token_usable(&p, true, 1080));
	assert_false(policy_token_usable(&p, false, 1000));
}

static void
test_may_start(void **state)
{
	static const struct {
		size_t	 tenant_running, tenant_max, total, total_max, n;
		bool	 want;
	} rows[] = {
		{ 0, 32, 0, 1024, 2, true },
		{ 31, 32, 31, 1024, 2, true },
		{ 32, 32, 32, 1024, 2, false },	/* the tenant's own bound */
		{ 2, 2, 2, 100, 2, false },
		{ 0, 32, 2, 2, 2, true },	/* total reached, fair part (1) free */
		{ 1, 32, 3, 2, 2, false },	/* total reached, fair part used */
		{ 2, 32, 4, 4, 2, false },
		{ 1, 32, 4, 4, 2, true },
		{ 0, 32, 1, 1, 4, true },	/* fair part at least 1 */
		{ 1, 32, 5, 1, 4, false },
		{ 0, 1, 0, 1, 0, true },
	};

	for (size_t i = 0; i < N(rows); i++) {
		bool got = policy_may_start(rows[i].tenant_running,
		    rows[i].tenant_max, rows[i].total, rows[i].total_max,
		    rows[i].n);

		if (got != rows[i].want)
			fail_msg("row %zu: got %d", i, got);
	}
}

static void
test_on_failure(void **state)
{
	static const struct {
		const char		*what;
		int			 failures;	/* before */
		enum upstream_outcome	 outcome;
		const char		*error;
		double			 retry_after, jitter;
		double			 backoff;	/* want */
		int			 status;
		double			 hard_until;	/* 0: none */
	} rows[] = {
		{ "first 5xx, no jitter", 0, UPSTREAM_UNAVAILABLE, "http_500", 0,
		    0.5, 1, 503, 0 },
		{ "first 5xx, least jitter", 0, UPSTREAM_UNAVAILABLE, "http_500",
		    0, 0, 0.5, 503, 0 },
		{ "third, most jitter", 2, UPSTREAM_UNAVAILABLE, "connect", 0,
		    0.999, 4 * 1.499, 503, 0 },
		{ "Retry-After longer", 0, UPSTREAM_UNAVAILABLE, "http_429", 30,
		    0.5, 30, 503, 0 },
		{ "Retry-After shorter", 3, UPSTREAM_UNAVAILABLE, "http_429", 2,
		    0.5, 8, 503, 0 },
		{ "Retry-After capped", 0, UPSTREAM_UNAVAILABLE, "http_429",
		    86400, 0.5, POLICY_RETRY_AFTER_MAX, 503, 0 },
		{ "backoff capped, jitter included", 20, UPSTREAM_UNAVAILABLE,
		    "http_503", 0, 0.999, POLICY_BACKOFF_MAX, 503, 0 },
		{ "timeout", 0, UPSTREAM_TIMEOUT, "timeout", 0, 0.5, 1, 504, 0 },
		{ "invalid_client remembered", 0, UPSTREAM_REJECTED,
		    "invalid_client", 0, 0.5, 1, 502,
		    1000 + POLICY_HARD_FAILURE_MEMORY },
		{ "invalid_grant remembered", 0, UPSTREAM_REJECTED,
		    "invalid_grant", 0, 0.5, 1, 502,
		    1000 + POLICY_HARD_FAILURE_MEMORY },
		{ "unauthorized_client remembered", 0, UPSTREAM_REJECTED,
		    "unauthorized_client", 0, 0.5, 1, 502,
		    1000 + POLICY_HARD_FAILURE_MEMORY },
		{ "invalid_request only backs off", 0, UPSTREAM_REJECTED,
		    "invalid_request", 0, 0.5, 1, 502, 0 },
	};

	for (size_t i = 0; i < N(rows); i++) {
		struct policy	 p = { .failures = rows[i].failures };
		double		 b;

		b = policy_on_failure(&p, rows[i].outcome, rows[i].error,
		    rows[i].retry_after, 1000, rows[i].jitter);
		if (fabs(b - rows[i].backoff) > 1e-9 ||
		    fabs(p.retry_at - (1000 + rows[i].backoff)) > 1e-9 ||
		    p.failures != rows[i].failures + 1 ||
		    p.last_status != rows[i].status ||
		    strcmp(p.last_error, rows[i].error) != 0 ||
		    p.hard_fail_until != rows[i].hard_until)
			fail_msg("%s: backoff %.3f retry_at %.3f failures %d "
			    "status %d hard %.1f", rows[i].what, b, p.retry_at,
			    p.failures, p.last_status, p.hard_fail_until);
	}
}

static void
test_on_success(void **state)
{
	static const struct {
		long	 expires_in;
		double	 life_max, jitter;
		double	 expires_at, refresh_at;
	} rows[] = {
		{ 300, 86400, 0, 1300, 1180 },
		{ 300, 86400, 0.999, 1300, 1000 + 300 * 0.6999 },
		{ 7200, 3600, 0.5, 4600, 1000 + 3600 * 0.65 },	/* capped */
		{ 1, 86400, 0.5, 1001, 1000.65 },
	};

	for (size_t i = 0; i < N(rows); i++) {
		struct policy	 p = { .failures = 3, .retry_at = 999,
		    .hard_fail_until = 1005, .last_error = "http_500" };

		policy_on_success(&p, rows[i].expires_in, rows[i].life_max, 1000,
		    rows[i].jitter);
		if (p.obtained_at != 1000 ||
		    fabs(p.expires_at - rows[i].expires_at) > 1e-9 ||
		    fabs(p.refresh_at - rows[i].refresh_at) > 1e-6 ||
		    p.failures != 0 || p.retry_at != 0 ||
		    p.hard_fail_until != 0 || p.last_error[0] != '\0')
			fail_msg("row %zu: expires %.3f refresh %.3f", i,
			    p.expires_at, p.refresh_at);
	}
}

static void
test_sweep(void **state)
{
	static const struct {
		const char	*what;
		struct policy	 p;
		bool		 has_token;
		enum token_kind	 kind;
		double		 now;
		unsigned	 want;
	} rows[] = {
		{ "fresh service", { .obtained_at = 1000, .expires_at = 1300,
		    .refresh_at = 1190 }, true, TOKEN_SERVICE, 1100, 0 },
		{ "service past refresh", { .obtained_at = 1000,
		    .expires_at = 1300, .refresh_at = 1190 }, true, TOKEN_SERVICE,
		    1200, POLICY_SWEEP_REFRESH },
		{ "user past refresh: callers refresh users", {
		    .obtained_at = 1000, .expires_at = 1300, .refresh_at = 1190 },
		    true, TOKEN_USER, 1200, 0 },
		{ "service past refresh, backing off", { .obtained_at = 1000,
		    .expires_at = 1300, .refresh_at = 1190, .failures = 1,
		    .retry_at = 1201 }, true, TOKEN_SERVICE, 1200, 0 },
		{ "in flight: untouched", { .obtained_at = 1000, .expires_at = 1300,
		    .in_flight = true }, true, TOKEN_USER, 5000, 0 },
		{ "expired, nothing else", { .obtained_at = 1000,
		    .expires_at = 1300 }, true, TOKEN_USER, 1240,
		    POLICY_SWEEP_WIPE | POLICY_SWEEP_DROP },
		{ "no token, nothing", { .failures = 0 }, false, TOKEN_USER, 1000,
		    POLICY_SWEEP_DROP },
		{ "expired, failing: kept for the backoff", {
		    .obtained_at = 1000, .expires_at = 1300, .failures = 2,
		    .retry_at = 1250 }, true, TOKEN_SERVICE, 1240,
		    POLICY_SWEEP_WIPE },
		{ "failing, long past the backoff", { .failures = 2,
		    .retry_at = 1000 }, false, TOKEN_SERVICE,
		    1000 + POLICY_BACKOFF_MAX, POLICY_SWEEP_DROP },
		{ "hard failure remembered", { .hard_fail_until = 1003 }, false,
		    TOKEN_SERVICE, 1001, 0 },
	};

	for (size_t i = 0; i < N(rows); i++) {
		unsigned got = policy_sweep(&rows[i].p, rows[i].has_token,
		    rows[i].kind, rows[i].now);

		if (got != rows[i].want)
			fail_msg("%s: got %#x, want %#x", rows[i].what, got,
			    rows[i].want);
	}
}

/* Busy signers hold refreshes back without counting as a failure. */
static void
test_on_busy(void **state)
{
	struct policy	 p = fresh, none = { .failures = 0 };

	policy_on_busy(&p, 2, 1200);
	assert_true(p.retry_at == 1202);
	assert_int_equal(p.failures, 0);
	assert_int_equal(policy_decide(&p, true, 1201, true), POLICY_SERVE);
	assert_int_equal(policy_decide(&p, true, 1202, true),
	    POLICY_SERVE_AND_REFRESH);
	policy_on_busy(&p, 1, 1200);	/* never shortens */
	assert_true(p.retry_at == 1202);
	policy_on_busy(&none, 2, 1000);
	assert_int_equal(policy_decide(&none, false, 1001, true), POLICY_START);
}

static void
test_keeps_entry(void **state)
{
	struct policy	 idle = { .failures = 0 }, flying = { .in_flight = true },
			 failing = { .failures = 1 },
			 hard = { .hard_fail_until = 1005 };

	assert_false(policy_keeps_entry(&idle, 1000));
	assert_true(policy_keeps_entry(&flying, 1000));
	assert_true(policy_keeps_entry(&failing, 1000));
	assert_true(policy_keeps_entry(&hard, 1000));
	assert_false(policy_keeps_entry(&hard, 1005));
}

static void
test_cache_share(void **state)
{
	static const struct {
		size_t	 max, per_tenant, want;
	} rows[] = {
		{ 10000, 0, 10000 },	/* automatic: fairness at the total */
		{ 10000, 500, 500 },	/* explicit */
		{ 100, 1000, 1000 },	/* explicit, over the total: the total bounds */
	};

	for (size_t i = 0; i < N(rows); i++) {
		size_t got = policy_cache_share(rows[i].max, rows[i].per_tenant);

		if (got != rows[i].want)
			fail_msg("row %zu: got %zu, want %zu", i, got,
			    rows[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_margin_and_usable),
		cmocka_unit_test(test_may_start),
		cmocka_unit_test(test_on_failure),
		cmocka_unit_test(test_on_success),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_on_busy),
		cmocka_unit_test(test_keeps_entry),
		cmocka_unit_test(test_cache_share),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
