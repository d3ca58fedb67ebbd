/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emulator_api_roles.c - the roles and divisions of the platform API:
 *
 *   GET /api/v2/authorization/roles          authorization:role:view
 *   GET /api/v2/authorization/roles/ID       authorization:role:view
 *   PUT /api/v2/authorization/roles/ID       authorization:role:edit
 *   GET /api/v2/authorization/divisions      authorization:division:view
 *
 * A PUT body is checked as the SDK's DomainOrganizationRoleUpdate (name,
 * description, permissions, permissionPolicies; an unknown field is a
 * 400) and replaces the role.  The organization has one division, its
 * home division.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "emulator.h"

json_t *
emu_org_role(const struct emu_org *o, const char *id)
{
	json_t	*r;
	size_t	 i;

	json_array_foreach(o->roles, i, r)
		if (strcmp(json_string_value(json_object_get(r, "id")), id) == 0)
			return r;
	return NULL;
}

static json_t *
roles_list(const struct emu_org *o)
{
	return json_pack("{s:O,s:i,s:i,s:I,s:i}", "entities", o->roles, "pageSize", 100,
	    "pageNumber", 1, "total", (json_int_t)json_array_size(o->roles), "pageCount", 1);
}

static void
role_put(struct emu_org *o, json_t *cur, struct evhttp_request *req, struct answer *a)
{
	const char	*why;
	json_t		*j;
	char		 buf[160];

	if ((j = api_body(req, a)) == NULL)
		return;
	json_object_del(j, "id");
	json_object_del(j, "selfUri");
	if ((why = emu_role_check(j, buf, sizeof(buf))) != NULL) {
		api_error(a, 400, "bad.request", why);
		json_decref(j);
		return;
	}
	if (json_object_get(j, "permissionPolicies") == NULL)
		json_object_set_new(j, "permissionPolicies", json_array());
	if (json_object_get(j, "permissions") == NULL)
		json_object_set_new(j, "permissions", json_array());
	json_object_set(j, "id", json_object_get(cur, "id"));
	json_object_set(j, "selfUri", json_object_get(cur, "selfUri"));
	json_object_clear(cur);
	json_object_update(cur, j);
	json_decref(j);
	(void)o;
	answer_json(a, 200, json_incref(cur));
}

void
api_roles_handle(struct emu *e, const struct emu_client *caller,
    struct evhttp_request *req, const char *rest, struct answer *a)
{
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	struct emu_org		*o = caller->org;
	json_t			*r;

	(void)e;
	if (strcmp(rest, "divisions") == 0 && cmd == EVHTTP_REQ_GET) {
		if (api_permitted(caller, "authorization:division:view", a))
			answer_json(a, 200, json_pack("{s:[{s:s,s:s,s:b}],s:i}", "entities",
			    "id", o->home_division, "name", "Home", "homeDivision", 1,
			    "total", 1));
		return;
	}
	if (strcmp(rest, "roles") == 0 && cmd == EVHTTP_REQ_GET) {
		if (api_permitted(caller, "authorization:role:view", a))
			answer_json(a, 200, roles_list(o));
		return;
	}
	if (strncmp(rest, "roles/", 6) != 0 || strchr(rest + 6, '/') != NULL) {
		api_error(a, 404, "not.found", "no such resource");
		return;
	}
	if ((r = emu_org_role(o, rest + 6)) == NULL) {
		api_error(a, 404, "not.found", "the role does not exist");
	} else if (cmd == EVHTTP_REQ_GET) {
		if (api_permitted(caller, "authorization:role:view", a))
			answer_json(a, 200, json_incref(r));
	} else if (cmd == EVHTTP_REQ_PUT) {
		if (api_permitted(caller, "authorization:role:edit", a))
			role_put(o, r, req, a);
	} else {
		api_error(a, 405, "method.not.allowed", "method not allowed");
	}
}
