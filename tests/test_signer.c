/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_signer.c - the signer pool (signer.c) with real signer processes
 * (`samlbroker signer` from the built binary) on a real libevent loop:
 * mints that xmlsec verifies, a signer killed during a burst, a hung
 * signer, full queues, each tenant's share of them, cancelation (before
 * sending: never signed), reload with changed and unchanged
 * keys and with a bad configuration, and no process left after free.
 * The signer process itself is tested by test_signer_main.c.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "samlbroker.h"
#include "signer_fixture.h"

static void
test_mint_and_verify(void **state)
{
	struct signer_pool	*p = pool_new(2, 0);
	struct signer_pool_stats st;
	struct outcome		 o;

	mint_wait(p, "acme", EMAIL, &o);
	assert_int_equal(o.status, SIGNER_OK);
	assert_int_equal(verify_b64(o.b64, "vendor-pkcs8", EMAIL), 0);
	assert_int_not_equal(verify_b64(o.b64, "vendor-traditional", EMAIL), 0);
	outcome_clear(&o);
	mint_wait(p, "globex", "o'hara&co\"<x>@example.com", &o);
	assert_int_equal(o.status, SIGNER_OK);
	assert_int_equal(verify_b64(o.b64, "vendor-traditional",
	    "o'hara&co\"<x>@example.com"), 0);
	outcome_clear(&o);

	mint_wait(p, "initech", EMAIL, &o);
	assert_int_equal(o.status, SIGNER_UNKNOWN_TENANT);
	outcome_clear(&o);
	mint_wait(p, "acme", "agent.example.com", &o);
	assert_int_equal(o.status, SIGNER_FAILED);
	assert_string_equal(o.error, "e-mail address must contain exactly one '@'");
	outcome_clear(&o);

	signer_pool_stats(p, &st);
	assert_int_equal(st.signers, 2);
	assert_int_equal(st.ready, 2);
	assert_int_equal(st.requests, 4);
	assert_int_equal(st.ok, 2);
	assert_int_equal(st.failed, 2);
	assert_int_equal(st.latency_count, 4);
	assert_int_equal(st.queue_depth, 0);
	pool_free_check(p);
}


struct burst {
	struct outcome	*o;
	size_t		 n;
};

static size_t
answered(const struct burst *b)
{
	size_t	 k = 0;

	for (size_t i = 0; i < b->n; i++)
		k += b->o[i].done;
	return k;
}

static bool
all_answered(void *arg)
{
	return answered(arg) == ((struct burst *)arg)->n;
}

static bool
some_answered(void *arg)
{
	return answered(arg) >= ((struct burst *)arg)->n / 5;
}

struct pool_arg {
	struct signer_pool	*p;
	size_t			 ready;
	pid_t			 not_pid;
};

static bool
pool_ready(void *arg)
{
	struct pool_arg			*a = arg;
	struct signer_process_info	 info[MAX_PIDS];
	size_t				 n = signer_pool_processes(a->p, info, MAX_PIDS), k = 0;

	for (size_t i = 0; i < n; i++)
		k += info[i].ready && !info[i].draining && info[i].pid != a->not_pid;
	return k == a->ready;
}

/* SIGKILL during a burst: every request is answered and the signer returns. */
static void
test_kill_during_burst(void **state)
{
	struct signer_pool	*p = pool_new(2, 64);
	struct signer_pool_stats st;
	struct outcome		 o[100];
	struct burst		 b = { o, 100 };
	struct pool_arg		 pa;
	enum signer_status	 refusal;
	pid_t			 pids[MAX_PIDS];
	size_t			 ok = 0, busy = 0;

	memset(o, 0, sizeof(o));
	pids_of(p, pids, MAX_PIDS);
	for (size_t i = 0; i < b.n; i++)
		assert_non_null(signer_pool_mint(p, i % 2 ? "acme" : "globex", EMAIL,
		    on_result, &o[i], &refusal));
	assert_true(run_until(some_answered, &b, 30));
	assert_int_equal(kill(pids[0], SIGKILL), 0);
	assert_true(run_until(all_answered, &b, 30));
	for (size_t i = 0; i < b.n; i++) {
		assert_int_equal(o[i].calls, 1);
		if (o[i].status == SIGNER_OK) {
			ok++;
			if (i % 10 == 0)
				assert_int_equal(verify_b64(o[i].b64, i % 2 ? "vendor-pkcs8" :
				    "vendor-traditional", EMAIL), 0);
		} else {
			assert_int_equal(o[i].status, SIGNER_BUSY);
			busy++;
		}
		outcome_clear(&o[i]);
	}
	/* The other signer took over what the dead one had. */
	assert_int_equal(ok, 100);
	assert_int_equal(busy, 0);
	pa.p = p;
	pa.ready = 2;
	pa.not_pid = pids[0];
	assert_true(run_until(pool_ready, &pa, 20));
	signer_pool_stats(p, &st);
	assert_int_equal(st.restarts, 1);
	assert_int_equal(st.ready, 2);
	assert_true(st.retried > 0);
	assert_false(process_exists(pids[0]));
	/* Both answer again. */
	for (int i = 0; i < 4; i++) {
		mint_wait(p, "acme", EMAIL, &o[0]);
		assert_int_equal(o[0].status, SIGNER_OK);
		outcome_clear(&o[0]);
	}
	pids_of(p, pids, MAX_PIDS);
	pool_free_check(p);
}

