/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server_negotiate.c - the front's side of the negotiator (negotiator.c):
 * the socket the master hands over (replaced on reload and restart),
 * a bounded queue of tokens waiting for it, a timeout, and the answers
 * back to server_http.c.  Never blocks the loop: the socket is
 * non-blocking and every answer comes through its read event.
 *
 * The front holds no keytab and links no GSS-API acceptor: it decodes the
 * header's base64 and passes bytes; what a token means is the negotiator's.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "server.h"
#include "negotiate_wire.h"

/* Tokens waiting (sent or not) at most; beyond, 503. */
#define NEG_QUEUE_MAX		256
/* Seconds a token may wait for its answer. */
#define NEG_TIMEOUT		10.0

struct neg_job {
	struct neg_job		*next;
	uint32_t		 id;
	bool			 sent;
	double			 queued_at;
	neg_done_cb		 cb;	/* NULL: canceled */
	void			*arg;
	size_t			 len;
	unsigned char		 tok[];
};

struct server_negotiate {
	struct server		*srv;
	int			 fd;	/* -1: none (starting, restarting) */
	pid_t			 pid;
	struct event		*ev_read, *ev_write, *ev_tick;
	struct neg_job		*head, *tail;
	size_t			 n_jobs, n_sent;
	uint32_t		 next_id;
	unsigned char		*rbuf;
};

static void	 flush(struct server_negotiate *);

