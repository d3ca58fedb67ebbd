/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_seal.c - the key, the sealed record and the entry codec of cached
 * tokens that leave the front's memory (see cache_seal.h).
 *
 * The key is derived, not stored: HKDF-SHA256 over the tenant's signing key
 * as configured and its password, with the tenant and the purpose in the
 * info.  There is no new secret to manage, brokers with the same tenant
 * files derive the same key, and a copied file or Redis value is useless
 * without the tenant's key and password.  A new signing key (rollover
 * activate) is a new cache key: what was sealed under the old one no longer
 * opens and is dropped, which costs one exchange per agent once.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "cache_seal.h"

#define KDF_SALT	"samlbroker cache key salt v1"
#define KDF_INFO	"samlbroker cache v1"
#define ENTRY_AAD	"samlbroker cache entry"
#define FILE_AAD	"samlbroker cache file"
/* Times past this (ms) are refused: year 2500, and no overflow as double. */
#define TIME_MS_MAX	INT64_C(16725225600000)

int
cache_key_derive(const void *material, size_t material_len, const char *tenant,
    const char *purpose, unsigned char ret_key[CACHE_KEY_LEN], char *errbuf,
    size_t errlen)
{
	EVP_KDF		*kdf = NULL;
	EVP_KDF_CTX	*kctx = NULL;
	OSSL_PARAM	 params[5], *p = params;
	unsigned char	 key[CACHE_KEY_LEN];
	char		*info = NULL;
	size_t		 info_len;
	int		 rc = -1;

	if (material == NULL || material_len == 0 || tenant == NULL ||
	    purpose == NULL) {
		snprintf(errbuf, errlen, "no key material");
		return -1;
	}
	/* info: KDF_INFO NUL tenant NUL purpose */
	info_len = sizeof(KDF_INFO) + strlen(tenant) + 1 + strlen(purpose);
	info = xmalloc(info_len);
	memcpy(info, KDF_INFO, sizeof(KDF_INFO));
	memcpy(info + sizeof(KDF_INFO), tenant, strlen(tenant) + 1);
	memcpy(info + sizeof(KDF_INFO) + strlen(tenant) + 1, purpose, strlen(purpose));

	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL ||
	    (kctx = EVP_KDF_CTX_new(kdf)) == NULL) {
		snprintf(errbuf, errlen, "HKDF is not available");
		goto done;
	}
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)material, material_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)KDF_SALT, sizeof(KDF_SALT) - 1);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    info, info_len);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, key, sizeof(key), params) != 1) {
		snprintf(errbuf, errlen, "HKDF failed");
		goto done;
	}
	memcpy(ret_key, key, sizeof(key));
	rc = 0;
done:
	OPENSSL_cleanse(key, sizeof(key));
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	free(info);
	return rc;
}

static void
put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

char *
cache_key_material(const char *pkey, size_t pkey_len, const char *password,
    size_t *ret_len)
{
	size_t		 pw_len = password != NULL ? strlen(password) : 0;
	size_t		 len;
	char		*m;

	if (pkey_len > UINT32_MAX || pw_len > UINT32_MAX)
		return NULL;
	len = 4 + pkey_len + 4 + pw_len;
	m = xmalloc(len + 1);
	put_u32((unsigned char *)m, (uint32_t)pkey_len);
	if (pkey_len > 0)
		memcpy(m + 4, pkey, pkey_len);
	put_u32((unsigned char *)m + 4 + pkey_len, (uint32_t)pw_len);
	if (pw_len > 0)
		memcpy(m + 8 + pkey_len, password, pw_len);
	m[len] = '\0';
	*ret_len = len;
	return m;
}

