/* SPDX-License-Identifier: Apache-2.0 */
/*
 * provision.c - `samlbroker provision`: creates or updates a tenant's
 * PureEngage identity provider in PureCloud, the vendor's manual
 * "PUT /api/v2/identityproviders/pureengage" step, and the reads that
 * `check --online` shares (the admin token, the current record, another
 * provider with the same issuer).
 *
 * It authenticates with the tenant's [provisioning] client (Client
 * Credentials; the client's role needs sso:provider:add and :edit), reads
 * the current record, prints what would change field by field, refuses
 * when another identity provider of the organization uses the same issuer,
 * and writes only when something differs.  It never prints a secret or a
 * token; certificates are shown by their SHA-256 fingerprint; PureCloud's
 * own text is printed only made printable (text_printable).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "samlbroker.h"
#include "commands.h"

#define DEFAULT_NAME	"PureEngage"
#define PROVIDER_PATH	"v2/identityproviders/pureengage"
#define PROVIDERS_PATH	"v2/identityproviders"
#define PROVIDERS_SELF	"/api/v2/identityproviders/"
#define PROG		"samlbroker provision"

static void
waiting(double seconds, void *arg)
{
	fprintf(stderr, "%s: PureCloud answered 429 Too Many Requests; trying again "
	    "in %.0f s\n", (const char *)arg, seconds);
}

/*
 * What an unwanted answer means, in err, and the exit status it calls for.
 * what names the call ("GET /api/v2/..."); the answer's own message is
 * quoted (API error bodies carry no secret).
 */
int
provision_explain(int rc, const struct platform_reply *r, const char *what,
    char *err, size_t errlen)
{
	return provision_explain_perm(rc, r, what, NULL, err, errlen);
}

int
provision_explain_perm(int rc, const struct platform_reply *r, const char *what,
    const char *perm, char *err, size_t errlen)
{
	const char	*msg;
	bool		 token;
	size_t		 n;

	if (rc == -1) {
		snprintf(err, errlen, "%s: %s%s", what, r->timeout ? "timed out: " :
		    r->tls ? "TLS verification failed (is ca_file right?): " : "", r->error);
		return PROVISION_UNAVAILABLE;
	}
	if ((msg = platform_json_str(r, "message")) == NULL &&
	    (msg = platform_json_str(r, "error_description")) == NULL)
		msg = platform_json_str(r, "error");
	snprintf(err, errlen, "%s: HTTP %ld%s%s", what, r->status, msg != NULL ? ": " : "",
	    msg != NULL ? msg : "");
	n = strlen(err);
	/* A token request goes to base_auth_url, the rest to base_service_url. */
	token = strncmp(what, "token request", 13) == 0;
	if ((r->status == 401 || r->status == 403) && token) {
		snprintf(err + n, errlen - n, " (check this client's client_id and "
		    "password/client_secret)");
		return PROVISION_REFUSED;
	}
	if ((r->status == 401 || r->status == 403) && perm != NULL) {
		snprintf(err + n, errlen - n, " (the [provisioning] client's role needs "
		    "the permission %s)", perm);
		return PROVISION_REFUSED;
	}
	if (r->status == 401 || r->status == 403) {
		snprintf(err + n, errlen - n, " (the [provisioning] client must be a "
		    "Client Credentials client whose role has the permissions "
		    "sso:provider:add and sso:provider:edit)");
		return PROVISION_REFUSED;
	}
	if (r->status == 429 || r->status >= 500 || r->status == 0)
		return PROVISION_UNAVAILABLE;
	if (r->status == 404) {
		snprintf(err + n, errlen - n, token ? " (is base_auth_url the token "
		    "endpoint, https://login.DOMAIN/oauth/token?)" : " (is "
		    "base_service_url the organization's API base, https://api.DOMAIN/api/?)");
	}
	return PROVISION_ERROR;
}

int
provision_admin_token(struct platform *p, const struct tenant *t, const char *prog,
    char **ret_token, char *err, size_t errlen)
{
	struct platform_reply	 r;
	char			*token = NULL;
	int			 rc, ex = PROVISION_OK;

	if (t->provisioning.client_id == NULL) {
		snprintf(err, errlen, "tenant %s has no [provisioning] section (client_id "
		    "and password of an admin Client Credentials client)", t->name);
		return PROVISION_ERROR;
	}
	rc = platform_token(p, t, &t->provisioning, NULL, &token, &r, waiting, (void *)prog);
	if (rc == -1 || r.status != 200)
		ex = provision_explain(rc, &r, "token request of the [provisioning] client",
		    err, errlen);
	else if (token == NULL) {
		snprintf(err, errlen, "the token endpoint answered 200 without an access_token");
		ex = PROVISION_ERROR;
	}
	platform_reply_clear(&r);
	if (ex != PROVISION_OK) {
		secret_free(token);
		return ex;
	}
	*ret_token = token;
	return PROVISION_OK;
}

