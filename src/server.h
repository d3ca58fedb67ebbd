/*
 * server.h - state shared by server.c (listeners, signals, lifecycle) and
 * server_http.c (the HTTP API).  Only those two files include it.
 */
#ifndef SAMLBROKER_SERVER_H
#define SAMLBROKER_SERVER_H

#include <sys/socket.h>

#include <event2/event.h>
#include <event2/http.h>

struct bufferevent;

#include "samlbroker.h"

enum endpoint {
	EP_USER_TOKEN, EP_SERVICE_TOKEN, EP_SAML_RESPONSE,
	EP_HEALTHZ, EP_READYZ, EP_STATUS, EP_METRICS, EP_OTHER,
	EP_COUNT
};
/* Statuses counted per endpoint, in this order; anything else is "other". */
#define SERVER_STATUSES	{ 200, 204, 400, 403, 404, 405, 413, 500, 502, 503, 504 }
#define SERVER_N_STATUSES	12	/* the list above plus "other" */

/* One evhttp per kind of listener, so that a request's front says how
 * its caller came in without asking the kernel again. */
enum front_kind { FRONT_UNIX, FRONT_TCP, FRONT_ADMIN_UNIX, FRONT_ADMIN_TCP, FRONT_COUNT };
struct server_front {
	struct server			*srv;
	struct evhttp			*http;	/* NULL until a listener needs it */
	bool				 tcp;
	bool				 admin;
};

struct server_listener {
	struct listen_addr		 addr;	/* copied strings */
	struct server_front		*front;
	dev_t				 sock_dev;	/* our socket file, to remove */
	ino_t				 sock_ino;	/* only it (0: nothing to remove) */
	struct evconnlistener		*lev;
	struct evhttp_bound_socket	*bound;
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
	/* last reload */
	double				 reload_time;
	uint64_t			 reload_count;
	bool				 reload_ok;
	char				 reload_error[512];
	uint64_t			 requests[EP_COUNT][SERVER_N_STATUSES];
	size_t				 max_body;
	size_t				 max_connections;
	struct bufferevent		**conns;	/* open connections, referenced */
	size_t				 n_conns, conns_cap;
	struct event			*conn_sweep;
	bool				 accept_paused;	/* at max_connections */
	uint64_t			 connection_pauses;
	bool				 has_admin_listener;
};


/* server_http.c */
void	 server_http_handle(struct evhttp_request *, void *front);
int	 server_endpoint_status_index(int status);

#endif
