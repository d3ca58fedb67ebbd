/*
 * emulator.c - samlbroker-emulator: a stand-in for the PureCloud token
 * endpoint, for offline tests and for integrators.
 *
 * Owns the command line, the HTTP and HTTPS listeners (evhttp, TLS with
 * bufferevent_openssl and a self-signed localhost certificate made on
 * first start), POST /oauth/token for the Client Credentials and SAML2
 * Bearer grants of every configured tenant, and the test controls under
 * /emulator/ (counters, injected faults, token lifetime, clock offset).
 * The checks of a SAML assertion are in emulator_saml.c; the clients come
 * from the broker's own configuration (config.c).
 *
 * Nothing secret is logged: not the client secret, the assertion or the
 * token handed out.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "samlbroker.h"

#define EMU_MAX_BODY		(256 * 1024)
#define EMU_MAX_HEADERS		(16 * 1024)
#define EMU_MAX_LISTENERS	16
#define EMU_CERT_DAYS		825
#define EMU_MAX_DELAY_MS	600000
#define EMU_MAX_EXPIRES		31536000L	/* a year, either sign */
#define EMU_MAX_OFFSET		(10.0 * 365 * 86400)
#define FORM_URLENCODED		"application/x-www-form-urlencoded"
#define GRANT_CC		"client_credentials"
#define GRANT_SAML2		"urn:ietf:params:oauth:grant-type:saml2-bearer"
#define MALFORMED_BODY		"{\"access_token\":\"emulator-malformed\",\"token_type\":\"bea"

/* A client of a tenant: the saml_auth client or one service client. */
struct emu_client {
	const struct tenant		*tenant;
	const struct service_client	*client;
	bool				 saml;
};

struct listen_spec {
	char		*host;
	int		 port;
	bool		 tls;
	int		 bound_port;
};

/* An injected fault, for the next count token requests (-1: until cleared). */
struct fault {
	bool	 active;
	bool	 replace;	/* the answer is replaced, not only delayed */
	int	 status;
	char	*body;
	char	*content_type;
	char	*retry_after;
	long	 delay_ms;
	bool	 malformed;
	bool	 drop;
	long	 count;
	int	 grant;		/* -1: any, else enum grant_kind */
};

/* One answer, sent at once or after a fault's delay, and its log line. */
struct answer {
	int		 status;
	char		*body;
	char		*content_type;
	char		*retry_after;
	bool		 drop;
	bool		 faulted;
	long		 delay_ms;
	const char	*grant;
	char		 method[8];
	char		 path[96];
	char		 client_id[72];
	char		 reason[160];
};

struct pending {
	struct emu		*emu;
	struct evhttp_request	*req;
	struct event		*timer;
	struct answer		 ans;
	TAILQ_ENTRY(pending)	 entry;
};
TAILQ_HEAD(pending_list, pending);

struct emu {
	struct event_base	*base;
	struct broker_config	*conf;
	struct emu_client	*clients;
	size_t			 n_clients;
	struct evhttp		*http;
	struct evhttp		*https;
	SSL_CTX			*ssl_ctx;
	struct event		*sig_term;
	struct event		*sig_int;
	struct pending_list	 pending;
	long			 opt_expires_in;	/* from the command line */
	long			 expires_in;
	double			 clock_offset;
	struct fault		 fault;
	struct {
		unsigned long	 cc_ok, cc_rejected;
		unsigned long	 saml_ok, saml_rejected;
		unsigned long	 faulted, total;
	}			 count;
	char			*last_subject;
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: samlbroker-emulator -c CONF [--listen HOST:PORT]... "
	    "[--https-listen HOST:PORT]...\n"
	    "           [--tls-dir DIR] [--expires-in SECONDS] [--port-file FILE] "
	    "[--log-level LEVEL]\n"
	    "A PureCloud token endpoint (POST /oauth/token) for the tenants of a\n"
	    "samlbroker configuration, with test controls under /emulator/.\n"
	    "  -c, --config FILE        the broker's configuration\n"
	    "      --listen HOST:PORT   serve HTTP (port 0: any free port)\n"
	    "      --https-listen H:P   serve HTTPS (needs --tls-dir)\n"
	    "      --tls-dir DIR        emulator-cert.pem and emulator-key.pem, made if absent\n"
	    "      --expires-in SECS    lifetime of tokens handed out (default 86400)\n"
	    "      --port-file FILE     write \"http PORT\" / \"https PORT\" once listening\n"
	    "      --log-level LEVEL    error, warn, info (default) or debug\n");
}

/* Client-supplied text for a log line: safe characters only, bounded. */
static void
log_safe(char *dst, size_t len, const char *src)
{
	size_t	 i;

	for (i = 0; src != NULL && src[i] != '\0' && i + 1 < len; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || strchr("._@/-:", c) != NULL ? (char)c : '?';
	}
	dst[i] = '\0';
	if (i == 0 && len > 1)
		snprintf(dst, len, "-");
}

static void
answer_clear(struct answer *a)
{
	secret_free(a->body);	/* may hold a token */
	free(a->content_type);
	free(a->retry_after);
	a->body = a->content_type = a->retry_after = NULL;
}

