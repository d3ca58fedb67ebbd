/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server_http.c - the local HTTP/JSON API: routing, the request guard for
 * TCP callers, token, SAMLResponse, health, status and metrics endpoints.
 *
 * Every path through server_http_handle ends in exactly one reply.  Token
 * bodies are written into a buffer that is wiped once libevent has sent it.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define HAVE_MALLINFO2 1
#endif

#include <jansson.h>
#include <openssl/crypto.h>

#include "server.h"
#include "negotiate_wire.h"

static json_t	*status_redis(const struct cache_redis *);

/*
 * The bytes the front has allocated and not freed, as malloc counts them
 * (glibc's mallinfo2 sums the chunks in use over every arena, the event
 * loop's and any thread's, and adds the mmapped blocks): the token cache's
 * footprint shows in it, what the kernel has not taken back does not.
 * -1 where malloc cannot say: not glibc, or AddressSanitizer, whose
 * allocator leaves glibc's arena empty (mallinfo2 says 0).  Valgrind's
 * does too, and a wrapper is not known here: its figure says nothing.
 */
static long long
front_heap_bytes(void)
{
#if defined(HAVE_MALLINFO2) && !defined(UNDER_ASAN)
	struct mallinfo2 mi = mallinfo2();

	return (long long)(mi.uordblks + mi.hblkhd);
#else
	return -1;
#endif
}

#define MAX_SEGMENTS	8
/* The reload error as told to a caller that does not see every tenant. */
#define RELOAD_ERROR_HIDDEN	"the configuration has errors; see the log"

struct request {
	struct server		*srv;
	struct http_req		*req;
	enum endpoint		 ep;
	double			 started;
	const struct peer	*who;	/* the request's */
	const char		*peer;
	char			*tenant;
	char			*subject;
	char			 headers[1024];	/* extra answer headers */
	struct neg_job		*neg_wait;	/* waiting for the negotiator */
	struct waiter		*token_wait;	/* waiting for broker_get_token */
	struct mint_req		*mint_wait;	/* waiting for broker_mint */
};

static const char *const endpoint_names[EP_COUNT] = {
	"user_token", "service_token", "saml_response", "healthz", "readyz",
	"status", "metrics", "other"
};

int
server_endpoint_status_index(int status)
{
	static const int statuses[] = SERVER_STATUSES;

	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (statuses[i] == status)
			return (int)i;
	return SERVER_N_STATUSES - 1;
}

/* The one way out: count, log, send, free. */
static void
request_finish(struct request *r, int status, const char *content_type,
    const char *body, size_t len, bool secret, const char *detail)
{
	struct server	*srv = r->srv;
	const char	*uri = r->req->target;
	double		 ms = (clock_now() - r->started) * 1000.0;

	srv->requests[r->ep][server_endpoint_status_index(status)]++;
	if (log_get_level() >= LOG_LEVEL_INFO && r->ep != EP_HEALTHZ &&
	    r->ep != EP_METRICS) {
		char	 path[301];
		size_t	 i;

		/* The path stays inside its quotes. */
		for (i = 0; uri[i] != '\0' && i < sizeof(path) - 1; i++)
			path[i] = uri[i] == '"' || uri[i] == '\\' ? '?' : uri[i];
		path[i] = '\0';
		log_info("event=request method=%s path=\"%s\" status=%d "
		    "latency_ms=%.3f peer=%s%s%s", r->req->method, path,
		    status, ms < 0 ? 0 : ms, r->peer, detail ? " " : "",
		    detail ? detail : "");
	}
	http_reply(r->req, status, content_type, r->headers[0] ? r->headers : NULL,
	    body, len, secret);
	free(r->tenant);
	free(r->subject);
	free(r);
}

/* Adds an answer header ("Name", "value"). */
static void
header_add(struct request *r, const char *name, const char *value)
{
	size_t	 used = strlen(r->headers);

	snprintf(r->headers + used, sizeof(r->headers) - used, "%s: %s\r\n",
	    name, value);
}

static void
reply_json(struct request *r, int status, json_t *obj, const char *detail)
{
	char	*text = json_dumps(obj, JSON_COMPACT);
	size_t	 len = text ? strlen(text) : 0;
	char	*body = xmalloc(len + 2);

	json_decref(obj);
	if (text != NULL)
		memcpy(body, text, len);
	body[len++] = '\n';
	free(text);
	request_finish(r, status, "application/json", body, len, false, detail);
	free(body);
}

static void
reply_error(struct request *r, int status, const char *code,
    const char *message, const char *upstream_error)
{
	json_t	*o = json_pack("{s:s, s:s}", "error", code, "message", message);
	char	 detail[128];

	if (upstream_error != NULL && upstream_error[0] != '\0')
		json_object_set_new(o, "upstream_error", json_string(upstream_error));
	snprintf(detail, sizeof(detail), "error=%s", code);
	reply_json(r, status, o, detail);
}

static size_t
json_escape(char *out, size_t cap, const char *s)
{
	size_t	 o = 0;

	for (; *s != '\0'; s++) {
		unsigned char	 c = (unsigned char)*s;
		char		 esc[8];
		size_t		 n;

		if (c == '"' || c == '\\')
			n = (size_t)snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c < 0x20)
			n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
		else {
			esc[0] = (char)c;
			n = 1;
		}
		if (o + n >= cap)
			return (size_t)-1;
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o] = '\0';
	return o;
}

/* The same token is answered many times: remember its expiry's text. */
static void
rfc3339_cached(double t, char *buf, size_t len)
{
	static double	 last = -1;
	static char	 text[32];

	if (t != last) {
		if (format_rfc3339(t, text, sizeof(text)) == -1)
			text[0] = '\0';
		last = t;
	}
	snprintf(buf, len, "%s", text);
}

