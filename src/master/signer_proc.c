/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signer_proc.c - starting, waiting for and reaping signer processes: for
 * serve's master (signer_exec) and for a pool that starts its own
 * (signer_pool_new: tests and bench_pool).
 *
 * Owns fork and exec of `samlbroker signer` with nothing of the parent
 * but stdio, the signer's end of its socketpair (fd 3) and, from the
 * master, its generation's snapshot (fd 4); for a pool of its own, the
 * wait for a new generation's READY packets at start and reload, and
 * waiting for stopped children without blocking the loop (EOF first, so
 * a signer exits cleanly; then SIGTERM; then SIGKILL), so that no process
 * is left.  The front's binary does not link this file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <stdint.h>
#include <unistd.h>

#include "samlbroker.h"
#include "signer.h"

/* In the child between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
child_exec(const char *exe, char *const argv[], char *const envp[], int fd,
    int extra_fd, pid_t parent)
{
	int	 last = extra_fd != -1 ? SIGNER_WIRE_FD + 1 : SIGNER_WIRE_FD;

	/* extra_fd first out of the way of fd 3, then both in place. */
	if (extra_fd != -1 && extra_fd <= SIGNER_WIRE_FD + 1) {
		if ((extra_fd = fcntl(extra_fd, F_DUPFD_CLOEXEC, 10)) == -1)
			_exit(127);
	}
	if (fd == SIGNER_WIRE_FD) {
		if (fcntl(fd, F_SETFD, 0) == -1)
			_exit(127);
	} else if (dup2(fd, SIGNER_WIRE_FD) == -1) {
		_exit(127);
	}
	if (extra_fd != -1 && dup2(extra_fd, SIGNER_WIRE_FD + 1) == -1)
		_exit(127);
	/* Nothing of the parent's but stdio and these survives. */
	if (close_range((unsigned)last + 1, ~0U, 0) == -1) {
		long max = sysconf(_SC_OPEN_MAX);

		for (long i = last + 1; i < (max > 0 ? max : 65536); i++)
			(void)close((int)i);
	}
	/* Signals as a fresh process has them; an interrupt or hangup of the
	 * terminal is the parent's business (signers exit when the front
	 * closes their socket). */
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGPIPE, &sa, NULL);
	(void)sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	/* A parent that dies takes its signers with it. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	if (getppid() != parent)	/* it died before prctl */
		_exit(127);
	if (envp != NULL)
		execve(exe, argv, envp);
	else
		execv(exe, argv);
	_exit(127);
}

pid_t
signer_exec(const char *exe, char *const opts[], int extra_fd, char *const envp[],
    int *ret_fd, char *errbuf, size_t errlen)
{
	char		*argv[16];
	size_t		 n = 0;

	argv[n++] = (char *)(uintptr_t)exe;
	argv[n++] = (char *)"signer";
	for (size_t i = 0; opts[i] != NULL && n < sizeof(argv) / sizeof(argv[0]) - 1; i++)
		argv[n++] = opts[i];
	argv[n] = NULL;
	return child_spawn(exe, argv, extra_fd, envp, ret_fd, errbuf, errlen);
}

