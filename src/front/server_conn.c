/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server_conn.c - HTTP/1.1 connections: accept, read, have a request head
 * parsed (http_parser.c), hand the request to server_http.c, write the
 * answer, keep-alive, pipelining, client_timeout.  It owns I/O and
 * connection state only: it counts connections, and server.c alone
 * switches listeners on and off (server_listeners_update).
 *
 * The API is small (no request bodies, no chunked encoding, no upgrades),
 * so the broker speaks just that part of HTTP/1.1 itself, on raw sockets
 * driven by libevent events: one read and one write per request, and the
 * caller's credentials are asked of the kernel once per connection.  A
 * request waiting for the broker keeps its connection readable, so a
 * caller that hangs up is noticed: its request is canceled (server_http.c
 * tells the broker, which drops a mint nobody else waits for) and the
 * connection closed.  A caller that only half-closes (shutdown of its
 * sending side) still gets its answer: on a Unix socket the kernel tells
 * the two apart (POLLHUP only when the caller's socket is gone); on TCP a
 * FIN is a FIN, so a TCP caller's hang-up is noticed only by a reset.
 *
 * On https: listeners the same code reads and writes through an SSL on
 * the descriptor (server_tls.c makes it; conn_recv and conn_send are the
 * one place that tells the two apart).  The handshake happens within the
 * first reads; once it is done the caller's identity is taken from its
 * verified certificate, once per connection, before any request is
 * parsed.  A connection that has authenticated stays so for its lifetime.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "server.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS	59
#endif
/* After a last answer the broker reads and discards for this long before
 * closing, so that a caller still sending (a body we refused) reads the
 * answer instead of a reset. */
#define LINGER_SEC		2
#define CONN_FIRST_BUFFER	4096

struct http_conn {
	struct server		*srv;
	struct server_front	*front;
	int			 fd;
	struct event		*ev_read, *ev_write, *ev_timeout;
	char			*in;
	size_t			 in_len, in_cap;
	char			*out;
	size_t			 out_len, out_off;
	bool			 out_secret;	/* wipe the answer once written */
	bool			 reading;	/* ev_read is added */
	struct http_req		*req;		/* waiting for its answer */
	size_t			 req_bytes;	/* its bytes at the start of in */
	bool			 keep_alive;
	bool			 lingering;	/* answered, closing: reading to discard */
	bool			 peer_closed;	/* the caller sent EOF */
	bool			 http10;	/* the current request's version */
	struct peer		 who;
	char			 peer[PEER_TEXT_MAX];
	struct sockaddr_storage	 local;		/* TCP: our end, for Host */
	SSL			*ssl;		/* https: */
	struct tls_note		 tls;
	bool			 tls_ready;	/* the handshake is done */
	bool			 tls_read_wants_write;	/* SSL_read needs POLLOUT */
	bool			 tls_write_wants_read;	/* SSL_write needs POLLIN */
	struct http_conn	*prev, *next;
};

static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_write_cb(evutil_socket_t, short, void *);
static void	conn_timeout_cb(evutil_socket_t, short, void *);
static void	conn_parse(struct http_conn *);

/* A Negotiate token (an Active Directory ticket carries the user's groups)
 * may make a head this much larger, on https: listeners with negotiate. */
#define NEGOTIATE_HEAD_EXTRA	(64 * 1024)

static size_t
head_max(const struct http_conn *c)
{
	return c->front->https && (c->srv->https_methods & HTTPS_AUTH_NEGOTIATE) ?
	    c->srv->max_header_size + NEGOTIATE_HEAD_EXTRA : c->srv->max_header_size;
}

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	}
	return "Unknown";
}

/* The Date header, made again only when the second changes. */
static const char *
http_date(void)
{
	static char	 date[64];
	static time_t	 made = -1;
	time_t		 now = time(NULL);
	struct tm	 tm;

	if (now != made && gmtime_r(&now, &tm) != NULL) {
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		made = now;
	}
	return date;
}

