/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broker.c - the token service behind the HTTP API.
 *
 * Owns the answers: which token a caller gets, who waits, who is refused,
 * the per-tenant state and counters, the sweep, reconfiguration and
 * broker_mint.  The decisions themselves are pure functions in
 * broker_policy.c; exchanges run in broker_exchange.c through two seams
 * (struct upstream_ops to the token endpoint, struct minter_ops to
 * whoever signs).  It owns no sockets: server.c speaks HTTP, upstream.c
 * speaks to PureCloud, cache.c stores entries, minter.c signs.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "broker_int.h"

/* How often entries are checked for refresh-ahead and expiry. */
#define SWEEP_INTERVAL_SEC	1
#define CERT_LOG_EVERY_SEC	86400.0

/* A broker_mint call waiting for the minter. */
struct mint_req {
	struct broker	*broker;
	broker_cb	 cb;
	void		*arg;
	void		*handle;
	char		 tenant[NAME_MAX_LEN + 1];
	struct mint_req	*prev, *next;
};

ssize_t
broker_tenant_index(const struct broker *b, const char *name)
{
	for (size_t i = 0; i < b->conf->n_tenants; i++)
		if (strcmp(b->conf->tenants[i]->name, name) == 0)
			return (ssize_t)i;
	return -1;
}

static void
reply_error(broker_cb cb, void *arg, int status, const char *error,
    const char *message)
{
	struct broker_reply	 r = { .status = status, .error = error,
	    .message = message };

	cb(&r, arg);
}

/*
 * What callers are told about an entry, copied out of it: a callback may
 * re-enter the broker and evict or refill the entry, so nothing answers
 * from the entry itself.
 */
struct answer {
	char		*token;		/* a copy (secret), NULL when failing */
	double		 expires_at;
	int		 status;	/* failing: 502/503/504 */
	char		 error[64];
	char		 message[384];	/* failing */
	double		 until;		/* failing: no new attempt before */
};

/*
 * What a refusal (502) tells the caller: for the codes that mean a
 * tenant file is wrong, which section and option to fix.  client is the
 * exchange's client ([saml_auth] for an agent), NULL when no longer
 * configured.
 */
static void
refusal_text(char *buf, size_t len, const char *tenant,
    const struct service_client *client, bool saml, const char *error)
{
	const char	*grant = saml ? "SAML2 Bearer" : "Client Credentials";

	if (client != NULL && strcmp(error, "invalid_client") == 0)
		snprintf(buf, len, "the token endpoint refused [%s] client_id/%s of "
		    "tenant %s (invalid_client): check them against the OAuth client "
		    "in PureCloud", client->name, client->secret_option != NULL ?
		    client->secret_option : "client_secret", tenant);
	else if (client != NULL && strcmp(error, "unauthorized_client") == 0)
		snprintf(buf, len, "the token endpoint refused [%s] client_id of tenant "
		    "%s (unauthorized_client): its OAuth client in PureCloud must have "
		    "the %s grant", client->name, tenant, grant);
	else if (client != NULL && saml && strcmp(error, "invalid_grant") == 0)
		snprintf(buf, len, "the token endpoint refused the SAML assertion of "
		    "tenant %s (invalid_grant): check [saml] issuer, certificate and "
		    "audience against the identity provider in PureCloud, and that the "
		    "agent exists there", tenant);
	else
		snprintf(buf, len, "the token endpoint refused the request (%s)", error);
}

static void
answer_take(const struct broker *b, struct answer *a, const struct cache_entry *e,
    double now)
{
	const struct policy		*p = &entry_state(e)->pol;
	const struct tenant		*t;
	const struct service_client	*client = NULL;

	memset(a, 0, sizeof(*a));
	if (policy_token_usable(p, e->token != NULL, now)) {
		a->token = xstrdup(e->token);
		a->expires_at = p->expires_at;
		return;
	}
	a->status = p->last_status;
	snprintf(a->error, sizeof(a->error), "%s", p->last_error);
	a->until = fmax(p->retry_at, p->hard_fail_until);
	/* Only a refusal names its client: a cache hit looks no tenant up. */
	if ((t = config_tenant_find(b->conf, e->tenant)) != NULL)
		client = e->kind == TOKEN_USER ? &t->saml_auth :
		    tenant_service_find(t, e->subject);
	switch (a->status) {
	case 502:
		refusal_text(a->message, sizeof(a->message), e->tenant, client,
		    e->kind == TOKEN_USER, a->error);
		break;
	case 504:
		snprintf(a->message, sizeof(a->message),
		    "the token endpoint did not answer in time");
		break;
	default:
		snprintf(a->message, sizeof(a->message),
		    "the token endpoint is unavailable (%s)", a->error);
		break;
	}
}

