/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signer.c - the front's pool of signer processes.
 *
 * Owns the signers of the front (started by signer_proc.c as `samlbroker
 * signer`, one SOCK_SEQPACKET socketpair each: the front never loads a
 * private key), spreading mint requests over them with a bounded
 * queue per signer (least loaded first; "busy" when every queue is full)
 * and each tenant's share of the queues, the queues themselves (at most
 * SIGNER_IN_FLIGHT requests are sent to a signer at a time; the rest wait
 * here, so that a canceled one is dropped unsigned), the front's time on
 * each request (the signers sign for their own and refuse a request whose
 * time differs), their answers on the libevent loop, cancelation,
 * restarting a signer
 * that dies (with backoff; its requests are retried once on another
 * signer, else answered busy), generations for reload (the old one
 * drains, then stops), stopping and reaping every child, and the
 * statistics.  The signer's side is signer_main.c; the wire format is
 * signer.h.  It does not know HTTP, tenants' settings or the cache.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "samlbroker.h"
#include "signer.h"

#define QUEUE_MAX_DEFAULT	64
#define REQUEST_TIMEOUT_DEFAULT	10.0
#define START_TIMEOUT_DEFAULT	30.0
#define BACKOFF_MIN		0.1	/* seconds before restarting a dead signer */
#define BACKOFF_MAX		10.0
#define STABLE_AFTER		10.0	/* a signer up this long resets the backoff */
#define TICK			0.1	/* seconds between timeout and reaper checks */

static const double	 latency_bounds[] = SIGNER_LATENCY_BOUNDS;

double
signer_mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void	 proc_down(struct proc *, const char *why);
static void	 proc_flush(struct proc *);
static void	 limbo_drain(struct signer_pool *);
static void	 generation_switch(struct signer_pool *, struct generation *);

/* ---- each tenant's share ---- */

static struct tenant_load *
load_find(struct signer_pool *p, const char *tenant)
{
	for (size_t i = 0; i < p->n_loads; i++)
		if (strcmp(p->loads[i].name, tenant) == 0)
			return &p->loads[i];
	return NULL;
}

static size_t
load_of(struct signer_pool *p, const char *tenant)
{
	struct tenant_load	*l = load_find(p, tenant);

	return l != NULL ? l->queued : 0;
}

static void
load_add(struct signer_pool *p, const char *tenant)
{
	struct tenant_load	*l = load_find(p, tenant);

	if (l == NULL) {
		p->loads = reallocarray(p->loads, p->n_loads + 1, sizeof(*p->loads));
		if (p->loads == NULL)
			fatal("reallocarray");
		l = &p->loads[p->n_loads++];
		memset(l, 0, sizeof(*l));
		memcpy(l->name, tenant, strlen(tenant));
	}
	l->queued++;
}

static void
load_remove(struct signer_pool *p, const char *tenant)
{
	struct tenant_load	*l = load_find(p, tenant);

	if (l == NULL || --l->queued > 0)
		return;
	*l = p->loads[--p->n_loads];
}

/*
 * A tenant's fair part of the queues: the ready signers' room divided by
 * the tenants (all of it for a tenant alone), at least one.  As with the
 * exchange slots (policy_may_start), a tenant may use any room there is;
 * when every queue is full, a tenant below its fair part still queues.
 */
static size_t
fair_part(const struct signer_pool *p)
{
	size_t	 ready = 0, room, n = p->n_tenants > 0 ? p->n_tenants : 1;

	for (size_t i = 0; i < p->cur->n_procs; i++)
		ready += p->cur->procs[i].state == PROC_READY;
	room = ready * p->queue_max;
	return room / n > 0 ? room / n : 1;
}

/* Every request ends here: answered, canceled, or dropped with the pool. */
static void
request_free(struct signer_pool *p, struct signer_request *r)
{
	load_remove(p, r->wire.tenant);
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
}

/* Calls the request's callback (unless canceled) and frees it. */
static void
request_answer(struct signer_pool *p, struct signer_request *r,
    enum signer_status status, const char *b64, double nooa, const char *error)
{
	struct signer_result	 res;

