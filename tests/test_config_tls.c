/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_config_tls.c - config_tls.c: the options of https: listeners.  An
 * https: listener without an authentication method, a method without
 * what it needs, an unknown method or identity field, unreadable,
 * mismatched or world-readable files are errors (fail closed); a good
 * configuration loads with every file's bytes.  The parsers of
 * https_auth and tls_client_identity are tested on their own.
 *
 * Certificates and keys are made here with OpenSSL's API; the tenant's
 * key comes from tests/data/keys/ (top_srcdir in the environment).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "samlbroker.h"
#include "config_fixture.h"

static char	*cert, *pkey, *pw;

/* A self-signed certificate for key k, as PEM, with the key's PEM. */
static void
write_pair(const char *cert_rel, const char *key_rel, EVP_PKEY *k)
{
	X509	*x = X509_new();
	BIO	*bio;
	char	*data, *text;
	long	 n;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_NID(X509_get_subject_name(x), NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)"broker", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(bio, x);
	n = BIO_get_mem_data(bio, &data);
	text = xstrndup(data, (size_t)n);
	fixture_write(cert_rel, text, 0600);
	free(text);
	BIO_free(bio);
	if (key_rel != NULL) {
		bio = BIO_new(BIO_s_mem());
		PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL);
		n = BIO_get_mem_data(bio, &data);
		text = xstrndup(data, (size_t)n);
		fixture_write(key_rel, text, 0600);
		free(text);
		BIO_free(bio);
	}
	X509_free(x);
}

static struct broker_config *
load_main(const char *rest, struct diag *d)
{
	char	 path[PATH_MAX], *text;

	assert_true(asprintf(&text, "[broker]\ntenants_dir = tenants\n%s", rest) > 0);
	fixture_write("samlbroker.conf", text, 0600);
	free(text);
	snprintf(path, sizeof(path), "%s/samlbroker.conf", fixture_dir);
	diag_init(d);
	return config_load(path, d);
}

static void
refused(const char *rest, const char *want)
{
	struct diag		 d;
	struct broker_config	*c = load_main(rest, &d);
	bool			 found = false;

	assert_null(c);
	for (size_t i = 0; i < d.n_lines; i++) {
		if (strstr(d.lines[i], want) != NULL)
			found = true;
		assert_null(strstr(d.lines[i], "PRIVATE KEY"));
	}
	if (!found)
		fail_msg("no line holds '%s'; first: %s", want,
		    d.n_lines > 0 ? d.lines[0] : "(none)");
	diag_clear(&d);
}

static int
setup(void **state)
{
	char		*text;
	EVP_PKEY	*k = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");

	(void)state;
	if (fixture_dir_make("test_config_tls", true) == -1)
		return -1;
	assert_true(asprintf(&text, "[general]\norganization_sname = acme\n"
	    "organization_id = 3f2c9a7e-5b1d-4e8f-9a6c-2d7e8f9a0b1c\n"
	    "base_auth_url = https://login.mypurecloud.ie/oauth/token\n"
	    "base_service_url = https://api.mypurecloud.ie/api/\n"
	    "[saml]\nissuer = https://www.genesys.com/pureengage\n"
	    "certificate = %s\npkey = %s\npassword = %s\n"
	    "[saml_auth]\nclient_id = saml\npassword = SECRET-saml\n", cert, pkey,
	    pw) > 0);
	fixture_write("tenants/acme.cfg", text, 0600);
	free(text);
	write_pair("server.pem", "server.key", k);
	write_pair("ca.pem", NULL, k);
	write_pair("other.pem", "other.key", other);
	fixture_write("crl.pem", "not a CRL\n", 0644);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return fixture_dir_remove();
}

#define LISTEN	"listen = https:[::]:8443\n"
#define FILES	"tls_certificate = server.pem\ntls_key = server.key\n"
#define CLIENTS	"tls_client_ca = ca.pem\ntls_client_identity = san-upn\n"
#define AUTH	"https_auth = certificate\n"

/* state_directory, set with or without negotiate: absolute, a directory
 * of ours, not group or world writable; and krb5_realm_allowed. */