static void
answer_json(struct answer *a, int status, json_t *j)
{
	char	*s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	if (s == NULL)
		fatalx("json_dumps failed");
	answer_clear(a);
	a->status = status;
	a->body = s;
	a->content_type = xstrdup("application/json");
}

/* An OAuth error answer; the reason is also logged. */
static void
answer_oauth(struct answer *a, int status, const char *error, const char *description)
{
	answer_json(a, status, json_pack("{s:s,s:s,s:s}", "error", error,
	    "description", description, "error_description", description));
	snprintf(a->reason, sizeof(a->reason), "%s", description);
}

static void
answer_send(struct emu *e, struct evhttp_request *req, struct answer *a)
{
	struct evkeyvalq	*out;
	struct evbuffer		*buf;
	char			 status[16];

	if (a->drop)
		snprintf(status, sizeof(status), "dropped");
	else
		snprintf(status, sizeof(status), "%d", a->status);
	log_info("request method=%s path=%s status=%s grant=%s client_id=%s fault=%s%s%s%s",
	    a->method, a->path, status, a->grant, a->client_id, a->faulted ? "yes" : "no",
	    a->reason[0] != '\0' ? " reason=\"" : "", a->reason,
	    a->reason[0] != '\0' ? "\"" : "");
	if (a->drop) {
		struct evhttp_connection *evcon = evhttp_request_get_connection(req);
		struct pending *p, *next;

		if (evcon == NULL) {
			evhttp_request_free(req);
			return;
		}
		/* Other answers waiting on this connection go with it. */
		for (p = TAILQ_FIRST(&e->pending); p != NULL; p = next) {
			next = TAILQ_NEXT(p, entry);
			if (evhttp_request_get_connection(p->req) != evcon)
				continue;
			TAILQ_REMOVE(&e->pending, p, entry);
			event_free(p->timer);
			answer_clear(&p->ans);
			free(p);
		}
		evhttp_connection_free(evcon);
		return;
	}
	out = evhttp_request_get_output_headers(req);
	if (a->content_type != NULL)
		evhttp_add_header(out, "Content-Type", a->content_type);
	if (a->retry_after != NULL)
		evhttp_add_header(out, "Retry-After", a->retry_after);
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_add_header(out, "Pragma", "no-cache");
	if ((buf = evbuffer_new()) == NULL)
		fatalx("evbuffer_new failed");
	if (a->body != NULL && evbuffer_add(buf, a->body, strlen(a->body)) == -1)
		fatalx("evbuffer_add failed");
	evhttp_send_reply(req, a->status, NULL, buf);
	evbuffer_free(buf);
}

static void
pending_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pending	*p = arg;

	TAILQ_REMOVE(&p->emu->pending, p, entry);
	event_free(p->timer);
	answer_send(p->emu, p->req, &p->ans);
	answer_clear(&p->ans);
	free(p);
}

/* Sends now, or later from a timer: after a delay, and always for a drop
 * (the connection is not freed inside its own request callback). */
static void
answer_finish(struct emu *e, struct evhttp_request *req, struct answer *a)
{
	struct pending	*p;
	struct timeval	 tv;

	if (a->delay_ms <= 0 && !a->drop) {
		answer_send(e, req, a);
		answer_clear(a);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->emu = e;
	p->req = req;
	p->ans = *a;	/* takes the strings */
	if ((p->timer = evtimer_new(e->base, pending_cb, p)) == NULL)
		fatalx("evtimer_new failed");
	tv.tv_sec = a->delay_ms / 1000;
	tv.tv_usec = (a->delay_ms % 1000) * 1000;
	evtimer_add(p->timer, &tv);
	TAILQ_INSERT_TAIL(&e->pending, p, entry);
}

static void
fault_clear(struct fault *f)
{
	free(f->body);
	free(f->content_type);
	free(f->retry_after);
	memset(f, 0, sizeof(*f));
}

/* Applies the installed fault to a token request of the given grant (-1:
 * unknown); returns whether it replaced the answer (a delay-only fault
 * does not). */
static bool
fault_apply(struct emu *e, int grant, struct answer *a)
{
	struct fault	*f = &e->fault;
	bool		 replace = f->replace;

	if (!f->active || (f->grant != -1 && f->grant != grant))
		return false;
	e->count.faulted++;
	a->faulted = true;
	a->delay_ms = f->delay_ms;
	if (f->replace) {
		answer_clear(a);
		a->drop = f->drop;
		a->status = f->status;
		if (f->malformed)
			a->body = xstrdup(MALFORMED_BODY);
		else
			a->body = xstrdup(f->body != NULL ? f->body :
			    "{\"error\":\"server_error\"}");
		a->content_type = xstrdup(f->content_type != NULL ? f->content_type :
		    "application/json");
		if (f->retry_after != NULL)
			a->retry_after = xstrdup(f->retry_after);
		snprintf(a->reason, sizeof(a->reason), "injected fault");
	}
	if (f->count > 0 && --f->count == 0)
		fault_clear(f);
	return replace;
}

/* Copies a request body, NUL-terminated, wiping libevent's copy; -1 if it
 * holds a NUL byte. */
static int
body_take(struct evhttp_request *req, char **ret, size_t *ret_len)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	size_t		 len = evbuffer_get_length(in);
	unsigned char	*data;
	char		*s;

	data = evbuffer_pullup(in, -1);
	if (len > 0 && data == NULL)
		return -1;
	s = xmalloc(len + 1);
	if (len > 0)
		memcpy(s, data, len);
	s[len] = '\0';
	if (len > 0) {
		OPENSSL_cleanse(data, len);
		evbuffer_drain(in, len);
	}
	if (strlen(s) != len) {
		OPENSSL_cleanse(s, len);
		free(s);
		return -1;
	}
	*ret = s;
	*ret_len = len;
	return 0;
}