	if (r->cb == NULL) {	/* canceled: nobody is told, nothing counted */
		request_free(p, r);
		return;
	}
	switch (status) {
	case SIGNER_OK:
		p->stats.ok++;
		break;
	case SIGNER_BUSY:
		p->stats.busy++;
		break;
	default:
		p->stats.failed++;
		break;
	}
	memset(&res, 0, sizeof(res));
	res.status = status;
	res.saml_response_b64 = b64;
	res.not_on_or_after = nooa;
	res.error = error;
	r->cb(&res, r->arg);
	request_free(p, r);
}

static void
latency_add(struct signer_pool *p, double seconds)
{
	size_t	 i;

	for (i = 0; i < SIGNER_LATENCY_BUCKETS - 1; i++)
		if (seconds <= latency_bounds[i])
			break;
	p->stats.latency_buckets[i]++;
	p->stats.latency_sum += seconds;
	p->stats.latency_count++;
}

/* ---- stopping processes ---- */

/* Closes a process's socket and events; the process is reaped later. */
static void
proc_close(struct proc *pr, enum proc_state state, bool graceful)
{
	if (pr->ev_read != NULL)
		event_free(pr->ev_read);
	if (pr->ev_write != NULL)
		event_free(pr->ev_write);
	pr->ev_read = pr->ev_write = NULL;
	if (pr->fd != -1)
		close(pr->fd);
	pr->fd = -1;
	if (pr->pool->has_spawner && pr->pid > 0)
		pr->pool->spawner.stop(pr->pool->spawner.arg, pr->pid, graceful);
	else if (pr->pool->local != NULL)
		pr->pool->local->reap_add(pr->pool, pr->pid, graceful);
	pr->pid = 0;
	pr->state = state;
}

/* ---- answers ---- */

static struct signer_request *
proc_find(struct proc *pr, uint32_t id)
{
	struct signer_request	*r;

	TAILQ_FOREACH(r, &pr->queue, entry)
		if (r->sent && r->wire.id == id)
			return r;
	return NULL;
}

/* One packet from a signer; -1 when the process must go. */
static int
proc_packet(struct proc *pr, const unsigned char *buf, size_t n, const char **why)
{
	struct signer_pool		*p = pr->pool;
	struct signer_wire_reply	 hdr;
	struct signer_request		*r;
	char				*text;
	enum signer_status		 status;

	if (n < sizeof(hdr)) {
		*why = "short answer";
		return -1;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.magic != SIGNER_WIRE_MAGIC || hdr.len != n - sizeof(hdr)) {
		*why = "malformed answer";
		return -1;
	}
	if (pr->state == PROC_STARTING) {
		if (hdr.status != SIGNER_WIRE_READY) {
			*why = "failed to start";
			return -1;
		}
		pr->state = PROC_READY;
		log_info("signer %d ready pid=%ld generation=%llu", pr->index,
		    (long)pr->pid, (unsigned long long)pr->gen->number);
		return 0;
	}
	if ((r = proc_find(pr, hdr.id)) == NULL) {
		*why = "answer to no request";
		return -1;
	}
	TAILQ_REMOVE(&pr->queue, r, entry);
	pr->depth--;
	r->proc = NULL;
	pr->answered_at = signer_mono();
	latency_add(p, pr->answered_at - r->queued_at);
	/* The text, NUL-terminated in place: the buffer has room for it. */
	text = (char *)(uintptr_t)(buf + sizeof(hdr));
	text[hdr.len] = '\0';
	switch (hdr.status) {
	case SIGNER_WIRE_OK:
		status = SIGNER_OK;
		break;
	case SIGNER_WIRE_UNKNOWN_TENANT:
		status = SIGNER_UNKNOWN_TENANT;
		break;
	case SIGNER_WIRE_REFUSED:
		/* Only a front whose clock disagrees with the signer's gets
		 * this: worth a line (the text is the signer's, never a secret). */
		p->stats.refused++;
		log_warnx("event=signer_refused signer=%d pid=%ld tenant=%s "
		    "reason=\"%s\"", pr->index, (long)pr->pid, r->wire.tenant, text);
		status = SIGNER_FAILED;
		break;
	default:
		status = SIGNER_FAILED;
		break;
	}
	request_answer(p, r, status, status == SIGNER_OK ? text : NULL,
	    hdr.not_on_or_after, status == SIGNER_OK ? NULL : text);
	return 0;
}

