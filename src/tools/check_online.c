/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_online.c - `samlbroker check --online`: the vendor's
 * troubleshooting list, asked of PureCloud itself, per tenant.
 *
 * One line per check, "ok", "warn" or "FAIL", with a hint: the token
 * endpoint and API host reachable over verified TLS; a Client Credentials
 * token for every service; the saml_auth client's secret (a probe without
 * an assertion, which tells invalid_client from invalid_grant); the
 * organization's id and short name; and the PureEngage identity provider
 * (exists, enabled, issuerURI, certificate, autoProvisionUsers, NameID
 * format, no other provider with the same issuer) and the roles
 * (default_agent_role_name and default_admin_role_name exist, the agent
 * role holds the agent permissions), read with the [provisioning] client.  With --user, one full SAML2 Bearer exchange.
 * No secret or token is printed, and every line is made printable
 * (text_printable): PureCloud's text reaches no terminal control.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "samlbroker.h"
#include "commands.h"

#define PROG		"samlbroker check"
#define LINE_MAX_LEN	2048

struct run {
	struct platform		*p;
	const struct tenant	*t;
	int			 fails;
};

static void __attribute__((format(printf, 4, 5)))
line(struct run *r, const char *level, const char *hint, const char *fmt, ...)
{
	char	 text[LINE_MAX_LEN];
	va_list	 ap;

	if (strcmp(level, "FAIL") == 0)
		r->fails++;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* Server text (messages, ids, names) is quoted in many lines. */
	text_printable(text);
	printf("  %-4s  %s", level, text);
	if (hint != NULL)
		printf(" (hint: %s)", hint);
	printf("\n");
}

/* The port of an http(s) URL, as text ("443" when none is written). */
static void
url_port(const char *url, char *buf, size_t len)
{
	const char	*host = strstr(url, "://"), *end, *colon;
	bool		 https = strncmp(url, "https:", 6) == 0;

	snprintf(buf, len, "%s", https ? "443" : "80");
	if (host == NULL)
		return;
	host += 3;
	end = host + strcspn(host, "/?#");
	if (*host == '[' && (colon = memchr(host, ']', (size_t)(end - host))) != NULL)
		colon = colon + 1 < end && colon[1] == ':' ? colon + 1 : NULL;
	else
		colon = memchr(host, ':', (size_t)(end - host));
	if (colon != NULL && end - colon > 1 && end - colon < 7)
		snprintf(buf, len, "%.*s", (int)(end - colon - 1), colon + 1);
}

static void
reach(struct run *r, const char *what, const char *option, const char *url)
{
	struct platform_req	 q = { .url = url, .connect_only = true };
	struct platform_reply	 rep;
	char			 hint[256], port[8];

	url_port(url, port, sizeof(port));
	if (platform_call(r->p, &q, &rep, NULL, NULL) == 0) {
		line(r, "ok", NULL, "%s (%s): reachable, TLS verified", what, option);
	} else {
		if (rep.tls)
			snprintf(hint, sizeof(hint), "set ca_file if a proxy or private CA "
			    "re-signs TLS");
		else
			snprintf(hint, sizeof(hint), "check %s, and open the firewall (or "
			    "set proxy) to its host on port %s", option, port);
		line(r, "FAIL", hint, "%s (%s): %s%s", what, option,
		    rep.timeout ? "timed out: " : "", rep.error);
	}
	platform_reply_clear(&rep);
}

/*
 * What the assertions will name, checked without exchanging one.  SAML's
 * bearer rules want Recipient and Destination to be the URL the assertion
 * is delivered to: base_auth_url, unless the token endpoint knows itself
 * by another name (a reverse proxy, the emulator).  The Audience PureCloud
 * wants is not published: only --user proves the whole path.
 */
static void
assertion_targets(struct run *r, bool with_user)
{
	const struct tenant	*t = r->t;
	const char		*opt[] = { "recipient", "destination" };
	const char		*val[] = { t->recipient, t->destination };
	char			 hint[160];

	for (size_t i = 0; i < 2; i++) {
		if (val[i] == NULL || strcmp(val[i], t->base_auth_url) == 0)
			continue;
		snprintf(hint, sizeof(hint), "right only if the token endpoint knows "
		    "itself by that name (behind a proxy); else remove [saml] %s, "
		    "which defaults to base_auth_url", opt[i]);
		line(r, "warn", hint, "[saml] %s is %s, but assertions are delivered "
		    "to base_auth_url %s", opt[i], val[i], t->base_auth_url);
	}
	if (with_user)
		return;
	line(r, "warn", "run check --online --user EMAIL to prove the whole path",
	    "assertions: Audience %s, Recipient %s, Destination %s; the token "
	    "endpoint's own expectations are not published, so only an exchange "
	    "proves them", t->audience != NULL ? t->audience : "?",
	    t->recipient != NULL ? t->recipient : "?",
	    t->destination != NULL ? t->destination : "?");
}

