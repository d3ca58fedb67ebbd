/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_seal.h - cached tokens as bytes that may leave the process: a key
 * per tenant and purpose derived from the tenant's signing key, sealed
 * records (AES-256-GCM) and the codec of one cached token.  Used by the
 * master for the persistent cache file (purpose "file") and by a shared
 * cache (purpose "redis").  No logging: errors come back as text.
 */
#ifndef CACHE_SEAL_H
#define CACHE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "samlbroker.h"

#define CACHE_KEY_LEN		32
#define CACHE_SEAL_VERSION	1
#define CACHE_SEAL_NONCE_LEN	12
#define CACHE_SEAL_TAG_LEN	16
/* version byte, nonce, tag */
#define CACHE_SEAL_OVERHEAD	(1 + CACHE_SEAL_NONCE_LEN + CACHE_SEAL_TAG_LEN)
#define CACHE_RECORD_SUBJECT_MAX	EMAIL_MAX_LEN
#define CACHE_RECORD_TOKEN_MAX		(64 * 1024)
/* The longest encoded record: kind, subject, token, two times. */
#define CACHE_RECORD_MAX	(1 + 2 + CACHE_RECORD_SUBJECT_MAX + 4 + \
				 CACHE_RECORD_TOKEN_MAX + 8 + 8)
#define CACHE_SEAL_PURPOSE_FILE		"file"
#define CACHE_SEAL_PURPOSE_REDIS	"redis"

/*
 * The 32-byte key of a tenant for a purpose: HKDF-SHA256 with the tenant's
 * key material as input (material: what cache_key_material built), a fixed
 * salt, and "samlbroker cache v1", the tenant and the purpose as info.  The
 * same tenant files give the same key on every broker; another signing key
 * or password gives another key.  0, or -1 with errbuf.
 */
int	 cache_key_derive(const void *material, size_t material_len,
	    const char *tenant, const char *purpose,
	    unsigned char ret_key[CACHE_KEY_LEN], char *errbuf, size_t errlen);
/*
 * The input of cache_key_derive: the [saml] pkey as the tenant file gives
 * it (the key file's bytes for file:PATH, else the value itself: base64 or
 * a pkcs11: URI) and the resolved password (or PIN), each length-prefixed.
 * Free with secret_free.
 */
char	*cache_key_material(const char *pkey, size_t pkey_len, const char *password,
	    size_t *ret_len);

/*
 * A record: version byte, random 96-bit nonce, ciphertext, 16-byte tag;
 * aad is authenticated, not stored.  *ret_rec is the caller's (free()).
 */
int	 cache_seal(const unsigned char key[CACHE_KEY_LEN], const void *aad,
	    size_t aad_len, const void *plaintext, size_t len,
	    unsigned char **ret_rec, size_t *ret_len, char *errbuf, size_t errlen);
/* Opens a record: the plaintext (free with secret_free; NUL-terminated past
 * ret_len), or -1 with errbuf for a wrong version, a wrong key or aad, or
 * any change to the record. */
int	 cache_open(const unsigned char key[CACHE_KEY_LEN], const void *aad,
	    size_t aad_len, const void *rec, size_t rec_len,
	    char **ret_plain, size_t *ret_len, char *errbuf, size_t errlen);
/*
 * The aad of one entry: "samlbroker cache entry" NUL tenant NUL kind NUL
 * subject, so that a record opens only under its own tenant and cache
 * key.  The file's aad (cache_file_aad) binds the tenant alone: every
 * entry of the file is inside it.  Both return a new buffer (free()).
 */
char	*cache_entry_aad(const char *tenant, enum token_kind, const char *subject,
	    size_t *ret_len);
char	*cache_file_aad(const char *tenant, size_t *ret_len);

/* One cached token. */
struct cache_record {
	enum token_kind	 kind;
	char		*subject;	/* NUL-terminated, no NUL inside */
	char		*token;		/* secret, NUL-terminated */
	double		 obtained_at;	/* wall clock, s (kept to the ms) */
	double		 expires_at;
};
/* Appends the record's bytes (kind u8, subject u16 + bytes, token u32 +
 * bytes, obtained_at and expires_at as int64 ms, big-endian) to out; -1
 * when a length is out of bounds or out would pass max. */
int	 cache_record_encode(const struct cache_record *, struct secret_buf *out,
	    size_t max);
/*
 * Parses one record at *off of buf (hostile bytes: every length checked,
 * subject and token without NUL, times finite and ordered): 0 with *off
 * past it and *ret filled (clear with cache_record_clear), or -1 with
 * *why and neither written.
 */
int	 cache_record_decode(const char *buf, size_t len, size_t *off,
	    struct cache_record *ret, const char **why);
void	 cache_record_clear(struct cache_record *);	/* wipes the token */

#endif /* CACHE_SEAL_H */
