/* SPDX-License-Identifier: Apache-2.0 */
/*
 * upstream.c - token requests to PureCloud: libcurl's multi interface
 * driven by the caller's libevent loop.
 *
 * Wired as curl's docs/examples/hiperfifo.c wires it: the socket callback
 * keeps one event per socket, the timer callback keeps one timer, both
 * event handlers call curl_multi_socket_action and then drain
 * curl_multi_info_read.  Nothing here blocks.  One multi handle serves the
 * process, so its connection cache keeps connections to the token endpoint
 * alive between requests.
 *
 * Each transfer owns a context (callback, POST body, response buffer)
 * attached with CURLOPT_PRIVATE and freed only where CURLMSG_DONE is handled
 * (or by upstream_free or upstream_cancel).  The body holds an assertion
 * and the response a token: both are wiped before they are freed.  This
 * file turns every ending into an upstream_result (a transfer failure
 * here, an HTTP answer through upstream_answer.c's pure reader); it does
 * not log and keeps no state about tenants or tokens.  The broker reaches
 * it through upstream_curl_ops (struct upstream_ops), a seam tests fake.
 *
 * Choices: TLS is always verified.  With no proxy configured, CURLOPT_PROXY
 * is "" so that https_proxy and friends in the environment cannot silently
 * route tokens elsewhere.  http is allowed only to a literal loopback
 * address (127.0.0.0/8, [::1]).  Redirects are not followed.  A response
 * over RESPONSE_MAX aborts the transfer as UNAVAILABLE
 * "response_too_large" (a misbehaving intermediary is likelier than a
 * refusal).  408, 429 and 5xx are UNAVAILABLE; other non-200 statuses are
 * REJECTED.  Callbacks may start new exchanges but must not call
 * upstream_free.  libcurl keeps its own copies of the client id and secret
 * (CURLOPT_USERNAME/PASSWORD), which it frees without wiping.
 */
#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "samlbroker.h"

/* The largest token response accepted; PureCloud's are well under 4 KiB. */
#define RESPONSE_MAX		(64 * 1024)
/* Connections kept to one host at a time; more transfers wait in curl.
 * Enough for a token endpoint far away at its rate (100/s at 300 ms is 30):
 * the exchanges in progress are bounded by max_exchanges_per_tenant. */
#define MAX_HOST_CONNECTIONS	64
/* Idle connections kept in the multi handle's cache. */
#define MAX_CACHED_CONNECTIONS	64
/* Bytes of an upstream error_description copied into a message. */
#define DESCRIPTION_MAX		200

#define GRANT_SAML2 "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Asaml2-bearer"

struct xfer;

/* The CA bundle in memory (the front's, from the master), else ca_file. */
static char	*ca_bundle;
static size_t	 ca_bundle_len;

struct upstream {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	char			*ca_file;
	char			*proxy;
	long			 connect_timeout;
	long			 request_timeout;
	struct xfer		*xfers;		/* in flight, for upstream_free */
	struct sock		*socks;		/* watched sockets, for upstream_free */
	size_t			 pending;
};

/* One socket curl asked us to watch (hiperfifo's SockInfo). */
struct sock {
	struct upstream		*up;
	curl_socket_t		 fd;
	struct event		*ev;
	struct sock		*prev, *next;
};

/* One transfer (hiperfifo's ConnInfo). */
struct xfer {
	struct upstream		*up;
	CURL			*easy;
	struct curl_slist	*headers;
	enum grant_kind		 grant;
	upstream_cb		 cb;
	void			*arg;
	char			*body;		/* secret: holds the assertion */
	size_t			 body_len;
	struct secret_buf	 resp;		/* secret: holds the token */
	bool			 resp_too_large;
	char			 retry_after[128];	/* raw header value */
	char			 errbuf[CURL_ERROR_SIZE];
	struct xfer		*prev, *next;
};

static void	 check_multi_info(struct upstream *);

/*
 * Event handlers and curl callbacks, as in hiperfifo.c.
 */

