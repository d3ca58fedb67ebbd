/*
 * test_keystore.c - loading a tenant's certificate and encrypted key from
 * the fixtures in tests/data/keys/: both field forms of the key, the three
 * ways base64 is pasted, every refusal with its exact error text, and the
 * secure heap.
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

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "samlbroker.h"

/*
 * Expected fingerprints, obtained once with
 *   openssl x509 -in tests/data/keys/vendor-pkcs8/cert.pem -noout -fingerprint -sha256
 * (and the same for vendor-traditional).
 */
#define FP_PKCS8 "BE:E0:C5:50:F4:CE:D2:B3:FC:A3:41:E7:5C:0F:84:20:" \
	"F4:F8:85:9F:71:3A:4E:D1:4D:7F:88:CE:B8:9A:AF:84"
#define FP_TRADITIONAL "72:D4:85:A6:27:29:74:94:AC:39:8E:62:E0:6E:53:EC:" \
	"5C:9C:98:45:B8:FF:44:D6:8C:71:E8:25:7B:45:E5:E7"
/* notBefore Nov 26 01:34:03 2026 GMT, notAfter Nov 25 01:34:03 2036 GMT
 * (openssl x509 -noout -dates; epochs from date -u -d ... +%s). */
#define VENDOR_NOT_BEFORE	1795656843.0
#define VENDOR_NOT_AFTER	2111189643.0

enum paste { PASTE_WRAPPED, PASTE_UNWRAPPED, PASTE_SPACED };

static char *
fixture_read(const char *dir, const char *file)
{
	const char	*top = getenv("top_srcdir");
	char		 path[4096], *buf;
	size_t		 len;

	snprintf(path, sizeof(path), "%s/tests/data/keys/%s/%s",
	    top != NULL ? top : ".", dir, file);
	if (read_file_limited(path, 1 << 20, &buf, &len) == -1)
		fail_msg("cannot read %s", path);
	return buf;
}

/* The base64 text as an operator may have pasted it. */
static char *
pasted(char *b64, enum paste how)
{
	char	*out = xmalloc(strlen(b64) + 8), *o = out;

	if (how == PASTE_SPACED) {
		strcpy(out, "  \t");
		o += 3;
	}
	for (const char *p = b64; *p != '\0'; p++) {
		if (how != PASTE_WRAPPED && *p == '\n')
			continue;
		*o++ = *p;
	}
	if (how == PASTE_SPACED)
		*o++ = ' ', *o++ = '\n';
	*o = '\0';
	free(b64);
	return out;
}

struct loaded {
	struct keystore	*ks;
	char		 err[256];
	char		*password;
	size_t		 password_len;
	char		*password_copy;	/* to look for in the error text */
};

static void
load_dir(const char *dir, enum paste how, struct loaded *l)
{
	char	*cert = pasted(fixture_read(dir, "cert.pem.b64"), how);
	char	*key = pasted(fixture_read(dir, "key.pem.enc.b64"), how);

	memset(l, 0, sizeof(*l));
	l->password = fixture_read(dir, "password");
	l->password_len = strlen(l->password);
	l->password_copy = xstrdup(l->password);
	assert_true(l->password_len > 0);
	strcpy(l->err, "untouched");
	l->ks = keystore_load(cert, key, l->password, l->err, sizeof(l->err));
	free(cert);
	free(key);
}

static void
assert_wiped(const struct loaded *l)
{
	for (size_t i = 0; i < l->password_len; i++)
		assert_int_equal(l->password[i], 0);
}

static void
loaded_clear(struct loaded *l)
{
	keystore_free(l->ks);
	free(l->password);
	free(l->password_copy);
}

static void
check_vendor(const char *dir, const char *subject, const char *fp, enum paste how)
{
	struct loaded	 l;
	char		*pem = fixture_read(dir, "cert.pem");
	EVP_PKEY	*pkey;

	load_dir(dir, how, &l);
	if (l.ks == NULL)
		fail_msg("%s: %s", dir, l.err);
	assert_wiped(&l);
	assert_string_equal(keystore_subject(l.ks), subject);
	assert_true(keystore_not_before(l.ks) == VENDOR_NOT_BEFORE);
	assert_true(keystore_not_after(l.ks) == VENDOR_NOT_AFTER);
	assert_string_equal(keystore_fingerprint(l.ks), fp);
	assert_string_equal(keystore_cert_pem(l.ks), pem);
	pkey = keystore_pkey(l.ks);
	assert_non_null(pkey);
	assert_true(EVP_PKEY_is_a(pkey, "RSA"));
	assert_int_equal(EVP_PKEY_get_bits(pkey), 2048);
	assert_int_equal(EVP_PKEY_eq(pkey, X509_get0_pubkey(keystore_cert(l.ks))), 1);
	assert_int_equal(ERR_peek_error(), 0);
	free(pem);
	loaded_clear(&l);
}

#define SUBJ(name) "CN = samlbroker test fixture " name ", O = Example Contact Centre"

static void
test_pkcs8_wrapped(void **state)
{
	check_vendor("vendor-pkcs8", SUBJ("vendor-pkcs8"), FP_PKCS8, PASTE_WRAPPED);
}