int
provision_call(struct platform *p, const struct tenant *t, const char *prog,
    const char *token, const char *method, const char *path, json_t *body,
    const char *perm, bool allow_404, json_t **ret, char *err, size_t errlen)
{
	struct platform_req	 q = { .bearer = token };
	struct platform_reply	 r;
	json_t			*j = NULL;
	char			 what[160];
	int			 rc, ex = PROVISION_OK;

	q.url = platform_api_url(t, path);
	if (strcmp(method, "GET") != 0)
		q.method = method;
	if (body != NULL)
		q.json = json_dumps(body, JSON_COMPACT);
	else if (strcmp(method, "POST") == 0)
		q.json = xstrdup("{}");
	snprintf(what, sizeof(what), "%s %s%.120s", method, path[0] == '/' ? "" : "/api/",
	    path);
	rc = platform_call(p, &q, &r, waiting, (void *)prog);
	if (rc == 0 && r.status == 404 && allow_404) {
		*ret = NULL;
	} else if (rc == -1 || r.status < 200 || r.status > 299) {
		ex = provision_explain_perm(rc, &r, what, perm, err, errlen);
	} else if (strcmp(method, "DELETE") == 0 && (r.status == 204 ||
	    r.body_len == 0)) {
		*ret = NULL;	/* the platform's 204 No Content */
	} else if ((j = json_loadb(r.body, r.body_len, 0, NULL)) == NULL ||
	    !json_is_object(j)) {
		json_decref(j);
		snprintf(err, errlen, "%s: the answer is not a JSON object", what);
		ex = PROVISION_ERROR;
	} else {
		*ret = j;
	}
	platform_reply_clear(&r);
	free((char *)q.url);
	/* A body may hold a secret (a client's). */
	secret_free((char *)q.json);
	return ex;
}

/* GET of an API path; *ret the JSON object, or NULL on a 404 when allowed. */
int
provision_get(struct platform *p, const struct tenant *t, const char *prog,
    const char *token, const char *path, bool allow_404, json_t **ret,
    char *err, size_t errlen)
{
	return provision_call(p, t, prog, token, "GET", path, NULL, NULL, allow_404, ret,
	    err, errlen);
}

/*
 * Another identity provider of the organization whose issuerURI is issuer:
 * its name in *ret_name (allocated), or NULL.  The list holds only ids,
 * names and selfUris; each other provider is read by its selfUri.
 */
int
provision_find_duplicate(struct platform *p, const struct tenant *t, const char *prog,
    const char *token, char **ret_name, char *err, size_t errlen)
{
	json_t		*list = NULL, *ent, *other;
	size_t		 i;
	int		 ex;

	*ret_name = NULL;
	if ((ex = provision_get(p, t, prog, token, PROVIDERS_PATH, false, &list, err,
	    errlen)) != PROVISION_OK)
		return ex;
	json_array_foreach(json_object_get(list, "entities"), i, ent) {
		const char *self = json_string_value(json_object_get(ent, "selfUri"));
		const char *iss;

		if (self == NULL || strncmp(self, PROVIDERS_SELF, strlen(PROVIDERS_SELF)) != 0 ||
		    strchr(self + strlen(PROVIDERS_SELF), '/') != NULL ||
		    strcmp(self + strlen(PROVIDERS_SELF), "pureengage") == 0)
			continue;
		other = NULL;
		if ((ex = provision_get(p, t, prog, token, self, true, &other, err,
		    errlen)) != PROVISION_OK)
			break;
		iss = json_string_value(json_object_get(other, "issuerURI"));
		if (iss != NULL && strcmp(iss, t->issuer) == 0) {
			const char *name = json_string_value(json_object_get(other, "name"));

			*ret_name = xstrdup(name != NULL ? name : self);
			json_decref(other);
			break;
		}
		json_decref(other);
	}
	json_decref(list);
	return ex;
}

