/* SPDX-License-Identifier: Apache-2.0 */
/*
 * master_listen.c - the master's listening sockets: opening each
 * configured address (a stale socket file of a dead broker is replaced,
 * a live one never; no window with looser permissions than socket_mode),
 * taking systemd's sockets instead (socket activation; "admin" by name),
 * and removing our socket files at the end.  The front gets the sockets
 * (master.c) and only accepts on them.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/util.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "samlbroker.h"
#include "master.h"

/* Backlog of every listening socket. */
#define LISTEN_BACKLOG		512


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

/*
 * Why a socket file could not be made, with the fix: the usual cause is
 * its directory, which systemd makes (RuntimeDirectory=) and a broker
 * started by hand does not.
 */
static void
unix_bind_error(const struct listen_addr *la, int err, char *errbuf, size_t errlen)
{
	char	 dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char	*slash;

	snprintf(dir, sizeof(dir), "%s", la->path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if (slash == dir)
		snprintf(dir, sizeof(dir), "/");
	if (err == ENOENT) {
		struct passwd	*pw = getpwuid(geteuid());
		struct group	*gr = getgrgid(getegid());
		char		 owner[128];

		if (pw != NULL && gr != NULL)
			snprintf(owner, sizeof(owner), "-o %s -g %s ", pw->pw_name,
			    gr->gr_name);
		else
			snprintf(owner, sizeof(owner), "-o %u -g %u ",
			    (unsigned)geteuid(), (unsigned)getegid());
		snprintf(errbuf, errlen, "%s: the directory %s does not exist "
		    "(samlbroker.service makes it with RuntimeDirectory=; without "
		    "systemd make it first: install -d -m 0750 %s%s)",
		    la->text, dir, owner, dir);
	}
	else if (err == EACCES || err == EPERM)
		snprintf(errbuf, errlen, "%s: %s: uid %u may not create a socket in "
		    "%s (it must own the directory or be able to write to it)",
		    la->text, strerror(err), (unsigned)geteuid(), dir);
	else
		snprintf(errbuf, errlen, "%s: %s", la->text, strerror(err));
}

static int
listen_unix(const struct listen_addr *la, mode_t mode, char *errbuf, size_t errlen)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd = -1;

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
	unix_bind_error(la, errno, errbuf, errlen);
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

struct set {
	struct master_listener	*l;
	size_t			 n;
};

static struct master_listener *
listener_add(struct set *m, int fd, bool admin, const char *text)
{
	struct master_listener	*l;

	m->l = reallocarray(m->l, m->n + 1, sizeof(*m->l));
	if (m->l == NULL)
		fatal("reallocarray");
	l = &m->l[m->n++];
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->admin = admin;
	snprintf(l->text, sizeof(l->text), "%s", text);
	return l;
}

/* Opens one configured address. */
static int
listener_open(struct set *m, const struct broker_config *conf,
    const struct listen_addr *la, bool admin)
{
	struct master_listener	*l;
	struct stat		 st;
	char			 err[512];
	int			 fd;

	fd = la->kind == LISTEN_UNIX ? listen_unix(la, conf->socket_mode, err,
	    sizeof(err)) : listen_tcp(la, err, sizeof(err));
	if (fd == -1) {
		log_errorx("event=listen_failed %s", err);
		return -1;
	}
	l = listener_add(m, fd, admin, la->text);
	if (la->kind == LISTEN_UNIX) {
		snprintf(l->path, sizeof(l->path), "%s", la->path);
		if (lstat(la->path, &st) == 0) {
			l->dev = st.st_dev;
			l->ino = st.st_ino;
		}
	}
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
listeners_inherit(struct set *m, const struct broker_config *conf, bool *ret_admin)
{
	char	**names = NULL;
	int	 n = sd_listen_fds_with_names(1, &names), rc = 0, got = 0;

	if (n <= 0)
		return n;
	for (int i = 0; i < n && rc == 0; i++) {
		int			 fd = SD_LISTEN_FDS_START + i;
		struct sockaddr_storage	 ss;
		socklen_t		 len = sizeof(ss);
		struct master_listener	*l;
		bool			 admin = names != NULL && names[i] != NULL &&
					    strcmp(names[i], "admin") == 0;

		if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
			continue;
		if (ss.ss_family != AF_UNIX && !sockaddr_is_loopback(&ss)) {
			log_errorx("event=listen_failed reason=\"an inherited TCP socket is "
			    "not on loopback (it would be a tcp: listener, whose callers "
			    "have no identity; remote callers come over https:)\"");
			rc = -1;
			break;
		}
		evutil_make_socket_nonblocking(fd);
		evutil_make_socket_closeonexec(fd);
		l = listener_add(m, fd, admin, admin ? "inherited:admin" : "inherited");
		l->inherited = true;
		if (ss.ss_family == AF_UNIX) {
			const struct sockaddr_un *sun = (const struct sockaddr_un *)&ss;
			size_t	 plen = strnlen(sun->sun_path, sizeof(sun->sun_path));

			if (plen < sizeof(l->path))
				memcpy(l->path, sun->sun_path, plen);
		}
		*ret_admin |= admin;
		got++;
	}
	for (int i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
	return rc == -1 ? -1 : got;
}
#endif

/*
 * Inherited sockets replace `listen`.  `admin_listen` is honoured beside
 * them (the broker opens it) unless systemd also passed a socket named
 * "admin": two admin addresses are refused, never one silently dropped.
 */
static int
listeners_open(struct set *m, const struct broker_config *conf)
{
#ifdef HAVE_SYSTEMD
	bool	 admin = false;
	int	 n;

	if ((n = listeners_inherit(m, conf, &admin)) == -1)
		return -1;
	if (n > 0) {
		log_info("event=socket_activation listeners=%d admin=%s", n,
		    admin ? "inherited" : conf->has_admin_listen ? "admin_listen" : "none");
		if (admin && conf->has_admin_listen) {
			log_errorx("event=listen_failed reason=\"admin_listen is set and "
			    "systemd passed a socket named admin: give the admin address "
			    "in one place\"");
			return -1;
		}
		if (conf->has_admin_listen)
			return listener_open(m, conf, &conf->admin_listen, true);
		return 0;
	}
#endif
	for (size_t i = 0; i < conf->n_listens; i++)
		if (listener_open(m, conf, &conf->listens[i], false) == -1)
			return -1;
	if (conf->has_admin_listen)
		return listener_open(m, conf, &conf->admin_listen, true);
	return 0;
}

int
master_listeners_open(const struct broker_config *conf,
    struct master_listener **ret, size_t *ret_n)
{
	struct set	 set = { NULL, 0 };

	if (listeners_open(&set, conf) == -1) {
		master_listeners_close(set.l, set.n, true);
		return -1;
	}
	*ret = set.l;
	*ret_n = set.n;
	return 0;
}

/* Closes what is still open; removes our socket files once, and only if
 * still ours: a broker started during our shutdown may have bound the
 * same path.  Frees the array. */
void
master_listeners_close(struct master_listener *ls, size_t n, bool remove_files)
{
	struct stat	 st;

	for (size_t i = 0; i < n; i++) {
		struct master_listener *l = &ls[i];

		if (l->fd != -1)
			close(l->fd);
		l->fd = -1;
		if (remove_files && l->ino != 0 && lstat(l->path, &st) == 0 &&
		    st.st_dev == l->dev && st.st_ino == l->ino)
			unlink(l->path);
		l->ino = 0;
	}
	free(ls);
}
