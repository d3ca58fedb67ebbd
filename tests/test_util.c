/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_util.c - util.c: e-mail and name checks, lenient base64, RFC 3339
 * time stamps, bounded file reads, the replaceable clock and the secret
 * buffer (secret_buf) that holds token answers.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "samlbroker.h"

static void
email_ok(const char *e)
{
	const char	*why = "unset";

	if (email_validate(e, &why) != 0)
		fail_msg("'%s' rejected: %s", e, why);
}

static void
email_bad(const char *e, const char *want)
{
	const char	*why = NULL;

	assert_int_equal(email_validate(e, &why), -1);
	assert_string_equal(why, want);
}

static void
test_email_validate(void **state)
{
	char	 buf[300];

	(void)state;
	email_ok("agent@example.com");
	email_ok("a@b");
	email_ok("first.last+tag@sub.example.co.uk");
	email_ok("o'brien&co<x>@example.com");	/* the XML writer escapes */
	email_ok("j\xc3\xbcrgen@example.de");		/* U+00FC */
	email_ok("\xe2\x82\xac@example.com");		/* U+20AC */
	email_ok("\xf0\x9f\x98\x80@example.com");	/* U+1F600 */
	email_bad("", "e-mail address is empty");
	email_bad("agent", "e-mail address must contain exactly one '@'");
	email_bad("a@b@c", "e-mail address must contain exactly one '@'");
	email_bad("@example.com", "e-mail address needs a local part and a domain");
	email_bad("agent@", "e-mail address needs a local part and a domain");
	email_bad("a gent@example.com", "e-mail address contains a space or control character");
	email_bad("agent@example.com\n", "e-mail address contains a space or control character");
	email_bad("agent\t@example.com", "e-mail address contains a space or control character");
	email_bad("agent\x7f@example.com", "e-mail address contains a space or control character");
	email_bad("\xc2\x85@example.com", "e-mail address contains a space or control character");
	email_bad("\xc3@example.com", "e-mail address is not valid UTF-8");
	email_bad("\xc0\xaf@example.com", "e-mail address is not valid UTF-8");	/* overlong */
	email_bad("\xe0\x80\xaf@example.com", "e-mail address is not valid UTF-8");
	email_bad("\xed\xa0\x80@example.com", "e-mail address is not valid UTF-8");	/* surrogate */
	email_bad("\xf4\x90\x80\x80@example.com", "e-mail address is not valid UTF-8");
	email_bad("\xff@example.com", "e-mail address is not valid UTF-8");
	email_bad("a@example.\xe2\x82", "e-mail address is not valid UTF-8");

	/* 254 bytes pass, 255 do not. */
	memset(buf, 'a', 254);
	buf[0] = 'x';
	buf[1] = '@';
	buf[254] = '\0';
	email_ok(buf);
	buf[254] = 'a';
	buf[255] = '\0';
	email_bad(buf, "e-mail address is longer than 254 bytes");
}

/* One form for an address: ASCII capitals folded, UTF-8 kept. */
static void
test_email_canonicalize(void **state)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "alice@acme.example", "alice@acme.example" },
		{ "ALICE@ACME.EXAMPLE", "alice@acme.example" },
		{ "Alice.Smith+Tag@Sub.Acme.Example", "alice.smith+tag@sub.acme.example" },
		{ "J\xc3\xbcrgen@Example.DE", "j\xc3\xbcrgen@example.de" },
		/* U+00DC (capital U umlaut) is not folded: bytes kept */
		{ "\xc3\x9c@x.example", "\xc3\x9c@x.example" },
		{ "[@]^_`{|}~@x", "[@]^_`{|}~@x" },
	};
	char	 buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		email_canonicalize(buf);
		assert_string_equal(buf, cases[i].want);
		assert_true(email_is_canonical(buf));
		assert_int_equal(email_is_canonical(cases[i].in),
		    strcmp(cases[i].in, cases[i].want) == 0);
	}
}

/* Server text made printable: nothing a terminal would act on stays. */
static void
test_text_printable(void **state)
{
	char	 buf[64];

	(void)state;
	snprintf(buf, sizeof(buf), "ok \x1b[2J\a\r\x7f\xc2\x9b" "31m~");
	text_printable(buf);
	assert_string_equal(buf, "ok ?[2J?????31m~");
}

