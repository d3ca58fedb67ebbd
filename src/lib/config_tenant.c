/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_tenant.c - one tenant file, in the layout of a Genesys
 * hybrid_integration options export: [general], [saml], [saml_auth] and
 * one section per Client Credentials service.
 *
 * The tenant keeps the resolved client secrets (wiped by tenant_free) and
 * hands the key password to keystore.c, which wipes it.  The INI syntax is
 * ini.c's; the keys are keystore.c's.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cache_seal.h"
#include "config_load.h"

#define EXPIRE_TIME_MAX		48	/* hours: the longest token life */
#define B64_FILE_MAX		(64 * 1024)	/* a file: certificate or pkey */

/*
 * The options a tenant file may hold in [general], [saml] and [saml_auth]:
 * the vendor's documented ones, the broker's, and those of the
 * provisioning tool (region, name_id_format, [provisioning]).  Anything
 * else there is an error; other sections belong to other components
 * (a section with client_id is a service).
 */

/* "[name]: section is missing", with a "did you mean" for a near miss
 * among the file's sections ([saml-auth] for [saml_auth]). */
static void
section_missing(struct load *l, const char *name)
{
	const char	*known[] = { name, NULL }, *near = NULL;

	for (size_t i = 0; i < l->ini->n_sections && near == NULL; i++)
		if (config_near_miss(l->ini->sections[i].name, known) != NULL)
			near = l->ini->sections[i].name;
	if (near != NULL) {
		char *shown = config_printable_dup(near);

		diag_error(l->d, l->file, name, NULL, "section is missing; did you "
		    "mean [%s] (line %d)?", shown, ini_section_find(l->ini,
		    near)->line);
		free(shown);
	} else {
		diag_error(l->d, l->file, name, NULL, "section is missing");
	}
}

/*
 * A section without client_id is another component's and is ignored; one
 * with a near miss of client_id (clientid, client-id) was meant as a
 * service, and ignoring it would drop the service without a word.
 */
static void
service_typo_check(struct load *l, struct ini_section *s)
{
	static const char *const wanted[] = { "client_id", NULL };

	for (size_t i = 0; i < s->n_options; i++) {
		struct ini_option *o = &s->options[i];

		if (config_near_miss(o->name, wanted) == NULL)
			continue;
		o->used = true;
		diag_error(l->d, l->file, s->name, o->name, "unknown option; did you "
		    "mean client_id? (a section is a service only with client_id)");
	}
}

static const char *const general_options[] = {
	"organization_sname", "organization_id", "base_auth_url",
	"base_service_url", "default_agent_role_name", "default_admin_role_name",
	"agent_permissions", "region", NULL
};
static const char *const saml_options[] = {
	"issuer", "certificate", "pkey", "password", "expire_time", "audience",
	"recipient", "destination", "assertion_lifetime", "service_name",
	"sign_response", "name_id_format", "authn_context_class",
	"next_certificate", "next_pkey", "next_password", "previous_certificate",
	"previous_pkey", NULL
};

/* The [saml] options a key rollover changes: a reload that changes only
 * these (or client secrets, below) keeps the tenant's cached tokens (the tokens do not depend on the
 * key that signed the assertion they were exchanged for). */
static const char *const rollover_options[] = {
	"certificate", "pkey", "password", "next_certificate", "next_pkey",
	"next_password", "previous_certificate", "previous_pkey", NULL
};
/* The options a client's secret is in: a reload that changes only a
 * secret (provision --rotate-secrets) keeps the client's cached tokens,
 * which the platform does not revoke with the old secret (README,
 * "Rotating client secrets"); a changed client_id drops them. */
static const char *const client_secret_options[] = {
	"password", "client_secret", NULL
};
static const char *const client_options[] = {
	"client_id", "password", "client_secret", NULL
};
/* A Client Credentials service's: also what `provision` creates its OAuth
 * client with (roles and divisions, by name). */
static const char *const service_options[] = {
	"client_id", "password", "client_secret", "oauth_roles", "oauth_divisions", NULL
};
/* Options that make a section without client_id a service whose client
 * `provision` is to create. */
static const char *const pending_markers[] = { "oauth_roles", "oauth_divisions", NULL };


