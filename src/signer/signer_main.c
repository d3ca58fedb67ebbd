/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signer_main.c - a signer process: the only kind of process that holds
 * decrypted private keys (`samlbroker signer`, started by the front's
 * signer pool in signer.c, never by hand).
 *
 * Owns the signer's life: loading the configuration with its keys,
 * keeping one saml_signer per tenant and dropping everything else (client
 * secrets, the key password, the parsed files), hardening itself
 * (non-dumpable, no core files, memory locked where permitted, a seccomp
 * filter where libseccomp was available at build time), a process title
 * that `ps` shows ("samlbroker: signer 2"), and answering mint requests on
 * its socketpair (fd 3) until the front closes it, for its own clock only
 * (a request whose time is not the signer's, within SIGNER_TIME_SKEW, is
 * refused).  Under serve the master starts it with its generation's
 * snapshot on fd 4 (--snapshot-fd); tests' pools give it the file (-c).
 * It speaks only the
 * wire format of signer.h; it has no other socket and never sees a byte
 * from the network.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/crypto.h>

#ifdef HAVE_SECCOMP
#include <seccomp.h>
#endif

#include "samlbroker.h"
#include "commands.h"
#include "signer.h"
#include "master_wire.h"

#define SIGNER_SNAPSHOT_MAX	(64 * 1024 * 1024)

/* Test builds only (tests/samlbroker_testclock.c): runs before READY. */
void	(*signer_start_hook)(int index);

struct keyed {
	char			 name[NAME_MAX_LEN + 1];
	struct saml_signer	*signer;
};

struct signer_state {
	int		 fd;
	int		 index;
	struct keyed	*tenants;	/* sorted by name */
	size_t		 n_tenants;
	bool		 in_token;	/* some tenant's key is in a PKCS#11 token */
	enum signer_priority priority;	/* the configuration's signer_priority */
};

static int
keyed_cmp(const void *a, const void *b)
{
	return strcmp(((const struct keyed *)a)->name, ((const struct keyed *)b)->name);
}

/*
 * Rewrites the process title that ps shows: the whole argv area (main
 * passes argv + 1, so argv[-1] is the program's own argv[0]).
 */
static void
set_title(int argc, char **argv, int index)
{
	char	 title[64], comm[32];
	char	*start = argv[-1], *end = argv[argc - 1] + strlen(argv[argc - 1]);
	size_t	 room = (size_t)(end - start);

	snprintf(title, sizeof(title), "samlbroker: signer %d", index);
	snprintf(comm, sizeof(comm), "sb-signer-%d", index);
	comm[15] = '\0';	/* the kernel keeps 15 characters */
	(void)prctl(PR_SET_NAME, comm, 0, 0, 0);
	memset(start, 0, room + 1);
	memcpy(start, title, strlen(title) < room ? strlen(title) : room);
}

static int
send_reply(int fd, uint32_t id, enum signer_wire_status status, double nooa,
    const char *text)
{
	struct signer_wire_reply hdr;
	struct iovec		 iov[2];
	struct msghdr		 msg;
	size_t			 len = text != NULL ? strlen(text) : 0;
	ssize_t			 n;

	if (len > SIGNER_WIRE_MAX_TEXT)
		len = SIGNER_WIRE_MAX_TEXT;
	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = SIGNER_WIRE_MAGIC;
	hdr.id = id;
	hdr.status = (uint32_t)status;
	hdr.len = (uint32_t)len;
	hdr.not_on_or_after = nooa;
	iov[0].iov_base = &hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)(uintptr_t)text;
	iov[1].iov_len = len;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = len > 0 ? 2 : 1;
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return n == (ssize_t)(sizeof(hdr) + len) ? 0 : -1;
}

/*
 * The configuration's errors, a line each, for the master to log at their
 * level: the master has logged the warnings already (it read the same
 * snapshot, without keys).
 */
static char *
diag_errors(const struct diag *d, const char *path)
{
	char	*out = xmalloc(SIGNER_FAILURE_MAX);
	size_t	 o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < d->n_lines && o < SIGNER_FAILURE_MAX; i++)
		if (!d->warning[i])
			o += (size_t)snprintf(out + o, SIGNER_FAILURE_MAX - o, "%s%s",
			    o == 0 ? "" : "\n", d->lines[i]);
	if (o == 0)
		snprintf(out, SIGNER_FAILURE_MAX, "cannot load %s", path);
	return out;
}

