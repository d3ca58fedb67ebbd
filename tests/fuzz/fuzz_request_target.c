/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_request_target.c - a libFuzzer target for what the API does with a
 * request target: percent-decoding, path routing (server_http_route) and
 * e-mail validation of the subject.  Any bytes in, no crash, no leak;
 * a token path yields a non-empty tenant and subject, and encoding them
 * again routes to the same endpoint and the same strings.
 *
 * Seeds are in tests/fuzz/corpus/request_target/.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
encode(char *out, const char *s)
{
	for (; *s != '\0'; s++)
		out += sprintf(out, "%%%02X", (unsigned char)*s);
	*out = '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const coll[] = { [EP_USER_TOKEN] = "users",
	    [EP_SERVICE_TOKEN] = "services", [EP_SAML_RESPONSE] = "users" };
	static const char *const what[] = { [EP_USER_TOKEN] = "token",
	    [EP_SERVICE_TOKEN] = "token", [EP_SAML_RESPONSE] = "saml-response" };
	enum endpoint	 ep, ep2;
	char		*target, *tenant, *subject, *t2, *s2, *url, *et, *es;
	const char	*why = NULL;

	if (size > 4096)
		return 0;
	target = malloc(size + 1);
	memcpy(target, data, size);
	target[size] = '\0';	/* the connection code sends no NUL */
	if (server_http_route(target, &ep, &tenant, &subject) == -1) {
		free(target);
		return 0;
	}
	free(target);
	if (ep != EP_USER_TOKEN && ep != EP_SERVICE_TOKEN && ep != EP_SAML_RESPONSE) {
		if (tenant != NULL || subject != NULL)
			abort();
		return 0;
	}
	if (tenant == NULL || subject == NULL || tenant[0] == '\0' || subject[0] == '\0')
		abort();
	if (ep != EP_SERVICE_TOKEN && email_validate(subject, &why) == -1 && why == NULL)
		abort();
	et = malloc(strlen(tenant) * 3 + 1);
	es = malloc(strlen(subject) * 3 + 1);
	encode(et, tenant);
	encode(es, subject);
	url = malloc(strlen(et) + strlen(es) + 64);
	sprintf(url, "/v1/tenants/%s/%s/%s/%s", et, coll[ep], es, what[ep]);
	if (server_http_route(url, &ep2, &t2, &s2) == -1 || ep2 != ep ||
	    strcmp(t2, tenant) != 0 || strcmp(s2, subject) != 0)
		abort();
	free(t2);
	free(s2);
	free(url);
	free(et);
	free(es);
	free(tenant);
	free(subject);
	return 0;
}
