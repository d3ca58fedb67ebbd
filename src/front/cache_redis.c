/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache_redis.c - the token cache shared by several brokers, in Redis
 * ([broker] redis), through hiredis's asynchronous API on the front's
 * event loop.
 *
 * Owns the connection (connect, AUTH, reconnect with backoff, the
 * redis_unavailable / redis_available lines), the key names, the sealing
 * of entries and the lock that keeps two brokers from exchanging the same
 * token at once.  Redis holds only ciphertext: each value is AES-256-GCM
 * under the tenant's key (derived by the master from the tenant's key
 * file and password, config_tenant.c), with the tenant and the key's name
 * as associated data, so that a value moved to another key or tenant
 * does not open.  A key's name is PREFIX:v1:TENANT:HEX, HEX the
 * HMAC-SHA256 of the cache key under the tenant's key: no agent's address
 * appears in Redis.  Every command has a timeout (redis_timeout_ms); a
 * Redis that fails or is slow is dropped and the broker goes on without
 * it.  It knows nothing of the broker's policy: the broker asks, and is
 * answered once, from the loop.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "samlbroker.h"
#include "cache_seal.h"

#ifdef HAVE_REDIS
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#define CR_POLL_SEC		0.075	/* how often a waiting node looks again */
#define CR_BACKOFF_MIN		0.5
#define CR_BACKOFF_MAX		10.0
#define CR_MIN_LIFE_SEC		5.0	/* a shorter remaining life is a miss */
#define CR_NAME_MAX		(64 + 4 + NAME_MAX_LEN + 6 + 64 + 1)
#define CR_VALUE_MAX		(CACHE_RECORD_MAX + CACHE_SEAL_OVERHEAD)

