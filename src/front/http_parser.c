/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_parser.c - the request head of the HTTP/1.x subset the broker
 * speaks, as a pure function in the shape of h2o's picohttpparser: bytes
 * in; "complete, N bytes", "need more" or "refused, with a status" out.
 * It owns no socket, allocates nothing, logs nothing and calls nobody;
 * server_conn.c does the I/O around it.  Also the Host rule for TCP
 * listeners (http_host_allowed).
 *
 * Accepted: optional empty lines (CRLF) before the request line; a request
 * line "METHOD SP origin-form SP HTTP/1.0|HTTP/1.1"; header fields
 * "name: value" with optional white space around the value; every line
 * ends in CRLF.  Refused at once, as soon as the offending line is in:
 * a bare LF or a bare CR (400), a NUL or other control byte (400), folded
 * header lines (400), a second Host or Content-Length (400), a
 * Content-Length that is not 1-9 digits (400) or over max_body (413),
 * Transfer-Encoding (501), more than max_headers fields or a head over
 * max_head bytes (431).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "server.h"

/* Bytes a header name may hold: RFC 9110 tchar. */
static bool
is_tchar(unsigned char ch)
{
	static const char	 extra[] = "!#$%&'*+-.^_`|~";

	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= 'A' && ch <= 'Z') || (ch != '\0' && memchr(extra, ch,
	    sizeof(extra) - 1) != NULL);
}

static bool
token_eq(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/* Does a comma-separated list (a Connection value) hold this token? */
static bool
list_has(const char *v, size_t len, const char *word)
{
	size_t	 i = 0;

	while (i < len) {
		size_t	 start, end;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < len && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (token_eq(v + start, end - start, word))
			return true;
	}
	return false;
}

/* METHOD SP target SP HTTP/1.x, without its CRLF. */
static int
parse_request_line(const char *line, size_t len, struct http_head *h,
    const char **why)
{
	const char	*sp1, *sp2, *ver;
	size_t		 vlen;

	*why = "malformed request line";
	if ((sp1 = memchr(line, ' ', len)) == NULL || sp1 == line ||
	    sp1 - line > HTTP_METHOD_MAX)
		return -400;
	if ((sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line))) == NULL ||
	    sp2 == sp1 + 1)
		return -400;
	for (const char *p = line; p < sp1; p++)
		if (!is_tchar((unsigned char)*p))
			return -400;
	for (const char *p = sp1 + 1; p < sp2; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f)
			return -400;
	ver = sp2 + 1;
	vlen = len - (size_t)(ver - line);
	if (memchr(ver, ' ', vlen) != NULL)
		return -400;
	if (vlen == 8 && memcmp(ver, "HTTP/1.1", 8) == 0)
		h->minor_version = 1;
	else if (vlen == 8 && memcmp(ver, "HTTP/1.0", 8) == 0)
		h->minor_version = 0;
	else {
		*why = "only HTTP/1.0 and HTTP/1.1 are spoken";
		return -400;
	}
	h->method = line;
	h->method_len = (size_t)(sp1 - line);
	h->target = sp1 + 1;
	h->target_len = (size_t)(sp2 - sp1 - 1);
	return 0;
}

struct head_state {
	bool	 have_length, have_host, conn_close, conn_keep;
};

/* One header field, without its CRLF. */
static int
parse_header(const char *line, size_t len, struct http_head *h,
    struct head_state *st, const char **why)
{
	const char	*colon, *v, *vend;
	size_t		 nlen, vlen;

	*why = "malformed header field";
	if ((colon = memchr(line, ':', len)) == NULL || colon == line)
		return -400;
	nlen = (size_t)(colon - line);
	for (const char *p = line; p < colon; p++)
		if (!is_tchar((unsigned char)*p))
			return -400;	/* also a folded line (leading space) */
	for (v = colon + 1; v < line + len && (*v == ' ' || *v == '\t'); v++)
		;
	for (vend = line + len; vend > v && (vend[-1] == ' ' || vend[-1] == '\t'); vend--)
		;
	for (const char *p = v; p < vend; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return -400;
	vlen = (size_t)(vend - v);
	if (token_eq(line, nlen, "content-length")) {
		size_t	 n = 0;

		/* One length only (RFC 9112 6.3): no smuggling. */
		*why = "bad Content-Length";
		if (vlen == 0 || vlen > 9 || st->have_length)
			return -400;
		for (const char *p = v; p < vend; p++) {
			if (*p < '0' || *p > '9')
				return -400;
			n = n * 10 + (size_t)(*p - '0');
		}
		st->have_length = true;
		h->content_length = n;
	} else if (token_eq(line, nlen, "transfer-encoding")) {
		*why = "chunked request bodies are not accepted";
		return -501;
	} else if (token_eq(line, nlen, "connection")) {
		st->conn_close |= list_has(v, vlen, "close");
		st->conn_keep |= list_has(v, vlen, "keep-alive");
	} else if (token_eq(line, nlen, "x-samlbroker-request")) {
		h->guard = vlen == 4 && memcmp(v, "true", 4) == 0;
	} else if (token_eq(line, nlen, "host")) {
		*why = "more than one Host field";
		if (st->have_host)
			return -400;	/* RFC 9112 3.2 */
		st->have_host = true;
		h->host = v;
		h->host_len = vlen;
	} else if (token_eq(line, nlen, "origin")) {
		h->has_origin = true;
	} else if (token_eq(line, nlen, "authorization")) {
		*why = "more than one Authorization field";
		if (h->authorization != NULL)
			return -400;
		h->authorization = v;
		h->authorization_len = vlen;
	}
	return 0;
}

int
http_parse_request(const char *buf, size_t len, const struct http_limits *lim,
    struct http_head *ret, const char **ret_why)
{
	struct http_head	 h;
	struct head_state	 st;
	const char		*why = NULL;
	size_t			 p = 0, scan;
	bool			 first = true;
	int			 rc;