static void
form_clear(struct evkeyvalq *form)
{
	struct evkeyval	*kv;

	TAILQ_FOREACH(kv, form, next)
		if (kv->value != NULL)
			OPENSSL_cleanse(kv->value, strlen(kv->value));
	evhttp_clear_headers(form);
}

/* Exactly one value of a form field, or NULL (*dup set when repeated). */
static const char *
form_get(struct evkeyvalq *form, const char *key, bool *dup)
{
	struct evkeyval	*kv;
	const char	*v = NULL;

	TAILQ_FOREACH(kv, form, next) {
		if (strcmp(kv->key, key) != 0)
			continue;
		if (v != NULL)
			*dup = true;
		v = kv->value;
	}
	return v;
}

static bool
content_type_is(const char *ct, const char *want)
{
	size_t	 n;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	return n == strlen(want) && strncasecmp(ct, want, n) == 0;
}

/* The client named by "Authorization: Basic ...", if its secret matches. */
static const struct emu_client *
client_authenticate(struct emu *e, struct evhttp_request *req, struct answer *a)
{
	const char		*h;
	const struct emu_client	*found = NULL;
	unsigned char		*dec = NULL;
	size_t			 declen = 0, idlen, slen;
	char			*colon;

	h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (h == NULL)
		return NULL;
	while (*h == ' ')
		h++;
	if (strncasecmp(h, "Basic ", 6) != 0)
		return NULL;
	if (base64_decode_lenient(h + 6, &dec, &declen) == -1)
		return NULL;
	if (strlen((char *)dec) != declen || (colon = strchr((char *)dec, ':')) == NULL)
		goto done;
	*colon = '\0';
	idlen = (size_t)(colon - (char *)dec);
	slen = declen - idlen - 1;
	log_safe(a->client_id, sizeof(a->client_id), (char *)dec);
	for (size_t i = 0; i < e->n_clients; i++) {
		const struct service_client *c = e->clients[i].client;

		if (c->client_id == NULL || c->secret == NULL ||
		    strcmp(c->client_id, (char *)dec) != 0 || strlen(c->secret) != slen)
			continue;
		if (CRYPTO_memcmp(c->secret, colon + 1, slen) == 0) {
			found = &e->clients[i];
			break;
		}
	}
done:
	OPENSSL_cleanse(dec, declen);
	free(dec);
	return found;
}

/* A fresh opaque token: 32 random bytes, base64url without padding. */
static char *
token_new(void)
{
	unsigned char	 raw[32];
	char		*s;
	size_t		 n;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		fatalx("RAND_bytes failed");
	s = base64_encode(raw, sizeof(raw), 0);
	OPENSSL_cleanse(raw, sizeof(raw));
	for (n = 0; s[n] != '\0' && s[n] != '='; n++) {
		if (s[n] == '+')
			s[n] = '-';
		else if (s[n] == '/')
			s[n] = '_';
	}
	s[n] = '\0';
	return s;
}

static void
answer_token(struct emu *e, struct answer *a)
{
	char	*token = token_new();

	answer_json(a, 200, json_pack("{s:s,s:s,s:I}", "access_token", token,
	    "token_type", "bearer", "expires_in", (json_int_t)e->expires_in));
	secret_free(token);
}

static void
grant_saml2(struct emu *e, const struct emu_client *c, struct evkeyvalq *form,
    struct answer *a)
{
	const char	*org, *assertion;
	bool		 dup = false;
	char		 why[160], *subject = NULL;

	if (!c->saml) {
		answer_oauth(a, 400, "unauthorized_client",
		    "client is not authorized for the saml2-bearer grant");
		return;
	}
	org = form_get(form, "orgName", &dup);
	assertion = form_get(form, "assertion", &dup);
	if (dup) {
		answer_oauth(a, 400, "invalid_request", "a parameter is repeated");
		return;
	}
	if (org == NULL || org[0] == '\0') {
		answer_oauth(a, 400, "invalid_request", "orgName is required");
		return;
	}
	if (assertion == NULL || assertion[0] == '\0') {
		answer_oauth(a, 400, "invalid_request", "assertion is required");
		return;
	}
	if (c->tenant->organization_sname == NULL ||
	    strcmp(org, c->tenant->organization_sname) != 0) {
		answer_oauth(a, 400, "invalid_grant",
		    "orgName does not match the client's organization");
		return;
	}
	if (emulator_saml_verify(assertion, c->tenant, clock_now() + e->clock_offset,
	    &subject, why, sizeof(why)) == -1) {
		answer_oauth(a, 400, "invalid_grant", why);
		return;
	}
	free(e->last_subject);
	e->last_subject = subject;
	answer_token(e, a);
}

