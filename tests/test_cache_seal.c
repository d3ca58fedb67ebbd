/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_cache_seal.c - cache_seal.c: the derived key, sealed records (round
 * trip, wrong key, wrong tenant, any flipped bit, truncation) and the
 * strict codec of one cached token (oversized and truncated lengths).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cache_seal.h"

static void
derive(const char *pkey, const char *pw, const char *tenant, const char *purpose,
    unsigned char key[CACHE_KEY_LEN])
{
	char		 err[128];
	size_t		 len;
	char		*m = cache_key_material(pkey, strlen(pkey), pw, &len);

	assert_non_null(m);
	assert_int_equal(cache_key_derive(m, len, tenant, purpose, key, err,
	    sizeof(err)), 0);
	secret_free(m);
}

static void
test_key_derive(void **state)
{
	unsigned char	 a[CACHE_KEY_LEN], b[CACHE_KEY_LEN], c[CACHE_KEY_LEN];
	char		 err[128];

	(void)state;
	derive("KEYBYTES", "pw", "acme", "file", a);
	derive("KEYBYTES", "pw", "acme", "file", b);
	assert_memory_equal(a, b, sizeof(a));	/* same files, same key */
	derive("KEYBYTES", "pw", "acme", "redis", c);
	assert_memory_not_equal(a, c, sizeof(a));
	derive("KEYBYTES", "pw", "other", "file", c);
	assert_memory_not_equal(a, c, sizeof(a));
	derive("KEYBYTES", "pw2", "acme", "file", c);
	assert_memory_not_equal(a, c, sizeof(a));
	derive("KEYBYTE", "Spw", "acme", "file", c);	/* length-prefixed */
	assert_memory_not_equal(a, c, sizeof(a));
	assert_int_equal(cache_key_derive(NULL, 0, "acme", "file", c, err,
	    sizeof(err)), -1);
}

static void
test_seal_round_trip(void **state)
{
	unsigned char	 key[CACHE_KEY_LEN], other[CACHE_KEY_LEN], *rec, *rec2;
	char		 err[128], *pt, *aad, *aad2;
	size_t		 rlen, rlen2, plen, alen, alen2;
	const char	*msg = "a token and its times";

	(void)state;
	derive("K", "p", "acme", "file", key);
	derive("K", "q", "acme", "file", other);
	aad = cache_entry_aad("acme", TOKEN_USER, "a@example.com", &alen);
	assert_int_equal(cache_seal(key, aad, alen, msg, strlen(msg), &rec, &rlen,
	    err, sizeof(err)), 0);
	assert_int_equal(rlen, strlen(msg) + CACHE_SEAL_OVERHEAD);
	assert_int_equal(rec[0], CACHE_SEAL_VERSION);
	assert_null(memmem(rec, rlen, "token", 5));	/* encrypted */
	assert_int_equal(cache_open(key, aad, alen, rec, rlen, &pt, &plen, err,
	    sizeof(err)), 0);
	assert_int_equal(plen, strlen(msg));
	assert_string_equal(pt, msg);
	secret_free(pt);

	/* Two seals of the same bytes differ (random nonce). */
	assert_int_equal(cache_seal(key, aad, alen, msg, strlen(msg), &rec2, &rlen2,
	    err, sizeof(err)), 0);
	assert_memory_not_equal(rec, rec2, rlen);
	free(rec2);

	/* The wrong key. */
	pt = NULL;
	assert_int_equal(cache_open(other, aad, alen, rec, rlen, &pt, &plen, err,
	    sizeof(err)), -1);
	assert_null(pt);
	assert_non_null(strstr(err, "authentication failed"));

	/* Another tenant's, another agent's, another kind's aad. */
	aad2 = cache_entry_aad("acme2", TOKEN_USER, "a@example.com", &alen2);
	assert_int_equal(cache_open(key, aad2, alen2, rec, rlen, &pt, &plen, err,
	    sizeof(err)), -1);
	free(aad2);
	aad2 = cache_entry_aad("acme", TOKEN_USER, "b@example.com", &alen2);
	assert_int_equal(cache_open(key, aad2, alen2, rec, rlen, &pt, &plen, err,
	    sizeof(err)), -1);
	free(aad2);
	aad2 = cache_entry_aad("acme", TOKEN_SERVICE, "a@example.com", &alen2);
	assert_int_equal(cache_open(key, aad2, alen2, rec, rlen, &pt, &plen, err,
	    sizeof(err)), -1);
	free(aad2);
	aad2 = cache_file_aad("acme", &alen2);
	assert_int_equal(cache_open(key, aad2, alen2, rec, rlen, &pt, &plen, err,
	    sizeof(err)), -1);
	free(aad2);

	/* Every flipped bit, and every truncation. */
	for (size_t i = 0; i < rlen * 8; i++) {
		rec[i / 8] ^= (unsigned char)(1u << (i % 8));
		assert_int_equal(cache_open(key, aad, alen, rec, rlen, &pt, &plen,
		    err, sizeof(err)), -1);
		rec[i / 8] ^= (unsigned char)(1u << (i % 8));
	}
	for (size_t n = 0; n < rlen; n++)
		assert_int_equal(cache_open(key, aad, alen, rec, n, &pt, &plen,
		    err, sizeof(err)), -1);
	assert_null(pt);
	free(aad);
	free(rec);
}