/* The SHA-256 fingerprint of a certificate body (base64 DER), or "?". */
void
provision_cert_fingerprint(const char *body, char *out, size_t len)
{
	unsigned char	*der = NULL;
	size_t		 derlen = 0;

	if (body == NULL || base64_decode_lenient(body, &der, &derlen) == -1 ||
	    x509_fingerprint(der, derlen, out, len) == -1)
		snprintf(out, len, "?");
	free(der);
}

/* Whether two certificate bodies hold the same DER bytes. */
bool
provision_cert_equal(const char *a, const char *b)
{
	char	 fa[100], fb[100];

	provision_cert_fingerprint(a, fa, sizeof(fa));
	provision_cert_fingerprint(b, fb, sizeof(fb));
	return strcmp(fa, "?") != 0 && strcmp(fa, fb) == 0;
}

/* The ssoTargetURI: --sso-target, else https://apps.DOMAIN of the region. */
static char *
sso_target(const struct tenant *t, const char *opt)
{
	const char	*domain;

	if (opt != NULL)
		return xstrdup(opt);
	if ((domain = region_of_url(t->base_service_url, REGION_SERVICE_URL)) == NULL &&
	    (domain = region_of_url(t->base_auth_url, REGION_AUTH_URL)) == NULL)
		return NULL;
	return region_url(domain, REGION_APPS_URL);
}

