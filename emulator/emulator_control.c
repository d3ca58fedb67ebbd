/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emulator_control.c - the test controls of samlbroker-emulator under
 * /emulator/: counters (and per OAuth client), injected faults (for the token endpoint, the
 * platform API or both), token lifetime and clock offset, and reset.
 *
 * The controls need no credentials: the emulator listens on loopback for
 * tests.  Nothing here sees a secret.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "emulator.h"

#define EMU_MAX_EXPIRES		31536000L	/* a year, either sign */
#define EMU_MAX_OFFSET		(10.0 * 365 * 86400)
#define MALFORMED_BODY		"{\"access_token\":\"emulator-malformed\",\"token_type\":\"bea"

void
fault_clear(struct fault *f)
{
	free(f->body);
	free(f->content_type);
	free(f->retry_after);
	memset(f, 0, sizeof(*f));
}

bool
fault_apply(struct emu *e, enum emu_endpoint ep, int grant, struct answer *a)
{
	struct fault	*f = &e->fault;
	bool		 replace = f->replace;

	if (!f->active || (f->grant != -1 && f->grant != grant) ||
	    (f->endpoint != EMU_EP_ANY && f->endpoint != ep))
		return false;
	e->count.faulted++;
	a->faulted = true;
	a->delay_ms += f->delay_ms;
	if (f->replace) {
		answer_clear(a);
		a->drop = f->drop;
		a->status = f->status;
		if (f->malformed)
			a->body = xstrdup(MALFORMED_BODY);
		else
			a->body = xstrdup(f->body != NULL ? f->body :
			    "{\"error\":\"server_error\"}");
		a->content_type = xstrdup(f->content_type != NULL ? f->content_type :
		    "application/json");
		if (f->retry_after != NULL)
			a->retry_after = xstrdup(f->retry_after);
		snprintf(a->reason, sizeof(a->reason), "injected fault");
	}
	if (f->count > 0 && --f->count == 0)
		fault_clear(f);
	return replace;
}

/* The JSON object of a control request's body; NULL with an answer set. */
static json_t *
control_body(struct evhttp_request *req, struct answer *a)
{
	json_t		*j;
	json_error_t	 jerr;
	char		*body;
	size_t		 len;

	if (body_take(req, &body, &len) == -1) {
		answer_oauth(a, 400, "invalid_request", "body must be a JSON object");
		return NULL;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	free(body);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		answer_oauth(a, 400, "invalid_request", "body must be a JSON object");
		return NULL;
	}
	return j;
}

static bool
header_safe(const char *s, size_t max)
{
	return strlen(s) <= max && strpbrk(s, "\r\n") == NULL;
}

/* A field of what the fault answers; *known is false for another field. */
static const char *
answer_field(const char *key, json_t *v, struct fault *f, bool *other, bool *known)
{
	if (strcmp(key, "status") == 0) {
		if (!json_is_integer(v) || json_integer_value(v) < 100 ||
		    json_integer_value(v) > 599)
			return "status must be an integer from 100 to 599";
		f->status = (int)json_integer_value(v);
		*other = true;
	} else if (strcmp(key, "body") == 0) {
		if (!json_is_string(v))
			return "body must be a string";
		free(f->body);
		f->body = xstrdup(json_string_value(v));
		*other = true;
	} else if (strcmp(key, "content_type") == 0) {
		if (!json_is_string(v) || !header_safe(json_string_value(v), 128))
			return "content_type must be a short string";
		free(f->content_type);
		f->content_type = xstrdup(json_string_value(v));
		*other = true;
	} else if (strcmp(key, "retry_after") == 0) {
		char	 num[32];

		free(f->retry_after);
		f->retry_after = NULL;
		if (json_is_integer(v) && json_integer_value(v) >= 0) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			    json_integer_value(v));
			f->retry_after = xstrdup(num);
		} else if (json_is_string(v) && header_safe(json_string_value(v), 64)) {
			f->retry_after = xstrdup(json_string_value(v));
		} else {
			return "retry_after must be a short string or a non-negative integer";
		}
		*other = true;
	} else if (strcmp(key, "malformed") == 0) {
		if (!json_is_boolean(v))
			return "malformed must be a boolean";
		f->malformed = json_is_true(v);
		*other = *other || f->malformed;
	} else if (strcmp(key, "drop") == 0) {
		if (!json_is_boolean(v))
			return "drop must be a boolean";
		f->drop = json_is_true(v);
		*other = *other || f->drop;
	} else
		*known = false;
	return NULL;
}

