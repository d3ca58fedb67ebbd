/*
 * access.c - who may ask for a tenant's tokens: the [access] section of
 * the main file and the decision for one caller.
 */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "config_load.h"

/*
 * [access]: which local users and groups may ask for a tenant's tokens.
 * One option per tenant, a list of user:NAME|UID and group:NAME|GID.
 */
static void
access_add_id(unsigned **list, size_t *n, unsigned id)
{
	*list = reallocarray(*list, *n + 1, sizeof(**list));
	if (*list == NULL)
		fatal("reallocarray");
	(*list)[(*n)++] = id;
}

void
access_load(struct load *l, struct broker_config *c, struct ini_section *s)
{
	for (size_t i = 0; i < s->n_options; i++) {
		struct ini_option	*o = &s->options[i];
		struct tenant		*t = config_tenant_find(c, o->name);
		char			*list, *item, *save = NULL;

		o->used = true;
		if (t == NULL) {
			diag_warn(l->d, l->file, "access", o->name,
			    "no such tenant, rule ignored");
			continue;
		}
		t->access_restricted = true;
		list = xstrdup(o->value);
		for (item = strtok_r(list, ", \t", &save); item != NULL;
		    item = strtok_r(NULL, ", \t", &save)) {
			bool		 is_user = strncmp(item, "user:", 5) == 0;
			bool		 is_group = strncmp(item, "group:", 6) == 0;
			const char	*who = item + (is_user ? 5 : 6);
			long		 id;

			if (!is_user && !is_group) {
				diag_error(l->d, l->file, "access", o->name,
				    "each entry must be user:NAME, user:UID, group:NAME or group:GID");
				continue;
			}
			if (config_parse_number(who, 0, 4294967294L, &id) == 0) {
				/* a number */
			} else if (is_user) {
				struct passwd *pw = getpwnam(who);

				if (pw == NULL) {
					char *shown = config_printable_dup(who);
					diag_error(l->d, l->file, "access", o->name,
					    "no such user '%.64s'", shown);
					free(shown);
					continue;
				}
				id = (long)pw->pw_uid;
			} else {
				struct group *gr = getgrnam(who);

				if (gr == NULL) {
					char *shown = config_printable_dup(who);
					diag_error(l->d, l->file, "access", o->name,
					    "no such group '%.64s'", shown);
					free(shown);
					continue;
				}
				id = (long)gr->gr_gid;
			}
			if (is_user)
				access_add_id(&t->allow_uids, &t->n_allow_uids, (unsigned)id);
			else
				access_add_id(&t->allow_gids, &t->n_allow_gids, (unsigned)id);
		}
		free(list);
		if (t->n_allow_uids == 0 && t->n_allow_gids == 0)
			diag_error(l->d, l->file, "access", o->name,
			    "names nobody; remove the rule to leave the tenant open");
	}
}

bool
tenant_access_allowed(const struct tenant *t, bool is_unix, unsigned uid,
    const unsigned *gids, size_t n_gids)
{
	if (!t->access_restricted)
		return true;
	if (!is_unix)
		return false;	/* a TCP caller cannot be identified */
	for (size_t i = 0; i < t->n_allow_uids; i++)
		if (t->allow_uids[i] == uid)
			return true;
	for (size_t i = 0; i < t->n_allow_gids; i++)
		for (size_t k = 0; k < n_gids; k++)
			if (t->allow_gids[i] == gids[k])
				return true;
	return false;
}
