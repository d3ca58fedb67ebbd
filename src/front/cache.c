/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache.c - tokens by (tenant, kind, subject), bounded per tenant and in
 * total, least recently used out.
 *
 * A chained hash table (power-of-two buckets, grown as needed) keyed with
 * SipHash-2-4 under a per-process random key, so that a caller choosing
 * subjects cannot force every entry into one chain, plus one doubly linked
 * recency list per tenant (a "part"), so that one tenant's callers can only
 * push out that tenant's entries.  The cache owns the entries, their key
 * strings and their tokens; it wipes a token whenever it lets go of it.  It
 * is a store: it knows nothing of HTTP, of time, of exchanges or of
 * failures.  The caller hangs its own state on `data` (released with the
 * data_free given to cache_new) and sets `pinned` on entries that must not
 * be evicted.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "samlbroker.h"

#define CACHE_MIN_BUCKETS	16

/* One tenant's entries, in recency order. */
struct cache_part {
	char			*tenant;
	size_t			 count;
	size_t			 users;		/* TOKEN_USER entries */
	struct cache_entry	*mru, *lru;
	struct cache_part	*next;
};

struct cache {
	struct cache_entry	**buckets;
	size_t			  n_buckets;	/* a power of two */
	size_t			  count;
	size_t			  max_entries;
	size_t			  evictions;
	struct cache_part	 *parts;
	void			(*data_free)(void *);
	uint64_t		  key[2];	/* SipHash key */
};

/*
 * SipHash-2-4 over a byte stream, fed in pieces (Aumasson and Bernstein).
 */
struct sip {
	uint64_t	 v0, v1, v2, v3;
	uint64_t	 m;		/* bytes not yet compressed */
	size_t		 len;		/* total bytes fed */
};

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void
sip_round(struct sip *s)
{
	s->v0 += s->v1; s->v1 = ROTL(s->v1, 13); s->v1 ^= s->v0;
	s->v0 = ROTL(s->v0, 32);
	s->v2 += s->v3; s->v3 = ROTL(s->v3, 16); s->v3 ^= s->v2;
	s->v0 += s->v3; s->v3 = ROTL(s->v3, 21); s->v3 ^= s->v0;
	s->v2 += s->v1; s->v1 = ROTL(s->v1, 17); s->v1 ^= s->v2;
	s->v2 = ROTL(s->v2, 32);
}

static void
sip_init(struct sip *s, const uint64_t key[2])
{
	s->v0 = key[0] ^ UINT64_C(0x736f6d6570736575);
	s->v1 = key[1] ^ UINT64_C(0x646f72616e646f6d);
	s->v2 = key[0] ^ UINT64_C(0x6c7967656e657261);
	s->v3 = key[1] ^ UINT64_C(0x7465646279746573);
	s->m = 0;
	s->len = 0;
}