/* Prints one field's change; returns whether it differs. */
static bool
field_show(json_t *cur, json_t *want, const char *key)
{
	json_t	*c = cur != NULL ? json_object_get(cur, key) : NULL;
	json_t	*w = json_object_get(want, key);
	char	*cs = NULL, *ws, fc[100], fw[100];
	bool	 differ;

	if (strcmp(key, "certificate") == 0) {
		provision_cert_fingerprint(json_string_value(w), fw, sizeof(fw));
		differ = c == NULL || !provision_cert_equal(json_string_value(c),
		    json_string_value(w));
		if (c != NULL)
			provision_cert_fingerprint(json_string_value(c), fc, sizeof(fc));
		if (c == NULL)
			printf("  + certificate: SHA-256 %s\n", fw);
		else if (differ)
			printf("  ~ certificate: SHA-256 %s\n      -> SHA-256 %s\n", fc, fw);
		else
			printf("  = certificate: SHA-256 %s\n", fw);
		return differ;
	}
	/* The record's values come from PureCloud: printable only. */
	ws = json_dumps(w, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
	if (c != NULL)
		cs = json_dumps(c, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
	if (ws != NULL)
		text_printable(ws);
	if (cs != NULL)
		text_printable(cs);
	differ = c == NULL || !json_equal(c, w);
	if (c == NULL)
		printf("  + %s: %s\n", key, ws);
	else if (differ)
		printf("  ~ %s: %s -> %s\n", key, cs, ws);
	else
		printf("  = %s: %s\n", key, ws);
	free(cs);
	free(ws);
	return differ;
}

struct provision_opts {
	const char	*conf;
	const char	*tenant;
	const char	*sso_target;
	const char	*name;
	const char	*service;	/* --rotate-secrets --service */
	const char	*pid_file;	/* --reload --pid-file */
	bool		 dry_run;
	bool		 rotate;
	bool		 reload;
	bool		 remove;
	bool		 yes;		/* --remove --yes */
};

static int
provision_put(struct platform *p, const struct tenant *t, const char *token, json_t *body,
    char *err, size_t errlen)
{
	struct platform_req	 q = { .method = "PUT", .bearer = token };
	struct platform_reply	 r;
	int			 rc, ex = PROVISION_OK;

	q.url = platform_api_url(t, PROVIDER_PATH);
	q.json = json_dumps(body, JSON_COMPACT);
	rc = platform_call(p, &q, &r, waiting, (void *)PROG);
	if (rc == -1 || r.status != 200)
		ex = provision_explain(rc, &r, "PUT /api/" PROVIDER_PATH, err, errlen);
	platform_reply_clear(&r);
	free((char *)q.json);
	free((char *)q.url);
	return ex;
}

/* Prints the record's fields as they are and would be; the number that differ. */
static int
plan_show(const struct tenant *t, json_t *cur, json_t *want)
{
	static const char *const fields[] = { "name", "issuerURI", "ssoTargetURI",
	    "certificate", "nameIdentifierFormat", "autoProvisionUsers", "disabled" };
	int	 changes = 0;

	printf("tenant %s: PureEngage identity provider %s\n", t->name,
	    cur == NULL ? "does not exist; to create:" : "exists; fields:");
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		changes += field_show(cur, want, fields[i]);
	if (cur != NULL && json_array_size(json_object_get(cur, "certificates")) > 0)
		printf("  certificates: %zu kept as they are (rollover)\n",
		    json_array_size(json_object_get(cur, "certificates")));
	return changes;
}

/* --rotate-secrets: new secrets written, then the broker reloaded. */
static int
rotate_run(const struct provision_opts *o, struct platform *p, const struct tenant *t,
    const char *token)
{
	int	 ex, changes = 0;

	ex = provision_rotate(p, o->conf, t, PROG, token, o->service, o->dry_run, &changes);
	if (o->dry_run) {
		printf("dry run: nothing changed\n");
		return ex;
	}
	if (changes == 0)
		return ex;
	if (o->reload) {
		if (tenant_file_reload(PROG, o->pid_file) == -1 && ex == PROVISION_OK)
			ex = PROVISION_ERROR;
	} else {
		printf("reload the broker now so that it uses the new secrets (systemctl "
		    "reload samlbroker, or SIGHUP); cached tokens are kept\n");
	}
	return ex;
}

/*
 * --remove: what provision created for the tenant, deleted: the clients
 * that carry its marker, and the identity provider when it names the
 * tenant's issuer.  Granted role permissions stay (provision cannot tell
 * them from others'); the tenant file is left as it is.
 */
static int
remove_run(const struct provision_opts *o, struct platform *p, const struct tenant *t,
    const char *token, char *err, size_t errlen)
{
	json_t		*idp = NULL, *ans = NULL;
	const char	*iss;
	int		 ex, found = 0;
	bool		 ours;

	printf("tenant %s: %s\n", t->name, o->yes ? "removing what provision created" :
	    "what --remove --yes would delete");
	if ((ex = provision_clients_remove(p, t, PROG, token, o->yes, &found)) !=
	    PROVISION_OK || (ex = provision_get(p, t, PROG, token, PROVIDER_PATH, true,
	    &idp, err, errlen)) != PROVISION_OK)
		return ex;
	iss = json_string_value(json_object_get(idp, "issuerURI"));
	ours = iss != NULL && strcmp(iss, t->issuer) == 0;
	if (ours) {
		printf("  - identity provider PureEngage (issuer %s)%s\n", t->issuer,
		    o->yes ? "" : ": to delete");
		found++;
	} else if (idp != NULL) {
		printf("  = identity provider PureEngage: another issuer, kept\n");
	}
	if (ours && o->yes)
		ex = provision_call(p, t, PROG, token, "DELETE", PROVIDER_PATH, NULL,
		    "sso:provider:delete", true, &ans, err, errlen);
	json_decref(idp);
	json_decref(ans);
	if (ex != PROVISION_OK)
		return ex;
	if (found == 0) {
		printf("no change: nothing provision created is left\n");
		return PROVISION_OK;
	}
	if (!o->yes) {
		fprintf(stderr, PROG ": %d item(s) would be deleted; add --yes to delete "
		    "them\n", found);
		return PROVISION_USAGE;
	}
	printf("removed %d item(s); the role permissions granted stay, and %s still "
	    "names the deleted clients\n", found, t->file);
	return PROVISION_OK;
}

/* The identity provider's record: compared, printed, written when it differs. */
static int
provider_run(const struct provision_opts *o, struct platform *p, const struct tenant *t,
    const char *token, const char *sso, bool *ret_changed, char *err, size_t errlen)
{
	json_t	*cur = NULL, *want = NULL, *body;
	char	*cert = NULL, *dup = NULL;
	int	 ex, changes;

	if ((cert = x509_pem_body(keystore_cert_pem(t->keys), true)) == NULL) {
		snprintf(err, errlen, "cannot read the tenant's certificate");
		return PROVISION_ERROR;
	}
	/* The NameID format the broker's assertions carry ([saml] name_id_format). */
	want = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b}", "name", o->name, "issuerURI",
	    t->issuer, "ssoTargetURI", sso, "certificate", cert, "nameIdentifierFormat",
	    t->name_id_format != NULL ? t->name_id_format : SAML_NAMEID_EMAIL,
	    "autoProvisionUsers", 1, "disabled", 0);
	if ((ex = provision_get(p, t, PROG, token, PROVIDER_PATH, true, &cur, err,
	    errlen)) != PROVISION_OK ||
	    (ex = provision_find_duplicate(p, t, PROG, token, &dup, err,
	    errlen)) != PROVISION_OK)
		goto done;
	if (dup != NULL) {
		snprintf(err, errlen, "the identity provider '%s' of the organization "
		    "already uses the issuer %s; PureCloud must not have two providers with "
		    "the same issuer: change [saml] issuer or that provider", dup, t->issuer);
		ex = PROVISION_CONFLICT;
		goto done;
	}
	if ((changes = plan_show(t, cur, want)) == 0) {
		printf("no change: the identity provider already matches\n");
		goto done;
	}
	if (o->dry_run) {
		printf("dry run: %d field(s) would change; nothing written\n", changes);
		goto done;
	}
	/* Fields this command does not manage keep their values. */
	body = cur != NULL ? json_deep_copy(cur) : json_object();
	json_object_del(body, "selfUri");
	json_object_update(body, want);
	ex = provision_put(p, t, token, body, err, errlen);
	json_decref(body);
	if (ex == PROVISION_OK)
		printf("identity provider %s: %s\n", o->name, cur == NULL ? "created" :
		    "updated");
	*ret_changed = ex == PROVISION_OK;
done:
	free(dup);
	json_decref(cur);
	json_decref(want);
	free(cert);
	return ex;
}

