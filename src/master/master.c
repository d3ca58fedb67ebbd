/* SPDX-License-Identifier: Apache-2.0 */
/*
 * master.c - `samlbroker serve`: the master, the one process of the
 * broker that reads files and starts programs, and never reads a byte
 * from the network (in the manner of Postfix's master and OpenSSH's
 * monitor).
 *
 * Owns: loading the configuration once per generation and recording what
 * was read (a snapshot, snapshot.c); opening the listeners (or taking
 * systemd's) and removing our socket files at the end; starting the
 * signers of a generation from that generation's snapshot and restarting
 * them from it when the front asks; starting the front (a separate
 * program, front_main.c) with an empty environment and handing it the
 * listeners, the snapshot without secrets, the CA bundle and each ready
 * signer's socket (master_wire.h); SIGHUP (a new generation, handed over
 * once all its signers are ready: the front's loop never waits), SIGTERM
 * (the front first, then the signers), sd_notify, answering the front's
 * login-name questions, and reaping every child.  When the front dies
 * the master stops the signers and exits 1 (systemd restarts the
 * service).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "samlbroker.h"
#include "commands.h"
#include "master.h"
#include "master_wire.h"
#include "negotiate_wire.h"
#include "signer.h"

#define START_TIMEOUT		30.0	/* seconds for a signer to say READY */
#define FRONT_START_TIMEOUT	60.0	/* seconds for the front to say READY */
#define FRONT_STOP_TIMEOUT	20.0	/* SIGTERM to SIGKILL of the front */
#define TICK_SEC		0.1
#define CA_MAX			(16 * 1024 * 1024)
#define DEFAULT_CA_BUNDLE	"/etc/ssl/certs/ca-certificates.crt"

/* Test builds (tests/samlbroker_testclock.c) may change these. */
const char	*master_front_program = "samlbroker-front";
const char *const *master_front_env;	/* names passed to the front */
/* Test builds: LD_PRELOAD for the negotiator alone (libfaketime), and
 * more names passed to it. */
const char	*master_negotiator_preload;
const char *const *master_negotiator_env;
bool		 master_front_env_all;	/* the whole environment (tests) */

enum mstate { M_STARTING, M_FRONT_STARTING, M_RUNNING, M_STOPPING, M_FAILED };


struct mgen;
/* A signer child: starting (the master holds its socket and waits for
 * READY), handed to the front, or stopping. */
struct msigner {
	pid_t		 pid;
	struct mgen	*gen;		/* NULL once handed over or failed */
	uint64_t	 gen_number;
	int		 index;
	uint32_t	 seq;		/* a restart's attempt; 0: a generation member */
	int		 fd;		/* ours while starting, else -1 */
	struct event	*ev;
	double		 since;		/* started, or told to stop */
	bool		 handed;
	bool		 stopping;
	bool		 graceful;
	int		 signals;
};

struct mgen {
	uint64_t		 number;
	struct config_snapshot	*snap;
	int			 full_fd;	/* the signers' snapshot (memfd) */
	int			 front_fd;	/* the front's (memfd) */
	int			 keys_fd;	/* the shared cache's keys (memfd), or -1 */
	int			 neg_fd;	/* the negotiator's (memfd), or -1 */
	size_t			 n;
	size_t			 n_ready;
	struct msigner		**members;	/* while starting */
	size_t			 signers;	/* conf->signers resolved */
	struct mcache		*cache;		/* its tenants' cache files */
};

struct master {
	struct event_base	*base;
	enum mstate		 state;
	char			*config_path;
	char			*self_exe;	/* for the signers */
	char			*front_exe;
	pid_t			 front_pid;
	double			 front_since;
	int			 ctl, qry;	/* our ends */
	struct event		*ev_ctl, *ev_qry, *ev_tick;
	struct event		*sig_term, *sig_int, *sig_hup, *sig_chld;
	struct master_listener	*listeners;
	size_t			 n_listeners;
	struct mgen		*cur;		/* the front's generation */
	struct mgen		*pending;	/* starting, or sent and not yet taken */
	bool			 pending_sent;
	bool			 reload_again;
	uint64_t		 next_gen;
	struct msigner		**signers;
	size_t			 n_signers;
	int			 ca_fd;
	int			 cache_fd;	/* the tokens read back, until sent */
	double			 started;	/* mono() at start */
	int			 exit_code;
	size_t			 signers_wanted;
	/* The negotiator of the front's generation (https_auth = negotiate). */
	pid_t			 neg_pid;
	double			 neg_since;
	double			 neg_restart_at;	/* 0: none due */
	double			 neg_backoff;
};

static void	 gen_failed(struct master *, struct mgen *, const char *why);
static void	 master_stop(struct master *, int code);

static void
notify(const char *state)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- programs ---- */

/*
 * The running binary: /proc/self/exe even if its file is replaced later
 * (a package upgrade), unless we run under an interpreter such as
 * valgrind, where readlink tells the program it runs.
 */
static char *
self_exe(void)
{
	char		 path[PATH_MAX];
	struct stat	 self, named;
	ssize_t		 n;

	if ((n = readlink("/proc/self/exe", path, sizeof(path) - 1)) <= 0)
		return xstrdup("/proc/self/exe");
	path[n] = '\0';
	if (stat("/proc/self/exe", &self) == 0 && stat(path, &named) == 0 &&
	    (self.st_dev != named.st_dev || self.st_ino != named.st_ino))
		return xstrdup(path);
	return xstrdup("/proc/self/exe");
}

/* The front: next to our own binary (the build tree), else in
 * libexecdir. */
static char *
front_exe(void)
{
	char		 path[PATH_MAX], *slash, *out;
	ssize_t		 n;

	if ((n = readlink("/proc/self/exe", path, sizeof(path) - 1)) > 0) {
		path[n] = '\0';
		if ((slash = strrchr(path, '/')) != NULL) {
			*slash = '\0';
			out = path_join(path, master_front_program);
			if (access(out, X_OK) == 0)
				return out;
			free(out);
		}
	}
	return path_join(PKGLIBEXECDIR, master_front_program);
}

/* The environment a child gets: nothing but what tests name (and the
 * sanitizers' options, which hold no secret). */
