/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emulator_token.c - POST /oauth/token of samlbroker-emulator: client
 * authentication (HTTP Basic), the Client Credentials and SAML2 Bearer
 * grants, and the table of bearer tokens handed out, which the platform
 * API (emulator_api.c) accepts.
 *
 * A SAML2 Bearer assertion is checked against the organization's
 * PureEngage identity provider record (emulator_conf.c), as stored by
 * PUT /api/v2/identityproviders/pureengage or the configuration file.
 * Nothing secret is logged: not the client secret, the assertion or the
 * token handed out.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "emulator.h"

#define FORM_URLENCODED		"application/x-www-form-urlencoded"
#define GRANT_CC		"client_credentials"
#define GRANT_SAML2		"urn:ietf:params:oauth:grant-type:saml2-bearer"

static void
form_clear(struct evkeyvalq *form)
{
	struct evkeyval	*kv;

	TAILQ_FOREACH(kv, form, next)
		if (kv->value != NULL)
			OPENSSL_cleanse(kv->value, strlen(kv->value));
	evhttp_clear_headers(form);
}

/* Exactly one value of a form field, or NULL (*dup set when repeated). */
static const char *
form_get(struct evkeyvalq *form, const char *key, bool *dup)
{
	struct evkeyval	*kv;
	const char	*v = NULL;

	TAILQ_FOREACH(kv, form, next) {
		if (strcmp(kv->key, key) != 0)
			continue;
		if (v != NULL)
			*dup = true;
		v = kv->value;
	}
	return v;
}

static bool
content_type_is(const char *ct, const char *want)
{
	size_t	 n;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	return n == strlen(want) && strncasecmp(ct, want, n) == 0;
}

/* Whether secret (slen bytes) is s, in constant time. */
static bool
secret_is(const char *s, const char *secret, size_t slen)
{
	return s != NULL && strlen(s) == slen && CRYPTO_memcmp(s, secret, slen) == 0;
}

/* The client named by "Authorization: Basic ...", if its secret matches.
 * A client's secret before its last rotation is refused, and counted. */
static struct emu_client *
client_authenticate(struct emu *e, struct evhttp_request *req, struct answer *a)
{
	const char		*h;
	struct emu_client	*found = NULL;
	unsigned char		*dec = NULL;
	size_t			 declen = 0, idlen, slen;
	char			*colon;

	h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (h == NULL)
		return NULL;
	while (*h == ' ')
		h++;
	if (strncasecmp(h, "Basic ", 6) != 0)
		return NULL;
	if (base64_decode_lenient(h + 6, &dec, &declen) == -1)
		return NULL;
	if (strlen((char *)dec) != declen || (colon = strchr((char *)dec, ':')) == NULL)
		goto done;
	*colon = '\0';
	idlen = (size_t)(colon - (char *)dec);
	slen = declen - idlen - 1;
	log_safe(a->client_id, sizeof(a->client_id), (char *)dec);
	for (size_t i = 0; i < e->conf->n_clients; i++) {
		struct emu_client *c = &e->conf->clients[i];

		if (c->deleted || strcmp(c->client_id, (char *)dec) != 0)
			continue;
		if (secret_is(c->secret, colon + 1, slen)) {
			found = c;
			break;
		}
		if (secret_is(c->old_secret, colon + 1, slen)) {
			c->count.old_secret_refused++;
			snprintf(a->reason, sizeof(a->reason), "the secret before the last "
			    "rotation");
		}
	}
done:
	OPENSSL_cleanse(dec, declen);
	free(dec);
	return found;
}

/* A fresh opaque token: 32 random bytes, base64url without padding. */
char *
token_new(void)
{
	unsigned char	 raw[32];
	char		*s;
	size_t		 n;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		fatalx("RAND_bytes failed");
	s = base64_encode(raw, sizeof(raw), 0);
	OPENSSL_cleanse(raw, sizeof(raw));
	for (n = 0; s[n] != '\0' && s[n] != '='; n++) {
		if (s[n] == '+')
			s[n] = '-';
		else if (s[n] == '/')
			s[n] = '_';
	}
	s[n] = '\0';
	return s;
}

