/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broker_int.h - what broker.c and broker_exchange.c share: the broker's
 * state and the per-entry policy state it hangs on cache entries.  Private
 * to those two files.
 */
#ifndef BROKER_INT_H
#define BROKER_INT_H

#include "samlbroker.h"

struct waiter {
	broker_cb		 cb;
	void			*arg;
	struct cache_entry	*entry;		/* pinned while anyone waits */
	struct waiter		*next;
};

/* The broker's state for one cache entry, hung on its data. */
struct entry_state {
	struct policy	 pol;
	struct waiter	*waiters;	/* only while pol.in_flight */
	struct exchange	*exchange;	/* queued or in progress, else NULL */
};

struct tenant_state {
	struct tenant_stats	 stats;
	struct client_stats	*clients;	/* tenant_client's order */
	size_t			 n_clients;
	size_t			 running;	/* exchanges in progress */
	size_t			 queued;	/* exchanges waiting for their pace */
	double			 expiry_logged;	/* the last certificate_expiry line */
	bool			 persist_dirty;	/* tokens changed since the last save */
	bool			 persist_seen;	/* broker_persist_dump's own */
};

struct exchange;
struct mint_req;
struct pacer;

struct broker {
	struct event_base	*base;
	struct broker_config	*conf;
	struct tenant_state	*tstate;	/* parallel to conf->tenants */
	struct cache		*cache;
	const struct upstream_ops *uops;
	void			*uimpl;
	const struct minter_ops	*mops;
	void			*mimpl;
	struct upstream		*own_upstream;	/* when uops is the real one */
	struct event		*sweep;
	struct upstream_stats	 ustats;
	struct exchange		*exchanges;	/* queued or in progress */
	size_t			 running;	/* those in progress */
	struct pacer		*pacers;	/* one per organization */
	struct mint_req		*mints;		/* broker_mint calls pending */
	struct cache_redis	*redis;		/* the shared cache, or NULL */
};

static inline struct entry_state *
entry_state(const struct cache_entry *e)
{
	return e->data;
}

/* broker.c */
ssize_t	 broker_tenant_index(const struct broker *, const char *name);
/* The entry for a key, created with its state if absent. */
struct cache_entry *broker_entry_get(struct broker *, ssize_t ti, enum token_kind,
	    const char *subject);
void	 broker_answer_entry(const struct broker *, const struct cache_entry *,
	    double now, bool from_cache, broker_cb, void *arg);
/* Answers every waiter of e from the entry, read once before any callback
 * (which may evict it); clear_token: the cache then keeps no token. */
void	 broker_answer_waiters(const struct broker *, struct cache_entry *, double now,
	    bool clear_token);
/* A client's stats by section name ("saml_auth" or a service), or NULL. */
struct client_stats *broker_client_find(struct broker *, const char *tenant,
	    const char *client);

/* broker_exchange.c */
/* Starts an exchange for e (minting first for a user), or queues it for
 * its organization's pace; -1 with why. */
int	 exchange_start(struct broker *, struct cache_entry *, const char **why);
/* Seconds until e's queued exchange is expected to be answered; 0 when it
 * is not queued (in progress, or none). */
double	 exchange_queued_eta(struct broker *, const struct cache_entry *);
/* Whether a tenant may queue another exchange. */
bool	 exchange_may_queue(struct broker *, const char *tenant);
/* Frees every organization's pace (after exchange_cancel_all). */
void	 exchange_pacers_free(struct broker *);
/* Cancels every exchange (no callbacks; waiters stay for the caller). */
void	 exchange_cancel_all(struct broker *);
/* A tenant changed on reload: exchanges for e keep no token. */
void	 exchange_discard(struct broker *, const struct cache_entry *);
/* Recounts each tenant's exchanges in progress (after a reload). */
void	 exchange_recount(struct broker *);
/* Nobody waits for e's exchange any more: if it is still signing, its mint
 * is canceled and it ends (no callback); returns whether it did. */
bool	 exchange_cancel_minting(struct broker *, struct cache_entry *);

/* broker_persist.c */
/* The tenant's tokens changed (one taken, wiped or evicted): its file is
 * rewritten at the next save. */
void	 broker_persist_mark(struct broker *, const char *tenant);

#endif /* BROKER_INT_H */