static char **
child_env(bool all)
{
	extern char	**environ;
	static const char *const always[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS",
	    "LSAN_OPTIONS", "SAMLBROKER_SIGNER_NO_SECCOMP", NULL };
	char		**env;
	size_t		 n = 0, max = 8;

	for (size_t i = 0; master_front_env != NULL && master_front_env[i]; i++)
		max++;
	if (all)
		for (char **e = environ; *e != NULL; e++)
			max++;
	env = xcalloc(max + 1, sizeof(*env));
	if (all) {
		for (char **e = environ; *e != NULL; e++)
			env[n++] = *e;
		return env;
	}
	for (int pass = 0; pass < 2; pass++) {
		const char *const *names = pass == 0 ? always : master_front_env;

		for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
			size_t	 len = strlen(names[i]);

			for (char **e = environ; *e != NULL && n < max; e++)
				if (strncmp(*e, names[i], len) == 0 && (*e)[len] == '=')
					env[n++] = *e;
		}
	}
	return env;
}

/* ---- signers ---- */

static struct msigner *
signer_find(struct master *m, pid_t pid)
{
	for (size_t i = 0; i < m->n_signers; i++)
		if (m->signers[i]->pid == pid)
			return m->signers[i];
	return NULL;
}

static void
signer_forget(struct master *m, struct msigner *s)
{
	for (size_t i = 0; i < m->n_signers; i++) {
		if (m->signers[i] == s) {
			m->signers[i] = m->signers[--m->n_signers];
			break;
		}
	}
	if (s->ev != NULL)
		event_free(s->ev);
	if (s->fd != -1)
		close(s->fd);
	free(s);
}

/* Our end is closed (it exits on EOF); SIGTERM then SIGKILL follow from
 * tick when it does not.  kill_now: SIGKILL at once. */
