/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_https_load.c - a small HTTPS load generator that presents a client
 * certificate, which wrk cannot: tests/bench_https.py runs it against the
 * broker's https: listener and against nginx with the same certificate.
 * One thread per connection, blocking I/O:
 *
 *   keepalive   each thread opens one TLS connection and sends GET after
 *               GET on it (HTTP/1.1 keep-alive), reading each whole answer
 *   handshake   each thread connects, handshakes (full: no resumption),
 *               sends one GET, reads the answer and closes, again and again
 *
 *   bench_https_load MODE HOST PORT PATH CA CERT KEY CONNECTIONS SECONDS [SERVICE]
 *
 * CERT and KEY "-": no client certificate.  SERVICE (a GSS host-based
 * name, HTTP@localhost): Negotiate, as a Kerberos client does it, with the
 * ticket of KRB5CCNAME: the first request of each connection carries
 * "Authorization: Negotiate" (a new SPNEGO token each time) and the
 * answer's mutual-authentication token is checked; later requests on the
 * connection carry none (it stays authenticated).  Needs a build with
 * MIT krb5's GSS-API (HAVE_GSSAPI).
 *
 * Prints "requests N seconds S rate R errors E".  Not a test.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#ifdef HAVE_GSSAPI
#include <gssapi/gssapi.h>
#endif

static const char	*host, *path;
static int		 port;
static bool		 handshake_mode;
static SSL_CTX		*ctx;
static atomic_long	 requests, errors;
static atomic_bool	 stop;
static char		 request[1024];

#ifdef HAVE_GSSAPI
static const char	*service;	/* Negotiate to this service, or NULL */
static gss_OID_desc	 spnego_oid = { 6, (void *)"\x2b\x06\x01\x05\x05\x02" };
static gss_name_t	 target;

/* A new context's first token, base64, into b64; the context in *gctx. */
static int
negotiate_start(gss_ctx_id_t *gctx, char *b64, size_t len)
{
	OM_uint32	 major, minor;
	gss_buffer_desc	 out = GSS_C_EMPTY_BUFFER;
	int		 rc = -1;

	*gctx = GSS_C_NO_CONTEXT;
	major = gss_init_sec_context(&minor, GSS_C_NO_CREDENTIAL, gctx, target,
	    &spnego_oid, GSS_C_MUTUAL_FLAG, 0, GSS_C_NO_CHANNEL_BINDINGS,
	    GSS_C_NO_BUFFER, NULL, &out, NULL, NULL);
	if ((major == GSS_S_CONTINUE_NEEDED || major == GSS_S_COMPLETE) &&
	    out.length > 0 && 4 * ((out.length + 2) / 3) < len) {
		EVP_EncodeBlock((unsigned char *)b64, out.value, (int)out.length);
		rc = 0;
	}
	(void)gss_release_buffer(&minor, &out);
	return rc;
}

/* The answer's "WWW-Authenticate: Negotiate TOKEN" completes the context. */
static int
negotiate_finish(gss_ctx_id_t *gctx, const char *head, const char *end)
{
	static const char	 name[] = "\r\nWWW-Authenticate: Negotiate ";
	unsigned char		 tok[8192];
	const char		*v, *e;
	OM_uint32		 major, minor;
	gss_buffer_desc		 in, out = GSS_C_EMPTY_BUFFER;
	int			 n, pad = 0;

	if ((v = strcasestr(head, name)) == NULL || v > end)
		return -1;
	v += sizeof(name) - 1;
	e = strstr(v, "\r\n");
	if (e == NULL || e == v || (size_t)(e - v) > 4 * sizeof(tok) / 3)
		return -1;
	pad = (e[-1] == '=') + (e - 1 > v && e[-2] == '=');
	if ((n = EVP_DecodeBlock(tok, (const unsigned char *)v, (int)(e - v))) < 0)
		return -1;
	in.value = tok;
	in.length = (size_t)(n - pad);
	major = gss_init_sec_context(&minor, GSS_C_NO_CREDENTIAL, gctx, target,
	    &spnego_oid, GSS_C_MUTUAL_FLAG, 0, GSS_C_NO_CHANNEL_BINDINGS, &in,
	    NULL, &out, NULL, NULL);
	(void)gss_release_buffer(&minor, &out);
	return major == GSS_S_COMPLETE ? 0 : -1;
}
#endif

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static SSL *
open_conn(void)
{
	struct sockaddr_in	 sin;
	int			 fd, one = 1;
	SSL			*ssl;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return NULL;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return NULL;
	}
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	return ssl;
}

static void
close_conn(SSL *ssl)
{
	int	 fd = SSL_get_fd(ssl);

	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
}

/* One request and its whole answer; 0 on a 200.  first: the first
 * request of its connection (Negotiate authenticates it). */