static void
proc_readable(evutil_socket_t fd, short what, void *arg)
{
	struct proc		*pr = arg;
	struct signer_pool	*p = pr->pool;
	struct iovec		 iov;
	struct msghdr		 msg;
	const char		*why = NULL;
	char			 reason[256];
	ssize_t			 n;

	for (;;) {
		iov.iov_base = p->rbuf;
		iov.iov_len = READ_BUF;
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		n = recvmsg(fd, &msg, MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			why = n == 0 ? "exited" : "read error";
			break;
		}
		if (msg.msg_flags & MSG_TRUNC)
			why = "oversized answer";
		else if (pr->state == PROC_STARTING && (size_t)n > sizeof(struct signer_wire_reply)) {
			/* The reason it could not start (never a secret). */
			struct signer_wire_reply hdr;

			memcpy(&hdr, p->rbuf, sizeof(hdr));
			snprintf(reason, sizeof(reason), "failed to start: %.*s",
			    (int)((size_t)n - sizeof(hdr)), (const char *)p->rbuf + sizeof(hdr));
			why = reason;
		} else
			(void)proc_packet(pr, p->rbuf, (size_t)n, &why);
		OPENSSL_cleanse(p->rbuf, (size_t)n);
		if (why != NULL)
			break;
		/* A callback may have stopped this process (a reload's drain). */
		if (pr->state != PROC_READY)
			return;
	}
	if (why != NULL) {
		proc_down(pr, why);
		return;
	}
	proc_flush(pr);
}

static void
proc_writable(evutil_socket_t fd, short what, void *arg)
{
	proc_flush(arg);
}

/* Sends what is queued and unsent, keeping at most SIGNER_IN_FLIGHT
 * unanswered; stops at a full socket buffer. */
static void
proc_flush(struct proc *pr)
{
	struct signer_request	*r;
	size_t			 sent = 0;
	ssize_t			 n;

	if (pr->state != PROC_READY)
		return;
	TAILQ_FOREACH(r, &pr->queue, entry) {
		if (r->sent) {
			sent++;
			continue;
		}
		if (sent >= SIGNER_IN_FLIGHT)
			return;	/* the rest wait here, where cancel is free */
		/* The front's time now, which the signer checks against its own. */
		r->wire.now = clock_now();
		n = send(pr->fd, &r->wire, sizeof(r->wire), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(pr->ev_write, NULL);
			return;
		}
		if (n != (ssize_t)sizeof(r->wire)) {
			proc_down(pr, "write error");
			return;
		}
		r->sent = true;
		r->sent_at = signer_mono();
		sent++;
	}
}

static void
proc_events_add(struct proc *pr)
{
	pr->ev_read = event_new(pr->pool->base, pr->fd, EV_READ | EV_PERSIST,
	    proc_readable, pr);
	pr->ev_write = event_new(pr->pool->base, pr->fd, EV_WRITE, proc_writable, pr);
	if (pr->ev_read == NULL || pr->ev_write == NULL)
		fatalx("event_new");
	event_add(pr->ev_read, NULL);
}

static void
proc_restart(evutil_socket_t fd, short what, void *arg)
{
	struct proc	*pr = arg;
	struct signer_pool *p = pr->pool;
	char		 err[256];
	int		 rc;

	if (pr->state != PROC_DOWN)
		return;
	pr->restarts++;
	p->stats.restarts++;
	if (p->has_spawner) {
		/* The spawner answers later; the start timeout still runs. */
		rc = p->spawner.start(p->spawner.arg, pr->gen->number, pr->index,
		    ++pr->start_seq, err, sizeof(err));
		if (rc == 0) {
			pr->state = PROC_STARTING;
			pr->started_at = signer_mono();
			return;
		}
	} else
		rc = p->local->spawn(pr, err, sizeof(err));
	if (rc == -1) {
		log_warnx("signer %d: cannot restart: %s", pr->index, err);
		pr->backoff = pr->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : pr->backoff * 2;
		struct timeval tv = { (time_t)pr->backoff,
		    (suseconds_t)((pr->backoff - (double)(time_t)pr->backoff) * 1e6) };
		event_add(pr->ev_restart, &tv);
		return;
	}
	proc_events_add(pr);
}

