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

#include <openssl/x509.h>

#include "emulator.h"

#define CONF_MAX_FILE	(4 * 1024 * 1024)
#define CONF_MAX_ORGS	64
#define CONF_MAX_CLIENTS 64

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

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static bool
in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

bool
emu_provider_type_known(const char *type)
{
	return in_list(type, provider_types, NELEM(provider_types));
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
		if (in_list(key, string_fields, NELEM(string_fields))) {
			if (!json_is_string(v)) {
				snprintf(buf, len, "%s must be a string", key);
				return buf;
			}
		} else if (in_list(key, bool_fields, NELEM(bool_fields))) {
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
	    !in_list(json_string_value(v), nameid_formats, NELEM(nameid_formats)))
		return "nameIdentifierFormat is not a known format";
	if ((v = json_object_get(r, "ssoBinding")) != NULL &&
	    !in_list(json_string_value(v), sso_bindings, NELEM(sso_bindings)))
		return "ssoBinding is not a known binding";
	return NULL;
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

void
emu_config_reset(struct emu_config *c)
{
	for (size_t i = 0; i < c->n_orgs; i++) {
		json_decref(c->orgs[i].providers);
		c->orgs[i].providers = json_deep_copy(c->orgs[i].providers_initial);
		users_clear(&c->orgs[i]);
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
		users_clear(o);
	}
	for (size_t i = 0; i < c->n_clients; i++) {
		free(c->clients[i].client_id);
		secret_free(c->clients[i].secret);
	}
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
		if (!in_list(key, allowed, n)) {
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

static const char *
client_load(struct emu_config *c, struct emu_org *o, json_t *j, const char *where,
    char *buf, size_t len)
{
	static const char *const keys[] = { "client_id", "secret", "grant", "admin" };
	struct emu_client	*cl;
	const char		*id, *secret, *grant, *why;
	json_t			*admin = json_object_get(j, "admin");

	if ((why = keys_check(j, where, keys, NELEM(keys), buf, len)) != NULL)
		return why;
	id = str_member(j, "client_id", NULL);
	secret = str_member(j, "secret", NULL);
	grant = str_member(j, "grant", NULL);
	if (id == NULL || secret == NULL || grant == NULL ||
	    (strcmp(grant, "saml2_bearer") != 0 && strcmp(grant, "client_credentials") != 0) ||
	    (admin != NULL && !json_is_boolean(admin))) {
		snprintf(buf, len, "%s: needs client_id, secret and grant "
		    "(\"saml2_bearer\" or \"client_credentials\"); admin is true or false",
		    where);
		return buf;
	}
	for (size_t i = 0; i < c->n_clients; i++) {
		if (strcmp(c->clients[i].client_id, id) == 0) {
			snprintf(buf, len, "%s: client_id \"%.64s\" is used twice", where, id);
			return buf;
		}
	}
	cl = &c->clients[c->n_clients++];
	cl->client_id = xstrdup(id);
	cl->secret = xstrdup(secret);
	cl->org = o;
	cl->grant = strcmp(grant, "saml2_bearer") == 0 ? EMU_GRANT_SAML2 : EMU_GRANT_CC;
	cl->admin = json_is_true(admin);
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
	    "recipient", "destination", "clients", "identity_providers" };
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
	    c->n_clients + json_array_size(clients) > CONF_MAX_CLIENTS) {
		snprintf(buf, len, "%s: clients must be a list of 1 to %d clients in all",
		    where, CONF_MAX_CLIENTS);
		return buf;
	}
	json_array_foreach(clients, i, cl) {
		char	 cwhere[128];

		snprintf(cwhere, sizeof(cwhere), "%s.clients[%zu]", where, i);
		if ((why = client_load(c, o, cl, cwhere, buf, len)) != NULL)
			return why;
	}
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
	c->clients = xcalloc(CONF_MAX_CLIENTS, sizeof(*c->clients));
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
	json_decref(top);
	return c;
fail:
	snprintf(errbuf, errlen, "%s: %s", path, why);
	emu_config_free(c);
	json_decref(top);
	return NULL;
}
