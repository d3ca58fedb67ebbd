/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_x509.c - certificate making and PEM text (src/x509.c): a
 * self-signed certificate with its extensions and dates, PEM of a
 * certificate and of a key (encrypted and not), the PEM body flat and
 * wrapped, and the SHA-256 fingerprint.
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
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common.h"

static EVP_PKEY *
ec_key(void)
{
	EVP_PKEY	*k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	assert_non_null(k);
	return k;
}

static X509_NAME *
name(const char *cn)
{
	X509_NAME	*n = X509_NAME_new();

	assert_non_null(n);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	return n;
}

static void
test_selfsigned(void **state)
{
	static const struct x509_ext exts[] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1" },
	};
	EVP_PKEY	*k = ec_key();
	X509_NAME	*n = name("test");
	X509		*c;
	int		 days, secs;

	(void)state;
	c = x509_selfsigned_new(k, n, 10, 300, exts, 2);
	assert_non_null(c);
	assert_int_equal(X509_verify(c, k), 1);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(c), n), 0);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(c), n), 0);
	assert_int_equal(X509_get_version(c), X509_VERSION_3);
	/* Valid from five minutes ago for ten days. */
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(c),
	    X509_get0_notAfter(c)), 1);
	assert_int_equal(days, 10);
	assert_int_equal(secs, 300);
	assert_true(X509_get_ext_by_NID(c, NID_subject_alt_name, -1) >= 0);
	assert_true(X509_get_ext_by_NID(c, NID_basic_constraints, -1) >= 0);
	X509_free(c);
	/* A malformed extension value: no certificate. */
	{
		static const struct x509_ext bad[] = { { NID_subject_alt_name, "nonsense" } };

		assert_null(x509_selfsigned_new(k, n, 10, 0, bad, 1));
	}
	X509_NAME_free(n);
	EVP_PKEY_free(k);
}

static void
test_pem(void **state)
{
	EVP_PKEY	*k = ec_key(), *back;
	X509_NAME	*n = name("pem");
	X509		*c = x509_selfsigned_new(k, n, 1, 0, NULL, 0);
	char		*pem, *body, *flat, *kp, fp[96], want[96];
	unsigned char	*der = NULL, *raw = NULL;
	size_t		 rawlen = 0;
	int		 len;
	BIO		*bio;

	(void)state;
	assert_non_null(c);
	pem = x509_cert_pem(c);
	assert_non_null(pem);
	assert_true(strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
	body = x509_pem_body(pem, false);
	flat = x509_pem_body(pem, true);
	assert_non_null(body);
	assert_non_null(flat);
	assert_non_null(strchr(body, '\n'));
	assert_null(strchr(flat, '\n'));
	assert_null(strstr(flat, "-----"));
	/* The flat body is the DER certificate; its fingerprint is X509_digest's. */
	assert_int_equal(base64_decode_lenient(flat, &raw, &rawlen), 0);
	len = i2d_X509(c, &der);
	assert_int_equal((size_t)len, rawlen);
	assert_memory_equal(der, raw, rawlen);
	assert_int_equal(x509_fingerprint(raw, rawlen, fp, sizeof(fp)), 0);
	{
		unsigned char	 md[32];
		unsigned int	 mdlen = 0;

		X509_digest(c, EVP_sha256(), md, &mdlen);
		for (unsigned int i = 0; i < mdlen; i++)
			snprintf(want + i * 3, sizeof(want) - i * 3, "%02X%s", md[i],
			    i + 1 < mdlen ? ":" : "");
	}
	assert_string_equal(fp, want);
	assert_int_equal(x509_fingerprint(raw, rawlen, fp, 10), -1);
	assert_null(x509_pem_body("not PEM", true));
	assert_null(x509_pem_body("-----BEGIN X-----\nQUJD\n", true));
	/* Keys: encrypted with the password, or not encrypted. */
	kp = x509_key_pem(k, "a password");
	assert_non_null(strstr(kp, "BEGIN ENCRYPTED PRIVATE KEY"));
	bio = BIO_new_mem_buf(kp, -1);
	back = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"a password");
	assert_non_null(back);
	assert_int_equal(EVP_PKEY_eq(back, k), 1);
	EVP_PKEY_free(back);
	BIO_free(bio);
	secret_free(kp);
	kp = x509_key_pem(k, NULL);
	assert_non_null(strstr(kp, "BEGIN PRIVATE KEY"));
	secret_free(kp);
	OPENSSL_free(der);
	free(raw);
	free(pem);
	free(body);
	free(flat);
	X509_free(c);
	X509_NAME_free(n);
	EVP_PKEY_free(k);
}

static void
test_files(void **state)
{
	char	 dir[] = "/tmp/test_x509.XXXXXX", *p, *buf;
	size_t	 len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	p = path_join(dir, "f");
	assert_int_equal(file_write_new(p, 0640, "data", 4), 0);
	assert_int_equal(read_file_limited(p, 100, &buf, &len), 0);
	assert_string_equal(buf, "data");
	free(buf);
	/* Never over a file that exists. */
	assert_int_equal(file_write_new(p, 0600, "x", 1), -1);
	assert_int_equal(unlink(p), 0);
	free(p);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selfsigned),
		cmocka_unit_test(test_pem),
		cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