static bool
pid_gone(void *arg)
{
	return !process_exists(*(pid_t *)arg);
}

/*
 * A hung signer (stopped) is killed after request_timeout and its requests
 * go to the other one; a long queue whose answers keep coming is not a
 * hang, although the last request waits longer than the timeout.
 */
static void
test_request_timeout(void **state)
{
	struct signer_pool	*p = pool_new_timeout(2, 64, 0.5);
	struct signer_pool_stats st;
	struct outcome		*o = xcalloc(600, sizeof(*o));
	struct burst		 b = { o, 20 };
	enum signer_status	 refusal;
	pid_t			 pids[MAX_PIDS];

	pids_of(p, pids, MAX_PIDS);
	assert_int_equal(kill(pids[0], SIGSTOP), 0);
	for (size_t i = 0; i < b.n; i++)
		assert_non_null(signer_pool_mint(p, "acme", EMAIL, on_result,
		    &o[i], &refusal));
	assert_true(run_until(all_answered, &b, 20));
	for (size_t i = 0; i < b.n; i++) {
		assert_int_equal(o[i].status, SIGNER_OK);
		outcome_clear(&o[i]);
	}
	signer_pool_stats(p, &st);
	assert_true(st.retried > 0);
	/* The stopped signer was killed and reaped. */
	assert_true(run_until(pid_gone, &pids[0], 10));
	pids_of(p, pids, MAX_PIDS);
	pool_free_check(p);

	/* 600 mints on one signer take longer than 0.1 s, each far less. */
	p = pool_new_timeout(1, 600, 0.1);
	b.n = 600;
	for (size_t i = 0; i < b.n; i++)
		assert_non_null(signer_pool_mint(p, "acme", EMAIL, on_result,
		    &o[i], &refusal));
	assert_true(run_until(all_answered, &b, 60));
	signer_pool_stats(p, &st);
	assert_int_equal(st.ok, 600);
	assert_int_equal(st.restarts, 0);
	assert_true(st.latency_sum / (double)st.latency_count > 0.1 / 4);
	for (size_t i = 0; i < b.n; i++)
		outcome_clear(&o[i]);
	free(o);
	pids_of(p, pids, MAX_PIDS);
	pool_free_check(p);
}

/* Full queues answer busy at once; a lone signer's death answers busy. */
static void
test_busy(void **state)
{
	struct signer_pool	*p = pool_new(1, 2);
	struct signer_pool_stats st;
	struct outcome		 o[3];
	struct burst		 b = { o, 2 };
	enum signer_status	 refusal = SIGNER_OK;
	struct pool_arg		 pa;
	pid_t			 pids[MAX_PIDS];

	memset(o, 0, sizeof(o));
	assert_non_null(signer_pool_mint(p, "acme", EMAIL, on_result, &o[0], &refusal));
	assert_non_null(signer_pool_mint(p, "acme", EMAIL, on_result, &o[1], &refusal));
	assert_null(signer_pool_mint(p, "acme", EMAIL, on_result, &o[2], &refusal));
	assert_int_equal(refusal, SIGNER_BUSY);
	signer_pool_stats(p, &st);
	assert_int_equal(st.queue_depth, 2);
	assert_int_equal(st.busy, 1);
	assert_true(run_until(all_answered, &b, 20));
	assert_int_equal(o[0].status, SIGNER_OK);
	assert_int_equal(o[1].status, SIGNER_OK);
	assert_false(o[2].done);
	outcome_clear(&o[0]);
	outcome_clear(&o[1]);

	/* Too long for the wire: refused, never queued. */
	char long_tenant[NAME_MAX_LEN + 2];
	memset(long_tenant, 'a', sizeof(long_tenant) - 1);
	long_tenant[sizeof(long_tenant) - 1] = '\0';
	assert_null(signer_pool_mint(p, long_tenant, EMAIL, on_result, &o[0], &refusal));
	assert_int_equal(refusal, SIGNER_FAILED);

	/* The only signer dies with requests queued: busy, and it comes back. */
	pids_of(p, pids, MAX_PIDS);
	assert_non_null(signer_pool_mint(p, "acme", EMAIL, on_result, &o[0], &refusal));
	assert_non_null(signer_pool_mint(p, "acme", EMAIL, on_result, &o[1], &refusal));
	kill(pids[0], SIGKILL);
	assert_true(run_until(all_answered, &b, 20));
	for (int i = 0; i < 2; i++) {
		assert_true(o[i].status == SIGNER_OK || o[i].status == SIGNER_BUSY);
		outcome_clear(&o[i]);
	}
	/* While it is down, every mint is busy at once. */
	pa.p = p;
	pa.ready = 1;
	pa.not_pid = pids[0];
	assert_true(run_until(pool_ready, &pa, 20));
	mint_wait(p, "acme", EMAIL, &o[0]);
	assert_int_equal(o[0].status, SIGNER_OK);
	outcome_clear(&o[0]);
	pids_of(p, pids, MAX_PIDS);
	pool_free_check(p);
}