/* A field of when the fault applies; *known is false for another field. */
static const char *
match_field(const char *key, json_t *v, struct fault *f, bool *known)
{
	if (strcmp(key, "delay_ms") == 0) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > EMU_MAX_DELAY_MS)
			return "delay_ms must be an integer from 0 to 600000";
		f->delay_ms = (long)json_integer_value(v);
	} else if (strcmp(key, "count") == 0) {
		if (!json_is_integer(v) || json_integer_value(v) < -1 ||
		    json_integer_value(v) == 0 || json_integer_value(v) > INT_MAX)
			return "count must be -1 or a positive integer";
		f->count = (long)json_integer_value(v);
	} else if (strcmp(key, "grant") == 0) {
		const char *g = json_is_string(v) ? json_string_value(v) : "";

		if (strcmp(g, "client_credentials") == 0)
			f->grant = EMU_GRANT_CC;
		else if (strcmp(g, "saml2_bearer") == 0)
			f->grant = EMU_GRANT_SAML2;
		else if (strcmp(g, "any") == 0)
			f->grant = -1;
		else
			return "grant must be \"client_credentials\", \"saml2_bearer\" or \"any\"";
	} else if (strcmp(key, "endpoint") == 0) {
		const char *p = json_is_string(v) ? json_string_value(v) : "";

		if (strcmp(p, "token") == 0)
			f->endpoint = EMU_EP_TOKEN;
		else if (strcmp(p, "api") == 0)
			f->endpoint = EMU_EP_API;
		else if (strcmp(p, "any") == 0)
			f->endpoint = EMU_EP_ANY;
		else
			return "endpoint must be \"token\", \"api\" or \"any\"";
	} else
		*known = false;
	return NULL;
}

/* Parses a fault; on error returns the reason. */
static const char *
fault_parse(json_t *j, struct fault *f, char *reason, size_t len)
{
	const char	*key, *why;
	json_t		*v;
	bool		 other = false, known;

	memset(f, 0, sizeof(*f));
	f->count = -1;
	f->grant = -1;
	json_object_foreach(j, key, v) {
		known = true;
		if ((why = answer_field(key, v, f, &other, &known)) == NULL && !known) {
			known = true;
			why = match_field(key, v, f, &known);
		}
		if (why != NULL)
			return why;
		if (!known) {
			snprintf(reason, len, "unknown field '%.32s' in fault", key);
			return reason;
		}
	}
	if (f->malformed && f->drop)
		return "malformed and drop exclude each other";
	/* Only a delay: the normal answer, late.  Anything else replaces it. */
	f->replace = other || f->delay_ms == 0;
	if (f->replace && !f->drop && f->status == 0)
		f->status = f->malformed ? 200 : 503;
	f->active = true;
	return NULL;
}

static json_t *
fault_json(const struct fault *f)
{
	const char *g = f->grant == EMU_GRANT_CC ? "client_credentials" :
	    f->grant == EMU_GRANT_SAML2 ? "saml2_bearer" : "any";
	const char *ep = f->endpoint == EMU_EP_TOKEN ? "token" :
	    f->endpoint == EMU_EP_API ? "api" : "any";

	if (!f->active)
		return json_pack("{s:b}", "active", 0);
	return json_pack("{s:b,s:b,s:o,s:s?,s:s?,s:s?,s:I,s:b,s:b,s:I,s:s,s:s}",
	    "active", 1, "replace", f->replace,
	    "status", f->status != 0 ? json_integer(f->status) : json_null(),
	    "body", f->body, "content_type", f->content_type,
	    "retry_after", f->retry_after, "delay_ms", (json_int_t)f->delay_ms,
	    "malformed", f->malformed, "drop", f->drop,
	    "count", (json_int_t)f->count, "grant", g, "endpoint", ep);
}

static json_t *
config_json(const struct emu *e)
{
	return json_pack("{s:I,s:f,s:f,s:f,s:I}", "expires_in",
	    (json_int_t)e->expires_in, "clock_offset", e->clock_offset,
	    "token_rate", e->limits.rate, "token_burst", e->limits.burst,
	    "token_latency_ms", (json_int_t)e->limits.latency_ms);
}

/* Per client id: tokens granted (all, since the last new secret), new
 * secrets, refusals of the secret before the last. */
static json_t *
clients_json(const struct emu *e)
{
	json_t	*j = json_object();

	for (size_t i = 0; i < e->conf->n_clients; i++) {
		const struct emu_client *c = &e->conf->clients[i];

		json_object_set_new(j, c->client_id, json_pack("{s:I,s:I,s:I,s:I,s:b}",
		    "ok", (json_int_t)c->count.ok, "ok_since_rotation",
		    (json_int_t)c->count.ok_since_rotation, "rotations",
		    (json_int_t)c->count.rotations, "old_secret_refused",
		    (json_int_t)c->count.old_secret_refused, "deleted", c->deleted));
	}
	return j;
}

static json_t *
counters_json(const struct emu *e)
{
	json_t	*subject = e->last_subject != NULL ? json_string(e->last_subject) : NULL;

	return json_pack("{s:{s:I,s:I},s:{s:I,s:I},s:{s:I,s:I},s:I,s:I,s:I,s:o}",
	    "client_credentials", "ok", (json_int_t)e->count.cc_ok,
	    "rejected", (json_int_t)e->count.cc_rejected,
	    "saml2_bearer", "ok", (json_int_t)e->count.saml_ok,
	    "rejected", (json_int_t)e->count.saml_rejected,
	    "api", "ok", (json_int_t)e->count.api_ok,
	    "rejected", (json_int_t)e->count.api_rejected,
	    "faulted", (json_int_t)e->count.faulted, "total", (json_int_t)e->count.total,
	    "rate_limited", (json_int_t)e->count.limited,
	    "last_subject", subject != NULL ? subject : json_null());
}