static const char unlock_script[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('del', KEYS[1]) else return 0 end";

struct cache_redis {
	struct event_base	*base;
	redisAsyncContext	*ac;
	bool			 ready;		/* connected, AUTH and PING answered */
	bool			 was_available;	/* for the transition lines */
	bool			 logged_down;
	double			 backoff;
	struct event		*reconnect;
	struct event		*hello;		/* connect, AUTH and PING in time */
	char			*path;		/* unix: */
	char			*host;		/* tcp: */
	int			 port;
	char			*address;	/* for log lines */
	char			*password;	/* secret */
	char			*prefix;
	double			 timeout;	/* seconds per command */
	char			 node[33];	/* this broker's lock value */
	struct cache_redis_stats stats;
	struct cr_fetch		*fetches;
};

/* One command's callback state: fetch is NULL once nobody waits. */
struct cr_cmd {
	struct cache_redis	*cr;
	struct cr_fetch		*fetch;
	int			 what;		/* CMD_* */
};
enum { CMD_AUTH, CMD_PING, CMD_GET, CMD_LOCK, CMD_STORE, CMD_UNLOCK };

struct cr_fetch {
	struct cache_redis	*cr;
	cache_redis_cb		 cb;
	void			*arg;
	unsigned char		 key[32];
	char			 tenant[NAME_MAX_LEN + 1];
	enum token_kind		 kind;
	char			 subject[EMAIL_MAX_LEN + 1];
	char			 name[CR_NAME_MAX];	/* the value's key */
	char			 lock[CR_NAME_MAX + 5];
	double			 lock_ttl;	/* seconds */
	double			 fresher_than;	/* a hit must expire later */
	double			 deadline;	/* waiting for another node */
	struct cr_cmd		*cmd;		/* in flight, or NULL */
	struct event		*timer;		/* command timeout or next poll */
	bool			 polling;	/* the timer is the next poll */
	bool			 locked;	/* holds the lock: a last look */
	struct cr_fetch		*prev, *next;
};

static void	 cr_connect(struct cache_redis *);
static void	 cr_down(struct cache_redis *, const char *why);
static void	 fetch_step(struct cr_fetch *, bool lock);
static void	 fetch_cancel(struct cr_fetch *, bool answer);

static double
mono_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
tv_set(struct timeval *tv, double d)
{
	if (d < 0)
		d = 0;
	tv->tv_sec = (time_t)d;
	tv->tv_usec = (suseconds_t)((d - floor(d)) * 1e6);
}

/* ---- names and sealing ---- */

/* PREFIX:v1:TENANT:HEX(HMAC-SHA256(key, kind NUL subject)). */
static void
entry_name(const char *prefix, const char *tenant, const unsigned char key[32],
    enum token_kind kind, const char *subject, char *name, size_t len,
    char *lock, size_t locklen)
{
	static const char	 hexd[] = "0123456789abcdef";
	unsigned char		 mac[32], *in;
	unsigned int		 maclen = sizeof(mac);
	char			 hex[65];
	size_t			 n = strlen(subject) + 2;

	in = xmalloc(n);
	in[0] = kind == TOKEN_USER ? 'u' : 's';
	in[1] = '\0';
	memcpy(in + 2, subject, n - 2);
	HMAC(EVP_sha256(), key, 32, in, n, mac, &maclen);
	OPENSSL_cleanse(in, n);
	free(in);
	for (size_t i = 0; i < 32; i++) {
		hex[2 * i] = hexd[mac[i] >> 4];
		hex[2 * i + 1] = hexd[mac[i] & 15];
	}
	hex[64] = '\0';
	snprintf(name, len, "%s:v1:%s:%s", prefix, tenant, hex);
	snprintf(lock, locklen, "%s:v1:lock:%s:%s", prefix, tenant, hex);
}

/*
 * A value: one record (cache_seal.c) sealed under the tenant's key with
 * its tenant, kind and subject as associated data.  Returns the length
 * of *ret (the caller frees), or -1.
 */
int
cache_redis_seal(const unsigned char key[32], const char *tenant,
    enum token_kind kind, const char *subject, const char *token,
    double expires_at, unsigned char **ret)
{
	struct cache_record	 rec = { kind, (char *)subject, (char *)token,
	    clock_now(), expires_at };
	struct secret_buf	 plain = { NULL, 0, 0 };
	unsigned char		*out = NULL;
	char			*aad, err[128];
	size_t			 aad_len, len;
	int			 rc = -1;

	aad = cache_entry_aad(tenant, kind, subject, &aad_len);
	if (cache_record_encode(&rec, &plain, CACHE_RECORD_MAX) == 0 &&
	    cache_seal(key, aad, aad_len, plain.data, plain.len, &out, &len, err,
	    sizeof(err)) == 0 && len <= CR_VALUE_MAX) {
		*ret = out;
		out = NULL;
		rc = (int)len;
	}
	free(out);
	free(aad);
	secret_buf_clear(&plain);
	return rc;
}

/* Opens a value: the token (a secret the caller frees) and its expiry; -1
 * when it is not one of ours, altered, or for another key, tenant or
 * subject. */
int
cache_redis_open(const unsigned char key[32], const char *tenant,
    enum token_kind kind, const char *subject, const unsigned char *v,
    size_t len, char **ret_token, double *ret_expires)
{
	struct cache_record	 rec;
	char			*aad, *plain = NULL, err[128];
	const char		*why;
	size_t			 aad_len, plen = 0, off = 0;
	int			 rc = -1;

	aad = cache_entry_aad(tenant, kind, subject, &aad_len);
	if (cache_open(key, aad, aad_len, v, len, &plain, &plen, err,
	    sizeof(err)) == 0 &&
	    cache_record_decode(plain, plen, &off, &rec, &why) == 0) {
		if (off == plen && rec.kind == kind &&
		    strcmp(rec.subject, subject) == 0) {
			*ret_token = rec.token;
			rec.token = NULL;
			*ret_expires = rec.expires_at;
			rc = 0;
		}
		cache_record_clear(&rec);
	}
	secret_free(plain);
	free(aad);
	return rc;
}

/* ---- the connection ---- */

static void
reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	cr_connect(arg);
}

/* Connected but silent (or still connecting): as slow as a late answer. */
static void
hello_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cache_redis	*cr = arg;

	if (!cr->ready && cr->ac != NULL)
		cr_down(cr, "timeout");
}

static void
reconnect_later(struct cache_redis *cr)
{
	struct timeval	 tv;

	if (evtimer_pending(cr->reconnect, NULL))
		return;
	tv_set(&tv, cr->backoff);
	evtimer_add(cr->reconnect, &tv);
	cr->backoff = fmin(cr->backoff * 2, CR_BACKOFF_MAX);
}

