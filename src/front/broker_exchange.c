/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broker_exchange.c - one exchange for one cache key, through the seams:
 * for a user, a mint (struct minter_ops) and then a SAML2 Bearer exchange;
 * for a service, a Client Credentials exchange (struct upstream_ops).
 *
 * Owns the list of exchanges in progress and each tenant's count of them,
 * and what happens when one ends: statistics, the policy update (through
 * broker_policy.c), the token into the cache, the log line, the reload
 * case, and the answer to whoever waits.  The entry of an exchange is
 * pinned in the cache until it ends.
 */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "broker_int.h"

struct exchange {
	struct broker		*broker;
	struct cache_entry	*entry;
	char			 tenant[NAME_MAX_LEN + 1];
	char			*client;	/* its section: saml_auth or the service */
	char			*client_id;	/* as configured when it started */
	void			*mint;		/* the minter's handle while signing */
	void			*call;		/* the upstream's handle while asking */
	bool			 discard;	/* tenant changed meanwhile: keep no token */
	bool			 started;	/* counted in running (not queued) */
	struct pacer		*pacer;
	struct pace_item	 item;		/* held in its tenant's queue there */
	double			 sent_at;
	int			 requeues;	/* after 429s */
	struct cr_fetch		*rfetch;	/* looking in the shared cache */
	bool			 rlocked;	/* this broker holds its lock there */
	struct exchange		*prev, *next;
};

/* One organization's pace (by token endpoint and short name) and its timer. */
struct pacer {
	struct pace		 pace;
	struct broker		*broker;
	struct event		*timer;
	char			*url;		/* its key: the token endpoint... */
	char			*org;		/* ...and organization_sname */
	struct pacer		*next;
};

static void	 pacer_arm(struct pacer *, double now, double when);

static double
random_unit(void)
{
	uint32_t	 r;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)random();
	return (double)r / 4294967296.0;
}

static struct tenant_state *
tstate_of(struct broker *b, const char *tenant)
{
	ssize_t	 ti = broker_tenant_index(b, tenant);

	return ti != -1 ? &b->tstate[ti] : NULL;
}

static void
exchange_link(struct broker *b, struct exchange *x)
{
	if ((x->next = b->exchanges) != NULL)
		x->next->prev = x;
	b->exchanges = x;
	x->entry->pinned = true;
	entry_state(x->entry)->pol.in_flight = true;
	entry_state(x->entry)->exchange = x;
}

/* Counted in (started) or out of its tenant's exchanges in progress. */
static void
exchange_count(struct exchange *x, bool started)
{
	struct broker		*b = x->broker;
	struct tenant_state	*ts = tstate_of(b, x->tenant);

	if (x->started == started)
		return;
	x->started = started;
	if (started) {
		b->running++;
		if (ts != NULL)
			ts->running++;
		return;
	}
	b->running--;
	if (ts != NULL && ts->running > 0)
		ts->running--;
	if (x->pacer != NULL)
		pace_release(&x->pacer->pace);
}

/* Out of its pace's queues. */
static void
exchange_unqueue(struct exchange *x)
{
	struct tenant_state	*ts = tstate_of(x->broker, x->tenant);

	if (x->pacer == NULL || !x->item.queued)
		return;
	pace_remove(&x->pacer->pace, &x->item);
	if (ts != NULL && ts->queued > 0)
		ts->queued--;
}

/* Ends an exchange: off the lists, the entry unpinned, its pace told that
 * a slot is free; frees x. */
static void
exchange_end(struct exchange *x)
{
	struct broker		*b = x->broker;

	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		b->exchanges = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	exchange_unqueue(x);
	exchange_count(x, false);
	if (x->pacer != NULL)
		pace_unhold(&x->pacer->pace, &x->item);
	cache_redis_cancel(x->rfetch);
	if (x->rlocked)
		cache_redis_unlock(b->redis, config_tenant_find(b->conf, x->tenant),
		    x->entry->kind, x->entry->subject);
	x->entry->pinned = false;
	entry_state(x->entry)->pol.in_flight = false;
	entry_state(x->entry)->exchange = NULL;
	if (x->pacer != NULL && x->pacer->pace.queued > 0)
		pacer_arm(x->pacer, 0, 0);	/* from the loop, never from here */
	free(x->client);
	free(x->client_id);
	free(x);
}

