/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signer_fixture.h - what the signer tests share (signer_fixture.c): a
 * temporary configuration with two tenants (acme: the vendor-pkcs8
 * fixture key, globex: vendor-traditional), a libevent loop to run until
 * a condition holds, pools of real signer processes of the built binary,
 * the check that none of their processes is left, and xmlsec verification
 * of a base64 SAMLResponse.
 */
#ifndef SIGNER_FIXTURE_H
#define SIGNER_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "samlbroker.h"

#define EMAIL		"agent.smith@example.com"
#define MAX_PIDS	64


/* One pending mint's outcome. */
struct outcome {
	bool		 done;
	int		 calls;
	enum signer_status status;
	char		*b64;
	char		 error[256];
};

extern struct event_base *base;
extern char	 tmpdir[64];		/* holds samlbroker.conf and tenants/ */
extern char	 conf_path[512];
extern char	 exe[4096];		/* $top_builddir/samlbroker */

int	 fixture_setup(void **state);	/* cmocka group setup */
int	 fixture_teardown(void **state);
const char *top(const char *var);	/* $top_srcdir or $top_builddir, "." unset */
/* tenants/NAME.cfg with the key of a fixture directory; the password of
 * that directory unless password_override. */
void	 write_tenant(const char *name, const char *keydir, const char *password_override);
double	 mono(void);
/* Runs the loop until cond(arg) or seconds pass; whether it holds. */
bool	 run_until(bool (*cond)(void *), void *arg, double seconds);
bool	 is_done(void *arg);		/* arg: struct outcome */
void	 on_result(const struct signer_result *, void *arg);	/* fills an outcome */
void	 outcome_clear(struct outcome *);
struct signer_pool *pool_new(size_t signers, size_t queue_max);
struct signer_pool *pool_new_timeout(size_t signers, size_t queue_max,
	    double request_timeout);
/* The pool's current pids (and remembers them for pool_free_check). */
size_t	 pids_of(struct signer_pool *, pid_t *out, size_t max);
bool	 process_exists(pid_t);
/* Frees the pool; fails if any signer it ever had is still there. */
void	 pool_free_check(struct signer_pool *);
/* 0 when the Assertion verifies with fixture dir's certificate and its
 * NameID is email. */
int	 verify_b64(const char *b64, const char *dir, const char *email);
/* Mints one and runs the loop until it is answered. */
void	 mint_wait(struct signer_pool *, const char *tenant, const char *email,
	    struct outcome *);
bool	 under_valgrind(void);

#endif /* SIGNER_FIXTURE_H */
