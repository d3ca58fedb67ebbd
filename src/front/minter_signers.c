/* SPDX-License-Identifier: Apache-2.0 */
/*
 * minter_signers.c - the broker's minter over the signer pool (signer.c):
 * how `samlbroker serve`, whose front holds no private key, gets its
 * SAMLResponses signed by the signer processes.
 *
 * Owns the struct minter_ops adapter: a mint becomes a signer_pool_mint
 * request, and the pool's answer a mint_result (SIGNER_BUSY is MINT_BUSY
 * with Retry-After, anything else that is not OK is MINT_FAILED).  A
 * request the pool refuses at once (every queue full, no signer up) is
 * answered from a zero timer, so that the seam's contract (exactly once,
 * never before start returns, cancelable) holds.  Its reconfigure only
 * tells the pool how many tenants share it (for their shares): the server
 * reloads the pool itself before it reconfigures the broker.
 * It does not log (the broker logs the message of a FAILED or BUSY result).
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "samlbroker.h"

struct signers_job {
	struct minter_signers	*m;
	struct signer_request	*req;		/* while the pool has it */
	struct event		*ev;		/* a refusal, answered from the loop */
	struct mint_result	 res;		/* the refusal */
	mint_cb			 cb;
	void			*arg;
	LIST_ENTRY(signers_job) entry;
};

struct minter_signers {
	struct event_base	*base;
	struct signer_pool	*pool;
	LIST_HEAD(, signers_job) jobs;		/* pending, for cancel and free */
};

struct minter_signers *
minter_signers_new(struct event_base *base, struct signer_pool *pool)
{
	struct minter_signers	*m = xcalloc(1, sizeof(*m));

	m->base = base;
	m->pool = pool;
	return m;
}

static void
job_unlink_free(struct signers_job *j)
{
	struct minter_signers	*m = j->m;

	LIST_REMOVE(j, entry);
	if (j->req != NULL)
		signer_pool_cancel(m->pool, j->req);
	if (j->ev != NULL)
		event_free(j->ev);
	free(j);
}

void
minter_signers_free(struct minter_signers *m)
{
	if (m == NULL)
		return;
	while (!LIST_EMPTY(&m->jobs))
		job_unlink_free(LIST_FIRST(&m->jobs));
	free(m);
}

static void
refusal_fire(evutil_socket_t fd, short what, void *arg)
{
	struct signers_job	*j = arg;

	j->cb(&j->res, j->arg);
	job_unlink_free(j);
}

static void
signed_cb(const struct signer_result *sr, void *arg)
{
	struct signers_job	*j = arg;
	struct mint_result	 res;

	j->req = NULL;		/* the pool frees it after this callback */
	memset(&res, 0, sizeof(res));
	switch (sr->status) {
	case SIGNER_OK:
		res.outcome = MINT_OK;
		res.saml_response_b64 = xstrdup(sr->saml_response_b64);
		res.not_on_or_after = sr->not_on_or_after;
		break;
	case SIGNER_BUSY:
		res.outcome = MINT_BUSY;
		res.retry_after = SIGNER_RETRY_AFTER;
		snprintf(res.message, sizeof(res.message), "%s",
		    sr->error != NULL ? sr->error : "every signer is busy");
		break;
	default:
		res.outcome = MINT_FAILED;
		snprintf(res.message, sizeof(res.message), "%s",
		    sr->error != NULL ? sr->error : "the signer could not sign");
		break;
	}
	j->cb(&res, j->arg);
	secret_free(res.saml_response_b64);
	job_unlink_free(j);
}

static void *
signers_start(void *impl, const char *tenant, const char *email, double now,
    mint_cb cb, void *arg)
{
	struct minter_signers	*m = impl;
	struct signers_job	*j = xcalloc(1, sizeof(*j));
	struct timeval		 zero = { 0, 0 };
	enum signer_status	 refusal = SIGNER_FAILED;

	j->m = m;
	j->cb = cb;
	j->arg = arg;
	/* now is not sent: the signers sign for their own clock. */
	(void)now;
	j->req = signer_pool_mint(m->pool, tenant, email, signed_cb, j, &refusal);
	if (j->req == NULL) {
		if ((j->ev = evtimer_new(m->base, refusal_fire, j)) == NULL ||
		    evtimer_add(j->ev, &zero) == -1) {
			if (j->ev != NULL)
				event_free(j->ev);
			free(j);
			return NULL;
		}
		if (refusal == SIGNER_BUSY) {
			j->res.outcome = MINT_BUSY;
			j->res.retry_after = SIGNER_RETRY_AFTER;
			snprintf(j->res.message, sizeof(j->res.message),
			    "every signer queue is full or the tenant has its share");
		} else {
			j->res.outcome = MINT_FAILED;
			snprintf(j->res.message, sizeof(j->res.message),
			    "request refused by the signer pool");
		}
	}
	LIST_INSERT_HEAD(&m->jobs, j, entry);
	return j;
}

static void
signers_cancel(void *impl, void *handle)
{
	if (handle != NULL)
		job_unlink_free(handle);
}

/* Never fails: the broker takes conf after this. */
static int
signers_reconfigure(void *impl, const struct broker_config *conf, char *errbuf,
    size_t errlen)
{
	struct minter_signers	*m = impl;

	signer_pool_set_tenants(m->pool, conf->n_tenants);
	return 0;
}

const struct minter_ops minter_signers_ops = {
	signers_start, signers_cancel, signers_reconfigure
};
