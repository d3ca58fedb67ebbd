/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broker_pace.c - the pace of one organization's token endpoint: how many
 * requests a second it allows, learned from its answers, and the queues of
 * exchanges waiting for their turn.
 *
 * The rate is not published (see PURECLOUD.md), so it is learned: before
 * any 429, requests go as a window of PACE_START_WINDOW at a time that
 * grows by one with each answer (doubling each round trip, so that a
 * restart's storm does not hit the endpoint all at once); the first 429
 * sets the rate to PACE_FIRST_CUT times the rate requests were going at
 * over the last round trip; each
 * later 429 for a request sent PACE_SPAN_MIN or more after the last cut
 * lowers it to PACE_MEASURED times the rate answers came at in the last
 * second or since the last cut if sooner (what the endpoint let through)
 * when more requests went than were let through in that time, else to
 * PACE_CUT times itself; each PACE_RAISE_SEC of
 * answers without a 429, while exchanges queue, raises it by a step that
 * starts at PACE_INCREASE of itself, doubles each time (up to
 * PACE_INCREASE_MAX) and starts again at each cut, but not above
 * PACE_CEILING times the last rate measured for PACE_PROBE_SEC after it.  Once learned, requests
 * go from a token bucket of PACE_BURST_SEC's
 * worth at that rate.  A request refused with 429 is retried after its
 * Retry-After; PACE_PAUSE_AFTER cuts in a row (without an answer other than
 * 429 between them) stop every request until the last Retry-After has
 * passed.
 *
 * Queues: one FIFO per tenant of the organization, served in turn (so no
 * tenant's crowd starves another's), and the retry list first.  A queue is
 * a tenant's while one of its exchanges holds it (queued or running), then
 * free for the next tenant: tenants that come and go on reloads do not use
 * them up.  More tenants in flight at once than PACE_QUEUES_MAX share
 * queues: less fair, never unpaced.
 *
 * Pure: time is an argument; no clock, no allocation, no I/O.  The timer
 * and the exchanges are broker_exchange.c's; tests/test_broker_pace.c walks
 * the rules.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "samlbroker.h"

void
pace_init(struct pace *p)
{
	memset(p, 0, sizeof(*p));
	p->latency = 0.5;
	p->window = PACE_START_WINDOW;
	p->raise = PACE_INCREASE;
}

void
pace_hold(struct pace *p, struct pace_item *it, const char *tenant)
{
	size_t	 i, free_i = p->n_queues, least = 0;

	for (i = 0; i < p->n_queues; i++) {
		if (strcmp(p->queues[i].tenant, tenant) == 0)
			break;
		if (p->queues[i].held == 0 && free_i == p->n_queues)
			free_i = i;
		if (p->queues[i].held < p->queues[least].held)
			least = i;
	}
	if (i == p->n_queues) {
		if (free_i == p->n_queues && p->n_queues < PACE_QUEUES_MAX)
			free_i = p->n_queues++;
		if (free_i < p->n_queues) {
			/* Bound to nothing: empty, its order kept. */
			i = free_i;
			snprintf(p->queues[i].tenant, sizeof(p->queues[i].tenant),
			    "%s", tenant);
		} else
			i = least;	/* every queue in flight: shared */
	}
	p->queues[i].held++;
	memset(it, 0, sizeof(*it));
	it->queue = i;
	it->tenant = tenant;
}

void
pace_unhold(struct pace *p, struct pace_item *it)
{
	struct pace_queue *q = &p->queues[it->queue];

	pace_remove(p, it);
	if (q->held > 0)
		q->held--;
}

static double
burst(const struct pace *p)
{
	return fmax(1.0, p->rate * PACE_BURST_SEC);
}

static void
refill(struct pace *p, double now)
{
	if (p->rate <= 0)
		return;
	if (now > p->tokens_at)
		p->tokens = fmin(burst(p), p->tokens + (now - p->tokens_at) * p->rate);
	p->tokens_at = now;
}

bool
pace_may_send(struct pace *p, double now)
{
	if (now < p->pause_until)
		return false;
	if (p->rate <= 0)
		return (double)p->in_flight < p->window;
	refill(p, now);
	return p->tokens >= 1.0;
}

double
pace_next_send(struct pace *p, double now)
{
	double	 t = now;

	if (p->rate <= 0) {
		if ((double)p->in_flight >= p->window)
			return -1;	/* when one ends */
	} else {
		refill(p, now);
		if (p->tokens < 1.0)
			t = now + (1.0 - p->tokens) / p->rate;
	}
	return fmax(t, p->pause_until);
}

static void
ring_add(struct pace_ring *r, double t)
{
	r->t[r->next] = t;
	r->next = (r->next + 1) % PACE_RING;
	if (r->n < PACE_RING)
		r->n++;
}

/* Events in (now - window, now], a second at most, and the oldest one. */
static size_t
ring_count(const struct pace_ring *r, double now, double window, double *oldest)
{
	size_t	 n = 0;

	*oldest = now;
	for (size_t k = 1; k <= r->n; k++) {
		double t = r->t[(r->next + PACE_RING - k) % PACE_RING];

		if (t <= now - window)
			break;
		if (t > now)
			continue;	/* after the moment asked about */
		*oldest = t;
		n++;
	}
	return n;
}

void
pace_take(struct pace *p, double now)
{
	refill(p, now);
	if (p->rate > 0)
		p->tokens = fmax(0.0, p->tokens - 1.0);
	p->in_flight++;
}

void
pace_release(struct pace *p)
{
	if (p->in_flight > 0)
		p->in_flight--;
}

void
pace_sent(struct pace *p, double now)
{
	ring_add(&p->sent, now);
}

/* A 429 for a request sent after the last cut: the rate goes down. */
static void
cut(struct pace *p, double now, double sent_at)
{
	double	 oldest, span, sent_rate, ok_rate;
	size_t	 n, sent;

	if (p->rate <= 0) {
		/* The rate requests went at over the last round trip. */
		span = fmin(1.0, fmax(0.1, p->latency));
		n = ring_count(&p->sent, now, span, &oldest);
		sent_rate = (double)n / fmax(fmin(span, now - oldest), 0.05);
		p->rate = PACE_FIRST_CUT * sent_rate;
	} else {
		/* Requests went at the pace for the second before this one
		 * (not fewer: the exchanges' own start, few callers): the
		 * answers of the last second are what the endpoint let
		 * through.  Else a step down. */
		span = fmin(1.0, sent_at - p->last_cut);
		sent = ring_count(&p->sent, sent_at, span, &oldest);
		n = ring_count(&p->answered, now, span, &oldest);
		ok_rate = (double)n / span;
		if (p->answered.n > n && ok_rate > 0 && sent > n) {
			p->rate = PACE_MEASURED * fmin(p->rate, ok_rate);
			p->ceiling = ok_rate * PACE_CEILING;
		} else
			p->rate *= PACE_CUT;
	}
	p->rate = fmax(p->rate, PACE_RATE_MIN);
	p->tokens = 0;
	p->tokens_at = now;
	p->last_cut = p->last_raise = now;
	p->raise = PACE_INCREASE;
}

void
pace_answered(struct pace *p, double now, double sent_at, bool limited,
    double retry_after)
{
	if (now >= sent_at)
		p->latency = 0.8 * p->latency + 0.2 * (now - sent_at);
	if (!limited) {
		p->limited_in_row = 0;
		if (p->rate <= 0)
			p->window += 1;	/* doubles each round trip */
		ring_add(&p->answered, now);
		if (p->rate > 0 && p->queued > 0 &&
		    now - p->last_raise >= PACE_RAISE_SEC) {
			double up = p->rate + fmax(0.5, p->rate * p->raise);

			/* Below what was measured, until it is time to probe. */
			if (p->ceiling > 0 && now - p->last_cut < PACE_PROBE_SEC)
				up = fmax(p->rate, fmin(up, p->ceiling));
			p->rate = up;
			p->raise = fmin(PACE_INCREASE_MAX, p->raise * 2);
			p->last_raise = now;
		}
		if (p->queued == 0)
			p->last_raise = now;
		return;
	}
	p->limited++;
	/* Requests sent before the last cut, or too soon after it to have
	 * measured what the endpoint lets through, tell nothing new. */
	if (p->rate > 0 && sent_at < p->last_cut + PACE_SPAN_MIN)
		return;
	p->limited_in_row++;
	cut(p, now, sent_at);
	if (p->limited_in_row >= PACE_PAUSE_AFTER && retry_after > 0)
		p->pause_until = fmax(p->pause_until, now +
		    fmin(retry_after, PACE_PAUSE_MAX));
}

static void
list_append(struct pace_item **head, struct pace_item **tail,
    struct pace_item *it)
{
	it->next = NULL;
	it->prev = *tail;
	if (*tail != NULL)
		(*tail)->next = it;
	else
		*head = it;
	*tail = it;
}

static void
list_unlink(struct pace_item **head, struct pace_item **tail,
    struct pace_item *it)
{
	if (it->prev != NULL)
		it->prev->next = it->next;
	else
		*head = it->next;
	if (it->next != NULL)
		it->next->prev = it->prev;
	else
		*tail = it->prev;
	it->prev = it->next = NULL;
}

void
pace_push(struct pace *p, struct pace_item *it, bool retry, double not_before)
{
	struct pace_queue *q = &p->queues[it->queue];

	it->not_before = not_before;
	it->queued = true;
	it->retry = retry;
	if (retry) {
		/* Retry-After is about the same for each: kept in order of it. */
		list_append(&p->retry_head, &p->retry_tail, it);
	} else {
		it->seq = q->next_seq++;
		list_append(&q->head, &q->tail, it);
		q->len++;
	}
	p->queued++;
}

void
pace_remove(struct pace *p, struct pace_item *it)
{
	struct pace_queue *q = &p->queues[it->queue];

	if (!it->queued)
		return;
	if (it->retry)
		list_unlink(&p->retry_head, &p->retry_tail, it);
	else {
		list_unlink(&q->head, &q->tail, it);
		q->len--;
	}
	it->queued = false;
	p->queued--;
}

struct pace_item *
pace_pop(struct pace *p, double now,
    bool (*may_start)(const char *tenant, void *), void *arg)
{
	struct pace_item *it;

	for (it = p->retry_head; it != NULL; it = it->next) {
		if (it->not_before > now)
			break;
		if (may_start(it->tenant, arg)) {
			pace_remove(p, it);
			return it;
		}
	}
	for (size_t k = 0; k < p->n_queues; k++) {
		size_t		 i = (p->rr + k) % p->n_queues;
		struct pace_queue *q = &p->queues[i];

		if (q->head == NULL || !may_start(q->head->tenant, arg))
			continue;
		it = q->head;
		pace_remove(p, it);
		p->rr = (i + 1) % p->n_queues;
		return it;
	}
	return NULL;
}

double
pace_eta(const struct pace *p, const struct pace_item *it, double now,
    double fallback_rate)
{
	double	 rate = p->rate > 0 ? p->rate : fallback_rate, ahead = 0, start;

	if (rate <= 0)
		rate = 1;
	start = fmax(now, p->pause_until);
	if (!it->queued)
		return p->latency;
	if (it->retry) {
		for (const struct pace_item *o = p->retry_head; o != it; o = o->next)
			ahead++;
		start = fmax(start, it->not_before);
	} else {
		int64_t	 k = it->seq - p->queues[it->queue].head->seq;

		/* Served in turn: up to k + 1 from each queue, the retries first. */
		for (const struct pace_item *o = p->retry_head; o != NULL; o = o->next)
			ahead++;
		for (size_t i = 0; i < p->n_queues; i++)
			ahead += fmin((double)p->queues[i].len, (double)k +
			    (i == it->queue ? 0 : 1));
	}
	return start - now + (ahead + 1) / rate + p->latency;
}
