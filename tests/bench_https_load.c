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
 *   bench_https_load MODE HOST PORT PATH CA CERT KEY CONNECTIONS SECONDS
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
#include <openssl/ssl.h>

static const char	*host, *path;
static int		 port;
static bool		 handshake_mode;
static SSL_CTX		*ctx;
static atomic_long	 requests, errors;
static atomic_bool	 stop;
static char		 request[1024];

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

/* One request and its whole answer; 0 on a 200. */
static int
exchange(SSL *ssl)
{
	char		 buf[16384];
	size_t		 have = 0, need = 0;
	const char	*end, *cl;
	int		 n;

	if (SSL_write(ssl, request, (int)strlen(request)) <= 0)
		return -1;
	for (;;) {
		if (have == sizeof(buf))
			return -1;
		if ((n = SSL_read(ssl, buf + have, (int)(sizeof(buf) - have - 1))) <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		if ((cl = strcasestr(buf, "\r\nContent-Length:")) == NULL || cl > end)
			return -1;
		need = (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10);
		if (have >= need)
			break;
	}
	return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
}

static void *
worker(void *arg)
{
	SSL	*ssl = NULL;

	(void)arg;
	while (!atomic_load(&stop)) {
		if (ssl == NULL && (ssl = open_conn()) == NULL) {
			atomic_fetch_add(&errors, 1);
			usleep(1000);
			continue;
		}
		if (exchange(ssl) == 0)
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

	if (argc != 10) {
		fprintf(stderr, "usage: bench_https_load keepalive|handshake HOST PORT "
		    "PATH CA CERT KEY CONNECTIONS SECONDS\n");
		return 2;
	}
	handshake_mode = strcmp(argv[1], "handshake") == 0;
	host = argv[2];
	port = atoi(argv[3]);
	path = argv[4];
	nconn = atoi(argv[8]);
	seconds = atoi(argv[9]);
	snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
	    "X-Samlbroker-Request: true\r\n\r\n", path, host, port);
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_load_verify_locations(ctx, argv[5], NULL) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, argv[6]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, argv[7], SSL_FILETYPE_PEM) != 1) {
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
