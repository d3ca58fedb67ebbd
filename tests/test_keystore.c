/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_keystore.c - loading a tenant's certificate and encrypted key from
 * the fixtures in tests/data/keys/: both field forms of the key, the three
 * ways base64 is pasted, every refusal with its exact error text, the
 * secure heap, and no copy of the password left in the process's memory.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
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
test_bad_corrupt_key(void **state)
{
	check_refused("bad-corrupt-key", "pkey: cannot decode the decrypted key "
	    "(corrupt key data, or a wrong password)");
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

/*
 * The vendor-pkcs8 key with its public numbers intact but d and the first
 * CRT exponent changed: it matches the certificate, yet signs wrongly.
 * Returned as base64 of the encrypted PEM, like an option value.
 */
static char *
corrupt_private_numbers(const char *password)
{
	static const char *const names[] = {
		OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	BIGNUM		*bn[8] = { NULL };
	char		*pem = fixture_read("vendor-pkcs8", "key.pem.enc"), *data, *b64;
	BIO		*in, *out;
	EVP_PKEY	*key, *bad = NULL;
	EVP_PKEY_CTX	*ctx;
	OSSL_PARAM_BLD	*bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM	*params;
	long		 len;

	in = BIO_new_mem_buf(pem, -1);
	key = PEM_read_bio_PrivateKey_ex(in, NULL, NULL, (void *)password, NULL, NULL);
	assert_non_null(key);
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(EVP_PKEY_get_bn_param(key, names[i], &bn[i]), 1);
		if (i == 2 || i == 5)
			assert_int_equal(BN_add_word(bn[i], 2), 1);
		assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]), 1);
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &bad, EVP_PKEY_KEYPAIR, params), 1);
	out = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(out, bad, EVP_aes_256_cbc(),
	    password, (int)strlen(password), NULL, NULL), 1);
	len = BIO_get_mem_data(out, &data);
	b64 = base64_encode((unsigned char *)data, (size_t)len, 1);
	BIO_free(out);
	BIO_free(in);
	EVP_PKEY_free(bad);
	EVP_PKEY_free(key);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	for (size_t i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	free(pem);
	return b64;
}

