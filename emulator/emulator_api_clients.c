/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emulator_api_clients.c - the OAuth clients of the platform API:
 *
 *   GET    /api/v2/oauth/clients              oauth:client:view
 *   POST   /api/v2/oauth/clients              oauth:client:add
 *   GET    /api/v2/oauth/clients/ID           oauth:client:view
 *   DELETE /api/v2/oauth/clients/ID           oauth:client:delete
 *   POST   /api/v2/oauth/clients/ID/secret    oauth:client:edit
 *
 * A POST body is checked field by field as the SDK's OAuthClientRequest
 * (an unknown field, a wrong type or a value out of range is a 400).  The
 * answer of a creation or a new secret holds the secret; a GET never
 * does.  A new secret replaces the old at once: the old one is refused
 * from then on (the platform's behaviour is not documented; README,
 * "Rotating client secrets"), and its refusals are counted.  Nothing
 * secret is logged.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "emulator.h"

#define TOKEN_SECONDS_MIN	300
#define TOKEN_SECONDS_MAX	172800
#define TOKEN_SECONDS_DEFAULT	86400

static const char *const grant_types[] = {
	"CLIENT-CREDENTIALS", "SAML2BEARER", "CODE", "TOKEN", "PASSWORD",
};
static const char *const string_fields[] = { "name", "description", "state" };
static const char *const list_fields[] = { "scope", "registeredRedirectUri" };

/* One {roleId, divisionId} of roleDivisions: both known to the org. */
static const char *
role_division_check(const struct emu_org *o, json_t *rd, char *buf, size_t len)
{
	const char	*key, *role, *div;
	json_t		*v;

	if (!json_is_object(rd))
		return "roleDivisions must hold objects {roleId, divisionId}";
	json_object_foreach(rd, key, v)
		if (strcmp(key, "roleId") != 0 && strcmp(key, "divisionId") != 0) {
			snprintf(buf, len, "roleDivisions: Unrecognized field \"%.40s\"", key);
			return buf;
		}
	role = json_string_value(json_object_get(rd, "roleId"));
	div = json_string_value(json_object_get(rd, "divisionId"));
	if (role == NULL || div == NULL)
		return "roleDivisions: roleId and divisionId are required strings";
	if (emu_org_role(o, role) == NULL) {
		snprintf(buf, len, "roleDivisions: no role with id %.40s", role);
		return buf;
	}
	if (strcmp(div, o->home_division) != 0) {
		snprintf(buf, len, "roleDivisions: no division with id %.40s", div);
		return buf;
	}
	return NULL;
}

/* The fields of an OAuthClientRequest, each of its type. */
static const char *
fields_check(const struct emu_org *o, json_t *j, char *buf, size_t len)
{
	const char	*key, *why;
	json_t		*v, *x;
	size_t		 i;

	json_object_foreach(j, key, v) {
		if (emu_in_list(key, string_fields, NELEM(string_fields))) {
			if (!json_is_string(v)) {
				snprintf(buf, len, "%s must be a string", key);
				return buf;
			}
		} else if (emu_in_list(key, list_fields, NELEM(list_fields))) {
			if (!json_is_array(v)) {
				snprintf(buf, len, "%s must be a list of strings", key);
				return buf;
			}
			json_array_foreach(v, i, x)
				if (!json_is_string(x) || json_string_length(x) == 0) {
					snprintf(buf, len, "%s must be a list of strings", key);
					return buf;
				}
		} else if (strcmp(key, "authorizedGrantType") == 0) {
			if (!json_is_string(v) || !emu_in_list(json_string_value(v), grant_types,
			    NELEM(grant_types)))
				return "authorizedGrantType must be one of CLIENT-CREDENTIALS, "
				    "SAML2BEARER, CODE, TOKEN, PASSWORD";
		} else if (strcmp(key, "accessTokenValiditySeconds") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < TOKEN_SECONDS_MIN ||
			    json_integer_value(v) > TOKEN_SECONDS_MAX)
				return "accessTokenValiditySeconds must be an integer from 300 "
				    "to 172800";
		} else if (strcmp(key, "roleDivisions") == 0) {
			if (!json_is_array(v))
				return "roleDivisions must be a list";
			json_array_foreach(v, i, x)
				if ((why = role_division_check(o, x, buf, len)) != NULL)
					return why;
		} else {
			snprintf(buf, len, "Unrecognized field \"%.40s\"", key);
			return buf;
		}
	}
	return NULL;
}

/* An OAuthClientRequest the API would accept: NULL, or why not. */
static const char *
request_check(const struct emu_org *o, json_t *j, char *buf, size_t len)
{
	const char	*why, *grant, *state;

	if ((why = fields_check(o, j, buf, len)) != NULL)
		return why;
	if (json_string_length(json_object_get(j, "name")) == 0)
		return "name is required";
	if ((grant = json_string_value(json_object_get(j, "authorizedGrantType"))) == NULL)
		return "authorizedGrantType is required";
	state = json_string_value(json_object_get(j, "state"));
	if (state != NULL && strcmp(state, "active") != 0 && strcmp(state, "inactive") != 0)
		return "state must be active or inactive";
	if (json_array_size(json_object_get(j, "roleDivisions")) > 0 &&
	    strcmp(grant, "CLIENT-CREDENTIALS") != 0)
		return "roleDivisions are for CLIENT-CREDENTIALS clients only";
	/* PURECLOUD.md: a SAML2 Bearer client must have a scope and an
	 * authorized redirect URI. */
	if (strcmp(grant, "SAML2BEARER") == 0 &&
	    (json_array_size(json_object_get(j, "scope")) == 0 ||
	    json_array_size(json_object_get(j, "registeredRedirectUri")) == 0))
		return "a SAML2BEARER client needs at least one scope and one "
		    "registeredRedirectUri";
	return NULL;
}

