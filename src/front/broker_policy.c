/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broker_policy.c - the broker's decisions as plain functions of (state,
 * now, event): whether a caller is served from the cache, waits for an
 * exchange in progress, starts one or is refused; how a success or a
 * failure of the token endpoint updates the state (lifetime, refresh
 * point, backoff, failure memory); what the once-a-second sweep does with
 * an entry; and whether a tenant may start another exchange.
 *
 * Pure: no clock, no randomness (the jitter is an argument in [0, 1)), no
 * allocation, no I/O.  broker.c owns the state and acts on the answers;
 * tests/test_broker_policy.c walks the tables.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "samlbroker.h"

double
policy_safety_margin(const struct policy *p)
{
	return fmin(POLICY_MARGIN_MAX, (p->expires_at - p->obtained_at) / 5.0);
}

bool
policy_token_usable(const struct policy *p, bool has_token, double now)
{
	return has_token && now < p->expires_at - policy_safety_margin(p);
}

/* No new attempt yet: backing off, or a hard failure remembered. */
static bool
holding_off(const struct policy *p, double now)
{
	return now < p->hard_fail_until || (p->failures > 0 && now < p->retry_at);
}

enum policy_action
policy_decide(const struct policy *p, bool has_token, double now, bool may_start)
{
	if (policy_token_usable(p, has_token, now)) {
		if (now >= p->refresh_at && !p->in_flight && now >= p->retry_at &&
		    now >= p->hard_fail_until)
			return POLICY_SERVE_AND_REFRESH;
		return POLICY_SERVE;
	}
	if (p->in_flight)
		return POLICY_WAIT;
	if (holding_off(p, now))
		return POLICY_REFUSE_FAILING;
	if (!may_start)
		return POLICY_REFUSE_BUSY;
	return POLICY_START;
}

bool
policy_may_start(size_t tenant_running, size_t tenant_max, size_t total_running,
    size_t total_max, size_t n_tenants)
{
	size_t	 fair;

	if (tenant_running >= tenant_max)
		return false;
	if (total_running < total_max)
		return true;
	/* The total is reached: a tenant below its fair part still starts. */
	fair = n_tenants > 0 ? total_max / n_tenants : total_max;
	return tenant_running < (fair > 0 ? fair : 1);
}

void
policy_on_success(struct policy *p, long expires_in, double life_max,
    double now, double jitter)
{
	double	 life = (double)expires_in;

	if (life > life_max)
		life = life_max;
	p->obtained_at = now;
	p->expires_at = now + life;
	p->refresh_at = now + life * (POLICY_REFRESH_FROM +
	    POLICY_REFRESH_SPREAD * jitter);
	policy_forget_failures(p);
}

void
policy_forget_failures(struct policy *p)
{
	p->failures = 0;
	p->retry_at = 0;
	p->hard_fail_until = 0;
	p->last_error[0] = '\0';
}

static bool
hard_failure(const char *error)
{
	return strcmp(error, "invalid_client") == 0 ||
	    strcmp(error, "invalid_grant") == 0 ||
	    strcmp(error, "unauthorized_client") == 0;
}

double
policy_on_failure(struct policy *p, enum upstream_outcome outcome,
    const char *error, double retry_after, double now, double jitter)
{
	int	 shift = p->failures < 9 ? p->failures : 9;
	double	 backoff;

	p->failures++;
	backoff = fmin(POLICY_BACKOFF_MAX, (double)(1 << shift) * (0.5 + jitter));
	if (retry_after > backoff)
		backoff = fmin(retry_after, POLICY_RETRY_AFTER_MAX);
	p->retry_at = now + backoff;
	snprintf(p->last_error, sizeof(p->last_error), "%s", error);
	switch (outcome) {
	case UPSTREAM_REJECTED:
		p->last_status = 502;
		if (hard_failure(error))
			p->hard_fail_until = now + POLICY_HARD_FAILURE_MEMORY;
		break;
	case UPSTREAM_TIMEOUT:
		p->last_status = 504;
		break;
	default:
		p->last_status = 503;
		break;
	}
	return backoff;
}

void
policy_on_busy(struct policy *p, double retry_after, double now)
{
	if (now + retry_after > p->retry_at)
		p->retry_at = now + retry_after;
}

bool
policy_keeps_entry(const struct policy *p, double now)
{
	return p->in_flight || p->failures > 0 || p->hard_fail_until > now;
}

unsigned
policy_sweep(const struct policy *p, bool has_token, enum token_kind kind,
    double now)
{
	unsigned	 what = 0;

	if (p->in_flight)
		return 0;
	if (has_token && now >= p->expires_at - policy_safety_margin(p)) {
		what |= POLICY_SWEEP_WIPE;
		has_token = false;
	}
	/* A key without a token is kept while its failures matter: dropping
	 * it would restart the backoff at one second. */
	if (!has_token) {
		if (now >= p->hard_fail_until && (p->failures == 0 ||
		    now >= p->retry_at + POLICY_BACKOFF_MAX))
			what |= POLICY_SWEEP_DROP;
		return what;
	}
	if (kind == TOKEN_SERVICE && now >= p->refresh_at &&
	    now >= p->retry_at && now >= p->hard_fail_until)
		what |= POLICY_SWEEP_REFRESH;
	return what;
}

/*
 * Automatic (0): no fixed share.  A tenant may use whatever room there is;
 * at the total the tenant holding the most user entries gives one up
 * (cache.c), so a tenant holding no more than its fair part (the total /
 * tenants) never loses an entry to another tenant's callers.
 */
size_t
policy_cache_share(size_t max_cached, size_t per_tenant)
{
	return per_tenant > 0 ? per_tenant : max_cached;
}