/* A signer's queued requests go to limbo (retried once elsewhere). */
static void
queue_to_limbo(struct signer_pool *p, struct proc *pr)
{
	struct signer_request	*r;

	while ((r = TAILQ_FIRST(&pr->queue)) != NULL) {
		TAILQ_REMOVE(&pr->queue, r, entry);
		r->proc = NULL;
		r->in_limbo = true;
		TAILQ_INSERT_TAIL(&p->limbo, r, entry);
	}
	pr->depth = 0;
}

/*
 * A signer died, hung or misbehaved: its requests go to limbo (retried
 * once elsewhere, else answered busy) and it is restarted after a backoff
 * unless its generation is draining.
 */
static void
proc_down(struct proc *pr, const char *why)
{
	struct signer_pool	*p = pr->pool;
	pid_t			 pid = pr->pid;
	double			 lived = signer_mono() - pr->started_at;

	if (pr->state == PROC_DOWN || pr->state == PROC_STOPPED)
		return;
	if (pid > 0 && !p->has_spawner)
		kill(pid, SIGKILL);	/* a hung or confused signer must go */
	queue_to_limbo(p, pr);
	proc_close(pr, pr->gen->draining ? PROC_STOPPED : PROC_DOWN, false);
	if (pr->state == PROC_DOWN) {
		pr->backoff = lived > STABLE_AFTER || pr->backoff == 0 ? BACKOFF_MIN :
		    (pr->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : pr->backoff * 2);
		log_warnx("signer %d pid=%ld %s; restarting in %.1f s", pr->index,
		    (long)pid, why, pr->backoff);
		struct timeval tv = { (time_t)pr->backoff,
		    (suseconds_t)((pr->backoff - (double)(time_t)pr->backoff) * 1e6) };
		event_add(pr->ev_restart, &tv);
	} else {
		log_warnx("signer %d pid=%ld of an old generation %s", pr->index,
		    (long)pid, why);
	}
	limbo_drain(p);
}

/* ---- dispatch ---- */

/*
 * The least loaded ready signer of the current generation with room.
 * Requests of a dead signer (limbo) were accepted already: they may go
 * beyond the bound, which keeps the total within signers * queue_max.
 */
static struct proc *
pick(struct signer_pool *p, bool limbo)
{
	struct generation	*g = p->cur;
	struct proc		*best = NULL;

	for (size_t k = 0; k < g->n_procs; k++) {
		struct proc *pr = &g->procs[(p->rr + k) % g->n_procs];

		if (pr->state != PROC_READY || (!limbo && pr->depth >= p->queue_max))
			continue;
		if (best == NULL || pr->depth < best->depth)
			best = pr;
	}
	p->rr++;
	return best;
}

static void
enqueue(struct proc *pr, struct signer_request *r)
{
	r->proc = pr;
	r->sent = false;
	r->in_limbo = false;
	TAILQ_INSERT_TAIL(&pr->queue, r, entry);
	pr->depth++;
	proc_flush(pr);
}

/* Requests of a dead signer: retried once on another, else busy. */
static void
limbo_drain(struct signer_pool *p)
{
	struct signer_request	*r;
	struct proc		*to;

	while ((r = TAILQ_FIRST(&p->limbo)) != NULL) {
		TAILQ_REMOVE(&p->limbo, r, entry);
		if (r->cb == NULL) {
			request_free(p, r);
			continue;
		}
		/* Unsent requests were never tried: they may move freely. */
		if ((!r->sent || !r->retried) && (to = pick(p, true)) != NULL) {
			if (r->sent) {
				r->retried = true;
				p->stats.retried++;
			}
			enqueue(to, r);
			continue;
		}
		request_answer(p, r, SIGNER_BUSY, NULL, 0,
		    r->sent ? "signer died" : "no signer available");
	}
}

