/* config.c - placeholder, being written. */
#include "config.h"
#include <stdio.h>
#include "samlbroker.h"
struct broker_config *config_load(const char *path, struct diag *d) { diag_error(d, path, NULL, NULL, "not implemented"); return NULL; }
void config_free(struct broker_config *c) { }
struct tenant *config_tenant_find(const struct broker_config *c, const char *name) { return NULL; }
const struct service_client *tenant_service_find(const struct tenant *t, const char *name) { return NULL; }
struct tenant *tenant_load(const char *path, const char *name, struct diag *d) { return NULL; }
void tenant_free(struct tenant *t) { }
int secret_resolve(const char *value, char **ret, const char **why) { *why = "not implemented"; return -1; }
