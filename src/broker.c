/*
 * broker.c - the token service behind the HTTP API.
 *
 * Owns the policy: which token a caller gets, when the cache answers, when
 * an upstream exchange starts, who waits for it, when a token is refreshed
 * ahead of expiry, and how failures are remembered and backed off.  It owns
 * no sockets: server.c speaks HTTP, upstream.c speaks to PureCloud, cache.c
 * stores entries, saml.c signs.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "samlbroker.h"

/* How often entries are checked for refresh-ahead and expiry. */
#define SWEEP_INTERVAL_SEC	1
/* How long invalid_client / invalid_grant answers are remembered. */
#define HARD_FAILURE_MEMORY	5.0
/* Longest backoff between retries of a failing exchange. */
#define BACKOFF_MAX		300.0
/* Longest Retry-After honoured. */
#define RETRY_AFTER_MAX		3600.0

struct waiter {
	broker_cb	 cb;
	void		*arg;
	struct waiter	*next;
};

struct tenant_state {
	struct saml_signer	*signer;
	struct tenant_stats	 stats;
};

struct broker {
	struct event_base	*base;
	struct broker_config	*conf;
	struct tenant_state	*tstate;	/* parallel to conf->tenants */
	struct cache		*cache;
	struct upstream		*upstream;
	struct event		*sweep;
	struct upstream_stats	 ustats;
	struct exchange		*exchanges;	/* pending, freed on shutdown */
};

struct exchange {
	struct broker		*broker;
	struct cache_entry	*entry;	/* never evicted while in flight */
	bool			 discard;	/* tenant changed meanwhile: keep no token */
	struct exchange		*prev, *next;	/* broker's list of pending ones */
};

static double
random_unit(void)
{
	uint32_t	 r;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)random();
	return (double)r / 4294967296.0;
}

/* A token with less than this left is never handed out. */
static double
safety_margin(const struct cache_entry *e)
{
	double	 life = e->expires_at - e->obtained_at;

	return fmin(60.0, life / 5.0);
}

static bool
token_usable(const struct cache_entry *e, double now)
{
	return e->token != NULL && now < e->expires_at - safety_margin(e);
}

static ssize_t
tenant_index(const struct broker *b, const char *name)
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
	double		 until;		/* failing: no new attempt before */
};

static void
answer_take(struct answer *a, const struct cache_entry *e, double now)
{
	memset(a, 0, sizeof(*a));
	if (token_usable(e, now)) {
		a->token = xstrdup(e->token);
		a->expires_at = e->expires_at;
		return;
	}
	a->status = e->last_http_status;
	snprintf(a->error, sizeof(a->error), "%s", e->last_error);
	a->until = fmax(e->retry_at, e->hard_fail_until);
}