/* An exchange that ended without a token endpoint answer (the mint did
 * not give an assertion): its waiters get r, the entry stays only if it
 * holds something. */
static void
exchange_abort(struct exchange *x, const struct broker_reply *r)
{
	struct broker		*b = x->broker;
	struct cache_entry	*e = x->entry;
	struct entry_state	*es = entry_state(e);
	struct waiter		*w = es->waiters, *next;

	exchange_end(x);
	es->waiters = NULL;
	if (e->token == NULL && es->pol.failures == 0)
		cache_remove(b->cache, e);
	for (; w != NULL; w = next) {
		next = w->next;
		w->cb(r, w->arg);
		free(w);
	}
}

static void
record_latency(struct upstream_stats *s, double latency)
{
	static const double	 bounds[] = BROKER_LATENCY_BOUNDS;
	size_t			 i;

	for (i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
		if (latency <= bounds[i])
			break;
	s->latency_buckets[i]++;
	s->latency_sum += latency;
	s->latency_count++;
}

static void
stats_record(struct broker *b, struct tenant_stats *ts,
    const struct upstream_result *res, double backoff, double now)
{
	b->ustats.exchanges[res->grant][res->outcome]++;
	record_latency(&b->ustats, res->latency);
	if (ts == NULL)
		return;
	if (res->outcome == UPSTREAM_OK) {
		ts->last_success = now;
		ts->consecutive_failures = 0;
		ts->current_backoff = 0;
		return;
	}
	ts->last_failure = now;
	snprintf(ts->last_error, sizeof(ts->last_error), "%s", res->error);
	ts->consecutive_failures++;
	ts->current_backoff = backoff;
}

/* The client's own record: its last exchange decides whether it fails. */
static void
client_record(struct client_stats *cs, const struct upstream_result *res,
    double now)
{
	cs->exchanges[res->outcome]++;
	cs->failed = res->outcome != UPSTREAM_OK;
	if (!cs->failed) {
		cs->last_success = now;
		return;
	}
	cs->last_failure = now;
	snprintf(cs->last_error, sizeof(cs->last_error), "%s", res->error);
	/* message is never a secret; only its start is kept. */
	snprintf(cs->last_reason, sizeof(cs->last_reason), "%.*s",
	    CLIENT_REASON_LEN - 1, res->message);
}

/* One line per exchange: which tenant, client section and client id (not
 * secrets); never the agent's address, the secret or the token. */
static void
log_exchange(const struct cache_entry *e, const char *client,
    const char *client_id, const struct upstream_result *res, double backoff)
{
	const char	*kind = e->kind == TOKEN_USER ? "user" : "service";

	if (res->outcome == UPSTREAM_OK)
		log_info("event=exchange tenant=%s kind=%s client=%s client_id=%s "
		    "outcome=ok expires_in=%ld latency_ms=%.1f", e->tenant, kind,
		    client, client_id, res->expires_in, res->latency * 1000);
	else
		log_warnx("event=exchange tenant=%s kind=%s client=%s client_id=%s "
		    "outcome=failed error=%s http_status=%ld retry_in=%.1f "
		    "message=\"%s\"", e->tenant, kind, client, client_id,
		    res->error, res->http_status, backoff, res->message);
}

/*
 * What the pace learns from an answer; a 429 puts the exchange back in the
 * retry list (its callers keep waiting) unless it was refused too often or
 * its tenant changed.  Returns whether it went back.
 */
static bool
exchange_paced(struct exchange *x, const struct upstream_result *res, double now)
{
	struct pacer		*pc = x->pacer;
	struct tenant_state	*ts = tstate_of(x->broker, x->tenant);
	bool			 limited = res->http_status == 429;
	double			 before, wait;

	if (pc == NULL || res->http_status == 0)
		return false;
	before = pc->pace.rate;
	pace_answered(&pc->pace, now, x->sent_at, limited, res->retry_after);
	if (limited && pc->pace.rate != before)
		log_info("event=pace organization=%s rate=%.1f previous_rate=%.1f "
		    "queued=%zu reason=429", pc->org, pc->pace.rate, before,
		    pc->pace.queued);
	/* A longer Retry-After is the caller's to wait (503 with it). */
	if (!limited || res->retry_after > PACE_HOLD_SEC ||
	    x->requeues >= PACE_REQUEUES || x->discard || ts == NULL)
		return false;
	x->requeues++;
	exchange_count(x, false);
	wait = res->retry_after > 0 ? res->retry_after : 1.0;
	pace_push(&pc->pace, &x->item, true, now + wait);
	ts->queued++;
	pacer_arm(pc, now, fmax(now, pace_next_send(&pc->pace, now)));
	return true;
}

/* The token endpoint answered (upstream_cb). */
static void
exchange_done(struct upstream_result *res, void *arg)
{
	struct exchange		*x = arg;
	struct broker		*b = x->broker;
	struct cache_entry	*e = x->entry;
	struct entry_state	*es = entry_state(e);
	struct tenant_state	*ts = tstate_of(b, x->tenant);
	const struct tenant	*t = config_tenant_find(b->conf, x->tenant);
	struct client_stats	*cs;
	char			*client = x->client, *client_id = x->client_id;
	double			 now = clock_now(), backoff = 0;
	bool			 discard = x->discard, locked;

	x->call = NULL;
	if (exchange_paced(x, res, now))
		return;
	x->client = x->client_id = NULL;	/* kept past x */
	locked = x->rlocked;
	x->rlocked = false;	/* released below, with the token */
	exchange_end(x);
	if (res->outcome == UPSTREAM_OK) {
		policy_on_success(&es->pol, res->expires_in, t != NULL ?
		    t->expire_time_hours * 3600.0 : (double)res->expires_in, now,
		    random_unit());
		cache_set_token(e, res->access_token);
		res->access_token = NULL;
		broker_persist_mark(b, e->tenant);
		/* Shared, unless obtained with a configuration since changed. */
		if (t != NULL && b->redis != NULL)
			cache_redis_store(b->redis, t, e->kind, e->subject,
			    discard ? NULL : e->token, es->pol.expires_at, locked);
		locked = false;
	} else
		backoff = policy_on_failure(&es->pol, res->outcome, res->error,
		    res->retry_after, now, random_unit());
	if (locked && t != NULL)
		cache_redis_unlock(b->redis, t, e->kind, e->subject);
	stats_record(b, ts != NULL ? &ts->stats : NULL, res, backoff, now);
	/* A client whose tenant changed meanwhile is judged by its next
	 * exchange, not by one made with the old file. */
	if (!discard && (cs = broker_client_find(b, e->tenant, client)) != NULL)
		client_record(cs, res, now);
	log_exchange(e, client, client_id, res, backoff);
	free(client);
	free(client_id);
	/* Obtained with a configuration that has since changed: the callers
	 * that waited for it get it, the cache does not keep it. */
	broker_answer_waiters(b, e, now, discard);
}

static void *
call_start(struct exchange *x, const struct tenant *t, const char *assertion)
{
	struct broker		*b = x->broker;
	struct upstream_request	 req = { .tenant = t, .assertion_b64 = assertion };

	if (assertion != NULL) {
		req.grant = GRANT_SAML2_BEARER;
		req.client = &t->saml_auth;
	} else {
		req.grant = GRANT_CLIENT_CREDENTIALS;
		req.client = tenant_service_find(t, x->entry->subject);
		if (req.client == NULL)
			return NULL;
	}
	x->sent_at = clock_now();
	if (x->pacer != NULL)
		pace_sent(&x->pacer->pace, x->sent_at);
	return b->uops->start(b->uimpl, &req, exchange_done, x);
}

static void
abort_internal(struct exchange *x, const char *message)
{
	struct broker_reply	 r = { .status = 500, .error = "internal_error",
	    .message = message };

	exchange_abort(x, &r);
}

/* The minter answered (mint_cb): on to the token endpoint, or the end. */
static void
exchange_minted(struct mint_result *res, void *arg)
{
	struct exchange		*x = arg;
	struct broker		*b = x->broker;
	const struct tenant	*t = config_tenant_find(b->conf, x->tenant);
	struct tenant_state	*ts = tstate_of(b, x->tenant);
	struct broker_reply	 busy = { .status = 503, .error = "signers_busy",
	    .message = "every signer is busy", .retry_after = res->retry_after };

	x->mint = NULL;
	switch (res->outcome) {
	case MINT_OK:
		if (ts != NULL)
			ts->stats.mints++;
		if (t != NULL && (x->call = call_start(x, t,
		    res->saml_response_b64)) != NULL)
			return;
		abort_internal(x, "cannot start the upstream request");
		return;
	case MINT_BUSY:
		log_warnx("event=mint tenant=%s error=busy message=\"%s\"",
		    x->tenant, res->message);
		if (busy.retry_after <= 0)
			busy.retry_after = 1;
		/* A refresh waits as long, so that hits do not keep asking. */
		policy_on_busy(&entry_state(x->entry)->pol, busy.retry_after,
		    clock_now());
		exchange_abort(x, &busy);
		return;
	default:
		log_warnx("event=mint tenant=%s error=\"%s\"", x->tenant,
		    res->message);
		abort_internal(x, "cannot sign the SAML assertion");
		return;
	}
}

/* The tenant may start another exchange (its slots, the total). */
static bool
tenant_may_start(const char *tenant, void *arg)
{
	struct broker		*b = arg;
	struct tenant_state	*ts = tstate_of(b, tenant);

	return ts != NULL && policy_may_start(ts->running,
	    b->conf->max_exchanges_per_tenant, b->running, b->conf->max_connections,
	    b->conf->n_tenants);
}

bool
exchange_may_queue(struct broker *b, const char *tenant)
{
	struct tenant_state	*ts = tstate_of(b, tenant);
	size_t			 share = b->conf->max_cached_tokens /
	    (b->conf->n_tenants > 0 ? b->conf->n_tenants : 1);

	return ts != NULL && ts->queued < (share > b->conf->max_exchanges_per_tenant ?
	    share : b->conf->max_exchanges_per_tenant);
}

/* Sends an exchange: the mint (a user) or the token endpoint request; -1
 * with why (x stays, for the caller to end). */
static int
exchange_go(struct exchange *x, double now, const char **why)
{
	struct broker		*b = x->broker;
	const struct tenant	*t = config_tenant_find(b->conf, x->tenant);

	if (t == NULL || (x->entry->kind == TOKEN_SERVICE &&
	    tenant_service_find(t, x->entry->subject) == NULL)) {
		*why = t == NULL ? "tenant no longer configured" :
		    "service no longer configured";
		return -1;
	}
	exchange_count(x, true);
	if (x->pacer != NULL)
		pace_take(&x->pacer->pace, now);
	if (x->entry->kind == TOKEN_USER)
		x->mint = b->mops->start(b->mimpl, t->name, x->entry->subject,
		    now, exchange_minted, x);
	else
		x->call = call_start(x, t, NULL);
	if (x->mint == NULL && x->call == NULL) {
		*why = x->entry->kind == TOKEN_USER ? "cannot sign the SAML assertion" :
		    "cannot start the upstream request";
		return -1;
	}
	return 0;
}

/* The timer: sends what the pace allows, then waits for the next turn. */
static void
pacer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pacer		*pc = arg;
	struct broker		*b = pc->broker;
	struct pace_item	*it;
	struct exchange		*x;
	struct tenant_state	*ts;
	const char		*why;
	double			 now = clock_now();

	while (pc->pace.queued > 0) {
		if (!pace_may_send(&pc->pace, now)) {
			double t = pace_next_send(&pc->pace, now);

			if (t >= 0)	/* else an exchange's end calls again */
				pacer_arm(pc, now, t);
			return;
		}
		if ((it = pace_pop(&pc->pace, now, tenant_may_start, b)) == NULL) {
			/* Retries not yet due; full slots call again as they end. */
			if (pc->pace.retry_head != NULL &&
			    pc->pace.retry_head->not_before > now)
				pacer_arm(pc, now, pc->pace.retry_head->not_before);
			return;
		}
		x = (struct exchange *)(void *)((char *)it -
		    offsetof(struct exchange, item));
		if ((ts = tstate_of(b, x->tenant)) != NULL && ts->queued > 0)
			ts->queued--;
		if (exchange_go(x, now, &why) == -1)
			abort_internal(x, why);
	}
}