static int
exchange(SSL *ssl, bool first)
{
	char		 buf[16384], req[sizeof(request) + 12000];
	size_t		 have = 0, need = 0;
	const char	*end, *cl;
	int		 n;
#ifdef HAVE_GSSAPI
	OM_uint32	 minor;
	gss_ctx_id_t	 gctx = GSS_C_NO_CONTEXT;
	char		 b64[11000];
#endif

	snprintf(req, sizeof(req), "%s\r\n", request);
#ifdef HAVE_GSSAPI
	if (service != NULL && first) {
		if (negotiate_start(&gctx, b64, sizeof(b64)) != 0)
			return -1;
		snprintf(req, sizeof(req), "%sAuthorization: Negotiate %s\r\n\r\n",
		    request, b64);
	}
#else
	(void)first;
#endif
	if (SSL_write(ssl, req, (int)strlen(req)) <= 0)
		goto fail;
	for (;;) {
		if (have == sizeof(buf))
			goto fail;
		if ((n = SSL_read(ssl, buf + have, (int)(sizeof(buf) - have - 1))) <= 0)
			goto fail;
		have += (size_t)n;
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		if ((cl = strcasestr(buf, "\r\nContent-Length:")) == NULL || cl > end)
			goto fail;
		need = (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10);
		if (have >= need)
			break;
	}
#ifdef HAVE_GSSAPI
	if (gctx != GSS_C_NO_CONTEXT) {
		int	 mutual = negotiate_finish(&gctx, buf, end);

		(void)gss_delete_sec_context(&minor, &gctx, GSS_C_NO_BUFFER);
		if (mutual != 0)
			return -1;
	}
#endif
	return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
fail:
#ifdef HAVE_GSSAPI
	if (gctx != GSS_C_NO_CONTEXT)
		(void)gss_delete_sec_context(&minor, &gctx, GSS_C_NO_BUFFER);
#endif
	return -1;
}

static void *
worker(void *arg)
{
	SSL	*ssl = NULL;
	bool	 fresh;

	(void)arg;
	while (!atomic_load(&stop)) {
		fresh = ssl == NULL;
		if (ssl == NULL && (ssl = open_conn()) == NULL) {
			atomic_fetch_add(&errors, 1);
			usleep(1000);
			continue;
		}
		if (exchange(ssl, fresh) == 0)
			atomic_fetch_add(&requests, 1);
		else {
			atomic_fetch_add(&errors, 1);
			close_conn(ssl);
			ssl = NULL;
			continue;
		}
		if (handshake_mode) {
			close_conn(ssl);
			ssl = NULL;
		}
	}
	if (ssl != NULL)
		close_conn(ssl);
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t	*threads;
	int		 nconn, seconds;
	double		 t0, t1;

	if (argc != 10 && argc != 11) {
		fprintf(stderr, "usage: bench_https_load keepalive|handshake HOST PORT "
		    "PATH CA CERT|- KEY|- CONNECTIONS SECONDS [SERVICE]\n");
		return 2;
	}
	if (argc == 11) {
#ifdef HAVE_GSSAPI
		OM_uint32	 minor;
		gss_buffer_desc	 nb = { strlen(argv[10]), argv[10] };

		service = argv[10];
		if (gss_import_name(&minor, &nb, GSS_C_NT_HOSTBASED_SERVICE,
		    &target) != GSS_S_COMPLETE) {
			fprintf(stderr, "bench_https_load: bad service %s\n", service);
			return 1;
		}
#else
		fprintf(stderr, "bench_https_load: built without GSS-API (Negotiate)\n");
		return 3;
#endif
	}
	handshake_mode = strcmp(argv[1], "handshake") == 0;
	host = argv[2];
	port = atoi(argv[3]);
	path = argv[4];
	nconn = atoi(argv[8]);
	seconds = atoi(argv[9]);
	/* without the empty line: exchange adds Authorization or not */
	snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
	    "X-Samlbroker-Request: true\r\n", path, host, port);
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_load_verify_locations(ctx, argv[5], NULL) != 1 ||
	    (strcmp(argv[6], "-") != 0 &&
	    (SSL_CTX_use_certificate_chain_file(ctx, argv[6]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, argv[7], SSL_FILETYPE_PEM) != 1))) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	threads = calloc((size_t)nconn, sizeof(*threads));
	t0 = now();
	for (int i = 0; i < nconn; i++)
		pthread_create(&threads[i], NULL, worker, NULL);
	sleep((unsigned)seconds);
	atomic_store(&stop, true);
	t1 = now();
	for (int i = 0; i < nconn; i++)
		pthread_join(threads[i], NULL);
	printf("requests %ld seconds %.2f rate %.0f errors %ld\n", atomic_load(&requests),
	    t1 - t0, (double)atomic_load(&requests) / (t1 - t0), atomic_load(&errors));
	free(threads);
	SSL_CTX_free(ctx);
	return 0;
}