/*
 * The generation's snapshot the master recorded, with the keys: a signer
 * started again later loads the same bytes, never the files as they are
 * by then.  The memfd is closed at once.
 */
static struct broker_config *
load_snapshot(int fd, struct diag *d, char **ret_error)
{
	struct config_snapshot	*snap;
	struct broker_config	*conf;
	char			*buf, err[256];
	size_t			 len;

	if (mw_memfd_read(fd, SIGNER_SNAPSHOT_MAX, &buf, &len, err, sizeof(err)) == -1) {
		close(fd);
		*ret_error = xstrdup(err);
		return NULL;
	}
	close(fd);
	snap = snapshot_decode(buf, len, err, sizeof(err));
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (snap == NULL) {
		*ret_error = xstrdup(err);
		return NULL;
	}
	conf = config_load_snapshot(snap, d, 0);
	snapshot_free(snap);
	return conf;
}

/* Loads the configuration and keeps one saml_signer per tenant. */
static int
load_tenants(struct signer_state *st, const char *path, int snap_fd, char **ret_error)
{
	struct broker_config	*conf;
	struct diag		 d;
	char			 err[256];

	diag_init(&d);
	conf = snap_fd != -1 ? load_snapshot(snap_fd, &d, ret_error) : config_load(path, &d);
	if (conf == NULL && *ret_error != NULL) {
		diag_clear(&d);
		return -1;
	}
	if (conf == NULL) {
		*ret_error = diag_errors(&d, path);
		diag_clear(&d);
		return -1;
	}
	diag_clear(&d);
	st->tenants = xcalloc(conf->n_tenants > 0 ? conf->n_tenants : 1,
	    sizeof(*st->tenants));
	for (size_t i = 0; i < conf->n_tenants; i++) {
		const struct tenant *t = conf->tenants[i];

		snprintf(st->tenants[i].name, sizeof(st->tenants[i].name), "%s", t->name);
		if (t->keys != NULL && keystore_in_token(t->keys))
			st->in_token = true;
		if ((st->tenants[i].signer = saml_signer_new(t, err, sizeof(err))) == NULL) {
			*ret_error = xmalloc(512);
			snprintf(*ret_error, 512, "tenant %s: %s", t->name, err);
			config_free(conf);
			return -1;
		}
		st->n_tenants++;
	}
	qsort(st->tenants, st->n_tenants, sizeof(*st->tenants), keyed_cmp);
	st->priority = conf->signer_priority;
	/* The keys live on in the signers; client secrets, the key password
	 * and the parsed files go (config_free wipes them). */
	config_free(conf);
	return 0;
}

/*
 * signer_priority: the front comes first.  Applied once the keys are
 * loaded (a start on a busy host is not slowed down) and before the
 * seccomp filter, which allows neither call.  SCHED_IDLE: the signer runs
 * only when no other task of its group wants the CPU, and a waking front
 * preempts it at once; SCHED_BATCH, 10 nicer than it was started (at most
 * 19): a waking signer never preempts the front, and it gets about a tenth
 * of a CPU the front wants too.  An
 * unprivileged process may always lower its own priority, so a failure
 * means a system call filter refused it: an error, as the option asked
 * for it.
 */
static int
set_priority(enum signer_priority prio, char *errbuf, size_t errlen)
{
	struct sched_param	 sp;
	int			 policy, nice;

	if (prio == SIGNER_PRIORITY_NORMAL)
		return 0;
	memset(&sp, 0, sizeof(sp));
	policy = prio == SIGNER_PRIORITY_IDLE ? SCHED_IDLE : SCHED_BATCH;
	if (prio == SIGNER_PRIORITY_BATCH) {
		errno = 0;
		nice = getpriority(PRIO_PROCESS, 0);
		if ((nice == -1 && errno != 0) ||
		    setpriority(PRIO_PROCESS, 0, nice + 10 < 19 ? nice + 10 : 19) == -1) {
			snprintf(errbuf, errlen, "cannot set signer_priority = batch "
			    "(setpriority: %s; a service manager's system call filter must "
			    "allow setpriority and sched_setscheduler, or set "
			    "signer_priority = normal)", strerror(errno));
			return -1;
		}
	}
	if (sched_setscheduler(0, policy, &sp) == -1) {
		snprintf(errbuf, errlen, "cannot set signer_priority = %s "
		    "(sched_setscheduler: %s; a service manager's system call filter "
		    "must allow it, or set signer_priority = normal)",
		    signer_priority_name(prio), strerror(errno));
		return -1;
	}
	return 0;
}

