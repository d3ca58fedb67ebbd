/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_upstream.c - unit tests for src/upstream.c against a real HTTP
 * server: an evhttp server on 127.0.0.1 in this process, on the same
 * event_base as the client, scripted per test.  Covers the exact requests,
 * the classification of answers and failures, timeouts, parallel and
 * re-entrant requests, connection reuse and cancellation (all, and one
 * through upstream_curl_ops).  The reader of answers has its own table
 * test, tests/test_upstream_answer.c.
 *
 * Not covered: https (no TLS server here); the code sets
 * CURLOPT_SSL_VERIFYPEER/VERIFYHOST unconditionally.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include "samlbroker.h"

#define MAX_SEEN	32
#define MAX_HELD	4

enum mode {
	MODE_REPLY,		/* answer status/body/headers at once */
	MODE_HOLD,		/* keep the request unanswered */
	MODE_DROP,		/* close the connection without an answer */
	MODE_CHUNKED_BIG	/* a 200 chunked answer larger than the cap */
};

struct seen {
	char		 method[8];
	char		 uri[256];
	char		 authorization[256];
	char		 content_type[128];
	char		 accept[128];
	char		 user_agent[128];
	bool		 has_expect;
	char		*body;
	uint16_t	 peer_port;
};

struct fixture {
	struct event_base	*base;
	struct evhttp		*http;
	struct event		*ticker;
	int			 port;
	char			 url[128];

	/* The script. */
	enum mode		 mode;
	int			 status;
	const char		*body;
	const char		*hdr_name;
	const char		*hdr_value;

	/* What the server saw. */
	struct seen		 seen[MAX_SEEN];
	int			 n_seen;
	struct evhttp_request	*held[MAX_HELD];
	int			 n_held;

	/* The client. */
	struct upstream		*up;
	struct tenant		 tenant;
	struct service_client	 service;
	int			 done;
	struct upstream_result	 res[MAX_SEEN];
	char			*tokens[MAX_SEEN];

	/* Re-entrancy test: the first callback starts another exchange. */
	bool			 chain;
};

static void
record(struct fixture *f, struct evhttp_request *req)
{
	struct evkeyvalq	*in = evhttp_request_get_input_headers(req);
	struct evbuffer		*buf = evhttp_request_get_input_buffer(req);
	struct seen		*s;
	const char		*v;
	char			*addr;
	size_t			 n;

	assert_true(f->n_seen < MAX_SEEN);
	s = &f->seen[f->n_seen++];
	snprintf(s->method, sizeof(s->method), "%s",
	    evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "other");
	snprintf(s->uri, sizeof(s->uri), "%s", evhttp_request_get_uri(req));
	v = evhttp_find_header(in, "Authorization");
	snprintf(s->authorization, sizeof(s->authorization), "%s", v ? v : "");
	v = evhttp_find_header(in, "Content-Type");
	snprintf(s->content_type, sizeof(s->content_type), "%s", v ? v : "");
	v = evhttp_find_header(in, "Accept");
	snprintf(s->accept, sizeof(s->accept), "%s", v ? v : "");
	v = evhttp_find_header(in, "User-Agent");
	snprintf(s->user_agent, sizeof(s->user_agent), "%s", v ? v : "");
	s->has_expect = evhttp_find_header(in, "Expect") != NULL;
	n = evbuffer_get_length(buf);
	s->body = xmalloc(n + 1);
	evbuffer_copyout(buf, s->body, n);
	s->body[n] = '\0';
	evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr,
	    &s->peer_port);
}

static void
reply(struct evhttp_request *req, int status, const char *body,
    const char *hdr_name, const char *hdr_value)
{
	struct evbuffer	*out = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	if (hdr_name != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    hdr_name, hdr_value);
	evbuffer_add(out, body, strlen(body));
	evhttp_send_reply(req, status, "Scripted", out);
	evbuffer_free(out);
}

static void
drop_later(evutil_socket_t fd, short what, void *arg)
{
	evhttp_connection_free(arg);
}

