/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.h - state shared by server.c (listeners, signals, lifecycle),
 * server_conn.c (HTTP/1.1 connections), http_parser.c (the request head)
 * and server_http.c (the API).  Only those files and their tests include it.
 */
#ifndef SAMLBROKER_SERVER_H
#define SAMLBROKER_SERVER_H

#include <stdio.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "samlbroker.h"

enum endpoint {
	EP_USER_TOKEN, EP_SERVICE_TOKEN, EP_SAML_RESPONSE,
	EP_HEALTHZ, EP_READYZ, EP_STATUS, EP_METRICS, EP_OTHER,
	EP_COUNT
};
/* Statuses counted per endpoint, in this order; anything else is "other". */
#define SERVER_STATUSES	{ 200, 204, 400, 403, 404, 405, 413, 500, 502, 503, 504 }
#define SERVER_N_STATUSES	12	/* the list above plus "other" */

/* The kinds of listener: a request's front says how its caller came in. */
enum front_kind {
	FRONT_UNIX, FRONT_TCP, FRONT_ADMIN_UNIX, FRONT_ADMIN_TCP, FRONT_HTTPS,
	FRONT_COUNT
};
struct server_front {
	struct server			*srv;
	bool				 tcp;	/* tcp: or https: */
	bool				 https;	/* TLS, and an authentication method */
	bool				 admin;
};

/* What server_tls.c knows of a connection while it verifies the caller
 * (the SSL's app data): where it came from, for the log. */
struct tls_note {
	const char			*peer;
	bool				 refused;	/* a refusal is logged */
	unsigned			 methods;	/* HTTPS_AUTH_* of its context */
	enum tls_identity_field		 field;
};
#define PEER_TEXT_MAX	320

#define PEER_MAX_GROUPS	64
/* Who is calling, as far as the kernel can tell (once per connection). */
struct peer {
	bool		 is_unix;
	bool		 is_admin;	/* came in on admin_listen */
	unsigned	 uid, gid;
	int		 pid;
	unsigned	 groups[PEER_MAX_GROUPS + 1];	/* primary first */
	size_t		 n_groups;
	/* The login name of uid, looked up only when a tenant's agents rule
	 * needs it (an NSS lookup: getpwuid_r, which may ask a directory
	 * server); server_http.c's caller_login fills these. */
	bool		 login_looked_up;
	bool		 has_login;
	char		 login[64];
	/* https: the identity the caller authenticated as (canonical), or
	 * empty: not authenticated. */
	char		 cert_identity[256];
	/* https_auth = negotiate: the Kerberos principal NAME@REALM the
	 * connection authenticated as (of an allowed realm), or empty. */
	char		 krb5_principal[256];
};

/* The request-head parser's limits and result (http_parser.c). */
#define HTTP_MAX_HEADERS	100
#define HTTP_METHOD_MAX		7
struct http_limits {
	size_t		 max_head;	/* bytes, leading empty lines included */
	size_t		 max_headers;	/* header fields */
	size_t		 max_body;	/* the largest Content-Length */
};
struct http_head {
	const char	*method;	/* pointers into the parsed buffer */
	size_t		 method_len;
	const char	*target;
	size_t		 target_len;
	int		 minor_version;	/* HTTP/1.0 or HTTP/1.1 */
	size_t		 content_length;
	size_t		 n_headers;
	bool		 keep_alive;	/* the connection may serve another */
	bool		 guard;		/* X-Samlbroker-Request: true */
	const char	*host;		/* NULL: no Host field */
	size_t		 host_len;
	bool		 has_origin;	/* an Origin field */
	const char	*authorization;	/* the Authorization value, or NULL */
	size_t		 authorization_len;
};

/* One request, from server_conn.c to server_http.c and back. */
struct http_conn;
struct http_req {
	struct http_conn		*conn;	/* NULL once the caller has gone */
	void				*api;	/* server_http.c's state for it */
	struct server_front		*front;
	char				 method[8];
	char				*target;	/* as sent */
	bool				 guard;	/* X-Samlbroker-Request: true */
	bool				 host_ok;	/* TCP: Host names this listener */
	bool				 has_origin;	/* from a web page */
	bool				 is_head;
	size_t				 body_len;
	char				*negotiate;	/* "Negotiate B64": B64 */
	struct peer			 who;
	char				 peer[PEER_TEXT_MAX];
};

struct server_listener {
	struct listen_addr		 addr;	/* copied strings */
	struct server_front		*front;
	dev_t				 sock_dev;	/* our socket file, to remove */
	ino_t				 sock_ino;	/* only it (0: nothing to remove) */
	struct evconnlistener		*lev;
	bool				 inherited;	/* socket activation */
	bool				 enabled;	/* accepting now */
};

/* Connections at most on the admin address at once, beyond
 * max_connections: health checks get through, but not without bound. */
