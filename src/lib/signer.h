/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signer.h - the wire format between the front (signer.c) and its signer
 * processes (signer_main.c), private to those two files.
 *
 * One socketpair of type SOCK_SEQPACKET per signer: every message is one
 * packet, so there is no framing to get wrong.  The front sends fixed-size
 * requests; the signer answers each, in order, with a header and a text
 * (the base64 SAMLResponse, or a short error that never holds a secret).
 * The first packet a signer sends is READY (or FAILED with the reason,
 * after which it exits).  Both sides check every field they receive.
 *
 * A signer signs only for its own clock: the front's time in a request is
 * a check, not an input.  A request whose time is not finite or differs
 * from the signer's clock by more than SIGNER_TIME_SKEW is REFUSED, so a
 * front taken over cannot obtain assertions for another time.
 */
#ifndef SIGNER_H
#define SIGNER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "samlbroker.h"

#define SIGNER_WIRE_MAGIC	0x53424d31u	/* "SBM1" */
#define SIGNER_WIRE_FD		3		/* the signer's end, after exec */
#define SIGNER_WIRE_MAX_TEXT	(64 * 1024)	/* a SAMLResponse is ~8 KiB */
/* A starting signer's reasons for failing (a line per problem), at most. */
#define SIGNER_FAILURE_MAX	2048
/* Seconds the front's time may differ from the signer's (the same host
 * clock, read on either side of one socketpair). */
#define SIGNER_TIME_SKEW	5.0
/* Requests sent to one signer and not yet answered, at most: the rest wait
 * in the front, where a canceled one is dropped without being signed. */
#define SIGNER_IN_FLIGHT	2

struct signer_wire_request {
	uint32_t	 magic;
	uint32_t	 id;		/* echoed in the reply */
	double		 now;		/* the front's clock when it sent this */
	char		 tenant[NAME_MAX_LEN + 1];	/* NUL-terminated */
	char		 email[EMAIL_MAX_LEN + 1];	/* NUL-terminated */
};

enum signer_wire_status {
	SIGNER_WIRE_READY = 1,		/* start-up done; id 0 */
	SIGNER_WIRE_OK,			/* text: the base64 SAMLResponse */
	SIGNER_WIRE_FAILED,		/* text: why (never a secret) */
	SIGNER_WIRE_UNKNOWN_TENANT,	/* no such tenant in this signer's configuration */
	SIGNER_WIRE_REFUSED		/* text: why; e.g. the time is out of range */
};

struct signer_wire_reply {
	uint32_t	 magic;
	uint32_t	 id;
	uint32_t	 status;	/* enum signer_wire_status */
	uint32_t	 len;		/* bytes of text after the header, no NUL */
	double		 not_on_or_after;	/* OK only */
};

/*
 * The pool's own state, shared by signer.c (dispatch, answers,
 * generations) and signer_proc.c (starting, waiting for and reaping
 * processes).
 */
#define STOP_GRACE		2.0	/* seconds from EOF to SIGTERM, and to SIGKILL */
#define MAX_SIGNERS		256
#define READ_BUF		(sizeof(struct signer_wire_reply) + SIGNER_WIRE_MAX_TEXT)

struct event;
enum proc_state { PROC_STARTING, PROC_READY, PROC_DOWN, PROC_STOPPED };

struct signer_request {
	TAILQ_ENTRY(signer_request) entry;
	struct proc		*proc;		/* whose queue holds it; NULL in limbo */
	struct signer_wire_request wire;
	signer_cb		 cb;		/* NULL: canceled */
	void			*arg;
	bool			 sent;
	bool			 retried;
	bool			 in_limbo;	/* being answered or moved by proc_down */
	double			 queued_at;	/* monotonic */
	double			 sent_at;
};
TAILQ_HEAD(request_list, signer_request);