static void
test_name_validate(void **state)
{
	char	 buf[80];

	(void)state;
	assert_int_equal(name_validate("acme"), 0);
	assert_int_equal(name_validate("Acme_Corp-2.eu"), 0);
	assert_int_equal(name_validate("a"), 0);
	assert_int_equal(name_validate("_x"), 0);
	assert_int_equal(name_validate("x."), 0);
	assert_int_equal(name_validate(""), -1);
	assert_int_equal(name_validate(".hidden"), -1);
	assert_int_equal(name_validate("-flag"), -1);
	assert_int_equal(name_validate("acme corp"), -1);
	assert_int_equal(name_validate("acme/corp"), -1);
	assert_int_equal(name_validate("acme:1"), -1);
	assert_int_equal(name_validate("ac\nme"), -1);
	assert_int_equal(name_validate("caf\xc3\xa9"), -1);
	memset(buf, 'n', NAME_MAX_LEN);
	buf[NAME_MAX_LEN] = '\0';
	assert_int_equal(name_validate(buf), 0);
	buf[NAME_MAX_LEN] = 'n';
	buf[NAME_MAX_LEN + 1] = '\0';
	assert_int_equal(name_validate(buf), -1);
}

static void
decodes_to(const char *in, const char *want)
{
	unsigned char	*out = NULL;
	size_t		 len = 0;

	if (base64_decode_lenient(in, &out, &len) != 0)
		fail_msg("'%s' did not decode", in);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, len);
	assert_int_equal(out[len], '\0');
	free(out);
}

static void
decode_fails(const char *in)
{
	unsigned char	*out = (unsigned char *)"untouched";
	size_t		 len = 12345;

	assert_int_equal(base64_decode_lenient(in, &out, &len), -1);
	assert_string_equal((char *)out, "untouched");
	assert_int_equal(len, 12345);
}

static void
test_base64(void **state)
{
	unsigned char	 bin[256], *out;
	size_t		 len;
	char		*enc;

	(void)state;
	decodes_to("aGVsbG8=", "hello");
	decodes_to("aGVsbG8h", "hello!");
	decodes_to("aGVs", "hel");
	decodes_to("aA==", "h");
	decodes_to("  aGVs\nbG8h\r\n\t", "hello!");
	decodes_to("aG Vs bG 8h", "hello!");
	decodes_to("aGVsbG8\n=", "hello");
	decode_fails("");
	decode_fails("   \n");
	decode_fails("aGVsbG8");	/* not a multiple of 4 */
	decode_fails("aGVsbG8*");
	decode_fails("aGVs-G8h");	/* base64url is not base64 */
	decode_fails("aG=sbG8h");	/* padding inside */
	decode_fails("aA==aA==");
	decode_fails("a===");

	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 7 + 3);
	for (size_t n = 0; n <= sizeof(bin); n += 37) {
		enc = base64_encode(bin, n, 0);
		assert_int_equal(strlen(enc), 4 * ((n + 2) / 3));
		assert_null(strchr(enc, '\n'));
		if (n > 0) {
			assert_int_equal(base64_decode_lenient(enc, &out, &len), 0);
			assert_int_equal(len, n);
			assert_memory_equal(out, bin, n);
			free(out);
		}
		free(enc);
	}
	enc = base64_encode((const unsigned char *)"hello", 5, 0);
	assert_string_equal(enc, "aGVsbG8=");
	free(enc);
	enc = base64_encode((const unsigned char *)"", 0, 0);
	assert_string_equal(enc, "");
	free(enc);

	/* Wrapped at 64 characters, each line ended, like `openssl base64`. */
	enc = base64_encode(bin, 100, 1);
	assert_int_equal(strlen(enc), 136 + 3);
	assert_int_equal(enc[64], '\n');
	assert_int_equal(enc[129], '\n');
	assert_int_equal(enc[strlen(enc) - 1], '\n');
	assert_int_equal(base64_decode_lenient(enc, &out, &len), 0);
	assert_int_equal(len, 100);
	assert_memory_equal(out, bin, 100);
	free(out);
	free(enc);
	enc = base64_encode(bin, 48, 1);	/* exactly one line */
	assert_int_equal(strlen(enc), 65);
	assert_int_equal(enc[64], '\n');
	free(enc);
}