static void
handler(struct evhttp_request *req, void *arg)
{
	struct fixture	*f = arg;
	struct evbuffer	*chunk;
	char		 block[1024];

	record(f, req);
	switch (f->mode) {
	case MODE_REPLY:
		reply(req, f->status, f->body, f->hdr_name, f->hdr_value);
		break;
	case MODE_HOLD:
		assert_true(f->n_held < MAX_HELD);
		f->held[f->n_held++] = req;
		break;
	case MODE_DROP:
		/* Not from inside the request callback: on the next turn. */
		event_base_once(f->base, -1, EV_TIMEOUT, drop_later,
		    evhttp_request_get_connection(req), NULL);
		break;
	case MODE_CHUNKED_BIG:
		memset(block, 'x', sizeof(block));
		evhttp_send_reply_start(req, 200, "OK");
		for (int i = 0; i < 70; i++) {
			chunk = evbuffer_new();
			evbuffer_add(chunk, block, sizeof(block));
			evhttp_send_reply_chunk(req, chunk);
			evbuffer_free(chunk);
		}
		evhttp_send_reply_end(req);
		break;
	}
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
}

static int
setup(void **state)
{
	struct fixture			*f = xcalloc(1, sizeof(*f));
	struct evhttp_bound_socket	*bound;
	struct sockaddr_in		 sin;
	socklen_t			 slen = sizeof(sin);
	struct timeval			 tv = { 0, 50000 };

	f->base = event_base_new();
	f->http = evhttp_new(f->base);
	assert_non_null(f->http);
	bound = evhttp_bind_socket_with_handle(f->http, "127.0.0.1", 0);
	assert_non_null(bound);
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bound),
	    (struct sockaddr *)&sin, &slen), 0);
	f->port = ntohs(sin.sin_port);
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d/oauth/token",
	    f->port);
	evhttp_set_gencb(f->http, handler, f);
	/* Wakes the loop now and then so run() can check its deadline. */
	f->ticker = event_new(f->base, -1, EV_PERSIST, tick, NULL);
	event_add(f->ticker, &tv);

	f->mode = MODE_REPLY;
	f->status = 200;
	f->body = "{\"access_token\":\"tok-123\",\"token_type\":\"bearer\","
	    "\"expires_in\":86399}";
	f->tenant.name = xstrdup("acme");
	f->tenant.organization_sname = xstrdup("acme");
	f->tenant.base_auth_url = xstrdup(f->url);
	f->tenant.saml_auth.name = xstrdup("saml_auth");
	f->tenant.saml_auth.client_id = xstrdup("saml-client");
	f->tenant.saml_auth.secret = xstrdup("saml-secret");
	f->service.name = xstrdup("ewt");
	f->service.client_id = xstrdup("svc-id");
	f->service.secret = xstrdup("svc-secret");
	f->up = upstream_new(f->base, NULL, NULL, 5, 5);
	assert_non_null(f->up);
	*state = f;
	return 0;
}

/* Runs the loop until *counter reaches target or seconds pass. */
static void
run(struct fixture *f, int *counter, int target, double seconds)
{
	double	 deadline = clock_now() + seconds;

	while (*counter < target && clock_now() < deadline)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_int_equal(*counter, target);
}

/* Lets the loop process what is ready for a short while. */
static void
settle(struct fixture *f, double seconds)
{
	double	 deadline = clock_now() + seconds;

	while (clock_now() < deadline)
		event_base_loop(f->base, EVLOOP_ONCE);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	upstream_free(f->up);
	/* A held request is freed by answering it, connection gone or not. */
	for (int i = 0; i < f->n_held; i++)
		reply(f->held[i], 200, "{}", NULL, NULL);
	settle(f, 0.1);
	evhttp_free(f->http);
	event_free(f->ticker);
	event_base_free(f->base);
	for (int i = 0; i < f->n_seen; i++)
		free(f->seen[i].body);
	for (int i = 0; i < MAX_SEEN; i++)
		secret_free(f->tokens[i]);
	free(f->tenant.name);
	free(f->tenant.organization_sname);
	free(f->tenant.base_auth_url);
	free(f->tenant.saml_auth.name);
	free(f->tenant.saml_auth.client_id);
	free(f->tenant.saml_auth.secret);
	free(f->service.name);
	free(f->service.client_id);
	free(f->service.secret);
	free(f);
	return 0;
}