/* Who is calling, asked of the kernel once per connection. */
static void
peer_identify(struct http_conn *c)
{
	struct peer	*who = &c->who;

	memset(who, 0, sizeof(*who));
	who->is_admin = c->front->admin;
	snprintf(c->peer, sizeof(c->peer), "unknown");
	if (!c->front->tcp) {
		struct ucred	 cred;
		socklen_t	 len = sizeof(cred);
		gid_t		 groups[PEER_MAX_GROUPS];
		socklen_t	 glen = sizeof(groups);

		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
			return;
		who->is_unix = true;
		who->uid = (unsigned)cred.uid;
		who->gid = (unsigned)cred.gid;
		who->pid = (int)cred.pid;
		who->groups[who->n_groups++] = who->gid;
		/* Supplementary groups (Linux 4.13+); only the primary without. */
		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
			for (size_t i = 0; i < glen / sizeof(gid_t); i++)
				who->groups[who->n_groups++] = (unsigned)groups[i];
		snprintf(c->peer, sizeof(c->peer), "uid:%u,gid:%u,pid:%d", who->uid,
		    who->gid, who->pid);
	} else {
		struct sockaddr_storage	 ss;
		socklen_t		 len = sizeof(ss);
		char			 host[INET6_ADDRSTRLEN] = "?";
		unsigned		 port = 0;

		len = sizeof(c->local);
		if (getsockname(c->fd, (struct sockaddr *)&c->local, &len) == -1)
			c->local.ss_family = AF_UNSPEC;	/* no Host matches */
		len = sizeof(ss);
		if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == -1)
			return;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
			port = ntohs(sin->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
			port = ntohs(sin6->sin6_port);
		}
		snprintf(c->peer, sizeof(c->peer), "%s:%s:%u", c->front->https ?
		    "https" : "tcp", host, port);
	}
}

static void
timeout_arm(struct http_conn *c)
{
	struct timeval	 tv = { c->srv->client_timeout, 0 };

	event_add(c->ev_timeout, &tv);
}

static void
reading_set(struct http_conn *c, bool on)
{
	if (c->reading == on)
		return;
	c->reading = on;
	if (on)
		event_add(c->ev_read, NULL);
	else
		event_del(c->ev_read);
}

static void
out_clear(struct http_conn *c)
{
	if (c->out != NULL && c->out_secret)
		OPENSSL_cleanse(c->out, c->out_len);
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	c->out_secret = false;
}

static void
conn_close(struct http_conn *c)
{
	struct server	*srv = c->srv;
	struct http_req	*orphan = c->req;

	if (orphan != NULL)
		orphan->conn = NULL;
	event_free(c->ev_read);
	event_free(c->ev_write);
	event_free(c->ev_timeout);
	if (c->ssl != NULL) {
		if (c->tls_ready && !c->lingering)
			SSL_shutdown(c->ssl);	/* close_notify, not waited for */
		SSL_free(c->ssl);
		ERR_clear_error();
	}
	close(c->fd);
	out_clear(c);
	if (c->in != NULL) {
		OPENSSL_cleanse(c->in, c->in_len);
		free(c->in);
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->front->admin)
		srv->n_admin_conns--;
	else
		srv->n_conns--;
	free(c);
	/* Its caller gone, what the request waits for is canceled. */
	if (orphan != NULL)
		server_http_gone(orphan);
	server_listeners_update(srv);
}

/* At EOF: is the caller's socket gone altogether, not just half-closed?
 * (Unix sockets: POLLHUP once both directions are shut; TCP: after a
 * reset.) */
static bool
peer_gone(int fd)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR)) != 0;
}

void
conns_close_all(struct server *srv)
{
	while (srv->conns != NULL)
		conn_close(srv->conns);
}

