/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emulator_conf.c - the emulator's own configuration and the state of its
 * organizations: OAuth clients, identity provider records (as the API
 * stores them) and the users SAML2 Bearer logins created.
 *
 * The file is JSON (samlbroker-emulator(1) describes it); every key is
 * checked and a misspelt one is an error.  The broker's configuration is
 * never read: what the emulator trusts for SAML2 Bearer is what its
 * identity provider records say, whether they came from this file or
 * from PUT /api/v2/identityproviders/pureengage.  Does not log.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/x509.h>

#include "emulator.h"

#define CONF_MAX_FILE	(4 * 1024 * 1024)
#define CONF_MAX_ORGS	64

/* Provider types of the API (/api/v2/identityproviders/TYPE). */
static const char *const provider_types[] = {
	"pureengage", "adfs", "cic", "gsuite", "identitynow", "okta", "onelogin",
	"ping", "purecloud", "salesforce",
};

/* The fields of the SDK's PureEngage model, by JSON type. */
static const char *const string_fields[] = {
	"id", "name", "issuerURI", "ssoTargetURI", "sloURI", "sloBinding",
	"relyingPartyIdentifier", "certificate", "logoImageData", "nameIdentifierFormat",
	"ssoBinding", "providerName", "metadataURL", "selfUri",
};
static const char *const bool_fields[] = {
	"disabled", "signAuthnRequests", "displayOnLogin", "forceAuthn",
	"autoProvisionUsers",
};
static const char *const nameid_formats[] = {
	"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
	EMU_NAMEID_EMAIL,
	"urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName",
	"urn:oasis:names:tc:SAML:1.1:nameid-format:WindowsDomainQualifiedName",
	"urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos",
	"urn:oasis:names:tc:SAML:2.0:nameid-format:entity",
	"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
	"urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
};
static const char *const sso_bindings[] = {
	"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
	"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
};

bool
emu_in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

bool
emu_provider_type_known(const char *type)
{
	return emu_in_list(type, provider_types, NELEM(provider_types));
}

