/*
 * server.c - the daemon's life: loads configuration, opens (or inherits)
 * the listeners and alone switches them on and off, runs the one event
 * loop, reloads on SIGHUP and stops gracefully on SIGTERM/SIGINT.  The
 * `serve` command's options are in main.c; connections in server_conn.c,
 * the API in server_http.c, token policy in broker.c.
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

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "commands.h"
#include "server.h"

/* How long in-flight requests may take to finish after SIGTERM. */
#define SHUTDOWN_GRACE_SEC	10
/* Backlog of every listening socket. */
#define LISTEN_BACKLOG		512

static void
notify(const char *state)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

/* A socket file left by a dead broker is replaced; a live one is not. */
static int
unix_path_claim(const char *path, char *errbuf, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd, rc;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(errbuf, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(errbuf, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0) {
		snprintf(errbuf, errlen, "%s: another process is listening on it", path);
		return -1;
	}
	if (unlink(path) == -1) {
		snprintf(errbuf, errlen, "cannot remove stale socket %s: %s", path,
		    strerror(errno));
		return -1;
	}
	log_info("event=stale_socket_removed path=%s", path);
	return 0;
}

static int
listen_unix(const struct listen_addr *la, mode_t mode, char *errbuf, size_t errlen)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", la->path) >=
	    (int)sizeof(sun.sun_path)) {
		snprintf(errbuf, errlen, "%s: socket path too long", la->path);
		return -1;
	}
	if (unix_path_claim(la->path, errbuf, errlen) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1)
		goto fail;
	/* No window in which the socket has looser permissions than asked. */
	old = umask(0777 & ~mode);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		goto fail;
	}
	umask(old);
	if (chmod(la->path, mode) == -1 || listen(fd, LISTEN_BACKLOG) == -1) {
		unlink(la->path);
		goto fail;
	}
	return fd;
