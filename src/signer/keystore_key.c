/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keystore_key.c - a tenant's private key: decoding base64 of a
 * password-encrypted PEM key (PKCS#8 or traditional form) or a pkcs11:
 * URI, checking that it is RSA, long enough, the certificate's own and fit
 * for signing, and the OpenSSL secure heap the keys live in.
 * keystore_global_init hands keystore.c this loader; only programs that
 * call it (the signers, the tools, tests) can load a key, and the front's
 * binary does not link this file (tests/front_symbols.sh).  Every failure
 * is one error text starting with "pkey: " or "password: "; no logging.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * A loaded 2048-bit key takes about 900 bytes of secure heap, an 8192-bit
 * one about 3.5 KiB; a reload holds the old and the new keys at once.
 * When the heap is full OpenSSL fails to load further keys, so it is
 * sized for hundreds of tenants rather than a few.
 */
#define SECURE_HEAP_SIZE	(1024 * 1024)
#define SECURE_HEAP_MINSIZE	64
/* Below this much free secure heap a failed key load is blamed on it. */
#define SECURE_HEAP_LOW		(16 * 1024)

#define MIN_RSA_BITS		2048

/*
 * How much stack below keystore_load() is wiped after a key is decoded:
 * OpenSSL's copies of the password lie about 5 KiB down (see stack_wipe).
 */
#define STACK_WIPE_SIZE		(64 * 1024)

/* What the password callback was given and whether OpenSSL asked. */
struct pw_ctx {
	const char	*password;
	int		 asked;
};

static int	 secure_heap_active;

static EVP_PKEY *key_load(const char *, const char *, X509 *, char *, size_t);

/* Never asks for a pass phrase (OpenSSL's default would read the terminal). */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* The https: listeners' key (config_tls.c): a PEM key, unencrypted, the
 * first certificate's own. */
static const char *
tls_key_check(const char *key_pem, size_t key_len, const char *cert_pem,
    size_t cert_len)
{
	BIO		*kb = BIO_new_mem_buf(key_pem, (int)key_len);
	BIO		*cb = cert_pem != NULL ? BIO_new_mem_buf(cert_pem, (int)cert_len) :
			    NULL;
	EVP_PKEY	*k = kb != NULL ? PEM_read_bio_PrivateKey(kb, NULL,
			    no_passphrase, NULL) : NULL;
	X509		*x = cb != NULL ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
	const char	*why = NULL;

	if (k == NULL)
		why = "holds no PEM private key (an encrypted key is not supported: "
		    "the front has no way to ask for its pass phrase)";
	else if (x != NULL && X509_check_private_key(x, k) != 1)
		why = "is not the key of tls_certificate's first certificate";
	EVP_PKEY_free(k);
	X509_free(x);
	BIO_free(kb);
	BIO_free(cb);
	ERR_clear_error();
	return why;
}

int
keystore_global_init(void)
{
	keystore_key_loader_set(key_load);
	config_tls_key_check_set(tls_key_check);
	if (CRYPTO_secure_malloc_initialized()) {
		secure_heap_active = 1;
		return 0;
	}
	/* 1: heap locked in memory, 2: heap usable but not locked, 0: none. */
	if (CRYPTO_secure_malloc_init(SECURE_HEAP_SIZE, SECURE_HEAP_MINSIZE) != 0)
		secure_heap_active = 1;
	return 0;
}

int
keystore_secure_heap_active(void)
{
	return secure_heap_active;
}

/*
 * Wipes the stack that decoding a key used, below the caller's frame.
 * OpenSSL 3.0 hands a PEM password callback's answer through its UI layer,
 * whose reader (UI_UTIL_wrap_read_pem_callback) keeps a copy in a stack
 * array it never cleanses, and PEM_read_bio_PrivateKey_ex wraps the
 * callback twice (once itself, once in its decoder), so two copies of the
 * password stay on the stack after the call.  Whether later calls happen
 * to overwrite those bytes depends on the code OpenSSL picks for the CPU
 * (AES-NI, AVX2, SHA-NI...): on some machines the password stayed in the
 * signers' memory.  Both key formats and pkcs11: keys pass the password
 * through such code, so keystore_load wipes after every decode.
 */
static void __attribute__((noinline))
stack_wipe(void)
{
	unsigned char	 area[STACK_WIPE_SIZE];

	OPENSSL_cleanse(area, sizeof(area));
}

static int
pw_callback(char *buf, int size, int rwflag, void *u)
{
	struct pw_ctx	*pw = u;
	size_t		 len = strlen(pw->password);

	pw->asked = 1;
	if (size < 0 || len > (size_t)size)
		return -1;
	memcpy(buf, pw->password, len);
	return (int)len;
}

/* Whether the error queue says a decryption failed its padding check. */
static int
errors_say_bad_decrypt(void)
{
	unsigned long	 e;
	int		 found = 0;

	while ((e = ERR_get_error()) != 0) {
		int lib = ERR_GET_LIB(e), reason = ERR_GET_REASON(e);

		if ((lib == ERR_LIB_PROV && reason == PROV_R_BAD_DECRYPT) ||
		    (lib == ERR_LIB_EVP && reason == EVP_R_BAD_DECRYPT) ||
		    (lib == ERR_LIB_PEM && reason == PEM_R_BAD_DECRYPT) ||
		    (lib == ERR_LIB_PKCS12 &&
		    reason == PKCS12_R_PKCS12_CIPHERFINAL_ERROR))
			found = 1;
	}
	return found;
}

static void
key_buf_free(unsigned char *buf, size_t len)
{
	if (buf == NULL)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}

/*
 * Whether the key makes signatures the certificate verifies.  The public
 * halves can match while corrupt private numbers would make every
 * assertion fail at PureCloud with an unhelpful answer; one signature at
 * load time says so clearly.
 */
static int
sign_check(EVP_PKEY *pkey, EVP_PKEY *pub)
{
	static const unsigned char	 msg[] = "samlbroker key check";
	EVP_MD_CTX			*sctx = NULL, *vctx = NULL;
	unsigned char			*sig = NULL;
	size_t				 siglen = 0;
	int				 ok = 0;

	if ((sctx = EVP_MD_CTX_new()) == NULL || (vctx = EVP_MD_CTX_new()) == NULL)
		goto done;
	if (EVP_DigestSignInit_ex(sctx, NULL, "SHA256", NULL, NULL, pkey, NULL) != 1 ||
	    EVP_DigestSign(sctx, NULL, &siglen, msg, sizeof(msg)) != 1)
		goto done;
	sig = xmalloc(siglen);
	if (EVP_DigestSign(sctx, sig, &siglen, msg, sizeof(msg)) != 1)
		goto done;
	if (EVP_DigestVerifyInit_ex(vctx, NULL, "SHA256", NULL, NULL, pub, NULL) != 1 ||
	    EVP_DigestVerify(vctx, sig, siglen, msg, sizeof(msg)) != 1)
		goto done;
	ok = 1;
done:
	free(sig);
	EVP_MD_CTX_free(sctx);
	EVP_MD_CTX_free(vctx);
	return ok;
}

/* The password-encrypted PEM key in base64; NULL with errbuf on failure. */
static EVP_PKEY *
pem_key_load(const char *pkey_b64, struct pw_ctx *pw, char *errbuf, size_t errlen)
{
	unsigned char	*key_pem = NULL;
	size_t		 key_len = 0;
	BIO		*bio = NULL;
	EVP_PKEY	*pkey = NULL;

	if (base64_decode_lenient(pkey_b64, &key_pem, &key_len) == -1) {
		snprintf(errbuf, errlen, "pkey: not valid base64%s", keystore_pem_hint(pkey_b64));
		goto done;
	}
	if ((bio = BIO_new_mem_buf(key_pem, (int)key_len)) == NULL) {
		snprintf(errbuf, errlen, "pkey: out of memory");
		goto done;
	}
	pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, pw_callback, pw, NULL, NULL);
	if (pkey == NULL) {
		if (!pw->asked)
			snprintf(errbuf, errlen, "pkey: no PEM private key found (truncated?)");
		else if (errors_say_bad_decrypt())
			snprintf(errbuf, errlen, "password: wrong password for pkey");
		else if (secure_heap_active && CRYPTO_secure_malloc_initialized() &&
		    SECURE_HEAP_SIZE - CRYPTO_secure_used() < SECURE_HEAP_LOW)
			snprintf(errbuf, errlen,
			    "pkey: cannot load the key: secure memory is exhausted");
		else
			snprintf(errbuf, errlen, "pkey: cannot decode the decrypted key "
			    "(corrupt key data, or a wrong password)");
		goto done;
	}
	if (!pw->asked) {
		snprintf(errbuf, errlen, "pkey: key is not encrypted; encrypt it "
		    "(openssl rsa -aes256) or use samlbroker keygen");
		EVP_PKEY_free(pkey);
		pkey = NULL;
		goto done;
	}
done:
	BIO_free(bio);
	key_buf_free(key_pem, key_len);
	return pkey;
}

