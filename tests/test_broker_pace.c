/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_broker_pace.c - unit tests for src/front/broker_pace.c: how an
 * organization's rate is learned from 429s (first cut, one cut per round
 * trip, the measured rate, the step down, the raise, the pause), the
 * bucket, the queues served in turn with the retries first and reused by
 * the tenants that come and go, and the
 * estimate a caller's Retry-After comes from.  Time is an argument: no
 * loop, no clock.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "samlbroker.h"

#define NEAR(a, b)	assert_true(fabs((a) - (b)) < 1e-6)

static struct pace *
pace_new0(void)
{
	struct pace	*p = malloc(sizeof(*p));

	assert_non_null(p);
	pace_init(p);
	return p;
}

/* n requests reach the endpoint evenly from t to t + span. */
static void
sends(struct pace *p, double t, double span, int n)
{
	for (int i = 0; i < n; i++)
		pace_sent(p, t + span * i / n);
}

/* n answers other than 429, evenly from t to t + span. */
static void
oks(struct pace *p, double t, double span, int n)
{
	for (int i = 0; i < n; i++)
		pace_answered(p, t + span * i / n, t + span * i / n - 0.15, false, 0);
}

/* Nothing learned: a window of requests at once, one more per answer. */
static void
test_window(void **state)
{
	struct pace	*p = pace_new0();

	for (int i = 0; i < PACE_START_WINDOW; i++) {
		assert_true(pace_may_send(p, 100));
		pace_take(p, 100);
	}
	assert_false(pace_may_send(p, 100));
	NEAR(pace_next_send(p, 100), -1);	/* when one ends */
	pace_release(p);			/* one ended unanswered */
	assert_true(pace_may_send(p, 100));
	pace_take(p, 100);
	pace_release(p);
	pace_answered(p, 100.2, 100, false, 0);	/* one answered: 9 */
	pace_take(p, 100.2);			/* 8 in flight */
	assert_true(pace_may_send(p, 100.2));
	pace_take(p, 100.2);
	assert_false(pace_may_send(p, 100.2));
	/* Time alone changes nothing. */
	assert_false(pace_may_send(p, 1000));
	free(p);
}

/* The first 429: PACE_FIRST_CUT times the rate requests went at. */
static void
test_first_cut(void **state)
{
	struct pace	*p = pace_new0();

	sends(p, 100, 0.2, 20);		/* 100 a second */
	pace_answered(p, 100.25, 100.1, true, 1);
	NEAR(p->rate, PACE_FIRST_CUT * 20 / 0.25);	/* over 0.25 s */
	assert_int_equal(p->limited, 1);
	/* The bucket is empty: the next request waits a request's time. */
	assert_false(pace_may_send(p, 100.25));
	NEAR(pace_next_send(p, 100.25), 100.25 + 1 / p->rate);
	free(p);
}

/* 429s for requests sent before the cut tell nothing new. */
static void
test_one_cut_per_round_trip(void **state)
{
	struct pace	*p = pace_new0();
	double		 r;

	sends(p, 100, 0.2, 20);
	pace_answered(p, 100.25, 100.1, true, 1);
	r = p->rate;
	pace_answered(p, 100.26, 100.2, true, 1);
	pace_answered(p, 100.27, 100.24, true, 1);
	NEAR(p->rate, r);
	assert_int_equal(p->limited, 3);
	assert_int_equal(p->limited_in_row, 1);
	/* One sent soon after the cut: nothing measured yet. */
	pace_answered(p, 100.45, 100.3, true, 1);
	NEAR(p->rate, r);
	/* One sent PACE_SPAN_MIN after it: down again. */
	pace_answered(p, 100.7, 100.55, true, 1);
	assert_true(p->rate < r);
	free(p);
}

/* More requests went than were let through: the answers of the last
 * second are what the endpoint lets through, and the raises stop there. */
static void
test_measured_cut(void **state)
{
	struct pace	*p = pace_new0();

	p->rate = 150;
	p->last_cut = 0;
	sends(p, 100, 2, 300);		/* 150 a second */
	oks(p, 100.005, 2, 200);	/* 100 a second let through */
	pace_answered(p, 102, 101.9, true, 1);
	NEAR(p->rate, PACE_MEASURED * 100);
	NEAR(p->ceiling, PACE_CEILING * 100);
	{
		struct pace_item it;

		pace_hold(p, &it, "acme");
		pace_push(p, &it, false, 0);
		oks(p, 103, 0.5, 10);
		NEAR(p->rate, PACE_CEILING * 100);	/* raised to the ceiling */
		oks(p, 102.1 + PACE_PROBE_SEC, 0.5, 10);
		assert_true(p->rate > PACE_CEILING * 100);	/* probing again */
	}
	free(p);
}

/* No more requests than were let through (the exchanges' own start, few
 * callers): a step down, not the low rate the answers came at. */
static void
test_unsaturated_cut(void **state)
{
	struct pace	*p = pace_new0();

	p->rate = 150;
	sends(p, 100, 2, 100);		/* 50 a second, all let through */
	oks(p, 100.1, 2, 100);
	pace_answered(p, 102, 101.9, true, 1);
	NEAR(p->rate, 150 * PACE_CUT);
	free(p);
}