/* The host of an http(s) URL is a loopback address or localhost. */
static bool
url_loopback(const char *url)
{
	const char	*h = strstr(url, "://");
	char		 host[256];
	size_t		 n;

	if (h == NULL)
		return false;
	h += 3;
	if (*h == '[') {
		h++;
		n = strcspn(h, "]");
	} else
		n = strcspn(h, ":/?#");
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	return config_host_is_loopback(host);
}

/*
 * base_auth_url and base_service_url: as written, or made from region (a
 * PureCloud domain of region.c's table) when absent.  An explicit URL that
 * is no known region's (and not a loopback stand-in such as the emulator)
 * is worth a warning: a typo there fails only at the first exchange.
 */
static void
tenant_urls(struct load *l, struct ini_section *s, struct tenant *t)
{
	static const struct {
		const char	*name;
		enum region_url	 kind;
	} opts[] = {
		{ "base_auth_url",	REGION_AUTH_URL },
		{ "base_service_url",	REGION_SERVICE_URL },
	};
	const char	*region = NULL, *named, *v, *why, *of;
	char		*url;

	if ((named = config_opt_optional(l, s, "general", "region")) != NULL &&
	    (region = region_find(named)) == NULL)
		diag_error(l->d, l->file, "general", "region", "unknown region '%.64s' "
		    "(a PureCloud domain such as mypurecloud.ie; see samlbroker.conf(5))",
		    named);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (named != NULL && region == NULL)
			continue;	/* reported */
		if (region != NULL && config_opt_get(s, opts[i].name) == NULL)
			url = region_url(region, opts[i].kind);
		else if ((v = config_opt_required(l, s, "general", opts[i].name)) != NULL)
			url = xstrdup(v);
		else
			continue;
		if ((why = url_check_token_endpoint(url)) != NULL) {
			diag_error(l->d, l->file, "general", opts[i].name, "%s", why);
			free(url);
			continue;
		}
		of = region_of_url(url, opts[i].kind);
		if (region != NULL && (of == NULL || strcmp(of, region) != 0))
			diag_warn(l->d, l->file, "general", opts[i].name, "is not the URL "
			    "of region %s", region);
		else if (region == NULL && of == NULL && !url_loopback(url))
			diag_warn(l->d, l->file, "general", opts[i].name, "matches no known "
			    "PureCloud region (see region in samlbroker.conf(5))");
		if (i == 0)
			t->base_auth_url = url;
		else
			t->base_service_url = url;
	}
}

static void
tenant_general(struct load *l, struct tenant *t)
{
	struct ini_section	*s = ini_section_find(l->ini, "general");
	const char		*v;

	if (s == NULL) {
		section_missing(l, "general");
		return;
	}
	if ((v = config_opt_required(l, s, "general", "organization_sname")) != NULL)
		t->organization_sname = xstrdup(v);
	if ((v = config_opt_required(l, s, "general", "organization_id")) != NULL) {
		if (!config_uuid_shaped(v))
			diag_error(l->d, l->file, "general", "organization_id",
			    "must be a UUID (8-4-4-4-12 hexadecimal digits)");
		else
			t->organization_id = xstrdup(v);
	}
	tenant_urls(l, s, t);
	/* Not used by the broker: provision's and check --online's roles step. */
	v = config_opt_optional(l, s, "general", "default_agent_role_name");
	t->agent_role = xstrdup(v != NULL ? v : "employee");
	v = config_opt_optional(l, s, "general", "default_admin_role_name");
	t->admin_role = xstrdup(v != NULL ? v : "admin");
	if ((v = config_opt_optional(l, s, "general", "agent_permissions")) != NULL)
		t->agent_permissions = xstrdup(v);
}

static char	*b64_option(struct load *, const char *, const char *);

/* Reports a keystore.c error "option: text" at [saml] option, or at
 * next_option for the staged key (prefix "next_"). */