/* A token for one client; *ret_token when wanted. */
static void
service(struct run *r, const struct service_client *sc, char **ret_token)
{
	struct platform_reply	 rep;
	char			 err[512];
	int			 rc;

	rc = platform_token(r->p, r->t, sc, NULL, ret_token, &rep, NULL, NULL);
	if (rc == 0 && rep.status == 200)
		line(r, "ok", NULL, "[%s] client credentials token granted", sc->name);
	else {
		provision_explain(rc, &rep, "token request", err, sizeof(err));
		line(r, "FAIL", NULL, "[%s] %s", sc->name, err);
	}
	platform_reply_clear(&rep);
}

/* The SAML2 Bearer client's secret, without an assertion. */
static void
saml_auth_probe(struct run *r)
{
	struct platform_reply	 rep;
	const char		*error;
	int			 rc;

	rc = platform_token(r->p, r->t, &r->t->saml_auth, NULL, NULL, &rep, NULL, NULL);
	error = rc == 0 ? platform_json_str(&rep, "error") : NULL;
	if (rc == -1)
		line(r, "FAIL", NULL, "[saml_auth] probe: %s", rep.error);
	else if (rep.status == 401 || (error != NULL && strcmp(error, "invalid_client") == 0))
		line(r, "FAIL", "check [saml_auth] client_id and password",
		    "[saml_auth] client id or secret refused (invalid_client)");
	else if (error != NULL && strcmp(error, "unauthorized_client") == 0)
		line(r, "FAIL", "the OAuth client's grant type must be SAML2 Bearer",
		    "[saml_auth] client may not use the SAML2 Bearer grant");
	else if (rep.status == 400)
		line(r, "ok", NULL, "[saml_auth] secret accepted (a probe without an "
		    "assertion was answered %s)", error != NULL ? error : "400");
	else
		line(r, "warn", NULL, "[saml_auth] probe answered HTTP %ld", rep.status);
	platform_reply_clear(&rep);
}

static void
organization(struct run *r, const char *token)
{
	json_t		*org = NULL;
	const char	*id, *sname;
	char		 err[512];

	if (token == NULL) {
		line(r, "warn", r->t->n_services > 0 || r->t->provisioning.client_id != NULL ?
		    "fix the failing client above" : "add a [provisioning] section or a "
		    "service", "organization: not checked (no client got a token)");
		return;
	}
	if (provision_get(r->p, r->t, PROG, token, "v2/organizations/me", false, &org, err,
	    sizeof(err)) != PROVISION_OK) {
		line(r, "FAIL", NULL, "organization: %s", err);
		return;
	}
	id = json_string_value(json_object_get(org, "id"));
	sname = json_string_value(json_object_get(org, "thirdPartyOrgName"));
	if (id != NULL && strcmp(id, r->t->organization_id) == 0)
		line(r, "ok", NULL, "organization_id matches");
	else
		line(r, "FAIL", "copy the id from Admin > Organization Settings",
		    "organization_id is %s, PureCloud says %s", r->t->organization_id,
		    id != NULL ? id : "(none)");
	if (sname != NULL && strcmp(sname, r->t->organization_sname) == 0)
		line(r, "ok", NULL, "organization_sname matches");
	else
		line(r, "FAIL", "the short name is the organization's thirdPartyOrgName",
		    "organization_sname is %s, PureCloud says %s", r->t->organization_sname,
		    sname != NULL ? sname : "(none)");
	json_decref(org);
}

static bool
cert_configured(json_t *idp, const char *mine)
{
	json_t	*c;
	size_t	 i;

	if (provision_cert_equal(json_string_value(json_object_get(idp, "certificate")),
	    mine))
		return true;
	json_array_foreach(json_object_get(idp, "certificates"), i, c)
		if (provision_cert_equal(json_string_value(c), mine))
			return true;
	return false;
}