struct signer_request *
signer_pool_mint(struct signer_pool *p, const char *tenant, const char *email,
    signer_cb cb, void *arg, enum signer_status *ret_refusal)
{
	struct signer_request	*r;
	struct proc		*pr;

	if (strlen(tenant) > NAME_MAX_LEN || strlen(email) > EMAIL_MAX_LEN) {
		p->stats.failed++;
		*ret_refusal = SIGNER_FAILED;
		return NULL;
	}
	/* Room in a queue, or, every queue full, a tenant below its fair
	 * part (beyond the bound: the fair parts add up to at most the
	 * room, so the total stays within twice that). */
	if ((pr = pick(p, false)) == NULL && load_of(p, tenant) < fair_part(p))
		pr = pick(p, true);
	if (pr == NULL) {
		p->stats.busy++;
		*ret_refusal = SIGNER_BUSY;
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->wire.magic = SIGNER_WIRE_MAGIC;
	if (++p->next_id == 0)
		p->next_id = 1;
	r->wire.id = p->next_id;
	memcpy(r->wire.tenant, tenant, strlen(tenant));
	memcpy(r->wire.email, email, strlen(email));
	load_add(p, tenant);
	r->cb = cb;
	r->arg = arg;
	r->queued_at = signer_mono();
	p->stats.requests++;
	enqueue(pr, r);
	return r;
}

void
signer_pool_cancel(struct signer_pool *p, struct signer_request *r)
{
	if (r == NULL || r->cb == NULL)
		return;
	r->cb = NULL;
	p->stats.canceled++;
	if (!r->sent)
		p->stats.canceled_unsent++;
	/* Unsent and queued: gone at once, never signed.  Sent: its answer
	 * is dropped.  In limbo: dropped there. */
	if (r->proc != NULL && !r->sent && !r->in_limbo) {
		TAILQ_REMOVE(&r->proc->queue, r, entry);
		r->proc->depth--;
		request_free(p, r);
	}
}

void
signer_pool_set_tenants(struct signer_pool *p, size_t n_tenants)
{
	p->n_tenants = n_tenants;
}

/* ---- generations ---- */

static void
generation_free(struct generation *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->n_procs; i++) {
		struct proc *pr = &g->procs[i];

		if (pr->ev_restart != NULL)
			event_free(pr->ev_restart);
	}
	free(g->procs);
	free(g->config_path);
	free(g);
}

/* Stops every process of g now; their requests go to limbo. */
static void
generation_stop(struct signer_pool *p, struct generation *g, bool graceful)
{
	for (size_t i = 0; i < g->n_procs; i++) {
		struct proc		*pr = &g->procs[i];

		queue_to_limbo(p, pr);
		if (pr->ev_restart != NULL)
			event_del(pr->ev_restart);
		if (pr->state != PROC_STOPPED)
			proc_close(pr, PROC_STOPPED, graceful && pr->state == PROC_READY);
	}
}

/* A generation of n processes, none started. */
static struct generation *
generation_new(struct signer_pool *p, const char *config_path, size_t n,
    uint64_t number)
{
	struct generation	*g = xcalloc(1, sizeof(*g));

	g->number = number;
	g->config_path = config_path != NULL ? xstrdup(config_path) : NULL;
	g->procs = xcalloc(n, sizeof(*g->procs));
	g->n_procs = n;
	for (size_t i = 0; i < n; i++) {
		struct proc *pr = &g->procs[i];

		pr->pool = p;
		pr->gen = g;
		pr->index = (int)i + 1;
		pr->fd = -1;
		pr->state = PROC_STOPPED;
		TAILQ_INIT(&pr->queue);
		if ((pr->ev_restart = evtimer_new(p->base, proc_restart, pr)) == NULL)
			fatalx("evtimer_new");
	}
	return g;
}

