/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broker_fixture.c - the fakes and helpers of tests/broker_fixture.h.
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

static char	*fx_cert, *fx_key, *fx_password;
double		 fake;

static double
fake_now(void)
{
	return fake;
}

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *
fixture_read(const char *file)
{
	const char	*top = getenv("top_srcdir");
	char		 path[4096], *buf;
	size_t		 len;

	snprintf(path, sizeof(path), "%s/tests/data/keys/vendor-pkcs8/%s",
	    top != NULL ? top : ".", file);
	if (read_file_limited(path, 1 << 20, &buf, &len) == -1)
		fail_msg("cannot read %s", path);
	return buf;
}

/*
 * The fake token endpoint (struct upstream_ops).
 */

static void
call_unlink(struct call *c)
{
	struct call	**pp;

	for (pp = &c->f->calls; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	c->f->n_calls--;
	if (c->ev != NULL)
		event_free(c->ev);
	free(c);
}

static void
call_fire(evutil_socket_t fd, short what, void *arg)
{
	struct call		*c = arg;
	struct upstream_result	 r;
	char			 body[256];

	memset(&r, 0, sizeof(r));
	r.grant = c->grant;
	r.latency = 0.002;
	switch (c->b.act) {
	case ACT_TOKEN:
		snprintf(body, sizeof(body), "{\"access_token\":\"tok-%d\","
		    "\"token_type\":\"bearer\",\"expires_in\":%ld}", c->num,
		    c->b.expires_in);
		upstream_answer_read(200, body, strlen(body), NULL, fake, &r);
		break;
	case ACT_STATUS:
		upstream_answer_read(c->b.status, c->b.body, strlen(c->b.body),
		    c->b.retry_after, fake, &r);
		break;
	default:
		upstream_result_fail(&r, UPSTREAM_TIMEOUT, "timeout",
		    "token request failed: timed out");
		break;
	}
	c->cb(&r, c->arg);
	secret_free(r.access_token);
	call_unlink(c);
}

/* Answers a call from the loop, soon. */
static void
call_schedule(struct call *c)
{
	struct timeval	 zero = { 0, 0 };

	c->ev = evtimer_new(c->f->base, call_fire, c);
	assert_non_null(c->ev);
	assert_int_equal(evtimer_add(c->ev, &zero), 0);
}

static void *
fake_start(void *impl, const struct upstream_request *req, upstream_cb cb,
    void *arg)
{
	struct fixture	*f = impl;
	struct call	*c = xcalloc(1, sizeof(*c));
	struct seen	*s;
	char		 creds[128], *b64;

	assert_true(f->n_requests < MAX_SEEN);
	s = &f->seen[f->n_requests++];
	s->grant = req->grant == GRANT_SAML2_BEARER ? 'S' : 'C';
	s->has_org = strcmp(req->tenant->organization_sname, ORG) == 0 &&
	    req->assertion_b64 != NULL && strlen(req->assertion_b64) > 1000;
	snprintf(creds, sizeof(creds), "%s:%s", req->client->client_id,
	    req->client->secret);
	b64 = base64_encode((unsigned char *)creds, strlen(creds), 0);
	snprintf(s->authorization, sizeof(s->authorization), "Basic %s", b64);
	free(b64);
	c->f = f;
	c->cb = cb;
	c->arg = arg;
	c->grant = req->grant;
	c->num = f->n_requests;
	c->b = f->next_script < f->n_script ? f->script[f->next_script++] :
	    f->dflt;
	c->next = f->calls;
	f->calls = c;
	f->n_calls++;
	if (c->b.act == ACT_HOLD)
		f->n_held++;
	else
		call_schedule(c);
	return c;
}

static void
fake_cancel(void *impl, void *handle)
{
	struct fixture	*f = impl;
	struct call	*c = handle;

	if (c->b.act == ACT_HOLD && c->ev == NULL)
		f->n_held--;
	f->n_cancelled++;
	call_unlink(c);
}

static const struct upstream_ops fake_upstream = { fake_start, fake_cancel };

void
script_add(struct fixture *f, struct behaviour b)
{
	assert_true(f->n_script < MAX_SCRIPT);
	f->script[f->n_script++] = b;
}

struct behaviour
token(long expires_in)
{
	return (struct behaviour){ .act = ACT_TOKEN, .expires_in = expires_in };
}

struct behaviour
status(int st, const char *body, const char *retry_after)
{
	return (struct behaviour){ .act = ACT_STATUS, .status = st,
	    .body = body, .retry_after = retry_after };
}

const struct behaviour hold = { .act = ACT_HOLD };
const struct behaviour timeout_ = { .act = ACT_TIMEOUT };

/* Answers the oldest held request (from the loop). */
void
release(struct fixture *f, struct behaviour b)
{
	struct call	*c, *oldest = NULL;

	for (c = f->calls; c != NULL; c = c->next)
		if (c->b.act == ACT_HOLD && c->ev == NULL)
			oldest = c;	/* the list is newest first */
	assert_non_null(oldest);
	oldest->b = b;
	f->n_held--;
	call_schedule(oldest);
}

/*
 * A fake minter (struct minter_ops) for the outcomes the real one cannot
 * give on demand: busy, failed.
 */

static void
mint_fire(evutil_socket_t fd, short what, void *arg)
{
	struct fake_mint	*m = arg;
	struct mint_result	 r = { .outcome = m->outcome };

	m->live = false;
	event_free(m->ev);
	m->ev = NULL;
	if (r.outcome == MINT_OK) {
		r.saml_response_b64 = xstrdup("PHNhbWxwOlJlc3BvbnNlLz4=");
		r.not_on_or_after = fake + 300;
	} else if (r.outcome == MINT_BUSY) {
		r.retry_after = 2;
		snprintf(r.message, sizeof(r.message), "queues full");
	} else
		snprintf(r.message, sizeof(r.message), "signer died");
	m->cb(&r, m->arg);
	secret_free(r.saml_response_b64);
}

static void *
fake_mint_start(void *impl, const char *tenant, const char *email, double now,
    mint_cb cb, void *arg)
{
	struct fixture		*f = impl;
	struct fake_mint	*m;
	struct timeval		 zero = { 0, 0 };

	assert_true(f->n_mints < 8);
	m = &f->mints[f->n_mints++];
	*m = (struct fake_mint){ .f = f, .outcome = f->mint_outcome, .cb = cb,
	    .arg = arg, .live = true };
	m->ev = evtimer_new(f->base, mint_fire, m);
	evtimer_add(m->ev, &zero);
	return m;
}

static void
fake_mint_cancel(void *impl, void *handle)
{
	struct fixture		*f = impl;
	struct fake_mint	*m = handle;

	assert_true(m->live);
	m->live = false;
	event_free(m->ev);
	m->ev = NULL;
	f->n_mint_cancels++;
}

static const struct minter_ops fake_minter = {
	fake_mint_start, fake_mint_cancel, NULL
};

/*
 * Configuration by hand, as config.c would hand it over.
 */

static void
client_set(struct service_client *c, const char *name, const char *id,
    const char *secret)
{
	c->name = xstrdup(name);
	c->client_id = xstrdup(id);
	c->secret = xstrdup(secret);
	c->secret_option = "client_secret";
}

static struct tenant *
tenant_make(const struct fixture *f, const char *name, int hours,
    uint64_t digest)
{
	struct tenant	*t = xcalloc(1, sizeof(*t));
	char		 err[256], *pw = xstrdup(fx_password);

	t->name = xstrdup(name);
	t->organization_sname = xstrdup(ORG);
	t->organization_id = xstrdup("6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f");
	t->base_auth_url = xstrdup(URL);
	t->base_service_url = xstrdup("https://api.mypurecloud.com/api/");
	t->issuer = xstrdup(ISSUER);
	t->expire_time_hours = hours;
	t->assertion_lifetime = 300;
	client_set(&t->saml_auth, "saml_auth", "saml-client", "saml-secret");
	t->services = xcalloc(1, sizeof(*t->services));
	t->n_services = 1;
	client_set(&t->services[0], "ewt", "svc-id", "svc-secret");
	t->keys = keystore_load(fx_cert, fx_key, pw, err, sizeof(err));
	secret_free(pw);
	if (t->keys == NULL)
		fail_msg("keystore_load: %s", err);
	t->digest = digest;
	t->cache_digest = digest;
	return t;
}

/* Tenants "acme" (24 h, digest 1) and, with two, "beta" (digest 2). */
struct broker_config *
config_make(const struct fixture *f, size_t n_tenants, size_t max_cached)
{
	struct broker_config	*c = xcalloc(1, sizeof(*c));

	c->max_cached_tokens = max_cached;
	c->max_connections = 100;	/* also bounds the exchanges in progress */
	c->max_exchanges_per_tenant = 32;
	c->connect_timeout = 5;
	c->request_timeout = 5;
	c->tenants = xcalloc(n_tenants, sizeof(*c->tenants));
	c->tenants[c->n_tenants++] = tenant_make(f, "acme", 24, 1);
	if (n_tenants > 1)
		c->tenants[c->n_tenants++] = tenant_make(f, "beta", 24, 2);
	return c;
}

/*
 * The fixture: loop, fakes, broker.
 */

static void
tick(evutil_socket_t fd, short what, void *arg)
{
}

void
broker_start(struct fixture *f, struct broker_config *c)
{
	struct broker_seams	 seams = { &fake_upstream, f, NULL, NULL };
	char			 err[256];

	if (f->fake_minter) {
		seams.minter = &fake_minter;
		seams.minter_impl = f;
	} else {
		/* The broker has no minter of its own: the in-process one. */
		if (f->broker == NULL) {
			minter_local_free(f->local_minter);
			f->local_minter = NULL;
		}
		if (f->local_minter == NULL &&
		    (f->local_minter = minter_local_new(f->base, c, err, sizeof(err))) == NULL)
			fail_msg("minter_local_new: %s", err);
		seams.minter = &minter_local_ops;
		seams.minter_impl = f->local_minter;
	}
	f->broker = broker_new_with(f->base, c, &seams, err, sizeof(err));
	if (f->broker == NULL)
		fail_msg("broker_new_with: %s", err);
}

struct fixture *
fixture_new(void)
{
	struct fixture	*f = xcalloc(1, sizeof(*f));
	struct timeval	 tv = { 0, 20000 };

	f->base = event_base_new();
	assert_non_null(f->base);
	/* Wakes the loop now and then so the helpers can check their deadline. */
	f->ticker = event_new(f->base, -1, EV_PERSIST, tick, NULL);
	event_add(f->ticker, &tv);
	f->dflt = token(3600);
	fake = T0;
	clock_set(fake_now);
	return f;
}

/* Runs what is ready on the loop (answers, mints) without waiting. */
void
drain(struct fixture *f)
{
	for (int i = 0; i < 8; i++)
		event_base_loop(f->base, EVLOOP_NONBLOCK);
}

void
fixture_free(struct fixture *f)
{
	broker_free(f->broker);
	minter_local_free(f->local_minter);
	/* The broker cancelled whatever it had started. */
	if (f->n_calls != 0)
		fprintf(stderr, "fixture: %d calls left after broker_free\n",
		    f->n_calls);
	while (f->calls != NULL)
		call_unlink(f->calls);
	for (int i = 0; i < f->n_got; i++)
		secret_free(f->got[i].saml);
	event_free(f->ticker);
	event_base_free(f->base);
	clock_set(NULL);
	free(f);
}

int
setup(void **state)
{
	struct fixture	*f = fixture_new();

	broker_start(f, config_make(f, 1, 100));
	*state = f;
	return 0;
}

/* For tests that build their own configuration. */
int
setup_bare(void **state)
{
	*state = fixture_new();
	return 0;
}

int
teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

/* Runs the loop until *counter reaches target, for at most seconds. */
bool
wait_for(struct fixture *f, const int *counter, int target, double seconds)
{
	double	 deadline = mono() + seconds;

	while (*counter < target && mono() < deadline)
		event_base_loop(f->base, EVLOOP_ONCE);
	return *counter == target;
}

void
run_until(struct fixture *f, const int *counter, int target, double seconds)
{
	wait_for(f, counter, target, seconds);
	assert_int_equal(*counter, target);
}

uint64_t
exchanges_total(const struct fixture *f)
{
	const struct upstream_stats	*u = broker_upstream_stats(f->broker);
	uint64_t			 n = 0;

	for (int g = 0; g < 2; g++)
		for (int o = 0; o < 4; o++)
			n += u->exchanges[g][o];
	return n;
}

/* Runs the loop until n exchanges have completed. */
void
wait_exchanges(struct fixture *f, uint64_t n)
{
	double	 deadline = mono() + 5;

	while (exchanges_total(f) < n && mono() < deadline)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_int_equal(exchanges_total(f), n);
}

/*
 * Callers.
 */

void
record_reply(struct fixture *f, const struct broker_reply *r)
{
	struct got	*g;

	assert_true(f->n_got < MAX_GOT);
	g = &f->got[f->n_got++];
	memset(g, 0, sizeof(*g));
	g->status = r->status;
	if ((g->has_error = r->error != NULL))
		snprintf(g->error, sizeof(g->error), "%s", r->error);
	if (r->message != NULL)
		snprintf(g->message, sizeof(g->message), "%s", r->message);
	if ((g->has_upstream_error = r->upstream_error != NULL))
		snprintf(g->upstream_error, sizeof(g->upstream_error), "%s",
		    r->upstream_error);
	if ((g->has_token = r->token != NULL))
		snprintf(g->token, sizeof(g->token), "%s", r->token);
	g->expires_at = r->expires_at;
	g->retry_after = r->retry_after;
	g->from_cache = r->from_cache;
	if (r->saml_response != NULL)
		g->saml = xstrdup(r->saml_response);
	g->not_on_or_after = r->not_on_or_after;
}

void
got_cb(const struct broker_reply *r, void *arg)
{
	record_reply(arg, r);
}

/* A get answered before broker_get_token returns. */
struct got *
get_sync(struct fixture *f, const char *tenant, enum token_kind kind,
    const char *subject)
{
	int	 n = f->n_got;

	broker_get_token(f->broker, tenant, kind, subject, got_cb, f);
	assert_int_equal(f->n_got, n + 1);
	return &f->got[n];
}

/* A get answered later, from the loop. */
struct got *
get_async(struct fixture *f, const char *tenant, enum token_kind kind,
    const char *subject)
{
	int	 n = f->n_got;

	broker_get_token(f->broker, tenant, kind, subject, got_cb, f);
	assert_int_equal(f->n_got, n);
	run_until(f, &f->n_got, n + 1, 5);
	return &f->got[n];
}

/* A broker_mint call: refusals answer at once, mints from the loop. */
struct got *
mint(struct fixture *f, const char *tenant, const char *email)
{
	int	 n = f->n_got;

	broker_mint(f->broker, tenant, email, got_cb, f);
	run_until(f, &f->n_got, n + 1, 5);
	return &f->got[n];
}

void
assert_token(const struct got *g, const char *tok, double expires_at,
    bool from_cache)
{
	assert_int_equal(g->status, 200);
	assert_false(g->has_error);
	assert_false(g->has_upstream_error);
	assert_true(g->has_token);
	assert_string_equal(g->token, tok);
	assert_true(g->expires_at == expires_at);
	assert_true(g->retry_after == 0);
	assert_int_equal(g->from_cache, from_cache);
}

void
assert_failure(const struct got *g, int st, const char *error,
    const char *message)
{
	assert_int_equal(g->status, st);
	assert_true(g->has_error);
	assert_string_equal(g->error, error);
	assert_string_equal(g->message, message);
	assert_false(g->has_token);
	assert_false(g->from_cache);
}

void
assert_stats(const struct fixture *f, size_t ti, uint64_t hits,
    uint64_t misses, uint64_t mints)
{
	const struct tenant_stats	*ts = broker_tenant_stats(f->broker, ti);

	assert_non_null(ts);
	assert_int_equal(ts->hits, hits);
	assert_int_equal(ts->misses, misses);
	assert_int_equal(ts->mints, mints);
}

/* Completed exchanges by grant and outcome (ok, rejected, unavailable, timeout). */
void
assert_exchanges(const struct fixture *f, const uint64_t saml[4],
    const uint64_t cc[4])
{
	const struct upstream_stats	*u = broker_upstream_stats(f->broker);
	uint64_t			 total = 0, buckets = 0;

	for (int o = 0; o < 4; o++) {
		assert_int_equal(u->exchanges[GRANT_SAML2_BEARER][o], saml[o]);
		assert_int_equal(u->exchanges[GRANT_CLIENT_CREDENTIALS][o], cc[o]);
		total += saml[o] + cc[o];
	}
	for (int i = 0; i < 12; i++)
		buckets += u->latency_buckets[i];
	assert_int_equal(u->latency_count, total);
	assert_int_equal(buckets, total);
	assert_true(u->latency_sum >= 0 && u->latency_sum < 5.0 * (double)total + 1);
}



void
fixture_global_init(void)
{
	keystore_global_init();
	log_init(LOG_LEVEL_ERROR, "test_broker");
	if (saml_global_init() == -1)
		fail_msg("saml_global_init");
	fx_cert = fixture_read("cert.pem.b64");
	fx_key = fixture_read("key.pem.enc.b64");
	fx_password = fixture_read("password");
}

void
fixture_global_shutdown(void)
{
	free(fx_cert);
	free(fx_key);
	secret_free(fx_password);
	saml_global_shutdown();
	libevent_global_shutdown();
}
