/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ini.c - the INI reader: what it accepts, what it rejects and the
 * exact text of each error.
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
#include <unistd.h>

#include "samlbroker.h"

static struct ini_file *
parse_len(const char *buf, size_t len)
{
	char		 err[256] = "";
	struct ini_file	*f;

	f = ini_parse("test.ini", buf, len, err, sizeof(err));
	if (f == NULL)
		fail_msg("unexpected error: %s", err);
	return f;
}

static struct ini_file *
parse(const char *buf)
{
	return parse_len(buf, strlen(buf));
}

static void
expect_error_len(const char *buf, size_t len, const char *want)
{
	char		 err[256] = "";
	struct ini_file	*f;

	f = ini_parse("test.ini", buf, len, err, sizeof(err));
	if (f != NULL) {
		ini_free(f);
		fail_msg("parsed, expected: %s", want);
	}
	assert_string_equal(err, want);
}

static void
expect_error(const char *buf, const char *want)
{
	expect_error_len(buf, strlen(buf), want);
}

static const char *
value(struct ini_file *f, const char *section, const char *name)
{
	struct ini_option *o = ini_option_find(ini_section_find(f, section), name);

	return o != NULL ? o->value : NULL;
}

static void
test_basic(void **state)
{
	struct ini_file		*f;
	struct ini_section	*s;

	(void)state;
	f = parse("[general]\n"
	    "organization_sname=acme\n"
	    "  base_auth_url   =   https://login.example.com/oauth/token  \n"
	    "\n"
	    "[saml]\n"
	    "pkey = abc==\n"
	    "password = a=b=c\n"
	    "empty =\n"
	    "tabs\t=\tx y\t\n"
	    "client id = spaced name\n");
	assert_string_equal(f->path, "test.ini");
	assert_int_equal(f->n_sections, 2);
	s = &f->sections[0];
	assert_string_equal(s->name, "general");
	assert_int_equal(s->line, 1);
	assert_int_equal(s->n_options, 2);
	assert_string_equal(s->options[0].name, "organization_sname");
	assert_string_equal(s->options[0].value, "acme");
	assert_int_equal(s->options[0].line, 2);
	assert_false(s->options[0].used);
	assert_string_equal(value(f, "general", "base_auth_url"),
	    "https://login.example.com/oauth/token");
	assert_int_equal(s->options[1].line, 3);
	s = &f->sections[1];
	assert_string_equal(s->name, "saml");
	assert_int_equal(s->line, 5);
	assert_string_equal(value(f, "saml", "pkey"), "abc==");
	assert_string_equal(value(f, "saml", "password"), "a=b=c");
	assert_string_equal(value(f, "saml", "empty"), "");
	assert_string_equal(value(f, "saml", "tabs"), "x y");
	assert_string_equal(value(f, "saml", "client id"), "spaced name");
	assert_int_equal(ini_option_find(s, "client id")->line, 10);
	assert_null(ini_option_find(s, "missing"));
	assert_null(ini_section_find(f, "missing"));
	assert_null(ini_section_find(f, "SAML"));	/* names are case-sensitive */
	assert_null(ini_section_find(NULL, "saml"));
	assert_null(ini_option_find(NULL, "pkey"));
	ini_free(f);
	ini_free(NULL);
}

static void
test_comments_and_blanks(void **state)
{
	struct ini_file	*f;

	(void)state;
	f = parse("; comment\n"
	    "# comment\n"
	    "   ; indented comment = with equals\n"
	    "\t# tab-indented\n"
	    "   \t  \n"
	    "[s]\n"
	    "; k = commented out\n"
	    "password = p;a#s s ; not a comment\n"
	    "#k = v\n");
	assert_int_equal(f->n_sections, 1);
	assert_int_equal(f->sections[0].n_options, 1);
	assert_string_equal(value(f, "s", "password"), "p;a#s s ; not a comment");
	assert_int_equal(f->sections[0].options[0].line, 8);
	ini_free(f);
}