static void
test_state_directory(void **state)
{
	struct diag		 d;
	struct broker_config	*c;
	char			 top[] = "/tmp/test_state_dir.XXXXXX";
	char			 path[PATH_MAX], line[PATH_MAX + 64];
	int			 fd;

	(void)state;
	refused("state_directory = state\n", "[broker] state_directory: must be an "
	    "absolute path");
	/* A directory of its own (the fixture's helpers are not needed). */
	assert_non_null(mkdtemp(top));
	snprintf(path, sizeof(path), "%s/state", top);
	snprintf(line, sizeof(line), "state_directory = %s\n", path);
	refused(line, "state: No such file or directory");
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) != -1);
	close(fd);
	refused(line, "state is not a directory");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(chmod(path, 0770), 0);
	refused(line, "state must not be group or world writable (mode 0770)");
	assert_int_equal(chmod(path, 0700), 0);
	c = load_main(line, &d);
	assert_non_null(c);
	assert_string_equal(c->state_directory, path);
	diag_clear(&d);
	config_free(c);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(top), 0);

	assert_true(krb5_realm_allowed("ACME.EXAMPLE OTHER.EXAMPLE", "OTHER.EXAMPLE"));
	assert_true(krb5_realm_allowed("ACME.EXAMPLE,OTHER.EXAMPLE", "ACME.EXAMPLE"));
	assert_false(krb5_realm_allowed("ACME.EXAMPLE", "acme.example"));
	assert_false(krb5_realm_allowed("ACME.EXAMPLE", "ACME.EXAMPL"));
	assert_false(krb5_realm_allowed("ACME.EXAMPLE", "EXAMPLE"));
	assert_false(krb5_realm_allowed("ACME.EXAMPLE", ""));
	assert_false(krb5_realm_allowed(NULL, "ACME.EXAMPLE"));
}

static void
test_parsers(void **state)
{
	enum tls_identity_field	 f;
	unsigned		 m = 0;
	const char		*bad = NULL;

	(void)state;
	assert_int_equal(tls_identity_parse("san-email", &f), 0);
	assert_int_equal(f, TLS_ID_SAN_EMAIL);
	assert_int_equal(tls_identity_parse("san-upn", &f), 0);
	assert_int_equal(f, TLS_ID_SAN_UPN);
	assert_int_equal(tls_identity_parse("subject-cn", &f), 0);
	assert_int_equal(f, TLS_ID_SUBJECT_CN);
	assert_int_equal(tls_identity_parse("SAN-EMAIL", &f), -1);
	assert_int_equal(tls_identity_parse("cn", &f), -1);
	assert_int_equal(tls_identity_parse("", &f), -1);
	assert_string_equal(tls_identity_name(TLS_ID_SAN_UPN), "san-upn");

	assert_int_equal(https_auth_parse("certificate", &m, &bad), 0);
	assert_int_equal(m, HTTPS_AUTH_CERTIFICATE);
	assert_int_equal(https_auth_parse(" certificate, certificate ", &m, &bad), 0);
	assert_int_equal(https_auth_parse("certificate negotiate", &m, &bad), 0);
	assert_int_equal(m, HTTPS_AUTH_CERTIFICATE | HTTPS_AUTH_NEGOTIATE);
	assert_int_equal(https_auth_parse("negotiate", &m, &bad), 0);
	assert_int_equal(m, HTTPS_AUTH_NEGOTIATE);
	assert_int_equal(https_auth_parse("certificate Negotiate", &m, &bad), -1);
	assert_string_equal(bad, "Negotiate");
	assert_int_equal(https_auth_parse(" , ", &m, &bad), -1);
	assert_string_equal(bad, "");
}