static void
keystore_error(struct load *l, const char *prefix, const char *err)
{
	static const char *const opts[] = { "certificate", "pkey", "password", NULL };
	const char	*sep = strstr(err, ": ");
	char		 name[64];

	for (size_t i = 0; sep != NULL && opts[i] != NULL; i++) {
		if ((size_t)(sep - err) == strlen(opts[i]) &&
		    strncmp(err, opts[i], strlen(opts[i])) == 0) {
			snprintf(name, sizeof(name), "%s%s", prefix, opts[i]);
			diag_error(l->d, l->file, "saml", name, "%s", sep + 2);
			return;
		}
	}
	diag_error(l->d, l->file, "saml", NULL, "%s", err);
}

/*
 * A signing certificate's dates: an error once expired or before it is
 * valid, a warning within CERT_WARN_DAYS of its end.  oname is
 * certificate or next_certificate.
 */
static void
cert_dates_check(struct load *l, const struct keystore *ks, const char *oname)
{
	char	 date[32];
	double	 now, na, nb;
	long	 days;

	now = clock_now();
	na = keystore_not_after(ks);
	nb = keystore_not_before(ks);
	if (na < now) {
		format_rfc3339(na, date, sizeof(date));
		diag_error(l->d, l->file, "saml", oname, "expired on %s", date);
	} else if (na - now < CERT_WARN_DAYS * 86400.0) {
		format_rfc3339(na, date, sizeof(date));
		days = keystore_days_left(ks, now);
		diag_warn(l->d, l->file, "saml", oname,
		    "expires on %s (in %ld day%s)", date, days, days == 1 ? "" : "s");
	}
	if (nb > now) {
		format_rfc3339(nb, date, sizeof(date));
		diag_error(l->d, l->file, "saml", oname, "not valid before %s", date);
	}
}

static void
tenant_keys(struct load *l, struct tenant *t, const char *cert,
    const char *pkey, char *password)
{
	char	 err[512] = "";

	/* keystore_load wipes the password it is given. */
	t->keys = keystore_load(cert, pkey, password, err, sizeof(err));
	if (t->keys == NULL) {
		keystore_error(l, "", err[0] != '\0' ? err : "cannot load the keys");
		return;
	}
	cert_dates_check(l, t->keys, "certificate");
}

/*
 * The staged key: next_certificate, next_pkey and next_password, all or
 * none, in the forms of certificate, pkey and password.  A load with keys
 * (check, the signers) loads the key and checks it against its
 * certificate, then drops it: only the current key signs, but a broken
 * staged key fails the load, not the activation.  Every load keeps the
 * certificate (t->next_cert).
 */
static void
tenant_next(struct load *l, struct ini_section *s, struct tenant *t, int flags)
{
	struct ini_option	*c = config_opt_get(s, "next_certificate");
	struct ini_option	*k = config_opt_get(s, "next_pkey");
	struct ini_option	*p = config_opt_get(s, "next_password");
	struct keystore		*ks;
	char			 err[512] = "", *cert = NULL, *pkey = NULL, *pw = NULL;
	bool			 blanked;

	if (c == NULL && k == NULL && p == NULL)
		return;
	/* The front's snapshot has next_pkey and next_password blanked. */
	blanked = (flags & CONFIG_NO_PRIVATE_KEYS) && l->src->mode == SOURCE_REPLAY;
	if (c == NULL || (!blanked && (k == NULL || p == NULL))) {
		diag_error(l->d, l->file, "saml", c == NULL ? "next_certificate" :
		    k == NULL ? "next_pkey" : "next_password", "required with the other "
		    "next_ options (next_certificate, next_pkey and next_password go "
		    "together)");
		return;
	}
	if ((cert = b64_option(l, "next_certificate", c->value)) == NULL)
		goto done;
	if (flags & CONFIG_NO_PRIVATE_KEYS) {
		if (l->src->mode == SOURCE_RECORD) {
			uint64_t digest = l->digest;

			if (strncmp(k->value, "file:", 5) == 0 &&
			    (pkey = b64_option(l, "next_pkey", k->value)) != NULL)
				secret_free(pkey);
			pkey = NULL;
			if (p->value[0] != '\0' && (pw = config_secret_get(l, "saml",
			    "next_password", p->value, SOURCE_USE_KEY)) != NULL)
				secret_free(pw);
			pw = NULL;
			l->digest = digest;
		}
	} else {
		if ((pkey = b64_option(l, "next_pkey", k->value)) == NULL ||
		    (pw = config_secret_get(l, "saml", "next_password", p->value,
		    SOURCE_USE_KEY)) == NULL)
			goto done;
		/* keystore_load wipes the password; it is freed below. */
		ks = keystore_load(cert, pkey, pw, err, sizeof(err));
		if (ks == NULL) {
			keystore_error(l, "next_", err[0] != '\0' ? err :
			    "cannot load the keys");
			goto done;
		}
		keystore_free(ks);
	}
	if ((t->next_cert = keystore_load(cert, NULL, NULL, err, sizeof(err))) == NULL) {
		keystore_error(l, "next_", err[0] != '\0' ? err : "cannot load the keys");
		goto done;
	}
	cert_dates_check(l, t->next_cert, "next_certificate");
done:
	free(cert);
	secret_free(pkey);
	secret_free(pw);
}