/* Every fetch in progress goes on without Redis. */
static void
fetches_fail(struct cache_redis *cr)
{
	struct cr_fetch	*f;

	while ((f = cr->fetches) != NULL)
		fetch_cancel(f, true);
}

/* Redis is gone or too slow: one line, the context dropped, a reconnect
 * planned, and everyone waiting told to go on. */
static void
cr_down(struct cache_redis *cr, const char *why)
{
	redisAsyncContext	*ac = cr->ac;

	cr->ready = false;
	cr->ac = NULL;
	evtimer_del(cr->hello);
	if (cr->was_available || !cr->logged_down)
		log_warnx("event=redis_unavailable address=%s error=\"%s\" "
		    "tokens are served from this broker's memory and exchanged "
		    "here until it is back", cr->address, why);
	cr->was_available = false;
	cr->logged_down = true;
	cr->stats.errors++;
	if (ac != NULL)
		redisAsyncFree(ac);	/* pending callbacks get NULL replies */
	fetches_fail(cr);
	reconnect_later(cr);
}

static void
cmd_cb(redisAsyncContext *ac, void *r, void *priv);

/* Sends a command; NULL when it could not be queued. */
static struct cr_cmd *
cr_send(struct cache_redis *cr, struct cr_fetch *f, int what, int argc,
    const char **argv, const size_t *lens)
{
	struct cr_cmd	*c;

	if (cr->ac == NULL)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->cr = cr;
	c->fetch = f;
	c->what = what;
	if (redisAsyncCommandArgv(cr->ac, cmd_cb, c, argc, argv, lens) != REDIS_OK) {
		free(c);
		return NULL;
	}
	return c;
}

static void
connect_cb(const redisAsyncContext *ac, int status)
{
	struct cache_redis	*cr = ac->data;

	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback. */
		cr->ac = NULL;
		cr_down(cr, ac->errstr[0] != '\0' ? ac->errstr : "cannot connect");
	}
}

static void
disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct cache_redis	*cr = ac->data;

	if (cr->ac != ac)
		return;	/* dropped by cr_down already */
	cr->ac = NULL;
	cr_down(cr, status == REDIS_OK ? "disconnected" :
	    (ac->errstr[0] != '\0' ? ac->errstr : "connection lost"));
}

static void
cr_connect(struct cache_redis *cr)
{
	const char	*argv[2] = { "AUTH", cr->password };
	const char	*ping[1] = { "PING" };
	struct timeval	 tv;

	if (cr->ac != NULL)
		return;
	cr->ac = cr->path != NULL ? redisAsyncConnectUnix(cr->path) :
	    redisAsyncConnect(cr->host, cr->port);
	if (cr->ac == NULL) {
		cr_down(cr, "out of memory");
		return;
	}
	if (cr->ac->err) {
		char why[128];

		snprintf(why, sizeof(why), "%s", cr->ac->errstr);
		redisAsyncFree(cr->ac);
		cr->ac = NULL;
		cr_down(cr, why);
		return;
	}
	cr->ac->data = cr;
	redisLibeventAttach(cr->ac, cr->base);
	redisAsyncSetConnectCallback(cr->ac, connect_cb);
	redisAsyncSetDisconnectCallback(cr->ac, disconnect_cb);
	/* A connection gets the time of a few answers. */
	tv_set(&tv, fmax(1.0, 5 * cr->timeout));
	evtimer_add(cr->hello, &tv);
	/* Queued until connected; the PING's answer makes Redis available. */
	if ((cr->password != NULL &&
	    cr_send(cr, NULL, CMD_AUTH, 2, argv, NULL) == NULL) ||
	    cr_send(cr, NULL, CMD_PING, 1, ping, NULL) == NULL)
		cr_down(cr, "cannot send");
}

/* ---- fetches ---- */

static void
fetch_unlink(struct cr_fetch *f)
{
	struct cache_redis	*cr = f->cr;

	if (f->prev != NULL)
		f->prev->next = f->next;
	else
		cr->fetches = f->next;
	if (f->next != NULL)
		f->next->prev = f->prev;
	if (f->cmd != NULL)
		f->cmd->fetch = NULL;
	event_free(f->timer);
	OPENSSL_cleanse(f->key, sizeof(f->key));
	OPENSSL_cleanse(f->subject, sizeof(f->subject));
	free(f);
}

