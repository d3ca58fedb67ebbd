/* SPDX-License-Identifier: Apache-2.0 */
/*
 * upstream_answer.c - reads what the token endpoint answered: HTTP status,
 * Retry-After and body bytes in, an upstream_result out.
 *
 * Pure: no I/O, no logging, no state; the clock is an argument (for a
 * Retry-After given as an HTTP-date).  upstream.c calls it once a transfer
 * has completed; tests/fuzz/fuzz_token_answer.c feeds it any bytes.  The
 * body may hold a token: nothing here copies body text into a message
 * except an error_description, sanitized and truncated, and only for a
 * non-200 status.  A 200 answer must be a JSON object with a visible-ASCII
 * access_token, a positive integer expires_in and, if present,
 * token_type bearer; anything else is REJECTED invalid_response.  408,
 * 429 and 5xx are UNAVAILABLE (with their Retry-After); other statuses are
 * REJECTED with the OAuth error code when the body names a well-formed one.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "samlbroker.h"

/* Upper bound on a Retry-After honoured, in seconds. */
#define RETRY_AFTER_MAX		86400.0
/* Bytes of an upstream error_description copied into a message. */
#define DESCRIPTION_MAX		200
/* Longest Retry-After value read. */
#define RETRY_AFTER_LEN		127

/* isalnum() without the locale. */
static bool
ascii_alnum(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9');
}