static void
provider_fields(struct run *r, json_t *idp)
{
	const char	*iss = json_string_value(json_object_get(idp, "issuerURI"));
	const char	*fmt = json_string_value(json_object_get(idp, "nameIdentifierFormat"));
	const char	*ours = r->t->name_id_format != NULL ? r->t->name_id_format :
			    SAML_NAMEID_EMAIL;
	char		*mine = x509_pem_body(keystore_cert_pem(r->t->keys), true);
	char		 fp[100];

	if (json_is_true(json_object_get(idp, "disabled")))
		line(r, "FAIL", "run samlbroker provision", "identity provider is disabled");
	else
		line(r, "ok", NULL, "identity provider is enabled");
	if (iss != NULL && strcmp(iss, r->t->issuer) == 0)
		line(r, "ok", NULL, "issuerURI equals [saml] issuer");
	else
		line(r, "FAIL", "they must match exactly; run samlbroker provision",
		    "issuerURI is \"%s\", [saml] issuer is \"%s\"", iss != NULL ? iss : "",
		    r->t->issuer);
	provision_cert_fingerprint(mine, fp, sizeof(fp));
	if (cert_configured(idp, mine))
		line(r, "ok", NULL, "certificate is the configured one (SHA-256 %s)", fp);
	else
		line(r, "FAIL", "run samlbroker provision", "the identity provider does not "
		    "hold the configured certificate (SHA-256 %s)", fp);
	if (json_is_true(json_object_get(idp, "autoProvisionUsers")))
		line(r, "ok", NULL, "autoProvisionUsers is true");
	else
		line(r, "FAIL", "agents who never logged in cannot get a token; run "
		    "samlbroker provision", "autoProvisionUsers is not true");
	if ((fmt == NULL && strcmp(ours, SAML_NAMEID_EMAIL) == 0) ||
	    (fmt != NULL && strcmp(fmt, ours) == 0))
		line(r, "ok", NULL, "nameIdentifierFormat is %s", fmt != NULL ? fmt :
		    "not set");
	else
		line(r, "FAIL", "it must equal [saml] name_id_format; run samlbroker "
		    "provision", "nameIdentifierFormat is %s, the assertions carry %s",
		    fmt != NULL ? fmt : "not set", ours);
	free(mine);
}

static void
provider(struct run *r, const char *token)
{
	json_t	*idp = NULL;
	char	 err[768], *dup = NULL;

	if (token == NULL) {
		line(r, "warn", "add a [provisioning] section (an admin client)",
		    "identity provider: not checked");
		return;
	}
	if (provision_get(r->p, r->t, PROG, token, "v2/identityproviders/pureengage", true,
	    &idp, err, sizeof(err)) != PROVISION_OK) {
		line(r, "FAIL", NULL, "identity provider: %s", err);
		return;
	}
	if (idp == NULL) {
		line(r, "FAIL", "run samlbroker provision", "identity provider: PureEngage "
		    "does not exist");
	} else {
		line(r, "ok", NULL, "identity provider PureEngage exists");
		provider_fields(r, idp);
		json_decref(idp);
	}
	if (provision_find_duplicate(r->p, r->t, PROG, token, &dup, err, sizeof(err)) !=
	    PROVISION_OK)
		line(r, "FAIL", NULL, "other identity providers: %s", err);
	else if (dup != NULL)
		line(r, "FAIL", "no two providers may have the same issuer",
		    "the identity provider '%s' uses the same issuer", dup);
	else
		line(r, "ok", NULL, "no other identity provider uses the issuer");
	free(dup);
}

/* The roles the tenant names, and the agent role's permissions. */
static void
roles(struct run *r, const char *token)
{
	struct provision_roles	 pr;
	char			 err[768];

	if (provision_roles_read(r->p, r->t, PROG, token, &pr, err, sizeof(err)) !=
	    PROVISION_OK) {
		line(r, "FAIL", NULL, "roles: %s", err);
		return;
	}
	if (pr.admin_found)
		line(r, "ok", NULL, "role %s (default_admin_role_name) exists", r->t->admin_role);
	else
		line(r, "FAIL", "create it, or fix default_admin_role_name", "role %s "
		    "(default_admin_role_name) does not exist", r->t->admin_role);
	if (!pr.agent_found)
		line(r, "FAIL", "auto-provisioned agents get it: create it, or fix "
		    "default_agent_role_name", "role %s (default_agent_role_name) does not "
		    "exist", r->t->agent_role);
	else if (pr.n_missing == 0)
		line(r, "ok", NULL, "role %s holds the %zu agent permission(s)",
		    r->t->agent_role, pr.n_wanted);
	for (size_t i = 0; pr.agent_found && i < pr.n_missing; i++)
		line(r, "FAIL", "run samlbroker provision", "role %s lacks the permission %s",
		    r->t->agent_role, pr.missing[i]);
	provision_roles_clear(&pr);
}