/* Ends a fetch with its answer (and frees it before calling back). */
static void
fetch_end(struct cr_fetch *f, enum cache_redis_found found, char *token,
    double expires_at)
{
	cache_redis_cb	 cb = f->cb;
	void		*arg = f->arg;

	fetch_unlink(f);
	cb(found, token, expires_at, arg);
}

static void
fetch_cancel(struct cr_fetch *f, bool answer)
{
	if (answer)
		fetch_end(f, CACHE_REDIS_ERROR, NULL, 0);
	else
		fetch_unlink(f);
}

void
cache_redis_cancel(struct cr_fetch *f)
{
	if (f != NULL)
		fetch_cancel(f, false);
}

static void
fetch_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cr_fetch	*f = arg;

	if (f->polling) {
		f->polling = false;
		/* The other node's lock has run out: exchange here. */
		fetch_step(f, mono_now() < f->deadline ? false : true);
		return;
	}
	/* A command took too long: Redis is too slow to help. */
	cr_down(f->cr, "timeout");
}

static void
fetch_send(struct cr_fetch *f, int what, int argc, const char **argv)
{
	struct timeval	 tv;

	if ((f->cmd = cr_send(f->cr, f, what, argc, argv, NULL)) == NULL) {
		fetch_end(f, CACHE_REDIS_ERROR, NULL, 0);
		return;
	}
	tv_set(&tv, f->cr->timeout);
	evtimer_add(f->timer, &tv);
}

/* GET the value, or, when lock, try to take the lock first. */
static void
fetch_step(struct cr_fetch *f, bool lock)
{
	char		 px[32];
	const char	*get[2] = { "GET", f->name };
	const char	*set[6] = { "SET", f->lock, f->cr->node, "NX", "PX", px };

	if (!lock) {
		fetch_send(f, CMD_GET, 2, get);
		return;
	}
	snprintf(px, sizeof(px), "%ld", (long)ceil(f->lock_ttl * 1000));
	fetch_send(f, CMD_LOCK, 6, set);
}

static void
fetch_poll(struct cr_fetch *f)
{
	struct timeval	 tv;

	f->polling = true;
	tv_set(&tv, CR_POLL_SEC);
	evtimer_add(f->timer, &tv);
}

/* A GET answered: a hit ends the fetch; a miss tries the lock. */
static void
fetch_got(struct cr_fetch *f, const redisReply *r)
{
	struct cache_redis	*cr = f->cr;
	char			*token;
	double			 expires;

	if (r->type == REDIS_REPLY_STRING) {
		if (cache_redis_open(f->key, f->tenant, f->kind, f->subject,
		    (const unsigned char *)r->str, r->len, &token, &expires) == -1) {
			cr->stats.errors++;
			log_warnx("event=redis_entry_rejected tenant=%s error=\"the "
			    "value does not open with the tenant's key (altered, "
			    "foreign or from another key)\"", f->tenant);
		} else if (expires - clock_now() < CR_MIN_LIFE_SEC ||
		    expires <= f->fresher_than) {
			/* Too short-lived, or the token this broker has: a
			 * refresh needs a newer one. */
			secret_free(token);
		} else {
			if (f->locked) {
				const char *un[5] = { "EVAL", unlock_script, "1",
				    f->lock, cr->node };

				cr_send(cr, NULL, CMD_UNLOCK, 5, un, NULL);
			}
			cr->stats.hits++;
			fetch_end(f, CACHE_REDIS_HIT, token, expires);
			return;
		}
	}
	if (f->locked) {
		/* Still nothing with the lock held: this node exchanges. */
		cr->stats.misses++;
		fetch_end(f, CACHE_REDIS_MISS_LOCKED, NULL, 0);
		return;
	}
	/* Nothing (yet): take the lock, or learn that another node holds
	 * it and look again soon. */
	fetch_step(f, true);
}

