/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_keygen.c - keygen.c through `samlbroker keygen`'s entry point:
 * argument errors (exit 2) and their words, the password's sources and
 * checks, --subject parsing and its errors, the five files and their
 * modes, --force, and the key read back with its password.
 *
 * stdout and stderr go to temporary files (dup2) while keygen runs.  Two
 * runs make a key (2048 bits, the smallest allowed); the rest stop first.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "commands.h"
#include "samlbroker.h"
#include "cmd_capture.h"

#define PASSWORD	"correct horse battery"

static char	 dir[64], pwfile[128], out[128];
static char	 got_out[65536], got_err[8192];

/* Runs keygen with argv (NULL-terminated), keeping what it printed. */
static int
run(const char *first, ...)
{
	const char	*argv[32] = { "keygen", first };
	va_list		 ap;
	int		 argc = 1;

	va_start(ap, first);
	for (const char *a = first; a != NULL; a = va_arg(ap, const char *))
		argv[argc++] = a;
	va_end(ap);
	return cmd_capture(cmd_keygen, argc, (char **)argv, got_out, sizeof(got_out),
	    got_err, sizeof(got_err));
}

static void
expect(int rc, const char *words)
{
	if (strstr(got_err, words) == NULL)
		fail_msg("stderr lacks '%s': %s", words, got_err);
	(void)rc;
}

static void
write_text(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0600);
}

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_keygen.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(pwfile, sizeof(pwfile), "%s/pw", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	write_text(pwfile, PASSWORD "\n");
	unsetenv("SAMLBROKER_KEY_PASSWORD");
	return 0;
}

