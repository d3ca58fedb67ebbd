/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emulator.c - samlbroker-emulator: a stand-in for the PureCloud token
 * endpoint and the platform API's identity provider and organization
 * calls, for offline tests and for integrators.
 *
 * Owns the command line, the HTTP and HTTPS listeners (evhttp, TLS with
 * bufferevent_openssl and a self-signed localhost certificate made on
 * first start), routing to the token endpoint (emulator_token.c), the
 * platform API (emulator_api.c) and the test controls under /emulator/
 * (emulator_control.c), and sending answers, late when a fault says so.
 * Its organizations, clients and identity providers come from its own
 * configuration file (emulator_conf.c), never from the broker's.
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
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "emulator.h"

#define EMU_MAX_BODY		(256 * 1024)
#define EMU_MAX_HEADERS		(16 * 1024)
#define EMU_MAX_LISTENERS	16
#define EMU_CERT_DAYS		825
#define EMU_MAX_EXPIRES		31536000L	/* a year */

struct listen_spec {
	char		*host;
	int		 port;
	bool		 tls;
	int		 bound_port;
};

/* The HTTPS certificate: a server certificate for loopback names. */
static const struct x509_ext tls_exts[] = {
	{ NID_basic_constraints,	"critical,CA:FALSE" },
	{ NID_ext_key_usage,		"serverAuth" },
	{ NID_subject_key_identifier,	"hash" },
	{ NID_subject_alt_name,		"DNS:localhost,IP:127.0.0.1,IP:::1" },
};

double
emu_now(const struct emu *e)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + e->clock_offset;
}

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: samlbroker-emulator -c FILE [--listen HOST:PORT]... "
	    "[--https-listen HOST:PORT]...\n"
	    "           [--tls-dir DIR] [--expires-in SECONDS] [--port-file FILE] "
	    "[--log-level LEVEL]\n"
	    "           [--token-rate N] [--token-burst N] [--token-latency-ms MS]\n"
	    "A PureCloud token endpoint (POST /oauth/token) and platform API\n"
	    "(/api/v2/organizations/me, /api/v2/identityproviders) for the\n"
	    "organizations of FILE, with test controls under /emulator/.\n"
	    "  -c, --config FILE        the emulator's configuration (JSON)\n"
	    "      --listen HOST:PORT   serve HTTP (port 0: any free port)\n"
	    "      --https-listen H:P   serve HTTPS (needs --tls-dir)\n"
	    "      --tls-dir DIR        emulator-cert.pem and emulator-key.pem, made if absent\n"
	    "      --expires-in SECS    lifetime of tokens handed out (default 86400)\n"
	    "      --port-file FILE     write \"http PORT\" / \"https PORT\" once listening\n"
	    "      --log-level LEVEL    error, warn, info (default) or debug\n"
	    "      --token-rate N       token requests a second per organization, beyond\n"
	    "                           them 429 with Retry-After (default 0: no limit)\n"
	    "      --token-burst N      requests allowed at once (default: rate / 10, >= 1)\n"
	    "      --token-latency-ms MS  delay of every token answer (default 0)\n");
}

void
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

void
answer_clear(struct answer *a)
{
	secret_free(a->body);	/* may hold a token */
	free(a->content_type);
	free(a->retry_after);
	a->body = a->content_type = a->retry_after = NULL;
}

void
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

void
answer_empty(struct answer *a, int status)
{
	answer_clear(a);
	a->status = status;
}

void
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

int
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
	case EVHTTP_REQ_PUT:
		snprintf(a.method, sizeof(a.method), "PUT");
		break;
	default:
		snprintf(a.method, sizeof(a.method), "OTHER");
		break;
	}
	log_safe(a.path, sizeof(a.path), path);
	if (path == NULL)
		answer_oauth(&a, 400, "invalid_request", "bad request URI");
	else if (strcmp(path, "/oauth/token") == 0)
		token_handle(e, req, &a);
	else if (strncmp(path, "/api/", strlen("/api/")) == 0)
		api_handle(e, req, path, &a);
	else if (strncmp(path, "/emulator/", strlen("/emulator/")) == 0)
		control_handle(e, req, path, &a);
	else
		answer_oauth(&a, 404, "not_found", "no such path");
	answer_finish(e, req, &a);
}

static int
file_exists(const char *path)
{
	struct stat	 st;

	return stat(path, &st) == 0;
}