/* A canceled request's callback never runs; the others' do. */
static void
test_cancel(void **state)
{
	struct signer_pool	*p = pool_new(1, 64);
	struct signer_pool_stats st;
	struct signer_request	*h[20];
	struct outcome		 o[20];
	enum signer_status	 refusal;
	double			 until;

	memset(o, 0, sizeof(o));
	for (int i = 0; i < 20; i++)
		assert_non_null(h[i] = signer_pool_mint(p, "acme", EMAIL,
		    on_result, &o[i], &refusal));
	/* Some sent already, some waiting: cancel every other one. */
	for (int i = 0; i < 20; i += 2)
		signer_pool_cancel(p, h[i]);
	until = mono() + 20;
	do {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		signer_pool_stats(p, &st);
	} while (st.queue_depth > 0 && mono() < until);
	assert_int_equal(st.queue_depth, 0);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(o[i].calls, i % 2 ? 1 : 0);
		outcome_clear(&o[i]);
	}
	assert_int_equal(st.canceled, 10);
	assert_int_equal(st.ok, 10);
	/* Cancel from inside another callback is allowed too (nothing to
	 * check beyond no crash and no call). */
	pool_free_check(p);
}

/*
 * Each tenant's share: with one signer of 4 and two tenants, the fair part
 * is 2.  acme may fill the queue while there is room, but not beyond it;
 * globex, below its fair part, still queues (beyond the bound) and is
 * refused only at its fair part.  A tenant alone has all of it.
 */
static void
test_tenant_share(void **state)
{
	struct signer_pool	*p = pool_new(1, 4);
	struct signer_pool_stats st;
	struct outcome		 o[8];
	struct burst		 b = { o, 6 };
	enum signer_status	 refusal = SIGNER_OK;

	memset(o, 0, sizeof(o));
	signer_pool_set_tenants(p, 2);
	for (int i = 0; i < 4; i++)
		assert_non_null(signer_pool_mint(p, "acme", EMAIL, on_result, &o[i],
		    &refusal));
	assert_null(signer_pool_mint(p, "acme", EMAIL, on_result, &o[7], &refusal));
	assert_int_equal(refusal, SIGNER_BUSY);
	for (int i = 4; i < 6; i++)
		assert_non_null(signer_pool_mint(p, "globex", EMAIL, on_result, &o[i],
		    &refusal));
	refusal = SIGNER_OK;
	assert_null(signer_pool_mint(p, "globex", EMAIL, on_result, &o[7], &refusal));
	assert_int_equal(refusal, SIGNER_BUSY);
	signer_pool_stats(p, &st);
	assert_int_equal(st.queue_depth, 6);
	assert_int_equal(st.busy, 2);
	assert_true(run_until(all_answered, &b, 20));
	for (int i = 0; i < 6; i++) {
		assert_int_equal(o[i].status, SIGNER_OK);
		outcome_clear(&o[i]);
	}
	assert_false(o[7].done);

	/* Alone, a tenant's fair part is the whole queue, and no more. */
	signer_pool_set_tenants(p, 1);
	b.n = 4;
	for (int i = 0; i < 4; i++)
		assert_non_null(signer_pool_mint(p, "globex", EMAIL, on_result, &o[i],
		    &refusal));
	assert_null(signer_pool_mint(p, "globex", EMAIL, on_result, &o[7], &refusal));
	assert_true(run_until(all_answered, &b, 20));
	for (int i = 0; i < 4; i++)
		outcome_clear(&o[i]);
	pool_free_check(p);
}

/*
 * Canceled before a signer saw them: at most SIGNER_IN_FLIGHT requests
 * are sent to a signer, so the rest of a queue is dropped unsigned (only
 * the sent ones are answered at all).
 */
