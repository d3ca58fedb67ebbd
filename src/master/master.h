/* SPDX-License-Identifier: Apache-2.0 */
/*
 * master.h - the master's own parts (master.c, master_listen.c), shared
 * with their tests.  The wire to the front is master_wire.h.
 */
#ifndef SAMLBROKER_MASTER_H
#define SAMLBROKER_MASTER_H

#include <stdbool.h>
#include <sys/types.h>

#include "samlbroker.h"

/* One listening socket, until it is handed to the front. */
struct master_listener {
	int		 fd;		/* -1 once handed over */
	bool		 admin;		/* admin_listen or systemd's "admin" */
	bool		 inherited;	/* socket activation */
	char		 text[512];	/* the address as written, for logs */
	char		 path[108];	/* a UNIX socket's path */
	dev_t		 dev;		/* our socket file, to remove at the end */
	ino_t		 ino;		/* (0: nothing to remove) */
};

/* master_listen.c */
/* Opens (or inherits) every listener; -1 with the reason logged. */
int	 master_listeners_open(const struct broker_config *,
	    struct master_listener **ret, size_t *ret_n);
/* Closes what is open, removes our socket files (remove_files), frees. */
void	 master_listeners_close(struct master_listener *, size_t n, bool remove_files);

/* master_cache.c - the persistent token cache's files (sealed, one per
 * tenant, under STATE_DIRECTORY/cache) */
struct mcache;
/* The files of a generation's tenants, each with its derived key; NULL
 * without a state_directory (nothing is kept, nothing removed). */
struct mcache *mcache_new(const struct broker_config *);
void	 mcache_free(struct mcache *);
/* At start: removes the files no tenant owns (all of them when
 * persistent_cache is no), reads every tenant's file back and returns the
 * unexpired tokens as a batch in a memfd for the front, or -1 (none). */
int	 mcache_load(const struct mcache *);
/* A batch from the front: each tenant's file rewritten (or removed when
 * it holds nothing); -1 when the batch is malformed. */
int	 mcache_save(const struct mcache *, const char *buf, size_t len);
/* A new generation taken: the files of tenants it lost go. */
void	 mcache_prune(const struct mcache *old, const struct mcache *new);
/* The largest batch the master reads. */
size_t	 mcache_batch_max(void);

#endif