/*
 * The old certificate after an activation: published on the identity
 * provider until `rollover retire`, never used to sign.  previous_pkey
 * names the old key's file for retire to wipe; the broker never reads it.
 */
static void
tenant_previous(struct load *l, struct ini_section *s, struct tenant *t)
{
	const char	*v;
	char		 err[512] = "", *cert;

	if ((v = config_opt_optional(l, s, "saml", "previous_pkey")) != NULL) {
		if (strncmp(v, "file:", 5) != 0 || v[5] == '\0')
			diag_error(l->d, l->file, "saml", "previous_pkey", "must be "
			    "file:PATH (the old key's file, which rollover retire wipes)");
		else
			t->previous_pkey = config_path_relative(l->path, v + 5);
	}
	if ((v = config_opt_optional(l, s, "saml", "previous_certificate")) == NULL)
		return;
	if ((cert = b64_option(l, "previous_certificate", v)) == NULL)
		return;
	if ((t->previous_cert = keystore_load(cert, NULL, NULL, err, sizeof(err))) == NULL)
		keystore_error(l, "previous_", err[0] != '\0' ? err :
		    "cannot load the certificate");
	free(cert);
}

const char *
tenant_rollover_state(const struct tenant *t)
{
	if (t->next_cert != NULL && t->previous_cert != NULL)
		return "staged+previous";
	if (t->next_cert != NULL)
		return "staged";
	if (t->previous_cert != NULL)
		return "activated";
	return "none";
}

/*
 * [saml] name_id_format and authn_context_class: URIs written into every
 * assertion (saml.c escapes them).  Defaults: emailAddress, unspecified.
 */
static void
tenant_saml_names(struct load *l, struct ini_section *s, struct tenant *t)
{
	static const char *const names[] = { "name_id_format", "authn_context_class" };
	char		**fields[] = { &t->name_id_format, &t->authn_context_class };
	const char	 *v;

	for (size_t i = 0; i < 2; i++) {
		if ((v = config_opt_optional(l, s, "saml", names[i])) == NULL)
			continue;
		if (v[0] == '\0' || strlen(v) > 1024 || strchr(v, ':') == NULL ||
		    strpbrk(v, " \t\r\n<>\"&'") != NULL)
			diag_error(l->d, l->file, "saml", names[i],
			    "must be a URI such as urn:oasis:names:tc:SAML:2.0:...");
		else
			*fields[i] = xstrdup(v);
	}
}

/*
 * certificate and pkey: the base64 text itself (wrapped or not), or
 * "file:PATH" to a file holding it, as `openssl base64 -out` writes it
 * (PATH relative to the tenant file; line breaks and spaces are ignored
 * when it is decoded).  The pkey file must be private like a secret file.
 * NULL after reporting.
 */