/* curl says when it next wants to be called: -1 stops the timer. */
static int
multi_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct upstream	*up = arg;
	struct timeval	 tv;

	if (timeout_ms < 0) {
		evtimer_del(up->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(up->timer, &tv);
	return 0;
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream	*up = arg;
	int		 running;

	curl_multi_socket_action(up->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_multi_info(up);
}

static void
event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream	*up = arg;
	int		 action = 0, running;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(up->multi, fd, action, &running);
	check_multi_info(up);
	/* Not on `running`: a callback may just have started a transfer. */
	if (up->pending == 0 && evtimer_pending(up->timer, NULL))
		evtimer_del(up->timer);
}

static void
sock_free(struct sock *s)
{
	struct upstream	*up = s->up;

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		up->socks = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	if (s->ev != NULL)
		event_free(s->ev);
	free(s);
}

static int
sock_set(struct sock *s, int what)
{
	short	 kind = EV_PERSIST;

	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (s->ev == NULL) {
		s->ev = event_new(s->up->base, s->fd, kind, event_cb, s->up);
		if (s->ev == NULL)
			return -1;
	} else {
		event_del(s->ev);
		if (event_assign(s->ev, s->up->base, s->fd, kind, event_cb,
		    s->up) == -1)
			return -1;
	}
	return event_add(s->ev, NULL);
}

/* curl tells which events it wants on a socket, or that it is done with it. */
static int
sock_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct upstream	*up = arg;
	struct sock	*s = sockp;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			curl_multi_assign(up->multi, fd, NULL);
			sock_free(s);
		}
		return 0;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->up = up;
		s->fd = fd;
		if ((s->next = up->socks) != NULL)
			s->next->prev = s;
		up->socks = s;
		curl_multi_assign(up->multi, fd, s);
	}
	return sock_set(s, what) == -1 ? -1 : 0;
}

/*
 * Response and header callbacks.
 */

/* Collects the body up to RESPONSE_MAX; beyond that the transfer fails. */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 n = size * nmemb;

	if (secret_buf_add(&x->resp, data, n, RESPONSE_MAX) == -1) {
		x->resp_too_large = true;
		return 0;
	}
	return n;
}

/* Keeps the raw Retry-After of the last response (read by upstream_answer.c). */
static size_t
header_cb(char *data, size_t size, size_t nitems, void *arg)
{
	struct xfer	*x = arg;
	size_t		 n = size * nitems;
	const char	*name = "retry-after:";
	size_t		 nlen = strlen(name), vlen;

	/* A new status line (after a proxy's CONNECT answer) starts afresh. */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		x->retry_after[0] = '\0';
		return n;
	}
	if (n <= nlen || strncasecmp(data, name, nlen) != 0)
		return n;
	vlen = n - nlen;
	if (vlen >= sizeof(x->retry_after))
		vlen = 0;	/* too long to be one: ignored */
	memcpy(x->retry_after, data + nlen, vlen);
	x->retry_after[vlen] = '\0';
	return n;
}

/*
 * Classification of a finished transfer (the answer itself is read by
 * upstream_answer.c).
 */

/* A transfer that did not complete: a short code per kind of failure. */
static void
classify_curl(struct xfer *x, CURLcode rc, struct upstream_result *r)
{
	enum upstream_outcome	 outcome = UPSTREAM_UNAVAILABLE;
	const char		*code;
	char			 detail[CURL_ERROR_SIZE];

	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		outcome = UPSTREAM_TIMEOUT;
		code = "timeout";
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		code = "resolve";
		break;
	case CURLE_COULDNT_RESOLVE_PROXY:
#if LIBCURL_VERSION_NUM >= 0x074900
	case CURLE_PROXY:
#endif
		code = "proxy";
		break;
	case CURLE_COULDNT_CONNECT:
		code = "connect";
		break;
	case CURLE_GOT_NOTHING:
		code = "empty_reply";
		break;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		code = "connection";
		break;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		code = x->resp_too_large || rc == CURLE_FILESIZE_EXCEEDED ?
		    "response_too_large" : "write";
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CLIENTCERT:
		code = "tls";
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
		code = "protocol";
		break;
	default:
		code = "transport";
		break;
	}
	if (strcmp(code, "response_too_large") == 0) {
		upstream_result_fail(r, outcome, code,
		    "token endpoint answer exceeds %d bytes", RESPONSE_MAX);
		return;
	}
	upstream_text_sanitize(detail, sizeof(detail), x->errbuf[0] != '\0' ?
	    x->errbuf : curl_easy_strerror(rc), DESCRIPTION_MAX);
	upstream_result_fail(r, outcome, code, "token request failed: %s", detail);
}