int
cache_seal(const unsigned char key[CACHE_KEY_LEN], const void *aad, size_t aad_len,
    const void *plaintext, size_t len, unsigned char **ret_rec, size_t *ret_len,
    char *errbuf, size_t errlen)
{
	EVP_CIPHER_CTX	*ctx = NULL;
	unsigned char	*rec = NULL, *nonce, *ct;
	int		 n, rc = -1;

	if (len > INT32_MAX || aad_len > INT32_MAX ||
	    len > SIZE_MAX - CACHE_SEAL_OVERHEAD) {
		snprintf(errbuf, errlen, "too large to seal");
		return -1;
	}
	rec = xmalloc(CACHE_SEAL_OVERHEAD + len);
	rec[0] = CACHE_SEAL_VERSION;
	nonce = rec + 1;
	ct = nonce + CACHE_SEAL_NONCE_LEN;
	if (RAND_bytes(nonce, CACHE_SEAL_NONCE_LEN) != 1) {
		snprintf(errbuf, errlen, "no random nonce");
		goto done;
	}
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &n, plaintext, (int)len) != 1 ||
	    (size_t)n != len ||
	    EVP_EncryptFinal_ex(ctx, ct + len, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CACHE_SEAL_TAG_LEN,
	    ct + len) != 1) {
		snprintf(errbuf, errlen, "AES-256-GCM failed");
		goto done;
	}
	*ret_rec = rec;
	*ret_len = CACHE_SEAL_OVERHEAD + len;
	rec = NULL;
	rc = 0;
done:
	EVP_CIPHER_CTX_free(ctx);
	free(rec);
	return rc;
}

int
cache_open(const unsigned char key[CACHE_KEY_LEN], const void *aad, size_t aad_len,
    const void *rec, size_t rec_len, char **ret_plain, size_t *ret_len,
    char *errbuf, size_t errlen)
{
	const unsigned char	*r = rec, *nonce, *ct, *tag;
	EVP_CIPHER_CTX		*ctx = NULL;
	unsigned char		*pt = NULL;
	size_t			 len;
	int			 n, rc = -1;

	if (rec_len < CACHE_SEAL_OVERHEAD) {
		snprintf(errbuf, errlen, "truncated record (%zu bytes)", rec_len);
		return -1;
	}
	if (r[0] != CACHE_SEAL_VERSION) {
		snprintf(errbuf, errlen, "unknown record version %u", r[0]);
		return -1;
	}
	len = rec_len - CACHE_SEAL_OVERHEAD;
	if (len > INT32_MAX || aad_len > INT32_MAX) {
		snprintf(errbuf, errlen, "record too large");
		return -1;
	}
	nonce = r + 1;
	ct = nonce + CACHE_SEAL_NONCE_LEN;
	tag = ct + len;
	pt = xmalloc(len + 1);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1 ||
	    EVP_DecryptUpdate(ctx, pt, &n, ct, (int)len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CACHE_SEAL_TAG_LEN,
	    (void *)tag) != 1) {
		snprintf(errbuf, errlen, "AES-256-GCM failed");
		goto done;
	}
	if (EVP_DecryptFinal_ex(ctx, pt + len, &n) != 1) {
		snprintf(errbuf, errlen, "authentication failed (wrong key, "
		    "wrong tenant or a changed record)");
		goto done;
	}
	pt[len] = '\0';
	*ret_plain = (char *)pt;
	*ret_len = len;
	pt = NULL;
	rc = 0;
done:
	EVP_CIPHER_CTX_free(ctx);
	if (pt != NULL) {
		OPENSSL_cleanse(pt, len + 1);
		free(pt);
	}
	return rc;
}

/* prefix NUL a NUL b NUL c (b and c may be NULL: left out with their NUL) */
static char *
aad_join(const char *prefix, const char *a, const char *b, const char *c,
    size_t *ret_len)
{
	const char	*parts[4] = { prefix, a, b, c };
	size_t		 len = 0, off = 0;
	char		*buf;

	for (size_t i = 0; i < 4 && parts[i] != NULL; i++)
		len += strlen(parts[i]) + 1;
	buf = xmalloc(len);
	for (size_t i = 0; i < 4 && parts[i] != NULL; i++) {
		memcpy(buf + off, parts[i], strlen(parts[i]) + 1);
		off += strlen(parts[i]) + 1;
	}
	*ret_len = len;
	return buf;
}

char *
cache_entry_aad(const char *tenant, enum token_kind kind, const char *subject,
    size_t *ret_len)
{
	return aad_join(ENTRY_AAD, tenant,
	    kind == TOKEN_SERVICE ? "service" : "user", subject, ret_len);
}

char *
cache_file_aad(const char *tenant, size_t *ret_len)
{
	return aad_join(FILE_AAD, tenant, NULL, NULL, ret_len);
}