static void
test_crlf_bom(void **state)
{
	struct ini_file	*f;

	(void)state;
	f = parse("\xef\xbb\xbf[ saml ]\r\nissuer = https://idp\r\n\r\n"
	    "[x]\r\nk=v\r\nlast = no newline");
	assert_int_equal(f->n_sections, 2);
	assert_string_equal(f->sections[0].name, "saml");
	assert_string_equal(value(f, "saml", "issuer"), "https://idp");
	assert_string_equal(value(f, "x", "k"), "v");
	assert_string_equal(value(f, "x", "last"), "no newline");
	assert_int_equal(ini_option_find(ini_section_find(f, "x"), "last")->line, 6);
	ini_free(f);

	/* A BOM only counts at the very start: elsewhere it is text. */
	f = parse("[s]\n\xef\xbb\xbfk = v\n");
	assert_null(value(f, "s", "k"));
	assert_string_equal(value(f, "s", "\xef\xbb\xbfk"), "v");
	ini_free(f);
	expect_error("\xef\xbb\xbf\xef\xbb\xbf[s]\n",
	    "line 1: expected '[section]' or 'option = value'");
}

static void
test_empty_inputs(void **state)
{
	struct ini_file	*f;

	(void)state;
	f = parse_len("", 0);
	assert_int_equal(f->n_sections, 0);
	ini_free(f);
	f = parse("\xef\xbb\xbf");
	assert_int_equal(f->n_sections, 0);
	ini_free(f);
	f = parse("\n\n; only comments\r\n");
	assert_int_equal(f->n_sections, 0);
	ini_free(f);
	f = parse("[empty]\n[also empty]");
	assert_int_equal(f->n_sections, 2);
	assert_int_equal(f->sections[0].n_options, 0);
	assert_string_equal(f->sections[1].name, "also empty");
	ini_free(f);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("k = v\n", "line 1: option 'k' outside any section");
	expect_error("; c\n\n  k=v\n[s]\n", "line 3: option 'k' outside any section");
	expect_error("[s]\nk = 1\nk = 2\n",
	    "line 3: duplicate option 'k' in [s] (first on line 2)");
	expect_error("[s]\nk = 1\n[t]\nk = 2\n[s]\n",
	    "line 5: duplicate section [s] (first on line 1)");
	expect_error("[s]\n[ s ]\n", "line 2: duplicate section [s] (first on line 1)");
	expect_error("[s\n", "line 1: malformed section header: it must end with ']'");
	expect_error("[s] x\n", "line 1: malformed section header: it must end with ']'");
	expect_error("[s]]\n",
	    "line 1: malformed section header: '[' or ']' inside the name");
	expect_error("[[s]\n",
	    "line 1: malformed section header: '[' or ']' inside the name");
	expect_error("[]\n", "line 1: malformed section header: empty name");
	expect_error("[  ]\n", "line 1: malformed section header: empty name");
	expect_error("[s]\njust text\n",
	    "line 2: expected '[section]' or 'option = value'");
	expect_error("[s]\n= value\n", "line 2: option name is empty");
	expect_error("[s]\n  \t= value\n", "line 2: option name is empty");
	expect_error_len("[s]\nk = a\0b\n", 10, "line 2: NUL byte");
	expect_error_len("\0", 1, "line 1: NUL byte");
	expect_error("[s]\nk = a\x1b[31mb\n", "line 2: control character 0x1b");
	expect_error("[s]\nk = a\rb\n", "line 2: control character 0x0d");
	expect_error("[s]\r\r\n", "line 1: control character 0x0d");
	expect_error("[s]\nk = \x7f\n", "line 2: control character 0x7f");
	/* Old Mac line ends are not line ends. */
	expect_error("[s]\rk = v\r", "line 1: control character 0x0d");
}

