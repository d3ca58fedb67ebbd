/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keys.c - a libFuzzer target for key loading (keystore_load): the
 * base64 of a certificate PEM and of an encrypted private key PEM, and
 * the key's password, from any bytes.  No crash, no leak, no read out of
 * bounds; a failure always says which option is wrong.
 *
 * The input is the certificate, a NUL byte, the key, a NUL byte, the
 * password; without a second part the certificate is loaded alone (as the
 * front process does).  A key starting with "pkcs11:" is skipped: that
 * path hands the URI to libp11's engine and a token (tests/pkcs11.sh
 * tests it with SoftHSM2), and fuzzing it here measured 229 executions a
 * second instead of thousands.  Seeds: tests/fuzz/corpus/keys/.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "samlbroker.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*buf = malloc(size + 1), *key = NULL, *pw = NULL, *p;
	char		 err[512], empty[1] = "";
	struct keystore	*ks;

	keystore_global_init();	/* keys load in this program; idempotent */
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if ((p = memchr(buf, '\0', size)) != NULL && (size_t)(p - buf) < size) {
		key = p + 1;
		if ((p = strchr(key, '\0')) != NULL && p < buf + size)
			pw = p + 1;
	}
	if (key != NULL && strncmp(key, "pkcs11:", 7) == 0) {
		free(buf);
		return 0;
	}
	err[0] = '\0';
	/* keystore_load wipes the password: never hand it a literal. */
	ks = keystore_load(buf, key, pw != NULL ? pw : (key != NULL ? empty : NULL),
	    err, sizeof(err));
	if (ks == NULL && strncmp(err, "certificate: ", 13) != 0 &&
	    strncmp(err, "pkey: ", 6) != 0 && strncmp(err, "password: ", 10) != 0)
		abort();	/* every error names its option */
	if (ks != NULL) {
		if (keystore_fingerprint(ks) == NULL || keystore_subject(ks) == NULL)
			abort();
		if ((key == NULL) != (keystore_pkey(ks) == NULL))
			abort();
	}
	keystore_free(ks);
	free(buf);
	return 0;
}