static void
answer_give(const struct answer *a, double now, bool from_cache, broker_cb cb,
    void *arg)
{
	struct broker_reply	 r = { .status = a->status, .message = a->message };

	if (a->token != NULL) {
		r = (struct broker_reply){ .status = 200, .token = a->token,
		    .expires_at = a->expires_at, .from_cache = from_cache };
		cb(&r, arg);
		return;
	}
	switch (a->status) {
	case 502:
		r.error = "upstream_rejected";
		r.upstream_error = a->error;
		break;
	case 504:
		r.error = "upstream_timeout";
		break;
	default:
		r.status = 503;
		r.error = "upstream_unavailable";
		break;
	}
	if (a->until > now)
		r.retry_after = ceil(a->until - now);
	cb(&r, arg);
}

static void
answer_clear(struct answer *a)
{
	secret_free(a->token);
	a->token = NULL;
}

void
broker_answer_entry(const struct broker *b, const struct cache_entry *e,
    double now, bool from_cache, broker_cb cb, void *arg)
{
	struct answer	 a;

	answer_take(b, &a, e, now);
	answer_give(&a, now, from_cache, cb, arg);
	answer_clear(&a);
}

void
broker_answer_waiters(const struct broker *b, struct cache_entry *e, double now,
    bool clear_token)
{
	struct entry_state	*es = entry_state(e);
	struct waiter		*w = es->waiters, *next;
	struct answer		 a;

	es->waiters = NULL;
	answer_take(b, &a, e, now);
	if (clear_token)
		cache_clear_token(e);
	for (; w != NULL; w = next) {
		next = w->next;
		answer_give(&a, now, false, w->cb, w->arg);
		free(w);
	}
	answer_clear(&a);
}