static void
test_load(void **state)
{
	struct diag		 d;
	struct broker_config	*c;

	(void)state;
	c = load_main("listen = unix:/run/x.sock\n" LISTEN FILES AUTH CLIENTS
	    "tls_client_crl = ca.pem\n", &d);
	/* ca.pem holds no CRL: an error naming the option */
	assert_null(c);
	diag_clear(&d);
	c = load_main("listen = unix:/run/x.sock\n" LISTEN FILES AUTH CLIENTS, &d);
	if (c == NULL)
		fail_msg("%s", d.n_lines > 0 ? d.lines[0] : "load failed");
	diag_clear(&d);
	assert_int_equal(c->n_listens, 2);
	assert_int_equal(c->listens[1].kind, LISTEN_HTTPS);
	assert_string_equal(c->listens[1].host, "::");
	assert_string_equal(c->listens[1].port, "8443");
	assert_true(c->has_https);
	assert_int_equal(c->https_auth_methods, HTTPS_AUTH_CERTIFICATE);
	assert_int_equal(c->tls_identity, TLS_ID_SAN_UPN);
	assert_non_null(strstr(c->tls_cert_pem, "BEGIN CERTIFICATE"));
	assert_non_null(strstr(c->tls_key_pem, "PRIVATE KEY"));
	assert_non_null(strstr(c->tls_ca_pem, "BEGIN CERTIFICATE"));
	assert_null(c->tls_crl_pem);
	config_free(c);
	/* Without an https: listener the options are not read. */
	c = load_main("tls_certificate = nope.pem\n", &d);
	assert_non_null(c);
	assert_null(c->tls_cert_pem);
	diag_clear(&d);
	config_free(c);
}

static void
test_refused(void **state)
{
	(void)state;
	refused(LISTEN FILES CLIENTS, "[broker] listen: an https: listener needs an "
	    "authentication method: set https_auth = certificate (with "
	    "tls_client_ca and tls_client_identity) or negotiate (with krb5_keytab, "
	    "krb5_realms and state_directory)");
	refused(LISTEN FILES CLIENTS "https_auth = kerberos\n", "[broker] https_auth: "
	    "unknown method 'kerberos' (known: negotiate, certificate)");
	refused(LISTEN FILES CLIENTS "https_auth = ,\n", "[broker] https_auth: "
	    "unknown method '' (known: negotiate, certificate)");
	refused(LISTEN AUTH CLIENTS "tls_key = server.key\n", "[broker] "
	    "tls_certificate: must be set");
	refused(LISTEN AUTH CLIENTS "tls_certificate = server.pem\n", "[broker] "
	    "tls_key: must be set");
	refused(LISTEN FILES AUTH "tls_client_identity = san-email\n", "[broker] "
	    "tls_client_ca: must be set");
	refused(LISTEN FILES AUTH "tls_client_ca = ca.pem\n", "[broker] "
	    "tls_client_identity: must be set: san-email, san-upn or subject-cn");
	refused(LISTEN FILES AUTH "tls_client_ca = ca.pem\ntls_client_identity = "
	    "upn\n", "[broker] tls_client_identity: unknown field 'upn' (known: "
	    "san-email, san-upn, subject-cn)");
	refused(LISTEN AUTH CLIENTS "tls_certificate = server.pem\ntls_key = "
	    "other.key\n", "[broker] tls_key: is not the key of tls_certificate's "
	    "first certificate");
	refused(LISTEN AUTH CLIENTS "tls_certificate = server.pem\ntls_key = "
	    "server.pem\n", "[broker] tls_key: holds no PEM private key");
	refused(LISTEN AUTH CLIENTS "tls_certificate = server.key\ntls_key = "
	    "server.key\n", "[broker] tls_certificate: holds no PEM certificate");
	refused(LISTEN FILES AUTH CLIENTS "tls_client_crl = crl.pem\n", "[broker] "
	    "tls_client_crl: holds no PEM CRL");
	refused(LISTEN FILES AUTH CLIENTS "tls_client_crl = nope.pem\n", "[broker] "
	    "tls_client_crl: cannot read");
	/* The key is a secret file. */
	{
		char	 path[PATH_MAX + 16];

		snprintf(path, sizeof(path), "%s/server.key", fixture_dir);
		assert_int_equal(chmod(path, 0644), 0);
		refused(LISTEN FILES AUTH CLIENTS, "[broker] tls_key:");
		assert_int_equal(chmod(path, 0600), 0);
	}
	/* https: is for token listeners only. */
	refused("admin_listen = https:127.0.0.1:9000\n", "[broker] admin_listen: "
	    "must be unix:/PATH or tcp:HOST:PORT (https: is for token listeners)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parsers),
		cmocka_unit_test_setup_teardown(test_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_directory, setup, teardown),
	};

	cert = fixture_key("vendor-pkcs8", "cert.pem.b64", true);
	pkey = fixture_key("vendor-pkcs8", "key.pem.enc.b64", true);
	pw = fixture_key("vendor-pkcs8", "password", true);
	umask(077);
	keystore_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