void
conn_accept(struct server_front *front, int fd)
{
	struct server		*srv = front->srv;
	struct http_conn	*c = xcalloc(1, sizeof(*c));

	c->srv = srv;
	c->front = front;
	c->fd = fd;
	c->ev_read = event_new(srv->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->ev_write = event_new(srv->base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
	c->ev_timeout = evtimer_new(srv->base, conn_timeout_cb, c);
	if (c->ev_read == NULL || c->ev_write == NULL || c->ev_timeout == NULL)
		fatalx("event_new");
	if ((c->next = srv->conns) != NULL)
		c->next->prev = c;
	srv->conns = c;
	if (front->admin)
		srv->n_admin_conns++;
	else
		srv->n_conns++;
	peer_identify(c);
	if (front->https) {
		c->tls.peer = c->peer;
		if (srv->tls == NULL ||
		    (c->ssl = server_tls_ssl_new(srv->tls, fd, &c->tls)) == NULL) {
			log_warnx("event=tls_failed peer=%s reason=\"no TLS context\"",
			    c->peer);
			conn_close(c);
			return;
		}
	}
	reading_set(c, true);
	timeout_arm(c);
	server_listeners_update(srv);
}

/*
 * The one place that tells TLS from plain sockets: read(2) and write(2)
 * semantics for both (n > 0; 0 at EOF; -1 with errno, EAGAIN when the
 * operation must wait).  A TLS error ends the connection as EOF would,
 * with a log line (the handshake's refusals are logged where they are
 * decided, server_tls.c).
 */
static void
tls_error_log(struct http_conn *c, int err)
{
	unsigned long	 e = ERR_peek_last_error();
	const char	*why = e != 0 ? ERR_reason_error_string(e) : NULL;

	if (c->tls.refused || err == SSL_ERROR_ZERO_RETURN ||
	    (err == SSL_ERROR_SYSCALL && e == 0))
		return;
	if (!c->tls_ready)
		log_warnx("event=tls_refused peer=%s reason=\"handshake: %s\"", c->peer,
		    why != NULL ? why : "failed");
	else
		log_info("event=tls_error peer=%s reason=\"%s\"", c->peer,
		    why != NULL ? why : "failed");
}

static ssize_t
conn_recv(struct http_conn *c, char *buf, size_t len)
{
	int	 n, err;

	if (c->ssl == NULL || c->lingering)
		return read(c->fd, buf, len);
	c->tls_read_wants_write = false;
	ERR_clear_error();
	n = SSL_read(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	if (n > 0)
		return n;
	err = SSL_get_error(c->ssl, n);
	if (err == SSL_ERROR_WANT_READ) {
		errno = EAGAIN;
		return -1;
	}
	if (err == SSL_ERROR_WANT_WRITE) {
		c->tls_read_wants_write = true;
		event_add(c->ev_write, NULL);
		errno = EAGAIN;
		return -1;
	}
	tls_error_log(c, err);
	ERR_clear_error();
	if (err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL)
		return 0;
	errno = EPROTO;
	return -1;
}

static ssize_t
conn_send(struct http_conn *c, const char *buf, size_t len)
{
	int	 n, err;

	if (c->ssl == NULL)
		return write(c->fd, buf, len);
	c->tls_write_wants_read = false;
	ERR_clear_error();
	n = SSL_write(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
	if (n > 0)
		return n;
	err = SSL_get_error(c->ssl, n);
	if (err == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	if (err == SSL_ERROR_WANT_READ) {
		c->tls_write_wants_read = true;
		reading_set(c, true);
		errno = EAGAIN;
		return -1;
	}
	tls_error_log(c, err);
	ERR_clear_error();
	errno = EPIPE;
	return -1;
}

/* Once the handshake is done: who the caller is, once per connection.
 * A caller without an identity stays unauthenticated: its requests get
 * 401 (server_http.c). */
static void
conn_tls_established(struct http_conn *c)
{
	struct peer	*who = &c->who;
	size_t		 used;

	c->tls_ready = true;
	if (server_tls_authenticate(c->ssl, &c->tls, who->cert_identity,
	    sizeof(who->cert_identity)) == -1) {
		who->cert_identity[0] = '\0';
		return;
	}
	used = strlen(c->peer);
	snprintf(c->peer + used, sizeof(c->peer) - used, " principal=cert:%s",
	    who->cert_identity);
	log_debug("event=tls_authenticated peer=%s protocol=%s", c->peer,
	    SSL_get_version(c->ssl));
}

void
http_conn_krb5_set(struct http_req *req, const char *principal)
{
	struct http_conn	*c = req->conn;
	size_t			 used;

	snprintf(req->who.krb5_principal, sizeof(req->who.krb5_principal), "%s",
	    principal);
	used = strlen(req->peer);
	snprintf(req->peer + used, sizeof(req->peer) - used, " principal=krb5:%s",
	    principal);
	if (c == NULL)
		return;
	memcpy(c->who.krb5_principal, req->who.krb5_principal,
	    sizeof(c->who.krb5_principal));
	memcpy(c->peer, req->peer, sizeof(c->peer));
}

/* After an answer is out: close, or go on with the next request. */
static void
conn_answered(struct http_conn *c)
{
	out_clear(c);
	if (!c->keep_alive || c->srv->stopping) {
		struct timeval	 tv = { LINGER_SEC, 0 };

		if (c->ssl != NULL && !c->srv->stopping && !c->peer_closed) {
			SSL_shutdown(c->ssl);	/* close_notify, then linger */
			ERR_clear_error();
		}
		if (c->srv->stopping || c->peer_closed ||
		    shutdown(c->fd, SHUT_WR) == -1) {
			conn_close(c);
			return;
		}
		c->lingering = true;
		c->in_len = 0;
		reading_set(c, true);
		event_add(c->ev_timeout, &tv);
		return;
	}
	memmove(c->in, c->in + c->req_bytes, c->in_len - c->req_bytes);
	c->in_len -= c->req_bytes;
	c->req_bytes = 0;
	timeout_arm(c);
	reading_set(c, true);
	if (c->in_len > 0 || (c->ssl != NULL && SSL_pending(c->ssl) > 0))
		event_active(c->ev_read, EV_READ, 0);	/* a pipelined request */
}

static void
conn_flush(struct http_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = conn_send(c, c->out + c->out_off, c->out_len - c->out_off);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* TLS may need to read first: then the read event
			 * resumes the answer (conn_read_cb). */
			if (c->tls_write_wants_read)
				event_del(c->ev_write);
			else
				event_add(c->ev_write, NULL);
			timeout_arm(c);	/* a caller that does not read is cut off */
			return;
		}
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	event_del(c->ev_write);
	conn_answered(c);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn	*c = arg;

	if (c->tls_read_wants_write) {
		/* TLS: a read that had to write first (it goes on reading). */
		if (c->out == NULL)
			event_del(c->ev_write);
		conn_read_cb(fd, EV_READ, c);
		return;
	}
	if (c->out == NULL) {
		event_del(c->ev_write);
		return;
	}
	conn_flush(c);
}

static void
conn_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn	*c = arg;

	if (c->req != NULL)
		return;	/* waiting for the broker, which has its own timeouts */
	conn_close(c);
}

/* Queues an answer made here (errors of the protocol) and closes after it. */
static void
conn_fail(struct http_conn *c, int status, const char *code, const char *message)
{
	char	 body[256];
	int	 blen, hlen;

	blen = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"message\":\"%s\"}\n",
	    code, message);
	c->keep_alive = false;
	c->req_bytes = c->in_len;
	c->out = xmalloc(512 + (size_t)blen);
	hlen = snprintf(c->out, 512, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %d\r\nDate: %s\r\nConnection: close\r\n\r\n",
	    status, reason_phrase(status), blen, http_date());
	memcpy(c->out + hlen, body, (size_t)blen);
	c->out_len = (size_t)hlen + (size_t)blen;
	c->out_off = 0;
	reading_set(c, false);
	log_info("event=request status=%d peer=%s error=%s", status, c->peer, code);
	c->srv->protocol_errors++;
	conn_flush(c);
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn	*c = arg;
	size_t			 cap = head_max(c) + c->srv->max_body + 1;
	ssize_t			 n;

	if (c->tls_write_wants_read && c->out != NULL) {
		/* TLS: an answer that had to read first. */
		conn_flush(c);
		return;
	}

	if (c->in_len == c->in_cap && c->in_cap < cap) {
		size_t	 ncap = c->in_cap ? c->in_cap * 2 : CONN_FIRST_BUFFER;
		char	*grown;

		if (ncap > cap)
			ncap = cap;
		grown = xmalloc(ncap);
		if (c->in_len > 0)
			memcpy(grown, c->in, c->in_len);
		if (c->in != NULL) {
			OPENSSL_cleanse(c->in, c->in_len);
			free(c->in);
		}
		c->in = grown;
		c->in_cap = ncap;
	}
	if (c->lingering)
		c->in_len = 0;	/* discarded */
	if (c->in_len < c->in_cap) {
		n = conn_recv(c, c->in + c->in_len, c->in_cap - c->in_len);
		if (c->ssl != NULL && !c->tls_ready && SSL_is_init_finished(c->ssl))
			conn_tls_established(c);
		if (n == 0 && c->req != NULL && c->out == NULL && !c->lingering &&
		    peer_gone(c->fd)) {
			conn_close(c);	/* hung up: its request is canceled */
			return;
		}
		if (n == 0 && (c->req != NULL || c->out != NULL) && !c->lingering) {
			/* A half-close (nc -N): answer, then close. */
			reading_set(c, false);
			c->keep_alive = false;
			c->peer_closed = true;
			return;
		}
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)) {
			conn_close(c);	/* gone (a waiting request is orphaned) */
			return;
		}
		if (n > 0)
			c->in_len += (size_t)n;
		/* TLS: decrypted bytes that no socket event will announce. */
		if (c->ssl != NULL && n > 0 && c->in_len < c->in_cap &&
		    SSL_pending(c->ssl) > 0)
			event_active(c->ev_read, EV_READ, 0);
	}
	if (c->lingering)
		return;
	if (c->req != NULL || c->out != NULL) {
		/* Busy (waiting for the broker, or writing an answer): keep what
		 * came (pipelining) unless the buffer is full. */
		if (c->in_len == c->in_cap && c->in_cap >= cap)
			reading_set(c, false);
		return;
	}
	conn_parse(c);
}

