/*
 * server.h - state shared by server.c (listeners, signals, lifecycle),
 * server_conn.c (HTTP/1.1 connections) and server_http.c (the API).
 * Only those three files include it.
 */
#ifndef SAMLBROKER_SERVER_H
#define SAMLBROKER_SERVER_H

#include <sys/socket.h>

#include <event2/event.h>

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
enum front_kind { FRONT_UNIX, FRONT_TCP, FRONT_ADMIN_UNIX, FRONT_ADMIN_TCP, FRONT_COUNT };
struct server_front {
	struct server			*srv;
	bool				 tcp;
	bool				 admin;
};

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
	 * server); server_http.c's peer_login fills these. */
	bool		 login_looked_up;
	bool		 has_login;
	char		 login[64];
};

/* One request, from server_conn.c to server_http.c and back. */
struct http_conn;
struct http_req {
	struct http_conn		*conn;	/* NULL once the caller has gone */
	struct server_front		*front;
	char				 method[8];
	char				*target;	/* as sent */
	bool				 guard;	/* X-Samlbroker-Request: true */
	bool				 is_head;
	size_t				 body_len;
	struct peer			 who;
	char				 peer[96];
};

struct server_listener {
	struct listen_addr		 addr;	/* copied strings */
	struct server_front		*front;
	dev_t				 sock_dev;	/* our socket file, to remove */
	ino_t				 sock_ino;	/* only it (0: nothing to remove) */
	struct evconnlistener		*lev;
	bool				 inherited;	/* socket activation */
};

struct server {
	struct event_base		*base;
	struct server_front		 fronts[FRONT_COUNT];
	struct broker			*broker;
	char				*config_path;
	struct server_listener		*listeners;
	size_t				 n_listeners;
	double				 started;
	bool				 ready;
	bool				 stopping;
	int				 grace_ticks;	/* 100 ms each since SIGTERM */
	size_t				 in_flight;	/* requests waiting for the broker */
	struct event			*sig_term, *sig_int, *sig_hup, *grace_timer;
	struct event			*accept_retry;	/* after accept() failed */
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
	struct http_conn		*conns;	/* open connections */
	size_t				 n_conns;
	bool				 accept_paused;	/* at max_connections */
	uint64_t			 protocol_errors;
	bool				 has_admin_listener;
};


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
int	 server_endpoint_status_index(int status);

#endif
