/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.c - the front's service: the listeners the master opened (the
 * front only accepts on them, and alone switches them on and off), the
 * limits a configuration sets, taking a new generation's configuration,
 * and stopping gracefully on SIGTERM/SIGINT.  The front's start is
 * front_main.c, its channel to the master front_control.c; connections
 * are server_conn.c, the API server_http.c, token policy broker.c.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "server.h"

/* How long in-flight requests may take to finish after SIGTERM. */
#define SHUTDOWN_GRACE_SEC	10

/* Logs the real address of a TCP listener (port 0 means "any"). */
static void
log_listening(const struct listen_addr *la, int fd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			 host[NI_MAXHOST], port[NI_MAXSERV];

	if (la->kind == LISTEN_UNIX) {
		log_info("event=listening address=unix:%s", la->path);
		return;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port,
	    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		log_info("event=listening address=%s:%s%s%s:%s",
		    la->kind == LISTEN_HTTPS ? "https" : "tcp",
		    ss.ss_family == AF_INET6 ? "[" : "", host,
		    ss.ss_family == AF_INET6 ? "]" : "", port);
}

static struct server_front *
front_get(struct server *srv, enum listen_kind kind, bool admin)
{
	struct server_front	*f;
	bool			 tcp = kind != LISTEN_UNIX;

	if (kind == LISTEN_HTTPS)
		f = &srv->fronts[FRONT_HTTPS];	/* never admin (config_options.c) */
	else
		f = &srv->fronts[(admin ? FRONT_ADMIN_UNIX : FRONT_UNIX) + (tcp ? 1 : 0)];
	f->srv = srv;
	f->tcp = tcp;
	f->https = kind == LISTEN_HTTPS;
	f->admin = admin && kind != LISTEN_HTTPS;
	return f;
}

static void
listener_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	conn_accept(arg, fd);
}

static void
accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	server_listeners_update(arg);
}

/* accept() failed, e.g. out of descriptors (EMFILE): the listener would
 * fire again at once, so every listener rests for a moment, and the
 * failure is logged once per rest. */
static void
listener_error_cb(struct evconnlistener *lev, void *arg)
{
	struct server_front	*front = arg;
	struct server		*srv = front->srv;
	struct timeval		 tv = { 0, SERVER_ACCEPT_RETRY_MS * 1000 };
	int			 err = errno;

	if (!evtimer_pending(&srv->accept_retry, NULL)) {
		log_warnx("event=accept_failed error=\"%s\" retry_ms=%d",
		    strerror(err), SERVER_ACCEPT_RETRY_MS);
		evtimer_add(&srv->accept_retry, &tv);
	}
	server_listeners_update(srv);
}

static void
full_log(const char *what, bool full, size_t n)
{
	if (full)
		log_warnx("event=%s connections=%zu accepting=no", what, n);
	else
		log_info("event=%s connections=%zu accepting=yes", what, n);
}

void
server_listeners_update(struct server *srv)
{
	bool	 resting = evtimer_initialized(&srv->accept_retry) &&
		    evtimer_pending(&srv->accept_retry, NULL);
	bool	 token_full = srv->n_conns >= srv->max_connections;
	bool	 admin_full = srv->n_admin_conns >= SERVER_ADMIN_MAX_CONNECTIONS;

	if (token_full != srv->token_full && !srv->stopping)
		full_log("max_connections", token_full, srv->n_conns);
	if (admin_full != srv->admin_full && !srv->stopping)
		full_log("admin_max_connections", admin_full, srv->n_admin_conns);
	srv->token_full = token_full;
	srv->admin_full = admin_full;
	for (size_t i = 0; i < srv->n_listeners; i++) {
		struct server_listener	*l = &srv->listeners[i];
		bool			 on;

		if (l->lev == NULL)
			continue;
		on = !srv->stopping && !resting &&
		    !(l->front->admin ? admin_full : token_full);
		if (on == l->enabled)
			continue;
		if (on)
			evconnlistener_enable(l->lev);
		else
			evconnlistener_disable(l->lev);
		l->enabled = on;
	}
}

/* Limits that a reload may change. */
int
server_tls_start(struct server *srv, const struct broker_config *conf, char *errbuf,
    size_t errlen)
{
	if (!conf->has_https)
		return 0;
	return (srv->tls = server_tls_new(conf, errbuf, errlen)) == NULL ? -1 : 0;
}