static char *
b64_option(struct load *l, const char *oname, const char *v)
{
	bool			 is_pkey = strcmp(oname, "pkey") == 0 ||
				    strcmp(oname, "next_pkey") == 0;
	struct source_stat	 st;
	char			*path, *buf, *shown;
	size_t			 len;

	if (strncmp(v, "file:", 5) != 0) {
		if (is_pkey)	/* the tenant file's digest has it blanked */
			l->digest = config_digest(l->digest, v, strlen(v));
		return xstrdup(v);
	}
	if (v[5] == '\0') {
		diag_error(l->d, l->file, "saml", oname, "file: needs a path");
		return NULL;
	}
	path = config_path_relative(l->path, v + 5);
	buf = NULL;
	if (source_read(l->src, path, is_pkey ? SOURCE_PKEY : SOURCE_CERT,
	    is_pkey ? SOURCE_USE_KEY : SOURCE_USE_FRONT, config_follow_links(l),
	    B64_FILE_MAX, &buf, &len, &st) == -1 || memchr(buf, '\0', len) != NULL) {
		shown = config_printable_dup(v);
		diag_error(l->d, l->file, "saml", oname, "%s: %s", shown,
		    buf != NULL ? "holds a NUL byte" : errno == EFBIG ?
		    "larger than 64 KiB" : source_strerror(errno));
		if (buf != NULL)
			config_wipe_free(buf, len);
		free(shown);
		free(path);
		return NULL;
	}
	config_permissions_check(l, "saml", oname, path, &st, is_pkey);
	free(path);
	l->digest = config_digest(l->digest, buf, len);
	return buf;
}

/* The material is binary (it starts with a length whose first byte is
 * NUL): wiped by its length, not by strlen as secret_free would. */
static void
cache_material_free(struct tenant *t)
{
	if (t->cache_material != NULL)
		OPENSSL_cleanse(t->cache_material, t->cache_material_len);
	free(t->cache_material);
	t->cache_material = NULL;
	t->cache_material_len = 0;
}

/*
 * What the tenant's cache key derives from (cache_seal.c): its pkey as
 * given (the file's bytes for file:) and its password, in the master's
 * recording load only (the master frees it with the configuration, once
 * it has derived the key).  Never in a keyed load: the signers keep the
 * decoded key and nothing of the password (tests/memscan.py).
 */
static void
tenant_cache_material(struct tenant *t, const char *pkey, const char *password)
{
	if (pkey == NULL || password == NULL)
		return;
	cache_material_free(t);
	t->cache_material = cache_key_material(pkey, strlen(pkey), password,
	    &t->cache_material_len);
}

/*
 * The key of the tenant's entries in the shared cache (cache_redis.c),
 * derived from the same material as the file's key with another purpose,
 * so that every broker given the same tenant files derives the same key
 * and nobody without them can; the private key is never decoded here.
 */
static void
redis_key_derive(struct tenant *t)
{
	char	err[128];

	if (t->cache_material != NULL && cache_key_derive(t->cache_material,
	    t->cache_material_len, t->name, CACHE_SEAL_PURPOSE_REDIS,
	    t->redis_key, err, sizeof(err)) == 0)
		t->has_redis_key = true;
}

/*
 * A load without keys that records a snapshot still records the key and
 * its password (for the signers that replay it): read and checked like a
 * load with keys, not decoded, not in the digest; the cache keys' material
 * comes from them.
 */
static void
tenant_keys_record(struct load *l, struct ini_section *s, struct tenant *t)
{
	struct ini_option	*o;
	uint64_t		 digest = l->digest;
	char			*pkey = NULL, *pw = NULL;

	if (l->src->mode != SOURCE_RECORD)
		return;
	if ((o = ini_option_find(s, "pkey")) != NULL && o->value[0] != '\0')
		pkey = b64_option(l, "pkey", o->value);
	if ((o = ini_option_find(s, "password")) != NULL && o->value[0] != '\0')
		pw = config_secret_get(l, "saml", "password", o->value, SOURCE_USE_KEY);
	tenant_cache_material(t, pkey, pw);
	redis_key_derive(t);
	secret_free(pkey);
	secret_free(pw);
	l->digest = digest;
}