static void
classify(struct xfer *x, CURLcode rc, struct upstream_result *r)
{
	long	 status = 0;
	double	 total = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &total);
	r->grant = x->grant;
	r->http_status = status;
	r->latency = total;
	if (rc != CURLE_OK)
		classify_curl(x, rc, r);
	else
		upstream_answer_read(status, x->resp.data, x->resp.len,
		    x->retry_after[0] != '\0' ? x->retry_after : NULL,
		    clock_now(), r);
}

/*
 * Transfers.
 */

/* Takes a transfer off the in-flight list. */
static void
xfer_unlink(struct xfer *x)
{
	struct upstream	*up = x->up;

	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		up->xfers = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
	up->pending--;
}

/* Frees an unlinked transfer, wiping the body and the response. */
static void
xfer_free(struct xfer *x)
{
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	if (x->body != NULL) {
		OPENSSL_cleanse(x->body, x->body_len);
		free(x->body);
	}
	secret_buf_clear(&x->resp);
	OPENSSL_cleanse(x->errbuf, sizeof(x->errbuf));
	free(x);
}

/* Drains finished transfers; callbacks may start new ones meanwhile. */
static void
check_multi_info(struct upstream *up)
{
	CURLMsg		*msg;
	int		 left;

	while ((msg = curl_multi_info_read(up->multi, &left)) != NULL) {
		struct upstream_result	 r;
		struct xfer		*x;
		CURL			*easy = msg->easy_handle;
		CURLcode		 rc = msg->data.result;
		char			*priv = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg is invalid once the handle is removed. */
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		x = (struct xfer *)priv;
		curl_multi_remove_handle(up->multi, easy);
		xfer_unlink(x);
		memset(&r, 0, sizeof(r));
		classify(x, rc, &r);
		/* The callback may start transfers: this loop reads them later. */
		x->cb(&r, x->arg);
		secret_free(r.access_token);
		xfer_free(x);
	}
}