static void
signer_stop(struct msigner *s, bool graceful)
{
	if (s->ev != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	s->gen = NULL;
	if (!s->stopping) {
		s->stopping = true;
		s->graceful = graceful;
		s->since = mono();
	}
	if (!graceful && s->signals < 2) {
		kill(s->pid, SIGKILL);
		s->signals = 2;
	}
}

static void	 signer_readable(evutil_socket_t, short, void *);

/* Starts one signer of generation g; NULL with errbuf. */
static struct msigner *
signer_start(struct master *m, struct mgen *g, int index, uint32_t seq,
    char *errbuf, size_t errlen)
{
	struct msigner	*s;
	char		 ix[16], fdarg[16], snapfd[16];
	char		*opts[] = { (char *)"--fd", fdarg, (char *)"--index", ix,
	    (char *)"--snapshot-fd", snapfd, NULL };
	char		**env = child_env(false);
	pid_t		 pid;
	int		 fd;

	snprintf(ix, sizeof(ix), "%d", index);
	snprintf(fdarg, sizeof(fdarg), "%d", SIGNER_WIRE_FD);
	snprintf(snapfd, sizeof(snapfd), "%d", SIGNER_WIRE_FD + 1);
	pid = signer_exec(m->self_exe, opts, g->full_fd, env, &fd, errbuf, errlen);
	free(env);
	if (pid == -1)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->pid = pid;
	s->gen = g;
	s->gen_number = g->number;
	s->index = index;
	s->seq = seq;
	s->fd = fd;
	s->since = mono();
	s->ev = event_new(m->base, fd, EV_READ | EV_PERSIST, signer_readable, s);
	if (s->ev == NULL)
		fatalx("event_new");
	event_add(s->ev, NULL);
	m->signers = reallocarray(m->signers, m->n_signers + 1, sizeof(*m->signers));
	if (m->signers == NULL)
		fatal("reallocarray");
	m->signers[m->n_signers++] = s;
	return s;
}

static struct master	*the_master;	/* for signer_readable's lookups */

static void
gen_free(struct mgen *g)
{
	if (g == NULL)
		return;
	if (g->full_fd != -1)
		close(g->full_fd);
	if (g->front_fd != -1)
		close(g->front_fd);
	if (g->keys_fd != -1)
		close(g->keys_fd);
	if (g->neg_fd != -1)
		close(g->neg_fd);
	snapshot_free(g->snap);
	mcache_free(g->cache);
	free(g->members);
	free(g);
}

/* Every member is ready: the front gets the generation. */
static void
gen_send(struct master *m, struct mgen *g)
{
	struct mw_msg	 msg;
	int		 fds[MW_MAX_FDS] = { g->front_fd };
	size_t		 n_fds = 1;

	if (m->cache_fd != -1) {
		/* The tokens read back come first: the front serves none
		 * before it has them. */
		mw_init(&msg, MW_CACHE_LOAD);
		if (mw_send(m->ctl, &msg, &m->cache_fd, 1) == -1)
			goto fail;
		close(m->cache_fd);
		m->cache_fd = -1;
	}
	mw_init(&msg, MW_GENERATION);
	msg.generation = g->number;
	msg.count = (uint32_t)g->n;
	snprintf(msg.text, sizeof(msg.text), "%s", m->config_path);
	if (m->ca_fd != -1) {
		msg.flags |= MWF_CA;
		fds[n_fds++] = m->ca_fd;
	}
	if (g->keys_fd != -1) {
		msg.flags |= MWF_KEYS;
		fds[n_fds++] = g->keys_fd;
	}
	if (mw_send(m->ctl, &msg, fds, n_fds) == -1)
		goto fail;
	if (m->ca_fd != -1) {	/* the front keeps the first bundle */
		close(m->ca_fd);
		m->ca_fd = -1;
	}
	for (size_t i = 0; i < g->n; i++) {
		struct msigner	*s = g->members[i];

		mw_init(&msg, MW_GEN_SIGNER);
		msg.generation = g->number;
		msg.index = (uint32_t)s->index;
		msg.pid = s->pid;
		if (mw_send(m->ctl, &msg, &s->fd, 1) == -1)
			goto fail;
		close(s->fd);
		s->fd = -1;
		s->handed = true;
		s->gen = NULL;
	}
	m->pending_sent = true;
	return;
fail:
	log_warn("event=front_lost error=send");
	master_stop(m, 1);
}

static void
gen_ready_check(struct master *m, struct mgen *g)
{
	if (g->n_ready < g->n)
		return;
	for (size_t i = 0; i < g->n; i++) {
		/* The front reads them from now on. */
		event_free(g->members[i]->ev);
		g->members[i]->ev = NULL;
	}
	if (m->state == M_STARTING) {
		gen_send(m, g);
		m->state = M_FRONT_STARTING;
	} else if (m->state == M_RUNNING) {
		gen_send(m, g);
	}
}

/* A restarted signer is ready: its socket goes to the front. */
static void
restart_ready(struct master *m, struct msigner *s)
{
	struct mw_msg	 msg;

	event_free(s->ev);
	s->ev = NULL;
	mw_init(&msg, MW_SIGNER_STARTED);
	msg.generation = s->gen_number;
	msg.index = (uint32_t)s->index;
	msg.seq = s->seq;
	msg.pid = s->pid;
	if (mw_send(m->ctl, &msg, &s->fd, 1) == -1) {
		signer_stop(s, false);
		return;
	}
	close(s->fd);
	s->fd = -1;
	s->handed = true;
	s->gen = NULL;
}

static void
restart_failed(struct master *m, struct msigner *s, const char *why)
{
	struct mw_msg	 msg;

	mw_init(&msg, MW_SIGNER_FAILED);
	msg.generation = s->gen_number;
	msg.index = (uint32_t)s->index;
	msg.seq = s->seq;
	snprintf(msg.text, sizeof(msg.text), "%s", why);
	(void)mw_send(m->ctl, &msg, NULL, 0);
	signer_stop(s, false);
}

/*
 * A signer's reasons for failing, a line each (several tenants' keys may
 * be wrong at once): one reason goes into why as it is; several are
 * logged a line each, at error level like the master's own, and why
 * counts them.  Never a secret: a signer's reasons are written for logs.
 */
static void
signer_failure(int index, char *text, char *why, size_t whylen)
{
	char	*line, *next;
	int	 lines = 0;

	for (char *p = text; *p != '\0'; p++) {
		if (*p == '\n')
			lines++;
		else if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	if (lines == 0) {
		snprintf(why, whylen, "signer %d: %s", index, text);
		return;
	}
	for (line = text; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		log_errorx("event=config signer=%d %s", index, line);
	}
	snprintf(why, whylen, "signer %d: %d problems loading the keys, logged above",
	    index, lines + 1);
}

/* A starting signer's first packet: READY, or FAILED with the reason. */
static void
signer_readable(evutil_socket_t fd, short what, void *arg)
{
	struct msigner			*s = arg;
	struct master			*m = the_master;
	struct signer_wire_reply	 hdr;
	/* The whole of a failing signer's reasons: the rest of a packet
	 * would be dropped. */
	unsigned char			 buf[sizeof(hdr) + SIGNER_FAILURE_MAX + 1];
	char				 why[SIGNER_FAILURE_MAX + 64];
	ssize_t				 n;

	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n >= (ssize_t)sizeof(hdr)) {
		memcpy(&hdr, buf, sizeof(hdr));
		if (hdr.magic == SIGNER_WIRE_MAGIC && hdr.status == SIGNER_WIRE_READY &&
		    (size_t)n == sizeof(hdr)) {
			if (s->seq != 0) {
				restart_ready(m, s);
			} else if (s->gen != NULL) {
				s->gen->n_ready++;
				event_del(s->ev);
				gen_ready_check(m, s->gen);
			}
			return;
		}
		buf[n] = '\0';
		signer_failure(s->index, (char *)buf + sizeof(hdr), why, sizeof(why));
	} else {
		snprintf(why, sizeof(why), "signer %d exited while starting", s->index);
	}
	if (s->seq != 0)
		restart_failed(m, s, why);
	else if (s->gen != NULL)
		gen_failed(m, s->gen, why);
	else
		signer_stop(s, false);
}

/* ---- the negotiator ---- */

/* Its configuration from the generation's load: the keytab's bytes as
 * recorded, the service principal, the state directory. */
static int
negotiator_memfd(const struct broker_config *conf, char *errbuf, size_t errlen)
{
	struct neg_config	 nc;
	size_t			 len = sizeof(nc) + conf->krb5_keytab_len;
	char			*buf;
	int			 fd;

	if (conf->krb5_keytab_bytes == NULL) {
		snprintf(errbuf, errlen, "krb5_keytab was not read");
		return -1;
	}
	memset(&nc, 0, sizeof(nc));
	nc.magic = NEG_CONFIG_MAGIC;
	nc.keytab_len = (uint32_t)conf->krb5_keytab_len;
	snprintf(nc.principal, sizeof(nc.principal), "%s",
	    conf->krb5_principal != NULL ? conf->krb5_principal : "");
	snprintf(nc.state_directory, sizeof(nc.state_directory), "%s",
	    conf->state_directory);
	buf = xmalloc(len);
	memcpy(buf, &nc, sizeof(nc));
	memcpy(buf + sizeof(nc), conf->krb5_keytab_bytes, conf->krb5_keytab_len);
	fd = mw_memfd("samlbroker-negotiator", buf, len, errbuf, errlen);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return fd;
}

/* Its environment: the children's, krb5.conf's location, and what tests
 * name. */
static char **
negotiator_env(void)
{
	extern char	**environ;
	char		**base = child_env(false), **env;
	size_t		  n = 0, max = 2;
	static char	  preload[4096];

	for (char **e = environ; *e != NULL; e++)
		max++;
	while (base[n] != NULL)
		n++;
	env = xcalloc(n + max, sizeof(*env));
	memcpy(env, base, n * sizeof(*env));
	free(base);
	for (char **e = environ; *e != NULL; e++) {
		bool want = strncmp(*e, "KRB5_CONFIG=", 12) == 0 ||
		    strncmp(*e, "KRB5_TRACE=", 11) == 0;

		for (size_t i = 0; !want && master_negotiator_env != NULL &&
		    master_negotiator_env[i] != NULL; i++) {
			size_t len = strlen(master_negotiator_env[i]);

			want = strncmp(*e, master_negotiator_env[i], len) == 0 &&
			    (*e)[len] == '=';
		}
		if (want)
			env[n++] = *e;
	}
	if (master_negotiator_preload != NULL) {
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s",
		    master_negotiator_preload);
		env[n++] = preload;
	}
	env[n] = NULL;
	return env;
}

/* Starts the current generation's negotiator and hands its socket to the
 * front; on failure another try follows (tick). */