static void
test_format_rfc3339(void **state)
{
	char	 buf[32];

	(void)state;
	assert_int_equal(format_rfc3339(0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	assert_int_equal(format_rfc3339(1795741323.9, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-11-27T01:02:03Z");
	assert_int_equal(format_rfc3339(4102444799, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2099-12-31T23:59:59Z");
	assert_int_equal(format_rfc3339(951782400, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2000-02-29T00:00:00Z");
	/* Too small a buffer is an error, not a cut string. */
	assert_int_equal(format_rfc3339(0, buf, 20), -1);
	assert_int_equal(format_rfc3339(0, buf, 21), 0);
}

static void
write_bytes(const char *path, const char *buf, size_t len)
{
	FILE	*fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void
test_read_file_limited(void **state)
{
	char	 dir[] = "/tmp/test_util.XXXXXX", path[256], *buf;
	size_t	 len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);

	write_bytes(path, "abc\0def", 7);
	assert_int_equal(read_file_limited(path, 7, &buf, &len), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(buf, "abc\0def", 8);	/* NUL-terminated too */
	free(buf);

	buf = NULL;
	len = 99;
	errno = 0;
	assert_int_equal(read_file_limited(path, 6, &buf, &len), -1);
	assert_int_equal(errno, EFBIG);
	assert_null(buf);
	assert_int_equal(len, 99);

	write_bytes(path, "", 0);
	assert_int_equal(read_file_limited(path, 0, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);

	errno = 0;
	assert_int_equal(read_file_limited(dir, 4096, &buf, &len), -1);
	assert_int_equal(errno, EINVAL);
	unlink(path);
	errno = 0;
	assert_int_equal(read_file_limited(path, 4096, &buf, &len), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(rmdir(dir), 0);
}

static double
fixed_clock(void)
{
	return 1234567890.5;
}

static void
test_clock(void **state)
{
	double	 now;

	(void)state;
	clock_set(fixed_clock);
	assert_true(clock_now() == 1234567890.5);
	clock_set(NULL);
	now = clock_now();
	assert_true(now > 1700000000.0 && now < 4102444800.0);
}

static void
test_secret_free_and_xstrndup(void **state)
{
	char	*s;

	(void)state;
	secret_free(NULL);
	secret_free(xstrdup("SECRET-x"));
	s = xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = xstrndup("ab", 10);
	assert_string_equal(s, "ab");
	free(s);
}

/* secret_buf: grows by copying across many sizes, stays NUL-terminated,
 * refuses what would pass max, and clears to empty. */
static void
test_secret_buf(void **state)
{
	struct secret_buf	 b = { NULL, 0, 0 };
	char			 chunk[1000];

	(void)state;
	secret_buf_clear(&b);		/* an empty buffer clears */
	assert_int_equal(secret_buf_add(&b, "", 0, 10), 0);
	assert_string_equal(b.data, "");
	assert_int_equal(secret_buf_add(&b, "abc", 3, 10), 0);
	assert_int_equal(secret_buf_add(&b, "defghij", 7, 10), 0);	/* exactly max */
	assert_string_equal(b.data, "abcdefghij");
	assert_int_equal(secret_buf_add(&b, "k", 1, 10), -1);
	assert_int_equal(b.len, 10);	/* unchanged by the refusal */
	assert_string_equal(b.data, "abcdefghij");
	secret_buf_clear(&b);
	assert_null(b.data);
	assert_int_equal(b.len + b.size, 0);
	for (int i = 0; i < 50; i++) {
		memset(chunk, 'a' + i % 26, sizeof(chunk));
		assert_int_equal(secret_buf_add(&b, chunk, sizeof(chunk), 1 << 20), 0);
	}
	assert_int_equal(b.len, 50000);
	assert_true(b.size > b.len);
	assert_int_equal(strlen(b.data), 50000);
	assert_int_equal(b.data[49999], 'a' + 49 % 26);
	assert_int_equal(b.data[4000], 'e');
	secret_buf_clear(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_email_validate),
		cmocka_unit_test(test_email_canonicalize),
		cmocka_unit_test(test_text_printable),
		cmocka_unit_test(test_name_validate),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_format_rfc3339),
		cmocka_unit_test(test_read_file_limited),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_secret_free_and_xstrndup),
		cmocka_unit_test(test_secret_buf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