/* Accepts http only for a literal loopback host; everything else is https. */
static int
url_check(const char *url, bool *ret_loopback)
{
	CURLU		*u;
	char		*scheme = NULL, *host = NULL;
	unsigned char	 addr[16];
	int		 rc = -1;
	bool		 loopback = false;

	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto done;
	if (inet_pton(AF_INET, host, addr) == 1)
		loopback = addr[0] == 127;
	else if (strcmp(host, "[::1]") == 0)
		loopback = true;
	if (strcasecmp(scheme, "https") == 0 ||
	    (strcasecmp(scheme, "http") == 0 && loopback)) {
		*ret_loopback = loopback;
		rc = 0;
	}
done:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* Form-urlencodes src onto dst, which has room for 3 * strlen(src). */
static char *
form_encode(char *dst, const char *src)
{
	static const char hex[] = "0123456789ABCDEF";
	static const char unreserved[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-._~";

	for (; *src != '\0'; src++) {
		unsigned char c = (unsigned char)*src;

		if (c != '\0' && strchr(unreserved, c) != NULL) {
			*dst++ = (char)c;
		} else {
			*dst++ = '%';
			*dst++ = hex[c >> 4];
			*dst++ = hex[c & 15];
		}
	}
	*dst = '\0';
	return dst;
}

static struct xfer *
xfer_start(struct upstream *up, const char *url,
    const struct service_client *client, enum grant_kind grant, char *body,
    size_t body_len, upstream_cb cb, void *arg)
{
	struct xfer	*x;
	bool		 loopback;
	int		 ok = 1;

	if (url == NULL || client->client_id == NULL || client->secret == NULL ||
	    url_check_token_endpoint(url) != NULL || url_check(url, &loopback) == -1) {
		OPENSSL_cleanse(body, body_len);
		free(body);
		return NULL;
	}
	x = xcalloc(1, sizeof(*x));
	x->up = up;
	x->grant = grant;
	x->cb = cb;
	x->arg = arg;
	x->body = body;
	x->body_len = body_len;
	if ((x->next = up->xfers) != NULL)
		x->next->prev = x;
	up->xfers = x;
	up->pending++;
	if ((x->easy = curl_easy_init()) == NULL)
		goto fail;

	x->headers = curl_slist_append(NULL,
	    "Content-Type: application/x-www-form-urlencoded");
	if (x->headers != NULL)
		x->headers = curl_slist_append(x->headers, "Accept: application/json");
	if (x->headers != NULL)
		x->headers = curl_slist_append(x->headers, "Expect:");
	if (x->headers == NULL)
		goto fail;

#define SET(opt, val)	ok &= curl_easy_setopt(x->easy, opt, val) == CURLE_OK
	SET(CURLOPT_PRIVATE, x);
	SET(CURLOPT_URL, url);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, loopback ? "https,http" : "https");
#else
	SET(CURLOPT_PROTOCOLS, loopback ? (long)(CURLPROTO_HTTPS | CURLPROTO_HTTP) :
	    (long)CURLPROTO_HTTPS);
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_bundle != NULL) {
		/* The front cannot open ca_file: the master read it. */
		struct curl_blob blob = { ca_bundle, ca_bundle_len, CURL_BLOB_NOCOPY };

		SET(CURLOPT_CAINFO_BLOB, &blob);
		SET(CURLOPT_CAPATH, NULL);
	} else if (up->ca_file != NULL)
		SET(CURLOPT_CAINFO, up->ca_file);
	/* "" disables proxies from the environment (https_proxy and so on). */
	SET(CURLOPT_PROXY, up->proxy != NULL ? up->proxy : "");
	SET(CURLOPT_CONNECTTIMEOUT, up->connect_timeout);
	SET(CURLOPT_TIMEOUT, up->request_timeout);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	SET(CURLOPT_USERNAME, client->client_id);
	SET(CURLOPT_PASSWORD, client->secret);
	SET(CURLOPT_USERAGENT, "samlbroker/" PACKAGE_VERSION);
	SET(CURLOPT_HTTPHEADER, x->headers);
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_POSTFIELDS, x->body);
	SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)RESPONSE_MAX);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, x);
#undef SET
	if (!ok || curl_multi_add_handle(up->multi, x->easy) != CURLM_OK)
		goto fail;
	return x;
fail:
	xfer_unlink(x);
	xfer_free(x);
	return NULL;
}

/*
 * The interface.
 */

void
upstream_ca_bundle_set(char *pem, size_t len)
{
	free(ca_bundle);
	ca_bundle = pem;
	ca_bundle_len = len;
}