#if defined(HAVE_SECCOMP) && !defined(UNDER_ASAN)
/*
 * After start-up a signer reads requests, signs, writes answers and
 * manages memory; everything else kills it.  A new socket, a file open or
 * an exec would mean it has been subverted.
 */
static int
seccomp_install(char *errbuf, size_t errlen)
{
	static const int allowed[] = {
		SCMP_SYS(read), SCMP_SYS(recvfrom), SCMP_SYS(recvmsg),
		SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(sendto), SCMP_SYS(sendmsg),
		SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
		SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
		SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(futex),
		SCMP_SYS(getrandom), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
		SCMP_SYS(time), SCMP_SYS(getpid), SCMP_SYS(gettid),
		SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction),
		SCMP_SYS(tgkill), SCMP_SYS(exit), SCMP_SYS(exit_group),
	};
	scmp_filter_ctx	 ctx;
	int		 rc;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		snprintf(errbuf, errlen, "seccomp_init failed");
		return -1;
	}
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0)) < 0) {
			snprintf(errbuf, errlen, "seccomp_rule_add: %s", strerror(-rc));
			seccomp_release(ctx);
			return -1;
		}
	}
	if ((rc = seccomp_load(ctx)) < 0) {
		snprintf(errbuf, errlen, "cannot install the seccomp filter: %s (a "
		    "service manager's system call filter must allow seccomp)",
		    strerror(-rc));
		seccomp_release(ctx);
		return -1;
	}
	seccomp_release(ctx);
	return 0;
}
#endif

/*
 * Non-dumpable, no core, memory locked where permitted (a failure is not
 * fatal: an unprivileged user's RLIMIT_MEMLOCK is small), and the seccomp
 * filter unless SAMLBROKER_SIGNER_NO_SECCOMP=1 (for valgrind, whose own
 * system calls the filter would refuse).
 */
static int
harden(const struct signer_state *st, char *errbuf, size_t errlen)
{
	const char	*no_seccomp = getenv("SAMLBROKER_SIGNER_NO_SECCOMP");

	process_harden();
#ifndef UNDER_ASAN
	/* ASan reserves terabytes of shadow memory: never lock it.  Under a
	 * finite RLIMIT_MEMLOCK (an unprivileged user), MCL_FUTURE would make
	 * later allocations fail at the limit: lock only when unbounded. */
	struct rlimit rl;

	if (geteuid() != 0 && (getrlimit(RLIMIT_MEMLOCK, &rl) == -1 ||
	    rl.rlim_cur != RLIM_INFINITY))
		log_debug("RLIMIT_MEMLOCK is finite; memory is not locked");
	else if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == -1)
		log_debug("mlockall: %s; memory is not locked", strerror(errno));
#endif
#if defined(HAVE_SECCOMP) && !defined(UNDER_ASAN)
	if (no_seccomp != NULL && strcmp(no_seccomp, "1") == 0) {
		log_warnx("seccomp filter disabled by SAMLBROKER_SIGNER_NO_SECCOMP");
		return 0;
	}
	/* A PKCS#11 module does its own I/O while signing (token files,
	 * devices, a network HSM): no filter can know it. */
	if (st->in_token) {
		if (st->index == 1)
			log_info("seccomp filter not installed: a tenant's key is in a "
			    "PKCS#11 token");
		return 0;
	}
	return seccomp_install(errbuf, errlen);
#else
	/* Without libseccomp, or under ASan (whose leak checker ptraces). */
	(void)no_seccomp;
	(void)st;
	(void)errbuf;
	(void)errlen;
	return 0;
#endif
}