void
server_configure(struct server *srv, const struct broker_config *conf)
{
	srv->max_body = conf->max_body_size;
	srv->max_connections = conf->max_connections;
	srv->max_header_size = conf->max_header_size;
	srv->client_timeout = conf->client_timeout;
	srv->https_methods = conf->https_auth_methods;
	free(srv->krb5_realms);
	srv->krb5_realms = conf->krb5_realms != NULL ? xstrdup(conf->krb5_realms) : NULL;
	if ((srv->https_methods & HTTPS_AUTH_NEGOTIATE) && srv->negotiate == NULL)
		srv->negotiate = server_negotiate_new(srv);
}

static int
listener_attach(struct server *srv, struct server_listener *l, int fd, bool admin)
{
	/* Backlog 0: the socket already listens (with -1 libevent would
	 * call listen() again and cut the backlog to 128).  Accepted
	 * sockets are non-blocking and close-on-exec. */
	l->front = front_get(srv, l->addr.kind, admin);
	l->lev = evconnlistener_new(srv->base, listener_accept_cb, l->front,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (l->lev == NULL) {
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(l->lev, listener_error_cb);
	l->enabled = true;
	log_listening(&l->addr, fd);
	return 0;
}

int
server_listener_adopt(struct server *srv, int fd, bool admin, bool inherited,
    const char *text, const char *path)
{
	struct server_listener	*l;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		close(fd);
		return -1;
	}
	srv->listeners = reallocarray(srv->listeners, srv->n_listeners + 1,
	    sizeof(*srv->listeners));
	if (srv->listeners == NULL)
		fatal("reallocarray");
	l = &srv->listeners[srv->n_listeners];
	memset(l, 0, sizeof(*l));
	l->inherited = inherited;
	/* The master names each listener as configured: https: is TLS. */
	l->addr.kind = ss.ss_family == AF_UNIX ? LISTEN_UNIX :
	    strncmp(text, "https:", 6) == 0 ? LISTEN_HTTPS : LISTEN_TCP;
	l->addr.text = xstrdup(text);
	l->addr.path = path != NULL && path[0] != '\0' ? xstrdup(path) : NULL;
	evutil_make_socket_nonblocking(fd);
	evutil_make_socket_closeonexec(fd);
	srv->n_listeners++;
	srv->has_admin_listener |= admin;
	return listener_attach(srv, l, fd, admin);
}

/* Stops accepting (the master removes our socket files). */
void
server_listeners_close(struct server *srv)
{
	for (size_t i = 0; i < srv->n_listeners; i++) {
		struct server_listener *l = &srv->listeners[i];

		if (l->lev != NULL) {
			evconnlistener_free(l->lev);
			l->lev = NULL;
		}
	}
}

void
server_listeners_free(struct server *srv)
{
	for (size_t i = 0; i < srv->n_listeners; i++) {
		struct listen_addr *a = &srv->listeners[i].addr;

		free(a->text);
		free(a->path);
		free(a->host);
		free(a->port);
	}
	free(srv->listeners);
	srv->listeners = NULL;
	srv->n_listeners = 0;
}

static void
grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;
	struct timeval	 flush = { 0, 200000 };

	/* Requests answered: give their replies a moment to reach the
	 * sockets, then leave the loop. */
	if (srv->in_flight == 0) {
		event_del(srv->grace_timer);
		event_base_loopexit(srv->base, &flush);
		return;
	}
	if (++srv->grace_ticks > SHUTDOWN_GRACE_SEC * 10) {
		log_warnx("event=shutdown in_flight=%zu grace_expired=1",
		    srv->in_flight);
		/* Whoever still waits gets a 503, sent before the loop ends. */
		broker_cancel_waiters(srv->broker);
		event_del(srv->grace_timer);
		event_base_loopexit(srv->base, &flush);
	}
}

void
server_stop(struct server *srv, const char *why)
{
	struct timeval	 tv = { 0, 100000 };

	if (srv->stopping)
		return;
	srv->stopping = true;
	log_info("event=shutdown %s in_flight=%zu", why, srv->in_flight);
	server_listeners_close(srv);
	srv->grace_timer = event_new(srv->base, -1, EV_PERSIST, grace_cb, srv);
	event_add(srv->grace_timer, &tv);
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	server_stop(arg, sig == SIGTERM ? "signal=TERM" : "signal=INT");
}

/* Options a reload cannot change (the option table says which) are logged,
 * one line each, and keep their old values until a restart. */
static void
reload_log_fixed(const struct broker_config *old, const struct broker_config *new)
{
	const char	*names[32];
	size_t		 n = config_reload_changes(old, new, names, 32);

	for (size_t i = 0; i < n && i < 32; i++)
		log_warnx("event=reload option=%s note=\"takes effect on restart\"",
		    names[i]);
}