/* PACE_RAISE_SEC of answers without 429 while exchanges queue: up, by a
 * step that doubles. */
static void
test_raise(void **state)
{
	struct pace		*p = pace_new0();
	struct pace_item	 it;

	pace_hold(p, &it, "acme");
	p->rate = 100;
	p->last_raise = 100;
	pace_answered(p, 100.5, 100.3, false, 0);
	NEAR(p->rate, 100);		/* nothing queued */
	pace_push(p, &it, false, 0);
	pace_answered(p, 100.5 + PACE_RAISE_SEC - 0.1, 100.2, false, 0);
	NEAR(p->rate, 100);		/* not PACE_RAISE_SEC since the last */
	pace_answered(p, 100.5 + PACE_RAISE_SEC, 100.4, false, 0);
	NEAR(p->rate, 100 * (1 + PACE_INCREASE));
	pace_answered(p, 100.5 + 2 * PACE_RAISE_SEC, 100.9, false, 0);
	NEAR(p->rate, 100 * (1 + PACE_INCREASE) * (1 + 2 * PACE_INCREASE));
	free(p);
}

/* A run of cuts with no other answer between: stop until Retry-After. */
static void
test_pause(void **state)
{
	struct pace	*p = pace_new0();

	p->rate = 100;
	pace_answered(p, 100, 99.9, true, 5);
	pace_answered(p, 101, 100.9, true, 5);
	pace_answered(p, 102, 101.9, true, 5);
	assert_int_equal(p->limited_in_row, PACE_PAUSE_AFTER);
	NEAR(p->pause_until, 107);
	assert_false(pace_may_send(p, 106));
	NEAR(pace_next_send(p, 103), 107);
	/* An answer other than 429 ends the run. */
	pace_answered(p, 108, 107.9, false, 0);
	assert_int_equal(p->limited_in_row, 0);
	free(p);
}

/* The bucket: PACE_BURST_SEC of requests at most, then one a 1/rate. */
static void
test_bucket(void **state)
{
	struct pace	*p = pace_new0();
	int		 n = 0;

	p->rate = 100;
	p->tokens = 0;
	p->tokens_at = 100;
	while (pace_may_send(p, 110)) {
		pace_take(p, 110);
		n++;
	}
	assert_int_equal(n, (int)(100 * PACE_BURST_SEC));
	NEAR(pace_next_send(p, 110), 110.01);
	assert_true(pace_may_send(p, 110.0101));
	free(p);
}

static bool
all_may(const char *tenant, void *arg)
{
	return true;
}

static bool
not_beta(const char *tenant, void *arg)
{
	return strcmp(tenant, "beta") != 0;
}

/* Tenants in turn; a tenant whose slots are full is passed over. */
static void
test_round_robin(void **state)
{
	struct pace		*p = pace_new0();
	struct pace_item	 a[3], b[2];
	struct pace_item	*want[] = { &a[0], &b[0], &a[1], &b[1], &a[2] };

	for (int i = 0; i < 3; i++)
		pace_hold(p, &a[i], "acme");
	for (int i = 0; i < 2; i++)
		pace_hold(p, &b[i], "beta");
	assert_int_equal(a[2].queue, 0);
	assert_int_equal(b[1].queue, 1);
	for (int i = 0; i < 3; i++)
		pace_push(p, &a[i], false, 0);
	for (int i = 0; i < 2; i++)
		pace_push(p, &b[i], false, 0);
	assert_int_equal(p->queued, 5);
	for (size_t i = 0; i < 5; i++)
		assert_ptr_equal(pace_pop(p, 100, all_may, NULL), want[i]);
	assert_null(pace_pop(p, 100, all_may, NULL));
	assert_int_equal(p->queued, 0);

	/* beta's slots are full: acme's go, beta's wait. */
	pace_push(p, &b[0], false, 0);
	pace_push(p, &a[0], false, 0);
	assert_ptr_equal(pace_pop(p, 100, not_beta, NULL), &a[0]);
	assert_null(pace_pop(p, 100, not_beta, NULL));
	assert_ptr_equal(pace_pop(p, 100, all_may, NULL), &b[0]);
	free(p);
}

/* A retry goes first once its Retry-After has passed. */
static void
test_retry_first(void **state)
{
	struct pace		*p = pace_new0();
	struct pace_item	 a, r;

	pace_hold(p, &a, "acme");
	pace_hold(p, &r, "acme");
	pace_push(p, &a, false, 0);
	pace_push(p, &r, true, 101);
	assert_ptr_equal(pace_pop(p, 100.5, all_may, NULL), &a);
	assert_null(pace_pop(p, 100.5, all_may, NULL));
	assert_ptr_equal(pace_pop(p, 101, all_may, NULL), &r);
	/* Removed while queued (its caller's tenant went away). */
	pace_push(p, &a, false, 0);
	pace_remove(p, &a);
	assert_false(a.queued);
	assert_int_equal(p->queued, 0);
	assert_null(pace_pop(p, 200, all_may, NULL));
	free(p);
}

