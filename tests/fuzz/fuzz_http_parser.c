/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_http_parser.c - a libFuzzer target for the request-head parser
 * (http_parser.c) and the Host rule: any bytes in, no crash, no read out
 * of bounds; the answer is "complete", "need more" or one of the statuses
 * the README lists, and a complete head lies inside the input, within the
 * limits, and parses the same on its own.
 *
 * The first two input bytes choose the limits; seeds are in
 * tests/fuzz/corpus/http_parser/.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_limits	 lim = { 8192, HTTP_MAX_HEADERS, 4096 };
	struct http_head	 h, again;
	struct sockaddr_in	 sin;
	const char		*buf, *why = NULL;
	int			 n;

	if (size >= 2) {
		lim.max_head = 16 + (size_t)data[0] * 16;
		lim.max_headers = (size_t)(data[1] & 15);
		lim.max_body = (size_t)data[1] * 4;
		data += 2;
		size -= 2;
	}
	buf = (const char *)data;
	n = http_parse_request(buf, size, &lim, &h, &why);
	if (n < 0) {
		if ((n != -400 && n != -413 && n != -431 && n != -501) || why == NULL)
			abort();
		return 0;
	}
	if (n == 0)
		return 0;
	if ((size_t)n > size || (size_t)n > lim.max_head || h.n_headers > lim.max_headers ||
	    h.content_length > lim.max_body || h.method_len == 0 ||
	    h.method_len > HTTP_METHOD_MAX || h.target_len == 0 ||
	    h.method < buf || h.target + h.target_len > buf + n ||
	    (h.host != NULL && (h.host < buf || h.host + h.host_len > buf + n)) ||
	    memcmp(buf + n - 4, "\r\n\r\n", 4) != 0)
		abort();
	if (http_parse_request(buf, (size_t)n, &lim, &again, &why) != n ||
	    again.target != h.target || again.keep_alive != h.keep_alive)
		abort();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(8455);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (h.host != NULL)
		(void)http_host_allowed(h.host, h.host_len, (struct sockaddr *)&sin);
	return 0;
}