static void
tenant_saml(struct load *l, struct tenant *t, int flags)
{
	struct ini_section	*s = ini_section_find(l->ini, "saml");
	const char		*v, *pw;
	char			*password = NULL, *cert = NULL, *pkey = NULL;
	long			 n;

	t->expire_time_hours = 24;
	t->assertion_lifetime = 300;
	if (s == NULL) {
		section_missing(l, "saml");
		return;
	}
	if ((v = config_opt_required(l, s, "saml", "issuer")) != NULL)
		t->issuer = xstrdup(v);
	if ((v = config_opt_required(l, s, "saml", "certificate")) != NULL)
		cert = b64_option(l, "certificate", v);
	if (flags & CONFIG_NO_PRIVATE_KEYS) {
		/* Never read, never resolved: this process holds no key. */
		config_opt_get(s, "pkey");
		config_opt_get(s, "password");
		tenant_keys_record(l, s, t);
		pw = NULL;
	} else {
		if ((v = config_opt_required(l, s, "saml", "pkey")) != NULL)
			pkey = b64_option(l, "pkey", v);
		if ((pw = config_opt_required(l, s, "saml", "password")) != NULL)
			password = config_secret_get(l, "saml", "password", pw,
			    SOURCE_USE_KEY);
	}
	if ((v = config_opt_optional(l, s, "saml", "expire_time")) != NULL) {
		if (config_parse_number(v, 1, EXPIRE_TIME_MAX, &n) == -1)
			diag_error(l->d, l->file, "saml", "expire_time",
			    "must be a whole number of hours from 1 to 48");
		else
			t->expire_time_hours = (int)n;
	}
	if ((v = config_opt_optional(l, s, "saml", "audience")) != NULL)
		t->audience = xstrdup(v);
	if ((v = config_opt_optional(l, s, "saml", "recipient")) != NULL)
		t->recipient = xstrdup(v);
	if ((v = config_opt_optional(l, s, "saml", "destination")) != NULL)
		t->destination = xstrdup(v);
	if ((v = config_opt_optional(l, s, "saml", "assertion_lifetime")) != NULL) {
		if (config_parse_number(v, 10, 3600, &n) == -1)
			diag_error(l->d, l->file, "saml", "assertion_lifetime",
			    "must be a whole number of seconds from 10 to 3600");
		else
			t->assertion_lifetime = (int)n;
	}
	if ((v = config_opt_optional(l, s, "saml", "service_name")) != NULL)
		t->service_name = xstrdup(v);
	if ((v = config_opt_optional(l, s, "saml", "sign_response")) != NULL &&
	    config_parse_bool(v, &t->sign_response) == -1)
		diag_error(l->d, l->file, "saml", "sign_response",
		    "must be yes or no (or true/false, on/off, 1/0)");
	if (t->base_auth_url != NULL) {
		if (t->audience == NULL)
			t->audience = xstrdup(t->base_auth_url);
		if (t->recipient == NULL)
			t->recipient = xstrdup(t->base_auth_url);
		if (t->destination == NULL)
			t->destination = xstrdup(t->base_auth_url);
	}
	tenant_saml_names(l, s, t);
	tenant_next(l, s, t, flags);
	tenant_previous(l, s, t);
	if (cert != NULL && (flags & CONFIG_NO_PRIVATE_KEYS))
		tenant_keys(l, t, cert, NULL, NULL);
	else if (cert != NULL && pkey != NULL && password != NULL)
		tenant_keys(l, t, cert, pkey, password);
	else if (cert != NULL)
		/* The key or its password failed (reported): still report what
		 * is wrong with the certificate in the same run. */
		tenant_keys(l, t, cert, NULL, NULL);
	secret_free(password);
	free(cert);
	secret_free(pkey);
}

/*
 * A Client Credentials section: client_id and exactly one of password and
 * client_secret.  0, or -1 after reporting.
 */
static int
client_load(struct load *l, struct ini_section *s, struct service_client *sc)
{
	struct ini_option	*id, *pw, *cs;
	const char		*secret;

	id = config_opt_get(s, "client_id");
	pw = config_opt_get(s, "password");
	cs = config_opt_get(s, "client_secret");
	if (id == NULL) {
		diag_error(l->d, l->file, s->name, "client_id",
		    "required option is missing");
		return -1;
	}
	if (pw != NULL && cs != NULL) {
		diag_error(l->d, l->file, s->name, NULL,
		    "both password and client_secret are set; keep one");
		return -1;
	}
	if (pw == NULL && cs == NULL) {
		diag_error(l->d, l->file, s->name, NULL,
		    "has client_id but no password or client_secret");
		return -1;
	}
	if (id->value[0] == '\0') {
		diag_error(l->d, l->file, s->name, "client_id", "must not be empty");
		return -1;
	}
	secret = pw != NULL ? pw->value : cs->value;
	if (*secret == '\0') {
		diag_error(l->d, l->file, s->name, pw != NULL ? "password" :
		    "client_secret", "must not be empty");
		return -1;
	}
	sc->secret = config_secret_get(l, s->name, pw != NULL ? "password" :
	    "client_secret", secret, SOURCE_USE_FRONT);
	if (sc->secret == NULL)
		return -1;
	sc->name = xstrdup(s->name);
	sc->client_id = xstrdup(id->value);
	sc->secret_option = pw != NULL ? "password" : "client_secret";
	return 0;
}