/* Parses one request at the start of the buffer, if its head is all
 * there (http_parser.c), and hands it to the API once its body is in too. */
static void
conn_parse(struct http_conn *c)
{
	struct server		*srv = c->srv;
	struct http_limits	 lim = { head_max(c), HTTP_MAX_HEADERS,
				    srv->max_body };
	struct http_head	 h;
	struct http_req		*req;
	const char		*why = NULL;
	int			 n;

	n = http_parse_request(c->in, c->in_len, &lim, &h, &why);
	if (n < 0) {
		conn_fail(c, -n, n == -413 ? "payload_too_large" : "bad_request", why);
		return;
	}
	if (n == 0 || c->in_len < (size_t)n + h.content_length)
		return;	/* the head or the body is still coming */

	req = xcalloc(1, sizeof(*req));
	req->conn = c;
	req->front = c->front;
	memcpy(req->method, h.method, h.method_len);
	req->target = xstrndup(h.target, h.target_len);
	req->guard = h.guard;
	req->has_origin = h.has_origin;
	/* https: the certificate the client verified names the server, so a
	 * page of a rebound name cannot reach it: any Host will do. */
	req->host_ok = !c->front->tcp || c->front->https || (h.host != NULL &&
	    http_host_allowed(h.host, h.host_len, (struct sockaddr *)&c->local));
	req->body_len = h.content_length;
	req->is_head = strcmp(req->method, "HEAD") == 0;
	if (c->front->https && (srv->https_methods & HTTPS_AUTH_NEGOTIATE) &&
	    h.authorization != NULL && h.authorization_len > 10 &&
	    strncasecmp(h.authorization, "Negotiate ", 10) == 0) {
		const char	*v = h.authorization + 10;
		size_t		 vlen = h.authorization_len - 10;

		while (vlen > 0 && *v == ' ')
			v++, vlen--;
		req->negotiate = xstrndup(v, vlen);
	}
	req->who = c->who;
	snprintf(req->peer, sizeof(req->peer), "%s", c->peer);
	c->keep_alive = h.keep_alive;
	c->http10 = h.minor_version == 0;
	c->req = req;
	c->req_bytes = (size_t)n + h.content_length;
	event_del(c->ev_timeout);
	server_http_handle(req);
}

