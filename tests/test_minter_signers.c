/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_minter_signers.c - the broker's minter over a pool of real signer
 * processes (minter_signers.c): a mint answers MINT_OK with an assertion
 * that verifies, an unknown tenant MINT_FAILED, full queues MINT_BUSY
 * with a Retry-After, never before start returns; cancel and free answer
 * nothing more.
 */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "samlbroker.h"
#include "signer_fixture.h"

struct mint_seen {
	int			 calls;
	enum mint_outcome	 outcome;
	char			*b64;
	double			 retry_after;
	double			 not_on_or_after;
	char			 message[256];
};

static void
on_mint(struct mint_result *r, void *arg)
{
	struct mint_seen	*s = arg;

	s->calls++;
	s->outcome = r->outcome;
	s->retry_after = r->retry_after;
	s->not_on_or_after = r->not_on_or_after;
	snprintf(s->message, sizeof(s->message), "%s", r->message);
	if (r->outcome == MINT_OK) {
		s->b64 = r->saml_response_b64;	/* taken */
		r->saml_response_b64 = NULL;
	}
}

static bool
seen(void *arg)
{
	return ((struct mint_seen *)arg)->calls > 0;
}

static void
seen_clear(struct mint_seen *s)
{
	secret_free(s->b64);
	memset(s, 0, sizeof(*s));
}

/* OK verifies; an unknown tenant fails; neither answers before start returns. */
static void
test_ok_and_failed(void **state)
{
	struct signer_pool	*p = pool_new(1, 8);
	struct minter_signers	*m = minter_signers_new(base, p);
	struct mint_seen	 s = { 0 };
	double			 now = clock_now();

	(void)state;
	assert_non_null(minter_signers_ops.start(m, "acme", EMAIL, now, on_mint, &s));
	assert_int_equal(s.calls, 0);
	assert_true(run_until(seen, &s, 20));
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.outcome, MINT_OK);
	assert_non_null(s.b64);
	assert_int_equal(verify_b64(s.b64, "vendor-pkcs8", EMAIL), 0);
	assert_true(s.not_on_or_after > now);
	seen_clear(&s);

	assert_non_null(minter_signers_ops.start(m, "nosuch", EMAIL, now, on_mint, &s));
	assert_int_equal(s.calls, 0);
	assert_true(run_until(seen, &s, 20));
	assert_int_equal(s.outcome, MINT_FAILED);
	assert_null(s.b64);
	assert_true(s.message[0] != '\0');
	seen_clear(&s);
	minter_signers_free(m);
	pool_free_check(p);
}

/* A stopped lone signer with a queue of 1: the second mint is refused at
 * once by the pool, and answered BUSY from the loop, with Retry-After. */
static void
test_busy(void **state)
{
	struct signer_pool	*p = pool_new(1, 1);
	struct minter_signers	*m = minter_signers_new(base, p);
	struct mint_seen	 held = { 0 }, busy = { 0 };
	pid_t			 pids[MAX_PIDS];

	(void)state;
	assert_int_equal(pids_of(p, pids, MAX_PIDS), 1);
	assert_int_equal(kill(pids[0], SIGSTOP), 0);
	assert_non_null(minter_signers_ops.start(m, "acme", EMAIL, clock_now(), on_mint,
	    &held));
	assert_non_null(minter_signers_ops.start(m, "acme", EMAIL, clock_now(), on_mint,
	    &busy));
	assert_int_equal(busy.calls, 0);	/* never before start returns */
	assert_true(run_until(seen, &busy, 10));
	assert_int_equal(busy.calls, 1);
	assert_int_equal(busy.outcome, MINT_BUSY);
	assert_true(busy.retry_after > 0);
	assert_int_equal(held.calls, 0);
	assert_int_equal(kill(pids[0], SIGCONT), 0);
	assert_true(run_until(seen, &held, 20));
	assert_int_equal(held.outcome, MINT_OK);
	seen_clear(&held);
	seen_clear(&busy);
	minter_signers_free(m);
	pool_free_check(p);
}

/* Cancel, and free with mints pending: no callback ever comes. */
static void
test_cancel_and_free(void **state)
{
	struct signer_pool	*p = pool_new(1, 1);
	struct minter_signers	*m = minter_signers_new(base, p);
	struct mint_seen	 a = { 0 }, b = { 0 }, c = { 0 }, probe = { 0 };
	void			*ha, *hb;
	pid_t			 pids[MAX_PIDS];

	(void)state;
	assert_int_equal(pids_of(p, pids, MAX_PIDS), 1);
	assert_int_equal(kill(pids[0], SIGSTOP), 0);
	ha = minter_signers_ops.start(m, "acme", EMAIL, clock_now(), on_mint, &a);
	hb = minter_signers_ops.start(m, "acme", EMAIL, clock_now(), on_mint, &b);
	assert_non_null(ha);
	assert_non_null(hb);	/* a refusal waiting on its zero timer */
	minter_signers_ops.cancel(m, ha);
	minter_signers_ops.cancel(m, hb);
	assert_int_equal(kill(pids[0], SIGCONT), 0);
	/* A later mint is answered (BUSY until the signer has answered the
	 * cancelled one it was holding); the cancelled ones never are. */
	for (int tries = 0; tries < 200; tries++) {
		seen_clear(&probe);
		assert_non_null(minter_signers_ops.start(m, "acme", EMAIL, clock_now(),
		    on_mint, &probe));
		assert_true(run_until(seen, &probe, 20));
		if (probe.outcome != MINT_BUSY)
			break;
		run_until(seen, &a, 0.05);
	}
	assert_int_equal(probe.outcome, MINT_OK);
	assert_int_equal(a.calls + b.calls, 0);
	/* Free with one pending. */
	assert_non_null(minter_signers_ops.start(m, "acme", EMAIL, clock_now(), on_mint, &c));
	minter_signers_free(m);
	run_until(seen, &c, 0.5);
	assert_int_equal(c.calls, 0);
	seen_clear(&probe);
	pool_free_check(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_and_failed),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_cancel_and_free),
	};

	log_init(LOG_LEVEL_ERROR, "test_minter_signers");
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("minter over signers", tests, fixture_setup,
	    fixture_teardown);
}