static void
handle_token(struct emu *e, struct evhttp_request *req, struct answer *a)
{
	struct evkeyvalq	 form;
	const struct emu_client	*c;
	const char		*ct, *gt = NULL;
	char			*body = NULL;
	size_t			 len = 0;
	bool			 parsed = false, dup = false;
	int			 grant = -1;

	TAILQ_INIT(&form);
	e->count.total++;
	ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST &&
	    content_type_is(ct, FORM_URLENCODED) && body_take(req, &body, &len) == 0) {
		parsed = evhttp_parse_query_str(body, &form) == 0;
		OPENSSL_cleanse(body, len);
		free(body);
	}
	if (parsed && (gt = form_get(&form, "grant_type", &dup)) != NULL) {
		if (strcmp(gt, GRANT_CC) == 0) {
			grant = GRANT_CLIENT_CREDENTIALS;
			a->grant = "client_credentials";
		} else if (strcmp(gt, GRANT_SAML2) == 0) {
			grant = GRANT_SAML2_BEARER;
			a->grant = "saml2_bearer";
		} else {
			a->grant = "other";
		}
	}
	/* Before any fault, so that a faulted request's log line names it. */
	c = client_authenticate(e, req, a);
	if (fault_apply(e, grant, a))
		goto done;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST)
		answer_oauth(a, 405, "invalid_request", "method must be POST");
	else if (!content_type_is(ct, FORM_URLENCODED))
		answer_oauth(a, 400, "invalid_request",
		    "Content-Type must be application/x-www-form-urlencoded");
	else if (!parsed)
		answer_oauth(a, 400, "invalid_request", "malformed form body");
	else if (c == NULL)
		answer_oauth(a, 401, "invalid_client", "authentication failed");
	else if (dup)
		answer_oauth(a, 400, "invalid_request", "a parameter is repeated");
	else if (gt == NULL)
		answer_oauth(a, 400, "invalid_request", "grant_type is required");
	else if (grant == -1)
		answer_oauth(a, 400, "unsupported_grant_type", "grant_type is not supported");
	else if (grant == GRANT_CLIENT_CREDENTIALS && c->saml)
		answer_oauth(a, 400, "unauthorized_client",
		    "client is not authorized for the client_credentials grant");
	else if (grant == GRANT_CLIENT_CREDENTIALS)
		answer_token(e, a);
	else
		grant_saml2(e, c, &form, a);

	if (grant == GRANT_CLIENT_CREDENTIALS) {
		if (a->status == 200)
			e->count.cc_ok++;
		else
			e->count.cc_rejected++;
	} else if (grant == GRANT_SAML2_BEARER) {
		if (a->status == 200)
			e->count.saml_ok++;
		else
			e->count.saml_rejected++;
	}
done:
	form_clear(&form);
}

/* The JSON object of a control request's body; NULL with an answer set. */
static json_t *
control_body(struct evhttp_request *req, struct answer *a)
{
	json_t		*j;
	json_error_t	 jerr;
	char		*body;
	size_t		 len;

	if (body_take(req, &body, &len) == -1) {
		answer_oauth(a, 400, "invalid_request", "body must be a JSON object");
		return NULL;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	free(body);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		answer_oauth(a, 400, "invalid_request", "body must be a JSON object");
		return NULL;
	}
	return j;
}

static bool
header_safe(const char *s, size_t max)
{
	return strlen(s) <= max && strpbrk(s, "\r\n") == NULL;
}

/* Parses a fault; on error returns the reason. */
static const char *
fault_parse(json_t *j, struct fault *f, char *reason, size_t len)
{
	const char	*key;
	json_t		*v;
	bool		 other = false;

	memset(f, 0, sizeof(*f));
	f->count = -1;
	f->grant = -1;
	json_object_foreach(j, key, v) {
		if (strcmp(key, "status") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 100 ||
			    json_integer_value(v) > 599)
				return "status must be an integer from 100 to 599";
			f->status = (int)json_integer_value(v);
			other = true;
		} else if (strcmp(key, "body") == 0) {
			if (!json_is_string(v))
				return "body must be a string";
			free(f->body);
			f->body = xstrdup(json_string_value(v));
			other = true;
		} else if (strcmp(key, "content_type") == 0) {
			if (!json_is_string(v) || !header_safe(json_string_value(v), 128))
				return "content_type must be a short string";
			free(f->content_type);
			f->content_type = xstrdup(json_string_value(v));
			other = true;
		} else if (strcmp(key, "retry_after") == 0) {
			char	 num[32];

			free(f->retry_after);
			f->retry_after = NULL;
			if (json_is_integer(v) && json_integer_value(v) >= 0) {
				snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
				    json_integer_value(v));
				f->retry_after = xstrdup(num);
			} else if (json_is_string(v) && header_safe(json_string_value(v), 64)) {
				f->retry_after = xstrdup(json_string_value(v));
			} else {
				return "retry_after must be a short string or a non-negative integer";
			}
			other = true;
		} else if (strcmp(key, "delay_ms") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > EMU_MAX_DELAY_MS)
				return "delay_ms must be an integer from 0 to 600000";
			f->delay_ms = (long)json_integer_value(v);
		} else if (strcmp(key, "malformed") == 0) {
			if (!json_is_boolean(v))
				return "malformed must be a boolean";
			f->malformed = json_is_true(v);
			other = other || f->malformed;
		} else if (strcmp(key, "drop") == 0) {
			if (!json_is_boolean(v))
				return "drop must be a boolean";
			f->drop = json_is_true(v);
			other = other || f->drop;
		} else if (strcmp(key, "count") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < -1 ||
			    json_integer_value(v) == 0 || json_integer_value(v) > INT_MAX)
				return "count must be -1 or a positive integer";
			f->count = (long)json_integer_value(v);
		} else if (strcmp(key, "grant") == 0) {
			const char *g = json_is_string(v) ? json_string_value(v) : "";

			if (strcmp(g, "client_credentials") == 0)
				f->grant = GRANT_CLIENT_CREDENTIALS;
			else if (strcmp(g, "saml2_bearer") == 0)
				f->grant = GRANT_SAML2_BEARER;
			else if (strcmp(g, "any") == 0)
				f->grant = -1;
			else
				return "grant must be \"client_credentials\", \"saml2_bearer\" or \"any\"";
		} else {
			snprintf(reason, len, "unknown field '%.32s' in fault", key);
			return reason;
		}
	}
	if (f->malformed && f->drop)
		return "malformed and drop exclude each other";
	/* Only a delay: the normal answer, late.  Anything else replaces it. */
	f->replace = other || f->delay_ms == 0;
	if (f->replace && !f->drop && f->status == 0)
		f->status = f->malformed ? 200 : 503;
	f->active = true;
	return NULL;
}