static void
done_cb(struct upstream_result *r, void *arg)
{
	struct fixture	*f = arg;
	int		 i = f->done;

	assert_true(i < MAX_SEEN);
	f->res[i] = *r;
	f->res[i].access_token = NULL;
	f->tokens[i] = r->access_token;
	r->access_token = NULL;
	f->done++;
	if (f->chain) {
		f->chain = false;
		assert_int_equal(upstream_exchange_client_credentials(f->up,
		    &f->tenant, &f->service, done_cb, f), 0);
	}
}

static void
never_cb(struct upstream_result *r, void *arg)
{
	fail_msg("callback of a cancelled request");
}

static char *
basic(const char *id, const char *secret)
{
	char	 pair[256], *b64, *out;

	snprintf(pair, sizeof(pair), "%s:%s", id, secret);
	b64 = base64_encode((unsigned char *)pair, strlen(pair), 0);
	out = xmalloc(strlen(b64) + 7);
	snprintf(out, strlen(b64) + 7, "Basic %s", b64);
	free(b64);
	return out;
}

/* Starts a client-credentials exchange and waits for its result. */
static struct upstream_result *
exchange_cc(struct fixture *f)
{
	assert_int_equal(upstream_exchange_client_credentials(f->up, &f->tenant,
	    &f->service, done_cb, f), 0);
	assert_int_equal(upstream_pending(f->up), 1);
	run(f, &f->done, 1, 10);
	assert_int_equal(upstream_pending(f->up), 0);
	return &f->res[0];
}

static void
assert_no_secret(const struct upstream_result *r)
{
	assert_null(strstr(r->message, "secret"));
	assert_null(strstr(r->message, "tok-"));
}