static void
negotiator_start(struct master *m)
{
	char		 cfd[16], err[256];
	char		*argv[] = { (char *)"samlbroker: negotiator", (char *)"negotiator",
	    (char *)"--fd", (char *)"3", (char *)"--config-fd", cfd, NULL };
	char		**env;
	struct mw_msg	 msg;
	pid_t		 pid;
	int		 fd;

	m->neg_restart_at = 0;
	if (m->cur != NULL && m->cur->neg_fd == -1 && m->neg_pid > 0) {
		/* A generation without negotiate: the old keytab goes with
		 * its negotiator (not restarted: its exit is not reaped as
		 * the negotiator's). */
		kill(m->neg_pid, SIGTERM);
		log_info("event=negotiator_stopped pid=%ld", (long)m->neg_pid);
		m->neg_pid = 0;
	}
	if (m->cur == NULL || m->cur->neg_fd == -1 || (m->state != M_RUNNING &&
	    m->state != M_FRONT_STARTING))
		return;
	snprintf(cfd, sizeof(cfd), "%d", NEG_WIRE_FD + 1);
	env = negotiator_env();
	pid = child_spawn(m->self_exe, argv, m->cur->neg_fd, env, &fd, err, sizeof(err));
	free(env);
	if (pid == -1) {
		log_errorx("event=negotiator_failed error=\"%s\"", err);
		m->neg_restart_at = mono() + 1.0;
		return;
	}
	if (m->neg_pid > 0)
		kill(m->neg_pid, SIGTERM);	/* the old generation's */
	m->neg_pid = pid;
	m->neg_since = mono();
	mw_init(&msg, MW_NEGOTIATOR);
	msg.generation = m->cur->number;
	msg.pid = pid;
	if (mw_send(m->ctl, &msg, &fd, 1) == -1)
		log_warn("event=negotiator_failed error=send");
	close(fd);
	log_info("event=negotiator_started pid=%ld generation=%llu", (long)pid,
	    (unsigned long long)m->cur->number);
}

/* ---- generations ---- */

/* The shared cache's key of every tenant (derived while loading, from
 * the key file and password the master reads for the signers), for the
 * front, which holds neither: a memfd of "TENANT HEX" lines, or -1. */
static int
keys_memfd(const struct broker_config *conf, char *errbuf, size_t errlen)
{
	static const char	 hexd[] = "0123456789abcdef";
	struct secret_buf	 b = { NULL, 0, 0 };
	char			 line[NAME_MAX_LEN + 67];
	int			 fd;

	for (size_t i = 0; i < conf->n_tenants; i++) {
		const struct tenant	*t = conf->tenants[i];
		size_t			 n = strlen(t->name);

		if (!t->has_redis_key || n + 67 > sizeof(line))
			continue;
		memcpy(line, t->name, n);
		line[n++] = ' ';
		for (size_t k = 0; k < sizeof(t->redis_key); k++) {
			line[n++] = hexd[t->redis_key[k] >> 4];
			line[n++] = hexd[t->redis_key[k] & 15];
		}
		line[n++] = '\n';
		secret_buf_add(&b, line, n, SIZE_MAX);
		OPENSSL_cleanse(line, sizeof(line));
	}
	fd = mw_memfd("samlbroker-cache-keys", b.data != NULL ? b.data : "", b.len,
	    errbuf, errlen);
	secret_buf_clear(&b);
	return fd;
}

/* Loads the configuration, recording it; NULL with the problems logged
 * and the first in errbuf. */
static struct mgen *
gen_load(struct master *m, struct broker_config **ret_conf, char *errbuf, size_t errlen)
{
	struct mgen		*g;
	struct broker_config	*conf;
	struct config_snapshot	*snap = NULL;
	struct diag		 d;
	char			*buf = NULL;
	size_t			 len = 0;

	diag_init(&d);
	conf = config_load_recorded(m->config_path, &d, CONFIG_WARN_OPEN |
	    CONFIG_NO_PRIVATE_KEYS, &snap);
	/* One line per problem, at its own level: an error stops a start or
	 * a reload, a warning does not. */
	for (size_t i = 0; i < d.n_lines; i++) {
		if (d.warning[i])
			log_warnx("event=config %s", d.lines[i]);
		else
			log_errorx("event=config %s", d.lines[i]);
	}
	if (conf == NULL) {
		snprintf(errbuf, errlen, "%s", d.n_lines > 0 ? d.lines[0] :
		    "configuration invalid");
		diag_clear(&d);
		return NULL;
	}
	diag_clear(&d);
	g = xcalloc(1, sizeof(*g));
	g->number = ++m->next_gen;
	g->snap = snap;
	g->full_fd = g->front_fd = g->keys_fd = g->neg_fd = -1;
	if (snapshot_encode(snap, SNAPSHOT_FULL, &buf, &len) == -1) {
		snprintf(errbuf, errlen, "cannot encode the snapshot");
		goto fail;
	}
	g->full_fd = mw_memfd("samlbroker-snapshot", buf, len, errbuf, errlen);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (g->full_fd == -1)
		goto fail;
	if (snapshot_encode(snap, SNAPSHOT_FRONT, &buf, &len) == -1) {
		snprintf(errbuf, errlen, "cannot encode the front's snapshot");
		goto fail;
	}
	g->front_fd = mw_memfd("samlbroker-front-snapshot", buf, len, errbuf, errlen);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (g->front_fd == -1)
		goto fail;
	if (conf->redis != NULL && (g->keys_fd = keys_memfd(conf, errbuf,
	    errlen)) == -1)
		goto fail;
	if ((conf->https_auth_methods & HTTPS_AUTH_NEGOTIATE) &&
	    (g->neg_fd = negotiator_memfd(conf, errbuf, errlen)) == -1) {
		log_errorx("event=config error=\"negotiator: %s\"", errbuf);
		goto fail;
	}
	g->signers = conf->signers > 0 ? conf->signers :
	    signers_default(sysconf(_SC_NPROCESSORS_ONLN));
	if (g->signers > MAX_SIGNERS) {
		snprintf(errbuf, errlen, "at most %d signers", MAX_SIGNERS);
		goto fail;
	}
	g->cache = mcache_new(conf);
	*ret_conf = conf;
	return g;
fail:
	config_free(conf);
	gen_free(g);
	return NULL;
}

/* Starts g's n signers; their READY comes through signer_readable. */
static int
gen_start(struct master *m, struct mgen *g, size_t n, char *errbuf, size_t errlen)
{
	g->n = n;
	g->members = xcalloc(n, sizeof(*g->members));
	for (size_t i = 0; i < n; i++)
		if ((g->members[i] = signer_start(m, g, (int)i + 1, 0, errbuf,
		    errlen)) == NULL)
			return -1;
	return 0;
}