static void
answer_give(const struct answer *a, double now, bool from_cache, broker_cb cb,
    void *arg)
{
	struct broker_reply	 r = { .status = a->status };
	char			 msg[160];

	if (a->token != NULL) {
		r.status = 200;
		r.token = a->token;
		r.expires_at = a->expires_at;
		r.from_cache = from_cache;
		cb(&r, arg);
		return;
	}
	switch (a->status) {
	case 502:
		r.error = "upstream_rejected";
		r.upstream_error = a->error;
		snprintf(msg, sizeof(msg), "the token endpoint refused the request (%s)",
		    a->error);
		break;
	case 504:
		r.error = "upstream_timeout";
		snprintf(msg, sizeof(msg), "the token endpoint did not answer in time");
		break;
	default:
		r.status = 503;
		r.error = "upstream_unavailable";
		snprintf(msg, sizeof(msg), "the token endpoint is unavailable (%s)",
		    a->error);
		break;
	}
	r.message = msg;
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

/* Answers one caller about an entry, safe against re-entry. */
static void
reply_entry(const struct cache_entry *e, double now, bool from_cache,
    broker_cb cb, void *arg)
{
	struct answer	 a;

	answer_take(&a, e, now);
	answer_give(&a, now, from_cache, cb, arg);
	answer_clear(&a);
}

static void
waiters_add(struct cache_entry *e, broker_cb cb, void *arg)
{
	struct waiter	*w = xcalloc(1, sizeof(*w)), **tail;

	w->cb = cb;
	w->arg = arg;
	for (tail = (struct waiter **)&e->waiters; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = w;
}

/* Answers and frees every waiter.  The entry is read once, before any
 * callback runs: callbacks may re-enter the broker and evict it. */
static void
waiters_answer(struct cache_entry *e, double now)
{
	struct waiter	*w = e->waiters, *next;
	struct answer	 a;

	e->waiters = NULL;
	answer_take(&a, e, now);
	for (; w != NULL; w = next) {
		next = w->next;
		answer_give(&a, now, false, w->cb, w->arg);
		free(w);
	}
	answer_clear(&a);
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

static bool
hard_failure(const char *error)
{
	return strcmp(error, "invalid_client") == 0 ||
	    strcmp(error, "invalid_grant") == 0 ||
	    strcmp(error, "unauthorized_client") == 0;
}

static void
exchange_unlink(struct exchange *x)
{
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		x->broker->exchanges = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	free(x);
}

static void
exchange_done(struct upstream_result *res, void *arg)
{
	struct exchange		*x = arg;
	struct broker		*b = x->broker;
	struct cache_entry	*e = x->entry;
	struct tenant_stats	*ts = NULL;
	ssize_t			 ti;
	double			 now = clock_now();
	bool			 discard = x->discard;

	exchange_unlink(x);
	e->in_flight = false;
	if ((ti = tenant_index(b, e->tenant)) != -1)
		ts = &b->tstate[ti].stats;
	b->ustats.exchanges[res->grant][res->outcome]++;
	record_latency(&b->ustats, res->latency);

	if (res->outcome == UPSTREAM_OK) {
		double	 life = (double)res->expires_in;
		const struct tenant *t = ti != -1 ? b->conf->tenants[ti] : NULL;

		if (t != NULL && life > t->expire_time_hours * 3600.0)
			life = t->expire_time_hours * 3600.0;
		cache_set_token(e, res->access_token, now, now + life,
		    now + life * (0.6 + 0.1 * random_unit()));
		res->access_token = NULL;
		e->failures = 0;
		e->retry_at = 0;
		e->hard_fail_until = 0;
		e->last_error[0] = '\0';
		if (ts != NULL) {
			ts->last_success = now;
			ts->consecutive_failures = 0;
			ts->current_backoff = 0;
		}
		log_info("event=exchange tenant=%s kind=%s outcome=ok expires_in=%ld "
		    "latency_ms=%.1f", e->tenant, e->kind == TOKEN_USER ? "user" :
		    "service", res->expires_in, res->latency * 1000);
	} else {
		double	 backoff;
		int	 shift = e->failures < 9 ? e->failures : 9;

		e->failures++;
		backoff = fmin(BACKOFF_MAX, (double)(1 << shift) *
		    (0.5 + random_unit()));
		if (res->retry_after > backoff)
			backoff = fmin(res->retry_after, RETRY_AFTER_MAX);
		e->retry_at = now + backoff;
		snprintf(e->last_error, sizeof(e->last_error), "%s", res->error);
		switch (res->outcome) {
		case UPSTREAM_REJECTED:
			e->last_http_status = 502;
			if (hard_failure(res->error))
				e->hard_fail_until = now + HARD_FAILURE_MEMORY;
			break;
		case UPSTREAM_TIMEOUT:
			e->last_http_status = 504;
			break;
		default:
			e->last_http_status = 503;
			break;
		}
		if (ts != NULL) {
			ts->last_failure = now;
			snprintf(ts->last_error, sizeof(ts->last_error), "%s", res->error);
			ts->consecutive_failures++;
			ts->current_backoff = backoff;
		}
		log_warnx("event=exchange tenant=%s kind=%s outcome=failed error=%s "
		    "http_status=%ld retry_in=%.1f message=\"%s\"", e->tenant,
		    e->kind == TOKEN_USER ? "user" : "service", res->error,
		    res->http_status, backoff, res->message);
	}
	/* Obtained with a configuration that has since changed: the callers
	 * that waited for it get it, the cache does not keep it. */
	if (discard) {
		struct waiter	*w = e->waiters;
		struct answer	 a;

		answer_take(&a, e, now);
		e->waiters = NULL;
		cache_clear_token(e);
		for (struct waiter *next; w != NULL; w = next) {
			next = w->next;
			answer_give(&a, now, false, w->cb, w->arg);
			free(w);
		}
		answer_clear(&a);
		return;
	}
	waiters_answer(e, now);
}

/* Starts one upstream exchange for an entry; -1 with a message on failure. */
static int
exchange_start(struct broker *b, struct cache_entry *e, const char **why)
{
	struct exchange		*x;
	ssize_t			 ti = tenant_index(b, e->tenant);
	const struct tenant	*t;
	char			 err[256], *b64 = NULL;
	double			 nooa;
	int			 rc;

	if (ti == -1) {
		*why = "tenant no longer configured";
		return -1;
	}
	t = b->conf->tenants[ti];
	x = xcalloc(1, sizeof(*x));
	x->broker = b;
	x->entry = e;
	if (e->kind == TOKEN_USER) {
		if (saml_mint_response_b64(b->tstate[ti].signer, e->subject,
		    clock_now(), &b64, &nooa, err, sizeof(err)) == -1) {
			log_warnx("event=mint tenant=%s error=\"%s\"", t->name, err);
			free(x);
			*why = "cannot sign the SAML assertion";
			return -1;
		}
		b->tstate[ti].stats.mints++;
		rc = upstream_exchange_saml2(b->upstream, t, b64, exchange_done, x);
		secret_free(b64);
	} else {
		const struct service_client *svc = tenant_service_find(t, e->subject);

		if (svc == NULL) {
			free(x);
			*why = "service no longer configured";
			return -1;
		}
		rc = upstream_exchange_client_credentials(b->upstream, t, svc,
		    exchange_done, x);
	}
	if (rc == -1) {
		free(x);
		*why = "cannot start the upstream request";
		return -1;
	}
	if ((x->next = b->exchanges) != NULL)
		x->next->prev = x;
	b->exchanges = x;
	e->in_flight = true;
	return 0;
}

/* Checks that a request names a known tenant (and service) and a valid
 * address; on failure fills r with the answer. */
static int
request_check(struct broker *b, const char *tname, enum token_kind kind,
    const char *subject, struct broker_reply *r, ssize_t *ret_ti)
{
	const char	*why;
	ssize_t		 ti;

	memset(r, 0, sizeof(*r));
	if ((ti = tenant_index(b, tname)) == -1) {
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
	*ret_ti = ti;
	return 0;
}

void
broker_get_token(struct broker *b, const char *tname, enum token_kind kind,
    const char *subject, broker_cb cb, void *arg)
{
	struct cache_entry	*e;
	struct tenant_stats	*ts;
	struct broker_reply	 r;
	const char		*why;
	ssize_t			 ti;
	double			 now;

	if (request_check(b, tname, kind, subject, &r, &ti) == -1) {
		cb(&r, arg);
		return;
	}
	ts = &b->tstate[ti].stats;
	now = clock_now();
	e = cache_lookup(b->cache, tname, kind, subject);
	if (e != NULL && token_usable(e, now)) {
		ts->hits++;
		/* Past its refresh point: renew in the background (started before
		 * the answer, whose callback may evict the entry). */
		if (now >= e->refresh_at && !e->in_flight && now >= e->retry_at &&
		    now >= e->hard_fail_until && exchange_start(b, e, &why) == -1)
			log_warnx("event=refresh tenant=%s error=\"%s\"", tname, why);
		reply_entry(e, now, true, cb, arg);
		return;
	}
	ts->misses++;
	if (e == NULL)
		e = cache_insert(b->cache, tname, kind, subject);
	if (e->in_flight) {
		waiters_add(e, cb, arg);
		return;
	}
	if (now < e->hard_fail_until || (e->failures > 0 && now < e->retry_at)) {
		reply_entry(e, now, false, cb, arg);
		return;
	}
	/* Callers that hang up do not cancel exchanges: bound how many run. */
	if (upstream_pending(b->upstream) >= b->conf->max_connections) {
		struct broker_reply busy = { .status = 503,
		    .error = "upstream_unavailable",
		    .message = "too many token exchanges in progress",
		    .retry_after = 1 };

		if (e->token == NULL && e->waiters == NULL && e->failures == 0)
			cache_remove(b->cache, e);
		cb(&busy, arg);
		return;
	}
	if (exchange_start(b, e, &why) == -1) {
		reply_error(cb, arg, 500, "internal_error", why);
		if (!e->in_flight && e->token == NULL && e->waiters == NULL)
			cache_remove(b->cache, e);
		return;
	}
	waiters_add(e, cb, arg);
}

int
broker_evict_token(struct broker *b, const char *tname, enum token_kind kind,
    const char *subject, struct broker_reply *r)
{
	struct cache_entry	*e;
	ssize_t			 ti;

	if (request_check(b, tname, kind, subject, r, &ti) == -1)
		return -1;
	if ((e = cache_lookup(b->cache, tname, kind, subject)) == NULL)
		return 0;
	/* An entry in flight keeps its waiters, and a failing one its
	 * failure memory and backoff (DELETE must not defeat them): only the
	 * token goes. */
	if (e->in_flight || e->failures > 0 || e->hard_fail_until > clock_now()) {
		cache_clear_token(e);
		return 0;
	}
	cache_remove(b->cache, e);
	return 0;
}

int
broker_mint(struct broker *b, const char *tname, const char *email,
    char **ret_b64, double *ret_nooa, struct broker_reply *r)
{
	char		 err[256];
	ssize_t		 ti;

	if (request_check(b, tname, TOKEN_USER, email, r, &ti) == -1)
		return -1;
	if (saml_mint_response_b64(b->tstate[ti].signer, email, clock_now(),
	    ret_b64, ret_nooa, err, sizeof(err)) == -1) {
		log_warnx("event=mint tenant=%s error=\"%s\"", tname, err);
		r->status = 500;
		r->error = "internal_error";
		r->message = "cannot sign the SAML assertion";
		return -1;
	}
	b->tstate[ti].stats.mints++;
	return 0;
}

/* Once a second: refresh service tokens ahead of expiry, wipe expired ones,
 * drop idle entries that hold nothing worth keeping. */
static void
sweep_entry(struct cache_entry *e, void *arg)
{
	struct broker	*b = arg;
	const char	*why;
	double		 now = clock_now();

	if (e->in_flight || e->waiters != NULL)
		return;
	if (tenant_index(b, e->tenant) == -1) {
		cache_remove(b->cache, e);
		return;
	}
	if (e->token != NULL && now >= e->expires_at - safety_margin(e))
		cache_clear_token(e);
	/* A key without a token is kept while its failures matter: dropping
	 * it would restart the backoff at one second. */
	if (e->token == NULL) {
		if (now >= e->hard_fail_until &&
		    (e->failures == 0 || now >= e->retry_at + BACKOFF_MAX))
			cache_remove(b->cache, e);
		return;
	}
	if (e->kind == TOKEN_SERVICE && now >= e->refresh_at &&
	    now >= e->retry_at && now >= e->hard_fail_until &&
	    exchange_start(b, e, &why) == -1)
		log_warnx("event=refresh tenant=%s service=%s error=\"%s\"",
		    e->tenant, e->subject, why);
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker	*b = arg;

	cache_foreach(b->cache, sweep_entry, b);
}

static struct tenant_state *
tstate_new(struct broker_config *conf, struct broker *old, char *errbuf,
    size_t errlen)
{
	struct tenant_state	*ts = xcalloc(conf->n_tenants, sizeof(*ts));

	for (size_t i = 0; i < conf->n_tenants; i++) {
		const struct tenant	*t = conf->tenants[i];
		ssize_t			 oi = old ? tenant_index(old, t->name) : -1;

		if (oi != -1 && old->conf->tenants[oi]->digest == t->digest)
			ts[i].stats = old->tstate[oi].stats;
		if ((ts[i].signer = saml_signer_new(t, errbuf, errlen)) == NULL) {
			for (size_t k = 0; k < i; k++)
				saml_signer_free(ts[k].signer);
			free(ts);
			return NULL;
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
		saml_signer_free(ts[i].signer);
	free(ts);
}

struct broker *
broker_new(struct event_base *base, struct broker_config *conf, char *errbuf,
    size_t errlen)
{
	struct broker	*b = xcalloc(1, sizeof(*b));
	struct timeval	 tv = { SWEEP_INTERVAL_SEC, 0 };

	b->base = base;
	b->conf = conf;
	if ((b->tstate = tstate_new(conf, NULL, errbuf, errlen)) == NULL)
		goto fail;
	b->cache = cache_new(conf->max_cached_tokens);
	b->upstream = upstream_new(base, conf->ca_file, conf->proxy,
	    conf->connect_timeout, conf->request_timeout);
	if (b->cache == NULL || b->upstream == NULL) {
		snprintf(errbuf, errlen, "cannot create the cache or the HTTP client");
		goto fail;
	}
	b->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, b);
	if (b->sweep == NULL || event_add(b->sweep, &tv) == -1) {
		snprintf(errbuf, errlen, "cannot start the refresh timer");
		goto fail;
	}
	return b;
fail:
	b->conf = NULL;	/* the caller keeps its configuration on failure */
	broker_free(b);
	return NULL;
}

static void
drop_waiters(struct cache_entry *e, void *arg)
{
	struct waiter	*w = e->waiters, *next;

	for (; w != NULL; w = next) {
		next = w->next;
		reply_error(w->cb, w->arg, 503, "upstream_unavailable",
		    "the broker is shutting down");
		free(w);
	}
	e->waiters = NULL;
}

void
broker_cancel_waiters(struct broker *b)
{
	cache_foreach(b->cache, drop_waiters, b);
}

void
broker_free(struct broker *b)
{
	if (b == NULL)
		return;
	if (b->sweep != NULL)
		event_free(b->sweep);
	/* Pending exchanges are cancelled without callbacks: free their
	 * contexts through the entries, then answer whoever waits. */
	upstream_free(b->upstream);
	while (b->exchanges != NULL)
		exchange_unlink(b->exchanges);
	if (b->cache != NULL)
		cache_foreach(b->cache, drop_waiters, b);
	cache_free(b->cache);
	tstate_free(b->tstate, b->conf ? b->conf->n_tenants : 0);
	config_free(b->conf);
	free(b);
}

/* On reload: entries of a tenant that changed or went away, or of a
 * service that went away, lose their tokens (a changed key or client must
 * not keep serving tokens obtained with the old one). */
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

	if (nt != NULL && ot != NULL && nt->digest == ot->digest)
		return;
	if (e->in_flight) {
		cache_clear_token(e);
		for (struct exchange *x = rc->broker->exchanges; x != NULL; x = x->next)
			if (x->entry == e)
				x->discard = true;
	} else
		cache_remove(rc->broker->cache, e);
}

int
broker_reconfigure(struct broker *b, struct broker_config *conf, char *errbuf,
    size_t errlen)
{
	struct reconfigure_ctx	 rc = { b, b->conf };
	struct tenant_state	*ts;

	if ((ts = tstate_new(conf, b, errbuf, errlen)) == NULL)
		return -1;
	tstate_free(b->tstate, rc.old->n_tenants);
	b->tstate = ts;
	b->conf = conf;
	cache_foreach(b->cache, reconfigure_entry, &rc);
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

const struct upstream_stats *
broker_upstream_stats(const struct broker *b)
{
	return &b->ustats;
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