	memset(&h, 0, sizeof(h));
	memset(&st, 0, sizeof(st));
	/* Empty lines before a request line are ignored (RFC 9112 2.2). */
	while (p + 1 < len && buf[p] == '\r' && buf[p + 1] == '\n')
		p += 2;
	/* Only the first max_head bytes are ever looked at. */
	scan = len < lim->max_head ? len : lim->max_head;
	for (;;) {
		const char	*eol, *line = buf + p;
		size_t		 llen;

		if (p >= scan || (eol = memchr(line, '\n', scan - p)) == NULL) {
			if (len >= lim->max_head) {
				*ret_why = "request head too large";
				return -431;
			}
			/* A NUL or a bare CR refuses the line before its end. */
			for (const char *q = line; q < buf + len; q++)
				if (*q == '\0' || (*q == '\r' && q + 1 < buf + len)) {
					*ret_why = "malformed request";
					return -400;
				}
			return 0;
		}
		if (eol == line || eol[-1] != '\r') {
			*ret_why = "lines must end in CRLF (bare LF)";
			return -400;
		}
		llen = (size_t)(eol - 1 - line);
		if (memchr(line, '\0', llen) != NULL || memchr(line, '\r', llen) != NULL) {
			*ret_why = "malformed request";
			return -400;
		}
		p = (size_t)(eol - buf) + 1;
		if (first) {
			if ((rc = parse_request_line(line, llen, &h, &why)) < 0)
				goto fail;
			first = false;
			continue;
		}
		if (llen == 0)
			break;	/* the end of the head */
		if (++h.n_headers > lim->max_headers) {
			why = "too many header fields";
			rc = -431;
			goto fail;
		}
		if ((rc = parse_header(line, llen, &h, &st, &why)) < 0)
			goto fail;
	}
	if (h.content_length > lim->max_body) {
		*ret_why = "request body too large";
		return -413;
	}
	h.keep_alive = h.minor_version == 0 ? st.conn_keep && !st.conn_close :
	    !st.conn_close;
	*ret = h;
	return (int)p;
fail:
	*ret_why = why;
	return rc;
}

/* Splits "name:port", "[v6]:port", "name" or "[v6]". */
static int
host_split(const char *host, size_t len, char *name, size_t namecap,
    long *ret_port)
{
	const char	*end = host + len, *colon = NULL;
	long		 port = 80;
	size_t		 nlen;

	if (len > 0 && host[0] == '[') {
		const char *rb = memchr(host, ']', len);

		if (rb == NULL)
			return -1;
		if (rb + 1 < end && rb[1] != ':')
			return -1;
		colon = rb + 1 < end ? rb + 1 : NULL;
		host++;
		nlen = (size_t)(rb - host);
	} else {
		colon = memchr(host, ':', len);
		nlen = colon != NULL ? (size_t)(colon - host) : len;
	}
	if (colon != NULL) {
		const char *d = colon + 1;

		if (d == end || end - d > 5)
			return -1;
		for (port = 0; d < end; d++) {
			if (*d < '0' || *d > '9')
				return -1;
			port = port * 10 + (*d - '0');
		}
	}
	if (nlen == 0 || nlen >= namecap)
		return -1;
	memcpy(name, host, nlen);
	name[nlen] = '\0';
	*ret_port = port;
	return 0;
}

bool
http_host_allowed(const char *host, size_t len, const struct sockaddr *local)
{
	char			 name[INET6_ADDRSTRLEN + 1];
	unsigned char		 a[16];
	long			 port;
	bool			 bracket;

	if (host == NULL || host_split(host, len, name, sizeof(name), &port) == -1)
		return false;
	bracket = host[0] == '[';
	if (local->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)local;

		if (port != ntohs(sin->sin_port))
			return false;
		if (!bracket && strcasecmp(name, "localhost") == 0)
			return true;
		return !bracket && inet_pton(AF_INET, name, a) == 1 &&
		    memcmp(a, &sin->sin_addr, 4) == 0;
	}
	if (local->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)local;
		const unsigned char	  *la = sin6->sin6_addr.s6_addr;

		if (port != ntohs(sin6->sin6_port))
			return false;
		if (!bracket && strcasecmp(name, "localhost") == 0)
			return true;
		if (bracket)
			return inet_pton(AF_INET6, name, a) == 1 && memcmp(a, la, 16) == 0;
		/* An IPv4 caller on a dual-stack listener: ::ffff:a.b.c.d. */
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    inet_pton(AF_INET, name, a) == 1 && memcmp(a, la + 12, 4) == 0;
	}
	return false;
}
