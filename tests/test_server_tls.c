/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_server_tls.c - server_tls.c: the identity a client certificate
 * names (SAN e-mail, SAN UPN, subject CN: found, folded, refused when
 * missing, doubled or unsafe), the subject as logged, and the TLS context
 * made from a configuration's PEM bytes.  Certificates are made here with
 * OpenSSL's API.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "server.h"

static EVP_PKEY	*key;

/* A self-signed certificate with these subject CNs (NULL-terminated) and
 * subjectAltName entries. */
static X509 *
cert_new(const char *const *cns, GENERAL_NAMES *gens)
{
	X509		*x = X509_new();
	X509_NAME	*nm = X509_get_subject_name(x);

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	for (size_t i = 0; cns != NULL && cns[i] != NULL; i++)
		assert_int_equal(X509_NAME_add_entry_by_NID(nm, NID_commonName,
		    MBSTRING_UTF8, (const unsigned char *)cns[i], -1, -1, 0), 1);
	X509_set_issuer_name(x, nm);
	X509_set_pubkey(x, key);
	if (gens != NULL) {
		assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0), 1);
		GENERAL_NAMES_free(gens);
	}
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static GENERAL_NAME *
email_name(const char *value, int len)
{
	GENERAL_NAME	*g = GENERAL_NAME_new();
	ASN1_IA5STRING	*s = ASN1_IA5STRING_new();

	ASN1_STRING_set(s, value, len);
	GENERAL_NAME_set0_value(g, GEN_EMAIL, s);
	return g;
}

static GENERAL_NAME *
upn_name(const char *value, int type)
{
	GENERAL_NAME	*g = GENERAL_NAME_new();
	ASN1_TYPE	*v = ASN1_TYPE_new();
	ASN1_STRING	*s = ASN1_STRING_type_new(type);

	ASN1_STRING_set(s, value, -1);
	ASN1_TYPE_set(v, type, s);
	assert_int_equal(GENERAL_NAME_set0_othername(g, OBJ_nid2obj(NID_ms_upn), v), 1);
	return g;
}

static GENERAL_NAMES *
names(GENERAL_NAME *a, GENERAL_NAME *b)
{
	GENERAL_NAMES	*gens = GENERAL_NAMES_new();

	if (a != NULL)
		sk_GENERAL_NAME_push(gens, a);
	if (b != NULL)
		sk_GENERAL_NAME_push(gens, b);
	return gens;
}

/* Expects field of x to give want (NULL: refused with a why holding
 * why_part). */
static void
expect(X509 *x, enum tls_identity_field field, const char *want, const char *why_part)
{
	char		 out[256];
	const char	*why = NULL;
	int		 rc = server_tls_identity(x, field, out, sizeof(out), &why);

	if (want != NULL) {
		if (rc != 0)
			fail_msg("refused: %s", why);
		assert_string_equal(out, want);
	} else {
		assert_int_equal(rc, -1);
		assert_non_null(why);
		if (strstr(why, why_part) == NULL)
			fail_msg("why '%s' lacks '%s'", why, why_part);
	}
	X509_free(x);
}

static void
test_identity(void **state)
{
	static const char *const cn_alice[] = { "Alice Example", NULL };
	static const char *const cn_user[] = { "CnUser", NULL };
	static const char *const cn_two[] = { "a", "b", NULL };
	static const char *const cn_space[] = { "Alice Example", NULL };

	(void)state;
	/* SAN e-mail: found and folded to lowercase */
	expect(cert_new(cn_alice, names(email_name("Alice@Acme.Example", -1), NULL)),
	    TLS_ID_SAN_EMAIL, "alice@acme.example", NULL);
	expect(cert_new(cn_alice, NULL), TLS_ID_SAN_EMAIL, NULL,
	    "no subjectAltName e-mail");
	expect(cert_new(cn_alice, names(email_name("a@acme.example", -1),
	    email_name("b@acme.example", -1))), TLS_ID_SAN_EMAIL, NULL,
	    "more than one subjectAltName e-mail");
	expect(cert_new(cn_alice, names(email_name("alice@acme.example\0@evil.example",
	    33), NULL)), TLS_ID_SAN_EMAIL, NULL, "NUL byte");
	expect(cert_new(cn_alice, names(email_name("alice", -1), NULL)),
	    TLS_ID_SAN_EMAIL, NULL, "not NAME@DOMAIN");
	expect(cert_new(cn_alice, names(email_name("a@b@acme.example", -1), NULL)),
	    TLS_ID_SAN_EMAIL, NULL, "not NAME@DOMAIN");
	expect(cert_new(cn_alice, names(email_name("al\"ice@acme.example", -1), NULL)),
	    TLS_ID_SAN_EMAIL, NULL, "a character the broker does not accept");
	/* SAN UPN: an otherName of type UTF8String, beside an e-mail */
	expect(cert_new(cn_alice, names(email_name("x@y.example", -1),
	    upn_name("Bob@Corp.Example", V_ASN1_UTF8STRING))), TLS_ID_SAN_UPN,
	    "bob@corp.example", NULL);
	expect(cert_new(cn_alice, names(upn_name("bob@corp.example", V_ASN1_IA5STRING),
	    NULL)), TLS_ID_SAN_UPN, NULL, "not a UTF8String");
	expect(cert_new(cn_alice, names(email_name("x@y.example", -1), NULL)),
	    TLS_ID_SAN_UPN, NULL, "no subjectAltName UPN");
	/* subject CN: one, printable, no space */
	expect(cert_new(cn_user, NULL), TLS_ID_SUBJECT_CN, "cnuser", NULL);
	expect(cert_new(cn_two, NULL), TLS_ID_SUBJECT_CN, NULL, "more than one CN");
	expect(cert_new(NULL, NULL), TLS_ID_SUBJECT_CN, NULL, "no CN");
	expect(cert_new(cn_space, NULL), TLS_ID_SUBJECT_CN, NULL,
	    "a character the broker does not accept");
	expect(cert_new(cn_user, NULL), TLS_ID_NONE, NULL, "no identity field");
}