/* Sections that are not services even with a client_id. */
bool
config_section_reserved(const char *name)
{
	return strcmp(name, "general") == 0 || strcmp(name, "saml") == 0 ||
	    strcmp(name, "saml_auth") == 0 || strcmp(name, "provisioning") == 0;
}

/* A section marked as a service whose client is still to be created. */
static bool
is_pending_service(struct ini_section *s)
{
	if (ini_option_find(s, "client_id") != NULL)
		return false;
	for (size_t i = 0; pending_markers[i] != NULL; i++)
		if (ini_option_find(s, pending_markers[i]) != NULL)
			return true;
	return false;
}

/*
 * A client section without client_id: the client `provision` creates.
 * With CONFIG_PENDING_CLIENTS (provision itself) it is skipped, its
 * options taken as known; otherwise it is an error: the broker cannot
 * serve it.
 */
static void
client_pending(struct load *l, struct ini_section *s, const char *tenant)
{
	if (l->flags & CONFIG_PENDING_CLIENTS) {
		for (size_t i = 0; i < s->n_options; i++)
			s->options[i].used = true;
		return;
	}
	diag_error(l->d, l->file, s->name, "client_id", "required option is missing "
	    "(samlbroker provision -t %s creates the client)", tenant);
}

static void
tenant_clients(struct load *l, struct tenant *t)
{
	struct ini_section	*s;

	if ((s = ini_section_find(l->ini, "saml_auth")) == NULL)
		section_missing(l, "saml_auth");
	else if (ini_option_find(s, "client_id") == NULL)
		client_pending(l, s, t->name);
	else
		client_load(l, s, &t->saml_auth);
	/* The admin client of `provision` and `check --online`: not a service. */
	if ((s = ini_section_find(l->ini, "provisioning")) != NULL)
		client_load(l, s, &t->provisioning);

	t->services = xcalloc(l->ini->n_sections, sizeof(*t->services));
	for (size_t i = 0; i < l->ini->n_sections; i++) {
		s = &l->ini->sections[i];
		if (config_section_reserved(s->name))
			continue;
		if (is_pending_service(s)) {
			client_pending(l, s, t->name);
			continue;
		}
		if (ini_option_find(s, "client_id") == NULL) {
			service_typo_check(l, s);
			continue;
		}
		if (name_validate(s->name) == -1) {
			config_opt_get(s, "client_id");
			diag_error(l->d, l->file, s->name, NULL,
			    "a service section name " NAME_RULE);
			continue;
		}
		if (client_load(l, s, &t->services[t->n_services]) == 0)
			t->n_services++;
	}
}

struct tenant *
tenant_load(const char *path, const char *name, struct diag *d)
{
	return tenant_load_ext(path, name, d, 0);
}

struct tenant *
tenant_load_ext(const char *path, const char *name, struct diag *d, int flags)
{
	struct config_source	 src = { .mode = SOURCE_LIVE };

	return tenant_load_from(&src, path, name, d, flags);
}

/*
 * The digest starts from the file as the front gets it (snapshot.c blanks
 * [saml] pkey and password), so that the front's load of a snapshot and
 * the load that recorded it agree; the key and its password join it when
 * they are loaded.
 */
struct tenant *
tenant_load_from(struct config_source *src, const char *path, const char *name,
    struct diag *d, int flags)
{
	struct tenant		*t;
	struct load		 l = { .src = src, .d = d, .path = path, .flags = flags };
	struct source_stat	 st;
	char			 err[256], *buf, *blanked, *shown;
	size_t			 len, blen, clen;
	int			 errors = d->errors;