static int
provision_run(const struct provision_opts *o, int *ret_changes)
{
	struct broker_config	*conf;
	const struct tenant	*t;
	struct platform		*p = NULL;
	char			 err[768] = "", *token = NULL, *sso = NULL;
	int			 ex = PROVISION_ERROR, created = 0, granted = 0;
	bool			 idp = false;

	/* Clients still to be created do not stop this load. */
	if ((conf = config_load_verbose_ext(o->conf, CONFIG_WARN_OPEN |
	    CONFIG_PENDING_CLIENTS)) == NULL)
		return PROVISION_ERROR;
	if ((t = config_tenant_find(conf, o->tenant)) == NULL) {
		snprintf(err, sizeof(err), "unknown tenant '%s'", o->tenant);
		goto done;
	}
	if (!o->rotate && !o->remove &&
	    (sso = sso_target(t, o->sso_target)) == NULL) {
		snprintf(err, sizeof(err), "base_service_url is not a known region's; give "
		    "--sso-target URI (the browser application, https://apps.DOMAIN)");
		goto done;
	}
	if ((p = platform_new(conf)) == NULL) {
		snprintf(err, sizeof(err), "cannot initialise libcurl");
		goto done;
	}
	if ((ex = provision_admin_token(p, t, PROG, &token, err, sizeof(err))) !=
	    PROVISION_OK)
		goto done;
	if (o->rotate) {
		ex = rotate_run(o, p, t, token);
		goto done;
	}
	if (o->remove) {
		ex = remove_run(o, p, t, token, err, sizeof(err));
		goto done;
	}
	/* Each step prints its own error. */
	if ((ex = provision_clients(p, o->conf, t, PROG, token, sso, o->dry_run,
	    &created)) != PROVISION_OK ||
	    (ex = provision_roles(p, t, PROG, token, o->dry_run, &granted)) !=
	    PROVISION_OK)
		goto done;
	ex = provider_run(o, p, t, token, sso, &idp, err, sizeof(err));
	if (ret_changes != NULL)
		*ret_changes = created + granted + idp;
done:
	/* err may quote PureCloud (a message, a provider's name or path). */
	text_printable(err);
	if (ex != PROVISION_OK && err[0] != '\0')
		fprintf(stderr, PROG ": %s\n", err);
	secret_free(token);
	free(sso);
	platform_free(p);
	config_free(conf);
	return ex;
}

/*
 * The record's certificates for a rollover (rollover.c).  PROVISION_LISTS:
 * whether the record's certificate or certificates hold bodies[0]
 * (*ret_yes).  PROVISION_PUBLISH: certificate := bodies[0], certificates
 * := bodies[0..n-1]; prints the change and writes only when the record
 * differs (never with dry_run); *ret_yes tells whether it differed.  The
 * record must exist: `provision` makes it.
 */