/* The estimate: those ahead in turn, at the rate, plus an answer's time. */
static void
test_eta(void **state)
{
	struct pace		*p = pace_new0();
	struct pace_item	 a[3], b, r;

	for (int i = 0; i < 3; i++)
		pace_hold(p, &a[i], "acme");
	pace_hold(p, &b, "beta");
	pace_hold(p, &r, "beta");
	p->rate = 10;
	p->latency = 0.5;
	for (int i = 0; i < 3; i++)
		pace_push(p, &a[i], false, 0);
	pace_push(p, &b, false, 0);
	/* Another tenant's next one may go first. */
	NEAR(pace_eta(p, &a[0], 100, 0), 2 / 10.0 + 0.5);
	NEAR(pace_eta(p, &b, 100, 0), 2 / 10.0 + 0.5);
	/* a[2]: a[0], a[1] and b go first. */
	NEAR(pace_eta(p, &a[2], 100, 0), 4 / 10.0 + 0.5);
	/* A retry goes before everyone, not before its time. */
	pace_push(p, &r, true, 103);
	NEAR(pace_eta(p, &a[0], 100, 0), 3 / 10.0 + 0.5);
	NEAR(pace_eta(p, &r, 100, 0), 3 + 1 / 10.0 + 0.5);
	/* Nothing learned: the fallback rate. */
	p->rate = 0;
	NEAR(pace_eta(p, &b, 100, 4), 3 / 4.0 + 0.5);
	/* A pause comes first. */
	p->rate = 10;
	p->pause_until = 110;
	NEAR(pace_eta(p, &a[0], 100, 0), 10 + 3 / 10.0 + 0.5);
	free(p);
}

static const char *asked;	/* the tenant may_start was last asked about */

static bool
record_may(const char *tenant, void *arg)
{
	asked = tenant;
	return true;
}

/* A queue is its tenant's while an item holds it, then the next tenant's:
 * tenants that come and go never use the queues up; more tenants in
 * flight at once than there are queues share one, still paced. */
static void
test_queue_reuse(void **state)
{
	struct pace		*p = pace_new0();
	static struct pace_item	 held[PACE_QUEUES_MAX];
	static char		 names[PACE_QUEUES_MAX][16];
	struct pace_item	 more, it;
	char			 name[32];

	for (int i = 0; i < PACE_QUEUES_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "t%d", i);
		pace_hold(p, &held[i], names[i]);
		assert_int_equal(held[i].queue, i);
	}
	/* One more tenant while every queue is held: shared, and paced. */
	pace_hold(p, &more, "one-more");
	assert_int_equal(p->n_queues, PACE_QUEUES_MAX);
	p->rate = 10;
	p->tokens = 0;
	p->tokens_at = 100;
	pace_push(p, &more, false, 0);
	assert_int_equal(p->queued, 1);
	assert_false(pace_may_send(p, 100));
	assert_true(pace_may_send(p, 100.2));
	assert_ptr_equal(pace_pop(p, 100.2, record_may, NULL), &more);
	assert_string_equal(asked, "one-more");	/* its own tenant's slots */
	pace_unhold(p, &more);

	/* t5's exchange ends: its queue goes to the next new tenant. */
	pace_unhold(p, &held[5]);
	pace_hold(p, &it, "newcomer");
	assert_int_equal(it.queue, 5);
	assert_string_equal(p->queues[5].tenant, "newcomer");
	pace_unhold(p, &it);
	/* A tenant held again finds its queue. */
	pace_hold(p, &it, "t7");
	assert_int_equal(it.queue, 7);
	pace_unhold(p, &it);

	/* Every one of them gone (a reload): a thousand tenants after them,
	 * each in a queue of its own. */
	for (int i = 0; i < PACE_QUEUES_MAX; i++)
		if (i != 5)
			pace_unhold(p, &held[i]);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "later%d", i);
		pace_hold(p, &it, name);
		assert_string_equal(p->queues[it.queue].tenant, name);
		assert_int_equal(p->queues[it.queue].held, 1);
		pace_push(p, &it, false, 0);
		assert_ptr_equal(pace_pop(p, 200 + i, record_may, NULL), &it);
		pace_unhold(p, &it);
	}
	assert_int_equal(p->n_queues, PACE_QUEUES_MAX);
	/* Unheld while queued: out of the queue too. */
	pace_hold(p, &it, "acme");
	pace_push(p, &it, false, 0);
	pace_unhold(p, &it);
	assert_int_equal(p->queued, 0);
	assert_int_equal(p->queues[it.queue].held, 0);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_first_cut),
		cmocka_unit_test(test_one_cut_per_round_trip),
		cmocka_unit_test(test_measured_cut),
		cmocka_unit_test(test_unsaturated_cut),
		cmocka_unit_test(test_raise),
		cmocka_unit_test(test_pause),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_round_robin),
		cmocka_unit_test(test_retry_first),
		cmocka_unit_test(test_eta),
		cmocka_unit_test(test_queue_reuse),
	};

	return cmocka_run_group_tests_name("broker pace", tests, NULL, NULL);
}