/* An error text quotes names (cut to 64 bytes), never values. */
static void
test_errors_never_quote_values(void **state)
{
	char		 err[256], name[200], buf[700];
	struct ini_file	*f;

	(void)state;
	const char *t1 = "[s]\npassword = SECRET-one\npassword = SECRET-two\n";
	const char *t2 = "[s]\nSECRET-no-equals\n";
	const char *t3 = "[s]\nk = SECRET\x01\n";

	f = ini_parse("t", t1, strlen(t1), err, sizeof(err));
	assert_null(f);
	assert_string_equal(err,
	    "line 3: duplicate option 'password' in [s] (first on line 2)");
	f = ini_parse("t", t2, strlen(t2), err, sizeof(err));
	assert_null(f);
	assert_null(strstr(err, "SECRET"));
	f = ini_parse("t", t3, strlen(t3), err, sizeof(err));
	assert_null(f);
	assert_null(strstr(err, "SECRET"));

	memset(name, 'n', 100);
	name[100] = '\0';
	snprintf(buf, sizeof(buf), "[%s]\n%s = 1\n%s = 2\n", name, name, name);
	expect_error(buf, "line 3: duplicate option "
	    "'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...' in "
	    "[nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...] "
	    "(first on line 2)");
	/* Exactly 64 bytes: quoted whole. */
	name[64] = '\0';
	snprintf(buf, sizeof(buf), "%s = v\n", name);
	expect_error(buf, "line 1: option "
	    "'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn' "
	    "outside any section");
	/* A small error buffer truncates, never overflows. */
	f = ini_parse("t", "k = v", 5, err, 8);
	assert_null(f);
	assert_string_equal(err, "line 1:");
}

static void
test_line_length(void **state)
{
	size_t		 len = 4 + INI_MAX_LINE + 2 + 1;
	char		*buf = malloc(len + 1);
	struct ini_file	*f;

	(void)state;
	/* "[s]\n" then a line of exactly INI_MAX_LINE bytes, CRLF not counted. */
	memcpy(buf, "[s]\n", 4);
	memcpy(buf + 4, "k = ", 4);
	memset(buf + 8, 'v', INI_MAX_LINE - 4);
	memcpy(buf + 4 + INI_MAX_LINE, "\r\n", 3);
	f = parse_len(buf, 4 + INI_MAX_LINE + 2);
	assert_int_equal(strlen(value(f, "s", "k")), INI_MAX_LINE - 4);
	ini_free(f);
	/* One more byte is too long, with or without a line end. */
	buf[4 + INI_MAX_LINE] = 'v';
	buf[4 + INI_MAX_LINE + 1] = '\n';
	expect_error_len(buf, 4 + INI_MAX_LINE + 2, "line 2: line is longer than 65536 bytes");
	expect_error_len(buf, 4 + INI_MAX_LINE + 1, "line 2: line is longer than 65536 bytes");
	/* Even inside a comment. */
	buf[4] = ';';
	expect_error_len(buf, 4 + INI_MAX_LINE + 1, "line 2: line is longer than 65536 bytes");
	free(buf);
}

static void
test_repeatable(void **state)
{
	static const char *const rep[] = { "listen", NULL };
	const char	*text = "[broker]\nlisten = a\nother = 1\nlisten = b\nlisten = a\n";
	char		 err[256];
	struct ini_file	*f;
	struct ini_section *s;

	(void)state;
	f = ini_parse_ext("m", text, strlen(text), rep, err, sizeof(err));
	assert_non_null(f);
	s = ini_section_find(f, "broker");
	assert_int_equal(s->n_options, 4);
	assert_string_equal(s->options[0].value, "a");
	assert_string_equal(s->options[2].value, "b");
	assert_string_equal(s->options[3].value, "a");
	assert_int_equal(s->options[3].line, 5);
	assert_string_equal(ini_option_find(s, "listen")->value, "a");
	ini_free(f);
	/* Only the names listed repeat. */
	text = "[broker]\nlisten = a\nother = 1\nother = 2\n";
	f = ini_parse_ext("m", text, strlen(text), rep, err, sizeof(err));
	assert_null(f);
	assert_string_equal(err, "line 4: duplicate option 'other' in [broker] (first on line 3)");
	/* And plain ini_parse repeats nothing. */
	expect_error("[broker]\nlisten = a\nlisten = b\n",
	    "line 3: duplicate option 'listen' in [broker] (first on line 2)");
}

#define L64 "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2"