#define SERVER_ADMIN_MAX_CONNECTIONS	16
/* How long every listener rests after accept() failed (EMFILE). */
#define SERVER_ACCEPT_RETRY_MS		100

struct server {
	struct event_base		*base;
	struct server_front		 fronts[FRONT_COUNT];
	struct broker			*broker;
	struct signer_pool		*signers;	/* hold the keys (server_signers.c) */
	struct minter_signers		*minter;	/* the broker's minter over them */
	struct front_control		*control;	/* the channel to the master */
	char				*config_path;	/* the master's, for status */
	struct server_listener		*listeners;
	size_t				 n_listeners;
	double				 started;
	bool				 ready;
	bool				 stopping;
	int				 grace_ticks;	/* 100 ms each since SIGTERM */
	size_t				 in_flight;	/* requests waiting for the broker */
	struct event			*sig_term, *sig_int, *grace_timer;
	/* Embedded and assigned before any listener exists, so that an
	 * accept() failure always finds it. */
	struct event			 accept_retry;
	/* last reload */
	double				 reload_time;
	uint64_t			 reload_count;
	bool				 reload_ok;
	char				 reload_error[512];
	uint64_t			 requests[EP_COUNT][SERVER_N_STATUSES];
	size_t				 max_body;
	size_t				 max_connections;
	size_t				 max_header_size;
	int				 client_timeout;
	struct server_tls		*tls;	/* https: this generation's context */
	unsigned			 https_methods;	/* HTTPS_AUTH_* */
	char				*krb5_realms;	/* allowed client realms */
	struct server_negotiate		*negotiate;	/* the negotiator's socket */
	struct http_conn		*conns;	/* open connections */
	size_t				 n_conns;	/* on token listeners */
	size_t				 n_admin_conns;	/* on the admin address */
	bool				 token_full;	/* at max_connections */
	bool				 admin_full;	/* at the admin cap */
	uint64_t			 protocol_errors;
	bool				 has_admin_listener;
};


/* server.c */
/* Prepares a server on a base: timers exist before any listener. */
void	 server_init(struct server *, struct event_base *);
struct event_base *server_base_new(void);
/* Takes a listening socket the master opened (the server owns fd). */
int	 server_listener_adopt(struct server *, int fd, bool admin, bool inherited,
	    const char *text, const char *path);
/* Stops accepting (the master removes the socket files). */
void	 server_listeners_close(struct server *);
void	 server_listeners_free(struct server *);
/* The one owner of listener on/off: after accept() failed, connections
 * at their limits, shutdown.  Called whenever one of those changes. */
void	 server_listeners_update(struct server *);
/* Raises the soft descriptor limit to the hard one; warns when
 * max_connections does not fit. */
void	 server_nofile_raise(size_t max_connections);
/* The limits a configuration sets (a reload may change them). */
void	 server_configure(struct server *, const struct broker_config *);
/* The first generation's TLS context, when a listener is https: (-1 with
 * errbuf). */
int	 server_tls_start(struct server *, const struct broker_config *,
	    char *errbuf, size_t errlen);
/* SIGTERM/SIGINT stop the server gracefully. */
void	 server_signals_add(struct server *);
/* A graceful stop: no new connection, requests finish (why: log text). */
void	 server_stop(struct server *, const char *why);
/* A new generation's configuration (takes conf on success); -1 with
 * errbuf, the old one kept. */
int	 server_generation_take(struct server *, struct broker_config *,
	    char *errbuf, size_t errlen);
/* A reload failed (count: the master's, not counted yet). */
void	 server_reload_failed(struct server *, const char *error, bool count);
/* Everything the server holds, the broker and the signer pool included. */
void	 server_teardown(struct server *);

/* http_parser.c */
/* Parses a request head at the start of buf: returns its length in bytes
 * (> 0, leading empty lines included) and fills *ret; 0 when more bytes
 * are needed; or minus an HTTP status (400, 413, 431, 501) with *ret_why
 * set to a message.  Pure: no I/O, no allocation, buf is not changed. */
int	 http_parse_request(const char *buf, size_t len, const struct http_limits *,
	    struct http_head *ret, const char **ret_why);
/* Is a Host value this listener's address (local) or localhost, with its
 * port?  Pure. */
bool	 http_host_allowed(const char *host, size_t len, const struct sockaddr *local);

/* server_tls.c */
struct ssl_st;
struct x509_st;
struct server_tls;
/* A context for https: listeners from a configuration's TLS bytes; NULL
 * with errbuf (no secret in it). */
struct server_tls *server_tls_new(const struct broker_config *, char *errbuf,
	    size_t errlen);
void	 server_tls_free(struct server_tls *);
/* A server SSL on an accepted socket (it holds a reference to the
 * context: a reload does not touch it); note is its app data. */