static void
config_set(struct emu *e, struct evhttp_request *req, struct answer *a)
{
	json_t		*j, *v;
	const char	*key;
	long		 expires = e->expires_in;
	double		 offset = e->clock_offset;
	struct emu_limits lim = e->limits;

	if ((j = control_body(req, a)) == NULL)
		return;
	json_object_foreach(j, key, v) {
		if (strcmp(key, "expires_in") == 0 && json_is_integer(v) &&
		    json_integer_value(v) >= -EMU_MAX_EXPIRES &&
		    json_integer_value(v) <= EMU_MAX_EXPIRES) {
			expires = (long)json_integer_value(v);
		} else if (strcmp(key, "clock_offset") == 0 && json_is_number(v) &&
		    json_number_value(v) >= -EMU_MAX_OFFSET &&
		    json_number_value(v) <= EMU_MAX_OFFSET) {
			offset = json_number_value(v);
		} else if (strcmp(key, "token_rate") == 0 && json_is_number(v) &&
		    json_number_value(v) >= 0 && json_number_value(v) <= EMU_MAX_RATE) {
			lim.rate = json_number_value(v);
		} else if (strcmp(key, "token_burst") == 0 && json_is_number(v) &&
		    json_number_value(v) >= 0 && json_number_value(v) <= EMU_MAX_RATE) {
			lim.burst = json_number_value(v);
		} else if (strcmp(key, "token_latency_ms") == 0 && json_is_integer(v) &&
		    json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= EMU_MAX_DELAY_MS) {
			lim.latency_ms = (long)json_integer_value(v);
		} else {
			json_decref(j);
			answer_oauth(a, 400, "invalid_request",
			    "config takes expires_in (integer seconds), clock_offset "
			    "(seconds), token_rate (requests a second, 0: none), "
			    "token_burst (requests, 0: a tenth of the rate) and "
			    "token_latency_ms (0 to 600000)");
			return;
		}
	}
	json_decref(j);
	e->expires_in = expires;
	e->clock_offset = offset;
	e->limits = lim;
	token_limits_reset(e);
	answer_json(a, 200, config_json(e));
}

void
control_handle(struct emu *e, struct evhttp_request *req, const char *path,
    struct answer *a)
{
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	const char		*what = path + strlen("/emulator/");
	struct fault		 f;
	json_t			*j;
	const char		*why;
	char			 reason[96];

	if (strcmp(what, "counters") == 0 && cmd == EVHTTP_REQ_GET) {
		answer_json(a, 200, counters_json(e));
	} else if (strcmp(what, "clients") == 0 && cmd == EVHTTP_REQ_GET) {
		answer_json(a, 200, clients_json(e));
	} else if (strcmp(what, "faults") == 0 && cmd == EVHTTP_REQ_GET) {
		answer_json(a, 200, fault_json(&e->fault));
	} else if (strcmp(what, "faults") == 0 && cmd == EVHTTP_REQ_POST) {
		if ((j = control_body(req, a)) == NULL)
			return;
		why = fault_parse(j, &f, reason, sizeof(reason));
		json_decref(j);
		if (why != NULL) {
			fault_clear(&f);
			answer_oauth(a, 400, "invalid_request", why);
			return;
		}
		fault_clear(&e->fault);
		e->fault = f;
		answer_json(a, 200, fault_json(&e->fault));
	} else if (strcmp(what, "faults") == 0 && cmd == EVHTTP_REQ_DELETE) {
		fault_clear(&e->fault);
		answer_json(a, 200, fault_json(&e->fault));
	} else if (strcmp(what, "config") == 0 && cmd == EVHTTP_REQ_GET) {
		answer_json(a, 200, config_json(e));
	} else if (strcmp(what, "config") == 0 && cmd == EVHTTP_REQ_POST) {
		config_set(e, req, a);
	} else if (strcmp(what, "reset") == 0 && cmd == EVHTTP_REQ_POST) {
		memset(&e->count, 0, sizeof(e->count));
		free(e->last_subject);
		e->last_subject = NULL;
		fault_clear(&e->fault);
		e->expires_in = e->opt_expires_in;
		e->clock_offset = 0;
		token_forget_api_clients(e);
		e->limits = e->opt_limits;
		emu_config_reset(e->conf);
		token_limits_reset(e);
		answer_json(a, 200, json_pack("{s:b}", "reset", 1));
	} else if (strcmp(what, "counters") == 0 || strcmp(what, "faults") == 0 ||
	    strcmp(what, "config") == 0 || strcmp(what, "reset") == 0) {
		answer_oauth(a, 405, "invalid_request", "method not allowed");
	} else {
		answer_oauth(a, 404, "not_found", "no such control");
	}
}