static void
reply_secret_json(struct request *r, int status, const char *fmt_key,
    const char *secret, double expires_at, const char *time_key, bool with_expiry,
    const char *detail)
{
	size_t		 cap = strlen(secret) * 6 + 256, n;
	char		*buf = xmalloc(cap), when[32], *esc;
	double		 now = clock_now();
	long		 left = (long)floor(expires_at - now);
	int		 len;

	esc = xmalloc(strlen(secret) * 6 + 1);
	if ((n = json_escape(esc, strlen(secret) * 6 + 1, secret)) == (size_t)-1) {
		free(esc);
		free(buf);
		reply_error(r, 500, "internal_error", "cannot encode the answer", NULL);
		return;
	}
	rfc3339_cached(expires_at, when, sizeof(when));
	if (with_expiry)
		len = snprintf(buf, cap, "{\"%s\":\"%s\",\"token_type\":\"bearer\","
		    "\"expires_in\":%ld,\"%s\":\"%s\"}\n", fmt_key, esc,
		    left < 0 ? 0 : left, time_key, when);
	else
		len = snprintf(buf, cap, "{\"%s\":\"%s\",\"%s\":\"%s\"}\n",
		    fmt_key, esc, time_key, when);
	OPENSSL_cleanse(esc, n);
	free(esc);
	/* A secret: the answer buffers are wiped once written. */
	header_add(r, "Cache-Control", "no-store");
	request_finish(r, status, "application/json", buf, (size_t)len, true, detail);
	OPENSSL_cleanse(buf, cap);
	free(buf);
}

/* A broker answer that is an error: its status, code and Retry-After.
 * Returns whether it was one (and was answered). */
static bool
reply_broker_error(struct request *r, const struct broker_reply *br,
    const char *upstream_error)
{
	char	 retry[32];

	if (br->error == NULL)
		return false;
	if (br->retry_after > 0) {
		snprintf(retry, sizeof(retry), "%.0f", br->retry_after);
		header_add(r, "Retry-After", retry);
	}
	reply_error(r, br->status, br->error, br->message, upstream_error);
	return true;
}

static void
on_token(const struct broker_reply *br, void *arg)
{
	struct request	*r = arg;

	r->token_wait = NULL;
	r->srv->in_flight--;
	if (reply_broker_error(r, br, br->upstream_error))
		return;
	reply_secret_json(r, 200, "access_token", br->token, br->expires_at,
	    "expires_at", true, br->from_cache ? "cache=hit" : "cache=miss");
}

static int
hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* %XX decoding of in[0..len) ('+' stays '+'); NULL on a malformed escape. */
static char *
percent_decode(const char *in, size_t len, size_t *ret_len)
{
	char	*out = xmalloc(len + 1);
	size_t	 o = 0;

	for (const char *p = in; p < in + len; p++) {
		if (*p != '%') {
			out[o++] = *p;
			continue;
		}
		if (p + 2 >= in + len || hex_digit(p[1]) < 0 || hex_digit(p[2]) < 0) {
			free(out);
			return NULL;
		}
		out[o++] = (char)(hex_digit(p[1]) * 16 + hex_digit(p[2]));
		p += 2;
	}
	out[o] = '\0';
	*ret_len = o;
	return out;
}

/* Splits and percent-decodes a path; -1 if malformed. */
static int
path_split(const char *path, char **segs, size_t max, size_t *ret_n)
{
	size_t		 n = 0;
	const char	*p = path;

	if (*p != '/')
		return -1;
	while (*p == '/') {
		const char	*start = ++p;
		char		*dec;
		size_t		 declen;

		while (*p != '\0' && *p != '/')
			p++;
		if (p == start && *p == '\0')
			break;	/* trailing slash */
		if (n == max)
			goto fail;
		dec = percent_decode(start, (size_t)(p - start), &declen);
		if (dec == NULL)
			goto fail;
		if (declen != strlen(dec) || declen == 0) {	/* NUL inside, or empty */
			free(dec);
			goto fail;
		}
		segs[n++] = dec;
	}
	if (*p != '\0')
		goto fail;
	*ret_n = n;
	return 0;
fail:
	while (n > 0)
		free(segs[--n]);
	return -1;
}

/*
 * The caller's login name (struct caller's login seam; arg is the
 * request, whose connection's struct peer keeps it), looked up once per
 * connection: asked of the master under serve, else of NSS.  An NSS
 * lookup: getpwuid_r may ask a directory server, and its time depends on
 * the caller, so access_decide asks for it only after the caller is known
 * to the tenant, and only for an agent.  NULL when unknown.
 */
static const char *
caller_login(void *arg)
{
	struct request		*r = arg;
	const struct server	*srv = r->srv;
	struct peer		*who = &r->req->who;
	struct passwd	 pw, *res = NULL;
	char		 buf[4096];

	if (!who->login_looked_up && who->is_unix) {
		who->login_looked_up = true;
		/* Under the master the front cannot read the user database:
		 * the master answers. */
		if (srv->control != NULL) {
			who->has_login = front_control_login(srv->control, who->uid,
			    who->login, sizeof(who->login)) == 0;
		} else if (getpwuid_r((uid_t)who->uid, &pw, buf, sizeof(buf), &res) == 0 &&
		    res != NULL && strlen(res->pw_name) < sizeof(who->login)) {
			memcpy(who->login, res->pw_name, strlen(res->pw_name) + 1);
			who->has_login = true;
		}
	}
	return who->has_login ? who->login : NULL;
}

/* The caller as the kernel told it; the login name only on demand. */
static void
caller_of(struct request *r, struct caller *c)
{
	struct peer	*who = &r->req->who;

	memset(c, 0, sizeof(*c));
	c->is_unix = who->is_unix;
	c->is_admin = who->is_admin;
	c->uid = who->uid;
	c->gids = who->groups;
	c->n_gids = who->n_groups;
	if (r->req->front->https && who->cert_identity[0] != '\0')
		c->cert_identity = who->cert_identity;
	else if (r->req->front->https && who->krb5_principal[0] != '\0')
		c->krb5_principal = who->krb5_principal;
	if (who->is_unix) {
		c->login = caller_login;
		c->login_arg = r;
	}
}