struct upstream *
upstream_new(struct event_base *base, const char *ca_file, const char *proxy,
    int connect_timeout, int request_timeout)
{
	struct upstream	*up;
	int		 ok = 1;

	up = xcalloc(1, sizeof(*up));
	up->base = base;
	up->ca_file = ca_file != NULL && ca_file[0] != '\0' ? xstrdup(ca_file) : NULL;
	up->proxy = proxy != NULL && proxy[0] != '\0' ? xstrdup(proxy) : NULL;
	up->connect_timeout = connect_timeout > 0 ? connect_timeout : 10;
	up->request_timeout = request_timeout > 0 ? request_timeout : 30;
	if ((up->timer = evtimer_new(base, timer_cb, up)) == NULL ||
	    (up->multi = curl_multi_init()) == NULL)
		goto fail;
#define MSET(opt, val)	ok &= curl_multi_setopt(up->multi, opt, val) == CURLM_OK
	MSET(CURLMOPT_SOCKETFUNCTION, sock_cb);
	MSET(CURLMOPT_SOCKETDATA, up);
	MSET(CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	MSET(CURLMOPT_TIMERDATA, up);
	MSET(CURLMOPT_MAX_HOST_CONNECTIONS, (long)MAX_HOST_CONNECTIONS);
	MSET(CURLMOPT_MAXCONNECTS, (long)MAX_CACHED_CONNECTIONS);
#undef MSET
	if (!ok)
		goto fail;
	return up;
fail:
	upstream_free(up);
	return NULL;
}

void
upstream_free(struct upstream *up)
{
	struct xfer	*x;

	if (up == NULL)
		return;
	while ((x = up->xfers) != NULL) {
		curl_multi_remove_handle(up->multi, x->easy);
		xfer_unlink(x);
		xfer_free(x);
	}
	if (up->multi != NULL)
		curl_multi_cleanup(up->multi);
	while (up->socks != NULL)
		sock_free(up->socks);
	if (up->timer != NULL)
		event_free(up->timer);
	free(up->ca_file);
	free(up->proxy);
	free(up);
}

static struct xfer *
start_saml2(struct upstream *up, const struct tenant *t,
    const char *saml_response_b64, upstream_cb cb, void *arg)
{
	char	*body, *p;
	size_t	 olen, alen, size;

	if (t->organization_sname == NULL || saml_response_b64 == NULL)
		return NULL;
	olen = strlen(t->organization_sname);
	alen = strlen(saml_response_b64);
	if (olen > (SIZE_MAX - 256) / 3 - alen)
		return NULL;
	size = sizeof("grant_type=" GRANT_SAML2 "&orgName=&assertion=") +
	    3 * (olen + alen);
	body = xmalloc(size);
	p = body + snprintf(body, size, "grant_type=%s&orgName=", GRANT_SAML2);
	p = form_encode(p, t->organization_sname);
	p = stpcpy(p, "&assertion=");
	p = form_encode(p, saml_response_b64);
	return xfer_start(up, t->base_auth_url, &t->saml_auth,
	    GRANT_SAML2_BEARER, body, (size_t)(p - body), cb, arg);
}

static struct xfer *
start_client_credentials(struct upstream *up, const struct tenant *t,
    const struct service_client *client, upstream_cb cb, void *arg)
{
	char	*body = xstrdup("grant_type=client_credentials");

	return xfer_start(up, t->base_auth_url, client, GRANT_CLIENT_CREDENTIALS,
	    body, strlen(body), cb, arg);
}

int
upstream_exchange_saml2(struct upstream *up, const struct tenant *t,
    const char *saml_response_b64, upstream_cb cb, void *arg)
{
	return start_saml2(up, t, saml_response_b64, cb, arg) != NULL ? 0 : -1;
}

int
upstream_exchange_client_credentials(struct upstream *up, const struct tenant *t,
    const struct service_client *client, upstream_cb cb, void *arg)
{
	return start_client_credentials(up, t, client, cb, arg) != NULL ? 0 : -1;
}

/* Stops one transfer; its callback is not called. */
void
upstream_cancel(struct upstream *up, void *handle)
{
	struct xfer	*x = handle;

	if (x == NULL)
		return;
	curl_multi_remove_handle(up->multi, x->easy);
	xfer_unlink(x);
	xfer_free(x);
}

size_t
upstream_pending(const struct upstream *up)
{
	return up->pending;
}

/*
 * The broker's seam (struct upstream_ops): the same, through one table.
 */

static void *
ops_start(void *impl, const struct upstream_request *req, upstream_cb cb,
    void *arg)
{
	if (req->grant == GRANT_SAML2_BEARER)
		return start_saml2(impl, req->tenant, req->assertion_b64, cb, arg);
	return start_client_credentials(impl, req->tenant, req->client, cb, arg);
}

static void
ops_cancel(void *impl, void *handle)
{
	upstream_cancel(impl, handle);
}

const struct upstream_ops upstream_curl_ops = { ops_start, ops_cancel };