/*
 * A new generation from the master: its configuration (loaded from the
 * snapshot, without keys) goes to the broker before its signers replace
 * the old ones (front_control.c), with no turn of the loop in between,
 * so that no mint pairs one generation's certificate with another's key.
 * On failure the old configuration stays (the caller closes the new
 * signers).  Takes conf on success.
 */
int
server_generation_take(struct server *srv, struct broker_config *conf, char *errbuf,
    size_t errlen)
{
	struct server_tls	*tls = NULL;

	srv->reload_time = clock_now();
	srv->reload_count++;
	reload_log_fixed(broker_config(srv->broker), conf);
	/* https: the new certificate for new connections; connections open
	 * keep theirs. */
	if (conf->has_https && (tls = server_tls_new(conf, errbuf, errlen)) == NULL) {
		server_reload_failed(srv, errbuf, false);
		return -1;
	}
	if (broker_reconfigure(srv->broker, conf, errbuf, errlen) == -1) {
		server_tls_free(tls);
		server_reload_failed(srv, errbuf, false);
		return -1;
	}
	if (tls != NULL) {
		server_tls_free(srv->tls);
		srv->tls = tls;
		log_info("event=tls_reloaded");
	}
	log_set_level(conf->log_level);
	server_configure(srv, conf);
	server_listeners_update(srv);	/* max_connections may have changed */
	srv->reload_ok = true;
	srv->reload_error[0] = '\0';
	log_info("event=reload_done tenants=%zu", conf->n_tenants);
	return 0;
}

void
server_reload_failed(struct server *srv, const char *error, bool count)
{
	if (count) {
		srv->reload_time = clock_now();
		srv->reload_count++;
	}
	snprintf(srv->reload_error, sizeof(srv->reload_error), "%s", error);
	srv->reload_ok = false;
	log_warnx("event=reload_failed error=\"%s\" keeping=old", error);
}

/* Each connection is a descriptor: take the hard limit, and say so when
 * max_connections cannot fit under it. */
void
server_nofile_raise(size_t max_connections)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && max_connections +
	    SERVER_ADMIN_MAX_CONNECTIONS + 64 > rl.rlim_cur)
		log_warnx("event=nofile limit=%llu max_connections=%zu note=\"fewer "
		    "descriptors than connections allowed; raise LimitNOFILE\"",
		    (unsigned long long)rl.rlim_cur, max_connections);
}

void
server_init(struct server *srv, struct event_base *base)
{
	srv->base = base;
	evtimer_assign(&srv->accept_retry, base, accept_resume_cb, srv);
}

struct event_base *
server_base_new(void)
{
	struct event_config	*evcfg;
	struct event_base	*base = NULL;

	/* The epoll changelist folds event changes into at most one
	 * epoll_ctl per descriptor and loop turn (safe: the broker never
	 * dup()s a socket). */
	if ((evcfg = event_config_new()) == NULL)
		return NULL;
	if (event_config_set_flag(evcfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) == 0)
		base = event_base_new_with_config(evcfg);
	event_config_free(evcfg);
	return base;
}

void
server_signals_add(struct server *srv)
{
	srv->sig_term = evsignal_new(srv->base, SIGTERM, stop_cb, srv);
	srv->sig_int = evsignal_new(srv->base, SIGINT, stop_cb, srv);
	evsignal_add(srv->sig_term, NULL);
	evsignal_add(srv->sig_int, NULL);
}

void
server_teardown(struct server *srv)
{
	server_listeners_close(srv);
	if (srv->sig_term)
		event_free(srv->sig_term);
	if (srv->sig_int)
		event_free(srv->sig_int);
	if (srv->grace_timer)
		event_free(srv->grace_timer);
	if (srv->base != NULL)
		evtimer_del(&srv->accept_retry);
	conns_close_all(srv);	/* requests still waiting are orphaned... */
	broker_free(srv->broker);	/* ...and answered into the void here */
	server_signers_stop(srv);	/* the front's sockets to them closed */
	server_listeners_free(srv);
	server_tls_free(srv->tls);
	srv->tls = NULL;
	server_negotiate_free(srv->negotiate);	/* its callers are gone */
	srv->negotiate = NULL;
	free(srv->krb5_realms);
	srv->krb5_realms = NULL;
	if (srv->base)
		event_base_free(srv->base);
	free(srv->config_path);
}