int
provision_certificates(const struct broker_config *conf, const struct tenant *t,
    const char *prog, enum provision_cert_op op, const char *const *bodies, size_t n,
    bool dry_run, bool *ret_yes)
{
	struct platform	*p = NULL;
	json_t		*cur = NULL, *list, *body, *v;
	char		 err[768] = "", fp[100], *token = NULL;
	size_t		 i;
	bool		 same, yes = false;
	int		 ex;

	if (n == 0 || n > PROVISION_MAX_CERTIFICATES) {
		snprintf(err, sizeof(err), "PureCloud keeps at most %d certificates",
		    PROVISION_MAX_CERTIFICATES);
		ex = PROVISION_ERROR;
		goto done;
	}
	if ((p = platform_new(conf)) == NULL) {
		snprintf(err, sizeof(err), "cannot initialise libcurl");
		ex = PROVISION_ERROR;
		goto done;
	}
	if ((ex = provision_admin_token(p, t, prog, &token, err, sizeof(err))) !=
	    PROVISION_OK || (ex = provision_get(p, t, prog, token, PROVIDER_PATH, true,
	    &cur, err, sizeof(err))) != PROVISION_OK)
		goto done;
	if (cur == NULL) {
		snprintf(err, sizeof(err), "the organization has no PureEngage identity "
		    "provider: run samlbroker provision -t %s first", t->name);
		ex = PROVISION_ERROR;
		goto done;
	}
	list = json_object_get(cur, "certificates");
	if (op == PROVISION_LISTS) {
		yes = provision_cert_equal(json_string_value(json_object_get(cur,
		    "certificate")), bodies[0]);
		json_array_foreach(list, i, v)
			yes = yes || provision_cert_equal(json_string_value(v), bodies[0]);
		goto done;
	}
	same = provision_cert_equal(json_string_value(json_object_get(cur, "certificate")),
	    bodies[0]) && json_array_size(list) == n;
	for (i = 0; same && i < n; i++)
		same = provision_cert_equal(json_string_value(json_array_get(list, i)),
		    bodies[i]);
	printf("tenant %s: identity provider certificates%s\n", t->name,
	    same ? " (no change):" : ", to be:");
	for (i = 0; i < n; i++) {
		provision_cert_fingerprint(bodies[i], fp, sizeof(fp));
		printf("  %s SHA-256 %s\n", i == 0 ? "certificate, signing:" :
		    "also published:     ", fp);
	}
	if (same || dry_run)
		goto done;
	yes = true;
	body = json_deep_copy(cur);
	json_object_del(body, "selfUri");
	json_object_set_new(body, "certificate", json_string(bodies[0]));
	list = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(list, json_string(bodies[i]));
	json_object_set_new(body, "certificates", list);
	ex = provision_put(p, t, token, body, err, sizeof(err));
	json_decref(body);
	if (ex == PROVISION_OK)
		printf("identity provider: updated\n");
done:
	text_printable(err);
	if (ex != PROVISION_OK && err[0] != '\0')
		fprintf(stderr, "%s: %s\n", prog, err);
	if (ex == PROVISION_OK)
		*ret_yes = yes;
	json_decref(cur);
	secret_free(token);
	platform_free(p);
	return ex;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: samlbroker provision [-c FILE] -t TENANT [--dry-run] [--sso-target URI]\n"
	    "           [--name NAME]\n"
	    "       samlbroker provision [-c FILE] -t TENANT --rotate-secrets [--dry-run]\n"
	    "           [--service SECTION] [--reload [--pid-file FILE]]\n"
	    "       samlbroker provision [-c FILE] -t TENANT --remove [--yes]\n"
	    "Creates the tenant's OAuth clients where the tenant file has none (the\n"
	    "SAML2 Bearer client of [saml_auth], a Client Credentials client for each\n"
	    "section with oauth_roles or oauth_divisions), writing their ids and\n"
	    "secrets into it, and checks those it has; then creates or updates the\n"
	    "PureEngage identity provider (PUT /api/v2/identityproviders/pureengage)\n"
	    "with the tenant's certificate and issuer.  Authenticated with the\n"
	    "tenant's [provisioning] client.  Prints each change (never a secret) and\n"
	    "writes only when something differs.\n"
	    "  -c, --config FILE     the broker's configuration\n"
	    "  -t, --tenant TENANT   the tenant\n"
	    "  -n, --dry-run         print the changes, write nothing\n"
	    "      --sso-target URI  ssoTargetURI (default https://apps.DOMAIN of the region)\n"
	    "      --name NAME       the provider's name (default " DEFAULT_NAME ")\n"
	    "      --rotate-secrets  new secrets for the tenant's clients, written where\n"
	    "                        the old ones were\n"
	    "      --service SECTION with --rotate-secrets: that client only\n"
	    "      --reload          then reload the broker (systemctl reload samlbroker,\n"
	    "                        or SIGHUP to --pid-file's process)\n"
	    "      --remove          what provision created for the tenant (its OAuth\n"
	    "                        clients, the identity provider): listed; deleted\n"
	    "                        with --yes\n"
	    "Exit status: 0 done or nothing to do, 1 error, 2 usage, 3 credentials or\n"
	    "permissions refused, 4 PureCloud unreachable or unavailable, 5 another\n"
	    "identity provider uses the same issuer.\n");
}