static json_t *
fault_json(const struct fault *f)
{
	const char *g = f->grant == GRANT_CLIENT_CREDENTIALS ? "client_credentials" :
	    f->grant == GRANT_SAML2_BEARER ? "saml2_bearer" : "any";

	if (!f->active)
		return json_pack("{s:b}", "active", 0);
	return json_pack("{s:b,s:b,s:o,s:s?,s:s?,s:s?,s:I,s:b,s:b,s:I,s:s}",
	    "active", 1, "replace", f->replace,
	    "status", f->status != 0 ? json_integer(f->status) : json_null(),
	    "body", f->body, "content_type", f->content_type,
	    "retry_after", f->retry_after, "delay_ms", (json_int_t)f->delay_ms,
	    "malformed", f->malformed, "drop", f->drop,
	    "count", (json_int_t)f->count, "grant", g);
}

static json_t *
config_json(const struct emu *e)
{
	return json_pack("{s:I,s:f}", "expires_in", (json_int_t)e->expires_in,
	    "clock_offset", e->clock_offset);
}

static json_t *
counters_json(const struct emu *e)
{
	json_t	*subject = e->last_subject != NULL ? json_string(e->last_subject) : NULL;

	return json_pack("{s:{s:I,s:I},s:{s:I,s:I},s:I,s:I,s:o}",
	    "client_credentials", "ok", (json_int_t)e->count.cc_ok,
	    "rejected", (json_int_t)e->count.cc_rejected,
	    "saml2_bearer", "ok", (json_int_t)e->count.saml_ok,
	    "rejected", (json_int_t)e->count.saml_rejected,
	    "faulted", (json_int_t)e->count.faulted, "total", (json_int_t)e->count.total,
	    "last_subject", subject != NULL ? subject : json_null());
}

static void
config_set(struct emu *e, struct evhttp_request *req, struct answer *a)
{
	json_t		*j, *v;
	const char	*key;
	long		 expires = e->expires_in;
	double		 offset = e->clock_offset;

	if ((j = control_body(req, a)) == NULL)
		return;
	json_object_foreach(j, key, v) {
		if (strcmp(key, "expires_in") == 0 && json_is_integer(v) &&
		    json_integer_value(v) >= -EMU_MAX_EXPIRES &&
		    json_integer_value(v) <= EMU_MAX_EXPIRES) {
			expires = (long)json_integer_value(v);
		} else if (strcmp(key, "clock_offset") == 0 && json_is_number(v) &&
		    json_number_value(v) >= -EMU_MAX_OFFSET &&
		    json_number_value(v) <= EMU_MAX_OFFSET) {
			offset = json_number_value(v);
		} else {
			json_decref(j);
			answer_oauth(a, 400, "invalid_request",
			    "config takes expires_in (integer seconds) and clock_offset (seconds)");
			return;
		}
	}
	json_decref(j);
	e->expires_in = expires;
	e->clock_offset = offset;
	answer_json(a, 200, config_json(e));
}

static void
handle_control(struct emu *e, struct evhttp_request *req, const char *path,
    struct answer *a)
{
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	const char		*what = path + strlen("/emulator/");
	struct fault		 f;
	json_t			*j;
	const char		*why;
	char			 reason[96];

