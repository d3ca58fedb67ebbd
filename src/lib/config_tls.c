/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_tls.c - the [broker] options of https: listeners: which methods
 * authenticate callers (https_auth), the server's certificate chain and
 * key, and for client certificates the CA bundle, an optional CRL and the
 * field that names the holder.  The files are read here, through the
 * load's source (the master records them in the snapshot; the front, which
 * may open no file, gets their bytes from it), checked like every file the
 * configuration names (the key as a secret) and parsed once, so that
 * `check` finds a broken or mismatched file.  The front builds its TLS
 * context from the bytes (src/front/server_tls.c).
 *
 * Fails closed: an https: listener without an authentication method, or a
 * method without what it needs, is an error.
 *
 * The key's contents are checked (a PEM key, the certificate's own) only
 * through the hook keystore_global_init sets (keystore_key.c), as private
 * keys are loaded: the front's binary links no key decoder, and its load
 * from the snapshot skips that check (the master made it).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config_load.h"

#define TLS_FILE_MAX	(1024 * 1024)

static const struct {
	const char		*name;
	enum tls_identity_field	 field;
} identity_fields[] = {
	{ "san-email", TLS_ID_SAN_EMAIL },
	{ "san-upn", TLS_ID_SAN_UPN },
	{ "subject-cn", TLS_ID_SUBJECT_CN },
};

int
tls_identity_parse(const char *name, enum tls_identity_field *ret)
{
	for (size_t i = 0; i < sizeof(identity_fields) / sizeof(identity_fields[0]); i++)
		if (strcmp(identity_fields[i].name, name) == 0) {
			*ret = identity_fields[i].field;
			return 0;
		}
	return -1;
}

const char *
tls_identity_name(enum tls_identity_field f)
{
	for (size_t i = 0; i < sizeof(identity_fields) / sizeof(identity_fields[0]); i++)
		if (identity_fields[i].field == f)
			return identity_fields[i].name;
	return "none";
}

int
https_auth_parse(const char *list, unsigned *ret, const char **ret_bad)
{
	static char	 bad[64];
	char		*copy = xstrdup(list), *item, *save = NULL;
	unsigned	 m = 0;
	int		 rc = 0;

	for (item = strtok_r(copy, ", \t", &save); item != NULL;
	    item = strtok_r(NULL, ", \t", &save)) {
		if (strcmp(item, "certificate") == 0)
			m |= HTTPS_AUTH_CERTIFICATE;
		else if (strcmp(item, "negotiate") == 0)
			m |= HTTPS_AUTH_NEGOTIATE;
		else {
			snprintf(bad, sizeof(bad), "%s", item);
			text_printable(bad);
			*ret_bad = bad;
			rc = -1;
			break;
		}
	}
	free(copy);
	if (rc == 0 && m == 0) {
		*ret_bad = "";
		rc = -1;
	}
	if (rc == 0)
		*ret = m;
	return rc;
}

static config_tls_key_check_fn	 key_check;
static config_tls_keytab_check_fn keytab_check;

void
config_tls_keytab_check_set(config_tls_keytab_check_fn fn)
{
	keytab_check = fn;
}

bool
krb5_realm_allowed(const char *list, const char *realm)
{
	size_t	 n = strlen(realm);

	if (list == NULL || n == 0)
		return false;
	for (const char *p = list; *p != '\0'; ) {
		size_t	 w;

		p += strspn(p, " \t,");
		w = strcspn(p, " \t,");
		if (w == n && strncmp(p, realm, n) == 0)
			return true;
		p += w;
	}
	return false;
}

void
config_tls_key_check_set(config_tls_key_check_fn fn)
{
	key_check = fn;
}

/* What is wrong with a PEM file's contents (certificates, CRLs), or NULL. */
static const char *
pem_check(const char *oname, const char *buf, size_t len)
{
	BIO		*bio = BIO_new_mem_buf(buf, (int)len);
	const char	*why = NULL;
	int		 n = 0;

	if (bio == NULL)
		return "out of memory";
	if (strcmp(oname, "tls_client_crl") == 0) {
		X509_CRL *crl;

		while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
			X509_CRL_free(crl);
			n++;
		}
		if (n == 0)
			why = "holds no PEM CRL (-----BEGIN X509 CRL-----)";
	} else {
		X509 *x;

		while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
			X509_free(x);
			n++;
		}
		if (n == 0)
			why = "holds no PEM certificate (-----BEGIN CERTIFICATE-----)";
	}
	ERR_clear_error();
	BIO_free(bio);
	return why;
}