/* A subject is logged inside quotes: nothing in it may end them. */
static void
test_subject(void **state)
{
	static const char *const cn[] = { "a\"b\\c\nd", NULL };
	X509	*x = cert_new(cn, NULL);
	char	 out[256];

	(void)state;
	server_tls_subject(x, out, sizeof(out));
	assert_null(strchr(out, '"'));
	assert_null(strchr(out, '\n'));
	assert_non_null(strstr(out, "CN="));
	X509_free(x);
	server_tls_subject(NULL, out, sizeof(out));
	assert_string_equal(out, "?");
}

static char *
pem_of(X509 *x, EVP_PKEY *k, size_t *ret_len)
{
	BIO	*bio = BIO_new(BIO_s_mem());
	char	*data, *out;
	long	 n;

	if (x != NULL)
		PEM_write_bio_X509(bio, x);
	if (k != NULL)
		PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(bio, &data);
	out = xmalloc((size_t)n + 1);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	*ret_len = (size_t)n;
	BIO_free(bio);
	return out;
}

/* The context: made from good bytes, refused (no secret in the error)
 * from a key that is not the certificate's, or without a method. */
static void
test_context(void **state)
{
	static const char *const cn[] = { "broker", NULL };
	struct broker_config	 conf;
	X509			*x = cert_new(cn, NULL);
	EVP_PKEY		*other = EVP_EC_gen("P-256");
	struct server_tls	*t;
	char			 err[256];

	(void)state;
	memset(&conf, 0, sizeof(conf));
	conf.tls_cert_pem = pem_of(x, NULL, &conf.tls_cert_pem_len);
	conf.tls_key_pem = pem_of(NULL, key, &conf.tls_key_pem_len);
	conf.tls_ca_pem = pem_of(x, NULL, &conf.tls_ca_pem_len);
	conf.https_auth_methods = HTTPS_AUTH_CERTIFICATE;
	conf.tls_identity = TLS_ID_SAN_EMAIL;
	t = server_tls_new(&conf, err, sizeof(err));
	if (t == NULL)
		fail_msg("%s", err);
	server_tls_free(t);

	conf.https_auth_methods = 0;
	assert_null(server_tls_new(&conf, err, sizeof(err)));
	assert_string_equal(err, "https: no authentication method");
	conf.https_auth_methods = HTTPS_AUTH_CERTIFICATE;

	free(conf.tls_ca_pem);
	conf.tls_ca_pem = xstrdup("not PEM");
	conf.tls_ca_pem_len = 7;
	assert_null(server_tls_new(&conf, err, sizeof(err)));
	assert_string_equal(err, "https: tls_client_ca holds no usable certificate");

	free(conf.tls_key_pem);
	conf.tls_key_pem = pem_of(NULL, other, &conf.tls_key_pem_len);
	assert_null(server_tls_new(&conf, err, sizeof(err)));
	assert_string_equal(err, "https: tls_key holds no usable key for tls_certificate");
	assert_null(strstr(err, "PRIVATE"));

	free(conf.tls_cert_pem);
	free(conf.tls_key_pem);
	free(conf.tls_ca_pem);
	EVP_PKEY_free(other);
	X509_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_context),
	};
	int	 rc;

	key = EVP_EC_gen("P-256");
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	EVP_PKEY_free(key);
	return rc;
}