static void
pacer_arm(struct pacer *pc, double now, double when)
{
	double		 d = when > now ? when - now : 0;
	struct timeval	 tv = { (time_t)d, (suseconds_t)((d - floor(d)) * 1e6) };

	evtimer_add(pc->timer, &tv);
}

/* The pace of t's organization, made on first use. */
static struct pacer *
pacer_get(struct broker *b, const struct tenant *t)
{
	struct pacer	*pc;

	for (pc = b->pacers; pc != NULL; pc = pc->next)
		if (strcmp(pc->org, t->organization_sname) == 0 &&
		    strcmp(pc->url, t->base_auth_url) == 0)
			return pc;
	pc = xcalloc(1, sizeof(*pc));
	pace_init(&pc->pace);
	pc->broker = b;
	pc->url = xstrdup(t->base_auth_url);
	pc->org = xstrdup(t->organization_sname);
	if ((pc->timer = evtimer_new(b->base, pacer_cb, pc)) == NULL)
		fatalx("evtimer_new failed");
	pc->next = b->pacers;
	b->pacers = pc;
	return pc;
}

void
exchange_pacers_free(struct broker *b)
{
	struct pacer	*pc;

	while ((pc = b->pacers) != NULL) {
		b->pacers = pc->next;
		event_free(pc->timer);
		free(pc->url);
		free(pc->org);
		free(pc);
	}
}