struct ssl_st *server_tls_ssl_new(struct server_tls *, int fd, struct tls_note *note);
/* After the handshake: the caller's identity into out (canonical), or -1
 * (logged: event=tls_refused with the reason and the subject). */
int	 server_tls_authenticate(struct ssl_st *, struct tls_note *, char *out,
	    size_t outlen);
/* The identity a certificate names in field: 0 and out (lowercase), or -1
 * with *why.  Pure. */
int	 server_tls_identity(struct x509_st *, enum tls_identity_field, char *out,
	    size_t outlen, const char **why);
/* A certificate's subject (RFC 2253), made safe to quote in a log line. */
void	 server_tls_subject(struct x509_st *, char *out, size_t outlen);

/* server_conn.c */
void	 conn_accept(struct server_front *, int fd);
void	 conns_close_all(struct server *);
/* Sends the answer to a request and frees it (a request whose caller has
 * gone is only freed).  headers: extra "Name: value\r\n" lines or NULL;
 * secret: wipe the answer once written. */
void	 http_reply(struct http_req *, int status, const char *content_type,
	    const char *headers, const char *body, size_t len, bool secret);

/* server_http.c */
void	 server_http_handle(struct http_req *);
/* The caller of a request still waiting for the broker has gone (its
 * connection is closed): what it waits for is canceled and the request
 * freed. */
void	 server_http_gone(struct http_req *);
/* Which endpoint a request target names and, for the token paths, its
 * tenant and subject (percent-decoded; the caller frees them); -1 when
 * the path is malformed.  Pure. */
int	 server_http_route(const char *target, enum endpoint *ret_ep,
	    char **ret_tenant, char **ret_subject);
int	 server_endpoint_status_index(int status);
/* Writes s as a Prometheus label value, escaped (\\, \" and \n), without
 * the quotes. */
void	 server_metrics_label(FILE *, const char *s);

/* server_negotiate.c */
struct neg_wire_reply;
struct neg_job;
struct server_negotiate;
/* A token's answer: r NULL when there is none (why: the negotiator is
 * gone, late or being replaced); out: the mutual token of r. */
typedef void (*neg_done_cb)(void *arg, const struct neg_wire_reply *r,
	    const unsigned char *out, size_t outlen, const char *why);
struct server_negotiate *server_negotiate_new(struct server *);
/* The master's negotiator (its socket, non-blocking): replaces the last. */
void	 server_negotiate_adopt(struct server_negotiate *, int fd, pid_t pid);
/* Queues a token; NULL when the queue is full. */
struct neg_job *server_negotiate_start(struct server_negotiate *,
	    const unsigned char *tok, size_t len, neg_done_cb, void *arg);
/* Its callback is not called. */
void	 server_negotiate_cancel(struct neg_job *);
void	 server_negotiate_free(struct server_negotiate *);
/* server_conn.c: the connection of req (if still there) is authenticated
 * as principal (krb5:NAME@REALM): its later requests are too. */
void	 http_conn_krb5_set(struct http_req *, const char *principal);

/* server_signers.c */
/* The pool over the master's first generation of ready signers (the pool
 * owns the fds) and the minter the broker uses. */
int	 server_signers_start(struct server *, const struct broker_config *,
	    const struct signer_spawner *, uint64_t generation, const int *fds,
	    const pid_t *pids, size_t n);
/* A new generation's ready signers replace the current ones. */
void	 server_signers_adopt(struct server *, uint64_t generation, const int *fds,
	    const pid_t *pids, size_t n);
/* After broker_free: the minter, then the signers' sockets. */
void	 server_signers_stop(struct server *);

/* front_control.c - the front's channel to the master */
struct front_control;
/* Reads the master's first messages (listeners, the first generation)
 * and builds the server on srv->base: the configuration, the signer
 * pool, the broker, the listeners; -1 with the reason logged. */
struct front_control *front_control_start(struct server *);
/* The spawner the signer pool asks for restarts. */
const struct signer_spawner *front_control_spawner(struct front_control *);
/* The master's answers from now on, on the loop. */
void	 front_control_listen(struct front_control *);
/* Tells the master the front serves. */
int	 front_control_ready(struct front_control *);
/* The login name of uid, asked of the master (NSS is the master's); 0
 * with out set, -1 when unknown or the master did not answer. */
int	 front_control_login(struct front_control *, unsigned uid, char *out,
	    size_t outlen);
/* Hands the master the tokens of the tenants whose tokens changed (the
 * persistent cache; nothing when it is off): once a second from the
 * loop, and at exit. */
void	 front_control_persist(struct front_control *);
void	 front_control_free(struct front_control *);
/* /v1/status's "signers" object (null without signers) and /metrics' lines;
 * without activity, only the processes (no queue depth, requests or
 * latency: they move with every tenant's mints). */
struct json_t;
struct json_t *server_signers_status(const struct server *, bool activity);
void	 server_signers_metrics(const struct server *, FILE *, bool activity);

#endif