/* scheme ":" rest, no spaces or control characters. */
static bool
uri_valid(const char *s)
{
	const char	*p = s;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return false;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	    (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (*p != ':' || p[1] == '\0')
		return false;
	for (; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* A PEM body: base64 of a DER X.509 certificate, line breaks allowed. */
static const char *
cert_check(const char *field, const char *value, char *buf, size_t len)
{
	unsigned char		*der = NULL;
	const unsigned char	*p;
	size_t			 derlen = 0;
	X509			*x;

	if (strstr(value, "-----") != NULL) {
		snprintf(buf, len, "%s must be the PEM body without the BEGIN and END "
		    "lines", field);
		return buf;
	}
	if (base64_decode_lenient(value, &der, &derlen) == -1) {
		snprintf(buf, len, "%s is not valid base64", field);
		return buf;
	}
	p = der;
	x = d2i_X509(NULL, &p, (long)derlen);
	if (x == NULL || p != der + derlen) {
		X509_free(x);
		free(der);
		snprintf(buf, len, "%s is not an X.509 certificate", field);
		return buf;
	}
	X509_free(x);
	free(der);
	return NULL;
}

const char *
emu_provider_check(json_t *r, char *buf, size_t len)
{
	const char	*key, *why;
	json_t		*v, *c;
	size_t		 i;
	bool		 have_cert = false;

	if (!json_is_object(r))
		return "the body must be a JSON object";
	json_object_foreach(r, key, v) {
		if (emu_in_list(key, string_fields, NELEM(string_fields))) {
			if (!json_is_string(v)) {
				snprintf(buf, len, "%s must be a string", key);
				return buf;
			}
		} else if (emu_in_list(key, bool_fields, NELEM(bool_fields))) {
			if (!json_is_boolean(v)) {
				snprintf(buf, len, "%s must be true or false", key);
				return buf;
			}
		} else if (strcmp(key, "certificates") == 0) {
			if (!json_is_array(v) || json_array_size(v) > EMU_MAX_CERTS) {
				snprintf(buf, len, "certificates must be a list of at most %d "
				    "strings", EMU_MAX_CERTS);
				return buf;
			}
			json_array_foreach(v, i, c) {
				if (!json_is_string(c)) {
					snprintf(buf, len, "certificates must hold strings");
					return buf;
				}
				if ((why = cert_check("certificates", json_string_value(c),
				    buf, len)) != NULL)
					return why;
				have_cert = true;
			}
		} else {
			snprintf(buf, len, "Unrecognized field \"%.40s\"", key);
			return buf;
		}
	}
	if ((v = json_object_get(r, "name")) == NULL || json_string_length(v) == 0)
		return "name is required";
	if ((v = json_object_get(r, "issuerURI")) == NULL ||
	    !uri_valid(json_string_value(v)))
		return "issuerURI is required and must be a URI";
	if ((v = json_object_get(r, "ssoTargetURI")) != NULL &&
	    !uri_valid(json_string_value(v)))
		return "ssoTargetURI must be a URI";
	if ((v = json_object_get(r, "certificate")) != NULL) {
		if ((why = cert_check("certificate", json_string_value(v), buf, len)) != NULL)
			return why;
		have_cert = true;
	}
	if (!have_cert)
		return "certificate or certificates is required";
	if ((v = json_object_get(r, "nameIdentifierFormat")) != NULL &&
	    !emu_in_list(json_string_value(v), nameid_formats, NELEM(nameid_formats)))
		return "nameIdentifierFormat is not a known format";
	if ((v = json_object_get(r, "ssoBinding")) != NULL &&
	    !emu_in_list(json_string_value(v), sso_bindings, NELEM(sso_bindings)))
		return "ssoBinding is not a known binding";
	return NULL;
}

/* "domain:entity:action": three non-empty parts of letters, digits, '_',
 * '-' or '*'. */
static bool
permission_valid(const char *p)
{
	int	 parts = 1;
	size_t	 run = 0;

	for (; *p != '\0'; p++) {
		if (*p == ':') {
			if (run == 0)
				return false;
			parts++;
			run = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '*') {
			run++;
		} else {
			return false;
		}
	}
	return parts == 3 && run > 0;
}

/* Whether held (a permission, maybe with '*' parts) covers want. */
static bool
permission_covers(const char *held, const char *want)
{
	while (*held != '\0' && *want != '\0') {
		size_t	 hn = strcspn(held, ":"), wn = strcspn(want, ":");

		if (!(hn == 1 && held[0] == '*') && (hn != wn || strncmp(held, want, hn) != 0))
			return false;
		held += hn + (held[hn] == ':');
		want += wn + (want[wn] == ':');
	}
	return *held == '\0' && *want == '\0';
}

bool
emu_client_can(const struct emu_client *c, const char *perm)
{
	json_t	*v;
	size_t	 i;

	if (c->admin && strncmp(perm, "sso:provider:", 13) == 0)
		return true;
	json_array_foreach(c->permissions, i, v)
		if (permission_covers(json_string_value(v), perm))
			return true;
	return false;
}

/* A permission policy: domain, entityName and a non-empty actionSet. */
static const char *
policy_check(json_t *p, char *buf, size_t len)
{
	static const char *const keys[] = { "id", "domain", "entityName", "actionSet",
	    "policyName", "policyDescription", "allowConditions" };
	const char	*key;
	json_t		*v, *a;
	size_t		 i;
	char		 perm[200];

	if (!json_is_object(p))
		return "permissionPolicies must hold objects";
	json_object_foreach(p, key, v)
		if (!emu_in_list(key, keys, NELEM(keys))) {
			snprintf(buf, len, "permissionPolicies: Unrecognized field \"%.40s\"",
			    key);
			return buf;
		}
	v = json_object_get(p, "actionSet");
	if (!json_is_string(json_object_get(p, "domain")) ||
	    !json_is_string(json_object_get(p, "entityName")) || !json_is_array(v) ||
	    json_array_size(v) == 0)
		return "permissionPolicies: domain, entityName and actionSet are required";
	json_array_foreach(v, i, a) {
		snprintf(perm, sizeof(perm), "%s:%s:%s",
		    json_string_value(json_object_get(p, "domain")),
		    json_string_value(json_object_get(p, "entityName")),
		    json_is_string(a) ? json_string_value(a) : "");
		if (!permission_valid(perm))
			return "permissionPolicies: not a domain, entity and actions";
	}
	return NULL;
}

const char *
emu_role_check(json_t *r, char *buf, size_t len)
{
	static const char *const keys[] = { "name", "description", "permissions",
	    "permissionPolicies", "defaultRoleId" };
	const char	*key, *why;
	json_t		*v, *x;
	size_t		 i;

	if (!json_is_object(r))
		return "a role must be a JSON object";
	json_object_foreach(r, key, v) {
		if (!emu_in_list(key, keys, NELEM(keys))) {
			snprintf(buf, len, "Unrecognized field \"%.40s\"", key);
			return buf;
		}
	}
	if (json_string_length(json_object_get(r, "name")) == 0)
		return "name is required";
	if ((v = json_object_get(r, "description")) != NULL && !json_is_string(v))
		return "description must be a string";
	if ((v = json_object_get(r, "permissions")) != NULL) {
		if (!json_is_array(v))
			return "permissions must be a list of strings";
		json_array_foreach(v, i, x)
			if (!json_is_string(x) || !permission_valid(json_string_value(x))) {
				snprintf(buf, len, "permissions: \"%.60s\" is not "
				    "domain:entity:action", json_is_string(x) ?
				    json_string_value(x) : "(not a string)");
				return buf;
			}
	}
	if ((v = json_object_get(r, "permissionPolicies")) != NULL) {
		if (!json_is_array(v))
			return "permissionPolicies must be a list";
		json_array_foreach(v, i, x)
			if ((why = policy_check(x, buf, len)) != NULL)
				return why;
	}
	return NULL;
}

char *
emu_uuid_new(void)
{
	unsigned char	 b[16];
	char		 s[40];

	if (RAND_bytes(b, sizeof(b)) != 1)
		fatalx("RAND_bytes failed");
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(s, sizeof(s), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
	    b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return xstrdup(s);
}

const char *
emu_org_trust(const struct emu_org *o, struct emu_trust *tr)
{
	json_t		*r = json_object_get(o->providers, "pureengage"), *v, *c;
	size_t		 i;

	memset(tr, 0, sizeof(*tr));
	if (r == NULL)
		return "the organization has no PureEngage identity provider";
	if (json_is_true(json_object_get(r, "disabled")))
		return "the PureEngage identity provider is disabled";
	tr->issuer = json_string_value(json_object_get(r, "issuerURI"));
	if ((v = json_object_get(r, "certificate")) != NULL)
		tr->certs[tr->n_certs++] = json_string_value(v);
	json_array_foreach(json_object_get(r, "certificates"), i, c)
		if (tr->n_certs < NELEM(tr->certs))
			tr->certs[tr->n_certs++] = json_string_value(c);
	tr->name_id_format = json_string_value(json_object_get(r, "nameIdentifierFormat"));
	tr->audience = o->audience;
	tr->recipient = o->recipient;
	tr->destination = o->destination;
	return NULL;
}

const char *
emu_org_user_login(struct emu_org *o, const char *email)
{
	json_t	*r = json_object_get(o->providers, "pureengage");

	for (size_t i = 0; i < o->n_users; i++)
		if (strcmp(o->users[i], email) == 0)
			return NULL;
	if (!json_is_true(json_object_get(r, "autoProvisionUsers")))
		return "no such user, and the identity provider does not create users "
		    "(autoProvisionUsers is not true)";
	if (o->n_users == EMU_MAX_USERS)
		return "the organization has too many users";
	o->users = realloc(o->users, (o->n_users + 1) * sizeof(*o->users));
	if (o->users == NULL)
		fatal("realloc");
	o->users[o->n_users++] = xstrdup(email);
	return NULL;
}

static void
users_clear(struct emu_org *o)
{
	for (size_t i = 0; i < o->n_users; i++)
		free(o->users[i]);
	free(o->users);
	o->users = NULL;
	o->n_users = 0;
}

static void
client_clear(struct emu_client *cl)
{
	free(cl->client_id);
	secret_free(cl->secret);
	secret_free(cl->old_secret);
	secret_free(cl->secret_initial);
	json_decref(cl->permissions);
	json_decref(cl->record);
	json_decref(cl->record_initial);
	memset(cl, 0, sizeof(*cl));
}

void
emu_config_reset(struct emu_config *c)
{
	for (size_t i = 0; i < c->n_orgs; i++) {
		json_decref(c->orgs[i].providers);
		c->orgs[i].providers = json_deep_copy(c->orgs[i].providers_initial);
		json_decref(c->orgs[i].roles);
		c->orgs[i].roles = json_deep_copy(c->orgs[i].roles_initial);
		users_clear(&c->orgs[i]);
	}
	/* The clients of the file as they were; the API's are gone (the
	 * tokens forget them: emulator_control.c). */
	for (size_t i = c->n_clients_initial; i < c->n_clients; i++)
		client_clear(&c->clients[i]);
	c->n_clients = c->n_clients_initial;
	for (size_t i = 0; i < c->n_clients; i++) {
		struct emu_client *cl = &c->clients[i];

		secret_free(cl->secret);
		cl->secret = xstrdup(cl->secret_initial);
		secret_free(cl->old_secret);
		cl->old_secret = NULL;
		json_decref(cl->record);
		cl->record = json_deep_copy(cl->record_initial);
		cl->deleted = false;
		memset(&cl->count, 0, sizeof(cl->count));
	}
}

void
emu_config_free(struct emu_config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_orgs; i++) {
		struct emu_org *o = &c->orgs[i];

		free(o->name);
		free(o->id);
		free(o->display_name);
		free(o->audience);
		free(o->recipient);
		free(o->destination);
		json_decref(o->providers_initial);
		json_decref(o->providers);
		json_decref(o->roles_initial);
		json_decref(o->roles);
		free(o->home_division);
		users_clear(o);
	}
	for (size_t i = 0; i < c->n_clients; i++)
		client_clear(&c->clients[i]);
	free(c->orgs);
	free(c->clients);
	free(c);
}

/* Checks that object j has only the keys in allowed. */
static const char *
keys_check(json_t *j, const char *what, const char *const *allowed, size_t n,
    char *buf, size_t len)
{
	const char	*key;
	json_t		*v;

	if (!json_is_object(j)) {
		snprintf(buf, len, "%s must be an object", what);
		return buf;
	}
	json_object_foreach(j, key, v) {
		if (!emu_in_list(key, allowed, n)) {
			snprintf(buf, len, "%s: unknown key \"%.40s\"", what, key);
			return buf;
		}
	}
	return NULL;
}

/* A non-empty string member, or def; NULL when neither. */
static const char *
str_member(json_t *j, const char *key, const char *def)
{
	json_t	*v = json_object_get(j, key);

	if (v == NULL)
		return def;
	return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

/* The API's record of a client from the file. */
static json_t *
client_record(const char *id, enum emu_grant grant, const char *state)
{
	char	 self[160];

	snprintf(self, sizeof(self), "/api/v2/oauth/clients/%s", id);
	return json_pack("{s:s,s:s,s:s,s:s,s:i,s:s}", "id", id, "name", id,
	    "authorizedGrantType", grant == EMU_GRANT_SAML2 ? "SAML2BEARER" :
	    "CLIENT-CREDENTIALS", "state", state, "accessTokenValiditySeconds", 86400,
	    "selfUri", self);
}

/* permissions: a list of "domain:entity:action" strings, or absent. */
static const char *
permissions_check(json_t *perms, const char *where, char *buf, size_t len)
{
	json_t	*v;
	size_t	 i;

	if (perms == NULL)
		return NULL;
	if (!json_is_array(perms)) {
		snprintf(buf, len, "%s: permissions must be a list", where);
		return buf;
	}
	json_array_foreach(perms, i, v)
		if (!json_is_string(v) || !permission_valid(json_string_value(v))) {
			snprintf(buf, len, "%s: permissions[%zu] is not domain:entity:action",
			    where, i);
			return buf;
		}
	return NULL;
}

static const char *
client_load(struct emu_config *c, struct emu_org *o, json_t *j, const char *where,
    char *buf, size_t len)
{
	static const char *const keys[] = { "client_id", "secret", "grant", "admin",
	    "permissions", "state" };
	struct emu_client	*cl;
	const char		*id, *secret, *grant, *why, *state;
	json_t			*admin = json_object_get(j, "admin");
	json_t			*perms = json_object_get(j, "permissions");

	if ((why = keys_check(j, where, keys, NELEM(keys), buf, len)) != NULL)
		return why;
	id = str_member(j, "client_id", NULL);
	secret = str_member(j, "secret", NULL);
	grant = str_member(j, "grant", NULL);
	state = str_member(j, "state", "active");
	if (id == NULL || secret == NULL || grant == NULL ||
	    (strcmp(grant, "saml2_bearer") != 0 && strcmp(grant, "client_credentials") != 0) ||
	    (admin != NULL && !json_is_boolean(admin)) || state == NULL ||
	    (strcmp(state, "active") != 0 && strcmp(state, "inactive") != 0)) {
		snprintf(buf, len, "%s: needs client_id, secret and grant "
		    "(\"saml2_bearer\" or \"client_credentials\"); admin is true or false; "
		    "state is \"active\" or \"inactive\"", where);
		return buf;
	}
	if ((why = permissions_check(perms, where, buf, len)) != NULL)
		return why;
	for (size_t i = 0; i < c->n_clients; i++) {
		if (strcmp(c->clients[i].client_id, id) == 0) {
			snprintf(buf, len, "%s: client_id \"%.64s\" is used twice", where, id);
			return buf;
		}
	}
	cl = &c->clients[c->n_clients++];
	cl->client_id = xstrdup(id);
	cl->secret = xstrdup(secret);
	cl->secret_initial = xstrdup(secret);
	cl->org = o;
	cl->grant = strcmp(grant, "saml2_bearer") == 0 ? EMU_GRANT_SAML2 : EMU_GRANT_CC;
	cl->admin = json_is_true(admin);
	cl->permissions = perms != NULL ? json_deep_copy(perms) : json_array();
	cl->record = client_record(id, cl->grant, state);
	cl->record_initial = json_deep_copy(cl->record);
	return NULL;
}

/* roles: [{name, permissions}], each given an id; absent: employee and
 * admin, without permissions. */
static const char *
roles_load(struct emu_org *o, json_t *j, const char *where, char *buf, size_t len)
{
	static const char *const defaults[] = { "employee", "admin" };
	const char	*why;
	json_t		*r, *role;
	char		 self[160], inner[160], *id;
	size_t		 i;

	o->home_division = emu_uuid_new();
	o->roles_initial = json_array();
	if (j == NULL) {
		for (i = 0; i < NELEM(defaults); i++)
			json_array_append_new(o->roles_initial, json_pack("{s:s}", "name",
			    defaults[i]));
	} else if (!json_is_array(j) || json_array_size(j) > EMU_MAX_ROLES) {
		snprintf(buf, len, "%s: roles must be a list of at most %d roles", where,
		    EMU_MAX_ROLES);
		return buf;
	} else {
		json_array_foreach(j, i, r) {
			if ((why = emu_role_check(r, inner, sizeof(inner))) != NULL) {
				snprintf(buf, len, "%s: roles[%zu]: %s", where, i, why);
				return buf;
			}
			json_array_append_new(o->roles_initial, json_deep_copy(r));
		}
	}
	json_array_foreach(o->roles_initial, i, role) {
		id = emu_uuid_new();
		snprintf(self, sizeof(self), "/api/v2/authorization/roles/%s", id);
		json_object_set_new(role, "id", json_string(id));
		json_object_set_new(role, "selfUri", json_string(self));
		if (json_object_get(role, "permissions") == NULL)
			json_object_set_new(role, "permissions", json_array());
		if (json_object_get(role, "permissionPolicies") == NULL)
			json_object_set_new(role, "permissionPolicies", json_array());
		free(id);
	}
	o->roles = json_deep_copy(o->roles_initial);
	return NULL;
}

static const char *
providers_load(struct emu_org *o, json_t *j, const char *where, char *buf, size_t len)
{
	const char	*type, *why;
	json_t		*r;
	char		 self[128], inner[160];

	o->providers_initial = json_object();
	if (j == NULL)
		goto done;
	if (!json_is_object(j)) {
		snprintf(buf, len, "%s: identity_providers must be an object", where);
		return buf;
	}
	json_object_foreach(j, type, r) {
		if (!emu_provider_type_known(type)) {
			snprintf(buf, len, "%s: unknown identity provider type \"%.40s\"",
			    where, type);
			return buf;
		}
		if ((why = emu_provider_check(r, inner, sizeof(inner))) != NULL) {
			snprintf(buf, len, "%s: identity provider %s: %s", where, type, why);
			return buf;
		}
		r = json_deep_copy(r);
		snprintf(self, sizeof(self), "/api/v2/identityproviders/%s", type);
		json_object_set_new(r, "id", json_string(type));
		json_object_set_new(r, "selfUri", json_string(self));
		json_object_set_new(o->providers_initial, type, r);
	}
done:
	o->providers = json_deep_copy(o->providers_initial);
	return NULL;
}

static const char *
org_load(struct emu_config *c, json_t *top, json_t *j, size_t idx, char *buf, size_t len)
{
	static const char *const keys[] = { "name", "id", "display_name", "audience",
	    "recipient", "destination", "clients", "identity_providers", "roles" };
	struct emu_org	*o = &c->orgs[idx];
	const char	*why, *aud, *rcpt, *dest;
	json_t		*clients, *cl;
	char		 where[96];
	size_t		 i;

	snprintf(where, sizeof(where), "organizations[%zu]", idx);
	if ((why = keys_check(j, where, keys, NELEM(keys), buf, len)) != NULL)
		return why;
	if (str_member(j, "name", NULL) == NULL || str_member(j, "id", NULL) == NULL) {
		snprintf(buf, len, "%s: name and id are required strings", where);
		return buf;
	}
	o->name = xstrdup(str_member(j, "name", NULL));
	o->id = xstrdup(str_member(j, "id", NULL));
	o->display_name = xstrdup(str_member(j, "display_name", o->name) != NULL ?
	    str_member(j, "display_name", o->name) : o->name);
	aud = str_member(j, "audience", str_member(top, "audience", NULL));
	rcpt = str_member(j, "recipient", str_member(top, "recipient", aud));
	dest = str_member(j, "destination", str_member(top, "destination", aud));
	if (aud == NULL || rcpt == NULL || dest == NULL) {
		snprintf(buf, len, "%s: audience is required (here or at the top), and "
		    "audience, recipient and destination are non-empty strings", where);
		return buf;
	}
	o->audience = xstrdup(aud);
	o->recipient = xstrdup(rcpt);
	o->destination = xstrdup(dest);
	clients = json_object_get(j, "clients");
	if (!json_is_array(clients) || json_array_size(clients) == 0 ||
	    c->n_clients + json_array_size(clients) > EMU_MAX_CLIENTS) {
		snprintf(buf, len, "%s: clients must be a list of 1 to %d clients in all",
		    where, EMU_MAX_CLIENTS);
		return buf;
	}
	json_array_foreach(clients, i, cl) {
		char	 cwhere[128];

		snprintf(cwhere, sizeof(cwhere), "%s.clients[%zu]", where, i);
		if ((why = client_load(c, o, cl, cwhere, buf, len)) != NULL)
			return why;
	}
	if ((why = roles_load(o, json_object_get(j, "roles"), where, buf, len)) != NULL)
		return why;
	return providers_load(o, json_object_get(j, "identity_providers"), where, buf, len);
}

struct emu_config *
emu_config_load(const char *path, char *errbuf, size_t errlen)
{
	static const char *const keys[] = { "audience", "recipient", "destination",
	    "organizations" };
	struct emu_config	*c = NULL;
	json_error_t		 jerr;
	json_t			*top = NULL, *orgs, *org;
	const char		*why = NULL;
	char			*buf = NULL, msg[512];
	size_t			 len, i;

	if (read_file_limited(path, CONF_MAX_FILE, &buf, &len) == -1) {
		snprintf(errbuf, errlen, "%s: cannot read: %s", path, strerror(errno));
		return NULL;
	}
	top = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	secret_free(buf);
	if (top == NULL) {
		snprintf(errbuf, errlen, "%s: line %d: %s", path, jerr.line, jerr.text);
		return NULL;
	}
	if ((why = keys_check(top, "the file", keys, NELEM(keys), msg, sizeof(msg))) != NULL)
		goto fail;
	orgs = json_object_get(top, "organizations");
	if (!json_is_array(orgs) || json_array_size(orgs) == 0 ||
	    json_array_size(orgs) > CONF_MAX_ORGS) {
		why = "organizations must be a list of 1 to 64 organizations";
		goto fail;
	}
	c = xcalloc(1, sizeof(*c));
	c->orgs = xcalloc(json_array_size(orgs), sizeof(*c->orgs));
	c->clients = xcalloc(EMU_MAX_CLIENTS, sizeof(*c->clients));
	json_array_foreach(orgs, i, org) {
		c->n_orgs = i + 1;
		if ((why = org_load(c, top, org, i, msg, sizeof(msg))) != NULL)
			goto fail;
		for (size_t k = 0; k < i; k++) {
			if (strcmp(c->orgs[k].name, c->orgs[i].name) == 0) {
				why = "two organizations have the same name";
				goto fail;
			}
		}
	}
	c->n_clients_initial = c->n_clients;
	json_decref(top);
	return c;
fail:
	snprintf(errbuf, errlen, "%s: %s", path, why);
	emu_config_free(c);
	json_decref(top);
	return NULL;
}