void
http_reply(struct http_req *req, int status, const char *content_type,
    const char *headers, const char *body, size_t len, bool secret)
{
	struct http_conn	*c = req->conn;
	bool			 head = req->is_head;
	size_t			 cap;
	int			 hlen;

	if (c != NULL && req->who.login_looked_up) {
		/* The login name is looked up once per connection (NSS). */
		c->who.login_looked_up = true;
		c->who.has_login = req->who.has_login;
		memcpy(c->who.login, req->who.login, sizeof(c->who.login));
	}
	free(req->target);
	free(req->negotiate);
	free(req);
	if (c == NULL)
		return;	/* the caller hung up */
	c->req = NULL;
	if (c->srv->stopping)
		c->keep_alive = false;
	cap = 512 + strlen(headers ? headers : "") + len;
	c->out = xmalloc(cap);
	hlen = snprintf(c->out, cap, "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %zu\r\n"
	    "Date: %s\r\n%s%s\r\n", status, reason_phrase(status),
	    content_type ? "Content-Type: " : "", content_type ? content_type : "",
	    content_type ? "\r\n" : "", len, http_date(), headers ? headers : "",
	    !c->keep_alive ? "Connection: close\r\n" :
	    c->http10 ? "Connection: keep-alive\r\n" : "");
	if (body != NULL && len > 0 && !head) {
		memcpy(c->out + hlen, body, len);
		c->out_len = (size_t)hlen + len;
	} else
		c->out_len = (size_t)hlen;
	c->out_off = 0;
	c->out_secret = secret;
	conn_flush(c);
}
