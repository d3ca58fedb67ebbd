/* SPDX-License-Identifier: Apache-2.0 */
/*
 * platform.c - PureCloud's token endpoint and platform API for the
 * one-shot commands (`provision`, `check --online`): blocking libcurl easy
 * requests, one at a time, with the broker's transport rules.
 *
 * TLS is always verified, against ca_file when the configuration names one;
 * the configured proxy is used and, without one, none from the environment.
 * http is allowed only where the configuration allowed it (a loopback
 * host).  Redirects are not followed and answers are bounded.  A 429 is
 * retried after its Retry-After (at most PLATFORM_RETRY_MAX seconds, a few
 * times); every other answer goes back to the caller.  Tokens and secrets
 * are wiped before they are freed and never reach a message.  Does not log:
 * the commands print.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "samlbroker.h"

#define PLATFORM_BODY_MAX	(1024 * 1024)
#define PLATFORM_RETRY_MAX	60	/* longest Retry-After waited for, seconds */
#define PLATFORM_TRIES		4
#define GRANT_SAML2		"urn:ietf:params:oauth:grant-type:saml2-bearer"

struct platform {
	const struct broker_config	*conf;
	bool				 curl_up;
};

struct buf {
	char	*data;
	size_t	 len;
	bool	 too_large;
};

struct platform *
platform_new(const struct broker_config *conf)
{
	struct platform	*p;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->conf = conf;
	p->curl_up = true;
	return p;
}

void
platform_free(struct platform *p)
{
	if (p == NULL)
		return;
	if (p->curl_up)
		curl_global_cleanup();
	free(p);
}

void
platform_reply_clear(struct platform_reply *r)
{
	if (r->body != NULL) {
		OPENSSL_cleanse(r->body, r->body_len);
		free(r->body);
	}
	memset(r, 0, sizeof(*r));
}

static size_t
write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct buf	*b = arg;
	size_t		 len = size * n;
	char		*nd;

	if (b->len + len > PLATFORM_BODY_MAX) {
		b->too_large = true;
		return 0;
	}
	if ((nd = malloc(b->len + len + 1)) == NULL)
		return 0;
	if (b->data != NULL) {
		memcpy(nd, b->data, b->len);
		OPENSSL_cleanse(b->data, b->len);
		free(b->data);
	}
	memcpy(nd + b->len, data, len);
	b->len += len;
	nd[b->len] = '\0';
	b->data = nd;
	return len;
}

static size_t
header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct platform_reply	*r = arg;
	size_t			 len = size * n;
	char			 line[128];

	if (len > 12 && len < sizeof(line) && strncasecmp(data, "Retry-After:", 12) == 0) {
		char	*end;
		double	 v;

		memcpy(line, data + 12, len - 12);
		line[len - 12] = '\0';
		v = strtod(line, &end);
		if (end != line && v >= 0)
			r->retry_after = v;
	}
	return len;
}

/* One request being made. */
struct call {
	CURL			*c;
	struct curl_slist	*hdrs;
	char			*auth;		/* the bearer header: a secret */
	struct buf		 b;
	char			 errbuf[CURL_ERROR_SIZE];
};

/* The transport rules: 1 when every setting held. */
static int
setup_transport(struct platform *p, struct call *k, const struct platform_req *q,
    struct platform_reply *r)
{
	/* The configuration allows http only to a loopback host. */
	bool	 http = strncasecmp(q->url, "http://", 7) == 0;
	int	 ok = 1;

#define SET(opt, val)	ok &= curl_easy_setopt(k->c, opt, val) == CURLE_OK
	SET(CURLOPT_URL, q->url);
	SET(CURLOPT_ERRORBUFFER, k->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, http ? "http" : "https");
#else
	SET(CURLOPT_PROTOCOLS, http ? (long)CURLPROTO_HTTP : (long)CURLPROTO_HTTPS);
#endif
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (p->conf->ca_file != NULL)
		SET(CURLOPT_CAINFO, p->conf->ca_file);
	SET(CURLOPT_PROXY, p->conf->proxy != NULL ? p->conf->proxy : "");
	SET(CURLOPT_CONNECTTIMEOUT, (long)p->conf->connect_timeout);
	SET(CURLOPT_TIMEOUT, (long)p->conf->request_timeout);
	SET(CURLOPT_USERAGENT, "samlbroker/" PACKAGE_VERSION);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, &k->b);
	SET(CURLOPT_HEADERFUNCTION, header_cb);
	SET(CURLOPT_HEADERDATA, r);
	if (q->connect_only)
		SET(CURLOPT_CONNECT_ONLY, 1L);
	return ok;
}