/* One full SAML2 Bearer exchange for email. */
static void
user_exchange(struct run *r, const char *email)
{
	struct saml_signer	*s;
	struct platform_reply	 rep;
	char			 err[512], *b64 = NULL;
	double			 nooa;
	int			 rc;

	line(r, "warn", NULL, "--user %s: PureCloud creates this user if it does not "
	    "exist (autoProvisionUsers)", email);
	if ((s = saml_signer_new(r->t, err, sizeof(err))) == NULL ||
	    saml_mint_response_b64(s, email, clock_now(), &b64, &nooa, err,
	    sizeof(err)) == -1) {
		line(r, "FAIL", NULL, "SAML2 Bearer for %s: %s", email, err);
		saml_signer_free(s);
		return;
	}
	saml_signer_free(s);
	rc = platform_token(r->p, r->t, &r->t->saml_auth, b64, NULL, &rep, NULL, NULL);
	secret_free(b64);
	if (rc == 0 && rep.status == 200) {
		line(r, "ok", NULL, "SAML2 Bearer token granted for %s", email);
	} else {
		provision_explain(rc, &rep, "token request", err, sizeof(err));
		line(r, "FAIL", "see the identity provider checks above",
		    "SAML2 Bearer for %s: %s", email, err);
	}
	platform_reply_clear(&rep);
}

static void
tenant_check(struct run *r, const char *user)
{
	const struct tenant	*t = r->t;
	char			*admin = NULL, *svc = NULL, err[768];

	printf("tenant %s (online):\n", t->name);
	reach(r, "token endpoint", "base_auth_url", t->base_auth_url);
	reach(r, "API host", "base_service_url", t->base_service_url);
	for (size_t i = 0; i < t->n_services; i++)
		service(r, &t->services[i], svc == NULL ? &svc : NULL);
	saml_auth_probe(r);
	if (t->provisioning.client_id != NULL) {
		if (provision_admin_token(r->p, t, PROG, &admin, err, sizeof(err)) ==
		    PROVISION_OK)
			line(r, "ok", NULL, "[provisioning] client credentials token granted");
		else
			line(r, "FAIL", NULL, "[provisioning] %s", err);
	}
	organization(r, admin != NULL ? admin : svc);
	if (t->provisioning.client_id != NULL && admin == NULL)
		line(r, "warn", NULL, "identity provider: not checked (no [provisioning] "
		    "token)");
	else
		provider(r, admin);
	if (admin != NULL)
		roles(r, admin);
	assertion_targets(r, user != NULL);
	if (user != NULL)
		user_exchange(r, user);
	secret_free(admin);
	secret_free(svc);
}

int
check_online(const struct broker_config *conf, const char *tenant, const char *user)
{
	struct run	 r = { 0 };
	int		 checked = 0;

	if ((r.p = platform_new(conf)) == NULL) {
		fprintf(stderr, PROG ": cannot initialise libcurl\n");
		return 1;
	}
	if (user != NULL && saml_global_init() == -1) {
		fprintf(stderr, PROG ": cannot initialise xmlsec\n");
		platform_free(r.p);
		return 1;
	}
	for (size_t i = 0; i < conf->n_tenants; i++) {
		if (tenant != NULL && strcmp(conf->tenants[i]->name, tenant) != 0)
			continue;
		r.t = conf->tenants[i];
		tenant_check(&r, user);
		checked++;
	}
	if (user != NULL)
		saml_global_shutdown();
	platform_free(r.p);
	if (checked == 0) {
		fprintf(stderr, PROG ": unknown tenant '%s'\n", tenant != NULL ? tenant : "");
		return 1;
	}
	printf("%s\n", r.fails == 0 ? "online checks OK" : "online checks FAILED");
	return r.fails == 0 ? 0 : 1;
}
