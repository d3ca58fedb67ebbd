/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keystore_pkcs11.c - a tenant's private key in a PKCS#11 token, for
 * keystore.c: `pkey = pkcs11:...` (RFC 7512) with `password` as the PIN.
 *
 * Owns the one OpenSSL engine of libp11 ("pkcs11") a process uses and
 * loading a key through it; signatures with such a key are made inside
 * the token.  The module is p11-kit's proxy unless the URI names one with
 * the query attribute module-path (e.g. ?module-path=/usr/lib/softhsm/
 * libsofthsm2.so, stripped before the URI reaches the engine); one process
 * uses one module.  The engine API is deprecated in OpenSSL 3 and kept
 * apart here for that reason; it is the interface libp11 offers.  It does
 * not log.
 */
#define OPENSSL_SUPPRESS_DEPRECATED	1
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "samlbroker.h"

#define URI_MAX		2048
#define LOAD_ATTEMPTS	5

static ENGINE	*engine;		/* initialised, kept for the process */
static char	*engine_module;		/* the module it loaded; NULL: default */
static int	 keys_loaded;		/* keys this process loaded through it */

/* The engine, loaded with module (NULL: its default) the first time. */
static ENGINE *
engine_get(const char *module, char *errbuf, size_t errlen)
{
	ENGINE	*e;

	if (engine != NULL) {
		if ((module == NULL) != (engine_module == NULL) ||
		    (module != NULL && strcmp(module, engine_module) != 0)) {
			snprintf(errbuf, errlen, "pkey: every pkcs11: key of a "
			    "configuration must use the same module-path");
			return NULL;
		}
		return engine;
	}
	ENGINE_load_builtin_engines();
	if ((e = ENGINE_by_id("pkcs11")) == NULL) {
		snprintf(errbuf, errlen, "pkey: the OpenSSL engine pkcs11 (libp11, "
		    "package libengine-pkcs11-openssl) is not installed");
		return NULL;
	}
	if ((module != NULL && ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module, 0) != 1) ||
	    ENGINE_init(e) != 1) {
		snprintf(errbuf, errlen, "pkey: cannot load the PKCS#11 module%s%s",
		    module != NULL ? " " : "", module != NULL ? module : "");
		ENGINE_free(e);
		return NULL;
	}
	ENGINE_free(e);		/* the functional reference of ENGINE_init stays */
	engine = e;
	engine_module = module != NULL ? xstrdup(module) : NULL;
	return engine;
}

/*
 * Splits "?module-path=PATH" (or "&module-path=PATH") off uri into module;
 * a pin-value in the URI is refused: the PIN belongs in `password`.
 */
static int
uri_split(const char *in, char *uri, size_t urilen, char *module, size_t modlen,
    char *errbuf, size_t errlen)
{
	const char	*q, *mp, *end;

	if (strlen(in) >= urilen) {
		snprintf(errbuf, errlen, "pkey: pkcs11: URI is too long");
		return -1;
	}
	if (strstr(in, "pin-value=") != NULL || strstr(in, "pin-source=") != NULL) {
		snprintf(errbuf, errlen, "pkey: the PIN goes in password, not in the URI");
		return -1;
	}
	snprintf(uri, urilen, "%s", in);
	module[0] = '\0';
	if ((q = strchr(uri, '?')) == NULL ||
	    ((mp = strstr(q, "?module-path=")) == NULL &&
	    (mp = strstr(q, "&module-path=")) == NULL))
		return 0;
	end = strchr(mp + 1, '&');
	if ((size_t)((end != NULL ? end : mp + strlen(mp)) - (mp + 13)) >= modlen) {
		snprintf(errbuf, errlen, "pkey: module-path is too long");
		return -1;
	}
	snprintf(module, modlen, "%.*s", (int)((end != NULL ? end : mp + strlen(mp)) -
	    (mp + 13)), mp + 13);
	/* Drop the attribute (and a '?' left alone). */
	if (end != NULL)
		memmove((char *)mp + 1, end + 1, strlen(end + 1) + 1);
	else
		*(char *)mp = '\0';
	return 0;
}

struct evp_pkey_st *
keystore_pkcs11_load(const char *pkey_uri, const char *pin, char *errbuf,
    size_t errlen)
{
	char		 uri[URI_MAX], module[URI_MAX];
	ENGINE		*e;
	EVP_PKEY	*pkey;

	if (uri_split(pkey_uri, uri, sizeof(uri), module, sizeof(module),
	    errbuf, errlen) == -1)
		return NULL;
	if (pin == NULL || pin[0] == '\0') {
		snprintf(errbuf, errlen, "password: the token's PIN is required");
		return NULL;
	}
	/*
	 * A token that another process opens at the same moment (signers
	 * starting together on SoftHSM's file store) may look uninitialised;
	 * libp11 remembers the slots it saw, so try again with the module
	 * loaded afresh.
	 */
	for (int attempt = 0; attempt < LOAD_ATTEMPTS; attempt++) {
		struct timespec ts = { 0, (50 + 50 * attempt) * 1000 * 1000 };

		if (attempt > 0) {
			nanosleep(&ts, NULL);
			if (keys_loaded == 0)	/* no key holds the module */
				keystore_pkcs11_shutdown();
		}
		if ((e = engine_get(module[0] != '\0' ? module : NULL, errbuf,
		    errlen)) == NULL)
			return NULL;
		if (ENGINE_ctrl_cmd_string(e, "PIN", pin, 0) != 1) {
			snprintf(errbuf, errlen, "password: the token's PIN is refused");
			return NULL;
		}
		if ((pkey = ENGINE_load_private_key(e, uri, NULL, NULL)) != NULL) {
			keys_loaded++;
			break;
		}
		ERR_clear_error();
	}
	/* libp11 keeps the PIN for logging in again; no copy of ours stays. */
	ERR_clear_error();
	if (pkey == NULL)
		snprintf(errbuf, errlen, "pkey: no private key found for this pkcs11: "
		    "URI in the token (or a wrong PIN in password)");
	return pkey;
}

void
keystore_pkcs11_shutdown(void)
{
	if (engine == NULL)
		return;
	ENGINE_finish(engine);
	engine = NULL;
	free(engine_module);
	engine_module = NULL;
}
