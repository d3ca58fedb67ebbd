/* SPDX-License-Identifier: Apache-2.0 */
/*
 * front_control.c - the front's side of its two channels to the master
 * (master_wire.h): at start, the listeners and the first generation (its
 * configuration from the snapshot without secrets, the CA bundle, the
 * ready signers' sockets), from which it builds the server; then, on the
 * loop, each new generation (taken whole or refused whole), a reload the
 * master could not do, and restarted signers; the signer pool's requests
 * to start and stop processes (the front cannot start one); and the one
 * synchronous question, a uid's login name; and the persistent cache's
 * tokens (read back at start, handed over as they change).  If the master
 * goes, the front stops.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "server.h"
#include "cache_seal.h"
#include "master_wire.h"
#include "signer.h"

#define SNAPSHOT_MAX		(64 * 1024 * 1024)
#define CA_MAX			(16 * 1024 * 1024)
#define START_WAIT_MS		(120 * 1000)	/* the master's first generation */
#define LOGIN_WAIT_MS		2000
/* A batch of cached tokens either way: the most the master reads. */
#define PERSIST_BATCH_MAX	(256 * 1024 * 1024)
#define PERSIST_EVERY_SEC	1

struct front_control {
	struct server		*srv;
	int			 ctl, qry;
	struct event		*ev;
	struct signer_spawner	 spawner;
	/* a generation being received */
	bool			 gen_open;
	uint64_t		 gen_number;
	size_t			 gen_n, gen_got;
	int			 gen_fds[MAX_SIGNERS];
	pid_t			 gen_pids[MAX_SIGNERS];
	int			 snap_fd, ca_fd, keys_fd;
	int			 cache_fd;	/* MW_CACHE_LOAD's, until loaded */
	struct event		*persist_ev;
	bool			 persist_failed;	/* logged once */
	uint32_t		 login_seq;
	bool			 started;
};