static void
test_seal_empty(void **state)
{
	unsigned char	 key[CACHE_KEY_LEN], *rec;
	char		 err[128], *pt, *aad;
	size_t		 rlen, plen, alen;

	(void)state;
	derive("K", "p", "acme", "file", key);
	aad = cache_file_aad("acme", &alen);
	assert_int_equal(cache_seal(key, aad, alen, "", 0, &rec, &rlen, err,
	    sizeof(err)), 0);
	assert_int_equal(cache_open(key, aad, alen, rec, rlen, &pt, &plen, err,
	    sizeof(err)), 0);
	assert_int_equal(plen, 0);
	secret_free(pt);
	rec[0] = 2;	/* a version this build does not know */
	assert_int_equal(cache_open(key, aad, alen, rec, rlen, &pt, &plen, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "version"));
	free(rec);
	free(aad);
}

static void
test_record_round_trip(void **state)
{
	char			 s1[] = "agent@example.com", t1[] = "tok-1";
	char			 s2[] = "reporting", t2[] = "tok-2";
	struct cache_record	 a = { TOKEN_USER, s1, t1, 1700000000.123,
				    1700086400.5 };
	struct cache_record	 b = { TOKEN_SERVICE, s2, t2, 1700000001.0,
				    1700000001.0 };
	struct cache_record	 r;
	struct secret_buf	 buf = { 0 };
	const char		*why = NULL;
	size_t			 off = 0;

	(void)state;
	assert_int_equal(cache_record_encode(&a, &buf, SIZE_MAX), 0);
	assert_int_equal(cache_record_encode(&b, &buf, SIZE_MAX), 0);
	assert_int_equal(cache_record_decode(buf.data, buf.len, &off, &r, &why), 0);
	assert_int_equal(r.kind, TOKEN_USER);
	assert_string_equal(r.subject, "agent@example.com");
	assert_string_equal(r.token, "tok-1");
	assert_true(r.obtained_at == 1700000000.123);
	assert_true(r.expires_at == 1700086400.5);
	cache_record_clear(&r);
	assert_int_equal(cache_record_decode(buf.data, buf.len, &off, &r, &why), 0);
	assert_int_equal(r.kind, TOKEN_SERVICE);
	assert_string_equal(r.subject, "reporting");
	cache_record_clear(&r);
	assert_int_equal(off, buf.len);
	assert_int_equal(cache_record_decode(buf.data, buf.len, &off, &r, &why), -1);
	assert_string_equal(why, "truncated entry");

	/* Every truncation of the first record fails, and moves nothing. */
	for (size_t n = 0; n < 3 + 17 + 4 + 5 + 16; n++) {
		off = 0;
		why = NULL;
		assert_int_equal(cache_record_decode(buf.data, n, &off, &r, &why), -1);
		assert_non_null(why);
		assert_int_equal(off, 0);
	}
	/* A bound on the output. */
	secret_buf_clear(&buf);
	assert_int_equal(cache_record_encode(&a, &buf, 10), -1);
	assert_int_equal(buf.len, 0);
	secret_buf_clear(&buf);
}