/* Credentials, method and body: 1 when every setting held. */
static int
setup_request(struct call *k, const struct platform_req *q)
{
	int	 ok = 1;

	if (q->user != NULL) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERNAME, q->user);
		SET(CURLOPT_PASSWORD, q->secret);
	}
	if (q->bearer != NULL) {
		size_t n = strlen(q->bearer) + 32;

		k->auth = xmalloc(n);
		snprintf(k->auth, n, "Authorization: Bearer %s", q->bearer);
		k->hdrs = curl_slist_append(k->hdrs, k->auth);
	}
	k->hdrs = curl_slist_append(k->hdrs, "Accept: application/json");
	if (q->form != NULL) {
		k->hdrs = curl_slist_append(k->hdrs,
		    "Content-Type: application/x-www-form-urlencoded");
		SET(CURLOPT_POSTFIELDS, q->form);
	} else if (q->json != NULL) {
		k->hdrs = curl_slist_append(k->hdrs, "Content-Type: application/json");
		SET(CURLOPT_POSTFIELDS, q->json);
	}
	if (q->method != NULL)
		SET(CURLOPT_CUSTOMREQUEST, q->method);
	SET(CURLOPT_HTTPHEADER, k->hdrs);
#undef SET
	return ok && k->hdrs != NULL;
}

/*
 * One request.  user/secret: HTTP Basic; bearer: a token; form or json: the
 * body (POST form, or the method's JSON).  connect_only: connect and
 * handshake, no request.  Every setting holds, or nothing is sent: the TLS
 * checks must not be lost.
 */
static int
perform(struct platform *p, const struct platform_req *q, struct platform_reply *r)
{
	struct call	 k;
	CURLcode	 rc = CURLE_FAILED_INIT;

	memset(r, 0, sizeof(*r));
	memset(&k, 0, sizeof(k));
	if ((k.c = curl_easy_init()) == NULL) {
		snprintf(r->error, sizeof(r->error), "cannot start libcurl");
		return -1;
	}
	if (!setup_transport(p, &k, q, r) || !setup_request(&k, q)) {
		snprintf(r->error, sizeof(r->error), "cannot set up the request (libcurl)");
		goto done;
	}
	rc = curl_easy_perform(k.c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(k.c, CURLINFO_RESPONSE_CODE, &r->status);
	} else {
		r->timeout = rc == CURLE_OPERATION_TIMEDOUT;
		r->tls = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
		    rc == CURLE_SSL_CACERT_BADFILE;
		snprintf(r->error, sizeof(r->error), "%s", k.b.too_large ?
		    "the answer is too large" : k.errbuf[0] != '\0' ? k.errbuf :
		    curl_easy_strerror(rc));
		/* libcurl may quote the server (a certificate's name). */
		text_printable(r->error);
	}
	r->body = k.b.data;
	r->body_len = k.b.len;
	k.b.data = NULL;
done:
	if (k.b.data != NULL) {
		OPENSSL_cleanse(k.b.data, k.b.len);
		free(k.b.data);
	}
	curl_slist_free_all(k.hdrs);
	secret_free(k.auth);
	curl_easy_cleanup(k.c);
	return rc == CURLE_OK ? 0 : -1;
}