/* A generation of the spawner's ready processes; the pool owns the fds. */
static struct generation *
generation_adopt(struct signer_pool *p, uint64_t number, const int *fds,
    const pid_t *pids, size_t n)
{
	struct generation	*g = generation_new(p, NULL, n, number);
	double			 now = signer_mono();

	for (size_t i = 0; i < n; i++) {
		struct proc *pr = &g->procs[i];

		pr->fd = fds[i];
		pr->pid = pids[i];
		pr->state = PROC_READY;
		pr->started_at = now;
		proc_events_add(pr);
	}
	return g;
}

/* Starts a generation of n signers and waits for them; NULL on failure. */
static struct generation *
generation_start(struct signer_pool *p, const char *config_path, size_t n,
    uint64_t number, char *errbuf, size_t errlen)
{
	struct generation	*g = generation_new(p, config_path, n, number);

	for (size_t i = 0; i < n; i++)
		if (p->local->spawn(&g->procs[i], errbuf, errlen) == -1)
			goto fail;
	if (p->local->wait_ready(p, g, errbuf, errlen) == -1)
		goto fail;
	for (size_t i = 0; i < n; i++)
		proc_events_add(&g->procs[i]);
	return g;
fail:
	generation_stop(p, g, false);
	p->local->reap_run(p, true);
	generation_free(g);
	return NULL;
}

/* Old generations: a drained process stops; a stopped generation goes. */
static void
drain_check(struct signer_pool *p)
{
	size_t	 i = 0;

	while (i < p->n_old) {
		struct generation	*g = p->old[i];
		bool			 live = false;

		for (size_t k = 0; k < g->n_procs; k++) {
			struct proc *pr = &g->procs[k];

			if (pr->state != PROC_STOPPED && pr->depth == 0)
				proc_close(pr, PROC_STOPPED, true);
			if (pr->state != PROC_STOPPED)
				live = true;
		}
		if (live) {
			i++;
			continue;
		}
		generation_free(g);
		p->old[i] = p->old[--p->n_old];
	}
}

/* Every TICK: hung signers, old generations, children to reap. */
static void
tick(evutil_socket_t fd, short what, void *arg)
{
	struct signer_pool	*p = arg;
	double			 now = signer_mono();
	struct generation	*gens[1 + 64];
	size_t			 n = 0;

	gens[n++] = p->cur;
	for (size_t i = 0; i < p->n_old && n < sizeof(gens) / sizeof(gens[0]); i++)
		gens[n++] = p->old[i];
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < gens[i]->n_procs; k++) {
			struct proc		*pr = &gens[i]->procs[k];
			struct signer_request	*r = TAILQ_FIRST(&pr->queue);

			/* A signer answers in order: the head's time runs from
			 * its sending or the previous answer, whichever is later.
			 * Answers already waiting are read first: a front that
			 * was not scheduled for a while has not seen a hang. */
			if (pr->state == PROC_READY && r != NULL && r->sent &&
			    now - (r->sent_at > pr->answered_at ? r->sent_at :
			    pr->answered_at) > p->request_timeout) {
				proc_readable(pr->fd, EV_READ, pr);
				r = TAILQ_FIRST(&pr->queue);
				if (pr->state == PROC_READY && r != NULL && r->sent &&
				    now - (r->sent_at > pr->answered_at ? r->sent_at :
				    pr->answered_at) > p->request_timeout)
					proc_down(pr, "did not answer in time");
			}
			else if (pr->state == PROC_STARTING &&
			    now - pr->started_at > p->start_timeout)
				proc_down(pr, "did not start in time");
		}
	}
	drain_check(p);
	if (p->local != NULL)
		p->local->reap_run(p, false);
}

static struct signer_pool *
pool_alloc(struct event_base *base, const struct signer_pool_options *o)
{
	struct signer_pool	*p;

	p = xcalloc(1, sizeof(*p));
	p->base = base;
	p->exe = xstrdup(o->exe != NULL ? o->exe : "/proc/self/exe");
	p->queue_max = o->queue_max > 0 ? o->queue_max : QUEUE_MAX_DEFAULT;
	p->n_tenants = o->n_tenants;
	p->request_timeout = o->request_timeout > 0 ? o->request_timeout :
	    REQUEST_TIMEOUT_DEFAULT;
	p->start_timeout = o->start_timeout > 0 ? o->start_timeout : START_TIMEOUT_DEFAULT;
	p->rbuf = xmalloc(READ_BUF + 1);
	TAILQ_INIT(&p->limbo);
	if (o->spawner != NULL) {
		p->spawner = *o->spawner;
		p->has_spawner = true;
	}
	return p;
}

