/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x509.c - certificate making and PEM text for the tools: the SAML
 * certificate of `samlbroker keygen`, the HTTPS certificate of
 * samlbroker-emulator, and the PEM text keystore.c keeps.
 *
 * It does not read or write files and does not log; every function
 * returns NULL on failure.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common.h"

static int
ext_add(X509 *cert, const struct x509_ext *e)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;
	int		 ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &ctx, e->nid, e->value)) == NULL)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

X509 *
x509_selfsigned_new(EVP_PKEY *pkey, const X509_NAME *subject, long days, long backdate,
    const struct x509_ext *exts, size_t n_exts)
{
	X509		*cert;
	BIGNUM		*bn = NULL;
	ASN1_INTEGER	*serial = NULL;
	unsigned char	 rnd[16];

	if ((cert = X509_new()) == NULL)
		return NULL;
	/* 128 random bits, never zero. */
	do {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			goto fail;
		BN_free(bn);
		bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
	} while (bn != NULL && BN_is_zero(bn));
	if (bn == NULL || (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
		goto fail;
	if (X509_set_version(cert, X509_VERSION_3) != 1 ||
	    X509_set_serialNumber(cert, serial) != 1 ||
	    X509_set_subject_name(cert, subject) != 1 ||
	    X509_set_issuer_name(cert, subject) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), -backdate) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0, NULL) == NULL ||
	    X509_set_pubkey(cert, pkey) != 1)
		goto fail;
	for (size_t i = 0; i < n_exts; i++)
		if (ext_add(cert, &exts[i]) == -1)
			goto fail;
	if (X509_sign(cert, pkey, EVP_sha256()) <= 0)
		goto fail;
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return cert;
fail:
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	X509_free(cert);
	ERR_clear_error();
	return NULL;
}

/* Takes the text out of a memory BIO, wipes the BIO's copy and frees it. */
static char *
bio_text(BIO *bio)
{
	char	*data, *s = NULL;
	long	 len;

	if ((len = BIO_get_mem_data(bio, &data)) > 0) {
		s = xstrndup(data, (size_t)len);
		OPENSSL_cleanse(data, (size_t)len);
	}
	BIO_free(bio);
	return s;
}

char *
x509_cert_pem(X509 *cert)
{
	BIO	*bio;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (PEM_write_bio_X509(bio, cert) != 1) {
		BIO_free(bio);
		return NULL;
	}
	return bio_text(bio);
}

char *
x509_key_pem(EVP_PKEY *pkey, const char *password)
{
	BIO	*bio;
	int	 ok;

	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		return NULL;
	if (password != NULL)
		ok = PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(), password,
		    (int)strlen(password), NULL, NULL);
	else
		ok = PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
	if (ok != 1) {
		BIO_free(bio);
		ERR_clear_error();
		return NULL;
	}
	return bio_text(bio);
}

int
x509_fingerprint(const unsigned char *der, size_t len, char *out, size_t outlen)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;

	if (EVP_Digest(der, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen == 0 ||
	    (size_t)mdlen * 3 > outlen)
		return -1;
	for (unsigned int i = 0; i < mdlen; i++) {
		out[i * 3] = hex[md[i] >> 4];
		out[i * 3 + 1] = hex[md[i] & 0x0f];
		out[i * 3 + 2] = i + 1 < mdlen ? ':' : '\0';
	}
	return 0;
}

char *
x509_pem_body(const char *pem, bool flat)
{
	const char	*start, *end;
	char		*s;
	size_t		 n = 0;

	if (strncmp(pem, "-----BEGIN ", 11) != 0 || (start = strchr(pem, '\n')) == NULL ||
	    (end = strstr(start + 1, "-----END ")) == NULL)
		return NULL;
	start++;
	s = xstrndup(start, (size_t)(end - start));
	if (!flat)
		return s;
	for (const char *p = s; *p != '\0'; p++)
		if (*p != '\n' && *p != '\r')
			s[n++] = *p;
	s[n] = '\0';
	return s;
}