/* A generation's start failed: its signers go; at start the master
 * gives up, on reload the old generation stays. */
static void
gen_failed(struct master *m, struct mgen *g, const char *why)
{
	struct mw_msg	 msg;

	for (size_t i = 0; i < g->n; i++)
		if (g->members[i] != NULL && g->members[i]->gen == g)
			signer_stop(g->members[i], false);
	if (m->pending == g)
		m->pending = NULL;
	gen_free(g);
	if (m->state == M_STARTING) {
		log_errorx("event=startup_failed reason=signers error=\"%s\"", why);
		master_stop(m, 1);
		return;
	}
	log_errorx("event=reload_failed error=\"%s\" keeping=old", why);
	mw_init(&msg, MW_RELOAD_FAILED);
	snprintf(msg.text, sizeof(msg.text), "%s", why);
	(void)mw_send(m->ctl, &msg, NULL, 0);
	notify("READY=1");
}

static void
reload(struct master *m)
{
	struct broker_config	*conf = NULL;
	struct mgen		*g;
	struct mw_msg		 msg;
	char			 err[512];

	if (m->state != M_RUNNING)
		return;
	if (m->pending != NULL) {	/* one at a time; the last wins */
		m->reload_again = true;
		return;
	}
	notify("RELOADING=1");
	log_info("event=reload_start config=%s", m->config_path);
	if ((g = gen_load(m, &conf, err, sizeof(err))) == NULL) {
		log_errorx("event=reload_failed reason=configuration keeping=old");
		mw_init(&msg, MW_RELOAD_FAILED);
		snprintf(msg.text, sizeof(msg.text), "%s", err);
		(void)mw_send(m->ctl, &msg, NULL, 0);
		notify("READY=1");
		return;
	}
	/* The number of signers takes effect on restart. */
	config_free(conf);
	m->pending = g;
	m->pending_sent = false;
	if (gen_start(m, g, m->signers_wanted, err, sizeof(err)) == -1)
		gen_failed(m, g, err);
}

/* ---- the front ---- */

static int
front_start(struct master *m)
{
	char		*argv[] = { (char *)"samlbroker: front", NULL };
	char		**env;
	int		 ctl[2], qry[2];
	pid_t		 pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, qry) == -1) {
		log_error("event=startup_failed reason=socketpair");
		return -1;
	}
	env = child_env(master_front_env_all);
	if ((pid = fork()) == -1) {
		log_error("event=startup_failed reason=fork");
		free(env);
		return -1;
	}
	if (pid == 0) {
		/* Nothing but stdio and the two channels; signals as new. */
		sigset_t none;

		if (dup2(ctl[1], MW_CONTROL_FD) == -1 || dup2(qry[1], MW_QUERY_FD) == -1)
			_exit(127);
		if (close_range(MW_QUERY_FD + 1, ~0U, 0) == -1)
			_exit(127);
		signal(SIGHUP, SIG_IGN);	/* reloads are the master's */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
		execve(m->front_exe, argv, env);
		_exit(127);
	}
	free(env);
	close(ctl[1]);
	close(qry[1]);
	m->ctl = ctl[0];
	m->qry = qry[0];
	m->front_pid = pid;
	m->front_since = mono();
	evutil_make_socket_nonblocking(m->ctl);
	evutil_make_socket_nonblocking(m->qry);
	return 0;
}

static int
front_send_listeners(struct master *m)
{
	struct mw_msg	 msg;

	for (size_t i = 0; i < m->n_listeners; i++) {
		struct master_listener *l = &m->listeners[i];

		mw_init(&msg, MW_LISTENER);
		msg.flags = (l->admin ? MWF_ADMIN : 0) | (l->inherited ? MWF_INHERITED : 0);
		snprintf(msg.text, sizeof(msg.text), "%s", l->text);
		snprintf(msg.path, sizeof(msg.path), "%s", l->path);
		if (mw_send(m->ctl, &msg, &l->fd, 1) == -1)
			return -1;
		/* The front holds it now; we keep only what to unlink. */
		close(l->fd);
		l->fd = -1;
	}
	return 0;
}

/* The front's answer about a generation we sent. */
static void
gen_taken(struct master *m, const struct mw_msg *msg)
{
	struct mgen	*g = m->pending;

	if (g == NULL || !m->pending_sent || msg->generation != g->number) {
		log_warnx("event=front_protocol error=\"an answer to no generation\"");
		return;
	}
	m->pending = NULL;
	if (!(msg->flags & MWF_OK)) {
		/* The front closed the sockets: those signers exit on EOF. */
		gen_free(g);
		notify("READY=1");
	} else {
		/* The files of tenants the new generation lost go. */
		if (m->cur != NULL)
			mcache_prune(m->cur->cache, g->cache);
		gen_free(m->cur);
		m->cur = g;
		negotiator_start(m);	/* the new keytab: rotation */
		if (m->state == M_FRONT_STARTING)
			return;	/* READY comes with MW_FRONT_READY */
		notify("READY=1");
	}
	if (m->reload_again) {
		m->reload_again = false;
		reload(m);
	}
}

static void
signer_start_req(struct master *m, const struct mw_msg *msg)
{
	struct msigner	*s;
	char		 err[256];

	if (m->cur == NULL || msg->generation != m->cur->number || msg->index < 1 ||
	    msg->index > m->cur->n || msg->seq == 0) {
		struct mw_msg r;

		mw_init(&r, MW_SIGNER_FAILED);
		r.generation = msg->generation;
		r.index = msg->index;
		r.seq = msg->seq;
		snprintf(r.text, sizeof(r.text), "not a signer of the current generation");
		(void)mw_send(m->ctl, &r, NULL, 0);
		return;
	}
	/* From the generation's snapshot, never the files as they are now. */
	if ((s = signer_start(m, m->cur, (int)msg->index, msg->seq, err,
	    sizeof(err))) == NULL) {
		struct mw_msg r;

		mw_init(&r, MW_SIGNER_FAILED);
		r.generation = msg->generation;
		r.index = msg->index;
		r.seq = msg->seq;
		snprintf(r.text, sizeof(r.text), "%s", err);
		(void)mw_send(m->ctl, &r, NULL, 0);
		return;
	}
	s->gen = NULL;	/* not a member of a starting generation */
}