/*
 * The tenant's access rules; on refusal the answer is sent here.  A caller
 * the tenant does not name gets exactly the answer of an unknown tenant.
 */
static bool
tenant_allows(struct request *r)
{
	const struct tenant	*t = config_tenant_find(broker_config(r->srv->broker),
				    r->tenant);
	struct caller		 c;
	enum access_action	 action;
	enum access_result	 res;
	const char		*rule = NULL;

	if (t == NULL)
		return true;	/* the broker answers unknown_tenant */
	action = r->ep == EP_SERVICE_TOKEN ? ACCESS_SERVICE_TOKEN :
	    r->ep == EP_SAML_RESPONSE ? ACCESS_SAML_RESPONSE : ACCESS_USER_TOKEN;
	caller_of(r, &c);
	res = access_decide(t, &c, action, r->subject, &rule);
	if (res == ACCESS_ALLOW)
		return true;
	log_warnx("event=forbidden tenant=%s peer=%s rule=\"%s\"%s", t->name,
	    r->peer, rule, res == ACCESS_HIDDEN ? " answered=unknown_tenant" : "");
	if (res == ACCESS_HIDDEN) {
		reply_error(r, 404, "unknown_tenant", "no such tenant", NULL);
		return false;
	}
	reply_error(r, 403, "forbidden", rule, NULL);
	return false;
}

static void handle_status(struct request *);
static void handle_metrics(struct request *);

static void
handle_token(struct request *r, const char *m, enum token_kind kind)
{
	struct broker_reply	 br;
	struct waiter		*w;

	/* The method first: an unknown tenant is answered the same way. */
	if (strcmp(m, "DELETE") != 0 && strcmp(m, "GET") != 0) {
		header_add(r, "Allow", "GET, DELETE");
		reply_error(r, 405, "method_not_allowed", "use GET or DELETE", NULL);
		return;
	}
	if (!tenant_allows(r))
		return;
	if (strcmp(m, "DELETE") == 0) {
		if (broker_evict_token(r->srv->broker, r->tenant, kind, r->subject,
		    &br) == -1) {
			reply_error(r, br.status, br.error, br.message, NULL);
			return;
		}
		request_finish(r, 204, NULL, NULL, 0, false, "evicted=1");
		return;
	}
	r->srv->in_flight++;
	/* Answered already (r is gone) or waiting (r waits with it). */
	if ((w = broker_get_token(r->srv->broker, r->tenant, kind, r->subject,
	    on_token, r)) != NULL)
		r->token_wait = w;
}

static void
on_saml_response(const struct broker_reply *br, void *arg)
{
	struct request	*r = arg;

	r->mint_wait = NULL;
	r->srv->in_flight--;
	if (reply_broker_error(r, br, NULL))
		return;
	reply_secret_json(r, 200, "saml_response", br->saml_response,
	    br->not_on_or_after, "not_on_or_after", false, NULL);
}

static void
handle_saml_response(struct request *r, const char *m)
{
	struct mint_req	*w;

	if (strcmp(m, "POST") != 0) {
		header_add(r, "Allow", "POST");
		reply_error(r, 405, "method_not_allowed", "use POST", NULL);
		return;
	}
	if (!tenant_allows(r))
		return;
	r->srv->in_flight++;
	if ((w = broker_mint(r->srv->broker, r->tenant, r->subject,
	    on_saml_response, r)) != NULL)
		r->mint_wait = w;
}

void
server_http_gone(struct http_req *req)
{
	struct request	*r = req->api;

	if (r == NULL)
		return;
	if (r->neg_wait != NULL) {
		server_negotiate_cancel(r->neg_wait);
		r->neg_wait = NULL;
		request_finish(r, 499, NULL, NULL, 0, false, "error=client_gone");
		return;
	}
	if (r->token_wait != NULL)
		broker_token_cancel(r->srv->broker, r->token_wait);
	else if (r->mint_wait != NULL)
		broker_mint_cancel(r->srv->broker, r->mint_wait);
	else
		return;	/* nothing to cancel: answered into the void later */
	r->srv->in_flight--;
	/* 499 as nginx logs it: the client closed the request (counted as
	 * "other"); nothing is sent. */
	request_finish(r, 499, NULL, NULL, 0, false, "error=client_gone");
}

static void
handle_simple_get(struct request *r, const char *m)
{
	if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
		header_add(r, "Allow", "GET, HEAD");
		reply_error(r, 405, "method_not_allowed", "use GET", NULL);
		return;
	}
	switch (r->ep) {
	case EP_HEALTHZ:
		reply_json(r, 200, json_pack("{s:s}", "status", "ok"), NULL);
		break;
	case EP_READYZ:
		if (r->srv->ready && !r->srv->stopping)
			reply_json(r, 200, json_pack("{s:s}", "status", "ready"), NULL);
		else
			reply_json(r, 503, json_pack("{s:s, s:s}", "status",
			    "not_ready", "reason", r->srv->stopping ?
			    "shutting down" : "starting"), NULL);
		break;
	case EP_STATUS:
		handle_status(r);
		break;
	default:
		handle_metrics(r);
		break;
	}
}