/* Reads one file of an option into ret; 0, or -1 after reporting. */
static int
tls_file_read(struct load *l, const char *oname, const char *path, bool secret,
    char **ret, size_t *ret_len)
{
	struct source_stat	 st;
	char			*shown = config_printable_dup(path);
	int			 errors = l->d->errors;

	if (source_read(l->src, path, secret ? SOURCE_SECRET : SOURCE_CA,
	    SOURCE_USE_FRONT, config_follow_links(l), TLS_FILE_MAX, ret, ret_len,
	    &st) == -1) {
		diag_error(l->d, l->file, "broker", oname, "cannot read %s: %s", shown,
		    errno == EFBIG ? "larger than 1 MiB" : source_strerror(errno));
		free(shown);
		return -1;
	}
	free(shown);
	config_permissions_check(l, "broker", oname, path, &st, secret);
	return l->d->errors > errors ? -1 : 0;
}

/* Reads a keytab whole (errno EINVAL not a regular file, EFBIG too large,
 * ELOOP a symbolic link not followed). */
static int
keytab_file_read(const char *path, bool follow, char **ret, size_t *ret_len,
    struct source_stat *ret_st)
{
	struct stat	 sb;
	char		*buf;
	size_t		 got = 0;
	int		 fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    (follow ? 0 : O_NOFOLLOW))) == -1)
		return -1;
	if (fstat(fd, &sb) == -1)
		e = errno;
	else
		e = !S_ISREG(sb.st_mode) ? EINVAL : sb.st_size > TLS_FILE_MAX ? EFBIG : 0;
	if (e != 0) {
		close(fd);
		errno = e;
		return -1;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	ret_st->live = true;
	ret_st->mode = sb.st_mode;
	ret_st->uid = sb.st_uid;
	ret_st->gid = sb.st_gid;
	*ret = buf;
	*ret_len = got;
	return 0;
}

/*
 * https_auth = negotiate: the keytab (a secret, read for the snapshot's
 * key part only: the front's load skips it), the realms and the state
 * directory, all required.
 */
static void
negotiate_load(struct load *l, struct broker_config *c)
{
	struct source_stat	 st;
	const char		*why;
	char			*shown;

#ifndef HAVE_GSSAPI
	diag_error(l->d, l->file, "broker", "https_auth", "negotiate: this "
	    "samlbroker was built without GSS-API (configure --with-gssapi; "
	    "Debian: libkrb5-dev)");
	return;
#endif
	if (c->krb5_keytab == NULL)
		diag_error(l->d, l->file, "broker", "krb5_keytab", "must be set: "
		    "https_auth = negotiate needs the service's keytab");
	if (c->krb5_realms == NULL || strspn(c->krb5_realms, " \t,") ==
	    strlen(c->krb5_realms))
		diag_error(l->d, l->file, "broker", "krb5_realms", "must be set: "
		    "https_auth = negotiate accepts only the client realms listed "
		    "(such as ACME.EXAMPLE)");
	if (c->krb5_principal != NULL && (strchr(c->krb5_principal, '@') == NULL ||
	    strpbrk(c->krb5_principal, " \t\"") != NULL))
		diag_error(l->d, l->file, "broker", "krb5_principal", "must be a "
		    "whole principal such as HTTP/broker.acme.example@ACME.EXAMPLE");
	if (c->state_directory == NULL)
		diag_error(l->d, l->file, "broker", "state_directory", "must be set: "
		    "https_auth = negotiate keeps its replay cache there (such as "
		    "/var/lib/samlbroker)");
	if (c->krb5_keytab == NULL)
		return;
	/* The keytab is binary and only the negotiator's: read here, never
	 * recorded into a snapshot (the master hands the negotiator its
	 * bytes); a load from a snapshot (the front's) does not read it. */
	if (l->src->mode == SOURCE_REPLAY)
		return;
	shown = config_printable_dup(c->krb5_keytab);
	if (keytab_file_read(c->krb5_keytab, config_follow_links(l),
	    &c->krb5_keytab_bytes, &c->krb5_keytab_len, &st) == -1) {
		diag_error(l->d, l->file, "broker", "krb5_keytab", "cannot read %s: %s",
		    shown, errno == EFBIG ? "larger than 1 MiB" : source_strerror(errno));
		free(shown);
		return;
	}
	config_permissions_check(l, "broker", "krb5_keytab", c->krb5_keytab, &st, true);
	if (keytab_check != NULL && (why = keytab_check(c->krb5_keytab_bytes,
	    c->krb5_keytab_len, c->krb5_principal)) != NULL)
		diag_error(l->d, l->file, "broker", "krb5_keytab", "%s: %s", shown, why);
	free(shown);
}