static void
signer_stop_req(struct master *m, const struct mw_msg *msg)
{
	struct msigner	*s = signer_find(m, (pid_t)msg->pid);

	/* Only a signer the front holds; never any other process. */
	if (msg->pid <= 0 || s == NULL || !s->handed) {
		log_warnx("event=front_protocol error=\"stop of an unknown signer\" pid=%lld",
		    (long long)msg->pid);
		return;
	}
	signer_stop(s, (msg->flags & MWF_GRACEFUL) != 0);
}

/* The front's batch of tokens to keep: sealed and written now, by this
 * loop (the front's never waits for it); -1 when malformed. */
static int
cache_save(struct master *m, int fd)
{
	char	 err[256], *buf;
	size_t	 len;
	int	 rc = 0;

	if (m->cur == NULL)
		return 0;
	if (mw_memfd_read(fd, mcache_batch_max(), &buf, &len, err, sizeof(err)) == -1) {
		log_warnx("event=cache_save_failed error=\"%s\"", err);
		return 0;
	}
	rc = mcache_save(m->cur->cache, buf, len);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

static void
ctl_readable(evutil_socket_t fd, short what, void *arg)
{
	struct master	*m = arg;
	struct mw_msg	 msg;
	int		 fds[MW_MAX_FDS], rc;

	while ((rc = mw_recv(fd, &msg, fds)) == 1) {
		if (msg.type == MW_CACHE_SAVE && msg.n_fds == 1 && fds[1] == -1 &&
		    m->state != M_STARTING && m->state != M_FRONT_STARTING) {
			rc = cache_save(m, fds[0]) == -1 ? -2 : 1;
			close(fds[0]);
			if (rc == -2)
				break;
			continue;
		}
		for (size_t i = 0; i < MW_MAX_FDS; i++)	/* the front sends none */
			if (fds[i] != -1) {
				close(fds[i]);
				rc = -2;
			}
		if (rc == -2)
			break;
		switch (msg.type) {
		case MW_FRONT_READY:
			if (m->state != M_FRONT_STARTING) {
				rc = -2;
				break;
			}
			m->state = M_RUNNING;
			log_info("event=ready version=%s front_pid=%ld generation=%llu "
			    "startup_seconds=%.3f", PACKAGE_VERSION, (long)m->front_pid,
			    (unsigned long long)msg.generation, mono() - m->started);
			notify("READY=1");
			break;
		case MW_GEN_TAKEN:
			gen_taken(m, &msg);
			break;
		case MW_SIGNER_START:
			if (m->state != M_RUNNING) {
				rc = -2;
				break;
			}
			signer_start_req(m, &msg);
			break;
		case MW_SIGNER_STOP:
			signer_stop_req(m, &msg);
			break;
		default:
			rc = -2;
			break;
		}
		if (rc == -2)
			break;
	}
	if (rc == -2) {
		/* A front that breaks the protocol is not trusted further. */
		log_warnx("event=front_protocol error=\"malformed or unexpected message\"");
		master_stop(m, 1);
	} else if (rc == 0) {
		event_del(m->ev_ctl);	/* EOF: SIGCHLD tells the rest */
	}
}

/* The front's one question: the login name of a uid (NSS). */
static void
qry_readable(evutil_socket_t fd, short what, void *arg)
{
	struct master	*m = arg;
	struct mw_msg	 msg, ans;
	struct passwd	 pw, *res = NULL;
	char		 buf[4096];
	int		 fds[MW_MAX_FDS], rc;

	while ((rc = mw_recv(fd, &msg, fds)) == 1) {
		if (msg.type != MW_LOGIN_QUERY || msg.n_fds != 0 || m->state != M_RUNNING) {
			for (size_t i = 0; i < MW_MAX_FDS; i++)
				if (fds[i] != -1)
					close(fds[i]);
			rc = -2;
			break;
		}
		mw_init(&ans, MW_LOGIN_ANSWER);
		ans.uid = msg.uid;
		ans.seq = msg.seq;
		if (getpwuid_r((uid_t)msg.uid, &pw, buf, sizeof(buf), &res) == 0 &&
		    res != NULL && strlen(res->pw_name) < 64) {
			snprintf(ans.text, sizeof(ans.text), "%s", res->pw_name);
			ans.flags = MWF_OK;
		}
		if (mw_send(fd, &ans, NULL, 0) == -1)
			break;
	}
	if (rc == -2) {
		log_warnx("event=front_protocol error=\"unexpected query\"");
		master_stop(m, 1);
	} else if (rc == 0) {
		event_del(m->ev_qry);
	}
}

/* ---- life ---- */

static bool
all_gone(const struct master *m)
{
	return m->front_pid <= 0 && m->n_signers == 0;
}

/* Stops the front (SIGTERM) and, once it is gone, every signer. */
static void
master_stop(struct master *m, int code)
{
	if (m->state == M_STOPPING || m->state == M_FAILED) {
		if (code > m->exit_code)
			m->exit_code = code;
		return;
	}
	m->exit_code = code;
	m->state = code == 0 ? M_STOPPING : M_FAILED;
	notify("STOPPING=1");
	if (m->front_pid > 0) {
		kill(m->front_pid, SIGTERM);
		m->front_since = mono();
	}
	if (m->pending != NULL && !m->pending_sent) {
		for (size_t i = 0; i < m->pending->n; i++)
			if (m->pending->members[i] != NULL &&
			    m->pending->members[i]->gen == m->pending)
				m->pending->members[i]->gen = NULL;
	}
	/* Signers still starting are ours to stop now; the front's go when
	 * it closes their sockets (EOF). */
	for (size_t i = 0; i < m->n_signers; i++)
		if (!m->signers[i]->handed || m->front_pid <= 0)
			signer_stop(m->signers[i], true);
	if (all_gone(m))
		event_base_loopexit(m->base, NULL);
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct master	*m = arg;

	if (m->state == M_STOPPING || m->state == M_FAILED)
		return;
	log_info("event=shutdown signal=%s", sig == SIGTERM ? "TERM" : "INT");
	master_stop(m, 0);
}

static void
hup_cb(evutil_socket_t sig, short what, void *arg)
{
	reload(arg);
}

static void
chld_cb(evutil_socket_t sig, short what, void *arg)
{
	struct master	*m = arg;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct msigner	*s;

		if (pid == m->front_pid) {
			/* What it said last (its tokens at exit) first. */
			if (m->ev_ctl != NULL && m->ctl != -1)
				ctl_readable(m->ctl, EV_READ, m);
			m->front_pid = 0;
			if (m->state != M_STOPPING || !(WIFEXITED(status) &&
			    WEXITSTATUS(status) == 0)) {
				log_warnx("event=front_exited %s=%d", WIFEXITED(status) ?
				    "status" : "signal", WIFEXITED(status) ?
				    WEXITSTATUS(status) : WTERMSIG(status));
				master_stop(m, 1);
			}
			/* Its signers got EOF; stragglers are stopped. */
			for (size_t i = 0; i < m->n_signers; i++)
				signer_stop(m->signers[i], true);
			continue;
		}
		if (pid == m->neg_pid) {
			double lived = mono() - m->neg_since;

			m->neg_pid = 0;
			if (m->state == M_STOPPING || m->state == M_FAILED)
				continue;
			log_warnx("event=negotiator_exited %s=%d", WIFEXITED(status) ?
			    "status" : "signal", WIFEXITED(status) ?
			    WEXITSTATUS(status) : WTERMSIG(status));
			/* Started again, after a pause that grows while it
			 * keeps dying at once. */
			m->neg_backoff = lived > 10.0 ? 0.1 : m->neg_backoff < 0.1 ?
			    0.1 : m->neg_backoff * 2 > 5.0 ? 5.0 : m->neg_backoff * 2;
			m->neg_restart_at = mono() + m->neg_backoff;
			continue;
		}
		if ((s = signer_find(m, pid)) == NULL)
			continue;
		if (s->stopping && s->graceful &&
		    !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
			log_warnx("signer pid=%ld did not stop cleanly (%s %d)", (long)pid,
			    WIFEXITED(status) ? "status" : "signal",
			    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		else if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL &&
		    WTERMSIG(status) != SIGTERM)
			log_warnx("signer pid=%ld was killed by signal %d%s", (long)pid,
			    WTERMSIG(status), WTERMSIG(status) == SIGSYS ?
			    " (a system call its seccomp filter forbids)" : "");
		if (s->fd != -1 && s->gen != NULL) {
			/* Died while starting: its EOF says so first. */
			signer_readable(s->fd, EV_READ, s);
		} else if (s->fd != -1 && s->seq != 0 && !s->handed) {
			restart_failed(m, s, "exited while starting");
		}
		signer_forget(m, s);
	}
	if ((m->state == M_STOPPING || m->state == M_FAILED) && all_gone(m))
		event_base_loopexit(m->base, NULL);
}

/* Every TICK: start timeouts and stopping signers' escalation. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct master	*m = arg;
	double		 now = mono();

	if (m->neg_restart_at > 0 && now >= m->neg_restart_at)
		negotiator_start(m);
	for (size_t i = 0; i < m->n_signers; i++) {
		struct msigner *s = m->signers[i];

		if (s->stopping) {
			if (s->signals == 0 && now - s->since > STOP_GRACE) {
				kill(s->pid, SIGTERM);
				s->signals = 1;
				s->since = now;
			} else if (s->signals == 1 && now - s->since > STOP_GRACE) {
				kill(s->pid, SIGKILL);
				s->signals = 2;
			}
		} else if (s->fd != -1 && now - s->since > START_TIMEOUT) {
			char why[128];

			snprintf(why, sizeof(why), "signer %d did not start within %.0f s",
			    s->index, START_TIMEOUT);
			if (s->seq != 0)
				restart_failed(m, s, why);
			else if (s->gen != NULL)
				gen_failed(m, s->gen, why);
		}
	}
	if (m->front_pid > 0) {
		if (m->state == M_FRONT_STARTING && now - m->front_since > FRONT_START_TIMEOUT) {
			log_errorx("event=startup_failed reason=front error=\"not ready "
			    "within %.0f s\"", FRONT_START_TIMEOUT);
			master_stop(m, 1);
		} else if ((m->state == M_STOPPING || m->state == M_FAILED) &&
		    now - m->front_since > FRONT_STOP_TIMEOUT) {
			kill(m->front_pid, SIGKILL);
		}
	}
}

/* The CA bundle the front verifies PureCloud with: ca_file's bytes as the
 * configuration read and checked them, else the system's bundle.  -1 when
 * neither is there (the front then uses libcurl's default, which it
 * cannot open: every TLS exchange fails, loudly). */
static int
ca_load(const struct broker_config *conf)
{
	const char	*path = conf->ca_file;
	char		*buf = NULL, err[256];
	size_t		 len = conf->ca_pem_len;
	int		 fd;

	if (conf->ca_pem == NULL) {
		path = DEFAULT_CA_BUNDLE;
		if (read_file_limited(path, CA_MAX, &buf, &len) == -1) {
			log_warn("event=ca_bundle path=%s", path);
			return -1;
		}
	}
	fd = mw_memfd("samlbroker-ca", buf != NULL ? buf : conf->ca_pem, len, err,
	    sizeof(err));
	free(buf);
	if (fd == -1)
		log_warnx("event=ca_bundle error=\"%s\"", err);
	else
		log_debug("event=ca_bundle path=%s bytes=%zu", path, len);
	return fd;
}

static void
title_set(int argc, char **argv)
{
	static const char	 title[] = "samlbroker: master";
	char			*start, *end;
	size_t			 room;

	(void)prctl(PR_SET_NAME, "sb-master", 0, 0, 0);
	/* argv is main's argv + 1: argv[-1] is the program's own argv[0]. */
	if (argc < 1 || argv == NULL || argv[0] == NULL)
		return;
	start = argv[-1];
	end = argv[argc - 1] + strlen(argv[argc - 1]);
	room = (size_t)(end - start);
	if (room < sizeof(title) - 1)
		return;
	memset(start, 0, room + 1);
	memcpy(start, title, sizeof(title) - 1);
}

/* Signals and the tick, on a new base. */
static void
events_add(struct master *m)
{
	struct timeval		 tv = { 0, (suseconds_t)(TICK_SEC * 1e6) };

	if ((m->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	m->sig_term = evsignal_new(m->base, SIGTERM, stop_cb, m);
	m->sig_int = evsignal_new(m->base, SIGINT, stop_cb, m);
	m->sig_hup = evsignal_new(m->base, SIGHUP, hup_cb, m);
	m->sig_chld = evsignal_new(m->base, SIGCHLD, chld_cb, m);
	m->ev_tick = event_new(m->base, -1, EV_PERSIST, tick_cb, m);
	if (m->sig_term == NULL || m->sig_int == NULL || m->sig_hup == NULL ||
	    m->sig_chld == NULL || m->ev_tick == NULL)
		fatalx("event_new");
	evsignal_add(m->sig_term, NULL);
	evsignal_add(m->sig_int, NULL);
	evsignal_add(m->sig_hup, NULL);
	evsignal_add(m->sig_chld, NULL);
	event_add(m->ev_tick, &tv);
}

/* Our socket files go; everything else is let go of. */
static void
master_free(struct master *m)
{
	master_listeners_close(m->listeners, m->n_listeners, true);
	for (size_t i = m->n_signers; i > 0; i--)
		signer_forget(m, m->signers[i - 1]);
	free(m->signers);
	gen_free(m->cur);
	gen_free(m->pending);
	if (m->ca_fd != -1)
		close(m->ca_fd);
	if (m->cache_fd != -1)
		close(m->cache_fd);
	if (m->ctl != -1)
		close(m->ctl);
	if (m->qry != -1)
		close(m->qry);
	if (m->ev_ctl)
		event_free(m->ev_ctl);
	if (m->ev_qry)
		event_free(m->ev_qry);
	if (m->base) {
		event_free(m->sig_term);
		event_free(m->sig_int);
		event_free(m->sig_hup);
		event_free(m->sig_chld);
		event_free(m->ev_tick);
		event_base_free(m->base);
	}
	free(m->self_exe);
	free(m->front_exe);
	free(m->config_path);
}

/*
 * serve as root with [broker] user set: once the listeners are open and
 * before the front (the one process that reads callers' bytes) starts,
 * the master becomes that user (its groups, gid, uid) and checks that it
 * cannot become root again; the front and the signers inherit it.  Our
 * socket files are given to the user first, so that socket_mode's group
 * is the user's and the master can remove them at the end.
 */
static int
privileges_drop(struct master *m, const struct broker_config *conf)
{
	for (size_t i = 0; i < m->n_listeners; i++) {
		struct master_listener *l = &m->listeners[i];

		if (l->ino != 0 && l->path[0] != '\0' &&
		    chown(l->path, conf->user_uid, conf->user_gid) == -1) {
			log_error("event=startup_failed reason=chown socket=%s", l->path);
			return -1;
		}
	}
	if (initgroups(conf->user, conf->user_gid) == -1 ||
	    setresgid(conf->user_gid, conf->user_gid, conf->user_gid) == -1 ||
	    setresuid(conf->user_uid, conf->user_uid, conf->user_uid) == -1) {
		log_error("event=startup_failed reason=drop_privileges user=%s",
		    conf->user);
		return -1;
	}
	if (conf->user_uid != 0 && (setuid(0) != -1 || geteuid() == 0)) {
		log_errorx("event=startup_failed reason=drop_privileges user=%s "
		    "detail=\"could become root again\"", conf->user);
		return -1;
	}
	log_info("event=privileges_dropped user=%s uid=%u gid=%u", conf->user,
	    (unsigned)conf->user_uid, (unsigned)conf->user_gid);
	return 0;
}

int
master_run(const char *config_path, int argc, char **argv)
{
	struct master		 m;
	struct broker_config	*conf = NULL;
	struct mgen		*g;
	char			 err[512];

	memset(&m, 0, sizeof(m));
	m.ctl = m.qry = m.ca_fd = m.cache_fd = -1;
	m.started = mono();
	m.config_path = xstrdup(config_path);
	the_master = &m;
	signal(SIGPIPE, SIG_IGN);
	if ((g = gen_load(&m, &conf, err, sizeof(err))) == NULL) {
		log_errorx("event=startup_failed reason=configuration error=\"%s\"", err);
		free(m.config_path);
		return 1;
	}
	log_set_level(conf->log_level);
	if (conf->user_known && geteuid() != 0 && geteuid() != conf->user_uid) {
		/* The files were judged for another user than the one reading them. */
		log_errorx("event=startup_failed reason=user detail=\"serve runs as "
		    "uid %u, but [broker] user is %s (uid %u): start it as %s, or "
		    "as root (it then drops to %s)\"", (unsigned)geteuid(),
		    conf->user, (unsigned)conf->user_uid, conf->user, conf->user);
		config_free(conf);
		gen_free(g);
		free(m.config_path);
		return 1;
	}
	m.signers_wanted = g->signers;
	m.self_exe = self_exe();
	m.front_exe = front_exe();
	m.ca_fd = ca_load(conf);
	events_add(&m);
	title_set(argc, argv);
	if (master_listeners_open(conf, &m.listeners, &m.n_listeners) == -1) {
		log_errorx("event=startup_failed reason=listen");
		config_free(conf);
		gen_free(g);
		m.exit_code = 1;
		goto done;
	}
	if (conf->user_known && geteuid() == 0 && privileges_drop(&m, conf) == -1) {
		config_free(conf);
		gen_free(g);
		m.exit_code = 1;
		goto done;
	}
	config_free(conf);
	/* The cached tokens, read as the service user, before anyone is served. */
	m.cache_fd = mcache_load(g->cache);
	/* The front starts at once and waits for its first generation. */
	if (front_start(&m) == -1 || front_send_listeners(&m) == -1) {
		gen_free(g);
		m.exit_code = 1;
		master_stop(&m, 1);
		goto loop;
	}
	m.state = M_STARTING;
	m.ev_ctl = event_new(m.base, m.ctl, EV_READ | EV_PERSIST, ctl_readable, &m);
	m.ev_qry = event_new(m.base, m.qry, EV_READ | EV_PERSIST, qry_readable, &m);
	event_add(m.ev_ctl, NULL);
	event_add(m.ev_qry, NULL);
	m.pending = g;
	if (gen_start(&m, g, g->signers, err, sizeof(err)) == -1)
		gen_failed(&m, g, err);
loop:
	/* Until stopped and every child is gone. */
	if ((m.state != M_STOPPING && m.state != M_FAILED) || !all_gone(&m))
		event_base_dispatch(m.base);
	if (m.exit_code == 0)
		log_info("event=stopped");
done:
	master_free(&m);
	return m.exit_code;
}