pid_t
child_spawn(const char *exe, char *const argv[], int extra_fd, char *const envp[],
    int *ret_fd, char *errbuf, size_t errlen)
{
	int		 sv[2];
	pid_t		 pid, parent;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(errbuf, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	parent = getpid();
	if ((pid = fork()) == -1) {
		snprintf(errbuf, errlen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0)
		child_exec(exe, argv, envp, sv[1], extra_fd, parent);
	close(sv[1]);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) == -1) {
		snprintf(errbuf, errlen, "fcntl: %s", strerror(errno));
		close(sv[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	*ret_fd = sv[0];
	return pid;
}

/* Forks and execs one signer of the pool; 0, or -1 with errbuf. */
int
signer_proc_spawn(struct proc *pr, char *errbuf, size_t errlen)
{
	struct signer_pool	*p = pr->pool;
	char			 index[16], fdarg[16];
	char			*opts[] = { (char *)"-c", pr->gen->config_path,
	    (char *)"--fd", fdarg, (char *)"--index", index, NULL };
	pid_t			 pid;
	int			 fd;

	snprintf(index, sizeof(index), "%d", pr->index);
	snprintf(fdarg, sizeof(fdarg), "%d", SIGNER_WIRE_FD);
	if ((pid = signer_exec(p->exe, opts, -1, NULL, &fd, errbuf, errlen)) == -1)
		return -1;
	pr->pid = pid;
	pr->fd = fd;
	pr->state = PROC_STARTING;
	pr->started_at = signer_mono();
	return 0;
}

/* Hands a child to the reaper: its socket is closed, it exits on EOF. */
void
signer_reap_add(struct signer_pool *p, pid_t pid, bool graceful)
{
	if (pid <= 0)
		return;
	p->reaps = reallocarray(p->reaps, p->n_reaps + 1, sizeof(*p->reaps));
	if (p->reaps == NULL)
		fatal("reallocarray");
	p->reaps[p->n_reaps].pid = pid;
	p->reaps[p->n_reaps].since = signer_mono();
	p->reaps[p->n_reaps].signals = 0;
	p->reaps[p->n_reaps].graceful = graceful;
	p->n_reaps++;
}

void
signer_reap_run(struct signer_pool *p, bool block)
{
	size_t	 i = 0;

	while (i < p->n_reaps) {
		struct reap	*r = &p->reaps[i];
		double		 age = signer_mono() - r->since;
		int		 status;

		pid_t		 w = waitpid(r->pid, &status, WNOHANG);

		if (w == r->pid && r->graceful &&
		    !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			log_warnx("signer pid=%ld did not stop cleanly (%s %d)", (long)r->pid,
			    WIFEXITED(status) ? "status" : "signal",
			    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			p->stats.unclean_exits++;
		} else if (w == r->pid && WIFSIGNALED(status) &&
		    WTERMSIG(status) != SIGKILL && WTERMSIG(status) != SIGTERM) {
			/* Died on its own: say how (SIGSYS is the seccomp filter). */
			log_warnx("signer pid=%ld was killed by signal %d%s", (long)r->pid,
			    WTERMSIG(status), WTERMSIG(status) == SIGSYS ?
			    " (a system call its seccomp filter forbids)" : "");
		}
		if (w == r->pid || (w == -1 && errno == ECHILD)) {
			p->reaps[i] = p->reaps[--p->n_reaps];
			continue;
		}
		if (r->signals == 0 && age > STOP_GRACE) {
			kill(r->pid, SIGTERM);
			r->signals = 1;
			r->since = signer_mono();
		} else if (r->signals == 1 && age > STOP_GRACE) {
			kill(r->pid, SIGKILL);
			r->signals = 2;
		}
		if (block) {
			struct timespec ts = { 0, 5 * 1000 * 1000 };

			nanosleep(&ts, NULL);
			continue;
		}
		i++;
	}
}

/* Reads the first packet of every starting process, up to the deadline. */
int
signer_generation_wait_ready(struct signer_pool *p, struct generation *g, char *errbuf,
    size_t errlen)
{
	double	 deadline = signer_mono() + p->start_timeout;
	size_t	 waiting = g->n_procs;

	while (waiting > 0) {
		struct pollfd	 pfd[MAX_SIGNERS];
		struct proc	*who[MAX_SIGNERS];
		size_t		 n = 0;
		double		 left = deadline - signer_mono();
		int		 rc;

		for (size_t i = 0; i < g->n_procs; i++) {
			if (g->procs[i].state != PROC_STARTING)
				continue;
			pfd[n].fd = g->procs[i].fd;
			pfd[n].events = POLLIN;
			who[n++] = &g->procs[i];
		}
		if (left <= 0) {
			snprintf(errbuf, errlen, "signer %d did not start within %.0f s",
			    who[0]->index, p->start_timeout);
			return -1;
		}
		rc = poll(pfd, n, (int)(left * 1000) + 1);
		if (rc == -1 && errno != EINTR) {
			snprintf(errbuf, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		for (size_t i = 0; rc > 0 && i < n; i++) {
			struct signer_wire_reply hdr;
			ssize_t m;

			if (pfd[i].revents == 0)
				continue;
			m = recv(pfd[i].fd, p->rbuf, READ_BUF, MSG_DONTWAIT);
			if (m == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (m < (ssize_t)sizeof(hdr)) {
				snprintf(errbuf, errlen, "signer %d exited while starting",
				    who[i]->index);
				return -1;
			}
			memcpy(&hdr, p->rbuf, sizeof(hdr));
			if (hdr.magic != SIGNER_WIRE_MAGIC || hdr.status != SIGNER_WIRE_READY) {
				snprintf(errbuf, errlen, "signer %d: %.*s", who[i]->index,
				    (int)((size_t)m - sizeof(hdr)), (const char *)p->rbuf + sizeof(hdr));
				return -1;
			}
			who[i]->state = PROC_READY;
			waiting--;
		}
	}
	return 0;
}


static const struct signer_local local_ops = {
	signer_proc_spawn, signer_generation_wait_ready, signer_reap_add, signer_reap_run
};

struct signer_pool *
signer_pool_new(struct event_base *base, const struct signer_pool_options *o,
    char *errbuf, size_t errlen)
{
	return signer_pool_start(base, o, &local_ops, errbuf, errlen);
}