static int
spawner_start(void *arg, uint64_t gen, int index, uint32_t seq, char *errbuf,
    size_t errlen)
{
	struct front_control	*fc = arg;
	struct mw_msg		 m;

	mw_init(&m, MW_SIGNER_START);
	m.generation = gen;
	m.index = (uint32_t)index;
	m.seq = seq;
	if (mw_send(fc->ctl, &m, NULL, 0) == -1) {
		snprintf(errbuf, errlen, "cannot ask the master: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void
spawner_stop(void *arg, pid_t pid, bool graceful)
{
	struct front_control	*fc = arg;
	struct mw_msg		 m;

	mw_init(&m, MW_SIGNER_STOP);
	m.pid = pid;
	m.flags = graceful ? MWF_GRACEFUL : 0;
	(void)mw_send(fc->ctl, &m, NULL, 0);
}

const struct signer_spawner *
front_control_spawner(struct front_control *fc)
{
	return &fc->spawner;
}

static void
gen_reset(struct front_control *fc, bool close_all)
{
	for (size_t i = 0; close_all && i < fc->gen_got; i++)
		close(fc->gen_fds[i]);
	if (fc->snap_fd != -1)
		close(fc->snap_fd);
	if (fc->ca_fd != -1)
		close(fc->ca_fd);
	if (fc->keys_fd != -1)
		close(fc->keys_fd);
	fc->snap_fd = fc->ca_fd = fc->keys_fd = -1;
	fc->gen_open = false;
	fc->gen_n = fc->gen_got = 0;
}

/* The shared cache's keys the master derived: "TENANT HEX" lines, each
 * onto its tenant; 0, or -1 with errbuf. */
static int
keys_take(int fd, struct broker_config *conf, char *errbuf, size_t errlen)
{
	char		*buf, *line, *next, *sp;
	size_t		 len;
	struct tenant	*t;
	int		 rc = 0;

	if (mw_memfd_read(fd, 1024 * 1024, &buf, &len, errbuf, errlen) == -1)
		return -1;
	for (line = buf; rc == 0 && line < buf + len && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) == NULL)
			next = buf + len;
		else
			*next++ = '\0';
		if ((sp = strchr(line, ' ')) == NULL || strlen(sp + 1) != 64) {
			rc = -1;
			break;
		}
		*sp = '\0';
		if ((t = config_tenant_find(conf, line)) == NULL)
			continue;
		for (size_t k = 0; k < sizeof(t->redis_key); k++) {
			unsigned int v;

			if (sscanf(sp + 1 + 2 * k, "%2x", &v) != 1) {
				rc = -1;
				break;
			}
			t->redis_key[k] = (unsigned char)v;
		}
		t->has_redis_key = rc == 0;
	}
	if (rc == -1)
		snprintf(errbuf, errlen, "the shared cache's keys are malformed");
	secret_free(buf);
	return rc;
}

/* The generation's configuration, from the snapshot, without keys. */
static struct broker_config *
gen_config(struct front_control *fc, char *errbuf, size_t errlen)
{
	struct config_snapshot	*snap;
	struct broker_config	*conf;
	struct diag		 d;
	char			*buf;
	size_t			 len;

	if (mw_memfd_read(fc->snap_fd, SNAPSHOT_MAX, &buf, &len, errbuf, errlen) == -1)
		return NULL;
	snap = snapshot_decode(buf, len, errbuf, errlen);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (snap == NULL)
		return NULL;
	diag_init(&d);
	conf = config_load_snapshot(snap, &d, CONFIG_NO_PRIVATE_KEYS);
	snapshot_free(snap);
	if (conf == NULL)
		snprintf(errbuf, errlen, "%s", d.n_lines > 0 ? d.lines[0] :
		    "configuration invalid");
	diag_clear(&d);
	if (conf != NULL && fc->keys_fd != -1 && keys_take(fc->keys_fd, conf,
	    errbuf, errlen) == -1) {
		config_free(conf);
		return NULL;
	}
	return conf;
}

static int
gen_answer(struct front_control *fc, bool ok, const char *why)
{
	struct mw_msg	 m;

	mw_init(&m, MW_GEN_TAKEN);
	m.generation = fc->gen_number;
	if (ok)
		m.flags = MWF_OK;
	else
		snprintf(m.text, sizeof(m.text), "%s", why);
	return mw_send(fc->ctl, &m, NULL, 0);
}

/* The first generation: everything the server needs. */
static int
gen_first(struct front_control *fc, char *errbuf, size_t errlen)
{
	struct server		*srv = fc->srv;
	struct broker_config	*conf;
	struct broker_seams	 seams = { NULL, NULL, NULL, NULL };

	if ((conf = gen_config(fc, errbuf, errlen)) == NULL)
		return -1;
	if (fc->ca_fd != -1) {
		char	*pem;
		size_t	 len;

		if (mw_memfd_read(fc->ca_fd, CA_MAX, &pem, &len, errbuf, errlen) == -1) {
			config_free(conf);
			return -1;
		}
		upstream_ca_bundle_set(pem, len);
	}
	log_set_level(conf->log_level);
	server_nofile_raise(conf->max_connections);
	server_configure(srv, conf);
	if (server_tls_start(srv, conf, errbuf, errlen) == -1) {
		config_free(conf);
		return -1;
	}
	if (server_signers_start(srv, conf, &fc->spawner, fc->gen_number, fc->gen_fds,
	    fc->gen_pids, fc->gen_n) == -1) {
		snprintf(errbuf, errlen, "cannot set up the signer pool");
		config_free(conf);
		return -1;
	}
	fc->gen_got = 0;	/* the pool owns them now */
	seams.minter = &minter_signers_ops;
	seams.minter_impl = srv->minter;
	if ((srv->broker = broker_new_with(srv->base, conf, &seams, errbuf,
	    errlen)) == NULL) {
		config_free(conf);
		return -1;
	}
	return 0;
}

/* A new generation: the broker takes its configuration, then the pool
 * its signers; or neither. */
static void
gen_next(struct front_control *fc)
{
	struct broker_config	*conf;
	char			 err[512];

	if ((conf = gen_config(fc, err, sizeof(err))) == NULL) {
		server_reload_failed(fc->srv, err, true);
		gen_answer(fc, false, err);
		gen_reset(fc, true);
		return;
	}
	if (server_generation_take(fc->srv, conf, err, sizeof(err)) == -1) {
		config_free(conf);
		gen_answer(fc, false, err);
		gen_reset(fc, true);
		return;
	}
	server_signers_adopt(fc->srv, fc->gen_number, fc->gen_fds, fc->gen_pids,
	    fc->gen_n);
	fc->gen_got = 0;
	gen_answer(fc, true, NULL);
	gen_reset(fc, false);
}

/*
 * One message from the master: 1 when a generation is complete, 0 when
 * handled, -1 when it breaks the protocol (its fds are closed).
 */
static int
handle(struct front_control *fc, struct mw_msg *m, int fds[MW_MAX_FDS])
{
	size_t	 want = 0;

	switch (m->type) {
	case MW_LISTENER:
		want = 1;
		if (fc->started || fds[0] == -1 || m->n_fds != 1)
			break;
		if (server_listener_adopt(fc->srv, fds[0], (m->flags & MWF_ADMIN) != 0,
		    (m->flags & MWF_INHERITED) != 0, m->text, m->path) == -1)
			log_warnx("event=listen_failed address=%s", m->text);
		return 0;
	case MW_GENERATION:
		want = 1 + ((m->flags & MWF_CA) ? 1 : 0) + ((m->flags & MWF_KEYS) ? 1 : 0);
		if (fc->gen_open || m->n_fds != want || m->count == 0 ||
		    m->count > MAX_SIGNERS || m->generation == 0)
			break;
		fc->gen_open = true;
		fc->gen_number = m->generation;
		fc->gen_n = m->count;
		fc->gen_got = 0;
		fc->snap_fd = fds[0];
		fc->ca_fd = (m->flags & MWF_CA) ? fds[1] : -1;
		fc->keys_fd = (m->flags & MWF_KEYS) ? fds[want - 1] : -1;
		if (fc->srv->config_path == NULL)
			fc->srv->config_path = xstrdup(m->text);
		return 0;
	case MW_GEN_SIGNER:
		want = 1;
		if (!fc->gen_open || m->n_fds != 1 || m->generation != fc->gen_number ||
		    m->index != fc->gen_got + 1 || m->pid <= 0)
			break;
		fc->gen_fds[fc->gen_got] = fds[0];
		fc->gen_pids[fc->gen_got] = (pid_t)m->pid;
		fc->gen_got++;
		return fc->gen_got == fc->gen_n ? 1 : 0;
	case MW_CACHE_LOAD:
		want = 1;
		if (fc->started || fc->gen_open || fc->cache_fd != -1 || m->n_fds != 1)
			break;
		fc->cache_fd = fds[0];
		return 0;
	case MW_RELOAD_FAILED:
		if (!fc->started || m->n_fds != 0)
			break;
		server_reload_failed(fc->srv, m->text, true);
		return 0;
	case MW_SIGNER_STARTED:
		want = 1;
		if (!fc->started || m->n_fds != 1 || m->pid <= 0 || m->index == 0 ||
		    m->index > MAX_SIGNERS)
			break;
		signer_pool_started(fc->srv->signers, m->generation, (int)m->index,
		    m->seq, (pid_t)m->pid, fds[0]);
		return 0;
	case MW_NEGOTIATOR:
		want = 1;
		if (m->n_fds != 1 || m->pid <= 0 || fc->srv->negotiate == NULL)
			break;
		server_negotiate_adopt(fc->srv->negotiate, fds[0], (pid_t)m->pid);
		return 0;
	case MW_SIGNER_FAILED:
		if (!fc->started || m->n_fds != 0 || m->index == 0 ||
		    m->index > MAX_SIGNERS)
			break;
		signer_pool_start_failed(fc->srv->signers, m->generation, (int)m->index,
		    m->seq, m->text);
		return 0;
	default:
		break;
	}
	(void)want;
	for (size_t i = 0; i < MW_MAX_FDS; i++)
		if (fds[i] != -1)
			close(fds[i]);
	return -1;
}

static void
ctl_readable(evutil_socket_t fd, short what, void *arg)
{
	struct front_control	*fc = arg;
	struct mw_msg		 m;
	int			 fds[MW_MAX_FDS], rc;

	while ((rc = mw_recv(fd, &m, fds)) == 1) {
		int h = handle(fc, &m, fds);

		if (h == 1)
			gen_next(fc);
		else if (h == -1)
			log_warnx("event=master_protocol error=\"unexpected message %u\"",
			    m.type);
	}
	if (rc == 0 || rc == -2 || (rc == -1 && errno != EAGAIN &&
	    errno != EWOULDBLOCK && errno != EINTR)) {
		/* The master is gone: stop serving. */
		event_del(fc->ev);
		server_stop(fc->srv, "reason=master_gone");
	}
}

/* The tokens the master read back from the persistent cache, before the
 * first caller: a batch it could not parse is dropped from there on. */
static void
cache_restore(struct front_control *fc)
{
	struct persist_counts	 c = { 0, 0, 0 };
	char			 err[256], *buf;
	size_t			 len;

	/* The files become what the cache holds within a second: one the
	 * master ignored (changed, foreign) is replaced, not warned of again
	 * at every start. */
	broker_persist_mark_all(fc->srv->broker);
	if (fc->cache_fd == -1)
		return;
	if (mw_memfd_read(fc->cache_fd, PERSIST_BATCH_MAX, &buf, &len, err,
	    sizeof(err)) == 0) {
		if (broker_persist_load(fc->srv->broker, buf, len, &c, err,
		    sizeof(err)) == -1)
			log_warnx("event=cache_restore_failed error=\"%s\"", err);
		OPENSSL_cleanse(buf, len);
		free(buf);
	} else
		log_warnx("event=cache_restore_failed error=\"%s\"", err);
	close(fc->cache_fd);
	fc->cache_fd = -1;
	log_info("event=cache_restored tenants=%zu entries=%zu skipped=%zu",
	    c.tenants, c.loaded, c.skipped);
}

void
front_control_persist(struct front_control *fc)
{
	const struct broker_config *conf;
	struct secret_buf	 buf = { NULL, 0, 0 };
	struct mw_msg		 m;
	char			 err[256];
	size_t			 n;
	int			 fd;

	if (fc == NULL || fc->srv->broker == NULL)
		return;
	conf = broker_config(fc->srv->broker);
	if (conf->state_directory == NULL || !conf->persistent_cache)
		return;
	if (broker_persist_dump(fc->srv->broker, &buf, PERSIST_BATCH_MAX, &n) == -1) {
		if (!fc->persist_failed)
			log_warnx("event=cache_save_failed error=\"more than %d MiB of "
			    "tokens\"", PERSIST_BATCH_MAX / (1024 * 1024));
		fc->persist_failed = true;
		return;
	}
	if (n == 0)
		return;
	fd = mw_memfd("samlbroker-cache", buf.data, buf.len, err, sizeof(err));
	secret_buf_clear(&buf);
	if (fd == -1) {
		log_warnx("event=cache_save_failed error=\"%s\"", err);
		return;
	}
	mw_init(&m, MW_CACHE_SAVE);
	m.count = (uint32_t)n;
	if (mw_send(fc->ctl, &m, &fd, 1) == -1)
		log_warn("event=cache_save_failed error=send");
	close(fd);
}

static void
persist_cb(evutil_socket_t fd, short what, void *arg)
{
	front_control_persist(arg);
}

struct front_control *
front_control_start(struct server *srv)
{
	struct front_control	*fc = xcalloc(1, sizeof(*fc));
	struct pollfd		 pfd;
	struct mw_msg		 m;
	char			 err[512];
	int			 fds[MW_MAX_FDS], rc;

	fc->srv = srv;
	fc->ctl = MW_CONTROL_FD;
	fc->qry = MW_QUERY_FD;
	fc->snap_fd = fc->ca_fd = fc->keys_fd = fc->cache_fd = -1;
	fc->spawner.start = spawner_start;
	fc->spawner.stop = spawner_stop;
	fc->spawner.arg = fc;
	srv->control = fc;
	for (;;) {
		pfd.fd = fc->ctl;
		pfd.events = POLLIN;
		if ((rc = poll(&pfd, 1, START_WAIT_MS)) == -1 && errno == EINTR)
			continue;
		if (rc <= 0) {
			log_errorx("event=startup_failed reason=\"no generation from the "
			    "master\"");
			goto fail;
		}
		rc = mw_recv(fc->ctl, &m, fds);
		if (rc == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (rc != 1 || (rc = handle(fc, &m, fds)) == -1) {
			log_errorx("event=startup_failed reason=\"the master's channel "
			    "failed\"");
			goto fail;
		}
		if (rc == 1)
			break;
	}
	if (gen_first(fc, err, sizeof(err)) == -1) {
		log_errorx("event=startup_failed error=\"%s\"", err);
		gen_answer(fc, false, err);
		goto fail;
	}
	gen_answer(fc, true, NULL);
	gen_reset(fc, false);
	cache_restore(fc);
	fc->started = true;
	return fc;
fail:
	gen_reset(fc, true);
	if (fc->cache_fd != -1)
		close(fc->cache_fd);
	srv->control = NULL;
	free(fc);
	return NULL;
}

void
front_control_listen(struct front_control *fc)
{
	struct timeval	 tv = { PERSIST_EVERY_SEC, 0 };

	fc->ev = event_new(fc->srv->base, fc->ctl, EV_READ | EV_PERSIST, ctl_readable, fc);
	fc->persist_ev = event_new(fc->srv->base, -1, EV_PERSIST, persist_cb, fc);
	if (fc->ev == NULL || fc->persist_ev == NULL)
		fatalx("event_new");
	event_add(fc->ev, NULL);
	event_add(fc->persist_ev, &tv);
}

int
front_control_ready(struct front_control *fc)
{
	struct mw_msg	 m;

	mw_init(&m, MW_FRONT_READY);
	m.generation = fc->gen_number;
	return mw_send(fc->ctl, &m, NULL, 0);
}

int
front_control_login(struct front_control *fc, unsigned uid, char *out, size_t outlen)
{
	struct mw_msg	 m;
	struct pollfd	 pfd = { fc->qry, POLLIN, 0 };
	struct timespec	 t0, t1;
	int		 fds[MW_MAX_FDS], rc, left = LOGIN_WAIT_MS;

	mw_init(&m, MW_LOGIN_QUERY);
	m.uid = uid;
	m.seq = ++fc->login_seq;
	if (mw_send(fc->qry, &m, NULL, 0) == -1)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* The loop waits, as it waited for getpwuid_r before the master
	 * answered this question; an answer to an older question is
	 * dropped. */
	while (left > 0) {
		if ((rc = poll(&pfd, 1, left)) == -1 && errno != EINTR)
			return -1;
		if (rc > 0) {
			rc = mw_recv(fc->qry, &m, fds);
			if (rc == 1 && (m.type != MW_LOGIN_ANSWER || m.n_fds != 0)) {
				for (size_t i = 0; i < MW_MAX_FDS; i++)
					if (fds[i] != -1)
						close(fds[i]);
				return -1;
			}
			if (rc == 0 || rc == -2)
				return -1;
			if (rc == 1 && m.seq == fc->login_seq && m.uid == uid) {
				if (!(m.flags & MWF_OK) || strlen(m.text) >= outlen)
					return -1;
				memcpy(out, m.text, strlen(m.text) + 1);
				return 0;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = LOGIN_WAIT_MS - (int)((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000);
	}
	log_warnx("event=login_lookup uid=%u error=\"the master did not answer\"", uid);
	return -1;
}

void
front_control_free(struct front_control *fc)
{
	if (fc == NULL)
		return;
	if (fc->ev != NULL)
		event_free(fc->ev);
	if (fc->persist_ev != NULL)
		event_free(fc->persist_ev);
	if (fc->cache_fd != -1)
		close(fc->cache_fd);
	gen_reset(fc, true);
	free(fc);
}