static json_t *
client_json(const struct emu_client *c, bool with_secret)
{
	json_t	*j = json_deep_copy(c->record);

	if (with_secret)
		json_object_set_new(j, "secret", json_string(c->secret));
	return j;
}

static struct emu_client *
client_find(struct emu *e, const struct emu_org *o, const char *id)
{
	for (size_t i = 0; i < e->conf->n_clients; i++) {
		struct emu_client *c = &e->conf->clients[i];

		if (c->org == o && !c->deleted && strcmp(c->client_id, id) == 0)
			return c;
	}
	return NULL;
}

static void
clients_list(struct emu *e, const struct emu_org *o, struct answer *a)
{
	json_t	*list = json_array();

	for (size_t i = 0; i < e->conf->n_clients; i++) {
		const struct emu_client *c = &e->conf->clients[i];

		if (c->org == o && !c->deleted)
			json_array_append_new(list, client_json(c, false));
	}
	answer_json(a, 200, json_pack("{s:o,s:i,s:i,s:I,s:i}", "entities", list,
	    "pageSize", 100, "pageNumber", 1, "total", (json_int_t)json_array_size(list),
	    "pageCount", 1));
}

static void
client_create(struct emu *e, struct emu_org *o, struct evhttp_request *req,
    struct answer *a)
{
	struct emu_client	*c;
	const char		*why, *grant;
	json_t			*j;
	char			 buf[160], self[160];

	if ((j = api_body(req, a)) == NULL)
		return;
	if ((why = request_check(o, j, buf, sizeof(buf))) != NULL) {
		api_error(a, 400, "bad.request", why);
		json_decref(j);
		return;
	}
	if (e->conf->n_clients == EMU_MAX_CLIENTS) {
		api_error(a, 400, "bad.request", "the emulator holds no more clients");
		json_decref(j);
		return;
	}
	c = &e->conf->clients[e->conf->n_clients++];
	memset(c, 0, sizeof(*c));
	c->client_id = emu_uuid_new();
	c->secret = token_new();
	c->org = o;
	grant = json_string_value(json_object_get(j, "authorizedGrantType"));
	c->grant = strcmp(grant, "SAML2BEARER") == 0 ? EMU_GRANT_SAML2 :
	    strcmp(grant, "CLIENT-CREDENTIALS") == 0 ? EMU_GRANT_CC : EMU_GRANT_OTHER;
	c->from_api = true;
	c->permissions = json_array();
	if (json_object_get(j, "state") == NULL)
		json_object_set_new(j, "state", json_string("active"));
	if (json_object_get(j, "accessTokenValiditySeconds") == NULL)
		json_object_set_new(j, "accessTokenValiditySeconds",
		    json_integer(TOKEN_SECONDS_DEFAULT));
	snprintf(self, sizeof(self), "/api/v2/oauth/clients/%s", c->client_id);
	json_object_set_new(j, "id", json_string(c->client_id));
	json_object_set_new(j, "selfUri", json_string(self));
	c->record = j;
	answer_json(a, 200, client_json(c, true));
}

static void
secret_new(struct emu_client *c, struct answer *a)
{
	secret_free(c->old_secret);
	c->old_secret = c->secret;
	c->secret = token_new();
	c->count.rotations++;
	c->count.ok_since_rotation = 0;
	answer_json(a, 200, client_json(c, true));
}

void
api_clients_handle(struct emu *e, const struct emu_client *caller,
    struct evhttp_request *req, const char *rest, struct answer *a)
{
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	struct emu_client	*c;
	char			 id[80];
	size_t			 n;

	if (rest[0] == '\0') {
		if (cmd == EVHTTP_REQ_GET && api_permitted(caller, "oauth:client:view", a))
			clients_list(e, caller->org, a);
		else if (cmd == EVHTTP_REQ_POST && api_permitted(caller, "oauth:client:add", a))
			client_create(e, caller->org, req, a);
		else if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST)
			api_error(a, 405, "method.not.allowed", "method not allowed");
		return;
	}
	n = strcspn(rest + 1, "/");
	if (rest[0] != '/' || n == 0 || n >= sizeof(id)) {
		api_error(a, 404, "not.found", "no such resource");
		return;
	}
	memcpy(id, rest + 1, n);
	id[n] = '\0';
	rest += 1 + n;
	if ((c = client_find(e, caller->org, id)) == NULL) {
		api_error(a, 404, "not.found", "the OAuth client does not exist");
		return;
	}
	if (strcmp(rest, "/secret") == 0 && cmd == EVHTTP_REQ_POST) {
		if (api_permitted(caller, "oauth:client:edit", a))
			secret_new(c, a);
	} else if (rest[0] != '\0') {
		api_error(a, 404, "not.found", "no such resource");
	} else if (cmd == EVHTTP_REQ_GET) {
		if (api_permitted(caller, "oauth:client:view", a))
			answer_json(a, 200, client_json(c, false));
	} else if (cmd == EVHTTP_REQ_DELETE) {
		if (api_permitted(caller, "oauth:client:delete", a)) {
			c->deleted = true;
			answer_empty(a, 204);
		}
	} else {
		api_error(a, 405, "method.not.allowed", "method not allowed");
	}
}