	if (strcmp(what, "counters") == 0 && cmd == EVHTTP_REQ_GET) {
		answer_json(a, 200, counters_json(e));
	} else if (strcmp(what, "faults") == 0 && cmd == EVHTTP_REQ_GET) {
		answer_json(a, 200, fault_json(&e->fault));
	} else if (strcmp(what, "faults") == 0 && cmd == EVHTTP_REQ_POST) {
		if ((j = control_body(req, a)) == NULL)
			return;
		why = fault_parse(j, &f, reason, sizeof(reason));
		json_decref(j);
		if (why != NULL) {
			fault_clear(&f);
			answer_oauth(a, 400, "invalid_request", why);
			return;
		}
		fault_clear(&e->fault);
		e->fault = f;
		answer_json(a, 200, fault_json(&e->fault));
	} else if (strcmp(what, "faults") == 0 && cmd == EVHTTP_REQ_DELETE) {
		fault_clear(&e->fault);
		answer_json(a, 200, fault_json(&e->fault));
	} else if (strcmp(what, "config") == 0 && cmd == EVHTTP_REQ_GET) {
		answer_json(a, 200, config_json(e));
	} else if (strcmp(what, "config") == 0 && cmd == EVHTTP_REQ_POST) {
		config_set(e, req, a);
	} else if (strcmp(what, "reset") == 0 && cmd == EVHTTP_REQ_POST) {
		memset(&e->count, 0, sizeof(e->count));
		free(e->last_subject);
		e->last_subject = NULL;
		fault_clear(&e->fault);
		e->expires_in = e->opt_expires_in;
		e->clock_offset = 0;
		answer_json(a, 200, json_pack("{s:b}", "reset", 1));
	} else if (strcmp(what, "counters") == 0 || strcmp(what, "faults") == 0 ||
	    strcmp(what, "config") == 0 || strcmp(what, "reset") == 0) {
		answer_oauth(a, 405, "invalid_request", "method not allowed");
	} else {
		answer_oauth(a, 404, "not_found", "no such control");
	}
}

static void
handle_request(struct evhttp_request *req, void *arg)
{
	struct emu		*e = arg;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	struct answer		 a;

	memset(&a, 0, sizeof(a));
	a.grant = "-";
	snprintf(a.client_id, sizeof(a.client_id), "-");
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
		snprintf(a.method, sizeof(a.method), "GET");
		break;
	case EVHTTP_REQ_POST:
		snprintf(a.method, sizeof(a.method), "POST");
		break;
	case EVHTTP_REQ_DELETE:
		snprintf(a.method, sizeof(a.method), "DELETE");
		break;
	default:
		snprintf(a.method, sizeof(a.method), "OTHER");
		break;
	}
	log_safe(a.path, sizeof(a.path), path);
	if (path == NULL)
		answer_oauth(&a, 400, "invalid_request", "bad request URI");
	else if (strcmp(path, "/oauth/token") == 0)
		handle_token(e, req, &a);
	else if (strncmp(path, "/emulator/", strlen("/emulator/")) == 0)
		handle_control(e, req, path, &a);
	else
		answer_oauth(&a, 404, "not_found", "no such path");
	answer_finish(e, req, &a);
}

/* Each client of each tenant, for authentication. */
static void
clients_build(struct emu *e)
{
	size_t	 n = 0;

	for (size_t i = 0; i < e->conf->n_tenants; i++)
		n += 1 + e->conf->tenants[i]->n_services;
	e->clients = xcalloc(n, sizeof(*e->clients));
	for (size_t i = 0; i < e->conf->n_tenants; i++) {
		const struct tenant *t = e->conf->tenants[i];

		e->clients[e->n_clients++] = (struct emu_client){ t, &t->saml_auth, true };
		for (size_t s = 0; s < t->n_services; s++)
			e->clients[e->n_clients++] =
			    (struct emu_client){ t, &t->services[s], false };
	}
}

static int
file_exists(const char *path)
{
	struct stat	 st;

	return stat(path, &st) == 0;
}

static int
x509_ext_add(X509 *x, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;
	int		 rc;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	rc = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

/* Writes PEM text through an exclusive create with the given mode. */
static int
pem_write(const char *path, mode_t mode, EVP_PKEY *pkey, X509 *x)
{
	FILE	*f;
	int	 fd, ok;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) == -1)
		return -1;
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return -1;
	}
	ok = pkey != NULL ? PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) :
	    PEM_write_X509(f, x);
	if (fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* A self-signed P-256 certificate for localhost, 127.0.0.1 and ::1. */
static int
tls_generate(const char *certpath, const char *keypath)
{
	EVP_PKEY	*pkey = NULL;
	X509		*x = NULL;
	X509_NAME	*name;
	BIGNUM		*serial = NULL;
	int		 rc = -1;

	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (x = X509_new()) == NULL || (serial = BN_new()) == NULL)
		goto done;
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
	    BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -300) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), EMU_CERT_DAYS, 0, NULL) == NULL)
		goto done;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"samlbroker-emulator", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, pkey) != 1)
		goto done;
	if (x509_ext_add(x, NID_basic_constraints, "critical,CA:FALSE") == -1 ||
	    x509_ext_add(x, NID_ext_key_usage, "serverAuth") == -1 ||
	    x509_ext_add(x, NID_subject_key_identifier, "hash") == -1 ||
	    x509_ext_add(x, NID_subject_alt_name,
	    "DNS:localhost,IP:127.0.0.1,IP:::1") == -1)
		goto done;
	if (X509_sign(x, pkey, EVP_sha256()) == 0)
		goto done;
	if (pem_write(keypath, 0600, pkey, NULL) == -1)
		goto done;
	if (pem_write(certpath, 0644, NULL, x) == -1) {
		unlink(keypath);
		goto done;
	}
	rc = 0;