int
server_http_route(const char *target, enum endpoint *ret_ep, char **ret_tenant,
    char **ret_subject)
{
	enum endpoint	 ep = EP_OTHER;
	char		*path, *seg[MAX_SEGMENTS];
	size_t		 n = 0;

	/* origin-form only; the query, if any, is ignored. */
	path = xstrndup(target, strcspn(target, "?#"));
	if (path_split(path, seg, MAX_SEGMENTS, &n) == -1) {
		free(path);
		return -1;
	}
	free(path);
	if (n == 1 && strcmp(seg[0], "healthz") == 0)
		ep = EP_HEALTHZ;
	else if (n == 1 && strcmp(seg[0], "readyz") == 0)
		ep = EP_READYZ;
	else if (n == 1 && strcmp(seg[0], "metrics") == 0)
		ep = EP_METRICS;
	else if (n == 2 && strcmp(seg[0], "v1") == 0 && strcmp(seg[1], "status") == 0)
		ep = EP_STATUS;
	else if (n == 6 && strcmp(seg[0], "v1") == 0 && strcmp(seg[1], "tenants") == 0 &&
	    strcmp(seg[3], "users") == 0 && strcmp(seg[5], "token") == 0)
		ep = EP_USER_TOKEN;
	else if (n == 6 && strcmp(seg[0], "v1") == 0 && strcmp(seg[1], "tenants") == 0 &&
	    strcmp(seg[3], "users") == 0 && strcmp(seg[5], "saml-response") == 0)
		ep = EP_SAML_RESPONSE;
	else if (n == 6 && strcmp(seg[0], "v1") == 0 && strcmp(seg[1], "tenants") == 0 &&
	    strcmp(seg[3], "services") == 0 && strcmp(seg[5], "token") == 0)
		ep = EP_SERVICE_TOKEN;
	*ret_tenant = *ret_subject = NULL;
	if (ep == EP_USER_TOKEN || ep == EP_SAML_RESPONSE || ep == EP_SERVICE_TOKEN) {
		*ret_tenant = seg[2];
		*ret_subject = seg[4];
		seg[2] = seg[4] = NULL;
	}
	for (size_t i = 0; i < n; i++)
		free(seg[i]);
	*ret_ep = ep;
	return 0;
}

/*
 * Negotiate (RFC 4559): 401 with WWW-Authenticate: Negotiate; reason (a
 * refusal of the negotiator's or of ours) is logged first.
 */
static void
negotiate_refuse(struct request *r, const char *reason)
{
	if (reason != NULL)
		log_warnx("event=negotiate_refused peer=%s reason=\"%s\"", r->peer,
		    reason);
	r->headers[0] = '\0';
	header_add(r, "WWW-Authenticate", "Negotiate");
	reply_error(r, 401, "unauthorized", reason == NULL ? "this listener "
	    "serves only authenticated callers: authenticate with Negotiate "
	    "(Kerberos)" : "Negotiate authentication failed; the broker's log "
	    "says why", NULL);
}

static void	 handle_authenticated(struct request *);

/* One character of a Kerberos principal the broker accepts: as a
 * certificate identity's (server_tls.c), since a principal is logged
 * (principal=krb5:...), written in rules and becomes %u. */
static bool
principal_char_ok(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\' && ch != ',' &&
	    ch != '\'';
}

/* NAME@REALM, one @ (MIT writes a component's @ as \@), every character
 * acceptable. */