static double
clock_monotonic(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
job_done(struct server_negotiate *n, struct neg_job *j,
    const struct neg_wire_reply *r, const unsigned char *out, size_t outlen,
    const char *why)
{
	if (j->cb != NULL)
		j->cb(j->arg, r, out, outlen, why);
	OPENSSL_cleanse(j->tok, j->len);
	free(j);
	n->n_jobs--;
}

/* Fails every job (unsent ones too, with all); keeps the unsent. */
static void
fail_sent(struct server_negotiate *n, const char *why, bool all)
{
	struct neg_job	**pp = &n->head;

	n->tail = NULL;
	while (*pp != NULL) {
		struct neg_job *j = *pp;

		if (j->sent || all) {
			*pp = j->next;
			job_done(n, j, NULL, NULL, 0, why);
			continue;
		}
		n->tail = j;
		pp = &j->next;
	}
	n->n_sent = 0;
}

static void
sock_close(struct server_negotiate *n)
{
	if (n->ev_read != NULL)
		event_free(n->ev_read);
	if (n->ev_write != NULL)
		event_free(n->ev_write);
	n->ev_read = n->ev_write = NULL;
	if (n->fd != -1)
		close(n->fd);	/* it exits on EOF */
	n->fd = -1;
}

static void
readable(evutil_socket_t fd, short what, void *arg)
{
	struct server_negotiate	*n = arg;
	size_t			 cap = sizeof(struct neg_wire_reply) + NEG_TOKEN_MAX;

	for (;;) {
		struct neg_wire_reply	 r;
		struct neg_job		*j;
		ssize_t			 got = recv(fd, n->rbuf, cap, MSG_DONTWAIT);

		if (got == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			break;
		if (got <= 0) {
			log_warnx("event=negotiator_lost pid=%ld", (long)n->pid);
			sock_close(n);
			fail_sent(n, "the negotiator process exited", false);
			return;
		}
		memcpy(&r, n->rbuf, (size_t)got < sizeof(r) ? (size_t)got : sizeof(r));
		j = n->head;
		if ((size_t)got < sizeof(r) || r.magic != NEG_WIRE_MAGIC ||
		    j == NULL || !j->sent || r.id != j->id ||
		    r.out_len != (size_t)got - sizeof(r) ||
		    (r.status != NEG_WIRE_OK && r.status != NEG_WIRE_REFUSED) ||
		    memchr(r.principal, '\0', sizeof(r.principal)) == NULL ||
		    memchr(r.reason, '\0', sizeof(r.reason)) == NULL ||
		    (r.status == NEG_WIRE_OK && r.principal[0] == '\0')) {
			log_warnx("event=negotiator_protocol pid=%ld", (long)n->pid);
			sock_close(n);
			fail_sent(n, "the negotiator broke the protocol", false);
			return;
		}
		n->head = j->next;
		if (n->head == NULL)
			n->tail = NULL;
		n->n_sent--;
		job_done(n, j, &r, n->rbuf + sizeof(r), r.out_len, NULL);
	}
	flush(n);
}

static void
writable(evutil_socket_t fd, short what, void *arg)
{
	flush(arg);
}

/* Sends what waits, up to NEG_IN_FLIGHT. */
static void
flush(struct server_negotiate *n)
{
	if (n->fd == -1)
		return;
	for (struct neg_job *j = n->head; j != NULL && n->n_sent < NEG_IN_FLIGHT;
	    j = j->next) {
		struct neg_wire_request	 h = { NEG_WIRE_MAGIC, j->id, (uint32_t)j->len, 0 };
		struct iovec		 iov[2] = { { &h, sizeof(h) }, { j->tok, j->len } };
		struct msghdr		 mh;

		if (j->sent)
			continue;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = 2;
		if (sendmsg(n->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
				event_add(n->ev_write, NULL);
				return;
			}
			log_warnx("event=negotiator_lost pid=%ld", (long)n->pid);
			sock_close(n);
			fail_sent(n, "the negotiator process exited", false);
			return;
		}
		j->sent = true;
		n->n_sent++;
	}
	event_del(n->ev_write);
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	struct server_negotiate	*n = arg;
	double			 now = clock_monotonic();

	if (n->head != NULL && now - n->head->queued_at > NEG_TIMEOUT) {
		/* The head is late: everything behind it waits on it. */
		log_warnx("event=negotiator_timeout pid=%ld", (long)n->pid);
		sock_close(n);
		fail_sent(n, "the negotiator did not answer in time", true);
	}
}

struct server_negotiate *
server_negotiate_new(struct server *srv)
{
	struct server_negotiate	*n = xcalloc(1, sizeof(*n));
	struct timeval		 tv = { 1, 0 };

	n->srv = srv;
	n->fd = -1;
	n->rbuf = xmalloc(sizeof(struct neg_wire_reply) + NEG_TOKEN_MAX);
	n->ev_tick = event_new(srv->base, -1, EV_PERSIST, tick, n);
	if (n->ev_tick == NULL)
		fatalx("event_new");
	event_add(n->ev_tick, &tv);
	return n;
}

void
server_negotiate_adopt(struct server_negotiate *n, int fd, pid_t pid)
{
	sock_close(n);
	/* Tokens the old one has not answered: their callers try again. */
	fail_sent(n, "the negotiator was replaced", false);
	n->fd = fd;
	n->pid = pid;
	n->ev_read = event_new(n->srv->base, fd, EV_READ | EV_PERSIST, readable, n);
	n->ev_write = event_new(n->srv->base, fd, EV_WRITE, writable, n);
	if (n->ev_read == NULL || n->ev_write == NULL)
		fatalx("event_new");
	event_add(n->ev_read, NULL);
	log_info("event=negotiator_adopted pid=%ld", (long)pid);
	flush(n);
}

struct neg_job *
server_negotiate_start(struct server_negotiate *n, const unsigned char *tok,
    size_t len, neg_done_cb cb, void *arg)
{
	struct neg_job	*j;

	if (n == NULL || n->n_jobs >= NEG_QUEUE_MAX || len > NEG_TOKEN_MAX)
		return NULL;
	j = xmalloc(sizeof(*j) + len);
	j->next = NULL;
	j->id = ++n->next_id;
	j->sent = false;
	j->queued_at = clock_monotonic();
	j->cb = cb;
	j->arg = arg;
	j->len = len;
	memcpy(j->tok, tok, len);
	if (n->tail != NULL)
		n->tail->next = j;
	else
		n->head = j;
	n->tail = j;
	n->n_jobs++;
	flush(n);
	return j;
}

void
server_negotiate_cancel(struct neg_job *j)
{
	if (j != NULL)
		j->cb = NULL;
}

void
server_negotiate_free(struct server_negotiate *n)
{
	if (n == NULL)
		return;
	sock_close(n);
	fail_sent(n, "stopping", true);
	event_free(n->ev_tick);
	free(n->rbuf);
	free(n);
}