done:
	BN_free(serial);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}

static SSL_CTX *
tls_setup(const char *dir)
{
	SSL_CTX	*ctx = NULL;
	char	 cert[PATH_MAX], key[PATH_MAX];
	int	 have_cert, have_key;

	if (snprintf(cert, sizeof(cert), "%s/emulator-cert.pem", dir) >= (int)sizeof(cert) ||
	    snprintf(key, sizeof(key), "%s/emulator-key.pem", dir) >= (int)sizeof(key)) {
		log_warnx("tls_dir=%s error=\"path too long\"", dir);
		return NULL;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("mkdir tls_dir=%s", dir);
		return NULL;
	}
	have_cert = file_exists(cert);
	have_key = file_exists(key);
	if (have_cert != have_key) {
		log_warnx("tls_dir=%s error=\"only one of emulator-cert.pem and "
		    "emulator-key.pem exists\"", dir);
		return NULL;
	}
	if (!have_cert) {
		if (tls_generate(cert, key) == -1) {
			log_warn("cannot make a certificate in tls_dir=%s", dir);
			return NULL;
		}
		log_info("tls certificate=%s created", cert);
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_warnx("tls_dir=%s error=\"cannot use emulator-cert.pem and "
		    "emulator-key.pem\"", dir);
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return NULL;
	}
	return ctx;
}

static struct bufferevent *
tls_bevcb(struct event_base *base, void *arg)
{
	SSL_CTX	*ctx = arg;
	SSL	*ssl;

	/* A NULL here would make evhttp serve plain HTTP on this port. */
	if ((ssl = SSL_new(ctx)) == NULL)
		fatalx("SSL_new failed");
	return bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

/* HOST:PORT or [IPV6]:PORT. */
static int
hostport_parse(const char *s, struct listen_spec *ret)
{
	const char	*colon;
	char		*end, *host;
	long		 port;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		host = xstrndup(s + 1, (size_t)(close - s - 1));
		colon = close + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL || memchr(s, ':', (size_t)(colon - s)))
			return -1;
		host = xstrndup(s, (size_t)(colon - s));
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (host[0] == '\0' || colon[1] == '\0' || *end != '\0' || errno != 0 ||
	    port < 0 || port > 65535) {
		free(host);
		return -1;
	}
	ret->host = host;
	ret->port = (int)port;
	return 0;
}

static int
listen_one(struct emu *e, struct listen_spec *l)
{
	struct evhttp			*http = l->tls ? e->https : e->http;
	struct evhttp_bound_socket	*bound;
	struct sockaddr_storage		 ss;
	socklen_t			 sslen = sizeof(ss);

	if ((bound = evhttp_bind_socket_with_handle(http, l->host,
	    (ev_uint16_t)l->port)) == NULL) {
		log_warn("cannot listen on host=%s port=%d", l->host, l->port);
		return -1;
	}
	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss,
	    &sslen) == -1) {
		log_warn("getsockname");
		return -1;
	}
	if (ss.ss_family == AF_INET)
		l->bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else
		l->bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	log_info("listening scheme=%s host=%s port=%d", l->tls ? "https" : "http",
	    l->host, l->bound_port);
	return 0;
}

