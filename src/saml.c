/* saml.c - placeholder, being written. */
#include "config.h"
#include <stdio.h>
#include "samlbroker.h"
int saml_global_init(void) { return -1; }
void saml_global_shutdown(void) { }
struct saml_signer *saml_signer_new(const struct tenant *t, char *errbuf, size_t errlen) { snprintf(errbuf, errlen, "not implemented"); return NULL; }
void saml_signer_free(struct saml_signer *s) { }
int saml_mint_response(struct saml_signer *s, const char *email, double now, char **x, size_t *l, char *errbuf, size_t errlen) { snprintf(errbuf, errlen, "not implemented"); return -1; }
int saml_mint_response_b64(struct saml_signer *s, const char *email, double now, char **b, double *n, char *errbuf, size_t errlen) { snprintf(errbuf, errlen, "not implemented"); return -1; }
