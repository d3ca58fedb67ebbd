/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keystore.c - a tenant's SAML certificate, and its signing key where the
 * program may hold one.
 *
 * Owns decoding the certificate option (base64 of a PEM certificate) and
 * what the configuration reads from it.  The private key is decoded by
 * keystore_key.c, reached only through the loader keystore_global_init
 * sets: the front's binary links this file but not that one, so no code
 * there can load a key.  It does not judge
 * dates (the configuration compares them with clock_now()) and does not
 * log: every failure is one error text that starts with the name of the
 * option it concerns ("certificate: ", "pkey: " or "password: ").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pemerr.h>
#include <openssl/pkcs12err.h>
#include <openssl/proverr.h>
#include <openssl/x509.h>

#include "samlbroker.h"

struct keystore {
	EVP_PKEY	*pkey;
	X509		*cert;
	char		*subject;
	char		*cert_pem;
	char		 fingerprint[32 * 3];
	double		 not_before;
	double		 not_after;
	bool		 in_token;	/* pkey is a pkcs11: key */
};

static void
buf_free(unsigned char *buf, size_t len)
{
	if (buf == NULL)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}

static int
asn1_time_to_epoch(const ASN1_TIME *t, double *ret)
{
	struct tm	 tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*ret = (double)timegm(&tm);
	return 0;
}

/* The subject as `openssl x509 -subject` prints it: "CN = a, O = b". */
static char *
name_oneline(const X509_NAME *name)
{
	BIO	*bio;
	char	*data, *s = NULL;
	long	 len;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (X509_NAME_print_ex(bio, name, 0,
	    (XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT) >= 0 &&
	    (len = BIO_get_mem_data(bio, &data)) >= 0)
		s = xstrndup(data, (size_t)len);
	BIO_free(bio);
	return s;
}

/* SHA-256 of the DER certificate as "AB:CD:...", like openssl x509 -fingerprint. */
static int
cert_fingerprint(X509 *cert, char *out, size_t outlen)
{
	unsigned char	*der = NULL;
	int		 len, rc;

	if ((len = i2d_X509(cert, &der)) <= 0)
		return -1;
	rc = x509_fingerprint(der, (size_t)len, out, outlen);
	OPENSSL_free(der);
	return rc;
}

/* A hint for the common mistake of pasting the PEM text itself. */
const char *
keystore_pem_hint(const char *value)
{
	while (*value == ' ' || *value == '\t' || *value == '\r' || *value == '\n')
		value++;
	if (strncmp(value, "-----BEGIN", 10) == 0)
		return " (this is PEM text; the option wants base64 of the PEM file, "
		    "as made by openssl base64)";
	return "";
}

/* The certificate: base64 of its PEM text. */
static X509 *
cert_load(const char *cert_b64, char *errbuf, size_t errlen)
{
	unsigned char	*cert_der = NULL;
	size_t		 cert_len = 0;
	BIO		*bio = NULL;
	X509		*cert = NULL;

	if (base64_decode_lenient(cert_b64, &cert_der, &cert_len) == -1) {
		snprintf(errbuf, errlen, "certificate: not valid base64%s",
		    keystore_pem_hint(cert_b64));
		return NULL;
	}
	if ((bio = BIO_new_mem_buf(cert_der, (int)cert_len)) == NULL ||
	    (cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL)
		snprintf(errbuf, errlen,
		    "certificate: no PEM certificate found (truncated or not a certificate)");
	BIO_free(bio);
	buf_free(cert_der, cert_len);
	return cert;
}

/* Set by keystore_global_init (keystore_key.c): programs that may hold
 * private keys.  The front's binary never links it. */
static keystore_key_fn	 key_loader;

void
keystore_key_loader_set(keystore_key_fn fn)
{
	key_loader = fn;
}

struct keystore *
keystore_load(const char *cert_b64, const char *pkey_b64, char *password,
    char *errbuf, size_t errlen)
{
	struct keystore	*ks = NULL;
	X509		*cert = NULL;
	EVP_PKEY	*pkey = NULL;

	ERR_clear_error();
	if ((cert = cert_load(cert_b64, errbuf, errlen)) == NULL)
		goto fail;
	if (pkey_b64 != NULL) {
		if (key_loader == NULL) {
			snprintf(errbuf, errlen, "pkey: private keys are not loaded in "
			    "this process");
			goto fail;
		}
		if ((pkey = key_loader(pkey_b64, password != NULL ? password : "", cert,
		    errbuf, errlen)) == NULL)
			goto fail;
	}
	ks = xcalloc(1, sizeof(*ks));
	if (asn1_time_to_epoch(X509_get0_notBefore(cert), &ks->not_before) == -1 ||
	    asn1_time_to_epoch(X509_get0_notAfter(cert), &ks->not_after) == -1) {
		snprintf(errbuf, errlen, "certificate: unreadable validity dates");
		goto fail;
	}
	if ((ks->subject = name_oneline(X509_get_subject_name(cert))) == NULL ||
	    (ks->cert_pem = x509_cert_pem(cert)) == NULL ||
	    cert_fingerprint(cert, ks->fingerprint, sizeof(ks->fingerprint)) == -1) {
		snprintf(errbuf, errlen, "certificate: cannot encode the certificate");
		goto fail;
	}
	ks->cert = cert;
	ks->pkey = pkey;
	ks->in_token = pkey_b64 != NULL && strncmp(pkey_b64, "pkcs11:", 7) == 0;
	if (password != NULL)
		OPENSSL_cleanse(password, strlen(password));
	return ks;

fail:
	if (ks != NULL) {
		free(ks->subject);
		free(ks->cert_pem);
		free(ks);
	}
	EVP_PKEY_free(pkey);
	X509_free(cert);
	if (password != NULL)
		OPENSSL_cleanse(password, strlen(password));
	ERR_clear_error();
	return NULL;
}

void
keystore_free(struct keystore *ks)
{
	if (ks == NULL)
		return;
	EVP_PKEY_free(ks->pkey);
	X509_free(ks->cert);
	free(ks->subject);
	free(ks->cert_pem);
	free(ks);
}

struct evp_pkey_st *
keystore_pkey(const struct keystore *ks)
{
	return ks->pkey;
}

struct x509_st *
keystore_cert(const struct keystore *ks)
{
	return ks->cert;
}

const char *
keystore_subject(const struct keystore *ks)
{
	return ks->subject;
}

double
keystore_not_after(const struct keystore *ks)
{
	return ks->not_after;
}

long
keystore_days_left(const struct keystore *ks, double now)
{
	return ((long)(ks->not_after - now) + 86399) / 86400;
}

double
keystore_not_before(const struct keystore *ks)
{
	return ks->not_before;
}

const char *
keystore_cert_pem(const struct keystore *ks)
{
	return ks->cert_pem;
}

bool
keystore_in_token(const struct keystore *ks)
{
	return ks->in_token;
}

const char *
keystore_fingerprint(const struct keystore *ks)
{
	return ks->fingerprint;
}