static bool
principal_acceptable(const char *p)
{
	const char	*at = strchr(p, '@');

	if (at == NULL || at == p || at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return false;
	for (; *p != '\0'; p++)
		if (!principal_char_ok((unsigned char)*p))
			return false;
	return true;
}

static void
negotiate_done(void *arg, const struct neg_wire_reply *nr, const unsigned char *out,
    size_t outlen, const char *why)
{
	struct request	*r = arg;
	const char	*at;
	char		 reason[NEG_REASON_MAX + 64];

	r->neg_wait = NULL;
	if (r->req->conn == NULL) {
		request_finish(r, 499, NULL, NULL, 0, false, "error=client_gone");
		return;
	}
	if (nr == NULL) {
		log_warnx("event=negotiate_unavailable peer=%s error=\"%s\"", r->peer,
		    why);
		reply_error(r, 503, "negotiator_unavailable", "Kerberos "
		    "authentication is not available right now; try again", NULL);
		return;
	}
	if (nr->status != NEG_WIRE_OK) {
		negotiate_refuse(r, nr->reason);
		return;
	}
	if (!principal_acceptable(nr->principal)) {
		char	 shown[NEG_PRINCIPAL_MAX + 1];

		snprintf(shown, sizeof(shown), "%s", nr->principal);
		for (char *p = shown; *p != '\0'; p++)
			if (!principal_char_ok((unsigned char)*p))
				*p = '?';
		snprintf(reason, sizeof(reason), "invalid token (the client's "
		    "principal %s holds a character the broker does not accept: "
		    "printable ASCII without space, quotes, backslash or comma, "
		    "and one @)", shown);
		negotiate_refuse(r, reason);
		return;
	}
	at = strrchr(nr->principal, '@');
	if (at == NULL || !krb5_realm_allowed(r->srv->krb5_realms, at + 1)) {
		snprintf(reason, sizeof(reason), "realm not allowed (%s is not in "
		    "krb5_realms; principal %s)", at != NULL ? at + 1 : "none",
		    nr->principal);
		negotiate_refuse(r, reason);
		return;
	}
	if (outlen > 0) {
		char	*b64 = base64_encode(out, outlen, 0);
		size_t	 used = strlen(r->headers);

		snprintf(r->headers + used, sizeof(r->headers) - used,
		    "WWW-Authenticate: Negotiate %s\r\n", b64);
		free(b64);
	}
	http_conn_krb5_set(r->req, nr->principal);
	handle_authenticated(r);
}

/* A request carrying a Negotiate token on a connection not yet
 * authenticated: true when it went to the negotiator (answered later). */
static bool
negotiate_begin(struct request *r)
{
	unsigned char	*tok = NULL;
	size_t		 len = 0;

	if (r->req->negotiate == NULL || !r->req->front->https ||
	    !(r->srv->https_methods & HTTPS_AUTH_NEGOTIATE) ||
	    r->who->cert_identity[0] != '\0' || r->who->krb5_principal[0] != '\0')
		return false;
	if (base64_decode_lenient(r->req->negotiate, &tok, &len) == -1 || len == 0) {
		free(tok);
		negotiate_refuse(r, "invalid token (not base64)");
		return true;
	}
	if (len > NEG_TOKEN_MAX) {
		/* max_header_size may leave room for more than the
		 * negotiator takes: a refusal, not "busy". */
		OPENSSL_cleanse(tok, len);
		free(tok);
		negotiate_refuse(r, "invalid token (larger than 48 KiB)");
		return true;
	}
	r->neg_wait = server_negotiate_start(r->srv->negotiate, tok, len,
	    negotiate_done, r);
	OPENSSL_cleanse(tok, len);
	free(tok);
	if (r->neg_wait == NULL)
		reply_error(r, 503, "negotiator_busy", "too many Kerberos "
		    "authentications are waiting; try again", NULL);
	return true;
}

/*
 * Web pages stop here.  A request with Origin comes from a browser (or is
 * relayed for one), on any listener.  Over TCP, a page cannot add the
 * guard header without a CORS preflight, which is never granted; but a
 * page served by a name the attacker rebinds to 127.0.0.1 (DNS rebinding)
 * is same-origin and needs no preflight, so its Host must also be this
 * listener's own address or localhost, with the port.  A missing Host is
 * refused too.  On refusal the answer is sent here.
 */
static bool
front_allows(struct request *r)
{
	const char	*why = NULL;

	if (r->req->front->https && r->who->cert_identity[0] == '\0' &&
	    r->who->krb5_principal[0] == '\0') {
		if (r->srv->https_methods & HTTPS_AUTH_NEGOTIATE) {
			negotiate_refuse(r, NULL);
			return false;
		}
		/* The listener's methods found no identity (server_tls.c logged
		 * why): nothing is answered but this. */
		reply_error(r, 401, "unauthorized", "this listener serves only "
		    "authenticated callers, and this connection's client "
		    "certificate names no usable identity", NULL);
		return false;
	}
	if (r->req->has_origin)
		why = "requests from web pages (with an Origin header) are refused";
	else if (r->req->front->tcp && !r->req->guard)
		why = "requests over TCP must carry the header X-Samlbroker-Request: true";
	else if (!r->req->host_ok)
		why = "over TCP the Host header must be this listener's address or "
		    "localhost, with its port";
	if (why == NULL)
		return true;
	reply_error(r, 403, "forbidden", why, NULL);
	return false;
}

void
server_http_handle(struct http_req *req)
{
	struct server_front		*front = req->front;
	struct server			*srv = front->srv;
	struct request			*r = xcalloc(1, sizeof(*r));

	r->srv = srv;
	r->req = req;
	req->api = r;
	r->ep = EP_OTHER;
	r->started = clock_now();
	r->who = &req->who;
	r->peer = req->peer;

	if (negotiate_begin(r))
		return;
	handle_authenticated(r);
}

/* The rest of a request, once its caller is known. */
static void
handle_authenticated(struct request *r)
{
	struct server	*srv = r->srv;
	struct http_req	*req = r->req;
	const char	*m = req->method;

	if (!front_allows(r))
		return;
	if (server_http_route(req->target, &r->ep, &r->tenant, &r->subject) == -1) {
		reply_error(r, 400, "bad_request", "malformed request path", NULL);
		return;
	}

	/* With admin_listen set, admin endpoints live there and only there. */
	if (srv->has_admin_listener && r->ep != EP_OTHER &&
	    r->who->is_admin != (r->ep >= EP_HEALTHZ)) {
		reply_error(r, 404, "not_found", r->who->is_admin ?
		    "this is the admin address: only /healthz, /readyz, /v1/status "
		    "and /metrics" : "no such endpoint", NULL);
		return;
	}
	switch (r->ep) {
	case EP_USER_TOKEN:
		handle_token(r, m, TOKEN_USER);
		break;
	case EP_SERVICE_TOKEN:
		handle_token(r, m, TOKEN_SERVICE);
		break;
	case EP_SAML_RESPONSE:
		handle_saml_response(r, m);
		break;
	case EP_OTHER:
		reply_error(r, 404, "not_found", "no such endpoint", NULL);
		break;
	default:
		handle_simple_get(r, m);
		break;
	}
}

static json_t *
json_time(double t)
{
	char	 buf[32];

	if (t <= 0 || format_rfc3339(t, buf, sizeof(buf)) == -1)
		return json_null();
	return json_string(buf);
}

/*
 * What a caller sees of the whole broker on /v1/status and /metrics.  The
 * admin address, and a caller that may use every tenant, see everything.
 * Any other caller sees only its tenants: their series, sums over them
 * alone, no reload error text (it may name a hidden tenant's file), and
 * none of the process-wide counters whose movement tells another
 * tenant's activity (requests, exchanges, the signers' requests).  The
 * tenants are those of the running configuration: a tenant that only a
 * refused reload would have added is judged by the rules in force.
 */
struct view {
	struct caller	 c;
	bool		 all;
};

static void
view_of(struct request *r, struct view *v)
{
	const struct broker_config	*conf = broker_config(r->srv->broker);

	caller_of(r, &v->c);
	v->all = true;
	for (size_t i = 0; i < conf->n_tenants && !v->c.is_admin; i++)
		if (!access_tenant_visible(conf->tenants[i], &v->c))
			v->all = false;
}

static bool
view_has(const struct view *v, const struct tenant *t)
{
	return v->all || access_tenant_visible(t, &v->c);
}

/* Cached tokens of the tenants in view. */
static size_t
view_cached(struct request *r, const struct view *v)
{
	const struct broker_config	*conf = broker_config(r->srv->broker);
	size_t				 n = 0;

	if (v->all)
		return broker_cached_count(r->srv->broker);
	for (size_t i = 0; i < conf->n_tenants; i++)
		if (view_has(v, conf->tenants[i]))
			n += broker_cached_count_tenant(r->srv->broker,
			    conf->tenants[i]->name);
	return n;
}

static json_t *
reload_error(struct request *r, const struct view *v)
{
	if (r->srv->reload_error[0] == '\0')
		return json_null();
	return json_string(v->all ? r->srv->reload_error : RELOAD_ERROR_HIDDEN);
}

static const char *const grant_names[] = { "saml2_bearer", "client_credentials" };
static const char *const outcome_names[] = { "ok", "rejected", "unavailable",
    "timeout" };

static json_t *
json_str_or_null(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

/* Each OAuth client of tenant i ([saml_auth], then the services): its
 * client id (not a secret) and how its last exchange ended. */
static json_t *
status_clients(struct request *r, size_t i)
{
	const struct tenant	*t = broker_config(r->srv->broker)->tenants[i];
	json_t			*arr = json_array();

	for (size_t c = 0; c < tenant_client_count(t); c++) {
		const struct service_client *sc = tenant_client(t, c);
		const struct client_stats *cs = broker_client_stats(r->srv->broker, i, c);
		json_int_t	 n = 0;

		for (int o = 0; o < 4; o++)
			n += (json_int_t)cs->exchanges[o];
		json_array_append_new(arr, json_pack(
		    "{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:I}",
		    "name", sc->name,
		    "client_id", sc->client_id,
		    "grant", grant_names[c == 0 ? GRANT_SAML2_BEARER :
			GRANT_CLIENT_CREDENTIALS],
		    "last_result", n == 0 ? json_null() :
			json_string(cs->failed ? "failed" : "ok"),
		    "last_success", json_time(cs->last_success),
		    "last_failure", json_time(cs->last_failure),
		    "last_error", json_str_or_null(cs->last_error),
		    "last_reason", json_str_or_null(cs->last_reason),
		    "exchanges", n));
	}
	return arr;
}

static void
status_pace(const char *org, const char *url, const struct pace *p, void *arg)
{
	json_array_append_new(arg, json_pack(
	    "{s:s, s:s, s:o, s:I, s:I, s:I, s:o}",
	    "organization", org,
	    "token_endpoint", url,
	    "rate", p->rate > 0 ? json_real(p->rate) : json_null(),
	    "queued", (json_int_t)p->queued,
	    "in_flight", (json_int_t)p->in_flight,
	    "rate_limited", (json_int_t)p->limited,
	    "paused_until", json_time(p->pause_until > clock_now() ?
		p->pause_until : 0)));
}

static void
handle_status(struct request *r)
{
	const struct broker_config	*conf = broker_config(r->srv->broker);
	json_t				*o, *tenants = json_array();
	double				 now = clock_now();
	struct view			 v;

	view_of(r, &v);
	for (size_t i = 0; i < conf->n_tenants; i++) {
		const struct tenant		*t = conf->tenants[i];
		const struct tenant_stats	*ts = broker_tenant_stats(r->srv->broker, i);
		json_t				*svcs, *rollover;

		/* A caller sees the tenants it may use; the admin address all. */
		if (!view_has(&v, t))
			continue;
		svcs = json_array();

		for (size_t s = 0; s < t->n_services; s++)
			json_array_append_new(svcs, json_string(t->services[s].name));
		rollover = json_pack("{s:s}", "state", tenant_rollover_state(t));
		if (t->next_cert != NULL)
			json_object_set_new(rollover, "next", json_pack("{s:o, s:s}",
			    "not_after", json_time(keystore_not_after(t->next_cert)),
			    "sha256_fingerprint", keystore_fingerprint(t->next_cert)));
		if (t->previous_cert != NULL)
			json_object_set_new(rollover, "previous", json_pack("{s:s}",
			    "sha256_fingerprint", keystore_fingerprint(t->previous_cert)));
		json_array_append_new(tenants, json_pack(
		    "{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:o, s:s, s:b}, s:o, s:o, s:o, "
		    "s:{s:I, s:I, s:I, s:I}, "
		    "s:{s:o, s:o, s:o, s:i, s:f}}",
		    "name", t->name,
		    "state", broker_tenant_failing(r->srv->broker, i) ? "failing" : "ok",
		    "organization_id", t->organization_id,
		    "organization_sname", t->organization_sname,
		    "issuer", t->issuer,
		    "certificate",
			"subject", keystore_subject(t->keys),
			"not_after", json_time(keystore_not_after(t->keys)),
			"sha256_fingerprint", keystore_fingerprint(t->keys),
			"expired", keystore_not_after(t->keys) < now,
		    "rollover", rollover,
		    "services", svcs,
		    "clients", status_clients(r, i),
		    "cache",
			"entries", (json_int_t)broker_cached_count_tenant(r->srv->broker, t->name),
			"hits", (json_int_t)ts->hits,
			"misses", (json_int_t)ts->misses,
			"mints", (json_int_t)ts->mints,
		    "upstream",
			"last_success", json_time(ts->last_success),
			"last_failure", json_time(ts->last_failure),
			"last_error", ts->last_error[0] ? json_string(ts->last_error) : json_null(),
			"consecutive_failures", ts->consecutive_failures,
			"current_backoff", ts->current_backoff));
	}
	o = json_pack("{s:s, s:o, s:I, s:s, s:{s:I, s:o, s:b, s:o}, s:I, s:o, s:o, s:o}",
	    "version", PACKAGE_VERSION,
	    "started", json_time(r->srv->started),
	    "uptime", (json_int_t)(now - r->srv->started),
	    "config_file", r->srv->config_path,
	    "last_reload",
		"count", (json_int_t)r->srv->reload_count,
		"time", json_time(r->srv->reload_time),
		"ok", r->srv->reload_ok,
		"error", reload_error(r, &v),
	    "cached_tokens", (json_int_t)view_cached(r, &v),
	    "tenants", tenants,
	    "signers", server_signers_status(r->srv, v.all),
	    "redis", v.all ? status_redis(broker_redis(r->srv->broker)) : json_null());
	/* Organizations span tenants, and the front's heap moves with every
	 * tenant's callers: the admin's view only. */
	if (v.all) {
		json_t *pacing = json_array();
		long long heap = front_heap_bytes();

		broker_pace_each(r->srv->broker, status_pace, pacing);
		json_object_set_new(o, "pacing", pacing);
		json_object_set_new(o, "heap_bytes", heap >= 0 ?
		    json_integer((json_int_t)heap) : json_null());
	}
	reply_json(r, 200, o, NULL);
}

/* The shared cache's counters, when [broker] redis is set. */
static void
metrics_redis(FILE *b, const struct cache_redis *cr)
{
	const struct cache_redis_stats *st = cache_redis_stats(cr);

	if (st == NULL)
		return;
	fprintf(b, "# HELP samlbroker_redis_up Whether the shared cache (Redis) answers.\n"
	    "# TYPE samlbroker_redis_up gauge\nsamlbroker_redis_up %d\n"
	    "# HELP samlbroker_redis_hits_total Tokens found in the shared cache.\n"
	    "# TYPE samlbroker_redis_hits_total counter\nsamlbroker_redis_hits_total %llu\n"
	    "# HELP samlbroker_redis_misses_total Tokens not in the shared cache, exchanged here.\n"
	    "# TYPE samlbroker_redis_misses_total counter\nsamlbroker_redis_misses_total %llu\n"
	    "# HELP samlbroker_redis_waits_total Lookups that waited for another broker's exchange.\n"
	    "# TYPE samlbroker_redis_waits_total counter\nsamlbroker_redis_waits_total %llu\n"
	    "# HELP samlbroker_redis_errors_total Shared cache failures: commands, timeouts, rejected values.\n"
	    "# TYPE samlbroker_redis_errors_total counter\nsamlbroker_redis_errors_total %llu\n",
	    cache_redis_available(cr) ? 1 : 0, (unsigned long long)st->hits,
	    (unsigned long long)st->misses, (unsigned long long)st->waits,
	    (unsigned long long)st->errors);
}

/* /v1/status's "redis": null when unset. */
static json_t *
status_redis(const struct cache_redis *cr)
{
	const struct cache_redis_stats *st = cache_redis_stats(cr);

	if (st == NULL)
		return json_null();
	return json_pack("{s:s, s:I, s:I, s:I, s:I}",
	    "state", cache_redis_available(cr) ? "available" : "unavailable",
	    "hits", (json_int_t)st->hits, "misses", (json_int_t)st->misses,
	    "waits", (json_int_t)st->waits, "errors", (json_int_t)st->errors);
}

void
server_metrics_label(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/*
 * The token endpoint's exchanges by tenant, client section (saml_auth or
 * a service: a bounded set, never an agent's address), grant and outcome,
 * for the tenants in view.
 */
static void
metrics_exchanges(FILE *b, struct request *r, const struct view *v)
{
	const struct broker_config	*conf = broker_config(r->srv->broker);
	bool				 head = false;

	for (size_t i = 0; i < conf->n_tenants; i++) {
		const struct tenant	*t = conf->tenants[i];

		if (!view_has(v, t))
			continue;
		if (!head)
			fprintf(b, "# HELP samlbroker_upstream_exchanges_total Token endpoint "
			    "exchanges by tenant, client section, grant and outcome.\n"
			    "# TYPE samlbroker_upstream_exchanges_total counter\n");
		head = true;
		for (size_t c = 0; c < tenant_client_count(t); c++) {
			const struct client_stats *cs = broker_client_stats(
			    r->srv->broker, i, c);

			for (int o = 0; o < 4; o++) {
				fputs("samlbroker_upstream_exchanges_total{tenant=\"", b);
				server_metrics_label(b, t->name);
				fputs("\",client=\"", b);
				server_metrics_label(b, tenant_client(t, c)->name);
				fprintf(b, "\",grant=\"%s\",outcome=\"%s\"} %llu\n",
				    grant_names[c == 0 ? GRANT_SAML2_BEARER :
				    GRANT_CLIENT_CREDENTIALS], outcome_names[o],
				    (unsigned long long)cs->exchanges[o]);
			}
		}
	}
}

/* The token endpoint's latency, for every tenant together. */
static void
metrics_upstream(FILE *b, const struct upstream_stats *us)
{
	static const double		 bounds[] = BROKER_LATENCY_BOUNDS;
	uint64_t			 cum = 0;

	fprintf(b, "# HELP samlbroker_upstream_latency_seconds Token endpoint latency.\n"
	    "# TYPE samlbroker_upstream_latency_seconds histogram\n");
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		cum += us->latency_buckets[i];
		fprintf(b, "samlbroker_upstream_latency_seconds_bucket{le=\"%g\"} %llu\n",
		    bounds[i], (unsigned long long)cum);
	}
	fprintf(b, "samlbroker_upstream_latency_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "samlbroker_upstream_latency_seconds_sum %.6f\n"
	    "samlbroker_upstream_latency_seconds_count %llu\n",
	    (unsigned long long)us->latency_count, us->latency_sum,
	    (unsigned long long)us->latency_count);
}

static const char *const pace_metrics[][3] = {
	{ "rate", "gauge", "Requests a second an organization's token endpoint "
	    "is paced at (learned from its 429s; 0 before the first)." },
	{ "queued", "gauge", "Exchanges waiting for their organization's pace." },
	{ "rate_limited_total", "counter", "429 answers of an organization's "
	    "token endpoint." },
};

struct pace_metric {
	FILE	*f;
	size_t	 kind;		/* its row in pace_metrics */
};

static void
metrics_pace_line(const char *org, const char *url, const struct pace *p,
    void *arg)
{
	struct pace_metric	*m = arg;

	fprintf(m->f, "samlbroker_pace_%s{organization=\"", pace_metrics[m->kind][0]);
	server_metrics_label(m->f, org);
	fputs("\",token_endpoint=\"", m->f);
	server_metrics_label(m->f, url);
	if (m->kind == 0)
		fprintf(m->f, "\"} %.3f\n", p->rate);
	else if (m->kind == 1)
		fprintf(m->f, "\"} %zu\n", p->queued);
	else
		fprintf(m->f, "\"} %lu\n", p->limited);
}

/* Each organization's pace: the rate learned, the queue, the 429s. */
static void
metrics_pacing(FILE *b, struct request *r)
{
	struct pace_metric	 m = { b, 0 };

	for (; m.kind < sizeof(pace_metrics) / sizeof(pace_metrics[0]); m.kind++) {
		fprintf(b, "# HELP samlbroker_pace_%s %s\n# TYPE samlbroker_pace_%s %s\n",
		    pace_metrics[m.kind][0], pace_metrics[m.kind][2],
		    pace_metrics[m.kind][0], pace_metrics[m.kind][1]);
		broker_pace_each(r->srv->broker, metrics_pace_line, &m);
	}
}

/* Each tenant's signing certificates' ends, Unix time. */
static void
metrics_certificates(FILE *b, const struct broker_config *conf, const struct view *v)
{
	fprintf(b, "# HELP samlbroker_certificate_not_after_seconds Signing certificate expiry (Unix time) per tenant.\n"
	    "# TYPE samlbroker_certificate_not_after_seconds gauge\n");
	for (size_t i = 0; i < conf->n_tenants; i++)
		if (view_has(v, conf->tenants[i])) {
			fputs("samlbroker_certificate_not_after_seconds{tenant=\"", b);
			server_metrics_label(b, conf->tenants[i]->name);
			fprintf(b, "\"} %.0f\n", keystore_not_after(conf->tenants[i]->keys));
		}
	fprintf(b, "# HELP samlbroker_tenant_certificate_expiry_seconds Signing certificate "
	    "expiry (Unix time) per tenant: the current one, and the next one while staged.\n"
	    "# TYPE samlbroker_tenant_certificate_expiry_seconds gauge\n");
	for (size_t i = 0; i < conf->n_tenants; i++) {
		const struct tenant *t = conf->tenants[i];

		if (!view_has(v, t))
			continue;
		fputs("samlbroker_tenant_certificate_expiry_seconds{tenant=\"", b);
		server_metrics_label(b, t->name);
		fprintf(b, "\",which=\"current\"} %.0f\n", keystore_not_after(t->keys));
		if (t->next_cert != NULL) {
			fputs("samlbroker_tenant_certificate_expiry_seconds{tenant=\"", b);
			server_metrics_label(b, t->name);
			fprintf(b, "\",which=\"next\"} %.0f\n",
			    keystore_not_after(t->next_cert));
		}
	}
}

static void
handle_metrics(struct request *r)
{
	static const int		 statuses[] = SERVER_STATUSES;
	const struct broker_config	*conf = broker_config(r->srv->broker);
	const struct upstream_stats	*us = broker_upstream_stats(r->srv->broker);
	char				*text = NULL;
	size_t				 len = 0;
	FILE				*b = open_memstream(&text, &len);
	uint64_t			 hits = 0, misses = 0, mints = 0;
	long long			 heap;
	struct view			 v;

	view_of(r, &v);
	if (v.all)
		fprintf(b, "# HELP samlbroker_requests_total API requests by endpoint and status.\n"
		    "# TYPE samlbroker_requests_total counter\n");
	for (int e = 0; e < EP_COUNT && v.all; e++)
		for (int s = 0; s < SERVER_N_STATUSES; s++) {
			char st[16];

			if (r->srv->requests[e][s] == 0)
				continue;
			if (s < SERVER_N_STATUSES - 1)
				snprintf(st, sizeof(st), "%d", statuses[s]);
			else
				snprintf(st, sizeof(st), "other");
			fprintf(b, "samlbroker_requests_total{endpoint=\"%s\",status=\"%s\"} %llu\n",
			    endpoint_names[e], st, (unsigned long long)r->srv->requests[e][s]);
		}
	for (size_t i = 0; i < conf->n_tenants; i++) {
		const struct tenant_stats *ts = broker_tenant_stats(r->srv->broker, i);

		if (!view_has(&v, conf->tenants[i]))
			continue;
		hits += ts->hits;
		misses += ts->misses;
		mints += ts->mints;
	}
	fprintf(b, "# HELP samlbroker_cache_hits_total Token requests answered from the cache.\n"
	    "# TYPE samlbroker_cache_hits_total counter\nsamlbroker_cache_hits_total %llu\n"
	    "# HELP samlbroker_cache_misses_total Token requests that needed an exchange.\n"
	    "# TYPE samlbroker_cache_misses_total counter\nsamlbroker_cache_misses_total %llu\n"
	    "# HELP samlbroker_mints_total SAMLResponses signed.\n"
	    "# TYPE samlbroker_mints_total counter\nsamlbroker_mints_total %llu\n"
	    "# HELP samlbroker_cached_tokens Entries in the token cache.\n"
	    "# TYPE samlbroker_cached_tokens gauge\nsamlbroker_cached_tokens %zu\n",
	    (unsigned long long)hits, (unsigned long long)misses,
	    (unsigned long long)mints, view_cached(r, &v));
	metrics_exchanges(b, r, &v);
	if (v.all) {
		metrics_upstream(b, us);
		metrics_pacing(b, r);	/* organizations span tenants */
		metrics_redis(b, broker_redis(r->srv->broker));
	}
	metrics_certificates(b, conf, &v);
	fprintf(b, "# HELP samlbroker_http_protocol_errors_total Requests refused before routing (malformed, too large).\n"
	    "# TYPE samlbroker_http_protocol_errors_total counter\n"
	    "samlbroker_http_protocol_errors_total %llu\n",
	    (unsigned long long)r->srv->protocol_errors);
	fprintf(b, "# HELP samlbroker_config_last_reload_successful Whether the last reload succeeded.\n"
	    "# TYPE samlbroker_config_last_reload_successful gauge\n"
	    "samlbroker_config_last_reload_successful %d\n", r->srv->reload_ok ? 1 : 0);
	heap = v.all ? front_heap_bytes() : -1;
	if (heap >= 0)
		fprintf(b, "# HELP samlbroker_front_heap_bytes Bytes the front has allocated "
		    "and not freed (malloc's count).\n"
		    "# TYPE samlbroker_front_heap_bytes gauge\n"
		    "samlbroker_front_heap_bytes %lld\n", heap);
	server_signers_metrics(r->srv, b, v.all);
	fclose(b);
	request_finish(r, 200, "text/plain; version=0.0.4", text, len, false, NULL);
	free(text);
}
