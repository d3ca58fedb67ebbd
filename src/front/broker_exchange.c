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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	struct exchange		*prev, *next;
};

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
	struct tenant_state	*ts = tstate_of(b, x->tenant);

	if ((x->next = b->exchanges) != NULL)
		x->next->prev = x;
	b->exchanges = x;
	b->running++;
	if (ts != NULL)
		ts->running++;
	x->entry->pinned = true;
	entry_state(x->entry)->pol.in_flight = true;
}

/* Ends an exchange: off the lists, the entry unpinned; frees x. */
static void
exchange_end(struct exchange *x)
{
	struct broker		*b = x->broker;
	struct tenant_state	*ts = tstate_of(b, x->tenant);

	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		b->exchanges = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	b->running--;
	if (ts != NULL && ts->running > 0)
		ts->running--;
	x->entry->pinned = false;
	entry_state(x->entry)->pol.in_flight = false;
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
	bool			 discard = x->discard;

	x->client = x->client_id = NULL;	/* kept past x */
	exchange_end(x);
	if (res->outcome == UPSTREAM_OK) {
		policy_on_success(&es->pol, res->expires_in, t != NULL ?
		    t->expire_time_hours * 3600.0 : (double)res->expires_in, now,
		    random_unit());
		cache_set_token(e, res->access_token);
		res->access_token = NULL;
	} else
		backoff = policy_on_failure(&es->pol, res->outcome, res->error,
		    res->retry_after, now, random_unit());
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

int
exchange_start(struct broker *b, struct cache_entry *e, const char **why)
{
	const struct tenant	*t = config_tenant_find(b->conf, e->tenant);
	const struct service_client *client;
	struct exchange		*x;

	if (t == NULL) {
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
	/* Linked first: a seam answers only from the loop, never in start. */
	exchange_link(b, x);
	if (e->kind == TOKEN_USER)
		x->mint = b->mops->start(b->mimpl, t->name, e->subject,
		    clock_now(), exchange_minted, x);
	else
		x->call = call_start(x, t, NULL);
	if (x->mint == NULL && x->call == NULL) {
		*why = e->kind == TOKEN_USER ? "cannot sign the SAML assertion" :
		    "cannot start the upstream request";
		exchange_end(x);
		return -1;
	}
	return 0;
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
		b->tstate[i].running = 0;
	for (struct exchange *x = b->exchanges; x != NULL; x = x->next)
		if ((ts = tstate_of(b, x->tenant)) != NULL)
			ts->running++;
}