static void
pool_tick_start(struct signer_pool *p)
{
	struct timeval		 tv = { 0, (suseconds_t)(TICK * 1e6) };

	if ((p->ev_tick = event_new(p->base, -1, EV_PERSIST, tick, p)) == NULL)
		fatalx("event_new");
	event_add(p->ev_tick, &tv);
}

/*
 * A pool that starts its own processes (signer_pool_new in signer_proc.c,
 * which alone knows fork and exec: the front's binary does not link it).
 */
struct signer_pool *
signer_pool_start(struct event_base *base, const struct signer_pool_options *o,
    const struct signer_local *local, char *errbuf, size_t errlen)
{
	struct signer_pool	*p;
	size_t			 n = o->signers > 0 ? o->signers :
	    signers_default(sysconf(_SC_NPROCESSORS_ONLN));

	if (o->config_path == NULL || o->spawner != NULL) {
		snprintf(errbuf, errlen, "no configuration file for the signers");
		return NULL;
	}
	if (n > MAX_SIGNERS) {
		snprintf(errbuf, errlen, "at most %d signers", MAX_SIGNERS);
		return NULL;
	}
	p = pool_alloc(base, o);
	p->local = local;
	if ((p->cur = generation_start(p, o->config_path, n, 1, errbuf, errlen)) == NULL) {
		p->local->reap_run(p, true);
		free(p->reaps);
		free(p->rbuf);
		free(p->exe);
		free(p);
		return NULL;
	}
	p->stats.generation = 1;
	pool_tick_start(p);
	return p;
}

struct signer_pool *
signer_pool_adopt_new(struct event_base *base, const struct signer_pool_options *o,
    uint64_t generation, const int *fds, const pid_t *pids, size_t n)
{
	struct signer_pool	*p;

	if (o->spawner == NULL || n == 0 || n > MAX_SIGNERS)
		return NULL;
	p = pool_alloc(base, o);
	p->cur = generation_adopt(p, generation, fds, pids, n);
	p->stats.generation = generation;
	pool_tick_start(p);
	return p;
}

int
signer_pool_reload(struct signer_pool *p, const char *config_path, char *errbuf,
    size_t errlen)
{
	struct generation	*g;
	const char		*path = config_path != NULL ? config_path : p->cur->config_path;

	g = generation_start(p, path, p->cur->n_procs, p->cur->number + 1, errbuf, errlen);
	if (g == NULL)
		return -1;
	generation_switch(p, g);
	return 0;
}

void
signer_pool_adopt(struct signer_pool *p, uint64_t generation, const int *fds,
    const pid_t *pids, size_t n)
{
	generation_switch(p, generation_adopt(p, generation, fds, pids, n));
}

/* Which process of which live generation; NULL when none. */
static struct proc *
proc_of(struct signer_pool *p, uint64_t gen, int index)
{
	struct generation	*g = p->cur->number == gen ? p->cur : NULL;

	for (size_t i = 0; g == NULL && i < p->n_old; i++)
		if (p->old[i]->number == gen)
			g = p->old[i];
	if (g == NULL || index < 1 || (size_t)index > g->n_procs)
		return NULL;
	return &g->procs[index - 1];
}

void
signer_pool_started(struct signer_pool *p, uint64_t gen, int index, uint32_t seq,
    pid_t pid, int fd)
{
	struct proc	*pr = proc_of(p, gen, index);

	if (pr == NULL || pr->state != PROC_STARTING || pr->start_seq != seq ||
	    pr->gen->draining) {
		/* An attempt given up (timed out, or its generation replaced). */
		close(fd);
		if (p->has_spawner && pid > 0)
			p->spawner.stop(p->spawner.arg, pid, false);
		return;
	}
	pr->fd = fd;
	pr->pid = pid;
	pr->state = PROC_READY;
	log_info("signer %d ready pid=%ld generation=%llu", pr->index, (long)pid,
	    (unsigned long long)gen);
	proc_events_add(pr);
}