	shown = config_printable_dup(path);
	l.file = shown;
	if (config_read_file(&l, shown, path, SOURCE_TENANT, &buf, &len, &st) == -1) {
		free(shown);
		return NULL;
	}
	/* A problem of the file's permissions fails the load, not the tenant
	 * (whose [access] section is still checked). */
	config_permissions_check(&l, NULL, NULL, path, &st, true);
	errors = d->errors;
	l.ini = ini_parse(path, buf, len, err, sizeof(err));
	if (l.ini != NULL) {
		if ((blanked = snapshot_tenant_blank(buf, len, &blen)) == NULL)
			l.digest = config_digest(CONFIG_DIGEST_INIT, buf, len);
		else
			l.digest = config_digest(CONFIG_DIGEST_INIT, blanked, blen);
		config_wipe_free(blanked, blen);
		if ((blanked = snapshot_tenant_blank_options(buf, len, rollover_options,
		    client_secret_options, true, &clen)) != NULL) {
			l.cache_digest = config_digest(CONFIG_DIGEST_INIT, blanked, clen);
			config_wipe_free(blanked, clen);
		}
	}
	config_wipe_free(buf, len);
	if (l.ini == NULL) {
		diag_error(d, shown, NULL, NULL, "%s", err);
		free(shown);
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->name = xstrdup(name);
	t->file = xstrdup(path);

	tenant_general(&l, t);
	tenant_saml(&l, t, flags);
	tenant_clients(&l, t);
	for (size_t i = 0; i < l.ini->n_sections; i++) {
		struct ini_section *s = &l.ini->sections[i];

		if (strcmp(s->name, "general") == 0)
			config_refuse_unknown(&l, s, general_options);
		else if (strcmp(s->name, "saml") == 0)
			config_refuse_unknown(&l, s, saml_options);
		else if (strcmp(s->name, "saml_auth") == 0 ||
		    strcmp(s->name, "provisioning") == 0)
			config_refuse_unknown(&l, s, client_options);
		else if (ini_option_find(s, "client_id") != NULL || is_pending_service(s))
			config_unknown_options(&l, s, service_options);
	}
	t->digest = l.digest;
	t->cache_digest = l.cache_digest;
	ini_free(l.ini);
	free(shown);
	if (d->errors > errors) {
		tenant_free(t);
		return NULL;
	}
	return t;
}

static void
client_clear(struct service_client *sc)
{
	free(sc->name);
	free(sc->client_id);
	secret_free(sc->secret);
}

void
tenant_free(struct tenant *t)
{
	if (t == NULL)
		return;
	access_free(t->access);
	client_clear(&t->saml_auth);
	client_clear(&t->provisioning);
	for (size_t i = 0; i < t->n_services; i++)
		client_clear(&t->services[i]);
	free(t->services);
	keystore_free(t->keys);
	keystore_free(t->next_cert);
	keystore_free(t->previous_cert);
	free(t->previous_pkey);
	cache_material_free(t);
	free(t->name);
	free(t->file);
	free(t->organization_sname);
	free(t->organization_id);
	free(t->agent_role);
	free(t->admin_role);
	free(t->agent_permissions);
	free(t->base_auth_url);
	free(t->base_service_url);
	free(t->issuer);
	free(t->audience);
	free(t->recipient);
	free(t->destination);
	free(t->service_name);
	free(t->name_id_format);
	free(t->authn_context_class);
	OPENSSL_cleanse(t->redis_key, sizeof(t->redis_key));
	free(t);
}

/* A Client Credentials service by section name; never saml_auth. */
const struct service_client *
tenant_service_find(const struct tenant *t, const char *name)
{
	if (t == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < t->n_services; i++)
		if (strcmp(t->services[i].name, name) == 0)
			return &t->services[i];
	return NULL;
}

size_t
tenant_client_count(const struct tenant *t)
{
	return 1 + t->n_services;
}

const struct service_client *
tenant_client(const struct tenant *t, size_t i)
{
	if (i == 0)
		return &t->saml_auth;
	return i <= t->n_services ? &t->services[i - 1] : NULL;
}