static void
cmd_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct cr_cmd		*c = priv;
	struct cache_redis	*cr = c->cr;
	struct cr_fetch		*f = c->fetch;
	const redisReply	*r = reply;
	int			 what = c->what;

	free(c);
	if (f != NULL) {
		f->cmd = NULL;
		evtimer_del(f->timer);
	}
	if (r == NULL) {	/* the context is going */
		if (f != NULL)
			fetch_end(f, CACHE_REDIS_ERROR, NULL, 0);
		return;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		char why[160];

		snprintf(why, sizeof(why), "%s: %.100s", what == CMD_AUTH ? "AUTH" :
		    "command", r->str);
		cr->stats.errors++;
		if (what == CMD_AUTH || what == CMD_PING) {
			if (cr->ac == ac) {
				cr->ac = NULL;
				cr->ready = false;
				redisAsyncDisconnect(ac);
				cr_down(cr, why);
			}
			return;
		}
		if (f != NULL)
			fetch_end(f, CACHE_REDIS_ERROR, NULL, 0);
		return;
	}
	switch (what) {
	case CMD_PING:
		evtimer_del(cr->hello);
		cr->ready = true;
		cr->backoff = CR_BACKOFF_MIN;
		if (!cr->was_available)
			log_info("event=redis_available address=%s", cr->address);
		cr->was_available = true;
		cr->logged_down = false;
		return;
	case CMD_GET:
		if (f != NULL)
			fetch_got(f, r);
		return;
	case CMD_LOCK:
		if (f == NULL)
			return;
		if (r->type == REDIS_REPLY_STATUS) {
			/* Ours; but another node may have stored its token and
			 * let go since the last look: one more. */
			f->locked = true;
			fetch_step(f, false);
			return;
		}
		if (f->deadline == 0)
			f->deadline = mono_now() + f->lock_ttl;
		if (mono_now() >= f->deadline) {
			cr->stats.misses++;
			fetch_end(f, CACHE_REDIS_MISS, NULL, 0);
			return;
		}
		cr->stats.waits++;
		fetch_poll(f);
		return;
	default:
		return;
	}
}

struct cr_fetch *
cache_redis_fetch(struct cache_redis *cr, const struct tenant *t,
    enum token_kind kind, const char *subject, double lock_ttl,
    double fresher_than, cache_redis_cb cb, void *arg)
{
	struct cr_fetch	*f;

	if (cr == NULL || !cr->ready || cr->ac == NULL || !t->has_redis_key)
		return NULL;
	f = xcalloc(1, sizeof(*f));
	f->cr = cr;
	f->cb = cb;
	f->arg = arg;
	f->lock_ttl = lock_ttl;
	f->fresher_than = fresher_than;
	memcpy(f->key, t->redis_key, sizeof(f->key));
	snprintf(f->tenant, sizeof(f->tenant), "%s", t->name);
	f->kind = kind;
	snprintf(f->subject, sizeof(f->subject), "%s", subject);
	entry_name(cr->prefix, t->name, t->redis_key, kind, subject, f->name,
	    sizeof(f->name), f->lock, sizeof(f->lock));
	if ((f->timer = evtimer_new(cr->base, fetch_timer_cb, f)) == NULL)
		fatalx("evtimer_new failed");
	if ((f->next = cr->fetches) != NULL)
		f->next->prev = f;
	cr->fetches = f;
	fetch_step(f, false);
	return f;
}

/* ---- stores ---- */

void
cache_redis_store(struct cache_redis *cr, const struct tenant *t,
    enum token_kind kind, const char *subject, const char *token,
    double expires_at, bool locked)
{
	char		 name[CR_NAME_MAX], lock[CR_NAME_MAX + 5], px[32];
	unsigned char	*v = NULL;
	const char	*argv[5] = { "SET", name, NULL, "PX", px };
	size_t		 lens[5];
	double		 life = expires_at - clock_now();
	int		 n;
	struct cr_cmd	*c;

	if (cr == NULL || !cr->ready || cr->ac == NULL || t == NULL ||
	    !t->has_redis_key)
		return;
	entry_name(cr->prefix, t->name, t->redis_key, kind, subject, name,
	    sizeof(name), lock, sizeof(lock));
	if (token != NULL && life >= CR_MIN_LIFE_SEC &&
	    (n = cache_redis_seal(t->redis_key, t->name, kind, subject, token,
	    expires_at, &v)) > 0) {
		snprintf(px, sizeof(px), "%ld", (long)floor(life * 1000));
		argv[2] = (const char *)v;
		for (int i = 0; i < 5; i++)
			lens[i] = i == 2 ? (size_t)n : strlen(argv[i]);
		if ((c = xcalloc(1, sizeof(*c))) != NULL) {
			c->cr = cr;
			c->what = CMD_STORE;
			if (redisAsyncCommandArgv(cr->ac, cmd_cb, c, 5, argv, lens) !=
			    REDIS_OK)
				free(c);
		}
		OPENSSL_cleanse(v, (size_t)n);
		free(v);
	}
	if (locked) {
		const char *un[5] = { "EVAL", unlock_script, "1", lock, cr->node };

		cr_send(cr, NULL, CMD_UNLOCK, 5, un, NULL);
	}
}

