/*
 * cache.c - tokens by (tenant, kind, subject), bounded, least recently
 * used out.
 *
 * A chained hash table (power-of-two buckets, grown as needed) keyed with
 * SipHash-2-4 under a per-process random key, so that a caller choosing
 * subjects cannot force every entry into one chain, plus a doubly linked
 * list in recency order.  The cache owns the entries, their key strings and
 * their tokens; it wipes a token whenever it lets go of it.  It knows
 * nothing of HTTP, of time beyond the numbers stored for the caller, or of
 * what the caller hangs on `waiters`.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "samlbroker.h"

#define CACHE_MIN_BUCKETS	16

struct cache {
	struct cache_entry	**buckets;
	size_t			  n_buckets;	/* a power of two */
	size_t			  count;
	size_t			  max_entries;
	size_t			  evictions;
	struct cache_entry	 *mru;		/* head of the recency list */
	struct cache_entry	 *lru;		/* tail */
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
cache_new(size_t max_entries)
{
	struct cache	*c;

	c = xcalloc(1, sizeof(*c));
	/* A bound of 0 would make every insert evict; one entry is the least. */
	c->max_entries = max_entries > 0 ? max_entries : 1;
	c->n_buckets = CACHE_MIN_BUCKETS;
	c->buckets = xcalloc(c->n_buckets, sizeof(*c->buckets));
	if (RAND_bytes((unsigned char *)c->key, sizeof(c->key)) != 1)
		fatalx("cache: RAND_bytes failed");
	return c;
}

static void
entry_free(struct cache_entry *e)
{
	secret_free(e->token);
	free(e->tenant);
	free(e->subject);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
}

/* The caller must have released whatever it hung on each entry's waiters. */
void
cache_free(struct cache *c)
{
	struct cache_entry	*e, *next;

	if (c == NULL)
		return;
	for (e = c->mru; e != NULL; e = next) {
		next = e->lru_next;
		entry_free(e);
	}
	free(c->buckets);
	OPENSSL_cleanse(c->key, sizeof(c->key));
	free(c);
}

static void
lru_unlink(struct cache *c, struct cache_entry *e)
{
	if (e->lru_prev != NULL)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->mru = e->lru_next;
	if (e->lru_next != NULL)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->lru = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void
lru_push_front(struct cache *c, struct cache_entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = c->mru;
	if (c->mru != NULL)
		c->mru->lru_prev = e;
	else
		c->lru = e;
	c->mru = e;
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
	if (e != NULL && e != c->mru) {
		lru_unlink(c, e);
		lru_push_front(c, e);
	}
	return e;
}

static void
unlink_entry(struct cache *c, struct cache_entry *e)
{
	hash_unlink(c, e);
	lru_unlink(c, e);
	c->count--;
}

/*
 * Makes room for one more entry by evicting idle entries (not in flight,
 * nobody waiting) from the least recently used end.  When every entry is
 * busy nothing is evicted and the cache exceeds its bound until requests
 * complete; in-flight entries are bounded by the callers' own limits.
 */
static void
evict(struct cache *c)
{
	struct cache_entry	*e, *prev;

	for (e = c->lru; e != NULL && c->count >= c->max_entries; e = prev) {
		prev = e->lru_prev;
		if (e->in_flight || e->waiters != NULL)
			continue;
		unlink_entry(c, e);
		entry_free(e);
		c->evictions++;
	}
}

/*
 * Adds an empty entry as the most recently used.  An entry that already
 * exists under the same key is returned as it is (made most recently
 * used), so that a key never appears twice.
 */
struct cache_entry *
cache_insert(struct cache *c, const char *tenant, enum token_kind kind,
    const char *subject)
{
	struct cache_entry	*e;
	uint64_t		 h;

	h = key_hash(c, tenant, kind, subject);
	if ((e = find(c, h, tenant, kind, subject)) != NULL) {
		if (e != c->mru) {
			lru_unlink(c, e);
			lru_push_front(c, e);
		}
		return e;
	}
	if (c->count >= c->max_entries)
		evict(c);
	if (c->count >= c->n_buckets)
		hash_grow(c);

	e = xcalloc(1, sizeof(*e));
	e->tenant = xstrdup(tenant);
	e->kind = kind;
	e->subject = xstrdup(subject);
	e->hash = h;
	e->hash_next = c->buckets[h & (c->n_buckets - 1)];
	c->buckets[h & (c->n_buckets - 1)] = e;
	lru_push_front(c, e);
	c->count++;
	return e;
}

/* The caller must have released whatever it hung on e->waiters. */
void
cache_remove(struct cache *c, struct cache_entry *e)
{
	if (e == NULL)
		return;
	unlink_entry(c, e);
	entry_free(e);
}

void
cache_set_token(struct cache_entry *e, char *token, double obtained_at,
    double expires_at, double refresh_at)
{
	if (e->token != token)
		secret_free(e->token);
	e->token = token;
	e->obtained_at = obtained_at;
	e->expires_at = expires_at;
	e->refresh_at = refresh_at;
}

/* Wipes the token and forgets its times; failure bookkeeping stays. */
void
cache_clear_token(struct cache_entry *e)
{
	secret_free(e->token);
	e->token = NULL;
	e->obtained_at = 0;
	e->expires_at = 0;
	e->refresh_at = 0;
}

size_t
cache_count(const struct cache *c)
{
	return c->count;
}

size_t
cache_evictions(const struct cache *c)
{
	return c->evictions;
}

/*
 * Visits every entry from the most to the least recently used without
 * changing the order.  fn may remove the entry it is given, but no other
 * entry, and must not insert.
 */
void
cache_foreach(struct cache *c, void (*fn)(struct cache_entry *, void *),
    void *arg)
{
	struct cache_entry	*e, *next;

	for (e = c->mru; e != NULL; e = next) {
		next = e->lru_next;
		fn(e, arg);
	}
}
