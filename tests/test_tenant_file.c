/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_tenant_file.c - tenant_file.c: tenant_file_rewrite keeps every
 * byte it was not asked to change (BOM, comments, other sections,
 * continuation lines of other options, CRLF line ends), replaces an
 * option's whole value (its continuation lines too), removes options, adds
 * new ones after their section's last option (rollover's [saml] edits,
 * provision's client sections) and adds a missing section at the end;
 * tenant_file_replace is atomic (a failure leaves the file as it was, no
 * temporary file behind), keeps the file's mode, or makes it 0600 for a
 * secret; tenant_file_wipe zeroes and removes a regular file and refuses a
 * symbolic link.  (The whole commands run in tests/serve_rollover.py and
 * tests/procedure.py.)
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "samlbroker.h"

static const char tenant[] =
    "\xef\xbb\xbf; options export\n"
    "[general]\n"
    "organization_sname = acme\n"
    "\n"
    "[saml]\n"
    "issuer = https://www.genesys.com/pureengage\n"
    "; the certificate, wrapped as openssl base64 writes it\n"
    "certificate = AAAA\n"
    "  BBBB\n"
    "pkey = file:keys/old.key.b64\n"
    "password = file:/etc/pw\n"
    "expire_time = 24\n"
    "\n"
    "[saml_auth]\n"
    "client_id = x\n"
    "password = y\n";

static char *
rewrite(const char *in, const struct tenant_edit *e, size_t n)
{
	char	 err[256] = "", *out;
	size_t	 len;

	out = tenant_file_rewrite(in, strlen(in), e, n, &len, err, sizeof(err));
	if (out == NULL)
		fail_msg("tenant_file_rewrite: %s", err);
	assert_int_equal(strlen(out), len);
	return out;
}

static void
test_rewrite_stage(void **state)
{
	const struct tenant_edit e[] = {
		{ "saml", "next_certificate", "file:/k/n.cert.b64" },
		{ "saml", "next_pkey", "file:/k/n.key.b64" },
		{ "saml", "next_password", "file:/k/pw" },
	};
	char	*out;

	(void)state;
	out = rewrite(tenant, e, 3);
	assert_string_equal(out,
	    "\xef\xbb\xbf; options export\n"
	    "[general]\n"
	    "organization_sname = acme\n"
	    "\n"
	    "[saml]\n"
	    "issuer = https://www.genesys.com/pureengage\n"
	    "; the certificate, wrapped as openssl base64 writes it\n"
	    "certificate = AAAA\n"
	    "  BBBB\n"
	    "pkey = file:keys/old.key.b64\n"
	    "password = file:/etc/pw\n"
	    "expire_time = 24\n"
	    "next_certificate = file:/k/n.cert.b64\n"
	    "next_pkey = file:/k/n.key.b64\n"
	    "next_password = file:/k/pw\n"
	    "\n"
	    "[saml_auth]\n"
	    "client_id = x\n"
	    "password = y\n");
	free(out);
}

static void
test_rewrite_activate(void **state)
{
	const struct tenant_edit stage[] = {
		{ "saml", "next_certificate", "NEWCERT" },
		{ "saml", "next_pkey", "file:/k/n.key.b64" },
		{ "saml", "next_password", "file:/k/pw" },
	};
	const struct tenant_edit act[] = {
		{ "saml", "certificate", "NEWCERT" },
		{ "saml", "pkey", "file:/k/n.key.b64" },
		{ "saml", "password", "file:/k/pw" },
		{ "saml", "previous_certificate", "AAAA BBBB" },
		{ "saml", "previous_pkey", "file:keys/old.key.b64" },
		{ "saml", "next_certificate", NULL },
		{ "saml", "next_pkey", NULL },
		{ "saml", "next_password", NULL },
	};
	const struct tenant_edit retire[] = {
		{ "saml", "previous_certificate", NULL },
		{ "saml", "previous_pkey", NULL },
	};
	char	*staged, *active, *retired;

	(void)state;
	staged = rewrite(tenant, stage, 3);
	active = rewrite(staged, act, 8);
	assert_string_equal(active,
	    "\xef\xbb\xbf; options export\n"
	    "[general]\n"
	    "organization_sname = acme\n"
	    "\n"
	    "[saml]\n"
	    "issuer = https://www.genesys.com/pureengage\n"
	    "; the certificate, wrapped as openssl base64 writes it\n"
	    "certificate = NEWCERT\n"
	    "pkey = file:/k/n.key.b64\n"
	    "password = file:/k/pw\n"
	    "expire_time = 24\n"
	    "previous_certificate = AAAA BBBB\n"
	    "previous_pkey = file:keys/old.key.b64\n"
	    "\n"
	    "[saml_auth]\n"
	    "client_id = x\n"
	    "password = y\n");
	retired = rewrite(active, retire, 2);
	assert_null(strstr(retired, "previous_"));
	assert_non_null(strstr(retired, "expire_time = 24\n\n[saml_auth]\n"));
	/* Nothing to remove: the text comes back as it was. */
	free(staged);
	staged = rewrite(retired, retire, 2);
	assert_string_equal(staged, retired);
	free(staged);
	free(active);
	free(retired);
}

/* A Windows export keeps its CRLF; a last line without a newline gets one
 * before an added option. */
static void
test_rewrite_line_ends(void **state)
{
	const struct tenant_edit e[] = { { "saml", "next_pkey", "K" }, { "saml", "pkey", "P2" } };
	char	*out;

	(void)state;
	out = rewrite("[saml]\r\nissuer = x:y\r\npkey = P\r\n[other]\r\na = b\r\n", e, 2);
	assert_string_equal(out,
	    "[saml]\r\nissuer = x:y\r\npkey = P2\r\nnext_pkey = K\r\n[other]\r\na = b\r\n");
	free(out);
	out = rewrite("[saml]\nissuer = x:y", e, 1);
	assert_string_equal(out, "[saml]\nissuer = x:y\nnext_pkey = K\n");
	free(out);
}