void
cache_redis_unlock(struct cache_redis *cr, const struct tenant *t,
    enum token_kind kind, const char *subject)
{
	cache_redis_store(cr, t, kind, subject, NULL, 0, true);
}

/* ---- life ---- */

struct cache_redis *
cache_redis_new(struct event_base *base, const struct broker_config *conf)
{
	struct cache_redis	*cr;
	unsigned char		 id[16];
	static const char	 hexd[] = "0123456789abcdef";

	if (conf->redis == NULL)
		return NULL;
	cr = xcalloc(1, sizeof(*cr));
	cr->base = base;
	cr->path = conf->redis_path != NULL ? xstrdup(conf->redis_path) : NULL;
	cr->host = conf->redis_host != NULL ? xstrdup(conf->redis_host) : NULL;
	cr->port = conf->redis_port;
	cr->address = xstrdup(conf->redis);
	cr->password = conf->redis_secret != NULL ? xstrdup(conf->redis_secret) : NULL;
	cr->prefix = xstrdup(conf->redis_prefix);
	cr->timeout = (double)conf->redis_timeout_ms / 1000.0;
	cr->backoff = CR_BACKOFF_MIN;
	if (RAND_bytes(id, sizeof(id)) != 1)
		fatalx("cache_redis: RAND_bytes failed");
	for (size_t i = 0; i < sizeof(id); i++) {
		cr->node[2 * i] = hexd[id[i] >> 4];
		cr->node[2 * i + 1] = hexd[id[i] & 15];
	}
	if ((cr->reconnect = evtimer_new(base, reconnect_cb, cr)) == NULL ||
	    (cr->hello = evtimer_new(base, hello_cb, cr)) == NULL)
		fatalx("evtimer_new failed");
	cr_connect(cr);
	return cr;
}

void
cache_redis_free(struct cache_redis *cr)
{
	redisAsyncContext	*ac;

	if (cr == NULL)
		return;
	while (cr->fetches != NULL)
		fetch_cancel(cr->fetches, false);
	if ((ac = cr->ac) != NULL) {
		cr->ac = NULL;
		ac->data = cr;
		redisAsyncSetDisconnectCallback(ac, NULL);
		redisAsyncFree(ac);
	}
	event_free(cr->reconnect);
	event_free(cr->hello);
	free(cr->path);
	free(cr->host);
	free(cr->address);
	secret_free(cr->password);
	free(cr->prefix);
	free(cr);
}

const struct cache_redis_stats *
cache_redis_stats(const struct cache_redis *cr)
{
	return cr != NULL ? &cr->stats : NULL;
}

bool
cache_redis_available(const struct cache_redis *cr)
{
	return cr != NULL && cr->ready;
}

#else /* !HAVE_REDIS: configuration refuses the option */

struct cache_redis *
cache_redis_new(struct event_base *base, const struct broker_config *conf)
{
	return NULL;
}

void
cache_redis_free(struct cache_redis *cr)
{
}

struct cr_fetch *
cache_redis_fetch(struct cache_redis *cr, const struct tenant *t,
    enum token_kind kind, const char *subject, double lock_ttl,
    double fresher_than, cache_redis_cb cb, void *arg)
{
	return NULL;
}

void
cache_redis_cancel(struct cr_fetch *f)
{
}

void
cache_redis_store(struct cache_redis *cr, const struct tenant *t,
    enum token_kind kind, const char *subject, const char *token,
    double expires_at, bool locked)
{
}

void
cache_redis_unlock(struct cache_redis *cr, const struct tenant *t,
    enum token_kind kind, const char *subject)
{
}

const struct cache_redis_stats *
cache_redis_stats(const struct cache_redis *cr)
{
	return NULL;
}

bool
cache_redis_available(const struct cache_redis *cr)
{
	return false;
}

#endif /* HAVE_REDIS */