void
broker_pace_each(const struct broker *b, void (*fn)(const char *,
    const char *, const struct pace *, void *), void *arg)
{
	for (const struct pacer *pc = b->pacers; pc != NULL; pc = pc->next)
		fn(pc->org, pc->url, &pc->pace, arg);
}

/* Sends x now or queues it for its organization's pace; -1 with why (x
 * stays, for the caller to end). */
static int
exchange_proceed(struct exchange *x, double now, const char **why)
{
	struct broker		*b = x->broker;
	struct tenant_state	*ts = tstate_of(b, x->tenant);

	if (ts == NULL) {
		*why = "tenant no longer configured";
		return -1;
	}
	if (x->pacer->pace.queued == 0 && pace_may_send(&x->pacer->pace, now) &&
	    tenant_may_start(x->tenant, b))
		return exchange_go(x, now, why);
	pace_push(&x->pacer->pace, &x->item, false, 0);
	ts->queued++;
	pacer_arm(x->pacer, now, fmax(now, pace_next_send(&x->pacer->pace, now)));
	return 0;
}

/* How long another broker waits for this one's exchange: as long as a
 * whole token request may take, and the signing before it. */
static double
redis_lock_ttl(const struct broker *b)
{
	return (double)b->conf->connect_timeout + b->conf->request_timeout;
}

