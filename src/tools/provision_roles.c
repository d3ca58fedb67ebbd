/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provision_roles.c - the roles a tenant names, the vendor's manual step
 * 4: the roles of [general] default_agent_role_name (auto-provisioned
 * agents get it) and default_admin_role_name must exist, and the agent
 * role must hold the permissions agents need.  `provision` adds what is
 * missing and never removes a permission; `check --online` reports.
 *
 * Platform facts (README, "Provisioning: OAuth clients and roles"):
 * GET /api/v2/authorization/roles (authorization:role:view) lists roles
 * with id and name; PUT .../roles/{id} (authorization:role:edit) replaces
 * a role whose permissions are in permissionPolicies ({domain,
 * entityName, actionSet}) and, for older ones, permissions (strings): the
 * SDK's models (sure).  A permission "domain:entity:action" is held when
 * either lists it (a '*' matching any).  Changes can take five minutes to
 * take effect (vendor help).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "samlbroker.h"
#include "commands.h"

#define ROLES_PATH	"v2/authorization/roles"

/*
 * The agent role's permissions when [general] agent_permissions is not
 * set.  Where they come from: the seed's step 4 ("grant the Altocloud
 * permissions to the employee role") and the vendor's "Altocloud
 * permissions overview", which lists them under the journey domain
 * (Action Map, Action Target, sessions: add/delete/edit/view).  Which of
 * them an agent needs is NOT confirmed: these are the view permissions of
 * the entities that overview names.  Set agent_permissions to override.
 */
static const char *const default_agent_permissions =
    "journey:actionmap:view, journey:actiontarget:view, journey:session:view";

void
provision_roles_clear(struct provision_roles *pr)
{
	for (size_t i = 0; i < pr->n_missing; i++)
		free(pr->missing[i]);
	json_decref(pr->agent);
	memset(pr, 0, sizeof(*pr));
}

/* Whether a held part ('*' or the same text) covers a wanted one. */
static bool
part_covers(const char *held, const char *want, size_t wlen)
{
	return held != NULL && (strcmp(held, "*") == 0 ||
	    (strlen(held) == wlen && strncmp(held, want, wlen) == 0));
}

/* Whether the role holds "domain:entity:action". */
static bool
role_holds(json_t *role, const char *perm)
{
	const char	*e = strchr(perm, ':'), *a = e != NULL ? strchr(e + 1, ':') : NULL;
	json_t		*v, *x;
	size_t		 i, k;

	json_array_foreach(json_object_get(role, "permissions"), i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), perm) == 0)
			return true;
	if (e == NULL || a == NULL)
		return false;
	json_array_foreach(json_object_get(role, "permissionPolicies"), i, v) {
		if (!part_covers(json_string_value(json_object_get(v, "domain")), perm,
		    (size_t)(e - perm)) ||
		    !part_covers(json_string_value(json_object_get(v, "entityName")), e + 1,
		    (size_t)(a - e - 1)))
			continue;
		json_array_foreach(json_object_get(v, "actionSet"), k, x)
			if (part_covers(json_string_value(x), a + 1, strlen(a + 1)))
				return true;
	}
	return false;
}

static json_t *
role_named(json_t *list, const char *name)
{
	json_t	*e;
	size_t	 i;

	json_array_foreach(json_object_get(list, "entities"), i, e) {
		const char *n = json_string_value(json_object_get(e, "name"));

		if (n != NULL && strcmp(n, name) == 0)
			return e;
	}
	return NULL;
}

/* The wanted permissions, one by one, checked for shape. */
static int
wanted_each(const struct tenant *t, struct provision_roles *pr, char *err, size_t errlen)
{
	const char	*list = t->agent_permissions != NULL ? t->agent_permissions :
			    default_agent_permissions, *p = list;
	char		 perm[128];
	size_t		 n;

	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if ((n = strcspn(p, ", ")) == 0)
			break;
		if (n >= sizeof(perm) || pr->n_missing == PROVISION_MAX_PERMISSIONS) {
			snprintf(err, errlen, "[general] agent_permissions: too long");
			return PROVISION_ERROR;
		}
		memcpy(perm, p, n);
		perm[n] = '\0';
		p += n;
		if (strchr(perm, ':') == NULL || strchr(strchr(perm, ':') + 1, ':') == NULL) {
			snprintf(err, errlen, "[general] agent_permissions: '%.80s' is not "
			    "domain:entity:action", perm);
			return PROVISION_ERROR;
		}
		pr->n_wanted++;
		if (pr->agent != NULL && !role_holds(pr->agent, perm))
			pr->missing[pr->n_missing++] = xstrdup(perm);
	}
	return PROVISION_OK;
}

int
provision_roles_read(struct platform *p, const struct tenant *t, const char *prog,
    const char *token, struct provision_roles *pr, char *err, size_t errlen)
{
	json_t	*list = NULL, *agent;
	int	 ex;

	memset(pr, 0, sizeof(*pr));
	if ((ex = provision_call(p, t, prog, token, "GET", ROLES_PATH, NULL,
	    "authorization:role:view", false, &list, err, errlen)) != PROVISION_OK)
		return ex;
	agent = role_named(list, t->agent_role);
	pr->agent_found = agent != NULL;
	pr->admin_found = role_named(list, t->admin_role) != NULL;
	pr->agent = agent != NULL ? json_deep_copy(agent) : NULL;
	json_decref(list);
	if ((ex = wanted_each(t, pr, err, errlen)) != PROVISION_OK)
		provision_roles_clear(pr);
	return ex;
}

