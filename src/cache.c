/* cache.c - placeholder, being written. */
#include "config.h"
#include <stdio.h>
#include "samlbroker.h"
struct cache *cache_new(size_t m) { return NULL; }
void cache_free(struct cache *c) { }
struct cache_entry *cache_lookup(struct cache *c, const char *t, enum token_kind k, const char *s) { return NULL; }
struct cache_entry *cache_insert(struct cache *c, const char *t, enum token_kind k, const char *s) { return NULL; }
void cache_remove(struct cache *c, struct cache_entry *e) { }
void cache_set_token(struct cache_entry *e, char *tok, double o, double x, double r) { }
void cache_clear_token(struct cache_entry *e) { }
size_t cache_count(const struct cache *c) { return 0; }
size_t cache_evictions(const struct cache *c) { return 0; }
void cache_foreach(struct cache *c, void (*fn)(struct cache_entry *, void *), void *a) { }