static int
teardown(void **state)
{
	char	 cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_usage_errors(void **state)
{
	static const struct {
		const char	*a[6];
		const char	*words;
	} cases[] = {
		{ { "--issuer", "urn:x", NULL }, "--out and --issuer are required" },
		{ { "--out", "/tmp/x", NULL }, "--out and --issuer are required" },
		{ { "--out", "", "--issuer", "urn:x", NULL }, "--out is empty" },
		{ { "--out", "d", "--issuer", "no scheme", NULL }, "--issuer must be a URI" },
		{ { "--out", "d", "--issuer", "urn:", NULL }, "--issuer must be a URI" },
		{ { "--out", "d", "--issuer", "urn:a b", NULL }, "--issuer must be a URI" },
		{ { "--out", "d", "--issuer", "urn:x", NULL }, "no password" },
		{ { "--days", "0", NULL }, "--days must be 1 to 36500" },
		{ { "--days", "36501", NULL }, "--days must be 1 to 36500" },
		{ { "--days", "7x", NULL }, "--days must be" },
		{ { "--bits", "1024", NULL }, "--bits must be 2048 to 8192" },
		{ { "--bits", "8193", NULL }, "--bits must be 2048 to 8192" },
		{ { "--out", "d", "extra", NULL }, "unexpected argument 'extra'" },
		{ { "--password", "hunter22", NULL }, "password is never given on the command line" },
		{ { "--passw=hunter22", NULL }, "unknown option '--passw'" },
		{ { "--bogus", NULL }, "usage: samlbroker keygen" },
		/* -s is --socket in token and status: keygen refuses it by name. */
		{ { "-s", "CN=x", NULL }, "the certificate's subject is --subject DN" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *a = cases[i].a;

		assert_int_equal(run(a[0], a[1], a[2], a[3], a[4], a[5]), 2);
		expect(2, cases[i].words);
		/* A secret on the command line is never echoed. */
		assert_null(strstr(got_err, "hunter22"));
	}
	assert_int_equal(run("--help", NULL), 0);
	assert_non_null(strstr(got_out, "usage: samlbroker keygen"));
}

static void
test_password_errors(void **state)
{
	char	 p[160];

	(void)state;
	snprintf(p, sizeof(p), "%s/short", dir);
	write_text(p, "seven77\n");
	assert_int_equal(run("-o", out, "-i", "urn:x", "--password-file", p, NULL), 1);
	expect(1, "shorter than 8 characters");
	write_text(p, "\n");
	assert_int_equal(run("-o", out, "-i", "urn:x", "--password-file", p, NULL), 1);
	expect(1, "the password is empty");
	write_text(p, "line one is long\nline two\n");
	assert_int_equal(run("-o", out, "-i", "urn:x", "--password-file", p, NULL), 1);
	expect(1, "holds more than one line");
	assert_null(strstr(got_err, "line one"));
	snprintf(p, sizeof(p), "%s/missing", dir);
	assert_int_equal(run("-o", out, "-i", "urn:x", "--password-file", p, NULL), 1);
	expect(1, "cannot read password file");
	setenv("SAMLBROKER_KEY_PASSWORD", "short", 1);
	assert_int_equal(run("-o", out, "-i", "urn:x", NULL), 1);
	expect(1, "shorter than 8 characters");
	unsetenv("SAMLBROKER_KEY_PASSWORD");
	assert_int_equal(access(out, F_OK), -1);	/* nothing written */
}

static void
test_subject_errors(void **state)
{
	static const struct {
		const char	*subject;
		const char	*words;
	} cases[] = {
		{ "CN", "expected NAME=VALUE in \"CN\"" },
		{ "CN=a,O", "expected NAME=VALUE" },
		{ "CN=a,=b", "empty name or value" },
		{ "CN= ", "empty name or value" },
		{ "/CN=a/XX=b", "unknown attribute 'XX'" },
		{ "  ", "--subject: empty" },
		{ "/", "--subject: empty" },
		{ "C=USA", "bad value for C" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(run("-o", out, "-i", "urn:x", "--password-file",
		    pwfile, "--subject", cases[i].subject, NULL), 1);
		expect(1, cases[i].words);
	}
	assert_int_equal(access(out, F_OK), -1);
}

/* Reads DIR/name into a new string. */
static char *
slurp(const char *name, mode_t want_mode)
{
	char		 path[256], *buf;
	size_t		 len;
	struct stat	 st;

	snprintf(path, sizeof(path), "%s/%s", out, name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, want_mode);
	assert_int_equal(read_file_limited(path, 1 << 20, &buf, &len), 0);
	return buf;
}

static void
check_key_and_cert(const char *want_subject, int printed)
{
	char		*key = slurp("key.pem.enc", 0600);
	char		*cert = slurp("cert.pem", 0644);
	char		*section = slurp("saml-section.cfg", 0600);
	char		*kb64 = slurp("key.pem.enc.b64", 0600);
	char		*cb64 = slurp("cert.pem.b64", 0644);
	char		 subj[256], pw_abs[PATH_MAX], line[PATH_MAX + 32];
	BIO		*b;
	EVP_PKEY	*pk;
	X509		*x;

	assert_non_null(strstr(key, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
	b = BIO_new_mem_buf(key, -1);
	assert_null(PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"wrong password"));
	BIO_free(b);
	b = BIO_new_mem_buf(key, -1);
	assert_non_null(pk = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)PASSWORD));
	assert_int_equal(EVP_PKEY_get_bits(pk), 2048);
	BIO_free(b);
	b = BIO_new_mem_buf(cert, -1);
	assert_non_null(x = PEM_read_bio_X509(b, NULL, NULL, NULL));
	BIO_free(b);
	assert_int_equal(X509_check_private_key(x, pk), 1);
	X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
	assert_string_equal(subj, want_subject);
	/* stdout: the certificate's body, as the identity provider wants it. */
	if (printed) {
		assert_null(strstr(got_out, "BEGIN"));
		assert_true(strlen(got_out) > 500);
		assert_non_null(strstr(cert, got_out));
	}
	/* The section names the password file by its absolute path. */
	assert_non_null(realpath(pwfile, pw_abs));
	snprintf(line, sizeof(line), "password = file:%s\n", pw_abs);
	assert_non_null(strstr(section, line));
	assert_non_null(strstr(section, "[saml]\nissuer = "));
	assert_null(strstr(section, PASSWORD));
	assert_null(strstr(got_err, PASSWORD));
	assert_true(strlen(kb64) > strlen(key));
	assert_true(strlen(cb64) > strlen(cert));
	X509_free(x);
	EVP_PKEY_free(pk);
	free(key);
	free(cert);
	free(section);
	free(kb64);
	free(cb64);
}

static void
test_files_written(void **state)
{
	(void)state;
	assert_int_equal(run("--out", out, "--issuer", "urn:acme:idp", "--days", "30",
	    "--password-file", pwfile, "--subject", "/CN=a\\/b, Unit /O=Acme", NULL), 0);
	expect(0, "wrote ");
	check_key_and_cert("/CN=a\\/b, Unit/O=Acme", 1);	/* oneline escapes the / */
	/* A second run replaces nothing without --force. */
	assert_int_equal(run("--out", out, "--issuer", "urn:acme:idp",
	    "--password-file", pwfile, NULL), 1);
	expect(1, "cert.pem exists; use --force");
	check_key_and_cert("/CN=a\\/b, Unit/O=Acme", 0);
	/* --force replaces the set; the subject defaults to the issuer's host. */
	assert_int_equal(run("--out", out, "--issuer",
	    "https://user@idp.example.com:8443/saml", "--password-file", pwfile,
	    "--force", NULL), 0);
	check_key_and_cert("/CN=idp.example.com", 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_password_errors),
		cmocka_unit_test(test_subject_errors),
		cmocka_unit_test(test_files_written),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
