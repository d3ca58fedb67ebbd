/* upstream.c - placeholder, being written. */
#include "config.h"
#include <stdio.h>
#include "samlbroker.h"
struct upstream *upstream_new(struct event_base *b, const char *ca, const char *px, int ct, int rt) { return NULL; }
void upstream_free(struct upstream *u) { }
int upstream_exchange_saml2(struct upstream *u, const struct tenant *t, const char *a, upstream_cb cb, void *arg) { return -1; }
int upstream_exchange_client_credentials(struct upstream *u, const struct tenant *t, const struct service_client *c, upstream_cb cb, void *arg) { return -1; }
size_t upstream_pending(const struct upstream *u) { return 0; }