struct proc {
	struct signer_pool	*pool;
	struct generation	*gen;
	int			 index;
	enum proc_state		 state;
	pid_t			 pid;
	int			 fd;
	struct event		*ev_read;
	struct event		*ev_write;
	struct event		*ev_restart;
	struct request_list	 queue;		/* sent ones first, in order */
	size_t			 depth;
	double			 started_at;
	double			 answered_at;	/* last answer: the head's work began then */
	double			 backoff;
	uint64_t		 restarts;
	uint32_t		 start_seq;	/* the spawner's current attempt */
};

struct generation {
	uint64_t		 number;
	char			*config_path;
	struct proc		*procs;
	size_t			 n_procs;
	bool			 draining;
};

/* A child being stopped: waited for without blocking the loop. */
struct reap {
	pid_t	 pid;
	double	 since;
	int	 signals;	/* 0, then SIGTERM sent, then SIGKILL sent */
	bool	 graceful;	/* told to stop by EOF: must exit with status 0 */
};

/* A tenant's mints accepted and not yet answered, for its share. */
struct tenant_load {
	char			 name[NAME_MAX_LEN + 1];
	size_t			 queued;
};

struct signer_pool {
	struct event_base	*base;
	char			*exe;
	size_t			 queue_max;
	size_t			 n_tenants;	/* of the configuration, for shares */
	struct tenant_load	*loads;		/* tenants with mints queued */
	size_t			 n_loads;
	double			 request_timeout;
	double			 start_timeout;
	struct generation	*cur;
	struct generation	**old;		/* draining generations */
	size_t			 n_old;
	struct reap		*reaps;
	size_t			 n_reaps;
	struct event		*ev_tick;
	struct request_list	 limbo;
	uint32_t		 next_id;
	size_t			 rr;
	unsigned char		*rbuf;		/* one answer; wiped after each */
	struct signer_pool_stats stats;
	bool			 has_spawner;	/* the master starts processes */
	struct signer_spawner	 spawner;
	const struct signer_local *local;	/* else the pool does (signer_proc.c) */
};

/* How a pool without a spawner starts and reaps its own processes
 * (signer_proc.c, for tests and bench_pool): signer.c reaches fork and
 * exec only through this table, so the front's binary does not link them. */
struct signer_local {
	int	(*spawn)(struct proc *, char *errbuf, size_t errlen);
	int	(*wait_ready)(struct signer_pool *, struct generation *, char *errbuf,
		    size_t errlen);
	void	(*reap_add)(struct signer_pool *, pid_t, bool graceful);
	void	(*reap_run)(struct signer_pool *, bool block);
};

/* signer.c */
double	 signer_mono(void);
/* signer_pool_new's body, with the local table. */
struct signer_pool *signer_pool_start(struct event_base *, const struct signer_pool_options *,
	    const struct signer_local *, char *errbuf, size_t errlen);

/* signer_proc.c */
/* Forks and execs `exe signer` with argv's options after "signer" and its
 * end of a new socketpair on SIGNER_WIRE_FD (extra_fd, if not -1, on
 * SIGNER_WIRE_FD + 1) and environment envp; our end (non-blocking) in
 * *ret_fd.  The pid, or -1 with errbuf. */
pid_t	 signer_exec(const char *exe, char *const opts[], int extra_fd,
	    char *const envp[], int *ret_fd, char *errbuf, size_t errlen);
/* The same for any argv (argv[0] becomes the process's title): the
 * negotiator's start (master.c). */
pid_t	 child_spawn(const char *exe, char *const argv[], int extra_fd,
	    char *const envp[], int *ret_fd, char *errbuf, size_t errlen);
int	 signer_proc_spawn(struct proc *, char *errbuf, size_t errlen);
void	 signer_reap_add(struct signer_pool *, pid_t, bool graceful);
/* Waits for stopped children: EOF, then SIGTERM, then SIGKILL; block
 * waits until none is left. */
void	 signer_reap_run(struct signer_pool *, bool block);
int	 signer_generation_wait_ready(struct signer_pool *, struct generation *,
	    char *errbuf, size_t errlen);

#endif /* SIGNER_H */