/* A self-signed P-256 certificate for localhost, 127.0.0.1 and ::1. */
static int
tls_generate(const char *certpath, const char *keypath)
{
	EVP_PKEY	*pkey = NULL;
	X509		*x = NULL;
	X509_NAME	*name = NULL;
	char		*cert_pem = NULL, *key_pem = NULL;
	int		 rc = -1;

	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (name = X509_NAME_new()) == NULL)
		goto done;
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"samlbroker-emulator", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0) != 1)
		goto done;
	if ((x = x509_selfsigned_new(pkey, name, EMU_CERT_DAYS, 300, tls_exts,
	    sizeof(tls_exts) / sizeof(tls_exts[0]))) == NULL ||
	    (cert_pem = x509_cert_pem(x)) == NULL ||
	    (key_pem = x509_key_pem(pkey, NULL)) == NULL)
		goto done;
	if (file_write_new(keypath, 0600, key_pem, strlen(key_pem)) == -1)
		goto done;
	if (file_write_new(certpath, 0644, cert_pem, strlen(cert_pem)) == -1) {
		unlink(keypath);
		goto done;
	}
	rc = 0;
done:
	secret_free(key_pem);
	free(cert_pem);
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return rc;
}

static SSL_CTX *
tls_setup(const char *dir)
{
	SSL_CTX	*ctx = NULL;
	char	*cert = NULL, *key = NULL;
	int	 have_cert, have_key;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("mkdir tls_dir=%s", dir);
		return NULL;
	}
	cert = path_join(dir, "emulator-cert.pem");
	key = path_join(dir, "emulator-key.pem");
	have_cert = file_exists(cert);
	have_key = file_exists(key);
	if (have_cert != have_key) {
		log_warnx("tls_dir=%s error=\"only one of emulator-cert.pem and "
		    "emulator-key.pem exists\"", dir);
		goto done;
	}
	if (!have_cert) {
		if (tls_generate(cert, key) == -1) {
			log_warn("cannot make a certificate in tls_dir=%s", dir);
			goto done;
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
		ctx = NULL;
		ERR_clear_error();
	}
done:
	free(cert);
	free(key);
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
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
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
	token_forget_all(e);
	emu_config_free(e->conf);
	if (e->base != NULL)
		event_base_free(e->base);
}

/* The command line. */
struct args {
	struct listen_spec	 listens[EMU_MAX_LISTENERS];
	size_t			 n_listens;
	const char		*conf_path;
	const char		*tls_dir;
	const char		*port_file;
	long			 expires_in;
	struct emu_limits	 limits;
	enum log_level		 level;
	bool			 want_tls;
};

/* The command line's long options. */
enum { OPT_LISTEN = 256, OPT_HTTPS, OPT_TLSDIR, OPT_EXPIRES, OPT_PORTFILE, OPT_LOGLEVEL,
    OPT_RATE, OPT_BURST, OPT_LATENCY };