/* Continuation lines: base64 wrapped as openssl base64 writes it. */
static void
test_continuation(void **state)
{
	struct ini_file	*f;

	/* Not indented: each line after a full 64-character line. */
	f = parse("[saml]\ncertificate = " L64 "\n" L64 "\nd3h5eg==\nx = 1\n");
	assert_string_equal(value(f, "saml", "certificate"), L64 "\n" L64 "\nd3h5eg==");
	assert_string_equal(value(f, "saml", "x"), "1");
	ini_free(f);
	/* Indented: after any base64 line; a tab or spaces. */
	f = parse("[saml]\npkey = QUJD\n  REVG\n\tR0g=\n");
	assert_string_equal(value(f, "saml", "pkey"), "QUJD\nREVG\nR0g=");
	ini_free(f);
	/* An empty value, then indented lines. */
	f = parse("[saml]\npkey =\n    " L64 "\n    QUJD\nx = 1\n");
	assert_string_equal(value(f, "saml", "pkey"), L64 "\nQUJD");
	ini_free(f);
	/* CRLF, and a value that ends on a full line with no padding. */
	f = parse("[saml]\r\ncertificate = " L64 "\r\n" L64 "\r\n[next]\r\na = b\r\n");
	assert_string_equal(value(f, "saml", "certificate"), L64 "\n" L64);
	assert_string_equal(value(f, "next", "a"), "b");
	ini_free(f);
	/* Padding, a blank line or a comment ends the value. */
	expect_error("[s]\nk = QUJD=\n  REVG\n", "line 3: expected '[section]' or "
	    "'option = value'");
	expect_error("[s]\nk = QUJD\n\n  REVG\n", "line 4: expected '[section]' or "
	    "'option = value'");
	expect_error("[s]\nk = QUJD\n; c\n  REVG\n", "line 4: expected '[section]' or "
	    "'option = value'");
	/* Not indented after a short line: not a continuation. */
	expect_error("[s]\nk = QUJD\nREVG\n", "line 3: expected '[section]' or "
	    "'option = value'");
	/* Only base64 values continue; an indented option is still an option. */
	f = parse("[s]\nk = https://example.com/\n  x = y\n");
	assert_string_equal(value(f, "s", "k"), "https://example.com/");
	assert_string_equal(value(f, "s", "x"), "y");
	ini_free(f);
	/* The documented ambiguity: "name=" after a full line is padding. */
	f = parse("[s]\nk = " L64 "\nab=\n");
	assert_string_equal(value(f, "s", "k"), L64 "\nab=");
	assert_null(ini_option_find(ini_section_find(f, "s"), "ab"));
	ini_free(f);
}

static void
test_load(void **state)
{
	char		 dir[] = "/tmp/test_ini.XXXXXX", path[256], err[256];
	struct ini_file	*f;
	FILE		*fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.ini", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("[s]\nk = v\n", fp);
	fclose(fp);
	f = ini_load(path, err, sizeof(err));
	assert_non_null(f);
	assert_string_equal(f->path, path);
	assert_string_equal(value(f, "s", "k"), "v");
	ini_free(f);

	fp = fopen(path, "w");
	fputs("[s]\nk = v\nk = w\n", fp);
	fclose(fp);
	assert_null(ini_load(path, err, sizeof(err)));
	assert_string_equal(err, "line 3: duplicate option 'k' in [s] (first on line 2)");

	/* Over one MiB. */
	fp = fopen(path, "w");
	for (int i = 0; i < 1024 * 1024 / 16 + 1; i++)
		fputs("; comment line.\n", fp);
	fclose(fp);
	assert_null(ini_load(path, err, sizeof(err)));
	assert_string_equal(err, "file is larger than 1048576 bytes");
	unlink(path);

	assert_null(ini_load(path, err, sizeof(err)));
	assert_string_equal(err, "cannot read: No such file or directory");
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_comments_and_blanks),
		cmocka_unit_test(test_crlf_bom),
		cmocka_unit_test(test_empty_inputs),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_errors_never_quote_values),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_repeatable),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
