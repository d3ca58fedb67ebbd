/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broker_fixture.h - what tests/test_broker.c and tests/test_broker_seams.c
 * share: a fake token endpoint behind struct upstream_ops, a fake minter
 * behind struct minter_ops, configurations made by hand, the broker on a
 * loop of its own, and callers that record every answer.
 *
 * The fake endpoint records each request and answers as the test scripts
 * it, from a zero timer on the broker's loop (never inside start), or
 * holds a request until the test releases it; scripted HTTP answers go
 * through the real reader (upstream_answer_read).  The broker's clock is
 * `fake`, which tests move; nothing waits in real time.
 */
#ifndef BROKER_FIXTURE_H
#define BROKER_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "samlbroker.h"

/* 2027-01-15T08:00:00Z, in the fixture certificate's validity. */
#define T0		1800000000.0
#define USER		"agent.smith@example.com"
#define ISSUER		"https://www.genesys.com/pureengage"
#define ORG		"acme-org"
#define URL		"https://login.example.com/oauth/token"
/* base64("svc-id:svc-secret") and base64("saml-client:saml-secret") */
#define AUTH_SVC	"Basic c3ZjLWlkOnN2Yy1zZWNyZXQ="
#define AUTH_SAML	"Basic c2FtbC1jbGllbnQ6c2FtbC1zZWNyZXQ="

#define MAX_SEEN	128
#define MAX_HELD	8
#define MAX_GOT		128
#define MAX_SCRIPT	64

enum act {
	ACT_TOKEN,	/* 200 with tok-N (N: the request's number) */
	ACT_STATUS,	/* status, body, optional Retry-After */
	ACT_TIMEOUT,	/* no answer in time */
	ACT_HOLD	/* keep the request until the test releases it */
};

struct behaviour {
	enum act	 act;
	long		 expires_in;
	int		 status;
	const char	*body;
	const char	*retry_after;
};

struct seen {
	char		 grant;		/* 'S' saml2-bearer, 'C' client credentials */
	char		 authorization[128];
	bool		 has_org;	/* orgName acme-org and an assertion */
};

struct got {
	int		 status;
	char		 error[64];
	char		 message[256];
	char		 upstream_error[64];
	char		 token[64];
	bool		 has_error, has_upstream_error, has_token;
	double		 expires_at;
	double		 retry_after;
	bool		 from_cache;
	char		*saml;		/* broker_mint's answer */
	double		 not_on_or_after;
};

struct fixture;

/* One request to the fake token endpoint. */
struct call {
	struct fixture		*f;
	upstream_cb		 cb;
	void			*arg;
	enum grant_kind		 grant;
	int			 num;
	struct behaviour	 b;
	struct event		*ev;	/* the answer, once scheduled */
	struct call		*next;
};

/* The fake minter's script (when a test installs it). */
struct fake_mint {
	struct fixture		*f;
	enum mint_outcome	 outcome;
	mint_cb			 cb;
	void			*arg;
	struct event		*ev;
	bool			 live;
};

struct fixture {
	struct event_base	*base;
	struct event		*ticker;

	struct behaviour	 dflt;
	struct behaviour	 script[MAX_SCRIPT];
	int			 n_script, next_script;

	int			 n_requests;
	struct seen		 seen[MAX_SEEN];
	struct call		*calls;		/* started, not yet answered */
	int			 n_calls;
	int			 n_held;
	int			 n_cancelled;

	bool			 fake_minter;	/* broker_start uses the fake */
	struct minter_local	*local_minter;	/* else this one, signing here */
	enum mint_outcome	 mint_outcome;
	struct fake_mint	 mints[8];
	int			 n_mints, n_mint_cancels;

	struct broker		*broker;
	struct got		 got[MAX_GOT];
	int			 n_got;

	/* Re-entrant callbacks (the regression tests). */
	const char		*reenter_subject;
	bool			 reenter_evict;
	int			 reenter_calls;
};

extern double			 fake;	/* the broker's clock */
extern const struct behaviour	 hold, timeout_;

#define X4(a, b, c, d)	((const uint64_t[4]){ a, b, c, d })
#define BUSY_MSG	"too many token exchanges in progress"

void	 fixture_global_init(void);	/* keys, libraries; once per program */
void	 fixture_global_shutdown(void);
struct fixture *fixture_new(void);
void	 fixture_free(struct fixture *);	/* checks that nothing is left started */
int	 setup(void **state);		/* one tenant, acme */
int	 setup_bare(void **state);	/* no broker: the test starts one */
int	 teardown(void **state);
/* Tenants acme (24 h, digest 1) and, with two, beta (digest 2). */
struct broker_config *config_make(const struct fixture *, size_t n_tenants,
	    size_t max_cached);
void	 broker_start(struct fixture *, struct broker_config *);

void	 script_add(struct fixture *, struct behaviour);
struct behaviour token(long expires_in);
struct behaviour status(int st, const char *body, const char *retry_after);
void	 release(struct fixture *, struct behaviour);	/* the oldest held request */

void	 drain(struct fixture *);	/* runs what is ready, without waiting */
bool	 wait_for(struct fixture *, const int *counter, int target, double seconds);
void	 run_until(struct fixture *, const int *counter, int target, double seconds);
uint64_t exchanges_total(const struct fixture *);
void	 wait_exchanges(struct fixture *, uint64_t n);

void	 record_reply(struct fixture *, const struct broker_reply *);
void	 got_cb(const struct broker_reply *, void *fixture);
struct got *get_sync(struct fixture *, const char *tenant, enum token_kind,
	    const char *subject);
struct got *get_async(struct fixture *, const char *tenant, enum token_kind,
	    const char *subject);
struct got *mint(struct fixture *, const char *tenant, const char *email);
void	 assert_token(const struct got *, const char *tok, double expires_at,
	    bool from_cache);
void	 assert_failure(const struct got *, int st, const char *error,
	    const char *message);
void	 assert_stats(const struct fixture *, size_t ti, uint64_t hits,
	    uint64_t misses, uint64_t mints);
/* Completed exchanges by grant and outcome (ok, rejected, unavailable, timeout). */
void	 assert_exchanges(const struct fixture *, const uint64_t saml[4],
	    const uint64_t cc[4]);

#endif /* BROKER_FIXTURE_H */