/* One permission added to the role's policies. */
static void
policy_add(json_t *role, const char *perm)
{
	const char	*e = strchr(perm, ':'), *a = strchr(e + 1, ':');
	json_t		*pol = json_object_get(role, "permissionPolicies"), *v;
	char		 domain[128], entity[128];
	size_t		 i;

	snprintf(domain, sizeof(domain), "%.*s", (int)(e - perm), perm);
	snprintf(entity, sizeof(entity), "%.*s", (int)(a - e - 1), e + 1);
	if (!json_is_array(pol)) {
		pol = json_array();
		json_object_set_new(role, "permissionPolicies", pol);
	}
	json_array_foreach(pol, i, v) {
		const char *d = json_string_value(json_object_get(v, "domain"));
		const char *n = json_string_value(json_object_get(v, "entityName"));

		if (d != NULL && n != NULL && strcmp(d, domain) == 0 &&
		    strcmp(n, entity) == 0 && json_is_array(json_object_get(v, "actionSet"))) {
			json_array_append_new(json_object_get(v, "actionSet"),
			    json_string(a + 1));
			return;
		}
	}
	json_array_append_new(pol, json_pack("{s:s,s:s,s:[s]}", "domain", domain,
	    "entityName", entity, "actionSet", a + 1));
}

int
provision_roles_grant(struct platform *p, const struct tenant *t, const char *prog,
    const char *token, struct provision_roles *pr, char *err, size_t errlen)
{
	json_t		*body, *ans = NULL;
	const char	*id = json_string_value(json_object_get(pr->agent, "id"));
	char		 path[200];
	int		 ex;

	if (id == NULL || strlen(id) > 100 || strpbrk(id, "/?#% ") != NULL) {
		snprintf(err, errlen, "the role %s has no usable id", t->agent_role);
		return PROVISION_ERROR;
	}
	body = json_deep_copy(pr->agent);
	json_object_del(body, "id");
	json_object_del(body, "selfUri");
	for (size_t i = 0; i < pr->n_missing; i++)
		policy_add(body, pr->missing[i]);
	snprintf(path, sizeof(path), ROLES_PATH "/%s", id);
	ex = provision_call(p, t, prog, token, "PUT", path, body, "authorization:role:edit",
	    false, &ans, err, errlen);
	json_decref(body);
	json_decref(ans);
	return ex;
}

int
provision_roles(struct platform *p, const struct tenant *t, const char *prog,
    const char *token, bool dry_run, int *ret_changes)
{
	struct provision_roles	 pr;
	char			 err[768] = "";
	int			 ex;

	printf("tenant %s: roles\n", t->name);
	if ((ex = provision_roles_read(p, t, prog, token, &pr, err, sizeof(err))) !=
	    PROVISION_OK)
		goto done;
	printf("  %s role %s (default_admin_role_name)%s\n", pr.admin_found ? "=" : "!",
	    t->admin_role, pr.admin_found ? ": exists" : ": does not exist");
	if (!pr.agent_found) {
		printf("  ! role %s (default_agent_role_name): does not exist\n",
		    t->agent_role);
		snprintf(err, sizeof(err), "the role %s does not exist: auto-provisioned "
		    "agents get it (create it in PureCloud, or fix default_agent_role_name)",
		    t->agent_role);
		ex = PROVISION_ERROR;
		goto done;
	}
	for (size_t i = 0; i < pr.n_missing; i++)
		printf("  + role %s: permission %s to grant\n", t->agent_role, pr.missing[i]);
	printf("  %s role %s (default_agent_role_name): %zu of %zu agent permission(s) "
	    "held\n", pr.n_missing == 0 ? "=" : "~", t->agent_role,
	    pr.n_wanted - pr.n_missing, pr.n_wanted);
	if (pr.n_missing == 0)
		printf("no change: the roles hold what agents need\n");
	else if (dry_run)
		printf("dry run: %zu permission(s) would be granted; nothing written\n",
		    pr.n_missing);
	else if ((ex = provision_roles_grant(p, t, prog, token, &pr, err, sizeof(err))) ==
	    PROVISION_OK)
		printf("role %s: %zu permission(s) granted (they can take five minutes to "
		    "take effect)\n", t->agent_role, pr.n_missing);
	if (ex == PROVISION_OK && !pr.admin_found) {
		snprintf(err, sizeof(err), "the role %s (default_admin_role_name) does not "
		    "exist", t->admin_role);
		ex = PROVISION_ERROR;
	}
	if (ex == PROVISION_OK)
		*ret_changes = dry_run ? 0 : (int)pr.n_missing;
done:
	text_printable(err);
	if (ex != PROVISION_OK && err[0] != '\0')
		fprintf(stderr, "%s: %s\n", prog, err);
	provision_roles_clear(&pr);
	return ex;
}