static void
sip_compress(struct sip *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

static void
sip_update(struct sip *s, const void *data, size_t n)
{
	const unsigned char	*p = data;

	for (size_t i = 0; i < n; i++) {
		s->m |= (uint64_t)p[i] << (8 * (s->len % 8));
		s->len++;
		if (s->len % 8 == 0) {
			sip_compress(s, s->m);
			s->m = 0;
		}
	}
}

static uint64_t
sip_final(struct sip *s)
{
	sip_compress(s, s->m | ((uint64_t)(s->len & 0xff) << 56));
	s->v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

/* The key is tenant NUL kind NUL subject. */
static uint64_t
key_hash(const struct cache *c, const char *tenant, enum token_kind kind,
    const char *subject)
{
	struct sip	 s;
	unsigned char	 k[2] = { (unsigned char)kind, 0 };

	sip_init(&s, c->key);
	sip_update(&s, tenant, strlen(tenant) + 1);
	sip_update(&s, k, sizeof(k));
	sip_update(&s, subject, strlen(subject));
	return sip_final(&s);
}

struct cache *
cache_new(size_t max_entries, void (*data_free)(void *))
{
	struct cache	*c;

	c = xcalloc(1, sizeof(*c));
	/* A bound of 0 would make every insert evict; one entry is the least. */
	c->max_entries = max_entries > 0 ? max_entries : 1;
	c->data_free = data_free;
	c->n_buckets = CACHE_MIN_BUCKETS;
	c->buckets = xcalloc(c->n_buckets, sizeof(*c->buckets));
	if (RAND_bytes((unsigned char *)c->key, sizeof(c->key)) != 1)
		fatalx("cache: RAND_bytes failed");
	return c;
}

static void
entry_free(struct cache *c, struct cache_entry *e)
{
	if (c->data_free != NULL && e->data != NULL)
		c->data_free(e->data);
	secret_free(e->token);
	free(e->tenant);
	free(e->subject);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
}

static struct cache_part *
part_find(const struct cache *c, const char *tenant)
{
	struct cache_part	*p;

	for (p = c->parts; p != NULL; p = p->next)
		if (strcmp(p->tenant, tenant) == 0)
			return p;
	return NULL;
}

static struct cache_part *
part_get(struct cache *c, const char *tenant)
{
	struct cache_part	*p;

	if ((p = part_find(c, tenant)) != NULL)
		return p;
	p = xcalloc(1, sizeof(*p));
	p->tenant = xstrdup(tenant);
	p->next = c->parts;
	c->parts = p;
	return p;
}

static void
part_drop(struct cache *c, struct cache_part *p)
{
	struct cache_part	**pp;

	for (pp = &c->parts; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	free(p->tenant);
	free(p);
}

void
cache_free(struct cache *c)
{
	struct cache_entry	*e, *next;

	if (c == NULL)
		return;
	while (c->parts != NULL) {
		for (e = c->parts->mru; e != NULL; e = next) {
			next = e->lru_next;
			entry_free(c, e);
		}
		part_drop(c, c->parts);
	}
	free(c->buckets);
	OPENSSL_cleanse(c->key, sizeof(c->key));
	free(c);
}

static void
lru_unlink(struct cache_part *p, struct cache_entry *e)
{
	if (e->lru_prev != NULL)
		e->lru_prev->lru_next = e->lru_next;
	else
		p->mru = e->lru_next;
	if (e->lru_next != NULL)
		e->lru_next->lru_prev = e->lru_prev;
	else
		p->lru = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void
lru_push_front(struct cache_part *p, struct cache_entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = p->mru;
	if (p->mru != NULL)
		p->mru->lru_prev = e;
	else
		p->lru = e;
	p->mru = e;
}

static void
touch(struct cache_entry *e)
{
	if (e != e->part->mru) {
		lru_unlink(e->part, e);
		lru_push_front(e->part, e);
	}
}
static void
hash_unlink(struct cache *c, struct cache_entry *e)
{
	struct cache_entry	**pp;

	pp = &c->buckets[e->hash & (c->n_buckets - 1)];
	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hash_next;
	if (*pp == e)
		*pp = e->hash_next;
	e->hash_next = NULL;
}

/* Doubles the bucket array once the chains average more than one entry. */
static void
hash_grow(struct cache *c)
{
	struct cache_entry	**nb, *e, *next;
	size_t			  n = c->n_buckets * 2;

	if (n < c->n_buckets || n > SIZE_MAX / sizeof(*nb))
		return;
	nb = xcalloc(n, sizeof(*nb));
	for (size_t i = 0; i < c->n_buckets; i++) {
		for (e = c->buckets[i]; e != NULL; e = next) {
			next = e->hash_next;
			e->hash_next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = nb;
	c->n_buckets = n;
}

static struct cache_entry *
find(const struct cache *c, uint64_t h, const char *tenant,
    enum token_kind kind, const char *subject)
{
	struct cache_entry	*e;

	for (e = c->buckets[h & (c->n_buckets - 1)]; e != NULL; e = e->hash_next) {
		if (e->hash == h && e->kind == kind &&
		    strcmp(e->tenant, tenant) == 0 &&
		    strcmp(e->subject, subject) == 0)
			return e;
	}
	return NULL;
}

struct cache_entry *
cache_lookup(struct cache *c, const char *tenant, enum token_kind kind,
    const char *subject)
{
	struct cache_entry	*e;

	e = find(c, key_hash(c, tenant, kind, subject), tenant, kind, subject);
	if (e != NULL)
		touch(e);
	return e;
}

/* Takes an entry out of the table, its part and the count, and frees it;
 * the part goes once empty unless the caller is about to fill it. */
static void
unlink_free(struct cache *c, struct cache_entry *e, bool keep_part)
{
	struct cache_part	*p = e->part;

	hash_unlink(c, e);
	lru_unlink(p, e);
	c->count--;
	p->count--;
	if (e->kind == TOKEN_USER)
		p->users--;
	entry_free(c, e);
	if (p->count == 0 && !keep_part)
		part_drop(c, p);
}

/* The least recently used unpinned entry of a part that may go for an
 * entry of this kind: a user entry if there is one; a service entry only
 * for a service entry. */
static struct cache_entry *
victim(const struct cache_part *p, enum token_kind kind)
{
	struct cache_entry	*e, *service = NULL;

	for (e = p->lru; e != NULL; e = e->lru_prev) {
		if (e->pinned)
			continue;
		if (e->kind == TOKEN_USER)
			return e;
		if (service == NULL)
			service = e;
	}
	return kind == TOKEN_SERVICE ? service : NULL;
}

/* The part holding the most user entries (the inserting one on a tie). */
static struct cache_part *
largest(const struct cache *c, struct cache_part *mine)
{
	struct cache_part	*p, *best = mine;

	for (p = c->parts; p != NULL; p = p->next)
		if (p->users > best->users)
			best = p;
	return best;
}

/*
 * Makes room for one more entry in part p: first within the tenant's
 * share, then within the total, where the tenant holding the most user
 * entries gives up a user entry (its own entry of either kind, when the
 * inserting tenant is that one).  When every candidate is pinned nothing goes and
 * the bound is exceeded until the caller unpins: pinned entries are
 * bounded by the caller's own limits, service entries by configuration.
 */
static void
evict(struct cache *c, struct cache_part *p, enum token_kind kind,
    size_t tenant_max)
{
	struct cache_entry	*e;
	struct cache_part	*q;

	while (p->count >= tenant_max && (e = victim(p, kind)) != NULL) {
		unlink_free(c, e, true);
		c->evictions++;
	}
	while (c->count >= c->max_entries) {
		/* Another tenant gives up user entries only. */
		q = largest(c, p);
		if ((e = victim(q, q == p ? kind : TOKEN_USER)) == NULL &&
		    (q == p || (e = victim(p, kind)) == NULL))
			break;
		unlink_free(c, e, e->part == p);
		c->evictions++;
	}
}

struct cache_entry *
cache_insert(struct cache *c, const char *tenant, enum token_kind kind,
    const char *subject, size_t tenant_max)
{
	struct cache_entry	*e;
	struct cache_part	*p;
	uint64_t		 h;

	h = key_hash(c, tenant, kind, subject);
	if ((e = find(c, h, tenant, kind, subject)) != NULL) {
		touch(e);
		return e;
	}
	p = part_get(c, tenant);
	if (p->count >= tenant_max || c->count >= c->max_entries)
		evict(c, p, kind, tenant_max > 0 ? tenant_max : 1);
	if (c->count >= c->n_buckets)
		hash_grow(c);

	e = xcalloc(1, sizeof(*e));
	e->tenant = xstrdup(tenant);
	e->kind = kind;
	e->subject = xstrdup(subject);
	e->hash = h;
	e->part = p;
	e->hash_next = c->buckets[h & (c->n_buckets - 1)];
	c->buckets[h & (c->n_buckets - 1)] = e;
	lru_push_front(p, e);
	c->count++;
	p->count++;
	if (kind == TOKEN_USER)
		p->users++;
	return e;
}

void
cache_remove(struct cache *c, struct cache_entry *e)
{
	if (e != NULL)
		unlink_free(c, e, false);
}

void
cache_set_token(struct cache_entry *e, char *token)
{
	if (e->token != token)
		secret_free(e->token);
	e->token = token;
}

void
cache_clear_token(struct cache_entry *e)
{
	secret_free(e->token);
	e->token = NULL;
}

size_t
cache_count(const struct cache *c)
{
	return c->count;
}

size_t
cache_count_tenant(const struct cache *c, const char *tenant)
{
	const struct cache_part	*p = part_find(c, tenant);

	return p != NULL ? p->count : 0;
}

size_t
cache_evictions(const struct cache *c)
{
	return c->evictions;
}

/*
 * Visits every entry, tenant by tenant, from the most to the least recently
 * used, without changing the order.  fn may remove the entry it is given,
 * but no other entry, and must not insert.
 */
void
cache_foreach(struct cache *c, void (*fn)(struct cache_entry *, void *),
    void *arg)
{
	struct cache_part	*p, *pnext;
	struct cache_entry	*e, *next;

	for (p = c->parts; p != NULL; p = pnext) {
		pnext = p->next;
		for (e = p->mru; e != NULL; e = next) {
			next = e->lru_next;
			fn(e, arg);
		}
	}
}