static void
bad(const unsigned char *p, size_t len, const char *want)
{
	struct cache_record	 r = { 0 };
	const char		*why = NULL;
	size_t			 off = 0;

	assert_int_equal(cache_record_decode((const char *)p, len, &off, &r, &why), -1);
	assert_string_equal(why, want);
	assert_null(r.subject);
	assert_null(r.token);
}

static void
test_record_hostile(void **state)
{
	/* kind 0, subject "ab", token "t", times 1 and 2 ms */
	unsigned char	 ok[] = { 0, 0, 2, 'a', 'b', 0, 0, 0, 1, 't',
			     0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2 };
	unsigned char	 p[sizeof(ok)];
	struct cache_record	 r;
	char		 sa[] = "a", st[] = "t", empty[] = "";
	struct cache_record	 big = { TOKEN_USER, sa, NULL, 0, 0 };
	struct secret_buf	 buf = { 0 };
	const char	*why;
	size_t		 off = 0;

	(void)state;
	assert_int_equal(cache_record_decode((const char *)ok, sizeof(ok), &off, &r,
	    &why), 0);
	assert_int_equal(off, sizeof(ok));
	cache_record_clear(&r);

	memcpy(p, ok, sizeof(p)); p[0] = 2;
	bad(p, sizeof(p), "unknown token kind");
	memcpy(p, ok, sizeof(p)); p[1] = 0xff; p[2] = 0xff;
	bad(p, sizeof(p), "subject length out of bounds");
	memcpy(p, ok, sizeof(p)); p[1] = 0; p[2] = 0;
	bad(p, sizeof(p), "subject length out of bounds");
	memcpy(p, ok, sizeof(p)); p[2] = 200;	/* within bounds, past the end */
	bad(p, sizeof(p), "truncated entry");
	memcpy(p, ok, sizeof(p)); p[5] = 0xff; p[6] = 0xff; p[7] = 0xff; p[8] = 0xff;
	bad(p, sizeof(p), "token length out of bounds");
	memcpy(p, ok, sizeof(p)); p[8] = 0;
	bad(p, sizeof(p), "token length out of bounds");
	memcpy(p, ok, sizeof(p)); p[8] = 100;
	bad(p, sizeof(p), "truncated entry");
	memcpy(p, ok, sizeof(p)); p[4] = 0;
	bad(p, sizeof(p), "NUL inside a subject or token");
	memcpy(p, ok, sizeof(p)); p[10] = 0xff;	/* obtained_at huge */
	bad(p, sizeof(p), "times out of bounds");
	memcpy(p, ok, sizeof(p)); p[17] = 3;	/* expires before obtained */
	bad(p, sizeof(p), "times out of bounds");

	/* The encoder refuses what the decoder would. */
	big.token = xmalloc(CACHE_RECORD_TOKEN_MAX + 2);
	memset(big.token, 'x', CACHE_RECORD_TOKEN_MAX + 1);
	big.token[CACHE_RECORD_TOKEN_MAX + 1] = '\0';
	assert_int_equal(cache_record_encode(&big, &buf, SIZE_MAX), -1);
	big.token[CACHE_RECORD_TOKEN_MAX] = '\0';
	assert_int_equal(cache_record_encode(&big, &buf, SIZE_MAX), 0);
	assert_true(buf.len <= CACHE_RECORD_MAX);
	off = 0;
	assert_int_equal(cache_record_decode(buf.data, buf.len, &off, &r, &why), 0);
	cache_record_clear(&r);
	free(big.token);
	secret_buf_clear(&buf);
	big.token = st;
	big.subject = empty;
	assert_int_equal(cache_record_encode(&big, &buf, SIZE_MAX), -1);
	big.kind = (enum token_kind)7;
	big.subject = sa;
	assert_int_equal(cache_record_encode(&big, &buf, SIZE_MAX), -1);
	secret_buf_clear(&buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_derive),
		cmocka_unit_test(test_seal_round_trip),
		cmocka_unit_test(test_seal_empty),
		cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_record_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