int
platform_call(struct platform *p, const struct platform_req *q, struct platform_reply *r,
    void (*waiting)(double seconds, void *), void *arg)
{
	for (int i = 0; ; i++) {
		int rc = perform(p, q, r);

		if (rc == -1 || r->status != 429 || i + 1 == PLATFORM_TRIES ||
		    r->retry_after > PLATFORM_RETRY_MAX)
			return rc;
		if (waiting != NULL)
			waiting(r->retry_after > 0 ? r->retry_after : 1, arg);
		usleep((useconds_t)((r->retry_after > 0 ? r->retry_after : 1) * 1e6));
		platform_reply_clear(r);
	}
}

const char *
platform_json_str(const struct platform_reply *r, const char *key)
{
	static char	 out[256];
	json_t		*j, *v;

	out[0] = '\0';
	if (r->body == NULL || (j = json_loadb(r->body, r->body_len, 0, NULL)) == NULL)
		return NULL;
	if ((v = json_object_get(j, key)) != NULL && json_is_string(v))
		snprintf(out, sizeof(out), "%s", json_string_value(v));
	json_decref(j);
	text_printable(out);
	return out[0] != '\0' ? out : NULL;
}

/* A form value, percent-encoded. */
static char *
form_value(const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*out = xmalloc(strlen(s) * 3 + 1), *o = out;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

int
platform_token(struct platform *p, const struct tenant *t, const struct service_client *sc,
    const char *assertion_b64, char **ret_token, struct platform_reply *r,
    void (*waiting)(double, void *), void *arg)
{
	struct platform_req	 q = { .url = t->base_auth_url, .user = sc->client_id,
	    .secret = sc->secret };
	char			*org = NULL, *as = NULL, *form;
	json_t			*j, *v;
	size_t			 n;
	int			 rc;

	if (assertion_b64 == NULL && sc == &t->saml_auth) {
		/* The probe: no assertion, so only the client can be judged. */
		org = form_value(t->organization_sname);
		n = strlen(org) + 128;
		form = xmalloc(n);
		snprintf(form, n, "grant_type=%s&orgName=%s", GRANT_SAML2, org);
	} else if (assertion_b64 != NULL) {
		org = form_value(t->organization_sname);
		as = form_value(assertion_b64);
		n = strlen(org) + strlen(as) + 128;
		form = xmalloc(n);
		snprintf(form, n, "grant_type=%s&orgName=%s&assertion=%s", GRANT_SAML2,
		    org, as);
	} else {
		form = xstrdup("grant_type=client_credentials");
	}
	q.form = form;
	rc = platform_call(p, &q, r, waiting, arg);
	free(org);
	secret_free(as);
	secret_free(form);
	if (rc == -1 || r->status != 200 || ret_token == NULL)
		return rc == -1 ? -1 : 0;
	if ((j = json_loadb(r->body, r->body_len, 0, NULL)) != NULL &&
	    (v = json_object_get(j, "access_token")) != NULL && json_is_string(v) &&
	    json_string_length(v) > 0)
		*ret_token = xstrdup(json_string_value(v));
	if (j != NULL) {
		/* jansson's copy of the token cannot be wiped; it is freed here. */
		json_decref(j);
	}
	return 0;
}

char *
platform_api_url(const struct tenant *t, const char *path)
{
	const char	*base = t->base_service_url;
	size_t		 bl = strlen(base), n;
	char		*url;

	/* A selfUri ("/api/v2/...") goes on the scheme and host of the base. */
	if (path[0] == '/') {
		const char *host = strstr(base, "://");

		bl = host != NULL ? (size_t)(strcspn(host + 3, "/") + (size_t)(host + 3 - base)) :
		    bl;
	} else if (bl > 0 && base[bl - 1] == '/') {
		bl--;
	}
	n = bl + strlen(path) + 2;
	url = xmalloc(n);
	snprintf(url, n, "%.*s%s%s", (int)bl, base, path[0] == '/' ? "" : "/", path);
	return url;
}