/* Hands out a token and remembers it (the oldest is forgotten when full). */
static void
answer_token(struct emu *e, struct emu_client *c, struct answer *a)
{
	struct emu_token	*t = &e->tokens[e->next_token];
	char			*token = token_new();

	answer_json(a, 200, json_pack("{s:s,s:s,s:I}", "access_token", token,
	    "token_type", "bearer", "expires_in", (json_int_t)e->expires_in));
	secret_free(t->token);
	t->token = token;
	t->client = c;
	t->expires_at = emu_now(e) + (double)e->expires_in;
	e->next_token = (e->next_token + 1) % EMU_MAX_TOKENS;
	c->count.ok++;
	c->count.ok_since_rotation++;
}

const struct emu_client *
token_lookup(struct emu *e, const char *bearer)
{
	size_t	 len = strlen(bearer);

	for (size_t i = 0; i < EMU_MAX_TOKENS; i++) {
		const struct emu_token *t = &e->tokens[i];

		if (t->token == NULL || strlen(t->token) != len ||
		    CRYPTO_memcmp(t->token, bearer, len) != 0)
			continue;
		return t->expires_at > emu_now(e) && !t->client->deleted ? t->client : NULL;
	}
	return NULL;
}

void
token_forget_api_clients(struct emu *e)
{
	for (size_t i = 0; i < EMU_MAX_TOKENS; i++)
		if (e->tokens[i].token != NULL && e->tokens[i].client->from_api) {
			secret_free(e->tokens[i].token);
			e->tokens[i].token = NULL;
		}
}

void
token_forget_all(struct emu *e)
{
	for (size_t i = 0; i < EMU_MAX_TOKENS; i++) {
		secret_free(e->tokens[i].token);
		e->tokens[i].token = NULL;
	}
	e->next_token = 0;
}

static void
grant_saml2(struct emu *e, struct emu_client *c, struct evkeyvalq *form,
    struct answer *a)
{
	struct emu_trust trust;
	const char	*org, *assertion, *why;
	bool		 dup = false;
	char		 reason[160], *subject = NULL;

	if (c->grant != EMU_GRANT_SAML2) {
		answer_oauth(a, 400, "unauthorized_client",
		    "client is not authorized for the saml2-bearer grant");
		return;
	}
	org = form_get(form, "orgName", &dup);
	assertion = form_get(form, "assertion", &dup);
	if (dup) {
		answer_oauth(a, 400, "invalid_request", "a parameter is repeated");
		return;
	}
	if (org == NULL || org[0] == '\0') {
		answer_oauth(a, 400, "invalid_request", "orgName is required");
		return;
	}
	if (assertion == NULL || assertion[0] == '\0') {
		answer_oauth(a, 400, "invalid_request", "assertion is required");
		return;
	}
	if (strcmp(org, c->org->name) != 0) {
		answer_oauth(a, 400, "invalid_grant",
		    "orgName does not match the client's organization");
		return;
	}
	if ((why = emu_org_trust(c->org, &trust)) != NULL) {
		answer_oauth(a, 400, "invalid_grant", why);
		return;
	}
	if (emulator_saml_verify(assertion, &trust, emu_now(e), &subject,
	    reason, sizeof(reason)) == -1) {
		answer_oauth(a, 400, "invalid_grant", reason);
		return;
	}
	if ((why = emu_org_user_login(c->org, subject)) != NULL) {
		free(subject);
		answer_oauth(a, 400, "invalid_grant", why);
		return;
	}
	free(e->last_subject);
	e->last_subject = subject;
	answer_token(e, c, a);
}

static void
count(struct emu *e, int grant, int status)
{
	if (grant == EMU_GRANT_CC) {
		if (status == 200)
			e->count.cc_ok++;
		else
			e->count.cc_rejected++;
	} else if (grant == EMU_GRANT_SAML2) {
		if (status == 200)
			e->count.saml_ok++;
		else
			e->count.saml_rejected++;
	}
}

static double
burst_of(const struct emu_limits *l)
{
	if (l->burst > 0)
		return l->burst;
	return fmax(1.0, l->rate / 10.0);
}

