/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provision_clients.c - a tenant's OAuth clients in PureCloud, the
 * vendor's manual step 1: `provision` creates the SAML2 Bearer client of
 * [saml_auth] and a Client Credentials client for each service section
 * marked for it (oauth_roles, oauth_divisions) that has no client_id yet,
 * and checks (never replaces) those that have one; `provision
 * --rotate-secrets` gives clients new secrets; `provision --remove`
 * deletes the clients it created.
 *
 * A new client id goes into the tenant file, its secret into the file:
 * target the section's password (or client_secret) names, else into the
 * tenant file itself; each file is replaced atomically, mode 0600
 * (tenant_file.c).  A secret is never printed.  What provision created
 * carries MARKER in its description: that is how --remove knows it.
 *
 * The platform facts used here, and how sure each is (README,
 * "Provisioning: OAuth clients and roles"):
 *   - POST /api/v2/oauth/clients (oauth:client:add) with name,
 *     authorizedGrantType CLIENT-CREDENTIALS or SAML2BEARER,
 *     accessTokenValiditySeconds 300..172800, description, roleDivisions
 *     [{roleId, divisionId}] (Client Credentials only); the answer holds id
 *     and secret: the SDK's models (sure).
 *   - GET and DELETE .../oauth/clients/{id} (oauth:client:view, :delete):
 *     the SDK (sure); the permission names follow the platform's
 *     domain:entity:action pattern (not confirmed one by one).
 *   - POST .../oauth/clients/{id}/secret (oauth:client:edit) answers the
 *     client with its new secret: the SDK (sure); whether the old secret
 *     keeps working for a while is NOT documented: this code assumes it
 *     stops at once (the emulator refuses it at once), so the broker's
 *     cached tokens carry callers until the reload.
 *   - a SAML2 Bearer client needs a scope and an authorized redirect URI
 *     (PURECLOUD.md); which scope the agent desktop needs is NOT known:
 *     SAML2_SCOPE below, the redirect URI is the ssoTargetURI.
 *   - roles by name: GET .../authorization/roles (authorization:role:view),
 *     the home division: GET .../authorization/divisions
 *     (authorization:division:view), entries with homeDivision true (the
 *     SDK's models; the permission name is not confirmed).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "samlbroker.h"
#include "commands.h"
#include "config_load.h"

#define CLIENTS_PATH	"v2/oauth/clients"
#define ROLES_PATH	"v2/authorization/roles"
#define DIVISIONS_PATH	"v2/authorization/divisions"
#define GRANT_CC	"CLIENT-CREDENTIALS"
#define GRANT_SAML2	"SAML2BEARER"
/* Unconfirmed (see above): the scope a SAML2 Bearer client is made with. */
#define SAML2_SCOPE	"users:readonly"
/* In the description of every client provision creates. */
#define MARKER		"[samlbroker-provisioned]"
#define TOKEN_SECONDS_MIN	300
#define TOKEN_SECONDS_MAX	172800
#define MAX_CLIENTS	64

/* One client section of the tenant file. */
struct csec {
	const char	*section;
	const char	*client_id;	/* NULL: to create */
	const char	*secret_option;	/* "password" or "client_secret" */
	const char	*secret_value;	/* as written (file:, env: or literal), or NULL */
	const char	*roles;		/* oauth_roles, or NULL */
	const char	*divisions;	/* oauth_divisions, or NULL */
	bool		 saml;
};

struct csecs {
	struct ini_file	*ini;
	struct csec	 s[MAX_CLIENTS];
	size_t		 n;
};

static const char *
opt(struct ini_section *s, const char *name)
{
	struct ini_option *o = ini_option_find(s, name);

	return o != NULL ? o->value : NULL;
}

/* The tenant file's client sections, read again as written. */
static int
csecs_read(const struct tenant *t, struct csecs *cs, char *err, size_t errlen)
{
	char	*buf = NULL;
	size_t	 len;

	memset(cs, 0, sizeof(*cs));
	if (read_file_limited(t->file, TENANT_FILE_MAX, &buf, &len) == -1) {
		snprintf(err, errlen, "cannot read %s: %s", t->file, strerror(errno));
		return -1;
	}
	cs->ini = ini_parse(t->file, buf, len, err, errlen);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (cs->ini == NULL)
		return -1;
	for (size_t i = 0; i < cs->ini->n_sections && cs->n < MAX_CLIENTS; i++) {
		struct ini_section	*s = &cs->ini->sections[i];
		struct csec		*c = &cs->s[cs->n];

		c->saml = strcmp(s->name, "saml_auth") == 0;
		if (!c->saml && config_section_reserved(s->name))
			continue;
		c->section = s->name;
		c->client_id = opt(s, "client_id");
		c->roles = opt(s, "oauth_roles");
		c->divisions = opt(s, "oauth_divisions");
		c->secret_option = opt(s, "client_secret") != NULL ? "client_secret" :
		    "password";
		c->secret_value = opt(s, c->secret_option);
		/* Another component's section: no client, nothing to create. */
		if (!c->saml && c->client_id == NULL && c->roles == NULL &&
		    c->divisions == NULL)
			continue;
		cs->n++;
	}
	return 0;
}

static void
csecs_clear(struct csecs *cs)
{
	ini_free(cs->ini);
	memset(cs, 0, sizeof(*cs));
}

/* Where a new secret of c goes: a file (its path in *ret_path), or the
 * tenant file (*ret_path NULL).  -1 when it cannot be written (env:). */
static int
secret_target(const struct tenant *t, const struct csec *c, char **ret_path, char *err,
    size_t errlen)
{
	*ret_path = NULL;
	if (c->secret_value != NULL && strncmp(c->secret_value, "env:", 4) == 0) {
		snprintf(err, errlen, "[%s] %s names an environment variable: a new secret "
		    "cannot be written there (use file:PATH or nothing)", c->section,
		    c->secret_option);
		return -1;
	}
	if (c->secret_value != NULL && strncmp(c->secret_value, "file:", 5) == 0 &&
	    c->secret_value[5] != '\0')
		*ret_path = config_path_relative(t->file, c->secret_value + 5);
	return 0;
}

/* A file: target that does not exist yet: made empty, 0600, with the
 * tenant file's owner (the broker's user reads both). */
static int
secret_file_new(const struct tenant *t, const char *path, char *err, size_t errlen)
{
	struct stat	 st;

	if (lstat(path, &st) == 0)
		return 0;
	if (errno != ENOENT || stat(t->file, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (file_write_new(path, 0600, "", 0) == -1 ||
	    ((st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    chown(path, st.st_uid, st.st_gid) == -1)) {
		snprintf(err, errlen, "cannot make %s with %s's owner: %s", path, t->file,
		    strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

/* Writes a client's new id (when given) and secret where they go. */
static int
secret_write(const char *conf, const struct tenant *t, const char *prog,
    const struct csec *c, const char *id, const char *secret)
{
	struct tenant_edit	 e[2];
	char			 err[PATH_MAX + 256], *path = NULL, *line;
	size_t			 n = 0, len;
	int			 rc = -1;

	if (secret_target(t, c, &path, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return -1;
	}
	if (path != NULL && secret_file_new(t, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: [%s] the new secret: %s\n", prog, c->section, err);
		goto done;
	}
	if (path != NULL) {
		len = strlen(secret) + 2;
		line = xmalloc(len);
		snprintf(line, len, "%s\n", secret);
		rc = tenant_file_replace(path, line, len - 1, TENANT_FILE_SECRET, err,
		    sizeof(err));
		secret_free(line);
		if (rc == -1) {
			fprintf(stderr, "%s: [%s] the new secret: %s\n", prog, c->section, err);
			goto done;
		}
		printf("  %s: [%s] secret written (mode 0600)\n", path, c->section);
	} else {
		e[n++] = (struct tenant_edit){ c->section, c->secret_option, secret };
	}
	if (id != NULL)
		e[n++] = (struct tenant_edit){ c->section, "client_id", id };
	rc = n == 0 ? 0 : tenant_file_edit(conf, t, prog, e, n, TENANT_FILE_SECRET,
	    CONFIG_PENDING_CLIENTS);
done:
	free(path);
	return rc;
}

/* The next comma-separated name of *list (trimmed), or NULL at the end. */
static char *
list_next(const char **list)
{
	const char	*p = *list, *end;
	char		*name;

	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	if (*p == '\0')
		return NULL;
	end = p + strcspn(p, ",");
	*list = end;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	name = xmalloc((size_t)(end - p) + 1);
	memcpy(name, p, (size_t)(end - p));
	name[end - p] = '\0';
	return name;
}

/* The id of the entity named name (or the home division when name is
 * NULL) in a list answer; NULL when none. */
static const char *
entity_id(json_t *list, const char *name)
{
	json_t	*e;
	size_t	 i;

	json_array_foreach(json_object_get(list, "entities"), i, e) {
		const char *n = json_string_value(json_object_get(e, "name"));

		if (name == NULL ? json_is_true(json_object_get(e, "homeDivision")) :
		    n != NULL && strcmp(n, name) == 0)
			return json_string_value(json_object_get(e, "id"));
	}
	return NULL;
}

struct pctx {
	struct platform		*p;
	const struct tenant	*t;
	const char		*prog;
	const char		*token;
	const char		*conf;
	const char		*sso_target;
	bool			 dry_run;
	json_t			*roles;		/* read once, when needed */
	json_t			*divisions;
	json_t			*clients;
};

static int
lists_read(struct pctx *x, char *err, size_t errlen)
{
	int	 ex;

	if (x->roles == NULL && (ex = provision_call(x->p, x->t, x->prog, x->token, "GET",
	    ROLES_PATH, NULL, "authorization:role:view", false, &x->roles, err,
	    errlen)) != PROVISION_OK)
		return ex;
	if (x->divisions == NULL && (ex = provision_call(x->p, x->t, x->prog, x->token,
	    "GET", DIVISIONS_PATH, NULL, "authorization:division:view", false,
	    &x->divisions, err, errlen)) != PROVISION_OK)
		return ex;
	return PROVISION_OK;
}

/* roleDivisions of a Client Credentials client: each role of oauth_roles
 * in each division of oauth_divisions (default: the home division). */
static int
role_divisions(struct pctx *x, const struct csec *c, json_t **ret, char *err,
    size_t errlen)
{
	const char	*rl = c->roles != NULL ? c->roles : "", *dl, *rid, *did;
	json_t		*out = json_array();
	char		*role, *div;
	int		 ex;

	if ((ex = lists_read(x, err, errlen)) != PROVISION_OK)
		goto fail;
	ex = PROVISION_ERROR;
	while ((role = list_next(&rl)) != NULL) {
		if ((rid = entity_id(x->roles, role)) == NULL) {
			snprintf(err, errlen, "[%s] oauth_roles: the organization has no "
			    "role named '%.80s'", c->section, role);
			free(role);
			goto fail;
		}
		free(role);
		dl = c->divisions != NULL ? c->divisions : "";
		if (c->divisions == NULL || (div = list_next(&dl)) == NULL) {
			if ((did = entity_id(x->divisions, NULL)) == NULL) {
				snprintf(err, errlen, "the organization lists no home division");
				goto fail;
			}
			json_array_append_new(out, json_pack("{s:s,s:s}", "roleId", rid,
			    "divisionId", did));
			continue;
		}
		do {
			if ((did = entity_id(x->divisions, div)) == NULL) {
				snprintf(err, errlen, "[%s] oauth_divisions: the organization "
				    "has no division named '%.80s'", c->section, div);
				free(div);
				goto fail;
			}
			free(div);
			json_array_append_new(out, json_pack("{s:s,s:s}", "roleId", rid,
			    "divisionId", did));
		} while ((div = list_next(&dl)) != NULL);
	}
	*ret = out;
	return PROVISION_OK;
fail:
	json_decref(out);
	return ex;
}

/* The access-token lifetime: [saml] expire_time, within the platform's range. */
static int
token_seconds(const struct tenant *t)
{
	long	 s = (long)t->expire_time_hours * 3600;

	return (int)(s < TOKEN_SECONDS_MIN ? TOKEN_SECONDS_MIN :
	    s > TOKEN_SECONDS_MAX ? TOKEN_SECONDS_MAX : s);
}

/* The creation request of c's client. */
static int
client_request(struct pctx *x, const struct csec *c, json_t **ret, char *err,
    size_t errlen)
{
	json_t	*body, *rd = NULL;
	char	 name[200], desc[300];
	int	 ex;

	snprintf(name, sizeof(name), "samlbroker %s %s", x->t->name, c->section);
	snprintf(desc, sizeof(desc), "%s tenant=%s section=%s: created by samlbroker "
	    "provision; samlbroker provision --remove deletes it", MARKER, x->t->name,
	    c->section);
	body = json_pack("{s:s,s:s,s:s,s:i,s:s}", "name", name, "description", desc,
	    "authorizedGrantType", c->saml ? GRANT_SAML2 : GRANT_CC,
	    "accessTokenValiditySeconds", token_seconds(x->t), "state", "active");
	if (c->saml) {
		json_object_set_new(body, "scope", json_pack("[s]", SAML2_SCOPE));
		json_object_set_new(body, "registeredRedirectUri", json_pack("[s]",
		    x->sso_target));
	} else if (c->roles != NULL) {
		if ((ex = role_divisions(x, c, &rd, err, errlen)) != PROVISION_OK) {
			json_decref(body);
			return ex;
		}
		json_object_set_new(body, "roleDivisions", rd);
	}
	*ret = body;
	return PROVISION_OK;
}

/* Prints what a creation would be. */
static void
plan_print(const struct csec *c, json_t *body)
{
	json_t	*rd = json_object_get(body, "roleDivisions");

	printf("  + [%s] OAuth client to create: %s, token lifetime %lld s", c->section,
	    json_string_value(json_object_get(body, "authorizedGrantType")),
	    (long long)json_integer_value(json_object_get(body,
	    "accessTokenValiditySeconds")));
	if (c->roles != NULL)
		printf(", roles %s (%zu role-division pair(s))", c->roles,
		    json_array_size(rd));
	printf("\n");
}

static int
client_create(struct pctx *x, const struct csec *c, char *err, size_t errlen)
{
	json_t		*body = NULL, *ans = NULL;
	const char	*id, *secret;
	char		*path = NULL;
	int		 ex;

	if (secret_target(x->t, c, &path, err, errlen) == -1)
		return PROVISION_ERROR;
	free(path);
	if ((ex = client_request(x, c, &body, err, errlen)) != PROVISION_OK)
		return ex;
	plan_print(c, body);
	if (x->dry_run) {
		json_decref(body);
		return PROVISION_OK;
	}
	ex = provision_call(x->p, x->t, x->prog, x->token, "POST", CLIENTS_PATH, body,
	    "oauth:client:add", false, &ans, err, errlen);
	json_decref(body);
	if (ex != PROVISION_OK)
		return ex;
	id = json_string_value(json_object_get(ans, "id"));
	secret = json_string_value(json_object_get(ans, "secret"));
	if (id == NULL || secret == NULL || id[0] == '\0' || secret[0] == '\0' ||
	    strpbrk(id, " \t\r\n") != NULL || strpbrk(secret, "\r\n") != NULL) {
		snprintf(err, errlen, "POST /api/" CLIENTS_PATH ": the answer has no "
		    "usable id and secret");
		json_decref(ans);
		return PROVISION_ERROR;
	}
	printf("  [%s] OAuth client created: %s\n", c->section, id);
	if (secret_write(x->conf, x->t, x->prog, c, id, secret) == -1) {
		snprintf(err, errlen, "the client %s was created but its id and secret "
		    "could not be written (above): delete it in PureCloud, or give it a new "
		    "secret there, and write both into [%s]", id, c->section);
		ex = PROVISION_ERROR;
	}
	/* jansson's copy of the secret cannot be wiped; it is freed here. */
	json_decref(ans);
	return ex;
}

/* The organization's clients, read once (one list: a wrong API base is
 * a 404 of its own, not a client that does not exist). */
static int
clients_read(struct pctx *x, char *err, size_t errlen)
{
	if (x->clients != NULL)
		return PROVISION_OK;
	return provision_call(x->p, x->t, x->prog, x->token, "GET", CLIENTS_PATH, NULL,
	    "oauth:client:view", false, &x->clients, err, errlen);
}

/* An existing client: found in the list, its grant type and state checked. */
static int
client_check(struct pctx *x, const struct csec *c, bool *bad, char *err, size_t errlen)
{
	json_t		*cur = NULL, *e;
	const char	*grant, *state, *want = c->saml ? GRANT_SAML2 : GRANT_CC, *id;
	char		*shown;
	size_t		 i;
	int		 ex;

	if ((ex = clients_read(x, err, errlen)) != PROVISION_OK)
		return ex;
	json_array_foreach(json_object_get(x->clients, "entities"), i, e)
		if ((id = json_string_value(json_object_get(e, "id"))) != NULL &&
		    strcmp(id, c->client_id) == 0)
			cur = e;
	shown = config_printable_dup(c->client_id);
	if (cur == NULL) {
		printf("  ! [%s] OAuth client %s: does not exist in the organization\n",
		    c->section, shown);
		*bad = true;
		free(shown);
		return PROVISION_OK;
	}
	grant = json_string_value(json_object_get(cur, "authorizedGrantType"));
	state = json_string_value(json_object_get(cur, "state"));
	if (grant == NULL || strcmp(grant, want) != 0) {
		printf("  ! [%s] OAuth client %s: grant type %s, must be %s (not changed: "
		    "fix it in PureCloud or remove client_id to create a new one)\n",
		    c->section, shown, grant != NULL ? grant : "(none)", want);
		*bad = true;
	} else if (state != NULL && strcmp(state, "active") != 0) {
		printf("  ! [%s] OAuth client %s: %s, %s (an inactive client gets no "
		    "token; not changed)\n", c->section, shown, grant, state);
		*bad = true;
	} else {
		printf("  = [%s] OAuth client %s: %s, active\n", c->section, shown, grant);
	}
	free(shown);
	return PROVISION_OK;
}

int
provision_clients(struct platform *p, const char *conf, const struct tenant *t,
    const char *prog, const char *token, const char *sso_target, bool dry_run,
    int *ret_changes)
{
	struct pctx	 x = { p, t, prog, token, conf, sso_target, dry_run, NULL, NULL, NULL };
	struct csecs	 cs;
	char		 err[768] = "";
	bool		 bad = false;
	int		 ex = PROVISION_OK, created = 0;

	if (csecs_read(t, &cs, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return PROVISION_ERROR;
	}
	printf("tenant %s: OAuth clients\n", t->name);
	for (size_t i = 0; i < cs.n && ex == PROVISION_OK; i++) {
		if (cs.s[i].client_id != NULL) {
			ex = client_check(&x, &cs.s[i], &bad, err, sizeof(err));
		} else {
			ex = client_create(&x, &cs.s[i], err, sizeof(err));
			created++;
		}
	}
	if (ex == PROVISION_OK && bad) {
		snprintf(err, sizeof(err), "an OAuth client of the tenant file is wrong "
		    "(above); provision never replaces one");
		ex = PROVISION_ERROR;
	}
	if (ex == PROVISION_OK && created == 0)
		printf("no change: the OAuth clients exist\n");
	else if (ex == PROVISION_OK && dry_run)
		printf("dry run: %d client(s) would be created; nothing written\n", created);
	text_printable(err);
	if (ex != PROVISION_OK && err[0] != '\0')
		fprintf(stderr, "%s: %s\n", prog, err);
	if (ex == PROVISION_OK)
		*ret_changes = created;
	json_decref(x.roles);
	json_decref(x.divisions);
	json_decref(x.clients);
	csecs_clear(&cs);
	return ex;
}

/*
 * --rotate-secrets
 */

static int
rotate_one(struct pctx *x, const struct csec *c, char *err, size_t errlen)
{
	json_t		*ans = NULL;
	const char	*secret;
	char		 path[200], *target = NULL;
	int		 ex;

	if (strlen(c->client_id) > 100 || strpbrk(c->client_id, "/?#% ") != NULL) {
		snprintf(err, errlen, "[%s] client_id is not an OAuth client id", c->section);
		return PROVISION_ERROR;
	}
	if (secret_target(x->t, c, &target, err, errlen) == -1)
		return PROVISION_ERROR;
	printf("  [%s] OAuth client %s: new secret, into %s\n", c->section, c->client_id,
	    target != NULL ? target : x->t->file);
	free(target);
	if (x->dry_run)
		return PROVISION_OK;
	snprintf(path, sizeof(path), CLIENTS_PATH "/%s/secret", c->client_id);
	if ((ex = provision_call(x->p, x->t, x->prog, x->token, "POST", path, NULL,
	    "oauth:client:edit", false, &ans, err, errlen)) != PROVISION_OK)
		return ex;
	secret = json_string_value(json_object_get(ans, "secret"));
	if (secret == NULL || secret[0] == '\0' || strpbrk(secret, "\r\n") != NULL) {
		snprintf(err, errlen, "POST /api/%s: the answer holds no usable secret; the "
		    "old one may be void already: run --rotate-secrets again", path);
		ex = PROVISION_ERROR;
	} else if (secret_write(x->conf, x->t, x->prog, c, NULL, secret) == -1) {
		snprintf(err, errlen, "[%s] the new secret could not be written (above): "
		    "the client now refuses the old one; run --rotate-secrets --service %s "
		    "again", c->section, c->section);
		ex = PROVISION_ERROR;
	}
	json_decref(ans);
	return ex;
}

int
provision_rotate(struct platform *p, const char *conf, const struct tenant *t,
    const char *prog, const char *token, const char *service, bool dry_run,
    int *ret_changes)
{
	struct pctx	 x = { p, t, prog, token, conf, NULL, dry_run, NULL, NULL, NULL };
	struct csecs	 cs;
	char		 err[768] = "";
	int		 ex = PROVISION_OK, done = 0;
	bool		 found = false;

	if (csecs_read(t, &cs, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return PROVISION_ERROR;
	}
	printf("tenant %s: new client secrets\n", t->name);
	for (size_t i = 0; i < cs.n && ex == PROVISION_OK; i++) {
		if (service != NULL && strcmp(service, cs.s[i].section) != 0)
			continue;
		found = true;
		if (cs.s[i].client_id == NULL) {
			printf("  [%s] no client yet (provision creates it)\n",
			    cs.s[i].section);
			continue;
		}
		if ((ex = rotate_one(&x, &cs.s[i], err, sizeof(err))) == PROVISION_OK)
			done++;
	}
	if (!found && service != NULL) {
		snprintf(err, sizeof(err), "tenant %s has no client section [%s]", t->name,
		    service);
		ex = PROVISION_ERROR;
	}
	text_printable(err);
	if (ex != PROVISION_OK && err[0] != '\0')
		fprintf(stderr, "%s: %s\n", prog, err);
	*ret_changes = dry_run ? 0 : done;
	csecs_clear(&cs);
	return ex;
}

/*
 * --remove
 */

/* Whether a client's description carries this tenant's marker. */
static bool
created_for(json_t *client, const char *tenant)
{
	const char	*d = json_string_value(json_object_get(client, "description"));
	char		 want[200];

	snprintf(want, sizeof(want), MARKER " tenant=%s section=", tenant);
	return d != NULL && strncmp(d, want, strlen(want)) == 0;
}

int
provision_clients_remove(struct platform *p, const struct tenant *t, const char *prog,
    const char *token, bool yes, int *ret_found)
{
	struct pctx	 x = { p, t, prog, token, NULL, NULL, !yes, NULL, NULL, NULL };
	json_t		*e, *ans;
	const char	*id;
	char		 err[768] = "", path[200], *name;
	size_t		 i;
	int		 ex, found = 0;

	if ((ex = clients_read(&x, err, sizeof(err))) != PROVISION_OK)
		goto done;
	json_array_foreach(json_object_get(x.clients, "entities"), i, e) {
		if (!created_for(e, t->name))
			continue;
		id = json_string_value(json_object_get(e, "id"));
		if (id == NULL || strlen(id) > 100 || strpbrk(id, "/?#% ") != NULL)
			continue;
		found++;
		name = config_printable_dup(json_string_value(json_object_get(e, "name")) != NULL
		    ? json_string_value(json_object_get(e, "name")) : "");
		printf("  - OAuth client %s (%s)%s\n", id, name, yes ? "" : ": to delete");
		free(name);
		if (!yes)
			continue;
		snprintf(path, sizeof(path), CLIENTS_PATH "/%s", id);
		if ((ex = provision_call(p, t, prog, token, "DELETE", path, NULL,
		    "oauth:client:delete", true, &ans, err, sizeof(err))) != PROVISION_OK)
			goto done;
		json_decref(ans);
	}
	*ret_found = found;
done:
	text_printable(err);
	if (ex != PROVISION_OK && err[0] != '\0')
		fprintf(stderr, "%s: %s\n", prog, err);
	json_decref(x.clients);
	return ex;
}