void
upstream_text_sanitize(char *dst, size_t dstlen, const char *src, size_t max)
{
	size_t	 i;

	if (dstlen == 0)
		return;
	for (i = 0; i + 1 < dstlen && i < max && src[i] != '\0'; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[i] = '\0';
}

/* An OAuth error code as a short token: [A-Za-z0-9._-] only. */
static int
oauth_error_copy(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t	 i;

	for (i = 0; i < srclen; i++) {
		unsigned char c = (unsigned char)src[i];

		if (i + 1 >= dstlen || !(ascii_alnum(c) || c == '.' || c == '_' ||
		    c == '-'))
			return -1;
		dst[i] = (char)c;
	}
	dst[i] = '\0';
	return i > 0 ? 0 : -1;
}

void
upstream_result_fail(struct upstream_result *r, enum upstream_outcome outcome,
    const char *error, const char *fmt, ...)
{
	va_list	 ap;

	r->outcome = outcome;
	snprintf(r->error, sizeof(r->error), "%s", error);
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

double
upstream_retry_after_parse(const char *value, double now)
{
	char		 v[RETRY_AFTER_LEN + 1], *end;
	size_t		 len;

	if (value == NULL)
		return 0;
	while (*value == ' ' || *value == '\t')
		value++;
	len = strlen(value);
	while (len > 0 && isspace((unsigned char)value[len - 1]))
		len--;
	if (len == 0 || len > RETRY_AFTER_LEN)
		return 0;
	memcpy(v, value, len);
	v[len] = '\0';
	if (isdigit((unsigned char)v[0])) {
		unsigned long long secs = strtoull(v, &end, 10);

		if (*end != '\0')
			return 0;
		return secs > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (double)secs;
	} else {
		time_t	 t = curl_getdate(v, NULL);
		double	 d = (double)t - now;

		if (t == -1 || !(d > 0))
			return 0;
		return d > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : d;
	}
}

/* A token is sent on in HTTP headers and JSON: visible ASCII only. */
static bool
token_shape_ok(const char *s, size_t len)
{
	if (len == 0 || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	}
	return true;
}

/* What is wrong with a 200 answer's fields, or NULL when they are usable. */
static const char *
success_fields_check(json_t *tok, json_t *exp, json_t *type)
{
	if (!json_is_string(tok) ||
	    !token_shape_ok(json_string_value(tok), json_string_length(tok)))
		return "token endpoint answered 200 without a usable access_token";
	if (!json_is_integer(exp) || json_integer_value(exp) <= 0)
		return "token endpoint answered 200 without a positive integer "
		    "expires_in";
	if (type != NULL && (!json_is_string(type) ||
	    strcasecmp(json_string_value(type), "bearer") != 0))
		return "";	/* the caller names the type */
	return NULL;
}

/* A 200 answer: a usable token or REJECTED invalid_response. */
static void
read_success(const char *body, size_t len, struct upstream_result *r)
{
	json_t		*root, *tok = NULL, *exp, *type;
	json_error_t	 jerr;
	json_int_t	 expires;
	const char	*wrong;
	char		 what[64];

	root = json_loadb(body != NULL ? body : "", body != NULL ? len : 0,
	    JSON_REJECT_DUPLICATES, &jerr);
	/* Not jerr.text: it quotes the input, which may hold a token. */
	if (root == NULL || !json_is_object(root)) {
		upstream_result_fail(r, UPSTREAM_REJECTED, "invalid_response",
		    "token endpoint answered 200 %s", root == NULL ?
		    "with invalid JSON" : "without a JSON object");
		goto done;
	}
	tok = json_object_get(root, "access_token");
	exp = json_object_get(root, "expires_in");
	type = json_object_get(root, "token_type");
	if ((wrong = success_fields_check(tok, exp, type)) != NULL) {
		if (*wrong != '\0') {
			upstream_result_fail(r, UPSTREAM_REJECTED,
			    "invalid_response", "%s", wrong);
			goto done;
		}
		upstream_text_sanitize(what, sizeof(what), json_is_string(type) ?
		    json_string_value(type) : "(not a string)", 32);
		upstream_result_fail(r, UPSTREAM_REJECTED, "invalid_response",
		    "token endpoint answered token_type \"%s\", not bearer", what);
		goto done;
	}
	expires = json_integer_value(exp);
	r->outcome = UPSTREAM_OK;
	r->access_token = xstrndup(json_string_value(tok), json_string_length(tok));
	r->expires_in = expires > LONG_MAX ? LONG_MAX : (long)expires;
	snprintf(r->message, sizeof(r->message), "token issued, expires in %ld s",
	    r->expires_in);
done:
	if (json_is_string(tok)) {
		/* The parsed copy of the token: jansson does not wipe it. */
		OPENSSL_cleanse((char *)json_string_value(tok),
		    json_string_length(tok));
	}
	json_decref(root);
}

/* Any other HTTP status. */
static void
read_status(long status, const char *body, size_t len, double retry_after,
    struct upstream_result *r)
{
	json_t		*root = NULL, *err, *desc;
	json_error_t	 jerr;
	char		 code[sizeof(r->error)], oauth[sizeof(r->error)];
	char		 text[DESCRIPTION_MAX + 1] = "";
	enum upstream_outcome outcome;

	snprintf(code, sizeof(code), "http_%ld", status);
	/* 429, 408 and 5xx are passing conditions; the rest is a refusal. */
	if (status == 429 || status == 408 || status >= 500)
		outcome = UPSTREAM_UNAVAILABLE;
	else
		outcome = UPSTREAM_REJECTED;

	if (body != NULL && len > 0)
		root = json_loadb(body, len, 0, &jerr);
	if (json_is_object(root)) {
		err = json_object_get(root, "error");
		desc = json_object_get(root, "error_description");
		if (!json_is_string(desc))
			desc = json_object_get(root, "description");
		if (outcome == UPSTREAM_REJECTED && json_is_string(err) &&
		    oauth_error_copy(oauth, sizeof(oauth), json_string_value(err),
		    json_string_length(err)) == 0)
			memcpy(code, oauth, sizeof(code));
		if (json_is_string(desc))
			upstream_text_sanitize(text, sizeof(text),
			    json_string_value(desc), DESCRIPTION_MAX);
	}
	json_decref(root);
	if (outcome == UPSTREAM_UNAVAILABLE)
		r->retry_after = retry_after;
	if (text[0] != '\0')
		upstream_result_fail(r, outcome, code,
		    "token endpoint answered %ld (%s): %s", status, code, text);
	else
		upstream_result_fail(r, outcome, code,
		    "token endpoint answered %ld (%s)", status, code);
}

void
upstream_answer_read(long http_status, const char *body, size_t body_len,
    const char *retry_after, double now, struct upstream_result *r)
{
	r->http_status = http_status;
	if (http_status == 200)
		read_success(body, body_len, r);
	else
		read_status(http_status, body, body_len,
		    upstream_retry_after_parse(retry_after, now), r);
}