/* The shared cache answered (cache_redis_cb): a token ends the exchange
 * as if the token endpoint had given it; otherwise the exchange goes on
 * here. */
static void
exchange_shared(enum cache_redis_found found, char *token, double expires_at,
    void *arg)
{
	struct exchange		*x = arg;
	struct broker		*b = x->broker;
	struct cache_entry	*e = x->entry;
	struct entry_state	*es = entry_state(e);
	const struct tenant	*t = config_tenant_find(b->conf, x->tenant);
	const char		*why;
	double			 now = clock_now();
	bool			 discard = x->discard;

	x->rfetch = NULL;
	if (found == CACHE_REDIS_HIT) {
		exchange_end(x);
		policy_on_success(&es->pol, (long)(expires_at - now), t != NULL ?
		    t->expire_time_hours * 3600.0 : expires_at - now, now,
		    random_unit());
		cache_set_token(e, token);
		broker_persist_mark(b, e->tenant);	/* kept on disk too */
		log_debug("event=redis_hit tenant=%s kind=%s expires_in=%.0f",
		    e->tenant, e->kind == TOKEN_USER ? "user" : "service",
		    expires_at - now);
		broker_answer_waiters(b, e, now, discard);
		return;
	}
	x->rlocked = found == CACHE_REDIS_MISS_LOCKED;
	if (exchange_proceed(x, now, &why) == -1)
		abort_internal(x, why);
}

