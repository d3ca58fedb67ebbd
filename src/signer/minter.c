/* SPDX-License-Identifier: Apache-2.0 */
/*
 * minter.c - the in-process minter: signed SAMLResponses through the
 * asynchronous struct minter_ops seam, signed here with saml.c.
 *
 * The broker asks for mints only through struct minter_ops, so that a
 * minter in other processes (signers holding the keys) can answer later
 * on the event loop.  This one signs at once, keeps the result in a job
 * and answers from a zero timer, so that the contract (exactly once,
 * never before start returns, cancelable) holds here too.  It owns one
 * saml_signer per tenant, replaced on reconfigure; a pending job holds its
 * finished result, never a signer.  It does not log (the broker logs the
 * message of a FAILED result).
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "samlbroker.h"

struct signer_slot {
	char			*tenant;
	struct saml_signer	*signer;
};

struct mint_job {
	struct minter_local	*m;
	struct event		*ev;
	struct mint_result	 res;
	mint_cb			 cb;
	void			*arg;
	LIST_ENTRY(mint_job) entry;
};

struct minter_local {
	struct event_base	*base;
	struct signer_slot	*slots;
	size_t			 n_slots;
	LIST_HEAD(, mint_job) jobs;		/* pending, for cancel and free */
};

static void
slots_free(struct signer_slot *slots, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		saml_signer_free(slots[i].signer);
		free(slots[i].tenant);
	}
	free(slots);
}

static struct signer_slot *
slots_new(const struct broker_config *conf, char *errbuf, size_t errlen)
{
	struct signer_slot	*slots = xcalloc(conf->n_tenants + 1, sizeof(*slots));

	for (size_t i = 0; i < conf->n_tenants; i++) {
		slots[i].tenant = xstrdup(conf->tenants[i]->name);
		slots[i].signer = saml_signer_new(conf->tenants[i], errbuf, errlen);
		if (slots[i].signer == NULL) {
			slots_free(slots, i + 1);
			return NULL;
		}
	}
	return slots;
}

struct minter_local *
minter_local_new(struct event_base *base, const struct broker_config *conf,
    char *errbuf, size_t errlen)
{
	struct minter_local	*m = xcalloc(1, sizeof(*m));

	m->base = base;
	if ((m->slots = slots_new(conf, errbuf, errlen)) == NULL) {
		free(m);
		return NULL;
	}
	m->n_slots = conf->n_tenants;
	return m;
}

static void
job_unlink_free(struct mint_job *j)
{
	LIST_REMOVE(j, entry);
	event_free(j->ev);
	secret_free(j->res.saml_response_b64);
	free(j);
}

void
minter_local_free(struct minter_local *m)
{
	if (m == NULL)
		return;
	while (!LIST_EMPTY(&m->jobs))
		job_unlink_free(LIST_FIRST(&m->jobs));
	slots_free(m->slots, m->n_slots);
	free(m);
}

static void
job_fire(evutil_socket_t fd, short what, void *arg)
{
	struct mint_job	*j = arg;

	/* The callback may start or cancel other mints, not this one. */
	j->cb(&j->res, j->arg);
	job_unlink_free(j);
}

static void *
local_start(void *impl, const char *tenant, const char *email, double now,
    mint_cb cb, void *arg)
{
	struct minter_local	*m = impl;
	struct signer_slot	*slot = NULL;
	struct mint_job		*j;
	struct timeval		 zero = { 0, 0 };
	char			 err[sizeof(j->res.message)];

	for (size_t i = 0; i < m->n_slots; i++)
		if (strcmp(m->slots[i].tenant, tenant) == 0)
			slot = &m->slots[i];
	j = xcalloc(1, sizeof(*j));
	j->m = m;
	j->cb = cb;
	j->arg = arg;
	if ((j->ev = evtimer_new(m->base, job_fire, j)) == NULL ||
	    evtimer_add(j->ev, &zero) == -1) {
		if (j->ev != NULL)
			event_free(j->ev);
		free(j);
		return NULL;
	}
	if (slot == NULL) {
		j->res.outcome = MINT_FAILED;
		snprintf(j->res.message, sizeof(j->res.message), "no key for this tenant");
	} else if (saml_mint_response_b64(slot->signer, email, now,
	    &j->res.saml_response_b64, &j->res.not_on_or_after, err,
	    sizeof(err)) == -1) {
		j->res.outcome = MINT_FAILED;
		memcpy(j->res.message, err, sizeof(err));
	} else
		j->res.outcome = MINT_OK;
	LIST_INSERT_HEAD(&m->jobs, j, entry);
	return j;
}

static void
local_cancel(void *impl, void *handle)
{
	if (handle != NULL)
		job_unlink_free(handle);
}

static int
local_reconfigure(void *impl, const struct broker_config *conf, char *errbuf,
    size_t errlen)
{
	struct minter_local	*m = impl;
	struct signer_slot	*slots;

	if ((slots = slots_new(conf, errbuf, errlen)) == NULL)
		return -1;
	slots_free(m->slots, m->n_slots);
	m->slots = slots;
	m->n_slots = conf->n_tenants;
	return 0;
}

const struct minter_ops minter_local_ops = {
	local_start, local_cancel, local_reconfigure
};
