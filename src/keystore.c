/* keystore.c - placeholder, being written. */
#include "config.h"
#include <stdio.h>
#include "samlbroker.h"
struct keystore *keystore_load(const char *c, const char *k, char *pw, char *errbuf, size_t errlen) { snprintf(errbuf, errlen, "not implemented"); return NULL; }
void keystore_free(struct keystore *ks) { }
struct evp_pkey_st *keystore_pkey(const struct keystore *ks) { return NULL; }
struct x509_st *keystore_cert(const struct keystore *ks) { return NULL; }
const char *keystore_subject(const struct keystore *ks) { return ""; }
double keystore_not_after(const struct keystore *ks) { return 0; }
double keystore_not_before(const struct keystore *ks) { return 0; }
const char *keystore_cert_pem(const struct keystore *ks) { return ""; }
const char *keystore_fingerprint(const struct keystore *ks) { return ""; }