int
exchange_start(struct broker *b, struct cache_entry *e, const char **why)
{
	const struct tenant	*t = config_tenant_find(b->conf, e->tenant);
	const struct service_client *client;
	struct tenant_state	*ts = tstate_of(b, e->tenant);
	struct exchange		*x;
	double			 now = clock_now();

	if (t == NULL || ts == NULL) {
		*why = "tenant no longer configured";
		return -1;
	}
	if (e->kind == TOKEN_SERVICE && tenant_service_find(t, e->subject) == NULL) {
		*why = "service no longer configured";
		return -1;
	}
	x = xcalloc(1, sizeof(*x));
	x->broker = b;
	x->entry = e;
	snprintf(x->tenant, sizeof(x->tenant), "%s", e->tenant);
	client = e->kind == TOKEN_USER ? &t->saml_auth :
	    tenant_service_find(t, e->subject);
	x->client = xstrdup(client->name);
	x->client_id = xstrdup(client->client_id);
	x->pacer = pacer_get(b, t);
	pace_hold(&x->pacer->pace, &x->item, x->tenant);
	/* Linked first: a seam answers only from the loop, never in start. */
	exchange_link(b, x);
	/* Another broker may have the token, or be getting it: ask the
	 * shared cache first (a refresh wants a newer token than the one it
	 * has); its answer goes on in exchange_shared. */
	if (b->redis != NULL && (x->rfetch = cache_redis_fetch(b->redis, t, e->kind,
	    e->subject, redis_lock_ttl(b), e->token != NULL ?
	    entry_state(e)->pol.expires_at : 0, exchange_shared, x)) != NULL)
		return 0;
	if (exchange_proceed(x, now, why) == -1) {
		exchange_end(x);
		return -1;
	}
	return 0;
}

double
exchange_queued_eta(struct broker *b, const struct cache_entry *e)
{
	struct exchange	*x = entry_state(e)->exchange;
	struct pace	*p;

	if (x == NULL || x->pacer == NULL || !x->item.queued)
		return 0;
	p = &x->pacer->pace;
	return pace_eta(p, &x->item, clock_now(),
	    (double)b->conf->max_exchanges_per_tenant / fmax(p->latency, 0.01));
}

void
exchange_cancel_all(struct broker *b)
{
	while (b->exchanges != NULL) {
		struct exchange	*x = b->exchanges;

		if (x->mint != NULL)
			b->mops->cancel(b->mimpl, x->mint);
		if (x->call != NULL)
			b->uops->cancel(b->uimpl, x->call);
		exchange_end(x);
	}
}

bool
exchange_cancel_minting(struct broker *b, struct cache_entry *e)
{
	for (struct exchange *x = b->exchanges; x != NULL; x = x->next) {
		if (x->entry != e)
			continue;
		if (x->mint == NULL)
			return false;	/* at the token endpoint: its token is kept */
		b->mops->cancel(b->mimpl, x->mint);
		exchange_end(x);
		return true;
	}
	return false;
}

void
exchange_discard(struct broker *b, const struct cache_entry *e)
{
	for (struct exchange *x = b->exchanges; x != NULL; x = x->next)
		if (x->entry == e)
			x->discard = true;
}

void
exchange_recount(struct broker *b)
{
	struct tenant_state	*ts;

	for (size_t i = 0; i < b->conf->n_tenants; i++)
		b->tstate[i].running = b->tstate[i].queued = 0;
	for (struct exchange *x = b->exchanges; x != NULL; x = x->next) {
		if ((ts = tstate_of(b, x->tenant)) == NULL)
			continue;
		if (x->started)
			ts->running++;
		if (x->item.queued)
			ts->queued++;
	}
}
