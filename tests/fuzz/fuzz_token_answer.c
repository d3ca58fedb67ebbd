/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_token_answer.c - a libFuzzer target for the token-answer reader
 * (upstream_answer_read): any status, Retry-After and body bytes in, no
 * crash, no leak, no read out of bounds; the result is consistent (a token
 * exactly when OK, visible ASCII; error and message NUL-terminated,
 * printable; an UNAVAILABLE Retry-After within a day, none otherwise).
 *
 * Input: byte 0 picks the HTTP status from a table; if a '\n' follows, the
 * bytes before it are the Retry-After value (no header without a '\n');
 * the rest is the body.  Seeds: tests/fuzz/corpus/token_answer/.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "samlbroker.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const long statuses[] = {
	200, 200, 200, 200, 400, 401, 403, 404, 408, 429, 500, 502, 503, 504,
	0, 1, 199, 201, 299, 302, 418, 499, 501, 599, 600, 999, -1, 100000,
};

static void
check_text(const char *s, size_t cap)
{
	size_t	 n = strnlen(s, cap);

	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct upstream_result	 r;
	const uint8_t		*nl;
	char			*retry = NULL, *body;
	size_t			 blen;
	long			 status;

	if (size == 0)
		return 0;
	status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	data++;
	size--;
	if ((nl = memchr(data, '\n', size)) != NULL) {
		retry = xstrndup((const char *)data, (size_t)(nl - data));
		size -= (size_t)(nl - data) + 1;
		data = nl + 1;
	}
	/* The body exactly as received: not NUL-terminated. */
	blen = size;
	body = xmalloc(blen > 0 ? blen : 1);
	memcpy(body, data, blen);

	memset(&r, 0, sizeof(r));
	upstream_answer_read(status, body, blen, retry, 1800000000.0, &r);
	check_text(r.error, sizeof(r.error));
	check_text(r.message, sizeof(r.message));
	if ((r.outcome == UPSTREAM_OK) != (r.access_token != NULL))
		abort();
	if (r.outcome == UPSTREAM_OK) {
		if (status != 200 || r.expires_in <= 0 || r.access_token[0] == '\0')
			abort();
		for (const char *p = r.access_token; *p != '\0'; p++)
			if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
				abort();
	} else if (r.outcome != UPSTREAM_REJECTED &&
	    r.outcome != UPSTREAM_UNAVAILABLE)
		abort();
	if (r.retry_after < 0 || r.retry_after > 86400 ||
	    (r.retry_after > 0 && r.outcome != UPSTREAM_UNAVAILABLE))
		abort();
	if (r.http_status != status)
		abort();
	secret_free(r.access_token);
	free(retry);
	free(body);
	return 0;
}