/* Validates a request and answers it. */
static int
serve_one(struct signer_state *st, const struct signer_wire_request *rq)
{
	struct keyed	 key, *k;
	char		 err[256], *b64 = NULL;
	double		 nooa, now;
	int		 rc;

	if (memchr(rq->tenant, '\0', sizeof(rq->tenant)) == NULL ||
	    memchr(rq->email, '\0', sizeof(rq->email)) == NULL)
		return send_reply(st->fd, rq->id, SIGNER_WIRE_FAILED, 0,
		    "malformed request");
	memcpy(key.name, rq->tenant, sizeof(key.name));
	k = bsearch(&key, st->tenants, st->n_tenants, sizeof(*st->tenants), keyed_cmp);
	if (k == NULL)
		return send_reply(st->fd, rq->id, SIGNER_WIRE_UNKNOWN_TENANT, 0,
		    "unknown tenant");
	/* Its own clock, never the front's: the front's time only has to
	 * agree with it. */
	now = clock_now();
	if (!isfinite(rq->now) || fabs(rq->now - now) > SIGNER_TIME_SKEW)
		return send_reply(st->fd, rq->id, SIGNER_WIRE_REFUSED, 0,
		    "time out of range");
	if (saml_mint_response_b64(k->signer, rq->email, now, &b64, &nooa,
	    err, sizeof(err)) == -1)
		return send_reply(st->fd, rq->id, SIGNER_WIRE_FAILED, 0, err);
	rc = send_reply(st->fd, rq->id, SIGNER_WIRE_OK, nooa, b64);
	secret_free(b64);
	return rc;
}

/* Answers requests until the front closes the socket: 0, or -1 on error. */
static int
serve_loop(struct signer_state *st)
{
	struct signer_wire_request	 rq;
	struct iovec			 iov = { &rq, sizeof(rq) };
	struct msghdr			 msg;
	ssize_t				 n;

	for (;;) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		n = recvmsg(st->fd, &msg, 0);
		if (n == 0)
			return 0;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_warn("signer %d: recvmsg", st->index);
			return -1;
		}
		if ((size_t)n != sizeof(rq) || (msg.msg_flags & MSG_TRUNC) ||
		    rq.magic != SIGNER_WIRE_MAGIC) {
			log_warnx("signer %d: malformed request from the front", st->index);
			return -1;
		}
		if (serve_one(st, &rq) == -1) {
			log_warn("signer %d: cannot answer", st->index);
			return -1;
		}
		OPENSSL_cleanse(&rq, sizeof(rq));
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: samlbroker signer {-c FILE | --snapshot-fd N} --fd N "
	    "--index N\n"
	    "(started by samlbroker serve; not for use by hand)\n");
}

int
signer_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "fd",		required_argument,	NULL, 'f' },
		{ "index",	required_argument,	NULL, 'i' },
		{ "snapshot-fd", required_argument,	NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	static char		 progname[32];
	struct signer_state	 st;
	char			*path = NULL, *error = NULL, err[256];
	int			 ch, rc = 1, snap_fd = -1;
	bool			 xml_ready = false;

	memset(&st, 0, sizeof(st));
	st.fd = -1;
	while ((ch = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			free(path);
			path = xstrdup(optarg);	/* set_title overwrites argv */
			break;
		case 'f':
			st.fd = atoi(optarg);
			break;
		case 'i':
			st.index = atoi(optarg);
			break;
		case 's':
			snap_fd = atoi(optarg);
			break;
		default:
			usage();
			return 2;
		}
	}
	if ((path == NULL) == (snap_fd < 3) || st.fd < 3 || st.index < 1 ||
	    optind != argc) {
		usage();
		free(path);
		return 2;
	}
	snprintf(progname, sizeof(progname), "samlbroker-signer-%d", st.index);
	log_init(log_get_level(), progname);
	set_title(argc, argv, st.index);

	if (saml_global_init() == -1) {
		error = xstrdup("cannot initialise xmlsec");
		goto fail;
	}
	xml_ready = true;
	if (load_tenants(&st, path != NULL ? path : "the snapshot", snap_fd,
	    &error) == -1)
		goto fail;
	if (signer_start_hook != NULL)
		signer_start_hook(st.index);
	if (set_priority(st.priority, err, sizeof(err)) == -1 ||
	    harden(&st, err, sizeof(err)) == -1) {
		error = xstrdup(err);
		goto fail;
	}
	if (send_reply(st.fd, 0, SIGNER_WIRE_READY, 0, NULL) == -1) {
		log_warn("signer %d: cannot report ready", st.index);
		goto done;
	}
	rc = serve_loop(&st) == 0 ? 0 : 1;
	goto done;
fail:
	(void)send_reply(st.fd, 0, SIGNER_WIRE_FAILED, 0, error);
done:
	free(error);
	free(path);
	for (size_t i = 0; i < st.n_tenants; i++)
		saml_signer_free(st.tenants[i].signer);
	free(st.tenants);
	if (xml_ready)
		saml_global_shutdown();
	keystore_pkcs11_shutdown();
	close(st.fd);
	return rc;
}