void
token_limits_reset(struct emu *e)
{
	for (size_t i = 0; i < e->conf->n_orgs; i++) {
		e->conf->orgs[i].bucket = burst_of(&e->limits);
		e->conf->orgs[i].bucket_at = emu_now(e);
	}
}

/*
 * The organization's rate limit: a token bucket refilled at limits.rate a
 * second.  Beyond it, 429 with Retry-After in whole seconds (at least 1)
 * until the bucket holds a request again, as PureCloud answers.  Returns
 * whether the request was refused.
 */
static bool
rate_limited(struct emu *e, struct emu_org *o, struct answer *a)
{
	const struct emu_limits	*l = &e->limits;
	double			 now = emu_now(e), burst = burst_of(l);
	char			 num[32];

	if (l->rate <= 0)
		return false;
	o->bucket = fmin(burst, o->bucket + (now - o->bucket_at) * l->rate);
	o->bucket_at = now;
	if (o->bucket >= 1.0) {
		o->bucket -= 1.0;
		return false;
	}
	e->count.limited++;
	answer_oauth(a, 429, "too_many_requests", "rate limit exceeded");
	snprintf(num, sizeof(num), "%.0f", fmax(1.0, ceil((1.0 - o->bucket) / l->rate)));
	a->retry_after = xstrdup(num);
	return true;
}

void
token_handle(struct emu *e, struct evhttp_request *req, struct answer *a)
{
	struct evkeyvalq	 form;
	struct emu_client	*c;
	const char		*ct, *gt = NULL;
	char			*body = NULL;
	size_t			 len = 0;
	bool			 parsed = false, dup = false;
	int			 grant = -1;

	TAILQ_INIT(&form);
	e->count.total++;
	ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST &&
	    content_type_is(ct, FORM_URLENCODED) && body_take(req, &body, &len) == 0) {
		parsed = evhttp_parse_query_str(body, &form) == 0;
		OPENSSL_cleanse(body, len);
		free(body);
	}
	if (parsed && (gt = form_get(&form, "grant_type", &dup)) != NULL) {
		if (strcmp(gt, GRANT_CC) == 0) {
			grant = EMU_GRANT_CC;
			a->grant = "client_credentials";
		} else if (strcmp(gt, GRANT_SAML2) == 0) {
			grant = EMU_GRANT_SAML2;
			a->grant = "saml2_bearer";
		} else {
			a->grant = "other";
		}
	}
	/* Before any fault, so that a faulted request's log line names it. */
	c = client_authenticate(e, req, a);
	a->delay_ms = e->limits.latency_ms;
	if (fault_apply(e, EMU_EP_TOKEN, grant, a))
		goto done;
	if (c != NULL && rate_limited(e, c->org, a))
		goto done;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST)
		answer_oauth(a, 405, "invalid_request", "method must be POST");
	else if (!content_type_is(ct, FORM_URLENCODED))
		answer_oauth(a, 400, "invalid_request",
		    "Content-Type must be application/x-www-form-urlencoded");
	else if (!parsed)
		answer_oauth(a, 400, "invalid_request", "malformed form body");
	else if (c == NULL)
		answer_oauth(a, 401, "invalid_client", "authentication failed");
	else if (strcmp(json_string_value(json_object_get(c->record, "state")), "active") != 0)
		answer_oauth(a, 401, "invalid_client", "the client is inactive");
	else if (dup)
		answer_oauth(a, 400, "invalid_request", "a parameter is repeated");
	else if (gt == NULL)
		answer_oauth(a, 400, "invalid_request", "grant_type is required");
	else if (grant == -1)
		answer_oauth(a, 400, "unsupported_grant_type", "grant_type is not supported");
	else if (grant == EMU_GRANT_CC && c->grant != EMU_GRANT_CC)
		answer_oauth(a, 400, "unauthorized_client",
		    "client is not authorized for the client_credentials grant");
	else if (grant == EMU_GRANT_CC)
		answer_token(e, c, a);
	else
		grant_saml2(e, c, &form, a);
	count(e, grant, a->status);
done:
	form_clear(&form);
}