static struct waiter *
waiters_add(struct cache_entry *e, broker_cb cb, void *arg)
{
	struct waiter	*w = xcalloc(1, sizeof(*w)), **tail;

	w->cb = cb;
	w->arg = arg;
	w->entry = e;
	for (tail = &entry_state(e)->waiters; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = w;
	return w;
}

/* Frees an entry's state (the cache's data_free); no waiter is left. */
static void
entry_state_free(void *data)
{
	free(data);
}

/*
 * Checks that a request names a known tenant (and service) and a valid
 * address; on failure fills r with the answer.  On success ret_key holds
 * the subject as the cache and the assertion carry it: an address in its
 * canonical form (ALICE@X and alice@x are one entry, one NameID), a
 * service name as it is.
 */
static int
request_check(struct broker *b, const char *tname, enum token_kind kind,
    const char *subject, struct broker_reply *r, ssize_t *ret_ti,
    char ret_key[EMAIL_MAX_LEN + 1])
{
	const char	*why;
	ssize_t		 ti;

	memset(r, 0, sizeof(*r));
	if ((ti = broker_tenant_index(b, tname)) == -1) {
		r->status = 404;
		r->error = "unknown_tenant";
		r->message = "no such tenant";
		return -1;
	}
	if (kind == TOKEN_SERVICE &&
	    tenant_service_find(b->conf->tenants[ti], subject) == NULL) {
		r->status = 404;
		r->error = "unknown_service";
		r->message = "no such service for this tenant";
		return -1;
	}
	if (kind == TOKEN_USER && email_validate(subject, &why) == -1) {
		r->status = 400;
		r->error = "bad_request";
		r->message = why;
		return -1;
	}
	/* A valid address or a configured service name: it fits. */
	snprintf(ret_key, EMAIL_MAX_LEN + 1, "%s", subject);
	if (kind == TOKEN_USER)
		email_canonicalize(ret_key);
	*ret_ti = ti;
	return 0;
}

/*
 * A tenant's signing certificate past its end: -1 with the answer in r
 * (503 certificate_expired, without Retry-After: only a new key helps),
 * and the tenant's failure recorded for /v1/status.
 */
static int
cert_expired(struct broker *b, ssize_t ti, double now, struct broker_reply *r)
{
	const struct tenant	*t = b->conf->tenants[ti];
	struct tenant_stats	*st = &b->tstate[ti].stats;

	if (t->keys == NULL || keystore_not_after(t->keys) >= now)
		return 0;
	memset(r, 0, sizeof(*r));
	r->status = 503;
	r->error = "certificate_expired";
	r->message = "the tenant's signing certificate has expired: replace the key "
	    "(samlbroker rollover)";
	st->last_failure = now;
	snprintf(st->last_error, sizeof(st->last_error), "certificate_expired");
	st->consecutive_failures++;
	return -1;
}

/*
 * At start, after a reload and then once a day: a line per signing
 * certificate (current or staged) that ends within 30 days or has ended.
 */
static void
expiry_log(struct broker *b, double now)
{
	char	 date[32];

	for (size_t i = 0; i < b->conf->n_tenants; i++) {
		const struct tenant	*t = b->conf->tenants[i];
		struct tenant_state	*ts = &b->tstate[i];
		const struct keystore	*ks[2] = { t->keys, t->next_cert };
		const char		*which[2] = { "current", "next" };

		if (ts->expiry_logged != 0 && now - ts->expiry_logged < CERT_LOG_EVERY_SEC)
			continue;
		for (int k = 0; k < 2; k++) {
			double na;

			if (ks[k] == NULL || (na = keystore_not_after(ks[k])) - now >=
			    CERT_WARN_DAYS * 86400.0)
				continue;
			ts->expiry_logged = now;
			format_rfc3339(na, date, sizeof(date));
			if (na < now)
				log_errorx("event=certificate_expired tenant=%s which=%s "
				    "not_after=%s agent exchanges fail until the key is "
				    "replaced (samlbroker rollover)", t->name, which[k], date);
			else
				log_warnx("event=certificate_expiry tenant=%s which=%s "
				    "not_after=%s days_left=%ld (samlbroker rollover)",
				    t->name, which[k], date, keystore_days_left(ks[k], now));
		}
	}
}

struct cache_entry *
broker_entry_get(struct broker *b, ssize_t ti, enum token_kind kind,
    const char *subject)
{
	const struct tenant	*t = b->conf->tenants[ti];
	struct cache_entry	*e;

	e = cache_insert(b->cache, t->name, kind, subject,
	    policy_cache_share(b->conf->max_cached_tokens,
	    b->conf->max_cached_tokens_per_tenant));
	if (e->data == NULL)
		e->data = xcalloc(1, sizeof(struct entry_state));
	return e;
}

/* Drops an entry that holds nothing worth keeping (no token, no failure
 * memory, nobody waiting, no exchange). */
static void
entry_drop_if_empty(struct broker *b, struct cache_entry *e)
{
	const struct entry_state *es = entry_state(e);

	if (e->token == NULL && es->waiters == NULL && !es->pol.in_flight &&
	    es->pol.failures == 0 && es->pol.hard_fail_until == 0)
		cache_remove(b->cache, e);
}

/*
 * A caller of a key whose exchange is queued: it waits when the token is
 * expected within PACE_HOLD_SEC, else it is told to come back a second
 * before it is expected, or half way there if sooner (503
 * exchange_queued, Retry-After from its place in the queue), and then
 * waits.  Returns the waiter, or NULL when
 * answered.
 */
static struct waiter *
wait_or_come_back(struct broker *b, struct cache_entry *e, broker_cb cb,
    void *arg)
{
	struct broker_reply	 r = { .status = 503, .error = "exchange_queued",
	    .message = "the token exchange is queued at the token endpoint's pace: "
	    "ask again after Retry-After seconds" };
	double			 eta = exchange_queued_eta(b, e);

	if (eta <= PACE_HOLD_SEC)
		return waiters_add(e, cb, arg);
	/* Half the way at most: a caller asks again while the estimate
	 * improves, and is not late when the pace rises. */
	r.retry_after = fmax(1.0, fmin(floor(eta - 1.0), ceil(eta / 2.0)));
	cb(&r, arg);
	return NULL;
}

struct waiter *
broker_get_token(struct broker *b, const char *tname, enum token_kind kind,
    const char *subject, broker_cb cb, void *arg)
{
	static const struct broker_reply busy = { .status = 503,
	    .error = "upstream_unavailable",
	    .message = "too many token exchanges queued", .retry_after = 1 };
	struct cache_entry	*e;
	struct tenant_state	*ts;
	struct broker_reply	 r;
	const char		*why;
	char			 key[EMAIL_MAX_LEN + 1];
	ssize_t			 ti;
	double			 now;
	bool			 may;

	if (request_check(b, tname, kind, subject, &r, &ti, key) == -1) {
		cb(&r, arg);
		return NULL;
	}
	ts = &b->tstate[ti];
	now = clock_now();
	e = broker_entry_get(b, ti, kind, key);
	/* A tenant whose certificate expired fails its agents' exchanges (a
	 * token still cached is served); the process stays ready. */
	if (kind == TOKEN_USER && e->token == NULL &&
	    cert_expired(b, ti, now, &r) == -1) {
		ts->stats.misses++;
		entry_drop_if_empty(b, e);
		cb(&r, arg);
		return NULL;
	}
	may = exchange_may_queue(b, tname);
	switch (policy_decide(&entry_state(e)->pol, e->token != NULL, now, may)) {
	case POLICY_SERVE_AND_REFRESH:
		/* Started before the answer, whose callback may evict the entry. */
		if (exchange_start(b, e, &why) == -1)
			log_warnx("event=refresh tenant=%s error=\"%s\"", tname, why);
		/* FALLTHROUGH */
	case POLICY_SERVE:
		ts->stats.hits++;
		broker_answer_entry(b, e, now, true, cb, arg);
		return NULL;
	case POLICY_WAIT:
		ts->stats.misses++;
		return wait_or_come_back(b, e, cb, arg);
	case POLICY_REFUSE_FAILING:
		ts->stats.misses++;
		broker_answer_entry(b, e, now, false, cb, arg);
		return NULL;
	case POLICY_REFUSE_BUSY:
		ts->stats.misses++;
		entry_drop_if_empty(b, e);
		cb(&busy, arg);
		return NULL;
	case POLICY_START:
		ts->stats.misses++;
		if (exchange_start(b, e, &why) == -1) {
			entry_drop_if_empty(b, e);
			reply_error(cb, arg, 500, "internal_error", why);
			return NULL;
		}
		return wait_or_come_back(b, e, cb, arg);
	}
	return NULL;
}

void
broker_token_cancel(struct broker *b, struct waiter *w)
{
	struct cache_entry	*e = w->entry;
	struct entry_state	*es = entry_state(e);
	struct waiter		**pp;

	for (pp = &es->waiters; *pp != NULL && *pp != w; pp = &(*pp)->next)
		;
	if (*pp == NULL)
		return;	/* not waiting (cannot happen: answered ones are freed) */
	*pp = w->next;
	free(w);
	/* The last caller gone while the assertion is still being signed:
	 * nobody needs it (a token endpoint exchange under way goes on, and
	 * its token is cached). */
	if (es->waiters == NULL && exchange_cancel_minting(b, e))
		entry_drop_if_empty(b, e);
}

int
broker_evict_token(struct broker *b, const char *tname, enum token_kind kind,
    const char *subject, struct broker_reply *r)
{
	struct cache_entry	*e;
	char			 key[EMAIL_MAX_LEN + 1];
	ssize_t			 ti;

	if (request_check(b, tname, kind, subject, r, &ti, key) == -1)
		return -1;
	if ((e = cache_lookup(b->cache, tname, kind, key)) == NULL)
		return 0;
	/* An entry in flight keeps its waiters, and a failing one its
	 * failure memory and backoff (DELETE must not defeat them): only the
	 * token goes. */
	if (e->token != NULL)
		broker_persist_mark(b, e->tenant);
	if (policy_keeps_entry(&entry_state(e)->pol, clock_now())) {
		cache_clear_token(e);
		return 0;
	}
	cache_remove(b->cache, e);
	return 0;
}

static void
mint_req_unlink(struct mint_req *m)
{
	if (m->prev != NULL)
		m->prev->next = m->next;
	else
		m->broker->mints = m->next;
	if (m->next != NULL)
		m->next->prev = m->prev;
}

static void
mint_answered(struct mint_result *res, void *arg)
{
	struct mint_req		*m = arg;
	struct broker		*b = m->broker;
	struct broker_reply	 r = { .status = 200 };
	ssize_t			 ti = broker_tenant_index(b, m->tenant);

	mint_req_unlink(m);
	switch (res->outcome) {
	case MINT_OK:
		if (ti != -1)
			b->tstate[ti].stats.mints++;
		r.saml_response = res->saml_response_b64;
		r.not_on_or_after = res->not_on_or_after;
		break;
	case MINT_BUSY:
		log_warnx("event=mint tenant=%s error=busy message=\"%s\"",
		    m->tenant, res->message);
		r = (struct broker_reply){ .status = 503, .error = "signers_busy",
		    .message = "every signer is busy",
		    .retry_after = res->retry_after > 0 ? res->retry_after : 1 };
		break;
	default:
		log_warnx("event=mint tenant=%s error=\"%s\"", m->tenant,
		    res->message);
		r = (struct broker_reply){ .status = 500, .error = "internal_error",
		    .message = "cannot sign the SAML assertion" };
		break;
	}
	m->cb(&r, m->arg);
	free(m);
}

struct mint_req *
broker_mint(struct broker *b, const char *tname, const char *email,
    broker_cb cb, void *arg)
{
	struct broker_reply	 r;
	struct mint_req		*m;
	char			 key[EMAIL_MAX_LEN + 1];
	ssize_t			 ti;

	if (request_check(b, tname, TOKEN_USER, email, &r, &ti, key) == -1 ||
	    cert_expired(b, ti, clock_now(), &r) == -1) {
		cb(&r, arg);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->broker = b;
	m->cb = cb;
	m->arg = arg;
	snprintf(m->tenant, sizeof(m->tenant), "%s", tname);
	if ((m->next = b->mints) != NULL)
		m->next->prev = m;
	b->mints = m;
	m->handle = b->mops->start(b->mimpl, tname, key, clock_now(),
	    mint_answered, m);
	if (m->handle == NULL) {
		mint_req_unlink(m);
		free(m);
		reply_error(cb, arg, 500, "internal_error",
		    "cannot sign the SAML assertion");
		return NULL;
	}
	return m;
}

void
broker_mint_cancel(struct broker *b, struct mint_req *m)
{
	b->mops->cancel(b->mimpl, m->handle);
	mint_req_unlink(m);
	free(m);
}

/* Once a second: refresh service tokens ahead of expiry, wipe expired ones,
 * drop idle entries that hold nothing worth keeping. */
static void
sweep_entry(struct cache_entry *e, void *arg)
{
	struct broker	*b = arg;
	const char	*why;
	unsigned	 what;

	if (broker_tenant_index(b, e->tenant) == -1) {
		if (!entry_state(e)->pol.in_flight)
			cache_remove(b->cache, e);
		return;
	}
	what = policy_sweep(&entry_state(e)->pol, e->token != NULL, e->kind,
	    clock_now());
	if (what & POLICY_SWEEP_WIPE) {
		broker_persist_mark(b, e->tenant);
		cache_clear_token(e);
	}
	if (what & POLICY_SWEEP_DROP)
		cache_remove(b->cache, e);
	else if ((what & POLICY_SWEEP_REFRESH) && exchange_start(b, e, &why) == -1)
		log_warnx("event=refresh tenant=%s service=%s error=\"%s\"",
		    e->tenant, e->subject, why);
}

void
broker_sweep(struct broker *b)
{
	cache_foreach(b->cache, sweep_entry, b);
	expiry_log(b, clock_now());
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	broker_sweep(arg);
}

static struct tenant_state *
tstate_new(struct broker_config *conf, struct broker *old)
{
	struct tenant_state	*ts = xcalloc(conf->n_tenants + 1, sizeof(*ts));

	for (size_t i = 0; i < conf->n_tenants; i++) {
		const struct tenant	*t = conf->tenants[i];
		ssize_t			 oi = old ? broker_tenant_index(old, t->name) : -1;

		ts[i].n_clients = tenant_client_count(t);
		ts[i].clients = xcalloc(ts[i].n_clients, sizeof(*ts[i].clients));
		/* An unchanged file has the same clients in the same order. */
		if (oi != -1 && old->conf->tenants[oi]->digest == t->digest &&
		    old->tstate[oi].n_clients == ts[i].n_clients) {
			ts[i].stats = old->tstate[oi].stats;
			memcpy(ts[i].clients, old->tstate[oi].clients,
			    ts[i].n_clients * sizeof(*ts[i].clients));
		}
	}
	return ts;
}

static void
tstate_free(struct tenant_state *ts, size_t n)
{
	if (ts == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(ts[i].clients);
	free(ts);
}

/* The real seams, for whatever the caller did not give. */
static int
seams_set(struct broker *b, const struct broker_seams *s, char *errbuf,
    size_t errlen)
{
	struct broker_config	*conf = b->conf;

	if (s != NULL && s->upstream != NULL) {
		b->uops = s->upstream;
		b->uimpl = s->upstream_impl;
	} else {
		b->own_upstream = upstream_new(b->base, conf->ca_file, conf->proxy,
		    conf->connect_timeout, conf->request_timeout);
		if (b->own_upstream == NULL) {
			snprintf(errbuf, errlen, "cannot create the HTTP client");
			return -1;
		}
		b->uops = &upstream_curl_ops;
		b->uimpl = b->own_upstream;
	}
	/* No default: the in-process minter (saml.c, private keys) is not
	 * linked into the front; its callers pass it (tests, tools). */
	if (s == NULL || s->minter == NULL) {
		snprintf(errbuf, errlen, "no minter");
		return -1;
	}
	b->mops = s->minter;
	b->mimpl = s->minter_impl;
	return 0;
}

struct broker *
broker_new_with(struct event_base *base, struct broker_config *conf,
    const struct broker_seams *seams, char *errbuf, size_t errlen)
{
	struct broker	*b = xcalloc(1, sizeof(*b));
	struct timeval	 tv = { SWEEP_INTERVAL_SEC, 0 };

	b->base = base;
	b->conf = conf;
	b->tstate = tstate_new(conf, NULL);
	b->cache = cache_new(conf->max_cached_tokens, entry_state_free);
	if (seams_set(b, seams, errbuf, errlen) == -1)
		goto fail;
	b->redis = cache_redis_new(base, conf);
	b->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, b);
	if (b->sweep == NULL || event_add(b->sweep, &tv) == -1) {
		snprintf(errbuf, errlen, "cannot start the refresh timer");
		goto fail;
	}
	return b;
fail:
	tstate_free(b->tstate, conf->n_tenants);
	b->tstate = NULL;
	b->conf = NULL;	/* the caller keeps its configuration on failure */
	broker_free(b);
	return NULL;
}

static void
drop_waiters(struct cache_entry *e, void *arg)
{
	struct entry_state	*es = entry_state(e);
	struct waiter		*w = es->waiters, *next;

	es->waiters = NULL;
	for (; w != NULL; w = next) {
		next = w->next;
		reply_error(w->cb, w->arg, 503, "upstream_unavailable",
		    "the broker is shutting down");
		free(w);
	}
}

/* Pending broker_mint calls are cancelled and answered 503. */
static void
drop_mints(struct broker *b)
{
	struct mint_req	*m;

	while ((m = b->mints) != NULL) {
		b->mops->cancel(b->mimpl, m->handle);
		mint_req_unlink(m);
		reply_error(m->cb, m->arg, 503, "upstream_unavailable",
		    "the broker is shutting down");
		free(m);
	}
}

void
broker_cancel_waiters(struct broker *b)
{
	cache_foreach(b->cache, drop_waiters, b);
	drop_mints(b);
}

void
broker_free(struct broker *b)
{
	if (b == NULL)
		return;
	if (b->sweep != NULL)
		event_free(b->sweep);
	/* Pending exchanges and mints are cancelled without callbacks, then
	 * whoever waits is answered. */
	if (b->mops != NULL) {
		exchange_cancel_all(b);
		drop_mints(b);
	}
	exchange_pacers_free(b);
	cache_redis_free(b->redis);
	if (b->cache != NULL)
		cache_foreach(b->cache, drop_waiters, b);
	cache_free(b->cache);
	upstream_free(b->own_upstream);
	tstate_free(b->tstate, b->conf != NULL ? b->conf->n_tenants : 0);
	config_free(b->conf);
	free(b);
}

/* On reload: entries of a tenant that changed or went away, or of a
 * service that went away, lose their tokens (a changed client must not keep
 * serving tokens obtained with the old one).  A change of the [saml] keys
 * and certificates or of client secrets alone (a rollover, provision
 * --rotate-secrets) keeps them, forgetting only the entries' failures: a
 * token does not depend on the key that signed the assertion it was
 * exchanged for, nor on the secret of the client that asked for it. */
struct reconfigure_ctx {
	struct broker		*broker;
	struct broker_config	*old;
};

static void
reconfigure_entry(struct cache_entry *e, void *arg)
{
	struct reconfigure_ctx	*rc = arg;
	struct tenant		*nt = config_tenant_find(rc->broker->conf, e->tenant);
	struct tenant		*ot = config_tenant_find(rc->old, e->tenant);
	struct policy		*pol = &entry_state(e)->pol;

	if (nt != NULL && ot != NULL && nt->digest == ot->digest)
		return;
	/* Only keys or client secrets changed: the token stays, the failures
	 * of the old settings are forgotten (a fixed secret is tried at once). */
	if (nt != NULL && ot != NULL && nt->cache_digest == ot->cache_digest) {
		if (e->token != NULL || pol->in_flight) {
			policy_forget_failures(pol);
			pol->last_status = 0;
		} else
			cache_remove(rc->broker->cache, e);
		return;
	}
	if (pol->in_flight) {
		cache_clear_token(e);
		exchange_discard(rc->broker, e);
	} else
		cache_remove(rc->broker->cache, e);
}

int
broker_reconfigure(struct broker *b, struct broker_config *conf, char *errbuf,
    size_t errlen)
{
	struct reconfigure_ctx	 rc = { b, b->conf };
	struct tenant_state	*ts;

	if (b->mops->reconfigure != NULL &&
	    b->mops->reconfigure(b->mimpl, conf, errbuf, errlen) == -1)
		return -1;
	ts = tstate_new(conf, b);
	tstate_free(b->tstate, b->conf->n_tenants);
	b->tstate = ts;
	b->conf = conf;
	exchange_recount(b);
	cache_foreach(b->cache, reconfigure_entry, &rc);
	/* Changed tenants lost their tokens: every file is rewritten once. */
	broker_persist_mark_all(b);
	config_free(rc.old);
	return 0;
}

const struct broker_config *
broker_config(const struct broker *b)
{
	return b->conf;
}

const struct tenant_stats *
broker_tenant_stats(const struct broker *b, size_t i)
{
	return i < b->conf->n_tenants ? &b->tstate[i].stats : NULL;
}

const struct client_stats *
broker_client_stats(const struct broker *b, size_t i, size_t client)
{
	if (i >= b->conf->n_tenants || client >= b->tstate[i].n_clients)
		return NULL;
	return &b->tstate[i].clients[client];
}

bool
broker_tenant_failing(const struct broker *b, size_t i)
{
	if (i >= b->conf->n_tenants)
		return false;
	for (size_t c = 0; c < b->tstate[i].n_clients; c++)
		if (b->tstate[i].clients[c].failed)
			return true;
	return false;
}

struct client_stats *
broker_client_find(struct broker *b, const char *tenant, const char *client)
{
	ssize_t			 ti = broker_tenant_index(b, tenant);
	const struct tenant	*t;

	if (ti == -1)
		return NULL;
	t = b->conf->tenants[ti];
	for (size_t c = 0; c < b->tstate[ti].n_clients; c++)
		if (strcmp(tenant_client(t, c)->name, client) == 0)
			return &b->tstate[ti].clients[c];
	return NULL;
}

const struct upstream_stats *
broker_upstream_stats(const struct broker *b)
{
	return &b->ustats;
}

const struct cache_redis *
broker_redis(const struct broker *b)
{
	return b->redis;
}

size_t
broker_cached_count(const struct broker *b)
{
	return cache_count(b->cache);
}

struct count_ctx {
	const char	*tenant;
	size_t		 n;
};

static void
count_entry(struct cache_entry *e, void *arg)
{
	struct count_ctx *c = arg;

	if (e->token != NULL && strcmp(e->tenant, c->tenant) == 0)
		c->n++;
}

size_t
broker_cached_count_tenant(const struct broker *b, const char *tenant)
{
	struct count_ctx c = { tenant, 0 };

	cache_foreach(b->cache, count_entry, &c);
	return c.n;
}