static void
test_pkcs8_unwrapped(void **state)
{
	check_vendor("vendor-pkcs8", SUBJ("vendor-pkcs8"), FP_PKCS8, PASTE_UNWRAPPED);
}

static void
test_pkcs8_spaced(void **state)
{
	check_vendor("vendor-pkcs8", SUBJ("vendor-pkcs8"), FP_PKCS8, PASTE_SPACED);
}

static void
test_traditional_wrapped(void **state)
{
	check_vendor("vendor-traditional", SUBJ("vendor-traditional"),
	    FP_TRADITIONAL, PASTE_WRAPPED);
}

static void
test_traditional_unwrapped(void **state)
{
	check_vendor("vendor-traditional", SUBJ("vendor-traditional"),
	    FP_TRADITIONAL, PASTE_UNWRAPPED);
}

static void
test_traditional_spaced(void **state)
{
	check_vendor("vendor-traditional", SUBJ("vendor-traditional"),
	    FP_TRADITIONAL, PASTE_SPACED);
}

/* One refusal: NULL, the exact text, no password in it, password wiped. */
static void
check_refused_with(const char *dir, enum paste how, const char *expected)
{
	struct loaded	 l;

	load_dir(dir, how, &l);
	assert_null(l.ks);
	assert_string_equal(l.err, expected);
	assert_null(strstr(l.err, l.password_copy));
	assert_wiped(&l);
	assert_int_equal(ERR_peek_error(), 0);
	loaded_clear(&l);
}

static void
check_refused(const char *dir, const char *expected)
{
	check_refused_with(dir, PASTE_WRAPPED, expected);
	check_refused_with(dir, PASTE_UNWRAPPED, expected);
}

static void
test_bad_wrong_password(void **state)
{
	check_refused("bad-wrong-password", "password: wrong password for pkey");
}

static void
test_bad_wrong_password_traditional(void **state)
{
	char	*cert = fixture_read("vendor-traditional", "cert.pem.b64");
	char	*key = fixture_read("vendor-traditional", "key.pem.enc.b64");
	char	 pw[] = "not-the-password-of-this-key", err[256];

	assert_null(keystore_load(cert, key, pw, err, sizeof(err)));
	assert_string_equal(err, "password: wrong password for pkey");
	assert_int_equal(pw[0], 0);
	assert_int_equal(pw[sizeof(pw) - 2], 0);
	free(cert);
	free(key);
}

static void
test_bad_empty_password(void **state)
{
	char	*cert = fixture_read("vendor-pkcs8", "cert.pem.b64");
	char	*key = fixture_read("vendor-pkcs8", "key.pem.enc.b64");
	char	 pw[] = "", err[256];

	assert_null(keystore_load(cert, key, pw, err, sizeof(err)));
	assert_string_equal(err, "password: wrong password for pkey");
	free(cert);
	free(key);
}

static void
test_bad_key_base64(void **state)
{
	check_refused("bad-key-base64", "pkey: not valid base64");
}

static void
test_bad_cert_base64(void **state)
{
	check_refused("bad-cert-base64", "certificate: not valid base64");
}

static void
test_bad_truncated_key(void **state)
{
	check_refused("bad-truncated-key", "pkey: no PEM private key found (truncated?)");
}

static void
test_bad_truncated_cert(void **state)
{
	check_refused("bad-truncated-cert",
	    "certificate: no PEM certificate found (truncated or not a certificate)");
}

static void
test_bad_mismatch(void **state)
{
	check_refused("bad-mismatch", "pkey: key does not match the certificate");
}

static void
test_bad_ec_key(void **state)
{
	check_refused("bad-ec-key", "pkey: key is not RSA (EC)");
}

static void
test_bad_rsa_1024(void **state)
{
	check_refused("bad-rsa-1024",
	    "pkey: RSA key has 1024 bits; at least 2048 are required");
}

static void
test_bad_unencrypted(void **state)
{
	check_refused("bad-unencrypted", "pkey: key is not encrypted; encrypt it "
	    "(openssl rsa -aes256) or use samlbroker keygen");
}

/* Dates are the configuration's business: these load, with their dates. */
static void
check_dated(const char *dir, double not_before, double not_after)
{
	struct loaded	 l;

	load_dir(dir, PASTE_UNWRAPPED, &l);
	if (l.ks == NULL)
		fail_msg("%s: %s", dir, l.err);
	assert_wiped(&l);
	assert_true(keystore_not_before(l.ks) == not_before);
	assert_true(keystore_not_after(l.ks) == not_after);
	loaded_clear(&l);
}

static void
test_expired_loads(void **state)
{
	/* 2020-01-01T00:00:00Z .. 2021-01-01T00:00:00Z */
	check_dated("bad-expired", 1577836800.0, 1609459200.0);
}

static void
test_not_yet_valid_loads(void **state)
{
	/* 2090-01-01T00:00:00Z .. 2091-01-01T00:00:00Z */
	check_dated("bad-not-yet-valid", 3786912000.0, 3818448000.0);
}