void
signer_pool_start_failed(struct signer_pool *p, uint64_t gen, int index, uint32_t seq,
    const char *why)
{
	struct proc	*pr = proc_of(p, gen, index);
	char		 reason[300];

	if (pr == NULL || pr->state != PROC_STARTING || pr->start_seq != seq)
		return;
	snprintf(reason, sizeof(reason), "failed to start: %s", why);
	proc_down(pr, reason);
}

/* g becomes current; the current one drains and stops. */
static void
generation_switch(struct signer_pool *p, struct generation *g)
{
	p->cur->draining = true;
	for (size_t i = 0; i < p->cur->n_procs; i++) {
		struct proc *pr = &p->cur->procs[i];

		/* A signer waiting for its restart is not needed any more. */
		event_del(pr->ev_restart);
		if (pr->state == PROC_DOWN || pr->state == PROC_STARTING)
			proc_close(pr, PROC_STOPPED, false);
	}
	p->old = reallocarray(p->old, p->n_old + 1, sizeof(*p->old));
	if (p->old == NULL)
		fatal("reallocarray");
	p->old[p->n_old++] = p->cur;
	p->cur = g;
	p->stats.generation = g->number;
	drain_check(p);
	limbo_drain(p);
}

void
signer_pool_free(struct signer_pool *p)
{
	struct signer_request	*r;

	if (p == NULL)
		return;
	generation_stop(p, p->cur, true);
	for (size_t i = 0; i < p->n_old; i++)
		generation_stop(p, p->old[i], true);
	/* Nobody is answered: the caller is going away. */
	while ((r = TAILQ_FIRST(&p->limbo)) != NULL) {
		TAILQ_REMOVE(&p->limbo, r, entry);
		request_free(p, r);
	}
	if (p->local != NULL)
		p->local->reap_run(p, true);
	generation_free(p->cur);
	for (size_t i = 0; i < p->n_old; i++)
		generation_free(p->old[i]);
	free(p->old);
	free(p->loads);
	if (p->ev_tick != NULL)
		event_free(p->ev_tick);
	OPENSSL_cleanse(p->rbuf, READ_BUF + 1);
	free(p->rbuf);
	free(p->reaps);
	free(p->exe);
	free(p);
}

static void
count_gen(const struct generation *g, struct signer_pool_stats *s, bool current)
{
	for (size_t i = 0; i < g->n_procs; i++) {
		const struct proc *pr = &g->procs[i];

		s->queue_depth += pr->depth;
		if (current) {
			s->signers++;
			s->ready += pr->state == PROC_READY;
		} else if (pr->state != PROC_STOPPED) {
			s->draining++;
		}
	}
}

void
signer_pool_stats(const struct signer_pool *p, struct signer_pool_stats *s)
{
	*s = p->stats;
	s->signers = s->ready = s->draining = s->queue_depth = 0;
	s->queue_max = p->queue_max;
	count_gen(p->cur, s, true);
	for (size_t i = 0; i < p->n_old; i++)
		count_gen(p->old[i], s, false);
}

size_t
signer_pool_processes(const struct signer_pool *p, struct signer_process_info *out,
    size_t max)
{
	size_t	 n = 0;

	for (size_t gi = 0; gi <= p->n_old; gi++) {
		const struct generation *g = gi == 0 ? p->cur : p->old[gi - 1];

		for (size_t i = 0; i < g->n_procs && n < max; i++) {
			const struct proc *pr = &g->procs[i];

			if (gi > 0 && pr->state == PROC_STOPPED)
				continue;
			out[n].index = pr->index;
			out[n].pid = pr->pid;
			out[n].generation = g->number;
			out[n].ready = pr->state == PROC_READY;
			out[n].draining = g->draining;
			out[n].queue_depth = pr->depth;
			out[n].restarts = pr->restarts;
			n++;
		}
	}
	return n;
}
