/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broker_persist.c - the broker's side of the persistent token cache: the
 * tenants whose cached tokens changed since the last save, each tenant's
 * tokens as a batch (cache_seal.h) for the master, which seals and writes
 * them (master_cache.c), and the tokens the master read back at start put
 * in the cache as if just exchanged.  No file, no key: the front holds
 * neither.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "broker_int.h"
#include "cache_seal.h"

void
broker_persist_mark(struct broker *b, const char *tenant)
{
	ssize_t	 ti = broker_tenant_index(b, tenant);

	if (ti != -1)
		b->tstate[ti].persist_dirty = true;
}

void
broker_persist_mark_all(struct broker *b)
{
	for (size_t i = 0; i < b->conf->n_tenants; i++)
		b->tstate[i].persist_dirty = true;
}

struct dump_ctx {
	struct broker		*broker;
	struct secret_buf	*out;
	size_t			 max;
	double			 now;
	ssize_t			 ti;		/* the tenant being written */
	ssize_t			 at;		/* its count's offset */
	uint32_t		 count;
	int			 rc;
};

static void
dump_end(struct dump_ctx *d)
{
	if (d->ti != -1 && d->at != -1)
		cache_batch_end(d->out, (size_t)d->at, d->count);
	d->ti = -1;
	d->at = -1;
}

static void
dump_begin(struct dump_ctx *d, ssize_t ti)
{
	dump_end(d);
	d->ti = ti;
	d->count = 0;
	if ((d->at = cache_batch_begin(d->out, d->broker->conf->tenants[ti]->name,
	    d->max)) == -1)
		d->rc = -1;
	d->broker->tstate[ti].persist_dirty = false;
	d->broker->tstate[ti].persist_seen = true;
}

/* cache_foreach goes tenant by tenant: a tenant's part begins with its
 * first entry. */
static void
dump_entry(struct cache_entry *e, void *arg)
{
	struct dump_ctx		*d = arg;
	const struct entry_state *es = entry_state(e);
	struct cache_record	 rec;
	ssize_t			 ti;

	if (d->rc == -1)
		return;
	if (d->ti == -1 || strcmp(d->broker->conf->tenants[d->ti]->name,
	    e->tenant) != 0) {
		dump_end(d);
		ti = broker_tenant_index(d->broker, e->tenant);
		if (ti == -1 || !d->broker->tstate[ti].persist_dirty)
			return;
		dump_begin(d, ti);
		if (d->rc == -1)
			return;
	}
	if (e->token == NULL || es->pol.expires_at <= d->now)
		return;
	rec.kind = e->kind;
	rec.subject = e->subject;
	rec.token = e->token;
	rec.obtained_at = es->pol.obtained_at;
	rec.expires_at = es->pol.expires_at;
	if (cache_record_encode(&rec, d->out, d->max) == -1) {
		d->rc = -1;
		return;
	}
	d->count++;
}

int
broker_persist_dump(struct broker *b, struct secret_buf *out, size_t max,
    size_t *ret_tenants)
{
	struct dump_ctx	 d = { b, out, max, clock_now(), -1, -1, 0, 0 };
	size_t		 n = 0;

	for (size_t i = 0; i < b->conf->n_tenants; i++) {
		if (b->tstate[i].persist_dirty)
			n++;
		b->tstate[i].persist_seen = false;
	}
	if (n == 0) {
		*ret_tenants = 0;
		return 0;
	}
	cache_foreach(b->cache, dump_entry, &d);
	dump_end(&d);
	/* Dirty tenants without an entry left: empty. */
	for (size_t i = 0; d.rc == 0 && i < b->conf->n_tenants; i++) {
		if (!b->tstate[i].persist_dirty || b->tstate[i].persist_seen)
			continue;
		dump_begin(&d, (ssize_t)i);
		dump_end(&d);
	}
	if (d.rc == -1) {
		/* Too large: nothing goes, and they stay to be saved. */
		for (size_t i = 0; i < b->conf->n_tenants; i++)
			if (b->tstate[i].persist_seen)
				b->tstate[i].persist_dirty = true;
		secret_buf_clear(out);
		return -1;
	}
	*ret_tenants = n;
	return 0;
}

static double
jitter(void)
{
	uint32_t	 r;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)random();
	return (double)r / 4294967296.0;
}

int
broker_persist_load(struct broker *b, const char *buf, size_t len,
    struct persist_counts *ret, char *errbuf, size_t errlen)
{
	struct persist_counts	 c = { 0, 0, 0 };
	struct cache_record	 rec = { 0 };
	char			 tenant[NAME_MAX_LEN + 1];
	const char		*why;
	size_t			 off = 0;
	uint32_t		 count;
	double			 now = clock_now();

	while (off < len) {
		const struct tenant	*t;
		ssize_t			 ti;

		if (cache_batch_next(buf, len, &off, tenant, &count, &why) == -1)
			goto bad;
		ti = broker_tenant_index(b, tenant);
		t = ti != -1 ? b->conf->tenants[ti] : NULL;
		for (uint32_t i = 0; i < count; i++) {
			struct cache_entry	*e;
			struct entry_state	*es;
			double			 life;

			if (cache_record_decode(buf, len, &off, &rec, &why) == -1)
				goto bad;
			life = rec.expires_at - rec.obtained_at;
			if (t == NULL || rec.expires_at <= now ||
			    (rec.kind == TOKEN_SERVICE &&
			    tenant_service_find(t, rec.subject) == NULL) ||
			    (rec.kind == TOKEN_USER &&
			    !email_is_canonical(rec.subject))) {
				c.skipped++;
				cache_record_clear(&rec);
				continue;
			}
			e = broker_entry_get(b, ti, rec.kind, rec.subject);
			es = entry_state(e);
			if (e->token != NULL || es->pol.in_flight) {
				c.skipped++;
				cache_record_clear(&rec);
				continue;
			}
			/* As if exchanged at obtained_at: the refresh point and
			 * the safety margin are the ones it had. */
			policy_on_success(&es->pol, life > (double)LONG_MAX ? LONG_MAX :
			    (long)life, t->expire_time_hours * 3600.0,
			    rec.obtained_at, jitter());
			cache_set_token(e, rec.token);
			rec.token = NULL;
			cache_record_clear(&rec);
			c.loaded++;
		}
		c.tenants++;
	}
	*ret = c;
	return 0;
bad:
	cache_record_clear(&rec);
	snprintf(errbuf, errlen, "%s", why);
	return -1;
}