static void
need(struct load *l, const char *oname, const char *value, const char *why)
{
	if (value == NULL)
		diag_error(l->d, l->file, "broker", oname, "must be set: %s", why);
}

void
config_tls_load(struct load *l, struct broker_config *c)
{
	const char	*bad, *why;
	bool		 cert_auth;

	if (!c->has_https)
		return;	/* the options are read (the table) but not used */
	if (c->https_auth == NULL) {
		diag_error(l->d, l->file, "broker", "listen", "an https: listener "
		    "needs an authentication method: set https_auth = certificate "
		    "(with tls_client_ca and tls_client_identity) or negotiate "
		    "(with krb5_keytab, krb5_realms and state_directory)");
		return;
	}
	if (https_auth_parse(c->https_auth, &c->https_auth_methods, &bad) == -1) {
		diag_error(l->d, l->file, "broker", "https_auth", "unknown method "
		    "'%s' (known: negotiate, certificate)", bad);
		return;
	}
	if (c->https_auth_methods & HTTPS_AUTH_NEGOTIATE)
		negotiate_load(l, c);
	cert_auth = (c->https_auth_methods & HTTPS_AUTH_CERTIFICATE) != 0;
	need(l, "tls_certificate", c->tls_certificate, "https: listeners need the "
	    "server's certificate chain");
	need(l, "tls_key", c->tls_key, "https: listeners need the server "
	    "certificate's key");
	if (cert_auth) {
		need(l, "tls_client_ca", c->tls_client_ca, "https_auth = certificate "
		    "verifies client certificates against these CAs");
		if (c->tls_client_identity == NULL)
			need(l, "tls_client_identity", NULL, "san-email, san-upn or "
			    "subject-cn (the field that names the caller)");
		else if (tls_identity_parse(c->tls_client_identity, &c->tls_identity) == -1) {
			char *shown = config_printable_dup(c->tls_client_identity);

			diag_error(l->d, l->file, "broker", "tls_client_identity",
			    "unknown field '%.64s' (known: san-email, san-upn, "
			    "subject-cn)", shown);
			free(shown);
		}
	}
	if (c->tls_certificate != NULL && tls_file_read(l, "tls_certificate",
	    c->tls_certificate, false, &c->tls_cert_pem, &c->tls_cert_pem_len) == 0 &&
	    (why = pem_check("tls_certificate", c->tls_cert_pem,
	    c->tls_cert_pem_len)) != NULL)
		diag_error(l->d, l->file, "broker", "tls_certificate", "%s", why);
	if (c->tls_key != NULL && tls_file_read(l, "tls_key", c->tls_key, true,
	    &c->tls_key_pem, &c->tls_key_pem_len) == 0 && key_check != NULL &&
	    (why = key_check(c->tls_key_pem, c->tls_key_pem_len, c->tls_cert_pem,
	    c->tls_cert_pem_len)) != NULL)
		diag_error(l->d, l->file, "broker", "tls_key", "%s", why);
	if (cert_auth && c->tls_client_ca != NULL && tls_file_read(l,
	    "tls_client_ca", c->tls_client_ca, false, &c->tls_ca_pem,
	    &c->tls_ca_pem_len) == 0 && (why = pem_check("tls_client_ca",
	    c->tls_ca_pem, c->tls_ca_pem_len)) != NULL)
		diag_error(l->d, l->file, "broker", "tls_client_ca", "%s", why);
	if (cert_auth && c->tls_client_crl != NULL && tls_file_read(l,
	    "tls_client_crl", c->tls_client_crl, false, &c->tls_crl_pem,
	    &c->tls_crl_pem_len) == 0 && (why = pem_check("tls_client_crl",
	    c->tls_crl_pem, c->tls_crl_pem_len)) != NULL)
		diag_error(l->d, l->file, "broker", "tls_client_crl", "%s", why);
}

void
config_tls_free(struct broker_config *c)
{
	free(c->tls_certificate);
	free(c->tls_key);
	free(c->https_auth);
	free(c->tls_client_ca);
	free(c->tls_client_crl);
	free(c->tls_client_identity);
	free(c->tls_cert_pem);
	if (c->tls_key_pem != NULL)
		OPENSSL_cleanse(c->tls_key_pem, c->tls_key_pem_len);
	free(c->tls_key_pem);
	free(c->tls_ca_pem);
	free(c->tls_crl_pem);
	free(c->krb5_keytab);
	free(c->krb5_principal);
	free(c->krb5_realms);
	if (c->krb5_keytab_bytes != NULL)
		OPENSSL_cleanse(c->krb5_keytab_bytes, c->krb5_keytab_len);
	free(c->krb5_keytab_bytes);
}