/* Written whole, then renamed: a reader never sees half a file. */
static int
port_file_write(const char *path, const struct listen_spec *ls, size_t n)
{
	char	 tmp[PATH_MAX];
	FILE	*f;
	int	 ok = 1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (fprintf(f, "%s %d\n", ls[i].tls ? "https" : "http", ls[i].bound_port) < 0)
			ok = 0;
	if (fclose(f) != 0 || !ok || rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static struct evhttp *
http_new(struct emu *e)
{
	struct evhttp	*http;

	if ((http = evhttp_new(e->base)) == NULL)
		fatalx("evhttp_new failed");
	evhttp_set_gencb(http, handle_request, e);
	evhttp_set_max_body_size(http, EMU_MAX_BODY);
	evhttp_set_max_headers_size(http, EMU_MAX_HEADERS);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_DELETE);
	evhttp_set_timeout(http, 60);
	return http;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct emu	*e = arg;

	log_info("signal=%d stopping", (int)sig);
	event_base_loopexit(e->base, NULL);
}

static void
emu_free(struct emu *e)
{
	struct pending	*p;

	while ((p = TAILQ_FIRST(&e->pending)) != NULL) {
		TAILQ_REMOVE(&e->pending, p, entry);
		event_free(p->timer);
		/* A request whose client went away belongs to nobody else. */
		if (evhttp_request_get_connection(p->req) == NULL)
			evhttp_request_free(p->req);
		answer_clear(&p->ans);
		free(p);
	}
	if (e->http != NULL)
		evhttp_free(e->http);
	if (e->https != NULL)
		evhttp_free(e->https);
	if (e->sig_term != NULL)
		event_free(e->sig_term);
	if (e->sig_int != NULL)
		event_free(e->sig_int);
	SSL_CTX_free(e->ssl_ctx);
	fault_clear(&e->fault);
	free(e->last_subject);
	free(e->clients);
	config_free(e->conf);
	if (e->base != NULL)
		event_base_free(e->base);
}

int
main(int argc, char **argv)
{
	enum { OPT_LISTEN = 256, OPT_HTTPS, OPT_TLSDIR, OPT_EXPIRES, OPT_PORTFILE, OPT_LOGLEVEL };
	static const struct option longopts[] = {
		{ "config",		required_argument,	NULL, 'c' },
		{ "listen",		required_argument,	NULL, OPT_LISTEN },
		{ "https-listen",	required_argument,	NULL, OPT_HTTPS },
		{ "tls-dir",		required_argument,	NULL, OPT_TLSDIR },
		{ "expires-in",		required_argument,	NULL, OPT_EXPIRES },
		{ "port-file",		required_argument,	NULL, OPT_PORTFILE },
		{ "log-level",		required_argument,	NULL, OPT_LOGLEVEL },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct listen_spec	 listens[EMU_MAX_LISTENERS];
	size_t			 n_listens = 0;
	const char		*conf_path = NULL, *tls_dir = NULL, *port_file = NULL;
	struct emu		 e;
	enum log_level		 level = LOG_LEVEL_INFO;
	bool			 want_tls = false;
	char			*end;
	int			 ch, rc = 1, saml_up = 0;

	log_init(LOG_LEVEL_INFO, "samlbroker-emulator");
	memset(&e, 0, sizeof(e));
	memset(listens, 0, sizeof(listens));
	TAILQ_INIT(&e.pending);
	e.opt_expires_in = 86400;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case OPT_LISTEN:
		case OPT_HTTPS:
			if (n_listens == EMU_MAX_LISTENERS) {
				fprintf(stderr, "samlbroker-emulator: at most %d listeners\n",
				    EMU_MAX_LISTENERS);
				goto usage;
			}
			if (hostport_parse(optarg, &listens[n_listens]) == -1) {
				fprintf(stderr, "samlbroker-emulator: '%s' is not HOST:PORT\n",
				    optarg);
				goto usage;
			}
			listens[n_listens].tls = ch == OPT_HTTPS;
			want_tls = want_tls || ch == OPT_HTTPS;
			n_listens++;
			break;
		case OPT_TLSDIR:
			tls_dir = optarg;
			break;
		case OPT_EXPIRES:
			errno = 0;
			e.opt_expires_in = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    e.opt_expires_in < 1 || e.opt_expires_in > EMU_MAX_EXPIRES) {
				fprintf(stderr, "samlbroker-emulator: --expires-in takes "
				    "1 to %ld seconds\n", EMU_MAX_EXPIRES);
				goto usage;
			}
			break;
		case OPT_PORTFILE:
			port_file = optarg;
			break;
		case OPT_LOGLEVEL:
			if (log_level_parse(optarg, &level) == -1) {
				fprintf(stderr, "samlbroker-emulator: unknown log level '%s'\n",
				    optarg);
				goto usage;
			}
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto done;
		default:
			goto usage;
		}
	}
	if (optind != argc || conf_path == NULL || n_listens == 0) {
		if (optind == argc)
			fprintf(stderr, "samlbroker-emulator: %s\n", conf_path == NULL ?
			    "-c CONF is required" : "give --listen or --https-listen");
		goto usage;
	}
	if (want_tls && tls_dir == NULL) {
		fprintf(stderr, "samlbroker-emulator: --https-listen needs --tls-dir\n");
		goto usage;
	}
	log_set_level(level);
	e.expires_in = e.opt_expires_in;
	process_harden();
	signal(SIGPIPE, SIG_IGN);

	if (emulator_saml_init() == -1) {
		log_warnx("cannot initialise libxml2 and xmlsec");
		goto done;
	}
	saml_up = 1;
	if ((e.conf = config_load_verbose(conf_path)) == NULL) {
		log_warnx("config=%s error=\"configuration has errors\"", conf_path);
		goto done;
	}
	clients_build(&e);
	if (tls_dir != NULL && (e.ssl_ctx = tls_setup(tls_dir)) == NULL)
		goto done;
	if ((e.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	e.http = http_new(&e);
	if (want_tls) {
		e.https = http_new(&e);
		evhttp_set_bevcb(e.https, tls_bevcb, e.ssl_ctx);
	}
	for (size_t i = 0; i < n_listens; i++)
		if (listen_one(&e, &listens[i]) == -1)
			goto done;
	if ((e.sig_term = evsignal_new(e.base, SIGTERM, on_signal, &e)) == NULL ||
	    (e.sig_int = evsignal_new(e.base, SIGINT, on_signal, &e)) == NULL ||
	    event_add(e.sig_term, NULL) == -1 || event_add(e.sig_int, NULL) == -1)
		fatalx("cannot watch signals");
	if (port_file != NULL && port_file_write(port_file, listens, n_listens) == -1) {
		log_warn("cannot write port_file=%s", port_file);
		goto done;
	}
	log_info("ready tenants=%zu clients=%zu expires_in=%ld", e.conf->n_tenants,
	    e.n_clients, e.expires_in);
	event_base_dispatch(e.base);
	rc = 0;
	goto done;
usage:
	usage(stderr);
	rc = 2;
done:
	emu_free(&e);
	for (size_t i = 0; i < n_listens; i++)
		free(listens[i].host);
	if (saml_up)
		emulator_saml_shutdown();
	libevent_global_shutdown();
	return rc;
}