static void
test_cancel_unsent(void **state)
{
	struct signer_pool	*p = pool_new(1, 64);
	struct signer_pool_stats st;
	struct signer_request	*h[10];
	struct outcome		 o[10];
	enum signer_status	 refusal;
	double			 until;

	memset(o, 0, sizeof(o));
	for (int i = 0; i < 10; i++)
		assert_non_null(h[i] = signer_pool_mint(p, "acme", EMAIL, on_result,
		    &o[i], &refusal));
	for (int i = 2; i < 10; i++)
		signer_pool_cancel(p, h[i]);
	signer_pool_stats(p, &st);
	assert_int_equal(st.canceled, 8);
	assert_int_equal(st.canceled_unsent, 8);
	assert_int_equal(st.queue_depth, 2);
	until = mono() + 20;
	do {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		signer_pool_stats(p, &st);
	} while (st.queue_depth > 0 && mono() < until);
	assert_int_equal(st.ok, 2);
	assert_int_equal(st.latency_count, 2);	/* answers received: 2 */
	for (int i = 0; i < 10; i++) {
		assert_int_equal(o[i].calls, i < 2 ? 1 : 0);
		outcome_clear(&o[i]);
	}
	pool_free_check(p);
}

/* Reload: changed keys take effect, unchanged stay; a bad one changes nothing. */
static void
test_reload(void **state)
{
	struct signer_pool	*p = pool_new(2, 0);
	struct signer_pool_stats st;
	struct outcome		 o, pending;
	enum signer_status	 refusal;
	pid_t			 old[MAX_PIDS], now_pids[MAX_PIDS];
	char			 err[1024];
	size_t			 n_old = pids_of(p, old, MAX_PIDS);
	double			 until;

	mint_wait(p, "globex", EMAIL, &o);
	assert_int_equal(verify_b64(o.b64, "vendor-traditional", EMAIL), 0);
	outcome_clear(&o);

	/* globex gets acme's key; acme is unchanged.  A mint sent before the
	 * reload is answered by the old generation. */
	write_tenant("globex", "vendor-pkcs8", NULL);
	memset(&pending, 0, sizeof(pending));
	assert_non_null(signer_pool_mint(p, "globex", EMAIL, on_result,
	    &pending, &refusal));
	assert_int_equal(signer_pool_reload(p, NULL, err, sizeof(err)), 0);
	assert_true(run_until(is_done, &pending, 20));
	assert_int_equal(pending.status, SIGNER_OK);
	outcome_clear(&pending);
	mint_wait(p, "globex", EMAIL, &o);
	assert_int_equal(verify_b64(o.b64, "vendor-pkcs8", EMAIL), 0);
	assert_int_not_equal(verify_b64(o.b64, "vendor-traditional", EMAIL), 0);
	outcome_clear(&o);
	mint_wait(p, "acme", EMAIL, &o);
	assert_int_equal(verify_b64(o.b64, "vendor-pkcs8", EMAIL), 0);
	outcome_clear(&o);

	/* The old generation drains and is gone, cleanly. */
	until = mono() + 20;
	do {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		signer_pool_stats(p, &st);
	} while ((st.draining > 0 || process_exists(old[0]) ||
	    process_exists(old[1])) && mono() < until);
	assert_int_equal(st.draining, 0);
	assert_int_equal(st.generation, 2);
	for (size_t i = 0; i < n_old; i++)
		assert_false(process_exists(old[i]));
	assert_int_equal(pids_of(p, now_pids, MAX_PIDS), 2);

	/* A wrong password: the reload fails and says why; the running
	 * generation keeps serving. */
	write_tenant("globex", "vendor-pkcs8", "not-the-password");
	assert_int_equal(signer_pool_reload(p, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "globex.cfg: [saml] password: wrong password for pkey"));
	assert_null(strstr(err, "not-the-password"));
	mint_wait(p, "globex", EMAIL, &o);
	assert_int_equal(verify_b64(o.b64, "vendor-pkcs8", EMAIL), 0);
	outcome_clear(&o);
	signer_pool_stats(p, &st);
	assert_int_equal(st.generation, 2);
	assert_int_equal(st.unclean_exits, 0);
	write_tenant("globex", "vendor-traditional", NULL);

	/* A configuration that does not exist fails the same way. */
	assert_int_equal(signer_pool_reload(p, "/nonexistent/samlbroker.conf", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/samlbroker.conf"));
	pool_free_check(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mint_and_verify),
		cmocka_unit_test(test_kill_during_burst),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_request_timeout),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_tenant_share),
		cmocka_unit_test(test_cancel_unsent),
		cmocka_unit_test(test_reload),
	};

	log_init(LOG_LEVEL_ERROR, "test_signer");
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("signer pool", tests, fixture_setup,
	    fixture_teardown);
}
