/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emulator_api.c - the part of the PureCloud platform API that
 * provisioning uses, under /api/v2/:
 *
 *   GET    /api/v2/organizations/me
 *   GET    /api/v2/identityproviders              (id, name, disabled, selfUri)
 *   GET    /api/v2/identityproviders/TYPE
 *   PUT    /api/v2/identityproviders/TYPE         (validated, then stored)
 *   DELETE /api/v2/identityproviders/TYPE
 *   /api/v2/oauth/clients...                   (emulator_api_clients.c)
 *   /api/v2/authorization/roles and divisions  (emulator_api_roles.c)
 *
 * Every call needs a bearer token from the emulator's own token endpoint
 * (emulator_token.c); each call needs its permission (the identity
 * provider calls: a client marked admin, sso:provider:*; the others: a
 * client's permissions), else 403 naming the permission missing.  Errors have the
 * API's shape: {"message", "code", "status"}.  A stored pureengage record
 * is what the SAML2 Bearer grant trusts from then on.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "emulator.h"

#define API_PROVIDERS	"/api/v2/identityproviders"

#define API_CLIENTS	"/api/v2/oauth/clients"
#define API_AUTHZ	"/api/v2/authorization/"

void
api_error(struct answer *a, int status, const char *code, const char *message)
{
	answer_json(a, status, json_pack("{s:s,s:s,s:i}", "message", message,
	    "code", code, "status", status));
	snprintf(a->reason, sizeof(a->reason), "%.*s", (int)sizeof(a->reason) - 1, message);
}

bool
api_permitted(const struct emu_client *c, const char *perm, struct answer *a)
{
	char	 msg[200];

	if (emu_client_can(c, perm))
		return true;
	snprintf(msg, sizeof(msg), "Unable to perform the requested action. You are "
	    "missing the following permission(s): [%s]", perm);
	api_error(a, 403, "missing.permissions", msg);
	return false;
}

json_t *
api_body(struct evhttp_request *req, struct answer *a)
{
	const char	*ct;
	json_error_t	 jerr;
	json_t		*j;
	char		*body;
	size_t		 len;

	ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0) {
		api_error(a, 415, "unsupported.media.type",
		    "Content-Type must be application/json");
		return NULL;
	}
	if (body_take(req, &body, &len) == -1) {
		api_error(a, 400, "bad.request", "the body holds a NUL byte");
		return NULL;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	free(body);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		api_error(a, 400, "bad.request", "the body is not a JSON object");
		return NULL;
	}
	return j;
}

/* The client of the request's bearer token, or NULL with a 401 answer. */
static const struct emu_client *
api_client(struct emu *e, struct evhttp_request *req, struct answer *a)
{
	const char		*h;
	const struct emu_client	*c = NULL;

	h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (h != NULL) {
		while (*h == ' ')
			h++;
		if (strncasecmp(h, "Bearer ", 7) == 0)
			c = token_lookup(e, h + 7);
	}
	if (c != NULL)
		log_safe(a->client_id, sizeof(a->client_id), c->client_id);
	return c;
}

static json_t *
org_json(const struct emu_org *o)
{
	char	 self[160];

	snprintf(self, sizeof(self), "/api/v2/organizations/%s", o->id);
	return json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", o->id, "name", o->display_name,
	    "thirdPartyOrgName", o->name, "state", "active", "selfUri", self);
}

static json_t *
providers_list(const struct emu_org *o)
{
	json_t		*list = json_array(), *r;
	const char	*type;

	json_object_foreach(o->providers, type, r) {
		json_array_append_new(list, json_pack("{s:O,s:O,s:b,s:O}",
		    "id", json_object_get(r, "id"), "name", json_object_get(r, "name"),
		    "disabled", json_is_true(json_object_get(r, "disabled")),
		    "selfUri", json_object_get(r, "selfUri")));
	}
	return json_pack("{s:o,s:i,s:i,s:I,s:i}", "entities", list, "pageSize", 25,
	    "pageNumber", 1, "total", (json_int_t)json_object_size(o->providers),
	    "pageCount", 1);
}

static void
provider_put(struct emu_org *o, const char *type, struct evhttp_request *req,
    struct answer *a)
{
	const char	*why;
	json_t		*j;
	char		 buf[160], self[128];

	if ((j = api_body(req, a)) == NULL)
		return;
	if ((why = emu_provider_check(j, buf, sizeof(buf))) != NULL) {
		api_error(a, 400, "bad.request", why);
		json_decref(j);
		return;
	}
	snprintf(self, sizeof(self), API_PROVIDERS "/%s", type);
	json_object_set_new(j, "id", json_string(type));
	json_object_set_new(j, "selfUri", json_string(self));
	json_object_set(o->providers, type, j);
	answer_json(a, 200, j);
}

static void
providers_handle(struct emu *e, const struct emu_client *c, struct evhttp_request *req,
    const char *rest, struct answer *a)
{
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	struct emu_org		*o = c->org;
	json_t			*r;

	if (!c->admin) {
		api_error(a, 403, "missing.permissions", "Unable to perform the requested "
		    "action. You are missing the following permission(s): "
		    "[sso:provider:view, sso:provider:add, sso:provider:edit]");
		return;
	}
	if (rest[0] == '\0') {
		if (cmd == EVHTTP_REQ_GET)
			answer_json(a, 200, providers_list(o));
		else
			api_error(a, 405, "method.not.allowed", "method not allowed");
		return;
	}
	if (rest[0] != '/' || !emu_provider_type_known(rest + 1)) {
		api_error(a, 404, "not.found", "no such identity provider type");
		return;
	}
	rest++;
	r = json_object_get(o->providers, rest);
	if (cmd == EVHTTP_REQ_PUT) {
		provider_put(o, rest, req, a);
	} else if (r == NULL && (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_DELETE)) {
		api_error(a, 404, "not.found", "the identity provider does not exist");
	} else if (cmd == EVHTTP_REQ_GET) {
		answer_json(a, 200, json_incref(r));
	} else if (cmd == EVHTTP_REQ_DELETE) {
		json_object_del(o->providers, rest);
		answer_empty(a, 204);
	} else {
		api_error(a, 405, "method.not.allowed", "method not allowed");
	}
}

void
api_handle(struct emu *e, struct evhttp_request *req, const char *path, struct answer *a)
{
	const struct emu_client	*c = api_client(e, req, a);

	if (fault_apply(e, EMU_EP_API, -1, a))
		return;
	if (c == NULL)
		api_error(a, 401, "bad.credentials",
		    "Invalid login credentials (a bearer token is required)");
	else if (strcmp(path, "/api/v2/organizations/me") == 0 &&
	    evhttp_request_get_command(req) == EVHTTP_REQ_GET)
		answer_json(a, 200, org_json(c->org));
	else if (strncmp(path, API_PROVIDERS, strlen(API_PROVIDERS)) == 0)
		providers_handle(e, c, req, path + strlen(API_PROVIDERS), a);
	else if (strncmp(path, API_CLIENTS, strlen(API_CLIENTS)) == 0)
		api_clients_handle(e, c, req, path + strlen(API_CLIENTS), a);
	else if (strncmp(path, API_AUTHZ, strlen(API_AUTHZ)) == 0)
		api_roles_handle(e, c, req, path + strlen(API_AUTHZ), a);
	else
		api_error(a, 404, "not.found", "no such resource");
	if (a->status >= 200 && a->status < 300)
		e->count.api_ok++;
	else
		e->count.api_rejected++;
}