static const struct option longopts[] = {
	{ "config",		required_argument,	NULL, 'c' },
	{ "listen",		required_argument,	NULL, OPT_LISTEN },
	{ "https-listen",	required_argument,	NULL, OPT_HTTPS },
	{ "tls-dir",		required_argument,	NULL, OPT_TLSDIR },
	{ "expires-in",		required_argument,	NULL, OPT_EXPIRES },
	{ "port-file",		required_argument,	NULL, OPT_PORTFILE },
	{ "log-level",		required_argument,	NULL, OPT_LOGLEVEL },
	{ "token-rate",		required_argument,	NULL, OPT_RATE },
	{ "token-burst",	required_argument,	NULL, OPT_BURST },
	{ "token-latency-ms",	required_argument,	NULL, OPT_LATENCY },
	{ "help",		no_argument,		NULL, 'h' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/* --token-rate, --token-burst (numbers, 0 to a million) and
 * --token-latency-ms (0 to 600000); -1 after saying why. */
static int
limit_parse(int opt, const char *arg, struct emu_limits *l)
{
	const char	*name = opt == OPT_RATE ? "--token-rate" : opt == OPT_BURST ?
	    "--token-burst" : "--token-latency-ms";
	double		 max = opt == OPT_LATENCY ? EMU_MAX_DELAY_MS : EMU_MAX_RATE, v;
	char		*end;

	errno = 0;
	v = strtod(arg, &end);
	if (*arg == '\0' || *end != '\0' || errno != 0 || !(v >= 0 && v <= max) ||
	    (opt == OPT_LATENCY && v != (double)(long)v)) {
		fprintf(stderr, "samlbroker-emulator: %s takes %s from 0 to %.0f\n",
		    name, opt == OPT_LATENCY ? "an integer" : "a number", max);
		return -1;
	}
	if (opt == OPT_RATE)
		l->rate = v;
	else if (opt == OPT_BURST)
		l->burst = v;
	else
		l->latency_ms = (long)v;
	return 0;
}

/* 0: run; 1: --help was shown; 2: a usage error, said on stderr. */
static int
args_parse(int argc, char **argv, struct args *a)
{
	char	*end;
	int	 ch;

	while ((ch = getopt_long(argc, argv, "c:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'V':
			printf("samlbroker-emulator %s\n", PACKAGE_VERSION);
			return 1;
		case 'c':
			a->conf_path = optarg;
			break;
		case OPT_LISTEN:
		case OPT_HTTPS:
			if (a->n_listens == EMU_MAX_LISTENERS) {
				fprintf(stderr, "samlbroker-emulator: at most %d listeners\n",
				    EMU_MAX_LISTENERS);
				return 2;
			}
			if (hostport_parse(optarg, &a->listens[a->n_listens]) == -1) {
				fprintf(stderr, "samlbroker-emulator: '%s' is not HOST:PORT\n",
				    optarg);
				return 2;
			}
			a->listens[a->n_listens++].tls = ch == OPT_HTTPS;
			a->want_tls = a->want_tls || ch == OPT_HTTPS;
			break;
		case OPT_TLSDIR:
			a->tls_dir = optarg;
			break;
		case OPT_EXPIRES:
			errno = 0;
			a->expires_in = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    a->expires_in < 1 || a->expires_in > EMU_MAX_EXPIRES) {
				fprintf(stderr, "samlbroker-emulator: --expires-in takes "
				    "1 to %ld seconds\n", EMU_MAX_EXPIRES);
				return 2;
			}
			break;
		case OPT_PORTFILE:
			a->port_file = optarg;
			break;
		case OPT_RATE:
		case OPT_BURST:
		case OPT_LATENCY:
			if (limit_parse(ch, optarg, &a->limits) == -1)
				return 2;
			break;
		case OPT_LOGLEVEL:
			if (log_level_parse(optarg, &a->level) == -1) {
				fprintf(stderr, "samlbroker-emulator: unknown log level '%s'\n",
				    optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return 2;
		}
	}
	if (optind != argc || a->conf_path == NULL || a->n_listens == 0) {
		if (optind == argc)
			fprintf(stderr, "samlbroker-emulator: %s\n", a->conf_path == NULL ?
			    "-c FILE is required" : "give --listen or --https-listen");
		return 2;
	}
	if (a->want_tls && a->tls_dir == NULL) {
		fprintf(stderr, "samlbroker-emulator: --https-listen needs --tls-dir\n");
		return 2;
	}
	return 0;
}

/* Listeners, signals and the port file; -1 after logging. */
static int
emu_start(struct emu *e, struct args *a)
{
	if ((e->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	e->http = http_new(e);
	if (a->want_tls) {
		e->https = http_new(e);
		evhttp_set_bevcb(e->https, tls_bevcb, e->ssl_ctx);
	}
	for (size_t i = 0; i < a->n_listens; i++)
		if (listen_one(e, &a->listens[i]) == -1)
			return -1;
	if ((e->sig_term = evsignal_new(e->base, SIGTERM, on_signal, e)) == NULL ||
	    (e->sig_int = evsignal_new(e->base, SIGINT, on_signal, e)) == NULL ||
	    event_add(e->sig_term, NULL) == -1 || event_add(e->sig_int, NULL) == -1)
		fatalx("cannot watch signals");
	if (a->port_file != NULL &&
	    port_file_write(a->port_file, a->listens, a->n_listens) == -1) {
		log_warn("cannot write port_file=%s", a->port_file);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static struct emu	 e;	/* large: the token table */
	static struct args	 a;
	char			 err[640];
	int			 rc = 1, saml_up = 0;

	log_init(LOG_LEVEL_INFO, "samlbroker-emulator");
	TAILQ_INIT(&e.pending);
	a.expires_in = 86400;
	a.level = LOG_LEVEL_INFO;
	switch (args_parse(argc, argv, &a)) {
	case 1:
		rc = 0;
		goto done;
	case 2:
		usage(stderr);
		rc = 2;
		goto done;
	}
	log_set_level(a.level);
	e.opt_expires_in = e.expires_in = a.expires_in;
	e.opt_limits = e.limits = a.limits;
	process_harden();
	signal(SIGPIPE, SIG_IGN);

	if (emulator_saml_init() == -1) {
		log_warnx("cannot initialise libxml2 and xmlsec");
		goto done;
	}
	saml_up = 1;
	if ((e.conf = emu_config_load(a.conf_path, err, sizeof(err))) == NULL) {
		log_warnx("error=\"%s\"", err);
		goto done;
	}
	if (a.tls_dir != NULL && (e.ssl_ctx = tls_setup(a.tls_dir)) == NULL)
		goto done;
	if (emu_start(&e, &a) == -1)
		goto done;
	token_limits_reset(&e);
	log_info("ready organizations=%zu clients=%zu expires_in=%ld token_rate=%g "
	    "token_latency_ms=%ld", e.conf->n_orgs, e.conf->n_clients, e.expires_in,
	    e.limits.rate, e.limits.latency_ms);
	event_base_dispatch(e.base);
	rc = 0;
done:
	emu_free(&e);
	for (size_t i = 0; i < a.n_listens; i++)
		free(a.listens[i].host);
	if (saml_up)
		emulator_saml_shutdown();
	libevent_global_shutdown();
	return rc;
}