static void
test_bad_private_numbers(void **state)
{
	char	*cert = fixture_read("vendor-pkcs8", "cert.pem.b64");
	char	*key = corrupt_private_numbers("fixture-password-vendor-pkcs8");
	char	 pw[] = "fixture-password-vendor-pkcs8", err[256];

	assert_null(keystore_load(cert, key, pw, err, sizeof(err)));
	assert_string_equal(err, "pkey: the key's private numbers are corrupt "
	    "(its signatures do not verify with the certificate)");
	assert_int_equal(pw[0], 0);
	assert_int_equal(ERR_peek_error(), 0);
	free(cert);
	free(key);
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
	/* The first signature sets up OpenSSL's random generator, which
	 * keeps its state in the secure heap until exit: do that first. */
	load_dir("vendor-pkcs8", PASTE_WRAPPED, &l);
	assert_non_null(l.ks);
	loaded_clear(&l);
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

/*
 * The key password leaves no copy anywhere in the process (stack, heap,
 * secure heap) after loads of both key formats.  OpenSSL leaves copies on
 * the stack (see stack_wipe in keystore.c) that only some CPUs' code paths
 * overwrite afterwards, so the probe runs in a child started with
 * OPENSSL_ia32cap=0:0 (and OPENSSL_armcap=0): OpenSSL's plain C code, the
 * same on every machine, on which the copies survive without the wipe.
 * The child reads its own memory through /proc/self/mem and looks for the
 * passwords XORed, so the needle itself is never in memory in the clear.
 */
#define PROBE_XOR	0x5a
#define PROBE_MAX_REGION ((unsigned long)1 << 30)	/* sanitizer shadow */

static const char	*self_path;

struct needle {
	const char	*dir;
	unsigned char	 x[256];
	size_t		 len;
};

/*
 * Places in this process's writable memory holding the needle, printed;
 * their count.  (Read-only mappings are the programs' own text: this
 * file's tests have the pkcs8 password as a literal.)
 */
static int
probe_scan(const struct needle *n, const char *when)
{
	static unsigned char	 buf[1 << 20];
	FILE			*maps;
	char			 line[512];
	int			 fd, found = 0;

	if ((maps = fopen("/proc/self/maps", "r")) == NULL ||
	    (fd = open("/proc/self/mem", O_RDONLY)) == -1)
		fail_msg("cannot read /proc/self/maps or mem");
	while (fgets(line, sizeof(line), maps) != NULL) {
		unsigned long	 lo, hi, a;
		char		 perm[8], path[256] = "anonymous";

		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &lo, &hi, perm,
		    path) < 3 || strncmp(perm, "rw", 2) != 0 ||
		    strcmp(path, "[vvar]") == 0 ||
		    hi - lo > PROBE_MAX_REGION)
			continue;
		/* Overlapping reads so that a needle across two is seen. */
		for (a = lo; a < hi; a += sizeof(buf) - n->len) {
			size_t	 want = hi - a < sizeof(buf) ? hi - a : sizeof(buf);
			ssize_t	 r = pread(fd, buf, want, (off_t)a);

			for (ssize_t i = 0; r > 0 && i + (ssize_t)n->len <= r; i++) {
				size_t k = 0;

				while (k < n->len && (buf[i + k] ^ PROBE_XOR) == n->x[k])
					k++;
				if (k == n->len) {
					printf("# %s: the %s password at %#lx in %s\n", when,
					    n->dir, a + (unsigned long)i, path);
					found++;
				}
			}
			if (r <= 0 || want < sizeof(buf))
				break;
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	fclose(maps);
	return found;
}

/* The child: 0 when the scan finds a planted copy, and none after loads. */
static int
probe_main(void)
{
	static const char	*dirs[] = { "vendor-pkcs8", "vendor-traditional" };
	struct needle		 n[2];
	int			 found = 0;

	if (keystore_global_init() == -1)
		return 2;
	for (size_t i = 0; i < 2; i++) {
		char *pw = fixture_read(dirs[i], "password");

		n[i].dir = dirs[i];
		n[i].len = strlen(pw);
		if (n[i].len == 0 || n[i].len > sizeof(n[i].x))
			return 2;
		for (size_t k = 0; k < n[i].len; k++)
			n[i].x[k] = (unsigned char)pw[k] ^ PROBE_XOR;
		/* The scan sees a copy that is there (the clear password read). */
		if (probe_scan(&n[i], "planted") == 0) {
			printf("# the scan does not find a planted %s password\n", dirs[i]);
			return 1;
		}
		OPENSSL_cleanse(pw, n[i].len);
		free(pw);
	}
	/* Each format several times, alternating, as reloads would. */
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < 2; i++) {
			struct loaded l;

			load_dir(dirs[i], PASTE_WRAPPED, &l);
			if (l.ks == NULL) {
				printf("# %s: %s\n", dirs[i], l.err);
				return 2;
			}
			OPENSSL_cleanse(l.password_copy, l.password_len);
			loaded_clear(&l);
		}
	}
	for (size_t i = 0; i < 2; i++)
		found += probe_scan(&n[i], "after six loads");
	return found == 0 ? 0 : 1;
}

static void
test_password_wiped(void **state)
{
	pid_t	 pid;
	int	 status;

	fflush(stdout);
	if ((pid = fork()) == -1)
		fail_msg("fork");
	if (pid == 0) {
		setenv("OPENSSL_ia32cap", "0:0", 1);
		setenv("OPENSSL_armcap", "0", 1);
		execl(self_path, self_path, "--password-probe", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int
group_setup(void **state)
{
	return keystore_global_init();
}


int
main(int argc, char **argv)
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
		cmocka_unit_test(test_bad_corrupt_key),
		cmocka_unit_test(test_bad_mismatch),
		cmocka_unit_test(test_bad_ec_key),
		cmocka_unit_test(test_bad_rsa_1024),
		cmocka_unit_test(test_bad_unencrypted),
		cmocka_unit_test(test_bad_private_numbers),
		cmocka_unit_test(test_expired_loads),
		cmocka_unit_test(test_not_yet_valid_loads),
		cmocka_unit_test(test_pem_instead_of_base64),
		cmocka_unit_test(test_swapped_and_empty),
		cmocka_unit_test(test_short_errbuf),
		cmocka_unit_test(test_secure_heap),
		cmocka_unit_test(test_free_null),
		cmocka_unit_test(test_password_wiped),
	};

	self_path = argv[0];
	if (argc == 2 && strcmp(argv[1], "--password-probe") == 0)
		return probe_main();

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