/* PEM text pasted where base64 of it belongs gets a hint. */
static void
test_pem_instead_of_base64(void **state)
{
	char	*cert = fixture_read("vendor-pkcs8", "cert.pem");
	char	*cert_b64 = fixture_read("vendor-pkcs8", "cert.pem.b64");
	char	*key = fixture_read("vendor-pkcs8", "key.pem.enc");
	char	 pw[] = "fixture-password-vendor-pkcs8", err[256];

	assert_null(keystore_load(cert, key, pw, err, sizeof(err)));
	assert_string_equal(err, "certificate: not valid base64 (this is PEM text; "
	    "the option wants base64 of the PEM file, as made by openssl base64)");
	assert_int_equal(pw[0], 0);
	strcpy(pw, "fixture-password-vendor-pkcs8");
	assert_null(keystore_load(cert_b64, key, pw, err, sizeof(err)));
	assert_string_equal(err, "pkey: not valid base64 (this is PEM text; "
	    "the option wants base64 of the PEM file, as made by openssl base64)");
	free(cert);
	free(cert_b64);
	free(key);
}

/* Values swapped, and empty values. */
static void
test_swapped_and_empty(void **state)
{
	char	*cert = fixture_read("vendor-pkcs8", "cert.pem.b64");
	char	*key = fixture_read("vendor-pkcs8", "key.pem.enc.b64");
	char	 pw[] = "fixture-password-vendor-pkcs8", err[256];

	assert_null(keystore_load(key, cert, pw, err, sizeof(err)));
	assert_string_equal(err,
	    "certificate: no PEM certificate found (truncated or not a certificate)");
	strcpy(pw, "fixture-password-vendor-pkcs8");
	assert_null(keystore_load(cert, cert, pw, err, sizeof(err)));
	assert_string_equal(err, "pkey: no PEM private key found (truncated?)");
	strcpy(pw, "fixture-password-vendor-pkcs8");
	assert_null(keystore_load("", key, pw, err, sizeof(err)));
	assert_string_equal(err, "certificate: not valid base64");
	strcpy(pw, "fixture-password-vendor-pkcs8");
	assert_null(keystore_load(cert, "  ", pw, err, sizeof(err)));
	assert_string_equal(err, "pkey: not valid base64");
	assert_int_equal(pw[0], 0);
	assert_int_equal(ERR_peek_error(), 0);
	free(cert);
	free(key);
}

/* A short error buffer truncates, it does not overflow. */
static void
test_short_errbuf(void **state)
{
	char	 pw[] = "x", err[8];

	memset(err, 'Z', sizeof(err));
	assert_null(keystore_load("", "", pw, err, sizeof(err)));
	assert_string_equal(err, "certifi");
}

/* Private key numbers live in the secure heap, and leave it on free. */
static void
test_secure_heap(void **state)
{
	struct loaded	 l;
	size_t		 before;

	assert_int_equal(keystore_secure_heap_active(), 1);
	assert_int_equal(CRYPTO_secure_malloc_initialized(), 1);
	before = CRYPTO_secure_used();
	load_dir("vendor-pkcs8", PASTE_WRAPPED, &l);
	assert_non_null(l.ks);
	assert_true(CRYPTO_secure_used() > before);
	loaded_clear(&l);
	assert_int_equal(CRYPTO_secure_used(), before);
	/* A second init is harmless. */
	assert_int_equal(keystore_global_init(), 0);
	assert_int_equal(keystore_secure_heap_active(), 1);
}

static void
test_free_null(void **state)
{
	keystore_free(NULL);
}

static int
group_setup(void **state)
{
	return keystore_global_init();
}

static int
group_teardown(void **state)
{
	keystore_global_shutdown();
	/* Every key was freed, so the heap is released. */
	return keystore_secure_heap_active() == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkcs8_wrapped),
		cmocka_unit_test(test_pkcs8_unwrapped),
		cmocka_unit_test(test_pkcs8_spaced),
		cmocka_unit_test(test_traditional_wrapped),
		cmocka_unit_test(test_traditional_unwrapped),
		cmocka_unit_test(test_traditional_spaced),
		cmocka_unit_test(test_bad_wrong_password),
		cmocka_unit_test(test_bad_wrong_password_traditional),
		cmocka_unit_test(test_bad_empty_password),
		cmocka_unit_test(test_bad_key_base64),
		cmocka_unit_test(test_bad_cert_base64),
		cmocka_unit_test(test_bad_truncated_key),
		cmocka_unit_test(test_bad_truncated_cert),
		cmocka_unit_test(test_bad_mismatch),
		cmocka_unit_test(test_bad_ec_key),
		cmocka_unit_test(test_bad_rsa_1024),
		cmocka_unit_test(test_bad_unencrypted),
		cmocka_unit_test(test_expired_loads),
		cmocka_unit_test(test_not_yet_valid_loads),
		cmocka_unit_test(test_pem_instead_of_base64),
		cmocka_unit_test(test_swapped_and_empty),
		cmocka_unit_test(test_short_errbuf),
		cmocka_unit_test(test_secure_heap),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