/* provision's edits: other sections, a section added at the end. */
static void
test_rewrite_sections(void **state)
{
	const struct tenant_edit e[] = {
		{ "saml_auth", "client_id", "new-id" },
		{ "saml_auth", "password", "file:/s/saml" },
		{ "ewt", "client_id", "ewt-id" },
		{ "ewt", "password", "S3" },
		{ "general", "organization_id", "org" },
	};
	const struct tenant_edit add[] = {
		{ "provisioning", "client_id", "adm" },
		{ "provisioning", "password", "file:/s/adm" },
	};
	char	*out, *again;

	(void)state;
	out = rewrite("[general]\norganization_sname = a\n\n[saml_auth]\npassword = "
	    "file:/s/saml\n\n[ewt]\noauth_roles = r\n", e, 5);
	assert_string_equal(out, "[general]\norganization_sname = a\n"
	    "organization_id = org\n\n[saml_auth]\npassword = file:/s/saml\n"
	    "client_id = new-id\n\n[ewt]\noauth_roles = r\nclient_id = ewt-id\n"
	    "password = S3\n");
	again = rewrite(out, add, 2);
	assert_string_equal(again + strlen(out), "\n[provisioning]\nclient_id = adm\n"
	    "password = file:/s/adm\n");
	free(again);
	/* A last line without a newline; an empty text. */
	again = rewrite("[a]\nb = c", add, 2);
	assert_string_equal(again, "[a]\nb = c\n\n[provisioning]\nclient_id = adm\n"
	    "password = file:/s/adm\n");
	free(again);
	again = rewrite("", add, 1);
	assert_string_equal(again, "[provisioning]\nclient_id = adm\n");
	free(again);
	free(out);
}

static void
test_rewrite_errors(void **state)
{
	const struct tenant_edit e[] = { { "saml", "next_pkey", "K" } };
	char	 err[256] = "";
	size_t	 len;

	(void)state;
	assert_null(tenant_file_rewrite("[saml\n", 6, e, 1, &len, err, sizeof(err)));
	assert_true(err[0] != '\0');
}

static char	 dir[64];

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_tenant_file.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	 cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static size_t
dir_entries(void)
{
	DIR		*d = opendir(dir);
	struct dirent	*e;
	size_t		 n = 0;

	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0);
	closedir(d);
	return n;
}

static void
test_replace(void **state)
{
	char		 path[128], link[128], err[256], *buf;
	size_t		 len;
	struct stat	 st;
	ino_t		 ino;

	(void)state;
	snprintf(path, sizeof(path), "%s/acme.cfg", dir);
	assert_int_equal(file_write_new(path, 0640, "old\n", 4), 0);
	assert_int_equal(stat(path, &st), 0);
	ino = st.st_ino;
	assert_int_equal(tenant_file_replace(path, "new text\n", 9, 0, err, sizeof(err)), 0);
	assert_int_equal(read_file_limited(path, 100, &buf, &len), 0);
	assert_string_equal(buf, "new text\n");
	free(buf);
	assert_int_equal(stat(path, &st), 0);
	/* A new file renamed over the old one, with its mode and owner. */
	assert_true(st.st_ino != ino);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(dir_entries(), 1);

	/* A link is not followed; the target is untouched, nothing is left. */
	snprintf(link, sizeof(link), "%s/link.cfg", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(tenant_file_replace(link, "x", 1, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(unlink(link), 0);
	/* A directory the temporary file cannot be made in: unchanged. */
	if (geteuid() != 0) {
		assert_int_equal(chmod(dir, 0500), 0);
		assert_int_equal(tenant_file_replace(path, "lost", 4, 0, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "temporary file"));
		assert_int_equal(chmod(dir, 0700), 0);
		assert_int_equal(read_file_limited(path, 100, &buf, &len), 0);
		assert_string_equal(buf, "new text\n");
		free(buf);
	}
	assert_int_equal(dir_entries(), 1);
	/* A secret written: 0600 whatever the old mode; never a new file. */
	assert_int_equal(tenant_file_replace(path, "s\n", 2, TENANT_FILE_SECRET, err,
	    sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(tenant_file_replace(path, "s\n", 2, TENANT_FILE_SECRET, err,
	    sizeof(err)), -1);
	assert_int_equal(dir_entries(), 0);
}

static void
test_wipe(void **state)
{
	char	 path[128], link[128], err[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/old.key.b64", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(file_write_new(path, 0600, "SECRET KEY TEXT\n", 16), 0);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(tenant_file_wipe(link, err, sizeof(err)), -1);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(unlink(link), 0);
	assert_int_equal(tenant_file_wipe(path, err, sizeof(err)), 0);
	assert_int_equal(access(path, F_OK), -1);
	/* Gone already: said apart from an error (rollover retire's message). */
	assert_int_equal(tenant_file_wipe(path, err, sizeof(err)), 1);
	assert_int_equal(chmod(dir, 0), 0);
	if (access(dir, X_OK) == -1)	/* not as root */
		assert_int_equal(tenant_file_wipe(path, err, sizeof(err)), -1);
	assert_int_equal(chmod(dir, 0700), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rewrite_stage),
		cmocka_unit_test(test_rewrite_activate),
		cmocka_unit_test(test_rewrite_line_ends),
		cmocka_unit_test(test_rewrite_sections),
		cmocka_unit_test(test_rewrite_errors),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_wipe),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