fail:
	snprintf(errbuf, errlen, "%s: %s", la->text, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

static int
listen_tcp(const struct listen_addr *la, char *errbuf, size_t errlen)
{
	struct addrinfo	 hints, *res = NULL;
	int		 fd = -1, on = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(la->host, la->port, &hints, &res)) != 0) {
		snprintf(errbuf, errlen, "%s: %s", la->text, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1) {
		snprintf(errbuf, errlen, "%s: %s", la->text, strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

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
		log_info("event=listening address=tcp:%s%s%s:%s",
		    ss.ss_family == AF_INET6 ? "[" : "", host,
		    ss.ss_family == AF_INET6 ? "]" : "", port);
}

static void
listener_copy(struct listen_addr *dst, const struct listen_addr *src)
{
	dst->kind = src->kind;
	dst->text = xstrdup(src->text);
	dst->path = src->path ? xstrdup(src->path) : NULL;
	dst->host = src->host ? xstrdup(src->host) : NULL;
	dst->port = src->port ? xstrdup(src->port) : NULL;
}

static struct server_front *
front_get(struct server *srv, bool tcp, bool admin)
{
	struct server_front	*f;

	f = &srv->fronts[(admin ? FRONT_ADMIN_UNIX : FRONT_UNIX) + (tcp ? 1 : 0)];
	f->srv = srv;
	f->tcp = tcp;
	f->admin = admin;
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
static void
fronts_configure(struct server *srv, const struct broker_config *conf)
{
	srv->max_body = conf->max_body_size;
	srv->max_connections = conf->max_connections;
	srv->max_header_size = conf->max_header_size;
	srv->client_timeout = conf->client_timeout;
}

/* Removes our socket file once, and only if it is still ours: a broker
 * started during our shutdown grace may have bound the same path. */
static void
socket_file_remove(struct server_listener *l)
{
	struct stat	 st;

	if (l->sock_ino != 0 && lstat(l->addr.path, &st) == 0 &&
	    st.st_dev == l->sock_dev && st.st_ino == l->sock_ino)
		unlink(l->addr.path);
	l->sock_ino = 0;
}

static int
listener_attach(struct server *srv, struct server_listener *l, int fd, bool admin)
{
	/* Backlog 0: the socket already listens (with -1 libevent would
	 * call listen() again and cut the backlog to 128).  Accepted
	 * sockets are non-blocking and close-on-exec. */
	l->front = front_get(srv, l->addr.kind == LISTEN_TCP, admin);
	l->lev = evconnlistener_new(srv->base, listener_accept_cb, l->front,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (l->lev == NULL) {
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(l->lev, listener_error_cb);
	l->enabled = true;
	if (l->addr.kind == LISTEN_UNIX && !l->inherited) {
		struct stat st;

		if (lstat(l->addr.path, &st) == 0) {
			l->sock_dev = st.st_dev;
			l->sock_ino = st.st_ino;
		}
	}
	log_listening(&l->addr, fd);
	return 0;
}

#ifdef HAVE_SYSTEMD
static bool
sockaddr_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return false;
}

/* Socket activation: take the listeners systemd passes; the one named
 * "admin" (FileDescriptorName=admin) is the admin address. */
static int
listeners_inherit(struct server *srv, const struct broker_config *conf)
{
	char	**names = NULL;
	int	 n = sd_listen_fds_with_names(1, &names), rc = 0;

	if (n <= 0)
		return n;
	srv->listeners = xcalloc((size_t)n + 1, sizeof(*srv->listeners));
	for (int i = 0; i < n && rc == 0; i++) {
		int			 fd = SD_LISTEN_FDS_START + i;
		struct server_listener	*l = &srv->listeners[srv->n_listeners];
		struct sockaddr_storage	 ss;
		socklen_t		 len = sizeof(ss);
		bool			 admin = names != NULL && names[i] != NULL &&
					    strcmp(names[i], "admin") == 0;

		if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
			continue;
		l->inherited = true;
		l->addr.kind = ss.ss_family == AF_UNIX ? LISTEN_UNIX : LISTEN_TCP;
		if (l->addr.kind == LISTEN_TCP && !conf->allow_remote_tcp &&
		    !sockaddr_is_loopback(&ss)) {
			log_warnx("event=listen_failed reason=\"an inherited TCP socket is "
			    "not on loopback; set allow_remote_tcp = yes to allow it\"");
			rc = -1;
			break;
		}
		l->addr.text = xstrdup(admin ? "inherited:admin" : "inherited");
		if (l->addr.kind == LISTEN_UNIX)
			l->addr.path = xstrdup(((struct sockaddr_un *)&ss)->sun_path);
		evutil_make_socket_nonblocking(fd);
		evutil_make_socket_closeonexec(fd);
		srv->n_listeners++;
		srv->has_admin_listener |= admin;
		if (listener_attach(srv, l, fd, admin) == -1)
			rc = -1;
	}
	for (int i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
	return rc == -1 ? -1 : (int)srv->n_listeners;
}
#endif

/* Opens one configured address as the next listener. */
static int
listener_open(struct server *srv, const struct broker_config *conf,
    const struct listen_addr *la, bool admin)
{
	struct server_listener	*l = &srv->listeners[srv->n_listeners];
	char			 err[512];
	int			 fd;

	fd = la->kind == LISTEN_UNIX ? listen_unix(la, conf->socket_mode, err,
	    sizeof(err)) : listen_tcp(la, err, sizeof(err));
	if (fd == -1) {
		log_warnx("event=listen_failed %s", err);
		return -1;
	}
	listener_copy(&l->addr, la);
	srv->has_admin_listener |= admin;
	srv->n_listeners++;
	if (listener_attach(srv, l, fd, admin) == -1) {
		log_warnx("event=listen_failed address=%s", la->text);
		return -1;
	}
	return 0;
}

/*
 * Inherited sockets replace `listen`.  `admin_listen` is honoured beside
 * them (the broker opens it) unless systemd also passed a socket named
 * "admin": two admin addresses are refused, never one silently dropped.
 */
int
server_listeners_open(struct server *srv, const struct broker_config *conf)
{
	int	 n = 0;

#ifdef HAVE_SYSTEMD
	if ((n = listeners_inherit(srv, conf)) == -1)
		return -1;
	if (n > 0) {
		log_info("event=socket_activation listeners=%d admin=%s", n,
		    srv->has_admin_listener ? "inherited" : conf->has_admin_listen ?
		    "admin_listen" : "none");
		if (srv->has_admin_listener && conf->has_admin_listen) {
			log_warnx("event=listen_failed reason=\"admin_listen is set and "
			    "systemd passed a socket named admin: give the admin address "
			    "in one place\"");
			return -1;
		}
		if (conf->has_admin_listen)
			return listener_open(srv, conf, &conf->admin_listen, true);
		return 0;
	}
#endif
	srv->listeners = xcalloc(conf->n_listens + 1, sizeof(*srv->listeners));
	for (size_t i = 0; i < conf->n_listens; i++)
		if (listener_open(srv, conf, &conf->listens[i], false) == -1)
			return -1;
	if (conf->has_admin_listen)
		return listener_open(srv, conf, &conf->admin_listen, true);
	(void)n;
	return 0;
}

/* Stops accepting; unlinks our socket files. */
void
server_listeners_close(struct server *srv)
{
	for (size_t i = 0; i < srv->n_listeners; i++) {
		struct server_listener *l = &srv->listeners[i];

		if (l->lev != NULL) {
			evconnlistener_free(l->lev);
			l->lev = NULL;
		}
		if (l->addr.kind == LISTEN_UNIX && !l->inherited && l->addr.path)
			socket_file_remove(l);
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

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server	*srv = arg;
	struct timeval	 tv = { 0, 100000 };

	if (srv->stopping)
		return;
	srv->stopping = true;
	log_info("event=shutdown signal=%s in_flight=%zu",
	    sig == SIGTERM ? "TERM" : "INT", srv->in_flight);
	notify("STOPPING=1");
	server_listeners_close(srv);
	srv->grace_timer = event_new(srv->base, -1, EV_PERSIST, grace_cb, srv);
	event_add(srv->grace_timer, &tv);
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

static void
reload_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server		*srv = arg;
	struct broker_config	*conf;
	struct diag		 d;
	char			 err[512];

	notify("RELOADING=1");
	log_info("event=reload_start config=%s", srv->config_path);
	srv->reload_time = clock_now();
	srv->reload_count++;
	diag_init(&d);
	/* The front reads certificates only; the signers read the keys. */
	conf = config_load_ext(srv->config_path, &d, CONFIG_NO_PRIVATE_KEYS);
	for (size_t i = 0; i < d.n_lines; i++)
		log_warnx("event=config %s", d.lines[i]);
	if (conf == NULL) {
		snprintf(srv->reload_error, sizeof(srv->reload_error), "%s",
		    d.n_lines > 0 ? d.lines[0] : "configuration invalid");
		srv->reload_ok = false;
		log_warnx("event=reload_failed errors=%d keeping=old", d.errors);
		diag_clear(&d);
		notify("READY=1");
		return;
	}
	diag_clear(&d);
	reload_log_fixed(broker_config(srv->broker), conf);
	/* New keys first: the broker takes the new configuration only once
	 * signers hold its keys (it cannot refuse it then: its minter has no
	 * reconfigure). */
	if (server_signers_reload(srv, err, sizeof(err)) == -1 ||
	    broker_reconfigure(srv->broker, conf, err, sizeof(err)) == -1) {
		snprintf(srv->reload_error, sizeof(srv->reload_error), "%s", err);
		srv->reload_ok = false;
		log_warnx("event=reload_failed error=\"%s\" keeping=old", err);
		config_free(conf);
		notify("READY=1");
		return;
	}
	log_set_level(conf->log_level);
	fronts_configure(srv, conf);
	server_listeners_update(srv);	/* max_connections may have changed */
	srv->reload_ok = true;
	srv->reload_error[0] = '\0';
	log_info("event=reload_done tenants=%zu", conf->n_tenants);
	notify("READY=1");
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

static struct event_base *
base_new(void)
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

static void
signals_add(struct server *srv)
{
	srv->sig_term = evsignal_new(srv->base, SIGTERM, stop_cb, srv);
	srv->sig_int = evsignal_new(srv->base, SIGINT, stop_cb, srv);
	srv->sig_hup = evsignal_new(srv->base, SIGHUP, reload_cb, srv);
	evsignal_add(srv->sig_term, NULL);
	evsignal_add(srv->sig_int, NULL);
	evsignal_add(srv->sig_hup, NULL);
}

static void
server_teardown(struct server *srv)
{
	server_listeners_close(srv);
	if (srv->sig_term)
		event_free(srv->sig_term);
	if (srv->sig_int)
		event_free(srv->sig_int);
	if (srv->sig_hup)
		event_free(srv->sig_hup);
	if (srv->grace_timer)
		event_free(srv->grace_timer);
	if (srv->base != NULL)
		evtimer_del(&srv->accept_retry);
	conns_close_all(srv);	/* requests still waiting are orphaned... */
	broker_free(srv->broker);	/* ...and answered into the void here */
	server_signers_stop(srv);	/* no signer left once it returns */
	server_listeners_free(srv);
	if (srv->base)
		event_base_free(srv->base);
	free(srv->config_path);
}

/* config_load_verbose without the keys: the front never reads a private
 * key nor its password (the signers do). */
static struct broker_config *
config_load_front(const char *path)
{
	struct diag		 d;
	struct broker_config	*conf;

	diag_init(&d);
	conf = config_load_ext(path, &d, CONFIG_WARN_OPEN | CONFIG_NO_PRIVATE_KEYS);
	for (size_t i = 0; i < d.n_lines; i++)
		fprintf(stderr, "%s\n", d.lines[i]);
	diag_clear(&d);
	return conf;
}

int
server_run(const char *config_path)
{
	struct server		 srv;
	struct broker_config	*conf;
	struct broker_seams	 seams = { NULL, NULL, NULL, NULL };
	char			 err[512];
	int			 rc = 1;

	memset(&srv, 0, sizeof(srv));
	if ((conf = config_load_front(config_path)) == NULL) {
		log_warnx("event=startup_failed reason=configuration");
		return 1;
	}
	log_set_level(conf->log_level);
	server_nofile_raise(conf->max_connections);
	/* No xmlsec here: the front never signs (the signers initialise it). */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	signal(SIGPIPE, SIG_IGN);
	srv.config_path = xstrdup(config_path);
	srv.started = clock_now();
	srv.reload_ok = true;
	fronts_configure(&srv, conf);
	if ((srv.base = base_new()) == NULL) {
		log_warnx("event=startup_failed reason=libevent");
		config_free(conf);
		goto done;
	}
	server_init(&srv, srv.base);
	if (server_signers_start(&srv, conf, err, sizeof(err)) == -1) {
		log_warnx("event=startup_failed reason=signers error=\"%s\"", err);
		config_free(conf);
		goto done;
	}
	seams.minter = &minter_signers_ops;
	seams.minter_impl = srv.minter;
	if ((srv.broker = broker_new_with(srv.base, conf, &seams, err,
	    sizeof(err))) == NULL) {
		log_warnx("event=startup_failed error=\"%s\"", err);
		config_free(conf);
		goto done;
	}
	if (server_listeners_open(&srv, conf) == -1) {
		log_warnx("event=startup_failed reason=listen");
		goto done;
	}
	signals_add(&srv);
	srv.ready = true;
	log_info("event=ready version=%s tenants=%zu listeners=%zu", PACKAGE_VERSION,
	    conf->n_tenants, srv.n_listeners);
	notify("READY=1");
	event_base_dispatch(srv.base);
	rc = 0;
	log_info("event=stopped");
done:
	server_teardown(&srv);
	curl_global_cleanup();
	return rc;
}