static void
put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint64_t
get_u64(const unsigned char *p)
{
	uint64_t	 v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static int64_t
time_ms(double t)
{
	if (!isfinite(t) || t < 0)
		return 0;
	if (t * 1000.0 >= (double)TIME_MS_MAX)
		return TIME_MS_MAX;
	return (int64_t)(t * 1000.0 + 0.5);
}

int
cache_record_encode(const struct cache_record *rec, struct secret_buf *out,
    size_t max)
{
	unsigned char	 hdr[3], len4[4], times[16];
	size_t		 slen, tlen;

	if (rec->subject == NULL || rec->token == NULL)
		return -1;
	slen = strlen(rec->subject);
	tlen = strlen(rec->token);
	if (slen == 0 || slen > CACHE_RECORD_SUBJECT_MAX || tlen == 0 ||
	    tlen > CACHE_RECORD_TOKEN_MAX ||
	    (rec->kind != TOKEN_USER && rec->kind != TOKEN_SERVICE))
		return -1;
	hdr[0] = rec->kind == TOKEN_SERVICE ? 1 : 0;
	hdr[1] = (unsigned char)(slen >> 8);
	hdr[2] = (unsigned char)slen;
	put_u32(len4, (uint32_t)tlen);
	put_u64(times, (uint64_t)time_ms(rec->obtained_at));
	put_u64(times + 8, (uint64_t)time_ms(rec->expires_at));
	if (out->len > max || 3 + slen + 4 + tlen + 16 > max - out->len)
		return -1;
	secret_buf_add(out, hdr, sizeof(hdr), max);
	secret_buf_add(out, rec->subject, slen, max);
	secret_buf_add(out, len4, sizeof(len4), max);
	secret_buf_add(out, rec->token, tlen, max);
	secret_buf_add(out, times, sizeof(times), max);
	return 0;
}

int
cache_record_decode(const char *buf, size_t len, size_t *off,
    struct cache_record *ret, const char **why)
{
	const unsigned char	*p = (const unsigned char *)buf;
	size_t			 o = *off, slen, tlen;
	uint64_t		 obt, exp;

	if (o > len || len - o < 3) {
		*why = "truncated entry";
		return -1;
	}
	if (p[o] > 1) {
		*why = "unknown token kind";
		return -1;
	}
	slen = ((size_t)p[o + 1] << 8) | p[o + 2];
	if (slen == 0 || slen > CACHE_RECORD_SUBJECT_MAX) {
		*why = "subject length out of bounds";
		return -1;
	}
	if (len - o - 3 < slen + 4) {
		*why = "truncated entry";
		return -1;
	}
	tlen = ((size_t)p[o + 3 + slen] << 24) | ((size_t)p[o + 4 + slen] << 16) |
	    ((size_t)p[o + 5 + slen] << 8) | p[o + 6 + slen];
	if (tlen == 0 || tlen > CACHE_RECORD_TOKEN_MAX) {
		*why = "token length out of bounds";
		return -1;
	}
	if (len - o - 7 - slen < tlen + 16) {
		*why = "truncated entry";
		return -1;
	}
	if (memchr(buf + o + 3, '\0', slen) != NULL ||
	    memchr(buf + o + 7 + slen, '\0', tlen) != NULL) {
		*why = "NUL inside a subject or token";
		return -1;
	}
	obt = get_u64(p + o + 7 + slen + tlen);
	exp = get_u64(p + o + 15 + slen + tlen);
	if (obt > (uint64_t)TIME_MS_MAX || exp > (uint64_t)TIME_MS_MAX || exp < obt) {
		*why = "times out of bounds";
		return -1;
	}
	ret->kind = p[o] == 1 ? TOKEN_SERVICE : TOKEN_USER;
	ret->subject = xstrndup(buf + o + 3, slen);
	ret->token = xstrndup(buf + o + 7 + slen, tlen);
	ret->obtained_at = (double)obt / 1000.0;
	ret->expires_at = (double)exp / 1000.0;
	*off = o + 23 + slen + tlen;
	return 0;
}

void
cache_record_clear(struct cache_record *rec)
{
	free(rec->subject);
	secret_free(rec->token);
	rec->subject = NULL;
	rec->token = NULL;
}