/* The key must be RSA, long enough, and the certificate's own. */
static int
key_check(EVP_PKEY *pkey, X509 *cert, char *errbuf, size_t errlen)
{
	EVP_PKEY	*cert_pub;
	int		 bits;

	if (!EVP_PKEY_is_a(pkey, "RSA")) {
		const char *type = EVP_PKEY_get0_type_name(pkey);

		snprintf(errbuf, errlen, "pkey: key is not RSA (%s)",
		    type != NULL ? type : "unknown type");
		return -1;
	}
	if ((bits = EVP_PKEY_get_bits(pkey)) < MIN_RSA_BITS) {
		snprintf(errbuf, errlen,
		    "pkey: RSA key has %d bits; at least %d are required",
		    bits, MIN_RSA_BITS);
		return -1;
	}
	if ((cert_pub = X509_get0_pubkey(cert)) == NULL ||
	    EVP_PKEY_eq(pkey, cert_pub) != 1) {
		snprintf(errbuf, errlen, "pkey: key does not match the certificate");
		return -1;
	}
	if (!sign_check(pkey, cert_pub)) {
		snprintf(errbuf, errlen, "pkey: the key's private numbers are corrupt "
		    "(its signatures do not verify with the certificate)");
		return -1;
	}
	return 0;
}

/* The loader keystore.c calls: the key, checked against cert. */
static EVP_PKEY *
key_load(const char *pkey_b64, const char *password, X509 *cert, char *errbuf,
    size_t errlen)
{
	struct pw_ctx	 pw = { password, 0 };
	EVP_PKEY	*pkey;

	if (strncmp(pkey_b64, "pkcs11:", 7) == 0)
		pkey = keystore_pkcs11_load(pkey_b64, password, errbuf, errlen);
	else
		pkey = pem_key_load(pkey_b64, &pw, errbuf, errlen);
	stack_wipe();
	if (pkey != NULL && key_check(pkey, cert, errbuf, errlen) == -1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	return pkey;
}