enum { OPT_SSO = 256, OPT_NAME, OPT_ROTATE, OPT_SERVICE, OPT_RELOAD, OPT_PID,
	OPT_REMOVE, OPT_YES };
static const struct option longopts[] = {
	{ "config",		required_argument,	NULL, 'c' },
	{ "tenant",		required_argument,	NULL, 't' },
	{ "dry-run",		no_argument,		NULL, 'n' },
	{ "sso-target",		required_argument,	NULL, OPT_SSO },
	{ "name",		required_argument,	NULL, OPT_NAME },
	{ "rotate-secrets",	no_argument,		NULL, OPT_ROTATE },
	{ "service",		required_argument,	NULL, OPT_SERVICE },
	{ "reload",		no_argument,		NULL, OPT_RELOAD },
	{ "pid-file",		required_argument,	NULL, OPT_PID },
	{ "remove",		no_argument,		NULL, OPT_REMOVE },
	{ "yes",		no_argument,		NULL, OPT_YES },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* The options that go together; -1 after saying which do not. */
static int
opts_check(const struct provision_opts *o)
{
	if ((o->service != NULL || o->reload) && !o->rotate) {
		fprintf(stderr, PROG ": --service and --reload go with --rotate-secrets\n");
		return -1;
	}
	if ((o->yes && !o->remove) || (o->remove && (o->rotate || o->dry_run))) {
		fprintf(stderr, PROG ": --yes goes with --remove, which goes with neither "
		    "--rotate-secrets nor --dry-run (without --yes it deletes nothing)\n");
		return -1;
	}
	if (o->pid_file != NULL && !o->reload) {
		fprintf(stderr, PROG ": --pid-file goes with --reload\n");
		return -1;
	}
	return 0;
}

int
cmd_provision(int argc, char **argv)
{
	struct provision_opts	 o = { .conf = SAMLBROKER_DEFAULT_CONF, .name = DEFAULT_NAME };
	int			 ch;

	while ((ch = getopt_long(argc, argv, "c:t:nh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.conf = optarg;
			break;
		case 't':
			o.tenant = optarg;
			break;
		case 'n':
			o.dry_run = true;
			break;
		case OPT_SSO:
			o.sso_target = optarg;
			break;
		case OPT_NAME:
			o.name = optarg;
			break;
		case OPT_ROTATE:
			o.rotate = true;
			break;
		case OPT_SERVICE:
			o.service = optarg;
			break;
		case OPT_RELOAD:
			o.reload = true;
			break;
		case OPT_PID:
			o.pid_file = optarg;
			break;
		case OPT_REMOVE:
			o.remove = true;
			break;
		case OPT_YES:
			o.yes = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return PROVISION_USAGE;
		}
	}
	if (opts_check(&o) == -1)
		return PROVISION_USAGE;
	if (optind != argc || o.tenant == NULL) {
		usage(stderr);
		return PROVISION_USAGE;
	}
	if (o.name[0] == '\0' || (o.sso_target != NULL &&
	    strncmp(o.sso_target, "https://", 8) != 0)) {
		fprintf(stderr, "samlbroker provision: --name must not be empty and "
		    "--sso-target must be an https:// URI\n");
		return PROVISION_USAGE;
	}
	return provision_run(&o, NULL);
}

int
provision_tenant(const char *conf, const char *tenant, const char *sso_target,
    int *ret_changes)
{
	struct provision_opts	 o = { .conf = conf, .tenant = tenant,
				    .sso_target = sso_target, .name = DEFAULT_NAME };

	*ret_changes = 0;
	return provision_run(&o, ret_changes);
}