static void
test_client_credentials_ok(void **state)
{
	struct fixture		*f = *state;
	struct upstream_result	*r;
	char			*auth = basic("svc-id", "svc-secret");

	/* Proxies from the environment are ignored. */
	setenv("http_proxy", "http://127.0.0.1:1", 1);
	setenv("HTTPS_PROXY", "http://127.0.0.1:1", 1);
	setenv("ALL_PROXY", "http://127.0.0.1:1", 1);
	r = exchange_cc(f);
	unsetenv("http_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("ALL_PROXY");

	assert_int_equal(f->n_seen, 1);
	assert_string_equal(f->seen[0].method, "POST");
	assert_string_equal(f->seen[0].uri, "/oauth/token");
	assert_string_equal(f->seen[0].authorization, auth);
	assert_string_equal(f->seen[0].authorization,
	    "Basic c3ZjLWlkOnN2Yy1zZWNyZXQ=");
	assert_string_equal(f->seen[0].content_type,
	    "application/x-www-form-urlencoded");
	assert_string_equal(f->seen[0].accept, "application/json");
	assert_string_equal(f->seen[0].user_agent, "samlbroker/" PACKAGE_VERSION);
	assert_false(f->seen[0].has_expect);
	assert_string_equal(f->seen[0].body, "grant_type=client_credentials");

	assert_int_equal(r->outcome, UPSTREAM_OK);
	assert_int_equal(r->grant, GRANT_CLIENT_CREDENTIALS);
	assert_int_equal(r->http_status, 200);
	assert_string_equal(f->tokens[0], "tok-123");
	assert_int_equal(r->expires_in, 86399);
	assert_string_equal(r->error, "");
	assert_string_equal(r->message, "token issued, expires in 86399 s");
	assert_true(r->retry_after == 0);
	assert_true(r->latency >= 0 && r->latency < 10);
	free(auth);
}

static void
test_saml2_body(void **state)
{
	struct fixture		*f = *state;
	char			 assertion[2100], expect[8000], *p;
	char			*auth = basic("saml-client", "saml-secret");

	free(f->tenant.organization_sname);
	f->tenant.organization_sname = xstrdup("Acme Corp & Co");
	f->body = "{\"access_token\":\"tok-456\",\"token_type\":\"Bearer\","
	    "\"expires_in\":300}";
	/* Long enough that curl would otherwise send Expect: 100-continue. */
	p = assertion + snprintf(assertion, sizeof(assertion), "PHNhbWw+/ab+cd");
	memset(p, 'A', 2048);
	strcpy(p + 2048, "==");
	assert_int_equal(upstream_exchange_saml2(f->up, &f->tenant, assertion,
	    done_cb, f), 0);
	run(f, &f->done, 1, 10);

	p = expect + snprintf(expect, sizeof(expect), "grant_type=urn%%3Aietf%%3A"
	    "params%%3Aoauth%%3Agrant-type%%3Asaml2-bearer"
	    "&orgName=Acme%%20Corp%%20%%26%%20Co&assertion=PHNhbWw%%2B%%2Fab%%2Bcd");
	memset(p, 'A', 2048);
	strcpy(p + 2048, "%3D%3D");
	assert_int_equal(f->n_seen, 1);
	assert_string_equal(f->seen[0].body, expect);
	assert_string_equal(f->seen[0].authorization, auth);
	assert_string_equal(f->seen[0].content_type,
	    "application/x-www-form-urlencoded");
	assert_false(f->seen[0].has_expect);

	assert_int_equal(f->res[0].outcome, UPSTREAM_OK);
	assert_int_equal(f->res[0].grant, GRANT_SAML2_BEARER);
	assert_string_equal(f->tokens[0], "tok-456");
	assert_int_equal(f->res[0].expires_in, 300);
	free(auth);
}

static void
test_400_invalid_grant(void **state)
{
	struct fixture		*f = *state;
	struct upstream_result	*r;

	f->status = 400;
	f->body = "{\"error\":\"invalid_grant\",\"description\":\"x\","
	    "\"error_description\":\"Assertion\\nexpired\"}";
	r = exchange_cc(f);
	assert_int_equal(r->outcome, UPSTREAM_REJECTED);
	assert_int_equal(r->http_status, 400);
	assert_string_equal(r->error, "invalid_grant");
	assert_string_equal(r->message,
	    "token endpoint answered 400 (invalid_grant): Assertion?expired");
	assert_null(f->tokens[0]);
	assert_true(r->retry_after == 0);
}

static void
test_401_invalid_client(void **state)
{
	struct fixture		*f = *state;
	struct upstream_result	*r;

	f->status = 401;
	f->body = "{\"error\":\"invalid_client\",\"description\":\"authentication "
	    "failed\",\"error_description\":\"authentication failed\"}";
	r = exchange_cc(f);
	assert_int_equal(r->outcome, UPSTREAM_REJECTED);
	assert_int_equal(r->http_status, 401);
	assert_string_equal(r->error, "invalid_client");
	assert_string_equal(r->message,
	    "token endpoint answered 401 (invalid_client): authentication failed");
	assert_no_secret(r);
}

static void
test_403_without_json(void **state)
{
	struct fixture		*f = *state;
	struct upstream_result	*r;

	f->status = 403;
	f->body = "<html>Forbidden</html>";
	r = exchange_cc(f);
	assert_int_equal(r->outcome, UPSTREAM_REJECTED);
	assert_string_equal(r->error, "http_403");
	assert_string_equal(r->message, "token endpoint answered 403 (http_403)");
}

static void
test_400_odd_error_code(void **state)
{
	struct fixture		*f = *state;
	struct upstream_result	*r;

	f->status = 400;
	f->body = "{\"error\":\"bad code\\r\\nX-Injected: 1\"}";
	r = exchange_cc(f);
	assert_int_equal(r->outcome, UPSTREAM_REJECTED);
	assert_string_equal(r->error, "http_400");
}

static void
test_429_retry_after(void **state)
{
	struct fixture		*f = *state;
	struct upstream_result	*r;

	f->status = 429;
	f->body = "{\"error\":\"too_many_requests\"}";
	f->hdr_name = "Retry-After";
	f->hdr_value = "7";
	r = exchange_cc(f);
	assert_int_equal(r->outcome, UPSTREAM_UNAVAILABLE);
	assert_int_equal(r->http_status, 429);
	assert_string_equal(r->error, "http_429");
	assert_true(r->retry_after == 7);
}

static void
test_503_retry_after_date(void **state)
{
	struct fixture		*f = *state;
	struct upstream_result	*r;
	char			 date[64];
	time_t			 t = time(NULL) + 120;
	struct tm		 tm;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	f->status = 503;
	f->body = "";
	f->hdr_name = "Retry-After";
	f->hdr_value = date;
	r = exchange_cc(f);
	assert_int_equal(r->outcome, UPSTREAM_UNAVAILABLE);
	assert_string_equal(r->error, "http_503");
	assert_true(r->retry_after > 110 && r->retry_after <= 120);
}

static void
test_500(void **state)
{
	struct fixture		*f = *state;
	struct upstream_result	*r;

	f->status = 500;
	f->body = "{\"error\":\"server_error\",\"error_description\":\"boom\"}";
	r = exchange_cc(f);
	assert_int_equal(r->outcome, UPSTREAM_UNAVAILABLE);
	assert_int_equal(r->http_status, 500);
	assert_string_equal(r->error, "http_500");
	assert_string_equal(r->message,
	    "token endpoint answered 500 (http_500): boom");
	assert_true(r->retry_after == 0);
}

static void
test_other_statuses(void **state)
{
	struct fixture		*f = *state;
	struct upstream_result	*r;

	/* A redirect is not followed. */
	f->status = 302;
	f->body = "";
	f->hdr_name = "Location";
	f->hdr_value = "/elsewhere";
	r = exchange_cc(f);
	assert_int_equal(f->n_seen, 1);
	assert_int_equal(r->outcome, UPSTREAM_REJECTED);
	assert_string_equal(r->error, "http_302");

	f->done = 0;
	f->status = 408;
	f->hdr_name = NULL;
	r = exchange_cc(f);
	assert_int_equal(r->outcome, UPSTREAM_UNAVAILABLE);
	assert_string_equal(r->error, "http_408");

	/* A 5xx keeps its status code even when it names an OAuth error. */
	f->done = 0;
	f->status = 503;
	f->body = "{\"error\":\"temporarily_unavailable\"}";
	r = exchange_cc(f);
	assert_int_equal(r->outcome, UPSTREAM_UNAVAILABLE);
	assert_string_equal(r->error, "http_503");
	assert_true(r->retry_after == 0);
}

static const struct {
	const char	*body;
	const char	*message;
} bad_200[] = {
	{ "not json",
	  "token endpoint answered 200 with invalid JSON" },
	{ "[1,2]",
	  "token endpoint answered 200 without a JSON object" },
	{ "",
	  "token endpoint answered 200 with invalid JSON" },
	{ "{\"access_token\":\"tok-1\",\"expires_in\":0}",
	  "token endpoint answered 200 without a positive integer expires_in" },
	{ "{\"access_token\":\"tok-1\",\"expires_in\":-5}",
	  "token endpoint answered 200 without a positive integer expires_in" },
	{ "{\"access_token\":\"tok-1\"}",
	  "token endpoint answered 200 without a positive integer expires_in" },
	{ "{\"access_token\":\"tok-1\",\"expires_in\":\"3600\"}",
	  "token endpoint answered 200 without a positive integer expires_in" },
	{ "{\"expires_in\":3600,\"token_type\":\"bearer\"}",
	  "token endpoint answered 200 without a usable access_token" },
	{ "{\"access_token\":\"\",\"expires_in\":3600}",
	  "token endpoint answered 200 without a usable access_token" },
	{ "{\"access_token\":42,\"expires_in\":3600}",
	  "token endpoint answered 200 without a usable access_token" },
	{ "{\"access_token\":\"tok-1\\r\\nX: y\",\"expires_in\":3600}",
	  "token endpoint answered 200 without a usable access_token" },
	{ "{\"access_token\":\"tok-1\\u0000z\",\"expires_in\":3600}",
	  "token endpoint answered 200 with invalid JSON" },
	{ "{\"access_token\":\"tok-1\",\"expires_in\":3600,\"token_type\":\"mac\"}",
	  "token endpoint answered token_type \"mac\", not bearer" },
	{ "{\"access_token\":\"tok-1\",\"access_token\":\"tok-2\","
	  "\"expires_in\":3600}",
	  "token endpoint answered 200 with invalid JSON" },
};

static void
test_200_unusable(void **state)
{
	struct fixture	*f = *state;

	for (size_t i = 0; i < sizeof(bad_200) / sizeof(bad_200[0]); i++) {
		struct upstream_result	*r;

		f->done = 0;
		f->body = bad_200[i].body;
		r = exchange_cc(f);
		assert_int_equal(r->outcome, UPSTREAM_REJECTED);
		assert_int_equal(r->http_status, 200);
		assert_string_equal(r->error, "invalid_response");
		assert_string_equal(r->message, bad_200[i].message);
		assert_null(f->tokens[0]);
		assert_int_equal(r->expires_in, 0);
		assert_no_secret(r);
	}
}

static void
test_oversized_body(void **state)
{
	struct fixture		*f = *state;
	struct upstream_result	*r;
	char			*big = xmalloc(70001);

	/* Announced with Content-Length. */
	memset(big, ' ', 70000);
	big[70000] = '\0';
	big[0] = '{';
	big[69999] = '}';
	f->body = big;
	r = exchange_cc(f);
	assert_int_equal(r->outcome, UPSTREAM_UNAVAILABLE);
	assert_int_equal(r->http_status, 200);
	assert_string_equal(r->error, "response_too_large");
	assert_string_equal(r->message,
	    "token endpoint answer exceeds 65536 bytes");
	free(big);

	/* Chunked, so only the write callback can stop it. */
	f->done = 0;
	f->mode = MODE_CHUNKED_BIG;
	r = exchange_cc(f);
	assert_int_equal(r->outcome, UPSTREAM_UNAVAILABLE);
	assert_int_equal(r->http_status, 200);
	assert_string_equal(r->error, "response_too_large");
}

static void
test_timeout(void **state)
{
	struct fixture		*f = *state;
	struct upstream_result	*r;

	upstream_free(f->up);
	f->up = upstream_new(f->base, NULL, NULL, 1, 1);
	f->mode = MODE_HOLD;
	r = exchange_cc(f);
	assert_int_equal(f->n_held, 1);
	assert_int_equal(r->outcome, UPSTREAM_TIMEOUT);
	assert_int_equal(r->http_status, 0);
	assert_string_equal(r->error, "timeout");
	assert_true(r->latency >= 0.9);
	assert_non_null(strstr(r->message, "token request failed: "));
}

static void
test_dropped_connection(void **state)
{
	struct fixture		*f = *state;
	struct upstream_result	*r;

	f->mode = MODE_DROP;
	r = exchange_cc(f);
	assert_int_equal(f->n_seen, 1);
	assert_int_equal(r->outcome, UPSTREAM_UNAVAILABLE);
	assert_int_equal(r->http_status, 0);
	assert_string_equal(r->error, "empty_reply");
}

static void
test_connect_refused(void **state)
{
	struct fixture		*f = *state;
	struct upstream_result	*r;
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	int			 s;

	/* A port bound but not listening refuses connections. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &slen), 0);
	free(f->tenant.base_auth_url);
	f->tenant.base_auth_url = xmalloc(64);
	snprintf(f->tenant.base_auth_url, 64, "http://127.0.0.1:%d/oauth/token",
	    ntohs(sin.sin_port));
	r = exchange_cc(f);
	close(s);
	assert_int_equal(f->n_seen, 0);
	assert_int_equal(r->outcome, UPSTREAM_UNAVAILABLE);
	assert_int_equal(r->http_status, 0);
	assert_string_equal(r->error, "connect");
	assert_non_null(strstr(r->message, "token request failed: "));
}

static void
test_parallel(void **state)
{
	struct fixture	*f = *state;

	f->mode = MODE_HOLD;
	assert_int_equal(upstream_exchange_client_credentials(f->up, &f->tenant,
	    &f->service, done_cb, f), 0);
	assert_int_equal(upstream_exchange_saml2(f->up, &f->tenant, "QUJD",
	    done_cb, f), 0);
	assert_int_equal(upstream_pending(f->up), 2);
	/* Both reach the server before either is answered. */
	run(f, &f->n_held, 2, 10);
	assert_int_equal(f->done, 0);
	assert_int_not_equal(f->seen[0].peer_port, f->seen[1].peer_port);
	for (int i = 0; i < 2; i++)
		reply(f->held[i], 200, f->body, NULL, NULL);
	f->n_held = 0;
	run(f, &f->done, 2, 10);
	assert_int_equal(upstream_pending(f->up), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(f->res[i].outcome, UPSTREAM_OK);
		assert_string_equal(f->tokens[i], "tok-123");
	}
	assert_int_not_equal(f->res[0].grant, f->res[1].grant);
}

static void
test_connection_reuse(void **state)
{
	struct fixture	*f = *state;

	exchange_cc(f);
	assert_int_equal(upstream_exchange_client_credentials(f->up, &f->tenant,
	    &f->service, done_cb, f), 0);
	run(f, &f->done, 2, 10);
	assert_int_equal(f->n_seen, 2);
	assert_int_equal(f->seen[0].peer_port, f->seen[1].peer_port);
	assert_int_equal(f->res[1].outcome, UPSTREAM_OK);
}

static void
test_reentrant_exchange(void **state)
{
	struct fixture	*f = *state;

	f->chain = true;
	assert_int_equal(upstream_exchange_saml2(f->up, &f->tenant, "QUJD",
	    done_cb, f), 0);
	run(f, &f->done, 2, 10);
	assert_int_equal(f->res[0].grant, GRANT_SAML2_BEARER);
	assert_int_equal(f->res[1].grant, GRANT_CLIENT_CREDENTIALS);
	assert_int_equal(f->res[0].outcome, UPSTREAM_OK);
	assert_int_equal(f->res[1].outcome, UPSTREAM_OK);
	assert_string_equal(f->seen[1].body, "grant_type=client_credentials");
	assert_int_equal(upstream_pending(f->up), 0);
}

static void
test_free_with_pending(void **state)
{
	struct fixture	*f = *state;

	f->mode = MODE_HOLD;
	assert_int_equal(upstream_exchange_client_credentials(f->up, &f->tenant,
	    &f->service, never_cb, f), 0);
	assert_int_equal(upstream_exchange_saml2(f->up, &f->tenant, "QUJD",
	    never_cb, f), 0);
	run(f, &f->n_held, 2, 10);
	assert_int_equal(upstream_pending(f->up), 2);
	upstream_free(f->up);
	f->up = NULL;
	settle(f, 0.2);
	/* A request that was never started is cancelled as well. */
	f->up = upstream_new(f->base, NULL, NULL, 5, 5);
	assert_int_equal(upstream_exchange_client_credentials(f->up, &f->tenant,
	    &f->service, never_cb, f), 0);
	upstream_free(f->up);
	f->up = NULL;
	settle(f, 0.1);
}

static void
test_proxy_used(void **state)
{
	struct fixture		*f = *state;
	struct upstream_result	*r;
	char			 proxy[64];

	/* The server is the proxy; the token URL names another loopback host. */
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", f->port);
	upstream_free(f->up);
	f->up = upstream_new(f->base, NULL, proxy, 5, 5);
	free(f->tenant.base_auth_url);
	f->tenant.base_auth_url = xstrdup("http://127.0.0.2:1/oauth/token");
	r = exchange_cc(f);
	assert_int_equal(r->outcome, UPSTREAM_OK);
	assert_string_equal(f->seen[0].uri, "http://127.0.0.2:1/oauth/token");
}

static void
test_refused_urls(void **state)
{
	struct fixture	*f = *state;
	const char	*bad[] = {
		"http://login.example.com/oauth/token",
		"http://localhost/oauth/token",
		"http://10.0.0.1/oauth/token",
		"ftp://127.0.0.1/oauth/token",
		"file:///etc/passwd",
		"not a url",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		free(f->tenant.base_auth_url);
		f->tenant.base_auth_url = xstrdup(bad[i]);
		assert_int_equal(upstream_exchange_client_credentials(f->up,
		    &f->tenant, &f->service, never_cb, f), -1);
		assert_int_equal(upstream_exchange_saml2(f->up, &f->tenant,
		    "QUJD", never_cb, f), -1);
	}
	assert_int_equal(upstream_pending(f->up), 0);
	/* A client without a secret cannot start either. */
	free(f->tenant.base_auth_url);
	f->tenant.base_auth_url = xstrdup(f->url);
	free(f->service.secret);
	f->service.secret = NULL;
	assert_int_equal(upstream_exchange_client_credentials(f->up, &f->tenant,
	    &f->service, never_cb, f), -1);
	assert_int_equal(upstream_pending(f->up), 0);
}

/* The broker's seam: start through upstream_curl_ops, cancel one of two
 * held exchanges; the other is answered, the cancelled one never. */
static void
test_ops_cancel_one(void **state)
{
	struct fixture		*f = *state;
	struct upstream_request	 req = { .grant = GRANT_CLIENT_CREDENTIALS,
	    .tenant = &f->tenant, .client = &f->service };
	void			*h1, *h2;

	f->mode = MODE_HOLD;
	h1 = upstream_curl_ops.start(f->up, &req, never_cb, f);
	assert_non_null(h1);
	req.grant = GRANT_SAML2_BEARER;
	req.assertion_b64 = "QUJD";
	h2 = upstream_curl_ops.start(f->up, &req, done_cb, f);
	assert_non_null(h2);
	assert_int_equal(f->done, 0);	/* never inside start */
	run(f, &f->n_held, 2, 10);
	upstream_curl_ops.cancel(f->up, h1);
	assert_int_equal(upstream_pending(f->up), 1);
	/* Answer both held requests; only the second has a caller. */
	for (int i = 0; i < f->n_held; i++)
		reply(f->held[i], 200, "{\"access_token\":\"tok-1\","
		    "\"expires_in\":60}", NULL, NULL);
	f->n_held = 0;
	run(f, &f->done, 1, 10);
	settle(f, 0.1);
	assert_int_equal(f->done, 1);
	assert_int_equal(f->res[0].outcome, UPSTREAM_OK);
	assert_int_equal(f->res[0].grant, GRANT_SAML2_BEARER);
	assert_int_equal(upstream_pending(f->up), 0);
	/* A request the seam cannot start: NULL, no callback. */
	req.assertion_b64 = NULL;
	assert_null(upstream_curl_ops.start(f->up, &req, never_cb, f));
}

#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_client_credentials_ok),
		T(test_saml2_body),
		T(test_400_invalid_grant),
		T(test_401_invalid_client),
		T(test_403_without_json),
		T(test_400_odd_error_code),
		T(test_429_retry_after),
		T(test_503_retry_after_date),
		T(test_500),
		T(test_other_statuses),
		T(test_200_unusable),
		T(test_oversized_body),
		T(test_timeout),
		T(test_dropped_connection),
		T(test_connect_refused),
		T(test_parallel),
		T(test_connection_reuse),
		T(test_reentrant_exchange),
		T(test_free_with_pending),
		T(test_proxy_used),
		T(test_refused_urls),
		T(test_ops_cancel_one),
	};
	int	 rc;

	unsetenv("no_proxy");
	unsetenv("NO_PROXY");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	libevent_global_shutdown();
	return rc;
}
